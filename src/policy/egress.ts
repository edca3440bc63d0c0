/**
 * Egress: the client sidecar's destination lookup and what happens to traffic
 * for hosts it does not know (istio-semantics §8, §3 step 2, §5.2, §13).
 * Pure functions over loaded data.
 *
 * §8 rules, as implemented here:
 * - The outbound traffic policy comes from `meshConfig.outboundTrafficPolicy.mode`
 *   (default ALLOW_ANY; also REGISTRY_ONLY, ALLOW_ANY_DYNAMIC_DNS). A Sidecar
 *   with `outboundTrafficPolicy` replaces it for the workloads it applies to
 *   (whole-object replace; its proto default mode is REGISTRY_ONLY).
 * - Which Sidecar applies to a pod: a Sidecar with a workloadSelector in the
 *   pod's namespace that selects it; else the namespace's selector-less
 *   Sidecar; else the root namespace's selector-less Sidecar (the mesh
 *   default, read as if it lived in the pod's namespace, so `./` means the
 *   pod's namespace); else none (everything visible). Gateways and pods
 *   without a sidecar get none. Several candidates at the deciding level: the
 *   oldest wins (creationTimestamp, else apply order), the others are reported
 *   as IST0110 (selectors) / IST0111 (selector-less) conflicts.
 * - "Known" = in this sidecar's visible registry: Kubernetes Services and
 *   ServiceEntries after `exportTo` (Service: annotation
 *   `networking.istio.io/exportTo`; same grammar as DestinationRule: empty or
 *   `*` = all, `.` = own namespace, `~` = none, else a namespace list) and
 *   after the Sidecar's `egress[].hosts` import filter.
 * - Sidecar egress listeners: the listener whose port is the destination port,
 *   else the catch-all listener (no port); no Sidecar egress at all = one
 *   catch-all listener importing `*\/*`; a Sidecar whose listeners cover
 *   neither the port nor a catch-all hides everything on that port. A
 *   port-bound listener owns the port's shared (HTTP) listener, but a Service's
 *   TCP port listens on the Service's own address, which the catch-all still
 *   builds: such a Service stays visible through the catch-all's imports.
 * - An import `ns/dnsName` takes entries living in `ns` (`*` = any namespace,
 *   `.` = the pod's namespace, `~` = none) whose host falls under dnsName (`*`
 *   = all, `*.example.com` = that suffix, else exact). A Service is matched by
 *   its FQDN in its namespace, a ServiceEntry by its hosts in its namespace.
 * - A ServiceEntry serves a request when one of its hosts matches the host
 *   (exact, or a wildcard `*.example.com` covering it; the most specific wins)
 *   — or the request goes to an IP in its `addresses` — and it declares the
 *   destination port. A proxy keeps ONE namespace per hostname (hostNamespace):
 *   for a sidecar the client's own, else a Kubernetes Service's, else the first
 *   ServiceEntry exported to it (by name before `*`, then the oldest), whatever
 *   the port — so a ServiceEntry in the client's namespace naming a Service's
 *   FQDN takes that Service's traffic from its clients (decide.ts). A gateway
 *   takes the Kubernetes Service wherever it lives.
 * - Known destination → its cluster ("route"). A MESH_EXTERNAL ServiceEntry is
 *   never auto-mTLS (§5.2): plaintext unless a DestinationRule originates TLS.
 * - Unknown or hidden destination:
 *   - ALLOW_ANY (and ALLOW_ANY_DYNAMIC_DNS [inf]) → PassthroughCluster: the
 *     original destination as the app sent it, never with Istio mTLS. A hidden in-mesh service
 *     is still reached that way, so STRICT servers reject it and
 *     principal-based ALLOW policies deny it [inf]. A Sidecar egressProxy
 *     receives that traffic instead of the original destination.
 *   - REGISTRY_ONLY → BlackHoleCluster: an HTTP request on a port with an
 *     outbound HTTP listener gets a 502 direct response (vhost block_all);
 *     TLS, TCP, or anything on a port without an HTTP listener is a closed
 *     connection (curl to https://… exits 35).
 *   - Best-effort guard, not a firewall: an app can bypass its own sidecar.
 *   - Except where a ServiceEntry port is itself a wildcard listener: a TCP (or
 *     sniffed) port of an entry without addresses listens on 0.0.0.0:port, so
 *     TCP to ANY address on that port takes the entry's cluster (NONE: to the
 *     address dialled; DNS/STATIC: to the entry's host) — decide.ts. Several
 *     such entries on one port: the first in Istio's service order takes it
 *     (private, exported by name, public; then oldest, then hostname —
 *     entryHostsInPushOrder), the others' chains are dropped as conflicting.
 * - No sidecar on the client: nothing filters or blocks; the connection goes
 *   straight to its destination.
 * - Egress gateway pattern (VirtualService on `mesh` → egress gateway →
 *   ServiceEntry host): routed by decide.ts meshRoute and the gateway hop
 *   (inbound.ts); it is a route, not a fence — only NetworkPolicy (§11) keeps
 *   a pod from dialling the host itself.
 */
import { cidrContains, parseCidr, parseIp } from '../core/ip.js';
import { byCodeUnit } from '../core/text.js';
import type { ServiceEntry, ServiceEntryLocation, Sidecar, SidecarEgressListener } from '../model/egress.js';
import type { DestinationRule, OutboundMode, PeerAuthentication, Service, ServicePort, Workload } from '../model/types.js';
import { exportToAnnotation, selectorMatches } from '../model/types.js';
import { exportedTo, hostMatches } from './destination-rule.js';
import { olderFirst } from './peer-authentication.js';
import { declaredProtocol } from './pipeline.js';

export interface EgressInput {
  services: readonly Service[];
  serviceEntries: readonly ServiceEntry[];
  sidecars: readonly Sidecar[];
  rootNamespace: string;
  meshMode: OutboundMode;
  /** `sidecarFor(sidecars, rootNamespace, client).sidecar` already worked out for this client (decide's memo), if given */
  picked?: { client: Workload; sidecar: Sidecar | null };
}

export type EgressLookup =
  | { kind: 'service'; service: Service }
  | { kind: 'service-entry'; entry: ServiceEntry; port: { number: number; name: string; protocol: string }; location: ServiceEntryLocation }
  /** the registry has it, but the client's Sidecar does not import it */
  | { kind: 'hidden'; by: string; reason: string; host: string; port: number; fix: string }
  | { kind: 'unknown'; reason: string; host: string; port: number; fix: string };

export interface EffectiveMode {
  mode: OutboundMode;
  from: 'sidecar' | 'mesh';
  /** `ns/name` of the Sidecar that set it; null = mesh config */
  name: string | null;
  egressProxy?: { host: string; port?: number };
}

export interface EgressDecision {
  verdict: 'route' | 'passthrough' | 'blackhole';
  /** what the client sees when blackholed: 502, 0 (closed connection), null (raw TCP) */
  code?: 502 | 0 | null;
  reason: string;
  control?: 'EgressPolicy';
  /** `ns/name` of the Sidecar that set the mode, null for the mesh config */
  name?: string | null;
}

/** ServiceEntry port protocols that give the outbound listener HTTP ('' = sniffed). */
const HTTP_SE_PROTOCOLS = ['HTTP', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-WEB'];

const nameOf = (m: { meta: { namespace: string; name: string } }): string => `${m.meta.namespace}/${m.meta.name}`;

const byAge = olderFirst;

/** destination-rule's exportedTo only reads `exportTo` and `meta.namespace`. */
export function exported(exportTo: readonly string[], ownNs: string, clientNs: string): boolean {
  return exportedTo({ exportTo: [...exportTo], meta: { namespace: ownNs } } as DestinationRule, clientNs);
}

export function serviceExportTo(s: Service): string[] {
  return s.exportTo ?? exportToAnnotation(s);
}

/** lower case, one trailing dot dropped */
export function normalizeHost(h: string): string {
  const l = h.toLowerCase();
  return l.endsWith('.') ? l.slice(0, -1) : l;
}

/** The Sidecar that applies to a workload's proxy, and IST0110/IST0111 conflicts at the deciding level. */
export function sidecarFor(sidecars: readonly Sidecar[], rootNamespace: string, w: Workload): { sidecar: Sidecar | null; conflicts: string[] } {
  // no Sidecar near (the common case): nothing to pick, no conflict
  if (w.gateway || !w.sidecar || sidecars.length === 0) return { sidecar: null, conflicts: [] };
  const withSelector = sidecars
    .filter((s) => s.meta.namespace === w.namespace && s.workloadSelector !== null && selectorMatches(s.workloadSelector, w.labels))
    .sort(byAge);
  const nsDefault = sidecars.filter((s) => s.meta.namespace === w.namespace && s.workloadSelector === null).sort(byAge);
  const rootDefault = sidecars.filter((s) => s.meta.namespace === rootNamespace && s.workloadSelector === null).sort(byAge);
  const pick = (list: Sidecar[], conflict: (winner: Sidecar) => string): { sidecar: Sidecar | null; conflicts: string[] } => {
    const first = list[0] ?? null;
    return { sidecar: first, conflicts: first && list.length > 1 ? [conflict(first)] : [] };
  };
  if (withSelector.length > 0) {
    return pick(withSelector, (win) => `IST0110 ConflictingSidecarWorkloadSelectors: Sidecars ${withSelector.map(nameOf).join(', ')} all select ${w.id}; the oldest, ${nameOf(win)}, is used`);
  }
  const level = nsDefault.length > 0 ? nsDefault : rootDefault;
  const where = nsDefault.length > 0 ? `namespace ${w.namespace}` : `root namespace ${rootNamespace}`;
  return pick(level, (win) => `IST0111 MultipleSidecarsWithoutWorkloadSelectors: ${where} has ${level.length} Sidecars without workloadSelector (${level.map(nameOf).join(', ')}); the oldest, ${nameOf(win)}, is used`);
}

/**
 * The Sidecars sidecarFor can pick for `w`: those of its namespace, then those
 * of the root namespace, each in load order (`byNamespace` = MeshIndex
 * sidecars). sidecarFor picks the same Sidecar, with the same conflicts, from
 * them as from every Sidecar of the mesh.
 */
export function sidecarsNear(byNamespace: (ns: string) => readonly Sidecar[], rootNamespace: string, w: Workload): readonly Sidecar[] {
  const own = byNamespace(w.namespace);
  if (w.namespace === rootNamespace) return own;
  const root = byNamespace(rootNamespace);
  if (root.length === 0) return own;
  if (own.length === 0) return root;
  return [...own, ...root];
}

export function outboundMode(meshMode: OutboundMode, sidecar: Sidecar | null): EffectiveMode {
  const otp = sidecar?.outboundTrafficPolicy;
  if (sidecar && otp) {
    const out: EffectiveMode = { mode: otp.mode, from: 'sidecar', name: nameOf(sidecar) };
    if (otp.egressProxy) out.egressProxy = otp.egressProxy;
    return out;
  }
  return { mode: meshMode, from: 'mesh', name: null };
}

/** A Sidecar without egress listeners imports everything: one listener object for all of them (memos key on it). */
const IMPORT_ALL: SidecarEgressListener = Object.freeze({ hosts: Object.freeze(['*/*']) as string[] });

/** The egress listener a connection to `port` uses; null = none covers it (everything hidden on that port). */
export function egressListenerFor(sidecar: Sidecar, port: number): SidecarEgressListener | null {
  if (sidecar.egress.length === 0) return IMPORT_ALL;
  return sidecar.egress.find((l) => l.port?.number === port) ?? sidecar.egress.find((l) => l.port === undefined) ?? null;
}

/** Host patterns of one namespace part of a listener: does any match a host (hostMatches > 0)? */
class HostPatterns {
  private readonly exact = new Set<string>();
  /** `*.suffix` patterns, by `.suffix` */
  private readonly suffixes = new Set<string>();
  private any = false;
  add(pattern: string): void {
    if (pattern === '*') this.any = true;
    else if (pattern.startsWith('*.')) this.suffixes.add(pattern.slice(1));
    this.exact.add(pattern);
  }
  matches(host: string): boolean {
    if (this.any || this.exact.has(host)) return true;
    if (this.suffixes.size === 0) return false;
    for (let i = host.indexOf('.'); i >= 0; i = host.indexOf('.', i + 1)) if (this.suffixes.has(host.slice(i))) return true;
    return false;
  }
}

/** A listener's `hosts` by their namespace part: `*`, `.` (the proxy's own) and named ones; `~` imports nothing. */
interface ListenerHosts {
  star: HostPatterns;
  dot: HostPatterns;
  named: Map<string, HostPatterns>;
}

const listenerHosts = new WeakMap<SidecarEgressListener, ListenerHosts>();

function hostsOf(listener: SidecarEgressListener): ListenerHosts {
  let t = listenerHosts.get(listener);
  if (t === undefined) {
    t = { star: new HostPatterns(), dot: new HostPatterns(), named: new Map() };
    for (const h of listener.hosts) {
      const slash = h.indexOf('/');
      const ns = h.slice(0, slash);
      const dns = h.slice(slash + 1);
      if (ns === '~') continue;
      if (ns === '*') t.star.add(dns);
      else if (ns === '.') t.dot.add(dns);
      else {
        let set = t.named.get(ns);
        if (set === undefined) { set = new HostPatterns(); t.named.set(ns, set); }
        set.add(dns);
      }
    }
    listenerHosts.set(listener, t);
  }
  return t;
}

/**
 * Does an egress listener import a registry entry living in `entryNs`, for the requested host? Some `ns/host` of
 * its hosts whose namespace part is `*`, `entryNs`, or `.` when that is the proxy's namespace, and whose host part
 * matches (hostMatches). Through an index made once per listener: a Sidecar of 20,000 egress hosts was 20,000
 * checks at every decision.
 */
export function imports(listener: SidecarEgressListener, entryNs: string, proxyNs: string, host: string): boolean {
  const t = hostsOf(listener);
  if (t.star.matches(host)) return true;
  if (t.named.get(entryNs)?.matches(host) === true) return true;
  return (proxyNs === '*' || proxyNs === entryNs) && t.dot.matches(host);
}

/**
 * Does an egress listener import a VirtualService host of a VirtualService living in `vsNs` (Istio
 * hostClassification.VSMatches, for VirtualServices without Gateway API semantics)? Some egress host whose
 * namespace part is `*`, `vsNs`, or `.` when that is the proxy's namespace, and whose host part matches the
 * VirtualService's host either way: `*.example.com` is imported by `api.example.com` and the reverse.
 */
export function importsVirtualServiceHost(listener: SidecarEgressListener, vsNs: string, proxyNs: string, vsHost: string): boolean {
  for (const h of listener.hosts) {
    const slash = h.indexOf('/');
    const ns = h.slice(0, slash);
    if (!(ns === '*' || ns === vsNs || (ns === '.' && proxyNs === vsNs))) continue;
    const dns = h.slice(slash + 1);
    if (hostMatches(dns, vsHost) > 0 || hostMatches(vsHost, dns) > 0) return true;
  }
  return false;
}

/** How well a ServiceEntry claims a host (0 = not at all), and with which of its hosts (null: by an address, which counts as exact). */
function entryClaim(se: ServiceEntry, host: string): { score: number; by: string | null } {
  let best = 0;
  let by: string | null = null;
  for (const h of se.hosts) {
    const n = normalizeHost(h);
    const score = hostMatches(n, host);
    if (score > best) { best = score; by = n; }
  }
  if (best === 0 && parseIp(host)) {
    if (se.addresses.some((a) => { const c = parseCidr(a); return c !== null && cidrContains(c, host); })) best = 10_000;
  }
  return { score: best, by };
}

/**
 * A Sidecar imports a ServiceEntry's host, not the name asked (Istio converts each host to a service and keeps it
 * when the service's hostname is within an egress host): the egress host api.example.com (of any namespace) does not
 * import `*.example.com`, whatever name under it is dialled. Claimed by an address: when some host of the entry is imported.
 */
function entryImported(scope: Scope, se: ServiceEntry, by: string | null): boolean {
  if (by !== null) return isImported(scope, se.meta.namespace, by);
  return se.hosts.some((h) => isImported(scope, se.meta.namespace, normalizeHost(h)));
}

interface Scope {
  proxy: boolean;
  clientNs: string;
  sidecar: Sidecar | null;
  listener: SidecarEgressListener | null;
}

/** The Sidecar applying to `client` among `input.sidecars`: the caller's pick when it gave one for this client, else sidecarFor's. */
export function sidecarOfInput(input: EgressInput, client: Workload): Sidecar | null {
  return input.picked !== undefined && input.picked.client === client ? input.picked.sidecar : sidecarFor(input.sidecars, input.rootNamespace, client).sidecar;
}

function scopeOf(input: EgressInput, client: Workload | null, port: number): Scope {
  const proxy = client !== null && (client.sidecar || client.gateway);
  const sidecar = proxy && client ? sidecarOfInput(input, client) : null;
  return { proxy, clientNs: client?.namespace ?? '', sidecar, listener: sidecar ? egressListenerFor(sidecar, port) : null };
}

function isExported(scope: Scope, exportTo: readonly string[], ownNs: string): boolean {
  return !scope.proxy || exported(exportTo, ownNs, scope.clientNs);
}

function isImported(scope: Scope, entryNs: string, host: string): boolean {
  if (!scope.sidecar) return true;
  return scope.listener !== null && imports(scope.listener, entryNs, scope.clientNs, host);
}

/**
 * The entries of a list that claim `host` (entryClaim > 0), found through an index made once per list: by exact host,
 * the entries with a wildcard host, and (for an address) those with `addresses` — not by scoring every entry of the
 * mesh at every lookup (thousands of ServiceEntries made each request cost half a millisecond).
 */
interface EntryIndex { exact: Map<string, ServiceEntry[]>; wild: ServiceEntry[]; addressed: ServiceEntry[]; pos: Map<ServiceEntry, number> }
const entryIndexes = new WeakMap<readonly ServiceEntry[], EntryIndex>();
function entryIndexOf(entries: readonly ServiceEntry[]): EntryIndex {
  let ix = entryIndexes.get(entries);
  if (ix === undefined) {
    ix = { exact: new Map(), wild: [], addressed: [], pos: new Map() };
    for (const se of entries) {
      if (!ix.pos.has(se)) ix.pos.set(se, ix.pos.size);
      let wild = false;
      for (const raw of se.hosts) {
        const n = normalizeHost(raw);
        if (n.startsWith('*')) wild = true;
        const l = ix.exact.get(n);
        if (l === undefined) ix.exact.set(n, [se]); else if (l[l.length - 1] !== se) l.push(se);
      }
      if (wild) ix.wild.push(se);
      if (se.addresses.length > 0) ix.addressed.push(se);
    }
    entryIndexes.set(entries, ix);
  }
  return ix;
}

function claimsOf(entries: readonly ServiceEntry[], host: string): { se: ServiceEntry; score: number; by: string | null }[] {
  const ix = entryIndexOf(entries);
  const seen = new Set<ServiceEntry>();
  const out: { se: ServiceEntry; score: number; by: string | null }[] = [];
  const consider = (se: ServiceEntry): void => {
    if (seen.has(se)) return;
    seen.add(se);
    const c = entryClaim(se, host);
    if (c.score > 0) out.push({ se, ...c });
  };
  for (const se of ix.exact.get(host) ?? []) consider(se);
  for (const se of ix.wild) consider(se);
  if (parseIp(host)) for (const se of ix.addressed) consider(se);
  // in the list's order, as a scan of the list gives them
  if (out.length > 1) {
    const pos = ix.pos;
    out.sort((a, b) => (pos.get(a.se) as number) - (pos.get(b.se) as number));
  }
  return out;
}

/**
 * A Sidecar egress listener bound to a port imports only the services with that port (serviceMatchingListenerPort)
 * — before a namespace is chosen for a hostname — unless it is an HTTP_PROXY listener.
 */
function portBoundListener(scope: Scope): boolean {
  return scope.listener?.port !== undefined && (scope.listener.port.protocol ?? '').toUpperCase() !== 'HTTP_PROXY';
}

/**
 * Whether the client's proxy imports Service `s` (named `h`) on `port`: its egress listener imports it (with the port,
 * when the listener is bound to one) — or the catch-all listener does and the port is TCP: a port-bound listener
 * does not hide a Service's TCP port from the catch-all, which still builds the listener on the Service's own
 * address and port (a key the port-bound listener did not take, buildSidecarOutboundListener). HTTP and sniffed ports
 * share the port's listener and route, which the port-bound listener owns.
 */
function serviceImported(scope: Scope, s: Service, h: string, port: number): boolean {
  const portBound = portBoundListener(scope);
  if (isImported(scope, s.namespace, h) && (!portBound || s.ports.some((p) => p.port === port))) return true;
  if (!portBound || s.headless || !scope.sidecar) return false;
  const catchAll = scope.sidecar.egress.find((l) => l.port === undefined);
  return catchAll !== undefined && s.ports.some((p) => p.port === port && declaredProtocol(p) === 'tcp') && imports(catchAll, s.namespace, scope.clientNs, h);
}

function entryLookup(se: ServiceEntry, port: number): EgressLookup {
  const p = se.ports.find((x) => x.number === port) as ServiceEntry['ports'][number];
  return { kind: 'service-entry', entry: se, port: { number: p.number, name: p.name, protocol: p.protocol }, location: se.location };
}

/**
 * Where a registry entry comes in Istio's list of the services exported to the client's namespace
 * (servicesExportedToNamespace): 0 private to it (exportTo `.` or its own name, in its own namespace), 1 exported
 * to it by name, 2 public (`*`, or no exportTo). Oldest first within each (SortServicesByCreationTime).
 */
function exportRank(exportTo: readonly string[], ownNs: string, clientNs: string): number {
  if (exportTo.length === 0 || exportTo.includes('*')) return 2;
  if (ownNs === clientNs && exportTo.some((e) => e === '.' || e === ownNs)) return 0;
  return 1;
}

/**
 * Entries of one hostname by age as SortServicesByCreationTime orders their services: creation time, then the
 * service's name — its hostname, equal here — then its namespace. Without timestamps: apply order (olderFirst).
 */
function sameHostByAge(a: ServiceEntry, b: ServiceEntry): number {
  const ta = a.meta.creationTimestamp;
  if (ta !== undefined && ta === b.meta.creationTimestamp) return byCodeUnit(a.meta.namespace, b.meta.namespace) || byAge(a, b);
  return byAge(a, b);
}

/**
 * The one namespace a proxy takes a hostname from when several namespaces declare it — a Kubernetes Service's FQDN
 * in a ServiceEntry of another namespace, or one external host in ServiceEntries of two namespaces — and what of it:
 *  - a sidecar (Istio 1.24+ unified Sidecar scoping, selectServices): the client's own namespace first; else the
 *    namespace of the Kubernetes Service (it is preferred to ServiceEntries, against "domain squatting"); else the
 *    first ServiceEntry in the exported order (exportRank, then age). The port plays no part in the choice.
 *  - a gateway (DefaultSidecarScopeForGateway, appendSidecarServices): the Kubernetes Service whatever its
 *    namespace; else the first ServiceEntry in the exported order.
 * In that namespace a Kubernetes Service beats a ServiceEntry of the same hostname; ServiceEntries of one namespace
 * pool their ports when Istio can merge them (same resolution and exportTo), else the first one alone counts.
 * `entries` are visible (exported, imported) entries declaring this exact hostname; `services` the visible
 * Kubernetes Services of that FQDN (at most one in practice).
 */
function hostNamespace(scope: Scope, services: readonly Service[], entries: readonly ServiceEntry[], gateway: boolean): { service?: Service; entries: ServiceEntry[] } {
  const svc = services.find((s) => s.namespace === scope.clientNs) ?? services[0];
  const order = [...entries].sort((a, b) => exportRank(a.exportTo, a.meta.namespace, scope.clientNs) - exportRank(b.exportTo, b.meta.namespace, scope.clientNs) || sameHostByAge(a, b));
  let ns: string | undefined;
  if (!gateway && (svc?.namespace === scope.clientNs || order.some((se) => se.meta.namespace === scope.clientNs))) ns = scope.clientNs;
  else if (svc) ns = svc.namespace;
  else ns = order[0]?.meta.namespace;
  if (svc && svc.namespace === ns) return { service: svc, entries: [] };
  const inNs = order.filter((se) => se.meta.namespace === ns);
  const first = inNs[0];
  if (!first) return { entries: [] };
  const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));
  return { entries: inNs.filter((se) => se === first || (se.resolution === first.resolution && same(se.exportTo, first.exportTo))) };
}

/**
 * What the client's proxy knows about `host:port` (§3 step 2). `client` null =
 * a caller without a sidecar (no filtering at all). `host` is a qualified FQDN
 * for cluster names, or an external name / IP.
 * A Kubernetes Service is returned whatever the port (the caller reports a
 * missing Service port); a ServiceEntry must declare the port.
 */
export function lookupDestination(input: EgressInput, client: Workload | null, host: string, port: number): EgressLookup {
  const h = normalizeHost(host);
  const scope = scopeOf(input, client, port);
  const sidecarName = scope.sidecar ? nameOf(scope.sidecar) : '';

  const services = input.services.filter((s) => s.fqdn === h);
  if (services.length > 0 && !entryIndexOf(input.serviceEntries).exact.has(h)) {
    // No entry shares the Service's name: the wildcard entries that may also cover it are less specific hostnames,
    // never chosen over it. The first visible Service of the client's namespace, else the first visible one.
    let svc: Service | undefined;
    for (const s of services) {
      if (!isExported(scope, serviceExportTo(s), s.namespace) || !serviceImported(scope, s, h, port)) continue;
      if (s.namespace === scope.clientNs) { svc = s; break; }
      svc ??= s;
    }
    if (svc) return { kind: 'service', service: svc };
  }
  const claiming = claimsOf(input.serviceEntries, h);
  const withPort = claiming.filter((x) => x.se.ports.some((p) => p.number === port));
  const portBound = portBoundListener(scope);
  const visibleSvcs = services.filter((s) => isExported(scope, serviceExportTo(s), s.namespace) && serviceImported(scope, s, h, port));
  const visibleClaims = claiming.filter((x) => isExported(scope, x.se.exportTo, x.se.meta.namespace) && entryImported(scope, x.se, x.by)
    && (!portBound || x.se.ports.some((p) => p.number === port)));
  /** the exact hostname's one namespace (hostNamespace) has entries without `port` while another namespace's Service or entry has it: said when nothing else serves */
  let portElsewhere: { kept: ServiceEntry; other: string } | null = null;
  if (!scope.proxy || (visibleSvcs.length > 0 && !visibleClaims.some((x) => x.by === h))) {
    // No proxy: no Istio registry at all — kube DNS and kube-proxy; a Service first, else the entry an analysis asks
    // about. A proxy whose visible Service no entry shares the name with: that Service, whatever the port.
    const svc = visibleSvcs.find((s) => s.namespace === scope.clientNs) ?? visibleSvcs[0];
    if (svc) return { kind: 'service', service: svc };
    const best = visibleClaims.filter((x) => x.se.ports.some((p) => p.number === port)).sort((a, b) => b.score - a.score
      || Number(b.se.meta.namespace === scope.clientNs) - Number(a.se.meta.namespace === scope.clientNs) || byAge(a.se, b.se))[0];
    if (best) return entryLookup(best.se, port);
  } else {
    // One hostname at a time, the most specific first (the exact name, then the narrowest wildcard covering it; an
    // address in an entry's `addresses` before all): Istio keeps ONE namespace per hostname (hostNamespace), and a
    // port that namespace's entries do not declare is not on that hostname at all — a less specific one may have it.
    const groups = new Map<string, { score: number; entries: ServiceEntry[] }>();
    for (const x of visibleClaims) {
      const key = x.by ?? '';
      const g = groups.get(key);
      if (g) g.entries.push(x.se); else groups.set(key, { score: x.score, entries: [x.se] });
    }
    if (visibleSvcs.length > 0 && !groups.has(h)) groups.set(h, { score: 10_000, entries: [] });
    const ordered = [...groups].sort((a, b) => b[1].score - a[1].score || byCodeUnit(a[0], b[0]));
    for (const [name, g] of ordered) {
      const kept = hostNamespace(scope, name === h ? visibleSvcs : [], g.entries, client !== null && client.gateway);
      if (kept.service) return { kind: 'service', service: kept.service };
      for (const se of kept.entries) if (se.ports.some((p) => p.number === port)) return entryLookup(se, port);
      const first = kept.entries[0];
      if (name === h && portElsewhere === null && first) {
        const svc = visibleSvcs.find((x) => x.ports.some((p) => p.port === port));
        const other = g.entries.find((se) => !kept.entries.includes(se) && se.ports.some((p) => p.number === port));
        if (svc || other) portElsewhere = { kept: first, other: svc ? `Service ${svc.namespace}/${svc.name}` : `ServiceEntry ${nameOf(other as ServiceEntry)}` };
      }
    }
  }

  if (portElsewhere) {
    const { kept, other } = portElsewhere;
    return { kind: 'unknown', host: h, port,
      reason: `${h} is taken from namespace ${kept.meta.namespace} (ServiceEntry ${nameOf(kept)}), which declares no port ${port}; ${other} has it, but Istio keeps one namespace per hostname${kept.meta.namespace === scope.clientNs ? ', the client\'s own first' : ''}`,
      fix: `declare port ${port} in ServiceEntry ${nameOf(kept)}, or keep ${h} in one namespace` };
  }
  // Not visible: explain why, most specific reason first.
  const hiddenSvc = services.find((s) => isExported(scope, serviceExportTo(s), s.namespace));
  const hiddenSe = withPort.find((x) => isExported(scope, x.se.exportTo, x.se.meta.namespace))?.se;
  if (scope.sidecar && (hiddenSvc || hiddenSe)) {
    const what = hiddenSvc ? `Service ${hiddenSvc.namespace}/${hiddenSvc.name}` : `ServiceEntry ${nameOf(hiddenSe as ServiceEntry)}`;
    const ns = hiddenSvc ? hiddenSvc.namespace : (hiddenSe as ServiceEntry).meta.namespace;
    const why = scope.listener
      ? `the egress hosts of Sidecar ${sidecarName} (${scope.listener.hosts.join(', ')}) do not import ${ns}/${h}`
      : `Sidecar ${sidecarName} has no egress listener for port ${port} and no catch-all listener`;
    return {
      kind: 'hidden', by: sidecarName, host: h, port,
      reason: `${what} exists, but ${why}`,
      fix: scope.listener
        ? `add "${ns}/${h}" (or "${ns}/*") to the egress hosts of Sidecar ${sidecarName}`
        : `add an egress listener for port ${port}, or one without port, to Sidecar ${sidecarName}`,
    };
  }
  const notExportedSvc = services[0];
  if (notExportedSvc) {
    return { kind: 'unknown', host: h, port,
      reason: `Service ${notExportedSvc.namespace}/${notExportedSvc.name} is not exported to namespace ${scope.clientNs} (${notExportedSvc.annotations['networking.istio.io/exportTo'] === undefined ? 'meshConfig defaultServiceExportTo' : 'networking.istio.io/exportTo'}: ${serviceExportTo(notExportedSvc).join(',')})`,
      fix: `add ${scope.clientNs} to the networking.istio.io/exportTo annotation of Service ${notExportedSvc.namespace}/${notExportedSvc.name}` };
  }
  const notExportedSe = withPort[0]?.se;
  if (notExportedSe) {
    return { kind: 'unknown', host: h, port,
      reason: `ServiceEntry ${nameOf(notExportedSe)} is not exported to namespace ${scope.clientNs} (exportTo: ${notExportedSe.exportTo.join(', ')})`,
      fix: `add ${scope.clientNs} to the exportTo of ServiceEntry ${nameOf(notExportedSe)}, or create a ServiceEntry for ${h} port ${port} in ${scope.clientNs}` };
  }
  const otherPort = claiming[0]?.se;
  if (otherPort) {
    return { kind: 'unknown', host: h, port,
      reason: `ServiceEntry ${nameOf(otherPort)} knows ${h} only on port${otherPort.ports.length === 1 ? '' : 's'} ${otherPort.ports.map((p) => p.number).join(', ') || 'none'}, not ${port}`,
      fix: `declare port ${port} in ServiceEntry ${nameOf(otherPort)}` };
  }
  return { kind: 'unknown', host: h, port,
    reason: `no Service or ServiceEntry in the registry for ${h}`,
    fix: `add a ServiceEntry with hosts [${h}] and port ${port}` };
}

/**
 * The registry entries a client's proxy sees on `port` (after exportTo and the
 * Sidecar listener for that port), e.g. to work out whether the outbound
 * listener on that port speaks HTTP.
 */
export function visibleRegistry(input: EgressInput, client: Workload | null, port: number): { services: Service[]; serviceEntries: ServiceEntry[] } {
  const scope = scopeOf(input, client, port);
  return {
    services: input.services.filter((s) => isExported(scope, serviceExportTo(s), s.namespace) && isImported(scope, s.namespace, s.fqdn)),
    serviceEntries: input.serviceEntries.filter((se) => isExported(scope, se.exportTo, se.meta.namespace)
      && se.hosts.some((h) => isImported(scope, se.meta.namespace, normalizeHost(h)))),
  };
}

/** Creation time alone (apply order without timestamps): 0 when equal, so the caller's next key decides. */
function creationOrder(a: ServiceEntry, b: ServiceEntry): number {
  const ta = a.meta.creationTimestamp;
  const tb = b.meta.creationTimestamp;
  if (ta !== undefined && tb !== undefined) return ta === tb ? 0 : ta < tb ? -1 : 1;
  if (ta !== undefined) return -1;
  if (tb !== undefined) return 1;
  return a.meta.order - b.meta.order;
}

/**
 * The ServiceEntry hosts a client's proxy builds outbound listeners from on `port` (visible, imported, and kept by
 * `keep`), in the order Istio walks the services of its egress listener (servicesExportedToNamespace): private to the
 * client's namespace, exported to it by name, then public; within each, by creation time (apply order without
 * timestamps), then hostname, then namespace (SortServicesByCreationTime). Each host of an entry is a service of its
 * own with the entry's creation time, so the hosts of one entry go by name, not as written.
 */
export function entryHostsInPushOrder(input: EgressInput, client: Workload | null, port: number, keep: (se: ServiceEntry) => boolean): { entry: ServiceEntry; host: string }[] {
  const scope = scopeOf(input, client, port);
  const out: { entry: ServiceEntry; host: string }[] = [];
  for (const se of input.serviceEntries) {
    if (!keep(se) || !isExported(scope, se.exportTo, se.meta.namespace)) continue;
    for (const h of new Set(se.hosts.map(normalizeHost))) if (isImported(scope, se.meta.namespace, h)) out.push({ entry: se, host: h });
  }
  const rank = (se: ServiceEntry): number => exportRank(se.exportTo, se.meta.namespace, scope.clientNs);
  return out.sort((a, b) => rank(a.entry) - rank(b.entry) || (a.entry === b.entry ? 0 : creationOrder(a.entry, b.entry))
    || byCodeUnit(a.host, b.host) || byCodeUnit(a.entry.meta.namespace, b.entry.meta.namespace) || byAge(a.entry, b.entry));
}

/**
 * Whether the client proxy's outbound listener on `port` is HTTP (so a
 * blackholed HTTP request gets the 502 of vhost block_all). It is when a
 * visible Service port or ServiceEntry port of that number is HTTP or sniffed;
 * `isHttpServicePort` classifies Service ports (decide.ts's declaredProtocol).
 */
export function httpListenerOnPort(input: EgressInput, client: Workload | null, port: number, isHttpServicePort: (p: ServicePort) => boolean): boolean {
  const v = visibleRegistry(input, client, port);
  return v.services.some((s) => s.ports.some((p) => p.port === port && isHttpServicePort(p)))
    || v.serviceEntries.some((se) => se.ports.some((p) => p.number === port && (p.protocol === '' || HTTP_SE_PROTOCOLS.includes(p.protocol))));
}

/**
 * Registry entries by port number (model/index.ts MeshIndex servicesOnPort /
 * serviceEntriesOnPort, or a pre-filtered view of them): every entry of the
 * registry (in namespace `ns` when given) that declares `port` must be in the
 * list; the list may hold more (each is checked again).
 */
export interface RegistryByPort {
  services(port: number, ns?: string): readonly Service[];
  serviceEntries(port: number, ns?: string): readonly ServiceEntry[];
}

/**
 * httpListenerOnPort's answer, without scanning the whole registry: only the
 * entries declaring `port` are looked at, and when the client's Sidecar
 * listener imports from named namespaces only (`./…`, `ns/…`), only the
 * entries of those namespaces. `input.services` and `input.serviceEntries` are
 * not read (`registry` stands for them); the rest of `input` is.
 */
export function httpListenerOnPortIndexed(input: EgressInput, registry: RegistryByPort, client: Workload | null, port: number, isHttpServicePort: (p: ServicePort) => boolean): boolean {
  const scope = scopeOf(input, client, port);
  // Where an imported entry can live: every namespace (undefined), or the ones the listener's hosts name.
  let where: (string | undefined)[];
  if (!scope.sidecar) where = [undefined];
  else if (!scope.listener) return false;
  else {
    const named = new Set<string>();
    let any = false;
    for (const h of scope.listener.hosts) {
      const ns = h.slice(0, h.indexOf('/'));
      if (ns === '~') continue;
      const resolved = ns === '.' ? scope.clientNs : ns;
      if (resolved === '*') { any = true; break; }
      named.add(resolved);
    }
    where = any ? [undefined] : [...named];
  }
  for (const ns of where) {
    for (const s of registry.services(port, ns)) {
      if (s.ports.some((p) => p.port === port && isHttpServicePort(p))
        && isExported(scope, serviceExportTo(s), s.namespace) && isImported(scope, s.namespace, s.fqdn)) return true;
    }
  }
  for (const ns of where) {
    for (const se of registry.serviceEntries(port, ns)) {
      if (se.ports.some((p) => p.number === port && (p.protocol === '' || HTTP_SE_PROTOCOLS.includes(p.protocol)))
        && isExported(scope, se.exportTo, se.meta.namespace)
        && se.hosts.some((h) => isImported(scope, se.meta.namespace, normalizeHost(h)))) return true;
    }
  }
  return false;
}

/** What the client sees when its sidecar sends traffic to the BlackHoleCluster (§8). */
export function blackholeResult(protocol: 'http' | 'tcp' | 'tls', portHasHttpListener: boolean): { code: 502 | 0 | null; how: string } {
  if (protocol === 'http' && portHasHttpListener) {
    return { code: 502, how: 'the outbound HTTP listener routes it to virtual host block_all: direct response 502 (metrics: BlackHoleCluster)' };
  }
  if (protocol === 'tls') {
    return { code: 0, how: 'TCP proxy to the BlackHoleCluster: the connection is closed during the TLS handshake (curl exit code 35)' };
  }
  if (protocol === 'http') {
    return { code: 0, how: `no outbound HTTP listener on this port: TCP proxy to the BlackHoleCluster closes the connection before any response` };
  }
  return { code: null, how: 'TCP proxy to the BlackHoleCluster: the connection is closed' };
}

function describeMode(m: EffectiveMode): string {
  return m.from === 'sidecar' ? `Sidecar ${m.name ?? ''} outboundTrafficPolicy` : 'the mesh config (meshConfig.outboundTrafficPolicy)';
}

/**
 * The egress verdict for one lookup. `mode` is the effective mode (or a bare
 * mesh mode); `clientHasProxy` false = no sidecar, nothing filters or blocks.
 */
export function decideEgress(
  lookup: EgressLookup,
  mode: EffectiveMode | OutboundMode,
  protocol: 'http' | 'tcp' | 'tls',
  portHasHttpListener: boolean,
  clientHasProxy = true,
): EgressDecision {
  const m: EffectiveMode = typeof mode === 'string' ? { mode, from: 'mesh', name: null } : mode;
  if (lookup.kind === 'service') {
    return { verdict: 'route', reason: `Service ${lookup.service.namespace}/${lookup.service.name} is in the sidecar's registry` };
  }
  if (lookup.kind === 'service-entry') {
    const ext = lookup.location === 'MESH_EXTERNAL' ? ' (MESH_EXTERNAL: never auto-mTLS, plaintext unless a DestinationRule originates TLS)' : ' (MESH_INTERNAL: treated as part of the mesh)';
    return { verdict: 'route', reason: `ServiceEntry ${nameOf(lookup.entry)} makes ${lookup.entry.hosts.join(', ')} port ${lookup.port.number} known${ext}` };
  }
  const what = lookup.kind === 'hidden' ? `${lookup.host}:${lookup.port} is hidden from this sidecar: ${lookup.reason}` : `${lookup.host}:${lookup.port} is unknown to this sidecar: ${lookup.reason}`;
  if (!clientHasProxy) {
    return { verdict: 'passthrough', reason: `no sidecar on the client: the connection goes straight to ${lookup.host}:${lookup.port}, no egress policy applies` };
  }
  if (m.mode === 'REGISTRY_ONLY') {
    const bh = blackholeResult(protocol, portHasHttpListener);
    return {
      verdict: 'blackhole', code: bh.code, control: 'EgressPolicy', name: m.name,
      reason: `${what}; outboundTrafficPolicy REGISTRY_ONLY (set by ${describeMode(m)}) sends it to the BlackHoleCluster: ${bh.how}. To allow it: ${lookup.fix}`,
    };
  }
  const via = m.egressProxy
    ? `the egressProxy ${m.egressProxy.host}${m.egressProxy.port !== undefined ? `:${m.egressProxy.port}` : ''} of ${describeMode(m)}`
    : 'the PassthroughCluster to the original destination';
  const hiddenNote = lookup.kind === 'hidden'
    ? ' A hidden in-mesh service is reached without mTLS: a STRICT server rejects it and principal-based ALLOW policies deny it.'
    : '';
  return { verdict: 'passthrough', reason: `${what}; outboundTrafficPolicy ${m.mode} (set by ${describeMode(m)}) forwards it through ${via} as the app sent it — ${protocol === 'tls' ? 'inside the app\'s own TLS' : 'in plaintext'}, never with Istio mTLS.${hiddenNote}` };
}
