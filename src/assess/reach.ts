/**
 * One-hop reach for `assess` (product.md §4): which client reaches which
 * Service port and which ingress route — from every workload of the mesh and
 * from `outside` (a client outside the cluster, no sidecar, no identity).
 *
 * Rules:
 *  - Service ports: the attempts of THE explorer (analysis/reachability.ts,
 *    one hop, `via: service`): a client reaches `svc.ns:port` when some
 *    endpoint workload behind it accepted the attempt (an HTTP GET of `/`, or
 *    a TCP connection on an opaque port). Pod-IP dials are blast-radius's
 *    business, not a path a reviewer names.
 *  - Ingress routes: for every Gateway server, every VirtualService bound to
 *    that Gateway and serving one of its hosts, every HTTP route match (its
 *    `uri` exact or prefix; `/` when it has none; a regex is tried as `/`),
 *    `outside` sends a GET through the gateway's Service port (the port of
 *    the Service selecting the gateway workload that the server's number names)
 *    with that Host — a wildcard host `*.x` as `www.x` — and is decided by
 *    policy/decide.ts like any request. Reached when a workload's app
 *    accepted it.
 *  - A path is `{ from, to, port }`: `to` is `svc.ns` (or `host/path` for an
 *    ingress route), `port` the port dialled; also the workloads that
 *    accepted, `via`, and where the Service or VirtualService was written.
 *  - Bounded: (workloads + 1) × attempts within MAX_REACH_WORK and at most
 *    MAX_INGRESS_ROUTES routes, else an error value.
 *  - Deterministic: sorted by from, to, port.
 */
import type { Location } from '../core/issues.js';
import { attemptOptions, attemptRequest, ReachabilityExplorer, type ExplorerOptions } from '../analysis/reachability.js';
import { meshIndex } from '../model/index.js';
import { resolveGatewayName, type Gateway, type VirtualService } from '../model/routing.js';
import { selectorMatches, type Mesh, type Service, type Workload } from '../model/types.js';
import { decide, DEFAULT_OUTSIDE_IP, targetPortOf, type StoppedBy } from '../policy/decide.js';
import { concreteHost, hostsMatch } from '../policy/routing.js';
import { grouped } from '../core/text.js';

export const MAX_REACH_WORK = 50_000_000;
export const MAX_INGRESS_ROUTES = 10_000;

export interface ReachPath {
  from: string;
  to: string;
  port: number;
  via: 'service' | 'ingress';
  /** the workloads whose app accepted (sorted); empty on the side where it is not reachable */
  workloads: string[];
  /** where the Service (or the VirtualService of an ingress route) was written */
  loc?: Location;
}

export interface ReachSet {
  /** every reachable path, sorted */
  paths: ReachPath[];
  /** the mesh it was computed over */
  mesh: Mesh;
  /** the controls refusing a path, looked up on demand, the first one per endpoint */
  stops(from: string, key: string): StoppedBy[];
  /** the same as text: `Control ns/name: reason` */
  why(from: string, key: string): string[];
  /** whether a reachable path's hop into the workload was mutual TLS (its first accepted attempt, decided again on demand); null: not reachable */
  mtls(from: string, key: string): boolean | null;
}

export type ReachResult = { ok: true; value: ReachSet } | { ok: false; message: string; hint: string };

export function pathKey(p: { from: string; to: string; port: number }): string {
  return `${p.from}\u0000${p.to}\u0000${p.port}`;
}

const byStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function comparePaths(a: { from: string; to: string; port: number }, b: { from: string; to: string; port: number }): number {
  return (a.from === 'outside' ? -1 : 0) - (b.from === 'outside' ? -1 : 0) || byStr(a.from, b.from) || byStr(a.to, b.to) || a.port - b.port;
}

function serviceName(s: Service): string {
  return `${s.name}.${s.namespace}`;
}

function stopText(s: StoppedBy): string {
  return `${s.control}${s.name ? ` ${s.name}` : ''}: ${s.reason}`;
}

/** An ingress route to try: a request from outside through a gateway Service. */
interface IngressRoute {
  service: Service;
  servicePort: number;
  host: string;
  path: string;
  vs: VirtualService;
}

/** Every ingress route of the mesh, in Gateway, server, VirtualService, route order. */
export function ingressRoutes(mesh: Mesh): IngressRoute[] {
  const index = meshIndex(mesh);
  const out: IngressRoute[] = [];
  const seen = new Set<string>();
  const gatewayServices = (g: Gateway): { w: Workload; s: Service }[] => {
    if (Object.keys(g.selector).length === 0) return [];
    const res: { w: Workload; s: Service }[] = [];
    for (const w of mesh.workloads) {
      if (!selectorMatches(g.selector, w.labels)) continue;
      for (const s of index.servicesSelecting(w)) res.push({ w, s });
    }
    return res;
  };
  for (const g of mesh.gateways) {
    const gwName = `${g.meta.namespace}/${g.meta.name}`;
    const bound = mesh.virtualServices.filter((vs) => vs.gateways.some((n) => resolveGatewayName(n, vs.meta.namespace) === gwName));
    const targets = gatewayServices(g);
    for (const server of g.servers) {
      const proto = server.port.protocol.toUpperCase();
      if (!['HTTP', 'HTTPS', 'HTTP2', 'GRPC'].includes(proto)) continue;
      for (const { w, s } of targets) {
        for (const sp of s.ports) {
          // Istio binds a server to the gateway Service port of that number (its listener on the target port); a target port number also matches.
          if (sp.port !== server.port.number && (targetPortOf(sp, w) ?? sp.port) !== server.port.number) continue;
          for (const vs of bound) {
            const host = vs.hosts.find((h) => server.hosts.some((sh) => hostsMatch(h, sh)));
            if (host === undefined) continue;
            const paths = new Set<string>();
            for (const r of vs.http) {
              const matches = r.match ?? [];
              if (matches.length === 0) paths.add('/');
              for (const m of matches) {
                const u = m.uri;
                paths.add(u && 'exact' in u ? u.exact : u && 'prefix' in u ? u.prefix || '/' : '/');
              }
            }
            for (const p of paths) {
              const key = `${s.fqdn}\u0000${sp.port}\u0000${concreteHost(host)}\u0000${p}`;
              if (seen.has(key)) continue;
              seen.add(key);
              out.push({ service: s, servicePort: sp.port, host: concreteHost(host), path: p.startsWith('/') ? p : `/${p}`, vs });
              // Past the bound the caller refuses the mesh: no need to list the rest (bounded work on hostile input).
              if (out.length > MAX_INGRESS_ROUTES) return out;
            }
          }
        }
      }
    }
  }
  return out;
}

/** What reaches what in one mesh, one hop (see the header). */
export function reachPaths(mesh: Mesh, opts: { decide?: ExplorerOptions['decide'] } = {}): ReachResult {
  const explorerOpts: ExplorerOptions = { edges: 'all' };
  if (opts.decide) explorerOpts.decide = opts.decide;
  const explorer = new ReachabilityExplorer(mesh, explorerOpts);
  const sources = ['outside', ...mesh.workloads.map((w) => w.id)];
  const work = sources.length * explorer.attempts.length;
  if (work > MAX_REACH_WORK) {
    return { ok: false, message: `reach over this mesh needs ${grouped(work)} attempts (${grouped(sources.length)} clients × ${grouped(explorer.attempts.length)} attempts); the limit is ${grouped(MAX_REACH_WORK)}`,
      hint: 'assess a smaller part of the mesh (--mesh a folder of it)' };
  }
  const routes = ingressRoutes(mesh);
  if (routes.length > MAX_INGRESS_ROUTES) {
    return { ok: false, message: `the mesh has ${grouped(routes.length)} ingress routes; assess tries at most ${grouped(MAX_INGRESS_ROUTES)}`, hint: 'assess a smaller part of the mesh' };
  }
  const serviceOf = new Map<string, Service>();
  for (const s of mesh.services) serviceOf.set(s.fqdn, s);
  const paths = new Map<string, ReachPath>();
  /** per reachable Service path, the first attempt that got through (to decide it again for its details) */
  const firstAttempt = new Map<string, number>();
  const attemptAt = new Map<string, number>();
  explorer.attempts.forEach((a, i) => { if (!attemptAt.has(`${a.target.id}\u0000${a.dial}\u0000${a.path ?? ''}`)) attemptAt.set(`${a.target.id}\u0000${a.dial}\u0000${a.path ?? ''}`, i); });
  for (const from of sources) {
    for (const e of explorer.hopFrom(from, 1)) {
      if (e.outcome !== 'allowed' || e.dial.startsWith('workload/')) continue;
      const colon = e.dial.lastIndexOf(':');
      const fqdn = e.dial.slice(0, colon);
      const port = Number(e.dial.slice(colon + 1));
      const svc = serviceOf.get(fqdn);
      const to = svc ? serviceName(svc) : fqdn;
      const at = e.deliveredTo === undefined ? e.to : e.deliveredTo;
      const key = pathKey({ from, to, port });
      let p = paths.get(key);
      if (!p) {
        p = { from, to, port, via: 'service', workloads: [] };
        if (svc) p.loc = svc.loc;
        paths.set(key, p);
      }
      if (at !== null && !p.workloads.includes(at)) p.workloads.push(at);
      const idx = attemptAt.get(`${e.to}\u0000${e.dial}\u0000${e.path ?? ''}`);
      if (!firstAttempt.has(key) && idx !== undefined) firstAttempt.set(key, idx);
    }
  }
  const ingressStops = new Map<string, StoppedBy[]>();
  const ingressMtls = new Map<string, boolean | null>();
  for (const r of routes) {
    const d = decide(mesh, {
      from: { kind: 'outside', ip: DEFAULT_OUTSIDE_IP },
      to: { kind: 'host', host: r.service.fqdn, port: r.servicePort },
      protocol: 'http', method: 'GET', path: r.path, headers: { host: r.host }, tls: 'auto',
    }, { pick: () => 0, ...(opts.decide ?? {}) });
    const to = `${r.host}${r.path}`;
    const key = pathKey({ from: 'outside', to, port: r.servicePort });
    ingressStops.set(key, d.stoppedBy.slice(0, 1));
    if (d.outcome !== 'allowed' || !d.destination) continue;
    if (!ingressMtls.has(key)) ingressMtls.set(key, d.mtls);
    const p = paths.get(key) ?? { from: 'outside', to, port: r.servicePort, via: 'ingress' as const, workloads: [], loc: r.vs.meta.loc };
    if (!p.workloads.includes(d.destination.workload)) p.workloads.push(d.destination.workload);
    paths.set(key, p);
  }
  for (const p of paths.values()) p.workloads.sort(byStr);
  const sorted = [...paths.values()].sort(comparePaths);
  const bySource = new Map<string, Map<string, StoppedBy[]>>();
  const index = meshIndex(mesh);
  const stops = (from: string, key: string): StoppedBy[] => {
    const ing = ingressStops.get(key);
    if (ing) return ing;
    // A source the change added (or removed) has no attempts on this side: nothing stopped it, it was not there.
    if (from !== 'outside' && index.workload(from) === undefined) return [];
    let m = bySource.get(from);
    if (!m) {
      m = new Map();
      bySource.set(from, m);
      for (const e of explorer.hopFrom(from, 1)) {
        if (e.outcome !== 'blocked' || e.dial.startsWith('workload/')) continue;
        const colon = e.dial.lastIndexOf(':');
        const svc = serviceOf.get(e.dial.slice(0, colon));
        const k = pathKey({ from, to: svc ? serviceName(svc) : e.dial.slice(0, colon), port: Number(e.dial.slice(colon + 1)) });
        const list = m.get(k) ?? [];
        const first = e.stoppedBy[0];
        if (first && !list.some((x) => stopText(x) === stopText(first))) list.push(first);
        m.set(k, list);
      }
    }
    return m.get(key) ?? [];
  };
  const why = (from: string, key: string): string[] =>
    (from !== 'outside' && index.workload(from) === undefined ? [`${from} is not a workload of this side's mesh`] : stops(from, key).map(stopText));
  const mtls = (from: string, key: string): boolean | null => {
    if (ingressMtls.has(key)) return ingressMtls.get(key) ?? null;
    const i = firstAttempt.get(key);
    const a = i === undefined ? undefined : explorer.attempts[i];
    if (!a) return null;
    const w = from === 'outside' ? undefined : index.workload(from);
    const src = w ? { kind: 'workload' as const, workload: w } : { kind: 'outside' as const, ip: DEFAULT_OUTSIDE_IP };
    return decide(mesh, attemptRequest(src, a), attemptOptions(a, opts.decide)).mtls;
  };
  return { ok: true, value: { mesh, paths: sorted, stops, why, mtls } };
}

/** Where the resource a control names (`ns/name`) is written in a mesh; undefined for a mesh default or a resource the mesh does not have. */
export function locateControl(mesh: Mesh, control: StoppedBy['control'], name: string | null): Location | undefined {
  if (name === null) return undefined;
  const lists: Partial<Record<StoppedBy['control'], readonly { meta: { namespace: string; name: string; loc: Location } }[]>> = {
    PeerAuthentication: mesh.peerAuthentications, AuthorizationPolicy: mesh.authorizationPolicies, NetworkPolicy: mesh.networkPolicies,
    DestinationRule: mesh.destinationRules, RequestAuthentication: mesh.requestAuthentications, VirtualService: mesh.virtualServices,
    Gateway: mesh.gateways,
  };
  const list = Object.hasOwn(lists, control) ? lists[control] : undefined;
  return list?.find((r) => `${r.meta.namespace}/${r.meta.name}` === name)?.meta.loc;
}

/** The paths reachable on one side only: newly reachable (after only) and no longer reachable (before only). */
export function diffReach(before: ReachSet, after: ReachSet): { newly: ReachPath[]; gone: ReachPath[] } {
  const b = new Map(before.paths.map((p) => [pathKey(p), p]));
  const a = new Map(after.paths.map((p) => [pathKey(p), p]));
  return {
    newly: after.paths.filter((p) => !b.has(pathKey(p))),
    gone: before.paths.filter((p) => !a.has(pathKey(p))),
  };
}
