/**
 * The library API (the package's `exports`, src/index.ts): typed functions
 * over the application layer. Bad input is thrown as a MeshrangeError holding
 * every located issue — the same issues the CLI prints before exit 2 — so a
 * caller never has to parse a message. Files are read through a SourceReader:
 * the file system (src/index.ts `fileReader`, the CLI's sandboxed reader) or
 * files in memory (`memoryReader`). Nothing here reads a clock: `decide`
 * takes the caller's `now`; scenarios carry their own simulated start time.
 */
import { formatIssue, IssueList, type Issue } from '../core/issues.js';
import type { Mesh } from '../model/types.js';
import type { Decision } from '../policy/decide.js';
import type { RunResult } from '../scenario/types.js';
import { loadMeshInput, type MeshInput } from './mesh.js';
import { buildRequest, decideRequest, type DecideInput, type RequestSpec } from './request.js';
import { runFiles } from './run.js';
import type { SourceReader } from './source.js';

/** Bad input (a scenario, a manifest, a request): every problem, located, as the CLI would print them with exit code 2. */
export class MeshrangeError extends Error {
  override readonly name = 'MeshrangeError';
  constructor(readonly issues: readonly Issue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    super(errors.length === 0 ? 'meshrange: bad input' : errors.map((i) => formatIssue(i)).join('\n'));
  }
}

function failIfErrors(issues: IssueList): void {
  if (issues.hasErrors()) throw new MeshrangeError(issues.items);
}

export interface ReaderOption {
  /** where files are read from */
  reader: SourceReader;
}

export interface RunOptions extends ReaderOption {
  /** override each scenario's seed */
  seed?: number;
  /** the simulation's event budget per scenario */
  maxEvents?: number;
  /** threads for several scenarios: the caller's and workers − 1 worker threads (reports identical to a serial run); default 1; fewer than 4 files run serially; at most maxWorkers() (4 per core), more is clamped */
  workers?: number;
}

export interface ScenarioRuns {
  /** one RunResult per scenario, in the order given; render with renderJson, renderText, ... */
  results: RunResult[];
  /** loader and bind-time warnings, each once */
  warnings: Issue[];
}

/** Runs scenario files; throws MeshrangeError (nothing run) when any of them is bad input, as `meshrange run` exits 2. */
export async function runScenarios(files: readonly string[], opts: RunOptions): Promise<ScenarioRuns> {
  const run = await runFiles(files, opts.reader, { ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.maxEvents !== undefined ? { maxEvents: opts.maxEvents } : {}),
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}) });
  failIfErrors(run.issues);
  const seen = new Map<string, Issue>();
  for (const w of run.issues.warnings) seen.set(formatIssue(w), w);
  return { results: run.results, warnings: [...seen.values()] };
}

/** Runs one scenario file. */
export async function runScenario(file: string, opts: RunOptions): Promise<RunResult> {
  const { results } = await runScenarios([file], opts);
  return results[0] as RunResult;
}

export interface LoadedMesh {
  mesh: Mesh;
  /** what meshrange read but does not model, and other warnings, located */
  warnings: Issue[];
}

/** Loads manifests (files or folders) into the mesh model; throws MeshrangeError on an error Istio or Kubernetes would reject. */
export function loadMesh(input: MeshInput, opts: ReaderOption): LoadedMesh {
  const { mesh, issues } = loadMeshInput(input, opts.reader);
  failIfErrors(issues);
  return { mesh: mesh as Mesh, warnings: issues.warnings };
}

/** One request against a loaded mesh: the verdict, the controls that stopped it, and the trace. `now` is required. */
export async function decide(mesh: Mesh, request: RequestSpec, input: DecideInput): Promise<Decision> {
  const issues = new IssueList();
  const nowMs = input.now instanceof Date ? input.now.getTime() : input.now;
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) issues.error('bad-request', 'now: expected a Date or milliseconds since the epoch', undefined, 'pass { now: new Date() } or a fixed instant for repeatable answers');
  const req = buildRequest(mesh, request, issues);
  failIfErrors(issues);
  return decideRequest(mesh, req as NonNullable<typeof req>, { ...input, now: nowMs });
}
