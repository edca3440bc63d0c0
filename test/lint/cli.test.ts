/** `meshrange lint` on the command line: exit codes, --fail-on, --format, --report, bad input. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, writeScratch } from '../cli/harness.js';

const POSTURE = 'test/fixtures/lint/posture';
const HARDENED = 'test/fixtures/lint/hardened';
const tmp = mkdtempSync(path.resolve('test', '.tmp-lint-'));
const rel = path.relative(process.cwd(), tmp);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('meshrange lint', () => {
  it('exits 1 on the posture mesh (warnings and errors, --fail-on warning by default) and prints each finding', async () => {
    const r = await cli('lint', '--mesh', POSTURE);
    expect(r.code).toBe(1);
    for (const code of ['MR0101', 'MR0102', 'MR0103', 'MR0104', 'MR0105', 'MR0106', 'MR0107', 'MR0108', 'MR0109', 'MR0110', 'MR0119', 'MR0120', 'MR0121', 'MR0122', 'MR0123']) expect(r.out).toContain(code);
  });
  it('exits 0 on the hardened mesh', async () => {
    const r = await cli('lint', '--mesh', HARDENED);
    expect(r.code).toBe(0);
    expect(r.out).toContain('no findings');
  });
  it('--fail-on never exits 0 whatever is found; --fail-on error exits 0 on a mesh with only warnings and info', async () => {
    expect((await cli('lint', '--mesh', POSTURE, '--fail-on', 'never')).code).toBe(0);
    const p = writeScratch(tmp, rel, 'warn-only/mesh.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: { name: a, labels: { istio-injection: enabled } }\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: cron, namespace: a }\nspec:\n  template:\n    metadata: { labels: { app: cron, sidecar.istio.io/inject: "false" } }\n    spec: { containers: [{ name: c, image: c }] }\n');
    expect((await cli('lint', '--mesh', path.dirname(p), '--fail-on', 'error')).code).toBe(0);
    expect((await cli('lint', '--mesh', path.dirname(p))).code).toBe(1);
  });
  it('--fail-on info fails on an info finding that warning lets pass', async () => {
    const p = writeScratch(tmp, rel, 'info-only/mesh.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: { name: a, labels: { istio-injection: enabled } }\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web, namespace: a }\nspec:\n  template:\n    metadata: { labels: { app: web } }\n    spec: { containers: [{ name: c, image: c, ports: [{ containerPort: 8080 }] }] }\n');
    expect((await cli('lint', '--mesh', path.dirname(p))).code).toBe(0);
    expect((await cli('lint', '--mesh', path.dirname(p), '--fail-on', 'info')).code).toBe(1);
  });
  it('--format json and sarif print one JSON document on stdout', async () => {
    const j = JSON.parse((await cli('lint', '--mesh', POSTURE, '--format', 'json')).out) as { findings: unknown[] };
    expect(j.findings).toHaveLength(17);
    const s = JSON.parse((await cli('lint', '--mesh', POSTURE, '--format', 'sarif')).out) as { version: string };
    expect(s.version).toBe('2.1.0');
  });
  it('--report FMT=PATH writes the report besides stdout', async () => {
    const out = path.join(rel, 'reports', 'lint.sarif');
    const r = await cli('lint', '--mesh', POSTURE, '--report', `sarif=${out}`, '--report', `json=${path.join(rel, 'reports', 'lint.json')}`);
    expect(r.code).toBe(1);
    expect((JSON.parse(readFileSync(out, 'utf8')) as { version: string }).version).toBe('2.1.0');
    expect(existsSync(path.join(rel, 'reports', 'lint.json'))).toBe(true);
  });
  it('a bad --report, a missing mesh and a manifest Istio would reject exit 2 with a message and no report', async () => {
    const bad = await cli('lint', '--mesh', POSTURE, '--report', 'html=x.html');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('expected FORMAT=PATH');
    const missing = await cli('lint', '--mesh', 'no/such/dir');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('does not exist');
    const p = writeScratch(tmp, rel, 'invalid/ap.yaml', 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: p, namespace: a }\nspec:\n  action: DENY\n');
    const out = path.join(rel, 'never.json');
    const invalid = await cli('lint', '--mesh', path.dirname(p), '--report', `json=${out}`);
    expect(invalid.code).toBe(2);
    expect(invalid.err).toMatch(/ap\.yaml:\d+:\d+: error/);
    expect(invalid.err).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });
  it('refuses a report that would overwrite one of the manifests', async () => {
    const p = writeScratch(tmp, rel, 'self/mesh.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n');
    const r = await cli('lint', '--mesh', path.dirname(p), '--report', `json=${p}`);
    expect(r.code).toBe(2);
    expect(r.err).toContain('is one of the manifests');
    expect(readFileSync(p, 'utf8')).toContain('kind: Namespace');
  });
});
