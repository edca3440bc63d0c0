import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byCodeUnit, grouped } from '../../src/core/text.js';

describe('grouped (toLocaleString("en-US") without ICU)', () => {
  const same = (n: number): void => { expect(grouped(n), String(n)).toBe(n.toLocaleString('en-US')); };

  it('writes an integer as toLocaleString("en-US") does, past 2^53 and 1e21 too', () => {
    fc.assert(fc.property(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (n) => { same(n); }), { numRuns: 2000 });
    // beyond 2^53 a double's shortest form is padded with zeros (63,244,781,027,561,110: a scenario's request estimate)
    fc.assert(fc.property(fc.double({ min: 2 ** 53, max: 1e30, noNaN: true }), (x) => { same(Math.round(x)); }), { numRuns: 2000 });
    for (const n of [0, -0, 7, 999, 1000, 999_999, 1_000_000, 2 ** 31 - 1, 2 ** 53, 2 ** 53 + 2, 63244781027561112, 1e21, 1.5e21, 1e300, -1234]) same(n);
  });

  it('keeps at most three decimals, rounded half away from zero on the shortest decimal form, as en-US does', () => {
    fc.assert(fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), (x) => { same(x); }), { numRuns: 3000 });
    fc.assert(fc.property(fc.integer({ min: -2_000_000, max: 2_000_000 }), (k) => { same(k / 10_000); }), { numRuns: 3000 });
    for (const n of [0.5, 1234.5, 1234.125, 1.2345, 1.0005, 0.0005, 0.0004999, 9.9995, 999.9995, 0.001, 1e-7, -0.0001, 1_000_000.25, -1500.25]) same(n);
  });

  it('writes what is not finite as String does (no non-ASCII infinity sign)', () => {
    expect(grouped(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(grouped(Number.NEGATIVE_INFINITY)).toBe('-Infinity');
    expect(grouped(Number.NaN)).toBe('NaN');
  });
});

describe('byCodeUnit (order without a collator)', () => {
  it('orders by UTF-16 code units, whatever the machine\'s locale', () => {
    expect(['b', 'B', 'a', 'A', '_x', '-x'].sort(byCodeUnit)).toEqual(['-x', 'A', 'B', '_x', 'a', 'b']);
  });

  it('gives the order an en-US machine gave for Kubernetes names (lower case, digits, -, ., /)', () => {
    const name = fc.stringMatching(/^[a-z0-9][-a-z0-9./]{0,12}$/);
    fc.assert(fc.property(name, name, (a, b) => {
      expect(Math.sign(byCodeUnit(a, b))).toBe(Math.sign(a.localeCompare(b, 'en-US')));
    }), { numRuns: 2000 });
  });
});
