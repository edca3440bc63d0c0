/**
 * §3 step 2, §8: an outbound HTTP listener is one per port (0.0.0.0:port) whose route table has a virtual host per
 * service of that port the proxy knows (its FQDN, the short names its namespace resolves, its address, each also with
 * `:port`), per ServiceEntry host and per VirtualService host, and a catch-all: Envoy picks the virtual host by the
 * request's Host header, not by the address dialled. A Host naming another service reaches that service; one naming
 * nothing there takes the catch-all — allow_any (PassthroughCluster: plaintext to the address dialled) or, under
 * REGISTRY_ONLY, block_all (502).
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, ns, pa, registryOnlyMeshConfig, send } from '../helpers.js';

const base = [ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('a', 'local'), app('b', 'alpha'), app('b', 'beta'), app('b', 'db', { svcPort: 5432, port: 5432 })];
const ALPHA = 'alpha.b.svc.cluster.local';
const registryOnly = registryOnlyMeshConfig;
const trace = (d: { events: { what: string }[] }): string => d.events.map((e) => e.what).join('\n');

describe('§8 the HTTP listener picks the virtual host by Host', () => {
  it('dialling one Service with the Host of another on the same port reaches the other, with its mTLS', () => {
    const d = send(meshFrom(...base), { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'beta.b.svc.cluster.local' } });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true, destination: { workload: 'b/beta' } });
    expect(trace(d)).toContain('picks the virtual host by Host beta.b.svc.cluster.local');
    // the Host of the Service dialled, its short form from another namespace, its address, or `:80`: the same Service
    const m = meshFrom(...base);
    for (const host of [ALPHA, 'alpha.b', `${ALPHA}:80`, m.services.find((s) => s.name === 'alpha')?.clusterIP ?? '']) {
      expect(send(m, { from: 'a/client', to: `${ALPHA}:80`, headers: { host } }).destination?.workload).toBe('b/alpha');
    }
  });

  it('a one-label Host names a Service of the client\'s own namespace only', () => {
    const m = meshFrom(...base);
    expect(send(m, { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'local' } }).destination?.workload).toBe('a/local');
    // `beta` is not a name in namespace a: no virtual host, so the catch-all — plaintext to the address dialled
    expect(send(m, { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'beta' } })).toMatchObject({ destination: { workload: 'b/alpha' }, mtls: false });
  });

  it('a Host that names nothing on the port takes allow_any: plaintext to the address dialled, which STRICT refuses', () => {
    const open = send(meshFrom(...base), { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'shop.example.com' } });
    expect(open).toMatchObject({ outcome: 'allowed', mtls: false, destination: { workload: 'b/alpha' } });
    expect(trace(open)).toContain('PassthroughCluster');
    const strict = send(meshFrom(...base, pa('b', 'default', 'STRICT')), { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'shop.example.com' } });
    expect(strict.outcome).toBe('blocked');
    expect(strict.stoppedBy[0]?.control).toBe('PeerAuthentication');
  });

  it('under REGISTRY_ONLY such a Host meets block_all: 502 from the client\'s own sidecar', () => {
    const d = send(meshFrom(...base, registryOnly), { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'shop.example.com' } });
    expect(d).toMatchObject({ outcome: 'blocked', code: 502 });
    expect(d.stoppedBy[0]?.control).toBe('EgressPolicy');
  });

  it('the port in the Host plays no part (sidecar routes ignore it); a Host naming a Service without the listener\'s port names nothing', () => {
    const m = meshFrom(...base, registryOnly);
    expect(send(m, { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'beta.b.svc.cluster.local:8080' } }).destination?.workload).toBe('b/beta');
    expect(send(m, { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'db.b.svc.cluster.local' } }).code).toBe(502);
  });

  it('a Service port whose protocol is sniffed has a listener of its own address that takes every Host: the Service dialled', () => {
    const m = meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('b', 'alpha', { portName: 'web' }), app('b', 'beta'), registryOnly);
    const d = send(m, { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'shop.example.com' } });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true, destination: { workload: 'b/alpha' } });
    expect(send(m, { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'beta.b.svc.cluster.local' } }).destination?.workload).toBe('b/alpha');
  });

  it('a Host that is a VirtualService host routes by that VirtualService', () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: internal, namespace: b }
spec:
  hosts: [api.internal]
  http: [{ route: [{ destination: { host: beta.b.svc.cluster.local } }] }]
`;
    const d = send(meshFrom(...base, vs), { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'api.internal' } });
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'b/beta' } });
    expect(trace(d)).toContain('VirtualService b/internal');
  });

  it('a VirtualService host that is no service is a virtual host on port 80 only, unless the VirtualService also names a service of the port', () => {
    const on8080 = [ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('b', 'alpha', { svcPort: 8080 }), app('b', 'beta', { svcPort: 8080 })];
    const vs = (hosts: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: internal, namespace: b }
spec:
  hosts: [${hosts}]
  http: [{ route: [{ destination: { host: beta.b.svc.cluster.local } }] }]
`;
    const alone = send(meshFrom(...on8080, vs('api.internal')), { from: 'a/client', to: `${ALPHA}:8080`, headers: { host: 'api.internal' } });
    expect(alone).toMatchObject({ destination: { workload: 'b/alpha' }, mtls: false });
    const beside = send(meshFrom(...on8080, vs('api.internal, beta.b.svc.cluster.local')), { from: 'a/client', to: `${ALPHA}:8080`, headers: { host: 'api.internal' } });
    expect(beside).toMatchObject({ destination: { workload: 'b/beta' }, mtls: true });
  });

  it('a client without a sidecar has no listener: its request goes where it dialled, whatever the Host', () => {
    const m = meshFrom(...base, ns('legacy', false), app('legacy', 'old'));
    expect(send(m, { from: 'legacy/old', to: `${ALPHA}:80`, headers: { host: 'beta.b.svc.cluster.local' } }).destination?.workload).toBe('b/alpha');
  });

  it('a headless Service\'s virtual host also answers its pods\' own names (*.<fqdn>), and a ServiceEntry address names its entry', () => {
    const headless = `apiVersion: v1
kind: Service
metadata: { name: stateful, namespace: b }
spec:
  clusterIP: None
  selector: { app: beta }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`;
    const m = meshFrom(...base, headless);
    expect(send(m, { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'beta-0.stateful.b.svc.cluster.local' } }).destination?.workload).toBe('b/beta');
    const entry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: legacy-api, namespace: a }
spec:
  hosts: [legacy.example.internal]
  addresses: [192.0.2.50]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 192.0.2.50 }]
`;
    const d = send(meshFrom(...base, entry, registryOnly), { from: 'a/client', to: `${ALPHA}:80`, headers: { host: '192.0.2.50' } });
    expect(d.outcome).toBe('allowed');
    expect(d.destination?.workload).toBeUndefined();
    expect(trace(d)).toContain('ServiceEntry a/legacy-api');
  });

  it('the routes read are the picked virtual host\'s: a VirtualService of the dialled Service does not apply, one of the Host\'s does', () => {
    const vs = (host: string, to: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: vs-${host.split('.')[0] ?? ''}, namespace: b }
spec:
  hosts: [${host}]
  http: [{ route: [{ destination: { host: ${to} } }] }]
`;
    const m = meshFrom(...base, vs(ALPHA, 'local.a.svc.cluster.local'));
    // Host beta: alpha's VirtualService (to local) is not read
    expect(send(m, { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'beta.b.svc.cluster.local' } }).destination?.workload).toBe('b/beta');
    // Host beta with beta's own VirtualService: it routes
    const m2 = meshFrom(...base, vs('beta.b.svc.cluster.local', 'local.a.svc.cluster.local'));
    expect(send(m2, { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'beta.b.svc.cluster.local' } }).destination?.workload).toBe('a/local');
  });

  it('a Host naming a ServiceEntry host reads that host\'s routes, not the dialled Service\'s', () => {
    const ext = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext, namespace: a }
spec:
  hosts: [api.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 203.0.113.77 }]
`;
    const vs = (host: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: to-beta, namespace: b }
spec:
  hosts: [${host}]
  http: [{ route: [{ destination: { host: beta.b.svc.cluster.local } }] }]
`;
    const dialledVs = send(meshFrom(...base, ext, vs(ALPHA)), { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'api.example.com' } });
    expect(dialledVs.destination?.workload).toBeUndefined();
    expect(trace(dialledVs)).toContain('203.0.113.77');
    const hostVs = send(meshFrom(...base, ext, vs('api.example.com')), { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'api.example.com' } });
    expect(hostVs.destination?.workload).toBe('b/beta');
  });

  it('a VirtualService host that is no service, routed to itself, has no cluster: 503 NC', () => {
    const self = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: self, namespace: b }
spec:
  hosts: [api.internal]
  http: [{ route: [{ destination: { host: api.internal } }] }]
`;
    const d = send(meshFrom(...base, self), { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'api.internal' } });
    expect(d).toMatchObject({ outcome: 'blocked', code: 503, flags: 'NC' });
  });

  it('a pod dialled by its address on an HTTP port is routed by Host too, and the listener names the virtual host it used', () => {
    const m = meshFrom(...base);
    const alpha = m.workloads.find((w) => w.id === 'b/alpha')?.ip ?? '';
    const d = send(m, { from: 'a/client', to: `workload/b/alpha:80`, headers: { host: 'beta.b.svc.cluster.local' } });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true, destination: { workload: 'b/beta' } });
    expect(alpha).not.toBe('');
    expect(send(m, { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'beta.b.svc.cluster.local' } }).clientListener?.vhost).toBe('beta.b.svc.cluster.local:80');
    expect(send(m, { from: 'a/client', to: `${ALPHA}:80`, headers: { host: 'nothing.example' } }).clientListener?.vhost).toBe('allow_any');
  });
});
