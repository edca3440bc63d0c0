/**
 * §8 one namespace per hostname (Istio 1.24+ unified Sidecar scoping, selectServices): when a ServiceEntry names the
 * FQDN of a Kubernetes Service of another namespace, the sidecars of the entry's own namespace take that hostname from
 * the entry — its cluster, its endpoints — while every other namespace keeps the Service. The entry's namespace can so
 * send its own clients' traffic for a Service elsewhere (credentials and all) to any address, or strip its mTLS.
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, ns, send } from '../helpers.js';

const base = [ns('istio-system', false), ns('shop', true), ns('pay', true), ns('other', true), app('shop', 'web'), app('pay', 'payments'), app('other', 'batch')];
const PAY = 'payments.pay.svc.cluster.local';
const entry = (resolution: string, endpoints = ''): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: squat, namespace: shop }
spec:
  hosts: [${PAY}]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: ${resolution}
${endpoints}`;
const strict = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: pay }
spec: { mtls: { mode: STRICT } }
`;

describe('§8 a ServiceEntry naming a Service of another namespace', () => {
  it('with endpoints, it sends its own namespace\'s requests for the Service to them: the Service never sees them', () => {
    const m = meshFrom(...base, entry('STATIC', '  endpoints: [{ address: 203.0.113.9 }]\n'));
    const d = send(m, { from: 'shop/web', to: `${PAY}:80`, headers: { authorization: 'Bearer secret' } });
    expect(d.outcome).toBe('allowed');
    expect(d.destination?.workload).toBeUndefined();
    const trace = d.events.map((e) => e.what).join('\n');
    expect(trace).toContain('ServiceEntry shop/squat');
    expect(trace).toContain('203.0.113.9');
    expect(d.received?.headers['authorization']).toBe('Bearer secret');
  });

  it('clients of every other namespace, the Service\'s own included, still reach the Service with mTLS', () => {
    const m = meshFrom(...base, entry('STATIC', '  endpoints: [{ address: 203.0.113.9 }]\n'));
    for (const from of ['other/batch', 'pay/payments']) {
      const d = send(m, { from, to: `${PAY}:80` });
      expect(d.destination?.workload).toBe('pay/payments');
      expect(d.mtls).toBe(true);
    }
  });

  it('resolution NONE carries the request on to the Service\'s address without auto mTLS: plaintext, refused by STRICT', () => {
    const open = send(meshFrom(...base, entry('NONE')), { from: 'shop/web', to: `${PAY}:80` });
    expect(open.outcome).toBe('allowed');
    expect(open.destination?.workload).toBe('pay/payments');
    expect(open.mtls).toBe(false);
    const refused = send(meshFrom(...base, entry('NONE'), strict), { from: 'shop/web', to: `${PAY}:80` });
    expect(refused.outcome).toBe('blocked');
    expect(refused.stoppedBy[0]?.control).toBe('PeerAuthentication');
    // without the entry, the same client gets through STRICT with mTLS
    expect(send(meshFrom(...base, strict), { from: 'shop/web', to: `${PAY}:80` })).toMatchObject({ outcome: 'allowed', mtls: true });
  });

  it('resolution NONE with a workloadSelector: auto mTLS only for a MESH_INTERNAL entry whose selected pods all have sidecars, in a namespace not DISABLE (BestEffortInferServiceMTLSMode)', () => {
    const selecting = (location: string): string => entry('NONE', `  location: ${location}\n  workloadSelector: { labels: { app: web } }\n`);
    expect(send(meshFrom(...base, strict, selecting('MESH_INTERNAL')), { from: 'shop/web', to: `${PAY}:80` })).toMatchObject({ outcome: 'allowed', mtls: true });
    // a MESH_EXTERNAL entry never gets auto mTLS: plaintext, which STRICT refuses
    const external = send(meshFrom(...base, strict, selecting('MESH_EXTERNAL')), { from: 'shop/web', to: `${PAY}:80` });
    expect(external).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'PeerAuthentication' }] });
    // one selected pod without a sidecar: plaintext to every endpoint
    const bare = `apiVersion: v1
kind: Pod
metadata: { name: legacy, namespace: shop, labels: { app: web }, annotations: { sidecar.istio.io/inject: "false" } }
spec: { containers: [{ name: c, image: c }] }
`;
    const mixed = send(meshFrom(...base, strict, selecting('MESH_INTERNAL'), bare), { from: 'shop/web', to: `${PAY}:80` });
    expect(mixed).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'PeerAuthentication' }] });
    expect(mixed.events.map((e) => e.what).join('\n')).toContain('selects shop/legacy, which has no sidecar');
    // the entry's namespace DISABLE: auto mTLS off for its cluster
    const shopOff = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: shop }\nspec: { mtls: { mode: DISABLE } }\n';
    const off = send(meshFrom(...base, strict, selecting('MESH_INTERNAL'), shopOff), { from: 'shop/web', to: `${PAY}:80` });
    expect(off).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'PeerAuthentication' }] });
    expect(off.events.map((e) => e.what).join('\n')).toContain('namespace shop resolves to DISABLE');
  });

  it('resolution DNS goes to the endpoint\'s name when the entry has one, else looks up the host itself: the Service\'s address, in plaintext', () => {
    const named = send(meshFrom(...base, entry('DNS', '  endpoints: [{ address: mirror.example.net }]\n')), { from: 'shop/web', to: `${PAY}:80` });
    expect(named.outcome).toBe('allowed');
    expect(named.destination?.workload).toBeUndefined();
    expect(named.events.map((e) => e.what).join('\n')).toContain('mirror.example.net');
    const itself = send(meshFrom(...base, entry('DNS')), { from: 'shop/web', to: `${PAY}:80` });
    expect(itself).toMatchObject({ outcome: 'allowed', mtls: false, destination: { workload: 'pay/payments' } });
  });

  it('a DestinationRule that sets ISTIO_MUTUAL for the host keeps mTLS on the entry\'s cluster', () => {
    const dr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: pay-mtls, namespace: shop }
spec:
  host: ${PAY}
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
`;
    const d = send(meshFrom(...base, entry('NONE'), strict, dr), { from: 'shop/web', to: `${PAY}:80` });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true });
    expect(d.events.map((e) => e.what).join('\n')).toContain('ServiceEntry shop/squat');
  });

  it('an endpoint inside the mesh takes the request there: a pod address or a Service name, in plaintext unless the endpoint carries Istio\'s tlsMode in a MESH_INTERNAL entry', () => {
    const mesh = (extra: string): Parameters<typeof send>[0] => meshFrom(...base, strict, entry('STATIC', extra));
    const beta = meshFrom(...base).workloads.find((w) => w.id === 'other/batch')?.ip ?? '';
    const plain = send(mesh(`  endpoints: [{ address: ${beta} }]\n`), { from: 'shop/web', to: `${PAY}:80` });
    expect(plain).toMatchObject({ outcome: 'allowed', mtls: false, destination: { workload: 'other/batch' } });
    const labelled = send(mesh(`  location: MESH_INTERNAL\n  endpoints: [{ address: ${beta}, labels: { security.istio.io/tlsMode: istio } }]\n`), { from: 'shop/web', to: `${PAY}:80` });
    expect(labelled).toMatchObject({ outcome: 'allowed', mtls: true, destination: { workload: 'other/batch' } });
    // without the label, a serviceAccount marks the endpoint Istio mTLS (getTLSModeFromWorkloadEntry); the label wins over it
    const withSa = send(mesh(`  location: MESH_INTERNAL\n  endpoints: [{ address: ${beta}, serviceAccount: batch }]\n`), { from: 'shop/web', to: `${PAY}:80` });
    expect(withSa).toMatchObject({ outcome: 'allowed', mtls: true, destination: { workload: 'other/batch' } });
    const saDisabled = send(mesh(`  location: MESH_INTERNAL\n  endpoints: [{ address: ${beta}, serviceAccount: batch, labels: { security.istio.io/tlsMode: disabled } }]\n`), { from: 'shop/web', to: `${PAY}:80` });
    expect(saDisabled).toMatchObject({ outcome: 'allowed', mtls: false, destination: { workload: 'other/batch' } });
    const named = send(meshFrom(...base, strict, entry('DNS', '  endpoints: [{ address: payments.pay.svc.cluster.local }]\n')), { from: 'shop/web', to: `${PAY}:80` });
    expect(named.outcome).toBe('blocked');
    expect(named.stoppedBy[0]?.control).toBe('PeerAuthentication');
  });

  it('a workloadSelector entry sends it to the pods it selects (Istio mTLS when MESH_INTERNAL); STATIC without endpoints has no upstream: 503', () => {
    const selecting = entry('STATIC', '  location: MESH_INTERNAL\n  workloadSelector: { labels: { app: web } }\n');
    const d = send(meshFrom(...base, strict, selecting), { from: 'shop/web', to: `${PAY}:80` });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true, destination: { workload: 'shop/web' } });
    const empty = send(meshFrom(...base, entry('STATIC')), { from: 'shop/web', to: `${PAY}:80` });
    expect(empty).toMatchObject({ outcome: 'blocked', code: 503, flags: 'UH' });
  });

  it('a STATIC entry\'s pod endpoints come through EDS: a pod whose PeerAuthentication is DISABLE gets plaintext, unless the host\'s rule says ISTIO_MUTUAL', () => {
    const selecting = entry('STATIC', '  location: MESH_INTERNAL\n  workloadSelector: { labels: { app: web } }\n');
    const webOff = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: web-off, namespace: shop }
spec: { selector: { matchLabels: { app: web } }, mtls: { mode: DISABLE } }
`;
    const d = send(meshFrom(...base, webOff, selecting), { from: 'shop/web', to: `${PAY}:80` });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: false, destination: { workload: 'shop/web' } });
    expect(d.events.map((e) => e.what).join('\n')).toContain('is DISABLE by PeerAuthentication, so EDS strips its Istio tlsMode');
    const istioMutual = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: pay-host, namespace: shop }
spec: { host: ${PAY}, trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, loadBalancer: { simple: ROUND_ROBIN } }], tls: { mode: ISTIO_MUTUAL } } }
`;
    const kept = send(meshFrom(...base, webOff, selecting, istioMutual), { from: 'shop/web', to: `${PAY}:80` });
    expect(kept.events.map((e) => e.what).join('\n')).toContain('web-off');
    expect(kept).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'PeerAuthentication' }] });
  });

  it('the entry host\'s DestinationRule sets the TLS to a pod endpoint, and the endpoint\'s port is the entry port\'s targetPort', () => {
    const batch = meshFrom(...base).workloads.find((w) => w.id === 'other/batch')?.ip ?? '';
    const withTarget = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: squat, namespace: shop }
spec:
  hosts: [${PAY}]
  ports: [{ number: 80, name: http, protocol: HTTP, targetPort: 9090 }]
  resolution: STATIC
  endpoints: [{ address: ${batch} }]
`;
    const mtlsDr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: pay-mtls, namespace: shop }
spec:
  host: ${PAY}
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
`;
    const strictOther = strict.replace('namespace: pay', 'namespace: other');
    const plain = send(meshFrom(...base, strictOther, withTarget), { from: 'shop/web', to: `${PAY}:80` });
    expect(plain.outcome).toBe('blocked');
    expect(plain.stoppedBy[0]?.control).toBe('PeerAuthentication');
    const d = send(meshFrom(...base, strictOther, withTarget, mtlsDr), { from: 'shop/web', to: `${PAY}:80` });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true, destination: { workload: 'other/batch' } });
    expect(d.events.map((e) => e.what).join('\n')).toContain('port 9090');
  });
});

describe('§8 §9 a gateway routing to a Service it cannot see, whose FQDN a ServiceEntry of its namespace names', () => {
  const gateway = `apiVersion: apps/v1
kind: Deployment
metadata: { name: ingress, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  template:
    metadata: { labels: { istio: ingressgateway } }
    spec:
      serviceAccountName: ingress
      containers: [{ name: istio-proxy, image: proxy, ports: [{ containerPort: 8080 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: ingress, namespace: istio-system }
spec:
  type: LoadBalancer
  selector: { istio: ingressgateway }
  ports: [{ name: http2, port: 80, targetPort: 8080 }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["shop.example.com"] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop, namespace: istio-system }
spec:
  hosts: ["shop.example.com"]
  gateways: [gw]
  http: [{ route: [{ destination: { host: ${PAY} } }] }]
`;
  const privatePay = `apiVersion: v1
kind: Service
metadata: { name: payments, namespace: pay, annotations: { networking.istio.io/exportTo: "." } }
spec:
  selector: { app: payments }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`;
  const payPod = app('pay', 'payments').split('---')[0] as string;
  const entryHere = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: pay-alias, namespace: istio-system }
spec:
  hosts: [${PAY}]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: NONE
`;
  it('takes the entry\'s cluster on to the Service in plaintext, which STRICT refuses (not a 503 for an unknown service)', () => {
    const parts = [ns('istio-system', false), ns('pay', true), payPod, privatePay, gateway, entryHere];
    const open = send(meshFrom(...parts), { from: 'outside', to: 'ingress.istio-system:80', headers: { host: 'shop.example.com' } });
    expect(open).toMatchObject({ outcome: 'allowed', mtls: false, destination: { workload: 'pay/payments' } });
    const refused = send(meshFrom(...parts, strict), { from: 'outside', to: 'ingress.istio-system:80', headers: { host: 'shop.example.com' } });
    expect(refused.outcome).toBe('blocked');
    expect(refused.stoppedBy[0]?.control).toBe('PeerAuthentication');
  });
});
