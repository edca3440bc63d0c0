/**
 * `meshrange request` when the Service it meets has several endpoints: a load
 * balancer spreads requests over all of them, so one decision is one of
 * several. The trace says which endpoint it follows; when the endpoints decide
 * differently (a DENY policy on one version, a sidecar missing on one pod),
 * the command says so and lists each endpoint's verdict — it never reports
 * one endpoint's verdict as the Service's.
 */
import { describe, expect, it } from 'vitest';
import { cli } from './harness.js';

const disagree = ['--mesh', 'scenarios/meshes/three-ns', '--mesh', 'test/fixtures/endpoints-disagree', '--from', 'frontend/web', '--to', 'api.backend:80'];

describe('request over a Service with several endpoints', () => {
  it('endpoints that decide differently are listed, each with its verdict and what stopped it', async () => {
    const r = await cli('request', ...disagree);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('endpoints disagree: requests are spread over 2 (load-balanced endpoints, gateway replicas, weighted routes), and 1 of the 2 verdicts decided let this request through');
    expect(r.out).toContain('  backend/api BLOCKED 403 by AuthorizationPolicy backend/deny-v1');
    expect(r.out).toContain('  backend/api-v2 ALLOWED 200');
    expect(r.out).toContain('Service backend/api has 2 endpoints; the load balancer spreads requests over them, and this decision follows one: backend/api');
  });

  it('JSON carries endpoints[] only when they disagree', async () => {
    const j = JSON.parse((await cli('request', ...disagree, '--format', 'json')).out) as { endpoints?: { workload: string; outcome: string }[] };
    expect(j.endpoints?.map((e) => [e.workload, e.outcome])).toEqual([['backend/api', 'blocked'], ['backend/api-v2', 'allowed']]);
    const same = JSON.parse((await cli('request', '--mesh', 'scenarios/meshes/bookinfo', '--from', 'bookinfo/productpage-v1', '--to', 'reviews:9080', '--format', 'json')).out) as Record<string, unknown>;
    expect(same['endpoints']).toBeUndefined();
  });

  it('a VirtualService splitting by weight between subsets that decide differently is listed too (each subset has one endpoint)', async () => {
    const j = JSON.parse((await cli('request', '--mesh', 'scenarios/meshes/three-ns', '--mesh', 'test/fixtures/endpoints-weighted', '--from', 'frontend/web', '--to', 'api.backend:80', '--format', 'json')).out) as { endpoints?: { workload: string; outcome: string }[] };
    expect(j.endpoints?.map((e) => [e.workload, e.outcome])).toEqual([['backend/api', 'blocked'], ['backend/api-v2', 'allowed']]);
  });

  it('behind an ingress gateway, the text names the replicas each verdict came through', async () => {
    const r = await cli('request', '--mesh', 'scenarios/meshes/three-ns', '--mesh', 'test/fixtures/endpoints-behind-gateway', '--ingress-gateway',
      '--from', 'outside', '--to', 'istio-ingressgateway.istio-system:80', '--header', 'host:api.example.com');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('  backend/api (via istio-system/istio-ingressgateway, istio-system/istio-ingressgateway-b) BLOCKED 403 by AuthorizationPolicy backend/deny-v1');
    expect(r.out).toContain('  backend/api-v2 (via istio-system/istio-ingressgateway, istio-system/istio-ingressgateway-b) ALLOWED 200');
  });

  it('a subset holding 0.1 % of a split is listed with its verdict', async () => {
    const j = JSON.parse((await cli('request', '--mesh', 'scenarios/meshes/three-ns', '--mesh', 'test/fixtures/endpoints-weighted-thin', '--from', 'frontend/web', '--to', 'api.backend:80', '--format', 'json')).out) as { endpoints?: { workload: string; outcome: string }[] };
    expect(j.endpoints?.map((e) => [e.workload, e.outcome])).toEqual([['backend/api-v2', 'allowed'], ['backend/api', 'blocked']]);
  });
});
