/**
 * The docs shipped with the package (docs/scenario-format.md,
 * docs/report-format.md) and `meshrange schema` keep up with the code: every
 * scenario field is described in both, every field the schema lists does
 * something, and every JSON report field is documented.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/index.js';
import { resultJson } from '../../src/report/json.js';
import { actionModule, supportedActions } from '../../src/scenario/actions/index.js';
import { COMMON_FIELDS } from '../../src/scenario/actions/types.js';
import { CONTROL_KINDS } from '../../src/scenario/expect.js';
import { ACTIONS, scenarioJsonSchema, stepSchema } from '../../src/scenario/schema.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const scenarioDoc = readFileSync(path.join(root, 'docs', 'scenario-format.md'), 'utf8');
const reportDoc = readFileSync(path.join(root, 'docs', 'report-format.md'), 'utf8');

interface Node { properties?: Record<string, Node>; items?: Node; anyOf?: Node[]; additionalProperties?: Node | boolean; description?: string }

/** Every property of the JSON Schema: [dotted path, its schema]. */
function properties(n: Node | boolean | undefined, at = ''): [string, Node][] {
  if (!n || typeof n !== 'object') return [];
  const out: [string, Node][] = [];
  for (const [k, v] of Object.entries(n.properties ?? {})) out.push([`${at}.${k}`, v], ...properties(v, `${at}.${k}`));
  out.push(...properties(n.items, at), ...(n.anyOf ?? []).flatMap((x) => properties(x, at)), ...properties(n.additionalProperties, at));
  return out;
}

describe('meshrange schema and docs/scenario-format.md', () => {
  const all = properties(scenarioJsonSchema() as Node);

  it('meshrange schema describes every field (expect is documented in docs/ci.md, which the cirun helper owns)', () => {
    const bare = all.filter(([p, v]) => !v.description && !(v.anyOf ?? []).some((x) => x.description) && p !== '.spec.steps.expect').map(([p]) => p);
    expect(bare).toEqual([]);
  });

  it('every field name the schema lists appears in docs/scenario-format.md', () => {
    const names = [...new Set(all.map(([p]) => p.split('.').pop() as string))];
    expect(names.filter((n) => !scenarioDoc.includes(`\`${n}\``) && !scenarioDoc.includes(`${n}:`) && !scenarioDoc.includes(`.${n}`))).toEqual([]);
  });

  it('the schema lists only fields that work: every step field is read by some action, and every action runs', () => {
    const used = new Set<string>(COMMON_FIELDS);
    for (const a of ACTIONS) for (const f of actionModule(a)?.fields ?? []) used.add(f);
    expect(Object.keys(stepSchema.shape).filter((f) => !used.has(f))).toEqual([]);
    expect([...ACTIONS].filter((a) => !supportedActions().includes(a))).toEqual([]);
  });

  it('every action is documented in docs/scenario-format.md', () => {
    expect(ACTIONS.filter((a) => !scenarioDoc.includes(`| \`${a}\` |`))).toEqual([]);
  });
});

describe('docs/report-format.md', () => {
  it('documents every field of a JSON report and of its steps and traffic', async () => {
    const cwd = process.cwd();
    process.chdir(root);
    let result;
    try {
      result = await runScenario('scenarios/flood-rate-limited.yaml');
    } finally {
      process.chdir(cwd);
    }
    const json = resultJson(result) as { steps: Record<string, unknown>[]; traffic: Record<string, unknown>[] } & Record<string, unknown>;
    const keys = new Set([...Object.keys(json), ...json.steps.flatMap((s) => Object.keys(s)), ...json.traffic.flatMap((t) => Object.keys(t))]);
    expect([...keys].filter((k) => !reportDoc.includes(`\`${k}\``) && !new RegExp(`[{ ,]${k}[?,} ]`).test(reportDoc))).toEqual([]);
  });

  it('the README points users at the shipped docs, not at files outside the package', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain('docs/scenario-format.md');
    expect(readme).toContain('docs/report-format.md');
    expect(readme).not.toContain('../shared/docs/product.md');
  });
});

describe('the control kinds the docs list', () => {
  /** The kinds a doc's list names: the words of its `control` is one of … / Control kinds: … sentence. */
  function listed(doc: string, lead: RegExp): string[] {
    const m = lead.exec(doc);
    if (!m) return [];
    const rest = doc.slice(m.index + m[0].length);
    return [...rest.slice(0, rest.search(/[;(]/)).matchAll(/[A-Za-z]+/g)].map((x) => x[0]);
  }

  it('docs/report-format.md lists every kind of ControlKind the stoppedBy control can be', () => {
    expect(new Set(listed(reportDoc, /`control` is one of/))).toEqual(new Set(CONTROL_KINDS));
  });

  it('docs/ci.md lists every kind of ControlKind an expectation can name', () => {
    const ci = readFileSync(path.join(root, 'docs', 'ci.md'), 'utf8');
    expect(new Set(listed(ci, /Control kinds:/))).toEqual(new Set(CONTROL_KINDS));
  });
});
