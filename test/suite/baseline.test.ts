/** run --baseline FILE (issue 11 item 3, product.md §4): regressions and improvements against a saved JSON report. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIssue, IssueList } from '../../src/core/issues.js';
import { readBaseline } from '../../src/assess/baseline.js';
import { cli } from '../cli/harness.js';

const SCENARIO = 'scenarios/workload-peerauth-override.yaml';
let tmp: string;
let saved: { steps: { id: string; outcome: string; attack: boolean; stoppedBy: unknown[] }[] } & Record<string, unknown>;
const out = (name: string): string => path.join(tmp, name);

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'meshrange-baseline-'));
  const r = await cli('run', SCENARIO, '--format', 'json');
  expect(r.code, r.err).toBe(0);
  saved = JSON.parse(r.out) as typeof saved;
});
afterAll(() => { rmSync(tmp, { recursive: true, force: true }); });

/** The saved report with one step's outcome rewritten, as if an earlier run had seen it so. */
function baselineWith(step: string, outcome: string): string {
  const copy = structuredClone(saved);
  const s = copy.steps.find((x) => x.id === step);
  if (!s) throw new Error(`no step ${step}`);
  s.outcome = outcome;
  const file = out(`${step}-${outcome}.json`);
  writeFileSync(file, `${JSON.stringify([copy], null, 2)}\n`);
  return file;
}

describe('run --baseline', () => {
  it('a step that went from blocked to allowed is a regression: listed in text, JSON and SARIF, exit 1 with --check', async () => {
    const file = baselineWith('plaintext-to-api', 'blocked');
    const check = await cli('run', SCENARIO, '--baseline', file, '--check', '--report', `json=${out('r.json')}`, '--report', `sarif=${out('r.sarif')}`);
    expect(check.code).toBe(1);
    expect(check.out).toContain('REGRESSION plaintext-to-api: blocked → allowed');
    expect(check.out).toContain('1 regression, 0 improvements');
    const json = JSON.parse(readFileSync(out('r.json'), 'utf8')) as { baseline: Record<string, { step: string }[] | string> };
    expect(json.baseline['file']).toBe(file);
    expect((json.baseline['regressions'] as { step: string }[]).map((c) => c.step)).toEqual(['plaintext-to-api']);
    for (const k of ['improvements', 'changed', 'added', 'removed']) expect(json.baseline[k]).toEqual([]);
    const sarif = JSON.parse(readFileSync(out('r.sarif'), 'utf8')) as { runs: { results: { ruleId: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[] };
    const reg = sarif.runs[0]?.results.filter((r) => r.ruleId === 'meshrange/baseline-regression') ?? [];
    expect(reg).toHaveLength(1);
    const line = readFileSync(SCENARIO, 'utf8').split('\n').findIndex((l) => l.includes('- id: plaintext-to-api')) + 1;
    expect(reg[0]?.locations[0]?.physicalLocation.region.startLine).toBe(line);
    expect((await cli('run', SCENARIO, '--baseline', file)).code, 'without --check a regression is reported, not failed').toBe(0);
  });

  it('a step that went from allowed to blocked is an improvement, and --check passes', async () => {
    const file = baselineWith('plaintext-to-db', 'allowed');
    const r = await cli('run', SCENARIO, '--baseline', file, '--check', '--format', 'json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { baseline: { improvements: { step: string; before: string; after: string }[]; regressions: unknown[] } };
    expect(json.baseline.improvements).toMatchObject([{ step: 'plaintext-to-db', before: 'allowed', after: 'blocked' }]);
    expect(json.baseline.regressions).toEqual([]);
  });

  it('a legitimate step the baseline saw blocked and now allowed is an other change, never a regression', async () => {
    // web-to-api-over-mtls runs from: frontend/web, not the foothold: legitimate traffic
    const file = baselineWith('web-to-api-over-mtls', 'blocked');
    const r = await cli('run', SCENARIO, '--baseline', file, '--check', '--format', 'json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { baseline: { regressions: unknown[]; improvements: unknown[]; changed: { step: string; kind: string }[] } };
    expect(j.baseline.regressions).toEqual([]);
    expect(j.baseline.changed).toMatchObject([{ step: 'web-to-api-over-mtls', kind: 'changed' }]);
    const text = await cli('run', SCENARIO, '--baseline', file);
    expect(text.out).toContain('0 regressions, 0 improvements, 1 other change');
    expect(text.out).toContain('changed web-to-api-over-mtls: blocked → allowed');
  });

  it('steps and scenarios only on one side are listed, never dropped', async () => {
    const copy = structuredClone(saved);
    copy.steps[0]!.id = 'renamed';
    writeFileSync(out('renamed.json'), JSON.stringify([copy, { ...structuredClone(saved), scenario: 'gone' }]));
    const r = await cli('run', SCENARIO, '--baseline', out('renamed.json'), '--format', 'json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { baseline: { added: { step: string }[]; removed: { step: string }[] } };
    expect(json.baseline.added.map((s) => s.step)).toEqual([saved.steps[0]?.id]);
    expect(json.baseline.removed.map((s) => s.step)).toEqual(['renamed']);
    expect(r.err).toContain('note: 1 scenario of the baseline was not run, so not compared: gone');
  });

  it('a baseline that is not a report exits 2 at its file:line:col, and nothing runs', async () => {
    writeFileSync(out('bad-outcome.json'), JSON.stringify(saved, null, 2).replace('"outcome": "allowed"', '"outcome": "maybe"'));
    const r = await cli('run', SCENARIO, '--baseline', out('bad-outcome.json'), '--report', `json=${out('never.json')}`);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad-outcome\.json:\d+:\d+: error \[report-invalid\] steps\[0\]\.outcome: /);
    expect(r.out).toBe('');
    expect(() => readFileSync(out('never.json'))).toThrow();
    expect((await cli('run', SCENARIO, '--baseline', out('missing.json'))).code).toBe(2);
    writeFileSync(out('bin.json'), Buffer.from([0x7b, 0, 0x7d]));
    expect((await cli('run', SCENARIO, '--baseline', out('bin.json'))).err).toContain('binary');
  });
});

describe('readBaseline', () => {
  const read = (text: string): string[] => {
    const issues = new IssueList();
    readBaseline('b.json', text, issues);
    return issues.errors.map(formatIssue);
  };

  it('reads one scenario object or an array of them into outcome records', () => {
    const issues = new IssueList();
    const b = readBaseline('b.json', JSON.stringify(saved), issues);
    expect(issues.errors).toEqual([]);
    expect(b?.scenarios).toEqual(['workload-peerauth-override']);
    expect(b?.steps.map((s) => s.step)).toEqual(saved.steps.map((s) => s.id));
  });

  it('refuses two scenarios of one name and two steps of one id, located', () => {
    expect(read(JSON.stringify([saved, saved]))[0]).toContain('[report-duplicate-scenario]');
    const twice = structuredClone(saved);
    twice.steps[1]!.id = twice.steps[0]!.id;
    expect(read(JSON.stringify(twice, null, 2))[0]).toMatch(/b\.json:\d+:\d+: error \[report-duplicate-step\]/);
  });

  it('refuses a number, null and a string as a report', () => {
    for (const t of ['3', 'null', '"x"']) expect(read(t)[0]).toContain('[report-invalid]');
  });
});
