/**
 * §5.2: a DestinationRule `loadBalancer.simple: PASSTHROUGH` and auto mTLS. Istio's BestEffortInferServiceMTLSMode
 * treats a Service whose rule sets it at the top level as a headless one (an endpoint without a sidecar turns auto
 * mTLS off for all of them), and applyLoadBalancer makes the cluster ORIGINAL_DST, where applyUpstreamTLSSettings
 * builds no per-endpoint transport socket match: Istio mTLS to every endpoint.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/policy/decide.js';
import { app, meshFrom, ns, pa, request, send, wl } from '../helpers.js';

const base = [ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('b', 'server')];
const sel = '  selector: { matchLabels: { app: server } }\n';
const lbRule = (tp: string, extra = ''): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: lb, namespace: a }
spec:
  host: server.b.svc.cluster.local
  trafficPolicy: ${tp}
${extra}`;

/** A second pod behind Service b/server, without a sidecar. */
const bare = `apiVersion: apps/v1
kind: Deployment
metadata: { name: legacy, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  template:
    metadata: { labels: { app: server, sidecar.istio.io/inject: "false" } }
    spec:
      serviceAccountName: legacy
      containers: [{ name: main, image: x, ports: [{ containerPort: 8080 }] }]
`;

describe('§5.2 DestinationRule loadBalancer PASSTHROUGH and auto mTLS', () => {
  it('an ORIGINAL_DST cluster sends Istio mTLS to a workload-level DISABLE server: the handshake fails', () => {
    const docs = [...base, pa('b', 'off', 'DISABLE', sel)];
    // per-endpoint auto mTLS without the rule: plaintext to the DISABLE endpoint
    expect(send(meshFrom(...docs), { from: 'a/client', to: 'server.b:80' }).code).toBe(200);
    const d = send(meshFrom(...docs, lbRule('{ loadBalancer: { simple: PASSTHROUGH } }')), { from: 'a/client', to: 'server.b:80' });
    expect(d.code).toBe(503);
    expect(d.stoppedBy?.[0]?.control).toBe('PeerAuthentication');
  });

  it('a top-level PASSTHROUGH with an endpoint without a sidecar: plaintext to every endpoint, which a STRICT one refuses', () => {
    const docs = [...base, bare, pa('b', 'strict', 'STRICT', sel)];
    const toSidecar = (m: ReturnType<typeof meshFrom>) => decide(m, request(m, { from: 'a/client', to: 'server.b:80' }), {
      pickEndpoint: (eps) => eps.find((w) => w.sidecar) ?? (eps[0] as (typeof eps)[number]),
    });
    const plain = meshFrom(...docs);
    expect(wl(plain, 'b/legacy').sidecar).toBe(false);
    expect(toSidecar(plain).code).toBe(200);
    const d = toSidecar(meshFrom(...docs, lbRule('{ loadBalancer: { simple: PASSTHROUGH } }')));
    expect(d.code).toBe(503);
    expect(d.stoppedBy?.[0]?.reason).toMatch(/plaintext/);
  });

  it('a port-level entry without loadBalancer replaces the top-level PASSTHROUGH for its port (EDS cluster, per endpoint)', () => {
    const d = send(meshFrom(...base, pa('b', 'off', 'DISABLE', sel),
      lbRule('{ loadBalancer: { simple: PASSTHROUGH }, portLevelSettings: [{ port: { number: 80 }, connectionPool: { tcp: { maxConnections: 100 } } }] }')),
    { from: 'a/client', to: 'server.b:80' });
    expect(d.code).toBe(200);
  });

  it("a subset PASSTHROUGH makes only that subset's cluster ORIGINAL_DST", () => {
    const vs = (subset: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: vs, namespace: a }
spec:
  hosts: [server.b.svc.cluster.local]
  http: [{ route: [{ destination: { host: server.b.svc.cluster.local, subset: ${subset} } }] }]
`;
    const rule = lbRule('{ loadBalancer: { simple: ROUND_ROBIN } }',
      '  subsets:\n    - { name: pt, labels: { app: server }, trafficPolicy: { loadBalancer: { simple: PASSTHROUGH } } }\n    - { name: rr, labels: { app: server } }\n');
    const docs = [...base, pa('b', 'off', 'DISABLE', sel), rule];
    expect(send(meshFrom(...docs, vs('rr')), { from: 'a/client', to: 'server.b:80' }).code).toBe(200);
    expect(send(meshFrom(...docs, vs('pt')), { from: 'a/client', to: 'server.b:80' }).code).toBe(503);
  });
});
