/**
 * `meshrange assess --before <dir|git ref> --after <dir|git ref> [scenarios...]
 * [--mesh PATH]... [--repo DIR] [--format text|json|markdown|sarif]
 * [--report FORMAT=PATH]... [--check]` (product.md §4): the pre-change risk
 * of a mesh change (assess/assess.ts).
 *
 * A side is a folder when the argument names an existing folder (the folder
 * is the whole mesh, and every scenario's manifests are replaced by it);
 * otherwise a git ref of the repository (`--repo`, default the one holding the
 * working directory): `--mesh` paths and every scenario's own manifest paths
 * are read at that commit. Scenario files are always the working tree's.
 */
import { Option, type Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { IssueList } from '../core/issues.js';
import { assess, type AssessSide } from '../assess/assess.js';
import type { AssessReport } from '../assess/assess.js';
import { renderAssessJson, renderAssessMarkdown, renderAssessSarif, renderAssessText } from '../report/assess.js';
import { collect, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, printIssues, type Io } from './main.js';
import { displayPath, FsSource, readSource, realOrAbsolute, reportPathProblem, Sandbox, scanYamlFolder, writeReports } from './fs.js';
import { looksLikeScenario } from '../scenario/load.js';
import { findRepository, GitError, GitSource, refProblem, resolveRef } from './git-source.js';
import { escapeControls } from '../core/escape.js';

export interface AssessCliOpts {
  before: string;
  after: string;
  mesh: string[];
  repo?: string;
  format: 'text' | 'json' | 'markdown' | 'sarif';
  report: string[];
  check?: boolean;
  seed?: string;
  allowPath: string[];
  /** the scenario arguments as given (for a suggested command) */
  scenarioArgs?: string[];
}

const RENDER: Record<string, (r: AssessReport) => string> = {
  text: renderAssessText, json: renderAssessJson, markdown: renderAssessMarkdown, sarif: renderAssessSarif,
};


export function registerAssess(program: Command, io: Io, done: (code: number) => void): void {
  program.command('assess')
    .description('pre-change risk: newly reachable paths, attack steps whose outcome changed, legitimate traffic broken, between two meshes (folders or git refs)')
    .argument('[scenarios...]', 'scenario files or folders of them, run on both sides (their manifests taken from each side)')
    .requiredOption('--before <dir|ref>', 'the mesh before the change: a folder, or a git ref of the repository')
    .requiredOption('--after <dir|ref>', 'the mesh after the change: a folder, or a git ref')
    .option('--mesh <path>', 'with a git ref: the manifests (file or folder) to read at each ref; with a folder: a part of it; repeatable', collect, [])
    .option('--repo <dir>', 'the git repository refs are read from (default: the one holding the working directory)')
    .addOption(new Option('--format <format>', 'stdout format').choices(['text', 'json', 'markdown', 'sarif']).default('text'))
    .option('--report <format=path>', 'also write a report (json, markdown, sarif, text); repeatable', collect, [])
    .option('--check', 'exit 1 when the risk is up')
    .option('--seed <n>', 'override every scenario\'s seed')
    .option('--allow-path <dir>', 'also let scenarios read files under this folder; repeatable', collect, [])
    .action(async (scenarios: string[], opts: AssessCliOpts) => {
      done(await assessCommand(scenarios, opts, io));
    });
}

/**
 * Scenario files named on the command line: files as given; a folder is searched for files with
 * `kind: Scenario` (the manifests beside them are left out, and a note on stderr says how many of each).
 */
function scenarioFiles(paths: readonly string[], sandbox: Sandbox, issues: IssueList, io: Io): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) { issues.error('path-missing', `${displayPath(p)} does not exist`, undefined, 'name scenario files or folders of them'); continue; }
    const st = statSync(p);
    if (st.isFile()) { out.push(p); continue; }
    if (!st.isDirectory()) { issues.error('not-a-file', `${displayPath(p)} is not a file or a folder`, undefined, 'name scenario files or folders of them'); continue; }
    const scan = scanYamlFolder(p, new Sandbox([...sandbox.roots, realOrAbsolute(p)]));
    for (const x of scan.problems) issues.error(x.code, x.message, undefined, 'a scenario folder holds scenario files and their manifests; remove or fix this entry');
    let found = 0;
    for (const f of scan.files) {
      const src = readSource(f, issues);
      if (src && looksLikeScenario(src.text, src.path)) { out.push(f); found++; }
    }
    if (found === 0 && scan.problems.length === 0) issues.error('no-scenarios', `${displayPath(p)} holds no scenario files (YAML with kind: Scenario)`, undefined, 'point at a scenario file or a folder that has some');
    else io.err(`note: ${displayPath(p)}: ${found} scenario file${found === 1 ? '' : 's'}\n`);
  }
  return out;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The commit `arg` names in the repository at `dir`, or null (not a valid ref, no repository, not a ref there).
 * Throws GitError when git fails otherwise (dubious ownership, a broken repository): whether `arg` is a ref cannot be
 * told, and taking the folder would let a pull request's `HEAD/` stand in for the commit.
 */
function refCommit(dir: string, arg: string): string | null {
  // a short run of hex digits (a folder `2024`, `cafe`) may happen to prefix some commit id: not a ref anyone means
  if (refProblem(arg) !== null || (arg.length < 7 && /^[0-9a-f]+$/i.test(arg))) return null;
  let root: string | null;
  try {
    root = findRepository(dir);
  } catch (e) {
    throw new GitError(`cannot tell whether ${JSON.stringify(arg)} is a folder or a git ref: ${e instanceof Error ? e.message : String(e)}`,
      `write the folder as ./${arg}, or fix the repository (git config --global --add safe.directory <dir> for dubious ownership)`);
  }
  if (root === null) return null;
  try {
    return resolveRef(root, arg);
  } catch {
    return null;
  }
}

/**
 * One side from its argument: a folder, else a git ref. Throws GitError on a bad ref, and on an argument that is both
 * a folder and a ref unless written as a path (`./HEAD`, `/abs`): a pull request could otherwise add a folder `HEAD/`
 * of harmless manifests and have `--after HEAD` assess that instead of its commit.
 */
function side(arg: string, opts: AssessCliOpts, fsReader: FsSource): AssessSide {
  const writtenAsPath = arg === '.' || arg === '..' || arg.startsWith('./') || arg.startsWith('../') || path.isAbsolute(arg);
  if (isDir(arg) && !writtenAsPath) {
    const commit = refCommit(opts.repo ?? '.', arg);
    if (commit !== null) {
      throw new GitError(`${JSON.stringify(arg)} is both a folder (${displayPath(path.resolve(arg))}) and a git ref (commit ${commit.slice(0, 12)}); meshrange does not guess which is meant`,
        `write the folder as ./${arg}, or the ref so that no folder has its name (refs/heads/…, refs/remotes/…, or the commit id)`);
    }
  }
  if (isDir(arg)) {
    const mesh = opts.mesh.length > 0 ? opts.mesh.map((m) => path.join(arg, m)) : [arg];
    return { label: displayPath(path.resolve(arg)), reader: new FsSource(new Sandbox([...fsReader.sandbox.roots, realOrAbsolute(arg)]), fsReader.inputs), mesh, replaceScenarioManifests: true };
  }
  // A file: a side is a folder of manifests (or a commit), and a file named as one is most likely a manifest meant for it.
  if (isFile(arg) && refCommit(opts.repo ?? '.', arg) === null) {
    throw new GitError(`${JSON.stringify(arg)} is a file, not a folder: --before and --after each name a folder of manifests or a git ref`,
      `name the folder that holds it (e.g. ${shellWord(path.dirname(arg))}), or a commit`);
  }
  // Not a folder, and no repository to hold a ref: most likely a typo'd folder, and the message says both.
  if (findRepository(opts.repo ?? '.') === null) {
    throw new GitError(`${JSON.stringify(arg)} is neither a folder nor a git ref: there is no folder ${displayPath(path.resolve(arg))}, and ${opts.repo !== undefined ? `--repo ${displayPath(opts.repo)}` : `the current folder ${displayPath(path.resolve('.'))}`} is not inside a git repository to read a ref from`,
      'check the folder\'s name (a folder is relative to the current folder); to compare commits, run meshrange inside the repository or pass --repo DIR');
  }
  const g = GitSource.open(opts.repo ?? '.', arg);
  // With --repo, --mesh paths are the repository's (relative to its top folder); otherwise the working directory's.
  const mesh = opts.repo !== undefined ? opts.mesh.map((m) => path.resolve(g.repo, m)) : opts.mesh;
  return { label: g.label, reader: g, mesh, replaceScenarioManifests: false };
}

/** An argument as a shell reads it back: bare when it is plainly a word or a path, else quoted. */
function shellWord(x: string): string {
  return /^[\w./~@^:+=-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`;
}

/**
 * A folder side's `--mesh` paths are read inside that folder (`--after ./k8s --mesh k8s` reads ./k8s/k8s), while a git
 * side's are read at the commit as paths of the working directory (of the repository's top folder with --repo).
 * A `--mesh` path missing in the folder is reported here, before anything is read, with that rule and — when the path
 * is one of the working directory (the repository) — the command that reads it there: the folder side as `.`.
 */
function meshInFolder(flag: '--before' | '--after', opts: AssessCliOpts, issues: IssueList): void {
  const arg = flag === '--before' ? opts.before : opts.after;
  const top = opts.repo ?? '.';
  for (const m of opts.mesh) {
    const inFolder = path.join(arg, m);
    if (existsSync(inFolder)) continue;
    let fix: string;
    if (existsSync(path.join(top, m))) {
      const words = ['meshrange', 'assess', '--before', flag === '--before' ? top : opts.before, '--after', flag === '--after' ? top : opts.after,
        ...opts.mesh.flatMap((x) => ['--mesh', x]), ...(opts.repo !== undefined ? ['--repo', opts.repo] : []), ...(opts.scenarioArgs ?? [])];
      fix = `${m} is a path of ${opts.repo !== undefined ? `the repository ${displayPath(opts.repo)}` : 'the current folder'}: give ${flag} the folder that holds it, e.g. ${words.map(shellWord).join(' ')}`;
    } else {
      fix = `give --mesh relative to ${displayPath(arg)}, or leave --mesh out to read the whole folder`;
    }
    issues.error('path-missing', `${flag} ${arg} is a folder, and --mesh ${m} is read inside it: ${displayPath(inFolder)} does not exist (a git ref's --mesh is read relative to ${opts.repo !== undefined ? 'the repository\'s top folder' : 'the current folder'}, a folder's relative to that folder)`, undefined, fix);
  }
}

export async function assessCommand(scenarios: string[], cliOpts: AssessCliOpts, io: Io): Promise<number> {
  const opts = { ...cliOpts, scenarioArgs: scenarios };
  const issues = new IssueList();
  const reports: { format: string; path: string }[] = [];
  for (const r of opts.report) {
    const eq = r.indexOf('=');
    const format = eq > 0 ? r.slice(0, eq) : '';
    if (!Object.hasOwn(RENDER, format) || eq === r.length - 1) {
      issues.error('bad-usage', `--report ${r}: expected FORMAT=PATH with FORMAT one of json, markdown, sarif, text`, undefined, 'e.g. --report json=reports/assess.json');
      continue;
    }
    const problem = reportPathProblem(r.slice(eq + 1));
    if (problem) { issues.error('bad-report-path', `--report ${r}: ${problem}`, undefined, 'write reports to a file, e.g. --report sarif=reports/assess.sarif'); continue; }
    if (reports.some((x) => path.resolve(x.path) === path.resolve(r.slice(eq + 1)))) { issues.error('bad-usage', `--report ${r}: that file is already a report of this run`, undefined, 'give each report its own file'); continue; }
    reports.push({ format, path: r.slice(eq + 1) });
  }
  let seed: number | undefined;
  if (opts.seed !== undefined) {
    if (!/^\d{1,15}$/.test(opts.seed)) issues.error('bad-usage', `--seed ${opts.seed}: expected a whole number`, undefined, 'give digits only, e.g. --seed 42, or leave it out for the scenario\'s own seed');
    else seed = Number(opts.seed);
  }
  for (const a of opts.allowPath) if (!existsSync(a)) issues.error('path-missing', `--allow-path ${a} does not exist`);
  if (opts.repo !== undefined && !isDir(opts.repo)) issues.error('path-missing', `--repo ${opts.repo} is not a folder`, undefined, 'give the folder of a git repository');
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }

  const sandbox = Sandbox.forCwd(opts.allowPath);
  const files = scenarioFiles(scenarios, sandbox, issues, io);
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  const fsReader = new FsSource(sandbox);
  let before: AssessSide;
  let after: AssessSide;
  try {
    before = side(opts.before, opts, fsReader);
    after = side(opts.after, opts, fsReader);
  } catch (e) {
    if (!(e instanceof GitError)) throw e;
    issues.error('bad-ref', e.message, undefined, e.hint);
    printIssues(io, issues.errors);
    return EXIT_BAD_INPUT;
  }
  for (const [flag, s] of [['--before', before], ['--after', after]] as const) {
    if (s.replaceScenarioManifests) meshInFolder(flag, opts, issues);
  }
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  for (const [name, s] of [['--before', before], ['--after', after]] as const) {
    if (!s.replaceScenarioManifests && s.mesh.length === 0) {
      issues.error('bad-usage', `${name} ${name === '--before' ? opts.before : opts.after} is a git ref: name the manifests to read at it with --mesh PATH`, undefined,
        'e.g. meshrange assess --before origin/main --after HEAD --mesh k8s/');
    }
  }
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }

  let result;
  try {
    result = await assess({ before, after, scenarios: files, scenarioReader: fsReader, ...(seed !== undefined ? { seed } : {}) });
  } catch (e) {
    if (!(e instanceof GitError)) throw e;
    issues.error('git-failed', e.message, undefined, e.hint);
    printIssues(io, issues.errors);
    return EXIT_BAD_INPUT;
  }
  if (!result.report) {
    printIssues(io, result.issues.errors);
    io.err(`meshrange: ${result.issues.errors.length} error${result.issues.errors.length === 1 ? '' : 's'}; nothing was assessed and no report was written\n`);
    return EXIT_BAD_INPUT;
  }
  for (const r of reports) {
    if (existsSync(r.path) && fsReader.inputs.has(realOrAbsolute(r.path))) {
      issues.error('report-overwrites-input', `--report ${r.format}=${r.path}: ${r.path} is an input of this run`, undefined, 'write reports elsewhere, e.g. --report sarif=reports/assess.sarif');
    }
  }
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  for (const w of result.warnings) io.err(`warning: ${escapeControls(w)}\n`);
  const report = result.report;
  if (!writeReports(reports.map((r) => ({ ...r, text: (RENDER[r.format] as (x: AssessReport) => string)(report) })), issues)) {
    printIssues(io, issues.errors);
    io.err('meshrange: no report was written\n');
    return EXIT_BAD_INPUT;
  }
  io.out((RENDER[opts.format] as (x: AssessReport) => string)(report));
  return opts.check && checkFails(report) ? EXIT_FAILED : EXIT_OK;
}

/**
 * `--check` fails when the risk is up (product.md: exit 1 when `risk` is `up` and `--check` is given). Broken
 * legitimate traffic is reported (its own section, `summary.broken`) for the pipeline to act on, not a risk change.
 */
export function checkFails(report: AssessReport): boolean {
  return report.risk === 'up';
}
