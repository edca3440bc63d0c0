/**
 * `npm run bench`: every benchmark of docs/benchmarks.md that exists today
 * (B1a, B1b, B1c, B2, B3 pivot at 1,000 workloads, B4, B5 exercise check, W: run --workers on the
 * shipped suite, B6 load of generated meshes at 1,000 / 10,000 / 100,000 workloads), with its peers, in one invocation.
 *
 *  1. Installs the peers it can: Debian packages through apt-get (update once,
 *     then install only what is missing; needs root) and the npm
 *     devDependencies (npm install when they do not resolve). Builds the ns-3
 *     model with g++ and pkg-config. A peer that cannot be had is recorded as
 *     missing, with the reason, and the rest goes on.
 *  2. Compiles src/ and bench/ with tsc (bench/tsconfig.json → bench/.cache/js)
 *     and runs each section from that plain JavaScript, in its own Node
 *     process (so RSS is per section), printing its JSON lines as they come.
 *     What ships is tsc output; tsx's transform wraps every closure in a
 *     keepNames helper that costs closure-heavy code ~20 %, so it is not
 *     what is timed (`--tsx` runs the sections through tsx instead).
 *  3. Prints one table of medians (min..max) and ratios with the target
 *     marks, and writes it to bench/RESULTS.md (overwritten each run), with
 *     every JSON line in bench/results.jsonl. The Targets table under it
 *     (bench/table.ts) has a line for every target of docs/benchmarks.md and
 *     issue 13 (T2.4 loader ratio, T3.1/T3.2 blast radius, W workers
 *     speed-up, MEM1/MEM2 memory), each marked PASS/FAIL from this run's
 *     measurements; a target whose section did not run says "not measured"
 *     and which `--only` runs it.
 *
 *   npm run bench [-- --only B1a,B2] [-- --quick] [-- --seed 1] [-- --tsx]
 *   (--only B2 runs B2-load too; --only B2-load runs it alone)
 *
 * --quick shrinks every size (for trying the harness, not for numbers).
 * Sizes of a full run, chosen to fit ~10 minutes on 2 shared cores:
 *   B1a 3e6 customers per run after a 3e5 warm-up (the 2 % rider needs
 *       millions at rho = 0.9: ~0.7-0.9 % standard error at 3e6);
 *   B1b 1e7 events per run; B1c W in {10, 100, 1000} at ~1e5 and ~1e6
 *       events (3 runs each) and W = 100 at ~1e7 events (2 runs: the same
 *       seed twice must give the same fingerprint); B2 all four sizes;
 *   B3 pivot exploit all on 1,000 workloads, profiles open, strict,
 *       segmented, 3 runs each against the bitset BFS; B3 blast radius
 *       (b3-blast.ts) at 100 (3 runs) / 1,000 / 10,000 / 100,000 (1 run) in
 *       each profile against the bitset baseline (~70 s per profile at
 *       100,000 here: 11 s load, 8-19 s graph, the rest the write-mesh step and
 *       riders; --b3-full is accepted for older command lines);
 *   B4 hyperfine 10 runs + 3 warm-up, the suite 3 runs, npm test once;
 *   B6 1,000 and 10,000 workloads 3 rounds, 100,000 one round (~2.5 min on
 *       these machines, two thirds of it the bare-parse peer; --quick: 1,000 only).
 *       --b6-full is accepted for older command lines (100,000 is now in every run).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { argFlag, argNumber, benchDir, cacheDir, have, repoRoot, type RunLine } from './lib.js';
import { summarize } from './table.js';

const here = benchDir;
const root = repoRoot;
const cache = cacheDir;
mkdirSync(cache, { recursive: true });

const quick = argFlag('quick');
const seed = argNumber('seed', 1);
const onlyIdx = process.argv.indexOf('--only');
const only = onlyIdx >= 0 ? new Set((process.argv[onlyIdx + 1] as string).split(',')) : null;
const wants = (s: string): boolean => only === null || only.has(s);
const started = performance.now();
const log = (s: string): void => { process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`); };
const lines: RunLine[] = [];
const notes: string[] = [];

// ------------------------------------------------------------------ 1. peers

const DEBIAN = [
  { pkg: 'python3-simpy3', for: 'B1a SimPy 3 peer' },
  { pkg: 'libns3-dev', for: 'B1a ns-3 peer' },
  { pkg: 'libgsl-dev', for: 'B1a ns-3 peer (ns3-core.pc links libgsl)' },
  { pkg: 'g++', for: 'B1a ns-3 peer (compiler)' },
  { pkg: 'pkg-config', for: 'B1a ns-3 peer (flags)' },
  { pkg: 'hyperfine', for: 'B4 cold start' },
];
const debianProblem = new Map<string, string>();

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

function ensureDebian(): void {
  if (!have('dpkg-query') || !have('apt-get')) {
    for (const d of DEBIAN) debianProblem.set(d.pkg, 'not a Debian system (no apt-get/dpkg-query)');
    return;
  }
  const absent = DEBIAN.filter((d) => !installed(d.pkg)).map((d) => d.pkg);
  if (absent.length === 0) { log('Debian peers already installed'); return; }
  if (process.getuid?.() !== 0) {
    for (const p of absent) debianProblem.set(p, 'not installed and not root, so apt-get install cannot run');
    return;
  }
  log(`apt-get update, then install ${absent.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const up = spawnSync('apt-get', ['update'], { encoding: 'utf8', env });
  if (up.status !== 0) log(`apt-get update failed (exit ${up.status}): ${up.stderr.trim().split('\n').pop()}`);
  // One package at a time, so one that cannot be installed does not keep the others out.
  for (const p of absent) {
    const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', p], { encoding: 'utf8', env });
    if (r.status !== 0 || !installed(p)) {
      const why = (r.stderr || r.stdout).trim().split('\n').filter((l) => /^E:|Unable|not found|no installation candidate/i.test(l)).slice(0, 2).join(' ') || `exit ${r.status}`;
      debianProblem.set(p, `apt-get install ${p} failed: ${why}`);
      log(debianProblem.get(p) as string);
    }
  }
}

function ensureNpm(): void {
  const req = createRequire(path.join(root, 'package.json'));
  const resolves = (m: string): boolean => { try { req.resolve(m); return true; } catch { return false; } };
  const want = ['@cedar-policy/cedar-wasm/nodejs', 'casbin'];
  if (want.every(resolves)) return;
  log('npm devDependencies missing: npm install');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--include=dev'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) log(`npm install failed (exit ${r.status}); B2 will record the missing peers`);
}

function buildNs3(): void {
  const src = path.join(here, 'peers', 'mmc_ns3.cc');
  const bin = path.join(cache, 'mmc_ns3');
  const blocked = ['libns3-dev', 'libgsl-dev', 'g++', 'pkg-config'].map((p) => debianProblem.get(p)).filter(Boolean);
  if (blocked.length > 0) { notes.push(`ns-3 model not built: ${blocked.join('; ')}`); return; }
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return;
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'ns3-core'], { encoding: 'utf8' });
  if (flags.status !== 0) { notes.push(`ns-3 model not built: pkg-config ns3-core failed: ${flags.stderr.trim()}`); return; }
  const args = ['-O2', '-std=c++17', '-o', bin, src, ...flags.stdout.trim().split(/\s+/)];
  log(`g++ ${args.join(' ')}`);
  const r = spawnSync('g++', args, { encoding: 'utf8' });
  if (r.status !== 0) notes.push(`ns-3 model not built: g++ failed: ${r.stderr.trim().split('\n').slice(0, 3).join(' ')}`);
}

if (wants('B1a') || wants('B4')) ensureDebian();
if (wants('B2')) ensureNpm();
if (wants('B1a')) buildNs3();
for (const [pkg, why] of debianProblem) notes.push(`${pkg} (${DEBIAN.find((d) => d.pkg === pkg)?.for}): ${why}`);

// ------------------------------------------------------------------ 2. sections

let runtime: 'compiled' | 'tsx' = argFlag('tsx') ? 'tsx' : 'compiled';
if (runtime === 'compiled') {
  log('tsc -p bench/tsconfig.json (src/ and bench/ → bench/.cache/js)');
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(here, 'tsconfig.json')], { cwd: root, encoding: 'utf8' });
  if (tsc.status !== 0) log(`tsc reported problems (exit ${tsc.status}); using what it emitted:\n${tsc.stdout.split('\n').slice(0, 5).join('\n')}`);
  if (!existsSync(path.join(cache, 'js', 'bench', 'lib.js'))) {
    notes.push('tsc emitted nothing for bench/: the sections ran through tsx (slower closures)');
    runtime = 'tsx';
  }
}

function section(name: string, script: string, args: string[]): Promise<void> {
  log(`${name}: ${script} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const entry = runtime === 'compiled' ? [path.join(cache, 'js', 'bench', script.replace(/\.ts$/, '.js'))] : ['--import', 'tsx', path.join(here, script)];
    const child = spawn(process.execPath, ['--expose-gc', ...entry, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) {
          try { lines.push(JSON.parse(line) as RunLine); } catch { /* not ours */ }
          process.stdout.write(`${line}\n`);
        } else if (line.trim() !== '') {
          process.stderr.write(`${line}\n`);
        }
      }
    });
    child.on('close', (code, signal) => {
      if (code !== 0) {
        // A V8 heap out of memory aborts (SIGABRT); say which run it was, so the note names what is missing.
        const how = signal !== null ? `was killed by ${signal}${signal === 'SIGABRT' ? ' (a V8 heap out of memory aborts so)' : ''}` : `exited with code ${code}`;
        notes.push(`${name} (${script} ${args.join(' ')}) ${how}; its results are partial`);
        log(`${name} ${how}`);
      }
      resolve();
    });
  });
}

const s = (x: number): string => String(x);
if (wants('B1a')) await section('B1a', 'b1a-mmc.ts', ['--customers', s(quick ? 3e5 : 3e6), '--seed', s(seed)]);
if (wants('B1b')) await section('B1b', 'kernel-hold.ts', [s(quick ? 1e6 : 1e7), '5', s(seed)]);
if (wants('B1c')) {
  for (const W of [10, 100, 1000]) {
    for (const events of quick ? [1e5] : [1e5, 1e6]) {
      await section('B1c', 'b1c-flood.ts', ['--workloads', s(W), '--events', s(events), '--runs', '3', '--seed', s(seed)]);
    }
  }
  if (!quick) await section('B1c', 'b1c-flood.ts', ['--workloads', '100', '--events', '1e7', '--runs', '2', '--seed', s(seed)]);
}
if (wants('B2')) await section('B2', 'b2-authz.ts', ['--seed', s(seed), ...(quick ? ['--sizes', '10,100,1000'] : [])]);
if (wants('B2') || wants('B2-load')) await section('B2-load', 'b2-load.ts', ['--seed', s(seed), ...(quick ? ['--rules', '1000'] : [])]);
// B6 at 100,000 workloads is in every full run: its peak RSS is issue 13 item 6's (MEM1), and the loader reads it in ~20 s now.
if (wants('B6') || wants('B6-load')) await section('B6-load', 'b6-load-workloads.ts', ['--seed', s(seed), ...(quick ? ['--sizes', '1000', '--rounds', '1'] : ['--full'])]);
if (wants('B3')) {
  // One process per run (so each peak RSS is its own), interleaved: bitset, meshrange, bitset, ... (3 runs: each takes > 2 s).
  const W = quick ? 200 : 1000;
  for (const profile of ['open', 'strict', 'segmented']) {
    for (let r = 0; r < 3; r++) {
      for (const impl of ['bitset', 'meshrange']) await section('B3', 'b3-pivot.ts', ['--impl', impl, '--workloads', s(W), '--profile', profile, '--seed', s(seed), '--round', s(r)]);
    }
  }
}
if (wants('B3')) {
  // B3 blast radius (b3-blast.ts): bitset then meshrange, one process each, per size and profile. meshrange at
  // 10,000 and up builds the graph only when a sample projects it under --budget-s. 100,000 is in every full run
  // (2026-12-06: ~70 s a profile end to end, segmented the slowest: 11 s load, 19 s graph; it was --b3-full only
  // while one profile took 7.5 min).
  const sizes = quick ? [100, 1000] : [100, 1000, 10_000, 100_000];
  for (const W of sizes) {
    for (const profile of ['open', 'strict', 'segmented']) {
      const rounds = W <= 100 ? 3 : 1;
      for (let r = 0; r < rounds; r++) {
        await section('B3', 'b3-blast.ts', ['--impl', 'bitset', '--workloads', s(W), '--profile', profile, '--seed', s(seed), '--round', s(r)]);
        await section('B3', 'b3-blast.ts', ['--impl', 'meshrange', '--workloads', s(W), '--profile', profile, '--seed', s(seed), '--round', s(r), '--budget-s', '600']);
      }
    }
  }
}
if (wants('B4')) await section('B4', 'b4-startup.ts', quick ? ['--no-npm-test'] : []);
if (wants('B5')) await section('B5', 'b5-exercise.ts', quick ? ['--rounds', '3'] : []);
if (wants('W')) {
  // One process per run, as the CLI runs (no warm JIT carried over), interleaved: serial, workers, serial, ...
  for (let r = 0; r < (quick ? 1 : 3); r++) {
    for (const mode of ['serial', 'workers']) await section('W', 'workers.ts', ['--mode', mode, '--workers', '2', '--round', s(r)]);
  }
}

// ------------------------------------------------------------------ 3. table

const elapsed = (performance.now() - started) / 1000;
const header = [
  `# meshrange benchmark results`,
  '',
  `Written by \`npm run bench\`${quick ? ' --quick (shrunk sizes: not for quoting)' : ''} on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
    `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}, seed ${seed}, meshrange code ${runtime === 'compiled' ? 'compiled by tsc' : 'run through tsx'}; the whole run took ${elapsed.toFixed(0)} s.`,
  'Every figure is a median over the runs whose correctness rider passed, with (min..max); ratios are against peers measured in the same',
  'invocation, interleaved. Absolute numbers move by up to 30 % from run to run on these shared 2-core machines; ratios are what the targets judge.',
  '',
];
const table = summarize(lines, notes);
const md = [...header, ...table, ''].join('\n');
process.stdout.write(`\n${md}`);
writeFileSync(path.join(here, 'RESULTS.md'), md);
writeFileSync(path.join(here, 'results.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
log(`table written to ${path.relative(root, path.join(here, 'RESULTS.md'))}, JSON lines to bench/results.jsonl`);
