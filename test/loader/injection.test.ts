/**
 * Sidecar injection (istio-semantics §2) and gateway detection (product.md §2).
 * decideInjection is checked row by row against the §2 webhook table, then the
 * same facts are checked end to end through loadMesh.
 */
import { describe, expect, it } from 'vitest';
import { decideInjection, isGatewayPod } from '../../src/loader/injection.js';
import { loadMesh } from '../../src/loader/load.js';
import type { Labels, Workload } from '../../src/model/types.js';

const INJECT = 'sidecar.istio.io/inject';

function inj(nsLabels: Labels, podLabels: Labels = {}, podAnnotations: Labels = {}, hostNetwork = false): boolean {
  return decideInjection('ns', nsLabels, podLabels, podAnnotations, hostNetwork).sidecar;
}

describe('§2 webhook table (decideInjection)', () => {
  const enabled = { 'istio-injection': 'enabled' };
  const disabled = { 'istio-injection': 'disabled' };
  const rev = { 'istio.io/rev': 'canary' };

  it('§2 namespace istio-injection=enabled, pod label absent: injected', () => {
    expect(inj(enabled)).toBe(true);
  });

  it('§2 namespace istio-injection=enabled, pod label sidecar.istio.io/inject="true": injected', () => {
    expect(inj(enabled, { [INJECT]: 'true' })).toBe(true);
  });

  it('§2 a pod label sidecar.istio.io/inject=false beats namespace istio-injection=enabled', () => {
    const d = decideInjection('bookinfo', enabled, { [INJECT]: 'false' }, {}, false);
    expect(d.sidecar).toBe(false);
    expect(d.reason).toContain('pod label');
  });

  it('§2 namespace istio-injection=disabled: never injected, whatever the pod says', () => {
    expect(inj(disabled)).toBe(false);
    expect(inj(disabled, { [INJECT]: 'true' })).toBe(false);
    expect(inj(disabled, { 'istio.io/rev': 'canary' })).toBe(false);
    expect(inj(disabled, {}, { [INJECT]: 'true' })).toBe(false);
  });

  it('§2 namespace istio-injection with any other value matches no webhook rule: not injected', () => {
    expect(inj({ 'istio-injection': 'true' })).toBe(false);
  });

  it('§2 namespace istio.io/rev=<rev> (no istio-injection), pod label not "false": injected by that revision', () => {
    expect(inj(rev)).toBe(true);
    expect(inj(rev, { [INJECT]: 'true' })).toBe(true);
    expect(decideInjection('ns', rev, {}, {}, false).reason).toContain('istio.io/rev=canary');
  });

  it('§2 namespace istio.io/rev=<rev>, pod label "false": not injected', () => {
    expect(inj(rev, { [INJECT]: 'false' })).toBe(false);
  });

  it('§2 istio-injection wins over istio.io/rev when a namespace has both', () => {
    expect(inj({ ...rev, 'istio-injection': 'disabled' })).toBe(false);
    expect(inj({ ...rev, 'istio-injection': 'enabled' }, { [INJECT]: 'false' })).toBe(false);
    expect(inj({ ...rev, 'istio-injection': 'enabled' })).toBe(true);
  });

  it('§2 unlabeled namespace, pod label sidecar.istio.io/inject="true": injected', () => {
    expect(inj({}, { [INJECT]: 'true' })).toBe(true);
  });

  it('§2 unlabeled namespace, pod label istio.io/rev=<rev>: injected by that revision', () => {
    const d = decideInjection('ns', {}, { 'istio.io/rev': 'canary' }, {}, false);
    expect(d.sidecar).toBe(true);
    expect(d.reason).toContain('istio.io/rev=canary');
  });

  it('§2 unlabeled namespace, pod label absent: not injected', () => {
    expect(inj({})).toBe(false);
  });

  it('§2 unlabeled namespace: the annotation sidecar.istio.io/inject="true" alone does not trigger the webhook', () => {
    const d = decideInjection('legacy', {}, {}, { [INJECT]: 'true' }, false);
    expect(d.sidecar).toBe(false);
    expect(d.reason).toContain('annotation');
  });

  it('§2 once the webhook fired, the legacy annotation "false" opts the pod out', () => {
    expect(inj(enabled, {}, { [INJECT]: 'false' })).toBe(false);
    expect(inj(rev, {}, { [INJECT]: 'false' })).toBe(false);
  });

  it('§2 the pod label wins over the annotation when both are set', () => {
    expect(inj(enabled, { [INJECT]: 'true' }, { [INJECT]: 'false' })).toBe(true);
    expect(inj(enabled, { [INJECT]: 'false' }, { [INJECT]: 'true' })).toBe(false);
  });

  it('§2 hostNetwork pods are never injected, even when everything asks for a sidecar', () => {
    const d = decideInjection('ns', enabled, { [INJECT]: 'true' }, {}, true);
    expect(d).toEqual({ sidecar: false, reason: 'hostNetwork pods are never injected' });
    expect(inj({}, { [INJECT]: 'true' }, {}, true)).toBe(false);
    expect(inj(rev, {}, {}, true)).toBe(false);
  });

  // BUG (src/loader/injection.ts decideInjection): istio pkg/kube/inject/inject.go injectRequired
  // skips the ignored system namespaces (kube-system, kube-public) before anything else.
  it('§2 pods in kube-system are never injected, even in a labelled namespace', () => {
    expect(decideInjection('kube-system', enabled, {}, {}, false).sidecar).toBe(false);
  });

  // BUG (src/loader/injection.ts decideInjection): once the webhook fired, injectRequired reads the
  // label (or annotation) case-insensitively; anything but "", y, yes, true, on means "do not inject".
  it('§2 once the webhook fired, sidecar.istio.io/inject values "no", "off", "False" opt out too', () => {
    expect(inj(enabled, { [INJECT]: 'no' })).toBe(false);
    expect(inj(enabled, {}, { [INJECT]: 'off' })).toBe(false);
    expect(inj(enabled, { [INJECT]: 'False' })).toBe(false);
  });
});

describe('§2 gateway detection (isGatewayPod)', () => {
  it('§2 the label istio: ingressgateway or istio: egressgateway makes a gateway proxy', () => {
    expect(isGatewayPod({ istio: 'ingressgateway' }, {}, [])).toBe(true);
    expect(isGatewayPod({ istio: 'egressgateway' }, {}, [])).toBe(true);
    expect(isGatewayPod({ istio: 'pilot' }, {}, [])).toBe(false);
  });

  it('§2 the pod annotation inject.istio.io/templates: gateway makes a gateway proxy', () => {
    expect(isGatewayPod({ app: 'gw' }, { 'inject.istio.io/templates': 'gateway' }, [])).toBe(true);
    expect(isGatewayPod({ app: 'gw' }, { 'inject.istio.io/templates': 'sidecar' }, [])).toBe(false);
  });

  it('§2 a pod a Gateway selector matches (all its labels) is a gateway proxy', () => {
    expect(isGatewayPod({ app: 'edge', tier: 'front' }, {}, [{ app: 'edge' }])).toBe(true);
    expect(isGatewayPod({ app: 'edge' }, {}, [{ app: 'edge', tier: 'front' }])).toBe(false);
  });

  it('§2 an empty Gateway selector does not make every pod a gateway', () => {
    expect(isGatewayPod({ app: 'web' }, {}, [{}])).toBe(false);
  });
});

describe('§2 injection end to end (loadMesh)', () => {
  const mesh = loadMesh([{
    path: 'mesh.yaml',
    text: `apiVersion: v1
kind: Namespace
metadata: { name: apps, labels: { istio-injection: enabled } }
---
apiVersion: v1
kind: Namespace
metadata: { name: legacy }
---
apiVersion: v1
kind: Namespace
metadata: { name: canary, labels: { istio.io/rev: "1-24" } }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: apps, labels: { sidecar.istio.io/inject: "false" } }
spec:
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: opted-out, namespace: apps }
spec:
  template:
    metadata: { labels: { app: opted-out, sidecar.istio.io/inject: "false" } }
    spec: { containers: [{ name: c }] }
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: node-agent, namespace: apps }
spec:
  template:
    metadata: { labels: { app: node-agent } }
    spec: { hostNetwork: true, containers: [{ name: c }] }
---
apiVersion: v1
kind: Pod
metadata: { name: opted-in, namespace: legacy, labels: { sidecar.istio.io/inject: "true" } }
spec: { containers: [{ name: c }] }
---
apiVersion: v1
kind: Pod
metadata: { name: annotated, namespace: legacy, annotations: { sidecar.istio.io/inject: "true" } }
spec: { containers: [{ name: c }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: canary }
spec:
  template:
    metadata: { labels: { app: api } }
    spec: { containers: [{ name: c }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: implicit, namespace: undeclared }
spec:
  template:
    metadata: { labels: { app: implicit } }
    spec: { containers: [{ name: c }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: istio-ingressgateway, namespace: apps }
spec:
  template:
    metadata: { labels: { istio: ingressgateway, sidecar.istio.io/inject: "false" } }
    spec: { containers: [{ name: istio-proxy }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: templated-gw, namespace: legacy }
spec:
  template:
    metadata:
      labels: { app: templated-gw }
      annotations: { inject.istio.io/templates: gateway }
    spec: { containers: [{ name: istio-proxy }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: edge, namespace: apps }
spec:
  template:
    metadata: { labels: { app: edge-proxy } }
    spec: { containers: [{ name: istio-proxy }] }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: apps }
spec:
  selector: { app: edge-proxy }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: own-proxy, namespace: legacy }
spec:
  template:
    metadata: { labels: { app: own-proxy } }
    spec: { containers: [{ name: istio-proxy }] }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: own, namespace: legacy }
spec:
  selector: { app: own-proxy }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
`,
  }]);
  const w = (id: string): Workload => {
    const x = mesh.mesh.workloads.find((y) => y.id === id);
    if (!x) throw new Error(`no ${id}`);
    return x;
  };

  it('§2 the mesh loads without errors', () => {
    expect(mesh.issues.errors).toEqual([]);
  });

  it('§2 the pod template label decides, not a label on the Deployment itself', () => {
    expect(w('apps/web').sidecar).toBe(true);
    expect(w('apps/opted-out').sidecar).toBe(false);
  });

  it('§2 hostNetwork: a DaemonSet in an injected namespace has no sidecar', () => {
    expect(w('apps/node-agent')).toMatchObject({ sidecar: false, hostNetwork: true, sidecarReason: 'hostNetwork pods are never injected' });
  });

  it('§2 unlabeled namespace: pod label opts in, annotation does not', () => {
    expect(w('legacy/opted-in').sidecar).toBe(true);
    expect(w('legacy/annotated').sidecar).toBe(false);
  });

  it('§2 revision-labelled namespace injects; a namespace nobody declared has no labels and does not', () => {
    expect(w('canary/api').sidecar).toBe(true);
    expect(w('undeclared/implicit').sidecar).toBe(false);
  });

  it('§2 istio: ingressgateway makes a gateway proxy; its inject "false" label does not make it a plain workload', () => {
    expect(w('apps/istio-ingressgateway')).toMatchObject({ gateway: true, sidecar: false });
    expect(w('apps/istio-ingressgateway').sidecarReason).toContain('gateway');
  });

  it('§2 the gateway injection template makes a gateway proxy', () => {
    expect(w('legacy/templated-gw')).toMatchObject({ gateway: true, sidecar: false });
  });

  it('§2 a workload a Gateway (declared later in the file) selects is a gateway proxy when it gets no sidecar', () => {
    expect(w('legacy/own-proxy')).toMatchObject({ gateway: true, sidecar: false });
  });

  it('§2 a workload that gets a sidecar stays a sidecar when a Gateway selects it: a sidecar ignores Gateways (warned)', () => {
    expect(w('apps/edge')).toMatchObject({ gateway: false, sidecar: true });
    expect(mesh.issues.warnings.find((i) => i.code === 'gateway-selects-sidecar')?.message).toContain('Gateway apps/edge selects Deployment apps/edge, which runs a sidecar');
  });

  it('§2 plain workloads are not gateways', () => {
    expect(mesh.mesh.workloads.filter((x) => x.gateway).map((x) => x.id).sort())
      .toEqual(['apps/istio-ingressgateway', 'legacy/own-proxy', 'legacy/templated-gw']);
  });
});
