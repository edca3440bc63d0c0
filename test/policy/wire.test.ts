/**
 * What each decision puts on the network (policy/wire.ts): the hops a passive
 * observer sees and what encrypted each (istio-semantics §2, §4, §5, §8, §9, §11).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listYamlFiles } from '../../src/cli/fs.js';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh } from '../../src/model/types.js';
import { app, dr, meshFrom, ns, pa, send } from '../helpers.js';

const root = path.resolve(__dirname, '../..');

function meshAt(...dirs: string[]): Mesh {
  const files = dirs.flatMap((d) => listYamlFiles(path.join(root, d))).map((f) => ({ path: f, text: readFileSync(f, 'utf8') }));
  const { mesh, issues } = loadMesh(files);
  if (issues.hasErrors()) throw new Error(issues.errors.map((e) => e.message).join('\n'));
  return mesh;
}

const base = [ns('a', true), ns('b', true), ns('legacy', false), app('a', 'client'), app('b', 'server'), app('legacy', 'old')];

describe('the wire: which hop is plaintext where', () => {
  it('§5.2 a sidecar client calling a sidecar server is Istio mTLS on the wire (auto mTLS), though the app sends plaintext', () => {
    const d = send(meshFrom(...base), { from: 'a/client', to: 'server.b:80', headers: { authorization: 'Bearer x.y.z' } });
    expect(d.wire).toEqual([expect.objectContaining({ from: 'a/client', to: 'b/server', port: 8080, protectedBy: expect.objectContaining({ control: 'AutoMtls', name: null }) })]);
  });

  it('§2 a client without a sidecar puts plaintext on the wire, headers included', () => {
    const d = send(meshFrom(...base), { from: 'legacy/old', to: 'server.b:80', path: '/x?y=1', headers: { Authorization: 'Bearer t' } });
    expect(d.outcome).toBe('allowed');
    expect(d.wire).toEqual([{ from: 'legacy/old', to: 'b/server', port: 8080, protocol: 'http', protectedBy: null,
      request: { method: 'GET', path: '/x?y=1', headers: { authorization: 'Bearer t' } } }]);
  });

  it('§4 a STRICT server refuses plaintext only after the client\'s request crossed the wire', () => {
    const d = send(meshFrom(...base, pa('b', 'default', 'STRICT')), { from: 'legacy/old', to: 'server.b:80' });
    expect(d.outcome).toBe('blocked');
    expect(d.wire?.[0]).toMatchObject({ from: 'legacy/old', to: 'b/server', protectedBy: null });
  });

  it('§5.2 a DestinationRule DISABLE puts plaintext on the wire; ISTIO_MUTUAL is credited to that DestinationRule', () => {
    const off = send(meshFrom(...base, dr('a', 'off', 'server.b.svc.cluster.local', '{ mode: DISABLE }')), { from: 'a/client', to: 'server.b:80' });
    expect(off.wire?.[0]?.protectedBy).toBeNull();
    const on = send(meshFrom(...base, dr('a', 'on', 'server.b.svc.cluster.local', '{ mode: ISTIO_MUTUAL }')), { from: 'a/client', to: 'server.b:80' });
    expect(on.wire?.[0]?.protectedBy).toMatchObject({ control: 'DestinationRule', name: 'a/on' });
  });

  it('§6.8 an app that speaks TLS itself is protected by its own TLS, whoever the client is', () => {
    const d = send(meshFrom(...base), { from: 'legacy/old', to: 'server.b:80', protocol: 'tls' });
    expect(d.wire?.[0]?.protectedBy).toMatchObject({ control: 'AppTls' });
    expect(d.wire?.[0]?.request).toBeUndefined();
  });

  it('§11 a NetworkPolicy drop puts no request on the wire', () => {
    const deny = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny, namespace: b }
spec:
  podSelector: {}
  policyTypes: [Ingress]
`;
    const d = send(meshFrom(...base, deny), { from: 'legacy/old', to: 'server.b:80' });
    expect(d.stoppedBy[0]?.control).toBe('NetworkPolicy');
    expect(d.wire).toBeUndefined();
  });

  it('§8 REGISTRY_ONLY closes the connection in the client\'s own sidecar: nothing reaches the wire', () => {
    const d = send(meshAt('scenarios/meshes/payments'), { from: 'shop/api', to: 'evil.example:443', protocol: 'tls' });
    expect(d.stoppedBy[0]?.control).toBe('EgressPolicy');
    expect(d.wire).toBeUndefined();
  });

  it('§8 ALLOW_ANY passes an unknown host through in plaintext: the hop to the external host is in clear', () => {
    const d = send(meshAt('scenarios/meshes/three-ns'), { from: 'backend/api', to: 'drop.attacker.example:80', method: 'POST' });
    expect(d.wire).toEqual([expect.objectContaining({ from: 'backend/api', to: 'drop.attacker.example', port: 80, protectedBy: null })]);
  });

  it('§9 a request through an ingress gateway has two hops: the client\'s TLS ends at the Gateway, the gateway → backend hop is mTLS', () => {
    const d = send(meshAt('scenarios/meshes/payments'), { from: 'outside', to: 'istio-ingressgateway.istio-system:443', path: '/', headers: { host: 'shop.example.com' } });
    expect(d.outcome).toBe('allowed');
    expect(d.wire?.map((h) => [h.from, h.to, h.protectedBy?.control ?? null])).toEqual([
      ['outside', 'istio-system/istio-ingressgateway', 'Gateway'],
      ['istio-system/istio-ingressgateway', 'shop/web', 'AutoMtls'],
    ]);
    expect(d.wire?.[0]?.protectedBy?.name).toBe('istio-system/shop-gateway');
  });

  it('§9 plain HTTP to a gateway crosses in clear even when it only earns a 301', () => {
    const d = send(meshAt('scenarios/meshes/payments'), { from: 'outside', to: 'istio-ingressgateway.istio-system:80', path: '/', headers: { host: 'shop.example.com' } });
    expect(d.code).toBe(301);
    expect(d.wire).toEqual([expect.objectContaining({ from: 'outside', to: 'istio-system/istio-ingressgateway', protectedBy: null })]);
  });
});
