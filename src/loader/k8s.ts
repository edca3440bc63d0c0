/** Core Kubernetes kinds: Namespace, workloads, Service, the `istio` mesh ConfigMap. */
import { exactSize } from '../core/arrays.js';
import type { Issue, IssueList, Location } from '../core/issues.js';
import type { ContainerPort, ExtensionProvider, MeshConfig, ObjectMeta, OutboundMode, PathNormalization, ServicePort, WorkloadKind } from '../model/types.js';
import { parseCidr, parseIp } from '../core/ip.js';
import { DNS1123_LABEL_FORM, isDns1123Label, isDns1123Subdomain, portNameProblem, quotedName } from './names.js';
import { isObj, Reader, type Obj } from './reader.js';
import type { Path } from './yaml-source.js';
import { parseYaml } from './yaml-source.js';
import { readDnsCapture, readForwardClientCertDetails, readNumTrustedProxies, type AnnotatedProxyConfig } from './proxy-config.js';

export interface RawWorkload {
  kind: WorkloadKind;
  meta: ObjectMeta;
  podLabels: Record<string, string>;
  podAnnotations: Record<string, string>;
  serviceAccount: string;
  ports: ContainerPort[];
  hostNetwork: boolean;
  /** `dnsPolicy` Default or None (with `dnsConfig.nameservers`); absent = cluster DNS */
  dns?: { policy: 'Default' | 'None'; nameservers: string[] };
  /** where each capture annotation of the pod template sits (readCapture's keys only), for located issues */
  annotationLocs?: ReadonlyMap<string, Location>;
  /** what the `proxy.istio.io/config` annotation sets (loader/proxy-config.ts) */
  proxyConfig?: AnnotatedProxyConfig;
  /** the annotation's problems, reported once the pod's injection is known */
  proxyConfigIssues?: Issue[];
}

export interface RawService {
  meta: ObjectMeta;
  selector: Record<string, string> | null;
  ports: ServicePort[];
  clusterIP?: string;
  headless: boolean;
  type: string;
  externalTrafficPolicy: string;
  /** `spec.loadBalancerSourceRanges`, trimmed, when it lists any */
  loadBalancerSourceRanges?: string[];
}

const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];

/**
 * `dnsPolicy` and `dnsConfig.nameservers` as the API server validates them (validateDNSPolicy, validatePodDNSConfig:
 * one of the four policies; None needs dnsConfig with at least one nameserver; at most 3 nameservers, each an IP).
 * Undefined for cluster DNS; a hostNetwork pod's ClusterFirst is Default, which the caller needs no answer for.
 */
function readDns(r: Reader, spec: Obj, path: Path): { policy: 'Default' | 'None'; nameservers: string[] } | undefined {
  const policy = r.str(spec, 'dnsPolicy', path);
  if (policy !== undefined && !DNS_POLICIES.includes(policy)) {
    r.error([...path, 'dnsPolicy'], 'bad-dns-policy', `dnsPolicy ${quotedName(policy)} is not ClusterFirst, ClusterFirstWithHostNet, Default or None`,
      'use ClusterFirst (cluster DNS, the default), Default (the node\'s resolver) or None (with dnsConfig.nameservers)');
    return undefined;
  }
  const cfg = r.obj(spec, 'dnsConfig', path);
  const cpath: Path = [...path, 'dnsConfig'];
  const nameservers = (cfg ? r.strList(cfg, 'nameservers', cpath) : undefined) ?? [];
  let ok = true;
  if (nameservers.length > 3) {
    r.error([...cpath, 'nameservers'], 'bad-dns-config', `dnsConfig.nameservers lists ${nameservers.length} addresses; at most 3 are allowed`, 'keep three at most');
    ok = false;
  }
  nameservers.forEach((ip, i) => {
    if (!parseIp(ip)) { r.error([...cpath, 'nameservers', i], 'bad-dns-config', `nameserver ${quotedName(ip)} is not an IP address`, 'write the resolver\'s address, e.g. 10.96.0.10'); ok = false; }
  });
  if (policy === 'None' && nameservers.length === 0) {
    r.error([...path, 'dnsPolicy'], 'bad-dns-config', 'dnsPolicy None needs dnsConfig.nameservers: the pod would have no resolver',
      'add dnsConfig: { nameservers: [<address>] }, or use ClusterFirst');
    return undefined;
  }
  if (!ok) return undefined;
  if (policy === 'Default' || policy === 'None') return { policy, nameservers };
  return undefined;
}

export function readPodSpec(r: Reader, spec: Obj | undefined, path: Path): { sa: string; ports: ContainerPort[]; hostNetwork: boolean; dns?: { policy: 'Default' | 'None'; nameservers: string[] } } {
  const out: { sa: string; ports: ContainerPort[]; hostNetwork: boolean; dns?: { policy: 'Default' | 'None'; nameservers: string[] } } = { sa: 'default', ports: [], hostNetwork: false };
  if (!spec) return out;
  const dns = readDns(r, spec, path);
  if (dns) out.dns = dns;
  const saField = spec['serviceAccountName'] !== undefined ? 'serviceAccountName' : 'serviceAccount';
  // an empty name is no name: the pod runs as `default` (the API server fills it in)
  out.sa = r.str(spec, 'serviceAccountName', path) || r.str(spec, 'serviceAccount', path) || 'default';
  if (!isDns1123Subdomain(out.sa)) {
    // the account is the principal's last part (…/ns/<ns>/sa/<sa>): `a/sa/b` would pass for another identity
    r.error([...path, saField], 'bad-name', `${saField} ${quotedName(out.sa)} must be a DNS-1123 subdomain (a ServiceAccount's name): lower-case letters, digits, '-' and '.'`,
      'name the pod\'s ServiceAccount as it is written in its metadata.name; the Kubernetes API server refuses this one');
    out.sa = 'default';
  }
  out.hostNetwork = r.bool(spec, 'hostNetwork', path) ?? false;
  const containers = r.arr(spec, 'containers', path) ?? [];
  containers.forEach((c, ci) => {
    const cpath = [...path, 'containers', ci];
    if (!isObj(c)) { r.error(cpath, 'field-type', 'each container must be a mapping'); return; }
    const ports = r.arr(c, 'ports', cpath) ?? [];
    ports.forEach((p, pi) => {
      const ppath = [...cpath, 'ports', pi];
      if (!isObj(p)) { r.error(ppath, 'field-type', 'each container port must be a mapping'); return; }
      const containerPort = r.int(p, 'containerPort', ppath);
      if (containerPort === undefined) {
        if (p['containerPort'] === undefined) r.error(ppath, 'missing-field', 'container port has no containerPort', 'add containerPort: <number>');
        return;
      }
      if (containerPort < 1 || containerPort > 65535) {
        r.error([...ppath, 'containerPort'], 'bad-port', `containerPort ${r.written([...ppath, 'containerPort'], containerPort)} is outside 1-65535`);
        return;
      }
      const cp: ContainerPort = { containerPort, protocol: r.str(p, 'protocol', ppath) ?? 'TCP' };
      const name = r.str(p, 'name', ppath);
      // ValidateContainerPorts: a name, when given, is an IANA_SVC_NAME (a Service's targetPort refers to it)
      const problem = name === undefined || name === '' ? undefined : portNameProblem(name);
      if (name !== undefined && problem !== undefined) {
        r.error([...ppath, 'name'], 'bad-port-name', `container port name ${quotedName(name)} is not a valid port name: it ${problem}`,
          'name the port like http or grpc-api: at most 15 lower-case letters, digits and \'-\', with at least one letter');
        return;
      }
      if (name !== undefined) cp.name = name;
      out.ports.push(cp);
    });
  });
  out.ports = exactSize(out.ports);
  return out;
}

/**
 * A Service port's `targetPort` as the API server takes it: absent, 0 or "" is the port itself (SetDefaults_Service);
 * otherwise ValidatePortNumOrName: a number in 1-65535, or a string that is a port name (IANA_SVC_NAME). A quoted
 * number is a string in IntOrString and has no letter, so `targetPort: "8080"` is refused. Undefined when refused.
 */
function readTargetPort(r: Reader, p: Obj, path: Path, port: number): number | string | undefined {
  const tpath: Path = [...path, 'targetPort'];
  if (p['targetPort'] === undefined || p['targetPort'] === null) return port;
  const v = r.intOrString(p, 'targetPort', path);
  if (v === undefined) return undefined;
  if (v === 0 || v === '') return port;
  if (typeof v === 'number') {
    if (v >= 1 && v <= 65535) return v;
    r.error(tpath, 'bad-target-port', `targetPort ${r.written(tpath, v)} is outside 1-65535`,
      'write the container\'s port number (1-65535) or the name of a container port; leave targetPort out to use the Service port');
    return undefined;
  }
  const problem = portNameProblem(v);
  if (problem === undefined) return v;
  r.error(tpath, 'bad-target-port', `targetPort ${quotedName(v)} is not a valid port name: it ${problem}`,
    /^\d{1,5}$/.test(v) ? `a quoted number is a name to Kubernetes: write the number without quotes, targetPort: ${v}`
      : 'use a container port number (1-65535) or a container port name such as http (at most 15 lower-case letters, digits and \'-\')');
  return undefined;
}

export function readService(r: Reader, meta: ObjectMeta, obj: Obj): RawService {
  const spec = r.obj(obj, 'spec', []) ?? {};
  const selector = r.labels(spec, 'selector', ['spec']) ?? null;
  const clusterIP = r.str(spec, 'clusterIP', ['spec']);
  const ports: ServicePort[] = [];
  (r.arr(spec, 'ports', ['spec']) ?? []).forEach((p, i) => {
    const path = ['spec', 'ports', i];
    if (!isObj(p)) { r.error(path, 'field-type', 'each service port must be a mapping'); return; }
    const port = r.int(p, 'port', path);
    if (port === undefined) {
      if (p['port'] === undefined) r.error(path, 'missing-field', 'service port has no port', 'add port: <number>');
      return;
    }
    if (port < 1 || port > 65535) { r.error([...path, 'port'], 'bad-port', `port ${r.written([...path, 'port'], port)} is outside 1-65535`); return; }
    const targetPort = readTargetPort(r, p, path, port);
    if (targetPort === undefined) return;
    const name = r.str(p, 'name', path);
    if (name !== undefined && name !== '' && !isDns1123Label(name)) {
      r.error([...path, 'name'], 'bad-port-name', `service port name ${quotedName(name)} ${DNS1123_LABEL_FORM}`,
        'name the port like http, grpc-api or tcp-db (lower case, the protocol first for Istio)');
      return;
    }
    const sp: ServicePort = { port, targetPort, protocol: r.str(p, 'protocol', path) ?? 'TCP' };
    if (name !== undefined) sp.name = name;
    const appProtocol = r.str(p, 'appProtocol', path);
    if (appProtocol !== undefined) sp.appProtocol = appProtocol;
    ports.push(sp);
  });
  const svc: RawService = { meta, selector, ports: exactSize(ports), headless: clusterIP === 'None', type: r.str(spec, 'type', ['spec']) ?? 'ClusterIP',
    externalTrafficPolicy: r.str(spec, 'externalTrafficPolicy', ['spec']) ?? 'Cluster' };
  if (clusterIP !== undefined && clusterIP !== 'None') svc.clusterIP = clusterIP;
  const ranges = readSourceRanges(r, spec, svc.type);
  if (ranges.length > 0) svc.loadBalancerSourceRanges = ranges;
  return svc;
}

/** At most this many `loadBalancerSourceRanges` are read (the API server sets no count; cloud firewalls hold far fewer). */
export const MAX_SOURCE_RANGES = 1024;
/** The longest CIDR text: an IPv6 address with an IPv4 tail and `/128` is 49 characters. */
const MAX_CIDR_TEXT = 64;

/**
 * `spec.loadBalancerSourceRanges` as the API server validates it (ValidateService): only on a LoadBalancer Service,
 * each entry (spaces trimmed) an IP range with a prefix length (a bare address is refused). The first
 * MAX_SOURCE_RANGES entries are read, and a longer list is said to be cut.
 */
function readSourceRanges(r: Reader, spec: Obj, type: string): string[] {
  const list = r.strList(spec, 'loadBalancerSourceRanges', ['spec']) ?? [];
  if (list.length === 0) return [];
  if (type !== 'LoadBalancer') {
    r.error(['spec', 'loadBalancerSourceRanges'], 'svc-source-ranges-type', `loadBalancerSourceRanges may only be used when type is LoadBalancer (this Service is ${quotedName(type)})`,
      'remove loadBalancerSourceRanges, or make the Service type: LoadBalancer');
    return [];
  }
  if (list.length > MAX_SOURCE_RANGES) {
    r.warn(['spec', 'loadBalancerSourceRanges'], 'svc-too-many-source-ranges', `loadBalancerSourceRanges lists ${list.length} entries; meshrange reads the first ${MAX_SOURCE_RANGES}`,
      'list the peer networks\' ranges only, aggregated into fewer blocks');
  }
  const out: string[] = [];
  list.slice(0, MAX_SOURCE_RANGES).forEach((raw, i) => {
    const text = raw.trim();
    if (text.length > MAX_CIDR_TEXT || !text.includes('/') || parseCidr(text) === null) {
      r.error(['spec', 'loadBalancerSourceRanges', i], 'svc-bad-source-range', `loadBalancerSourceRanges entry ${quotedName(text)} is not an IP range`,
        'write each entry as a CIDR block such as 10.240.0.0/24 (a single address is 10.240.0.7/32)');
      return;
    }
    out.push(text);
  });
  return exactSize(out);
}

const OUTBOUND: readonly string[] = ['ALLOW_ANY', 'REGISTRY_ONLY', 'ALLOW_ANY_DYNAMIC_DNS'];
const NORMALIZATION: readonly string[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

/**
 * Applies mesh config fields (from the `istio` ConfigMap's `mesh` key, or a
 * scenario override) onto `base`. `r` locates errors; `path` is where `cfg` sits.
 */
export function applyMeshConfig(base: MeshConfig, cfg: Obj, r: Reader, path: Path): MeshConfig {
  const out: MeshConfig = { ...base, trustDomainAliases: [...base.trustDomainAliases], extensionProviders: [...base.extensionProviders] };
  const td = r.str(cfg, 'trustDomain', path);
  if (td !== undefined) out.trustDomain = td;
  const aliases = r.strList(cfg, 'trustDomainAliases', path);
  if (aliases) out.trustDomainAliases = aliases;
  const root = r.str(cfg, 'rootNamespace', path);
  if (root !== undefined) out.rootNamespace = root;
  const auto = r.bool(cfg, 'enableAutoMtls', path);
  if (auto !== undefined) out.enableAutoMtls = auto;
  const otp = r.obj(cfg, 'outboundTrafficPolicy', path);
  if (otp) {
    const mode = r.str(otp, 'mode', [...path, 'outboundTrafficPolicy']);
    if (mode !== undefined) {
      if (OUTBOUND.includes(mode)) out.outboundTrafficPolicy = mode as OutboundMode;
      else r.error([...path, 'outboundTrafficPolicy', 'mode'], 'bad-enum', `outboundTrafficPolicy.mode "${mode}" is not one of ${OUTBOUND.join(', ')}`);
    }
  }
  const pn = r.obj(cfg, 'pathNormalization', path);
  if (pn) {
    const n = r.str(pn, 'normalization', [...path, 'pathNormalization']);
    if (n !== undefined) {
      if (NORMALIZATION.includes(n)) out.pathNormalization = n as PathNormalization;
      else r.error([...path, 'pathNormalization', 'normalization'], 'bad-enum', `pathNormalization.normalization "${n}" is not one of ${NORMALIZATION.join(', ')}`);
    }
  }
  const dc = r.obj(cfg, 'defaultConfig', path);
  const topo = dc ? r.obj(dc, 'gatewayTopology', [...path, 'defaultConfig']) : undefined;
  const ntp = topo ? readNumTrustedProxies(r, topo, [...path, 'defaultConfig', 'gatewayTopology']) : undefined;
  if (ntp !== undefined) out.numTrustedProxies = ntp;
  const fccd = topo ? readForwardClientCertDetails(r, topo, [...path, 'defaultConfig', 'gatewayTopology']) : undefined;
  if (fccd !== undefined) out.forwardClientCertDetails = fccd;
  const dnsCapture = dc ? readDnsCapture(r, dc, 'proxyMetadata', [...path, 'defaultConfig']) : undefined;
  if (dnsCapture !== undefined) out.dnsCapture = dnsCapture;
  for (const [field, kind] of [['defaultServiceExportTo', 'service'], ['defaultVirtualServiceExportTo', 'virtualService'], ['defaultDestinationRuleExportTo', 'destinationRule']] as const) {
    const list = r.strList(cfg, field, path);
    // unset or empty: `*` (initDefaultExportMaps)
    if (list === undefined || list.length === 0) continue;
    // Istio honours `.` (private) and `*` (public), `.` first (the indexes that read the defaults)
    if (list.includes('.')) out.exportToDefaults = { ...out.exportToDefaults, [kind]: '.' };
    else if (list.includes('*')) out.exportToDefaults = { ...out.exportToDefaults, [kind]: '*' };
    else if (kind === 'destinationRule') {
      r.warn([...path, field], 'mesh-export-to-ignored', `${field} ${JSON.stringify(list)} holds neither "." nor "*": Istio then leaves a DestinationRule without exportTo exported everywhere`,
        `set ${field} to ["."] or ["*"], or give each rule its own exportTo`);
    } else {
      out.exportToDefaults = { ...out.exportToDefaults, [kind]: '~' };
      r.warn([...path, field], 'mesh-export-to-none', `${field} ${JSON.stringify(list)} holds neither "." nor "*": Istio then shows a ${kind === 'service' ? 'Service or ServiceEntry' : 'VirtualService'} without exportTo to no namespace at all`,
        `set ${field} to ["."] or ["*"], or give each resource its own exportTo`);
    }
  }
  const providers = r.arr(cfg, 'extensionProviders', path);
  if (providers) {
    out.extensionProviders = [];
    providers.forEach((p, i) => {
      if (!isObj(p) || typeof p['name'] !== 'string') {
        r.error([...path, 'extensionProviders', i], 'field-type', 'each extension provider needs a name');
        return;
      }
      const kind = Object.keys(p).find((k) => k !== 'name') ?? 'unknown';
      const ep: ExtensionProvider = { name: p['name'], kind };
      out.extensionProviders.push(ep);
    });
  }
  return out;
}

/** The `mesh` key of the istio ConfigMap is YAML text itself. */
export function readMeshConfigMap(r: Reader, obj: Obj, base: MeshConfig, issues: IssueList): MeshConfig {
  const data = r.obj(obj, 'data', []);
  if (!data) return base;
  const text = r.str(data, 'mesh', ['data']);
  if (text === undefined) return base;
  const at = r.at(['data', 'mesh']);
  // The embedded text starts on the line after `mesh: |`, indented like its first non-blank line.
  const firstLine = at.line + 1;
  let indent = 0;
  for (let l = firstLine; l < firstLine + 50; l++) {
    const t = r.src.lineText(l);
    if (t.trim() !== '') { indent = t.length - t.trimStart().length; break; }
  }
  const block = /^[|>]/.test(r.src.lineText(at.line).slice(at.col - 1));
  const shift = (l: { file: string; line: number; col: number }) => (block
    ? { file: at.file, line: at.line + l.line, col: l.col + indent }
    : { file: at.file, line: at.line, col: at.col });
  const inner = parseYaml(at.file, text, issues, shift);
  const doc = inner[0];
  if (!doc) return base;
  if (!isObj(doc.value)) {
    r.error(['data', 'mesh'], 'field-type', 'data.mesh must hold a YAML mapping of mesh config');
    return base;
  }
  const innerReader = new Reader(doc, issues, r.what);
  const out = applyMeshConfig(base, doc.value, innerReader, []);
  out.loc = at;
  return out;
}
