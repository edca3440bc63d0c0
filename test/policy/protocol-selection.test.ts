/** istio-semantics §6.8 protocol selection, as Istio's kube ConvertProtocol: appProtocol or port name, prefixes, well-known ports. */
import { describe, expect, it } from 'vitest';
import { declaredProtocol } from '../../src/policy/pipeline.js';
import { app, meshFrom, ns, send } from '../helpers.js';

const sp = (port: number, name?: string, appProtocol?: string) => ({ port, targetPort: port, protocol: 'TCP', ...(name !== undefined ? { name } : {}), ...(appProtocol !== undefined ? { appProtocol } : {}) });

describe('§6.8 protocol selection (Istio kube ConvertProtocol)', () => {
  it('§6.8 the port name prefix before the first "-" names the protocol; an unknown one is sniffed', () => {
    expect(declaredProtocol(sp(80, 'http-web'))).toBe('http');
    expect(declaredProtocol(sp(80, 'grpc-web-x'))).toBe('http');
    expect(declaredProtocol(sp(80, 'http_proxy'))).toBe('http');
    expect(declaredProtocol(sp(80, 'tcp-db'))).toBe('tcp');
    expect(declaredProtocol(sp(80, 'web'))).toBeNull();
  });

  it('§6.8 an appProtocol is read the same way (prefix included); Kubernetes\' h2c / ws names are HTTP, wss is HTTPS (TCP)', () => {
    expect(declaredProtocol(sp(80, 'tcp', 'http-internal'))).toBe('http');
    expect(declaredProtocol(sp(80, 'http', 'mysql'))).toBe('tcp');
    for (const a of ['kubernetes.io/h2c', 'kubernetes.io/ws']) expect(declaredProtocol(sp(80, undefined, a))).toBe('http');
    expect(declaredProtocol(sp(443, 'http', 'kubernetes.io/wss'))).toBe('tcp');
  });

  it('§6.8 on the well-known ports 25, 53, 3306 and 27017 a Service port without a known protocol is TCP, never sniffed', () => {
    for (const p of [25, 53, 3306, 27017]) expect(declaredProtocol(sp(p, 'db'))).toBe('tcp');
    expect(declaredProtocol(sp(3306, 'http'))).toBe('http');
    expect(declaredProtocol(sp(3307, 'db'))).toBeNull();
    // a container port's name (no Service) is not a Service port: sniffed as before
    expect(declaredProtocol(sp(3306, 'db'), false)).toBeNull();
  });

  it('§6.8 so an HTTP-only ALLOW rule is dropped on a MySQL port named "db": the connection is refused', () => {
    const allowGet = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: get-only, namespace: b }
spec:
  selector: { matchLabels: { app: db } }
  rules: [{ to: [{ operation: { methods: [GET] } }] }]
`;
    const mesh = (port: number): ReturnType<typeof meshFrom> => meshFrom(ns('a', true), ns('b', true), app('a', 'client'), app('b', 'db', { port, svcPort: port, portName: 'db' }), allowGet);
    expect(send(mesh(3306), { from: 'a/client', to: `db.b:3306` })).toMatchObject({ outcome: 'blocked' });
    expect(send(mesh(3307), { from: 'a/client', to: `db.b:3307` })).toMatchObject({ outcome: 'allowed' });
  });
});

describe('headless Services (clusterIP: None)', () => {
  it('the connection goes to the pod at the service port, not the targetPort (no kube-proxy; Istio listens on the service port)', () => {
    const headless = `apiVersion: v1
kind: Service
metadata: { name: db-hl, namespace: b }
spec:
  clusterIP: None
  selector: { app: db }
  ports: [{ name: tcp-db, port: 8000, targetPort: 8080 }]
`;
    // an ALLOW on the container port 8080 only: the headless call lands on 8000 and is refused
    const allow8080 = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: only-8080, namespace: b }
spec:
  selector: { matchLabels: { app: db } }
  rules: [{ to: [{ operation: { ports: ["8080"] } }] }]
`;
    const m = meshFrom(ns('a', true), ns('b', true), app('a', 'client'), app('b', 'db', { port: 8080, svcPort: 80 }), headless, allow8080);
    const d = send(m, { from: 'a/client', to: 'db-hl.b:8000', protocol: 'tcp' });
    expect(d.outcome).toBe('blocked');
    expect(d.events.map((e) => e.what).join('\n')).toContain('is headless: DNS gives the pod\'s address and the connection goes to its port 8000');
    // through the ordinary Service, the targetPort 8080 is used and admitted
    expect(send(m, { from: 'a/client', to: 'db.b:80', protocol: 'tcp' }).outcome).toBe('allowed');
  });

  it('a pod of a headless Service dialled by its IP on a TCP service port is that Service\'s endpoint listener: known under REGISTRY_ONLY, sent with mTLS (Istio builds a listener per endpoint address); an HTTP port stays a pod IP', () => {
    const headless = (portName: string): string => `apiVersion: v1
kind: Service
metadata: { name: db-hl, namespace: b }
spec:
  clusterIP: None
  selector: { app: db }
  ports: [{ name: ${portName}, port: 9000 }]
`;
    const registryOnly = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: istio, namespace: istio-system }\ndata:\n  mesh: |-\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n';
    const tcp = meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('b', 'db', { port: 9000 }), headless('tcp-db'), registryOnly);
    const ip = tcp.workloads.find((w) => w.id === 'b/db')?.ip ?? '';
    const d = send(tcp, { from: 'a/client', to: `${ip}:9000`, protocol: 'tcp' });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true });
    // the same by name
    expect(send(tcp, { from: 'a/client', to: 'db-hl.b:9000', protocol: 'tcp' })).toMatchObject({ outcome: 'allowed', mtls: true });
    // an HTTP port of the headless Service: the address names no virtual host, REGISTRY_ONLY blocks it
    const http = meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('b', 'db', { port: 9000 }), headless('http-db'), registryOnly);
    const ipHttp = http.workloads.find((w) => w.id === 'b/db')?.ip ?? '';
    expect(send(http, { from: 'a/client', to: `${ipHttp}:9000` }).outcome).toBe('blocked');
  });
});
