/**
 * gatewayTopology.numTrustedProxies (istio-semantics §6.5, §9): the mesh config's defaultConfig and a gateway pod's
 * `proxy.istio.io/config` annotation are checked the same way — an integer from 0 to 1000, else a located error.
 */
import { describe, expect, it } from 'vitest';
import { loadMesh } from '../../src/loader/load.js';
import { gatewayPod, meshConfig, ns } from '../helpers.js';

const load = (...docs: string[]): ReturnType<typeof loadMesh> => loadMesh(docs.map((text, i) => ({ path: `inline-${i}.yaml`, text })));
const topology = (n: string): string => meshConfig(`defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: ${n}`);
const annotatedGateway = (n: string): string => gatewayPod('ingress', 'ingressgateway', { port: 443, targetPort: 8443, name: 'https' })
  .replace('metadata: { labels: { istio: ingressgateway } }', `metadata: { labels: { istio: ingressgateway }, annotations: { proxy.istio.io/config: '{"gatewayTopology": {"numTrustedProxies": ${n}}}' } }`);

describe('§6.5 §9 gatewayTopology.numTrustedProxies', () => {
  it('§9 the mesh config\'s numTrustedProxies is an integer from 0 to 1000; outside that it is a located bad-value error with a hint, and the default stays', () => {
    expect(load(topology('2')).mesh.config.numTrustedProxies).toBe(2);
    expect(load(topology('1000')).issues.hasErrors()).toBe(false);
    for (const n of ['-1', '1001', '4294967296']) {
      const bad = load(topology(n));
      expect(bad.issues.errors.map((e) => e.code)).toEqual(['bad-value']);
      const e = bad.issues.errors[0];
      expect(e?.message).toContain(`numTrustedProxies ${Number(n)} is out of range (0 to 1000)`);
      // the mesh text starts on line 6 of the ConfigMap; numTrustedProxies is on line 8
      expect(e?.loc).toMatchObject({ file: 'inline-0.yaml', line: 8 });
      expect(e?.loc?.col).toBeGreaterThan(0);
      expect(e?.hint).toContain('proxies in front of the gateway');
      expect(bad.mesh.config.numTrustedProxies).toBe(0);
    }
  });

  it('§9 the annotation and the mesh config refuse the same values with the same message', () => {
    const viaMesh = load(topology('-3')).issues.errors[0];
    const viaPod = load(ns('istio-system', false), annotatedGateway('-3'));
    const e = viaPod.issues.errors.find((x) => x.code === 'bad-value');
    expect(e?.message).toContain(viaMesh?.message.slice(viaMesh.message.indexOf('numTrustedProxies')) ?? 'missing');
    expect(e?.hint).toBe(viaMesh?.hint);
    expect(viaPod.mesh.workloads.find((w) => w.id === 'istio-system/ingress')?.numTrustedProxies).toBeUndefined();
    expect(load(ns('istio-system', false), annotatedGateway('1')).mesh.workloads.find((w) => w.id === 'istio-system/ingress')?.numTrustedProxies).toBe(1);
  });

  it('§9 a numTrustedProxies that is not an integer is a type error in the mesh config as in the annotation', () => {
    expect(load(topology('1.5')).issues.errors.length).toBe(1);
    expect(load(topology('"two"')).issues.errors.length).toBe(1);
    expect(load(ns('istio-system', false), annotatedGateway('1.5')).issues.errors.length).toBe(1);
  });
});
