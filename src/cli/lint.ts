/**
 * `meshrange lint --mesh <dir>...` (product.md §4, issue 11 item 5): security
 * posture findings over the loaded mesh (src/lint). stdout gets `--format`
 * (text, json, sarif); `--report FMT=PATH` writes more, all or none.
 * Exit 0: nothing at or over `--fail-on` (default warning); 1: a finding at
 * or over it; 2: bad usage or a mesh that does not load.
 */
import { Option, type Command } from 'commander';
import path from 'node:path';
import { IssueList } from '../core/issues.js';
import { readManifests } from '../api/prepare.js';
import { loadMesh } from '../loader/load.js';
import { failsOn, lint, type FailOn, type LintResult } from '../lint/index.js';
import { renderLintJson, renderLintSarif, renderLintText } from '../lint/render.js';
import { terminalSafe } from '../core/escape.js';
import { EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, printIssues, type Io } from './main.js';
import { FsSource, realOrAbsolute, reportPathProblem, Sandbox, writeReports } from './fs.js';
import { addMeshOptions, meshBudget, NAMESPACE_NAME, requireMesh, type MeshOptions } from './mesh-input.js';

export interface LintOpts extends MeshOptions {
  format: string;
  failOn: string;
  report: string[];
}

const RENDER: ReadonlyMap<string, (r: LintResult) => string> = new Map([
  ['text', renderLintText], ['json', renderLintJson], ['sarif', renderLintSarif],
]);

/** Loader warnings that are lint findings (src/lint/rules/analyzer.ts, MR0102): shown once, as findings. */
const ANALYZER_CODES: ReadonlySet<string> = new Set(['IST0127', 'IST0123', 'IST0174', 'SIM001', 'SIM002', 'SIM003', 'SIM004', 'SIM005', 'SIM006', 'SIM007']);

export function registerLint(program: Command, io: Io, done: (code: number) => void): void {
  addMeshOptions(program.command('lint')
    .description('security posture findings (codes MR0101…): PERMISSIVE leftovers, policies that select nothing, identity rules on plaintext ports, spoofable header rules, …'))
    .addOption(new Option('--format <format>', 'stdout format').choices(['text', 'json', 'sarif']).default('text'))
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at or over this severity').choices(['error', 'warning', 'info', 'never']).default('warning'))
    .option('--report <format=path>', 'also write a report (text, json, sarif); repeatable', (v: string, prev: string[]) => [...prev, v], [])
    .action((opts: LintOpts) => {
      done(lintCommand(opts, io));
    });
}

export function lintCommand(opts: LintOpts, io: Io): number {
  const issues = new IssueList();
  const reports: { format: string; path: string }[] = [];
  for (const r of opts.report) {
    const eq = r.indexOf('=');
    const format = eq > 0 ? r.slice(0, eq) : '';
    if (!RENDER.has(format) || eq === r.length - 1) {
      issues.error('bad-usage', `--report ${r}: expected FORMAT=PATH with FORMAT one of text, json, sarif`, undefined, 'e.g. --report sarif=reports/lint.sarif');
      continue;
    }
    const target = r.slice(eq + 1);
    const problem = reportPathProblem(target);
    if (problem) { issues.error('bad-report-path', `--report ${r}: ${problem}`, undefined, 'write reports to a file, e.g. --report json=reports/lint.json'); continue; }
    if (reports.some((x) => path.resolve(x.path) === path.resolve(target))) {
      issues.error('bad-usage', `--report ${r}: that file is already written by another --report`, undefined, 'give each report its own file');
      continue;
    }
    reports.push({ format, path: target });
  }
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }

  // The user names the folders: they, and the working directory, are what lint may read.
  const sandbox = new Sandbox(opts.mesh.map((m) => realOrAbsolute(m)).concat(realOrAbsolute('.')));
  const inputs = new Set<string>();
  requireMesh(opts, issues);
  if (opts.namespace !== undefined && !NAMESPACE_NAME.test(opts.namespace)) {
    issues.error('bad-usage', `--namespace ${opts.namespace}: not a namespace name`, undefined, 'give a DNS-1123 label: lower case letters, digits and -, at most 63 characters');
  }
  const budget = meshBudget(opts, issues);
  const files = issues.hasErrors() || budget === null ? [] : readManifests(opts.mesh.map((m) => (opts.namespace !== undefined ? { path: m, namespace: opts.namespace } : { path: m })), new FsSource(sandbox, inputs), issues, budget);
  if (issues.hasErrors()) { printIssues(io, issues.errors); io.err('meshrange: nothing was linted\n'); return EXIT_BAD_INPUT; }
  const { mesh, issues: loadIssues } = loadMesh(files, opts.ingressGateway ? { ingressGateway: {} } : {});
  if (loadIssues.hasErrors()) {
    printIssues(io, loadIssues.errors);
    io.err(`meshrange: ${loadIssues.errors.length} error${loadIssues.errors.length === 1 ? '' : 's'} in the manifests; nothing was linted\n`);
    return EXIT_BAD_INPUT;
  }
  for (const r of reports) {
    if (inputs.has(realOrAbsolute(r.path))) issues.error('report-overwrites-input', `--report ${r.format}=${r.path}: ${r.path} is one of the manifests`, undefined, 'write reports elsewhere, e.g. --report json=reports/lint.json');
  }
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  printIssues(io, loadIssues.warnings.filter((w) => !ANALYZER_CODES.has(w.code)));

  const result = lint(mesh);
  const render = RENDER.get(opts.format) ?? renderLintText;
  if (!writeReports(reports.map((r) => ({ ...r, text: (RENDER.get(r.format) ?? renderLintText)(result) })), issues)) {
    printIssues(io, issues.errors);
    io.err('meshrange: no report was written\n');
    return EXIT_BAD_INPUT;
  }
  const text = render(result);
  io.out(opts.format === 'text' ? terminalSafe(text) : text);
  return failsOn(result, opts.failOn as FailOn) ? EXIT_FAILED : EXIT_OK;
}
