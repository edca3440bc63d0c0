#!/usr/bin/env node
// Runs the bundled JavaScript dist/meshrange.cjs (built by `npm ci` through the
// prepare script, with its V8 code cache; see load-bundle.js) when it is up to
// date with src/; otherwise runs the TypeScript sources directly through tsx,
// so an edited checkout never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundlePaths, loadBundle } from './load-bundle.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const built = bundlePaths(dist).bundle;

// Every start of a checkout walks src/ (~170 files): joined with '/', which Node's fs takes on every platform, not
// path.join, which normalises each path and was a third of the walk (~1 of ~3 ms; benchmarks.md B4, T4.1).
function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    const t = e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

// Installed as a dependency (…/node_modules/meshrange), the package is what npm unpacked: its
// file times are unpacking times, in no useful order, and nobody edits its src/ — the bundle is it.
const installed = root.split(/[\\/]/).includes('node_modules');
let main;
if (existsSync(built) && (installed || statSync(built).mtimeMs >= newestSource(join(root, 'src')))) {
  ({ main } = loadBundle(dist).exports);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href));
}
process.exitCode = await main(process.argv.slice(2));
