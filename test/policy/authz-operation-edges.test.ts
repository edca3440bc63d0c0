/**
 * §6.3–§6.7 AuthorizationPolicy matching at its edges, as Istio generates the RBAC and Envoy evaluates it:
 * an empty list is no list at all; the `#fragment` is dropped from the path before any filter; path templates match as
 * Envoy compiles them (`{**}` may be empty, `=` and `*` are no template characters); a `request.headers[...]` condition
 * reads the pseudo-headers too.
 */
import { describe, expect, it } from 'vitest';
import { loadMesh } from '../../src/loader/load.js';
import { pathMatch } from '../../src/policy/matchers.js';
import { app, meshFrom, ns, send } from '../helpers.js';

const base = [ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('b', 'server')];
const policy = (action: string, rules: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: p, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  action: ${action}
  rules: ${rules}
`;
const SERVER = 'server.b.svc.cluster.local:80';

describe('§6.3 an empty list is no list', () => {
  it('a DENY with `methods: []` beside `paths` denies by the paths alone (it fails open when the empty list matches nothing)', () => {
    const m = meshFrom(...base, policy('DENY', '[{ to: [{ operation: { methods: [], paths: ["/admin"] } }] }]'));
    expect(send(m, { from: 'a/client', to: SERVER, path: '/admin' })).toMatchObject({ outcome: 'blocked', code: 403 });
    expect(send(m, { from: 'a/client', to: SERVER, path: '/other' }).outcome).toBe('allowed');
  });

  it('a condition with `values: []` and notValues is the notValues alone; an ALLOW on a TCP port with `methods: []` is not an HTTP-only rule', () => {
    const when = meshFrom(...base, policy('ALLOW', '[{ when: [{ key: "request.headers[x-team]", values: [], notValues: ["blocked"] }] }]'));
    expect(send(when, { from: 'a/client', to: SERVER, headers: { 'x-team': 'b' } }).outcome).toBe('allowed');
    expect(send(when, { from: 'a/client', to: SERVER, headers: { 'x-team': 'blocked' } })).toMatchObject({ outcome: 'blocked', code: 403 });
    const tcp = meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'),
      app('b', 'server', { portName: 'tcp-db', port: 9000, svcPort: 9000 }),
      policy('ALLOW', '[{ to: [{ operation: { ports: ["9000"], methods: [] } }] }]'));
    expect(send(tcp, { from: 'a/client', to: 'server.b.svc.cluster.local:9000', protocol: 'tcp' }).outcome).toBe('allowed');
  });

  it('an operation or source whose every list is empty is refused, as Istio refuses an empty one', () => {
    const { issues } = loadMesh([{ path: 'm.yaml', text: [...base, policy('ALLOW', '[{ to: [{ operation: { methods: [], paths: [] } }], from: [{ source: { principals: [] } }] }]')].join('---\n') }]);
    expect(issues.errors.map((e) => e.code).sort()).toEqual(['ap-empty-operation', 'ap-empty-source']);
  });
});

describe('§6.6 paths as Envoy sees them', () => {
  it('the #fragment is dropped before authorization and routing: a DENY on /admin stops /admin#x, and the app receives /admin', () => {
    const m = meshFrom(...base, policy('DENY', '[{ to: [{ operation: { paths: ["/admin"] } }] }]'));
    expect(send(m, { from: 'a/client', to: SERVER, path: '/admin#x' })).toMatchObject({ outcome: 'blocked', code: 403 });
    const open = send(meshFrom(...base), { from: 'a/client', to: SERVER, path: '/admin#x?not-a-query' });
    expect(open.received?.path).toBe('/admin');
    // the client's own sidecar drops it as well, before a server without one
    const bare = meshFrom(ns('istio-system', false), ns('a', true), ns('plain', false), app('a', 'client'), app('plain', 'server'));
    expect(send(bare, { from: 'a/client', to: 'server.plain.svc.cluster.local:80', path: '/admin#x' }).received?.path).toBe('/admin');
  });

  it('{**} matches the empty run too: /foo/{**} matches /foo/, /{**} matches /, /foo/{**}/bar matches /foo//bar', () => {
    expect(pathMatch('/foo/{**}', '/foo/')).toBe(true);
    expect(pathMatch('/foo/{**}', '/foo')).toBe(false);
    expect(pathMatch('/{**}', '/')).toBe(true);
    expect(pathMatch('/foo/{**}/bar', '/foo//bar')).toBe(true);
    expect(pathMatch('/foo/{**}/bar', '/foo/a/b/bar')).toBe(true);
    const m = meshFrom(...base, policy('DENY', '[{ to: [{ operation: { paths: ["/foo/{**}"] } }] }]'));
    expect(send(m, { from: 'a/client', to: SERVER, path: '/foo/' })).toMatchObject({ outcome: 'blocked', code: 403 });
  });

  it('`=` and `*` are no template characters: /api/{*} does not match /api/k=v, nor {**} a rest holding one', () => {
    expect(pathMatch('/api/{*}', '/api/k=v')).toBe(false);
    expect(pathMatch('/api/{*}', '/api/a:b@c%20')).toBe(true);
    expect(pathMatch('/api/{**}', '/api/x/k=v')).toBe(false);
    expect(pathMatch('/api/{**}', '/api/x/*')).toBe(false);
    const m = meshFrom(...base, policy('DENY', '[{ to: [{ operation: { paths: ["/api/{*}"] } }] }]'));
    expect(send(m, { from: 'a/client', to: SERVER, path: '/api/k=v' }).outcome).toBe('allowed');
    expect(send(m, { from: 'a/client', to: SERVER, path: '/api/k' })).toMatchObject({ outcome: 'blocked', code: 403 });
  });
});

describe('§6.7 request.headers[...] reads the pseudo-headers', () => {
  it(':authority, :method and :path (with its query) match as Envoy\'s header matcher reads them', () => {
    const deny = (key: string, value: string) => meshFrom(...base, policy('DENY', `[{ when: [{ key: "request.headers[${key}]", values: ["${value}"] }] }]`));
    expect(send(deny(':authority', 'server*'), { from: 'a/client', to: SERVER })).toMatchObject({ outcome: 'blocked', code: 403 });
    expect(send(deny(':method', 'POST'), { from: 'a/client', to: SERVER, method: 'POST' })).toMatchObject({ outcome: 'blocked', code: 403 });
    expect(send(deny(':method', 'POST'), { from: 'a/client', to: SERVER }).outcome).toBe('allowed');
    expect(send(deny(':path', '*?debug=1'), { from: 'a/client', to: SERVER, path: '/x?debug=1' })).toMatchObject({ outcome: 'blocked', code: 403 });
    expect(send(deny(':path', '*?debug=1'), { from: 'a/client', to: SERVER, path: '/x' }).outcome).toBe('allowed');
  });
});
