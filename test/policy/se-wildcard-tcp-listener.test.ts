/**
 * §8 A ServiceEntry TCP port without addresses is an outbound listener on 0.0.0.0:port (istio listener.go
 * buildSidecarOutboundListeners: resolution NONE without a workloadSelector falls back to the wildcard listener; DNS
 * entries without an address bind there too unless Istio allocated them one). It takes TCP to that port whatever
 * address was dialled, so under REGISTRY_ONLY such an entry opens the port to any IP (NONE: ORIGINAL_DST to the
 * address dialled) or redirects it to the entry's host (DNS).
 */
import { describe, expect, it } from 'vitest';
import { app, gatewayPod, meshFrom, ns, registryOnlyMeshConfig, meshConfig, send } from '../helpers.js';

const entry = (resolution: string, extra = '', protocol = 'TCP'): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db, namespace: a }
spec:
  hosts: [db.example.com]
  ports: [{ number: 5432, name: db, protocol: ${protocol} }]
  resolution: ${resolution}
${extra}`;
const mesh = (...docs: string[]) => meshFrom(ns('istio-system', false), ns('a', true), app('a', 'client'), ...docs);
const tcp = (m: ReturnType<typeof mesh>, to: string) => send(m, { from: 'a/client', to, protocol: 'tcp' });
const said = (d: ReturnType<typeof send>): string => d.events.map((e) => e.what).join('\n');

describe('§8 a ServiceEntry TCP port without addresses is a 0.0.0.0 listener', () => {
  it('resolution NONE: TCP to any IP or host on that port gets out under REGISTRY_ONLY, to the address dialled', () => {
    const m = mesh(registryOnlyMeshConfig, entry('NONE'));
    const d = tcp(m, '203.0.113.9:5432');
    expect(d.outcome).toBe('allowed');
    expect(said(d)).toContain('0.0.0.0:5432');
    expect(said(d)).toContain('on to the address dialled');
    expect(tcp(m, 'evil.example.org:5432').outcome).toBe('allowed');
    // an HTTP request to that port is proxied as TCP too
    expect(send(m, { from: 'a/client', to: '203.0.113.9:5432' }).outcome).toBe('allowed');
    // another port stays closed
    expect(tcp(m, '203.0.113.9:5433').outcome).toBe('blocked');
  });

  it('a sniffed port takes non-HTTP traffic the same way', () => {
    const m = mesh(registryOnlyMeshConfig, entry('NONE').replace(', protocol: TCP', ''));
    expect(tcp(m, '203.0.113.9:5432').outcome).toBe('allowed');
  });

  it('with addresses the listener is bound to them: another IP stays blackholed', () => {
    const m = mesh(registryOnlyMeshConfig, entry('NONE', '  addresses: [10.9.9.9]\n'));
    expect(tcp(m, '203.0.113.9:5432').outcome).toBe('blocked');
    expect(tcp(m, '10.9.9.9:5432').outcome).toBe('allowed');
  });

  it('resolution DNS: the connection is taken to the entry\'s host, not to the address dialled', () => {
    const d = tcp(mesh(registryOnlyMeshConfig, entry('DNS')), '203.0.113.9:5432');
    expect(d.outcome).toBe('allowed');
    expect(said(d)).toContain('sends it to db.example.com, not to 203.0.113.9');
  });

  it('under ALLOW_ANY too the DNS entry takes TCP to any address on its port: TLS to another site on 443 goes to the entry\'s host, not through the PassthroughCluster (istio/istio#58696)', () => {
    const d = tcp(mesh(entry('DNS').replace('number: 5432', 'number: 443')), 'www.bing.com:443');
    expect(d.outcome).toBe('allowed');
    expect(said(d)).toContain('sends it to db.example.com, not to www.bing.com');
    expect(said(d)).not.toContain('PassthroughCluster');
  });

  it('resolution DNS with DNS capture on: the listener is bound to the allocated address, other IPs are blackholed', () => {
    const capturing = meshConfig('defaultConfig: { proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" } }\noutboundTrafficPolicy: { mode: REGISTRY_ONLY }');
    expect(tcp(mesh(capturing, entry('DNS')), '203.0.113.9:5432').outcome).toBe('blocked');
  });

  it('a TLS port matches by SNI, not as a bare TCP listener', () => {
    const m = mesh(registryOnlyMeshConfig, entry('NONE', '', 'TLS'));
    expect(tcp(m, '203.0.113.9:5432').outcome).toBe('blocked');
  });

  it('an entry the client\'s Sidecar does not import opens nothing', () => {
    const sidecar = 'apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: { name: default, namespace: a }\nspec:\n  egress:\n  - hosts: ["istio-system/*"]\n';
    expect(tcp(mesh(registryOnlyMeshConfig, entry('NONE'), sidecar), '203.0.113.9:5432').outcome).toBe('blocked');
  });

  it('the wildcard listener\'s chain holds the mesh VirtualService tcp route of the entry\'s host: TCP to any IP on the port goes to the egress gateway', () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db-via-egress, namespace: a }
spec:
  hosts: [db.example.com]
  gateways: [mesh]
  tcp:
    - match: [{ port: 5432 }]
      route: [{ destination: { host: istio-egressgateway.istio-system.svc.cluster.local, port: { number: 5432 } } }]
`;
    const m = mesh(registryOnlyMeshConfig, entry('NONE'), vs, gatewayPod('istio-egressgateway', 'egressgateway', { port: 5432, targetPort: 15432, name: 'tcp-db' }));
    const d = tcp(m, '203.0.113.9:5432');
    expect(said(d)).toContain('VirtualService a/db-via-egress');
    expect(said(d)).toContain('istio-egressgateway');
    expect(said(d)).not.toContain('on to the address dialled');
  });

  describe('two entries (or two hosts) on one 0.0.0.0 TCP port: Istio keeps the chain of the first service in its order and drops the others\' as conflicting (mergeTCPFilterChains)', () => {
    const dns = (name: string, hosts: string, meta = '', extra = ''): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: a${meta} }
spec:
  hosts: [${hosts}]
  ports: [{ number: 5432, name: db, protocol: TCP }]
  resolution: DNS
${extra}`;

    it('the oldest entry by creationTimestamp wins, not the first applied', () => {
      const m = mesh(dns('db-new', 'new.example.com', ', creationTimestamp: "2024-02-01T00:00:00Z"'), dns('db-old', 'old.example.com', ', creationTimestamp: "2024-01-01T00:00:00Z"'));
      const d = tcp(m, '203.0.113.9:5432');
      expect(d.outcome).toBe('allowed');
      expect(said(d)).toContain('sends it to old.example.com, not to 203.0.113.9');
      expect(said(d)).toContain('new.example.com (ServiceEntry a/db-new) conflicts with it and is dropped');
    });

    it('without timestamps, the first applied wins', () => {
      const d = tcp(mesh(dns('db-one', 'one.example.com'), dns('db-two', 'two.example.com')), '203.0.113.9:5432');
      expect(said(d)).toContain('sends it to one.example.com, not to 203.0.113.9');
    });

    it('an entry private to the client\'s namespace (exportTo ".") comes before an older public one', () => {
      const m = mesh(dns('db-public', 'public.example.com', ', creationTimestamp: "2024-01-01T00:00:00Z"'),
        dns('db-private', 'private.example.com', ', creationTimestamp: "2024-03-01T00:00:00Z"', '  exportTo: ["."]\n'));
      expect(said(tcp(m, '203.0.113.9:5432'))).toContain('sends it to private.example.com, not to 203.0.113.9');
    });
  });
});
