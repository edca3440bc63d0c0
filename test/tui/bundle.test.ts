/**
 * ink and React stay out of the CLI bundle (scripts/bundle.mjs): only `meshrange
 * tui` loads them, from dist/tui/ that the prepare step compiled beside it.
 * These read what `npm ci` built; run `npm run build` after editing scripts/.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist');

describe('the TUI outside the CLI bundle', () => {
  it('the bundle holds neither ink nor React and loads dist/tui/app.js through the importer', () => {
    const text = readFileSync(path.join(dist, 'meshrange.cjs'), 'utf8');
    expect(text).not.toMatch(/react-reconciler|yoga-layout|node_modules\/ink\//);
    // the bundle is written without whitespace (scripts/bundle.mjs minifyWhitespace)
    expect(text).toContain('__meshrangeImport(require("node:url").pathToFileURL(require("node:path").join(__dirname,"tui","app.js")).href)');
  });

  it('dist/tui/app.js, compiled by the prepare step, loads and exports the app', async () => {
    const app = path.join(dist, 'tui', 'app.js');
    expect(existsSync(app), `${app} missing: run npm run build`).toBe(true);
    const mod = await import(pathToFileURL(app).href) as { startTui?: unknown; App?: unknown };
    expect(typeof mod.startTui).toBe('function');
    expect(typeof mod.App).toBe('function');
  });
});
