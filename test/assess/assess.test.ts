import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessManifests, assessMeshes, type AssessReport } from '../../src/assess/assess.js';
import { ingressRoutes, reachPaths } from '../../src/assess/reach.js';
import { renderAssessMarkdown, renderAssessSarif, renderAssessText, SARIF_MAX_RESULTS } from '../../src/report/assess.js';
import { MESHRANGE_VERSION } from '../../src/core/version.js';
import { cli } from '../cli/harness.js';
import { shipped } from '../analysis/reach-fixtures.js';

const STRICT = readFileSync('scenarios/meshes/policies/backend-strict/peerauthentication.yaml', 'utf8');

let tmp: string;
let strict: string;
let permissive: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'meshrange-assess-'));
  strict = path.join(tmp, 'strict');
  permissive = path.join(tmp, 'permissive');
  for (const d of [strict, permissive]) cpSync('scenarios/meshes/three-ns', d, { recursive: true });
  writeFileSync(path.join(strict, 'pa.yaml'), STRICT);
  writeFileSync(path.join(permissive, 'pa.yaml'), STRICT.replace('mode: STRICT', 'mode: PERMISSIVE'));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('assess between two folders that differ by one PeerAuthentication', () => {
  it('STRICT → PERMISSIVE: risk up, the plaintext paths from the sidecar-less legacy/batch are newly reachable, exit 1 under --check', async () => {
    const r = await cli('assess', '--before', strict, '--after', permissive, '--format', 'json', '--check');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as AssessReport;
    expect(j.risk).toBe('up');
    expect(j.newlyReachable.map((p) => ({ from: p.from, to: p.to, port: p.port }))).toEqual([
      { from: 'legacy/batch', to: 'api.backend', port: 80 },
      { from: 'legacy/batch', to: 'db.backend', port: 5432 },
    ]);
    expect(j.newlyReachable.map((p) => p.mtls)).toEqual([false, false]);
    // located at the PeerAuthentication the change turned PERMISSIVE, where a reviewer acts
    expect(j.newlyReachable[0]?.loc?.file).toMatch(/permissive\/pa\.yaml$/);
    expect(j.newlyReachable[0]?.stoppedBy[0]).toMatch(/^PeerAuthentication backend\/default: .*plaintext/);
    expect(j.noLongerReachable).toEqual([]);
  });

  it('PERMISSIVE → STRICT: risk down, the same paths no longer reachable, now stopped by the PeerAuthentication; exit 0 under --check', async () => {
    const r = await cli('assess', '--before', permissive, '--after', strict, '--format', 'json', '--check');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as AssessReport;
    expect(j.risk).toBe('down');
    expect(j.newlyReachable).toEqual([]);
    expect(j.noLongerReachable.map((p) => `${p.from} ${p.to}:${p.port}`)).toEqual(['legacy/batch api.backend:80', 'legacy/batch db.backend:5432']);
    expect(j.noLongerReachable[0]?.stoppedBy.join(' ')).toContain('STRICT');
  });

  it('the same folder on both sides: risk same, nothing listed', async () => {
    const r = await cli('assess', '--before', strict, '--after', strict, '--format', 'json', '--check');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as AssessReport;
    expect(j.risk).toBe('same');
    expect(j.newlyReachable.length + j.noLongerReachable.length + j.steps.length).toBe(0);
  });

  it('scenarios run on both sides with the side folder as their mesh: a step blocked by STRICT before and allowed after is a regression', async () => {
    const r = await cli('assess', '--before', strict, '--after', permissive, 'scenarios/strict-backend-namespace.yaml', '--format', 'json');
    const j = JSON.parse(r.out) as AssessReport;
    const step = j.steps.find((s) => s.step === 'plaintext-to-api');
    expect(step).toMatchObject({ scenario: 'strict-backend-namespace', before: 'blocked', after: 'allowed', kind: 'regression', attack: true });
    expect(step?.stoppedByBefore).toEqual(['PeerAuthentication backend/default']);
    expect(step?.loc?.file).toBe('scenarios/strict-backend-namespace.yaml');
    expect(j.summary.regressions).toBeGreaterThan(0);
  });

  it('a change that deletes the RequestAuthentication is assessed, not refused: clients still send tokens signed with the issuer\'s key, and the valid one is now refused', async () => {
    const before = path.join(tmp, 'jwt-before');
    const after = path.join(tmp, 'jwt-after');
    for (const d of [before, after]) cpSync('scenarios/meshes/payments', d, { recursive: true });
    const text = readFileSync(path.join(after, 'ingress-jwt.yaml'), 'utf8');
    writeFileSync(path.join(after, 'ingress-jwt.yaml'), text.slice(text.indexOf('---') + 4));
    expect(readFileSync(path.join(after, 'ingress-jwt.yaml'), 'utf8')).not.toContain('kind: RequestAuthentication');
    const r = await cli('assess', '--before', before, '--after', after, 'scenarios/payments-ingress-jwt.yaml', '--format', 'json');
    expect(r.err).not.toContain('no-signing-key');
    expect(r.code).not.toBe(2);
    const j = JSON.parse(r.out) as AssessReport;
    expect(j.steps.find((s) => s.step === 'valid-token-to-api')).toMatchObject({ before: 'allowed', after: 'blocked' });
  });

  it('a change that adds the RequestAuthentication, or repoints its jwksUri, is assessed too: each side signs with the keys either side names', async () => {
    const withRa = path.join(tmp, 'jwt-with');
    const without = path.join(tmp, 'jwt-without');
    const repointed = path.join(tmp, 'jwt-repointed');
    for (const d of [withRa, without, repointed]) cpSync('scenarios/meshes/payments', d, { recursive: true });
    const text = readFileSync(path.join(without, 'ingress-jwt.yaml'), 'utf8');
    writeFileSync(path.join(without, 'ingress-jwt.yaml'), text.slice(text.indexOf('---') + 4));
    writeFileSync(path.join(repointed, 'ingress-jwt.yaml'), text.replace(/jwksUri: \S+/, 'jwksUri: https://auth.shop.example/nowhere'));
    const added = await cli('assess', '--before', without, '--after', withRa, 'scenarios/payments-ingress-jwt.yaml', '--format', 'json');
    expect(added.err).not.toContain('no-signing-key');
    expect((JSON.parse(added.out) as AssessReport).steps.find((s) => s.step === 'valid-token-to-api')).toMatchObject({ before: 'blocked', after: 'allowed' });
    const moved = await cli('assess', '--before', withRa, '--after', repointed, 'scenarios/payments-ingress-jwt.yaml', '--format', 'json');
    expect(moved.err).not.toContain('no-signing-key');
    // the token is still signed with the issuer's key; the gateway can no longer fetch a JWKS for it: refused (401)
    expect((JSON.parse(moved.out) as AssessReport).steps.find((s) => s.step === 'valid-token-to-api')).toMatchObject({ before: 'allowed', after: 'blocked' });
  });

  it('the same inputs give the same report, byte for byte', async () => {
    const a = await cli('assess', '--before', strict, '--after', permissive, 'scenarios/strict-backend-namespace.yaml', '--format', 'json');
    const b = await cli('assess', '--before', strict, '--after', permissive, 'scenarios/strict-backend-namespace.yaml', '--format', 'json');
    expect(a.out).toBe(b.out);
  });

  it('--report writes the SARIF and Markdown beside stdout; a missing folder-or-ref exits 2 and writes nothing', async () => {
    const sarif = path.join(tmp, 'out', 'a.sarif');
    const r = await cli('assess', '--before', strict, '--after', permissive, '--report', `sarif=${sarif}`, '--report', `markdown=${path.join(tmp, 'out', 'a.md')}`);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(sarif, 'utf8')).runs[0].results).toHaveLength(2);
    const bad = await cli('assess', '--before', path.join(tmp, 'nope'), '--after', permissive, '--repo', tmp, '--report', `sarif=${path.join(tmp, 'out', 'b.sarif')}`);
    expect(bad.code).toBe(2);
    expect(() => readFileSync(path.join(tmp, 'out', 'b.sarif'))).toThrow();
  });
});

describe('reach covers every Service port and every ingress route', () => {
  it('payments: outside reaches shop.example.com through the ingress gateway routes, and no ClusterIP Service directly', () => {
    const mesh = shipped(['payments']);
    const routes = ingressRoutes(mesh);
    expect(routes.map((r) => `${r.host}${r.path}:${r.servicePort}`)).toContain('shop.example.com/api:443');
    const r = reachPaths(mesh);
    if (!r.ok) throw new Error(r.message);
    const outside = r.value.paths.filter((p) => p.from === 'outside');
    expect(outside.every((p) => p.via === 'ingress')).toBe(true);
    expect(outside.map((p) => p.workloads).flat()).toContain('shop/web');
  });

  it('removing the VirtualService that binds the gateway makes its routes no longer reachable from outside', () => {
    const before = shipped(['payments']);
    const after = { ...before, virtualServices: before.virtualServices.filter((v) => v.meta.name !== 'shop') };
    const d = assessMeshes(before, after);
    if ('error' in d) throw new Error(d.error);
    expect(d.noLongerReachable.some((p) => p.from === 'outside' && p.via === 'ingress' && p.to.startsWith('shop.example.com/'))).toBe(true);
    expect(d.newlyReachable).toEqual([]);
  });
});

describe('assessMeshes compares two loaded meshes', () => {
  it('adding bookinfo\'s allow-nothing policy: every in-mesh path into bookinfo is no longer reachable, each now stopped by AuthorizationPolicy; nothing new', () => {
    const d = assessMeshes(shipped(['bookinfo']), shipped(['bookinfo', 'policies/bookinfo-deny-all']));
    if ('error' in d) throw new Error(d.error);
    expect(d.newlyReachable).toEqual([]);
    const inMesh = d.noLongerReachable.filter((p) => p.from.startsWith('bookinfo/'));
    expect(inMesh.length).toBeGreaterThan(0);
    for (const p of inMesh) expect(p.stoppedBy[0]).toMatch(/^AuthorizationPolicy /);
  });

  it('a Service added by the change is newly reachable, and nothing stopped it before (it did not exist)', () => {
    const before = shipped(['three-ns']);
    const after = shipped(['three-ns'], `apiVersion: v1
kind: Service
metadata: { name: api-admin, namespace: backend }
spec:
  selector: { app: api }
  ports: [{ name: http, port: 8081, targetPort: 8080 }]
`);
    const d = assessMeshes(before, after);
    if ('error' in d) throw new Error(d.error);
    expect(d.newlyReachable.map((p) => `${p.from} ${p.to}:${p.port}`)).toContain('frontend/web api-admin.backend:8081');
    expect(d.newlyReachable.every((p) => p.to === 'api-admin.backend' && p.stoppedBy.length === 0)).toBe(true);
    expect(d.noLongerReachable).toEqual([]);
  });
});

describe('assessManifests (the library entry over manifest texts)', () => {
  const files = (dir: string, extra: string): { path: string; text: string }[] => [
    ...readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ path: path.join(dir, f), text: readFileSync(path.join(dir, f), 'utf8') })),
    { path: 'pa.yaml', text: extra },
  ];
  it('STRICT → PERMISSIVE as texts: risk up; an invalid side is an error value naming the side', () => {
    const r = assessManifests(files('scenarios/meshes/three-ns', STRICT), files('scenarios/meshes/three-ns', STRICT.replace('mode: STRICT', 'mode: PERMISSIVE')));
    expect(r.ok && r.risk).toBe('up');
    const bad = assessManifests(files('scenarios/meshes/three-ns', STRICT), [{ path: 'x.yaml', text: 'kind: [' }]);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.errors[0]?.message).toMatch(/^after: /);
  });
});

describe('assess renderers', () => {
  const report: AssessReport = {
    before: 'main (abc)', after: 'HEAD | <!-- x -->', risk: 'up', riskReasons: ['1 path newly reachable'],
    newlyReachable: [{ from: 'a/b', to: 'svc.ns|`x`', port: 80, via: 'service', workloads: ['ns/svc'], mtls: false, stoppedBy: ['PeerAuthentication ns/default: plain\ntext'], loc: { file: 'k8s/svc.yaml', line: 7, col: 1 } }],
    noLongerReachable: [],
    steps: [{ scenario: 's', step: 'x', action: 'request', attack: true, before: 'blocked', after: 'allowed', kind: 'regression', stoppedByBefore: ['PeerAuthentication ns/default'], stoppedByAfter: [], loc: { file: 'scen/s.yaml', line: 12, col: 7 } }],
    traffic: [], stepsAdded: [], stepsRemoved: [], trafficAdded: [], trafficRemoved: [],
    summary: { pathsBefore: 1, pathsAfter: 2, scenarios: 1, regressions: 1, improvements: 0, broken: 0 },
  };
  it('Markdown: a pipe, a backtick or an HTML comment in a name is escaped, never a table cell or markup', () => {
    const md = renderAssessMarkdown(report);
    expect(md).toContain('svc\\.ns\\|\\`x\\`');
    expect(md).not.toContain('<!--');
    expect(md).toContain('PeerAuthentication ns/default: plain text |');
  });
  it('SARIF: the tool version, one result per newly reachable path and per regressed step, each with a region', () => {
    const s = JSON.parse(renderAssessSarif(report));
    expect(s.runs[0].tool.driver.version).toBe(MESHRANGE_VERSION);
    // as run's and lint's SARIF: code-scanning tools read semanticVersion to compare runs
    expect(s.runs[0].tool.driver.semanticVersion).toBe(MESHRANGE_VERSION);
    expect(s.runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toEqual(['meshrange/newly-reachable', 'meshrange/step-regressed']);
    expect(s.runs[0].results[1].locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'scen/s.yaml' }, region: { startLine: 12, startColumn: 7 } });
  });
  it('SARIF: a name with a Markdown link or a bidi mark is shown in the message, never an embedded link (SARIF §3.11.6)', () => {
    const hostile: AssessReport = { ...report, steps: report.steps.map((st) => ({ ...st, step: '[x](https://evil.example)\u202e' })) };
    const texts = (JSON.parse(renderAssessSarif(hostile)).runs[0].results as { message: { text: string } }[]).map((r) => r.message.text);
    expect(texts[1]).toContain('[x\\](https://evil.example)\\u202e');
    expect(texts[1]).not.toContain('\u202e');
  });

  it(`SARIF lists at most ${SARIF_MAX_RESULTS} results and counts the rest in one note, never dropping them silently`, () => {
    const many: AssessReport = { ...report, steps: [], newlyReachable: Array.from({ length: SARIF_MAX_RESULTS + 3 }, (_, i) => ({ ...(report.newlyReachable[0] as AssessReport['newlyReachable'][number]), port: i + 1 })) };
    const res = JSON.parse(renderAssessSarif(many)).runs[0].results as { ruleId: string; message: { text: string } }[];
    expect(res).toHaveLength(SARIF_MAX_RESULTS + 1);
    expect(res.at(-1)?.ruleId).toBe('meshrange/results-not-listed');
    expect(res.at(-1)?.message.text).toMatch(/^3 more results/);
  });
  it('text and Markdown list legitimate flows found on one side only, never dropping them', () => {
    const r: AssessReport = { ...report, trafficAdded: [{ scenario: 's', from: 'ns/a', to: 'new:80' }], trafficRemoved: [{ scenario: 's', from: 'ns/a', to: 'old:80' }] };
    const t = renderAssessText(r);
    expect(t).toContain('legitimate traffic on the after side only (1):\n  + s: ns/a → new:80');
    expect(t).toContain('legitimate traffic on the before side only (1):\n  - s: ns/a → old:80');
    const md = renderAssessMarkdown(r);
    expect(md).toContain('### Legitimate traffic on the after side only (1)');
    expect(md).toContain('### Legitimate traffic on the before side only (1)');
    expect(md).toContain('old:80');
  });
  it('warnings reach every format: a Markdown list, SARIF tool notifications, text lines; none, and the formats stay as they were', () => {
    const warned: AssessReport = { ...report, risk: 'same', warnings: ['after (HEAD): the mesh has no workload | <!-- x -->', 'k8s/t.yaml:3:1: Telemetry ns/t is not modeled'] };
    const md = renderAssessMarkdown(warned);
    expect(md).toContain('**⚠ Warnings (2)**');
    expect(md).toContain('- after \\(HEAD\\): the mesh has no workload \\| \\<\\!\\-\\- x \\-\\-\\>');
    expect(md).not.toContain('<!--');
    // before the tables, where a reviewer reads first
    expect(md.indexOf('Warnings')).toBeLessThan(md.indexOf('### Newly reachable'));
    const run = JSON.parse(renderAssessSarif(warned)).runs[0];
    expect(run.invocations).toEqual([{ executionSuccessful: true, toolExecutionNotifications: [
      { level: 'warning', message: { text: 'after (HEAD): the mesh has no workload | <!-- x -->' } },
      { level: 'warning', message: { text: 'k8s/t.yaml:3:1: Telemetry ns/t is not modeled' } }] }]);
    expect(renderAssessText(warned)).toContain('\nwarning: k8s/t.yaml:3:1: Telemetry ns/t is not modeled\n');
    expect(renderAssessMarkdown({ ...report, warnings: [] })).not.toContain('Warnings');
    expect(JSON.parse(renderAssessSarif({ ...report, warnings: [] })).runs[0].invocations).toBeUndefined();
  });
  it('text: names the risk and why, a newline in a reason stays escaped', () => {
    const t = renderAssessText(report);
    expect(t).toContain('risk UP');
    expect(t).toContain('plain\\ntext');
  });
});

describe('bad input to assess and blast-radius: exit 2, located, never an internal error', () => {
  const corpus = readdirSync('test/fixtures/invalid').filter((f) => f.endsWith('.yaml')).sort();
  it('every file of the invalid-manifest corpus as the mesh of blast-radius and as a side of assess', async () => {
    for (const f of corpus) {
      const file = path.join('test/fixtures/invalid', f);
      const b = await cli('blast-radius', '--mesh', file);
      expect(b.code, f).toBe(2);
      expect(b.err, f).not.toContain('internal error');
      const side = path.join(tmp, 'bad', f.replace(/\.yaml$/, ''));
      mkdirSync(side, { recursive: true });
      cpSync(file, path.join(side, f));
      const a = await cli('assess', '--before', side, '--after', strict);
      expect(a.code, f).toBe(2);
      expect(a.err, f).toContain('before (');
      expect(a.err, f).not.toContain('internal error');
      expect(a.out, f).toBe('');
    }
  });
});
