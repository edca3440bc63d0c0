/**
 * Capture and going around the sidecar (policy/capture.ts rules O0–O5,
 * I0–I2; product.md §2 "Going around the sidecar"): what the pod's iptables
 * rules leave out never meets the sidecar — for every request, legitimate
 * ones included — and `bypass: true` works only where the rules or the
 * attacker's capabilities let it.
 */
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/loader/injection.js';
import type { Mesh, Workload } from '../../src/model/types.js';
import { bypassAttempt, inboundCapture, outboundCapture } from '../../src/policy/capture.js';
import { clientProxied } from '../../src/policy/decide.js';
import { app, dr, meshFrom, ns, pa, registryOnlyMeshConfig, request, send, type Send, wl } from '../helpers.js';

/** A Deployment (with pod-template annotations) and its Service `name:80 → 8080`. */
function annotated(namespace: string, name: string, annotations: Record<string, string>): string {
  const lines = Object.entries(annotations).map(([k, v]) => `        ${k}: ${JSON.stringify(v)}`).join('\n');
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  template:
    metadata:
      labels: { app: ${name} }
      annotations:
${lines === '' ? '        {}' : lines}
    spec:
      serviceAccountName: ${name}
      containers: [{ name: main, ports: [{ containerPort: 8080 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  selector: { app: ${name} }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`;
}

const ALLOW_CLIENT_ONLY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: only-client, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  action: ALLOW
  rules: [{ from: [{ source: { principals: ["cluster.local/ns/a/sa/client"] } }] }]
`;

const REGISTRY_ONLY = registryOnlyMeshConfig;

function mesh(client: Record<string, string>, server: Record<string, string>, ...extra: string[]): Mesh {
  return meshFrom(ns('a', true), ns('b', true), ns('legacy', false), annotated('a', 'client', client), annotated('b', 'server', server),
    app('legacy', 'old'), ...extra);
}

const P = 'traffic.sidecar.istio.io/';

function capture(annotations: Record<string, string>): Workload {
  const c = readCapture(annotations, true).capture;
  const w: Workload = {
    kind: 'Deployment', id: 'a/x', namespace: 'a', name: 'x', labels: {}, annotations, serviceAccount: 'x', ports: [], sidecar: true,
    sidecarReason: '', gateway: false, hostNetwork: false, ip: '10.244.0.9', loc: { file: 'x', line: 1, col: 1 }, sim: {},
  };
  if (c) w.capture = c;
  return w;
}

describe('capture.ts outbound rules O0–O5', () => {
  it('O5 by default every address and port is captured', () => {
    expect(outboundCapture(capture({}), '10.96.0.10', 80).captured).toBe(true);
  });

  it('O1 excludeOutboundPorts wins over everything, includeOutboundPorts included', () => {
    const w = capture({ [`${P}excludeOutboundPorts`]: '5432', [`${P}includeOutboundPorts`]: '5432' });
    expect(outboundCapture(w, '10.96.0.10', 5432)).toMatchObject({ captured: false, why: expect.stringContaining('excludeOutboundPorts lists port 5432') });
  });

  it('O3 excludeOutboundIPRanges is checked before the inclusions', () => {
    const w = capture({ [`${P}excludeOutboundIPRanges`]: '198.51.100.0/24', [`${P}includeOutboundPorts`]: '443' });
    expect(outboundCapture(w, '198.51.100.7', 443).captured).toBe(false);
    expect(outboundCapture(w, '198.51.101.7', 443).captured).toBe(true);
  });

  it('O4/O5 a list of includeOutboundIPRanges captures only those ranges, and includeOutboundPorts adds ports on any address', () => {
    const w = capture({ [`${P}includeOutboundIPRanges`]: '10.96.0.0/12', [`${P}includeOutboundPorts`]: '8443' });
    expect(outboundCapture(w, '10.96.0.10', 80).captured).toBe(true);
    expect(outboundCapture(w, '203.0.113.5', 80).captured).toBe(false);
    expect(outboundCapture(w, '203.0.113.5', 8443).captured).toBe(true);
  });

  it('O0 interceptionMode NONE captures nothing, in or out', () => {
    const w = capture({ 'sidecar.istio.io/interceptionMode': 'NONE' });
    expect(outboundCapture(w, '10.96.0.10', 80).captured).toBe(false);
    expect(inboundCapture(w, 8080).captured).toBe(false);
  });
});

describe('capture.ts inbound rules I1–I2', () => {
  it('I1 includeInboundPorts * captures every port but the excluded ones', () => {
    const w = capture({ [`${P}excludeInboundPorts`]: '8080' });
    expect(inboundCapture(w, 8080).captured).toBe(false);
    expect(inboundCapture(w, 9090).captured).toBe(true);
  });

  it('I2 a list of includeInboundPorts captures only those; excludeInboundPorts is not consulted; empty captures none', () => {
    const w = capture({ [`${P}includeInboundPorts`]: '9090', [`${P}excludeInboundPorts`]: '9090' });
    expect(inboundCapture(w, 9090).captured).toBe(true);
    expect(inboundCapture(w, 8080).captured).toBe(false);
    expect(inboundCapture(capture({ [`${P}includeInboundPorts`]: '' }), 9090).captured).toBe(false);
  });
});

describe('product.md §2 bypass: true succeeds only with a way around the redirect', () => {
  const captured = { captured: true, why: 'includeOutboundIPRanges is *' };
  it('without a capability the captured connection stays captured, and the evidence says why', () => {
    const v = bypassAttempt(capture({}), captured, []);
    expect(v.escapes).toBe(false);
    expect(v.why).toContain('none of proxy-uid, root, net-admin');
  });
  for (const cap of ['proxy-uid', 'root', 'net-admin'] as const) {
    it(`with ${cap} the connection escapes`, () => {
      expect(bypassAttempt(capture({}), captured, [cap]).escapes).toBe(true);
    });
  }
  it('a destination excluded from capture escapes without any capability', () => {
    expect(bypassAttempt(capture({}), { captured: false, why: 'excluded' }, []).escapes).toBe(true);
  });
});

describe('capture changes every request (decide)', () => {
  it('excludeOutboundPorts: a legitimate request on that port leaves without its sidecar — plaintext, so STRICT resets it', () => {
    const m = mesh({ [`${P}excludeOutboundPorts`]: '80' }, {}, pa('b', 'default', 'STRICT'));
    const d = send(m, { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0, mtls: false });
    expect(d.stoppedBy[0]?.control).toBe('PeerAuthentication');
    expect(d.events.some((e) => e.what.includes('do not hand') && e.what.includes('excludeOutboundPorts lists port 80'))).toBe(true);
  });

  it('excludeOutboundIPRanges: an excluded external address is reached around REGISTRY_ONLY', () => {
    const m = mesh({ [`${P}excludeOutboundIPRanges`]: '198.51.100.0/24' }, {}, REGISTRY_ONLY);
    expect(send(m, { from: 'a/client', to: '198.51.100.7:443', protocol: 'tcp' }).outcome).toBe('allowed');
    const other = send(m, { from: 'a/client', to: '203.0.113.9:443', protocol: 'tcp' });
    expect(other.outcome).toBe('blocked');
    expect(other.stoppedBy[0]?.control).toBe('EgressPolicy');
  });

  it('excludeInboundPorts: plaintext reaches the app past STRICT and an ALLOW-by-principal policy, and a forged XFCC header arrives untouched', () => {
    const m = mesh({}, { [`${P}excludeInboundPorts`]: '8080' }, pa('b', 'default', 'STRICT'), ALLOW_CLIENT_ONLY);
    const xfcc = 'By=spiffe://x;URI=spiffe://cluster.local/ns/a/sa/client';
    const d = send(m, { from: 'legacy/old', to: 'server.b:80', headers: { 'x-forwarded-client-cert': xfcc } });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: false, inboundUncaptured: true });
    expect(d.received?.headers['x-forwarded-client-cert']).toBe(xfcc);
  });

  it('excludeInboundPorts: a sidecar client still sends auto mTLS there and the app cannot answer it (503); a DestinationRule DISABLE sends plaintext instead', () => {
    const m = mesh({}, { [`${P}excludeInboundPorts`]: '8080' });
    const d = send(m, { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 503 });
    expect(d.stoppedBy[0]).toMatchObject({ control: 'DestinationRule', name: null });
    const fixed = send(mesh({}, { [`${P}excludeInboundPorts`]: '8080' }, dr('a', 'plain', 'server.b.svc.cluster.local', '{ mode: DISABLE }')), { from: 'a/client', to: 'server.b:80' });
    expect(fixed).toMatchObject({ outcome: 'allowed', code: 200, mtls: false });
  });

  it('includeInboundPorts lists 9090 only: port 8080 is left to the app', () => {
    const m = mesh({}, { [`${P}includeInboundPorts`]: '9090' }, pa('b', 'default', 'STRICT'));
    expect(send(m, { from: 'legacy/old', to: 'server.b:80' })).toMatchObject({ outcome: 'allowed', inboundUncaptured: true });
  });
});

describe('bypass: true through decide', () => {
  const strict = (): Mesh => mesh({}, {}, pa('b', 'default', 'STRICT'));

  it('without a capability the request is captured as usual: mTLS with the client principal', () => {
    const d = send(strict(), { from: 'a/client', to: 'server.b:80', bypass: true });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true, peerPrincipal: 'cluster.local/ns/a/sa/client' });
    expect(d.events[0]?.what).toContain('the bypass fails');
  });

  it('with net-admin it escapes: plaintext with no identity, so STRICT resets it', () => {
    const d = send(strict(), { from: 'a/client', to: 'server.b:80', bypass: true, capabilities: ['net-admin'] });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0, mtls: false });
    expect(d.stoppedBy[0]?.control).toBe('PeerAuthentication');
  });

  it('tls: plaintext from a captured client is a bypass attempt: without a capability the sidecar keeps choosing TLS', () => {
    const d = send(strict(), { from: 'a/client', to: 'server.b:80', tls: 'plaintext' });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true });
    expect(d.events[0]?.what).toContain('tls: plaintext is not something an app can ask its sidecar for');
    expect(send(strict(), { from: 'a/client', to: 'server.b:80', tls: 'plaintext', capabilities: ['proxy-uid'] })).toMatchObject({ outcome: 'blocked', code: 0 });
  });

  it('a client without a sidecar has nothing to go around: bypass changes nothing', () => {
    const d = send(mesh({}, {}), { from: 'legacy/old', to: 'server.b:80', bypass: true });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: false });
    expect(d.events.some((e) => e.what.includes('has no sidecar to go around'))).toBe(true);
  });

  it('a destination excluded from capture lets the bypass through without a capability, around REGISTRY_ONLY', () => {
    const m = mesh({ [`${P}excludeOutboundPorts`]: '443' }, {}, REGISTRY_ONLY);
    const d = send(m, { from: 'a/client', to: 'evil.example:443', protocol: 'tcp', bypass: true });
    expect(d.outcome).toBe('allowed');
    expect(d.events[0]?.what).toContain('the destination is excluded from capture');
  });

  it('escaped traffic still meets the destination sidecar and NetworkPolicy: the boundary is another pod\'s sidecar', () => {
    const m = mesh({}, {}, pa('b', 'default', 'PERMISSIVE'), ALLOW_CLIENT_ONLY);
    const d = send(m, { from: 'a/client', to: 'server.b:80', bypass: true, capabilities: ['root'] });
    expect(d).toMatchObject({ outcome: 'blocked', code: 403, mtls: false });
  });

  it('clientProxied gives decide()\'s answer without deciding', () => {
    const m = mesh({ [`${P}excludeOutboundPorts`]: '443' }, {});
    const cases: Send[] = [
      { from: 'a/client', to: 'server.b:80' },
      { from: 'a/client', to: 'server.b:80', bypass: true },
      { from: 'a/client', to: 'server.b:80', bypass: true, capabilities: ['root'] },
      { from: 'a/client', to: 'evil.example:443', protocol: 'tcp' },
      { from: 'legacy/old', to: 'server.b:80' },
    ];
    expect(cases.map((c) => clientProxied(m, request(m, c)))).toEqual([true, true, false, false, false]);
    expect(wl(m, 'a/client').capture?.excludeOutboundPorts).toEqual([443]);
  });
});
