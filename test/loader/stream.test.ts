/**
 * The loader reads a file document by document and lets each document's YAML
 * nodes go once it is read (yaml-source.ts streamYaml, load.ts manifests), so
 * a 10,000-policy file is never held as 10,000 node trees. What must not
 * change: every location, every message and the order of the issues.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { parseYaml, streamYaml, type Path } from '../../src/loader/yaml-source.js';

const policy = (i: number, extra = ''): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: p${i}
  namespace: ns${i % 7}
spec:
  selector:
    matchLabels: { app: a${i} }
  rules:
    - to:
        - operation: { paths: ["/api/${i}/*"], methods: [GET]${extra} }
`;

/** `n` documents, one-line ConfigMaps (read, inert) but for the one at `bad` (0-based): a policy with `extra` in its operation. */
function manyDocuments(n: number, bad: number, extra: string): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) docs.push(i === bad ? policy(i, extra) : `{apiVersion: v1, kind: ConfigMap, metadata: {name: c${i}, namespace: ns${i % 7}}}\n`);
  return docs.join('---\n');
}

describe('streamed loading keeps every location', () => {
  it('an error in the 7,000th document still names its line and column', () => {
    const text = manyDocuments(7500, 6999, ', ports: ["http"]');
    const { issues } = loadMesh([{ path: 'big.yaml', text }]);
    const errs = issues.errors;
    expect(errs.map((e) => e.code)).toEqual(['ap-bad-port']);
    const line = text.split('\n').findIndex((l) => l.includes('"http"')) + 1;
    expect(line).toBeGreaterThan(7000);
    const col = (text.split('\n')[line - 1] as string).indexOf('"http"') + 1;
    expect(errs[0]?.loc).toEqual({ file: 'big.yaml', line, col });
    expect(errs[0]?.message).toContain('AuthorizationPolicy ns6/p6999');
  });

  it('a location asked after the stream moved on (nodes let go) equals the one parseYaml gives with its nodes kept', () => {
    // an empty document and one with a syntax error in the middle: neither is a SourceDoc, so the stream's positions and the documents' indexes differ
    const text = [policy(1), 'a: [1, 2, {b: 3}]\n', 'bad: [1,\n', policy(2, ', hosts: [x]'), '', policy(3)].join('---\n');
    const kept = parseYaml('f.yaml', text, new IssueList());
    const streamed = [...streamYaml('f.yaml', text, new IssueList(), { keepNodes: false })];
    expect(streamed.map((d) => d.index)).toEqual(kept.map((d) => d.index));
    const paths: Path[] = [[], ['metadata', 'name'], ['spec', 'rules', 0, 'to', 0, 'operation', 'paths', 0], ['spec', 'rules', 0, 'to', 0, 'operation', 'hosts'],
      ['spec', 'nope', 3], ['a', 2, 'b'], ['a', 1], ['metadata']];
    streamed.forEach((d, i) => {
      for (const p of paths) {
        expect(d.locate(p), `doc ${i} ${p.join('.')}`).toEqual(kept[i]?.locate(p));
        expect(d.locateKey(p), `doc ${i} key ${p.join('.')}`).toEqual(kept[i]?.locateKey(p));
      }
      expect(d.value).toEqual(kept[i]?.value);
    });
  });

  it('YAML problems of a later file are listed before manifest problems of an earlier one, as when every file was parsed first', () => {
    const { issues } = loadMesh([
      { path: 'a.yaml', text: policy(1, ', ports: ["x"]') },
      { path: 'b.yaml', text: 'a: [1, 2\n' },
    ]);
    expect(issues.errors.map((e) => `${e.code} ${e.loc?.file}`)).toEqual(['yaml-syntax b.yaml', 'ap-bad-port a.yaml']);
  });

  it('a syntax error in a middle document names its own line, not a line counted before the rest of the file was read', () => {
    const text = `${policy(1)}---\nkey: [unclosed\n---\n${policy(2)}`;
    const { issues } = loadMesh([{ path: 'm.yaml', text }]);
    const lines = text.split('\n');
    const where = lines.indexOf('key: [unclosed') + 1;
    expect(issues.errors.length).toBeGreaterThan(0);
    for (const e of issues.errors) {
      expect(e.code).toBe('yaml-syntax');
      expect(e.loc?.line).toBeGreaterThanOrEqual(where);
      expect(e.loc?.line).toBeLessThanOrEqual(where + 2);
    }
    const kept = new IssueList();
    parseYaml('m.yaml', text, kept);
    expect(issues.errors).toEqual(kept.errors);
  });
});

describe('a file that is not YAML at all', () => {
  it('gets its first 20 syntax errors and one line saying more follow, each message at most ~200 characters, never the whole file quoted', () => {
    const prose = Array.from({ length: 300 }, (_, i) => `# heading ${i}\n\`\`\`sh\nnpx thing: "a" b: c: [d ${'x'.repeat(500)}\n\`\`\``).join('\n');
    const issues = new IssueList();
    parseYaml('README.md', prose, issues);
    const syntax = issues.errors.filter((i) => i.code === 'yaml-syntax');
    expect(syntax).toHaveLength(21);
    expect(syntax[20]?.message).toBe('more YAML errors follow the first 20; the rest of the file is not read');
    for (const i of syntax) expect(i.message.length).toBeLessThanOrEqual(201);
  });
});
