/**
 * The TUI's state as a plain reducer (architecture.md: "each panel = state
 * reducer + input hook + props-only view; reducers tested as plain
 * functions"). No ink, no React, no clock of its own: playback advances only
 * by `tick` actions, which the app sends on a timer and tests send by hand.
 */

export type Pane = 'steps' | 'trace' | 'mesh';
const PANES: readonly Pane[] = ['steps', 'trace', 'mesh'];

/** What the reducer needs of a step: its name for the filter, its start for the clock. */
export interface StepKey {
  id: string;
  action: string;
  /** simulated ms since t=0 */
  t: number;
}

export interface TuiState {
  steps: readonly StepKey[];
  /** index into `steps` of the selected step; -1 when the run has none */
  selected: number;
  pane: Pane;
  filter: string;
  /** the `/` prompt is open: keys type into the filter */
  filtering: boolean;
  /** simulated time shown, ms */
  clock: number;
  /** the last step's start: where playback ends */
  endMs: number;
  playing: boolean;
  help: boolean;
  /** first line shown of the right-hand pane */
  scroll: number;
  quit: boolean;
}

export type TuiAction =
  | { type: 'move'; by: number }
  /** the nth (from 0) step the list shows */
  | { type: 'jump'; nth: number }
  | { type: 'next-pane' } | { type: 'prev-pane' } | { type: 'open' }
  | { type: 'filter-start' } | { type: 'filter-type'; text: string } | { type: 'filter-erase' } | { type: 'filter-done' } | { type: 'filter-cancel' }
  | { type: 'play-pause' } | { type: 'tick'; ms: number }
  | { type: 'step-forward' } | { type: 'step-back' }
  | { type: 'scroll'; by: number }
  | { type: 'help' } | { type: 'quit' }
  | { type: 'load'; steps: readonly StepKey[] }
  /** a read of the terminal: its keys, each through the key map against the state it finds */
  | { type: 'keys'; key: KeyPress };

/** Longest filter kept: typing more is ignored, nothing else is. */
export const MAX_FILTER = 64;

export function initialState(steps: readonly StepKey[]): TuiState {
  return {
    steps, selected: steps.length > 0 ? 0 : -1, pane: 'steps', filter: '', filtering: false,
    clock: steps[0]?.t ?? 0, endMs: endOf(steps), playing: false, help: false, scroll: 0, quit: false,
  };
}

function endOf(steps: readonly StepKey[]): number {
  return steps.reduce((m, s) => Math.max(m, s.t), 0);
}

/** Indexes of the steps the filter keeps (id or action containing it, any case), in run order. */
export function visibleSteps(s: Pick<TuiState, 'steps' | 'filter'>): number[] {
  const f = s.filter.toLowerCase();
  const out: number[] = [];
  s.steps.forEach((x, i) => {
    if (f === '' || x.id.toLowerCase().includes(f) || x.action.toLowerCase().includes(f)) out.push(i);
  });
  return out;
}

/** Selecting a step moves the clock to its start, so the list and the clock always agree. */
function select(s: TuiState, index: number): TuiState {
  const step = s.steps[index];
  if (!step) return s;
  return { ...s, selected: index, clock: step.t, scroll: 0 };
}

/** The selection after the filter changed: kept when still shown, else the first shown step. */
function keepVisible(s: TuiState): TuiState {
  const vis = visibleSteps(s);
  if (vis.includes(s.selected)) return s;
  const first = vis[0];
  return first === undefined ? s : select(s, first);
}

export function reduce(s: TuiState, a: TuiAction): TuiState {
  switch (a.type) {
    case 'move': {
      const vis = visibleSteps(s);
      if (vis.length === 0) return s;
      const at = Math.max(0, vis.indexOf(s.selected));
      const to = vis[Math.min(vis.length - 1, Math.max(0, at + a.by))] as number;
      return { ...select(s, to), playing: false };
    }
    case 'jump': {
      const to = visibleSteps(s)[a.nth];
      return to === undefined ? s : { ...select(s, to), playing: false };
    }
    case 'next-pane':
    case 'prev-pane': {
      const i = PANES.indexOf(s.pane) + (a.type === 'next-pane' ? 1 : PANES.length - 1);
      return { ...s, pane: PANES[i % PANES.length] as Pane, scroll: 0 };
    }
    case 'open':
      return { ...(s.selected >= 0 ? select(s, s.selected) : s), pane: 'trace', playing: false };
    case 'filter-start':
      return { ...s, filtering: true, help: false };
    case 'filter-type':
      return keepVisible({ ...s, filter: (s.filter + a.text).slice(0, MAX_FILTER) });
    case 'filter-erase':
      return keepVisible({ ...s, filter: s.filter.slice(0, -1) });
    case 'filter-done':
      return { ...s, filtering: false };
    case 'filter-cancel':
      return { ...s, filtering: false, filter: '' };
    case 'play-pause': {
      if (s.playing) return { ...s, playing: false };
      // Play from the start again once the end was reached.
      const restart = s.clock >= s.endMs && s.endMs > 0;
      const first = visibleSteps(s)[0];
      const from = restart && first !== undefined ? select(s, first) : s;
      return { ...from, clock: restart ? 0 : s.clock, playing: true };
    }
    case 'tick': {
      if (!s.playing || !(a.ms > 0)) return s;
      const clock = Math.min(s.endMs, s.clock + a.ms);
      // The selected step is the last shown one that has started by now.
      let sel = s.selected;
      for (const i of visibleSteps(s)) if ((s.steps[i] as StepKey).t <= clock) sel = i;
      return { ...s, clock, selected: sel, scroll: sel === s.selected ? s.scroll : 0, playing: clock < s.endMs };
    }
    case 'step-forward':
    case 'step-back': {
      const vis = visibleSteps(s);
      const at = vis.indexOf(s.selected);
      const to = at < 0 ? vis[0] : vis[at + (a.type === 'step-forward' ? 1 : -1)];
      return to === undefined ? { ...s, playing: false } : { ...select(s, to), playing: false };
    }
    case 'scroll':
      return { ...s, scroll: Math.max(0, s.scroll + a.by) };
    case 'help':
      return { ...s, help: !s.help };
    case 'quit':
      return { ...s, quit: true, playing: false };
    case 'keys': {
      let next = s;
      for (const k of splitKeys(next, a.key)) {
        const act = keyAction(next, k);
        if (act) next = reduce(next, act);
      }
      return next;
    }
    case 'load': {
      // A re-run (--watch): keep the step of the same id selected when it still exists.
      const id = s.steps[s.selected]?.id;
      const next: TuiState = { ...s, steps: a.steps, endMs: endOf(a.steps), playing: false };
      const same = a.steps.findIndex((x) => x.id === id);
      if (same >= 0) return { ...next, selected: same, clock: Math.min(s.clock, next.endMs) };
      return a.steps.length > 0 ? select({ ...next, selected: 0 }, 0) : { ...next, selected: -1, clock: 0 };
    }
  }
}

/** A key as the terminal reports it (ink's useInput, reduced to what the TUI reads). */
export interface KeyPress {
  input: string;
  up?: boolean; down?: boolean; left?: boolean; right?: boolean;
  return?: boolean; tab?: boolean; shift?: boolean; escape?: boolean;
  backspace?: boolean; delete?: boolean; ctrl?: boolean;
  pageUp?: boolean; pageDown?: boolean;
}

/**
 * The key presses in one read of the terminal. Keys typed fast (or sent by
 * tmux send-keys) arrive as one chunk, "?q" or "\t\t": outside the filter
 * prompt each character of a plain chunk is its own key. Escape sequences
 * (arrows) and the filter's typed text stay whole.
 */
export function splitKeys(s: Pick<TuiState, 'filtering'>, k: KeyPress): KeyPress[] {
  if (s.filtering || k.input.length < 2 || k.ctrl || k.input.includes('\u001b')) return [k];
  return [...k.input].map((ch) => ({ input: ch, tab: ch === '\t', return: ch === '\r' }));
}

/**
 * The key map, k9s-like: arrows and j/k move, enter opens, tab cycles panes,
 * `/` filters, `?` help, `q` quits; space plays, ←/→ and h/l step through
 * time; 1–9 jump to a step. Null: the key does nothing.
 */
export function keyAction(s: TuiState, k: KeyPress): TuiAction | null {
  if (s.filtering) {
    if (k.return) return { type: 'filter-done' };
    if (k.escape) return { type: 'filter-cancel' };
    if (k.backspace || k.delete) return { type: 'filter-erase' };
    // Printable text only: a control character never reaches the filter (or the screen).
    if (!k.ctrl && k.input !== '' && [...k.input].every((c) => c >= ' ' && c !== '\u007f')) return { type: 'filter-type', text: k.input };
    return null;
  }
  if (s.help) return k.input === 'q' ? { type: 'quit' } : { type: 'help' };
  if (k.tab) return { type: k.shift ? 'prev-pane' : 'next-pane' };
  if (k.return) return { type: 'open' };
  if (k.escape) return s.filter !== '' ? { type: 'filter-cancel' } : s.pane !== 'steps' ? { type: 'prev-pane' } : null;
  if (k.left) return { type: 'step-back' };
  if (k.right) return { type: 'step-forward' };
  const inList = s.pane === 'steps';
  if (k.up) return inList ? { type: 'move', by: -1 } : { type: 'scroll', by: -1 };
  if (k.down) return inList ? { type: 'move', by: 1 } : { type: 'scroll', by: 1 };
  if (k.pageUp) return { type: 'scroll', by: -10 };
  if (k.pageDown) return { type: 'scroll', by: 10 };
  if (k.ctrl) return null;
  switch (k.input) {
    case 'q': return { type: 'quit' };
    case '?': return { type: 'help' };
    case '/': return { type: 'filter-start' };
    case ' ': return { type: 'play-pause' };
    case 'h': return { type: 'step-back' };
    case 'l': return { type: 'step-forward' };
    case 'k': return inList ? { type: 'move', by: -1 } : { type: 'scroll', by: -1 };
    case 'j': return inList ? { type: 'move', by: 1 } : { type: 'scroll', by: 1 };
    default:
      if (/^[1-9]$/.test(k.input)) return { type: 'jump', nth: Number(k.input) - 1 };
      return null;
  }
}
