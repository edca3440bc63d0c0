import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssessReport } from '../../src/assess/assess.js';
import { IssueList } from '../../src/core/issues.js';
import { GitSource, refProblem, resolveRef } from '../../src/cli/git-source.js';
import { cli } from '../cli/harness.js';

const STRICT = readFileSync('scenarios/meshes/policies/backend-strict/peerauthentication.yaml', 'utf8');
const SCENARIO = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: legacy-plaintext }
spec:
  mesh: { manifests: [../k8s] }
  attacker: { foothold: legacy/batch }
  steps:
    - { id: to-api, action: request, to: "api.backend:80", expect: blocked }
`;

let repo: string;
const git = (...args: string[]): string => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();

beforeAll(() => {
  repo = realpathSync(mkdtempSync(path.join(tmpdir(), 'meshrange-git-')));
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'test@example.com');
  git('config', 'user.name', 'test');
  git('config', 'commit.gpgsign', 'false');
  mkdirSync(path.join(repo, 'k8s'));
  mkdirSync(path.join(repo, 'scen'));
  for (const f of ['00-namespaces.yaml', 'backend.yaml', 'frontend.yaml', 'legacy.yaml', 'istio-config.yaml']) {
    writeFileSync(path.join(repo, 'k8s', f), readFileSync(path.join('scenarios/meshes/three-ns', f)));
  }
  writeFileSync(path.join(repo, 'k8s', 'pa.yaml'), STRICT);
  writeFileSync(path.join(repo, 'scen', 'legacy.yaml'), SCENARIO);
  git('add', '-A');
  git('commit', '-q', '-m', 'strict');
  git('tag', 'strict');
  writeFileSync(path.join(repo, 'k8s', 'pa.yaml'), STRICT.replace('mode: STRICT', 'mode: PERMISSIVE'));
  git('commit', '-q', '-am', 'permissive');
  // The working tree differs from both commits: a ref must read the commit, not the files on disk.
  writeFileSync(path.join(repo, 'k8s', 'pa.yaml'), 'not: [valid');
});

afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('assess --before/--after git refs read the same paths at each commit', () => {
  it('strict tag → HEAD: risk up with the plaintext paths, the scenario step a regression; exit 1 under --check', async () => {
    const r = await cli('assess', '--repo', repo, '--before', 'strict', '--after', 'HEAD', '--mesh', 'k8s', path.join(repo, 'scen', 'legacy.yaml'), '--format', 'json', '--check');
    expect(r.err).not.toContain('error');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as AssessReport;
    expect(j.before).toMatch(/^strict \([0-9a-f]{12}\)$/);
    expect(j.risk).toBe('up');
    expect(j.newlyReachable.map((p) => `${p.from} ${p.to}:${p.port}`)).toEqual(['legacy/batch api.backend:80', 'legacy/batch db.backend:5432']);
    expect(j.steps).toEqual([expect.objectContaining({ scenario: 'legacy-plaintext', step: 'to-api', before: 'blocked', after: 'allowed', kind: 'regression' })]);
  });

  // (chown to another user needs root: CI runs as root)
  it.runIf(process.getuid?.() === 0)('in a repository git will not read (dubious ownership) a folder named like a ref is refused, not taken: whether it is a ref cannot be told', () => {
    const dub = realpathSync(mkdtempSync(path.join(tmpdir(), 'meshrange-dubious-')));
    try {
      execFileSync('git', ['-C', dub, 'init', '-q']);
      mkdirSync(path.join(dub, 'HEAD'));
      for (const f of ['00-namespaces.yaml', 'backend.yaml', 'frontend.yaml', 'legacy.yaml', 'istio-config.yaml']) writeFileSync(path.join(dub, 'HEAD', f), readFileSync(path.join('scenarios/meshes/three-ns', f)));
      execFileSync('chown', ['-R', '65534:65534', dub]);
      const run = (...args: string[]): { status: number | null; stderr: string } =>
        spawnSync(process.execPath, [path.resolve('bin/meshrange.js'), 'assess', ...args], { cwd: dub, encoding: 'utf8', timeout: 60_000 });
      const r = run('--before', 'HEAD', '--after', 'HEAD');
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('cannot tell whether "HEAD" is a folder or a git ref');
      expect(run('--before', './HEAD', '--after', './HEAD').status).toBe(0);
    } finally {
      rmSync(dub, { recursive: true, force: true });
    }
  });

  it('a partial clone is refused before anything is read: its git would fetch the files it lacks from the network', () => {
    const partial = realpathSync(mkdtempSync(path.join(tmpdir(), 'meshrange-partial-')));
    try {
      git('config', 'uploadpack.allowFilter', 'true'); // else the local 'server' ignores --filter and sends every blob
      execFileSync('git', ['clone', '-q', '--filter=blob:none', '--no-checkout', `file://${repo}`, partial], { stdio: 'ignore' });
      const r = spawnSync(process.execPath, [path.resolve('bin/meshrange.js'), 'assess', '--before', 'origin/main', '--after', 'origin/main', '--mesh', 'k8s'],
        { cwd: partial, encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('is a partial clone');
      // git reads yes, on and 1 as true too
      execFileSync('git', ['-C', partial, 'config', 'remote.origin.promisor', 'yes']);
      const yes = spawnSync(process.execPath, [path.resolve('bin/meshrange.js'), 'assess', '--before', 'origin/main', '--after', 'origin/main', '--mesh', 'k8s'],
        { cwd: partial, encoding: 'utf8', timeout: 60_000 });
      expect(yes.stderr).toContain('is a partial clone');
      // nothing was fetched: the blobs are still missing
      const missing = execFileSync('git', ['-C', partial, 'rev-list', '--objects', '--missing=print', 'origin/main'], { encoding: 'utf8', env: { ...process.env, GIT_NO_LAZY_FETCH: '1' } })
        .split('\n').filter((l) => l.startsWith('?'));
      expect(missing.length).toBeGreaterThan(0);
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
  });

  it('an argument that is both a folder and a ref is refused (exit 2), so a pull request cannot add a folder HEAD/ to be assessed in place of its commit; ./HEAD is the folder', () => {
    const decoy = path.join(repo, 'HEAD', 'k8s');
    mkdirSync(decoy, { recursive: true });
    try {
      for (const f of ['00-namespaces.yaml', 'backend.yaml', 'frontend.yaml', 'legacy.yaml', 'istio-config.yaml']) writeFileSync(path.join(decoy, f), readFileSync(path.join('scenarios/meshes/three-ns', f)));
      writeFileSync(path.join(decoy, 'pa.yaml'), STRICT);
      const run = (...args: string[]): { status: number | null; stderr: string } =>
        spawnSync(process.execPath, [path.resolve('bin/meshrange.js'), 'assess', ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
      const both = run('--before', 'strict', '--after', 'HEAD', '--mesh', 'k8s', '--check');
      expect(both.status).toBe(2);
      expect(both.stderr).toContain('"HEAD" is both a folder');
      expect(both.stderr).toContain('write the folder as ./HEAD');
      // written as a path, it is the folder: the decoy's STRICT mesh, so nothing changed (risk same, exit 0)
      const folder = run('--before', 'strict', '--after', './HEAD/k8s', '--mesh', '.', '--check');
      expect(folder.stderr).not.toContain('is both a folder');
      expect(folder.status).toBe(0);
      // a folder whose name is a few hex digits (2024, cafe) is a folder, even when some commit id starts with them
      const short = git('rev-parse', 'HEAD').slice(0, 4);
      mkdirSync(path.join(repo, short));
      for (const f of ['00-namespaces.yaml', 'backend.yaml', 'frontend.yaml', 'legacy.yaml', 'istio-config.yaml']) writeFileSync(path.join(repo, short, f), readFileSync(path.join('scenarios/meshes/three-ns', f)));
      writeFileSync(path.join(repo, short, 'pa.yaml'), STRICT);
      const hex = run('--before', 'strict', '--after', short, '--mesh', '.', '--check');
      expect(hex.stderr).not.toContain('is both a folder');
      rmSync(path.join(repo, short), { recursive: true, force: true });
    } finally {
      rmSync(path.join(repo, 'HEAD'), { recursive: true, force: true });
    }
  });

  it('paths given through a link to the repository are inside it (a CI workspace under a linked folder)', async () => {
    const link = path.join(path.dirname(repo), `${path.basename(repo)}-link`);
    symlinkSync(repo, link);
    try {
      const r = await cli('assess', '--repo', link, '--before', 'strict', '--after', 'HEAD', '--mesh', path.join(link, 'k8s'), '--format', 'json');
      expect(r.err).not.toContain('outside the repository');
      expect(r.code).toBe(0);
      expect((JSON.parse(r.out) as AssessReport).risk).toBe('up');
    } finally {
      rmSync(link, { force: true });
    }
  });

  it('HEAD~1 → HEAD~1: risk same', async () => {
    const r = await cli('assess', '--repo', repo, '--before', 'HEAD~1', '--after', 'HEAD~1', '--mesh', 'k8s', '--format', 'json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as AssessReport).risk).toBe('same');
  });

  it('a ref that looks like an option is refused before git sees it (exit 2)', async () => {
    const r = await cli('assess', '--repo', repo, '--before=--output=/tmp/x', '--after', 'HEAD', '--mesh', 'k8s');
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot start with "-"');
    expect(refProblem('main..evil')).not.toBeNull();
    expect(refProblem('HEAD:k8s')).not.toBeNull();
    expect(refProblem('origin/main')).toBeNull();
  });

  it('an unknown ref exits 2 saying it is neither a folder nor a commit', async () => {
    const r = await cli('assess', '--repo', repo, '--before', 'no-such-branch', '--after', 'HEAD', '--mesh', 'k8s');
    expect(r.code).toBe(2);
    expect(r.err).toContain('neither a folder nor a commit');
  });

  it('a manifest file named as a side is said to be a file, with the folder holding it as the fix (exit 2)', async () => {
    const r = await cli('assess', '--before', 'scenarios/meshes/bookinfo/deployments.yaml', '--after', 'scenarios/meshes/bookinfo');
    expect(r.code).toBe(2);
    expect(r.err).toContain('"scenarios/meshes/bookinfo/deployments.yaml" is a file, not a folder');
    expect(r.err).toContain('fix: name the folder that holds it (e.g. scenarios/meshes/bookinfo), or a commit');
  });

  it('--mesh of a folder side is read inside that folder: when it is missing there, the message says so and suggests the command that reads the working tree', () => {
    const run = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(process.execPath, [path.resolve('bin/meshrange.js'), 'assess', ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    const r = run('--before', 'HEAD~1', '--after', './k8s', '--mesh', 'k8s');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error [path-missing] --after ./k8s is a folder, and --mesh k8s is read inside it: k8s/k8s does not exist');
    expect(r.stderr).toContain('fix: k8s is a path of the current folder: give --after the folder that holds it, e.g. meshrange assess --before HEAD~1 --after . --mesh k8s');
    // never the hint that contradicted it (the path was not read relative to the current folder)
    expect(r.stderr).not.toContain('a path on the command line is relative to the current folder');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    // the suggested command works (the working tree's manifests made valid for it)
    const pa = path.join(repo, 'k8s', 'pa.yaml');
    const saved = readFileSync(pa, 'utf8');
    writeFileSync(pa, STRICT);
    try {
      const ok = run('--before', 'HEAD~1', '--after', '.', '--mesh', 'k8s', '--format', 'json');
      expect(ok.status, ok.stderr).toBe(0);
      expect((JSON.parse(ok.stdout) as AssessReport).risk).toBe('same');
    } finally {
      writeFileSync(pa, saved);
    }
    // a --mesh that is nowhere: the rule, and what to do
    const nowhere = run('--before', 'HEAD~1', '--after', './k8s', '--mesh', 'nope');
    expect(nowhere.status).toBe(2);
    expect(nowhere.stderr).toContain('fix: give --mesh relative to k8s, or leave --mesh out to read the whole folder');
  });

  it('outside a repository, a typo\'d folder is neither a folder nor a git ref (exit 2), not a complaint about git', () => {
    const away = realpathSync(mkdtempSync(path.join(tmpdir(), 'meshrange-norepo-')));
    try {
      const r = spawnSync(process.execPath, [path.resolve('bin/meshrange.js'), 'assess', '--before', path.join(repo, 'k8s'), '--after', 'nope-dir'], { cwd: away, encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('error [bad-ref] "nope-dir" is neither a folder nor a git ref: there is no folder nope-dir');
      expect(r.stderr).toContain("fix: check the folder's name");
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stdout).toBe('');
    } finally {
      rmSync(away, { recursive: true, force: true });
    }
  });

  it('a git ref without --mesh exits 2 asking for the manifests to read', async () => {
    const r = await cli('assess', '--repo', repo, '--before', 'strict', '--after', 'HEAD');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--mesh');
  });

  it('a path missing at the commit is a clear error naming the ref (exit 2)', async () => {
    const r = await cli('assess', '--repo', repo, '--before', 'strict', '--after', 'HEAD', '--mesh', 'nope');
    expect(r.code).toBe(2);
    expect(r.err).toContain('does not exist');
    expect(r.err).toContain('strict (');
  });
});

describe('GitSource', () => {
  it('reads a file as the commit has it, not as the working tree does', () => {
    const g = new GitSource(repo, resolveRef(repo, 'HEAD'), 'HEAD');
    const issues = new IssueList();
    expect(g.read(path.join(repo, 'k8s', 'pa.yaml'), issues)?.text).toContain('PERMISSIVE');
    const s = new GitSource(repo, resolveRef(repo, 'strict'), 'strict');
    expect(s.manifests(path.join(repo, 'k8s'), issues).map((f) => path.basename(f.path))).toEqual(
      ['00-namespaces.yaml', 'backend.yaml', 'frontend.yaml', 'istio-config.yaml', 'legacy.yaml', 'pa.yaml']);
    expect(issues.hasErrors()).toBe(false);
  });

  it('refuses a path outside the repository with a located error', () => {
    const g = new GitSource(repo, resolveRef(repo, 'HEAD'), 'HEAD');
    const issues = new IssueList();
    expect(g.read('/etc/passwd', issues)).toBeNull();
    expect(issues.errors[0]?.code).toBe('path-outside');
  });
});
