/**
 * `meshrange tui --exercise <folder> [--watch]`: checks the working folder
 * (exercise.ts checkFolder), opens the exercise panel, takes hints when asked
 * (recorded in the folder, the score re-checked), and with --watch re-checks
 * on every save of the trainee's files (debounced, tui.ts watchInputs).
 */
import path from 'node:path';
import { formatIssue, IssueList } from '../core/issues.js';
import type { ExerciseUpdate, HintOutcome } from '../tui/exercise-app.js';
import { checkFolder, takeHint } from './exercise.js';
import { EXIT_BAD_INPUT, EXIT_OK, printIssues, type Io } from './main.js';
import { coalesced, colourWanted, loadTuiApp, MAX_WATCH_DEPTH, MAX_WATCH_FOLDERS, terminalProblem, watchedFolders, watchInputs, type TuiTerminal } from './tui.js';
import { displayPath } from './fs.js';

export interface ExerciseTuiOpts {
  watch?: boolean;
  allowPath: string[];
  exercises: string[];
}

export async function exerciseTuiCommand(folder: string, opts: ExerciseTuiOpts, io: Io, term: TuiTerminal): Promise<number> {
  const issues = new IssueList();
  const noTerminal = terminalProblem(term);
  if (noTerminal !== null) {
    issues.error('not-a-terminal', noTerminal, undefined, 'run it in a terminal, or use `meshrange exercise check <folder>` for text or JSON');
    printIssues(io, issues.errors);
    return EXIT_BAD_INPUT;
  }
  const first = await checkFolder(folder, opts, issues);
  if (!first) {
    printIssues(io, issues.errors);
    io.err('meshrange: the exercise cannot be checked; nothing to show\n');
    return EXIT_BAD_INPUT;
  }
  const hintsTaken = (first.exercise.doc.spec.hints ?? []).slice(0, first.report.hintsTaken).map((h) => h.text);
  const recheck = async (): Promise<ExerciseUpdate> => {
    const again = new IssueList();
    const run = await checkFolder(folder, opts, again);
    return run ? { report: run.report } : { error: again.errors.map(formatIssue).join('; ') };
  };
  const onHint = async (): Promise<HintOutcome> => {
    const hi = new IssueList();
    const h = await takeHint(folder, opts, hi);
    if (!h) return { error: hi.errors.map(formatIssue).join('; ') };
    if (h.text === null) return { none: true, total: h.total };
    const u = await recheck();
    return { text: h.text, index: h.index, total: h.total, cost: h.cost, ...(h.free ? { free: true } : {}), ...('report' in u ? { report: u.report } : {}) };
  };
  let watch: ((on: (u: ExerciseUpdate) => void) => () => void) | undefined;
  if (opts.watch) {
    // The trainee's files: mesh/ and its subfolders (defender), attack.yaml (attacker), and the progress file (a hint from another shell).
    const inputs = first.inputs.map((p) => path.resolve(p));
    for (const t of first.trees) {
      const w = watchedFolders(t);
      if (w.truncated) {
        printIssues(io, [{ severity: 'warning', code: 'watch-limit', message: `${displayPath(t)} has more than ${MAX_WATCH_FOLDERS} folders (or nests deeper than ${MAX_WATCH_DEPTH}): --watch sees saves in the first ${w.folders.length} only`, hint: 'keep the manifests in fewer folders, or re-check by hand with `meshrange exercise check`' }]);
      }
    }
    watch = (on) => {
      let closed = false;
      let stop = (_flush?: boolean): void => {};
      const recheckAndRewatch = coalesced(async (): Promise<void> => {
        if (closed) return;
        const u = await recheck();
        if (closed) return;
        on(u);
        // A subfolder made since (or one removed): watch the tree as it is now.
        stop();
        stop = watchInputs(inputs, () => { void recheckAndRewatch(); }, first.trees);
      });
      stop = watchInputs(inputs, () => { void recheckAndRewatch(); }, first.trees);
      return () => { closed = true; stop(false); };
    };
  }
  const { startExerciseTui } = await loadTuiApp();
  await startExerciseTui({ report: first.report, hints: hintsTaken, color: colourWanted(term.env), onHint, ...(watch ? { watch } : {}) });
  return EXIT_OK;
}
