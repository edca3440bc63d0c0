/** The default, human-readable summary. */
import type { RunResult, StepResult } from '../scenario/types.js';

export function stepLine(s: StepResult): string {
  const mark = s.expectationMet === true ? '✓' : s.expectationMet === false ? '✗' : '·';
  const code = s.code === null ? '' : ` ${s.code}${s.grpcStatus !== undefined ? ` grpc=${s.grpcStatus}` : ''}`;
  const mtls = s.mtls === null ? '' : s.mtls ? ' mTLS' : ' no-mTLS';
  const route = s.to ? `${s.from} → ${s.to}` : s.from;
  let line = `  ${mark} ${s.id}: ${s.action} ${route} — ${s.outcome}${code}${mtls}`;
  if (s.expectationMet === false) line += `  (expected ${s.expected})`;
  for (const b of s.stoppedBy) {
    line += `\n      stopped by ${b.control}${b.name ? ` ${b.name}` : ''}${b.rule ? ` ${b.rule}` : ''}: ${b.reason}`;
  }
  if (s.graph && s.reached && s.compromised) {
    const more = s.graph.unlisted ?? { allowed: 0, blocked: 0 };
    const got = s.graph.edges.filter((e) => e.outcome === 'allowed').length + more.allowed;
    line += `\n      reached ${s.reached.length > 0 ? s.reached.join(', ') : 'nothing'} in ${s.hops ?? 0} hop${s.hops === 1 ? '' : 's'}; controls ${s.compromised.join(', ')}; ${got} of ${s.graph.edges.length + more.allowed + more.blocked} attempts got through`;
  }
  const f = s.evidence.flood;
  if (f) line += `\n      ${f.sent} sent, ${f.ok} got through; ${Object.entries(f.statuses).map(([k, v]) => `${k}×${v}`).join(', ')}; p99 ${f.p99ms} ms${f.retries ? `; ${f.retries} retries by the sender's sidecar` : ''}`;
  for (const c of s.evidence.collateral ?? []) line += `\n      legitimate ${c.statement}`;
  for (const st of s.evidence.stolen ?? []) line += `\n      holds ${st.kind} ${st.subject}, valid until ${st.validUntil}`;
  const shadow = s.evidence.authorization?.shadow ?? [];
  for (const sh of shadow) line += `\n      dry-run ${sh.policy}: ${sh.effect}${sh.rule ? ` (${sh.rule})` : ''}`;
  return line;
}

export function renderText(results: readonly RunResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    const exp = r.expectations.passed + r.expectations.failed;
    out.push(`${r.scenario}: ${r.verdict.toUpperCase()} — expectations ${r.expectations.passed}/${exp} met (seed ${r.seed})`);
    if (r.description) out.push(`  ${r.description.trim()}`);
    for (const s of r.steps) out.push(stepLine(s));
    for (const t of r.traffic) {
      const base = t.baseline ? ` (without the attack: ${t.baseline.ok}/${t.baseline.sent} ok, p99 ${t.baseline.p99ms} ms)` : '';
      out.push(`  traffic ${t.from} → ${t.to}: ${t.ok}/${t.sent} ok, p50 ${t.p50ms ?? '-'} ms, p99 ${t.p99ms} ms${t.retries ? `, ${t.retries} retries` : ''}${base}${t.degraded ? ' — DEGRADED' : ''}`);
      for (const [by, n] of Object.entries(t.stoppedBy ?? {})) out.push(`      ${n} refused by ${by}`);
    }
    for (const w of r.warnings) out.push(`  warning: ${w}`);
    out.push('');
  }
  const failed = results.reduce((n, r) => n + r.expectations.failed, 0);
  const passed = results.reduce((n, r) => n + r.expectations.passed, 0);
  const breached = results.filter((r) => r.verdict === 'breached').length;
  out.push(`${results.length} scenario${results.length === 1 ? '' : 's'}: ${breached} breached, ${results.length - breached} contained; expectations: ${passed} passed, ${failed} failed`);
  return `${out.join('\n')}\n`;
}
