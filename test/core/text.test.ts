import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byCodeUnit, grouped } from '../../src/core/text.js';

describe('grouped (thousands without ICU)', () => {
  it('writes an integer as toLocaleString("en-US") does', () => {
    fc.assert(fc.property(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (n) => {
      expect(grouped(n)).toBe(n.toLocaleString('en-US'));
    }), { numRuns: 2000 });
    for (const n of [0, 7, 999, 1000, 999_999, 1_000_000, 2 ** 31 - 1, 2 ** 53, 1e21, -1234]) expect(grouped(n)).toBe(n.toLocaleString('en-US'));
  });

  it('keeps at most three decimals, as en-US does', () => {
    for (const n of [0.5, 1234.5, 1234.125, 0.001, 1_000_000.25, -1500.25]) expect(grouped(n)).toBe(n.toLocaleString('en-US'));
  });

  it('writes what is not finite as String does (no non-ASCII infinity sign)', () => {
    expect(grouped(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(grouped(Number.NaN)).toBe('NaN');
  });
});

describe('byCodeUnit (order without a collator)', () => {
  it('orders by UTF-16 code units, whatever the machine\'s locale', () => {
    expect(['b', 'B', 'a', 'A', '_x', '-x'].sort(byCodeUnit)).toEqual(['-x', 'A', 'B', '_x', 'a', 'b']);
  });

  it('gives the order the root collation gave for Kubernetes names (lower case, digits, -, ., /)', () => {
    const name = fc.stringMatching(/^[a-z0-9][-a-z0-9./]{0,12}$/);
    fc.assert(fc.property(name, name, (a, b) => {
      expect(Math.sign(byCodeUnit(a, b))).toBe(Math.sign(a.localeCompare(b, 'und')));
    }), { numRuns: 2000 });
  });
});
