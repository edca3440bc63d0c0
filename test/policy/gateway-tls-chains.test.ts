/**
 * §9 The SNI filter chains of a gateway's TLS port, as Istio builds the listener: a terminating server has a chain
 * per server host; a PASSTHROUGH server a chain per `sniHosts` of the tls routes of the VirtualServices bound to it
 * whose hosts overlap the server's (pickMatchingGatewayHosts) — those sniHosts as written, not narrowed to the
 * server's hosts (buildGatewayNetworkFiltersFromTLSRoutes). Envoy takes the most specific server name of them all.
 */
import { describe, expect, it } from 'vitest';
import { decide, type MeshRequest } from '../../src/policy/decide.js';
import { app, gatewayPod, meshFrom, ns } from '../helpers.js';
import type { Mesh } from '../../src/model/types.js';

const ingress = gatewayPod('ingress', 'ingressgateway', { port: 443, targetPort: 8443, name: 'https' });

function gateway(servers: string): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
${servers}`;
}

const passthrough = (hosts: string): string => `    - port: { number: 443, name: tls, protocol: TLS }
      tls: { mode: PASSTHROUGH }
      hosts: ${hosts}
`;
const simple = (hosts: string): string => `    - port: { number: 443, name: https, protocol: HTTPS }
      tls: { mode: SIMPLE, credentialName: shop-cert }
      hosts: ${hosts}
`;

/** A tls route bound to istio-system/gw: SNI `sni` → shop/vault:443. */
function tlsRoute(vsHosts: string, sni: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: vault, namespace: shop }
spec:
  hosts: ${vsHosts}
  gateways: [istio-system/gw]
  tls:
    - match: [{ port: 443, sniHosts: ["${sni}"] }]
      route: [{ destination: { host: vault.shop.svc.cluster.local, port: { number: 443 } } }]
`;
}

/** An HTTP route bound to istio-system/gw: Host partner.example → shop/vault:443. */
const partnerRoute = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: partner, namespace: shop }
spec:
  hosts: [partner.example]
  gateways: [istio-system/gw]
  http: [{ route: [{ destination: { host: vault.shop.svc.cluster.local, port: { number: 443 } } }] }]
`;

const base = [ns('istio-system', false), ns('shop', false), ingress, app('shop', 'vault', { port: 8443, svcPort: 443, portName: 'tls' })];

function tlsFromOutside(mesh: Mesh, sni: string): ReturnType<typeof decide> {
  const req: MeshRequest = { from: { kind: 'outside', ip: '203.0.113.10' }, to: { kind: 'host', host: 'ingress.istio-system.svc.cluster.local', port: 443 },
    protocol: 'tls', method: 'GET', path: '/', headers: {}, tls: 'auto', sni };
  return decide(mesh, req);
}

describe('§9 the SNI filter chains of a gateway TLS port', () => {
  it('a PASSTHROUGH tls route\'s sniHost outside its server\'s hosts still has a chain: the VirtualService\'s hosts overlap the server\'s, and Istio does not narrow the sniHosts', () => {
    const d = tlsFromOutside(meshFrom(...base, gateway(passthrough('["a.example.com"]')), tlsRoute('["*.example.com"]', 'b.example.com')), 'b.example.com');
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/vault' } });
  });

  it('a VirtualService whose hosts do not overlap the server\'s contributes no chain: the connection is closed', () => {
    const d = tlsFromOutside(meshFrom(...base, gateway(passthrough('["a.example.com"]')), tlsRoute('["*.other.org"]', 'b.other.org')), 'b.other.org');
    expect(d.outcome).toBe('blocked');
    expect(d.destination).toBeUndefined();
  });

  it('the most specific server name wins across servers: a PASSTHROUGH route\'s exact sniHost beats an older terminating server\'s wildcard host', () => {
    // by the servers' hosts alone the SIMPLE server's *.example.com would take vault.example.com (x.example.com does not match)
    const mesh = meshFrom(...base, gateway(simple('["*.example.com"]') + passthrough('["x.example.com"]')), tlsRoute('["*.example.com"]', 'vault.example.com'));
    const d = tlsFromOutside(mesh, 'vault.example.com');
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/vault' } });
    expect(d.events.map((e) => e.what).join('\n')).toContain('tls PASSTHROUGH');
    // another name under the wildcard goes to the terminating server, which has no route for it
    const other = tlsFromOutside(mesh, 'shop.example.com');
    expect(other.events.map((e) => e.what).join('\n')).toContain('tls SIMPLE');
  });
});

describe('§9 the SNI of a client sidecar\'s Istio mTLS to a gateway', () => {
  const istioMutual = `    - port: { number: 443, name: https, protocol: HTTPS }
      tls: { mode: ISTIO_MUTUAL }
      hosts: ["partner.example"]
`;
  const toGateway = (sni: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: to-gateway, namespace: shop }
spec:
  host: ingress.istio-system.svc.cluster.local
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL${sni ? `, sni: ${sni}` : ''} } }
`;
  const mesh = (sni: string): Mesh => meshFrom(ns('istio-system', false), ns('shop', true), ingress, app('shop', 'web'),
    app('shop', 'vault', { port: 8443, svcPort: 443, portName: 'http' }), gateway(istioMutual), partnerRoute, toGateway(sni));
  const send = (m: Mesh): ReturnType<typeof decide> => decide(m, { from: { kind: 'workload', workload: m.workloads.find((w) => w.id === 'shop/web')! },
    to: { kind: 'host', host: 'ingress.istio-system.svc.cluster.local', port: 443 }, protocol: 'http', method: 'GET', path: '/', headers: { host: 'partner.example' }, tls: 'auto' });

  it('is the DestinationRule\'s sni when it sets one: the server for that host takes it', () => {
    expect(send(mesh('partner.example'))).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/vault' } });
  });

  it('is the cluster it dialled, outbound_.<port>_._.<host>, when the rule sets none — not the Host header: no server has that name, the gateway resets it', () => {
    const d = send(mesh(''));
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Gateway' }] });
    expect(d.stoppedBy[0]?.reason).toContain('outbound_.443_._.ingress.istio-system.svc.cluster.local');
  });
});

describe('§9 a client\'s own certificate at an ISTIO_MUTUAL gateway', () => {
  it('is accepted there when mesh-signed, and the decision says which gateway took it as which principal (the next hop carries the gateway\'s own identity)', () => {
    const server = `    - port: { number: 443, name: https, protocol: HTTPS }
      tls: { mode: ISTIO_MUTUAL }
      hosts: ["partner.example"]
`;
    const mesh = meshFrom(...base, gateway(server), partnerRoute);
    const d = decide(mesh, { from: { kind: 'outside', ip: '203.0.113.10' }, to: { kind: 'host', host: 'ingress.istio-system.svc.cluster.local', port: 443 },
      protocol: 'http', method: 'GET', path: '/', headers: { host: 'partner.example' }, tls: 'auto', sni: 'partner.example',
      identity: { kind: 'stolen-cert', spiffe: 'spiffe://cluster.local/ns/shop/sa/web', from: 'shop/web', problem: null } });
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/vault' }, ownCertAccepted: { by: 'istio-system/ingress', principal: 'cluster.local/ns/shop/sa/web' } });
  });
});

describe('§9 OPTIONAL_MUTUAL asks for a client certificate and validates one that is presented', () => {
  const server = `    - port: { number: 443, name: https, protocol: HTTPS }
      tls: { mode: OPTIONAL_MUTUAL, credentialName: partner-cert }
      hosts: ["partner.example"]
`;
  const send = (identity?: MeshRequest['identity']): ReturnType<typeof decide> => {
    const req: MeshRequest = { from: { kind: 'outside', ip: '203.0.113.10' }, to: { kind: 'host', host: 'ingress.istio-system.svc.cluster.local', port: 443 },
      protocol: 'http', method: 'GET', path: '/', headers: { host: 'partner.example' }, tls: 'auto', sni: 'partner.example' };
    if (identity) req.identity = identity;
    return decide(meshFrom(...base, gateway(server), partnerRoute), req);
  };

  it('without a certificate the handshake succeeds, as SIMPLE would', () => {
    expect(send()).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/vault' } });
  });

  it('a mesh certificate the server\'s credentialName CA did not issue is presented, validated and refused: unknown ca', () => {
    const d = send({ kind: 'stolen-cert', spiffe: 'spiffe://cluster.local/ns/shop/sa/web', from: 'shop/web', problem: null });
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Gateway', name: 'istio-system/gw' }] });
    expect(d.stoppedBy[0]?.reason).toContain('OPTIONAL_MUTUAL');
  });
});

describe('§9 the chains of a TLS port, as Envoy matches them', () => {
  it('no chain for the SNI: the connection is reset; a short-name sniHost is a name as written, not a Service host', () => {
    const mesh = meshFrom(...base, gateway(passthrough('["*"]')), tlsRoute('["vault"]', 'vault'));
    expect(tlsFromOutside(mesh, 'vault.shop.svc.cluster.local')).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Gateway' }] });
    expect(tlsFromOutside(mesh, 'vault')).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/vault' } });
  });

  it('a tls match repeating an sniHost another server of the port already has is dropped whole, its other names too', () => {
    const second = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gx, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
${passthrough('["*.example.org"]')}`;
    const v2 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: v2, namespace: shop }
spec:
  hosts: ["*.example.org"]
  gateways: [istio-system/gx]
  tls:
    - match: [{ port: 443, sniHosts: ["a.example.org", "b.example.org"] }]
      route: [{ destination: { host: vault.shop.svc.cluster.local, port: { number: 443 } } }]
`;
    const v1 = tlsRoute('["*.example.org"]', 'a.example.org');
    const mesh = meshFrom(...base, gateway(passthrough('["*.example.org"]')), second, v1, v2);
    expect(tlsFromOutside(mesh, 'a.example.org')).toMatchObject({ outcome: 'allowed' });
    expect(tlsFromOutside(mesh, 'b.example.org')).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Gateway' }] });
  });

  it('a TLS-terminating (protocol TLS) server with no tcp route of a bound VirtualService has no chain: a less specific chain takes its name', () => {
    const terminate = `    - port: { number: 443, name: tls-term, protocol: TLS }
      tls: { mode: SIMPLE, credentialName: c }
      hosts: ["a.example.com"]
`;
    const d = tlsFromOutside(meshFrom(...base, gateway(terminate + passthrough('["*.example.com"]')), tlsRoute('["*.example.com"]', '*.example.com')), 'a.example.com');
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/vault' } });
    expect(d.events.map((e) => e.what).join('\n')).toContain('tls PASSTHROUGH');
  });

  it('a `*` among a terminating server\'s hosts leaves its chain without server names: an exact or wildcard chain of another server wins', () => {
    const mesh = meshFrom(...base, gateway(simple('["*", "a.example.com"]') + passthrough('["*.example.com"]')), tlsRoute('["*.example.com"]', '*.example.com'));
    const d = tlsFromOutside(mesh, 'a.example.com');
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/vault' } });
    expect(d.events.map((e) => e.what).join('\n')).toContain('tls PASSTHROUGH');
  });
});
