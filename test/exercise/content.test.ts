/**
 * The six defender exercises of issue 12 item 3 (exercises/<name>/, format in
 * the exercise brief): for each, the scenario is run through src/api with the
 * starting mesh/, with solution/, and with solution/ plus a deny-everything
 * AuthorizationPolicy, and the format's four rules are checked against the
 * objectives of its exercise.yaml:
 *   1. the start scores below max and every attack objective is unmet;
 *   2. the solution scores max;
 *   3. solution + deny-all leaves at least one legit objective unmet;
 *   4. the same folder gives the same outcome, byte for byte.
 * The small reader below is the test's own; the engine (src/exercise) scores
 * the same files after merge.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runFiles } from '../../src/api/run.js';
import type { ByteBudget, SourceReader } from '../../src/api/source.js';
import { FsSource, Sandbox } from '../../src/cli/fs.js';
import type { IssueList, Location } from '../../src/core/issues.js';
import type { SourceFile } from '../../src/loader/load.js';
import { renderJson } from '../../src/report/json.js';
import type { RunResult } from '../../src/scenario/types.js';

const root = path.resolve(__dirname, '../..');
const EXERCISES = ['ratings-one-caller', 'jwt-mandatory', 'exfil-allowed-host', 'flood-contain', 'close-bypass-port', 'deny-path-normalisation', 'identity-travels'];

const DENY_ALL: SourceFile = {
  path: 'deny-all.yaml',
  text: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-all, namespace: istio-system}\nspec: {}\n',
};

interface Objective {
  id: string;
  text: string;
  kind: 'attack' | 'legit';
  step?: string;
  outcome?: 'allowed' | 'blocked' | 'partial';
  stoppedBy?: string;
  traffic?: { from: string; to: string };
  minSuccess?: number;
  points: number;
}

interface Exercise {
  metadata: { name: string };
  spec: {
    title: string; level: string; role: string; story: string; scenario: string;
    objectives: Objective[]; hints: { text: string; cost: number }[]; passScore?: number;
  };
}

/**
 * Reads through the file system, except that the exercise's mesh/ folder is
 * served from `meshDir` (mesh/ or solution/), plus `extra` files.
 */
class SwapSource implements SourceReader {
  constructor(private readonly inner: SourceReader, private readonly meshPath: string, private readonly meshDir: string, private readonly extra: SourceFile[]) {}
  read(p: string, issues: IssueList, at?: Location): SourceFile | null { return this.inner.read(p, issues, at); }
  manifests(p: string, issues: IssueList, at?: Location, budget?: ByteBudget): SourceFile[] {
    if (path.resolve(p) !== this.meshPath) return this.inner.manifests(p, issues, at, budget);
    return [...this.inner.manifests(this.meshDir, issues, at, budget), ...this.extra];
  }
  forScenario(file: string): SourceReader { return new SwapSource(this.inner.forScenario(file), this.meshPath, this.meshDir, this.extra); }
  resolve(file: string, rel: string): string { return this.inner.resolve(file, rel); }
}

function readExercise(name: string): Exercise {
  return parse(readFileSync(path.join(root, 'exercises', name, 'exercise.yaml'), 'utf8')) as Exercise;
}

async function runWith(name: string, meshDir: 'mesh' | 'solution', denyAll = false): Promise<RunResult> {
  const dir = path.join(root, 'exercises', name);
  const reader = new SwapSource(new FsSource(Sandbox.forCwd([])), path.join(dir, 'mesh'), path.join(dir, meshDir), denyAll ? [DENY_ALL] : []);
  const { results, issues } = await runFiles([path.relative(process.cwd(), path.join(dir, 'scenario.yaml'))], reader);
  if (issues.hasErrors()) throw new Error(issues.errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
  const r = results[0];
  if (!r) throw new Error(`no result for ${name}`);
  return r;
}

function stoppedByMatches(want: string, s: { control: string; name: string | null }): boolean {
  return want === s.control || want === s.name || want === `${s.control} ${s.name}`;
}

/** [met, what was seen] of one objective against one run. */
function judge(o: Objective, r: RunResult): [boolean, string] {
  if (o.step !== undefined) {
    const s = r.steps.find((x) => x.id === o.step);
    if (!s) return [false, `no step ${o.step}`];
    const seen = `${s.outcome} code ${s.code} stoppedBy [${s.stoppedBy.map((x) => `${x.control} ${x.name}`).join(', ')}]`;
    if (s.outcome !== o.outcome) return [false, seen];
    if (o.stoppedBy !== undefined && !s.stoppedBy.some((x) => stoppedByMatches(o.stoppedBy as string, x))) return [false, seen];
    return [true, seen];
  }
  if (o.traffic) {
    const t = r.traffic.find((x) => x.from === o.traffic?.from && x.to === o.traffic?.to);
    if (!t) return [false, `no flow ${o.traffic.from} -> ${o.traffic.to}`];
    const seen = `${t.ok}/${t.sent} ok, stoppedBy ${JSON.stringify(t.stoppedBy ?? {})}`;
    return [t.sent > 0 && t.ok / t.sent >= (o.minSuccess ?? 0.99), seen]; // the format's default
  }
  return [false, 'objective names neither a step nor a flow'];
}

function score(ex: Exercise, r: RunResult): { score: number; max: number; lines: string[]; met: Map<string, boolean> } {
  let s = 0;
  let max = 0;
  const lines: string[] = [];
  const met = new Map<string, boolean>();
  for (const o of ex.spec.objectives) {
    const [ok, seen] = judge(o, r);
    max += o.points;
    if (ok) s += o.points;
    met.set(o.id, ok);
    lines.push(`${ok ? 'MET  ' : 'UNMET'} ${o.kind} ${o.id}: ${seen}`);
  }
  return { score: s, max, lines, met };
}

describe('shipped defender exercises (issue 12 item 3)', () => {
  for (const name of EXERCISES) {
    describe(name, () => {
      let cached: Exercise | undefined;
      const exercise = (): Exercise => (cached ??= readExercise(name));

      it('is a well-formed defender exercise: name = folder, 2–4 hints that cost points, attack and legit objectives worth points, every step objective names a scenario step, one row in exercises/README.md', () => {
        const ex = exercise();
        expect(ex.metadata.name).toBe(name);
        expect(ex.spec.role).toBe('defender');
        expect(['beginner', 'intermediate', 'advanced']).toContain(ex.spec.level);
        expect(ex.spec.hints.length).toBeGreaterThanOrEqual(2);
        expect(ex.spec.hints.length).toBeLessThanOrEqual(4);
        expect(ex.spec.objectives.some((o) => o.kind === 'attack')).toBe(true);
        expect(ex.spec.objectives.some((o) => o.kind === 'legit')).toBe(true);
        const ids = ex.spec.objectives.map((o) => o.id);
        expect(new Set(ids).size).toBe(ids.length);
        const scenario = parse(readFileSync(path.join(root, 'exercises', name, ex.spec.scenario), 'utf8')) as { spec: { mesh: { manifests: string[] }; steps: { id: string; from?: string }[] } };
        expect(scenario.spec.mesh.manifests).toEqual(['./mesh']);
        const steps = new Set(scenario.spec.steps.map((s) => s.id));
        for (const o of ex.spec.objectives) if (o.step !== undefined) expect(steps.has(o.step), o.step).toBe(true);
        for (const o of ex.spec.objectives) expect(o.points, o.id).toBeGreaterThan(0);
        for (const h of ex.spec.hints) expect(h.cost).toBeGreaterThan(0);
        const max = ex.spec.objectives.reduce((n, o) => n + o.points, 0);
        expect(ex.spec.passScore ?? max).toBeLessThanOrEqual(max);
        const table = readFileSync(path.join(root, 'exercises', 'README.md'), 'utf8').split('\n');
        expect(table.filter((l) => l.startsWith(`| [${name}](${name}/) | ${ex.spec.level} | ${ex.spec.role} | `))).toHaveLength(1);
      });

      it('rule 1: the starting mesh/ scores below max and leaves every attack objective unmet', async () => {
        const ex = exercise();
        const r = score(ex, await runWith(name, 'mesh'));
        expect(r.score, r.lines.join('\n')).toBeLessThan(r.max);
        for (const o of ex.spec.objectives.filter((x) => x.kind === 'attack')) expect(r.met.get(o.id), r.lines.join('\n')).toBe(false);
      });

      it('rule 2: solution/ scores max', async () => {
        const r = score(exercise(), await runWith(name, 'solution'));
        expect(r.score, r.lines.join('\n')).toBe(r.max);
      });

      it('rule 3: solution/ plus a deny-everything AuthorizationPolicy leaves a legit objective unmet', async () => {
        const ex = exercise();
        const r = score(ex, await runWith(name, 'solution', true));
        const legitUnmet = ex.spec.objectives.filter((o) => o.kind === 'legit' && r.met.get(o.id) === false);
        expect(legitUnmet.length, r.lines.join('\n')).toBeGreaterThan(0);
      });

      it('rule 4: the same folder gives the same report, byte for byte', async () => {
        expect(renderJson([await runWith(name, 'mesh')])).toBe(renderJson([await runWith(name, 'mesh')]));
      });
    });
  }
});
