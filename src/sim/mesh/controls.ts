/**
 * The controls that act over time (istio-semantics §10), kept per proxy and
 * per upstream cluster for one simulation run: local rate-limit buckets (per
 * Envoy, shared by its connections), connection-pool circuit breakers and
 * outlier detectors (per client sidecar and upstream cluster, from the
 * DestinationRule that client uses).
 */
import type { Mesh, TrafficPolicy, Workload } from '../../model/types.js';
import { DEFAULT_CONNECTION_POOL, type ConnectionPool } from '../../model/traffic-policy.js';
import { findDestinationRule } from '../../policy/destination-rule.js';
import { ConnectionPoolState, OutlierDetector } from './circuit-breaker.js';
import { policiesFor } from '../../policy/authorization-policy.js';
import { requestAuthenticationsSelecting } from '../../policy/request-authentication.js';
import { effectiveRateLimit, localRateLimitDecision, NO_AUTHZ_FILTERS, rateLimitsFor, stageOf, TokenBucket, type AuthzFilters, type FilterStage, type RouteContext } from './rate-limiter.js';
import type { DynamicControls } from './world.js';

interface Upstream {
  pool: ConnectionPoolState | null;
  waiting: (() => void)[];
  outlier: OutlierDetector | null;
}

function policyFor(mesh: Mesh, client: Workload, fqdn: string): TrafficPolicy | undefined {
  const svc = mesh.services.find((s) => s.fqdn === fqdn);
  return findDestinationRule(mesh, client.namespace, client.labels, fqdn, svc?.namespace ?? null)?.rule.trafficPolicy;
}

function isDefaultPool(cp: ConnectionPool): boolean {
  return (Object.keys(DEFAULT_CONNECTION_POOL) as (keyof ConnectionPool)[]).every((k) => cp[k] === DEFAULT_CONNECTION_POOL[k]);
}

/** A proxy's rate-limit filters for one direction and route: each with its settings, its bucket key and its `namespace/name`. */
type LimitList = { settings: ReturnType<typeof effectiveRateLimit>['settings']; key: string; name: string; stage: FilterStage }[];

/** What a rate limit answers: its status and headers, the filter's `namespace/name`, and where in the chain it sits. */
export interface Limited { status: number; headers: Record<string, string>; name: string; stage: FilterStage }

export class MeshControls implements DynamicControls {
  private readonly upstreams = new Map<string, Upstream>();
  /** the same upstreams by client then host: found at each request without making the `client>host` key */
  private readonly upstreamsOf = new Map<Workload, Map<string, Upstream>>();
  private readonly buckets = new Map<string, TokenBucket>();
  /** the rate-limit filters of each proxy, direction and port, with their bucket keys */
  private readonly limits = new Map<string, LimitList>();
  /** the same lists by proxy then inbound port, and by client then outbound listener (a decision's, kept by the decision memo) */
  private readonly inboundLimits = new Map<Workload, Map<number | undefined, LimitList>>();
  private readonly outboundLimits = new Map<Workload, WeakMap<object, LimitList>>();
  /** counters for the report */
  readonly stats = { overflows: 0, rateLimited: 0, ejections: 0, retryOverflows: 0 };

  constructor(private readonly mesh: Mesh, private readonly rand: () => number) {}

  private known(client: Workload, fqdn: string): Upstream | undefined {
    return this.upstreamsOf.get(client)?.get(fqdn);
  }

  private upstream(client: Workload, fqdn: string, endpoints: readonly Workload[]): Upstream {
    let u = this.known(client, fqdn);
    if (!u) {
      const key = `${client.id}>${fqdn}`;
      const tp = policyFor(this.mesh, client, fqdn);
      const cp = tp?.connectionPool;
      const http2 = (() => {
        const svc = this.mesh.services.find((s) => s.fqdn === fqdn);
        return svc?.ports.some((p) => /^(http2|grpc)/.test((p.appProtocol ?? p.name ?? '').toLowerCase())) ?? false;
      })();
      u = {
        pool: cp && !isDefaultPool(cp) ? new ConnectionPoolState(cp, http2) : null,
        waiting: [],
        outlier: tp?.outlierDetection ? new OutlierDetector(tp.outlierDetection, endpoints.map((e) => e.id)) : null,
      };
      this.upstreams.set(key, u);
      let byHost = this.upstreamsOf.get(client);
      if (byHost === undefined) { byHost = new Map(); this.upstreamsOf.set(client, byHost); }
      byHost.set(fqdn, u);
    }
    return u;
  }

  admitUpstream(client: Workload, fqdn: string, now: number, start: () => void): 'ok' | 'queued' | 'overflow' {
    const u = this.upstream(client, fqdn, []);
    if (!u.pool) { start(); return 'ok'; }
    const a = u.pool.tryStart(now);
    if (a === 'overflow') { this.stats.overflows++; return 'overflow'; }
    if (a === 'pending') { u.waiting.push(start); return 'queued'; }
    start();
    return 'ok';
  }

  /** DestinationRule connectionPool.http.maxRetries: how many retries may be in flight from this client's sidecar to the service. */
  tryRetry(client: Workload, fqdn: string): boolean {
    const u = this.upstream(client, fqdn, []);
    if (!u.pool) return true;
    if (u.pool.tryRetry()) return true;
    this.stats.retryOverflows++;
    return false;
  }

  finishRetry(client: Workload, fqdn: string): void {
    this.known(client, fqdn)?.pool?.finishRetry();
  }

  releaseUpstream(client: Workload, fqdn: string, now: number): void {
    const u = this.known(client, fqdn);
    if (!u?.pool) return;
    if (u.pool.finish(now)) {
      const next = u.waiting.shift();
      if (next) next();
    }
  }

  healthy(client: Workload, fqdn: string, endpoints: readonly Workload[], now: number): readonly Workload[] {
    const u = this.upstream(client, fqdn, endpoints);
    if (!u.outlier) return endpoints;
    const ok = new Set(u.outlier.available(now));
    return endpoints.filter((e) => ok.has(e.id));
  }

  report(client: Workload, fqdn: string, endpoint: Workload, status: number, now: number): void {
    const u = this.known(client, fqdn);
    if (!u?.outlier) return;
    const before = u.outlier.ejections.length;
    u.outlier.report(endpoint.id, status, now);
    this.stats.ejections += u.outlier.ejections.length - before;
  }

  /**
   * The receiving sidecar's local rate limits for a request on its inbound
   * port (§10): filters of context SIDECAR_INBOUND or ANY whose listener
   * portNumber, if any, is that port; a per-route override applies on the
   * inbound virtual host `inbound|http|<port>`, route `default` (the names
   * Istio gives them). One bucket per filter and proxy.
   */
  rateLimit(server: Workload, now: number, port?: number, reached: FilterStage | -1 = 4): Limited | null {
    let byPort = this.inboundLimits.get(server);
    if (byPort === undefined) { byPort = new Map(); this.inboundLimits.set(server, byPort); }
    let list = byPort.get(port);
    if (list === undefined) {
      const where: RouteContext = port === undefined ? {} : { port, vhost: `inbound|http|${port}`, route: 'default' };
      list = this.limitList(server, server.gateway ? 'gateway' : 'inbound', where);
      byPort.set(port, list);
    }
    return this.limit(list, now, reached);
  }

  /**
   * The client sidecar's own local rate limits for a request it sends on an
   * outbound HTTP listener (§3 client step 3, §10): filters of context
   * SIDECAR_OUTBOUND or ANY; a per-route override applies on the outbound
   * virtual host `<host>:<port>`, route `default` (a request a VirtualService
   * routed is on a route of its own, not modeled by name). One bucket per filter and
   * proxy, apart from the inbound one (another listener, another filter).
   */
  outboundRateLimit(client: Workload, listener: { port: number; vhost: string; route: 'default' | null }, now: number): Limited | null {
    let byListener = this.outboundLimits.get(client);
    if (byListener === undefined) { byListener = new WeakMap(); this.outboundLimits.set(client, byListener); }
    let list = byListener.get(listener);
    if (list === undefined) {
      const where: RouteContext = { port: listener.port, vhost: listener.vhost };
      if (listener.route !== null) where.route = listener.route;
      list = this.limitList(client, 'outbound', where);
      byListener.set(listener, list);
    }
    return this.limit(list, now, 4);
  }

  /** The rate-limit filters of a proxy for one direction and route, with their bucket keys: made once per key. */
  private limitList(proxy: Workload, context: 'inbound' | 'outbound' | 'gateway', where: RouteContext): LimitList {
    const listKey = `${proxy.id}|${context}|${where.port ?? ''}|${where.vhost ?? ''}|${where.route ?? ''}`;
    let list = this.limits.get(listKey);
    if (!list) {
      // Where each filter sits relative to the proxy's authorization filters (the outbound chain has none); a filter
      // Istio places nowhere Envoy runs it is left out (stageOf). Chain order: by stage, then rateLimitsFor's order.
      const filters = context === 'outbound' ? NO_AUTHZ_FILTERS : this.authzFilters(proxy);
      const entries: LimitList = [];
      for (const rl of rateLimitsFor(this.mesh.rateLimits, { labels: proxy.labels, namespace: proxy.namespace, rootNamespace: this.mesh.config.rootNamespace }, context, where.port)) {
        const stage = stageOf(rl, filters);
        if (stage === null) continue;
        const eff = effectiveRateLimit(rl, where);
        entries.push({ settings: eff.settings, key: `${proxy.id}|${context === 'outbound' ? 'out|' : ''}${eff.bucketKey}`, name: `${rl.meta.namespace}/${rl.meta.name}`, stage });
      }
      list = entries.map((e, i) => ({ e, i })).sort((a, b) => a.e.stage - b.e.stage || a.i - b.i).map(({ e }) => e);
      this.limits.set(listKey, list);
    }
    return list;
  }

  /** The authorization filters of a receiving proxy's HTTP chain: ext_authz (a CUSTOM policy), jwt_authn (a RequestAuthentication), one RBAC filter per other action. */
  private authzFilters(proxy: Workload): AuthzFilters {
    const policies = policiesFor(this.mesh, proxy);
    return {
      custom: policies.some((p) => p.action === 'CUSTOM'),
      jwt: requestAuthenticationsSelecting(this.mesh.requestAuthentications, this.mesh.config.rootNamespace, proxy).length > 0,
      audit: policies.some((p) => p.action === 'AUDIT'),
      deny: policies.some((p) => p.action === 'DENY'),
      allow: policies.some((p) => p.action === 'ALLOW'),
    };
  }

  /** The first filter of the list that checks the request (it got past the authorization filters before it: `reached`) and rejects it. */
  private limit(list: LimitList, now: number, reached: FilterStage | -1): Limited | null {
    for (const { settings, key, name, stage } of list) {
      if (stage > reached) continue;
      let bucket = this.buckets.get(key) ?? null;
      if (!bucket && settings.bucket) {
        bucket = new TokenBucket(settings.bucket);
        this.buckets.set(key, bucket);
      }
      const d = localRateLimitDecision(settings, bucket, now, this.rand);
      if (d.enforced) {
        this.stats.rateLimited++;
        return { status: d.status ?? 429, headers: d.headers ?? {}, name, stage };
      }
    }
    return null;
  }

  /** Outlier ejections so far, for the report. */
  ejections(): { upstream: string; host: string; at: number; until: number }[] {
    const out: { upstream: string; host: string; at: number; until: number }[] = [];
    for (const [key, u] of this.upstreams) for (const e of u.outlier?.ejections ?? []) out.push({ upstream: key, host: e.host, at: e.at, until: e.until });
    return out;
  }
}
