/**
 * istio-semantics §10/§14: the local rate limit EnvoyFilter of the istio.io
 * "Enabling Rate Limits using Envoy" task is read into a LocalRateLimit;
 * every other patch is reported as not modeled; configs Istio or Envoy would
 * reject are located errors.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { readEnvoyFilter, type EnvoyFilterRead } from '../../src/loader/envoy-filter.js';
import { Reader, type Obj } from '../../src/loader/reader.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import type { ObjectMeta } from '../../src/model/types.js';
import { effectiveRateLimit, localRateLimitDecision, TokenBucket } from '../../src/sim/mesh/rate-limiter.js';

function read(text: string): EnvoyFilterRead & { issues: IssueList } {
  const issues = new IssueList();
  const [doc] = parseYaml('ef.yaml', text, issues);
  if (!doc) throw new Error(`no document: ${issues.items.map((i) => i.message).join('; ')}`);
  const obj = doc.value as Obj;
  const md = obj['metadata'] as { name: string; namespace?: string };
  const namespace = md.namespace ?? 'default';
  const meta: ObjectMeta = { name: md.name, namespace, labels: {}, annotations: {}, order: 0, loc: doc.locate([]) };
  const res = readEnvoyFilter(new Reader(doc, issues, `EnvoyFilter ${namespace}/${md.name}`), meta, obj);
  return { ...res, issues };
}

/** `severity:code@line` of every issue */
function found(r: { issues: IssueList }): string[] {
  return r.issues.items.map((i) => `${i.severity}:${i.code}@${i.loc?.line ?? '?'}`);
}

/** The task's EnvoyFilter (HCM-level bucket): productpage, 4 tokens per 60 s, enabled/enforced 100%. */
const TASK = `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: filter-local-ratelimit-svc
  namespace: istio-system
spec:
  workloadSelector:
    labels:
      app: productpage
  configPatches:
    - applyTo: HTTP_FILTER
      match:
        context: SIDECAR_INBOUND
        listener:
          filterChain:
            filter:
              name: "envoy.filters.network.http_connection_manager"
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.local_ratelimit
          typed_config:
            "@type": type.googleapis.com/udpa.type.v1.TypedStruct
            type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
            value:
              stat_prefix: http_local_rate_limiter
              token_bucket:
                max_tokens: 4
                tokens_per_fill: 4
                fill_interval: 60s
              filter_enabled:
                runtime_key: local_rate_limit_enabled
                default_value:
                  numerator: 100
                  denominator: HUNDRED
              filter_enforced:
                runtime_key: local_rate_limit_enforced
                default_value:
                  numerator: 100
                  denominator: HUNDRED
              response_headers_to_add:
                - append_action: APPEND_IF_EXISTS_OR_ADD
                  header:
                    key: x-local-rate-limit
                    value: 'true'
`;

/** The task's per-route variant: no bucket at the HCM, the limit on vhost inbound|http|9080. */
const TASK_PER_ROUTE = `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: filter-local-ratelimit-svc
  namespace: istio-system
spec:
  workloadSelector:
    labels:
      app: productpage
  configPatches:
    - applyTo: HTTP_FILTER
      match:
        context: SIDECAR_INBOUND
        listener:
          filterChain:
            filter:
              name: "envoy.filters.network.http_connection_manager"
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.local_ratelimit
          typed_config:
            "@type": type.googleapis.com/udpa.type.v1.TypedStruct
            type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
            value:
              stat_prefix: http_local_rate_limiter
    - applyTo: HTTP_ROUTE
      match:
        context: SIDECAR_INBOUND
        routeConfiguration:
          vhost:
            name: "inbound|http|9080"
            route:
              action: ANY
      patch:
        operation: MERGE
        value:
          typed_per_filter_config:
            envoy.filters.http.local_ratelimit:
              "@type": type.googleapis.com/udpa.type.v1.TypedStruct
              type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
              value:
                stat_prefix: http_local_rate_limiter
                token_bucket:
                  max_tokens: 4
                  tokens_per_fill: 4
                  fill_interval: 60s
                filter_enabled:
                  runtime_key: local_rate_limit_enabled
                  default_value:
                    numerator: 100
                    denominator: HUNDRED
                filter_enforced:
                  runtime_key: local_rate_limit_enforced
                  default_value:
                    numerator: 100
                    denominator: HUNDRED
                response_headers_to_add:
                  - append_action: APPEND_IF_EXISTS_OR_ADD
                    header:
                      key: x-local-rate-limit
                      value: 'true'
`;

/** An EnvoyFilter with one HTTP_FILTER patch whose LocalRateLimit `value` body is given. */
function ef(valueBody: string, extra = ''): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: rl, namespace: bookinfo }
spec:
  configPatches:
    - applyTo: HTTP_FILTER
      match:
        context: SIDECAR_INBOUND
        listener:
          filterChain:
            filter:
              name: envoy.filters.network.http_connection_manager
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.local_ratelimit
          typed_config:
            "@type": type.googleapis.com/udpa.type.v1.TypedStruct
            type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
            value:
${valueBody}${extra}`;
}

const BUCKET = `              stat_prefix: rl
              token_bucket: { max_tokens: 4, tokens_per_fill: 4, fill_interval: 60s }
`;

describe('§10 the task EnvoyFilter', () => {
  it('§10 the task filter reads as: productpage inbound, 4 tokens / 60 s, enabled and enforced 100%, x-local-rate-limit: true', () => {
    const r = read(TASK);
    expect(r.issues.items).toEqual([]);
    expect(r.notModeled).toEqual([]);
    expect(r.rateLimits).toHaveLength(1);
    const [rl] = r.rateLimits;
    expect(rl).toMatchObject({
      workloadSelector: { app: 'productpage' },
      context: 'SIDECAR_INBOUND',
      position: 'front',
      relativeTo: null,
      statPrefix: 'http_local_rate_limiter',
      bucket: { maxTokens: 4, tokensPerFill: 4, fillIntervalMs: 60_000 },
      filterEnabledPercent: 100,
      filterEnforcedPercent: 100,
      status: 429,
      responseHeaders: { 'x-local-rate-limit': 'true' },
    });
    expect(rl?.perRoute).toBeUndefined();
  });

  it('§10 task numbers through the simulator: requests 1–4 get 200, the 5th 429', () => {
    const rl = read(TASK).rateLimits[0];
    if (!rl?.bucket) throw new Error('no bucket');
    const bucket = new TokenBucket(rl.bucket);
    const rand = (): number => 0.5;
    expect([1, 2, 3, 4, 5].map((i) => localRateLimitDecision(rl, bucket, i * 100, rand).status ?? 200)).toEqual([200, 200, 200, 200, 429]);
  });

  it('§10 per-route task variant: no bucket at the filter, the bucket on vhost inbound|http|9080', () => {
    const r = read(TASK_PER_ROUTE);
    expect(r.issues.errors).toEqual([]);
    expect(r.notModeled).toEqual([]);
    const [rl] = r.rateLimits;
    expect(rl?.bucket).toBeNull();
    expect(rl?.filterEnabledPercent).toBe(0);
    expect(rl?.perRoute).toMatchObject({
      level: 'HTTP_ROUTE', vhost: 'inbound|http|9080', patchIndex: 1,
      bucket: { maxTokens: 4, tokensPerFill: 4, fillIntervalMs: 60_000 },
      filterEnabledPercent: 100, filterEnforcedPercent: 100, responseHeaders: { 'x-local-rate-limit': 'true' },
    });
    if (!rl) throw new Error('no rate limit');
    const eff = effectiveRateLimit(rl, { vhost: 'inbound|http|9080' });
    const bucket = eff.settings.bucket ? new TokenBucket(eff.settings.bucket) : null;
    expect([1, 2, 3, 4, 5].map(() => localRateLimitDecision(eff.settings, bucket, 0, () => 0).status ?? 200)).toEqual([200, 200, 200, 200, 429]);
    const other = effectiveRateLimit(rl, { vhost: 'inbound|http|8080' });
    expect(localRateLimitDecision(other.settings, null, 0, () => 0).limited).toBe(false);
  });

  it('§10 the direct @type form reads the same', () => {
    const r = read(`apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: filter-local-ratelimit-svc, namespace: istio-system }
spec:
  workloadSelector: { labels: { app: productpage } }
  configPatches:
    - applyTo: HTTP_FILTER
      match:
        context: SIDECAR_INBOUND
        listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } }
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.local_ratelimit
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
            stat_prefix: http_local_rate_limiter
            token_bucket: { max_tokens: 4, tokens_per_fill: 4, fill_interval: 60s }
            filter_enabled: { runtime_key: local_rate_limit_enabled, default_value: { numerator: 100, denominator: HUNDRED } }
            filter_enforced: { runtime_key: local_rate_limit_enforced, default_value: { numerator: 100, denominator: HUNDRED } }
            response_headers_to_add:
              - append_action: OVERWRITE_IF_EXISTS_OR_ADD
                header: { key: x-local-rate-limit, value: 'true' }
`);
    expect(r.issues.items).toEqual([]);
    expect(r.rateLimits[0]).toMatchObject({
      bucket: { maxTokens: 4, tokensPerFill: 4, fillIntervalMs: 60_000 }, filterEnabledPercent: 100, filterEnforcedPercent: 100,
      responseHeaders: { 'x-local-rate-limit': 'true' },
    });
  });
});

describe('§10 rate limit settings', () => {
  it('§10 filter_enabled / filter_enforced absent read as 0% (disabled / only counted)', () => {
    const [rl] = read(ef(BUCKET)).rateLimits;
    expect(rl?.filterEnabledPercent).toBe(0);
    expect(rl?.filterEnforcedPercent).toBe(0);
  });

  it('§10 denominators TEN_THOUSAND and MILLION scale the numerator', () => {
    const [rl] = read(ef(`${BUCKET}              filter_enabled: { default_value: { numerator: 2500, denominator: TEN_THOUSAND } }
              filter_enforced: { default_value: { numerator: 500000, denominator: MILLION } }
`)).rateLimits;
    expect(rl?.filterEnabledPercent).toBe(25);
    expect(rl?.filterEnforcedPercent).toBe(50);
  });

  it('§10 tokens_per_fill defaults to 1; camelCase field names are accepted', () => {
    const [rl] = read(ef(`              statPrefix: rl
              tokenBucket: { maxTokens: 2, fillInterval: 0.5s }
              filterEnabled: { defaultValue: { numerator: 100 } }
`)).rateLimits;
    expect(rl?.bucket).toEqual({ maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 500 });
    expect(rl?.filterEnabledPercent).toBe(100);
  });

  it('§10 status.code sets the rejection status; below 400 Envoy uses 429', () => {
    expect(read(ef(`${BUCKET}              status: { code: 503 }
`)).rateLimits[0]?.status).toBe(503);
    expect(read(ef(`${BUCKET}              status: { code: 200 }
`)).rateLimits[0]?.status).toBe(429);
    expect(read(ef(`${BUCKET}              status: { code: ServiceUnavailable }
`)).rateLimits[0]?.status).toBe(503);
  });

  it('a status name that is a JavaScript Object property (constructor, toString) is not an Envoy StatusCode: ef-bad-status, never a function as the status', () => {
    for (const name of ['constructor', 'toString', '__proto__']) {
      const r = read(ef(`${BUCKET}              status: { code: ${name} }
`));
      expect(found(r).map((x) => x.replace(/@.*/, ''))).toEqual(['error:ef-bad-status']);
    }
  });

  it('§10 a numerator above its denominator is 100% with a warning', () => {
    const r = read(ef(`${BUCKET}              filter_enabled: { default_value: { numerator: 150 } }
`));
    expect(r.rateLimits[0]?.filterEnabledPercent).toBe(100);
    expect(found(r)).toEqual(['warning:ef-percent-over-100@23']);
  });

  it('§10 local_rate_limit_per_downstream_connection is kept; unmodeled fields are warnings', () => {
    const r = read(ef(`${BUCKET}              local_rate_limit_per_downstream_connection: true
              descriptors: []
`));
    expect(r.rateLimits[0]?.perDownstreamConnection).toBe(true);
    expect(found(r)).toEqual(['warning:ef-field-not-modeled@24']);
  });

  it('§3 placement: context omitted is ANY; INSERT_BEFORE the router sits after RBAC; INSERT_FIRST at the front', () => {
    const text = ef(BUCKET).replace('        context: SIDECAR_INBOUND\n', '').replace(
      '              name: envoy.filters.network.http_connection_manager\n',
      '              name: envoy.filters.network.http_connection_manager\n              subFilter: { name: envoy.filters.http.router }\n');
    const [rl] = read(text).rateLimits;
    expect(rl).toMatchObject({ context: 'ANY', position: 'before', relativeTo: 'envoy.filters.http.router' });
    expect(read(ef(BUCKET).replace('INSERT_BEFORE', 'INSERT_FIRST')).rateLimits[0]?.position).toBe('front');
    expect(read(ef(BUCKET).replace('INSERT_BEFORE', 'ADD')).rateLimits[0]?.position).toBe('end');
  });

  it('§10 listener.portNumber and spec.priority are kept', () => {
    const text = ef(BUCKET).replace('        listener:\n', '        listener:\n          portNumber: 9080\n').replace('spec:\n', 'spec:\n  priority: -1\n');
    expect(read(text).rateLimits[0]).toMatchObject({ portNumber: 9080, priority: -1 });
  });
});

describe('§10 patches that are not modeled', () => {
  it('§10 every other patch is listed as not modeled', () => {
    const r = read(`${TASK}    - applyTo: CLUSTER
      match: { context: SIDECAR_OUTBOUND, cluster: { service: reviews.default.svc.cluster.local } }
      patch: { operation: MERGE, value: { connect_timeout: 1s } }
    - applyTo: HTTP_FILTER
      match: { context: SIDECAR_INBOUND }
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.lua
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
            inlineCode: "function envoy_on_request(h) end"
    - applyTo: HTTP_FILTER
      patch: { operation: REMOVE }
`);
    expect(r.issues.errors).toEqual([]);
    expect(r.rateLimits).toHaveLength(1);
    expect(r.notModeled).toEqual([
      'patch 1 (applyTo CLUSTER, operation MERGE)',
      'patch 2 (applyTo HTTP_FILTER, operation INSERT_BEFORE)',
      'patch 3 (applyTo HTTP_FILTER, operation REMOVE)',
    ]);
  });

  it('§10 a route MERGE carrying another filter\'s per-route config is one not-modeled patch', () => {
    const r = read(`${TASK}    - applyTo: HTTP_ROUTE
      match: { context: SIDECAR_INBOUND, routeConfiguration: { vhost: { name: "inbound|http|9080" } } }
      patch:
        operation: MERGE
        value:
          typed_per_filter_config:
            envoy.filters.http.cors:
              "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
`);
    expect(r.notModeled).toEqual(['patch 1 (applyTo HTTP_ROUTE, operation MERGE)']);
    expect(r.rateLimits[0]?.perRoute).toBeUndefined();
  });

  it('§10 a per-route config without an HTTP_FILTER patch in the same EnvoyFilter is not modeled', () => {
    const perRouteOnly = TASK_PER_ROUTE.replace(/ {4}- applyTo: HTTP_FILTER[\s\S]*?(?= {4}- applyTo: HTTP_ROUTE)/, '');
    const r = read(perRouteOnly);
    expect(r.rateLimits).toEqual([]);
    expect(r.notModeled).toEqual(['patch 0 (per-route local rate limit without an HTTP_FILTER patch inserting envoy.filters.http.local_ratelimit in this EnvoyFilter)']);
  });

  it('§10 targetRefs (gateways, waypoints) are not modeled', () => {
    const r = read(TASK.replace('  workloadSelector:\n    labels:\n      app: productpage\n', '  targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: gw }]\n'));
    expect(r.rateLimits).toEqual([]);
    expect(r.notModeled).toEqual(['spec.targetRefs (attachment to gateways and waypoints)']);
  });
});

describe('§14 EnvoyFilter validation', () => {
  it('§14 max_tokens 0 is rejected (ef-bad-bucket)', () => {
    const r = read(ef(`              stat_prefix: rl
              token_bucket: { max_tokens: 0, fill_interval: 60s }
`));
    expect(r.rateLimits).toEqual([]);
    expect(found(r)).toEqual(['error:ef-bad-bucket@22']);
  });

  it('§14 fill_interval must be a seconds duration of at least 50ms (ef-bad-interval)', () => {
    const bad = (fi: string): string[] => found(read(ef(`              stat_prefix: rl
              token_bucket: { max_tokens: 4, fill_interval: ${fi} }
`)));
    expect(bad('1m')).toEqual(['error:ef-bad-interval@22']);
    expect(bad('0.01s')).toEqual(['error:ef-bad-interval@22']);
    expect(bad('60')).toEqual(['error:ef-bad-interval@22']);
    expect(found(read(ef(`              stat_prefix: rl
              token_bucket: { max_tokens: 4 }
`)))).toEqual(['error:ef-bad-interval@22']);
  });

  it('§14 a bad denominator or a negative numerator is rejected (ef-bad-percent)', () => {
    expect(found(read(ef(`${BUCKET}              filter_enabled: { default_value: { numerator: 100, denominator: THOUSAND } }
`)))).toEqual(['error:ef-bad-percent@23']);
    expect(found(read(ef(`${BUCKET}              filter_enforced: { default_value: { numerator: -1 } }
`)))).toEqual(['error:ef-bad-percent@23']);
    expect(found(read(ef(`${BUCKET}              filter_enforced: { runtime_key: x }
`)))).toEqual(['error:ef-bad-percent@23']);
  });

  it('§14 stat_prefix is required', () => {
    const r = read(ef(`              token_bucket: { max_tokens: 4, fill_interval: 60s }
`));
    expect(found(r)).toEqual(['error:ef-missing-stat-prefix@20']);
  });

  it('§14 a per-route config without a token_bucket is rejected', () => {
    const text = TASK_PER_ROUTE.replace(/ {16}token_bucket:\n(?: {18}.*\n){3}/, '');
    const r = read(text);
    expect(found(r)).toEqual(['error:ef-per-route-needs-bucket@42']);
    expect(r.rateLimits[0]?.perRoute).toBeUndefined();
  });

  it('§14 the webhook\'s structural checks: applyTo, patch, operation, value', () => {
    const r = read(`apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: bad, namespace: default }
spec:
  configPatches:
    - patch: { operation: MERGE, value: {} }
    - applyTo: HTTP_FILTER
    - applyTo: HTTP_FILTER
      patch: { value: {} }
    - applyTo: HTTP_FILTER
      patch: { operation: ADD }
    - applyTo: NOT_A_THING
      patch: { operation: ADD, value: {} }
    -
`);
    expect(found(r)).toEqual([
      'error:ef-missing-apply-to@6',
      'error:ef-missing-patch@7',
      'error:ef-missing-operation@9',
      'error:ef-missing-value@11',
      'error:bad-enum@12',
      'error:ef-null-patch@14',
    ]);
  });

  it('§14 workloadSelector with targetRefs, a subFilter without the HCM, a bad proxyVersion regex', () => {
    const both = read(TASK.replace('  configPatches:\n', '  targetRefs: [{ kind: Gateway, name: gw }]\n  configPatches:\n'));
    expect(found(both)).toEqual(['error:ef-selector-and-targetref@10']);
    const sub = read(ef(BUCKET).replace('name: envoy.filters.network.http_connection_manager\n',
      'name: envoy.filters.network.tcp_proxy\n              subFilter: { name: envoy.filters.http.router }\n'));
    expect(found(sub)).toEqual(['error:ef-subfilter-match@12']);
    const version = read(ef(BUCKET).replace('        context: SIDECAR_INBOUND\n', '        context: SIDECAR_INBOUND\n        proxy: { proxyVersion: "(" }\n'));
    expect(found(version)).toEqual(['error:ef-bad-proxy-version@9']);
  });

  it('§14 a workloadSelector without labels applies to the whole namespace (warning)', () => {
    const r = read(TASK.replace('  workloadSelector:\n    labels:\n      app: productpage\n', '  workloadSelector: {}\n'));
    expect(found(r)).toEqual(['warning:ef-selector-without-labels@7']);
    expect(r.rateLimits[0]?.workloadSelector).toBeNull();
  });

  it('§14 misspelt fields are unknown-field errors', () => {
    const r = read(TASK.replace('  configPatches:', '  configPatchez: []\n  configPatches:'));
    expect(found(r)).toEqual(['error:unknown-field@10']);
  });
});

describe('§10 per-route overrides are matched or warned about, never silently dropped', () => {
  it('the task\'s vhost inbound|http|9080 with route action ANY is a name requests meet: no warning', () => {
    expect(read(TASK_PER_ROUTE).issues.warnings.filter((w) => w.code === 'ef-per-route-unmatched')).toEqual([]);
  });

  it('a vhost name that is neither inbound|http|<port> nor <host>:<port> is a located warning: no request meets it', () => {
    const text = TASK_PER_ROUTE.replace('name: "inbound|http|9080"', 'name: "productpage-vhost"');
    const w = read(text).issues.warnings.find((x) => x.code === 'ef-per-route-unmatched');
    expect(w?.loc?.line).toBe(text.split('\n').findIndex((l) => l.includes('productpage-vhost')) + 1);
  });

  it('a route name other than default is a warning: VirtualService route names are not modeled', () => {
    const text = TASK_PER_ROUTE.replace('route:\n              action: ANY', 'route:\n              name: checkout');
    expect(read(text).issues.warnings.map((x) => x.code)).toContain('ef-per-route-unmatched');
  });
});

describe('§3 a rate limit placed after the router', () => {
  it('INSERT_AFTER the router, or appended (ADD), is said never to apply: the router ends the chain', () => {
    const after = read(TASK.replace('operation: INSERT_BEFORE', 'operation: INSERT_AFTER')
      .replace('name: "envoy.filters.network.http_connection_manager"', 'name: "envoy.filters.network.http_connection_manager"\n              subFilter: { name: envoy.filters.http.router }'));
    expect(after.issues.warnings.map((w) => w.code)).toContain('ef-never-applies');
    expect(after.issues.warnings.find((w) => w.code === 'ef-never-applies')?.message).toContain('after the router');
    expect(read(TASK.replace('operation: INSERT_BEFORE', 'operation: ADD')).issues.warnings.map((w) => w.code)).toContain('ef-never-applies');
    // before the router: fine
    expect(read(TASK.replace('name: "envoy.filters.network.http_connection_manager"', 'name: "envoy.filters.network.http_connection_manager"\n              subFilter: { name: envoy.filters.http.router }')).issues.warnings.map((w) => w.code)).not.toContain('ef-never-applies');
  });
});

describe('§10 a GATEWAY rate limit', () => {
  it('is said not to be simulated on what the gateway forwards (warning at match.context), not dropped silently', () => {
    const r = read(TASK.replace('context: SIDECAR_INBOUND', 'context: GATEWAY'));
    expect(r.issues.warnings.map((w) => w.code)).toContain('ef-gateway-not-simulated');
  });
});
