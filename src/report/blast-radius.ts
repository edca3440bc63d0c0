/**
 * Renderers of a blast radius (analysis/blast-radius.ts): a text table, JSON
 * (product.md §4 `{ footholds: [{ from, reached: [{ id, hop }], compromised }] }`
 * plus the fields meshrange adds), and the reach graph as Graphviz DOT and
 * Mermaid. Every name came from a manifest a stranger wrote: each is escaped
 * for where it goes (core/escape.ts).
 */
import { dotText, escapeControls, jsonSafe, mermaidId, mermaidText } from '../core/escape.js';
import type { BlastRadius } from '../analysis/blast-radius.js';

export function renderBlastJson(b: BlastRadius): string {
  return [...renderBlastJsonChunks(b)].join('');
}

/**
 * renderBlastJson in pieces, the same text once joined (`JSON.stringify(b, null, 2)` and a newline): the top level
 * with `footholds` and `edges` written element by element (unsafe characters escaped as jsonDocument does), so a blast radius of 100,000 footholds is never one
 * string of ~85 MB (nor its copy on the way out). Pieces of about `chunk` characters.
 */
export function* renderBlastJsonChunks(b: BlastRadius, chunk = 1 << 20): Generator<string> {
  const lists = ['footholds', 'edges'] as const;
  let top = JSON.stringify({ ...b, footholds: [], edges: [] }, null, 2);
  let buf = '';
  for (const key of lists) {
    // The key at the top level: two spaces in, after a line break (a string value holds no raw line break or quote).
    const marker = `\n  "${key}": []`;
    const at = top.indexOf(marker);
    const items: readonly unknown[] = b[key];
    if (at < 0 || items.length === 0) continue;
    buf += `${top.slice(0, at)}\n  "${key}": [`;
    top = top.slice(at + marker.length);
    for (let i = 0; i < items.length; i++) {
      buf += `${i === 0 ? '' : ','}\n    ${JSON.stringify(items[i], null, 2).replaceAll('\n', '\n    ')}`;
      if (buf.length >= chunk) { yield jsonSafe(buf); buf = ''; }
    }
    buf += '\n  ]';
  }
  yield jsonSafe(`${buf}${top}\n`);
}

function exploitWords(b: BlastRadius): string {
  return b.exploit === 'all' ? 'exploit all' : b.exploit.length === 0 ? 'exploit nothing' : `exploit ${b.exploit.join(', ')}`;
}

/**
 * One row per foothold: how many workloads it reaches, how many it takes over, in how many hops, and which.
 * `taken` counts the workloads taken over besides the foothold (`compromised` without it), as `reached`
 * leaves the foothold out: the two columns compare, and a foothold that takes nothing over shows 0.
 */
export function renderBlastText(b: BlastRadius): string {
  const lines: string[] = [];
  lines.push(`blast radius: ${b.footholds.length} foothold${b.footholds.length === 1 ? '' : 's'}, depth ${b.depth}, ${exploitWords(b)}${b.crown.length > 0 ? `, crown jewels ${b.crown.join(', ')}` : ''}`);
  const rows = b.footholds.map((f) => [f.from, String(f.reached.length), String(f.compromised.filter((id) => id !== f.from).length), String(f.hops),
    ...(b.crown.length > 0 ? [`${f.crown?.length ?? 0}/${b.crown.length}`] : []),
    f.reached.length === 0 ? '-' : f.reached.map((r) => `${r.id}@${r.hop}`).join(' ')].map((c) => escapeControls(c)));
  const head = ['foothold', 'reached', 'taken', 'hops', ...(b.crown.length > 0 ? ['crown'] : []), 'reached (id@hop)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  lines.push(fmt(head));
  for (const r of rows) lines.push(fmt(r));
  const worst = [...b.footholds].sort((x, y) => y.reached.length - x.reached.length || (x.from < y.from ? -1 : 1))[0];
  if (worst && worst.reached.length > 0) lines.push(`widest: ${escapeControls(worst.from)} reaches ${worst.reached.length} workload${worst.reached.length === 1 ? '' : 's'} within ${worst.hops} hop${worst.hops === 1 ? '' : 's'}`);
  else lines.push('no foothold reaches any other workload');
  return `${lines.join('\n')}\n`;
}

/** The nodes of the graph: every foothold and every workload an edge touches, sorted. */
function graphNodes(b: BlastRadius): string[] {
  const ids = new Set<string>();
  for (const f of b.footholds) ids.add(f.from);
  for (const e of b.edges) { ids.add(e.from); ids.add(e.to); }
  return [...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

export function renderBlastDot(b: BlastRadius): string {
  const crown = new Set(b.crown);
  const lines = ['digraph blast_radius {', '  rankdir=LR;', '  node [shape=box];'];
  for (const id of graphNodes(b)) {
    const attrs = crown.has(id) ? ' [shape=doubleoctagon]' : id === 'outside' ? ' [shape=ellipse]' : '';
    lines.push(`  "${dotText(id)}"${attrs};`);
  }
  for (const e of b.edges) lines.push(`  "${dotText(e.from)}" -> "${dotText(e.to)}" [label="${dotText(e.ports.join(','))}"];`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export function renderBlastMermaid(b: BlastRadius): string {
  const crown = new Set(b.crown);
  const lines = ['flowchart LR'];
  for (const id of graphNodes(b)) lines.push(crown.has(id) ? `  ${mermaidId(id)}{{"${mermaidText(id)}"}}` : `  ${mermaidId(id)}["${mermaidText(id)}"]`);
  for (const e of b.edges) lines.push(`  ${mermaidId(e.from)} -->|"${mermaidText(e.ports.join(','))}"| ${mermaidId(e.to)}`);
  return `${lines.join('\n')}\n`;
}
