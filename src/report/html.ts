/**
 * The HTML report (issue 10 item 2): one self-contained page per run — the
 * summary, every step with its decision trace in a <details> (expands without
 * script), stoppedBy, defences with the sole ones marked, the controls table,
 * and an SVG of the mesh with the attack path (svg.ts).
 *
 * Self-contained: inline CSS and one small inline script, no URL of any kind;
 * a Content-Security-Policy that allows nothing else (`default-src 'none'`,
 * the style and script by their hashes) so the page cannot load anything even
 * if it tried. Every string from the scenario or the mesh goes through
 * core/escape.ts htmlText. Deterministic: the same results give the same bytes.
 */
import { createHash } from 'node:crypto';
import { htmlText as h, oneLine } from '../core/escape.js';
import type { Defence, RunResult, StepResult, StoppedBy } from '../scenario/types.js';
import { meshSvg } from './svg.js';

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;color:#1d2330;background:#fff}
h1{font-size:1.5em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccd}h3{font-size:1.05em}
.verdict{padding:.1em .5em;border-radius:.3em;color:#fff}.verdict.breached{background:#c92a2a}.verdict.contained{background:#2b8a3e}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccd;padding:.2em .6em;text-align:left;vertical-align:top}
details.step{border:1px solid #ccd;border-radius:.3em;margin:.4em 0;padding:.3em .6em}details.step>summary{cursor:pointer}
.allowed{color:#c92a2a}.blocked{color:#2b8a3e}.partial{color:#e67700}.miss{font-weight:bold;color:#c92a2a}
ol.trace{font-family:ui-monospace,monospace;font-size:.9em}.hop{display:inline-block;min-width:9em;color:#555}
.sole{font-weight:bold}pre{background:#f4f5f8;padding:.5em;overflow:auto;font-size:.85em;max-height:30em}
figure{margin:1em 0;overflow:auto;border:1px solid #ccd}svg text{font:11px system-ui,sans-serif}
svg .edge.dim{opacity:.12}button{margin-right:.5em}
`;

/** Expand/collapse all, and hovering or opening a step highlights its edges in the picture. */
const SCRIPT = `
document.querySelectorAll('section.scenario').forEach(function (sec) {
  var steps = sec.querySelectorAll('details.step');
  sec.querySelectorAll('button[data-open]').forEach(function (b) {
    b.addEventListener('click', function () { var v = b.getAttribute('data-open') === '1'; steps.forEach(function (d) { d.open = v; }); });
  });
  function focus(id) {
    sec.querySelectorAll('svg .edge').forEach(function (e) { e.classList.toggle('dim', id !== null && e.getAttribute('data-step') !== id); });
  }
  steps.forEach(function (d) {
    var id = d.getAttribute('data-step');
    d.addEventListener('mouseenter', function () { focus(id); });
    d.addEventListener('mouseleave', function () { focus(null); });
  });
});
`;

const hash = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

const label = (c: Pick<StoppedBy, 'control' | 'name'>): string => `${h(c.control)}${c.name ? ` ${h(c.name)}` : ''}`;

/** A value as pretty JSON inside <pre>: each line escaped on its own, so the layout stays and nothing becomes markup. */
function pre(value: unknown): string {
  return `<pre>${JSON.stringify(value, null, 2).split('\n').map(h).join('\n')}</pre>`;
}

function stopped(b: StoppedBy): string {
  return `<li><b>${label(b)}</b>${b.rule ? ` <code>${h(b.rule)}</code>` : ''}: ${h(b.reason)}</li>`;
}

function defence(d: Defence): string {
  const marks = [d.sole ? '<span class="sole">sole</span>' : '', d.removable === false ? 'cannot be removed' : ''].filter((x) => x !== '').join(', ');
  return `<li>${label(d)}${marks ? ` — ${marks}` : ''}: ${h(d.reason)}</li>`;
}

function stepHtml(s: StepResult, i: number): string {
  const mark = s.expectationMet === true ? '✓' : s.expectationMet === false ? '✗' : '·';
  const route = s.to !== undefined ? `${h(s.from)} → ${h(s.to)}` : h(s.from);
  const code = s.code === null ? '' : ` ${s.code}${s.grpcStatus !== undefined ? ` grpc=${s.grpcStatus}` : ''}`;
  const mtls = s.mtls === null ? '' : s.mtls ? ' mTLS' : ' no mTLS';
  const miss = s.expectationMet === false ? ` <span class="miss">(${s.expectationNote !== undefined ? h(s.expectationNote) : `expected ${h(s.expected ?? '')}`})</span>` : '';
  const out = [`<details class="step" id="step-${i}-${h(s.id)}" data-step="${h(s.id)}">`,
    `<summary>${mark} <b>${h(s.id)}</b> ${h(s.action)} ${route} — <span class="${s.outcome}">${s.outcome}</span>${code}${mtls}${miss}</summary>`,
    '<div class="body">',
    `<p>t = ${s.t} ms; ${s.attack ? 'attack step (counts towards the verdict)' : 'not from the attacker\'s foothold'}</p>`];
  if (s.stoppedBy.length > 0) out.push('<h4>Stopped by</h4>', `<ul class="stopped">${s.stoppedBy.map(stopped).join('')}</ul>`);
  const ds = s.defences ?? [];
  if (ds.length > 0) out.push('<h4>Defences</h4>', `<ul class="defences">${ds.map(defence).join('')}</ul>`);
  out.push('<h4>Trace</h4>', '<ol class="trace">');
  for (const ev of s.evidence.events) out.push(`<li><span class="hop">${h(ev.hop)}</span> t=${ev.t} ms: ${h(ev.what)}</li>`);
  out.push('</ol>');
  const { events: _events, ...evidence } = s.evidence;
  const extra: Record<string, unknown> = {};
  for (const k of ['as', 'presented', 'using', 'reached', 'compromised', 'hops', 'observed', 'captured', 'destination', 'via', 'bytesAttempted', 'bytesOut'] as const) {
    if (s[k] !== undefined) extra[k] = s[k];
  }
  if (Object.keys(extra).length > 0) out.push('<h4>Result</h4>', pre(extra));
  if (Object.keys(evidence).length > 0) out.push('<h4>Evidence</h4>', pre(evidence));
  out.push('</div>', '</details>');
  return out.join('\n');
}

function scenarioHtml(r: RunResult, i: number): string {
  const out: string[] = [`<section class="scenario" id="scenario-${i}">`,
    `<h2>${h(r.scenario)} <span class="verdict ${r.verdict}">${r.verdict}</span></h2>`];
  if (r.description !== undefined && r.description.trim() !== '') out.push(`<p class="description">${h(oneLine(r.description))}</p>`);
  out.push('<table class="summary">',
    `<tr><th>verdict</th><td>${r.verdict}</td></tr>`,
    `<tr><th>expectations</th><td>${r.expectations.passed} passed, ${r.expectations.failed} failed</td></tr>`,
    `<tr><th>seed</th><td>${r.seed}</td></tr>`,
    `<tr><th>file</th><td>${h(r.file)}</td></tr>`,
    `<tr><th>fingerprint</th><td><code>${h(r.fingerprint)}</code></td></tr>`,
    '</table>');
  out.push('<h3>Mesh and attack path</h3>', `<figure>${meshSvg(r, i)}</figure>`);
  out.push('<h3>Steps</h3>', '<p><button type="button" data-open="1">expand all</button><button type="button" data-open="0">collapse all</button></p>');
  r.steps.forEach((s) => out.push(stepHtml(s, i)));
  if (r.traffic.length > 0) {
    out.push('<h3>Legitimate traffic</h3>', '<table class="traffic"><tr><th>from → to</th><th>ok / sent</th><th>p99 ms</th><th>without the attack</th><th>degraded</th></tr>');
    for (const t of r.traffic) {
      const base = t.baseline ? `${t.baseline.ok} / ${t.baseline.sent}, p99 ${t.baseline.p99ms} ms` : '—';
      out.push(`<tr><td>${h(t.from)} → ${h(t.to)}</td><td>${t.ok} / ${t.sent}</td><td>${t.p99ms}</td><td>${base}</td><td>${t.degraded ? 'yes' : 'no'}</td></tr>`);
    }
    out.push('</table>');
  }
  out.push('<h3>Controls</h3>');
  if (r.controls.length === 0) out.push('<p>No control stopped any step.</p>');
  else {
    out.push('<table class="controls"><tr><th>control</th><th>steps it stops</th><th>steps it alone stops</th></tr>');
    for (const c of r.controls) out.push(`<tr><td>${label(c)}</td><td>${c.stops}</td><td>${c.soleStops}</td></tr>`);
    out.push('</table>');
  }
  if (r.warnings.length > 0) out.push('<h3>Warnings</h3>', `<ul class="warnings">${r.warnings.map((w) => `<li>${h(w)}</li>`).join('')}</ul>`);
  out.push('</section>');
  return out.join('\n');
}

export function renderHtml(results: readonly RunResult[]): string {
  const breached = results.filter((r) => r.verdict === 'breached').length;
  const passed = results.reduce((n, r) => n + r.expectations.passed, 0);
  const failed = results.reduce((n, r) => n + r.expectations.failed, 0);
  const title = results.length === 1 ? `meshrange: ${(results[0] as RunResult).scenario}` : `meshrange: ${results.length} scenarios`;
  const csp = `default-src 'none'; style-src ${hash(STYLE)}; script-src ${hash(SCRIPT)}; base-uri 'none'; form-action 'none'`;
  return `${[
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${h(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<h1>meshrange report</h1>',
    `<p class="totals">${results.length} scenario${results.length === 1 ? '' : 's'}: ${breached} breached, ${results.length - breached} contained; expectations: ${passed} passed, ${failed} failed</p>`,
    ...results.map(scenarioHtml),
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
  ].join('\n')}\n`;
}
