/**
 * The exercise panel's state (`meshrange tui --exercise`), a plain reducer:
 * the latest check, the objective selected, the hints shown, a re-check's
 * failure. No ink, no I/O: taking a hint and re-checking are the CLI's, which
 * reports back through actions.
 */
import type { ExerciseReport } from '../exercise/check.js';

export interface ExerciseTuiState {
  report: ExerciseReport;
  /** index of the objective whose `why` is shown */
  selected: number;
  /** texts of the hints taken so far, in order */
  hints: string[];
  /** a line for the status bar (a hint's cost, "no more hints") */
  note: string | null;
  /** the last re-check failed (bad YAML mid-edit): the report shown is the last good one */
  problem: string | null;
  /** a hint or a re-check is under way: keys that would start another wait */
  busy: boolean;
  /** how many re-checks have landed (the screen says "checked ×n") */
  checks: number;
  quit: boolean;
}

export type ExerciseTuiAction =
  | { type: 'report'; report: ExerciseReport }
  | { type: 'error'; error: string }
  | { type: 'move'; by: number }
  | { type: 'busy' }
  | { type: 'hint'; text: string; index: number; total: number; cost: number; free?: boolean }
  | { type: 'no-hint'; total: number }
  | { type: 'quit' };

export function initialExerciseState(report: ExerciseReport, hints: readonly string[] = []): ExerciseTuiState {
  return { report, selected: firstUnmet(report), hints: [...hints], note: null, problem: null, busy: false, checks: 1, quit: false };
}

function firstUnmet(r: ExerciseReport): number {
  const i = r.objectives.findIndex((o) => !o.met);
  return i < 0 ? 0 : i;
}

export function reduceExercise(s: ExerciseTuiState, a: ExerciseTuiAction): ExerciseTuiState {
  switch (a.type) {
    case 'report': {
      // Keep the same objective selected when it is still there.
      const id = s.report.objectives[s.selected]?.id;
      const at = a.report.objectives.findIndex((o) => o.id === id);
      return { ...s, report: a.report, selected: at >= 0 ? at : firstUnmet(a.report), problem: null, busy: false, checks: s.checks + 1 };
    }
    case 'error':
      return { ...s, problem: a.error, busy: false };
    case 'move': {
      const n = s.report.objectives.length;
      if (n === 0) return s;
      return { ...s, selected: Math.max(0, Math.min(n - 1, s.selected + a.by)) };
    }
    case 'busy':
      return { ...s, busy: true };
    case 'hint':
      return { ...s, hints: [...s.hints, a.text], note: a.free ? `hint ${a.index} of ${a.total} taken: free, the exercise is passed` : `hint ${a.index} of ${a.total} taken: -${a.cost} point${a.cost === 1 ? '' : 's'}`, busy: false };
    case 'no-hint':
      return { ...s, note: `no more hints: all ${a.total} taken`, busy: false };
    case 'quit':
      return { ...s, quit: true };
  }
}
