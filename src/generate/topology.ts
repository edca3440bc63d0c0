/**
 * A seeded mesh topology (issue 13 item 2): the plain model behind
 * `meshrange generate` and benchmark B3 (bench/b3-*.ts), so that the command
 * and the bench share one generator. Pure: no I/O, no wall time; the same
 * options give the same topology, bit for bit (seedrandom, fixed draw order).
 *
 * Shape:
 *  - `namespaces` namespaces `team-<k>` (default max(1, N/20)), one per team;
 *    workload i lives in team-(i mod M).
 *  - Three tiers by position (i mod 10): 0 → front (called by the ingress
 *    gateway), 1–6 → mid, 7–9 → data. Front and mid speak HTTP (Service port
 *    80 → container 8080, port name `http`); data speaks opaque TCP
 *    (5432 → 5432, `tcp-db`).
 *  - Call graph: each front and mid workload calls k callees, k drawn from a
 *    Pareto-like law (mostly 1–3, a few up to MAX_FANOUT); front calls mid,
 *    mid calls mid (60 %) or data (40 %); 60 % of callees are in the
 *    caller's own team. Callees are picked with a skew toward the first
 *    members of a tier (u² → a few popular services with many callers: a
 *    power-law-ish in-degree). No self-calls, no duplicate edges.
 *  - Policies (manifests.ts): each workload gets one ALLOW policy admitting
 *    its callers' principals on its port (front: the ingress gateway's);
 *    an uncalled workload gets an ALLOW policy with no rules (allow nothing).
 *  - Profiles: open — mesh-wide PERMISSIVE, every 4th team STRICT; strict —
 *    mesh-wide STRICT; segmented — strict plus one NetworkPolicy per team
 *    admitting ingress from itself, from the teams of its workloads' callers
 *    and from istio-system.
 *  - Planted misconfigurations (listed in `planted`): in strict/segmented, one
 *    team left PERMISSIVE by a namespace PeerAuthentication; one workload
 *    whose ALLOW policy has an extra rule with no `from` (anyone, plaintext
 *    included, on its port: over-broad); one AuthorizationPolicy whose
 *    selector matches no workload.
 */
import seedrandom from 'seedrandom';

export type Profile = 'open' | 'strict' | 'segmented';
export const PROFILES: readonly Profile[] = ['open', 'strict', 'segmented'];
export type Tier = 'front' | 'mid' | 'data';
export const TIERS: readonly Tier[] = ['front', 'mid', 'data'];

export const MIN_WORKLOADS = 100;
export const MAX_WORKLOADS = 100_000;
export const MAX_NAMESPACES = 10_000;
export const MAX_FANOUT = 20;
export const MAX_SEED = 2 ** 31 - 1;

export const HTTP_PORT = 8080;
export const HTTP_SERVICE_PORT = 80;
export const TCP_PORT = 5432;
export const INGRESS_PRINCIPAL = 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';

export interface GenerateOptions {
  workloads: number;
  /** default max(1, floor(workloads / 20)) */
  namespaces?: number;
  seed?: number;
  profile?: Profile;
}

export type PlantedKind = 'permissive-namespace' | 'over-broad-allow' | 'policy-selects-nothing';

export interface Planted {
  kind: PlantedKind;
  /** `Kind namespace/name` of the resource that carries it */
  resource: string;
  namespace: string;
  /** what is wrong, in a sentence */
  detail: string;
}

export interface Topology {
  n: number;
  seed: number;
  profile: Profile;
  /** namespace names, index k → `team-<k>` */
  namespaces: string[];
  /** namespace index of each workload */
  ns: Int32Array;
  /** tier of each workload: 0 front, 1 mid, 2 data */
  tier: Uint8Array;
  /** sorted callee indices of each workload */
  callees: Int32Array[];
  /** sorted caller indices of each workload */
  callers: Int32Array[];
  /** PeerAuthentication mode of each namespace's workloads: true STRICT, false PERMISSIVE */
  strictNs: Uint8Array;
  /** the team left PERMISSIVE on purpose (strict/segmented), or -1 */
  permissiveNs: number;
  /** the workload whose ALLOW policy admits anyone on its port */
  overBroad: number;
  /** the namespace holding the policy that selects nothing */
  strayPolicyNs: number;
  /** for segmented: the namespaces each namespace admits ingress from (sorted, itself included) */
  admitNs: Int32Array[];
  planted: Planted[];
}

export function defaultNamespaces(n: number): number {
  return Math.max(1, Math.floor(n / 20));
}

/** What is wrong with the options, or null. Bounds: 100..100,000 workloads, 1..min(N, 10,000) namespaces, seed 0..2^31−1. */
export function optionsProblem(o: GenerateOptions): string | null {
  if (!Number.isInteger(o.workloads) || o.workloads < MIN_WORKLOADS || o.workloads > MAX_WORKLOADS) {
    return `--workloads must be a whole number from ${MIN_WORKLOADS} to ${MAX_WORKLOADS}`;
  }
  if (o.namespaces !== undefined && (!Number.isInteger(o.namespaces) || o.namespaces < 1 || o.namespaces > Math.min(o.workloads, MAX_NAMESPACES))) {
    return `--namespaces must be a whole number from 1 to ${Math.min(o.workloads, MAX_NAMESPACES)} (at most one per workload, at most ${MAX_NAMESPACES})`;
  }
  if (o.seed !== undefined && (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > MAX_SEED)) return `--seed must be a whole number from 0 to ${MAX_SEED}`;
  if (o.profile !== undefined && !PROFILES.includes(o.profile)) return `--profile must be one of ${PROFILES.join(', ')}`;
  return null;
}

export function tierOf(i: number): number {
  const r = i % 10;
  return r === 0 ? 0 : r <= 6 ? 1 : 2;
}

export function workloadName(t: Topology, i: number): string {
  return `${TIERS[t.tier[i] as number]}-${i}`;
}

export function workloadNamespace(t: Topology, i: number): string {
  return t.namespaces[t.ns[i] as number] as string;
}

export function workloadId(t: Topology, i: number): string {
  return `${workloadNamespace(t, i)}/${workloadName(t, i)}`;
}

export function principalOf(t: Topology, i: number): string {
  return `cluster.local/ns/${workloadNamespace(t, i)}/sa/${workloadName(t, i)}`;
}

export function isTcp(t: Topology, i: number): boolean {
  return t.tier[i] === 2;
}

export function generateTopology(o: GenerateOptions): Topology {
  const problem = optionsProblem(o);
  if (problem) throw new RangeError(problem);
  const n = o.workloads;
  const M = o.namespaces ?? defaultNamespaces(n);
  const seed = o.seed ?? 1;
  const profile = o.profile ?? 'strict';
  const rng = seedrandom(`meshrange-generate/${n}/${M}/${seed}`);
  const int = (k: number): number => Math.floor(rng() * k);

  const ns = new Int32Array(n);
  const tier = new Uint8Array(n);
  // members[tier] and byNs[tier][k]: candidate callees
  const members: number[][] = [[], [], []];
  const byNs: number[][][] = [[], [], []].map(() => Array.from({ length: M }, () => [] as number[]));
  for (let i = 0; i < n; i++) {
    ns[i] = i % M;
    tier[i] = tierOf(i);
    (members[tier[i] as number] as number[]).push(i);
    ((byNs[tier[i] as number] as number[][])[i % M] as number[]).push(i);
  }
  const pick = (list: readonly number[]): number => list[Math.floor(list.length * rng() * rng())] as number;
  const out: Set<number>[] = Array.from({ length: n }, () => new Set<number>());
  for (let i = 0; i < n; i++) {
    const t = tier[i] as number;
    if (t === 2) continue;
    const k = Math.min(MAX_FANOUT, Math.floor(1 / Math.pow(1 - rng(), 1 / 1.6)));
    for (let c = 0; c < k; c++) {
      const want = t === 0 ? 1 : rng() < 0.6 ? 1 : 2;
      const local = rng() < 0.6;
      const own = (byNs[want] as number[][])[ns[i] as number] as number[];
      const list = local && own.length > 0 ? own : members[want] as number[];
      if (list.length === 0) continue;
      const callee = pick(list);
      if (callee !== i) (out[i] as Set<number>).add(callee);
    }
  }
  const callees = out.map((s) => Int32Array.from([...s].sort((a, b) => a - b)));
  const inLists: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) for (const c of callees[i] as Int32Array) (inLists[c] as number[]).push(i);
  const callers = inLists.map((l) => Int32Array.from(l));

  const namespaces = Array.from({ length: M }, (_, k) => `team-${k}`);
  const strictNs = new Uint8Array(M);
  for (let k = 0; k < M; k++) strictNs[k] = profile === 'open' ? (k % 4 === 3 ? 1 : 0) : 1;
  const permissiveNs = profile === 'open' ? -1 : int(M);
  if (permissiveNs >= 0) strictNs[permissiveNs] = 0;
  // The over-broad policy sits on a popular mid-tier workload (the first of a random team), where it matters most.
  const midOf = (k: number): number => ((byNs[1] as number[][])[k] as number[])[0] ?? (members[1] as number[])[0] ?? 0;
  const overBroad = midOf(int(M));
  const strayPolicyNs = int(M);

  const admitNs: Int32Array[] = [];
  if (profile === 'segmented') {
    const admit: Set<number>[] = Array.from({ length: M }, (_, k) => new Set([k]));
    for (let i = 0; i < n; i++) for (const c of callers[i] as Int32Array) (admit[ns[i] as number] as Set<number>).add(ns[c] as number);
    for (const s of admit) admitNs.push(Int32Array.from([...s].sort((a, b) => a - b)));
  }

  const topo: Topology = { n, seed, profile, namespaces, ns, tier, callees, callers, strictNs, permissiveNs, overBroad, strayPolicyNs, admitNs, planted: [] };
  if (permissiveNs >= 0) {
    const name = namespaces[permissiveNs] as string;
    topo.planted.push({ kind: 'permissive-namespace', resource: `PeerAuthentication ${name}/default`, namespace: name,
      detail: `team ${name} overrides the mesh-wide STRICT with PERMISSIVE: its workloads accept plaintext from anyone who can reach them` });
  }
  const ob = overBroad;
  topo.planted.push({ kind: 'over-broad-allow', resource: `AuthorizationPolicy ${workloadNamespace(topo, ob)}/${workloadName(topo, ob)}-allow`, namespace: workloadNamespace(topo, ob),
    detail: `the ALLOW policy of ${workloadId(topo, ob)} has a rule with no "from": any client, with or without a sidecar, may call it on port ${HTTP_PORT}` });
  const stray = namespaces[strayPolicyNs] as string;
  topo.planted.push({ kind: 'policy-selects-nothing', resource: `AuthorizationPolicy ${stray}/deny-legacy-batch`, namespace: stray,
    detail: `its selector app: legacy-batch matches no workload in ${stray}, so the DENY it means to enforce applies to nothing` });
  return topo;
}

/** Whether a namespace's NetworkPolicy (segmented) admits ingress from another namespace. */
export function admits(t: Topology, dstNs: number, srcNs: number): boolean {
  if (t.profile !== 'segmented') return true;
  const list = t.admitNs[dstNs] as Int32Array;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = list[mid] as number;
    if (v === srcNs) return true;
    if (v < srcNs) lo = mid + 1; else hi = mid - 1;
  }
  return false;
}

function hasCaller(t: Topology, d: number, s: number): boolean {
  const list = t.callers[d] as Int32Array;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = list[mid] as number;
    if (v === s) return true;
    if (v < s) lo = mid + 1; else hi = mid - 1;
  }
  return false;
}

/**
 * The plain model, written out by hand from the rules (istio-semantics §6.2,
 * §6.5, §8, §11): may workload s take over workload d (s ≠ d) with one
 * attempt, exploit all? Through d's Service a sidecar sends mTLS with s's
 * principal: allowed when d's ALLOW policy names s (a caller) or d is the
 * over-broad workload, and the NetworkPolicy admits s's team. A direct pod-IP
 * dial goes out in plaintext through the PassthroughCluster: only the
 * over-broad rule (no `from`) admits it, and only where d's team is PERMISSIVE.
 */
export function plainAllows(t: Topology, s: number, d: number): boolean {
  if (s === d) return false;
  if (!admits(t, t.ns[d] as number, t.ns[s] as number)) return false;
  return d === t.overBroad || hasCaller(t, d, s);
}
