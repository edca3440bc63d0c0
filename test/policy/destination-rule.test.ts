/** istio-semantics §5.1/§5.2: which DestinationRule a client uses, and its TLS block. */
import { describe, expect, it } from 'vitest';
import { findDestinationRule, tlsSettingsFor } from '../../src/policy/destination-rule.js';
import { app, dr, meshFrom, ns, send } from '../helpers.js';

const base = [ns('istio-system', false), ns('a', true), ns('b', true), ns('c', true), app('a', 'client'), app('b', 'server'), app('c', 'other')];
const host = 'server.b.svc.cluster.local';

describe('§5.1 DestinationRule lookup', () => {
  it('§5.1 a DR in the client namespace beats one in the service namespace', () => {
    const m = meshFrom(...base, dr('b', 'svc-ns', host, '{ mode: ISTIO_MUTUAL }'), dr('a', 'client-ns', host, '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')).toMatchObject({ rule: { meta: { name: 'client-ns' } }, step: 'client-namespace' });
  });

  it('§5.1 else the service namespace DR exported to the client', () => {
    const m = meshFrom(...base, dr('b', 'svc-ns', host, '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')?.step).toBe('service-namespace');
  });

  it('§5.1 exportTo "." hides a service-namespace DR from other namespaces', () => {
    const m = meshFrom(...base, dr('b', 'svc-ns', host, '{ mode: DISABLE }', '  exportTo: ["."]\n'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')).toBeNull();
    expect(findDestinationRule(m, 'b', {}, host, 'b')).not.toBeNull();
  });

  it('§5.1 exportTo a namespace list exports to those namespaces only', () => {
    const m = meshFrom(...base, dr('b', 'svc-ns', host, '{ mode: DISABLE }', '  exportTo: ["c"]\n'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')).toBeNull();
    expect(findDestinationRule(m, 'c', {}, host, 'b')).not.toBeNull();
  });

  it('§5.1 else a root-namespace DR', () => {
    const m = meshFrom(...base, dr('istio-system', 'root', '*.b.svc.cluster.local', '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')?.step).toBe('root-namespace');
  });

  it('§5.1 an exact host beats a wildcard host in the same namespace', () => {
    const m = meshFrom(...base, dr('a', 'wild', '*.b.svc.cluster.local', '{ mode: ISTIO_MUTUAL }'), dr('a', 'exact', host, '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')?.rule.meta.name).toBe('exact');
  });

  it('§5.1 a short host is qualified with the DR\'s own namespace, not the service\'s', () => {
    const m = meshFrom(...base, dr('a', 'short', 'server', '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')).toBeNull();
    expect(findDestinationRule(m, 'a', {}, 'server.a.svc.cluster.local', 'a')).not.toBeNull();
  });

  it('§5.1 several DRs for one host in one namespace: the oldest trafficPolicy wins, subsets are unioned', () => {
    const m = meshFrom(...base,
      dr('a', 'first', host, '{ mode: DISABLE }', '  subsets: [{ name: v1, labels: { version: v1 } }]\n'),
      dr('a', 'second', host, '{ mode: ISTIO_MUTUAL }', '  subsets: [{ name: v2, labels: { version: v2 } }]\n'));
    const c = findDestinationRule(m, 'a', {}, host, 'b');
    expect(c?.rule.trafficPolicy?.tls?.mode).toBe('DISABLE');
    expect(c?.rule.subsets.map((s) => s.name)).toEqual(['v1', 'v2']);
  });

  it('§5.2 port-level TLS beats the top-level TLS for that service port only', () => {
    const m = meshFrom(...base, dr('a', 'pl', host, '{ mode: ISTIO_MUTUAL }', '    portLevelSettings: [{ port: { number: 80 }, tls: { mode: DISABLE } }]\n'));
    const c = findDestinationRule(m, 'a', {}, host, 'b');
    expect(c && tlsSettingsFor(c.rule, 80)?.tls.mode).toBe('DISABLE');
    expect(c && tlsSettingsFor(c.rule, 81)?.tls.mode).toBe('ISTIO_MUTUAL');
  });

  it('§5.1 a DR that sets no TLS (only load balancing) leaves auto mTLS on', () => {
    const lbOnly = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: lb, namespace: a }
spec:
  host: ${host}
  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }`;
    const d = send(meshFrom(...base, lbOnly), { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true });
  });

  it('§5.2 auto mTLS disabled in mesh config and no DR → plaintext', () => {
    const cm = `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    enableAutoMtls: false
`;
    const d = send(meshFrom(...base, cm), { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: false });
  });
});
