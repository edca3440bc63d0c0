/** What a scenario run produces; reporters render it, nothing else. */
import type { ReachEdge, ReachNode } from '../analysis/reachability.js';
import type { ControlKind, Hop, StoppedBy } from '../policy/decide.js';

export type Outcome = 'allowed' | 'blocked' | 'partial';

export interface StepEvidence {
  events: { t: number; hop: Hop | 'scenario'; what: string }[];
  sent?: { from: string; to: string; protocol: string; method?: string; path?: string; headers?: Record<string, string>; tls: string; bypass?: boolean; sni?: string };
  /** ms from sending to the answer, in simulated time */
  latencyMs?: number;
  /** retries the client sidecar sent (§3 step 7), when any */
  retries?: number;
  /** `retries`: those the attacker's own sidecar added (Istio's default retry policy, §3 step 7), when any */
  flood?: {
    sent: number; ok: number; statuses: Record<string, number>; p50ms: number; p99ms: number; windowMs: number; retries?: number;
    /** requests the destination app refused itself, saturated (its concurrency and queue full): the flood's impact, not a control — never in stoppedBy */
    saturated?: { n: number; by: string[]; reason: string };
  };
  /** exfiltrate: the upload's chunks, how many the destination (or channel) accepted, and the answers */
  exfil?: { chunks: number; chunkBytes: number; accepted: number; statuses: Record<string, number> };
  /** how each legitimate flow fared while this step ran, against the same run without the attack */
  collateral?: { flow: string; sent: number; ok: number; errorRate: number; p99ms: number; degraded: boolean; baseline: { errorRate: number; p99ms: number } | null; statement: string }[];
  stolen?: { kind: 'certificate' | 'jwt'; subject: string; notAfter: number | null; validUntil: string; validForMs: number | null; note: string }[];
  /** `jwt: stolen`: the token the attacker replayed, or why none went */
  replayed?: { held: boolean; subject: string | null; issuer: string | null; source: string | null; takenBy: string | null; validUntil: string | null; note: string };
  /** impersonate: what the attacker presented and what the server made of it */
  impersonation?: {
    credential: string;
    /** stolen-cert: the certificate used */
    certificate?: { from: string; takenBy: string; notAfter: number; validUntil: string };
    /** spoofed-header: each identity header as sent and as the app received it (null: removed) */
    identityHeaders?: { name: string; sent: string; received: string | null }[];
    /** the authorization rule that decided, and the request headers it read (which the client writes) */
    decidingRule?: { rule: string; action: string; readsHeaders: string[] } | null;
    /** spoofed-ip: the address claimed, and what each proxy on the way took as peer (`ipBlocks`) and as client (`remoteIpBlocks`) */
    addresses?: { claimed: string; seen: { proxy: string; sourceIp: string; remoteIp: string }[] };
    statement: string;
  };
  /** the proxies the request crossed */
  proxies?: string[];
  requestPrincipal?: string | null;
  destination?: { service?: string; workload: string; port: number; targetPort: number; protocol: string };
  received?: { method: string; path: string; headers: Record<string, string> };
  response?: { status: number; headers: Record<string, string>; body: string };
  flags?: string;
  /** the run ended before the step finished: when, and what was still pending */
  cutOff?: { atMs: number; reason: string };
  peerPrincipal?: string | null;
  authorization?: {
    stage: string;
    rule: string | null;
    details: string;
    audited: string[];
    shadow: { policy: string; rule: string | null; effect: string }[];
  };
}

/** What a reader of a plaintext hop learns (sniff, product.md §3.1). */
export interface Exposure {
  /** request paths, without the query string */
  paths: string[];
  /** request header names, lower case */
  headers: string[];
  /** bearer tokens seen in headers or the query string, redacted to their first 8 characters */
  tokens: string[];
  /** workloads marked `sensitive: true` in spec.workloads whose traffic crossed in clear */
  sensitive: string[];
}

/** One flow on one hop that crossed a sniff's observation point during its window. */
export interface ObservedFlow {
  /** the flow's client (`ns/name` or `outside`) */
  from: string;
  /** the flow's destination as the scenario wrote it */
  to: string;
  /** the destination port on the wire at the observed hop */
  port: number;
  /** what the client speaks: a plaintext `tcp` hop exposes its whole byte stream */
  protocol: string;
  encrypted: boolean;
  /** the control that encrypted the hop; null when it crossed in clear */
  protectedBy: StoppedBy | null;
  exposed: Exposure;
  /** requests of this flow that crossed on this hop during the window */
  requests: number;
  /** the link the observer saw: the sending and the receiving pod (a flow through a gateway has two hops) */
  hop: { from: string; to: string };
  /** which flow: `traffic[i]`, or `step <id>` for a step acting from another workload */
  source: string;
}

/** A credential read off the wire (sniff), which later steps may use. */
export interface CapturedCredential {
  kind: 'jwt';
  /** ISO time its exp claim ends it, or "never (no exp claim)" */
  validUntil: string;
  subject: string | null;
  /** the token, redacted to its first 8 characters */
  token: string;
  /** the hop it was read on */
  on: string;
}

export interface StepResult {
  id: string;
  action: string;
  outcome: Outcome;
  expected: Outcome | null;
  /** the control the expectation names (`expect: {outcome, stoppedBy}`), when it names one */
  expectedStoppedBy?: string;
  /** why the expectation was not met, in one line (what stopped the step instead); only when it was not */
  expectationNote?: string;
  /** where the step is written in the scenario file (1-based), for SARIF regions and editors */
  loc?: { line: number; col: number };
  /** simulated ms the step was planned to last (0 for an instantaneous step); JUnit's `time` */
  durationMs?: number;
  code: number | null;
  grpcStatus?: number;
  mtls: boolean | null;
  stoppedBy: StoppedBy[];
  /**
   * Every control that would stop the step, in packet order (§3.2): those in
   * `stoppedBy`, then those further along found by re-running the scenario
   * without them. Empty when the step got through. Set by the run, after
   * every action has finished.
   */
  defences?: Defence[];
  /** run from the foothold: counts towards the verdict */
  attack: boolean;
  expectationMet: boolean | null;
  from: string;
  to?: string;
  /** impersonate (product.md §3.1): the identity claimed */
  as?: string;
  /** impersonate: the SPIFFE id the server's proxy saw, null when none */
  presented?: string | null;
  /** impersonate: how the attacker tried */
  using?: string;
  /** simulated time of the step, ms since t=0 */
  t: number;
  /** sniff: every flow on every hop that crossed the observation point in the window */
  observed?: ObservedFlow[];
  /** sniff: credentials read off the wire */
  captured?: CapturedCredential[];
  /** exfiltrate: the external `host:port` the data is for */
  destination?: string;
  /** exfiltrate: `direct`, `egress-gateway`, or the allowed host used as a channel out */
  via?: string;
  /** exfiltrate: bytes the attacker tried to send, and bytes that left */
  bytesAttempted?: number;
  bytesOut?: number;
  /** pivot (§3.1): sorted ids of every workload that accepted an attempt */
  reached?: string[];
  /** pivot (§3.1): sorted ids the attacker controls at the end, the footholds included */
  compromised?: string[];
  /** pivot (§3.1): the hop at which the last new workload was reached */
  hops?: number;
  /** pivot (§3.1): every workload attempted, and every attempt (`unlisted` counts those past the report's limit) */
  graph?: { nodes: ReachNode[]; edges: ReachEdge[]; unlisted?: { allowed: number; blocked: number } };
  evidence: StepEvidence;
}

/** One control standing between the attacker and a step's goal (product.md §3.2). */
export interface Defence {
  control: ControlKind;
  /** `namespace/name` of the resource; null for mesh defaults */
  name: string | null;
  reason: string;
  /** removing this control alone from the mesh lets the step through */
  sole: boolean;
  /** present (false) when the control cannot be taken out of a mesh (DNS, Routing, certificate validity…), so `sole` was not tried */
  removable?: false;
}

/** A control across the report's steps: how many it stops, and how many it alone stops. */
export interface ControlSummary {
  control: ControlKind;
  name: string | null;
  stops: number;
  soleStops: number;
}

export interface TrafficResult {
  from: string;
  to: string;
  sent: number;
  ok: number;
  p99ms: number;
  p50ms?: number;
  p95ms?: number;
  errorRate?: number;
  /** responses by status ("closed" for a TCP connection refused) */
  statuses?: Record<string, number>;
  /** the controls that refused this flow's requests, with counts */
  stoppedBy?: Record<string, number>;
  /** retries the client sidecar sent on top of `sent` (§3 step 7), when any */
  retries?: number;
  /** the same flow in the same run without the attack steps */
  baseline?: { sent: number; ok: number; p99ms: number; errorRate: number };
  /** error rate or p99 clearly worse than the baseline */
  degraded?: boolean;
}

/** One workload of the mesh as the HTML report draws it (not in the JSON report). */
export interface MeshWorkloadSummary {
  /** `namespace/name` */
  id: string;
  namespace: string;
  name: string;
  sidecar: boolean;
  gateway: boolean;
  /** the PeerAuthentication mode its sidecar enforces (workload level, istio-semantics §5) */
  mtls: string;
}

/**
 * Outcomes over simulated time, per legitimate flow and per load step (a flood), in equal buckets: what the
 * TUI draws as sparklines. Not part of the JSON report (architecture.md: the timeline is for playback).
 */
export interface Timeline {
  /** width of one bucket, simulated ms */
  bucketMs: number;
  series: TimelineSeries[];
}

export interface TimelineSeries {
  /** `traffic[i]` or `step <id>` */
  key: string;
  /** per bucket: answered 2xx/3xx, 429, 503, anything else (other statuses, closed connections) */
  ok: number[];
  throttled: number[];
  unavailable: number[];
  other: number[];
}

/** A step as a saved report recorded it (`run --baseline`); the shape of assess/compare.ts StepRecord. */
export interface BaselineStep {
  scenario: string;
  step: string;
  action: string;
  attack: boolean;
  outcome: Outcome;
  stoppedBy: string[];
}

/** A step whose outcome differs from the saved report's; the shape of assess/compare.ts StepChange. */
export interface BaselineChange {
  scenario: string;
  step: string;
  action: string;
  attack: boolean;
  before: Outcome;
  after: Outcome;
  kind: 'regression' | 'improvement' | 'broken' | 'changed';
  stoppedByBefore: string[];
  stoppedByAfter: string[];
}

/** `run --baseline FILE` (product.md §4): this scenario against the saved report. */
export interface BaselineSection {
  /** the baseline file as given on the command line */
  file: string;
  /** attack steps blocked before, allowed or partial now */
  regressions: BaselineChange[];
  /** attack steps allowed or partial before, blocked now */
  improvements: BaselineChange[];
  /** every other change of outcome (allowed ↔ partial; steps not from the attacker: kind `broken` when less of it gets through) */
  changed: BaselineChange[];
  /** steps the baseline does not have */
  added: BaselineStep[];
  /** steps of this scenario the baseline has and this run does not */
  removed: BaselineStep[];
  /** legitimate flows whose success rate moved (assess/compare.ts TrafficChange) */
  traffic: { scenario: string; from: string; to: string; before: number; after: number; kind: 'worse' | 'better' }[];
  /** legitimate flows this run has and the baseline does not (sent / ok of this run) */
  trafficAdded: { scenario: string; from: string; to: string; sent: number; ok: number }[];
  /** legitimate flows the baseline has and this run does not (sent / ok of the baseline) */
  trafficRemoved: { scenario: string; from: string; to: string; sent: number; ok: number }[];
}

export interface RunResult {
  scenario: string;
  description?: string;
  file: string;
  seed: number;
  verdict: 'breached' | 'contained';
  expectations: { passed: number; failed: number };
  steps: StepResult[];
  traffic: TrafficResult[];
  /** every control in any step's defences; by soleStops, then stops, descending */
  controls: ControlSummary[];
  warnings: string[];
  /** outcomes over simulated time for the TUI's sparklines; never rendered into the JSON report */
  timeline?: Timeline;
  /**
   * `run --shard i/n`: which part of the suite this run is (1-based `index` of `count`), and where this
   * scenario stands in the whole suite (0-based `position` of `total`), for `meshrange merge`
   */
  /** `runSeed`: the run's --seed, null when each scenario ran with its own (merge refuses shards that differ in it) */
  shard?: { index: number; count: number; position: number; total: number; runSeed?: number | null };
  /** `run --baseline FILE`: how this scenario compares with the saved report */
  baseline?: BaselineSection;
  /** hash of every event of the run: the cheapest whole-run regression check */
  fingerprint: string;
  /**
   * The mesh's workloads, sorted by id, for pictures of the mesh (the HTML
   * report). Not part of the JSON report, whose renderer names every field.
   */
  mesh?: { workloads: MeshWorkloadSummary[] };
}

export type { ControlKind, StoppedBy };
