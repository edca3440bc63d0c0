/**
 * Many ALLOW policies over many workloads (a stranger's manifest can hold
 * thousands of mesh-wide ones): a denial's reason names the first 8 ALLOW
 * policies and counts the rest, `consulted` still lists every one in load
 * order (mesh-wide, namespace-wide and the workload's own, merged), and no
 * workload keeps its own copy of the mesh-wide list or of their
 * descriptions (that was root policies × workloads: 1 GB for a 2 MB file).
 */
import { describe, expect, it } from 'vitest';
import type { AuthzAttributes } from '../../src/policy/authorization-policy.js';
import { evaluateAuthz } from '../../src/policy/authorization-policy.js';
import { fullGc, meshFrom, ns } from '../helpers.js';

function allow(name: string, namespace: string, sa: string, app?: string): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${app === undefined ? '' : `  selector: { matchLabels: { app: ${app} } }\n`}  action: ALLOW
  rules: [{ from: [{ source: { principals: ["cluster.local/ns/x/sa/${sa}"] } }] }]
`;
}

const pod = (name: string, namespace: string): string => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${namespace}, labels: { app: ${name} } }
spec: { containers: [{ name: c, image: x }] }
`;

const attrs = (sa: string): AuthzAttributes => ({
  protocol: 'http', peerPrincipal: `cluster.local/ns/x/sa/${sa}`, sourceIp: '10.9.0.9', remoteIp: '10.9.0.9', destinationIp: '10.0.0.1',
  destinationPort: 8080, sni: null, http: { method: 'GET', path: '/', host: 'x', headers: {} },
});

describe('many ALLOW policies', () => {
  it('a denial names the first 8 ALLOW policies and counts the rest; consulted lists all, mesh-wide, namespace-wide and own, in load order', () => {
    const docs = [ns('istio-system', false), ns('n1', true), pod('w', 'n1')];
    for (let i = 0; i < 10; i++) docs.push(allow(`m${i}`, 'istio-system', `m${i}`));
    docs.push(allow('own', 'n1', 'own', 'w'), allow('wide', 'n1', 'wide'));
    const mesh = meshFrom(...docs);
    const w = mesh.workloads[0]!;
    const d = evaluateAuthz(mesh, w, attrs('nobody'));
    expect(d.stage).toBe('no-allow-match');
    expect(d.consulted.map((c) => c.name)).toEqual([...Array.from({ length: 10 }, (_, i) => `m${i}`), 'own', 'wide']);
    expect(d.reason).toMatch(/; and 4 more\)$/);
    expect(d.trace.at(-1)).toMatch(/^ALLOW policies istio-system\/m0, .*istio-system\/m7, and 4 more select n1\/w and none matched/);
    // the workload's own ALLOW policy and the namespace's still allow what they name
    expect(evaluateAuthz(mesh, w, attrs('own')).decidedBy?.policy).toBe('own');
    expect(evaluateAuthz(mesh, w, attrs('wide')).decidedBy?.policy).toBe('wide');
    expect(evaluateAuthz(mesh, w, attrs('m9')).decidedBy?.policy).toBe('m9');
  });

  it('1,000 mesh-wide ALLOW policies and 300 workloads with their own: denying each keeps no per-workload copy of the 1,000', () => {
    const docs = [ns('istio-system', false), ns('n1', true)];
    for (let i = 0; i < 1000; i++) docs.push(allow(`m${i}`, 'istio-system', `m${i}`));
    for (let i = 0; i < 300; i++) docs.push(pod(`w${i}`, 'n1'), allow(`own${i}`, 'n1', `own${i}`, `w${i}`));
    const mesh = meshFrom(...docs);
    evaluateAuthz(mesh, mesh.workloads[0]!, attrs('nobody'));
    fullGc();
    const before = process.memoryUsage().heapUsed;
    for (const w of mesh.workloads) expect(evaluateAuthz(mesh, w, attrs('nobody')).consulted).toHaveLength(1001);
    fullGc();
    // a merged copy of the list and its rules, and a reason describing all 1,000, per workload: ~40 MB here
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(12 * 2 ** 20);
  });

  it('the mesh-wide, namespace-wide and own policies are read as one list in load order, for TCP as for HTTP', () => {
    const deny = (name: string, namespace: string, sas: string[], app?: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${app === undefined ? '' : `  selector: { matchLabels: { app: ${app} } }\n`}  action: DENY
  rules: [{ from: [{ source: { principals: [${sas.map((x) => `"cluster.local/ns/x/sa/${x}"`).join(', ')}] } }] }]
`;
    // load order: the workload's own first, then the namespace's, then the mesh-wide one; "both" is in all three
    const mesh = meshFrom(ns('istio-system', false), ns('n1', true), pod('w', 'n1'),
      deny('own', 'n1', ['o', 'both'], 'w'), deny('wide', 'n1', ['n', 'both']), deny('mesh', 'istio-system', ['m', 'both']));
    const w = mesh.workloads[0]!;
    for (const protocol of ['tcp', 'http'] as const) {
      const at = (sa: string): AuthzAttributes => ({ ...attrs(sa), protocol, ...(protocol === 'tcp' ? { http: undefined } : {}) }) as AuthzAttributes;
      expect(evaluateAuthz(mesh, w, at('m')).decidedBy?.policy, protocol).toBe('mesh');
      expect(evaluateAuthz(mesh, w, at('n')).decidedBy?.policy, protocol).toBe('wide');
      expect(evaluateAuthz(mesh, w, at('o')).decidedBy?.policy, protocol).toBe('own');
      expect(evaluateAuthz(mesh, w, at('both')).decidedBy?.policy, protocol).toBe(mesh.authorizationPolicies[0]?.meta.name);
      expect(evaluateAuthz(mesh, w, at('nobody')).allowed, protocol).toBe(true);
    }
  });
});
