/**
 * Running scenarios: prepare each (through the reader), bind its references,
 * run it. Every error of every file is collected before anything runs, so a
 * suite with one bad file runs nothing (exit 2) rather than half of it.
 */
import { IssueList, type Issue, type Location } from '../core/issues.js';
import { bindScenario, runScenario } from '../scenario/runner.js';
import { ScenarioLimitError, type ProgressHook, type SimProgress } from '../scenario/simulate.js';
import type { RunResult } from '../scenario/types.js';
import type { JwtRule } from '../model/request-authentication.js';
import type { Mesh } from '../model/types.js';
import { prepareScenario, warningText, type PreparedScenario } from './prepare.js';
import type { SourceReader } from './source.js';
import { MIN_FILES_FOR_WORKERS, runFilesInWorkers } from './workers.js';
import { SimulationLimitError } from '../core/limits.js';

export interface RunFilesOptions {
  seed?: number;
  /** the kernel's event budget per run (simulate.ts MAX_KERNEL_EVENTS by default) */
  maxEvents?: number;
  /** threads to run the scenarios on, the caller's among them (workers.ts): reports identical to a serial run; 1, absent or fewer than 4 files: serial */
  workers?: number;
  /** told how far each scenario has got: which of how many, and its simulation's progress (no wall time) */
  progress?: (p: RunProgress) => void;
}

export interface RunProgress extends SimProgress {
  scenario: string;
  /** 1-based position of the scenario in the run, of `total` */
  index: number;
  total: number;
}

export interface RunFilesResult {
  results: RunResult[];
  issues: IssueList;
  /** loader warnings, each once */
  warnings: string[];
}

/**
 * One scenario file prepared and bound on its own: what prepareAll needs of it
 * to put a suite together (workers.ts prepares files apart, on worker threads,
 * and joins them on the caller's).
 */
export interface FilePrepared {
  /** prepareScenario's issues */
  before: Issue[];
  /** the scenario's name, its file and where the name is written; absent when the file did not prepare */
  named?: { name: string; file: string; at: Location };
  /** bindScenario's issues */
  after: Issue[];
  /** bound without error */
  bound: boolean;
}

/**
 * `signersFor`: the jwtRules that sign a scenario's trusted tokens, by scenario name, when its mesh is not its own
 * (assess's after side signs with the before side's rules, then its own); undefined: the mesh's own.
 */
export function prepareFile(file: string, reader: SourceReader, signersFor?: (name: string, mesh: Mesh) => readonly JwtRule[] | undefined): FilePrepared & { prepared: PreparedScenario | null } {
  const before = new IssueList();
  const prepared = prepareScenario(file, reader, before);
  if (!prepared) return { before: before.items, after: [], bound: false, prepared: null };
  const { scenario, mesh } = prepared;
  const signers = signersFor?.(scenario.doc.metadata.name, mesh);
  if (signers !== undefined) prepared.signers = signers;
  const after = new IssueList();
  const bound = bindScenario(scenario, mesh, after, prepared.jwks, prepared.signers);
  // the scenario's own warnings (a host that is no Service of the mesh, ...) go in its report with the loader's
  for (const w of after.warnings) prepared.warnings.push(warningText(w));
  return { before: before.items, named: { name: scenario.doc.metadata.name, file: scenario.file, at: scenario.src.locate(['metadata', 'name']) },
    after: after.items, bound, prepared };
}

/**
 * Puts the files of a suite together, in order, into `issues` (each file's
 * issues, a name used twice); true for the files that are to run.
 */
export function joinPrepared(parts: readonly FilePrepared[], issues: IssueList): boolean[] {
  const names = new Map<string, string>();
  return parts.map((p) => {
    for (const i of p.before) issues.add(i);
    if (!p.named) return false;
    const prev = names.get(p.named.name);
    if (prev) {
      issues.error('scenario-name-duplicate', `scenario name "${p.named.name}" is also used by ${prev}`, p.named.at, 'give every scenario of a suite a unique metadata.name');
    }
    names.set(p.named.name, p.named.file);
    for (const i of p.after) issues.add(i);
    return p.bound;
  });
}

/** Prepares and binds every scenario file; failed ones are left out (their issues are in `issues`). */
export function prepareAll(files: readonly string[], reader: SourceReader, issues: IssueList,
  signersFor?: (name: string, mesh: Mesh) => readonly JwtRule[] | undefined): PreparedScenario[] {
  const parts = files.map((f) => prepareFile(f, reader, signersFor));
  const ok = joinPrepared(parts, issues);
  return parts.flatMap((p, i) => (ok[i] && p.prepared ? [p.prepared] : []));
}

export async function runPrepared(p: PreparedScenario, opts: RunFilesOptions = {}, progress?: ProgressHook): Promise<RunResult> {
  return runScenario(p.scenario, p.mesh, { warnings: p.warnings, jwks: p.jwks, ...(p.signers !== undefined ? { signers: p.signers } : {}), ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.maxEvents !== undefined ? { maxEvents: opts.maxEvents } : {}), ...(progress ? { progress } : {}) });
}

export async function runFiles(files: readonly string[], reader: SourceReader, opts: RunFilesOptions = {}): Promise<RunFilesResult> {
  if (opts.workers !== undefined && opts.workers > 1 && files.length >= MIN_FILES_FOR_WORKERS) return runFilesInWorkers(files, reader, { ...opts, workers: opts.workers });
  const issues = new IssueList();
  const prepared = prepareAll(files, reader, issues);
  const warnings = new Set<string>();
  const results: RunResult[] = [];
  if (issues.hasErrors()) return { results, issues, warnings: [] };
  for (const [i, p] of prepared.entries()) {
    for (const w of p.warnings) warnings.add(w);
    const tell = opts.progress;
    const scenario = p.scenario.doc.metadata.name;
    const hook: ProgressHook | undefined = tell ? (x) => tell({ ...x, scenario, index: i + 1, total: prepared.length }) : undefined;
    try {
      results.push(await runPrepared(p, opts, hook));
    } catch (e) {
      // A bound met while running (the event budget) is bad input: exit 2 with its place, no report.
      if (!(e instanceof SimulationLimitError)) throw e;
      issues.error('scenario-too-much-work', e.message, e.loc, e.hint);
    }
  }
  return { results, issues, warnings: [...warnings] };
}
