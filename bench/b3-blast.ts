/**
 * B3 — blast radius at scale (docs/benchmarks.md B3, issue 13 item 3): exploit
 * all, on meshes of `meshrange generate` (src/generate via bench/b3-gen.ts) of
 * 100 / 1,000 / 10,000 / 100,000 workloads, profiles open / strict / segmented.
 * One implementation per process (so peak RSS is its own); bench/run.ts
 * interleaves them. Timed separately, then summed into wall_s:
 *
 *  1. graph    — the one-hop graph. meshrange: every attempt of every workload
 *                decided by policy/decide.ts, once per class of sources the
 *                target cannot tell apart (analysis/reach-classes.ts
 *                buildOneHopGraphByClass, held to the plain per-pair graph by
 *                test/analysis/reach-classes.test.ts). bitset: the same
 *                graph read off the plain model (each workload's callers, the
 *                over-broad rule, the NetworkPolicy admit lists).
 *     Node ids are the generator's workload order in both.
 *  2. scc      — condense strongly connected components (iterative Tarjan).
 *  3. blast100 — blast radius (reach at any depth) from 100 sampled footholds, BFS on the graph.
 *  4. closure  — every source's blast radius: bitsets over components.
 * Both implementations share steps 2–4 (reach-graph.ts): the ratio isolates what
 * exact decisions cost against a hand-written model.
 *
 * Loading (meshrange, untimed but in the peak RSS): a child step (`--impl write-mesh --out DIR`) writes the
 * generated manifests to a temporary folder, and the measured process reads that folder with the CLI's
 * reader (cli/fs.ts FsSource, as `meshrange blast-radius --mesh <folder>` does, but without the 32 MiB a
 * scenario may read: a 100,000-workload mesh is ~110 MiB, which the CLI refuses) and loads it with the
 * streamed YAML loader, dropping the texts once loaded: it never holds the generator's output at all. The warm-up graph (a smaller
 * generated mesh) runs before that load and is dropped, so it is not part of the measured mesh's peak.
 * The plain model (the riders' reference) gives the node ids and footholds and is let go before the load; the
 * riders make it again after the peak is read.
 * Peak RSS is thus the process that loads the mesh and analyses it, as a user's would be.
 *
 * Budget: the meshrange graph is first built for a stride sample of targets;
 * when the whole graph is projected to take longer than --budget-s (default
 * 600), the run stops there and prints the projection (wall_s null, check
 * null, info.projected_graph_s): a figure measured on a sample, not a run.
 *
 * Correctness riders (meshrange): the graph equals the plain model's edge for
 * edge; a naive BFS (one decide() per attempt, no memo, depth 2) from 3 sampled
 * sources equals graph reach at depth 2; the 100 footholds' blast radii equal
 * a plain BFS over plainAllows. Rider (bitset): the closure counts equal that
 * plain BFS on the 100 footholds.
 *
 *   node bench/.cache/js/bench/b3-blast.js --impl meshrange|bitset|write-mesh --workloads N --profile P [--seed 1] [--round 0] [--budget-s 600] [--out DIR (write-mesh)]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import seedrandom from 'seedrandom';
import { buildOneHopGraphByClass } from '../src/analysis/reach-classes.js';
import { blastCount, closure, condense, reachFrom, type OneHopGraph } from '../src/analysis/reach-graph.js';
import { attemptOptions, attemptRequest, attemptsOf, ReachabilityExplorer } from '../src/analysis/reachability.js';
import { FsSource, Sandbox } from '../src/cli/fs.js';
import { IssueList } from '../src/core/issues.js';
import { admits, generateTopology } from '../src/generate/topology.js';
import { loadMesh, type SourceFile } from '../src/loader/load.js';
import type { Mesh, Workload } from '../src/model/types.js';
import { decide } from '../src/policy/decide.js';
import { generateB3, plainAllows, workloadId, type PlainMesh, type Profile } from './b3-gen.js';
import { argNumber, emit, peakRssMb, settle } from './lib.js';

const FOOTHOLDS = 100;
const NAIVE = 3;

function argString(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}

const impl = argString('impl', 'meshrange');
const n = argNumber('workloads', 1000);
const profile = argString('profile', 'strict') as Profile;
const seed = argNumber('seed', 1);
const round = argNumber('round', 0);
const budget = argNumber('budget-s', 600);
const params = { workloads: n, profile, exploit: 'all' };

/** The one-hop graph of the plain model, from each workload's policy (callers, over-broad, admit lists): O(edges + N). */
function plainGraph(t: PlainMesh): OneHopGraph {
  const ids = Array.from({ length: t.n }, (_, i) => workloadId(t, i));
  const rows: number[][] = Array.from({ length: t.n }, () => []);
  for (let d = 0; d < t.n; d++) {
    if (d === t.overBroad) {
      for (let s = 0; s < t.n; s++) if (s !== d && admits(t, t.ns[d] as number, t.ns[s] as number)) (rows[s] as number[]).push(d);
      continue;
    }
    for (const c of t.callers[d] as Int32Array) if (admits(t, t.ns[d] as number, t.ns[c] as number)) (rows[c] as number[]).push(d);
  }
  const offsets = new Int32Array(t.n + 1);
  const targets = new Int32Array(rows.reduce((a, r) => a + r.length, 0));
  let k = 0;
  rows.forEach((r, i) => { r.sort((a, b) => a - b); targets.set(r, k); k += r.length; offsets[i + 1] = k; });
  return { ids, index: new Map(ids.map((id, i) => [id, i])), offsets, targets, misdelivered: 0, decisions: 0, memoHits: 0 };
}

/** Reach (at any depth) of one source by a BFS over plainAllows, no graph: the riders' reference. */
function plainBlast(t: PlainMesh, s: number): number {
  const seen = new Uint8Array(t.n);
  seen[s] = 1;
  const todo = [s];
  let count = 0;
  while (todo.length > 0) {
    const v = todo.pop() as number;
    // the plain model's one-hop targets of v: its callees and the over-broad workload, where admitted
    const cand = [...(t.callees[v] as Int32Array), t.overBroad];
    for (const d of cand) if (seen[d] === 0 && plainAllows(t, v, d)) { seen[d] = 1; count++; todo.push(d); }
  }
  return count;
}

function sampleFootholds(t: PlainMesh): number[] {
  const rng = seedrandom(`b3-blast/footholds/${seed}`);
  return Array.from({ length: Math.min(FOOTHOLDS, t.n) }, () => Math.floor(rng() * t.n));
}

interface Phases { graph: number; scc: number; blast100: number; closure: number }

function analyse(g: OneHopGraph, footholds: readonly number[]): { phases: Omit<Phases, 'graph'>; blast: number[]; comps: number; maxBlast: number; meanBlast: number } {
  let t = performance.now();
  const c = condense(g);
  const scc = (performance.now() - t) / 1000;
  t = performance.now();
  const blast = footholds.map((f) => reachFrom(g, [g.ids[f] as string], g.ids.length).reached.length);
  const blast100 = (performance.now() - t) / 1000;
  t = performance.now();
  const cl = closure(g, c);
  const close = (performance.now() - t) / 1000;
  let max = 0;
  let sum = 0;
  for (const id of g.ids) { const b = blastCount(g, cl, id); sum += b; if (b > max) max = b; }
  return { phases: { scc, blast100, closure: close }, blast, comps: c.count, maxBlast: max, meanBlast: sum / g.ids.length };
}

const round3 = (x: number): number => Number(x.toFixed(3));

function runBitset(): void {
  const t = generateB3(n, profile, seed).plain;
  const footholds = sampleFootholds(t);
  analyse(plainGraph(generateB3(Math.max(100, Math.floor(n / 3)), profile, seed).plain), footholds.map((f) => f % Math.max(100, Math.floor(n / 3))));
  settle();
  const t0 = performance.now();
  const g = plainGraph(t);
  const graph = (performance.now() - t0) / 1000;
  const a = analyse(g, footholds);
  const wall = graph + a.phases.scc + a.phases.blast100 + a.phases.closure;
  const check = footholds.every((f, i) => a.blast[i] === plainBlast(t, f));
  emit({ bench: 'B3-blast', impl: 'bitset', params, seed, wall_s: wall, rate: null, rss_mb: peakRssMb(), check,
    info: { round, phases_s: { graph: round3(graph), scc: round3(a.phases.scc), blast100: round3(a.phases.blast100), closure: round3(a.phases.closure) },
      edges: g.targets.length, components: a.comps, max_blast: a.maxBlast, mean_blast: Number(a.meanBlast.toFixed(1)) } });
}

/** Naive BFS from one source, depth 2: one decide() per attempt, no memo, no graph. */
function naiveReach(mesh: Mesh, from: Workload, depth: number): string[] {
  const attempts = attemptsOf(mesh);
  const byId = new Map(mesh.workloads.map((w) => [w.id, w]));
  const hops = new Map<string, number>([[from.id, 0]]);
  let frontier = [from];
  for (let h = 1; h <= depth && frontier.length > 0; h++) {
    const owned = new Set(hops.keys());
    const fresh: Workload[] = [];
    for (const src of frontier) {
      for (const a of attempts) {
        if (a.target.id === src.id || owned.has(a.target.id)) continue;
        const d = decide(mesh, attemptRequest({ kind: 'workload', workload: src }, a), attemptOptions(a));
        const at = d.outcome === 'allowed' ? d.destination?.workload : undefined;
        if (at === undefined || hops.has(at)) continue;
        hops.set(at, h);
        fresh.push(byId.get(at) as Workload);
      }
    }
    frontier = fresh;
  }
  return [...hops.keys()].filter((id) => id !== from.id).sort();
}

/** `--impl write-mesh --out DIR`: the child step that writes the generated manifests (one file per namespace) to DIR. */
function writeMesh(): void {
  const out = argString('out', '');
  if (out === '') throw new Error('--impl write-mesh needs --out <folder>');
  for (const f of generateB3(n, profile, seed).files) {
    const p = path.join(out, f.path);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, f.text);
  }
}

function runMeshrange(): void {
  // The manifests are written to a folder by a child step (untimed), and this process reads and loads that folder
  // (header, "Loading"). The plain model (the riders' reference) is the topology alone.
  // warm-up (not timed), first, so that its mesh is gone before the measured one is loaded: the graph of a mesh a
  // third the size (at most 1,000 workloads)
  const wn = Math.min(1000, Math.max(100, Math.floor(n / 3)));
  buildOneHopGraphByClass(new ReachabilityExplorer(loadMesh(generateB3(wn, profile, seed).files).mesh, { edges: 'allowed' }));
  settle();
  const dir = mkdtempSync(path.join(tmpdir(), 'b3-mesh-'));
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1] as string, '--impl', 'write-mesh', '--workloads', String(n), '--profile', profile, '--seed', String(seed), '--out', dir], { stdio: 'inherit' });
  if (child.status !== 0) throw new Error(`writing the generated mesh failed (exit ${String(child.status)})`);
  // The node ids (the generator's workload order) and the footholds come from the plain model, which is then let go:
  // a user's process never holds it, so it is not part of the peak. The riders make it again once the peak is read.
  let ids: string[];
  let footholds: number[];
  {
    const t0 = generateTopology({ workloads: n, profile, seed });
    ids = Array.from({ length: n }, (_, i) => workloadId(t0, i));
    footholds = sampleFootholds(t0);
  }
  settle();
  const l0 = performance.now();
  const issues = new IssueList();
  // The CLI's reader (cli/fs.ts FsSource) over the folder, without the 32 MiB a scenario may read (a 100,000-workload
  // mesh is ~110 MiB), then the loader; the texts are dropped once loaded.
  let files: SourceFile[] = new FsSource(new Sandbox([dir])).manifests(dir, issues);
  const { mesh, issues: loadIssues } = loadMesh(files);
  files = [];
  issues.merge(loadIssues);
  const loadS = (performance.now() - l0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  if (issues.hasErrors()) throw new Error(`generated mesh does not load: ${issues.errors[0]?.message ?? ''}`);
  settle();

  // Projection from a stride sample of targets (1 in 100, at least 5), before paying for the whole graph.
  const stride = Math.max(1, Math.min(100, Math.floor(n / 5)));
  const sampled = new Set(ids.filter((_, i) => i % stride === 0));
  const s0 = performance.now();
  buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' }), ids, { targets: (id) => sampled.has(id) });
  const perTarget = (performance.now() - s0) / 1000 / sampled.size;
  const projected = perTarget * n;
  if (projected > budget) {
    emit({ bench: 'B3-blast', impl: 'meshrange', params, seed, wall_s: null, rate: null, rss_mb: peakRssMb(), check: null,
      info: { round, not_run: `the one-hop graph is projected to take ${projected.toFixed(0)} s (> --budget-s ${budget})`,
        projected_graph_s: Math.round(projected), sampled_targets: sampled.size, ms_per_target: Number((perTarget * 1000).toFixed(2)),
        load_s: round3(loadS) } });
    return;
  }
  settle();
  const fresh = new ReachabilityExplorer(mesh, { edges: 'allowed' });
  const t0 = performance.now();
  const g = buildOneHopGraphByClass(fresh, ids);
  const graph = (performance.now() - t0) / 1000;
  const a = analyse(g, footholds);
  const wall = graph + a.phases.scc + a.phases.blast100 + a.phases.closure;
  const peak = peakRssMb();

  // Rider 1: the graph equals the plain model's, edge for edge.
  const t = generateTopology({ workloads: n, profile, seed });
  const plain = plainGraph(t);
  let sameGraph = g.ids.every((id, i) => id === plain.ids[i]) && g.targets.length === plain.targets.length;
  for (let i = 0; sameGraph && i <= n; i++) if (g.offsets[i] !== plain.offsets[i]) sameGraph = false;
  for (let k = 0; sameGraph && k < g.targets.length; k++) if (g.targets[k] !== plain.targets[k]) sameGraph = false;
  // Rider 2: the footholds' blast radii equal a plain BFS over plainAllows.
  const sameBlast = footholds.every((f, i) => a.blast[i] === plainBlast(t, f));
  // Rider 3: a naive BFS (no memo, no graph) from sampled sources, depth 2, equals graph reach at depth 2.
  const rng = seedrandom(`b3-blast/naive/${seed}`);
  const naive = Array.from({ length: NAIVE }, () => mesh.workloads[Math.floor(rng() * mesh.workloads.length)] as Workload);
  const naiveOk = naive.every((w) => JSON.stringify(naiveReach(mesh, w, 2)) === JSON.stringify(reachFrom(g, [w.id], 2).reached));
  emit({ bench: 'B3-blast', impl: 'meshrange', params, seed, wall_s: wall, rate: g.decisions / graph, rss_mb: peak, check: sameGraph && sameBlast && naiveOk && g.misdelivered === 0,
    info: { round, phases_s: { graph: round3(graph), scc: round3(a.phases.scc), blast100: round3(a.phases.blast100), closure: round3(a.phases.closure) },
      decisions: g.decisions, rechecked: g.stats.rechecked, attempts_per_source: fresh.attempts.length, edges: g.targets.length, components: a.comps,
      max_blast: a.maxBlast, mean_blast: Number(a.meanBlast.toFixed(1)), load_s: round3(loadS),
      rider: { same_graph_as_plain_model: sameGraph, footholds_blast_as_plain_bfs: sameBlast, naive_bfs_sampled: naive.map((w) => w.id), naive_bfs_agrees: naiveOk } } });
}

if (impl === 'bitset') runBitset();
else if (impl === 'meshrange') runMeshrange();
else if (impl === 'write-mesh') writeMesh();
else throw new Error(`--impl must be meshrange or bitset, not ${impl}`);
