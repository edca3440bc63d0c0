/**
 * Kubernetes NetworkPolicy: may this L3/L4 connection leave the source and
 * enter the destination? (istio-semantics §11). Enforced by the CNI outside
 * the pods, before any sidecar sees a byte (§3), so it layers under Istio.
 *
 * Rules:
 * 1. Default allow: a pod no policy selects is non-isolated (§11).
 * 2. A pod is isolated for a direction when any policy of its namespace whose
 *    podSelector matches it lists that direction in policyTypes (§11).
 *    policyTypes is defaulted by the loader: [Ingress], plus Egress when the
 *    policy has egress rules (§11).
 * 3. Policies are additive: an isolated pod accepts (sends) what at least one
 *    rule of one selecting policy allows; no deny rules, no order (§11).
 * 4. A connection needs the source's egress AND the destination's ingress;
 *    egress is checked first, so a connection both sides refuse is reported
 *    as dropped by egress (the packet never leaves). Replies are implicit (§11).
 * 5. A rule allows when one of its peers (or none listed) AND one of its ports
 *    (or none listed) match. `ingress: [{}]` allows everything; a selecting
 *    policy without rules for the direction allows nothing (§11).
 * 6. Peers (§11): `podSelector` alone = pods of the policy's namespace;
 *    `namespaceSelector` = pods of the namespaces whose labels match (every
 *    namespace carries `kubernetes.io/metadata.name: <name>`); both in one peer
 *    = AND; separate peers = OR. `ipBlock` matches the peer's IP minus `except`;
 *    meant for cluster-external IPs, it also matches a pod's IP, as CNIs do.
 *    Selector peers never match an external endpoint.
 * 7. Ports (§11): protocol must match (default TCP); a number matches exactly,
 *    with endPort the inclusive range; a name matches when the destination pod
 *    declares a container port of that name, number and protocol (an external
 *    destination has no named ports). With sidecars the port is the target
 *    (container) port: iptables redirects inside the pod (§11 [inf]).
 * 8. A pod cannot block itself: traffic from a pod to its own IP is allowed (§11).
 * 9. External endpoints are never selected: only the pod side is judged (§11).
 *
 * Not modelled here: node-local traffic (always allowed, §11) needs node IPs.
 * hostNetwork pods are passed as `external` by the caller, source and destination
 * alike (decide.ts): the common implementation treats them as node traffic. The
 * caller does not judge a hostNetwork DaemonSet at all (decide.ts onEveryNode): a
 * copy of it runs on the other end's node, which is node-local traffic.
 */
import { cidrContains, parseCidr } from '../core/ip.js';
import { SELECTOR_INDEX_MIN, SelectorBuckets } from '../model/selector-index.js';
import type { ContainerPort, Labels } from '../model/types.js';
import {
  labelSelectorMatches, NAMESPACE_NAME_LABEL,
  type NetworkPolicy, type NetworkPolicyPeer, type NetworkPolicyPort, type NpProtocol, type PolicyType,
} from '../model/network-policy.js';

export type NpEndpoint =
  | {
    kind: 'pod';
    namespace: string;
    labels: Labels;
    namespaceLabels: Labels;
    ip: string;
    ports: readonly ContainerPort[];
    /** workload name, for explanations (`namespace/name`); the IP stands in when absent */
    name?: string;
  }
  | { kind: 'external'; ip: string };

export type NpDirection = 'egress' | 'ingress';

export interface NpSide {
  /** some policy selects the pod for this direction */
  isolated: boolean;
  /** `namespace/name` of the policies selecting the pod for this direction, sorted */
  selecting: string[];
  /** those of `selecting` with a rule allowing this connection, sorted */
  allowedBy: string[];
}

export interface NpDecision {
  allowed: boolean;
  egress: NpSide;
  ingress: NpSide;
  /** the side that dropped it */
  droppedBy?: { direction: NpDirection; policies: string[]; reason: string };
}

export function evaluateNetworkPolicies(
  policies: readonly NetworkPolicy[],
  src: NpEndpoint,
  dst: NpEndpoint,
  port: number,
  protocol: NpProtocol = 'TCP',
  selecting?: SelectingOf,
): NpDecision {
  const egress = judgeSide(policies, 'egress', src, src, dst, port, protocol, selecting);
  const ingress = judgeSide(policies, 'ingress', dst, src, dst, port, protocol, selecting);
  const decision: NpDecision = { allowed: true, egress: egress.side, ingress: ingress.side };
  if (isSelf(src, dst)) return decision;
  for (const [direction, j] of [['egress', egress], ['ingress', ingress]] as const) {
    if (j.side.isolated && j.side.allowedBy.length === 0) {
      decision.allowed = false;
      decision.droppedBy = { direction, policies: j.side.selecting, reason: dropReason(direction, j.selecting, src, dst, port, protocol) };
      return decision;
    }
  }
  return decision;
}

/**
 * `evaluateNetworkPolicies(...).allowed`, without the explanation and without allocating: the analysis path asks
 * this once per decision and wants the details only when the packets are dropped.
 */
export function networkPoliciesAllow(policies: readonly NetworkPolicy[], src: NpEndpoint, dst: NpEndpoint, port: number, protocol: NpProtocol = 'TCP',
  selecting?: SelectingOf): boolean {
  if (isSelf(src, dst)) return true;
  return sideAllows(policies, 'egress', src, dst, dst, port, protocol, selecting) && sideAllows(policies, 'ingress', dst, src, dst, port, protocol, selecting);
}

/**
 * What `selectingPolicies(policies, ep, direction)` answers for a pod, from the caller's memo (decide keeps one per
 * pod and direction): the policies of `policies` in the pod's namespace that select it for the direction, in order.
 */
export type SelectingOf = (ep: Extract<NpEndpoint, { kind: 'pod' }>, direction: NpDirection) => readonly NetworkPolicy[];

/** Rules 2–3 for one side: not isolated, or some rule of a selecting policy admits the peer on the port. */
function sideAllows(policies: readonly NetworkPolicy[], direction: NpDirection, subject: NpEndpoint, peer: NpEndpoint,
  dst: NpEndpoint, port: number, protocol: NpProtocol, selecting?: SelectingOf): boolean {
  if (subject.kind !== 'pod') return true;
  if (selecting !== undefined) {
    const list = selecting(subject, direction);
    for (const p of list) {
      if (admits(p, direction, peer, dst, port, protocol)) return true;
    }
    return list.length === 0;
  }
  const type: PolicyType = direction === 'ingress' ? 'Ingress' : 'Egress';
  let isolated = false;
  for (const p of policies) {
    if (p.meta.namespace !== subject.namespace || !p.policyTypes.includes(type) || !labelSelectorMatches(p.podSelector, subject.labels)) continue;
    isolated = true;
    if (admits(p, direction, peer, dst, port, protocol)) return true;
  }
  return !isolated;
}

/** Rule 3 for one selecting policy: some rule of it admits the peer on the port. */
function admits(p: NetworkPolicy, direction: NpDirection, peer: NpEndpoint, dst: NpEndpoint, port: number, protocol: NpProtocol): boolean {
  for (const rule of rulesOf(p, direction)) if (peersMatch(p.meta.namespace, rule.peers, peer) && portsMatch(rule.ports, dst, port, protocol)) return true;
  return false;
}

/**
 * The policies that select a pod for a direction (rule 2): those of `policies` in the pod's namespace whose
 * podSelector matches, in list order; none for an external endpoint. `indexable`: the list is a shared one that
 * nobody changes (MeshIndex.networkPolicies(ns)), so a long one may be indexed by one matchLabels pair of each
 * podSelector (model/selector-index.ts) and kept with the list — 10,000 in a namespace of 2,000 pods was 40 M
 * selector checks. A list made for one call is scanned.
 */
export function selectingPolicies(policies: readonly NetworkPolicy[], ep: NpEndpoint, direction: NpDirection, indexable = false): NetworkPolicy[] {
  if (ep.kind !== 'pod') return [];
  const type: PolicyType = direction === 'ingress' ? 'Ingress' : 'Egress';
  let from: readonly NetworkPolicy[] = policies;
  if (indexable && policies.length >= SELECTOR_INDEX_MIN) {
    let b = podSelectorBuckets.get(policies);
    if (b === undefined) { b = new SelectorBuckets(policies, (p) => p.podSelector.matchLabels); podSelectorBuckets.set(policies, b); }
    from = b.candidates(ep.labels);
  }
  return from.filter((p) => p.meta.namespace === ep.namespace && p.policyTypes.includes(type) && labelSelectorMatches(p.podSelector, ep.labels));
}

/** Shared policy lists (selectingPolicies `indexable`) by one matchLabels pair of each podSelector. */
const podSelectorBuckets = new WeakMap<readonly NetworkPolicy[], SelectorBuckets<NetworkPolicy>>();

/** labels object → namespace → the labels with the name label: one object per namespace, not one per connection judged */
const withName = new WeakMap<Labels, Map<string, Labels>>();
const NO_LABELS: Labels = Object.freeze({});

/** A namespace's labels as selectors see them, with the automatic name label (the same object for the same inputs: do not change it). */
export function namespaceLabelsOf(namespace: string, labels: Labels = NO_LABELS): Labels {
  let byNs = withName.get(labels);
  if (byNs === undefined) { byNs = new Map(); withName.set(labels, byNs); }
  let out = byNs.get(namespace);
  if (out === undefined) {
    out = Object.freeze({ ...labels, [NAMESPACE_NAME_LABEL]: namespace });
    byNs.set(namespace, out);
  }
  return out;
}

interface Judged {
  side: NpSide;
  selecting: readonly NetworkPolicy[];
}

/** `selectingOf`: the caller's memo of what selects a pod (the same answer as selectingPolicies over `policies`) */
function judgeSide(policies: readonly NetworkPolicy[], direction: NpDirection, subject: NpEndpoint,
  src: NpEndpoint, dst: NpEndpoint, port: number, protocol: NpProtocol, selectingOf?: SelectingOf): Judged {
  const selecting = selectingOf !== undefined && subject.kind === 'pod' ? selectingOf(subject, direction) : selectingPolicies(policies, subject, direction);
  const peer = direction === 'egress' ? dst : src;
  const allowedBy = selecting.filter((p) => rulesOf(p, direction).some((rule) =>
    peersMatch(p.meta.namespace, rule.peers, peer) && portsMatch(rule.ports, dst, port, protocol)));
  return {
    side: { isolated: selecting.length > 0, selecting: names(selecting), allowedBy: names(allowedBy) },
    selecting,
  };
}

interface Rule {
  peers: readonly NetworkPolicyPeer[];
  ports: readonly NetworkPolicyPort[];
}

/** each policy's rules per direction, made once per policy */
const rulesMemo = new WeakMap<NetworkPolicy, { ingress: readonly Rule[]; egress: readonly Rule[] }>();

function rulesOf(p: NetworkPolicy, direction: NpDirection): readonly Rule[] {
  let r = rulesMemo.get(p);
  if (r === undefined) {
    r = { ingress: p.ingress.map((x) => ({ peers: x.from, ports: x.ports })), egress: p.egress.map((x) => ({ peers: x.to, ports: x.ports })) };
    rulesMemo.set(p, r);
  }
  return direction === 'ingress' ? r.ingress : r.egress;
}

/** `namespace/name` of each policy, made once per policy */
const nameOf = new WeakMap<NetworkPolicy, string>();
function policyName(p: NetworkPolicy): string {
  let n = nameOf.get(p);
  if (n === undefined) { n = `${p.meta.namespace}/${p.meta.name}`; nameOf.set(p, n); }
  return n;
}

function names(list: readonly NetworkPolicy[]): string[] {
  if (list.length === 0) return [];
  if (list.length === 1) return [policyName(list[0] as NetworkPolicy)];
  return list.map(policyName).sort();
}

function isSelf(src: NpEndpoint, dst: NpEndpoint): boolean {
  return src.kind === 'pod' && dst.kind === 'pod' && src.namespace === dst.namespace && src.ip === dst.ip;
}

/** Rule 6: no peers listed = everyone; otherwise any listed peer. */
function peersMatch(policyNamespace: string, peers: readonly NetworkPolicyPeer[], ep: NpEndpoint): boolean {
  return peers.length === 0 || peers.some((peer) => peerMatches(policyNamespace, peer, ep));
}

export function peerMatches(policyNamespace: string, peer: NetworkPolicyPeer, ep: NpEndpoint): boolean {
  if (peer.ipBlock) {
    const block = parseCidr(peer.ipBlock.cidr);
    if (!block || !cidrContains(block, ep.ip)) return false;
    return !peer.ipBlock.except.some((e) => {
      const ex = parseCidr(e);
      // An except the loader could not read excludes everything: fail closed.
      return !ex || cidrContains(ex, ep.ip);
    });
  }
  if (ep.kind !== 'pod') return false;
  if (!peer.podSelector && !peer.namespaceSelector) return false;
  const nsOk = peer.namespaceSelector
    ? labelSelectorMatches(peer.namespaceSelector, namespaceLabelsOf(ep.namespace, ep.namespaceLabels))
    : ep.namespace === policyNamespace;
  return nsOk && (!peer.podSelector || labelSelectorMatches(peer.podSelector, ep.labels));
}

/** Rule 7: no ports listed = every port of every protocol. */
function portsMatch(ports: readonly NetworkPolicyPort[], dst: NpEndpoint, port: number, protocol: NpProtocol): boolean {
  return ports.length === 0 || ports.some((p) => portMatches(p, dst, port, protocol));
}

export function portMatches(p: NetworkPolicyPort, dst: NpEndpoint, port: number, protocol: NpProtocol): boolean {
  if (p.protocol !== protocol) return false;
  if (p.port === undefined) return true;
  if (typeof p.port === 'number') return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
  return resolveNamedPort(dst, p.port, protocol) === port;
}

/** The container port number a name stands for on a destination pod, if it declares one. */
export function resolveNamedPort(dst: NpEndpoint, name: string, protocol: NpProtocol): number | undefined {
  if (dst.kind !== 'pod') return undefined;
  return dst.ports.find((cp) => cp.name === name && (cp.protocol || 'TCP').toUpperCase() === protocol)?.containerPort;
}

// ---- explanation ---------------------------------------------------------

function describeEndpoint(ep: NpEndpoint): string {
  if (ep.kind === 'external') return ep.ip;
  return ep.name !== undefined ? `${ep.namespace}/${ep.name}` : `${ep.namespace}/${ep.ip}`;
}

function listNames(list: readonly string[]): string {
  if (list.length <= 1) return list.join('');
  return `${list.slice(0, -1).join(', ')} and ${list[list.length - 1] ?? ''}`;
}

function describePort(p: NetworkPolicyPort, dst: NpEndpoint): string {
  if (p.port === undefined) return `${p.protocol} any port`;
  if (typeof p.port === 'number') return p.endPort !== undefined ? `${p.protocol} ${p.port}-${p.endPort}` : `${p.protocol} ${p.port}`;
  const n = resolveNamedPort(dst, p.port, p.protocol);
  return n !== undefined ? `${p.protocol} ${p.port} (=${n})` : `${p.protocol} ${p.port} (no such named port on ${describeEndpoint(dst)})`;
}

/**
 * One line a person can act on: who selects the pod, what was refused, and —
 * when some rule admits the peer on other ports — which ports it does allow.
 */
function dropReason(direction: NpDirection, selecting: readonly NetworkPolicy[], src: NpEndpoint, dst: NpEndpoint,
  port: number, protocol: NpProtocol): string {
  const subject = direction === 'egress' ? src : dst;
  const peer = direction === 'egress' ? dst : src;
  const policyNames = names(selecting);
  const dir = direction === 'egress' ? 'Egress' : 'Ingress';
  const rules = selecting.flatMap((p) => rulesOf(p, direction).map((rule) => ({ p, rule })));
  const usesIpBlock = rules.some(({ rule }) => rule.peers.some((x) => x.ipBlock));
  const peerText = describeEndpoint(peer) + (peer.kind === 'pod' && usesIpBlock ? ` (${peer.ip})` : '');
  let line = `${listNames(policyNames)} ${policyNames.length === 1 ? 'selects' : 'select'} ${describeEndpoint(subject)} for ${dir}`
    + ` and no rule allows ${protocol} ${port} ${direction === 'egress' ? 'to' : 'from'} ${peerText}`;
  if (rules.length === 0) {
    line += ` (${policyNames.length === 1 ? 'it has' : 'they have'} no ${direction} rules: all ${direction} is denied)`;
    return line;
  }
  const admitting = rules.filter(({ p, rule }) => peersMatch(p.meta.namespace, rule.peers, peer));
  const ports = [...new Set(admitting.flatMap(({ rule }) => rule.ports.map((x) => describePort(x, dst))))];
  if (admitting.length > 0 && ports.length > 0) line += `; rules admitting ${describeEndpoint(peer)} allow only ${ports.join(', ')}`;
  return line;
}
