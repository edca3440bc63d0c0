/**
 * gatewayTopology.forwardClientCertDetails (istio-semantics §1, §9): read from the mesh config's defaultConfig and a
 * gateway pod's `proxy.istio.io/config` annotation; Istio's enum names only, UNDEFINED as unset.
 */
import { describe, expect, it } from 'vitest';
import { loadMesh } from '../../src/loader/load.js';
import { gatewayPod, meshConfig, ns } from '../helpers.js';

const load = (...docs: string[]): ReturnType<typeof loadMesh> => loadMesh(docs.map((text, i) => ({ path: `inline-${i}.yaml`, text })));
const topology = (fccd: string): string => meshConfig(`defaultConfig:\n  gatewayTopology:\n    forwardClientCertDetails: ${fccd}`);
const annotatedGateway = (fccd: string): string => gatewayPod('ingress', 'ingressgateway', { port: 443, targetPort: 8443, name: 'https' })
  .replace('metadata: { labels: { istio: ingressgateway } }', `metadata: { labels: { istio: ingressgateway }, annotations: { proxy.istio.io/config: '{"gatewayTopology": {"forwardClientCertDetails": "${fccd}"}}' } }`);

describe('§9 gatewayTopology.forwardClientCertDetails', () => {
  it('§9 forwardClientCertDetails is read from the mesh config; UNDEFINED is unset; an unknown name is a located bad-enum error', () => {
    expect(load(topology('ALWAYS_FORWARD_ONLY')).mesh.config.forwardClientCertDetails).toBe('ALWAYS_FORWARD_ONLY');
    const undef = load(topology('UNDEFINED'));
    expect(undef.issues.hasErrors()).toBe(false);
    expect(undef.mesh.config.forwardClientCertDetails).toBeUndefined();
    const bad = load(topology('FORWARD_EVERYTHING'));
    expect(bad.issues.errors.map((e) => e.code)).toEqual(['bad-enum']);
    expect(bad.issues.errors[0]?.message).toContain('"FORWARD_EVERYTHING"');
    expect(bad.issues.errors[0]?.loc?.file).toBe('inline-0.yaml');
  });

  it('§9 forwardClientCertDetails is read from a gateway pod\'s proxy.istio.io/config annotation', () => {
    const doc = annotatedGateway('SANITIZE');
    expect(doc).toContain('forwardClientCertDetails');
    const m = load(ns('istio-system', false), doc);
    expect(m.issues.hasErrors()).toBe(false);
    expect(m.mesh.workloads.find((w) => w.id === 'istio-system/ingress')?.forwardClientCertDetails).toBe('SANITIZE');
    expect(load(ns('istio-system', false), annotatedGateway('bogus')).issues.errors.map((e) => e.code)).toContain('bad-enum');
  });
});
