/**
 * Duplicate mapping keys are an error, at the key, "Map keys must be unique",
 * as the yaml package's `uniqueKeys: true` reports them; but that check is
 * quadratic in a mapping's size (40,000 keys took 18 s to load), so the loader
 * asks the package not to check and finds them itself in one pass
 * (src/loader/yaml-source.ts duplicateKeys). Pinned against the package's own
 * check, on crafted and random documents: the same errors, in the same order,
 * at the same places, and the same values where there is none.
 */
import fc from 'fast-check';
import { LineCounter, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { parseYaml, streamYaml } from '../../src/loader/yaml-source.js';

/** What the loader reported before: the package with uniqueKeys, each error's first line at its position. */
function reference(text: string): { errors: { message: string; line: number; col: number }[]; values: unknown[] } {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, merge: true, lineCounter: lc });
  const list = Array.isArray(docs) ? docs : [];
  const errors: { message: string; line: number; col: number }[] = [];
  const values: unknown[] = [];
  for (const d of list) {
    for (const e of d.errors) {
      const p = lc.linePos(e.pos[0]);
      errors.push({ message: (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, ''), line: p.line, col: p.col });
    }
    if (d.errors.length === 0 && d.contents !== null) {
      try {
        const v = d.toJS({ maxAliasCount: 100 });
        if (v !== null && v !== undefined) values.push(v);
      } catch { /* reported by the loader as yaml-merge / yaml-alias, not a syntax error */ }
    }
  }
  return { errors, values };
}

function loader(text: string, keep: boolean): { errors: { message: string; line: number; col: number }[]; values: unknown[] } {
  const issues = new IssueList();
  const docs = keep ? parseYaml('f.yaml', text, issues) : [...streamYaml('f.yaml', text, issues, { keepNodes: false })];
  return {
    errors: issues.items.filter((i) => i.code === 'yaml-syntax').map((i) => ({ message: i.message, line: i.loc?.line ?? 0, col: i.loc?.col ?? 0 })),
    values: docs.map((d) => d.value),
  };
}

function same(text: string): void {
  const want = reference(text);
  for (const keep of [true, false]) {
    const got = loader(text, keep);
    expect(got.errors, `${keep ? 'parseYaml' : 'streamYaml'}:\n${text}`).toEqual(want.errors);
    expect(got.values, `${keep ? 'parseYaml' : 'streamYaml'}:\n${text}`).toEqual(want.values);
  }
}

const CRAFTED = [
  'a: 1\na: 2\n',
  'a: 1\nb: 2\na: 3\nb: 4\n',
  'a: 1\n"a": 2\n',
  "a: 1\n'a': 2\n",
  '1: x\n"1": y\n',
  '1: x\n01: y\n',
  '1: x\n0x1: y\n',
  '.nan: x\n.nan: y\n',
  'null: x\n~: y\n',
  'true: x\nTrue: y\n',
  '!!str a: 1\na: 2\n',
  '&k a: 1\na: 2\n',
  '{a: 1, a: 2}\n',
  'x: {a: 1, b: {c: 1, c: 2}, a: 3}\n',
  'x:\n  - a: 1\n    a: 2\n  - [b: 1, b: 2]\n',
  '? a\n: 1\n? a\n: 2\n',
  '? [a]\n: 1\n? [a]\n: 2\n',
  '? {k: 1, k: 2}\n: v\n',
  'base: &b {x: 1}\nm:\n  <<: *b\n  <<: *b\n',
  'a: 1\na: 2\nb: [1\n',
  'a: 1\n---\nb: 1\nb: 2\n---\nc: 3\n',
  'a: 1\n  b: 2\na: 3\n',
  'a: x\n: y\n: z\n',
  // with syntax errors around them
  '{a: 1, a: [1, }\n',
  'a: 1\na: 2\n b: 3\n',
  '{a: {b: 1, b: 2}, a: 1, c: [1\n',
  'x: {a: 1, a: 2\ny: 1\ny: 2\n',
  '"a": 1\n"a: 2\n',
];

describe('duplicate mapping keys (loader/yaml-source.ts duplicateKeys)', () => {
  it('reports every crafted duplicate as the package\'s uniqueKeys does: message, line, column, order, and the same values otherwise', () => {
    for (const t of CRAFTED) same(t);
  });

  it('agrees with the package\'s check on random mappings of look-alike keys, block and flow, nested', () => {
    const key = fc.constantFrom('a', 'b', '"a"', "'b'", '1', '"1"', '01', '.nan', '~', 'null', 'true', 'True', '!!str a', '&x b', '? a');
    const flat = fc.array(fc.tuple(key, fc.constantFrom('1', 'x', '{}', '[]', '{a: 1, a: 2}', '[c: 1]')), { minLength: 1, maxLength: 6 });
    const block = flat.map((kvs) => kvs.map(([k, v]) => (k.startsWith('?') ? `${k}\n: ${v}\n` : `${k}: ${v}\n`)).join(''));
    const flow = flat.map((kvs) => `{${kvs.filter(([k]) => !k.startsWith('?')).map(([k, v]) => `${k}: ${v}`).join(', ')}}\n`);
    const nested = fc.tuple(block, block).map(([a, b]) => `top:\n${a.split('\n').filter(Boolean).map((l) => `  ${l}`).join('\n')}\nother:\n${b.split('\n').filter(Boolean).map((l) => `  ${l}`).join('\n')}\n`);
    fc.assert(fc.property(fc.oneof(block, flow, nested), (t) => { same(t); }), { numRuns: 400, seed: 13 });
  });

  it('finds the duplicate among 40,000 keys of one mapping in linear time (the package\'s own check took 18 s)', () => {
    const keys = Array.from({ length: 40_000 }, (_, i) => `  k${i}: v${i}\n`).join('');
    // a comment after content sends the file to the package (the fast reader refuses it)
    const text = `kind: ConfigMap # big\ndata:\n${keys}  k7: again\n`;
    const issues = new IssueList();
    const t0 = performance.now();
    const docs = parseYaml('big.yaml', text, issues);
    const ms = performance.now() - t0;
    expect(docs).toEqual([]);
    expect(issues.items.map((i) => [i.code, i.message, i.loc?.line, i.loc?.col])).toEqual([['yaml-syntax', 'Map keys must be unique', 40_003, 3]]);
    // a bound no linear pass misses and the quadratic check (18 s) never meets
    expect(ms).toBeLessThan(6_000);
  });
});
