/**
 * Manifests → the mesh model. Takes file texts (the CLI reads them) and
 * returns the model plus every located issue: errors for what Istio or
 * Kubernetes would reject, warnings for what meshrange does not model yet.
 */
import { IGNORE_ANNOTATION, ignoreTokens } from '../core/names.js';
import { servedAs } from './api-versions.js';
import { IssueList, type Location } from '../core/issues.js';
import { ingressGatewayFile } from './istio-install.js';
import { appliedNamespace, isClusterScoped } from './apply-namespace.js';
import { DNS1123_LABEL_FORM, isDns1123Label, objectNameProblem, quotedName } from './names.js';
import { parseDuration } from '../core/duration.js';
import { ownValue, setOwn } from '../core/record.js';
import { DEFAULT_MESH_CONFIG, exportToAnnotation, selectorMatches, type AuthorizationPolicy, type DestinationRule, type Labels, type Mesh, type MeshConfig, type Namespace, type ObjectMeta, type PeerAuthentication, type ProxyConfigResource, type Service, type UnmodeledObject, type Workload, type WorkloadKind } from '../model/types.js';
import { decideInjection, isCaptureAnnotation, isGatewayPod, readCapture } from './injection.js';
import { applyMeshConfig, readMeshConfigMap, readPodSpec, readService, type RawService, type RawWorkload } from './k8s.js';
import { readDestinationRule } from './networking.js';
import { readServiceEntry, readSidecar, readWorkloadEntry } from './egress.js';
import { readNetworkPolicy } from './network-policy.js';
import { readRequestAuthentication } from './request-authentication.js';
import { analyzeRouting, readGateway, readVirtualService } from './routing.js';
import { analyzeMesh } from './analyze.js';
import { readEnvoyFilter } from './envoy-filter.js';
import { PROXY_CONFIG_ANNOTATION, readProxyConfig, readProxyConfigAnnotation } from './proxy-config.js';
import type { LocalRateLimit } from '../model/envoy-filter.js';
import type { ServiceEntry, Sidecar, WorkloadEntry } from '../model/egress.js';
import type { NetworkPolicy } from '../model/network-policy.js';
import type { RequestAuthentication } from '../model/request-authentication.js';
import type { Gateway, VirtualService } from '../model/routing.js';
import { mergeDelegates } from '../model/delegate.js';
import { isObj, Reader, type Obj } from './reader.js';
import { readAuthorizationPolicy, readPeerAuthentication } from './security.js';
import { parseYaml, streamYaml, type SourceDoc } from './yaml-source.js';
import { byCodeUnit, grouped } from '../core/text.js';

export interface SourceFile {
  path: string;
  text: string;
  /**
   * The namespace objects without metadata.namespace take, as with
   * `kubectl apply -n <namespace>` (default: `default`). An object that names
   * another namespace is refused, as kubectl refuses it.
   */
  namespace?: string;
}

export interface MeshOverrides {
  /** scenario `spec.mesh.meshConfig`, with a reader that locates its fields */
  meshConfig?: { value: Obj; reader: Reader; path: readonly (string | number)[] };
  /** pinned pod IPs by workload id */
  ips?: Readonly<Record<string, string>>;
  /**
   * Add Istio's default ingress gateway as `istioctl install` does
   * (istio-install.ts); `at` is where it was asked for (the scenario's
   * spec.mesh.istio.ingressGateway), for the note when the manifests already
   * hold one of its objects (theirs is kept).
   */
  ingressGateway?: { at?: Location };
}

export interface LoadResult {
  mesh: Mesh;
  issues: IssueList;
}

const WORKLOAD_KINDS: readonly string[] = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod'];
/** Kinds read without a warning although they do not change a decision. */
const INERT_KINDS: readonly string[] = ['ServiceAccount', 'ConfigMap', 'Secret', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'];
/** Kinds product.md lists that later work will model; a warning says so until then. */
const NOT_YET: readonly string[] = ['WorkloadGroup', 'Telemetry', 'WasmPlugin'];
/**
 * Kinds whose names meshrange reads (a workload, a host, a principal, a policy named in a report) or Kubernetes holds
 * to DNS rules (ConfigMap, Secret): their names are checked as the API server checks them (names.ts
 * objectNameProblem). Other kinds (RBAC's `system:…` roles, custom resources) only to the path-segment rule.
 */
/** An RFC 3339 date-time as Go's time.Parse(RFC3339) takes it (Kubernetes metav1.Time): anchored, linear. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,32}))?(Z|([+-])(\d{2}):(\d{2}))$/;

/** Milliseconds since the epoch of an RFC 3339 time, or null: out-of-range fields (Feb 30, 24:00, :60) are refused as Go refuses them. */
function rfc3339Ms(ts: string): number | null {
  const m = RFC3339.exec(ts);
  if (!m) return null;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  if (days === undefined || d < 1 || d > days || h > 23 || mi > 59 || sec > 59) return null;
  let offset = 0;
  if (m[8] !== 'Z') {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 24 || om > 60) return null; // Go's parser allows 24-hour and :60 offsets ("some people do write" them)
    offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const ms = Math.floor(Number(`0.${(m[7] ?? '0').slice(0, 9)}`) * 1000);
  // Date.UTC reads years 0–99 as 1900–1999: set the year on its own
  const at = new Date(0);
  at.setUTCFullYear(y, mo - 1, d);
  at.setUTCHours(h, mi, sec, ms);
  return at.getTime() - offset;
}

/** The codes an apiVersion that does not serve the kind is reported with (kinds whose readers had their own), else bad-api-version. */
const API_VERSION_CODES: ReadonlyMap<string, string> = new Map([['RequestAuthentication', 'ra-bad-api-version'], ['NetworkPolicy', 'np-bad-api-version']]);

const MODELLED_KINDS: ReadonlySet<string> = new Set([...WORKLOAD_KINDS, ...NOT_YET, 'Namespace', 'Service', 'ServiceAccount', 'ConfigMap', 'Secret',
  'PeerAuthentication', 'AuthorizationPolicy', 'DestinationRule', 'RequestAuthentication', 'NetworkPolicy', 'ServiceEntry', 'Sidecar', 'Gateway',
  'VirtualService', 'EnvoyFilter', 'ProxyConfig']);

interface Item {
  src: SourceDoc;
  value: unknown;
  /** the file's `kubectl apply -n` namespace, when it has one */
  namespace?: string;
}

export function loadMesh(files: readonly SourceFile[], overrides: MeshOverrides = {}): LoadResult {
  const issues = new IssueList();
  // YAML problems of every file come first, as when all files were parsed before any manifest was read.
  const yamlIssues = new IssueList();

  const namespaces = new Map<string, Namespace>();
  const rawWorkloads: RawWorkload[] = [];
  const rawServices: RawService[] = [];
  const pas: PeerAuthentication[] = [];
  const aps: AuthorizationPolicy[] = [];
  const drs: DestinationRule[] = [];
  const ras: RequestAuthentication[] = [];
  const nps: NetworkPolicy[] = [];
  const ses: ServiceEntry[] = [];
  const wes: WorkloadEntry[] = [];
  const sidecars: Sidecar[] = [];
  const gateways: Gateway[] = [];
  const vss: VirtualService[] = [];
  const rateLimits: LocalRateLimit[] = [];
  const unmodeled: UnmodeledObject[] = [];
  const proxyConfigs: ProxyConfigResource[] = [];
  const seen = new SeenObjects();
  let meshConfigItem: { reader: Reader; obj: Obj } | undefined;
  let order = 0;

  for (const item of manifests(files, yamlIssues, overrides.ingressGateway ? { at: overrides.ingressGateway.at, issues } : undefined)) {
    const { src, value } = item;
    if (!isObj(value)) {
      issues.error('not-a-manifest', 'document is not a Kubernetes object (expected a mapping with apiVersion and kind)', src.locate([]),
        'remove this document or give it apiVersion, kind and metadata');
      continue;
    }
    const kind = value['kind'];
    const apiVersion = value['apiVersion'];
    if (typeof kind !== 'string' || typeof apiVersion !== 'string') {
      issues.error('not-a-manifest', 'object has no apiVersion/kind strings', src.locate(typeof kind !== 'string' ? ['kind'] : ['apiVersion']),
        'add apiVersion and kind, e.g. apiVersion: security.istio.io/v1, kind: AuthorizationPolicy');
      continue;
    }
    const pre = new Reader(src, issues, kind);
    const md = pre.obj(value, 'metadata', []);
    const name = md ? pre.str(md, 'name', ['metadata']) : undefined;
    if (!md || !name) {
      pre.error(md ? ['metadata'] : [], 'missing-name', 'metadata.name is required', 'give the object a metadata.name');
      continue;
    }
    // Names Kubernetes would refuse are refused: a namespace `backend/sa/api` would make principals no cluster can have
    // (`…/ns/backend/sa/api/sa/x`), and `a` + `b/c` would be the same object as `a/b` + `c`.
    const served = servedAs(kind, apiVersion);
    const modelled = MODELLED_KINDS.has(kind) && served.kind !== 'foreign';
    const nameProblem = objectNameProblem(kind, name, modelled);
    if (nameProblem !== null) {
      pre.error(['metadata', 'name'], 'bad-name', `metadata.name ${quotedName(name)} ${nameProblem}`, 'rename the object; the Kubernetes API server refuses this name too');
      continue;
    }
    const givenNs = pre.str(md, 'namespace', ['metadata']);
    if (givenNs !== undefined && !isDns1123Label(givenNs) && !isClusterScoped(kind)) {
      pre.error(['metadata', 'namespace'], 'bad-name', `metadata.namespace ${quotedName(givenNs)} ${DNS1123_LABEL_FORM}`,
        'name an existing namespace; the Kubernetes API server refuses this one');
      continue;
    }
    const applied = appliedNamespace(pre, kind, name, givenNs, item.namespace);
    if (applied === null) continue;
    const namespace = kind === 'Namespace' ? name : applied;
    const r = new Reader(src, issues, kind === 'Namespace' ? `Namespace ${name}` : `${kind} ${namespace}/${name}`);
    const meta: ObjectMeta = {
      name, namespace,
      labels: r.labels(md, 'labels', ['metadata']) ?? {},
      annotations: r.annotations(md, 'annotations', ['metadata']) ?? {},
      order: order++,
      loc: src.locate([]),
    };
    checkIgnoreAnnotation(r, meta.annotations);
    // Age is compared as written, so it is written one way: RFC 3339 (as the API server writes it), as UTC with
    // milliseconds; an offset or fraction no longer sorts wrong, and equal instants compare equal (then by name).
    const ts = md['creationTimestamp'];
    if (typeof ts === 'string') {
      const at = rfc3339Ms(ts);
      if (at !== null && Number.isFinite(at)) meta.creationTimestamp = new Date(at).toISOString();
      else pre.warn(['metadata', 'creationTimestamp'], 'bad-timestamp', `creationTimestamp ${quotedName(ts)} is not an RFC 3339 time (e.g. 2024-05-01T12:00:00Z): it is ignored, and the object counts as applied now`, 'write it as the API server does, or drop it');
    } else if (ts instanceof Date) meta.creationTimestamp = ts.toISOString();

    if (served.kind === 'refused') {
      r.error(['apiVersion'], API_VERSION_CODES.get(kind) ?? 'bad-api-version', served.message, served.hint);
      continue;
    }
    if (served.kind === 'foreign') {
      // another project's kind of the same name (Gateway API's Gateway, Knative's Service): not Istio's or Kubernetes' own
      unmodeled.push({ kind, apiVersion, meta });
      r.warn([], 'not-modeled', `kind ${kind} (${apiVersion}) is another API's ${kind}, not the one meshrange models (group ${served.group}); it has no effect in the simulation`,
        'if you meant the Kubernetes or Istio kind, fix its apiVersion');
      continue;
    }
    // a cluster-scoped object has no namespace: one with and one without metadata.namespace are the same object
    const prev = seen.swap(kind, isClusterScoped(kind) ? '' : namespace, name, meta.loc);
    if (prev) {
      r.warn([], 'duplicate-object', `also defined at ${prev.file}:${prev.line}; the later definition wins, as with kubectl apply`,
        'keep one definition of this object');
    }

    if (kind === 'Namespace') {
      namespaces.set(name, { name, labels: meta.labels, annotations: meta.annotations, loc: meta.loc });
    } else if (WORKLOAD_KINDS.includes(kind)) {
      const spec = r.obj(value, 'spec', []) ?? {};
      let podLabels: Record<string, string> = { ...meta.labels };
      let podAnnotations: Record<string, string> = { ...meta.annotations };
      let podSpec: Obj | undefined = spec;
      let podPath: (string | number)[] = ['spec'];
      if (kind !== 'Pod') {
        const tpl = r.obj(spec, 'template', ['spec']);
        const tmd = tpl ? r.obj(tpl, 'metadata', ['spec', 'template']) : undefined;
        podLabels = (tmd && r.labels(tmd, 'labels', ['spec', 'template', 'metadata'])) ?? {};
        podAnnotations = (tmd && r.annotationsOf(tmd)) ?? {};
        podSpec = tpl ? r.obj(tpl, 'spec', ['spec', 'template']) : undefined;
        podPath = ['spec', 'template', 'spec'];
        if (!tpl) r.error(['spec'], 'missing-field', `${kind} has no spec.template`, 'add the pod template');
      }
      checkSimAnnotations(r, podAnnotations, kind === 'Pod' ? ['metadata', 'annotations'] : ['spec', 'template', 'metadata', 'annotations']);
      const ps = readPodSpec(r, podSpec, podPath);
      const annotationsPath = kind === 'Pod' ? ['metadata', 'annotations'] : ['spec', 'template', 'metadata', 'annotations'];
      // The capture annotations' locations are taken now, for the issues readCapture may raise once the workloads are
      // built: a locator kept instead would keep each document's parsed tree alive until the end of the load (at
      // 10,000 workloads, ~45 MB of garbage the collector could not free, and a heap twice the mesh's size).
      let annotationLocs: Map<string, Location> | undefined;
      for (const key of Object.keys(podAnnotations)) {
        if (isCaptureAnnotation(key)) (annotationLocs ??= new Map()).set(key, src.locate([...annotationsPath, key]));
      }
      const proxyConfigText = ownValue(podAnnotations, PROXY_CONFIG_ANNOTATION);
      // Its problems are kept until the pod's injection is known: only a proxy reads the annotation (buildWorkloads).
      const proxyConfigIssues = new IssueList();
      const proxyConfig = proxyConfigText === undefined ? undefined
        : readProxyConfigAnnotation(proxyConfigText, src.locate([...annotationsPath, PROXY_CONFIG_ANNOTATION]), `${kind} ${namespace}/${name}`, proxyConfigIssues);
      rawWorkloads.push({ kind: kind as WorkloadKind, meta, podLabels, podAnnotations, serviceAccount: ps.sa, ports: ps.ports, hostNetwork: ps.hostNetwork,
        ...(ps.dns ? { dns: ps.dns } : {}),
        ...(annotationLocs ? { annotationLocs } : {}), ...(proxyConfig ? { proxyConfig } : {}),
        ...(proxyConfigIssues.items.length > 0 ? { proxyConfigIssues: proxyConfigIssues.items } : {}) });
    } else if (kind === 'Service') {
      rawServices.push(readService(r, meta, value));
    } else if (kind === 'ConfigMap' && name === 'istio' && namespace !== 'istio-system') {
      r.warn([], 'mesh-config-namespace', `a ConfigMap named istio in namespace ${namespace} is an application ConfigMap, not the mesh config (istiod reads istio-system/istio)`);
    } else if (kind === 'ConfigMap' && name === 'istio') {
      // a second istio ConfigMap replaces the first, as every other object defined twice (duplicate-object says so)
      meshConfigItem = { reader: r, obj: value };
    } else if (kind === 'PeerAuthentication') {
      pas.push(readPeerAuthentication(r, meta, value));
    } else if (kind === 'AuthorizationPolicy') {
      aps.push(readAuthorizationPolicy(r, meta, value));
    } else if (kind === 'DestinationRule') {
      drs.push(readDestinationRule(r, meta, value));
    } else if (kind === 'RequestAuthentication') {
      ras.push(readRequestAuthentication(r, meta, value));
    } else if (kind === 'NetworkPolicy') {
      nps.push(readNetworkPolicy(r, meta, value));
    } else if (kind === 'ServiceEntry') {
      ses.push(readServiceEntry(r, meta, value));
    } else if (kind === 'WorkloadEntry') {
      wes.push(readWorkloadEntry(r, meta, value));
    } else if (kind === 'Sidecar') {
      sidecars.push(readSidecar(r, meta, value));
    } else if (kind === 'Gateway') {
      const gw = readGateway(r, meta, value);
      if (gw) gateways.push(gw);
    } else if (kind === 'VirtualService') {
      const vs = readVirtualService(r, meta, value);
      if (vs) vss.push(vs);
    } else if (kind === 'EnvoyFilter') {
      const ef = readEnvoyFilter(r, meta, value);
      rateLimits.push(...ef.rateLimits);
      for (const what of ef.notModeled) r.warn([], 'not-modeled', `${what} is not modeled (only the local rate limit pattern is); its effect on traffic is ignored`);
    } else if (kind === 'ProxyConfig') {
      proxyConfigs.push(readProxyConfig(r, meta, value));
    } else if (INERT_KINDS.includes(kind)) {
      // read, no effect on decisions
    } else if (NOT_YET.includes(kind)) {
      unmodeled.push({ kind, apiVersion, meta });
      r.warn([], 'not-modeled', `kind ${kind} (${apiVersion}) is not modeled yet; its effect on traffic is ignored`,
        'results for traffic this object would affect may differ from the cluster');
    } else if (apiVersion.startsWith('meshrange.io/')) {
      // a scenario or exercise file among the manifests (--mesh scenarios/, say): meshrange's own, not the cluster's
      unmodeled.push({ kind, apiVersion, meta });
      r.warn([], 'not-a-manifest', `kind ${kind} (${apiVersion}) is a meshrange file, not a Kubernetes or Istio manifest: it adds nothing to the mesh`,
        kind === 'Scenario' ? 'run a scenario with `meshrange run <file>`; --mesh takes the YAML you apply to the cluster (a scenario names its own in spec.mesh.manifests)'
          : 'give --mesh the YAML you apply to the cluster, not meshrange\'s own files');
    } else {
      unmodeled.push({ kind, apiVersion, meta });
      r.warn([], 'not-modeled', `kind ${kind} (${apiVersion}) is not modeled by meshrange and has no effect in the simulation`);
    }
  }

  if (yamlIssues.items.length > 0) {
    const read = issues.items.splice(0);
    for (const i of yamlIssues.items) issues.items.push(i);
    for (const i of read) issues.items.push(i);
  }

  // Mesh config: defaults ← istio ConfigMap ← scenario override.
  let config: MeshConfig = DEFAULT_MESH_CONFIG;
  if (meshConfigItem) config = readMeshConfigMap(meshConfigItem.reader, meshConfigItem.obj, config, issues);
  if (overrides.meshConfig) {
    const o = overrides.meshConfig;
    config = applyMeshConfig(config, o.value, o.reader, o.path);
  }

  // Namespaces referenced but not declared exist with no labels.
  const touch = (ns: string): void => {
    if (!namespaces.has(ns)) namespaces.set(ns, { name: ns, labels: {} });
  };
  for (const w of rawWorkloads) touch(w.meta.namespace);
  for (const s of rawServices) touch(s.meta.namespace);

  const workloads = buildWorkloads(rawWorkloads, namespaces, gateways, overrides.ips ?? {}, issues);
  const services = buildServices(rawServices);
  const byName = <T extends { meta: ObjectMeta }>(list: T[]): T[] => list.sort((a, b) => a.meta.order - b.meta.order);

  const mesh: Mesh = {
    config,
    namespaces,
    workloads,
    services,
    peerAuthentications: byName(dedupe(pas)),
    authorizationPolicies: byName(dedupe(aps)),
    destinationRules: byName(dedupe(drs)),
    requestAuthentications: byName(dedupe(ras)),
    networkPolicies: byName(dedupe(nps)),
    serviceEntries: byName(dedupe(ses)),
    sidecars: byName(dedupe(sidecars)),
    gateways: byName(dedupe(gateways)),
    virtualServices: byName(dedupe(vss)),
    rateLimits,
  };
  if (wes.length > 0) {
    mesh.workloadEntries = byName(dedupe(wes));
    warnUnselectedWorkloadEntries(mesh, issues);
  }
  if (unmodeled.length > 0) mesh.unmodeled = unmodeled;
  if (proxyConfigs.length > 0) mesh.proxyConfigs = byName(dedupe(proxyConfigs));
  if (!issues.hasErrors()) {
    analyzeRouting(mesh.gateways, mesh.virtualServices, mesh.workloads, issues);
    analyzeMesh(mesh, issues);
  }
  applyExportToDefaults(mesh);
  // delegation needs the delegates' exportTo as the mesh config defaults it (Istio merges after indexing exportTo)
  const merged = mergeDelegates(mesh.virtualServices);
  mesh.virtualServices = merged.list;
  for (const p of merged.problems) {
    if (p.severity === 'error') issues.error(p.code, p.message, p.loc, p.hint);
    else if (!issues.hasErrors()) issues.warn(p.code, p.message, p.loc, p.hint);
  }
  return { mesh, issues };
}

/**
 * The objects read so far, by the key the API server stores them under (kind, namespace — '' for a cluster-scoped
 * kind —, name), as maps by kind, then namespace, then name: each part whole, so no two run together (a kind is any
 * string, and a cluster-scoped kind's namespace is not checked), and no key string is made per object (40,000 of
 * them at 10,000 workloads, ~5 MB for as long as the load ran).
 */
class SeenObjects {
  private readonly byKind = new Map<string, Map<string, Map<string, Location>>>();

  /**
   * Where the object's key was defined before (or undefined); `loc` is stored in its place. Only the location: a
   * metadata kept here would keep, until the load ends, the labels and annotations of every object read, those of
   * kinds the mesh does not keep (ServiceAccounts, ConfigMaps) included.
   */
  swap(kind: string, namespace: string, name: string, loc: Location): Location | undefined {
    let byNamespace = this.byKind.get(kind);
    if (byNamespace === undefined) this.byKind.set(kind, byNamespace = new Map());
    let byName = byNamespace.get(namespace);
    if (byName === undefined) byNamespace.set(namespace, byName = new Map());
    const prev = byName.get(name);
    byName.set(name, loc);
    return prev;
  }
}

/** The key kubectl would store an item under (kind/namespace/name), or null when it has none. */
function itemKey(item: Item): string | null {
  const v = item.value;
  if (!isObj(v) || typeof v['kind'] !== 'string' || !isObj(v['metadata'])) return null;
  const md = v['metadata'];
  const name = md['name'];
  const ns = typeof md['namespace'] === 'string' ? md['namespace'] : item.namespace ?? 'default';
  return typeof name === 'string' ? `${v['kind']}/${ns}/${name}` : null;
}

/** The ingress gateway's objects the manifests do not define themselves (theirs win, with a warning, as a later kubectl apply would). */
function builtInGateway(own: ReadonlySet<string>, at: Location | undefined, issues: IssueList): Item[] {
  const out: Item[] = [];
  const f = ingressGatewayFile();
  for (const doc of parseYaml(f.path, f.text, issues)) flatten(doc, issues, out);
  return out.filter((i) => {
    const k = itemKey(i);
    if (k === null || !own.has(k)) return true;
    issues.warn('ingress-gateway-defined', `the manifests define ${k.replace('/', ' ')} themselves; theirs is used instead of the one istioctl install would add`, at,
      'leave out the ingress gateway option, or the gateway from the manifests');
    return false;
  });
}

/**
 * A WorkloadEntry is traffic's endpoint only through a ServiceEntry of its namespace whose workloadSelector its
 * labels match; one that none selects is said so, and a Kubernetes Service whose selector matches it (Istio adds it
 * to that Service's endpoints too) is named as not modeled.
 */
function warnUnselectedWorkloadEntries(mesh: Mesh, issues: IssueList): void {
  for (const we of mesh.workloadEntries ?? []) {
    const { namespace, name } = we.meta;
    const what = `WorkloadEntry ${quotedName(`${namespace}/${name}`)}`;
    const svc = mesh.services.find((s) => s.namespace === namespace && s.selector !== null && Object.keys(s.selector).length > 0 && selectorMatches(s.selector, we.labels));
    if (svc) {
      issues.warn('not-modeled', `${what}: Service ${quotedName(`${svc.namespace}/${svc.name}`)} selects it, and a Kubernetes Service's endpoints from WorkloadEntries are not modeled; traffic to the Service reaches only its pods here`, we.meta.loc,
        'results for that Service may differ from the cluster; a ServiceEntry with a workloadSelector does list it');
    }
    if (!mesh.serviceEntries.some((se) => se.meta.namespace === namespace && se.workloadSelector !== null && selectorMatches(se.workloadSelector, we.labels)) && !svc) {
      issues.warn('we-unselected', `${what} is selected by no ServiceEntry workloadSelector in namespace ${quotedName(namespace)}: it is no endpoint of any host`, we.meta.loc,
        'add a ServiceEntry with resolution STATIC (or DNS) whose workloadSelector labels the entry carries');
    }
  }
}

function dedupe<T extends { meta: ObjectMeta }>(list: T[]): T[] {
  const m = new Map<string, T>();
  for (const x of list) m.set(`${x.meta.namespace}/${x.meta.name}`, x);
  return [...m.values()];
}

/**
 * The manifests of every file in order, each read while its YAML nodes are at
 * hand; a document's nodes are let go when the next one is asked for, so a
 * 10,000-document file never holds every node tree at once (yaml-source.ts
 * streamYaml; a location asked later re-parses that file once).
 */
function* manifests(files: readonly SourceFile[], issues: IssueList,
  gateway?: { at: Location | undefined; issues: IssueList }): Generator<Item, void, undefined> {
  const own = new Set<string>();
  for (const f of files) {
    for (const doc of streamYaml(f.path, f.text, issues, { keepNodes: false })) {
      const items: Item[] = [];
      flatten(doc, issues, items);
      for (const item of items) {
        // the file's `kubectl apply -n` namespace (scenario manifests: [{path, namespace}])
        if (f.namespace !== undefined) item.namespace = f.namespace;
        if (gateway) { const k = itemKey(item); if (k !== null) own.add(k); }
        yield item;
      }
    }
  }
  // istioctl install's ingress gateway (spec.mesh.istio.ingressGateway / --ingress-gateway), after the
  // manifests so that the objects they define themselves are known and kept.
  if (gateway) yield* builtInGateway(own, gateway.at, gateway.issues);
}

function flatten(doc: SourceDoc, issues: IssueList, out: Item[]): void {
  const v = doc.value;
  if (isObj(v) && typeof v['kind'] === 'string' && v['kind'].endsWith('List') && Array.isArray(v['items'])) {
    (v['items'] as unknown[]).forEach((item, i) => {
      const sub: SourceDoc = { file: doc.file, index: doc.index, value: item, locate: (p) => doc.locate(['items', i, ...p]),
        locateKey: (p) => doc.locateKey(['items', i, ...p]), lineText: doc.lineText };
      flatten(sub, issues, out);
    });
    return;
  }
  out.push({ src: doc, value: v });
}

/**
 * The simulation facts a pod template may carry as `meshrange.io/*`
 * annotations (product.md §1), bounded as the scenario's `workloads:` facts
 * are (scenario/schema.ts): a service time above zero, a concurrency of at
 * least 1, a queue of zero or more — never arithmetic on a negative or NaN.
 */
function checkSimAnnotations(r: Reader, annotations: Readonly<Record<string, string>>, path: (string | number)[]): void {
  const bad = (key: string, value: string, what: string): void => r.error([...path, `meshrange.io/${key}`], 'bad-sim-annotation',
    `annotation meshrange.io/${key}: "${value}" is not ${what}`, `write e.g. meshrange.io/${key}: "${key === 'service-time' ? '5ms' : key === 'concurrency' ? '16' : '100'}"`);
  const serviceTime = ownValue(annotations, 'meshrange.io/service-time');
  if (serviceTime !== undefined) {
    const ms = parseDuration(serviceTime);
    if (ms === null || ms < 0.001) bad('service-time', serviceTime, 'a duration of at least 0.001ms');
  }
  const int = (key: string, min: number, max: number): void => {
    const v = ownValue(annotations, `meshrange.io/${key}`);
    if (v !== undefined && !(/^\d{1,9}$/.test(v) && Number(v) >= min && Number(v) <= max)) bad(key, v, `a whole number from ${min} to ${grouped(max)}`);
  };
  int('concurrency', 1, 1_000_000);
  int('queue', 0, 10_000_000);
}

function nodeIp(k: number): string {
  return `172.18.${Math.floor(k / 250)}.${(k % 250) + 2}`;
}

function buildWorkloads(raw: RawWorkload[], namespaces: Map<string, Namespace>, gateways: readonly Gateway[],
  ips: Readonly<Record<string, string>>, issues: IssueList): Workload[] {
  const sorted = [...raw].sort((a, b) => byCodeUnit(idOf(a.meta), idOf(b.meta)));
  const uniq = new Map<string, RawWorkload>();
  for (const w of sorted) uniq.set(idOf(w.meta), w);
  let n = 0;
  let nodes = 0;
  return [...uniq.values()].map((w) => {
    const ns = namespaces.get(w.meta.namespace) as Namespace;
    // A pod is a gateway by its own marks (the istio label of Istio's gateways, the gateway injection template), or
    // when a Gateway selects it and it gets no sidecar: an injected sidecar ignores Gateways (SetGatewaysForProxy
    // reads them for router proxies only), so a Gateway selecting app pods changes nothing there.
    const marked = isGatewayPod(w.podLabels, w.podAnnotations, []);
    const injection = marked ? null : decideInjection(ns.name, ns.labels, w.podLabels, w.podAnnotations, w.hostNetwork);
    const selectedBy = gateways.find((g) => Object.keys(g.selector).length > 0 && selectorMatches(g.selector, w.podLabels));
    const gateway = marked || (injection !== null && !injection.sidecar && selectedBy !== undefined);
    if (!marked && injection?.sidecar && selectedBy) {
      issues.warn('gateway-selects-sidecar', `Gateway ${selectedBy.meta.namespace}/${selectedBy.meta.name} selects ${w.kind} ${idOf(w.meta)}, which runs a sidecar: a sidecar ignores Gateways, so the Gateway configures nothing there`,
        selectedBy.meta.loc, 'select the gateway pods (e.g. istio: ingressgateway), not application pods');
    }
    // (no injection decision only for a marked pod, which is a gateway)
    const inj = gateway || injection === null
      ? { sidecar: false, reason: 'a gateway proxy (an Envoy itself): enforces policy without a sidecar' }
      : injection;
    const id = idOf(w.meta);
    const index = n++;
    const sim: Record<string, string> = {};
    for (const [k, v] of Object.entries(w.podAnnotations)) if (k.startsWith('meshrange.io/')) setOwn(sim, k.slice('meshrange.io/'.length), v);
    // istio-init installs the capture rules only in a pod that gets a sidecar (a gateway's template runs none).
    const cap = readCapture(w.podAnnotations, inj.sidecar);
    for (const p of cap.problems) {
      const loc = w.annotationLocs?.get(p.key) ?? w.meta.loc;
      const message = `${w.kind} ${id}: ${p.message}`;
      if (p.severity === 'error') issues.error(p.code, message, loc, p.hint); else issues.warn(p.code, message, loc, p.hint);
    }
    const workload: Workload = {
      kind: w.kind,
      id,
      namespace: w.meta.namespace,
      name: w.meta.name,
      labels: w.podLabels,
      annotations: w.podAnnotations,
      serviceAccount: w.serviceAccount,
      ports: w.ports,
      sidecar: inj.sidecar,
      sidecarReason: inj.reason,
      gateway,
      hostNetwork: w.hostNetwork,
      // a hostNetwork pod has its node's address, outside the pod network (one node each: 172.18.0.0/16, kind's)
      ip: ownValue(ips, id) ?? (w.hostNetwork ? nodeIp(nodes++) : `10.244.${Math.floor(index / 250)}.${(index % 250) + 2}`),
      loc: w.meta.loc,
      sim,
    };
    if (w.dns) workload.dns = w.dns;
    if (cap.capture) workload.capture = cap.capture;
    // the annotation's problems: errors for a pod with a proxy (the injector or the gateway's agent refuses it),
    // warnings for one without, which nothing reads it for
    for (const i of w.proxyConfigIssues ?? []) {
      if (inj.sidecar || gateway || i.severity !== 'error') issues.add(i);
      else issues.warn(i.code, `${i.message} (the pod gets no proxy, so nothing reads the annotation)`, i.loc, i.hint);
    }
    if (w.proxyConfig?.dnsCapture !== undefined) workload.dnsCaptureAnnotation = w.proxyConfig.dnsCapture;
    if (w.proxyConfig?.numTrustedProxies !== undefined) workload.numTrustedProxies = w.proxyConfig.numTrustedProxies;
    if (w.proxyConfig?.forwardClientCertDetails !== undefined) workload.forwardClientCertDetails = w.proxyConfig.forwardClientCertDetails;
    if (w.kind !== 'Pod' && Object.keys(w.meta.annotations).length > 0) workload.objectAnnotations = w.meta.annotations;
    return workload;
  });
}

/**
 * The mesh config's exportTo defaults (defaultServiceExportTo, defaultVirtualServiceExportTo,
 * defaultDestinationRuleExportTo) made explicit: under `.`, a resource with an empty exportTo is exported to its own
 * namespace only, as Istio indexes it (initDefaultExportMaps and the indexes that read them), so every lookup reads
 * one exportTo. A DestinationRule keeps the exportTo as written for consolidation, whose sets Istio builds from it.
 */
function applyExportToDefaults(mesh: Mesh): void {
  const d = mesh.config.exportToDefaults;
  if (d.virtualService !== '*') for (const vs of mesh.virtualServices) if (vs.exportTo.length === 0) vs.exportTo = [d.virtualService];
  if (d.destinationRule === '.') {
    for (const dr of mesh.destinationRules) if (dr.exportTo.length === 0) { dr.exportToWritten = []; dr.exportTo = ['.']; }
  }
  if (d.service !== '*') {
    for (const se of mesh.serviceEntries) if (se.exportTo.length === 0) se.exportTo = [d.service];
    for (const s of mesh.services) {
      const listed = exportToAnnotation(s);
      s.exportTo = listed.length > 0 ? listed : [d.service];
    }
  }
}

function buildServices(raw: RawService[]): Service[] {
  const sorted = [...raw].sort((a, b) => byCodeUnit(idOf(a.meta), idOf(b.meta)));
  return sorted.map((s, index) => ({
    namespace: s.meta.namespace,
    name: s.meta.name,
    fqdn: `${s.meta.name}.${s.meta.namespace}.svc.cluster.local`,
    selector: s.selector,
    ports: s.ports,
    annotations: s.meta.annotations,
    clusterIP: s.clusterIP ?? `10.96.${Math.floor(index / 250)}.${(index % 250) + 10}`,
    headless: s.headless,
    type: s.type,
    externalTrafficPolicy: s.externalTrafficPolicy,
    ...(s.loadBalancerSourceRanges ? { loadBalancerSourceRanges: s.loadBalancerSourceRanges } : {}),
    loc: s.meta.loc,
  }));
}

function idOf(meta: ObjectMeta): string {
  return `${meta.namespace}/${meta.name}`;
}

/**
 * `meshrange.io/ignore` lists lint rule codes (MRnnnn), separated by commas or spaces; anything else in it silences
 * nothing, so it is said (a warning at the annotation) rather than read as if it did: `MR0102;MR0119`, `*`, `all`.
 */
function checkIgnoreAnnotation(r: Reader, annotations: Readonly<Record<string, string>>): void {
  if (!Object.hasOwn(annotations, IGNORE_ANNOTATION)) return;
  const odd = ignoreTokens(annotations[IGNORE_ANNOTATION] as string).filter((t) => !/^MR[0-9]{4}$/.test(t)).slice(0, 5);
  if (odd.length === 0) return;
  r.warn(['metadata', 'annotations', IGNORE_ANNOTATION], 'ignore-not-a-code',
    `${IGNORE_ANNOTATION}: ${odd.map((t) => quotedName(t)).join(', ')} ${odd.length === 1 ? 'is not a lint rule code' : 'are not lint rule codes'} (MRnnnn): ${odd.length === 1 ? 'it silences' : 'they silence'} nothing`,
    'list the codes to silence, separated by commas or spaces, e.g. meshrange.io/ignore: MR0102, MR0119 (`meshrange lint` prints each finding\'s code)');
}

