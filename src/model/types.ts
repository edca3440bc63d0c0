/**
 * The mesh as immutable data. Everything here is what the loader read from
 * real manifests, resolved (injection, identities, port maps) but not yet
 * judged: judgement lives in `policy/`.
 */
import type { Location } from '../core/issues.js';
import type { Cidr } from '../core/ip.js';
import type { ServiceEntry, Sidecar, WorkloadEntry } from './egress.js';
import type { NetworkPolicy } from './network-policy.js';
import type { RequestAuthentication } from './request-authentication.js';
import type { Gateway, VirtualService } from './routing.js';
import type { LocalRateLimit } from './envoy-filter.js';
import type { ConnectionPool, OutlierDetection } from './traffic-policy.js';

export type Labels = Readonly<Record<string, string>>;

/** Where a resource came from, and its apply order (earlier = older). */
export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Labels;
  annotations: Labels;
  /** metadata.creationTimestamp if given, else undefined (apply order decides) */
  creationTimestamp?: string;
  /** position in load order: files sorted by path, documents in file order */
  order: number;
  loc: Location;
}

export interface Namespace {
  name: string;
  labels: Labels;
  /** metadata.annotations of a declared Namespace (e.g. `meshrange.io/ignore` for lint); absent when not declared */
  annotations?: Labels;
  loc?: Location;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: string;
}

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Pod' | 'ReplicaSet';

export interface Workload {
  kind: WorkloadKind;
  /** `namespace/name` */
  id: string;
  namespace: string;
  name: string;
  /** pod template labels (what selectors see) */
  labels: Labels;
  /** pod template annotations */
  annotations: Labels;
  /** the workload object's own metadata.annotations (a Deployment's, not its pod template's); absent = none */
  objectAnnotations?: Labels;
  serviceAccount: string;
  ports: ContainerPort[];
  /** a sidecar Envoy is injected (istio-semantics §2) */
  sidecar: boolean;
  /** why (or why not) — one sentence for explanations */
  sidecarReason: string;
  /** this workload is itself an Envoy gateway (enforces policy, no sidecar) */
  gateway: boolean;
  hostNetwork: boolean;
  ip: string;
  loc: Location;
  /** simulation facts from `meshrange.io/*` annotations */
  sim: Readonly<Record<string, string>>;
  /**
   * The pod's iptables capture as istio-init installs it from the
   * `traffic.sidecar.istio.io/*` annotations (policy/capture.ts);
   * absent = the injector's defaults (everything TCP is captured).
   * Only meaningful for a workload with a sidecar.
   */
  capture?: SidecarCapture;
  /**
   * Where the pod's resolver sends its queries when not to cluster DNS: `dnsPolicy: Default` (the node's resolver,
   * an address meshrange does not know) or `None` (the `dnsConfig.nameservers`). Absent = kube-dns (ClusterFirst,
   * and ClusterFirstWithHostNet, which is ClusterFirst for a pod of the pod network).
   */
  dns?: { policy: 'Default' | 'None'; nameservers: readonly string[] };
  /** ISTIO_META_DNS_CAPTURE from the `proxy.istio.io/config` annotation's proxyMetadata; absent = not set there (policy/dns-capture.ts) */
  dnsCaptureAnnotation?: boolean;
  /** a gateway pod's gatewayTopology.numTrustedProxies from its `proxy.istio.io/config` annotation; absent = the mesh config's */
  numTrustedProxies?: number;
  /** a gateway pod's gatewayTopology.forwardClientCertDetails from its `proxy.istio.io/config` annotation; absent = the mesh config's */
  forwardClientCertDetails?: ForwardClientCertDetails;
}

/**
 * What a gateway's connection manager does with X-Forwarded-Client-Cert (Envoy's forward_client_cert_details, set by
 * Istio from gatewayTopology.forwardClientCertDetails; SANITIZE_SET when unset).
 */
export type ForwardClientCertDetails = 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';
export const FORWARD_CLIENT_CERT_DETAILS: readonly ForwardClientCertDetails[] = ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'];

/** A CIDR as written in an annotation, and parsed. */
export interface CaptureRange {
  text: string;
  cidr: Cidr;
}

/**
 * Which connections the pod's iptables rules redirect to its sidecar
 * (istio-iptables flags -b -d -q -o -i -x; sidecar.istio.io/interceptionMode).
 */
export interface SidecarCapture {
  /** interceptionMode NONE: istio-init installs no redirect at all */
  interceptionNone: boolean;
  /** includeInboundPorts: `*` (default) or the only ports redirected (empty list: none) */
  includeInboundPorts: '*' | readonly number[];
  /** excludeInboundPorts: consulted only when includeInboundPorts is `*` */
  excludeInboundPorts: readonly number[];
  /** includeOutboundPorts: redirected whatever the destination address */
  includeOutboundPorts: readonly number[];
  /** excludeOutboundPorts: never redirected (checked before anything else) */
  excludeOutboundPorts: readonly number[];
  /** includeOutboundIPRanges: `*` (default) or the only ranges redirected (empty list: none) */
  includeOutboundIPRanges: '*' | readonly CaptureRange[];
  /** excludeOutboundIPRanges: never redirected (checked before the inclusions) */
  excludeOutboundIPRanges: readonly CaptureRange[];
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort: number | string;
  protocol: string;
  appProtocol?: string;
}

export interface Service {
  namespace: string;
  name: string;
  /** `name.namespace.svc.cluster.local` */
  fqdn: string;
  selector: Labels | null;
  ports: ServicePort[];
  annotations: Labels;
  clusterIP: string;
  headless: boolean;
  /** ClusterIP (default), NodePort, LoadBalancer, ExternalName */
  type: string;
  /** `Local` keeps the client source IP on LoadBalancer/NodePort Services; `Cluster` (default) SNATs to a node IP */
  externalTrafficPolicy: string;
  /**
   * `spec.loadBalancerSourceRanges` of a LoadBalancer Service, as written (trimmed): the client ranges its cloud load
   * balancer admits. Absent when the Service lists none (the load balancer admits every address).
   */
  loadBalancerSourceRanges?: readonly string[];
  /**
   * exportTo: the `networking.istio.io/exportTo` annotation's entries, or `.` when it has none and the mesh config's
   * defaultServiceExportTo is `.`; absent: read the annotation (empty: everywhere)
   */
  exportTo?: string[];
  loc: Location;
}

/** The entries of a Service's `networking.istio.io/exportTo` annotation (comma-separated); none: [] */
export function exportToAnnotation(s: Service): string[] {
  const a = s.annotations['networking.istio.io/exportTo'];
  return a === undefined ? [] : a.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

export type OutboundMode = 'ALLOW_ANY' | 'REGISTRY_ONLY' | 'ALLOW_ANY_DYNAMIC_DNS';
export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

export interface ExtensionProvider {
  name: string;
  kind: string;
}

export interface MeshConfig {
  trustDomain: string;
  trustDomainAliases: string[];
  rootNamespace: string;
  enableAutoMtls: boolean;
  outboundTrafficPolicy: OutboundMode;
  pathNormalization: PathNormalization;
  extensionProviders: ExtensionProvider[];
  /** defaultConfig.gatewayTopology.numTrustedProxies: X-Forwarded-For hops a gateway trusts (0 = none) */
  numTrustedProxies: number;
  /** defaultConfig.gatewayTopology.forwardClientCertDetails; absent = unset (a gateway then uses SANITIZE_SET) */
  forwardClientCertDetails?: ForwardClientCertDetails;
  /**
   * defaultServiceExportTo, defaultVirtualServiceExportTo, defaultDestinationRuleExportTo: what an empty exportTo
   * means (Istio honours `.` and `*`; a Service or VirtualService default holding neither is seen by no one, `~`, a
   * DestinationRule one leaves it public). The loader writes the default into the empty exportTo it changes.
   */
  exportToDefaults: { service: '.' | '*' | '~'; virtualService: '.' | '*' | '~'; destinationRule: '.' | '*' };
  /** defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE as ParseBool reads it; absent = not set (off) */
  dnsCapture?: boolean;
  loc?: Location;
}

export const DEFAULT_MESH_CONFIG: MeshConfig = {
  trustDomain: 'cluster.local',
  trustDomainAliases: [],
  rootNamespace: 'istio-system',
  enableAutoMtls: true,
  outboundTrafficPolicy: 'ALLOW_ANY',
  pathNormalization: 'BASE',
  extensionProviders: [],
  numTrustedProxies: 0,
  exportToDefaults: { service: '*', virtualService: '*', destinationRule: '*' },
};

export type MtlsMode = 'UNSET' | 'PERMISSIVE' | 'STRICT' | 'DISABLE';

export interface PeerAuthentication {
  meta: ObjectMeta;
  /** null = no selector (mesh- or namespace-level) */
  selector: Labels | null;
  mode: MtlsMode;
  portLevelMtls: ReadonlyMap<number, MtlsMode>;
}

export type AuthzAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface AuthzSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  trustDomains?: string[];
  notTrustDomains?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}

export interface AuthzOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

export interface AuthzCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

export interface AuthzRule {
  from?: { source: AuthzSource }[];
  to?: { operation: AuthzOperation }[];
  when?: AuthzCondition[];
}

export interface TargetRef {
  group?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface AuthorizationPolicy {
  meta: ObjectMeta;
  selector: Labels | null;
  targetRefs: TargetRef[];
  action: AuthzAction;
  provider?: string;
  /** undefined = no `rules` field (matches nothing for ALLOW) */
  rules: AuthzRule[] | undefined;
  /** where each of `rules` is written (same index), for findings that point at a rule; absent = not known */
  ruleLocs?: readonly Location[];
  dryRun: boolean;
}

export type ClientTlsMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

export interface ClientTlsSettings {
  mode: ClientTlsMode;
  subjectAltNames?: string[];
  sni?: string;
  caCertificates?: string;
  credentialName?: string;
}

export interface TrafficPolicy {
  tls?: ClientTlsSettings;
  /** `lbSimple`: the entry's `loadBalancer.simple`, when set (PASSTHROUGH makes the port's cluster ORIGINAL_DST) */
  portLevelSettings?: { port: number; tls?: ClientTlsSettings; lbSimple?: string }[];
  /** the raw rest (loadBalancer…) kept for later controls */
  raw: Record<string, unknown>;
  /** circuit breaker settings (§10); absent = Envoy defaults */
  connectionPool?: ConnectionPool;
  /** absent = no outlier detection on the cluster */
  outlierDetection?: OutlierDetection;
}

export interface Subset {
  name: string;
  labels: Labels;
  trafficPolicy?: TrafficPolicy;
}

export interface DestinationRule {
  meta: ObjectMeta;
  host: string;
  /** host qualified with the DR's namespace when short */
  fqdnHost: string;
  exportTo: string[];
  /** the exportTo as written, when the loader filled an empty one from the mesh default (consolidation reads it) */
  exportToWritten?: string[];
  trafficPolicy?: TrafficPolicy;
  subsets: Subset[];
  workloadSelector: Labels | null;
}

export interface Mesh {
  config: MeshConfig;
  namespaces: ReadonlyMap<string, Namespace>;
  workloads: readonly Workload[];
  services: readonly Service[];
  peerAuthentications: readonly PeerAuthentication[];
  authorizationPolicies: readonly AuthorizationPolicy[];
  destinationRules: readonly DestinationRule[];
  requestAuthentications: readonly RequestAuthentication[];
  networkPolicies: readonly NetworkPolicy[];
  serviceEntries: readonly ServiceEntry[];
  /** WorkloadEntries (endpoints of the ServiceEntries that select them), in load order; absent = none */
  workloadEntries?: readonly WorkloadEntry[];
  sidecars: readonly Sidecar[];
  gateways: readonly Gateway[];
  virtualServices: readonly VirtualService[];
  /** local rate limits from EnvoyFilters (§10) */
  rateLimits: readonly LocalRateLimit[];
  /**
   * Objects the loader read but does not model (a kind it warned about, e.g. the
   * legacy rbac.istio.io kinds), so posture checks (src/lint) can name them; absent = none recorded.
   */
  unmodeled?: readonly UnmodeledObject[];
  /** ProxyConfig resources (networking.istio.io/v1beta1), in load order; absent = none */
  proxyConfigs?: readonly ProxyConfigResource[];
}

/** A ProxyConfig resource, as far as traffic is concerned (loader/proxy-config.ts). */
export interface ProxyConfigResource {
  meta: ObjectMeta;
  /** null = the whole namespace (in the root namespace: every pod of the mesh) */
  selector: Labels | null;
  /** a selector without labels: Istio applies the resource to no pod */
  selectsNothing?: boolean;
  /** environmentVariables.ISTIO_META_DNS_CAPTURE as ParseBool reads it; absent = not set here */
  dnsCapture?: boolean;
}

/** An object of a kind meshrange does not simulate: what it is and where. */
export interface UnmodeledObject {
  kind: string;
  apiVersion: string;
  meta: ObjectMeta;
}

export function workloadById(mesh: Mesh, id: string): Workload | undefined {
  return mesh.workloads.find((w) => w.id === id);
}

/** Kubernetes label-selector subset match: every selector label present and equal. */
export function selectorMatches(selector: Labels, labels: Labels): boolean {
  // a key loop, not Object.entries: selection runs this for every (policy, workload) pair
  for (const k in selector) {
    if (!Object.hasOwn(selector, k)) continue;
    if (!Object.hasOwn(labels, k) || labels[k] !== selector[k]) return false;
  }
  return true;
}

/** Principal as AuthorizationPolicy sees it: `<td>/ns/<ns>/sa/<sa>` (no scheme). */
export function principalOf(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export function spiffeId(principal: string): string {
  return `spiffe://${principal}`;
}
