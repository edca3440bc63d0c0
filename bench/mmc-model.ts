/**
 * B1a M/M/c on meshrange's kernel, and the analytic value it is checked
 * against. The model is what a user of the kernel writes: an arrival event
 * that schedules the next arrival, a departure closure per customer carrying
 * its arrival time, a FIFO of waiting customers, draws from named streams.
 *
 * The peers (peers/mmc_simpy.py, peers/mmc_ns3.cc) are the same model event
 * for event: warm-up = the first 10 % of the customers (simulated time
 * warm/lambda) before the clock starts; the rider averages the sojourn of the
 * customers numbered >= warm.
 */
import { Kernel } from '../src/sim/kernel/index.js';

export interface MmcResult {
  wall_s: number;
  /** customers that departed during the timed part */
  customers: number;
  /** customers numbered >= warm that departed (the rider's sample) */
  served: number;
  mean_sojourn: number;
}

/** Erlang C: the probability that an arrival waits in M/M/c. */
export function erlangC(c: number, lambda: number, mu: number): number {
  const a = lambda / mu;
  let sum = 0;
  let term = 1;
  for (let k = 0; k < c; k++) {
    if (k > 0) term *= a / k;
    sum += term;
  }
  const pc = (term * a) / c / (1 - a / c);
  return pc / (sum + pc);
}

/** Mean sojourn (wait + service) of M/M/c. */
export function mmcSojourn(c: number, lambda: number, mu: number): number {
  return 1 / mu + erlangC(c, lambda, mu) / (c * mu - lambda);
}

/** Growable FIFO of (arrival time, number) pairs. */
class Fifo {
  private t = new Float64Array(1024);
  private i = new Float64Array(1024);
  private head = 0;
  private n = 0;

  get size(): number {
    return this.n;
  }

  push(time: number, index: number): void {
    if (this.n === this.t.length) this.grow();
    const at = (this.head + this.n) & (this.t.length - 1);
    this.t[at] = time;
    this.i[at] = index;
    this.n++;
  }

  /** Pops the front; its time is returned, its number left in `lastIndex`. */
  lastIndex = 0;
  shift(): number {
    const at = this.head;
    this.head = (this.head + 1) & (this.t.length - 1);
    this.n--;
    this.lastIndex = this.i[at] as number;
    return this.t[at] as number;
  }

  private grow(): void {
    const cap = this.t.length * 2;
    const t = new Float64Array(cap);
    const i = new Float64Array(cap);
    for (let k = 0; k < this.n; k++) {
      const at = (this.head + k) & (this.t.length - 1);
      t[k] = this.t[at] as number;
      i[k] = this.i[at] as number;
    }
    this.t = t;
    this.i = i;
    this.head = 0;
  }
}

export function mmcOnKernel(c: number, lambda: number, mu: number, customers: number, seed: number): MmcResult {
  const k = new Kernel({ seed });
  const warm = Math.floor(customers / 10);
  const total = warm + customers;
  const meanArrival = 1 / lambda;
  const meanService = 1 / mu;
  const queue = new Fifo();
  let arrived = 0;
  let busy = 0;
  let departed = 0;
  let counted = 0;
  let sum = 0;

  const startService = (kk: Kernel, t0: number, i: number): void => {
    kk.schedule(kk.exponential('service', meanService), (k2) => depart(k2, t0, i));
  };
  const depart = (kk: Kernel, t0: number, i: number): void => {
    departed++;
    if (i >= warm) {
      counted++;
      sum += kk.now - t0;
    }
    if (queue.size > 0) {
      const t = queue.shift();
      startService(kk, t, queue.lastIndex);
    } else {
      busy--;
    }
  };
  const arrive = (kk: Kernel): void => {
    const i = arrived++;
    if (busy < c) {
      busy++;
      startService(kk, kk.now, i);
    } else {
      queue.push(kk.now, i);
    }
    if (arrived < total) kk.schedule(kk.exponential('arrival', meanArrival), arrive);
  };

  k.schedule(k.exponential('arrival', meanArrival), arrive);
  k.run(warm / lambda);
  const before = departed;
  const t0 = performance.now();
  k.run();
  const wall = (performance.now() - t0) / 1000;
  return { wall_s: wall, customers: departed - before, served: counted, mean_sojourn: sum / Math.max(counted, 1) };
}
