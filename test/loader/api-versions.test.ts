/**
 * product.md §1/§5: a manifest is read as the kind its apiVersion AND kind name, as the API server routes it. A kind
 * under a group that does not serve it (a typo'd group, a removed version) is refused — kubectl apply refuses it, so
 * it has no effect on the cluster; a kind of another project's API group that shares the name (Gateway API's
 * Gateway, Knative's Service) is not read as Istio's or Kubernetes' own.
 */
import { describe, expect, it } from 'vitest';
import { loadMesh, type LoadResult } from '../../src/loader/load.js';

const load = (text: string): LoadResult => loadMesh([{ path: 'm.yaml', text }]);
const policy = (apiVersion: string): string => `apiVersion: ${apiVersion}
kind: AuthorizationPolicy
metadata: { name: deny-all, namespace: app }
spec: { action: DENY, rules: [{}] }
`;

describe('apiVersion decides the kind (product.md §1)', () => {
  it('a kind under a group that does not serve it at that version is refused at its apiVersion, with the served forms as the fix', () => {
    for (const apiVersion of ['v1', 'security.istio.io/v2', 'security.istio.io/v1alpha1', 'networking.istio.io/v1']) {
      const r = load(policy(apiVersion));
      expect(r.issues.errors.map((e) => `${e.code}@${e.loc?.line}:${e.loc?.col}`), apiVersion).toEqual(['bad-api-version@1:13']);
      expect(r.issues.errors[0]?.message).toContain(`apiVersion ${apiVersion} does not serve AuthorizationPolicy`);
      expect(r.issues.errors[0]?.hint).toBe('write apiVersion: security.istio.io/v1 (also served: security.istio.io/v1beta1)');
      expect(r.mesh.authorizationPolicies).toEqual([]);
    }
    const removed = load('apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: { name: a, namespace: app }\nspec: {}\n');
    expect(removed.issues.errors.map((e) => e.code)).toEqual(['bad-api-version']);
    expect(removed.issues.errors[0]?.message).toContain('apps serves it at v1 only');
  });

  it('a near miss of the kind\'s own group, or another Kubernetes *.k8s.io group, is a typo: refused, not taken for another project', () => {
    for (const apiVersion of ['networking.istio.com/v1', 'security.isito.io/v1', 'node.k8s.io/v1']) {
      expect(load(policy(apiVersion)).issues.errors.map((e) => e.code), apiVersion).toEqual(['bad-api-version']);
    }
    // the Gateway API and the SIGs' x-k8s.io groups are other projects
    const gw = load('apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: { name: g, namespace: app }\nspec: { gatewayClassName: istio, listeners: [] }\n');
    expect(gw.issues.errors).toEqual([]);
    expect(gw.issues.warnings.map((w) => w.code)).toEqual(['not-modeled']);
    expect(gw.mesh.gateways).toEqual([]);
  });

  it('an empty apiVersion is named as such in the message', () => {
    const r = load('apiVersion: ""\nkind: Service\nmetadata: { name: s, namespace: app }\nspec: { ports: [{ port: 80 }] }\n');
    expect(r.issues.errors[0]?.message ?? '').toContain('apiVersion "" does not serve Service');
  });

  it('a kind of another project\'s API group is that project\'s object: not modeled, said so, never read as Istio\'s', () => {
    const r = load(`${policy('foo.example.com/v1')}---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: hello, namespace: app }
spec: { template: { spec: { containers: [{ image: hello }] } } }
`);
    expect(r.issues.errors).toEqual([]);
    expect(r.issues.warnings.map((w) => `${w.code}@${w.loc?.line}`)).toEqual(['not-modeled@1', 'not-modeled@6']);
    expect(r.issues.warnings[0]?.message).toContain('another API\'s AuthorizationPolicy');
    expect(r.mesh.authorizationPolicies).toEqual([]);
    expect(r.mesh.services).toEqual([]);
    expect(r.mesh.unmodeled?.map((u) => `${u.apiVersion} ${u.kind}`)).toEqual(['foo.example.com/v1 AuthorizationPolicy', 'serving.knative.dev/v1 Service']);
  });

  it('a meshrange scenario among the manifests (--mesh scenarios/) is named as meshrange\'s own file, with `meshrange run` as the fix', () => {
    const r = load(`apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: deny-all }
spec: { mesh: { manifests: [meshes/bookinfo] }, attacker: { foothold: bookinfo/productpage-v1 }, steps: [] }
`);
    expect(r.issues.errors).toEqual([]);
    expect(r.issues.warnings.map((w) => `${w.code}@${w.loc?.line}`)).toEqual(['not-a-manifest@1']);
    expect(r.issues.warnings[0]?.message).toContain('kind Scenario (meshrange.io/v1alpha1) is a meshrange file, not a Kubernetes or Istio manifest');
    expect(r.issues.warnings[0]?.hint).toContain('meshrange run <file>');
  });

  it('every version Istio serves is read: security v1/v1beta1, networking v1/v1beta1/v1alpha3', () => {
    expect(load(policy('security.istio.io/v1beta1')).mesh.authorizationPolicies).toHaveLength(1);
    for (const v of ['v1', 'v1beta1', 'v1alpha3']) {
      const r = load(`apiVersion: networking.istio.io/${v}\nkind: ServiceEntry\nmetadata: { name: e, namespace: app }\nspec:\n  hosts: [a.example.com]\n  ports: [{ number: 443, name: tls, protocol: TLS }]\n`);
      expect(r.issues.errors, v).toEqual([]);
      expect(r.mesh.serviceEntries, v).toHaveLength(1);
    }
  });
});
