/**
 * Bounds the application layer enforces while reading and running (issue 9.2,
 * product.md §5): the total bytes of one scenario's manifests, judged before
 * any file is read; the event budget of a run, reported as a located error.
 */
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareScenario } from '../../src/api/prepare.js';
import { runFiles } from '../../src/api/run.js';
import { ByteBudget, MAX_MESH_BYTES, type SourceReader } from '../../src/api/source.js';
import { FsSource, Sandbox } from '../../src/cli/fs.js';
import { IssueList } from '../../src/core/issues.js';

const root = path.resolve(__dirname, '../..');
let tmp = '';

beforeAll(() => {
  tmp = mkdtempSync(path.join(root, 'test', '.tmp-bounds-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function scenarioOn(name: string, manifests: string[]): string {
  const file = path.join(tmp, `${name}.yaml`);
  writeFileSync(file, `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: ${name} }
spec:
  mesh:
    manifests:
${manifests.map((m) => `      - ${m}`).join('\n')}
  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - { id: s, action: request, to: "details:9080" }
`);
  return path.relative(root, file);
}

describe('the manifests of one scenario total at most MAX_MESH_BYTES (issue 9.2)', () => {
  it('a folder of five 7 MiB files (each under the per-file limit) is refused as a whole before any is read: manifests-too-large at its entry', () => {
    const dir = path.join(tmp, 'big');
    mkdirSync(dir);
    for (let i = 0; i < 5; i++) {
      // sparse files of NUL bytes: reading any of them would report binary-file
      const f = path.join(dir, `m${i}.yaml`);
      writeFileSync(f, '');
      truncateSync(f, 7 * 1024 * 1024);
    }
    const issues = new IssueList();
    const file = scenarioOn('big', ['../../scenarios/meshes/bookinfo', './big']);
    expect(prepareScenario(file, new FsSource(Sandbox.forCwd([])), issues)).toBeNull();
    expect(issues.errors.map((e) => `${e.code}@${e.loc?.line}`)).toEqual(['manifests-too-large@8']);
    expect(issues.errors[0]?.message).toMatch(/35\.0 MiB of manifests in 5 files.*more than the 32\.0 MiB/);
    // a scenario has no option to read more: its hint does not offer the mesh commands' --max-mesh-mib
    expect(issues.errors[0]?.hint).toBe('point at the manifests you need, not a larger folder');
  });

  it('past the budget nothing more is read: one manifests-too-large however many entries follow', () => {
    const dir = path.join(tmp, 'big2');
    mkdirSync(dir);
    const f = path.join(dir, 'm.yaml');
    writeFileSync(f, '');
    truncateSync(f, 7 * 1024 * 1024);
    const others = Array.from({ length: 50 }, (_, i) => { const d = path.join(tmp, `more${i}`); mkdirSync(d); writeFileSync(path.join(d, 'm.yaml'), ''); truncateSync(path.join(d, 'm.yaml'), 7 * 1024 * 1024); return `./more${i}`; });
    const issues = new IssueList();
    const file = scenarioOn('big2', ['./big2', './big2/m.yaml', './big2', './big2/../big2', './big2', ...['a', 'b', 'c', 'd'].map(() => './big2'), ...others]);
    expect(prepareScenario(file, new FsSource(Sandbox.forCwd([])), issues)).toBeNull();
    expect(issues.errors.filter((e) => e.code === 'manifests-too-large')).toHaveLength(1);
  });

  it('a manifest path listed many times is read once (it counts once against the budget)', () => {
    const issues = new IssueList();
    const file = scenarioOn('repeat', Array.from({ length: 20 }, () => '../../scenarios/meshes/bookinfo'));
    const fs = new FsSource(Sandbox.forCwd([]));
    let reads = 0;
    const counting: SourceReader = {
      read: (p, i, at) => fs.read(p, i, at),
      manifests: (p, i, at, b) => { reads++; return fs.manifests(p, i, at, b); },
      forScenario: (f) => { const box = fs.forScenario(f); return { ...counting, read: (p, i, at) => box.read(p, i, at), manifests: (p, i, at, b) => { reads++; return box.manifests(p, i, at, b); } }; },
      resolve: (f, r) => fs.resolve(f, r),
    };
    expect(prepareScenario(file, counting, issues)).not.toBeNull();
    expect(issues.errors).toEqual([]);
    expect(reads).toBe(1);
  });

  it('spec.mesh.manifests lists at most 1,000 entries (scenario-invalid, before anything is read)', () => {
    const issues = new IssueList();
    const file = scenarioOn('many', Array.from({ length: 1001 }, () => '../../scenarios/meshes/bookinfo'));
    expect(prepareScenario(file, new FsSource(Sandbox.forCwd([])), issues)).toBeNull();
    expect(issues.errors.map((e) => e.code)).toEqual(['scenario-invalid']);
    expect(issues.errors[0]?.message).toContain('list at most 1000 manifest files or folders');
  });

  it('the budget counts across entries: what earlier entries read is taken from it', () => {
    const budget = new ByteBudget(MAX_MESH_BYTES);
    expect(budget.take(MAX_MESH_BYTES - 10)).toBe(true);
    expect(budget.take(11)).toBe(false);
    expect(budget.take(10)).toBe(true);
  });
});

describe('the event budget of a run (Kernel rule 9) ends as bad input, located, no report', () => {
  it('runFiles turns a spent event budget into scenario-too-much-work at the running step', async () => {
    const r = await runFiles(['scenarios/flood-unprotected.yaml'], new FsSource(Sandbox.forCwd([])), { maxEvents: 5000 });
    expect(r.results).toEqual([]);
    const e = r.issues.errors[0];
    expect(e?.code).toBe('scenario-too-much-work');
    expect(e?.loc?.file).toBe('scenarios/flood-unprotected.yaml');
    expect(e?.message).toMatch(/after 5,000 events/);
  });
});
