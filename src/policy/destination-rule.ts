/**
 * DestinationRule lookup and client TLS settings (istio-semantics §5.1, §5.2).
 *
 * Lookup for a client in namespace C and a host H (Istio push_context.go destinationRule):
 *  1. DRs in C visible to C whose host matches H (exact beats wildcard, longer wildcard beats shorter); a client in
 *     the root namespace reads only the root's private rules here (one exportTo entry, `.` or the root, or a selector);
 *  2. else, in the service's namespace, the most specific host among the rules not private to it, then those of them
 *     exported to C (a more specific host exported elsewhere hides a wider one exported to C);
 *  3. else the same in the root namespace.
 * `exportTo` empty or `*` = everywhere, `.` = own namespace, else a list (validated by the loader as Istio does).
 * A DR with a workloadSelector applies only to the clients it selects, in its own namespace.
 * Several DRs for one host in one namespace merge: subsets unioned, the
 * oldest top-level trafficPolicy wins.
 * TLS block: port-level for the destination (service) port, else subset, else top-level.
 */
import type { ClientTlsSettings, DestinationRule, Labels, Mesh, Subset, TrafficPolicy } from '../model/types.js';
import { meshIndex, type MeshIndex } from '../model/index.js';
import { selectorMatches } from '../model/types.js';
import { ownValue } from '../core/record.js';
import { olderFirst } from './peer-authentication.js';

export function hostMatches(pattern: string, host: string): number {
  if (pattern === host) return 10_000;
  if (pattern === '*') return 1;
  if (pattern.startsWith('*.') && host.endsWith(pattern.slice(1))) return pattern.length;
  return 0;
}

export function exportedTo(dr: DestinationRule, clientNs: string): boolean {
  if (dr.exportTo.length === 0) return true;
  return dr.exportTo.some((e) => e === '*' || e === clientNs || (e === '.' && dr.meta.namespace === clientNs));
}

/**
 * Private: exportTo of exactly one entry, `.` or the rule's own namespace, or a workloadSelector (Istio exports those to
 * `.` whatever they say). Istio's exported index holds every other rule; a root-namespace client reads the root's
 * private ones first. (The loader refuses duplicate entries, as Istio's validation does.)
 */
export function isPrivate(dr: DestinationRule): boolean {
  if (dr.workloadSelector !== null) return true;
  const only = dr.exportTo.length === 1 ? dr.exportTo[0] : undefined;
  return only === '.' || only === dr.meta.namespace;
}

export interface DrChoice {
  rule: DestinationRule;
  /** the DRs of this choice: the consolidated rule's own, then those merged into it, in merge order */
  merged: DestinationRule[];
  step: 'client-namespace' | 'service-namespace' | 'root-namespace';
}

const NO_RULES: readonly DestinationRule[] = [];

/** A namespace's DestinationRules by their host as written, those whose host starts with `*` apart (`wildByHost`), load order. */
interface HostIndex {
  exact: Map<string, DestinationRule[]>;
  /** those whose host starts with `*`, by their host as written (`*`, `*.suffix`, or a pattern only an equal host matches) */
  wildByHost: Map<string, DestinationRule[]>;
  /** some rule of the namespace has a workloadSelector (then its answers depend on the client's labels) */
  selectors: boolean;
}

/** The wild rules of an index that can match `host` (hostMatches > 0): equal to it, `*`, or a `*.suffix` it ends with. */
function wildFor(ix: HostIndex, host: string, visit: (dr: DestinationRule) => void): void {
  const byHost = ix.wildByHost;
  for (const dr of byHost.get(host) ?? NO_RULES) visit(dr);
  if (host !== '*') for (const dr of byHost.get('*') ?? NO_RULES) visit(dr);
  for (let i = host.indexOf('.'); i >= 0; i = host.indexOf('.', i + 1)) {
    const pattern = `*${host.slice(i)}`;
    if (pattern !== host) for (const dr of byHost.get(pattern) ?? NO_RULES) visit(dr);
  }
}

/** Below this many rules in a namespace they are read as they are; from it on, through the host index. */
const HOST_INDEX_MIN = 16;

/** Host indexes by mesh index and namespace (plain maps, no closure per lookup: a request asks up to three times). */
const hostIndexes = new WeakMap<MeshIndex, Map<string, HostIndex>>();

function hostIndex(index: MeshIndex, ns: string, rules: readonly DestinationRule[]): HostIndex {
  let byNs = hostIndexes.get(index);
  if (byNs === undefined) { byNs = new Map(); hostIndexes.set(index, byNs); }
  let ix = byNs.get(ns);
  if (ix === undefined) {
    ix = { exact: new Map(), wildByHost: new Map(), selectors: rules.some((dr) => dr.workloadSelector !== null) };
    for (const dr of rules) {
      if (dr.fqdnHost.startsWith('*')) {
        const same = ix.wildByHost.get(dr.fqdnHost);
        if (same) same.push(dr); else ix.wildByHost.set(dr.fqdnHost, [dr]);
        continue;
      }
      const l = ix.exact.get(dr.fqdnHost);
      if (l) l.push(dr); else ix.exact.set(dr.fqdnHost, [dr]);
    }
    byNs.set(ns, ix);
  }
  return ix;
}

/**
 * Answers of findDestinationRule by mesh index, for clients whose namespace has no workloadSelector rule, and the
 * distinct answers they point to (by step and merged rules): many (namespace, host) pairs share one answer, which
 * is kept once, not copied per pair. At most MAX_KEPT pairs per mesh; past that, answers are worked out again.
 */
const answers = new WeakMap<MeshIndex, { byKey: Map<string, DrChoice | null>; distinct: Map<string, DrChoice> }>();
const MAX_KEPT = 65_536;

/**
 * The DestinationRule a client of `clientNs` uses for `host` (§10: the client's namespace, then the service's, then
 * the root namespace; the most specific host; rules of one host merged, oldest first). Made once per (namespace,
 * service namespace, host) when that read 16 rules or more, unless the client's namespace has a rule with a
 * workloadSelector: 4,000 wildcard rules of the root namespace were scanned, 2,000 of them merged, at every request.
 * Do not change the answer: it is shared.
 */
export function findDestinationRule(mesh: Mesh, clientNs: string, clientLabels: Labels, host: string, serviceNs: string | null): DrChoice | null {
  if (mesh.destinationRules.length === 0) return null;
  const index = meshIndex(mesh);
  const own = index.destinationRules(clientNs);
  if (own.length > 0 && (own.length < HOST_INDEX_MIN ? own.some((dr) => dr.workloadSelector !== null) : hostIndex(index, clientNs, own).selectors)) {
    return chooseDestinationRule(mesh, index, clientNs, clientLabels, host, serviceNs);
  }
  let kept = answers.get(index);
  if (kept === undefined) { kept = { byKey: new Map(), distinct: new Map() }; answers.set(index, kept); }
  const key = `${mesh.config.rootNamespace}\n${clientNs}\n${serviceNs === null ? '' : `+${serviceNs}`}\n${host}`;
  let out = kept.byKey.get(key);
  if (out === undefined) {
    const cost = { rules: 0 };
    out = chooseDestinationRule(mesh, index, clientNs, clientLabels, host, serviceNs, cost);
    // kept only when it was work: a plain mesh asks namespaces x services, and its few rules cost nothing to read again
    if (cost.rules >= HOST_INDEX_MIN && kept.byKey.size < MAX_KEPT) {
      if (out !== null) {
        const id = `${out.step}\n${out.merged.map((d) => d.meta.order).join(',')}`;
        const same = kept.distinct.get(id);
        if (same !== undefined) out = same; else kept.distinct.set(id, out);
      }
      kept.byKey.set(key, out);
    }
  }
  return out;
}

/** One of Istio's consolidated rules (ConsolidatedDestRule): a rule, the later rules merged into it, and its exportTo. */
interface Consolidated {
  /** the exportTo set it was made with (a rule with a workloadSelector: `.` whatever it says); empty: everywhere */
  exportTo: ReadonlySet<string>;
  /** the rule it was made from, then those merged into it, in merge order */
  rules: DestinationRule[];
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => ownValue(b, k) === ownValue(a, k));
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** a ⊋ b (equal sets are sameSet's): only a larger set can be one, so most pairs cost a size compare */
function supersetOf(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size <= b.size) return false;
  for (const x of b) if (!a.has(x)) return false;
  return true;
}

/** Rules with a selector first, then oldest first (Istio's sortConfigBySelectorAndCreationTime, before merging). */
function selectorThenAge(a: DestinationRule, b: DestinationRule): number {
  const sa = a.workloadSelector !== null;
  if (sa !== (b.workloadSelector !== null)) return sa ? -1 : 1;
  return olderFirst(a, b);
}

/**
 * The consolidated rules one of Istio's per-namespace indexes holds for one host, from the index's rules for that
 * host (Istio's mergeDestinationRule with ENABLE_ENHANCED_DESTINATIONRULE_MERGE, on by default since 1.24). Each rule,
 * in selectorThenAge order, is merged into every earlier consolidated rule whose exportTo set equals its own, or is a
 * non-empty subset of it, unless both have selectors that differ; it becomes a consolidated rule of its own when it
 * was merged nowhere, or when the last it met said so: one that differs in exportTo, or has another selector, or
 * (for a subset) holds the rule's merge beside a standalone copy. Merging adds the subsets not yet named and the
 * top-level trafficPolicy when the consolidated rule has none: the oldest one wins. As in Istio (istio/istio#58322),
 * a rule without a selector whose exportTo set equals a selector rule's (`["."]`) is merged into that rule and nothing
 * else: the workloads the selector does not pick get no rule from it (lint warns: dr-merged-into-selector).
 */
export function consolidate(rules: readonly DestinationRule[]): Consolidated[] {
  const out: Consolidated[] = [];
  for (const r of [...rules].sort(selectorThenAge)) {
    const mine = exportSetOf(r);
    let standalone = true;
    for (const c of out) {
      if (sameSet(mine, c.exportTo)) standalone = false;
      else if (c.exportTo.size > 0 && supersetOf(mine, c.exportTo)) standalone = true;
      else { standalone = true; continue; }
      const base = c.rules[0] as DestinationRule;
      const bothWith = r.workloadSelector !== null && base.workloadSelector !== null;
      const bothWithout = r.workloadSelector === null && base.workloadSelector === null;
      const match = bothWith && sameLabels(r.workloadSelector as Labels, base.workloadSelector as Labels);
      if (bothWith && !match) { standalone = true; continue; }
      if (bothWithout || match) standalone = false;
      c.rules.push(r);
    }
    if (standalone) out.push({ exportTo: mine, rules: [r] });
  }
  return out;
}

/**
 * consolidate's answer for one index of one namespace and one host (`key`), kept per mesh index: it does not depend
 * on the client, and thousands of rules of one host (each exported elsewhere) were consolidated at every request of a
 * client whose namespace has a selector rule. At most MAX_KEPT keys; past that, worked out again.
 */
const consolidatedByIndex = new WeakMap<MeshIndex, Map<string, Consolidated[]>>();

function consolidatedFor(index: MeshIndex, key: string, found: readonly DestinationRule[]): Consolidated[] {
  if (found.length === 1) return [{ exportTo: exportSetOf(found[0] as DestinationRule), rules: [found[0] as DestinationRule] }];
  let byKey = consolidatedByIndex.get(index);
  if (byKey === undefined) { byKey = new Map(); consolidatedByIndex.set(index, byKey); }
  let out = byKey.get(key);
  if (out === undefined) {
    out = consolidate(found);
    if (byKey.size < MAX_KEPT) byKey.set(key, out);
  }
  return out;
}

/** The exportTo set Istio consolidates a rule under: `.` for a rule with a selector, else the set as written. */
function exportSetOf(r: DestinationRule): ReadonlySet<string> {
  return r.workloadSelector !== null ? DOT_ONLY : new Set(r.exportToWritten ?? r.exportTo);
}
const DOT_ONLY: ReadonlySet<string> = new Set(['.']);

/**
 * The consolidated rule a client uses of those its namespace's lookup returned (Istio's SidecarScope.DestinationRule):
 * the first made from a rule whose selector picks the client (a selector counts in the client's own namespace only),
 * else the last made from a rule without one; none when every one has a selector that does not pick it.
 */
function sidecarChoice(entries: readonly Consolidated[], clientNs: string, clientLabels: Labels): Consolidated | null {
  let catchAll: Consolidated | null = null;
  for (const c of entries) {
    const base = c.rules[0] as DestinationRule;
    if (base.workloadSelector === null) { catchAll = c; continue; }
    if (base.meta.namespace === clientNs && selectorMatches(base.workloadSelector, clientLabels)) return c;
  }
  return catchAll;
}

function chooseDestinationRule(mesh: Mesh, index: MeshIndex, clientNs: string, clientLabels: Labels, host: string, serviceNs: string | null, cost = { rules: 0 }): DrChoice | null {
  /**
   * The rules of namespace `ns` for the host: every rule with the most specific matching host, and of those the
   * ones that apply to the client (no selector, or — in the client's own namespace — a selector that selects it),
   * in merge order. In the client's namespace a rule with a selector takes part in finding the most specific host
   * even when it does not select the client (Istio's MostSpecificHostMatch, then SidecarScope.DestinationRule): a host
   * there with only such rules gives the client no rule at all, and the search stops.
   */
  const pick = (ns: string, local: boolean, privateOnly: boolean): { matched: boolean; rules: DestinationRule[] } => {
    let best = 0;
    let found: DestinationRule[] = [];
    const consider = (dr: DestinationRule): void => {
      cost.rules++;
      // the client's own namespace: the rules visible to it (Istio's namespace-local index); another namespace: the
      // rules not private to it (the exported index), the most specific host chosen among them before keeping those
      // exported to the client (getExportedDestinationRuleFromNamespace); a root client's first step: the root's
      // private rules
      if (local ? !exportedTo(dr, clientNs) : isPrivate(dr)) return;
      if (privateOnly && !isPrivate(dr)) return;
      const score = hostMatches(dr.fqdnHost, host);
      if (score === 0) return;
      if (score > best) { best = score; found = [dr]; } else if (score === best) found.push(dr);
    };
    // Only the namespace's own can match, and of those only the ones written as this host or as a wildcard (the
    // rest score 0): not every DestinationRule of the mesh, three times per request. The best score wins whatever
    // the order (one host: equal scores are equal hosts).
    const rules = index.destinationRules(ns);
    if (rules.length < HOST_INDEX_MIN) {
      for (const dr of rules) consider(dr);
    } else {
      const ix = hostIndex(index, ns, rules);
      for (const dr of ix.exact.get(host) ?? NO_RULES) consider(dr);
      wildFor(ix, host, consider);
    }
    if (found.length === 0) return { matched: false, rules: [] };
    let entries = consolidatedFor(index, `${local ? (privateOnly ? 'p' : 'l') : 'e'}\n${ns}\n${(found[0] as DestinationRule).fqdnHost}`, found);
    // another namespace's consolidated rules count only when exported to the client (by the set each was made with)
    if (!local) entries = entries.filter((c) => c.exportTo.size === 0 || c.exportTo.has('*') || c.exportTo.has(clientNs));
    const chosen = sidecarChoice(entries, clientNs, clientLabels);
    return { matched: entries.length > 0, rules: chosen === null ? [] : chosen.rules };
  };
  // The client's namespace's rules visible to it (exportTo empty, `*`, `.` or naming it: Istio's namespace-local
  // index); for a client in the root namespace only the root's private ones (`.` or the root's name, or a selector)
  // come first, its public ones last, after the service's namespace (istio-semantics §5.1; push_context
  // destinationRule()).
  const root = mesh.config.rootNamespace;
  const steps: [string | null, boolean, DrChoice['step']][] = [
    [clientNs, true, 'client-namespace'],
    [serviceNs, false, 'service-namespace'],
    [root, false, 'root-namespace'],
  ];
  for (const [ns, local, step] of steps) {
    if (ns === null) continue;
    const { matched, rules: found } = pick(ns, local, step === 'client-namespace' && ns === root);
    // the client's namespace (or the root's private rules) had the host: its answer, even none (SidecarScope);
    // elsewhere a host whose rules are exported to other namespaces only: on to the next namespace
    if (local && matched && found.length === 0) return null;
    const first = found[0];
    if (first) {
      const subsets = new Map<string, Subset>();
      for (const dr of found) for (const s of dr.subsets) if (!subsets.has(s.name)) subsets.set(s.name, s);
      const withPolicy = found.find((d) => d.trafficPolicy !== undefined);
      const rule: DestinationRule = { ...first, subsets: [...subsets.values()] };
      if (withPolicy?.trafficPolicy) rule.trafficPolicy = withPolicy.trafficPolicy;
      return { rule, merged: found, step };
    }
  }
  return null;
}

/**
 * The TLS block a client's cluster for `servicePort` (and subset) gets, as Istio merges a DestinationRule's traffic
 * policies (MergeSubsetTrafficPolicy): a port-level entry replaces the policy it sits in wholesale — its fields do not
 * inherit, so an entry without `tls` means no TLS block (auto mTLS decides) — and the subset's policy overrides the
 * top level: subset port-level entry, else subset `tls`, else top-level port-level entry, else top-level `tls`.
 * `tls: null`: the port-level entry that decides sets no TLS.
 */
export function tlsSettingsFor(dr: DestinationRule, servicePort: number, subsetName?: string):
  { tls: ClientTlsSettings; from: 'port' | 'subset' | 'top' } | { tls: null; from: 'port' } | null {
  const subset = subsetName ? dr.subsets.find((s) => s.name === subsetName) : undefined;
  const stp = subset?.trafficPolicy;
  const subsetPort = stp?.portLevelSettings?.find((p) => p.port === servicePort);
  if (subsetPort) return subsetPort.tls ? { tls: subsetPort.tls, from: 'port' } : { tls: null, from: 'port' };
  if (stp?.tls) return { tls: stp.tls, from: 'subset' };
  const topPort = dr.trafficPolicy?.portLevelSettings?.find((p) => p.port === servicePort);
  if (topPort) return topPort.tls ? { tls: topPort.tls, from: 'port' } : { tls: null, from: 'port' };
  if (dr.trafficPolicy?.tls) return { tls: dr.trafficPolicy.tls, from: 'top' };
  return null;
}

/**
 * The DestinationRule's TLS mode that Istio's EDS reads for the endpoints of a cluster whose TLS auto mTLS decides
 * (endpoints/mtls_checker.go) — not the merge above: a port-level entry overrides the policy it sits in only when it
 * sets `tls`. For the cluster of no subset, the rule's top-level policy; for a subset's cluster, that subset's own
 * policy alone (no fallback to the top level). A mode read here decides for every endpoint: ISTIO_MUTUAL keeps the
 * endpoint's Istio tlsMode whatever its PeerAuthentication says, any other mode strips it (plaintext); none leaves
 * the endpoint to its label and PeerAuthentication. `from` says where the mode was read.
 */
export function endpointTlsMode(dr: DestinationRule, servicePort: number, subsetName?: string): { mode: ClientTlsSettings['mode']; from: string } | null {
  const modeFor = (tp: TrafficPolicy | undefined): ClientTlsSettings['mode'] | null => {
    if (tp === undefined) return null;
    const port = tp.portLevelSettings?.find((p) => p.port === servicePort && p.tls !== undefined);
    return port?.tls?.mode ?? tp.tls?.mode ?? null;
  };
  if (subsetName) {
    const subset = dr.subsets.find((s) => s.name === subsetName);
    const own = modeFor(subset?.trafficPolicy);
    return own === null ? null : { mode: own, from: `subset ${subsetName}` };
  }
  const top = modeFor(dr.trafficPolicy);
  return top === null ? null : { mode: top, from: 'the rule\'s own' };
}

/** A traffic policy's own `loadBalancer.simple` (top level or subset): '' for a loadBalancer without one, undefined for none. */
function lbSimpleOf(tp: TrafficPolicy | undefined): string | undefined {
  const lb = tp?.raw['loadBalancer'];
  if (lb === null || typeof lb !== 'object' || Array.isArray(lb)) return undefined;
  const simple = (lb as Record<string, unknown>)['simple'];
  return typeof simple === 'string' ? simple : '';
}

/**
 * Does the rule's top-level traffic policy set `loadBalancer.simple: PASSTHROUGH`? Istio's
 * BestEffortInferServiceMTLSMode reads the top level alone: such a Service is treated like a headless one, and auto
 * mTLS is off for it (plaintext to every endpoint) when an endpoint of the port has no sidecar, or there is none.
 */
export function topLevelLbPassthrough(dr: DestinationRule): boolean {
  return lbSimpleOf(dr.trafficPolicy) === 'PASSTHROUGH';
}

/**
 * Is the cluster of `servicePort` (and `subsetName`) ORIGINAL_DST because of a PASSTHROUGH load balancer
 * (applyLoadBalancer)? The load balancer merges as TLS does (MergeTrafficPolicy): a port-level entry of the subset for
 * the port, else the subset's own, else a top-level port-level entry for the port, else the top level — a port-level
 * entry replaces the load balancer even when it sets none. An ORIGINAL_DST cluster has no EDS endpoint metadata, so
 * auto mTLS is not decided per endpoint there (applyUpstreamTLSSettings): Istio mTLS goes to every endpoint, with or
 * without a sidecar, whatever its PeerAuthentication.
 */
export function clusterLbPassthrough(dr: DestinationRule, servicePort: number, subsetName?: string): boolean {
  const subset = subsetName ? dr.subsets.find((s) => s.name === subsetName) : undefined;
  const stp = subset?.trafficPolicy;
  const subsetPort = stp?.portLevelSettings?.find((p) => p.port === servicePort);
  if (subsetPort) return subsetPort.lbSimple === 'PASSTHROUGH';
  const own = lbSimpleOf(stp);
  if (own !== undefined) return own === 'PASSTHROUGH';
  const topPort = dr.trafficPolicy?.portLevelSettings?.find((p) => p.port === servicePort);
  if (topPort) return topPort.lbSimple === 'PASSTHROUGH';
  return lbSimpleOf(dr.trafficPolicy) === 'PASSTHROUGH';
}
