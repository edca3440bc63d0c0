/**
 * Fidelity fixes found while trying real meshes (issue 8 item 8), each a rule
 * of how a cluster really behaves: an explicit `tls: mtls` on every path,
 * container ports that are only informational, and cluster DNS for names
 * that are neither a Service nor an Internet domain (policy/dns.ts).
 */
import { describe, expect, it } from 'vitest';
import { searchPath, upstreamResolves } from '../../src/policy/dns.js';
import { app, meshFrom, ns, pa, send } from '../helpers.js';

const base = [ns('a', true), ns('b', true), ns('legacy', false), app('a', 'client'), app('b', 'server'), app('legacy', 'old')];

describe('an explicit tls: mtls is honoured on every path', () => {
  it('a direct pod-IP dial with tls: mtls is Istio mTLS: the server sees the client principal', () => {
    const d = send(meshFrom(...base), { from: 'a/client', to: 'workload/b/server:8080', tls: 'mtls' });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: true, peerPrincipal: 'cluster.local/ns/a/sa/client' });
  });

  it('so a pod-IP dial with tls: mtls gets through STRICT, while the default passthrough plaintext does not', () => {
    const m = meshFrom(...base, pa('b', 'default', 'STRICT'));
    expect(send(m, { from: 'a/client', to: 'workload/b/server:8080', tls: 'mtls' })).toMatchObject({ outcome: 'allowed', mtls: true });
    // the PassthroughCluster proxies TCP: the HTTP client sees the connection close
    expect(send(m, { from: 'a/client', to: 'workload/b/server:8080' })).toMatchObject({ outcome: 'blocked', code: 0, mtls: false });
  });

  it('tls: mtls to a host outside the mesh fails secure naming: it has no mesh identity to present', () => {
    const d = send(meshFrom(...base), { from: 'a/client', to: 'httpbin.org:443', tls: 'mtls' });
    expect(d.outcome).toBe('blocked');
    expect(d.stoppedBy[0]?.control).toBe('SecureNaming');
  });

  it('a client without a sidecar cannot originate mTLS: the trace says it sends plaintext', () => {
    const d = send(meshFrom(...base), { from: 'legacy/old', to: 'workload/b/server:8080', tls: 'mtls' });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: false });
    expect(d.events.some((e) => e.what.includes('cannot originate mTLS'))).toBe(true);
  });
});

describe('containerPorts are informational', () => {
  it('a pod-IP dial to a port the pod does not list still reaches what listens there, through the passthrough path', () => {
    const d = send(meshFrom(...base), { from: 'a/client', to: 'workload/b/server:9999' });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: false });
    expect(d.events.some((e) => e.what.includes('declares no container port 9999') && e.what.includes('informational'))).toBe(true);
  });

  it('PeerAuthentication still applies on such a port: STRICT refuses plaintext from a sidecar-less client', () => {
    const d = send(meshFrom(...base, pa('b', 'default', 'STRICT')), { from: 'legacy/old', to: 'workload/b/server:9999' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0 });
    expect(d.stoppedBy[0]?.control).toBe('PeerAuthentication');
  });
});

describe('cluster DNS (policy/dns.ts)', () => {
  it('a two-label name whose second label is not a namespace, and no ServiceEntry names, fails DNS as in a cluster', () => {
    const d = send(meshFrom(...base), { from: 'a/client', to: 'server.bbb:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0 });
    expect(d.stoppedBy[0]).toMatchObject({ control: 'DNS' });
    expect(d.events.some((e) => e.what.includes('server.bbb.a.svc.cluster.local'))).toBe(true);
  });

  it('the same name from a client without a sidecar fails the same way', () => {
    expect(send(meshFrom(...base), { from: 'legacy/old', to: 'httpbin.fooo:80' }).stoppedBy[0]?.control).toBe('DNS');
  });

  it('Internet names under a real or documentation TLD resolve upstream', () => {
    expect(send(meshFrom(...base), { from: 'a/client', to: 'httpbin.org:80' }).outcome).toBe('allowed');
    expect(send(meshFrom(...base), { from: 'a/client', to: 'evil.example:443', protocol: 'tcp' }).outcome).toBe('allowed');
    expect(upstreamResolves('api.stripe-sim.example')).toBe(true);
    expect(upstreamResolves('x.de')).toBe(true);
    expect(upstreamResolves('db.local')).toBe(false);
    expect(upstreamResolves('httpbin.fooo')).toBe(false);
  });

  it('a ServiceEntry host resolves whatever its top-level domain', () => {
    const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: corp-db, namespace: a }
spec:
  hosts: [db.corp]
  ports: [{ number: 5432, name: tcp, protocol: TCP }]
  resolution: DNS
`;
    expect(send(meshFrom(...base, se), { from: 'a/client', to: 'db.corp:5432', protocol: 'tcp' }).outcome).toBe('allowed');
    expect(send(meshFrom(...base), { from: 'a/client', to: 'db.corp:5432', protocol: 'tcp' }).stoppedBy[0]?.control).toBe('DNS');
  });

  it('the resolver tries the search suffixes before the name itself (ndots 5)', () => {
    expect(searchPath('httpbin.fooo', 'a')).toEqual(['httpbin.fooo.a.svc.cluster.local', 'httpbin.fooo.svc.cluster.local', 'httpbin.fooo.cluster.local', 'httpbin.fooo']);
  });
});
