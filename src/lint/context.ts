/**
 * Helpers the lint rules share: which workloads a policy selects (the same
 * §6.1 / §4 / §7 targeting the policy code applies), a workload's inbound
 * ports, and the Subject of a resource. Memoised per mesh where rules ask
 * the same question many times.
 */
import type { Location } from '../core/issues.js';
import type { ObjectMeta, Labels, Mesh, Workload, AuthorizationPolicy, AuthzRule, PeerAuthentication, Service } from '../model/types.js';
import { meshIndex } from '../model/index.js';
import type { Gateway } from '../model/routing.js';
import type { RequestAuthentication } from '../model/request-authentication.js';
import { requestAuthenticationsFor } from '../policy/request-authentication.js';
import { targetPortOf } from '../policy/pipeline.js';
import { effectiveMtls, type MtlsResolution } from '../policy/peer-authentication.js';
import type { Subject } from './types.js';

export function subjectOf(kind: string, meta: ObjectMeta): Subject {
  return { kind, namespace: meta.namespace, name: meta.name, annotations: meta.annotations, loc: meta.loc };
}

/** `{ loc }` of rule `i` of the policy when the loader recorded it (a finding then points at the rule), else nothing. */
export function ruleLoc(p: AuthorizationPolicy, i: number): { loc: Location } | Record<string, never> {
  const loc = p.ruleLocs?.[i];
  return loc ? { loc } : {};
}

/** `{ loc }` of server `i` of the Gateway when the loader recorded it (a finding then points at the server), else nothing. */
export function serverLoc(g: Gateway, i: number): { loc: Location } | Record<string, never> {
  const loc = g.serverLocs?.[i];
  return loc ? { loc } : {};
}

export function workloadSubject(w: Workload): Subject {
  return { kind: w.kind, namespace: w.namespace, name: w.name, annotations: { ...w.annotations, ...(w.objectAnnotations ?? {}) }, loc: w.loc };
}

/** §6.1: the workloads an AuthorizationPolicy with no targetRefs selects (root namespace: every namespace). */
export function apSelected(mesh: Mesh, p: AuthorizationPolicy): Workload[] {
  if (p.targetRefs.length > 0) return [];
  const root = mesh.config.rootNamespace;
  const ns = p.meta.namespace;
  // from the index (the namespace's workloads, or those carrying the selector's rarest label): a scan of every
  // workload per policy made lint O(policies × workloads), and of the namespace's O(policies × pods of the namespace)
  const index = meshIndex(mesh);
  if (p.selector === null) return [...(ns === root ? mesh.workloads : index.workloadsIn(ns))];
  return [...index.workloadsMatching(p.selector, ns === root ? undefined : ns)];
}

/** §7 (= §6.1): the workloads a RequestAuthentication selects, by the policy code's own selection. */
export function raSelected(mesh: Mesh, ra: RequestAuthentication): Workload[] {
  const root = mesh.config.rootNamespace;
  const ns = ra.meta.namespace;
  const index = meshIndex(mesh);
  // Only workloads of its namespace (of every namespace, for the root's without targetRefs) can be selected: the
  // candidates come from the index (a selector's from the label index), and the policy code decides on those.
  const candidates = ra.targetRefs.length > 0 ? index.workloadsIn(ns)
    : ra.selector !== null ? index.workloadsMatching(ra.selector, ns === root ? undefined : ns)
      : ns === root ? mesh.workloads : index.workloadsIn(ns);
  return candidates.filter((w) => requestAuthenticationsFor([ra], root, w).length > 0);
}

/** §4: the workloads a selector-bearing PeerAuthentication can apply to (its own, non-root namespace). */
export function paSelected(mesh: Mesh, p: PeerAuthentication): Workload[] {
  if (p.selector === null) return p.meta.namespace === mesh.config.rootNamespace ? [...mesh.workloads] : [...meshIndex(mesh).workloadsIn(p.meta.namespace)];
  if (p.meta.namespace === mesh.config.rootNamespace) return [];
  return [...meshIndex(mesh).workloadsMatching(p.selector, p.meta.namespace)];
}

/** Services whose selector picks this workload. */
export function servicesOf(mesh: Mesh, w: Workload): Service[] {
  // = the Services of w's namespace with a non-empty selector matching its labels, load order (index, not a scan per workload)
  return [...meshIndex(mesh).servicesSelecting(w)];
}

/**
 * The container ports a workload receives connections on: its declared TCP
 * container ports and every Service target port resolved to it (a headless
 * Service's port itself: its calls reach the pod at the port dialled), sorted.
 */
export function inboundPorts(mesh: Mesh, w: Workload): number[] {
  const ports = new Set<number>();
  for (const p of w.ports) if (p.protocol.toUpperCase() === 'TCP') ports.add(p.containerPort);
  for (const s of servicesOf(mesh, w)) {
    for (const sp of s.ports) {
      if (sp.protocol.toUpperCase() !== 'TCP') continue;
      const t = s.headless ? sp.port : targetPortOf(sp, w);
      if (t !== null) ports.add(t);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

export function labelsText(l: Labels): string {
  return Object.keys(l).sort().map((k) => `${k}=${l[k] ?? ''}`).join(',');
}

/** `a, b, c` or `a, b, c and 4 more`: messages stay one readable line on a large mesh. */
export function listed(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** Namespace is injected by the webhook (§2): istio-injection=enabled, or istio.io/rev without istio-injection. */
export function namespaceInjected(labels: Labels): boolean {
  const inj = Object.hasOwn(labels, 'istio-injection') ? labels['istio-injection'] : undefined;
  if (inj !== undefined) return inj === 'enabled';
  return Object.hasOwn(labels, 'istio.io/rev');
}

const mtlsMemo = new WeakMap<Mesh, WeakMap<Workload, Map<number, MtlsResolution>>>();

/**
 * policy/peer-authentication.ts effectiveMtls, remembered per (mesh, workload,
 * port): several rules ask it for every rule × workload × port, and each call
 * scans every PeerAuthentication.
 */
export function mtlsOf(mesh: Mesh, w: Workload, port: number): MtlsResolution {
  let byWorkload = mtlsMemo.get(mesh);
  if (!byWorkload) { byWorkload = new WeakMap(); mtlsMemo.set(mesh, byWorkload); }
  let byPort = byWorkload.get(w);
  if (!byPort) { byPort = new Map(); byWorkload.set(w, byPort); }
  let m = byPort.get(port);
  if (!m) { m = effectiveMtls(mesh, w, port); byPort.set(port, m); }
  return m;
}

/**
 * The rule matches only a request that carries a validated JWT (§6.5, §6.7, §7):
 * every `from` source has a positive `requestPrincipals`, or a `request.auth.*`
 * condition lists `values` (a request without a token has no principal and no
 * claims, so it meets neither). `notRequestPrincipals` and `notValues` are met
 * by a request without a token, so they do not count.
 */
export function requiresRequestPrincipal(rule: AuthzRule): boolean {
  const froms = rule.from ?? [];
  if (froms.length > 0 && froms.every((f) => (f.source.requestPrincipals?.length ?? 0) > 0)) return true;
  return (rule.when ?? []).some((c) => c.key.startsWith('request.auth.') && (c.values?.length ?? 0) > 0);
}

/**
 * A DENY rule that every request without a token meets (§6.3, §7): no `to`,
 * every `when` a `request.auth.*` condition with only `notValues`, and no
 * `from` or one source made only of `notRequestPrincipals` (no principal is
 * none of the listed ones). E.g. DENY `notRequestPrincipals: ["*"]`; an
 * empty DENY rule (refuses everything) counts too: no token-less request passes.
 */
export function deniesEveryTokenless(rule: AuthzRule): boolean {
  if ((rule.to ?? []).length > 0) return false;
  const when = rule.when ?? [];
  if (!when.every((c) => c.key.startsWith('request.auth.') && (c.values?.length ?? 0) === 0 && (c.notValues?.length ?? 0) > 0)) return false;
  const froms = rule.from ?? [];
  if (froms.length === 0) return true;
  return froms.some((f) => {
    const keys = Object.keys(f.source).filter((k) => {
      const v: unknown = (f.source as Record<string, unknown>)[k];
      return Array.isArray(v) ? v.length > 0 : v !== undefined;
    });
    return keys.length > 0 && keys.every((k) => k === 'notRequestPrincipals');
  });
}

/**
 * By the policies' text, a request without a token cannot reach `w` (§7):
 * an enforced DENY rule refuses every such request, or enforced ALLOW
 * policies select `w` and every rule of every one of them requires a request
 * principal. CUSTOM and AUDIT policies do not decide it; dry-run ones are not enforced.
 */
export function tokenRequiredByPolicies(policies: readonly AuthorizationPolicy[]): boolean {
  const live = policies.filter((p) => !p.dryRun);
  if (live.some((p) => p.action === 'DENY' && (p.rules ?? []).some(deniesEveryTokenless))) return true;
  const allow = live.filter((p) => p.action === 'ALLOW');
  return allow.length > 0 && allow.every((p) => (p.rules ?? []).every(requiresRequestPrincipal));
}
