/** --shard i/n and meshrange merge (issue 13 item 5): shards merged equal the single run, byte for byte. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fnv1a32, parseShard, shardOf } from '../../src/suite/shard.js';
import { cli } from '../cli/harness.js';

/** A handful of shipped scenarios, spread over the three shards of 3 (shardOf pins which). */
const SUITE = ['impersonate-header-rule', 'strict-backend-namespace', 'workload-peerauth-override', 'root-namespace-mesh-policy', 'tcp-deny-http-fields']
  .map((n) => `scenarios/${n}.yaml`);

let tmp: string;
const out = (name: string): string => path.join(tmp, name);
const read = (name: string): string => readFileSync(out(name), 'utf8');

beforeAll(() => { tmp = mkdtempSync(path.join(os.tmpdir(), 'meshrange-shards-')); });
afterAll(() => { rmSync(tmp, { recursive: true, force: true }); });

describe('shard partition', () => {
  it('is FNV-1a (32 bits) of the scenario name mod n, 1-based', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(shardOf('strict-backend-namespace', 3)).toBe(3);
    expect(shardOf('workload-peerauth-override', 3)).toBe(2);
    expect(shardOf('impersonate-header-rule', 3)).toBe(1);
  });

  it('adding a scenario never moves another: a shard depends on the name and n only', () => {
    const names = Array.from({ length: 200 }, (_, i) => `scenario-${i}`);
    const before = new Map(names.map((n) => [n, shardOf(n, 7)]));
    const grown = [...names, 'a-new-one', 'another'];
    for (const n of grown) if (before.has(n)) expect(shardOf(n, 7)).toBe(before.get(n));
    expect(new Set(names.map((n) => shardOf(n, 7))).size).toBe(7);
  });

  it('refuses i/n that is not 1 ≤ i ≤ n ≤ 1024', () => {
    for (const bad of ['0/3', '4/3', '1/0', 'a/b', '1/2/3', '-1/3', '01/3', '1/5000', '', '1.5/3']) expect(parseShard(bad)).toHaveProperty('problem');
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
  });

  it('run --shard with nonsense exits 2 with a message and runs nothing', async () => {
    const r = await cli('run', SUITE[0] as string, '--shard', '4/3');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--shard 4/3: shard 4 of 3 does not exist');
    expect(r.out).toBe('');
  });
});

describe('shards merged equal a single run', () => {
  it('JSON, JUnit and SARIF of the merge are the single run\'s, byte for byte; each shard records its shard', async () => {
    const single = await cli('run', ...SUITE, '--format', 'json', '--report', `junit=${out('all.xml')}`, '--report', `sarif=${out('all.sarif')}`);
    expect(single.code, single.err).toBe(0);
    writeFileSync(out('all.json'), single.out);
    const shards: string[] = [];
    for (const i of [1, 2, 3]) {
      const r = await cli('run', ...SUITE, '--shard', `${i}/3`, '--report', `json=${out(`s${i}.json`)}`, '--format', 'json');
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain(`note: shard ${i}/3:`);
      const doc = JSON.parse(read(`s${i}.json`)) as { shard: unknown } | { shard: unknown }[];
      for (const o of Array.isArray(doc) ? doc : [doc]) expect(o.shard).toMatchObject({ index: i, count: 3, total: SUITE.length });
      shards.push(out(`s${i}.json`));
    }
    // Given in any order, the merge puts the scenarios back in the order of the single run.
    const merged = await cli('merge', shards[2] as string, shards[0] as string, shards[1] as string,
      '--report', `junit=${out('m.xml')}`, '--report', `sarif=${out('m.sarif')}`);
    expect(merged.code, merged.err).toBe(0);
    expect(merged.out).toBe(single.out);
    expect(read('m.xml')).toBe(read('all.xml'));
    expect(read('m.sarif')).toBe(read('all.sarif'));
    const sarif = await cli('merge', ...shards, '--format', 'sarif');
    expect(sarif.out).toBe(read('all.sarif'));
  });

  it('an empty shard writes [] and the merge still sees every scenario', async () => {
    const empty = await cli('run', SUITE[1] as string, '--shard', '1/3', '--format', 'json');
    expect(empty.code, empty.err).toBe(0);
    expect(empty.out).toBe('[]\n');
    writeFileSync(out('e1.json'), empty.out);
    const r3 = await cli('run', SUITE[1] as string, '--shard', '3/3', '--report', `json=${out('e3.json')}`);
    expect(r3.code, r3.err).toBe(0);
    const merged = await cli('merge', out('e1.json'), out('e3.json'));
    expect(merged.code, merged.err).toBe(0);
    const single = await cli('run', SUITE[1] as string, '--format', 'json');
    expect(merged.out).toBe(single.out);
  });
});

describe('merge refuses what it cannot merge (exit 2, nothing written)', () => {
  it('a missing shard: names the missing positions and the shard with no report', async () => {
    for (const i of [1, 2]) expect((await cli('run', ...SUITE, '--shard', `${i}/3`, '--report', `json=${out(`p${i}.json`)}`)).code).toBe(0);
    const r = await cli('merge', out('p1.json'), out('p2.json'), '--report', `json=${out('never.json')}`);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\[merge-missing\] the reports hold 3 of the suite's 5 scenarios; missing: positions 2, 5; no report holds a scenario of shard 3 of 3/);
    expect(() => readFileSync(out('never.json'))).toThrow();
  });

  it('shards run with different --seed (one with 7, the others with each scenario\'s own): no single run writes that, so merge-other-suite', async () => {
    expect((await cli('run', ...SUITE, '--shard', '3/3', '--seed', '7', '--report', `json=${out('q3.json')}`)).code).toBe(0);
    const r = await cli('merge', out('p1.json'), out('p2.json'), out('q3.json'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\[merge-other-suite\] .* was run with seed (7|each scenario's own), but .* with seed (7|each scenario's own)/);
    // every shard with --seed 7 merges
    for (const i of [1, 2]) expect((await cli('run', ...SUITE, '--shard', `${i}/3`, '--seed', '7', '--report', `json=${out(`q${i}.json`)}`)).code).toBe(0);
    expect((await cli('merge', out('q1.json'), out('q2.json'), out('q3.json'))).code).toBe(0);
  });

  it('an edited shard whose verdict or expectation counts contradict its steps is merge-inconsistent, not carried into the merge', async () => {
    const doc = JSON.parse(read('p1.json')) as Record<string, unknown> | Record<string, unknown>[];
    const list = Array.isArray(doc) ? doc : [doc];
    const breached = list.find((o) => o['verdict'] === 'breached');
    expect(breached, 'a breached scenario in shard 1').toBeDefined();
    (breached as Record<string, unknown>)['verdict'] = 'contained';
    writeFileSync(out('p1-edited.json'), JSON.stringify(doc));
    const r = await cli('merge', out('p1-edited.json'), out('p2.json'), out('q3.json'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\[merge-inconsistent\] .*the verdict is "contained", but attack step ".*" is (allowed|partial): the report was edited/);
  });

  it('the same shard twice: one error for the file (not one per scenario it holds), a copy under another name too', async () => {
    const r = await cli('merge', out('p1.json'), out('p2.json'), out('p1.json'));
    expect(r.code).toBe(2);
    expect(r.err.match(/error \[/g)).toHaveLength(1);
    expect(r.err).toContain(`[merge-duplicate] ${out('p1.json')} is given twice`);
    writeFileSync(out('p1-copy.json'), readFileSync(out('p1.json')));
    const c = await cli('merge', out('p1.json'), out('p1-copy.json'));
    expect(c.err.match(/error \[/g)).toHaveLength(1);
    expect(c.err).toContain(`${out('p1-copy.json')} holds the same report as ${out('p1.json')}`);
  });

  it('a JSON file that is no meshrange report at all (a package.json) is said to be none, once', async () => {
    const r = await cli('merge', 'package.json');
    expect(r.code).toBe(2);
    expect(r.err.match(/error \[/g)).toHaveLength(1);
    expect(r.err).toContain('package.json is not a JSON report of meshrange run: none of its 1 object has a `scenario` field');
  });

  it('a report that is not of run --shard (one error for the file, however many scenarios), or not JSON', async () => {
    writeFileSync(out('plain.json'), (await cli('run', SUITE[1] as string, '--format', 'json')).out);
    const r = await cli('merge', out('plain.json'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/plain\.json:1:1: error \[merge-not-a-shard\] .*plain\.json is not the report of a shard: none of its 1 scenario has a `shard` field/);
    writeFileSync(out('whole.json'), (await cli('run', ...SUITE, '--format', 'json')).out);
    const w = await cli('merge', out('whole.json'));
    expect(w.code).toBe(2);
    expect(w.err.match(/error \[/g)).toHaveLength(1);
    expect(w.err).toContain(`none of its ${SUITE.length} scenarios has a \`shard\` field`);
    writeFileSync(out('broken.json'), '{\n  "scenario": "x",\n  oops\n}\n');
    const b = await cli('merge', out('broken.json'));
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/broken\.json:3:3: error \[report-not-json\]/);
    // a truncated report (an upload cut short) is located where its text ends, not at 1:1
    writeFileSync(out('truncated.json'), '{\n  "scenario": "x",\n  "steps": [');
    const t = await cli('merge', out('truncated.json'));
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/truncated\.json:3:13: error \[report-not-json\] .* Unexpected end of JSON input/);
  });

  it('a __proto__ key or deep nesting in a report', async () => {
    writeFileSync(out('proto.json'), '{"__proto__": {"x": 1}}');
    expect((await cli('merge', out('proto.json'))).err).toContain('"__proto__" cannot be a key in a report');
    writeFileSync(out('deep.json'), `${'['.repeat(5000)}${']'.repeat(5000)}`);
    const d = await cli('merge', out('deep.json'));
    expect(d.code).toBe(2);
    expect(d.err).toContain('nested deeper than 64 levels');
  });
});
