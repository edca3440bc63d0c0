/**
 * Lint wraps the loader's analyzer (src/loader/analyze.ts) instead of copying
 * it: each analyzer warning the loader reports is one lint finding under its
 * MR code, at the same place. And lint sits above the loader and the policy
 * code: it imports them, never the reverse.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/lint/index.js';
import { loadMesh } from '../../src/loader/load.js';
import { app, dr, ns, pa } from '../helpers.js';

const MAP: Readonly<Record<string, string>> = {
  SIM001: 'MR0111', SIM002: 'MR0112', SIM003: 'MR0113', SIM004: 'MR0114', SIM006: 'MR0115', SIM007: 'MR0116', IST0174: 'MR0117', IST0123: 'MR0118',
  IST0127: 'MR0102', SIM005: 'MR0102',
};

const ap = (namespace: string, name: string, body: string): string =>
  `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ${name}, namespace: ${namespace} }\nspec:\n${body}`;

describe('the loader analyzer as lint findings', () => {
  it('every analyzer warning of the loader is a lint finding with the mapped MR code at the same file and line', () => {
    const docs = [
      ns('istio-system', false), ns('legacy', false), ns('b', true),
      'apiVersion: v1\nkind: Namespace\nmetadata: { name: both, labels: { istio-injection: enabled, istio.io/rev: canary } }\n',
      app('legacy', 'old'), app('b', 's'), app('both', 'x'),
      ap('legacy', 'on-sidecarless', '  action: ALLOW\n  rules: [{}]\n'),
      ap('b', 'target-refs', '  targetRefs: [{ kind: Service, group: "", name: s }]\n  action: ALLOW\n  rules: [{}]\n'),
      ap('b', 'custom', '  action: CUSTOM\n  provider: { name: nope }\n  rules: [{}]\n'),
      ap('b', 'typo', '  selector: { matchLabels: { app: t } }\n  action: ALLOW\n  rules: [{}]\n'),
      pa('istio-system', 'root-selector', 'STRICT', '  selector: { matchLabels: { app: s } }\n'),
      pa('b', 'one', 'STRICT'), pa('b', 'two', 'PERMISSIVE'),
      dr('legacy', 'm', 'old', '{ mode: ISTIO_MUTUAL }'),
      dr('b', 'ghost', 'ghost', '{ mode: ISTIO_MUTUAL }'),
    ];
    const { mesh, issues } = loadMesh(docs.map((text, i) => ({ path: `a${i}.yaml`, text })));
    expect(issues.errors).toEqual([]);
    const analyzer = issues.warnings.filter((w) => Object.hasOwn(MAP, w.code));
    expect(new Set(analyzer.map((w) => w.code))).toEqual(new Set(Object.keys(MAP).filter((c) => c !== 'SIM005')));
    const found = lint(mesh).findings.concat(lint(mesh).suppressed);
    for (const w of analyzer) {
      const code = MAP[w.code] as string;
      const hit = found.find((f) => f.code === code && f.file === w.loc?.file && f.line === w.loc.line);
      expect(hit, `${w.code} → ${code} at ${w.loc?.file}:${w.loc?.line}`).toBeDefined();
    }
  });
});

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

const importsOf = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)].map((m) => path.relative('src', path.resolve(path.dirname(file), m[1] as string)));

describe('layers', () => {
  it('src/lint imports only core, model, loader, policy and itself', () => {
    for (const f of sources('src/lint')) {
      for (const i of importsOf(f)) expect(`${f} → ${i}`).toMatch(/→ (core|model|loader|policy|lint)\//);
    }
  });
  it('nothing below lint (core, model, loader, policy) imports it', () => {
    for (const dir of ['core', 'model', 'loader', 'policy']) {
      for (const f of sources(path.join('src', dir))) for (const i of importsOf(f)) expect(`${f} → ${i}`).not.toMatch(/→ lint\//);
    }
  });
});
