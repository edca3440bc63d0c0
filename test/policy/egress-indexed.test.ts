/**
 * The indexed egress lookups decide.ts uses at scale (issue 13 item 3) answer
 * exactly what the whole-registry scans they replace answer (istio-semantics
 * §8): httpListenerOnPortIndexed = httpListenerOnPort, and sidecarFor over
 * sidecarsNear = sidecarFor over every Sidecar of the mesh. Generated meshes
 * mix Service exportTo annotations, ServiceEntry ports/protocols/exportTo,
 * Sidecars with and without selectors (root namespace included), egress
 * listeners with and without port, and every import form (`*`, `.`, `~`, a
 * namespace, exact and wildcard hosts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { meshIndex } from '../../src/model/index.js';
import type { Mesh, ServicePort } from '../../src/model/types.js';
import { declaredProtocol } from '../../src/policy/pipeline.js';
import { httpListenerOnPort, httpListenerOnPortIndexed, sidecarFor, sidecarsNear, type EgressInput } from '../../src/policy/egress.js';
import { meshFrom, ns } from '../helpers.js';

const NS = ['istio-system', 'n0', 'n1', 'n2'];
const PORTS = [80, 8080, 5432];
const PORT_NAMES = ['http', 'tcp', 'grpc-x', 'mongo', 'web'];
const EXPORTS = [null, '*', '.', '~', 'n1', 'n0,n2'];
const SE_PROTOCOLS = ['HTTP', 'TCP', 'TLS', 'GRPC', 'HTTP2', 'MONGO'];
const SE_EXPORTS = [null, '["*"]', '["."]', '["~"]', '[n1]', '[n0, n2]'];
const IMPORTS = ['*/*', './*', '~/*', 'n1/*', 'n0/*.svc.cluster.local', 'n2/s1.n2.svc.cluster.local', 'n2/*.example.com', '*/api.example.com', 'istio-system/*'];

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);

const serviceArb = fc.record({ ns: pick(NS.slice(1)), ports: fc.uniqueArray(fc.record({ port: pick(PORTS), name: pick(PORT_NAMES) }), { minLength: 1, maxLength: 2, selector: (p) => p.port }), exportTo: pick(EXPORTS) });
const entryArb = fc.record({
  ns: pick(NS), hosts: fc.subarray(['api.example.com', 'db.example.com', '*.example.com'], { minLength: 1 }),
  ports: fc.uniqueArray(fc.record({ port: pick(PORTS), protocol: pick(SE_PROTOCOLS) }), { minLength: 1, maxLength: 2, selector: (p) => p.port }),
  exportTo: pick(SE_EXPORTS),
});
const sidecarArb = fc.record({
  ns: pick(NS), selector: fc.boolean(),
  // at most one catch-all listener (no port), and it comes last (the loader's rule)
  egress: fc.uniqueArray(fc.record({ port: fc.option(pick(PORTS), { nil: undefined }), hosts: fc.subarray(IMPORTS, { minLength: 1, maxLength: 3 }) }), { maxLength: 2, selector: (l) => l.port })
    .map((ls) => [...ls.filter((l) => l.port !== undefined), ...ls.filter((l) => l.port === undefined)]),
});

function yamlOf(services: { ns: string; ports: { port: number; name: string }[]; exportTo: string | null }[],
  entries: { ns: string; hosts: string[]; ports: { port: number; protocol: string }[]; exportTo: string | null }[],
  sidecars: { ns: string; selector: boolean; egress: { port: number | undefined; hosts: string[] }[] }[]): string[] {
  const docs = [ns('istio-system', false), ...NS.slice(1).map((n) => ns(n, true))];
  for (const n of NS.slice(1)) {
    for (const w of ['a', 'b']) {
      docs.push(`apiVersion: apps/v1
kind: Deployment
metadata: { name: ${w}, namespace: ${n} }
spec:
  selector: { matchLabels: { app: ${w} } }
  template:
    metadata: { labels: { app: ${w}, role: "${w === 'a' ? 'front' : 'back'}" } }
    spec: { containers: [{ name: c, image: x, ports: [{ containerPort: 8080 }] }] }
`);
    }
  }
  services.forEach((s, i) => docs.push(`apiVersion: v1
kind: Service
metadata:
  name: s${i}
  namespace: ${s.ns}
${s.exportTo === null ? '' : `  annotations: { networking.istio.io/exportTo: "${s.exportTo}" }\n`}spec:
  selector: { app: a }
  ports: [${s.ports.map((p) => `{ name: ${p.name}, port: ${p.port}, targetPort: 8080 }`).join(', ')}]
`));
  entries.forEach((e, i) => docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: se${i}, namespace: ${e.ns} }
spec:
  hosts: [${e.hosts.map((h) => `"${h}"`).join(', ')}]
  ports: [${e.ports.map((p) => `{ number: ${p.port}, name: p${p.port}, protocol: ${p.protocol} }`).join(', ')}]
  resolution: NONE
${e.exportTo === null ? '' : `  exportTo: ${e.exportTo}\n`}`));
  sidecars.forEach((s, i) => docs.push(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: sc${i}, namespace: ${s.ns} }
spec:
${s.selector ? '  workloadSelector: { labels: { role: front } }\n' : ''}${s.egress.length === 0 ? '  outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n' : `  egress:\n${s.egress.map((l) => `    - ${l.port === undefined ? '' : `port: { number: ${l.port}, protocol: HTTP, name: p${l.port} }\n      `}hosts: [${l.hosts.map((h) => `"${h}"`).join(', ')}]`).join('\n')}\n`}`));
  return docs;
}

const isHttp = (p: ServicePort): boolean => declaredProtocol(p) !== 'tcp';

function inputOf(mesh: Mesh): EgressInput {
  return { services: mesh.services, serviceEntries: mesh.serviceEntries, sidecars: mesh.sidecars, rootNamespace: mesh.config.rootNamespace, meshMode: mesh.config.outboundTrafficPolicy };
}

describe('indexed egress lookups answer what the whole-registry scans answer', () => {
  it('httpListenerOnPortIndexed equals httpListenerOnPort, and sidecarFor over sidecarsNear equals sidecarFor over every Sidecar, on generated meshes', () => {
    let hidden = 0;
    let shown = 0;
    fc.assert(fc.property(
      fc.array(serviceArb, { maxLength: 6 }), fc.array(entryArb, { maxLength: 3 }), fc.array(sidecarArb, { maxLength: 4 }),
      (services, entries, sidecars) => {
        const mesh = meshFrom(...yamlOf(services, entries, sidecars));
        const index = meshIndex(mesh);
        const input = inputOf(mesh);
        const registry = { services: index.servicesOnPort, serviceEntries: index.serviceEntriesOnPort };
        for (const w of mesh.workloads) {
          const near = sidecarsNear(index.sidecars, input.rootNamespace, w);
          expect(sidecarFor(near, input.rootNamespace, w)).toEqual(sidecarFor(mesh.sidecars, input.rootNamespace, w));
          const narrowed = { ...input, sidecars: near };
          for (const port of [...PORTS, 9999]) {
            const want = httpListenerOnPort(input, w, port, isHttp);
            if (want) shown++; else hidden++;
            expect(httpListenerOnPortIndexed(input, registry, w, port, isHttp)).toBe(want);
            expect(httpListenerOnPortIndexed(narrowed, registry, w, port, isHttp)).toBe(want);
          }
          expect(httpListenerOnPortIndexed(input, registry, null, 80, isHttp)).toBe(httpListenerOnPort(input, null, 80, isHttp));
        }
      },
    ), { numRuns: 150, seed: 31 });
    // both answers occur often (the generator is not degenerate)
    expect(Math.min(hidden, shown)).toBeGreaterThan(500);
  });

  it('servicesOnPort and serviceEntriesOnPort list exactly the entries declaring the port, in load order, per namespace too', () => {
    fc.assert(fc.property(fc.array(serviceArb, { maxLength: 6 }), fc.array(entryArb, { maxLength: 3 }), (services, entries) => {
      const mesh = meshFrom(...yamlOf(services, entries, []));
      const index = meshIndex(mesh);
      for (const port of [...PORTS, 9999]) {
        expect(index.servicesOnPort(port)).toEqual(mesh.services.filter((s) => s.ports.some((p) => p.port === port)));
        expect(index.serviceEntriesOnPort(port)).toEqual(mesh.serviceEntries.filter((se) => se.ports.some((p) => p.number === port)));
        for (const n of NS) {
          expect(index.servicesOnPort(port, n)).toEqual(mesh.services.filter((s) => s.namespace === n && s.ports.some((p) => p.port === port)));
          expect(index.serviceEntriesOnPort(port, n)).toEqual(mesh.serviceEntries.filter((se) => se.meta.namespace === n && se.ports.some((p) => p.number === port)));
        }
      }
    }), { numRuns: 60, seed: 31 });
  });
});
