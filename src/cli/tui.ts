/**
 * `meshrange tui <scenario>` (product.md §4): runs the scenario through the
 * application layer and opens the terminal UI on its RunResult. With
 * `--watch`, every change to the scenario or a file it read re-runs it.
 *
 * ink and React are loaded here, on demand, never by the other commands
 * (their start-up must not pay for them). In the bundled CLI the import below
 * is rewritten by scripts/bundle.mjs to load dist/tui/app.js beside the bundle.
 */
import type { Command } from 'commander';
import { realpathSync, statSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { formatIssue, IssueList } from '../core/issues.js';
import { prepareAll, runPrepared } from '../api/run.js';
import { ScenarioLimitError } from '../scenario/simulate.js';
import type { TuiRun, TuiUpdate } from '../tui/app.js';
import { EXIT_BAD_INPUT, EXIT_OK, printIssues, type Io } from './main.js';
import { displayPath, FsSource, fsErrorText, isWithin, kindOf, readdirUpTo, Sandbox } from './fs.js';
import { SimulationLimitError } from '../core/limits.js';

export interface TuiOpts {
  seed?: string;
  watch?: boolean;
  allowPath: string[];
}

/** Where the TUI draws: the real terminal, or (tests) a stand-in. */
export interface TuiTerminal {
  stdinTty: boolean;
  stdoutTty: boolean;
  env: NodeJS.ProcessEnv;
}

const realTerminal = (): TuiTerminal => ({ stdinTty: process.stdin.isTTY === true, stdoutTty: process.stdout.isTTY === true, env: process.env });

/** Colours unless NO_COLOR is set to anything but the empty string (no-color.org). */
export function colourWanted(env: NodeJS.ProcessEnv): boolean {
  return (env['NO_COLOR'] ?? '') === '';
}

/** Quiet time after the last file change before a re-run: an editor's save is several writes. */
export const WATCH_DEBOUNCE_MS = 250;

/** One run of the scenario: the result and its mesh, or the issues that stopped it; `inputs` are the real paths it read. */
async function runOnce(file: string, seed: number | undefined, sandbox: Sandbox): Promise<{ run: TuiRun | null; issues: IssueList; inputs: Set<string> }> {
  const issues = new IssueList();
  const inputs = new Set<string>();
  // As `run` does for the files it is named (main.ts scenarioFiles): a located error, never a throw.
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    const missing = (e as { code?: unknown }).code === 'ENOENT';
    issues.error(missing ? 'path-missing' : 'file-unreadable', missing ? `${displayPath(file)} does not exist` : `${displayPath(file)} cannot be read: ${fsErrorText(e)}`,
      undefined, 'name a scenario file');
    return { run: null, issues, inputs };
  }
  if (!st.isFile()) {
    issues.error('not-a-file', `${displayPath(file)} is ${kindOf(st)}, not a scenario file`, undefined, 'meshrange tui opens one scenario file');
    return { run: null, issues, inputs };
  }
  const [prepared] = prepareAll([file], new FsSource(sandbox, inputs), issues);
  if (!prepared || issues.hasErrors()) return { run: null, issues, inputs };
  try {
    const result = await runPrepared(prepared, seed !== undefined ? { seed } : {});
    // Each warning once, as `run` prints them (a warning of the mesh may come from several places).
    const warnings = [...new Set(issues.warnings.map(formatIssue))];
    return { run: { result, mesh: prepared.mesh, warnings }, issues, inputs };
  } catch (e) {
    if (!(e instanceof SimulationLimitError)) throw e;
    issues.error('scenario-too-much-work', e.message, e.loc, e.hint);
    return { run: null, issues, inputs };
  }
}

/** Most folders one watched tree (an exercise's mesh/ and its subfolders) is watched in; deeper nesting than MAX_WATCH_DEPTH is not. */
export const MAX_WATCH_FOLDERS = 100;
export const MAX_WATCH_DEPTH = 16;
/** Most entries of one watched folder looked at for subfolders. */
const MAX_WATCH_ENTRIES = 10_000;

/**
 * A folder and its subfolders, breadth first, in name order, bounded (MAX_WATCH_FOLDERS, MAX_WATCH_DEPTH): the
 * folders a watch of the tree needs. Links to folders inside the tree are followed, each real folder once (no loop); links out of it are not. `truncated`
 * says folders were left out, for the caller to say so.
 */
export function watchedFolders(root: string): { folders: string[]; truncated: boolean } {
  const folders: string[] = [];
  const seen = new Set<string>();
  let truncated = false;
  let level = [root];
  let top: string | null = null;
  for (let depth = 0; level.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      let real: string;
      try {
        if (!statSync(dir).isDirectory()) continue;
        real = realpathSync(dir);
      } catch { continue; /* vanished, or a link leading nowhere: the check says what is missing */ }
      top ??= real;
      // A link out of the tree is not watched (the checker does not read there either: its sandbox refuses it).
      if (seen.has(real) || !isWithin(real, top)) continue;
      if (folders.length >= MAX_WATCH_FOLDERS || depth > MAX_WATCH_DEPTH) { truncated = true; continue; }
      seen.add(real);
      folders.push(dir);
      let listing;
      try { listing = readdirUpTo(dir, MAX_WATCH_ENTRIES); } catch { continue; }
      if (listing.more) truncated = true;
      // Only as many subfolders as could still be watched (and one more, to know there were more).
      for (const n of listing.names) {
        if (folders.length + next.length > MAX_WATCH_FOLDERS) { truncated = true; break; }
        const child = path.join(dir, n);
        try { if (statSync(child).isDirectory()) next.push(child); } catch { /* a link leading nowhere: not a folder */ }
      }
    }
    level = next;
  }
  return { folders, truncated };
}

/**
 * Watches the folders of every file the run read (an editor that saves by
 * renaming replaces the file, which a watch on the file itself would lose),
 * and calls `onChange` once things have been quiet for WATCH_DEBOUNCE_MS.
 * `trees`: folders watched with their subfolders (watchedFolders, bounded) —
 * any YAML saved in one of them, and a subfolder made, removed or renamed,
 * counts (the caller watches again after its re-run, to take in new folders).
 */
export function watchInputs(files: Iterable<string>, onChange: () => void, trees: readonly string[] = []): (flush?: boolean) => void {
  const dirs = new Map<string, Set<string>>();
  const treeDirs = new Set<string>();
  for (const f of files) {
    const d = path.dirname(f);
    dirs.set(d, (dirs.get(d) ?? new Set()).add(path.basename(f)));
  }
  // A tree's own folder is watched from its parent too: `rm -rf mesh && cp -r backup mesh` (or a git checkout)
  // removes and makes it again, and the watchers inside the old one see nothing of the new one.
  for (const t of trees) {
    const d = path.dirname(t);
    dirs.set(d, (dirs.get(d) ?? new Set()).add(path.basename(t)));
  }
  for (const t of trees) {
    for (const d of watchedFolders(t).folders) {
      treeDirs.add(d);
      if (!dirs.has(d)) dirs.set(d, new Set());
    }
  }
  let timer: NodeJS.Timeout | undefined;
  // a change seen whose debounce has not fired yet: stopping the watch (to watch again after a re-run) reports it
  // rather than dropping it
  let pending = false;
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of dirs) {
    // The watched subfolders of a tree folder: their removal or renaming counts too.
    const subfolders = new Set([...treeDirs].filter((d) => path.dirname(d) === dir).map((d) => path.basename(d)));
    try {
      watchers.push(fsWatch(dir, (_event, name) => {
        // A new YAML file in a manifest folder counts too; other files (editor swap files) do not.
        if (name !== null && !names.has(name) && !/\.ya?ml$/i.test(name) && !(treeDirs.has(dir) && (subfolders.has(name) || isFolder(path.join(dir, name))))) return;
        clearTimeout(timer);
        pending = true;
        timer = setTimeout(() => { pending = false; onChange(); }, WATCH_DEBOUNCE_MS);
      }));
    } catch { /* a folder that vanished: the next run says what is missing */ }
  }
  return (flush = true) => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
    if (pending && flush) { pending = false; onChange(); }
  };
}

/**
 * Why the TUI cannot draw here, or null: its input or output is not a terminal, or TERM is dumb (no cursor movement,
 * no screen clearing: the redraws would wipe the scrollback or print garbage).
 */
export function terminalProblem(term: TuiTerminal): string | null {
  if (!term.stdinTty || !term.stdoutTty) return `meshrange tui needs a terminal: its ${!term.stdinTty ? 'input' : 'output'} is not one (a pipe or a file)`;
  if (term.env['TERM'] === 'dumb') return 'meshrange tui needs a terminal that moves its cursor and clears its screen: TERM is dumb';
  return null;
}

/**
 * A re-run that never overlaps itself and never drops a change: a trigger while a run is going marks one more run,
 * made when it ends (a save during a 17 s re-run was lost for good, the screen showing the older file).
 */
export function coalesced(run: () => Promise<void>): () => Promise<void> {
  let running = false;
  let again = false;
  const trigger = async (): Promise<void> => {
    if (running) { again = true; return; }
    running = true;
    let failure: unknown = null;
    try {
      do {
        again = false;
        // a run that throws does not drop a change that came meanwhile: the next run still happens, and the
        // failure is thrown once the runs are done
        try { await run(); } catch (e) { failure = e; }
      } while (again);
    } finally {
      running = false;
    }
    if (failure !== null) throw failure;
  };
  return trigger;
}

function isFolder(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The ink app, loaded on demand (the bundle rewrites this import to dist/tui/app.js, scripts/bundle.mjs). */
export function loadTuiApp(): Promise<typeof import('../tui/app.js')> {
  return import('../tui/app.js');
}

/** Adds the `tui` command to the CLI; `done` receives its exit code. */
export function registerTui(program: Command, io: Io, done: (code: number) => void): void {
  program.command('tui')
    .description('the terminal UI: play a scenario forward and back, see the mesh, the attack and the control that stopped each step')
    .argument('[scenario]', 'a scenario file')
    .option('--seed <n>', 'override the scenario\'s seed')
    .option('--watch', 're-run when the scenario or a file it reads changes')
    .option('--allow-path <dir>', 'also let the scenario read files under this folder; repeatable', (v: string, prev: string[]) => [...prev, v], [])
    .option('--exercise <folder>', 'play an exercise working folder (meshrange exercise start): objectives live, h for a hint')
    .option('--exercises <dir>', 'with --exercise: also look for exercises in this folder; repeatable', (v: string, prev: string[]) => [...prev, v], [])
    .action(async (file: string | undefined, opts: TuiOpts & { exercise?: string; exercises: string[] }) => {
      if ((file === undefined) === (opts.exercise === undefined)) {
        io.err('meshrange: tui takes a scenario file or --exercise <folder> (one of them)\n  hint: e.g. meshrange tui scenarios/bookinfo-deny-all.yaml, or meshrange tui --exercise <the folder exercise start made>\n');
        done(EXIT_BAD_INPUT);
        return;
      }
      if (opts.exercise !== undefined) {
        const { exerciseTuiCommand } = await import('./exercise-tui.js');
        done(await exerciseTuiCommand(opts.exercise, { ...(opts.watch ? { watch: true } : {}), allowPath: opts.allowPath, exercises: opts.exercises }, io, realTerminal()));
        return;
      }
      done(await tuiCommand(file as string, opts, io));
    });
}

export async function tuiCommand(file: string, opts: TuiOpts, io: Io, term: TuiTerminal = realTerminal()): Promise<number> {
  const issues = new IssueList();
  let seed: number | undefined;
  if (opts.seed !== undefined) {
    if (!/^\d{1,15}$/.test(opts.seed)) issues.error('bad-usage', `--seed ${opts.seed}: expected a whole number`, undefined, 'give digits only, e.g. --seed 42, or leave it out for the scenario\'s own seed');
    else seed = Number(opts.seed);
  }
  const noTerminal = terminalProblem(term);
  if (noTerminal !== null) issues.error('not-a-terminal', noTerminal, undefined, 'run it in a terminal, or use `meshrange run <scenario>` for text, JSON and the other reports');
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  const sandbox = Sandbox.forCwd(opts.allowPath);
  const first = await runOnce(file, seed, sandbox);
  if (!first.run) {
    printIssues(io, first.issues.errors);
    io.err('meshrange: the scenario cannot run; nothing to show\n');
    return EXIT_BAD_INPUT;
  }
  const { startTui } = await loadTuiApp();
  let watch: ((on: (u: TuiUpdate) => void) => () => void) | undefined;
  if (opts.watch) {
    watch = (on) => {
      let closed = false;
      const rerun = coalesced(async () => {
        if (closed) return;
        const next = await runOnce(file, seed, sandbox);
        if (closed) return; // quit during the run: no screen to update, no watchers to leave behind
        if (next.run) on({ run: next.run });
        else on({ error: next.issues.errors.map(formatIssue).join('; ') });
        // The new run may read other files (a manifest added to the list): watch what it read. A change seen in the
        // last moments of the run is reported by stop() and runs once more.
        stop();
        stop = watchInputs([...next.inputs, path.resolve(file)], () => { void rerun(); });
      });
      let stop = watchInputs([...first.inputs, path.resolve(file)], () => { void rerun(); });
      return () => { closed = true; stop(false); };
    };
  }
  await startTui({ run: first.run, color: colourWanted(term.env), ...(watch ? { watch } : {}) });
  return EXIT_OK;
}
