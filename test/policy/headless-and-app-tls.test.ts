/**
 * §5 §4 two inbound/outbound TLS rules of Istio:
 *  - a headless Service's cluster is ORIGINAL_DST, so auto mTLS is decided once for the whole Service
 *    (BestEffortInferServiceMTLSMode): plaintext to every endpoint when any lacks a sidecar (istio#27376), else mTLS to
 *    every one, whatever a workload's own PeerAuthentication says;
 *  - the app's own TLS (not Istio's) to a sidecar port declared HTTP: under PERMISSIVE the sidecar has filter chains for
 *    Istio mTLS and plaintext only, under DISABLE the plaintext HTTP one only (filterchain_options.go): it is reset.
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, ns, pa, send } from '../helpers.js';

const headless = (selector: string): string => `apiVersion: v1
kind: Service
metadata: { name: db, namespace: b }
spec:
  clusterIP: None
  selector: { tier: ${selector} }
  ports: [{ name: tcp-db, port: 5432, targetPort: 5432 }]
`;
const pod = (name: string, tier: string, inject: boolean): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: b }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata:
      labels: { app: ${name}, tier: ${tier}, sidecar.istio.io/inject: "${inject}" }
    spec: { containers: [{ name: m, image: m, ports: [{ containerPort: 5432 }] }] }
`;
const base = [ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client')];

describe('§5 auto mTLS to a headless Service is decided for the whole Service', () => {
  it('one endpoint without a sidecar makes it plaintext to every endpoint: a STRICT one refuses', () => {
    const strictPrimary = pa('b', 'primary-strict', 'STRICT', '  selector: { matchLabels: { app: primary } }\n');
    const m = meshFrom(...base, headless('db'), pod('primary', 'db', true), pod('zlegacy', 'db', false), strictPrimary);
    const d = send(m, { from: 'a/client', to: 'db.b.svc.cluster.local:5432', protocol: 'tcp' });
    expect(d.outcome).toBe('blocked');
    expect(d.stoppedBy[0]?.control).toBe('PeerAuthentication');
  });

  it('every endpoint with a sidecar: mTLS to all, even to one whose own PeerAuthentication is DISABLE (the handshake fails there)', () => {
    const disable = pa('b', 'primary-off', 'DISABLE', '  selector: { matchLabels: { app: primary } }\n');
    const m = meshFrom(...base, headless('db'), pod('primary', 'db', true), disable);
    const d = send(m, { from: 'a/client', to: 'db.b.svc.cluster.local:5432', protocol: 'tcp' });
    expect(d.outcome).toBe('blocked');
    expect(d.stoppedBy[0]?.control).toBe('PeerAuthentication');
    expect(send(meshFrom(...base, headless('db'), pod('primary', 'db', true)), { from: 'a/client', to: 'db.b.svc.cluster.local:5432', protocol: 'tcp' }))
      .toMatchObject({ outcome: 'allowed', mtls: true });
  });
});

describe('§4 the app\'s own TLS to a port declared HTTP', () => {
  const legacy = [ns('istio-system', false), ns('legacy', false), ns('b', true), app('legacy', 'old'), app('b', 'web')];
  it('is reset under PERMISSIVE and DISABLE: no filter chain takes TLS that is not Istio\'s', () => {
    for (const mode of ['PERMISSIVE', 'DISABLE']) {
      const d = send(meshFrom(...legacy, pa('b', 'default', mode)), { from: 'legacy/old', to: 'web.b.svc.cluster.local:80', protocol: 'tls' });
      expect(d.outcome, mode).toBe('blocked');
      expect(d.stoppedBy[0]?.control, mode).toBe('PeerAuthentication');
    }
  });

  it('is reset too when the pod is dialled by its address: the sidecar picks its chains by port, whatever address was dialled', () => {
    for (const mode of ['PERMISSIVE', 'DISABLE']) {
      const d = send(meshFrom(...legacy, pa('b', 'default', mode)), { from: 'legacy/old', to: 'workload/b/web:8080', protocol: 'tls' });
      expect(d.outcome, mode).toBe('blocked');
      expect(d.stoppedBy[0]?.control, mode).toBe('PeerAuthentication');
    }
    // a port its Service declares TCP gets the passthrough chain: the app's TLS reaches the app
    const tcp = [ns('istio-system', false), ns('legacy', false), ns('b', true), app('legacy', 'old'), app('b', 'store', { portName: 'tcp-store' })];
    expect(send(meshFrom(...tcp), { from: 'legacy/old', to: 'workload/b/store:8080', protocol: 'tls' }).outcome).toBe('allowed');
  });

  it('from an app with a sidecar, fails at its own sidecar, whose listener on a port declared HTTP parses HTTP only (Istio: "Sending HTTPS to an HTTP port")', () => {
    const meshed = (portName: string) => meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('b', 'web', { portName }));
    const d = send(meshed('http'), { from: 'a/client', to: 'web.b.svc.cluster.local:80', protocol: 'tls' });
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Routing', name: 'b/web' }] });
    expect(d.events.map((e) => e.what).join('\n')).toContain('wrong version number');
    // declared TCP or TLS, or left to sniffing: the sidecar passes the app's TLS on
    for (const portName of ['tcp-web', 'https', 'web']) {
      expect(send(meshed(portName), { from: 'a/client', to: 'web.b.svc.cluster.local:80', protocol: 'tls' }).outcome, portName).toBe('allowed');
    }
    // a ServiceEntry port declared HTTP: the same
    const entry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: a }
spec: { hosts: [api.example.com], ports: [{ number: 443, name: http, protocol: HTTP }], resolution: DNS }
`;
    const m = meshFrom(ns('istio-system', false), ns('a', true), app('a', 'client'), entry);
    expect(send(m, { from: 'a/client', to: 'api.example.com:443', protocol: 'tls' })).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'Routing', name: 'a/api' }] });
    // a gateway pod has no sidecar listener: its TLS is not parsed as HTTP there
    const gw = `apiVersion: apps/v1
kind: Deployment
metadata: { name: egress, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: egressgateway } }
  template: { metadata: { labels: { istio: egressgateway } }, spec: { containers: [{ name: istio-proxy, image: proxyv2 }] } }
`;
    const fromGw = send(meshFrom(ns('istio-system', false), ns('b', true), app('b', 'web'), gw), { from: 'istio-system/egress', to: 'web.b.svc.cluster.local:80', protocol: 'tls' });
    expect(fromGw.stoppedBy.some((x) => x.control === 'Routing')).toBe(false);
  });

  it('passes to the app on a port declared TCP (the passthrough chain)', () => {
    const tcp = [ns('istio-system', false), ns('legacy', false), ns('b', true), app('legacy', 'old'), app('b', 'store', { portName: 'tcp-store' })];
    expect(send(meshFrom(...tcp), { from: 'legacy/old', to: 'store.b.svc.cluster.local:80', protocol: 'tls' }).outcome).toBe('allowed');
  });
});

describe('§5 §4 a DestinationRule that originates TLS (not Istio\'s) to a sidecar: which side ends it', () => {
  const dr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web-tls, namespace: a }
spec:
  host: web.b.svc.cluster.local
  trafficPolicy: { tls: { mode: SIMPLE } }
`;
  const mesh = (mode: string, portName = 'http') => meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('b', 'web', { portName }), pa('b', 'default', mode), dr);
  it('STRICT: the sidecar asks for a mesh client certificate and the handshake fails (PeerAuthentication)', () => {
    const d = send(mesh('STRICT'), { from: 'a/client', to: 'web.b.svc.cluster.local:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 503, flags: 'UF,URX' });
    expect(d.stoppedBy[0]?.control).toBe('PeerAuthentication');
  });
  it('PERMISSIVE on a port declared HTTP: no filter chain takes it (PeerAuthentication); on a TCP port it reaches the app, which speaks plaintext (DestinationRule)', () => {
    expect(send(mesh('PERMISSIVE'), { from: 'a/client', to: 'web.b.svc.cluster.local:80' }).stoppedBy[0]?.control).toBe('PeerAuthentication');
    expect(send(mesh('PERMISSIVE', 'tcp-web'), { from: 'a/client', to: 'web.b.svc.cluster.local:80', protocol: 'tcp' }).stoppedBy[0]?.control).toBe('DestinationRule');
  });
});
