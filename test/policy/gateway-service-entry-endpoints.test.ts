/**
 * §8/§9 A gateway's cluster for a ServiceEntry host has the same endpoints as a sidecar's (Istio builds one EDS
 * cluster per host and port, whoever the proxy is): a route from a gateway to the entry's host reaches the entry's
 * endpoints — an inline address on its own port for the entry port's name, a pod the entry selects (mTLS when the
 * entry is MESH_INTERNAL) — not the host's own address on the entry port.
 */
import { describe, expect, it } from 'vitest';
import { app, gatewayPod, meshFrom, ns, send } from '../helpers.js';

const gateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
`;
const route = (host: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: legacy, namespace: istio-system }
spec:
  hosts: [legacy.example.com]
  gateways: [gw]
  http: [{ route: [{ destination: { host: ${host}, port: { number: 8080 } } }] }]
`;
const entry = (location: string, rest: string, namespace = 'istio-system'): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: legacy, namespace: ${namespace} }
spec:
  hosts: [legacy.internal]
  ports: [{ number: 8080, name: http, protocol: HTTP }]
  location: ${location}
${rest}`;
const base = [ns('istio-system', false), gatewayPod('istio-ingressgateway', 'ingressgateway', { port: 80, targetPort: 8080, name: 'http' }), gateway, route('legacy.internal')];
const viaGateway = { from: 'outside', to: 'istio-ingressgateway.istio-system:80', headers: { host: 'legacy.example.com' } };
const trace = (d: ReturnType<typeof send>): string => d.events.map((e) => e.what).join('\n');

describe('§8/§9 a gateway routing to a ServiceEntry host', () => {
  it('a gateway route to a STATIC ServiceEntry reaches its inline endpoint on the endpoint\'s own port for the entry port\'s name', () => {
    const d = send(meshFrom(...base, entry('MESH_EXTERNAL', '  resolution: STATIC\n  endpoints: [{ address: 192.0.2.10, ports: { http: 9090 } }]\n')), viaGateway);
    expect(d.outcome).toBe('allowed');
    expect(d.events.find((e) => e.what.includes('its endpoint 192.0.2.10 port 9090'))?.hop).toBe('gateway');
    expect(trace(d)).toContain('legacy.internal:9090 (192.0.2.10) outside the mesh answers');
  });

  it('a gateway route to a MESH_INTERNAL ServiceEntry with a workloadSelector lands on the selected pod, over Istio mTLS', () => {
    const d = send(meshFrom(...base, ns('legacy', true), app('legacy', 'api', { labels: { app: 'api' } }),
      entry('MESH_INTERNAL', '  resolution: STATIC\n  workloadSelector: { labels: { app: api } }\n', 'legacy')), viaGateway);
    expect(d.outcome).toBe('allowed');
    expect(d.destination?.workload).toBe('legacy/api');
    expect(trace(d)).toContain('sends it to its endpoint, pod legacy/api');
    expect(d.wire?.at(-1)).toMatchObject({ from: 'istio-system/istio-ingressgateway', to: 'legacy/api', protectedBy: { control: 'AutoMtls' } });
  });
});
