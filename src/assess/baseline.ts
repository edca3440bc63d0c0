/**
 * `run --baseline FILE` (product.md §4, issue 11 item 3): a saved JSON report
 * (one scenario object, or an array of them) → the outcome records of
 * assess/compare.ts, and the comparison attached to each scenario of a run.
 *
 * A saved report comes from a stranger (an artifact of another job, a file in
 * a pull request), so it is read as hostile input:
 *  - its size is bounded (MAX_REPORT_BYTES; the CLI checks the file before
 *    reading it, this module checks the text again);
 *  - JSON.parse, then an iterative walk that refuses nesting deeper than
 *    MAX_REPORT_DEPTH and any `__proto__` key (it could reach a prototype
 *    wherever the object is copied);
 *  - a zod schema of the fields the comparison reads, each length and count
 *    bounded; unknown fields are allowed (a newer meshrange may add some);
 *  - every problem is an issue at file:line:col (a JSON syntax error at its
 *    position; a schema problem at the value, found by re-reading the text
 *    with the YAML parser, which keeps positions — JSON is YAML);
 *  - two scenarios of the same name, or two steps of one scenario with the
 *    same id, are refused: the comparison keys on them.
 * Pure: takes text and a file name.
 */
import * as z from 'zod/mini';
import { intIn, stringOfLength } from '../core/zod.js';
import { IssueList, type Location } from '../core/issues.js';
import { parseYaml, type SourceDoc } from '../loader/yaml-source.js';
import type { BaselineSection, RunResult } from '../scenario/types.js';
import { compareOutcomes, stepRecords, stoppedByKey, trafficRecords, type StepRecord, type TrafficRecord } from './compare.js';

/** The largest report meshrange reads back (a suite of hundreds of scenarios with their evidence). */
export const MAX_REPORT_BYTES = 64 * 1024 * 1024;
/** The deepest nesting a report may have (meshrange's own reports stay under 12). */
export const MAX_REPORT_DEPTH = 64;
/** Most scenarios in one report, steps in one scenario, flows in one scenario. */
export const MAX_REPORT_SCENARIOS = 10_000;
export const MAX_REPORT_STEPS = 10_000;

const text = (max: number): z.ZodMiniString<string> => stringOfLength(0, max);
/** zod/mini, as the scenario schemas are (core/zod.ts): the CLI bundle then holds no classic zod (benchmarks.md B4, T4.1). */
function makeScenarioRecordSchema() {
  const stepRecordSchema = z.looseObject({
    id: text(300),
    action: text(64),
    attack: z.boolean(),
    outcome: z.enum(['allowed', 'blocked', 'partial']),
    stoppedBy: z.array(z.looseObject({ control: text(64), name: z.nullable(text(600)) })).check(z.maxLength(1000)),
  });
  const flowRecordSchema = z.looseObject({
    from: text(600),
    to: text(600),
    sent: intIn(0, 1e12),
    ok: intIn(0, 1e12),
  });
  return z.looseObject({
    scenario: text(253),
    steps: z.array(stepRecordSchema).check(z.maxLength(MAX_REPORT_STEPS)),
    traffic: z.array(flowRecordSchema).check(z.maxLength(MAX_REPORT_STEPS)),
  });
}
/** Made on first use: a `meshrange run` that reads no baseline does not build it (benchmarks.md B4, T4.1). */
let scenarioRecordSchema: ReturnType<typeof makeScenarioRecordSchema> | undefined;

/** JSON report text → its scenario objects (an object becomes a list of one), or null with located issues. */
export function parseReportJson(file: string, source: string, issues: IssueList, what = 'a meshrange JSON report'): unknown[] | null {
  const fix = `give ${what} (meshrange run --format json, or --report json=PATH)`;
  if (source.length > MAX_REPORT_BYTES) {
    issues.error('report-too-large', `${file} holds ${source.length} characters; a report may hold at most ${MAX_REPORT_BYTES}`, { file, line: 1, col: 1 }, fix);
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /at position (\d+)/.exec(msg);
    // A truncated report (an upload cut short) has no position: it is located where the text ends.
    const at = pos ? Math.min(Number(pos[1]), source.length) : msg.includes('end of JSON input') ? source.length : null;
    issues.error('report-not-json', `${file} is not JSON: ${msg.replace(/ in JSON at position \d+.*$/s, '')}`, at !== null ? locationAt(file, source, at) : { file, line: 1, col: 1 }, fix);
    return null;
  }
  const shape = walk(value);
  if (shape) {
    issues.error('report-invalid', `${file}: ${shape}`, { file, line: 1, col: 1 }, fix);
    return null;
  }
  if (Array.isArray(value)) {
    if (value.length > MAX_REPORT_SCENARIOS) {
      issues.error('report-too-large', `${file} holds ${value.length} scenarios; a report may hold at most ${MAX_REPORT_SCENARIOS}`, { file, line: 1, col: 1 }, fix);
      return null;
    }
    return value;
  }
  if (typeof value !== 'object' || value === null) {
    issues.error('report-invalid', `${file} holds ${value === null ? 'null' : typeof value}, not a report (a scenario object or an array of them)`, { file, line: 1, col: 1 }, fix);
    return null;
  }
  return [value];
}

/** Nesting deeper than MAX_REPORT_DEPTH or a `__proto__` key → what is wrong; iterative, so no input can overflow the stack. */
function walk(root: unknown): string | null {
  const stack: { v: unknown; depth: number }[] = [{ v: root, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop() as { v: unknown; depth: number };
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_REPORT_DEPTH) return `nested deeper than ${MAX_REPORT_DEPTH} levels; a meshrange report is not`;
    if (Array.isArray(v)) { for (const x of v) stack.push({ v: x, depth: depth + 1 }); continue; }
    for (const k of Object.keys(v)) {
      if (k === '__proto__') return '"__proto__" cannot be a key in a report';
      stack.push({ v: (v as Record<string, unknown>)[k], depth: depth + 1 });
    }
  }
  return null;
}

export function locationAt(file: string, source: string, offset: number): Location {
  let line = 1;
  let start = 0;
  for (let i = source.indexOf('\n'); i >= 0 && i < offset; i = source.indexOf('\n', i + 1)) { line++; start = i + 1; }
  return { file, line, col: offset - start + 1 };
}

/** Where a path of a JSON document is written: re-read as YAML (JSON is YAML), which keeps positions. */
export function locateJsonPath(file: string, source: string, path: readonly (string | number)[]): Location {
  return new ReportProblems(file, source, new IssueList(), '').locate(path);
}

/** Most located problems reported for one report file; the rest are counted in one more line. */
export const MAX_ISSUES_PER_FILE = 20;

/**
 * The problems of one report file: each located by a path, from ONE parse of
 * the text with the YAML parser (done at the first problem, never again: a
 * hostile file with thousands of bad objects must not be re-parsed for each),
 * at most MAX_ISSUES_PER_FILE of them, then `finish()` says how many more.
 */
/**
 * The largest report whose problems are located at their line: locating reads the JSON again as YAML, whose node
 * trees cost ~600 MB per MB of JSON (a 4 MB report with one wrong field: 11.8 s and 2 GB; 10 MB ran out of heap).
 * A bigger report's problems are reported at its line 1, each naming its path.
 */
export const MAX_LOCATED_CHARS = 1024 * 1024;

export class ReportProblems {
  /** how many times the text was parsed to locate a path (0 or 1) */
  parses = 0;
  private doc: SourceDoc | null | undefined;
  private count = 0;
  constructor(readonly file: string, readonly source: string, readonly issues: IssueList, readonly fix: string, readonly max = MAX_ISSUES_PER_FILE) {}

  locate(path: readonly (string | number)[]): Location {
    if (this.doc === undefined && this.source.length > MAX_LOCATED_CHARS) this.doc = null;
    if (this.doc === undefined) {
      this.parses++;
      const scratch = new IssueList();
      const docs = parseYaml(this.file, this.source, scratch);
      this.doc = docs[0] && !scratch.hasErrors() ? docs[0] : null;
    }
    return this.doc ? this.doc.locate([...path]) : { file: this.file, line: 1, col: 1 };
  }

  /** One problem at a path of the document (or at a location); past the cap it is only counted. */
  error(code: string, message: string, at: readonly (string | number)[] | Location): void {
    this.count++;
    if (this.count > this.max) return;
    this.issues.error(code, message, Array.isArray(at) ? this.locate(at) : (at as Location), this.fix);
  }

  /** The count of problems left unsaid, as one more error (call once, after the file). */
  finish(): void {
    if (this.count > this.max) {
      const more = this.count - this.max;
      this.issues.error('report-invalid', `… and ${more} more problem${more === 1 ? '' : 's'} in ${this.file}`, { file: this.file, line: 1, col: 1 }, this.fix);
    }
  }

  get problems(): number { return this.count; }
}

/** Reports every problem of one scenario object against a schema, located (the index is its place in the array, null for a single object). */
export function reportSchemaIssues(problems: ReportProblems, index: number | null, err: z.core.$ZodError): void {
  for (const x of err.issues) {
    const rel = x.path.filter((p): p is string | number => typeof p !== 'symbol');
    const path = index === null ? rel : [index, ...rel];
    const name = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '') || '(report)';
    problems.error('report-invalid', `${name}: ${x.message}`, path);
  }
}

/** What a saved report recorded, as the comparison reads it. */
export interface Baseline {
  file: string;
  steps: StepRecord[];
  traffic: TrafficRecord[];
  /** scenario names, in the report's order */
  scenarios: string[];
}

/**
 * Saved report text → its outcome records, or null with located issues (exit 2 in the CLI).
 * `problems` is where the issues go (one locating parse, capped); tests pass theirs to count the parses.
 */
export function readBaseline(file: string, source: string, issues: IssueList,
  problems = new ReportProblems(file, source, issues, 'give a JSON report saved by meshrange run (--format json, or --report json=PATH)')): Baseline | null {
  const objects = parseReportJson(file, source, issues);
  if (!objects) return null;
  const before = issues.errors.length;
  const out: Baseline = { file, steps: [], traffic: [], scenarios: [] };
  const seen = new Set<string>();
  const single = objects.length === 1 && !source.trimStart().startsWith('[');
  objects.forEach((o, i) => {
    const index = single ? null : i;
    const at = (...p: (string | number)[]): (string | number)[] => (index === null ? p : [index, ...p]);
    const parsed = (scenarioRecordSchema ??= makeScenarioRecordSchema()).safeParse(o);
    if (!parsed.success) { reportSchemaIssues(problems, index, parsed.error); return; }
    const r = parsed.data;
    if (seen.has(r.scenario)) {
      problems.error('report-duplicate-scenario', `scenario "${r.scenario}" appears twice in ${file}`, at('scenario'));
      return;
    }
    seen.add(r.scenario);
    out.scenarios.push(r.scenario);
    const ids = new Set<string>();
    r.steps.forEach((s, j) => {
      if (ids.has(s.id)) {
        problems.error('report-duplicate-step', `scenario "${r.scenario}" has two steps "${s.id}"`, at('steps', j, 'id'));
        return;
      }
      ids.add(s.id);
      out.steps.push({ scenario: r.scenario, step: s.id, action: s.action, attack: s.attack, outcome: s.outcome, stoppedBy: s.stoppedBy.map(stoppedByKey) });
    });
    // The comparison keys flows on (scenario, from, to): two flows of one key would hide one of them.
    const flows = new Set<string>();
    r.traffic.forEach((t, j) => {
      const key = `${t.from}\u0000${t.to}`;
      if (flows.has(key)) {
        problems.error('report-duplicate-flow', `scenario "${r.scenario}" has two traffic flows ${t.from} → ${t.to}`, at('traffic', j));
        return;
      }
      flows.add(key);
      out.traffic.push({ scenario: r.scenario, from: t.from, to: t.to, sent: t.sent, ok: t.ok });
    });
  });
  problems.finish();
  return issues.errors.length > before ? null : out;
}

/**
 * Compares a run with a baseline and attaches each scenario's part to its
 * RunResult (`baseline`). `include` limits the baseline to the scenarios this
 * run is responsible for (a shard's); the baseline's scenarios that this run
 * did not run are returned, so the CLI can say so (never dropped silently).
 */
export function attachBaseline(results: RunResult[], baseline: Baseline, include: (scenario: string) => boolean = () => true): { notRun: string[] } {
  const keep = new Set(baseline.scenarios.filter(include));
  const cmp = compareOutcomes(
    { steps: baseline.steps.filter((s) => keep.has(s.scenario)), traffic: baseline.traffic.filter((t) => keep.has(t.scenario)) },
    { steps: stepRecords(results), traffic: trafficRecords(results) },
  );
  const ran = new Set(results.map((r) => r.scenario));
  for (const r of results) {
    const mine = <T extends { scenario: string }>(xs: readonly T[]): T[] => xs.filter((x) => x.scenario === r.scenario);
    const regressions = mine(cmp.regressions);
    const improvements = mine(cmp.improvements);
    const section: BaselineSection = {
      file: baseline.file,
      regressions,
      improvements,
      changed: mine(cmp.steps).filter((c) => !regressions.includes(c) && !improvements.includes(c)),
      // A scenario the baseline does not know at all: every step is new.
      added: mine(cmp.added),
      removed: mine(cmp.removed),
      traffic: mine(cmp.traffic),
      trafficAdded: mine(cmp.trafficAdded),
      trafficRemoved: mine(cmp.trafficRemoved),
    };
    r.baseline = section;
  }
  return { notRun: [...keep].filter((s) => !ran.has(s)) };
}
