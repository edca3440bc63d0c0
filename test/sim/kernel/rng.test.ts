/**
 * Named random streams (kernel.ts rule 7): derived from the seed and the name
 * only, so adding a stream or creating them in another order changes nothing.
 */
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { Kernel } from '../../../src/sim/kernel/index.js';

const draw = (stream: () => number, n: number): number[] => Array.from({ length: n }, () => stream());

describe('Kernel random streams', () => {
  it('same seed, same stream; different names, independent streams', () => {
    const a = new Kernel({ seed: 7 });
    const b = new Kernel({ seed: 7 });
    const arrivalsA = draw(a.rng('arrivals'), 100);
    expect(draw(b.rng('arrivals'), 100)).toEqual(arrivalsA);
    // Another name gives another sequence, and drawing from it does not disturb the first.
    const c = new Kernel({ seed: 7 });
    const service = c.rng('service');
    const arrivals = c.rng('arrivals');
    const interleaved: number[] = [];
    for (let i = 0; i < 100; i++) {
      service();
      interleaved.push(arrivals());
    }
    expect(interleaved).toEqual(arrivalsA);
    expect(draw(new Kernel({ seed: 7 }).rng('service'), 100)).not.toEqual(arrivalsA);
    // Another seed, another sequence.
    expect(draw(new Kernel({ seed: 8 }).rng('arrivals'), 100)).not.toEqual(arrivalsA);
  });

  it('stream values do not depend on the order streams are created', () => {
    const names = ['arrivals', 'service', 'faults', 'jitter'];
    const forward = new Kernel({ seed: 99 });
    const backward = new Kernel({ seed: 99 });
    const f = new Map(names.map((n) => [n, forward.rng(n)]));
    const b = new Map([...names].reverse().map((n) => [n, backward.rng(n)]));
    for (const n of names) expect(draw(b.get(n)!, 50)).toEqual(draw(f.get(n)!, 50));
  });

  it('rng(name) returns the same stream object for the same name, seeded with seedrandom(`${seed}/${name}`)', () => {
    const k = new Kernel({ seed: 3 });
    const s = k.rng('x');
    k.rng('y');
    expect(k.rng('x')).toBe(s);
    expect(draw(s, 20)).toEqual(draw(seedrandom('3/x'), 20));
  });

  it('exponential(name, mean) and uniform(name, lo, hi) draw from the named stream', () => {
    const k = new Kernel({ seed: 11 });
    const n = 50_000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += k.exponential('hold', 2.5);
    expect(sum / n).toBeGreaterThan(2.5 * 0.97);
    expect(sum / n).toBeLessThan(2.5 * 1.03);
    for (let i = 0; i < 1000; i++) {
      const u = k.uniform('jitter', -3, 5);
      expect(u).toBeGreaterThanOrEqual(-3);
      expect(u).toBeLessThan(5);
    }
    const ref = seedrandom('11/hold');
    const k2 = new Kernel({ seed: 11 });
    expect(k2.exponential('hold', 1)).toBe(-Math.log(1 - ref()));
    expect(k2.uniform('hold', 10, 20)).toBe(10 + 10 * ref());
  });

  it('a bad mean or range is a broken invariant', () => {
    const k = new Kernel({ seed: 1 });
    expect(() => k.exponential('x', -1)).toThrow(RangeError);
    expect(() => k.exponential('x', Number.NaN)).toThrow(RangeError);
    expect(() => k.uniform('x', 2, 1)).toThrow(RangeError);
    expect(() => new Kernel({ seed: Number.NaN })).toThrow(RangeError);
  });
});
