/**
 * The CI recipes for shards (examples/ci/github-actions-shards.yml, k8s-indexed-job.yaml), checked as far
 * as a shell can: the YAML parses into the structure its engine needs, and the meshrange commands its
 * scripts call — expanded by a real `sh` (variables, arithmetic on JOB_COMPLETION_INDEX, globs), with
 * `npx` standing in to record them — succeed on this repository, on a handful of shipped scenarios, and
 * merge into the report a single run writes.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cli } from '../cli/harness.js';

const SUITE = 'scenarios/impersonate-header-rule.yaml scenarios/workload-peerauth-override.yaml scenarios/strict-backend-namespace.yaml';
let tmp: string;
let shells = 0;
beforeAll(() => { tmp = mkdtempSync(path.join(os.tmpdir(), 'meshrange-recipes-')); });
afterAll(() => { rmSync(tmp, { recursive: true, force: true }); });

function docs(file: string): Record<string, unknown>[] {
  const all = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of all) expect(d.errors, file).toEqual([]);
  return all.map((d) => d.toJS() as Record<string, unknown>);
}

/** Runs a script in sh with `npx` recording each call's arguments; returns the calls, in order. */
function shell(script: string, env: Record<string, string>): string[][] {
  const log = path.join(tmp, `calls-${++shells}.txt`);
  const shim = `npx() { printf '%s\\n' "$#" >> "${log}"; for a in "$@"; do printf '%s\\n' "$a" >> "${log}"; done; }\n`;
  execFileSync('sh', ['-c', shim + script], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, cwd: process.cwd() });
  let lines: string[];
  try { lines = readFileSync(log, 'utf8').split('\n'); } catch { return []; }
  const calls: string[][] = [];
  for (let i = 0; i < lines.length && lines[i] !== '';) {
    const n = Number(lines[i]);
    calls.push(lines.slice(i + 1, i + 1 + n));
    i += n + 1;
  }
  return calls;
}

/** Runs a recorded `npx meshrange …` call in-process. */
async function meshrange(call: string[]): Promise<{ code: number; out: string; err: string }> {
  expect(call[0]).toBe('meshrange');
  return cli(...call.slice(1));
}

describe('examples/ci/github-actions-shards.yml', () => {
  it('parses as a workflow whose matrix shards run, upload, download and merge into the single run\'s report', async () => {
    const [wf] = docs('examples/ci/github-actions-shards.yml');
    const jobs = wf?.['jobs'] as Record<string, { steps: { run?: string; uses?: string; with?: Record<string, unknown> }[]; strategy?: { matrix: { shard: number[] } }; needs?: string }>;
    const env = wf?.['env'] as Record<string, string | number>;
    const matrix = jobs['shard']?.strategy?.matrix.shard ?? [];
    expect(matrix).toEqual(Array.from({ length: Number(env['SHARDS']) }, (_, i) => i + 1));
    expect(jobs['merge']?.needs).toBe('shard');
    const reports = path.join(tmp, 'gh');
    const vars = { SUITE, SHARDS: String(env['SHARDS']), REPORTS: reports };
    const runStep = (job: string): string => (jobs[job]?.steps.filter((s) => s.run?.includes('meshrange')) ?? [])[0]?.run as string;
    for (const shard of matrix) {
      const calls = shell(runStep('shard').replaceAll('${{ matrix.shard }}', String(shard)), vars);
      expect(calls).toHaveLength(1);
      const r = await meshrange(calls[0] as string[]);
      expect(r.code, r.err).toBe(0);
    }
    // upload-artifact → download-artifact (merge-multiple): every shard file in $REPORTS/shards.
    mkdirSync(path.join(reports, 'shards'), { recursive: true });
    for (const f of readdirSync(reports).filter((x) => x.startsWith('shard-'))) copyFileSync(path.join(reports, f), path.join(reports, 'shards', f));
    expect(jobs['merge']?.steps.some((s) => s.uses?.startsWith('github/codeql-action/upload-sarif'))).toBe(true);
    const calls = shell(runStep('merge'), vars);
    expect(calls).toHaveLength(1);
    const merged = await meshrange(calls[0] as string[]);
    expect(merged.code, merged.err).toBe(0);
    const single = await cli('run', ...SUITE.split(' '), '--format', 'json', '--report', `junit=${path.join(tmp, 'single.xml')}`, '--report', `sarif=${path.join(tmp, 'single.sarif')}`);
    expect(readFileSync(path.join(reports, 'meshrange.json'), 'utf8')).toBe(single.out);
    expect(readFileSync(path.join(reports, 'meshrange.xml'), 'utf8')).toBe(readFileSync(path.join(tmp, 'single.xml'), 'utf8'));
    expect(readFileSync(path.join(reports, 'meshrange.sarif'), 'utf8')).toBe(readFileSync(path.join(tmp, 'single.sarif'), 'utf8'));
  });
});

describe('examples/ci/k8s-indexed-job.yaml', () => {
  it('parses as an Indexed Job whose pods (JOB_COMPLETION_INDEX 0..n-1) run every shard, and a merge Job that merges them', async () => {
    const all = docs('examples/ci/k8s-indexed-job.yaml');
    const jobs = all.filter((d) => d['kind'] === 'Job') as { metadata: { name: string }; spec: { completionMode?: string; completions?: number;
      template: { spec: { containers: { args: string[]; env: { name: string; value: string }[] }[] } } } }[];
    const shards = jobs.find((j) => j.spec.completionMode === 'Indexed');
    const merge = jobs.find((j) => j !== shards);
    expect(shards && merge).toBeTruthy();
    const c = shards?.spec.template.spec.containers[0];
    const env = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
    expect(Number(env['SHARDS'])).toBe(shards?.spec.completions);
    const reports = path.join(tmp, 'k8s');
    mkdirSync(reports, { recursive: true });
    for (let index = 0; index < Number(env['SHARDS']); index++) {
      const calls = shell(c?.args[0] as string, { SUITE, SHARDS: env['SHARDS'] as string, REPORTS: reports, JOB_COMPLETION_INDEX: String(index) });
      expect(calls).toHaveLength(1);
      expect(calls[0]).toContain(`${index + 1}/${env['SHARDS']}`);
      const r = await meshrange(calls[0] as string[]);
      expect(r.code, r.err).toBe(0);
    }
    const m = merge?.spec.template.spec.containers[0];
    const calls = shell(m?.args[0] as string, { SHARDS: env['SHARDS'] as string, REPORTS: reports });
    expect(calls).toHaveLength(1);
    const merged = await meshrange(calls[0] as string[]);
    expect(merged.code, merged.err).toBe(0);
    const single = await cli('run', ...SUITE.split(' '), '--format', 'json');
    expect(readFileSync(path.join(reports, 'meshrange.json'), 'utf8')).toBe(single.out);
  });
});
