/**
 * `meshrange tui --exercise <folder>`: the objectives panel (met / unmet,
 * points, why of the selected one), the score, the hints taken; `h` takes the
 * next hint, and with --watch every save re-scores. Props-only view over
 * exercise-state.ts; the CLI does the checking, the hint recording and the
 * watching (src/cli/exercise-tui.ts).
 */
import { Box, render, Text, useApp, useInput, useStdout } from 'ink';
import { useEffect, useReducer, useState, type ReactNode } from 'react';
import { escapeControls as esc } from '../core/escape.js';
import type { ExerciseReport } from '../exercise/check.js';
import { wrapLines } from './app.js';
import { initialExerciseState, reduceExercise } from './exercise-state.js';

/** A re-check's news: a new report, or why the edited files cannot be checked. */
export type ExerciseUpdate = { report: ExerciseReport } | { error: string };

/** What taking a hint gave: the hint (and the re-scored report), none left, or a failure. */
export type HintOutcome =
  | { text: string; index: number; total: number; cost: number; free?: boolean; report?: ExerciseReport }
  | { none: true; total: number }
  | { error: string };

export interface ExerciseTuiProps {
  report: ExerciseReport;
  /** texts of the hints taken before the TUI opened */
  hints?: readonly string[];
  color: boolean;
  columns?: number;
  rows?: number;
  /** --watch: subscribe to re-checks; returns the unsubscribe */
  watch?: (on: (u: ExerciseUpdate) => void) => () => void;
  /** takes (and records) the next hint */
  onHint: () => Promise<HintOutcome>;
  onQuit?: () => void;
}

interface Line { text: string; color?: string; bold?: boolean; dim?: boolean }

function Row({ line, width, color }: { line: Line; width: number; color: boolean }): ReactNode {
  const text = line.text.length > width ? `${line.text.slice(0, Math.max(0, width - 1))}…` : line.text;
  return (
    <Text wrap="truncate" bold={line.bold ?? false} dimColor={color && (line.dim ?? false)} {...(color && line.color ? { color: line.color } : {})}>
      {text === '' ? ' ' : text}
    </Text>
  );
}

export function ExerciseApp(props: ExerciseTuiProps): ReactNode {
  const [state, dispatch] = useReducer(reduceExercise, props.report, (r) => initialExerciseState(r, props.hints ?? []));
  const { exit } = useApp();
  const { stdout } = useStdout();
  const columns = props.columns ?? (stdout.columns || 80);
  const rows = props.rows ?? (stdout.rows || 24);
  const [live, setLive] = useState(false);
  useEffect(() => setLive(true), []);

  const takeHint = async (): Promise<void> => {
    dispatch({ type: 'busy' });
    const h = await props.onHint();
    if ('error' in h) { dispatch({ type: 'error', error: h.error }); return; }
    if ('none' in h) { dispatch({ type: 'no-hint', total: h.total }); return; }
    dispatch({ type: 'hint', text: h.text, index: h.index, total: h.total, cost: h.cost, ...(h.free ? { free: true } : {}) });
    if (h.report) dispatch({ type: 'report', report: h.report });
  };
  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) dispatch({ type: 'quit' });
    else if (input === 'j' || key.downArrow) dispatch({ type: 'move', by: 1 });
    else if (input === 'k' || key.upArrow) dispatch({ type: 'move', by: -1 });
    else if (input === 'h' && !state.busy) void takeHint();
  });
  useEffect(() => {
    if (!state.quit) return;
    props.onQuit?.();
    exit();
  }, [state.quit]);
  useEffect(() => {
    if (!props.watch) return undefined;
    return props.watch((u) => dispatch('error' in u ? { type: 'error', error: u.error } : { type: 'report', report: u.report }));
  }, [props.watch]);

  const r = state.report;
  const c = props.color;
  const width = Math.max(20, columns);
  const lines: Line[] = [];
  // A failed re-check's reason, wrapped at the top of the body: on the one status line its useful tail (the file,
  // "… does not exist") was cut off at the terminal's width.
  if (state.problem) lines.push({ text: `re-check failed: ${esc(state.problem)}`, color: 'red' }, { text: '' });
  lines.push({ text: 'objectives', bold: true });
  r.objectives.forEach((o, i) => {
    const sel = i === state.selected;
    lines.push({ text: `${sel ? '›' : ' '}[${o.met ? 'x' : ' '}] ${String(o.points).padStart(3)}  ${esc(o.id)}: ${esc(o.text)}`, color: o.met ? 'green' : 'red', ...(sel ? { bold: true } : {}) });
  });
  const picked = r.objectives[state.selected];
  if (picked) {
    lines.push({ text: '' });
    lines.push({ text: picked.met ? `${esc(picked.id)}: met` : `why ${esc(picked.id)} is not met yet:`, bold: true });
    if (picked.why) lines.push({ text: `  ${esc(picked.why)}` });
  }
  if (state.hints.length > 0) {
    lines.push({ text: '' });
    lines.push({ text: 'hints taken:', bold: true });
    state.hints.forEach((h, i) => lines.push({ text: `  ${i + 1}. ${esc(h)}`, color: 'cyan' }));
  }
  const body = wrapLines(lines, width);
  const bodyRows = Math.max(3, rows - 3);
  const status = state.problem
    ? { text: 're-check failed (the reason is at the top), showing the last good check', color: 'red' }
    : { text: `${state.note ? `${state.note}  ` : ''}${live ? 'j/k select, h hint, q quit' : ' '}`, dim: !state.note };

  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <Row line={{ text: `${esc(r.name)}: ${esc(r.title)} (${r.role})`, bold: true }} width={width} color={c} />
      <Row line={{ text: `score ${r.score}/${r.max}  pass at ${r.passScore}: ${r.passed ? 'PASSED' : 'not yet'}  hints ${r.hintsTaken}${r.hintCost > 0 ? ` (-${r.hintCost})` : ''}  checked ×${state.checks}`, color: r.passed ? 'green' : 'yellow', bold: true }} width={width} color={c} />
      <Box flexDirection="column" height={bodyRows}>
        {body.slice(0, bodyRows).map((l, i) => <Row key={i} line={l} width={width} color={c} />)}
      </Box>
      <Row line={status} width={width} color={c} />
    </Box>
  );
}

/** Runs the exercise panel in the real terminal until `q`. */
export async function startExerciseTui(props: ExerciseTuiProps): Promise<void> {
  const app = render(<ExerciseApp {...props} />, { exitOnCtrlC: true });
  await app.waitUntilExit();
}
