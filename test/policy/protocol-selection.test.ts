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

  it('§6.8 an appProtocol is read the same way (prefix included), and Kubernetes\' h2c / ws / wss names are HTTP', () => {
    expect(declaredProtocol(sp(80, 'tcp', 'http-internal'))).toBe('http');
    expect(declaredProtocol(sp(80, 'http', 'mysql'))).toBe('tcp');
    for (const a of ['kubernetes.io/h2c', 'kubernetes.io/ws', 'kubernetes.io/wss']) expect(declaredProtocol(sp(80, undefined, a))).toBe('http');
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
