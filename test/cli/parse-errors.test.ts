/** Option and argument errors of every command: `meshrange: <what>` and `  hint: <what to do>`, exit 2, nothing else. */
import { describe, expect, it } from 'vitest';
import { cli } from './harness.js';

/** Every command (and subcommand) of the CLI. */
const COMMANDS = [['run'], ['request'], ['tui'], ['blast-radius'], ['assess'], ['lint'], ['merge'], ['generate'], ['schema'],
  ['exercise', 'list'], ['exercise', 'start'], ['exercise', 'check'], ['exercise', 'hint']];

/** The house style of a parse error: exactly two lines, no stack, no usage dump, nothing on stdout. */
function expectHouseStyle(r: { code: number; out: string; err: string }): void {
  expect(r.code).toBe(2);
  expect(r.out).toBe('');
  const lines = r.err.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^meshrange: \S/);
  expect(lines[1]).toMatch(/^ {2}hint: \S/);
  expect(r.err).not.toMatch(/Usage:|at .*\.(ts|js):\d+|^error:/m);
}

describe('parse errors of every command', () => {
  it('an unknown option: "meshrange: unknown option" and a hint naming that command\'s --help (exit 2), for every command', async () => {
    // (commander checks required options first: those commands get theirs)
    const required: Record<string, string[]> = { request: ['--from', 'a/b', '--to', 'x:1'], assess: ['--before', 'a', '--after', 'b'], generate: ['--workloads', '10', '--out', 'x'] };
    for (const c of COMMANDS) {
      const r = await cli(...c, ...(c.length === 1 && Object.hasOwn(required, c[0] as string) ? required[c[0] as string] as string[] : []), '--frobnicate');
      expectHouseStyle(r);
      expect(r.err).toContain("meshrange: unknown option '--frobnicate'");
      expect(r.err).toContain(`hint: \`meshrange ${c.join(' ')} --help\` lists its options`);
    }
  });

  it('an option without its value, a required option missing, a value not among the choices, a missing or extra argument, an unknown command: one line and a hint each (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['blast-radius', '--mesh', 'scenarios/meshes/bookinfo', '--from'], /option '--from <ns\/workload>' argument missing/],
      [['request', '--mesh', 'scenarios/meshes/bookinfo', '--to', 'a:1'], /required option '--from <ns\/workload>' not specified/],
      [['run', 'scenarios/bookinfo-deny-all.yaml', '--format', 'xml'], /argument 'xml' is invalid/],
      [['exercise', 'start'], /missing required argument 'name'/],
      [['exercise', 'start', 'a', 'b', 'c'], /too many arguments/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [argv, what] of cases) {
      const r = await cli(...argv);
      expectHouseStyle(r);
      expect(r.err).toMatch(what);
    }
  });

  it('an option that names workloads followed by another option lost its value: "blast-radius --from --to x" says --from has no value (not "too many arguments")', async () => {
    for (const argv of [['blast-radius', '--from', '--to', 'x'], ['blast-radius', '--mesh', 'scenarios/meshes/bookinfo', '--crown', '--from', 'x'],
      ['request', '--mesh', 'scenarios/meshes/bookinfo', '--from', '--to', 'a:1'], ['request', '--mesh', 'scenarios/meshes/bookinfo', '--from=--to', '--to', 'a:1'],
      ['blast-radius', '--mesh', 'scenarios/meshes/bookinfo', '--exploit', '--depth', '2']]) {
      const r = await cli(...argv);
      expectHouseStyle(r);
      const opt = argv.find((a) => a === '--from' || a === '--crown' || a === '--exploit' || a.startsWith('--from=')) as string;
      expect(r.err).toContain(`meshrange: ${opt.split('=')[0]} has no value`);
      expect(r.err).toMatch(/hint: give --\w+ its value right after it: --\w+ <[^>]+>/);
    }
  });

  it('any option whose value is one of the same command\'s options lost its value: "lint --mesh --format json" names --mesh', async () => {
    const r = await cli('lint', '--mesh', '--format', 'json');
    expectHouseStyle(r);
    expect(r.err).toContain('meshrange: --mesh has no value: "--format" is an option, not a value');
  });

  it('a value that starts with "-" but is no option of the command is still a value (a path is judged as a path)', async () => {
    const r = await cli('lint', '--mesh', '-no-such-folder');
    expect(r.code).toBe(2);
    expect(r.err).not.toContain('has no value');
    expect(r.err).toContain('-no-such-folder');
  });

  it('no command at all: the help goes to stderr and the exit is 2 (bad usage); --help and --version exit 0', async () => {
    const none = await cli();
    expect(none.code).toBe(2);
    expect(none.out).toBe('');
    expect(none.err).toContain('Usage: meshrange');
    expect((await cli('exercise')).code).toBe(2);
    expect((await cli('--help')).code).toBe(0);
    expect((await cli('exercise', '--help')).code).toBe(0);
  });

  it('an unknown option is echoed escaped: control characters in it cannot drive the terminal', async () => {
    const r = await cli('run', '--\u001b[2Jx');
    expect(r.code).toBe(2);
    expect(r.err).not.toContain('\u001b');
  });
});

describe('parse errors a first run makes: one line, and a hint about that mistake', () => {
  it('a misspelt command or option: commander\'s guess joins the one line (not a third line), the hint names the right --help', async () => {
    const cmd = await cli('rn', 'scenarios/');
    expectHouseStyle(cmd);
    expect(cmd.err).toContain("meshrange: unknown command 'rn' (did you mean run?)");
    const sub = await cli('exercise', 'chek', 'first-strict');
    expectHouseStyle(sub);
    expect(sub.err).toContain("unknown command 'chek' (did you mean check?)");
    expect(sub.err).toContain('hint: `meshrange exercise --help` lists the commands');
    const opt = await cli('run', 'scenarios/', '--fromat', 'json');
    expectHouseStyle(opt);
    expect(opt.err).toContain("unknown option '--fromat' (did you mean --format?)");
  });

  it('run --format html points at --report html=PATH; lint with a folder argument points at --mesh', async () => {
    const html = await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', '--format', 'html');
    expectHouseStyle(html);
    expect(html.err).toContain('hint: an HTML report is a file: --report html=PATH');
    const lint = await cli('lint', 'scenarios/meshes/three-ns');
    expectHouseStyle(lint);
    expect(lint.err).toContain('hint: `meshrange lint` takes no paths as arguments: give the manifests with --mesh <path>');
  });
});
