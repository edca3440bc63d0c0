/**
 * The data of an assessment (assess/assess.ts builds it, report/assess.ts renders it): plain types over core and
 * scenario types only, so the renderers below the application layer never import the code that runs scenarios.
 */
import type { Location } from '../core/issues.js';
import type { StepChange, TrafficChange, TrafficRecord } from './compare.js';

export type Risk = 'up' | 'down' | 'same';

export interface AssessPath {
  from: string;
  to: string;
  port: number;
  via: 'service' | 'ingress';
  /** the workloads whose app accepted, on the side where it is reachable */
  workloads: string[];
  /** the hop into the workload was mutual TLS (false: plaintext or one-way TLS; null: unknown), on the side where it is reachable */
  mtls: boolean | null;
  /** the controls that refuse it on the other side (`Control ns/name: reason`) */
  stoppedBy: string[];
  /**
   * where a reviewer looks: the resource of the control that stops the path on the other side as the after mesh has it
   * (the changed PeerAuthentication, the added policy), else the Service or VirtualService of the path
   */
  loc?: Location;
}

/** A step whose outcome changed (compare.ts StepChange), located in its scenario file. */
export interface AssessStep extends StepChange {
  /** the step in the scenario file */
  loc?: Location;
}

/** A legitimate flow whose success rate changed (compare.ts TrafficChange). */
export type AssessTraffic = TrafficChange;

/**
 * A posture finding (a `meshrange lint` finding, src/lint) on one side only (assess/posture.ts): located on the side
 * that has it.
 */
export interface AssessFinding {
  /** lint code, `MR01nn` (docs/lint-codes.md) */
  code: string;
  rule: string;
  severity: 'error' | 'warning' | 'info';
  /** `Kind namespace/name` */
  resource: string;
  message: string;
  hint: string;
  /** counted in the risk: a warning or error that is new on its resource (added: a control weakened) or gone from it (removed) */
  weighed: boolean;
  loc?: Location;
}

export interface AssessReport {
  before: string;
  after: string;
  newlyReachable: AssessPath[];
  noLongerReachable: AssessPath[];
  steps: AssessStep[];
  traffic: AssessTraffic[];
  /** steps of a scenario on one side only (a scenario's steps changed between the sides) */
  stepsAdded: { scenario: string; step: string }[];
  stepsRemoved: { scenario: string; step: string }[];
  /** legitimate flows only the after side's runs have */
  trafficAdded: { scenario: string; from: string; to: string }[];
  /** legitimate flows only the before side's runs have */
  trafficRemoved: { scenario: string; from: string; to: string }[];
  /**
   * posture findings (`meshrange lint`) the after side has and the before side does not, and the reverse. Optional so
   * that a report built by hand (a library user rendering one) need not; `assess` always sets them.
   */
  postureAdded?: AssessFinding[];
  postureRemoved?: AssessFinding[];
  risk: Risk;
  /** why the risk is what it is, one line each */
  riskReasons: string[];
  /**
   * what the reader should know besides the result: a side whose mesh has no workload, nothing to compare at all
   * (a risk `same` that means nothing), kinds the loader does not model — located where a file is at fault.
   * `assess` always sets it; optional so that a report built by hand (a library user rendering one) need not.
   */
  warnings?: string[];
  /**
   * counts: reachable paths on each side, scenarios run, regressions, improvements, legitimate flows or steps broken;
   * posture findings added and removed (all severities) — `postureAdded` / `postureRemoved` are set by `assess`
   */
  summary: { pathsBefore: number; pathsAfter: number; scenarios: number; regressions: number; improvements: number; broken: number; postureAdded?: number; postureRemoved?: number };
}
