/**
 * JUnit XML: a testsuite per scenario, a testcase per step with an
 * expectation. Every string goes through core/escape.ts xmlText, so the
 * document stays well-formed XML 1.0 whatever the input (issue 9 item 7).
 */
import { xmlText as esc } from '../core/escape.js';
import type { RunResult } from '../scenario/types.js';
import { defenceLine } from './text.js';

export function renderJunit(results: readonly RunResult[]): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const tests = results.reduce((n, r) => n + r.steps.length, 0);
  const failures = results.reduce((n, r) => n + r.expectations.failed, 0);
  lines.push(`<testsuites name="meshrange" tests="${tests}" failures="${failures}">`);
  for (const r of results) {
    lines.push(`  <testsuite name="${esc(r.scenario)}" tests="${r.steps.length}" failures="${r.expectations.failed}" skipped="${r.steps.filter((s) => s.expectationMet === null).length}">`);
    lines.push(`    <properties><property name="seed" value="${r.seed}"/><property name="verdict" value="${r.verdict}"/><property name="file" value="${esc(r.file)}"/></properties>`);
    for (const s of r.steps) {
      const name = esc(`${s.id}: ${s.action} ${s.from}${s.to ? ` → ${s.to}` : ''}`);
      lines.push(`    <testcase classname="${esc(r.scenario)}" name="${name}">`);
      if (s.expectationMet === false) {
        const why = s.stoppedBy.map((b) => `${b.control} ${b.name ?? ''}: ${b.reason}`).join('; ') || 'nothing stopped it';
        lines.push(`      <failure message="${esc(`expected ${s.expected}, got ${s.outcome}`)}">${esc(`code=${String(s.code)} mtls=${String(s.mtls)}; ${why}`)}</failure>`);
      } else if (s.expectationMet === null) {
        lines.push('      <skipped message="no expectation"/>');
      }
      const depth = defenceLine(s);
      lines.push(`      <system-out>${esc(`${s.outcome} code=${String(s.code)}${depth ? `; ${depth}` : ''}`)}</system-out>`);
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
