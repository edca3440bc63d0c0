/**
 * `meshrange request` through an ingress gateway: the summary's TLS and
 * authorization lines are the last hop's (gateway → the workload that
 * answered), and say so — the client's own leg was TLS to the gateway, and
 * the gateway's policies are in the trace.
 */
import { describe, expect, it } from 'vitest';
import { cli } from './harness.js';

describe('request through an ingress gateway', () => {
  it('the verdict line names the hop its mutual TLS is, and the authorization line the workload it is at', async () => {
    const r = await cli('request', '--mesh', 'scenarios/meshes/payments', '--from', 'outside', '--to', 'istio-ingressgateway.istio-system:443',
      '--sni', 'shop.example.com', '--header', 'host:shop.example.com', '--path', '/');
    expect(r.code).toBe(0);
    expect(r.out).toContain('verdict: ALLOWED 200, mutual TLS (the last hop: istio-system/istio-ingressgateway → shop/web)');
    expect(r.out).toContain('authorization at shop/web: ');
  });

  it('a request with no gateway on its way keeps the plain lines', async () => {
    const r = await cli('request', '--mesh', 'scenarios/meshes/bookinfo', '--from', 'bookinfo/productpage-v1', '--to', 'details:9080');
    expect(r.out).toMatch(/^verdict: ALLOWED 200, mutual TLS$/m);
    expect(r.out).not.toContain('the last hop');
  });
});
