/**
 * The request headers Envoy's HTTP connection manager removes before any HTTP
 * filter runs (Envoy's "HTTP header sanitizing" page; mutateRequestHeaders and
 * cleanInternalHeaders in conn_manager_utility.cc), so CUSTOM ext_authz,
 * jwt_authn, RBAC, the router and the backend never see the client's value.
 *
 * - On HTTP/1.1, always (not only for external requests): keep-alive,
 *   proxy-connection and transfer-encoding; connection and upgrade too unless
 *   the request is an upgrade (Connection names the `upgrade` token and an
 *   Upgrade header is present); TE becomes `trailers` when it lists that
 *   token, else is removed. (HTTP/2 forbids these connection-specific fields
 *   in the first place; meshrange does not model that codec's refusal.)
 * - x-envoy-internal, always: Envoy sets it to `true` again only for an
 *   internal request, which under Istio's defaults never happens (below).
 * - From every external request: the retry, timeout, tracing and stat-name
 *   controls in EXTERNAL_ONLY.
 * - From an external request at an edge proxy (use_remote_address true): also
 *   EDGE_ONLY.
 *
 * Internal or external: a request is internal only when, after the X-Forwarded-For
 * handling, exactly one address is in play and internal_address_config counts
 * it as internal; with use_remote_address false and no X-Forwarded-For it is
 * external. Envoy 1.33+ counts no address as internal unless
 * internal_address_config lists it (RFC 1918 ranges are no longer implied), and
 * Istio sets that only from meshNetworks' fromCidr (for gateways, or sidecars
 * with ENABLE_HCM_INTERNAL_NETWORKS), which meshrange does not model. So every
 * request is external: at a gateway (use_remote_address true) an edge one, at
 * a sidecar (use_remote_address false) a non-edge one.
 */
import { ownValue } from '../core/record.js';

/** Removed from every external request. */
export const EXTERNAL_ONLY: readonly string[] = [
  'x-envoy-retriable-status-codes', 'x-envoy-retriable-header-names', 'x-envoy-retry-on', 'x-envoy-retry-grpc-on',
  'x-envoy-max-retries', 'x-envoy-upstream-alt-stat-name', 'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms', 'x-envoy-upstream-rq-timeout-alt-response', 'x-envoy-expected-rq-timeout-ms',
  'x-envoy-force-trace', 'x-envoy-ip-tags', 'x-envoy-original-url', 'x-envoy-hedge-on-per-try-timeout',
];
/** Removed from an external request only by an edge proxy (use_remote_address true: an Istio gateway). */
export const EDGE_ONLY: readonly string[] = [
  'x-envoy-decorator-operation', 'x-envoy-downstream-service-cluster', 'x-envoy-downstream-service-node', 'x-envoy-original-path',
];
/** Removed from every HTTP/1.1 request, upgrade or not. */
const HOP_BY_HOP: readonly string[] = ['keep-alive', 'proxy-connection', 'transfer-encoding'];

export type ProxyKind = 'gateway' | 'sidecar';

const STRIPPED_AT: ReadonlyMap<ProxyKind, ReadonlySet<string>> = new Map([
  ['gateway', new Set(['x-envoy-internal', ...EXTERNAL_ONLY, ...EDGE_ONLY])],
  ['sidecar', new Set(['x-envoy-internal', ...EXTERNAL_ONLY])],
]);

/**
 * Whether a client's header of this (lower-case) name never reaches the filters of this kind of proxy, whatever the
 * request: the x-envoy-* controls (for HTTP/1.1 keep-alive, proxy-connection and transfer-encoding are gone too,
 * but an HTTP/2 client's request is refused instead, so those are not counted here).
 */
export function alwaysStripped(kind: ProxyKind, name: string): boolean {
  return (STRIPPED_AT.get(kind) as ReadonlySet<string>).has(name);
}

/** Whether a comma-separated header value lists `token` (case-insensitive, spaces around entries ignored). */
function listsToken(value: string, token: string): boolean {
  return value.split(',').some((v) => v.trim().toLowerCase() === token);
}

export interface Sanitized {
  /** the headers removed, each with the value the client sent, in the request's order */
  dropped: { name: string; value: string }[];
  /** a TE header rewritten to `trailers` */
  te: string | null;
  /** edge-only headers a sidecar keeps (they reach its filters as sent) */
  keptEdgeOnly: string[];
}

/**
 * Removes in place what the connection manager of `kind` removes before its filters, and says what it removed.
 * `http1`: the downstream is HTTP/1.1 (the connection-specific headers are then the codec's to pass on).
 */
export function sanitizeRequestHeaders(headers: Record<string, string>, kind: ProxyKind, http1: boolean): Sanitized {
  const out: Sanitized = { dropped: [], te: null, keptEdgeOnly: [] };
  const strip = STRIPPED_AT.get(kind) as ReadonlySet<string>;
  const connection = ownValue(headers, 'connection');
  const upgrade = http1 && ownValue(headers, 'upgrade') !== undefined && connection !== undefined && listsToken(connection, 'upgrade');
  for (const name of Object.keys(headers)) {
    const value = headers[name] as string;
    const hop = http1 && (HOP_BY_HOP.includes(name) || (!upgrade && (name === 'connection' || name === 'upgrade')));
    if (hop || strip.has(name)) {
      out.dropped.push({ name, value });
      delete headers[name];
    } else if (http1 && !upgrade && name === 'te') {
      if (listsToken(value, 'trailers')) {
        if (value !== 'trailers') { out.te = value; headers[name] = 'trailers'; }
      } else {
        out.dropped.push({ name, value });
        delete headers[name];
      }
    } else if (kind === 'sidecar' && EDGE_ONLY.includes(name)) {
      out.keptEdgeOnly.push(name);
    }
  }
  return out;
}
