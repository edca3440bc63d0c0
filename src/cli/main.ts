/**
 * meshrange command line. The I/O shell: reads files, writes reports, sets
 * exit codes (0 success, 1 expectations failed, 2 bad usage or bad input).
 * Never prints a stack trace.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { jsonDocument, terminalSafe } from '../core/escape.js';
import { formatIssue, type Issue } from '../core/issues.js';
import { MESHRANGE_VERSION } from '../core/version.js';
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
import { SimulationLimitError } from '../core/limits.js';

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

/**
 * Issues on stderr. A bad option value (code bad-usage, no file location) is written as commander's own errors are,
 * in the house style README promises for bad options: `meshrange: <what>` and `  hint: <what to do>`; everything else
 * as formatIssue writes it (location, severity, code, `fix:`). The io escapes control characters (main).
 */
export function printIssues(io: Io, issues: readonly Issue[]): void {
  for (const i of issues) {
    if (i.code === 'bad-usage' && i.severity === 'error' && i.loc === undefined) io.err(`meshrange: ${i.message}\n${i.hint ? `  hint: ${i.hint}\n` : ''}`);
    else io.err(`${formatIssue(i)}\n`);
  }
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
    .version(MESHRANGE_VERSION)
    .exitOverride()
    // commander's own error line is replaced by ours (below: `meshrange: …` + a hint), so it writes none.
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => {} });

  let code = EXIT_OK;

  registerRun(program, io, (c) => { code = c; });

  addMeshOptions(program.command('request')
    .description('one request through the mesh: its verdict and the whole explanation trace'))
    .requiredOption('--from <ns/workload>', 'the client workload, or "outside"')
    .requiredOption('--to <host:port>', 'destination: host:port, or workload/<ns>/<name>:<port>')
    .option('--method <method>', 'HTTP method (default GET; POST for --protocol grpc)')
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
      io.out(jsonDocument(scenarioJsonSchema()));
    });

  // Which command a parse error belongs to (for its hint), and option values that are really a forgotten value.
  let failed: Command = program;
  const lost: LostValue = {};
  for (const c of allCommands(program)) {
    c.exitOverride((err) => { failed = c; throw err; });
    for (const o of c.options) guardOptionValue(c, o, lost);
  }

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT_OK;
      // Help shown because a command was missing (`meshrange exercise`): it went to stderr; that is bad usage.
      if (e.code === 'commander.help') return e.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
      io.err(lost.option !== undefined && e.code === 'commander.invalidArgument'
        ? `meshrange: ${lost.option} has no value: "${lost.value}" is an option, not a value\n  hint: give ${lost.option} its value right after it: ${lost.option} ${lost.placeholder}\n`
        : parseErrorText(e, failed));
      return EXIT_BAD_INPUT;
    }
    if (e instanceof ExitError) {
      io.err(`meshrange: ${e.message}\n`);
      return e.code;
    }
    // a bound the input made the simulation meet (a regex rewrite too costly to run): bad input, located
    if (e instanceof SimulationLimitError) {
      printIssues(io, [{ severity: 'error', code: 'too-much-work', message: e.message, ...(e.loc ? { loc: e.loc } : {}), hint: e.hint }]);
      return EXIT_BAD_INPUT;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.err(`meshrange: internal error: ${msg}\nThis is a bug in meshrange, not in your input; please report it with the command you ran.\n`);
    return EXIT_BAD_INPUT;
  }
  return code;
}

/** A command and all its subcommands, depth first. */
function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap((x) => allCommands(x as Command))];
}

/** `meshrange exercise start`: the words that run a command, for a hint. */
function commandPath(c: Command): string {
  const words: string[] = [];
  for (let x: Command | null = c; x; x = x.parent) words.unshift(x.name());
  return words.join(' ');
}

/** Options whose values are workloads or hosts: such a value never starts with "-", so "--from --to x" lost --from's value. */
const NAMES_WORKLOADS: ReadonlySet<string> = new Set(['--from', '--to', '--crown', '--exploit']);

/** The option whose value turned out to be the next option (guardOptionValue), for the error. */
interface LostValue { option?: string; placeholder?: string; value?: string }

/**
 * Commander takes the word after an option that needs a value as its value, even `--to` in `--from --to x`
 * (then `x` is a stray argument, and the error says so, not what went wrong). An option's value is refused,
 * saying the option lost its value, when it starts with "--" and the option names workloads or hosts (none
 * starts with "-"), or when it is an option of the same command.
 */
function guardOptionValue(c: Command, o: Option, lost: LostValue): void {
  if (!o.required && !o.optional) return;
  if (o.variadic && !o.parseArg) return;
  const parse = o.parseArg;
  const flagsOf = (): Set<string> => new Set([...c.options.flatMap((x) => [x.long, x.short]), '--help', '-h'].filter((f): f is string => typeof f === 'string'));
  o.argParser((value: string, previous: unknown) => {
    if (value.startsWith('-')) {
      const flag = value.split('=')[0] as string;
      if ((o.long !== undefined && NAMES_WORKLOADS.has(o.long) && value.startsWith('--')) || flagsOf().has(flag)) {
        lost.option = o.long ?? o.flags;
        const arg = Math.max(o.flags.indexOf('<'), o.flags.indexOf('['));
        lost.placeholder = arg >= 0 ? o.flags.slice(arg) : '<value>';
        lost.value = value;
        throw new InvalidArgumentError(`${lost.option} needs a value before the next option; "${value}" is an option, not a value`);
      }
    }
    return parse ? parse.call(o, value, previous) : value;
  });
}

/** What to do about a parse error of commander, by its code. */
function parseErrorHint(code: string, where: string, failed?: Command, what = ''): string {
  // the mistakes a first run makes: an HTML report asked of --format (it is a file: --report), a mesh folder given as
  // an argument to a command that reads manifests with --mesh
  if (code === 'commander.invalidArgument' && /'--format[^']*' argument 'html'/.test(what)) return 'an HTML report is a file: --report html=PATH (e.g. --report html=reports/run.html)';
  if (code === 'commander.excessArguments' && failed?.options.some((o) => o.long === '--mesh') && failed.registeredArguments.length === 0) {
    return `\`${where}\` takes no paths as arguments: give the manifests with --mesh <path> (repeatable)`;
  }
  switch (code) {
    case 'commander.unknownCommand': return `\`${where} --help\` lists the commands`;
    case 'commander.unknownOption': return `\`${where} --help\` lists its options`;
    case 'commander.optionMissingArgument': return `give the option a value; \`${where} --help\` says what it takes`;
    case 'commander.missingMandatoryOptionValue': return `add it; \`${where} --help\` says what it takes`;
    case 'commander.invalidArgument': return `\`${where} --help\` says what each option takes`;
    case 'commander.missingArgument':
    case 'commander.excessArguments': return `\`${where} --help\` shows its arguments (an option that needs a value takes the word after it)`;
    default: return `\`${where} --help\` shows how to call it`;
  }
}

/** A parse error in the house style: `meshrange: <what>` and `  hint: <what to do>` — one error, no usage dump. */
function parseErrorText(e: CommanderError, failed: Command): string {
  // one line: commander puts its "(Did you mean …?)" on a line of its own (no regex over the words a user typed)
  const what = e.message.replace(/^error: /, '').split('\n').map((l) => l.trim()).filter((l) => l !== '').join(' ').split(' (Did you mean ').join(' (did you mean ');
  return `meshrange: ${what}\n  hint: ${parseErrorHint(e.code, commandPath(failed), failed, what)}\n`;
}
