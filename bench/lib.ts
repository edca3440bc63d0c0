/**
 * Shared plumbing for the benchmarks (docs/benchmarks.md): the JSON line every
 * run prints, medians with min..max, the peer-is-missing record, and the
 * "how many runs" rule (5, or 3 once a run takes more than 2 s).
 *
 * Each section script (b1a-mmc.ts, b1b-hold.ts, ...) prints its JSON lines on
 * stdout and can run on its own; bench/run.ts runs them all in child
 * processes, collects the lines and prints the table.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { resourceUsage } from 'node:process';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder up from this file whose package.json is meshrange's (works from bench/ and from the compiled bench/.cache/js/bench/). */
export const repoRoot = ((): string => {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'meshrange') return dir;
    if (path.dirname(dir) === dir) throw new Error('bench: cannot find the meshrange repository root');
  }
})();
/** bench/ in the repository (peers, cache, results), wherever the running copy of this file is. */
export const benchDir = path.join(repoRoot, 'bench');
export const cacheDir = path.join(benchDir, '.cache');

/** One run of one implementation: the line docs/benchmarks.md asks for. */
export interface RunLine {
  bench: string;
  impl: string;
  params: Record<string, unknown>;
  seed: number;
  wall_s: number | null;
  /** in the unit the bench states (customers/s, events/s, decisions/s, ...) */
  rate: number | null;
  rss_mb: number | null;
  /** the correctness rider; null when nothing could be checked (a missing peer) */
  check: boolean | null;
  /** why a peer is missing (no other field is meaningful then) */
  missing?: string;
  /** what else the run measured (fingerprints, setup time, peak pending, ...) */
  info?: Record<string, unknown>;
}

export function emit(line: RunLine): void {
  const out: RunLine = {
    bench: line.bench,
    impl: line.impl,
    params: line.params,
    seed: line.seed,
    wall_s: line.wall_s === null ? null : Number(line.wall_s.toFixed(4)),
    rate: line.rate === null ? null : Number(line.rate.toPrecision(6)),
    rss_mb: line.rss_mb === null ? null : Math.round(line.rss_mb),
    check: line.check,
  };
  if (line.missing !== undefined) out.missing = line.missing;
  if (line.info !== undefined) out.info = line.info;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

export function missing(bench: string, impl: string, params: Record<string, unknown>, seed: number, reason: string): void {
  emit({ bench, impl, params, seed, wall_s: null, rate: null, rss_mb: null, check: null, missing: reason });
}

/** Current resident set, MB. */
export function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** Peak resident set of this process so far, MB. */
export function peakRssMb(): number {
  return resourceUsage().maxRSS / 1024;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? (s[n >> 1] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

/**
 * Runs `once` for each implementation in turn (peer, ours, peer, ours, ...),
 * 5 rounds, or 3 once any run of the round took more than 2 s.
 */
export async function interleave<T extends string>(
  impls: readonly T[],
  once: (impl: T, round: number) => Promise<{ wall_s: number | null }> | { wall_s: number | null },
  rounds = 5,
): Promise<void> {
  let wanted = rounds;
  for (let r = 0; r < wanted; r++) {
    for (const impl of impls) {
      const res = await once(impl, r);
      if (res.wall_s !== null && res.wall_s > 2 && wanted > 3) wanted = 3;
    }
  }
}

export function argNumber(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}

export function argFlag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** Whether a command exists on PATH (or as an absolute path). */
export function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Gives V8 a chance to collect garbage between runs when --expose-gc is on. */
export function settle(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
}
