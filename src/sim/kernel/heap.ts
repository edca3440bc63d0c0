/**
 * The future-event set (FES): which pending event fires next.
 *
 * Rules (architecture.md habit 6; SimPy's event queue, OMNeT++'s cFutureEventSet):
 *  1. Order is the key (time, priority, seq): the earliest time first; at equal
 *     times the lower priority number first; at equal time and priority the
 *     entry pushed first (seq is the heap's own insertion counter, never reset
 *     except by clear()). No other tie-break exists, so a run is reproducible
 *     by construction.
 *  2. The FES stores numbers only: a time, an int32 priority and a payload
 *     *slot* — a small non-negative integer the caller maps to its handler.
 *     A slot must be unique among the entries held at one time (the kernel's
 *     free list guarantees it); it may be reused once popped or dropped.
 *     push returns the entry's seq, and seqOf(slot) returns it again while
 *     the entry is held (the kernel builds event ids from it).
 *  3. `FutureEventSet` is the interface; `EventHeap` is one implementation —
 *     a binary min-heap on typed arrays that grows by doubling; no object is
 *     allocated per entry. pop() and peekSlot() on an empty set return -1 and
 *     peekTime() returns Infinity; none of them throws.
 *  4. retain(keep) drops the entries whose slot fails `keep` and rebuilds the
 *     heap in O(n); survivors keep their order (their seq is kept). The kernel
 *     uses it to purge lazily-cancelled events.
 *
 * Layout, chosen by measurement (bench/kernel-hold.ts): the heap itself holds
 * only what every comparison needs — Float64Array times and Int32Array slots,
 * 1-based so both children of a node share a cache line — exactly the arrays
 * of a bare typed-array heap. The tie-break key (priority, seq) lives in one
 * Float64Array indexed by *slot* ([2·slot] priority, [2·slot+1] seq: one
 * cache line), written once per push and read only when two times are equal.
 * Keeping priorities and seqs in the heap arrays instead (four arrays moved
 * per level) ran ~20 % slower at 1e6 pending entries. pop() is the classic
 * sift-down (two comparisons per level, stopping early), with the smaller
 * child picked without a branch in the cache-resident top of the heap (see
 * BRANCHLESS_BELOW). Floyd's bottom-up variant, a 4-ary layout and
 * interleaved records all measured no faster.
 * For very large pending sets see tiered-heap.ts.
 */

/** The future-event set as an interface (OMNeT++): the kernel depends on this, not on the heap. */
export interface FutureEventSet {
  /** Number of entries held. */
  readonly size: number;
  /**
   * Adds an entry and returns its seq. `priority` is an int32; `slot` a
   * non-negative int32 unique among held entries.
   */
  push(time: number, priority: number, slot: number): number;
  /** The seq of the entry last pushed with this slot (meaningful while it is held). */
  seqOf(slot: number): number;
  /** Removes the first entry by (time, priority, seq) and returns its slot, or -1 when empty. */
  pop(): number;
  /** Time of the first entry, or Infinity when empty. */
  peekTime(): number;
  /** Slot of the first entry, or -1 when empty. */
  peekSlot(): number;
  /** Removes every entry whose slot fails `keep`; survivors keep their order. */
  retain(keep: (slot: number) => boolean): void;
  /** Removes every entry and restarts the insertion counter. */
  clear(): void;
}

const MIN_CAPACITY = 16;
/**
 * Above this index the smaller child is picked with a branch. Near the top of
 * the heap (2^16 entries: 768 KB of times and slots, within L2) the left/right
 * choice is a coin flip the branch predictor cannot learn, so a branch-free
 * `c += +(right < left)` is faster (+10–19 % measured at 1e3–1e5 entries).
 * Deeper, the arrays miss the cache and a predicted branch lets the CPU start
 * loading the next level speculatively; branch-free there made a 1e6-entry
 * heap ~25 % slower.
 */
const BRANCHLESS_BELOW = 2 ** 16;

export class EventHeap implements FutureEventSet {
  /** times[1..n]: the heap, 1-based (index 0 unused). */
  protected times: Float64Array;
  /** slots[1..n], parallel to times. */
  protected slots: Int32Array;
  /** Tie-break key of the entry holding each slot: [2·slot] priority, [2·slot+1] seq. */
  protected keyOf: Float64Array;
  protected n = 0;
  protected nextSeq = 0;

  constructor(initialCapacity = 1024) {
    const cap = Math.max(MIN_CAPACITY, Math.ceil(initialCapacity) | 0) + 1;
    this.times = new Float64Array(cap);
    this.slots = new Int32Array(cap);
    this.keyOf = new Float64Array(2 * cap);
  }

  get size(): number {
    return this.n;
  }

  push(time: number, priority: number, slot: number): number {
    const seq = this.setKey(slot, priority);
    this.insert(time, slot);
    return seq;
  }

  seqOf(slot: number): number {
    return this.keyOf[2 * slot + 1] ?? -1;
  }

  pop(): number {
    const n = this.n;
    if (n === 0) return -1;
    const times = this.times;
    const slots = this.slots;
    const top = slots[1]!;
    const last = n - 1;
    this.n = last;
    if (last === 0) return top;
    // Re-insert the former last entry from the root, sifting down.
    const lt = times[n]!;
    const lx = slots[n]!;
    let i = 1;
    for (;;) {
      let c = i << 1;
      if (c > last) break;
      if (c < last) {
        // The smaller child: branch-free near the top (see BRANCHLESS_BELOW);
        // ties are rare and take the branch.
        const lt0 = times[c]!;
        const rt = times[c + 1]!;
        if (rt === lt0) {
          if (this.before(slots[c + 1]!, slots[c]!)) c++;
        } else if (c < BRANCHLESS_BELOW) {
          c += +(rt < lt0);
        } else if (rt < lt0) {
          c++;
        }
      }
      const ct = times[c]!;
      if (lt < ct || (lt === ct && this.before(lx, slots[c]!))) break;
      times[i] = ct;
      slots[i] = slots[c]!;
      i = c;
    }
    times[i] = lt;
    slots[i] = lx;
    return top;
  }

  peekTime(): number {
    return this.n === 0 ? Infinity : this.times[1]!;
  }

  peekSlot(): number {
    return this.n === 0 ? -1 : this.slots[1]!;
  }

  retain(keep: (slot: number) => boolean): void {
    const times = this.times;
    const slots = this.slots;
    let w = 0;
    for (let r = 1; r <= this.n; r++) {
      const slot = slots[r]!;
      if (!keep(slot)) continue;
      w++;
      times[w] = times[r]!;
      slots[w] = slot;
    }
    this.n = w;
    this.heapify();
  }

  clear(): void {
    this.n = 0;
    this.nextSeq = 0;
  }

  /** Records the tie-break key (priority, next seq) of the entry about to hold `slot`; returns the seq. */
  protected setKey(slot: number, priority: number): number {
    if (slot >>> 0 !== slot || 2 * slot >= this.keyOf.length) this.growSlots(slot);
    const seq = this.nextSeq++;
    this.keyOf[2 * slot] = priority;
    this.keyOf[2 * slot + 1] = seq;
    return seq;
  }

  /** Adds an entry whose key is already recorded, sifting the hole up. */
  protected insert(time: number, slot: number): void {
    if (this.n + 1 === this.times.length) this.grow(this.n + 2);
    const times = this.times;
    const slots = this.slots;
    let i = ++this.n;
    while (i > 1) {
      const parent = i >> 1;
      const pt = times[parent]!;
      if (pt < time || (pt === time && this.before(slots[parent]!, slot))) break;
      times[i] = pt;
      slots[i] = slots[parent]!;
      i = parent;
    }
    times[i] = time;
    slots[i] = slot;
  }

  /** At equal times: does the entry in slot a come before the one in slot b? */
  protected before(a: number, b: number): boolean {
    const keyOf = this.keyOf;
    const pa = keyOf[2 * a]!;
    const pb = keyOf[2 * b]!;
    return pa < pb || (pa === pb && keyOf[2 * a + 1]! < keyOf[2 * b + 1]!);
  }

  /** Restores heap order over times[1..n] in O(n) (Floyd). */
  protected heapify(): void {
    for (let i = this.n >> 1; i >= 1; i--) this.siftDown(i);
  }

  private siftDown(i: number): void {
    const n = this.n;
    const times = this.times;
    const slots = this.slots;
    const t = times[i]!;
    const x = slots[i]!;
    for (;;) {
      let c = i << 1;
      if (c > n) break;
      if (c < n) {
        const lt0 = times[c]!;
        const rt = times[c + 1]!;
        if (rt === lt0) {
          if (this.before(slots[c + 1]!, slots[c]!)) c++;
        } else if (c < BRANCHLESS_BELOW) {
          c += +(rt < lt0);
        } else if (rt < lt0) {
          c++;
        }
      }
      const ct = times[c]!;
      if (t < ct || (t === ct && this.before(x, slots[c]!))) break;
      times[i] = ct;
      slots[i] = slots[c]!;
      i = c;
    }
    times[i] = t;
    slots[i] = x;
  }

  /** Grows the heap arrays (by doubling) to hold at least `length` cells. */
  protected grow(length: number): void {
    let cap = this.times.length * 2;
    while (cap < length) cap *= 2;
    const times = new Float64Array(cap);
    const slots = new Int32Array(cap);
    times.set(this.times);
    slots.set(this.slots);
    this.times = times;
    this.slots = slots;
  }

  private growSlots(slot: number): void {
    if (slot >>> 0 !== slot || slot > 0x7fffffff) {
      throw new RangeError(`EventHeap: slot must be a non-negative int32, got ${slot}`);
    }
    let cap = this.keyOf.length;
    while (cap <= 2 * slot) cap *= 2;
    const keyOf = new Float64Array(cap);
    keyOf.set(this.keyOf);
    this.keyOf = keyOf;
  }
}
