/**
 * Envoy's HTTP local rate limit filter (istio-semantics §10; Envoy
 * local_ratelimit.cc and local_ratelimit_impl.cc), pure: time comes in as ms,
 * randomness as a () => [0,1) stream.
 *
 * Rules
 * - The token bucket starts full (max_tokens). Every fill_interval it gains
 *   tokens_per_fill, capped at max_tokens. Each checked request takes one
 *   token; an empty bucket means the request is limited.
 *   Task numbers: 4 tokens / 60 s → requests 1–4 pass, the 5th gets 429.
 * - Refill timing, `refill` option of TokenBucket:
 *   `timer` (default): fills on interval boundaries counted from the bucket's
 *   start (t = 0), as Envoy's fill timer does (TimerTokenBucket);
 *   `continuous`: tokens trickle in at tokens_per_fill / fill_interval and a
 *   request needs one whole token — Envoy's AtomicTokenBucket, the default
 *   since Envoy 1.31 (runtime guard no_timer_based_rate_limit_token_bucket,
 *   the timer path removed in 1.34), so what current Istio proxies do.
 *   The two agree on a burst inside the first interval (the task numbers);
 *   they differ on when tokens come back.
 * - One bucket per Envoy (per pod), shared by all its connections, unless
 *   local_rate_limit_per_downstream_connection (the caller then keeps one
 *   bucket per connection). A per-route config has its own bucket.
 * - filter_enabled: the fraction of requests checked at all; absent = 0% =
 *   the filter is disabled (no token is taken).
 * - filter_enforced: the fraction of limited requests actually rejected;
 *   absent = 0% = limited requests are only counted and pass.
 * - A rejected request gets `status` (default 429), body `local_rate_limited`,
 *   the response_headers_to_add (task: `x-local-rate-limit: true`) and the
 *   access-log flag RL.
 * - A percentage of 0 or 100 draws no random number, so a seeded stream is
 *   only consumed by genuinely probabilistic settings.
 * - Which filters a proxy has (`rateLimitsFor`): EnvoyFilters of the root
 *   namespace apply mesh-wide, others only to proxies of their namespace;
 *   a workloadSelector narrows to pods with those labels (a root-namespace
 *   filter with a selector selects in every namespace); match.context must be
 *   ANY or the proxy's (SIDECAR_INBOUND / SIDECAR_OUTBOUND / GATEWAY);
 *   listener.portNumber, when set, must be the port. Order: by priority, root
 *   namespace before the proxy's namespace, then load order — the order Istio
 *   applies the patches. Filters inserted at the front end up in reverse
 *   application order in the chain; `rateLimitsFor` returns them in chain
 *   order (front ones last-applied first, then the rest in application order).
 */
import type { LocalRateLimit, PerRouteRateLimit, RateLimitSettings, TokenBucketSpec } from '../../model/envoy-filter.js';
import { selectorMatches, type Labels } from '../../model/types.js';

export type RefillMode = 'timer' | 'continuous';

export interface TokenBucketOptions {
  /** `timer` (interval boundaries, the default) or `continuous` (Envoy ≥ 1.31) */
  refill?: RefillMode;
  /** when the bucket was created (its first fill is one interval later); default 0 */
  startMs?: number;
}

export class TokenBucket {
  private readonly spec: TokenBucketSpec;
  private readonly refill: RefillMode;
  private readonly startMs: number;
  private level: number;
  /** timer mode: fills applied so far; continuous mode: ms of the last update */
  private fills = 0;
  private lastMs: number;

  constructor(b: TokenBucketSpec, opts: TokenBucketOptions = {}) {
    this.spec = { ...b };
    this.refill = opts.refill ?? 'timer';
    this.startMs = opts.startMs ?? 0;
    this.level = b.maxTokens;
    this.lastMs = this.startMs;
  }

  private advance(nowMs: number): void {
    const now = Math.max(nowMs, this.lastMs); // time never runs backwards for a bucket
    const { maxTokens, tokensPerFill, fillIntervalMs } = this.spec;
    if (this.refill === 'timer') {
      const due = Math.floor((now - this.startMs) / fillIntervalMs);
      if (due > this.fills) {
        this.level = Math.min(maxTokens, this.level + (due - this.fills) * tokensPerFill);
        this.fills = due;
      }
    } else {
      this.level = Math.min(maxTokens, this.level + ((now - this.lastMs) * tokensPerFill) / fillIntervalMs);
    }
    this.lastMs = now;
  }

  /** Takes one token if there is one. */
  take(nowMs: number): boolean {
    this.advance(nowMs);
    if (this.level < 1) return false;
    this.level -= 1;
    return true;
  }

  /** Tokens in the bucket at nowMs (fractional in continuous mode). */
  tokens(nowMs: number): number {
    this.advance(nowMs);
    return this.level;
  }
}

export interface RateLimitDecision {
  /** the bucket was empty for this request */
  limited: boolean;
  /** the request is rejected (limited and enforced) */
  enforced: boolean;
  status?: number;
  headers?: Record<string, string>;
  body?: 'local_rate_limited';
  flag?: 'RL';
}

function chance(percent: number, rand: () => number): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return rand() * 100 < percent;
}

/**
 * One request meeting the filter. `rl` is the settings in force (the filter's,
 * or a per-route override from `effectiveRateLimit`); `bucket` the bucket of
 * that level (null when it has none: nothing is limited).
 */
export function localRateLimitDecision(rl: RateLimitSettings, bucket: TokenBucket | null, nowMs: number, rand: () => number): RateLimitDecision {
  if (!chance(rl.filterEnabledPercent, rand)) return { limited: false, enforced: false };
  if (!rl.bucket || !bucket) return { limited: false, enforced: false };
  if (bucket.take(nowMs)) return { limited: false, enforced: false };
  if (!chance(rl.filterEnforcedPercent, rand)) return { limited: true, enforced: false };
  return { limited: true, enforced: true, status: rl.status, headers: { ...rl.responseHeaders }, body: 'local_rate_limited', flag: 'RL' };
}

export interface RouteContext {
  /** virtual host name, e.g. `inbound|http|9080` */
  vhost?: string;
  route?: string;
  port?: number;
}

/**
 * The settings a request on this route meets, and a stable key for its
 * bucket: the per-route override when its vhost/route/port match (it has its
 * own bucket), else the filter's own settings.
 */
export function effectiveRateLimit(rl: LocalRateLimit, where: RouteContext = {}): { settings: RateLimitSettings; bucketKey: string; perRoute: PerRouteRateLimit | null } {
  const base = `${rl.meta.namespace}/${rl.meta.name}#${rl.patchIndex}`;
  const pr = rl.perRoute;
  if (pr && (pr.vhost === undefined || pr.vhost === where.vhost) && (pr.route === undefined || pr.route === where.route)
    && (pr.portNumber === undefined || pr.portNumber === where.port)) {
    return { settings: pr, bucketKey: `${base}/route#${pr.patchIndex}`, perRoute: pr };
  }
  return { settings: rl, bucketKey: base, perRoute: null };
}

export interface ProxyIdentity {
  labels: Labels;
  namespace: string;
  rootNamespace: string;
}

const CONTEXT_OF = { inbound: 'SIDECAR_INBOUND', outbound: 'SIDECAR_OUTBOUND', gateway: 'GATEWAY' } as const;

/** The local rate limits a proxy has for traffic in `context` (and on `port`, when given), in filter-chain order. */
export function rateLimitsFor(list: readonly LocalRateLimit[], proxy: ProxyIdentity, context: 'inbound' | 'outbound' | 'gateway', port?: number): LocalRateLimit[] {
  const applies = list.filter((rl) => {
    const ns = rl.meta.namespace;
    if (ns !== proxy.namespace && ns !== proxy.rootNamespace) return false;
    if (rl.workloadSelector !== null && !selectorMatches(rl.workloadSelector, proxy.labels)) return false;
    if (rl.context !== 'ANY' && rl.context !== CONTEXT_OF[context]) return false;
    if (rl.portNumber !== undefined && port !== undefined && rl.portNumber !== port) return false;
    return true;
  });
  const rank = (rl: LocalRateLimit): number => (rl.meta.namespace === proxy.rootNamespace ? 0 : 1);
  const applied = [...applies].sort((a, b) => a.priority - b.priority || rank(a) - rank(b) || a.meta.order - b.meta.order || a.patchIndex - b.patchIndex);
  const front = applied.filter((rl) => rl.position === 'front').reverse();
  return [...front, ...applied.filter((rl) => rl.position !== 'front')];
}

/**
 * How far a request has come through a receiving proxy's authorization filters when a rate-limit filter sees it
 * (§3 filter order, Istio's authz builder: metadata-exchange → [CUSTOM: an RBAC filter marking the request, then
 * ext_authz] → jwt_authn → istio_authn → RBAC AUDIT → RBAC DENY → RBAC ALLOW → fault, CORS, stats → router):
 * 0 before all of them, 1 after ext_authz, 2 after jwt_authn, 3 after the DENY filter, 4 after the ALLOW filter.
 * A filter at stage s checks a request only when the request passed every authorization filter before it; one
 * refused earlier never takes a token.
 */
export type FilterStage = 0 | 1 | 2 | 3 | 4;

/** Which authorization filters a proxy's HTTP chain has: ext_authz (and its RBAC) for CUSTOM policies, jwt_authn for RequestAuthentications, one RBAC filter per other action. */
export interface AuthzFilters {
  custom: boolean;
  jwt: boolean;
  audit: boolean;
  deny: boolean;
  allow: boolean;
}

export const NO_AUTHZ_FILTERS: AuthzFilters = { custom: false, jwt: false, audit: false, deny: false, allow: false };

/**
 * Where a rate-limit filter lands in a proxy's HTTP chain, as a stage; null when Istio inserts it nowhere Envoy runs
 * it: INSERT_BEFORE / INSERT_AFTER relative to a filter the chain does not have (the patch matches nothing and is
 * not applied: ext_authz without a CUSTOM policy, jwt_authn without a RequestAuthentication, a name meshrange's model
 * of the chain does not hold), after the router, or appended at the end (the router is terminal: Envoy never runs a
 * filter after it).
 */
export function stageOf(rl: Pick<LocalRateLimit, 'position' | 'relativeTo'>, f: AuthzFilters): FilterStage | null {
  if (rl.position === 'front') return 0;
  if (rl.position === 'end' || rl.relativeTo === null) return null;
  // [name, stage before it, stage after it]; INSERT_BEFORE / INSERT_AFTER attach at the first filter of that name
  const RBAC = 'envoy.filters.http.rbac';
  const chain: [string, FilterStage, FilterStage | null][] = [['istio.metadata_exchange', 0, 0]];
  let s: FilterStage = 0;
  if (f.custom) { chain.push([RBAC, 0, 0], ['envoy.filters.http.ext_authz', 0, 1]); s = 1; }
  if (f.jwt) { chain.push(['envoy.filters.http.jwt_authn', s, 2]); s = 2; }
  chain.push(['istio_authn', s, s]);
  if (f.audit) chain.push([RBAC, s, s]);
  if (f.deny) { chain.push([RBAC, s, 3]); s = 3; }
  if (f.allow) chain.push([RBAC, s, 4]);
  s = 4;
  for (const name of ['envoy.filters.http.fault', 'envoy.filters.http.cors', 'istio.stats']) chain.push([name, s, s]);
  chain.push(['envoy.filters.http.router', s, null]);
  const at = chain.find(([name]) => name === rl.relativeTo);
  if (at === undefined) return null;
  return rl.position === 'before' ? at[1] : at[2];
}
