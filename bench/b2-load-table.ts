/**
 * The B2-load rows and targets of the summary (bench/b2-load.ts): load time
 * against a bare `yaml` parse (T2.4), prepareAuthz at 10,000 rules (T2.3),
 * and the peak RSS of the 10,000-policy load (issue 13 item 6). Pure: JSON
 * lines in, rows and targets appended.
 */
import { median, type RunLine } from './lib.js';

export interface LoadTarget { id: string; text: string; measured: string; ok: boolean | null }

const f3 = (v: number): string => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toPrecision(3)) : '—');
const xr = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '—');

function walls(ls: readonly RunLine[]): { med: number; min: number; max: number; ok: number; all: number } {
  const all = ls.filter((l) => l.missing === undefined);
  const v = all.filter((l) => l.check === true && l.wall_s !== null).map((l) => (l.wall_s as number) * 1000);
  return { med: median(v), min: Math.min(...v), max: Math.max(...v), ok: v.length, all: all.length };
}

/** rows: [bench, case, impl, median (min..max), unit, runs ok, ratio, notes, target ids] as table.ts renders them. */
export function summarizeB2Load(lines: readonly RunLine[], rows: string[][], targets: LoadTarget[]): void {
  const load = lines.filter((l) => l.bench === 'B2-load');
  const ratios: { format: string; r: number; rules: number }[] = [];
  for (const format of [...new Set(load.map((l) => String(l.params['format'])))]) {
    const ls = load.filter((l) => l.params['format'] === format);
    const rules = Number(ls[0]?.params['rules']);
    const docs = Number(ls[0]?.params['documents']);
    const bytes = Number(ls[0]?.params['bytes']);
    const peer = walls(ls.filter((l) => l.impl === 'yaml-parse'));
    const ours = walls(ls.filter((l) => l.impl === 'meshrange'));
    // the ratio of each round's pair, then their median: the two ran back to back, so they saw the same machine
    const pairs: number[] = [];
    for (const l of ls.filter((m) => m.impl === 'meshrange' && m.check === true)) {
      const p = ls.find((m) => m.impl === 'yaml-parse' && m.check === true && m.info?.['round'] === l.info?.['round']);
      if (p?.wall_s && l.wall_s) pairs.push(l.wall_s / p.wall_s);
    }
    const r = ours.ok && peer.ok ? ours.med / peer.med : NaN;
    ratios.push({ format, r, rules });
    const kase = `load ${rules.toLocaleString('en-US')} policies, ${format} YAML (${docs} docs, ${(bytes / 2 ** 20).toFixed(1)} MiB)`;
    rows.push(['B2', kase, 'yaml parseAllDocuments + toJS', `${f3(peer.med)} (${f3(peer.min)}..${f3(peer.max)})`, 'ms', `${peer.ok}/${peer.all}`, '', 'the bare parse: no validation, no locations kept', '']);
    rows.push(['B2', kase, 'meshrange loadMesh', `${f3(ours.med)} (${f3(ours.min)}..${f3(ours.max)})`, 'ms', `${ours.ok}/${ours.all}`, `${xr(r)} bare parse`,
      `per-round ratios ${pairs.length ? `${xr(Math.min(...pairs))}..${xr(Math.max(...pairs))}, median ${xr(median(pairs))}` : '—'}; rider: every policy and workload kept, no error`, rules === 10000 ? 'T2.4' : '']);
  }
  const at10k = ratios.filter((x) => x.rules === 10000);
  if (at10k.length > 0) {
    const ok = at10k.every((x) => Number.isFinite(x.r) && x.r <= 1.5);
    targets.push({ id: 'T2.4', text: 'loading 10,000 policies <= 1.5x a bare `yaml` parse, same run', measured: at10k.map((x) => `${x.format} ${xr(x.r)}`).join(', '), ok });
  }

  const prep = lines.filter((l) => l.bench === 'B2-prepare');
  if (prep.length > 0) {
    const s = walls(prep);
    const rules = Number(prep[0]?.params['rules']);
    // B2-authz marks T2.3 from its own setup runs when it ran too; this section's runs then get their own line
    const id = targets.some((t) => t.id === 'T2.3') ? 'T2.3 (B2-load)' : 'T2.3';
    rows.push(['B2', `prepare ${rules.toLocaleString('en-US')} rules (select + compile)`, 'meshrange prepareAuthz', `${f3(s.med)} (${f3(s.min)}..${f3(s.max)})`, 'ms', `${s.ok}/${s.all}`, '',
      `rider: decisions after it agree with the reference evaluator on ${String(prep[0]?.info?.['checked'])} requests`, rules === 10000 ? id : '']);
    if (rules === 10000 && s.ok > 0) targets.push({ id, text: 'B2 setup for 10,000 rules <= 100 ms', measured: `${f3(s.med)} ms (prepareAuthz, median of ${s.ok})`, ok: s.med <= 100 });
  }

  const rss = lines.filter((l) => l.bench === 'B2-load-rss');
  const ourPeaks: number[] = [];
  for (const l of rss) {
    const fmt = String(l.params['format']);
    const peer = rss.find((m) => m.impl === 'yaml-parse' && m.params['format'] === fmt);
    const rules = Number(l.params['rules']);
    if (l.impl === 'meshrange' && l.check === true && l.rss_mb !== null && rules === 10000) ourPeaks.push(l.rss_mb);
    rows.push(['B2', `peak RSS, load ${rules.toLocaleString('en-US')} policies, ${fmt} YAML`, l.impl === 'meshrange' ? 'meshrange loadMesh' : 'yaml parseAllDocuments + toJS',
      l.rss_mb === null ? 'child failed' : `${l.rss_mb}`, 'MB', l.check ? '1/1' : '0/1',
      l.impl === 'meshrange' && peer?.rss_mb && l.rss_mb ? `${xr(l.rss_mb / peer.rss_mb)} bare parse` : '', 'a process that reads the file and loads it, Node included', l.impl === 'meshrange' && rules === 10000 ? 'MEM2' : '']);
  }
  if (ourPeaks.length > 0) {
    const worst = Math.max(...ourPeaks);
    targets.push({ id: 'MEM2', text: 'issue 13: the 10,000-policy load within 300 MB RSS', measured: `${worst} MB (the larger of json and block)`, ok: worst <= 300 });
  }
}
