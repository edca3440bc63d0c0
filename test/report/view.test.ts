/** The neutral view a screen draws of a step's decision and of the mesh (report/view.ts). */
import { describe, expect, it } from 'vitest';
import { headerView, HOP_ORDER, meshView, sparkline, sparkViews, stepRows, stepView } from '../../src/report/view.js';
import { shippedRun } from '../tui/run.js';

describe('neutral step view', () => {
  it('a blocked request shows its hops in packet order with the stopping hop marked, and its sole defence', async () => {
    const { result } = await shippedRun('payments-strict-principal');
    const v = stepView(result.steps.find((s) => s.id === 'web-charges')!);
    const order = v.hops.map((h) => HOP_ORDER.indexOf(h.hop));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(v.hops.map((h) => h.hop)).toEqual(expect.arrayContaining(['client-sidecar', 'network', 'server-sidecar', 'app']));
    expect(v.hops.filter((h) => h.stopped).map((h) => h.hop)).toEqual(['server-sidecar']);
    expect(v.stoppedBy[0]).toMatch(/^AuthorizationPolicy payments\/payments-allow-shop-api/);
    expect(v.defences).toContainEqual({ label: 'AuthorizationPolicy payments/payments-allow-shop-api', sole: true, stopped: true });
    expect(v.hops.find((h) => h.hop === 'app')?.lines).toEqual(['not reached']);
    expect(v.response[0]).toMatch(/^403 /);
  });

  it('a request the egress policy refuses is marked as stopped at the client sidecar, not the server', async () => {
    const { result } = await shippedRun('payments-egress-registry-only');
    const v = stepView(result.steps.find((s) => s.id === 'api-to-unregistered-host')!);
    expect(v.hops.filter((h) => h.stopped).map((h) => h.hop)).toEqual(['client-sidecar']);
  });

  it('an allowed request shows the request as the app saw it and the response the client saw', async () => {
    const { result } = await shippedRun('payments-strict-principal');
    const v = stepView(result.steps.find((s) => s.id === 'api-charges')!);
    expect(v.request[0]).toMatch(/\(as the app saw it\)$/);
    expect(v.response[0]).toMatch(/^200/);
    expect(v.hops.some((h) => h.stopped)).toBe(false);
  });

  it('a pivot shows its attack graph by hop, each attempt once, blocked ones with their control', async () => {
    const { result } = await shippedRun('bookinfo-pivot-open');
    const v = stepView(result.steps[0]!);
    expect(v.graph[0]).toMatchObject({ hop: 1, from: 'bookinfo/productpage-v1' });
    expect(v.graph[0]!.lines).toContain('→ bookinfo/ratings-v1:9080 allowed');
    expect(v.graph[0]!.lines.filter((l) => l === '→ bookinfo/ratings-v1:9080 allowed')).toHaveLength(1);
    expect(v.graph.flatMap((g) => g.lines).some((l) => / blocked by Gateway/.test(l))).toBe(true);
  });

  it('a sniff shows the flows it observed, in clear or encrypted', async () => {
    const { result } = await shippedRun('sniff-permissive-legacy-token');
    const flows = result.steps.flatMap((s) => stepView(s).flows);
    expect(flows.some((f) => !f.encrypted)).toBe(true);
  });

  it('the header and the step rows carry verdict, expectations and outcome marks', async () => {
    const { result } = await shippedRun('flood-rate-limited');
    expect(headerView(result)).toMatchObject({ scenario: 'flood-rate-limited', verdict: result.verdict, expectations: '2/2', allMet: true, endMs: 5000 });
    expect(stepRows(result).map((r) => [r.id, r.mark, r.outcome])).toEqual([['probe-before-flood', '✓', 'allowed'], ['flood-reviews', '✓', 'partial']]);
  });

  it('a step id with terminal control characters is escaped in every view', () => {
    const step = { id: 'x\u001b[2J', action: 'request', outcome: 'blocked' as const, expected: null, code: 403, mtls: true, stoppedBy: [], attack: true,
      expectationMet: null, from: 'a/b', t: 0, evidence: { events: [{ t: 0, hop: 'server-sidecar' as const, what: 'evil\u001b]0;title\u0007' }] } };
    const v = stepView(step);
    expect(JSON.stringify(v)).not.toContain('\u001b');
  });
});

describe('neutral mesh view', () => {
  it('groups workloads by namespace with sidecar and mTLS badges and marks the step path with its outcome', async () => {
    const { result, mesh } = await shippedRun('payments-strict-principal');
    const step = result.steps.find((s) => s.id === 'web-charges')!;
    const ns = meshView(mesh, step);
    expect(ns.map((n) => n.name)).toEqual([...ns.map((n) => n.name)].sort());
    const all = ns.flatMap((n) => n.workloads);
    const target = all.find((w) => w.id === step.evidence.destination?.workload);
    expect(target).toMatchObject({ onPath: 'blocked', sidecar: true, mtls: 'STRICT' });
    expect(all.find((w) => w.id === step.from)?.source).toBe(true);
    expect(all.filter((w) => w.onPath !== null)).toHaveLength(1);
  });
});

describe('sparklines over simulated time (issue 10: ok / 429 / 503 per flow)', () => {
  it('a rate-limited flood and the legitimate flow it shares the bucket with each get an ok and a 429 sparkline; the JSON report carries no timeline', async () => {
    const { runFiles } = await import('../../src/api/run.js');
    const { FsSource, Sandbox } = await import('../../src/cli/fs.js');
    const { renderJson } = await import('../../src/report/json.js');
    const r = (await runFiles(['scenarios/flood-rate-limited.yaml'], new FsSource(Sandbox.forCwd([])))).results[0];
    if (!r) throw new Error('no result');
    const flood = r.steps.find((s) => s.action === 'flood');
    const fl = sparkViews(r, `step ${flood?.id ?? ''}`);
    expect(fl.map((x) => x.label)).toEqual(['ok', '429']);
    expect(fl[0]?.total).toBe(flood?.evidence.flood?.ok);
    expect(fl[1]?.total).toBe(flood?.evidence.flood?.statuses['429']);
    expect(fl[1]?.line).toMatch(/[▁▂▃▄▅▆▇█]/);
    expect(sparkViews(r, 'traffic[0]').map((x) => x.label)).toContain('429');
    expect(renderJson([r])).not.toContain('timeline');
  });

  it('a sparkline scales each bucket to the largest and leaves empty buckets blank', () => {
    expect(sparkline([0, 1, 2, 4, 8])).toBe(' ▁▂▄█');
    expect(sparkline([0, 0])).toBe('  ');
  });
});
