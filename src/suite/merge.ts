/**
 * `meshrange merge` (issue 13 item 5): the JSON reports of `run --shard i/n`
 * → one report, as a single run of the whole suite would have written it.
 *
 * Rules:
 * 1. Every scenario object must carry `shard: {index, count, position, total}`
 *    (written by `run --shard`); all must agree on `count` and `total`.
 * 2. Scenarios are put back at their `position`: the order of a single run.
 *    The merged JSON is the scenario objects without their `shard` field, so
 *    it equals, byte for byte, the JSON report of a single run of the same
 *    suite with the same meshrange; JUnit and SARIF are rendered from it.
 * 3. Nothing is dropped or doubled silently: the same scenario (or position)
 *    twice, a scenario name at two positions, a report of another suite
 *    (other `count` or `total`), or a missing position (a shard not given)
 *    is an error that names the reports and shards concerned (exit 2).
 *    A shard that held no scenario writes `[]`, which carries no shard: its
 *    absence is seen in the positions, not in the list of files.
 * 4. Reports are hostile input (assess/baseline.ts parseReportJson: bounded,
 *    no `__proto__`, no deep nesting); each scenario object is checked
 *    against the fields the JUnit and SARIF renderers read.
 * Pure: takes texts and file names.
 */
import * as z from 'zod/mini';
import { intIn, stringOfLength } from '../core/zod.js';
import type { IssueList } from '../core/issues.js';
import { parseReportJson, ReportProblems, reportSchemaIssues } from '../assess/baseline.js';
import type { RunResult } from '../scenario/types.js';
import { MAX_SHARDS, shardOf } from './shard.js';
import { jsonDocument } from '../core/escape.js';

/** zod/mini, as the scenario schemas are (core/zod.ts): the CLI bundle then holds no classic zod (benchmarks.md B4, T4.1). */
function makeScenarioObjectSchema() {
  const outcome = z.enum(['allowed', 'blocked', 'partial']);
  const str = (max = 100_000): z.ZodMiniString<string> => stringOfLength(0, max);
  const count = intIn(0, 1e12);
  const upTo = (max: number): z.ZodMiniNumber<number> => z.number().check(z.gte(0), z.lte(max));
  const list = <T extends z.ZodMiniType>(item: T, max: number): z.ZodMiniArray<T> => z.array(item).check(z.maxLength(max));
  const stopped = z.looseObject({ control: str(64), name: z.nullable(str(600)), reason: str() });
  const change = z.looseObject({ step: str(300), action: str(64), before: outcome, after: outcome, stoppedByBefore: list(str(700), 1000) });

  // The fields of a scenario object that the renderers read, each bounded; the rest passes as it is.
  return z.looseObject({
    scenario: str(253),
    file: str(4096),
    seed: intIn(0, 2 ** 31 - 1),
    verdict: z.enum(['breached', 'contained']),
    expectations: z.looseObject({ passed: count, failed: count }),
    fingerprint: str(64),
    steps: list(z.looseObject({
      id: str(300),
      action: str(64),
      outcome,
      expected: z.nullable(outcome),
      expectedStoppedBy: z.optional(str(400)),
      expectationNote: z.optional(str()),
      code: z.nullable(intIn(0, 999)),
      mtls: z.nullable(z.boolean()),
      stoppedBy: list(stopped, 1000),
      defences: list(z.looseObject({ control: str(64), name: z.nullable(str(600)), reason: str(), sole: z.boolean(), removable: z.optional(z.literal(false)) }), 1000),
      from: str(600),
      to: z.optional(str(600)),
      t: upTo(1e12),
      durationMs: z.optional(upTo(1e12)),
      loc: z.optional(z.looseObject({ line: intIn(1, 1e9), col: intIn(1, 1e9) })),
      attack: z.boolean(),
      expectationMet: z.nullable(z.boolean()),
      evidence: z.looseObject({ latencyMs: z.optional(upTo(1e12)) }),
    }), 10_000),
    traffic: list(z.looseObject({}), 10_000),
    controls: list(z.looseObject({}), 10_000),
    warnings: list(str(), 10_000),
    shard: z.strictObject({
      index: intIn(1, MAX_SHARDS),
      count: intIn(1, MAX_SHARDS),
      position: intIn(0, 100_000),
      total: intIn(1, 100_001),
      // absent in the shards of a meshrange before December 2026
      runSeed: z.optional(z.nullable(intIn(0, 2 ** 31 - 1))),
    }),
    baseline: z.optional(z.looseObject({ file: str(4096), regressions: list(change, 10_000) })),
  });
}
/** Made on first use: a `meshrange run` that merges nothing does not build it (benchmarks.md B4, T4.1). */
let scenarioObject: ReturnType<typeof makeScenarioObjectSchema> | undefined;

export interface ShardReport {
  /** the file as given, for messages */
  file: string;
  text: string;
}

export interface Merged {
  /** the scenario objects in single-run order, without `shard` */
  objects: Record<string, unknown>[];
  /** the same, as the renderers take them */
  results: RunResult[];
}

/** Shard reports → one report, or null with issues naming what is missing or doubled. */
export function mergeShardReports(reports: readonly ShardReport[], issues: IssueList): Merged | null {
  const before = issues.errors.length;
  const fix = 'give the JSON report of every shard of one `meshrange run --shard i/n` suite, each once';
  const placed = new Map<number, { obj: Record<string, unknown>; file: string; shard: number }>();
  const names = new Map<string, { file: string; position: number }>();
  let suite: { count: number; total: number; seed: string; file: string } | null = null;
  const shardsSeen = new Map<number, string>();
  // A report given twice (the same file, or a copy): one error for the file, not one per scenario it holds.
  const byText = new Map<string, string>();
  for (const rep of reports) {
    const first = byText.get(rep.text);
    if (first !== undefined) {
      issues.error('merge-duplicate', first === rep.file ? `${rep.file} is given twice` : `${rep.file} holds the same report as ${first}`, { file: rep.file, line: 1, col: 1 }, fix);
      continue;
    }
    byText.set(rep.text, rep.file);
    const objects = parseReportJson(rep.file, rep.text, issues, 'a JSON report of meshrange run --shard i/n');
    if (!objects) continue;
    const isObject = (o: unknown): o is Record<string, unknown> => typeof o === 'object' && o !== null && !Array.isArray(o);
    if (objects.length > 0 && !objects.some((o) => isObject(o) && Object.hasOwn(o, 'scenario'))) {
      issues.error('merge-not-a-shard', `${rep.file} is not a JSON report of meshrange run: none of its ${objects.length} object${objects.length === 1 ? '' : 's'} has a \`scenario\` field`,
        { file: rep.file, line: 1, col: 1 }, 'merge the JSON reports of `meshrange run --shard i/n --report json=PATH`, one per shard');
      continue;
    }
    // A whole suite's report (run without --shard): one error for the file, not one per scenario.
    if (objects.length > 0 && !objects.some((o) => isObject(o) && Object.hasOwn(o, 'shard'))) {
      issues.error('merge-not-a-shard', `${rep.file} is not the report of a shard: none of its ${objects.length} scenario${objects.length === 1 ? '' : 's'} has a \`shard\` field (meshrange run wrote it without --shard i/n)`,
        { file: rep.file, line: 1, col: 1 }, 'merge the JSON reports of `meshrange run --shard i/n --report json=PATH`, one per shard; a report of a whole suite needs no merge');
      continue;
    }
    const single = objects.length === 1 && !rep.text.trimStart().startsWith('[');
    const shardsHere = new Set<number>();
    const problems = new ReportProblems(rep.file, rep.text, issues, fix);
    objects.forEach((o, i) => {
      const index = single ? null : i;
      const parsed = (scenarioObject ??= makeScenarioObjectSchema()).safeParse(o);
      if (!parsed.success) { reportSchemaIssues(problems, index, parsed.error); return; }
      const at = (...p: (string | number)[]): (string | number)[] => (index === null ? p : [index, ...p]);
      const { shard, scenario } = parsed.data;
      // The verdict and the expectation counts follow from the steps (simulate.ts): a report where they do not was
      // edited, and the merge would carry a verdict no run gave.
      const through = parsed.data.steps.find((st) => st.attack && st.action !== 'wait' && (st.outcome === 'allowed' || st.outcome === 'partial'));
      if ((through !== undefined) !== (parsed.data.verdict === 'breached')) {
        problems.error('merge-inconsistent', `${scenario}: the verdict is "${parsed.data.verdict}", but ${through ? `attack step "${through.id}" is ${through.outcome}` : 'no attack step got through'}: the report was edited, not written by meshrange run`, at('verdict'));
        return;
      }
      const met = parsed.data.steps.filter((st) => st.expectationMet === true).length;
      const unmet = parsed.data.steps.filter((st) => st.expectationMet === false).length;
      if (parsed.data.expectations.passed !== met || parsed.data.expectations.failed !== unmet) {
        problems.error('merge-inconsistent', `${scenario}: expectations say ${parsed.data.expectations.passed} passed and ${parsed.data.expectations.failed} failed, but the steps have ${met} met and ${unmet} not: the report was edited, not written by meshrange run`, at('expectations'));
        return;
      }
      if (shard.index > shard.count || shard.position >= shard.total) {
        problems.error('merge-bad-shard', `${scenario}: shard ${shard.index}/${shard.count} at position ${shard.position} of ${shard.total} is impossible`, at('shard'));
        return;
      }
      // run --shard puts a scenario in the shard its name hashes to (suite/shard.ts): any other is a report of another suite or an edited one.
      const owner = shardOf(scenario, shard.count);
      if (owner !== shard.index) {
        problems.error('merge-wrong-shard', `scenario "${scenario}" says it is in shard ${shard.index}/${shard.count}, but it belongs to shard ${owner}/${shard.count}: ${rep.file} is not a report of meshrange run --shard ${shard.index}/${shard.count} of this suite`, at('shard', 'index'));
        return;
      }
      // the run's --seed: shards run with different ones are no single run's report (each scenario's seed alone cannot tell)
      const seed = shard.runSeed === undefined ? 'not recorded' : shard.runSeed === null ? 'each scenario\'s own' : String(shard.runSeed);
      if (suite === null) suite = { count: shard.count, total: shard.total, seed, file: rep.file };
      else if (suite.count !== shard.count || suite.total !== shard.total) {
        problems.error('merge-other-suite', `${scenario}: ${rep.file} is shard ${shard.index}/${shard.count} of a suite of ${shard.total} scenarios, but ${suite.file} is of ${suite.count} shards and ${suite.total} scenarios`, at('shard'));
        return;
      } else if (suite.seed !== seed) {
        problems.error('merge-other-suite', `${scenario}: ${rep.file} was run with seed ${seed}, but ${suite.file} with seed ${suite.seed}: the merge would be a report no single run writes`, at('shard'));
        return;
      }
      shardsHere.add(shard.index);
      const prev = placed.get(shard.position);
      if (prev) {
        problems.error('merge-duplicate', `${scenario} (position ${shard.position + 1} of ${shard.total}) is in ${prev.file} (shard ${prev.shard}/${shard.count}) and again in ${rep.file} (shard ${shard.index}/${shard.count})`, at('shard'));
        return;
      }
      const other = names.get(scenario);
      if (other) {
        problems.error('merge-duplicate', `scenario "${scenario}" is at position ${other.position + 1} in ${other.file} and at ${shard.position + 1} in ${rep.file}`, at('scenario'));
        return;
      }
      names.set(scenario, { file: rep.file, position: shard.position });
      const { shard: _shard, ...rest } = o as Record<string, unknown>;
      placed.set(shard.position, { obj: rest, file: rep.file, shard: shard.index });
    });
    problems.finish();
    for (const s of shardsHere) {
      const prev = shardsSeen.get(s);
      if (prev !== undefined && prev !== rep.file) {
        issues.error('merge-duplicate', `shard ${s} is given twice: ${prev} and ${rep.file}`, { file: rep.file, line: 1, col: 1 }, fix);
      }
      shardsSeen.set(s, rep.file);
    }
  }
  if (issues.errors.length > before) return null;
  const s = suite as { count: number; total: number; file: string } | null;
  if (s === null) {
    issues.error('merge-empty', `no scenario in ${reports.length === 1 ? 'the report' : `any of the ${reports.length} reports`}: nothing tells which suite they belong to`, undefined, fix);
    return null;
  }
  const missing: number[] = [];
  for (let p = 0; p < s.total; p++) if (!placed.has(p)) missing.push(p + 1);
  if (missing.length > 0) {
    const absent: number[] = [];
    for (let i = 1; i <= s.count; i++) if (!shardsSeen.has(i)) absent.push(i);
    const list = missing.length > 20 ? `${missing.slice(0, 20).join(', ')}, …` : missing.join(', ');
    issues.error('merge-missing', `the reports hold ${placed.size} of the suite's ${s.total} scenarios; missing: position${missing.length === 1 ? '' : 's'} ${list}`
      + (absent.length > 0 ? `; no report holds a scenario of shard${absent.length === 1 ? '' : 's'} ${absent.join(', ')} of ${s.count}` : ''), undefined, fix);
    return null;
  }
  const objects = [...placed.entries()].sort((a, b) => a[0] - b[0]).map(([, x]) => x.obj);
  // Validated above against every field the renderers read; the rest of a RunResult is not read by them.
  return { objects, results: objects as unknown as RunResult[] };
}

/** The merged JSON report: what `meshrange run --format json` writes for the whole suite. */
export function mergedJson(m: Merged): string {
  const body = m.objects.length === 1 ? m.objects[0] : m.objects;
  return jsonDocument(body);
}
