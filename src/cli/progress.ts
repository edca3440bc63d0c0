/**
 * The progress line of long runs (issue 10 item 3): on stderr, only when
 * stderr is a terminal and not with --quiet; never on stdout, never in a
 * report. One line rewritten in place: scenario i/n, the phase and its
 * fraction of simulated time, events so far and events per second of wall
 * time. The simulation reports simulated time and events only
 * (scenario/simulate.ts SimProgress); wall time is read here, in the CLI.
 */
import type { RunProgress } from '../api/run.js';
import { escapeControls } from '../core/escape.js';

/** Where the line goes: process.stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export interface ProgressLine {
  /** undefined when no progress is shown: the run then does not even slice its simulated time */
  hook: ((p: RunProgress) => void) | undefined;
  /** clears the line, so what follows on stderr starts on a clean line */
  done(): void;
}

/** Most often the line is rewritten, in ms of wall time (besides the first report of each scenario and phase). */
export const PROGRESS_INTERVAL_MS = 100;

const CLEAR = '\r\u001b[K';

function count(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** The line for one report; `wallMs`: wall time since the scenario started. */
export function progressText(p: RunProgress, wallMs: number): string {
  const pct = p.endMs > 0 ? Math.min(100, Math.floor((p.simMs / p.endMs) * 100)) : 100;
  const rate = wallMs > 0 ? `, ${count((p.events / wallMs) * 1000)} events/s` : '';
  return `[${p.index}/${p.total}] ${escapeControls(p.scenario)}: ${p.phase} ${pct}% of simulated time (${seconds(p.simMs)} of ${seconds(p.endMs)}), ${count(p.events)} events${rate}`;
}

export function progressLine(stream: ProgressStream | undefined, quiet: boolean, clock: () => number = () => performance.now()): ProgressLine {
  if (quiet || !stream || stream.isTTY !== true) return { hook: undefined, done: () => {} };
  let shown = false;
  let last = -Infinity;
  let scenario = 0;
  let phase = '';
  let started = 0;
  return {
    hook: (p) => {
      const now = clock();
      const fresh = p.index !== scenario || p.phase !== phase;
      if (p.index !== scenario) started = now;
      if (!fresh && now - last < PROGRESS_INTERVAL_MS) return;
      scenario = p.index;
      phase = p.phase;
      last = now;
      let text = progressText(p, now - started);
      const width = stream.columns ?? 0;
      // A line longer than the terminal wraps, and \r would then rewrite only its last row.
      if (width > 1 && text.length > width - 1) text = text.slice(0, width - 1);
      stream.write(`${CLEAR}${text}`);
      shown = true;
    },
    done: () => {
      if (shown) stream.write(CLEAR);
      shown = false;
    },
  };
}
