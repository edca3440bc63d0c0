/**
 * `meshrange run --workers N` (issue 13 item 4): the scenarios of a run on N
 * worker threads, with reports byte-identical to a serial run, in the same
 * order.
 *
 * How it stays identical: the main thread prepares every scenario exactly as
 * the serial run does (so a bad file is the same located error, exit 2,
 * nothing run) while a RecordingSource keeps every file text it read, per
 * scenario. Each worker gets a scenario's recorded texts — it reads no file
 * itself, so it sees the bytes the main thread checked — prepares it with the
 * same code, runs it, and posts the RunResult back (plain data: the
 * structured clone keeps every field and its order). Results and per-scenario
 * errors (a run's event budget) are put back in scenario order.
 *
 * Workers run the same code as the caller, however it was loaded: the
 * TypeScript sources under tsx (`import.meta.url` ends in .ts: the worker
 * registers tsx first), the compiled ES modules of dist/ (the library), or the
 * CommonJS bundle dist/meshrange.cjs that bin/meshrange.js runs (no
 * import.meta there: the worker loads the bundle through bin/load-bundle.js).
 * Loading the module in a worker thread marked as ours starts its loop.
 * The progress line (simulated time) is a serial run's: with workers, none.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { IssueList, type Issue, type Location } from '../core/issues.js';
import type { SourceFile } from '../loader/load.js';
import { ScenarioLimitError } from '../scenario/simulate.js';
import type { RunResult } from '../scenario/types.js';
import { prepareAll, runPrepared, type RunFilesOptions, type RunFilesResult } from './run.js';
import type { ByteBudget, SourceReader } from './source.js';

/** The most workers a run may ask for, per core (the CLI bounds N to 1 … cores × this). */
export const WORKERS_PER_CORE = 4;
const MARK = 'meshrange-run-worker';

/** What one scenario read, by the call that read it. */
type Recording = Map<string, SourceFile | SourceFile[] | string | null>;

/** A reader that keeps what it returns, per scenario file (forScenario opens a scenario's recording). */
export class RecordingSource implements SourceReader {
  constructor(private readonly inner: SourceReader, readonly recordings: Map<string, Recording> = new Map(), private readonly log?: Recording) {}

  read(p: string, issues: IssueList, at?: Location): SourceFile | null {
    const f = this.inner.read(p, issues, at);
    this.log?.set(`read\u0000${p}`, f);
    return f;
  }

  manifests(p: string, issues: IssueList, at?: Location, budget?: ByteBudget): SourceFile[] {
    const list = this.inner.manifests(p, issues, at, budget);
    this.log?.set(`manifests\u0000${p}`, list);
    return list;
  }

  forScenario(file: string): SourceReader {
    const log: Recording = new Map();
    this.recordings.set(file, log);
    return new RecordingSource(this.inner.forScenario(file), this.recordings, log);
  }

  resolve(file: string, rel: string): string {
    const r = this.inner.resolve(file, rel);
    this.log?.set(`resolve\u0000${file}\u0000${rel}`, r);
    return r;
  }
}

/** Plays a recording back: the same answers for the same calls, and a located error for any other. */
export class ReplaySource implements SourceReader {
  constructor(private readonly log: Recording) {}

  private get<T>(key: string, issues: IssueList, at: Location | undefined, fallback: T): T {
    if (this.log.has(key)) return this.log.get(key) as T;
    issues.error('worker-unrecorded-read', `a worker asked for ${key.replace(/\u0000/g, ' ')}, which the run did not read`, at, 'this is a bug in meshrange; run without --workers');
    return fallback;
  }

  read(p: string, issues: IssueList, at?: Location): SourceFile | null {
    return this.get<SourceFile | null>(`read\u0000${p}`, issues, at, null);
  }

  manifests(p: string, issues: IssueList, at?: Location): SourceFile[] {
    return this.get<SourceFile[]>(`manifests\u0000${p}`, issues, at, []);
  }

  forScenario(): SourceReader {
    return this;
  }

  resolve(file: string, rel: string): string {
    const r = this.log.get(`resolve\u0000${file}\u0000${rel}`);
    return typeof r === 'string' ? r : path.resolve(path.dirname(file), rel);
  }
}

interface Job { index: number; file: string; log: Recording; seed?: number; maxEvents?: number }
type Answer =
  | { index: number; result: RunResult }
  | { index: number; limit: { message: string; loc: Location; hint: string } }
  | { index: number; issues: Issue[] }
  | { index: number; crash: string };

/** How this module was loaded, so that a worker loads the same code. */
function workerBoot(): { code: string; data: Record<string, unknown> } {
  const url = (import.meta as { url?: string }).url;
  const code = `const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  if (workerData.bundle) { const { loadBundle } = await import(workerData.loader); loadBundle(workerData.bundle); return; }
  if (workerData.tsx) { const { register } = await import(workerData.tsx); register(); }
  await import(workerData.entry);
})().catch((e) => parentPort.postMessage({ index: -1, crash: String((e && e.stack) || e) }));`;
  if (typeof url === 'string' && url.startsWith('file:')) {
    const tsx = url.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined;
    return { code, data: { entry: url, ...(tsx ? { tsx } : {}) } };
  }
  // The CommonJS bundle (bin/load-bundle.js passes __filename): dist/meshrange.cjs beside bin/.
  const bundle = typeof __filename === 'string' ? __filename : '';
  const dist = path.dirname(bundle);
  return { code, data: { bundle: dist, loader: pathToFileURL(path.join(dist, '..', 'bin', 'load-bundle.js')).href } };
}

/** Runs the prepared scenarios of `files` on `workers` threads; the same answer as runFiles, in the same order. */
export async function runFilesInWorkers(files: readonly string[], reader: SourceReader, opts: RunFilesOptions & { workers: number }): Promise<RunFilesResult> {
  const issues = new IssueList();
  const recorder = new RecordingSource(reader);
  const prepared = prepareAll(files, recorder, issues);
  const warnings = new Set<string>();
  if (issues.hasErrors()) return { results: [], issues, warnings: [] };
  for (const p of prepared) for (const w of p.warnings) warnings.add(w);
  const jobs: Job[] = prepared.map((p, index) => ({
    index, file: p.scenario.file, log: recorder.recordings.get(p.scenario.file) ?? new Map(),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.maxEvents !== undefined ? { maxEvents: opts.maxEvents } : {}),
  }));
  const answers = await pool(jobs, Math.max(1, Math.min(opts.workers, jobs.length)));
  const results: RunResult[] = [];
  for (const a of answers) {
    if ('result' in a) results.push(a.result);
    else if ('limit' in a) issues.error('scenario-too-much-work', a.limit.message, a.limit.loc, a.limit.hint);
    else if ('issues' in a) for (const i of a.issues) issues.add(i);
    else throw new Error(`a worker failed on ${jobs[a.index]?.file ?? 'a scenario'}: ${a.crash}`);
  }
  return { results, issues, warnings: [...warnings] };
}

async function pool(jobs: readonly Job[], n: number): Promise<Answer[]> {
  const boot = workerBoot();
  const answers = new Array<Answer>(jobs.length);
  let next = 0;
  let done = 0;
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (w: Worker): void => {
        const job = jobs[next++];
        if (job) w.postMessage(job);
      };
      for (let i = 0; i < n; i++) {
        const w = new Worker(boot.code, { eval: true, workerData: { ...boot.data, [MARK]: true } });
        workers.push(w);
        w.on('message', (a: Answer) => {
          if (a.index < 0) { reject(new Error(`a worker could not start: ${'crash' in a ? a.crash : ''}`)); return; }
          answers[a.index] = a;
          done++;
          if (done === jobs.length) resolve();
          else feed(w);
        });
        w.on('error', reject);
        w.on('exit', (code) => { if (done < jobs.length) reject(new Error(`a worker exited (code ${code}) before the run finished`)); });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return answers;
}

/** The worker's side: prepare and run each scenario it is sent, from its recorded texts. */
async function serve(job: Job): Promise<Answer> {
  const issues = new IssueList();
  const [p] = prepareAll([job.file], new ReplaySource(job.log), issues);
  if (!p || issues.hasErrors()) return { index: job.index, issues: issues.items };
  try {
    const opts: RunFilesOptions = { ...(job.seed !== undefined ? { seed: job.seed } : {}), ...(job.maxEvents !== undefined ? { maxEvents: job.maxEvents } : {}) };
    return { index: job.index, result: await runPrepared(p, opts) };
  } catch (e) {
    if (e instanceof ScenarioLimitError) return { index: job.index, limit: { message: e.message, loc: e.loc, hint: e.hint } };
    return { index: job.index, crash: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
}

if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[MARK] === true) {
  const port = parentPort;
  port.on('message', (job: Job) => {
    void serve(job).then((a) => port.postMessage(a));
  });
}

