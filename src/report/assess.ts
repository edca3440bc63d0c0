/**
 * Renderers of an assessment (assess/assess.ts): text for a terminal, JSON
 * (product.md §4 shape plus meshrange's fields), Markdown for a pull-request
 * comment, SARIF for code scanning. Pure; stable order (the report's own).
 * The warnings (a side with no workload, a kind not modeled) go in every
 * format: a PR comment or a dashboard must not show a bare "risk same".
 * Every name came from manifests or scenarios a stranger wrote: escaped for
 * where it goes (core/escape.ts).
 */
import { escapeControls, jsonDocument, markdownText, pathUri, sarifText } from '../core/escape.js';
import { MESHRANGE_INFO_URI, MESHRANGE_VERSION } from '../core/version.js';
import type { AssessFinding, AssessPath, AssessReport, AssessStep } from '../assess/types.js';
import { markdownWarnings } from './markdown.js';
import { sarifInvocations } from './sarif.js';

/** Results listed in SARIF (GitHub code scanning takes at most 25,000 a run); beyond, one note counts the rest. */
export const SARIF_MAX_RESULTS = 5_000;

/** Rows listed per table in Markdown (a PR comment is at most 65,536 characters); the rest are counted. */
export const MARKDOWN_MAX_ROWS = 50;

export function renderAssessJson(r: AssessReport): string {
  return jsonDocument(r);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function pathText(p: AssessPath): string {
  return `${p.from} → ${p.to}:${p.port}${p.via === 'ingress' ? ' (ingress route)' : ''}${p.workloads.length > 0 ? ` [${p.workloads.join(', ')}]` : ''}${tlsWord(p)}`;
}

function tlsWord(p: AssessPath): string {
  return p.mtls === null ? '' : p.mtls ? ' mTLS' : ' plaintext';
}

function stepText(s: AssessStep): string {
  return `${s.scenario}/${s.step} (${s.action}${s.attack ? '' : ', legitimate'}): ${s.before} → ${s.after}`;
}

const RISK_WORDS: Record<AssessReport['risk'], string> = {
  up: 'UP — the change opens paths, lets an attack step through or weakens a control',
  down: 'DOWN — the change closes paths, blocks attack steps or strengthens a control, and opens or weakens none',
  same: 'SAME — no path opened or closed, no attack step changed, no control weakened or strengthened',
};

function findingText(f: AssessFinding, weighedWord: string): string[] {
  // lint's messages mostly start with the resource: not said twice
  return [`${f.code} ${f.severity}${f.weighed ? ` (${weighedWord})` : ''}: ${f.message.startsWith(f.resource) ? '' : `${f.resource}: `}${f.message}`,
    ...(f.loc ? [`at ${f.loc.file}:${f.loc.line}:${f.loc.col}`] : []), `fix: ${f.hint}`];
}

/** Legitimate steps less of which gets through, and flows whose success fell: what the change breaks. */
function brokenOf(r: AssessReport): { steps: AssessStep[]; traffic: AssessReport['traffic'] } {
  return { steps: r.steps.filter((s) => s.kind === 'broken'), traffic: r.traffic.filter((t) => t.kind === 'worse') };
}

export function renderAssessText(r: AssessReport): string {
  const l: string[] = [];
  l.push(`assess: ${r.before} → ${r.after}`);
  l.push(`risk ${RISK_WORDS[r.risk]}`);
  for (const why of r.riskReasons) l.push(`  - ${why}`);
  l.push(`reachable paths: ${r.summary.pathsBefore} before, ${r.summary.pathsAfter} after; scenarios run on both sides: ${r.summary.scenarios}`);
  // `+` something the change adds, `-` something it takes away, `~` something that changed either way
  const section = (title: string, items: readonly string[][], mark: '+' | '-' | '~' | '!' = '+'): void => {
    if (items.length === 0) return;
    l.push('', `${title} (${items.length}):`);
    for (const lines of items) for (const [i, x] of lines.entries()) l.push(`${i === 0 ? `  ${mark} ` : '      '}${x}`);
  };
  section('newly reachable', r.newlyReachable.map((p) => [pathText(p), ...(p.stoppedBy.length > 0 ? [`before, stopped by ${p.stoppedBy.join('; ')}`] : [])]));
  section('no longer reachable', r.noLongerReachable.map((p) => [pathText(p), ...(p.stoppedBy.length > 0 ? [`now stopped by ${p.stoppedBy.join('; ')}`] : [])]), '-');
  const stepLines = (s: AssessStep): string[] => [
    ...(s.stoppedByBefore.length > 0 ? [`before, stopped by ${s.stoppedByBefore.join(', ')}`] : []),
    ...(s.stoppedByAfter.length > 0 ? [`after, stopped by ${s.stoppedByAfter.join(', ')}`] : [])];
  const flowText = (t: AssessReport['traffic'][number]): string => `${t.scenario}: ${t.from} → ${t.to}: ${pct(t.before)} → ${pct(t.after)} ok`;
  // `!` something the change breaks: legitimate traffic, its own section (an outage is not a security gain)
  const broken = brokenOf(r);
  section('broken legitimate traffic', [...broken.steps.map((s) => [stepText(s), ...stepLines(s)]), ...broken.traffic.map((t) => [`flow ${flowText(t)}`])], '!');
  section('posture findings added (meshrange lint)', (r.postureAdded ?? []).map((f) => findingText(f, 'weakens a control')));
  section('posture findings removed (meshrange lint)', (r.postureRemoved ?? []).map((f) => findingText(f, 'strengthens a control')), '-');
  section('scenario steps whose outcome changed', r.steps.filter((s) => s.kind !== 'broken').map((s) => [`${s.kind}: ${stepText(s)}`, ...stepLines(s)]), '~');
  section('legitimate traffic whose success changed', r.traffic.filter((t) => t.kind !== 'worse').map((t) => [`${t.kind}: ${flowText(t)}`]), '~');
  section('steps on the after side only', r.stepsAdded.map((s) => [`${s.scenario}/${s.step}`]));
  section('steps on the before side only', r.stepsRemoved.map((s) => [`${s.scenario}/${s.step}`]), '-');
  section('legitimate traffic on the after side only', r.trafficAdded.map((t) => [`${t.scenario}: ${t.from} → ${t.to}`]));
  section('legitimate traffic on the before side only', r.trafficRemoved.map((t) => [`${t.scenario}: ${t.from} → ${t.to}`]), '-');
  const warnings = r.warnings ?? [];
  if (warnings.length > 0) l.push('', ...warnings.map((w) => `warning: ${w}`));
  return `${l.map((x) => escapeControls(x)).join('\n')}\n`;
}

function mdTable(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const out = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows.slice(0, MARKDOWN_MAX_ROWS)) out.push(`| ${r.map((c) => markdownText(c)).join(' | ')} |`);
  if (rows.length > MARKDOWN_MAX_ROWS) out.push('', `… and ${rows.length - MARKDOWN_MAX_ROWS} more (see the JSON or SARIF report)`);
  return out;
}

const RISK_MD: Record<AssessReport['risk'], string> = { up: '🔺 risk **up**', down: '🔻 risk **down**', same: '➖ risk **same**' };

export function renderAssessMarkdown(r: AssessReport): string {
  const l: string[] = [];
  l.push(`## meshrange assess: ${RISK_MD[r.risk]}`, '');
  l.push(`**before:** ${markdownText(r.before)} → **after:** ${markdownText(r.after)}`, '');
  for (const why of r.riskReasons) l.push(`- ${markdownText(why)}`);
  l.push('', `Reachable paths: ${r.summary.pathsBefore} before, ${r.summary.pathsAfter} after. Scenarios run on both sides: ${r.summary.scenarios}.`);
  const warned = markdownWarnings(r.warnings ?? []);
  if (warned.length > 0) l.push('', ...warned.slice(0, -1));
  if (r.newlyReachable.length > 0) {
    l.push('', `### Newly reachable (${r.newlyReachable.length})`, '');
    l.push(...mdTable(['from', 'to', 'port', 'lands on', 'mTLS', 'stopped before by'], r.newlyReachable.map((p) => [p.from, p.via === 'ingress' ? `${p.to} (ingress)` : p.to, String(p.port), p.workloads.join(', '),
      p.mtls === null ? '' : p.mtls ? 'yes' : 'no (plaintext)', p.stoppedBy.join('; ')])));
  }
  if (r.noLongerReachable.length > 0) {
    l.push('', `### No longer reachable (${r.noLongerReachable.length})`, '');
    l.push(...mdTable(['from', 'to', 'port', 'now stopped by'], r.noLongerReachable.map((p) => [p.from, p.via === 'ingress' ? `${p.to} (ingress)` : p.to, String(p.port), p.stoppedBy.join('; ')])));
  }
  const broken = brokenOf(r);
  if (broken.steps.length + broken.traffic.length > 0) {
    l.push('', `### Broken legitimate traffic (${broken.steps.length + broken.traffic.length})`, '');
    l.push(...mdTable(['scenario', 'step or flow', 'before', 'after', 'stopped by (after)'], [
      ...broken.steps.map((s) => [s.scenario, s.step, s.before, s.after, s.stoppedByAfter.join(', ')]),
      ...broken.traffic.map((t) => [t.scenario, `${t.from} → ${t.to}`, `${pct(t.before)} ok`, `${pct(t.after)} ok`, ''])]));
  }
  for (const [title, list, word] of [['Posture findings added', r.postureAdded ?? [], 'weakens a control'], ['Posture findings removed', r.postureRemoved ?? [], 'strengthens a control']] as const) {
    if (list.length === 0) continue;
    l.push('', `### ${title} (${list.length})`, '');
    l.push(...mdTable(['code', 'severity', 'resource', 'finding', 'where'], list.map((f) => [f.code, `${f.severity}${f.weighed ? ` (${word})` : ''}`, f.resource, f.message,
      f.loc ? `${f.loc.file}:${f.loc.line}:${f.loc.col}` : ''])));
  }
  const steps = r.steps.filter((s) => s.kind !== 'broken');
  if (steps.length > 0) {
    l.push('', `### Scenario steps whose outcome changed (${steps.length})`, '');
    l.push(...mdTable(['scenario', 'step', 'kind', 'before', 'after', 'stopped by (after)'], steps.map((s) => [s.scenario, `${s.step}${s.attack ? '' : ' (legitimate)'}`, s.kind, s.before, s.after, s.stoppedByAfter.join(', ')])));
  }
  const traffic = r.traffic.filter((t) => t.kind !== 'worse');
  if (traffic.length > 0) {
    l.push('', `### Legitimate traffic whose success changed (${traffic.length})`, '');
    l.push(...mdTable(['scenario', 'from', 'to', 'before', 'after'], traffic.map((t) => [t.scenario, t.from, t.to, pct(t.before), pct(t.after)])));
  }
  for (const [title, flows] of [['Legitimate traffic on the after side only', r.trafficAdded], ['Legitimate traffic on the before side only', r.trafficRemoved]] as const) {
    if (flows.length === 0) continue;
    l.push('', `### ${title} (${flows.length})`, '');
    l.push(...mdTable(['scenario', 'from', 'to'], flows.map((t) => [t.scenario, t.from, t.to])));
  }
  return `${l.join('\n')}\n`;
}

const RULES = [
  { id: 'meshrange/newly-reachable', shortDescription: { text: 'A client can reach a Service port or an ingress route it could not reach before the change' } },
  { id: 'meshrange/step-regressed', shortDescription: { text: 'An attack step that was blocked before the change gets through after it' } },
  { id: 'meshrange/posture-weakened', shortDescription: { text: 'The change adds a posture finding (meshrange lint) at warning or above on a resource that had none as severe, or a plaintext-accepted finding (MR0101) new to the mesh: a control weakened' } },
  { id: 'meshrange/legitimate-broken', shortDescription: { text: 'A legitimate scenario step or flow gets less through after the change than before it' } },
  { id: 'meshrange/results-not-listed', shortDescription: { text: 'More results than a SARIF report lists' } },
];

function region(loc: { file: string; line: number; col: number } | undefined): unknown[] {
  if (!loc) return [];
  return [{ physicalLocation: { artifactLocation: { uri: pathUri(loc.file) }, region: { startLine: Math.max(1, loc.line), startColumn: Math.max(1, loc.col) } } }];
}

/**
 * SARIF 2.1.0: one result per newly reachable path, regressed attack step, posture finding that weakens a control and
 * broken legitimate step or flow, located where one exists.
 */
export function renderAssessSarif(r: AssessReport): string {
  const results: unknown[] = [];
  for (const p of r.newlyReachable) {
    results.push({
      ruleId: 'meshrange/newly-reachable', level: 'warning',
      message: { text: sarifText(`${p.from} can now reach ${p.to}:${p.port}${p.via === 'ingress' ? ' (ingress route)' : ''}${p.mtls === false ? ' in plaintext' : ''}${p.workloads.length > 0 ? ` (lands on ${p.workloads.join(', ')})` : ''}${p.stoppedBy.length > 0 ? `; before the change it was stopped by ${p.stoppedBy.join('; ')}` : ''}`) },
      locations: region(p.loc),
      partialFingerprints: { 'meshrange/path': `${p.from} ${p.to}:${p.port}` },
    });
  }
  for (const s of r.steps) {
    if (s.kind !== 'regression' || !s.attack) continue;
    results.push({
      ruleId: 'meshrange/step-regressed', level: 'error',
      message: { text: sarifText(`${s.scenario}/${s.step}: ${s.action} was ${s.before} before the change and is ${s.after} after it${s.stoppedByBefore.length > 0 ? `; it was stopped by ${s.stoppedByBefore.join(', ')}` : ''}`) },
      locations: region(s.loc),
      partialFingerprints: { 'meshrange/step': `${s.scenario}/${s.step}` },
    });
  }
  for (const f of r.postureAdded ?? []) {
    if (!f.weighed) continue;
    results.push({
      ruleId: 'meshrange/posture-weakened', level: f.severity === 'error' ? 'error' : 'warning',
      message: { text: sarifText(`${f.code} (${f.rule}) on ${f.resource}, new with the change: ${f.message}; fix: ${f.hint}`) },
      locations: region(f.loc),
      // the message too: two findings of one code on one resource (MR0103 on two rules of a policy) are two alerts
      partialFingerprints: { 'meshrange/finding': `${f.code} ${f.resource} ${f.message}` },
    });
  }
  const broken = brokenOf(r);
  for (const s of broken.steps) {
    results.push({
      ruleId: 'meshrange/legitimate-broken', level: 'warning',
      message: { text: sarifText(`${s.scenario}/${s.step}: legitimate ${s.action} was ${s.before} before the change and is ${s.after} after it${s.stoppedByAfter.length > 0 ? `; it is stopped by ${s.stoppedByAfter.join(', ')}` : ''}`) },
      locations: region(s.loc),
      partialFingerprints: { 'meshrange/step': `${s.scenario}/${s.step}` },
    });
  }
  for (const t of broken.traffic) {
    results.push({
      ruleId: 'meshrange/legitimate-broken', level: 'warning',
      message: { text: sarifText(`${t.scenario}: legitimate traffic ${t.from} → ${t.to} succeeded ${pct(t.before)} before the change and ${pct(t.after)} after it`) },
      locations: [],
      partialFingerprints: { 'meshrange/flow': `${t.scenario} ${t.from} ${t.to}` },
    });
  }
  if (results.length > SARIF_MAX_RESULTS) {
    const more = results.length - SARIF_MAX_RESULTS;
    results.length = SARIF_MAX_RESULTS;
    results.push({ ruleId: 'meshrange/results-not-listed', level: 'note', message: { text: `${more} more results are not listed here (at most ${SARIF_MAX_RESULTS} are); the JSON report of meshrange assess lists them all` } });
  }
  const doc = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'meshrange', version: MESHRANGE_VERSION, semanticVersion: MESHRANGE_VERSION, informationUri: MESHRANGE_INFO_URI, rules: RULES } },
      automationDetails: { id: 'meshrange/assess/' },
      ...sarifInvocations(r.warnings ?? []),
      results,
    }],
  };
  return jsonDocument(doc);
}
