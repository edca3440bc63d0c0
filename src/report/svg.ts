/**
 * The HTML report's picture (issue 10 item 2): an inline SVG of the mesh — a
 * box per workload with its sidecar and mTLS mode, in a column per namespace —
 * and the attack path over it: for a pivot every attempt of its graph, for a
 * request-like step its from → to, each edge coloured by outcome and a blocked
 * one labelled with the control that stopped it. Inline in HTML, so no xmlns
 * (the HTML parser puts <svg> in the SVG namespace). Pure and deterministic: the
 * layout depends on the sorted ids only. Every string goes through htmlText.
 */
import { htmlText as h } from '../core/escape.js';
import type { MeshWorkloadSummary, Outcome, RunResult, StepResult, StoppedBy } from '../scenario/types.js';

const NODE_W = 180;
const NODE_H = 34;
const GAP = 12;
const COL_W = NODE_W + 260;
const PAD = 20;
const TOP = 60;
const COLOUR: Readonly<Record<Outcome, string>> = { allowed: '#c92a2a', blocked: '#2b8a3e', partial: '#e67700' };

interface Box { x: number; y: number }

interface Edge {
  step: string;
  from: string;
  to: string;
  outcome: Outcome;
  /** the controls that stopped it, for a blocked edge */
  stops: string[];
  /** how the attacker's own process sent it (a pivot's `as` or `bypass` edges): '' for the workload's own connection */
  how: string;
}

const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const num = (x: number): string => String(Math.round(x * 10) / 10);
const control = (b: Pick<StoppedBy, 'control' | 'name'>): string => `${b.control}${b.name ? ` ${b.name}` : ''}`;

/**
 * The workload a request-like step reached (or dialled); else the workload
 * another step of the run resolved the same `to` to (a request refused before
 * the endpoint was picked, e.g. a sidecar bypass, names none); else its host,
 * drawn outside the mesh.
 */
function target(s: StepResult, resolved: ReadonlyMap<string, string>): string | null {
  const w = s.evidence.destination?.workload;
  if (w !== undefined) return w;
  if (s.to === undefined) return null;
  if (s.to.startsWith('workload/')) return s.to.slice('workload/'.length).replace(/:\d+$/, '');
  return resolved.get(s.to) ?? s.to;
}

/** Every edge the steps drew, one per (step, from, to): a pivot's attempts on several ports or paths merge. */
function edgesOf(r: RunResult): Edge[] {
  const out = new Map<string, Edge>();
  const add = (e: Edge): void => {
    const key = JSON.stringify([e.step, e.from, e.to, e.how]);
    const had = out.get(key);
    if (!had) { out.set(key, e); return; }
    if (had.outcome !== 'allowed' && e.outcome === 'allowed') had.outcome = 'allowed';
    for (const x of e.stops) if (!had.stops.includes(x)) had.stops.push(x);
  };
  const resolved = new Map<string, string>();
  for (const s of r.steps) {
    const w = s.evidence.destination?.workload;
    if (s.to !== undefined && w !== undefined && !resolved.has(s.to)) resolved.set(s.to, w);
  }
  for (const s of r.steps) {
    if (s.graph) {
      for (const e of s.graph.edges) {
        const how = e.as !== undefined ? `as ${e.as}` : e.bypass === true ? 'around its proxy' : '';
        add({ step: s.id, from: e.from, to: e.deliveredTo ?? e.to, outcome: e.outcome, stops: e.outcome === 'blocked' ? e.stoppedBy.map(control) : [], how });
      }
      continue;
    }
    const to = target(s, resolved);
    if (to === null || to === s.from) continue;
    add({ step: s.id, from: s.from, to, outcome: s.outcome, stops: s.outcome === 'allowed' ? [] : s.stoppedBy.map(control), how: '' });
  }
  return [...out.values()];
}

function badge(w: MeshWorkloadSummary): string {
  if (w.gateway) return 'gateway';
  return w.sidecar ? `sidecar · ${w.mtls}` : 'no sidecar';
}

export function meshSvg(r: RunResult, index: number): string {
  const workloads = r.mesh?.workloads ?? [];
  const edges = edgesOf(r);
  const known = new Set(workloads.map((w) => w.id));
  // Ends that are not workloads of the mesh: `outside` on the left, hosts outside the mesh on the right.
  const others = [...new Set(edges.flatMap((e) => [e.from, e.to]).filter((id) => !known.has(id)))].sort();
  const left = others.filter((id) => id === 'outside');
  const right = others.filter((id) => id !== 'outside');
  const byNs = new Map<string, MeshWorkloadSummary[]>();
  for (const w of workloads) byNs.set(w.namespace, [...(byNs.get(w.namespace) ?? []), w]);
  const namespaces = [...byNs.keys()].sort();
  const columns: { title: string; ids: string[]; ns: boolean }[] = [];
  if (left.length > 0) columns.push({ title: 'outside the mesh', ids: left, ns: false });
  for (const ns of namespaces) columns.push({ title: `namespace ${ns}`, ids: (byNs.get(ns) ?? []).map((w) => w.id), ns: true });
  if (right.length > 0) columns.push({ title: 'outside the mesh', ids: right, ns: false });

  const at = new Map<string, Box>();
  const body: string[] = [];
  let height = TOP;
  columns.forEach((c, ci) => {
    const x = PAD + ci * COL_W;
    const y0 = TOP;
    c.ids.forEach((id, k) => at.set(id, { x, y: y0 + 24 + k * (NODE_H + GAP) }));
    const h2 = 24 + c.ids.length * (NODE_H + GAP);
    height = Math.max(height, y0 + h2 + PAD);
    body.push(`<g class="${c.ns ? 'namespace' : 'outside'}"><rect x="${num(x - 8)}" y="${y0}" width="${NODE_W + 16}" height="${h2}" rx="6" fill="${c.ns ? '#eef2f8' : '#f8f0e8'}" stroke="#ccd"/>`
      + `<text x="${num(x)}" y="${y0 + 16}" font-weight="bold">${h(cut(c.title, 30))}</text></g>`);
  });
  const nodes: string[] = [];
  for (const w of workloads) {
    const b = at.get(w.id) as Box;
    nodes.push(`<g class="workload" data-id="${h(w.id)}"><title>${h(w.id)}: ${h(badge(w))}</title>`
      + `<rect x="${num(b.x)}" y="${num(b.y)}" width="${NODE_W}" height="${NODE_H}" rx="4" fill="#fff" stroke="${w.sidecar || w.gateway ? '#364fc7' : '#868e96'}" stroke-width="${w.sidecar || w.gateway ? 2 : 1}"${w.sidecar || w.gateway ? '' : ' stroke-dasharray="4 3"'}/>`
      + `<text x="${num(b.x + 6)}" y="${num(b.y + 14)}">${h(cut(w.name, 28))}</text>`
      + `<text x="${num(b.x + 6)}" y="${num(b.y + 28)}" fill="#555">${h(badge(w))}</text></g>`);
  }
  for (const id of others) {
    const b = at.get(id) as Box;
    nodes.push(`<g class="external" data-id="${h(id)}"><title>${h(id)}</title><rect x="${num(b.x)}" y="${num(b.y)}" width="${NODE_W}" height="${NODE_H}" rx="4" fill="#fff" stroke="#e67700"/>`
      + `<text x="${num(b.x + 6)}" y="${num(b.y + 21)}">${h(cut(id, 28))}</text></g>`);
  }
  const lines: string[] = [];
  edges.forEach((e, k) => {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) return;
    const ay = a.y + NODE_H / 2;
    const by = b.y + NODE_H / 2;
    // Leave and enter on the facing sides; within one column, bow out to the right.
    const same = a.x === b.x;
    const ax = same || b.x > a.x ? a.x + NODE_W : a.x;
    const bx = same ? b.x + NODE_W : b.x > a.x ? b.x : b.x + NODE_W;
    const bow = 30 + (k % 5) * 12;
    const cx = same ? ax + 40 + Math.abs(ay - by) * 0.6 + (k % 4) * 16 : (ax + bx) / 2;
    const cy = same ? (ay + by) / 2 : (ay + by) / 2 - bow * (k % 2 === 0 ? 1 : -1);
    const mx = 0.25 * ax + 0.5 * cx + 0.25 * bx;
    const my = 0.25 * ay + 0.5 * cy + 0.25 * by;
    const colour = COLOUR[e.outcome];
    const text = `${e.outcome === 'allowed' ? e.step : `${e.step}: ${e.stops.length > 0 ? e.stops.join(', ') : e.outcome}`}${e.how !== '' ? ` (${e.how})` : ''}`;
    lines.push(`<g class="edge ${e.outcome}" data-step="${h(e.step)}" data-from="${h(e.from)}" data-to="${h(e.to)}"><title>${h(e.from)} → ${h(e.to)} (${h(text)})</title>`
      + `<path d="M${num(ax)} ${num(ay)} Q${num(cx)} ${num(cy)} ${num(bx)} ${num(by)}" fill="none" stroke="${colour}" stroke-width="2"${e.outcome === 'allowed' ? '' : ' stroke-dasharray="6 4"'} marker-end="url(#arrow-${index}-${e.outcome})"/>`
      + `<text x="${num(mx)}" y="${num(my - 3)}" text-anchor="${same ? 'start' : 'middle'}" fill="${colour}">${h(cut(text, 48))}</text></g>`);
  });
  const width = PAD * 2 + Math.max(1, columns.length) * COL_W;
  const markers = (Object.keys(COLOUR) as Outcome[]).map((o) => `<marker id="arrow-${index}-${o}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="${COLOUR[o]}"/></marker>`).join('');
  const legend = `<g class="legend"><text x="${PAD}" y="20">${workloads.length} workload${workloads.length === 1 ? '' : 's'}; edges: </text>`
    + `<text x="${PAD + 170}" y="20" fill="${COLOUR.allowed}">— got through</text><text x="${PAD + 270}" y="20" fill="${COLOUR.blocked}">- - blocked (label: the control)</text>`
    + `<text x="${PAD + 470}" y="20" fill="${COLOUR.partial}">- - partial</text>`
    + `<text x="${PAD}" y="40" fill="#555">solid box: sidecar or gateway; dashed: no sidecar</text></g>`;
  return `<svg class="mesh" role="img" aria-label="the mesh and the attack path" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}">`
    + `<defs>${markers}</defs>${legend}${body.join('')}${nodes.join('')}${lines.join('')}</svg>`;
}
