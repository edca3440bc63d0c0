// Bundles the compiled CLI (dist/cli/main.js) and its dependencies into one
// ES module, dist/meshrange.mjs: resolving and loading ~80 files is most of
// the CLI's start-up time (benchmarks.md B4, target T4.1). jose stays outside,
// loaded on first use.
//   node scripts/bundle.mjs [distDir]   (default dist)
import { join } from 'node:path';
import { build } from 'esbuild';

const dist = process.argv[2] ?? 'dist';
await build({
  entryPoints: [join(dist, 'cli', 'main.js')],
  outfile: join(dist, 'meshrange.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['jose'],
  logLevel: 'error',
  // CommonJS dependencies (commander, seedrandom) require Node built-ins.
  banner: { js: "import { createRequire as __meshrangeRequire } from 'node:module'; const require = __meshrangeRequire(import.meta.url);" },
});
