/**
 * B1b hold model (docs/benchmarks.md): P events pending; each event, when it
 * fires, schedules one event at now + Exp(1). Metric: events/s.
 *
 *   npx tsx bench/kernel-hold.ts [events=2e6] [runs=5] [seed=1]
 *
 * (`npm run bench` runs it with 1e7 events, as docs/benchmarks.md asks.)
 *
 * Implementations, interleaved (bare, kernel, bare, kernel, ...) in one
 * process, medians with min..max:
 *   bare   — a textbook binary heap on a Float64Array of times and an Int32Array
 *            of payloads, the same seedrandom stream, no handlers, no ids;
 *   kernel — meshrange's Kernel: closures, ids, priorities, insertion order,
 *            k.exponential('hold', 1) per event;
 *   kernel-plain-heap — the same Kernel on a plain EventHeap instead of the
 *            default TieredEventHeap; run only at P >= 2^18, since below
 *            2 x nearMin (2^17) the tiered heap is the plain heap plus one
 *            comparison per push (tiered-heap.ts rule 5).
 * Warm-up: 10 % of the events, in-process, before timing each run.
 * Check: the pending count stays P and the mean hold drawn is within 1 % of 1.
 * One JSON line per run (bench/lib.ts), then, on stderr, a table of medians
 * and the kernel/bare ratio (target T1.3: kernel >= 2.5 M events/s at
 * P = 1e6 and >= 0.6x bare).
 */
import seedrandom from 'seedrandom';
import { EventHeap, Kernel } from '../src/sim/kernel/index.js';
import { emit, median, peakRssMb } from './lib.js';

interface RunResult {
  events: number;
  wall: number;
  check: boolean;
}

export function bare(P: number, events: number, seed: number): RunResult {
  const rnd = seedrandom(`${seed}/hold`);
  let cap = 1024;
  let times = new Float64Array(cap);
  let slots = new Int32Array(cap);
  let n = 0;
  const push = (time: number, slot: number): void => {
    if (n === cap) {
      cap *= 2;
      const t2 = new Float64Array(cap);
      t2.set(times);
      times = t2;
      const s2 = new Int32Array(cap);
      s2.set(slots);
      slots = s2;
    }
    let i = n++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent]!;
      if (pt <= time) break;
      times[i] = pt;
      slots[i] = slots[parent]!;
      i = parent;
    }
    times[i] = time;
    slots[i] = slot;
  };
  const pop = (): number => {
    const top = slots[0]!;
    const last = --n;
    const lt = times[last]!;
    const ls = slots[last]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= last) break;
      if (c + 1 < last && times[c + 1]! < times[c]!) c++;
      if (lt <= times[c]!) break;
      times[i] = times[c]!;
      slots[i] = slots[c]!;
      i = c;
    }
    times[i] = lt;
    slots[i] = ls;
    return top;
  };
  let holdSum = 0;
  for (let i = 0; i < P; i++) push(-Math.log(1 - rnd()), i);
  const loop = (count: number): void => {
    for (let e = 0; e < count; e++) {
      const now = times[0]!;
      const s = pop();
      const hold = -Math.log(1 - rnd());
      holdSum += hold;
      push(now + hold, s);
    }
  };
  loop(Math.round(events / 10));
  holdSum = 0;
  const t0 = performance.now();
  loop(events);
  const wall = (performance.now() - t0) / 1000;
  return { events, wall, check: n === P && Math.abs(holdSum / events - 1) < 0.01 };
}

export function kernel(P: number, events: number, seed: number, plainHeap = false): RunResult {
  const k = plainHeap ? new Kernel({ seed, fes: new EventHeap() }) : new Kernel({ seed });
  let holdSum = 0;
  const hold = (kk: Kernel): void => {
    const d = kk.exponential('hold', 1);
    holdSum += d;
    kk.schedule(d, hold);
  };
  for (let i = 0; i < P; i++) k.schedule(k.exponential('hold', 1), hold);
  // In the hold model P events fire per unit of simulated time.
  k.run(k.now + events / 10 / P);
  holdSum = 0;
  const before = k.processed;
  const t0 = performance.now();
  k.run(k.now + events / P);
  const wall = (performance.now() - t0) / 1000;
  const done = k.processed - before;
  return { events: done, wall, check: k.pending === P && Math.abs(holdSum / done - 1) < 0.01 };
}

const fmt = (r: number): string => (r / 1e6).toFixed(2);

const events = Number(process.argv[2] ?? 2e6);
const runsWanted = Number(process.argv[3] ?? 5);
const seed = Number(process.argv[4] ?? 1);
const impls = { bare, kernel, 'kernel-plain-heap': (P: number, e: number, s: number) => kernel(P, e, s, true) } as const;
type Name = keyof typeof impls;
const table: string[] = [];

for (const P of [1e3, 1e5, 1e6]) {
  const names: Name[] = P >= 2 ** 18 ? ['bare', 'kernel', 'kernel-plain-heap'] : ['bare', 'kernel'];
  const rates: Record<Name, number[]> = { bare: [], kernel: [], 'kernel-plain-heap': [] };
  let runs = runsWanted;
  for (let r = 0; r < runs; r++) {
    for (const name of names) {
      const res = impls[name](P, events, seed);
      const rate = res.events / res.wall;
      if (res.check) rates[name].push(rate);
      if (res.wall > 2 && runs > 3) runs = 3;
      emit({ bench: 'B1b-hold', impl: name, params: { P, events }, seed, wall_s: res.wall, rate, rss_mb: peakRssMb(), check: res.check,
        info: { unit: 'events/s', processed: res.events } });
    }
  }
  const b = median(rates.bare);
  const cell = (name: Name): string => {
    const xs = rates[name];
    if (xs.length === 0) return `${name} no checked run`;
    const m = median(xs);
    return `${name} ${fmt(m)} (${fmt(Math.min(...xs))}..${fmt(Math.max(...xs))}) = ${(m / b).toFixed(2)}x`;
  };
  table.push(`P=${P.toExponential(0).padEnd(5)}  bare ${fmt(b)} (${fmt(Math.min(...rates.bare))}..${fmt(Math.max(...rates.bare))})  ${names.slice(1).map(cell).join('  ')}`);
}
process.stderr.write(`\nB1b hold, ${events.toExponential(0)} events per run, seed ${seed}: M events/s, medians (min..max) of checked runs, ratio to bare\n`);
for (const line of table) process.stderr.write(`${line}\n`);
