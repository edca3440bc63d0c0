/** The `pivot` step (product.md §2, §3.1): outcome rules, exploit, attacker state, time, and its graph against single requests. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sandbox, listYamlFiles } from '../../src/cli/fs.js';
import { prepareScenario } from '../../src/cli/mesh-input.js';
import { IssueList } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { renderJson } from '../../src/report/json.js';
import { renderText } from '../../src/report/text.js';
import { looksLikeScenario, parseScenario } from '../../src/scenario/load.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
import type { RunResult, StepResult } from '../../src/scenario/types.js';
import { bruteForce } from '../analysis/reach-fixtures.js';
import { judgeObjective } from '../../src/exercise/objectives.js';
import { SimulationLimitError } from '../../src/core/limits.js';

const root = path.resolve(__dirname, '../..');
const BOOKINFO = path.join(root, 'scenarios/meshes/bookinfo');
const CALL_GRAPH = path.join(root, 'scenarios/meshes/policies/bookinfo-call-graph');

function manifests(...dirs: string[]): { path: string; text: string }[] {
  return dirs.flatMap((d) => listYamlFiles(d)).map((p) => ({ path: p, text: readFileSync(p, 'utf8') }));
}

async function run(spec: string, dirs: string[] = [BOOKINFO, CALL_GRAPH]): Promise<RunResult> {
  const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
${spec}`;
  const issues = new IssueList();
  const s = parseScenario('t.yaml', text, issues);
  if (!s) throw new Error(issues.items.map((i) => `${i.loc?.line}:${i.loc?.col} ${i.message}`).join('\n'));
  const { mesh } = loadMesh(manifests(...dirs));
  if (!bindScenario(s, mesh, issues)) throw new Error(issues.items.map((i) => i.message).join('\n'));
  return runScenario(s, mesh);
}

const step = (r: RunResult, id: string): StepResult => r.steps.find((s) => s.id === id) as StepResult;

describe('pivot outcome (product.md §3.1)', () => {
  it('with targets: allowed when every target is reached', async () => {
    const r = await run(`  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: p, action: pivot, exploit: all, targets: [bookinfo/details-v1, bookinfo/reviews-v1] }
`);
    expect(step(r, 'p')).toMatchObject({ outcome: 'allowed', stoppedBy: [], code: null, mtls: null });
  });

  it('with targets: partial when some are reached, and stoppedBy names the control on the missing one', async () => {
    const r = await run(`  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: p, action: pivot, exploit: [], targets: [bookinfo/details-v1, bookinfo/ratings-v1] }
`);
    const p = step(r, 'p');
    expect(p.outcome).toBe('partial');
    expect(p.stoppedBy.map((s) => [s.control, s.name])).toEqual([['AuthorizationPolicy', 'bookinfo/ratings-from-reviews']]);
    expect(r.verdict).toBe('breached');
  });

  it('with targets: blocked when none is reached', async () => {
    const r = await run(`  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: p, action: pivot, exploit: [], targets: [bookinfo/ratings-v1] }
`);
    expect(step(r, 'p').outcome).toBe('blocked');
    expect(r.verdict).toBe('contained');
  });

  it('without targets: allowed when any workload besides the foothold is reached, blocked when none is', async () => {
    const open = await run(`  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: p, action: pivot, exploit: [] }
`);
    expect(step(open, 'p').outcome).toBe('allowed');
    const shut = await run(`  attacker: { foothold: bookinfo/ratings-v1 }
  steps:
    - { id: p, action: pivot, exploit: all, ports: [9080] }
`, [BOOKINFO, path.join(root, 'scenarios/meshes/policies/bookinfo-deny-all')]);
    expect(step(shut, 'p')).toMatchObject({ outcome: 'blocked', reached: [], hops: 0, compromised: ['bookinfo/ratings-v1'] });
  });
});

describe('pivot exploit, depth and the attacker state', () => {
  it('without exploit, the workloads the scenario marks exploitable are taken over', async () => {
    const r = await run(`  workloads: { bookinfo/reviews-v2: { exploitable: true } }
  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: p, action: pivot, targets: [bookinfo/ratings-v1] }
`);
    expect(step(r, 'p')).toMatchObject({ outcome: 'allowed', hops: 2, compromised: ['bookinfo/productpage-v1', 'bookinfo/reviews-v2'] });
  });

  it('an explicit exploit replaces the marks for that step', async () => {
    const r = await run(`  workloads: { bookinfo/reviews-v2: { exploitable: true } }
  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: p, action: pivot, exploit: [bookinfo/details-v1], targets: [bookinfo/ratings-v1] }
`);
    expect(step(r, 'p')).toMatchObject({ outcome: 'blocked', compromised: ['bookinfo/details-v1', 'bookinfo/productpage-v1'] });
  });

  it('depth 1 stops before the second hop, so ratings behind reviews stays out of reach', async () => {
    const r = await run(`  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: p, action: pivot, exploit: all, depth: 1, targets: [bookinfo/ratings-v1] }
`);
    expect(step(r, 'p').outcome).toBe('blocked');
    expect(step(r, 'p').graph?.edges.every((e) => e.hop === 1)).toBe(true);
  });

  it('a step from a workload the pivot took over is an attack step; the same step before the pivot is not', async () => {
    const r = await run(`  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: before, action: request, from: bookinfo/reviews-v2, to: "ratings:9080" }
    - { id: p, action: pivot, exploit: [bookinfo/reviews-v2], targets: [bookinfo/reviews-v2] }
    - { id: after, action: request, from: bookinfo/reviews-v2, to: "ratings:9080" }
`);
    expect(step(r, 'before')).toMatchObject({ attack: false, outcome: 'allowed' });
    expect(step(r, 'after')).toMatchObject({ attack: true, outcome: 'allowed' });
  });

  it('a later pivot without from starts from every workload the attacker controls', async () => {
    const r = await run(`  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: first, action: pivot, exploit: [bookinfo/reviews-v1], depth: 1 }
    - { id: second, action: pivot, exploit: [], depth: 1, targets: [bookinfo/ratings-v1] }
`);
    const second = step(r, 'second');
    expect(second.graph?.nodes.filter((n) => n.hop === 0).map((n) => n.id)).toEqual(['bookinfo/productpage-v1', 'bookinfo/reviews-v1']);
    expect(second.outcome).toBe('allowed');
  });

  it('a pivot from a workload the attacker does not control is a what-if: no takeover enters the attacker state', async () => {
    const r = await run(`  attacker: { foothold: bookinfo/ratings-v1 }
  steps:
    - { id: whatif, action: pivot, from: bookinfo/productpage-v1, exploit: [bookinfo/reviews-v2], depth: 1 }
    - { id: later, action: request, from: bookinfo/reviews-v2, to: "ratings:9080" }
`);
    expect(step(r, 'whatif')).toMatchObject({ attack: false, compromised: ['bookinfo/productpage-v1', 'bookinfo/reviews-v2'] });
    expect(step(r, 'later').attack).toBe(false);
  });

  it('the pivot is decided at its simulated time: once certificates have expired in a CA outage, mTLS hops fail', async () => {
    const r = await run(`  ca: { outage: { at: 1h, for: 30h } }
  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: early, action: pivot, exploit: [], targets: [bookinfo/reviews-v1], at: 2h }
    - { id: late, action: pivot, exploit: [], targets: [bookinfo/reviews-v1], at: 25h }
`);
    expect(step(r, 'early').outcome).toBe('allowed');
    const late = step(r, 'late');
    expect(late.outcome).toBe('blocked');
    expect(late.stoppedBy[0]?.control).toBe('CertificateValidity');
  });
});

describe('pivot report', () => {
  it('the JSON carries graph, reached, compromised and hops in a stable order, and the text a one-line summary', async () => {
    const r = await run(`  workloads: { bookinfo/reviews-v2: { exploitable: true } }
  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: p, action: pivot, targets: [bookinfo/ratings-v1] }
`);
    const json = JSON.parse(renderJson([r])) as { steps: Record<string, unknown>[] };
    const s = json.steps[0] as Record<string, unknown>;
    expect(Object.keys(s).slice(Object.keys(s).indexOf('from'))).toEqual(['from', 'reached', 'compromised', 'hops', 'graph', 't', 'durationMs', 'loc', 'attack', 'expectationMet', 'evidence']);
    const graph = s['graph'] as { nodes: Record<string, unknown>[]; edges: Record<string, unknown>[] };
    expect(Object.keys(graph.nodes[0] as object)).toEqual(['id', 'hop', 'compromised']);
    expect(Object.keys(graph.edges[0] as object).slice(0, 7)).toEqual(['from', 'to', 'port', 'protocol', 'path', 'outcome', 'stoppedBy']);
    expect(s['hops']).toBe(2);
    expect(renderText([r])).toContain('reached bookinfo/details-v1, bookinfo/ratings-v1, bookinfo/reviews-v1, bookinfo/reviews-v2 in 2 hops');
  });
});

describe('each shipped pivot agrees with a brute force over single request decisions', () => {
  const files = listYamlFiles(path.join(root, 'scenarios')).filter((f) => looksLikeScenario(readFileSync(f, 'utf8')) && /action: pivot/.test(readFileSync(f, 'utf8')));
  it('there are shipped pivot scenarios', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });
  for (const file of files) {
    it(`${path.basename(file)}: every pivot step's graph equals single decide() calls per attempt`, async () => {
      const issues = new IssueList();
      const prepared = prepareScenario(path.relative(root, file), Sandbox.forCwd([]), issues);
      if (!prepared || !bindScenario(prepared.scenario, prepared.mesh, issues)) throw new Error(issues.errors.map((e) => e.message).join('\n'));
      const r = await runScenario(prepared.scenario, prepared.mesh);
      const facts = prepared.scenario.doc.spec.workloads ?? {};
      for (const [i, st] of prepared.scenario.doc.spec.steps.entries()) {
        if (st.action !== 'pivot') continue;
        const got = r.steps[i] as StepResult;
        const from = (got.graph?.nodes ?? []).filter((n) => n.hop === 0).map((n) => n.id);
        const exploit = st.exploit ?? ((id: string) => Object.hasOwn(facts, id) && facts[id]?.exploitable === true);
        // The certificates taken by earlier steal-credentials steps (none of these scenarios waits them out).
        const spec = prepared.scenario.doc.spec;
        const certificates = spec.steps.slice(0, i).filter((x) => x.action === 'steal-credentials' && x.what === 'cert').flatMap((x) => {
          const w = prepared.mesh.workloads.find((y) => y.id === (x.from ?? spec.attacker.foothold));
          return w && w.sidecar ? [{ spiffe: `spiffe://${prepared.mesh.config.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`, from: w.id, problem: null }] : [];
        });
        const { unlisted: _u, ...brute } = bruteForce(prepared.mesh, { from, exploit, depth: st.depth ?? 3, certificates, capabilities: spec.attacker.capabilities ?? [], gatewayProcess: true },
          { ...(st.ports ? { ports: st.ports } : {}), ...(st.paths ? { paths: st.paths } : {}) });
        expect(got.graph?.unlisted).toBeUndefined();
        expect({ nodes: got.graph?.nodes, edges: got.graph?.edges, reached: got.reached, compromised: got.compromised, hops: got.hops }).toEqual(brute);
      }
    });
  }
});

describe('the pivots of one run share a budget of decisions', () => {
  it('product.md §5 past it the run stops with a located error at the pivot step that met it (SimulationLimitError), whatever each step alone needs', async () => {
    const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: p0, action: pivot, exploit: all, depth: 4 }
    - { id: p1, action: pivot, exploit: all, depth: 4 }
`;
    const issues = new IssueList();
    const s = parseScenario('t.yaml', text, issues);
    if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
    const { mesh } = loadMesh(manifests(BOOKINFO, CALL_GRAPH));
    if (!bindScenario(s, mesh, issues)) throw new Error(issues.items.map((i) => i.message).join('\n'));
    const first = step(await runScenario(s, mesh), 'p0');
    const used = Number(/(\d+) decided/.exec(first.evidence.events?.[0]?.what ?? '')?.[1]);
    expect(used).toBeGreaterThan(0);
    // a budget the first step fits in and the second does not: the second step is the one located
    let caught: unknown;
    try { await runScenario(s, mesh, { maxPivotDecisions: used + 1 }); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(SimulationLimitError);
    expect((caught as SimulationLimitError).message).toContain('step "p1"');
    expect((caught as SimulationLimitError).loc).toMatchObject({ file: 't.yaml', line: 9 });
    // with the whole budget, both run
    expect((await runScenario(s, mesh)).steps).toHaveLength(2);
  });
});

describe('the defence analysis re-runs pivots within a budget of its own', () => {
  const denyAll = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-all, namespace: istio-system }
spec: { action: DENY, rules: [{}] }
`;
  const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
  attacker: { foothold: team-0/front-250 }
  steps:
    - { id: p1, action: pivot, exploit: all, depth: 5, expect: blocked }
`;
  async function contained(opts: { maxPivotDecisions?: number } = {}): Promise<RunResult> {
    const { generateTopology } = await import('../../src/generate/topology.js');
    const { renderTopology } = await import('../../src/generate/manifests.js');
    const files = renderTopology(generateTopology({ workloads: 500, seed: 1, profile: 'strict' })).filter((f) => f.path.endsWith('.yaml'));
    const issues = new IssueList();
    const s = parseScenario('t.yaml', text, issues);
    if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
    const { mesh } = loadMesh([...files, { path: 'deny-all.yaml', text: denyAll }]);
    if (!bindScenario(s, mesh, issues)) throw new Error(issues.items.map((i) => i.message).join('\n'));
    return runScenario(s, mesh, opts);
  }

  it('§3.2 a contained pivot on 500 workloads still learns its sole defence: the variant without it explores far more than the run did', async () => {
    const r = await contained();
    expect(step(r, 'p1').outcome).toBe('blocked');
    expect(step(r, 'p1').defences?.find((d) => d.control === 'AuthorizationPolicy' && d.name === 'istio-system/deny-all')?.sole).toBe(true);
    expect(r.warnings?.some((w) => w.includes('defence analysis stopped')) ?? false).toBe(false);
  }, 60_000);

  it('§3.2 past the variants\' pivot budget the analysis stops with its warning and the run still succeeds', async () => {
    const used = Number(/(\d+) decided/.exec(step(await contained(), 'p1').evidence.events?.[0]?.what ?? '')?.[1]);
    // a budget the run fits in, and the variant without the deny-all (which explores further) does not
    const r = await contained({ maxPivotDecisions: used + 1 });
    expect(step(r, 'p1').outcome).toBe('blocked');
    expect(r.warnings?.some((w) => w.includes('defence analysis stopped at its bound') && w.includes('pivot decisions'))).toBe(true);
  }, 60_000);
});

describe('pivot presents the stolen certificates the attacker holds (analysis/reachability.ts "Stolen certificates")', () => {
  const THREE_NS = ['three-ns', 'policies/backend-strict', 'policies/backend-db-allow-api'].map((d) => path.join(root, 'scenarios/meshes', d));

  it('a certificate leaked before the pivot is presented from the sidecar-less foothold and reaches what its identity may open', async () => {
    const r = await run(`  attacker: { foothold: legacy/batch }
  steps:
    - { id: before, action: pivot, exploit: [], targets: [backend/db] }
    - { id: leak, action: steal-credentials, from: backend/api, what: cert }
    - { id: after, action: pivot, exploit: [], targets: [backend/db] }
`, THREE_NS);
    expect(step(r, 'before').outcome).toBe('blocked');
    expect(step(r, 'before').graph?.edges.some((e) => e.as !== undefined)).toBe(false);
    const after = step(r, 'after');
    expect(after.outcome).toBe('allowed');
    expect(after.graph?.edges.some((e) => e.to === 'backend/db' && e.outcome === 'allowed' && e.as === 'spiffe://cluster.local/ns/backend/sa/api')).toBe(true);
    expect(after.evidence.events.map((e) => e.what).join('\n')).toContain('presents the stolen certificate of spiffe://cluster.local/ns/backend/sa/api (from backend/api)');
    expect(JSON.parse(renderJson([r])).steps.find((s: { id: string }) => s.id === 'after').graph.edges.some((e: { as?: string }) => e.as === 'spiffe://cluster.local/ns/backend/sa/api')).toBe(true);
    // the text report says how the pivot got through; an exercise objective "reach db with a stolen certificate" is met by it
    expect(renderText([r])).toContain('as spiffe://cluster.local/ns/backend/sa/api (a stolen certificate)');
    const objective = { id: 'o', text: 'o', kind: 'attack' as const, reach: 'backend/db', using: 'stolen-cert' as const, points: 1 };
    expect(judgeObjective(objective, r, new Set(['leak', 'after']))).toEqual({ met: true, why: null });
    expect(judgeObjective({ ...objective, reach: 'frontend/web' }, r, new Set(['leak', 'after'])).met).toBe(false);
  });

  it('with attacker capabilities the pivot also goes around the sidecar in plaintext, and the JSON edge says bypass', async () => {
    const r = await run(`  attacker: { foothold: frontend/web, capabilities: [root] }
  steps:
    - { id: p, action: pivot, exploit: [], targets: [legacy/batch] }
`, ['three-ns', 'policies/legacy-dr-batch-istio-mutual'].map((d) => path.join(root, 'scenarios/meshes', d)));
    const edges = step(r, 'p').graph?.edges ?? [];
    expect(edges.filter((e) => e.bypass === true).map((e) => [e.dial, e.outcome])).toEqual([['batch.legacy.svc.cluster.local:80', 'allowed']]);
    const json = JSON.parse(renderJson([r])).steps[0].graph.edges as { bypass?: boolean; dial: string }[];
    expect(json.filter((e) => e.bypass === true).map((e) => e.dial)).toEqual(['batch.legacy.svc.cluster.local:80']);
  });

  it('a certificate past its notAfter at the step\'s time is not presented, and the evidence says so', async () => {
    const r = await run(`  attacker: { foothold: legacy/batch }
  ca: { workloadCertTtl: 1h }
  steps:
    - { id: leak, action: steal-credentials, from: backend/api, what: cert }
    - { id: lie-low, action: wait, for: 2h }
    - { id: after, action: pivot, exploit: [], targets: [backend/db] }
`, THREE_NS);
    const after = step(r, 'after');
    expect(after.outcome).toBe('blocked');
    expect(after.graph?.edges.some((e) => e.as !== undefined)).toBe(false);
    const text = after.evidence.events.map((e) => e.what).join('\n');
    expect(text).toContain('no stolen certificate is valid now');
    expect(text).toContain('not presented, invalid now: spiffe://cluster.local/ns/backend/sa/api (expired since');
  });
});
