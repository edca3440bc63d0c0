/** CI-ready reports (issue 11 item 6): SARIF 2.1.0 results a reviewer acts on, with regions; JUnit with simulated time; the text key. */
import { describe, expect, it } from 'vitest';
import { formatIssue, IssueList } from '../../src/core/issues.js';
import { MESHRANGE_INFO_URI, MESHRANGE_VERSION } from '../../src/core/version.js';
import { loadMesh } from '../../src/loader/load.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderSarif } from '../../src/report/sarif.js';
import { renderText, VERDICT_KEY } from '../../src/report/text.js';
import { parseScenario } from '../../src/scenario/load.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
import type { RunResult } from '../../src/scenario/types.js';
import { app, ns, pa } from '../helpers.js';
import { parseXml, type XmlElement } from './xml.js';

const manifests = [ns('b', true), ns('legacy', false), app('b', 'server'), app('b', 'open'), app('legacy', 'old'), pa('b', 'default', 'STRICT')];

const SCENARIO = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: ci }
spec:
  mesh: { manifests: [x] }
  attacker: { foothold: b/open }
  steps:
    - id: breach-expected
      action: request
      to: "server.b:80"
      expect: allowed
    - id: breach-unexpected
      action: request
      to: "server.b:80"
    - id: wrong-control
      action: request
      from: legacy/old
      to: "server.b:80"
      expect: { outcome: blocked, stoppedBy: AuthorizationPolicy }
    - id: legit
      action: request
      from: b/server
      to: "open.b:80"
      expect: allowed
    - id: pause
      action: wait
      for: 2500ms
`;

async function run(): Promise<RunResult> {
  const issues = new IssueList();
  const s = parseScenario('scenarios/ci.yaml', SCENARIO, issues);
  if (!s) throw new Error(issues.items.map(formatIssue).join('\n'));
  const { mesh } = loadMesh(manifests.map((t, i) => ({ path: `m${i}.yaml`, text: t })));
  if (!bindScenario(s, mesh, issues)) throw new Error(issues.items.map(formatIssue).join('\n'));
  return runScenario(s, mesh);
}

interface Sarif {
  version: string;
  $schema: string;
  runs: { tool: { driver: { name: string; version: string; informationUri: string; rules: { id: string; shortDescription: { text: string } }[] } };
    results: { ruleId: string; ruleIndex: number; level: string; message: { text: string };
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } } }[];
      partialFingerprints: Record<string, string> }[] }[];
}

describe('SARIF 2.1.0', () => {
  it('has the properties SARIF 2.1.0 requires, the tool version and informationUri, and a rule for every result', async () => {
    const doc = JSON.parse(renderSarif([await run()])) as Sarif;
    expect(doc.version).toBe('2.1.0');
    expect(doc.$schema).toMatch(/sarif-2\.1\.0/);
    expect(doc.runs).toHaveLength(1);
    const run0 = doc.runs[0] as Sarif['runs'][number];
    expect(run0.tool.driver).toMatchObject({ name: 'meshrange', version: MESHRANGE_VERSION, semanticVersion: MESHRANGE_VERSION, informationUri: MESHRANGE_INFO_URI });
    const ids = run0.tool.driver.rules.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of run0.tool.driver.rules) expect(r.shortDescription.text.length).toBeGreaterThan(0);
    expect(run0.results.length).toBeGreaterThan(0);
    for (const r of run0.results) {
      expect(ids[r.ruleIndex]).toBe(r.ruleId);
      expect(['error', 'warning', 'note', 'none']).toContain(r.level);
      expect(r.message.text.length).toBeGreaterThan(0);
      expect(r.locations[0]?.physicalLocation.artifactLocation.uri).toBe('scenarios/ci.yaml');
      expect(r.locations[0]?.physicalLocation.region.startLine).toBeGreaterThanOrEqual(1);
      expect(r.locations[0]?.physicalLocation.region.startColumn).toBeGreaterThanOrEqual(1);
    }
  });

  it('gives results only for an unexpected breach and a failed expectation, each at the line of its step', async () => {
    const doc = JSON.parse(renderSarif([await run()])) as Sarif;
    const results = (doc.runs[0] as Sarif['runs'][number]).results;
    const lines = SCENARIO.split('\n');
    const lineOf = (id: string): number => lines.findIndex((l) => l.includes(`- id: ${id}`)) + 1;
    expect(results.map((r) => [r.ruleId, r.partialFingerprints['meshrange/step'], r.locations[0]?.physicalLocation.region.startLine])).toEqual([
      ['meshrange/attack-step-succeeded', 'ci/breach-unexpected', lineOf('breach-unexpected')],
      ['meshrange/expectation-failed', 'ci/wrong-control', lineOf('wrong-control')],
    ]);
    expect(results[1]?.message.text).toContain('by PeerAuthentication b/default, not by AuthorizationPolicy');
  });

  it('is the same bytes for the same run', async () => {
    expect(renderSarif([await run()])).toBe(renderSarif([await run()]));
  });
});

describe('JUnit', () => {
  const attr = (e: XmlElement | undefined, a: string): string | undefined => e?.attrs.get(a);

  it('parses as XML, with a time attribute from simulated time on every testsuites, testsuite and testcase', async () => {
    const r = await run();
    const root = parseXml(renderJunit([r]));
    expect(root.name).toBe('testsuites');
    const suite = root.children[0] as XmlElement;
    const cases = suite.children.filter((c) => c.name === 'testcase');
    expect(cases).toHaveLength(5);
    for (const el of [root, suite, ...cases]) expect(attr(el, 'time')).toMatch(/^\d+\.\d{3}$/);
    const pause = cases.find((c) => attr(c, 'name')?.startsWith('pause:'));
    expect(attr(pause, 'time')).toBe('2.500');
    const sum = cases.reduce((n, c) => n + Number(attr(c, 'time')), 0);
    expect(Number(attr(suite, 'time'))).toBeCloseTo(sum, 3);
    expect(attr(root, 'time')).toBe(attr(suite, 'time'));
  });

  it('marks the failed expectation with what stopped the step instead', async () => {
    const suite = parseXml(renderJunit([await run()])).children[0] as XmlElement;
    const failing = suite.children.filter((c) => c.children.some((x) => x.name === 'failure'));
    expect(failing.map((c) => attr(c, 'name'))).toEqual(['wrong-control: request legacy/old → server.b:80']);
    expect(attr(failing[0]?.children.find((x) => x.name === 'failure'), 'message')).toContain('not by AuthorizationPolicy');
    expect(attr(suite, 'failures')).toBe('1');
  });
});

describe('text report', () => {
  it('ends with a key to its verdict words and marks', async () => {
    const text = renderText([await run()]);
    expect(text.trimEnd().endsWith(VERDICT_KEY.join('\n'))).toBe(true);
    for (const w of ['BREACHED', 'CONTAINED', 'allowed', 'blocked', 'partial', '✓', '✗', '·']) expect(VERDICT_KEY.join('\n')).toContain(w);
  });
});
