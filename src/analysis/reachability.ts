/**
 * Reachability: how far an attacker who controls some workloads moves through
 * the mesh, hop by hop. THE one multi-hop explorer: the `pivot` step action
 * uses it now, `blast-radius` and `assess` are meant to (issue 11). Every
 * edge is decided by policy/decide.ts — the engine that decides every single
 * request — never by a shortcut of its own.
 *
 * Attempts (what a compromised workload tries, istio-semantics §3):
 *  - through every Service port of every Service that selects a workload
 *    (`<svc>.<ns>.svc.cluster.local:<port>`, the endpoint forced to that
 *    workload), and
 *  - by a direct pod-IP dial on every TCP container port of the workload
 *    (`to: workload/<ns>/<name>:<port>`), which a sidecar sends through the
 *    PassthroughCluster in plaintext (§8);
 *  - an opaque port (declared `tcp`, `tls`, `https`, `mongo`… §6.8) gets one
 *    TCP connection; any other port one HTTP `GET` per path (default `/`);
 *  - `ports` keeps the attempts whose dialled port or workload port is listed.
 * A compromised workload acts with its own identity: its sidecar (if any)
 * originates mTLS with its certificate, as for any request it sends (§5.2).
 * A workload does not attack itself, nor, at hop h, a workload the attacker
 * already controlled when hop h started.
 *
 * Hops: footholds are hop 0. Hop h tries every attempt from the workloads
 * taken over at hop h−1 (the footholds for h = 1), up to `depth`. A workload
 * is *reached* when the app of a workload accepted an attempt (the edge's
 * `to`, or, when a gateway or a VirtualService delivered it elsewhere, that
 * workload: `deliveredTo`); a reached workload the `exploit` rule allows is
 * taken over and attacks at the next hop. `hops` is the hop at which the last
 * new workload was reached.
 *
 * Memo — the rule that makes it exact. An attempt's decision depends on the
 * source only through what decide() reads about it; two sources that agree on
 * all of it get the same decision for the same attempt, so decisions are
 * memoised per (source identity, attempt) — and per certificate and
 * capabilities for the attacker's own process (below). The source identity of a workload is:
 *  - its namespace (DNS search path, Sidecar/DestinationRule/exportTo scope,
 *    VirtualService sourceNamespace, NetworkPolicy namespaceSelector peers)
 *    and its service account (the principal its certificate carries, §1);
 *  - whether it runs a sidecar, whether it is a gateway, whether it uses the
 *    host network (egress capture, TLS origination, how NetworkPolicy sees it);
 *  - its labels restricted to the keys some source-side selector reads:
 *    Sidecar and DestinationRule workloadSelector, VirtualService
 *    sourceLabels (http, tcp, tls), NetworkPolicy podSelector (as the policy's
 *    subject for egress, and as an ingress/egress peer), matchLabels and
 *    matchExpressions alike;
 *  - its pod IP, when anything can see a source address: a NetworkPolicy
 *    ipBlock, an AuthorizationPolicy ipBlocks / remoteIpBlocks (or their
 *    not-forms, or `when` source.ip / remote.ip, or any `when`
 *    request.headers[...] — a gateway writes the caller's pod IP into
 *    X-Forwarded-For), or a CUSTOM policy (the
 *    ext-authz provider sees the whole request);
 *  - the sidecar capture annotations it carries (`traffic.sidecar.istio.io/*`,
 *    `sidecar.istio.io/*`), which decide what its sidecar intercepts;
 *  - the state of its certificate at the explored instant (certProblem).
 * The client outside the cluster is identified by its address.
 * Decisions name the deciding source in their reasons (a NetworkPolicy drop
 * names the pod it selected; a client certificate that expired is the
 * stopping resource): a memoised decision made for another member of the
 * class gets that member's id and address replaced by the source's own.
 * test/analysis/reachability.test.ts holds the explorer to a brute force
 * over single decide() calls, and the identity to this rule.
 *
 * Stolen certificates (`certificates`, the pivot passes what the attacker
 * holds). A certificate is an identity that travels: whoever holds it and its
 * key completes mTLS as its SPIFFE id from any pod (istio-semantics §1), so
 * it joins one workload's identity to another's network position (an ingress
 * NetworkPolicy that admits only the second, an egress one that holds back
 * only the first). After a source's own attempts, its attacker's own process
 * tries each certificate on every attempt its own connection did not get to
 * the workload dialled, edges marked `as: <SPIFFE id>`. Where the source's sidecar
 * captures that connection (the same call as decide()'s: capture.ts, with
 * the attacker's `capabilities`), the sidecar re-originates it with the
 * source's own identity — already tried — and nothing is listed. Memo: per
 * (source identity, certificate, capabilities).
 *
 * Plaintext around the proxy: with `capabilities` (root, net-admin,
 * proxy-uid — the attacker's, in every pod it acts from), and, when asked
 * (`gatewayProcess`, the pivot does), from a gateway pod without any (a
 * gateway pod has no capture rules), its own process also
 * goes around the source's proxy in plaintext, before the certificates are
 * tried, on the attempts the source's own connection did not get to the
 * workload dialled and its proxy would have carried — what the proxy refused
 * on its side (a DestinationRule, egress policy, a client-side route) is no
 * wall for it. Edges `bypass: true`.
 *
 * "Did not get to the workload dialled": refused, or delivered elsewhere (a
 * client-side route that diverts a Service dial); an attempt the source's own
 * connection got through is not tried again.
 *
 * Weighted routes take their first destination (pick = 0) unless the caller
 * passes its own `pick`; the explorer is deterministic either way.
 */
import { meshIndex, type MeshIndex } from '../model/index.js';
import { whenHeaderName } from '../policy/authorization-policy.js';
import { KUBE_DNS_LABEL, onEveryNode } from '../policy/decide.js';
import type { LabelSelector } from '../model/network-policy.js';
import type { Labels, Mesh, Service, Workload } from '../model/types.js';
import {
  clientProxied, declaredProtocol, decide, DEFAULT_OUTSIDE_IP, targetPortOf,
  type Capability, type DecideOptions, type IdentityOverride, type MeshRequest, type StoppedBy,
} from '../policy/decide.js';

/** A foothold: a workload id (`ns/name`) or `outside`. */
export type SourceRef = string;

export type ExploitRule = 'all' | readonly string[] | ((workloadId: string) => boolean);

export interface ExplorerOptions {
  /** only attempts whose dialled port or workload port is listed */
  ports?: readonly number[];
  /** HTTP paths to try on each HTTP port; default ['/'] */
  paths?: readonly string[];
  /** decide() options: certificate validity at the explored instant, ext-authz stand-ins, route picks */
  decide?: Omit<DecideOptions, 'pickEndpoint'>;
  /** the address of a client outside the cluster (default 203.0.113.10) */
  outsideIp?: string;
  /** keep every attempt as an edge (`all`, default), or only those that got through (`allowed`: reach only, little memory) */
  edges?: 'all' | 'allowed';
  /** list at most this many edges (in exploration order); the rest are counted in `unlisted` (default: all) */
  maxEdges?: number;
  /** refused attempts whose controls the memo keeps for reuse (default 200,000); beyond, a reuse decides again */
  memoStops?: number;
  /** make at most this many decide() calls in all (default: no bound); past it an exploration throws ExplorationTooLarge */
  maxDecisions?: number;
}

/** An exploration needed more decide() calls than ExplorerOptions.maxDecisions. */
export class ExplorationTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the exploration needs more than ${limit} decisions`);
  }
}

const DEFAULT_MEMO_STOPS = 200_000;

/** A mesh-signed certificate the attacker stole (scenario/attacker.ts), as its own TLS client presents it. */
export interface HeldCertificate {
  /** the SPIFFE id in its URI SAN */
  spiffe: string;
  /** the workload it was taken from */
  from: string;
  /** why it fails a handshake at the explored instant (not yet valid, expired), null: valid */
  problem: string | null;
}

export interface ExploreRequest {
  from: readonly SourceRef[];
  /** which reached workloads the attacker takes over */
  exploit: ExploitRule;
  /** hops to explore, >= 1 */
  depth: number;
  /** stolen certificates the attacker's own process presents where the source's own connection did not get through (header: "Stolen certificates") */
  certificates?: readonly HeldCertificate[];
  /** what the attacker can do inside a pod it controls (capture.ts bypassAttempt): how its own process gets around a sidecar */
  capabilities?: readonly Capability[];
  /**
   * the attacker's own process in a gateway pod goes around the gateway's proxy in plaintext too (a gateway pod has no
   * capture rules; header: "Plaintext around the proxy"). The pivot asks for it; blast radius, whose class graph
   * models the workloads' own connections, does not.
   */
  gatewayProcess?: boolean;
}

export interface ReachNode {
  id: string;
  /** the hop it was first reached at (0: a foothold), null: attempted, never reached */
  hop: number | null;
  compromised: boolean;
}

export interface ReachEdge {
  from: string;
  to: string;
  /** the workload (container) port the attempt lands on */
  port: number;
  protocol: 'http' | 'tcp';
  /** the HTTP path, null for TCP */
  path: string | null;
  outcome: 'allowed' | 'blocked';
  stoppedBy: StoppedBy[];
  hop: number;
  /** what was dialled: `host:port` of a Service, or `workload/<ns>/<name>:<port>` */
  dial: string;
  /** present when the attempt got through to another workload's app than `to` (null: to none in the mesh) */
  deliveredTo?: string | null;
  /** present when the attacker's own process presented a stolen certificate: its SPIFFE id */
  as?: string;
  /** present when the attacker's own process went around the source's proxy in plaintext (its capabilities, or from a gateway pod) */
  bypass?: true;
}

export interface Reachability {
  nodes: ReachNode[];
  edges: ReachEdge[];
  /** sorted ids of every workload whose app accepted at least one attempt */
  reached: string[];
  /** sorted ids the attacker controls at the end, footholds included */
  compromised: string[];
  /** the hop at which the last new workload was reached (0: none) */
  hops: number;
  /** edges beyond `maxEdges`, not listed, by outcome */
  unlisted: { allowed: number; blocked: number };
  /** decide() calls made by this exploration, and attempts answered from the memo */
  decisions: number;
  memoHits: number;
}

/** One thing a compromised workload tries, independent of who tries it. */
export interface Attempt {
  index: number;
  target: Workload;
  via: 'service' | 'pod';
  service: Service | null;
  dial: string;
  dialPort: number;
  port: number;
  protocol: 'http' | 'tcp';
  path: string | null;
}

/** A source as decide() sees it. */
type Source = { kind: 'workload'; workload: Workload } | { kind: 'outside'; ip: string };

interface Stop {
  by: StoppedBy[];
  /** the source the decision was made for */
  rep: Source;
}

/** Per source identity: the outcome of each attempt (0 not yet decided, 1 allowed, 2 blocked, 3 not tried: the source's sidecar would capture the attacker's own connection). */
interface ClassMemo {
  outcome: Uint8Array;
  delivered: Map<number, string | null>;
  stops: Map<number, Stop>;
}

const DEFAULT_PATHS: readonly string[] = ['/'];

/** The label keys source-side selectors read (see the header), and whether a source address is visible to any control. */
export interface IdentityRule {
  labelKeys: ReadonlySet<string>;
  ipVisible: boolean;
}

export function identityRule(mesh: Mesh): IdentityRule {
  const keys = new Set<string>();
  const addLabels = (l: Labels | null | undefined): void => { if (l) for (const k of Object.keys(l)) keys.add(k); };
  const addSelector = (s: LabelSelector | undefined): void => {
    if (!s) return;
    addLabels(s.matchLabels);
    for (const e of s.matchExpressions) keys.add(e.key);
  };
  for (const sc of mesh.sidecars) addLabels(sc.workloadSelector);
  for (const dr of mesh.destinationRules) addLabels(dr.workloadSelector);
  for (const vs of mesh.virtualServices) {
    for (const r of vs.http) for (const m of r.match ?? []) addLabels(m.sourceLabels);
    for (const r of vs.tcp) for (const m of r.match) addLabels(m.sourceLabels);
    for (const r of vs.tls) for (const m of r.match) addLabels(m.sourceLabels);
  }
  let ipVisible = false;
  // the CoreDNS pods (kube-system, k8s-app=kube-dns) resolve with the node's resolver, not through kube-dns: they skip
  // the DNS check every other pod meets under NetworkPolicy (decide.ts dnsQueryDropped), so the label tells them apart
  if (mesh.networkPolicies.length > 0) keys.add(KUBE_DNS_LABEL);
  // whether a pod's agent answers its DNS queries (policy/dns-capture.ts): a ProxyConfig's selector tells pods apart
  for (const pc of mesh.proxyConfigs ?? []) addLabels(pc.selector);
  for (const np of mesh.networkPolicies) {
    addSelector(np.podSelector);
    for (const peer of [...np.ingress.flatMap((r) => r.from), ...np.egress.flatMap((r) => r.to)]) {
      addSelector(peer.podSelector);
      if (peer.ipBlock) ipVisible = true;
    }
  }
  // NetworkPolicy lets a pod reach its own address whatever the policies: with two workloads on one address (a
  // scenario's ips), a source with the target's address is decided otherwise than its namespace-mates.
  if (!ipVisible && mesh.networkPolicies.length > 0) {
    const seen = new Set<string>();
    for (const w of mesh.workloads) { if (seen.has(w.ip)) { ipVisible = true; break; } seen.add(w.ip); }
  }
  for (const ap of mesh.authorizationPolicies) {
    if (ap.action === 'CUSTOM') ipVisible = true;
    for (const rule of ap.rules ?? []) {
      for (const f of rule.from ?? []) {
        const s = f.source;
        if (s.ipBlocks || s.notIpBlocks || s.remoteIpBlocks || s.notRemoteIpBlocks) ipVisible = true;
      }
      // A header condition can read the source address too: a gateway appends the caller's pod IP to X-Forwarded-For
      // (and sets x-envoy-external-address), so any request.headers[...] condition makes the IP part of the identity.
      for (const c of rule.when ?? []) if (c.key === 'source.ip' || c.key === 'remote.ip' || whenHeaderName(c.key) !== null) ipVisible = true;
    }
  }
  return { labelKeys: keys, ipVisible };
}

const CAPTURE_PREFIXES = ['traffic.sidecar.istio.io/', 'sidecar.istio.io/'];

/** The source identity of a workload under a rule (header: "Memo"). Equal strings, equal decisions. `anyPrincipal`: as if namespace and service account were both empty (reach-classes' base identity). */
export function sourceIdentity(rule: IdentityRule, w: Workload, certProblem?: (id: string) => string | null, anyPrincipal = false): string {
  const labels = Object.entries(w.labels).filter(([k]) => rule.labelKeys.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const capture = Object.keys(w.annotations).filter((k) => CAPTURE_PREFIXES.some((p) => k.startsWith(p))).sort().map((k) => [k, w.annotations[k]]);
  return JSON.stringify([
    'w', anyPrincipal ? '' : w.namespace, anyPrincipal ? '' : w.serviceAccount, w.sidecar, w.gateway, w.hostNetwork, onEveryNode(w), labels,
    rule.ipVisible ? w.ip : null, capture, certProblem ? certProblem(w.id) : null, w.dnsCaptureAnnotation ?? null, w.dns ?? null,
  ]);
}

/** Every attempt against the mesh's workloads, in load order (workloads, their Services and ports, then container ports; paths last). */
export function attemptsOf(mesh: Mesh, opts: Pick<ExplorerOptions, 'ports' | 'paths'> = {}): Attempt[] {
  const index = meshIndex(mesh);
  const paths = opts.paths && opts.paths.length > 0 ? opts.paths : DEFAULT_PATHS;
  const wanted = (dialPort: number, port: number): boolean => !opts.ports || opts.ports.includes(dialPort) || opts.ports.includes(port);
  const out: Attempt[] = [];
  // Every attempt built by one literal, fields in one order: a copy by spread gave each of them a hidden class of its
  // own (20,000 classes at 10,000 workloads: 6 MB, and every read of an attempt's field a megamorphic lookup).
  const add = (a: Omit<Attempt, 'index' | 'path'>): void => {
    const one = (path: string | null): void => {
      out.push({ index: out.length, target: a.target, via: a.via, service: a.service, dial: a.dial, dialPort: a.dialPort, port: a.port, protocol: a.protocol, path });
    };
    if (a.protocol === 'http') for (const path of paths) one(path);
    else one(null);
  };
  for (const w of mesh.workloads) {
    const services = index.servicesSelecting(w);
    for (const s of services) {
      for (const sp of s.ports) {
        if (sp.protocol.toUpperCase() !== 'TCP') continue;
        const port = s.headless ? sp.port : targetPortOf(sp, w) ?? sp.port;
        if (!wanted(sp.port, port)) continue;
        add({ target: w, via: 'service', service: s, dial: `${s.fqdn}:${sp.port}`, dialPort: sp.port, port, protocol: declaredProtocol(sp) === 'tcp' ? 'tcp' : 'http' });
      }
    }
    const seen = new Set<number>();
    for (const cp of w.ports) {
      if ((cp.protocol || 'TCP').toUpperCase() !== 'TCP' || seen.has(cp.containerPort)) continue;
      seen.add(cp.containerPort);
      if (!wanted(cp.containerPort, cp.containerPort)) continue;
      add({ target: w, via: 'pod', service: null, dial: `workload/${w.id}:${cp.containerPort}`, dialPort: cp.containerPort, port: cp.containerPort, protocol: podProtocol(index, w, cp.containerPort, cp.name) });
    }
  }
  return out;
}

/** What the attacker speaks on a pod port: what a Service declares for it, else its port name, else HTTP (§6.8). */
function podProtocol(index: MeshIndex, w: Workload, port: number, name: string | undefined): 'http' | 'tcp' {
  const sp = index.servicesSelecting(w).flatMap((s) => s.ports).find((p) => targetPortOf(p, w) === port);
  const declared = (sp && declaredProtocol(sp)) ?? (name ? declaredProtocol({ port, targetPort: port, protocol: 'TCP', name }, false) : null);
  return declared === 'tcp' ? 'tcp' : 'http';
}

/** The request one attempt sends from one source; decide() with `pickEndpoint` forced to the attempt's workload. */
export function attemptRequest(source: Source, a: Attempt): MeshRequest {
  return {
    from: source.kind === 'workload' ? { kind: 'workload', workload: source.workload } : { kind: 'outside', ip: source.ip },
    to: a.via === 'service' && a.service ? { kind: 'host', host: a.service.fqdn, port: a.dialPort } : { kind: 'workload', workload: a.target, port: a.dialPort },
    protocol: a.protocol, method: 'GET', path: a.path ?? '/', headers: {}, tls: 'auto',
  };
}

export function attemptOptions(a: Attempt, base: Omit<DecideOptions, 'pickEndpoint'> = {}): DecideOptions {
  return { pick: () => 0, ...base, pickEndpoint: (eps) => (eps.includes(a.target) ? a.target : eps[0] as Workload) };
}

/** Replaces a whole token (an id or an address, not part of a longer name) in a text. */
export function replaceToken(text: string, from: string, to: string): string {
  if (from === to || from === '' || !text.includes(from)) return text;
  const inName = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z0-9._/-]/.test(ch);
  let out = '';
  let i = 0;
  for (;;) {
    const j = text.indexOf(from, i);
    if (j < 0) break;
    const ok = !inName(text[j - 1]) && !inName(text[j + from.length]);
    out += text.slice(i, j) + (ok ? to : from);
    i = j + from.length;
  }
  return out + text.slice(i);
}

/** The attacker's own process — presenting a stolen certificate, or plaintext around its sidecar — with what it can do in the pod. */
interface OwnClient {
  identity: IdentityOverride;
  capabilities: readonly Capability[];
  /** the SPIFFE id of a certificate, for the edge; null: plaintext around the sidecar */
  as: string | null;
}

/** The request of an attempt, from the attacker's own process when `own` is given. */
function requestOf(src: Source, a: Attempt, own: OwnClient | undefined): MeshRequest {
  const req = attemptRequest(src, a);
  if (own === undefined) return req;
  req.identity = own.identity;
  if (own.capabilities.length > 0) req.capabilities = own.capabilities;
  return req;
}

function sourceId(s: Source): string {
  return s.kind === 'workload' ? s.workload.id : 'outside';
}

function sourceIp(s: Source): string {
  return s.kind === 'workload' ? s.workload.ip : s.ip;
}

/** A decision made for `rep`, as `src` gets it: the representative's id and address replaced by the source's. */
function translate(stops: StoppedBy[], rep: Source, src: Source): StoppedBy[] {
  const a = sourceId(rep);
  const b = sourceId(src);
  const ipA = sourceIp(rep);
  const ipB = sourceIp(src);
  if (a === b && ipA === ipB) return stops;
  return stops.map((s) => {
    const t: StoppedBy = { ...s, name: s.name === a ? b : s.name, reason: replaceToken(replaceToken(s.reason, a, b), ipA, ipB) };
    return t;
  });
}

/**
 * The explorer over one mesh at one instant. Its memo lives as long as it
 * does: explore from one foothold or many, as often as wanted (blast-radius
 * from every foothold pays each source identity's one-hop decisions once).
 */
export class ReachabilityExplorer {
  readonly attempts: readonly Attempt[];
  private readonly rule: IdentityRule;
  private readonly memo = new Map<string, ClassMemo>();
  private readonly keepBlocked: boolean;
  private readonly stopBudget: number;
  private storedStops = 0;
  private decisions = 0;
  private memoHits = 0;
  /** an edge reads the outcome, where it landed and the stoppers: no trace text (DecideOptions.explain) */
  private readonly decideOpts: Omit<DecideOptions, 'pickEndpoint'>;
  private readonly maxDecisions: number;

  constructor(readonly mesh: Mesh, readonly opts: ExplorerOptions = {}) {
    this.attempts = attemptsOf(mesh, opts);
    this.rule = identityRule(mesh);
    this.keepBlocked = (opts.edges ?? 'all') === 'all';
    this.stopBudget = opts.memoStops ?? DEFAULT_MEMO_STOPS;
    this.decideOpts = { ...opts.decide, explain: false };
    this.maxDecisions = opts.maxDecisions ?? Infinity;
  }

  /** The source identity (the memo key) of a foothold or workload. */
  identity(src: Source): string {
    return src.kind === 'outside' ? JSON.stringify(['outside', src.ip]) : sourceIdentity(this.rule, src.workload, this.opts.decide?.certProblem);
  }

  private source(ref: SourceRef): Source {
    if (ref === 'outside') return { kind: 'outside', ip: this.opts.outsideIp ?? DEFAULT_OUTSIDE_IP };
    const w = meshIndex(this.mesh).workload(ref);
    if (!w) throw new Error(`reachability: ${ref} is not a workload of the mesh (callers check references first)`);
    return { kind: 'workload', workload: w };
  }

  private classOf(src: Source, own?: OwnClient): ClassMemo {
    const key = own === undefined ? this.identity(src) : `${this.identity(src)}\u0000${JSON.stringify([own.identity, own.capabilities])}`;
    let m = this.memo.get(key);
    if (!m) {
      m = { outcome: new Uint8Array(this.attempts.length), delivered: new Map(), stops: new Map() };
      this.memo.set(key, m);
    }
    return m;
  }

  /**
   * One attempt from one source: decided once per source identity. The
   * controls of a refused attempt are kept for reuse up to a budget (their
   * reasons are most of the memo's memory); past it, a reuse decides again.
   */
  private attempt(src: Source, cls: ClassMemo, a: Attempt, hop: number, own?: OwnClient): ReachEdge | null {
    let state = cls.outcome[a.index] as number;
    let by: StoppedBy[] | null = null;
    if (state === 0 && own !== undefined && (clientProxied(this.mesh, requestOf(src, a, own))
      || (own.as === null && !clientProxied(this.mesh, attemptRequest(src, a))))) {
      // Captured: the sidecar re-originates the connection with the source's own identity, which was tried already. Or
      // plaintext that the source's own attempt already sent as it is (no sidecar on the way): the same attempt.
      state = 3;
      cls.outcome[a.index] = 3;
    }
    if (state === 3) return null;
    if (state === 0) {
      if (this.decisions >= this.maxDecisions) throw new ExplorationTooLarge(this.maxDecisions);
      this.decisions++;
      const d = decide(this.mesh, requestOf(src, a, own), attemptOptions(a, this.decideOpts));
      state = d.outcome === 'allowed' ? 1 : 2;
      cls.outcome[a.index] = state;
      if (state === 1) {
        const at = d.destination?.workload ?? null;
        if (at !== a.target.id) cls.delivered.set(a.index, at);
      } else if (this.keepBlocked) {
        by = d.stoppedBy;
        // Not kept when the source is the certificate's origin: its id in "stolen from <id>" is not the source's to replace.
        const origin = own !== undefined && own.identity.kind === 'stolen-cert' && own.identity.from === sourceId(src);
        if (!origin && this.storedStops < this.stopBudget) { cls.stops.set(a.index, { by, rep: src }); this.storedStops++; }
      }
    } else {
      this.memoHits++;
    }
    if (state === 2 && !this.keepBlocked) return null;
    const e: ReachEdge = {
      from: sourceId(src), to: a.target.id, port: a.port, protocol: a.protocol, path: a.path,
      outcome: state === 1 ? 'allowed' : 'blocked', stoppedBy: [], hop, dial: a.dial,
    };
    if (own !== undefined) { if (own.as === null) e.bypass = true; else e.as = own.as; }
    if (state === 1) {
      if (cls.delivered.has(a.index)) e.deliveredTo = cls.delivered.get(a.index) ?? null;
    } else if (by) {
      e.stoppedBy = by;
    } else {
      const stop = cls.stops.get(a.index);
      if (stop) e.stoppedBy = translate(stop.by, stop.rep, src);
      else {
        if (this.decisions >= this.maxDecisions) throw new ExplorationTooLarge(this.maxDecisions);
        this.decisions++;
        e.stoppedBy = decide(this.mesh, requestOf(src, a, own), attemptOptions(a, this.decideOpts)).stoppedBy;
      }
    }
    return e;
  }

  /**
   * Every attempt from one source (except against itself and `skip`), as edges at `hop`; then those its own
   * connection did not get to the workload dialled, sent by the attacker's own process: in plaintext around the proxy,
   * then presenting each stolen certificate (header: "Stolen certificates", "Plaintext around the proxy").
   */
  hopFrom(ref: SourceRef, hop = 1, skip: ReadonlySet<string> = new Set(), certificates: readonly HeldCertificate[] = [], capabilities: readonly Capability[] = [], gatewayProcess = false): ReachEdge[] {
    const src = this.source(ref);
    const cls = this.classOf(src);
    const self = sourceId(src);
    const out: ReachEdge[] = [];
    for (const a of this.attempts) {
      if (a.target.id === self || skip.has(a.target.id)) continue;
      const e = this.attempt(src, cls, a, hop);
      if (e) out.push(e);
    }
    // Plaintext around the proxy first (only where the capabilities, or a gateway pod's missing capture, let it out),
    // then each certificate.
    const owns: OwnClient[] = [{ identity: { kind: 'none' }, capabilities, as: null },
      ...certificates.map((c): OwnClient => ({ identity: { kind: 'stolen-cert', spiffe: c.spiffe, from: c.from, problem: c.problem }, capabilities, as: c.spiffe }))];
    for (const own of owns) {
      if (own.as === null && capabilities.length === 0 && !(gatewayProcess && src.kind === 'workload' && src.workload.gateway)) continue;
      const mine = this.classOf(src, own);
      for (const a of this.attempts) {
        // what its own connection got through to the workload dialled: nothing to add (one diverted elsewhere may be)
        if (a.target.id === self || skip.has(a.target.id) || (cls.outcome[a.index] === 1 && !cls.delivered.has(a.index))) continue;
        const e = this.attempt(src, mine, a, hop, own);
        if (e) out.push(e);
      }
    }
    return out;
  }

  explore(req: ExploreRequest): Reachability {
    const startDecisions = this.decisions;
    const startHits = this.memoHits;
    const exploitable = exploitPredicate(req.exploit);
    const nodes = new Map<string, ReachNode>();
    const compromised = new Set<string>();
    const reached = new Set<string>();
    const edges: ReachEdge[] = [];
    const maxEdges = this.opts.maxEdges ?? Infinity;
    const unlisted = { allowed: 0, blocked: 0 };
    const footholds = [...new Set(req.from)].sort();
    // One try per certificate (the same SPIFFE id taken twice: the first), in SPIFFE-id order: the report does not depend on the order of theft.
    const certificates = [...new Map([...(req.certificates ?? [])].reverse().map((c) => [c.spiffe, c])).values()]
      .sort((a, b) => (a.spiffe < b.spiffe ? -1 : a.spiffe > b.spiffe ? 1 : 0));
    const capabilities = [...new Set(req.capabilities ?? [])].sort();
    for (const f of footholds) {
      this.source(f);
      nodes.set(f, { id: f, hop: 0, compromised: true });
      compromised.add(f);
    }
    let frontier = footholds;
    let hops = 0;
    for (let hop = 1; hop <= req.depth && frontier.length > 0; hop++) {
      const owned = new Set(compromised);
      const fresh: string[] = [];
      for (const src of frontier) {
        for (const e of this.hopFrom(src, hop, owned, certificates, capabilities, req.gatewayProcess === true)) {
          if (edges.length < maxEdges) edges.push(e); else unlisted[e.outcome]++;
          if (!nodes.has(e.to)) nodes.set(e.to, { id: e.to, hop: null, compromised: false });
          if (e.outcome !== 'allowed') continue;
          const at = e.deliveredTo === undefined ? e.to : e.deliveredTo;
          if (at === null) continue;
          reached.add(at);
          const n = nodes.get(at);
          if (n && n.hop !== null) continue;
          if (n) n.hop = hop; else nodes.set(at, { id: at, hop, compromised: false });
          fresh.push(at);
          hops = hop;
        }
      }
      const next: string[] = [];
      for (const id of fresh.sort()) {
        const n = nodes.get(id) as ReachNode;
        if (compromised.has(id) || !exploitable(id)) continue;
        n.compromised = true;
        compromised.add(id);
        next.push(id);
      }
      frontier = next;
    }
    const byHop = (a: ReachNode, b: ReachNode): number => (a.hop ?? Infinity) - (b.hop ?? Infinity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    return {
      nodes: [...nodes.values()].sort(byHop),
      edges,
      reached: [...reached].sort(),
      compromised: [...compromised].sort(),
      hops,
      unlisted,
      decisions: this.decisions - startDecisions,
      memoHits: this.memoHits - startHits,
    };
  }
}

function exploitPredicate(rule: ExploitRule): (id: string) => boolean {
  if (rule === 'all') return () => true;
  if (typeof rule === 'function') return rule;
  const set = new Set(rule);
  return (id) => set.has(id);
}

/** One exploration with a fresh explorer. */
export function explore(mesh: Mesh, req: ExploreRequest, opts: ExplorerOptions = {}): Reachability {
  return new ReachabilityExplorer(mesh, opts).explore(req);
}
