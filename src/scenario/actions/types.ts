/**
 * The contract every step action implements (architecture.md: one file per
 * step action). An action module owns
 *  - which step fields it reads (`fields`) and which it needs (`required`):
 *    any other field on a step of that action is an error, never ignored;
 *  - its own extra checks (`check`), located at file:line:col;
 *  - how long it lasts in simulated time (`lasts`);
 *  - its evaluation (`run`), on the scenario's discrete-event kernel, ending
 *    with exactly one `c.finish(p, result)`.
 * simulate.ts plans the steps and dispatches; it knows no action by name.
 */
import type { IssueList } from '../../core/issues.js';
import type { SourceDoc } from '../../loader/yaml-source.js';
import type { Mesh, Workload } from '../../model/types.js';
import type { ExtAuthz } from '../../policy/authorization-policy.js';
import type { Protocol } from '../../policy/decide.js';
import type { Kernel } from '../../sim/kernel/index.js';
import type { CertificateFleet } from '../../sim/mesh/certificates.js';
import type { FlowStats } from '../../sim/mesh/stats.js';
import type { Outcome as WorldOutcome, RequestSpec, World } from '../../sim/mesh/world.js';
import type { TimelineRecorder } from '../timeline.js';
import type { AttackerState, StolenToken } from '../attacker.js';
import type { LoadedScenario } from '../load.js';
import type { ScenarioDoc, StepDoc } from '../schema.js';
import type { StepResult } from '../types.js';

export type StepField = keyof StepDoc;

export interface PlannedStep {
  step: StepDoc;
  index: number;
  /** simulated ms the step starts */
  at: number;
  /** simulated ms it ends (= at for instantaneous actions) */
  end: number;
  /** the acting workload (`ns/name` or `outside`) */
  from: string;
  /** runs from the foothold (or a workload the attacker took over): counts towards the verdict */
  attack: boolean;
  /** request headers, with a token from `token`/`jwt` already in `authorization` */
  headers: Record<string, string>;
  jwt?: RequestSpec['jwt'];
}

export interface PlannedFlow {
  index: number;
  from: string;
  to: string;
  rate: number;
  protocol: Protocol;
  method: string;
  path: string;
  headers: Record<string, string>;
  jwt?: RequestSpec['jwt'];
}

/** Who sends a request: a legitimate flow of `spec.traffic`, or a step. */
export type RequestOrigin =
  | { kind: 'flow'; index: number; from: string; to: string }
  | { kind: 'step'; id: string; attack: boolean; from: string; to: string };

/** A request at the simulated moment it is sent. */
export interface SentRequest {
  origin: RequestOrigin;
  spec: RequestSpec;
  /** simulated ms */
  t: number;
}

/** An observer of requests (sniff): called as each is sent; what it returns is called with that request's outcome. */
export type RequestTap = (r: SentRequest) => ((o: WorldOutcome) => void) | undefined;

/** What a running step may use: the kernel, the mesh in time, the attacker's state. */
export interface StepContext {
  k: Kernel;
  mesh: Mesh;
  world: World;
  scenario: LoadedScenario;
  /** decide() calls the pivot steps of this run may still make (pivot.ts MAX_PIVOT_RUN_DECISIONS) */
  pivotBudget: { left: number };
  seed: number;
  /** wall-clock ms of simulated t=0 */
  epochMs: number;
  /** simulated ms the run lasts */
  duration: number;
  flows: readonly PlannedFlow[];
  /** per flow, its stats over the whole run so far */
  flowStats: readonly FlowStats[];
  attacker: AttackerState;
  /** outcomes over simulated time for the TUI's sparklines (a load step records its requests under `step <id>`) */
  timeline: TimelineRecorder;
  fleet: CertificateFleet;
  /** workloads that run an Envoy and hold a workload certificate */
  hasCert: ReadonlySet<string>;
  extAuthz: ExtAuthz | undefined;
  workload(id: string): Workload | undefined;
  /** the fields every step result starts with */
  base(p: PlannedStep): Pick<StepResult, 'id' | 'action' | 'expected' | 'attack' | 'from' | 't'>;
  /** the request a request-like step sends, with its own seeded stream (`jwt: stolen` resolved now) */
  requestSpec(p: PlannedStep, stream: string): StepRequest;
  /** records the step's result (judged against its expectation); call exactly once */
  finish(p: PlannedStep, r: StepResult): void;
  /** observe every request flows and steps send from now on; returns the function that stops observing */
  tap(observer: RequestTap): () => void;
  /**
   * What the step reports if the run ends before it finishes (a request still
   * unanswered: slow app, deep queue, many retries). Without it, simulate.ts
   * reports a generic cut-off: blocked, code 0 as curl's timeout, no control.
   */
  onCutOff(p: PlannedStep, result: () => StepResult): void;
}

/** A step's request, with what `jwt: stolen` put in it. */
export interface StepRequest extends RequestSpec {
  /** `jwt: stolen`: the token taken from the attacker's state when the step ran (null: it held none) */
  replay?: { token: StolenToken | null };
}

export interface CheckInput {
  step: StepDoc;
  /** path of the step in the document, e.g. ['spec', 'steps', 3] */
  path: (string | number)[];
  doc: ScenarioDoc;
  src: SourceDoc;
  issues: IssueList;
}

/** What `bind` sees: the step, located, and the loaded mesh it will run against. */
export interface BindInput extends CheckInput {
  mesh: Mesh;
}

export interface ActionModule {
  action: StepDoc['action'];
  /** fields this action reads, besides id, action, description, from, at, expect */
  fields: readonly StepField[];
  /** fields it cannot run without, each with a hint */
  required?: readonly { field: StepField; hint: string }[];
  /** extra validation beyond the schema */
  check?(input: CheckInput): void;
  /** validation against the mesh (workloads, hosts the step names), located; runs in bindScenario */
  bind?(input: BindInput): void;
  /** how long the step lasts in simulated ms (default 0) */
  lasts?(step: StepDoc): number;
  /** sends requests like `request` (its JWT signatures are prepared ahead) */
  requestLike?: boolean;
  /** sends load over time: legitimate flows are measured during its window, and the run is replayed without it */
  load?: boolean;
  run(c: StepContext, p: PlannedStep): void;
}

export const COMMON_FIELDS: readonly StepField[] = ['id', 'action', 'description', 'from', 'at', 'expect'];
export const REQUEST_FIELDS: readonly StepField[] = ['to', 'protocol', 'method', 'path', 'headers', 'token', 'jwt', 'tls', 'sni', 'sourceIp', 'bypass'];
