/** Saved reports are hostile input: problems are located from one parse per file and capped; shards and flows are checked. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { MAX_ISSUES_PER_FILE, MAX_LOCATED_CHARS, MAX_REPORT_BYTES, readBaseline, ReportProblems } from '../../src/assess/baseline.js';
import { MAX_FILE_BYTES, readSource } from '../../src/cli/fs.js';
import { readReportFile } from '../../src/cli/report-input.js';
import { mergeShardReports } from '../../src/suite/merge.js';
import { shardOf } from '../../src/suite/shard.js';
import { cli } from '../cli/harness.js';

let tmp: string;
beforeAll(() => { tmp = mkdtempSync(path.join(os.tmpdir(), 'meshrange-hostile-')); });
afterAll(() => { rmSync(tmp, { recursive: true, force: true }); });

const FIX = 'give a report';
/** 1,000 objects, none a scenario: 3 schema problems each. */
const hostile = JSON.stringify(Array.from({ length: 1000 }, () => ({ pad: 'x'.repeat(100) })));

/** The smallest scenario object merge accepts, in shard `index` of `count`. */
function shardObject(scenario: string, index: number, count: number, position: number, total: number): Record<string, unknown> {
  return { scenario, file: `${scenario}.yaml`, seed: 1, verdict: 'contained', expectations: { passed: 0, failed: 0 }, fingerprint: 'f',
    steps: [], traffic: [], controls: [], warnings: [], shard: { index, count, position, total } };
}

describe('a hostile report file is refused quickly', () => {
  it('a 1,000-object report is refused with at most 20 located problems and one "… and N more" line, from one locating parse', () => {
    const issues = new IssueList();
    const problems = new ReportProblems('bad.json', hostile, issues, FIX);
    expect(readBaseline('bad.json', hostile, issues, problems)).toBeNull();
    expect(issues.errors.length).toBeLessThanOrEqual(MAX_ISSUES_PER_FILE + 1);
    expect(issues.errors.length).toBe(21);
    expect(problems.parses).toBe(1);
    expect(problems.problems).toBe(3000);
    expect(issues.errors[20]?.message).toBe('… and 2980 more problems in bad.json');
    // the first problems are still located at their value (line 1, a column past the start)
    expect(issues.errors[1]?.loc?.col).toBeGreaterThan(1);
  });

  it('merge refuses the same 1,000-object report with one message (no object has a shard), and 1,000 bad shard objects with at most 21', () => {
    const issues = new IssueList();
    expect(mergeShardReports([{ file: 'bad.json', text: hostile }], issues)).toBeNull();
    expect(issues.errors.map((e) => e.code)).toEqual(['merge-not-a-shard']);
    const shards = new IssueList();
    const bad = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ scenario: `s${i}`, pad: 'x'.repeat(100), shard: 'x' })));
    expect(mergeShardReports([{ file: 'bad.json', text: bad }], shards)).toBeNull();
    expect(shards.errors.length).toBe(21);
    expect(shards.errors.at(-1)?.message).toMatch(/^… and \d+ more problems in bad\.json$/);
  });

  it('a report over MAX_LOCATED_CHARS is never read as YAML to locate a problem: line 1, the path in the message (a 4 MB one took 2 GB)', () => {
    const issues = new IssueList();
    const big = JSON.stringify([{ scenario: 's', steps: [], traffic: [], pad: 'x'.repeat(MAX_LOCATED_CHARS) }, { scenario: 5, steps: [], traffic: [] }]);
    const problems = new ReportProblems('big.json', big, issues, FIX);
    expect(readBaseline('big.json', big, issues, problems)).toBeNull();
    expect(problems.parses).toBe(0);
    expect(issues.errors.map((e) => [e.loc?.line, e.loc?.col])).toEqual([[1, 1]]);
    expect(issues.errors[0]?.message).toMatch(/\[1\]\.scenario/);
  });

  it('a report with no problem is never parsed to locate anything', () => {
    const issues = new IssueList();
    const text = JSON.stringify([{ scenario: 's', steps: [], traffic: [] }]);
    const problems = new ReportProblems('ok.json', text, issues, FIX);
    expect(readBaseline('ok.json', text, issues, problems)).not.toBeNull();
    expect(problems.parses).toBe(0);
  });
});

describe('readBaseline refuses duplicate flows', () => {
  it('two flows with the same (scenario, from, to) are refused at the second, file:line:col', () => {
    const flow = { from: 'a', to: 'b', sent: 10, ok: 10 };
    const text = JSON.stringify({ scenario: 's', steps: [], traffic: [flow, { ...flow, ok: 0 }] }, null, 2);
    const issues = new IssueList();
    expect(readBaseline('dup.json', text, issues)).toBeNull();
    expect(issues.errors).toHaveLength(1);
    const e = issues.errors[0];
    expect(e?.code).toBe('report-duplicate-flow');
    expect(e?.message).toContain('two traffic flows a → b');
    expect(e?.loc?.file).toBe('dup.json');
    expect(e?.loc?.line).toBe(11); // the second flow's opening brace
  });
});

describe('merge checks each scenario belongs to its shard', () => {
  // a name whose shard of 2 is 1, said to be in shard 2
  const name = ['alpha', 'beta', 'gamma', 'delta'].find((n) => shardOf(n, 2) === 1) as string;

  it('a scenario that says it is in a shard its name does not hash to is refused, naming the scenario and both shards', () => {
    const issues = new IssueList();
    const text = JSON.stringify([shardObject(name, 2, 2, 0, 1)], null, 2);
    expect(mergeShardReports([{ file: 'other.json', text }], issues)).toBeNull();
    expect(issues.errors).toHaveLength(1);
    expect(issues.errors[0]?.code).toBe('merge-wrong-shard');
    expect(issues.errors[0]?.message).toContain(`scenario "${name}" says it is in shard 2/2, but it belongs to shard 1/2`);
    expect(issues.errors[0]?.loc?.line).toBeGreaterThan(1);
  });

  it('the same scenario in its own shard merges', () => {
    const issues = new IssueList();
    const text = JSON.stringify([shardObject(name, 1, 2, 0, 1)]);
    expect(mergeShardReports([{ file: 'mine.json', text }], issues)).not.toBeNull();
    expect(issues.errors).toHaveLength(0);
  });

  it('meshrange merge of a report of another suite exits 2', async () => {
    const file = path.join(tmp, 'other.json');
    writeFileSync(file, JSON.stringify([shardObject(name, 2, 2, 0, 1)], null, 2));
    const r = await cli('merge', file);
    expect(r.code).toBe(2);
    expect(r.err).toContain('merge-wrong-shard');
    expect(r.err).toContain(name);
  });
});

describe('run --baseline lists flows on one side only', () => {
  const FLOOD = 'scenarios/flood-rate-limited.yaml';

  it('a flow only this run has is trafficAdded and one only the baseline has is trafficRemoved, in text and JSON', async () => {
    const r0 = await cli('run', FLOOD, '--format', 'json');
    expect(r0.code, r0.err).toBe(0);
    const saved = JSON.parse(r0.out) as { traffic: { from: string; to: string; sent: number; ok: number }[] };
    const flow = saved.traffic[0];
    if (!flow) throw new Error('the flood scenario has no traffic');
    const base = structuredClone(saved);
    base.traffic[0] = { ...flow, to: 'ghost:80', sent: 5, ok: 5 };
    const file = path.join(tmp, 'flows.json');
    writeFileSync(file, JSON.stringify(base));
    const j = await cli('run', FLOOD, '--baseline', file, '--format', 'json');
    expect(j.code, j.err).toBe(0);
    const b = (JSON.parse(j.out) as { baseline: { trafficAdded: unknown[]; trafficRemoved: unknown[] } }).baseline;
    expect(b.trafficAdded).toEqual([{ scenario: 'flood-rate-limited', from: flow.from, to: flow.to, sent: flow.sent, ok: flow.ok }]);
    expect(b.trafficRemoved).toEqual([{ scenario: 'flood-rate-limited', from: flow.from, to: 'ghost:80', sent: 5, ok: 5 }]);
    const t = await cli('run', FLOOD, '--baseline', file);
    expect(t.out).toContain('1 flow added, 1 flow removed');
    expect(t.out).toContain(`added traffic ${flow.from} → ${flow.to} (${flow.ok}/${flow.sent} ok)`);
    expect(t.out).toContain(`removed traffic ${flow.from} → ghost:80 (was 5/5 ok)`);
  });

  it('a baseline with two flows of one (scenario, from, to) exits 2 at file:line:col', async () => {
    const f = { from: 'bookinfo/productpage-v1', to: 'reviews:9080', sent: 1, ok: 1 };
    const file = path.join(tmp, 'dup-flow.json');
    writeFileSync(file, JSON.stringify({ scenario: 'flood-rate-limited', steps: [], traffic: [f, f] }, null, 2));
    const r = await cli('run', FLOOD, '--baseline', file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/dup-flow\.json:\d+:\d+: error \[report-duplicate-flow\]/);
    expect(r.out).toBe('');
  });
});

describe('a report file is read by fs.ts readSource with the report limit', () => {
  it('readSource refuses a file over the limit it is given, and a report over the 8 MiB manifest limit is still read', () => {
    const small = path.join(tmp, 'eleven.json');
    writeFileSync(small, '["123456789"]');
    const issues = new IssueList();
    expect(readSource(small, issues, undefined, { limit: 10 })).toBeNull();
    expect(issues.errors[0]?.code).toBe('file-too-large');
    const big = path.join(tmp, 'big.json');
    writeFileSync(big, JSON.stringify(['x'.repeat(MAX_FILE_BYTES + 10)]));
    const none = new IssueList();
    expect(readSource(big, none)).toBeNull();
    const ok = new IssueList();
    expect(readReportFile(big, ok, 'a report')?.text.length).toBe(MAX_FILE_BYTES + 14);
    expect(ok.errors).toEqual([]);
    expect(MAX_REPORT_BYTES).toBeGreaterThan(MAX_FILE_BYTES);
  });
});
