/**
 * The mesh in time: requests travel through sidecars on a discrete-event
 * kernel. The policy pipeline (policy/decide.ts) decides what each request
 * meets statically; here the controls that act over time and volume are
 * applied in the order a request meets them (istio-semantics §3, §10):
 *
 *  client sidecar: circuit breaker of the upstream cluster (connection pool,
 *  503 UO), outlier-ejected endpoints skipped (503 UH when none is left);
 *  server sidecar: the local rate limit filter sits at the front of the HTTP
 *  filters, so it answers 429 before JWT/RBAC run; then the static verdict;
 *  app: bounded concurrency and queue (503 when full), exponential service time;
 *  back at the client sidecar: the route's retry policy and timeout (§3 step 7,
 *  see send()). Certificates come from the CA lifecycle: an expired one fails
 *  mTLS (§1).
 *
 * Each proxy traversal adds a fixed overhead (default 0.625 ms each way, so
 * ~2.5 ms per request across the two proxies, as the seeds report).
 */
import { EventBudgetExceeded, type Kernel } from '../kernel/index.js';
import { grouped } from '../../core/text.js';
import type { Mesh, Workload } from '../../model/types.js';
import { clientProxied, decide, endpointsOf, resolveHost, type Decision, type DecideOptions, type MeshRequest } from '../../policy/decide.js';
import { AppServer, DEFAULT_FACTS, type ServerFacts } from './server.js';
import { DEFAULT_RETRY, type HttpRetry } from '../../model/routing.js';
import type { FilterStage } from './rate-limiter.js';

export interface WorldOptions {
  facts: (w: Workload) => ServerFacts;
  /** ms one proxy adds each way */
  proxyOverheadMs: number;
  base: Omit<DecideOptions, 'pickEndpoint' | 'certProblem' | 'jwt'>;
  certProblem?: (workloadId: string) => string | null;
  /** dynamic controls; absent ones are not modeled for this run */
  controls?: DynamicControls;
  /** most requests the apps may hold at once (default MAX_LIVE_REQUESTS; tests lower it) */
  maxLiveRequests?: number;
}

/** The time-dependent controls, supplied by the caller (rate limits, circuit breakers, outlier detection). */
export interface DynamicControls {
  /**
   * client-side admission to the upstream cluster: calls `start` now ('ok') or
   * when a connection frees ('queued'); `releaseUpstream` must follow when the request ends
   */
  admitUpstream?(client: Workload, serviceFqdn: string, now: number, start: () => void): 'ok' | 'queued' | 'overflow';
  releaseUpstream?(client: Workload, serviceFqdn: string, now: number): void;
  /** a retry is about to be sent to the service: false when the circuit breaker's maxRetries retries are already in flight */
  tryRetry?(client: Workload, serviceFqdn: string): boolean;
  /** a retry that tryRetry admitted is over */
  finishRetry?(client: Workload, serviceFqdn: string): void;
  /** healthy endpoints (outlier detection) */
  healthy?(client: Workload, serviceFqdn: string, endpoints: readonly Workload[], now: number): readonly Workload[];
  report?(client: Workload, serviceFqdn: string, endpoint: Workload, status: number, now: number): void;
  /** the local rate limit of the receiving sidecar on its inbound `port`: a refusal, or null */
  /** `reached`: how far the request got through the server's authorization filters (FilterStage; -1: refused before any HTTP filter) */
  rateLimit?(server: Workload, now: number, port?: number, reached?: FilterStage | -1): { status: number; headers: Record<string, string>; name: string; stage: FilterStage } | null;
  /** the local rate limit of the client's own sidecar on the outbound HTTP listener it used: a refusal, or null */
  outboundRateLimit?(client: Workload, listener: { port: number; vhost: string; route: 'default' | null }, now: number): { status: number; headers: Record<string, string>; name: string } | null;
}

export interface RequestSpec {
  req: MeshRequest;
  jwt?: DecideOptions['jwt'];
  /** cache key for the static decision; omit to decide every time */
  cacheKey?: string;
  /** seeded stream to pick endpoints with */
  pick: () => number;
}

export interface Outcome {
  status: number | null;
  latencyMs: number;
  decision: Decision;
  /** what happened over time, beyond the static decision */
  dynamic?: { control: 'RateLimit' | 'CircuitBreaker' | 'Routing' | 'App' | 'VirtualService'; name: string | null; reason: string; flags?: string };
  /** retries the client sidecar sent for this request */
  retries?: number;
  /** the client's own sidecar answered (its circuit breaker, outlier ejection, outbound rate limit): nothing left the pod */
  local?: true;
}

const SERVER_STOPS = new Set(['AuthorizationPolicy', 'RequestAuthentication', 'HttpValidation']);

/** Where the rate-limit filter that answered sits in the receiving proxy's chain (rate-limiter.ts stageOf). */
const STAGE_WORDS: Record<FilterStage, string> = {
  0: 'before JWT and RBAC run',
  1: 'after the CUSTOM ext-authz check, before JWT and RBAC',
  2: 'after JWT, before RBAC',
  3: 'after the DENY policies, before the ALLOW ones',
  4: 'after RBAC admitted the request, before the router',
};

/**
 * How far a request that reached the server proxy got through its authorization filters (§3 order: ext_authz,
 * jwt_authn, RBAC): a rate-limit filter placed after one that refused it never sees it. -1: refused by the connection
 * manager itself (a path Envoy rejects with 400), before any HTTP filter.
 */
function authzReached(d: Decision): FilterStage | -1 {
  const stop = d.stoppedBy[0];
  if (d.outcome === 'allowed' || stop === undefined) return 4;
  if (stop.control === 'HttpValidation') return -1;
  if (stop.control === 'RequestAuthentication') return 1;
  if (stop.control === 'AuthorizationPolicy') {
    const stage = d.authz?.stage;
    return stage === 'custom' ? 0 : stage === 'deny' ? 2 : 3;
  }
  return 4;
}

/** How an attempt ended: `upstream` answers and per-try `timeout`s may be retried; `local` and `static` never are. */
interface AttemptResult {
  kind: 'upstream' | 'timeout' | 'local' | 'static';
  outcome: Outcome;
}

interface Attempt {
  decision: Decision;
  /** the route timeout fired: reset the upstream request (frees its pool slot; the outlier detector sees `status`) */
  abort(status: number): void;
  /** the retry policy is known once the first try is decided: arm its per-try timeout */
  setPerTry(policy: HttpRetry | null): void;
  /** the service the request went to (the client sidecar's upstream cluster), when it is one */
  serviceFqdn: string | null;
}

/** Envoy's retry_on for an answer that reached the client sidecar (§3 step 7). */
function retriable(p: HttpRetry, r: AttemptResult): boolean {
  const on = p.retryOn;
  if (r.kind === 'timeout') return on.includes('5xx') || on.includes('gateway-error') || on.includes('reset');
  if (r.kind !== 'upstream') return false;
  const s = r.outcome.status;
  if (s === null) return false;
  if (on.includes('5xx') && s >= 500) return true;
  if (on.includes('gateway-error') && (s === 502 || s === 503 || s === 504)) return true;
  if (on.includes('retriable-4xx') && s === 409) return true;
  return on.includes('retriable-status-codes') && p.retriableStatusCodes.includes(s);
}

/**
 * Most requests the apps of a run may hold at once, in service or waiting, over the whole mesh (the default facts
 * hold 1,064 per workload). Each keeps its continuation, its decision and its flow's state: ~1.4 KB. A 600-byte
 * scenario (a year-long service time, concurrency 1e6, queue 1e7, traffic for a year) kept 15.8 M of them and ran
 * out of heap at 4.4 GB; at this limit such a run stops in ~2 s under ~400 MB.
 */
export const MAX_LIVE_REQUESTS = 250_000;

/** The apps held MAX_LIVE_REQUESTS at once: an event-budget stop, so the kernel passes it through and the run reports it. */
export class LiveRequestsExceeded extends EventBudgetExceeded {
  constructor(readonly limit: number, time: number) {
    super(limit, time);
    this.message = `the simulation stopped with ${grouped(limit)} requests in the apps at once (in service or waiting), the most one run may hold`;
  }
}

export class World {
  private readonly servers = new Map<string, AppServer>();
  /** requests admitted by an app (in service or waiting) and not finished: bounded by MAX_LIVE_REQUESTS */
  private live = 0;
  /**
   * Static decisions by the request's cache key, then the endpoint, then the certificate states of client and
   * endpoint (0 not looked at, 1 valid, 2 a problem: index 3·client + endpoint); no key string made per request.
   */
  private readonly cache = new Map<string, Map<Workload | null, (Decision | undefined)[]>>();
  /** Service and endpoints by (client namespace, host): names do not change during a run. */
  private readonly services = new Map<string, Map<string, { fqdn: string; eps: readonly Workload[] } | null>>();
  /** whether a request's client side runs through its own proxy (capture.ts): fixed for a request */
  private readonly proxied = new WeakMap<MeshRequest, boolean>();
  decisions = 0;

  constructor(readonly k: Kernel, readonly mesh: Mesh, readonly opts: WorldOptions) {}

  /** The client's own proxy handles the request (its sidecar captures it, or it is a gateway's Envoy). */
  clientProxy(req: MeshRequest): boolean {
    let p = this.proxied.get(req);
    if (p === undefined) { p = clientProxied(this.mesh, req); this.proxied.set(req, p); }
    return p;
  }

  server(w: Workload): AppServer {
    let s = this.servers.get(w.id);
    if (!s) { s = new AppServer(this.opts.facts(w) ?? DEFAULT_FACTS); this.servers.set(w.id, s); }
    return s;
  }

  /** The static verdict at the current simulated time. */
  decideNow(spec: RequestSpec, endpoint: Workload | null): Decision {
    const certProblem = this.opts.certProblem;
    const client = spec.req.from.kind === 'workload' ? spec.req.from.workload : null;
    let slots: (Decision | undefined)[] | undefined;
    let slot = 0;
    if (spec.cacheKey !== undefined) {
      const c = client && certProblem ? (certProblem(client.id) ? 2 : 1) : 0;
      const e = endpoint && certProblem ? (certProblem(endpoint.id) ? 2 : 1) : 0;
      slot = 3 * c + e;
      let byEndpoint = this.cache.get(spec.cacheKey);
      if (byEndpoint === undefined) { byEndpoint = new Map(); this.cache.set(spec.cacheKey, byEndpoint); }
      slots = byEndpoint.get(endpoint);
      if (slots === undefined) { slots = []; byEndpoint.set(endpoint, slots); }
      const hit = slots[slot];
      if (hit) return hit;
    }
    // the endpoint chosen for the first hop holds for that hop only: a later hop (past a gateway) picks among its own
    // Service's endpoints
    const o: DecideOptions = { ...this.opts.base, pickEndpoint: (eps) => (endpoint !== null && eps.includes(endpoint) ? endpoint : eps[Math.floor(spec.pick() * eps.length)] as Workload), pickEntryEndpoint: spec.pick };
    if (spec.jwt) o.jwt = spec.jwt;
    if (certProblem) o.certProblem = certProblem;
    this.decisions++;
    const d = decide(this.mesh, spec.req, o);
    if (slots !== undefined) slots[slot] = d;
    return d;
  }

  /**
   * Sends one request now; `done` is called at the simulated time the client
   * has its answer. An HTTP request from a proxied client runs under its
   * route's retry policy and timeout (istio-semantics §3 step 7): without a
   * VirtualService `retries`, Istio's default of 2 retries on connect-failure,
   * refused-stream, unavailable, cancelled and status 503; Envoy's jittered
   * back-off (25 ms base: the n-th retry waits a uniform [0, (2^n − 1) · 25) ms,
   * at most 250 ms) and the previous-hosts predicate (a retry prefers an
   * endpoint not tried yet). What is retried is an answer from upstream (a
   * saturated app's 503, a status the policy lists) and, with 5xx,
   * gateway-error or reset, a per-try timeout; never a local answer of the
   * client sidecar (circuit-breaker overflow UO, no healthy upstream UH), as
   * in Envoy. Static refusals met before the server (mTLS, egress, routing)
   * are deterministic and already carry Envoy's flags (UF,URX), so they are
   * not replayed. A route `timeout` bounds the whole exchange, retries
   * included: the client sidecar answers 504 (flag UT) and resets the
   * upstream request, freeing its connection-pool slot; an app already
   * working on it finishes the work unseen.
   */
  send(spec: RequestSpec, done: (o: Outcome) => void): void {
    const k = this.k;
    const t0 = k.now;
    const hop = this.opts.proxyOverheadMs;
    const client = spec.req.from.kind === 'workload' ? spec.req.from.workload : null;
    const clientProxy = client !== null && this.clientProxy(spec.req);
    const http = spec.req.protocol !== 'tcp' && spec.req.protocol !== 'tls';
    const back = hop * (clientProxy ? 1 : 0);
    const tried: string[] = [];
    let retries = 0;
    let settled = false;
    let timer: number | null = null;
    let current: Attempt | null = null;
    let policy: HttpRetry | null = null;

    const c = this.opts.controls;
    /** the retry in flight holds one of the circuit breaker's maxRetries slots for this service, until it is over */
    let retrySlot: string | null = null;
    const freeRetrySlot = (): void => {
      if (retrySlot !== null && client && c?.finishRetry) c.finishRetry(client, retrySlot);
      retrySlot = null;
    };
    const deliver = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      freeRetrySlot();
      if (timer !== null) k.cancel(timer);
      const out = retries > 0 ? { ...o, retries } : o;
      if (back === 0) { done(out); return; }
      k.schedule(back, () => done({ ...out, latencyMs: k.now - t0 }));
    };

    const onResult = (r: AttemptResult): void => {
      if (settled) return;
      freeRetrySlot();
      if (policy !== null && retries < policy.attempts && retriable(policy, r)) {
        // Envoy's retry circuit breaker (maxRetries: retries in flight to the cluster): a retry that does not fit is not sent
        const fqdn = current?.serviceFqdn ?? null;
        if (fqdn !== null && client && c?.tryRetry && !c.tryRetry(client, fqdn)) {
          const o = r.outcome;
          const dyn = o.dynamic ?? { control: 'Routing' as const, name: null, reason: `upstream answered ${o.status}` };
          // Envoy's router flags a retry its circuit breaker refused as upstream overflow (UO)
          deliver({ ...o, dynamic: { ...dyn, reason: `${dyn.reason}; not retried: the circuit breaker of ${client.id}'s sidecar for ${fqdn} already has its maxRetries retries in flight (retry overflow)`, flags: dyn.flags ? `${dyn.flags},UO` : 'UO' } });
          return;
        }
        if (fqdn !== null && client && c?.tryRetry) retrySlot = fqdn;
        retries++;
        const cap = Math.min(10 * policy.backoffMs, (2 ** retries - 1) * policy.backoffMs);
        const wait = Math.floor(k.uniform('retry/backoff', 0, cap));
        k.schedule(wait, () => { if (!settled) current = this.attempt(spec, t0, tried, policy, onResult); });
        return;
      }
      const o = r.outcome;
      if (retries > 0 && policy !== null && retriable(policy, r)) {
        // retries exhausted on a retriable answer: Envoy adds URX
        const dyn = o.dynamic ?? { control: 'Routing' as const, name: null, reason: `upstream answered ${o.status}` };
        deliver({ ...o, dynamic: { ...dyn, reason: `${dyn.reason}; ${retries} ${retries === 1 ? 'retry' : 'retries'} exhausted`, flags: dyn.flags ? `${dyn.flags},URX` : 'URX' } });
        return;
      }
      deliver(o);
    };

    current = this.attempt(spec, t0, tried, null, onResult);
    if (settled || !clientProxy || !http) return;
    const d = current.decision;
    policy = d.httpRoute?.retries ?? DEFAULT_RETRY;
    current.setPerTry(policy);
    const timeoutMs = d.httpRoute?.timeoutMs;
    if (timeoutMs !== undefined && timeoutMs > 0) {
      const vs = d.httpRoute?.vs ?? null;
      timer = k.at(t0 + timeoutMs, () => {
        timer = null;
        if (settled) return;
        current?.abort(504);
        deliver({ status: 504, latencyMs: k.now - t0, decision: d,
          dynamic: { control: 'VirtualService', name: vs, reason: `the route timeout of ${timeoutMs} ms expired before the upstream answered${retries > 0 ? ` (${retries} ${retries === 1 ? 'retry' : 'retries'} sent)` : ''}: 504 upstream request timeout`, flags: 'UT' } });
      });
    }
  }

  /**
   * One try of a request: client-side controls, the static verdict, the
   * server's rate limit and app. Reports when the answer reaches the client
   * sidecar (or the client, without one).
   */
  private attempt(spec: RequestSpec, t0: number, tried: string[], policy: HttpRetry | null, report: (r: AttemptResult) => void): Attempt {
    const k = this.k;
    const hop = this.opts.proxyOverheadMs;
    const client = spec.req.from.kind === 'workload' ? spec.req.from.workload : null;
    const clientProxy = client !== null && this.clientProxy(spec.req);
    const c = this.opts.controls;
    let over = false;
    let holdsSlot = false;
    let perTryTimer: number | null = null;
    let endpoint: Workload | null = null;
    let service: { fqdn: string; eps: readonly Workload[] } | null = null;
    const released = (): void => {
      if (!holdsSlot) return;
      holdsSlot = false;
      if (clientProxy && client && service && c?.releaseUpstream) c.releaseUpstream(client, service.fqdn, k.now);
    };
    const result = (r: Omit<AttemptResult, 'outcome'> & { status: number | null; extra?: Outcome['dynamic'] }, d: Decision, delay: number): void => {
      k.schedule(delay, () => {
        if (over) return;
        over = true;
        if (perTryTimer !== null) k.cancel(perTryTimer);
        const outcome: Outcome = r.extra ? { status: r.status, latencyMs: k.now - t0, decision: d, dynamic: r.extra } : { status: r.status, latencyMs: k.now - t0, decision: d };
        if (r.kind === 'local') outcome.local = true;
        report({ kind: r.kind, outcome });
      });
    };
    const handle: Attempt = {
      decision: undefined as unknown as Decision,
      abort: (status) => {
        if (over) return;
        over = true;
        if (perTryTimer !== null) k.cancel(perTryTimer);
        if (clientProxy && client && service && endpoint && c?.report) c.report(client, service.fqdn, endpoint, status, k.now);
        released();
      },
      setPerTry: (p) => { policy = p; armPerTry(); },
      serviceFqdn: null,
    };
    let upstreamStarted = false;
    const armPerTry = (): void => {
      const ms = policy?.perTryTimeoutMs;
      if (ms === undefined || !upstreamStarted || perTryTimer !== null || over) return;
      const d = handle.decision;
      perTryTimer = k.schedule(ms, () => {
        perTryTimer = null;
        if (over) return;
        handle.abort(504);
        report({ kind: 'timeout', outcome: { status: 504, latencyMs: k.now - t0, decision: d,
          dynamic: { control: 'VirtualService', name: d.httpRoute?.vs ?? null, reason: `the per-try timeout of ${ms} ms expired before the upstream answered: 504`, flags: 'UT' } } });
      });
    };

    // Which service and endpoints, so the client-side controls can act before the verdict.
    if (spec.req.to.kind === 'host') {
      const ns = client?.namespace ?? 'default';
      let byHost = this.services.get(ns);
      if (byHost === undefined) { byHost = new Map(); this.services.set(ns, byHost); }
      let found = byHost.get(spec.req.to.host);
      if (found === undefined) {
        const r = resolveHost(this.mesh, spec.req.to.host, ns);
        found = r.service ? { fqdn: r.service.fqdn, eps: endpointsOf(this.mesh, r.service) } : null;
        byHost.set(spec.req.to.host, found);
      }
      service = found;
      handle.serviceFqdn = found?.fqdn ?? null;
    }
    if (service && service.eps.length > 0) {
      const healthy = clientProxy && client && c?.healthy ? c.healthy(client, service.fqdn, service.eps, k.now) : service.eps;
      if (healthy.length === 0) {
        const d = this.decideNow(spec, null);
        handle.decision = d;
        result({ kind: 'local', status: 503, extra: { control: 'CircuitBreaker', name: service.fqdn, reason: 'every endpoint is ejected by outlier detection: no healthy upstream', flags: 'UH' } }, d, hop);
        return handle;
      }
      // previous-hosts predicate: a retry prefers an endpoint not tried yet
      const fresh = tried.length === 0 ? healthy : healthy.filter((e) => !tried.includes(e.id));
      const pool = fresh.length > 0 ? fresh : healthy;
      endpoint = pool.length === 1 ? (pool[0] as Workload) : (pool[Math.floor(spec.pick() * pool.length)] as Workload);
      tried.push(endpoint.id);
    }
    const d = this.decideNow(spec, endpoint);
    handle.decision = d;
    const staticCode = d.code;
    const proxiesOut = clientProxy ? 1 : 0;

    // §3 client step 3: the client sidecar's own HTTP filters (a local rate limit) answer before the request leaves the pod.
    const listener = d.clientListener;
    if (clientProxy && client && listener && c?.outboundRateLimit) {
      const limited = c.outboundRateLimit(client, listener, k.now);
      if (limited) {
        result({ kind: 'local', status: limited.status, extra: { control: 'RateLimit', name: limited.name, reason: `${client.id}'s own sidecar's token bucket for outbound ${listener.vhost} is empty: ${limited.status} local_rate_limited, before the request leaves the pod`, flags: 'RL' } }, d, 0);
        return handle;
      }
    }

    const stop = d.stoppedBy[0];
    const reachedServer = d.outcome === 'allowed' || (stop !== undefined && SERVER_STOPS.has(stop.control));
    if (!reachedServer || !endpoint || !d.destination) {
      // Refused before the server's HTTP filters: the answer comes back from where it stopped.
      result({ kind: 'static', status: staticCode }, d, hop * proxiesOut);
      return handle;
    }
    const server = this.mesh.workloads.find((w) => w.id === d.destination?.workload) ?? endpoint;
    // A port the server's iptables rules leave to the app (capture.ts) crosses no server sidecar.
    const serverSidecar = server.sidecar && d.inboundUncaptured !== true;
    const sp = serverSidecar ? 1 : 0;
    const proceed = (): void => {
      holdsSlot = clientProxy && client !== null && service !== null && c?.releaseUpstream !== undefined;
      if (over) { released(); return; }
      upstreamStarted = true;
      armPerTry();
      // Client sidecar → network → server sidecar.
      k.schedule(hop * (proxiesOut + sp), () => {
        if (over) { released(); return; }
        const limited = serverSidecar && c?.rateLimit ? c.rateLimit(server, k.now, d.destination?.targetPort, authzReached(d)) : null;
        if (limited) {
          released();
          result({ kind: 'upstream', status: limited.status, extra: { control: 'RateLimit', name: limited.name, reason: `the receiving sidecar's token bucket is empty: ${limited.status} local_rate_limited, ${STAGE_WORDS[limited.stage]}`, flags: 'RL' } }, d, hop);
          return;
        }
        if (d.outcome !== 'allowed') {
          released();
          result({ kind: 'upstream', status: staticCode }, d, hop);
          return;
        }
        const app = this.server(server);
        const start = (): void => {
          const svc = this.k.exponential(`svc/${server.id}`, app.facts.serviceTimeMs);
          k.schedule(svc, () => {
            app.release();
            this.live--;
            if (over) return; // reset by a timeout: the app's work goes unseen
            released();
            const status = staticCode ?? null;
            if (clientProxy && client && service && c?.report && status !== null) c.report(client, service.fqdn, server, status, k.now);
            result({ kind: 'upstream', status }, d, hop * sp);
          });
        };
        if (app.admit(start)) {
          const max = this.opts.maxLiveRequests ?? MAX_LIVE_REQUESTS;
          if (++this.live > max) throw new LiveRequestsExceeded(max, k.now);
        } else {
          released();
          if (clientProxy && client && service && c?.report) c.report(client, service.fqdn, server, 503, k.now);
          result({ kind: 'upstream', status: spec.req.protocol === 'tcp' ? null : 503, extra: { control: 'App', name: server.id, reason: `${server.id} is saturated: ${app.facts.concurrency} requests in service and ${app.facts.queue} waiting` } }, d, hop);
        }
      });
    };
    if (clientProxy && client && service && c?.admitUpstream) {
      const a = c.admitUpstream(client, service.fqdn, k.now, proceed);
      if (a === 'overflow') {
        result({ kind: 'local', status: spec.req.protocol === 'tcp' ? null : 503, extra: { control: 'CircuitBreaker', name: service.fqdn, reason: `${client.id}'s sidecar circuit breaker for ${service.fqdn} overflows (connection pool full)`, flags: 'UO' } }, d, 0);
      }
      return handle; // admitUpstream runs `proceed` now ('ok') or when a connection frees ('queued')
    }
    proceed();
    return handle;
  }
}
