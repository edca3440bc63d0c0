/**
 * assess weighs posture (the `meshrange lint` findings a change adds and removes, src/assess/posture.ts), and
 * treats a legitimate step the change breaks as broken legitimate traffic, never as a security improvement.
 * Fixture: test/fixtures/assess/shop — every workload has a sidecar, mesh-wide STRICT, ALLOW policies on principals.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessManifests, assessMeshes, type AssessReport } from '../../src/assess/assess.js';
import { loadMesh } from '../../src/loader/load.js';
import { renderAssessMarkdown, renderAssessSarif, renderAssessText } from '../../src/report/assess.js';
import { cli } from '../cli/harness.js';

const SHOP = 'test/fixtures/assess/shop';
const SCENARIO = 'test/fixtures/assess/shop-scenario.yaml';
let tmp: string;
let strict: string;
let permissive: string;
let typo: string;
let deleted: string;

/** A copy of the shop mesh with its security.yaml edited. */
function variant(name: string, edit: (security: string) => string): string {
  const dir = path.join(tmp, name);
  cpSync(SHOP, dir, { recursive: true });
  const f = path.join(dir, 'security.yaml');
  writeFileSync(f, edit(readFileSync(f, 'utf8')));
  return dir;
}

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'meshrange-assess-posture-'));
  strict = variant('strict', (s) => s);
  permissive = variant('permissive', (s) => s.replace('mode: STRICT', 'mode: PERMISSIVE'));
  typo = variant('typo', (s) => s.replace('sa/orders-api"', 'sa/order-api"'));
  deleted = variant('deleted', (s) => s.slice(s.indexOf('---\n') + 4));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('posture: a control the change weakens is risk up even when no path changes', () => {
  it('a posture finding at warning or above that the change adds is risk up, with the lint codes counted; --check exits 1', async () => {
    const r = await cli('assess', '--before', strict, '--after', permissive, '--format', 'json', '--check');
    expect(r.code, r.err).toBe(1);
    const j = JSON.parse(r.out) as AssessReport;
    // every pod has a sidecar: no client of today's mesh sends plaintext, so reach alone saw nothing
    expect(j.newlyReachable).toEqual([]);
    expect(j.noLongerReachable).toEqual([]);
    expect(j.risk).toBe('up');
    expect((j.postureAdded ?? []).map((f) => [f.code, f.resource, f.weighed])).toEqual([
      ['MR0101', 'PeerAuthentication istio-system/default', true],
      ['MR0103', 'AuthorizationPolicy orders/orders-allow-frontend', true],
      ['MR0103', 'AuthorizationPolicy data/postgres-allow-orders', true],
    ]);
    expect(j.postureAdded?.[0]?.loc).toEqual({ file: path.join(permissive, 'security.yaml'), line: 1, col: 1 });
    expect(j.postureRemoved).toEqual([]);
    expect(j.riskReasons).toEqual(['3 posture findings that weaken a control added (MR0101 ×1, MR0103 ×2)']);
    expect(j.summary).toMatchObject({ postureAdded: 3, postureRemoved: 0 });
  });

  it('deleting the mesh-wide STRICT PeerAuthentication weakens as much as editing it to PERMISSIVE: risk up, though lint only advises (info) on the default', () => {
    const files = (dir: string) => ['00-ns.yaml', 'apps.yaml', 'routing.yaml', 'security.yaml'].map((f) => ({ path: `${dir}/${f}`, text: readFileSync(path.join(dir, f), 'utf8') }));
    const r = assessManifests(files(strict), files(deleted));
    if (!r.ok) throw new Error(r.issues.errors.map((e) => e.message).join('\n'));
    expect(r.risk).toBe('up');
    const added = r.postureAdded.filter((f) => f.code === 'MR0101');
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((f) => f.severity === 'info' && f.weighed)).toBe(true);
    // and the reverse (adding it back) strengthens
    const back = assessManifests(files(deleted), files(strict));
    expect(back.ok && back.risk).toBe('down');
  });

  it('the library\'s assessMeshes weighs posture as the command does: STRICT → PERMISSIVE is risk up with no path changed', () => {
    const load = (dir: string) => loadMesh(['00-ns.yaml', 'apps.yaml', 'routing.yaml', 'security.yaml'].map((f) => ({ path: `${dir}/${f}`, text: readFileSync(path.join(dir, f), 'utf8') }))).mesh;
    const r = assessMeshes(load(strict), load(permissive));
    if ('error' in r) throw new Error(r.error);
    expect(r.newlyReachable).toEqual([]);
    expect(r.risk).toBe('up');
    expect(r.postureAdded.map((f) => f.code)).toContain('MR0101');
    const back = assessMeshes(load(permissive), load(strict));
    expect('risk' in back && back.risk).toBe('down');
  });

  it('the text headline never says nothing changed when a control weakened', async () => {
    const r = await cli('assess', '--before', strict, '--after', permissive);
    expect(r.out).toContain('risk UP — the change opens paths, lets an attack step through or weakens a control');
    expect(r.out).not.toMatch(/no exposure changed|risk SAME/);
    expect(r.out).toContain('posture findings added (meshrange lint) (3):');
    expect(r.out).toContain('+ MR0101 warning (weakens a control): PeerAuthentication istio-system/default leaves');
  });

  it('the reverse change removes the findings: risk down, a control strengthened; --check passes', async () => {
    const r = await cli('assess', '--before', permissive, '--after', strict, '--format', 'json', '--check');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as AssessReport;
    expect(j.risk).toBe('down');
    expect((j.postureRemoved ?? []).map((f) => f.code)).toEqual(['MR0101', 'MR0103', 'MR0103']);
    expect(j.riskReasons).toEqual(['3 posture findings that weaken a control removed (MR0101 ×1, MR0103 ×2): a control strengthened']);
  });

  it('a weakened control is risk up even when the same change closes paths (reach sees only today\'s clients)', async () => {
    const both = variant('both', (s) => s.replace('mode: STRICT', 'mode: PERMISSIVE').replace('sa/orders-api"', 'sa/order-api"'));
    const j = JSON.parse((await cli('assess', '--before', strict, '--after', both, '--format', 'json')).out) as AssessReport;
    expect(j.noLongerReachable.length).toBeGreaterThan(0);
    expect(j.risk).toBe('up');
  });

  it('a finding on the same resource at the same severity that is only reworded is listed, not weighed', () => {
    const files = (dir: string) => ['00-ns.yaml', 'apps.yaml', 'routing.yaml', 'security.yaml'].map((f) => ({ path: `${dir}/${f}`, text: readFileSync(path.join(dir, f), 'utf8') }));
    // PERMISSIVE everywhere, then STRICT for data alone: MR0101 on the mesh-wide policy now lists one port fewer
    const dataStrict = variant('data-strict', (s) => s.replace('mode: STRICT', 'mode: PERMISSIVE')
      + '---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: data }\nspec:\n  mtls: { mode: STRICT }\n');
    const r = assessManifests(files(permissive), files(dataStrict));
    if (!r.ok) throw new Error(r.issues.errors.map((e) => e.message).join('\n'));
    const mr0101 = (xs: typeof r.postureAdded) => xs.filter((f) => f.code === 'MR0101');
    expect(mr0101(r.postureAdded)).toHaveLength(1);
    expect(mr0101(r.postureRemoved)).toHaveLength(1);
    expect(mr0101(r.postureAdded)[0]?.weighed).toBe(false);
    expect(mr0101(r.postureRemoved)[0]?.weighed).toBe(false);
    // the one finding that did go (MR0103 on postgres' policy) makes it down, the reworded MR0101 weighs nothing
    expect(r.risk).toBe('down');
  });

  it('the same inputs give the same report, byte for byte, in every format', async () => {
    for (const f of ['json', 'text', 'markdown', 'sarif']) {
      const a = await cli('assess', '--before', strict, '--after', permissive, '--format', f);
      const b = await cli('assess', '--before', strict, '--after', permissive, '--format', f);
      expect(a.out).toBe(b.out);
    }
  });

  it('SARIF: a meshrange/posture-weakened result per weighed added finding, located at it; Markdown: a table of them', async () => {
    const j = JSON.parse((await cli('assess', '--before', strict, '--after', permissive, '--format', 'json')).out) as AssessReport;
    const sarif = JSON.parse(renderAssessSarif(j)) as { runs: { results: { ruleId: string; level: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[] };
    const res = sarif.runs[0]?.results.filter((x) => x.ruleId === 'meshrange/posture-weakened') ?? [];
    expect(res.map((x) => [x.level, x.locations[0]?.physicalLocation.region.startLine])).toEqual([['warning', 1], ['warning', 14], ['warning', 26]]);
    expect(renderAssessMarkdown(j)).toContain('### Posture findings added (3)');
  });
});

describe('broken legitimate traffic: a legitimate step the change breaks is broken, never an improvement', () => {
  it('a typo\'d principal that blocks a legitimate step is broken legitimate traffic, not an improvement; --check fails on risk up only (product.md), so not here', async () => {
    const r = await cli('assess', '--before', strict, '--after', typo, SCENARIO, '--format', 'json', '--check');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as AssessReport;
    expect(j.steps).toEqual([expect.objectContaining({ step: 'legit-orders-db', attack: false, before: 'allowed', after: 'blocked', kind: 'broken' })]);
    expect(j.summary).toMatchObject({ improvements: 0, regressions: 0, broken: 1 });
    expect(j.riskReasons).toContain('1 legitimate flow or step broken (not a risk change: an outage)');
    expect(j.riskReasons.join('\n')).not.toContain('attack step');
    const text = renderAssessText(j);
    expect(text).toContain('broken legitimate traffic (1):\n  ! shop-check/legit-orders-db (request, legitimate): allowed → blocked');
    expect(text).not.toContain('improvement');
    const sarif = JSON.parse(renderAssessSarif(j)) as { runs: { results: { ruleId: string }[] }[] };
    expect(sarif.runs[0]?.results.map((x) => x.ruleId)).toEqual(['meshrange/legitimate-broken']);
    expect(renderAssessMarkdown(j)).toContain('### Broken legitimate traffic (1)');
  });

  it('the fix of that typo is not a regression either: the legitimate step is only changed', async () => {
    const r = await cli('assess', '--before', typo, '--after', strict, SCENARIO, '--format', 'json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as AssessReport;
    expect(j.steps).toEqual([expect.objectContaining({ step: 'legit-orders-db', kind: 'changed' })]);
    expect(j.summary).toMatchObject({ regressions: 0, broken: 0 });
  });
});
