// Loads the CommonJS bundle dist/meshrange.cjs through vm.Script with the V8
// code cache that `npm ci` wrote beside it (scripts/code-cache.mjs), so a cold
// start neither parses nor compiles the ~1.7 MB bundle again: that was ~40 % of
// `meshrange run` on a small scenario (benchmarks.md B4, target T4.1). Node 20
// has no module compile cache of its own (module.enableCompileCache is 22.1+).
//
// A cache that V8 rejects (another Node version, a rebuilt bundle) only costs
// the compile it would have saved. A vm script cannot run import() without an
// experimental hook, so the bundle's one dynamic import (jose, loaded on first
// use) is rewritten at bundle time to call `__meshrangeImport`, which the
// wrapper below passes in.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

/** dist/meshrange.cjs and its code cache, under `dist`. */
export function bundlePaths(dist) {
  return { bundle: join(dist, 'meshrange.cjs'), cache: join(dist, 'meshrange.cjs.cache') };
}

/**
 * Evaluates the bundle; returns its exports and the vm.Script (from which
 * scripts/code-cache.mjs takes the cache after a training run). `cache: null`
 * loads without one.
 */
export function loadBundle(dist, { cache = bundlePaths(dist).cache } = {}) {
  const { bundle } = bundlePaths(dist);
  let cachedData;
  if (cache !== null) {
    try { cachedData = readFileSync(cache); } catch { cachedData = undefined; }
  }
  // latin1: the bundle is ASCII (scripts/bundle.mjs checks), and decoding it as UTF-8 took three times as long
  const source = readFileSync(bundle, 'latin1');
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __meshrangeImport) {${source}\n})`, {
    filename: bundle,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  const module = { exports: {} };
  const importer = (specifier) => import(specifier);
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle), importer);
  return { exports: module.exports, script };
}
