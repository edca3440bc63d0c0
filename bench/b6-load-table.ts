/**
 * The B6-load rows of the summary (bench/b6-load-workloads.ts): loading a
 * generated mesh of W workloads against a bare `yaml` parse of the same
 * files, time and peak RSS, and how the ratio moves as W grows. Pure: JSON
 * lines in, rows appended (rows as table.ts renders them).
 */
import { median, type RunLine } from './lib.js';

const f3 = (v: number): string => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toPrecision(3)) : '—');
const xr = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '—');

export function summarizeB6Load(lines: readonly RunLine[], rows: string[][]): void {
  const load = lines.filter((l) => l.bench === 'B6-load' && l.missing === undefined);
  const sizes = [...new Set(load.map((l) => Number(l.params['workloads'])))].sort((a, b) => a - b);
  for (const W of sizes) {
    const ls = load.filter((l) => Number(l.params['workloads']) === W);
    const ok = (impl: string): RunLine[] => ls.filter((l) => l.impl === impl && l.check === true && l.wall_s !== null);
    const peer = ok('yaml-parse');
    const ours = ok('meshrange');
    const ms = (xs: RunLine[]): number[] => xs.map((l) => (l.wall_s as number) * 1000);
    const rss = (xs: RunLine[]): number => Math.max(...xs.map((l) => l.rss_mb ?? NaN));
    const pairs: number[] = [];
    for (const l of ours) {
      const p = peer.find((m) => m.info?.['round'] === l.info?.['round']);
      if (p?.wall_s && l.wall_s) pairs.push(l.wall_s / p.wall_s);
    }
    const docs = Number(ls[0]?.params['documents']);
    const bytes = Number(ls[0]?.params['bytes']);
    const kase = `load generated mesh W=${W.toLocaleString('en-US')} (${docs} docs, ${(bytes / 2 ** 20).toFixed(1)} MiB)`;
    const cell = (xs: RunLine[]): string => (xs.length === 0 ? 'no run passed its check' : `${f3(median(ms(xs)))} (${f3(Math.min(...ms(xs)))}..${f3(Math.max(...ms(xs)))})`);
    const all = (impl: string): number => ls.filter((l) => l.impl === impl).length;
    rows.push(['B6', kase, 'yaml parseAllDocuments + toJS', cell(peer), 'ms', `${peer.length}/${all('yaml-parse')}`, '', `peak RSS ${f3(rss(peer))} MB; the bare parse, no validation`, '']);
    rows.push(['B6', kase, 'meshrange loadMesh', cell(ours), 'ms', `${ours.length}/${all('meshrange')}`, pairs.length ? `${xr(median(pairs))} bare parse` : '',
      `peak RSS ${f3(rss(ours))} MB (${xr(rss(ours) / rss(peer))} bare parse); per-round ratios ${pairs.length ? `${xr(Math.min(...pairs))}..${xr(Math.max(...pairs))}` : '—'}; rider: every workload kept, no error`, '']);
  }
}
