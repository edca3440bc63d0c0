/**
 * `run --workers N` (issue 13 item 4): reports byte-identical to a serial run,
 * in the same order, in every format; N bounded; a bad scenario is the same
 * error (exit 2, nothing run) as serially, wherever it is in the suite and
 * whichever worker prepares it; a scenario over its event budget is reported
 * as serially; a worker reads only through the caller's reader.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFiles } from '../../src/api/run.js';
import { ByteBudget } from '../../src/api/source.js';
import { MIN_FILES_FOR_WORKERS, preload, ProxySource, ReaderHost, runFilesInWorkers, WORKERS_PER_CORE } from '../../src/api/workers.js';
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
    // Two files would run serially through runFiles; every one goes to a worker here.
    const parallel = await runFilesInWorkers(files, new FsSource(Sandbox.forCwd([])), { maxEvents: 2000, workers: 2 }, { callerRuns: false });
    expect(serial.issues.errors.map((e) => e.code)).toContain('scenario-too-much-work');
    expect(parallel.issues.items).toEqual(serial.issues.items);
    expect(renderJson(parallel.results)).toBe(renderJson(serial.results));
  }, 240_000);

  it('a bad scenario is the same located error as serially: exit 2, nothing run', async () => {
    const bad = writeScratch(tmp, rel, 'bad.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: bad }\nspec: { mesh: { manifests: [nowhere] }, attacker: { foothold: a/b }, steps: [{ id: x, action: wait, for: 1s }] }\n');
    const files = [...SUITE.slice(0, MIN_FILES_FOR_WORKERS - 1), bad];
    const serial = await cli('run', ...files);
    const parallel = await cli('run', ...files, '--workers', '2');
    expect(serial.code).toBe(2);
    expect(parallel.code).toBe(2);
    expect(parallel.err).toBe(serial.err);
    expect(parallel.out).toBe('');
  });

  it('errors of a suite are a serial run\'s, in its order: a bad file after good ones, a name used twice, an unknown foothold; no result is kept', async () => {
    const dupe = writeScratch(tmp, rel, 'dupe.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: bookinfo-deny-all }\nspec: { mesh: { manifests: [../../scenarios/meshes/bookinfo] }, attacker: { foothold: bookinfo/productpage-v1 }, steps: [{ id: x, action: wait, for: 1s }] }\n');
    const stray = writeScratch(tmp, rel, 'stray.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: stray }\nspec: { mesh: { manifests: [../../scenarios/meshes/bookinfo] }, attacker: { foothold: nowhere/nobody }, steps: [{ id: x, action: wait, for: 1s }] }\n');
    const broken = writeScratch(tmp, rel, 'broken.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: broken\n');
    const files = [...SUITE.slice(0, 3), dupe, stray, broken];
    const serial = await runFiles(files, new FsSource(Sandbox.forCwd([])));
    const parallel = await runFiles(files, new FsSource(Sandbox.forCwd([])), { workers: 2 });
    expect(serial.issues.errors.map((e) => e.code)).toEqual(expect.arrayContaining(['scenario-name-duplicate']));
    expect(serial.issues.errors.length).toBeGreaterThanOrEqual(3);
    expect(parallel.issues.items).toEqual(serial.issues.items);
    expect(parallel.results).toEqual([]);
    expect(serial.results).toEqual([]);
  }, 240_000);

  it('the caller\'s thread runs scenarios too (the first one at least), and reports are byte-identical to a serial run with N=2 and N=3', async () => {
    const serial = await runFiles(SUITE, new FsSource(Sandbox.forCwd([])));
    for (const workers of [2, 3]) {
      const placed: number[] = [];
      const parallel = await runFilesInWorkers(SUITE, new FsSource(Sandbox.forCwd([])), { workers }, { placed });
      expect(placed[0], `N=${workers}`).toBe(0);
      expect(placed.length).toBe(SUITE.length);
      expect(placed.every((p) => p >= 0 && p < workers), `N=${workers}: ${placed.join(',')}`).toBe(true);
      expect(parallel.issues.items).toEqual(serial.issues.items);
      for (const render of [renderJson, renderJunit, renderSarif, renderText]) expect(render(parallel.results), `N=${workers}`).toBe(render(serial.results));
      expect(parallel.warnings).toEqual(serial.warnings);
    }
  }, 240_000);

  it('a worker remakes the caller\'s FsSource (portable) and reads its files itself: no read goes through the caller, and the caller\'s record of inputs is a serial run\'s', async () => {
    const serialReader = new FsSource(Sandbox.forCwd([]));
    const serial = await runFiles(SUITE, serialReader);
    const fs = new FsSource(Sandbox.forCwd([]));
    const calls: string[] = [];
    // The caller's reader, counting what is asked of it; portable and absorb are the FsSource's.
    const counted = {
      read: (p: string, i: IssueList, at?: Parameters<FsSource['read']>[2]) => { calls.push(`read ${p}`); return fs.read(p, i, at); },
      manifests: (p: string, i: IssueList, at?: Parameters<FsSource['read']>[2], b?: ByteBudget) => { calls.push(`manifests ${p}`); return fs.manifests(p, i, at, b); },
      forScenario: (f: string) => { calls.push(`forScenario ${f}`); return fs.forScenario(f); },
      resolve: (f: string, r: string) => fs.resolve(f, r),
      portable: () => fs.portable(),
      absorb: (r: unknown) => fs.absorb(r),
    };
    const parallel = await runFilesInWorkers(SUITE, counted, { workers: 2 }, { callerRuns: false });
    expect(calls).toEqual([]);
    for (const render of [renderJson, renderText]) expect(render(parallel.results)).toBe(render(serial.results));
    expect([...fs.inputs].sort()).toEqual([...serialReader.inputs].sort());
    expect(fs.inputs.size).toBeGreaterThan(SUITE.length); // the scenario files and their manifests
  }, 240_000);

  it('a reader that cannot be remade in a worker (no portable) is read through the caller: the same reports', async () => {
    const fs = new FsSource(Sandbox.forCwd([]));
    let asked = 0;
    const plain = {
      read: (p: string, i: IssueList, at?: Parameters<FsSource['read']>[2]) => { asked++; return fs.read(p, i, at); },
      manifests: (p: string, i: IssueList, at?: Parameters<FsSource['read']>[2], b?: ByteBudget) => { asked++; return fs.manifests(p, i, at, b); },
      forScenario: (f: string) => { asked++; return fs.forScenario(f); },
      resolve: (f: string, r: string) => fs.resolve(f, r),
    };
    const serial = await runFiles(SUITE, new FsSource(Sandbox.forCwd([])));
    const parallel = await runFilesInWorkers(SUITE, plain, { workers: 2 }, { callerRuns: false });
    expect(asked).toBeGreaterThan(0);
    for (const render of [renderJson, renderText]) expect(render(parallel.results)).toBe(render(serial.results));
  }, 240_000);

  it('a bad file gives a serial run\'s errors, in its order, whether the caller\'s thread or a worker prepares it; no result is kept', async () => {
    const broken = writeScratch(tmp, rel, 'broken-first.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: broken\n');
    const stray = writeScratch(tmp, rel, 'stray-last.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: stray }\nspec: { mesh: { manifests: [../../scenarios/meshes/bookinfo] }, attacker: { foothold: nowhere/nobody }, steps: [{ id: x, action: wait, for: 1s }] }\n');
    const files = [broken, ...SUITE.slice(0, 3), stray];
    const serial = await runFiles(files, new FsSource(Sandbox.forCwd([])));
    const where = serial.issues.errors.map((e) => path.basename(e.loc?.file ?? ''));
    expect(where[0]).toBe('broken-first.yaml');
    expect(where.at(-1)).toBe('stray-last.yaml');
    for (const callerRuns of [true, false]) {
      const placed: number[] = [];
      const parallel = await runFilesInWorkers(files, new FsSource(Sandbox.forCwd([])), { workers: 2 }, { callerRuns, placed });
      // The caller's thread takes the first file before any worker has loaded; without it, a worker does.
      expect(placed[0] === 0, `callerRuns ${callerRuns}`).toBe(callerRuns);
      expect(parallel.issues.items).toEqual(serial.issues.items);
      expect(parallel.results).toEqual([]);
    }
  }, 240_000);

  it(`--workers is bounded to 1 … cores × ${WORKERS_PER_CORE}, a whole number (exit 2 otherwise)`, async () => {
    const max = availableParallelism() * WORKERS_PER_CORE;
    for (const n of ['0', String(max + 1), '1.5', 'two', '-1']) {
      const r = await cli('run', SUITE[0] as string, '--workers', n);
      expect(r.code, n).toBe(2);
      expect(r.err).toContain(`expected a whole number from 1 to ${max}`);
    }
  });

  it('a worker\'s reads through the caller give what the reader gives: texts, issues, budget, per-scenario readers; the preloaded answers once', () => {
    const direct = new FsSource(Sandbox.forCwd([]));
    const host = new ReaderHost(new FsSource(Sandbox.forCwd([])));
    const link = (c: Parameters<ReaderHost['answer']>[0]): ReturnType<ReaderHost['answer']> => host.answer(c);
    const file = SUITE[0] as string;
    let calls = 0;
    const counted = (c: Parameters<ReaderHost['answer']>[0]): ReturnType<ReaderHost['answer']> => { calls++; return link(c); };
    const proxy = new ProxySource(counted, 7, preload(host, 7, file));
    const [a, b] = [new IssueList(), new IssueList()];
    // prepareScenario's first two calls are answered from the preload, without a call.
    const box = proxy.forScenario(file);
    expect(box.read(file, a)).toEqual(direct.forScenario(file).read(file, b));
    expect(calls).toBe(0);
    // Again: now through the link (a preloaded answer is used once).
    expect(box.read(file, a)).toEqual(direct.forScenario(file).read(file, b));
    expect(calls).toBe(1);
    const mesh = box.resolve(file, 'meshes/bookinfo');
    expect(mesh).toBe(direct.resolve(file, 'meshes/bookinfo'));
    const [x, y] = [new ByteBudget(), new ByteBudget()];
    expect(box.manifests(mesh, a, undefined, x)).toEqual(direct.forScenario(file).manifests(mesh, b, undefined, y));
    expect(x.used).toBe(y.used);
    expect(x.used).toBeGreaterThan(0);
    // Errors come back as the reader reports them, in the caller's IssueList of the worker.
    expect(box.read('elsewhere.yaml', a, { file, line: 3, col: 4 })).toBeNull();
    expect(direct.read('elsewhere.yaml', b, { file, line: 3, col: 4 })).toBeNull();
    const small = [new ByteBudget(10), new ByteBudget(10)] as const;
    expect(box.manifests(mesh, a, undefined, small[0])).toEqual([]);
    direct.forScenario(file).manifests(mesh, b, undefined, small[1]);
    expect(a.items).toEqual(b.items);
    expect(a.errors.map((e) => e.code)).toEqual(['path-missing', 'manifests-too-large']);
    // The scenario's readers are dropped when it ends: a late call is an error, not a read through a stale sandbox.
    host.forget(7);
    expect(() => box.read(file, new IssueList())).toThrow(/no reader/);
  });
});
