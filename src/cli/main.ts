/**
 * meshrange command line. The I/O shell: reads files, writes reports, sets
 * exit codes (0 success, 1 expectations failed, 2 bad usage or bad input).
 * Never prints a stack trace.
 */
import { escapeControls } from '../core/escape.js';
import { Command, CommanderError, Option } from 'commander';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { terminalSafe } from '../core/escape.js';
import { formatIssue, IssueList, type Issue } from '../core/issues.js';
import { renderHtml } from '../report/html.js';
import { renderJson } from '../report/json.js';
import { renderJunit } from '../report/junit.js';
import { renderMarkdown } from '../report/markdown.js';
import { renderSarif } from '../report/sarif.js';
import { renderText } from '../report/text.js';
import { runFiles } from '../api/run.js';
import type { RunResult } from '../scenario/types.js';
import { scenarioJsonSchema } from '../scenario/schema.js';
import { looksLikeScenario } from '../scenario/load.js';
import { displayPath, FsSource, fsErrorText, kindOf, readSource, realOrAbsolute, reportPathProblem, Sandbox, scanYamlFolder, writeReports } from './fs.js';
import { progressLine, type ProgressStream } from './progress.js';
import { requestCommand } from './request.js';
import { registerTui } from './tui.js';
import { registerGenerate } from './generate.js';
import { DEFAULT_OUTSIDE_IP } from '../policy/pipeline.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** the terminal behind stderr, for the progress line (progress.ts); absent or not a TTY: no progress */
  progress?: ProgressStream;
}

/**
 * process.stdout / stderr, guarded: when the reader goes away (`meshrange run … | head -1`) the write fails
 * with EPIPE, which ends the output quietly — no stack trace, the run keeps its exit status. Any other
 * failure to write stdout (a full disk behind `> file`) is said on stderr and exits 2.
 */
function guarded(stream: NodeJS.WriteStream, name: string): (s: string) => void {
  let closed = false;
  let listening = false;
  return (s) => {
    if (!listening) {
      listening = true;
      stream.on('error', (e: NodeJS.ErrnoException) => {
        closed = true;
        if (e.code === 'EPIPE' || stream === process.stderr) return;
        process.stderr.write(`meshrange: cannot write to ${name}: ${fsErrorText(e)}\n`);
        process.exitCode = EXIT_BAD_INPUT;
      });
    }
    if (!closed) stream.write(s);
  };
}

const defaultIo: Io = { out: guarded(process.stdout, 'stdout'), err: guarded(process.stderr, 'stderr'), progress: process.stderr };

export class ExitError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export function printIssues(io: Io, issues: readonly Issue[]): void {
  for (const i of issues) io.err(`${formatIssue(i)}\n`);
}

const RENDERERS: Record<string, (r: readonly RunResult[]) => string> = {
  text: renderText, json: renderJson, junit: renderJunit, markdown: renderMarkdown, sarif: renderSarif, html: renderHtml,
};

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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
    const names = (list: readonly string[]): string => list.map((f) => escapeControls(f)).join(', ');
    if (found.length > 0) out.notes.push(`${shown}: ${found.length} scenario file${found.length === 1 ? '' : 's'}: ${names(found.map(relTo))}`);
    if (notScenarios.length > 0) out.notes.push(`${shown}: ignored, YAML without kind: Scenario: ${names(notScenarios.map(relTo))}`);
    const byWhy = new Map<string, string[]>();
    for (const g of scan.ignored) byWhy.set(g.why, [...(byWhy.get(g.why) ?? []), relTo(g.path)]);
    for (const [why, list] of byWhy) out.notes.push(`${shown}: ignored, ${escapeControls(why)}: ${names(list)}`);
    if (found.length === 0 && scan.problems.length === 0) {
      issues.error('no-scenarios', `${shown} holds no scenario files (YAML with kind: Scenario)`, undefined, 'point at a scenario file or a folder that has some');
    }
    out.files.push(...found);
  }
  return out;
}

export async function main(argv: readonly string[], rawIo: Io = defaultIo): Promise<number> {
  // Everything printed passes through one filter: text from a stranger (a file name, a field, an option
  // echoed back by commander) cannot drive the terminal. JSON stays valid: escapes are JSON's (core/escape.ts).
  // The progress line alone writes to the terminal directly (its \r and erase-line are ours; its text is escaped in progress.ts).
  const io: Io = { out: (s) => rawIo.out(terminalSafe(s)), err: (s) => rawIo.err(terminalSafe(s)), ...(rawIo.progress ? { progress: rawIo.progress } : {}) };
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
    .option('--report <format=path>', 'also write a report (json, junit, markdown, sarif, html); repeatable', collect, [])
    .option('--check', 'exit 1 when an expectation fails')
    .option('--seed <n>', 'override every scenario\'s seed')
    .option('--allow-path <dir>', 'also let scenarios read files under this folder; repeatable', collect, [])
    .option('--quiet', 'no progress line on stderr (it is only shown when stderr is a terminal)')
    .action(async (paths: string[], opts: RunOpts) => {
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
    .addOption(new Option('--tls <mode>', 'client TLS (plaintext from a workload with a sidecar tries to go around it, as --bypass)').choices(['auto', 'plaintext', 'mtls']).default('auto'))
    .option('--bypass', 'the client tries to leave around its own sidecar')
    .addOption(new Option('--capability <c...>', 'what the client process may do; repeatable').choices(['root', 'net-admin', 'proxy-uid']))
    .option('--source-ip <ip>', 'source address of an outside client', DEFAULT_OUTSIDE_IP)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts) => {
      code = await requestCommand(opts, io);
    });

  registerTui(program, io, (c) => { code = c; });
  registerGenerate(program, io, (c) => { code = c; });

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

interface RunOpts { format: string; report: string[]; check?: boolean; seed?: string; allowPath: string[]; quiet?: boolean }

async function runCommand(paths: string[], opts: RunOpts, io: Io): Promise<number> {
  const issues = new IssueList();
  const reports: { format: string; path: string }[] = [];
  for (const r of opts.report) {
    const eq = r.indexOf('=');
    const format = eq > 0 ? r.slice(0, eq) : '';
    if (!Object.hasOwn(RENDERERS, format) || format === 'text' || eq === r.length - 1) {
      issues.error('bad-usage', `--report ${r}: expected FORMAT=PATH with FORMAT one of json, junit, markdown, sarif, html`);
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
    if (!/^\d+$/.test(opts.seed)) issues.error('bad-usage', `--seed ${opts.seed}: expected a whole number`);
    else seed = Number(opts.seed);
  }
  for (const a of opts.allowPath) if (!existsSync(a)) issues.error('path-missing', `--allow-path ${a} does not exist`);
  if (issues.hasErrors()) { printIssues(io, issues.items); return EXIT_BAD_INPUT; }

  const sandbox = Sandbox.forCwd(opts.allowPath);
  const { files, inputs, notes } = scenarioFiles(paths, sandbox, issues);
  for (const n of notes) io.err(`note: ${n}\n`);
  const line = progressLine(io.progress, opts.quiet === true);
  let run;
  try {
    run = await runFiles(files, new FsSource(sandbox, inputs), { ...(seed !== undefined ? { seed } : {}), ...(line.hook ? { progress: line.hook } : {}) });
  } finally {
    line.done();
  }
  issues.merge(run.issues);
  const { results } = run;
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
  const failed = results.some((r) => r.expectations.failed > 0);
  return opts.check && failed ? EXIT_FAILED : EXIT_OK;
}
