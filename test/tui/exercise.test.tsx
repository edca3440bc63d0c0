/**
 * The exercise panel (`tui --exercise`): its reducer as a plain function, and
 * the screen at a fixed 80×24 through ink-testing-library — every wait is for
 * content to appear, never a sleep.
 */
import path from 'node:path';
import { render } from 'ink-testing-library';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ExerciseReport } from '../../src/exercise/check.js';
import { ExerciseApp, type ExerciseUpdate, type HintOutcome } from '../../src/tui/exercise-app.js';
import { initialExerciseState, reduceExercise } from '../../src/tui/exercise-state.js';
import { EXERCISES, mustPlay } from '../exercise/play.js';

const dir = path.join(EXERCISES, 'first-strict');
let start: ExerciseReport;
let solved: ExerciseReport;
beforeAll(async () => {
  start = (await mustPlay({ dir, mesh: [path.join(dir, 'mesh')], hintsTaken: 0 })).report;
  solved = (await mustPlay({ dir, mesh: [path.join(dir, 'solution')], hintsTaken: 0 })).report;
});

describe('exercise panel reducer', () => {
  it('selects the first unmet objective at the start', () => {
    const s = initialExerciseState(start);
    expect(start.objectives[s.selected]?.met).toBe(false);
  });
  it('keeps the selected objective across a re-check and counts the checks', () => {
    const s = reduceExercise({ ...initialExerciseState(start), selected: 1 }, { type: 'report', report: solved });
    expect(s).toMatchObject({ selected: 1, checks: 2, problem: null });
    expect(s.report.score).toBe(100);
  });
  it('a failed re-check keeps the last good report and says why', () => {
    const s = reduceExercise(initialExerciseState(start), { type: 'error', error: 'mesh/x.yaml:1:1: bad' });
    expect(s.report).toBe(start);
    expect(s.problem).toBe('mesh/x.yaml:1:1: bad');
  });
  it('moving stays within the objectives', () => {
    let s = initialExerciseState(start);
    for (let i = 0; i < 10; i++) s = reduceExercise(s, { type: 'move', by: 1 });
    expect(s.selected).toBe(start.objectives.length - 1);
    s = reduceExercise(s, { type: 'move', by: -99 });
    expect(s.selected).toBe(0);
  });
  it('a hint taken is listed with its cost in the status line', () => {
    const s = reduceExercise(initialExerciseState(start), { type: 'hint', text: 'look here', index: 1, total: 3, cost: 5 });
    expect(s).toMatchObject({ hints: ['look here'], note: 'hint 1 of 3 taken: -5 points' });
  });
  it('a hint taken after passing is free, as the CLI says: the status line costs nothing', () => {
    const s = reduceExercise(initialExerciseState(start), { type: 'hint', text: 'look here', index: 2, total: 3, cost: 0, free: true });
    expect(s).toMatchObject({ hints: ['look here'], note: 'hint 2 of 3 taken: free, the exercise is passed' });
  });
});

let screens: { unmount: () => void }[] = [];
afterEach(() => { for (const s of screens) s.unmount(); screens = []; });

function open(props: { onHint?: () => Promise<HintOutcome>; watch?: (on: (u: ExerciseUpdate) => void) => () => void } = {}) {
  const screen = render(<ExerciseApp report={start} color={false} columns={80} rows={24} onHint={props.onHint ?? (async () => ({ none: true, total: 0 }))} {...(props.watch ? { watch: props.watch } : {})} />);
  screens.push(screen);
  const frame = (): string => screen.lastFrame() ?? '';
  const until = async (test: (f: string) => boolean): Promise<string> => {
    await vi.waitFor(() => { if (!test(frame())) throw new Error(`frame never matched:\n${frame()}`); }, { timeout: 5000, interval: 5 });
    return frame();
  };
  const ready = (): Promise<string> => until((x) => x.includes('h hint, q quit'));
  return { until, ready, press: (k: string) => screen.stdin.write(k) };
}

describe('exercise panel on screen', () => {
  it('shows every objective with met/unmet and points, the score, and why the selected one is unmet', async () => {
    const { ready } = open();
    const f = await ready();
    expect(f).toContain('first-strict: Lock the backend namespace to mutual TLS (defender)');
    expect(f).toContain(`score ${start.score}/100  pass at 75: not yet`);
    expect(f).toMatch(/›\[ \]\s+25\s+db-refuses-plaintext/);
    expect(f).toMatch(/\[x\]\s+30\s+batch-keeps-working/);
    expect(f).toContain('why db-refuses-plaintext is not met yet:');
    expect(f).toContain('PERMISSIVE');
  });

  it('j selects the next objective and shows its why', async () => {
    const { ready, press, until } = open();
    await ready();
    press('j');
    const f = await until((x) => x.includes('why api-refuses-plaintext is not met yet:'));
    expect(f).toContain('plaintext-to-api');
  });

  it('h takes a hint: the hint is listed and the re-scored report replaces the old one', async () => {
    const after = { ...start, score: start.score - 5, hintsTaken: 1, hintCost: 5 };
    const onHint = vi.fn(async (): Promise<HintOutcome> => ({ text: 'Which mode refuses plaintext?', index: 1, total: 3, cost: 5, report: after }));
    const { ready, press, until } = open({ onHint });
    await ready();
    press('h');
    const f = await until((x) => x.includes('hints taken:'));
    expect(f).toContain('1. Which mode refuses plaintext?');
    expect(f).toContain(`score ${start.score - 5}/100`);
    expect(f).toContain('hints 1 (-5)');
    expect(f).toContain('hint 1 of 3 taken: -5 points');
    expect(onHint).toHaveBeenCalledTimes(1);
  });

  it('a save re-scores (--watch): the new report shows, then a broken save keeps it and says why', async () => {
    let push: ((u: ExerciseUpdate) => void) | undefined;
    const { ready, until } = open({ watch: (on) => { push = on; return () => { push = undefined; }; } });
    await ready();
    push?.({ report: solved });
    const f = await until((x) => x.includes('PASSED'));
    expect(f).toContain('score 100/100');
    expect(f).toContain('checked ×2');
    push?.({ error: `${'/a/long/path/of/the/working/folder/'.repeat(3)}mesh/backend.yaml:3:1: error [path-missing] the tail that matters does not exist` });
    const g = await until((x) => x.includes('re-check failed'));
    expect(g).toContain('score 100/100');
    // the whole reason is shown, wrapped, not cut at the terminal's width
    expect(g.replace(/\s+/g, ' ')).toContain('the tail that matters does not exist');
  });
});
