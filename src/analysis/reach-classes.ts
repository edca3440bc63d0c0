/**
 * The one-hop graph with decisions shared across EQUIVALENT sources (issue 13
 * item 3, T3.1/T3.2): the same graph as reach-graph.ts buildOneHopGraph, edge
 * for edge, with far fewer decide() calls.
 *
 * Why it is needed. The explorer's memo (reachability.ts "Memo") keys a source
 * by everything decide() may read about it, its service account included: in
 * a mesh where every workload has its own ServiceAccount every source is its
 * own class and the graph costs 2·N² decisions. But for ONE target most of
 * those facts cannot matter: a principal matters only as far as the target's
 * AuthorizationPolicies can tell principals apart, a namespace only where some
 * resource names it.
 *
 * The key of a source s for an attempt against a target t is
 *   base(s) | ns-part | principal-part
 *  - base(s): every fact of the explorer's identity except the namespace and
 *    the service account — sidecar, gateway, hostNetwork, the labels source-side
 *    selectors read, the pod IP when any control sees addresses, the capture
 *    annotations, the certificate state (reachability.ts identityRule);
 *  - ns-part: s's namespace when it is "special" (the namespace of a Sidecar,
 *    DestinationRule, VirtualService, ServiceEntry, Gateway, an egress
 *    NetworkPolicy — every namespace when kube-system has ingress NetworkPolicies,
 *    which every DNS query meets; named by an exportTo, a Service exportTo annotation, a
 *    VirtualService sourceNamespace or a Sidecar egress host), when it is t's
 *    own namespace and anything can tell (a Sidecar or a local exportTo
 *    anywhere, sameNamespaceMattersEverywhere; a NetworkPolicy pod peer in
 *    t's namespace, podPeerNamespaces; s having t's address), or when t's
 *    AuthorizationPolicies read namespaces (`namespaces`/`serviceAccounts`);
 *    else, when NetworkPolicies of t's namespace have ingress rules, which of
 *    their namespaceSelectors the namespace's labels match; else `*` — every
 *    other namespace is seen the same way by every resource (they compare the
 *    client namespace with their own, or with names listed above);
 *  - principal-part: for each principal field (`principals`/`notPrincipals`)
 *    of the AuthorizationPolicies selecting t, whether s's principal matches
 *    it — exact values by a hash lookup, `*`/prefix/suffix patterns by the
 *    engine's own matcher (policy/matchers.ts stringMatcher) over the same
 *    trust-domain expansion (expandPrincipal). The full principal instead when
 *    t's policies hold a CUSTOM action, a `when` key other than request.auth.*,
 *    destination.*, source.ip or remote.ip (source.principal, request.headers
 *    — XFCC carries the principal —, ...), a namespace glob, a
 *    `serviceAccounts` field whose account is s's; when t is a gateway; when
 *    s's service account is not a plain name (a `/` or `*` in it); or when a
 *    RequestAuthentication reads tokens from the XFCC header.
 *
 * Why that is enough, and the check that keeps it honest. Outside the
 * principal, every stage before the receiving proxy reads the client's
 * namespace only by comparing it with resource namespaces and the names
 * listed above. The principal is read only by the filters of a receiving
 * proxy. So when a decision's proxies (Decision.path) are at most t's own
 * sidecar, every source of the class takes the same route to t and t's
 * filters see the same principal-part. When a representative's decision went
 * through another proxy (a gateway, a VirtualService delivering elsewhere),
 * that attempt is decided again for every member of the class under the
 * explorer's full identity — what buildOneHopGraph does. Classes keyed by the
 * full identity (ns and principal in full) need no check.
 *
 * Refusals known without a decision. Two cases need no decide() at all:
 *  - closedToOthers: t's NetworkPolicies drop every source of the `base|*`
 *    default groups (see there);
 *  - admitsListedOnly: t has a sidecar whose inbound capture takes the
 *    attempt's port, and t's enforced ALLOW policies admit only the principals
 *    they list (each rule has a `from`, each of its sources a non-empty
 *    `principals` list, no pattern). A source outside the exceptions has none
 *    of those principals (the exceptions are exactly the sources whose
 *    principal is listed), so t's RBAC refuses it whatever the earlier stages
 *    do; with no VirtualService or Gateway (noReroute) the attempt can land
 *    nowhere else. Its default and namespaceSelector groups get no decision
 *    for that attempt. (A target sharing its address with another workload is
 *    decided as before: a guard only — the attempt names its workload, and no
 *    test found an address read on that path.)
 *
 * Held to buildOneHopGraph edge for edge by test/analysis/reach-classes.test.ts
 * (fast-check over generated meshes of every profile and planted
 * misconfigurations, every shipped mesh, inline ipBlock/NetworkPolicy/
 * PERMISSIVE/VirtualService mixes).
 */
import { meshIndex } from '../model/index.js';
import { labelSelectorMatches, type LabelSelector } from '../model/network-policy.js';
import { principalOf, type AuthorizationPolicy, type Labels, type Mesh, type Workload } from '../model/types.js';
import { bundleOf, expandPrincipal, policiesFor } from '../policy/authorization-policy.js';
import { inboundCapture } from '../policy/capture.js';
import { serviceExportTo } from '../policy/egress.js';
import { decide, kubeDnsEndpoint, onEveryNode } from '../policy/decide.js';
import { stringMatcher } from '../policy/matchers.js';
import { namespaceLabelsOf, selectingPolicies, type NpEndpoint } from '../policy/network-policy.js';
import type { OneHopGraph } from './reach-graph.js';
import {
  attemptOptions, attemptRequest, identityRule, sourceIdentity,
  type Attempt, type IdentityRule, type ReachabilityExplorer, type SourceRef,
} from './reachability.js';

const REP_SCAN = 64;

/**
 * The enforced ALLOW policies (dry-run ones left out) admit only the principals they list: there is at least one,
 * and each of their rules has a `from` whose every source has a non-empty `principals` list (the other fields of a
 * source, its `to` and its `when` only narrow it). A policy without rules admits nothing.
 */
function admitsListedOnly(policies: readonly AuthorizationPolicy[]): boolean {
  let allow = 0;
  for (const p of policies) {
    if (p.dryRun || p.action !== 'ALLOW') continue;
    allow++;
    for (const rule of p.rules ?? []) {
      if (rule.from === undefined || rule.from.length === 0) return false;
      for (const f of rule.from) if (f.source.principals === undefined || f.source.principals.length === 0) return false;
    }
  }
  return allow > 0;
}
const NO_CLASSES: readonly { lists: [number[]]; exact: boolean }[] = [];

/** How t's filters can tell principals apart. */
interface PrincipalView {
  /** the principal (and namespace) in full */
  full: boolean;
  /** t's controls read the source namespace */
  nsMatters: boolean;
  /** the namespaceSelectors of the ingress NetworkPolicies of t's namespace (null: none): sources of other namespaces are told apart only by which of them their namespace's labels match */
  nsSelectors: LabelSelector[] | null;
  /** exact principal → the principal fields (indices) listing it */
  exact: Map<string, number[]>;
  /** pattern principals: field index and matcher */
  wild: { field: number; m: (v: string) => boolean }[];
  /** service accounts named by `serviceAccounts` fields: a source with one of them is keyed in full */
  accounts: Set<string>;
}

const SAFE_WHEN = (key: string): boolean => key.startsWith('request.auth.') || key.startsWith('destination.') || key === 'source.ip' || key === 'remote.ip';

function plainName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95;
    if (!ok) return false;
  }
  return true;
}

function principalView(mesh: Mesh, t: Workload, bundle: readonly string[], xfccTokens: boolean): PrincipalView {
  const v: PrincipalView = { full: false, nsMatters: false, nsSelectors: null, exact: new Map(), wild: [], accounts: new Set() };
  if (t.gateway || xfccTokens) { v.full = true; v.nsMatters = true; return v; }
  v.nsSelectors = ingressNamespaceSelectors(mesh, t);
  let field = 0;
  for (const p of policiesFor(mesh, t)) {
    if (p.action === 'CUSTOM') { v.full = true; v.nsMatters = true; return v; }
    for (const rule of p.rules ?? []) {
      for (const c of rule.when ?? []) if (!SAFE_WHEN(c.key)) { v.full = true; v.nsMatters = true; return v; }
      for (const f of rule.from ?? []) {
        const s = f.source;
        for (const list of [s.principals, s.notPrincipals]) {
          if (list === undefined) continue;
          const k = field++;
          for (const value of list) {
            for (const x of expandPrincipal(value, bundle)) {
              if (x === '*' || x.startsWith('*') || x.endsWith('*')) v.wild.push({ field: k, m: stringMatcher(x) });
              else { const l = v.exact.get(x); if (l) { if (!l.includes(k)) l.push(k); } else v.exact.set(x, [k]); }
            }
          }
        }
        for (const list of [s.namespaces, s.notNamespaces]) {
          if (list === undefined) continue;
          v.nsMatters = true;
          if (list.some((x) => x !== '*' && x.includes('*'))) { v.full = true; return v; }
        }
        for (const list of [s.serviceAccounts, s.notServiceAccounts]) {
          if (list === undefined) continue;
          v.nsMatters = true;
          for (const value of list) {
            const whole = value.includes('/') ? value : `${p.meta.namespace}/${value}`;
            v.accounts.add(whole.split('/')[1] ?? '');
          }
        }
      }
    }
  }
  return v;
}

/** Namespaces some resource names or lives in, as far as the client side is concerned (header). */
function specialNamespaces(mesh: Mesh): Set<string> {
  const out = new Set<string>();
  const exportTo = (l: readonly string[]): void => { for (const e of l) if (e !== '*' && e !== '.' && e !== '~') out.add(e); };
  for (const sc of mesh.sidecars) {
    out.add(sc.meta.namespace);
    for (const l of sc.egress) for (const h of l.hosts) { const i = h.indexOf('/'); if (i > 0) out.add(h.slice(0, i)); }
  }
  for (const dr of mesh.destinationRules) { out.add(dr.meta.namespace); exportTo(dr.exportTo); }
  for (const vs of mesh.virtualServices) {
    out.add(vs.meta.namespace);
    exportTo(vs.exportTo);
    for (const r of vs.http) for (const m of r.match ?? []) if (m.sourceNamespace !== undefined) out.add(m.sourceNamespace);
    for (const r of vs.tcp) for (const m of r.match) if (m.sourceNamespace !== undefined) out.add(m.sourceNamespace);
    for (const r of vs.tls) for (const m of r.match) if (m.sourceNamespace !== undefined) out.add(m.sourceNamespace);
  }
  for (const se of mesh.serviceEntries) { out.add(se.meta.namespace); exportTo(se.exportTo); }
  for (const g of mesh.gateways) out.add(g.meta.namespace);
  for (const s of mesh.services) {
    const e = serviceExportTo(s);
    if (e.length > 0) { out.add(s.namespace); exportTo(e); }
  }
  for (const np of mesh.networkPolicies) if (np.policyTypes.includes('Egress')) out.add(np.meta.namespace);
  // a ProxyConfig sets DNS capture for its namespace's pods (policy/dns-capture.ts)
  for (const pc of mesh.proxyConfigs ?? []) out.add(pc.meta.namespace);
  out.add(mesh.config.rootNamespace);
  // Every client's DNS query meets the ingress NetworkPolicies selecting kube-dns (decide.ts dnsQueryDropped), which
  // may tell any namespace apart by its labels or name: with such a policy that does not admit every source, every
  // namespace is keyed by name.
  const dns = kubeDnsEndpoint(mesh);
  if (dns.kind === 'pod') {
    const guarding = selectingPolicies(meshIndex(mesh).networkPolicies('kube-system'), dns, 'ingress', true);
    if (guarding.length > 0 && !guarding.some((np) => np.ingress.some((r) => r.from.length === 0 && r.ports.length === 0))) {
      for (const w of mesh.workloads) out.add(w.namespace);
    }
  }
  // A pod's dnsConfig nameserver may be another workload, whose ingress policies may tell namespaces apart too.
  if (mesh.workloads.some((w) => w.dns?.nameservers.some((ip) => meshIndex(mesh).workloadAt(ip) !== undefined))) {
    for (const w of mesh.workloads) out.add(w.namespace);
  }
  return out;
}

/**
 * Whether being in the target's own namespace can matter on the client side
 * for every target: a Sidecar (`./*` imports) or an exportTo of `.` / `~` (or
 * any Service exportTo annotation). Otherwise resources compare the client
 * namespace only with their own namespaces and listed names (special
 * namespaces), except NetworkPolicies: see podPeerNamespaces.
 */
function sameNamespaceMattersEverywhere(mesh: Mesh): boolean {
  if (mesh.sidecars.length > 0) return true;
  const local = (l: readonly string[]): boolean => l.some((e) => e === '.' || e === '~');
  return mesh.destinationRules.some((x) => local(x.exportTo)) || mesh.virtualServices.some((x) => local(x.exportTo))
    || mesh.serviceEntries.some((x) => local(x.exportTo)) || mesh.services.some((s) => serviceExportTo(s).length > 0);
}

/**
 * The namespaces whose NetworkPolicies have an ingress peer with a podSelector
 * and no namespaceSelector — pods of the policy's own namespace: for a target
 * there, sources of its own namespace are told apart by name. The rest of
 * what NetworkPolicies read of a source's namespace is covered elsewhere: an
 * egress policy makes its namespace special, ingress namespaceSelectors split
 * namespaces by the labels they match (NamespaceMatcher), and a pod reaching
 * its own IP (allowed whatever the policies) is a source of t's namespace with
 * t's IP, keyed by name too (its base alone would not keep it out of the
 * default groups that closedToOthers skips).
 */
function podPeerNamespaces(mesh: Mesh): Set<string> {
  const out = new Set<string>();
  for (const np of mesh.networkPolicies) {
    if (np.ingress.some((r) => r.from.some((peer) => peer.podSelector !== undefined && peer.namespaceSelector === undefined))) out.add(np.meta.namespace);
  }
  return out;
}

/**
 * The namespaceSelectors of every ingress peer of every NetworkPolicy of t's
 * namespace with policyTypes Ingress (whether it selects t or not:
 * conservative), or null when there is no such policy. A peer without a
 * namespaceSelector is t's own namespace (its sources are keyed by namespace,
 * sameNamespaceMatters) or an ipBlock (the pod IP is then in every key).
 */
function ingressNamespaceSelectors(mesh: Mesh, t: Workload): LabelSelector[] | null {
  let out: LabelSelector[] | null = null;
  for (const np of meshIndex(mesh).networkPolicies(t.namespace)) {
    if (!np.policyTypes.includes('Ingress')) continue;
    out ??= [];
    for (const r of np.ingress) for (const peer of r.from) if (peer.namespaceSelector) out.push(peer.namespaceSelector);
  }
  return out;
}

/**
 * Which source namespaces a namespaceSelector matches, without testing every
 * namespace against every selector of every target namespace (O(namespaces²)
 * at 100,000 workloads): a selector with a matchLabels pair or an `In`
 * requirement takes its candidates from an index of namespace labels (the
 * shortest such list), and only those are tested with the selector itself;
 * any other selector tests every namespace once, remembered per selector.
 */
class NamespaceMatcher {
  private readonly labels = new Map<string, Labels>();
  /** label key → value → namespaces carrying it */
  private readonly index = new Map<string, Map<string, string[]>>();
  private readonly memo = new Map<LabelSelector, readonly string[]>();

  constructor(private readonly namespaces: readonly string[], labelsOf: (ns: string) => Labels) {
    for (const ns of namespaces) {
      const l = labelsOf(ns);
      this.labels.set(ns, l);
      for (const [k, v] of Object.entries(l)) {
        let byValue = this.index.get(k);
        if (byValue === undefined) { byValue = new Map(); this.index.set(k, byValue); }
        const list = byValue.get(v); if (list) list.push(ns); else byValue.set(v, [ns]);
      }
    }
  }

  /** the namespaces (of the constructor's list) whose labels `sel` matches, in that list's order for a scan */
  matching(sel: LabelSelector): readonly string[] {
    const known = this.memo.get(sel);
    if (known !== undefined) return known;
    let candidates: readonly string[] | null = null;
    const narrow = (list: readonly string[]): void => { if (candidates === null || list.length < candidates.length) candidates = list; };
    for (const [k, v] of Object.entries(sel.matchLabels)) narrow(this.index.get(k)?.get(v) ?? []);
    for (const req of sel.matchExpressions) {
      if (req.operator !== 'In') continue;
      const byValue = this.index.get(req.key);
      const union = new Set<string>();
      if (byValue !== undefined) for (const v of req.values) for (const ns of byValue.get(v) ?? []) union.add(ns);
      narrow([...union]);
    }
    const from: readonly string[] = candidates ?? this.namespaces;
    const out = from.filter((ns) => labelSelectorMatches(sel, this.labels.get(ns) ?? {}));
    this.memo.set(sel, out);
    return out;
  }

  /** whether `sel` matches every namespace of the list (it then tells none apart) */
  matchesEvery(sel: LabelSelector): boolean {
    return this.matching(sel).length === this.namespaces.length;
  }

  /**
   * The namespaces `sels` tell apart from the rest: those matching at least one
   * selector that does not match every namespace (a selector matching all of
   * them splits nothing), each with its bits (one per such selector, in order).
   * Every other namespace matches none of them: all zeros.
   */
  split(sels: readonly LabelSelector[]): Map<string, string> {
    const sets = sels.filter((sel) => !this.matchesEvery(sel)).map((sel) => new Set(this.matching(sel)));
    const out = new Map<string, string>();
    for (const set of sets) {
      for (const ns of set) {
        if (out.has(ns)) continue;
        let bits = '';
        for (const other of sets) bits += other.has(ns) ? '1' : '0';
        out.set(ns, bits);
      }
    }
    return out;
  }
}

/**
 * Whether t's ingress NetworkPolicies drop every connection from a namespace
 * that matches none of the namespaceSelectors they name (the `base|*` default
 * groups once the selectors' namespaces are taken out): t is isolated for
 * ingress (some policy of its namespace selects it), and no rule of a
 * selecting policy admits such a source — no rule with an empty `from` (all
 * sources), no ipBlock peer (it could hold a pod's address), no
 * namespaceSelector matching every namespace (a selector that splits nothing
 * is left out of the bits). A podSelector-only peer admits t's own namespace
 * only, whose sources are then keyed by name (podPeerNamespaces), and a source
 * on t's address is keyed by name too. The drop holds on every port, whatever
 * else the request meets: a denied connection is denied. Callers make sure
 * every attempt is a connection to t's pod (no VirtualService, no Gateway).
 */
function closedToOthers(mesh: Mesh, t: Workload, nsMatcher: NamespaceMatcher): boolean {
  // a hostNetwork pod is node traffic to the CNI: no policy isolates it (decide.ts)
  if (t.hostNetwork) return false;
  // a hostNetwork DaemonSet source has a copy on t's node, which no policy stops (decide.ts onEveryNode)
  if (mesh.workloads.some(onEveryNode)) return false;
  const dst: NpEndpoint = { kind: 'pod', namespace: t.namespace, name: t.name, labels: t.labels,
    namespaceLabels: namespaceLabelsOf(t.namespace, mesh.namespaces.get(t.namespace)?.labels), ip: t.ip, ports: t.ports };
  const selecting = selectingPolicies(meshIndex(mesh).networkPolicies(t.namespace), dst, 'ingress', true);
  if (selecting.length === 0) return false;
  for (const p of selecting) {
    for (const r of p.ingress) {
      if (r.from.length === 0) return false;
      for (const peer of r.from) {
        if (peer.ipBlock) return false;
        if (peer.namespaceSelector && nsMatcher.matchesEvery(peer.namespaceSelector)) return false;
      }
    }
  }
  return true;
}

export interface ClassGraphOptions {
  /** decide only the attempts against these targets (a partial graph: the bench times a sample of targets with it) */
  targets?: (workloadId: string) => boolean;
  /** keep the workload port of every allowed attempt (ClassGraph.edgePorts) */
  ports?: boolean;
  /** stop with ClassGraphTooLarge once this many decide() calls were made */
  maxDecisions?: number;
  /** stop with ClassGraphTooLarge once this many allowed (source, target) attempts were found */
  maxEdges?: number;
}

/** buildOneHopGraphByClass went past ClassGraphOptions.maxDecisions or maxEdges. */
export class ClassGraphTooLarge extends Error {
  constructor(readonly what: 'decisions' | 'edges', readonly limit: number) {
    super(`the one-hop graph needs more than ${limit} ${what === 'decisions' ? 'decisions' : 'allowed attempts'}`);
  }
}

/** Every allowed attempt of the graph as (source node, target node, workload port), in no particular order; duplicates possible. */
export interface EdgePorts {
  src: Int32Array;
  dst: Int32Array;
  port: Int32Array;
  count: number;
}

export interface ClassGraphStats {
  /** decide() calls: one per (class, attempt), plus re-decisions under the full identity */
  decisions: number;
  /** (class, attempt) decisions that went through another proxy than the target's sidecar and were decided again per full identity */
  rechecked: number;
}

/**
 * buildOneHopGraph's graph, deciding each attempt once per class of
 * equivalent sources (header). Sources: every workload (default) or the
 * given ones; `outside` gets its row from the explorer itself.
 */
export function buildOneHopGraphByClass(explorer: ReachabilityExplorer, sources?: readonly SourceRef[], opts: ClassGraphOptions = {}): OneHopGraph & { stats: ClassGraphStats; edgePorts?: EdgePorts } {
  const mesh = explorer.mesh;
  const ids = sources ? [...sources] : mesh.workloads.map((w) => w.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const byId = new Map(mesh.workloads.map((w) => [w.id, w]));
  const rule: IdentityRule = identityRule(mesh);
  const certProblem = explorer.opts.decide?.certProblem;
  const bundle = bundleOf(mesh);
  const xfccTokens = mesh.requestAuthentications.some((ra) => ra.jwtRules.some((r) => r.fromHeaders.some((h) => h.name.toLowerCase() === 'x-forwarded-client-cert')));
  const special = specialNamespaces(mesh);
  const sameNsEverywhere = sameNamespaceMattersEverywhere(mesh);
  const podPeerNs = podPeerNamespaces(mesh);

  // Workload sources: node index, workload, base id, full identity, principal.
  const srcNode: number[] = [];
  const srcW: Workload[] = [];
  for (let i = 0; i < ids.length; i++) {
    const w = byId.get(ids[i] as string);
    if (w) { srcNode.push(i); srcW.push(w); }
  }
  const S = srcW.length;
  const baseIds = new Map<string, number>();
  const base = new Int32Array(S);
  /** base identity texts by base id (the full identity is made from them only where a decision is checked per source: fullKey) */
  const baseText: string[] = [];
  const principal: string[] = new Array<string>(S);
  const plain = new Uint8Array(S);
  const byPrincipal = new Map<string, number[]>();
  const byNs = new Map<string, number[]>();
  const bySa = new Map<string, number[]>();
  const oddNames: number[] = [];
  for (let k = 0; k < S; k++) {
    const w = srcW[k] as Workload;
    const b = sourceIdentity(rule, w, certProblem, true);
    let id = baseIds.get(b);
    if (id === undefined) { id = baseIds.size; baseIds.set(b, id); baseText.push(b); }
    base[k] = id;
    const p = principalOf(mesh.config.trustDomain, w.namespace, w.serviceAccount);
    principal[k] = p;
    plain[k] = plainName(w.serviceAccount) && plainName(w.namespace) ? 1 : 0;
    const l = byPrincipal.get(p); if (l) l.push(k); else byPrincipal.set(p, [k]);
    const n = byNs.get(w.namespace); if (n) n.push(k); else byNs.set(w.namespace, [k]);
    const sa = bySa.get(w.serviceAccount); if (sa) sa.push(k); else bySa.set(w.serviceAccount, [k]);
    if (plain[k] === 0) oddNames.push(k);
  }
  /** The full identity of source k: the base and the principal's parts (a JSON pair ends where it closes: equal keys, equal identities). */
  const fullKey = (k: number): string => {
    const w = srcW[k] as Workload;
    return `${JSON.stringify([w.namespace, w.serviceAccount])}${baseText[base[k] as number] as string}`;
  };
  // Default groups (namespace `*` unless special): base | ns-part, members in source order.
  const groupOf = new Map<string, number[]>();
  // By base and namespace, for targets whose policies read the source namespace.
  const nsGroupOf = new Map<string, number[]>();
  for (let k = 0; k < S; k++) {
    const w = srcW[k] as Workload;
    const g = `${base[k] as number}|${special.has(w.namespace) ? w.namespace : '*'}`;
    const l = groupOf.get(g); if (l) l.push(k); else groupOf.set(g, [k]);
    const gn = `${base[k] as number}|${w.namespace}`;
    const ln = nsGroupOf.get(gn); if (ln) ln.push(k); else nsGroupOf.set(gn, [k]);
  }
  const groupLists = [...groupOf.values()].map((g) => [g]);
  /** which default groups hold the non-special namespaces (key `base|*`) */
  const starGroup = [...groupOf.keys()].map((k) => k.endsWith('|*'));
  // No VirtualService or Gateway: every allowed attempt lands on the workload dialled, through a connection from the
  // source's pod to it (see closedToOthers).
  const noReroute = mesh.virtualServices.length === 0 && mesh.gateways.length === 0;
  /** addresses two or more workloads hold */
  const sharedIp = new Set<string>();
  { const seen = new Set<string>(); for (const w of mesh.workloads) { if (seen.has(w.ip)) sharedIp.add(w.ip); else seen.add(w.ip); } }
  const nsGroupLists = [...nsGroupOf.values()].map((g) => [g]);
  /** per target namespace whose NetworkPolicies have namespaceSelectors: the other namespaces those selectors tell apart, with their bits (see below) */
  const splitByNs = new Map<string, ReadonlyMap<string, string>>();
  /** per target namespace: the members of the namespaces its namespaceSelectors pick out, grouped by base and bits, each group wrapped as decideClass takes a class (a list of member lists) */
  const selByNs = new Map<string, readonly (readonly (readonly number[])[])[]>();
  const nsMatcher = new NamespaceMatcher([...byNs.keys()].filter((ns) => !special.has(ns)),
    (ns) => namespaceLabelsOf(ns, mesh.namespaces.get(ns)?.labels));

  // Attempts by target.
  const byTarget = new Map<Workload, Attempt[]>();
  for (const a of explorer.attempts) {
    if (opts.targets && !opts.targets(a.target.id)) continue;
    const l = byTarget.get(a.target); if (l) l.push(a); else byTarget.set(a.target, [a]);
  }

  let pairSrc = new Int32Array(1024);
  let pairDst = new Int32Array(1024);
  const keepPorts = opts.ports === true;
  let pairPort = new Int32Array(keepPorts ? 1024 : 0);
  let pairs = 0;
  const maxEdges = opts.maxEdges ?? Infinity;
  const addPair = (s: number, d: number, port: number): void => {
    if (pairs >= maxEdges) throw new ClassGraphTooLarge('edges', maxEdges);
    if (pairs === pairSrc.length) {
      const a = new Int32Array(pairs * 2); a.set(pairSrc); pairSrc = a;
      const b = new Int32Array(pairs * 2); b.set(pairDst); pairDst = b;
      if (keepPorts) { const c = new Int32Array(pairs * 2); c.set(pairPort); pairPort = c; }
    }
    pairSrc[pairs] = s; pairDst[pairs] = d;
    if (keepPorts) pairPort[pairs] = port;
    pairs++;
  };
  const maxDecisions = opts.maxDecisions ?? Infinity;
  let misdelivered = 0;
  let decisions = 0;
  let rechecked = 0;
  const stamp = new Int32Array(S);
  const taken = new Int32Array(S);
  const repNs = new Set<string>();
  let tick = 0;
  // The graph reads the outcome, where it landed and the proxies crossed: no trace text (DecideOptions.explain).
  const decideOpts = { ...explorer.opts.decide, explain: false };
  // The options (an endpoint picker per attempt) and the target's own proxy name, made once per attempt, not per
  // decision: every decision of an attempt is made before the next attempt's (the loop over targets below).
  let curA: Attempt | null = null;
  let curOpts: ReturnType<typeof attemptOptions> = {};
  let curOwn = '';
  const decideFor = (w: Workload, a: Attempt): { allowed: boolean; at: string | null; onlyTarget: boolean } => {
    if (++decisions > maxDecisions) throw new ClassGraphTooLarge('decisions', maxDecisions);
    if (a !== curA) { curA = a; curOpts = attemptOptions(a, decideOpts); curOwn = `${a.target.id} (sidecar)`; }
    const d = decide(mesh, attemptRequest({ kind: 'workload', workload: w }, a), curOpts);
    const own = curOwn;
    const onlyTarget = d.path === undefined || d.path.every((p) => p === own);
    return { allowed: d.outcome === 'allowed', at: d.outcome === 'allowed' ? d.destination?.workload ?? null : null, onlyTarget };
  };
  /** Emits the edge of an allowed attempt from source k. */
  const emit = (k: number, t: Workload, at: string | null, port: number): void => {
    if (at === null) return;
    const node = srcNode[k] as number;
    if (at !== t.id) misdelivered++;
    const j = index.get(at);
    if (j !== undefined && j !== node) addPair(node, j, port);
  };
  /** Decides `a` for `members` (one class) with a representative; re-decides per full identity when the check fails. */
  /** skips the members stamped `skip` (exceptions) and those taken `skipTaken` (picked out by namespaceSelectors); -1: none */
  const decideClass = (lists: readonly (readonly number[])[], a: Attempt, t: Workload, exact: boolean, skip: number, skipTaken: number): void => {
    // Any member decides for the class; prefer one from a namespace already decided for (decide()'s own per-namespace
    // memos then hit), looking at the first REP_SCAN members only.
    let rep = -1;
    let scanned = 0;
    for (const members of lists) for (const k of members) {
      if ((srcW[k] as Workload) === t || stamp[k] === skip || taken[k] === skipTaken) continue;
      if (rep < 0) rep = k;
      if (repNs.has((srcW[k] as Workload).namespace)) { rep = k; break; }
      if (++scanned >= REP_SCAN) break;
    }
    if (rep >= 0 && !repNs.has((srcW[rep] as Workload).namespace)) {
      // (the scan above stops at the end of a list; a later list may hold one)
      for (const members of lists) { let i = 0; for (const k of members) { if (++i > REP_SCAN) break; if ((srcW[k] as Workload) !== t && stamp[k] !== skip && taken[k] !== skipTaken && repNs.has((srcW[k] as Workload).namespace)) { rep = k; break; } } }
    }
    if (rep < 0) return;
    repNs.add((srcW[rep] as Workload).namespace);
    const r = decideFor(srcW[rep] as Workload, a);
    if (exact || r.onlyTarget) {
      if (!r.allowed) return;
      for (const members of lists) for (const k of members) if ((srcW[k] as Workload) !== t && stamp[k] !== skip && taken[k] !== skipTaken) emit(k, t, r.at, a.port);
      return;
    }
    rechecked++;
    const memo = new Map<string, { allowed: boolean; at: string | null }>();
    memo.set(fullKey(rep), r);
    for (const members of lists) for (const k of members) {
      if ((srcW[k] as Workload) === t || stamp[k] === skip || taken[k] === skipTaken) continue;
      const key = fullKey(k);
      let x = memo.get(key);
      if (!x) { x = decideFor(srcW[k] as Workload, a); memo.set(key, x); }
      if (x.allowed) emit(k, t, x.at, a.port);
    }
  };

  /** s is keyed by its namespace's name for being in t's: when anything can tell, or when it has t's address (a pod reaching itself) */
  const ownNs = (w: Workload, t: Workload, sameNs: boolean): boolean => w.namespace === t.namespace && (sameNs || w.ip === t.ip);
  /** source k is an exception of the current target (once) */
  const except = (exceptions: number[], k: number): void => { if (stamp[k] !== tick) { stamp[k] = tick; exceptions.push(k); } };

  for (const [t, attempts] of byTarget) {
    const view = principalView(mesh, t, bundle, xfccTokens);
    tick++;
    // Exceptions: sources keyed explicitly (their namespace is t's, or t's filters may tell their principal apart).
    const exceptions: number[] = [];
    const sameNs = sameNsEverywhere || podPeerNs.has(t.namespace);
    if (view.full || view.wild.length > 0) for (let k = 0; k < S; k++) except(exceptions, k);
    else {
      for (const p of view.exact.keys()) { const l = byPrincipal.get(p); if (l !== undefined) for (const k of l) except(exceptions, k); }
      for (const sa of view.accounts) { const l = bySa.get(sa); if (l !== undefined) for (const k of l) except(exceptions, k); }
      const own = byNs.get(t.namespace);
      if (own !== undefined) for (const k of own) if (ownNs(srcW[k] as Workload, t, sameNs)) except(exceptions, k);
      for (const k of oddNames) except(exceptions, k);
    }
    // Other namespaces are told apart by which of t's namespace's namespaceSelectors their labels match (null: by
    // nothing, or by name when t's policies read namespaces): the namespaces matching some, with their bits; every
    // other matches none. Worked out once per target namespace, holding only the namespaces that match.
    let split: ReadonlyMap<string, string> | null = null;
    if (view.nsSelectors !== null && !view.nsMatters) {
      split = splitByNs.get(t.namespace) ?? null;
      if (split === null) { split = nsMatcher.split(view.nsSelectors); splitByNs.set(t.namespace, split); }
    }
    // Explicit keys of the exceptions.
    const classes = new Map<string, { lists: [number[]]; exact: boolean }>();
    for (const k of exceptions) {
      const w = srcW[k] as Workload;
      const fullP = view.full || plain[k] === 0 || view.accounts.has(w.serviceAccount);
      let pPart: string;
      if (fullP) pPart = `P${principal[k] as string}`;
      else {
        const fields = new Set<number>(view.exact.get(principal[k] as string) ?? []);
        for (const x of view.wild) if (x.m(principal[k] as string)) fields.add(x.field);
        pPart = [...fields].sort((a, b) => a - b).join(',');
      }
      const nsPart = fullP || view.nsMatters || special.has(w.namespace) || ownNs(w, t, sameNs) ? w.namespace
        : split !== null ? `*${split.get(w.namespace) ?? ''}` : '*';
      const key = `${base[k] as number}|${nsPart}|${pPart}`;
      const c = classes.get(key);
      if (c) c.lists[0].push(k); else classes.set(key, { lists: [[k]], exact: fullP });
    }
    const classList = classes.size === 0 ? NO_CLASSES : [...classes.values()];
    // The sources outside the exceptions have no principal t's ALLOW rules list: refused wherever t's sidecar captures
    // the attempt (header, "Refusals known without a decision").
    const listedOnly = noReroute && t.sidecar && !t.gateway && !sharedIp.has(t.ip) && !view.full && view.wild.length === 0
      && admitsListedOnly(policiesFor(mesh, t));
    const refused = listedOnly ? attempts.map((a) => inboundCapture(t, a.port).captured) : null;
    // Every attempt refused to them: the default and namespaceSelector groups are not even formed.
    const groupsNeeded = refused === null || refused.includes(false);
    // The default groups, less the exceptions (stamped) and the namespaces t's namespaceSelectors pick out (taken).
    let selGroups: readonly (readonly (readonly number[])[])[] = [];
    let lists: (readonly number[])[][] = [];
    if (!groupsNeeded) { /* none */ } else if (view.nsMatters) lists = nsGroupLists;
    else {
      lists = groupLists;
      if (split !== null) {
        // Those matching none stay in the default groups; those matching some are taken out and grouped by base and
        // bits, once per target namespace (exceptions among them are skipped by their stamp). Held per target
        // namespace: only the members of the namespaces that match (a copy of every member list per target namespace
        // was O(namespaces × workloads): 4 GB at 100,000 workloads).
        let cached = selByNs.get(t.namespace);
        if (cached === undefined) {
          const groups = new Map<string, number[]>();
          for (const [ns, bits] of split) {
            for (const k of byNs.get(ns) ?? []) {
              const key = `${base[k] as number}|*${bits}`;
              const c = groups.get(key);
              if (c) c.push(k); else groups.set(key, [k]);
            }
          }
          cached = [...groups.values()].map((g) => [g]);
          selByNs.set(t.namespace, cached);
        }
        selGroups = cached;
        for (const [g] of selGroups) for (const k of g as readonly number[]) taken[k] = tick;
      }
    }
    // The `base|*` default groups need no decision when t's NetworkPolicies drop every one of their sources.
    const skipStar = groupsNeeded && lists === groupLists && split !== null && noReroute && closedToOthers(mesh, t, nsMatcher);
    for (let ai = 0; ai < attempts.length; ai++) {
      const a = attempts[ai] as Attempt;
      for (const c of classList) decideClass(c.lists, a, t, c.exact, -1, -1);
      if (refused !== null && refused[ai] === true) continue;
      for (const g of selGroups) decideClass(g, a, t, false, tick, -1);
      for (let i = 0; i < lists.length; i++) if (!(skipStar && starGroup[i] === true)) decideClass(lists[i] as (readonly number[])[], a, t, false, tick, tick);
    }
  }

  // Rows of `outside` (or any non-workload source): from the explorer.
  for (let i = 0; i < ids.length; i++) {
    if (byId.has(ids[i] as string)) continue;
    const r = explorer.explore({ from: [ids[i] as string], exploit: () => false, depth: 1 });
    decisions += r.decisions;
    for (const e of r.edges) {
      if (e.outcome !== 'allowed') continue;
      const at = e.deliveredTo === undefined ? e.to : e.deliveredTo;
      if (at === null) continue;
      if (e.deliveredTo !== undefined && at !== e.to) misdelivered++;
      const j = index.get(at);
      if (j !== undefined && j !== i) addPair(i, j, e.port);
    }
  }

  // CSR: rows sorted, duplicates dropped.
  const n = ids.length;
  const count = new Int32Array(n + 1);
  for (let p = 0; p < pairs; p++) { const c = (pairSrc[p] as number) + 1; count[c] = (count[c] as number) + 1; }
  for (let i = 0; i < n; i++) count[i + 1] = (count[i + 1] as number) + (count[i] as number);
  const fill = count.slice(0, n);
  const raw = new Int32Array(pairs);
  for (let p = 0; p < pairs; p++) { const s = pairSrc[p] as number; raw[fill[s] as number] = pairDst[p] as number; fill[s] = (fill[s] as number) + 1; }
  const offsets = new Int32Array(n + 1);
  const targets = new Int32Array(pairs);
  let len = 0;
  for (let i = 0; i < n; i++) {
    const row = raw.subarray(count[i] as number, count[i + 1] as number).sort();
    for (let q = 0; q < row.length; q++) if (q === 0 || row[q] !== row[q - 1]) targets[len++] = row[q] as number;
    offsets[i + 1] = len;
  }
  const out: OneHopGraph & { stats: ClassGraphStats; edgePorts?: EdgePorts } = { ids, index, offsets, targets: targets.slice(0, len), misdelivered, decisions, memoHits: 0, stats: { decisions, rechecked } };
  if (keepPorts) out.edgePorts = { src: pairSrc, dst: pairDst, port: pairPort, count: pairs };
  return out;
}
