import { jsonDocument } from '../../src/core/escape.js';
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderTopology } from '../../src/generate/manifests.js';
import { generateTopology, type Profile } from '../../src/generate/topology.js';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh } from '../../src/model/types.js';
import { blastRadius, MAX_BLAST_DEPTH, type BlastRadius } from '../../src/analysis/blast-radius.js';
import { explore } from '../../src/analysis/reachability.js';
import { dotText, mermaidId, mermaidText } from '../../src/core/escape.js';
import { renderBlastDot, renderBlastJson, renderBlastJsonChunks, renderBlastMermaid, renderBlastText } from '../../src/report/blast-radius.js';
import { cli } from '../cli/harness.js';
import { shipped } from './reach-fixtures.js';

function ok(r: ReturnType<typeof blastRadius>): BlastRadius {
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

describe('blast radius is the pivot explorer run from each foothold', () => {
  it('each foothold reaches exactly what a pivot (exploit all) from it reaches, with the same hops and compromised set', () => {
    const mesh = shipped(['three-ns', 'policies/backend-strict', 'policies/backend-db-allow-api']);
    const b = ok(blastRadius(mesh, { depth: 3 }));
    expect(b.footholds.map((f) => f.from)).toEqual(mesh.workloads.map((w) => w.id).sort());
    for (const f of b.footholds) {
      const r = explore(mesh, { from: [f.from], exploit: 'all', depth: 3 });
      expect(f.reached.map((x) => x.id).sort()).toEqual(r.reached.filter((id) => id !== f.from));
      expect(f.compromised).toEqual(r.compromised);
      expect(f.hops).toBe(r.hops);
      for (const x of f.reached) expect(r.nodes.find((n) => n.id === x.id)?.hop).toBe(x.hop);
    }
  });

  it('STRICT backend: the sidecar-less legacy/batch reaches backend only through a hop via frontend/web', () => {
    const mesh = shipped(['three-ns', 'policies/backend-strict']);
    const b = ok(blastRadius(mesh, { from: ['legacy/batch'] }));
    const f = b.footholds[0];
    expect(f?.reached).toContainEqual({ id: 'frontend/web', hop: 1 });
    expect(f?.reached).toContainEqual({ id: 'backend/api', hop: 2 });
    expect(b.edges.some((e) => e.from === 'legacy/batch' && e.to.startsWith('backend/'))).toBe(false);
  });

  it('exploit none: the foothold reaches one hop and takes nothing over', () => {
    const mesh = shipped(['three-ns']);
    const b = ok(blastRadius(mesh, { from: ['legacy/batch'], exploit: [], depth: 3 }));
    expect(b.footholds[0]?.compromised).toEqual(['legacy/batch']);
    expect(b.footholds[0]?.reached.every((r) => r.hop === 1)).toBe(true);
  });

  it('the text table\'s taken column counts compromised workloads other than the foothold, as reached does', () => {
    const mesh = shipped(['three-ns', 'policies/backend-strict']);
    const b = ok(blastRadius(mesh, { depth: 3 }));
    const rows = renderBlastText(b).split('\n').slice(2, 2 + b.footholds.length);
    for (const f of b.footholds) {
      const cells = rows.find((r) => r.startsWith(`${f.from} `))?.split(/\s+/);
      expect(f.compromised).toContain(f.from);
      expect(cells?.[2]).toBe(String(f.compromised.length - 1));
    }
    const none = ok(blastRadius(mesh, { from: ['legacy/batch'], exploit: [], depth: 3 }));
    expect(renderBlastText(none).split('\n')[2]?.split(/\s+/)[2]).toBe('0');
  });

  it('crown jewels: each foothold lists the crown workloads it reaches', () => {
    const mesh = shipped(['three-ns', 'policies/backend-strict', 'policies/backend-db-allow-api']);
    const b = ok(blastRadius(mesh, { from: ['frontend/web', 'backend/api'], crown: ['backend/db'], depth: 1 }));
    expect(b.footholds.find((f) => f.from === 'backend/api')?.crown).toEqual(['backend/db']);
    expect(b.footholds.find((f) => f.from === 'frontend/web')?.crown).toEqual([]);
  });

  it('outside is a foothold when asked, listed first', () => {
    const mesh = shipped(['payments']);
    const b = ok(blastRadius(mesh, { from: ['shop/web', 'outside'], depth: 1 }));
    expect(b.footholds.map((f) => f.from)).toEqual(['outside', 'shop/web']);
  });

  it('the same mesh and options give the same JSON, byte for byte', () => {
    const mesh = shipped(['bookinfo']);
    expect(renderBlastJson(ok(blastRadius(mesh)))).toBe(renderBlastJson(ok(blastRadius(shipped(['bookinfo'])))));
  });
});

describe('blast radius refuses bad input with an error value', () => {
  const mesh = shipped(['three-ns']);
  it('an unknown foothold names the nearest workloads', () => {
    const r = blastRadius(mesh, { from: ['backend/apx'] });
    expect(r.ok).toBe(false);
    if (!r.ok) { expect(r.code).toBe('unknown-workload'); expect(r.hint).toContain('backend/api'); expect(r.hint).toContain('or outside'); }
  });
  it('an --exploit word that is no workload says the list may also be all or none', () => {
    const r = blastRadius(mesh, { exploit: ['some'] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.hint).toContain('name a workload as namespace/name (a comma-separated list), or all, or none');
  });
  it(`a depth outside 1..${MAX_BLAST_DEPTH} is refused`, () => {
    expect(blastRadius(mesh, { depth: 0 }).ok).toBe(false);
    expect(blastRadius(mesh, { depth: MAX_BLAST_DEPTH + 1 }).ok).toBe(false);
  });
  it('work beyond both bounds (the explorations and the one-hop graph) is refused, naming how to narrow it', () => {
    const r = blastRadius(mesh, { maxWork: 10, maxGraphDecisions: 5 });
    expect(r.ok).toBe(false);
    if (!r.ok) { expect(r.code).toBe('too-large'); expect(r.message).toContain('more than 5 decisions'); expect(r.hint).toContain('--from'); }
    const some = blastRadius(mesh, { maxWork: 10, from: ['legacy/batch'] });
    expect(some.ok).toBe(false); // the graph stands in only for every workload, exploit all
  });
});

describe('past the exploration bound, every workload with exploit all is answered from the one-hop graph', () => {
  const strip = (b: BlastRadius): Omit<BlastRadius, 'decisions' | 'memoHits'> => { const { decisions: _d, memoHits: _m, ...rest } = b; return rest; };
  const sameBothWays = (m: Mesh, depth: number, crown: string[], exploit?: string[]): void => {
    const explored = ok(blastRadius(m, { depth, crown, ...(exploit ? { exploit, maxWork: 1e12 } : {}) }));
    const graphed = ok(blastRadius(m, { depth, crown, maxWork: 0, ...(exploit ? { exploit } : {}) }));
    expect(strip(graphed)).toEqual(strip(explored));
    expect(JSON.stringify(strip(graphed))).toBe(JSON.stringify(strip(explored)));
  };

  it('on shipped meshes and policy variants, at depths 1 to 4 with crown jewels: footholds, reached with hops, compromised, crown and edges with ports equal the explorations\'', () => {
    for (const dirs of [['three-ns'], ['three-ns', 'policies/backend-strict'], ['three-ns', 'policies/backend-strict', 'policies/backend-db-allow-api'], ['payments'], ['capture']]) {
      const m = shipped(dirs);
      const ids = m.workloads.map((w) => w.id).sort();
      for (const depth of [1, 2, 4]) sameBothWays(m, depth, [ids[0] as string, ids[ids.length - 1] as string]);
    }
  }, 120_000);

  it('with an exploit list (none, or some workloads) the graph path expands only the foothold and the listed workloads it reaches: equal to the explorations', () => {
    for (const dirs of [['three-ns'], ['three-ns', 'policies/backend-strict'], ['payments'], ['capture']]) {
      const m = shipped(dirs);
      const ids = m.workloads.map((w) => w.id).sort();
      for (const depth of [1, 3]) {
        sameBothWays(m, depth, [ids[0] as string], []);
        sameBothWays(m, depth, [ids[ids.length - 1] as string], ids.filter((_, i) => i % 2 === 0));
      }
    }
    const files = renderTopology(generateTopology({ workloads: 100, namespaces: 6, seed: 3, profile: 'segmented' })).filter((f) => f.path.endsWith('.yaml'));
    const g = loadMesh(files).mesh;
    sameBothWays(g, 3, [], g.workloads.filter((_, i) => i % 3 === 0).map((w) => w.id));
  }, 120_000);

  it('on random generated meshes of every profile, the same', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1000 }), fc.constantFrom<Profile>('open', 'strict', 'segmented'), fc.integer({ min: 1, max: 3 }), (seed, profile, depth) => {
      const files = renderTopology(generateTopology({ workloads: 100, namespaces: 6, seed, profile })).filter((f) => f.path.endsWith('.yaml'));
      const m = loadMesh(files).mesh;
      sameBothWays(m, depth, [(m.workloads[0] as { id: string }).id]);
    }), { numRuns: 4, seed: 13 });
  }, 180_000);

  it('two workloads on one address (a pod reaching its own address passes any NetworkPolicy): the graph path still equals the explorations, and the twins reach each other', () => {
    const dir = 'scenarios/meshes/three-ns';
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ path: `${dir}/${f}`, text: readFileSync(`${dir}/${f}`, 'utf8') }));
    // Two clients of backend alike in every way the policies read (service account, labels), and a deny-all policy.
    const client = (name: string): string => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}, namespace: backend}\nspec:\n  template:\n    metadata: {labels: {role: client}}\n    spec: {serviceAccountName: client, containers: [{name: c}]}\n`;
    files.push({ path: 'clients.yaml', text: `${client('c1')}---\n${client('c2')}` });
    files.push({ path: 'deny-backend.yaml', text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: backend}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n' });
    const db = loadMesh(files).mesh.workloads.find((w) => w.id === 'backend/db');
    // c1 is on db's address: it reaches db as a pod reaches itself; c2, otherwise its double, does not.
    const m = loadMesh(files, { ips: { 'backend/c1': db?.ip as string } }).mesh;
    sameBothWays(m, 2, []);
    const reachedBy = (from: string): string[] => ok(blastRadius(m, { maxWork: 0 })).footholds.find((f) => f.from === from)?.reached.map((x) => x.id) ?? [];
    expect(reachedBy('backend/c1')).toContain('backend/db');
    expect(reachedBy('backend/c2')).not.toContain('backend/db');
    const other = ok(blastRadius(m, { maxWork: 0 })).footholds.find((f) => f.from === 'frontend/web');
    expect(other?.reached.some((x) => x.id.startsWith('backend/'))).toBe(false);
  });

  it('the graph path is bounded like the explorations: allowed attempts held, search steps, entries listed — each refused with too-large, saying which', () => {
    const m = shipped(['three-ns']);
    const refused = (o: Parameters<typeof blastRadius>[1]): string => { const r = blastRadius(m, { maxWork: 0, ...o }); return r.ok ? 'ok' : `${r.code}: ${r.message}`; };
    expect(refused({})).toBe('ok');
    expect(refused({ maxGraphEdges: 2 })).toMatch(/^too-large: .*the one-hop graph more than 2 allowed attempts/);
    expect(refused({ maxSearchWork: 5 })).toMatch(/^too-large: .*the searches over the one-hop graph more than 5 steps/);
    expect(refused({ maxReached: 2 })).toMatch(/^too-large: .*the answer more than 2 \(foothold, reached workload\) entries/);
  });

  it('a mesh where an allowed attempt lands on another workload than the one dialled is refused, saying why', () => {
    const rerouted = shipped(['bookinfo', 'three-ns'], `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api-to-db, namespace: backend}
spec:
  hosts: [api.backend.svc.cluster.local]
  http:
  - route: [{destination: {host: db.backend.svc.cluster.local}}]
`);
    const r = blastRadius(rerouted, { maxWork: 0 });
    expect(r.ok).toBe(false);
    if (!r.ok) { expect(r.code).toBe('too-large'); expect(r.message).toContain('land on another workload than the one dialled'); }
  });
});

describe('blast radius renderers escape every name for where it goes', () => {
  const hostile: BlastRadius = {
    depth: 1, exploit: 'all', crown: ['a/"x"'], decisions: 0, memoHits: 0,
    footholds: [{ from: 'ns/w"];\nevil', reached: [{ id: 'a/"x"', hop: 1 }], compromised: ['ns/w"];\nevil', 'a/"x"'], hops: 1, crown: ['a/"x"'] }],
    edges: [{ from: 'ns/w"];\nevil', to: 'a/"x"', ports: [80] }],
  };
  it('DOT: a quote or a newline in a name cannot end the string or the statement', () => {
    const dot = renderBlastDot(hostile);
    expect(dot).toContain('"ns/w\\"];\\\\nevil"');
    expect(dot.split('\n').every((l) => !l.startsWith('evil'))).toBe(true);
    expect(dotText('a\\b"c')).toBe('a\\\\b\\"c');
  });
  it('Mermaid: labels are entity-coded and ids are derived, never syntax', () => {
    const m = renderBlastMermaid(hostile);
    expect(m).not.toContain('"];');
    expect(m.split('\n').some((l) => l.startsWith('evil'))).toBe(false);
    expect(mermaidText('a"b[c]')).toBe('a#34;b#91;c#93;');
    expect(mermaidId('a/b')).not.toBe(mermaidId('a_b'));
    expect(mermaidId('x;y')).toMatch(/^[A-Za-z0-9_]+$/);
  });
  it('text: a control character in a name is shown escaped, on one line', () => {
    const t = renderBlastText(hostile);
    expect(t).toContain('ns/w"];\\nevil');
  });
});

describe('the JSON report is written in pieces', () => {
  const name = fc.string({ unit: fc.constantFrom('a', '/', '"', '\n', '\\', ' ', 'é', '\u2028', '\u0000', '  "footholds": []', '\ud83d\ude00'), maxLength: 12 });
  const radius: fc.Arbitrary<BlastRadius> = fc.record({
    depth: fc.integer({ min: 1, max: 6 }),
    exploit: fc.oneof(fc.constant('all' as const), fc.array(name, { maxLength: 3 })),
    crown: fc.array(name, { maxLength: 3 }),
    footholds: fc.array(fc.record({
      from: name, reached: fc.array(fc.record({ id: name, hop: fc.integer({ min: 1, max: 6 }) }), { maxLength: 4 }),
      compromised: fc.array(name, { maxLength: 4 }), hops: fc.integer({ min: 0, max: 6 }),
    }, { requiredKeys: ['from', 'reached', 'compromised', 'hops'] }).chain((f) => fc.option(fc.array(name, { maxLength: 2 }), { nil: undefined }).map((crown) => (crown === undefined ? f : { ...f, crown }))), { maxLength: 6 }),
    edges: fc.array(fc.record({ from: name, to: name, ports: fc.array(fc.integer({ min: 1, max: 65535 }), { maxLength: 3 }) }), { maxLength: 6 }),
    decisions: fc.nat(), memoHits: fc.nat(),
  });
  it('the pieces, joined, are the one JSON document every writer makes (jsonDocument: JSON.stringify, unsafe characters escaped, a newline), whatever the names hold, for any piece size (property)', () => {
    fc.assert(fc.property(radius, fc.integer({ min: 1, max: 200 }), (b, size) => {
      const pieces = [...renderBlastJsonChunks(b, size)];
      expect(pieces.join('')).toBe(jsonDocument(b));
      expect(renderBlastJson(b)).toBe(jsonDocument(b));
    }), { numRuns: 1500 });
  });
  it('a large report comes in many pieces, none much larger than the piece size', () => {
    const b = ok(blastRadius(shipped(['bookinfo'])));
    const many: BlastRadius = { ...b, footholds: Array.from({ length: 400 }, (_, i) => ({ ...(b.footholds[i % b.footholds.length] as BlastRadius['footholds'][number]) })) };
    const pieces = [...renderBlastJsonChunks(many, 4096)];
    expect(pieces.length).toBeGreaterThan(10);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(4096 * 2);
    expect(JSON.parse(pieces.join(''))).toEqual(many);
  });
});

describe('meshrange blast-radius', () => {
  it('prints JSON with footholds, reached {id, hop} and compromised', async () => {
    const r = await cli('blast-radius', '--mesh', 'scenarios/meshes/three-ns', '--from', 'legacy/batch', '--format', 'json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as BlastRadius;
    expect(j.footholds[0]?.from).toBe('legacy/batch');
    expect(j.footholds[0]?.reached[0]).toHaveProperty('hop');
    expect(j.footholds[0]?.compromised).toContain('legacy/batch');
  });
  it('an unknown --from exits 2 listing near names', async () => {
    const r = await cli('blast-radius', '--mesh', 'scenarios/meshes/three-ns', '--from', 'backend/dbb');
    expect(r.code).toBe(2);
    expect(r.err).toContain('backend/db');
    expect(r.out).toBe('');
  });
  it('a --depth that is not a number from 1 to the bound exits 2', async () => {
    expect((await cli('blast-radius', '--mesh', 'scenarios/meshes/three-ns', '--depth', '1e9')).code).toBe(2);
  });
  it('--format dot draws a digraph of the reach edges', async () => {
    const r = await cli('blast-radius', '--mesh', 'scenarios/meshes/three-ns', '--format', 'dot');
    expect(r.out).toMatch(/^digraph blast_radius \{/);
    expect(r.out).toContain('"legacy/batch" -> "frontend/web"');
  });
});
