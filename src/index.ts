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
import { blastRadius as blastRadiusApi, type BlastRadiusOptions, type BlastRadiusResult } from './analysis/blast-radius.js';
import { assess as assessApi, assessMeshes as assessMeshesApi, type AssessInput, type AssessResult } from './assess/assess.js';
import { lint as lintApi, RULES, type LintOptions, type LintResult } from './lint/index.js';
import { renderHtml as renderHtmlApi } from './report/html.js';
import { renderJson as renderJsonApi } from './report/json.js';
import { renderJunit as renderJunitApi } from './report/junit.js';
import { renderMarkdown as renderMarkdownApi } from './report/markdown.js';
import { renderSarif as renderSarifApi } from './report/sarif.js';
import { renderText as renderTextApi } from './report/text.js';
import { MAX_MANIFEST_ENTRIES } from './scenario/schema.js';
import { assessManifests as assessManifestsApi } from './assess/assess.js';
import { compareOutcomes as compareOutcomesApi, stepRecords as stepRecordsApi, trafficRecords as trafficRecordsApi, type OutcomeComparison, type StepRecord, type TrafficRecord } from './assess/compare.js';
import { decisionJson as decisionJsonApi } from './api/request.js';
import { formatIssue as formatIssueApi, type Issue } from './core/issues.js';
import type { SourceFile } from './loader/load.js';
import { checkDecision } from './api/shape.js';
import { knownKeys, listArg, MAX_MEMORY_FILES, MAX_RECORDS, stringArg, wholeNumber, MAX_SCENARIO_FILES, memoryFilesArg, meshArg, meshInputArg, objectArg, optionsArg, pathArg, readerOption,
  requestArg, resultsArg, runOptions } from './api/guard.js';
import { SimulationLimitError } from './core/limits.js';
import { MeshrangeError } from './api/library.js';

export { MeshrangeError, type LoadedMesh, type ScenarioRuns } from './api/library.js';
export type { MeshInput } from './api/mesh.js';
export type { ManifestPath } from './api/prepare.js';
export type { DecideInput, RequestSpec } from './api/request.js';

export type { SourceReader } from './api/source.js';
export type { Issue, Location, Severity } from './core/issues.js';

export { MESHRANGE_VERSION } from './core/version.js';
export type { Mesh, Workload, Service } from './model/types.js';
export type { Decision, MeshRequest, StoppedBy, ControlKind, Protocol, TlsIntent, Capability } from './policy/decide.js';
export type { RunResult, StepResult, TrafficResult, Outcome } from './scenario/types.js';
export { scenarioJsonSchema } from './scenario/schema.js';

// Pre-change risk and posture: multi-hop reach from footholds, the before/after comparison, posture lint.
export type { BlastRadius, BlastRadiusOptions, BlastRadiusResult, BlastFoothold, BlastEdge } from './analysis/blast-radius.js';
export type { AssessFinding, AssessInput, AssessReport, AssessResult, AssessSide, AssessPath, Risk } from './assess/assess.js';
export type { OutcomeComparison, StepChange, StepRecord, TrafficRecord } from './assess/compare.js';
export { RULES, type Finding, type LintOptions, type LintResult, type LintSeverity } from './lint/index.js';

export interface FileReaderOptions {
  /** folders files may also be read from, besides the working directory (as `--allow-path`) */
  allowPaths?: readonly string[];
}

/** The file system behind the CLI's path sandbox: the working directory, each scenario's own folder, and `allowPaths`. */
export function fileReader(opts: FileReaderOptions = {}): SourceReader {
  const o = optionsArg(opts, 'options', ['allowPaths']);
  const allow = o['allowPaths'] === undefined ? [] : listArg(o['allowPaths'], 'options.allowPaths', 0, MAX_MANIFEST_ENTRIES, 'folders')
    .map((p, i) => pathArg(p, `options.allowPaths[${i}]`));
  return new FsSource(Sandbox.forCwd(allow));
}

/** Files held in memory, by POSIX path: a folder is every *.yaml / *.yml below it. */
export function memoryReader(files: ReadonlyMap<string, string> | Readonly<Record<string, string>>): SourceReader {
  memoryFilesArg(files);
  return new MemorySource(files);
}

export interface RunScenarioOptions {
  /** override the scenario's seed */
  seed?: number;
  /** the simulation's event budget per scenario */
  maxEvents?: number;
  /** default fileReader() */
  reader?: SourceReader;
  /**
   * runScenarios: threads, the caller's and workers − 1 worker threads (reports identical to a serial run); default 1;
   * fewer than 4 files run serially. More than 4 per core of this machine (`run --workers`' bound) is clamped to that, not refused.
   */
  workers?: number;
}

/** Runs one scenario file: its report, as `meshrange run --format json` would render it with renderJson([result]). */
export async function runScenario(file: string, opts: RunScenarioOptions = {}): Promise<RunResult> {
  pathArg(file, 'file');
  runOptions(opts);
  return runScenarioApi(file, { ...opts, reader: opts.reader ?? fileReader() });
}

/** Runs scenario files, in order; all are checked before any runs (one bad file: MeshrangeError, nothing run). */
export async function runScenarios(files: readonly string[], opts: RunScenarioOptions = {}): Promise<ScenarioRuns> {
  listArg(files, 'files', 0, MAX_SCENARIO_FILES, 'scenario files').forEach((f, i) => pathArg(f, `files[${i}]`));
  runOptions(opts);
  return runScenariosApi(files, { ...opts, reader: opts.reader ?? fileReader() });
}

/** Loads Kubernetes + Istio manifests into the mesh model `decide` takes. */
export function loadMesh(input: MeshInput, opts: { reader?: SourceReader } = {}): LoadedMesh {
  meshInputArg(input);
  readerOption(optionsArg(opts, 'options', ['reader'])['reader'], 'options.reader');
  // The paths the caller named may be read, as `meshrange request --mesh` reads them.
  const named = input.manifests.map((m) => (typeof m === 'string' ? m : m.path));
  return loadMeshApi(input, { reader: opts.reader ?? fileReader({ allowPaths: named }) });
}

/**
 * A bound the input made the engine meet (a regex rewrite too costly to simulate: core/limits.ts) is bad input:
 * thrown as MeshrangeError with the located issue, as every other bad input is.
 */
function limitsAsErrors<T>(run: () => T): T {
  const asError = (e: unknown): never => {
    if (e instanceof SimulationLimitError) throw new MeshrangeError([{ severity: 'error', code: 'too-much-work', message: e.message, ...(e.loc ? { loc: e.loc } : {}), hint: e.hint }]);
    throw e;
  };
  try {
    const out = run();
    return (out instanceof Promise ? out.catch(asError) : out) as T;
  } catch (e) {
    return asError(e);
  }
}

/** One request against a loaded mesh, decided as Istio's sidecars would; tokens are checked at `now` (required). */
export async function decide(mesh: Mesh, request: RequestSpec, input: DecideInput): Promise<Decision> {
  meshArg(mesh, 'mesh');
  requestArg(request);
  knownKeys(objectArg(input, 'input', 'pass { now: new Date() } (tokens are checked at that instant)'), 'input', ['now', 'jwks']);
  return limitsAsErrors(() => decideApi(mesh, request, input));
}

/** How far an attacker moves from each foothold (README "Blast radius"); a bad option is a result with ok: false. */
export function blastRadius(mesh: Mesh, opts: BlastRadiusOptions = {}): BlastRadiusResult {
  meshArg(mesh, 'mesh');
  const o = optionsArg(opts, 'options', ['from', 'exploit', 'depth', 'crown', 'decide', 'maxWork', 'maxGraphDecisions', 'maxGraphEdges', 'maxReached', 'maxSearchWork']);
  for (const k of ['from', 'crown'] as const) {
    if (o[k] !== undefined) listArg(o[k], `options.${k}`, 0, MAX_MEMORY_FILES, 'workloads').forEach((x, i) => stringArg(x, `options.${k}[${i}]`, 'name a workload as ns/name'));
  }
  if (o['exploit'] !== undefined && o['exploit'] !== 'all') listArg(o['exploit'], 'options.exploit', 0, MAX_MEMORY_FILES, 'workloads').forEach((x, i) => stringArg(x, `options.exploit[${i}]`, 'name a workload as ns/name'));
  // the work bounds a caller may lower (or raise, within reason): whole numbers, never Infinity or NaN
  for (const k of ['maxWork', 'maxGraphDecisions', 'maxGraphEdges', 'maxReached', 'maxSearchWork'] as const) wholeNumber(o[k], `options.${k}`, 1, 1e12, 'leave it out for the default bound');
  return limitsAsErrors(() => blastRadiusApi(mesh, opts));
}

/** Paths newly reachable and no longer reachable between two meshes. */
export function assessMeshes(before: Mesh, after: Mesh): ReturnType<typeof assessMeshesApi> {
  meshArg(before, 'before');
  meshArg(after, 'after');
  return limitsAsErrors(() => assessMeshesApi(before, after));
}

/** `meshrange assess` as a function: the two sides and the scenarios run on both. */
export async function assess(input: AssessInput): Promise<AssessResult> {
  const i = objectArg(input, 'input', 'pass { before, after, scenarios, scenarioReader }');
  knownKeys(i, 'input', ['before', 'after', 'scenarios', 'scenarioReader', 'seed']);
  for (const side of ['before', 'after'] as const) {
    const sd = objectArg(i[side], `input.${side}`, 'pass { label, reader, mesh, replaceScenarioManifests }');
    knownKeys(sd, `input.${side}`, ['label', 'reader', 'mesh', 'replaceScenarioManifests']);
    readerOption(sd['reader'], `input.${side}.reader`, true);
    listArg(sd['mesh'], `input.${side}.mesh`, 0, MAX_MANIFEST_ENTRIES, 'manifest paths').forEach((p, k) => pathArg(p, `input.${side}.mesh[${k}]`));
  }
  listArg(i['scenarios'], 'input.scenarios', 0, MAX_SCENARIO_FILES, 'scenario files').forEach((f, k) => pathArg(f, `input.scenarios[${k}]`));
  readerOption(i['scenarioReader'], 'input.scenarioReader', true);
  runOptions({ seed: i['seed'] });
  return limitsAsErrors(() => assessApi(input));
}

/** Posture findings of a mesh (MR0101…). */
export function lint(mesh: Mesh, opts: LintOptions = {}): LintResult {
  meshArg(mesh, 'mesh');
  const o = optionsArg(opts, 'options', ['only']);
  if (o['only'] !== undefined) listArg(o['only'], 'options.only', 0, RULES.length, 'rule codes').forEach((c, i) => stringArg(c, `options.only[${i}]`, 'name rule codes like MR0101'));
  return limitsAsErrors(() => lintApi(mesh, opts));
}

/** Reports, as the CLI writes them (product.md §3, docs/report-format.md). */
export function renderJson(results: readonly RunResult[]): string { resultsArg(results); return renderJsonApi(results); }
export function renderText(results: readonly RunResult[]): string { resultsArg(results); return renderTextApi(results); }
export function renderJunit(results: readonly RunResult[]): string { resultsArg(results); return renderJunitApi(results); }
export function renderMarkdown(results: readonly RunResult[]): string { resultsArg(results); return renderMarkdownApi(results); }
export function renderSarif(results: readonly RunResult[]): string { resultsArg(results); return renderSarifApi(results); }
export function renderHtml(results: readonly RunResult[]): string { resultsArg(results); return renderHtmlApi(results); }

/** The reach of two sets of manifest texts compared (what `assess` does for two folders, without scenarios). */
export function assessManifests(before: readonly SourceFile[], after: readonly SourceFile[]): ReturnType<typeof assessManifestsApi> {
  for (const [name, list] of [['before', before], ['after', after]] as const) {
    listArg(list, name, 0, MAX_MEMORY_FILES, 'manifest files').forEach((f, i) => {
      const o = objectArg(f, `${name}[${i}]`, 'pass { path, text } for each file');
      stringArg(o['path'], `${name}[${i}].path`, 'pass { path, text } for each file');
      stringArg(o['text'], `${name}[${i}].text`, 'pass { path, text } for each file');
    });
  }
  return limitsAsErrors(() => assessManifestsApi(before, after));
}

/** Each step's outcome in a set of run results, for compareOutcomes. */
export function stepRecords(runs: readonly RunResult[]): StepRecord[] { resultsArg(runs); return stepRecordsApi(runs); }
/** Each legitimate flow's outcome in a set of run results, for compareOutcomes. */
export function trafficRecords(runs: readonly RunResult[]): TrafficRecord[] { resultsArg(runs); return trafficRecordsApi(runs); }

/** Two sides' step and flow records compared: regressions, improvements, broken legitimate traffic. */
export function compareOutcomes(before: Parameters<typeof compareOutcomesApi>[0], after: Parameters<typeof compareOutcomesApi>[1], opts: Parameters<typeof compareOutcomesApi>[2] = {}): OutcomeComparison {
  for (const [name, side] of [['before', before], ['after', after]] as const) {
    const o = objectArg(side, name, 'pass { steps: stepRecords(results), traffic: trafficRecords(results) }');
    listArg(o['steps'], `${name}.steps`, 0, MAX_RECORDS, 'step records');
    listArg(o['traffic'], `${name}.traffic`, 0, MAX_RECORDS, 'flow records');
  }
  optionsArg(opts, 'options', ['trafficTolerance']);
  return compareOutcomesApi(before, after, opts);
}

/** A decision as `meshrange request --format json` prints it. */
export function decisionJson(d: Decision): Record<string, unknown> {
  objectArg(d, 'decision', 'pass the decision decide returned');
  checkDecision(d, 'decision');
  return decisionJsonApi(d);
}

/** An issue as the CLI prints it: `file:line:col: severity [code] message`, then its fix. */
export function formatIssue(issue: Issue): string {
  const o = objectArg(issue, 'issue', 'pass an issue of MeshrangeError.issues');
  stringArg(o['code'], 'issue.code', 'pass an issue of MeshrangeError.issues');
  stringArg(o['message'], 'issue.message', 'pass an issue of MeshrangeError.issues');
  return formatIssueApi(issue);
}
