/** Shared by the exercise tests: check a shipped exercise with some play, through the file system reader. */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FsSource, Sandbox } from '../../src/cli/fs.js';
import { IssueList } from '../../src/core/issues.js';
import { checkExercise, type ExercisePlay, type ExerciseRun } from '../../src/exercise/check.js';

export const EXERCISES = path.resolve('exercises');

/** Every exercise folder of the package (a folder holding exercise.yaml). */
export function shippedExercises(): string[] {
  return readdirSync(EXERCISES).filter((n) => existsSync(path.join(EXERCISES, n, 'exercise.yaml'))).sort();
}

export const scratch = (): string => mkdtempSync(path.join(os.tmpdir(), 'meshrange-ex-'));

/** The deny-everything AuthorizationPolicy of the format's rule 3, in a scratch folder. */
export function denyAllFile(): string {
  const p = path.join(scratch(), 'deny-all.yaml');
  writeFileSync(p, 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-all, namespace: istio-system}\nspec: {}\n');
  return p;
}

export async function play(p: ExercisePlay, extraRoots: string[] = []): Promise<{ run: ExerciseRun | null; issues: IssueList }> {
  const issues = new IssueList();
  const roots = [process.cwd(), EXERCISES, p.dir, ...(p.mesh ?? []).map((m) => path.dirname(m)), ...(p.attack ? [path.dirname(p.attack)] : []), ...extraRoots];
  const run = await checkExercise(p, new FsSource(Sandbox.forCwd(roots)), issues);
  return { run, issues };
}

export async function mustPlay(p: ExercisePlay): Promise<ExerciseRun> {
  const { run, issues } = await play(p);
  if (!run) throw new Error(issues.items.map((i) => `${i.loc ? `${i.loc.file}:${i.loc.line}:${i.loc.col}: ` : ''}${i.message}`).join('\n'));
  return run;
}
