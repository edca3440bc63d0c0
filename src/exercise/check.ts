/**
 * Checking an exercise: the SHIPPED exercise's objectives and scenario, run
 * once with the trainee's work swapped in — defender: their manifests in
 * place of the shipped mesh/; attacker: the steps of their attack.yaml
 * appended after the scenario's own steps (the shipped mesh unchanged) —
 * then every objective judged and the score counted.
 *
 * Reads only through the application layer's SourceReader (no fs here).
 */
import path from 'node:path';
import { IssueList } from '../core/issues.js';
import { ownValue } from '../core/record.js';
import { grouped } from '../core/text.js';
import type { Path, SourceDoc } from '../loader/yaml-source.js';
import { prepareLoaded, readManifests, scenarioManifests } from '../api/prepare.js';
import { loadMesh } from '../loader/load.js';
import { runPrepared } from '../api/run.js';
import type { SourceReader } from '../api/source.js';
import { checkScenarioSource, type LoadedScenario } from '../scenario/load.js';
import { parseYaml } from '../loader/yaml-source.js';
import { bindScenario } from '../scenario/runner.js';
import { ScenarioLimitError } from '../scenario/simulate.js';
import type { RunResult } from '../scenario/types.js';
import { signingRulesOf, signsTrusted } from '../scenario/tokens.js';
import { parseAttack, parseExercise, type LoadedAttack, type LoadedExercise } from './load.js';
import { judgeObjective } from './objectives.js';
import { SimulationLimitError } from '../core/limits.js';

export const EXERCISE_FILE = 'exercise.yaml';
export const ATTACK_FILE = 'attack.yaml';
export const MESH_DIR = 'mesh';

export interface ObjectiveResult {
  id: string;
  text: string;
  kind: 'attack' | 'legit';
  met: boolean;
  points: number;
  /** unmet: what is wrong and where to look, in the trainee's words; null when met */
  why: string | null;
}

export interface ExerciseReport {
  name: string;
  title: string;
  role: 'defender' | 'attacker';
  score: number;
  max: number;
  passScore: number;
  passed: boolean;
  hintsTaken: number;
  /** points the hints taken cost */
  hintCost: number;
  objectives: ObjectiveResult[];
}

/** What is being checked: a shipped exercise, and the trainee's work. */
export interface ExercisePlay {
  /** the shipped exercise's folder */
  dir: string;
  /**
   * manifest files or folders in place of the shipped mesh/ (absent: the shipped mesh/). The CLI gives it
   * for defender exercises only (attackers play on the shipped mesh); tests use it for both.
   */
  mesh?: readonly string[];
  /** attacker: the trainee's attack.yaml (absent: no steps of theirs) */
  attack?: string;
  hintsTaken: number;
  /** hints taken before the exercise was passed: only those cost points (absent: every hint taken) */
  hintsCharged?: number;
}

/** The shipped exercise.yaml of a folder. */
export function readExercise(dir: string, reader: SourceReader, issues: IssueList): LoadedExercise | null {
  const file = path.join(dir, EXERCISE_FILE);
  const src = reader.read(file, issues);
  if (!src) return null;
  return parseExercise(src.path, src.text, issues);
}

/** Points, the cost of the first `taken` hints, the pass mark. */
export function scoring(ex: LoadedExercise, met: ReadonlySet<string>, taken: number): { score: number; max: number; hintCost: number; passScore: number } {
  const max = ex.doc.spec.objectives.reduce((n, o) => n + o.points, 0);
  const got = ex.doc.spec.objectives.reduce((n, o) => n + (met.has(o.id) ? o.points : 0), 0);
  const hintCost = (ex.doc.spec.hints ?? []).slice(0, taken).reduce((n, h) => n + h.cost, 0);
  return { score: Math.max(0, got - hintCost), max, hintCost, passScore: ex.doc.spec.passScore ?? max };
}

/**
 * scenario.yaml with the trainee's steps after its own: one document whose
 * nodes are located in the file each came from.
 */
function composeSource(scenario: SourceDoc, attack: LoadedAttack): SourceDoc {
  const value = scenario.value as { spec?: { steps?: unknown } };
  const own = Array.isArray(value.spec?.steps) ? value.spec.steps as unknown[] : [];
  const n = own.length;
  const theirs = (attack.src.value as { steps: unknown[] }).steps;
  const composed = { ...value, spec: { ...(value.spec ?? {}), steps: [...own, ...theirs] } };
  const map = (p: Path): { doc: SourceDoc; path: Path } => {
    const i = p[2];
    if (p[0] === 'spec' && p[1] === 'steps' && typeof i === 'number' && i >= n) return { doc: attack.src, path: ['steps', i - n, ...p.slice(3)] };
    return { doc: scenario, path: p };
  };
  return {
    file: scenario.file,
    index: scenario.index,
    value: composed,
    locate: (p) => { const m = map(p); return m.doc.locate(m.path); },
    locateKey: (p) => { const m = map(p); return m.doc.locateKey(m.path); },
    lineText: (line) => scenario.lineText(line),
  };
}

/**
 * Every step and flow the objectives name is in the pack's scenario (its own steps, not the trainee's): an objective
 * naming one it lacks could never be met, whatever the trainee does. An authoring error of the pack, located in
 * exercise.yaml.
 */
function objectivesFound(exercise: LoadedExercise, steps: readonly string[], flows: readonly { from: string; to: string }[], issues: IssueList): boolean {
  const spec = exercise.doc.spec;
  let ok = true;
  spec.objectives.forEach((o, i) => {
    if (o.step !== undefined && !steps.includes(o.step)) {
      ok = false;
      issues.error('exercise-objective-unknown', `objective "${o.id}" judges step "${o.step}", which ${spec.scenario} does not have: it could never be met`,
        exercise.src.locate(['spec', 'objectives', i, 'step']), steps.length > 0 ? `name one of its steps: ${steps.slice(0, 8).join(', ')}${steps.length > 8 ? ', …' : ''}` : 'give the scenario the step');
    }
    const t = o.traffic;
    if (t !== undefined && !flows.some((f) => f.from === t.from && f.to === t.to)) {
      ok = false;
      issues.error('exercise-objective-unknown', `objective "${o.id}" judges the flow ${t.from} → ${t.to}, which ${spec.scenario} does not have: it could never be met`,
        exercise.src.locate(['spec', 'objectives', i, 'traffic']), flows.length > 0 ? `name one of its spec.traffic flows: ${flows.slice(0, 8).map((f) => `${f.from} → ${f.to}`).join(', ')}` : 'give the scenario the flow in spec.traffic');
    }
  });
  return ok;
}

export interface ExerciseRun {
  exercise: LoadedExercise;
  scenario: LoadedScenario;
  result: RunResult;
  report: ExerciseReport;
}

/**
 * What can be told of a pack before anyone plays it (`exercise list` and
 * `start` leave a pack out for it): its scenario file is there and reads as
 * YAML, and every step and flow its objectives name is in it. The scenario's
 * own checks (its schema, its mesh) are left to `exercise check`, which runs it.
 * False with located issues.
 */
export function packFindings(dir: string, exercise: LoadedExercise, reader: SourceReader, issues: IssueList): boolean {
  const box = reader.forScenario(path.join(dir, EXERCISE_FILE));
  const text = box.read(path.join(dir, exercise.doc.spec.scenario), issues, exercise.src.locate(['spec', 'scenario']));
  if (!text || !scenarioSized(exercise, text, issues)) return false;
  const local = new IssueList();
  const docs = parseYaml(text.path, text.text, local);
  issues.merge(local);
  if (local.hasErrors()) return false;
  if (docs.length !== 1) return true; // said by check, with the scenario's other problems
  const spec = field(docs[0]?.value, 'spec');
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const steps = list(field(spec, 'steps')).map((s) => field(s, 'id')).filter((id): id is string => typeof id === 'string');
  const flows = list(field(spec, 'traffic')).map((f) => ({ from: field(f, 'from'), to: field(f, 'to') }))
    .filter((f): f is { from: string; to: string } => typeof f.from === 'string' && typeof f.to === 'string');
  return objectivesFound(exercise, steps, flows, issues);
}

/**
 * The most characters an exercise's scenario may hold. Every `exercise list` parses each pack's scenario (packFindings):
 * one pack of a 7.8 MB scenario made every list take 2.8 s and 390 MB. The shipped ones hold a few KB.
 */
export const MAX_EXERCISE_SCENARIO_CHARS = 1 << 20;

function scenarioSized(exercise: LoadedExercise, text: { path: string; text: string }, issues: IssueList): boolean {
  if (text.text.length <= MAX_EXERCISE_SCENARIO_CHARS) return true;
  issues.error('exercise-scenario-too-large', `${text.path} holds ${grouped(text.text.length)} characters; an exercise's scenario holds at most ${grouped(MAX_EXERCISE_SCENARIO_CHARS)}`,
    exercise.src.locate(['spec', 'scenario']), 'keep the scenario to the steps and flows the exercise judges');
  return false;
}

/** An own field of a YAML mapping's value, or undefined (not a mapping, or no such field). */
function field(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? ownValue(v as Record<string, unknown>, key) : undefined;
}

/**
 * Runs a play and scores it. Null with located issues when any input is bad
 * (the exercise, its scenario, the trainee's manifests or attack.yaml).
 */
export async function checkExercise(play: ExercisePlay, reader: SourceReader, issues: IssueList): Promise<ExerciseRun | null> {
  const exercise = readExercise(play.dir, reader, issues);
  if (!exercise) return null;
  const spec = exercise.doc.spec;
  const scenarioFile = path.join(play.dir, spec.scenario);
  const box = reader.forScenario(path.join(play.dir, EXERCISE_FILE));
  const text = box.read(scenarioFile, issues, exercise.src.locate(['spec', 'scenario']));
  if (!text || !scenarioSized(exercise, text, issues)) return null;
  const local = new IssueList();
  const docs = parseYaml(text.path, text.text, local);
  if (!local.hasErrors() && docs.length !== 1) {
    local.error('scenario-documents', `a scenario file holds exactly one YAML document, found ${docs.length}`, { file: text.path, line: 1, col: 1 }, 'put one scenario per file');
  }
  let src = docs[0];
  let attack: LoadedAttack | null = null;
  if (spec.role === 'attacker' && play.attack !== undefined) {
    const a = reader.read(play.attack, local);
    attack = a ? parseAttack(a.path, a.text, local) : null;
    if (src && attack) src = composeSource(src, attack);
  }
  if (local.hasErrors() || !src) { issues.merge(local); return null; }
  const scenario = checkScenarioSource(text.path, src, local);
  issues.merge(local);
  if (!scenario) return null;
  const attackIds = new Set((attack?.steps ?? []).map((s) => s.id));
  if (!objectivesFound(exercise, scenario.doc.spec.steps.filter((s) => !attackIds.has(s.id)).map((s) => s.id), scenario.doc.spec.traffic ?? [], issues)) return null;

  const shippedMesh = box.resolve(path.join(play.dir, EXERCISE_FILE), MESH_DIR);
  const swap = play.mesh !== undefined ? (resolved: string): readonly string[] => {
    if (resolved === shippedMesh) return play.mesh as readonly string[];
    const rel = path.relative(shippedMesh, resolved);
    if (rel.startsWith('..') || path.isAbsolute(rel)) return [resolved];
    // A manifest named inside mesh/: the trainee's copy of it, in each folder they gave.
    return (play.mesh as readonly string[]).map((m) => path.join(m, rel));
  } : undefined;
  const prepared = prepareLoaded(scenario, box, issues, swap);
  if (!prepared) return null;
  if (swap !== undefined && signsTrusted(scenario.doc.spec)) {
    // The issuer's keys are the pack's: its own mesh says which key set signs (tokens.ts signingRulesOf). A trainee
    // who deletes or repoints the RequestAuthentication changes what checks the tokens, not what clients send. Only
    // the shipped files holding a RequestAuthentication are loaded (its jwtRules need nothing else of the mesh): a
    // second load of a large shipped mesh doubled the check's time.
    const files = readManifests(scenarioManifests(scenario, box), box, new IssueList()).filter((f) => f.text.includes('RequestAuthentication'));
    prepared.signers = [...signingRulesOf(loadMesh(files).mesh), ...signingRulesOf(prepared.mesh)];
  }
  if (!bindScenario(scenario, prepared.mesh, issues, prepared.jwks, prepared.signers)) return null;
  let result: RunResult;
  try {
    result = await runPrepared(prepared);
  } catch (e) {
    if (!(e instanceof SimulationLimitError)) throw e;
    issues.error('scenario-too-much-work', e.message, e.loc, e.hint);
    return null;
  }
  const objectives: ObjectiveResult[] = spec.objectives.map((o) => {
    const j = judgeObjective(o, result, attackIds);
    return { id: o.id, text: o.text, kind: o.kind, met: j.met, points: o.points, why: j.why };
  });
  const hintsTaken = Math.min(play.hintsTaken, spec.hints?.length ?? 0);
  // Hints taken once the exercise was passed are free: taking one afterwards never turns PASSED into "not yet".
  const charged = Math.min(hintsTaken, play.hintsCharged ?? hintsTaken);
  const s = scoring(exercise, new Set(objectives.filter((o) => o.met).map((o) => o.id)), charged);
  const report: ExerciseReport = {
    name: exercise.doc.metadata.name, title: spec.title, role: spec.role,
    score: s.score, max: s.max, passScore: s.passScore, passed: s.score >= s.passScore,
    hintsTaken, hintCost: s.hintCost, objectives,
  };
  return { exercise, scenario, result, report };
}
