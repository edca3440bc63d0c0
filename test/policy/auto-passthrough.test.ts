/**
 * §9 AUTO_PASSTHROUGH gateway servers (Istio's builtAutoPassthroughFilterChains): one filter chain per cluster of the
 * gateway's scope, matched by the cluster name as SNI (`outbound_.<port>_.<subset>_.<host>`) and Istio's mTLS ALPNs;
 * no VirtualService, no TLS termination; the gateway's TCP filters (RBAC) still run; the client's own TLS reaches the
 * destination's sidecar untouched.
 */
import { describe, expect, it } from 'vitest';
import { decide, type IdentityOverride, type MeshRequest } from '../../src/policy/decide.js';
import { parseClusterSni } from '../../src/policy/routing.js';
import { app, dr, meshFrom, np, ns, pa } from '../helpers.js';
import type { Mesh } from '../../src/model/types.js';

const eastwest = `apiVersion: apps/v1
kind: Deployment
metadata: { name: eastwest, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: eastwestgateway } }
  template:
    metadata: { labels: { istio: eastwestgateway } }
    spec:
      serviceAccountName: eastwest
      containers: [{ name: istio-proxy, image: proxy, ports: [{ containerPort: 15443 }], env: [{ name: ISTIO_META_ROUTER_MODE, value: sni-dnat }] }]
---
apiVersion: v1
kind: Service
metadata: { name: eastwest, namespace: istio-system }
spec:
  type: LoadBalancer
  selector: { istio: eastwestgateway }
  ports: [{ name: tls, port: 15443, targetPort: 15443 }]
---
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
    for (const [sni, why] of [['ledger.pay.svc.cluster.local', 'not a cluster name'], ['outbound_.81_._.ledger.pay.svc.cluster.local', 'no TCP port 81'],
      ['outbound_.80_._.nobody.pay.svc.cluster.local', 'not a Service'], ['outbound_.80_.v1_.ledger.pay.svc.cluster.local', 'subset v1']] as const) {
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

  it('the gateway\'s AuthorizationPolicy still runs on the chain (RBAC on TCP, no peer identity): a DENY on connection.sni stops it there', () => {
    const deny = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: no-ledger, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: eastwestgateway } }
  action: DENY
  rules: [{ when: [{ key: connection.sni, values: ["${LEDGER}"] }] }]
`;
    const d = viaEastwest(meshFrom(...base, deny), LEDGER, stolenWeb);
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'AuthorizationPolicy', name: 'istio-system/no-ledger' }] });
    expect(d.path).toEqual(['istio-system/eastwest (gateway)']);
  });

  it('NetworkPolicy sees the gateway pod as the source: a policy admitting istio-system lets the outside attacker in', () => {
    const fromIstio = np('pay', 'from-istio', `  podSelector: {}
  policyTypes: [Ingress]
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: istio-system } } }] }]
`);
    const d = viaEastwest(meshFrom(...base, fromIstio), LEDGER, stolenWeb);
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'pay/ledger' } });
  });

  it('a cluster whose endpoints have no sidecar has no endpoints at the gateway: no healthy upstream', () => {
    const d = viaEastwest(meshFrom(...base, ns('legacy', false), app('legacy', 'db')), 'outbound_.80_._.db.legacy.svc.cluster.local', stolenWeb);
    expect(d).toMatchObject({ outcome: 'blocked', code: 0, flags: 'UH', stoppedBy: [{ control: 'Routing', name: 'legacy/db' }] });
  });

  it('an SNI naming the gateway\'s own Service loops back into the gateway and reaches no workload', () => {
    const d = viaEastwest(meshFrom(...base), 'outbound_.15443_._.eastwest.istio-system.svc.cluster.local', stolenWeb);
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Gateway' }] });
    expect(d.stoppedBy[0]?.reason).toContain('loops');
  });

  it('a gateway not in router mode sni-dnat has the chains but none of their clusters: the connection is closed (NC)', () => {
    for (const env of ['[{ name: ISTIO_META_ROUTER_MODE, value: standard }]', '[]']) {
      const d = viaEastwest(meshFrom(...base.map((x) => x.replace('[{ name: ISTIO_META_ROUTER_MODE, value: sni-dnat }]', env))), LEDGER, stolenWeb);
      expect(d, env).toMatchObject({ outcome: 'blocked', code: 0, flags: 'NC', stoppedBy: [{ control: 'Gateway', name: 'istio-system/cross-network' }] });
      expect(d.stoppedBy[0]?.reason).toContain('sni-dnat');
    }
  });

  it('a PASSTHROUGH server on the same mesh still needs a tls route: AUTO_PASSTHROUGH is not PASSTHROUGH', () => {
    const d = viaEastwest(meshFrom(...base.map((x) => x.replace('AUTO_PASSTHROUGH', 'PASSTHROUGH'))), LEDGER, stolenWeb);
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'VirtualService' }] });
  });
});

describe('§9 parseClusterSni reads outbound_.<port>_.<subset>_.<host> by index', () => {
  it('reads the port, the subset (empty for _) and the host, lower-cased', () => {
    expect(parseClusterSni('outbound_.80_._.Ledger.pay.svc.cluster.local')).toEqual({ port: 80, subset: '', host: 'ledger.pay.svc.cluster.local' });
    expect(parseClusterSni('outbound_.9080_.v2_.reviews.default.svc.cluster.local')).toEqual({ port: 9080, subset: 'v2', host: 'reviews.default.svc.cluster.local' });
  });

  it('refuses anything else: another direction, a port out of range or not digits, no host', () => {
    for (const s of ['inbound_.80_._.a', 'outbound|80||a', 'outbound_.0_._.a', 'outbound_.65536_._.a', 'outbound_.8a_._.a', 'outbound_.80_._.', 'outbound_.80_.a', 'outbound_._._.a', `outbound_.${'9'.repeat(400)}_._.a`]) {
      expect(parseClusterSni(s), s).toBeNull();
    }
  });
});
