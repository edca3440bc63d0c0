/**
 * Gateway and VirtualService routing (istio-semantics §8, §9, §12; product.md
 * §2: `from: outside` enters through the ingress gateway's Service with a
 * `host` header and is routed "exactly as in a cluster"). Pure.
 *
 * Gateways (§9):
 *  - A Gateway binds to every gateway pod whose labels contain its `selector`,
 *    in any namespace (an empty selector binds to every gateway pod).
 *  - A connection on a gateway port is served by a server whose `port.number`
 *    is the Service port or the target (container) port; among those, the
 *    server whose hosts match the request host (plain HTTP) or SNI (TLS)
 *    most specifically wins: exact > longest `*.suffix` > `*`; ties go to the
 *    older Gateway, then the earlier server. A `ns/` prefix on a server host
 *    is ignored for this match (it only restricts VirtualService binding).
 *    No server → Envoy has no filter chain / virtual host: 404 NR for HTTP.
 *  - Plain-HTTP servers sharing a port share one route table (`http.<port>`):
 *    VirtualServices of every such server apply. A TLS-terminating server has
 *    its own route table.
 *  - `tls.httpsRedirect` on an HTTP server makes every virtual host it
 *    contributes (its hosts meeting a bound VirtualService's, and each of its
 *    hosts as written) require TLS: a request landing on one gets 301
 *    `https://<host><path>` before any route is looked at, even when no
 *    VirtualService binds — whichever server of the port its host falls under.
 *  - Server modes: HTTP-family protocol → HTTP routes; HTTPS + SIMPLE/MUTUAL/
 *    OPTIONAL_MUTUAL/ISTIO_MUTUAL → terminate TLS, then HTTP routes; HTTPS or
 *    TLS + PASSTHROUGH → `tls` routes by SNI; HTTPS or TLS + AUTO_PASSTHROUGH
 *    → no routes: a chain per cluster of the gateway's scope, taken by Istio
 *    mTLS (ALPN) whose SNI is the cluster name (parseClusterSni,
 *    autoPassthroughServer; inbound.ts autoPassthrough); TLS + terminating
 *    mode → terminate, then `tcp` routes; anything else → `tcp`.
 *
 * VirtualService binding:
 *  - `gateways` absent = `[mesh]` = sidecars only. An entry `ns/name` names a
 *    Gateway; a bare `name` means `<VS namespace>/name`; the legacy
 *    `name.ns.svc.cluster.local` means `ns/name`; `mesh` means sidecars.
 *  - A VirtualService is seen only by proxies in namespaces it is exported to
 *    (`exportTo` empty or `*` = all, `.` = its own namespace, else the list).
 *  - Hosts: short names are qualified with the VirtualService's namespace.
 *    At a gateway, the virtual hosts are the intersection of the server hosts
 *    applicable to the VS namespace (`*\/h` and `h` for all, `ns/h` for ns,
 *    `./h` for the Gateway's namespace) with the VS hosts (the more specific
 *    of each overlapping pair). On sidecars a request host also matches the
 *    short forms `name`, `name.ns`, `name.ns.svc` of a service host.
 *  - The request host picks the best virtual host as Envoy does (exact >
 *    longest wildcard suffix > `*`). At a gateway, every VS contributing that
 *    host has its routes appended in age order (oldest first) with catch-all
 *    routes moved to the end; on sidecars only the oldest VS for the host is
 *    used (the others are dropped as duplicates).
 *  - No VS for the host: at a gateway → 404 NR; on a sidecar → `default`
 *    (the sidecar routes to the service itself).
 *
 * HTTP routes:
 *  - The first route that matches wins; a route's match entries are ORed, the
 *    fields inside one entry ANDed; a route without match matches everything
 *    (and nothing after it in the same VS is ever used).
 *  - Match entries whose `port` differs from the listener port, whose
 *    `gateways` do not name the routing gateway (or `mesh`), or whose
 *    `sourceLabels`/`sourceNamespace` do not fit the routing proxy are dropped
 *    before matching (Istio prunes them when it builds the proxy's config).
 *  - uri: exact and regex compare the path without the query string, prefix
 *    the whole path; `ignoreUriCase` makes exact/prefix case-insensitive.
 *    Regexes are RE2 and must match the whole value. `{}` or `regex: "*"` on
 *    a header = the header is present. `withoutHeaders` inverts, a missing
 *    header counting as empty. method, authority, scheme, queryParams alike.
 *    JWT-claim matches (`@request.auth.claims…`) cannot be evaluated here and
 *    never match.
 *  - No route matches → 404 NR.
 *  - redirect → 301 unless redirectCode; Location scheme://authority[:port]path,
 *    each part from the redirect or else from the request (query kept).
 *  - directResponse → that status and body.
 *  - route: one destination gets everything; several split by weight
 *    (weight-0 destinations dropped), drawn with `pick()` in [0,1) — pick is
 *    only called when there is a real choice. Destination hosts are qualified
 *    with the VS namespace. rewrite.uri replaces the matched prefix (the whole
 *    path for exact/regex matches; `/` for a match without uri — so `/v2`
 *    turns `/a` into `/v2a`, as Envoy does); the query is kept.
 *
 * TLS / TCP routes:
 *  - tls: among match entries whose port and gateways fit (on sidecars also
 *    sourceLabels and sourceNamespace), the one whose SNI host matches the SNI
 *    most specifically wins (Envoy filter-chain match); ties → older VS,
 *    earlier route. At a gateway a TLS port's filter chains are tlsChains':
 *    a PASSTHROUGH route's sniHosts as written (its VirtualService's hosts
 *    need only overlap the server's), beside the terminating servers' hosts;
 *    the most specific SNI among all of them wins.
 *  - tcp: the first VS (oldest) bound to the gateway whose hosts overlap the
 *    server hosts (sidecar: whose hosts match the dialled host), and in it the
 *    first route with no match or a fitting match (port and gateways; on
 *    sidecars also sourceLabels, sourceNamespace, destinationSubnets), wins.
 *  - No route at a gateway: the connection is closed; on a sidecar: default.
 */
import { cidrContains, parseCidr } from '../core/ip.js';
import type { Gateway, GatewayServer, HttpMatch, HttpRetry, HttpRoute, L4Match, RouteDestination, StringMatch, VirtualService } from '../model/routing.js';
import { compileRe2 } from '../core/re2.js';
import { SimulationLimitError } from '../core/limits.js';
import { grouped } from '../core/text.js';
import { hostSubsetOf, resolveGatewayName } from '../model/routing.js';
import type { Labels, ObjectMeta, Workload } from '../model/types.js';
import { selectorMatches } from '../model/types.js';
import { olderFirst } from './peer-authentication.js';

/* ---------------------------------------------------------------- types -- */

export interface ServerMatch {
  gateway: Gateway;
  server: GatewayServer;
  /** index of the server in the Gateway's `servers` */
  index: number;
}

export interface ServerSelection extends ServerMatch {
  /** servers whose VirtualServices share the route table: pass as `routeHttp` ctx.servers */
  routeServers: ServerMatch[];
}

export type ServerMode = 'http' | 'https' | 'tls-passthrough' | 'auto-passthrough' | 'tls-terminate' | 'tcp';

export interface RoutedDestination {
  /** fully qualified: short names qualified with the VirtualService's namespace */
  host: string;
  /** only when the route names one; otherwise the caller uses the service's single port or the request port */
  port?: number;
  subset?: string;
}

export interface HttpRouteContext {
  /** `mesh` for a sidecar, or `ns/name` of the Gateway */
  gateway: string;
  /** namespace of the proxy that routes (the gateway pod, or the client pod for `mesh`): exportTo and sourceNamespace */
  gatewayNamespace: string;
  /** request authority without port */
  host: string;
  /** the :authority the client sent when it sent no Host header (host and port as dialled); absent = `host` */
  authority?: string;
  /** listener port: the gateway server port, or the service port for `mesh` */
  port: number;
  /** path as Envoy routes it (already normalized), query string included */
  path: string;
  method: string;
  /** header names in any case */
  headers: Readonly<Record<string, string>>;
  /** labels of the routing proxy's pod (client pod for `mesh`, gateway pod otherwise) */
  sourceLabels?: Labels;
  /** gateway only: servers sharing the route table (selectServer().routeServers); restricts hosts and namespaces */
  servers?: readonly ServerMatch[];
  /** the request arrived over TLS (terminated at the gateway): scheme `https` */
  tls?: boolean;
}

export type HttpRouteResult =
  | {
    kind: 'route';
    /** `ns/name` of the VirtualService */
    vs: string;
    /** index in `spec.http`, delegates merged in (model/delegate.ts) */
    route: number;
    /** index in the route's `match`, -1 when it has none */
    match: number;
    name?: string;
    /** a route merged from a delegate: which (for the trace) */
    via?: string;
    destination: RoutedDestination;
    rewrite?: { uri?: string; authority?: string };
    /** the route's retry policy (absent: Istio's default) and timeout (absent: none) */
    retries?: HttpRetry;
    timeoutMs?: number;
  }
  | { kind: 'redirect'; vs: string; route: number; status: number; location: string; via?: string }
  | { kind: 'direct'; vs: string; route: number; status: number; body: string; via?: string }
  | { kind: 'no-route'; status: 404; flag: 'NR'; reason: string }
  | { kind: 'default'; reason: string };

export interface TlsRouteContext {
  gateway: string;
  gatewayNamespace: string;
  /** SNI sent by the client ('' when none) */
  sni: string;
  port: number;
  sourceLabels?: Labels;
  servers?: readonly ServerMatch[];
}

export interface TcpRouteContext {
  gateway: string;
  gatewayNamespace: string;
  port: number;
  /** `mesh`: the dialled service host (required to bind a VS); ignored at gateways */
  host?: string;
  /** original destination IP, for destinationSubnets */
  destinationIp?: string;
  sourceLabels?: Labels;
  servers?: readonly ServerMatch[];
}

export type L4RouteResult =
  | { kind: 'route'; vs: string; route: number; destination: RoutedDestination }
  | { kind: 'no-route'; reason: string }
  | { kind: 'default'; reason: string };

const HTTP_PROTOCOLS: readonly string[] = ['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY'];
const EXACT = 100_000;

/* -------------------------------------------------------------- helpers -- */

/**
 * Age order (peer-authentication olderFirst, Istio's sortConfigByCreationTime): by creationTimestamp, equal ones by
 * name then namespace; an object without a timestamp is newer than every object with one (the cluster would stamp it
 * at apply time), and those without are in apply order. A total order, so sorting a list and then keeping the
 * VirtualServices a namespace sees gives what sorting those alone gives (the mesh-wide tables below rely on it).
 */
const byAge = olderFirst;

function idOf(meta: ObjectMeta): string {
  return `${meta.namespace}/${meta.name}`;
}

export function qualify(host: string, namespace: string): string {
  const h = host.toLowerCase();
  if (h.includes('*') || h.includes('.')) return h;
  return `${h}.${namespace}.svc.cluster.local`;
}

/** Envoy virtual-host / server_names domain match: 0 = no match, higher = more specific. */
export function domainScore(domain: string, host: string): number {
  if (domain === host) return EXACT;
  if (domain === '*') return 1;
  if (domain.startsWith('*')) {
    const suffix = domain.slice(1);
    return host.length > suffix.length && host.endsWith(suffix) ? domain.length : 0;
  }
  return 0;
}

/**
 * The best of a list of domains for a host, as the first of the highest domainScore in list order would be, without
 * scoring every domain: the exact one, else the longest `*suffix` the host ends with (each suffix of the host looked
 * up once, longest first), else `*`. Positions are each domain's first in the list. Thousands of Gateway servers or
 * VirtualService hosts were scored at every request.
 */
class DomainIndex {
  private readonly exact = new Map<string, number>();
  private readonly suffix = new Map<string, number>();
  private any = -1;
  add(domain: string, at: number): void {
    if (!this.exact.has(domain)) this.exact.set(domain, at);
    if (domain === '*') { if (this.any < 0) this.any = at; return; }
    if (domain.startsWith('*') && !this.suffix.has(domain.slice(1))) this.suffix.set(domain.slice(1), at);
  }
  /** The best score for `host` (0: none) and the first position holding a domain of that score. */
  best(host: string): { score: number; at: number } {
    const e = this.exact.get(host);
    if (e !== undefined) return { score: EXACT, at: e };
    for (let i = 1; i < host.length; i++) {
      const at = this.suffix.get(host.slice(i));
      if (at !== undefined) return { score: host.length - i + 1, at };
    }
    return this.any >= 0 ? { score: 1, at: this.any } : { score: 0, at: -1 };
  }
}

function intersect(serverHosts: readonly string[], vsHosts: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of serverHosts) {
    for (const v of vsHosts) {
      if (hostSubsetOf(v, s)) out.add(v);
      else if (hostSubsetOf(s, v)) out.add(s);
    }
  }
  return [...out];
}

/** A server host without its namespace part (`ns/`, `./`, `*\/`), lower case. */
export function stripNs(host: string): string {
  const slash = host.indexOf('/');
  return (slash < 0 ? host : host.slice(slash + 1)).toLowerCase();
}

/** Server hosts that apply to VirtualServices of `vsNamespace` (host.NamesForNamespace). */
function serverHostsFor(server: GatewayServer, vsNamespace: string, gatewayNamespace: string): string[] {
  const out: string[] = [];
  for (const h of server.hosts) {
    const slash = h.indexOf('/');
    if (slash < 0) { out.push(h.toLowerCase()); continue; }
    let ns = h.slice(0, slash);
    if (ns === '.') ns = gatewayNamespace;
    if (ns === '*' || ns === vsNamespace) out.push(h.slice(slash + 1).toLowerCase());
  }
  return out;
}

function gatewayId(g: Gateway): string {
  return idOf(g.meta);
}

/** The VirtualService is bound to `gateway` (`mesh` or `ns/name`). */
export function vsBoundTo(vs: VirtualService, gateway: string): boolean {
  const list = vs.gateways.length === 0 ? ['mesh'] : vs.gateways;
  return list.some((g) => resolveGatewayName(g, vs.meta.namespace) === gateway);
}

/** The VirtualService is exported to proxies of `namespace`. */
export function vsVisibleTo(vs: VirtualService, namespace: string): boolean {
  if (vs.exportTo.length === 0) return true;
  return vs.exportTo.some((e) => e === '*' || e === namespace || (e === '.' && vs.meta.namespace === namespace));
}

/**
 * The rank of a VirtualService for the proxies of `namespace` (Istio's virtualServiceIndex, which
 * VirtualServicesForGateway and SelectVirtualServices read private, then exported by name, then public): 0 private
 * to the namespace (its own, exported to `.` or by name, not `*`), 1 exported to it by name from another namespace,
 * 2 public (no exportTo, or `*`). Age orders each rank; the first VirtualService of that order to claim a host has it.
 * Only meaningful for a VirtualService visible to the namespace (vsVisibleTo).
 */
export function vsRank(vs: VirtualService, namespace: string): number {
  if (vs.exportTo.length === 0 || vs.exportTo.includes('*')) return 2;
  return vs.meta.namespace === namespace ? 0 : 1;
}

/** Stable: age order (the input's) within each rank. */
function byRank(vss: VirtualService[], namespace: string): VirtualService[] {
  return vss.sort((a, b) => vsRank(a, namespace) - vsRank(b, namespace));
}

/** Request host forms a sidecar matches: `name`, `name.ns`, `name.ns.svc` stand for `….svc.cluster.local`. */
function meshHostForms(host: string, clientNs: string): string[] {
  const out = [host];
  const dots = host.split('.').length - 1;
  if (dots === 0) out.push(`${host}.${clientNs}.svc.cluster.local`);
  else if (dots === 1) out.push(`${host}.svc.cluster.local`);
  else if (host.endsWith('.svc')) out.push(`${host}.cluster.local`);
  return out;
}

function normalizeHost(host: string): string {
  let h = host.toLowerCase();
  if (!h.startsWith('[')) {
    const colon = h.lastIndexOf(':');
    if (colon >= 0 && /^\d+$/.test(h.slice(colon + 1))) h = h.slice(0, colon);
  }
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

function sourceFits(m: { sourceLabels?: Labels; sourceNamespace?: string; gateways?: string[] }, vsNs: string,
  gatewayNames: ReadonlySet<string>, labels: Labels | undefined, proxyNs: string): boolean {
  if (m.gateways && m.gateways.length > 0) return m.gateways.some((g) => gatewayNames.has(resolveGatewayName(g, vsNs)));
  if (m.sourceLabels && !selectorMatches(m.sourceLabels, labels ?? {})) return false;
  return m.sourceNamespace === undefined || m.sourceNamespace === proxyNs;
}

function destinationOf(rd: RouteDestination, vsNs: string): RoutedDestination {
  const out: RoutedDestination = { host: qualify(rd.destination.host, vsNs) };
  if (rd.destination.port) out.port = rd.destination.port.number;
  if (rd.destination.subset !== undefined) out.subset = rd.destination.subset;
  return out;
}

/**
 * A weighted draw: a seeded number in [0, 1) that picks among weighted choices (route destinations, ServiceEntry
 * endpoints) by their cumulative weights. It may carry `among`, which is given the weights and answers the index
 * itself: `meshrange request` enumerates every choice with it, one under 1 % of the weight included
 * (api/request.ts decideEveryEndpoint). chooseDestination and decide.ts pickIndex ask `among` first.
 */
export type Draw = (() => number) & { readonly among?: (weights: readonly number[]) => number };

/** `among`'s answer over `weights` (Draw): the index it gave when it is one of theirs, else the first. */
export function drawnIndex(among: (weights: readonly number[]) => number, weights: readonly number[]): number {
  const i = among(weights);
  return Number.isInteger(i) && i >= 0 && i < weights.length ? i : 0;
}

/** One destination by weight; `pick` is drawn only when there is a real choice. */
function chooseDestination(list: readonly RouteDestination[], pick: Draw): RouteDestination | undefined {
  if (list.length <= 1) return list[0];
  const weighted = list.filter((d) => (d.weight ?? 0) > 0);
  if (weighted.length <= 1) return weighted[0] ?? list[0];
  if (pick.among) return weighted[drawnIndex(pick.among, weighted.map((d) => d.weight ?? 0))];
  const total = weighted.reduce((s, d) => s + (d.weight ?? 0), 0);
  const x = pick() * total;
  let acc = 0;
  for (const d of weighted) {
    acc += d.weight ?? 0;
    if (x < acc) return d;
  }
  return weighted[weighted.length - 1];
}

/* ------------------------------------------------------------- gateways -- */

/**
 * Per Gateway list: each gateway pod's Gateways (gatewaysFor), made once, and one array per set of Gateways, so that
 * the replicas of a gateway share its server and route tables (selectServer, virtualHosts).
 */
const gatewaysByList = new WeakMap<readonly Gateway[], { byPod: WeakMap<Workload, Gateway[]>; bySet: Map<string, Gateway[]> }>();

/** §9 Gateways whose selector matches the gateway pod's labels (any namespace), oldest first. Do not change the answer: it is shared. */
export function gatewaysFor(gateways: readonly Gateway[], gw: Workload): Gateway[] {
  let known = gatewaysByList.get(gateways);
  if (known === undefined) { known = { byPod: new WeakMap(), bySet: new Map() }; gatewaysByList.set(gateways, known); }
  let out = known.byPod.get(gw);
  if (out === undefined) {
    const at: number[] = [];
    gateways.forEach((g, i) => { if (selectorMatches(g.selector, gw.labels)) at.push(i); });
    const key = at.join(',');
    out = known.bySet.get(key);
    if (out === undefined) {
      out = at.map((i) => gateways[i] as Gateway).sort(byAge);
      known.bySet.set(key, out);
    }
    known.byPod.set(gw, out);
  }
  return out;
}

export function serverMode(server: GatewayServer): ServerMode {
  const p = server.port.protocol.toUpperCase();
  if (HTTP_PROTOCOLS.includes(p)) return 'http';
  const mode = server.tls?.mode ?? 'PASSTHROUGH';
  const passthrough = mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH';
  const kind = mode === 'AUTO_PASSTHROUGH' ? 'auto-passthrough' : 'tls-passthrough';
  if (p === 'HTTPS') return passthrough ? kind : 'https';
  if (p === 'TLS') return passthrough ? kind : 'tls-terminate';
  return 'tcp';
}

/** The servers of a Gateway list on one port, oldest Gateway first, indexed by their hosts (namespace part dropped). */
interface PortServers {
  onPort: ServerMatch[];
  index: DomainIndex;
  /** the plain HTTP servers: one route table, whichever of them takes the request */
  http: ServerMatch[];
  /** `[server]` per position, for a server with a route table of its own */
  alone: ServerMatch[][];
}

const serversByList = new WeakMap<readonly Gateway[], Map<string, PortServers>>();

function portServers(gateways: readonly Gateway[], port: { servicePort: number; targetPort: number }): PortServers {
  let byPort = serversByList.get(gateways);
  if (byPort === undefined) { byPort = new Map(); serversByList.set(gateways, byPort); }
  const key = `${port.servicePort}|${port.targetPort}`;
  let t = byPort.get(key);
  if (t === undefined) {
    const onPort: ServerMatch[] = [];
    // Istio's merge of the servers of one port (mergeGateways), oldest Gateway first: a server with TLS settings
    // repeating a host of an earlier one (same bind) is dropped whole; after a plaintext server, only HTTP servers of
    // the same bind join (canMergeProtocols): an HTTPS or TCP one is dropped
    const tlsHosts = new Set<string>();
    let firstPlain: { protocol: string; bind: string } | null = null;
    let seen = false;
    for (const gateway of [...gateways].sort(byAge)) {
      gateway.servers.forEach((server, index) => {
        if (server.port.number !== port.servicePort && server.port.number !== port.targetPort) return;
        const bind = server.bind ?? '';
        if (server.tls !== undefined) {
          const keys = server.hosts.map((h) => `${h}\u0000${bind}`);
          if (keys.some((k) => tlsHosts.has(k))) return;
          for (const k of keys) tlsHosts.add(k);
        }
        const protocol = server.port.protocol.toUpperCase();
        const http = HTTP_PROTOCOLS.includes(protocol);
        if (seen) {
          if (firstPlain !== null && firstPlain.bind === bind && !(http && HTTP_PROTOCOLS.includes(firstPlain.protocol))) return;
        } else {
          seen = true;
          if (server.tls === undefined || http) firstPlain = { protocol, bind };
        }
        onPort.push({ gateway, server, index });
      });
    }
    const index = new DomainIndex();
    onPort.forEach((m, at) => { for (const h of m.server.hosts) index.add(stripNs(h), at); });
    t = { onPort, index, http: onPort.filter((m) => serverMode(m.server) === 'http'), alone: [] };
    byPort.set(key, t);
  }
  return t;
}

/**
 * §9 The server that takes a connection on `port` for `hostOrSni` (request
 * host for plain HTTP, SNI for TLS; '' = none), or null (404 NR / no filter chain):
 * the first of the servers on the port (oldest Gateway first) with the best host match.
 */
export function selectServer(gateways: readonly Gateway[], port: { servicePort: number; targetPort: number }, hostOrSni: string): ServerSelection | null {
  const t = portServers(gateways, port);
  const { score, at } = t.index.best(normalizeHost(hostOrSni));
  const chosen = score > 0 ? t.onPort[at] : undefined;
  if (chosen === undefined) return null;
  const routeServers = serverMode(chosen.server) === 'http' ? t.http : (t.alone[at] ??= [chosen]);
  return { ...chosen, routeServers };
}

/** One SNI filter chain of a TLS port (§9): a terminating server's host, or a PASSTHROUGH tls route's sniHost. */
export interface TlsChain {
  /** the server name it matches; `*`: none (a catch-all chain) */
  sni: string;
  server: ServerMatch;
  /** `[server]`, one array per server (the route-table caches are keyed by it) */
  routeServers: ServerMatch[];
  /** PASSTHROUGH: the VirtualService tls route whose match made the chain */
  vs?: VirtualService;
  route?: number;
}

const tlsChainsByList = new WeakMap<readonly Gateway[], WeakMap<readonly VirtualService[], Map<string, TlsChain[]>>>();

/**
 * §9 The SNI filter chains of a gateway port (Istio's gateway listener): a TLS-terminating server (HTTPS, or TLS with
 * SIMPLE/MUTUAL/OPTIONAL_MUTUAL/ISTIO_MUTUAL) has one per server host; a PASSTHROUGH server one per `sniHosts` of
 * the tls routes of the VirtualServices bound to it whose hosts overlap its hosts (pickMatchingGatewayHosts) — the
 * sniHosts as written, not narrowed to the server's hosts (buildGatewayNetworkFiltersFromTLSRoutes), a repeated one
 * dropped within a server. AUTO_PASSTHROUGH chains are autoPassthroughServer's. Servers in merge order.
 */
export function tlsChains(gateways: readonly Gateway[], vss: readonly VirtualService[], port: { servicePort: number; targetPort: number }, gatewayNamespace: string): TlsChain[] {
  let byVs = tlsChainsByList.get(gateways);
  if (byVs === undefined) { byVs = new WeakMap(); tlsChainsByList.set(gateways, byVs); }
  let byPort = byVs.get(vss);
  if (byPort === undefined) { byPort = new Map(); byVs.set(vss, byPort); }
  const key = `${port.servicePort}|${port.targetPort}|${gatewayNamespace}`;
  let out = byPort.get(key);
  if (out !== undefined) return out;
  out = [];
  const t = portServers(gateways, port);
  /** PASSTHROUGH sniHosts already given a chain on this port, with their bind (Istio's tlsHostsByPort, per listener port) */
  const taken = new Map<string, string>();
  t.onPort.forEach((m, at) => {
    const mode = serverMode(m.server);
    const routeServers = (t.alone[at] ??= [m]);
    // a `*` among the names leaves the chain without server names: it takes any SNI, as the last resort
    const push = (names: readonly string[], extra: { vs?: VirtualService; route?: number } = {}): void => {
      if (names.includes('*')) out?.push({ sni: '*', server: m, routeServers, ...extra });
      else for (const n of names) out?.push({ sni: n, server: m, routeServers, ...extra });
    };
    // a TLS-terminating TCP server, and a plain TCP one, have a chain only when a tcp route of a bound VirtualService
    // fits them (createGatewayTCPFilterChainOpts builds none otherwise); an HTTPS server always has its chain
    const tcpRouted = (): boolean => routeTcp(vss, { gateway: gatewayId(m.gateway), gatewayNamespace, port: m.server.port.number, servers: routeServers }).kind === 'route';
    if (mode === 'https') push(m.server.hosts.map(stripNs));
    else if (mode === 'tls-terminate') { if (tcpRouted()) push(m.server.hosts.map(stripNs)); }
    else if (mode === 'tcp') { if (tcpRouted()) push(['*']); } // a plain TCP server: no SNI match at all
    else if (mode === 'tls-passthrough') {
      const through = gatewayId(m.gateway);
      const bind = m.server.bind ?? '';
      for (const vs of visibleTo(vss, gatewayNamespace)) {
        if (vs.tls.length === 0 || !vsBoundTo(vs, through)) continue;
        const vsHosts = vs.hosts.map((h) => qualify(h, vs.meta.namespace));
        if (intersect(serverHostsFor(m.server, vs.meta.namespace, m.gateway.meta.namespace), vsHosts).length === 0) continue;
        vs.tls.forEach((route, i) => {
          for (const match of route.match) {
            if (!l4Fits(match, vs, through, m.server.port.number, undefined, gatewayNamespace)) continue;
            // sniHosts as written (Istio does not qualify them); a match repeating a name of the same bind is dropped whole
            const snis = match.sniHosts.map((h) => normalizeHost(h));
            if (snis.some((h) => taken.get(h) === bind)) continue;
            for (const h of snis) taken.set(h, bind);
            push(snis, { vs, route: i });
          }
        });
      }
    }
  });
  byPort.set(key, out);
  return out;
}

/**
 * §9 The chain Envoy picks for `sni` among a port's (tlsChains): the most specific server name, the first of a tie, a
 * chain without server names (`*`) last; null when none — Envoy then resets the connection.
 */
export function selectTlsChain(chains: readonly TlsChain[], sni: string): TlsChain | null {
  const host = normalizeHost(sni);
  let best: TlsChain | null = null;
  let score = 0;
  for (const c of chains) {
    const sc = c.sni === '*' ? 1 : domainScore(c.sni, host);
    if (sc > score) { score = sc; best = c; }
  }
  return best;
}

/** §9 The destination of a PASSTHROUGH chain's tls route. */
export function routeTlsChain(chain: TlsChain & { vs: VirtualService; route: number }, pick: Draw = () => 0): L4RouteResult {
  const route = chain.vs.tls[chain.route];
  const chosen = route ? chooseDestination(route.route, pick) : undefined;
  if (!chosen) return { kind: 'no-route', reason: `tls route ${chain.route} of VirtualService ${idOf(chain.vs.meta)} has no destination` };
  return { kind: 'route', vs: idOf(chain.vs.meta), route: chain.route, destination: destinationOf(chosen, chain.vs.meta.namespace) };
}

/**
 * §9 AUTO_PASSTHROUGH: the cluster an SNI names, `outbound_.<port>_.<subset>_.<host>` (model.BuildDNSSrvSubsetKey;
 * `_._` is no subset), or null when the SNI is not of that form. Read by index, no regex: the SNI is the client's.
 */
export function parseClusterSni(raw: string): { port: number; subset: string; host: string } | null {
  const PREFIX = 'outbound_.';
  // a server name is at most 253 characters; Envoy compares it lower-cased, and the chain's name exactly
  if (raw.length > 253) return null;
  const sni = raw.toLowerCase();
  if (!sni.startsWith(PREFIX)) return null;
  const rest = sni.slice(PREFIX.length);
  const a = rest.indexOf('_.');
  if (a <= 0 || a > 5) return null;
  const digits = rest.slice(0, a);
  if (digits.charCodeAt(0) === 48) return null; // the cluster name writes the port without leading zeros
  for (let i = 0; i < digits.length; i++) { const c = digits.charCodeAt(i); if (c < 48 || c > 57) return null; }
  const port = Number(digits);
  if (port < 1 || port > 65535) return null;
  const b = rest.indexOf('_.', a + 2);
  if (b < 0) return null;
  const host = rest.slice(b + 2);
  if (host.length === 0) return null;
  return { port, subset: rest.slice(a + 2, b), host };
}

/**
 * §9 The AUTO_PASSTHROUGH server on `port` whose filter chains include the cluster of `host`
 * (builtAutoPassthroughFilterChains: one chain per Service of the gateway's scope whose hostname is a subset of a
 * server host, SNI = the cluster name, Istio's mTLS ALPNs only), oldest Gateway first; null when none.
 */
export function autoPassthroughServer(gateways: readonly Gateway[], port: { servicePort: number; targetPort: number }, host: string): ServerSelection | null {
  const t = portServers(gateways, port);
  for (const m of t.onPort) {
    if (serverMode(m.server) !== 'auto-passthrough') continue;
    if (m.server.hosts.some((h) => hostSubsetOf(host, stripNs(h)))) return { ...m, routeServers: [m] };
  }
  return null;
}

/** A server host as mergeGateways keeps it: `*\/x` → `x`, `./x` → `<gateway namespace>/x`, lower-cased. */
function sanitizedHost(h: string, gatewayNamespace: string): string {
  const l = h.toLowerCase();
  if (l.startsWith('*/')) return l.slice(2);
  if (l.startsWith('./')) return `${gatewayNamespace.toLowerCase()}/${l.slice(2)}`;
  return l;
}

/** A plain-HTTP route table's virtual hosts and whether each requires TLS (httpsRedirect). */
interface RedirectTable { index: DomainIndex; domains: string[]; requireTls: boolean[] }

const redirectTables = new WeakMap<readonly VirtualService[], WeakMap<readonly ServerMatch[], Map<string, RedirectTable>>>();

function redirectTable(vss: readonly VirtualService[], servers: readonly ServerMatch[], gatewayNamespace: string): RedirectTable {
  let byServers = redirectTables.get(vss);
  if (byServers === undefined) { byServers = new WeakMap(); redirectTables.set(vss, byServers); }
  let byNs = byServers.get(servers);
  if (byNs === undefined) { byNs = new Map(); byServers.set(servers, byNs); }
  let t = byNs.get(gatewayNamespace);
  if (t !== undefined) return t;
  const at = new Map<string, number>();
  const domains: string[] = [];
  const requireTls: boolean[] = [];
  const vhost = (d: string, redirect: boolean): void => {
    let i = at.get(d);
    if (i === undefined) { i = domains.length; at.set(d, i); domains.push(d); requireTls.push(false); }
    if (redirect) requireTls[i] = true;
  };
  for (const s of servers) {
    const redirect = s.server.tls?.httpsRedirect === true;
    const gw = gatewayId(s.gateway);
    for (const vs of visibleTo(vss, gatewayNamespace)) {
      if (!vsBoundTo(vs, gw)) continue;
      for (const d of intersect(serverHostsFor(s.server, vs.meta.namespace, s.gateway.meta.namespace), vs.hosts.map((h) => qualify(h, vs.meta.namespace)))) vhost(d, redirect);
    }
    // a redirecting server's hosts as written: the virtual host of that name requires TLS, or one is made that only
    // redirects (a `ns/host` entry names no Host a request carries, as in Istio)
    if (redirect) for (const h of s.server.hosts) vhost(sanitizedHost(h, s.gateway.meta.namespace), true);
  }
  const index = new DomainIndex();
  domains.forEach((d, i) => index.add(d, i));
  t = { index, domains, requireTls };
  byNs.set(gatewayNamespace, t);
  return t;
}

/**
 * §9 `tls.httpsRedirect`: the plain-HTTP route table's virtual host for `host` requires TLS (Istio's gateway route
 * config: every virtual host a redirecting server contributes — its hosts meeting a bound VirtualService's — and one
 * per server host, routes or not), whichever server of the port the host falls under: a 301 to https, answered by the
 * router. Null when the virtual host Envoy picks does not require it, or there is none.
 */
export function httpsRedirect(vss: readonly VirtualService[], servers: readonly ServerMatch[], gatewayNamespace: string, host: string, path: string): { kind: 'redirect'; status: 301; location: string } | null {
  if (!servers.some((s) => s.server.tls?.httpsRedirect === true)) return null;
  const t = redirectTable(vss, servers, gatewayNamespace);
  const { score, at } = t.index.best(normalizeHost(host));
  if (score === 0 || t.requireTls[at] !== true) return null;
  return { kind: 'redirect', status: 301, location: `https://${host}${path.startsWith('/') ? path : `/${path}`}` };
}

/* ---------------------------------------------------------- virtual hosts -- */

interface Binding {
  vs: VirtualService;
  /** gateway name the VS was bound through (`mesh` or `ns/name`) */
  through: string;
  domain: string;
}

/** Every VirtualService of a list, oldest first: once per list. Do not change the answer. */
const sortedByList = new WeakMap<readonly VirtualService[], VirtualService[]>();

function oldestFirst(vss: readonly VirtualService[]): VirtualService[] {
  let out = sortedByList.get(vss);
  if (out === undefined) { out = [...vss].sort(byAge); sortedByList.set(vss, out); }
  return out;
}

/**
 * The VirtualServices exported to a namespace, by rank then age (vsRank): once per (list, namespace). For gateway pods only (a
 * few namespaces): a sidecar's routing reads the mesh-wide tables below and checks exportTo on what it finds, so
 * that 2,000 namespaces do not each hold a copy of thousands of VirtualServices. Do not change the answer.
 */
const visibleByList = new WeakMap<readonly VirtualService[], Map<string, VirtualService[]>>();
const VISIBLE_KEPT = 64;

function visibleTo(vss: readonly VirtualService[], namespace: string): VirtualService[] {
  let byNs = visibleByList.get(vss);
  if (byNs === undefined) { byNs = new Map(); visibleByList.set(vss, byNs); }
  let out = byNs.get(namespace);
  if (out === undefined) {
    out = byRank(oldestFirst(vss).filter((vs) => vsVisibleTo(vs, namespace)), namespace);
    // kept for the first VISIBLE_KEPT namespaces asked (gateway pods' namespaces: a few); past that, made per call
    if (byNs.size < VISIBLE_KEPT) byNs.set(namespace, out);
  }
  return out;
}

/**
 * For a sidecar's L4 routing: the VirtualServices bound to the mesh with `tcp` (or `tls`) routes, oldest first, and
 * their hosts (`tcp`: the VirtualService's; `tls`: the match sniHosts), qualified, to their positions. One per list
 * and kind, whatever the namespace: exportTo is checked on the candidates.
 */
interface MeshL4 {
  list: VirtualService[];
  exact: Map<string, number[]>;
  suffix: Map<string, number[]>;
  any: number[];
}

const meshL4ByList = new WeakMap<readonly VirtualService[], Map<string, MeshL4>>();

function meshL4(vss: readonly VirtualService[], kind: 'tcp' | 'tls'): MeshL4 {
  let byKey = meshL4ByList.get(vss);
  if (byKey === undefined) { byKey = new Map(); meshL4ByList.set(vss, byKey); }
  let t = byKey.get(kind);
  if (t === undefined) {
    const built: MeshL4 = { list: oldestFirst(vss).filter((vs) => vsBoundTo(vs, 'mesh') && vs[kind].length > 0), exact: new Map(), suffix: new Map(), any: [] };
    const file = (m: Map<string, number[]>, k: string, at: number): void => {
      const l = m.get(k);
      if (l === undefined) m.set(k, [at]); else if (l[l.length - 1] !== at) l.push(at);
    };
    built.list.forEach((vs, at) => {
      const hosts = kind === 'tcp' ? vs.hosts : vs.tls.flatMap((r) => (r.match ?? []).flatMap((m) => m.sniHosts));
      for (const h of hosts) {
        const d = qualify(h, vs.meta.namespace);
        file(built.exact, d, at);
        if (d === '*') { if (built.any[built.any.length - 1] !== at) built.any.push(at); } else if (d.startsWith('*')) file(built.suffix, d.slice(1), at);
      }
    });
    t = built;
    byKey.set(kind, t);
  }
  return t;
}

/**
 * The VirtualServices of `t` exported to `namespace` with a host of domainScore > 0 for one of `forms` (equal, `*`,
 * or a `*suffix` the form ends with, shorter than it), by rank then age: the only ones a sidecar's L4 routing can
 * bind. Thousands of VirtualServices with tcp routes were checked host by host at every connection.
 */
function meshL4Candidates(t: MeshL4, forms: readonly string[], namespace: string): VirtualService[] {
  const at = new Set<number>(t.any);
  for (const f of forms) {
    for (const i of t.exact.get(f) ?? []) at.add(i);
    if (t.suffix.size > 0) for (let i = 1; i < f.length; i++) for (const k of t.suffix.get(f.slice(i)) ?? []) at.add(k);
  }
  return byRank([...at].sort((a, b) => a - b).map((i) => t.list[i] as VirtualService).filter((vs) => vsVisibleTo(vs, namespace)), namespace);
}

/** VirtualServices visible to the proxy and bound to the routing gateway(s), with their virtual-host domains. */
function bindings(vss: readonly VirtualService[], ctx: { gateway: string; gatewayNamespace: string; servers?: readonly ServerMatch[] }): Binding[] {
  const visible = visibleTo(vss, ctx.gatewayNamespace);
  const out: Binding[] = [];
  const seen = new Set<string>();
  const add = (b: Binding): void => {
    const key = `${idOf(b.vs.meta)}|${b.through}|${b.domain}`;
    if (!seen.has(key)) { seen.add(key); out.push(b); }
  };
  if (ctx.gateway !== 'mesh' && ctx.servers && ctx.servers.length > 0) {
    for (const s of ctx.servers) {
      const gw = gatewayId(s.gateway);
      for (const vs of visible) {
        if (!vsBoundTo(vs, gw)) continue;
        const hosts = intersect(serverHostsFor(s.server, vs.meta.namespace, s.gateway.meta.namespace), vs.hosts.map((h) => qualify(h, vs.meta.namespace)));
        for (const domain of hosts) add({ vs, through: gw, domain });
      }
    }
    return out;
  }
  for (const vs of visible) {
    if (!vsBoundTo(vs, ctx.gateway)) continue;
    for (const h of vs.hosts) add({ vs, through: ctx.gateway, domain: qualify(h, vs.meta.namespace) });
  }
  return out;
}

/** A route table's bindings, indexed by domain. */
interface VirtualHosts {
  all: Binding[];
  index: DomainIndex;
  byDomain: Map<string, Binding[]>;
}

/**
 * A gateway's bindings(), made once per (VirtualService list, route table): the table is the servers sharing it
 * (selectServer's routeServers, one array per table) and the gateway pod's namespace, or the gateway's name and
 * namespace when no server is given. (A sidecar reads the mesh-wide MeshHosts instead.) Thousands of VirtualServices
 * were filtered, sorted and bound at every request.
 */
const tablesByList = new WeakMap<readonly VirtualService[], { named: Map<string, VirtualHosts>; served: WeakMap<readonly ServerMatch[], Map<string, VirtualHosts>> }>();

function virtualHosts(vss: readonly VirtualService[], ctx: { gateway: string; gatewayNamespace: string; servers?: readonly ServerMatch[] }): VirtualHosts {
  let tables = tablesByList.get(vss);
  if (tables === undefined) { tables = { named: new Map(), served: new WeakMap() }; tablesByList.set(vss, tables); }
  let byNs: Map<string, VirtualHosts> | undefined;
  let key: string;
  if (ctx.gateway !== 'mesh' && ctx.servers && ctx.servers.length > 0) {
    byNs = tables.served.get(ctx.servers);
    if (byNs === undefined) { byNs = new Map(); tables.served.set(ctx.servers, byNs); }
    key = ctx.gatewayNamespace;
  } else {
    byNs = tables.named;
    key = `${ctx.gateway}\n${ctx.gatewayNamespace}`;
  }
  let t = byNs.get(key);
  if (t === undefined) {
    const all = bindings(vss, ctx);
    const index = new DomainIndex();
    const byDomain = new Map<string, Binding[]>();
    all.forEach((b, at) => {
      index.add(b.domain, at);
      const list = byDomain.get(b.domain);
      if (list === undefined) byDomain.set(b.domain, [b]); else list.push(b);
    });
    t = { all, index, byDomain };
    byNs.set(key, t);
  }
  return t;
}

/**
 * A sidecar's virtual hosts, mesh-wide: every VirtualService bound to the mesh, oldest first, with each of its hosts
 * qualified (its own namespace), by domain. One per list whatever the client's namespace: exportTo is checked on the
 * bindings a lookup finds (`first` keeps, per namespace and domain asked, the exported ones in claim order).
 */
interface MeshHosts {
  all: Binding[];
  byDomain: Map<string, number[]>;
  first: Map<string, readonly number[]>;
}

const meshHostsByList = new WeakMap<readonly VirtualService[], MeshHosts>();

function meshHosts(vss: readonly VirtualService[]): MeshHosts {
  let t = meshHostsByList.get(vss);
  if (t === undefined) {
    const all: Binding[] = [];
    const byDomain = new Map<string, number[]>();
    for (const vs of oldestFirst(vss)) {
      if (!vsBoundTo(vs, 'mesh')) continue;
      const own = new Set<string>();
      for (const h of vs.hosts) {
        const domain = qualify(h, vs.meta.namespace);
        if (own.has(domain)) continue;
        own.add(domain);
        const at = all.length;
        all.push({ vs, through: 'mesh', domain });
        const l = byDomain.get(domain);
        if (l === undefined) byDomain.set(domain, [at]); else l.push(at);
      }
    }
    t = { all, byDomain, first: new Map() };
    meshHostsByList.set(vss, t);
  }
  return t;
}

/** Bindings of one domain read at each lookup; past this many, the answer is kept per (namespace, domain). */
const FIRST_SCAN = 8;
/** At most this many kept answers per table: past it, long lists are read again. */
const MAX_FIRST_KEPT = 65_536;

/**
 * The bindings of `domain` whose VirtualService is exported to `namespace`, by rank then age (vsRank), each as
 * rank × 2^32 + position: the order in which they claim the domain.
 */
function exportedOrder(t: MeshHosts, domain: string, namespace: string): readonly number[] {
  const at = t.byDomain.get(domain);
  if (at === undefined) return NO_POSITIONS;
  const make = (): number[] => {
    const out: number[] = [];
    for (const i of at) {
      const vs = (t.all[i] as Binding).vs;
      if (vsVisibleTo(vs, namespace)) out.push(vsRank(vs, namespace) * RANK_STEP + i);
    }
    return out.sort((a, b) => a - b);
  };
  if (at.length <= FIRST_SCAN) return make();
  const key = `${namespace}\n${domain}`;
  let p = t.first.get(key);
  if (p === undefined) {
    p = make();
    if (t.first.size < MAX_FIRST_KEPT) t.first.set(key, p);
  }
  return p;
}

const NO_POSITIONS: readonly number[] = [];
/** rank × RANK_STEP + position orders by rank, then position (positions are array indexes, below 2^32) */
const RANK_STEP = 2 ** 32;

/**
 * A sidecar's virtual host for a request host (its `forms`): the first binding, by rank then age, exported to
 * `namespace` and `usable` (its VirtualService keeps a route for this proxy: one whose every route Istio prunes —
 * sourceLabels, sourceNamespace, gateways, port — makes no virtual host and claims nothing, BuildHTTPRoutesForVirtualService),
 * of the domain with the highest domainScore over the forms (for each form: itself, then `*suffix` from the longest,
 * then `*`; ties between forms to the earlier binding). [] when none.
 */
function meshVirtualHost(t: MeshHosts, forms: readonly string[], namespace: string, usable: (b: Binding) => boolean): readonly Binding[] {
  let best = 0;
  let at = -1;
  const first = (domain: string): number => {
    for (const k of exportedOrder(t, domain, namespace)) if (usable(t.all[k % RANK_STEP] as Binding)) return k;
    return -1;
  };
  for (const f of forms) {
    let score = 0;
    let pos = first(f);
    if (pos >= 0) score = EXACT;
    for (let i = 1; score === 0 && i < f.length; i++) {
      pos = first(`*${f.slice(i)}`);
      if (pos >= 0) score = f.length - i + 1;
    }
    if (score === 0) { pos = first('*'); if (pos >= 0) score = 1; }
    if (score > best || (score === best && score > 0 && pos < at)) { best = score; at = pos; }
  }
  const b = at < 0 ? undefined : t.all[at % RANK_STEP];
  return best === 0 || b === undefined ? [] : [b];
}

/**
 * The bindings of the best virtual host for `host` (any of its `forms`), or [] when none matches: the domain of the
 * first binding with the highest domainScore over the forms. Do not change the answer: it is shared.
 */
function bestVirtualHost(t: VirtualHosts, forms: readonly string[]): readonly Binding[] {
  let best = 0;
  let at = -1;
  for (const f of forms) {
    const r = t.index.best(f);
    if (r.score > best || (r.score === best && r.score > 0 && r.at < at)) { best = r.score; at = r.at; }
  }
  const first = t.all[at];
  return best === 0 || first === undefined ? [] : (t.byDomain.get(first.domain) ?? []);
}

/* ---------------------------------------------------------------- HTTP -- */

interface RequestView {
  pathOnly: string;
  fullPath: string;
  query: Map<string, string>;
  headers: Map<string, string>;
}

function viewOf(ctx: HttpRouteContext, host: string): RequestView {
  // the connection manager drops a #fragment before routing (Istio turns http_reject_path_with_fragment off)
  const hash = ctx.path.indexOf('#');
  const raw = hash >= 0 ? ctx.path.slice(0, hash) : ctx.path;
  const full = raw === '' ? '/' : raw;
  const q = full.indexOf('?');
  const pathOnly = q < 0 ? full : full.slice(0, q);
  const query = new Map<string, string>();
  if (q >= 0) {
    for (const part of full.slice(q + 1).split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      // as Envoy's route matcher parses them (parseQueryString): names and values as sent, not %-decoded
      const k = eq < 0 ? part : part.slice(0, eq);
      if (!query.has(k)) query.set(k, eq < 0 ? '' : part.slice(eq + 1));
    }
  }
  const headers = new Map<string, string>();
  for (const [k, v] of Object.entries(ctx.headers)) headers.set(k.toLowerCase(), v);
  // :authority is the Host the client sent, port and case kept (the virtual host was picked without the port; a
  // route's `authority` match reads the header as it is); without one, the host routed on
  headers.set(':authority', headers.get('host') ?? ctx.authority ?? host);
  if (!headers.has('host')) headers.set('host', host);
  headers.set(':method', ctx.method);
  headers.set(':path', full);
  headers.set(':scheme', ctx.tls ? 'https' : 'http');
  return { pathOnly, fullPath: full, query, headers };
}

function stringMatches(sm: StringMatch, value: string | undefined, ignoreCase = false): boolean {
  if ('present' in sm) return value !== undefined;
  if (value === undefined) return false;
  if ('regex' in sm) {
    const re = compileRe2(sm.regex);
    return typeof re !== 'string' && re.matches(value);
  }
  const v = ignoreCase ? value.toLowerCase() : value;
  if ('exact' in sm) return v === (ignoreCase ? sm.exact.toLowerCase() : sm.exact);
  return v.startsWith(ignoreCase ? sm.prefix.toLowerCase() : sm.prefix);
}

function uriMatches(sm: StringMatch, req: RequestView, ignoreCase: boolean): boolean {
  if ('present' in sm) return true;
  if ('regex' in sm) return stringMatches(sm, req.pathOnly);
  if ('exact' in sm) return stringMatches(sm, req.pathOnly, ignoreCase);
  return stringMatches(sm, req.fullPath, ignoreCase);
}

function httpMatches(m: HttpMatch, req: RequestView): boolean {
  if (m.uri && !uriMatches(m.uri, req, m.ignoreUriCase === true)) return false;
  if (m.method && !stringMatches(m.method, req.headers.get(':method'))) return false;
  if (m.authority && !stringMatches(m.authority, req.headers.get(':authority'))) return false;
  if (m.scheme && !stringMatches(m.scheme, req.headers.get(':scheme'))) return false;
  for (const [name, sm] of Object.entries(m.headers ?? {})) {
    if (name.startsWith('@request.auth.claims')) return false;
    // names are kept as written; Envoy's header matchers ignore their case (request names are lower-cased above)
    if (!stringMatches(sm, req.headers.get(name.toLowerCase()))) return false;
  }
  for (const [name, sm] of Object.entries(m.withoutHeaders ?? {})) {
    if (name.startsWith('@request.auth.claims')) return false;
    const v = req.headers.get(name.toLowerCase());
    if ('present' in sm ? v !== undefined : stringMatches(sm, v ?? '')) return false;
  }
  for (const [name, sm] of Object.entries(m.queryParams ?? {})) {
    if (!stringMatches(sm, req.query.get(name))) return false;
  }
  return true;
}

/** IsCatchAllRoute: uri absent, prefix `/` or regex `.*`, and nothing else to match. */
function isCatchAll(m: HttpMatch | null): boolean {
  if (m === null) return true;
  const uriAll = m.uri === undefined || 'present' in m.uri || ('prefix' in m.uri && m.uri.prefix === '/') || ('regex' in m.uri && m.uri.regex === '.*');
  return uriAll && !m.method && !m.authority && !m.scheme
    && Object.keys(m.headers ?? {}).length === 0 && Object.keys(m.withoutHeaders ?? {}).length === 0
    && Object.keys(m.queryParams ?? {}).length === 0;
}

interface FlatRoute {
  vs: VirtualService;
  index: number;
  matchIndex: number;
  match: HttpMatch | null;
  route: HttpRoute;
}

/** BuildHTTPRoutesForVirtualService: the proxy's routes for one VS, pruned by port, gateway and source. */
function flatten(vs: VirtualService, through: string, ctx: HttpRouteContext): FlatRoute[] {
  const out: FlatRoute[] = [];
  const names = new Set([through]);
  for (let i = 0; i < vs.http.length; i++) {
    const route = vs.http[i] as HttpRoute;
    let catchAll = false;
    if (!route.match || route.match.length === 0) {
      out.push({ vs, index: i, matchIndex: -1, match: null, route });
      catchAll = true;
    } else {
      for (let j = 0; j < route.match.length; j++) {
        const m = route.match[j] as HttpMatch;
        if (m.port !== undefined && m.port !== ctx.port) continue;
        if (!sourceFits(m, vs.meta.namespace, names, ctx.sourceLabels, ctx.gatewayNamespace)) continue;
        out.push({ vs, index: i, matchIndex: j, match: m, route });
        if (isCatchAll(m)) { catchAll = true; break; }
      }
    }
    if (catchAll) break;
  }
  return out;
}

/**
 * Bounds of a uriRegexRewrite's work (RE2::GlobalReplace, in re2js). A global replace looks for a match from every
 * position a match can start at, each look costing up to the regex's program size per character it reads, so the
 * work is at most program size × path length²: `(?:[a-y]{0,100}){10}z|` (program size 2005) over a 2,000-character
 * path is billions of steps, a minute in JavaScript. And `a*` inserts the rewrite at every position: a 100 KB
 * rewrite over a 2,000-character path is 200 MB. Past either bound the simulation stops with a located error.
 */
export const MAX_REWRITE_COST = 250_000_000;
/** Envoy's default max_request_headers_kb (60 KiB): a longer rewritten path is refused by the next hop anyway. */
export const MAX_REWRITTEN_PATH = 60 * 1024;

function rewritten(fr: FlatRoute, req: RequestView): { uri?: string; authority?: string } | undefined {
  const rw = fr.route.rewrite;
  if (!rw) return undefined;
  const out: { uri?: string; authority?: string } = {};
  if (rw.uriRegexRewrite) {
    const re = compileRe2(rw.uriRegexRewrite.match);
    if (typeof re !== 'string') {
      const where = `VirtualService ${fr.vs.meta.namespace}/${fr.vs.meta.name} http[${fr.index}] uriRegexRewrite`;
      const n = req.pathOnly.length;
      // A regex every match of which starts at the beginning of the path matches from position 0 only: one scan, not one per
      // position (RE2's start condition; `^x|y` is not anchored).
      const anchored = re.anchoredStart;
      if (re.programSize * n * (anchored ? 1 : n) > MAX_REWRITE_COST) {
        throw new SimulationLimitError(`${where}: the regex (RE2 program size ${re.programSize}) over a ${n}-character path is too costly to simulate (up to ${re.programSize} × ${n}${anchored ? '' : '²'} steps, over ${grouped(MAX_REWRITE_COST)})`,
          fr.vs.meta.loc, 'simplify the regex (fewer repetitions, no empty alternative) or send shorter paths');
      }
      const uri = re.replaceAll(req.pathOnly, rw.uriRegexRewrite.rewrite, MAX_REWRITTEN_PATH);
      if (uri === null) {
        throw new SimulationLimitError(`${where}: the rewritten path of a ${n}-character path would be over ${MAX_REWRITTEN_PATH / 1024} KiB (Envoy's request-header limit): meshrange does not simulate such paths`,
          fr.vs.meta.loc, 'a regex that matches the empty string inserts the rewrite at every position: anchor it (^…$) or make it match at least one character');
      }
      out.uri = uri + req.fullPath.slice(req.pathOnly.length);
    }
  } else if (rw.uri !== undefined) {
    const u = fr.match?.uri;
    let matched = 1;
    if (u && 'prefix' in u) matched = u.prefix.length;
    else if (u && ('exact' in u || 'regex' in u)) matched = req.pathOnly.length;
    out.uri = rw.uri + req.fullPath.slice(matched);
  }
  if (rw.authority !== undefined) out.authority = rw.authority;
  return out;
}

/** A host a request can carry for a VirtualService or server host: `*.x` as `www.x`, `*` as `www.example.com`, a `ns/` prefix dropped (assess/reach.ts, lint MR0123). */
export function concreteHost(h: string): string {
  const bare = h.includes('/') ? h.slice(h.indexOf('/') + 1) : h;
  if (bare === '*') return 'www.example.com';
  return bare.startsWith('*.') ? `www${bare.slice(1)}` : bare;
}

/** Whether a VirtualService host and a Gateway server host overlap, a `ns/` prefix ignored, leading `*.` wildcards (assess/reach.ts, lint MR0123). */
export function hostsMatch(a: string, b: string): boolean {
  const x = a.includes('/') ? a.slice(a.indexOf('/') + 1) : a;
  const y = b.includes('/') ? b.slice(b.indexOf('/') + 1) : b;
  if (x === '*' || y === '*') return true;
  if (x.startsWith('*.')) return y.endsWith(x.slice(1)) || (y.startsWith('*.') && (y.endsWith(x.slice(1)) || x.endsWith(y.slice(1))));
  if (y.startsWith('*.')) return x.endsWith(y.slice(1));
  return x === y;
}

/**
 * The path a route's rewrite turns `path` (no query) into, when the route took it through `match` (null: a route
 * without match): `rewritten` itself, for lint rules that ask what a route does to a path without routing a request.
 * Undefined when the route rewrites no path (or its regex does not compile). Throws SimulationLimitError as routing does.
 */
export function rewrittenPath(vs: VirtualService, index: number, match: HttpMatch | null, path: string): string | undefined {
  const route = vs.http[index];
  if (!route) return undefined;
  return rewritten({ vs, index, matchIndex: -1, match, route }, { pathOnly: path, fullPath: path, query: new Map(), headers: new Map() })?.uri;
}

function redirectLocation(fr: FlatRoute, req: RequestView, ctx: HttpRouteContext, host: string): string {
  const r = fr.route.redirect ?? {};
  const scheme = r.scheme ?? (ctx.tls ? 'https' : 'http');
  const authority = r.authority ?? host;
  let port = r.port ?? (r.derivePort === 'FROM_REQUEST_PORT' ? ctx.port : undefined);
  if ((port === 80 && scheme === 'http') || (port === 443 && scheme === 'https')) port = undefined;
  let path = req.fullPath;
  if (r.uri !== undefined) path = r.uri.includes('?') ? r.uri : r.uri + req.fullPath.slice(req.pathOnly.length);
  return `${scheme}://${authority}${port !== undefined ? `:${port}` : ''}${path}`;
}

/**
 * Route one HTTP request at a sidecar (`mesh`) or a gateway. `pick` draws
 * from the scenario's seeded stream in [0,1) for weighted destinations.
 */
export function routeHttp(vss: readonly VirtualService[], ctx: HttpRouteContext, pick: Draw): HttpRouteResult {
  const host = normalizeHost(ctx.host);
  const mesh = ctx.gateway === 'mesh';
  // a sidecar's candidates are flattened once: to skip those Istio prunes, then to route by the one that claims the host
  const flat = new Map<Binding, FlatRoute[]>();
  const flatOf = (b: Binding): FlatRoute[] => {
    let r = flat.get(b);
    if (r === undefined) { r = flatten(b.vs, b.through, ctx); flat.set(b, r); }
    return r;
  };
  const vhost = mesh
    ? meshVirtualHost(meshHosts(vss), meshHostForms(host, ctx.gatewayNamespace), ctx.gatewayNamespace, (b) => flatOf(b).length > 0)
    : bestVirtualHost(virtualHosts(vss, ctx), [host]);
  if (vhost.length === 0) {
    if (mesh) return { kind: 'default', reason: `no VirtualService bound to the mesh has host ${host}; the sidecar routes to the service itself` };
    return { kind: 'no-route', status: 404, flag: 'NR', reason: `no VirtualService bound to gateway ${ctx.gateway} has a host matching ${host}` };
  }
  const used = mesh ? vhost.slice(0, 1) : vhost;
  let routes: FlatRoute[] = [];
  const done = new Set<string>();
  for (const b of used) {
    const key = `${idOf(b.vs.meta)}|${b.through}`;
    if (done.has(key)) continue;
    done.add(key);
    routes = routes.concat(flatOf(b));
  }
  routes = [...routes.filter((r) => !isCatchAll(r.match)), ...routes.filter((r) => isCatchAll(r.match))];
  const req = viewOf(ctx, host);
  const hit = routes.find((r) => r.match === null || httpMatches(r.match, req));
  const vsNames = [...new Set(used.map((b) => idOf(b.vs.meta)))].join(', ');
  if (!hit) {
    return { kind: 'no-route', status: 404, flag: 'NR', reason: `no http route of VirtualService ${vsNames} matches ${ctx.method} ${ctx.path}` };
  }
  const vs = idOf(hit.vs.meta);
  const r = hit.route;
  const via = r.origin === undefined ? {} : { via: `http route ${r.origin.index} of delegate VirtualService ${r.origin.vs}, in place of route ${r.origin.root}` };
  if (r.redirect) {
    return { kind: 'redirect', vs, route: hit.index, status: r.redirect.redirectCode ?? 301, location: redirectLocation(hit, req, ctx, host), ...via };
  }
  if (r.directResponse) {
    return { kind: 'direct', vs, route: hit.index, status: r.directResponse.status, body: r.directResponse.body ?? '', ...via };
  }
  const chosen = chooseDestination(r.route ?? [], pick);
  if (!chosen) {
    return { kind: 'no-route', status: 404, flag: 'NR', reason: `http route ${hit.index} of VirtualService ${vs} has no destination` };
  }
  // a delegate's short names are its own namespace's
  const out: HttpRouteResult = { kind: 'route', vs, route: hit.index, match: hit.matchIndex, destination: destinationOf(chosen, r.origin?.namespace ?? hit.vs.meta.namespace), ...via };
  if (r.name !== undefined) out.name = r.name;
  if (r.retries !== undefined) out.retries = r.retries;
  if (r.timeoutMs !== undefined) out.timeoutMs = r.timeoutMs;
  const rw = rewritten(hit, req);
  if (rw) out.rewrite = rw;
  return out;
}

/* ------------------------------------------------------------- TLS, TCP -- */

/**
 * L4 match entry (tls/tcp): gateways and port ANDed; on sidecars also
 * sourceLabels, sourceNamespace and destinationSubnets (gateways ignore those,
 * as Istio's l4SingleMatch does).
 */
function l4Fits(m: L4Match, vs: VirtualService, through: string, port: number, labels: Labels | undefined, proxyNs: string, destinationIp?: string): boolean {
  if (m.port !== undefined && m.port !== port) return false;
  if (m.gateways && m.gateways.length > 0 && !m.gateways.some((g) => resolveGatewayName(g, vs.meta.namespace) === through)) return false;
  if (through !== 'mesh') return true;
  if (m.sourceLabels && !selectorMatches(m.sourceLabels, labels ?? {})) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== proxyNs) return false;
  if (m.destinationSubnets && m.destinationSubnets.length > 0) {
    if (destinationIp === undefined) return false;
    return m.destinationSubnets.some((s) => {
      const c = parseCidr(s.includes('/') ? s : `${s}/${s.includes(':') ? 128 : 32}`);
      return c !== null && cidrContains(c, destinationIp);
    });
  }
  return true;
}

/** A client-given name cut for a message (a server name has at most 253 characters). */
function clipName(s: string): string {
  return s.length > 253 ? `${s.slice(0, 253)}…` : s;
}

/** §9 PASSTHROUGH (and sidecar TLS): route a TLS connection by SNI through `tls` routes. */
export function routeTls(vss: readonly VirtualService[], ctx: TlsRouteContext, pick: Draw = () => 0): L4RouteResult {
  const sni = normalizeHost(ctx.sni);
  const mesh = ctx.gateway === 'mesh';
  const scopes: { through: string; server?: ServerMatch }[] = !mesh && ctx.servers && ctx.servers.length > 0
    ? ctx.servers.map((s) => ({ through: gatewayId(s.gateway), server: s }))
    : [{ through: ctx.gateway }];
  let found: { vs: VirtualService; route: number; score: number } | null = null;
  for (const scope of scopes) {
    const candidates = scope.through === 'mesh' && scope.server === undefined ? meshL4Candidates(meshL4(vss, 'tls'), [sni], ctx.gatewayNamespace) : visibleTo(vss, ctx.gatewayNamespace);
    for (const vs of candidates) {
      if (!vsBoundTo(vs, scope.through)) continue;
      for (let i = 0; i < vs.tls.length; i++) {
        for (const m of vs.tls[i]?.match ?? []) {
          if (!l4Fits(m, vs, scope.through, ctx.port, ctx.sourceLabels, ctx.gatewayNamespace)) continue;
          let snis = m.sniHosts.map((h) => qualify(h, vs.meta.namespace));
          if (scope.server) snis = intersect(serverHostsFor(scope.server.server, vs.meta.namespace, scope.server.gateway.meta.namespace), snis);
          const score = Math.max(0, ...snis.map((h) => domainScore(h, sni)));
          if (score > (found?.score ?? 0)) found = { vs, route: i, score };
        }
      }
    }
  }
  if (!found) {
    return mesh
      ? { kind: 'default', reason: `no tls route of a VirtualService bound to the mesh matches SNI ${clipName(sni) || '(none)'}` }
      : { kind: 'no-route', reason: `no tls route of a VirtualService bound to gateway ${ctx.gateway} matches SNI ${clipName(sni) || '(none)'}: the connection is closed` };
  }
  const route = found.vs.tls[found.route];
  const chosen = route ? chooseDestination(route.route, pick) : undefined;
  if (!chosen) return { kind: 'no-route', reason: `tls route ${found.route} of VirtualService ${idOf(found.vs.meta)} has no destination` };
  return { kind: 'route', vs: idOf(found.vs.meta), route: found.route, destination: destinationOf(chosen, found.vs.meta.namespace) };
}

/** TCP (and TLS terminated at the gateway): the first fitting `tcp` route of the oldest bound VirtualService. */
export function routeTcp(vss: readonly VirtualService[], ctx: TcpRouteContext, pick: Draw = () => 0): L4RouteResult {
  const mesh = ctx.gateway === 'mesh';
  const scopes: { through: string; server?: ServerMatch }[] = !mesh && ctx.servers && ctx.servers.length > 0
    ? ctx.servers.map((s) => ({ through: gatewayId(s.gateway), server: s }))
    : [{ through: ctx.gateway }];
  for (const scope of scopes) {
    const candidates = scope.through === 'mesh' && scope.server === undefined
      ? (ctx.host === undefined ? [] : meshL4Candidates(meshL4(vss, 'tcp'), meshHostForms(normalizeHost(ctx.host), ctx.gatewayNamespace), ctx.gatewayNamespace))
      : visibleTo(vss, ctx.gatewayNamespace);
    for (const vs of candidates) {
      if (!vsBoundTo(vs, scope.through) || vs.tcp.length === 0) continue;
      const vsHosts = vs.hosts.map((h) => qualify(h, vs.meta.namespace));
      if (scope.server) {
        if (intersect(serverHostsFor(scope.server.server, vs.meta.namespace, scope.server.gateway.meta.namespace), vsHosts).length === 0) continue;
      } else if (mesh) {
        if (ctx.host === undefined) continue;
        const forms = meshHostForms(normalizeHost(ctx.host), ctx.gatewayNamespace);
        if (!vsHosts.some((h) => forms.some((f) => domainScore(h, f) > 0))) continue;
      }
      for (let i = 0; i < vs.tcp.length; i++) {
        const route = vs.tcp[i];
        if (!route) continue;
        const fits = route.match.length === 0
          || route.match.some((m) => l4Fits(m, vs, scope.through, ctx.port, ctx.sourceLabels, ctx.gatewayNamespace, ctx.destinationIp));
        if (!fits) continue;
        const chosen = chooseDestination(route.route, pick);
        if (!chosen) return { kind: 'no-route', reason: `tcp route ${i} of VirtualService ${idOf(vs.meta)} has no destination` };
        return { kind: 'route', vs: idOf(vs.meta), route: i, destination: destinationOf(chosen, vs.meta.namespace) };
      }
    }
  }
  return mesh
    ? { kind: 'default', reason: `no tcp route of a VirtualService bound to the mesh matches ${ctx.host ?? 'this connection'}:${ctx.port}` }
    : { kind: 'no-route', reason: `no tcp route of a VirtualService bound to gateway ${ctx.gateway} matches port ${ctx.port}: the connection is closed` };
}
