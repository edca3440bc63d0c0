/**
 * DecideOptions.explain: false (the reach graph's decide) skips the trace
 * text only. Rule: for every request, the outcome, the code, where the request
 * landed (destination), the controls that stopped it (stoppedBy, reasons
 * included) and the proxies it crossed (path) are the same as the full
 * decision's — checked for every attempt from every workload and from outside
 * of every shipped mesh (under several request variants: bypass, forced mTLS,
 * an app's own TLS, the attacker's own certificate, an expired certificate),
 * and for fast-check generated meshes of every profile.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attemptOptions, attemptRequest, attemptsOf } from '../../src/analysis/reachability.js';
import { renderTopology } from '../../src/generate/manifests.js';
import { generateTopology, type Profile } from '../../src/generate/topology.js';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh } from '../../src/model/types.js';
import { decide, type Decision, type DecideOptions, type MeshRequest } from '../../src/policy/decide.js';
import { shipped } from '../analysis/reach-fixtures.js';

/** The mesh folders each shipped scenario loads (its `- meshes/...` lines), each combination once. */
function scenarioMeshes(): string[][] {
  const seen = new Map<string, string[]>();
  for (const f of readdirSync('scenarios').filter((x) => x.endsWith('.yaml')).sort()) {
    const dirs = readFileSync(path.join('scenarios', f), 'utf8').split('\n').map((l) => l.trim())
      .filter((l) => l.startsWith('- meshes/')).map((l) => l.slice('- meshes/'.length).trim());
    if (dirs.length > 0) seen.set(dirs.join(' + '), dirs);
  }
  return [...seen.values()];
}

/** What the reach graph and the explorer read of a decision. */
function outcomeOf(d: Decision): unknown {
  return { outcome: d.outcome, code: d.code, destination: d.destination ?? null, stoppedBy: d.stoppedBy, path: d.path ?? null };
}

type Variant = (r: MeshRequest) => MeshRequest;

const VARIANTS: readonly [string, Variant][] = [
  ['as sent', (r) => r],
  ['tls: mtls', (r) => ({ ...r, tls: 'mtls' })],
  ['tls: plaintext', (r) => ({ ...r, tls: 'plaintext' })],
  ['bypass as root', (r) => ({ ...r, bypass: true, capabilities: ['root'] })],
  ['app TLS', (r) => ({ ...r, protocol: 'tls', sni: r.to.kind === 'host' ? r.to.host : 'x.example' })],
  ['forged certificate', (r) => ({ ...r, identity: { kind: 'forged-cert', spiffe: 'spiffe://cluster.local/ns/x/sa/y' } })],
  ['stolen certificate', (r) => ({ ...r, identity: { kind: 'stolen-cert', spiffe: 'spiffe://cluster.local/ns/x/sa/y', from: 'x/y', problem: null } })],
  ['XFCC and XFF headers', (r) => ({ ...r, headers: { 'X-Forwarded-Client-Cert': 'URI=spiffe://a', 'X-Forwarded-For': '10.9.9.9' } })],
];

/** Compares both modes for every attempt from every workload and from outside; returns how many requests were compared. */
function compareAll(mesh: Mesh, variants: readonly [string, Variant][], base: Omit<DecideOptions, 'pickEndpoint'> = {}, maxSources = Infinity): number {
  const attempts = attemptsOf(mesh);
  const step = Math.max(1, Math.ceil(mesh.workloads.length / maxSources));
  const sources = [...mesh.workloads.filter((_, i) => i % step === 0).map((w) => ({ kind: 'workload' as const, workload: w })), { kind: 'outside' as const, ip: '203.0.113.10' }];
  let n = 0;
  for (const src of sources) {
    for (const a of attempts) {
      for (const [name, v] of variants) {
        const req = v(attemptRequest(src, a));
        const full = decide(mesh, req, attemptOptions(a, base));
        const lean = decide(mesh, req, attemptOptions(a, { ...base, explain: false }));
        const where = `${src.kind === 'workload' ? src.workload.id : 'outside'} → ${a.dial}${a.path ?? ''} (${name})`;
        expect(outcomeOf(lean), where).toEqual(outcomeOf(full));
        n++;
      }
    }
  }
  return n;
}

describe('decide with explain: false', () => {
  it('builds no trace: no events, wire record, addresses or received request', () => {
    const mesh = shipped(['bookinfo']);
    const a = attemptsOf(mesh).find((x) => x.via === 'service' && x.protocol === 'http');
    const src = mesh.workloads.find((w) => w.sidecar && w.id !== a?.target.id);
    if (!a || !src) throw new Error('bookinfo has an HTTP Service and a sidecar workload');
    const full = decide(mesh, attemptRequest({ kind: 'workload', workload: src }, a), attemptOptions(a));
    const lean = decide(mesh, attemptRequest({ kind: 'workload', workload: src }, a), attemptOptions(a, { explain: false }));
    expect(full.events.length).toBeGreaterThan(0);
    expect(lean.events).toEqual([]);
    expect(lean.wire).toBeUndefined();
    expect(lean.addresses).toBeUndefined();
    expect(lean.received).toBeUndefined();
  });

  for (const dirs of scenarioMeshes()) {
    it(`decides every attempt of the shipped mesh ${dirs.join(' + ')} as the full decide does (outcome, code, destination, stoppers, path)`, () => {
      const mesh = shipped(dirs);
      expect(compareAll(mesh, VARIANTS)).toBeGreaterThan(0);
      // certificates past their notAfter: the CertificateValidity stops too
      const expired = new Set(mesh.workloads.filter((_, i) => i % 3 === 0).map((w) => w.id));
      compareAll(mesh, VARIANTS.slice(0, 2), { certProblem: (id) => (expired.has(id) ? 'an expired certificate' : null) });
    });
  }

  it('decides every attempt of generated meshes (every profile) as the full decide does', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 1000 }), fc.constantFrom<Profile>('open', 'strict', 'segmented'), fc.integer({ min: 1, max: 6 }),
      (seed, profile, namespaces) => {
        const files = renderTopology(generateTopology({ workloads: 100, namespaces, seed, profile })).filter((f) => f.path.endsWith('.yaml'));
        const { mesh, issues } = loadMesh(files);
        expect(issues.hasErrors()).toBe(false);
        // every attempt, from a stride of sources (the profile's kinds of workload) and from outside
        compareAll(mesh, VARIANTS.slice(0, 2), {}, 12);
      },
    ), { numRuns: 8 });
  });
});
