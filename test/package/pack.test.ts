/**
 * The package as a user gets it (issue 11 items 7, 8): `npm pack` (which runs
 * the prepare build: dist/ with declarations, the bundle), the tarball
 * installed into a new project with `npm install --save-dev <tarball>` — from
 * npm's cache when it holds the dependencies (offline here), from the registry
 * otherwise (CI) — then imported as ESM, type-checked as a TypeScript user
 * would, and its `npx meshrange` run.
 *
 * The pack runs in a copy of the package's files (node_modules linked), so the
 * build does not rewrite this checkout's dist/ under other tests; the copy has
 * no scenarios/, so the prepare step's code-cache training run is short.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESHRANGE_VERSION } from '../../src/core/version.js';
import { renderJson, runScenario } from '../../src/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let tmp = '';
let user = '';
let pkg = '';

function sh(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (/^npm_(lifecycle|package)_/.test(k)) delete env[k];
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 300_000 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.status, `${what} failed (${r.status}):\n${r.stderr}\n${r.stdout}`).toBe(0);
  return r.stdout;
}

const SCENARIO = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: outside-project }
spec:
  mesh:
    manifests: [{ path: app, namespace: shop }]
    istio: { ingressGateway: true }
  attacker: { foothold: shop/client }
  steps:
    - { id: call-api, action: request, to: "api:80", expect: allowed }
    - { id: outside-via-gateway, action: request, from: outside, to: "istio-ingressgateway.istio-system:80", expect: blocked }
`;


const USE = `import { assessMeshes, blastRadius, decide, lint, loadMesh, MeshrangeError, renderJson, runScenario, runScenarios } from 'meshrange';
const result = await runScenario('scenario.yaml');
const four = ['scenario.yaml', 'again.yaml', 'third.yaml', 'fourth.yaml'];
const twice = await runScenarios(four, { workers: 2 });
const serial = await runScenarios(four);
const { mesh } = loadMesh({ manifests: ['app'], namespace: 'shop', ingressGateway: true });
const d = await decide(mesh, { from: 'outside', to: 'istio-ingressgateway.istio-system:80', path: '/' }, { now: Date.UTC(2026, 0, 1) });
const inside = await decide(mesh, { from: 'shop/client', to: 'api:80' }, { now: new Date(0) });
let bad = '';
const blast = blastRadius(mesh, { from: ['shop/client'] });
const findings = lint(mesh).findings.map((f) => f.code);
const { mesh: open } = loadMesh({ manifests: ['app'], namespace: 'shop' });
const change = assessMeshes(open, mesh);
try { await decide(mesh, { from: 'shop/nobody', to: 'api:80' }, { now: 0 }); } catch (e) { bad = e instanceof MeshrangeError ? e.issues[0].code : 'not a MeshrangeError'; }
process.stdout.write(JSON.stringify({ report: renderJson([result]), workersSame: renderJson(twice.results) === renderJson(serial.results) && twice.results.length === 4, gateway: mesh.workloads.find((w) => w.id === 'istio-system/istio-ingressgateway')?.gateway, inside: inside.outcome, outside: d.outcome, bad, blast: blast.ok ? blast.value.footholds[0].from : blast.message, lint: Array.isArray(findings), assessed: 'newlyReachable' in change }));
`;

const TYPED = `import { decide, loadMesh, type Decision, type RunResult, runScenario } from 'meshrange';
const r: RunResult = await runScenario('scenario.yaml', { seed: 3 });
const { mesh } = loadMesh({ manifests: [{ path: 'app', namespace: 'shop' }] });
const d: Decision = await decide(mesh, { from: 'shop/client', to: 'api:80', method: 'GET' }, { now: 0 });
// @ts-expect-error now is required: the library reads no clock
await decide(mesh, { from: 'shop/client', to: 'api:80' }, {});
export const verdict: 'breached' | 'contained' = r.verdict;
export const outcome: string = d.outcome;
`;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'meshrange-pack-'));
  pkg = path.join(tmp, 'pkg');
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'bin', 'src', 'schema', 'scripts', 'docs']) {
    if (existsSync(path.join(root, f))) cpSync(path.join(root, f), path.join(pkg, f), { recursive: true });
  }
  symlinkSync(realpathSync(path.join(root, 'node_modules')), path.join(pkg, 'node_modules'), 'dir');
  ok(sh('npm', ['pack', '--pack-destination', tmp], pkg), 'npm pack');
  const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  expect(tarball, 'npm pack wrote no tarball').toBeDefined();
  user = path.join(tmp, 'user');
  mkdirSync(path.join(user, 'app'), { recursive: true });
  writeFileSync(path.join(user, 'package.json'), JSON.stringify({ name: 'a-user-project', version: '1.0.0', private: true, type: 'module' }));
  ok(sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--save-dev', path.join(tmp, tarball as string)], user), 'npm install <tarball>');
  cpSync(path.join(root, 'test', 'package', 'app.yaml'), path.join(user, 'app', 'app.yaml'));
}, 600_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe('the prepare step', () => {
  it('builds once: run again on the same inputs it only freshens the bundle\'s time (bin/ then runs the bundle, not the sources), and a changed source builds again', () => {
    // `npm pack` above ran prepare in the copy: dist/ and its stamp are there
    const again = sh(process.execPath, ['scripts/prepare.mjs'], pkg);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('dist/ is already built from these sources');
    // a source touched but not changed (git checkout and back): still no build, and the bundle is newer than it
    const src = path.join(pkg, 'src', 'index.ts');
    const now = new Date();
    utimesSync(src, now, now);
    expect(statSync(path.join(pkg, 'dist', 'meshrange.cjs')).mtimeMs).toBeLessThan(statSync(src).mtimeMs);
    expect(sh(process.execPath, ['scripts/prepare.mjs'], pkg).stdout).toContain('already built');
    expect(statSync(path.join(pkg, 'dist', 'meshrange.cjs')).mtimeMs).toBeGreaterThanOrEqual(statSync(src).mtimeMs);
    // the stamp names what it was built from: another source is another hash (the build itself is the pack's, above)
    const stamp = readFileSync(path.join(pkg, 'dist', '.build-stamp'), 'utf8');
    expect(stamp).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the packed package, installed in another project', () => {
  it('ships declarations, the bundle and the user docs, and not the tests', () => {
    const installed = path.join(user, 'node_modules', 'meshrange');
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/meshrange.cjs', 'bin/meshrange.js', 'README.md', 'docs/scenario-format.md', 'docs/report-format.md']) {
      expect(existsSync(path.join(installed, f)), `${f} is not in the package`).toBe(true);
    }
    expect(existsSync(path.join(installed, 'test'))).toBe(false);
  });

  it('imports as ESM: runScenario reports what the sources report, byte for byte, and runScenarios on 2 workers what it reports serially; loadMesh applies -n and adds the ingress gateway; decide needs now and throws MeshrangeError on an unknown workload', async () => {
    writeFileSync(path.join(user, 'use.mjs'), USE);
    writeFileSync(path.join(user, 'scenario.yaml'), SCENARIO);
    // Four files: fewer run serially even with workers (workers.ts MIN_FILES_FOR_WORKERS).
    for (const [f, n] of [['again', 'again'], ['third', '3'], ['fourth', '4']]) writeFileSync(path.join(user, `${f}.yaml`), SCENARIO.replace('name: outside-project', `name: outside-project-${n}`));
    const out = JSON.parse(ok(sh(process.execPath, ['use.mjs'], user), 'node use.mjs')) as Record<string, unknown>;
    expect(out['gateway']).toBe(true);
    expect(out['workersSame']).toBe(true); // dist/api/workers.js starts its workers from the compiled ES modules
    expect(out['inside']).toBe('allowed');
    expect(out['outside']).toBe('blocked'); // the gateway is there, but no Gateway opens port 80 on it: Envoy has no listener
    expect(out['bad']).toBe('unknown-workload');
    expect(out['blast']).toBe('shop/client'); // blastRadius, lint and assessMeshes are exported with the rest
    expect(out['lint']).toBe(true);
    expect(out['assessed']).toBe(true);
    const here = path.join(tmp, 'here');
    cpSync(path.join(user, 'app'), path.join(here, 'app'), { recursive: true });
    writeFileSync(path.join(here, 'scenario.yaml'), SCENARIO);
    const cwd = process.cwd();
    process.chdir(here);
    try {
      const expected = renderJson([await runScenario('scenario.yaml')]);
      expect(out['report']).toBe(expected);
    } finally {
      process.chdir(cwd);
    }
  }, 180_000);

  it('type-checks as a TypeScript user\'s code (exports.types), and refuses decide without now', () => {
    writeFileSync(path.join(user, 'typed.ts'), TYPED);
    writeFileSync(path.join(user, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['typed.ts'] }));
    ok(sh(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], user), 'tsc on a user file');
  }, 180_000);

  it('npx meshrange --version prints the package version; npx meshrange run checks the scenario, with --workers 2 printing what a serial run prints', () => {
    expect(ok(sh('npx', ['--no-install', 'meshrange', '--version'], user), 'npx meshrange --version').trim()).toBe(MESHRANGE_VERSION);
    const run = sh('npx', ['--no-install', 'meshrange', 'run', 'scenario.yaml', '--check'], user);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('outside-project');
    // The installed CLI runs the bundle (dist/meshrange.cjs), whatever times npm gave the files; its workers load the
    // bundle too. With the package's src/ moved away, only the bundle can answer.
    const src = path.join(user, 'node_modules', 'meshrange', 'src');
    renameSync(src, `${src}.away`);
    try {
      expect(ok(sh('npx', ['--no-install', 'meshrange', '--version'], user), 'npx meshrange --version (bundle)').trim()).toBe(MESHRANGE_VERSION);
    } finally {
      renameSync(`${src}.away`, src);
    }
    const serial = ok(sh('npx', ['--no-install', 'meshrange', 'run', 'scenario.yaml', 'again.yaml', 'third.yaml', 'fourth.yaml', '--format', 'json'], user), 'run serial');
    renameSync(src, `${src}.away`);
    try {
      const parallel = ok(sh('npx', ['--no-install', 'meshrange', 'run', 'scenario.yaml', 'again.yaml', 'third.yaml', 'fourth.yaml', '--format', 'json', '--workers', '2'], user), 'run --workers 2 (bundle)');
      expect(parallel).toBe(serial);
    } finally {
      renameSync(`${src}.away`, src);
    }
  }, 180_000);
});
