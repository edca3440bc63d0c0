/**
 * The one comparison of scenario outcomes, shared by `meshrange assess` (the same scenarios run on the
 * mesh before and after a change) and `run --baseline` (a run against a saved JSON report). Both sides
 * are reduced to outcome records — from RunResults, or from a JSON report read off disk — and compared
 * by (scenario name, step id) and (scenario name, flow from → to).
 *
 * Rules (product.md §4):
 * - an attack step (from the foothold) that was `blocked` and is now `allowed` or `partial` is a regression; the
 *   reverse (allowed or partial → blocked) an improvement; allowed ↔ partial is a change, neither better nor worse;
 * - a legitimate step (not from the attacker) is never a regression or an improvement: it is `broken` when less of it
 *   gets through (allowed → partial or blocked, partial → blocked) — an outage, not a security gain — and `changed`
 *   otherwise (more of it gets through);
 * - steps only on one side are listed as added or removed, never silently dropped;
 * - a legitimate flow whose success rate moved by more than `trafficTolerance` is listed, worse or better;
 * - flows only on one side are listed as trafficAdded or trafficRemoved, never silently dropped.
 * Records are compared with Maps keyed by the composite key, never plain-object lookups.
 */
import type { Outcome, RunResult } from '../scenario/types.js';

export interface StepRecord {
  scenario: string;
  step: string;
  action: string;
  /** run from the foothold (counts toward the verdict) rather than legitimate traffic */
  attack: boolean;
  outcome: Outcome;
  /** `Control namespace/name` of each control that stopped the step, in packet order */
  stoppedBy: string[];
}

export interface TrafficRecord {
  scenario: string;
  from: string;
  to: string;
  sent: number;
  ok: number;
}

/** `regression` / `improvement`: attack steps only; `broken`: legitimate steps only; `changed`: either. */
export type StepChangeKind = 'regression' | 'improvement' | 'broken' | 'changed';

export interface StepChange {
  scenario: string;
  step: string;
  action: string;
  attack: boolean;
  before: Outcome;
  after: Outcome;
  kind: StepChangeKind;
  stoppedByBefore: string[];
  stoppedByAfter: string[];
}

export interface TrafficChange {
  scenario: string;
  from: string;
  to: string;
  /** success rate ok/sent, 0..1 (1 when nothing was sent) */
  before: number;
  after: number;
  kind: 'worse' | 'better';
}

export interface OutcomeComparison {
  steps: StepChange[];
  regressions: StepChange[];
  improvements: StepChange[];
  /** legitimate steps less of which gets through (kind `broken`) */
  broken: StepChange[];
  added: StepRecord[];
  removed: StepRecord[];
  traffic: TrafficChange[];
  /** flows only the after side has (after's order) */
  trafficAdded: TrafficRecord[];
  /** flows only the before side has (before's order) */
  trafficRemoved: TrafficRecord[];
}

export function stoppedByKey(b: { control: string; name: string | null }): string {
  return b.name === null ? b.control : `${b.control} ${b.name}`;
}

export function stepRecords(runs: readonly RunResult[]): StepRecord[] {
  const out: StepRecord[] = [];
  for (const r of runs) {
    for (const s of r.steps) {
      out.push({ scenario: r.scenario, step: s.id, action: s.action, attack: s.attack, outcome: s.outcome, stoppedBy: s.stoppedBy.map(stoppedByKey) });
    }
  }
  return out;
}

export function trafficRecords(runs: readonly RunResult[]): TrafficRecord[] {
  const out: TrafficRecord[] = [];
  for (const r of runs) for (const t of r.traffic) out.push({ scenario: r.scenario, from: t.from, to: t.to, sent: t.sent, ok: t.ok });
  return out;
}

/** How much of a step got through: blocked < partial < allowed. */
const THROUGH: Readonly<Record<Outcome, number>> = { blocked: 0, partial: 1, allowed: 2 };

/** The kind of a change of outcome (the rules above); `run --baseline` and `assess` both use it. */
export function classifyChange(attack: boolean, before: Outcome, after: Outcome): StepChangeKind {
  if (!attack) return THROUGH[after] < THROUGH[before] ? 'broken' : 'changed';
  if (before === 'blocked' && after !== 'blocked') return 'regression';
  if (before !== 'blocked' && after === 'blocked') return 'improvement';
  return 'changed';
}

const SEP = '\u0000';

function rate(t: TrafficRecord): number {
  return t.sent === 0 ? 1 : t.ok / t.sent;
}

/**
 * Compares two sides. Output order is stable: the order of `after` (then removed steps in the order of
 * `before`), so a report built from it is deterministic.
 */
export function compareOutcomes(
  before: { steps: readonly StepRecord[]; traffic: readonly TrafficRecord[] },
  after: { steps: readonly StepRecord[]; traffic: readonly TrafficRecord[] },
  opts: { trafficTolerance?: number } = {},
): OutcomeComparison {
  const tolerance = opts.trafficTolerance ?? 0.01;
  const beforeSteps = new Map<string, StepRecord>();
  for (const s of before.steps) beforeSteps.set(s.scenario + SEP + s.step, s);
  const afterKeys = new Set<string>();
  const steps: StepChange[] = [];
  const added: StepRecord[] = [];
  for (const a of after.steps) {
    const key = a.scenario + SEP + a.step;
    afterKeys.add(key);
    const b = beforeSteps.get(key);
    if (b === undefined) {
      added.push(a);
      continue;
    }
    if (b.outcome === a.outcome) continue;
    steps.push({
      scenario: a.scenario, step: a.step, action: a.action, attack: a.attack, before: b.outcome, after: a.outcome,
      kind: classifyChange(a.attack, b.outcome, a.outcome), stoppedByBefore: b.stoppedBy, stoppedByAfter: a.stoppedBy,
    });
  }
  const removed = before.steps.filter((s) => !afterKeys.has(s.scenario + SEP + s.step));
  const beforeTraffic = new Map<string, TrafficRecord>();
  for (const t of before.traffic) beforeTraffic.set(t.scenario + SEP + t.from + SEP + t.to, t);
  const traffic: TrafficChange[] = [];
  const trafficAdded: TrafficRecord[] = [];
  const afterFlows = new Set<string>();
  for (const a of after.traffic) {
    const key = a.scenario + SEP + a.from + SEP + a.to;
    afterFlows.add(key);
    const b = beforeTraffic.get(key);
    if (b === undefined) {
      trafficAdded.push(a);
      continue;
    }
    const rb = rate(b);
    const ra = rate(a);
    if (Math.abs(ra - rb) <= tolerance) continue;
    traffic.push({ scenario: a.scenario, from: a.from, to: a.to, before: rb, after: ra, kind: ra < rb ? 'worse' : 'better' });
  }
  return {
    steps,
    regressions: steps.filter((s) => s.kind === 'regression'),
    improvements: steps.filter((s) => s.kind === 'improvement'),
    broken: steps.filter((s) => s.kind === 'broken'),
    added,
    removed,
    traffic,
    trafficAdded,
    trafficRemoved: before.traffic.filter((t) => !afterFlows.has(t.scenario + SEP + t.from + SEP + t.to)),
  };
}
