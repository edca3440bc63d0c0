/**
 * `meshrange exercise list | start <name> [dir] | check <folder> | hint <folder>`
 * (product.md §4, issue 12; the format: exercises/README.md). The I/O shell
 * around src/exercise: finds shipped exercises (the package's exercises/ and
 * any --exercises DIR), copies a starting folder, records hints.
 *
 * A check takes the objectives and the scenario from the SHIPPED exercise of
 * the folder's name — a trainee cannot edit the objectives to win — and from
 * the folder only mesh/ (defender) or attack.yaml (attacker).
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapeControls, jsonDocument } from '../core/escape.js';
import { formatIssue, IssueList, type Issue, type Location } from '../core/issues.js';
import { ATTACK_FILE, checkExercise, EXERCISE_FILE, MESH_DIR, packFindings, readExercise, type ExercisePlay, type ExerciseRun } from '../exercise/check.js';
import { parseProgress, renderProgress, type LoadedExercise, type LoadedProgress } from '../exercise/load.js';
import { renderExerciseJson, renderExerciseText } from '../exercise/report.js';
import { PROGRESS_FILE } from '../exercise/schema.js';
import { collect, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, printIssues, type Io } from './main.js';
import { displayPath, FsSource, fsErrorText, kindOf, MAX_FILE_BYTES, readdirUpTo, readSource, Sandbox } from './fs.js';

/** Most entries — files and folders together — and bytes `exercise start` copies (a training pack comes from strangers). */
export const MAX_COPY_FILES = 2000;
export const MAX_COPY_BYTES = 32 * 1024 * 1024;
/** Most exercise folders (and other entries but plain files and hidden ones) a catalogue folder may hold. */
export const MAX_EXERCISES = 500;
/** Most entries of any kind a catalogue folder may hold (read no further). */
export const MAX_CATALOGUE_ENTRIES = 10 * MAX_EXERCISES;

/** The package's own exercises/ folder: beside src/ (sources, tests) or dist/ (the build). */
export function packageExercisesDir(): string | null {
  const here: string[] = [];
  try {
    const url = import.meta.url;
    if (typeof url === 'string' && url.startsWith('file:')) here.push(path.dirname(fileURLToPath(url)));
  } catch { /* the CommonJS bundle has no import.meta */ }
  try {
    if (process.argv[1]) here.push(path.dirname(realpathSync(process.argv[1])));
  } catch { /* no script path */ }
  for (const h of here) {
    for (const up of ['..', path.join('..', '..')]) {
      const d = path.resolve(h, up, 'exercises');
      if (existsSync(path.join(d, 'README.md')) && statSync(d).isDirectory()) return d;
    }
  }
  return null;
}

export interface Shipped {
  name: string;
  dir: string;
  exercise: LoadedExercise;
}

/** An entry of a catalogue folder that is not an exercise meshrange can offer, and why (errors, located when a file is at fault). */
export interface Skipped {
  /** the entry's name in its catalogue folder */
  name: string;
  path: string;
  why: Issue[];
}

export interface Catalogue {
  exercises: Shipped[];
  /** every entry left out, with why: `list` warns of each; `start`/`check`/`hint` of its name give the reason */
  skipped: Skipped[];
  /** plain files of the catalogue folders by name (README.md, notes): not exercises, named only when asked for */
  files: Map<string, string>;
}

interface CatalogOpts { exercises: string[] }

/**
 * Whether a name given by the user can name an exercise: a lower-case DNS label, as metadata.name must be (checked
 * character by character, no regex over input) — so never `.`, `..`, a path with a separator, or an absolute path.
 */
export function isExerciseName(name: string): boolean {
  if (name.length === 0 || name.length > 63 || name.startsWith('-') || name.endsWith('-')) return false;
  for (const c of name) if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c === '-')) return false;
  return true;
}

/**
 * Every exercise of the catalogue folders (--exercises first, then the package's). Nothing is skipped silently:
 * an entry that is not a usable exercise (a link, a folder without exercise.yaml, an exercise.yaml that does not
 * parse or names another exercise, a duplicate name, a special file) is in `skipped` with the reason. Entries whose
 * names start with "." (.git, .DS_Store) and plain files (README.md) are not exercise candidates. Errors in `issues`
 * are about the catalogue itself (a folder that cannot be read, too many entries).
 */
export function scanCatalogue(opts: CatalogOpts, issues: IssueList): Catalogue {
  const dirs = [...opts.exercises];
  const pkg = packageExercisesDir();
  if (pkg) dirs.push(pkg);
  const cat: Catalogue = { exercises: [], skipped: [], files: new Map() };
  const byName = new Map<string, Shipped>();
  const skippedNames = new Set<string>();
  /** entry names of the --exercises folders: the package's entry of the same name is overridden (README: "before the shipped ones") */
  const overridden = new Set<string>();
  const skip = (name: string, p: string, why: Issue[]): void => { cat.skipped.push({ name, path: p, why }); skippedNames.add(name); };
  const fix = (d: string): string => `fix or remove it: ${displayPath(d)} holds one folder per exercise (exercises/README.md)`;
  for (const d of dirs) {
    let names: string[];
    try {
      if (!statSync(d).isDirectory()) { issues.error('not-a-folder', `--exercises ${displayPath(d)} is not a folder`, undefined, 'name a folder of exercise folders'); continue; }
      const read = readdirAtMost(d, MAX_CATALOGUE_ENTRIES);
      if (read === null) { issues.error('too-many-exercises', `${displayPath(d)} holds more than ${MAX_CATALOGUE_ENTRIES} entries`, undefined, 'split the catalogue: one folder per exercise, and few other files'); continue; }
      names = read;
    } catch (e) {
      issues.error('path-missing', `${displayPath(d)} cannot be read: ${fsErrorText(e)}`, undefined, 'name a folder of exercise folders');
      continue;
    }
    const reader = new FsSource(new Sandbox([realpathSync(d)], 'an exercise reads its own files from its folder: put a copy of the file there rather than a link out of it'));
    let count = 0;
    for (const n of names) {
      if (n.startsWith('.')) continue;
      if (d === pkg && overridden.has(n)) continue;
      const dir = path.join(d, n);
      const shown = displayPath(dir);
      let st;
      try { st = lstatSync(dir); } catch (e) {
        skip(n, dir, [{ severity: 'error', code: 'exercise-unreadable', message: `${shown} cannot be read: ${fsErrorText(e)}`, hint: fix(d) }]);
        continue;
      }
      if (st.isFile()) { if (!cat.files.has(n)) cat.files.set(n, dir); continue; }
      if (d !== pkg) overridden.add(n);
      if (++count > MAX_EXERCISES) { issues.error('too-many-exercises', `${displayPath(d)} holds more than ${MAX_EXERCISES} exercise folders`, undefined, 'split the catalogue'); break; }
      if (st.isSymbolicLink()) {
        skip(n, dir, [{ severity: 'error', code: 'exercise-link', message: `${shown} is a symbolic link; meshrange does not follow links in a folder of exercises (one could lead anywhere)`,
          hint: `replace the link by the exercise folder itself (a copy), or pass the folder it leads to with --exercises` }]);
        continue;
      }
      if (!st.isDirectory()) {
        skip(n, dir, [{ severity: 'error', code: 'exercise-not-a-folder', message: `${shown} is ${kindOf(st)}, not an exercise folder`, hint: fix(d) }]);
        continue;
      }
      let hasFile = false;
      try { hasFile = statSync(path.join(dir, EXERCISE_FILE)).isFile(); } catch { /* absent, or a link that leads nowhere: said below */ }
      if (!hasFile) {
        skip(n, dir, [{ severity: 'error', code: 'exercise-missing-file', message: `${shown} has no ${EXERCISE_FILE} file, so it is not an exercise`,
          hint: `add ${shown}/${EXERCISE_FILE} (exercises/README.md gives the format), or move the folder out of ${displayPath(d)}` }]);
        continue;
      }
      const own = new IssueList();
      const exercise = readExercise(dir, reader, own);
      if (!exercise) { skip(n, dir, own.errors); continue; }
      const name = exercise.doc.metadata.name;
      if (name !== n) {
        own.error('exercise-name', `metadata.name "${name}" is not the name of its folder "${n}"`, exercise.src.locate(['metadata', 'name']), `rename one of them so both read "${n}"`);
        skip(n, dir, own.errors);
        continue;
      }
      const prev = byName.get(name);
      if (prev !== undefined) {
        skip(n, dir, [{ severity: 'error', code: 'exercise-duplicate', message: `exercise "${name}" is in both ${displayPath(path.dirname(prev.dir))} and ${displayPath(d)}`, hint: 'give each exercise a unique name, or pass only one of the folders with --exercises' }]);
        continue;
      }
      if (skippedNames.has(name)) continue;
      // its scenario is there and names what its objectives judge: a pack that could never be passed is not offered
      if (!packFindings(dir, exercise, reader, own)) { skip(n, dir, own.errors); continue; }
      const s = { name, dir, exercise };
      byName.set(name, s);
    }
  }
  // A name with a skipped entry is not offered at all (which of two was meant is not for meshrange to guess).
  for (const [name, s] of byName) if (!skippedNames.has(name)) cat.exercises.push(s);
  return cat;
}

/**
 * The catalogue's warnings, one per skipped entry: its first reason (file:line:col when a file is at fault, the
 * code, what to do), and how many more there are — `exercise start <name>` prints every one.
 */
export function skippedWarnings(cat: Catalogue): Issue[] {
  const out: Issue[] = [];
  for (const s of cat.skipped) {
    const first = s.why[0];
    if (!first) continue;
    const more = s.why.length - 1;
    const rest = more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'}: \`meshrange exercise start ${s.name}\` prints them all)` : '';
    out.push({ ...first, severity: 'warning', message: `not listed: ${first.message}${rest}` });
  }
  return out;
}

/** The exercise a user-given name selects; null with issues saying why (a bad name, the reason it was skipped, no such exercise). */
function find(name: string, opts: CatalogOpts, issues: IssueList, at?: Location): Shipped | null {
  if (!isExerciseName(name)) {
    issues.error('exercise-bad-name', `"${name}" is not an exercise name: names are lower-case DNS labels (a-z, 0-9, -), never paths`, undefined,
      '`meshrange exercise list` shows the names; to offer exercises of your own, pass the folder holding them with --exercises DIR');
    return null;
  }
  const cat = scanCatalogue(opts, issues);
  if (issues.hasErrors()) return null;
  const hit = cat.exercises.find((s) => s.name === name);
  if (hit) return hit;
  const skipped = cat.skipped.filter((s) => s.name === name);
  if (skipped.length > 0) {
    for (const s of skipped) for (const w of s.why) issues.add({ ...w, severity: 'error' });
    return null;
  }
  const file = cat.files.get(name);
  if (file !== undefined) issues.error('exercise-not-a-folder', `${displayPath(file)} is a file, not an exercise folder`, at, '`meshrange exercise list` shows the exercises');
  else issues.error('exercise-unknown', `no exercise is named "${name}"`, at, `one of: ${cat.exercises.map((s) => s.name).join(', ') || '(none found)'}; \`meshrange exercise list\` shows them`);
  return null;
}

function readProgress(folder: string, issues: IssueList): LoadedProgress | null {
  const file = path.join(folder, PROGRESS_FILE);
  if (!existsSync(file)) {
    issues.error('not-an-exercise-folder', `${displayPath(folder)} has no ${PROGRESS_FILE}: it is not a working folder of an exercise`, undefined,
      'start one with `meshrange exercise start <name> [dir]`');
    return null;
  }
  const src = readSource(file, issues);
  return src ? parseProgress(src.path, src.text, issues) : null;
}

/** Writes a file whole or not at all (a temporary beside it, then a rename). */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** What `exercise start` leaves out of the working folder: the answer, instructors' notes, a progress file (start writes its own). */
const NOT_COPIED: ReadonlySet<string> = new Set(['solution', 'README.md', PROGRESS_FILE]);
/** Deepest folder nesting `exercise start` copies. */
const MAX_COPY_DEPTH = 32;

interface CopyState {
  files: number;
  /** folders created so far: counted in the limit with the files (a million empty folders is no small exercise) */
  folders: number;
  bytes: number;
  /** the exercise folder's real path: a link is followed only to a place inside it (and not into solution/) */
  root: string;
  /** real paths of the folders being copied (a link back to one of them is a loop) */
  open: Set<string>;
}

/**
 * Copies a shipped file tree, bounded (files, bytes, depth): regular files and
 * folders, and links whose target lies inside the exercise folder (copied as
 * what they point at); a link out of it, into solution/, or in a loop, and a
 * special file, are errors.
 */
function copyTree(from: string, to: string, state: CopyState, issues: IssueList, depth = 0): void {
  let st = lstatSync(from);
  let real = from;
  if (st.isSymbolicLink()) {
    try { real = realpathSync(from); } catch (e) {
      issues.error('exercise-copy', `${displayPath(from)} is a link that leads nowhere (${fsErrorText(e)})`, undefined, 'replace the link by a copy of the file');
      return;
    }
    const within = path.relative(state.root, real);
    const outside = within === '' || within.startsWith('..') || path.isAbsolute(within);
    if (outside || NOT_COPIED.has(within.split(path.sep)[0] as string)) {
      issues.error('exercise-copy', `${displayPath(from)} is a link to ${displayPath(real)}, ${outside ? 'outside the exercise folder' : 'which the working folder does not get'}`, undefined, 'replace the link by a copy of the file, inside the exercise folder');
      return;
    }
    st = statSync(real);
  }
  if (!st.isFile() && !st.isDirectory()) {
    issues.error('exercise-copy', `${displayPath(from)} is not a regular file or folder; an exercise ships plain files`, undefined, 'replace the special file by a plain file');
    return;
  }
  if (st.isDirectory()) {
    const key = real === from ? realpathSync(from) : real;
    if (state.open.has(key) || depth >= MAX_COPY_DEPTH) {
      issues.error('exercise-copy', `${displayPath(from)}: ${state.open.has(key) ? 'a link makes a loop of folders' : `folders nest deeper than ${MAX_COPY_DEPTH}`}`, undefined, 'ship a plain tree of files');
      return;
    }
    state.folders++;
    if (overLimit(state, 0, issues)) return;
    const names = readdirAtMost(real, MAX_COPY_FILES - state.files - state.folders + 1);
    if (names === null) { tooLarge(issues); return; }
    state.open.add(key);
    mkdirSync(to, { recursive: true });
    for (const n of names) {
      copyTree(path.join(from, n), path.join(to, n), state, issues, depth + 1);
      if (issues.hasErrors()) break;
    }
    state.open.delete(key);
    return;
  }
  state.files++;
  state.bytes += st.size;
  if (overLimit(state, st.size, issues)) return;
  writeFileSync(to, readFileSync(real));
}

function tooLarge(issues: IssueList): void {
  if (!issues.items.some((i) => i.code === 'exercise-too-large')) {
    issues.error('exercise-too-large', `the exercise holds more than ${MAX_COPY_FILES} files and folders (counted together) or ${MAX_COPY_BYTES / 1048576} MiB (or a file over ${MAX_FILE_BYTES / 1048576} MiB)`, undefined, 'ship a smaller exercise');
  }
}

/** Whether the copy went over a limit (said once in `issues`); `size`: the file just counted. */
function overLimit(state: CopyState, size: number, issues: IssueList): boolean {
  if (state.files + state.folders <= MAX_COPY_FILES && state.bytes <= MAX_COPY_BYTES && size <= MAX_FILE_BYTES) return false;
  tooLarge(issues);
  return true;
}

/** The names in a folder, sorted; null when it holds more than `max` (read no further: a folder of a million entries costs no more than `max`). */
export function readdirAtMost(dir: string, max: number): string[] | null {
  const r = readdirUpTo(dir, max);
  return r.more ? null : r.names;
}

function startCommand(name: string, dirArg: string | undefined, opts: CatalogOpts, io: Io): number {
  const issues = new IssueList();
  const shipped = find(name, opts, issues);
  if (!shipped) {
    printIssues(io, issues.errors);
    io.err('meshrange: nothing was written\n');
    return EXIT_BAD_INPUT;
  }
  const dir = path.resolve(dirArg ?? name);
  if (existsSync(dir)) {
    const st = statSync(dir);
    if (!st.isDirectory() || readdirAtMost(dir, 1)?.length !== 0) {
      issues.error('exercise-folder-exists', `${displayPath(dir)} already exists and is not an empty folder`, undefined, `name a new folder: meshrange exercise start ${name} <dir>`);
      printIssues(io, issues.errors);
      io.err('meshrange: nothing was written\n');
      return EXIT_BAD_INPUT;
    }
  }
  // Everything goes to a staging folder beside the target, renamed into place at the end: nothing half-written.
  const stage = `${dir}.meshrange-start-${process.pid}`;
  const spec = shipped.exercise.doc.spec;
  try {
    mkdirSync(stage, { recursive: true });
    // Every file and folder of the exercise but solution/ and README.md: the scenario may read more than
    // mesh/ (jwt-mandatory's keys/), and `meshrange run scenario.yaml` in the working folder must find it.
    const root = realpathSync(shipped.dir);
    const state: CopyState = { files: 0, folders: 0, bytes: 0, root, open: new Set([root]) };
    const top = readdirAtMost(shipped.dir, MAX_COPY_FILES + NOT_COPIED.size + 1);
    if (top === null) tooLarge(issues);
    for (const n of top ?? []) {
      if (NOT_COPIED.has(n)) continue;
      copyTree(path.join(shipped.dir, n), path.join(stage, n), state, issues, 1);
      if (issues.hasErrors()) break;
    }
    if (!issues.hasErrors() && !existsSync(path.join(stage, spec.scenario))) {
      issues.error('exercise-copy', `${displayPath(path.join(shipped.dir, spec.scenario))}, the exercise's scenario, is not among the files a working folder gets (solution/ and README.md are left out)`, undefined, 'keep the scenario outside solution/');
    }
    if (spec.role === 'attacker' && !existsSync(path.join(stage, ATTACK_FILE))) writeFileSync(path.join(stage, ATTACK_FILE), 'steps: []\n');
    writeFileSync(path.join(stage, PROGRESS_FILE), renderProgress({ name, hintsTaken: 0 }));
    if (issues.hasErrors()) throw new Error('copy');
    if (existsSync(dir)) rmdirSync(dir);
    renameSync(stage, dir);
  } catch (e) {
    rmSync(stage, { recursive: true, force: true });
    if (!issues.hasErrors()) issues.error('exercise-start', `cannot write ${displayPath(dir)}: ${fsErrorText(e)}`, undefined, 'check the folder and its permissions');
    printIssues(io, issues.errors);
    io.err('meshrange: nothing was written\n');
    return EXIT_BAD_INPUT;
  }
  const rel = displayPath(dirArg ?? name);
  io.out(`Started "${escapeControls(spec.title)}" (${spec.level}, ${spec.role}) in ${escapeControls(rel)}\n\n${spec.story.trimEnd().split('\n').map(escapeControls).join('\n')}\n\n`
    + `Edit ${spec.role === 'defender' ? `${rel}/${MESH_DIR}/` : `${rel}/${ATTACK_FILE}`}, then: meshrange exercise check ${rel}   (a hint: meshrange exercise hint ${rel})\n`);
  return EXIT_OK;
}

interface CheckOpts extends CatalogOpts { format: 'text' | 'json'; allowPath: string[] }

/** Checks a working folder; null with issues on bad input. Shared by `exercise check` and the TUI; `inputs`: the files a re-check depends on. */
export async function checkFolder(folder: string, opts: CatalogOpts & { allowPath?: string[] }, issues: IssueList): Promise<(ExerciseRun & { shipped: Shipped; inputs: string[]; trees: string[] }) | null> {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    issues.error('not-an-exercise-folder', `${displayPath(folder)} is not a folder`, undefined, 'name the working folder `meshrange exercise start` made');
    return null;
  }
  const progress = readProgress(folder, issues);
  if (!progress) return null;
  // The progress file names the exercise: an unknown name is located there.
  const shipped = find(progress.name, opts, issues, progress.locate(['name']));
  if (!shipped) return null;
  const role = shipped.exercise.doc.spec.role;
  const hintCount = shipped.exercise.doc.spec.hints?.length ?? 0;
  if (progress.hintsTaken > hintCount) {
    // an edited progress file: every hint is charged, no more (check.ts clamps); said, not silently
    issues.warn('exercise-hints-taken', `hintsTaken is ${progress.hintsTaken}, but ${progress.name} has ${hintCount} hint${hintCount === 1 ? '' : 's'}: counted as ${hintCount}`,
      progress.locate(['hintsTaken']), `set it to ${hintCount} or less; meshrange exercise hint counts the hints as they are taken`);
  }
  const play: ExercisePlay = { dir: shipped.dir, hintsTaken: progress.hintsTaken, ...(progress.hintsCharged !== undefined ? { hintsCharged: progress.hintsCharged } : {}) };
  // What --watch watches (tui.ts watchInputs watches the folder of each file, and any *.yaml saved in it):
  // the progress file (a hint taken in another shell), and attack.yaml — or mesh/ with its subfolders (a tree:
  // the checker reads them all).
  const inputs = [path.resolve(folder, PROGRESS_FILE)];
  const trees: string[] = [];
  if (role === 'defender') {
    play.mesh = [path.join(folder, MESH_DIR)];
    trees.push(path.resolve(folder, MESH_DIR));
  } else {
    play.attack = path.join(folder, ATTACK_FILE);
    inputs.push(path.resolve(play.attack));
  }
  // The pack comes from a stranger: its scenario reads its own folder, the trainee's working folder and what
  // --allow-path names, not the directory the trainee runs from (from $HOME, a pack could read ~/*.yaml).
  const sandbox = new Sandbox([...(opts.allowPath ?? []), folder, shipped.dir].filter((p) => existsSync(p)).map((p) => realpathSync(p)),
    'an exercise reads only its own folder and your working folder: keep the file in one of them, or pass --allow-path <dir> if you trust this exercise');
  const run = await checkExercise(play, new FsSource(sandbox), issues);
  return run ? { ...run, shipped, inputs, trees } : null;
}

async function checkCommand(folder: string, opts: CheckOpts, io: Io): Promise<number> {
  const issues = new IssueList();
  const run = await checkFolder(folder, opts, issues);
  if (!run) {
    printIssues(io, issues.errors);
    io.err('meshrange: the exercise cannot be checked\n');
    return EXIT_BAD_INPUT;
  }
  // The loader's warnings (a kind meshrange does not model, ...), located, each once, as `run` prints them.
  printIssues(io, [...new Map(issues.warnings.map((w) => [formatIssue(w), w])).values()]);
  io.out(opts.format === 'json' ? renderExerciseJson(run.report) : renderExerciseText(run.report));
  return run.report.passed ? EXIT_OK : EXIT_FAILED;
}

/**
 * The next hint of a working folder, recorded; null text when none is left. A hint asked for once the
 * exercise passes is free (`free`, cost 0): the folder is checked first, and the progress file records how many
 * hints were taken before it passed (`hintsCharged`), so that `check` keeps it passed, in the CLI and the TUI alike.
 */
export async function takeHint(folder: string, opts: CatalogOpts, issues: IssueList): Promise<{ text: string | null; index: number; total: number; cost: number; free: boolean } | null> {
  const progress = readProgress(folder, issues);
  if (!progress) return null;
  const shipped = find(progress.name, opts, issues, progress.locate(['name']));
  if (!shipped) return null;
  const hints = shipped.exercise.doc.spec.hints ?? [];
  const hint = hints[progress.hintsTaken];
  if (!hint) return { text: null, index: progress.hintsTaken, total: hints.length, cost: 0, free: false };
  let charged = progress.hintsCharged;
  if (charged === undefined) {
    // A folder that cannot be checked (a broken manifest) is not passed: the hint costs, as before.
    const run = await checkFolder(folder, opts, new IssueList());
    if (run?.report.passed) charged = progress.hintsTaken;
  }
  try {
    writeAtomic(path.join(folder, PROGRESS_FILE), renderProgress({ name: progress.name, hintsTaken: progress.hintsTaken + 1, ...(charged !== undefined ? { hintsCharged: charged } : {}) }));
  } catch (e) {
    issues.error('exercise-progress', `cannot record the hint in ${displayPath(path.join(folder, PROGRESS_FILE))}: ${fsErrorText(e)}`, undefined, 'check the folder\'s permissions');
    return null;
  }
  const free = charged !== undefined;
  return { text: hint.text, index: progress.hintsTaken + 1, total: hints.length, cost: free ? 0 : hint.cost, free };
}

async function hintCommand(folder: string, opts: CatalogOpts, io: Io): Promise<number> {
  const issues = new IssueList();
  const h = await takeHint(folder, opts, issues);
  if (!h) {
    printIssues(io, issues.errors);
    io.err('meshrange: no hint was taken\n');
    return EXIT_BAD_INPUT;
  }
  if (h.text === null) { io.out(`No more hints: all ${h.total} taken.\n`); return EXIT_OK; }
  const cost = h.free ? 'free: the exercise is passed' : `costs ${h.cost} point${h.cost === 1 ? '' : 's'}`;
  io.out(`Hint ${h.index} of ${h.total} (${cost}): ${escapeControls(h.text.trimEnd())}\n`);
  return EXIT_OK;
}

function listCommand(opts: CatalogOpts & { format: 'text' | 'json' }, io: Io): number {
  const issues = new IssueList();
  const cat = scanCatalogue(opts, issues);
  if (issues.hasErrors()) {
    printIssues(io, issues.errors);
    io.err('meshrange: the exercises cannot be listed\n');
    return EXIT_BAD_INPUT;
  }
  // Every entry that is not offered, said on stderr (stdout stays the list, or valid JSON).
  printIssues(io, skippedWarnings(cat));
  const rows = cat.exercises.map((s) => ({ name: s.name, level: s.exercise.doc.spec.level, role: s.exercise.doc.spec.role, title: s.exercise.doc.spec.title }));
  if (opts.format === 'json') { io.out(jsonDocument(rows)); return EXIT_OK; }
  if (rows.length === 0) { io.out('No exercises found.\n'); return EXIT_OK; }
  const w = (k: 'name' | 'level' | 'role'): number => Math.max(k.length, ...rows.map((r) => r[k].length));
  const line = (r: { name: string; level: string; role: string; title: string }): string =>
    `${escapeControls(r.name).padEnd(w('name'))}  ${r.level.padEnd(w('level'))}  ${r.role.padEnd(w('role'))}  ${escapeControls(r.title)}`;
  io.out(`${[line({ name: 'name', level: 'level', role: 'role', title: 'title' }), ...rows.map(line)].join('\n')}\n`);
  return EXIT_OK;
}

/** Adds `exercise` and its subcommands to the CLI; `done` receives the exit code. */
export function registerExercise(program: Command, io: Io, done: (code: number) => void): void {
  const ex = program.command('exercise').description('training: a broken mesh (or one to break), objectives, hints, a score');
  const withCatalog = (c: Command): Command => c.option('--exercises <dir>', 'also look for exercises in this folder; repeatable', collect, []);
  withCatalog(ex.command('list').description('the exercises: name, level, role, title'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((opts: CatalogOpts & { format: 'text' | 'json' }) => { done(listCommand(opts, io)); });
  withCatalog(ex.command('start').description('copy an exercise\'s starting files into a working folder').argument('<name>', 'the exercise').argument('[dir]', 'the working folder (default ./<name>); must not exist or be empty'))
    .action((name: string, dir: string | undefined, opts: CatalogOpts) => { done(startCommand(name, dir, opts, io)); });
  withCatalog(ex.command('check').description('score a working folder (exit 0 passed, 1 not yet, 2 bad input)').argument('<folder>', 'the working folder'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--allow-path <dir>', 'also let the manifests read files under this folder; repeatable', collect, [])
    .action(async (folder: string, opts: CheckOpts) => { done(await checkCommand(folder, opts, io)); });
  withCatalog(ex.command('hint').description('the next hint (its cost comes off the score; recorded in the folder)').argument('<folder>', 'the working folder'))
    .action(async (folder: string, opts: CatalogOpts) => { done(await hintCommand(folder, opts, io)); });
}
