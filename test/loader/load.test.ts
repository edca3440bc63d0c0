/**
 * The manifest loader (product.md §1, §5): multi-document files, `List` kinds,
 * directories, the objects it reads, and located warnings for what it does not
 * model. Pure: texts in, mesh + issues out (directory walking is src/cli/fs.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listYamlFiles } from '../../src/cli/fs.js';
import { IssueList } from '../../src/core/issues.js';
import { loadMesh, type LoadResult } from '../../src/loader/load.js';
import { Reader } from '../../src/loader/reader.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import type { Workload } from '../../src/model/types.js';

function load(...docs: string[]): LoadResult {
  return loadMesh(docs.map((text, i) => ({ path: `m${i}.yaml`, text })));
}

function workload(r: LoadResult, id: string): Workload {
  const w = r.mesh.workloads.find((x) => x.id === id);
  if (!w) throw new Error(`no workload ${id}; have ${r.mesh.workloads.map((x) => x.id).join(', ')}`);
  return w;
}

function codes(r: LoadResult): string[] {
  return r.issues.items.map((i) => `${i.severity}:${i.code}`);
}

describe('multi-document files (product.md §1)', () => {
  it('§1 every document of a multi-document file is read (leading ---, comments, document end marker)', () => {
    const r = load(`---
# first
apiVersion: v1
kind: Namespace
metadata: { name: a }
---
# second
apiVersion: v1
kind: Namespace
metadata: { name: b }
...
`);
    expect(r.issues.items).toEqual([]);
    expect([...r.mesh.namespaces.keys()].sort()).toEqual(['a', 'b']);
  });

  it('§1 a file holding only comments, or nothing, is an empty mesh without issues', () => {
    expect(load('# nothing here yet\n').issues.items).toEqual([]);
    expect(load('').issues.items).toEqual([]);
  });

  // BUG (src/loader/yaml-source.ts parseYaml): an empty document — a trailing `---` as `helm template`
  // and many hand-written files have, or `---` twice in a row — has a null Scalar as contents (not
  // null), so it is kept and load.ts reports it as not-a-manifest (exit 2). kubectl skips it.
  it('§1 empty documents (a trailing ---, or --- twice) are skipped as kubectl does', () => {
    const ns = (n: string): string => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${n} }\n`;
    expect(load(`${ns('a')}---\n`).issues.items).toEqual([]);
    expect(load(`${ns('a')}---\n---\n${ns('b')}`).issues.items).toEqual([]);
  });

  it('§5 an issue in the third document is located on that document\'s line', () => {
    const r = load(`apiVersion: v1
kind: Namespace
metadata: { name: a }
---
apiVersion: v1
kind: Namespace
metadata: { name: b }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: p, namespace: a }
spec:
  mtls: { mode: strict }
`);
    expect(r.issues.errors).toHaveLength(1);
    expect(r.issues.errors[0]).toMatchObject({ code: 'bad-enum', loc: { file: 'm0.yaml', line: 13, col: 17 } });
  });

  it('§5 one broken document does not hide the issues of the others', () => {
    const r = load(`apiVersion: v1
kind: Namespace
metadata: { name: [a }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: p, namespace: a }
spec: { action: DENY }
`);
    const errors = r.issues.errors;
    expect(errors[0]).toMatchObject({ code: 'yaml-syntax', loc: { line: 3 } });
    expect(errors.at(-1)).toMatchObject({ code: 'ap-rules-required', loc: { line: 8 } });
  });
});

describe('List kinds (product.md §1)', () => {
  const list = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata:
      name: backend
      labels: { istio-injection: enabled }
  - apiVersion: security.istio.io/v1
    kind: PeerAuthentication
    metadata: { name: default, namespace: backend }
    spec:
      mtls:
        mode: STRICTER
  - apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: { name: api, namespace: backend }
`;

  it('§1 the items of a List are read as objects', () => {
    const r = load(list);
    expect(r.mesh.namespaces.get('backend')?.labels).toEqual({ 'istio-injection': 'enabled' });
  });

  it('§5 an error inside items[1] is located on that item\'s line, not the List\'s', () => {
    const r = load(list);
    expect(r.issues.errors).toHaveLength(1);
    expect(r.issues.errors[0]).toMatchObject({ code: 'bad-enum', loc: { file: 'm0.yaml', line: 14, col: 15 } });
    expect(r.issues.errors[0]?.message).toContain('PeerAuthentication backend/default');
  });

  it('§5 a warning for an unmodeled kind inside items[2] names the line where that item starts', () => {
    const r = load(list);
    expect(r.issues.warnings).toHaveLength(1);
    expect(r.issues.warnings[0]).toMatchObject({ code: 'not-modeled', loc: { file: 'm0.yaml', line: 15, col: 5 } });
  });

  it('§1 typed lists (DeploymentList) and Lists nested in Lists are flattened', () => {
    const r = load(`apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: DeploymentList
    items:
      - apiVersion: apps/v1
        kind: Deployment
        metadata: { name: web, namespace: frontend }
        spec:
          template:
            metadata: { labels: { app: web } }
            spec:
              containers: [{ name: web, ports: [{ containerPort: 8080 }] }]
`);
    expect(r.issues.items).toEqual([]);
    expect(workload(r, 'frontend/web').ports).toEqual([{ containerPort: 8080, protocol: 'TCP' }]);
  });
});

describe('directories (product.md §1)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'meshrange-load-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('§1 a directory is searched recursively for *.yaml and *.yml, in sorted (code point) order', () => {
    mkdirSync(path.join(dir, 'b-sub', 'deeper'), { recursive: true });
    for (const f of ['b.yaml', 'a.yml', '10-first.yaml', '9-second.YAML', 'notes.txt', 'b-sub/x.yaml', 'b-sub/deeper/y.yml', 'c.json']) {
      writeFileSync(path.join(dir, f), '# empty\n');
    }
    const rel = listYamlFiles(dir).map((f) => path.relative(dir, f).split(path.sep).join('/'));
    expect(rel).toEqual(['10-first.yaml', '9-second.YAML', 'a.yml', 'b-sub/deeper/y.yml', 'b-sub/x.yaml', 'b.yaml']);
  });

  it('§1 a file path is returned as is', () => {
    const f = path.join(dir, 'b.yaml');
    expect(listYamlFiles(f)).toEqual([f]);
  });

  it('§4 load order = file order: it decides which of two conflicting objects is older', () => {
    const pa = (name: string): string => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: ${name}, namespace: backend }
spec: { mtls: { mode: STRICT } }
`;
    const r = loadMesh([{ path: 'a.yaml', text: pa('zeta') }, { path: 'b.yaml', text: pa('alpha') }]);
    expect(r.mesh.peerAuthentications.map((p) => p.meta.name)).toEqual(['zeta', 'alpha']);
    expect(r.mesh.peerAuthentications.map((p) => p.meta.order)).toEqual([0, 1]);
  });
});

describe('core kinds (product.md §1)', () => {
  it('§1 an object without metadata.namespace is in namespace default, which then exists', () => {
    const r = load(`apiVersion: v1
kind: Pod
metadata: { name: sleep, labels: { app: sleep } }
spec:
  containers: [{ name: sleep, image: curlimages/curl }]
`);
    expect(workload(r, 'default/sleep').namespace).toBe('default');
    expect(r.mesh.namespaces.get('default')).toEqual({ name: 'default', labels: {} });
  });

  it('§1 Namespace labels are read (and a Namespace\'s own metadata.namespace is ignored)', () => {
    const r = load(`apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  namespace: ignored
  labels:
    istio-injection: enabled
    team: books
`);
    expect(r.mesh.namespaces.get('bookinfo')).toMatchObject({ name: 'bookinfo', labels: { 'istio-injection': 'enabled', team: 'books' }, loc: { file: 'm0.yaml', line: 1 } });
    expect(r.mesh.namespaces.has('ignored')).toBe(false);
  });

  it('§1 a label value that YAML reads as a boolean or number is an error asking to quote it', () => {
    const r = load(`apiVersion: v1
kind: Namespace
metadata:
  name: a
  labels:
    istio-injection: true
`);
    expect(r.issues.errors).toHaveLength(1);
    expect(r.issues.errors[0]).toMatchObject({ code: 'field-type', loc: { line: 6, col: 22 } });
    expect(r.issues.errors[0]?.hint).toContain('"true"');
  });

  it('§1 Deployment: pod template labels (not the Deployment\'s), serviceAccountName, container ports', () => {
    const r = load(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews-v2
  namespace: bookinfo
  labels: { app: reviews, tier: deployment-only }
spec:
  selector: { matchLabels: { app: reviews, version: v2 } }
  template:
    metadata:
      labels: { app: reviews, version: v2 }
      annotations: { meshrange.io/exploitable: "true", prometheus.io/scrape: "true" }
    spec:
      serviceAccountName: bookinfo-reviews
      containers:
        - name: reviews
          ports:
            - { containerPort: 9080, name: http }
            - { containerPort: 9443, protocol: TCP }
        - name: metrics
          ports:
            - { containerPort: 9090, protocol: UDP }
`);
    expect(r.issues.items).toEqual([]);
    const w = workload(r, 'bookinfo/reviews-v2');
    expect(w).toMatchObject({ kind: 'Deployment', name: 'reviews-v2', namespace: 'bookinfo', serviceAccount: 'bookinfo-reviews', hostNetwork: false,
      labels: { app: 'reviews', version: 'v2' }, loc: { file: 'm0.yaml', line: 1, col: 1 } });
    expect(w.labels).not.toHaveProperty('tier');
    expect(w.ports).toEqual([
      { containerPort: 9080, protocol: 'TCP', name: 'http' },
      { containerPort: 9443, protocol: 'TCP' },
      { containerPort: 9090, protocol: 'UDP' },
    ]);
    expect(w.sim).toEqual({ exploitable: 'true' });
  });

  it('§1 StatefulSet: the deprecated serviceAccount field is read; hostNetwork is read', () => {
    const r = load(`apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db, namespace: backend }
spec:
  template:
    metadata: { labels: { app: db } }
    spec:
      serviceAccount: legacy-db
      hostNetwork: true
      containers: [{ name: pg, ports: [{ containerPort: 5432 }] }]
`);
    expect(workload(r, 'backend/db')).toMatchObject({ kind: 'StatefulSet', serviceAccount: 'legacy-db', hostNetwork: true, labels: { app: 'db' } });
  });

  it('§1 DaemonSet without serviceAccountName runs as the default ServiceAccount', () => {
    const r = load(`apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent, namespace: monitoring }
spec:
  template:
    metadata: { labels: { app: agent } }
    spec:
      containers: [{ name: agent }]
`);
    expect(workload(r, 'monitoring/agent')).toMatchObject({ kind: 'DaemonSet', serviceAccount: 'default', ports: [], labels: { app: 'agent' } });
  });

  it('§1 Pod: its own metadata labels/annotations are the pod labels', () => {
    const r = load(`apiVersion: v1
kind: Pod
metadata:
  name: sleep
  namespace: legacy
  labels: { app: sleep }
  annotations: { sidecar.istio.io/inject: "true" }
spec:
  serviceAccountName: sleep
  containers: [{ name: sleep, ports: [{ containerPort: 80 }] }]
`);
    expect(workload(r, 'legacy/sleep')).toMatchObject({ kind: 'Pod', labels: { app: 'sleep' }, annotations: { 'sidecar.istio.io/inject': 'true' }, serviceAccount: 'sleep' });
  });

  it('§1 a Deployment without spec.template is an error located at spec', () => {
    const r = load(`apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: frontend }
spec:
  replicas: 1
`);
    expect(r.issues.errors[0]).toMatchObject({ code: 'missing-field', loc: { line: 4, col: 1 } });
  });

  it('§1 container ports: containerPort outside 1-65535 or missing is an error at that port', () => {
    const r = load(`apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - name: c
      ports:
        - containerPort: 0
        - name: http
`);
    expect(r.issues.errors.map((e) => [e.code, e.loc?.line])).toEqual([['bad-port', 8], ['missing-field', 9]]);
  });

  it('§1 Service: numeric targetPort, named targetPort, and targetPort defaulting to port (absent or 0: SetDefaults_Service)', () => {
    const r = load(`apiVersion: v1
kind: Service
metadata: { name: api, namespace: backend, annotations: { owner: team-a } }
spec:
  selector: { app: api }
  ports:
    - { name: http, port: 80, targetPort: 8080 }
    - { name: grpc, port: 9000, targetPort: grpc-port, appProtocol: grpc }
    - { name: tcp-metrics, port: 9090 }
    - { name: zero, port: 81, targetPort: 0, protocol: UDP }
`);
    expect(r.issues.items).toEqual([]);
    const svc = r.mesh.services.find((s) => s.name === 'api');
    expect(svc).toMatchObject({ namespace: 'backend', fqdn: 'api.backend.svc.cluster.local', selector: { app: 'api' }, headless: false, annotations: { owner: 'team-a' } });
    expect(svc?.ports).toEqual([
      { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
      { name: 'grpc', port: 9000, targetPort: 'grpc-port', protocol: 'TCP', appProtocol: 'grpc' },
      { name: 'tcp-metrics', port: 9090, targetPort: 9090, protocol: 'TCP' },
      { name: 'zero', port: 81, targetPort: 81, protocol: 'UDP' },
    ]);
  });

  it('§1 Service: clusterIP None is headless, a given clusterIP is kept, no selector is null', () => {
    const r = load(`apiVersion: v1
kind: Service
metadata: { name: db, namespace: backend }
spec:
  clusterIP: None
  selector: { app: db }
  ports: [{ port: 5432 }]
---
apiVersion: v1
kind: Service
metadata: { name: ext, namespace: backend }
spec:
  clusterIP: 10.96.7.7
  ports: [{ port: 443 }]
`);
    const db = r.mesh.services.find((s) => s.name === 'db');
    const ext = r.mesh.services.find((s) => s.name === 'ext');
    expect(db?.headless).toBe(true);
    expect(ext).toMatchObject({ clusterIP: '10.96.7.7', headless: false, selector: null });
  });

  it('§1 Service: a port outside 1-65535 is an error at that port', () => {
    const r = load(`apiVersion: v1
kind: Service
metadata: { name: api }
spec:
  ports:
    - port: 80
    - port: 65536
`);
    expect(r.issues.errors).toHaveLength(1);
    expect(r.issues.errors[0]).toMatchObject({ code: 'bad-port', loc: { line: 7, col: 13 } });
  });
});

describe('the istio ConfigMap mesh key (product.md §1)', () => {
  const configMap = (mesh: string, namespace = 'istio-system'): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: ${namespace}
data:
  mesh: |-
${mesh.split('\n').map((l) => `    ${l}`).join('\n')}
`;

  it('§1 defaults apply when there is no istio ConfigMap', () => {
    const r = load('');
    expect(r.mesh.config).toMatchObject({ trustDomain: 'cluster.local', trustDomainAliases: [], rootNamespace: 'istio-system', outboundTrafficPolicy: 'ALLOW_ANY', enableAutoMtls: true });
  });

  it('§1 trustDomain, trustDomainAliases, rootNamespace, outboundTrafficPolicy, enableAutoMtls are read', () => {
    const r = load(configMap(`trustDomain: corp.example
trustDomainAliases: [old.example, cluster.local]
rootNamespace: mesh-root
enableAutoMtls: false
outboundTrafficPolicy:
  mode: REGISTRY_ONLY
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012`));
    expect(r.issues.items).toEqual([]);
    expect(r.mesh.config).toMatchObject({
      trustDomain: 'corp.example', trustDomainAliases: ['old.example', 'cluster.local'], rootNamespace: 'mesh-root',
      enableAutoMtls: false, outboundTrafficPolicy: 'REGISTRY_ONLY', loc: { file: 'm0.yaml', line: 7 },
    });
  });

  it('§1 the shipped bookinfo ConfigMap reads as written', () => {
    const r = load(configMap('trustDomain: cluster.local\nrootNamespace: istio-system\noutboundTrafficPolicy:\n  mode: ALLOW_ANY'));
    expect(r.mesh.config).toMatchObject({ trustDomain: 'cluster.local', rootNamespace: 'istio-system', outboundTrafficPolicy: 'ALLOW_ANY' });
  });

  it('§1 a bad outboundTrafficPolicy.mode is an error and the default stays', () => {
    const r = load(configMap('outboundTrafficPolicy:\n  mode: DENY_ALL'));
    expect(codes(r)).toEqual(['error:bad-enum']);
    expect(r.mesh.config.outboundTrafficPolicy).toBe('ALLOW_ANY');
  });

  it('§2 a scenario meshConfig overrides the ConfigMap field by field', () => {
    const issues = new IssueList();
    const [doc] = parseYaml('s.yaml', 'meshConfig:\n  outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n', issues);
    if (!doc) throw new Error('no doc');
    const value = (doc.value as { meshConfig: Record<string, unknown> }).meshConfig;
    const r = loadMesh([{ path: 'cm.yaml', text: configMap('trustDomain: corp.example') }],
      { meshConfig: { value, reader: new Reader(doc, issues, 'scenario'), path: ['meshConfig'] } });
    expect(r.mesh.config).toMatchObject({ trustDomain: 'corp.example', outboundTrafficPolicy: 'REGISTRY_ONLY' });
  });

  // BUG (src/loader/k8s.ts readMeshConfigMap): errors inside the embedded `mesh` text are located
  // relative to that text, in a pseudo file "m0.yaml (data.mesh)", instead of at the real file line.
  it('§5 an error inside the mesh key is located at its line in the real file', () => {
    const r = load(configMap('trustDomain: corp.example\noutboundTrafficPolicy:\n  mode: DENY_ALL'));
    expect(r.issues.errors[0]?.loc).toEqual({ file: 'm0.yaml', line: 10, col: 13 });
  });

  // BUG (src/loader/load.ts): any ConfigMap named istio is taken as mesh config, in any namespace;
  // product.md §1 reads the one in the root namespace (istiod's own namespace).
  it('§1 an application ConfigMap named istio outside istio-system is not mesh config', () => {
    const r = load(configMap('trustDomain: hijacked.example', 'default'));
    expect(r.mesh.config.trustDomain).toBe('cluster.local');
  });
});

describe('kinds meshrange does not model (product.md §1, §5)', () => {
  const file = `apiVersion: v1
kind: Namespace
metadata: { name: backend }
---
# autoscaling has no effect on security decisions
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: api, namespace: backend }
spec: { maxReplicas: 3 }
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: api, namespace: backend }
spec: { minAvailable: 1 }
`;

  it('§5 an unmodeled kind is a warning, never an error', () => {
    const r = load(file);
    expect(r.issues.errors).toEqual([]);
    expect(codes(r)).toEqual(['warning:not-modeled', 'warning:not-modeled']);
  });

  it('§5 the warning names the kind, the apiVersion, the object, and the file and line of that document', () => {
    const r = load(file);
    const [hpa, pdb] = r.issues.warnings;
    expect(hpa?.message).toContain('HorizontalPodAutoscaler');
    expect(hpa?.message).toContain('autoscaling/v2');
    expect(hpa?.loc).toEqual({ file: 'm0.yaml', line: 6, col: 1 });
    expect(pdb?.message).toContain('PodDisruptionBudget backend/api');
    expect(pdb?.loc).toEqual({ file: 'm0.yaml', line: 11, col: 1 });
  });

  it('§1 a valid VirtualService is never an error (routing is modeled only as far as security needs it)', () => {
    const r = load(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: backend }
spec:
  hosts: [api]
  http: [{ route: [{ destination: { host: api } }] }]
`);
    expect(r.issues.errors).toEqual([]);
    for (const w of r.issues.warnings) expect(w.loc?.file).toBe('m0.yaml');
  });

  it('§1 ServiceAccount, Secret and RBAC kinds are read silently', () => {
    const r = load(`apiVersion: v1
kind: ServiceAccount
metadata: { name: api }
---
apiVersion: v1
kind: Secret
metadata: { name: s }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: rb }
`);
    expect(r.issues.items).toEqual([]);
  });
});

describe('duplicates', () => {
  it('§5 the same kind/namespace/name twice is a warning naming the first definition; the later one wins', () => {
    const r = loadMesh([
      { path: 'a.yaml', text: 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: backend }\nspec: { mtls: { mode: STRICT } }\n' },
      { path: 'b.yaml', text: '# override\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: backend }\nspec: { mtls: { mode: PERMISSIVE } }\n' },
    ]);
    expect(r.issues.errors).toEqual([]);
    expect(r.issues.warnings).toHaveLength(1);
    expect(r.issues.warnings[0]).toMatchObject({ code: 'duplicate-object', loc: { file: 'b.yaml', line: 2, col: 1 } });
    expect(r.issues.warnings[0]?.message).toContain('a.yaml:1');
    expect(r.mesh.peerAuthentications.map((p) => p.mode)).toEqual(['PERMISSIVE']);
  });

  it('§5 the same name in two namespaces, or two kinds with one name, is not a duplicate', () => {
    const r = load(`apiVersion: v1
kind: ServiceAccount
metadata: { name: api, namespace: a }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: api, namespace: b }
---
apiVersion: v1
kind: Service
metadata: { name: api, namespace: a }
spec: { ports: [{ port: 80 }] }
`);
    expect(r.issues.items).toEqual([]);
  });

  it('§5 a duplicate Deployment is one workload, the later definition', () => {
    const dep = (sa: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: frontend }
spec:
  template:
    metadata: { labels: { app: web } }
    spec: { serviceAccountName: ${sa}, containers: [{ name: web }] }
`;
    const r = load(dep('first'), dep('second'));
    expect(codes(r)).toEqual(['warning:duplicate-object']);
    expect(r.mesh.workloads.filter((w) => w.id === 'frontend/web').map((w) => w.serviceAccount)).toEqual(['second']);
  });

  it('§5 objects are told apart by kind, namespace and name, each part whole: no two kinds or parts run together', () => {
    // a kind is any string and a cluster-scoped kind's namespace is not checked: were the parts joined with `/`,
    // kind ClusterRole/a in namespace b and ClusterRole in namespace a/b would be one object
    const r = load('apiVersion: example.com/v1\nkind: ClusterRole/a\nmetadata: { name: c, namespace: b }\n',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: c, namespace: a/b }\n');
    expect(codes(r).filter((c) => c === 'warning:duplicate-object')).toEqual([]);
  });

  it('§5 a cluster-scoped object is one object with or without metadata.namespace (the API server ignores it)', () => {
    const r = load('apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: c, namespace: a }\n',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: c }\n');
    expect(codes(r).filter((c) => c === 'warning:duplicate-object')).toEqual(['warning:duplicate-object']);
  });
});

describe('creationTimestamp', () => {
  it('is read as RFC 3339 and kept as UTC with milliseconds, so an offset or fraction compares by instant; anything else is a warning and ignored', () => {
    const pa = (name: string, ts: string): string => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: ${name}, namespace: backend, creationTimestamp: "${ts}" }\nspec: { mtls: { mode: STRICT } }\n`;
    const r = load(pa('a', '2020-01-01T02:00:00+02:00'), pa('b', '2020-01-01T00:30:00.5Z'), pa('c', 'yesterday'));
    const ts = new Map(r.mesh.peerAuthentications.map((p) => [p.meta.name, p.meta.creationTimestamp]));
    expect(ts.get('a')).toBe('2020-01-01T00:00:00.000Z');
    expect(ts.get('b')).toBe('2020-01-01T00:30:00.500Z');
    expect(ts.get('c')).toBeUndefined();
    expect(r.issues.warnings.filter((w) => w.code === 'bad-timestamp').map((w) => w.loc?.line)).toEqual([3]);
    // what Go's time.Parse(RFC3339) refuses is refused: no rolling Feb 30 into March, no 24:00, no :60, no lower-case t/z
    for (const bad of ['2020-02-30T00:00:00Z', '2020-01-01T24:00:00Z', '2020-01-01T00:00:60Z', '2020-01-01t00:00:00z', '2020-13-01T00:00:00Z']) {
      const one = load(pa('x', bad));
      expect(one.mesh.peerAuthentications[0]?.meta.creationTimestamp, bad).toBeUndefined();
      expect(one.issues.warnings.map((w) => w.code), bad).toContain('bad-timestamp');
    }
    expect(load(pa('leap', '2024-02-29T23:59:59-00:30')).mesh.peerAuthentications[0]?.meta.creationTimestamp).toBe('2024-03-01T00:29:59.000Z');
    // years before 100 are those years (not 1900–1999), and Go's 24-hour offsets are taken
    expect(load(pa('old', '0050-06-01T00:00:00Z')).mesh.peerAuthentications[0]?.meta.creationTimestamp).toBe('0050-06-01T00:00:00.000Z');
    expect(load(pa('far', '2020-01-02T00:00:00+24:00')).mesh.peerAuthentications[0]?.meta.creationTimestamp).toBe('2020-01-01T00:00:00.000Z');
  });
});

describe('duplicates: the mesh config', () => {
  it('§5 a second istio ConfigMap replaces the first, as any object defined twice; one warning says so, not two that disagree', () => {
    const cm = (td: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: istio, namespace: istio-system }\ndata:\n  mesh: |\n    trustDomain: ${td}\n`;
    const r = load(cm('first.local'), cm('second.local'));
    expect(codes(r)).toEqual(['warning:duplicate-object']);
    expect(r.issues.warnings[0]?.message).toContain('the later definition wins');
    expect(r.mesh.config.trustDomain).toBe('second.local');
  });
});

describe('documents that are not objects (product.md §5)', () => {
  it('§5 an object without kind is located at where kind should be (the document)', () => {
    const r = load('apiVersion: v1\nmetadata: { name: x }\n');
    expect(r.issues.errors[0]).toMatchObject({ code: 'not-a-manifest', loc: { line: 1, col: 1 } });
  });

  it('§5 a non-string apiVersion is located at apiVersion', () => {
    const r = load('kind: Namespace\napiVersion: 1\nmetadata: { name: x }\n');
    expect(r.issues.errors[0]).toMatchObject({ code: 'not-a-manifest', loc: { line: 2, col: 13 } });
  });

  it('§5 duplicate keys in a mapping are a YAML error (kubectl refuses them too)', () => {
    const r = load('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n');
    expect(r.issues.errors).toHaveLength(1);
    expect(r.issues.errors[0]).toMatchObject({ code: 'yaml-syntax', loc: { line: 5, col: 3 } });
    expect(r.issues.errors[0]?.message).not.toMatch(/at line \d+, column \d+/);
  });

  it('§5 deeply nested YAML is an error, not a crash', () => {
    const text = `a: ${'['.repeat(3000)}${']'.repeat(3000)}\n`;
    const r = load(text);
    expect(r.issues.hasErrors()).toBe(true);
  });
});
