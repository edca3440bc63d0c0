/**
 * Regexes and wildcards come from strangers' manifests (issue 9): every
 * decision that runs one must take time linear in its subject. Istio uses
 * RE2; JavaScript's RegExp backtracks, so `(a+)+$` or a namespace glob with
 * ten stars takes hours on a 40-character subject. These properties feed
 * random regexes and wildcards with long subjects through the real engine and
 * check, without a clock, that no JavaScript RegExp is ever built while a
 * stranger's regex or wildcard is compiled and run: the only way to a
 * backtracking match of a pattern known at run time is the RegExp
 * constructor, so counting its calls catches the bug on a loaded machine as
 * surely as on an idle one (a time bound flaked there). Small cases are also
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

/**
 * fn's value and the patterns of every RegExp built (with or without `new`)
 * while it ran. Regex literals are not counted: they are the code's own,
 * fixed when it was written, not a stranger's.
 */
function regexesBuilt<T>(fn: () => T): { value: T; built: string[] } {
  const Native = globalThis.RegExp;
  const built: string[] = [];
  const record = (args: unknown[]): void => { built.push(String(args[0])); };
  globalThis.RegExp = new Proxy(Native, {
    construct(target, args, newTarget) { record(args); return Reflect.construct(target, args, newTarget) as object; },
    apply(target, self, args) { record(args); return Reflect.apply(target, self, args) as unknown; },
  });
  try {
    return { value: fn(), built };
  } finally {
    globalThis.RegExp = Native;
  }
}

const LITERALS_BOUND_MS = 1000;

/** For the one check that stays timed (the code's own literal regexes on 1 MB): the fastest of three runs, in ms. */
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
  it('a VirtualService uri regex (a+)+$ is loaded and decides a request with a 40-character path without building a JavaScript RegExp', () => {
    const d = regexesBuilt(() => send(vsMesh('/(a+)+$'), { from: 'shop/client', to: 'api.web:80', path: `/${'a'.repeat(40)}!` }));
    expect(d.built).toEqual([]);
    expect(d.value.outcome).toBe('allowed');
  });

  it('an AuthorizationPolicy namespaces wildcard *a*a*a*a*a*a*a*a*a*a*b against a 60-letter namespace is loaded and denies without building a JavaScript RegExp', () => {
    const long = 'a'.repeat(60);
    const d = regexesBuilt(() => send(nsMesh(long, ['*a*a*a*a*a*a*a*a*a*a*b']), { from: `${long}/client`, to: 'api.web:80' }));
    expect(d.built).toEqual([]);
    expect(d.value.outcome).toBe('blocked');
  });

  it('random RE2 regexes on long subjects: compiling and matching builds no JavaScript RegExp (RE2 runs them)', () => {
    fc.assert(fc.property(regex, subject, (r, s) => {
      const d = regexesBuilt(() => {
        const re = compileRe2(r);
        if (typeof re !== 'string') re.matches(s);
      });
      expect(d.built).toEqual([]);
    }), { numRuns: 300 });
  });

  it('random RE2 rewrites of a 300-character path build no JavaScript RegExp: RE2::GlobalReplace searches again after each match, quadratic at worst but never exponential', () => {
    fc.assert(fc.property(regex, subject, (r, s) => {
      const d = regexesBuilt(() => {
        const re = compileRe2(r);
        if (typeof re !== 'string') re.replaceAll(s.slice(0, 300), '\\1');
      });
      expect(d.built).toEqual([]);
    }), { numRuns: 100 });
  });

  it('random regexes in a VirtualService: loading it and deciding through decide() builds no JavaScript RegExp', () => {
    fc.assert(fc.property(regex, subject, (r, s) => {
      const d = regexesBuilt(() => send(vsMesh(r), { from: 'shop/client', to: 'api.web:80', path: `/${s}`, headers: { 'x-user': s } }));
      expect(d.built).toEqual([]);
    }), { numRuns: 40 });
  });

  it('random namespaces wildcards against long namespace names: loading the policy and deciding through decide() builds no JavaScript RegExp', () => {
    fc.assert(fc.property(glob, fc.integer({ min: 20, max: 63 }), fc.constantFrom('a', 'b', 'ab'), (g, n, unit) => {
      const name = unit.repeat(n).slice(0, n);
      const d = regexesBuilt(() => send(nsMesh(name, [g]), { from: `${name}/client`, to: 'api.web:80' }));
      expect(d.built).toEqual([]);
    }), { numRuns: 40 });
  });

  it('random wildcards against long values: globMatcher builds no JavaScript RegExp and agrees with the regex reference on short values', () => {
    fc.assert(fc.property(glob, subject, fc.string({ maxLength: 12, unit: fc.constantFrom('a', 'b', '/') }), (g, long, short) => {
      const built = regexesBuilt(() => globMatcher(g)(long)).built;
      expect(built).toEqual([]);
      const m = globMatcher(g);
      const reference = new RegExp(`^${g.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);
      expect(m(short)).toBe(reference.test(short));
    }), { numRuns: 1000 });
  });

  it('§6.6 path templates agree with Envoy\'s compiled regex ({*} = [lit]+, {**} = [lit/]*, lit excluding = and *)', () => {
    const seg = fc.constantFrom('a', 'b', 'api', '{*}');
    const template = fc.tuple(fc.array(seg, { maxLength: 3 }), fc.boolean(), fc.array(fc.constantFrom('a', 'x'), { maxLength: 2 }))
      .map(([head, glob2, tail]) => `/${[...head, ...(glob2 ? ['{**}', ...tail] : [])].join('/')}`);
    const path = fc.array(fc.constantFrom('a', 'b', 'api', '', 'x', 'a/x', 'k=v', '*', 'a:b@c', '%2F', '\u00e9'), { maxLength: 5 }).map((xs) => `/${xs.join('/')}`);
    const lit = "[A-Za-z0-9\\-._~%!$&'()+,;:@]";
    fc.assert(fc.property(template, path, (t, p) => {
      const reference = new RegExp(`^${t.split('/').map((s) => (s === '{*}' ? `${lit}+` : s === '{**}' ? `(?:${lit}|/)*` : s)).join('/')}$`);
      expect(pathMatcher(t)(p)).toBe(reference.test(p));
    }), { numRuns: 2000 });
  });

  // The one timed check left: these are the code's own regex literals (no stranger's pattern, so nothing to count
  // at construction); a backtracking one takes minutes on 1 MB, so a bound of a second cannot flake and still catches it.
  it('the scenario reader\'s own regexes are linear: looksLikeScenario and the schema\'s patterns on 1 MB hostile text take under a second', () => {
    const lines = `${'kind: \t \t \t'.repeat(1)}${' '.repeat(5000)}x\n`.repeat(200);
    expect(timed(() => looksLikeScenario(`apiVersion: meshrange.io/v1\n${lines}`)).ms).toBeLessThan(LITERALS_BOUND_MS);
    const long = 'a'.repeat(1_000_000);
    const cases: Record<string, unknown>[] = [
      { id: 's', action: 'request', from: `${long}/${long}-` },
      { id: `${long}!`, action: 'request' },
      { id: 's', action: 'request', to: `workload/${long}/${long}:x` },
      { id: 's', action: 'request', to: `${long}:${long}` },
    ];
    for (const c of cases) {
      const r = timed(() => stepSchema.safeParse(c));
      expect(r.ms).toBeLessThan(LITERALS_BOUND_MS);
      expect(r.value.success).toBe(false);
    }
  });
});
