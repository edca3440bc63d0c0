/**
 * Which API group and versions serve each kind meshrange reads. A manifest names its kind AND its apiVersion, and
 * the API server routes by both: `kind: AuthorizationPolicy` under `apiVersion: v1` is no Istio policy (kubectl apply
 * refuses it: no matches for kind), and `kind: Gateway` under `gateway.networking.k8s.io/v1` or `kind: Service` under
 * `serving.knative.dev/v1` is another project's object, which Istio's control plane never reads as its own.
 *
 * servedAs tells the loader which case a manifest is:
 *  - `served`: the kind's own group at a version it serves — read as that kind;
 *  - `refused`: a group Kubernetes or Istio owns, which does not serve this kind at this version (a typo'd group, a
 *    removed version such as apps/v1beta2 or security.istio.io/v1alpha1) — an error, as kubectl refuses to apply it;
 *  - `foreign`: any other group — another project's kind that happens to share the name; not modeled (a warning).
 * Kinds not listed here are not read at all, whatever their apiVersion.
 */
import { editDistance } from './reader.js';

interface Served { group: string; versions: readonly string[] }

const CORE: Served = { group: '', versions: ['v1'] };
const APPS: Served = { group: 'apps', versions: ['v1'] };
const RBAC: Served = { group: 'rbac.authorization.k8s.io', versions: ['v1'] };
const SECURITY: Served = { group: 'security.istio.io', versions: ['v1', 'v1beta1'] };
const NETWORKING: Served = { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'] };

/** kind → the group and versions serving it (Kubernetes 1.16+ and Istio 1.22+, where the v1 Istio APIs are served) */
const SERVED: ReadonlyMap<string, Served> = new Map<string, Served>([
  ['Namespace', CORE], ['Service', CORE], ['ServiceAccount', CORE], ['ConfigMap', CORE], ['Secret', CORE], ['Pod', CORE],
  ['Deployment', APPS], ['StatefulSet', APPS], ['DaemonSet', APPS], ['ReplicaSet', APPS],
  ['Role', RBAC], ['RoleBinding', RBAC], ['ClusterRole', RBAC], ['ClusterRoleBinding', RBAC],
  ['NetworkPolicy', { group: 'networking.k8s.io', versions: ['v1'] }],
  ['PeerAuthentication', SECURITY], ['AuthorizationPolicy', SECURITY], ['RequestAuthentication', SECURITY],
  ['DestinationRule', NETWORKING], ['ServiceEntry', NETWORKING], ['Sidecar', NETWORKING], ['Gateway', NETWORKING],
  ['VirtualService', NETWORKING], ['WorkloadEntry', NETWORKING], ['WorkloadGroup', NETWORKING],
  ['EnvoyFilter', { group: 'networking.istio.io', versions: ['v1alpha3'] }],
  ['ProxyConfig', { group: 'networking.istio.io', versions: ['v1beta1'] }],
  ['Telemetry', { group: 'telemetry.istio.io', versions: ['v1', 'v1alpha1'] }],
  ['WasmPlugin', { group: 'extensions.istio.io', versions: ['v1alpha1'] }],
]);

/** Every group of the table: a group within two edits of one of them is a typo of it. */
const SERVED_GROUPS: readonly string[] = [...new Set([...SERVED.values()].map((x) => x.group))].filter((g) => g !== '');

/** Groups of Kubernetes itself: a kind of the table under one of them, or under any *.istio.io group, is a mistake, not another project's kind. */
const KUBERNETES_GROUPS: ReadonlySet<string> = new Set(['', 'apps', 'extensions', 'batch', 'policy', 'autoscaling', 'networking.k8s.io',
  'rbac.authorization.k8s.io', 'apiextensions.k8s.io', 'admissionregistration.k8s.io', 'storage.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io']);

export type ServedAs =
  | { kind: 'served' }
  | { kind: 'foreign'; group: string }
  | { kind: 'refused'; message: string; hint: string };

export function servedAs(kind: string, apiVersion: string): ServedAs {
  const served = SERVED.get(kind);
  if (served === undefined) return { kind: 'served' };
  const slash = apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (group === served.group && served.versions.includes(version)) return { kind: 'served' };
  const owned = group === served.group || KUBERNETES_GROUPS.has(group) || group === 'istio.io' || group.endsWith('.istio.io')
    // Kubernetes' own *.k8s.io groups (not the Gateway API's, nor the SIGs' *.x-k8s.io), and a near miss of the kind's
    // group or of another group meshrange reads (networking.istio.com, security.isito.io): a typo, not another project
    || (group.endsWith('.k8s.io') && group !== 'gateway.networking.k8s.io' && !group.endsWith('.x-k8s.io'))
    || (group !== '' && SERVED_GROUPS.some((g) => editDistance(group, g, 2) <= 2));
  if (!owned) return { kind: 'foreign', group };
  const forms = served.versions.map((v) => (served.group === '' ? v : `${served.group}/${v}`));
  const home = served.group === '' ? 'the core API' : served.group;
  const why = group === served.group ? `${home} serves it at ${served.versions.join(', ')} only` : `${kind} belongs to ${home}`;
  return {
    kind: 'refused',
    message: `apiVersion ${apiVersion === '' ? '""' : apiVersion} does not serve ${kind} (${why}): kubectl apply refuses this object, so it has no effect on the cluster`,
    hint: `write apiVersion: ${forms[0] as string}${forms.length > 1 ? ` (also served: ${forms.slice(1).join(', ')})` : ''}`,
  };
}
