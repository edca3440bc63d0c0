/**
 * B4 start-up and the suite (docs/benchmarks.md).
 *
 *  - CLI cold start: `meshrange run <one small scenario>` against `node -e 0`
 *    in the same hyperfine call (-N: no shell; 3 warm-up runs, 10 timed).
 *    The CLI measured is the shipped one: bin/meshrange.js, verbatim, beside
 *    a dist/ compiled here by `tsc -p tsconfig.build.json` (into
 *    bench/.cache/cli/, with src/ linked so the launcher's staleness check
 *    sees the real sources). The launcher as checked out (its dist/ may be
 *    stale, and then it runs src/ through tsx) is timed in the same call
 *    for information.
 *  - `npm test`, once, wall time (check: exit code 0).
 *  - The whole shipped scenario suite, `meshrange run scenarios/` with the
 *    compiled CLI, 3 runs in one hyperfine call (check: exit code 0, i.e.
 *    every expectation met).
 *
 * Without hyperfine (not installable) the same commands are timed with
 * spawnSync, and the lines say so.
 *
 *   npx tsx bench/b4-startup.ts [--scenario scenarios/bookinfo-deny-all.yaml] [--no-npm-test]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { argFlag, cacheDir, emit, have, missing, repoRoot } from './lib.js';

const root = repoRoot;
const cache = cacheDir;
const cliRoot = path.join(cache, 'cli');
const scenarioIdx = process.argv.indexOf('--scenario');
const scenario = scenarioIdx >= 0 ? (process.argv[scenarioIdx + 1] as string) : 'scenarios/bookinfo-deny-all.yaml';
const rel = (p: string): string => path.relative(root, p);

function buildCli(): string | null {
  mkdirSync(cliRoot, { recursive: true });
  mkdirSync(path.join(cliRoot, 'bin'), { recursive: true });
  for (const f of ['meshrange.js', 'load-bundle.js']) copyFileSync(path.join(root, 'bin', f), path.join(cliRoot, 'bin', f));
  const link = path.join(cliRoot, 'src');
  rmSync(link, { force: true, recursive: false });
  symlinkSync(path.join(root, 'src'), link, 'dir');
  rmSync(path.join(cliRoot, 'dist'), { recursive: true, force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', path.join(cliRoot, 'dist')], { cwd: root, encoding: 'utf8' });
  process.stderr.write(`B4: compiled the CLI with tsc in ${((performance.now() - t0) / 1000).toFixed(1)} s (exit ${r.status})\n`);
  if (!existsSync(path.join(cliRoot, 'dist', 'cli', 'main.js'))) return `tsc emitted no dist/cli/main.js: ${(r.stdout + r.stderr).slice(0, 300)}`;
  // What `npm ci` ships: the bundle bin/meshrange.js prefers and its V8 code cache (scripts/bundle.mjs).
  const b = spawnSync(process.execPath, [path.join(root, 'scripts', 'bundle.mjs'), path.join(cliRoot, 'dist')], { cwd: root, encoding: 'utf8' });
  for (const f of ['meshrange.cjs', 'meshrange.cjs.cache']) {
    if (!existsSync(path.join(cliRoot, 'dist', f))) return `scripts/bundle.mjs did not write dist/${f} (exit ${b.status}): ${(b.stdout + b.stderr).slice(0, 300)}`;
  }
  return null;
}

interface Timed { times: number[]; exitCodes: number[] }

function hyperfine(commands: { name: string; cmd: string }[], runs: number, warmup: number): Record<string, Timed> {
  const out = path.join(cache, 'hyperfine.json');
  const args = ['-N', '--style', 'basic', '--warmup', String(warmup), '--runs', String(runs), '-i', '--export-json', out];
  for (const c of commands) args.push('-n', c.name, c.cmd);
  const r = spawnSync('hyperfine', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stderr.write(r.stdout ?? '');
  if (r.status !== 0) throw new Error(`hyperfine failed (exit ${r.status})`);
  const json = JSON.parse(readFileSync(out, 'utf8')) as { results: { command: string; times: number[]; exit_codes: number[] }[] };
  return Object.fromEntries(json.results.map((x) => [x.command, { times: x.times, exitCodes: x.exit_codes }]));
}

function spawnTimed(commands: { name: string; cmd: string }[], runs: number, warmup: number): Record<string, Timed> {
  const res: Record<string, Timed> = {};
  for (const c of commands) {
    const [bin, ...args] = c.cmd.split(' ');
    const t: Timed = { times: [], exitCodes: [] };
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      const r = spawnSync(bin as string, args, { cwd: root, stdio: 'ignore' });
      const dt = (performance.now() - t0) / 1000;
      if (i >= warmup) { t.times.push(dt); t.exitCodes.push(r.status ?? -1); }
    }
    res[c.name] = t;
  }
  return res;
}

const useHyperfine = have('hyperfine');
const timer = useHyperfine ? 'hyperfine' : 'spawnSync (hyperfine missing)';
const time = useHyperfine ? hyperfine : spawnTimed;
if (!useHyperfine) missing('B4-startup', 'hyperfine', {}, 0, 'hyperfine is not installed (apt-get install hyperfine failed or not root); timed with spawnSync instead');

const buildProblem = buildCli();
const node = process.execPath;
const compiled = `${node} ${rel(path.join(cliRoot, 'bin', 'meshrange.js'))}`;
const asIs = `${node} bin/meshrange.js`;

// ---- cold start
const starts = [
  { name: 'node -e 0', cmd: `${node} -e 0` },
  ...(buildProblem ? [] : [{ name: 'meshrange-cli', cmd: `${compiled} run ${scenario}` }]),
  { name: 'meshrange-bin-as-is', cmd: `${asIs} run ${scenario}` },
];
if (buildProblem) missing('B4-startup', 'meshrange-cli', { scenario }, 0, buildProblem);
const cold = time(starts, 10, 3);
for (const c of starts) {
  const t = cold[c.name];
  if (!t) continue;
  t.times.forEach((s, i) => emit({
    bench: 'B4-startup', impl: c.name, params: { scenario, timer }, seed: 0, wall_s: s, rate: 1 / s, rss_mb: null, check: t.exitCodes[i] === 0,
    info: { unit: 'starts/s' },
  }));
}

// ---- the shipped scenario suite
if (!buildProblem) {
  const suite = time([{ name: 'scenario-suite', cmd: `${compiled} run scenarios/` }], 3, 0)['scenario-suite'] as Timed;
  suite.times.forEach((s, i) => emit({
    bench: 'B4-suite', impl: 'meshrange run scenarios/', params: { timer }, seed: 0, wall_s: s, rate: 1 / s, rss_mb: null, check: suite.exitCodes[i] === 0,
    info: { unit: 'suites/s' },
  }));
}

// ---- npm test, once
if (!argFlag('no-npm-test')) {
  const t0 = performance.now();
  const r = spawnSync('npm', ['test', '--silent'], { cwd: root, encoding: 'utf8', env: { ...process.env, CI: '' } });
  const wall = (performance.now() - t0) / 1000;
  const summary = /Tests\s+.*?(\d+ passed[^\n]*)/.exec(r.stdout.replace(/\x1b\[[0-9;]*m/g, ''))?.[1]?.trim() ?? null;
  if (r.status !== 0) process.stderr.write(`B4: npm test failed (exit ${r.status}):\n${(r.stdout + r.stderr).slice(-2000)}\n`);
  emit({ bench: 'B4-npm-test', impl: 'npm test', params: {}, seed: 0, wall_s: wall, rate: 1 / wall, rss_mb: null, check: r.status === 0, info: { unit: 'runs/s', summary } });
}
