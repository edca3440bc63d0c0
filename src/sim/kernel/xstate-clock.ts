/**
 * xstate's Clock on simulated time: `createActor(machine, { clock: simClock(k) })`
 * makes delayed transitions (`after`) and delayed sends fire as kernel events.
 *
 * Rules (architecture.md habit 6: xstate actors get the simulator's clock):
 *  1. setTimeout(fn, ms) schedules fn at k.now + ms and returns the kernel's
 *     event id; clearTimeout(id) cancels it (a no-op once fired or unknown).
 *  2. Delays follow the kernel's rule: finite and >= 0, else a RangeError —
 *     unlike a browser, a negative or NaN delay is not silently clamped to 0,
 *     since it is a bug in the model.
 *  3. Timers run at the given kernel priority (default 0), so at equal times
 *     they interleave with other events by priority, then scheduling order.
 *  4. Wall time never enters: nothing fires until the kernel is run.
 *     (xstate itself still stamps `startedAt: Date.now()` on scheduled events
 *     in persisted snapshots; that field never affects when a timer fires.)
 */
import type { Kernel } from './kernel.js';

/** Structurally xstate v5's `Clock` (not exported by xstate's root entry). */
export interface SimClock {
  setTimeout(fn: (...args: unknown[]) => void, ms: number): number;
  clearTimeout(id: number): void;
}

export function simClock(k: Kernel, options: { priority?: number } = {}): SimClock {
  const priority = options.priority ?? 0;
  return {
    setTimeout: (fn, ms) => k.schedule(ms, () => fn(), priority),
    clearTimeout: (id) => k.cancel(id),
  };
}
