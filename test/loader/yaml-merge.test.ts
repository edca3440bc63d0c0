/**
 * YAML as kubectl reads it (issue 9 item 5): kubectl decodes manifests with a
 * YAML 1.1 reader, so a merge key `<<: *anchor` (or `<<: [*a, *b]`) copies the
 * anchored mapping's entries, keys written beside it win, and earlier sources
 * win over later ones. Scenarios are read the same way. Alias bombs stay
 * refused, merges included.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import { parseScenario } from '../../src/scenario/load.js';

function values(text: string): { values: unknown[]; issues: IssueList } {
  const issues = new IssueList();
  const docs = parseYaml('m.yaml', text, issues);
  return { values: docs.map((d) => d.value), issues };
}

describe('merge keys in manifests', () => {
  it('a `<<: *anchor` merge copies the anchored entries and a key written beside it wins', () => {
    const { values: [v], issues } = values('base: &b { a: 1, b: 2 }\nx:\n  <<: *b\n  b: 3\n');
    expect(issues.items).toEqual([]);
    expect(v).toEqual({ base: { a: 1, b: 2 }, x: { a: 1, b: 3 } });
  });

  it('a merge of a list of anchors takes each key from the first mapping that has it', () => {
    const { values: [v] } = values('a: &a { k: first }\nb: &b { k: second, j: 2 }\nx: { <<: [*a, *b] }\n');
    expect((v as { x: unknown }).x).toEqual({ k: 'first', j: 2 });
  });

  it('an AuthorizationPolicy whose spec merges shared rules loads with those rules, not an unknown field "<<"', () => {
    const { mesh, issues } = loadMesh([{ path: 'ap.yaml', text: `apiVersion: v1
kind: List
items:
  - apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: { name: shared, namespace: backend }
    spec: &deny
      action: DENY
      rules: [{ to: [{ operation: { paths: ["/admin"] } }] }]
  - apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: { name: reuse, namespace: backend }
    spec:
      <<: *deny
      selector: { matchLabels: { app: api } }
` }]);
    expect(issues.errors).toEqual([]);
    const reuse = mesh.authorizationPolicies.find((p) => p.meta.name === 'reuse');
    expect(reuse?.action).toBe('DENY');
    expect(reuse?.rules).toHaveLength(1);
  });

  it('a merge source that is not a mapping is a located yaml-merge error, not an alias error', () => {
    const { issues } = values('x:\n  <<: 5\n  a: 1\n');
    expect(issues.errors.map((e) => `${e.code} @ ${e.loc?.line}`)).toEqual(['yaml-merge @ 2']);
  });

  it('a merge of an anchor of another document (anchors are per document) is a located yaml-merge error naming the alias', () => {
    const { issues } = values('a: &base { k: 1 }\n---\nx:\n  <<: *base\n');
    expect(issues.errors.map((e) => `${e.code} @ ${e.loc?.line}`)).toEqual(['yaml-merge @ 4']);
    expect(issues.errors[0]?.message).toContain('*base');
  });

  // not a speed test: expanded, the bomb is 9^9 mappings and never finishes; the refusal (yaml-alias) is the check
  it('an alias bomb built from merge keys is still refused as yaml-alias', () => {
    const lines = ['a0: &a0 { k0: 1, k1: 1, k2: 1 }'];
    for (let i = 1; i < 10; i++) {
      lines.push(`a${i}: &a${i} { ${Array.from({ length: 9 }, (_, j) => `m${j}: { <<: *a${i - 1} }`).join(', ')} }`);
    }
    const { issues } = values(lines.join('\n'));
    expect(issues.errors.map((e) => e.code)).toEqual(['yaml-alias']);
  });

  it('a problem in a merged field is located at the field in the anchored mapping', () => {
    const issues = new IssueList();
    const [doc] = parseYaml('m.yaml', 'base: &b\n  mode: 7\nx:\n  <<: *b\n  other: 1\n', issues);
    expect(doc?.locate(['x', 'mode'])).toEqual({ file: 'm.yaml', line: 2, col: 9 });
    expect(doc?.locateKey(['x', 'mode'])).toEqual({ file: 'm.yaml', line: 2, col: 3 });
    expect(doc?.locate(['x', 'other'])).toEqual({ file: 'm.yaml', line: 5, col: 10 });
  });
});

describe('merge keys in scenarios', () => {
  it('a step that merges shared request fields runs with them, not an unknown field "<<"', () => {
    const issues = new IssueList();
    const s = parseScenario('s.yaml', `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: merged }
spec:
  mesh: { manifests: [meshes/bookinfo] }
  attacker: { foothold: bookinfo/productpage-v1 }
  steps:
    - &details { id: a, action: request, to: "details:9080", method: GET }
    - { <<: *details, id: b, path: /admin }
`, issues);
    expect(issues.items).toEqual([]);
    expect(s?.doc.spec.steps[1]).toMatchObject({ id: 'b', action: 'request', to: 'details:9080', method: 'GET', path: '/admin' });
  });
});
