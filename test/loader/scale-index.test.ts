/**
 * The indexes that keep a 10,000-workload mesh's load linear answer exactly
 * what the scans they replaced answered: labelIndex (src/model/index.ts)
 * against a filter over the list, and the analyzer (src/loader/analyze.ts)
 * against its scanning predecessor (support/reference-analyze.ts), same
 * issues, same order, on random meshes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { analyzeMesh } from '../../src/loader/analyze.js';
import { labelIndex } from '../../src/model/index.js';
import { DEFAULT_MESH_CONFIG, selectorMatches, type Mesh } from '../../src/model/types.js';
import { referenceAnalyzeMesh } from './support/reference-analyze.js';

const NS = ['a', 'b', 'istio-system', '__proto__'];
const KEYS = ['app', 'tier', 'version', 'constructor'];
const VALUES = ['x', 'y', 'z', ''];
const labelsArb = fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 3 });
const podArb = fc.record({ namespace: fc.constantFrom(...NS), labels: labelsArb, sidecar: fc.boolean(), gateway: fc.boolean() });

describe('labelIndex', () => {
  it('matching(selector, ns) returns what filtering the list by namespace and selector returns, in list order', () => {
    fc.assert(fc.property(fc.array(podArb, { maxLength: 40 }), fc.array(fc.tuple(labelsArb, fc.option(fc.constantFrom(...NS, 'nowhere'), { nil: undefined })), { maxLength: 20 }),
      (pods, queries) => {
        const index = labelIndex(pods);
        for (const [selector, ns] of queries) {
          const want = pods.filter((p) => (ns === undefined || p.namespace === ns) && selectorMatches(selector, p.labels));
          expect(index.matching(selector, ns)).toEqual(want);
        }
      }), { numRuns: 300 });
  });

  it('inNamespace(ns) is the namespace\'s items in list order, empty for an unknown namespace', () => {
    fc.assert(fc.property(fc.array(podArb, { maxLength: 30 }), fc.constantFrom(...NS, 'nowhere', 'hasOwnProperty'), (pods, ns) => {
      expect(labelIndex(pods).inNamespace(ns)).toEqual(pods.filter((p) => p.namespace === ns));
    }), { numRuns: 200 });
  });
});

const meta = (namespace: string, name: string, i: number) => ({ namespace, name, labels: {}, annotations: {}, order: i, loc: { file: 'm.yaml', line: i + 1, col: 1 } });

const meshArb = fc.record({
  pods: fc.array(podArb, { maxLength: 25 }),
  aps: fc.array(fc.record({ ns: fc.constantFrom(...NS), selector: fc.option(labelsArb, { nil: null }), targetRefs: fc.boolean(),
    custom: fc.constantFrom(undefined, 'known', 'unknown') }), { maxLength: 15 }),
  pas: fc.array(fc.record({ ns: fc.constantFrom(...NS), selector: fc.option(labelsArb, { nil: null }) }), { maxLength: 8 }),
  svcs: fc.array(fc.record({ ns: fc.constantFrom(...NS), name: fc.constantFrom('s1', 's2', 's3'), selector: fc.option(labelsArb, { nil: null }) }), { maxLength: 8 }),
  drs: fc.array(fc.record({ ns: fc.constantFrom(...NS), name: fc.constantFrom('s1', 's2', 's4', '*'), mutual: fc.boolean() }), { maxLength: 8 }),
  entries: fc.array(fc.constantFrom('s1.a.svc.cluster.local', 's4', 's4.b.svc.cluster.local', 'api.example.com'), { maxLength: 3 }),
  seSelector: fc.option(fc.record({ ns: fc.constantFrom(...NS), labels: labelsArb }), { nil: null }),
});

type MeshSpec = typeof meshArb extends fc.Arbitrary<infer T> ? T : never;

function buildMesh(m: MeshSpec): Mesh {
  let n = 0;
  return {
    config: { ...DEFAULT_MESH_CONFIG, extensionProviders: [{ name: 'known' }] } as unknown as Mesh['config'],
    namespaces: new Map(),
    workloads: m.pods.map((p, i) => ({ ...p, id: `${p.namespace}/w${i}` })),
    services: m.svcs.map((s) => ({ namespace: s.ns, name: s.name, fqdn: `${s.name}.${s.ns}.svc.cluster.local`, selector: s.selector })),
    authorizationPolicies: m.aps.map((p, i) => ({ meta: meta(p.ns, `ap${i}`, n++), selector: p.selector, targetRefs: p.targetRefs ? [{ kind: 'Service', name: 'x' }] : [],
      action: p.custom === undefined ? 'ALLOW' : 'CUSTOM', ...(p.custom !== undefined ? { provider: p.custom } : {}) })),
    peerAuthentications: m.pas.map((p, i) => ({ meta: meta(p.ns, `pa${i}`, n++), selector: p.selector })),
    destinationRules: m.drs.map((d, i) => ({ meta: meta(d.ns, `dr${i}`, n++), host: d.name, fqdnHost: d.name === '*' ? '*' : `${d.name}.${d.ns}.svc.cluster.local`,
      ...(d.mutual ? { trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } } : {}) })),
    serviceEntries: m.entries.length > 0 ? [{ meta: meta(m.seSelector?.ns ?? 'a', 'se0', n++), hosts: m.entries, endpoints: [], workloadSelector: m.seSelector?.labels ?? null }] : [],
  } as unknown as Mesh;
}

describe('analyzeMesh with indexed lookups', () => {
  it('reports the same issues, in the same order, as the scan over every workload it replaced', () => {
    fc.assert(fc.property(meshArb, (m) => {
      const mesh = buildMesh(m);
      const got = new IssueList();
      const want = new IssueList();
      analyzeMesh(mesh, got);
      referenceAnalyzeMesh(mesh, want);
      expect(got.items).toEqual(want.items);
    }), { numRuns: 400 });
  });
});
