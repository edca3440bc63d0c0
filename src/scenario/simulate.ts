/**
 * A scenario in simulated time: the CA and every proxy's certificate, the
 * legitimate `traffic:` as open-loop Poisson flows, and the steps at their
 * times, all on one discrete-event kernel (src/sim). When the scenario has
 * traffic and attack steps, it is played twice with the same seed — once
 * without the attack steps — so the report can say which legitimate flows
 * the attack (or a control) broke.
 */
import { parseDuration, parseRate } from '../core/duration.js';
import { fnv1a64, stableStringify } from '../core/hash.js';
import { defaultMethod } from '../core/http.js';
import { SimulationLimitError } from '../core/limits.js';
import { ownValue } from '../core/record.js';
import type { Mesh, Workload } from '../model/types.js';
import { principalOf, spiffeId } from '../model/types.js';
import type { ExtAuthz } from '../policy/authorization-policy.js';
import { DEFAULT_OUTSIDE_IP, type MeshRequest, type Protocol } from '../policy/decide.js';
import { EventBudgetExceeded, Kernel } from '../sim/kernel/index.js';
import { effectiveMtls } from '../policy/peer-authentication.js';
import type { Location } from '../core/issues.js';
import { MeshCa } from '../sim/mesh/ca.js';
import { certificateProblem, CertificateFleet } from '../sim/mesh/certificates.js';
import { MeshControls } from '../sim/mesh/controls.js';
import { DEFAULT_FACTS, type ServerFacts } from '../sim/mesh/server.js';
import { FlowStats } from '../sim/mesh/stats.js';
import { LiveRequestsExceeded, World, type Outcome, type RequestSpec } from '../sim/mesh/world.js';
import { actionModule, type PlannedFlow, type PlannedStep, type RequestOrigin, type RequestTap, type StepContext } from './actions/index.js';
import type { StepRequest } from './actions/types.js';
import { MAX_PIVOT_RUN_DECISIONS } from './actions/pivot.js';
import { isRemovable, withoutControls, type ControlRef } from '../analysis/counterfactual.js';
import { AttackerState, STOLEN_TOKEN } from './attacker.js';
import { attachDefences, summarizeControls } from './defences.js';
import type { LoadedScenario } from './load.js';
import { signaturesFor, signingRulesOf, stealableTokens, tokenTimes, TokenMinter, validityPhase } from './tokens.js';
import type { JwtRule } from '../model/request-authentication.js';
import type { RunResult, Timeline, StepResult, TrafficResult } from './types.js';
import { TimelineRecorder } from './timeline.js';
import { expectationOf, judge } from './expect.js';

export const DEFAULT_START_TIME = '2026-01-01T00:00:00Z';
/** ms one proxy adds each way: ~2.5 ms per request across client and server sidecars (the seeds' figure) */
export const DEFAULT_PROXY_OVERHEAD_MS = 0.625;
/** simulated ms the kernel runs past the scenario's end; a step still waiting then is cut off */
export const CUT_OFF_GRACE_MS = 60_000;
/**
 * Most kernel events one simulated run may process (Kernel rule 9): ~10 per
 * request, so the 5 M requests the runner admits (MAX_SIMULATED_REQUESTS)
 * fit with room for retry storms; past it the run stops with a located error.
 */
export const MAX_KERNEL_EVENTS = 250_000_000;

/** A run that hit a bound while it ran (the event budget): bad input, located, never a hang. */
export class ScenarioLimitError extends SimulationLimitError {
  constructor(message: string, override readonly loc: Location, hint: string) {
    super(message, loc, hint);
  }
}

/**
 * The work the defence analysis may add (§3.2, scenario/defences.ts): new
 * variant runs start while the variants together have processed fewer
 * simulated events than this many times the scenario's own runs, or the floor.
 */
export const VARIANT_EVENTS_PER_RUN_EVENT = 3;
/** Pivot decisions the defence analysis's variant runs may make in all, at least (see simulateScenario). */
export const VARIANT_PIVOT_FLOOR = 1_000_000;
export const VARIANT_EVENTS_FLOOR = 200_000;

/**
 * How far a scenario's simulation has got, in simulated terms only: no wall
 * time here (the CLI adds it to show events/s). Reported as the kernel runs,
 * a slice of simulated time at a time; never part of a result.
 */
export interface SimProgress {
  /** which run of the scenario: the attack, the baseline without it, or the counterfactual variants (§3.2) */
  phase: 'run' | 'baseline' | 'defences';
  /** the simulated ms reached, and the simulated ms this phase runs to */
  simMs: number;
  endMs: number;
  /** kernel events this scenario has processed so far, every phase counted */
  events: number;
}

export type ProgressHook = (p: SimProgress) => void;

/** A phase with a progress hook runs in this many slices of simulated time (only when a hook is given). */
export const PROGRESS_SLICES = 200;

export interface SimulateOptions {
  seed?: number;
  /** called as the simulation advances (the CLI's progress line); the result does not depend on it */
  progress?: ProgressHook;
  jwks?: Readonly<Record<string, string>>;
  /** the jwtRules whose key sets sign trusted tokens (default: the mesh's own; tokens.ts signingRulesOf) */
  signers?: readonly JwtRule[];
  warnings?: string[];
  extAuthz?: ExtAuthz | undefined;
  /** the kernel's event budget (default MAX_KERNEL_EVENTS; tests lower it) */
  maxEvents?: number;
  /** most requests the apps may hold at once (default world.ts MAX_LIVE_REQUESTS; tests lower it) */
  maxLiveRequests?: number;
  /** decide() calls the pivot steps of one run may make in all (default pivot.ts MAX_PIVOT_RUN_DECISIONS; tests lower it) */
  maxPivotDecisions?: number;
}

function target(mesh: Mesh, to: string): MeshRequest['to'] {
  const colon = to.lastIndexOf(':');
  const host = to.slice(0, colon);
  const port = Number(to.slice(colon + 1));
  if (host.startsWith('workload/')) {
    const w = mesh.workloads.find((x) => x.id === host.slice('workload/'.length)) as Workload;
    return { kind: 'workload', workload: w, port };
  }
  return { kind: 'host', host, port };
}

function source(mesh: Mesh, from: string, ip?: string): MeshRequest['from'] {
  return from === 'outside' ? { kind: 'outside', ip: ip ?? DEFAULT_OUTSIDE_IP } : { kind: 'workload', workload: mesh.workloads.find((w) => w.id === from) as Workload };
}

function factsOf(s: LoadedScenario): (w: Workload) => ServerFacts {
  const spec = s.doc.spec.workloads ?? {};
  return (w) => {
    const f = ownValue(spec, w.id);
    const anno = (k: string): string | undefined => ownValue(w.sim, k);
    const num = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
    return {
      serviceTimeMs: (f?.serviceTime ? parseDuration(f.serviceTime) : anno('service-time') ? parseDuration(anno('service-time') as string) : null) ?? DEFAULT_FACTS.serviceTimeMs,
      concurrency: f?.concurrency ?? num(anno('concurrency')) ?? DEFAULT_FACTS.concurrency,
      queue: f?.queue ?? num(anno('queue')) ?? DEFAULT_FACTS.queue,
    };
  };
}

interface SimRun {
  fingerprint: string;
  flows: FlowStats[];
  /** per flood step id, per flow: the flow's stats while the flood ran */
  windows: Map<string, FlowStats[]>;
  steps: Map<string, StepResult>;
  decisions: number;
  events: number;
  /** decide() calls its pivot steps made */
  pivotDecisions: number;
  /** outcomes over time per flow and load step (for the TUI), null when nothing was sent */
  timeline: Timeline | null;
}

export async function simulateScenario(s: LoadedScenario, mesh: Mesh, opts: SimulateOptions): Promise<RunResult> {
  const spec = s.doc.spec;
  const seed = opts.seed ?? spec.seed ?? 1;
  const epochMs = Date.parse(spec.startTime ?? DEFAULT_START_TIME);
  const standIns = opts.jwks ?? {};
  const minter = new TokenMinter(opts.signers ?? signingRulesOf(mesh), standIns, seed, epochMs / 1000);
  const named = new Map<string, string>();
  for (const [name, c] of Object.entries(spec.tokens ?? {})) named.set(name, await minter.mint(c, 0));
  const foothold = spec.attacker.foothold;

  const flows: PlannedFlow[] = [];
  for (const [index, f] of (spec.traffic ?? []).entries()) {
    const headers = { ...(f.headers ?? {}) };
    const flow: PlannedFlow = { index, from: f.from, to: f.to, rate: parseRate(f.rate) as number, protocol: (f.protocol ?? 'http') as Protocol, method: f.method ?? defaultMethod(f.protocol), path: f.path ?? '/', headers };
    flow.jwt = { nowSeconds: epochMs / 1000, sigs: await signaturesFor(mesh, standIns, { headers, path: flow.path, method: flow.method }) };
    flows.push(flow);
  }
  // `jwt: stolen` replays a token the attacker takes at run time: every token it could take is checked ahead.
  const stealable = spec.steps.some((st) => st.jwt === STOLEN_TOKEN) ? stealableTokens(mesh, flows) : [];

  // Plan: when each step runs (scenarioSpan).
  const span = scenarioSpan(s);
  const planned: PlannedStep[] = [];
  for (const [index, step] of spec.steps.entries()) {
    const { at, end } = span.steps[index] as { at: number; end: number };
    const mod = actionModule(step.action);
    if (!mod) throw new Error(`action ${step.action} has no module (the loader should have refused it)`);
    const from = step.from ?? foothold;
    const headers: Record<string, string> = { ...(step.headers ?? {}) };
    const replay = step.jwt === STOLEN_TOKEN;
    const token = step.token ?? (replay ? undefined : typeof step.jwt === 'string' ? named.get(step.jwt) : step.jwt ? await minter.mint(step.jwt, at) : undefined);
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    const p: PlannedStep = { step, index, at, end, from, attack: from === foothold, headers };
    if (mod.requestLike) {
      p.jwt = { nowSeconds: (epochMs + at) / 1000, sigs: await signaturesFor(mesh, standIns, { headers, path: step.path ?? '/', method: step.method ?? defaultMethod(step.protocol) }, replay ? stealable : []) };
    }
    planned.push(p);
  }
  const ctx: Ctx = { s, mesh, seed, epochMs, planned, flows, duration: span.duration, facts: factsOf(s), extAuthz: opts.extAuthz, maxEvents: opts.maxEvents ?? MAX_KERNEL_EVENTS, maxLiveRequests: opts.maxLiveRequests,
    maxPivotDecisions: opts.maxPivotDecisions ?? MAX_PIVOT_RUN_DECISIONS,
    progress: opts.progress ? { hook: opts.progress, done: 0 } : undefined };
  const run = bounded(ctx, { withSteps: true });
  const hasAttackTraffic = planned.some((p) => actionModule(p.step.action)?.load === true);
  const baseline = flows.length > 0 && hasAttackTraffic ? bounded(ctx, { withSteps: false }) : null;

  const steps = planned.map((p) => run.steps.get(p.step.id) as StepResult);
  for (const p of planned) {
    const r = run.steps.get(p.step.id);
    if (r && actionModule(p.step.action)?.load === true && flows.length > 0) {
      const during = run.windows.get(p.step.id) ?? [];
      const before = baseline?.windows.get(p.step.id) ?? [];
      r.evidence.collateral = flows.map((f, i) => collateral(f, during[i], before[i])).filter((x): x is NonNullable<typeof x> => x !== null);
    }
  }
  let passed = 0;
  let failed = 0;
  for (const r of steps) {
    if (r.expectationMet === true) passed++;
    else if (r.expectationMet === false) failed++;
  }
  // §3.2: the same plan (tokens, signatures, flows) re-run against mesh variants. A variant is only ever read for
  // a step that did not get through and met a control that can be removed: those are the steps it waits for.
  const needed = new Set(steps.filter((r) => r.outcome !== 'allowed' && r.stoppedBy.some(isRemovable)).map((r) => r.id));
  const variantBudget = Math.max(VARIANT_EVENTS_FLOOR, VARIANT_EVENTS_PER_RUN_EVENT * (run.events + (baseline?.events ?? 0)));
  // Pivot decisions are no kernel events (a pivot is one event that explores synchronously): the variants together may
  // make as many as VARIANT_EVENTS_PER_RUN_EVENT times the scenario's own pivots, at least VARIANT_PIVOT_FLOOR.
  const sharedPivotBudget = { left: Math.min(ctx.maxPivotDecisions, Math.max(VARIANT_PIVOT_FLOOR, VARIANT_EVENTS_PER_RUN_EVENT * run.pivotDecisions)) };
  const variant = (removed: readonly ControlRef[]): { steps: ReadonlyMap<string, StepResult>; events: number } => {
    let v: SimRun;
    try {
      // One variant may not spend more than the whole analysis may: past it, the analysis stops with a warning (never an error:
      // the scenario itself ran within its limits).
      v = simulate({ ...ctx, mesh: withoutControls(mesh, removed), maxEvents: Math.min(ctx.maxEvents, variantBudget), sharedPivotBudget }, { withSteps: true, until: needed });
    } catch (e) {
      if (!(e instanceof EventBudgetExceeded) && !(e instanceof SimulationLimitError)) throw e;
      return { steps: new Map(), events: Number.POSITIVE_INFINITY };
    }
    // A step the variant cut off got past every control (nothing stopped it; the app had not answered when the run ended):
    // for §3.2 that is "through", not "still stopped".
    const verdicts = new Map<string, StepResult>();
    for (const [id, r] of v.steps) verdicts.set(id, r.evidence.cutOff !== undefined && r.stoppedBy.length === 0 ? { ...r, outcome: 'allowed' } : r);
    return { steps: verdicts, events: v.events };
  };
  const defenceWarnings = attachDefences(steps, variant, variantBudget);
  const breached = steps.some((r) => r.attack && r.action !== 'wait' && (r.outcome === 'allowed' || r.outcome === 'partial'));
  const traffic: TrafficResult[] = flows.map((f, i) => trafficResult(f, run.flows[i] as FlowStats, baseline?.flows[i]));
  const out: RunResult = {
    scenario: s.doc.metadata.name,
    file: s.file,
    seed,
    verdict: breached ? 'breached' : 'contained',
    expectations: { passed, failed },
    steps,
    traffic,
    controls: summarizeControls(steps),
    warnings: [...(opts.warnings ?? []), ...defenceWarnings],
    fingerprint: '',
  };
  if (s.doc.metadata.description !== undefined) out.description = s.doc.metadata.description;
  out.mesh = meshSummary(mesh);
  if (run.timeline) out.timeline = run.timeline;
  out.fingerprint = fnv1a64(`${run.fingerprint}/${stableStringify(steps.map((x) => [x.id, x.outcome, x.code, x.mtls, x.evidence.events]))}`);
  return out;
}

/**
 * When each step starts and ends and how long the run lasts, in simulated ms:
 * a step starts at its `at` — which may fall while a step above it still
 * runs (a probe in the middle of a flood), never before the step above it
 * starts (bindScenario refuses it; kept in order here) — or, without one,
 * when every step above it has ended (a wait then advances time past all of
 * them); it lasts what its action says (a flood or a wait its `for`). The run
 * lasts `spec.duration`, or with traffic at least 30 s and 10 s past the last
 * step to end, else until it ends. The runner bounds these before anything
 * runs.
 */
export function scenarioSpan(s: LoadedScenario): { steps: { at: number; end: number }[]; stepsEnd: number; duration: number } {
  const spec = s.doc.spec;
  const steps: { at: number; end: number }[] = [];
  let prevStart = 0;
  let stepsEnd = 0;
  for (const step of spec.steps) {
    const at = Math.max(prevStart, step.at !== undefined ? (parseDuration(step.at) ?? 0) : stepsEnd);
    const mod = actionModule(step.action);
    const end = at + Math.max(0, mod?.lasts?.(step) ?? 0);
    steps.push({ at, end });
    prevStart = at;
    if (end > stepsEnd) stepsEnd = end;
  }
  const duration = spec.duration !== undefined ? (parseDuration(spec.duration) ?? 0)
    : (spec.traffic ?? []).length > 0 ? Math.max(30_000, stepsEnd + 10_000) : stepsEnd;
  return { steps, stepsEnd, duration };
}

function trafficResult(f: PlannedFlow, st: FlowStats, base: FlowStats | undefined): TrafficResult {
  const r: TrafficResult = {
    from: f.from, to: f.to, sent: st.sent, ok: st.ok, p99ms: st.percentile(99),
    p50ms: st.percentile(50), p95ms: st.percentile(95), errorRate: st.errorRate(), statuses: st.histogram(),
  };
  const stopped = st.stoppedBy();
  if (Object.keys(stopped).length > 0) r.stoppedBy = stopped;
  if (st.retries > 0) r.retries = st.retries;
  if (base) {
    r.baseline = { sent: base.sent, ok: base.ok, p99ms: base.percentile(99), errorRate: base.errorRate() };
    r.degraded = degraded(st, base);
  }
  return r;
}

function degraded(st: FlowStats, base: FlowStats): boolean {
  return st.errorRate() > base.errorRate() + 0.01 || st.percentile(99) > base.percentile(99) * 1.5 + 1;
}

function collateral(f: PlannedFlow, during: FlowStats | undefined, before: FlowStats | undefined): NonNullable<StepResult['evidence']['collateral']>[number] | null {
  if (!during || during.sent === 0) return null;
  const c = { flow: `${f.from} → ${f.to}`, sent: during.sent, ok: during.ok, errorRate: during.errorRate(), p99ms: during.percentile(99), degraded: false,
    baseline: before ? { errorRate: before.errorRate(), p99ms: before.percentile(99) } : null, statement: '' };
  c.degraded = before ? degraded(during, before) : during.errorRate() > 0.01;
  const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;
  c.statement = before
    ? `${c.flow}: error rate ${pct(before.errorRate())} → ${pct(c.errorRate)}, p99 ${before.percentile(99)} → ${c.p99ms} ms${c.degraded ? ' (degraded)' : ''}`
    : `${c.flow}: error rate ${pct(c.errorRate)}, p99 ${c.p99ms} ms`;
  return c;
}

/**
 * The mesh in time, with observers (sniff): every request a flow or a step
 * sends is tagged with its origin, and the observers registered at the time
 * it leaves are told of it and of its outcome. Observing changes nothing:
 * no event, no random draw.
 */
class ObservedWorld extends World {
  readonly taps = new Set<RequestTap>();
  readonly origins = new WeakMap<RequestSpec, RequestOrigin>();

  override send(spec: RequestSpec, done: (o: Outcome) => void): void {
    const origin = this.taps.size > 0 ? this.origins.get(spec) : undefined;
    if (origin === undefined) { super.send(spec, done); return; }
    const t = this.k.now;
    const watchers: ((o: Outcome) => void)[] = [];
    for (const tap of this.taps) {
      const w = tap({ origin, spec, t });
      if (w) watchers.push(w);
    }
    super.send(spec, watchers.length === 0 ? done : (o) => { for (const w of watchers) w(o); done(o); });
  }
}

/**
 * A step the run ended under (issue 9.3): nothing answered the attacker, as a
 * client that gives up sees it — blocked, code 0 (curl's 000 on a timeout)
 * for an HTTP request, null otherwise; no control stopped it.
 */
function cutOffResult(c: StepContext, p: PlannedStep, until: number, reason: string): StepResult {
  const mod = actionModule(p.step.action);
  const http = mod?.requestLike === true && p.step.protocol !== 'tcp' && p.step.protocol !== 'tls';
  const r: StepResult = { ...c.base(p), outcome: 'blocked', code: http ? 0 : null, mtls: null, stoppedBy: [], expectationMet: null,
    evidence: { events: [{ t: until, hop: 'scenario', what: reason }], cutOff: { atMs: until, reason } } };
  if (p.step.to !== undefined) r.to = p.step.to;
  // The §3.1 fields an impersonation always carries: nothing was presented that the server acted on.
  if (p.step.action === 'impersonate') {
    if (p.step.as !== undefined) r.as = p.step.as;
    if (p.step.using !== undefined) r.using = p.step.using;
    r.presented = null;
  }
  return r;
}

interface Ctx {
  s: LoadedScenario;
  mesh: Mesh;
  seed: number;
  epochMs: number;
  planned: PlannedStep[];
  flows: PlannedFlow[];
  duration: number;
  facts: (w: Workload) => ServerFacts;
  extAuthz: ExtAuthz | undefined;
  maxEvents: number;
  maxLiveRequests: number | undefined;
  maxPivotDecisions: number;
  /** a pivot budget several runs share (the defence analysis's variants); absent: each run gets maxPivotDecisions */
  sharedPivotBudget?: { left: number };
  /** shared by every run of the scenario (variants copy the Ctx, not this): `done` counts the events of finished runs */
  progress: { hook: ProgressHook; done: number } | undefined;
}

/** The workloads for pictures of the mesh (RunResult.mesh), sorted by id; mTLS as the workload-level PeerAuthentication says (§5). */
function meshSummary(mesh: Mesh): NonNullable<RunResult['mesh']> {
  const workloads = mesh.workloads.map((w) => ({ id: w.id, namespace: w.namespace, name: w.name, sidecar: w.sidecar, gateway: w.gateway,
    mtls: effectiveMtls(mesh, w, 0).mode }));
  workloads.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { workloads };
}

/**
 * k.run(until), in PROGRESS_SLICES slices of simulated time when a progress hook
 * is given. The same events run in the same order either way (Kernel rule 5:
 * run(a) then run(b) processes what run(b) would), so the result is the same.
 */
function runTo(k: Kernel, until: number, c: Ctx, phase: SimProgress['phase']): void {
  const p = c.progress;
  if (!p) { k.run(until); return; }
  const from = k.now;
  const slice = Math.max(1, (until - from) / PROGRESS_SLICES);
  for (let i = 1; ; i++) {
    const to = Math.min(from + slice * i, until);
    k.run(to);
    p.hook({ phase, simMs: to, endMs: until, events: p.done + k.processed });
    if (to >= until) return;
  }
}

/** "<kind> <name>" (or the kind alone when there is no name) per pair, made once. */
class PairNames {
  private readonly byKind = new Map<string, Map<string | null, string>>();
  of(kind: string, name: string | null): string {
    let byName = this.byKind.get(kind);
    if (byName === undefined) { byName = new Map(); this.byKind.set(kind, byName); }
    let text = byName.get(name);
    if (text === undefined) { text = name ? `${kind} ${name}` : kind; byName.set(name, text); }
    return text;
  }
}

/** simulate(), with the event budget's stop turned into a located error naming what was running. */
function bounded(c: Ctx, run: SimulateRun): SimRun {
  const withSteps = run.withSteps;
  try {
    return simulate(c, run);
  } catch (e) {
    if (!(e instanceof EventBudgetExceeded)) throw e;
    const t = e.time;
    // The step running at t: of those whose span holds t, the one that runs longest (steps may overlap: a probe inside
    // a flood is not what spent the budget); ties to the later one.
    let step: PlannedStep | undefined;
    if (withSteps) for (const p of c.planned) if (p.at <= t && t <= p.end + CUT_OFF_GRACE_MS && (step === undefined || p.end - p.at >= step.end - step.at)) step = p;
    const where = step ? ['spec', 'steps', step.index] : c.flows.length > 0 ? ['spec', 'traffic'] : ['spec'];
    throw new ScenarioLimitError(`${e.message} (simulated t=${Math.round(t)} ms${step ? `, during step "${step.step.id}"` : ''})`,
      c.s.src.locate(where), e instanceof LiveRequestsExceeded
        ? 'lower the service times, concurrency or queues of spec.workloads, or the rates: requests arrive faster than the apps finish them'
        : 'lower the rates, retries or durations: the scenario asks for more work than one run may do');
  }
}

interface SimulateRun {
  /** play the attack steps (false: the legitimate traffic alone, for the baseline) */
  withSteps: boolean;
  /** stop as soon as these steps have finished (a counterfactual run reads nothing else) */
  until?: ReadonlySet<string>;
}

function simulate(c: Ctx, { withSteps, until }: SimulateRun): SimRun {
  const { mesh, s } = c;
  const spec = s.doc.spec;
  const k = new Kernel({ seed: c.seed, maxEvents: c.maxEvents });
  const outages = [...(spec.ca?.outages ?? []), ...(spec.ca?.outage ? [spec.ca.outage] : [])]
    .map((o) => ({ atMs: parseDuration(o.at) as number, forMs: parseDuration(o.for) as number }));
  const ttl = spec.ca?.workloadCertTtl ? parseDuration(spec.ca.workloadCertTtl) : null;
  const ca = new MeshCa(k, ttl ? { outages, workloadTtlMs: ttl } : { outages });
  const proxies = mesh.workloads.filter((w) => w.sidecar || w.gateway);
  const fleet = new CertificateFleet(k, ca, proxies.map((w) => ({ id: w.id, spiffe: spiffeId(principalOf(mesh.config.trustDomain, w.namespace, w.serviceAccount)) })));
  fleet.start();
  const hasCert = new Set(proxies.map((w) => w.id));
  const certProblem = (id: string): string | null => {
    if (!hasCert.has(id)) return null;
    const cert = fleet.certOf(id);
    return cert !== null && k.now >= cert.notBefore && k.now < cert.notAfter ? null : certificateProblem(cert, k.now);
  };
  const controls = new MeshControls(mesh, k.rng('rate-limit'));
  const base = c.extAuthz ? { extAuthz: c.extAuthz, pick: k.rng('route-weights') } : { pick: k.rng('route-weights') };
  const world = new ObservedWorld(k, mesh, { facts: c.facts, proxyOverheadMs: spec.proxyOverhead ? (parseDuration(spec.proxyOverhead) as number) : DEFAULT_PROXY_OVERHEAD_MS, base, certProblem, controls,
    ...(c.maxLiveRequests !== undefined ? { maxLiveRequests: c.maxLiveRequests } : {}) });

  const flowStats = c.flows.map(() => new FlowStats());
  const timeline = new TimelineRecorder(Math.max(c.duration, c.planned.reduce((m, p) => Math.max(m, p.end), 0)));
  // Every run (the baseline too) measures the flows during each flood's window, so "during" and "before" cover the same span.
  const windowSpans = c.planned.filter((p) => actionModule(p.step.action)?.load === true).map((p) => ({ id: p.step.id, at: p.at, end: p.end }));
  const windows = new Map<string, FlowStats[]>(windowSpans.map((w) => [w.id, c.flows.map(() => new FlowStats())]));

  /** "<control> <name>" of what stopped a flow's request, made once per pair (a flood records millions) */
  const stopNames = new PairNames();
  // Legitimate traffic: open-loop Poisson arrivals until `duration`.
  for (const f of c.flows) {
    const st = flowStats[f.index] as FlowStats;
    const req: MeshRequest = { from: source(mesh, f.from), to: target(mesh, f.to), protocol: f.protocol, method: f.method, path: f.path, headers: f.headers, tls: 'auto' };
    const rs: RequestSpec = { req, cacheKey: `flow/${f.index}`, pick: k.rng(`flow/${f.index}/lb`) };
    if (f.jwt) rs.jwt = f.jwt;
    world.origins.set(rs, { kind: 'flow', index: f.index, from: f.from, to: f.to });
    // A flow's tokens expire in simulated time too (§7): each arrival is checked at its own instant,
    // and its cached decision is kept per validity phase of the tokens.
    const timed = f.jwt ? tokenTimes(mesh, f) : [];
    const mean = 1000 / f.rate;
    const arrivals = `flow/${f.index}/arrivals`;
    const series = `traffic[${f.index}]`;
    const arrive = (): void => {
      if (k.now >= c.duration) return;
      const t0 = k.now;
      if (timed.length > 0 && f.jwt) {
        const nowSeconds = (c.epochMs + k.now) / 1000;
        rs.jwt = { nowSeconds, sigs: f.jwt.sigs };
        rs.cacheKey = `flow/${f.index}/${validityPhase(timed, nowSeconds)}`;
      }
      world.send(rs, (o) => {
        const first = o.dynamic ?? o.decision.stoppedBy[0];
        const stop = first ? stopNames.of(first.control, first.name) : undefined;
        const status = o.status === null && o.decision.outcome === 'allowed' && !o.dynamic ? 200 : o.status;
        const grpc = o.dynamic ? undefined : o.decision.grpcStatus;
        st.record(status, o.latencyMs, stop, o.retries, grpc);
        timeline.record(series, t0, status, grpc);
        for (const w of windowSpans) if (t0 >= w.at && t0 < w.end) windows.get(w.id)?.[f.index]?.record(status, o.latencyMs, stop, o.retries, grpc);
      });
      k.schedule(k.exponential(arrivals, mean), arrive);
    };
    k.schedule(k.exponential(arrivals, mean), arrive);
  }

  const results = new Map<string, StepResult>();
  let awaited = until?.size ?? 0;
  const cutOffs = new Map<string, () => StepResult>();
  const attacker = new AttackerState(spec.attacker.foothold, spec.attacker.capabilities ?? []);
  const pivotBudget = c.sharedPivotBudget ?? { left: c.maxPivotDecisions };
  const pivotStart = pivotBudget.left;
  const byId = new Map(mesh.workloads.map((w) => [w.id, w]));
  const sc: StepContext = {
    k, mesh, world, scenario: s, pivotBudget, seed: c.seed, epochMs: c.epochMs, duration: c.duration, flows: c.flows, flowStats, timeline, attacker, fleet, hasCert,
    extAuthz: c.extAuthz,
    workload: (id) => byId.get(id),
    base: (p) => ({ id: p.step.id, action: p.step.action, expected: expectationOf(p.step.expect)?.outcome ?? null, attack: p.attack, from: p.from, t: p.at }),
    requestSpec: (p, stream) => requestSpec(p, stream),
    finish: (p, r) => {
      if (results.has(p.step.id)) throw new Error(`step ${p.step.id} finished twice`);
      const expected = expectationOf(p.step.expect);
      if (expected?.stoppedBy !== undefined) r.expectedStoppedBy = expected.stoppedBy;
      const verdict = judge(expected, r.outcome, r.stoppedBy);
      r.expectationMet = verdict === null ? null : verdict.met;
      if (verdict?.why !== undefined && !verdict.met) r.expectationNote = verdict.why;
      const at = s.src.locate(['spec', 'steps', p.index]);
      r.loc = { line: at.line, col: at.col };
      r.durationMs = p.end - p.at;
      results.set(p.step.id, r);
      if (until?.has(p.step.id)) awaited--;
    },
    tap: (observer) => {
      world.taps.add(observer);
      return () => { world.taps.delete(observer); };
    },
    onCutOff: (p, result) => { cutOffs.set(p.step.id, result); },
  };
  if (withSteps) {
    for (const p of c.planned) {
      k.at(p.at, () => {
        k.record('step', { id: p.step.id, action: p.step.action });
        // A step from a workload the attacker took over (a pivot) by now is an attack step too.
        const live = p.attack || !attacker.controls(p.from) ? p : { ...p, attack: true };
        (actionModule(p.step.action) as NonNullable<ReturnType<typeof actionModule>>).run(sc, live);
      });
    }
  }
  const limit = Math.max(c.duration, c.planned.reduce((m, p) => Math.max(m, p.end), 0)) + CUT_OFF_GRACE_MS;
  if (until) {
    // The needed steps' plans bound the run (the latest end of them); then event by event until they are all in.
    const last = c.planned.filter((p) => until.has(p.step.id)).reduce((m, p) => Math.max(m, p.end), 0);
    runTo(k, Math.min(last, limit), c, 'defences');
    while (awaited > 0 && k.peek() <= limit) k.step();
  } else {
    runTo(k, limit, c, withSteps ? 'run' : 'baseline');
  }
  if (c.progress) c.progress.done += k.processed;
  if (withSteps) {
    // A step the run ended under is cut off (issue 9.3); a counterfactual variant only finishes the steps it was run for.
    for (const p of c.planned) {
      if (results.has(p.step.id) || (until && !until.has(p.step.id))) continue;
      const reason = `the run ended (t=${limit} ms, ${CUT_OFF_GRACE_MS / 1000} s after the scenario's end) before this step finished: cut off`;
      const partial = cutOffs.get(p.step.id);
      const r = partial ? partial() : cutOffResult(sc, p, limit, reason);
      r.evidence.cutOff = { atMs: limit, reason: r.evidence.cutOff?.reason ?? reason };
      sc.finish(p, r);
    }
  }
  return { fingerprint: k.fingerprint(), flows: flowStats, windows, steps: results, decisions: world.decisions, events: k.processed,
    pivotDecisions: pivotStart - pivotBudget.left, timeline: timeline.result() };


  function requestSpec(p: PlannedStep, stream: string): StepRequest {
    const step = p.step;
    const protocol = (step.protocol ?? 'http') as Protocol;
    let headers = p.headers;
    let replay: StepRequest['replay'];
    if (step.jwt === STOLEN_TOKEN) {
      // the most recent token the attacker holds at this instant; none → the request goes without one
      const held = attacker.latestToken();
      headers = { ...p.headers };
      if (held) headers['authorization'] = `Bearer ${held.token}`;
      replay = { token: held };
    }
    const req: MeshRequest = {
      from: source(mesh, p.from, step.sourceIp), to: target(mesh, step.to as string), protocol,
      method: step.method ?? defaultMethod(protocol), path: step.path ?? '/', headers, tls: step.tls ?? 'auto',
    };
    if (step.sni !== undefined) req.sni = step.sni;
    if (step.bypass !== undefined) req.bypass = step.bypass;
    // The attacker's capabilities go wherever it acts from (product.md §2: `from:` acts from another workload).
    if (spec.attacker.capabilities && spec.attacker.capabilities.length > 0) req.capabilities = spec.attacker.capabilities;
    const rs: StepRequest = { req, pick: k.rng(stream) };
    if (p.jwt) rs.jwt = p.jwt;
    if (replay) rs.replay = replay;
    world.origins.set(rs, { kind: 'step', id: step.id, attack: p.attack, from: p.from, to: step.to as string });
    return rs;
  }
}
