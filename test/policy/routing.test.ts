/**
 * Gateway + VirtualService routing (istio-semantics §8, §9, §12; product.md §2).
 * Objects are read from YAML through the real loader; each test names the
 * rule of src/policy/routing.ts it checks.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { Reader, type Obj } from '../../src/loader/reader.js';
import { readGateway, readVirtualService } from '../../src/loader/routing.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import type { Gateway, VirtualService } from '../../src/model/routing.js';
import type { ObjectMeta, Workload } from '../../src/model/types.js';
import {
  gatewaysFor, httpsRedirect, routeHttp, routeTcp, routeTls, selectServer, serverMode, tlsChains,
  type HttpRouteContext, type HttpRouteResult,
} from '../../src/policy/routing.js';

/** Gateways and VirtualServices from a multi-document YAML text, in document (= age) order. */
function load(text: string): { gateways: Gateway[]; vss: VirtualService[] } {
  const issues = new IssueList();
  const gateways: Gateway[] = [];
  const vss: VirtualService[] = [];
  parseYaml('mesh.yaml', text, issues).forEach((doc, order) => {
    if (doc.value === null) return; // the empty document after a trailing ---
    const obj = doc.value as Obj;
    const md = obj['metadata'] as Obj;
    const meta: ObjectMeta = {
      name: String(md['name']), namespace: String(md['namespace'] ?? 'default'),
      labels: {}, annotations: {}, order, loc: doc.locate([]),
    };
    const r = new Reader(doc, issues, `${String(obj['kind'])} ${meta.namespace}/${meta.name}`);
    if (obj['kind'] === 'Gateway') { const g = readGateway(r, meta, obj); if (g) gateways.push(g); }
    if (obj['kind'] === 'VirtualService') { const v = readVirtualService(r, meta, obj); if (v) vss.push(v); }
  });
  if (issues.hasErrors()) throw new Error(issues.errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
  return { gateways, vss };
}

function pod(namespace: string, labels: Record<string, string>): Workload {
  return {
    kind: 'Deployment', id: `${namespace}/gw`, namespace, name: 'gw', labels, annotations: {}, serviceAccount: 'gw',
    ports: [], sidecar: false, sidecarReason: '', gateway: true, hostNetwork: false, ip: '10.0.0.9',
    loc: { file: 'x.yaml', line: 1, col: 1 }, sim: {},
  };
}

const gateway = (ns: string, name: string, servers: string, selector = '{ istio: ingressgateway }'): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: ${selector}
  servers:
${servers}
---
`;

const httpServer = (hosts: string, port = 80, extra = ''): string =>
  `    - port: { number: ${port}, name: http-${port}, protocol: HTTP }\n      hosts: ${hosts}\n${extra}`;

const vs = (ns: string, name: string, body: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${ns} }
spec:
${body}
---
`;

const never = (): number => { throw new Error('pick() must not be called'); };

/** A request routed at the `gw` gateway of istio-system (the ingress pattern of product.md §2). */
function atGateway(text: string, req: Partial<HttpRouteContext> & { host: string }, pick: () => number = never): HttpRouteResult {
  const { gateways, vss } = load(text);
  const sel = selectServer(gateways, { servicePort: req.port ?? 80, targetPort: 8080 }, req.host);
  if (!sel) return { kind: 'no-route', status: 404, flag: 'NR', reason: 'no server' };
  return routeHttp(vss, {
    gateway: `${sel.gateway.meta.namespace}/${sel.gateway.meta.name}`, gatewayNamespace: 'istio-system',
    port: sel.server.port.number, path: '/', method: 'GET', headers: {}, servers: sel.routeServers,
    sourceLabels: { istio: 'ingressgateway' }, ...req,
  }, pick);
}

/** A request routed by the client sidecar (`mesh`) of a pod in namespace `clientNs`. */
function atSidecar(text: string, req: Partial<HttpRouteContext> & { host: string }, clientNs = 'bookinfo', pick: () => number = never): HttpRouteResult {
  const { vss } = load(text);
  return routeHttp(vss, { gateway: 'mesh', gatewayNamespace: clientNs, port: 9080, path: '/', method: 'GET', headers: {}, ...req }, pick);
}

const ingress = gateway('istio-system', 'gw', httpServer('["*"]'));
const toProductpage = (extra = ''): string => vs('bookinfo', 'productpage', `  hosts: ["*"]
  gateways: [istio-system/gw]
  http:
    - route: [{ destination: { host: productpage, port: { number: 9080 } } }]
${extra}`);

describe('§9 Gateway selection', () => {
  it('§9 a Gateway binds to gateway pods by selector, in any namespace (oldest first)', () => {
    const { gateways } = load(
      gateway('istio-system', 'ingress', httpServer('["*"]'))
      + gateway('bookinfo', 'shop', httpServer('["shop.example.com"]'))
      + gateway('istio-system', 'egress', httpServer('["*"]'), '{ istio: egressgateway }'),
    );
    const names = (gw: Workload): string[] => gatewaysFor(gateways, gw).map((g) => `${g.meta.namespace}/${g.meta.name}`);
    expect(names(pod('istio-system', { istio: 'ingressgateway', app: 'istio-ingressgateway' }))).toEqual(['istio-system/ingress', 'bookinfo/shop']);
    expect(names(pod('istio-system', { istio: 'egressgateway' }))).toEqual(['istio-system/egress']);
    expect(names(pod('istio-system', { app: 'other' }))).toEqual([]);
  });

  it('§9 a Gateway without selector binds to every gateway pod', () => {
    const { gateways } = load(gateway('istio-system', 'any', httpServer('["*"]'), '{}'));
    expect(gatewaysFor(gateways, pod('x', { istio: 'egressgateway' }))).toHaveLength(1);
  });

  it('§9 the server is found by the Service port or the target port', () => {
    const { gateways } = load(ingress);
    expect(selectServer(gateways, { servicePort: 80, targetPort: 8080 }, 'a.example.com')?.server.port.number).toBe(80);
    expect(selectServer(gateways, { servicePort: 8080, targetPort: 80 }, 'a.example.com')?.server.port.number).toBe(80);
    expect(selectServer(gateways, { servicePort: 443, targetPort: 8443 }, 'a.example.com')).toBeNull();
  });

  it('§9 the most specific server host wins: exact over *.suffix over *; the ns/ prefix is ignored for the match', () => {
    const { gateways } = load(
      gateway('istio-system', 'catchall', httpServer('["*"]'))
      + gateway('istio-system', 'wild', httpServer('["*/*.example.com"]'))
      + gateway('istio-system', 'exact', httpServer('["bookinfo/shop.example.com"]')),
    );
    const pickFor = (host: string): string | undefined => selectServer(gateways, { servicePort: 80, targetPort: 8080 }, host)?.gateway.meta.name;
    expect(pickFor('shop.example.com')).toBe('exact');
    expect(pickFor('SHOP.example.com:80')).toBe('exact');
    expect(pickFor('blog.example.com')).toBe('wild');
    expect(pickFor('example.com')).toBe('catchall');
  });

  it('§9 no server accepts the host → no server (404 NR at the gateway)', () => {
    const { gateways } = load(gateway('istio-system', 'gw', httpServer('["shop.example.com"]')));
    expect(selectServer(gateways, { servicePort: 80, targetPort: 8080 }, 'evil.example.com')).toBeNull();
    expect(atGateway(gateway('istio-system', 'gw', httpServer('["shop.example.com"]')), { host: 'evil.example.com' }))
      .toMatchObject({ kind: 'no-route', status: 404, flag: 'NR' });
  });

  it('§9 httpsRedirect answers 301 to https://host/path, whatever the routes', () => {
    const text = gateway('istio-system', 'gw', httpServer('["shop.example.com"]', 80, '      tls: { httpsRedirect: true }\n'));
    const { gateways, vss } = load(text);
    const sel = selectServer(gateways, { servicePort: 80, targetPort: 8080 }, 'shop.example.com');
    expect(sel && httpsRedirect(vss, sel.routeServers, 'istio-system', 'shop.example.com', '/login?next=/admin'))
      .toEqual({ kind: 'redirect', status: 301, location: 'https://shop.example.com/login?next=/admin' });
    const plain = load(ingress);
    const psel = selectServer(plain.gateways, { servicePort: 80, targetPort: 8080 }, 'a');
    expect(psel && httpsRedirect(plain.vss, psel.routeServers, 'istio-system', 'a', '/')).toBeNull();
  });

  it('§9 httpsRedirect belongs to the virtual host the request lands on, not to the server its host falls under', () => {
    const route = (hosts: string, gw: string): string => vs('shop', 'web', `  hosts: ${hosts}\n  gateways: [${gw}]\n  http: [{ route: [{ destination: { host: web } }] }]\n`);
    const redirect = '      tls: { httpsRedirect: true }\n';
    const at = (text: string, host: string): ReturnType<typeof httpsRedirect> => {
      const { gateways, vss } = load(text);
      const sel = selectServer(gateways, { servicePort: 80, targetPort: 8080 }, host);
      return sel && httpsRedirect(vss, sel.routeServers, 'istio-system', host, '/');
    };
    // the redirecting server's *.example.com is the more specific server host, but the route of the other server
    // makes the exact virtual host shop.example.com, which does not require TLS
    const a = gateway('istio-system', 'redirect', httpServer('["*.example.com"]', 80, redirect)) + gateway('istio-system', 'open', httpServer('["*"]')) + route('["shop.example.com"]', 'istio-system/open');
    expect(at(a, 'shop.example.com')).toBeNull();
    expect(at(a, 'blog.example.com')).toMatchObject({ status: 301 });
    // a redirecting server's route makes its virtual host require TLS, even where another server of the port serves the name
    const b = gateway('istio-system', 'open', httpServer('["shop.example.com"]')) + gateway('istio-system', 'redirect', httpServer('["*"]', 80, redirect)) + route('["shop.example.com"]', 'istio-system/redirect');
    expect(at(b, 'shop.example.com')).toMatchObject({ status: 301 });
  });

  it('§9 a redirecting server\'s `*/host` and `*/*` hosts are the host and `*` (mergeGateways), so they redirect without a route', () => {
    const redirect = '      tls: { httpsRedirect: true }\n';
    for (const hosts of ['["*/shop.example.com"]', '["*/*"]']) {
      const { gateways, vss } = load(gateway('istio-system', 'gw', httpServer(hosts, 80, redirect)));
      const sel = selectServer(gateways, { servicePort: 80, targetPort: 8080 }, 'shop.example.com');
      expect(sel && httpsRedirect(vss, sel.routeServers, 'istio-system', 'shop.example.com', '/'), hosts).toMatchObject({ status: 301 });
    }
  });

  it('§9 the chains of a TLS port keep one route-table array per server: the caches keyed by it hit on the next request', () => {
    const text = gateway('istio-system', 'gw', `    - port: { number: 443, name: https, protocol: HTTPS }\n      tls: { mode: SIMPLE, credentialName: c }\n      hosts: ["a.example.com"]\n`);
    const { gateways, vss } = load(text);
    const one = tlsChains(gateways, vss, { servicePort: 443, targetPort: 8443 }, 'istio-system');
    const two = tlsChains(gateways, [...vss], { servicePort: 443, targetPort: 8443 }, 'istio-system');
    expect(one[0]?.routeServers).toBe(two[0]?.routeServers);
    expect(selectServer(gateways, { servicePort: 443, targetPort: 8443 }, 'a.example.com')?.routeServers).toBe(one[0]?.routeServers);
  });

  it('§9 server modes: HTTP routes, HTTPS terminates then HTTP routes, PASSTHROUGH uses tls routes, TLS termination uses tcp routes', () => {
    const { gateways } = load(gateway('istio-system', 'gw', `    - port: { number: 80, name: http, protocol: HTTP }
      hosts: ["*"]
    - port: { number: 443, name: https, protocol: HTTPS }
      hosts: ["*"]
      tls: { mode: SIMPLE, credentialName: cert }
    - port: { number: 8443, name: pass, protocol: TLS }
      hosts: ["*"]
      tls: { mode: PASSTHROUGH }
    - port: { number: 9443, name: term, protocol: TLS }
      hosts: ["*"]
      tls: { mode: MUTUAL, credentialName: cert }
    - port: { number: 5432, name: pg, protocol: TCP }
      hosts: ["*"]
`));
    expect(gateways[0]?.servers.map(serverMode)).toEqual(['http', 'https', 'tls-passthrough', 'tls-terminate', 'tcp']);
  });

  it('§9 plain-HTTP servers of one port share a route table: a VS bound to another Gateway on the port still routes', () => {
    const text = gateway('istio-system', 'first', httpServer('["*"]'))
      + gateway('istio-system', 'second', httpServer('["*"]'))
      + vs('bookinfo', 'shop', `  hosts: [shop.example.com]
  gateways: [istio-system/second]
  http: [{ route: [{ destination: { host: shop } }] }]`);
    expect(atGateway(text, { host: 'shop.example.com' })).toMatchObject({ kind: 'route', vs: 'bookinfo/shop', destination: { host: 'shop.bookinfo.svc.cluster.local' } });
  });

  it('§9 a TLS-terminating server has its own route table: only VSs bound to its Gateway apply', () => {
    const text = gateway('istio-system', 'tls', `    - port: { number: 443, name: https, protocol: HTTPS }
      hosts: ["shop.example.com"]
      tls: { mode: SIMPLE, credentialName: shop-cert }
`) + gateway('istio-system', 'other', `    - port: { number: 443, name: https-other, protocol: HTTPS }
      hosts: ["*"]
      tls: { mode: SIMPLE, credentialName: other-cert }
`) + vs('bookinfo', 'shop', `  hosts: [shop.example.com]
  gateways: [istio-system/other]
  http: [{ route: [{ destination: { host: shop } }] }]`);
    const { gateways, vss } = load(text);
    const sel = selectServer(gateways, { servicePort: 443, targetPort: 8443 }, 'shop.example.com');
    expect(sel?.gateway.meta.name).toBe('tls');
    expect(sel?.routeServers).toHaveLength(1);
    const r = sel && routeHttp(vss, { gateway: 'istio-system/tls', gatewayNamespace: 'istio-system', host: 'shop.example.com', port: 443, path: '/', method: 'GET', headers: {}, servers: sel.routeServers, tls: true }, never);
    expect(r).toMatchObject({ kind: 'no-route', flag: 'NR' });
  });

  it('§9 PASSTHROUGH routes by SNI through tls routes; the most specific SNI wins; an unknown SNI is closed', () => {
    const text = gateway('istio-system', 'pass', `    - port: { number: 443, name: tls, protocol: TLS }
      hosts: ["*.example.com"]
      tls: { mode: PASSTHROUGH }
`) + vs('bookinfo', 'wild', `  hosts: ["*.example.com"]
  gateways: [istio-system/pass]
  tls:
    - match: [{ sniHosts: ["*.example.com"], port: 443 }]
      route: [{ destination: { host: catchall, port: { number: 8443 } } }]`)
      + vs('bookinfo', 'shop', `  hosts: [shop.example.com]
  gateways: [istio-system/pass]
  tls:
    - match: [{ sniHosts: [shop.example.com] }]
      route: [{ destination: { host: shop, port: { number: 8443 } } }]`);
    const { gateways, vss } = load(text);
    const route = (sni: string): ReturnType<typeof routeTls> => {
      const sel = selectServer(gateways, { servicePort: 443, targetPort: 8443 }, sni);
      if (!sel) return { kind: 'no-route', reason: 'no server' };
      return routeTls(vss, { gateway: 'istio-system/pass', gatewayNamespace: 'istio-system', sni, port: 443, servers: sel.routeServers });
    };
    expect(route('shop.example.com')).toEqual({ kind: 'route', vs: 'bookinfo/shop', route: 0, destination: { host: 'shop.bookinfo.svc.cluster.local', port: 8443 } });
    expect(route('blog.example.com')).toMatchObject({ kind: 'route', vs: 'bookinfo/wild', destination: { host: 'catchall.bookinfo.svc.cluster.local' } });
    expect(route('evil.org')).toMatchObject({ kind: 'no-route' });
    expect(route('')).toMatchObject({ kind: 'no-route' });
  });

  it('§9 tcp routes: the first fitting route of the oldest VS bound to the gateway; none → closed', () => {
    const text = vs('db', 'pg', `  hosts: ["*"]
  gateways: [istio-system/gw]
  tcp:
    - match: [{ port: 5433 }]
      route: [{ destination: { host: replica } }]
    - route: [{ destination: { host: primary, port: { number: 5432 } } }]`);
    const { vss } = load(text);
    expect(routeTcp(vss, { gateway: 'istio-system/gw', gatewayNamespace: 'istio-system', port: 5432 }))
      .toEqual({ kind: 'route', vs: 'db/pg', route: 1, destination: { host: 'primary.db.svc.cluster.local', port: 5432 } });
    expect(routeTcp(vss, { gateway: 'istio-system/gw', gatewayNamespace: 'istio-system', port: 5433 })).toMatchObject({ route: 0, destination: { host: 'replica.db.svc.cluster.local' } });
    expect(routeTcp(vss, { gateway: 'istio-system/other', gatewayNamespace: 'istio-system', port: 5432 })).toMatchObject({ kind: 'no-route' });
    expect(routeTcp(vss, { gateway: 'mesh', gatewayNamespace: 'db', port: 5432, host: 'pg' })).toMatchObject({ kind: 'default' });
  });
});

describe('TLS and TCP routes on sidecars', () => {
  it('VirtualService: sidecar tls routes match the SNI; no VS → default (the sidecar passes the connection through)', () => {
    const { vss } = load(vs('default', 'cnn', `  hosts: [edition.cnn.com]
  tls:
    - match: [{ sniHosts: [edition.cnn.com], port: 443 }]
      route: [{ destination: { host: istio-egressgateway.istio-system.svc.cluster.local, port: { number: 443 } } }]`));
    expect(routeTls(vss, { gateway: 'mesh', gatewayNamespace: 'default', sni: 'edition.cnn.com', port: 443 }))
      .toMatchObject({ kind: 'route', destination: { host: 'istio-egressgateway.istio-system.svc.cluster.local', port: 443 } });
    expect(routeTls(vss, { gateway: 'mesh', gatewayNamespace: 'default', sni: 'edition.cnn.com', port: 8443 })).toMatchObject({ kind: 'default' });
    expect(routeTls(vss, { gateway: 'mesh', gatewayNamespace: 'default', sni: 'www.google.com', port: 443 })).toMatchObject({ kind: 'default' });
  });

  it('VirtualService: sidecar tcp routes need the dialled host and fit port, sourceLabels and destinationSubnets; gateways ignore sourceLabels', () => {
    const { vss } = load(vs('db', 'pg', `  hosts: [pg]
  gateways: [mesh, istio-system/gw]
  tcp:
    - match: [{ sourceLabels: { app: reporting } }]
      route: [{ destination: { host: pg-replica } }]
    - match: [{ destinationSubnets: [10.1.0.0/16] }]
      route: [{ destination: { host: pg-legacy } }]
    - route: [{ destination: { host: pg } }]`));
    const at = (ctx: Partial<Parameters<typeof routeTcp>[1]>): unknown => {
      const r = routeTcp(vss, { gateway: 'mesh', gatewayNamespace: 'db', port: 5432, host: 'pg', ...ctx });
      return r.kind === 'route' ? r.route : r.kind;
    };
    expect(at({ sourceLabels: { app: 'reporting' } })).toBe(0);
    expect(at({ sourceLabels: { app: 'web' }, destinationIp: '10.1.2.3' })).toBe(1);
    expect(at({ sourceLabels: { app: 'web' }, destinationIp: '10.2.0.1' })).toBe(2);
    expect(at({ host: 'mysql' })).toBe('default');
    expect(at({ gateway: 'istio-system/gw', gatewayNamespace: 'istio-system', host: 'ignored' })).toBe(0);
  });
});

describe('VirtualService binding', () => {
  it('VirtualService binding: a VS without `gateways` applies only to sidecars (mesh)', () => {
    const text = ingress + vs('bookinfo', 'reviews', `  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v2 } }] }]`);
    expect(atSidecar(text, { host: 'reviews' })).toMatchObject({ kind: 'route', destination: { host: 'reviews.bookinfo.svc.cluster.local', subset: 'v2' } });
    expect(atGateway(text, { host: 'reviews.bookinfo.svc.cluster.local' })).toMatchObject({ kind: 'no-route', status: 404, flag: 'NR' });
  });

  it('VirtualService binding: a VS bound to a gateway does not apply to sidecars unless it lists mesh', () => {
    expect(atSidecar(toProductpage(), { host: 'productpage' })).toMatchObject({ kind: 'default' });
    const both = vs('bookinfo', 'pp', `  hosts: [productpage]
  gateways: [istio-system/gw, mesh]
  http: [{ route: [{ destination: { host: productpage, subset: v1 } }] }]`);
    expect(atSidecar(both, { host: 'productpage' })).toMatchObject({ kind: 'route', destination: { subset: 'v1' } });
  });

  it('VirtualService binding: a bare gateway name resolves in the VS namespace; ns/name and the legacy FQDN name where they say', () => {
    const at = (gateways: string): HttpRouteResult => atGateway(ingress + vs('bookinfo', 'pp', `  hosts: ["*"]
  gateways: ${gateways}
  http: [{ route: [{ destination: { host: productpage } }] }]`), { host: 'x.example.com' });
    expect(at('[gw]')).toMatchObject({ kind: 'no-route' });
    expect(at('[istio-system/gw]')).toMatchObject({ kind: 'route' });
    expect(at('[gw.istio-system.svc.cluster.local]')).toMatchObject({ kind: 'route' });
  });

  it('VirtualService binding: exportTo hides a VS from proxies of other namespaces', () => {
    const text = vs('bookinfo', 'reviews', `  hosts: [reviews.bookinfo.svc.cluster.local]
  exportTo: ["."]
  http: [{ route: [{ destination: { host: reviews, subset: v2 } }] }]`);
    expect(atSidecar(text, { host: 'reviews.bookinfo' }, 'bookinfo')).toMatchObject({ kind: 'route' });
    expect(atSidecar(text, { host: 'reviews.bookinfo' }, 'other')).toMatchObject({ kind: 'default' });
  });

  it('VirtualService binding: a server host ns/h admits only VSs of namespace ns (./h the Gateway\'s own)', () => {
    const text = (hosts: string): string => gateway('istio-system', 'gw', httpServer(hosts)) + toProductpage();
    expect(atGateway(text('["bookinfo/*"]'), { host: 'a.example.com' })).toMatchObject({ kind: 'route' });
    expect(atGateway(text('["other/*"]'), { host: 'a.example.com' })).toMatchObject({ kind: 'no-route', flag: 'NR' });
    expect(atGateway(text('["./*"]'), { host: 'a.example.com' })).toMatchObject({ kind: 'no-route', flag: 'NR' });
  });

  it('VirtualService binding: at a gateway the virtual host is the intersection of server and VS hosts', () => {
    const text = gateway('istio-system', 'gw', httpServer('["shop.example.com"]')) + toProductpage();
    expect(atGateway(text, { host: 'shop.example.com' })).toMatchObject({ kind: 'route' });
    const narrowVs = ingress + vs('bookinfo', 'pp', `  hosts: ["*.example.com"]
  gateways: [istio-system/gw]
  http: [{ route: [{ destination: { host: productpage } }] }]`);
    expect(atGateway(narrowVs, { host: 'shop.example.com' })).toMatchObject({ kind: 'route' });
    expect(atGateway(narrowVs, { host: 'example.org' })).toMatchObject({ kind: 'no-route' });
  });

  it('VirtualService hosts: short names mean the VS namespace; sidecars match name, name.ns, name.ns.svc and the FQDN', () => {
    const text = vs('bookinfo', 'reviews', `  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v3 } }] }]`);
    for (const host of ['reviews.bookinfo', 'reviews.bookinfo.svc', 'reviews.bookinfo.svc.cluster.local', 'reviews.bookinfo:9080']) {
      expect(atSidecar(text, { host }, 'frontend')).toMatchObject({ kind: 'route' });
    }
    expect(atSidecar(text, { host: 'reviews' }, 'bookinfo')).toMatchObject({ kind: 'route' });
    expect(atSidecar(text, { host: 'reviews' }, 'frontend')).toMatchObject({ kind: 'default' });
  });

  it('VirtualService hosts: an exact host beats a wildcard host', () => {
    const text = ingress
      + vs('bookinfo', 'wild', `  hosts: ["*.example.com"]
  gateways: [istio-system/gw]
  http: [{ route: [{ destination: { host: wild } }] }]`)
      + vs('bookinfo', 'exact', `  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http: [{ route: [{ destination: { host: shop } }] }]`);
    expect(atGateway(text, { host: 'shop.example.com' })).toMatchObject({ vs: 'bookinfo/exact' });
    expect(atGateway(text, { host: 'blog.example.com' })).toMatchObject({ vs: 'bookinfo/wild' });
  });

  it('VirtualService: at a gateway VSs for the same host merge, oldest first, catch-all routes last', () => {
    const text = ingress
      + vs('bookinfo', 'base', `  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http: [{ route: [{ destination: { host: frontend } }] }]`)
      + vs('bookinfo', 'api', `  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http: [{ match: [{ uri: { prefix: /api } }], route: [{ destination: { host: api } }] }]`);
    expect(atGateway(text, { host: 'shop.example.com', path: '/api/users' })).toMatchObject({ vs: 'bookinfo/api', destination: { host: 'api.bookinfo.svc.cluster.local' } });
    expect(atGateway(text, { host: 'shop.example.com', path: '/' })).toMatchObject({ vs: 'bookinfo/base' });
  });

  it('VirtualService: on a sidecar the oldest VS for a host wins and the others are ignored', () => {
    const text = vs('bookinfo', 'old', `  hosts: [reviews]
  http: [{ match: [{ uri: { prefix: /v1 } }], route: [{ destination: { host: reviews, subset: v1 } }] }]`)
      + vs('bookinfo', 'new', `  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v2 } }] }]`);
    expect(atSidecar(text, { host: 'reviews', path: '/v1/x' })).toMatchObject({ vs: 'bookinfo/old' });
    expect(atSidecar(text, { host: 'reviews', path: '/other' })).toMatchObject({ kind: 'no-route', status: 404, flag: 'NR' });
  });

  it('§8 egress gateway pattern: the mesh route sends to the egress gateway, the gateway route to the external host', () => {
    const text = gateway('istio-system', 'egress', `    - port: { number: 80, name: http, protocol: HTTP }
      hosts: [edition.cnn.com]
`, '{ istio: egressgateway }') + vs('default', 'cnn', `  hosts: [edition.cnn.com]
  gateways: [istio-system/egress, mesh]
  http:
    - match: [{ gateways: [mesh], port: 80 }]
      route: [{ destination: { host: istio-egressgateway.istio-system.svc.cluster.local, port: { number: 80 } } }]
    - match: [{ gateways: [istio-system/egress], port: 80 }]
      route: [{ destination: { host: edition.cnn.com, port: { number: 80 } } }]`);
    expect(atSidecar(text, { host: 'edition.cnn.com', port: 80 }, 'default'))
      .toMatchObject({ kind: 'route', route: 0, destination: { host: 'istio-egressgateway.istio-system.svc.cluster.local', port: 80 } });
    const { gateways, vss } = load(text);
    const sel = selectServer(gateways, { servicePort: 80, targetPort: 8080 }, 'edition.cnn.com');
    expect(sel && routeHttp(vss, { gateway: 'istio-system/egress', gatewayNamespace: 'istio-system', host: 'edition.cnn.com', port: 80, path: '/politics', method: 'GET', headers: {}, servers: sel.routeServers }, never))
      .toMatchObject({ kind: 'route', route: 1, destination: { host: 'edition.cnn.com', port: 80 } });
  });
});

describe('VirtualService http routes', () => {
  const routes = (http: string): string => vs('bookinfo', 'reviews', `  hosts: [reviews]
  http:
${http}`);

  it('VirtualService: the first matching http route wins', () => {
    const text = routes(`    - match: [{ uri: { prefix: /admin } }]
      route: [{ destination: { host: admin } }]
    - match: [{ uri: { prefix: / } }]
      route: [{ destination: { host: reviews } }]`);
    expect(atSidecar(text, { host: 'reviews', path: '/admin/users' })).toMatchObject({ route: 0, destination: { host: 'admin.bookinfo.svc.cluster.local' } });
    expect(atSidecar(text, { host: 'reviews', path: '/x' })).toMatchObject({ route: 1 });
  });

  it('VirtualService: match entries are ORed, the fields of one entry ANDed', () => {
    const text = routes(`    - match:
        - { uri: { prefix: /api }, method: { exact: POST } }
        - { headers: { x-debug: { exact: "1" } } }
      route: [{ destination: { host: special } }]
    - route: [{ destination: { host: reviews } }]`);
    expect(atSidecar(text, { host: 'reviews', path: '/api/x', method: 'POST' })).toMatchObject({ route: 0, match: 0 });
    expect(atSidecar(text, { host: 'reviews', path: '/api/x', method: 'GET' })).toMatchObject({ route: 1 });
    expect(atSidecar(text, { host: 'reviews', path: '/', headers: { 'X-Debug': '1' } })).toMatchObject({ route: 0, match: 1 });
  });

  it('VirtualService: a route with no match matches everything', () => {
    const text = routes('    - route: [{ destination: { host: reviews } }]');
    for (const path of ['/', '/anything?x=1', '/%2e%2e/etc']) {
      expect(atSidecar(text, { host: 'reviews', path, method: 'DELETE' })).toMatchObject({ kind: 'route', match: -1 });
    }
  });

  it('VirtualService: uri exact and regex compare the path without query, prefix the whole path; ignoreUriCase', () => {
    const text = routes(`    - match: [{ uri: { exact: /login } }]
      route: [{ destination: { host: login } }]
    - match: [{ uri: { regex: "/users/[0-9]+" } }]
      route: [{ destination: { host: users } }]
    - match: [{ uri: { prefix: /Static }, ignoreUriCase: true }]
      route: [{ destination: { host: static } }]`);
    const hostOf = (path: string): unknown => {
      const r = atSidecar(text, { host: 'reviews', path });
      return r.kind === 'route' ? r.destination.host.split('.')[0] : r.kind;
    };
    expect(hostOf('/login?next=/')).toBe('login');
    expect(hostOf('/login/')).toBe('no-route');
    expect(hostOf('/users/42')).toBe('users');
    expect(hostOf('/users/42/delete')).toBe('no-route');
    expect(hostOf('/static/app.js')).toBe('static');
  });

  it('VirtualService: headers match exactly, by prefix or by regex; {} means present; withoutHeaders inverts', () => {
    const text = routes(`    - match: [{ headers: { end-user: { exact: jason } } }]
      route: [{ destination: { host: reviews, subset: v2 } }]
    - match: [{ headers: { x-canary: {} } }]
      route: [{ destination: { host: reviews, subset: canary } }]
    - match: [{ withoutHeaders: { authorization: {} } }]
      route: [{ destination: { host: reviews, subset: anonymous } }]
    - route: [{ destination: { host: reviews, subset: v1 } }]`);
    const subset = (headers: Record<string, string>): string | undefined => {
      const r = atSidecar(text, { host: 'reviews', headers });
      return r.kind === 'route' ? r.destination.subset : undefined;
    };
    expect(subset({ 'end-user': 'jason', authorization: 'x' })).toBe('v2');
    expect(subset({ 'end-user': 'Jason', authorization: 'x' })).toBe('v1');
    expect(subset({ 'x-canary': '', authorization: 'x' })).toBe('canary');
    expect(subset({})).toBe('anonymous');
  });

  it('VirtualService: match port and sourceLabels prune match entries before matching', () => {
    const text = routes(`    - match: [{ port: 9090 }]
      route: [{ destination: { host: metrics } }]
    - match: [{ sourceLabels: { app: productpage } }]
      route: [{ destination: { host: reviews, subset: v2 } }]
    - route: [{ destination: { host: reviews, subset: v1 } }]`);
    expect(atSidecar(text, { host: 'reviews', port: 9090 })).toMatchObject({ route: 0 });
    expect(atSidecar(text, { host: 'reviews', sourceLabels: { app: 'productpage', version: 'v1' } })).toMatchObject({ route: 1 });
    expect(atSidecar(text, { host: 'reviews', sourceLabels: { app: 'ratings' } })).toMatchObject({ route: 2 });
  });

  it('VirtualService: prefix rewrite changes the path the backend sees (the query is kept)', () => {
    const text = routes(`    - match: [{ uri: { prefix: /api/v1 } }]
      rewrite: { uri: /v2 }
      route: [{ destination: { host: api } }]
    - match: [{ uri: { exact: /old } }]
      rewrite: { uri: /new, authority: new.example.com }
      route: [{ destination: { host: api } }]
    - rewrite: { uri: /v2 }
      route: [{ destination: { host: api } }]`);
    expect(atSidecar(text, { host: 'reviews', path: '/api/v1/users?id=7' })).toMatchObject({ route: 0, rewrite: { uri: '/v2/users?id=7' } });
    expect(atSidecar(text, { host: 'reviews', path: '/old?x=1' })).toMatchObject({ route: 1, rewrite: { uri: '/new?x=1', authority: 'new.example.com' } });
    // Envoy swaps the matched prefix "/" (a route without uri match), so /a becomes /v2a
    expect(atSidecar(text, { host: 'reviews', path: '/a' })).toMatchObject({ route: 2, rewrite: { uri: '/v2a' } });
  });

  it('VirtualService: uriRegexRewrite substitutes every match of the regex in the path', () => {
    const text = routes(`    - rewrite: { uriRegexRewrite: { match: "^/service/([^/]+)(/.*)$", rewrite: "\\\\2/instance/\\\\1" } }
      route: [{ destination: { host: api } }]`);
    expect(atSidecar(text, { host: 'reviews', path: '/service/foo/v1/api' })).toMatchObject({ rewrite: { uri: '/v1/api/instance/foo' } });
  });

  it('VirtualService: no matching route → 404 NR', () => {
    const text = routes(`    - match: [{ uri: { prefix: /public } }]
      route: [{ destination: { host: reviews } }]`);
    const r = atSidecar(text, { host: 'reviews', path: '/admin' });
    expect(r).toMatchObject({ kind: 'no-route', status: 404, flag: 'NR' });
    expect(r.kind === 'no-route' && r.reason).toContain('bookinfo/reviews');
  });

  it('VirtualService: weights are picked by the seeded stream (only when there is a choice; weight 0 never)', () => {
    const text = routes(`    - route:
        - { destination: { host: reviews, subset: v1 }, weight: 90 }
        - { destination: { host: reviews, subset: v2 }, weight: 10 }
        - { destination: { host: reviews, subset: v3 }, weight: 0 }`);
    const subset = (x: number): string | undefined => {
      const r = atSidecar(text, { host: 'reviews' }, 'bookinfo', () => x);
      return r.kind === 'route' ? r.destination.subset : undefined;
    };
    expect(subset(0)).toBe('v1');
    expect(subset(0.8999)).toBe('v1');
    expect(subset(0.9)).toBe('v2');
    expect(subset(0.99999)).toBe('v2');
    const single = routes('    - route: [{ destination: { host: reviews, subset: v1 }, weight: 100 }]');
    expect(atSidecar(single, { host: 'reviews' }, 'bookinfo', never)).toMatchObject({ destination: { subset: 'v1' } });
  });

  it('VirtualService: redirect answers 301 (or its redirectCode) with a Location built from the request', () => {
    const text = routes(`    - match: [{ uri: { prefix: /old } }]
      redirect: { uri: /new }
    - match: [{ uri: { prefix: /moved } }]
      redirect: { authority: other.example.com, scheme: https, redirectCode: 308 }`);
    expect(atSidecar(text, { host: 'reviews', path: '/old/page?q=1' })).toEqual({ kind: 'redirect', vs: 'bookinfo/reviews', route: 0, status: 301, location: 'http://reviews/new?q=1' });
    expect(atSidecar(text, { host: 'reviews', path: '/moved/x' })).toMatchObject({ status: 308, location: 'https://other.example.com/moved/x' });
  });

  it('VirtualService: directResponse answers its status and body', () => {
    const text = routes(`    - match: [{ uri: { prefix: /admin } }]
      directResponse: { status: 403, body: { string: "forbidden by route" } }
    - route: [{ destination: { host: reviews } }]`);
    expect(atSidecar(text, { host: 'reviews', path: '/admin' })).toEqual({ kind: 'direct', vs: 'bookinfo/reviews', route: 0, status: 403, body: 'forbidden by route' });
  });

  it('VirtualService: routing at the ingress for `from: outside` (product.md §2) by host header and path', () => {
    const text = ingress + toProductpage();
    expect(atGateway(text, { host: 'bookinfo.example.com:80', path: '/productpage' }))
      .toEqual({ kind: 'route', vs: 'bookinfo/productpage', route: 0, match: -1, destination: { host: 'productpage.bookinfo.svc.cluster.local', port: 9080 } });
  });
});

describe('§8 which VirtualService a sidecar routes by', () => {
  const reviews = (ns: string, name: string, code: number, extra = ''): string => vs(ns, name, `  hosts: [reviews.backend.svc.cluster.local]
${extra}  http:
    - route: [{ destination: { host: reviews.backend.svc.cluster.local } }]
      headers: { response: { set: { x-code: "${code}" } } }`);
  it('one private to the client\'s namespace beats one exported to it by name, which beats a public one, whatever their age (Istio virtualServiceIndex: private, exported, public)', () => {
    const text = reviews('backend', 'a-public', 201) + reviews('other', 'b-named', 202, '  exportTo: [shop]\n') + reviews('shop', 'c-local', 203, '  exportTo: ["."]\n');
    const r = atSidecar(text, { host: 'reviews.backend.svc.cluster.local', port: 80 }, 'shop');
    expect(r.kind === 'route' ? r.vs : null).toBe('shop/c-local');
    const noLocal = reviews('backend', 'a-public', 201) + reviews('other', 'b-named', 202, '  exportTo: [shop]\n');
    const n = atSidecar(noLocal, { host: 'reviews.backend.svc.cluster.local', port: 80 }, 'shop');
    expect(n.kind === 'route' ? n.vs : null).toBe('other/b-named');
    // a VirtualService of the client's own namespace without exportTo is public: ranked with the others by age
    const ownPublic = reviews('backend', 'a-public', 201) + reviews('shop', 'd-own', 204);
    const o = atSidecar(ownPublic, { host: 'reviews.backend.svc.cluster.local', port: 80 }, 'shop');
    expect(o.kind === 'route' ? o.vs : null).toBe('backend/a-public');
  });
  it('one whose every route Istio prunes for this proxy (sourceLabels) claims nothing: the next one for the host routes, else the service itself (BuildHTTPRoutesForVirtualService)', () => {
    const pruned = vs('shop', 'd-old', `  hosts: [reviews.backend.svc.cluster.local]
  http:
    - match: [{ sourceLabels: { app: other } }]
      route: [{ destination: { host: reviews.backend.svc.cluster.local, subset: v2 } }]`);
    const r = atSidecar(pruned + reviews('shop', 'e-new', 205), { host: 'reviews.backend.svc.cluster.local', port: 80, sourceLabels: { app: 'web' } }, 'shop');
    expect(r.kind === 'route' ? r.vs : r.kind).toBe('shop/e-new');
    expect(atSidecar(pruned, { host: 'reviews.backend.svc.cluster.local', port: 80, sourceLabels: { app: 'web' } }, 'shop').kind).toBe('default');
    // a client the route fits still routes by it
    const fits = atSidecar(pruned + reviews('shop', 'e-new', 205), { host: 'reviews.backend.svc.cluster.local', port: 80, sourceLabels: { app: 'other' } }, 'shop');
    expect(fits.kind === 'route' ? fits.vs : null).toBe('shop/d-old');
  });
});
