/**
 * The HTML report in a real browser (issue 10 item 2): Chromium from the
 * system's packages, driven by puppeteer-core (which downloads no browser).
 * One launch, one page, for the whole file. With no Chromium on the machine
 * the tests are skipped and the reason printed; .ci/run installs it so CI
 * runs them.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFiles } from '../../src/api/run.js';
import { cli } from '../cli/harness.js';
import { FsSource, Sandbox } from '../../src/cli/fs.js';
import type { RunResult } from '../../src/scenario/types.js';

const root = path.resolve(__dirname, '../..');

/** The few DOM members the page functions use (the project compiles without the DOM lib). */
interface DomNode { getAttribute(name: string): string | null; checkVisibility(): boolean; innerText: string; open: boolean }
const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((x): x is string => x !== undefined && x !== '');
const chromium = CANDIDATES.find((p) => existsSync(p));
if (!chromium) console.warn(`skipping the HTML report's browser tests: no Chromium at ${CANDIDATES.join(', ')} (apt-get install chromium, or set CHROMIUM_PATH)`);

/** A pivot with blocked edges, and a suite of request steps in another mesh. */
const SCENARIOS = ['scenarios/bookinfo-pivot-contained.yaml', 'scenarios/payments-strict-principal.yaml'];

describe.skipIf(!chromium)('the HTML report in Chromium', () => {
  let tmp = '';
  let browser: Browser | undefined;
  let page: Page;
  let html = '';
  let results: RunResult[] = [];
  const problems: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(root, 'test', '.tmp-html-'));
    const file = path.join(path.relative(root, tmp), 'report.html');
    const run = await cli('run', ...SCENARIOS, '--report', `html=${file}`);
    expect(run.code).toBe(0);
    html = readFileSync(file, 'utf8');
    results = (await runFiles(SCENARIOS, new FsSource(Sandbox.forCwd([]), new Set()))).results;
    const puppeteer = (await import('puppeteer-core')).default;
    browser = await puppeteer.launch({ executablePath: chromium as string, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => { problems.push(`page error: ${e instanceof Error ? e.message : String(e)}`); });
    page.on('requestfailed', (r) => { problems.push(`request failed: ${r.url()}`); });
    page.on('request', (r) => { requests.push(r.url()); });
    await page.goto(pathToFileURL(path.resolve(file)).href, { waitUntil: 'load' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the page loads with no console error or warning, no script error, and requests nothing but its own file', () => {
    expect(problems).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file://') || !u.endsWith('/report.html'))).toEqual([]);
    expect(html).not.toMatch(/\b(?:src|href|xlink:href|action|poster|srcset)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<(?:link|iframe|img|object|embed)\b/i);
  });

  it('the SVG of each scenario has one node per workload of its mesh, with the workload\'s id', async () => {
    expect(results).toHaveLength(2);
    for (const [i, r] of results.entries()) {
      const ids = await page.$$eval(`#scenario-${i} svg .workload`, (gs) => gs.map((g) => (g as unknown as DomNode).getAttribute('data-id')));
      const want = (r.mesh?.workloads ?? []).map((w) => w.id);
      expect(want.length).toBeGreaterThan(0);
      expect(ids).toEqual(want);
    }
  });

  it('a blocked pivot edge is drawn dashed and labelled with the control that stopped it', async () => {
    const blocked = await page.$$eval('#scenario-0 svg .edge.blocked text', (ts) => ts.map((t) => t.textContent ?? ''));
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked.some((t) => t.includes('AuthorizationPolicy'))).toBe(true);
    const dashed = await page.$$eval('#scenario-0 svg .edge.blocked path', (ps) => ps.every((p) => (p as unknown as DomNode).getAttribute('stroke-dasharray') !== null));
    expect(dashed).toBe(true);
  });

  it('a step\'s trace is hidden until its step is expanded, then shows the step\'s first trace event', async () => {
    const step = results[1]?.steps[0];
    const first = step?.evidence.events[0]?.what;
    expect(first).toBeDefined();
    const sel = '#scenario-1 details.step:first-of-type';
    const visible = (): Promise<boolean> => page.$eval(`${sel} ol.trace`, (el) => (el as unknown as DomNode).checkVisibility());
    expect(await visible()).toBe(false);
    await page.click(`${sel} > summary`);
    expect(await visible()).toBe(true);
    const text = await page.$eval(`${sel} ol.trace`, (el) => (el as unknown as DomNode).innerText);
    expect(text).toContain(first);
  });

  it('"expand all" opens every step of its scenario (the inline script runs under the page\'s Content-Security-Policy)', async () => {
    await page.click('#scenario-0 button[data-open="1"]');
    const open = await page.$$eval('#scenario-0 details.step', (ds) => ds.map((d) => (d as unknown as DomNode).open));
    expect(open.length).toBe(results[0]?.steps.length);
    expect(open.every((o) => o)).toBe(true);
  });
});
