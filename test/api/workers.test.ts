/**
 * `run --workers N` (issue 13 item 4): reports byte-identical to a serial run,
 * in the same order, in every format; N bounded; a bad scenario is the same
 * error (exit 2, nothing run) as serially; a scenario over its event budget
 * is reported as serially.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFiles } from '../../src/api/run.js';
import { RecordingSource, ReplaySource, WORKERS_PER_CORE } from '../../src/api/workers.js';
import { FsSource, Sandbox } from '../../src/cli/fs.js';
import { IssueList } from '../../src/core/issues.js';
import { renderJson } from '../../src/report/json.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderSarif } from '../../src/report/sarif.js';
import { renderText } from '../../src/report/text.js';
import { cli, writeScratch } from '../cli/harness.js';

const root = path.resolve(__dirname, '../..');
const tmp = mkdtempSync(path.join(root, 'test', '.tmp-workers-'));
const rel = path.relative(process.cwd(), tmp);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A handful of shipped scenarios of different actions (requests, a flood with traffic, a JWT replay, a pivot, a sniff). */
const SUITE = ['bookinfo-deny-all', 'flood-rate-limited', 'stolen-jwt-replay', 'bookinfo-pivot-open', 'sniff-permissive-legacy-token']
  .map((n) => path.join(path.relative(process.cwd(), root), 'scenarios', `${n}.yaml`));

describe('run on worker threads', () => {
  it('reports are byte-identical to a serial run, in the same order: JSON, JUnit, SARIF and text', async () => {
    const reader = (): FsSource => new FsSource(Sandbox.forCwd([]));
    const serial = await runFiles(SUITE, reader());
    const parallel = await runFiles(SUITE, reader(), { workers: 3 });
    expect(parallel.issues.items).toEqual(serial.issues.items);
    expect(parallel.results.map((r) => r.scenario)).toEqual(['bookinfo-deny-all', 'flood-rate-limited', 'stolen-jwt-replay', 'bookinfo-pivot-open', 'sniff-permissive-legacy-token']);
    for (const render of [renderJson, renderJunit, renderSarif, renderText]) expect(render(parallel.results)).toBe(render(serial.results));
    expect(parallel.warnings).toEqual(serial.warnings);
  }, 240_000);

  it('a scenario that exceeds its event budget is reported as serially (scenario-too-much-work at its line), the others run', async () => {
    const files = SUITE.slice(0, 2);
    const serial = await runFiles(files, new FsSource(Sandbox.forCwd([])), { maxEvents: 2000 });
    const parallel = await runFiles(files, new FsSource(Sandbox.forCwd([])), { maxEvents: 2000, workers: 2 });
    expect(serial.issues.errors.map((e) => e.code)).toContain('scenario-too-much-work');
    expect(parallel.issues.items).toEqual(serial.issues.items);
    expect(renderJson(parallel.results)).toBe(renderJson(serial.results));
  }, 240_000);

  it('a bad scenario is the same located error as serially: exit 2, nothing run, no worker started', async () => {
    const bad = writeScratch(tmp, rel, 'bad.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: bad }\nspec: { mesh: { manifests: [nowhere] }, attacker: { foothold: a/b }, steps: [{ id: x, action: wait, for: 1s }] }\n');
    const serial = await cli('run', SUITE[0] as string, bad);
    const parallel = await cli('run', SUITE[0] as string, bad, '--workers', '2');
    expect(serial.code).toBe(2);
    expect(parallel.code).toBe(2);
    expect(parallel.err).toBe(serial.err);
    expect(parallel.out).toBe('');
  });

  it(`--workers is bounded to 1 … cores × ${WORKERS_PER_CORE}, a whole number (exit 2 otherwise)`, async () => {
    const max = availableParallelism() * WORKERS_PER_CORE;
    for (const n of ['0', String(max + 1), '1.5', 'two', '-1']) {
      const r = await cli('run', SUITE[0] as string, '--workers', n);
      expect(r.code, n).toBe(2);
      expect(r.err).toContain(`expected a whole number from 1 to ${max}`);
    }
  });

  it('the recorded texts play back exactly what was read, and any other read is a located error', () => {
    const issues = new IssueList();
    const rec = new RecordingSource(new FsSource(Sandbox.forCwd([])));
    const file = SUITE[0] as string;
    const box = rec.forScenario(file);
    const text = box.read(file, issues);
    const replay = new ReplaySource(rec.recordings.get(file) as never);
    expect(replay.read(file, issues)).toEqual(text);
    expect(issues.errors).toEqual([]);
    expect(replay.read('elsewhere.yaml', issues)).toBeNull();
    expect(issues.errors.map((e) => e.code)).toEqual(['worker-unrecorded-read']);
  });
});
