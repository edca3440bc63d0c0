/** What a scenario run produces; reporters render it, nothing else. */
import type { ReachEdge, ReachNode } from '../analysis/reachability.js';
import type { ControlKind, Hop, StoppedBy } from '../policy/decide.js';

export type Outcome = 'allowed' | 'blocked' | 'partial';

export interface StepEvidence {
  events: { t: number; hop: Hop | 'scenario'; what: string }[];
  sent?: { from: string; to: string; protocol: string; method?: string; path?: string; headers?: Record<string, string>; tls: string; sni?: string };
  /** ms from sending to the answer, in simulated time */
  latencyMs?: number;
  /** retries the client sidecar sent (§3 step 7), when any */
  retries?: number;
  /** `retries`: those the attacker's own sidecar added (Istio's default retry policy, §3 step 7), when any */
  flood?: { sent: number; ok: number; statuses: Record<string, number>; p50ms: number; p99ms: number; windowMs: number; retries?: number };
  /** how each legitimate flow fared while this step ran, against the same run without the attack */
  collateral?: { flow: string; sent: number; ok: number; errorRate: number; p99ms: number; degraded: boolean; baseline: { errorRate: number; p99ms: number } | null; statement: string }[];
  stolen?: { kind: 'certificate' | 'jwt'; subject: string; notAfter: number | null; validUntil: string; validForMs: number | null; note: string }[];
  /** the proxies the request crossed */
  proxies?: string[];
  requestPrincipal?: string | null;
  destination?: { service?: string; workload: string; port: number; targetPort: number; protocol: string };
  received?: { method: string; path: string; headers: Record<string, string> };
  response?: { status: number; headers: Record<string, string>; body: string };
  flags?: string;
  peerPrincipal?: string | null;
  authorization?: {
    stage: string;
    rule: string | null;
    details: string;
    audited: string[];
    shadow: { policy: string; rule: string | null; effect: string }[];
  };
}

export interface StepResult {
  id: string;
  action: string;
  outcome: Outcome;
  expected: Outcome | null;
  code: number | null;
  grpcStatus?: number;
  mtls: boolean | null;
  stoppedBy: StoppedBy[];
  /** run from the foothold: counts towards the verdict */
  attack: boolean;
  expectationMet: boolean | null;
  from: string;
  to?: string;
  /** simulated time of the step, ms since t=0 */
  t: number;
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

export interface RunResult {
  scenario: string;
  description?: string;
  file: string;
  seed: number;
  verdict: 'breached' | 'contained';
  expectations: { passed: number; failed: number };
  steps: StepResult[];
  traffic: TrafficResult[];
  warnings: string[];
  /** hash of every event of the run: the cheapest whole-run regression check */
  fingerprint: string;
}

export type { ControlKind, StoppedBy };
