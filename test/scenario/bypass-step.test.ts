/**
 * `bypass` in a scenario (product.md §2 "Going around the sidecar"): it
 * belongs to request-like steps; anywhere else it is a located error (exit
 * 2), never ignored. How a bypass plays out is pinned in
 * test/policy/capture.test.ts and by the shipped scenarios.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { parseScenario } from '../../src/scenario/load.js';

function scenario(step: string): string {
  return `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata:
  name: t
spec:
  mesh:
    manifests: [meshes/bookinfo]
  attacker:
    foothold: bookinfo/productpage-v1
    capabilities: [net-admin]
  steps:
${step}`;
}

function issuesOf(text: string): IssueList {
  const issues = new IssueList();
  parseScenario('s.yaml', text, issues);
  return issues;
}

describe('bypass on a step', () => {
  it('bypass: true on request and flood steps is accepted', () => {
    expect(issuesOf(scenario('    - id: a\n      action: request\n      to: details:9080\n      bypass: true\n')).items).toEqual([]);
    expect(issuesOf(scenario('    - id: a\n      action: flood\n      to: details:9080\n      rate: 10/s\n      for: 1s\n      bypass: true\n')).items).toEqual([]);
  });

  for (const [action, extra] of [['wait', '      for: 1s\n'], ['steal-credentials', '      what: cert\n']] as const) {
    it(`bypass on a ${action} step is a step-field-unused error located at the key`, () => {
      const issues = issuesOf(scenario(`    - id: a\n      action: ${action}\n${extra}      bypass: true\n`));
      expect(issues.errors).toHaveLength(1);
      expect(issues.errors[0]).toMatchObject({ code: 'step-field-unused', loc: { file: 's.yaml', line: 15, col: 7 } });
      expect(issues.errors[0]?.message).toContain('`bypass` has no meaning');
    });
  }

  it('an unknown capability is refused with the allowed ones', () => {
    const text = scenario('    - id: a\n      action: request\n      to: details:9080\n').replace('[net-admin]', '[cap-sys-admin]');
    const e = issuesOf(text).errors[0];
    expect(e?.code).toBe('scenario-invalid');
    expect(e?.loc?.line).toBe(10);
  });
});
