/**
 * Types and small helpers shared by the request pipeline (decide.ts for the
 * client side, inbound.ts for the receiving proxy). See decide.ts for the order
 * of checks.
 */
import type { Mesh, Service, ServicePort, Workload } from '../model/types.js';
import { principalOf, spiffeId } from '../model/types.js';
import type { HttpRetry } from '../model/routing.js';
import type { Draw } from './routing.js';
import { meshIndex } from '../model/index.js';
import type { AuthzDecision, ExtAuthz } from './authorization-policy.js';
import type { SignatureTable } from './jwt-crypto.js';
import { appendValue, setOwn } from '../core/record.js';

/** The source address of a client outside the cluster when a step names none (RFC 5737 TEST-NET-3). */
export const DEFAULT_OUTSIDE_IP = '203.0.113.10';

export type Protocol = 'http' | 'http2' | 'grpc' | 'tcp' | 'tls';
export type TlsIntent = 'auto' | 'plaintext' | 'mtls';
/** what an attacker's process may do to its pod's network (product.md §2 "Going around the sidecar") */
export type Capability = 'root' | 'net-admin' | 'proxy-uid';

export type RequestSource =
  | { kind: 'workload'; workload: Workload }
  | { kind: 'outside'; ip: string };

export type RequestTarget =
  | { kind: 'host'; host: string; port: number }
  | { kind: 'workload'; workload: Workload; port: number };

/**
 * A credential the client's own process presents instead of its sidecar's
 * (architecture.md "Identity and capture in the model"; the impersonate
 * action). The process dials the destination itself, past its own sidecar:
 *  - `none`: plaintext, no certificate;
 *  - `forged-cert`: TLS with Istio's ALPN and a certificate naming `spiffe`,
 *    signed by a CA the mesh does not trust (§1, §4);
 *  - `stolen-cert`: TLS with Istio's ALPN and a mesh-signed certificate taken
 *    from `from`; `problem` says why it is not valid now (expired), or null.
 * It is kept apart from `tls`, which says what the client's sidecar does.
 */
export type IdentityOverride =
  | { kind: 'none' }
  | { kind: 'forged-cert'; spiffe: string }
  | { kind: 'stolen-cert'; spiffe: string; from: string; problem: string | null };

export interface MeshRequest {
  from: RequestSource;
  to: RequestTarget;
  protocol: Protocol;
  method: string;
  path: string;
  /** as sent by the client; names in any case */
  headers: Readonly<Record<string, string>>;
  /**
   * What the sender asks to put on the wire. A workload whose connection its
   * sidecar captures cannot ask that sidecar for plaintext: `plaintext` from
   * such a client is an attempt to go around the sidecar, as `bypass: true`.
   */
  tls: TlsIntent;
  /** SNI of an app-level TLS connection (protocol tls), or of HTTPS to a gateway */
  sni?: string;
  /**
   * The sender tries to leave around its own sidecar (policy/capture.ts);
   * absent = `tls === 'plaintext'`.
   */
  bypass?: boolean;
  /** what the sending process may do (`attacker.capabilities`); none when absent */
  capabilities?: readonly Capability[];
  /** the client's own process presents this credential, not its sidecar's */
  identity?: IdentityOverride;
}

export type ControlKind =
  | 'DNS' | 'Routing' | 'NetworkPolicy' | 'PeerAuthentication' | 'DestinationRule' | 'SecureNaming'
  | 'HttpValidation' | 'RequestAuthentication' | 'AuthorizationPolicy' | 'EgressPolicy' | 'Gateway' | 'VirtualService'
  | 'RateLimit' | 'CircuitBreaker' | 'CertificateValidity'
  /** a bearer token's own validity (its exp): what leaves a JWT theft empty-handed (steal-credentials what: jwt) */
  | 'TokenValidity'
  /** encryption on the wire (what keeps a passive observer out, wire.ts): auto mTLS, or the app's own TLS */
  | 'AutoMtls' | 'AppTls'
  /**
   * the destination application itself refused, overwhelmed (its concurrency and queue full, sim/mesh/world.ts): not a
   * mesh control — never a defence, never in the report's controls; a flood counts such refusals as its effect
   */
  | 'App';

export interface StoppedBy {
  control: ControlKind;
  /** `namespace/name` of the deciding resource; null for mesh defaults */
  name: string | null;
  rule?: string;
  reason: string;
}

export type Hop = 'client' | 'client-sidecar' | 'network' | 'server-sidecar' | 'gateway' | 'app' | 'external';

export interface TraceEvent {
  hop: Hop;
  what: string;
}

export interface Decision {
  outcome: 'allowed' | 'blocked';
  /** HTTP status the client sees, 0 for a failed connection, null for TCP */
  code: number | null;
  grpcStatus?: number;
  /** the hop into the final destination was mutual TLS (null: no connection made) */
  mtls: boolean | null;
  stoppedBy: StoppedBy[];
  events: TraceEvent[];
  /** Envoy response flags (UF, UC, UH, URX, NR…) when a proxy produced the answer */
  flags?: string;
  destination?: { service?: string; workload: string; port: number; targetPort: number; protocol: 'http' | 'tcp' };
  /** the request as the app received it */
  received?: { method: string; path: string; headers: Record<string, string> };
  /** what the client saw when refused */
  response?: { status: number; headers: Record<string, string>; body: string };
  peerPrincipal?: string | null;
  /** a gateway that terminated the client's own TLS (ISTIO_MUTUAL) accepted its certificate as this principal */
  ownCertAccepted?: { by: string; principal: string };
  /** the validated JWT principal at the deciding proxy */
  requestPrincipal?: string | null;
  authz?: AuthzDecision;
  mtlsResolution?: { mode: string; level: string; policy: string | null };
  /** the proxies the request crossed, e.g. istio-system/istio-ingressgateway → shop/api */
  path?: string[];
  /** the client sidecar's VirtualService route, when one routed the request and sets retries or a timeout */
  httpRoute?: HttpRouteRef;
  /** every connection the request put on the network, in order (what a passive observer sees, wire.ts) */
  wire?: WireHop[];
  /**
   * The client's own sidecar handled the request on an HTTP listener: the
   * listener port, its virtual host name and the route name when it is
   * Istio's `default` (for outbound HTTP filters such as a local rate
   * limit, §10). Absent when no client sidecar saw it.
   */
  clientListener?: { port: number; vhost: string; route: 'default' | null };
  /** the destination pod's iptables rules did not hand the connection to its sidecar (policy/capture.ts) */
  inboundUncaptured?: true;
  /** the addresses each proxy that ran its filters saw, in order (§6.5): `ipBlocks` match sourceIp, `remoteIpBlocks` remoteIp */
  addresses?: SeenAddresses[];
}

/**
 * One connection on the network between two pods (or a pod and a host outside
 * the mesh), as a passive observer on that link sees it: who talks to whom on
 * which port, and whether the bytes are encrypted and by what. Recorded once
 * the connection reaches the receiving side (a NetworkPolicy drop puts no data
 * on the wire; a STRICT refusal happens after the client's bytes arrived).
 */
export interface WireHop {
  /** the sending pod (`ns/name`), or `outside` */
  from: string;
  /** the receiving pod (`ns/name`), or the external host name */
  to: string;
  /** the destination port on the wire (the pod's container port; the external port) */
  port: number;
  protocol: Protocol;
  /** the control that encrypted this hop; null = plaintext on the wire */
  protectedBy: StoppedBy | null;
  /** the HTTP request as it crossed this hop (absent for TCP and app-level TLS) */
  request?: { method: string; path: string; headers: Record<string, string> };
}

export interface SeenAddresses {
  /** the proxy, e.g. `ns/name (sidecar)` */
  proxy: string;
  sourceIp: string;
  remoteIp: string;
}

/** A VirtualService HTTP route's time-related settings, for the simulation (§3 step 7). */
export interface HttpRouteRef {
  /** `ns/name` of the VirtualService */
  vs: string;
  route: number;
  retries?: HttpRetry;
  timeoutMs?: number;
}

export interface DecideOptions {
  /** choose one endpoint among several (seeded by the runner); default: the first */
  pickEndpoint?: (endpoints: readonly Workload[]) => Workload;
  /** a seeded number in [0, 1) for weighted routes; default 0 (routing.ts Draw: it may pick by index instead) */
  pick?: Draw;
  /**
   * a seeded number in [0, 1) for the ServiceEntry endpoint a cluster's load balancer picks (weighted); default: `pick`.
   * The runner gives each request its own load-balancing stream, as for Service endpoints (pickEndpoint), so that an
   * entry's endpoints do not shift the route-weight picks of the rest of the run.
   */
  pickEntryEndpoint?: Draw;
  extAuthz?: ExtAuthz;
  /** JWT checks: simulated wall clock (seconds) and the pre-computed signature table */
  jwt?: { nowSeconds: number; sigs: SignatureTable };
  /**
   * Certificate validity at the simulated now (§1): null when the workload's
   * certificate is valid, else why not. Absent = every certificate is valid.
   */
  certProblem?: (workloadId: string) => string | null;
  /**
   * false: decide for analysis only (the reach graph). The outcome, code,
   * destination, stoppedBy and the proxies crossed (`path`) are the same as
   * with the default (true); the trace text of the common path — events, the
   * wire record, the addresses each proxy saw, the request the app received,
   * the client listener, the authorization trace lines — is not built (test/policy/decide-explain.test.ts).
   */
  explain?: boolean;
}

/** One connection (or request) between two parties: the client side and the destination. */
export interface Leg {
  /** null: a client outside the cluster */
  client: Workload | null;
  clientIp: string;
  /** an Envoy on the client side processes the request (a sidecar not bypassed, or a gateway) */
  proxy: boolean;
  /** the client is a gateway forwarding a request its routes already resolved */
  viaGateway: boolean;
  target: { kind: 'host'; host: string; port: number } | { kind: 'pod'; workload: Workload; port: number };
  protocol: Protocol;
  method: string;
  /** raw, with query */
  path: string;
  /** lower-case names */
  headers: Record<string, string>;
  sni: string | null;
  intent: TlsIntent;
  /** the client's own process presents this credential (the first leg, and an AUTO_PASSTHROUGH gateway's, which passes it on) */
  identity?: IdentityOverride;
  subset?: string;
  depth: number;
  /** the cluster lists only endpoints with a sidecar (an AUTO_PASSTHROUGH gateway's: EDS drops plaintext endpoints) */
  meshEndpointsOnly?: boolean;
}

export interface Run {
  mesh: Mesh;
  opts: DecideOptions;
  /** build the explanation (DecideOptions.explain, default true) */
  explain: boolean;
  /** the request as sent (bypass, capabilities) */
  req: MeshRequest;
  events: TraceEvent[];
  proxies: string[];
  wire: WireHop[];
  httpRoute?: HttpRouteRef;
  clientListener?: { port: number; vhost: string; route: 'default' | null };
  /** a mesh VirtualService http route routed the client's request */
  meshRouted?: boolean;
  addresses?: SeenAddresses[];
  /** a gateway that terminated the client's own TLS accepted its certificate (the request's identity there) */
  ownCertAccepted?: { by: string; principal: string };
  send: (leg: Leg) => Decision;
}

/** Istio's protocol names (protocol.Parse) that give an HTTP listener, and those that give a TCP one. */
const HTTP_PREFIXES = ['http', 'http2', 'http_proxy', 'grpc', 'grpc-web'];
const TCP_PREFIXES = ['tcp', 'tls', 'https', 'mongo', 'mysql', 'redis', 'udp'];
/** Service ports Istio never sniffs: without a known protocol name they are TCP (kube ConvertProtocol wellKnownPorts: SMTP, DNS, MySQL, MongoDB). */
const WELL_KNOWN_TCP_PORTS: readonly number[] = [25, 53, 3306, 27017];

/**
 * Protocol selection for a Service port (§6.8), as Istio's kube ConvertProtocol: the appProtocol when set, else the
 * port name; Kubernetes' kubernetes.io/h2c and ws appProtocols are HTTP, wss is HTTPS (TCP to the sidecar); a `grpc-web` prefix is gRPC-Web; else
 * the part before the first '-' names the protocol. An unknown name is sniffed (null), except on the well-known ports
 * 25, 53, 3306 and 27017 of a Service, which are TCP. `servicePort` false: a container port's name (no Service), where
 * the well-known ports are not special.
 */
export function declaredProtocol(p: ServicePort, servicePort = true): 'http' | 'tcp' | null {
  const label = (p.appProtocol ?? p.name ?? '').toLowerCase();
  if (p.appProtocol !== undefined) {
    if (label === 'kubernetes.io/h2c' || label === 'kubernetes.io/ws') return 'http';
    if (label === 'kubernetes.io/wss') return 'tcp'; // HTTPS: TLS the sidecar cannot read
  }
  if (label.startsWith('grpc-web')) return 'http';
  const dash = label.indexOf('-');
  const prefix = dash < 0 ? label : label.slice(0, dash);
  if (HTTP_PREFIXES.includes(prefix)) return 'http';
  if (TCP_PREFIXES.includes(prefix)) return 'tcp';
  return servicePort && WELL_KNOWN_TCP_PORTS.includes(p.port) ? 'tcp' : null;
}

export function hasProxy(w: Workload): boolean {
  return w.sidecar || w.gateway;
}

/** The workloads a Service selects (its endpoints), in load order; shared, do not mutate. */
export function endpointsOf(mesh: Mesh, s: Service): readonly Workload[] {
  return meshIndex(mesh).endpoints(s);
}

export function targetPortOf(sp: ServicePort, w: Workload): number | null {
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  const named = w.ports.find((p) => p.name === sp.targetPort);
  return named ? named.containerPort : null;
}

export function lowerHeaders(h: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    const key = k.toLowerCase() === ':authority' ? 'host' : k.toLowerCase();
    appendValue(out, key, v);
  }
  return out;
}

export function sortKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(h).sort()) setOwn(out, k, h[k] as string);
  return out;
}

export function isHttp(p: Protocol): boolean {
  return p === 'http' || p === 'http2' || p === 'grpc';
}

/** The authority a client sends: an explicit Host header, else the dialled host (and port unless 80). */
export function legAuthority(leg: Leg): string {
  const explicit = leg.headers['host'];
  if (explicit) return explicit;
  const host = leg.target.kind === 'host' ? leg.target.host : leg.target.workload.ip;
  return leg.target.port === 80 ? host : `${host}:${leg.target.port}`;
}

export function hostOnly(authority: string): string {
  return authority.replace(/:\d+$/, '').toLowerCase();
}

/** A deterministic address for an external name in 198.18.0.0/15 (RFC 2544), so NetworkPolicy ipBlocks can judge it. */
export function externalIpOf(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return `198.${18 + ((h >>> 16) & 1)}.${(h >>> 8) & 0xff}.${Math.max(1, h & 0xff)}`;
}

/** A workload's principal and SPIFFE id under a trust domain, made once per workload (the pipeline asks per decision). */
const identityOf = new WeakMap<Workload, { td: string; ns: string; sa: string; principal: string; spiffe: string }>();
function identity(trustDomain: string, w: Workload): { principal: string; spiffe: string } {
  let c = identityOf.get(w);
  if (c === undefined || c.td !== trustDomain || c.ns !== w.namespace || c.sa !== w.serviceAccount) {
    const principal = principalOf(trustDomain, w.namespace, w.serviceAccount);
    c = { td: trustDomain, ns: w.namespace, sa: w.serviceAccount, principal, spiffe: spiffeId(principal) };
    identityOf.set(w, c);
  }
  return c;
}

/** principalOf(trustDomain, w.namespace, w.serviceAccount), memoised per workload */
export function workloadPrincipal(trustDomain: string, w: Workload): string {
  return identity(trustDomain, w).principal;
}

/** spiffeId(workloadPrincipal(...)), memoised per workload */
export function workloadSpiffeId(trustDomain: string, w: Workload): string {
  return identity(trustDomain, w).spiffe;
}
