#!/usr/bin/env node
// Runs the bundled JavaScript dist/meshrange.mjs (built by `npm ci` through the
// prepare script) when it is up to date with src/; otherwise runs the
// TypeScript sources directly through tsx, so an edited checkout never runs
// stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'meshrange.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

let main;
if (existsSync(built) && statSync(built).mtimeMs >= newestSource(join(root, 'src'))) {
  ({ main } = await import(pathToFileURL(built).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href));
}
process.exitCode = await main(process.argv.slice(2));
