/**
 * Hundreds of mesh-wide RequestAuthentications (a stranger's manifest): a
 * request still gets Istio's answer (§7: no token passes jwt_authn, the
 * AuthorizationPolicy that requires a principal denies), and what the
 * decision says about them stays a few lines: 8 providers named and the
 * rest counted, 16 lines about single providers per pass, 8 policies named
 * in the denial's reason. Before, every request wrote a line per rule per
 * pass and the reason named every policy.
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, ns, send } from '../helpers.js';

const RULES = 300;

function meshWide(i: number): string {
  return `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: r${i}, namespace: istio-system }
spec:
  jwtRules: [{ issuer: "https://iss${i}.example.com", jwksUri: "https://iss${i}.example.com/jwks" }]
`;
}

const REQUIRE_PRINCIPAL = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: need-jwt, namespace: shop }
spec:
  selector: { matchLabels: { app: orders } }
  rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }]
`;

describe('§7 hundreds of mesh-wide RequestAuthentications', () => {
  const mesh = meshFrom(ns('istio-system', false), ns('shop', true), app('shop', 'orders'), app('shop', 'web'), REQUIRE_PRINCIPAL,
    ...Array.from({ length: RULES }, (_, i) => meshWide(i)));

  it('§7 a token-less request passes jwt_authn and is denied by the policy requiring a principal; the reason names 8 of 300 and counts the rest', () => {
    const d = send(mesh, { from: 'shop/web', to: 'orders.shop.svc.cluster.local:80' });
    expect(d.outcome).toBe('blocked');
    const stop = d.stoppedBy[0];
    expect(stop?.control).toBe('AuthorizationPolicy');
    expect(stop?.reason).toContain('RequestAuthentication istio-system/r0, istio-system/r1');
    expect(stop?.reason).toContain(`and ${RULES - 8} more lets a token-less request through`);
    expect(stop?.reason).not.toContain('istio-system/r8,');
  });

  it('§7 the trace about 300 providers is a few dozen lines: 8 named, 16 per pass, the rest counted', () => {
    const d = send(mesh, { from: 'shop/web', to: 'orders.shop.svc.cluster.local:80', headers: { authorization: 'Bearer not-a-jwt' } });
    expect(d.outcome).toBe('blocked');
    expect(d.stoppedBy[0]?.control).toBe('RequestAuthentication');
    const jwt = d.events.map((e) => e.what).filter((w) => w.includes('origins-') || w.includes('single providers'));
    expect(jwt.some((w) => w.startsWith('jwt_authn providers (sorted by issuer):') && w.endsWith(`; and ${RULES - 8} more`))).toBe(true);
    // the first pass runs all 300 (each rejects the token): 16 lines and one count; the second stops at the first
    expect(jwt.filter((w) => w === `(${RULES - 16} more lines about single providers not shown)`)).toHaveLength(1);
    expect(jwt.length).toBeLessThan(40);
  });
});
