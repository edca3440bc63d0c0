/**
 * The summary of a bench run: medians (min..max) of the runs whose rider
 * passed, ratios against the peers of the same invocation, and the target
 * marks of docs/benchmarks.md. Pure: JSON lines in, markdown lines out.
 */
import { summarizeB2Load } from './b2-load-table.js';
import { summarizeB6Load } from './b6-load-table.js';
import { median, type RunLine } from './lib.js';

interface Stat { med: number; min: number; max: number; ok: number; all: number }

function stat(xs: readonly RunLine[], value: (l: RunLine) => number | null = (l) => l.rate): Stat | null {
  const all = xs.filter((l) => l.missing === undefined);
  const vals = all.filter((l) => l.check === true).map(value).filter((v): v is number => v !== null && Number.isFinite(v));
  if (vals.length === 0) return all.length === 0 ? null : { med: NaN, min: NaN, max: NaN, ok: 0, all: all.length };
  return { med: median(vals), min: Math.min(...vals), max: Math.max(...vals), ok: vals.length, all: all.length };
}

/** A count: plain below 1,000 (10, 100), else with a suffix (1 k, 10 k, 1 M, 10 M). */
function count(x: number): string {
  if (!Number.isFinite(x)) return '—';
  if (Math.abs(x) < 1000) return String(Math.round(x));
  if (Math.abs(x) < 1e6) return `${Number((x / 1e3).toPrecision(3))} k`;
  return `${Number((x / 1e6).toPrecision(3))} M`;
}

function si(x: number): string {
  if (!Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toPrecision(3)} M`;
  if (a >= 1e3) return `${(x / 1e3).toPrecision(3)} k`;
  return x.toPrecision(3);
}

const cell = (s: Stat | null, f: (x: number) => string = si): string =>
  s === null ? '—' : s.ok === 0 ? `no run passed its check (0/${s.all})` : `${f(s.med)} (${f(s.min)}..${f(s.max)})`;
const runs = (s: Stat | null): string => (s === null ? '—' : `${s.ok}/${s.all}`);
const x = (r: number): string => (Number.isFinite(r) ? `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}x` : '—');
const ms = (v: number): string => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toPrecision(3)) : '—');
const mark = (ok: boolean | null): string => (ok === null ? 'n/a' : ok ? 'PASS' : 'FAIL');

export interface Target { id: string; text: string; measured: string; ok: boolean | null }

export function summarize(lines: readonly RunLine[], notes: readonly string[]): string[] {
  const rows: string[][] = [];
  const targets: Target[] = [];
  const missingRows: string[] = [];
  const by = (bench: string, pred: (l: RunLine) => boolean = () => true): RunLine[] => lines.filter((l) => l.bench === bench && pred(l));
  const p = (l: RunLine, k: string): unknown => l.params[k];
  const info = (l: RunLine, k: string): unknown => l.info?.[k];
  for (const l of lines) if (l.missing !== undefined) missingRows.push(`- ${l.bench} ${l.impl}${Object.keys(l.params).length ? ` (${JSON.stringify(l.params)})` : ''}: missing — ${l.missing}`);

  // ---------------------------------------------------------------- B1a
  for (const model of ['M/M/4', 'M/M/1']) {
    const ls = by('B1a-mmc', (l) => p(l, 'model') === model);
    if (ls.length === 0) continue;
    const impls = ['meshrange', 'simpy', 'ns3-map', 'ns3-heap'];
    const st = Object.fromEntries(impls.map((i) => [i, stat(ls.filter((l) => l.impl === i))]));
    const ours = st['meshrange'];
    const customers = p(ls[0] as RunLine, 'customers');
    for (const i of impls) {
      const s = st[i] ?? null;
      if (s === null) continue;
      const err = median(ls.filter((l) => l.impl === i && l.missing === undefined).map((l) => info(l, 'sojourn_error_pct') as number));
      let ratio = '';
      if (i === 'meshrange' && ours) {
        ratio = impls.slice(1).map((j) => st[j] ? `${x(ours.med / (st[j] as Stat).med)} ${j}` : null).filter(Boolean).join(', ');
      }
      rows.push(['B1a', `${model}, ${count(customers as number)} customers`, i, cell(s), 'customers/s', runs(s), ratio, `sojourn ${err >= 0 ? '+' : ''}${err.toFixed(2)} % vs Erlang C`, model === 'M/M/4' && i === 'meshrange' ? 'T1.1,T1.2' : '']);
    }
    if (model === 'M/M/4') {
      const simpy = st['simpy'];
      const ns3 = ['ns3-map', 'ns3-heap'].map((j) => st[j]).filter((v): v is Stat => !!v && v.ok > 0);
      const r1 = ours && simpy && ours.ok && simpy.ok ? ours.med / simpy.med : NaN;
      targets.push({ id: 'T1.1', text: 'B1a M/M/4 >= 25x SimPy 3', measured: simpy ? x(r1) : 'SimPy missing', ok: Number.isFinite(r1) ? r1 >= 25 : null });
      const worst = ns3.length && ours?.ok ? Math.min(...ns3.map((n) => ours.med / n.med)) : NaN;
      targets.push({ id: 'T1.2', text: 'B1a M/M/4 >= 1.0x ns-3 (each scheduler)', measured: ns3.length ? `${x(worst)} (vs the faster scheduler)` : 'ns-3 missing', ok: Number.isFinite(worst) ? worst >= 1 : null });
    }
  }

  // ---------------------------------------------------------------- B1b
  const holdKernel = new Map<number, number>();
  for (const P of [1e3, 1e5, 1e6]) {
    const ls = by('B1b-hold', (l) => p(l, 'P') === P);
    if (ls.length === 0) continue;
    const bare = stat(ls.filter((l) => l.impl === 'bare'));
    for (const i of ['bare', 'kernel', 'kernel-plain-heap']) {
      const s = stat(ls.filter((l) => l.impl === i));
      if (s === null) continue;
      if (i === 'kernel') holdKernel.set(P, s.med);
      rows.push(['B1b', `hold P=${count(P)}, ${count(p(ls[0] as RunLine, 'events') as number)} events`, i, cell(s), 'events/s', runs(s), i === 'bare' || !bare ? '' : `${x(s.med / bare.med)} bare`, '', P === 1e6 && i === 'kernel' ? 'T1.3' : '']);
      if (P === 1e6 && i === 'kernel') {
        const ok = bare ? s.med >= 2.5e6 && s.med / bare.med >= 0.6 : null;
        targets.push({ id: 'T1.3', text: 'B1b P=1e6 >= 2.5 M events/s and >= 0.6x bare heap', measured: `${si(s.med)} events/s, ${bare ? x(s.med / bare.med) : '—'} bare`, ok });
      }
    }
  }

  // ---------------------------------------------------------------- B1c
  const floodConfigs = [...new Set(by('B1c-flood').map((l) => `${p(l, 'workloads')}|${p(l, 'events_nominal')}`))];
  for (const key of floodConfigs) {
    const [W, ev] = key.split('|').map(Number) as [number, number];
    const ls = by('B1c-flood', (l) => p(l, 'workloads') === W && p(l, 'events_nominal') === ev);
    const s = stat(ls);
    const wall = stat(ls, (l) => l.wall_s);
    const fps = [...new Set(ls.map((l) => info(l, 'fingerprint')))];
    const peak = Math.max(...ls.map((l) => Number(info(l, 'peak_pending') ?? NaN)));
    const rss = Math.max(...ls.map((l) => l.rss_mb ?? NaN));
    const events = median(ls.map((l) => Number(info(l, 'events'))));
    const kernel = holdKernel.get(1e3);
    rows.push(['B1c', `flood W=${W}, ~${count(ev)} events (${si(events)} actual)`, 'meshrange', cell(s), 'events/s', runs(s),
      kernel && s?.ok ? `${x(s.med / kernel)} B1b kernel at P=1e3` : '',
      `wall ${wall?.ok ? ms(wall.med) : '—'} s; peak pending ${peak}; peak RSS ${rss} MB; fingerprint ${fps.length === 1 ? `${fps[0]} (same in ${ls.length} runs)` : `DIFFERS: ${fps.join(', ')}`}`, ev === 1e7 ? 'T1.4' : '']);
    if (ev === 1e7) {
      const ok = wall?.ok ? wall.med <= 10 && rss <= 500 && fps.length === 1 && ls.length >= 2 : false;
      targets.push({ id: 'T1.4', text: 'B1c 1e7 events <= 10 s, RSS <= 500 MB, same fingerprint', measured: `W=${W}: ${wall?.ok ? ms(wall.med) : '—'} s for ${si(events)} events, ${rss} MB, ${fps.length === 1 ? 'same fingerprint' : 'fingerprints differ'}`, ok });
    }
  }

  // ---------------------------------------------------------------- B2
  const sizes = [...new Set(by('B2-authz').map((l) => p(l, 'rules') as number))].sort((a, b) => a - b);
  const b2: Record<string, Map<number, Stat | null>> = { meshrange: new Map(), 'cedar-wasm': new Map(), casbin: new Map() };
  const setup: Record<string, Map<number, Stat | null>> = { meshrange: new Map(), 'cedar-wasm': new Map(), casbin: new Map() };
  for (const R of sizes) {
    const ls = by('B2-authz', (l) => p(l, 'rules') === R);
    for (const i of ['meshrange', 'cedar-wasm', 'casbin']) {
      const mine = ls.filter((l) => l.impl === i);
      const s = stat(mine);
      b2[i]?.set(R, s);
      const su = stat(mine, (l) => Number(info(l, 'setup_ms')));
      setup[i]?.set(R, su);
      if (s === null) continue;
      const us = stat(mine, (l) => (l.rate ? 1e6 / l.rate : null));
      let ratio = '';
      if (i === 'meshrange' && s.ok) {
        ratio = ['cedar-wasm', 'casbin'].map((j) => { const o = b2[j]?.get(R) ?? stat(ls.filter((l) => l.impl === j)); return o?.ok ? `${x(s.med / o.med)} ${j}` : null; }).filter(Boolean).join(', ');
      }
      const load = i === 'meshrange' ? `; loader (YAML → Mesh) ${ms(Number(info(mine[0] as RunLine, 'load_ms')))} ms` : '';
      rows.push(['B2', `${count(R)} rules`, i, cell(s), 'decisions/s', runs(s), ratio, `${us?.ok ? ms(us.med) : '—'} µs/decision; setup ${su?.ok ? ms(su.med) : '—'} ms${load}`,
        i === 'meshrange' ? [R === 100 ? 'T2.1' : '', R === 10000 ? 'T2.3' : ''].filter(Boolean).join(',') : '']);
    }
    // ratios vs peers need both sides: recompute meshrange's ratio after peers are known
  }
  // fix meshrange ratio cells that were computed before the peers of the same size were read
  for (const row of rows) {
    if (row[0] !== 'B2' || row[2] !== 'meshrange') continue;
    const R = sizes.find((n) => row[1] === `${count(n)} rules`);
    if (R === undefined) continue;
    const m = b2['meshrange']?.get(R);
    if (!m?.ok) continue;
    row[6] = ['cedar-wasm', 'casbin'].map((j) => { const o = b2[j]?.get(R); return o?.ok ? `${x(m.med / o.med)} ${j}` : null; }).filter(Boolean).join(', ');
  }
  if (sizes.length > 1) {
    const lo = sizes[0] as number;
    const hi = sizes[sizes.length - 1] as number;
    const growth = (i: string): number => { const a = b2[i]?.get(lo); const b = b2[i]?.get(hi); return a?.ok && b?.ok ? a.med / b.med : NaN; };
    rows.push(['B2', `growth cost(${count(hi)}) / cost(${count(lo)})`, 'all', ['meshrange', 'cedar-wasm', 'casbin'].map((i) => `${i} ${x(growth(i))}`).join(', '), 'µs ratio', '', '', '', 'T2.2']);
    if (lo === 10 && hi === 10000) targets.push({ id: 'T2.2', text: 'B2 growth cost(10,000)/cost(10) <= 30x', measured: x(growth('meshrange')), ok: Number.isFinite(growth('meshrange')) ? growth('meshrange') <= 30 : null });
  }
  const m100 = b2['meshrange']?.get(100);
  if (m100) {
    const c = b2['cedar-wasm']?.get(100);
    const k = b2['casbin']?.get(100);
    const rc = m100.ok && c?.ok ? m100.med / c.med : NaN;
    const rk = m100.ok && k?.ok ? m100.med / k.med : NaN;
    targets.push({ id: 'T2.1', text: 'B2 at 100 rules >= 100x cedar-wasm and >= 30x casbin', measured: `${x(rc)} cedar-wasm, ${x(rk)} casbin`,
      ok: Number.isFinite(rc) && Number.isFinite(rk) ? rc >= 100 && rk >= 30 : null });
  }
  const s10k = setup['meshrange']?.get(10000);
  if (s10k?.ok) {
    const load = Number(info(by('B2-authz', (l) => p(l, 'rules') === 10000 && l.impl === 'meshrange')[0] as RunLine, 'load_ms'));
    targets.push({ id: 'T2.3', text: 'B2 setup for 10,000 rules <= 100 ms', measured: `${ms(s10k.med)} ms to select and compile every workload's policies (prepareAuthz); the loader takes ${ms(load)} ms for the YAML`, ok: s10k.med <= 100 });
  }

  summarizeB2Load(lines, rows, targets);
  summarizeB6Load(lines, rows);

  // ---------------------------------------------------------------- B3 (pivot line)
  const b3 = by('B3-pivot');
  for (const profile of [...new Set(b3.map((l) => String(p(l, 'profile'))))]) {
    const ls = b3.filter((l) => p(l, 'profile') === profile);
    const W = p(ls[0] as RunLine, 'workloads') as number;
    const bits = stat(ls.filter((l) => l.impl === 'bitset'), (l) => (l.wall_s === null ? null : l.wall_s * 1000));
    const mine = ls.filter((l) => l.impl === 'meshrange');
    const ours = stat(mine, (l) => l.wall_s);
    const peak = (xs: RunLine[]): number => Math.max(...xs.map((l) => l.rss_mb ?? NaN));
    const first = mine.find((l) => l.check === true) ?? mine[0];
    if (bits) {
      const bl = ls.filter((l) => l.impl === 'bitset');
      rows.push(['B3', `pivot exploit all, W=${count(W)}, ${profile}`, 'bitset', cell(bits, ms), 'ms', runs(bits), '',
        `one-hop graph from the plain model + BFS; reached ${String(info(bl[0] as RunLine, 'reached'))}, ${String(info(bl[0] as RunLine, 'hops'))} hops; peak RSS ${peak(bl)} MB`]);
    }
    if (ours && first) {
      const us = stat(mine, (l) => (l.rate ? 1e6 / l.rate : null));
      rows.push(['B3', `pivot exploit all, W=${count(W)}, ${profile}`, 'meshrange', cell(ours, (v) => `${v.toPrecision(3)} s`), 's', runs(ours),
        bits?.ok && ours.ok ? `${x((ours.med * 1000) / bits.med)} bitset` : '',
        `${si(Number(info(first, 'decisions')))} decisions (${us?.ok ? ms(us.med) : '—'} µs each), reached ${String(info(first, 'reached'))} in ${String(info(first, 'hops'))} hops; peak RSS ${peak(mine)} MB (explore ${Number(info(first, 'rss_growth_mb')) >= 0 ? '+' : ''}${String(info(first, 'rss_growth_mb'))} MB; YAML load ${String(info(first, 'load_s'))} s, not timed); rider: same hops as the bitset BFS, naive BFS agrees on ${String((info(first, 'naive_bfs_sampled') as unknown[] | undefined)?.length ?? 0)} sampled sources`]);
    }
  }

  // ---------------------------------------------------------------- B3 (blast radius at scale: b3-blast.ts)
  const blast = by('B3-blast');
  const blastSizes = [...new Set(blast.map((l) => p(l, 'workloads') as number))].sort((a, b) => a - b);
  const t3 = new Map<number, { profile: string; ratio: number; rss: number; wall: number; projected: number | null }[]>();
  for (const W of blastSizes) {
    for (const profile of ['open', 'strict', 'segmented']) {
      const ls = blast.filter((l) => p(l, 'workloads') === W && p(l, 'profile') === profile);
      if (ls.length === 0) continue;
      const bl = ls.filter((l) => l.impl === 'bitset');
      const mine = ls.filter((l) => l.impl === 'meshrange');
      const bits = stat(bl, (l) => (l.wall_s === null ? null : l.wall_s * 1000));
      const peak = (xs: RunLine[]): number => Math.max(...xs.map((l) => l.rss_mb ?? NaN));
      const phases = (l: RunLine | undefined): string => {
        const ph = l ? info(l, 'phases_s') as Record<string, number> | undefined : undefined;
        return ph ? `graph ${ph['graph']} s, scc ${ph['scc']} s, 100 footholds ${ph['blast100']} s, closure ${ph['closure']} s` : '';
      };
      const case_ = `blast radius exploit all, W=${count(W)}, ${profile}`;
      const tid = W === 10_000 ? 'T3.1' : W === 100_000 ? 'T3.2' : '';
      if (bits) {
        const b0 = bl.find((l) => l.check === true) ?? bl[0];
        rows.push(['B3', case_, 'bitset', cell(bits, ms), 'ms', runs(bits), '',
          `graph from the plain model; ${phases(b0)}; ${String(b0 ? info(b0, 'edges') : '')} edges, ${String(b0 ? info(b0, 'components') : '')} components, blast max ${String(b0 ? info(b0, 'max_blast') : '')} / mean ${String(b0 ? info(b0, 'mean_blast') : '')}; peak RSS ${peak(bl)} MB`]);
      }
      const ran = mine.filter((l) => l.wall_s !== null);
      const proj = mine.find((l) => l.wall_s === null && info(l, 'projected_graph_s') !== undefined);
      const list = t3.get(W) ?? [];
      if (ran.length > 0) {
        const ours = stat(ran, (l) => l.wall_s);
        const m0 = ran.find((l) => l.check === true) ?? ran[0] as RunLine;
        const rider = info(m0, 'rider') as Record<string, unknown> | undefined;
        const ratio = bits?.ok && ours?.ok ? (ours.med * 1000) / bits.med : NaN;
        rows.push(['B3', case_, 'meshrange', cell(ours, (v) => `${v.toPrecision(3)} s`), 's', runs(ours), Number.isFinite(ratio) ? `${x(ratio)} bitset` : '',
          `${si(Number(info(m0, 'decisions')))} decisions through policy/decide.ts; ${phases(m0)}; peak RSS ${peak(ran)} MB (YAML load ${String(info(m0, 'load_s'))} s, not timed); rider: graph = plain model ${String(rider?.['same_graph_as_plain_model'])}, 100 footholds = plain BFS ${String(rider?.['footholds_blast_as_plain_bfs'])}, naive BFS on 3 sources ${String(rider?.['naive_bfs_agrees'])}`, tid]);
        if (ours?.ok) list.push({ profile, ratio, rss: peak(ran), wall: ours.med, projected: null });
      } else if (proj) {
        const projected = Number(info(proj, 'projected_graph_s'));
        rows.push(['B3', case_, 'meshrange', `not run: graph projected ${projected} s`, 's', '0/0', bits?.ok ? `~${x((projected * 1000) / bits.med)} bitset (projected)` : '',
          `${String(info(proj, 'not_run'))}; ${String(info(proj, 'ms_per_source'))} ms per source over ${String(info(proj, 'attempts_per_source'))} attempts, timed on ${String(info(proj, 'sampled_sources'))} sampled sources; peak RSS ${peak(mine)} MB (YAML load ${String(info(proj, 'load_s'))} s)`, tid]);
        list.push({ profile, ratio: bits?.ok ? (projected * 1000) / bits.med : NaN, rss: peak(mine), wall: projected, projected });
      }
      t3.set(W, list);
    }
  }
  // A mark judges the worst of the three profiles; a profile without a good meshrange line (its process died, its
  // rider failed, --quick) leaves the mark unmeasured unless a measured one fails already: PASS on two of three
  // profiles is not a PASS.
  const worst = (W: number): { ratio: number; rss: number; wall: number; projected: boolean; missing: string[] } | null => {
    const l = t3.get(W);
    if (!l || l.length === 0) return null;
    const missing = ['open', 'strict', 'segmented'].filter((pr) => !l.some((e) => e.profile === pr));
    return { ratio: Math.max(...l.map((e) => e.ratio)), rss: Math.max(...l.map((e) => e.rss)), wall: Math.max(...l.map((e) => e.wall)), projected: l.some((e) => e.projected !== null), missing };
  };
  const t3Mark = (w: { missing: string[] }, ok: boolean): boolean | null => (!ok ? false : w.missing.length > 0 ? null : true);
  /** the measured text, said to be partial when a profile is missing and nothing measured fails */
  const t3Text = (w: { missing: string[] }, ok: boolean, text: string): string =>
    (w.missing.length === 0 ? text : `${ok ? 'not measured: ' : ''}no good meshrange line for ${w.missing.join(', ')} (see the notes); the other profiles: ${text}`);
  if (blast.length > 0) {
    const w10 = worst(10_000);
    targets.push({ id: 'T3.1', text: 'B3 at 10,000 workloads <= 3x the bitset baseline, RSS <= 150 MB',
      measured: w10 ? t3Text(w10, w10.ratio <= 3 && w10.rss <= 150, `${w10.projected ? 'projected (not run) ' : ''}${x(w10.ratio)} bitset (worst profile), peak RSS ${w10.rss} MB`) : 'not run',
      ok: w10 ? t3Mark(w10, w10.ratio <= 3 && w10.rss <= 150) : null });
    const w100 = worst(100_000);
    if (w100) {
      targets.push({ id: 'T3.2', text: 'B3 stretch: 100,000 workloads <= 10 s, <= 2 GB',
        measured: t3Text(w100, w100.wall <= 10 && w100.rss <= 2048, `${w100.projected ? 'projected (not run) ' : ''}${w100.wall.toPrecision(3)} s (worst profile), peak RSS ${w100.rss} MB`),
        ok: t3Mark(w100, w100.wall <= 10 && w100.rss <= 2048) });
    } else {
      const bitsOnly = blast.some((l) => p(l, 'workloads') === 100_000);
      targets.push({ id: 'T3.2', text: 'B3 stretch: 100,000 workloads <= 10 s, <= 2 GB', ok: null,
        measured: `not measured: ${bitsOnly ? 'no good meshrange line at 100,000 workloads (the bitset line above did run; see the notes)' : 'no B3 blast-radius line at 100,000 workloads in this run (--quick stops at 1,000)'}` });
    }
  }

  // ---------------------------------------------------------------- B4
  const st = by('B4-startup');
  if (st.length > 0) {
    const node = stat(st.filter((l) => l.impl === 'node -e 0'), (l) => l.wall_s);
    for (const i of ['node -e 0', 'meshrange-cli', 'meshrange-bin-as-is']) {
      const s = stat(st.filter((l) => l.impl === i), (l) => (l.wall_s === null ? null : l.wall_s * 1000));
      if (s === null) continue;
      const ratio = i !== 'node -e 0' && node?.ok && s.ok ? `${x(s.med / (node.med * 1000))} node -e 0` : '';
      rows.push(['B4', `cold start: run ${String(p(st[0] as RunLine, 'scenario'))}`, i, cell(s, ms), 'ms', runs(s), ratio,
        i === 'meshrange-cli' ? 'bin/meshrange.js + dist/ compiled by the bench' : i === 'meshrange-bin-as-is' ? 'bin/meshrange.js as checked out (runs src/ through tsx when dist/ is stale)' : `timer: ${String(p(st[0] as RunLine, 'timer'))}`,
        i === 'meshrange-cli' ? 'T4.1' : '']);
      if (i === 'meshrange-cli' && node?.ok && s.ok) {
        const r = s.med / (node.med * 1000);
        targets.push({ id: 'T4.1', text: 'CLI cold start <= 3x `node -e 0`', measured: `${ms(s.med)} ms vs ${ms(node.med * 1000)} ms = ${x(r)}`, ok: r <= 3 });
      }
    }
  }
  const suite = stat(by('B4-suite'), (l) => l.wall_s);
  if (suite) rows.push(['B4', 'shipped scenario suite', 'meshrange run scenarios/', cell(suite, (v) => `${v.toFixed(2)} s`), 's', runs(suite), '', 'exit 0 = every expectation met']);
  const t = by('B4-npm-test');
  if (t.length > 0) {
    const l = t[0] as RunLine;
    rows.push(['B4', 'npm test (once)', 'npm test', `${(l.wall_s ?? NaN).toFixed(1)} s`, 's', l.check ? '1/1' : '0/1', '', String(info(l, 'summary') ?? (l.check ? '' : 'FAILED')), 'T4.2']);
    targets.push({ id: 'T4.2', text: '`npm test` <= 5 min', measured: `${(l.wall_s ?? NaN).toFixed(1)} s${l.check ? '' : ' (tests failed)'}`, ok: l.check ? (l.wall_s ?? Infinity) <= 300 : false });
  }

  // ---------------------------------------------------------------- B5
  const b5 = by('B5-exercise');
  const exNames = [...new Set(b5.map((l) => String(p(l, 'exercise'))))].sort();
  let slowest: { name: string; ms: number } | null = null;
  for (const name of exNames) {
    const chk = stat(b5.filter((l) => l.impl === 'exercise-check' && p(l, 'exercise') === name), (l) => (l.wall_s === null ? null : l.wall_s * 1000));
    const plain = stat(b5.filter((l) => l.impl === 'run' && p(l, 'exercise') === name), (l) => (l.wall_s === null ? null : l.wall_s * 1000));
    const ratio = chk?.ok && plain?.ok ? `${x(chk.med / plain.med)} run` : '';
    rows.push(['B5', `exercise check ${name}`, 'exercise check (solution)', cell(chk, ms), 'ms', runs(chk), ratio, 'rider: solution scores max, same JSON every round', 'T5.1']);
    rows.push(['B5', `exercise check ${name}`, 'run (same scenario)', cell(plain, ms), 'ms', runs(plain), '', 'in-process, interleaved with the check', '']);
    if (chk?.ok && (slowest === null || chk.max > slowest.ms)) slowest = { name, ms: chk.max };
  }
  if (exNames.length > 0) {
    const allOk = exNames.every((n) => b5.some((l) => l.impl === 'exercise-check' && p(l, 'exercise') === n && l.check === true));
    targets.push({ id: 'T5.1', text: '`exercise check` < 1 s for each shipped exercise', measured: slowest ? `slowest run: ${slowest.name} ${ms(slowest.ms)} ms` : 'no check passed', ok: allOk && slowest !== null && slowest.ms < 1000 });
  }

  // ---------------------------------------------------------------- W (run --workers)
  const w = by('W-suite');
  if (w.length > 0) {
    const serial = stat(w.filter((l) => l.impl === 'serial'), (l) => l.wall_s);
    for (const impl of [...new Set(w.map((l) => l.impl))]) {
      const s = stat(w.filter((l) => l.impl === impl), (l) => l.wall_s);
      const speedup = impl !== 'serial' && serial?.ok && s?.ok ? `speed-up ${x(serial.med / s.med)} over serial` : '';
      rows.push(['W', `shipped suite, ${String(p(w[0] as RunLine, 'scenarios'))} scenarios`, impl, cell(s, (v) => `${v.toFixed(2)} s`), 's', runs(s), speedup,
        impl === 'serial' ? 'runFiles in one thread, a fresh process per run' : 'rider: JSON report byte-identical to the serial run; wall includes starting the workers']);
    }
  }

  // ---------------------------------------------------------------- W target (issue 13 item 4: no figure in benchmarks.md)
  if (w.length > 0) {
    const serial = stat(w.filter((l) => l.impl === 'serial'), (l) => l.wall_s);
    const par = w.filter((l) => l.impl !== 'serial');
    const ps = stat(par, (l) => l.wall_s);
    const identical = par.length > 0 && par.every((l) => l.check === true);
    const sp = serial?.ok && ps?.ok ? serial.med / ps.med : NaN;
    targets.push({ id: 'W', text: '`run --workers N` on the shipped suite: reports byte-identical to a serial run and faster than it (issue 13 item 4)',
      measured: `${par[0]?.impl ?? 'workers'}: speed-up ${x(sp)} over serial (${serial?.ok ? serial.med.toFixed(2) : '—'} s → ${ps?.ok ? ps.med.toFixed(2) : '—'} s), reports ${identical ? 'byte-identical in every run' : 'NOT identical in every run'}`,
      ok: Number.isFinite(sp) ? identical && sp > 1 : identical ? null : false });
  }

  // ---------------------------------------------------------------- MEM1 (issue 13 item 6: the 100,000-workload load must fit for the blast radius to)
  const big = lines.filter((l) => l.bench === 'B6-load' && Number(l.params['workloads']) === 100_000 && l.missing === undefined);
  if (big.length > 0) {
    const ours = big.filter((l) => l.impl === 'meshrange' && l.check === true && l.rss_mb !== null);
    const peer = big.filter((l) => l.impl === 'yaml-parse' && l.check === true && l.wall_s !== null);
    const rss = ours.length > 0 ? Math.max(...ours.map((l) => l.rss_mb as number)) : NaN;
    const wall = median(ours.map((l) => l.wall_s as number));
    const ratio = peer.length > 0 ? wall / median(peer.map((l) => l.wall_s as number)) : NaN;
    targets.push({ id: 'MEM1', text: 'issue 13 item 6: loading 100,000 generated workloads within 2 GB RSS (B6; the blast radius runs on that loaded mesh)',
      measured: ours.length > 0 ? `${ms(rss)} MB peak RSS, ${wall.toPrecision(3)} s (${x(ratio)} a bare yaml parse of the same files)` : 'no meshrange run passed its check', ok: ours.length > 0 ? rss <= 2048 : false });
  }

  // ---------------------------------------------------------------- targets not measured in this run: say which and why
  const sectionOf: [string, string, string][] = [
    ['T1.1', 'B1a M/M/4 >= 25x SimPy 3', 'B1a'], ['T1.2', 'B1a M/M/4 >= 1.0x ns-3 (each scheduler)', 'B1a'],
    ['T1.3', 'B1b P=1e6 >= 2.5 M events/s and >= 0.6x bare heap', 'B1b'], ['T1.4', 'B1c 1e7 events <= 10 s, RSS <= 500 MB, same fingerprint', 'B1c'],
    ['T2.1', 'B2 at 100 rules >= 100x cedar-wasm and >= 30x casbin', 'B2'], ['T2.2', 'B2 growth cost(10,000)/cost(10) <= 30x', 'B2'],
    ['T2.3', 'B2 setup for 10,000 rules <= 100 ms', 'B2'], ['T2.4', 'loading 10,000 policies <= 1.5x a bare `yaml` parse, same run', 'B2-load'],
    ['T3.1', 'B3 at 10,000 workloads <= 3x the bitset baseline, RSS <= 150 MB', 'B3'], ['T3.2', 'B3 stretch: 100,000 workloads <= 10 s, <= 2 GB', 'B3'],
    ['T4.1', 'CLI cold start <= 3x `node -e 0`', 'B4'], ['T4.2', '`npm test` <= 5 min', 'B4'], ['T5.1', '`exercise check` < 1 s for each shipped exercise', 'B5'],
    ['W', '`run --workers N` on the shipped suite: reports byte-identical to a serial run and faster than it (issue 13 item 4)', 'W'],
    ['MEM1', 'issue 13 item 6: loading 100,000 generated workloads within 2 GB RSS (B6; the blast radius runs on that loaded mesh)', 'B6'],
    ['MEM2', 'issue 13: the 10,000-policy load within 300 MB RSS', 'B2-load'],
  ];
  const benchOf: Record<string, string> = { B1a: 'B1a-', B1b: 'B1b-', B1c: 'B1c-', B2: 'B2-authz', 'B2-load': 'B2-load', B3: 'B3-blast', B4: 'B4-', B5: 'B5-', W: 'W-', B6: 'B6-' };
  for (const [id, text, section] of sectionOf) {
    if (targets.some((tg) => tg.id === id)) continue;
    const sec = section.split(' ')[0] as string;
    const prefix = benchOf[sec] ?? `${sec}-`;
    const why = lines.some((l) => l.bench.startsWith(prefix))
      ? `section ${section} ran but produced no measurement for it (a peer missing or every run failed its check: see notes)`
      : `section ${section} was not run in this invocation (\`npm run bench -- --only ${sec}${section.includes('--') ? ` ${section.slice(section.indexOf('--'))}` : ''}\` runs it)`;
    targets.push({ id, text, measured: `not measured: ${why}`, ok: null });
  }

  // ---------------------------------------------------------------- render
  const tmark = new Map<string, string>();
  for (const tg of targets) tmark.set(tg.id, `${tg.id} ${mark(tg.ok)}`);
  const rowTarget = (r: string[]): string => (r[8] ?? '').split(',').filter(Boolean).map((id) => tmark.get(id) ?? `${id} n/a`).join(', ');
  const out: string[] = [];
  out.push('| bench | case | impl | median (min..max) | unit | runs ok | ratio (same run) | target | notes |');
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) out.push(`| ${[r[0], r[1], r[2], r[3], r[4], r[5], r[6], rowTarget(r), r[7]].map((c) => (c ?? '').replace(/\|/g, '\\|')).join(' | ')} |`);
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push('| id | target | measured | mark |');
  out.push('| --- | --- | --- | --- |');
  targets.sort((a, b) => a.id.localeCompare(b.id));
  for (const tg of targets) out.push(`| ${tg.id} | ${tg.text} | ${tg.measured.replace(/\|/g, '\\|')} | ${tg.ok === null && tg.measured.startsWith('not measured') ? 'not measured' : mark(tg.ok)} |`);
  out.push('');
  if (missingRows.length > 0 || notes.length > 0) {
    out.push('');
    out.push('## Missing peers and notes');
    out.push('');
    for (const m of missingRows) out.push(m);
    for (const n of notes) out.push(`- ${n}`);
  }
  return out;
}
