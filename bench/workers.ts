/**
 * `run --workers` on the shipped suite (issue 13 item 4): every scenario of
 * scenarios/, in one fresh process per run as the CLI would (so neither side
 * profits from the other's warm JIT): `--mode serial` or `--mode workers`
 * (`--workers N` threads). bench/run.ts interleaves them (serial, workers,
 * serial, ...). The rider: the JSON report's SHA-256 equals the serial run's
 * (the serial run of the same round writes it to bench/.cache/w-serial.sha256).
 * Wall time includes starting the workers (each loads meshrange's modules);
 * `--workers N` is N threads: the caller's (which runs scenarios from the
 * start) and N − 1 workers that join once loaded.
 * The line also gives the process's CPU time (every thread: the workers, V8's
 * compiler and GC threads) and the load average at the start: on a shared
 * machine the wall-time ratio follows the load, the CPU time does not.
 *
 *   npx tsx bench/workers.ts --mode serial|workers [--workers 2] [--round 0]
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFiles } from '../src/api/run.js';
import { FsSource, Sandbox } from '../src/cli/fs.js';
import { renderJson } from '../src/report/json.js';
import { argNumber, cacheDir, emit, peakRssMb, repoRoot } from './lib.js';

const modeIdx = process.argv.indexOf('--mode');
const mode = modeIdx >= 0 ? process.argv[modeIdx + 1] : 'serial';
const n = mode === 'workers' ? argNumber('workers', 2) : 1;
const round = argNumber('round', 0);
process.chdir(repoRoot);
const files = readdirSync('scenarios').filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join('scenarios', f));
const ref = path.join(cacheDir, 'w-serial.sha256');
const load1 = os.loadavg()[0] ?? 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const run = await runFiles(files, new FsSource(Sandbox.forCwd([])), { workers: n });
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const sha = createHash('sha256').update(renderJson(run.results)).digest('hex');
if (n === 1) writeFileSync(ref, sha);
const same = existsSync(ref) && readFileSync(ref, 'utf8') === sha;
emit({ bench: 'W-suite', impl: n === 1 ? 'serial' : `workers-${n}`, params: { scenarios: files.length, workers: n }, seed: 1, wall_s: wall,
  rate: files.length / wall, rss_mb: peakRssMb(), check: !run.issues.hasErrors() && run.results.length === files.length && same, info: { round, sha256: sha.slice(0, 16), cpu_s: Math.round((cpu.user + cpu.system) / 1e4) / 100, load1: Math.round(load1 * 10) / 10 } });
