/**
 * A request through a gateway in simulated time: the world picks the endpoint of the first hop (the gateway's
 * Service) for its load balancing and circuit breaking; the hop past the gateway picks among the endpoints of the
 * Service its route names, not the gateway again (istio-semantics §9).
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '../../../src/sim/kernel/index.js';
import { MeshControls } from '../../../src/sim/mesh/controls.js';
import { World, type Outcome, type RequestSpec } from '../../../src/sim/mesh/world.js';
import { app, gatewayPod, meshFrom, ns } from '../../helpers.js';

const ingress = `${gatewayPod('ingress', 'ingressgateway', { port: 80, targetPort: 8080, name: 'http2' })}---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: a }
spec:
  hosts: ["*"]
  gateways: [istio-system/gw]
  http: [{ route: [{ destination: { host: api.a.svc.cluster.local } }] }]
`;

describe('§9 the hop past a gateway in the simulation', () => {
  it('an outside request through the ingress gateway reaches an endpoint of the routed Service with several endpoints, not the gateway again', () => {
    const m = meshFrom(ns('istio-system', false), ns('a', true), ingress, app('a', 'api'), app('a', 'api-b', { labels: { app: 'api' } }));
    for (const pick of [0, 0.99]) {
      const k = new Kernel({ seed: 3 });
      const world = new World(k, m, { facts: () => ({ serviceTimeMs: 1, concurrency: 64, queue: 1000 }), proxyOverheadMs: 0.5, base: {}, controls: new MeshControls(m, () => 0.5) });
      const spec: RequestSpec = {
        req: { from: { kind: 'outside', ip: '203.0.113.10' }, to: { kind: 'host', host: 'ingress.istio-system.svc.cluster.local', port: 80 }, protocol: 'http', method: 'GET', path: '/', headers: {}, tls: 'auto' },
        pick: () => pick,
      };
      let outcome: Outcome | null = null;
      world.send(spec, (o) => { outcome = o; });
      k.run(60_000);
      const o = outcome as Outcome | null;
      expect(o?.decision, String(pick)).toMatchObject({ outcome: 'allowed', code: 200 });
      expect(['a/api', 'a/api-b'], String(pick)).toContain(o?.decision.destination?.workload);
    }
  });
});
