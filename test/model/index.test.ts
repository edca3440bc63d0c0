import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadMesh } from '../../src/loader/load.js';
import { meshIndex } from '../../src/model/index.js';
import type { Mesh } from '../../src/model/types.js';
import { selectorMatches } from '../../src/model/types.js';
import { app, meshFrom, ns } from '../helpers.js';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

function shippedMesh(name: string): Mesh {
  const files = yamlFiles(path.join('scenarios', 'meshes', name)).map((p) => ({ path: p, text: readFileSync(p, 'utf8') }));
  const { mesh, issues } = loadMesh(files);
  if (issues.hasErrors()) throw new Error(issues.errors.map((e) => e.message).join('\n'));
  return mesh;
}

const crowded = (): Mesh => meshFrom(
  ns('a', true), ns('b', false),
  app('a', 'web', { labels: { tier: 'front' } }),
  app('a', 'api', { labels: { tier: 'front' } }),
  app('b', 'web'),
  // a second Service selecting both `tier: front` workloads, and one selecting nothing
  `apiVersion: v1
kind: Service
metadata: { name: front, namespace: a }
spec:
  selector: { tier: front }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: empty, namespace: a }
spec:
  ports: [{ name: http, port: 80 }]
`,
);

const meshes: [string, () => Mesh][] = [
  ['bookinfo', () => shippedMesh('bookinfo')],
  ['payments', () => shippedMesh('payments')],
  ['three-ns', () => shippedMesh('three-ns')],
  ['a crowded inline mesh', crowded],
];

describe('MeshIndex answers exactly what the linear scans it replaces answered', () => {
  for (const [name, make] of meshes) {
    it(`every lookup equals its scan on the ${name} mesh`, () => {
      const mesh = make();
      const ix = meshIndex(mesh);
      for (const w of mesh.workloads) {
        expect(ix.workload(w.id)).toBe(mesh.workloads.find((x) => x.id === w.id));
        expect(ix.workloadAt(w.ip)).toBe(mesh.workloads.find((x) => x.ip === w.ip));
        const scan = mesh.services.filter((s) => s.namespace === w.namespace && s.selector !== null && Object.keys(s.selector).length > 0
          && selectorMatches(s.selector, w.labels));
        expect(ix.servicesSelecting(w)).toEqual(scan);
      }
      for (const s of mesh.services) {
        expect(ix.services(s.fqdn)).toEqual(mesh.services.filter((x) => x.fqdn === s.fqdn));
        expect(ix.serviceAt(s.clusterIP)).toBe(mesh.services.find((x) => x.clusterIP === s.clusterIP));
        const sel = s.selector;
        const eps = sel === null || Object.keys(sel).length === 0 ? [] : mesh.workloads.filter((w) => w.namespace === s.namespace && selectorMatches(sel, w.labels));
        expect(ix.endpoints(s)).toEqual(eps);
      }
      for (const se of mesh.serviceEntries) {
        for (const h of se.hosts) expect(ix.serviceEntryFor(h.toLowerCase())).toBe(mesh.serviceEntries.find((x) => x.hosts.some((y) => y.toLowerCase() === h.toLowerCase())));
      }
      for (const n of mesh.namespaces.keys()) {
        expect(ix.authorizationPolicies(n)).toEqual(mesh.authorizationPolicies.filter((p) => p.meta.namespace === n));
        expect(ix.peerAuthentications(n)).toEqual(mesh.peerAuthentications.filter((p) => p.meta.namespace === n));
        expect(ix.networkPolicies(n)).toEqual(mesh.networkPolicies.filter((p) => p.meta.namespace === n));
        expect(ix.destinationRules(n)).toEqual(mesh.destinationRules.filter((p) => p.meta.namespace === n));
        expect(ix.sidecars(n)).toEqual(mesh.sidecars.filter((p) => p.meta.namespace === n));
      }
      expect(ix.workload('nope/nothing')).toBeUndefined();
      expect(ix.services('nothing.nope.svc.cluster.local')).toEqual([]);
    });
  }

  it('endpoints and servicesSelecting equal their scans on random meshes: look-alike labels, overlapping and empty selectors, two namespaces', () => {
    const labels = fc.record({ app: fc.constantFrom('a', 'b', 'c'), tier: fc.constantFrom('x', 'y') }, { requiredKeys: [] });
    const where = fc.constantFrom('n1', 'n2');
    const arb = fc.record({
      pods: fc.array(fc.tuple(where, labels), { minLength: 1, maxLength: 8 }),
      svcs: fc.array(fc.tuple(where, fc.option(labels, { nil: null })), { minLength: 1, maxLength: 8 }),
    });
    fc.assert(fc.property(arb, ({ pods, svcs }) => {
      const docs = [ns('n1', true), ns('n2', false)];
      pods.forEach(([n, l], i) => docs.push(`apiVersion: v1
kind: Pod
metadata: { name: p${i}, namespace: ${n}, labels: ${JSON.stringify(l)} }
spec: { containers: [{ name: c, image: x }] }
`));
      svcs.forEach(([n, sel], i) => docs.push(`apiVersion: v1
kind: Service
metadata: { name: s${i}, namespace: ${n} }
spec:
${sel === null ? '' : `  selector: ${JSON.stringify(sel)}\n`}  ports: [{ port: 80 }]
`));
      const mesh = meshFrom(...docs);
      const ix = meshIndex(mesh);
      // asked in a shuffled order: an answer must not depend on which pod or Service was asked first
      for (const w of [...mesh.workloads].reverse()) {
        expect(ix.servicesSelecting(w)).toEqual(mesh.services.filter((s) => s.namespace === w.namespace && s.selector !== null
          && Object.keys(s.selector).length > 0 && selectorMatches(s.selector, w.labels)));
      }
      for (const s of mesh.services) {
        const sel = s.selector;
        expect(ix.endpoints(s)).toEqual(sel === null || Object.keys(sel).length === 0 ? [] : mesh.workloads.filter((w) => w.namespace === s.namespace && selectorMatches(sel, w.labels)));
      }
    }), { numRuns: 150, seed: 7 });
  });

  it('a Service with an empty selector has no endpoints, and a Service selecting two workloads has both, in mesh order', () => {
    const mesh = crowded();
    const ix = meshIndex(mesh);
    const svc = (n: string) => mesh.services.find((s) => s.name === n && s.namespace === 'a');
    expect(ix.endpoints(svc('empty')!)).toEqual([]);
    expect(ix.endpoints(svc('front')!).map((w) => w.id)).toEqual(mesh.workloads.map((w) => w.id).filter((id) => id === 'a/web' || id === 'a/api'));
    expect(ix.endpoints(svc('front')!)).toHaveLength(2);
  });

  it('a mesh whose workload list is replaced gets a fresh index, not the stale one', () => {
    const mesh = crowded();
    const before = meshIndex(mesh);
    const copy: Mesh = { ...mesh, workloads: mesh.workloads.filter((w) => w.id !== 'a/api') };
    expect(meshIndex(copy).workload('a/api')).toBeUndefined();
    expect(meshIndex(mesh)).toBe(before);
    (mesh as { workloads: Mesh['workloads'] }).workloads = copy.workloads;
    expect(meshIndex(mesh).workload('a/api')).toBeUndefined();
  });
});
