/** Counterfactual meshes: taking one control out of a loaded mesh and re-deciding (product.md §3.2). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlKey, isRemovable, packetRank, withoutControls, type ControlRef } from '../../src/analysis/counterfactual.js';
import type { ControlKind } from '../../src/policy/pipeline.js';
import { app, dr, meshFrom, ns, pa, send } from '../helpers.js';

const allowApiOnly = (name: string, principal: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  action: ALLOW
  rules: [{ from: [{ source: { principals: ["${principal}"] } }] }]
`;

const base = [ns('a', true), ns('b', true), app('a', 'client'), app('b', 'server')];

describe('withoutControls', () => {
  it('removing the AuthorizationPolicy that denied a request lets it through, and leaves the loaded mesh as it was', () => {
    const mesh = meshFrom(...base, allowApiOnly('only-api', 'cluster.local/ns/b/sa/api'));
    const req = { from: 'a/client', to: 'server.b:80' };
    expect(send(mesh, req)).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'AuthorizationPolicy', name: 'b/only-api' }] });
    const without = withoutControls(mesh, [{ control: 'AuthorizationPolicy', name: 'b/only-api' }]);
    expect(send(without, req).outcome).toBe('allowed');
    expect(mesh.authorizationPolicies).toHaveLength(1);
    expect(send(mesh, req).outcome).toBe('blocked');
  });

  it('removing one of two ALLOW policies that select a workload still denies: the other one stays in force (§6.2)', () => {
    const mesh = meshFrom(...base, allowApiOnly('one', 'cluster.local/ns/b/sa/api'), allowApiOnly('two', 'cluster.local/ns/b/sa/other'));
    const req = { from: 'a/client', to: 'server.b:80' };
    const first = send(mesh, req).stoppedBy[0];
    expect(first?.control).toBe('AuthorizationPolicy');
    const d = send(withoutControls(mesh, [{ control: 'AuthorizationPolicy', name: first?.name ?? null }]), req);
    expect(d.outcome).toBe('blocked');
    expect(d.stoppedBy[0]?.name).not.toBe(first?.name);
    expect(send(withoutControls(mesh, [{ control: 'AuthorizationPolicy', name: 'b/one' }, { control: 'AuthorizationPolicy', name: 'b/two' }]), req).outcome).toBe('allowed');
  });

  it('removing a STRICT PeerAuthentication lets plaintext in (§4)', () => {
    const mesh = meshFrom(...base, pa('b', 'default', 'STRICT'));
    const req = { from: 'a/client', to: 'server.b:80', bypass: true, capabilities: ['root' as const] };
    expect(send(mesh, req).stoppedBy[0]).toMatchObject({ control: 'PeerAuthentication', name: 'b/default' });
    expect(send(withoutControls(mesh, [{ control: 'PeerAuthentication', name: 'b/default' }]), req).outcome).toBe('allowed');
  });

  it('removing a DestinationRule that sends plaintext into STRICT restores auto mTLS (§5.2)', () => {
    const mesh = meshFrom(...base, pa('b', 'default', 'STRICT'), dr('a', 'plain', 'server.b.svc.cluster.local', '{ mode: DISABLE }'));
    const req = { from: 'a/client', to: 'server.b:80' };
    expect(send(mesh, req).outcome).toBe('blocked');
    expect(send(withoutControls(mesh, [{ control: 'DestinationRule', name: 'a/plain' }]), req)).toMatchObject({ outcome: 'allowed', mtls: true });
  });

  it('EgressPolicy without a name is the mesh config: REGISTRY_ONLY becomes ALLOW_ANY (§8)', () => {
    const mesh = meshFrom(...base, `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    outboundTrafficPolicy:
      mode: REGISTRY_ONLY
`);
    const req = { from: 'a/client', to: 'evil.example:443', protocol: 'tls' as const };
    expect(send(mesh, req).stoppedBy[0]).toMatchObject({ control: 'EgressPolicy', name: null });
    const open = withoutControls(mesh, [{ control: 'EgressPolicy', name: null }]);
    expect(open.config.outboundTrafficPolicy).toBe('ALLOW_ANY');
    expect(send(open, req).outcome).toBe('allowed');
    expect(mesh.config.outboundTrafficPolicy).toBe('REGISTRY_ONLY');
  });

  it('EgressPolicy named by a Sidecar drops that Sidecar and its REGISTRY_ONLY (§8)', () => {
    const mesh = meshFrom(...base, `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: locked, namespace: a }
spec:
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
`);
    const req = { from: 'a/client', to: 'evil.example:443', protocol: 'tls' as const };
    expect(send(mesh, req).stoppedBy[0]).toMatchObject({ control: 'EgressPolicy', name: 'a/locked' });
    expect(send(withoutControls(mesh, [{ control: 'EgressPolicy', name: 'a/locked' }]), req).outcome).toBe('allowed');
  });

  it('each named kind takes out exactly its own resource', () => {
    const mesh = meshFrom(...base,
      allowApiOnly('ap', 'x'), pa('b', 'pa', 'STRICT'), dr('a', 'dr', 'server.b.svc.cluster.local', '{ mode: ISTIO_MUTUAL }'),
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: np, namespace: b }
spec: { podSelector: {}, policyTypes: [Ingress] }
`,
      `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: ra, namespace: b }
spec:
  jwtRules: [{ issuer: "https://issuer.example", jwks: '{"keys":[]}' }]
`,
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: vs, namespace: a }
spec:
  hosts: [server.b.svc.cluster.local]
  http: [{ route: [{ destination: { host: server.b.svc.cluster.local } }] }]
`);
    const cases: [ControlKind, string, (m: typeof mesh) => number][] = [
      ['AuthorizationPolicy', 'b/ap', (m) => m.authorizationPolicies.length],
      ['PeerAuthentication', 'b/pa', (m) => m.peerAuthentications.length],
      ['DestinationRule', 'a/dr', (m) => m.destinationRules.length],
      ['SecureNaming', 'a/dr', (m) => m.destinationRules.length],
      ['NetworkPolicy', 'b/np', (m) => m.networkPolicies.length],
      ['RequestAuthentication', 'b/ra', (m) => m.requestAuthentications.length],
      ['VirtualService', 'a/vs', (m) => m.virtualServices.length],
    ];
    for (const [control, name, count] of cases) {
      expect(count(mesh), control).toBe(1);
      expect(count(withoutControls(mesh, [{ control, name }])), control).toBe(0);
      expect(count(withoutControls(mesh, [{ control, name: `${name}-other` }])), `${control}: another name leaves it`).toBe(1);
    }
  });

  it('RateLimit ns/name drops every local rate limit of that EnvoyFilter (§10)', () => {
    const filter = readFileSync(path.resolve(__dirname, '../../scenarios/meshes/policies/bookinfo-reviews-rate-limit/envoyfilter.yaml'), 'utf8');
    const mesh = meshFrom(ns('bookinfo', true), app('bookinfo', 'reviews'), filter);
    expect(mesh.rateLimits.length).toBeGreaterThan(0);
    expect(withoutControls(mesh, [{ control: 'RateLimit', name: 'bookinfo/reviews-local-ratelimit' }]).rateLimits).toHaveLength(0);
  });

  it('CircuitBreaker names a host: its DestinationRules lose connectionPool and outlierDetection and keep their TLS (§10)', () => {
    const mesh = meshFrom(...base, dr('b', 'cb', 'server.b.svc.cluster.local', '{ mode: ISTIO_MUTUAL }', `    connectionPool: { tcp: { maxConnections: 1 } }
    outlierDetection: { consecutive5xxErrors: 1 }
`));
    const before = mesh.destinationRules[0]?.trafficPolicy;
    expect(before?.connectionPool).toBeDefined();
    expect(before?.outlierDetection).toBeDefined();
    const after = withoutControls(mesh, [{ control: 'CircuitBreaker', name: 'server.b.svc.cluster.local' }]).destinationRules[0]?.trafficPolicy;
    expect(after?.connectionPool).toBeUndefined();
    expect(after?.outlierDetection).toBeUndefined();
    expect(after?.tls?.mode).toBe('ISTIO_MUTUAL');
    const other = withoutControls(mesh, [{ control: 'CircuitBreaker', name: 'other.b.svc.cluster.local' }]).destinationRules[0]?.trafficPolicy;
    expect(other?.connectionPool).toBeDefined();
  });

  it('DNS, Routing, HttpValidation, Gateway, CertificateValidity and unnamed mesh defaults are not removable, and asking to remove them throws', () => {
    const fixed: ControlRef[] = [
      { control: 'DNS', name: null }, { control: 'Routing', name: 'b/server' }, { control: 'HttpValidation', name: null },
      { control: 'Gateway', name: 'istio-system/gw' }, { control: 'CertificateValidity', name: 'a/client' },
      { control: 'PeerAuthentication', name: null }, { control: 'AuthorizationPolicy', name: null },
    ];
    const mesh = meshFrom(...base);
    for (const c of fixed) {
      expect(isRemovable(c), `${c.control} ${c.name}`).toBe(false);
      expect(() => withoutControls(mesh, [c])).toThrow(/not a removable control/);
    }
    expect(isRemovable({ control: 'EgressPolicy', name: null })).toBe(true);
    expect(isRemovable({ control: 'AuthorizationPolicy', name: 'b/x' })).toBe(true);
  });

  it('a control key tells a null name from the string "null"', () => {
    expect(controlKey({ control: 'EgressPolicy', name: null })).not.toBe(controlKey({ control: 'EgressPolicy', name: 'null' }));
  });
});

describe('packet order', () => {
  it('the client sidecar (egress policy, circuit breaker) comes before NetworkPolicy, which comes before the receiving sidecar (§3)', () => {
    expect(packetRank('EgressPolicy')).toBeLessThan(packetRank('NetworkPolicy'));
    expect(packetRank('CircuitBreaker')).toBeLessThan(packetRank('NetworkPolicy'));
    expect(packetRank('NetworkPolicy')).toBeLessThan(packetRank('PeerAuthentication'));
  });

  it('in the receiving sidecar: mTLS filter chain, then a front-inserted rate limit, then jwt_authn, then RBAC (§3 server steps)', () => {
    const order: ControlKind[] = ['PeerAuthentication', 'RateLimit', 'RequestAuthentication', 'AuthorizationPolicy'];
    expect([...order].sort((a, b) => packetRank(a) - packetRank(b))).toEqual(order);
  });
});
