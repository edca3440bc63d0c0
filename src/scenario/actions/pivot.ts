/**
 * `pivot`: how far can the attacker move laterally, hop by hop? (product.md
 * §2, §3.1). The exploration is analysis/reachability.ts — every attempt is
 * decided by policy/decide.ts, the engine of every request.
 *
 * Rules:
 *  - Where it starts: with `from:`, from that workload alone; without, from
 *    every workload the attacker controls at the step's time (the foothold,
 *    and whatever earlier pivots took over).
 *  - What it takes over: `exploit: all` — every workload it reaches;
 *    `exploit: [ns/name, …]` — those of the list it reaches; no `exploit` —
 *    the workloads the scenario marks `spec.workloads.<id>.exploitable: true`
 *    (or a pod annotation `meshrange.io/exploitable: "true"`; the scenario's
 *    value wins over the annotation). An explicit `exploit` replaces the marks
 *    for that step: it is the step's own statement of what the attacker can
 *    exploit. A taken-over workload attacks at the next hop with its own
 *    identity (its sidecar's certificate, §5.2).
 *  - Stolen certificates: each certificate the attacker holds (steal-credentials)
 *    that is valid at the step's time is presented by the attacker's own
 *    process, from every workload it acts from, on the attempts that
 *    workload's own connection did not get to the workload dialled — where no sidecar captures
 *    the connection (a pod without one, a gateway pod, an excluded port or
 *    range, or the attacker's capabilities: root, net-admin, proxy-uid).
 *    Those edges carry `as: <SPIFFE id>`; certificates not valid now are named
 *    in the evidence, not presented (analysis/reachability.ts).
 *  - Plaintext around the proxy: with `attacker.capabilities` (or from a
 *    gateway pod, which captures nothing), the attacker's own process also
 *    goes around the proxy of every workload it acts from, in plaintext, on
 *    what that workload's own connection did not get to the workload dialled
 *    (edges `bypass: true`).
 *  - `depth` hops (default 3), `ports` (default: every declared port),
 *    `paths` (default `/`): see analysis/reachability.ts.
 *  - Time: decided at the step's simulated time, so a certificate that has
 *    expired by then fails the handshakes it takes part in (§1).
 *  - State: an attack step puts every workload it took over into the
 *    attacker's state; later steps may act `from:` them and count as attack
 *    steps. A pivot `from:` a workload the attacker does not control is a
 *    what-if and changes no state.
 *  - Outcome (§3.1): with `targets`, allowed when every target was reached
 *    (or is controlled), partial when some, blocked when none; without,
 *    allowed when any workload besides the starting ones was reached.
 *    `stoppedBy` (blocked or partial) names the controls that refused the
 *    attempts — those on the missing targets when targets are given — the
 *    control stopping the most attempts first.
 */
import { attemptsOf, ExplorationTooLarge, ReachabilityExplorer, type ExploitRule, type ExplorerOptions, type HeldCertificate, type ReachEdge, type Reachability } from '../../analysis/reachability.js';
import { meshIndex } from '../../model/index.js';
import type { StoppedBy } from '../../policy/decide.js';
import { checkWorkloadRef } from '../refs.js';
import { stolenCertificateProblem } from '../attacker.js';
import type { ScenarioDoc, StepDoc } from '../schema.js';
import type { Outcome, StepResult } from '../types.js';
import type { ActionModule, StepContext } from './types.js';
import { byCodeUnit, grouped } from '../../core/text.js';
import { SimulationLimitError } from '../../core/limits.js';

export const DEFAULT_DEPTH = 3;
/**
 * decide() calls one pivot step may need at most, counted before the run as every workload it could take over
 * trying every attempt (a loose bound: most pivots need far fewer): more is refused as bad input.
 */
export const MAX_PIVOT_DECISIONS = 4_000_000;
/**
 * decide() calls the pivot steps of one run may make in all, counted as they are made (the bind-time bound is per
 * step): past it the run stops with a located error (scenario-too-much-work). The defence analysis's variant runs
 * share a budget of their own (simulate.ts VARIANT_PIVOT_FLOOR): re-running two wide pivots against meshes with
 * controls removed was what took nine minutes and 3 GB; forty steps ran as long as the user waited.
 */
export const MAX_PIVOT_RUN_DECISIONS = 4_000_000;

/** controls listed in stoppedBy; the rest are counted in the evidence */
const MAX_STOPS = 8;
/** attempts listed in the report's graph (in exploration order); the rest are counted (`graph.unlisted`), so a huge pivot cannot blow up the report */
export const MAX_LISTED_EDGES = 20_000;

/** Packet order of the controls (product.md §3), to break ties between controls that stop as many attempts. */
const PACKET_ORDER: readonly StoppedBy['control'][] = [
  'DNS', 'VirtualService', 'EgressPolicy', 'Routing', 'NetworkPolicy', 'DestinationRule', 'PeerAuthentication', 'SecureNaming',
  'CertificateValidity', 'Gateway', 'HttpValidation', 'RequestAuthentication', 'AuthorizationPolicy', 'RateLimit', 'CircuitBreaker',
];

/** Whether the scenario (or, failing that, a pod annotation) marks a workload exploitable. */
function markedExploitable(doc: ScenarioDoc, annotations: (id: string) => Readonly<Record<string, string>> | undefined): (id: string) => boolean {
  const facts = doc.spec.workloads ?? {};
  return (id) => {
    const f = Object.hasOwn(facts, id) ? facts[id] : undefined;
    if (f?.exploitable !== undefined) return f.exploitable;
    const sim = annotations(id);
    return sim !== undefined && Object.hasOwn(sim, 'exploitable') && sim['exploitable'] === 'true';
  };
}

function exploitRule(c: StepContext, step: StepDoc): ExploitRule {
  if (step.exploit !== undefined) return step.exploit;
  return markedExploitable(c.scenario.doc, (id) => c.workload(id)?.sim);
}

function describeExploit(step: StepDoc): string {
  if (step.exploit === 'all') return 'exploit all';
  if (step.exploit !== undefined) return step.exploit.length === 0 ? 'exploit nothing' : `exploit ${step.exploit.join(', ')}`;
  return 'exploit the workloads marked exploitable';
}

function compareStops(a: { stop: StoppedBy; n: number }, b: { stop: StoppedBy; n: number }): number {
  return b.n - a.n || PACKET_ORDER.indexOf(a.stop.control) - PACKET_ORDER.indexOf(b.stop.control)
    || byCodeUnit(a.stop.name ?? '', b.stop.name ?? '');
}

/** The controls that refused `blocked` edges, most attempts first, each with its first reason. */
function summarizeStops(blocked: readonly ReachEdge[], what: string): { stops: StoppedBy[]; more: number } {
  const by = new Map<string, { stop: StoppedBy; n: number; first: ReachEdge }>();
  for (const e of blocked) {
    const s = e.stoppedBy[0];
    if (!s) continue;
    const key = `${s.control}\u0000${s.name ?? ''}`;
    const g = by.get(key);
    if (g) g.n++; else by.set(key, { stop: s, n: 1, first: e });
  }
  const groups = [...by.values()].sort(compareStops);
  const stops = groups.slice(0, MAX_STOPS).map((g) => {
    const out: StoppedBy = { control: g.stop.control, name: g.stop.name,
      reason: `stops ${g.n} of the ${blocked.length} refused attempts${what} (first ${g.first.from} → ${g.first.dial}${g.first.path !== null ? ` ${g.first.path}` : ''}${g.first.as !== undefined ? ` as ${g.first.as}` : g.first.bypass === true ? ' around its proxy' : ''}): ${g.stop.reason}` };
    if (g.stop.rule !== undefined) out.rule = g.stop.rule;
    return out;
  });
  return { stops, more: Math.max(0, groups.length - MAX_STOPS) };
}

function outcomeOf(r: Reachability, starts: readonly string[], targets: readonly string[] | undefined): { outcome: Outcome; missing: string[] } {
  if (targets) {
    const got = new Set([...r.reached, ...r.compromised]);
    const missing = [...new Set(targets)].filter((t) => !got.has(t)).sort();
    const hit = new Set(targets).size - missing.length;
    return { outcome: missing.length === 0 ? 'allowed' : hit > 0 ? 'partial' : 'blocked', missing };
  }
  return { outcome: r.reached.some((id) => !starts.includes(id)) ? 'allowed' : 'blocked', missing: [] };
}

export const pivotAction: ActionModule = {
  action: 'pivot',
  fields: ['depth', 'exploit', 'targets', 'ports', 'paths'],
  check({ step, path, src, issues }) {
    if (Array.isArray(step.exploit)) {
      step.exploit.forEach((id, i) => {
        if (id === 'outside') issues.error('pivot-exploit-outside', `step "${step.id}": exploit lists \`outside\`, which is not a workload the attacker can take over`, src.locate([...path, 'exploit', i]), 'list workloads as namespace/name');
      });
    }
    (step.targets ?? []).forEach((id, i) => {
      if (id === 'outside') issues.error('pivot-target-outside', `step "${step.id}": targets lists \`outside\`, which a pivot cannot reach`, src.locate([...path, 'targets', i]), 'list workloads as namespace/name');
    });
  },
  bind({ step, path, doc, src, issues, mesh }) {
    if (Array.isArray(step.exploit)) step.exploit.forEach((id, i) => checkWorkloadRef(mesh, src, issues, id, [...path, 'exploit', i], 'exploit', true));
    (step.targets ?? []).forEach((id, i) => checkWorkloadRef(mesh, src, issues, id, [...path, 'targets', i], 'target', true));
    // Bounded work (hostile input): at most every workload that can be taken over tries every attempt.
    const opts: Pick<ExplorerOptions, 'ports' | 'paths'> = {};
    if (step.ports) opts.ports = step.ports;
    if (step.paths) opts.paths = step.paths;
    const attempts = attemptsOf(mesh, opts).length;
    const marked = markedExploitable(doc, (id) => meshIndex(mesh).workload(id)?.sim);
    const takeable = (s: StepDoc): number => s.exploit === 'all' ? mesh.workloads.length : Array.isArray(s.exploit) ? s.exploit.length : mesh.workloads.filter((w) => marked(w.id)).length;
    // Without `from:` it starts from what the attacker controls: at most the foothold and what earlier pivots can take over.
    const index = typeof path[2] === 'number' ? path[2] : doc.spec.steps.length;
    const controlled = 1 + doc.spec.steps.slice(0, index).filter((s) => s.action === 'pivot').reduce((n, s) => n + takeable(s), 0);
    const sources = Math.min(mesh.workloads.length + 1, (step.from === undefined ? controlled : 1) + takeable(step));
    // Each stolen certificate is tried again on the attempts: at most one per earlier steal-credentials of a cert.
    const certificates = doc.spec.steps.slice(0, index).filter((s) => s.action === 'steal-credentials' && s.what === 'cert').length;
    // and the attacker's own plaintext around the proxy: with capabilities, or from a gateway pod (no capture there)
    const plain = (doc.spec.attacker.capabilities ?? []).length > 0 || mesh.workloads.some((w) => w.gateway) ? 1 : 0;
    const tries = 1 + plain + certificates;
    const work = sources * attempts * tries;
    if (work > MAX_PIVOT_DECISIONS) {
      const how = [...(plain > 0 ? ['plaintext around its proxy'] : []), ...(certificates > 0 ? [`${certificates} stolen certificate${certificates === 1 ? '' : 's'}`] : [])];
      issues.error('pivot-too-large', `step "${step.id}": this pivot may need up to ${grouped(work)} decisions (${grouped(sources)} attacking workloads × ${grouped(attempts)} attempts${tries > 1 ? ` × ${tries} ways to send each (its own connection, ${how.join(', ')})` : ''}); the limit is ${grouped(MAX_PIVOT_DECISIONS)}`,
        src.locate(path), 'narrow `exploit`, `ports` or `paths`, or start it `from:` one workload');
    }
  },
  run(c, p) {
    const t = c.k.now;
    const step = p.step;
    const depth = step.depth ?? DEFAULT_DEPTH;
    const starts = step.from !== undefined ? [p.from] : [...c.attacker.compromised];
    const decideOpts: NonNullable<ExplorerOptions['decide']> = {};
    const certProblem = c.world.opts.certProblem;
    if (certProblem) decideOpts.certProblem = certProblem;
    if (c.extAuthz) decideOpts.extAuthz = c.extAuthz;
    const budget = c.pivotBudget;
    const opts: ExplorerOptions = { decide: decideOpts, maxEdges: MAX_LISTED_EDGES, maxDecisions: budget.left };
    if (step.ports) opts.ports = step.ports;
    if (step.paths) opts.paths = step.paths;
    // The stolen certificates valid now, one per SPIFFE id (the latest notAfter); the rest are named, not tried.
    const certificates: HeldCertificate[] = [];
    const unusable: string[] = [];
    for (const spiffe of [...new Set(c.attacker.certificates.map((x) => x.spiffe))].sort(byCodeUnit)) {
      const held = c.attacker.certificateFor(spiffe);
      if (held === null) continue;
      const problem = stolenCertificateProblem(held, t, c.epochMs);
      if (problem === null) certificates.push({ spiffe, from: held.from, problem: null });
      else unusable.push(`${spiffe} (${problem})`);
    }
    let r: Reachability;
    try {
      r = new ReachabilityExplorer(c.mesh, opts).explore({ from: starts, exploit: exploitRule(c, step), depth, certificates, capabilities: c.attacker.capabilities, gatewayProcess: true });
    } catch (e) {
      if (!(e instanceof ExplorationTooLarge)) throw e;
      throw new SimulationLimitError(`step "${step.id}": the pivot steps of this run need more decisions than the ${grouped(e.limit)} left of their budget`,
        c.scenario.src.locate(['spec', 'steps', p.index]), 'narrow `exploit`, `ports` or `paths`, lower `depth`, start a pivot `from:` one workload, or use fewer pivot steps');
    }
    budget.left -= r.decisions;
    if (p.attack) for (const n of r.nodes) if (n.compromised) c.attacker.compromise(n.id);

    const { outcome, missing } = outcomeOf(r, starts, step.targets);
    const got = r.edges.filter((e) => e.outcome === 'allowed').length + r.unlisted.allowed;
    const total = r.edges.length + r.unlisted.allowed + r.unlisted.blocked;
    const events: StepResult['evidence']['events'] = [{ t, hop: 'scenario',
      what: `pivot from ${starts.join(', ')} (depth ${depth}, ${describeExploit(step)}): ${total} attempts, ${got} got through; ${r.decisions} decided, ${r.memoHits} shared by workloads of the same identity` }];
    const around = r.edges.filter((e) => e.bypass === true);
    if (around.length > 0) {
      const caps = c.attacker.capabilities;
      events.push({ t, hop: 'scenario', what: `the attacker's own process also goes around the proxy of the workloads it acts from, in plaintext (${caps.length > 0 ? `its capabilities: ${caps.join(', ')}` : 'a gateway pod captures nothing'}), on every attempt their own connection did not get to the workload dialled: ${around.length} such attempts listed, ${around.filter((e) => e.outcome === 'allowed').length} got through` });
    }
    if (certificates.length > 0 || unusable.length > 0) {
      const asMany = r.edges.filter((e) => e.as !== undefined);
      const through = asMany.filter((e) => e.outcome === 'allowed').length;
      events.push({ t, hop: 'scenario', what: certificates.length > 0
        ? `the attacker's own process also presents the stolen certificate${certificates.length === 1 ? '' : 's'} of ${certificates.map((x) => `${x.spiffe} (from ${x.from})`).join(', ')} on every attempt the source's own connection did not get to the workload dialled, wherever no sidecar captures it: ${asMany.length} such attempts listed, ${through} got through`
        : 'no stolen certificate is valid now: none is presented' });
      if (unusable.length > 0) events.push({ t, hop: 'scenario', what: `not presented, invalid now: ${unusable.join(', ')}` });
    }
    if (total > r.edges.length) {
      events.push({ t, hop: 'scenario', what: `the graph lists the first ${r.edges.length} attempts; ${r.unlisted.allowed} more got through and ${r.unlisted.blocked} more were refused (graph.unlisted; stoppedBy summarises the listed ones)` });
    }
    for (let h = 1; h <= r.hops; h++) {
      const at = r.nodes.filter((n) => n.hop === h);
      if (at.length === 0) continue;
      const taken = at.filter((n) => n.compromised).map((n) => n.id);
      events.push({ t, hop: 'scenario', what: `hop ${h}: reaches ${at.map((n) => n.id).join(', ')}${taken.length > 0 ? `; takes over ${taken.join(', ')}` : ''}` });
    }
    let stoppedBy: StoppedBy[] = [];
    if (outcome !== 'allowed') {
      const missingSet = new Set(missing);
      const blocked = r.edges.filter((e) => e.outcome === 'blocked' && (step.targets === undefined || missingSet.has(e.to)));
      const s = summarizeStops(blocked, step.targets ? ' on the targets not reached' : '');
      stoppedBy = s.stops;
      if (s.more > 0) events.push({ t, hop: 'scenario', what: `${s.more} more controls refused attempts (not listed in stoppedBy)` });
    }
    for (const m of missing) {
      const tried = r.edges.filter((e) => e.to === m).length;
      const own = r.edges.filter((e) => e.to === m && e.as === undefined && e.bypass === undefined).length;
      events.push({ t, hop: 'scenario', what: tried > 0 ? `target ${m} not reached: ${tried} attempts refused${tried > own ? ` (${tried - own} of them by the attacker's own process: a stolen certificate or plaintext around a proxy)` : ''}` : `target ${m} not reached: no workload the attacker controlled made an attempt on it (no port within \`ports\`, or never within depth)` });
    }
    const result: StepResult = { ...c.base(p), outcome, code: null, mtls: null, stoppedBy, expectationMet: null, evidence: { events },
      reached: r.reached, compromised: r.compromised, hops: r.hops, graph: { nodes: r.nodes, edges: r.edges } };
    if (result.graph && total > r.edges.length) result.graph.unlisted = r.unlisted;
    c.finish(p, result);
  },
};
