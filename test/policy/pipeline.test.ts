/**
 * The request pipeline end to end (istio-semantics §3): each control in the
 * place a packet meets it, attributed in stoppedBy, across gateways.
 */
import { describe, expect, it } from 'vitest';
import { app, meshConfig, meshFrom, ns, pa, send } from '../helpers.js';
import { lowerHeaders } from '../../src/policy/pipeline.js';

const np = (namespace: string, name: string, body: string): string => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${body}`;


const gateway = `apiVersion: apps/v1
kind: Deployment
metadata: { name: ingress, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  template:
    metadata: { labels: { istio: ingressgateway } }
    spec:
      serviceAccountName: ingress
      containers: [{ name: istio-proxy, image: proxy, ports: [{ containerPort: 8080 }, { containerPort: 8443 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: ingress, namespace: istio-system }
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: { istio: ingressgateway }
  ports: [{ name: http2, port: 80, targetPort: 8080 }, { name: https, port: 443, targetPort: 8443 }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: ["shop.example.com"]
      tls: { httpsRedirect: true }
    - port: { number: 443, name: https, protocol: HTTPS }
      hosts: ["shop.example.com"]
      tls: { mode: SIMPLE, credentialName: shop-cert }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop, namespace: a }
spec:
  hosts: ["shop.example.com"]
  gateways: ["istio-system/gw"]
  http:
    - match: [{ uri: { prefix: /api } }]
      route: [{ destination: { host: api } }]
`;

const base = [ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'api'), app('a', 'web'), app('b', 'db', { port: 5432, svcPort: 5432, portName: 'tcp-db' })];

describe('§3 pipeline', () => {
  it('§11 a NetworkPolicy drop of a TCP connection is blocked with no status, attributed to the NetworkPolicy', () => {
    const m = meshFrom(...base, np('b', 'deny-all', '  podSelector: {}\n  policyTypes: [Ingress]\n'));
    const d = send(m, { from: 'a/web', to: 'db.b:5432', protocol: 'tcp' });
    expect(d).toMatchObject({ outcome: 'blocked', code: null, mtls: null, stoppedBy: [{ control: 'NetworkPolicy', name: 'b/deny-all' }] });
  });

  it('§11 a client without a sidecar sees a NetworkPolicy drop as a failed connection (code 0)', () => {
    const m = meshFrom(...base, ns('legacy', false), app('legacy', 'old'), np('a', 'deny-all', '  podSelector: {}\n  policyTypes: [Ingress]\n'));
    const d = send(m, { from: 'legacy/old', to: 'api.a:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0, stoppedBy: [{ control: 'NetworkPolicy' }] });
  });

  it('§11 NetworkPolicy is evaluated before the sidecar: the server never sees the packets', () => {
    const m = meshFrom(...base, pa('a', 'default', 'STRICT'), np('a', 'deny-all', '  podSelector: {}\n  policyTypes: [Ingress]\n'));
    const d = send(m, { from: 'a/web', to: 'api.a:80' });
    expect(d.stoppedBy.map((s) => s.control)).toEqual(['NetworkPolicy']);
    expect(d.events.some((e) => e.hop === 'server-sidecar')).toBe(false);
  });

  it('§8 REGISTRY_ONLY answers HTTP to an unregistered host with 502 from the client sidecar', () => {
    const m = meshFrom(...base, meshConfig('outboundTrafficPolicy: { mode: REGISTRY_ONLY }'));
    const d = send(m, { from: 'a/web', to: 'api.github.com:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 502, stoppedBy: [{ control: 'EgressPolicy', name: null }] });
  });

  it('§8 ALLOW_ANY lets an unregistered host through the PassthroughCluster', () => {
    const d = send(meshFrom(...base), { from: 'a/web', to: 'api.github.com:80' });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200, mtls: false });
  });

  it('§8 a ServiceEntry makes the host known under REGISTRY_ONLY', () => {
    const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: github, namespace: a }
spec:
  hosts: [api.github.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{ number: 80, name: http, protocol: HTTP }]
`;
    const d = send(meshFrom(...base, se, meshConfig('outboundTrafficPolicy: { mode: REGISTRY_ONLY }')), { from: 'a/web', to: 'api.github.com:80' });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200 });
  });

  it('§9 plain HTTP to a server with httpsRedirect gets 301 from the gateway', () => {
    const d = send(meshFrom(...base, gateway), { from: 'outside', to: 'ingress.istio-system:80', path: '/api/x', headers: { host: 'shop.example.com' } });
    expect(d).toMatchObject({ outcome: 'blocked', code: 301, stoppedBy: [{ control: 'Gateway', name: 'istio-system/gw' }] });
    expect(d.response?.headers['location']).toBe('https://shop.example.com/api/x');
  });

  it('§3 §9 the httpsRedirect 301 and the 404 NR of an unserved host come from the router: the gateway\'s JWT and RBAC filters run first', () => {
    const denyAdmin = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }]
`;
    const m = meshFrom(...base, gateway, denyAdmin);
    // denied by RBAC before any redirect
    expect(send(m, { from: 'outside', to: 'ingress.istio-system:80', path: '/admin', headers: { host: 'shop.example.com' } }))
      .toMatchObject({ outcome: 'blocked', code: 403, stoppedBy: [{ control: 'AuthorizationPolicy', name: 'istio-system/deny-admin' }] });
    // a host no server serves: RBAC first too, then the router's 404
    expect(send(m, { from: 'outside', to: 'ingress.istio-system:80', path: '/admin', headers: { host: 'other.example.com' } })).toMatchObject({ code: 403 });
    expect(send(m, { from: 'outside', to: 'ingress.istio-system:80', path: '/x', headers: { host: 'other.example.com' } })).toMatchObject({ code: 404, flags: 'NR' });
    // what RBAC admits is redirected as before
    expect(send(m, { from: 'outside', to: 'ingress.istio-system:80', path: '/x', headers: { host: 'shop.example.com' } })).toMatchObject({ code: 301 });
  });

  it('§3 after a mesh VirtualService sends an HTTP request to a port named https, a failure is still the HTTP listener\'s 503 (not a dropped connection)', () => {
    const empty = `apiVersion: v1
kind: Service
metadata: { name: empty, namespace: a }
spec:
  selector: { app: nobody }
  ports: [{ name: https, port: 443, targetPort: 8443 }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: to-empty, namespace: a }
spec:
  hosts: [api]
  http: [{ route: [{ destination: { host: empty, port: { number: 443 } } }] }]
`;
    const d = send(meshFrom(...base, empty), { from: 'a/web', to: 'api.a:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 503, flags: 'UH' });
  });

  it('§8 a VirtualService\'s http routes do not apply on a port declared TCP: the client sidecar proxies TCP and reads tcp routes only', () => {
    const tcpApi = `apiVersion: v1
kind: Service
metadata: { name: tapi, namespace: a }
spec:
  selector: { app: api }
  ports: [{ name: tcp-api, port: 9000, targetPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: empty, namespace: a }
spec:
  selector: { app: nobody }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: to-empty, namespace: a }
spec:
  hosts: [tapi]
  http: [{ route: [{ destination: { host: empty, port: { number: 80 } } }] }]
`;
    const d = send(meshFrom(...base, tcpApi), { from: 'a/web', to: 'tapi.a:9000' });
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'a/api' } });
  });

  it('§3 a gateway route\'s timeout is said not to be simulated over time, not dropped silently', () => {
    const timed = gateway.replace('      route: [{ destination: { host: api } }]', '      timeout: 100ms\n      route: [{ destination: { host: api } }]');
    const d = send(meshFrom(...base, timed), { from: 'outside', to: 'ingress.istio-system:443', path: '/api/x', headers: { host: 'shop.example.com' } });
    expect(d.events.map((e) => e.what).join('\n')).toContain('sets a 100 ms timeout: the gateway applies them, but meshrange does not simulate a gateway\'s timeouts and retries over time');
  });

  it('§9 HTTPS through the gateway reaches the backend only along a VirtualService route', () => {
    const m = meshFrom(...base, gateway);
    const ok = send(m, { from: 'outside', to: 'ingress.istio-system:443', path: '/api/x', headers: { host: 'shop.example.com' } });
    expect(ok).toMatchObject({ outcome: 'allowed', code: 200, mtls: true, destination: { workload: 'a/api' } });
    expect(ok.received?.headers['x-forwarded-for']).toBe('203.0.113.10');
    const none = send(m, { from: 'outside', to: 'ingress.istio-system:443', path: '/admin', headers: { host: 'shop.example.com' } });
    expect(none).toMatchObject({ outcome: 'blocked', code: 404, stoppedBy: [{ control: 'VirtualService' }] });
  });

  it('§9 plaintext to an HTTPS server fails the handshake (code 0)', () => {
    const d = send(meshFrom(...base, gateway), { from: 'outside', to: 'ingress.istio-system:443', path: '/api/x', headers: { host: 'shop.example.com' }, tls: 'plaintext' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0, stoppedBy: [{ control: 'Gateway' }] });
  });

  it('§6.5 remoteIpBlocks at a gateway see the client address; X-Forwarded-For is not trusted with numTrustedProxies 0', () => {
    const deny = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-net, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules: [{ from: [{ source: { remoteIpBlocks: ["203.0.113.0/24"] } }] }]
`;
    const m = meshFrom(...base, gateway, deny);
    const d = send(m, { from: 'outside', to: 'ingress.istio-system:443', path: '/api', headers: { host: 'shop.example.com', 'x-forwarded-for': '198.51.100.1' } });
    expect(d).toMatchObject({ outcome: 'blocked', code: 403, stoppedBy: [{ control: 'AuthorizationPolicy', name: 'istio-system/deny-net' }] });
  });

  it('§9 the backend authorizes the gateway\'s identity, not the outside client\'s', () => {
    const allowGw = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: only-gw, namespace: a }
spec:
  selector: { matchLabels: { app: api } }
  rules: [{ from: [{ source: { principals: ["cluster.local/ns/istio-system/sa/ingress"] } }] }]
`;
    const m = meshFrom(...base, gateway, allowGw);
    expect(send(m, { from: 'outside', to: 'ingress.istio-system:443', path: '/api', headers: { host: 'shop.example.com' } }).outcome).toBe('allowed');
    expect(send(m, { from: 'a/web', to: 'api.a:80' })).toMatchObject({ outcome: 'blocked', code: 403 });
  });
});

describe('§6.5 §9 what a gateway believes about its client', () => {
  const denyNet = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-net, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules: [{ from: [{ source: { remoteIpBlocks: ["203.0.113.0/24"] } }] }]
`;
  const trusted = (n: number): string => meshConfig(`defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: ${n}`);
  const https = (xff: string): Parameters<typeof send>[1] => ({ from: 'outside', to: 'ingress.istio-system:443', path: '/api', headers: { host: 'shop.example.com', 'x-forwarded-for': xff } });

  it('§6.5 with numTrustedProxies 1 the gateway takes the last X-Forwarded-For entry as the client; a non-address entry leaves the peer', () => {
    const m = meshFrom(...base, gateway, denyNet, trusted(1));
    expect(send(m, https('198.51.100.1')).outcome).toBe('allowed');
    expect(send(m, https('198.51.100.1, bogus'))).toMatchObject({ outcome: 'blocked', code: 403 });
  });

  it('§6.5 with numTrustedProxies 2 and a single X-Forwarded-For entry, the gateway takes the peer as the client', () => {
    const m = meshFrom(...base, gateway, denyNet, trusted(2));
    expect(send(m, https('198.51.100.1'))).toMatchObject({ outcome: 'blocked', code: 403 });
    expect(send(m, https('198.51.100.1, 10.0.0.1')).outcome).toBe('allowed');
  });

  it('§6.5 the gateway pod\'s own proxy.istio.io/config annotation sets its numTrustedProxies over the mesh config\'s; a zero there does not override (proto merge)', () => {
    const annotated = (topology: string): string => gateway.replace('    metadata: { labels: { istio: ingressgateway } }',
      `    metadata: { labels: { istio: ingressgateway }, annotations: { proxy.istio.io/config: '{"gatewayTopology": ${topology}}' } }`);
    expect(annotated('{}')).not.toBe(gateway);
    // the annotation trusts one hop: the last X-Forwarded-For entry is the client, whatever the mesh config says
    expect(send(meshFrom(...base, annotated('{"numTrustedProxies": 1}'), denyNet), https('198.51.100.1')).outcome).toBe('allowed');
    expect(send(meshFrom(...base, annotated('{"numTrustedProxies": 1}'), denyNet, trusted(2)), https('198.51.100.1')).outcome).toBe('allowed');
    // 0 in the annotation leaves the mesh config's 2: a single entry is not enough, the peer is the client
    expect(send(meshFrom(...base, annotated('{"numTrustedProxies": 0}'), denyNet, trusted(2)), https('198.51.100.1'))).toMatchObject({ outcome: 'blocked', code: 403 });
  });

  it('§9 httpsRedirect is require_tls ALL on X-Forwarded-Proto: a client\'s X-Forwarded-Proto https is overwritten with numTrustedProxies 0 (301), kept and routed with numTrustedProxies > 0', () => {
    const plain = (proto?: string): Parameters<typeof send>[1] => ({ from: 'outside', to: 'ingress.istio-system:80', path: '/api/x', headers: { host: 'shop.example.com', ...(proto !== undefined ? { 'x-forwarded-proto': proto } : {}) } });
    // no trusted hop: the connection manager writes the connection's own scheme, http, so the router redirects
    const untrusted = meshFrom(...base, gateway);
    expect(send(untrusted, plain('https'))).toMatchObject({ outcome: 'blocked', code: 301, stoppedBy: [{ control: 'Gateway', name: 'istio-system/gw' }] });
    // one trusted hop: the client's header is kept; https skips the redirect and reaches the backend, which sees it
    const trusting = meshFrom(...base, gateway, trusted(1));
    const d = send(trusting, plain('https'));
    expect(d).toMatchObject({ outcome: 'allowed', code: 200 });
    expect(d.received?.headers['x-forwarded-proto']).toBe('https');
    expect(d.events.some((e) => e.hop === 'gateway' && e.what.includes('X-Forwarded-Proto is https'))).toBe(true);
    // anything but exactly https, or no header (then the connection's http is written), still gets the 301
    expect(send(trusting, plain('http'))).toMatchObject({ code: 301 });
    expect(send(trusting, plain('HTTPS'))).toMatchObject({ code: 301 });
    expect(send(trusting, plain())).toMatchObject({ code: 301 });
  });

  it('§9 the backend behind a TLS-terminating gateway sees X-Forwarded-Proto https, whatever the client sent, unless numTrustedProxies keeps the client\'s', () => {
    const tlsReq = { from: 'outside', to: 'ingress.istio-system:443', path: '/api', headers: { host: 'shop.example.com', 'x-forwarded-proto': 'http' } } as const;
    expect(send(meshFrom(...base, gateway), tlsReq).received?.headers['x-forwarded-proto']).toBe('https');
    expect(send(meshFrom(...base, gateway, trusted(1)), tlsReq).received?.headers['x-forwarded-proto']).toBe('http');
  });

  it('§1 a gateway drops a client\'s X-Forwarded-Client-Cert without mTLS (SANITIZE_SET); the backend sees only its own element for the gateway', () => {
    const d = send(meshFrom(...base, gateway), { from: 'outside', to: 'ingress.istio-system:443', path: '/api', headers: { host: 'shop.example.com', 'x-forwarded-client-cert': 'URI=spiffe://cluster.local/ns/a/sa/web' } });
    expect(d.received?.headers['x-forwarded-client-cert']).toBe('By=spiffe://cluster.local/ns/a/sa/api;Hash=<sha256 of the client certificate>;Subject="";URI=spiffe://cluster.local/ns/istio-system/sa/ingress');
  });

  const mutual = gateway.replace('tls: { mode: SIMPLE, credentialName: shop-cert }', 'tls: { mode: MUTUAL, credentialName: shop-cert }');
  const spoof = 'URI=spiffe://cluster.local/ns/a/sa/web';
  const sidecarElement = 'By=spiffe://cluster.local/ns/a/sa/api;Hash=<sha256 of the client certificate>;Subject="";URI=spiffe://cluster.local/ns/istio-system/sa/ingress';
  const toShop = (tls: 'auto' | 'mtls'): Parameters<typeof send>[1] => ({ from: 'outside', to: 'ingress.istio-system:443', path: '/api', tls, headers: { host: 'shop.example.com', 'x-forwarded-client-cert': spoof } });
  const topology = (fccd: string): string => meshConfig(`defaultConfig:\n  gatewayTopology:\n    forwardClientCertDetails: ${fccd}`);

  it('§1 §9 a MUTUAL gateway sets X-Forwarded-Client-Cert to the verified client certificate (SANITIZE_SET, with Cert), replacing the client\'s; the backend sidecar appends its own', () => {
    expect(mutual).not.toBe(gateway);
    const d = send(meshFrom(...base, mutual), toShop('mtls'));
    expect(d).toMatchObject({ outcome: 'allowed', code: 200 });
    expect(d.received?.headers['x-forwarded-client-cert']).toBe(`Hash=<sha256 of the client certificate>;Cert="<the client certificate, URL-encoded PEM>";Subject="<subject of the client certificate>",${sidecarElement}`);
  });

  it('§1 §9 gatewayTopology.forwardClientCertDetails ALWAYS_FORWARD_ONLY passes a client\'s X-Forwarded-Client-Cert on without mutual TLS; SANITIZE drops it even with', () => {
    // ALWAYS_FORWARD_ONLY: the spoofed header reaches the backend's sidecar, which keeps it on the gateway's mTLS and appends
    const always = send(meshFrom(...base, gateway, topology('ALWAYS_FORWARD_ONLY')), toShop('auto'));
    expect(always.received?.headers['x-forwarded-client-cert']).toBe(`${spoof},${sidecarElement}`);
    // FORWARD_ONLY keeps it only on a mutual-TLS connection: the SIMPLE server's has none
    expect(send(meshFrom(...base, gateway, topology('FORWARD_ONLY')), toShop('auto')).received?.headers['x-forwarded-client-cert']).toBe(sidecarElement);
    expect(send(meshFrom(...base, mutual, topology('FORWARD_ONLY')), toShop('mtls')).received?.headers['x-forwarded-client-cert']).toBe(`${spoof},${sidecarElement}`);
    // SANITIZE, from the gateway pod's annotation over the mesh config's: dropped, certificate or not
    const annotated = mutual.replace('    metadata: { labels: { istio: ingressgateway } }',
      `    metadata: { labels: { istio: ingressgateway }, annotations: { proxy.istio.io/config: '{"gatewayTopology": {"forwardClientCertDetails": "SANITIZE"}}' } }`);
    expect(annotated).not.toBe(mutual);
    expect(send(meshFrom(...base, annotated, topology('ALWAYS_FORWARD_ONLY')), toShop('mtls')).received?.headers['x-forwarded-client-cert']).toBe(sidecarElement);
    // UNDEFINED is unset: SANITIZE_SET
    expect(send(meshFrom(...base, gateway, topology('UNDEFINED')), toShop('auto')).received?.headers['x-forwarded-client-cert']).toBe(sidecarElement);
  });

  const gwWhen = (name: string, action: 'ALLOW' | 'DENY', header: string, values: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: ${action}
  rules: [{ when: [{ key: "request.headers[${header}]", values: ${values} }] }]
`;

  it('§6.5 §9 a gateway\'s AuthorizationPolicy on x-forwarded-for sees the peer address Envoy appended, joined with a bare ","', () => {
    // the peer is the outside client 203.0.113.10 (externalTrafficPolicy Local): the filters see it after the client's entry
    const exact = meshFrom(...base, gateway, gwWhen('xff', 'ALLOW', 'x-forwarded-for', '["198.51.100.1,203.0.113.10"]'));
    expect(send(exact, https('198.51.100.1'))).toMatchObject({ outcome: 'allowed', code: 200 });
    // the value before the append, or with Envoy's separator taken for ", ", matches nothing: the ALLOW policy refuses
    const before = meshFrom(...base, gateway, gwWhen('xff', 'ALLOW', 'x-forwarded-for', '["198.51.100.1", "198.51.100.1, 203.0.113.10"]'));
    expect(send(before, https('198.51.100.1'))).toMatchObject({ outcome: 'blocked', code: 403, stoppedBy: [{ control: 'AuthorizationPolicy', name: 'istio-system/xff' }] });
    // with no X-Forwarded-For from the client the filters see the peer alone, so a DENY on it holds
    const deny = meshFrom(...base, gateway, gwWhen('xff', 'DENY', 'x-forwarded-for', '["203.0.113.10"]'));
    expect(send(deny, { from: 'outside', to: 'ingress.istio-system:443', path: '/api', headers: { host: 'shop.example.com' } })).toMatchObject({ outcome: 'blocked', code: 403 });
    const d = send(exact, https('198.51.100.1'));
    expect(d.events.some((e) => e.hop === 'gateway' && e.what.includes('before the filters run, appends the peer 203.0.113.10 to the client\'s X-Forwarded-For (now "198.51.100.1,203.0.113.10")'))).toBe(true);
  });

  it('§9 the backend sees the X-Forwarded-For and x-envoy-external-address the gateway\'s filters saw', () => {
    const d = send(meshFrom(...base, gateway), https('198.51.100.1'));
    expect(d).toMatchObject({ outcome: 'allowed', code: 200 });
    expect(d.received?.headers['x-forwarded-for']).toBe('198.51.100.1,203.0.113.10');
    expect(d.received?.headers['x-envoy-external-address']).toBe('203.0.113.10');
    // with one trusted hop the client address, and so x-envoy-external-address, is the client's last entry
    const t = send(meshFrom(...base, gateway, trusted(1)), https('198.51.100.1'));
    expect(t.received?.headers['x-forwarded-for']).toBe('198.51.100.1,203.0.113.10');
    expect(t.received?.headers['x-envoy-external-address']).toBe('198.51.100.1');
  });

  it('§9 a gateway\'s filters see x-envoy-external-address as the client address Envoy trusts, not the one the client sent', () => {
    const spoofed = { from: 'outside', to: 'ingress.istio-system:443', path: '/api', headers: { host: 'shop.example.com', 'x-envoy-external-address': '198.51.100.9' } } as const;
    const m = meshFrom(...base, gateway, gwWhen('ext', 'ALLOW', 'x-envoy-external-address', '["198.51.100.9"]'));
    expect(send(m, spoofed)).toMatchObject({ outcome: 'blocked', code: 403, stoppedBy: [{ control: 'AuthorizationPolicy', name: 'istio-system/ext' }] });
    const own = meshFrom(...base, gateway, gwWhen('ext', 'ALLOW', 'x-envoy-external-address', '["203.0.113.10"]'));
    const d = send(own, spoofed);
    expect(d).toMatchObject({ outcome: 'allowed', code: 200 });
    expect(d.received?.headers['x-envoy-external-address']).toBe('203.0.113.10');
  });

  it('§6.5 a sidecar leaves X-Forwarded-For as it came (use_remote_address false): its filters and the app see the caller\'s value', () => {
    const allow = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: xff, namespace: a }
spec:
  selector: { matchLabels: { app: api } }
  rules: [{ when: [{ key: "request.headers[x-forwarded-for]", values: ["198.51.100.1"] }] }]
`;
    const m = meshFrom(...base, allow);
    const d = send(m, { from: 'a/web', to: 'api.a:80', headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200 });
    expect(d.received?.headers['x-forwarded-for']).toBe('198.51.100.1');
    expect(d.received?.headers['x-envoy-external-address']).toBeUndefined();
  });
});

describe('§3 headers the connection manager removes before the filters (Envoy header sanitizing)', () => {
  const gwAllow = (header: string, value: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: hdr, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  rules: [{ when: [{ key: "request.headers[${header}]", values: ["${value}"] }] }]
`;
  const scAllow = (header: string, value: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: hdr, namespace: a }
spec:
  selector: { matchLabels: { app: api } }
  rules: [{ when: [{ key: "request.headers[${header}]", values: ["${value}"] }] }]
`;
  const toGw = (headers: Record<string, string>): Parameters<typeof send>[1] => ({ from: 'outside', to: 'ingress.istio-system:443', path: '/api', headers: { host: 'shop.example.com', ...headers } });

  it('a gateway drops a client\'s x-envoy-retry-on before its filters: an ALLOW on it never matches', () => {
    const d = send(meshFrom(...base, gateway, gwAllow('x-envoy-retry-on', '5xx')), toGw({ 'x-envoy-retry-on': '5xx' }));
    expect(d).toMatchObject({ outcome: 'blocked', code: 403, stoppedBy: [{ control: 'AuthorizationPolicy', name: 'istio-system/hdr' }] });
    expect(d.events.some((e) => e.hop === 'gateway' && e.what.includes('the connection manager removes the client\'s x-envoy-retry-on "5xx"') && e.what.includes('every request is external to a gateway'))).toBe(true);
  });

  it('a gateway also drops the edge-only x-envoy-downstream-service-cluster and x-envoy-internal: the backend never receives them', () => {
    const d = send(meshFrom(...base, gateway), toGw({ 'x-envoy-downstream-service-cluster': 'admin', 'x-envoy-internal': 'true', 'x-envoy-max-retries': '9', 'x-user': 'kept' }));
    expect(d).toMatchObject({ outcome: 'allowed', code: 200 });
    const got = d.received?.headers ?? {};
    expect(got['x-envoy-downstream-service-cluster']).toBeUndefined();
    expect(got['x-envoy-internal']).toBeUndefined();
    expect(got['x-envoy-max-retries']).toBeUndefined();
    expect(got['x-user']).toBe('kept');
  });

  it('a sidecar drops a client\'s x-envoy-retry-on too (the request is external to it), but keeps the edge-only x-envoy-downstream-service-cluster', () => {
    const retry = send(meshFrom(...base, scAllow('x-envoy-retry-on', '5xx')), { from: 'a/web', to: 'api.a:80', headers: { 'x-envoy-retry-on': '5xx' } });
    expect(retry).toMatchObject({ outcome: 'blocked', code: 403, stoppedBy: [{ control: 'AuthorizationPolicy', name: 'a/hdr' }] });
    expect(retry.events.some((e) => e.hop === 'server-sidecar' && e.what.includes('removes the client\'s x-envoy-retry-on "5xx"'))).toBe(true);
    const edge = send(meshFrom(...base, scAllow('x-envoy-downstream-service-cluster', 'admin')), { from: 'a/web', to: 'api.a:80', headers: { 'x-envoy-downstream-service-cluster': 'admin', 'x-envoy-force-trace': '1' } });
    expect(edge).toMatchObject({ outcome: 'allowed', code: 200 });
    expect(edge.received?.headers['x-envoy-downstream-service-cluster']).toBe('admin');
    expect(edge.received?.headers['x-envoy-force-trace']).toBeUndefined();
    expect(edge.events.some((e) => e.hop === 'server-sidecar' && e.what.includes('it keeps x-envoy-downstream-service-cluster, which only an edge proxy removes'))).toBe(true);
  });

  it('a DENY exempting callers by notValues on a stripped header exempts nobody: the header is always absent at the filters', () => {
    const deny = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: hdr, namespace: a }
spec:
  selector: { matchLabels: { app: api } }
  action: DENY
  rules: [{ when: [{ key: "request.headers[x-envoy-force-trace]", notValues: ["1"] }] }]
`;
    expect(send(meshFrom(...base, deny), { from: 'a/web', to: 'api.a:80', headers: { 'x-envoy-force-trace': '1' } })).toMatchObject({ outcome: 'blocked', code: 403, stoppedBy: [{ control: 'AuthorizationPolicy', name: 'a/hdr' }] });
  });

  it('HTTP/1.1 connection-specific headers are gone before the filters (Connection and Upgrade kept on an upgrade request); TE is cut to trailers', () => {
    const d = send(meshFrom(...base), { from: 'a/web', to: 'api.a:80', headers: { 'keep-alive': 'timeout=5', 'proxy-connection': 'keep-alive', connection: 'close', te: 'gzip, trailers' } });
    expect(d).toMatchObject({ outcome: 'allowed', code: 200 });
    const got = d.received?.headers ?? {};
    expect(got['keep-alive']).toBeUndefined();
    expect(got['proxy-connection']).toBeUndefined();
    expect(got['connection']).toBeUndefined();
    expect(got['te']).toBe('trailers');
    const up = send(meshFrom(...base), { from: 'a/web', to: 'api.a:80', headers: { connection: 'Upgrade', upgrade: 'websocket' } });
    expect(up.received?.headers['connection']).toBe('Upgrade');
    expect(up.received?.headers['upgrade']).toBe('websocket');
  });

  it('with no Envoy on either end nothing removes them: a sidecar-less server gets the request as sent', () => {
    const noSidecar = [ns('c', false), app('c', 'plain'), app('c', 'caller')];
    const d = send(meshFrom(...base, ...noSidecar), { from: 'c/caller', to: 'plain.c:80', headers: { 'x-envoy-retry-on': '5xx' } });
    expect(d.received?.headers['x-envoy-retry-on']).toBe('5xx');
  });
});

describe('§3 request headers as the proxy sees them', () => {
  it('§3 header names are lower-cased, :authority becomes host, a repeated header is joined with ","', () => {
    expect(lowerHeaders({ 'X-A': '1', 'x-a': '2', ':authority': 'h' })).toEqual({ 'x-a': '1,2', host: 'h' });
  });

  it('§3 a header named like an Object property (constructor, __proto__) is an ordinary header', () => {
    const h = lowerHeaders({ Constructor: 'c', __proto__: 'p', toString: 't' } as unknown as Record<string, string>);
    expect(Object.keys(h).sort()).toEqual(['constructor', 'tostring']);
    expect(h['constructor']).toBe('c');
    const proto = JSON.parse('{"__proto__": "p", "a": "1"}') as Record<string, string>;
    const hp = lowerHeaders(proto);
    expect(Object.keys(hp).sort()).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(hp)).toBe(Object.prototype);
  });
});
