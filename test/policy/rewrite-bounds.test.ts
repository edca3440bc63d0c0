/**
 * A VirtualService's uriRegexRewrite comes from strangers: its work is bounded (routing.ts MAX_REWRITE_COST,
 * MAX_REWRITTEN_PATH). Past a bound the simulation stops with a located error (exit 2), never an out-of-memory crash
 * or a minute per request.
 */
import { describe, expect, it } from 'vitest';
import { SimulationLimitError } from '../../src/core/limits.js';
import { compileRe2 } from '../../src/core/re2.js';
import { cli } from '../cli/harness.js';
import { app, meshFrom, ns, send } from '../helpers.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const vs = (match: string, rewrite: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: a }
spec:
  hosts: [api]
  http:
    - rewrite: { uriRegexRewrite: { match: ${JSON.stringify(match)}, rewrite: ${JSON.stringify(rewrite)} } }
      route: [{ destination: { host: api } }]
`;
const base = [ns('a', true), app('a', 'client'), app('a', 'api')];

describe('uriRegexRewrite work is bounded', () => {
  it('replaceAll stops once the result would pass maxOut (null), and rewrites as before below it', () => {
    const re = compileRe2('a*');
    if (typeof re === 'string') throw new Error(re);
    expect(re.replaceAll('bcd', 'x', 100)).toBe('xbxcxdx');
    expect(re.replaceAll('c'.repeat(2000), 'y'.repeat(1000), 60 * 1024)).toBeNull();
  });

  it('a rewrite that would make a path over 60 KiB is a located limit error, not 200 MB of path', () => {
    const m = meshFrom(...base, vs('a*', `/${'b'.repeat(10_000)}`));
    expect(() => send(m, { from: 'a/client', to: 'api.a:80', path: `/${'c'.repeat(2000)}` })).toThrow(SimulationLimitError);
    // a short path stays under the bound and is rewritten
    expect(send(m, { from: 'a/client', to: 'api.a:80', path: '/c' }).received?.path.length).toBeGreaterThan(10_000);
  });

  it('a regex anchored at the start is charged one scan (program size × path length), an unanchored alternative is not', () => {
    const anchored = compileRe2('^/api/v[0-9]+/(users|orders|items|carts|payments)/([^/]+)/(.*)$');
    const sneaky = compileRe2('^x|(?:[a-y]{0,100}){10}z|');
    if (typeof anchored === 'string' || typeof sneaky === 'string') throw new Error('bad regex');
    expect(anchored.anchoredStart).toBe(true);
    expect(sneaky.anchoredStart).toBe(false);
    const long = `/api/v1/users/${'u'.repeat(2000)}/x`;
    const m = meshFrom(...base, vs('^/api/v[0-9]+/(users|orders|items|carts|payments)/([^/]+)/(.*)$', '/\\3'));
    expect(send(m, { from: 'a/client', to: 'api.a:80', path: long }).received?.path).toBe('/x');
    expect(() => send(meshFrom(...base, vs('^x|(?:[a-y]{0,100}){10}z|', '/x')), { from: 'a/client', to: 'api.a:80', path: `/${'a'.repeat(1000)}` })).toThrow(SimulationLimitError);
  });

  it('a regex whose matching would cost program size × path length² past the bound is refused before it runs', () => {
    const m = meshFrom(...base, vs('(?:[a-y]{0,100}){10}z|', '/x'));
    let caught: unknown;
    try { send(m, { from: 'a/client', to: 'api.a:80', path: `/${'a'.repeat(1000)}` }); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(SimulationLimitError);
    expect((caught as SimulationLimitError).message).toContain('too costly to simulate');
    expect((caught as SimulationLimitError).loc?.file).toBeDefined();
  });

  it('in a scenario run the same bound is a located scenario-too-much-work error (exit 2), whatever event met it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mr-rewrite-'));
    try {
      writeFileSync(path.join(dir, 'mesh.yaml'), [...base, vs('(?:[a-y]{0,100}){10}z|', '/x')].join('\n---\n'));
      writeFileSync(path.join(dir, 's.yaml'), `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: slow-rewrite }
spec:
  mesh: { manifests: [./mesh.yaml] }
  attacker: { foothold: a/client }
  steps:
    - { id: s1, action: request, to: "api.a:80", path: "/${'a'.repeat(1000)}" }
`);
      const r = await cli('run', path.join(dir, 's.yaml'));
      expect(r.code).toBe(2);
      expect(r.err).toContain('error [scenario-too-much-work]');
      expect(r.err).toContain('too costly to simulate');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the library\'s decide throws it as MeshrangeError with the located issue, as any bad input', async () => {
    const lib = await import('../../src/index.js');
    const files = new Map([['m.yaml', [...base, vs('a*', `/${'b'.repeat(10_000)}`)].join('\n---\n')]]);
    const { mesh } = lib.loadMesh({ manifests: ['m.yaml'] }, { reader: lib.memoryReader(files) });
    let caught: unknown;
    try { await lib.decide(mesh, { from: 'a/client', to: 'api.a:80', path: `/${'c'.repeat(2000)}` }, { now: 0 }); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(lib.MeshrangeError);
    expect((caught as InstanceType<typeof lib.MeshrangeError>).issues[0]).toMatchObject({ code: 'too-much-work', loc: { file: 'm.yaml' } });
  });

  it('the library\'s assessManifests throws it as MeshrangeError too (its reach analysis decides every route)', async () => {
    const lib = await import('../../src/index.js');
    const before = [{ path: 'm.yaml', text: base.join('\n---\n') }];
    const after = [{ path: 'm.yaml', text: [...base, vs('a*', `/${'b'.repeat(40_000)}`)].join('\n---\n') }];
    expect(() => lib.assessManifests(before, after)).toThrow(lib.MeshrangeError);
  });

  it('the CLI says so as an error at the VirtualService (exit 2), not as an internal error', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mr-rewrite-'));
    try {
      writeFileSync(path.join(dir, 'mesh.yaml'), [...base, vs('a*', `/${'b'.repeat(10_000)}`)].join('\n---\n'));
      const r = await cli('request', '--mesh', dir, '--from', 'a/client', '--to', 'api.a:80', '--path', `/${'c'.repeat(2000)}`);
      expect(r.code).toBe(2);
      expect(r.err).toContain('error [too-much-work]');
      expect(r.err).not.toContain('internal error');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
