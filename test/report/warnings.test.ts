/**
 * A run's warnings reach every report a CI system reads, not only the text
 * and JSON: a kind the loader does not model means the result may not say
 * everything, and a reviewer who reads only the PR comment (Markdown), the
 * test tab (JUnit) or the code-scanning page (SARIF) must see it.
 *  - Markdown: a "⚠ Warnings (n)" list under the scenario's heading, escaped,
 *    at most MARKDOWN_MAX_WARNINGS then a count;
 *  - JUnit: the testsuite's <system-err>, one warning per line;
 *  - SARIF: tool execution notifications of one successful invocation, named
 *    by scenario, at most SARIF_MAX_NOTIFICATIONS then a count.
 * A run without warnings renders as before (no list, no system-err, no
 * invocations).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { renderJunit } from '../../src/report/junit.js';
import { MARKDOWN_MAX_WARNINGS, renderMarkdown } from '../../src/report/markdown.js';
import { renderSarif, SARIF_MAX_NOTIFICATIONS } from '../../src/report/sarif.js';
import type { RunResult } from '../../src/scenario/types.js';
import { app, ns } from '../helpers.js';
import { parseXml, type XmlElement } from './xml.js';

const root = process.cwd();
let tmp = '';

const TELEMETRY = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: logs, namespace: b }
spec: { accessLogging: [{ providers: [{ name: envoy }] }] }
`;

const SCENARIO = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: warned }
spec:
  mesh: { manifests: [mesh] }
  attacker: { foothold: b/client }
  steps:
    - id: call
      action: request
      to: "server.b:80"
      expect: allowed
`;

async function runWith(manifests: string[]): Promise<{ code: number; json: RunResult; md: string; junit: string; sarif: string }> {
  const dir = mkdtempSync(path.join(tmp, 'run-'));
  mkdirSync(path.join(dir, 'mesh'));
  manifests.forEach((m, i) => writeFileSync(path.join(dir, 'mesh', `m${i}.yaml`), m));
  writeFileSync(path.join(dir, 's.yaml'), SCENARIO);
  const rel = (f: string): string => path.relative(root, path.join(dir, f));
  const code = await main(['run', rel('s.yaml'), '--format', 'json', '--report', `markdown=${rel('r.md')}`, '--report', `junit=${rel('r.xml')}`, '--report', `sarif=${rel('r.sarif')}`],
    { out: (s) => writeFileSync(path.join(dir, 'r.json'), s, { flag: 'a' }), err: () => undefined });
  const read = (f: string): string => readFileSync(path.join(dir, f), 'utf8');
  return { code, json: JSON.parse(read('r.json')) as RunResult, md: read('r.md'), junit: read('r.xml'), sarif: read('r.sarif') };
}

const MESH = [ns('b', true), app('b', 'server'), app('b', 'client')];

describe('warnings in the CI reports of a run', () => {
  beforeAll(() => { tmp = mkdtempSync(path.join(root, 'test', '.tmp-warnings-')); });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('a kind not modeled is a warning in the Markdown, the JUnit system-err and a SARIF tool notification', async () => {
    const r = await runWith([...MESH, TELEMETRY]);
    expect(r.code).toBe(0);
    const warning = r.json.warnings.find((w) => w.includes('Telemetry'));
    expect(warning).toBeDefined();
    expect(r.md).toContain(`**⚠ Warnings (${r.json.warnings.length})**`);
    expect(r.md).toContain('Telemetry');
    expect(r.md.indexOf('Warnings')).toBeLessThan(r.md.indexOf('| step |'));
    const suite = parseXml(r.junit).children[0] as XmlElement;
    const err = suite.children.find((c) => c.name === 'system-err');
    expect(err?.text).toContain(`warning: ${warning as string}`);
    const run = JSON.parse(r.sarif).runs[0];
    expect(run.invocations).toHaveLength(1);
    expect(run.invocations[0].executionSuccessful).toBe(true);
    expect(run.invocations[0].toolExecutionNotifications).toContainEqual({ level: 'warning', message: { text: `warned: ${warning as string}` } });
  });

  it('a run without warnings renders no list, no system-err and no invocation', async () => {
    const r = await runWith(MESH);
    expect(r.json.warnings).toEqual([]);
    expect(r.md).not.toContain('Warnings');
    expect(r.junit).not.toContain('system-err');
    expect(JSON.parse(r.sarif).runs[0].invocations).toBeUndefined();
  });

  it(`lists at most ${MARKDOWN_MAX_WARNINGS} warnings in Markdown and ${SARIF_MAX_NOTIFICATIONS} in SARIF, and counts the rest`, async () => {
    const base = (await runWith(MESH)).json;
    const many: RunResult = { ...base, warnings: Array.from({ length: SARIF_MAX_NOTIFICATIONS + 7 }, (_, i) => `w${i}`) };
    const md = renderMarkdown([many]);
    expect(md).toContain(`- w${MARKDOWN_MAX_WARNINGS - 1}\n`);
    expect(md).not.toContain(`- w${MARKDOWN_MAX_WARNINGS}\n`);
    expect(md).toContain(`- … and ${SARIF_MAX_NOTIFICATIONS + 7 - MARKDOWN_MAX_WARNINGS} more`);
    const notes = JSON.parse(renderSarif([many])).runs[0].invocations[0].toolExecutionNotifications as { level: string; message: { text: string } }[];
    expect(notes).toHaveLength(SARIF_MAX_NOTIFICATIONS + 1);
    expect(notes.at(-1)).toEqual({ level: 'note', message: { text: expect.stringMatching(/^7 more warnings/) as unknown as string } });
    expect(parseXml(renderJunit([many])).children[0]?.children.find((c) => c.name === 'system-err')?.text.split('\n')).toHaveLength(SARIF_MAX_NOTIFICATIONS + 7);
  });
});
