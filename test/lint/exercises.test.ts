/**
 * The defender exercises plant real posture problems: lint names each one in
 * the starting mesh, and the solution clears it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/lint/index.js';
import { loadMesh } from '../../src/loader/load.js';

function codes(dir: string): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ path: path.join(dir, f), text: readFileSync(path.join(dir, f), 'utf8') }));
  const { mesh, issues } = loadMesh(files);
  expect(issues.errors).toEqual([]);
  return lint(mesh).findings.map((f) => f.code);
}

describe.each([
  ['close-bypass-port', 'MR0108'],
  ['deny-path-normalisation', 'MR0106'],
  ['jwt-mandatory', 'MR0105'],
])('exercise %s', (name, code) => {
  it(`the starting mesh has ${code} and the solution does not`, () => {
    expect(codes(`exercises/${name}/mesh`)).toContain(code);
    expect(codes(`exercises/${name}/solution`)).not.toContain(code);
  });
});
