/** The TUI's state is a plain reducer: selection, panes, filter, playback clock, help — no ink. */
import { describe, expect, it } from 'vitest';
import { initialState, keyAction, MAX_FILTER, reduce, splitKeys, visibleSteps, type TuiAction, type TuiState } from '../../src/tui/state.js';

const steps = [
  { id: 'probe', action: 'request', t: 0 },
  { id: 'steal-cert', action: 'steal-credentials', t: 1000 },
  { id: 'flood-reviews', action: 'flood', t: 3000 },
  { id: 'probe-again', action: 'request', t: 6000 },
];
const run = (...actions: TuiAction[]): TuiState => actions.reduce(reduce, initialState(steps));

describe('TUI state', () => {
  it('starts on the first step, paused, with the clock at its start and the end at the last step', () => {
    const s = initialState(steps);
    expect(s).toMatchObject({ selected: 0, clock: 0, endMs: 6000, playing: false, pane: 'steps', help: false });
  });

  it('moving the selection jumps the clock to the selected step and stops at the ends of the list', () => {
    expect(run({ type: 'move', by: 1 })).toMatchObject({ selected: 1, clock: 1000 });
    expect(run({ type: 'move', by: -1 }).selected).toBe(0);
    expect(run({ type: 'move', by: 99 })).toMatchObject({ selected: 3, clock: 6000 });
  });

  it('a tick while playing advances simulated time and selects the last step that has started', () => {
    const s = run({ type: 'play-pause' }, { type: 'tick', ms: 3500 });
    expect(s).toMatchObject({ clock: 3500, selected: 2, playing: true });
  });

  it('a tick while paused changes nothing', () => {
    expect(run({ type: 'tick', ms: 3500 })).toEqual(initialState(steps));
  });

  it('playback stops at the end of the run, and playing again starts over from t=0', () => {
    const end = run({ type: 'play-pause' }, { type: 'tick', ms: 10_000 });
    expect(end).toMatchObject({ clock: 6000, selected: 3, playing: false });
    expect(reduce(end, { type: 'play-pause' })).toMatchObject({ clock: 0, selected: 0, playing: true });
  });

  it('stepping forward and back moves one step and pauses playback', () => {
    const s = run({ type: 'play-pause' }, { type: 'step-forward' }, { type: 'step-forward' });
    expect(s).toMatchObject({ selected: 2, clock: 3000, playing: false });
    expect(reduce(s, { type: 'step-back' })).toMatchObject({ selected: 1, clock: 1000 });
    expect(run({ type: 'step-back' }).selected).toBe(0);
  });

  it('the filter keeps steps whose id or action contains it, in any case, and moves the selection into it', () => {
    const s = run({ type: 'filter-start' }, { type: 'filter-type', text: 'PRO' });
    expect(visibleSteps(s)).toEqual([0, 3]);
    const f = run({ type: 'filter-start' }, { type: 'filter-type', text: 'flood' });
    expect(visibleSteps(f)).toEqual([2]);
    expect(f).toMatchObject({ selected: 2, clock: 3000 });
  });

  it('moving and stepping skip the steps the filter hides', () => {
    const s = run({ type: 'filter-type', text: 'probe' }, { type: 'filter-done' });
    expect(reduce(s, { type: 'move', by: 1 }).selected).toBe(3);
    expect(reduce(s, { type: 'step-forward' }).selected).toBe(3);
  });

  it('the filter is cut at MAX_FILTER characters and cancelling it shows every step again', () => {
    const s = run({ type: 'filter-start' }, { type: 'filter-type', text: 'x'.repeat(200) });
    expect(s.filter).toHaveLength(MAX_FILTER);
    expect(visibleSteps(reduce(s, { type: 'filter-cancel' }))).toEqual([0, 1, 2, 3]);
  });

  it('jump selects the nth step the list shows', () => {
    expect(run({ type: 'jump', nth: 2 })).toMatchObject({ selected: 2, clock: 3000 });
    expect(run({ type: 'jump', nth: 9 }).selected).toBe(0);
  });

  it('tab cycles steps → trace → mesh → steps; enter opens the trace of the selected step', () => {
    const s = run({ type: 'next-pane' });
    expect(s.pane).toBe('trace');
    expect(reduce(s, { type: 'next-pane' }).pane).toBe('mesh');
    expect(run({ type: 'next-pane' }, { type: 'next-pane' }, { type: 'next-pane' }).pane).toBe('steps');
    expect(run({ type: 'prev-pane' }).pane).toBe('mesh');
    expect(run({ type: 'move', by: 2 }, { type: 'open' })).toMatchObject({ pane: 'trace', selected: 2, clock: 3000 });
  });

  it('a re-run keeps the step of the same id selected, and falls back to the first when it is gone', () => {
    const s = run({ type: 'move', by: 2 });
    const again = reduce(s, { type: 'load', steps: [steps[0]!, steps[2]!] });
    expect(again).toMatchObject({ selected: 1, endMs: 3000 });
    const gone = reduce(s, { type: 'load', steps: [steps[0]!] });
    expect(gone).toMatchObject({ selected: 0, clock: 0 });
  });

  it('a run without steps selects nothing and playing it does not move the clock', () => {
    const s = [{ type: 'play-pause' } as const, { type: 'tick', ms: 100 } as const].reduce(reduce, initialState([]));
    expect(s).toMatchObject({ selected: -1, clock: 0 });
  });
});

describe('TUI keys', () => {
  const s0 = initialState(steps);

  it('j/k and the arrows move in the step list, and scroll in the other panes', () => {
    expect(keyAction(s0, { input: 'j' })).toEqual({ type: 'move', by: 1 });
    expect(keyAction(s0, { input: '', up: true })).toEqual({ type: 'move', by: -1 });
    expect(keyAction({ ...s0, pane: 'trace' }, { input: 'j' })).toEqual({ type: 'scroll', by: 1 });
  });

  it('space plays, ←/→ and h/l step through time, q quits, ? opens help, / starts the filter, 1–9 jump', () => {
    expect(keyAction(s0, { input: ' ' })).toEqual({ type: 'play-pause' });
    expect(keyAction(s0, { input: '', right: true })).toEqual({ type: 'step-forward' });
    expect(keyAction(s0, { input: 'h' })).toEqual({ type: 'step-back' });
    expect(keyAction(s0, { input: 'q' })).toEqual({ type: 'quit' });
    expect(keyAction(s0, { input: '?' })).toEqual({ type: 'help' });
    expect(keyAction(s0, { input: '/' })).toEqual({ type: 'filter-start' });
    expect(keyAction(s0, { input: '3' })).toEqual({ type: 'jump', nth: 2 });
  });

  it('while filtering, letters type into the filter (q included) and control characters never do', () => {
    const f = { ...s0, filtering: true };
    expect(keyAction(f, { input: 'q' })).toEqual({ type: 'filter-type', text: 'q' });
    expect(keyAction(f, { input: '\u001b[2J' })).toBeNull();
    expect(keyAction(f, { input: '', return: true })).toEqual({ type: 'filter-done' });
  });

  it('with help open any key closes it, except q, which quits', () => {
    const h = { ...s0, help: true };
    expect(keyAction(h, { input: 'j' })).toEqual({ type: 'help' });
    expect(keyAction(h, { input: 'q' })).toEqual({ type: 'quit' });
  });

  it('keys that arrive in one chunk are each a key, outside the filter prompt', () => {
    expect(splitKeys(s0, { input: '\t?q' }).map((k) => k.tab ? 'tab' : k.input)).toEqual(['tab', '?', 'q']);
    expect(splitKeys({ filtering: true }, { input: 'abc' })).toEqual([{ input: 'abc' }]);
    expect(splitKeys(s0, { input: '\u001b[A', up: true })).toHaveLength(1);
  });
});
