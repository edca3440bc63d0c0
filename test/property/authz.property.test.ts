/**
 * AuthorizationPolicy theorems (architecture.md habit 8), checked on random
 * small policy sets and requests over a small alphabet; the fast evaluator
 * (src/policy/authorization-policy.ts) is compared with the reference
 * evaluator in ./reference-authz.ts, written from istio-semantics.md §1, §6.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuthorizationPolicy, AuthzSource, Mesh } from '../../src/model/types.js';
import type { AuthzAttributes, AuthzDecision } from '../../src/policy/authorization-policy.js';
import { evaluateAuthz, httpOnlyFields, policiesFor, prepareAuthz } from '../../src/policy/authorization-policy.js';
import { PEERS, TRUST, policiesArb, policyArb, renumber, requestArb, rulesArb } from './authz-arbitraries.js';
import { mesh, policy, refMeshOf, workload } from './authz-mesh.js';
import { referenceAuthz, refSelects } from './reference-authz.js';

const RUNS = { numRuns: 300 };
const WEB = workload('a', 'web', { app: 'web' });
const DB = workload('b', 'db', { app: 'db' });

type Trust = Parameters<typeof mesh>[1];

function decide(ps: readonly AuthorizationPolicy[], trust: Trust, a: AuthzAttributes): AuthzDecision {
  return evaluateAuthz(mesh(ps, trust, [WEB, DB]), WEB, a);
}

function selecting(m: Mesh): AuthorizationPolicy[] {
  return m.authorizationPolicies.filter((p) => refSelects(p, WEB, refMeshOf(m)));
}

/** The same policies as the ones given, all selecting `a/web` and enforced. */
function enforcedOn(ps: AuthorizationPolicy[]): AuthorizationPolicy[] {
  return ps.map((p) => ({ ...p, meta: { ...p.meta, namespace: 'a' }, selector: null, targetRefs: [], dryRun: false }));
}

describe('AuthorizationPolicy properties (istio-semantics §6)', () => {
  it('the fast and the reference evaluator agree', () => {
    const seen = { allow: 0, deny: 0, byStage: {} as Record<string, number>, total: 0 };
    fc.assert(fc.property(TRUST, policiesArb(), requestArb, (trust, ps, a) => {
      const m = mesh(ps, trust, [WEB, DB]);
      const fast = evaluateAuthz(m, WEB, a);
      const ref = referenceAuthz(selecting(m), a, refMeshOf(m));
      seen.total++;
      seen[ref]++;
      seen.byStage[fast.stage] = (seen.byStage[fast.stage] ?? 0) + 1;
      expect(fast.allowed ? 'allow' : 'deny').toBe(ref);
    }), { numRuns: 1000 });
    // the property can fail: both verdicts and every stage actually happen
    expect(seen.allow / seen.total).toBeGreaterThan(0.2);
    expect(seen.deny / seen.total).toBeGreaterThan(0.2);
    for (const stage of ['deny', 'allow', 'no-allow-policy', 'no-allow-match']) {
      expect(seen.byStage[stage] ?? 0, `stage ${stage}`).toBeGreaterThan(seen.total * 0.03);
    }
  });

  it('preparing every workload up front (prepareAuthz) changes no decision and no explanation', () => {
    fc.assert(fc.property(TRUST, policiesArb(), requestArb, (trust, ps, a) => {
      const lazy = evaluateAuthz(mesh(ps, trust, [WEB, DB]), WEB, a);
      const m = mesh(structuredClone(ps), trust, [WEB, DB]);
      prepareAuthz(m);
      expect(evaluateAuthz(m, WEB, a)).toEqual(lazy);
    }), RUNS);
  });

  it('§6.1 the fast and the reference evaluator select the same policies', () => {
    fc.assert(fc.property(TRUST, policiesArb(), (trust, ps) => {
      const m = mesh(ps, trust, [WEB, DB]);
      expect(policiesFor(m, WEB).map((p) => p.meta.name)).toEqual(selecting(m).map((p) => p.meta.name));
    }), RUNS);
  });

  it('deny wins', () => {
    let hits = 0;
    fc.assert(fc.property(TRUST, policiesArb(['DENY'], 2), policiesArb(['ALLOW', 'AUDIT']), requestArb, (trust, denies, others, a) => {
      const d = enforcedOn(denies);
      if (decide(d, trust, a).allowed) return;
      hits++;
      const all = renumber([...others, ...d]);
      const both = decide(all, trust, a);
      expect(both.allowed).toBe(false);
      expect(both.stage).toBe('deny');
    }), RUNS);
    expect(hits).toBeGreaterThan(30);
  });

  it('no ALLOW policy means allow', () => {
    fc.assert(fc.property(TRUST, policiesArb(['DENY', 'AUDIT']), requestArb, (trust, ps, a) => {
      const d = decide(ps, trust, a);
      expect(d.allowed || d.stage === 'deny').toBe(true);
      if (d.allowed) expect(d.stage).toBe('no-allow-policy');
      // without any DENY either, nothing can deny
      const audits = ps.filter((p) => p.action === 'AUDIT');
      expect(decide(audits, trust, a).allowed).toBe(true);
    }), RUNS);
  });

  it('ALLOW policies present and none matching means deny', () => {
    // "none matching" is judged policy by policy with the evaluator itself, so this
    // theorem is about the decision algorithm only, not about leaf matching
    let hits = 0;
    fc.assert(fc.property(TRUST, fc.array(rulesArb, { minLength: 1, maxLength: 3 }), requestArb, (trust, ruleSets, a) => {
      const ps = renumber(ruleSets.map((rules) => policy({ action: 'ALLOW', rules })));
      if (ps.some((p) => decide([p], trust, a).allowed)) return;
      hits++;
      const d = decide(ps, trust, a);
      expect(d.allowed).toBe(false);
      expect(d.stage).toBe('no-allow-match');
      expect(d.decidedBy).toBeNull();
      expect(d.details).toBe('rbac_access_denied_matched_policy[none]');
    }), RUNS);
    expect(hits).toBeGreaterThan(30);
  });

  it('policy order does not matter', () => {
    fc.assert(fc.property(TRUST, policiesArb(undefined, 5).chain((ps) => fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length, maxLength: ps.length }))), requestArb,
      (trust, [ps, shuffled], a) => {
        const x = decide(ps, trust, a);
        const y = decide(shuffled, trust, a);
        expect(y.allowed).toBe(x.allowed);
        expect(y.stage).toBe(x.stage);
      }), RUNS);
  });

  it('adding a DENY never allows more', () => {
    fc.assert(fc.property(TRUST, policiesArb(), policyArb(['DENY']), requestArb, (trust, ps, deny, a) => {
      const before = decide(ps, trust, a);
      const after = decide(renumber([...ps, deny]), trust, a);
      if (after.allowed) expect(before.allowed).toBe(true);
    }), RUNS);
  });

  it('AUDIT policies never change the decision', () => {
    fc.assert(fc.property(TRUST, policiesArb(['ALLOW', 'DENY']), policiesArb(['AUDIT']), requestArb, (trust, ps, audits, a) => {
      expect(decide(renumber([...ps, ...audits]), trust, a).allowed).toBe(decide(ps, trust, a).allowed);
    }), RUNS);
  });

  it('dry-run policies never change the decision', () => {
    fc.assert(fc.property(TRUST, policiesArb(), policiesArb(), requestArb, (trust, ps, extra, a) => {
      const dry = extra.map((p) => ({ ...p, dryRun: true, meta: { ...p.meta, annotations: { 'istio.io/dry-run': 'true' } } }));
      const d = decide(ps, trust, a);
      expect(decide(renumber([...ps, ...dry]), trust, a).allowed).toBe(d.allowed);
      expect(decide(renumber([...dry, ...ps]), trust, a).allowed).toBe(d.allowed);
    }), RUNS);
  });

  it('plaintext never matches a principal', () => {
    const fields = ['principals', 'namespaces', 'serviceAccounts', 'trustDomains'] as const;
    const notOf = { principals: 'notPrincipals', namespaces: 'notNamespaces', serviceAccounts: 'notServiceAccounts', trustDomains: 'notTrustDomains' } as const;
    const keys = { principals: 'source.principal', namespaces: 'source.namespace', serviceAccounts: 'source.serviceAccount', trustDomains: 'source.trustDomain' } as const;
    const valuesOf = { principals: ['*', ...PEERS, '*/ns/a/sa/x'], namespaces: ['*', 'a', 'b', 'b*'], serviceAccounts: ['x', 'a/x', 'b/y'], trustDomains: ['*', 'cluster.local', 'td1', 'td*'] };
    const arb = fc.constantFrom(...fields).chain((f) => fc.tuple(fc.constant(f), fc.constantFrom(...valuesOf[f])));
    fc.assert(fc.property(arb, TRUST, requestArb, ([f, v], trust, a0) => {
      const a: AuthzAttributes = { ...a0, peerPrincipal: null };
      const src: AuthzSource = { [f]: [v] };
      const notSrc: AuthzSource = { [notOf[f]]: [v] };
      // ALLOW by identity never admits plaintext; DENY by identity never stops it
      expect(decide([policy({ action: 'ALLOW', rules: [{ from: [{ source: src }] }] })], trust, a).allowed).toBe(false);
      expect(decide([policy({ action: 'ALLOW', rules: [{ when: [{ key: keys[f], values: [v] }] }] })], trust, a).allowed).toBe(false);
      expect(decide([policy({ action: 'DENY', rules: [{ from: [{ source: src }] }] })], trust, a).allowed).toBe(true);
      // …so the negation always matches plaintext
      expect(decide([policy({ action: 'DENY', rules: [{ from: [{ source: notSrc }] }] })], trust, a).allowed).toBe(false);
      expect(decide([policy({ action: 'DENY', rules: [{ when: [{ key: keys[f], notValues: [v] }] }] })], trust, a).allowed).toBe(false);
    }), RUNS);
  });

  it('an ALLOW rule with an HTTP-only field never allows TCP', () => {
    let httpOnlyRules = 0;
    fc.assert(fc.property(TRUST, policiesArb(['ALLOW', 'DENY']), requestArb, (trust, ps, a0) => {
      const a: AuthzAttributes = { protocol: 'tcp', peerPrincipal: a0.peerPrincipal, sourceIp: a0.sourceIp, remoteIp: a0.remoteIp,
        destinationIp: a0.destinationIp, destinationPort: a0.destinationPort, sni: a0.sni };
      const d = decide(ps, trust, a);
      if (d.stage === 'allow' && d.decidedBy) {
        const rule = d.decidedBy.rule;
        const p = ps.find((x) => x.meta.name === d.decidedBy?.policy);
        const i = Number(/rule\[(\d+)\]$/.exec(rule)?.[1]);
        const r = p?.rules?.[i];
        expect(r).toBeDefined();
        if (r) expect(httpOnlyFields(r)).toEqual([]);
      }
      // ALLOW policies whose every rule uses an HTTP-only field: TCP is denied (nothing else allows)
      const httpOnly = enforcedOn(ps.filter((p) => p.action === 'ALLOW' && (p.rules ?? []).length > 0 && (p.rules ?? []).every((r) => httpOnlyFields(r).length > 0)));
      if (httpOnly.length > 0) {
        httpOnlyRules++;
        expect(decide(httpOnly, trust, a).allowed).toBe(false);
      }
    }), RUNS);
    expect(httpOnlyRules).toBeGreaterThan(30);
  });
});
