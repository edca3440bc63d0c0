/**
 * SelectorBuckets (model/selector-index.ts) leaves out only items whose
 * selector cannot match: for any labels, the candidates, checked in full with
 * selectorMatches, are exactly the items a check of every selector picks, in
 * list order, each once. Keys a stranger's YAML may hold are own properties
 * like any other — `__proto__`, `constructor`, `toString`, `hasOwnProperty`,
 * numeric keys — and a key a selector or a label set only inherits counts for
 * neither (selectorMatches reads own keys only).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SelectorBuckets } from '../../src/model/selector-index.js';
import { selectorMatches, type Labels } from '../../src/model/types.js';

const KEYS = ['app', 'tier', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '0', '10'] as const;
const VALUES = ['a', 'b', '', '__proto__'] as const;

/** A labels object whose every key is an own, enumerable property (as the loader makes them), on a chosen prototype. */
function labelsOf(pairs: readonly (readonly [string, string])[], proto: object | null): Labels {
  const out = Object.create(proto) as Record<string, string>;
  for (const [k, v] of pairs) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

const PAIRS = fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES)), { maxLength: 4, selector: ([k]) => k });
/** the prototype: none, Object.prototype, or one with an enumerable key of its own (inherited by the object) */
const PROTO = fc.constantFrom<object | null>(null, Object.prototype, { app: 'a' }, { constructor: 'b' });
const LABELS = fc.tuple(PAIRS, PROTO).map(([p, proto]) => labelsOf(p, proto));
const ITEM = fc.oneof({ arbitrary: fc.constant(null), weight: 1 }, { arbitrary: LABELS, weight: 6 });

describe('SelectorBuckets', () => {
  it('candidates checked in full are exactly the selectors that match, in list order, whatever the keys', () => {
    fc.assert(fc.property(fc.array(ITEM, { maxLength: 80, size: 'max' }), fc.array(LABELS, { minLength: 1, maxLength: 10 }), (sels, pods) => {
      const items = sels.map((sel, i) => ({ i, sel }));
      const b = new SelectorBuckets(items, (x) => x.sel);
      for (const labels of pods) {
        const got = b.candidates(labels);
        expect(new Set(got).size).toBe(got.length);
        expect(got.map((x) => x.i)).toEqual([...got.map((x) => x.i)].sort((p, q) => p - q));
        const picked = got.filter((x) => x.sel === null || selectorMatches(x.sel, labels)).map((x) => x.i);
        expect(picked).toEqual(items.filter((x) => x.sel === null || selectorMatches(x.sel, labels)).map((x) => x.i));
      }
    }), { numRuns: 400, seed: 21 });
  });

  it('a selector of inherited keys only is empty: a candidate for every workload, and it matches every one', () => {
    const inherited = labelsOf([], { app: 'a' });
    const b = new SelectorBuckets([inherited, labelsOf([['app', 'b']], null)], (x) => x);
    expect(b.candidates(labelsOf([['tier', 'x']], null))).toEqual([inherited]);
    expect(selectorMatches(inherited, labelsOf([['tier', 'x']], null))).toBe(true);
  });
});
