/**
 * B5: `exercise check` of every shipped exercise (issue 12: fast enough to run
 * on every save, < 1 s each on this machine), beside a plain run of the same
 * scenario in the same process, interleaved (check, run, check, run, ...), so
 * the ratio says what the exercise layer adds: reading exercise.yaml and the
 * trainee's files, composing the scenario, judging the objectives.
 *
 * What is checked is the solution (defender: solution/ as the mesh; attacker:
 * solution/attack.yaml appended), through the same application-layer calls
 * as `meshrange exercise check` and the TUI's re-check (the CLI's process
 * start-up is B4's business). Rider: the solution scores max and the JSON is
 * the same every round.
 *
 *   npx tsx bench/b5-exercise.ts [--rounds 5] [--only first-strict]
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { prepareAll, runPrepared } from '../src/api/run.js';
import { FsSource, Sandbox } from '../src/cli/fs.js';
import { IssueList } from '../src/core/issues.js';
import { checkExercise, type ExercisePlay } from '../src/exercise/check.js';
import { parseExercise } from '../src/exercise/load.js';
import { renderExerciseJson } from '../src/exercise/report.js';
import { readFileSync } from 'node:fs';
import { argNumber, emit, interleave, missing, peakRssMb, repoRoot, settle } from './lib.js';

const rounds = argNumber('rounds', 5);
const onlyIdx = process.argv.indexOf('--only');
const only = onlyIdx >= 0 ? new Set((process.argv[onlyIdx + 1] ?? '').split(',')) : null;
const root = path.join(repoRoot, 'exercises');
const names = readdirSync(root).filter((n) => existsSync(path.join(root, n, 'exercise.yaml')) && (only === null || only.has(n))).sort();
const reader = (): FsSource => new FsSource(Sandbox.forCwd([repoRoot, root]));

for (const name of names) {
  const dir = path.join(root, name);
  const issues = new IssueList();
  const ex = parseExercise(path.join(dir, 'exercise.yaml'), readFileSync(path.join(dir, 'exercise.yaml'), 'utf8'), issues);
  if (!ex) { missing('B5-exercise', 'exercise-check', { exercise: name }, 0, `exercise.yaml does not load: ${issues.errors[0]?.message ?? '?'}`); continue; }
  const play: ExercisePlay = ex.doc.spec.role === 'defender'
    ? { dir, mesh: [path.join(dir, 'solution')], hintsTaken: 0 }
    : { dir, attack: path.join(dir, 'solution', 'attack.yaml'), hintsTaken: 0 };
  const scenario = path.join(dir, ex.doc.spec.scenario);
  let first: string | null = null;
  await interleave(['exercise-check', 'run'] as const, async (impl) => {
    settle();
    const t0 = performance.now();
    let check = false;
    if (impl === 'exercise-check') {
      const is = new IssueList();
      const run = await checkExercise(play, reader(), is);
      const wall = (performance.now() - t0) / 1000;
      if (run) {
        const json = renderExerciseJson(run.report);
        first ??= json;
        check = run.report.score === run.report.max && json === first;
      }
      emit({ bench: 'B5-exercise', impl, params: { exercise: name, role: ex.doc.spec.role }, seed: 0, wall_s: wall, rate: null, rss_mb: peakRssMb(), check,
        ...(run ? { info: { score: run.report.score, max: run.report.max } } : { info: { error: is.errors[0]?.message ?? '?' } }) });
      return { wall_s: wall };
    }
    const is = new IssueList();
    const [prepared] = prepareAll([scenario], reader(), is);
    const result = prepared && !is.hasErrors() ? await runPrepared(prepared) : null;
    const wall = (performance.now() - t0) / 1000;
    check = result !== null;
    emit({ bench: 'B5-exercise', impl, params: { exercise: name, role: ex.doc.spec.role }, seed: 0, wall_s: wall, rate: null, rss_mb: peakRssMb(), check });
    return { wall_s: wall };
  }, rounds);
}
