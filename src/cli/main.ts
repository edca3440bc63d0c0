/**
 * meshrange command line. The I/O shell: reads files, writes reports, sets
 * exit codes (0 success, 1 expectations failed, 2 bad usage or bad input).
 * Never prints a stack trace.
 */
import { Command, CommanderError, Option } from 'commander';
import { terminalSafe } from '../core/escape.js';
import { formatIssue, type Issue } from '../core/issues.js';
import { scenarioJsonSchema } from '../scenario/schema.js';
import { fsErrorText } from './fs.js';
import { type ProgressStream } from './progress.js';
import { requestCommand } from './request.js';
import { addMeshOptions } from './mesh-input.js';
import { registerTui } from './tui.js';
import { registerBlastRadius } from './blast-radius.js';
import { registerAssess } from './assess.js';
import { registerLint } from './lint.js';
import { registerRun } from './run.js';
import { registerMerge } from './merge.js';
import { registerExercise } from './exercise.js';
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

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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

  registerRun(program, io, (c) => { code = c; });

  addMeshOptions(program.command('request')
    .description('one request through the mesh: its verdict and the whole explanation trace'))
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
  registerBlastRadius(program, io, (c) => { code = c; });
  registerAssess(program, io, (c) => { code = c; });
  registerLint(program, io, (c) => { code = c; });
  registerMerge(program, io, (c) => { code = c; });
  registerExercise(program, io, (c) => { code = c; });
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
