/** A Markdown summary for pull-request comments. */
import type { RunResult } from '../scenario/types.js';
import { defenceLine } from './text.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(results: readonly RunResult[]): string {
  const out: string[] = ['# meshrange report', ''];
  for (const r of results) {
    out.push(`## ${r.scenario} — ${r.verdict}`, '');
    if (r.description) out.push(r.description.trim(), '');
    out.push(`Seed ${r.seed}; expectations ${r.expectations.passed} passed, ${r.expectations.failed} failed.`, '');
    out.push('| step | from → to | outcome | expected | code | mTLS | stopped by | defences |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const s of r.steps) {
      const stop = s.stoppedBy.map((b) => `${b.control}${b.name ? ` \`${b.name}\`` : ''}: ${b.reason}`).join('<br>') || '—';
      out.push(`| ${cell(s.id)} | ${cell(`${s.from}${s.to ? ` → ${s.to}` : ''}`)} | ${s.outcome}${s.expectationMet === false ? ' ✗' : ''} | ${s.expected ?? '—'} | ${s.code ?? '—'} | ${s.mtls === null ? '—' : s.mtls ? 'yes' : 'no'} | ${cell(stop)} | ${cell(defenceLine(s) ?? '—')} |`);
    }
    out.push('');
    if (r.controls.length > 0) {
      out.push('| control | steps it stops | steps it alone stops |', '| --- | --- | --- |');
      for (const c of r.controls) out.push(`| ${cell(`${c.control}${c.name ? ` ${c.name}` : ''}`)} | ${c.stops} | ${c.soleStops} |`);
      out.push('');
    }
  }
  return `${out.join('\n')}\n`;
}
