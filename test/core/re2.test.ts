import { describe, expect, it } from 'vitest';
import { compileRe2, type Re2 } from '../../src/core/re2.js';

function re(pattern: string): Re2 {
  const r = compileRe2(pattern);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

describe('RE2 (core/re2.ts)', () => {
  // not a speed test: a backtracking matcher takes 2^40 steps here and never answers (the suite would not finish, which
  // CI's time limit fails); the answer itself is the check
  it('(a+)+$ against forty a and a ! answers: matching is linear, not backtracking', () => {
    expect(re('(a+)+$').matches(`${'a'.repeat(40)}!`)).toBe(false);
  });

  it('a match is a match of the whole value, as Envoy safe_regex does', () => {
    expect(re('/api/v[0-9]+').matches('/api/v2')).toBe(true);
    expect(re('/api/v[0-9]+').matches('/api/v2/users')).toBe(false);
    expect(re('a|ab').matches('ab')).toBe(true);
  });

  it('a backreference, a lookahead and a lookbehind are not RE2 and are refused with a reason', () => {
    expect(compileRe2('(a)\\1')).toMatch(/not a valid RE2 regular expression: invalid escape sequence/);
    expect(compileRe2('a(?=b)')).toMatch(/not a valid RE2 regular expression/);
    expect(compileRe2('(?<!a)b')).toMatch(/not a valid RE2 regular expression/);
  });

  it('an empty regex and one longer than 1024 characters are refused as Istio validation refuses them', () => {
    expect(compileRe2('')).toBe('regex string match should not be empty');
    expect(compileRe2('a'.repeat(1025))).toBe('regex is too large, max length allowed is 1024');
  });

  it('a repetition count above 1000 is refused, as RE2 refuses it', () => {
    expect(compileRe2('a{1001}')).toMatch(/invalid repeat count/);
    expect(compileRe2('((a{100}){100}){100}')).toMatch(/invalid repeat count/);
  });

  it('replaceAll expands \\1 to a group and \\\\ to a backslash (RE2::Rewrite)', () => {
    expect(re('^/api/(v[0-9]+)/(.*)$').replaceAll('/api/v1/users', '/\\2/\\1')).toBe('/users/v1');
    expect(re('x').replaceAll('axb', '\\\\')).toBe('a\\b');
  });

  it('replaceAll skips an empty match right after the previous match, as RE2::GlobalReplace does (String.replace would not)', () => {
    expect(re('.*').replaceAll('abc', 'x')).toBe('x');
    expect(re('b*').replaceAll('abc', '-')).toBe('-a-c-');
  });
});
