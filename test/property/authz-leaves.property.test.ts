/**
 * The compiled leaf matchers of methods, paths, principals and namespaces
 * (authorization-policy.ts peerPattern / methodPattern / pathPattern and the
 * star-less namespace test) decide exactly as the matchers.ts string patterns
 * (§6.4: `*` present and non-empty, leading `*` suffix, trailing `*` prefix,
 * else exact) and the `*\/ns/<ns>/*` glob (§6.5), for patterns and values drawn
 * from a small alphabet so that every kind of pattern meets matching values.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateAuthz, prepareAuthz } from '../../src/policy/authorization-policy.js';
import type { AuthzRule } from '../../src/model/types.js';
import { globMatcher, stringMatch } from '../../src/policy/matchers.js';
import { http, mesh, policy, workload } from './authz-mesh.js';

const WEB = workload('a', 'web', { app: 'web' });
const piece = fc.string({ unit: fc.constantFrom('a', 'b', '/'), maxLength: 4 });
/** exact, prefix, suffix, presence and the empty pattern */
const pattern = fc.oneof(piece, piece.map((s) => `${s}*`), piece.map((s) => `*${s}`), fc.constant('*'));

/** ALLOW with one rule; allowed iff the rule matches (an ALLOW policy selects the workload, so no match = deny) */
function matches(rule: AuthzRule, a: ReturnType<typeof http>, prepared: boolean): boolean {
  const m = mesh([policy({ name: 'only', action: 'ALLOW', rules: [rule] })], {}, [WEB]);
  if (prepared) prepareAuthz(m);
  return evaluateAuthz(m, WEB, a).allowed;
}

describe('compiled leaf matchers agree with the string patterns they stand for', () => {
  it('a `methods` value matches a method exactly as stringMatch does, prepared or not', () => {
    fc.assert(fc.property(pattern, piece, fc.boolean(), (p, v, prepared) => {
      expect(matches({ to: [{ operation: { methods: [p] } }] }, http({ method: v }), prepared)).toBe(stringMatch(p, v));
    }), { numRuns: 400 });
  });

  it('a `paths` value without a template matches a path exactly as stringMatch does, prepared or not', () => {
    fc.assert(fc.property(pattern, piece, fc.boolean(), (p, v, prepared) => {
      expect(matches({ to: [{ operation: { paths: [p] } }] }, http({ path: v }), prepared)).toBe(stringMatch(p, v));
    }), { numRuns: 400 });
  });

  it('a `notPaths` value excludes exactly the paths stringMatch matches', () => {
    fc.assert(fc.property(pattern, piece, (p, v) => {
      expect(matches({ to: [{ operation: { notPaths: [p] } }] }, http({ path: v }), true)).toBe(!stringMatch(p, v));
    }), { numRuns: 200 });
  });

  it('a `principals` value outside the trust-domain forms matches the peer exactly as stringMatch does; a plaintext peer never', () => {
    fc.assert(fc.property(pattern, piece, (p, v) => {
      expect(matches({ from: [{ source: { principals: [p] } }] }, http({ peer: v }), true)).toBe(stringMatch(p, v));
      expect(matches({ from: [{ source: { principals: [p] } }] }, http({ peer: null }), true)).toBe(false);
    }), { numRuns: 400 });
  });

  it('a `namespaces` value matches the peer URI exactly as the glob `*\\/ns/<value>/*` does', () => {
    const ns = fc.oneof(piece, piece.map((s) => `${s}*`), piece.map((s) => `*${s}`), fc.constant('*'));
    const peer = fc.tuple(piece, piece).map(([n, sa]) => `cluster.local/ns/${n}/sa/${sa}`);
    fc.assert(fc.property(ns, peer, (p, v) => {
      const expected = p === '*' ? v !== '' : globMatcher(`*/ns/${p}/*`)(`spiffe://${v}`);
      expect(matches({ from: [{ source: { namespaces: [p] } }] }, http({ peer: v }), true)).toBe(expected);
    }), { numRuns: 400 });
  });
});
