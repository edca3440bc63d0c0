/**
 * meshrange command line. The I/O shell: reads files, writes reports, sets
 * exit codes (0 success, 1 expectations failed, 2 bad usage or bad input).
 * Never prints a stack trace.
 */
import { Command, CommanderError, Option } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { formatIssue, IssueList, type Issue } from '../core/issues.js';
import { renderJson } from '../report/json.js';
import { renderJunit } from '../report/junit.js';
import { renderMarkdown } from '../report/markdown.js';
import { renderSarif } from '../report/sarif.js';
import { renderText } from '../report/text.js';
import { runFiles } from '../api/run.js';
import type { RunResult } from '../scenario/types.js';
import { scenarioJsonSchema } from '../scenario/schema.js';
import { looksLikeScenario } from '../scenario/load.js';
import { displayPath, FsSource, listYamlFiles, reportPathProblem, Sandbox, writeAtomic } from './fs.js';
import { requestCommand } from './request.js';
import { DEFAULT_OUTSIDE_IP } from '../policy/pipeline.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export class ExitError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export function printIssues(io: Io, issues: readonly Issue[]): void {
  for (const i of issues) io.err(`${formatIssue(i)}\n`);
}

const RENDERERS: Record<string, (r: readonly RunResult[]) => string> = {
  text: renderText, json: renderJson, junit: renderJunit, markdown: renderMarkdown, sarif: renderSarif,
};

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Scenario files named on the command line: files as given, directories searched for `kind: Scenario`. */
function scenarioFiles(paths: readonly string[], issues: IssueList): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) { issues.error('path-missing', `${p} does not exist`, undefined, 'name a scenario file or a folder of scenarios'); continue; }
    if (statSync(p).isFile()) { out.push(p); continue; }
    const found = listYamlFiles(p).filter((f) => {
      try { return statSync(f).size <= 1024 * 1024 && looksLikeScenario(readFileSync(f, 'utf8')); } catch { return false; }
    });
    if (found.length === 0) issues.error('no-scenarios', `${displayPath(p)} holds no scenario files (YAML with kind: Scenario)`, undefined, 'point at a scenario file or a folder that has some');
    out.push(...found);
  }
  return out;
}

export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  const program = new Command();
  program
    .name('meshrange')
    .description('A cyber range for service meshes: load real Kubernetes + Istio YAML, replay attacks, see which control stopped each step.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  let code = EXIT_OK;

  program.command('run')
    .description('run scenarios (files, or folders searched for kind: Scenario)')
    .argument('<paths...>', 'scenario files or folders')
    .addOption(new Option('--format <format>', 'stdout format').choices(['text', 'json', 'junit', 'markdown', 'sarif']).default('text'))
    .option('--report <format=path>', 'also write a report (json, junit, markdown, sarif); repeatable', collect, [])
    .option('--check', 'exit 1 when an expectation fails')
    .option('--seed <n>', 'override every scenario\'s seed')
    .option('--allow-path <dir>', 'also let scenarios read files under this folder; repeatable', collect, [])
    .action(async (paths: string[], opts: { format: string; report: string[]; check?: boolean; seed?: string; allowPath: string[] }) => {
      code = await runCommand(paths, opts, io);
    });

  program.command('request')
    .description('one request through the mesh: its verdict and the whole explanation trace')
    .requiredOption('--mesh <path>', 'manifest file or folder; repeatable', collect, [])
    .requiredOption('--from <ns/workload>', 'the client workload, or "outside"')
    .requiredOption('--to <host:port>', 'destination: host:port, or workload/<ns>/<name>:<port>')
    .option('--method <method>', 'HTTP method', 'GET')
    .option('--path <path>', 'HTTP path', '/')
    .option('--header <name:value>', 'request header; repeatable', collect, [])
    .addOption(new Option('--protocol <protocol>', 'protocol').choices(['http', 'http2', 'grpc', 'tcp', 'tls']).default('http'))
    .option('--token <jwt>', 'send this JWT as Authorization: Bearer')
    .option('--jwks <uri=file>', 'offline JWKS for a RequestAuthentication jwksUri; repeatable', collect, [])
    .option('--sni <name>', 'SNI of a TLS connection')
    .option('--time <iso>', 'the instant tokens are checked at (default: now)')
    .addOption(new Option('--tls <mode>', 'client TLS').choices(['auto', 'plaintext', 'mtls']).default('auto'))
    .option('--source-ip <ip>', 'source address of an outside client', DEFAULT_OUTSIDE_IP)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts) => {
      code = await requestCommand(opts, io);
    });

  program.command('schema')
    .description('print the JSON Schema of scenario files')
    .action(() => {
      io.out(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
      return EXIT_BAD_INPUT;
    }
    if (e instanceof ExitError) {
      io.err(`meshrange: ${e.message}\n`);
      return e.code;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.err(`meshrange: internal error: ${msg}\nThis is a bug in meshrange, not in your input; please report it with the command you ran.\n`);
    return EXIT_BAD_INPUT;
  }
  return code;
}

async function runCommand(paths: string[], opts: { format: string; report: string[]; check?: boolean; seed?: string; allowPath: string[] }, io: Io): Promise<number> {
  const issues = new IssueList();
  const reports: { format: string; path: string }[] = [];
  for (const r of opts.report) {
    const eq = r.indexOf('=');
    const format = eq > 0 ? r.slice(0, eq) : '';
    if (!Object.hasOwn(RENDERERS, format) || format === 'text' || eq === r.length - 1) {
      issues.error('bad-usage', `--report ${r}: expected FORMAT=PATH with FORMAT one of json, junit, markdown, sarif`);
      continue;
    }
    const problem = reportPathProblem(r.slice(eq + 1));
    if (problem) { issues.error('bad-report-path', `--report ${r}: ${problem}`, undefined, 'write reports to a file, e.g. --report json=reports/run.json'); continue; }
    reports.push({ format, path: r.slice(eq + 1) });
  }
  let seed: number | undefined;
  if (opts.seed !== undefined) {
    if (!/^\d+$/.test(opts.seed)) issues.error('bad-usage', `--seed ${opts.seed}: expected a whole number`);
    else seed = Number(opts.seed);
  }
  for (const a of opts.allowPath) if (!existsSync(a)) issues.error('path-missing', `--allow-path ${a} does not exist`);
  if (issues.hasErrors()) { printIssues(io, issues.items); return EXIT_BAD_INPUT; }

  const files = scenarioFiles(paths, issues);
  const run = await runFiles(files, new FsSource(Sandbox.forCwd(opts.allowPath)), seed !== undefined ? { seed } : {});
  issues.merge(run.issues);
  const { results } = run;
  const warnings = run.warnings;
  if (issues.hasErrors()) {
    printIssues(io, issues.errors);
    io.err(`meshrange: ${issues.errors.length} error${issues.errors.length === 1 ? '' : 's'}; nothing was run and no report was written\n`);
    return EXIT_BAD_INPUT;
  }
  for (const w of warnings) io.err(`warning: ${w}\n`);
  const render = RENDERERS[opts.format] as (r: readonly RunResult[]) => string;
  for (const r of reports) writeAtomic(r.path, (RENDERERS[r.format] as (x: readonly RunResult[]) => string)(results));
  io.out(render(results));
  const failed = results.some((r) => r.expectations.failed > 0);
  return opts.check && failed ? EXIT_FAILED : EXIT_OK;
}
