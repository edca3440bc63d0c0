/** `kubectl apply -n` for manifests without metadata.namespace, and the ingress gateway `istioctl install` adds (loader). */
import { describe, expect, it } from 'vitest';
import { loadMesh } from '../../src/loader/load.js';

const app = (ns?: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web${ns ? `\n  namespace: ${ns}` : ''}
spec:
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: web, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { selector: { app: web }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
`;

describe('manifests applied with a namespace (kubectl apply -n)', () => {
  it('objects without metadata.namespace take the file\'s namespace', () => {
    const { mesh, issues } = loadMesh([{ path: 'app.yaml', text: app(), namespace: 'shop' }]);
    expect(issues.errors).toEqual([]);
    expect(mesh.workloads.map((w) => w.id)).toEqual(['shop/web']);
    expect(mesh.services.map((s) => s.fqdn)).toEqual(['web.shop.svc.cluster.local']);
  });

  it('without a namespace they land in default, as kubectl apply without -n', () => {
    const { mesh } = loadMesh([{ path: 'app.yaml', text: app() }]);
    expect(mesh.workloads.map((w) => w.id)).toEqual(['default/web']);
  });

  it('an object naming the same namespace is accepted', () => {
    const { issues, mesh } = loadMesh([{ path: 'app.yaml', text: app('shop'), namespace: 'shop' }]);
    expect(issues.errors).toEqual([]);
    expect(mesh.workloads.map((w) => w.id)).toEqual(['shop/web']);
  });

  it('an object naming another namespace is refused with namespace-mismatch at its metadata.namespace, as kubectl refuses it', () => {
    const { issues } = loadMesh([{ path: 'app.yaml', text: app('other'), namespace: 'shop' }]);
    expect(issues.errors.map((e) => `${e.code} ${e.loc?.file}:${e.loc?.line}`)).toEqual(['namespace-mismatch app.yaml:5']);
    expect(issues.errors[0]?.message).toContain('applied with namespace shop');
  });

  it('the same file applied in two namespaces gives two copies of its objects', () => {
    const { mesh } = loadMesh([{ path: 'app.yaml', text: app(), namespace: 'a' }, { path: 'app.yaml', text: app(), namespace: 'b' }]);
    expect(mesh.workloads.map((w) => w.id)).toEqual(['a/web', 'b/web']);
  });
});

describe('the ingress gateway istioctl install adds', () => {
  it('adds istio-system/istio-ingressgateway, a gateway proxy without a sidecar, with its Service on 80, 443 and 15021', () => {
    const { mesh, issues } = loadMesh([{ path: 'app.yaml', text: app(), namespace: 'shop' }], { ingressGateway: {} });
    expect(issues.errors).toEqual([]);
    const gw = mesh.workloads.find((w) => w.id === 'istio-system/istio-ingressgateway');
    expect(gw?.gateway).toBe(true);
    expect(gw?.sidecar).toBe(false);
    expect(gw?.labels['istio']).toBe('ingressgateway');
    const svc = mesh.services.find((s) => s.fqdn === 'istio-ingressgateway.istio-system.svc.cluster.local');
    expect(svc?.ports.map((p) => p.port).sort((a, b) => a - b)).toEqual([80, 443, 15021]);
  });

  it('is absent unless asked for', () => {
    const { mesh } = loadMesh([{ path: 'app.yaml', text: app() }]);
    expect(mesh.workloads.some((w) => w.namespace === 'istio-system')).toBe(false);
  });

  it('keeps the manifests\' own gateway objects and warns that the built-in ones were not added', () => {
    const own = `apiVersion: v1
kind: Service
metadata: { name: istio-ingressgateway, namespace: istio-system }
spec: { selector: { istio: ingressgateway }, ports: [{ name: http2, port: 8081, targetPort: 8080 }] }
`;
    const { mesh, issues } = loadMesh([{ path: 'gw.yaml', text: own }], { ingressGateway: {} });
    expect(issues.errors).toEqual([]);
    expect(issues.warnings.map((w) => w.code)).toEqual(['ingress-gateway-defined']);
    const svc = mesh.services.find((s) => s.name === 'istio-ingressgateway');
    expect(svc?.ports.map((p) => p.port)).toEqual([8081]);
    expect(mesh.workloads.some((w) => w.id === 'istio-system/istio-ingressgateway')).toBe(true);
  });
});

describe('cluster-scoped kinds in a file applied with a namespace (kubectl apply -n ignores -n for them)', () => {
  const legacy = (ns: string): string => `apiVersion: rbac.istio.io/v1alpha1
kind: ClusterRbacConfig
metadata: { name: default${ns} }
spec: { mode: "ON" }
---
apiVersion: authentication.istio.io/v1alpha1
kind: MeshPolicy
metadata: { name: default }
spec: { peers: [{ mtls: {} }] }
`;
  const named = (text: string, namespace?: string): string[] => {
    const { mesh, issues } = loadMesh([{ path: 'legacy.yaml', text, ...(namespace ? { namespace } : {}) }]);
    expect(issues.errors).toEqual([]);
    return (mesh.unmodeled ?? []).map((o) => `${o.kind} ${o.meta.namespace}/${o.meta.name}`);
  };
  it('a cluster-scoped object takes no namespace from -n: it loads as it does without -n', () => {
    expect(named(legacy(''), 'shop')).toEqual(['ClusterRbacConfig default/default', 'MeshPolicy default/default']);
    expect(named(legacy(''), 'shop')).toEqual(named(legacy('')));
  });
  it('a cluster-scoped object naming another namespace than -n is not refused with namespace-mismatch', () => {
    expect(named(legacy(', namespace: istio-system'), 'shop')[0]).toBe('ClusterRbacConfig istio-system/default');
  });
  it('the same file applied in two namespaces names its cluster-scoped objects the same in both', () => {
    const { mesh } = loadMesh([{ path: 'legacy.yaml', text: legacy(''), namespace: 'a' }, { path: 'legacy.yaml', text: legacy(''), namespace: 'b' }]);
    expect(new Set((mesh.unmodeled ?? []).map((o) => o.meta.namespace))).toEqual(new Set(['default']));
  });
});
