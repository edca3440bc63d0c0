/**
 * Child process of test/loader/text-retention.test.ts (run with --expose-gc):
 * writes a folder of manifests, reads it as the CLI does, loads it, lets the
 * file texts go, and prints how much of the heap the loaded mesh holds
 * against how many bytes of text it was loaded from.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FsSource, Sandbox } from '../../../src/cli/fs.js';
import { IssueList } from '../../../src/core/issues.js';
import { loadMesh, type SourceFile } from '../../../src/loader/load.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const FILES = 200;
const dir = mkdtempSync(path.join(tmpdir(), 'mr-retention-'));
// Each file: one Deployment with long names (names of 13+ characters are the slices V8 would share with the text),
// then ~48 KB of comment padding the mesh has no reason to keep.
const pad = `# ${'x'.repeat(78)}\n`.repeat(600);
let textBytes = 0;
for (let i = 0; i < FILES; i++) {
  const text = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: workload-number-${i}\n  namespace: team-namespace-${i}\nspec:\n`
    + `  template:\n    metadata:\n      labels:\n        application-name: application-number-${i}\n`
    + `    spec:\n      serviceAccountName: service-account-number-${i}\n${pad}`;
  textBytes += text.length;
  writeFileSync(path.join(dir, `f${i}.yaml`), text);
}
gc();
const before = process.memoryUsage().heapUsed;
const issues = new IssueList();
let files: SourceFile[] = new FsSource(new Sandbox([dir])).manifests(dir, issues);
const { mesh } = loadMesh(files);
files = [];
gc();
const held = process.memoryUsage().heapUsed - before;
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ textBytes, held, workloads: mesh.workloads.length, errors: issues.errors.length })}\n`);
