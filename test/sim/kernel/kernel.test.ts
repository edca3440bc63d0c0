/**
 * Kernel: each test states one rule of kernel.ts (scheduling, run, cancel,
 * errors). Random streams, the fingerprint and xstate have their own files.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventHeap, type FutureEventSet } from '../../../src/sim/kernel/heap.js';
import { EventBudgetExceeded, Kernel, SimulationError, TieredEventHeap } from '../../../src/sim/kernel/index.js';

/** Schedules a handler that appends `label` (and the time it fired at) to `trace`. */
function mark(trace: string[], label: string) {
  return (k: Kernel) => {
    trace.push(`${label}@${k.now}`);
  };
}

describe('Kernel scheduling and run', () => {
  it('events fire in time order', () => {
    const k = new Kernel({ seed: 1 });
    const trace: string[] = [];
    k.schedule(30, mark(trace, 'c'));
    k.schedule(10, mark(trace, 'a'));
    k.at(20, mark(trace, 'b'));
    k.schedule(0, mark(trace, 'zero'));
    k.run();
    expect(trace).toEqual(['zero@0', 'a@10', 'b@20', 'c@30']);
    expect(k.now).toBe(30);
    expect(k.processed).toBe(4);
  });

  it('events scheduled by a handler fire in time order with the rest', () => {
    const k = new Kernel({ seed: 1 });
    const trace: string[] = [];
    k.schedule(10, (kk) => {
      trace.push(`a@${kk.now}`);
      kk.schedule(5, mark(trace, 'a+5'));
      kk.schedule(0, mark(trace, 'a+0'));
    });
    k.schedule(12, mark(trace, 'b'));
    k.run();
    expect(trace).toEqual(['a@10', 'a+0@10', 'b@12', 'a+5@15']);
  });

  it('equal times: lower priority first, then insertion order', () => {
    const k = new Kernel({ seed: 1 });
    const trace: string[] = [];
    k.schedule(5, mark(trace, 'p0-first'));
    k.schedule(5, mark(trace, 'p1'), 1);
    k.schedule(5, mark(trace, 'p-1'), -1);
    k.schedule(5, mark(trace, 'p0-second'));
    k.at(5, mark(trace, 'p1-second'), 1);
    k.schedule(5, mark(trace, 'p0-third'), 0);
    k.run();
    expect(trace).toEqual(['p-1@5', 'p0-first@5', 'p0-second@5', 'p0-third@5', 'p1@5', 'p1-second@5']);
  });

  it('run(until) stops at until and sets now', () => {
    const k = new Kernel({ seed: 1 });
    const trace: string[] = [];
    k.schedule(10, mark(trace, 'a'));
    k.schedule(20, (kk) => {
      trace.push(`b@${kk.now}`);
      kk.schedule(0, mark(trace, 'b-same-time'));
    });
    k.schedule(21, mark(trace, 'c'));
    k.run(20);
    expect(trace).toEqual(['a@10', 'b@20', 'b-same-time@20']);
    expect(k.now).toBe(20);
    expect(k.pending).toBe(1);
    k.run(20.5);
    expect(k.now).toBe(20.5);
    expect(trace).toHaveLength(3);
    k.run(100);
    expect(trace.at(-1)).toBe('c@21');
    expect(k.now).toBe(100);
    expect(k.pending).toBe(0);
  });

  it('run() with no until runs until nothing is pending and leaves now at the last event', () => {
    const k = new Kernel({ seed: 1 });
    let n = 0;
    const tick = (kk: Kernel) => {
      if (++n < 5) kk.schedule(3, tick);
    };
    k.schedule(3, tick);
    k.run();
    expect(n).toBe(5);
    expect(k.now).toBe(15);
    expect(k.pending).toBe(0);
    expect(k.peek()).toBe(Infinity);
  });

  it('run(until) before now, NaN or Infinity is a broken invariant', () => {
    const k = new Kernel({ seed: 1 });
    k.run(10);
    expect(() => k.run(5)).toThrow(RangeError);
    expect(() => k.run(Number.NaN)).toThrow(RangeError);
    expect(() => k.run(Infinity)).toThrow(RangeError);
    expect(k.now).toBe(10);
  });

  it('step processes exactly one event and returns false when none is pending', () => {
    const k = new Kernel({ seed: 1 });
    const trace: string[] = [];
    k.schedule(2, mark(trace, 'b'));
    k.schedule(1, mark(trace, 'a'));
    expect(k.step()).toBe(true);
    expect(trace).toEqual(['a@1']);
    expect(k.now).toBe(1);
    expect(k.step()).toBe(true);
    expect(k.step()).toBe(false);
    expect(trace).toEqual(['a@1', 'b@2']);
  });

  it('a negative, NaN or infinite delay, a time in the past, or a fractional priority is a broken invariant', () => {
    const k = new Kernel({ seed: 1 });
    const noop = () => {};
    expect(() => k.schedule(-1, noop)).toThrow(RangeError);
    expect(() => k.schedule(Number.NaN, noop)).toThrow(RangeError);
    expect(() => k.schedule(Infinity, noop)).toThrow(RangeError);
    expect(() => k.schedule(1, noop, 0.5)).toThrow(RangeError);
    k.run(10);
    expect(() => k.at(9, noop)).toThrow(RangeError);
    expect(() => k.at(Number.NaN, noop)).toThrow(RangeError);
    expect(k.pending).toBe(0);
    k.at(10, noop);
    expect(k.pending).toBe(1);
  });

  it('run or step called from inside a handler is a broken invariant', () => {
    const k = new Kernel({ seed: 1 });
    k.schedule(1, (kk) => kk.run());
    expect(() => k.run()).toThrow(/called from inside an event handler/);
    k.schedule(1, (kk) => kk.step());
    expect(() => k.step()).toThrow(/called from inside an event handler/);
  });

  it('peek is the time of the next live event, Infinity when none', () => {
    const k = new Kernel({ seed: 1 });
    expect(k.peek()).toBe(Infinity);
    const a = k.schedule(5, () => {});
    k.schedule(7, () => {});
    expect(k.peek()).toBe(5);
    k.cancel(a);
    expect(k.peek()).toBe(7);
    expect(k.pending).toBe(1);
  });
});

describe('Kernel cancel', () => {
  it('cancel removes a pending event', () => {
    const k = new Kernel({ seed: 1 });
    const trace: string[] = [];
    k.schedule(1, mark(trace, 'a'));
    const b = k.schedule(2, mark(trace, 'b'));
    k.schedule(3, mark(trace, 'c'));
    expect(k.pending).toBe(3);
    k.cancel(b);
    expect(k.pending).toBe(2);
    k.run();
    expect(trace).toEqual(['a@1', 'c@3']);
    expect(k.processed).toBe(2);
  });

  it('cancelling a fired, already-cancelled or unknown id is a no-op', () => {
    const k = new Kernel({ seed: 1 });
    const trace: string[] = [];
    const a = k.schedule(1, mark(trace, 'a'));
    k.run(1);
    k.cancel(a);
    const b = k.schedule(1, mark(trace, 'b'));
    k.cancel(b);
    k.cancel(b);
    for (const junk of [-1, 0.5, Number.NaN, 2 ** 60, 123_456_789]) k.cancel(junk);
    k.schedule(1, mark(trace, 'c'));
    expect(k.pending).toBe(1);
    k.run();
    expect(trace).toEqual(['a@1', 'c@2']);
  });

  it("a stale id never cancels the event that reuses its slot", () => {
    const k = new Kernel({ seed: 1 });
    const trace: string[] = [];
    const first = k.schedule(1, mark(trace, 'first'));
    k.run();
    const second = k.schedule(1, mark(trace, 'second'));
    expect(second).not.toBe(first);
    k.cancel(first);
    k.run();
    expect(trace).toEqual(['first@1', 'second@2']);
  });

  it('a handler may cancel another event at the same time, or itself (a no-op)', () => {
    const k = new Kernel({ seed: 1 });
    const trace: string[] = [];
    let self = -1;
    let victim = -1;
    self = k.schedule(5, (kk) => {
      trace.push('canceller');
      kk.cancel(self);
      kk.cancel(victim);
    });
    victim = k.schedule(5, mark(trace, 'victim'));
    k.run();
    expect(trace).toEqual(['canceller']);
  });

  it('mass cancellation is purged without changing what fires or in which order', () => {
    const k = new Kernel({ seed: 1 });
    const fired: number[] = [];
    const ids: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const t = (i * 7919) % 1000;
      ids.push(k.schedule(t, () => fired.push(i), i % 3));
    }
    for (let i = 0; i < 20_000; i++) if (i % 4 !== 0) k.cancel(ids[i]!);
    expect(k.pending).toBe(5_000);
    k.run();
    const expected = [...Array(20_000).keys()]
      .filter((i) => i % 4 === 0)
      .sort((a, b) => ((a * 7919) % 1000) - ((b * 7919) % 1000) || (a % 3) - (b % 3) || a - b);
    expect(fired).toEqual(expected);
    expect(k.pending).toBe(0);
  });
});

describe('Kernel errors', () => {
  it('a handler error escapes run with the simulated time', () => {
    const k = new Kernel({ seed: 1 });
    const boom = new TypeError('boom');
    k.schedule(42.5, () => {
      throw boom;
    });
    k.schedule(50, () => {});
    let caught: unknown;
    try {
      k.run();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SimulationError);
    const err = caught as SimulationError;
    expect(err.time).toBe(42.5);
    expect(err.message).toMatch(/t=42\.5 ms.*boom/);
    expect(err.cause).toBe(boom);
    // The kernel stays usable: the failed event counts, the next one still fires.
    expect(k.now).toBe(42.5);
    expect(k.processed).toBe(1);
    k.run();
    expect(k.now).toBe(50);
  });

  it('a handler error escapes step too, and a thrown non-Error is kept as the cause', () => {
    const k = new Kernel({ seed: 1 });
    k.schedule(3, () => {
      throw 'plain string';
    });
    expect(() => k.step()).toThrow(SimulationError);
    k.schedule(1, () => {
      throw 7;
    });
    try {
      k.run(10);
    } catch (error) {
      expect((error as SimulationError).cause).toBe(7);
      expect((error as SimulationError).time).toBe(4);
    }
    expect.assertions(3);
  });
});

/** An obviously-correct FES: a list scanned for its minimum. */
class ScanFes implements FutureEventSet {
  private entries: { time: number; priority: number; seq: number; slot: number }[] = [];
  private seq = 0;
  get size(): number {
    return this.entries.length;
  }
  push(time: number, priority: number, slot: number): number {
    const seq = this.seq++;
    this.entries.push({ time, priority, seq, slot });
    return seq;
  }
  seqOf(slot: number): number {
    return this.entries.find((e) => e.slot === slot)?.seq ?? -1;
  }
  private min(): number {
    let best = -1;
    this.entries.forEach((e, i) => {
      const b = this.entries[best];
      if (b === undefined || e.time < b.time || (e.time === b.time && (e.priority < b.priority || (e.priority === b.priority && e.seq < b.seq)))) best = i;
    });
    return best;
  }
  pop(): number {
    const i = this.min();
    if (i < 0) return -1;
    return this.entries.splice(i, 1)[0]!.slot;
  }
  peekTime(): number {
    return this.entries[this.min()]?.time ?? Infinity;
  }
  peekSlot(): number {
    return this.entries[this.min()]?.slot ?? -1;
  }
  retain(keep: (slot: number) => boolean): void {
    this.entries = this.entries.filter((e) => keep(e.slot));
  }
  clear(): void {
    this.entries = [];
    this.seq = 0;
  }
}

describe('Kernel over any FutureEventSet', () => {
  /** A random model: events that schedule children, cancel earlier ids, and record. */
  const program = fc.array(
    fc.record({
      delay: fc.integer({ min: 0, max: 5 }),
      priority: fc.integer({ min: -1, max: 1 }),
      children: fc.integer({ min: 0, max: 2 }),
      cancelBack: fc.integer({ min: 0, max: 4 }),
    }),
    { minLength: 1, maxLength: 60 },
  );

  function trace(fes: FutureEventSet, steps: { delay: number; priority: number; children: number; cancelBack: number }[]): string[] {
    const k = new Kernel({ seed: 1, fes });
    const out: string[] = [];
    const ids: number[] = [];
    let budget = 400;
    const spawn = (label: number, depth: number) => {
      const s = steps[label % steps.length]!;
      ids.push(
        k.schedule(
          s.delay,
          (kk) => {
            out.push(`${label}@${kk.now}`);
            if (s.cancelBack > 0 && ids.length >= s.cancelBack) kk.cancel(ids[ids.length - s.cancelBack]!);
            for (let c = 0; c < s.children && budget-- > 0; c++) spawn(label * 3 + c + 1, depth + 1);
          },
          s.priority,
        ),
      );
    };
    for (let i = 0; i < steps.length; i++) spawn(i, 0);
    k.run();
    out.push(`end@${k.now} processed=${k.processed} pending=${k.pending}`);
    return out;
  }

  it('the kernel runs the same on EventHeap and TieredEventHeap as on a scan-for-minimum reference FES', () => {
    fc.assert(
      fc.property(program, (steps) => {
        const reference = trace(new ScanFes(), steps);
        expect(trace(new EventHeap(2), steps)).toEqual(reference);
        expect(trace(new TieredEventHeap({ nearMin: 2 }), steps)).toEqual(reference);
      }),
      { numRuns: 200 },
    );
  });
});

describe('Kernel rule 9: the event budget', () => {
  it('a handler that reschedules itself forever stops with EventBudgetExceeded after maxEvents events, not a hang', () => {
    const k = new Kernel({ seed: 1, maxEvents: 1000 });
    const again = (kk: Kernel): void => { kk.schedule(0, again); };
    k.schedule(0, again);
    expect(() => k.run()).toThrow(EventBudgetExceeded);
    expect(k.processed).toBe(1000);
  });

  it('the event beyond the budget stays pending, in order, and now stays at the last processed event', () => {
    const k = new Kernel({ seed: 1, maxEvents: 2 });
    const trace: string[] = [];
    k.schedule(1, mark(trace, 'a'));
    k.schedule(2, mark(trace, 'b'));
    k.schedule(3, mark(trace, 'c'));
    expect(() => k.run(10)).toThrow(/after 2 events/);
    expect(trace).toEqual(['a@1', 'b@2']);
    expect(k.now).toBe(2);
    expect(k.pending).toBe(1);
    expect(() => k.step()).toThrow(EventBudgetExceeded);
  });

  it('cancelled events do not count against the budget', () => {
    const k = new Kernel({ seed: 1, maxEvents: 1 });
    const trace: string[] = [];
    k.cancel(k.schedule(1, mark(trace, 'cancelled')));
    k.schedule(2, mark(trace, 'b'));
    k.run(5);
    expect(trace).toEqual(['b@2']);
    expect(k.now).toBe(5);
  });
});
