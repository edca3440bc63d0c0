/** The scenario runner: verdict, expectations, determinism (product.md §2–§3). */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { parseScenario } from '../../src/scenario/load.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
import { renderJson } from '../../src/report/json.js';
import { app, ns, pa } from '../helpers.js';

const manifests = [ns('a', true), ns('b', true), ns('legacy', false), app('a', 'client'), app('b', 'server'), app('b', 'server2', { labels: { app: 'server' } }), app('legacy', 'old'), pa('b', 'default', 'STRICT')];

function scenario(steps: string, extra = ''): ReturnType<typeof runScenario> {
  const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
${extra}  attacker: { foothold: legacy/old }
  steps:
${steps}`;
  const issues = new IssueList();
  const s = parseScenario('t.yaml', text, issues);
  if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
  const { mesh } = loadMesh(manifests.map((t, i) => ({ path: `m${i}.yaml`, text: t })));
  if (!bindScenario(s, mesh, issues)) throw new Error(issues.items.map((i) => i.message).join('\n'));
  return runScenario(s, mesh);
}

describe('runner', () => {
  it('product.md §3 verdict is contained when every attack step is blocked', async () => {
    const r = await scenario('    - { id: s1, action: request, to: "server.b:80", expect: blocked }\n');
    expect(r).toMatchObject({ verdict: 'contained', expectations: { passed: 1, failed: 0 } });
  });

  it('product.md §3 verdict is breached when an attack step is allowed', async () => {
    const r = await scenario('    - { id: s1, action: request, to: "old:80", from: legacy/old }\n');
    expect(r.verdict).toBe('breached');
  });

  it('steps from another workload than the foothold check legitimate traffic and do not breach', async () => {
    const r = await scenario('    - { id: legit, action: request, from: a/client, to: "server.b:80", expect: allowed }\n');
    expect(r.verdict).toBe('contained');
    expect(r.steps[0]).toMatchObject({ attack: false, outcome: 'allowed', expectationMet: true });
  });

  it('a failed expectation is counted and marked on the step', async () => {
    const r = await scenario('    - { id: s1, action: request, to: "server.b:80", expect: allowed }\n');
    expect(r.expectations).toEqual({ passed: 0, failed: 1 });
    expect(r.steps[0]?.expectationMet).toBe(false);
  });

  it('a step without expect is neither passed nor failed', async () => {
    const r = await scenario('    - { id: s1, action: request, to: "server.b:80" }\n');
    expect(r.expectations).toEqual({ passed: 0, failed: 0 });
  });

  it('a ClusterIP Service is not reachable from outside the cluster', async () => {
    const r = await scenario('    - { id: s1, action: request, from: outside, to: "server.b.svc.cluster.local:80" }\n');
    expect(r.steps[0]).toMatchObject({ outcome: 'blocked', code: 0, stoppedBy: [{ control: 'Routing' }] });
  });

  it('wait advances simulated time; at sets it', async () => {
    const r = await scenario('    - { id: w, action: wait, for: 30s }\n    - { id: s1, action: request, to: "old:80" }\n    - { id: s2, action: request, to: "old:80", at: 5m }\n');
    expect(r.steps.map((s) => s.t)).toEqual([0, 30_000, 300_000]);
  });

  it('same scenario and seed give the same report byte for byte; the seed picks among endpoints', async () => {
    const steps = Array.from({ length: 12 }, (_, i) => `    - { id: s${i}, action: request, from: a/client, to: "server.b:80" }\n`).join('');
    const a = await scenario(steps);
    const b = await scenario(steps);
    expect(renderJson([a])).toBe(renderJson([b]));
    const picked = new Set(a.steps.map((s) => s.evidence.destination?.workload));
    expect(picked).toEqual(new Set(['b/server', 'b/server2']));
    const other = await scenario(steps, '  seed: 7\n');
    expect(other.fingerprint).not.toBe(a.fingerprint);
  });
});

describe('bad input: scenarios from strangers', () => {
  it('§6.6 a gRPC traffic flow without a method sends POST, as a gRPC step does (an ALLOW for POST admits it)', async () => {
    const allowPost = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: post-only, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  rules: [{ to: [{ operation: { methods: [POST] } }] }]
`;
    const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: grpc-flow }
spec:
  mesh: { manifests: [x] }
  duration: 1s
  traffic:
    - { from: a/client, to: "server.b:80", rate: 5/s, protocol: grpc }
  attacker: { foothold: legacy/old }
  steps:
    - { id: s1, action: request, to: "old:80" }
`;
    const issues = new IssueList();
    const s = parseScenario('g.yaml', text, issues);
    if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
    const { mesh } = loadMesh([...manifests, allowPost].map((t, i) => ({ path: `m${i}.yaml`, text: t })));
    if (!bindScenario(s, mesh, issues)) throw new Error(issues.items.map((i) => i.message).join('\n'));
    const r = await runScenario(s, mesh);
    const flow = r.traffic?.[0];
    expect(flow?.sent).toBeGreaterThan(0);
    expect(flow?.ok).toBe(flow?.sent);
    expect(flow?.stoppedBy).toBeUndefined();
  });

  it('§6.6 a refused gRPC call (HTTP 200, grpc-status 7) is not counted ok in a flow', async () => {
    const allowGet = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: get-only, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  rules: [{ to: [{ operation: { methods: [GET] } }] }]
`;
    const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: grpc-denied }
spec:
  mesh: { manifests: [x] }
  duration: 1s
  traffic:
    - { from: a/client, to: "server.b:80", rate: 5/s, protocol: grpc }
  attacker: { foothold: legacy/old }
  steps:
    - { id: s1, action: request, to: "old:80" }
`;
    const issues = new IssueList();
    const s = parseScenario('g.yaml', text, issues);
    if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
    const { mesh } = loadMesh([...manifests, allowGet].map((t, i) => ({ path: `m${i}.yaml`, text: t })));
    if (!bindScenario(s, mesh, issues)) throw new Error(issues.items.map((i) => i.message).join('\n'));
    const flow = (await runScenario(s, mesh)).traffic?.[0];
    expect(flow?.sent).toBeGreaterThan(0);
    expect(flow?.statuses).toEqual({ 200: flow?.sent });
    expect(flow?.ok).toBe(0);
    expect(flow?.errorRate).toBe(1);
  });

  it('product.md §5 a scenario that would simulate an unreasonable volume is refused at bind time (never a hang)', () => {
    const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: huge }
spec:
  mesh: { manifests: [x] }
  duration: 240h
  traffic:
    - { from: a/client, to: "server.b:80", rate: 1000/s }
  attacker: { foothold: legacy/old }
  steps:
    - { id: s1, action: request, to: "old:80" }
`;
    const issues = new IssueList();
    const s = parseScenario('huge.yaml', text, issues);
    if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
    const { mesh } = loadMesh(manifests.map((t, i) => ({ path: `m${i}.yaml`, text: t })));
    expect(bindScenario(s, mesh, issues)).toBe(false);
    expect(issues.errors[0]).toMatchObject({ code: 'scenario-too-large', loc: { file: 'huge.yaml', line: 6 } });
  });
});

describe('retries count in the work a scenario may ask for', () => {
  it('product.md §5 a flood against a route with 2e9 retry attempts is refused at bind time, at the VirtualService', () => {
    const retrying = (attempts: number): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: retry-forever, namespace: b }
spec:
  hosts: [server]
  http:
    - retries: { attempts: ${attempts}, retryOn: "403" }
      route: [{ destination: { host: server } }]
`;
    const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: retry-flood }
spec:
  mesh: { manifests: [x] }
  attacker: { foothold: a/client }
  steps:
    - { id: f, action: flood, to: "server.b:80", rate: 20000/s, for: 1s }
`;
    const bind = (attempts: number): IssueList => {
      const issues = new IssueList();
      const s = parseScenario('r.yaml', text, issues);
      if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
      const { mesh } = loadMesh([...manifests, retrying(attempts)].map((t, i) => ({ path: `m${i}.yaml`, text: t })));
      bindScenario(s, mesh, issues);
      return issues;
    };
    const refused = bind(2_000_000_000);
    expect(refused.errors).toEqual([expect.objectContaining({ code: 'scenario-too-large', loc: expect.objectContaining({ file: `m${manifests.length}.yaml` }) })]);
    expect(refused.errors[0]?.message).toContain("retry-forever's 2,000,000,000 retry attempts");
    // a few retries more than the default fit
    expect(bind(5).errors).toEqual([]);
  });
});
