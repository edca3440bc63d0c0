// Bundles the compiled CLI (dist/cli/main.js) and its dependencies into one
// CommonJS file, dist/meshrange.cjs (resolving and loading ~80 files was most
// of the CLI's start-up: benchmarks.md B4, target T4.1), then writes its V8
// code cache (scripts/code-cache.mjs). jose and the TUI (dist/tui/, ink and
// React) stay outside, loaded on first use.
//   node scripts/bundle.mjs [distDir]   (default dist)
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = process.argv[2] ?? 'dist';
rmSync(join(dist, 'meshrange.mjs'), { force: true }); // the ES-module bundle of earlier builds
rmSync(join(dist, 'meshrange.cjs.cache'), { force: true });
rmSync(join(dist, '.build-stamp'), { force: true }); // a build by hand: prepare must not trust an older stamp
await build({
  entryPoints: [join(dist, 'cli', 'main.js')],
  outfile: join(dist, 'meshrange.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['jose'],
  // No comments, no indentation: a smaller file to read and check against its code cache at each start.
  minifyWhitespace: true,
  logLevel: 'error',
  plugins: [{
    // node:crypto (JWT signatures, the HTML report's hashes) and node:child_process (`assess --before <git ref>`, and
    // commander's executable subcommands, which meshrange has none of) load ~10 ms of Node internals that most runs
    // never touch: their imports get a module of getters that requires the real one on first use (benchmarks.md B4,
    // T4.1). The getters are the names the building Node exports (own enumerable keys).
    name: 'meshrange-lazy-builtins',
    setup(b) {
      b.onResolve({ filter: /^(node:)?(crypto|child_process)$/ }, (args) => (args.namespace === 'lazy-builtin'
        ? { path: args.path, external: true }
        : { path: args.path.startsWith('node:') ? args.path : `node:${args.path}`, namespace: 'lazy-builtin' }));
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
        const names = Object.keys(createRequire(import.meta.url)(args.path)).filter((k) => k !== 'default' && k !== '__esModule');
        const id = JSON.stringify(args.path);
        const lines = names.map((k) => `Object.defineProperty(exports, ${JSON.stringify(k)}, { enumerable: true, get: () => load()[${JSON.stringify(k)}] });`);
        return { contents: `let m; const load = () => (m ??= require(${id}));\n${lines.join('\n')}\n`, loader: 'js' };
      });
    },
  }, {
    // bin/load-bundle.js runs the bundle as a vm script, where import() needs an
    // experimental hook: the one dynamic import calls the loader's importer instead.
    name: 'meshrange-import',
    setup(b) {
      // re2js (core/re2.ts) keeps JSDoc types such as {import('./index.js').RE2JS} in the bundle:
      // comments, not imports, but they would trip the dynamic-import check below.
      b.onLoad({ filter: /[\\/]re2js[\\/]build[\\/]index\.c?js$/ }, (args) => ({
        contents: readFileSync(args.path, 'utf8').replace(/\{import\((['"])/g, '{importType($1'),
        loader: 'js',
      }));
      // core/re2.ts loads re2js on first use through createRequire(import.meta.url), which a
      // CommonJS bundle has no URL for: a plain require makes esbuild bundle it as a lazy module.
      b.onLoad({ filter: /[\\/]core[\\/]re2\.js$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const out = text.replace(/createRequire\(import\.meta\.url\)\((['"])re2js\1\)/g, 'require("re2js")');
        if (out === text) throw new Error(`${args.path}: expected createRequire(import.meta.url)('re2js') to rewrite`);
        return { contents: out, loader: 'js' };
      });
      // The TUI (ink, React) stays out of the bundle: cli/tui.js loads dist/tui/app.js, which tsc
      // compiled beside it, through the importer on the first `meshrange tui` only.
      b.onLoad({ filter: /[\\/]cli[\\/]tui\.js$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const out = text.replace(/\bimport\((['"])\.\.\/tui\/app\.js\1\)/g,
          '__meshrangeImport(require("node:url").pathToFileURL(require("node:path").join(__dirname, "tui", "app.js")).href)');
        if (out === text) throw new Error(`${args.path}: expected import('../tui/app.js') to rewrite`);
        return { contents: out, loader: 'js' };
      });
      b.onLoad({ filter: /[\\/]policy[\\/]jwt-crypto\.js$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const out = text.replace(/\bimport\((['"])jose\1\)/g, '__meshrangeImport("jose")');
        if (out === text) throw new Error(`${args.path}: expected import('jose') to rewrite`);
        return { contents: out, loader: 'js' };
      });
    },
  }],
});
const bundled = readFileSync(join(dist, 'meshrange.cjs'), 'utf8');
// bin/load-bundle.js reads the bundle as latin1 (a third of the time of decoding UTF-8): it must be ASCII. esbuild
// escapes strings; a regex literal it copies as written, so write non-ASCII characters there as \u escapes.
const wide = /[^\x00-\x7f]/.exec(bundled);
if (wide) throw new Error(`dist/meshrange.cjs has a non-ASCII character (U+${wide[0].codePointAt(0).toString(16).padStart(4, '0')}) near "${bundled.slice(Math.max(0, wide.index - 40), wide.index + 10)}": write it as a \\u escape in the source`);
const left = /\bimport\((['"])[^'"]+\1\)/.exec(bundled);
if (left) throw new Error(`dist/meshrange.cjs still has a dynamic ${left[0]}, which a vm script cannot run: route it through __meshrangeImport in scripts/bundle.mjs`);
// A child process, so the training run starts from a clean heap and its output stays out of npm's log.
const cc = spawnSync(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'code-cache.mjs'), dist], { stdio: ['ignore', 'ignore', 'inherit'] });
if (cc.status !== 0) process.stderr.write(`meshrange: no code cache written (exit ${cc.status}); the CLI works, it only starts slower\n`);
