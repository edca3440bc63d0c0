/**
 * decideEveryEndpoint (`meshrange request`): the request decided along every
 * path through the choices it meets — a Service's endpoints, an ingress
 * gateway's replicas and then the backend's endpoints, weighted routes — with
 * its bounds: at most MAX_SWEPT_ENDPOINTS alternatives of one choice and
 * MAX_SWEPT_DECISIONS decisions in all, the rest counted, never dropped.
 */
import { describe, expect, it } from 'vitest';
import { buildRequest, decideEveryEndpoint, MAX_SWEPT_DECISIONS, MAX_SWEPT_ENDPOINTS } from '../../src/api/request.js';
import { IssueList } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh } from '../../src/model/types.js';

function pod(name: string, ns: string, labels: Record<string, string>, sa = 'default'): string {
  const l = JSON.stringify(labels);
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${ns}}
spec:
  selector: {matchLabels: ${l}}
  template:
    metadata: {labels: ${l}}
    spec: {serviceAccountName: ${sa}, containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
`;
}

const SHOP = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
${pod('web', 'shop', { app: 'web' })}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-bad, namespace: shop}
spec: {selector: {matchLabels: {bad: "yes"}}, action: DENY, rules: [{}]}
`;

/** `n` endpoints of shop/api, the ones listed in `bad` refused by a DENY policy. */
function apiPods(n: number, bad: readonly number[]): string {
  return Array.from({ length: n }, (_, i) => pod(`api-${String(i).padStart(2, '0')}`, 'shop', { app: 'api', ...(bad.includes(i) ? { bad: 'yes' } : {}) })).join('---\n');
}

/** One replica of an ingress gateway (no sidecar: it is the proxy). */
function gatewayPod(name: string): string {
  return pod(name, 'istio-system', { istio: 'ingressgateway' }, 'gw')
    .replace('labels: {"istio":"ingressgateway"}}', 'labels: {"istio":"ingressgateway","sidecar.istio.io/inject":"false"}}');
}

/** The gateway's LoadBalancer Service, a Gateway for shop.example.com, and a VirtualService with `route` to shop/api. */
function publicRoute(route: string): string {
  return `apiVersion: v1
kind: Service
metadata: {name: gw, namespace: istio-system}
spec: {type: LoadBalancer, selector: {istio: ingressgateway}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: istio-system}
spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [shop.example.com]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: public, namespace: shop}
spec: {hosts: [shop.example.com], gateways: [istio-system/public], http: [{route: ${route}}]}
`;
}

/** A VirtualService for shop/api's in-mesh host with one HTTP route to `destinations` (a YAML flow list's items). */
function apiRoute(destinations: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: shop}
spec: {hosts: [api.shop.svc.cluster.local], http: [{route: [${destinations}]}]}
`;
}

function meshOf(...texts: string[]): Mesh {
  const r = loadMesh([{ path: 'm.yaml', text: texts.join('---\n') }]);
  expect(r.issues.errors.map((e) => e.message)).toEqual([]);
  return r.mesh;
}

async function sweep(mesh: Mesh, from: string, to: string, headers: Record<string, string> = {}) {
  const issues = new IssueList();
  const req = buildRequest(mesh, { from, to, headers }, issues);
  expect(issues.errors.map((e) => e.message)).toEqual([]);
  return decideEveryEndpoint(mesh, req!, { now: 0 });
}

describe('request: every path through the choices is decided', () => {
  it('an endpoint refused among 16 is listed; past the 16th, endpoints are counted as not decided, not dropped', async () => {
    const listed = await sweep(meshOf(SHOP, apiPods(16, [15])), 'shop/web', 'api.shop:80');
    expect(listed.endpoints?.filter((e) => e.outcome === 'blocked').map((e) => e.workload)).toEqual(['shop/api-15']);
    expect(listed.more).toBe(0);
    const past = await sweep(meshOf(SHOP, apiPods(20, [18])), 'shop/web', 'api.shop:80');
    // the refused one is the 19th: not decided, so the decided 16 agree, and the 4 past the bound are said
    expect(past.endpoints).toBeNull();
    expect(past.more).toBe(20 - MAX_SWEPT_ENDPOINTS);
  });

  it('behind an ingress gateway with two replicas, the backend endpoints are decided through each replica, which `via` names', async () => {
    const mesh = meshOf(SHOP, apiPods(2, [1]), gatewayPod('gw-a'), gatewayPod('gw-b'), publicRoute('[{destination: {host: api.shop.svc.cluster.local, port: {number: 80}}}]'));
    const r = await sweep(mesh, 'outside', 'gw.istio-system:80', { host: 'shop.example.com' });
    expect(r.endpoints?.map((e) => [e.workload, e.outcome, e.via])).toEqual([
      ['shop/api-00', 'allowed', ['istio-system/gw-a', 'istio-system/gw-b']],
      ['shop/api-01', 'blocked', ['istio-system/gw-a', 'istio-system/gw-b']],
    ]);
    expect(r.more).toBe(0);
  });

  it('behind two gateway replicas, an endpoint past the bound is counted once as not decided, not once per replica', async () => {
    const mesh = meshOf(SHOP, apiPods(20, []), gatewayPod('gw-a'), gatewayPod('gw-b'), publicRoute('[{destination: {host: api.shop.svc.cluster.local, port: {number: 80}}}]'));
    const r = await sweep(mesh, 'outside', 'gw.istio-system:80', { host: 'shop.example.com' });
    expect(r.endpoints).toBeNull();
    // api-16 .. api-19, past the first 16 of shop/api through gw-a and through gw-b alike
    expect(r.more).toBe(20 - MAX_SWEPT_ENDPOINTS);
  });

  it('a route to a Service of 3 endpoints and one to a Service of 1: every endpoint of either branch is decided', async () => {
    for (const order of [['api', 'solo'], ['solo', 'api']]) {
      const mesh = meshOf(SHOP, apiPods(3, [2]), pod('solo', 'shop', { app: 'solo', bad: 'yes' }), `apiVersion: v1
kind: Service
metadata: {name: solo, namespace: shop}
spec: {selector: {app: solo}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
${apiRoute(order.map((h) => `{destination: {host: ${h}.shop.svc.cluster.local}, weight: 50}`).join(', '))}`);
      const r = await sweep(mesh, 'shop/web', 'api.shop:80');
      expect(r.endpoints?.map((e) => [e.workload, e.outcome]).sort()).toEqual([
        ['shop/api-00', 'allowed'], ['shop/api-01', 'allowed'], ['shop/api-02', 'blocked'], ['shop/solo', 'blocked'],
      ]);
      expect(r.more).toBe(0);
    }
  });

  it('a route holding 0.1 % of the weight is decided: weighted choices are enumerated, not sampled', async () => {
    // the rare subset's one pod is refused, and is no endpoint of the main subset: only a decision through the 0.1 % decides it
    const mesh = meshOf(SHOP, pod('api-rare', 'shop', { app: 'api', v: 'rare', bad: 'yes' }), pod('api-main', 'shop', { app: 'api', v: 'main' }), `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: shop}
spec: {host: api.shop.svc.cluster.local, subsets: [{name: rare, labels: {v: rare}}, {name: main, labels: {v: main}}]}
---
${apiRoute('{destination: {host: api.shop.svc.cluster.local, subset: main}, weight: 999}, {destination: {host: api.shop.svc.cluster.local, subset: rare}, weight: 1}, {destination: {host: api.shop.svc.cluster.local, subset: rare}, weight: 0}')}`);
    const r = await sweep(mesh, 'shop/web', 'api.shop:80');
    expect(r.decision.destination?.workload).toBe('shop/api-main');
    expect(r.endpoints?.map((e) => [e.workload, e.outcome])).toEqual([['shop/api-main', 'allowed'], ['shop/api-rare', 'blocked']]);
  });

  it(`no more than ${MAX_SWEPT_DECISIONS} decisions: the paths left past the budget are counted as not decided`, async () => {
    // 16 gateway replicas × 2 weighted routes × 16 endpoints = 512 paths
    const gws = Array.from({ length: 16 }, (_, i) => gatewayPod(`gw-${String(i).padStart(2, '0')}`)).join('---\n');
    const half = '{destination: {host: api.shop.svc.cluster.local, port: {number: 80}}, weight: 50}';
    const mesh = meshOf(SHOP, apiPods(16, []), gws, publicRoute(`[${half}, ${half}]`));
    const r = await sweep(mesh, 'outside', 'gw.istio-system:80', { host: 'shop.example.com' });
    expect(r.endpoints).toBeNull();
    expect(r.more).toBeGreaterThan(0);
  });
});
