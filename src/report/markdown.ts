/**
 * A Markdown summary for pull-request comments. Every string from the
 * scenario or the mesh is escaped (core/escape.ts markdownText): a
 * description holding `<!--`, a table row or a heading is shown as text and
 * cannot hide or fake the real result (issue 9 item 7).
 */
import { markdownText as md } from '../core/escape.js';
import type { RunResult } from '../scenario/types.js';
import { defenceLine } from './text.js';

/** Warnings listed per scenario (or per assessment) in Markdown; the rest are counted. */
export const MARKDOWN_MAX_WARNINGS = 50;

/**
 * The warnings of a run or an assessment as a Markdown list under a bold title (none: no lines): a kind the loader
 * does not model, a side with no workload. A reviewer reading only the PR comment must see that the result may not
 * say everything. Escaped like every other string; at most MARKDOWN_MAX_WARNINGS, then a count.
 */
export function markdownWarnings(warnings: readonly string[]): string[] {
  if (warnings.length === 0) return [];
  const out = [`**⚠ Warnings (${warnings.length})**`, ''];
  for (const w of warnings.slice(0, MARKDOWN_MAX_WARNINGS)) out.push(`- ${md(w)}`);
  if (warnings.length > MARKDOWN_MAX_WARNINGS) out.push(`- … and ${warnings.length - MARKDOWN_MAX_WARNINGS} more (see the JSON report)`);
  out.push('');
  return out;
}

export function renderMarkdown(results: readonly RunResult[]): string {
  const out: string[] = ['# meshrange report', ''];
  for (const r of results) {
    out.push(`## ${md(r.scenario)} — ${r.verdict}`, '');
    if (r.description && r.description.trim() !== '') out.push(md(r.description), '');
    out.push(`Seed ${r.seed}; expectations ${r.expectations.passed} passed, ${r.expectations.failed} failed.`, '');
    out.push(...markdownWarnings(r.warnings));
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
