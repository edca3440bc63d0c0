/**
 * Regexes and wildcards come from strangers' manifests (issue 9): every
 * decision that runs one must take time linear in its subject. Istio uses
 * RE2; JavaScript's RegExp backtracks, so `(a+)+$` or a namespace glob with
 * ten stars takes hours on a 40-character subject. These properties feed
 * random regexes and wildcards with long subjects through the real engine and
 * bound the time of each decision (generously: 50 ms on a shared 2-core
 * machine, where a linear decision takes microseconds). Small cases are also
 * checked against a plain RegExp reference, which is safe on short subjects.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRe2 } from '../../src/core/re2.js';
import type { Mesh } from '../../src/model/types.js';
import { globMatcher, pathMatcher } from '../../src/policy/matchers.js';
import { looksLikeScenario } from '../../src/scenario/load.js';
import { stepSchema } from '../../src/scenario/schema.js';
import { app, meshFrom, ns, send } from '../helpers.js';

const BOUND_MS = 50;

/**
 * The fastest of three runs of fn, in ms: a garbage collection or a busy
 * neighbour slows one run, while a backtracking match is slow every time.
 */
function timed<T>(fn: () => T): { value: T; ms: number } {
  let best = Infinity;
  let value = fn();
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    value = fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { value, ms: best };
}

const allowFromNamespaces = (values: string[]): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: from-ns, namespace: web }
spec:
  selector: { matchLabels: { app: api } }
  action: ALLOW
  rules:
    - from:
        - source:
            namespaces: [${values.map((v) => `'${v}'`).join(', ')}]
`;

const routeByRegex = (regex: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: web }
spec:
  hosts: [api.web.svc.cluster.local]
  http:
    - match:
        - uri: { regex: '${regex}' }
        - headers: { x-user: { regex: '${regex}' } }
      route: [{ destination: { host: api.web.svc.cluster.local } }]
    - route: [{ destination: { host: api.web.svc.cluster.local } }]
`;

function vsMesh(regex: string): Mesh {
  return meshFrom(ns('web', true), ns('shop', true), app('web', 'api'), app('shop', 'client'), routeByRegex(regex));
}

function nsMesh(clientNamespace: string, values: string[]): Mesh {
  return meshFrom(ns('web', true), ns(clientNamespace, true), app('web', 'api'), app(clientNamespace, 'client'), allowFromNamespaces(values));
}

/** RE2 regexes with nested quantifiers: the shapes that make a backtracking engine explode. */
const regex: fc.Arbitrary<string> = fc.letrec<{ expr: string; atom: string }>((tie) => ({
  atom: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('a', 'b', '.', '[ab]', '[^b]', '\\d', 'a?'),
    tie('expr').map((e) => `(${e})`),
  ),
  expr: fc.tuple(
    fc.array(fc.tuple(tie('atom'), fc.constantFrom('', '*', '+', '?', '{1,3}', '+?')).map(([a, q]) => `${a}${q}`), { minLength: 1, maxLength: 4 }),
    fc.array(fc.constantFrom('a', 'b', 'ab', 'a+'), { maxLength: 2 }),
  ).map(([seq, alts]) => [seq.join(''), ...alts].join('|')),
})).expr.filter((r) => r.length <= 80 && typeof compileRe2(r) !== 'string');

/** Long subjects that almost match: runs of one letter with a stray character at the end. */
const subject = fc.tuple(fc.constantFrom('a', 'b', 'ab'), fc.integer({ min: 30, max: 2000 }), fc.constantFrom('', '!', 'b', 'c'))
  .map(([unit, n, end]) => `${unit.repeat(Math.ceil(n / unit.length))}${end}`);

/** `namespaces` wildcards: pieces of a and b between stars. */
const glob = fc.array(fc.constantFrom('a', 'b', 'aa', 'ab', '*', '*', '*'), { minLength: 1, maxLength: 24 }).map((xs) => xs.join(''));

describe('regexes are linear: a decision takes microseconds whatever the regex (issue 9)', () => {
  it('a VirtualService uri regex (a+)+$ decides a request with a 40-character path in under 50 ms', () => {
    const mesh = vsMesh('/(a+)+$');
    const d = timed(() => send(mesh, { from: 'shop/client', to: 'api.web:80', path: `/${'a'.repeat(40)}!` }));
    expect(d.ms).toBeLessThan(BOUND_MS);
    expect(d.value.outcome).toBe('allowed');
  });

  it('an AuthorizationPolicy namespaces wildcard *a*a*a*a*a*a*a*a*a*a*b against a 60-letter namespace decides in under 50 ms, and denies', () => {
    const long = 'a'.repeat(60);
    const mesh = nsMesh(long, ['*a*a*a*a*a*a*a*a*a*a*b']);
    const d = timed(() => send(mesh, { from: `${long}/client`, to: 'api.web:80' }));
    expect(d.ms).toBeLessThan(BOUND_MS);
    expect(d.value.outcome).toBe('blocked');
  });

  it('random RE2 regexes on long subjects: each match takes under 50 ms', () => {
    fc.assert(fc.property(regex, subject, (r, s) => {
      const re = compileRe2(r);
      if (typeof re === 'string') return;
      expect(timed(() => re.matches(s)).ms).toBeLessThan(BOUND_MS);
    }), { numRuns: 300 });
  });

  it('random RE2 rewrites of a 300-character path take under 250 ms: RE2::GlobalReplace searches again after each match, quadratic at worst but never exponential', () => {
    fc.assert(fc.property(regex, subject, (r, s) => {
      const re = compileRe2(r);
      if (typeof re === 'string') return;
      expect(timed(() => re.replaceAll(s.slice(0, 300), '\\1')).ms).toBeLessThan(5 * BOUND_MS);
    }), { numRuns: 100 });
  });

  it('random regexes in a VirtualService: each decision through decide() takes under 50 ms', () => {
    fc.assert(fc.property(regex, subject, (r, s) => {
      const mesh = vsMesh(r);
      const d = timed(() => send(mesh, { from: 'shop/client', to: 'api.web:80', path: `/${s}`, headers: { 'x-user': s } }));
      expect(d.ms).toBeLessThan(BOUND_MS);
    }), { numRuns: 40 });
  });

  it('random namespaces wildcards against long namespace names: each decision through decide() takes under 50 ms', () => {
    fc.assert(fc.property(glob, fc.integer({ min: 20, max: 63 }), fc.constantFrom('a', 'b', 'ab'), (g, n, unit) => {
      const name = unit.repeat(n).slice(0, n);
      const mesh = nsMesh(name, [g]);
      const d = timed(() => send(mesh, { from: `${name}/client`, to: 'api.web:80' }));
      expect(d.ms).toBeLessThan(BOUND_MS);
    }), { numRuns: 40 });
  });

  it('random wildcards against long values: globMatcher takes under 50 ms and agrees with the regex reference on short values', () => {
    fc.assert(fc.property(glob, subject, fc.string({ maxLength: 12, unit: fc.constantFrom('a', 'b', '/') }), (g, long, short) => {
      const m = globMatcher(g);
      expect(timed(() => m(long)).ms).toBeLessThan(BOUND_MS);
      const reference = new RegExp(`^${g.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);
      expect(m(short)).toBe(reference.test(short));
    }), { numRuns: 1000 });
  });

  it('§6.6 path templates agree with the regex reference ({*} = [^/]+, {**} = .+)', () => {
    const seg = fc.constantFrom('a', 'b', 'api', '{*}');
    const template = fc.tuple(fc.array(seg, { maxLength: 3 }), fc.boolean(), fc.array(fc.constantFrom('a', 'x'), { maxLength: 2 }))
      .map(([head, glob2, tail]) => `/${[...head, ...(glob2 ? ['{**}', ...tail] : [])].join('/')}`);
    const path = fc.array(fc.constantFrom('a', 'b', 'api', '', 'x', 'a/x'), { maxLength: 5 }).map((xs) => `/${xs.join('/')}`);
    fc.assert(fc.property(template, path, (t, p) => {
      const reference = new RegExp(`^${t.split('/').map((s) => (s === '{*}' ? '[^/]+' : s === '{**}' ? '.+' : s)).join('/')}$`);
      expect(pathMatcher(t)(p)).toBe(reference.test(p));
    }), { numRuns: 2000 });
  });

  it('the scenario reader\'s own regexes are linear: looksLikeScenario and the schema\'s patterns on 1 MB hostile text take under 50 ms', () => {
    const lines = `${'kind: \t \t \t'.repeat(1)}${' '.repeat(5000)}x\n`.repeat(200);
    expect(timed(() => looksLikeScenario(`apiVersion: meshrange.io/v1\n${lines}`)).ms).toBeLessThan(BOUND_MS);
    const long = 'a'.repeat(1_000_000);
    const cases: Record<string, unknown>[] = [
      { id: 's', action: 'request', from: `${long}/${long}-` },
      { id: `${long}!`, action: 'request' },
      { id: 's', action: 'request', to: `workload/${long}/${long}:x` },
      { id: 's', action: 'request', to: `${long}:${long}` },
    ];
    for (const c of cases) {
      const r = timed(() => stepSchema.safeParse(c));
      expect(r.ms).toBeLessThan(BOUND_MS);
      expect(r.value.success).toBe(false);
    }
  });
});
