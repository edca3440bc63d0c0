/**
 * DestinationRule lookup and client TLS settings (istio-semantics §5.1, §5.2).
 *
 * Lookup for a client in namespace C and a host H:
 *  1. DRs in C whose host matches H (exact beats wildcard, longer wildcard beats shorter);
 *  2. else DRs in the service's namespace exported to C;
 *  3. else DRs in the root namespace exported to C.
 * `exportTo` empty or `*` = everywhere, `.` = own namespace, else a list.
 * A DR with a workloadSelector applies only to the clients it selects.
 * Several DRs for one host in one namespace merge: subsets unioned, the
 * oldest top-level trafficPolicy wins.
 * TLS block: port-level for the destination (service) port, else subset, else top-level.
 */
import type { ClientTlsSettings, DestinationRule, Labels, Mesh, Subset } from '../model/types.js';
import { meshIndex, type MeshIndex } from '../model/index.js';
import { selectorMatches } from '../model/types.js';

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

export interface DrChoice {
  rule: DestinationRule;
  /** all DRs merged into this choice, oldest first */
  merged: DestinationRule[];
  step: 'client-namespace' | 'service-namespace' | 'root-namespace';
}

const NO_RULES: readonly DestinationRule[] = [];

/** A namespace's DestinationRules by their host as written (`exact`), and those whose host starts with `*` (`wild`), load order. */
interface HostIndex {
  exact: Map<string, DestinationRule[]>;
  wild: DestinationRule[];
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
    ix = { exact: new Map(), wild: [] };
    for (const dr of rules) {
      if (dr.fqdnHost.startsWith('*')) { ix.wild.push(dr); continue; }
      const l = ix.exact.get(dr.fqdnHost);
      if (l) l.push(dr); else ix.exact.set(dr.fqdnHost, [dr]);
    }
    byNs.set(ns, ix);
  }
  return ix;
}

export function findDestinationRule(mesh: Mesh, clientNs: string, clientLabels: Labels, host: string, serviceNs: string | null): DrChoice | null {
  if (mesh.destinationRules.length === 0) return null;
  const index = meshIndex(mesh);
  const pick = (ns: string, needExport: boolean): DestinationRule[] => {
    let best = 0;
    let found: DestinationRule[] = [];
    const consider = (dr: DestinationRule): void => {
      if (needExport && !exportedTo(dr, clientNs)) return;
      if (dr.workloadSelector && !(ns === clientNs && selectorMatches(dr.workloadSelector, clientLabels))) return;
      const score = hostMatches(dr.fqdnHost, host);
      if (score === 0) return;
      if (score > best) { best = score; found = [dr]; } else if (score === best) found.push(dr);
    };
    // Only the namespace's own can match, and of those only the ones written as this host or as a wildcard (the
    // rest score 0): not every DestinationRule of the mesh, three times per request. The best score wins whatever
    // the order; ties are put in load order below.
    const rules = index.destinationRules(ns);
    if (rules.length < HOST_INDEX_MIN) {
      for (const dr of rules) consider(dr);
    } else {
      const ix = hostIndex(index, ns, rules);
      for (const dr of ix.exact.get(host) ?? NO_RULES) consider(dr);
      for (const dr of ix.wild) consider(dr);
    }
    return found.sort((a, b) => a.meta.order - b.meta.order);
  };
  const steps: [string | null, boolean, DrChoice['step']][] = [
    [clientNs, false, 'client-namespace'],
    [serviceNs, true, 'service-namespace'],
    [mesh.config.rootNamespace, true, 'root-namespace'],
  ];
  for (const [ns, needExport, step] of steps) {
    if (ns === null) continue;
    const found = pick(ns, needExport);
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

export function tlsSettingsFor(dr: DestinationRule, servicePort: number, subsetName?: string): { tls: ClientTlsSettings; from: 'port' | 'subset' | 'top' } | null {
  const subset = subsetName ? dr.subsets.find((s) => s.name === subsetName) : undefined;
  const stp = subset?.trafficPolicy;
  const portLevel = (stp?.portLevelSettings ?? dr.trafficPolicy?.portLevelSettings ?? []).find((p) => p.port === servicePort);
  if (portLevel?.tls) return { tls: portLevel.tls, from: 'port' };
  if (stp?.tls) return { tls: stp.tls, from: 'subset' };
  if (dr.trafficPolicy?.tls) return { tls: dr.trafficPolicy.tls, from: 'top' };
  return null;
}
