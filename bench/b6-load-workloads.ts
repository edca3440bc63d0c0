/**
 * B6-load: what loading a generated mesh costs as it grows (issue 13 items 1
 * and 6; docs/benchmarks.md T3.1, T3.2 need the load to fit): the manifests
 * of `meshrange generate --workloads W` (Deployments, Services,
 * ServiceAccounts, PeerAuthentications, AuthorizationPolicies, one file per
 * team namespace) at W = 1,000 / 10,000 (and 100,000 with --full), loaded by
 * meshrange's loadMesh beside a bare parse of the same files with the `yaml`
 * package (`parseAllDocuments(text).map((d) => d.toJS())`).
 *
 * Each run is its own child process (the files are read before the clock
 * starts), so its peak RSS is that load's alone, Node included; the two
 * implementations alternate (yaml-parse, meshrange, yaml-parse, ...),
 * `--rounds` rounds (default 3; 1 at 100,000), medians in the summary.
 * Rider: meshrange reports no error and keeps every generated workload; the
 * bare parse yields as many documents as the generator wrote.
 * What to read: the time ratio meshrange / bare parse should stay flat as W
 * grows (a growing ratio is superlinear work in the loader), and the RSS.
 *
 *   node bench/.cache/js/bench/b6-load-workloads.js [--sizes 1000,10000] [--full] [--rounds 3] [--seed 1]
 *   (child mode: --child meshrange|yaml-parse --dir D)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resourceUsage } from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { loadMesh } from '../src/loader/load.js';
import { argFlag, argNumber, cacheDir, emit } from './lib.js';
import { generateB3 } from './b3-gen.js';

const childIdx = process.argv.indexOf('--child');
if (childIdx >= 0) {
  const impl = process.argv[childIdx + 1];
  const dir = process.argv[process.argv.indexOf('--dir') + 1] as string;
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ path: path.join(dir, f), text: readFileSync(path.join(dir, f), 'utf8') }));
  const t0 = performance.now();
  let out: Record<string, unknown>;
  if (impl === 'meshrange') {
    const { mesh, issues } = loadMesh(files);
    out = { errors: issues.errors.length, workloads: mesh.workloads.length, policies: mesh.authorizationPolicies.length, services: mesh.services.length };
  } else {
    let docs = 0;
    for (const f of files) docs += parseAllDocuments(f.text).map((d) => d.toJS()).length;
    out = { documents: docs };
  }
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ ...out, ms, rss_mb: resourceUsage().maxRSS / 1024 })}\n`);
  process.exit(0);
}

const seed = argNumber('seed', 1);
const full = argFlag('full');
const sizesIdx = process.argv.indexOf('--sizes');
const sizes = sizesIdx >= 0 ? (process.argv[sizesIdx + 1] as string).split(',').map(Number) : [1000, 10000, ...(full ? [100000] : [])];
const self = fileURLToPath(import.meta.url);
const childArgs = self.endsWith('.ts') ? ['--import', 'tsx', self] : [self];

function child(impl: string, dir: string): Record<string, number> | string {
  const c = spawnSync(process.execPath, ['--max-old-space-size=4096', ...childArgs, '--child', impl, '--dir', dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const line = c.stdout.split('\n').find((l) => l.startsWith('{'));
  return line ? JSON.parse(line) as Record<string, number> : `child failed (exit ${c.status}): ${c.stderr.trim().split('\n').slice(-3).join(' ')}`;
}

for (const W of sizes) {
  const rounds = argNumber('rounds', W >= 100000 ? 1 : 3);
  const dir = path.join(cacheDir, 'b6-load', `mesh-${W}-${seed}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { files } = generateB3(W, 'strict', seed);
  let bytes = 0;
  let documents = 0;
  for (const f of files) {
    writeFileSync(path.join(dir, path.basename(f.path)), f.text);
    bytes += Buffer.byteLength(f.text);
    documents += f.text.split(/^---$/m).filter((d) => d.trim() !== '').length;
  }
  const params = { workloads: W, files: files.length, documents, bytes, profile: 'strict' };
  process.stderr.write(`B6-load W=${W}: ${files.length} files, ${documents} documents, ${(bytes / 2 ** 20).toFixed(1)} MiB\n`);
  for (let r = 0; r < rounds; r++) {
    for (const impl of ['yaml-parse', 'meshrange']) {
      const res = child(impl, dir);
      if (typeof res === 'string') {
        process.stderr.write(`B6-load ${impl} W=${W}: ${res}\n`);
        emit({ bench: 'B6-load', impl, params, seed, wall_s: null, rate: null, rss_mb: null, check: false, info: { round: r, problem: res } });
        continue;
      }
      const wall = (res['ms'] as number) / 1000;
      const check = impl === 'meshrange' ? res['errors'] === 0 && res['workloads'] === W : res['documents'] === documents;
      const { ms: _ms, rss_mb, ...rest } = res;
      emit({ bench: 'B6-load', impl, params, seed, wall_s: wall, rate: W / wall, rss_mb: rss_mb ?? null, check,
        info: { unit: 'workloads/s', round: r, ...rest, what: 'child process: files read before timing; peak RSS includes Node and the file texts' } });
    }
  }
}
