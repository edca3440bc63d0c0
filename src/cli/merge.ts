/**
 * `meshrange merge <report.json>...` (product.md §4, issue 13 item 5): one
 * report from the JSON reports of `run --shard i/n` (suite/merge.ts) — JSON,
 * JUnit or SARIF, on stdout (`--format`) and/or into files (`--report
 * FMT=PATH`, all or none written). Exit 0 merged; 1 under `--check` when the
 * merged run has a failed expectation or a baseline regression; 2 on bad
 * usage or input (a shard missing or given twice, a report that is not one).
 */
import { Option, type Command } from 'commander';
import path from 'node:path';
import { IssueList } from '../core/issues.js';
import { renderJunit } from '../report/junit.js';
import { renderSarif } from '../report/sarif.js';
import { mergedJson, mergeShardReports, type Merged, type ShardReport } from '../suite/merge.js';
import { realOrAbsolute, reportPathProblem, writeReports } from './fs.js';
import { collect, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, printIssues, type Io } from './main.js';
import { readReportFile } from './report-input.js';

const MERGE_RENDERERS: Readonly<Record<string, (m: Merged) => string>> = {
  json: mergedJson,
  junit: (m) => renderJunit(m.results),
  sarif: (m) => renderSarif(m.results),
};

interface MergeOpts { format: string; report: string[]; check?: boolean }

export function registerMerge(program: Command, io: Io, setCode: (code: number) => void): void {
  program.command('merge')
    .description('merge the JSON reports of run --shard i/n into one report (json, junit, sarif), in the order of a single run')
    .argument('<reports...>', 'the JSON report of every shard')
    .addOption(new Option('--format <format>', 'stdout format').choices(['json', 'junit', 'sarif']).default('json'))
    .option('--report <format=path>', 'also write a report (json, junit, sarif); repeatable', collect, [])
    .option('--check', 'exit 1 when the merged run has a failed expectation or a baseline regression')
    .action((files: string[], opts: MergeOpts) => {
      setCode(mergeCommand(files, opts, io));
    });
}

export function mergeCommand(files: readonly string[], opts: MergeOpts, io: Io): number {
  const issues = new IssueList();
  const outputs: { format: string; path: string }[] = [];
  for (const r of opts.report) {
    const eq = r.indexOf('=');
    const format = eq > 0 ? r.slice(0, eq) : '';
    if (!Object.hasOwn(MERGE_RENDERERS, format) || eq === r.length - 1) {
      issues.error('bad-usage', `--report ${r}: expected FORMAT=PATH with FORMAT one of json, junit, sarif`, undefined, 'e.g. --report junit=reports/merged.xml');
      continue;
    }
    const problem = reportPathProblem(r.slice(eq + 1));
    if (problem) { issues.error('bad-report-path', `--report ${r}: ${problem}`, undefined, 'write reports to a file, e.g. --report junit=reports/merged.xml'); continue; }
    const target = path.resolve(r.slice(eq + 1));
    if (outputs.some((x) => path.resolve(x.path) === target)) { issues.error('bad-usage', `--report ${r}: that file is already written`, undefined, 'give each report its own file'); continue; }
    if (files.some((f) => realOrAbsolute(f) === realOrAbsolute(target))) {
      issues.error('report-overwrites-input', `--report ${r}: ${r.slice(eq + 1)} is one of the reports being merged`, undefined, 'write the merged report elsewhere');
      continue;
    }
    outputs.push({ format, path: r.slice(eq + 1) });
  }
  const reports: ShardReport[] = [];
  for (const f of files) {
    const src = readReportFile(f, issues, 'the JSON report of a shard (meshrange run --shard i/n --report json=PATH)');
    if (src) reports.push({ file: src.path, text: src.text });
  }
  const merged = issues.hasErrors() ? null : mergeShardReports(reports, issues);
  if (!merged || issues.hasErrors()) {
    printIssues(io, issues.errors);
    io.err('meshrange: nothing was merged and no report was written\n');
    return EXIT_BAD_INPUT;
  }
  const texts = outputs.map((o) => ({ ...o, text: (MERGE_RENDERERS[o.format] as (m: Merged) => string)(merged) }));
  if (!writeReports(texts, issues)) {
    printIssues(io, issues.errors);
    io.err('meshrange: no report was written\n');
    return EXIT_BAD_INPUT;
  }
  io.out((MERGE_RENDERERS[opts.format] as (m: Merged) => string)(merged));
  const failed = merged.results.some((r) => r.expectations.failed > 0 || (r.baseline?.regressions.length ?? 0) > 0);
  return opts.check && failed ? EXIT_FAILED : EXIT_OK;
}
