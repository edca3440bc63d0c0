/**
 * Reports are all-or-nothing and never clobber input (issue 9 item 8;
 * product.md §5 "never a half-written report"): every --report is written to
 * a temporary file and renamed only once all were written; a report path that
 * is an input of the run is refused; a full disk is a located exit-2 error
 * naming the report; a reader that closes stdout early ends the run quietly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './harness.js';

const root = path.resolve(__dirname, '../..');
const STACK = /^\s+at .+[:(]/m;
const SHIPPED = 'scenarios/bookinfo-deny-over-allow.yaml';

let tmp = '';
let rel = '';

beforeAll(() => {
  expect(process.cwd()).toBe(root);
  tmp = mkdtempSync(path.join(root, 'test', '.tmp-reports-'));
  rel = path.relative(root, tmp);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A copy of a shipped scenario in its own folder, with its mesh; returns the scenario path and a manifest path. */
function copyScenario(name: string): { scenario: string; manifest: string } {
  const dir = path.join(tmp, name);
  mkdirSync(path.join(dir, 'mesh'), { recursive: true });
  writeFileSync(path.join(dir, 'mesh', 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: demo, labels: { istio-injection: enabled } }\n');
  writeFileSync(path.join(dir, 'mesh', 'web.yaml'), `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: demo }
spec:
  template:
    metadata: { labels: { app: web } }
    spec: { serviceAccountName: web, containers: [{ name: web, ports: [{ containerPort: 8080 }] }] }
`);
  writeFileSync(path.join(dir, 's.yaml'), `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: ${name} }
spec:
  mesh: { manifests: [./mesh] }
  attacker: { foothold: demo/web }
  steps: [{ id: a, action: wait, for: 1s }]
`);
  return { scenario: `${rel}/${name}/s.yaml`, manifest: `${rel}/${name}/mesh/web.yaml` };
}

describe('all or nothing', () => {
  it('a report that cannot be written (no space left on /dev/full) leaves no other report behind; exit 2 names it', async () => {
    const json = `${rel}/all-or-nothing.json`;
    const r = await cli('run', SHIPPED, '--report', `json=${json}`, '--report', 'junit=/dev/full');
    expect(r.code).toBe(2);
    expect(r.err).toContain('[report-write-failed] cannot write the junit report to /dev/full: no space left on the device (ENOSPC)');
    expect(r.err).not.toContain('internal error');
    expect(r.out).toBe('');
    expect(existsSync(path.join(root, json))).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.startsWith('all-or-nothing'))).toEqual([]);
  });

  it('every report is written when all can be, and no temporary file is left', async () => {
    const r = await cli('run', SHIPPED, '--report', `json=${rel}/both/r.json`, '--report', `sarif=${rel}/both/r.sarif`);
    expect(r.code).toBe(0);
    expect(readdirSync(path.join(tmp, 'both')).sort()).toEqual(['r.json', 'r.sarif']);
  });
});

describe('a report never overwrites an input', () => {
  it('a --report path equal to the scenario file is refused (exit 2) and the scenario is left as it was', async () => {
    const { scenario } = copyScenario('clobber-scenario');
    const before = readFileSync(scenario, 'utf8');
    const r = await cli('run', scenario, '--report', `json=${scenario}`);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[report-overwrites-input] --report json=${scenario}: ${scenario} is an input of this run`);
    expect(readFileSync(scenario, 'utf8')).toBe(before);
  });

  it('a --report path that names a manifest by another spelling is refused, and the manifest is left as it was', async () => {
    const { scenario, manifest } = copyScenario('clobber-manifest');
    const before = readFileSync(manifest, 'utf8');
    const other = manifest.replace('/mesh/', '/mesh/../mesh/./');
    const r = await cli('run', scenario, '--report', `junit=${other}`);
    expect(r.code).toBe(2);
    expect(r.err).toContain('[report-overwrites-input]');
    expect(readFileSync(manifest, 'utf8')).toBe(before);
  });

  it('--report json=- is refused (a file named "-" is never what was meant), and no such file is written', async () => {
    const r = await cli('run', SHIPPED, '--report', 'json=-');
    expect(r.code).toBe(2);
    expect(r.err).toContain('not standard output');
    expect(existsSync(path.join(root, '-'))).toBe(false);
  });

  it('two --report options naming one file are refused before anything is written', async () => {
    const out = `${rel}/twice.json`;
    const r = await cli('run', SHIPPED, '--report', `json=${out}`, '--report', `sarif=${out}`);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^meshrange: --report .*already written/);
    expect(existsSync(path.join(root, out))).toBe(false);
  });
});

describe('a report path names a file', () => {
  it('a path ending in / names a folder, existing or not: refused (exit 2) rather than written as a file named like the folder', async () => {
    for (const out of [`${rel}/not-yet/`, `${rel}/`, `${rel}/x/.`, `${rel}/x/..`, `${rel}\\not-yet\\`, `${rel}/x\\.`]) {
      const r = await cli('run', SHIPPED, '--report', `json=${out}`);
      expect(r.code, out).toBe(2);
      expect(r.err).toContain(`[bad-report-path] --report json=${out}: ${out} names a folder; give a file name`);
    }
    expect(existsSync(path.join(root, rel, 'not-yet'))).toBe(false);
    const m = await cli('merge', `${rel}/none.json`, '--report', `json=${rel}/merged/`);
    expect(m.code).toBe(2);
    expect(m.err).toContain('names a folder; give a file name');
  });
});

describe('stdout closed early (real process)', () => {
  it('a reader that closes stdout before the report is written (| true) ends the run quietly: no stack trace, the run\'s own exit status', () => {
    const p = spawnSync('bash', ['-c', `set -o pipefail; node bin/meshrange.js run ${SHIPPED} --check | true`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(p.stderr).not.toMatch(STACK);
    expect(p.stderr).not.toContain('EPIPE');
    expect(p.status).toBe(0);
  });
});
