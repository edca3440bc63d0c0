/**
 * The client sidecar's per-cluster circuit breaker and outlier detector
 * (istio-semantics §3 steps 4–5, §10, §15.6), as pure state machines: time
 * comes in as ms, nothing is scheduled here.
 *
 * ConnectionPoolState — Envoy's cluster circuit breakers (DestinationRule
 * trafficPolicy.connectionPool), simplified:
 * - One pool per upstream cluster; hosts and Envoy worker threads are not
 *   told apart (Envoy keeps a pool per host per worker, and lets each of them
 *   open one connection even at the limit — why the Circuit Breaking task's
 *   numbers are not deterministic; here they are).
 * - Connecting is instant: a request that can have a connection starts now.
 * - HTTP/1.1: a request needs a connection of its own. An idle kept-alive
 *   connection is reused; else a new one is opened while fewer than
 *   maxConnections exist; else the request waits in the pending queue while
 *   fewer than http1MaxPendingRequests wait; else it overflows: 503, flag UO
 *   (`upstream_rq_pending_overflow`). When a request finishes, its connection
 *   goes back idle — or is closed once it served maxRequestsPerConnection
 *   requests (1 = no keep-alive) — and the oldest pending request takes a
 *   connection (FIFO).
 * - http2MaxRequests caps active requests for HTTP/1.1 and HTTP/2 alike
 *   (Envoy's max_requests, checked first): beyond it → overflow.
 * - HTTP/2: requests multiplex on one connection and never wait: admitted
 *   while fewer than http2MaxRequests are active, else overflow.
 *   maxRequestsPerConnection only recycles the connection (instant here).
 * - maxRetries caps concurrent retries (`tryRetry` / `finishRetry`); a
 *   retry that does not fit is not made (`upstream_rq_retry_overflow`).
 * - Task: maxConnections 1, http1MaxPendingRequests 1, maxRequestsPerConnection 1,
 *   three concurrent requests → the first runs, the second waits, the third
 *   gets 503 UO.
 *
 * OutlierDetector — Envoy's outlier detection as Istio programs it
 * (DestinationRule trafficPolicy.outlierDetection; Envoy
 * outlier_detection_impl.cc):
 * - consecutive5xxErrors (default 5; 0 disables): that many 5xx in a row from
 *   a host (any 500–599; report connect failures and resets as 503) eject it
 *   at once. consecutiveGatewayErrors (0 = disabled): the same for 502/503/504
 *   in a row. A non-5xx answer resets both counts; a non-gateway 5xx resets the
 *   gateway count. Detection resets the triggering count whether or not the
 *   ejection happens.
 * - Ejection time = baseEjectionTime × the host's ejection count, capped at
 *   max(300 s, baseEjectionTime) (Envoy's max_ejection_time default; Istio
 *   does not set it). The count is Envoy's back-off: +1 per ejection, and −1
 *   for every sweep the host stays healthy for a whole interval after its
 *   un-ejection — so a host that recovers for long is forgiven.
 * - Un-ejection happens only on sweeps, every `interval` since the detector
 *   started (t = startMs, default 0): a host ejected at t for d is back at the
 *   first sweep tick ≥ t + d. `ejections[].until` is that tick.
 * - maxEjectionPercent (§15.6, decided): current Envoy (≥ 1.31) ejects only if
 *   100 × (ejected + 1) / hosts ≤ maxEjectionPercent — so with Istio's default
 *   10% and fewer than 10 hosts nothing is ejected. `alwaysEjectOneHost`
 *   (Envoy's always_eject_one_host; Istio never sets it) lets the first host go
 *   regardless. `maxEjectionRule: 'legacy'` is the older Envoy check
 *   100 × ejected / hosts < maxEjectionPercent, which always allows one host.
 * - minHealthPercent is Envoy's panic threshold: when fewer than that percent
 *   of hosts are healthy the load balancer uses every host, ejected or not
 *   (`available`). 0 (Istio's default) never panics: with every host ejected
 *   there is no healthy upstream → 503 UH.
 */
import type { ConnectionPool, OutlierDetection } from '../../model/traffic-policy.js';

export type PoolAdmission = 'ok' | 'pending' | 'overflow';

interface Connection {
  served: number;
  busy: boolean;
}

export class ConnectionPoolState {
  private readonly cp: ConnectionPool;
  private readonly http2: boolean;
  private readonly conns: Connection[] = [];
  private active_ = 0;
  private pending_ = 0;
  private retries_ = 0;
  /** HTTP/2: the one multiplexed connection, once opened */
  private h2Open = false;
  /** requests refused by the breaker (Envoy upstream_rq_pending_overflow) */
  overflows = 0;
  /** retries refused (upstream_rq_retry_overflow) */
  retryOverflows = 0;

  constructor(cp: ConnectionPool, http2: boolean) {
    this.cp = { ...cp };
    this.http2 = http2;
  }

  /** requests holding a connection (HTTP/1.1) or a stream (HTTP/2) */
  get active(): number { return this.active_; }
  /** requests waiting for a connection */
  get pending(): number { return this.pending_; }
  /** open connections */
  get connections(): number { return this.http2 ? (this.h2Open ? 1 : 0) : this.conns.length; }
  get activeRetries(): number { return this.retries_; }

  /** A new request reaches the breaker. `pending` ones start later, when `finish` says so. */
  tryStart(_nowMs: number): PoolAdmission {
    if (this.active_ >= this.cp.http2MaxRequests) return this.overflow();
    if (this.http2) {
      this.h2Open = true;
      this.active_++;
      return 'ok';
    }
    if (this.pending_ === 0 && this.assign()) return 'ok';
    if (this.pending_ < this.cp.http1MaxPendingRequests) {
      this.pending_++;
      return 'pending';
    }
    return this.overflow();
  }

  /**
   * An active request ended. Returns true when the oldest pending request got
   * the freed capacity and is now active (the caller starts it).
   */
  finish(_nowMs: number): boolean {
    if (this.active_ === 0) return false;
    this.active_--;
    if (this.http2) return false;
    const conn = this.conns.find((c) => c.busy);
    if (conn) {
      conn.busy = false;
      const limit = this.cp.maxRequestsPerConnection;
      if (limit > 0 && conn.served >= limit) this.conns.splice(this.conns.indexOf(conn), 1);
    }
    if (this.pending_ > 0 && this.active_ < this.cp.http2MaxRequests && this.assign()) {
      this.pending_--;
      return true;
    }
    return false;
  }

  /** A pending request gave up (timeout, client gone). */
  cancelPending(_nowMs: number): void {
    if (this.pending_ > 0) this.pending_--;
  }

  /** A retry is about to be sent: false when maxRetries concurrent retries are already running. */
  tryRetry(): boolean {
    if (this.retries_ >= this.cp.maxRetries) {
      this.retryOverflows++;
      return false;
    }
    this.retries_++;
    return true;
  }

  finishRetry(): void {
    if (this.retries_ > 0) this.retries_--;
  }

  /** HTTP/1.1: put one request on an idle or new connection. */
  private assign(): boolean {
    let conn = this.conns.find((c) => !c.busy);
    if (!conn) {
      if (this.conns.length >= this.cp.maxConnections) return false;
      conn = { served: 0, busy: false };
      this.conns.push(conn);
    }
    conn.busy = true;
    conn.served++;
    this.active_++;
    return true;
  }

  private overflow(): 'overflow' {
    this.overflows++;
    return 'overflow';
  }
}

export interface Ejection {
  host: string;
  /** when it was ejected */
  at: number;
  /** the sweep tick that brings it back */
  until: number;
  /** base × back-off (capped), before rounding up to the sweep */
  durationMs: number;
  reason: '5xx' | 'gateway';
}

export interface OutlierOptions {
  /** §15.6: `envoy` (current: (ejected+1)/hosts ≤ max) or `legacy` (ejected/hosts < max); default `envoy` */
  maxEjectionRule?: 'envoy' | 'legacy';
  /** Envoy's always_eject_one_host: the first ejection ignores maxEjectionPercent (Istio leaves it off) */
  alwaysEjectOneHost?: boolean;
  /** Envoy's max_ejection_time; default max(300 s, baseEjectionTime) */
  maxEjectionTimeMs?: number;
  /** when the detector (and its sweep timer) started; default 0 */
  startMs?: number;
}

interface HostState {
  consecutive5xx: number;
  consecutiveGateway: number;
  /** back-off right after the last ejection */
  backoff: number;
  last: Ejection | null;
}

const DEFAULT_MAX_EJECTION_TIME_MS = 300_000;

export class OutlierDetector {
  private readonly od: OutlierDetection;
  private readonly hosts: readonly string[];
  private readonly state = new Map<string, HostState>();
  private readonly rule: 'envoy' | 'legacy';
  private readonly alwaysEjectOne: boolean;
  private readonly maxEjectionTimeMs: number;
  private readonly startMs: number;
  /** every ejection, in order */
  readonly ejections: Ejection[] = [];
  /** ejections refused by maxEjectionPercent (Envoy ejections_overflow) */
  overflows = 0;

  constructor(od: OutlierDetection, hosts: string[], opts: OutlierOptions = {}) {
    this.od = { ...od };
    this.hosts = [...hosts];
    this.rule = opts.maxEjectionRule ?? 'envoy';
    this.alwaysEjectOne = opts.alwaysEjectOneHost ?? false;
    this.maxEjectionTimeMs = opts.maxEjectionTimeMs ?? Math.max(DEFAULT_MAX_EJECTION_TIME_MS, od.baseEjectionTimeMs);
    this.startMs = opts.startMs ?? 0;
    for (const h of hosts) this.state.set(h, { consecutive5xx: 0, consecutiveGateway: 0, backoff: 0, last: null });
  }

  /** The answer a host gave (use 503 for connect failures and resets, as Envoy does without split local-origin errors). */
  report(host: string, status: number, nowMs: number): void {
    const s = this.state.get(host);
    if (!s || this.isEjected(s, nowMs)) return;
    if (status >= 500 && status <= 599) {
      let detected: Ejection['reason'] | null = null;
      if (status === 502 || status === 503 || status === 504) {
        s.consecutiveGateway++;
        if (this.od.consecutiveGatewayErrors > 0 && s.consecutiveGateway === this.od.consecutiveGatewayErrors) {
          s.consecutiveGateway = 0;
          detected = 'gateway';
        }
      } else s.consecutiveGateway = 0;
      s.consecutive5xx++;
      if (this.od.consecutive5xxErrors > 0 && s.consecutive5xx === this.od.consecutive5xxErrors) {
        s.consecutive5xx = 0;
        detected ??= '5xx';
      }
      if (detected) this.eject(host, s, nowMs, detected);
    } else {
      s.consecutive5xx = 0;
      s.consecutiveGateway = 0;
    }
  }

  ejected(host: string, nowMs: number): boolean {
    const s = this.state.get(host);
    return s ? this.isEjected(s, nowMs) : false;
  }

  /** Hosts not ejected at nowMs. */
  healthy(nowMs: number): string[] {
    return this.hosts.filter((h) => !this.ejected(h, nowMs));
  }

  /** Below minHealthPercent healthy hosts, Envoy's load balancer panics and uses every host. */
  panic(nowMs: number): boolean {
    if (this.od.minHealthPercent <= 0 || this.hosts.length === 0) return false;
    return (100 * this.healthy(nowMs).length) / this.hosts.length < this.od.minHealthPercent;
  }

  /** The hosts the load balancer may pick: the healthy ones, or all of them in panic. Empty → 503 UH. */
  available(nowMs: number): string[] {
    return this.panic(nowMs) ? [...this.hosts] : this.healthy(nowMs);
  }

  /** The host's ejection back-off (times ejected, decayed while healthy) at nowMs. */
  backoff(host: string, nowMs: number): number {
    const s = this.state.get(host);
    return s ? this.currentBackoff(s, nowMs) : 0;
  }

  private isEjected(s: HostState, nowMs: number): boolean {
    return s.last !== null && nowMs >= s.last.at && nowMs < s.last.until;
  }

  private currentBackoff(s: HostState, nowMs: number): number {
    if (!s.last || nowMs < s.last.until) return s.backoff;
    return Math.max(0, s.backoff - Math.floor((nowMs - s.last.until) / this.od.intervalMs));
  }

  private eject(host: string, s: HostState, nowMs: number, reason: Ejection['reason']): void {
    const active = this.hosts.filter((h) => this.ejected(h, nowMs)).length;
    const max = Math.min(100, this.od.maxEjectionPercent);
    const allowed = this.rule === 'legacy'
      ? (100 * active) / this.hosts.length < max
      : (100 * (active + 1)) / this.hosts.length <= max || (this.alwaysEjectOne && active === 0);
    if (!allowed) {
      this.overflows++;
      return;
    }
    const base = this.od.baseEjectionTimeMs;
    let backoff = this.currentBackoff(s, nowMs);
    if (backoff * base < this.maxEjectionTimeMs + base) backoff++;
    const durationMs = Math.min(base * backoff, this.maxEjectionTimeMs);
    const interval = this.od.intervalMs;
    const until = this.startMs + Math.ceil((nowMs + durationMs - this.startMs) / interval) * interval;
    const e: Ejection = { host, at: nowMs, until, durationMs, reason };
    s.backoff = backoff;
    s.last = e;
    s.consecutive5xx = 0;
    s.consecutiveGateway = 0;
    this.ejections.push(e);
  }
}
