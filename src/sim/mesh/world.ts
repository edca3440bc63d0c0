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
 *  app: bounded concurrency and queue (503 when full), exponential service time.
 *  Certificates come from the CA lifecycle: an expired one fails mTLS (§1).
 *
 * Each proxy traversal adds a fixed overhead (default 0.625 ms each way, so
 * ~2.5 ms per request across the two proxies, as the seeds report).
 */
import type { Kernel } from '../kernel/index.js';
import type { Mesh, Workload } from '../../model/types.js';
import { decide, endpointsOf, resolveHost, type Decision, type DecideOptions, type MeshRequest } from '../../policy/decide.js';
import { AppServer, DEFAULT_FACTS, type ServerFacts } from './server.js';

export interface WorldOptions {
  facts: (w: Workload) => ServerFacts;
  /** ms one proxy adds each way */
  proxyOverheadMs: number;
  base: Omit<DecideOptions, 'pickEndpoint' | 'certProblem' | 'jwt'>;
  certProblem?: (workloadId: string) => string | null;
  /** dynamic controls; absent ones are not modeled for this run */
  controls?: DynamicControls;
}

/** The time-dependent controls, supplied by the caller (rate limits, circuit breakers, outlier detection). */
export interface DynamicControls {
  /**
   * client-side admission to the upstream cluster: calls `start` now ('ok') or
   * when a connection frees ('queued'); `releaseUpstream` must follow when the request ends
   */
  admitUpstream?(client: Workload, serviceFqdn: string, now: number, start: () => void): 'ok' | 'queued' | 'overflow';
  releaseUpstream?(client: Workload, serviceFqdn: string, now: number): void;
  /** healthy endpoints (outlier detection) */
  healthy?(client: Workload, serviceFqdn: string, endpoints: readonly Workload[], now: number): readonly Workload[];
  report?(client: Workload, serviceFqdn: string, endpoint: Workload, status: number, now: number): void;
  /** the local rate limit of the receiving sidecar: a refusal, or null */
  rateLimit?(server: Workload, now: number): { status: number; headers: Record<string, string>; name: string } | null;
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
  dynamic?: { control: 'RateLimit' | 'CircuitBreaker' | 'Routing' | 'App'; name: string | null; reason: string; flags?: string };
}

const SERVER_STOPS = new Set(['AuthorizationPolicy', 'RequestAuthentication', 'HttpValidation']);

export class World {
  private readonly servers = new Map<string, AppServer>();
  private readonly cache = new Map<string, Decision>();
  /** Service and endpoints by (client namespace, host): names do not change during a run. */
  private readonly services = new Map<string, { fqdn: string; eps: Workload[] } | null>();
  decisions = 0;

  constructor(readonly k: Kernel, readonly mesh: Mesh, readonly opts: WorldOptions) {}

  server(w: Workload): AppServer {
    let s = this.servers.get(w.id);
    if (!s) { s = new AppServer(this.opts.facts(w) ?? DEFAULT_FACTS); this.servers.set(w.id, s); }
    return s;
  }

  /** The static verdict at the current simulated time. */
  decideNow(spec: RequestSpec, endpoint: Workload | null): Decision {
    const certProblem = this.opts.certProblem;
    const client = spec.req.from.kind === 'workload' ? spec.req.from.workload : null;
    let key: string | undefined;
    if (spec.cacheKey !== undefined) {
      const c = client && certProblem ? (certProblem(client.id) ? 'x' : 'v') : '-';
      const e = endpoint && certProblem ? (certProblem(endpoint.id) ? 'x' : 'v') : '-';
      key = `${spec.cacheKey}|${endpoint?.id ?? ''}|${c}${e}`;
      const hit = this.cache.get(key);
      if (hit) return hit;
    }
    const o: DecideOptions = { ...this.opts.base, pickEndpoint: (eps) => endpoint ?? (eps[Math.floor(spec.pick() * eps.length)] as Workload) };
    if (spec.jwt) o.jwt = spec.jwt;
    if (certProblem) o.certProblem = certProblem;
    this.decisions++;
    const d = decide(this.mesh, spec.req, o);
    if (key !== undefined) this.cache.set(key, d);
    return d;
  }

  /** Sends one request now; `done` is called at the simulated time the client has its answer. */
  send(spec: RequestSpec, done: (o: Outcome) => void): void {
    const k = this.k;
    const t0 = k.now;
    const hop = this.opts.proxyOverheadMs;
    const client = spec.req.from.kind === 'workload' ? spec.req.from.workload : null;
    const clientProxy = client !== null && (client.sidecar || client.gateway) && spec.req.tls !== 'plaintext';
    const c = this.opts.controls;

    // Which service and endpoints, so the client-side controls can act before the verdict.
    let service: { fqdn: string; eps: Workload[] } | null = null;
    if (spec.req.to.kind === 'host') {
      const key = `${client?.namespace ?? 'default'}|${spec.req.to.host}`;
      let found = this.services.get(key);
      if (found === undefined) {
        const r = resolveHost(this.mesh, spec.req.to.host, client?.namespace ?? 'default');
        found = r.service ? { fqdn: r.service.fqdn, eps: endpointsOf(this.mesh, r.service) } : null;
        this.services.set(key, found);
      }
      service = found;
    }
    let endpoint: Workload | null = null;
    if (service && service.eps.length > 0) {
      const healthy = clientProxy && client && c?.healthy ? c.healthy(client, service.fqdn, service.eps, t0) : service.eps;
      if (healthy.length === 0) {
        const d = this.decideNow(spec, null);
        k.schedule(hop * 2, () => done({ status: 503, latencyMs: k.now - t0, decision: d,
          dynamic: { control: 'CircuitBreaker', name: service?.fqdn ?? null, reason: 'every endpoint is ejected by outlier detection: no healthy upstream', flags: 'UH' } }));
        return;
      }
      endpoint = healthy.length === 1 ? (healthy[0] as Workload) : (healthy[Math.floor(spec.pick() * healthy.length)] as Workload);
    }
    const d = this.decideNow(spec, endpoint);
    const staticCode = d.code;
    const proxiesOut = (clientProxy ? 1 : 0);
    const finish = (status: number | null, extra?: Outcome['dynamic'], back = hop * proxiesOut): void => {
      k.schedule(back, () => done(extra ? { status, latencyMs: k.now - t0, decision: d, dynamic: extra } : { status, latencyMs: k.now - t0, decision: d }));
    };

    const stop = d.stoppedBy[0];
    const reachedServer = d.outcome === 'allowed' || (stop !== undefined && SERVER_STOPS.has(stop.control));
    if (!reachedServer || !endpoint || !d.destination) {
      // Refused before the server's HTTP filters: the answer comes back from where it stopped.
      finish(staticCode, undefined, hop * proxiesOut * 2);
      return;
    }
    const server = this.mesh.workloads.find((w) => w.id === d.destination?.workload) ?? endpoint;
    const proceed = (): void => {
      const released = (): void => { if (clientProxy && client && service && c?.releaseUpstream) c.releaseUpstream(client, service.fqdn, k.now); };
      // Client sidecar → network → server sidecar.
      k.schedule(hop * (proxiesOut + (server.sidecar ? 1 : 0)), () => {
        const limited = server.sidecar && c?.rateLimit ? c.rateLimit(server, k.now) : null;
        if (limited) {
          released();
          finish(limited.status, { control: 'RateLimit', name: limited.name, reason: `the receiving sidecar's token bucket is empty: ${limited.status} local_rate_limited, before JWT and RBAC run`, flags: 'RL' }, hop * (proxiesOut + 1));
          return;
        }
        if (d.outcome !== 'allowed') {
          released();
          finish(staticCode, undefined, hop * (proxiesOut + 1));
          return;
        }
        const app = this.server(server);
        const start = (): void => {
          const svc = this.k.exponential(`svc/${server.id}`, app.facts.serviceTimeMs);
          k.schedule(svc, () => {
            app.release();
            released();
            const status = staticCode ?? null;
            if (clientProxy && client && service && c?.report && status !== null) c.report(client, service.fqdn, server, status, k.now);
            finish(status, undefined, hop * (proxiesOut + (server.sidecar ? 1 : 0)));
          });
        };
        if (!app.admit(start)) {
          released();
          if (clientProxy && client && service && c?.report) c.report(client, service.fqdn, server, 503, k.now);
          finish(spec.req.protocol === 'tcp' ? null : 503, { control: 'App', name: server.id, reason: `${server.id} is saturated: ${app.facts.concurrency} requests in service and ${app.facts.queue} waiting` }, hop * (proxiesOut + 1));
        }
      });
    };
    if (clientProxy && client && service && c?.admitUpstream) {
      const a = c.admitUpstream(client, service.fqdn, t0, proceed);
      if (a === 'overflow') {
        finish(spec.req.protocol === 'tcp' ? null : 503, { control: 'CircuitBreaker', name: service.fqdn, reason: `${client.id}'s sidecar circuit breaker for ${service.fqdn} overflows (connection pool full)`, flags: 'UO' }, hop);
        return;
      }
      return; // admitUpstream runs `proceed` now ('ok') or when a connection frees ('queued')
    }
    proceed();
  }
}
