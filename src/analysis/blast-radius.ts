/**
 * Blast radius (product.md §4): what each foothold can reach, multi-hop — the
 * `pivot` of §3.1 run from every foothold (every workload, and `outside` when
 * asked), `exploit: all` unless told otherwise.
 *
 * Rules:
 *  - The exploration is THE explorer of analysis/reachability.ts, the one the
 *    pivot action uses; one explorer serves every foothold, so a source
 *    identity's one-hop decisions are paid once for the whole table.
 *  - `reached` is every workload whose app accepted an attempt, with the hop it
 *    was first reached at (sorted by hop, then id); `compromised` the workloads
 *    the attacker controls at the end (the foothold included), as pivot's.
 *  - `edges` is the reach graph drawn by dot / mermaid: every (from → to)
 *    workload pair with an attempt that got through in some exploration,
 *    with the ports it got through on; sorted, each pair once.
 *  - Bounded: `depth` within 1..MAX_DEPTH, and the work an exploration may
 *    need (footholds × attacking workloads × attempts) within `maxWork`;
 *    beyond, `blastRadius` refuses with an error value (the caller says how to
 *    narrow it), never a hang.
 *  - Deterministic: footholds in sorted order (`outside` first when asked),
 *    the explorer's own order within.
 *  - A hop is a workload's own connection, with its own identity: the
 *    attacker's own process (stolen certificates, capabilities, plaintext
 *    around a gateway pod's proxy) is the pivot's (reachability.ts), not
 *    asked for here — the class graph of large meshes models the workloads'
 *    own connections, and both paths must give the same answer.
 */
import { buildOneHopGraphByClass, ClassGraphTooLarge } from './reach-classes.js';
import { bfsLevels } from './reach-graph.js';
import { ReachabilityExplorer, type ExploitRule, type ExplorerOptions } from './reachability.js';
import type { Mesh } from '../model/types.js';
import { grouped } from '../core/text.js';

export const DEFAULT_BLAST_DEPTH = 3;
export const MAX_BLAST_DEPTH = 32;
/** attempt visits a blast radius may need at most (footholds × attackers × attempts) before it is refused as too large */
export const MAX_BLAST_WORK = 200_000_000;
/**
 * decide() calls the one-hop graph (the path past MAX_BLAST_WORK) may make:
 * ~20 µs each, so minutes at most. A generated 100,000-workload mesh takes
 * 0.3-0.7 M; a mesh whose policies tell every principal apart takes one per
 * source and attempt, and is refused.
 */
export const MAX_BLAST_GRAPH_DECISIONS = 10_000_000;
/** allowed one-hop attempts the graph may hold (a densely connected mesh has N² of them) */
export const MAX_BLAST_GRAPH_EDGES = 20_000_000;
/** (foothold, reached workload) entries a blast radius may list: the answer itself must fit in memory */
export const MAX_BLAST_REACHED = 20_000_000;

export interface BlastRadiusOptions {
  /** footholds (`ns/name` or `outside`); default: every workload */
  from?: readonly string[];
  /** which reached workloads the attacker takes over; default `all` */
  exploit?: 'all' | readonly string[];
  /** hops, 1..MAX_BLAST_DEPTH; default 3 */
  depth?: number;
  /** crown jewels: each foothold says which of them it reaches */
  crown?: readonly string[];
  /** decide() options (certificate state, ext-authz stand-ins) */
  decide?: ExplorerOptions['decide'];
  /** the work bound of the per-foothold exploration (default MAX_BLAST_WORK) */
  maxWork?: number;
  /** the decision bound of the one-hop graph past it (default MAX_BLAST_GRAPH_DECISIONS) */
  maxGraphDecisions?: number;
  /** its edge bound (default MAX_BLAST_GRAPH_EDGES) */
  maxGraphEdges?: number;
  /** the most (foothold, reached) entries listed (default MAX_BLAST_REACHED) */
  maxReached?: number;
  /** the most nodes and edges the per-foothold searches over the graph may visit, all together (default MAX_BLAST_WORK) */
  maxSearchWork?: number;
}

export interface BlastFoothold {
  from: string;
  reached: { id: string; hop: number }[];
  compromised: string[];
  /** the hop at which the last new workload was reached (0: none) */
  hops: number;
  /** the crown jewels this foothold reaches (only with `crown`) */
  crown?: string[];
}

export interface BlastEdge {
  from: string;
  to: string;
  /** workload ports an attempt got through on, ascending */
  ports: number[];
}

export interface BlastRadius {
  depth: number;
  exploit: 'all' | string[];
  crown: string[];
  footholds: BlastFoothold[];
  edges: BlastEdge[];
  /** decide() calls made, and attempts answered from the explorer's memo */
  decisions: number;
  memoHits: number;
}

export type BlastRadiusResult =
  | { ok: true; value: BlastRadius }
  | { ok: false; code: 'unknown-workload' | 'bad-depth' | 'too-large'; message: string; hint: string };

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Workload ids of the mesh nearest to `name` (same name in another namespace, or a shared prefix), for an error message. */
export function nearNames(mesh: Mesh, name: string, max = 5): string[] {
  const want = name.toLowerCase();
  const short = want.includes('/') ? want.slice(want.indexOf('/') + 1) : want;
  const score = (id: string): number => {
    const l = id.toLowerCase();
    const s = l.slice(l.indexOf('/') + 1);
    if (s === short) return 0;
    if (s.startsWith(short) || short.startsWith(s)) return 1;
    if (l.includes(short) || (short.length >= 3 && s.includes(short.slice(0, 3)))) return 2;
    return 3 + editDistance(short, s);
  };
  return mesh.workloads.map((w) => w.id).map((id) => ({ id, s: score(id) })).sort((a, b) => a.s - b.s || byId(a.id, b.id)).slice(0, max).map((x) => x.id);
}

/** Levenshtein distance on at most 64 characters of each (bounded work on hostile names). */
function editDistance(a: string, b: string): number {
  const x = a.slice(0, 64);
  const y = b.slice(0, 64);
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length] as number;
}

/** With an exploit list and every workload a foothold, the one-hop graph answers past this much per-foothold work. */
const LIST_GRAPH_WORK = 1_000_000;

export function blastRadius(mesh: Mesh, opts: BlastRadiusOptions = {}): BlastRadiusResult {
  const depth = opts.depth ?? DEFAULT_BLAST_DEPTH;
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_BLAST_DEPTH) {
    return { ok: false, code: 'bad-depth', message: `depth ${depth} is out of range`, hint: `give a whole number of hops from 1 to ${MAX_BLAST_DEPTH}` };
  }
  const known = new Set(mesh.workloads.map((w) => w.id));
  const check = (ids: readonly string[], what: string, outsideOk: boolean, also = ''): BlastRadiusResult | null => {
    for (const id of ids) {
      if (known.has(id) || (outsideOk && id === 'outside')) continue;
      return { ok: false, code: 'unknown-workload', message: `${what} ${id} is not a workload of the mesh`,
        hint: `name a workload as namespace/name${also}; nearest: ${nearNames(mesh, id).join(', ') || '(the mesh has no workloads)'}` };
    }
    return null;
  };
  const bad = check(opts.from ?? [], '--from', true, ', or outside')
    ?? check(opts.exploit === 'all' || opts.exploit === undefined ? [] : opts.exploit, '--exploit', false, ' (a comma-separated list), or all, or none')
    ?? check(opts.crown ?? [], '--crown', false);
  if (bad) return bad;

  const fromList = opts.from && opts.from.length > 0 ? [...new Set(opts.from)] : mesh.workloads.map((w) => w.id);
  const footholds = fromList.sort((a, b) => (a === 'outside' ? -1 : b === 'outside' ? 1 : byId(a, b)));
  const exploit: ExploitRule = opts.exploit === undefined || opts.exploit === 'all' ? 'all' : [...opts.exploit];
  const explorerOpts: ExplorerOptions = { edges: 'allowed' };
  if (opts.decide) explorerOpts.decide = opts.decide;
  const explorer = new ReachabilityExplorer(mesh, explorerOpts);
  const attackers = exploit === 'all' ? mesh.workloads.length : Math.min(mesh.workloads.length, (exploit as readonly string[]).length + 1);
  const work = footholds.length * Math.max(1, attackers) * explorer.attempts.length;
  const limit = opts.maxWork ?? MAX_BLAST_WORK;
  const everyWorkload = !opts.from || opts.from.length === 0;
  if (everyWorkload && (work > limit || (exploit !== 'all' && work > LIST_GRAPH_WORK))) {
    // Every workload a foothold: each foothold's exploration is a BFS over the one-hop graph (expanding the workloads
    // the exploit rule lets the attacker take over), which the class graph builds deciding each attempt once per class
    // of sources the target cannot tell apart. Past the per-foothold bound it is the only way; with an exploit list
    // (`none` included) it is also far cheaper than the footholds one at a time, each deciding every attempt again.
    const crown = [...new Set(opts.crown ?? [])].sort(byId);
    const viaGraph = blastByGraph(explorer, depth, crown, exploit === 'all' ? 'all' : exploit as readonly string[], {
      decisions: opts.maxGraphDecisions ?? MAX_BLAST_GRAPH_DECISIONS, edges: opts.maxGraphEdges ?? MAX_BLAST_GRAPH_EDGES,
      reached: opts.maxReached ?? MAX_BLAST_REACHED, work: opts.maxSearchWork ?? MAX_BLAST_WORK,
    });
    if (viaGraph.ok) return viaGraph;
    if (work > limit) {
      return { ok: false, code: 'too-large', message: `this blast radius may need up to ${grouped(work)} attempts explored one foothold at a time, and ${viaGraph.why}`,
        hint: 'narrow it with --from (a few footholds), --exploit (the workloads an attacker can take over) or --depth' };
    }
  }
  if (work > limit) {
    return { ok: false, code: 'too-large', message: `this blast radius may need up to ${grouped(work)} attempts (${grouped(footholds.length)} footholds × ${grouped(attackers)} attacking workloads × ${grouped(explorer.attempts.length)} attempts); the limit is ${grouped(limit)}`,
      hint: 'narrow it with --from (a few footholds), --exploit (the workloads an attacker can take over) or --depth' };
  }

  const crown = [...new Set(opts.crown ?? [])].sort(byId);
  const edgePorts = new Map<string, Set<number>>();
  const out: BlastFoothold[] = [];
  let decisions = 0;
  let memoHits = 0;
  for (const f of footholds) {
    const r = explorer.explore({ from: [f], exploit, depth });
    decisions += r.decisions;
    memoHits += r.memoHits;
    for (const e of r.edges) {
      if (e.outcome !== 'allowed') continue;
      const to = e.deliveredTo === undefined ? e.to : e.deliveredTo;
      if (to === null) continue;
      const key = `${e.from}\u0000${to}`;
      let ports = edgePorts.get(key);
      if (!ports) { ports = new Set(); edgePorts.set(key, ports); }
      ports.add(e.port);
    }
    const reached = r.nodes.filter((n) => n.hop !== null && n.hop > 0).map((n) => ({ id: n.id, hop: n.hop as number }));
    const fh: BlastFoothold = { from: f, reached, compromised: r.compromised, hops: r.hops };
    if (crown.length > 0) {
      const got = new Set([...r.reached, ...r.compromised]);
      fh.crown = crown.filter((c) => got.has(c));
    }
    out.push(fh);
  }
  const edges: BlastEdge[] = [...edgePorts.entries()].map(([k, ports]) => {
    const [from, to] = k.split('\u0000') as [string, string];
    return { from, to, ports: [...ports].sort((a, b) => a - b) };
  }).sort((a, b) => byId(a.from, b.from) || byId(a.to, b.to));
  return { ok: true, value: { depth, exploit: exploit === 'all' ? 'all' : [...(exploit as readonly string[])].sort(byId), crown, footholds: out, edges, decisions, memoHits } };
}

/**
 * The blast radius of every workload, exploit all, from the one-hop graph
 * (reach-classes.ts): the per-foothold exploration's answer, field for field,
 * when no allowed attempt lands on another workload than the one dialled
 * (reach-graph.ts header: then reach does not depend on the order workloads
 * are taken over). Every workload being a foothold, every allowed one-hop
 * attempt is in some exploration: the edges are the graph's, with the ports.
 * `decisions` counts the graph's decide() calls; `memoHits` is 0.
 */
function blastByGraph(explorer: ReachabilityExplorer, depth: number, crown: readonly string[], exploit: 'all' | readonly string[],
  max: { decisions: number; edges: number; reached: number; work: number }): { ok: true; value: BlastRadius } | { ok: false; why: string } {
  let g: ReturnType<typeof buildOneHopGraphByClass>;
  try {
    g = buildOneHopGraphByClass(explorer, undefined, { ports: true, maxDecisions: max.decisions, maxEdges: max.edges });
  } catch (e) {
    if (e instanceof ClassGraphTooLarge) {
      return { ok: false, why: e.what === 'decisions'
        ? `the one-hop graph more than ${grouped(e.limit)} decisions (its policies tell too many sources apart)`
        : `the one-hop graph more than ${grouped(e.limit)} allowed attempts (the mesh is too densely connected to list every foothold's reach)` };
    }
    throw e;
  }
  if (g.misdelivered > 0) return { ok: false, why: `the one-hop graph cannot stand in for it: ${grouped(g.misdelivered)} allowed attempts land on another workload than the one dialled (a VirtualService or gateway), so reach depends on the order workloads are taken over` };
  const n = g.ids.length;
  const level = new Int32Array(n).fill(-1);
  const order = g.ids.map((id, i) => ({ id, i })).sort((a, b) => byId(a.id, b.id));
  const footholds: BlastFoothold[] = [];
  // Bounded like the explorations: the searches' work (nodes and edges visited) and the entries listed.
  let work = 0;
  let listed = 0;
  // with an exploit list, only the foothold and the workloads of the list it reaches are taken over and act (the
  // explorer's rule): a BFS that expands those only; `none` is the empty list (one hop)
  const takeable = exploit === 'all' ? null : new Uint8Array(n);
  if (takeable !== null) for (const id of exploit) { const i = g.index.get(id); if (i !== undefined) takeable[i] = 1; }
  for (const { id: f, i: start } of order) {
    const touched: number[] = [start];
    level[start] = 0;
    const hops = bfsLevels(g, [start], depth, level, touched, takeable ?? undefined);
    for (const t of touched) if ((level[t] as number) < depth) work += (g.offsets[t + 1] as number) - (g.offsets[t] as number);
    work += touched.length;
    listed += touched.length - 1;
    if (work > max.work || listed > max.reached) {
      return { ok: false, why: work > max.work
        ? `the searches over the one-hop graph more than ${grouped(max.work)} steps`
        : `the answer more than ${grouped(max.reached)} (foothold, reached workload) entries` };
    }
    const reached = touched.slice(1).map((t) => ({ id: g.ids[t] as string, hop: level[t] as number }))
      .sort((a, b) => a.hop - b.hop || byId(a.id, b.id));
    const compromised = touched.filter((t) => takeable === null || t === start || takeable[t] === 1).map((t) => g.ids[t] as string).sort(byId);
    const fh: BlastFoothold = { from: f, reached, compromised, hops };
    if (crown.length > 0) { const got = new Set(touched.map((t) => g.ids[t] as string)); fh.crown = crown.filter((c) => got.has(c)); }
    footholds.push(fh);
    for (const t of touched) level[t] = -1;
  }
  // Edges with their ports: (from, to) pairs sorted by id, ports ascending, each once.
  const ep = g.edgePorts as NonNullable<typeof g.edgePorts>;
  const rank = new Int32Array(n);
  order.forEach((o, r) => { rank[o.i] = r; });
  const idx = Array.from({ length: ep.count }, (_, k) => k).sort((a, b) =>
    (rank[ep.src[a] as number] as number) - (rank[ep.src[b] as number] as number)
    || (rank[ep.dst[a] as number] as number) - (rank[ep.dst[b] as number] as number)
    || (ep.port[a] as number) - (ep.port[b] as number));
  const edges: BlastEdge[] = [];
  let last: BlastEdge | null = null;
  let lastSrc = -1;
  let lastDst = -1;
  for (const k of idx) {
    const s = ep.src[k] as number;
    const d = ep.dst[k] as number;
    const port = ep.port[k] as number;
    if (last !== null && s === lastSrc && d === lastDst) {
      if (last.ports[last.ports.length - 1] !== port) last.ports.push(port);
      continue;
    }
    last = { from: g.ids[s] as string, to: g.ids[d] as string, ports: [port] };
    lastSrc = s; lastDst = d;
    edges.push(last);
  }
  return { ok: true, value: { depth, exploit: exploit === 'all' ? 'all' : [...exploit].sort(byId), crown: [...crown], footholds, edges, decisions: g.stats.decisions, memoHits: 0 } };
}
