import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildOneHopGraph, blastCount, closure, condense, reachFrom, type OneHopGraph } from '../../src/analysis/reach-graph.js';
import { ReachabilityExplorer } from '../../src/analysis/reachability.js';
import { renderTopology } from '../../src/generate/manifests.js';
import { generateTopology, type Profile } from '../../src/generate/topology.js';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh } from '../../src/model/types.js';
import { shipped } from './reach-fixtures.js';

function generated(seed: number, profile: Profile, namespaces: number): Mesh {
  const files = renderTopology(generateTopology({ workloads: 100, namespaces, seed, profile })).filter((f) => f.path.endsWith('.yaml'));
  const { mesh, issues } = loadMesh(files);
  if (issues.hasErrors()) throw new Error('generated mesh does not load');
  return mesh;
}

/** A tiny graph from an adjacency list, for the SCC and closure rules. */
function graphOf(adj: number[][]): OneHopGraph {
  const ids = adj.map((_, i) => `n/${i}`);
  const offsets = new Int32Array(adj.length + 1);
  const targets: number[] = [];
  adj.forEach((row, i) => { targets.push(...[...new Set(row)].filter((t) => t !== i).sort((a, b) => a - b)); offsets[i + 1] = targets.length; });
  return { ids, index: new Map(ids.map((id, i) => [id, i])), offsets, targets: Int32Array.from(targets), misdelivered: 0, decisions: 0, memoHits: 0 };
}

/** Reach of each node by a plain DFS: the closure's reference. */
function plainReach(adj: number[][], s: number): Set<number> {
  const seen = new Set([s]);
  const todo = [s];
  while (todo.length > 0) for (const t of adj[todo.pop() as number] as number[]) if (!seen.has(t)) { seen.add(t); todo.push(t); }
  return seen;
}

function sameAsExplorer(mesh: Mesh, from: string[], depth: number, ex: ReachabilityExplorer, g: OneHopGraph): void {
  const want = ex.explore({ from, exploit: 'all', depth });
  const got = reachFrom(g, from, depth);
  expect(got.reached).toEqual(want.reached);
  expect(got.compromised).toEqual(want.compromised);
  expect(got.hops).toBe(want.hops);
  for (const n of want.nodes) if (n.hop !== null) expect(got.hop.get(n.id)).toBe(n.hop);
  expect(got.hop.size).toBe(want.nodes.filter((n) => n.hop !== null).length);
}

describe('reach-graph: the one-hop graph answers as the explorer does', () => {
  it('on random generated meshes, graph reach from random footholds equals ReachabilityExplorer.explore (exploit all, any depth)', () => {
    const cache = new Map<string, { mesh: Mesh; ex: ReachabilityExplorer; g: OneHopGraph }>();
    fc.assert(fc.property(
      fc.constantFrom<[number, Profile, number]>([1, 'open', 3], [2, 'strict', 12], [3, 'segmented', 12], [4, 'segmented', 3]),
      fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 6 }),
      ([seed, profile, namespaces], picks, depth) => {
        const key = `${seed}/${profile}/${namespaces}`;
        let c = cache.get(key);
        if (!c) {
          const mesh = generated(seed, profile, namespaces);
          const ex = new ReachabilityExplorer(mesh, { edges: 'allowed' });
          c = { mesh, ex, g: buildOneHopGraph(ex) };
          cache.set(key, c);
        }
        expect(c.g.misdelivered).toBe(0);
        const from = picks.map((i) => c.mesh.workloads[i]?.id as string);
        sameAsExplorer(c.mesh, from, depth, new ReachabilityExplorer(c.mesh, { edges: 'allowed' }), c.g);
      }), { numRuns: 10, seed: 13 });
  }, 120_000);

  it('on the shipped bookinfo mesh, graph reach from every workload equals the explorer (edges kept: all)', () => {
    const mesh = shipped(['bookinfo']);
    const ex = new ReachabilityExplorer(mesh);
    const g = buildOneHopGraph(ex);
    expect(g.misdelivered).toBe(0);
    for (const w of mesh.workloads) sameAsExplorer(mesh, [w.id], 16, new ReachabilityExplorer(mesh), g);
  }, 60_000);

  it('the graph is built once: decisions are shared across sources of one identity, and reach questions decide nothing more', () => {
    const mesh = generated(1, 'strict', 5);
    const ex = new ReachabilityExplorer(mesh, { edges: 'allowed' });
    const g = buildOneHopGraph(ex);
    expect(g.decisions).toBeGreaterThan(0);
    const again = ex.explore({ from: [mesh.workloads[0]?.id as string], exploit: 'all', depth: 16 });
    expect(again.decisions).toBe(0);
  }, 60_000);
});

describe('reach-graph: components and closure', () => {
  const adjArb = fc.integer({ min: 1, max: 40 }).chain((n) => fc.array(fc.array(fc.integer({ min: 0, max: n - 1 }), { maxLength: 4 }), { minLength: n, maxLength: n }));

  it('Tarjan puts two nodes in one component exactly when each reaches the other, numbered successors first', () => {
    fc.assert(fc.property(adjArb, (adj) => {
      const g = graphOf(adj);
      const c = condense(g);
      const reach = adj.map((_, i) => plainReach(adj, i));
      for (let a = 0; a < adj.length; a++) {
        for (let b = 0; b < adj.length; b++) {
          expect(c.comp[a] === c.comp[b]).toBe(reach[a]?.has(b) === true && reach[b]?.has(a) === true);
          if (reach[a]?.has(b)) expect(c.comp[b] as number).toBeLessThanOrEqual(c.comp[a] as number);
        }
      }
      expect([...c.size].reduce((x, y) => x + y, 0)).toBe(adj.length);
    }), { numRuns: 80, seed: 5 });
  });

  it('the closure (lists while short, bitsets once long) holds the components and counts what a plain DFS reaches from each node, the node itself excluded', () => {
    fc.assert(fc.property(adjArb, (adj) => {
      const g = graphOf(adj);
      const cl = closure(g);
      adj.forEach((_, i) => {
        expect(blastCount(g, cl, `n/${i}`)).toBe(plainReach(adj, i).size - 1);
        const comps = new Set(cl.components(cl.condensation.comp[i] as number));
        expect(new Set([...plainReach(adj, i)].map((v) => cl.condensation.comp[v] as number))).toEqual(comps);
      });
    }), { numRuns: 80, seed: 6 });
  });

  it('a 100,000-node chain condenses without recursion', () => {
    const n = 100_000;
    const g = graphOf(Array.from({ length: n }, (_, i) => (i + 1 < n ? [i + 1] : [0])));
    expect(condense(g).count).toBe(1);
  });
});
