/**
 * B3 at 1,000 workloads, the pivot line (docs/benchmarks.md B3; issue 8):
 * `pivot exploit: all` from one foothold (front-0) on a generated mesh (bench/b3-gen.ts → src/generate),
 * against a plain bitset BFS over the same one-hop graph, in the same run.
 *
 *  - meshrange: the mesh is loaded from YAML by the real loader (not timed;
 *    its time is in `info.load_s`), then analysis/reachability.ts explores
 *    from team-0/front-0 with exploit all and depth 16 (the schema's maximum, enough
 *    to close the graph): every attempt (each Service port and each pod
 *    port of every workload not yet controlled, from every workload taken
 *    over at the previous hop) is decided by policy/decide.ts, memoised per
 *    source identity. Edges kept: those that got through (`edges:
 *    'allowed'`), as blast radius needs.
 *  - bitset: builds the one-hop graph from the generator's plain model
 *    (b3-gen.ts plainAllows, the same rules written by hand) as one
 *    Uint32Array row per workload, then a level-by-level BFS with the same
 *    depth. Timed: build + BFS.
 *
 * Each process runs one implementation once (so peak RSS is its own); the
 * warm-up (>= 10 % of the work, in-process) explores a mesh a third the size
 * (about a ninth of the decisions) first. bench/run.ts interleaves the
 * processes: bitset, meshrange, bitset, meshrange, ...
 *
 * Correctness rider (meshrange): the reached set and each workload's hop
 * equal the bitset BFS's, and a naive BFS — one decide() call per attempt,
 * no memo — from 3 sampled sources, depth 2, agrees with the explorer from
 * the same sources. Rider (bitset): its BFS equals a plain array BFS over
 * plainAllows.
 *
 *   npx tsx bench/b3-pivot.ts --impl meshrange|bitset [--workloads 1000] [--profile open] [--seed 1] [--round 0]
 */
import seedrandom from 'seedrandom';
import { attemptOptions, attemptRequest, attemptsOf, ReachabilityExplorer } from '../src/analysis/reachability.js';
import { loadMesh } from '../src/loader/load.js';
import type { Mesh, Workload } from '../src/model/types.js';
import { decide } from '../src/policy/decide.js';
import { generateB3, plainAllows, workloadId, type PlainMesh, type Profile } from './b3-gen.js';
import { argNumber, emit, peakRssMb, rssMb, settle } from './lib.js';

const DEPTH = 16;
const SAMPLED = 3;

function argString(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}

const impl = argString('impl', 'meshrange');
const n = argNumber('workloads', 1000);
const profile = argString('profile', 'open') as Profile;
const seed = argNumber('seed', 1);
const round = argNumber('round', 0);
const params = { workloads: n, profile, exploit: 'all', depth: DEPTH, foothold: 'team-0/front-0' };

/** Hop of each workload index reached from `from` (−1: never), exploit all, by a bitset BFS. */
function bitsetBfs(m: PlainMesh, from: number, depth: number): Int32Array {
  const words = (m.n + 31) >>> 5;
  const rows = new Uint32Array(m.n * words);
  for (let s = 0; s < m.n; s++) {
    const base = s * words;
    for (let d = 0; d < m.n; d++) if (d !== s && plainAllows(m, s, d)) rows[base + (d >>> 5)] = (rows[base + (d >>> 5)] as number) | (1 << (d & 31));
  }
  const hop = new Int32Array(m.n).fill(-1);
  const seen = new Uint32Array(words);
  seen[from >>> 5] = 1 << (from & 31);
  hop[from] = 0;
  let frontier = [from];
  const next = new Uint32Array(words);
  for (let h = 1; h <= depth && frontier.length > 0; h++) {
    next.fill(0);
    for (const s of frontier) {
      const base = s * words;
      for (let w = 0; w < words; w++) next[w] = (next[w] as number) | ((rows[base + w] as number) & ~(seen[w] as number));
    }
    const fresh: number[] = [];
    for (let w = 0; w < words; w++) {
      let bits = next[w] as number;
      if (bits === 0) continue;
      seen[w] = (seen[w] as number) | bits;
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const d = (w << 5) + b;
        hop[d] = h;
        fresh.push(d);
      }
    }
    frontier = fresh;
  }
  return hop;
}

/** The same BFS over plainAllows with plain arrays: the bitset's own rider. */
function arrayBfs(m: PlainMesh, from: number, depth: number): Int32Array {
  const hop = new Int32Array(m.n).fill(-1);
  hop[from] = 0;
  let frontier = [from];
  for (let h = 1; h <= depth && frontier.length > 0; h++) {
    const fresh: number[] = [];
    for (const s of frontier) for (let d = 0; d < m.n; d++) if (hop[d] === -1 && d !== s && plainAllows(m, s, d)) { hop[d] = h; fresh.push(d); }
    frontier = fresh;
  }
  return hop;
}


/** Naive BFS from one source: one decide() per attempt, no memo; exploit all. Hop of each reached id. */
function naiveBfs(mesh: Mesh, from: Workload, depth: number): Map<string, number> {
  const attempts = attemptsOf(mesh);
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
        fresh.push(mesh.workloads.find((w) => w.id === at) as Workload);
      }
    }
    frontier = fresh.sort((a, b) => (a.id < b.id ? -1 : 1));
  }
  return hops;
}

function runBitset(): void {
  const g = generateB3(n, profile, seed);
  // warm-up: the same on a third of the mesh
  bitsetBfs(generateB3(Math.max(100, Math.floor(n / 3)), profile, seed).plain, 0, DEPTH);
  settle();
  const rss0 = rssMb();
  const t0 = performance.now();
  const hop = bitsetBfs(g.plain, 0, DEPTH);
  const wall = (performance.now() - t0) / 1000;
  const rssGrowth = rssMb() - rss0;
  const ref = arrayBfs(g.plain, 0, DEPTH);
  const check = hop.every((h, i) => h === ref[i]);
  const reached = hop.filter((h) => h > 0).length;
  emit({ bench: 'B3-pivot', impl: 'bitset', params, seed, wall_s: wall, rate: null, rss_mb: peakRssMb(), check,
    info: { round, reached, hops: Math.max(...hop), pairs: n * (n - 1), rss_growth_mb: Math.round(rssGrowth) } });
}

function runMeshrange(): void {
  const load = (size: number): { mesh: Mesh; plain: PlainMesh; load_s: number } => {
    const g = generateB3(size, profile, seed);
    const t = performance.now();
    const { mesh, issues } = loadMesh(g.files);
    if (issues.hasErrors()) throw new Error(`generated mesh does not load: ${issues.errors[0]?.message ?? ''}`);
    return { mesh, plain: g.plain, load_s: (performance.now() - t) / 1000 };
  };
  // warm-up: exploit all on a mesh a third the size (about a ninth of the decisions), in-process
  const warm = load(Math.max(100, Math.floor(n / 3)));
  new ReachabilityExplorer(warm.mesh, { edges: 'allowed' }).explore({ from: [workloadId(warm.plain, 0)], exploit: 'all', depth: DEPTH });
  const { mesh, plain, load_s } = load(n);
  settle();
  const rss0 = rssMb();
  const t0 = performance.now();
  const ex = new ReachabilityExplorer(mesh, { edges: 'allowed' });
  const r = ex.explore({ from: [workloadId(plain, 0)], exploit: 'all', depth: DEPTH });
  const indexOf = ((m: Map<string, number>) => (id: string): number => m.get(id) ?? -1)(new Map(Array.from({ length: n }, (_, i) => [workloadId(plain, i), i])));
  const wall = (performance.now() - t0) / 1000;
  const rssGrowth = rssMb() - rss0;
  const peak = peakRssMb();

  // Rider 1: the same reached set and hops as the bitset BFS over the plain model.
  const ref = bitsetBfs(plain, 0, DEPTH);
  const hopOf = new Map(r.nodes.filter((x) => x.hop !== null).map((x) => [x.id, x.hop as number]));
  let agree = hopOf.size === ref.filter((h) => h >= 0).length;
  for (const [id, h] of hopOf) if (ref[indexOf(id)] !== h) agree = false;
  // Rider 2: a naive BFS (no memo) from sampled sources agrees with the explorer from them.
  const rng = seedrandom(`b3-pivot/sample/${seed}`);
  const sampled = Array.from({ length: SAMPLED }, () => mesh.workloads[Math.floor(rng() * mesh.workloads.length)] as Workload);
  let naiveOk = true;
  for (const s of sampled) {
    const mine = new ReachabilityExplorer(mesh, { edges: 'allowed' }).explore({ from: [s.id], exploit: 'all', depth: 2 });
    const naive = naiveBfs(mesh, s, 2);
    const got = new Map(mine.nodes.filter((x) => x.hop !== null).map((x) => [x.id, x.hop as number]));
    if (got.size !== naive.size || [...naive].some(([id, h]) => got.get(id) !== h)) naiveOk = false;
  }
  emit({ bench: 'B3-pivot', impl: 'meshrange', params, seed, wall_s: wall, rate: r.decisions / wall, rss_mb: peak, check: agree && naiveOk,
    info: { round, reached: r.reached.length, hops: r.hops, decisions: r.decisions, memo_hits: r.memoHits, edges_allowed: r.edges.length,
      attempts_per_source: ex.attempts.length, load_s: Number(load_s.toFixed(3)), rss_growth_mb: Math.round(rssGrowth),
      agrees_with_bitset: agree, naive_bfs_sampled: sampled.map((w) => w.id), naive_bfs_agrees: naiveOk } });
}

if (impl === 'bitset') runBitset();
else if (impl === 'meshrange') runMeshrange();
else throw new Error(`--impl must be meshrange or bitset, not ${impl}`);
