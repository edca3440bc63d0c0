/** Test helpers: build meshes from inline YAML and send requests. */
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadMesh } from '../src/loader/load.js';
import type { Mesh, Workload } from '../src/model/types.js';
import { decide, type Decision, type MeshRequest } from '../src/policy/decide.js';

export function meshFrom(...docs: string[]): Mesh {
  const { mesh, issues } = loadMesh(docs.map((text, i) => ({ path: `inline-${i}.yaml`, text })));
  if (issues.hasErrors()) throw new Error(issues.errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
  return mesh;
}

export function wl(mesh: Mesh, id: string): Workload {
  const w = mesh.workloads.find((x) => x.id === id);
  if (!w) throw new Error(`no workload ${id}`);
  return w;
}

export interface Send {
  from: string;
  to: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  protocol?: MeshRequest['protocol'];
  tls?: MeshRequest['tls'];
  bypass?: boolean;
  capabilities?: MeshRequest['capabilities'];
}

export function send(mesh: Mesh, s: Send): Decision {
  return decide(mesh, request(mesh, s));
}

/** The MeshRequest `send` decides. */
export function request(mesh: Mesh, s: Send): MeshRequest {
  const colon = s.to.lastIndexOf(':');
  const host = s.to.slice(0, colon);
  const port = Number(s.to.slice(colon + 1));
  const to: MeshRequest['to'] = host.startsWith('workload/')
    ? { kind: 'workload', workload: wl(mesh, host.slice(9)), port }
    : { kind: 'host', host, port };
  const req: MeshRequest = {
    from: s.from === 'outside' ? { kind: 'outside', ip: '203.0.113.10' } : { kind: 'workload', workload: wl(mesh, s.from) },
    to,
    protocol: s.protocol ?? 'http',
    method: s.method ?? 'GET',
    path: s.path ?? '/',
    headers: s.headers ?? {},
    tls: s.tls ?? 'auto',
  };
  if (s.bypass !== undefined) req.bypass = s.bypass;
  if (s.capabilities !== undefined) req.capabilities = s.capabilities;
  return req;
}

/** A namespace, a Deployment with one container port and a Service in front of it. */
export function app(ns: string, name: string, opts: { port?: number; svcPort?: number; portName?: string; sa?: string; labels?: Record<string, string> } = {}): string {
  const port = opts.port ?? 8080;
  const svcPort = opts.svcPort ?? 80;
  const labels = { app: name, ...(opts.labels ?? {}) };
  const labelYaml = Object.entries(labels).map(([k, v]) => `        ${k}: "${v}"`).join('\n');
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata:
      labels:
${labelYaml}
    spec:
      serviceAccountName: ${opts.sa ?? name}
      containers:
        - name: main
          image: example/${name}
          ports: [{ containerPort: ${port} }]
---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { app: ${name} }
  ports: [{ name: ${opts.portName ?? 'http'}, port: ${svcPort}, targetPort: ${port} }]
`;
}

/**
 * A gateway proxy in istio-system (label `istio: <label>`, no sidecar: Istio's gateway label) named `name`, with a
 * LoadBalancer Service of the same name: port `port` (named `portName`) to the pod's `targetPort`.
 */
export function gatewayPod(name: string, label: string, port: { port: number; targetPort: number; name: string }): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ${label} } }
  template:
    metadata: { labels: { istio: ${label} } }
    spec:
      serviceAccountName: ${name}
      containers: [{ name: istio-proxy, image: proxy, ports: [{ containerPort: ${port.targetPort} }] }]
---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: istio-system }
spec:
  type: LoadBalancer
  selector: { istio: ${label} }
  ports: [{ name: ${port.name}, port: ${port.port}, targetPort: ${port.targetPort} }]
`;
}

export function ns(name: string, injected: boolean): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  labels: ${injected ? '{ istio-injection: enabled }' : '{}'}
`;
}

export function pa(namespace: string, name: string, mode: string, extra = ''): string {
  return `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  mtls: { mode: ${mode} }
${extra}`;
}

/** A networking.k8s.io NetworkPolicy; `spec` is its spec's body, indented two spaces. */
export function np(namespace: string, name: string, spec: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${spec}`;
}

/** Namespace `from`'s pods may send to namespace `to` only: egress-isolated, with no rule for DNS. */
export function egressOnlyTo(from: string, to: string): string {
  return np(from, `only-${to}`, `  podSelector: {}
  policyTypes: [Egress]
  egress: [{ to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: ${to} } } }] }]
`);
}

export function dr(namespace: string, name: string, host: string, tls: string, extra = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  host: "${host}"
  trafficPolicy:
    tls: ${tls}
${extra}`;
}

/**
 * A full garbage collection, for a test that measures what a structure keeps (heapUsed before and after): the
 * test runner's workers have no --expose-gc, so the flag is set at run time and `gc` read from a fresh context.
 */
export function fullGc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) { g(); return; }
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** The `istio` ConfigMap of istio-system with this mesh config (YAML, indented under `mesh: |`). */
export function meshConfig(body: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
${body.split('\n').map((l) => `    ${l}`).join('\n')}
`;
}

/** The mesh config with outboundTrafficPolicy REGISTRY_ONLY (the mesh-wide egress mode). */
export const registryOnlyMeshConfig = meshConfig('outboundTrafficPolicy: { mode: REGISTRY_ONLY }');
