/**
 * istio-semantics §10: Envoy's HTTP local rate limit filter as the
 * "Enabling Rate Limits using Envoy" task configures it.
 */
import { describe, expect, it } from 'vitest';
import type { LocalRateLimit, PerRouteRateLimit, TokenBucketSpec } from '../../../src/model/envoy-filter.js';
import type { ObjectMeta } from '../../../src/model/types.js';
import { effectiveRateLimit, localRateLimitDecision, rateLimitsFor, TokenBucket } from '../../../src/sim/mesh/rate-limiter.js';

const TASK_BUCKET: TokenBucketSpec = { maxTokens: 4, tokensPerFill: 4, fillIntervalMs: 60_000 };

function meta(namespace: string, name: string, order = 0): ObjectMeta {
  return { name, namespace, labels: {}, annotations: {}, order, loc: { file: 'f.yaml', line: 1, col: 1 } };
}

/** The task's filter: productpage, 4 tokens / 60 s, enabled and enforced 100%, x-local-rate-limit: true. */
function taskLimit(over: Partial<LocalRateLimit> = {}): LocalRateLimit {
  return {
    meta: meta('istio-system', 'filter-local-ratelimit-svc'),
    workloadSelector: { app: 'productpage' },
    context: 'SIDECAR_INBOUND',
    priority: 0,
    patchIndex: 0,
    position: 'front',
    relativeTo: null,
    statPrefix: 'http_local_rate_limiter',
    bucket: TASK_BUCKET,
    filterEnabledPercent: 100,
    filterEnforcedPercent: 100,
    status: 429,
    responseHeaders: { 'x-local-rate-limit': 'true' },
    ...over,
  };
}

const never = (): number => { throw new Error('no random number should be drawn'); };

describe('§10 token bucket', () => {
  it('§10 the bucket starts full: 4 tokens / 60s → requests 1–4 pass, the 5th gets 429', () => {
    const rl = taskLimit();
    const bucket = new TokenBucket(TASK_BUCKET);
    const codes = [0, 10, 20, 30, 40].map((t) => localRateLimitDecision(rl, bucket, t, never).status ?? 200);
    expect(codes).toEqual([200, 200, 200, 200, 429]);
  });

  it('§10 the bucket refills tokens_per_fill every fill_interval, capped at max_tokens', () => {
    const b = new TokenBucket({ maxTokens: 4, tokensPerFill: 2, fillIntervalMs: 60_000 });
    for (let i = 0; i < 4; i++) expect(b.take(1000)).toBe(true);
    expect(b.take(1000)).toBe(false);
    expect(b.tokens(59_999)).toBe(0);
    expect(b.tokens(60_000)).toBe(2);
    expect(b.tokens(120_000)).toBe(4);
    expect(b.tokens(600_000)).toBe(4);
  });

  it('§10 fills happen on interval boundaries counted from the start, not from the last request', () => {
    const b = new TokenBucket({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 });
    expect(b.take(59_000)).toBe(true);
    // 1 s later the timer fires: the token is back although only 1 s passed since the request
    expect(b.take(60_000)).toBe(true);
    expect(b.take(119_999)).toBe(false);
    expect(b.take(120_000)).toBe(true);
  });

  it('§10 a bucket created later fills one interval after its own start', () => {
    const b = new TokenBucket({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 }, { startMs: 500 });
    expect(b.take(600)).toBe(true);
    expect(b.take(1400)).toBe(false);
    expect(b.take(1500)).toBe(true);
  });

  it('§10 continuous refill (Envoy ≥ 1.31 AtomicTokenBucket): tokens trickle in at tokens_per_fill / fill_interval', () => {
    const b = new TokenBucket(TASK_BUCKET, { refill: 'continuous' });
    for (let i = 0; i < 4; i++) expect(b.take(0)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.take(14_999)).toBe(false); // 0.99 token
    expect(b.take(15_000)).toBe(true); // 4 per 60 s = 1 per 15 s
    expect(b.tokens(600_000)).toBe(4);
  });
});

describe('§10 filter_enabled / filter_enforced', () => {
  it('§10 filter_enabled absent: the filter is disabled', () => {
    const rl = taskLimit({ filterEnabledPercent: 0 });
    const bucket = new TokenBucket(TASK_BUCKET);
    for (let i = 0; i < 10; i++) expect(localRateLimitDecision(rl, bucket, 0, never)).toEqual({ limited: false, enforced: false });
    expect(bucket.tokens(0)).toBe(4); // a disabled filter takes no token
  });

  it('§10 filter_enforced absent: limited requests are only counted', () => {
    const rl = taskLimit({ filterEnforcedPercent: 0 });
    const bucket = new TokenBucket(TASK_BUCKET);
    const d = [1, 2, 3, 4, 5].map(() => localRateLimitDecision(rl, bucket, 0, never));
    expect(d.map((x) => x.limited)).toEqual([false, false, false, false, true]);
    expect(d[4]).toEqual({ limited: true, enforced: false });
  });

  it('§10 a limited request gets 429 local_rate_limited with x-local-rate-limit: true', () => {
    const rl = taskLimit({ bucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 } });
    const bucket = new TokenBucket({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 });
    localRateLimitDecision(rl, bucket, 0, never);
    expect(localRateLimitDecision(rl, bucket, 1, never)).toEqual({
      limited: true, enforced: true, status: 429, headers: { 'x-local-rate-limit': 'true' }, body: 'local_rate_limited', flag: 'RL',
    });
  });

  it('§10 the status is configurable', () => {
    const spec = { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 };
    const rl = taskLimit({ bucket: spec, status: 503, responseHeaders: {} });
    const bucket = new TokenBucket(spec);
    localRateLimitDecision(rl, bucket, 0, never);
    expect(localRateLimitDecision(rl, bucket, 0, never).status).toBe(503);
  });

  it('§10 filter_enabled 50%: a request is checked when the draw falls under it', () => {
    const rl = taskLimit({ filterEnabledPercent: 50, bucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 } });
    const bucket = new TokenBucket({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 });
    const draws = [0.4, 0.6, 0.49];
    const rand = (): number => draws.shift() as number;
    expect(localRateLimitDecision(rl, bucket, 0, rand)).toEqual({ limited: false, enforced: false }); // checked, took the token
    expect(localRateLimitDecision(rl, bucket, 0, rand)).toEqual({ limited: false, enforced: false }); // not checked
    expect(localRateLimitDecision(rl, bucket, 0, rand).status).toBe(429); // checked, empty
  });

  it('§10 filter_enforced 25%: only a quarter of the limited requests are rejected', () => {
    const spec = { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 };
    const rl = taskLimit({ filterEnforcedPercent: 25, bucket: spec });
    const bucket = new TokenBucket(spec);
    localRateLimitDecision(rl, bucket, 0, never);
    const draws = [0.1, 0.3];
    const rand = (): number => draws.shift() as number;
    expect(localRateLimitDecision(rl, bucket, 0, rand).enforced).toBe(true);
    expect(localRateLimitDecision(rl, bucket, 0, rand)).toEqual({ limited: true, enforced: false });
  });
});

describe('§10 per-route variant', () => {
  const perRoute: PerRouteRateLimit = {
    level: 'HTTP_ROUTE', vhost: 'inbound|http|9080', patchIndex: 1, bucket: TASK_BUCKET,
    filterEnabledPercent: 100, filterEnforcedPercent: 100, status: 429, responseHeaders: { 'x-local-rate-limit': 'true' },
  };
  const rl = taskLimit({ bucket: null, filterEnabledPercent: 0, filterEnforcedPercent: 0, responseHeaders: {}, perRoute });

  it('§10 the per-route config (with its own bucket) applies on its virtual host', () => {
    const eff = effectiveRateLimit(rl, { vhost: 'inbound|http|9080' });
    expect(eff.perRoute).toBe(perRoute);
    const bucket = new TokenBucket(perRoute.bucket);
    const codes = [1, 2, 3, 4, 5].map(() => localRateLimitDecision(eff.settings, bucket, 0, never).status ?? 200);
    expect(codes).toEqual([200, 200, 200, 200, 429]);
  });

  it('§10 no bucket at the filter level and no per-route match: nothing is limited', () => {
    const eff = effectiveRateLimit(rl, { vhost: 'inbound|http|8080' });
    expect(eff.perRoute).toBeNull();
    expect(eff.settings.bucket).toBeNull();
    for (let i = 0; i < 10; i++) expect(localRateLimitDecision(eff.settings, null, 0, never).limited).toBe(false);
    const enabledNoBucket = taskLimit({ bucket: null });
    expect(localRateLimitDecision(enabledNoBucket, null, 0, never).limited).toBe(false);
  });

  it('§10 the filter level and the route level keep separate buckets', () => {
    expect(effectiveRateLimit(rl, { vhost: 'inbound|http|9080' }).bucketKey).not.toBe(effectiveRateLimit(rl, {}).bucketKey);
  });
});

describe('§10 which proxies a local rate limit applies to', () => {
  const pp = { labels: { app: 'productpage' }, namespace: 'default', rootNamespace: 'istio-system' };
  const reviews = { labels: { app: 'reviews' }, namespace: 'default', rootNamespace: 'istio-system' };

  it('§10 a root-namespace filter with a workloadSelector selects pods in every namespace', () => {
    const rl = taskLimit();
    expect(rateLimitsFor([rl], pp, 'inbound')).toEqual([rl]);
    expect(rateLimitsFor([rl], { ...pp, namespace: 'other' }, 'inbound')).toEqual([rl]);
    expect(rateLimitsFor([rl], reviews, 'inbound')).toEqual([]);
  });

  it('§10 a root-namespace filter without a selector applies mesh-wide', () => {
    const rl = taskLimit({ workloadSelector: null });
    expect(rateLimitsFor([rl], reviews, 'inbound')).toEqual([rl]);
  });

  it('§10 a filter of another (non-root) namespace never applies', () => {
    const rl = taskLimit({ meta: meta('bookinfo', 'rl'), workloadSelector: null });
    expect(rateLimitsFor([rl], pp, 'inbound')).toEqual([]);
    expect(rateLimitsFor([rl], { ...pp, namespace: 'bookinfo' }, 'inbound')).toEqual([rl]);
  });

  it('§10 SIDECAR_INBOUND limits inbound only; an omitted context (ANY) limits every listener', () => {
    const inbound = taskLimit();
    const any = taskLimit({ context: 'ANY', meta: meta('istio-system', 'any') });
    expect(rateLimitsFor([inbound, any], pp, 'outbound')).toEqual([any]);
    expect(rateLimitsFor([inbound, any], pp, 'gateway')).toEqual([any]);
    expect(rateLimitsFor([inbound], pp, 'inbound')).toEqual([inbound]);
  });

  it('§10 listener.portNumber restricts the filter to that port', () => {
    const rl = taskLimit({ portNumber: 9080 });
    expect(rateLimitsFor([rl], pp, 'inbound', 9080)).toEqual([rl]);
    expect(rateLimitsFor([rl], pp, 'inbound', 8080)).toEqual([]);
  });

  it('§3 filters inserted at the front run last-applied first; root-namespace ones are applied before namespace ones', () => {
    const root = taskLimit({ meta: meta('istio-system', 'root', 0) });
    const local = taskLimit({ meta: meta('default', 'local', 1) });
    const beforeRouter = taskLimit({ meta: meta('default', 'late', 2), position: 'before', relativeTo: 'envoy.filters.http.router' });
    expect(rateLimitsFor([beforeRouter, local, root], pp, 'inbound').map((r) => r.meta.name)).toEqual(['local', 'root', 'late']);
  });
});
