/**
 * §9 AUTO_PASSTHROUGH gateway servers (Istio's builtAutoPassthroughFilterChains): one filter chain per cluster of the
 * gateway's scope, matched by the cluster name as SNI (`outbound_.<port>_.<subset>_.<host>`) and Istio's mTLS ALPNs;
 * no VirtualService, no TLS termination, no authorization filters (Istio builds these chains without them); the
 * client's own TLS reaches the destination's sidecar untouched.
 */
import { describe, expect, it } from 'vitest';
import { decide, type IdentityOverride, type MeshRequest } from '../../src/policy/decide.js';
import { parseClusterSni } from '../../src/policy/routing.js';
import { app, dr, gatewayPod, meshFrom, np, ns, pa } from '../helpers.js';
import type { Mesh } from '../../src/model/types.js';

const eastwest = `${gatewayPod('eastwest', 'eastwestgateway', { port: 15443, targetPort: 15443, name: 'tls' })}---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: cross-network, namespace: istio-system }
spec:
  selector: { istio: eastwestgateway }
  servers:
    - port: { number: 15443, name: tls, protocol: TLS }
      tls: { mode: AUTO_PASSTHROUGH }
      hosts: ["*.local"]
`;
const onlyWeb = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: only-web, namespace: pay }
spec:
  selector: { matchLabels: { app: ledger } }
  rules: [{ from: [{ source: { principals: ["cluster.local/ns/shop/sa/web"] } }] }]
`;
const base = [ns('istio-system', false), ns('shop', true), ns('pay', true), eastwest, app('shop', 'web'), app('pay', 'ledger'), pa('pay', 'default', 'STRICT'), onlyWeb];
const LEDGER = 'outbound_.80_._.ledger.pay.svc.cluster.local';
const stolenWeb: IdentityOverride = { kind: 'stolen-cert', spiffe: 'spiffe://cluster.local/ns/shop/sa/web', from: 'shop/web', problem: null };

/** From outside the cluster to the east-west gateway's LoadBalancer port, with the attacker's own TLS client. */
function viaEastwest(mesh: Mesh, sni: string | undefined, identity: IdentityOverride | undefined, protocol: MeshRequest['protocol'] = 'http'): ReturnType<typeof decide> {
  const req: MeshRequest = { from: { kind: 'outside', ip: '203.0.113.10' }, to: { kind: 'host', host: 'eastwest.istio-system.svc.cluster.local', port: 15443 },
    protocol, method: 'GET', path: '/balance', headers: {}, tls: 'auto' };
  if (sni !== undefined) req.sni = sni;
  if (identity !== undefined) req.identity = identity;
  return decide(mesh, req);
}

describe('§9 AUTO_PASSTHROUGH', () => {
  it('a stolen certificate with the cluster name as SNI reaches the Service behind the gateway, with no VirtualService: the destination sees the stolen identity', () => {
    const d = viaEastwest(meshFrom(...base), LEDGER, stolenWeb);
    expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: true, peerPrincipal: 'cluster.local/ns/shop/sa/web', destination: { workload: 'pay/ledger' } });
    expect(d.path).toEqual(['istio-system/eastwest (gateway)', 'pay/ledger (sidecar)']);
    expect(d.events.map((e) => e.what).join('\n')).toContain('AUTO_PASSTHROUGH');
  });

  it('the destination\'s own AuthorizationPolicy judges the identity the client presented: another stolen identity gets 403', () => {
    const d = viaEastwest(meshFrom(...base), LEDGER, { kind: 'stolen-cert', spiffe: 'spiffe://cluster.local/ns/pay/sa/ledger', from: 'pay/ledger', problem: null });
    expect(d).toMatchObject({ outcome: 'blocked', code: 403, stoppedBy: [{ control: 'AuthorizationPolicy' }] });
  });

  it('a forged certificate passes the gateway, which checks none, and fails the handshake at the destination\'s sidecar', () => {
    const d = viaEastwest(meshFrom(...base), LEDGER, { kind: 'forged-cert', spiffe: 'spiffe://cluster.local/ns/shop/sa/web' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0, stoppedBy: [{ control: 'PeerAuthentication', name: 'pay/default' }] });
    expect(d.path).toContain('istio-system/eastwest (gateway)');
  });

  it('TLS without Istio\'s ALPN (no client certificate) matches no chain: the gateway resets it', () => {
    const d = viaEastwest(meshFrom(...base), LEDGER, undefined, 'tls');
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Gateway', name: 'istio-system/cross-network' }] });
    expect(d.stoppedBy[0]?.reason).toContain('ALPN');
    expect(d.destination).toBeUndefined();
  });

  it('an SNI that is not a cluster name, or names a port, host or subset the gateway has no cluster for, is reset at the gateway', () => {
    const mesh = meshFrom(...base);
    for (const [sni, why] of [['ledger.pay.svc.cluster.local', 'not the name of a cluster'], ['outbound_.81_._.ledger.pay.svc.cluster.local', 'no TCP port 81'],
      ['outbound_.80_._.nobody.pay.svc.cluster.local', 'neither a Service nor a MESH_INTERNAL ServiceEntry host'], ['outbound_.80_.v1_.ledger.pay.svc.cluster.local', 'subset v1']] as const) {
      const d = viaEastwest(mesh, sni, stolenWeb);
      expect(d, sni).toMatchObject({ outcome: 'blocked', code: 0, stoppedBy: [{ control: 'Gateway' }] });
      expect(d.stoppedBy[0]?.reason, sni).toContain(why);
    }
  });

  it('a subset the gateway\'s DestinationRule defines has a chain of its own', () => {
    const subsets = dr('pay', 'ledger', 'ledger.pay.svc.cluster.local', '{ mode: ISTIO_MUTUAL }', '  subsets: [{ name: v1, labels: { app: ledger } }]\n');
    const d = viaEastwest(meshFrom(...base, subsets), 'outbound_.80_.v1_.ledger.pay.svc.cluster.local', stolenWeb);
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'pay/ledger' } });
  });

  it('no AuthorizationPolicy of the gateway runs on the chain: a DENY on connection.sni selecting the gateway does not stop it', () => {
    const deny = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: no-ledger, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: eastwestgateway } }
  action: DENY
  rules: [{ when: [{ key: connection.sni, values: ["${LEDGER}"] }] }]
`;
    const d = viaEastwest(meshFrom(...base, deny), LEDGER, stolenWeb);
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'pay/ledger' } });
    expect(d.events.map((e) => e.what).join('\n')).toContain('no AuthorizationPolicy runs here');
  });

  it('NetworkPolicy sees the gateway pod as the source: a policy admitting istio-system lets the outside attacker in', () => {
    const fromIstio = np('pay', 'from-istio', `  podSelector: {}
  policyTypes: [Ingress]
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: istio-system } } }] }]
`);
    const d = viaEastwest(meshFrom(...base, fromIstio), LEDGER, stolenWeb);
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'pay/ledger' } });
  });

  it('EDS keeps only endpoints with Istio\'s tlsMode: a Service without sidecars has none, no healthy upstream', () => {
    const d = viaEastwest(meshFrom(...base, ns('legacy', false), app('legacy', 'db')), 'outbound_.80_._.db.legacy.svc.cluster.local', stolenWeb);
    expect(d).toMatchObject({ outcome: 'blocked', code: 0, flags: 'UH', stoppedBy: [{ control: 'Routing', name: 'legacy/db' }] });
  });

  it('EDS reads the gateway\'s DestinationRule mode: DISABLE strips every endpoint, ISTIO_MUTUAL keeps even those without a sidecar', () => {
    const disable = viaEastwest(meshFrom(...base, dr('istio-system', 'ledger', 'ledger.pay.svc.cluster.local', '{ mode: DISABLE }')), LEDGER, stolenWeb);
    expect(disable).toMatchObject({ outcome: 'blocked', flags: 'UH', stoppedBy: [{ control: 'Routing', name: 'pay/ledger' }] });
    expect(disable.stoppedBy[0]?.reason).toContain('DISABLE');
    const mutual = viaEastwest(meshFrom(...base, ns('legacy', false), app('legacy', 'db'), dr('istio-system', 'db', 'db.legacy.svc.cluster.local', '{ mode: ISTIO_MUTUAL }')),
      'outbound_.80_._.db.legacy.svc.cluster.local', stolenWeb);
    // kept by EDS: the mTLS reaches db's plaintext app, which closes the connection
    expect(mutual).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Routing', name: 'legacy/db' }] });
    expect(mutual.stoppedBy[0]?.reason).toContain('no sidecar');
  });

  it('EDS drops an endpoint whose PeerAuthentication is DISABLE on its port: the gateway has no upstream', () => {
    const d = viaEastwest(meshFrom(...base.filter((x) => !x.includes('PeerAuthentication')), pa('pay', 'default', 'DISABLE')), LEDGER, stolenWeb);
    expect(d).toMatchObject({ outcome: 'blocked', flags: 'UH', stoppedBy: [{ control: 'Routing', name: 'pay/ledger' }] });
  });

  it('the gateway\'s own Service has no endpoint with Istio\'s tlsMode: an SNI naming it reaches no workload', () => {
    const d = viaEastwest(meshFrom(...base), 'outbound_.15443_._.eastwest.istio-system.svc.cluster.local', stolenWeb);
    expect(d).toMatchObject({ outcome: 'blocked', flags: 'UH', stoppedBy: [{ control: 'Routing', name: 'istio-system/eastwest' }] });
  });

  it('the attacker\'s mTLS is encrypted on both hops: a passive observer reads nothing', () => {
    const d = viaEastwest(meshFrom(...base), LEDGER, stolenWeb);
    expect(d.wire?.length).toBe(2);
    for (const hop of d.wire ?? []) expect(hop.protectedBy, `${hop.from} → ${hop.to}`).not.toBeNull();
  });

  it('an SNI that is the name of an AUTO_PASSTHROUGH chain takes that chain or none: without Istio\'s ALPN it is reset, even where another server would take it', () => {
    const other = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: ledger-tls, namespace: istio-system }
spec:
  selector: { istio: eastwestgateway }
  servers:
    - port: { number: 15443, name: tls-ledger, protocol: TLS }
      tls: { mode: PASSTHROUGH }
      hosts: ["*.pay.svc.cluster.local"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ledger-tls, namespace: pay }
spec:
  hosts: ["*.pay.svc.cluster.local"]
  gateways: [istio-system/ledger-tls]
  tls: [{ match: [{ port: 15443, sniHosts: ["*.pay.svc.cluster.local"] }], route: [{ destination: { host: ledger.pay.svc.cluster.local, port: { number: 80 } } }] }]
`;
    const d = viaEastwest(meshFrom(...base, other), LEDGER, undefined, 'tls');
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Gateway', name: 'istio-system/cross-network' }] });
    expect(d.stoppedBy[0]?.reason).toContain('ALPN');
  });

  it('an AUTO_PASSTHROUGH server\'s hosts make no chain of their own: a plain TLS name under them goes to another server\'s chain', () => {
    const other = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: passthrough, namespace: istio-system }
spec:
  selector: { istio: eastwestgateway }
  servers:
    - port: { number: 15443, name: tls-pass, protocol: TLS }
      tls: { mode: PASSTHROUGH }
      hosts: ["*.example.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: pass, namespace: pay }
spec:
  hosts: ["*.example.com", "*.local"]
  gateways: [istio-system/passthrough]
  tls: [{ match: [{ port: 15443, sniHosts: ["*.local"] }], route: [{ destination: { host: ledger.pay.svc.cluster.local, port: { number: 80 } } }] }]
`;
    // the cross-network server's *.local also covers the name, but only its cluster names are chains
    const d = viaEastwest(meshFrom(...base, other), 'ledger.pay.svc.cluster.local', undefined, 'tls');
    expect(d.events.map((e) => e.what).join('\n')).toContain('VirtualService pay/pass tls route 0');
  });

  it('a PASSTHROUGH server on the same mesh has chains only for its tls routes\' sniHosts: with none the gateway resets it (AUTO_PASSTHROUGH is not PASSTHROUGH)', () => {
    const d = viaEastwest(meshFrom(...base.map((x) => x.replace('AUTO_PASSTHROUGH', 'PASSTHROUGH'))), LEDGER, stolenWeb);
    expect(d).toMatchObject({ outcome: 'blocked', code: 0, stoppedBy: [{ control: 'Gateway' }] });
    expect(d.destination).toBeUndefined();
  });
});

/** A MESH_INTERNAL ServiceEntry in pay for `host` port 5432 (TCP), with `rest` (endpoints or workloadSelector) as written. */
function entry(name: string, host: string, rest: string, location = 'MESH_INTERNAL', exportTo = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: pay }
spec:
  hosts: [${host}]
  location: ${location}
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
${exportTo ? `  exportTo: ${exportTo}\n` : ''}${rest}`;
}
/** a pod without a Service: reached only through the ServiceEntry that selects it */
const pgPod = (sidecar: boolean): string => `apiVersion: v1
kind: Pod
metadata: { name: pg, namespace: pay, labels: { app: pg }${sidecar ? '' : ', annotations: { sidecar.istio.io/inject: "false" }'} }
spec:
  serviceAccountName: pg
  containers: [{ name: main, image: example/pg, ports: [{ containerPort: 5432 }] }]
`;
const VM = `  resolution: STATIC
  endpoints: [{ address: 10.200.0.5, labels: { security.istio.io/tlsMode: istio } }]
`;
const DB = 'outbound_.5432_._.db.vm.local';

describe('§9 AUTO_PASSTHROUGH to MESH_INTERNAL ServiceEntry hosts', () => {
  it('AUTO_PASSTHROUGH routes SNI outbound_.<port>_._.<host> to a MESH_INTERNAL ServiceEntry\'s endpoints', () => {
    // a VM endpoint (an address, no pod): the gateway forwards the stolen certificate's mTLS to it
    const vm = viaEastwest(meshFrom(...base, entry('db', 'db.vm.local', VM)), DB, stolenWeb, 'tcp');
    expect(vm).toMatchObject({ outcome: 'allowed', mtls: true, peerPrincipal: 'cluster.local/ns/shop/sa/web', stoppedBy: [] });
    const text = vm.events.map((e) => e.what).join('\n');
    expect(text).toContain('ServiceEntry pay/db, MESH_INTERNAL');
    expect(text).toContain('"10.200.0.5"');
    // a pod the entry's workloadSelector picks: its sidecar sees the stolen identity
    const sel = viaEastwest(meshFrom(...base, pgPod(true), entry('pg', 'pg.vm.local', '  resolution: STATIC\n  workloadSelector: { labels: { app: pg } }\n')),
      'outbound_.5432_._.pg.vm.local', stolenWeb, 'tcp');
    expect(sel).toMatchObject({ outcome: 'allowed', mtls: true, peerPrincipal: 'cluster.local/ns/shop/sa/web', destination: { workload: 'pay/pg' } });
    expect(sel.path).toEqual(['istio-system/eastwest (gateway)', 'pay/pg (sidecar)']);
  });

  it('AUTO_PASSTHROUGH to a VM endpoint: its sidecar takes Istio mTLS, so a forged certificate fails the handshake there and an expired stolen one too', () => {
    const mesh = meshFrom(...base, entry('db', 'db.vm.local', VM));
    const forged = viaEastwest(mesh, DB, { kind: 'forged-cert', spiffe: 'spiffe://cluster.local/ns/shop/sa/web' }, 'tcp');
    expect(forged).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'PeerAuthentication', name: null }] });
    expect(forged.stoppedBy[0]?.reason).toContain('"10.200.0.5"');
    const expired = viaEastwest(mesh, DB, { ...stolenWeb, problem: 'expired 1h ago' }, 'tcp');
    expect(expired).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'CertificateValidity' }] });
  });

  it('AUTO_PASSTHROUGH refuses a MESH_EXTERNAL entry: no chain, the gateway resets the connection', () => {
    const d = viaEastwest(meshFrom(...base, entry('db', 'db.vm.local', VM, 'MESH_EXTERNAL')), DB, stolenWeb, 'tcp');
    expect(d).toMatchObject({ outcome: 'blocked', code: null, stoppedBy: [{ control: 'Gateway', name: 'istio-system/cross-network' }] });
    expect(d.stoppedBy[0]?.reason).toContain('MESH_EXTERNAL');
  });

  it('AUTO_PASSTHROUGH honours a ServiceEntry\'s exportTo: an entry private to its namespace has no chain at the gateway', () => {
    const d = viaEastwest(meshFrom(...base, entry('db', 'db.vm.local', VM, 'MESH_INTERNAL', '["."]')), DB, stolenWeb, 'tcp');
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Gateway' }] });
    expect(d.stoppedBy[0]?.reason).toContain('visible to istio-system');
  });

  it('AUTO_PASSTHROUGH to a ServiceEntry keeps only endpoints with Istio\'s tlsMode: its label, else a serviceAccount; a selected pod by its sidecar', () => {
    const plain = viaEastwest(meshFrom(...base, entry('db', 'db.vm.local', '  resolution: STATIC\n  endpoints: [{ address: 10.200.0.5 }]\n')), DB, stolenWeb, 'tcp');
    expect(plain).toMatchObject({ outcome: 'blocked', flags: 'UH', stoppedBy: [{ control: 'Routing', name: 'pay/db' }] });
    const disabled = viaEastwest(meshFrom(...base, entry('db', 'db.vm.local', '  resolution: STATIC\n  endpoints: [{ address: 10.200.0.5, serviceAccount: db, labels: { security.istio.io/tlsMode: disabled } }]\n')), DB, stolenWeb, 'tcp');
    expect(disabled).toMatchObject({ outcome: 'blocked', flags: 'UH' });
    const sa = viaEastwest(meshFrom(...base, entry('db', 'db.vm.local', '  resolution: STATIC\n  endpoints: [{ address: 10.200.0.5, serviceAccount: db }]\n')), DB, stolenWeb, 'tcp');
    expect(sa).toMatchObject({ outcome: 'allowed' });
    const noSidecar = viaEastwest(meshFrom(...base, pgPod(false), entry('pg', 'pg.vm.local', '  resolution: STATIC\n  workloadSelector: { labels: { app: pg } }\n')),
      'outbound_.5432_._.pg.vm.local', stolenWeb, 'tcp');
    expect(noSidecar).toMatchObject({ outcome: 'blocked', flags: 'UH', stoppedBy: [{ control: 'Routing', name: 'pay/pg' }] });
    // the gateway's DestinationRule mode decides for every endpoint
    const mutual = viaEastwest(meshFrom(...base, dr('istio-system', 'db', 'db.vm.local', '{ mode: ISTIO_MUTUAL }'), entry('db', 'db.vm.local', '  resolution: STATIC\n  endpoints: [{ address: 10.200.0.5 }]\n')), DB, stolenWeb, 'tcp');
    expect(mutual).toMatchObject({ outcome: 'allowed' });
  });

  it('AUTO_PASSTHROUGH to a ServiceEntry: no chain for a port it does not declare', () => {
    const d = viaEastwest(meshFrom(...base, entry('db', 'db.vm.local', VM)), 'outbound_.5433_._.db.vm.local', stolenWeb, 'tcp');
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Gateway' }] });
    expect(d.stoppedBy[0]?.reason).toContain('no TCP port 5433');
  });
});

describe('§9 parseClusterSni reads outbound_.<port>_.<subset>_.<host> by index', () => {
  it('reads the port, the subset (empty for _) and the host, lower-cased', () => {
    expect(parseClusterSni('outbound_.80_._.Ledger.pay.svc.cluster.local')).toEqual({ port: 80, subset: '', host: 'ledger.pay.svc.cluster.local' });
    expect(parseClusterSni('outbound_.9080_.v2_.reviews.default.svc.cluster.local')).toEqual({ port: 9080, subset: 'v2', host: 'reviews.default.svc.cluster.local' });
  });

  it('reads the name as Envoy compares it, lower-cased', () => {
    expect(parseClusterSni('OUTBOUND_.80_._.LEDGER.pay.svc.cluster.local')).toEqual({ port: 80, subset: '', host: 'ledger.pay.svc.cluster.local' });
  });

  it('refuses anything else: another direction, a port out of range, with a leading zero or not digits, no host, a name over 253 characters', () => {
    for (const s of ['inbound_.80_._.a', 'outbound|80||a', 'outbound_.0_._.a', 'outbound_.080_._.a', 'outbound_.65536_._.a', 'outbound_.8a_._.a', 'outbound_.80_._.', 'outbound_.80_.a', 'outbound_._._.a',
      `outbound_.${'9'.repeat(400)}_._.a`, `outbound_.80_._.${'a'.repeat(240)}`]) {
      expect(parseClusterSni(s), s).toBeNull();
    }
  });
});
