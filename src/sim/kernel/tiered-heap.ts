/**
 * TieredEventHeap: the EventHeap binary heap for the near future, plus an
 * unsorted overflow array for the far future, so the heap stays small enough
 * to live in cache (a two-rung ladder queue). The kernel's default FES.
 *
 * Rules (on top of heap.ts, whose order (time, priority, seq) is unchanged):
 *  1. Every entry in the heap has a time strictly below `bound`, and every
 *     entry in the overflow a time >= bound. So the heap's minimum is the
 *     global minimum whenever the heap is not empty, ties included: equal
 *     times are never split across the two tiers.
 *  2. push(time) goes to the heap when time < bound, else to the overflow
 *     (an O(1) append). The entry's priority and seq are recorded at push in
 *     either case and never change.
 *  3. Refill: when the heap is empty and the overflow is not, a new bound is
 *     chosen so that about max(nearMin, overflow/8) entries fall below it —
 *     the quantile of a fixed, strided sample of 255 times (deterministic, no
 *     randomness) — those entries move into the heap (heapify, O(k)) and
 *     bound becomes the smallest time left in the overflow. If the sample
 *     bound moves nothing (many equal times), every entry at the minimum time
 *     moves instead.
 *  4. Spill: when the heap grows past 2 × max(nearMin, size/8), the entries at
 *     or above a sampled quantile move to the overflow and bound drops to
 *     that quantile. If the heap cannot be split (its sampled times all equal
 *     its minimum), the limit doubles instead.
 *  5. Below 2 × nearMin pending entries nothing ever spills: it is exactly the
 *     plain EventHeap plus one comparison per push.
 *
 * Why (hold model at P = 1e6 pending, 2-core EPYC VM shared with other jobs):
 * a 1e6-entry binary heap walks ~20 levels per pop, the last ~6 cache-cold.
 * Every layout tried for the plain heap (4-ary, interleaved records, Floyd's
 * pop) stayed within noise of ~2.2 M events/s for a bare heap loop. With a
 * near tier of ~128 k entries and one sequential scan of the overflow per
 * ~128 k pops (~8 moves per event), the heap loop ran at 2.5–3.3 M events/s,
 * and the whole Kernel (bench/kernel-hold.ts) at 2.1–2.2 M events/s against
 * 1.7–1.9 on the plain EventHeap. A multi-bucket rung (a fuller ladder
 * queue) measured no faster, so it was not kept.
 */
import { EventHeap } from './heap.js';

const SAMPLE = 255;

export interface TieredEventHeapOptions {
  /** Entries the near tier aims to hold after a refill (default 2^17). */
  nearMin?: number;
  /** Initial heap capacity (default 1024). */
  initialCapacity?: number;
}

export class TieredEventHeap extends EventHeap {
  /** Far-future entries, unordered: times and slots, [0, on). */
  private ovTimes: Float64Array;
  private ovSlots: Int32Array;
  private on = 0;
  /** Heap times are < bound <= overflow times. */
  private bound = Infinity;
  private limit: number;
  private readonly nearMin: number;
  private readonly sample = new Float64Array(SAMPLE);

  constructor(options: TieredEventHeapOptions = {}) {
    super(options.initialCapacity ?? 1024);
    const nearMin = options.nearMin ?? 2 ** 17;
    if (!(Number.isInteger(nearMin) && nearMin >= 1)) throw new RangeError(`TieredEventHeap: nearMin must be a positive integer, got ${nearMin}`);
    this.nearMin = nearMin;
    this.limit = 2 * nearMin;
    this.ovTimes = new Float64Array(1024);
    this.ovSlots = new Int32Array(1024);
  }

  override get size(): number {
    return this.n + this.on;
  }

  /** Entries currently in the far (overflow) tier — for diagnostics and tests. */
  get overflowSize(): number {
    return this.on;
  }

  override push(time: number, priority: number, slot: number): number {
    const seq = this.setKey(slot, priority);
    if (time < this.bound) {
      this.insert(time, slot);
      if (this.n > this.limit) this.spill();
    } else {
      this.append(time, slot);
    }
    return seq;
  }

  override pop(): number {
    if (this.n === 0 && this.on !== 0) this.refill();
    return super.pop();
  }

  override peekTime(): number {
    if (this.n === 0 && this.on !== 0) this.refill();
    return super.peekTime();
  }

  override peekSlot(): number {
    if (this.n === 0 && this.on !== 0) this.refill();
    return super.peekSlot();
  }

  override retain(keep: (slot: number) => boolean): void {
    const ovTimes = this.ovTimes;
    const ovSlots = this.ovSlots;
    let w = 0;
    for (let r = 0; r < this.on; r++) {
      const slot = ovSlots[r]!;
      if (!keep(slot)) continue;
      ovTimes[w] = ovTimes[r]!;
      ovSlots[w] = slot;
      w++;
    }
    this.on = w;
    super.retain(keep);
  }

  override clear(): void {
    super.clear();
    this.on = 0;
    this.bound = Infinity;
    this.limit = 2 * this.nearMin;
  }

  private append(time: number, slot: number): void {
    if (this.on === this.ovTimes.length) {
      const ovTimes = new Float64Array(this.on * 2);
      const ovSlots = new Int32Array(this.on * 2);
      ovTimes.set(this.ovTimes);
      ovSlots.set(this.ovSlots);
      this.ovTimes = ovTimes;
      this.ovSlots = ovSlots;
    }
    this.ovTimes[this.on] = time;
    this.ovSlots[this.on++] = slot;
  }

  /** A time such that about `want` of the `count` times at arr[from...] lie below it. */
  private quantile(arr: Float64Array, from: number, count: number, want: number): number {
    const sample = this.sample;
    for (let i = 0; i < SAMPLE; i++) sample[i] = arr[from + Math.floor((i * count) / SAMPLE)]!;
    sample.sort();
    return sample[Math.min(SAMPLE - 1, Math.floor((want / count) * SAMPLE))]!;
  }

  private target(): number {
    return Math.max(this.nearMin, (this.n + this.on) >> 3);
  }

  /** Precondition: heap empty, overflow not. Moves the earliest part of the overflow into the heap. */
  private refill(): void {
    const want = this.target();
    const b = this.on <= want ? Infinity : this.quantile(this.ovTimes, 0, this.on, want);
    let rest = this.moveBelow(b, false);
    // Nothing below b (many equal times): rest is the minimum; take every entry at it.
    if (this.n === 0) rest = this.moveBelow(rest, true);
    this.bound = rest;
    this.heapify();
    this.limit = 2 * this.target();
  }

  /**
   * Moves the overflow entries with time < b (time <= b if inclusive) into the
   * heap array, unordered; returns the smallest time left in the overflow.
   */
  private moveBelow(b: number, inclusive: boolean): number {
    const on = this.on;
    const ovTimes = this.ovTimes;
    const ovSlots = this.ovSlots;
    let times = this.times;
    let slots = this.slots;
    let n = this.n;
    let w = 0;
    let rest = Infinity;
    for (let r = 0; r < on; r++) {
      const t = ovTimes[r]!;
      if (t < b || (inclusive && t === b)) {
        if (n + 1 === times.length) {
          this.grow(n + 2);
          times = this.times;
          slots = this.slots;
        }
        n++;
        times[n] = t;
        slots[n] = ovSlots[r]!;
      } else {
        ovTimes[w] = t;
        ovSlots[w] = ovSlots[r]!;
        w++;
        if (t < rest) rest = t;
      }
    }
    this.n = n;
    this.on = w;
    return rest;
  }

  /** The heap outgrew its limit: move its later part to the overflow. */
  private spill(): void {
    const b = this.quantile(this.times, 1, this.n, this.target());
    if (!(b > this.times[1]!)) {
      this.limit *= 2;
      return;
    }
    const times = this.times;
    const slots = this.slots;
    let w = 0;
    for (let r = 1; r <= this.n; r++) {
      const t = times[r]!;
      if (t < b) {
        w++;
        times[w] = t;
        slots[w] = slots[r]!;
      } else {
        this.append(t, slots[r]!);
      }
    }
    this.n = w;
    this.bound = b;
    this.heapify();
    this.limit = 2 * this.target();
  }
}
