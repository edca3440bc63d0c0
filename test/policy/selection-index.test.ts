/**
 * AuthorizationPolicy selection (§6.1) through the selector index: from 32
 * selecting policies in scope on, a workload's candidates come from an index
 * by one `key=value` pair of each selector (authorization-policy.ts
 * selectingCandidates), not from checking every policy. What applies must be
 * exactly the scan's — the root namespace's and the workload's own policies,
 * without targetRefs, with no selector or one its labels match — in load
 * order: the first matching DENY decides, then the first matching ALLOW, and
 * a denial names the ALLOW policies in load order. Checked against that rule
 * written out here (over the reference evaluator's rule matcher), on random
 * namespaces of 40 to 90 policies with look-alike selectors (empty ones too).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateAuthz, ruleName, type AuthzAttributes } from '../../src/policy/authorization-policy.js';
import type { AuthorizationPolicy, Mesh, Workload } from '../../src/model/types.js';
import { fullGc, meshFrom, ns } from '../helpers.js';
import { refPolicyMatches, refSelects, type RefMesh } from '../property/reference-authz.js';

const LABELS = fc.record({ app: fc.constantFrom('a', 'b', 'c'), tier: fc.constantFrom('x', 'y'), v: fc.constantFrom('1', '2') }, { requiredKeys: [] });

type PolicySpec = [string, Record<string, string> | null, 'ALLOW' | 'DENY', number];

function build(pods: [string, Record<string, string>][], policies: PolicySpec[]): Mesh {
  const docs = [ns('istio-system', false), ns('n1', true), ns('n2', true)];
  pods.forEach(([n, l], i) => docs.push(`apiVersion: v1
kind: Pod
metadata: { name: p${i}, namespace: ${n}, labels: ${JSON.stringify(l)} }
spec: { containers: [{ name: c, image: x }] }
`));
  // one rule each: a principal of three and a method of two, so that several policies match one request
  policies.forEach(([n, sel, action, r], i) => docs.push(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ap${i}, namespace: ${n} }
spec:
${sel === null ? '' : `  selector: { matchLabels: ${JSON.stringify(sel)} }\n`}  action: ${action}
  rules: [{ from: [{ source: { principals: ["cluster.local/ns/n1/sa/sa${r % 3}"] } }], to: [{ operation: { methods: ["${r % 2 === 0 ? 'GET' : 'POST'}"] } }] }]
`));
  return meshFrom(...docs);
}

/** §6.1 and §6.3 in load order over the scan, one rule per policy. */
function expected(mesh: Mesh, w: Workload, a: AuthzAttributes): { allowed: boolean; stage: string; rule: string | null; consulted: string[] } {
  const ref: RefMesh = { trustDomain: mesh.config.trustDomain, aliases: mesh.config.trustDomainAliases, rootNamespace: mesh.config.rootNamespace };
  const applies: AuthorizationPolicy[] = mesh.authorizationPolicies.filter((p) => refSelects(p, w, ref));
  const deny = applies.find((p) => p.action === 'DENY' && refPolicyMatches(p, a, ref));
  if (deny) return { allowed: false, stage: 'deny', rule: ruleName(deny, 0), consulted: [] };
  const allows = applies.filter((p) => p.action === 'ALLOW');
  if (allows.length === 0) return { allowed: true, stage: 'no-allow-policy', rule: null, consulted: [] };
  const allow = allows.find((p) => refPolicyMatches(p, a, ref));
  if (allow) return { allowed: true, stage: 'allow', rule: ruleName(allow, 0), consulted: [] };
  return { allowed: false, stage: 'no-allow-match', rule: null, consulted: allows.map((p) => p.meta.name) };
}

const attrs = (sa: string, method: string): AuthzAttributes => ({
  protocol: 'http', peerPrincipal: `cluster.local/ns/n1/sa/${sa}`, sourceIp: '10.9.0.9', remoteIp: '10.9.0.9', destinationIp: '10.0.0.1',
  destinationPort: 8080, sni: null, http: { method, path: '/', host: 'x', headers: {} },
});

describe('AuthorizationPolicy selection through the selector index', () => {
  // each namespace's selecting policies are indexed on their own (the root namespace's once, not merged into every
  // namespace's): mostly own-namespace policies, then mostly root-namespace ones, so each side passes 32 in turn
  it.each([
    ['own namespace', ['n1', 'n1', 'n2', 'istio-system'], 40],
    ['root namespace', ['istio-system', 'istio-system', 'istio-system', 'n1'], 60],
  ] as const)('applies the policies the scan selects, in load order (first DENY, first ALLOW, the ALLOWs named), with 40 to 90 policies, most in the %s', (_, where, min) => {
    const arb = fc.record({
      pods: fc.array(fc.tuple(fc.constantFrom('n1', 'n2'), LABELS), { minLength: 1, maxLength: 5 }),
      policies: fc.array(fc.tuple(fc.constantFrom(...where), fc.option(LABELS, { nil: null, freq: 8 }),
        fc.constantFrom('ALLOW' as const, 'ALLOW' as const, 'DENY' as const), fc.nat(5)), { minLength: min, maxLength: 90 }),
    });
    fc.assert(fc.property(arb, ({ pods, policies }) => {
      const mesh = build(pods, policies);
      // The loader reads `matchLabels: {}` as no selector; a mesh built through the library may hold an empty one
      // (it selects every workload of its scope), and it is kept as such here.
      policies.forEach(([, sel], i) => {
        if (sel !== null && Object.keys(sel).length === 0) (mesh.authorizationPolicies[i] as { selector: Record<string, string> | null }).selector = {};
      });
      for (const w of mesh.workloads) {
        for (const sa of ['sa0', 'sa1', 'sa2']) {
          for (const method of ['GET', 'POST']) {
            const a = attrs(sa, method);
            const d = evaluateAuthz(mesh, w, a, undefined, 'all', false);
            expect({ allowed: d.allowed, stage: d.stage, rule: d.decidedBy?.rule ?? null, consulted: d.consulted.map((c) => c.name) }).toEqual(expected(mesh, w, a));
          }
        }
      }
    }), { numRuns: 40, seed: 5 });
  });

  it('2,000 selecting policies in the root namespace and 300 namespaces: indexed once, not copied into each namespace', () => {
    const docs = [ns('istio-system', false)];
    for (let i = 0; i < 2000; i++) docs.push(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: root${i}, namespace: istio-system }
spec: { selector: { matchLabels: { app: p${i} } }, action: DENY, rules: [{ to: [{ operation: { methods: ["DELETE"] } }] }] }
`);
    for (let n = 0; n < 300; n++) {
      docs.push(ns(`t${n}`, true), `apiVersion: v1
kind: Pod
metadata: { name: p, namespace: t${n}, labels: { app: p7 } }
spec: { containers: [{ name: c, image: x }] }
`);
    }
    const mesh = meshFrom(...docs);
    fullGc();
    const before = process.memoryUsage().heapUsed;
    for (const w of mesh.workloads) {
      const d = evaluateAuthz(mesh, w, { ...attrs('sa0', 'DELETE'), http: { method: 'DELETE', path: '/', host: 'x', headers: {} } }, undefined, 'all', false);
      expect(d.decidedBy?.rule).toBe('ns[istio-system]-policy[root7]-rule[0]');
    }
    fullGc();
    // a merged copy of the 2,000 and an index of it per namespace were about 300 MB here
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(48 * 2 ** 20);
  });
});
