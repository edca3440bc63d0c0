/**
 * `run --workers` on the shipped suite (issue 13 item 4): every scenario of
 * scenarios/, run serially and on 2 worker threads in the same process,
 * interleaved (serial, workers, serial, ...; 3 rounds). The rider: the JSON
 * report of the worker run is byte-identical to the serial one. Wall time
 * includes starting the workers (each loads meshrange's modules itself).
 *
 *   npx tsx bench/workers.ts [--workers 2] [--rounds 3]
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { runFiles } from '../src/api/run.js';
import { FsSource, Sandbox } from '../src/cli/fs.js';
import { renderJson } from '../src/report/json.js';
import { argNumber, emit, peakRssMb, repoRoot } from './lib.js';

const workers = argNumber('workers', 2);
const rounds = argNumber('rounds', 3);
process.chdir(repoRoot);
const files = readdirSync('scenarios').filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join('scenarios', f));
let serialJson: string | null = null;
for (let r = 0; r < rounds; r++) {
  for (const n of [1, workers]) {
    const t0 = performance.now();
    const run = await runFiles(files, new FsSource(Sandbox.forCwd([])), { workers: n });
    const wall = (performance.now() - t0) / 1000;
    const json = renderJson(run.results);
    if (n === 1 && serialJson === null) serialJson = json;
    const check = !run.issues.hasErrors() && run.results.length === files.length && json === serialJson;
    emit({ bench: 'W-suite', impl: n === 1 ? 'serial' : `workers-${n}`, params: { scenarios: files.length, workers: n }, seed: 1, wall_s: wall,
      rate: files.length / wall, rss_mb: peakRssMb(), check, info: { round: r } });
  }
}
