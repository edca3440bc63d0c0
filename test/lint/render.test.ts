/** Lint output: SARIF 2.1.0 shape, stable JSON, text escaped for a terminal. */
import { describe, expect, it } from 'vitest';
import { lint, RULES } from '../../src/lint/index.js';
import { renderLintJson, renderLintSarif, renderLintText } from '../../src/lint/render.js';
import { MESHRANGE_VERSION } from '../../src/core/version.js';
import { app, meshFrom, ns } from '../helpers.js';

const headerRule = (value: string, annotations = ''): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: by-header, namespace: a${annotations} }
spec:
  action: ALLOW
  rules: [{ when: [{ key: "request.headers[x-user]", values: ["${value}"] }] }]
`;
const denyAdmin = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: deny-admin, namespace: a, annotations: { meshrange.io/ignore: MR0106 } }\nspec:\n  action: DENY\n  rules: [{ to: [{ operation: { paths: ["/admin"] } }] }]\n';

interface SarifRule { id: string; name: string; shortDescription: { text: string }; help: { text: string }; defaultConfiguration: { level: string } }
interface SarifResult { ruleId: string; ruleIndex: number; level: string; message: { text: string }; suppressions?: unknown[];
  locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number; startColumn: number } } }[] }

describe('SARIF', () => {
  const r = lint(meshFrom(ns('a', true), app('a', 'web'), headerRule('admin'), denyAdmin));
  const doc = JSON.parse(renderLintSarif(r)) as { version: string; $schema: string; runs: { tool: { driver: { name: string; version: string; rules: SarifRule[] } }; results: SarifResult[] }[] };
  const run = doc.runs[0];

  it('is SARIF 2.1.0 with the tool version from src/core/version.ts', () => {
    expect(doc.version).toBe('2.1.0');
    expect(doc.$schema).toContain('sarif-2.1.0');
    expect(run?.tool.driver.name).toBe('meshrange');
    expect(run?.tool.driver.version).toBe(MESHRANGE_VERSION);
  });
  it('has one rule per registered code, each with a name, a description, help text and a default level', () => {
    const rules = run?.tool.driver.rules ?? [];
    expect(rules.map((x) => x.id)).toEqual(RULES.map((x) => x.code));
    expect(new Set(rules.map((x) => x.id)).size).toBe(rules.length);
    for (const x of rules) {
      expect(x.name).toMatch(/^[a-z0-9-]+$/);
      expect(x.shortDescription.text.length).toBeGreaterThan(10);
      expect(x.help.text.length).toBeGreaterThan(40);
      expect(['error', 'warning', 'note']).toContain(x.defaultConfiguration.level);
    }
  });
  it('every result names its rule (id and index) and has a region: the line and column of the resource', () => {
    const rules = run?.tool.driver.rules ?? [];
    expect(run?.results.length).toBeGreaterThan(0);
    for (const res of run?.results ?? []) {
      expect(rules[res.ruleIndex]?.id).toBe(res.ruleId);
      const loc = res.locations[0]?.physicalLocation;
      expect(loc?.artifactLocation.uri).toMatch(/^inline-\d+\.yaml$/);
      expect(loc?.region?.startLine).toBeGreaterThan(0);
      expect(loc?.region?.startColumn).toBeGreaterThan(0);
    }
  });
  it('a suppressed finding is a result with an inSource suppression, so dashboards show it as dismissed', () => {
    const sup = run?.results.filter((x) => x.suppressions !== undefined) ?? [];
    expect(sup.map((x) => x.ruleId)).toEqual(['MR0106']);
    expect(sup[0]?.suppressions).toEqual([{ kind: 'inSource', justification: 'meshrange.io/ignore on AuthorizationPolicy a/deny-admin' }]);
  });
});

describe('JSON', () => {
  it('has a summary with counts and suppressed, and the findings with fixed keys, the same bytes for the same mesh', () => {
    const text = (): string => renderLintJson(lint(meshFrom(ns('a', true), app('a', 'web'), headerRule('admin'), denyAdmin)));
    const doc = JSON.parse(text()) as { version: string; summary: Record<string, number>; findings: Record<string, unknown>[]; suppressed: unknown[] };
    expect(doc.version).toBe(MESHRANGE_VERSION);
    expect(doc.summary['suppressed']).toBe(1);
    expect(doc.summary['findings']).toBe(doc.findings.length);
    expect(Object.keys(doc.findings[0] ?? {})).toEqual(['code', 'rule', 'severity', 'resource', 'file', 'line', 'col', 'message', 'hint']);
    expect(text()).toBe(text());
  });
});

describe('text', () => {
  it('a control sequence in a manifest value is shown escaped, never sent to the terminal', () => {
    const out = renderLintText(lint(meshFrom(ns('a', true), app('a', 'web'), headerRule('\\e]0;pwned\\a\\e[2J')), { only: ['MR0104'] }));
    expect(out).toContain('MR0104');
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(out).toContain('\\u001b');
  });
  it('each finding is file:line:col, severity, code and rule, then its fix; the last line counts and names the suppressed', () => {
    const out = renderLintText(lint(meshFrom(ns('a', true), app('a', 'web'), headerRule('admin'), denyAdmin), { only: ['MR0104', 'MR0106'] }));
    expect(out).toMatch(/^inline-\d\.yaml:6:11: warning MR0104 header-identity: .+\n    fix: .+\n/);
    expect(out).toContain('1 finding (0 errors, 1 warning, 0 info); 1 suppressed by meshrange.io/ignore');
    expect(out).toMatch(/suppressed: inline-\d\.yaml:6:11: MR0106 deny-path-bypass on AuthorizationPolicy a\/deny-admin/);
  });
});
