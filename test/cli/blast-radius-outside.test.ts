/**
 * `blast-radius --from outside` dials every Service and pod port bare: no
 * Host header, no SNI. What an ingress Gateway routes by host is not explored,
 * so "reaches nothing" could read as "the gateway lets nothing in": a note on
 * stderr names the hosts left out and the command that decides one.
 */
import { describe, expect, it } from 'vitest';
import { cli } from './harness.js';

describe('blast-radius from outside, beside an ingress gateway', () => {
  it('names the hosts the exposed Gateways route (not an egress gateway\'s), and request as the way to decide one', async () => {
    const r = await cli('blast-radius', '--mesh', 'scenarios/meshes/payments', '--from', 'outside');
    expect(r.code).toBe(0);
    expect(r.err).toContain('note: from outside, each Service and pod port is dialled bare (no Host header, no SNI): what the Gateways route by host (shop.example.com) is not explored here');
    expect(r.err).toContain('meshrange request --from outside --to <gateway Service>:<port> --header host:<host>');
    // the egress gateway's host is no way in
    expect(r.err).not.toContain('stripe');
  });

  it('no note without outside among the footholds', async () => {
    const r = await cli('blast-radius', '--mesh', 'scenarios/meshes/payments', '--from', 'shop/web');
    expect(r.err).not.toContain('note: from outside');
  });
});
