/**
 * B1a M/M/c parity (docs/benchmarks.md): c = 1 (lambda 1.0, mu 1.1) and c = 4
 * (lambda 3.6, mu 1.0) on meshrange's kernel, SimPy 3 and ns-3 (MapScheduler,
 * HeapScheduler), interleaved in rounds. Metric: customers/s of the timed
 * part (after a 10 % warm-up in-process). Rider: the mean sojourn of the
 * counted customers is within 2 % of the Erlang C value.
 *
 *   npx tsx bench/b1a-mmc.ts [--customers 3e6] [--seed 1]
 *
 * Peers: /usr/bin/python3 with python3-simpy3, and bench/.cache/mmc_ns3
 * (built by bench/run.ts from peers/mmc_ns3.cc). A peer that is not there is
 * recorded as missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { argNumber, benchDir, cacheDir, emit, interleave, missing, peakRssMb, settle } from './lib.js';
import { mmcOnKernel, mmcSojourn, type MmcResult } from './mmc-model.js';

const PYTHON = '/usr/bin/python3';
const SIMPY = path.join(benchDir, 'peers', 'mmc_simpy.py');
const NS3 = path.join(cacheDir, 'mmc_ns3');

const customers = argNumber('customers', 3e6);
const seed = argNumber('seed', 1);

type Impl = 'simpy' | 'ns3-map' | 'ns3-heap' | 'meshrange';

function simpyMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found (Debian python3)`;
  try {
    execFileSync(PYTHON, ['-c', 'import simpy'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'python3-simpy3 is not installed (import simpy failed)';
  }
}

function ns3Missing(): string | null {
  return existsSync(NS3) ? null : `${path.relative(process.cwd(), NS3)} was not built (libns3-dev, g++ or pkg-config missing; see bench/run.ts output)`;
}

function runPeer(cmd: string, args: string[]): MmcResult & { rss_mb: number } {
  const out = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop() as string) as MmcResult & { rss_mb: number };
}

const configs = [
  { c: 4, lambda: 3.6, mu: 1.0 },
  { c: 1, lambda: 1.0, mu: 1.1 },
] as const;

const absent: Partial<Record<Impl, string>> = {};
const sm = simpyMissing();
if (sm) absent.simpy = sm;
const nm = ns3Missing();
if (nm) {
  absent['ns3-map'] = nm;
  absent['ns3-heap'] = nm;
}

for (const { c, lambda, mu } of configs) {
  const expected = mmcSojourn(c, lambda, mu);
  const params = { model: `M/M/${c}`, c, lambda, mu, customers, warmup: Math.floor(customers / 10), expected_sojourn: Number(expected.toFixed(6)) };
  const impls: Impl[] = ['simpy', 'ns3-map', 'meshrange', 'ns3-heap'];
  for (const impl of impls) {
    const why = absent[impl];
    if (why) missing('B1a-mmc', impl, params, seed, why);
  }
  await interleave(impls.filter((i) => !absent[i]), (impl) => {
    let r: MmcResult & { rss_mb: number };
    if (impl === 'meshrange') {
      settle();
      r = { ...mmcOnKernel(c, lambda, mu, customers, seed), rss_mb: peakRssMb() };
    } else if (impl === 'simpy') {
      r = runPeer(PYTHON, [SIMPY, String(c), String(lambda), String(mu), String(customers), String(seed)]);
    } else {
      r = runPeer(NS3, [String(c), String(lambda), String(mu), String(customers), String(seed), impl === 'ns3-map' ? 'ns3::MapScheduler' : 'ns3::HeapScheduler']);
    }
    const err = r.mean_sojourn / expected - 1;
    const check = r.served === customers && Math.abs(err) <= 0.02;
    emit({
      bench: 'B1a-mmc', impl, params, seed, wall_s: r.wall_s, rate: r.customers / r.wall_s, rss_mb: r.rss_mb, check,
      info: { unit: 'customers/s', served: r.served, mean_sojourn: Number(r.mean_sojourn.toFixed(5)), sojourn_error_pct: Number((err * 100).toFixed(3)) },
    });
    return { wall_s: r.wall_s };
  });
}
