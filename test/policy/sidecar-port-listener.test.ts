/**
 * §8 a Sidecar egress listener bound to a port, beside a catch-all one (Istio buildSidecarOutboundListeners): the
 * port-bound listener takes the port's shared listener (0.0.0.0:port, HTTP) and its route, so the catch-all adds no
 * HTTP service there; but a Service's TCP port has a listener on the Service's own address, a key the port-bound
 * listener did not take, and the catch-all still builds it: a TCP Service the port-bound listener leaves out is
 * still reached through its address.
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, ns, registryOnlyMeshConfig, send } from '../helpers.js';

const registryOnly = registryOnlyMeshConfig;
const sidecar = (port: number, protocol: string): string => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: a }
spec:
  egress:
    - port: { number: ${port}, protocol: ${protocol}, name: p${port} }
      hosts: ["./*"]
    - hosts: ["*/*"]
`;
const base = [ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('a', 'near', { svcPort: 5432, port: 5432, portName: 'tcp-db' }),
  app('b', 'db', { svcPort: 5432, port: 5432, portName: 'tcp-db' }), app('b', 'web'), registryOnly];

describe('§8 a port-bound egress listener beside the catch-all', () => {
  it('does not hide a TCP Service of another namespace on its port: the catch-all builds the listener on the Service\'s address', () => {
    const d = send(meshFrom(...base, sidecar(5432, 'TCP')), { from: 'a/client', to: 'db.b.svc.cluster.local:5432', protocol: 'tcp' });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true, destination: { workload: 'b/db' } });
  });

  it('hides an HTTP Service of another namespace on its port: the shared listener and its route are the port-bound listener\'s', () => {
    const d = send(meshFrom(...base, sidecar(80, 'HTTP')), { from: 'a/client', to: 'web.b.svc.cluster.local:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 502 });
    expect(d.stoppedBy[0]?.control).toBe('EgressPolicy');
  });
});
