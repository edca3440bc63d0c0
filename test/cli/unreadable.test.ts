/**
 * A file that cannot be read (permission denied) is a located exit-2 error
 * naming it — in a manifest folder, in a scenario folder, or named directly —
 * never "internal error" and never skipped (issue 9 items 5 and 6).
 *
 * Tests often run as root, which reads any file whatever its mode, so the
 * refusal is simulated: opening (or reading) a file whose name starts with
 * `locked` fails with EACCES, as it does for an ordinary user.
 * Writing a report there fails the same way (issue 9 item 8).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cli, writeScratch, DEMO_MESH } from './harness.js';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const denied = (p: unknown): boolean => typeof p === 'string' && path.basename(p).startsWith('locked');
  const eacces = (p: string): Error => Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: 'EACCES' });
  const patched = {
    ...fs,
    openSync: ((p: string, ...rest: unknown[]) => {
      // opening to read is refused; writing the tests' own fixtures (flag 'w') goes through
      const reading = typeof rest[0] !== 'string' || rest[0].startsWith('r');
      if (denied(p) && reading) throw eacces(p);
      return (fs.openSync as (...a: unknown[]) => number)(p, ...rest);
    }) as typeof fs.openSync,
    readFileSync: ((p: string, ...rest: unknown[]) => {
      if (denied(p)) throw eacces(p);
      return (fs.readFileSync as (...a: unknown[]) => unknown)(p, ...rest);
    }) as typeof fs.readFileSync,
    writeFileSync: ((p: string, ...rest: unknown[]) => {
      // the report's temporary file; the tests' own fixtures are written as usual
      if (denied(p) && path.basename(p).includes('.tmp-')) throw eacces(p);
      return (fs.writeFileSync as (...a: unknown[]) => unknown)(p, ...rest);
    }) as typeof fs.writeFileSync,
  };
  return { ...patched, default: patched };
});

const { main } = await import('../../src/cli/main.js');

const root = path.resolve(__dirname, '../..');
let tmp = '';
let rel = '';

const write = (name: string, text: string): string => writeScratch(tmp, rel, name, text);

const MESH = DEMO_MESH;

const scenario = (name: string, manifests: string): string => `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: ${name} }
spec:
  mesh: { manifests: [${manifests}] }
  attacker: { foothold: demo/web }
  steps: [{ id: a, action: wait, for: 1s }]
`;

beforeAll(() => {
  tmp = mkdtempSync(path.join(root, 'test', '.tmp-unreadable-'));
  rel = path.relative(root, tmp);
  write('mesh/mesh.yaml', MESH);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('unreadable files are located errors (exit 2), never internal errors', () => {
  it('an unreadable manifest in a folder is refused naming it, at the scenario line that points at the folder', async () => {
    write('m1/mesh.yaml', MESH);
    write('m1/locked.yaml', 'kind: Namespace\n');
    const f = write('s1.yaml', scenario('s1', './m1'));
    const r = await cli('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}:5:`);
    expect(r.err).toContain(`[file-unreadable] ${rel}/m1/locked.yaml cannot be read: permission denied (EACCES)`);
    expect(r.err).not.toContain('internal error');
  });

  it('an unreadable scenario named on the command line is refused naming it', async () => {
    const f = write('locked-scenario.yaml', scenario('locked', './mesh'));
    const r = await cli('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[file-unreadable] ${f} cannot be read: permission denied (EACCES)`);
    expect(r.err).not.toContain('internal error');
  });

  it('an unreadable file in a scenario folder is an error, so --check cannot pass by skipping it', async () => {
    write('suite/ok.yaml', scenario('suite-ok', '../mesh'));
    write('suite/locked.yaml', scenario('suite-locked', '../mesh'));
    const r = await cli('run', `${rel}/suite`, '--check');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[file-unreadable] ${rel}/suite/locked.yaml cannot be read: permission denied (EACCES)`);
  });

  it('a report that cannot be written (permission denied) is an exit-2 error naming it, and no other report is left', async () => {
    const f = write('s4.yaml', scenario('s4', './mesh'));
    const r = await cli('run', f, '--report', `json=${rel}/out/ok.json`, '--report', `junit=${rel}/out/locked.xml`);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[report-write-failed] cannot write the junit report to ${rel}/out/locked.xml: permission denied (EACCES)`);
    expect(r.err).not.toContain('internal error');
    expect(existsSync(`${rel}/out/ok.json`)).toBe(false);
    expect(readdirSync(`${rel}/out`)).toEqual([]);
  });
});
