/**
 * The CI recipes of examples/ci run as far as a shell can: their `npx meshrange`
 * commands are taken from the YAML as written, their CI variables substituted
 * (the base ref becomes a branch of a temporary git repository laid out as the
 * recipes expect: k8s/ and security-scenarios/, built from this repository's
 * three-ns mesh and scenarios), and run; the steps that consume the reports
 * (SARIF upload, the PR comment) must name the files the command wrote.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cli } from '../cli/harness.js';

interface GhStep { name?: string; id?: string; uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, string>; if?: string; 'continue-on-error'?: boolean }
interface GhWorkflow { on: Record<string, unknown>; env: Record<string, string>; permissions: Record<string, string>; jobs: Record<string, { steps: GhStep[] }> }
interface GlJob { script: string[]; after_script?: string[]; variables: Record<string, string | number>; rules: { if: string }[]; artifacts: { when: string; paths: string[] } }

const GH = parse(readFileSync('examples/ci/github-actions.yml', 'utf8')) as GhWorkflow;
const GL = parse(readFileSync('examples/ci/gitlab-ci.yml', 'utf8')) as Record<string, GlJob>;

/** The `npx meshrange …` command lines of a script (one per line). */
function meshrangeLines(script: string): string[] {
  return script.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('npx meshrange '));
}

/** Shell words of one command line, with $VAR / ${VAR} expanded: inside double quotes as one word, unquoted split on spaces. */
function shellWords(line: string, vars: Record<string, string>): string[] {
  const words: string[] = [];
  let cur: string | null = null;
  let i = 0;
  const expand = (quoted: boolean): void => {
    const m = /^\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(line.slice(i));
    if (!m) { cur = (cur ?? '') + '$'; i++; return; }
    const name = (m[2] ?? m[3]) as string;
    if (!Object.hasOwn(vars, name)) throw new Error(`the recipe uses $${name}, which the test does not set`);
    const v = vars[name] as string;
    i += m[0].length;
    if (quoted) { cur = (cur ?? '') + v; return; }
    const parts = v.split(/\s+/);
    parts.forEach((p, k) => {
      if (k > 0) { if (cur !== null && cur !== '') words.push(cur); cur = null; }
      if (p !== '') cur = (cur ?? '') + p;
    });
  };
  while (i < line.length) {
    const ch = line[i] as string;
    if (ch === ' ') { if (cur !== null) words.push(cur); cur = null; i++; continue; }
    if (ch === '"') {
      cur = cur ?? '';
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '$') expand(true); else { cur += line[i]; i++; }
      }
      i++;
      continue;
    }
    if (ch === '\'' || ch === '`' || ch === '\\' || ch === '|' || ch === ';' || ch === '&' || ch === '>' || ch === '<') throw new Error(`the test's shell does not handle ${ch} in: ${line}`);
    if (ch === '$') { expand(false); continue; }
    cur = (cur ?? '') + ch;
    i++;
  }
  if (cur !== null && cur !== '') words.push(cur);
  return words;
}

function reportPath(argv: readonly string[], format: string): string {
  const i = argv.findIndex((a, k) => argv[k - 1] === '--report' && a.startsWith(`${format}=`));
  if (i < 0) throw new Error(`no --report ${format}=…`);
  return (argv[i] as string).slice(format.length + 1);
}

let repo: string;
const here = process.cwd();
const git = (...args: string[]): string => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
const STRICT = readFileSync('scenarios/meshes/policies/backend-strict/peerauthentication.yaml', 'utf8');

beforeAll(() => {
  repo = realpathSync(mkdtempSync(path.join(tmpdir(), 'meshrange-ci-')));
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'ci@example.com');
  git('config', 'user.name', 'ci');
  git('config', 'commit.gpgsign', 'false');
  cpSync('scenarios/meshes/three-ns', path.join(repo, 'k8s'), { recursive: true });
  writeFileSync(path.join(repo, 'k8s', 'backend-strict.yaml'), STRICT);
  mkdirSync(path.join(repo, 'security-scenarios'));
  for (const s of ['strict-backend-namespace.yaml', 'permissive-legacy-plaintext.yaml']) {
    const text = readFileSync(path.join('scenarios', s), 'utf8').replace(/manifests:\n(\s+- .*\n)+/, 'manifests: [../k8s]\n');
    writeFileSync(path.join(repo, 'security-scenarios', s), text);
  }
  git('add', '-A');
  git('commit', '-q', '-m', 'base');
  // The remote-tracking branch the recipes read the base from (CI fetches it; here it is made locally).
  git('update-ref', 'refs/remotes/origin/main', 'HEAD');
});

afterAll(() => {
  process.chdir(here);
  rmSync(repo, { recursive: true, force: true });
});

/** Runs one recipe command in the temporary repository at its current HEAD. */
async function runIn(argv: string[]): Promise<Awaited<ReturnType<typeof cli>>> {
  process.chdir(repo);
  try {
    return await cli(...argv);
  } finally {
    process.chdir(here);
  }
}

function prCommit(pa: string, message: string): void {
  git('checkout', '-q', '-B', `pr-${message}`, 'origin/main');
  writeFileSync(path.join(repo, 'k8s', 'backend-strict.yaml'), pa);
  git('commit', '-q', '-am', message, '--allow-empty');
}

describe('examples/ci/github-actions.yml', () => {
  const job = Object.values(GH.jobs)[0] as { steps: GhStep[] };
  const assessStep = job.steps.find((s) => s.run !== undefined && meshrangeLines(s.run).length > 0) as GhStep;
  const argvOf = (): string[] => {
    const [line] = meshrangeLines(assessStep.run as string);
    return shellWords(line as string, { ...GH.env, ...(assessStep.env ?? {}), BASE_REF: 'main' }).slice(2);
  };

  it('runs on pull_request and passes the base ref through the environment, never pasted into the script', () => {
    expect(GH.on).toHaveProperty('pull_request');
    expect(assessStep.env?.['BASE_REF']).toBe('${{ github.base_ref }}');
    for (const s of job.steps) expect(s.run ?? '').not.toMatch(/\$\{\{/);
    expect(GH.permissions['security-events']).toBe('write');
  });

  it('a PR that turns STRICT into PERMISSIVE: assess exits 1 (risk up) and writes the SARIF and Markdown the next steps upload and post', async () => {
    prCommit(STRICT.replace('mode: STRICT', 'mode: PERMISSIVE'), 'permissive');
    const argv = argvOf();
    expect(argv.slice(0, 1)).toEqual(['assess']);
    const r = await runIn(argv);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(1);
    const sarifPath = reportPath(argv, 'sarif');
    const mdPath = reportPath(argv, 'markdown');
    const upload = job.steps.find((s) => s.uses?.startsWith('github/codeql-action/upload-sarif'));
    expect(upload?.with?.['sarif_file']).toBe(sarifPath);
    const comment = job.steps.find((s) => (s.run ?? '').includes('gh pr comment'));
    expect(comment?.run).toContain(`--body-file ${mdPath}`);
    const sarif = JSON.parse(readFileSync(path.join(repo, sarifPath), 'utf8'));
    expect(sarif.runs[0].results.map((x: { ruleId: string }) => x.ruleId)).toContain('meshrange/newly-reachable');
    expect(sarif.runs[0].results.map((x: { ruleId: string }) => x.ruleId)).toContain('meshrange/step-regressed');
    expect(readFileSync(path.join(repo, mdPath), 'utf8')).toContain('risk **up**');
    expect(job.steps.find((s) => s.if === "steps.assess.outcome == 'failure'")).toBeDefined();
  });

  it('a PR that changes nothing reachable: assess exits 0 (risk same)', async () => {
    prCommit(`# a comment only\n${STRICT}`, 'comment');
    const r = await runIn(argvOf());
    expect(r.code).toBe(0);
    expect(r.out).toContain('SAME');
  });
});

describe('examples/ci/gitlab-ci.yml', () => {
  const job = Object.values(GL)[0] as GlJob;
  const argvOf = (): string[] => {
    const line = job.script.flatMap((s) => meshrangeLines(s))[0] as string;
    const vars = Object.fromEntries(Object.entries(job.variables).map(([k, v]) => [k, String(v)]));
    return shellWords(line, { ...vars, CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main' }).slice(2);
  };

  it('runs on merge requests, with the whole history, and keeps the reports as artifacts always', () => {
    expect(job.rules[0]?.if).toContain('merge_request_event');
    expect(String(job.variables['GIT_DEPTH'])).toBe('0');
    expect(job.artifacts.when).toBe('always');
    expect(job.artifacts.paths).toContain('reports/');
  });

  it('its git lines run as written: the fetch makes origin/<target branch> from the remote (here the repository itself)', () => {
    git('remote', 'add', 'origin', repo);
    git('update-ref', '-d', 'refs/remotes/origin/main');
    const vars = { CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main' };
    const lines = job.script.filter((l) => l.startsWith('git '));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) execFileSync('git', shellWords(l, vars).slice(1), { cwd: repo, stdio: 'pipe' });
    expect(git('rev-parse', 'origin/main')).toBe(git('rev-parse', 'main'));
  });

  it('a merge request that turns STRICT into PERMISSIVE fails the job (exit 1); the note posts the Markdown it wrote', async () => {
    prCommit(STRICT.replace('mode: STRICT', 'mode: PERMISSIVE'), 'gl-permissive');
    const argv = argvOf();
    const r = await runIn(argv);
    expect(r.code).toBe(1);
    const md = reportPath(argv, 'markdown');
    expect(existsSync(path.join(repo, md))).toBe(true);
    expect((job.after_script ?? []).join('\n')).toContain(`body@${md}`);
  });
});
