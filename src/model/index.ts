/**
 * MeshIndex: the lookups the request pipeline makes on every decision, built
 * once per mesh instead of scanning the whole model each time (architecture
 * habit 7: the hot path is plain code over precompiled indexes).
 *
 * Every lookup answers exactly what the linear scan it replaces answered,
 * including which element wins when several match (the first in load order):
 *  - `workload(id)`          = mesh.workloads.find((w) => w.id === id)
 *  - `workloadAt(ip)`        = mesh.workloads.find((w) => w.ip === ip)
 *  - `services(fqdn)`        = mesh.services.filter((s) => s.fqdn === fqdn)
 *  - `serviceAt(clusterIP)`  = mesh.services.find((s) => s.clusterIP === ip)
 *  - `endpoints(s)`          = the workloads of s's namespace its non-empty
 *                              selector matches (Kubernetes endpoints), load order
 *  - `workloadsIn(ns)`        = mesh.workloads.filter((w) => w.namespace === ns)
 *  - `servicesSelecting(w)`  = the Services of w's namespace whose endpoints
 *                              include w, load order
 *  - `serviceEntryFor(host)` = the first ServiceEntry listing `host` (compared
 *                              lower-case) among its hosts
 *  - `servicesOnPort(port, ns?)` = mesh.services.filter((s) => (ns === undefined
 *                              || s.namespace === ns) && s.ports.some((p) => p.port === port))
 *  - `serviceEntriesOnPort(port, ns?)` = the same over mesh.serviceEntries
 *                              (`se.ports[].number`, `se.meta.namespace`)
 *  - `authorizationPolicies(ns)`, `peerAuthentications(ns)`,
 *    `networkPolicies(ns)`, `destinationRules(ns)`, `sidecars(ns)`: the
 *    resources living in a namespace, load order.
 *
 * The model is immutable; the index is cached per Mesh object (a WeakMap),
 * and rebuilt when the mesh's lists are replaced (a counterfactual copy of a
 * mesh with one control removed is another object, so it gets its own index).
 * Lists handed out are shared: callers must not mutate them.
 */
import type { ServiceEntry, Sidecar } from './egress.js';
import type { NetworkPolicy } from './network-policy.js';
import type { AuthorizationPolicy, DestinationRule, Mesh, PeerAuthentication, Service, Workload } from './types.js';
import { selectorMatches } from './types.js';

export interface MeshIndex {
  workload(id: string): Workload | undefined;
  /** the workloads of a namespace, load order */
  workloadsIn(ns: string): readonly Workload[];
  workloadAt(ip: string): Workload | undefined;
  services(fqdn: string): readonly Service[];
  serviceAt(clusterIp: string): Service | undefined;
  endpoints(s: Service): readonly Workload[];
  servicesSelecting(w: Workload): readonly Service[];
  /**
   * `workloads.filter((w) => (ns === undefined || w.namespace === ns) && selectorMatches(selector, w.labels))`, in
   * load order, through a label index (LabelIndex.matching) rather than a scan per selector.
   */
  workloadsMatching(selector: Readonly<Record<string, string>>, ns?: string): readonly Workload[];
  serviceEntryFor(host: string): ServiceEntry | undefined;
  authorizationPolicies(ns: string): readonly AuthorizationPolicy[];
  peerAuthentications(ns: string): readonly PeerAuthentication[];
  networkPolicies(ns: string): readonly NetworkPolicy[];
  destinationRules(ns: string): readonly DestinationRule[];
  sidecars(ns: string): readonly Sidecar[];
  servicesOnPort(port: number, ns?: string): readonly Service[];
  serviceEntriesOnPort(port: number, ns?: string): readonly ServiceEntry[];
  /** a per-mesh memo for derived facts the pipeline recomputes often (see decide.ts); keys are the caller's */
  memo<T>(table: string, key: string, make: () => T): T;
  /** the same, keyed by an object of the mesh (a Service, a Sidecar): no key text to build and hash per lookup */
  memoFor<T>(table: string, key: object, make: () => T): T;
}

/** Things by port number, then by namespace (built on first use). */
interface ByPort<T> {
  all: Map<number, T[]>;
  byNs: Map<number, Map<string, T[]>>;
}

function byPort<T>(list: readonly T[], ports: (x: T) => Iterable<number>, ns: (x: T) => string): ByPort<T> {
  const out: ByPort<T> = { all: new Map(), byNs: new Map() };
  for (const x of list) {
    const seen = new Set<number>();
    for (const p of ports(x)) {
      if (seen.has(p)) continue;
      seen.add(p);
      const l = out.all.get(p);
      if (l) l.push(x); else out.all.set(p, [x]);
      let m = out.byNs.get(p);
      if (!m) { m = new Map(); out.byNs.set(p, m); }
      const k = ns(x);
      const ln = m.get(k);
      if (ln) ln.push(x); else m.set(k, [x]);
    }
  }
  return out;
}

function onPort<T>(idx: ByPort<T>, port: number, ns: string | undefined): readonly T[] {
  return (ns === undefined ? idx.all.get(port) : idx.byNs.get(port)?.get(ns)) ?? NONE;
}

const NONE: readonly never[] = Object.freeze([]);

function firstBy<T>(list: readonly T[], key: (x: T) => string): Map<string, T> {
  const m = new Map<string, T>();
  for (const x of list) {
    const k = key(x);
    if (!m.has(k)) m.set(k, x);
  }
  return m;
}

function groupBy<T>(list: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of list) {
    const k = key(x);
    const l = m.get(k);
    if (l) l.push(x); else m.set(k, [x]);
  }
  return m;
}

/** What an index was built from: a replaced list (or one grown in place) means a stale index. */
interface Built {
  index: MeshIndex;
  workloads: Mesh['workloads'];
  services: Mesh['services'];
  serviceEntries: Mesh['serviceEntries'];
  authorizationPolicies: Mesh['authorizationPolicies'];
  peerAuthentications: Mesh['peerAuthentications'];
  networkPolicies: Mesh['networkPolicies'];
  destinationRules: Mesh['destinationRules'];
  sidecars: Mesh['sidecars'];
  config: Mesh['config'];
  workloadCount: number;
  serviceCount: number;
}

const cache = new WeakMap<Mesh, Built>();

function fresh(b: Built, m: Mesh): boolean {
  return b.workloads === m.workloads && b.services === m.services && b.serviceEntries === m.serviceEntries
    && b.authorizationPolicies === m.authorizationPolicies && b.peerAuthentications === m.peerAuthentications
    && b.networkPolicies === m.networkPolicies && b.destinationRules === m.destinationRules && b.sidecars === m.sidecars
    && b.config === m.config && b.workloadCount === m.workloads.length && b.serviceCount === m.services.length;
}

export function meshIndex(mesh: Mesh): MeshIndex {
  const hit = cache.get(mesh);
  if (hit && fresh(hit, mesh)) return hit.index;
  const index = buildIndex(mesh);
  cache.set(mesh, {
    index, workloads: mesh.workloads, services: mesh.services, serviceEntries: mesh.serviceEntries,
    authorizationPolicies: mesh.authorizationPolicies, peerAuthentications: mesh.peerAuthentications,
    networkPolicies: mesh.networkPolicies, destinationRules: mesh.destinationRules, sidecars: mesh.sidecars,
    config: mesh.config, workloadCount: mesh.workloads.length, serviceCount: mesh.services.length,
  });
  return index;
}

function buildIndex(mesh: Mesh): MeshIndex {
  const byId = firstBy(mesh.workloads, (w) => w.id);
  const byIp = firstBy(mesh.workloads, (w) => w.ip);
  const byNs = groupBy(mesh.workloads, (w) => w.namespace);
  const svcByFqdn = groupBy(mesh.services, (s) => s.fqdn);
  const svcByIp = firstBy(mesh.services, (s) => s.clusterIP);
  const svcByNs = groupBy(mesh.services, (s) => s.namespace);
  const seByHost = new Map<string, ServiceEntry>();
  for (const se of mesh.serviceEntries) {
    for (const h of se.hosts) {
      const k = h.toLowerCase();
      if (!seByHost.has(k)) seByHost.set(k, se);
    }
  }
  const aps = groupBy(mesh.authorizationPolicies, (p) => p.meta.namespace);
  const pas = groupBy(mesh.peerAuthentications, (p) => p.meta.namespace);
  const nps = groupBy(mesh.networkPolicies, (p) => p.meta.namespace);
  const drs = groupBy(mesh.destinationRules, (p) => p.meta.namespace);
  const scs = groupBy(mesh.sidecars, (p) => p.meta.namespace);
  const endpoints = new Map<Service, readonly Workload[]>();
  const selecting = new Map<Workload, readonly Service[]>();
  const memos = new Map<string, Map<string, unknown>>();
  const objMemos = new Map<string, WeakMap<object, unknown>>();
  let svcPorts: ByPort<Service> | null = null;
  let sePorts: ByPort<ServiceEntry> | null = null;

  // Pods by label (made on first use): a Service's endpoints are the pods carrying its selector's rarest pair that
  // match the rest, not a scan of its namespace (20,000 Services over 4,000 pods of one namespace: 80 M checks).
  let pods: LabelIndex<Workload> | null = null;
  const endpointsOf = (s: Service): readonly Workload[] => {
    let eps = endpoints.get(s);
    if (eps === undefined) {
      const sel = s.selector;
      eps = sel === null || Object.keys(sel).length === 0 ? NONE : (pods ??= labelIndex(mesh.workloads)).matching(sel, s.namespace);
      endpoints.set(s, eps);
    }
    return eps;
  };
  // The Services selecting each pod, made a namespace at a time from the Services' endpoints (in Service order),
  // not by asking every Service of the namespace about every pod.
  const selectingDone = new Set<string>();
  const selectingOf = (w: Workload): readonly Service[] => {
    if (!selectingDone.has(w.namespace)) {
      selectingDone.add(w.namespace);
      for (const s of svcByNs.get(w.namespace) ?? NONE) {
        for (const ep of endpointsOf(s)) {
          const l = selecting.get(ep) as Service[] | undefined;
          if (l === undefined) selecting.set(ep, [s]); else if (l[l.length - 1] !== s) l.push(s);
        }
      }
    }
    return selecting.get(w) ?? NONE;
  };

  return {
    workload: (id) => byId.get(id),
    workloadsIn: (ns) => byNs.get(ns) ?? NONE,
    workloadAt: (ip) => byIp.get(ip),
    services: (fqdn) => svcByFqdn.get(fqdn) ?? NONE,
    serviceAt: (ip) => svcByIp.get(ip),
    endpoints: endpointsOf,
    servicesSelecting: selectingOf,
    workloadsMatching: (selector, ns) => (pods ??= labelIndex(mesh.workloads)).matching(selector, ns),
    serviceEntryFor: (host) => seByHost.get(host),
    authorizationPolicies: (ns) => aps.get(ns) ?? NONE,
    peerAuthentications: (ns) => pas.get(ns) ?? NONE,
    networkPolicies: (ns) => nps.get(ns) ?? NONE,
    destinationRules: (ns) => drs.get(ns) ?? NONE,
    sidecars: (ns) => scs.get(ns) ?? NONE,
    servicesOnPort(port, ns) {
      svcPorts ??= byPort(mesh.services, (s) => s.ports.map((p) => p.port), (s) => s.namespace);
      return onPort(svcPorts, port, ns);
    },
    serviceEntriesOnPort(port, ns) {
      sePorts ??= byPort(mesh.serviceEntries, (se) => se.ports.map((p) => p.number), (se) => se.meta.namespace);
      return onPort(sePorts, port, ns);
    },
    memo<T>(table: string, key: string, make: () => T): T {
      let t = memos.get(table);
      if (!t) { t = new Map(); memos.set(table, t); }
      if (t.has(key)) return t.get(key) as T;
      const v = make();
      t.set(key, v);
      return v;
    },
    memoFor<T>(table: string, key: object, make: () => T): T {
      let t = objMemos.get(table);
      if (!t) { t = new WeakMap(); objMemos.set(table, t); }
      if (t.has(key)) return t.get(key) as T;
      const v = make();
      t.set(key, v);
      return v;
    },
  };
}

/**
 * Selector lookups over a list of labelled things (workloads, pods) without a
 * scan per query: `matching(selector, ns)` answers exactly
 * `list.filter((x) => (ns === undefined || x.namespace === ns) && selectorMatches(selector, x.labels))`,
 * in list order. It looks up the candidates that carry the selector's rarest
 * `key=value` pair (a Map per key, so any user-given key is safe) and checks
 * the rest of the selector on those only; an empty selector is the whole
 * namespace (or the whole list). Build it once per list; the list must not
 * change afterwards.
 */
export interface LabelIndex<T extends { namespace: string; labels: Readonly<Record<string, string>> }> {
  matching(selector: Readonly<Record<string, string>>, ns?: string): readonly T[];
  /** the items of one namespace, list order */
  inNamespace(ns: string): readonly T[];
}

interface Scope<T> {
  all: T[];
  byLabel: Map<string, Map<string, T[]>>;
}

export function labelIndex<T extends { namespace: string; labels: Readonly<Record<string, string>> }>(list: readonly T[]): LabelIndex<T> {
  const whole: Scope<T> = { all: [], byLabel: new Map() };
  const perNs = new Map<string, Scope<T>>();
  const add = (s: Scope<T>, x: T): void => {
    s.all.push(x);
    for (const k in x.labels) {
      if (!Object.hasOwn(x.labels, k)) continue;
      const v = x.labels[k] as string;
      let byValue = s.byLabel.get(k);
      if (!byValue) { byValue = new Map(); s.byLabel.set(k, byValue); }
      const l = byValue.get(v);
      if (l) l.push(x); else byValue.set(v, [x]);
    }
  };
  for (const x of list) {
    add(whole, x);
    let s = perNs.get(x.namespace);
    if (!s) { s = { all: [], byLabel: new Map() }; perNs.set(x.namespace, s); }
    add(s, x);
  }
  return {
    inNamespace: (ns) => perNs.get(ns)?.all ?? NONE,
    matching(selector, ns) {
      const s = ns === undefined ? whole : perNs.get(ns);
      if (!s) return NONE;
      let best: readonly T[] | undefined;
      for (const k in selector) {
        if (!Object.hasOwn(selector, k)) continue;
        const bucket = s.byLabel.get(k)?.get(selector[k] as string);
        if (!bucket) return NONE;
        if (best === undefined || bucket.length < best.length) best = bucket;
      }
      if (best === undefined) return s.all;
      return best.filter((x) => selectorMatches(selector, x.labels));
    },
  };
}
