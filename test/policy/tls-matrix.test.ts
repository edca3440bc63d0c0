/**
 * istio-semantics §5.3: the client × server outcome matrix for HTTP over sidecars,
 * and its TCP variant (failures surface as a closed connection, no status).
 */
import { describe, expect, it } from 'vitest';
import { app, dr, meshFrom, ns, pa, send } from '../helpers.js';

const base = [ns('a', true), ns('b', true), ns('legacy', false), app('a', 'client'), app('b', 'server'), app('legacy', 'old'), app('legacy', 'oldclient')];

describe('§5.3 client × server matrix (HTTP)', () => {
  it('§5.3 no sidecar, plaintext → sidecar PERMISSIVE: 200 with no principal', () => {
    const d = send(meshFrom(...base), { from: 'legacy/oldclient', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: false, peerPrincipal: null });
  });

  it('§5.3 no sidecar, plaintext → sidecar DISABLE: 200', () => {
    const d = send(meshFrom(...base, pa('b', 'default', 'DISABLE')), { from: 'legacy/oldclient', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: false });
  });

  it('§5.3 no sidecar, plaintext → sidecar STRICT: reset, code 0, attributed to the PeerAuthentication', () => {
    const d = send(meshFrom(...base, pa('b', 'default', 'STRICT')), { from: 'legacy/oldclient', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0, mtls: false });
    expect(d.stoppedBy).toEqual([expect.objectContaining({ control: 'PeerAuthentication', name: 'b/default' })]);
  });

  for (const mode of ['PERMISSIVE', 'STRICT'] as const) {
    it(`§5.3 sidecar auto → sidecar ${mode}: 200 over mTLS with the client principal`, () => {
      const d = send(meshFrom(...base, pa('b', 'default', mode)), { from: 'a/client', to: 'server.b:80' });
      expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: true, peerPrincipal: 'cluster.local/ns/a/sa/client' });
    });
  }

  it('§5.3 sidecar auto → sidecar whose namespace is DISABLE: 200 plaintext (auto mTLS reads the namespace mode)', () => {
    const d = send(meshFrom(...base, pa('b', 'default', 'DISABLE')), { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: false });
  });

  it('§5.2 sidecar auto → endpoint whose workload-level mode is DISABLE: plaintext', () => {
    const sel = '  selector: { matchLabels: { app: server } }\n';
    const d = send(meshFrom(...base, pa('b', 'server-off', 'DISABLE', sel)), { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: false });
  });

  for (const [mode, carries] of [['SIMPLE', 'carries none'], ['MUTUAL', 'carries its own client certificate, which the mesh CA did not sign']] as const) {
    it(`§5.3 DR ${mode} → sidecar STRICT: 503, the STRICT chain wants a mesh client certificate and the ${mode} TLS ${carries}`, () => {
      const tls = mode === 'SIMPLE' ? '{ mode: SIMPLE }' : '{ mode: MUTUAL, clientCertificate: /etc/certs/c.pem, privateKey: /etc/certs/k.pem }';
      const d = send(meshFrom(...base, pa('b', 'default', 'STRICT'), dr('a', 'tls', 'server.b.svc.cluster.local', tls)), { from: 'a/client', to: 'server.b:80' });
      expect(d).toMatchObject({ outcome: 'blocked', code: 503 });
      expect(d.stoppedBy[0]?.reason).toContain(carries);
    });
  }

  it('§5.3 sidecar auto → no sidecar: 200 plaintext', () => {
    const d = send(meshFrom(...base), { from: 'a/client', to: 'old.legacy:80' });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: false });
  });

  it('§5.3 sidecar with DR ISTIO_MUTUAL → no sidecar: 503 at the client, attributed to the DestinationRule', () => {
    const d = send(meshFrom(...base, dr('legacy', 'old-mtls', 'old', '{ mode: ISTIO_MUTUAL }')), { from: 'a/client', to: 'old.legacy:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 503 });
    expect(d.stoppedBy[0]).toMatchObject({ control: 'DestinationRule', name: 'legacy/old-mtls' });
  });

  it('§5.3 sidecar with DR DISABLE → sidecar STRICT: 503 from the client sidecar', () => {
    const d = send(meshFrom(...base, pa('b', 'default', 'STRICT'), dr('a', 'plain', 'server.b.svc.cluster.local', '{ mode: DISABLE }')),
      { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 503, mtls: false });
    expect(d.stoppedBy[0]).toMatchObject({ control: 'PeerAuthentication', name: 'b/default' });
  });

  it('§5.3 sidecar with DR DISABLE → sidecar PERMISSIVE: 200 plaintext, principal empty', () => {
    const d = send(meshFrom(...base, dr('a', 'plain', 'server.b.svc.cluster.local', '{ mode: DISABLE }')), { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: false, peerPrincipal: null });
  });

  it('§5.3 DR ISTIO_MUTUAL with a wrong subjectAltNames → the TLS verification fails (secure naming)', () => {
    const d = send(meshFrom(...base, dr('a', 'pin', 'server.b.svc.cluster.local', '{ mode: ISTIO_MUTUAL, subjectAltNames: ["spiffe://cluster.local/ns/b/sa/I-do-not-exist"] }')),
      { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 503 });
    expect(d.stoppedBy[0]).toMatchObject({ control: 'SecureNaming', name: 'a/pin' });
  });

  it('§1 secure naming: a subjectAltNames list containing the real service account succeeds', () => {
    const d = send(meshFrom(...base, dr('a', 'pin', 'server.b.svc.cluster.local', '{ mode: ISTIO_MUTUAL, subjectAltNames: ["spiffe://cluster.local/ns/b/sa/server"] }')),
      { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true });
  });

  it('§5.3 DR ISTIO_MUTUAL → sidecar DISABLE: fails', () => {
    const d = send(meshFrom(...base, pa('b', 'default', 'DISABLE'), dr('a', 'm', 'server.b.svc.cluster.local', '{ mode: ISTIO_MUTUAL }')),
      { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 503 });
    expect(d.stoppedBy[0]).toMatchObject({ control: 'PeerAuthentication' });
  });
});

describe('§5.3 TCP instead of HTTP: failures are a closed connection', () => {
  const tcpBase = [ns('a', true), ns('b', true), ns('legacy', false), app('a', 'client'), app('b', 'db', { port: 5432, svcPort: 5432, portName: 'tcp-db' }), app('legacy', 'oldclient')];

  it('§5.3 no sidecar → STRICT over TCP: blocked with code null', () => {
    const d = send(meshFrom(...tcpBase, pa('b', 'default', 'STRICT')), { from: 'legacy/oldclient', to: 'db.b:5432', protocol: 'tcp' });
    expect(d).toMatchObject({ outcome: 'blocked', code: null, mtls: false });
  });

  it('§5.3 DR DISABLE → STRICT over TCP: the client sidecar closes the connection (code null)', () => {
    const d = send(meshFrom(...tcpBase, pa('b', 'default', 'STRICT'), dr('a', 'plain', 'db.b.svc.cluster.local', '{ mode: DISABLE }')),
      { from: 'a/client', to: 'db.b:5432', protocol: 'tcp' });
    expect(d).toMatchObject({ outcome: 'blocked', code: null });
  });

  it('§6.8 an HTTP request to a port declared tcp- is proxied as TCP: a refusal is a dropped connection (code 0)', () => {
    const d = send(meshFrom(...tcpBase, pa('b', 'default', 'STRICT')), { from: 'legacy/oldclient', to: 'db.b:5432' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0 });
  });
});
