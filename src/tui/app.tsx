/**
 * `meshrange tui`: the ink app. State lives in state.ts (a plain reducer), the
 * text of every panel in report/view.ts (a neutral view); this file only wires
 * keys to actions and lays the views out in the terminal's size. Loaded by a
 * dynamic import from cli/tui.ts, so no other command pays for ink and React.
 */
import { Box, render, Text, useApp, useInput, useStdout } from 'ink';
import { useEffect, useMemo, useReducer, useState, type ReactNode } from 'react';
import { escapeControls as esc } from '../core/escape.js';
import type { Mesh } from '../model/types.js';
import { headerView, meshView, sparkViews, stepRows, stepView } from '../report/view.js';
import type { Outcome, RunResult } from '../scenario/types.js';
import { initialState, reduce, visibleSteps, type StepKey, type TuiState } from './state.js';
/** The exercise panel (`tui --exercise`) loads through this module too: the CLI imports the TUI from one place. */
export { startExerciseTui, type ExerciseTuiProps, type ExerciseUpdate, type HintOutcome } from './exercise-app.js';

export interface TuiRun {
  result: RunResult;
  mesh: Mesh;
  /** the loader's and binding's warnings, formatted with their places (what `run` prints on stderr) */
  warnings?: string[];
}

/** Every warning of a run, each once. */
function warningsOf(run: TuiRun): string[] {
  return [...new Set([...(run.warnings ?? []), ...run.result.warnings])];
}

/** A re-run's news (--watch): a new run, or why the edited files could not run. */
export type TuiUpdate = { run: TuiRun } | { error: string };

export interface TuiProps {
  run: TuiRun;
  /** colours on (off with NO_COLOR) */
  color: boolean;
  /** fixed size (tests); otherwise the terminal's, following resizes */
  columns?: number;
  rows?: number;
  /** --watch: subscribe to re-runs; returns the unsubscribe */
  watch?: (on: (u: TuiUpdate) => void) => () => void;
  /** real ms between playback ticks (default 100) */
  tickMs?: number;
  onQuit?: () => void;
}

/** One line of a panel: its text and how to show it. */
interface Line {
  text: string;
  color?: string;
  bold?: boolean;
  dim?: boolean;
}

const OUTCOME_COLOR: Record<Outcome, string> = { allowed: 'red', blocked: 'green', partial: 'yellow' };

export function keysOf(r: RunResult): StepKey[] {
  return r.steps.map((s) => ({ id: s.id, action: s.action, t: s.t }));
}

export function formatMs(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

/** Sparkline colours by outcome: answered green, throttled yellow, unavailable red. */
const SPARK_COLOR: Readonly<Record<string, Line['color']>> = { ok: 'green', '429': 'yellow', '503': 'red', other: 'magenta' };

function traceLines(run: TuiRun, index: number): Line[] {
  const s = run.result.steps[index];
  if (!s) return [{ text: 'no step selected', dim: true }];
  const v = stepView(s);
  const out: Line[] = [
    { text: `${v.mark} ${v.id}: ${v.action} ${v.route}`, bold: true },
    { text: `${v.outcome.toUpperCase()}${v.answer ? ` ${v.answer}` : ''} at t=${formatMs(v.t)}`, color: OUTCOME_COLOR[v.outcome] },
  ];
  for (const b of v.stoppedBy) out.push({ text: `stopped by ${b}`, color: 'green', bold: true });
  if (v.defences.length > 0) {
    out.push({ text: 'defences:', bold: true });
    for (const d of v.defences) out.push({ text: `  ${d.sole ? '★ sole ' : '  '}${d.label}${d.stopped ? ' (stopped it)' : ''}`, ...(d.sole ? { color: 'cyan' } : {}) });
  }
  for (const n of v.notes) out.push({ text: n });
  const sparks = sparkViews(run.result, `step ${s.id}`);
  if (sparks.length > 0) {
    out.push({ text: `over simulated time (${formatMs(run.result.timeline?.bucketMs ?? 0)} a bar):`, bold: true });
    for (const sp of sparks) out.push({ text: `  ${sp.label.padStart(5)} ${sp.line}`, color: SPARK_COLOR[sp.label] ?? 'white' });
  }
  if (v.graph.length > 0) {
    out.push({ text: 'attack graph:', bold: true });
    for (const g of v.graph) {
      out.push({ text: ` hop ${g.hop} from ${g.from}` });
      for (const l of g.lines) out.push({ text: `   ${l}`, color: l.endsWith(' allowed') ? 'red' : 'green' });
    }
  }
  if (v.flows.length > 0) {
    out.push({ text: 'observed flows:', bold: true });
    for (const f of v.flows) out.push({ text: ` ${f.encrypted ? 'enc  ' : 'CLEAR'} ${f.link}:${f.port} ${f.protocol} ${f.read}`, color: f.encrypted ? 'green' : 'red' });
  }
  out.push({ text: 'trace:', bold: true });
  for (const h of v.hops) {
    out.push({ text: ` ${h.title}${h.stopped ? '  ✋ stopped here' : ''}`, bold: true, ...(h.stopped ? { color: 'green' } : {}) });
    for (const l of h.lines) out.push({ text: `   ${l}`, ...(l === '—' || l === 'not reached' ? { dim: true } : {}) });
  }
  if (v.request.length > 0) {
    out.push({ text: 'request:', bold: true });
    for (const l of v.request) out.push({ text: ` ${l}` });
  }
  if (v.response.length > 0) {
    out.push({ text: 'response the client saw:', bold: true });
    for (const l of v.response) out.push({ text: ` ${l}` });
  }
  return out;
}

function meshLines(run: TuiRun, index: number): Line[] {
  const out: Line[] = [{ text: 'mesh  [S] sidecar  [G] gateway  [-] none; ▶ attacker; colour: outcome on the path', dim: true }];
  for (const ns of meshView(run.mesh, run.result.steps[index])) {
    out.push({ text: `${ns.name}  (mTLS ${ns.mtls})`, bold: true });
    for (const w of ns.workloads) {
      const badge = w.gateway ? '[G]' : w.sidecar ? '[S]' : '[-]';
      const path = w.onPath ? `  ← ${w.onPath}` : '';
      out.push({ text: ` ${w.source ? '▶' : ' '} ${badge} ${w.name}${w.mtls ? ` ${w.mtls}` : ''}${path}`, ...(w.onPath ? { color: OUTCOME_COLOR[w.onPath], bold: true } : {}) });
    }
  }
  run.result.traffic.forEach((t, i) => {
    out.push({ text: `traffic ${esc(t.from)} → ${esc(t.to)}: ${t.ok}/${t.sent} ok${t.statuses ? `  ${Object.entries(t.statuses).map(([k, n]) => `${esc(k)}×${n}`).join(' ')}` : ''}`, ...(t.degraded ? { color: 'yellow' } : {}) });
    for (const sp of sparkViews(run.result, `traffic[${i}]`)) out.push({ text: `  ${sp.label.padStart(5)} ${sp.line}`, color: SPARK_COLOR[sp.label] ?? 'white' });
  });
  const warnings = warningsOf(run);
  if (warnings.length > 0) {
    out.push({ text: `${warnings.length} warning${warnings.length === 1 ? '' : 's'}:`, bold: true, color: 'yellow' });
    for (const w of warnings) out.push({ text: ` ${esc(w)}`, color: 'yellow' });
  }
  return out;
}

/**
 * Long lines wrapped to the pane's width (at a space when there is one),
 * continuations indented one more than the line: a trace line is read whole.
 */
export function wrapLines(lines: readonly Line[], width: number): Line[] {
  const out: Line[] = [];
  const w = Math.max(8, width);
  for (const l of lines) {
    const indent = ' '.repeat(Math.min(w - 4, (/^ */.exec(l.text)?.[0].length ?? 0) + 2));
    let rest = l.text;
    while (rest.length > w) {
      let cut = rest.lastIndexOf(' ', w);
      if (cut <= indent.length) cut = w;
      out.push({ ...l, text: rest.slice(0, cut) });
      rest = indent + rest.slice(cut).trimStart();
    }
    out.push({ ...l, text: rest });
  }
  return out;
}

const HELP: readonly string[] = [
  'keys',
  '  ↑/↓ j/k     select a step (in the trace and mesh panes: scroll)',
  '  enter       open the selected step: jump the clock to it, show its trace',
  '  tab         next pane: steps → trace → mesh (shift-tab back)',
  '  space       play / pause simulated time',
  '  ←/→ h/l     step back / forward',
  '  1-9         jump to the nth step shown',
  '  /           filter steps by id or action (enter keeps, esc clears)',
  '  ?           this help        q  quit',
];

/** A line of a panel, cut to the width (colour only when allowed). */
function Row({ line, width, color }: { line: Line; width: number; color: boolean }): ReactNode {
  const text = line.text.length > width ? `${line.text.slice(0, Math.max(0, width - 1))}…` : line.text;
  return (
    <Text wrap="truncate" bold={line.bold ?? false} dimColor={color && (line.dim ?? false)} {...(color && line.color ? { color: line.color } : {})}>
      {text === '' ? ' ' : text}
    </Text>
  );
}

function useTerminalSize(columns?: number, rows?: number): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = (): { columns: number; rows: number } => ({ columns: columns ?? (stdout.columns || 80), rows: rows ?? (stdout.rows || 24) });
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (columns !== undefined && rows !== undefined) return undefined;
    const onResize = (): void => setSize(read());
    stdout.on('resize', onResize);
    return () => { stdout.off('resize', onResize); };
  }, [stdout, columns, rows]);
  return size;
}

export function App(props: TuiProps): ReactNode {
  const [run, setRun] = useState(props.run);
  const [problem, setProblem] = useState<string | null>(null);
  const [state, dispatch] = useReducer(reduce, keysOf(props.run.result), initialState);
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize(props.columns, props.rows);

  // The key goes into the reducer whole: the key map reads the state as it is then, not as this render saw it.
  useInput((input, key) => dispatch({ type: 'keys', key: {
    input, up: key.upArrow, down: key.downArrow, left: key.leftArrow, right: key.rightArrow, return: key.return, tab: key.tab,
    shift: key.shift, escape: key.escape, backspace: key.backspace, delete: key.delete, ctrl: key.ctrl, pageUp: key.pageUp, pageDown: key.pageDown,
  } }));
  // Effects run in order: once this one has, useInput's listener is on stdin, and the key hints show.
  const [keysLive, setKeysLive] = useState(false);
  useEffect(() => setKeysLive(true), []);
  useEffect(() => {
    if (!state.quit) return;
    props.onQuit?.();
    exit();
  }, [state.quit]);
  // Playback: a tick of simulated time per tick of real time; the whole run plays in about 5 s.
  const tickMs = props.tickMs ?? 100;
  useEffect(() => {
    if (!state.playing) return undefined;
    const step = Math.max(1, state.endMs / 50);
    const timer = setInterval(() => dispatch({ type: 'tick', ms: step }), tickMs);
    return () => clearInterval(timer);
  }, [state.playing, state.endMs, tickMs]);
  useEffect(() => {
    if (!props.watch) return undefined;
    return props.watch((u) => {
      if ('error' in u) { setProblem(u.error); return; }
      setProblem(null);
      setRun(u.run);
      dispatch({ type: 'load', steps: keysOf(u.run.result) });
    });
  }, [props.watch]);

  const h = headerView(run.result);
  const warned = warningsOf(run).length;
  const c = props.color;
  const bodyRows = Math.max(3, rows - 4);
  const listWidth = Math.min(30, Math.max(16, Math.floor(columns * 0.34)));
  const rightWidth = Math.max(10, columns - listWidth - 3);
  const rowsOf = useMemo(() => stepRows(run.result), [run]);
  const vis = visibleSteps(state);
  // The list scrolls to keep the selection in view.
  const at = Math.max(0, vis.indexOf(state.selected));
  const top = Math.max(0, Math.min(at - Math.floor((bodyRows - 1) / 2), vis.length - (bodyRows - 1)));
  const right = wrapLines(state.pane === 'mesh' ? meshLines(run, state.selected) : traceLines(run, state.selected), rightWidth);
  const scroll = Math.min(state.scroll, Math.max(0, right.length - (bodyRows - 1)));
  const verdictColor = h.verdict === 'breached' ? 'red' : 'green';
  const focus = (p: TuiState['pane'], title: string): Line => ({ text: state.pane === p ? `[${title}]` : ` ${title} `, bold: state.pane === p, ...(state.pane === p ? { color: 'cyan' } : {}) });

  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <Text wrap="truncate">
        <Text bold>{h.scenario}</Text>
        {'  '}
        <Text bold {...(c ? { color: verdictColor } : {})}>{h.verdict.toUpperCase()}</Text>
        <Text {...(c ? { color: h.allMet ? 'green' : 'red' } : {})}>{`  expectations ${h.expectations} met`}</Text>
      </Text>
      <Text wrap="truncate">{`seed ${h.seed}  simulated t=${formatMs(state.clock)} of ${formatMs(h.endMs)}  ${state.playing ? '▶ playing' : '❚❚ paused'}${warned > 0 ? `  ${warned} warning${warned === 1 ? '' : 's'} (mesh pane)` : ''}`}</Text>
      {state.help ? (
        <Box flexDirection="column" borderStyle="single" height={bodyRows + 1}>
          {HELP.map((l, i) => <Row key={i} line={{ text: l, ...(i === 0 ? { bold: true } : {}) }} width={columns - 2} color={c} />)}
        </Box>
      ) : (
        <Box height={bodyRows + 1}>
          <Box flexDirection="column" width={listWidth} marginRight={1}>
            <Row line={focus('steps', `steps ${vis.length}/${rowsOf.length}`)} width={listWidth} color={c} />
            {vis.slice(top, top + bodyRows - 1).map((i) => {
              const r = rowsOf[i];
              if (!r) return null;
              const sel = i === state.selected;
              return <Row key={i} line={{ text: `${sel ? '›' : ' '}${r.mark} ${r.id}`, ...(sel ? { bold: true } : {}), color: OUTCOME_COLOR[r.outcome] }} width={listWidth} color={c} />;
            })}
            {vis.length === 0 ? <Row line={{ text: ' no step matches', dim: true }} width={listWidth} color={c} /> : null}
          </Box>
          <Box flexDirection="column" width={rightWidth}>
            <Box>
              <Row line={focus('trace', 'trace')} width={9} color={c} />
              <Row line={focus('mesh', 'mesh')} width={8} color={c} />
            </Box>
            {right.slice(scroll, scroll + bodyRows - 1).map((l, i) => <Row key={i} line={l} width={rightWidth} color={c} />)}
          </Box>
        </Box>
      )}
      <Box>
        {state.filtering
          ? <Text wrap="truncate">{`/${state.filter}▏  (enter keeps, esc clears)`}</Text>
          : <Text wrap="truncate" {...(problem && c ? { color: 'red' } : {})} dimColor={c && !problem}>
              {problem ? `re-run failed, showing the last good run: ${esc(problem)}` : !keysLive ? ' ' : `${state.filter ? `filter "${state.filter}"  ` : ''}j/k select, enter open, tab pane, space play, h/l step, / filter, ? help, q quit`}
            </Text>}
      </Box>
    </Box>
  );
}

/** Runs the app in the real terminal until `q` (or ctrl-c); resolves when it has left the screen. */
export async function startTui(props: TuiProps): Promise<void> {
  const app = render(<App {...props} />, { exitOnCtrlC: true });
  await app.waitUntilExit();
}
