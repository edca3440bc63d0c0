/**
 * The JSON and SARIF of the posture fixture, byte for byte (the same mesh
 * gives the same report). Regenerate with UPDATE_GOLDEN=1 only when a change
 * must change them, and say why in the commit.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/lint/index.js';
import { renderLintJson, renderLintSarif } from '../../src/lint/render.js';
import { loadMesh } from '../../src/loader/load.js';

const DIR = 'test/fixtures/lint/posture';
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ path: path.join(DIR, f), text: readFileSync(path.join(DIR, f), 'utf8') }));
const result = lint(loadMesh(files).mesh);

function golden(name: string, text: string): void {
  const p = path.join('test/fixtures/lint', name);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(p, text);
  expect(existsSync(p), `${p} is missing: run UPDATE_GOLDEN=1 npx vitest run test/lint/golden.test.ts`).toBe(true);
  expect(text).toBe(readFileSync(p, 'utf8'));
}

describe('lint golden reports of the posture mesh', () => {
  it('the JSON report is unchanged', () => golden('posture.lint.json', renderLintJson(result)));
  it('the SARIF report is unchanged', () => golden('posture.lint.sarif', renderLintSarif(result)));
});
