/**
 * How the attack features compose (each case found when the parallel branches
 * met): §3.2 re-runs read a cut-off step as through and stop at their budget
 * with a warning; sniff skips what the client's own sidecar answered; the pivot
 * memo keeps source IPs that header rules can see; cut-off uploads keep their
 * bytes.
 */
import { describe, expect, it } from 'vitest';
import { runFiles } from '../../src/api/run.js';
import { FsSource, Sandbox } from '../../src/cli/fs.js';

const reader = new FsSource(Sandbox.forCwd([]));

describe('defence variants', () => {
  it('a slow app does not hide a sole control: without the policy the request reaches the app (cut off at the run\'s end), so the policy is sole', async () => {
    const r = await runFiles(['test/fixtures/scenarios/variant-cut.yaml'], reader);
    expect(r.issues.errors).toEqual([]);
    const step = r.results[0]?.steps[0];
    expect(step?.outcome).toBe('blocked');
    expect(step?.defences).toEqual([expect.objectContaining({ control: 'AuthorizationPolicy', name: 'shop/payments-from-orders', sole: true })]);
  });

  it('a variant that needs more events than the budget stops the defence analysis with a warning; the scenario still reports', async () => {
    // flood-rate-limited needs ~21k events; without its rate limit the flood needs more than this budget allows.
    const r = await runFiles(['scenarios/flood-rate-limited.yaml'], reader, { maxEvents: 20_000 });
    expect(r.issues.errors).toEqual([]);
    expect(r.results).toHaveLength(1);
    expect(r.results[0]?.warnings.join('\n')).toMatch(/defence/i);
  });
});

describe('sniff and the client\'s own sidecar', () => {
  it('requests the client\'s own outbound rate limit answers never leave the pod: a tap on the server\'s node reads none of them', async () => {
    const r = await runFiles(['test/fixtures/scenarios/sniff-rl.yaml'], reader);
    expect(r.issues.errors).toEqual([]);
    const res = r.results[0];
    expect(res?.traffic[0]?.stoppedBy?.['RateLimit shop/web-outbound-limit']).toBeGreaterThan(100);
    const sniff = res?.steps[0];
    expect(sniff?.outcome).toBe('blocked');
    expect((sniff?.observed ?? []).reduce((n, f) => n + (f.encrypted ? 0 : f.requests), 0)).toBeLessThanOrEqual(1);
  });
});

describe('pivot memo and addresses in headers', () => {
  it('a rule on request.headers[x-forwarded-for] makes the source IP part of the memo key: a taken-over twin decides as it would alone', async () => {
    const r = await runFiles(['test/fixtures/scenarios/memo-xff.yaml'], reader);
    expect(r.issues.errors).toEqual([]);
    const [fromX2, x1Alone] = r.results[0]?.steps ?? [];
    // x1 → the gateway is decided for x1 (its IP is what the backend's rule asks for), not copied from x2's attempt.
    const toGateway = (edges: readonly { from: string; to: string; outcome: string }[]): string[] =>
      edges.filter((e) => e.from === 'app/x1' && e.to === 'istio-system/gw').map((e) => e.outcome);
    const alone = toGateway(x1Alone?.graph?.edges ?? []);
    expect(alone).toContain('allowed');
    expect(toGateway(fromX2?.graph?.edges ?? [])).toEqual(alone);
  });
});

describe('cut-off attack steps keep what they did', () => {
  it('an upload cut off by the run\'s end counts the chunks already answered: partial, with bytesOut and the §3.1 fields', async () => {
    const r = await runFiles(['test/fixtures/scenarios/cutoff-exfil.yaml'], reader);
    expect(r.issues.errors).toEqual([]);
    const up = r.results[0]?.steps.find((s) => s.id === 'exfil-via-orders');
    expect(up).toMatchObject({ outcome: 'partial', code: null, destination: 'evil.example.com:80', bytesAttempted: 1_000_000 });
    expect(up?.bytesOut).toBeGreaterThan(0);
    expect(up?.bytesOut).toBeLessThan(1_000_000);
    expect(up?.evidence.cutOff?.reason).toContain('cut off');
  });
});
