/**
 * A request's identity override (architecture.md "Identity and capture in the
 * model"): the client's own process presents a credential of its own, and the
 * same pipeline decides it (istio-semantics §1, §4, §6.5).
 */
import { describe, expect, it } from 'vitest';
import { decide, type IdentityOverride, type MeshRequest } from '../../src/policy/decide.js';
import { xffAddress } from '../../src/policy/inbound.js';
import { app, meshFrom, ns, pa, wl } from '../helpers.js';
import type { Mesh } from '../../src/model/types.js';

const base = [ns('a', true), ns('b', true), app('a', 'web'), app('b', 'api')];

/** The attacker's own process in a/web, as root (it can leave around its sidecar, product.md §2), unless `capabilities` says otherwise. */
function own(mesh: Mesh, identity: IdentityOverride, headers: Record<string, string> = {}, capabilities: MeshRequest['capabilities'] = ['root']): ReturnType<typeof decide> {
  const req: MeshRequest = { from: { kind: 'workload', workload: wl(mesh, 'a/web') }, to: { kind: 'host', host: 'api.b', port: 80 }, protocol: 'http', method: 'GET', path: '/', headers, tls: 'auto', identity };
  if (capabilities !== undefined) req.capabilities = capabilities;
  return decide(mesh, req);
}

describe('§1 §4 a certificate the client\'s own process presents', () => {
  it('without a capability the sidecar captures the attacker\'s own TLS client: the stolen certificate never reaches the server, which sees the foothold\'s identity', () => {
    const d = own(meshFrom(...base), { kind: 'stolen-cert', spiffe: 'spiffe://cluster.local/ns/b/sa/api', from: 'b/api', problem: null }, {}, []);
    expect(d.outcome).toBe('allowed');
    expect(d.peerPrincipal).toBe('cluster.local/ns/a/sa/web');
    expect(d.events.map((e) => e.what).join('\n')).toContain('never reaches the server');
  });

  it('a forged certificate is refused by the mTLS filter chain in STRICT and in PERMISSIVE alike: code 0, no connection', () => {
    for (const mode of ['STRICT', 'PERMISSIVE']) {
      const d = own(meshFrom(...base, pa('b', 'default', mode)), { kind: 'forged-cert', spiffe: 'spiffe://cluster.local/ns/a/sa/admin' });
      expect(d, mode).toMatchObject({ outcome: 'blocked', code: 0, mtls: null, stoppedBy: [{ control: 'PeerAuthentication', name: 'b/default' }] });
      expect(d.peerPrincipal).toBeUndefined();
    }
  });

  it('a stolen certificate is the peer principal, and the server sidecar\'s XFCC names it', () => {
    const d = own(meshFrom(...base), { kind: 'stolen-cert', spiffe: 'spiffe://cluster.local/ns/b/sa/admin', from: 'b/admin', problem: null });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: true, peerPrincipal: 'cluster.local/ns/b/sa/admin' });
    expect(d.received?.headers['x-forwarded-client-cert']).toMatch(/;URI=spiffe:\/\/cluster\.local\/ns\/b\/sa\/admin$/);
  });

  it('a stolen certificate that is not valid now fails the handshake, naming the workload it was taken from', () => {
    const d = own(meshFrom(...base), { kind: 'stolen-cert', spiffe: 'spiffe://cluster.local/ns/b/sa/admin', from: 'b/admin', problem: 'expired since T+1d' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0, stoppedBy: [{ control: 'CertificateValidity', name: 'b/admin' }] });
  });

  it('over a stolen certificate\'s mutual TLS the sidecar keeps the client\'s XFCC and appends its own element (APPEND_FORWARD)', () => {
    const d = own(meshFrom(...base), { kind: 'stolen-cert', spiffe: 'spiffe://cluster.local/ns/b/sa/admin', from: 'b/admin', problem: null }, { 'X-Forwarded-Client-Cert': 'URI=spiffe://cluster.local/ns/b/sa/root' });
    const xfcc = d.received?.headers['x-forwarded-client-cert'] ?? '';
    expect(xfcc.startsWith('URI=spiffe://cluster.local/ns/b/sa/root,By=spiffe://cluster.local/ns/b/sa/api;')).toBe(true);
    expect(d.peerPrincipal).toBe('cluster.local/ns/b/sa/admin');
  });

  it('plaintext from the client\'s own process carries no identity: PERMISSIVE admits it, STRICT refuses it', () => {
    expect(own(meshFrom(...base), { kind: 'none' })).toMatchObject({ outcome: 'allowed', mtls: false, peerPrincipal: null });
    expect(own(meshFrom(...base, pa('b', 'default', 'STRICT')), { kind: 'none' })).toMatchObject({ outcome: 'blocked', code: 0 });
  });
});

describe('§1 X-Forwarded-Client-Cert on the way', () => {
  it('the client\'s own sidecar drops an XFCC the app wrote; the app behind the server sidecar sees only the verified peer', () => {
    const m = meshFrom(...base);
    const d = decide(m, { from: { kind: 'workload', workload: wl(m, 'a/web') }, to: { kind: 'host', host: 'api.b', port: 80 }, protocol: 'http', method: 'GET', path: '/', headers: { 'x-forwarded-client-cert': 'URI=spiffe://cluster.local/ns/b/sa/admin' }, tls: 'auto' });
    expect(d.received?.headers['x-forwarded-client-cert']).toBe('By=spiffe://cluster.local/ns/b/sa/api;Hash=<sha256 of the client certificate>;Subject="";URI=spiffe://cluster.local/ns/a/sa/web');
  });
});

describe('§6.5 the client address in X-Forwarded-For', () => {
  it('xffAddress takes the entry `skip` places from the right; fewer entries, or a non-address, give null (Envoy uses the peer)', () => {
    expect(xffAddress('1.1.1.1, 2.2.2.2', 0)).toBe('2.2.2.2');
    expect(xffAddress('1.1.1.1, 2.2.2.2', 1)).toBe('1.1.1.1');
    expect(xffAddress('1.1.1.1', 1)).toBeNull();
    expect(xffAddress('1.1.1.1, evil', 0)).toBeNull();
    expect(xffAddress(undefined, 0)).toBeNull();
    expect(xffAddress('2001:db8::1', 0)).toBe('2001:db8::1');
  });

  it('a sidecar takes the last X-Forwarded-For entry the client wrote as remote.ip; ipBlocks see the peer', () => {
    const allow = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: office, namespace: b }
spec:
  selector: { matchLabels: { app: api } }
  rules: [{ from: [{ source: { remoteIpBlocks: ["192.0.2.0/24"] } }] }]
`;
    const m = meshFrom(...base, allow);
    const req = (xff: string): MeshRequest => ({ from: { kind: 'workload', workload: wl(m, 'a/web') }, to: { kind: 'host', host: 'api.b', port: 80 }, protocol: 'http', method: 'GET', path: '/', headers: { 'x-forwarded-for': xff }, tls: 'auto' });
    const d = decide(m, req('10.0.0.9, 192.0.2.7'));
    expect(d.outcome).toBe('allowed');
    expect(d.addresses).toEqual([{ proxy: 'b/api (sidecar)', sourceIp: wl(m, 'a/web').ip, remoteIp: '192.0.2.7' }]);
    expect(decide(m, req('192.0.2.7, not-an-address')).outcome).toBe('blocked');
  });
});
