/**
 * JUnit XML: a testsuite per scenario, a testcase per step. Every string goes
 * through core/escape.ts xmlText, so the document stays well-formed XML 1.0
 * whatever the input (issue 9 item 7).
 *
 * - A testcase fails when its expectation failed (outcome or control), or, with
 *   `run --baseline`, when the step is a regression against the saved report.
 *   A step with no `expect` is skipped.
 * - `time` is SIMULATED time, in seconds with millisecond precision, so the
 *   report stays the same byte for byte from run to run: a testcase's time is
 *   how long its step lasts in the simulation (a flood's `for`, a sniff's
 *   `window`), or its request's simulated latency for an instantaneous step; a
 *   testsuite's time, and the testsuites' time, are the sums of their cases'.
 * - A scenario's warnings (a kind the loader does not model, ...) are its
 *   testsuite's `<system-err>`, one per line.
 */
import { xmlText as esc } from '../core/escape.js';
import type { RunResult, StepResult } from '../scenario/types.js';
import { defenceLine } from './text.js';

/** Simulated ms a step takes, for JUnit's `time`. */
export function stepMs(s: StepResult): number {
  const span = s.durationMs ?? 0;
  return span > 0 ? span : Math.max(0, s.evidence.latencyMs ?? 0);
}

const seconds = (ms: number): string => (Math.round(ms) / 1000).toFixed(3);

function failure(r: RunResult, s: StepResult): { message: string; body: string } | null {
  const why = s.stoppedBy.map((b) => `${b.control} ${b.name ?? ''}: ${b.reason}`).join('; ') || 'nothing stopped it';
  if (s.expectationMet === false) {
    return { message: s.expectationNote ?? `expected ${s.expected}, got ${s.outcome}`, body: `code=${String(s.code)} mtls=${String(s.mtls)}; ${why}` };
  }
  const reg = r.baseline?.regressions.find((c) => c.step === s.id);
  if (reg) {
    return { message: `regression: ${reg.before} in ${r.baseline?.file ?? 'the baseline'}, now ${reg.after}`,
      body: `was stopped by ${reg.stoppedByBefore.join(', ') || 'nothing named'}; now ${why}` };
  }
  return null;
}

export function renderJunit(results: readonly RunResult[]): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let totalMs = 0;
  for (const r of results) {
    const cases: string[] = [];
    let failed = 0;
    let suiteMs = 0;
    for (const s of r.steps) {
      const ms = Math.round(stepMs(s));
      suiteMs += ms;
      const name = esc(`${s.id}: ${s.action} ${s.from}${s.to ? ` → ${s.to}` : ''}`);
      cases.push(`    <testcase classname="${esc(r.scenario)}" name="${name}" time="${seconds(ms)}">`);
      const f = failure(r, s);
      if (f) {
        failed++;
        cases.push(`      <failure message="${esc(f.message)}">${esc(f.body)}</failure>`);
      } else if (s.expectationMet === null) {
        cases.push('      <skipped message="no expectation"/>');
      }
      const depth = defenceLine(s);
      cases.push(`      <system-out>${esc(`${s.outcome} code=${String(s.code)}${depth ? `; ${depth}` : ''}`)}</system-out>`);
      cases.push('    </testcase>');
    }
    tests += r.steps.length;
    failures += failed;
    totalMs += suiteMs;
    const skipped = r.steps.filter((s) => s.expectationMet === null && failure(r, s) === null).length;
    suites.push(`  <testsuite name="${esc(r.scenario)}" tests="${r.steps.length}" failures="${failed}" skipped="${skipped}" time="${seconds(suiteMs)}">`);
    const props = [`<property name="seed" value="${r.seed}"/>`, `<property name="verdict" value="${r.verdict}"/>`, `<property name="file" value="${esc(r.file)}"/>`];
    if (r.shard) props.push(`<property name="shard" value="${r.shard.index}/${r.shard.count}"/>`);
    suites.push(`    <properties>${props.join('')}</properties>`, ...cases);
    // the loader's warnings (a kind not modeled: the result may not say everything), where CI shows a suite's stderr
    if (r.warnings.length > 0) suites.push(`    <system-err>${r.warnings.map((w) => esc(`warning: ${w}`)).join('\n')}</system-err>`);
    suites.push('  </testsuite>');
  }
  return `${['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="meshrange" tests="${tests}" failures="${failures}" time="${seconds(totalMs)}">`, ...suites, '</testsuites>'].join('\n')}\n`;
}
