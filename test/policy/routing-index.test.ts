/**
 * Server selection (§9) and the sidecar's and gateway's virtual host (§8, §9) through the domain index: the same
 * answer as scoring every domain of every server or binding and keeping the first of the highest score (Envoy's
 * most specific domain, oldest first), on random host lists with exact names, `*`, `*.suffix`, `*suffix`,
 * namespace-prefixed server hosts, upper case and repeated hosts. The reference below is the plain scan the index
 * replaced.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Gateway, VirtualService } from '../../src/model/routing.js';
import { domainScore, routeHttp, routeTcp, routeTls, selectServer } from '../../src/policy/routing.js';

const NAMES = ['a.example.com', 'b.example.com', 'example.com', 'x.a.example.com', 'reviews', 'reviews.shop', 'reviews.shop.svc.cluster.local', 'ratings.shop.svc.cluster.local'];
const WILD = ['*', '*.example.com', '*example.com', '*.com', '*.a.example.com', '*.shop.svc.cluster.local', '*.svc.cluster.local', '*s.shop.svc.cluster.local'];
const HOST = fc.constantFrom(...NAMES, ...WILD, 'A.Example.com', 'other.org');
const SERVER_HOST = fc.tuple(fc.constantFrom('', './', '*/', 'shop/'), HOST).map(([ns, h]) => ns + h);
const REQUEST_HOST = fc.constantFrom(...NAMES, 'A.EXAMPLE.COM', 'a.example.com:80', 'example.com.', 'other.org', 'c.example.com', 'ratings', 'ratings.shop', '*', '');

const meta = (ns: string, name: string, order: number) => ({ name, namespace: ns, labels: {}, annotations: {}, order, loc: { file: 'x.yaml', line: order + 1, col: 1 } });

function gateways(specs: { servers: { port: number; protocol: string; hosts: string[] }[] }[]): Gateway[] {
  return specs.map((g, i) => ({
    meta: meta('istio-system', `gw${i}`, i),
    selector: { istio: 'ingressgateway' },
    servers: g.servers.map((s) => ({ port: { number: s.port, name: `p${s.port}`, protocol: s.protocol }, hosts: s.hosts, ...(s.protocol === 'HTTPS' ? { tls: { mode: 'SIMPLE' as const, credentialName: 'c' } } : {}) })),
  }));
}

/** A request host as Envoy matches it: lower case, no port, no trailing dot. */
function plainHost(host: string): string {
  let h = host.toLowerCase();
  const colon = h.lastIndexOf(':');
  if (colon >= 0 && /^\d+$/.test(h.slice(colon + 1))) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** The forms a sidecar matches a host under: `name`, `name.ns` and `name.ns.svc` stand for the full service name. */
function hostForms(h: string, clientNs: string): string[] {
  const dots = h.split('.').length - 1;
  return [h, ...(dots === 0 ? [`${h}.${clientNs}.svc.cluster.local`] : dots === 1 ? [`${h}.svc.cluster.local`] : h.endsWith('.svc') ? [`${h}.cluster.local`] : [])];
}

const qualify = (x: string, ns: string): string => { const l = x.toLowerCase(); return l.includes('*') || l.includes('.') ? l : `${l}.${ns}.svc.cluster.local`; };
const exportedTo = (vs: VirtualService, ns: string): boolean =>
  vs.exportTo.length === 0 || vs.exportTo.some((e) => e === '*' || e === ns || (e === '.' && vs.meta.namespace === ns));

/**
 * The servers of a port Istio keeps (mergeGateways), in Gateway order: the first server's protocol decides — after
 * an HTTP one only HTTP servers join; a server with TLS settings repeating a host of an earlier one is dropped.
 */
function kept(gws: readonly Gateway[], port: number): Set<string> {
  const out = new Set<string>();
  let first: string | null = null;
  const tlsHosts: string[] = [];
  for (const g of gws) {
    g.servers.forEach((s, index) => {
      if (s.port.number !== port) return;
      if (s.tls !== undefined) {
        if (s.hosts.some((h) => tlsHosts.includes(h))) return;
        tlsHosts.push(...s.hosts);
      }
      if (first === null) first = s.tls === undefined || s.port.protocol === 'HTTP' ? s.port.protocol : 'TLS';
      else if (first !== 'TLS' && !(first === 'HTTP' && s.port.protocol === 'HTTP')) return;
      out.add(`${g.meta.name}#${index}`);
    });
  }
  return out;
}

/** The plain scan: every server Istio keeps on the port scored on every host, the first of the highest score kept. */
function plainSelect(gws: readonly Gateway[], port: number, host: string): { gateway: string; index: number } | null {
  const h = plainHost(host);
  let best: { gateway: string; index: number } | null = null;
  let bestScore = 0;
  const keep = kept(gws, port);
  for (const g of gws) {
    g.servers.forEach((s, index) => {
      if (s.port.number !== port || !keep.has(`${g.meta.name}#${index}`)) return;
      const score = Math.max(0, ...s.hosts.map((x) => domainScore((x.includes('/') ? x.slice(x.indexOf('/') + 1) : x).toLowerCase(), h)));
      if (score > bestScore) { bestScore = score; best = { gateway: g.meta.name, index }; }
    });
  }
  return best;
}

function virtualServices(specs: readonly { ns: string; hosts: string[]; exportTo: readonly string[]; ts?: string | undefined }[]): VirtualService[] {
  return specs.map((v, i) => ({
    meta: { ...meta(v.ns, `vs${i}`, i), ...(v.ts ? { creationTimestamp: v.ts } : {}) }, hosts: v.hosts, gateways: ['mesh'], gatewayLocs: [], exportTo: [...v.exportTo],
    http: [{ route: [{ destination: { host: `dest${i}` } }] }], tls: [], tcp: [],
  }));
}

/** Age: by creationTimestamp (equal ones by name, then namespace, as Istio), then apply order; without a timestamp after every one with (being applied now). */
function age(a: VirtualService, b: VirtualService): number {
  const ta = a.meta.creationTimestamp;
  const tb = b.meta.creationTimestamp;
  if (ta && tb) {
    if (ta !== tb) return ta < tb ? -1 : 1;
    if (a.meta.name !== b.meta.name) return a.meta.name < b.meta.name ? -1 : 1;
    return a.meta.namespace === b.meta.namespace ? 0 : a.meta.namespace < b.meta.namespace ? -1 : 1;
  }
  if (ta) return -1;
  if (tb) return 1;
  return a.meta.order - b.meta.order;
}

/** Istio's claim order for proxies of `ns` (virtualServiceIndex): private to ns (its own, exported to `.` or ns, not `*`), then exported to ns by name, then public (no exportTo, `*`). */
const rank = (vs: VirtualService, ns: string): number => (vs.exportTo.length === 0 || vs.exportTo.includes('*') ? 2 : vs.meta.namespace === ns ? 0 : 1);
const byRank = (vss: VirtualService[], ns: string): VirtualService[] => vss.sort((a, b) => rank(a, ns) - rank(b, ns));

/** The plain scan for a sidecar: every host of every VirtualService (qualified), scored on every form of the request host. */
function plainMeshVs(vss: readonly VirtualService[], clientNs: string, host: string): string | null {
  const forms = hostForms(plainHost(host), clientNs);
  let best = 0;
  let winner: string | null = null;
  for (const vs of byRank([...vss].sort(age).filter((v) => exportedTo(v, clientNs)), clientNs)) {
    for (const x of vs.hosts) {
      const score = Math.max(0, ...forms.map((f) => domainScore(qualify(x, vs.meta.namespace), f)));
      if (score > best) { best = score; winner = `${vs.meta.namespace}/${vs.meta.name}`; }
    }
  }
  return winner;
}

describe('routing through the domain index', () => {
  it('§9 servers Istio\'s merge drops serve nothing: an HTTPS server on a port an older plain HTTP server holds, a TLS server repeating a host of an older one (the whole server)', () => {
    const at443 = { servicePort: 443, targetPort: 443 };
    const httpFirst = gateways([{ servers: [{ port: 443, protocol: 'HTTP', hosts: ['a.example.com'] }] }, { servers: [{ port: 443, protocol: 'HTTPS', hosts: ['b.example.com'] }] }]);
    expect(selectServer(httpFirst, at443, 'b.example.com')).toBeNull();
    expect(selectServer(httpFirst, at443, 'a.example.com')?.gateway.meta.name).toBe('gw0');
    const overlap = gateways([{ servers: [{ port: 443, protocol: 'HTTPS', hosts: ['a.example.com', 'b.example.com'] }] }, { servers: [{ port: 443, protocol: 'HTTPS', hosts: ['b.example.com', 'c.example.com'] }] }]);
    expect(selectServer(overlap, at443, 'c.example.com')).toBeNull();
    expect(selectServer(overlap, at443, 'b.example.com')?.gateway.meta.name).toBe('gw0');
    // two HTTP servers on one port merge into one route table
    const twoHttp = gateways([{ servers: [{ port: 80, protocol: 'HTTP', hosts: ['a.example.com'] }] }, { servers: [{ port: 80, protocol: 'HTTP', hosts: ['b.example.com'] }] }]);
    expect(selectServer(twoHttp, { servicePort: 80, targetPort: 80 }, 'b.example.com')?.routeServers.length).toBe(2);
  });

  it('§9 selectServer picks the server the plain scan picks (most specific host, oldest Gateway and first server on a tie)', () => {
    const SERVER = fc.record({ port: fc.constantFrom(80, 443), protocol: fc.constantFrom('HTTP', 'HTTPS'), hosts: fc.array(SERVER_HOST, { minLength: 0, maxLength: 4 }) });
    fc.assert(fc.property(fc.array(fc.record({ servers: fc.array(SERVER, { minLength: 1, maxLength: 5 }) }), { minLength: 1, maxLength: 6 }), fc.array(REQUEST_HOST, { minLength: 1, maxLength: 8 }), (specs, hosts) => {
      const gws = gateways(specs);
      for (const host of hosts) {
        for (const port of [80, 443]) {
          const got = selectServer(gws, { servicePort: port, targetPort: port }, host);
          const want = plainSelect(gws, port, host);
          expect(got === null ? null : { gateway: got.gateway.meta.name, index: got.index }).toEqual(want);
          if (got !== null && got.server.port.protocol === 'HTTP') {
            // every plain HTTP server on the port shares the route table, and the array is the same one each time
            const keep = kept(gws, port);
            expect(got.routeServers.map((m) => `${m.gateway.meta.name}#${m.index}`)).toEqual(gws.flatMap((g) => g.servers.flatMap((s, i) => (s.port.number === port && s.port.protocol === 'HTTP' && keep.has(`${g.meta.name}#${i}`) ? [`${g.meta.name}#${i}`] : []))));
            expect(selectServer(gws, { servicePort: port, targetPort: port }, host)?.routeServers).toBe(got.routeServers);
          }
        }
      }
    }), { numRuns: 300, seed: 21 });
  });

  it('§8 a sidecar routes by the VirtualService the plain scan of those exported to it picks (most specific domain over the host forms; private, then exported by name, then public, oldest first in each)', () => {
    const VS = fc.record({ ns: fc.constantFrom('shop', 'web'), hosts: fc.array(HOST, { minLength: 1, maxLength: 4 }), exportTo: fc.constantFrom([], [], ['.'], ['*'], ['web'], ['shop']),
      ts: fc.constantFrom(undefined, undefined, '2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z') });
    fc.assert(fc.property(fc.array(VS, { minLength: 0, maxLength: 10 }), fc.constantFrom('shop', 'web'), fc.array(REQUEST_HOST, { minLength: 1, maxLength: 8 }), (specs, clientNs, hosts) => {
      const vss = virtualServices(specs);
      // both namespaces, twice: the mesh-wide table and what it keeps per namespace are shared by every ask
      for (const ns of [clientNs, clientNs === 'shop' ? 'web' : 'shop', clientNs]) {
        for (const host of hosts) {
          const r = routeHttp(vss, { gateway: 'mesh', gatewayNamespace: ns, host, port: 80, path: '/', method: 'GET', headers: {} }, () => 0);
          const want = plainMeshVs(vss, ns, host);
          expect(r.kind === 'route' ? r.vs : null).toEqual(want);
        }
      }
    }), { numRuns: 300, seed: 22 });
  });

  it('§8 a sidecar\'s tcp and tls routes bind the VirtualService the plain scan binds (first fitting, by rank then age; most specific SNI)', () => {
    const L4VS = fc.record({
      ns: fc.constantFrom('shop', 'web'),
      hosts: fc.array(HOST, { minLength: 1, maxLength: 3 }),
      exportTo: fc.constantFrom([], ['.'], ['*'], ['web']),
      gateways: fc.constantFrom(['mesh'], ['istio-system/gw'], ['mesh', 'istio-system/gw']),
      tcpPort: fc.constantFrom(undefined, 5432, 3306),
      sni: fc.array(HOST, { minLength: 0, maxLength: 3 }),
    });
    fc.assert(fc.property(fc.array(L4VS, { minLength: 0, maxLength: 10 }), fc.constantFrom('shop', 'web'), fc.array(fc.tuple(REQUEST_HOST, fc.constantFrom(5432, 3306)), { minLength: 1, maxLength: 6 }), (specs, clientNs, asks) => {
      const vss: VirtualService[] = specs.map((v, i) => ({
        meta: meta(v.ns, `vs${i}`, i), hosts: v.hosts, gateways: [...v.gateways], gatewayLocs: [], exportTo: [...v.exportTo], http: [],
        tcp: i % 3 === 2 ? [] : [{ match: v.tcpPort === undefined ? [] : [{ port: v.tcpPort }], route: [{ destination: { host: `t${i}` } }] }],
        tls: v.sni.length === 0 ? [] : [{ match: [{ sniHosts: v.sni }], route: [{ destination: { host: `s${i}` } }] }],
      }));
      const visible = byRank(vss.filter((vs) => exportedTo(vs, clientNs) && vs.gateways.includes('mesh')), clientNs);
      for (const [host, port] of asks) {
        const h = plainHost(host);
        const forms = hostForms(h, clientNs);
        const tcpWant = visible.find((vs) => vs.tcp.length > 0 && vs.hosts.some((x) => forms.some((f) => domainScore(qualify(x, vs.meta.namespace), f) > 0))
          && vs.tcp.some((r) => r.match.length === 0 || r.match.some((m) => m.port === undefined || m.port === port)));
        const tcp = routeTcp(vss, { gateway: 'mesh', gatewayNamespace: clientNs, port, host });
        expect(tcp.kind === 'route' ? tcp.vs : null).toEqual(tcpWant ? `${tcpWant.meta.namespace}/${tcpWant.meta.name}` : null);
        let best = 0;
        let tlsWant: VirtualService | null = null;
        for (const vs of visible) for (const r of vs.tls) for (const m of r.match) {
          const score = Math.max(0, ...m.sniHosts.map((x) => domainScore(qualify(x, vs.meta.namespace), h)));
          if (score > best) { best = score; tlsWant = vs; }
        }
        const tls = routeTls(vss, { gateway: 'mesh', gatewayNamespace: clientNs, port, sni: host });
        expect(tls.kind === 'route' ? tls.vs : null).toEqual(tlsWant ? `${tlsWant.meta.namespace}/${tlsWant.meta.name}` : null);
      }
    }), { numRuns: 300, seed: 23 });
  });

  it('§8 a wildcard host binds only hosts longer than its suffix: *example.com does not take example.com, *.example.com takes a.example.com', () => {
    const vss: VirtualService[] = ['*example.com', '*.example.com'].map((h, i) => ({
      meta: meta('shop', `vs${i}`, i), hosts: [h], gateways: ['mesh'], gatewayLocs: [], exportTo: [], http: [], tls: [],
      tcp: [{ match: [], route: [{ destination: { host: `t${i}` } }] }],
    }));
    expect(routeTcp(vss, { gateway: 'mesh', gatewayNamespace: 'shop', port: 5432, host: 'example.com' }).kind).toBe('default');
    const r = routeTcp(vss, { gateway: 'mesh', gatewayNamespace: 'shop', port: 5432, host: 'a.example.com' });
    expect(r.kind === 'route' ? r.vs : null).toBe('shop/vs0');
  });

  it('§8 age is a total order: a VirtualService with a creationTimestamp is older than one without, and one the client cannot see does not change which it routes by', () => {
    const mk = (ns: string, name: string, order: number, host: string, ts?: string, exportTo: string[] = []): VirtualService => ({
      meta: { ...meta(ns, name, order), ...(ts ? { creationTimestamp: ts } : {}) }, hosts: [host], gateways: ['mesh'], gatewayLocs: [], exportTo,
      http: [{ route: [{ destination: { host: `d-${name}` } }] }], tls: [], tcp: [{ match: [], route: [{ destination: { host: `t-${name}` } }] }],
    });
    const vss = [mk('shop', 'a', 0, 'reviews', '2024-01-02T00:00:00Z'), mk('other', 'b', 1, 'unrelated', undefined, ['.']), mk('shop', 'c', 2, 'reviews', '2024-01-01T00:00:00Z')];
    const r = routeHttp(vss, { gateway: 'mesh', gatewayNamespace: 'shop', host: 'reviews', port: 80, path: '/', method: 'GET', headers: {} }, () => 0);
    expect(r.kind === 'route' ? r.vs : null).toBe('shop/c');
    const t = routeTcp(vss, { gateway: 'mesh', gatewayNamespace: 'shop', port: 9080, host: 'reviews' });
    expect(t.kind === 'route' ? t.vs : null).toBe('shop/c');
    const mixed = [mk('shop', 'applied-now', 0, 'reviews'), mk('shop', 'exported', 1, 'reviews', '2024-01-01T00:00:00Z')];
    const m = routeHttp(mixed, { gateway: 'mesh', gatewayNamespace: 'shop', host: 'reviews', port: 80, path: '/', method: 'GET', headers: {} }, () => 0);
    expect(m.kind === 'route' ? m.vs : null).toBe('shop/exported');
    // equal timestamps (they are in seconds): by name, then namespace, whatever the apply order (Istio sortConfigByCreationTime)
    const tied = [mk('shop', 'zeta', 0, 'reviews', '2024-01-01T00:00:00Z'), mk('shop', 'alpha', 1, 'reviews', '2024-01-01T00:00:00Z')];
    const e = routeHttp(tied, { gateway: 'mesh', gatewayNamespace: 'shop', host: 'reviews', port: 80, path: '/', method: 'GET', headers: {} }, () => 0);
    expect(e.kind === 'route' ? e.vs : null).toBe('shop/alpha');
  });
});
