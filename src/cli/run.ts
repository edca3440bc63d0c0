/**
 * `meshrange run <paths...>` (product.md §4): the run pipeline, one function
 * (`runPipeline`) from the command line's paths and options to the reports and
 * the exit code, so that options such as `--workers` hook into one place.
 *
 * Order of work: options checked; scenario files found; with `--shard i/n`,
 * every file's scenario name read and only this shard's scenarios kept
 * (suite/shard.ts); with `--baseline FILE`, the saved report read and
 * validated — all before anything runs, so bad input is exit 2 with nothing
 * run and nothing written. Then the run, the comparison with the baseline,
 * the reports (all or none written), the exit code: 1 under `--check` when an
 * expectation failed or a step regressed against the baseline.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { escapeControls } from '../core/escape.js';
import { formatIssue, IssueList } from '../core/issues.js';
import { attachBaseline, readBaseline, type Baseline } from '../assess/baseline.js';
import { renderHtml } from '../report/html.js';
import { renderJson } from '../report/json.js';
import { renderJunit } from '../report/junit.js';
import { renderMarkdown } from '../report/markdown.js';
import { renderSarif } from '../report/sarif.js';
import { renderText } from '../report/text.js';
import { runFiles } from '../api/run.js';
import { maxWorkers, WORKERS_PER_CORE } from '../api/workers.js';

/** The largest seed, as spec.seed allows (scenario/schema.ts). */
const MAX_SEED = 2 ** 31 - 1;

/** --workers is bounded: at most WORKERS_PER_CORE per core of this machine. */
const MAX_WORKERS = maxWorkers();
import { looksLikeScenario, parseScenario } from '../scenario/load.js';
import type { RunResult } from '../scenario/types.js';
import { parseShard, shardOf, type ShardSpec } from '../suite/shard.js';
import { displayPath, FsSource, fsErrorText, kindOf, readSource, realOrAbsolute, reportPathProblem, Sandbox, scanYamlFolder, writeReports } from './fs.js';
import { collect, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, printIssues, type Io } from './main.js';
import { progressLine } from './progress.js';

/** Names a folder note lists before it counts the rest. */
const NOTE_NAMES = 12;
import { readReportFile } from './report-input.js';

export const RENDERERS: Readonly<Record<string, (r: readonly RunResult[]) => string>> = {
  text: renderText, json: renderJson, junit: renderJunit, markdown: renderMarkdown, sarif: renderSarif, html: renderHtml,
};

export function registerRun(program: Command, io: Io, setCode: (code: number) => void): void {
  program.command('run')
    .description('run scenarios (files, or folders searched for kind: Scenario)')
    .argument('<paths...>', 'scenario files or folders')
    .addOption(new Option('--format <format>', 'stdout format').choices(['text', 'json', 'junit', 'markdown', 'sarif']).default('text'))
    .option('--report <format=path>', 'also write a report (json, junit, markdown, sarif, html); repeatable', collect, [])
    .option('--check', 'exit 1 when an expectation fails, or a step regressed against --baseline')
    .option('--seed <n>', 'override every scenario\'s seed')
    .option('--baseline <file>', 'compare each step\'s outcome with a saved JSON report: regressions (blocked → allowed/partial) and improvements')
    .option('--shard <i/n>', 'run only shard i of n (a stable partition by scenario name); merge the shards\' reports with meshrange merge')
    .option('--allow-path <dir>', 'also let scenarios read files under this folder; repeatable', collect, [])
    .option('--quiet', 'no progress line on stderr (it is only shown when stderr is a terminal)')
    .option('--workers <n>', `run scenarios on N threads, this one and N-1 workers (1 to ${MAX_WORKERS}; under 4 files: serial); reports are the same as a serial run's`, '1')
    .action(async (paths: string[], opts: RunOpts) => {
      setCode(await runPipeline(paths, opts, io));
    });
}

interface ScenarioFiles {
  files: string[];
  /** real paths of every file looked at, so that no report overwrites one */
  inputs: Set<string>;
  /** what each folder held and what was left out, for stderr */
  notes: string[];
}

/**
 * Scenario files named on the command line: files as given, folders searched
 * for scenarios. Nothing is skipped quietly: a file that cannot be read or
 * parsed is an error, and the notes say what each folder held and why anything
 * was left out (issue 9 item 6).
 */
function scenarioFiles(paths: readonly string[], sandbox: Sandbox, issues: IssueList): ScenarioFiles {
  const out: ScenarioFiles = { files: [], inputs: new Set(), notes: [] };
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      const missing = (e as { code?: unknown }).code === 'ENOENT';
      issues.error(missing ? 'path-missing' : 'file-unreadable', missing ? `${displayPath(p)} does not exist` : `${displayPath(p)} cannot be read: ${fsErrorText(e)}`,
        undefined, 'name a scenario file or a folder of scenarios');
      continue;
    }
    if (st.isFile()) { out.files.push(p); out.inputs.add(realOrAbsolute(p)); continue; }
    if (!st.isDirectory()) {
      issues.error('not-a-file', `${displayPath(p)} is ${kindOf(st)}, not a scenario file or a folder of them`, undefined, 'name a scenario file or a folder of scenarios');
      continue;
    }
    const shown = displayPath(p);
    const scan = scanYamlFolder(p, new Sandbox([...sandbox.roots, realOrAbsolute(p)]));
    for (const x of scan.problems) issues.error(x.code, x.message, undefined, 'a scenario folder holds scenario files and their manifests; remove or fix this entry');
    const found: string[] = [];
    const notScenarios: string[] = [];
    for (const f of scan.files) {
      out.inputs.add(realOrAbsolute(f));
      const before = issues.errors.length;
      const src = readSource(f, issues);
      if (!src || issues.errors.length > before) continue;
      if (looksLikeScenario(src.text, src.path)) found.push(f);
      else notScenarios.push(f);
    }
    const relTo = (f: string): string => path.relative(p, f).split(path.sep).join('/');
    // File names are escaped: a name may hold a newline or a terminal control.
    // At most NOTE_NAMES names a line, then how many more: a folder of manifests is hundreds of names (~11 KB of
    // stderr for the shipped suite), and the count says that nothing was skipped silently.
    const names = (list: readonly string[]): string => {
      const shownNames = list.slice(0, NOTE_NAMES).map((f) => escapeControls(f)).join(', ');
      return list.length > NOTE_NAMES ? `${shownNames} and ${list.length - NOTE_NAMES} more` : shownNames;
    };
    if (found.length > 0) out.notes.push(`${shown}: ${found.length} scenario file${found.length === 1 ? '' : 's'}: ${names(found.map(relTo))}`);
    if (notScenarios.length > 0) out.notes.push(`${shown}: ignored, ${notScenarios.length} YAML file${notScenarios.length === 1 ? '' : 's'} without kind: Scenario: ${names(notScenarios.map(relTo))}`);
    const byWhy = new Map<string, string[]>();
    for (const g of scan.ignored) {
      const list = byWhy.get(g.why);
      if (list === undefined) byWhy.set(g.why, [relTo(g.path)]); else list.push(relTo(g.path));
    }
    for (const [why, list] of byWhy) out.notes.push(`${shown}: ignored, ${escapeControls(why)}: ${names(list)}`);
    if (found.length === 0 && scan.problems.length === 0) {
      issues.error('no-scenarios', `${shown} holds no scenario files (YAML with kind: Scenario)`, undefined, 'point at a scenario file or a folder that has some');
    }
    out.files.push(...found);
  }
  return out;
}

export interface RunOpts { format: string; report: string[]; check?: boolean; seed?: string; baseline?: string; shard?: string; allowPath: string[]; quiet?: boolean; workers?: string }

export async function runPipeline(paths: string[], opts: RunOpts, io: Io): Promise<number> {
  const issues = new IssueList();
  const reports: { format: string; path: string }[] = [];
  for (const r of opts.report) {
    const eq = r.indexOf('=');
    const format = eq > 0 ? r.slice(0, eq) : '';
    if (!Object.hasOwn(RENDERERS, format) || format === 'text' || eq === r.length - 1) {
      issues.error('bad-usage', `--report ${r}: expected FORMAT=PATH with FORMAT one of json, junit, markdown, sarif, html`, undefined, 'e.g. --report junit=reports/run.xml (JUnit is the XML format)');
      continue;
    }
    const problem = reportPathProblem(r.slice(eq + 1));
    if (problem) { issues.error('bad-report-path', `--report ${r}: ${problem}`, undefined, 'write reports to a file, e.g. --report json=reports/run.json'); continue; }
    const target = path.resolve(r.slice(eq + 1));
    const twice = reports.find((x) => path.resolve(x.path) === target);
    if (twice) { issues.error('bad-usage', `--report ${r}: ${twice.format} is already written to ${twice.path}`, undefined, 'give each report its own file'); continue; }
    reports.push({ format, path: r.slice(eq + 1) });
  }
  let seed: number | undefined;
  if (opts.seed !== undefined) {
    // As spec.seed: a whole number from 0 to 2^31 - 1, so the seed a report prints can be passed back as it is.
    if (!/^\d{1,10}$/.test(opts.seed) || Number(opts.seed) > MAX_SEED) issues.error('bad-usage', `--seed ${opts.seed}: expected a whole number from 0 to ${MAX_SEED}`, undefined, 'give digits only, e.g. --seed 42 (a report\'s seed can be passed back as printed), or leave it out for each scenario\'s own seed');
    else seed = Number(opts.seed);
  }
  for (const a of opts.allowPath) if (!existsSync(a)) issues.error('path-missing', `--allow-path ${a} does not exist`);
  const workersText = opts.workers ?? '1';
  const workers = /^\d{1,4}$/.test(workersText) ? Number(workersText) : NaN;
  if (!(workers >= 1 && workers <= MAX_WORKERS)) issues.error('bad-usage', `--workers ${workersText}: expected a whole number from 1 to ${MAX_WORKERS} (${WORKERS_PER_CORE} per core)`, undefined, 'e.g. --workers 4, or leave it out to run in one process');
  let shard: ShardSpec | undefined;
  if (opts.shard !== undefined) {
    const parsed = parseShard(opts.shard);
    if ('problem' in parsed) issues.error('bad-usage', parsed.problem, undefined, 'give --shard i/n with 1 ≤ i ≤ n, e.g. --shard 1/4');
    else shard = parsed;
  }
  let baseline: Baseline | undefined;
  if (opts.baseline !== undefined) {
    const src = readReportFile(opts.baseline, issues, 'a JSON report saved by meshrange run (--report json=PATH)');
    const b = src ? readBaseline(src.path, src.text, issues) : null;
    if (b) baseline = b;
  }
  if (issues.hasErrors()) { printIssues(io, issues.items); return EXIT_BAD_INPUT; }

  const sandbox = Sandbox.forCwd(opts.allowPath);
  const { files: all, inputs, notes } = scenarioFiles(paths, sandbox, issues);
  if (opts.baseline !== undefined) inputs.add(realOrAbsolute(opts.baseline));
  for (const n of notes) io.err(`note: ${n}\n`);
  const suite = shard ? shardFiles(all, shard, new FsSource(sandbox, inputs), issues) : null;
  if (suite && shard && !issues.hasErrors()) io.err(`note: shard ${shard.index}/${shard.count}: ${suite.files.length} of ${all.length} scenario${all.length === 1 ? '' : 's'}\n`);
  const files = suite ? suite.files : all;
  const line = progressLine(io.progress, opts.quiet === true);
  let run;
  try {
    run = await runFiles(files, new FsSource(sandbox, inputs), { ...(seed !== undefined ? { seed } : {}), ...(line.hook ? { progress: line.hook } : {}), workers });
  } finally {
    line.done();
  }
  issues.merge(run.issues);
  const { results } = run;
  if (suite && shard) {
    for (const r of results) r.shard = { index: shard.index, count: shard.count, position: suite.position.get(r.scenario) ?? -1, total: all.length, runSeed: seed ?? null };
  }
  if (baseline) {
    const s = shard;
    const { notRun } = attachBaseline(results, baseline, s ? (name) => shardOf(name, s.count) === s.index : undefined);
    if (notRun.length > 0 && !issues.hasErrors()) {
      io.err(`note: ${notRun.length} scenario${notRun.length === 1 ? '' : 's'} of the baseline ${notRun.length === 1 ? 'was' : 'were'} not run${shard ? ' (in this shard)' : ''}, so not compared: ${notRun.map((n) => escapeControls(n)).join(', ')}\n`);
    }
  }
  // A report must not overwrite what the run read (a scenario, a manifest), whatever the spelling of its path.
  for (const r of reports) {
    const abs = path.resolve(r.path);
    if (existsSync(abs) && inputs.has(realOrAbsolute(abs))) {
      issues.error('report-overwrites-input', `--report ${r.format}=${r.path}: ${r.path} is an input of this run`, undefined, 'write reports elsewhere, e.g. --report json=reports/run.json');
    }
  }
  if (issues.hasErrors()) {
    printIssues(io, issues.errors);
    io.err(`meshrange: ${issues.errors.length} error${issues.errors.length === 1 ? '' : 's'}; nothing was run and no report was written\n`);
    return EXIT_BAD_INPUT;
  }
  // Loader and bind-time warnings, located, each once (a mesh shared by several scenarios warns once).
  printIssues(io, [...new Map(issues.warnings.map((w) => [formatIssue(w), w])).values()]);
  const render = RENDERERS[opts.format] as (r: readonly RunResult[]) => string;
  const texts = reports.map((r) => ({ ...r, text: (RENDERERS[r.format] as (x: readonly RunResult[]) => string)(results) }));
  if (!writeReports(texts, issues)) {
    printIssues(io, issues.errors);
    io.err('meshrange: no report was written\n');
    return EXIT_BAD_INPUT;
  }
  io.out(render(results));
  const failed = results.some((r) => r.expectations.failed > 0 || (r.baseline?.regressions.length ?? 0) > 0);
  return opts.check && failed ? EXIT_FAILED : EXIT_OK;
}

/**
 * This shard's scenario files (suite/shard.ts), in the order of the whole run, and each scenario's
 * position in it. Every file's name is read (a scenario file is small), so that two files of one name
 * are refused in every shard alike, and the partition does not depend on which files parse their meshes.
 */
function shardFiles(files: readonly string[], shard: ShardSpec, reader: FsSource, issues: IssueList): { files: string[]; position: Map<string, number> } {
  const out: string[] = [];
  const position = new Map<string, number>();
  const where = new Map<string, string>();
  files.forEach((f, i) => {
    const box = reader.forScenario(f);
    const src = box.read(f, issues);
    if (!src) return;
    const scenario = parseScenario(src.path, src.text, issues);
    if (!scenario) return;
    const name = scenario.doc.metadata.name;
    const prev = where.get(name);
    if (prev !== undefined) {
      issues.error('scenario-name-duplicate', `scenario name "${name}" is also used by ${prev}`, scenario.src.locate(['metadata', 'name']), 'give every scenario of a suite a unique metadata.name: shards are chosen by name');
      return;
    }
    where.set(name, src.path);
    if (shardOf(name, shard.count) !== shard.index) return;
    position.set(name, i);
    out.push(f);
  });
  return { files: out, position };
}
