/**
 * Blast radius at scale (issue 13 item 3): the one-hop graph of a mesh built
 * ONCE through the one explorer (reachability.ts — every edge decided by
 * policy/decide.ts, decisions shared across sources of one identity by its
 * memo), then every question answered on the graph without deciding again:
 *
 *  - `reachFrom`: multi-hop reach from footholds, exploit all, up to a depth —
 *    a BFS over the graph that gives the explorer's `reached`, `compromised`,
 *    per-workload hop and `hops`, exactly (test/analysis/reach-graph.test.ts
 *    holds it to ReachabilityExplorer.explore with fast-check);
 *  - `condense` + `closure`: strongly connected components (iterative
 *    Tarjan) and the reach of every component (a list while short, a bitset
 *    over components once long), filled in Tarjan's order (sinks first), for
 *    all-sources blast radius.
 *
 * When the graph is exact. The explorer does not attack a workload it
 * already controls; an attempt that a VirtualService or gateway delivers to
 * another workload than the one dialled (`deliveredTo`) would be skipped or
 * not depending on the order the workloads were taken over. The graph keeps
 * such edges and says so (`misdelivered` > 0): callers then ask the explorer
 * itself (blast radius from each foothold), which is exact in every case.
 * Plain one-hop edges (an attempt that lands on the workload dialled) never
 * depend on order.
 *
 * At scale, build the graph with reach-classes.ts buildOneHopGraphByClass: the
 * same graph, array for array, deciding each attempt once per class of sources
 * its target cannot tell apart instead of once per source identity (every
 * generated workload has its own principal, so the explorer's memo never hits).
 */
import type { ReachabilityExplorer, SourceRef } from './reachability.js';

export interface OneHopGraph {
  /** node ids: the sources asked for, in their order */
  ids: string[];
  index: Map<string, number>;
  /** CSR: the targets of node i are targets[offsets[i] .. offsets[i+1]), sorted, no duplicates, no self-loops */
  offsets: Int32Array;
  targets: Int32Array;
  /** allowed attempts that landed on another workload than the one dialled (see header) */
  misdelivered: number;
  /** decide() calls made building the graph, and attempts answered from the explorer's memo */
  decisions: number;
  memoHits: number;
}

/**
 * The one-hop graph from every workload of the explorer's mesh (or the given
 * sources): an edge s → t when one attempt from s got through to t's app.
 * Targets outside `sources` get no node and are dropped — pass every workload
 * (the default) for blast radius.
 */
export function buildOneHopGraph(explorer: ReachabilityExplorer, sources?: readonly SourceRef[]): OneHopGraph {
  const ids = sources ? [...sources] : explorer.mesh.workloads.map((w) => w.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const offsets = new Int32Array(ids.length + 1);
  let targets = new Int32Array(Math.max(16, ids.length * 4));
  let len = 0;
  let misdelivered = 0;
  let decisions = 0;
  let memoHits = 0;
  const row = new Set<number>();
  for (let i = 0; i < ids.length; i++) {
    row.clear();
    const id = ids[i] as string;
    const r = explorer.explore({ from: [id], exploit: () => false, depth: 1 });
    if (r.unlisted.allowed > 0) throw new Error('reach-graph: the explorer lists at most maxEdges edges; build the graph with an explorer without maxEdges');
    decisions += r.decisions;
    memoHits += r.memoHits;
    for (const e of r.edges) {
      if (e.outcome !== 'allowed') continue;
      const at = e.deliveredTo === undefined ? e.to : e.deliveredTo;
      if (at === null) continue;
      if (e.deliveredTo !== undefined && at !== e.to) misdelivered++;
      const j = index.get(at);
      if (j !== undefined && j !== i) row.add(j);
    }
    if (len + row.size > targets.length) {
      const grown = new Int32Array(Math.max(targets.length * 2, len + row.size));
      grown.set(targets.subarray(0, len));
      targets = grown;
    }
    const sorted = [...row].sort((a, b) => a - b);
    targets.set(sorted, len);
    len += sorted.length;
    offsets[i + 1] = len;
  }
  return { ids, index, offsets, targets: targets.slice(0, len), misdelivered, decisions, memoHits };
}

export interface GraphReach {
  /** sorted ids reached (an app accepted an attempt), footholds excluded */
  reached: string[];
  /** sorted ids controlled at the end, footholds included (exploit all) */
  compromised: string[];
  /** hop at which each reached id was first reached (footholds: 0) */
  hop: Map<string, number>;
  /** the hop at which the last new workload was reached (0: none) */
  hops: number;
}

/**
 * The BFS under reachFrom: from the nodes `start` (their level set to 0 by the caller), sets the level of every node
 * reached within `depth` hops and appends it to `touched`; returns the last hop that reached a new node (0: none).
 * `level` is -1 for every node not yet seen: a caller running many searches resets only the nodes it touched.
 * `takeable` (an exploit list, blast-radius.ts): only the nodes it marks go on to act; the others are reached only.
 */
export function bfsLevels(g: OneHopGraph, start: readonly number[], depth: number, level: Int32Array, touched: number[], takeable?: Uint8Array): number {
  let frontier = start;
  let hops = 0;
  for (let h = 1; h <= depth && frontier.length > 0; h++) {
    const fresh: number[] = [];
    for (const s of frontier) {
      for (let k = g.offsets[s] as number; k < (g.offsets[s + 1] as number); k++) {
        const t = g.targets[k] as number;
        if (level[t] !== -1) continue;
        level[t] = h;
        touched.push(t);
        hops = h;
        // with `takeable` (an exploit list), only the nodes it marks are taken over and act next hop
        if (takeable === undefined || takeable[t] === 1) fresh.push(t);
      }
    }
    frontier = fresh;
  }
  return hops;
}

/** Multi-hop reach from footholds with exploit all: a BFS over the graph, the explorer's result when `misdelivered` is 0. */
export function reachFrom(g: OneHopGraph, from: readonly SourceRef[], depth: number): GraphReach {
  const level = new Int32Array(g.ids.length).fill(-1);
  const hop = new Map<string, number>();
  const frontier: number[] = [];
  for (const f of [...new Set(from)].sort()) {
    const i = g.index.get(f);
    if (i === undefined) throw new Error(`reach-graph: ${f} is not a node of the graph (callers check references first)`);
    level[i] = 0;
    hop.set(f, 0);
    frontier.push(i);
  }
  const footholds = new Set(frontier);
  const hops = bfsLevels(g, frontier, depth, level, []);
  const reached: string[] = [];
  const compromised: string[] = [];
  for (let i = 0; i < g.ids.length; i++) {
    if (level[i] === -1) continue;
    const id = g.ids[i] as string;
    compromised.push(id);
    if (!footholds.has(i)) { reached.push(id); hop.set(id, level[i] as number); }
  }
  return { reached: reached.sort(), compromised: compromised.sort(), hop, hops };
}

export interface Condensation {
  /** component of each node; components are numbered in Tarjan's order (a component's successors have smaller numbers) */
  comp: Int32Array;
  count: number;
  /** nodes per component */
  size: Int32Array;
}

/** Strongly connected components by an iterative Tarjan (no recursion: 100,000-node chains are fine). */
export function condense(g: OneHopGraph): Condensation {
  const n = g.ids.length;
  const idx = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const comp = new Int32Array(n).fill(-1);
  const onStack = new Uint8Array(n);
  const stack = new Int32Array(n);
  let sp = 0;
  const call = new Int32Array(n);
  const edgeAt = new Int32Array(n);
  let counter = 0;
  let count = 0;
  const sizes: number[] = [];
  for (let root = 0; root < n; root++) {
    if (idx[root] !== -1) continue;
    let depth = 0;
    call[0] = root;
    idx[root] = low[root] = counter++;
    edgeAt[root] = g.offsets[root] as number;
    stack[sp++] = root;
    onStack[root] = 1;
    while (depth >= 0) {
      const v = call[depth] as number;
      const end = g.offsets[v + 1] as number;
      let descended = false;
      while ((edgeAt[v] as number) < end) {
        const w = g.targets[edgeAt[v] as number] as number;
        edgeAt[v] = (edgeAt[v] as number) + 1;
        if (idx[w] === -1) {
          idx[w] = low[w] = counter++;
          edgeAt[w] = g.offsets[w] as number;
          stack[sp++] = w;
          onStack[w] = 1;
          call[++depth] = w;
          descended = true;
          break;
        }
        if (onStack[w] === 1 && (idx[w] as number) < (low[v] as number)) low[v] = idx[w] as number;
      }
      if (descended) continue;
      if (low[v] === idx[v]) {
        let size = 0;
        for (;;) {
          const w = stack[--sp] as number;
          onStack[w] = 0;
          comp[w] = count;
          size++;
          if (w === v) break;
        }
        sizes.push(size);
        count++;
      }
      depth--;
      if (depth >= 0) {
        const parent = call[depth] as number;
        if ((low[v] as number) < (low[parent] as number)) low[parent] = low[v] as number;
      }
    }
  }
  return { comp, count, size: Int32Array.from(sizes) };
}

export interface Closure {
  condensation: Condensation;
  /** workloads reachable from each component, its own members included */
  reachCount: Int32Array;
  /** the components reachable from component c, itself included (in no particular order) */
  components(c: number): Int32Array;
}

/**
 * The reach of every component, filled in Tarjan's order (successors first):
 * a component's reach is itself plus the reach of each successor. Each reach
 * is kept as a list while it is short and as a bitset over components once the
 * list would take more room than the bitset (count / 32 entries), so memory
 * stays within count² / 8 bytes in the worst case and near the total reach in
 * the usual one, where most services reach a few hundred others: at 100,000
 * workloads this is ~100x faster than bitsets everywhere.
 */
export function closure(g: OneHopGraph, c: Condensation = condense(g)): Closure {
  const words = (c.count + 31) >>> 5;
  const members: number[][] = Array.from({ length: c.count }, () => []);
  for (let v = 0; v < g.ids.length; v++) (members[c.comp[v] as number] as number[]).push(v);
  const lists: (Int32Array | null)[] = new Array<Int32Array | null>(c.count).fill(null);
  const bitsets: (Uint32Array | null)[] = new Array<Uint32Array | null>(c.count).fill(null);
  const mark = new Int32Array(c.count);
  const reachCount = new Int32Array(c.count);
  let buf = new Int32Array(Math.min(1024, Math.max(1, c.count)));
  for (let x = 0; x < c.count; x++) {
    const stamp = x + 1;
    let len = 0;
    let bits: Uint32Array | null = null;
    const has = (y: number): boolean => (bits ? ((bits[y >>> 5] as number) & (1 << (y & 31))) !== 0 : mark[y] === stamp);
    const add = (z: number): void => {
      if (bits) { bits[z >>> 5] = (bits[z >>> 5] as number) | (1 << (z & 31)); return; }
      if (mark[z] === stamp) return;
      mark[z] = stamp;
      if (len === buf.length) { const b = new Int32Array(buf.length * 2); b.set(buf); buf = b; }
      buf[len++] = z;
      if (len > words) {
        bits = new Uint32Array(words);
        for (let k = 0; k < len; k++) { const q = buf[k] as number; bits[q >>> 5] = (bits[q >>> 5] as number) | (1 << (q & 31)); }
      }
    };
    add(x);
    for (const v of members[x] as number[]) {
      for (let k = g.offsets[v] as number; k < (g.offsets[v + 1] as number); k++) {
        const y = c.comp[g.targets[k] as number] as number;
        if (has(y)) continue;
        const yb = bitsets[y];
        if (yb) {
          if (!bits) { add(y); if (!bits) { bits = new Uint32Array(words); for (let q = 0; q < len; q++) { const z = buf[q] as number; bits[z >>> 5] = (bits[z >>> 5] as number) | (1 << (z & 31)); } } }
          const b = bits as Uint32Array;
          for (let w = 0; w < words; w++) b[w] = (b[w] as number) | (yb[w] as number);
        } else {
          for (const z of lists[y] as Int32Array) add(z);
        }
      }
    }
    let total = 0;
    if (bits) {
      const b = bits as Uint32Array;
      bitsets[x] = b;
      for (let w = 0; w < words; w++) {
        let m = b[w] as number;
        while (m !== 0) {
          const bit = 31 - Math.clz32(m & -m);
          m &= m - 1;
          total += c.size[(w << 5) + bit] as number;
        }
      }
    } else {
      const l = buf.slice(0, len);
      lists[x] = l;
      for (const z of l) total += c.size[z] as number;
    }
    reachCount[x] = total;
  }
  return {
    condensation: c,
    reachCount,
    components(x: number): Int32Array {
      const l = lists[x];
      if (l) return l;
      const b = bitsets[x] as Uint32Array;
      const out: number[] = [];
      for (let w = 0; w < words; w++) {
        let m = b[w] as number;
        while (m !== 0) { const bit = 31 - Math.clz32(m & -m); m &= m - 1; out.push((w << 5) + bit); }
      }
      return Int32Array.from(out);
    },
  };
}

/**
 * How many workloads one foothold reaches at any depth (exploit all): its
 * component's reach minus itself, unless it lies on a cycle — then it is
 * still not counted (a foothold is never "reached"), so always minus one.
 */
export function blastCount(g: OneHopGraph, cl: Closure, id: SourceRef): number {
  const i = g.index.get(id);
  if (i === undefined) throw new Error(`reach-graph: ${id} is not a node of the graph`);
  return (cl.reachCount[cl.condensation.comp[i] as number] as number) - 1;
}
