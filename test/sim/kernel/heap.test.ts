/**
 * The future-event sets: each test states one rule of heap.ts (and
 * tiered-heap.ts, which must keep the same order). The reference is a sort:
 * a FES must pop exactly what a stable sort on (time, priority, seq) would.
 * The tiered heap runs with tiny near tiers so refills and spills happen on
 * every few operations.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventHeap, type FutureEventSet } from '../../../src/sim/kernel/heap.js';
import { TieredEventHeap } from '../../../src/sim/kernel/tiered-heap.js';

const implementations: [string, (capacity: number) => FutureEventSet][] = [
  ['EventHeap', (capacity) => new EventHeap(capacity)],
  ['TieredEventHeap (near tier 1)', (capacity) => new TieredEventHeap({ nearMin: 1, initialCapacity: capacity })],
  ['TieredEventHeap (near tier 3)', (capacity) => new TieredEventHeap({ nearMin: 3, initialCapacity: capacity })],
];

interface Entry {
  time: number;
  priority: number;
  seq: number;
  slot: number;
}

const byKey = (a: Entry, b: Entry): number => a.time - b.time || a.priority - b.priority || a.seq - b.seq;

/** Few distinct times and priorities, so ties are the common case. */
const time = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.double({ min: 0, max: 100, noNaN: true }));
const priority = fc.integer({ min: -3, max: 3 });

/** A run of operations: push(time, priority) or pop. */
const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('push' as const), time, priority }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pop' as const) }) },
);

describe.each(implementations)('%s', (_name, make) => {
  it('pops any sequence of pushes in (time, priority, seq) order — same as a sort-based reference', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(time, priority), { maxLength: 300 }), (pushes) => {
        const heap = make(4);
        const ref: Entry[] = pushes.map(([t, p], i) => ({ time: t, priority: p, seq: i, slot: i }));
        for (const e of ref) heap.push(e.time, e.priority, e.slot);
        expect(heap.size).toBe(ref.length);
        const popped: number[] = [];
        for (let s = heap.pop(); s !== -1; s = heap.pop()) popped.push(s);
        expect(popped).toEqual([...ref].sort(byKey).map((e) => e.slot));
      }),
      { numRuns: 300 },
    );
  });

  it('interleaved pushes and pops, with slots reused after popping, agree with the reference at every step', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const heap = make(2);
        let ref: Entry[] = [];
        const freeSlots: number[] = [];
        let nextSlot = 0;
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            const slot = freeSlots.pop() ?? nextSlot++;
            heap.push(o.time, o.priority, slot);
            ref.push({ time: o.time, priority: o.priority, seq: seq++, slot });
          } else {
            const expected = [...ref].sort(byKey)[0];
            expect(heap.peekTime()).toBe(expected?.time ?? Infinity);
            expect(heap.peekSlot()).toBe(expected?.slot ?? -1);
            const slot = heap.pop();
            expect(slot).toBe(expected?.slot ?? -1);
            if (expected !== undefined) {
              ref = ref.filter((e) => e !== expected);
              freeSlots.push(slot);
            }
          }
          expect(heap.size).toBe(ref.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('retain drops the entries that fail the test and keeps the order of the rest', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(time, priority, fc.boolean()), { maxLength: 200 }), (pushes) => {
        const heap = make(4);
        const ref: Entry[] = pushes.map(([t, p], i) => ({ time: t, priority: p, seq: i, slot: i }));
        for (const e of ref) heap.push(e.time, e.priority, e.slot);
        const keep = new Set(pushes.flatMap(([, , k], i) => (k ? [i] : [])));
        heap.retain((slot) => keep.has(slot));
        const popped: number[] = [];
        for (let s = heap.pop(); s !== -1; s = heap.pop()) popped.push(s);
        expect(popped).toEqual(ref.filter((e) => keep.has(e.slot)).sort(byKey).map((e) => e.slot));
      }),
      { numRuns: 200 },
    );
  });

  it('an empty heap pops -1 and peeks Infinity, without throwing', () => {
    const heap = make(16);
    expect(heap.pop()).toBe(-1);
    expect(heap.peekSlot()).toBe(-1);
    expect(heap.peekTime()).toBe(Infinity);
    expect(heap.size).toBe(0);
  });

  it('grows by doubling past its initial capacity and keeps every entry', () => {
    const heap = make(1);
    const n = 10_000;
    for (let i = 0; i < n; i++) heap.push((i * 7919) % n, 0, i);
    expect(heap.size).toBe(n);
    let last = -Infinity;
    let disorder = 0;
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const t = heap.peekTime();
      if (t < last) disorder++;
      last = t;
      seen.add(heap.pop());
    }
    expect(disorder).toBe(0);
    expect(seen.size).toBe(n);
    expect(seen.has(-1)).toBe(false);
    expect(heap.size).toBe(0);
  });

  it('a large heap with many ties (deeper than the branch-free levels) pops in (time, priority, seq) order', () => {
    const heap = make(16);
    const n = 200_000;
    const timeOf = (i: number) => (i * 7919) % 97;
    const prioOf = (i: number) => (i * 31) % 5;
    for (let i = 0; i < n; i++) heap.push(timeOf(i), prioOf(i), i);
    const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => timeOf(a) - timeOf(b) || prioOf(a) - prioOf(b) || a - b);
    const popped = new Int32Array(n);
    for (let i = 0; i < n; i++) popped[i] = heap.pop();
    expect(heap.pop()).toBe(-1);
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (popped[i] !== expected[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('clear empties the heap and restarts insertion order', () => {
    const heap = make(16);
    heap.push(1, 0, 0);
    heap.push(1, 0, 1);
    heap.clear();
    expect(heap.size).toBe(0);
    heap.push(2, 0, 5);
    heap.push(2, 0, 3);
    expect([heap.pop(), heap.pop(), heap.pop()]).toEqual([5, 3, -1]);
  });

  it('a slot that is not a non-negative int32 is a broken invariant', () => {
    const heap = make(16);
    expect(() => heap.push(0, 0, -1)).toThrow(RangeError);
    expect(() => heap.push(0, 0, 1.5)).toThrow(RangeError);
  });
});

describe('TieredEventHeap', () => {
  it('keeps the near tier small: far entries wait in the overflow, and still pop in order', () => {
    const heap = new TieredEventHeap({ nearMin: 64 });
    const n = 5_000;
    for (let i = 0; i < n; i++) heap.push((i * 7919) % 1000, i % 3, i);
    expect(heap.size).toBe(n);
    expect(heap.overflowSize).toBeGreaterThan(n / 2);
    const popped: number[] = [];
    for (let s = heap.pop(); s !== -1; s = heap.pop()) popped.push(s);
    const expected = [...Array(n).keys()].sort((a, b) => ((a * 7919) % 1000) - ((b * 7919) % 1000) || (a % 3) - (b % 3) || a - b);
    expect(popped).toEqual(expected);
  });

  it('equal times are never split across tiers, however many there are', () => {
    const heap = new TieredEventHeap({ nearMin: 2 });
    for (let i = 0; i < 100; i++) heap.push(7, 0, i);
    for (let i = 100; i < 200; i++) heap.push(7, -1, i);
    const popped: number[] = [];
    for (let s = heap.pop(); s !== -1; s = heap.pop()) popped.push(s);
    expect(popped).toEqual([...Array.from({ length: 100 }, (_, i) => 100 + i), ...Array.from({ length: 100 }, (_, i) => i)]);
  });
});
