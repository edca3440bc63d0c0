/**
 * The fast reader (src/loader/fast-yaml.ts) must give what the `yaml` package
 * gives, or refuse the file: same values, same document indexes, same
 * locations for every path (through yaml-source.ts streamYaml, which the
 * loader uses, against parseYaml, which keeps the package's nodes).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { fastYaml, resolvePlain } from '../../src/loader/fast-yaml.js';
import { parseYaml, streamYaml, type Path, type SourceDoc } from '../../src/loader/yaml-source.js';
import { renderTopology, toYaml } from '../../src/generate/manifests.js';
import { generateTopology } from '../../src/generate/topology.js';

const root = path.resolve(__dirname, '../..');
const OPTS = { prettyErrors: true, uniqueKeys: true, merge: true } as const;

/** Every path to every node of a value, plus one step past each (a path that does not exist). */
function paths(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(v)) {
    v.forEach((x, i) => paths(x, [...prefix, i], out));
    out.push([...prefix, v.length]);
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
    out.push([...prefix, 'no-such-key']);
  }
  return out;
}

/** streamYaml as the loader calls it (fast when the file allows) against the package's own nodes. */
function sameAsPackage(file: string, text: string): { fast: boolean } {
  const fast = fastYaml(text) !== null;
  const a = new IssueList();
  const b = new IssueList();
  const streamed: SourceDoc[] = [...streamYaml(file, text, a, { keepNodes: false })];
  const kept = parseYaml(file, text, b);
  expect(streamed.map((d) => [d.index, d.value])).toEqual(kept.map((d) => [d.index, d.value]));
  expect(a.items).toEqual(b.items);
  streamed.forEach((d, i) => {
    const k = kept[i] as SourceDoc;
    for (const p of paths(d.value)) {
      expect(d.locate(p), `${file} doc ${i} locate ${JSON.stringify(p)}`).toEqual(k.locate(p));
      expect(d.locateKey(p), `${file} doc ${i} locateKey ${JSON.stringify(p)}`).toEqual(k.locateKey(p));
    }
  });
  return { fast };
}

describe('fast YAML reader (loader/fast-yaml.ts)', () => {
  it('reads every shipped YAML file like the yaml package: values, indexes, every location (or refuses it)', () => {
    const files = execFileSync('git', ['ls-files', '*.yaml', '*.yml'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(files.length).toBeGreaterThan(50);
    let fast = 0;
    for (const f of files) if (sameAsPackage(f, readFileSync(path.join(root, f), 'utf8')).fast) fast++;
    // many shipped files are in the subset (comments after content and flow lists are not): the fast path is exercised
    expect(fast).toBeGreaterThan(files.length / 4);
  });

  it('reads generated meshes of every profile like the yaml package, and takes every file of them', () => {
    for (const profile of ['open', 'strict', 'segmented'] as const) {
      for (const f of renderTopology(generateTopology({ workloads: 100, profile, seed: 3 })).filter((x) => x.path.endsWith('.yaml'))) {
        expect(sameAsPackage(f.path, f.text).fast, f.path).toBe(true);
      }
    }
  });

  it('resolves plain scalars as the core schema does (null, bool, octal, decimal, hex, inf/nan, floats, strings)', () => {
    const samples = ['~', 'null', 'Null', 'NULL', 'nULL', 'true', 'True', 'TRUE', 'tRUE', 'false', 'no', 'yes', 'on', '0o17', '0o8', '017', '+12', '-0', '0x1F', '0xG',
      '.inf', '-.Inf', '+.INF', '.nan', '.NaN', '1e3', '1.5e-3', '.5', '5.', '1.27', '10.0.0.1', '1_000', '12345678901234567890', 'v1', '8080', '-1', 'x:y'];
    for (const s of samples) expect(Object.is(resolvePlain(s), parse(`k: ${s}`).k) || resolvePlain(s) === parse(`k: ${s}`).k, s).toBe(true);
    fc.assert(fc.property(fc.stringMatching(/^[-+.0-9a-zA-Z~_][-+.0-9a-zA-Z_ ]{0,12}[-+.0-9a-zA-Z_]$/), (s) => {
      const text = `k: ${s}\n`;
      const docs = fastYaml(text);
      if (docs === null) return;
      const want = (parseAllDocuments(text, OPTS) as ReturnType<typeof parseAllDocuments> & unknown[])[0]?.toJS();
      expect(docs[0]?.value).toEqual(want);
    }), { numRuns: 500 });
  });

  it('reads random manifests-like documents like the yaml package, written by toYaml and by yaml stringify', () => {
    const key = fc.oneof(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_./-]{0,10}$/), fc.constantFrom('8080', '9', 'true', 'null', 'on'));
    const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null),
      fc.constantFrom('a: b', '#x', "it's", '"q"', '- x', '[]', '{}', '~', '0o7', '.inf', 'x #y', ' lead', 'trail '));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('list'), tie('map')),
      list: fc.array(tie('node'), { maxLength: 4 }),
      map: fc.dictionary(key, tie('node'), { maxKeys: 4 }),
    })).map;
    fc.assert(fc.property(fc.array(value, { minLength: 1, maxLength: 3 }), (docs) => {
      const nonEmpty = docs.filter((d) => Object.keys(d).length > 0);
      sameAsPackage('gen.yaml', toYaml(nonEmpty));
      sameAsPackage('str.yaml', nonEmpty.map((d) => stringify(d)).join('---\n'));
    }), { numRuns: 300 });
  });

  it('refuses what it does not read, so the yaml package reads it (and reports its errors)', () => {
    const refused = [
      'a:\tb\n', 'a: b\r\n', 'a: &x 1\nb: *x\n', 'a: |\n  text\n', 'a: >\n  text\n', 'a: {b: 1}\n', 'a: [1, 2]\n', 'a: 1\na: 2\n',
      'a: one\n  two\n', 'a: "x\n  y"\n', '"a": 1\n', '<<: {b: 1}\n', '__proto__: 1\n', '- a\n', '  a: 1\n', 'a: 1 # c\n', '%YAML 1.2\n---\na: 1\n',
      'a: 1\n...\n', '--- a: 1\n', `a: ${'1'.repeat(70)}\n`, 'a: !!str 1\n', 'a:\n  - - x\n', 'a: b: c\n', 'a: -\n', '\uFEFFa: 1\n', 'a: x\u0085y\n', 'a: "\\x41"\n',
    ];
    for (const t of refused) {
      expect(fastYaml(t), JSON.stringify(t)).toBeNull();
      sameAsPackage('r.yaml', t);
    }
  });

  it('counts documents as the package does: a leading comment block is not one, an empty one after --- is', () => {
    for (const t of ['a: 1\n', '---\na: 1\n', '# c\n---\na: 1\n', 'a: 1\n---\n', 'a: 1\n---\n---\nb: 2\n', '# only\n', '', '\n\n', 'a: 1\n---\n# c\nb: 2\n']) {
      const docs = fastYaml(t);
      expect(docs, JSON.stringify(t)).not.toBeNull();
      const pkg = parseAllDocuments(t, OPTS) as unknown as { contents: { range: number[] } | null; toJS(): unknown }[];
      const nonEmpty = pkg.map((d, i) => ({ i, v: d.toJS(), start: d.contents?.range[0] })).filter((d) => d.v !== null);
      expect(docs?.map((d) => ({ i: d.position, v: d.value, start: d.start }))).toEqual(nonEmpty);
      sameAsPackage('d.yaml', t);
    }
  });

  it('reads a file of more lines than its reused line tables keep (70,000), and the small file after it, like the package', () => {
    // the line tables are typed arrays reused from file to file, grown for a long file and dropped after it
    const doc = (i: number): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n  namespace: ns-${i % 7}\ndata:\n  key: value-${i}\n`;
    const big = Array.from({ length: 10_000 }, (_, i) => doc(i)).join('---\n');
    expect(big.split('\n').length).toBeGreaterThan(70_000);
    const docs = fastYaml(big);
    expect(docs).not.toBeNull();
    expect(docs?.map((d) => d.value)).toEqual(parseAllDocuments(big).map((d) => d.toJS()));
    expect(docs?.[9_999]?.start).toBe(big.lastIndexOf('apiVersion'));
    sameAsPackage('small.yaml', doc(1) + '---\n' + doc(2));
    // one document longer than the content-line table keeps, then a small one
    // (the value written out, not the package's: its duplicate-key check is quadratic, ~50 s for 66,000 keys)
    const long = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: long\ndata:\n${Array.from({ length: 66_000 }, (_, i) => `  k${i}: v${i}\n`).join('')}`;
    const data = Object.fromEntries(Array.from({ length: 66_000 }, (_, i) => [`k${i}`, `v${i}`]));
    expect(fastYaml(long)?.[0]?.value).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'long' }, data });
    sameAsPackage('small.yaml', doc(3));
  });
});
