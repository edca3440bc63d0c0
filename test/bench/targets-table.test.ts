/**
 * The Targets table `npm run bench` writes (bench/table.ts): every target has
 * a line, marked from the measurements of the same run; a target whose section
 * did not run says "not measured" and why, never PASS or FAIL.
 */
import { describe, expect, it } from 'vitest';
import type { RunLine } from '../../bench/lib.js';
import { summarize } from '../../bench/table.js';

const line = (bench: string, impl: string, params: Record<string, unknown>, wall: number | null, rss: number | null, check: boolean, info: Record<string, unknown> = {}): RunLine =>
  ({ bench, impl, params, seed: 1, wall_s: wall, rate: wall ? 1 / wall : null, rss_mb: rss, check, info });

function targetRow(out: string[], id: string): string {
  const row = out.slice(out.indexOf('## Targets')).find((l) => l.startsWith(`| ${id} |`));
  expect(row, id).toBeDefined();
  return row as string;
}

describe('bench Targets table', () => {
  it('an empty run lists every target as not measured, with the section that measures it', () => {
    const out = summarize([], []);
    for (const id of ['T1.1', 'T2.3', 'T2.4', 'T3.1', 'T3.2', 'T4.2', 'W', 'MEM1', 'MEM2']) {
      const row = targetRow(out, id);
      expect(row).toMatch(/not measured: section .* was not run in this invocation/);
      expect(row.endsWith('| not measured |')).toBe(true);
    }
    expect(targetRow(out, 'MEM1')).toContain('--only B6`');
  });

  it('W is marked from the same run: PASS when every workers run was byte-identical and faster than serial, FAIL when slower', () => {
    const suite = (impl: string, wall: number, check = true): RunLine => line('W-suite', impl, { scenarios: 40, workers: impl === 'serial' ? 1 : 2 }, wall, 100, check);
    const faster = summarize([suite('serial', 2), suite('workers-2', 1.2), suite('serial', 2.2), suite('workers-2', 1.1)], []);
    expect(targetRow(faster, 'W')).toMatch(/speed-up 1\.\d+x over serial.*byte-identical in every run \| PASS \|$/);
    const slower = summarize([suite('serial', 1), suite('workers-2', 1.5)], []);
    expect(targetRow(slower, 'W')).toMatch(/\| FAIL \|$/);
    const differs = summarize([suite('serial', 2), suite('workers-2', 1, false)], []);
    expect(targetRow(differs, 'W')).toMatch(/NOT identical .*\| FAIL \|$/);
  });

  it('MEM1 is marked from the B6 load at 100,000 workloads: peak RSS against 2 GB, with the ratio to the bare parse', () => {
    const p = { workloads: 100_000, files: 5001, documents: 405_004, bytes: 123_000_000, profile: 'strict' };
    const ok = summarize([line('B6-load', 'yaml-parse', p, 80, 600, true, { round: 0 }), line('B6-load', 'meshrange', p, 20, 900, true, { round: 0 })], []);
    expect(targetRow(ok, 'MEM1')).toMatch(/900 MB peak RSS, 20\.0 s \(0\.25x a bare yaml parse.*\| PASS \|$/);
    const over = summarize([line('B6-load', 'meshrange', p, 20, 2100, true, { round: 0 })], []);
    expect(targetRow(over, 'MEM1')).toMatch(/\| FAIL \|$/);
  });

  it('T3.2 says not measured when only the bitset line ran at 100,000 workloads (the meshrange process died or was not run)', () => {
    const out = summarize([line('B3-blast', 'bitset', { workloads: 100_000, profile: 'strict', exploit: 'all' }, 13, 378, true, { phases_s: { graph: 3, scc: 1, blast100: 2, closure: 7 } })], []);
    expect(targetRow(out, 'T3.2')).toMatch(/not measured: no good meshrange line at 100,000 workloads.*\| not measured \|$/);
  });

  const blastPair = (W: number, profile: string, bitsS: number, oursS: number | null, rss: number): RunLine[] => {
    const params = { workloads: W, profile, exploit: 'all' };
    const phases = { phases_s: { graph: 1, scc: 0, blast100: 0, closure: 0 } };
    const out = [line('B3-blast', 'bitset', params, bitsS, 100, true, phases)];
    if (oursS !== null) out.push(line('B3-blast', 'meshrange', params, oursS, rss, true, { ...phases, decisions: 10, load_s: 1, rider: {} }));
    return out;
  };

  it('T3.1 and T3.2 judge the worst of all three profiles: a missing profile leaves a passing mark unmeasured, never PASS', () => {
    const all = summarize([...blastPair(100_000, 'open', 0.5, 8, 1300), ...blastPair(100_000, 'strict', 0.5, 8.5, 1300), ...blastPair(100_000, 'segmented', 0.6, 9, 1400)], []);
    expect(targetRow(all, 'T3.2')).toMatch(/9\.00 s \(worst profile\), peak RSS 1400 MB \| PASS \|$/);
    const noSeg = summarize([...blastPair(100_000, 'open', 0.5, 8, 1300), ...blastPair(100_000, 'strict', 0.5, 8.5, 1300), ...blastPair(100_000, 'segmented', 0.6, null, 0)], []);
    expect(targetRow(noSeg, 'T3.2')).toMatch(/not measured: no good meshrange line for segmented .*8\.50 s \(worst profile\).*\| not measured \|$/);
    const slowSeg = summarize([...blastPair(100_000, 'open', 0.5, 8, 1300), ...blastPair(100_000, 'segmented', 0.6, 21, 1400)], []);
    expect(targetRow(slowSeg, 'T3.2')).toMatch(/no good meshrange line for strict .*21\.0 s \(worst profile\).*\| FAIL \|$/);
    const t31 = summarize([...blastPair(10_000, 'open', 0.1, 0.25, 140), ...blastPair(10_000, 'strict', 0.1, 0.2, 140)], []);
    expect(targetRow(t31, 'T3.1')).toMatch(/not measured: no good meshrange line for segmented .*2\.50x bitset.*\| not measured \|$/);
  });
});
