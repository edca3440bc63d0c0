// Writes dist/meshrange.cjs.cache: V8's code cache for the bundle, taken after a
// training run (the shipped scenarios in every format, one `request`, the
// schema) so that it holds the functions a real run compiles, not only the
// bundle's top level. Run by scripts/bundle.mjs at prepare time.
//   node scripts/code-cache.mjs [distDir]   (default dist)
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundlePaths, loadBundle } from '../bin/load-bundle.js';

const dist = resolve(process.argv[2] ?? 'dist');
const scenarios = join(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');
const { exports, script } = loadBundle(dist, { cache: null });
const quiet = { out: () => {}, err: () => {} };
const training = [['schema']];
if (existsSync(scenarios)) {
  for (const format of ['text', 'json', 'junit', 'sarif', 'markdown']) training.push(['run', scenarios, '--format', format]);
  training.push(['request', '--mesh', join(scenarios, 'meshes', 'bookinfo'), '--from', 'bookinfo/productpage-v1', '--to', 'details:9080', '--path', '/details/1']);
}
for (const argv of training) {
  try {
    await exports.main(argv, quiet);
  } catch {
    // a training run that fails still leaves its compiled code behind
  }
}
const { cache } = bundlePaths(dist);
writeFileSync(`${cache}.tmp`, script.createCachedData());
renameSync(`${cache}.tmp`, cache);
