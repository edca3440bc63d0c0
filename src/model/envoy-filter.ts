/**
 * What meshrange models of EnvoyFilter: the HTTP local rate limit filter of the
 * "Enabling Rate Limits using Envoy" task (istio-semantics §10), read by
 * loader/envoy-filter.ts. Every other patch is reported as not modeled.
 */
import type { Labels, ObjectMeta } from './types.js';

/** `match.context`; absent = `ANY` (every listener, inbound and outbound, and gateways). */
export type EnvoyFilterContext = 'SIDECAR_INBOUND' | 'SIDECAR_OUTBOUND' | 'GATEWAY' | 'ANY';

/** Envoy `token_bucket`. */
export interface TokenBucketSpec {
  /** bucket size; it starts full */
  maxTokens: number;
  /** tokens added every fill interval (Envoy default 1) */
  tokensPerFill: number;
  fillIntervalMs: number;
}

/**
 * The settings a request meets: the filter's own config (HCM level) or a
 * per-route override, which replaces it entirely (Envoy resolves the most
 * specific per-filter config and uses only that one).
 */
export interface RateLimitSettings {
  /** null = no bucket at this level: nothing is limited here (the HCM level of the per-route variant) */
  bucket: TokenBucketSpec | null;
  /** filter_enabled as a percentage of requests checked; 0 when absent = the filter is disabled */
  filterEnabledPercent: number;
  /** filter_enforced as a percentage of limited requests rejected; 0 when absent = only counted */
  filterEnforcedPercent: number;
  /** HTTP status of a rejection (`status.code`; default 429, values below 400 become 429 as in Envoy) */
  status: number;
  /** response_headers_to_add of a rejection, keys lower-cased */
  responseHeaders: Record<string, string>;
}

/** A `typed_per_filter_config` override from an HTTP_ROUTE or VIRTUAL_HOST MERGE patch. */
export interface PerRouteRateLimit extends RateLimitSettings {
  level: 'VIRTUAL_HOST' | 'HTTP_ROUTE';
  /** routeConfiguration.vhost.name, e.g. `inbound|http|9080`; undefined = every virtual host */
  vhost?: string;
  /** routeConfiguration.vhost.route.name; undefined = every route */
  route?: string;
  /** routeConfiguration.portNumber; undefined = every port */
  portNumber?: number;
  /** a per-route config must have a bucket (Envoy rejects it otherwise); the bucket is unique to the route */
  bucket: TokenBucketSpec;
  /** index of the patch in spec.configPatches */
  patchIndex: number;
}

/**
 * Where the filter lands in the HTTP filter list (istio-semantics §3; Istio's
 * envoyfilter listener patcher):
 * - `front`: INSERT_FIRST, or INSERT_BEFORE without a subFilter match — before
 *   ext_authz, jwt_authn and RBAC, so a 429 wins over 401/403;
 * - `before` / `after` `relativeTo`: INSERT_BEFORE / INSERT_AFTER with a
 *   subFilter match (applied only when that filter exists);
 * - `end`: ADD, or INSERT_AFTER without a subFilter match (appended after the router).
 * How that places the filter among ext_authz, jwt_authn and RBAC, and which placements never run: sim/mesh/rate-limiter.ts stageOf.
 */
export type FilterPosition = 'front' | 'before' | 'after' | 'end';

export interface LocalRateLimit extends RateLimitSettings {
  meta: ObjectMeta;
  /** spec.workloadSelector.labels; null = every proxy of the namespace (mesh-wide in the root namespace) */
  workloadSelector: Labels | null;
  context: EnvoyFilterContext;
  /** spec.priority (default 0): lower applies first */
  priority: number;
  /** index of the HTTP_FILTER patch in spec.configPatches */
  patchIndex: number;
  /** match.listener.portNumber; undefined = every port */
  portNumber?: number;
  position: FilterPosition;
  /** the subFilter named by `before`/`after`, else null */
  relativeTo: string | null;
  statPrefix: string;
  /** local_rate_limit_per_downstream_connection: one bucket per downstream connection instead of per proxy */
  perDownstreamConnection?: true;
  /** the per-route variant: an override for one virtual host / route */
  perRoute?: PerRouteRateLimit;
}

export const LOCAL_RATE_LIMIT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
export const LOCAL_RATE_LIMIT_FILTER_NAME = 'envoy.filters.http.local_ratelimit';
