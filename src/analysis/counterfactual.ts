/**
 * Counterfactual meshes: the loaded mesh with one or more controls taken out,
 * as if their resources had never been applied (product.md §3.2). A step's
 * `defences` and `sole` come from re-deciding the step against such variants,
 * never from reasoning about what a control would do.
 *
 * A control is named as the report names it: a `StoppedBy` kind and the
 * `namespace/name` of the resource that decided. Removing it means:
 *
 * - AuthorizationPolicy, PeerAuthentication, RequestAuthentication,
 *   NetworkPolicy, DestinationRule, VirtualService: drop that resource.
 *   (Dropping one of several ALLOW policies selecting a workload, or one of
 *   several NetworkPolicies isolating a pod, leaves the others in force, as in
 *   a cluster: §6.2, §11.)
 * - SecureNaming: the DestinationRule it names pinned `subjectAltNames`
 *   (§1, §5.2): drop that DestinationRule.
 * - EgressPolicy `ns/name`: the Sidecar whose `outboundTrafficPolicy` (or
 *   egress hosts) blackholed the request: drop that Sidecar (§8). With name
 *   null the mesh config decided: `REGISTRY_ONLY` becomes `ALLOW_ANY`.
 * - RateLimit `ns/name`: every local rate limit of that EnvoyFilter (§10).
 * - CircuitBreaker: the report names the upstream host; drop `connectionPool`
 *   and `outlierDetection` from every DestinationRule (and subset) for that
 *   host (§10), keeping its TLS settings.
 *
 * Not removable, because they are not controls someone configured to stop an
 * attacker, or removing them would not open a path but close it:
 * - DNS, Routing (a name that does not resolve, a port nothing listens on),
 *   HttpValidation (Envoy's own request parsing);
 * - App: the destination app overwhelmed by load — not a control at all, and
 *   left out of a step's defences (scenario/defences.ts);
 * - Gateway: the way into the mesh from outside — without it nothing gets in;
 * - CertificateValidity, TokenValidity: an expired or not-yet-valid
 *   certificate or token is a fact of time (§1, §7), not a resource;
 * - any control reported without a resource name (a mesh default such as the
 *   PERMISSIVE/STRICT fallback, or a client-forced TLS mode), except the mesh
 *   outbound traffic policy above.
 */
import { mergeDelegates } from '../model/delegate.js';
import type { DestinationRule, Mesh, TrafficPolicy } from '../model/types.js';
import type { ControlKind } from '../policy/pipeline.js';
import { hostMatches } from '../policy/destination-rule.js';

/** A control as the report names it. */
export interface ControlRef {
  control: ControlKind;
  /** `namespace/name` of the deciding resource (the upstream host for CircuitBreaker); null for mesh defaults */
  name: string | null;
}

/** One string per control, for maps and sets (names are never trusted to lack separators). */
export function controlKey(r: ControlRef): string {
  return JSON.stringify([r.control, r.name]);
}

const NOT_CONTROLS: ReadonlySet<ControlKind> = new Set<ControlKind>(['DNS', 'Routing', 'HttpValidation', 'Gateway', 'CertificateValidity', 'TokenValidity', 'App']);

/** Whether `withoutControls` can take this control out of a mesh. */
export function isRemovable(r: ControlRef): boolean {
  if (NOT_CONTROLS.has(r.control)) return false;
  if (r.name !== null) return true;
  // A mesh default with no resource behind it; only the mesh-wide outbound policy is a setting one can change.
  return r.control === 'EgressPolicy';
}

const idOf = (m: { meta: { namespace: string; name: string } }): string => `${m.meta.namespace}/${m.meta.name}`;

/** Without connection pool and outlier detection; undefined when nothing else is left. */
function withoutBreaker(tp: TrafficPolicy | undefined): TrafficPolicy | undefined {
  if (!tp) return tp;
  const out: TrafficPolicy = { raw: tp.raw };
  if (tp.tls) out.tls = tp.tls;
  if (tp.portLevelSettings) out.portLevelSettings = tp.portLevelSettings;
  return out;
}

function stripBreaker(dr: DestinationRule, host: string): DestinationRule {
  if (hostMatches(dr.fqdnHost, host) === 0) return dr;
  const out: DestinationRule = { ...dr, subsets: dr.subsets.map((s) => {
    const tp = withoutBreaker(s.trafficPolicy);
    const { trafficPolicy: _drop, ...rest } = s;
    return tp ? { ...rest, trafficPolicy: tp } : rest;
  }) };
  const tp = withoutBreaker(dr.trafficPolicy);
  if (tp) out.trafficPolicy = tp; else delete out.trafficPolicy;
  return out;
}

/**
 * The mesh without the given controls. The result shares every untouched
 * object with `mesh` (the mesh is immutable data); the lists that change are
 * new arrays, so per-list caches (authorization selections) start fresh.
 * Throws on a control `isRemovable` refuses: callers check first.
 */
export function withoutControls(mesh: Mesh, controls: readonly ControlRef[]): Mesh {
  if (controls.length === 0) return mesh;
  const named = (kind: ControlKind): Set<string> => new Set(controls.filter((c) => c.control === kind && c.name !== null).map((c) => c.name as string));
  for (const c of controls) if (!isRemovable(c)) throw new Error(`${c.control} ${c.name ?? '(mesh default)'} is not a removable control`);
  const authz = named('AuthorizationPolicy');
  const peer = named('PeerAuthentication');
  const jwt = named('RequestAuthentication');
  const netpol = named('NetworkPolicy');
  const dr = new Set([...named('DestinationRule'), ...named('SecureNaming')]);
  const vs = named('VirtualService');
  const sidecar = named('EgressPolicy');
  const limit = named('RateLimit');
  const breaker = named('CircuitBreaker');
  const out: Mesh = {
    ...mesh,
    authorizationPolicies: authz.size > 0 ? mesh.authorizationPolicies.filter((p) => !authz.has(idOf(p))) : mesh.authorizationPolicies,
    peerAuthentications: peer.size > 0 ? mesh.peerAuthentications.filter((p) => !peer.has(idOf(p))) : mesh.peerAuthentications,
    requestAuthentications: jwt.size > 0 ? mesh.requestAuthentications.filter((p) => !jwt.has(idOf(p))) : mesh.requestAuthentications,
    networkPolicies: netpol.size > 0 ? mesh.networkPolicies.filter((p) => !netpol.has(idOf(p))) : mesh.networkPolicies,
    // merged again from the routes as written: a removed delegate takes its routes out of its roots
    virtualServices: vs.size > 0 ? mergeDelegates(mesh.virtualServices.filter((v) => !vs.has(idOf(v)))).list : mesh.virtualServices,
    sidecars: sidecar.size > 0 ? mesh.sidecars.filter((s) => !sidecar.has(idOf(s))) : mesh.sidecars,
    rateLimits: limit.size > 0 ? mesh.rateLimits.filter((r) => !limit.has(idOf(r))) : mesh.rateLimits,
  };
  let rules = dr.size > 0 ? mesh.destinationRules.filter((d) => !dr.has(idOf(d))) : mesh.destinationRules;
  for (const host of breaker) rules = rules.map((d) => stripBreaker(d, host));
  out.destinationRules = rules;
  if (controls.some((c) => c.control === 'EgressPolicy' && c.name === null) && mesh.config.outboundTrafficPolicy === 'REGISTRY_ONLY') {
    out.config = { ...mesh.config, outboundTrafficPolicy: 'ALLOW_ANY' };
  }
  return out;
}

/**
 * Where each kind of control sits on a request's path (istio-semantics §3,
 * policy/decide.ts): client sidecar (name lookup, mesh routes, outbound
 * policy, circuit breaker, TLS origination and secure naming), network
 * (NetworkPolicy), receiving proxy (gateway server, PeerAuthentication and
 * the handshake's certificates, a front-inserted rate limit, HTTP
 * validation, jwt_authn, RBAC), then the app itself (App: overwhelmed). Used to
 * order the controls one run reports together.
 */
const PACKET_ORDER: readonly ControlKind[] = [
  'DNS', 'VirtualService', 'EgressPolicy', 'CircuitBreaker', 'DestinationRule', 'SecureNaming', 'NetworkPolicy',
  'Gateway', 'PeerAuthentication', 'CertificateValidity', 'RateLimit', 'HttpValidation', 'RequestAuthentication',
  'AuthorizationPolicy', 'Routing', 'App',
];
const RANK = new Map<ControlKind, number>(PACKET_ORDER.map((k, i) => [k, i]));

export function packetRank(kind: ControlKind): number {
  return RANK.get(kind) ?? PACKET_ORDER.length;
}
