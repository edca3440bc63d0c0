/**
 * Golden reports for every shipped scenario (architecture.md habit 9): the JSON
 * report is pinned byte for byte, which pins each run's fingerprint too.
 * Regenerate after an intended change with `npm run golden:update`, and say why
 * in the commit message.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareFile, runPrepared } from '../../src/api/run.js';
import { FsSource, Sandbox } from '../../src/cli/fs.js';
import { renderJson } from '../../src/report/json.js';
import { looksLikeScenario } from '../../src/scenario/load.js';
import type { RunResult } from '../../src/scenario/types.js';
import { listYamlFiles } from '../../src/cli/fs.js';

const root = path.resolve(__dirname, '../..');
const goldenDir = path.join(root, 'test/golden/reports');
const update = process.env['UPDATE_GOLDEN'] === '1';

/** As `meshrange run` prepares, binds and runs one file (api/run.ts): the report the CLI writes, warnings and all. */
async function run(file: string): Promise<RunResult> {
  const p = prepareFile(file, new FsSource(Sandbox.forCwd([])));
  if (!p.prepared || !p.bound) throw new Error([...p.before, ...p.after].filter((i) => i.severity === 'error').map((e) => e.message).join('\n'));
  return runPrepared(p.prepared);
}

const files = listYamlFiles(path.join(root, 'scenarios')).filter((f) => looksLikeScenario(readFileSync(f, 'utf8')));

describe('shipped scenarios', () => {
  it('there are shipped scenarios to pin', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  for (const file of files) {
    const name = path.basename(file, path.extname(file));
    it(`${name}: meets every expectation and matches its golden JSON report`, async () => {
      const first = await run(path.relative(process.cwd(), file));
      expect(first.expectations.failed, JSON.stringify(first.steps.filter((s) => s.expectationMet === false).map((s) => [s.id, s.outcome, s.code]))).toBe(0);
      expect(first.steps.every((s) => s.expected !== null)).toBe(true);
      const json = renderJson([first]);
      expect(renderJson([await run(path.relative(process.cwd(), file))]), 'same scenario and seed, same report byte for byte').toBe(json);
      const golden = path.join(goldenDir, `${name}.json`);
      if (update || !existsSync(golden)) {
        if (!update) throw new Error(`no golden report for ${name}; run npm run golden:update`);
        mkdirSync(goldenDir, { recursive: true });
        writeFileSync(golden, json);
      }
      expect(json).toBe(readFileSync(golden, 'utf8'));
    });
  }
});
