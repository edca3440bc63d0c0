/**
 * istio-semantics §1, workload certificates: istiod's CA and the istio-agent
 * secret cache of each sidecar, on simulated time. Each test name states the
 * rule it checks.
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '../../../src/sim/kernel/index.js';
import { CA_UNAVAILABLE, DAY_MS, HOUR_MS, MeshCa, type CaOutage, type Certificate } from '../../../src/sim/mesh/ca.js';
import {
  CertificateFleet,
  certificateProblem,
  csrBackoffDelay,
  formatSimTime,
  renewalTime,
  type FleetWorkload,
} from '../../../src/sim/mesh/certificates.js';

const MIN_MS = 60_000;
/** 24 h × 0.01 = 14.4 min. */
const JITTER_MS = 0.01 * DAY_MS;
const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';

function world(options: { seed?: number; outages?: CaOutage[]; workloads?: FleetWorkload[]; keepLog?: boolean } = {}) {
  const k = new Kernel({ seed: options.seed ?? 42, keepLog: options.keepLog ?? false });
  const ca = new MeshCa(k, { outages: options.outages ?? [] });
  const fleet = new CertificateFleet(k, ca, options.workloads ?? [{ id: 'default/sleep', spiffe: SLEEP }]);
  fleet.start();
  return { k, ca, fleet };
}

function renewalTimes(fleet: CertificateFleet, id: string): number[] {
  return fleet
    .history(id)
    .filter((h) => h.event === 'renewal-due')
    .map((h) => h.at);
}

function manyWorkloads(n: number): FleetWorkload[] {
  return Array.from({ length: n }, (_, i) => ({ id: `ns${i}/app${i}`, spiffe: `spiffe://cluster.local/ns/ns${i}/sa/app${i}` }));
}

describe('§1 workload certificates', () => {
  it('§1 a workload gets a 24 h certificate when it starts', () => {
    const { k, fleet } = world({ workloads: [{ id: 'default/sleep', spiffe: SLEEP, startAtMs: 5_000 }] });
    k.run(4_999);
    expect(fleet.stateAt('default/sleep')).toMatchObject({ status: 'none', cert: null });
    expect(fleet.stateAt('default/sleep').reason).toContain('no certificate (never issued)');

    k.run(5_000);
    const state = fleet.stateAt('default/sleep');
    expect(state.status).toBe('valid');
    expect(state.cert).toEqual({ serial: 1, subject: SLEEP, notBefore: 5_000, notAfter: 5_000 + DAY_MS, issuedAt: 5_000 });
    expect(fleet.history('default/sleep').map((h) => h.event)).toEqual(['requesting', 'issued']);
    expect(fleet.phase('default/sleep')).toBe('valid');
    // A workload without a sidecar is never registered and has no certificate.
    expect(fleet.stateAt('default/no-sidecar')).toMatchObject({ status: 'none', cert: null });
  });

  it('§1 renewal happens at ~50 % of the lifetime (12 h ± ~15 min)', () => {
    const workloads = manyWorkloads(40);
    const { k, fleet } = world({ workloads });
    k.run(3 * DAY_MS);
    const firstRenewals: number[] = [];
    for (const w of workloads) {
      const history = fleet.history(w.id);
      const certs = history.filter((h) => h.event === 'issued' || h.event === 'renewed').map((h) => h.cert as Certificate);
      // 3 days at ~12 h per certificate: the first plus 5 renewals.
      expect(certs.length).toBeGreaterThanOrEqual(6);
      for (let i = 1; i < certs.length; i++) {
        const prev = certs[i - 1]!;
        const next = certs[i]!;
        const age = next.notBefore - prev.notBefore;
        expect(age).toBeGreaterThanOrEqual(12 * HOUR_MS - JITTER_MS);
        expect(age).toBeLessThanOrEqual(12 * HOUR_MS + JITTER_MS);
        expect(next.notAfter - next.notBefore).toBe(DAY_MS);
        expect(next.serial).toBeGreaterThan(prev.serial);
      }
      firstRenewals.push(renewalTimes(fleet, w.id)[0]!);
      expect(fleet.stateAt(w.id).status).toBe('valid');
    }
    // The jitter is real: renewals spread over the window instead of all at 12 h.
    expect(new Set(firstRenewals).size).toBeGreaterThan(30);
    expect(Math.max(...firstRenewals) - Math.min(...firstRenewals)).toBeGreaterThan(15 * MIN_MS);
    // renewalTime() spans exactly the ±0.01 window.
    const cert: Certificate = { serial: 1, subject: SLEEP, notBefore: 0, notAfter: DAY_MS, issuedAt: 0 };
    // (notAfter − lifetime × ratio: a larger ratio renews earlier.)
    expect(renewalTime(cert, 0)).toBe(12 * HOUR_MS + JITTER_MS);
    expect(renewalTime(cert, 0.5)).toBe(12 * HOUR_MS);
    expect(renewalTime(cert, 1)).toBe(12 * HOUR_MS - JITTER_MS);
  });

  it("§1 the jitter comes from the workload's seeded stream: same seed, same renewal times", () => {
    const a = world({ seed: 7, workloads: manyWorkloads(5) });
    const b = world({ seed: 7, workloads: manyWorkloads(5) });
    const c = world({ seed: 8, workloads: manyWorkloads(5) });
    // Same workload, more neighbours, registered in another order: its own stream is untouched.
    const d = world({ seed: 7, workloads: [...manyWorkloads(12)].reverse() });
    for (const w of [a, b, c, d]) w.k.run(2 * DAY_MS);
    const times = (w: ReturnType<typeof world>) => manyWorkloads(5).map((x) => renewalTimes(w.fleet, x.id));
    expect(times(a)[0]!.length).toBeGreaterThanOrEqual(3);
    expect(times(b)).toEqual(times(a));
    expect(times(d)).toEqual(times(a));
    expect(times(c)).not.toEqual(times(a));
  });

  it('§1 during a CA outage shorter than the remaining lifetime the old certificate stays valid and renewal succeeds after the outage', () => {
    // The first renewal falls in 12 h ± 14.4 min; istiod is down from 11 h to 16 h.
    const outage = { atMs: 11 * HOUR_MS, forMs: 5 * HOUR_MS };
    const { k, ca, fleet } = world({ outages: [outage] });
    k.run(15 * HOUR_MS);
    expect(ca.up(k.now)).toBe(false);
    const during = fleet.stateAt('default/sleep');
    expect(during.status).toBe('valid');
    expect(during.cert?.serial).toBe(1);
    expect(during.reason).toContain(CA_UNAVAILABLE);
    expect(fleet.phase('default/sleep')).toBe('renewing');

    const rejections = fleet.history('default/sleep').filter((h) => h.event === 'csr-rejected');
    expect(rejections.length).toBeGreaterThan(5);
    // Backoff: 1 s, 2 s, 4 s, … capped at 60 s.
    const gaps = rejections.slice(1).map((r, i) => r.at - rejections[i]!.at);
    expect(gaps.slice(0, 7)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000]);
    expect(Math.max(...gaps)).toBe(60_000);

    k.run(17 * HOUR_MS);
    const after = fleet.stateAt('default/sleep');
    expect(after.status).toBe('valid');
    expect(after.cert?.serial).toBe(2);
    const renewed = fleet.history('default/sleep').find((h) => h.event === 'renewed')!;
    expect(renewed.at).toBeGreaterThanOrEqual(16 * HOUR_MS);
    expect(renewed.at).toBeLessThanOrEqual(16 * HOUR_MS + 60_000);
    expect(renewed.cert?.notBefore).toBe(renewed.at);
    expect(fleet.history('default/sleep').some((h) => h.event === 'expired')).toBe(false);
  });

  it('§1 a CA outage longer than the remaining lifetime lets the certificate expire — at notAfter, not before — and a later renewal restores it', () => {
    const outage = { atMs: 11 * HOUR_MS, forMs: 19 * HOUR_MS }; // down 11 h → 30 h
    const { k, fleet } = world({ outages: [outage] });
    k.run(DAY_MS - 1);
    expect(fleet.stateAt('default/sleep').status).toBe('valid');
    expect(fleet.phase('default/sleep')).toBe('renewing');

    k.run(DAY_MS);
    const expired = fleet.stateAt('default/sleep');
    expect(expired.status).toBe('expired');
    expect(expired.cert?.serial).toBe(1);
    expect(expired.reason).toContain(`certificate of ${SLEEP} expired at T+1d00:00:00.000`);
    expect(fleet.phase('default/sleep')).toBe('expired');
    const expiry = fleet.history('default/sleep').find((h) => h.event === 'expired')!;
    expect(expiry.at).toBe(DAY_MS);
    expect(expiry.cert?.notAfter).toBe(DAY_MS);

    // Still down: the agent keeps retrying at the capped backoff while expired.
    k.run(29 * HOUR_MS);
    expect(fleet.stateAt('default/sleep').status).toBe('expired');
    const retriesWhileExpired = fleet
      .history('default/sleep')
      .filter((h) => h.event === 'csr-rejected' && h.at > DAY_MS);
    expect(retriesWhileExpired.length).toBeGreaterThan(5 * 60 - 5);

    k.run(31 * HOUR_MS);
    const restored = fleet.stateAt('default/sleep');
    expect(restored.status).toBe('valid');
    expect(restored.cert?.serial).toBe(2);
    const renewed = fleet.history('default/sleep').filter((h) => h.event === 'renewed');
    expect(renewed).toHaveLength(1);
    expect(renewed[0]!.at).toBeGreaterThanOrEqual(30 * HOUR_MS);
    expect(renewed[0]!.at).toBeLessThanOrEqual(30 * HOUR_MS + 60_000);
    // …and the restored certificate is renewed on the normal schedule again.
    k.run(renewed[0]!.at + 12 * HOUR_MS + JITTER_MS);
    expect(fleet.history('default/sleep').filter((h) => h.event === 'renewed')).toHaveLength(2);
  });

  it('§1 a workload that starts during an outage has no certificate until istiod answers', () => {
    const { k, fleet } = world({ outages: [{ atMs: 0, forMs: 10 * MIN_MS }] });
    k.run(5 * MIN_MS);
    const before = fleet.stateAt('default/sleep');
    expect(before.status).toBe('none');
    expect(before.reason).toContain('no certificate (never issued)');
    expect(before.reason).toContain(CA_UNAVAILABLE);
    expect(fleet.phase('default/sleep')).toBe('requesting');
    k.run(11 * MIN_MS);
    expect(fleet.stateAt('default/sleep').status).toBe('valid');
    expect(fleet.history('default/sleep').filter((h) => h.event === 'issued')).toHaveLength(1);
  });

  it('certificate transitions enter the run fingerprint', () => {
    const run = (outages: CaOutage[], seed = 42) => {
      const w = world({ seed, outages, workloads: manyWorkloads(3), keepLog: true });
      w.k.run(2 * DAY_MS);
      return w.k;
    };
    const a = run([]);
    expect(a.log.filter((e) => e.kind === 'cert').length).toBe(a.recorded);
    expect(a.log[0]).toMatchObject({ t: 0, kind: 'cert', workload: 'ns0/app0', event: 'requesting', to: 'requesting' });
    expect(a.log.find((e) => e.event === 'issued')).toMatchObject({ serial: 1, notBefore: 0, notAfter: DAY_MS });
    expect(run([]).fingerprint()).toBe(a.fingerprint());
    expect(run([], 43).fingerprint()).not.toBe(a.fingerprint());
    expect(run([{ atMs: 11 * HOUR_MS, forMs: 2 * HOUR_MS }]).fingerprint()).not.toBe(a.fingerprint());
  });
});

describe('§1 istiod CA', () => {
  it('§1 istiod signs a 24 h certificate for the SPIFFE id, with counter serials, and refuses while down', () => {
    const k = new Kernel({ seed: 1 });
    const ca = new MeshCa(k, { outages: [{ atMs: 1_000, forMs: 500 }] });
    expect(ca.sign(SLEEP, 0)).toEqual({ ok: true, cert: { serial: 1, subject: SLEEP, notBefore: 0, notAfter: DAY_MS, issuedAt: 0 } });
    expect(ca.up(999)).toBe(true);
    expect(ca.up(1_000)).toBe(false);
    expect(ca.sign(SLEEP, 1_200)).toEqual({ ok: false, reason: CA_UNAVAILABLE });
    expect(ca.up(1_500)).toBe(true);
    const next = ca.sign(SLEEP, 1_500);
    expect(next.ok && next.cert.serial).toBe(2);
  });

  it('§1 a leaf never outlives the 10-year root; past it the CA refuses', () => {
    const k = new Kernel({ seed: 1 });
    const ca = new MeshCa(k, { outages: [] });
    expect(ca.rootNotAfter).toBe(3650 * DAY_MS);
    const late = ca.sign(SLEEP, 3650 * DAY_MS - HOUR_MS);
    expect(late.ok && late.cert.notAfter).toBe(3650 * DAY_MS);
    expect(ca.sign(SLEEP, 3650 * DAY_MS).ok).toBe(false);
  });
});

describe('certificate helpers', () => {
  it('certificateProblem: null when valid, else why (half-open [notBefore, notAfter))', () => {
    const cert: Certificate = { serial: 3, subject: SLEEP, notBefore: HOUR_MS, notAfter: HOUR_MS + DAY_MS, issuedAt: HOUR_MS };
    expect(certificateProblem(null, 0)).toBe('no certificate (never issued)');
    expect(certificateProblem(cert, HOUR_MS - 1)).toBe(`certificate of ${SLEEP} not yet valid until T+01:00:00.000`);
    expect(certificateProblem(cert, HOUR_MS)).toBeNull();
    expect(certificateProblem(cert, HOUR_MS + DAY_MS - 1)).toBeNull();
    expect(certificateProblem(cert, HOUR_MS + DAY_MS)).toBe(`certificate of ${SLEEP} expired at T+1d01:00:00.000`);
    expect(formatSimTime(90_061_001)).toBe('T+1d01:01:01.001');
  });

  it('CSR backoff doubles from 1 s and is capped at 60 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 100].map((n) => csrBackoffDelay(n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });
});
