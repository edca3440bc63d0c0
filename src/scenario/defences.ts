/**
 * Defence in depth and counterfactuals (product.md §3.2), for every step that
 * did not get through: which controls stop it, in packet order, and which of
 * them the defence hangs on.
 *
 * How: the whole scenario is re-run against mesh variants (the mesh minus a
 * set of controls, analysis/counterfactual.ts), and only each step's
 * `outcome` and `stoppedBy` are read back. Re-running everything keeps the
 * attacker's state (what earlier steps stole, captured or took over) right
 * for every action, without knowing any action by name.
 *
 * - Peel: the step is stopped by A → re-run without A; stopped by B → re-run
 *   without A and B; … until it gets through, or what stops it cannot be
 *   removed, or nothing new appears. Each round meets the control that sits
 *   next on the packet's path, so the order found is packet order; the
 *   controls one run reports together (a flood's) are put in packet order.
 * - Sole: a re-run with only that control removed; the step gets through
 *   (`allowed`) → `sole: true`.
 * - One re-run per distinct variant, shared by every step of the scenario.
 *   A variant run stops as soon as every step that needs it has finished, so
 *   the legitimate traffic after the last such step is not simulated again.
 * - Bounded, because scenarios come from strangers: at most MAX_VARIANTS
 *   variant runs per scenario, no new one once the variants together have
 *   processed more simulated events than the budget the caller gives (a
 *   multiple of the scenario's own run), and MAX_ROUNDS peels per step; past
 *   that the report carries a warning and the defences found so far (a
 *   defence whose variant was not run keeps `sole: false`). A flood is
 *   re-run in simulated time like everything else: the shipped floods need
 *   one variant each, which roughly doubles their cost; the budget keeps a
 *   scenario near the request limit from multiplying it.
 */
import { controlKey, isRemovable, packetRank, type ControlRef } from '../analysis/counterfactual.js';
import type { StoppedBy } from '../policy/pipeline.js';
import type { ControlSummary, Defence, Outcome, StepResult } from './types.js';

/** Re-runs of one scenario against mesh variants; each one simulates the whole scenario up to its last needed step. */
export const MAX_VARIANTS = 64;
/** Peels of one step; a step stopped by more controls than this is reported with the first ones. */
export const MAX_ROUNDS = 8;

export interface StepVerdict {
  outcome: Outcome;
  stoppedBy: readonly StoppedBy[];
}

/** Runs the scenario against the mesh minus `removed`: the verdict of every step that finished, and the simulated events it took. */
export type VariantRunner = (removed: readonly ControlRef[]) => { steps: ReadonlyMap<string, StepVerdict>; events: number };

const ref = (s: StoppedBy): ControlRef => ({ control: s.control, name: s.name });

function inPacketOrder(stops: readonly StoppedBy[]): StoppedBy[] {
  return stops.map((s, i) => ({ s, i })).sort((a, b) => packetRank(a.s.control) - packetRank(b.s.control) || a.i - b.i).map((x) => x.s);
}

/** Variant runs cached by the set of controls removed; a budget bounds how many are made. */
class Variants {
  private readonly cache = new Map<string, ReadonlyMap<string, StepVerdict>>();
  private events = 0;
  exhausted = false;

  constructor(private readonly run: VariantRunner, private readonly eventBudget: number) {}

  verdict(removed: readonly ControlRef[], stepId: string): StepVerdict | undefined {
    const key = removed.map(controlKey).sort().join('\n');
    let results = this.cache.get(key);
    if (!results) {
      if (this.cache.size >= MAX_VARIANTS || this.events >= this.eventBudget) { this.exhausted = true; return undefined; }
      const r = this.run(removed);
      this.events += r.events;
      if (!Number.isFinite(r.events)) this.exhausted = true; // the variant ran out of its event budget
      results = r.steps;
      this.cache.set(key, results);
    }
    return results.get(stepId);
  }
}

/** The defences of one step that did not get through. */
function defencesOf(step: StepResult, variants: Variants): { defences: Defence[]; complete: boolean } {
  const found: { stop: StoppedBy; removable: boolean }[] = [];
  const seen = new Set<string>();
  const removed: ControlRef[] = [];
  let current: StepVerdict | undefined = step;
  let complete = true;
  for (let round = 0; current && current.outcome !== 'allowed'; round++) {
    const fresh = inPacketOrder(current.stoppedBy).filter((s) => !seen.has(controlKey(ref(s))));
    if (fresh.length === 0) break;
    for (const s of fresh) {
      seen.add(controlKey(ref(s)));
      // an overwhelmed app is what stopped the step, but not a defence anyone configured
      if (s.control !== 'App') found.push({ stop: s, removable: isRemovable(ref(s)) });
    }
    const next = fresh.filter((s) => isRemovable(ref(s))).map(ref);
    if (next.length === 0) break;
    if (round + 1 >= MAX_ROUNDS) { complete = false; break; }
    removed.push(...next);
    current = variants.verdict(removed, step.id);
    if (!current && variants.exhausted) complete = false;
  }
  const defences = found.map(({ stop, removable }): Defence => {
    let sole = false;
    if (removable) {
      const alone = variants.verdict([ref(stop)], step.id);
      if (!alone && variants.exhausted) complete = false;
      sole = alone?.outcome === 'allowed';
    }
    const d: Defence = { control: stop.control, name: stop.name, reason: stop.reason, sole };
    if (!removable) d.removable = false;
    return d;
  });
  return { defences, complete };
}

/**
 * Fills `defences` on every step (empty for a step that got through) and
 * returns warnings for steps whose analysis hit a bound. `run` is called once
 * per distinct variant, lazily, in step order; no new variant starts once
 * the variants have processed `eventBudget` simulated events.
 */
export function attachDefences(steps: readonly StepResult[], run: VariantRunner, eventBudget = Infinity): string[] {
  const variants = new Variants(run, eventBudget);
  const incomplete: string[] = [];
  for (const s of steps) {
    if (s.outcome === 'allowed') { s.defences = []; continue; }
    const { defences, complete } = defencesOf(s, variants);
    s.defences = defences;
    if (!complete) incomplete.push(s.id);
  }
  if (incomplete.length === 0) return [];
  return [`defence analysis stopped at its bound (${MAX_VARIANTS} mesh variants, ${Number.isFinite(eventBudget) ? `${eventBudget} simulated events` : 'no event limit'} and three times the scenario's own pivot decisions per scenario, ${MAX_ROUNDS} controls per step): the defences of step${incomplete.length === 1 ? '' : 's'} ${incomplete.join(', ')} may be incomplete, and a defence whose variant was not run is reported with sole: false`];
}

/**
 * The report's `controls`: every control in any step's defences, with how
 * many steps it stops and how many it alone stops; sorted by soleStops, then
 * stops (both descending), then by packet order, kind and name.
 */
export function summarizeControls(steps: readonly StepResult[]): ControlSummary[] {
  const byKey = new Map<string, ControlSummary>();
  for (const s of steps) {
    for (const d of s.defences ?? []) {
      const key = controlKey(d);
      let c = byKey.get(key);
      if (!c) { c = { control: d.control, name: d.name, stops: 0, soleStops: 0 }; byKey.set(key, c); }
      c.stops++;
      if (d.sole) c.soleStops++;
    }
  }
  return [...byKey.values()].sort((a, b) => b.soleStops - a.soleStops || b.stops - a.stops
    || packetRank(a.control) - packetRank(b.control) || cmp(a.control, b.control)
    || Number(a.name !== null) - Number(b.name !== null) || cmp(a.name ?? '', b.name ?? ''));
}

/** Code-unit order: the same on every machine, whatever its locale. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
