/**
 * Scenario validation (product.md §2 contract, §3 exit code 2 with file:line:col):
 * parseScenario turns text into a validated document or located issues.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IssueList, type Issue } from '../../src/core/issues.js';
import { supportedActions } from '../../src/scenario/actions/index.js';
import { looksLikeScenario, parseScenario, type LoadedScenario } from '../../src/scenario/load.js';
import { ACTIONS } from '../../src/scenario/schema.js';

const root = path.resolve(__dirname, '../..');

/** A valid scenario; `steps` and `extra` (spec-level lines) are spliced in. Line 11 is the first step line. */
function scenario(steps = '    - id: a\n      action: request\n      to: details:9080\n', extra = ''): string {
  return `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata:
  name: t
spec:
  mesh:
    manifests: [meshes/bookinfo]
${extra}  attacker:
    foothold: bookinfo/productpage-v1
  steps:
${steps}`;
}

function parse(text: string): { s: LoadedScenario | null; issues: Issue[] } {
  const issues = new IssueList();
  const s = parseScenario('s.yaml', text, issues);
  return { s, issues: issues.items };
}

function only(text: string): Issue {
  const { s, issues } = parse(text);
  expect(s).toBeNull();
  expect(issues, JSON.stringify(issues)).toHaveLength(1);
  return issues[0] as Issue;
}

describe('valid scenarios', () => {
  it('§2 a minimal scenario parses, with its source kept for later locations', () => {
    const { s, issues } = parse(scenario());
    expect(issues).toEqual([]);
    expect(s?.doc.spec.steps[0]).toEqual({ id: 'a', action: 'request', to: 'details:9080' });
    expect(s?.src.locate(['spec', 'attacker', 'foothold'])).toEqual({ file: 's.yaml', line: 9, col: 15 });
  });

  it('§2 every optional field of the contract is accepted', () => {
    const { issues } = parse(`apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata:
  name: bookinfo-pivot
  description: Compromised productpage tries to reach the ratings DB.
  tags: [pivot, training]
spec:
  mesh:
    manifests: [../meshes/bookinfo]
    meshConfig:
      outboundTrafficPolicy: { mode: REGISTRY_ONLY }
  seed: 42
  startTime: "2026-01-01T00:00:00Z"
  duration: 120s
  workloads:
    default/ratings-v1: { serviceTime: 5ms, concurrency: 16, queue: 100, exploitable: true, ip: 10.0.3.7 }
  traffic:
    - { from: default/productpage-v1, to: "reviews:9080", method: GET, path: /reviews/0, rate: 20/s }
  attacker:
    foothold: default/productpage-v1
  steps:
    - { id: read-details, action: request, to: "details:9080", method: GET, path: /details/0, expect: allowed, tls: mtls, headers: { x-a: b } }
    - { id: pod-direct, action: request, to: "workload/default/details-v1:9080", protocol: tcp, at: 1s, from: outside, sourceIp: 198.51.100.7 }
    - { id: pause, action: wait, for: 5m }
`);
    expect(issues).toEqual([]);
  });

  it('§2 shipped scenarios parse without issues', () => {
    for (const name of ['bookinfo-deny-over-allow', 'strict-backend-namespace', 'path-normalization', 'port-level-mtls-container-port']) {
      const f = path.join(root, 'scenarios', `${name}.yaml`);
      const issues = new IssueList();
      expect(parseScenario(f, readFileSync(f, 'utf8'), issues), f).not.toBeNull();
      expect(issues.items, f).toEqual([]);
    }
  });

  it('§2 looksLikeScenario picks scenario files out of a folder, not manifests; anything saying kind: Scenario is run (and fails if it is not one)', () => {
    expect(looksLikeScenario(scenario())).toBe(true);
    expect(looksLikeScenario('apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n')).toBe(false);
    expect(looksLikeScenario('apiVersion: other.io/v1\nkind: Scenario\n')).toBe(true);
    expect(looksLikeScenario('apiVersion: meshrange.io/v1alpha1\nkind: Scenario # a note\n')).toBe(true);
    expect(looksLikeScenario('{"apiVersion": "meshrange.io/v1alpha1", "kind": "Scenario"}')).toBe(true);
    expect(looksLikeScenario('k: &k { kind: Scenario }\ns: { <<: *k }\n---\nkind: Namespace\n')).toBe(false);
    expect(looksLikeScenario('apiVersion: v1\n---\n<<: { kind: Scenario }\n')).toBe(true);
    expect(looksLikeScenario('kind: [unclosed\n')).toBe(true);
  });
});

describe('scenario errors are located (product.md §3: file, line and column)', () => {
  it('§2 an unknown field in a step names the field and its line', () => {
    const i = only(scenario('    - id: a\n      action: request\n      to: details:9080\n      methd: GET\n'));
    expect(i).toMatchObject({ code: 'scenario-unknown-field', loc: { file: 's.yaml', line: 14 } });
    expect(i.message).toContain('"methd"');
    expect(i.message).toContain('spec.steps[0]');
    expect(i.loc?.col).toBeGreaterThanOrEqual(7);
    expect(i.hint).toContain('meshrange schema');
  });

  it('§2 an unknown top-level spec field is located at that field', () => {
    const i = only(scenario(undefined, '  sede: 42\n'));
    expect(i).toMatchObject({ code: 'scenario-unknown-field', loc: { line: 8 } });
    expect(i.message).toContain('"sede"');
  });

  it('§2 an unknown field in metadata is located at that field', () => {
    const i = only(scenario().replace('  name: t\n', '  name: t\n  labels: { a: b }\n'));
    expect(i).toMatchObject({ code: 'scenario-unknown-field', loc: { line: 5, col: 3 } });
  });

  it('§2 a wrong type says what was expected and what was found, not "is required"', () => {
    const i = only(scenario(undefined, '  seed: "42"\n'));
    expect(i).toMatchObject({ code: 'scenario-invalid', loc: { line: 8, col: 9 } });
    expect(i.message).toContain('spec.seed');
    expect(i.message).toMatch(/expected number/);
    expect(i.message).toMatch(/string/);
    expect(i.message).not.toContain('required');
  });

  it('§2 a wrong type tells what to write instead (a fix line naming the expected type and where the format is)', () => {
    const i = only(scenario(undefined, '  seed: "42"\n'));
    expect(i.hint).toBe('write a number here: the field\'s format is in docs/scenario-format.md (or `meshrange schema`)');
    // in YAML's words: a list, not "a array"
    const list = only(scenario().replace('metadata:\n  name: t\n', 'metadata:\n  name: t\n  tags: admin\n'));
    expect(list.hint).toMatch(/^write a list here/);
  });

  it('§2 a value refused by a pattern or a check of its own (metadata.name, a duration) has a fix line naming where the form is written', () => {
    const name = only(scenario().replace('  name: t\n', '  name: "T_1"\n'));
    expect(name.message).toBe('metadata.name: must be a DNS-1123 label (lower case, digits, -)');
    expect(name.hint).toBe('write it in the form the message gives: the field\'s format is in docs/scenario-format.md (or `meshrange schema`)');
    const dur = only(scenario('    - id: a\n      action: wait\n      for: 5 minutes\n'));
    expect(dur.hint).toMatch(/^write it in the form the message gives/);
  });

  it('§2 what no HTTP request can carry is refused where it is written: a space or control in a path, CR/LF in a header value, a header name or method that is no token', () => {
    const step = (fields: string): Issue => only(scenario(`    - { id: a, action: request, to: "details:9080", ${fields} }\n`));
    expect(step('path: "/a b"').message).toBe('spec.steps[0].path: must not hold a space or a control character: percent-encode it (%20); no request line can carry one (Envoy answers 400)');
    expect(step('headers: { x-a: "1\\r\\nx-injected: 2" }').message).toBe('spec.steps[0].headers.x-a: must not hold CR, LF, NUL or another control character: no header can carry one (Envoy answers 400)');
    const name = step('headers: { "bad name": v }');
    expect(name.message).toBe('spec.steps[0].headers.bad name: the name must be an HTTP token (letters, digits and !#$%&\'*+-.^_`|~) or :authority, as every header name is');
    expect(name.loc?.col).toBe(64); // at the key, not its value
    expect(step('method: "GET /x"').message).toContain('must be an HTTP token');
    // an empty name says what a name must be, not zod's "Too small"
    expect(step('headers: { "": v }').message).toBe('spec.steps[0].headers.: the name must be an HTTP token (letters, digits and !#$%&\'*+-.^_`|~) or :authority, as every header name is');
    // :authority is HTTP/2's Host, read as host
    expect(parse(scenario('    - { id: a, action: request, to: "details:9080", headers: { ":authority": details.bookinfo } }\n')).issues).toEqual([]);
    // what HTTP allows stays allowed: a tab inside a value, percent-encoding, UTF-8 in a value, a token with punctuation
    expect(parse(scenario('    - { id: a, action: request, to: "details:9080", path: "/a%20b?q=1", method: M-SEARCH, headers: { x-a: "1\\t2 é", "x-b!#": v } }\n')).issues).toEqual([]);
  });

  it('§2 a startTime that is not a calendar instant (February 30, no offset) says so at the value, with the form to write', () => {
    for (const bad of ['2026-02-30T00:00:00Z', '2026-01-01T00:00:00', 'yesterday']) {
      const i = only(scenario(undefined, `  startTime: "${bad}"\n`));
      expect(i.code).toBe('scenario-invalid');
      expect(i.loc?.line).toBe(8);
      expect(i.message).toBe('spec.startTime: not an ISO 8601 date and time with an offset, or not a date of the calendar');
      expect(i.hint).toContain('2026-01-01T00:00:00Z');
    }
    expect(parse(scenario(undefined, '  startTime: "2028-02-29T12:00:00+01:00"\n')).issues).toEqual([]);
  });

  it('§2 a number past a field\'s bound is one error whose fix names the bound, the field\'s own bound over a generic one', () => {
    const depth = only(scenario('    - id: a\n      action: pivot\n      depth: 99999999999\n'));
    expect(depth.message).toContain('spec.steps[0].depth');
    expect(depth.hint).toBe('use at most 16');
    // past both the safe-integer bound and the field's own 1 GiB: one error, the field's
    const bytes = only(scenario('    - id: a\n      action: exfiltrate\n      to: "x.example:80"\n      bytes: 99999999999999999999999\n'));
    expect(bytes.message).toBe('spec.steps[0].bytes: must be at most 1073741824 bytes (1 GiB)');
  });

  it('§2 headers given as a list instead of a mapping is a type error at headers', () => {
    const i = only(scenario('    - id: a\n      action: request\n      to: details:9080\n      headers: [a, b]\n'));
    expect(i).toMatchObject({ code: 'scenario-invalid', loc: { line: 14, col: 7 } });
    expect(i.message).toContain('spec.steps[0].headers');
    expect(i.message).not.toContain('required');
  });

  it('§2 a null value for a required field is a type error, not a missing field', () => {
    const i = only(scenario().replace('    foothold: bookinfo/productpage-v1', '    foothold: ~'));
    expect(i.message).toContain('spec.attacker.foothold');
    expect(i.message).toMatch(/null/);
  });

  it('§2 a missing required field is named, and located at its parent', () => {
    const i = only(scenario().replace('  attacker:\n    foothold: bookinfo/productpage-v1\n', ''));
    expect(i).toMatchObject({ code: 'scenario-invalid', message: 'spec.attacker is required', loc: { line: 5, col: 1 }, hint: 'add spec.attacker' });
  });

  it('§2 a missing metadata.name is named', () => {
    const i = only(scenario().replace('  name: t\n', '  description: no name\n'));
    expect(i).toMatchObject({ message: 'metadata.name is required', loc: { line: 3 } });
  });

  it('§2 a scenario needs at least one step and one manifest', () => {
    expect(only(scenario('    []\n').replace('  steps:\n    []', '  steps: []')).message).toContain('at least one step');
    expect(only(scenario().replace('[meshes/bookinfo]', '[]')).message).toContain('at least one manifest');
  });

  it('§2 a bad duration names the accepted forms', () => {
    const i = only(scenario('    - id: a\n      action: wait\n      for: 10 seconds\n'));
    expect(i).toMatchObject({ code: 'scenario-invalid', loc: { line: 13, col: 12 } });
    expect(i.message).toContain('spec.steps[0].for');
    expect(i.message).toContain('500ms');
  });

  it('§2 a number where a duration is expected is refused', () => {
    expect(only(scenario(undefined, '  duration: 120\n')).message).toContain('spec.duration');
  });

  it('§2 a bad rate names the accepted forms', () => {
    const i = only(scenario(undefined, '  traffic:\n    - { from: bookinfo/reviews-v1, to: "details:9080", rate: fast }\n'));
    expect(i.message).toContain('spec.traffic[0].rate');
    expect(i.message).toContain('20/s');
  });

  it('§2 a `to` without a port, with a scheme, or with a bad workload form is refused with the expected form', () => {
    for (const to of ['details', 'http://details:9080', 'details:http', 'workload/details-v1:9080']) {
      const i = only(scenario(`    - id: a\n      action: request\n      to: "${to}"\n`));
      expect(i, to).toMatchObject({ code: 'scenario-invalid', loc: { line: 13, col: 11 } });
      expect(i.message, to).toContain('host:port');
    }
  });

  it('§2 a workload reference must be namespace/name or outside', () => {
    const i = only(scenario().replace('foothold: bookinfo/productpage-v1', 'foothold: productpage-v1'));
    expect(i).toMatchObject({ loc: { line: 9, col: 15 } });
    expect(i.message).toContain('namespace/name');
  });

  it('§2 metadata.name must be a DNS-1123 label', () => {
    expect(only(scenario().replace('  name: t\n', '  name: My_Scenario\n')).message).toContain('DNS-1123');
  });

  it('§2 apiVersion and kind are fixed, and the message lists the allowed value', () => {
    const i = only(scenario().replace('meshrange.io/v1alpha1', 'meshrange.io/v1'));
    expect(i).toMatchObject({ loc: { line: 1 } });
    expect(i.hint).toContain('meshrange.io/v1alpha1');
  });

  it('§2 a duplicate step id is located at the second id and names the first step', () => {
    const i = only(scenario('    - id: probe\n      action: request\n      to: details:9080\n    - id: probe\n      action: wait\n      for: 1s\n'));
    expect(i).toMatchObject({ code: 'step-id-duplicate', loc: { line: 14, col: 11 } });
    expect(i.message).toContain('step 1');
  });

  it('§2 every action of the format runs: each has a module, none is refused as unsupported', () => {
    expect([...supportedActions()].sort()).toEqual([...ACTIONS].sort());
  });

  it('§2 an action that is not in the format lists the allowed actions', () => {
    const i = only(scenario('    - id: a\n      action: teleport\n'));
    expect(i).toMatchObject({ code: 'scenario-invalid', loc: { line: 12, col: 15 } });
    expect(i.hint).toContain('"exfiltrate"');
  });

  it('§2 a request needs `to`, a wait needs `for`', () => {
    expect(only(scenario('    - id: a\n      action: request\n'))).toMatchObject({ code: 'step-missing-field', loc: { line: 11, col: 7 } });
    expect(only(scenario('    - id: a\n      action: wait\n'))).toMatchObject({ code: 'step-missing-field', loc: { line: 11, col: 7 } });
  });

  it('§2 every problem is reported at once', () => {
    const { issues } = parse(scenario('    - id: a\n      action: request\n      to: nowhere\n    - id: a\n      action: pivot\n', '  seed: -1\n'));
    expect(issues.map((i) => i.code).sort()).toEqual(['scenario-invalid', 'scenario-invalid']);
    const { issues: later } = parse(scenario('    - id: a\n      action: request\n      to: x:1\n    - id: a\n      action: pivot\n      to: x:1\n'));
    expect(later.map((i) => i.code)).toEqual(['step-id-duplicate', 'step-field-unused']);
  });
});

describe('scenario files that are not one YAML mapping', () => {
  it('§5 broken YAML is a located yaml-syntax error', () => {
    const i = only(scenario().replace('  name: t\n', '  name: "t\n'));
    expect(i.code).toBe('yaml-syntax');
    expect(i.loc?.file).toBe('s.yaml');
  });

  it('§2 two documents in one scenario file are refused', () => {
    expect(only(`${scenario()}---\n${scenario()}`)).toMatchObject({ code: 'scenario-documents', loc: { line: 1, col: 1 } });
  });

  it('§2 an empty scenario file is refused', () => {
    expect(only('').code).toBe('scenario-documents');
    expect(only('# nothing\n').code).toBe('scenario-documents');
  });

  it('§2 a scalar or a list is not a scenario', () => {
    expect(only('hello\n').message).toMatch(/expected object/);
    expect(only('- a\n- b\n').message).toMatch(/expected object/);
  });

  it('§5 a scenario whose alias is inside the node it names is refused with yaml-alias, not a stack overflow', () => {
    const issue = only('apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: &x { name: a, tags: [*x] }\n');
    expect(issue.code).toBe('yaml-alias');
    expect(issue.message).toMatch(/alias \*x is inside the node it names/);
  });

  it('§5 a scenario mapping written as !!omap is refused with yaml-tag, not read as an empty mapping', () => {
    const issue = only('apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: a }\nspec: !!omap [mesh: {}]\n');
    expect(issue.code).toBe('yaml-tag');
    expect(issue.message).toMatch(/ordered map/);
  });

  // not a speed test: expanded, the bomb never finishes; the refusal (yaml-alias) is the check
  it('§5 an alias bomb in a scenario is refused before it is expanded', () => {
    const bomb = readFileSync(path.join(root, 'test/fixtures/invalid/yaml-alias.yaml'), 'utf8');
    expect(only(bomb).code).toBe('yaml-alias');
  });
});
