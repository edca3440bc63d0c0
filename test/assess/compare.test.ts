import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { classifyChange, compareOutcomes, type StepRecord, type TrafficRecord } from '../../src/assess/compare.js';
import { MESHRANGE_VERSION } from '../../src/core/version.js';

const step = (scenario: string, id: string, outcome: StepRecord['outcome'], attack = true): StepRecord =>
  ({ scenario, step: id, action: 'request', attack, outcome, stoppedBy: outcome === 'blocked' ? ['PeerAuthentication backend/default'] : [] });
const flow = (scenario: string, from: string, to: string, sent: number, ok: number): TrafficRecord => ({ scenario, from, to, sent, ok });

describe('comparing outcomes (assess and run --baseline share it)', () => {
  it('a step that was blocked and is now allowed or partial is a regression', () => {
    const c = compareOutcomes({ steps: [step('s', 'a', 'blocked'), step('s', 'b', 'blocked')], traffic: [] },
      { steps: [step('s', 'a', 'allowed'), step('s', 'b', 'partial')], traffic: [] });
    expect(c.regressions.map((s) => s.step)).toEqual(['a', 'b']);
    expect(c.improvements).toEqual([]);
  });

  it('a step that was allowed and is now blocked is an improvement; allowed to partial is only a change', () => {
    const c = compareOutcomes({ steps: [step('s', 'a', 'allowed'), step('s', 'b', 'allowed')], traffic: [] },
      { steps: [step('s', 'a', 'blocked'), step('s', 'b', 'partial')], traffic: [] });
    expect(c.improvements.map((s) => s.step)).toEqual(['a']);
    expect(c.steps.find((s) => s.step === 'b')?.kind).toBe('changed');
    expect(c.regressions).toEqual([]);
  });

  it('legitimate steps that change are listed but are not attack regressions', () => {
    const c = compareOutcomes({ steps: [step('s', 'legit', 'blocked', false)], traffic: [] }, { steps: [step('s', 'legit', 'allowed', false)], traffic: [] });
    expect(c.steps).toHaveLength(1);
    expect(c.regressions).toEqual([]);
  });

  it('a legitimate step less of which gets through is broken, never an improvement; more of it is changed, never a regression', () => {
    const c = compareOutcomes(
      { steps: [step('s', 'a', 'allowed', false), step('s', 'b', 'allowed', false), step('s', 'c', 'partial', false), step('s', 'd', 'blocked', false)], traffic: [] },
      { steps: [step('s', 'a', 'blocked', false), step('s', 'b', 'partial', false), step('s', 'c', 'blocked', false), step('s', 'd', 'allowed', false)], traffic: [] });
    expect(c.steps.map((s) => [s.step, s.kind])).toEqual([['a', 'broken'], ['b', 'broken'], ['c', 'broken'], ['d', 'changed']]);
    expect(c.broken.map((s) => s.step)).toEqual(['a', 'b', 'c']);
    expect(c.improvements).toEqual([]);
    expect(c.regressions).toEqual([]);
    expect(classifyChange(true, 'allowed', 'blocked')).toBe('improvement');
    expect(classifyChange(false, 'allowed', 'blocked')).toBe('broken');
  });

  it('steps on only one side are listed as added or removed, never dropped', () => {
    const c = compareOutcomes({ steps: [step('s', 'gone', 'blocked')], traffic: [] }, { steps: [step('s', 'new', 'allowed')], traffic: [] });
    expect(c.added.map((s) => s.step)).toEqual(['new']);
    expect(c.removed.map((s) => s.step)).toEqual(['gone']);
  });

  it('keys that look like Object.prototype members are ordinary keys', () => {
    const c = compareOutcomes({ steps: [step('__proto__', 'constructor', 'blocked')], traffic: [] }, { steps: [step('__proto__', 'constructor', 'allowed')], traffic: [] });
    expect(c.regressions).toHaveLength(1);
  });

  it('a legitimate flow whose success rate moved beyond the tolerance is listed as worse or better', () => {
    const c = compareOutcomes({ steps: [], traffic: [flow('s', 'a', 'b', 100, 100), flow('s', 'c', 'd', 100, 50), flow('s', 'e', 'f', 100, 100)] },
      { steps: [], traffic: [flow('s', 'a', 'b', 100, 0), flow('s', 'c', 'd', 100, 100), flow('s', 'e', 'f', 100, 100)] });
    expect(c.traffic.map((t) => [t.from, t.kind])).toEqual([['a', 'worse'], ['c', 'better']]);
  });
});

describe('the tool version', () => {
  it('equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(MESHRANGE_VERSION).toBe(pkg.version);
  });
});

describe('assessMeshes over meshes whose workloads differ', () => {
  it('a workload only the after mesh has (a gateway the change adds) is newly reachable from, and the before side says it was not there', async () => {
    const { loadMesh } = await import('../../src/loader/load.js');
    const { assessMeshes } = await import('../../src/assess/assess.js');
    const app = `apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: shop }
spec:
  template:
    metadata: { labels: { app: api } }
    spec: { serviceAccountName: api, containers: [{ name: api, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: api, namespace: shop }
spec: { selector: { app: api }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
`;
    const client = `---
apiVersion: apps/v1
kind: Deployment
metadata: { name: client, namespace: shop }
spec:
  template:
    metadata: { labels: { app: client } }
    spec: { serviceAccountName: client, containers: [{ name: c }] }
`;
    const before = loadMesh([{ path: 'before.yaml', text: app }]).mesh;
    const after = loadMesh([{ path: 'after.yaml', text: app + client }]).mesh;
    const r = assessMeshes(before, after);
    expect('newlyReachable' in r).toBe(true);
    if (!('newlyReachable' in r)) return;
    const added = r.newlyReachable.filter((p) => p.from === 'shop/client');
    expect(added.map((p) => `${p.to}:${p.port}`)).toContain('api.shop:80');
    expect(added[0]?.stoppedBy).toEqual(["shop/client is not a workload of this side's mesh"]);
  });
});

describe('assess text report marks', () => {
  it('newly reachable paths are marked +, paths no longer reachable -', async () => {
    const { renderAssessText } = await import('../../src/report/assess.js');
    const p = (from: string): import('../../src/assess/assess.js').AssessPath => ({ from, to: 'api.shop', port: 80, via: 'service', workloads: ['shop/api'], mtls: false, stoppedBy: [] });
    const text = renderAssessText({
      before: 'a', after: 'b', newlyReachable: [p('shop/new')], noLongerReachable: [p('shop/gone')], steps: [], traffic: [], stepsAdded: [], stepsRemoved: [], trafficAdded: [], trafficRemoved: [],
      risk: 'up', riskReasons: [], summary: { pathsBefore: 1, pathsAfter: 1, scenarios: 0, regressions: 0, improvements: 0, broken: 0 },
    });
    expect(text).toContain('  + shop/new');
    expect(text).toContain('  - shop/gone');
  });
});

describe('flows on one side only', () => {
  it('a flow only the after side has is trafficAdded, a flow only the before side has is trafficRemoved, never dropped', () => {
    const c = compareOutcomes({ steps: [], traffic: [flow('s', 'a', 'b', 10, 10), flow('s', 'a', 'gone', 4, 4)] },
      { steps: [], traffic: [flow('s', 'a', 'b', 10, 10), flow('s', 'a', 'new', 3, 1), flow('t', 'a', 'b', 1, 1)] });
    expect(c.trafficAdded).toEqual([flow('s', 'a', 'new', 3, 1), flow('t', 'a', 'b', 1, 1)]);
    expect(c.trafficRemoved).toEqual([flow('s', 'a', 'gone', 4, 4)]);
    expect(c.traffic).toEqual([]);
  });
});
