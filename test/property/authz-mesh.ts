/**
 * Hand-built meshes, workloads, policies and requests for the AuthorizationPolicy
 * tests (property and example). No loader involved: the model objects are
 * written directly so a test states exactly what it evaluates.
 */
import type { AuthorizationPolicy, AuthzAction, AuthzRule, Labels, Mesh, MeshConfig, TargetRef, Workload } from '../../src/model/types.js';
import { DEFAULT_MESH_CONFIG } from '../../src/model/types.js';
import type { AuthzAttributes } from '../../src/policy/authorization-policy.js';
import type { RefMesh } from './reference-authz.js';

export const LOC = { file: 'gen', line: 1, col: 1 };

export function workload(namespace: string, name: string, labels: Labels = { app: name }, serviceAccount = name): Workload {
  return {
    kind: 'Deployment', id: `${namespace}/${name}`, namespace, name, labels, annotations: {}, serviceAccount,
    ports: [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 9000, protocol: 'TCP' }],
    sidecar: true, sidecarReason: 'test', gateway: false, hostNetwork: false, ip: '10.0.9.9', loc: LOC, sim: {},
  };
}

export interface PolicyInit {
  name?: string;
  namespace?: string;
  action?: AuthzAction;
  selector?: Labels | null;
  targetRefs?: TargetRef[];
  rules?: AuthzRule[] | undefined;
  dryRun?: boolean;
  provider?: string;
  order?: number;
}

let counter = 0;

export function policy(init: PolicyInit): AuthorizationPolicy {
  const order = init.order ?? counter++;
  const p: AuthorizationPolicy = {
    meta: {
      name: init.name ?? `p${order}`, namespace: init.namespace ?? 'a', labels: {},
      annotations: init.dryRun ? { 'istio.io/dry-run': 'true' } : {}, order, loc: LOC,
    },
    selector: init.selector ?? null,
    targetRefs: init.targetRefs ?? [],
    action: init.action ?? 'ALLOW',
    rules: 'rules' in init ? init.rules : [{}],
    dryRun: init.dryRun ?? false,
  };
  if (init.provider !== undefined) p.provider = init.provider;
  return p;
}

export function mesh(policies: readonly AuthorizationPolicy[], config: Partial<MeshConfig> = {}, workloads: Workload[] = [workload('a', 'web')]): Mesh {
  return {
    config: { ...DEFAULT_MESH_CONFIG, ...config },
    namespaces: new Map(['a', 'b', 'istio-system'].map((n) => [n, { name: n, labels: {} }])),
    workloads, services: [], peerAuthentications: [], authorizationPolicies: policies, destinationRules: [],
    requestAuthentications: [], networkPolicies: [], serviceEntries: [], sidecars: [], gateways: [], virtualServices: [], rateLimits: [],
  };
}

export function refMeshOf(m: Mesh): RefMesh {
  return { trustDomain: m.config.trustDomain, aliases: m.config.trustDomainAliases, rootNamespace: m.config.rootNamespace };
}

export interface HttpInit {
  peer?: string | null;
  host?: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  port?: number;
  sourceIp?: string;
  auth?: AuthzAttributes['auth'];
}

/** An HTTP request from `cluster.local/ns/b/sa/client` by default. */
export function http(init: HttpInit = {}): AuthzAttributes {
  const a: AuthzAttributes = {
    protocol: 'http',
    peerPrincipal: init.peer === undefined ? 'cluster.local/ns/b/sa/client' : init.peer,
    sourceIp: init.sourceIp ?? '10.0.0.1', remoteIp: init.sourceIp ?? '10.0.0.1', destinationIp: '10.0.9.9',
    destinationPort: init.port ?? 8080, sni: null,
    http: { host: init.host ?? 'web.a.svc.cluster.local', method: init.method ?? 'GET', path: init.path ?? '/', headers: init.headers ?? {} },
  };
  if (init.auth !== undefined) a.auth = init.auth;
  return a;
}

export function tcp(init: { peer?: string | null; port?: number } = {}): AuthzAttributes {
  return {
    protocol: 'tcp',
    peerPrincipal: init.peer === undefined ? 'cluster.local/ns/b/sa/client' : init.peer,
    sourceIp: '10.0.0.1', remoteIp: '10.0.0.1', destinationIp: '10.0.9.9', destinationPort: init.port ?? 9000, sni: null,
  };
}
