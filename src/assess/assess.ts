/**
 * `assess` (product.md §4): the pre-change risk of going from one mesh (before)
 * to another (after).
 *
 * Rules:
 *  - Reach: every path `{ from, to, port }` one side reaches and the other
 *    does not (assess/reach.ts: every workload and `outside` to every Service
 *    port and ingress route). After only: `newlyReachable`; before only:
 *    `noLongerReachable`. Each carries the controls that stop it on the side
 *    where it is not reachable (`stoppedBy`), so the reviewer sees which
 *    control the change removed or added.
 *  - Scenarios: the same scenario files run on both sides, their mesh
 *    manifests taken from each side (the side's SourceReader), and are compared
 *    by assess/compare.ts `compareOutcomes` — the comparison `run --baseline`
 *    uses. `steps` lists every step whose outcome changed; `traffic` every
 *    legitimate flow whose success rate changed.
 *  - Posture: the `meshrange lint` findings of each side's mesh, compared
 *    (assess/posture.ts): `postureAdded`, `postureRemoved`; a warning or error
 *    new on its resource is a control the change weakened.
 *  - Risk: `up` when a path became reachable, an attack step that was
 *    blocked now gets through (a regression), or a control weakened;
 *    otherwise `down` when a path is no longer reachable, an attack step is
 *    now blocked (an improvement) or a control strengthened; otherwise `same`.
 *    Legitimate traffic that broke (a legitimate step less of which gets
 *    through, kind `broken`, or a flow whose success fell) does not change the
 *    risk (it is an outage, not an exposure); it is listed and counted in
 *    `broken`. `--check` fails on risk up only (product.md).
 *  - Deterministic: paths sorted; steps and traffic in the order of the after
 *    side's run (compareOutcomes' order).
 */
import { IssueList, type Location } from '../core/issues.js';
import { loadMesh, type SourceFile } from '../loader/load.js';
import type { Mesh } from '../model/types.js';
import { prepareAll, runPrepared } from '../api/run.js';
import { readManifests } from '../api/prepare.js';
import type { ByteBudget, SourceReader } from '../api/source.js';
import { ScenarioLimitError } from '../scenario/simulate.js';
import { signingRulesOf } from '../scenario/tokens.js';
import type { JwtRule } from '../model/request-authentication.js';
import type { Outcome, RunResult } from '../scenario/types.js';
import { compareOutcomes, stepRecords, trafficRecords, type StepChangeKind } from './compare.js';
import { codeCounts, postureDiff, type PostureDiff } from './posture.js';
import { diffReach, locateControl, reachPaths, type ReachPath, type ReachSet } from './reach.js';

/** The kinds the loader makes workloads of (loader/load.ts), in words for a warning. */
const WORKLOAD_KIND_WORDS = 'Deployment, StatefulSet, DaemonSet, ReplicaSet or Pod';

export type { AssessFinding, AssessPath, AssessReport, AssessStep, AssessTraffic, Risk } from './types.js';
import type { AssessFinding, AssessPath, AssessReport, AssessStep, AssessTraffic, Risk } from './types.js';
import { SimulationLimitError } from '../core/limits.js';

/** One side of an assessment: where its manifests are read from. */
export interface AssessSide {
  /** what the side is, for the report: a folder, or `ref (commit)` */
  label: string;
  /** reads this side's manifests (and the scenarios' other files); the scenario files themselves are read by `scenarioReader` */
  reader: SourceReader;
  /** the manifests of the mesh whose reach is compared (paths in `reader`'s terms); empty: no reach comparison */
  mesh: readonly string[];
  /** every scenario's manifests are replaced by `mesh` (a folder side), rather than read at their own paths (a git side) */
  replaceScenarioManifests: boolean;
}

export interface AssessInput {
  before: AssessSide;
  after: AssessSide;
  /** scenario files (the working tree's), run on both sides */
  scenarios: readonly string[];
  /** reads the scenario files */
  scenarioReader: SourceReader;
  seed?: number;
}

export interface AssessResult {
  report: AssessReport | null;
  issues: IssueList;
  warnings: string[];
}

/**
 * A scenario's reader on one side: the scenario file from the working tree,
 * everything it names (manifests, JWKS) from the side — or, for a folder side,
 * every manifest path replaced by the side's folder.
 */
export class SideReader implements SourceReader {
  constructor(private readonly scenarioFs: SourceReader, private readonly side: AssessSide, private readonly scenarioFile: string | null = null) {}

  read(p: string, issues: IssueList, at?: Location): SourceFile | null {
    return p === this.scenarioFile ? this.scenarioFs.read(p, issues, at) : this.side.reader.read(p, issues, at);
  }

  private replaced = false;

  manifests(p: string, issues: IssueList, at?: Location, budget?: ByteBudget): SourceFile[] {
    if (!this.side.replaceScenarioManifests) return this.side.reader.manifests(p, issues, at, budget);
    // Every manifest entry of the scenario stands for the side's folder: read it once (its bytes counted once).
    if (this.replaced) return [];
    this.replaced = true;
    return this.side.mesh.flatMap((m) => this.side.reader.manifests(m, issues, at, budget));
  }

  forScenario(file: string): SourceReader {
    return new SideReader(this.scenarioFs.forScenario(file), this.side, file);
  }

  resolve(file: string, rel: string): string {
    return this.scenarioFs.resolve(file, rel);
  }
}

function loadSideMesh(side: AssessSide, issues: IssueList, warnings: Set<string>): Mesh | null {
  if (side.mesh.length === 0) return null;
  const local = new IssueList();
  const files = readManifests(side.mesh.map((p) => ({ path: p })), side.reader, local);
  if (local.hasErrors()) { issues.merge(local); return null; }
  const { mesh, issues: loadIssues } = loadMesh(files);
  for (const w of loadIssues.warnings) warnings.add(`${w.loc ? `${w.loc.file}:${w.loc.line}:${w.loc.col}: ` : ''}${w.message}`);
  for (const e of loadIssues.errors) issues.add(e);
  return loadIssues.hasErrors() ? null : mesh;
}

/**
 * `signersFor`: the jwtRules that sign a scenario's trusted tokens on this side (assess: its own mesh's, then the
 * other side's). `rules`: each prepared scenario's own mesh's rules, by name.
 */
async function runSide(input: AssessInput, side: AssessSide, issues: IssueList, warnings: Set<string>,
  signersFor: (name: string, mesh: Mesh) => readonly JwtRule[]): Promise<{ runs: RunResult[]; locs: Map<string, Location>; rules: Map<string, readonly JwtRule[]> }> {
  const runs: RunResult[] = [];
  const locs = new Map<string, Location>();
  const rules = new Map<string, readonly JwtRule[]>();
  if (input.scenarios.length === 0) return { runs, locs, rules };
  const local = new IssueList();
  const prepared = prepareAll(input.scenarios, new SideReader(input.scenarioReader, side), local, signersFor);
  issues.merge(local);
  if (local.hasErrors()) return { runs, locs, rules };
  for (const p of prepared) {
    for (const w of p.warnings) warnings.add(w);
    const name = p.scenario.doc.metadata.name;
    rules.set(name, signingRulesOf(p.mesh));
    p.scenario.doc.spec.steps.forEach((s, i) => { locs.set(`${name}\u0000${s.id}`, p.scenario.src.locate(['spec', 'steps', i])); });
    try {
      runs.push(await runPrepared(p, input.seed !== undefined ? { seed: input.seed } : {}));
    } catch (e) {
      if (!(e instanceof SimulationLimitError)) throw e;
      issues.error('scenario-too-much-work', e.message, e.loc, e.hint);
    }
  }
  return { runs, locs, rules };
}

/** Side labels in error messages: which side an issue belongs to. */
function tagged(side: 'before' | 'after', label: string, from: IssueList, into: IssueList): void {
  for (const i of from.items) {
    into.add({ ...i, message: `${side} (${label}): ${i.message}` });
  }
}

/** What assessMeshes and assessManifests tell of two meshes: reach both ways, the posture findings each side alone has, and the risk they weigh to. */
export interface MeshComparison {
  newlyReachable: AssessPath[];
  noLongerReachable: AssessPath[];
  postureAdded: AssessFinding[];
  postureRemoved: AssessFinding[];
  /** as `meshrange assess` weighs it without scenarios: up on a new path or a weakened control (posture.ts), down on the reverse */
  risk: Risk;
}

/**
 * The comparison of two loaded meshes alone (no scenarios): the library's plain entry. Reach and posture, as the
 * command weighs them: a change that opens no path but turns STRICT into PERMISSIVE is still risk up.
 */
export function assessMeshes(before: Mesh, after: Mesh): MeshComparison | { error: string; hint: string } {
  const b = reachPaths(before);
  if (!b.ok) return { error: `before: ${b.message}`, hint: b.hint };
  const a = reachPaths(after);
  if (!a.ok) return { error: `after: ${a.message}`, hint: a.hint };
  const d = reachDiff(b.value, a.value);
  const p = postureDiff(before, after);
  const { risk } = weighRisk(d, p, { regressions: 0, improvements: 0 });
  return { ...d, postureAdded: p.added, postureRemoved: p.removed, risk };
}

/**
 * The risk of a change and its reasons, as `meshrange assess` weighs them (product.md): up on a path newly reachable,
 * an attack step blocked before that now gets through, or a posture finding at warning or above added (a control the
 * change weakened, even when no client of today's mesh exercises it: assess/posture.ts) — whatever else got better;
 * else down on the reverse of any; else same. Broken legitimate flows are an outage, not a risk change: not here.
 */
function weighRisk(reach: { newlyReachable: readonly AssessPath[]; noLongerReachable: readonly AssessPath[] }, posture: PostureDiff,
  steps: { regressions: number; improvements: number }): { risk: Risk; reasons: string[] } {
  const reasons: string[] = [];
  const n = (k: number, one: string): string => `${k} ${k === 1 ? one : `${one}s`}`;
  const weakened = posture.added.filter((f) => f.weighed);
  const strengthened = posture.removed.filter((f) => f.weighed);
  if (reach.newlyReachable.length > 0) reasons.push(`${n(reach.newlyReachable.length, 'path')} newly reachable`);
  if (steps.regressions > 0) reasons.push(`${n(steps.regressions, 'attack step')} blocked before now get${steps.regressions === 1 ? 's' : ''} through`);
  if (weakened.length > 0) reasons.push(`${n(weakened.length, 'posture finding')} that weaken${weakened.length === 1 ? 's' : ''} a control added (${codeCounts(weakened)})`);
  if (reasons.length > 0) return { risk: 'up', reasons };
  if (reach.noLongerReachable.length > 0) reasons.push(`${n(reach.noLongerReachable.length, 'path')} no longer reachable`);
  if (steps.improvements > 0) reasons.push(`${n(steps.improvements, 'attack step')} that got through now blocked`);
  if (strengthened.length > 0) reasons.push(`${n(strengthened.length, 'posture finding')} that weaken${strengthened.length === 1 ? 's' : ''} a control removed (${codeCounts(strengthened)}): a control strengthened`);
  return { risk: reasons.length > 0 ? 'down' : 'same', reasons };
}

function reachDiff(b: ReachSet, a: ReachSet): { newlyReachable: AssessPath[]; noLongerReachable: AssessPath[] } {
  const { newly, gone } = diffReach(b, a);
  const after = a;
  const out = (p: ReachPath, own: ReachSet, other: ReachSet): AssessPath => {
    const key = `${p.from}\u0000${p.to}\u0000${p.port}`;
    const stops = other.stops(p.from, key);
    const x: AssessPath = { from: p.from, to: p.to, port: p.port, via: p.via, workloads: p.workloads, mtls: own.mtls(p.from, key), stoppedBy: other.why(p.from, key) };
    // Where a reviewer looks: the control that stops the path on the other side, as the after mesh has it (the change is
    // there: a PeerAuthentication turned PERMISSIVE, a policy added), else the Service or VirtualService of the path.
    const at = stops.map((s) => locateControl(after.mesh, s.control, s.name)).find((l) => l !== undefined) ?? p.loc;
    if (at) x.loc = at;
    return x;
  };
  return { newlyReachable: newly.map((p) => out(p, a, b)), noLongerReachable: gone.map((p) => out(p, b, a)) };
}

export async function assess(input: AssessInput): Promise<AssessResult> {
  const issues = new IssueList();
  const warnings = new Set<string>();
  const sides = { before: input.before, after: input.after } as const;
  const meshes: { before: Mesh | null; after: Mesh | null } = { before: null, after: null };
  type SideRuns = { runs: RunResult[]; locs: Map<string, Location>; rules: Map<string, readonly JwtRule[]> };
  const runs: { before: SideRuns; after: SideRuns } = {
    before: { runs: [], locs: new Map(), rules: new Map() }, after: { runs: [], locs: new Map(), rules: new Map() } };
  // Both side meshes first: each side's trusted tokens are signed with the keys its scenario's own mesh names, then
  // the other side's (a change that adds, deletes or repoints a RequestAuthentication changes what checks the tokens
  // clients send, not the tokens; scenario/tokens.ts signingRulesOf). Issues and warnings keep the sides' order.
  const local = { before: new IssueList(), after: new IssueList() };
  const sideWarnings = { before: new Set<string>(), after: new Set<string>() };
  for (const k of ['before', 'after'] as const) meshes[k] = loadSideMesh(sides[k], local[k], sideWarnings[k]);
  const sideRules = (m: Mesh | null): readonly JwtRule[] => (m ? signingRulesOf(m) : []);
  if (!local.before.hasErrors()) {
    runs.before = await runSide(input, sides.before, local.before, sideWarnings.before, (_, mesh) => [...signingRulesOf(mesh), ...sideRules(meshes.after)]);
  }
  // With the before side refused, its scenarios' rules are unknown: the after side's runs would only add errors
  // about signing that fixing the before side removes. Its mesh's own errors are still reported.
  if (!local.after.hasErrors() && !local.before.hasErrors()) {
    runs.after = await runSide(input, sides.after, local.after, sideWarnings.after,
      (name, mesh) => [...(runs.before.rules.get(name) ?? sideRules(meshes.before)), ...signingRulesOf(mesh)]);
  }
  for (const k of ['before', 'after'] as const) {
    for (const w of sideWarnings[k]) warnings.add(w);
    tagged(k, sides[k].label, local[k], issues);
  }
  if (issues.hasErrors()) return { report: null, issues, warnings: [...warnings] };

  let reach = { newlyReachable: [] as AssessPath[], noLongerReachable: [] as AssessPath[] };
  let posture: PostureDiff = { added: [], removed: [] };
  let pathsBefore = 0;
  let pathsAfter = 0;
  if (meshes.before && meshes.after) {
    const b = reachPaths(meshes.before);
    const a = reachPaths(meshes.after);
    if (!b.ok || !a.ok) {
      const bad = !b.ok ? b : (a as Extract<typeof a, { ok: false }>);
      issues.error('assess-too-large', `${!b.ok ? 'before' : 'after'}: ${bad.message}`, undefined, bad.hint);
      return { report: null, issues, warnings: [...warnings] };
    }
    pathsBefore = b.value.paths.length;
    pathsAfter = a.value.paths.length;
    reach = reachDiff(b.value, a.value);
    posture = postureDiff(meshes.before, meshes.after);
  }

  const cmp = compareOutcomes(
    { steps: stepRecords(runs.before.runs), traffic: trafficRecords(runs.before.runs) },
    { steps: stepRecords(runs.after.runs), traffic: trafficRecords(runs.after.runs) },
  );
  const steps: AssessStep[] = cmp.steps.map((s) => {
    const x: AssessStep = { scenario: s.scenario, step: s.step, action: s.action, attack: s.attack, before: s.before, after: s.after, kind: s.kind,
      stoppedByBefore: s.stoppedByBefore, stoppedByAfter: s.stoppedByAfter };
    const loc = runs.after.locs.get(`${s.scenario}\u0000${s.step}`);
    if (loc) x.loc = loc;
    return x;
  });
  const traffic: AssessTraffic[] = cmp.traffic.map((t) => ({ ...t }));
  const broken = cmp.broken.length + traffic.filter((t) => t.kind === 'worse').length;

  const { risk, reasons } = weighRisk(reach, posture, { regressions: cmp.regressions.length, improvements: cmp.improvements.length });
  const n = (k: number, one: string, many: string = `${one}s`): string => `${k} ${k === 1 ? one : many}`;
  if (risk === 'same' && posture.added.length + posture.removed.length > 0) {
    reasons.push(`posture findings changed without weighing in the risk (${posture.added.length} added, ${posture.removed.length} removed: info only, or reworded on the same resource at the same severity)`);
  }
  if (broken > 0) reasons.push(`${n(broken, 'legitimate flow or step', 'legitimate flows or steps')} broken (not a risk change: an outage)`);
  // A mesh without workloads has no paths: say so, and when nothing at all was compared, say that "same" means nothing.
  const empty: string[] = [];
  for (const k of ['before', 'after'] as const) {
    const m = meshes[k];
    if (m && m.workloads.length === 0) {
      warnings.add(`${k} (${sides[k].label}): the mesh has no workload (no ${WORKLOAD_KIND_WORDS} among its manifests), so it has no reachable paths to compare`);
      empty.push(k);
    }
  }
  const comparedRuns = runs.before.runs.length + runs.after.runs.length > 0;
  const nothingCompared = (meshes.before === null || meshes.before.workloads.length === 0) && (meshes.after === null || meshes.after.workloads.length === 0) && !comparedRuns;
  if (nothingCompared) {
    warnings.add(`nothing to compare: ${empty.length === 2 ? 'neither mesh has a workload' : 'no mesh with a workload was read'} and no scenario ran, so risk "same" says nothing about the change`
      + ' — point --before/--after (or --mesh) at the manifests of the workloads, or name scenarios to run');
  }
  if (reasons.length === 0) reasons.push(nothingCompared ? 'nothing was compared: no workload on either side and no scenario' : 'nothing reachable changed, no scenario step changed its outcome and no posture finding changed');

  const report: AssessReport = {
    before: input.before.label,
    after: input.after.label,
    newlyReachable: reach.newlyReachable,
    noLongerReachable: reach.noLongerReachable,
    steps,
    traffic,
    stepsAdded: cmp.added.map((s) => ({ scenario: s.scenario, step: s.step })),
    stepsRemoved: cmp.removed.map((s) => ({ scenario: s.scenario, step: s.step })),
    trafficAdded: cmp.trafficAdded.map((t) => ({ scenario: t.scenario, from: t.from, to: t.to })),
    trafficRemoved: cmp.trafficRemoved.map((t) => ({ scenario: t.scenario, from: t.from, to: t.to })),
    postureAdded: posture.added,
    postureRemoved: posture.removed,
    risk,
    riskReasons: reasons,
    warnings: [...warnings],
    summary: { pathsBefore, pathsAfter, scenarios: runs.after.runs.length, regressions: cmp.regressions.length, improvements: cmp.improvements.length, broken,
      postureAdded: posture.added.length, postureRemoved: posture.removed.length },
  };
  return { report, issues, warnings: [...warnings] };
}

/**
 * The reach comparison of two sets of manifest texts (what a library user holds in memory): both are loaded,
 * an invalid side is an error value with its issues, never a throw.
 */
export function assessManifests(before: readonly SourceFile[], after: readonly SourceFile[]): ({ ok: true } & MeshComparison) | { ok: false; issues: IssueList } {
  const issues = new IssueList();
  const b = loadMesh(before);
  const a = loadMesh(after);
  for (const [side, r] of [['before', b], ['after', a]] as const) for (const e of r.issues.errors) issues.add({ ...e, message: `${side}: ${e.message}` });
  if (issues.hasErrors()) return { ok: false, issues };
  const d = assessMeshes(b.mesh, a.mesh);
  if ('error' in d) { issues.error('assess-too-large', d.error, undefined, d.hint); return { ok: false, issues }; }
  return { ok: true, ...d };
}
