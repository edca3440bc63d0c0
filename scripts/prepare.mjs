// `npm run build` and `prepare`: compiles src/ to dist/ (tsc -p tsconfig.build.json), then bundles the CLI and writes
// its code cache (scripts/bundle.mjs). `prepare` builds only when dist/ was not already built from exactly these
// inputs — a stamp, dist/.build-stamp, holds their hash with Node's and V8's versions, and the bundle and its code
// cache must be there. npm runs `prepare` after `npm ci`, and again when `npx meshrange` in a clone installs the
// clone into npx's cache: a second full build of ~15 s on a fresh clone's first npx, for nothing.
//   node scripts/prepare.mjs [--force]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const force = process.argv.includes('--force');
const stamp = join('dist', '.build-stamp');

/** Every file under `dir`, relative paths, sorted. */
function files(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p)); else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

function inputsHash() {
  const h = createHash('sha256');
  h.update(`node ${process.version} v8 ${process.versions.v8}\0`);
  const list = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', ...files('scripts'), ...files('bin'), ...files('src'), ...files('scenarios')];
  for (const f of list) {
    if (!existsSync(f)) continue;
    h.update(`${f}\0`);
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}

const hash = inputsHash();
const bundle = join('dist', 'meshrange.cjs');
const cache = `${bundle}.cache`;
if (!force && existsSync(bundle) && existsSync(cache) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) {
  // bin/meshrange.js runs the bundle only when it is newer than every file of src/: a checkout that touched src/
  // without changing it (git checkout and back, a cache restore) would otherwise fall back to the sources for good
  const now = new Date();
  for (const f of [bundle, cache]) utimesSync(f, now, now);
  process.stdout.write('meshrange: dist/ is already built from these sources\n');
  process.exit(0);
}
rmSync(stamp, { force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
for (const [cmd, args] of [[process.execPath, [tsc, '-p', 'tsconfig.build.json']], [process.execPath, [join('scripts', 'bundle.mjs')]]]) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
writeFileSync(stamp, hash);
