/**
 * networking.istio.io Gateway and VirtualService as data (istio-semantics §8,
 * §9; product.md §2: routing only as far as security needs it). The loader
 * fills these from manifests already validated as Istio's webhook would;
 * `policy/routing.ts` decides with them.
 */
import type { Location } from '../core/issues.js';
import type { Labels, ObjectMeta } from './types.js';

/** Gateway `servers[].tls.mode`; absent in YAML means PASSTHROUGH (the proto's zero value). */
export type ServerTlsMode = 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'OPTIONAL_MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL';

export interface GatewayPort {
  number: number;
  name: string;
  /** upper case: HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, HTTP_PROXY, TCP, TLS, MONGO, REDIS, MYSQL, UDP */
  protocol: string;
}

export interface ServerTls {
  mode: ServerTlsMode;
  httpsRedirect?: boolean;
  credentialName?: string;
  credentialNames?: string[];
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  minProtocolVersion?: string;
  subjectAltNames?: string[];
}

export interface GatewayServer {
  port: GatewayPort;
  /** as written: `host`, `ns/host`, `./host` or `*\/host` (the prefix restricts which VirtualServices bind) */
  hosts: string[];
  tls?: ServerTls;
  name?: string;
  bind?: string;
}

export interface Gateway {
  meta: ObjectMeta;
  /** `spec.selector` (plain labels, not matchLabels); empty binds to every gateway pod (policy/routing.ts gatewaysFor) */
  selector: Labels;
  servers: GatewayServer[];
  /** where each of `servers` is written (same index), when the loader recorded it */
  serverLocs?: readonly Location[];
}

/**
 * VirtualService StringMatch. `{ present: true }` stands for an empty match
 * (`{}`) or `regex: "*"`, which Istio turns into "the header is present".
 */
export type StringMatch = { exact: string } | { prefix: string } | { regex: string } | { present: true };

export interface HttpMatch {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  /**
   * header names as written: `X-Team` and `x-team` are two keys, both matched against the one request header (Envoy
   * ignores a header name's case), but different names to Istio's delegate merge
   */
  headers?: Record<string, StringMatch>;
  /** header names as written, like `headers` */
  withoutHeaders?: Record<string, StringMatch>;
  queryParams?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Labels;
  sourceNamespace?: string;
  /** as written (`mesh`, `ns/name`, `name`, legacy `name.ns.svc.cluster.local`) */
  gateways?: string[];
  ignoreUriCase?: boolean;
}

export interface Destination {
  /** as written; short names mean `<name>.<VirtualService namespace>.svc.cluster.local` */
  host: string;
  subset?: string;
  port?: { number: number };
}

export interface RouteDestination {
  destination: Destination;
  /** absent = 0 (with a single destination the weight is irrelevant) */
  weight?: number;
}

export interface HttpRedirect {
  uri?: string;
  authority?: string;
  /** default 301 */
  redirectCode?: number;
  scheme?: string;
  port?: number;
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
}

export interface HttpRewrite {
  uri?: string;
  authority?: string;
  uriRegexRewrite?: { match: string; rewrite: string };
}

/**
 * An HTTP route's retry policy as Envoy runs it (istio-semantics §3 step 7).
 * Without `retries` on the route Istio installs DEFAULT_RETRY; `attempts: 0`
 * turns retries off.
 */
export interface HttpRetry {
  /** retries after the first try */
  attempts: number;
  /** Envoy retry_on conditions, e.g. connect-failure, 5xx, retriable-status-codes */
  retryOn: string[];
  /** the codes `retriable-status-codes` retries */
  retriableStatusCodes: number[];
  perTryTimeoutMs?: number;
  /** base of Envoy's jittered exponential back-off; 25 ms unless `backoff` is set */
  backoffMs: number;
}

/** pilot/pkg/networking/core/route/retry: 2 retries on these conditions, 503 retriable, 25 ms back-off base. */
export const DEFAULT_RETRY: Readonly<HttpRetry> = Object.freeze({
  attempts: 2,
  retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
  retriableStatusCodes: [503],
  backoffMs: 25,
});

/** The retry_on values Istio's validation accepts (besides HTTP status codes). */
export const RETRY_ON_POLICIES: ReadonlySet<string> = new Set([
  '5xx', 'gateway-error', 'reset', 'connect-failure', 'envoy-ratelimited', 'refused-stream', 'retriable-4xx',
  'retriable-status-codes', 'retriable-headers', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted',
  'unavailable', 'reset-before-request', 'http3-post-connect-failure',
]);

export interface HttpRoute {
  name?: string;
  /** `retries` as written, merged over DEFAULT_RETRY as Istio's ConvertPolicy does; absent = the default */
  retries?: HttpRetry;
  /** `timeout` in ms; absent or 0 = none (Istio's default for HTTP routes) */
  timeoutMs?: number;
  /** absent or empty = matches every request */
  match?: HttpMatch[];
  route?: RouteDestination[];
  redirect?: HttpRedirect;
  directResponse?: { status: number; body?: string };
  rewrite?: HttpRewrite;
  /**
   * A root route's `delegate`, as written (`loc`: where). The loader merges the delegate's routes in its place
   * (model/delegate.ts), so the routes policy/routing.ts reads have none.
   */
  delegate?: { name: string; namespace?: string; loc?: Location };
  /** a route of a delegate VirtualService (no hosts): where it is written */
  loc?: Location;
  /**
   * A route merged from a delegate (model/delegate.ts): the delegate (`namespace/name`), the route's index in the
   * delegate's `http`, and the index of the root's route that delegated. Destinations are read in `namespace`, the
   * delegate's own, as Istio resolves short names before it merges.
   */
  origin?: { vs: string; namespace: string; index: number; root: number };
}

export interface L4Match {
  port?: number;
  sourceLabels?: Labels;
  sourceNamespace?: string;
  gateways?: string[];
  destinationSubnets?: string[];
}

export interface TlsMatch extends L4Match {
  sniHosts: string[];
}

export interface TlsRoute {
  match: TlsMatch[];
  route: RouteDestination[];
}

export interface TcpRoute {
  /** empty = every connection */
  match: L4Match[];
  route: RouteDestination[];
}

export interface VirtualService {
  meta: ObjectMeta;
  /** as written; empty only for a delegate VirtualService */
  hosts: string[];
  /** as written; `['mesh']` when absent */
  gateways: string[];
  /** where each `gateways` entry was written (parallel to `gateways`; the object when defaulted) */
  gatewayLocs: Location[];
  exportTo: string[];
  /** the http routes Istio uses: for a root VirtualService (a route with `delegate`), its routes with the delegates' merged in */
  http: HttpRoute[];
  /** a root VirtualService's http routes as written, `delegate` routes included (model/delegate.ts merges from these) */
  httpWritten?: HttpRoute[];
  tls: TlsRoute[];
  tcp: TcpRoute[];
}

/** host.Name SubsetOf: `a` ⊆ `b` with leading-`*` wildcards. */
export function hostSubsetOf(a: string, b: string): boolean {
  if (a.startsWith('*')) return b.startsWith('*') && a.slice(1).endsWith(b.slice(1));
  if (b.startsWith('*')) return a.endsWith(b.slice(1));
  return a === b;
}

/** A `gateways` entry as Istio resolves it: `mesh`, `ns/name`, legacy `name.ns.svc…`, or `name` in the VirtualService's namespace. */
export function resolveGatewayName(name: string, vsNamespace: string): string {
  if (name === 'mesh') return name;
  if (name.includes('/')) return name;
  if (name.includes('.')) {
    const parts = name.split('.');
    return `${parts[1] ?? ''}/${parts[0] ?? ''}`;
  }
  return `${vsNamespace}/${name}`;
}

