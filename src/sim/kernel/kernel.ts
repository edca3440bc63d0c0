/**
 * The discrete-event kernel: a clock, a future-event set, named random
 * streams, and a structured event log with a running fingerprint.
 *
 * Rules (architecture.md habit 6; SimPy `core.py`, OMNeT++ `cfingerprint.h`):
 *  1. Time is a number of simulated milliseconds; `now` starts at 0 and never
 *     goes backwards. Nothing here reads the wall clock or Math.random.
 *  2. Events fire in (time, priority, insertion order): earliest first; at
 *     equal times the lower priority number first; then the one scheduled
 *     first (see heap.ts). Priority is an int32, default 0.
 *  3. schedule(delay) needs a finite delay >= 0 and at(time) a finite time
 *     >= now; anything else (NaN, negative, Infinity, a non-int32 priority)
 *     is a broken invariant and throws a RangeError at the call.
 *  4. cancel(id) removes a pending event; cancelling an event that already
 *     fired, was already cancelled, or never existed is a no-op. Deletion is
 *     lazy: the entry stays in the heap, its handler is dropped, and it is
 *     skipped when it surfaces; when cancelled entries outnumber live ones
 *     the heap is purged in O(n), so memory stays within 2x the live set.
 *     An id names one event only: ids are `(seq mod 2^28) * 2^25 + slot`,
 *     where seq is the FES insertion counter of the event, so a stale id whose
 *     slot has been reused does not match the new occupant (unless exactly a
 *     multiple of 2^28 insertions apart). At most 2^25 events may be pending.
 *  5. run(until) processes every event with time <= until — including ones
 *     scheduled during the run — then sets now = until. run() with no until
 *     runs until no event is pending and leaves now at the last event's time.
 *     until must be finite and >= now. step() processes exactly one event
 *     and returns false when none is pending. Neither may be called from
 *     inside a handler (a broken invariant: it throws).
 *  6. A handler that throws is never swallowed (SimPy): the error escapes
 *     run()/step() as a `SimulationError` whose `time` is the simulated time
 *     of the failing event, whose message names it, and whose `cause` is the
 *     original error. The event counts as processed; the kernel stays usable.
 *  7. Random numbers come only from named streams: rng(name) returns the same
 *     stream for the same name, seeded with seedrandom(`${seed}/${name}`)
 *     (ARC4), so streams are independent of each other and of the order in
 *     which they are created.
 *  8. record(kind, data) appends {t: now, kind, ...data} to the log (when
 *     keepLog is on; a number N keeps the N most recent entries) and always
 *     folds the entry into the fingerprint: 64-bit FNV-1a over the UTF-16
 *     code units of each entry's stableStringify (core/hash.ts) followed by
 *     '\n' — i.e. fingerprint() === fnv1a64(lines.join('\n') + '\n') over
 *     every entry ever recorded, kept or not. Computed in two 32-bit lanes,
 *     no bigint. `t` and `kind` are reserved keys in data. Only what the
 *     model records is fingerprinted, not the kernel's own events.
 *  9. maxEvents (option) bounds the work of a run: run() and step() throw an
 *     EventBudgetExceeded, not a SimulationError, instead of processing an
 *     event beyond the budget; the event stays pending, now stays at the last
 *     processed event, and the kernel stays usable. It is the backstop of
 *     inputs from strangers that would otherwise never end.
 *
 * Hot path: handlers live in slot arrays with a free list (the closure is the
 * only per-event object); the run loop is plain code over typed arrays. The
 * future-event set is pluggable (KernelOptions.fes, OMNeT++'s idea); the
 * default is TieredEventHeap, which orders exactly like EventHeap.
 */
import seedrandom from 'seedrandom';
import { stableStringify } from '../../core/hash.js';
import type { FutureEventSet } from './heap.js';
import { TieredEventHeap } from './tiered-heap.js';
import { grouped } from '../../core/text.js';
import { SimulationLimitError } from '../../core/limits.js';

/** An event handler; it receives the kernel, so it can read `now` and schedule more. */
export type Handler = (k: Kernel) => void;

/** A named random stream: uniform numbers in [0, 1). */
export type Stream = () => number;

export type LogValue = string | number | boolean | null;

export interface LogEntry {
  readonly t: number;
  readonly kind: string;
  readonly [field: string]: LogValue;
}

export interface KernelOptions {
  seed: number;
  /** Keep the event log: true keeps everything, a number N the N most recent entries. Default false. */
  keepLog?: boolean | number;
  /** The future-event set to use (OMNeT++'s pluggable FES). Default: a new TieredEventHeap. */
  fes?: FutureEventSet;
  /** Most events a kernel processes in its life (rule 9). Default: unbounded. */
  maxEvents?: number;
}

/** The event budget of rule 9 is spent: the run stopped before its next event. */
export class EventBudgetExceeded extends Error {
  override readonly name = 'EventBudgetExceeded';

  constructor(readonly budget: number, readonly time: number) {
    super(`the simulation stopped at t=${time} ms after ${grouped(budget)} events, the most one run may process`);
  }
}

/** A handler's failure, tagged with the simulated time it happened at. */
export class SimulationError extends Error {
  override readonly name = 'SimulationError';
  /** Simulated time (ms) of the event whose handler threw. */
  readonly time: number;

  constructor(time: number, cause: unknown) {
    super(`event handler failed at t=${time} ms: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.time = time;
  }
}

const SLOT_SPACE = 2 ** 25;
const SEQ_SPACE = 2 ** 28;
const PURGE_MIN = 1024;
/** Empty FES reports Infinity, which is > this: the no-until loop stops when empty. */
const NO_LIMIT = Number.MAX_VALUE;

/** FNV-1a 64 offset basis 0xcbf29ce484222325, in two lanes. */
const FNV_HI = 0xcbf29ce4;
const FNV_LO = 0x84222325;

export class Kernel {
  /** Simulated time in ms. */
  now = 0;
  /** Handlers invoked so far (a handler that threw counts). */
  processed = 0;
  /** Number of entries recorded so far (kept in the log or not). */
  recorded = 0;
  readonly seed: number;
  /** Rule 9's budget. */
  readonly maxEvents: number;

  private readonly fes: FutureEventSet;
  /** Handler of the event in each slot; undefined = free or cancelled. */
  private readonly fns: (Handler | undefined)[] = [];
  /** Free-slot stack. */
  private free = new Int32Array(1024);
  private freeTop = 0;
  private slotCount = 0;
  /** Cancelled entries still inside the FES. */
  private cancelled = 0;
  private running = false;

  private readonly streams = new Map<string, Stream>();
  private lastStreamName: string | undefined;
  private lastStream: Stream | undefined;

  private readonly keep: number;
  private readonly entries: LogEntry[] = [];
  private hi = FNV_HI;
  private lo = FNV_LO;

  constructor(options: KernelOptions) {
    if (!Number.isFinite(options.seed)) throw new RangeError(`Kernel: seed must be a finite number, got ${options.seed}`);
    this.seed = options.seed;
    const maxEvents = options.maxEvents ?? Infinity;
    if (!(maxEvents >= 0)) throw new RangeError(`Kernel: maxEvents must be >= 0, got ${maxEvents}`);
    this.maxEvents = maxEvents;
    const keepLog = options.keepLog ?? false;
    if (typeof keepLog === 'number' && !(Number.isInteger(keepLog) && keepLog >= 0)) {
      throw new RangeError(`Kernel: keepLog must be a boolean or a non-negative integer, got ${keepLog}`);
    }
    this.keep = keepLog === true ? Infinity : keepLog === false ? 0 : keepLog;
    this.fes = options.fes ?? new TieredEventHeap();
    this.fes.clear();
  }

  // ---- scheduling -------------------------------------------------------

  /** Schedules fn at now + delay; returns the event id. */
  schedule(delay: number, fn: Handler, priority = 0): number {
    if (!(delay >= 0 && delay < Infinity)) throw new RangeError(`Kernel.schedule: delay must be finite and >= 0, got ${delay}`);
    return this.enqueue(this.now + delay, fn, priority);
  }

  /** Schedules fn at an absolute time >= now; returns the event id. */
  at(time: number, fn: Handler, priority = 0): number {
    if (!(time >= this.now && time < Infinity)) {
      throw new RangeError(`Kernel.at: time must be finite and >= now (${this.now}), got ${time}`);
    }
    return this.enqueue(time, fn, priority);
  }

  /** Cancels a pending event; a no-op for fired, cancelled or unknown ids. */
  cancel(id: number): void {
    if (!(id >= 0 && id <= Number.MAX_SAFE_INTEGER && Number.isInteger(id))) return;
    const slot = id % SLOT_SPACE;
    const tag = (id - slot) / SLOT_SPACE;
    if (slot >= this.slotCount || this.fns[slot] === undefined || this.fes.seqOf(slot) % SEQ_SPACE !== tag) return;
    this.fns[slot] = undefined;
    this.cancelled++;
    if (this.cancelled >= PURGE_MIN && this.cancelled * 2 > this.fes.size) this.purge();
  }

  /** Number of events waiting to fire (cancelled ones excluded). */
  get pending(): number {
    return this.fes.size - this.cancelled;
  }

  /** Time of the next event to fire, or Infinity when none is pending. */
  peek(): number {
    const fes = this.fes;
    const fns = this.fns;
    // Drop cancelled entries sitting on top; then the top is the answer.
    while (this.cancelled > 0 && fes.size > 0 && fns[fes.peekSlot()] === undefined) {
      this.release(fes.pop());
      this.cancelled--;
    }
    return fes.peekTime();
  }

  // ---- running ----------------------------------------------------------

  /** Processes the next event; false when none is pending. */
  step(): boolean {
    this.enter('step');
    const fes = this.fes;
    const fns = this.fns;
    try {
      while (fes.size > 0) {
        const t = fes.peekTime();
        if (this.processed >= this.maxEvents && fns[fes.peekSlot()] !== undefined) throw new EventBudgetExceeded(this.maxEvents, this.now);
        const slot = fes.pop();
        const fn = fns[slot];
        this.release(slot);
        if (fn === undefined) {
          this.cancelled--;
          continue;
        }
        this.now = t;
        this.processed++;
        fn(this);
        return true;
      }
      return false;
    } catch (error) {
      if (error instanceof EventBudgetExceeded || error instanceof SimulationLimitError) throw error;
      throw new SimulationError(this.now, error);
    } finally {
      this.running = false;
    }
  }

  /** Processes every event with time <= until, then sets now = until; with no until, runs until empty. */
  run(until?: number): void {
    if (until !== undefined && !(until >= this.now && until < Infinity)) {
      throw new RangeError(`Kernel.run: until must be finite and >= now (${this.now}), got ${until}`);
    }
    this.enter('run');
    const limit = until ?? NO_LIMIT;
    const fes = this.fes;
    const fns = this.fns;
    try {
      for (;;) {
        const t = fes.peekTime();
        if (t > limit) break;
        if (this.processed >= this.maxEvents && fns[fes.peekSlot()] !== undefined) throw new EventBudgetExceeded(this.maxEvents, this.now);
        const slot = fes.pop();
        const fn = fns[slot];
        this.release(slot);
        if (fn === undefined) {
          this.cancelled--;
          continue;
        }
        this.now = t;
        this.processed++;
        fn(this);
      }
    } catch (error) {
      if (error instanceof EventBudgetExceeded || error instanceof SimulationLimitError) throw error;
      throw new SimulationError(this.now, error);
    } finally {
      this.running = false;
    }
    if (until !== undefined) this.now = until;
  }

  // ---- random streams ---------------------------------------------------

  /** The named stream; the same object for the same name. */
  rng(name: string): Stream {
    if (name === this.lastStreamName) return this.lastStream!;
    let stream = this.streams.get(name);
    if (stream === undefined) {
      stream = seedrandom(`${this.seed}/${name}`);
      this.streams.set(name, stream);
    }
    this.lastStreamName = name;
    this.lastStream = stream;
    return stream;
  }

  /** An exponential variate with the given mean, from the named stream. */
  exponential(name: string, mean: number): number {
    if (!(mean >= 0 && mean < Infinity)) throw new RangeError(`Kernel.exponential: mean must be finite and >= 0, got ${mean}`);
    return -mean * Math.log(1 - this.rng(name)());
  }

  /** A uniform variate in [lo, hi), from the named stream. */
  uniform(name: string, lo: number, hi: number): number {
    if (!(lo <= hi && Number.isFinite(lo) && Number.isFinite(hi))) {
      throw new RangeError(`Kernel.uniform: need finite lo <= hi, got [${lo}, ${hi})`);
    }
    return lo + (hi - lo) * this.rng(name)();
  }

  // ---- event log and fingerprint ----------------------------------------

  /** Appends {t: now, kind, ...data} to the log (if kept) and folds it into the fingerprint. */
  record(kind: string, data?: Readonly<Record<string, LogValue>>): void {
    if (data !== undefined && (Object.hasOwn(data, 't') || Object.hasOwn(data, 'kind'))) {
      throw new RangeError(`Kernel.record: 't' and 'kind' are reserved keys (kind ${kind})`);
    }
    const entry: LogEntry = data === undefined ? { t: this.now, kind } : { t: this.now, kind, ...data };
    this.fold(stableStringify(entry));
    this.recorded++;
    if (this.keep > 0) {
      const entries = this.entries;
      entries.push(entry);
      if (entries.length >= 2 * this.keep) entries.splice(0, entries.length - this.keep);
    }
  }

  /** The kept log entries, oldest first. */
  get log(): readonly LogEntry[] {
    const entries = this.entries;
    if (entries.length > this.keep) entries.splice(0, entries.length - this.keep);
    return entries;
  }

  /** The run fingerprint: 16 hex digits of the 64-bit FNV-1a over every recorded entry. */
  fingerprint(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }

  // ---- internals --------------------------------------------------------

  private enqueue(time: number, fn: Handler, priority: number): number {
    if ((priority | 0) !== priority) throw new RangeError(`Kernel: priority must be an int32, got ${priority}`);
    if (typeof fn !== 'function') throw new TypeError('Kernel: handler must be a function');
    const slot = this.freeTop > 0 ? this.free[--this.freeTop]! : this.newSlot();
    this.fns[slot] = fn;
    return (this.fes.push(time, priority, slot) % SEQ_SPACE) * SLOT_SPACE + slot;
  }

  private newSlot(): number {
    const slot = this.slotCount;
    if (slot === SLOT_SPACE) throw new RangeError(`Kernel: more than ${SLOT_SPACE} events pending`);
    if (slot === this.free.length) {
      const free = new Int32Array(slot * 2);
      free.set(this.free);
      this.free = free;
    }
    this.slotCount = slot + 1;
    this.fns.push(undefined);
    return slot;
  }

  /** Returns a slot to the free list. */
  private release(slot: number): void {
    this.fns[slot] = undefined;
    this.free[this.freeTop++] = slot;
  }

  /** Drops every cancelled entry from the FES. */
  private purge(): void {
    const fns = this.fns;
    this.fes.retain((slot) => {
      if (fns[slot] !== undefined) return true;
      this.release(slot);
      return false;
    });
    this.cancelled = 0;
  }

  private enter(what: string): void {
    if (this.running) throw new Error(`Kernel.${what} called from inside an event handler`);
    this.running = true;
  }

  /** Folds one log line and its '\n' into the FNV-1a 64 state. */
  private fold(line: string): void {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i <= line.length; i++) {
      lo = (lo ^ (i < line.length ? line.charCodeAt(i) : 10)) >>> 0;
      // (hi·2^32 + lo) · (2^40 + 0x1b3) mod 2^64
      const p = lo * 0x1b3;
      const plo = p >>> 0;
      hi = (Math.imul(hi, 0x1b3) + (p - plo) / 4294967296 + (lo << 8)) >>> 0;
      lo = plo;
    }
    this.hi = hi;
    this.lo = lo;
  }
}
