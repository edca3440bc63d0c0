/**
 * decide.ts hands evaluateNetworkPolicies only the NetworkPolicies of the
 * source pod's and the destination pod's namespaces (networkPoliciesNear), so a
 * decision does not scan every policy of the mesh (issue 13 item 3). A policy
 * selects pods of its own namespace only (istio-semantics §11 rule 2), so the
 * verdict, the allowedBy / selecting lists and the drop explanation must be
 * exactly those computed from every policy.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTopology } from '../../src/generate/manifests.js';
import { generateTopology } from '../../src/generate/topology.js';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh, Workload } from '../../src/model/types.js';
import { networkPoliciesNear } from '../../src/policy/decide.js';
import { evaluateNetworkPolicies, namespaceLabelsOf, networkPoliciesAllow, type NpEndpoint } from '../../src/policy/network-policy.js';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

function load(files: { path: string; text: string }[]): Mesh {
  const { mesh, issues } = loadMesh(files);
  if (issues.hasErrors()) throw new Error(issues.errors.map((e) => e.message).join('\n'));
  return mesh;
}

const pod = (mesh: Mesh, w: Workload): NpEndpoint => ({ kind: 'pod', namespace: w.namespace, name: w.name, labels: w.labels,
  namespaceLabels: namespaceLabelsOf(w.namespace, mesh.namespaces.get(w.namespace)?.labels ?? {}), ip: w.ip, ports: w.ports });

const meshes: [string, () => Mesh][] = [
  ['a generated segmented mesh', () => load(renderTopology(generateTopology({ workloads: 200, profile: 'segmented', seed: 7 })).filter((f) => f.path.endsWith('.yaml')))],
  ...readdirSync(path.join('scenarios', 'meshes')).sort().map((name): [string, () => Mesh] =>
    [`the shipped ${name} mesh`, () => load(yamlFiles(path.join('scenarios', 'meshes', name)).map((p) => ({ path: p, text: readFileSync(p, 'utf8') })))]),
];

describe('NetworkPolicies of the two endpoints decide what every NetworkPolicy of the mesh decides', () => {
  for (const [name, make] of meshes) {
    it(`every pod pair and external peer of ${name} gets the same NetworkPolicy decision from the policies near it, and the same allow from the analysis path's check`, () => {
      const mesh = make();
      const ws = mesh.workloads.slice(0, 60);
      const outside: NpEndpoint = { kind: 'external', ip: '203.0.113.10' };
      let checked = 0;
      for (const a of ws) {
        const src = pod(mesh, a);
        for (const b of ws) {
          const dst = pod(mesh, b);
          for (const port of [...new Set([...b.ports.map((p) => p.containerPort), 8080])]) {
            const full = evaluateNetworkPolicies(mesh.networkPolicies, src, dst, port);
            expect(evaluateNetworkPolicies(networkPoliciesNear(mesh, src, dst), src, dst, port)).toEqual(full);
            // the analysis path's allow check, on the policies near the pair
            expect(networkPoliciesAllow(networkPoliciesNear(mesh, src, dst), src, dst, port)).toBe(full.allowed);
            checked++;
          }
        }
        expect(evaluateNetworkPolicies(networkPoliciesNear(mesh, src, outside), src, outside, 443)).toEqual(evaluateNetworkPolicies(mesh.networkPolicies, src, outside, 443));
        expect(evaluateNetworkPolicies(networkPoliciesNear(mesh, outside, src), outside, src, 8080)).toEqual(evaluateNetworkPolicies(mesh.networkPolicies, outside, src, 8080));
      }
      expect(checked).toBeGreaterThanOrEqual(ws.length * ws.length);
    });
  }

  it('the generated segmented mesh has NetworkPolicies in many namespaces and drops some pairs (the comparison is not vacuous)', () => {
    const mesh = meshes[0]![1]();
    expect(new Set(mesh.networkPolicies.map((p) => p.meta.namespace)).size).toBeGreaterThan(5);
    const ws = mesh.workloads;
    const dropped = ws.slice(0, 40).some((a) => ws.some((b) => !evaluateNetworkPolicies(mesh.networkPolicies, pod(mesh, a), pod(mesh, b), 8080).allowed));
    expect(dropped).toBe(true);
  });
});
