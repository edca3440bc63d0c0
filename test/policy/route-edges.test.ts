/**
 * §8 sidecar routing at its edges, as Istio builds the routes and Envoy matches them: a route names a cluster
 * (outbound|port||host), so a destination the sidecar has no Service or ServiceEntry for is 503 NC whatever DNS or
 * the outbound policy would do; a route's `authority` match reads the Host the client sent, port and case kept;
 * query parameters are matched as sent, not %-decoded.
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, ns, registryOnlyMeshConfig, send } from '../helpers.js';

const base = [ns('istio-system', false), ns('a', true), app('a', 'client'), app('a', 'web'), app('a', 'web2')];
const vs = (http: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: a }
spec:
  hosts: [web]
  http: ${http}
`;

describe('§8 a sidecar route names a cluster', () => {
  it('a destination that is no Service or ServiceEntry is 503 NC, under ALLOW_ANY and REGISTRY_ONLY alike, and for a name DNS does not know', () => {
    const toExternal = vs('[{ route: [{ destination: { host: example.com } }] }]');
    for (const extra of [[], [registryOnlyMeshConfig]]) {
      const d = send(meshFrom(...base, toExternal, ...extra), { from: 'a/client', to: 'web.a.svc.cluster.local:80' });
      expect(d).toMatchObject({ outcome: 'blocked', code: 503, flags: 'NC', stoppedBy: [{ control: 'Routing' }] });
    }
    expect(send(meshFrom(...base, vs('[{ route: [{ destination: { host: web9 } }] }]')), { from: 'a/client', to: 'web.a.svc.cluster.local:80' }))
      .toMatchObject({ outcome: 'blocked', code: 503, flags: 'NC' });
    // with a ServiceEntry for the host there is a cluster
    const entry = 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: ex, namespace: a }\nspec: { hosts: [example.com], ports: [{ number: 80, name: http, protocol: HTTP }], resolution: DNS }\n';
    expect(send(meshFrom(...base, toExternal, entry), { from: 'a/client', to: 'web.a.svc.cluster.local:80' }).outcome).toBe('allowed');
    // a wildcard entry builds no cluster for a name it covers: clusters are per exact host (istio#49482)
    const wild = 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: wild, namespace: a }\nspec: { hosts: ["*.example.com"], ports: [{ number: 80, name: http, protocol: HTTP }], resolution: NONE }\n';
    expect(send(meshFrom(...base, vs('[{ route: [{ destination: { host: api.example.com } }] }]'), wild), { from: 'a/client', to: 'web.a.svc.cluster.local:80' }))
      .toMatchObject({ outcome: 'blocked', code: 503, flags: 'NC' });
  });
});

describe('§8 route matches read the request as sent', () => {
  it('`authority` matches the Host header as the client sent it, port kept, not the Service\'s name', () => {
    const m = meshFrom(...base, vs(`
    - { match: [{ authority: { exact: web } }], route: [{ destination: { host: web2 } }] }
    - { match: [{ authority: { prefix: "web:" } }], route: [{ destination: { host: web2 } }] }
    - route: [{ destination: { host: web } }]`));
    const to = (host: string): string | undefined => send(m, { from: 'a/client', to: 'web.a.svc.cluster.local:80', headers: { host } }).destination?.workload;
    expect(to('web')).toBe('a/web2');
    expect(to('web:80')).toBe('a/web2');
    expect(to('web.a.svc.cluster.local')).toBe('a/web');
    // without a Host header, :authority is what was dialled, port and all (the port when it is not the default)
    const on8080 = meshFrom(ns('istio-system', false), ns('a', true), app('a', 'client'), app('a', 'web', { svcPort: 8080 }), app('a', 'web2', { svcPort: 8080 }), vs(`
    - { match: [{ authority: { exact: "web.a.svc.cluster.local:8080" } }], route: [{ destination: { host: web2 } }] }
    - route: [{ destination: { host: web } }]`));
    expect(send(on8080, { from: 'a/client', to: 'web.a.svc.cluster.local:8080' }).destination?.workload).toBe('a/web2');
  });

  it('a uri match never sees the #fragment, which the connection manager dropped', () => {
    const m = meshFrom(...base, vs(`
    - { match: [{ uri: { exact: /admin } }], route: [{ destination: { host: web2 } }] }
    - route: [{ destination: { host: web } }]`));
    expect(send(m, { from: 'a/client', to: 'web.a.svc.cluster.local:80', path: '/admin#top' }).destination?.workload).toBe('a/web2');
  });

  it('queryParams compare the value as sent: %20 and + are not decoded', () => {
    const m = meshFrom(...base, vs(`
    - { match: [{ queryParams: { q: { exact: "a b" } } }], route: [{ destination: { host: web2 } }] }
    - { match: [{ queryParams: { q: { exact: "a%20b" } } }], route: [{ destination: { host: web2 } }] }
    - route: [{ destination: { host: web } }]`));
    const to = (path: string): string | undefined => send(m, { from: 'a/client', to: 'web.a.svc.cluster.local:80', path }).destination?.workload;
    expect(to('/?q=a+b')).toBe('a/web');
    expect(to('/?q=a%20b')).toBe('a/web2');
  });
});
