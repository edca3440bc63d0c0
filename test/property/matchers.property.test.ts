/**
 * The compiled leaf matchers (stringMatcher, pathMatcher) that the
 * AuthorizationPolicy evaluator keeps per value agree with the interpreted
 * ones (stringMatch, pathMatch) on every pattern and value: istio-semantics
 * §6.4 exact / prefix / suffix / presence, case-insensitive hosts, §6.6 path
 * templates.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inlineHeaderMatcher, pathMatch, pathMatcher, stringMatch, stringMatcher } from '../../src/policy/matchers.js';
import { inlineHeaderMatches } from './reference-authz.js';

const piece = fc.constantFrom('', 'a', 'A', 'ab', 'b', '/', '/api', 'x.y', '*', '{*}', '{**}', 'Ab');
const text = fc.array(piece, { maxLength: 4 }).map((xs) => xs.join(''));
const path = fc.array(fc.constantFrom('a', 'b', 'api', 'v1', '', 'x.y'), { maxLength: 4 }).map((xs) => `/${xs.join('/')}`);
const pattern = fc.oneof(text, path.map((p) => `${p}*`), path.map((p) => `*${p}`), path.map((p) => p.replace(/\/a(?=\/|$)/, '/{*}')), path.map((p) => `${p}/{**}`));

describe('compiled matchers agree with the interpreted ones (§6.4, §6.6)', () => {
  it('§6.4 stringMatcher(p)(v) = stringMatch(p, v), case-sensitive and case-insensitive, null and undefined values included', () => {
    fc.assert(fc.property(pattern, fc.oneof(text, path, fc.constant(null), fc.constant(undefined)), fc.boolean(), (p, v, ci) => {
      expect(stringMatcher(p, ci)(v)).toBe(stringMatch(p, v, ci));
    }), { numRuns: 2000 });
  });

  it('§6.7 "inlineHeaderMatcher(p)(v) = Istio\'s inline-header regex ^R$|^R,.*|.*,R,.*|.*,R$ on v", commas inside the value included', () => {
    const bit = fc.constantFrom('', 'a', 'b', 'ab', ',', ' ', '*', '.');
    const list = fc.array(bit, { maxLength: 6 }).map((xs) => xs.join(''));
    fc.assert(fc.property(list, fc.oneof(list, fc.constant(undefined)), (p, v) => {
      if (p === '') return; // the loader refuses an empty value
      expect(inlineHeaderMatcher(p)(v)).toBe(inlineHeaderMatches(p, v));
    }), { numRuns: 5000 });
  });

  it('§6.6 pathMatcher(p)(path) = pathMatch(p, path), templates included', () => {
    let templates = 0;
    fc.assert(fc.property(pattern, path, (p, v) => {
      if (p.includes('{')) templates++;
      expect(pathMatcher(p)(v)).toBe(pathMatch(p, v));
    }), { numRuns: 2000 });
    expect(templates).toBeGreaterThan(100);
  });

  it('§6.4 the cases the rule names: exact, prefix, suffix, presence', () => {
    expect(stringMatcher('abc')('abc')).toBe(true);
    expect(stringMatcher('abc*')('abcd')).toBe(true);
    expect(stringMatcher('*bc')('abc')).toBe(true);
    expect(stringMatcher('*')('')).toBe(false);
    expect(stringMatcher('*')(undefined)).toBe(false);
    expect(stringMatcher('A.example.COM', true)('a.Example.com')).toBe(true);
    expect(stringMatcher('A.example.COM')('a.Example.com')).toBe(false);
  });
});
