/**
 * The progress line of long runs (issue 10 item 3): shown on stderr only when
 * it is a terminal and --quiet is not given; never on stdout, never changing
 * a result. The simulation reports simulated time and events; the CLI adds
 * wall time (a fake clock here: no timed tests).
 */
import { describe, expect, it } from 'vitest';
import type { RunProgress } from '../../src/api/run.js';
import { runFiles } from '../../src/api/run.js';
import { FsSource, Sandbox } from '../../src/cli/fs.js';
import { main } from '../../src/cli/main.js';
import { PROGRESS_INTERVAL_MS, progressLine, progressText, type ProgressStream } from '../../src/cli/progress.js';

const TWO = ['scenarios/bookinfo-deny-all.yaml', 'scenarios/flood-rate-limited.yaml'];

function terminal(isTTY: boolean): ProgressStream & { written: string[] } {
  const written: string[] = [];
  return { isTTY, columns: 200, written, write: (s: string) => { written.push(s); } };
}

async function run(argv: string[], progress: ProgressStream): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; }, progress });
  return { code, out, err };
}

const sample: RunProgress = { scenario: 'flood', index: 2, total: 5, phase: 'run', simMs: 15_000, endMs: 60_000, events: 2_000_000 };

describe('progress on a terminal', () => {
  it('run writes progress for each scenario (i/n, phase, simulated-time fraction, events) to a terminal stderr, and clears the line at the end', async () => {
    const tty = terminal(true);
    const r = await run(['run', ...TWO], tty);
    expect(r.code).toBe(0);
    const text = tty.written.join('');
    expect(text).toContain('[1/2] bookinfo-deny-all: run ');
    expect(text).toMatch(/\[2\/2\] flood-rate-limited: (?:run|baseline|defences) \d+% of simulated time \([\d.]+ s of [\d.]+ s\), [\d.]+[kM]? events/);
    expect(tty.written.at(-1)).toBe('\r\u001b[K');
    expect(r.out).not.toContain('simulated time (');
    expect(r.err).not.toContain('simulated time (');
  });

  it('nothing is written when stderr is not a terminal', async () => {
    const pipe = terminal(false);
    const r = await run(['run', ...TWO], pipe);
    expect(r.code).toBe(0);
    expect(pipe.written).toEqual([]);
  });

  it('--quiet shows no progress even on a terminal', async () => {
    const tty = terminal(true);
    const r = await run(['run', '--quiet', ...TWO], tty);
    expect(r.code).toBe(0);
    expect(tty.written).toEqual([]);
  });

  it('the report is the same byte for byte with the progress line shown or not', async () => {
    const shown = await run(['run', '--format', 'json', ...TWO], terminal(true));
    const hidden = await run(['run', '--format', 'json', ...TWO], terminal(false));
    expect(shown.out).toBe(hidden.out);
    expect(shown.out.length).toBeGreaterThan(100);
  });
});

describe('progressLine', () => {
  it('rewrites the line at most every PROGRESS_INTERVAL_MS of wall time, except on a new scenario or phase', () => {
    let now = 0;
    const tty = terminal(true);
    const line = progressLine(tty, false, () => now);
    line.hook?.(sample);
    now += PROGRESS_INTERVAL_MS / 2;
    line.hook?.({ ...sample, simMs: 20_000 });
    expect(tty.written).toHaveLength(1);
    line.hook?.({ ...sample, phase: 'defences', simMs: 1000 });
    expect(tty.written).toHaveLength(2);
    now += PROGRESS_INTERVAL_MS;
    line.hook?.({ ...sample, phase: 'defences', simMs: 2000 });
    expect(tty.written).toHaveLength(3);
  });

  it('is off (no hook at all) on a pipe or with --quiet, so the run does not slice its time', () => {
    expect(progressLine(terminal(false), false).hook).toBeUndefined();
    expect(progressLine(terminal(true), true).hook).toBeUndefined();
    expect(progressLine(undefined, false).hook).toBeUndefined();
  });

  it('cuts the line to the terminal width, so that \\r rewrites it instead of a wrapped last row', () => {
    const tty = { ...terminal(true), columns: 30 };
    progressLine(tty, false, () => 0).hook?.(sample);
    expect(tty.written[0]).toBe(`\r\u001b[K${progressText(sample, 0).slice(0, 29)}`);
  });
});

describe('progressText', () => {
  it('says scenario i/n, the phase, the fraction of simulated time, the events and the events per second of wall time', () => {
    expect(progressText(sample, 1000)).toBe('[2/5] flood: run 25% of simulated time (15 s of 60 s), 2.0M events, 2.0M events/s');
  });

  it('escapes a scenario name that would drive the terminal', () => {
    expect(progressText({ ...sample, scenario: 'x\u001b]0;owned\u0007\r' }, 0)).toContain('x\\u001b]0;owned\\u0007\\r: run');
  });
});

describe('the simulation\'s progress hook', () => {
  it('reports simulated time rising to the end of each phase and events that never go down, and the same result as without it', async () => {
    const src = (): FsSource => new FsSource(Sandbox.forCwd([]), new Set());
    const seen: RunProgress[] = [];
    const withHook = await runFiles(['scenarios/flood-rate-limited.yaml'], src(), { progress: (p) => seen.push(p) });
    const without = await runFiles(['scenarios/flood-rate-limited.yaml'], src());
    expect(withHook.results[0]?.fingerprint).toBe(without.results[0]?.fingerprint);
    expect(JSON.stringify(withHook.results)).toBe(JSON.stringify(without.results));
    const run = seen.filter((p) => p.phase === 'run');
    expect(run.length).toBeGreaterThan(10);
    for (let i = 1; i < seen.length; i++) expect((seen[i] as RunProgress).events).toBeGreaterThanOrEqual((seen[i - 1] as RunProgress).events);
    for (let i = 1; i < run.length; i++) expect((run[i] as RunProgress).simMs).toBeGreaterThan((run[i - 1] as RunProgress).simMs);
    expect(run.at(-1)?.simMs).toBe(run.at(-1)?.endMs);
    expect(seen.every((p) => p.index === 1 && p.total === 1 && p.scenario === 'flood-rate-limited')).toBe(true);
  });
});
