/**
 * simClock (xstate-clock.ts): xstate v5 actors on the simulator's clock.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, createMachine, setup } from 'xstate';
import { Kernel, simClock } from '../../../src/sim/kernel/index.js';

const handshake = createMachine({
  id: 'handshake',
  initial: 'waiting',
  states: {
    waiting: { after: { 5000: 'done' }, on: { ABORT: 'aborted' } },
    done: { type: 'final' },
    aborted: {},
  },
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('simClock', () => {
  it('xstate after-delays fire on simulated time, not wall time', () => {
    const wallTimer = vi.spyOn(globalThis, 'setTimeout');
    const k = new Kernel({ seed: 1 });
    const actor = createActor(handshake, { clock: simClock(k) }).start();
    expect(k.pending).toBe(1);
    k.run(4999);
    expect(actor.getSnapshot().value).toBe('waiting');
    k.run(5000);
    expect(actor.getSnapshot().value).toBe('done');
    expect(actor.getSnapshot().status).toBe('done');
    expect(k.now).toBe(5000);
    expect(wallTimer).not.toHaveBeenCalled();
  });

  it('leaving a state clears its timer (clearTimeout cancels the kernel event)', () => {
    const k = new Kernel({ seed: 1 });
    const actor = createActor(handshake, { clock: simClock(k) }).start();
    k.run(1000);
    actor.send({ type: 'ABORT' });
    expect(k.pending).toBe(0);
    k.run(10_000);
    expect(actor.getSnapshot().value).toBe('aborted');
  });

  it('timers started at different simulated times fire in time order with other events', () => {
    const k = new Kernel({ seed: 1 });
    const log: string[] = [];
    const breaker = setup({
      actions: { note: (_, p: { what: string }) => log.push(`${p.what}@${k.now}`) },
    }).createMachine({
      initial: 'closed',
      states: {
        closed: { on: { TRIP: 'open' } },
        open: {
          entry: { type: 'note', params: { what: 'open' } },
          after: { 3000: 'halfOpen' },
        },
        halfOpen: { entry: { type: 'note', params: { what: 'halfOpen' } } },
      },
    });
    const actor = createActor(breaker, { clock: simClock(k) }).start();
    k.schedule(2000, () => actor.send({ type: 'TRIP' }));
    k.schedule(4000, () => log.push(`other@${k.now}`));
    k.run();
    expect(log).toEqual(['open@2000', 'other@4000', 'halfOpen@5000']);
  });
});
