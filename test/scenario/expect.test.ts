/** Expected controls (issue 11 item 4, src/scenario/expect.ts): `expect: {outcome, stoppedBy}` pins the reason as well as the outcome. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, IssueList } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { renderJson } from '../../src/report/json.js';
import { renderText } from '../../src/report/text.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderHtml } from '../../src/report/html.js';
import { CONTROL_KINDS, judge, parseControlSpec } from '../../src/scenario/expect.js';
import { parseScenario } from '../../src/scenario/load.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
import { app, ns, pa } from '../helpers.js';
import { cli } from '../cli/harness.js';
import { attachBaseline, readBaseline } from '../../src/assess/baseline.js';
import { shardOf } from '../../src/suite/shard.js';

const manifests = [ns('b', true), ns('legacy', false), app('b', 'server'), app('legacy', 'old'), pa('b', 'default', 'STRICT')];

function text(steps: string): string {
  return `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
  attacker: { foothold: legacy/old }
  steps:
${steps}`;
}

async function run(steps: string): Promise<Awaited<ReturnType<typeof runScenario>>> {
  const issues = new IssueList();
  const s = parseScenario('t.yaml', text(steps), issues);
  if (!s) throw new Error(issues.items.map(formatIssue).join('\n'));
  const { mesh } = loadMesh(manifests.map((t, i) => ({ path: `m${i}.yaml`, text: t })));
  if (!bindScenario(s, mesh, issues)) throw new Error(issues.items.map(formatIssue).join('\n'));
  return runScenario(s, mesh);
}

function problems(steps: string): string[] {
  const issues = new IssueList();
  parseScenario('t.yaml', text(steps), issues);
  return issues.errors.map(formatIssue);
}

describe('expect with stoppedBy', () => {
  it('a step stopped by the named control kind meets the expectation', async () => {
    const r = await run('    - { id: s1, action: request, to: "server.b:80", expect: { outcome: blocked, stoppedBy: PeerAuthentication } }\n');
    expect(r.steps[0]).toMatchObject({ outcome: 'blocked', expected: 'blocked', expectedStoppedBy: 'PeerAuthentication', expectationMet: true });
    expect(r.expectations).toEqual({ passed: 1, failed: 0 });
  });

  it('a step stopped by the named resource (ns/name, or Kind ns/name) meets the expectation', async () => {
    const r = await run([
      '    - { id: s1, action: request, to: "server.b:80", expect: { outcome: blocked, stoppedBy: b/default } }',
      '    - { id: s2, action: request, to: "server.b:80", expect: { outcome: blocked, stoppedBy: PeerAuthentication b/default } }', ''].join('\n'));
    expect(r.steps.map((s) => s.expectationMet)).toEqual([true, true]);
  });

  it('a step blocked by something else (a typo\'d host failing DNS) does not meet it, and the reports say what stopped it instead', async () => {
    const r = await run('    - { id: typo, action: request, to: "sevrer.b:80", expect: { outcome: blocked, stoppedBy: PeerAuthentication } }\n');
    const s = r.steps[0];
    expect(s?.outcome).toBe('blocked');
    expect(s?.expectationMet).toBe(false);
    expect(s?.stoppedBy[0]?.control).toBe('DNS');
    expect(s?.expectationNote).toMatch(/^blocked as expected, but by DNS.*not by PeerAuthentication$/);
    expect(r.expectations).toEqual({ passed: 0, failed: 1 });
    const json = JSON.parse(renderJson([r])) as { steps: Record<string, unknown>[] };
    expect(json.steps[0]).toMatchObject({ expected: 'blocked', expectedStoppedBy: 'PeerAuthentication', expectationMet: false });
    expect(json.steps[0]?.['expectationNote']).toContain('by DNS');
    expect(renderText([r])).toContain('✗ typo: request legacy/old → sevrer.b:80 — blocked 0  (blocked as expected, but by DNS (mesh default), not by PeerAuthentication)');
  });

  it('the Markdown and HTML reports say what stopped a step instead of the named control, not just "expected blocked"', async () => {
    const r = await run('    - { id: typo, action: request, to: "sevrer.b:80", expect: { outcome: blocked, stoppedBy: PeerAuthentication } }\n');
    expect(renderMarkdown([r])).toContain('blocked by PeerAuthentication — blocked as expected, but by DNS');
    expect(renderHtml([r])).toContain('blocked as expected, but by DNS');
  });

  it('a step stopped by another resource of the named kind does not meet Kind ns/name', async () => {
    const r = await run('    - { id: s1, action: request, to: "server.b:80", expect: { outcome: blocked, stoppedBy: PeerAuthentication b/other } }\n');
    expect(r.steps[0]?.expectationMet).toBe(false);
    expect(r.steps[0]?.expectationNote).toContain('PeerAuthentication b/default, not by PeerAuthentication b/other');
  });

  it('the string form expect: blocked keeps working, with no expectedStoppedBy in the JSON report', async () => {
    const r = await run('    - { id: s1, action: request, to: "sevrer.b:80", expect: blocked }\n');
    expect(r.steps[0]?.expectationMet).toBe(true);
    expect(renderJson([r])).not.toContain('expectedStoppedBy');
  });

  it('a wrong outcome fails whatever stoppedBy says', () => {
    expect(judge({ outcome: 'blocked', stoppedBy: 'DNS' }, 'allowed', [])).toEqual({ met: false, why: 'expected blocked by DNS, got allowed' });
  });
});

describe('expect validation', () => {
  it('an unknown control kind is refused at its file:line:col with the list of kinds', () => {
    const [p] = problems('    - id: s1\n      action: request\n      to: "server.b:80"\n      expect: { outcome: blocked, stoppedBy: PeerAuth }\n');
    expect(p).toContain('t.yaml:11:46: error [expect-unknown-control] expect.stoppedBy: "PeerAuth" is not a control kind');
    for (const k of CONTROL_KINDS) expect(p).toContain(k);
  });

  it('an unknown kind in Kind ns/name is refused too', () => {
    expect(problems('    - { id: s1, action: request, to: "server.b:80", expect: { outcome: blocked, stoppedBy: "Authz b/x" } }\n')[0]).toContain('"Authz" is not a control kind');
  });

  it('stoppedBy on an allowed expectation is refused: nothing stops a step that got through', () => {
    expect(problems('    - { id: s1, action: request, to: "server.b:80", expect: { outcome: allowed, stoppedBy: DNS } }\n')[0]).toContain('[expect-stopped-by-allowed]');
  });

  it('a misspelled outcome in the object form names the field and the allowed values', () => {
    const [p] = problems('    - { id: s1, action: request, to: "server.b:80", expect: { outcome: blockd } }\n');
    expect(p).toContain('spec.steps[0].expect.outcome: Invalid option');
    expect(p).toContain('allowed values: "allowed", "blocked", "partial"');
  });

  it('a misspelled outcome in the string form still lists the allowed values', () => {
    expect(problems('    - { id: s1, action: request, to: "server.b:80", expect: blockd }\n')[0]).toContain('allowed values: "allowed", "blocked", "partial"');
  });

  it('parseControlSpec reads a kind, a resource and both', () => {
    expect(parseControlSpec('DNS')).toEqual({ kind: 'DNS' });
    expect(parseControlSpec('ns/name')).toEqual({ name: 'ns/name' });
    expect(parseControlSpec('AuthorizationPolicy ns/deny.all')).toEqual({ kind: 'AuthorizationPolicy', name: 'ns/deny.all' });
    expect(parseControlSpec('ns/')).toHaveProperty('problem');
  });
});

describe('expect on the command line', () => {
  it('meshrange run exits 2 on an unknown control kind, at file:line:col with the kinds, and runs nothing', async () => {
    const dir = mkdtempSync(path.join(process.cwd(), 'test', '.tmp-expect-'));
    try {
      const file = path.join(dir, 'typo.yaml');
      writeFileSync(file, text('    - id: s1\n      action: request\n      to: "details:9080"\n      expect: { outcome: blocked, stoppedBy: PeerAuthentications }\n')
        .replace('manifests: [x]', 'manifests: [../../scenarios/meshes/bookinfo]').replace('legacy/old', 'bookinfo/productpage-v1'));
      const rel = path.relative(process.cwd(), file);
      const r = await cli('run', rel, '--check');
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toContain(`${rel}:11:46: error [expect-unknown-control] expect.stoppedBy: "PeerAuthentications" is not a control kind`);
      expect(r.err).toContain('fix: name a control kind (NetworkPolicy, PeerAuthentication,');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('baseline and shards', () => {
  it('a shard compares only its own scenarios of the baseline: the others are not run by it, not removed', async () => {
    const r = await run('    - { id: s1, action: request, to: "server.b:80", expect: blocked }\n');
    const other = ['x-0', 'x-1', 'x-2', 'x-3'].find((n) => shardOf(n, 2) !== shardOf('t', 2)) as string;
    const mine = ['y-0', 'y-1', 'y-2', 'y-3'].find((n) => shardOf(n, 2) === shardOf('t', 2)) as string;
    const saved = (name: string): Record<string, unknown> => ({ scenario: name, steps: [{ id: 's1', action: 'request', attack: true, outcome: 'allowed', stoppedBy: [] }], traffic: [] });
    const issues = new IssueList();
    const b = readBaseline('b.json', JSON.stringify([saved('t'), saved(other), saved(mine)]), issues);
    expect(issues.errors).toEqual([]);
    const { notRun } = attachBaseline([r], b as NonNullable<typeof b>, (n) => shardOf(n, 2) === shardOf('t', 2));
    expect(notRun).toEqual([mine]);
    expect(r.baseline?.improvements.map((c) => c.step)).toEqual(['s1']);
    expect(r.baseline?.removed).toEqual([]);
  });
});
