/**
 * sniff (product.md §3.1): what a passive observer reads in clear over its
 * window. The observation point, counting and capture are pinned on a small
 * harness that feeds requests with known hops; the shipped scenarios pin the
 * engine's answer end to end.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { Sandbox } from '../../src/cli/fs.js';
import { prepareScenario } from '../../src/cli/mesh-input.js';
import type { StoppedBy, WireHop } from '../../src/policy/pipeline.js';
import { AttackerState } from '../../src/scenario/attacker.js';
import { crosses, parseObservationPoint, sniffAction } from '../../src/scenario/actions/sniff.js';
import type { PlannedStep, RequestTap, StepContext } from '../../src/scenario/actions/types.js';
import { readRequest, redact } from '../../src/scenario/actions/exposure.js';
import { parseScenario } from '../../src/scenario/load.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
import type { RunResult, StepResult } from '../../src/scenario/types.js';
import { Kernel } from '../../src/sim/kernel/index.js';
import type { Outcome, RequestSpec } from '../../src/sim/mesh/world.js';
import { app, meshFrom, ns } from '../helpers.js';

const EPOCH = Date.parse('2026-01-01T00:00:00Z');
const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: Record<string, unknown>): string => `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.c2ln`;
const MTLS: StoppedBy = { control: 'AutoMtls', name: null, reason: 'auto mTLS' };

/** A sniff step on a bare kernel: `send` plays a request leaving at a time with the hops its decision lists. */
function harness(on: string, opts: { window?: number; sensitive?: string[] } = {}) {
  const k = new Kernel({ seed: 1 });
  const taps = new Set<RequestTap>();
  const attacker = new AttackerState('a/client');
  const results: StepResult[] = [];
  const window = opts.window ?? 10_000;
  const workloads = Object.fromEntries((opts.sensitive ?? []).map((id) => [id, { sensitive: true }]));
  const c = {
    k, epochMs: EPOCH, attacker, scenario: { doc: { spec: { workloads } } },
    tap: (o: RequestTap) => { taps.add(o); return () => { taps.delete(o); }; },
    base: (p: PlannedStep) => ({ id: p.step.id, action: 'sniff', expected: null, attack: true, from: 'a/client', t: p.at }),
    finish: (_p: PlannedStep, r: StepResult) => { results.push(r); },
  } as unknown as StepContext;
  const p: PlannedStep = { step: { id: 's', action: 'sniff', on, window: `${window}ms` }, index: 0, at: 1000, end: 1000 + window, from: 'a/client', attack: true, headers: {} };
  k.at(p.at, () => sniffAction.run(c, p));
  const send = (t: number, hops: WireHop[], o: { flow?: number; attack?: boolean; dynamic?: Outcome['dynamic']; latency?: number; local?: true } = {}): void => {
    k.at(t, () => {
      const origin = o.attack !== undefined ? { kind: 'step' as const, id: 'x', attack: o.attack, from: 'a/client', to: 'b:80' } : { kind: 'flow' as const, index: o.flow ?? 0, from: hops[0]?.from ?? '', to: 'server.b:80' };
      const watchers = [...taps].map((tap) => tap({ origin, spec: {} as RequestSpec, t })).filter((w) => w !== undefined);
      const outcome: Outcome = { status: 200, latencyMs: o.latency ?? 2, decision: { outcome: 'allowed', code: 200, mtls: false, stoppedBy: [], events: [], wire: hops }, ...(o.dynamic ? { dynamic: o.dynamic } : {}), ...(o.local ? { local: o.local } : {}) };
      k.schedule(o.latency ?? 2, () => { for (const w of watchers) w(outcome); });
    });
  };
  const run = (): StepResult => { k.run(200_000); expect(results).toHaveLength(1); return results[0] as StepResult; };
  return { send, run, attacker };
}

const clear = (from: string, to: string, headers: Record<string, string> = {}, path = '/'): WireHop => ({ from, to, port: 8080, protocol: 'http', protectedBy: null, request: { method: 'GET', path, headers } });
const sealed = (from: string, to: string): WireHop => ({ from, to, port: 8080, protocol: 'http', protectedBy: MTLS });

describe('sniff: the observation point', () => {
  it('`on` is any, node:<ns>/<name> or link:<ns>/<a>,<ns>/<b> (outside may end a link)', () => {
    expect(parseObservationPoint('any')).toEqual({ kind: 'any' });
    expect(parseObservationPoint('node:backend/api')).toEqual({ kind: 'node', workload: 'backend/api' });
    expect(parseObservationPoint('link:frontend/web,backend/api')).toEqual({ kind: 'link', a: 'frontend/web', b: 'backend/api' });
    expect(parseObservationPoint('link:outside,istio-system/istio-ingressgateway')).toEqual({ kind: 'link', a: 'outside', b: 'istio-system/istio-ingressgateway' });
  });

  it('a malformed `on` is refused with what is wrong, never guessed', () => {
    for (const bad of ['', 'all', 'node:api', 'node:a/b/c', 'node:outside', 'link:a/b', 'link:a/b,c/d,e/f', 'link:a/b,a/b', 'node:A/b', `node:${'a'.repeat(300)}/b`, 'link:a/b,']) {
      expect(typeof parseObservationPoint(bad), bad).toBe('string');
    }
  });

  it('a node sees every hop to or from its pod; a link sees both directions between its two ends and nothing else', () => {
    const node = parseObservationPoint('node:b/server');
    const link = parseObservationPoint('link:a/client,b/server');
    if (typeof node === 'string' || typeof link === 'string') throw new Error('parse');
    expect(crosses(node, { from: 'a/client', to: 'b/server' })).toBe(true);
    expect(crosses(node, { from: 'b/server', to: 'c/db' })).toBe(true);
    expect(crosses(node, { from: 'a/client', to: 'c/db' })).toBe(false);
    expect(crosses(link, { from: 'b/server', to: 'a/client' })).toBe(true);
    expect(crosses(link, { from: 'a/client', to: 'c/db' })).toBe(false);
  });
});

describe('sniff: counting and reading in the window', () => {
  it('counts only the requests sent inside the window, per flow and hop', () => {
    const h = harness('any');
    for (const t of [500, 999, 1001, 4000, 10_999, 11_001, 15_000]) h.send(t, [clear('legacy/old', 'b/server')]);
    const r = h.run();
    expect(r.observed).toHaveLength(1);
    expect(r.observed?.[0]).toMatchObject({ requests: 3, encrypted: false, hop: { from: 'legacy/old', to: 'b/server' }, source: 'traffic[0]' });
  });

  it('a flow through a gateway has two hops; a node sees the one that touches it', () => {
    const h = harness('node:shop/web');
    h.send(2000, [{ ...clear('outside', 'istio-system/gw'), protectedBy: { control: 'Gateway', name: 'istio-system/g', reason: 'tls' } }, clear('istio-system/gw', 'shop/web')]);
    const r = h.run();
    expect(r.observed?.map((f) => f.hop)).toEqual([{ from: 'istio-system/gw', to: 'shop/web' }]);
  });

  it('is allowed when any flow crossed in clear, and says what a reader learns: paths without the query, header names, tokens redacted', () => {
    const token = jwt({ sub: 'batch', exp: EPOCH / 1000 + 3600 });
    const h = harness('node:b/server', { sensitive: ['b/server'] });
    h.send(2000, [clear('legacy/old', 'b/server', { authorization: `Bearer ${token}`, 'x-trace': '1' }, '/reports?format=csv')]);
    h.send(2100, [sealed('a/client', 'b/server')], { flow: 1 });
    const r = h.run();
    expect(r.outcome).toBe('allowed');
    expect(r.stoppedBy).toEqual([]);
    expect(r.observed?.[0]?.exposed).toEqual({ paths: ['/reports'], headers: ['authorization', 'x-trace'], tokens: [redact(token)], sensitive: ['b/server'] });
    expect(r.observed?.[1]).toMatchObject({ encrypted: true, protectedBy: { control: 'AutoMtls' }, exposed: { paths: [], headers: [], tokens: [], sensitive: [] } });
    expect(JSON.stringify(r)).not.toContain(token);
  });

  it('is blocked when every observed flow is encrypted, stopped by the controls that encrypted them', () => {
    const h = harness('any');
    h.send(2000, [sealed('a/client', 'b/server')]);
    h.send(2100, [{ ...sealed('a/client', 'c/db'), protectedBy: { control: 'DestinationRule', name: 'a/dr', reason: 'ISTIO_MUTUAL' } }], { flow: 1 });
    const r = h.run();
    expect(r.outcome).toBe('blocked');
    expect(r.stoppedBy.map((b) => [b.control, b.name])).toEqual([['AutoMtls', null], ['DestinationRule', 'a/dr']]);
  });

  it('a request its client\'s own circuit breaker refused never left the pod and is not counted', () => {
    const h = harness('any');
    h.send(2000, [clear('legacy/old', 'b/server')], { dynamic: { control: 'CircuitBreaker', name: 'b', reason: 'overflow', flags: 'UO' }, local: true });
    expect(h.run().observed).toEqual([]);
  });

  it('the attacker\'s own steps are not what it sniffs; steps from other workloads are', () => {
    const h = harness('any');
    h.send(2000, [clear('a/client', 'b/server')], { attack: true });
    h.send(2500, [clear('a/client', 'b/server')], { attack: false });
    const r = h.run();
    expect(r.observed?.map((f) => f.source)).toEqual(['step x']);
  });

  it('waits for requests sent inside the window to be answered before it reports', () => {
    const h = harness('any');
    h.send(10_990, [clear('legacy/old', 'b/server')], { latency: 500 });
    const r = h.run();
    expect(r.observed?.[0]?.requests).toBe(1);
  });
});

describe('sniff: credentials read off the wire', () => {
  it('a bearer JWT on a plaintext hop is captured into the attacker\'s state, valid until its exp; an expired one is not', () => {
    const live = jwt({ sub: 'batch', iss: 'https://idp', exp: EPOCH / 1000 + 86_400 });
    const dead = jwt({ sub: 'old', exp: EPOCH / 1000 - 60 });
    const h = harness('any');
    h.send(2000, [clear('legacy/old', 'b/server', { authorization: `Bearer ${live}` })]);
    h.send(2100, [clear('legacy/old', 'b/server', { 'x-token': dead })], { flow: 1 });
    const r = h.run();
    expect(r.captured).toEqual([{ kind: 'jwt', validUntil: '2026-01-02T00:00:00.000Z', subject: 'batch', token: redact(live), on: 'legacy/old → b/server' }]);
    expect(h.attacker.latestToken()).toMatchObject({ token: live, subject: 'batch', issuer: 'https://idp', source: 'sniffed on legacy/old → b/server', step: 's' });
    expect(h.attacker.tokens).toHaveLength(1);
  });

  it('a token inside mTLS is not read', () => {
    const h = harness('any');
    h.send(2000, [{ ...sealed('a/client', 'b/server'), request: { method: 'GET', path: '/', headers: { authorization: `Bearer ${jwt({ sub: 'x' })}` } } }]);
    const r = h.run();
    expect(r.captured).toEqual([]);
    expect(h.attacker.tokens).toEqual([]);
  });

  it('tokens are found in authorization, in any header holding a JWT, and in the query string', () => {
    const a = jwt({ sub: 'a' });
    const b = jwt({ sub: 'b' });
    const c = jwt({ sub: 'c' });
    const read = readRequest({ path: `/x?access_token=${c}&y=2`, headers: { authorization: `Bearer ${a}`, 'x-api-token': b, cookie: 'k=v' } });
    expect(read.tokens.sort()).toEqual([a, b, c].sort());
    expect(read.path).toBe('/x');
  });
});

async function run(file: string): Promise<RunResult> {
  const issues = new IssueList();
  const p = prepareScenario(file, Sandbox.forCwd([]), issues);
  if (!p || !bindScenario(p.scenario, p.mesh, issues, p.jwks)) throw new Error(issues.errors.map((e) => e.message).join('\n'));
  return runScenario(p.scenario, p.mesh, { jwks: p.jwks });
}

describe('sniff on shipped scenarios (decided by the engine)', () => {
  it('§4 a PERMISSIVE leftover: the legacy client\'s bearer JWT crosses in clear and is captured; sidecar flows on the same node are mTLS', async () => {
    const r = await run('scenarios/sniff-permissive-legacy-token.yaml');
    const tap = r.steps[0];
    expect(tap?.outcome).toBe('allowed');
    expect(tap?.observed?.map((f) => [f.hop.from, f.encrypted, f.protectedBy?.control ?? null])).toEqual([
      ['legacy/batch', false, null], ['frontend/web', true, 'AutoMtls'], ['backend/api', true, 'AutoMtls'],
    ]);
    expect(tap?.captured?.[0]).toMatchObject({ kind: 'jwt', subject: 'batch-reporter', validUntil: '2026-01-02T00:00:00.000Z' });
  });

  it('§5.2 a STRICT mesh where every caller has a sidecar: nothing is read, stopped by auto mTLS', async () => {
    const r = await run('scenarios/sniff-strict-mesh-reads-nothing.yaml');
    expect(r.steps.map((s) => [s.outcome, s.stoppedBy.map((b) => b.control)])).toEqual([['blocked', ['AutoMtls']], ['blocked', ['AutoMtls']]]);
    expect(r.steps.flatMap((s) => s.captured ?? [])).toEqual([]);
  });
});

describe('sniff: bounded work', () => {
  it('§5 a long window stretches the run the flows fill, so the volume guard refuses it at bind time (never a hang)', () => {
    const text = (window: string): string => `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
  traffic:
    - { from: a/client, to: "client.a:80", rate: 1000/s }
  attacker: { foothold: a/client }
  steps:
    - { id: s, action: sniff, on: any, window: ${window} }
`;
    const mesh = meshFrom(ns('a', true), app('a', 'client'));
    const verdict = (window: string): string[] => {
      const issues = new IssueList();
      const s = parseScenario('t.yaml', text(window), issues);
      if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
      bindScenario(s, mesh, issues);
      return issues.errors.map((e) => e.code);
    };
    expect(verdict('10s')).toEqual([]);
    expect(verdict('24h')).toEqual(['scenario-too-large']);
  });
});
