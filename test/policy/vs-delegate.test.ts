/**
 * VirtualService delegation (model/delegate.ts), as Istio merges it before building routes
 * (pilot/pkg/model/virtualservice.go mergeVirtualServicesIfNeeded): a root's `delegate` route is replaced in place
 * by the delegate's routes, each narrowed to the root route's matches; a delegate route that does not fit them is
 * dropped; a missing or unexported delegate makes Istio skip the root route, so later routes are tried.
 */
import { describe, expect, it } from 'vitest';
import { withoutControls } from '../../src/analysis/counterfactual.js';
import { loadMesh } from '../../src/loader/load.js';
import { MAX_MERGED_ROUTE_PARTS, mergeDelegates } from '../../src/model/delegate.js';
import type { HttpRoute, VirtualService } from '../../src/model/routing.js';
import type { Mesh } from '../../src/model/types.js';
import { decide, type MeshRequest } from '../../src/policy/decide.js';
import { app, gatewayPod, ns, send } from '../helpers.js';

const ingress = gatewayPod('ingress', 'ingressgateway', { port: 80, targetPort: 8080, name: 'http' });
const gateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*/shop.example.com"] }]
`;

/** The platform team's root: /api goes to the shop team's delegate, the rest to front/web. */
const root = (delegate = 'name: api, namespace: shop', extra = ''): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: root, namespace: istio-system }
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http:
    - name: api
      match: [{ uri: { prefix: /api } }]
      delegate: { ${delegate} }
${extra}    - route: [{ destination: { host: web.front.svc.cluster.local } }]
`;

/** The shop team's delegate: short names are its own namespace's. */
const delegateVs = (http: string, meta = ''): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
${meta}  http:
${http}`;

const ordersAndAdmin = delegateVs(`    - name: orders
      match: [{ uri: { prefix: /api/orders } }]
      route: [{ destination: { host: orders } }]
    - match: [{ uri: { prefix: /admin } }]
      route: [{ destination: { host: admin } }]
`);

const base = [ns('istio-system', false), ns('shop', true), ns('front', true), ingress, gateway,
  app('shop', 'orders'), app('shop', 'admin'), app('front', 'web'), app('istio-system', 'orders')];

function load(...docs: string[]): ReturnType<typeof loadMesh> {
  const r = loadMesh([...base, ...docs].map((text, i) => ({ path: `inline-${i}.yaml`, text })));
  if (r.issues.hasErrors()) throw new Error(r.issues.errors.map((e) => e.message).join('\n'));
  return r;
}

function get(mesh: Mesh, path: string): ReturnType<typeof decide> {
  const req: MeshRequest = { from: { kind: 'outside', ip: '203.0.113.10' }, to: { kind: 'host', host: 'ingress.istio-system.svc.cluster.local', port: 80 },
    protocol: 'http', method: 'GET', path, headers: { host: 'shop.example.com' }, tls: 'auto' };
  return decide(mesh, req, { explain: true });
}

const rootOf = (mesh: Mesh): VirtualService => mesh.virtualServices.find((v) => v.meta.name === 'root') as VirtualService;

describe('VirtualService delegation at a gateway', () => {
  it('a request the delegate\'s route takes goes where it routes, its short name read in the DELEGATE\'s namespace (shop/orders, not istio-system/orders)', () => {
    const { mesh } = load(root(), ordersAndAdmin);
    const d = get(mesh, '/api/orders/7');
    expect(d).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/orders' } });
    expect(d.events.map((e) => e.what).join('\n')).toContain('http route 0 of delegate VirtualService shop/api, in place of route 0');
  });

  it('a delegate route whose match is not inside the root route\'s (/admin under /api) is dropped with a located warning: /admin goes on to the root\'s next route', () => {
    const text = ordersAndAdmin;
    const { mesh, issues } = load(root(), text);
    expect(get(mesh, '/admin')).toMatchObject({ outcome: 'allowed', destination: { workload: 'front/web' } });
    const w = issues.warnings.find((x) => x.code === 'vs-delegate-conflict');
    expect(w?.message).toContain('http route 1 has a match that fits none of the matches of http route 0 of VirtualService istio-system/root');
    const lines = text.split('\n');
    expect(w?.loc?.line).toBe(lines.findIndex((l) => l.includes('- match: [{ uri: { prefix: /admin')) + 1);
  });

  it('under /api, a path no delegate route matches is not stopped at the root route: the merged routes replace it, and the next root route takes the request', () => {
    const { mesh } = load(root(), ordersAndAdmin);
    expect(get(mesh, '/api/other')).toMatchObject({ outcome: 'allowed', destination: { workload: 'front/web' } });
  });

  it('a missing delegate makes Istio skip the root route (a warning at the delegate field), not answer 404', () => {
    const r = root('name: nowhere, namespace: shop');
    const { mesh, issues } = load(r, ordersAndAdmin);
    expect(get(mesh, '/api/orders')).toMatchObject({ outcome: 'allowed', destination: { workload: 'front/web' } });
    const w = issues.warnings.find((x) => x.code === 'vs-delegate-not-found');
    expect(w?.message).toContain('delegates to VirtualService "shop/nowhere"');
    expect(w?.loc?.line).toBe(r.split('\n').findIndex((l) => l.includes('delegate: {')) + 1);
    // and the delegate nobody names is reported as routing nothing
    expect(issues.warnings.map((x) => x.code)).toContain('vs-delegate-unused');
  });

  it('a delegate not exported to the root\'s namespace (exportTo: ["."] in shop) is skipped like a missing one; exported to it by name, it is followed', () => {
    const routes = `    - match: [{ uri: { prefix: /api/orders } }]
      route: [{ destination: { host: orders } }]
`;
    const hidden = load(root(), delegateVs(routes, '  exportTo: ["."]\n'));
    expect(get(hidden.mesh, '/api/orders')).toMatchObject({ destination: { workload: 'front/web' } });
    expect(hidden.issues.warnings.map((x) => x.code)).toContain('vs-delegate-not-exported');
    const shown = load(root(), delegateVs(routes, '  exportTo: [istio-system]\n'));
    expect(get(shown.mesh, '/api/orders')).toMatchObject({ destination: { workload: 'shop/orders' } });
  });

  it('a delegate without a namespace is looked up in the root\'s namespace', () => {
    const local = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: istio-system }
spec:
  http: [{ route: [{ destination: { host: orders.shop.svc.cluster.local } }] }]
`;
    const { mesh } = load(root('name: api'), local);
    expect(get(mesh, '/api/x')).toMatchObject({ destination: { workload: 'shop/orders' } });
  });

  it('a delegate route answering itself (directResponse) is reported with the delegate named', () => {
    const { mesh } = load(root(), delegateVs('    - match: [{ uri: { exact: /api/closed } }]\n      directResponse: { status: 403 }\n'));
    const d = get(mesh, '/api/closed');
    expect(d).toMatchObject({ outcome: 'blocked', code: 403 });
    expect(d.stoppedBy[0]?.reason).toContain('delegate VirtualService shop/api');
  });

  it('removing the delegate (a counterfactual) takes its routes out of the root: the merge runs again from the routes as written', () => {
    const { mesh } = load(root(), ordersAndAdmin);
    expect(rootOf(mesh).http).toHaveLength(2);
    const without = withoutControls(mesh, [{ control: 'VirtualService', name: 'shop/api' }]);
    expect(rootOf(without).http.map((r) => r.origin)).toEqual([undefined]);
    expect(get(without, '/api/orders')).toMatchObject({ destination: { workload: 'front/web' } });
  });
});

describe('VirtualService delegation for sidecars', () => {
  it('a root bound to the mesh delegates too: a client sidecar routes by the merged routes', () => {
    const meshRoot = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: orders-root, namespace: shop }
spec:
  hosts: [orders]
  http:
    - match: [{ uri: { prefix: /v2 } }]
      delegate: { name: orders-v2 }
    - route: [{ destination: { host: orders } }]
`;
    const v2 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: orders-v2, namespace: shop }
spec:
  http: [{ route: [{ destination: { host: admin } }] }]
`;
    const { mesh } = load(meshRoot, v2);
    expect(send(mesh, { from: 'front/web', to: 'orders.shop.svc.cluster.local:80', path: '/v2/x' })).toMatchObject({ destination: { workload: 'shop/admin' } });
    expect(send(mesh, { from: 'front/web', to: 'orders.shop.svc.cluster.local:80', path: '/v1/x' })).toMatchObject({ destination: { workload: 'shop/orders' } });
  });
});

/** The merged routes of root route `rootRoute` with the delegate's `routes` (YAML flow lists). */
function merged(rootRoute: string, routes: string): { http: HttpRoute[]; codes: string[] } {
  const { mesh, issues } = load(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: root, namespace: istio-system }
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http:
    - ${rootRoute}
`, delegateVs(routes.split('\n').map((l) => `    ${l}`).join('\n') + '\n'));
  return { http: rootOf(mesh).http, codes: issues.warnings.map((w) => w.code) };
}

const to = 'route: [{ destination: { host: orders } }]';
const kept = (rootRoute: string, sub: string): number => merged(rootRoute, `- { match: [${sub}], ${to} }`).http.length;

describe('delegate matches must fit inside the root route\'s (hasConflict)', () => {
  const r = (m: string): string => `{ match: [${m}], delegate: { name: api, namespace: shop } }`;
  it('root exact: only the same exact fits; a prefix or another exact does not', () => {
    expect(kept(r('{ uri: { exact: /a } }'), '{ uri: { exact: /a } }')).toBe(1);
    expect(kept(r('{ uri: { exact: /a } }'), '{ uri: { exact: /b } }')).toBe(0);
    expect(kept(r('{ uri: { exact: /a } }'), '{ uri: { prefix: /a } }')).toBe(0);
  });
  it('root prefix: a longer prefix or an exact under it fits; a shorter prefix does not', () => {
    expect(kept(r('{ uri: { prefix: /a } }'), '{ uri: { prefix: /a/b } }')).toBe(1);
    expect(kept(r('{ uri: { prefix: /a } }'), '{ uri: { exact: /a/b } }')).toBe(1);
    expect(kept(r('{ uri: { prefix: /a/b } }'), '{ uri: { prefix: /a } }')).toBe(0);
  });
  it('a regex fits only where the other side leaves the field unset', () => {
    expect(kept(r('{ uri: { prefix: /a } }'), '{ uri: { regex: "/a/.*" } }')).toBe(0);
    expect(kept(r('{ uri: { regex: "/a/.*" } }'), '{ uri: { prefix: /a } }')).toBe(0);
    expect(kept(r('{ method: { exact: GET } }'), '{ uri: { regex: "/a/.*" } }')).toBe(1);
  });
  it('an unset field on either side never conflicts, and the leaf\'s fields are added to the root\'s', () => {
    const { http } = merged(r('{ uri: { prefix: /a }, headers: { x-team: { exact: shop } } }'), `- { match: [{ method: { exact: POST }, headers: { x-v: { exact: "2" } } }], ${to} }`);
    expect(http[0]?.match).toEqual([{ uri: { prefix: '/a' }, method: { exact: 'POST' }, headers: { 'x-team': { exact: 'shop' }, 'x-v': { exact: '2' } } }]);
  });
  it('headers and query parameters of the same name must fit too', () => {
    expect(kept(r('{ headers: { x-team: { exact: shop } } }'), '{ headers: { x-team: { exact: other } } }')).toBe(0);
    expect(kept(r('{ queryParams: { v: { prefix: "1" } } }'), '{ queryParams: { v: { exact: "12" } } }')).toBe(1);
  });
  it('header names are compared as written, as Istio indexes the root\'s headers by the delegate\'s key: a root X-Team and a delegate x-team never conflict, and the merged match keeps both', () => {
    expect(kept(r('{ headers: { X-Team: { exact: shop } } }'), '{ headers: { x-team: { exact: other } } }')).toBe(1);
    expect(kept(r('{ withoutHeaders: { X-Debug: { exact: "1" } } }'), '{ withoutHeaders: { x-debug: { exact: "0" } } }')).toBe(1);
    const { http } = merged(r('{ headers: { X-Team: { exact: shop } } }'), `- { match: [{ headers: { x-team: { prefix: sh } } }], ${to} }`);
    expect(http[0]?.match).toEqual([{ headers: { 'X-Team': { exact: 'shop' }, 'x-team': { prefix: 'sh' } } }]);
    // the same name as written still has to fit
    expect(kept(r('{ headers: { X-Team: { exact: shop } } }'), '{ headers: { X-Team: { prefix: sh } } }')).toBe(0);
  });
  it('a merged match with one header under two spellings needs the request\'s one header to meet both (Envoy ignores the name\'s case): x-team: shop takes the delegate route, x-team: shoe does not', () => {
    const { mesh } = load(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: root, namespace: istio-system }
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http:
    - match: [{ headers: { X-Team: { exact: shop } } }]
      delegate: { name: api, namespace: shop }
    - route: [{ destination: { host: web.front.svc.cluster.local } }]
`, delegateVs(`    - match: [{ headers: { x-team: { prefix: sh } } }]
      route: [{ destination: { host: orders } }]
`));
    const ask = (team: string): ReturnType<typeof decide> => decide(mesh, { from: { kind: 'outside', ip: '203.0.113.10' },
      to: { kind: 'host', host: 'ingress.istio-system.svc.cluster.local', port: 80 }, protocol: 'http', method: 'GET', path: '/',
      headers: { host: 'shop.example.com', 'X-TEAM': team }, tls: 'auto' }, { explain: true });
    expect(ask('shop')).toMatchObject({ outcome: 'allowed', destination: { workload: 'shop/orders' } });
    expect(ask('shoe')).toMatchObject({ outcome: 'allowed', destination: { workload: 'front/web' } });
  });
  it('ignoreUriCase must be the same; ports, when both set, too', () => {
    expect(kept(r('{ uri: { prefix: /a }, ignoreUriCase: true }'), '{ uri: { prefix: /a/b } }')).toBe(0);
    expect(kept(r('{ port: 80 }'), '{ port: 8080 }')).toBe(0);
    expect(kept(r('{ port: 80 }'), '{ uri: { prefix: /x } }')).toBe(1);
  });
  it('a root sourceNamespace must be repeated by the delegate; sourceLabels must agree key by key', () => {
    expect(kept(r('{ sourceNamespace: front }'), '{ uri: { prefix: /x } }')).toBe(0);
    expect(kept(r('{ sourceNamespace: front }'), '{ sourceNamespace: front }')).toBe(1);
    expect(kept(r('{ sourceLabels: { app: web } }'), '{ sourceLabels: { app: cli } }')).toBe(0);
    expect(kept(r('{ sourceLabels: { app: web } }'), '{ sourceLabels: { tier: fe } }')).toBe(1);
  });
  it('gateways, when both set, must be a subset of the root\'s, compared by their full names', () => {
    expect(kept(r('{ gateways: [istio-system/gw] }'), '{ gateways: [istio-system/gw] }')).toBe(1);
    expect(kept(r('{ gateways: [istio-system/gw] }'), '{ gateways: [gw] }')).toBe(0); // shop/gw
    expect(kept(r('{ gateways: [gw] }'), '{ gateways: [istio-system/gw] }')).toBe(1); // root's gw is istio-system/gw
  });
  it('each delegate match is crossed with every root match it fits; one that fits none drops the route (with a warning)', () => {
    const two = r('{ uri: { prefix: /a } }, { uri: { prefix: /a/b } }');
    expect(merged(two, `- { match: [{ uri: { prefix: /a/b/c } }], ${to} }`).http[0]?.match).toHaveLength(2);
    const dropped = merged(two, `- { match: [{ uri: { prefix: /a/b } }, { uri: { prefix: /z } }], ${to} }`);
    expect(dropped.http).toHaveLength(0);
    expect(dropped.codes).toContain('vs-delegate-conflict');
  });
  it('a root route without matches takes the delegate\'s; a delegate route without matches takes the root\'s', () => {
    expect(merged('{ delegate: { name: api, namespace: shop } }', `- { match: [{ uri: { exact: /q } }], ${to} }`).http[0]?.match).toEqual([{ uri: { exact: '/q' } }]);
    expect(merged(r('{ uri: { prefix: /a } }'), `- { ${to} }`).http[0]?.match).toEqual([{ uri: { prefix: '/a' } }]);
  });
});

describe('what a merged route inherits from the root route', () => {
  it('its name is root-delegate (or either alone); the root\'s rewrite, timeout and retries apply unless the delegate sets its own', () => {
    const rootRoute = '{ name: api, match: [{ uri: { prefix: /api } }], rewrite: { uri: /v1 }, timeout: 3s, retries: { attempts: 5 }, delegate: { name: api, namespace: shop } }';
    const { http } = merged(rootRoute, `- { name: a, match: [{ uri: { prefix: /api/a } }], ${to} }\n- { match: [{ uri: { prefix: /api/b } }], timeout: 1s, ${to} }`);
    expect(http.map((x) => x.name)).toEqual(['api-a', 'api']);
    expect(http.map((x) => x.rewrite)).toEqual([{ uri: '/v1' }, { uri: '/v1' }]);
    expect(http.map((x) => x.timeoutMs)).toEqual([3000, 1000]);
    expect(http.map((x) => x.retries?.attempts)).toEqual([5, 5]);
  });
  it('a root route\'s directResponse answers for every merged route without one of its own, even one with destinations (current Istio copies it)', () => {
    const rootRoute = '{ match: [{ uri: { prefix: /api } }], directResponse: { status: 418 }, delegate: { name: api, namespace: shop } }';
    const { http } = merged(rootRoute, `- { match: [{ uri: { prefix: /api/a } }], ${to} }\n- { match: [{ uri: { prefix: /api/b } }], directResponse: { status: 410 } }`);
    expect(http.map((x) => x.directResponse?.status)).toEqual([418, 410]);
  });
  it('merging is a function of the routes as written: merging the merged list again changes nothing', () => {
    const { mesh } = load(root(), ordersAndAdmin);
    const again = mergeDelegates(mesh.virtualServices);
    expect(again.list.map((v) => v.http)).toEqual(mesh.virtualServices.map((v) => v.http));
  });
});

describe('hostile input: delegation is bounded', () => {
  it(`a mesh whose delegation would make more than ${MAX_MERGED_ROUTE_PARTS} routes and matches is refused with a located error, before the work`, () => {
    const matches = (n: number, p: string): string => Array.from({ length: n }, (_, i) => `{ uri: { prefix: ${p}${i} } }`).join(', ');
    const rootText = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: root, namespace: istio-system }
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http:
    - match: [${matches(100, '/')}]
      delegate: { name: api, namespace: shop }
`;
    // 60 routes of 100 matches each, crossed with the root's 100: 600,000 parts
    const routes = Array.from({ length: 60 }, () => `    - match: [${matches(100, '/1')}]\n      ${to}\n`).join('');
    const r = loadMesh([...base, rootText, delegateVs(routes)].map((text, i) => ({ path: `inline-${i}.yaml`, text })));
    const err = r.issues.errors.find((e) => e.code === 'vs-delegate-too-large');
    expect(err?.loc?.line).toBe(rootText.split('\n').findIndex((l) => l.includes('delegate: {')) + 1);
    expect(err?.hint).toBeTruthy();
    // refused, not half merged: the root keeps its routes as written
    expect(rootOf(r.mesh).http[0]?.delegate?.name).toBe('api');
  });
});
