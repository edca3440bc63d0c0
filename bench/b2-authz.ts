/**
 * B2 policy decisions per second against policy count (docs/benchmarks.md):
 * 10, 100, 1,000, 10,000 rules from authz-gen.ts, the same 4,096 requests,
 * decided by
 *   meshrange  — evaluateAuthz(mesh, workload, attrs) on the Mesh that
 *                meshrange's loader builds from the generated Istio YAML;
 *   cedar-wasm — @cedar-policy/cedar-wasm statefulIsAuthorized on a policy
 *                set pre-parsed once per run (preparsePolicySet);
 *   casbin     — node-casbin enforceSync, deny-override model.
 * Interleaved per size (cedar, meshrange, casbin in each round), 5 rounds
 * (3 once a run, setup included, takes more than 2 s).
 *
 * Per run: setup (see below), a warm-up of >= 10 % of the timed decisions,
 * then `n` decisions cycling through the request list, where n is sized in the
 * first round (from a ~100 ms calibration that is part of the warm-up) so a
 * run takes ~0.4 s (at least 16 decisions, at most 64 passes over the list),
 * and kept for the later rounds.
 * Rider: every timed decision equals the reference evaluator's verdict
 * (test/property/reference-authz.ts), computed once per request beforehand.
 *
 * Setup: meshrange — prepareAuthz on a fresh copy of the loaded policies (copied
 * before the heap is settled, so the copy's promotion is not timed):
 * every workload's policies selected (through a namespace index) and
 * compiled into predicates, what decisions otherwise do lazily on a
 * workload's first request; the loader time (YAML text to Mesh) is reported
 * beside it as info.load_ms. cedar — preparsePolicySet.
 * casbin — newEnforcer(model, StringAdapter) (parse model, load lines).
 *
 *   npx tsx bench/b2-authz.ts [--sizes 10,100,1000,10000] [--seed 1] [--target 0.4]
 */
import { IssueList } from '../src/core/issues.js';
import { loadMesh } from '../src/loader/load.js';
import type { Mesh, Workload } from '../src/model/types.js';
import { evaluateAuthz, prepareAuthz, type AuthzAttributes } from '../src/policy/authorization-policy.js';
import { referenceAuthz, refSelects, type RefMesh } from '../test/property/reference-authz.js';
import { CASBIN_MODEL, generate, toAuthzAttributes, toCasbin, toCedar, toIstioYaml, type PolicySet } from './authz-gen.js';
import { argNumber, emit, interleave, missing, peakRssMb, settle } from './lib.js';

const seed = argNumber('seed', 1);
const target = argNumber('target', 0.4);
const sizesArg = process.argv.indexOf('--sizes');
const sizes = sizesArg >= 0 ? (process.argv[sizesArg + 1] as string).split(',').map(Number) : [10, 100, 1000, 10000];

type Impl = 'cedar-wasm' | 'meshrange' | 'casbin';

interface Engine {
  /** untimed, before the heap is settled: what the harness itself needs (meshrange: the fresh copy of the policies) */
  before?(): void;
  /** prepares the engine; returns ms spent */
  setup(): Promise<number> | number;
  decide(i: number): boolean;
  teardown?(): void;
}

// ------------------------------------------------------------------ peers (optional)

type CedarModule = typeof import('@cedar-policy/cedar-wasm/nodejs');
type CasbinModule = typeof import('casbin');
let cedar: CedarModule | null = null;
let casbin: CasbinModule | null = null;
let cedarWhy = '';
let casbinWhy = '';
try {
  cedar = await import('@cedar-policy/cedar-wasm/nodejs');
} catch (e) {
  cedarWhy = `@cedar-policy/cedar-wasm cannot be loaded: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
}
try {
  casbin = await import('casbin');
} catch (e) {
  casbinWhy = `casbin cannot be loaded: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
}

// ------------------------------------------------------------------ one size

interface Prepared {
  set: PolicySet;
  mesh: Mesh;
  loadMs: number;
  workloads: Workload[];
  attrs: AuthzAttributes[];
  expected: boolean[];
  allowedShare: number;
}

function prepare(R: number): Prepared {
  const set = generate(R, seed);
  const yaml = toIstioYaml(set);
  const t0 = performance.now();
  const { mesh, issues } = loadMesh([{ path: `b2-${R}.yaml`, text: yaml }]);
  const loadMs = performance.now() - t0;
  if (issues.hasErrors()) throw new Error(`generated manifests rejected by the loader:\n${issues.errors.slice(0, 5).map((i) => i.message).join('\n')}`);
  if (mesh.authorizationPolicies.length !== R) throw new Error(`loader kept ${mesh.authorizationPolicies.length} of ${R} policies`);
  const byId = new Map(mesh.workloads.map((w) => [w.id, w]));
  const workloads = set.workloads.map((g) => {
    const w = byId.get(g.id);
    if (!w || !w.sidecar) throw new Error(`workload ${g.id} missing or without sidecar`);
    return w;
  });
  const attrs = toAuthzAttributes(set);
  const ref: RefMesh = { trustDomain: mesh.config.trustDomain, aliases: mesh.config.trustDomainAliases, rootNamespace: mesh.config.rootNamespace };
  const selecting = new Map<number, ReturnType<typeof mesh.authorizationPolicies.filter>>();
  const expected = set.requests.map((q, i) => {
    let ps = selecting.get(q.target);
    if (!ps) {
      const w = workloads[q.target]!;
      ps = mesh.authorizationPolicies.filter((p) => refSelects(p, w, ref));
      selecting.set(q.target, ps);
    }
    return referenceAuthz(ps, attrs[i]!, ref) === 'allow';
  });
  return { set, mesh, loadMs, workloads, attrs, expected, allowedShare: expected.filter(Boolean).length / expected.length };
}

function engines(p: Prepared, R: number, round: number): Record<Impl, Engine | string> {
  const { set, mesh, workloads, attrs } = p;
  const reqs = set.requests;
  const out: Record<Impl, Engine | string> = { 'cedar-wasm': cedarWhy, casbin: casbinWhy } as Record<Impl, Engine | string>;

  // A fresh copy of the policies each round, so no round reuses another's compiled policies.
  let m: Mesh = mesh;
  out.meshrange = {
    // The copy is made before the heap is settled, as B2-load does: otherwise the timed prepareAuthz starts with
    // ~10,000 freshly cloned policies in V8's young generation and its first scavenges pay to promote the harness's
    // copy (here ~15 % of the 10,000-rule setup time: 150 ms against 130 ms with the copy settled), which is not
    // setup work of meshrange's.
    before: () => {
      m = { ...mesh, authorizationPolicies: structuredClone(mesh.authorizationPolicies) };
    },
    setup: () => {
      const t0 = performance.now();
      prepareAuthz(m);
      return performance.now() - t0;
    },
    decide: (i) => evaluateAuthz(m, workloads[reqs[i]!.target]!, attrs[i]!).allowed,
  };

  if (cedar) {
    const c = cedar;
    const { text } = toCedar(set);
    const id = `b2-${R}`;
    const calls = reqs.map((q) => {
      const src = set.workloads[q.source]!;
      return {
        principal: { type: 'Workload', id: src.principal },
        action: { type: 'Action', id: q.method },
        resource: { type: 'Workload', id: set.workloads[q.target]!.id },
        context: { namespace: src.namespace, path: q.path, port: q.port },
        preparsedPolicySetId: id,
        entities: [],
      };
    });
    out['cedar-wasm'] = {
      setup: () => {
        const t0 = performance.now();
        const a = c.preparsePolicySet(id, { staticPolicies: text });
        if (a.type !== 'success') throw new Error(`cedar rejected the policy set: ${JSON.stringify(a.errors.slice(0, 2))}`);
        return performance.now() - t0;
      },
      decide: (i) => {
        const a = c.statefulIsAuthorized(calls[i]!);
        if (a.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(a.errors.slice(0, 2))}`);
        return a.response.decision === 'allow';
      },
    };
  }

  if (casbin) {
    const cb = casbin;
    const { lines } = toCasbin(set);
    const csv = lines.map((l) => `p, ${l.join(', ')}`).join('\n');
    const args = reqs.map((q) => {
      const src = set.workloads[q.source]!;
      return [src.principal, src.namespace, set.workloads[q.target]!.id, q.method, q.path, String(q.port)];
    });
    let e: Awaited<ReturnType<CasbinModule['newEnforcer']>> | null = null;
    out.casbin = {
      setup: async () => {
        const t0 = performance.now();
        e = await cb.newEnforcer(cb.newModelFromString(CASBIN_MODEL), new cb.StringAdapter(csv));
        return performance.now() - t0;
      },
      decide: (i) => (e as NonNullable<typeof e>).enforceSync(...args[i]!),
    };
  }
  return out;
}

// ------------------------------------------------------------------ main

for (const R of sizes) {
  const p = prepare(R);
  const { lines, fillers } = casbin ? toCasbin(p.set) : { lines: [], fillers: 0 };
  const params = { rules: R, workloads: p.set.workloads.length, namespaces: p.set.namespaces.length, requests: p.set.requests.length };
  const impls: Impl[] = ['cedar-wasm', 'meshrange', 'casbin'];
  const live = impls.filter((impl) => {
    const e = engines(p, R, -1)[impl];
    if (typeof e === 'string') { missing('B2-authz', impl, params, seed, e); return false; }
    return true;
  });
  process.stderr.write(`B2 R=${R}: loader ${p.loadMs.toFixed(0)} ms, ${(p.allowedShare * 100).toFixed(1)} % of requests allowed (reference), casbin lines ${lines.length}, fillers ${fillers}\n`);
  const sizing = new Map<Impl, number>();
  await interleave(live, async (impl, round) => {
    const e = engines(p, R, round)[impl] as Engine;
    e.before?.();
    settle();
    const setupMs = await e.setup();
    const L = p.attrs.length;
    // Calibrate in the first round (two ~50 ms windows, the faster one counts; this is warm-up too) and keep n
    // for the later rounds, so every round of an engine does the same work; then warm up to >= 10 % of n.
    let calls = 0;
    let n = sizing.get(impl);
    if (n === undefined) {
      let best = Infinity;
      for (let w = 0; w < 2; w++) {
        const t0 = performance.now();
        let c = 0;
        while (c < L * 32 && (c < 2 || performance.now() - t0 < 50)) { e.decide(calls++ % L); c++; }
        best = Math.min(best, (performance.now() - t0) / 1000 / c);
      }
      n = Math.max(16, Math.min(L * 64, Math.round(target / Math.max(best, 1e-8))));
      sizing.set(impl, n);
    }
    for (let i = calls; i < Math.ceil(n / 10); i++) e.decide(i % L);
    let ok = true;
    let checked = 0;
    const got = new Uint8Array(n);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) got[i] = e.decide(i % L) ? 1 : 0;
    const wall = (performance.now() - t0) / 1000;
    for (let i = 0; i < n; i++) {
      checked++;
      if ((got[i] === 1) !== p.expected[i % L]) ok = false;
    }
    const info: Record<string, unknown> = {
      unit: 'decisions/s', us_per_decision: Number(((wall / n) * 1e6).toPrecision(4)), decisions: n, setup_ms: Number(setupMs.toFixed(2)),
      checked, allowed_share: Number(p.allowedShare.toFixed(3)),
    };
    if (impl === 'meshrange') info['load_ms'] = Number(p.loadMs.toFixed(1));
    if (impl === 'casbin') info['policy_lines'] = lines.length;
    if (impl !== 'meshrange') info['fillers'] = fillers;
    emit({ bench: 'B2-authz', impl, params, seed, wall_s: wall, rate: n / wall, rss_mb: peakRssMb(), check: ok, info });
    e.teardown?.();
    return { wall_s: wall + setupMs / 1000 };
  });
}
