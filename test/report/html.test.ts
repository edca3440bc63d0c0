/**
 * The HTML report as text (issue 10 item 2): self-contained, deterministic,
 * every string from a stranger escaped; and the mesh it draws does not leak
 * into the JSON report (a contract). The browser half is html-browser.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFiles } from '../../src/api/run.js';
import { FsSource, Sandbox } from '../../src/cli/fs.js';
import { htmlText } from '../../src/core/escape.js';
import { renderHtml } from '../../src/report/html.js';
import { renderJson } from '../../src/report/json.js';
import type { RunResult } from '../../src/scenario/types.js';
import { cli } from '../cli/harness.js';

const root = path.resolve(__dirname, '../..');
const SCENARIOS = ['scenarios/bookinfo-pivot-contained.yaml', 'scenarios/exfil-direct-allow-any.yaml'];
const HOSTILE = '<script>alert(1)</script>"\'&\u202e\n<img src=x onerror=alert(2)>';

let results: RunResult[] = [];
beforeAll(async () => {
  expect(process.cwd()).toBe(root);
  results = (await runFiles(SCENARIOS, new FsSource(Sandbox.forCwd([]), new Set()))).results;
  expect(results).toHaveLength(2);
});

describe('htmlText', () => {
  it('writes the five markup characters as character references and controls and bidi marks as visible escapes', () => {
    expect(htmlText('<a href="x">&\'</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
    expect(htmlText('a\nb\u202ec\u001b[0m')).toBe('a\\nb\\u202ec\\u001b[0m');
  });
});

describe('renderHtml', () => {
  it('renders the same results to the same bytes, and a second run of the same scenarios to the same bytes too', async () => {
    const again = (await runFiles(SCENARIOS, new FsSource(Sandbox.forCwd([]), new Set()))).results;
    expect(renderHtml(results)).toBe(renderHtml(results));
    expect(renderHtml(again)).toBe(renderHtml(results));
  });

  it('is one self-contained document: inline style and script, a CSP that allows nothing else, no URL of any kind', () => {
    const page = renderHtml(results);
    expect(page.startsWith('<!DOCTYPE html>\n')).toBe(true);
    expect(page).toContain('content="default-src \'none\'; style-src \'sha256-');
    expect(page).not.toMatch(/\b(?:src|href|xlink:href|action)\s*=/i);
    expect(page).not.toMatch(/<(?:link|iframe|img|object|embed)\b/i);
    // The pages's own markup holds no URL; the only http(s) text is what the scenarios' own strings say, escaped.
    const own = renderHtml(results.map((r) => ({ ...r, description: 'x', warnings: [], steps: r.steps.map((s) => ({ ...s, evidence: { events: [] } })) })));
    expect(own).not.toMatch(/https?:/);
  });

  it('escapes every string from the scenario or the mesh: a hostile name, step id, reason or workload is text, never markup', () => {
    const r = results[0] as RunResult;
    const s = r.steps[0];
    expect(s).toBeDefined();
    const hostile: RunResult = {
      ...r, scenario: HOSTILE, description: HOSTILE, file: HOSTILE, warnings: [HOSTILE],
      steps: [{ ...s!, id: HOSTILE, from: HOSTILE, to: HOSTILE, stoppedBy: [{ control: 'AuthorizationPolicy', name: HOSTILE, reason: HOSTILE }],
        defences: [{ control: 'AuthorizationPolicy', name: HOSTILE, reason: HOSTILE, sole: true }],
        evidence: { ...s!.evidence, events: [{ t: 0, hop: 'app', what: HOSTILE }] } }],
      controls: [{ control: 'AuthorizationPolicy', name: HOSTILE, stops: 1, soleStops: 1 }],
      mesh: { workloads: [{ id: HOSTILE, namespace: HOSTILE, name: HOSTILE, sidecar: true, gateway: false, mtls: 'STRICT' }] },
    };
    const page = renderHtml([hostile]);
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img');
    expect(page).not.toContain('\u202e');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.match(/<script>/g)).toHaveLength(1);
  });

  it('marks a sole defence and names the control that stopped a step', () => {
    const page = renderHtml(results);
    const stopped = results[0]?.steps.find((s) => s.stoppedBy.length > 0);
    const sole = results.flatMap((r) => r.steps.flatMap((s) => s.defences ?? [])).find((d) => d.sole);
    expect(stopped).toBeDefined();
    expect(sole).toBeDefined();
    expect(page).toContain(`<li><b>${htmlText(stopped!.stoppedBy[0]!.control)} ${htmlText(stopped!.stoppedBy[0]!.name ?? '')}</b>`);
    expect(page).toContain(`<li>${htmlText(sole!.control)} ${htmlText(sole!.name ?? '')} — <span class="sole">sole</span>`);
  });

  it('draws a request to a host outside the mesh as an edge to an outside node, and the mesh as one node per workload', () => {
    const page = renderHtml([results[1] as RunResult]);
    const workloads = results[1]?.mesh?.workloads ?? [];
    expect(workloads.length).toBeGreaterThan(0);
    expect(page.match(/<g class="workload"/g)).toHaveLength(workloads.length);
    expect(page).toMatch(/<g class="external" data-id="drop\.attacker\.example[^"]*"/);
  });
});

describe('the SVG', () => {
  it('draws a step whose evidence names no destination (refused before an endpoint was picked) to the workload another step resolved the same `to` to', () => {
    const r = results[0] as RunResult;
    const base = r.steps[0] as RunResult['steps'][number];
    const { graph: _g, reached: _r, compromised: _c, hops: _h, ...plain } = base;
    const resolved = { ...plain, id: 'resolved', from: 'bookinfo/productpage-v1', to: 'ratings.bookinfo:9080', outcome: 'allowed' as const,
      evidence: { events: [], destination: { workload: 'bookinfo/ratings-v1', port: 9080, targetPort: 9080, protocol: 'http' } } };
    const unresolved = { ...plain, id: 'unresolved', from: 'bookinfo/details-v1', to: 'ratings.bookinfo:9080', outcome: 'blocked' as const, evidence: { events: [] } };
    const page = renderHtml([{ ...r, steps: [resolved, unresolved] }]);
    expect(page).toContain('data-step="unresolved" data-from="bookinfo/details-v1" data-to="bookinfo/ratings-v1"');
    expect(page).not.toContain('class="external"');
  });
});

describe('run --report html=PATH', () => {
  it('writes the page renderHtml makes of the run\'s results, next to the stdout format', async () => {
    const tmp = mkdtempSync(path.join(root, 'test', '.tmp-html-cli-'));
    try {
      const file = path.join(path.relative(root, tmp), 'run.html');
      const r = await cli('run', ...SCENARIOS, '--report', `html=${file}`, '--report', `json=${file}.json`);
      expect(r.code).toBe(0);
      expect(readFileSync(file, 'utf8')).toBe(renderHtml(results));
      expect(readFileSync(`${file}.json`, 'utf8')).toBe(renderJson(results));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('an unknown report format is refused with a message that lists html among the formats', async () => {
    const r = await cli('run', SCENARIOS[0] as string, '--report', 'pdf=x.pdf');
    expect(r.code).toBe(2);
    expect(r.err).toContain('FORMAT one of json, junit, markdown, sarif, html');
  });
});

describe('the JSON report', () => {
  it('does not carry the mesh the HTML report draws: the JSON contract is unchanged', () => {
    expect(results[0]?.mesh?.workloads.length).toBeGreaterThan(0);
    const json = JSON.parse(renderJson(results)) as Record<string, unknown>[];
    for (const r of json) expect(Object.hasOwn(r, 'mesh')).toBe(false);
  });
});
