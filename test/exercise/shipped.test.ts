/**
 * The format's four rules (exercises/README.md), checked for EVERY folder of
 * exercises/ — whoever wrote it. Reads only the format: nothing here knows an
 * exercise by name.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderExerciseJson } from '../../src/exercise/report.js';
import type { ExercisePlay } from '../../src/exercise/check.js';
import { denyAllFile, EXERCISES, mustPlay, shippedExercises } from './play.js';

const names = shippedExercises();

it('exercises/ ships at least the three engine exercises', () => {
  expect(names).toEqual(expect.arrayContaining(['first-strict', 'crown-jewel-path', 'steal-and-replay']));
});

describe.each(names)('exercise %s', (name) => {
  const dir = path.join(EXERCISES, name);
  const start = async (): Promise<ExercisePlay> => {
    const run = await mustPlay({ dir, hintsTaken: 0 });
    const role = run.exercise.doc.spec.role;
    if (role === 'defender') return { dir, mesh: [path.join(dir, 'mesh')], hintsTaken: 0 };
    return { dir, hintsTaken: 0, ...(existsSync(path.join(dir, 'attack.yaml')) ? { attack: path.join(dir, 'attack.yaml') } : {}) };
  };
  const solution = async (): Promise<ExercisePlay> => {
    const run = await mustPlay({ dir, hintsTaken: 0 });
    if (run.exercise.doc.spec.role === 'defender') return { dir, mesh: [path.join(dir, 'solution')], hintsTaken: 0 };
    return { dir, attack: path.join(dir, 'solution', 'attack.yaml'), hintsTaken: 0 };
  };

  it('its folder name is its metadata.name, and it ships a solution', async () => {
    const run = await mustPlay({ dir, hintsTaken: 0 });
    expect(run.exercise.doc.metadata.name).toBe(name);
    const role = run.exercise.doc.spec.role;
    expect(existsSync(path.join(dir, 'solution', ...(role === 'attacker' ? ['attack.yaml'] : [])))).toBe(true);
    if (role === 'defender') expect(existsSync(path.join(dir, 'mesh'))).toBe(true);
  });

  it('rule 1: the starting folder scores below max, with every attack objective unmet', async () => {
    const { report } = await mustPlay(await start());
    expect(report.score).toBeLessThan(report.max);
    for (const o of report.objectives.filter((x) => x.kind === 'attack')) {
      expect({ id: o.id, met: o.met }).toEqual({ id: o.id, met: false });
      expect(o.why, `${o.id} is unmet and says why`).toBeTruthy();
    }
  });

  it('rule 2: the solution scores max', async () => {
    const { report } = await mustPlay(await solution());
    expect(report.objectives.filter((o) => !o.met).map((o) => `${o.id}: ${o.why}`)).toEqual([]);
    expect(report.score).toBe(report.max);
    expect(report.passed).toBe(true);
  });

  it('rule 3: the solution plus a deny-everything policy leaves a legit objective unmet (defenders have one)', async () => {
    const base = await solution();
    const first = await mustPlay(base);
    const legit = first.exercise.doc.spec.objectives.filter((o) => o.kind === 'legit');
    if (first.exercise.doc.spec.role === 'defender') expect(legit.length).toBeGreaterThan(0);
    if (legit.length === 0) return;
    const mesh = base.mesh ?? [path.join(dir, 'mesh')];
    const { report } = await mustPlay({ ...base, mesh: [...mesh, denyAllFile()] });
    expect(report.objectives.filter((o) => o.kind === 'legit' && !o.met).length).toBeGreaterThan(0);
    expect(report.score).toBeLessThan(report.max);
  });

  it('rule 4: check is deterministic (same folder, same JSON byte for byte)', async () => {
    const p = await start();
    const a = renderExerciseJson((await mustPlay(p)).report);
    const b = renderExerciseJson((await mustPlay(p)).report);
    expect(b).toBe(a);
  });
});
