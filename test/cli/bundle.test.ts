/**
 * The shipped CLI (product.md §4, benchmarks.md B4): `npm ci` builds
 * dist/meshrange.cjs and its V8 code cache, and bin/load-bundle.js loads them.
 * These tests read what the prepare step wrote; run `npm run build` after
 * editing bin/ or scripts/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript beside the bin, no declarations
import { bundlePaths, loadBundle } from '../../bin/load-bundle.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = path.join(root, 'dist');
const paths = bundlePaths(dist) as { bundle: string; cache: string };

describe('the bundled CLI that npm ci builds', () => {
  it('B4 the bundle and its code cache exist after the prepare step', () => {
    expect(existsSync(paths.bundle), `${paths.bundle} missing: run npm run build`).toBe(true);
    expect(existsSync(paths.cache), `${paths.cache} missing: scripts/code-cache.mjs did not run`).toBe(true);
  });

  it('B4 V8 accepts the code cache for this bundle and Node, and the bundle exports main', () => {
    const { exports, script } = loadBundle(dist) as { exports: { main?: unknown }; script: { cachedDataRejected?: boolean } };
    expect(typeof exports.main).toBe('function');
    expect(script.cachedDataRejected).toBe(false);
  });

  it('B4 the bundle has no dynamic import() left: a vm script cannot run one, so it goes through __meshrangeImport', () => {
    const text = readFileSync(paths.bundle, 'utf8');
    expect(text).not.toMatch(/\bimport\((['"])[^'"]+\1\)/);
    expect(text).toContain('__meshrangeImport("jose")');
  });

  it('B4 the bundle is ASCII, so load-bundle.js may read it as latin1 (three times faster than decoding UTF-8), and the file is the text', () => {
    const bytes = readFileSync(paths.bundle);
    expect(bytes.findIndex((b) => b > 0x7f)).toBe(-1);
    expect(bytes.toString('latin1')).toBe(bytes.toString('utf8'));
  });

  it('B4 the bundle holds zod/mini with the English locale only: no classic zod, no other language (a fifth of the bundle once)', () => {
    const text = readFileSync(paths.bundle, 'utf8');
    // (booleans: a failure must not print 1.6 MB of bundle)
    expect(text.includes('Too big: expected'), 'the English locale is in the bundle').toBe(true);
    // classic zod's method API, and the Spanish and Catalan locales' "invalid input"
    expect(text.includes('superRefine'), 'classic zod is in the bundle').toBe(false);
    expect(/Entrada inv\\x(E1|E0)lida/.test(text), 'other zod locales are in the bundle').toBe(false);
  });

  it('B4 a run without JWTs loads neither node:crypto nor node:child_process: the bundle requires them on first use', () => {
    const script = `const { loadBundle } = await import(${JSON.stringify(pathToFileURL(path.join(root, 'bin', 'load-bundle.js')).href)});
const { main } = loadBundle(${JSON.stringify(dist)}).exports;
const code = await main(['run', ${JSON.stringify(path.join(root, 'scenarios', 'bookinfo-deny-all.yaml'))}, '--format', 'json'], { out: () => {}, err: () => {} });
process.stdout.write(JSON.stringify({ code, loaded: process.moduleLoadList.filter((m) => /^NativeModule (crypto|child_process)$/.test(m)) }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ code: 0, loaded: [] });
  });

  it('B4 a JWT scenario run from the bundle loads jose through the importer and signs real tokens', async () => {
    const { exports } = loadBundle(dist) as { exports: { main: (argv: string[], io: { out: (s: string) => void; err: (s: string) => void }) => Promise<number> } };
    let out = '';
    const code = await exports.main(['run', path.join(root, 'scenarios', 'payments-ingress-jwt.yaml'), '--format', 'json', '--check'], { out: (s) => { out += s; }, err: () => {} });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ scenario: 'payments-ingress-jwt' });
  });
});
