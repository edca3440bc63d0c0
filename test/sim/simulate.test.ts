/**
 * Scenarios in simulated time (issue "Time"): floods, rate limits, circuit
 * breakers, the CA and certificate expiry, stolen credentials, determinism.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { Sandbox } from '../../src/cli/fs.js';
import { prepareScenario } from '../../src/cli/mesh-input.js';
import { renderJson } from '../../src/report/json.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
import type { RunResult } from '../../src/scenario/types.js';

async function run(file: string, seed?: number): Promise<RunResult> {
  const issues = new IssueList();
  const p = prepareScenario(file, Sandbox.forCwd([]), issues);
  if (!p || !bindScenario(p.scenario, p.mesh, issues, p.jwks)) throw new Error(issues.errors.map((e) => e.message).join('\n'));
  return runScenario(p.scenario, p.mesh, { jwks: p.jwks, ...(seed !== undefined ? { seed } : {}) });
}

describe('simulated time', () => {
  it('§10 a flood against a rate-limited service is partial, with its 429 count, and the shared bucket hurts legitimate callers', async () => {
    const r = await run('scenarios/flood-rate-limited.yaml');
    const flood = r.steps.find((s) => s.action === 'flood');
    expect(flood?.outcome).toBe('partial');
    expect(flood?.evidence.flood?.statuses['429']).toBeGreaterThan(1000);
    expect(flood?.stoppedBy[0]).toMatchObject({ control: 'RateLimit', name: 'bookinfo/reviews-local-ratelimit' });
    expect(r.traffic[0]?.stoppedBy?.['RateLimit bookinfo/reviews-local-ratelimit']).toBeGreaterThan(0);
  });

  it('a flood against an unprotected app degrades the legitimate flow\'s p99 and error rate against the run without the attack', async () => {
    const r = await run('scenarios/flood-unprotected.yaml');
    const t = r.traffic[0];
    expect(t?.degraded).toBe(true);
    expect(t?.p99ms).toBeGreaterThan((t?.baseline?.p99ms ?? 0) * 3);
    expect(t?.errorRate).toBeGreaterThan(t?.baseline?.errorRate ?? 1);
    expect(r.steps[0]?.evidence.collateral?.[0]?.degraded).toBe(true);
  });

  it('§3 the attacker\'s own sidecar retries each 503 of a saturated app (Istio\'s default policy): the flood reports its retries', async () => {
    const r = await run('scenarios/flood-unprotected.yaml');
    const flood = r.steps[0]?.evidence.flood;
    expect(flood?.retries).toBeGreaterThan(flood?.sent ?? Infinity);
    expect(flood?.saturated?.reason).toContain('2 retries exhausted');
  });

  it('§3 an app a flood overwhelms is the flood\'s effect, not a control: its refusals are counted as saturated, never in stoppedBy', async () => {
    const r = await run('scenarios/flood-unprotected.yaml');
    const step = r.steps[0];
    // every request passed the controls: some answered, the rest refused by the full queue — the DoS got through
    expect(step?.outcome).toBe('allowed');
    expect(step?.stoppedBy).toEqual([]);
    expect(step?.evidence.flood?.saturated).toMatchObject({ by: ['bookinfo/details-v1'] });
    expect(step?.evidence.flood?.saturated?.n).toBe(step?.evidence.flood?.statuses['503']);
  });

  it('a flood the overwhelmed app refuses in full is allowed, not blocked: no control stopped it, the verdict is breached', async () => {
    const r = await run('test/fixtures/scenarios/flood-all-refused.yaml');
    const step = r.steps[0];
    expect(step?.evidence.flood?.ok).toBe(0);
    expect(step?.evidence.flood?.saturated?.n).toBe(step?.evidence.flood?.sent);
    expect(step).toMatchObject({ outcome: 'allowed', stoppedBy: [] });
    expect(r.verdict).toBe('breached');
  });

  it('a request the overwhelmed app refuses is stopped by App, which is not a defence: no defences, nothing in controls', async () => {
    const r = await run('test/fixtures/scenarios/flood-all-refused.yaml');
    const probe = r.steps.find((s) => s.id === 'probe-during');
    // at: 2500ms, in the middle of the flood (2 s to 3 s) above it: the step starts at its at, not when the flood ends
    expect(probe).toMatchObject({ t: 2500, outcome: 'blocked', code: 503, stoppedBy: [{ control: 'App', name: 'bookinfo/details-v1' }], defences: [], expectationMet: true });
    expect(r.controls.map((c) => c.control)).not.toContain('App');
    expect(r.controls.map((c) => c.control)).not.toContain('Routing');
  });

  it('§3 a route timeout shorter than the queue\'s wait caps the legitimate p99 near the timeout and turns queued requests into 504 UT', async () => {
    const r = await run('scenarios/flood-route-timeout.yaml');
    const t = r.traffic[0];
    expect(t?.p99ms).toBeLessThanOrEqual(100 + 2);
    expect(t?.statuses?.['504']).toBeGreaterThan(0);
    expect(t?.stoppedBy?.['VirtualService bookinfo/details']).toBeGreaterThan(0);
    expect(t?.retries).toBeUndefined();
    expect(r.steps[0]?.evidence.flood?.retries).toBeUndefined();
    const without = await run('scenarios/flood-unprotected.yaml');
    expect(r.steps[0]?.evidence.collateral?.[0]?.errorRate).toBeGreaterThan(without.steps[0]?.evidence.collateral?.[0]?.errorRate ?? 1);
  });

  it('§10 circuit breaking is enforced by the client\'s own sidecar: overflow is 503 UO there, and other clients keep their own pool', async () => {
    const r = await run('scenarios/flood-circuit-breaker.yaml');
    const flood = r.steps[0];
    expect(flood?.stoppedBy.some((s) => s.control === 'CircuitBreaker')).toBe(true);
    expect(r.traffic[0]?.degraded).toBe(false);
  });

  it('§1 a CA outage longer than the certificate lifetime fails mTLS when the certificates expire, not before', async () => {
    const r = await run('scenarios/ca-outage-cert-expiry.yaml');
    const by = Object.fromEntries(r.steps.map((s) => [s.id, s]));
    expect(by['during-outage-cert-still-valid']).toMatchObject({ outcome: 'allowed', mtls: true });
    expect(by['after-expiry']).toMatchObject({ outcome: 'blocked', code: 503, stoppedBy: [{ control: 'CertificateValidity' }] });
    expect(by['after-ca-returns']).toMatchObject({ outcome: 'allowed', mtls: true });
  });

  it('steal-credentials reports the certificate the attacker holds and until when it works', async () => {
    const r = await run('scenarios/ca-outage-cert-expiry.yaml');
    const stolen = r.steps.find((s) => s.action === 'steal-credentials')?.evidence.stolen?.[0];
    expect(stolen).toMatchObject({ kind: 'certificate', subject: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage', validUntil: '2026-01-02T00:00:00.000Z' });
  });

  it('same scenario and seed give byte-identical JSON; another seed gives another fingerprint', async () => {
    const a = await run('scenarios/flood-unprotected.yaml');
    const b = await run('scenarios/flood-unprotected.yaml');
    expect(renderJson([a])).toBe(renderJson([b]));
    const c = await run('scenarios/flood-unprotected.yaml', 99);
    expect(c.fingerprint).not.toBe(a.fingerprint);
  });
});
