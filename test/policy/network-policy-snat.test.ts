/**
 * NetworkPolicy and a client outside the cluster: through a LoadBalancer or NodePort Service with
 * externalTrafficPolicy Cluster (the default), kube-proxy rewrites the client's address to the node's before the
 * packet reaches the pod, where the CNI enforces NetworkPolicy, so an ipBlock of client addresses admits nothing;
 * with Local the client's address is kept. The gateway's own filters see the same address (inbound.ts NODE_IP).
 */
import { describe, expect, it } from 'vitest';
import type { Mesh } from '../../src/model/types.js';
import { decide, type MeshRequest } from '../../src/policy/decide.js';
import { NODE_IP } from '../../src/policy/inbound.js';
import { app, gatewayPod, meshFrom, np, ns } from '../helpers.js';

const gateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: shop }
spec:
  hosts: ["*"]
  gateways: [istio-system/gw]
  http: [{ route: [{ destination: { host: web.shop.svc.cluster.local } }] }]
`;

/** The gateway's pods admit only `cidr` (ingress ipBlock). */
const onlyFrom = (cidr: string): string => np('istio-system', 'ingress-from', `  podSelector: { matchLabels: { istio: ingressgateway } }
  policyTypes: [Ingress]
  ingress: [{ from: [{ ipBlock: { cidr: "${cidr}" } }] }]`);

function mesh(policy: 'Cluster' | 'Local', cidr: string): Mesh {
  let gw = gatewayPod('ingress', 'ingressgateway', { port: 80, targetPort: 8080, name: 'http' });
  if (policy === 'Local') gw = gw.replace('  type: LoadBalancer\n', '  type: LoadBalancer\n  externalTrafficPolicy: Local\n');
  return meshFrom(ns('istio-system', false), ns('shop', true), gw, gateway, app('shop', 'web'), onlyFrom(cidr));
}

function fromOutside(m: Mesh): ReturnType<typeof decide> {
  const req: MeshRequest = { from: { kind: 'outside', ip: '203.0.113.10' }, to: { kind: 'host', host: 'ingress.istio-system.svc.cluster.local', port: 80 },
    protocol: 'http', method: 'GET', path: '/', headers: { host: 'shop.example.com' }, tls: 'auto' };
  return decide(m, req, { explain: true });
}

describe('NetworkPolicy sees an outside client as the Service\'s externalTrafficPolicy leaves it', () => {
  it('externalTrafficPolicy Cluster: the node\'s address reaches the pod, so an ipBlock of the client\'s range admits nothing', () => {
    const d = fromOutside(mesh('Cluster', '203.0.113.0/24'));
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'NetworkPolicy', name: 'istio-system/ingress-from' }] });
    expect(d.events.map((e) => e.what).join('\n')).toContain(`rewrites the client address 203.0.113.10 to its own (${NODE_IP})`);
  });

  it('externalTrafficPolicy Cluster: an ipBlock holding the node\'s address admits it', () => {
    expect(fromOutside(mesh('Cluster', `${NODE_IP}/32`))).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/web' } });
  });

  it('externalTrafficPolicy Local: the client\'s own address reaches the pod, and the ipBlock of its range admits it', () => {
    expect(fromOutside(mesh('Local', '203.0.113.0/24'))).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/web' } });
    expect(fromOutside(mesh('Local', `${NODE_IP}/32`))).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'NetworkPolicy' }] });
  });
});
