/**
 * `meshrange run --workers N` (issue 13 item 4): the scenarios of a run on N
 * threads — the caller's and N − 1 workers — with reports byte-identical to a
 * serial run, in the same order, and the same errors. With fewer than
 * MIN_FILES_FOR_WORKERS files runFiles runs serially (no worker at all).
 *
 * Who does what. The caller's thread is warm already (its modules loaded, its
 * JIT too): it takes scenarios from the queue one at a time, reading through
 * the run's own reader, and between two it yields so that the workers' calls
 * are answered. A worker loads meshrange (~0.3-0.6 s of CPU) and says so; only
 * then is it handed scenarios, so a worker slow to start holds no work back
 * (on a small suite the caller may run everything before it is ready). A
 * worker prepares (parses, checks, loads the mesh, binds) and runs what it is
 * given. It reads the files it needs itself when the caller's reader says how
 * to make an equivalent one (SourceReader.portable: the CLI's FsSource, the
 * same sandbox roots in the same process), and hands back what that reader
 * recorded (the real paths read, which the caller's reader absorbs: the run's
 * record of inputs that no report may overwrite). Otherwise (a reader in
 * memory, say) it reads through a ProxySource — a synchronous call back to the
 * caller's SourceReader (the worker posts the call on its own MessagePort and
 * waits on a shared Int32Array; the caller answers and wakes it, between two
 * of its own scenarios at the latest, which on the shipped suite left a worker
 * waiting ~1 s of its ~1.6 s). Either way each file is checked once, where it
 * is read: checking on the caller first and again in the worker made 2
 * workers slower than none.
 *
 * Work is handed out to whichever thread is free (a worker holds its next
 * scenario while it runs one, except near the end), in the order of the
 * files (a scenario's cost is its simulated time and traffic, which its text
 * size does not tell: the shipped suite's costliest scenarios are among its
 * shortest files). Answers are put back in file order and
 * joined as prepareAll joins them (run.ts joinPrepared: each file's issues, a
 * name used twice), so errors are a serial run's, in its order, whichever
 * thread prepared a file. A serial run
 * runs nothing when any file is bad; here a thread runs what it prepared as
 * long as no error has come back yet, and once one has, the rest are only
 * prepared (for their errors) and every result is dropped.
 *
 * Workers run the same code as the caller, however it was loaded: the
 * TypeScript sources under tsx (`import.meta.url` ends in .ts: the worker
 * registers tsx first), the compiled ES modules of dist/ (the library), or the
 * CommonJS bundle dist/meshrange.cjs that bin/meshrange.js runs (no
 * import.meta there: the worker loads the bundle, with its code cache, through
 * bin/load-bundle.js). Loading the module in a worker thread marked as ours
 * starts its loop. The progress line (simulated time) is a serial run's: with
 * workers, none.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, MessageChannel, MessagePort, parentPort, receiveMessageOnPort, Worker, workerData } from 'node:worker_threads';
import { IssueList, type Issue, type Location } from '../core/issues.js';
import type { SourceFile } from '../loader/load.js';
import { ScenarioLimitError } from '../scenario/simulate.js';
import type { RunResult } from '../scenario/types.js';
import { joinPrepared, prepareFile, runPrepared, type FilePrepared, type RunFilesOptions, type RunFilesResult } from './run.js';
import { ByteBudget, makeReader, type PortableReader, type SourceReader } from './source.js';
import { SimulationLimitError } from '../core/limits.js';

/** The most workers a run may ask for, per core (the CLI bounds N to 1 … cores × this). */
export const WORKERS_PER_CORE = 4;

/** The most threads a run takes: WORKERS_PER_CORE per core of this machine (`run --workers` refuses more; the library clamps to it). */
export function maxWorkers(cores: number = availableParallelism()): number {
  return Math.max(1, cores) * WORKERS_PER_CORE;
}

/**
 * The threads a pool of `workers` starts for `files` files: never more than maxWorkers() (a count written for a
 * bigger machine runs on this one), nor than the files give work to.
 */
export function poolThreads(workers: number, files: number, callerRuns: boolean, cores?: number): number {
  return Math.max(1, Math.min(workers, maxWorkers(cores), files + (callerRuns ? 0 : 1)));
}
const MARK = 'meshrange-run-worker';
/** The index of a worker's first message: loaded, ready for scenarios. */
const READY = -2;

// ------------------------------------------------------------- reading through the caller

/**
 * A call a worker makes on the caller's reader, for the scenario `job`; `h`
 * names the reader (0: the run's, others: made by forScenario for that job).
 */
type ReadCall = { job: number; h: number } & (
  | { op: 'read'; path: string; at?: Location }
  | { op: 'manifests'; path: string; at?: Location; budget?: { used: number; limit: number } }
  | { op: 'forScenario'; file: string }
  | { op: 'resolve'; file: string; rel: string });
type ReadReply = { value: unknown; issues?: Issue[]; used?: number } | { thrown: string };

/**
 * The caller's side of the workers' reads: answers each call with the reader
 * it names. Readers made by forScenario live until forget(job) (the end of the
 * scenario they were made for).
 */
export class ReaderHost {
  private readonly readers = new Map<number, { reader: SourceReader; job: number }>();
  private next = 1;

  constructor(private readonly root: SourceReader) {}

  answer(call: ReadCall): ReadReply {
    const r = call.h === 0 ? this.root : this.readers.get(call.h)?.reader;
    if (!r) return { thrown: `no reader ${call.h}` };
    try {
      const issues = new IssueList();
      switch (call.op) {
        case 'read': return { value: r.read(call.path, issues, call.at), issues: issues.items };
        case 'manifests': {
          const budget = call.budget ? Object.assign(new ByteBudget(call.budget.limit), { used: call.budget.used }) : undefined;
          const value = r.manifests(call.path, issues, call.at, budget);
          return { value, issues: issues.items, ...(budget ? { used: budget.used } : {}) };
        }
        case 'forScenario': {
          const h = this.next++;
          this.readers.set(h, { reader: r.forScenario(call.file), job: call.job });
          return { value: h };
        }
        case 'resolve': return { value: r.resolve(call.file, call.rel) };
      }
    } catch (e) {
      return { thrown: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
  }

  /** Drops the readers forScenario made for `job`. */
  forget(job: number): void {
    for (const [h, r] of this.readers) if (r.job === job) this.readers.delete(h);
  }
}

/** Serves a worker's calls on `port`, waking it through `flag` after each answer. */
function serveReads(host: ReaderHost, port: MessagePort, flag: Int32Array): void {
  port.on('message', (call: ReadCall) => {
    port.postMessage(host.answer(call));
    Atomics.add(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
}

/** A synchronous call to the caller's reader: post it, sleep until the answer is there, take it. */
export type ReadLink = (call: ReadCall) => ReadReply;

function linkOf(port: MessagePort, flag: Int32Array): ReadLink {
  return (call) => {
    const seen = Atomics.load(flag, 0);
    port.postMessage(call);
    for (;;) {
      const m = receiveMessageOnPort(port);
      if (m) return m.message as ReadReply;
      Atomics.wait(flag, 0, seen);
    }
  };
}

/** The calls the caller answers before it hands a scenario out (every scenario starts with them), keyed by preloadKey. */
export type Preloaded = Map<string, ReadReply>;
const preloadKey = (c: ReadCall): string | undefined =>
  c.op === 'forScenario' ? `f\u0000${c.h}\u0000${c.file}` : c.op === 'read' && !c.at ? `r\u0000${c.h}\u0000${c.path}` : undefined;

/**
 * What prepareScenario asks first — forScenario(file), then read(file) of
 * that reader — answered by the caller as it hands the scenario out, so that
 * a worker waits on the caller only for the manifests.
 */
export function preload(host: ReaderHost, job: number, file: string): Preloaded {
  const out: Preloaded = new Map();
  const box: ReadCall = { job, h: 0, op: 'forScenario', file };
  const made = host.answer(box);
  out.set(preloadKey(box) as string, made);
  if ('thrown' in made) return out;
  const read: ReadCall = { job, h: made.value as number, op: 'read', path: file };
  out.set(preloadKey(read) as string, host.answer(read));
  return out;
}

/**
 * The worker's SourceReader for one scenario: every call goes to the caller's
 * reader (ReaderHost), with its issues and budget; the preloaded answers are
 * used first, each once.
 */
export class ProxySource implements SourceReader {
  constructor(private readonly link: ReadLink, private readonly job: number, private readonly preloaded: Preloaded = new Map(), private readonly h = 0) {}

  private call(c: ReadCall, issues?: IssueList): { value: unknown; used?: number } {
    const key = preloadKey(c);
    const early = key === undefined ? undefined : this.preloaded.get(key);
    if (key !== undefined) this.preloaded.delete(key);
    const r = early ?? this.link(c);
    if ('thrown' in r) throw new Error(`reading for a worker failed: ${r.thrown}`);
    for (const i of r.issues ?? []) issues?.add(i);
    return r;
  }

  read(p: string, issues: IssueList, at?: Location): SourceFile | null {
    return this.call({ job: this.job, h: this.h, op: 'read', path: p, ...(at ? { at } : {}) }, issues).value as SourceFile | null;
  }

  manifests(p: string, issues: IssueList, at?: Location, budget?: ByteBudget): SourceFile[] {
    const r = this.call({ job: this.job, h: this.h, op: 'manifests', path: p, ...(at ? { at } : {}), ...(budget ? { budget: { used: budget.used, limit: budget.limit } } : {}) }, issues);
    if (budget && typeof r.used === 'number') budget.used = r.used;
    return r.value as SourceFile[];
  }

  forScenario(file: string): SourceReader {
    return new ProxySource(this.link, this.job, this.preloaded, this.call({ job: this.job, h: this.h, op: 'forScenario', file }).value as number);
  }

  resolve(file: string, rel: string): string {
    return this.call({ job: this.job, h: this.h, op: 'resolve', file, rel }).value as string;
  }
}

// ------------------------------------------------------------- the pool

interface Job { index: number; file: string; run: boolean; seed?: number; maxEvents?: number; preloaded: [string, ReadReply][] }
/** A worker's answer for one scenario: how it prepared, its warnings, and its run when it ran. */
interface Answer extends FilePrepared {
  index: number;
  /** what the worker's own reader recorded while it prepared this scenario (the caller's reader absorbs it) */
  recorded?: unknown;
  warnings: string[];
  result?: RunResult;
  limit?: { message: string; loc?: Location | undefined; hint: string };
  crash?: string;
}

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

/** Fewer scenarios than this run serially even with --workers: a worker's start would cost more than it saves. */
export const MIN_FILES_FOR_WORKERS = 4;

/** For tests: who runs what. */
export interface PoolOptions {
  /** false: the caller's thread takes no scenario (every one goes to a worker); true by default */
  callerRuns?: boolean;
  /** filled with who took each scenario, by file index: 0 the caller's thread, i ≥ 1 the i-th worker */
  placed?: number[];
}

/**
 * Prepares and runs `files` on the caller's thread and `workers` − 1 worker
 * threads; the same answer as a serial runFiles, in the same order.
 */
export async function runFilesInWorkers(files: readonly string[], reader: SourceReader, opts: RunFilesOptions & { workers: number }, how: PoolOptions = {}): Promise<RunFilesResult> {
  const issues = new IssueList();
  if (files.length === 0) return { results: [], issues, warnings: [] };
  const callerRuns = how.callerRuns ?? true;
  const threads = poolThreads(opts.workers, files.length, callerRuns);
  const answers = await pool(files, reader, opts, threads, callerRuns, how.placed ?? []);
  // A file that threw while it was prepared throws, as it would have before a serial run ran anything.
  for (const [i, a] of answers.entries()) if (a.crash !== undefined && !a.named) throw new Error(`a worker failed on ${files[i] ?? 'a scenario'}: ${a.crash}`);
  const ok = joinPrepared(answers, issues);
  if (issues.hasErrors()) return { results: [], issues, warnings: [] };
  const warnings = new Set<string>();
  const results: RunResult[] = [];
  for (const [i, a] of answers.entries()) {
    if (!ok[i]) continue;
    for (const w of a.warnings) warnings.add(w);
    if (a.crash !== undefined) throw new Error(`a worker failed on ${files[i] ?? 'a scenario'}: ${a.crash}`);
    if (a.result) results.push(a.result);
    else if (a.limit) issues.error('scenario-too-much-work', a.limit.message, a.limit.loc, a.limit.hint);
    else throw new Error(`a worker did not run ${files[i] ?? 'a scenario'}`);
  }
  return { results, issues, warnings: [...warnings] };
}

/** What makes a serial run run nothing: an error among a file's issues. */
const hasError = (a: FilePrepared): boolean => a.before.some((i) => i.severity === 'error') || a.after.some((i) => i.severity === 'error');

/** `n` threads: the caller's (unless !callerRuns) and n − 1 workers (n when !callerRuns). */
async function pool(files: readonly string[], reader: SourceReader, opts: RunFilesOptions, n: number, callerRuns: boolean, placed: number[]): Promise<Answer[]> {
  const answers = new Array<Answer>(files.length);
  let next = 0;
  let done = 0;
  // Once a file is bad nothing of the run is kept (a serial run runs nothing): the rest are only prepared, for their errors.
  let bad = false;
  const workers: Worker[] = [];
  const ports: MessagePort[] = [];
  const jobOf = (index: number, preloaded: [string, ReadReply][]): Job => ({ index, file: files[index] as string, run: !bad, preloaded,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.maxEvents !== undefined ? { maxEvents: opts.maxEvents } : {}) });
  try {
    await new Promise<void>((resolve, reject) => {
      let over = false;
      const fail = (e: unknown): void => { if (!over) { over = true; reject(e); } };
      const took = (a: Answer): void => {
        answers[a.index] = a;
        if (a.crash !== undefined || hasError(a)) bad = true;
        done++;
        if (done === files.length && !over) { over = true; resolve(); }
      };
      const host = new ReaderHost(reader);
      // Workers that made a reader of their own (SourceReader.portable) read their files themselves: nothing preloaded.
      const portable = reader.portable?.() ?? null;
      const local = new Set<Worker>();
      // A worker holds its next scenario while it runs one (no wait on this thread between two), except
      // near the end, where one at a time keeps a worker from holding work another could start.
      const held = new Map<Worker, number>();
      const feed = (w: Worker, id: number): void => {
        while (!over && next < files.length && (held.get(w) ?? 0) < (files.length - next >= 2 * n ? 2 : 1)) {
          const index = next++;
          placed[index] = id;
          held.set(w, (held.get(w) ?? 0) + 1);
          w.postMessage(jobOf(index, local.has(w) ? [] : [...preload(host, index, files[index] as string)]));
        }
      };
      // N-1 workers; each is fed once it has loaded (it says so), so one slow to start holds no work back.
      for (let i = 0; i < (callerRuns ? n - 1 : n); i++) {
        const { port1, port2 } = new MessageChannel();
        const flag = new Int32Array(new SharedArrayBuffer(4));
        serveReads(host, port1, flag);
        ports.push(port1);
        const boot = workerBoot();
        const w = new Worker(boot.code, { eval: true, workerData: { ...boot.data, [MARK]: true, port: port2, flag, ...(portable ? { reader: portable } : {}) }, transferList: [port2] });
        workers.push(w);
        w.on('message', (a: Answer) => {
          if (a.index === READY) { if ((a as Answer & { local?: boolean }).local === true) local.add(w); feed(w, i + 1); return; }
          if (a.index < 0) { fail(new Error(`a worker could not start: ${a.crash ?? ''}`)); return; }
          host.forget(a.index);
          if (a.recorded !== undefined) reader.absorb?.(a.recorded);
          held.set(w, (held.get(w) ?? 1) - 1);
          took(a);
          feed(w, i + 1);
        });
        w.on('error', fail);
        w.on('exit', (code) => { if (done < files.length) fail(new Error(`a worker exited (code ${code}) before the run finished`)); });
      }
      // The caller's thread (warm already) takes scenarios from the same queue, one at a time, reading through
      // the run's reader itself; between two it yields, so that the workers' reads and answers are handled.
      void (async () => {
        while (callerRuns && !over && next < files.length) {
          const index = next++;
          placed[index] = 0;
          took(await serve(jobOf(index, []), reader));
          await new Promise<void>((r) => setImmediate(r));
        }
      })().catch(fail);
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    for (const p of ports) p.close();
  }
  return answers;
}

// ------------------------------------------------------------- the worker

/** The worker's side: prepare the scenario it is sent (reading through the caller), and run it when asked to. */
async function serve(job: Job, reader: SourceReader): Promise<Answer> {
  let part: ReturnType<typeof prepareFile>;
  try {
    part = prepareFile(job.file, reader);
  } catch (e) {
    return { index: job.index, before: [], after: [], bound: false, warnings: [], crash: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  const { prepared, ...prep } = part;
  const answer: Answer = { index: job.index, ...prep, warnings: prepared?.warnings ?? [] };
  if (!job.run || !prepared || !answer.bound || hasError(answer)) return answer;
  try {
    const opts: RunFilesOptions = { ...(job.seed !== undefined ? { seed: job.seed } : {}), ...(job.maxEvents !== undefined ? { maxEvents: job.maxEvents } : {}) };
    answer.result = await runPrepared(prepared, opts);
  } catch (e) {
    if (e instanceof SimulationLimitError) answer.limit = { message: e.message, loc: e.loc, hint: e.hint };
    else answer.crash = e instanceof Error ? (e.stack ?? e.message) : String(e);
  }
  return answer;
}

if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[MARK] === true) {
  const port = parentPort;
  const data = workerData as { port: MessagePort; flag: Int32Array; reader?: PortableReader };
  const link = linkOf(data.port, data.flag);
  void (async () => {
    // The caller's reader made again here when it can be (its module imported first, so that its maker is
    // registered in this thread): the worker then reads its own files and hands back what its reader recorded.
    let own: SourceReader | null = null;
    // First let the code that loaded this module finish loading (the CommonJS bundle registers the reader's
    // maker as it initialises the modules after this one).
    await new Promise<void>((r) => setImmediate(r));
    if (data.reader) {
      try {
        if (data.reader.module !== undefined) await import(data.reader.module);
        own = makeReader(data.reader);
      } catch {
        own = null; // read through the caller instead: slower, the same answers
      }
    }
    // One scenario at a time, in the order they come.
    let chain = Promise.resolve();
    port.on('message', (job: Job) => {
      chain = chain.then(() => serve(job, own ?? new ProxySource(link, job.index, new Map(job.preloaded)))).then((a) => {
        if (own?.recorded) a.recorded = own.recorded();
        port.postMessage(a);
      });
    });
    port.postMessage({ index: READY, local: own !== null });
  })();
}
