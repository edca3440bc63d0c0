/**
 * The command line (product.md §3 exit codes and report, §4 commands, §5 bad
 * input and the path sandbox). Most tests call main(argv, io) in-process; two
 * spawn the real binary to prove exit code 2 and no stack trace end to end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { cli } from './harness.js';

const root = path.resolve(__dirname, '../..');

interface Run {
  code: number;
  out: string;
  err: string;
}

/** No JavaScript stack frame ("    at fn (file:line:col)") anywhere in the output. */
const STACK = /^\s+at .+[:(]/m;
/** `path:line:col: error [code]` as formatIssue prints it. */
const located = (file: string, code: string): RegExp => new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: error \\[${code}\\]`);

let tmp = '';
let rel = '';

function write(name: string, text: string): string {
  const p = path.join(tmp, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return path.join(rel, name).split(path.sep).join('/');
}

/** A scenario in the temp folder, on the shipped bookinfo mesh (plus `manifests`). */
function scenario(name: string, steps: string, opts: { manifests?: string[]; foothold?: string } = {}): string {
  const manifests = opts.manifests ?? ['../../scenarios/meshes/bookinfo', '../../scenarios/meshes/policies/bookinfo-details-deny-over-allow'];
  return write(`${name}.yaml`, `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  mesh:
    manifests:
${manifests.map((m) => `      - ${m}`).join('\n')}
  attacker:
    foothold: ${opts.foothold ?? 'bookinfo/productpage-v1'}
  steps:
${steps}`);
}

const ADMIN_STEP = '    - { id: admin, action: request, to: "details:9080", path: /admin, expect: blocked }\n';

beforeAll(() => {
  expect(process.cwd()).toBe(root);
  tmp = mkdtempSync(path.join(root, 'test', '.tmp-cli-'));
  rel = path.relative(root, tmp);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('meshrange run (product.md §3, §4)', () => {
  it('§4 run on a shipped scenario exits 0 and prints a text report', async () => {
    const r = await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml');
    expect(r.code).toBe(0);
    expect(r.out).toContain('bookinfo-deny-over-allow');
    expect(r.out).toContain('productpage-reads-admin');
    expect(r.out).toContain('4 passed, 0 failed');
    expect(r.err).toBe('');
  });

  it('§3 --format json prints the report contract fields', async () => {
    const r = await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', '--format', 'json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as Record<string, unknown>;
    expect(report).toMatchObject({ scenario: 'bookinfo-deny-over-allow', seed: 1, verdict: 'breached', expectations: { passed: 4, failed: 0 } });
    expect(Array.isArray(report['traffic'])).toBe(true);
    const steps = report['steps'] as Record<string, unknown>[];
    expect(steps.map((s) => s['id'])).toEqual(['productpage-reads-details', 'productpage-reads-admin', 'productpage-reads-admin-root', 'reviews-reads-details']);
    for (const s of steps) {
      for (const k of ['id', 'action', 'outcome', 'expected', 'code', 'mtls', 'stoppedBy']) expect(s, `${String(s['id'])}.${k}`).toHaveProperty(k);
      for (const b of s['stoppedBy'] as Record<string, unknown>[]) {
        expect(Object.keys(b)).toEqual(expect.arrayContaining(['control', 'name', 'reason']));
        expect(typeof b['reason']).toBe('string');
      }
    }
    expect(steps[0]).toMatchObject({ action: 'request', outcome: 'allowed', expected: 'allowed', code: 200, mtls: true, stoppedBy: [] });
    expect(steps[1]).toMatchObject({ outcome: 'blocked', expected: 'blocked', code: 403, mtls: true,
      stoppedBy: [{ control: 'AuthorizationPolicy', name: 'bookinfo/bookinfo-deny-details-admin' }] });
    expect(steps[3]).toMatchObject({ outcome: 'blocked', code: 403, stoppedBy: [{ control: 'AuthorizationPolicy', name: 'bookinfo/bookinfo-allow-productpage-to-details' }] });
  });

  it('§3 several scenarios print a JSON array; --seed overrides every seed', async () => {
    const r = await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', 'scenarios/strict-backend-namespace.yaml', '--format', 'json', '--seed', '7');
    expect(r.code).toBe(0);
    const reports = JSON.parse(r.out) as { scenario: string; seed: number }[];
    expect(reports.map((x) => [x.scenario, x.seed])).toEqual([['bookinfo-deny-over-allow', 7], ['strict-backend-namespace', 7]]);
  });

  it('§5 same scenario and seed, same report byte for byte', async () => {
    const a = await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', '--format', 'json');
    const b = await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', '--format', 'json');
    expect(a.out).toBe(b.out);
  });

  it('§3 a failed expectation: exit 0 without --check, exit 1 with --check', async () => {
    const f = scenario('wrong-expectation', '    - { id: admin, action: request, to: "details:9080", path: /admin, expect: allowed }\n');
    const plain = await cli('run', f);
    expect(plain.code).toBe(0);
    expect(plain.out).toContain('0 passed, 1 failed');
    const checked = await cli('run', f, '--check', '--format', 'json');
    expect(checked.code).toBe(1);
    expect(JSON.parse(checked.out)).toMatchObject({ expectations: { passed: 0, failed: 1 }, steps: [{ id: 'admin', outcome: 'blocked', expected: 'allowed' }] });
  });

  it('§3 --check exits 0 when every expectation holds', async () => {
    expect((await cli('run', scenario('right-expectation', ADMIN_STEP), '--check')).code).toBe(0);
  });

  it('§4 a folder is searched for scenario files (manifests inside it are left out, and stderr says so)', async () => {
    const dir = path.join(rel, 'suite');
    write('suite/a.yaml', readFileSync(path.join(root, 'scenarios/bookinfo-deny-over-allow.yaml'), 'utf8').replace(/- meshes\//g, '- ../../../scenarios/meshes/'));
    write('suite/mesh/ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: { name: x }\n');
    const r = await cli('run', dir, '--format', 'json');
    expect(r.err).toBe(`note: ${dir}: 1 scenario file: a.yaml\nnote: ${dir}: ignored, 1 YAML file without kind: Scenario: mesh/ns.yaml\n`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ scenario: 'bookinfo-deny-over-allow' });
  });

  it('§4 a meshrange.io file with a misspelt kind in a folder is a located error (exit 2), as when named; Exercise and other YAML stay notes', async () => {
    const dir = path.join(rel, 'suite-kind');
    write('suite-kind/a.yaml', readFileSync(path.join(root, 'scenarios/bookinfo-deny-over-allow.yaml'), 'utf8').replace(/- meshes\//g, '- ../../../scenarios/meshes/'));
    write('suite-kind/typo.yaml', readFileSync(path.join(root, 'scenarios/bookinfo-deny-over-allow.yaml'), 'utf8').replace(/- meshes\//g, '- ../../../scenarios/meshes/').replace('kind: Scenario', 'kind: Scenarios'));
    write('suite-kind/exercise.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Exercise\nmetadata: { name: x }\n');
    write('suite-kind/mesh/ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: { name: x }\n');
    const r = await cli('run', dir, '--format', 'json');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${dir}/typo.yaml:2:7: error [scenario-invalid] kind:`);
    expect(r.err).toContain('ignored, 2 YAML files without kind: Scenario: exercise.yaml, mesh/ns.yaml');
    const named = await cli('run', path.join(dir, 'typo.yaml'), '--format', 'json');
    expect(named.code).toBe(2);
  });

  it('a missing manifest path a scenario names is printed as the scenario wrote it (../missing-dir), located there', async () => {
    write('sub/s6.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: s6 }\nspec:\n  mesh: { manifests: [../missing-dir] }\n  attacker: { foothold: a/b }\n  steps:\n    - { id: a, action: request, to: "x:80" }\n');
    const r = await cli('run', path.join(rel, 'sub/s6.yaml'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${rel}/sub/s6.yaml:5:23: error [path-missing] ../missing-dir does not exist`);
  });

  it('§4 a folder note names at most 12 files and counts the rest (nothing left out silently, no screenful of names)', async () => {
    const dir = path.join(rel, 'many');
    write('many/a.yaml', readFileSync(path.join(root, 'scenarios/bookinfo-deny-over-allow.yaml'), 'utf8').replace(/- meshes\//g, '- ../../../scenarios/meshes/'));
    for (let i = 0; i < 30; i++) write(`many/mesh/ns${String(i).padStart(2, '0')}.yaml`, `apiVersion: v1\nkind: Namespace\nmetadata: { name: x${i} }\n`);
    const r = await cli('run', dir, '--format', 'json');
    expect(r.code).toBe(0);
    expect(r.err).toContain(`note: ${dir}: ignored, 30 YAML files without kind: Scenario: mesh/ns00.yaml, `);
    expect(r.err).toContain('mesh/ns11.yaml and 18 more\n');
    expect(r.err).not.toContain('mesh/ns12.yaml');
  });
});

describe('--report (product.md §3, §5: never a half-written report)', () => {
  it('§4 --report json=PATH writes the report atomically (no temporary file left)', async () => {
    const out = path.join(rel, 'reports', 'ok.json');
    const r = await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', '--report', `json=${out}`, '--report', `junit=${path.join(rel, 'reports', 'ok.xml')}`);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ scenario: 'bookinfo-deny-over-allow' });
    expect(readFileSync(path.join(rel, 'reports', 'ok.xml'), 'utf8')).toContain('<testsuite');
    expect(readdirSync(path.join(tmp, 'reports')).sort()).toEqual(['ok.json', 'ok.xml']);
  });

  it('§5 no report is written when any scenario has an error, even if others ran fine', async () => {
    const bad = write('bad-for-report.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: [oops }\n');
    const out = path.join(rel, 'never.json');
    const r = await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', bad, '--report', `json=${out}`);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('no report was written');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.startsWith('never'))).toEqual([]);
  });

  // BUG (src/cli/main.ts runCommand / src/cli/fs.ts writeAtomic): report paths are not checked before the
  // run; a path that is a directory makes renameSync throw EISDIR, reported as "internal error … a bug in
  // meshrange", and the temporary file <path>.tmp-<pid> is left behind.
  it('§5 a --report path that is a directory is bad input: exit 2, no internal error, no temp file left', async () => {
    mkdirSync(path.join(tmp, 'a-dir'), { recursive: true });
    const r = await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', '--report', `json=${rel}/a-dir`);
    const leftovers = readdirSync(tmp).filter((f) => f.startsWith('a-dir.tmp-'));
    for (const f of leftovers) rmSync(path.join(tmp, f));
    expect(r.code).toBe(2);
    expect(r.err).not.toContain('internal error');
    expect(leftovers).toEqual([]);
  });

  it('§3 a malformed --report is bad usage (exit 2) before anything runs', async () => {
    for (const arg of ['json', 'html5=x.html', 'text=x.txt', 'json=']) {
      const r = await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', '--report', arg);
      expect(r.code, arg).toBe(2);
      expect(r.err, arg).toMatch(/^meshrange: --report /);
      expect(r.out, arg).toBe('');
    }
  });
});

describe('bad input exits 2 with file:line:col and no stack trace (product.md §3, §5)', () => {
  async function bad(argv: string[], file: string, code: string): Promise<Run> {
    const r = await cli(...argv);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(located(file, code));
    expect(r.err).not.toMatch(STACK);
    expect(r.out).toBe('');
    return r;
  }

  it('§5 broken YAML in a scenario', async () => {
    const f = write('broken.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata:\n  name: "broken\n');
    await bad(['run', f], f, 'yaml-syntax');
  });

  it('§5 a field of the wrong type in a scenario, located at that field', async () => {
    const f = scenario('wrong-type', '    - { id: a, action: request, to: "details:9080", headers: [x] }\n');
    const r = await bad(['run', f], f, 'scenario-invalid');
    expect(r.err).toContain(`${f}:13:`);
    expect(r.err).toContain('spec.steps[0].headers');
  });

  it('§5 a manifest path that does not exist, located at its entry in the scenario', async () => {
    const f = scenario('missing-manifest', ADMIN_STEP, { manifests: ['../../scenarios/meshes/bookinfo', './no-such-dir'] });
    const r = await bad(['run', f], f, 'path-missing');
    expect(r.err).toContain(`${f}:9:9:`);
    expect(r.err).toContain('does not exist');
    expect(r.err).toContain('paths in a scenario are relative to the scenario file');
  });

  it('§5 a manifest path outside the sandbox (../…/etc) is refused as outside', async () => {
    // As many `..` as the temp folder is deep, so the path reaches /etc wherever the clone lives.
    const up = path.resolve(tmp).split(path.sep).filter(Boolean).map(() => '..').join('/');
    const escape = `${up}/etc`;
    const f = scenario('escape', ADMIN_STEP, { manifests: [escape] });
    expect(path.resolve(tmp, escape)).toBe('/etc');
    const r = await bad(['run', f], f, 'path-outside');
    expect(r.err).toContain('outside the allowed folders');
    expect(r.err).toContain('--allow-path');
  });

  it('§5 the sandbox resolves links: a symlink under cwd pointing outside is refused', async () => {
    symlinkSync('/etc', path.join(tmp, 'innocent-link'));
    const f = scenario('via-link', ADMIN_STEP, { manifests: ['./innocent-link'] });
    await bad(['run', f], f, 'path-outside');
  });

  // BUG (src/cli/fs.ts Sandbox.check): existence is checked before the sandbox, so a path outside the
  // allowed folders that does not exist gets "does not exist" — a stranger's scenario can probe which
  // files exist outside the sandbox, and product.md §5 wants "outside" for anything outside.
  it('§5 a missing path outside the sandbox is refused as outside, not as missing', async () => {
    const f = scenario('probe', ADMIN_STEP, { manifests: ['/etc/meshrange-no-such-file'] });
    await bad(['run', f], f, 'path-outside');
  });

  it('§5 --allow-path widens the sandbox', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'meshrange-allow-'));
    try {
      cpMesh(outside);
      const f = scenario('allowed-outside', '    - { id: a, action: request, to: "web:80", expect: allowed }\n', { manifests: [outside], foothold: 'demo/web' });
      expect((await cli('run', f)).code).toBe(2);
      const r = await cli('run', f, '--allow-path', outside, '--check');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('§5 a scenario outside cwd may read under its own folder', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'meshrange-own-'));
    try {
      cpMesh(path.join(outside, 'mesh'));
      writeFileSync(path.join(outside, 's.yaml'), `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: own-folder }
spec:
  mesh: { manifests: [./mesh] }
  attacker: { foothold: demo/web }
  steps: [{ id: a, action: request, to: "web:80", expect: allowed }]
`);
      const r = await cli('run', path.join(outside, 's.yaml'), '--check');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      writeFileSync(path.join(outside, 's.yaml'), readFileSync(path.join(outside, 's.yaml'), 'utf8').replace('[./mesh]', '[../]'));
      const escaped = await cli('run', path.join(outside, 's.yaml'));
      expect(escaped.code).toBe(2);
      expect(escaped.err).toContain('[path-outside]');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('§5 an unknown foothold is located at spec.attacker.foothold and suggests workloads', async () => {
    const f = scenario('unknown-foothold', ADMIN_STEP, { foothold: 'bookinfo/productpage' });
    const r = await bad(['run', f], f, 'unknown-workload');
    expect(r.err).toContain(`${f}:11:15:`);
    expect(r.err).toContain('bookinfo/productpage-v1');
  });

  it('§5 sniff refuses request fields: `bypass` or `to` on a sniff step exits 2 at that field', async () => {
    const f = scenario('sniff-bypass', '    - id: s\n      action: sniff\n      on: any\n      window: 10s\n      bypass: true\n');
    const r = await bad(['run', f], f, 'step-field-unused');
    expect(r.err).toContain(`${f}:17:7:`);
    const g = scenario('sniff-to', '    - id: s\n      action: sniff\n      on: any\n      window: 10s\n      to: details:9080\n');
    expect((await bad(['run', g], g, 'step-field-unused')).err).toContain(`${g}:17:7:`);
  });

  it('§5 a sniff `on` that is not any, node: or link: exits 2 at on', async () => {
    const f = scenario('sniff-bad-on', '    - id: s\n      action: sniff\n      on: "node:details"\n      window: 10s\n');
    const r = await bad(['run', f], f, 'sniff-bad-on');
    expect(r.err).toContain(`${f}:15:11:`);
  });

  it('§5 a sniff `on` naming a workload the mesh does not have exits 2 at on and suggests workloads', async () => {
    const f = scenario('sniff-unknown', '    - id: s\n      action: sniff\n      on: "link:bookinfo/productpage-v1,bookinfo/detail-v1"\n      window: 10s\n');
    const r = await bad(['run', f], f, 'unknown-workload');
    expect(r.err).toContain(`${f}:15:11:`);
    expect(r.err).toContain('bookinfo/details-v1');
  });

  it('§5 exfiltrate bytes of 0 or below exits 2 at bytes', async () => {
    for (const bytes of ['0', '-5']) {
      const f = scenario(`exfil-bytes${bytes}`, `    - id: x\n      action: exfiltrate\n      to: drop.attacker.example:443\n      bytes: ${bytes}\n`);
      expect((await bad(['run', f], f, 'scenario-invalid')).err).toContain(`${f}:16:14:`);
    }
  });

  it('§5 exfiltrate via a host the mesh does not know exits 2 at via', async () => {
    const f = scenario('exfil-via', '    - id: x\n      action: exfiltrate\n      to: drop.attacker.example:443\n      bytes: 1000\n      via: nowhere.example\n');
    expect((await bad(['run', f], f, 'exfil-bad-via')).err).toContain(`${f}:17:12:`);
  });

  it('§5 an invalid Istio resource in a manifest is located in the manifest file', async () => {
    const f = scenario('invalid-policy', ADMIN_STEP, { manifests: ['../../scenarios/meshes/bookinfo', '../fixtures/invalid/ap-empty-from.yaml'] });
    const r = await bad(['run', f], 'test/fixtures/invalid/ap-empty-from.yaml', 'ap-empty-from');
    expect(r.err).toContain('test/fixtures/invalid/ap-empty-from.yaml:9:7:');
  });

  // not a speed test: expanded, the bomb never finishes (the child process is asynchronous, so the timeout stops a
  // hang); the refusal (yaml-alias) is the check
  it('§5 an alias bomb among the manifests is refused before it is expanded', { timeout: 30_000 }, async () => {
    const f = scenario('bomb', ADMIN_STEP, { manifests: ['../../scenarios/meshes/bookinfo', '../fixtures/invalid/yaml-alias.yaml'] });
    await bad(['run', f], 'test/fixtures/invalid/yaml-alias.yaml', 'yaml-alias');
  });

  it('§5 a binary file among the manifests', async () => {
    const f = scenario('binary', ADMIN_STEP, { manifests: ['../../scenarios/meshes/bookinfo', '../fixtures/invalid/binary-file.yaml'] });
    await bad(['run', f], 'test/fixtures/invalid/binary-file.yaml', 'binary-file');
  });

  it('§5 a huge file among the manifests is refused without being read', async () => {
    const huge = path.join(tmp, 'huge', 'huge.yaml');
    mkdirSync(path.dirname(huge), { recursive: true });
    writeFileSync(huge, '');
    truncateSync(huge, 9 * 1024 * 1024);
    const f = scenario('huge', ADMIN_STEP, { manifests: ['./huge'] });
    const r = await bad(['run', f], `${rel}/huge/huge.yaml`, 'file-too-large');
    expect(r.err).toContain('MiB');
  });

  it('§5 a scenario file that does not exist', async () => {
    const r = await cli('run', 'scenarios/no-such-scenario.yaml');
    expect(r.code).toBe(2);
    expect(r.err).toContain('[path-missing] scenarios/no-such-scenario.yaml does not exist');
    expect(r.err).not.toMatch(STACK);
    // a --mesh path given on the command line, not in a scenario: the hint says what it is relative to
    const m = await cli('request', '--mesh', 'no-such-mesh/', '--from', 'a/b', '--to', 'x:80');
    expect(m.code).toBe(2);
    expect(m.err).toContain('a path on the command line is relative to the current folder');
    expect(m.err).not.toContain('relative to the scenario file');
  });

  it('§5 request --source-ip that is not an address is refused (exit 2), as a scenario\'s sourceIp is (bad-source-ip)', async () => {
    const args = ['request', '--mesh', 'scenarios/meshes/bookinfo', '--from', 'outside', '--to', 'productpage.bookinfo:9080'];
    const r = await cli(...args, '--source-ip', '999.1.1.1');
    expect(r.code).toBe(2);
    expect(r.err).toContain('[bad-request] sourceIp 999.1.1.1: expected an IPv4 or IPv6 address');
    expect((await cli(...args, '--source-ip', '203.0.113.7')).code).not.toBe(2);
  });

  it('§5 request --to takes a DNS name or address as a scenario does: a pipe or a 100,000-character host is bad-request, echoed in at most 80 characters', async () => {
    const args = ['request', '--mesh', 'scenarios/meshes/bookinfo', '--from', 'bookinfo/productpage-v1'];
    const pipe = await cli(...args, '--to', 'x|y:80');
    expect(pipe.code).toBe(2);
    expect(pipe.err).toContain('[bad-request]');
    const long = await cli(...args, '--to', `${'a'.repeat(100_000)}:80`);
    expect(long.code).toBe(2);
    expect(long.err.length).toBeLessThan(1000);
  });

  it('§5 request: a path, method or header no HTTP request can carry is bad-request (exit 2), as in a scenario', async () => {
    const args = ['request', '--mesh', 'scenarios/meshes/bookinfo', '--from', 'outside', '--to', 'productpage.bookinfo:9080'];
    const path = await cli(...args, '--path', '/a b');
    expect(path.code).toBe(2);
    expect(path.err).toContain('[bad-request] path "/a b": must not hold a space or a control character');
    const method = await cli(...args, '--method', 'GET /x');
    expect(method.code).toBe(2);
    expect(method.err).toContain('[bad-request] method "GET /x": must be an HTTP token');
    const header = await cli(...args, '--header', 'x-a: 1\r\nx-b: 2');
    expect(header.code).toBe(2);
    expect(header.err).toContain('[bad-request] header x-a: must not hold CR, LF, NUL');
    expect((await cli(...args, '--path', '/a%20b', '--method', 'M-SEARCH', '--header', 'x-a: 1\t2')).code).not.toBe(2);
  });

  it('§5 a folder without scenarios', async () => {
    const r = await cli('run', 'scenarios/meshes/bookinfo');
    expect(r.code).toBe(2);
    expect(r.err).toContain('[no-scenarios]');
  });

  it('§5 every error is reported in one run, then "nothing was run"', async () => {
    const a = write('two-errors-a.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: "a }\n');
    const b = scenario('two-errors-b', ADMIN_STEP, { foothold: 'nowhere/none' });
    const r = await cli('run', a, b);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(located(a, 'yaml-syntax'));
    expect(r.err).toMatch(located(b, 'unknown-workload'));
    expect(r.err).toMatch(/\d+ errors; nothing was run/);
  });
});

describe('meshrange request (product.md §4)', () => {
  const mesh = ['--mesh', 'scenarios/meshes/bookinfo', '--mesh', 'scenarios/meshes/policies/bookinfo-details-deny-over-allow'];

  it('§4 request explains a denial by naming the deciding DENY policy and its rule', async () => {
    const r = await cli('request', ...mesh, '--from', 'bookinfo/productpage-v1', '--to', 'details:9080', '--method', 'GET', '--path', '/admin');
    expect(r.code).toBe(0);
    expect(r.out).toContain('BLOCKED 403');
    expect(r.out).toContain('AuthorizationPolicy bookinfo/bookinfo-deny-details-admin');
    expect(r.out).toContain('ns[bookinfo]-policy[bookinfo-deny-details-admin]-rule[0]');
    expect(r.out).toContain('trace:');
    expect(r.err).toBe('');
  });

  it('§4 request --format json carries outcome, code, stoppedBy and the trace', async () => {
    const r = await cli('request', ...mesh, '--from', 'bookinfo/productpage-v1', '--to', 'details:9080', '--path', '/admin', '--format', 'json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out) as Record<string, unknown>;
    expect(d).toMatchObject({ outcome: 'blocked', code: 403, mtls: true, stoppedBy: [{ control: 'AuthorizationPolicy', name: 'bookinfo/bookinfo-deny-details-admin' }] });
    expect((d['trace'] as unknown[]).length).toBeGreaterThan(0);
  });

  it('§4 request explains an allowed request by naming the ALLOW rule that matched', async () => {
    const r = await cli('request', ...mesh, '--from', 'bookinfo/productpage-v1', '--to', 'details:9080', '--path', '/details/0');
    expect(r.code).toBe(0);
    expect(r.out).toContain('ALLOWED 200');
    expect(r.out).toContain('ns[bookinfo]-policy[bookinfo-allow-productpage-to-details]-rule[0]');
  });

  it('§6.6 a gRPC request without --method is a POST (a gRPC call always is), in the CLI and the library alike', async () => {
    const r = await cli('request', ...mesh, '--from', 'bookinfo/productpage-v1', '--to', 'details:9080', '--protocol', 'grpc', '--format', 'json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out) as { request: { method: string }; outcome: string; stoppedBy: { reason: string }[] };
    // the ALLOW policy admits GET only: a gRPC call (POST) is refused
    expect(d.request.method).toBe('POST');
    expect(d.outcome).toBe('blocked');
    expect(d.stoppedBy[0]?.reason).toContain('to methods [GET]');
    expect((await cli('request', ...mesh, '--from', 'bookinfo/productpage-v1', '--to', 'details:9080', '--protocol', 'grpc')).out).toContain('POST / → details:9080 (grpc)');
    const lib = await import('../../src/index.js');
    const { mesh: m } = lib.loadMesh({ manifests: ['scenarios/meshes/bookinfo'] });
    expect((await lib.decide(m, { from: 'bookinfo/productpage-v1', to: 'details:9080', protocol: 'grpc' }, { now: 0 })).received?.method).toBe('POST');
  });

  it('§5 request with an unknown --from lists the known workloads (exit 2)', async () => {
    const r = await cli('request', ...mesh, '--from', 'bookinfo/nope', '--to', 'details:9080');
    expect(r.code).toBe(2);
    expect(r.err).toContain('[unknown-workload]');
    expect(r.err).toContain('bookinfo/productpage-v1');
  });

  it('§5 request --from a workload of a mesh that has none says so, not an empty list of known workloads (exit 2)', async () => {
    const dir = write('no-workloads/ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n');
    const r = await cli('request', '--mesh', path.dirname(dir), '--from', 'a/web', '--to', 'x:80');
    expect(r.code).toBe(2);
    expect(r.err).toContain('the manifests define no workload');
    expect(r.err).not.toMatch(/known workloads: *$/m);
  });

  it('§5 request with a malformed --to or --header is bad usage (exit 2)', async () => {
    expect((await cli('request', ...mesh, '--from', 'outside', '--to', 'details')).code).toBe(2);
    expect((await cli('request', ...mesh, '--from', 'outside', '--to', 'details:80', '--header', 'novalue')).code).toBe(2);
  });

  it('§5 request on an invalid mesh reports the located error (exit 2)', async () => {
    const r = await cli('request', '--mesh', 'test/fixtures/invalid/pa-port-level-empty.yaml', '--from', 'outside', '--to', 'x:80');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(located('test/fixtures/invalid/pa-port-level-empty.yaml', 'pa-port-level-empty'));
  });
});

describe('usage (product.md §3, §4)', () => {
  it('§4 schema prints the JSON Schema of scenario files', async () => {
    const r = await cli('schema');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.out) as { $schema?: string; type?: string; properties?: Record<string, unknown>; required?: string[] };
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties ?? {})).toEqual(expect.arrayContaining(['apiVersion', 'kind', 'metadata', 'spec']));
    expect(schema.required).toEqual(expect.arrayContaining(['apiVersion', 'kind', 'metadata', 'spec']));
  });

  it('§3 an unknown command is bad usage: exit 2', async () => {
    const r = await cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown command 'frobnicate'");
  });

  it('§3 an unknown option is bad usage: exit 2', async () => {
    const r = await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', '--frob');
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown option '--frob'");
    expect(r.out).toBe('');
  });

  it('§3 a bad option value is bad usage: exit 2', async () => {
    expect((await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', '--format', 'yaml')).code).toBe(2);
    expect((await cli('run', 'scenarios/bookinfo-deny-over-allow.yaml', '--seed', 'abc')).code).toBe(2);
    expect((await cli('run')).code).toBe(2);
  });

  it('§3 --version prints package.json\'s version and exits 0; --help exits 0', async () => {
    const v = await cli('--version');
    expect(v.code).toBe(0);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(v.out.trim()).toBe(pkg.version);
    const h = await cli('--help');
    expect(h.code).toBe(0);
    expect(h.out).toContain('run');
  });
});

describe('end to end through bin/meshrange.js (real process)', () => {
  it('§5 a broken scenario: exit status 2, file:line:col on stderr, no stack trace', () => {
    const f = write('e2e-broken.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata:\n\tname: tab-indented\n');
    const p = spawnSync(process.execPath, ['bin/meshrange.js', 'run', f, '--report', `json=${rel}/e2e.json`], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(located(f, 'yaml-syntax'));
    expect(p.stderr).toContain(`${f}:4:1:`);
    expect(p.stderr).not.toMatch(STACK);
    expect(p.stdout).toBe('');
    expect(existsSync(path.join(tmp, 'e2e.json'))).toBe(false);
  });

  it('§5 an invalid Istio policy: exit status 2 from the real binary', () => {
    const f = scenario('e2e-invalid', ADMIN_STEP, { manifests: ['../../scenarios/meshes/bookinfo', '../fixtures/invalid/ap-bad-path-template.yaml'] });
    const p = spawnSync(process.execPath, ['bin/meshrange.js', 'run', f, '--check'], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(located('test/fixtures/invalid/ap-bad-path-template.yaml', 'ap-bad-path-template'));
    expect(p.stderr).not.toMatch(STACK);
  });
});

/** A one-namespace mesh (demo/web) written into `dir`. */
function cpMesh(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'mesh.yaml'), `apiVersion: v1
kind: Namespace
metadata: { name: demo, labels: { istio-injection: enabled } }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: demo }
spec:
  template:
    metadata: { labels: { app: web } }
    spec: { serviceAccountName: web, containers: [{ name: web, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: demo }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`);
}
