/**
 * Retries and timeouts of the client sidecar in simulated time
 * (istio-semantics §3 step 7; Istio's route/retry DefaultPolicy and
 * ConvertPolicy): what is retried, how often, on which endpoint, and what the
 * client sees when retries run out or a route timeout expires.
 */
import { describe, expect, it } from 'vitest';
import type { Mesh, Workload } from '../../../src/model/types.js';
import { Kernel } from '../../../src/sim/kernel/index.js';
import type { ServerFacts } from '../../../src/sim/mesh/server.js';
import { MeshControls } from '../../../src/sim/mesh/controls.js';
import { World, type DynamicControls, type Outcome, type RequestSpec } from '../../../src/sim/mesh/world.js';
import { app, meshFrom, ns, wl } from '../../helpers.js';

const HOP = 0.625;

/** a/client → api.a:80, served by a/api (first endpoint) and a/api-b (second). */
function mesh(vs = ''): Mesh {
  return meshFrom(ns('a', true), app('a', 'client'), app('a', 'api'), app('a', 'api-b', { labels: { app: 'api' } }), ...(vs ? [vs] : []));
}

function virtualService(http: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: a }
spec:
  hosts: [api]
  http:
    - route: [{ destination: { host: api } }]
${http}`;
}

interface Run {
  outcome: Outcome;
  /** endpoints that answered or were reset, in order (the outlier detector's reports) */
  reports: { endpoint: string; status: number }[];
}

/** Sends one request from a/client at t=0 and runs the kernel until it is answered. */
function sendOne(m: Mesh, facts: Record<string, Partial<ServerFacts>>, opts: { controls?: Partial<DynamicControls>; protocol?: 'http' | 'tcp' } = {}): Run {
  const k = new Kernel({ seed: 7 });
  const reports: Run['reports'] = [];
  const controls: DynamicControls = {
    report: (_c: Workload, _fqdn: string, endpoint: Workload, status: number) => { reports.push({ endpoint: endpoint.id, status }); },
    ...opts.controls,
  };
  const world = new World(k, m, {
    facts: (w) => ({ serviceTimeMs: 1, concurrency: 64, queue: 1000, ...facts[w.id] }),
    proxyOverheadMs: HOP,
    base: {},
    controls,
  });
  const spec: RequestSpec = {
    req: { from: { kind: 'workload', workload: wl(m, 'a/client') }, to: { kind: 'host', host: 'api', port: 80 }, protocol: opts.protocol ?? 'http', method: 'GET', path: '/', headers: {}, tls: 'auto' },
    pick: () => 0,
  };
  let outcome: Outcome | null = null;
  world.send(spec, (o) => { outcome = o; });
  k.run(600_000);
  if (outcome === null) throw new Error('no answer');
  return { outcome, reports };
}

const SATURATED: Partial<ServerFacts> = { concurrency: 0, queue: 0 };

describe('§3 step 7 the default retry policy (2 retries on connect-failure, refused-stream, unavailable, cancelled, 503)', () => {
  it('§3 a saturated app\'s 503 is retried twice, on an endpoint not tried yet first; then the client sees 503 with URX', () => {
    const { outcome, reports } = sendOne(mesh(), { 'a/api': SATURATED, 'a/api-b': SATURATED });
    expect(outcome.status).toBe(503);
    expect(outcome.retries).toBe(2);
    expect(outcome.dynamic).toMatchObject({ control: 'App', flags: 'URX' });
    expect(outcome.dynamic?.reason).toContain('2 retries exhausted');
    expect(reports.map((r) => r.endpoint)).toEqual(['a/api', 'a/api-b', 'a/api']);
  });

  it('§3 a retry that finds capacity succeeds: the client sees 200 after one retry', () => {
    const { outcome, reports } = sendOne(mesh(), { 'a/api': SATURATED });
    expect(outcome.status).toBe(200);
    expect(outcome.retries).toBe(1);
    expect(outcome.dynamic).toBeUndefined();
    expect(reports.map((r) => `${r.endpoint} ${r.status}`)).toEqual(['a/api 503', 'a/api-b 200']);
  });

  it('§3 a retry waits Envoy\'s jittered back-off: under 25 ms for the first, under 75 ms for the second', () => {
    const { outcome } = sendOne(mesh(), { 'a/api': SATURATED, 'a/api-b': SATURATED });
    // three tries of 4 hops each, plus at most 25 + 75 ms of back-off
    expect(outcome.latencyMs).toBeGreaterThanOrEqual(3 * 4 * HOP);
    expect(outcome.latencyMs).toBeLessThan(3 * 4 * HOP + 25 + 75);
  });

  it('§3 the client sidecar\'s own answers are never retried: circuit-breaker overflow stays 503 UO', () => {
    const { outcome } = sendOne(mesh(), {}, { controls: { admitUpstream: () => 'overflow' } });
    expect(outcome.status).toBe(503);
    expect(outcome.retries).toBeUndefined();
    expect(outcome.dynamic).toMatchObject({ control: 'CircuitBreaker', flags: 'UO' });
  });

  it('§3 a status outside the policy is not retried: a rate limit\'s 429 comes back at once', () => {
    const { outcome } = sendOne(mesh(), {}, { controls: { rateLimit: () => ({ status: 429, headers: {}, name: 'a/rl', stage: 0 }) } });
    expect(outcome.status).toBe(429);
    expect(outcome.retries).toBeUndefined();
  });

  it('§3 TCP is not retried by the HTTP router', () => {
    const { outcome } = sendOne(mesh(), { 'a/api': SATURATED, 'a/api-b': SATURATED }, { protocol: 'tcp' });
    expect(outcome.retries).toBeUndefined();
  });
});

describe('§3 step 7 VirtualService retries and timeout', () => {
  it('§3 retries.attempts: 0 turns retries off', () => {
    const { outcome } = sendOne(mesh(virtualService('      retries: { attempts: 0 }')), { 'a/api': SATURATED, 'a/api-b': SATURATED });
    expect(outcome.status).toBe(503);
    expect(outcome.retries).toBeUndefined();
    expect(outcome.dynamic?.flags).toBeUndefined();
  });

  it('§3 a retryOn without 503 (connect-failure only) does not retry a 503', () => {
    const { outcome } = sendOne(mesh(virtualService('      retries: { attempts: 3, retryOn: connect-failure }')), { 'a/api': SATURATED, 'a/api-b': SATURATED });
    expect(outcome.retries).toBeUndefined();
  });

  it('§3 retries.attempts sets the number of retries; retryOn 5xx retries any 5xx', () => {
    const { outcome } = sendOne(mesh(virtualService('      retries: { attempts: 4, retryOn: 5xx }')), { 'a/api': SATURATED, 'a/api-b': SATURATED });
    expect(outcome.retries).toBe(4);
    expect(outcome.dynamic?.flags).toBe('URX');
  });

  it('§3 a route timeout answers 504 UT at the timeout, attributed to the VirtualService, and frees the connection slot', () => {
    let released = 0;
    const { outcome, reports } = sendOne(mesh(virtualService('      timeout: 100ms')), { 'a/api': { serviceTimeMs: 1e7 } },
      { controls: { admitUpstream: (_c, _f, _n, start) => { start(); return 'ok'; }, releaseUpstream: () => { released++; } } });
    expect(outcome.status).toBe(504);
    expect(outcome.dynamic).toMatchObject({ control: 'VirtualService', name: 'a/api', flags: 'UT' });
    expect(outcome.latencyMs).toBeCloseTo(100 + HOP, 6);
    expect(released).toBe(1);
    expect(reports).toEqual([{ endpoint: 'a/api', status: 504 }]);
  });

  it('§3 without a route timeout (Istio\'s default) the client waits for a slow app', () => {
    const { outcome } = sendOne(mesh(), { 'a/api': { serviceTimeMs: 5000 } });
    expect(outcome.status).toBe(200);
    expect(outcome.latencyMs).toBeGreaterThan(100);
  });

  it('§3 a per-try timeout is retried under 5xx, and the client sees 504 UT,URX when every try times out', () => {
    const vs = virtualService('      retries: { attempts: 2, perTryTimeout: 50ms, retryOn: 5xx }');
    const { outcome, reports } = sendOne(mesh(vs), { 'a/api': { serviceTimeMs: 1e7 }, 'a/api-b': { serviceTimeMs: 1e7 } });
    expect(outcome.status).toBe(504);
    expect(outcome.retries).toBe(2);
    expect(outcome.dynamic?.flags).toBe('UT,URX');
    expect(reports.map((r) => r.status)).toEqual([504, 504, 504]);
    expect(outcome.latencyMs).toBeGreaterThanOrEqual(150);
  });

  it('§3 a per-try timeout is not retried under the default retryOn (no 5xx, gateway-error or reset)', () => {
    const vs = virtualService('      retries: { attempts: 2, perTryTimeout: 50ms }');
    const { outcome } = sendOne(mesh(vs), { 'a/api': { serviceTimeMs: 1e7 } });
    expect(outcome.status).toBe(504);
    expect(outcome.retries).toBeUndefined();
    expect(outcome.dynamic?.flags).toBe('UT');
  });

  it('§3 the route timeout bounds the retries too', () => {
    const vs = virtualService('      timeout: 120ms\n      retries: { attempts: 5, perTryTimeout: 50ms, retryOn: 5xx }');
    const { outcome } = sendOne(mesh(vs), { 'a/api': { serviceTimeMs: 1e7 }, 'a/api-b': { serviceTimeMs: 1e7 } });
    expect(outcome.status).toBe(504);
    expect(outcome.dynamic).toMatchObject({ control: 'VirtualService', flags: 'UT' });
    expect(outcome.latencyMs).toBeCloseTo(120 + HOP, 6);
    expect(outcome.retries).toBeGreaterThanOrEqual(1);
  });
});

describe('§10 the retry circuit breaker (DestinationRule connectionPool.http.maxRetries)', () => {
  it('a retry that would exceed maxRetries retries in flight is not sent: the failed answer comes back as it was', () => {
    // both endpoints saturated (one request at a time, no queue): concurrent requests get 503 and are retried
    const dr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: a }
spec:
  host: api
  trafficPolicy: { connectionPool: { http: { maxRetries: 1 } } }
`;
    const run = (m: Mesh): Outcome[] => {
      const k = new Kernel({ seed: 7 });
      const world = new World(k, m, {
        facts: () => ({ serviceTimeMs: 50, concurrency: 1, queue: 0 }),
        proxyOverheadMs: HOP, base: {}, controls: new MeshControls(m, () => 0.5),
      });
      const spec: RequestSpec = {
        req: { from: { kind: 'workload', workload: wl(m, 'a/client') }, to: { kind: 'host', host: 'api', port: 80 }, protocol: 'http', method: 'GET', path: '/', headers: {}, tls: 'auto' },
        pick: () => 0,
      };
      const out: Outcome[] = [];
      for (let i = 0; i < 6; i++) world.send(spec, (o) => { out.push(o); });
      k.run(600_000);
      return out;
    };
    const retriesOf = (out: Outcome[]): number => out.reduce((n, o) => n + (o.retries ?? 0), 0);
    const limited = run(meshFrom(ns('a', true), app('a', 'client'), app('a', 'api'), app('a', 'api-b', { labels: { app: 'api' } }), dr));
    const free = run(mesh());
    expect(retriesOf(free)).toBeGreaterThan(retriesOf(limited));
    const refused = limited.find((o) => o.dynamic?.reason.includes('not retried') === true);
    expect(refused?.dynamic?.flags).toContain('UO');
  });
});
