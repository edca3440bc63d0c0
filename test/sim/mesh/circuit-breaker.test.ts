/**
 * istio-semantics §10 (and §15.6): the client sidecar's circuit breaker
 * (DestinationRule connectionPool → 503 UO) and outlier detection (ejected
 * hosts skipped; none left → 503 UH).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTION_POOL, DEFAULT_OUTLIER_DETECTION, type ConnectionPool, type OutlierDetection } from '../../../src/model/traffic-policy.js';
import { ConnectionPoolState, OutlierDetector } from '../../../src/sim/mesh/circuit-breaker.js';

const pool = (over: Partial<ConnectionPool>): ConnectionPool => ({ ...DEFAULT_CONNECTION_POOL, ...over });
const od = (over: Partial<OutlierDetection>): OutlierDetection => ({ ...DEFAULT_OUTLIER_DETECTION, ...over });
const hosts = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}`);

describe('§10 connection pool circuit breaker', () => {
  it('§10 maxConnections 1, http1MaxPendingRequests 1: a third concurrent request overflows (503 UO)', () => {
    const cb = new ConnectionPoolState(pool({ maxConnections: 1, http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 }), false);
    expect([cb.tryStart(0), cb.tryStart(0), cb.tryStart(0)]).toEqual(['ok', 'pending', 'overflow']);
    expect(cb.overflows).toBe(1);
    expect(cb.finish(10)).toBe(true); // the waiting request gets the (new) connection
    expect([cb.active, cb.pending, cb.connections]).toEqual([1, 0, 1]);
    expect(cb.tryStart(11)).toBe('pending');
  });

  it('§10 Circuit Breaking task: fortio -c 3 -n 30 against maxConnections 1 / pending 1 → some 503 UO, the rest 200', () => {
    const cb = new ConnectionPoolState(pool({ maxConnections: 1, http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 }), false);
    // three clients, each sends its next request as soon as the previous one is answered; service time 10 ms
    const serviceMs = 10;
    let sent = 0;
    const codes: number[] = [];
    const events: { at: number; kind: 'send' | 'done'; client: number }[] = [0, 1, 2].map((client) => ({ at: 0, kind: 'send', client }));
    const waiting: number[] = [];
    while (events.length > 0) {
      events.sort((a, b) => a.at - b.at || a.client - b.client);
      const e = events.shift() as (typeof events)[number];
      if (e.kind === 'send') {
        if (sent >= 30) continue;
        sent++;
        const r = cb.tryStart(e.at);
        if (r === 'ok') events.push({ at: e.at + serviceMs, kind: 'done', client: e.client });
        else if (r === 'pending') waiting.push(e.client);
        else { codes.push(503); events.push({ at: e.at + 1, kind: 'send', client: e.client }); }
      } else {
        codes.push(200);
        events.push({ at: e.at, kind: 'send', client: e.client });
        if (cb.finish(e.at)) events.push({ at: e.at + serviceMs, kind: 'done', client: waiting.shift() as number });
      }
    }
    expect(codes.length).toBe(30);
    expect(codes.filter((c) => c === 503).length).toBeGreaterThan(0);
    expect(codes.filter((c) => c === 200).length).toBeGreaterThan(0);
  });

  it('§10 keep-alive: sequential requests reuse one connection', () => {
    const cb = new ConnectionPoolState(pool({ maxConnections: 1 }), false);
    for (let t = 0; t < 5; t++) {
      expect(cb.tryStart(t)).toBe('ok');
      cb.finish(t);
    }
    expect(cb.connections).toBe(1);
  });

  it('§10 maxRequestsPerConnection 1 disables keep-alive: each request closes its connection', () => {
    const cb = new ConnectionPoolState(pool({ maxConnections: 1, maxRequestsPerConnection: 1 }), false);
    expect(cb.tryStart(0)).toBe('ok');
    cb.finish(1);
    expect(cb.connections).toBe(0);
    const two = new ConnectionPoolState(pool({ maxRequestsPerConnection: 2 }), false);
    two.tryStart(0); two.finish(0); expect(two.connections).toBe(1);
    two.tryStart(0); two.finish(0); expect(two.connections).toBe(0);
  });

  it('§10 HTTP/1.1: each concurrent request needs its own connection', () => {
    const cb = new ConnectionPoolState(pool({ maxConnections: 2, http1MaxPendingRequests: 3 }), false);
    expect([0, 0, 0, 0, 0, 0].map((t) => cb.tryStart(t))).toEqual(['ok', 'ok', 'pending', 'pending', 'pending', 'overflow']);
    expect([cb.active, cb.pending, cb.connections]).toEqual([2, 3, 2]);
  });

  it('§10 http2MaxRequests caps active requests, HTTP/1.1 too', () => {
    const h1 = new ConnectionPoolState(pool({ http2MaxRequests: 2 }), false);
    expect([h1.tryStart(0), h1.tryStart(0), h1.tryStart(0)]).toEqual(['ok', 'ok', 'overflow']);
    const h2 = new ConnectionPoolState(pool({ http2MaxRequests: 2, maxConnections: 1 }), true);
    expect([h2.tryStart(0), h2.tryStart(0), h2.tryStart(0)]).toEqual(['ok', 'ok', 'overflow']);
    expect(h2.connections).toBe(1);
    h2.finish(1);
    expect(h2.tryStart(1)).toBe('ok');
  });

  it('§10 HTTP/2 multiplexes: maxConnections 1 queues nothing', () => {
    const h2 = new ConnectionPoolState(pool({ maxConnections: 1, http1MaxPendingRequests: 1 }), true);
    for (let i = 0; i < 100; i++) expect(h2.tryStart(0)).toBe('ok');
    expect(h2.pending).toBe(0);
  });

  it('§10 Istio defaults (2^32−1) never trip', () => {
    const cb = new ConnectionPoolState(DEFAULT_CONNECTION_POOL, false);
    for (let i = 0; i < 1000; i++) expect(cb.tryStart(0)).toBe('ok');
  });

  it('§10 maxRetries caps concurrent retries', () => {
    const cb = new ConnectionPoolState(pool({ maxRetries: 1 }), false);
    expect(cb.tryRetry()).toBe(true);
    expect(cb.tryRetry()).toBe(false);
    cb.finishRetry();
    expect(cb.tryRetry()).toBe(true);
    expect(cb.retryOverflows).toBe(1);
  });

  it('§10 a pending request that gives up frees its place in the queue', () => {
    const cb = new ConnectionPoolState(pool({ maxConnections: 1, http1MaxPendingRequests: 1 }), false);
    cb.tryStart(0);
    expect(cb.tryStart(0)).toBe('pending');
    cb.cancelPending(5);
    expect(cb.tryStart(6)).toBe('pending');
    expect(cb.finish(7)).toBe(true);
    expect(cb.finish(8)).toBe(false);
  });
});

describe('§10 outlier detection', () => {
  it('§10 consecutive 5xx eject the host at once', () => {
    const d = new OutlierDetector(od({ maxEjectionPercent: 100 }), hosts(2));
    for (let i = 0; i < 4; i++) d.report('10.0.0.1', 500, 100);
    expect(d.ejected('10.0.0.1', 100)).toBe(false);
    d.report('10.0.0.1', 500, 100);
    expect(d.ejected('10.0.0.1', 100)).toBe(true);
    expect(d.healthy(100)).toEqual(['10.0.0.2']);
  });

  it('§10 consecutive5xxErrors 0 disables outlier detection', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 0, maxEjectionPercent: 100 }), hosts(1));
    for (let i = 0; i < 100; i++) d.report('10.0.0.1', 503, i);
    expect(d.ejections).toEqual([]);
    expect(d.healthy(100)).toEqual(['10.0.0.1']);
  });

  it('§10 a success in between resets the count', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 2, maxEjectionPercent: 100 }), hosts(1));
    d.report('10.0.0.1', 500, 0);
    d.report('10.0.0.1', 200, 1);
    d.report('10.0.0.1', 500, 2);
    expect(d.ejected('10.0.0.1', 2)).toBe(false);
    d.report('10.0.0.1', 500, 3);
    expect(d.ejected('10.0.0.1', 3)).toBe(true);
  });

  it('§10 consecutiveGatewayErrors counts 502/503/504 only; another 5xx breaks the run', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, maxEjectionPercent: 100 }), hosts(1));
    d.report('10.0.0.1', 503, 0);
    d.report('10.0.0.1', 500, 1);
    d.report('10.0.0.1', 502, 2);
    expect(d.ejected('10.0.0.1', 2)).toBe(false);
    d.report('10.0.0.1', 504, 3);
    expect(d.ejections.map((e) => e.reason)).toEqual(['gateway']);
  });

  it('§10 un-ejection happens on the interval sweep after the ejection time has passed', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 1, intervalMs: 1000, baseEjectionTimeMs: 3000, maxEjectionPercent: 100 }), hosts(1));
    d.report('10.0.0.1', 500, 1500);
    expect(d.ejections).toEqual([{ host: '10.0.0.1', at: 1500, until: 5000, durationMs: 3000, reason: '5xx' }]);
    expect(d.ejected('10.0.0.1', 4999)).toBe(true);
    expect(d.ejected('10.0.0.1', 5000)).toBe(false);
  });

  it('§10 ejection time = baseEjectionTime × times ejected', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 1, intervalMs: 1000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 100 }), hosts(1));
    d.report('10.0.0.1', 503, 0);
    d.report('10.0.0.1', 503, 30_000); // back at the 30 s sweep, fails again at once
    d.report('10.0.0.1', 503, 90_000);
    expect(d.ejections.map((e) => [e.at, e.durationMs, e.until])).toEqual([[0, 30_000, 30_000], [30_000, 60_000, 90_000], [90_000, 90_000, 180_000]]);
  });

  it('§10 the ejection count decays by one per interval the host stays healthy', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 1, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 100 }), hosts(1));
    d.report('10.0.0.1', 503, 0);
    d.report('10.0.0.1', 503, 30_000);
    expect(d.backoff('10.0.0.1', 90_000)).toBe(2);
    expect(d.backoff('10.0.0.1', 99_999)).toBe(2);
    expect(d.backoff('10.0.0.1', 100_000)).toBe(1);
    expect(d.backoff('10.0.0.1', 110_000)).toBe(0);
    d.report('10.0.0.1', 503, 120_000);
    expect(d.ejections.at(-1)?.durationMs).toBe(30_000);
  });

  it('§10 the ejection time is capped at 300 s (Envoy max_ejection_time)', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 1, intervalMs: 1000, baseEjectionTimeMs: 120_000, maxEjectionPercent: 100 }), hosts(1));
    let t = 0;
    for (let i = 0; i < 4; i++) {
      d.report('10.0.0.1', 503, t);
      t = d.ejections.at(-1)?.until as number;
    }
    expect(d.ejections.map((e) => e.durationMs)).toEqual([120_000, 240_000, 300_000, 300_000]);
  });

  it('§10 maxEjectionPercent caps ejections', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 1, maxEjectionPercent: 20 }), hosts(10));
    for (const h of hosts(10)) d.report(h, 500, 0);
    expect(d.ejections.map((e) => e.host)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(d.overflows).toBe(8);
    expect(d.healthy(0).length).toBe(8);
  });

  it('§15.6 with Istio\'s default 10% and fewer than 10 hosts, current Envoy ejects nothing', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 1 }), hosts(3));
    d.report('10.0.0.1', 500, 0);
    expect(d.ejections).toEqual([]);
    expect(d.overflows).toBe(1);
  });

  it('§15.6 older Envoy (legacy rule) and always_eject_one_host let one host go', () => {
    const legacy = new OutlierDetector(od({ consecutive5xxErrors: 1 }), hosts(3), { maxEjectionRule: 'legacy' });
    const always = new OutlierDetector(od({ consecutive5xxErrors: 1 }), hosts(3), { alwaysEjectOneHost: true });
    for (const d of [legacy, always]) {
      for (const h of hosts(3)) d.report(h, 500, 0);
      expect(d.ejections.map((e) => e.host)).toEqual(['10.0.0.1']);
    }
  });

  it('§10 every host ejected and minHealthPercent 0 → no healthy upstream (503 UH)', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 1, maxEjectionPercent: 100 }), hosts(2));
    d.report('10.0.0.1', 503, 0);
    d.report('10.0.0.2', 503, 0);
    expect(d.available(1)).toEqual([]);
  });

  it('§10 minHealthPercent: below it the load balancer panics and uses every host', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 1, maxEjectionPercent: 100, minHealthPercent: 60 }), hosts(2));
    d.report('10.0.0.1', 503, 0);
    expect(d.panic(1)).toBe(true);
    expect(d.available(1)).toEqual(hosts(2));
    expect(d.healthy(1)).toEqual(['10.0.0.2']);
  });

  it('§10 answers from an ejected host do not count; after un-ejection the count starts over', () => {
    const d = new OutlierDetector(od({ consecutive5xxErrors: 2, intervalMs: 1000, baseEjectionTimeMs: 1000, maxEjectionPercent: 100 }), hosts(1));
    d.report('10.0.0.1', 500, 0);
    d.report('10.0.0.1', 500, 0);
    d.report('10.0.0.1', 500, 500);
    d.report('10.0.0.1', 500, 1000);
    expect(d.ejections.length).toBe(1);
    d.report('10.0.0.1', 500, 1001);
    expect(d.ejections.length).toBe(2);
  });
});
