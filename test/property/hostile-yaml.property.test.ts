/**
 * Fuzzing the readers with hostile YAML (issue 9 "Done when"): random
 * documents built from merge keys `<<`, anchors and aliases, `__proto__` /
 * `constructor` keys, control characters and broken syntax, under the kinds
 * the loader reads and as scenarios. Whatever the text, the manifest loader,
 * the scenario reader and the binding of a scenario to its mesh never throw:
 * every problem comes back as an issue located at file:line:col.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { IssueList, type Issue } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { parseScenario } from '../../src/scenario/load.js';
import { bindScenario } from '../../src/scenario/runner.js';
import { app, meshFrom, ns } from '../helpers.js';

const RUNS = { numRuns: 300 };

const KEYS = ['<<', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'name', 'namespace', 'labels', 'matchLabels', 'selector',
  'spec', 'metadata', 'rules', 'from', 'to', 'source', 'operation', 'paths', 'hosts', 'ports', 'port', 'number', 'mode', 'mtls', 'action',
  'provider', 'jwtRules', 'issuer', 'steps', 'id', 'attacker', 'foothold', 'mesh', 'manifests', 'workloads', 'tokens', 'traffic', 'rate',
  'for', 'at', 'sourceIp', 'template', 'containers', 'http', 'route', 'destination', 'host', 'items', 'kind', 'apiVersion'];

const SCALARS = ['1', '0', '-1', '65536', '1e309', '.nan', '~', 'null', 'true', 'yes', '""', '"\\e[2J\\a"', '"\\x9b31m"', '"\\u202e"',
  '"a\\nb\\rc"', '"\\0"', 'STRICT', 'ALLOW', 'DENY', 'CUSTOM', '10s', '0s', '-5s', '100/s', '0/s', 'bookinfo/productpage-v1', 'outside',
  '"details:9080"', '"x:0"', '*.example.com', '"/admin"', '[]', '{}', '!!binary aGk=', '!!str 1', '&a 1', '*a', '*nowhere'];

const key = fc.oneof(fc.constantFrom(...KEYS), fc.string({ unit: 'binary', maxLength: 6 }).map((s) => JSON.stringify(s)));

/** One line of YAML-ish text: mappings, sequences, anchors, aliases, merges, flow collections — often broken. */
const line = fc.tuple(fc.constantFrom('', '  ', '    ', '      ', '\t'), key, fc.oneof(
  fc.constantFrom(...SCALARS),
  fc.constantFrom('&a', '&b { x: 1 }', '&c [1, 2]', '*a', '*b', '[*a, *b]', '{ <<: *b }', '{ <<: [*b, *c] }', '', '|', '>-', '- 1', '[', '{', '}'),
  fc.string({ unit: 'binary', maxLength: 8 }).map((s) => JSON.stringify(s)),
)).map(([indent, k, v]) => `${indent}${k}: ${v}`);

const rawYaml = fc.array(fc.oneof({ weight: 8, arbitrary: line }, { weight: 1, arbitrary: fc.constantFrom('---', '- item', '- &a { k: 1 }', '- *a', '<<: *a', '? complex', '%YAML 1.1') }), { maxLength: 30 })
  .map((lines) => lines.join('\n'));

/** A well-formed document of random values (the yaml library writes shared values as anchors and aliases). */
const tree = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<unknown>(0, 1, -1, 65536, 1e309, true, null, '', 'STRICT', 'ALLOW', '\u001b[2J', '\u202e', '10s', '0s', '/admin', 'details:9080', 'a/b'),
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(key.map((k) => (k.startsWith('"') ? (JSON.parse(k) as string) : k)), tie('node'), { maxKeys: 5 })),
})).node;

const structured = fc.tuple(tree, fc.boolean()).map(([t, share]) => {
  const value = share ? { a: t, b: t, c: { '<<': t } } : t;
  try {
    return stringify(value, { aliasDuplicateObjects: true });
  } catch {
    return 'x: 1\n';
  }
});

const KINDS = [['v1', 'Namespace'], ['v1', 'Service'], ['apps/v1', 'Deployment'], ['v1', 'Pod'], ['v1', 'ConfigMap'], ['v1', 'List'],
  ['security.istio.io/v1', 'PeerAuthentication'], ['security.istio.io/v1', 'AuthorizationPolicy'], ['security.istio.io/v1', 'RequestAuthentication'],
  ['networking.istio.io/v1', 'DestinationRule'], ['networking.istio.io/v1', 'ServiceEntry'], ['networking.istio.io/v1', 'Sidecar'],
  ['networking.istio.io/v1', 'Gateway'], ['networking.istio.io/v1', 'VirtualService'], ['networking.istio.io/v1alpha3', 'EnvoyFilter'],
  ['networking.k8s.io/v1', 'NetworkPolicy']] as const;

/** A manifest of a kind the loader reads, with a random body under it (indented so it lands in spec, metadata…). */
const manifest = fc.tuple(fc.constantFrom(...KINDS), fc.oneof(rawYaml, structured), fc.constantFrom('spec', 'metadata', 'items', ''))
  .map(([[api, kind], body, under]) => {
    const indented = under === '' ? body : `${under}:\n${body.split('\n').map((l) => `  ${l}`).join('\n')}`;
    return `apiVersion: ${api}\nkind: ${kind}\n${under === 'metadata' ? '' : 'metadata: { name: x, namespace: a }\n'}${indented}\n`;
  });

const scenarioText = fc.tuple(fc.oneof(rawYaml, structured), fc.constantFrom('spec', 'steps', 'top')).map(([body, where]) => {
  const ind = (n: number): string => body.split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');
  const head = 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: fuzz }\n';
  if (where === 'top') return `${head}${body}\n`;
  if (where === 'spec') return `${head}spec:\n  mesh: { manifests: [m] }\n  attacker: { foothold: a/client }\n  steps: [{ id: s, action: wait, for: 1s }]\n${ind(2)}\n`;
  return `${head}spec:\n  mesh: { manifests: [m] }\n  attacker: { foothold: a/client }\n  steps:\n    - id: s\n      action: request\n${ind(6)}\n`;
});

/** Every issue is located in the file it is about, at a real line and column. */
function located(issues: readonly Issue[], file: string): boolean {
  return issues.every((i) => i.loc !== undefined && i.loc.file === file && i.loc.line >= 1 && i.loc.col >= 1);
}

const MESH = meshFrom(ns('a', true), ns('b', true), app('a', 'client'), app('b', 'server'));

describe('fuzz: hostile YAML never escapes as an exception', () => {
  it('the manifest loader returns located issues for any text under any kind, never throws', () => {
    fc.assert(fc.property(fc.array(manifest, { minLength: 1, maxLength: 3 }), (docs) => {
      const { issues } = loadMesh([{ path: 'f.yaml', text: docs.join('---\n') }]);
      return located(issues.errors, 'f.yaml');
    }), RUNS);
  });

  it('the manifest loader returns located issues for arbitrary text, never throws', () => {
    fc.assert(fc.property(fc.oneof(rawYaml, structured, fc.string({ unit: 'binary', maxLength: 200 })), (text) => {
      const { issues } = loadMesh([{ path: 'f.yaml', text }]);
      return located(issues.errors, 'f.yaml');
    }), RUNS);
  });

  it('the scenario reader and the binding to a mesh return located issues, never throw', () => {
    fc.assert(fc.property(scenarioText, (text) => {
      const issues = new IssueList();
      const s = parseScenario('s.yaml', text, issues);
      if (s) bindScenario(s, MESH, issues);
      return located(issues.items, 's.yaml') && (s !== null || issues.hasErrors());
    }), RUNS);
  });

  it('a merged `__proto__` key stays data: it never reaches Object.prototype', () => {
    const { issues } = loadMesh([{ path: 'f.yaml', text: 'a: &a { __proto__: { polluted: 1 } }\nb: { <<: *a }\n' }]);
    expect(located(issues.errors, 'f.yaml')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
