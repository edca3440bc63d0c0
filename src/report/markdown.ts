/**
 * A Markdown summary for pull-request comments. Every string from the
 * scenario or the mesh is escaped (core/escape.ts markdownText): a
 * description holding `<!--`, a table row or a heading is shown as text and
 * cannot hide or fake the real result (issue 9 item 7).
 */
import { markdownText as md } from '../core/escape.js';
import type { RunResult } from '../scenario/types.js';
import { defenceLine } from './text.js';

export function renderMarkdown(results: readonly RunResult[]): string {
  const out: string[] = ['# meshrange report', ''];
  for (const r of results) {
    out.push(`## ${md(r.scenario)} — ${r.verdict}`, '');
    if (r.description && r.description.trim() !== '') out.push(md(r.description), '');
    out.push(`Seed ${r.seed}; expectations ${r.expectations.passed} passed, ${r.expectations.failed} failed.`, '');
    out.push('| step | from → to | outcome | expected | code | mTLS | stopped by | defences |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const s of r.steps) {
      const stop = s.stoppedBy.map((b) => `${md(b.control)}${b.name ? ` ${md(b.name)}` : ''}: ${md(b.reason)}`).join('<br>') || '—';
      out.push(`| ${md(s.id)} | ${md(s.from)}${s.to ? ` → ${md(s.to)}` : ''} | ${s.outcome}${s.expectationMet === false ? ' ✗' : ''} | ${s.expected ?? '—'}${s.expectedStoppedBy !== undefined ? ` by ${md(s.expectedStoppedBy)}` : ''}${s.expectationMet === false && s.expectationNote !== undefined ? ` — ${md(s.expectationNote)}` : ''} | ${s.code ?? '—'} | ${s.mtls === null ? '—' : s.mtls ? 'yes' : 'no'} | ${stop} | ${md(defenceLine(s) ?? '—')} |`);
    }
    out.push('');
    if (r.controls.length > 0) {
      out.push('| control | steps it stops | steps it alone stops |', '| --- | --- | --- |');
      for (const c of r.controls) out.push(`| ${md(`${c.control}${c.name ? ` ${c.name}` : ''}`)} | ${c.stops} | ${c.soleStops} |`);
      out.push('');
    }
  }
  return `${out.join('\n')}\n`;
}
