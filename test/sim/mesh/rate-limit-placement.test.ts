/**
 * Where a local rate limit sits (istio-semantics §3 client step 3, §10): an
 * EnvoyFilter patched on SIDECAR_OUTBOUND, or with no context, limits the
 * client's own sidecar (429 before the request leaves the pod); a per-route
 * override (HTTP_ROUTE) is met on Istio's virtual host names; a sidecar that
 * does not capture the connection (capture.ts) limits nothing.
 */
import { describe, expect, it } from 'vitest';
import type { Mesh } from '../../../src/model/types.js';
import { Kernel } from '../../../src/sim/kernel/index.js';
import { MeshControls } from '../../../src/sim/mesh/controls.js';
import { World, type Outcome } from '../../../src/sim/mesh/world.js';
import { app, meshFrom, ns, request, type Send } from '../../helpers.js';

function filter(context: string | null, selector: string, bucket: string, extraPatch = ''): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: limit, namespace: a }
spec:
  workloadSelector: { labels: { app: ${selector} } }
  configPatches:
    - applyTo: HTTP_FILTER
      match:
${context ? `        context: ${context}\n` : ''}        listener:
          filterChain:
            filter: { name: envoy.filters.network.http_connection_manager }
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.local_ratelimit
          typed_config:
            "@type": type.googleapis.com/udpa.type.v1.TypedStruct
            type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
            value:
              stat_prefix: http_local_rate_limiter
${bucket}
${extraPatch}`;
}

const BUCKET_2 = `              token_bucket: { max_tokens: 2, tokens_per_fill: 2, fill_interval: 60s }
              filter_enabled: { runtime_key: e, default_value: { numerator: 100, denominator: HUNDRED } }
              filter_enforced: { runtime_key: f, default_value: { numerator: 100, denominator: HUNDRED } }`;

const PER_ROUTE_8080 = `    - applyTo: HTTP_ROUTE
      match:
        context: SIDECAR_INBOUND
        routeConfiguration:
          vhost:
            name: "inbound|http|8080"
            route: { action: ANY }
      patch:
        operation: MERGE
        value:
          typed_per_filter_config:
            envoy.filters.http.local_ratelimit:
              "@type": type.googleapis.com/udpa.type.v1.TypedStruct
              type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
              value:
                stat_prefix: http_local_rate_limiter
${BUCKET_2.replace(/^ {14}/gm, '                ')}
`;

function mesh(...extra: string[]): Mesh {
  return meshFrom(ns('a', true), app('a', 'client'), app('a', 'api'), ...extra);
}

/** Three requests one ms apart; their statuses in sending order, and the last outcome. */
function three(m: Mesh, s: Send): { statuses: (number | null)[]; last: Outcome } {
  const k = new Kernel({ seed: 3 });
  const world = new World(k, m, { facts: () => ({ serviceTimeMs: 0.1, concurrency: 64, queue: 1000 }), proxyOverheadMs: 0.5, base: {}, controls: new MeshControls(m, () => 0.5) });
  const out: Outcome[] = [];
  const req = request(m, s);
  for (let i = 0; i < 3; i++) k.at(i, () => world.send({ req, pick: () => 0 }, (o) => { out[i] = o; }));
  k.run(60_000);
  const last = out[2];
  if (!last || out.length !== 3) throw new Error('no answers');
  return { statuses: out.map((o) => o.status), last };
}

describe('§10 a local rate limit on the client side', () => {
  it('context SIDECAR_OUTBOUND limits the client\'s own sidecar: the 3rd request gets 429 from it', () => {
    const { statuses, last } = three(mesh(filter('SIDECAR_OUTBOUND', 'client', BUCKET_2)), { from: 'a/client', to: 'api:80' });
    expect(statuses).toEqual([200, 200, 429]);
    expect(last.dynamic).toMatchObject({ control: 'RateLimit', name: 'a/limit', flags: 'RL' });
    expect(last.dynamic?.reason).toContain("a/client's own sidecar");
  });

  it('no context means every listener: the client\'s outbound one too', () => {
    expect(three(mesh(filter(null, 'client', BUCKET_2)), { from: 'a/client', to: 'api:80' }).statuses).toEqual([200, 200, 429]);
  });

  it('SIDECAR_INBOUND on the client does not limit what it sends', () => {
    expect(three(mesh(filter('SIDECAR_INBOUND', 'client', BUCKET_2)), { from: 'a/client', to: 'api:80' }).statuses).toEqual([200, 200, 200]);
  });

  it('a connection that leaves around the client\'s sidecar meets no outbound limit', () => {
    const m = mesh(filter('SIDECAR_OUTBOUND', 'client', BUCKET_2));
    expect(three(m, { from: 'a/client', to: 'api:80', bypass: true, capabilities: ['root'] }).statuses).toEqual([200, 200, 200]);
  });
});

describe('§10 per-route local rate limit (HTTP_ROUTE)', () => {
  it('the override on vhost inbound|http|8080 limits requests to the server\'s port 8080 (no bucket at the filter itself)', () => {
    const m = mesh(filter('SIDECAR_INBOUND', 'api', '', PER_ROUTE_8080));
    const { statuses, last } = three(m, { from: 'a/client', to: 'api:80' });
    expect(statuses).toEqual([200, 200, 429]);
    expect(last.dynamic).toMatchObject({ control: 'RateLimit', name: 'a/limit' });
  });

  it('a port the server\'s iptables rules leave to the app crosses no sidecar, so no rate limit applies there', () => {
    const excluded = `apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: a }
spec:
  template:
    metadata:
      labels: { app: api }
      annotations: { traffic.sidecar.istio.io/excludeInboundPorts: "8080" }
    spec:
      serviceAccountName: api
      containers: [{ name: main, ports: [{ containerPort: 8080 }] }]
`;
    const limited = [ns('legacy', false), app('legacy', 'old'), filter('SIDECAR_INBOUND', 'api', BUCKET_2)];
    expect(three(mesh(...limited), { from: 'legacy/old', to: 'api.a:80' }).statuses).toEqual([200, 200, 429]);
    expect(three(mesh(...limited, excluded), { from: 'legacy/old', to: 'api.a:80' }).statuses).toEqual([200, 200, 200]);
  });
});

describe('§3 §10 where a rate limit sits among the authorization filters (INSERT_BEFORE / INSERT_AFTER with a subFilter)', () => {
  const placed = (sub: string | null, op = 'INSERT_BEFORE'): string => filter('SIDECAR_INBOUND', 'api', BUCKET_2)
    .replace('filter: { name: envoy.filters.network.http_connection_manager }',
      `filter: { name: envoy.filters.network.http_connection_manager${sub ? `, subFilter: { name: ${sub} }` : ''} }`)
    .replace('operation: INSERT_BEFORE', `operation: ${op}`);
  const denyAdmin = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: a }
spec:
  selector: { matchLabels: { app: api } }
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }]
`;
  /** /admin twice (denied), then / three times, one ms apart */
  function run(m: Mesh): (number | null)[] {
    const k = new Kernel({ seed: 3 });
    const world = new World(k, m, { facts: () => ({ serviceTimeMs: 0.1, concurrency: 64, queue: 1000 }), proxyOverheadMs: 0.5, base: {}, controls: new MeshControls(m, () => 0.5) });
    const out: (number | null)[] = [];
    ['/admin', '/admin', '/', '/', '/'].forEach((path, i) => k.at(i, () => world.send({ req: request(m, { from: 'a/client', to: 'api:80', path }), pick: () => 0 }, (o) => { out[i] = o.status; })));
    k.run(60_000);
    return out;
  }

  it('at the front (no subFilter) it runs before RBAC: denied requests take tokens, and a 429 wins over the 403', () => {
    expect(run(mesh(placed(null), denyAdmin))).toEqual([403, 403, 429, 429, 429]);
  });

  it('before the router it runs after RBAC: a denied request takes no token', () => {
    expect(run(mesh(placed('envoy.filters.http.router'), denyAdmin))).toEqual([403, 403, 200, 200, 429]);
    expect(run(mesh(placed('envoy.filters.http.rbac', 'INSERT_AFTER'), denyAdmin))).toEqual([403, 403, 200, 200, 429]);
  });

  it('before RBAC it runs after JWT: RBAC-denied requests take tokens (and get 429 once the bucket is empty)', () => {
    expect(run(mesh(placed('envoy.filters.http.rbac'), denyAdmin))).toEqual([403, 403, 429, 429, 429]);
  });

  it('each action has its own RBAC filter and INSERT_AFTER rbac attaches at the first: between DENY and ALLOW, ALLOW-refused requests take tokens', () => {
    const allowSome = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-some, namespace: a }
spec:
  selector: { matchLabels: { app: api } }
  rules: [{ to: [{ operation: { paths: ["/", "/admin*"] } }] }]
`;
    // /other is refused by the ALLOW filter, after the rate limit: it takes tokens
    const m = mesh(placed('envoy.filters.http.rbac', 'INSERT_AFTER'), denyAdmin, allowSome);
    const k = new Kernel({ seed: 3 });
    const world = new World(k, m, { facts: () => ({ serviceTimeMs: 0.1, concurrency: 64, queue: 1000 }), proxyOverheadMs: 0.5, base: {}, controls: new MeshControls(m, () => 0.5) });
    const out: (number | null)[] = [];
    ['/other', '/other', '/', '/', '/'].forEach((p, i) => k.at(i, () => world.send({ req: request(m, { from: 'a/client', to: 'api:80', path: p }), pick: () => 0 }, (o) => { out[i] = o.status; })));
    k.run(60_000);
    expect(out).toEqual([403, 403, 429, 429, 429]);
  });

  it('a CUSTOM policy brings an RBAC filter of its own ahead of ext_authz: INSERT_BEFORE rbac lands at the front', () => {
    const custom = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext, namespace: a }
spec:
  selector: { matchLabels: { app: api } }
  action: CUSTOM
  provider: { name: opa }
  rules: [{ to: [{ operation: { paths: ["/never"] } }] }]
`;
    const cfg = `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    extensionProviders:
    - name: opa
      envoyExtAuthzHttp: { service: opa.a.svc.cluster.local, port: 8000 }
`;
    expect(run(mesh(ns('istio-system', false), cfg, placed('envoy.filters.http.rbac'), custom))).toEqual([200, 200, 429, 429, 429]);
  });

  it('relative to a filter the chain does not have, or after the router, it is not inserted at all', () => {
    // no RequestAuthentication selects api: no jwt_authn filter to insert before
    expect(run(mesh(placed('envoy.filters.http.jwt_authn'), denyAdmin))).toEqual([403, 403, 200, 200, 200]);
    expect(run(mesh(placed('envoy.filters.http.router', 'INSERT_AFTER'), denyAdmin))).toEqual([403, 403, 200, 200, 200]);
  });
});
