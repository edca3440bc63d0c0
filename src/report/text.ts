/**
 * The default, human-readable summary. Every string that came from the
 * scenario or the mesh goes through core/escape.ts (`e`), so it stays on its
 * line and cannot drive the terminal (issue 9 item 7).
 */
import { escapeControls as e, oneLine } from '../core/escape.js';
import type { BaselineChange, BaselineSection, ControlSummary, Defence, RunResult, StepResult } from '../scenario/types.js';

const label = (c: Pick<Defence, 'control' | 'name'>): string => `${e(c.control)}${c.name ? ` ${e(c.name)}` : ''}`;

/**
 * A step's defence in depth in one line (§3.2): "stopped by A; would also
 * stop: B; sole: A" — `sole: none` when no single control holds the step
 * alone. Null for a step that got through (or whose defences are unknown).
 */
export function defenceLine(s: StepResult): string | null {
  const ds = s.defences ?? [];
  if (ds.length === 0) return null;
  const stopped = new Set(s.stoppedBy.map((b) => label(b)));
  const did = ds.filter((d) => stopped.has(label(d)));
  const more = ds.filter((d) => !stopped.has(label(d)));
  const fixed = ds.filter((d) => d.removable === false);
  const parts = [`stopped by ${(did.length > 0 ? did : ds.slice(0, 1)).map(label).join(', ')}`];
  if (more.length > 0 && did.length > 0) parts.push(`would also stop: ${more.map(label).join(', ')}`);
  const sole = ds.filter((d) => d.sole);
  parts.push(`sole: ${sole.length > 0 ? sole.map(label).join(', ') : 'none'}`);
  if (fixed.length > 0) parts.push(`cannot be removed: ${fixed.map(label).join(', ')}`);
  return parts.join('; ');
}

/** The report's controls, most load-bearing first: "A stops 3 (alone 2)". */
export function controlsLine(controls: readonly ControlSummary[]): string | null {
  if (controls.length === 0) return null;
  return controls.map((c) => `${label(c)} stops ${c.stops} (alone ${c.soleStops})`).join('; ');
}

export function stepLine(s: StepResult): string {
  const mark = s.expectationMet === true ? '✓' : s.expectationMet === false ? '✗' : '·';
  const code = s.code === null ? '' : ` ${s.code}${s.grpcStatus !== undefined ? ` grpc=${s.grpcStatus}` : ''}`;
  const mtls = s.mtls === null ? '' : s.mtls ? ' mTLS' : ' no-mTLS';
  const route = s.to ? `${e(s.from)} → ${e(s.to)}` : e(s.from);
  let line = `  ${mark} ${e(s.id)}: ${e(s.action)} ${route} — ${s.outcome}${code}${mtls}`;
  if (s.expectationMet === false) line += `  (${s.expectationNote !== undefined ? e(s.expectationNote) : `expected ${s.expected}`})`;
  for (const b of s.stoppedBy) {
    line += `\n      stopped by ${e(b.control)}${b.name ? ` ${e(b.name)}` : ''}${b.rule ? ` ${e(b.rule)}` : ''}: ${e(b.reason)}`;
  }
  const depth = defenceLine(s);
  if (depth) line += `\n      defences: ${depth}`;
  if (s.evidence.cutOff) line += `\n      ${e(s.evidence.cutOff.reason)}`;
  if (s.graph && s.reached && s.compromised) {
    const more = s.graph.unlisted ?? { allowed: 0, blocked: 0 };
    const got = s.graph.edges.filter((x) => x.outcome === 'allowed').length + more.allowed;
    line += `\n      reached ${s.reached.length > 0 ? s.reached.map(e).join(', ') : 'nothing'} in ${s.hops ?? 0} hop${s.hops === 1 ? '' : 's'}; controls ${s.compromised.map(e).join(', ')}; ${got} of ${s.graph.edges.length + more.allowed + more.blocked} attempts got through`;
    // How the listed ones got through when the attacker's own process sent them: a stolen certificate, or around a proxy.
    const through = s.graph.edges.filter((x) => x.outcome === 'allowed');
    const byCert = new Map<string, number>();
    for (const x of through) if (x.as !== undefined) byCert.set(x.as, (byCert.get(x.as) ?? 0) + 1);
    const around = through.filter((x) => x.bypass === true).length;
    const hows = [...[...byCert].map(([id, n]) => `${n} as ${e(id)} (a stolen certificate)`), ...(around > 0 ? [`${around} in plaintext around the source's proxy`] : [])];
    if (hows.length > 0) line += ` (${hows.join('; ')})`;
  }
  const f = s.evidence.flood;
  if (f) line += `\n      ${f.sent} sent, ${f.ok} answered; ${Object.entries(f.statuses).map(([k, v]) => `${e(k)}×${v}`).join(', ')}; p99 ${f.p99ms} ms${f.retries ? `; ${f.retries} retries by the sender's sidecar` : ''}${f.saturated ? `\n      ${f.saturated.n} refused by ${f.saturated.by.map(e).join(', ')} itself, overwhelmed — the flood's effect, not a defence` : ''}`;
  for (const c of s.evidence.collateral ?? []) line += `\n      legitimate ${e(c.statement)}`;
  for (const st of s.evidence.stolen ?? []) line += `\n      holds ${e(st.kind)} ${e(st.subject)}, valid until ${e(st.validUntil)}`;
  if (s.using !== undefined) line += `\n      as ${e(s.as ?? '?')} using ${e(s.using)}: the server saw ${e(s.presented ?? 'no peer identity')}${s.evidence.impersonation ? ` — ${e(s.evidence.impersonation.statement)}` : ''}`;
  if (s.evidence.replayed) line += `\n      ${e(s.evidence.replayed.note)}`;
  for (const f of s.observed ?? []) {
    const x = f.exposed;
    const read = [x.paths.length > 0 ? `paths ${x.paths.join(', ')}` : '', x.headers.length > 0 ? `headers ${x.headers.join(', ')}` : '',
      x.tokens.length > 0 ? `tokens ${x.tokens.join(', ')}` : '', x.sensitive.length > 0 ? `sensitive ${x.sensitive.join(', ')}` : ''].filter((t) => t !== '').join('; ');
    line += `\n      ${f.encrypted ? 'encrypted' : 'IN CLEAR '} ${e(f.hop.from)} → ${e(f.hop.to)}:${f.port} ${f.protocol} (${e(f.source)}, ${f.requests} requests)`;
    line += f.protectedBy ? ` by ${label(f.protectedBy)}` : read ? `: ${e(read)}` : '';
  }
  for (const cr of s.captured ?? []) line += `\n      captured ${e(cr.kind)} ${e(cr.token)} (sub ${e(cr.subject ?? '-')}) on ${e(cr.on)}, valid until ${e(cr.validUntil)}`;
  if (s.bytesAttempted !== undefined) line += `\n      ${s.bytesOut ?? 0} of ${s.bytesAttempted} bytes left for ${e(s.destination ?? '?')} via ${e(s.via ?? 'direct')}`;
  const shadow = s.evidence.authorization?.shadow ?? [];
  for (const sh of shadow) line += `\n      dry-run ${e(sh.policy)}: ${e(sh.effect)}${sh.rule ? ` (${e(sh.rule)})` : ''}`;
  return line;
}

export function renderText(results: readonly RunResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    const exp = r.expectations.passed + r.expectations.failed;
    out.push(`${e(r.scenario)}: ${r.verdict.toUpperCase()} — expectations ${r.expectations.passed}/${exp} met (seed ${r.seed})`);
    if (r.description) out.push(`  ${oneLine(r.description)}`);
    for (const s of r.steps) out.push(stepLine(s));
    for (const t of r.traffic) {
      const base = t.baseline ? ` (without the attack: ${t.baseline.ok}/${t.baseline.sent} ok, p99 ${t.baseline.p99ms} ms)` : '';
      out.push(`  traffic ${e(t.from)} → ${e(t.to)}: ${t.ok}/${t.sent} ok, p50 ${t.p50ms ?? '-'} ms, p99 ${t.p99ms} ms${t.retries ? `, ${t.retries} retries` : ''}${base}${t.degraded ? ' — DEGRADED' : ''}`);
      for (const [by, n] of Object.entries(t.stoppedBy ?? {})) out.push(`      ${n} refused by ${e(by)}`);
    }
    const controls = controlsLine(r.controls);
    if (controls) out.push(`  controls: ${controls}`);
    for (const w of r.warnings) out.push(`  warning: ${e(w)}`);
    if (r.baseline) out.push(...baselineLines(r));
    out.push('');
  }
  const failed = results.reduce((n, r) => n + r.expectations.failed, 0);
  const passed = results.reduce((n, r) => n + r.expectations.passed, 0);
  const breached = results.filter((r) => r.verdict === 'breached').length;
  out.push(`${results.length} scenario${results.length === 1 ? '' : 's'}: ${breached} breached, ${results.length - breached} contained; expectations: ${passed} passed, ${failed} failed`);
  const regressions = results.reduce((n, r) => n + (r.baseline?.regressions.length ?? 0), 0);
  const improvements = results.reduce((n, r) => n + (r.baseline?.improvements.length ?? 0), 0);
  const withBaseline = results.find((r) => r.baseline !== undefined)?.baseline;
  const shard = results[0]?.shard;
  if (shard) out.push(`shard ${shard.index}/${shard.count} of a suite of ${shard.total} scenario${shard.total === 1 ? '' : 's'} (meshrange merge puts the shards' JSON reports together)`);
  if (withBaseline) out.push(`against ${e(withBaseline.file)}: ${regressions} regression${regressions === 1 ? '' : 's'}, ${improvements} improvement${improvements === 1 ? '' : 's'}`);
  out.push('', ...VERDICT_KEY);
  return `${out.join('\n')}\n`;
}

/** What the report's words and marks mean (issue 11 item 6), printed under every text report. */
export const VERDICT_KEY: readonly string[] = [
  'key: BREACHED = at least one attack step (from the foothold) got through, allowed or partial; CONTAINED = every attack step was blocked.',
  '     allowed = the attacker got what the step wanted; blocked = nothing got through; partial = some got through (requests of a flood, hops of a pivot, bytes of an upload).',
  '     ✓ = the step met its expect (outcome, and the control when it names one); ✗ = it did not; · = the step has no expect.',
];

function changeLine(c: BaselineChange): string {
  const was = c.stoppedByBefore.length > 0 ? ` (was stopped by ${c.stoppedByBefore.map(e).join(', ')})` : '';
  return `${e(c.step)}: ${c.before} → ${c.after}${was}`;
}

/** A scenario's comparison with the saved report (`run --baseline`). */
function baselineLines(r: RunResult): string[] {
  const b = r.baseline as BaselineSection;
  const out = [`  baseline ${e(b.file)}: ${b.regressions.length} regression${b.regressions.length === 1 ? '' : 's'}, ${b.improvements.length} improvement${b.improvements.length === 1 ? '' : 's'}, ${b.changed.length} other change${b.changed.length === 1 ? '' : 's'}, ${b.added.length} added, ${b.removed.length} removed, ${b.trafficAdded.length} flow${b.trafficAdded.length === 1 ? '' : 's'} added, ${b.trafficRemoved.length} flow${b.trafficRemoved.length === 1 ? '' : 's'} removed`];
  for (const c of b.regressions) out.push(`      REGRESSION ${changeLine(c)}`);
  for (const c of b.improvements) out.push(`      improvement ${changeLine(c)}`);
  // a legitimate step less of which gets through is an outage, said as such (never an improvement)
  for (const c of b.changed) out.push(`      ${c.kind === 'broken' ? 'broken (legitimate)' : 'changed'} ${changeLine(c)}`);
  for (const a of b.added) out.push(`      added ${e(a.step)} (${a.outcome})`);
  for (const x of b.removed) out.push(`      removed ${e(x.step)} (was ${x.outcome})`);
  for (const t of b.trafficAdded) out.push(`      added traffic ${e(t.from)} → ${e(t.to)} (${t.ok}/${t.sent} ok)`);
  for (const t of b.trafficRemoved) out.push(`      removed traffic ${e(t.from)} → ${e(t.to)} (was ${t.ok}/${t.sent} ok)`);
  for (const t of b.traffic) out.push(`      traffic ${e(t.from)} → ${e(t.to)} ${t.kind}: ${(t.before * 100).toFixed(1)}% → ${(t.after * 100).toFixed(1)}% ok`);
  return out;
}
