/**
 * Manifests from another project (issue 11 item 8), end to end: a scenario's
 * `manifests: [{path, namespace}]` and `spec.mesh.istio.ingressGateway`, and
 * `meshrange request --mesh ... -n ... --ingress-gateway` (cli/mesh-input.ts,
 * which blast-radius, assess and lint share).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryReader, MeshrangeError, runScenario, loadMesh } from '../../src/index.js';
import { cli, writeScratch } from '../cli/harness.js';

const root = path.resolve(__dirname, '../..');
const tmp = mkdtempSync(path.join(root, 'test', '.tmp-mesh-input-'));
const rel = path.relative(process.cwd(), tmp);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Written for `kubectl apply -n shop`: nothing names its namespace. */
const APP = `apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { istio-injection: enabled } }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api }
spec:
  template:
    metadata: { labels: { app: api } }
    spec: { containers: [{ name: api, image: api, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: api }
spec: { selector: { app: api }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: client }
spec:
  template:
    metadata: { labels: { app: client } }
    spec: { containers: [{ name: client, image: client }] }
`;

/** Istio's own sample style: a Gateway selecting istio: ingressgateway, routed to api. */
const ROUTES = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: shop-gateway }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop }
spec:
  hosts: ["*"]
  gateways: [shop-gateway]
  http: [{ route: [{ destination: { host: api, port: { number: 80 } } }] }]
`;

const scenario = (mesh: string, steps: string): string => `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: from-another-project }
spec:
  mesh:
${mesh}
  attacker: { foothold: shop/client }
  steps:
${steps}
`;

describe('a scenario over manifests written for kubectl apply -n', () => {
  const files = { 'k8s/app.yaml': APP, 'k8s/routes/routes.yaml': ROUTES };

  it('manifests: [{path, namespace}] places objects without a namespace there', async () => {
    const r = await runScenario('s.yaml', { reader: memoryReader({ ...files, 's.yaml': scenario('    manifests: [{ path: k8s/app.yaml, namespace: shop }]',
      '    - { id: call, action: request, to: "api:80", expect: allowed }\n    - { id: fqdn, action: request, to: "api.shop.svc.cluster.local:80", expect: allowed }') }) });
    expect(r.steps.map((s) => `${s.id} ${s.outcome} ${s.code}`)).toEqual(['call allowed 200', 'fqdn allowed 200']);
  });

  it('istio.ingressGateway lets a sample Gateway route an outside client without a hand-made gateway', async () => {
    const r = await runScenario('s.yaml', { reader: memoryReader({ ...files, 's.yaml': scenario(
      '    manifests: [{ path: k8s, namespace: shop }]\n    istio: { ingressGateway: true }',
      '    - { id: in, action: request, from: outside, to: "istio-ingressgateway.istio-system:80", headers: { host: shop.example.com }, expect: allowed }') }) });
    expect(r.steps[0]?.outcome).toBe('allowed');
    expect(r.steps[0]?.evidence.proxies?.[0]).toContain('istio-ingressgateway');
    expect(r.steps[0]?.evidence.destination?.workload).toBe('shop/api');
  });

  it('without istio.ingressGateway the same Gateway selects nothing and the host does not resolve', async () => {
    const run = runScenario('s.yaml', { reader: memoryReader({ ...files, 's.yaml': scenario('    manifests: [{ path: k8s, namespace: shop }]',
      '    - { id: in, action: request, from: outside, to: "istio-ingressgateway.istio-system:80", expect: blocked }') }) });
    const r = await run;
    expect(r.steps[0]?.outcome).toBe('blocked');
    expect(r.steps[0]?.stoppedBy[0]?.control).toBe('DNS');
  });

  it('a manifest namespace that is not a namespace name is refused at its line, nothing run', async () => {
    const err = await runScenario('s.yaml', { reader: memoryReader({ ...files, 's.yaml': scenario('    manifests: [{ path: k8s, namespace: Shop_1 }]',
      '    - { id: call, action: request, to: "api:80" }') }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshrangeError);
    expect((err as MeshrangeError).issues.map((i) => `${i.code} ${i.loc?.file}:${i.loc?.line}`)).toEqual(['scenario-invalid s.yaml:6']);
  });

  it('runScenario on a scenario file that does not exist throws MeshrangeError path-missing, not a file-system error', async () => {
    const err = await runScenario('no-such-scenario.yaml').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshrangeError);
    expect((err as MeshrangeError).issues.map((i) => i.code)).toEqual(['path-missing']);
  });

  it('an object naming another namespace than its file\'s is refused with namespace-mismatch (kubectl apply -n refuses it)', () => {
    const reader = memoryReader({ 'x.yaml': APP.replace('metadata: { name: api }', 'metadata: { name: api, namespace: other }') });
    const err = (() => { try { loadMesh({ manifests: ['x.yaml'], namespace: 'shop' }, { reader }); return null; } catch (e) { return e; } })();
    expect((err as MeshrangeError).issues.filter((i) => i.severity === 'error').map((i) => i.code)).toEqual(['namespace-mismatch']);
  });

  it('loadMesh maxBytes bounds the manifests read (default 32 MiB, at most 256 MiB): over it, manifests-too-large; out of range, bad-usage', () => {
    const reader = memoryReader({ 'x.yaml': APP });
    const codes = (maxBytes: number): string[] => {
      try { loadMesh({ manifests: ['x.yaml'], namespace: 'shop', maxBytes }, { reader }); return []; } catch (e) { return (e as MeshrangeError).issues.map((i) => i.code); }
    };
    expect(codes(APP.length)).toEqual([]);
    expect(codes(APP.length - 1)).toEqual(['manifests-too-large']);
    const thrown = (() => { try { loadMesh({ manifests: ['x.yaml'], namespace: 'shop', maxBytes: 10 }, { reader }); return null; } catch (e) { return e as MeshrangeError; } })();
    expect(thrown?.issues[0]?.hint).toContain('pass a larger maxBytes'); // the library's way to allow more
    for (const bad of [0, -1, 1.5, Number.NaN, 256 * 1048576 + 1]) expect(codes(bad), String(bad)).toEqual(['bad-usage']);
    expect(codes(256 * 1048576)).toEqual([]);
  });
});

describe('meshrange request -n and --ingress-gateway', () => {
  const app = writeScratch(tmp, rel, 'k8s/app.yaml', APP);
  writeScratch(tmp, rel, 'k8s/routes.yaml', ROUTES);
  const k8s = path.dirname(app);

  it('-n places the manifests in the namespace: shop/client reaches api', async () => {
    const r = await cli('request', '--mesh', app, '-n', 'shop', '--from', 'shop/client', '--to', 'api:80', '--format', 'json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).outcome).toBe('allowed');
  });

  it('without -n the same manifests land in default, and shop/client is unknown (exit 2)', async () => {
    const r = await cli('request', '--mesh', app, '--from', 'shop/client', '--to', 'api:80');
    expect(r.code).toBe(2);
    expect(r.err).toContain('[unknown-workload]');
    expect(r.err).toContain('default/client');
  });

  it('--ingress-gateway adds the gateway the Gateway selects: an outside request is routed to api', async () => {
    const r = await cli('request', '--mesh', k8s, '--namespace', 'shop', '--ingress-gateway', '--from', 'outside', '--to', 'istio-ingressgateway.istio-system:80',
      '--header', 'host:shop.example.com', '--format', 'json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out);
    expect(d.outcome).toBe('allowed');
    expect(d.destination.workload).toBe('shop/api');
  });

  it('-n with a name that is not a namespace is bad usage (exit 2)', async () => {
    const r = await cli('request', '--mesh', app, '-n', 'Not/A/Namespace', '--from', 'outside', '--to', 'api:80');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--namespace Not/A/Namespace: not a namespace name');
  });
});
