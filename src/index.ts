/**
 * meshrange as a library: `import { runScenario, loadMesh, decide, renderJson } from 'meshrange'`.
 * Every function is typed (dist/index.d.ts) and goes through the application
 * layer (src/api); bad input throws MeshrangeError with located issues.
 *
 * Files are read through a reader: by default `fileReader()` — the file system
 * behind the same path sandbox as the CLI (the working directory, the
 * scenario's own folder, and any `allowPaths`) — or `memoryReader({...})`.
 */
import { decide as decideApi, loadMesh as loadMeshApi, runScenario as runScenarioApi, runScenarios as runScenariosApi,
  type LoadedMesh, type ScenarioRuns } from './api/library.js';
import type { MeshInput } from './api/mesh.js';
import { MemorySource } from './api/memory-source.js';
import type { DecideInput, RequestSpec } from './api/request.js';
import type { SourceReader } from './api/source.js';
import { FsSource, Sandbox } from './cli/fs.js';
import type { Mesh } from './model/types.js';
import type { Decision } from './policy/decide.js';
import type { RunResult } from './scenario/types.js';

export { MeshrangeError, type LoadedMesh, type ScenarioRuns } from './api/library.js';
export type { MeshInput } from './api/mesh.js';
export type { ManifestPath } from './api/prepare.js';
export type { DecideInput, RequestSpec } from './api/request.js';
export { decisionJson } from './api/request.js';
export type { SourceReader } from './api/source.js';
export type { Issue, Location, Severity } from './core/issues.js';
export { formatIssue } from './core/issues.js';
export { MESHRANGE_VERSION } from './core/version.js';
export type { Mesh, Workload, Service } from './model/types.js';
export type { Decision, MeshRequest, StoppedBy, ControlKind, Protocol, TlsIntent, Capability } from './policy/decide.js';
export type { RunResult, StepResult, TrafficResult, Outcome } from './scenario/types.js';
export { renderHtml } from './report/html.js';
export { renderJson } from './report/json.js';
export { renderJunit } from './report/junit.js';
export { renderMarkdown } from './report/markdown.js';
export { renderSarif } from './report/sarif.js';
export { renderText } from './report/text.js';
export { scenarioJsonSchema } from './scenario/schema.js';

// Pre-change risk and posture: multi-hop reach from footholds, the before/after comparison, posture lint.
export { blastRadius, type BlastRadius, type BlastRadiusOptions, type BlastRadiusResult, type BlastFoothold, type BlastEdge } from './analysis/blast-radius.js';
export { assess, assessMeshes, assessManifests, type AssessInput, type AssessReport, type AssessResult, type AssessSide, type AssessPath, type Risk } from './assess/assess.js';
export { compareOutcomes, stepRecords, trafficRecords, type OutcomeComparison, type StepChange, type StepRecord, type TrafficRecord } from './assess/compare.js';
export { lint, RULES, type Finding, type LintOptions, type LintResult, type LintSeverity } from './lint/index.js';

export interface FileReaderOptions {
  /** folders files may also be read from, besides the working directory (as `--allow-path`) */
  allowPaths?: readonly string[];
}

/** The file system behind the CLI's path sandbox: the working directory, each scenario's own folder, and `allowPaths`. */
export function fileReader(opts: FileReaderOptions = {}): SourceReader {
  return new FsSource(Sandbox.forCwd([...(opts.allowPaths ?? [])]));
}

/** Files held in memory, by POSIX path: a folder is every *.yaml / *.yml below it. */
export function memoryReader(files: ReadonlyMap<string, string> | Readonly<Record<string, string>>): SourceReader {
  return new MemorySource(files);
}

export interface RunScenarioOptions {
  /** override the scenario's seed */
  seed?: number;
  /** the simulation's event budget per scenario */
  maxEvents?: number;
  /** default fileReader() */
  reader?: SourceReader;
  /** runScenarios: threads, the caller's and workers − 1 worker threads (reports identical to a serial run); default 1; fewer than 4 files run serially */
  workers?: number;
}

/** Runs one scenario file: its report, as `meshrange run --format json` would render it with renderJson([result]). */
export function runScenario(file: string, opts: RunScenarioOptions = {}): Promise<RunResult> {
  return runScenarioApi(file, { ...opts, reader: opts.reader ?? fileReader() });
}

/** Runs scenario files, in order; all are checked before any runs (one bad file: MeshrangeError, nothing run). */
export function runScenarios(files: readonly string[], opts: RunScenarioOptions = {}): Promise<ScenarioRuns> {
  return runScenariosApi(files, { ...opts, reader: opts.reader ?? fileReader() });
}

/** Loads Kubernetes + Istio manifests into the mesh model `decide` takes. */
export function loadMesh(input: MeshInput, opts: { reader?: SourceReader } = {}): LoadedMesh {
  // The paths the caller named may be read, as `meshrange request --mesh` reads them.
  const named = input.manifests.map((m) => (typeof m === 'string' ? m : m.path));
  return loadMeshApi(input, { reader: opts.reader ?? fileReader({ allowPaths: named }) });
}

/** One request against a loaded mesh, decided as Istio's sidecars would; tokens are checked at `now` (required). */
export function decide(mesh: Mesh, request: RequestSpec, input: DecideInput): Promise<Decision> {
  return decideApi(mesh, request, input);
}
