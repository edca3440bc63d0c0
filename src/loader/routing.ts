/**
 * networking.istio.io Gateway and VirtualService, read and validated as
 * Istio's admission webhook does (pkg/config/validation: ValidateGateway,
 * validateServer, validateTLSOptions, ValidateVirtualService and the route
 * validators; istio-semantics §8, §9, §14). What the webhook rejects is an
 * error here; what it only warns about is a warning. Fields that change
 * traffic but are not simulated (fault, mirror, request header rewrites) are
 * a located `not-modeled` warning, never silently dropped. A root route's
 * `delegate` is read here and followed by model/delegate.ts once every
 * VirtualService is loaded.
 *
 * Versions accepted: networking.istio.io/v1, v1beta1, v1alpha3 (same schema).
 * `analyzeRouting` adds the istioctl analyze findings that need several
 * objects (IST0101 gateway references and selectors, IST0132 hosts).
 */
import type { IssueList, Location } from '../core/issues.js';
import { parseCidr, parseIp } from '../core/ip.js';
import type {
  Destination, Gateway, GatewayServer, HttpMatch, HttpRedirect, HttpRewrite, HttpRoute, L4Match, RouteDestination,
  ServerTls, ServerTlsMode, StringMatch, TcpRoute, TlsMatch, TlsRoute, VirtualService,
} from '../model/routing.js';
import { compileRe2 } from '../core/re2.js';
import { exactSize } from '../core/arrays.js';
import { setOwn } from '../core/record.js';
import { DEFAULT_RETRY, hostSubsetOf, resolveGatewayName, RETRY_ON_POLICIES, type HttpRetry } from '../model/routing.js';
import { checkExportTo } from './export-to.js';
import { duration } from './traffic-policy.js';
import type { Labels, ObjectMeta, Workload } from '../model/types.js';
import { selectorMatches } from '../model/types.js';
import { DESTINATION_FIELDS, PORT_FIELDS, PORT_SELECTOR_FIELDS } from './istio-messages.js';
import { isObj, Reader, rejectUnknownFields, strictEach, strictObj, type Obj } from './reader.js';
import type { Path } from './yaml-source.js';
import { fqdnProblem, isDns1123Label, wildcardDomainProblem } from './names.js';

export const ISTIO_NETWORKING_API_VERSIONS: readonly string[] = [
  'networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3',
];

const SERVER_TLS_MODES: readonly string[] = ['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'OPTIONAL_MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL'];
const TLS_VERSIONS: readonly string[] = ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'];
/** protocol.Parse in Istio (case-insensitive); anything else is "Unsupported". */
const PROTOCOLS: readonly string[] = ['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY', 'TCP', 'TLS', 'MONGO', 'REDIS', 'MYSQL', 'UDP'];
const HTTP_PROTOCOLS: readonly string[] = ['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY'];
const TLS_PROTOCOLS: readonly string[] = ['HTTPS', 'TLS'];
const REDIRECT_CODES: readonly number[] = [301, 302, 303, 307, 308];

/*
 * The fields each message of Istio's networking API has, under the JSON names
 * the CRDs' OpenAPI schemas list (lowerCamelCase of the istio/api proto field
 * names, oneof members and deprecated fields included). kubectl's strict field
 * validation refuses any other key, so a misspelt one is an `unknown-field`
 * error here rather than a field silently read as absent. Taken from the
 * networking.istio.io v1 CRD schemas generated from istio/api (Istio 1.29
 * crd-all.gen.yaml); each list names its proto message.
 */
/** Gateway (gateway.proto). */
const GATEWAY_FIELDS: readonly string[] = ['servers', 'selector'];
/** Server (gateway.proto); `bind` and `defaultEndpoint` are hidden from the docs but in the schema. */
const SERVER_FIELDS: readonly string[] = ['port', 'bind', 'hosts', 'tls', 'defaultEndpoint', 'name'];
/** ServerTLSSettings (gateway.proto). */
const SERVER_TLS_FIELDS: readonly string[] = [
  'httpsRedirect', 'mode', 'serverCertificate', 'privateKey', 'caCertificates', 'caCrl', 'credentialName', 'credentialNames',
  'caCertCredentialName', 'tlsCertificates', 'subjectAltNames', 'verifyCertificateSpki', 'verifyCertificateHash',
  'minProtocolVersion', 'maxProtocolVersion', 'cipherSuites',
];
/** ServerTLSSettings.TLSCertificate (gateway.proto). */
const TLS_CERTIFICATE_FIELDS: readonly string[] = ['serverCertificate', 'privateKey', 'caCertificates'];
/** VirtualService (virtual_service.proto). */
const VIRTUAL_SERVICE_FIELDS: readonly string[] = ['hosts', 'gateways', 'http', 'tls', 'tcp', 'exportTo'];
/**
 * HTTPRoute (virtual_service.proto). The deprecated integer mirror percentage is listed by the schema under both
 * `mirrorPercent` and `mirror_percent`: the one snake_case name the API server takes here.
 */
const HTTP_ROUTE_FIELDS: readonly string[] = [
  'name', 'match', 'route', 'redirect', 'directResponse', 'delegate', 'rewrite', 'timeout', 'retries', 'fault',
  'mirror', 'mirrors', 'mirrorPercent', 'mirror_percent', 'mirrorPercentage', 'corsPolicy', 'headers',
];
/** HTTPMatchRequest (virtual_service.proto). */
const HTTP_MATCH_FIELDS: readonly string[] = [
  'name', 'uri', 'scheme', 'method', 'authority', 'headers', 'port', 'sourceLabels', 'gateways', 'queryParams',
  'ignoreUriCase', 'withoutHeaders', 'sourceNamespace', 'statPrefix',
];
/** StringMatch (virtual_service.proto): a oneof of three. */
const STRING_MATCH_FIELDS: readonly string[] = ['exact', 'prefix', 'regex'];
/** HTTPRouteDestination (virtual_service.proto). */
const HTTP_ROUTE_DESTINATION_FIELDS: readonly string[] = ['destination', 'weight', 'headers'];
/** RouteDestination (virtual_service.proto), the TLS and TCP routes' entries: no headers. */
const ROUTE_DESTINATION_FIELDS: readonly string[] = ['destination', 'weight'];
/** Headers and Headers.HeaderOperations (virtual_service.proto). */
const HEADERS_FIELDS: readonly string[] = ['request', 'response'];
const HEADER_OPERATIONS_FIELDS: readonly string[] = ['set', 'add', 'remove'];
/** HTTPRedirect (virtual_service.proto); `port` and `derivePort` are the oneof redirect_port. */
const REDIRECT_FIELDS: readonly string[] = ['uri', 'authority', 'port', 'derivePort', 'scheme', 'redirectCode'];
/** HTTPRewrite and RegexRewrite (virtual_service.proto). */
const REWRITE_FIELDS: readonly string[] = ['uri', 'authority', 'uriRegexRewrite'];
const REGEX_REWRITE_FIELDS: readonly string[] = ['match', 'rewrite'];
/** HTTPRetry (virtual_service.proto). */
const RETRY_FIELDS: readonly string[] = ['attempts', 'perTryTimeout', 'retryOn', 'retryRemoteLocalities', 'retryIgnorePreviousHosts', 'backoff'];
/** HTTPDirectResponse and HTTPBody (virtual_service.proto); a body is a oneof of string and bytes. */
const DIRECT_RESPONSE_FIELDS: readonly string[] = ['status', 'body'];
const HTTP_BODY_FIELDS: readonly string[] = ['string', 'bytes'];
/** Delegate (virtual_service.proto). */
const DELEGATE_FIELDS: readonly string[] = ['name', 'namespace'];
/** HTTPFaultInjection, its Delay (oneof fixedDelay / exponentialDelay, deprecated percent) and Abort (oneof of three). */
const FAULT_FIELDS: readonly string[] = ['delay', 'abort'];
const FAULT_DELAY_FIELDS: readonly string[] = ['fixedDelay', 'exponentialDelay', 'percentage', 'percent'];
const FAULT_ABORT_FIELDS: readonly string[] = ['httpStatus', 'grpcStatus', 'http2Error', 'percentage'];
/** Percent (virtual_service.proto). */
const PERCENT_FIELDS: readonly string[] = ['value'];
/** HTTPMirrorPolicy (virtual_service.proto). */
const MIRROR_POLICY_FIELDS: readonly string[] = ['destination', 'percentage'];
/** CorsPolicy (virtual_service.proto); `allowOrigin` is the deprecated list of plain strings. */
const CORS_POLICY_FIELDS: readonly string[] = [
  'allowOrigin', 'allowOrigins', 'allowMethods', 'allowHeaders', 'exposeHeaders', 'maxAge', 'allowCredentials', 'unmatchedPreflights',
];
/** TLSRoute and TCPRoute (virtual_service.proto). */
const L4_ROUTE_FIELDS: readonly string[] = ['match', 'route'];
/** TLSMatchAttributes (virtual_service.proto). */
const TLS_MATCH_FIELDS: readonly string[] = ['sniHosts', 'destinationSubnets', 'port', 'sourceLabels', 'gateways', 'sourceNamespace'];
/** L4MatchAttributes (virtual_service.proto); `sourceSubnet` is hidden from the docs but in the schema. */
const TCP_MATCH_FIELDS: readonly string[] = ['destinationSubnets', 'port', 'sourceSubnet', 'sourceLabels', 'gateways', 'sourceNamespace'];

/** A Headers message (a route's or a destination's): request and response operations. */
function strictHeaders(r: Reader, parent: Obj, path: Path): void {
  const h = strictObj(r, parent, 'headers', HEADERS_FIELDS, path);
  if (!h) return;
  for (const k of ['request', 'response']) strictObj(r, h, k, HEADER_OPERATIONS_FIELDS, [...path, 'headers']);
}

/** A Destination's fields and its port selector's. */
function strictDestination(r: Reader, parent: Obj, key: string, path: Path): void {
  const d = strictObj(r, parent, key, DESTINATION_FIELDS, path);
  if (d) strictObj(r, d, 'port', PORT_SELECTOR_FIELDS, [...path, key]);
}

/* ---------------------------------------------------------------- names -- */

/** A Gateway `servers[].hosts` entry: `[ns/]host`, ns `*`, `.` or a namespace; host an FQDN, a wildcard or an IP. */
export function gatewayHostProblem(hostname: string): string | null {
  const slash = hostname.indexOf('/');
  if (slash < 0) return gatewayHostPartProblem(hostname);
  const ns = hostname.slice(0, slash);
  const host = hostname.slice(slash + 1);
  if (ns === '' || host === '') return 'config namespace and dnsName in host entry cannot be empty';
  if (ns !== '*' && ns !== '.' && !isDns1123Label(ns)) return `invalid namespace value "${ns}" in gateway`;
  return gatewayHostPartProblem(host);
}

function gatewayHostPartProblem(host: string): string | null {
  if (host !== '*' && !host.includes('.')) return 'short names (non FQDN) are not allowed';
  const dom = wildcardDomainProblem(host);
  if (dom && !parseIp(host)) return dom;
  if (host.includes('*') && host.length !== 1 && !host.startsWith('*.')) return `partial wildcard "${host}" not allowed`;
  return null;
}

/* --------------------------------------------------------------- common -- */

function apiVersionOk(r: Reader, obj: Obj, kind: string): boolean {
  const v = obj['apiVersion'];
  if (typeof v === 'string' && ISTIO_NETWORKING_API_VERSIONS.includes(v)) return true;
  if (typeof v === 'string' && v.startsWith('networking.istio.io/')) {
    r.error(['apiVersion'], 'bad-api-version', `${v} is not a served version of ${kind}`,
      `use ${ISTIO_NETWORKING_API_VERSIONS.join(', ')}`);
  } else {
    r.warn([], 'not-modeled', `kind ${kind} (${String(v)}) is not modeled by meshrange and has no effect in the simulation`,
      kind === 'Gateway' ? 'meshrange models the Istio Gateway (networking.istio.io), not the Kubernetes Gateway API'
        : `use apiVersion ${ISTIO_NETWORKING_API_VERSIONS[0] ?? ''}`);
  }
  return false;
}

function notModeled(r: Reader, path: Path, what: string): void {
  r.warn(path, 'not-modeled', `${what} is not modeled; it has no effect in the simulation`,
    'results for traffic this field would change may differ from the cluster');
}

/* -------------------------------------------------------------- Gateway -- */

/**
 * A Gateway, validated. Returns undefined when the object is not an Istio
 * networking Gateway (e.g. gateway.networking.k8s.io), after a warning.
 */
export function readGateway(r: Reader, meta: ObjectMeta, obj: Obj): Gateway | undefined {
  if (!apiVersionOk(r, obj, 'Gateway')) return undefined;
  if (!isDns1123Label(meta.name)) {
    r.error(['metadata', 'name'], 'gw-bad-name', `invalid gateway name: "${meta.name}"`,
      'a Gateway name must be a DNS label: lower case letters, digits and "-", no dots');
  }
  const spec = r.obj(obj, 'spec', []) ?? {};
  rejectUnknownFields(r, spec, GATEWAY_FIELDS, ['spec']);
  const selector = r.labels(spec, 'selector', ['spec']) ?? {};
  const gw: Gateway = { meta, selector, servers: [] };
  const raw = r.arr(spec, 'servers', ['spec']);
  if (!raw || raw.length === 0) {
    r.error(raw ? ['spec', 'servers'] : ['spec'], 'gw-no-servers', 'gateway must have at least one server',
      'add spec.servers with a port and the hosts it accepts');
    return gw;
  }
  const portNames = new Set<string>();
  const serverLocs: Location[] = [];
  raw.forEach((s, i) => {
    const path = ['spec', 'servers', i];
    if (!isObj(s)) { r.error(path, 'field-type', 'server may not be null and must be a mapping', 'write each server as a mapping with port and hosts'); return; }
    const server = readServer(r, s, path);
    if (!server) return;
    if (portNames.has(server.port.name)) {
      r.error([...path, 'port', 'name'], 'gw-duplicate-port-name', `port names in servers must be unique: duplicate name ${server.port.name}`,
        'give each server port its own name');
    }
    portNames.add(server.port.name);
    if (server.tls?.httpsRedirect && !HTTP_PROTOCOLS.includes(server.port.protocol)) {
      r.warn([...path, 'tls', 'httpsRedirect'], 'gw-https-redirect-non-http', 'tls.httpsRedirect should only be used with http servers',
        'move httpsRedirect to the port-80 HTTP server');
    }
    gw.servers.push(server);
    serverLocs.push(r.at(path));
  });
  if (serverLocs.length > 0) gw.serverLocs = exactSize(serverLocs);
  return gw;
}

function readServer(r: Reader, s: Obj, path: Path): GatewayServer | undefined {
  rejectUnknownFields(r, s, SERVER_FIELDS, path);
  const hosts = r.strList(s, 'hosts', path) ?? [];
  if (hosts.length === 0) {
    r.error(s['hosts'] === undefined ? path : [...path, 'hosts'], 'gw-no-hosts', 'server config must contain at least one host',
      'list the hosts this server accepts, e.g. hosts: ["bookinfo.example.com"] or ["*"]');
  }
  hosts.forEach((h, j) => {
    const problem = gatewayHostProblem(h);
    if (problem) {
      r.error([...path, 'hosts', j], 'gw-bad-host', `host "${h}": ${problem}`,
        'write a fully qualified name (a.example.com), a wildcard (*.example.com or *), optionally prefixed by namespace/ (ns/, ./ or */)');
    }
  });

  let portOk = true;
  const port = r.obj(s, 'port', path);
  const ppath = [...path, 'port'];
  let number = 0;
  let name = '';
  let protocol = '';
  if (!port) {
    portOk = false;
    r.error(path, 'gw-bad-port', 'port is required', 'add port: { number: 80, name: http, protocol: HTTP }');
  } else {
    // Port (gateway.proto); `targetPort` is deprecated, and refused by validation below with its own error
    rejectUnknownFields(r, port, PORT_FIELDS, ppath);
    const n = r.int(port, 'number', ppath);
    number = n ?? 0;
    if (n === undefined || n < 1 || n > 65535) {
      portOk = false;
      r.error(n === undefined ? ppath : [...ppath, 'number'], 'gw-bad-port', `port number ${n ?? 0} must be in the range 1..65535`,
        'set port.number to the port the gateway listens on (the Service port or the container port)');
    }
    if (port['targetPort'] !== undefined) {
      portOk = false;
      r.error([...ppath, 'targetPort'], 'gw-bad-port', 'targetPort has no impact on Gateways', 'remove port.targetPort');
    }
    const nm = r.str(port, 'name', ppath);
    name = nm ?? '';
    if (!nm) {
      portOk = false;
      r.error(ppath, 'gw-port-name', 'port name must be set', 'add port.name, e.g. name: http');
    }
    const proto = r.str(port, 'protocol', ppath) ?? '';
    protocol = proto.toUpperCase();
    if (!PROTOCOLS.includes(protocol)) {
      portOk = false;
      r.error(port['protocol'] === undefined ? ppath : [...ppath, 'protocol'], 'gw-bad-protocol',
        `invalid protocol "${proto}", supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP`,
        'set port.protocol, e.g. HTTP, HTTPS, TLS or TCP');
    }
  }

  const server: GatewayServer = { port: { number, name, protocol }, hosts };
  const sname = r.str(s, 'name', path);
  if (sname !== undefined) server.name = sname;
  const bind = r.str(s, 'bind', path);
  if (bind !== undefined) server.bind = bind;
  const tlsObj = r.obj(s, 'tls', path);
  const tls = tlsObj ? readServerTls(r, tlsObj, [...path, 'tls']) : undefined;
  if (tls) server.tls = tls;

  if (portOk) {
    const isTls = TLS_PROTOCOLS.includes(protocol);
    const isHttp = HTTP_PROTOCOLS.includes(protocol);
    if (isTls && !tlsObj) {
      r.error(ppath, 'gw-tls-required', 'server must have TLS settings for HTTPS/TLS protocols',
        'add tls: { mode: SIMPLE, credentialName: <secret> }, or tls: { mode: PASSTHROUGH }');
    } else if (!isTls && tlsObj && tls) {
      const passthrough = tls.mode === 'PASSTHROUGH' || tls.mode === 'AUTO_PASSTHROUGH';
      if (isHttp) {
        if (!passthrough || tls.caCertificates || tls.privateKey || tls.serverCertificate) {
          r.error([...path, 'tls'], 'gw-tls-on-plaintext', 'server cannot have TLS settings for plain text HTTP ports',
            'use protocol HTTPS for a TLS-terminating server; on an HTTP server only tls.httpsRedirect is allowed');
        }
      } else {
        r.error([...path, 'tls'], 'gw-tls-on-plaintext', 'server cannot have TLS settings for non HTTPS/TLS ports',
          'use protocol HTTPS or TLS, or remove tls');
      }
    }
  }
  return server;
}

function readServerTls(r: Reader, t: Obj, path: Path): ServerTls | undefined {
  rejectUnknownFields(r, t, SERVER_TLS_FIELDS, path);
  strictEach(r, t, 'tlsCertificates', TLS_CERTIFICATE_FIELDS, path);
  const modeRaw = r.str(t, 'mode', path) ?? 'PASSTHROUGH';
  if (!SERVER_TLS_MODES.includes(modeRaw)) {
    r.error([...path, 'mode'], 'gw-tls-mode', `tls mode "${modeRaw}" is not one of ${SERVER_TLS_MODES.join(', ')}`,
      'use SIMPLE to terminate TLS, MUTUAL to also require client certificates, PASSTHROUGH to route by SNI');
    return undefined;
  }
  const mode = modeRaw as ServerTlsMode;
  const tls: ServerTls = { mode };
  const httpsRedirect = r.bool(t, 'httpsRedirect', path);
  if (httpsRedirect !== undefined) tls.httpsRedirect = httpsRedirect;
  const set = (key: 'credentialName' | 'serverCertificate' | 'privateKey' | 'caCertificates'): void => {
    const v = r.str(t, key, path);
    if (v !== undefined && v !== '') tls[key] = v;
  };
  set('credentialName'); set('serverCertificate'); set('privateKey'); set('caCertificates');
  const credentialNames = r.strList(t, 'credentialNames', path);
  if (credentialNames && credentialNames.length > 0) tls.credentialNames = credentialNames;
  const sans = r.strList(t, 'subjectAltNames', path);
  if (sans) tls.subjectAltNames = sans;
  const minV = r.str(t, 'minProtocolVersion', path);
  if (minV !== undefined) {
    if (!TLS_VERSIONS.includes(minV)) {
      r.error([...path, 'minProtocolVersion'], 'gw-tls-version', `minProtocolVersion "${minV}" is not one of ${TLS_VERSIONS.join(', ')}`, 'use TLSV1_2 or TLSV1_3');
    } else tls.minProtocolVersion = minV;
  }
  const tlsCerts = (r.arr(t, 'tlsCertificates', path) ?? []).filter(isObj);
  const caCrl = r.str(t, 'caCrl', path);

  if (mode === 'ISTIO_MUTUAL') {
    for (const key of ['serverCertificate', 'privateKey', 'caCertificates', 'credentialName', 'credentialNames', 'tlsCertificates'] as const) {
      if (t[key] !== undefined && t[key] !== null && t[key] !== '') {
        r.error([...path, key], 'gw-istio-mutual-certs', `ISTIO_MUTUAL TLS cannot have associated ${key}`,
          'ISTIO_MUTUAL uses the gateway\'s own Istio workload certificate: remove the certificate fields, or use MUTUAL');
      }
    }
    return tls;
  }
  const hasFileCert = tls.serverCertificate !== undefined && tls.privateKey !== undefined;
  const hasCredential = tls.credentialName !== undefined || tls.credentialNames !== undefined;
  if (mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH') {
    if (caCrl || tls.serverCertificate || tls.privateKey || tls.caCertificates || tlsCerts.length > 0 || hasCredential) {
      r.warn(path, 'gw-passthrough-certs', `${mode} mode does not use certificates, they will be ignored`,
        'remove the certificate fields, or use SIMPLE/MUTUAL to terminate TLS at the gateway');
    }
  }
  const sources = [hasFileCert, tls.credentialName !== undefined, tls.credentialNames !== undefined, tlsCerts.length > 0].filter(Boolean).length;
  if (sources > 1) {
    r.error(path, 'gw-cert-sources', 'only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified',
      'keep one certificate source, preferably credentialName');
  }
  if (mode !== 'SIMPLE' && mode !== 'MUTUAL' && mode !== 'OPTIONAL_MUTUAL') return tls;
  if (hasCredential) return tls;
  const prefix = mode === 'SIMPLE' ? 'SIMPLE TLS' : 'MUTUAL TLS';
  if (mode !== 'SIMPLE' && !tls.caCertificates) {
    r.error(path, 'gw-mutual-needs-ca', `${prefix} requires a client CA bundle`,
      'set credentialName (a secret holding the key, certificate and ca.crt), or caCertificates');
  }
  const certs = tlsCerts.length > 0
    ? tlsCerts.map((c) => ({ cert: typeof c['serverCertificate'] === 'string' && c['serverCertificate'] !== '', key: typeof c['privateKey'] === 'string' && c['privateKey'] !== '' }))
    : [{ cert: tls.serverCertificate !== undefined, key: tls.privateKey !== undefined }];
  if (certs.some((c) => !c.cert || !c.key)) {
    const missing = certs.some((c) => !c.cert) ? 'a server certificate' : 'a private key';
    r.error(path, 'gw-simple-needs-credential', `${prefix} requires ${missing}`,
      'set tls.credentialName to the Kubernetes secret with the certificate, or serverCertificate and privateKey');
  }
  if (caCrl && mode === 'SIMPLE') r.error([...path, 'caCrl'], 'gw-tls-crl', 'CRL is not supported with SIMPLE TLS', 'remove caCrl, or use MUTUAL');
  return tls;
}

/* ------------------------------------------------------- VirtualService -- */

interface VsContext {
  namespace: string;
  appliesToGateway: boolean;
  hosts: string[];
}

/**
 * A VirtualService, validated. Returns undefined when the object is not of a
 * served networking.istio.io version, after an issue.
 */
export function readVirtualService(r: Reader, meta: ObjectMeta, obj: Obj): VirtualService | undefined {
  if (!apiVersionOk(r, obj, 'VirtualService')) return undefined;
  const spec = r.obj(obj, 'spec', []) ?? {};
  rejectUnknownFields(r, spec, VIRTUAL_SERVICE_FIELDS, ['spec']);
  const hosts = r.strList(spec, 'hosts', ['spec']) ?? [];
  const rawGateways = r.strList(spec, 'gateways', ['spec']) ?? [];
  const exportTo = r.strList(spec, 'exportTo', ['spec']) ?? [];
  const vs: VirtualService = {
    meta, hosts,
    gateways: rawGateways.length > 0 ? rawGateways : ['mesh'],
    gatewayLocs: rawGateways.length > 0 ? rawGateways.map((_, i) => r.at(['spec', 'gateways', i])) : [meta.loc],
    exportTo, http: [], tls: [], tcp: [],
  };
  const rawHttp = r.arr(spec, 'http', ['spec']) ?? [];
  const rawTls = r.arr(spec, 'tls', ['spec']) ?? [];
  const rawTcp = r.arr(spec, 'tcp', ['spec']) ?? [];

  if (hosts.length === 0) {
    const problems: [unknown[], string][] = [[rawGateways, 'gateways'], [rawTls, 'tls routes'], [rawTcp, 'tcp routes']];
    for (const [list, what] of problems) {
      if (list.length > 0) {
        r.error(['spec', what.split(' ')[0] ?? what], 'vs-no-hosts',
          `virtual service has no hosts, so it is a delegate, and a delegate virtual service must have no ${what} specified`,
          'list the hosts this VirtualService routes in spec.hosts');
      }
    }
  }

  const appliesToGateway = rawGateways.length > 0 && !rawGateways.includes('mesh');
  const ctx: VsContext = { namespace: meta.namespace, appliesToGateway, hosts };
  rawGateways.forEach((g, i) => checkGatewayName(r, g, ['spec', 'gateways', i]));

  let hostsOk = true;
  hosts.forEach((h, i) => {
    const problem = wildcardDomainProblem(h);
    if (problem && !parseIp(h)) {
      hostsOk = false;
      r.error(['spec', 'hosts', i], 'vs-bad-host', `host "${h}": ${problem}`, 'write a DNS name (reviews, reviews.bookinfo.svc.cluster.local, *.example.com)');
    } else if (!problem && !appliesToGateway && h === '*') {
      hostsOk = false;
      r.error(['spec', 'hosts', i], 'vs-bad-host', 'wildcard host * is not allowed for virtual services bound to the mesh gateway',
        'name the service hosts, or bind the VirtualService to a gateway with spec.gateways');
    }
  });
  if (hostsOk) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        const a = hosts[i] ?? '';
        const b = hosts[j] ?? '';
        if (hostSubsetOf(a, b) || hostSubsetOf(b, a)) {
          r.error(['spec', 'hosts', j], 'vs-duplicate-host', `duplicate hosts in virtual service: ${a} & ${b}`, 'remove the overlapping host');
        }
      }
    }
  }

  if (rawHttp.length === 0 && rawTls.length === 0 && rawTcp.length === 0) {
    r.error(['spec'], 'vs-no-routes', 'http, tcp or tls must be provided in virtual service',
      'add spec.http (or tls/tcp) routes with a destination');
  }
  rawHttp.forEach((h, i) => {
    const path = ['spec', 'http', i];
    if (!isObj(h)) { r.error(path, 'field-type', 'http route may not be null and must be a mapping', 'write each http route as a mapping with match and route'); return; }
    const route = readHttpRoute(r, h, path, ctx);
    // a delegate's routes are merged into a root's elsewhere (model/delegate.ts): keep where each is written
    if (hosts.length === 0) route.loc = r.at(path);
    vs.http.push(route);
  });
  rawTls.forEach((t, i) => {
    const path = ['spec', 'tls', i];
    if (!isObj(t)) { r.error(path, 'field-type', 'tls route may not be null and must be a mapping', 'write each tls route as a mapping with match and route'); return; }
    vs.tls.push(readTlsRoute(r, t, path, ctx));
  });
  rawTcp.forEach((t, i) => {
    const path = ['spec', 'tcp', i];
    if (!isObj(t)) { r.error(path, 'field-type', 'tcp route may not be null and must be a mapping', 'write each tcp route as a mapping with route'); return; }
    vs.tcp.push(readTcpRoute(r, t, path, ctx));
  });
  checkExportTo(r, exportTo, meta.namespace, 'VirtualService');
  warnUnreachable(r, rawHttp, 'http');
  warnUnreachable(r, rawTls, 'tls');
  warnUnreachable(r, rawTcp, 'tcp');
  return vs;
}

function checkGatewayName(r: Reader, g: string, path: Path): void {
  const slash = g.indexOf('/');
  if (slash < 0) {
    if (g.includes('.')) {
      const parts = g.split('.');
      r.warn(path, 'vs-legacy-gateway-name', `using legacy gatewayName format "${g}"; prefer the <namespace>/<name> format: "${parts[1] ?? ''}/${parts[0] ?? ''}"`,
        `write "${parts[1] ?? ''}/${parts[0] ?? ''}"`);
    }
    const p = fqdnProblem(g);
    if (p) r.error(path, 'vs-bad-gateway', `gateway "${g}": ${p}`, 'write the gateway as <namespace>/<name>, or mesh');
    return;
  }
  const ns = g.slice(0, slash);
  const name = g.slice(slash + 1);
  if (ns === '' || name === '') {
    r.error(path, 'vs-bad-gateway', 'config namespace and gateway name cannot be empty', 'write the gateway as <namespace>/<name>');
  } else if (!isDns1123Label(ns)) {
    r.error(path, 'vs-bad-gateway', `invalid value for namespace: "${ns}"`, 'write the gateway as <namespace>/<name>');
  } else if (!isDns1123Label(name)) {
    r.error(path, 'vs-bad-gateway', `invalid value for gateway name: "${name}"`, 'write the gateway as <namespace>/<name>');
  }
}


/** analyzeUnreachableHTTPRules (warnings): rules after a match-less rule, and rules whose every match came earlier. */
function warnUnreachable(r: Reader, raw: unknown[], kind: string): void {
  const seen = new Map<string, number>();
  let catchAll = -1;
  raw.forEach((route, i) => {
    if (!isObj(route)) return;
    const matches = Array.isArray(route['match']) ? route['match'] : [];
    const label = kind === 'http' && typeof route['name'] === 'string' ? `"${route['name']}"` : `#${i}`;
    if (matches.length === 0) {
      if (catchAll >= 0) {
        r.warn(['spec', kind, i], 'vs-unreachable-route', `virtualService rule ${label} not used (only the last rule can have no matches)`,
          'put the rule without matches last, or give it a match');
      }
      catchAll = i;
      return;
    }
    if (catchAll >= 0) {
      r.warn(['spec', kind, i], 'vs-unreachable-route', `virtualService rule ${label} not used (route without matches defined before)`,
        'move this rule above the rule without matches');
      return;
    }
    let dup = 0;
    for (const m of matches) {
      const key = JSON.stringify(isObj(m) ? { ...m, name: undefined } : m);
      if (seen.has(key)) dup++;
      else seen.set(key, i);
    }
    if (dup === matches.length) {
      r.warn(['spec', kind, i], 'vs-unreachable-route', `virtualService rule ${label} not used (all matches used by prior rules)`,
        'remove the rule or change its matches');
    }
  });
}

/* ----------------------------------------------------------- http route -- */

function readHttpRoute(r: Reader, h: Obj, path: Path, ctx: VsContext): HttpRoute {
  rejectUnknownFields(r, h, HTTP_ROUTE_FIELDS, path);
  const route: HttpRoute = {};
  const name = r.str(h, 'name', path);
  if (name !== undefined) route.name = name;
  const present = (k: string): boolean => h[k] !== undefined && h[k] !== null;

  const matches = r.arr(h, 'match', path);
  if (matches) {
    route.match = [];
    matches.forEach((m, j) => {
      const mpath = [...path, 'match', j];
      if (m === null || m === undefined) { route.match?.push({}); return; }
      if (!isObj(m)) { r.error(mpath, 'field-type', 'each match must be a mapping', 'write the match as a mapping, e.g. { uri: { prefix: /api } }'); return; }
      route.match?.push(readHttpMatch(r, m, mpath, ctx));
    });
  }

  const hasRoute = Array.isArray(h['route']) && h['route'].length > 0;
  const hasRedirect = present('redirect');
  const hasDirect = present('directResponse');
  const hasDelegate = present('delegate');
  if (hasDelegate) {
    const label = name === undefined ? 'root HTTP route' : `root HTTP route ${name}`;
    if (hasRedirect) r.error([...path, 'redirect'], 'vs-redirect-and-route', `${label} must not specify redirect`, 'keep only delegate');
    if (present('route')) r.error([...path, 'route'], 'vs-redirect-and-route', `${label} must not specify route`, 'keep only delegate');
    if (ctx.hosts.length === 0) {
      r.error([...path, 'delegate'], 'vs-delegate-in-delegate', 'delegate HTTP route cannot contain delegate',
        'Istio follows one level of delegation: write the routes here, or give this VirtualService hosts to make it a root');
    }
    const d = r.obj(h, 'delegate', path);
    if (d) {
      rejectUnknownFields(r, d, DELEGATE_FIELDS, [...path, 'delegate']);
      const dn = r.str(d, 'name', [...path, 'delegate']) ?? '';
      route.delegate = { name: dn, loc: r.at([...path, 'delegate']) };
      const dns = r.str(d, 'namespace', [...path, 'delegate']);
      if (dns !== undefined) route.delegate.namespace = dns;
    }
  } else if (hasRedirect) {
    if (hasRoute) r.error([...path, 'redirect'], 'vs-redirect-and-route', 'HTTP route cannot contain both route and redirect', 'a redirect answers the client itself: remove route, or remove redirect');
    if (present('fault')) r.error([...path, 'fault'], 'vs-redirect-and-route', 'HTTP route cannot contain both fault and redirect', 'remove fault or redirect');
    if (present('rewrite')) r.error([...path, 'rewrite'], 'vs-redirect-and-route', 'HTTP route rule cannot contain both rewrite and redirect', 'remove rewrite or redirect');
    if (hasDirect) r.error([...path, 'directResponse'], 'vs-redirect-and-route', 'HTTP route rule cannot contain both direct_response and redirect', 'remove directResponse or redirect');
  } else if (hasDirect) {
    if (hasRoute) r.error([...path, 'directResponse'], 'vs-redirect-and-route', 'HTTP route cannot contain both route and direct_response', 'a direct response answers the client itself: remove route, or remove directResponse');
    if (present('fault')) r.error([...path, 'fault'], 'vs-redirect-and-route', 'HTTP route cannot contain both fault and direct_response', 'remove fault or directResponse');
    if (present('rewrite')) r.error([...path, 'rewrite'], 'vs-redirect-and-route', 'HTTP route rule cannot contain both rewrite and direct_response', 'remove rewrite or directResponse');
  } else if (!hasRoute) {
    r.error(path, 'vs-route-without-destination', 'HTTP route, redirect or direct_response is required',
      'add route: [{ destination: { host: <service> } }]');
  }

  const dests = readDestinations(r, h, path, ctx);
  if (dests.length > 0) route.route = dests;
  const redirect = r.obj(h, 'redirect', path);
  if (redirect) route.redirect = readRedirect(r, redirect, [...path, 'redirect']);
  const direct = r.obj(h, 'directResponse', path);
  if (direct) {
    const dpath = [...path, 'directResponse'];
    rejectUnknownFields(r, direct, DIRECT_RESPONSE_FIELDS, dpath);
    strictObj(r, direct, 'body', HTTP_BODY_FIELDS, dpath);
    const status = r.int(direct, 'status', dpath) ?? 0;
    if (status < 200 || status > 600) {
      r.error(direct['status'] === undefined ? dpath : [...dpath, 'status'], 'vs-bad-direct-response', `HTTP status ${status} is not in range 200-599`,
        'set directResponse.status, e.g. 403 or 503');
    }
    route.directResponse = { status };
    const body = r.obj(direct, 'body', dpath);
    if (body) {
      const s = r.str(body, 'string', [...dpath, 'body']);
      const b = r.str(body, 'bytes', [...dpath, 'body']);
      const text = s ?? (b !== undefined ? Buffer.from(b, 'base64').toString('utf8') : undefined);
      if (text !== undefined) {
        if (text.length > 1024 * 1024) r.error([...dpath, 'body'], 'vs-bad-direct-response', 'large direct_responses may impact control plane performance, must be less than 1MB', 'shorten the body');
        route.directResponse.body = text;
      }
    }
  }
  const rewrite = r.obj(h, 'rewrite', path);
  if (rewrite) {
    const rw = readRewrite(r, rewrite, [...path, 'rewrite']);
    if (rw) route.rewrite = rw;
  }
  const timeoutMs = duration(r, h, 'timeout', path, false, 'vs-bad-duration');
  if (timeoutMs !== undefined) route.timeoutMs = timeoutMs;
  const retries = r.obj(h, 'retries', path);
  if (retries) {
    const rp = readRetries(r, retries, [...path, 'retries']);
    if (rp) route.retries = rp;
  }
  const fault = strictObj(r, h, 'fault', FAULT_FIELDS, path);
  if (fault) {
    const delay = strictObj(r, fault, 'delay', FAULT_DELAY_FIELDS, [...path, 'fault']);
    if (delay) strictObj(r, delay, 'percentage', PERCENT_FIELDS, [...path, 'fault', 'delay']);
    const abort = strictObj(r, fault, 'abort', FAULT_ABORT_FIELDS, [...path, 'fault']);
    if (abort) strictObj(r, abort, 'percentage', PERCENT_FIELDS, [...path, 'fault', 'abort']);
  }
  strictDestination(r, h, 'mirror', path);
  strictObj(r, h, 'mirrorPercentage', PERCENT_FIELDS, path);
  strictEach(r, h, 'mirrors', MIRROR_POLICY_FIELDS, path, (m, mp) => {
    strictDestination(r, m, 'destination', mp);
    strictObj(r, m, 'percentage', PERCENT_FIELDS, mp);
  });
  const cors = strictObj(r, h, 'corsPolicy', CORS_POLICY_FIELDS, path);
  if (cors) strictEach(r, cors, 'allowOrigins', STRING_MATCH_FIELDS, [...path, 'corsPolicy']);
  strictHeaders(r, h, path);
  if (present('fault')) notModeled(r, [...path, 'fault'], 'fault injection');
  if (present('mirror') || present('mirrors')) notModeled(r, [...path, present('mirror') ? 'mirror' : 'mirrors'], 'traffic mirroring');
  if (present('mirror') && present('mirrors')) r.error([...path, 'mirrors'], 'vs-bad-mirror', 'HTTP route cannot contain both mirror and mirrors', 'use mirrors only');
  const headers = r.obj(h, 'headers', path);
  const reqOps = headers ? r.obj(headers, 'request', [...path, 'headers']) : undefined;
  if (reqOps && Object.keys(reqOps).length > 0) notModeled(r, [...path, 'headers', 'request'], 'request header manipulation');
  return route;
}

/** HTTP status codes Go's http.StatusText knows: what Istio's validation accepts as a retryOn code. */
const HTTP_STATUS_CODES: ReadonlySet<number> = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424,
  425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

/**
 * `retries` (istio-semantics §3 step 7) validated as validateHTTPRetry does and
 * merged over the default policy as ConvertPolicy does: `attempts` replaces
 * the 2 retries; a `retryOn` replaces the default conditions, its numbers
 * becoming retriable status codes (and `retriable-status-codes` added when
 * only codes are given); `attempts: 0` turns retries off.
 */
function readRetries(r: Reader, o: Obj, path: Path): HttpRetry | undefined {
  rejectUnknownFields(r, o, RETRY_FIELDS, path);
  const attempts = r.int(o, 'attempts', path) ?? 0;
  if (attempts < 0) {
    r.error([...path, 'attempts'], 'vs-bad-retry', 'attempts cannot be negative', 'write 0 to disable retries, or a positive count');
    return undefined;
  }
  const perTry = duration(r, o, 'perTryTimeout', path, false, 'vs-bad-duration');
  const backoff = duration(r, o, 'backoff', path, false, 'vs-bad-duration');
  const retryOn = r.str(o, 'retryOn', path);
  const remote = r.bool(o, 'retryRemoteLocalities', path);
  r.bool(o, 'retryIgnorePreviousHosts', path);
  if (attempts === 0 && (o['perTryTimeout'] !== undefined || (retryOn !== undefined && retryOn !== '') || remote !== undefined)) {
    r.error(path, 'vs-bad-retry', 'http retry policy configured when attempts are set to 0 (disabled)',
      'remove perTryTimeout, retryOn and retryRemoteLocalities, or set attempts above 0');
    return undefined;
  }
  const out: HttpRetry = { ...DEFAULT_RETRY, retryOn: [...DEFAULT_RETRY.retryOn], retriableStatusCodes: [...DEFAULT_RETRY.retriableStatusCodes], attempts };
  if (retryOn !== undefined && retryOn !== '') {
    const bad = retryOn.split(',').filter((x) => !RETRY_ON_POLICIES.has(x) && !(/^\d+$/.test(x) && HTTP_STATUS_CODES.has(Number(x))));
    if (bad.length > 0) {
      r.error([...path, 'retryOn'], 'vs-bad-retry', bad.map((b) => `"${b}" is not a valid retryOn policy`).join('; '),
        `use Envoy retry conditions (${[...RETRY_ON_POLICIES].slice(0, 6).join(', ')}, …) or HTTP status codes, comma-separated without spaces`);
      return undefined;
    }
    const parts = retryOn.split(',').map((x) => x.trim()).filter((x) => x !== '');
    out.retriableStatusCodes = parts.filter((x) => /^\d+$/.test(x)).map(Number);
    out.retryOn = parts.filter((x) => !/^\d+$/.test(x));
    if (out.retriableStatusCodes.length > 0 && !out.retryOn.includes('retriable-status-codes')) out.retryOn.push('retriable-status-codes');
  }
  if (perTry !== undefined) out.perTryTimeoutMs = perTry;
  if (backoff !== undefined) out.backoffMs = backoff;
  return out;
}

function readHttpMatch(r: Reader, m: Obj, path: Path, ctx: VsContext): HttpMatch {
  rejectUnknownFields(r, m, HTTP_MATCH_FIELDS, path);
  const out: HttpMatch = {};
  const name = r.str(m, 'name', path);
  if (name !== undefined) out.name = name;
  for (const key of ['uri', 'scheme', 'method', 'authority'] as const) {
    const sm = readStringMatch(r, m, key, path, key === 'uri');
    if (sm) out[key] = sm;
  }
  for (const key of ['headers', 'withoutHeaders', 'queryParams'] as const) {
    const map = r.obj(m, key, path);
    if (!map) continue;
    const rec: Record<string, StringMatch> = {};
    for (const hname of Object.keys(map)) {
      const hpath = [...path, key, hname];
      if (map[hname] === null) {
        r.error(hpath, 'vs-bad-match', `${key === 'queryParams' ? 'query param' : 'header'} match ${hname} cannot be null`, 'write {} to match presence, or { exact: value }');
        continue;
      }
      if (key !== 'queryParams') {
        if (hname === '') { r.error(hpath, 'vs-bad-header-name', 'header name cannot be empty', 'name the header to match'); continue; }
        const claim = hname.startsWith('@request.auth.claims');
        if (!claim && !/^:(method|scheme|authority|path|status)$/.test(hname) && !/^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/.test(hname)) {
          r.error(hpath, 'vs-bad-header-name', `header name ${hname} is not a valid header name`, 'header names are HTTP tokens: letters, digits and !#$%&\'*+-.^_`|~');
        }
        if (claim && !ctx.appliesToGateway) {
          r.error(hpath, 'vs-jwt-claim-mesh', `JWT claim based routing (key: ${hname}) is only supported for gateway, found no gateways`,
            'bind this VirtualService to a gateway with spec.gateways, or match on a plain header');
        } else if (claim) {
          r.warn(hpath, 'not-modeled', `a match on a JWT claim (${hname}) is not modeled: meshrange never matches it, where a gateway that validated the token would`,
            'results for requests this match would take may differ from the cluster');
        }
      }
      const sm = readStringMatch(r, map, hname, [...path, key], false, key === 'withoutHeaders');
      // setOwn: a header called __proto__ is an ordinary header, never the record's prototype. Header names are kept
      // as written: Envoy matches them whatever their case (policy/routing.ts lower-cases at match time), but Istio
      // compares them as written when it merges a delegate's matches into the root's (model/delegate.ts hasConflict)
      if (sm) setOwn(rec, hname, sm);
    }
    out[key] = rec;
  }
  readSourceMatch(r, m, path, out);
  const icase = r.bool(m, 'ignoreUriCase', path);
  if (icase) out.ignoreUriCase = true;
  return out;
}

function readStringMatch(r: Reader, parent: Obj, key: string, path: Path, isUri: boolean, isWithout = false): StringMatch | undefined {
  const v = r.obj(parent, key, path);
  if (!v) return undefined;
  const mpath = [...path, key];
  rejectUnknownFields(r, v, STRING_MATCH_FIELDS, mpath);
  const kinds = (['exact', 'prefix', 'regex'] as const).filter((k) => v[k] !== undefined && v[k] !== null);
  if (kinds.length > 1) {
    r.error(mpath, 'vs-bad-match', `${key}: only one of exact, prefix or regex may be set (got ${kinds.join(', ')})`, 'keep one of them');
  }
  const kind = kinds[0];
  if (kind === undefined) return { present: true };
  const value = r.str(v, kind, mpath);
  if (value === undefined) return undefined;
  if (kind === 'exact') return { exact: value };
  if (kind === 'prefix') {
    if (value === '' && !isUri) {
      r.error([...mpath, 'prefix'], 'vs-empty-prefix', `"${key}": prefix string match should not be empty`, 'write {} to match any value');
    }
    return { prefix: value };
  }
  if (isWithout && value === '*') return { present: true };
  const re = compileRe2(value);
  if (typeof re === 'string') {
    r.error([...mpath, 'regex'], 'vs-bad-regex', `"${key}": ${re}; Istio uses RE2 style regex-based match`,
      'write an RE2 expression (https://github.com/google/re2/wiki/Syntax), e.g. "/api/v[0-9]+/.*"');
  }
  return { regex: value };
}

function readDestinations(r: Reader, h: Obj, path: Path, ctx: VsContext, l4 = false): RouteDestination[] {
  const out: RouteDestination[] = [];
  const list = r.arr(h, 'route', path) ?? [];
  let total = 0;
  let anyWeight = false;
  list.forEach((d, k) => {
    const dpath = [...path, 'route', k];
    if (!isObj(d)) { r.error(dpath, 'field-type', 'weight may not be nil and must be a mapping', 'write each entry as { destination: { host: <service> }, weight: <n> }'); return; }
    rejectUnknownFields(r, d, l4 ? ROUTE_DESTINATION_FIELDS : HTTP_ROUTE_DESTINATION_FIELDS, dpath);
    if (!l4) strictHeaders(r, d, dpath);
    const destObj = r.obj(d, 'destination', dpath);
    if (!destObj) {
      r.error(dpath, 'vs-route-without-destination', 'destination is required', 'add destination: { host: <service> }');
      return;
    }
    const destination = readDestination(r, destObj, [...dpath, 'destination']);
    const entry: RouteDestination = { destination };
    // a destination's own request header operations (a `host` one rewrites the Host the next hop authorizes)
    const dHeaders = r.obj(d, 'headers', dpath);
    const dReq = dHeaders ? r.obj(dHeaders, 'request', [...dpath, 'headers']) : undefined;
    if (dReq && Object.keys(dReq).length > 0) notModeled(r, [...dpath, 'headers', 'request'], 'request header manipulation on a destination');
    const weight = r.int(d, 'weight', dpath);
    if (weight !== undefined) {
      anyWeight = true;
      if (weight < 0) r.error([...dpath, 'weight'], 'vs-bad-weight', `weight ${weight} < 0`, 'weights are 0 or more');
      entry.weight = weight;
      total += weight;
    }
    out.push(entry);
  });
  void ctx;
  if (list.length > 1 && total === 0) {
    r.error([...path, 'route'], 'vs-weights-zero', 'total destination weight = 0', 'give the destinations weights, e.g. 90 and 10');
  } else if (list.length > 1 && anyWeight && total !== 100) {
    r.warn([...path, 'route'], 'vs-weights-not-100', `destination weights sum to ${total}, not 100; Istio splits traffic in proportion (older releases rejected this)`,
      'make the weights add up to 100 so the split reads as percentages');
  }
  return out;
}

function readDestination(r: Reader, d: Obj, path: Path): Destination {
  rejectUnknownFields(r, d, DESTINATION_FIELDS, path);
  const host = r.str(d, 'host', path) ?? '';
  if (host === '*') {
    r.error([...path, 'host'], 'vs-bad-destination-host', `invalid destination host ${host}`, 'name a service, e.g. reviews or reviews.bookinfo.svc.cluster.local');
  } else {
    const p = wildcardDomainProblem(host);
    if (p) r.error(d['host'] === undefined ? path : [...path, 'host'], 'vs-bad-destination-host', `destination host: ${p}`, 'name a service, e.g. reviews or reviews.bookinfo.svc.cluster.local');
  }
  const out: Destination = { host };
  const subset = r.str(d, 'subset', path);
  if (subset !== undefined && subset !== '') {
    if (!isDns1123Label(subset)) r.error([...path, 'subset'], 'vs-bad-subset', `subset name is invalid: ${subset}`, 'subset names are DNS labels (v1, canary)');
    out.subset = subset;
  }
  const port = r.obj(d, 'port', path);
  if (port) {
    rejectUnknownFields(r, port, PORT_SELECTOR_FIELDS, [...path, 'port']);
    const n = r.int(port, 'number', [...path, 'port']) ?? 0;
    if (n < 1 || n > 65535) r.error([...path, 'port'], 'vs-bad-port', `port number ${n} must be in the range 1..65535`, 'use a port in 1-65535');
    out.port = { number: n };
  }
  return out;
}

function readRedirect(r: Reader, o: Obj, path: Path): HttpRedirect {
  rejectUnknownFields(r, o, REDIRECT_FIELDS, path);
  const out: HttpRedirect = {};
  const uri = r.str(o, 'uri', path);
  if (uri) out.uri = uri;
  const authority = r.str(o, 'authority', path);
  if (authority) out.authority = authority;
  const scheme = r.str(o, 'scheme', path);
  if (scheme) out.scheme = scheme;
  const port = r.int(o, 'port', path);
  if (port) out.port = port;
  const derive = r.str(o, 'derivePort', path);
  if (derive === 'FROM_PROTOCOL_DEFAULT' || derive === 'FROM_REQUEST_PORT') out.derivePort = derive;
  else if (derive !== undefined) r.error([...path, 'derivePort'], 'bad-enum', `derivePort "${derive}" is not one of FROM_PROTOCOL_DEFAULT, FROM_REQUEST_PORT`, 'use FROM_PROTOCOL_DEFAULT or FROM_REQUEST_PORT');
  const code = r.int(o, 'redirectCode', path);
  if (!out.uri && !out.authority && !out.scheme && out.port === undefined && out.derivePort === undefined) {
    r.error(path, 'vs-bad-redirect', 'redirect must specify URI, authority, scheme, or port', 'e.g. redirect: { uri: /new-path }');
  } else if (code !== undefined && code !== 0 && (code < 300 || code > 399)) {
    r.error([...path, 'redirectCode'], 'vs-bad-redirect', `${code} is not a valid redirect code, must be 3xx`, 'use 301, 302, 303, 307 or 308');
  } else if (out.scheme && out.scheme !== 'http' && out.scheme !== 'https') {
    r.error([...path, 'scheme'], 'vs-bad-redirect', 'invalid redirect scheme, must be "http" or "https"', 'write scheme: https');
  } else if (out.port !== undefined && (out.port < 1 || out.port > 65535)) {
    r.error([...path, 'port'], 'vs-bad-redirect', `port number ${out.port} must be in the range 1..65535`, 'use a port in 1-65535');
  }
  if (code !== undefined && code !== 0) {
    out.redirectCode = code;
    if (code >= 300 && code <= 399 && !REDIRECT_CODES.includes(code)) {
      r.warn([...path, 'redirectCode'], 'vs-redirect-code', `redirect code ${code} is not supported by Envoy; Istio drops this route's action`, 'use 301, 302, 303, 307 or 308');
    }
  }
  return out;
}

function readRewrite(r: Reader, o: Obj, path: Path): HttpRewrite | undefined {
  rejectUnknownFields(r, o, REWRITE_FIELDS, path);
  const out: HttpRewrite = {};
  const uri = r.str(o, 'uri', path);
  if (uri) out.uri = uri;
  const authority = r.str(o, 'authority', path);
  if (authority) out.authority = authority;
  const rr = r.obj(o, 'uriRegexRewrite', path);
  if (rr) {
    rejectUnknownFields(r, rr, REGEX_REWRITE_FIELDS, [...path, 'uriRegexRewrite']);
    const match = r.str(rr, 'match', [...path, 'uriRegexRewrite']) ?? '';
    const rewrite = r.str(rr, 'rewrite', [...path, 'uriRegexRewrite']) ?? '';
    if (match === '' || rewrite === '') {
      r.error([...path, 'uriRegexRewrite'], 'vs-bad-rewrite', 'UriRegexRewrite requires both Rewrite and Match fields to be specified', 'give uriRegexRewrite both match and rewrite');
    } else {
      const re = compileRe2(match);
      if (typeof re === 'string') r.error([...path, 'uriRegexRewrite', 'match'], 'vs-bad-regex', `"HTTPRewrite.UriRegexRewrite.Match": ${re}; Istio uses RE2 style regex-based match`,
        'write an RE2 expression (https://github.com/google/re2/wiki/Syntax)');
      out.uriRegexRewrite = { match, rewrite };
    }
  }
  if (out.uri && rr) {
    r.error(path, 'vs-bad-rewrite', 'rewrite may only contain one of URI or UriRegexRewrite', 'keep uri or uriRegexRewrite');
  } else if (!out.uri && !rr && !out.authority) {
    r.error(path, 'vs-bad-rewrite', 'rewrite must specify at least one of URI, UriRegexRewrite, or authority', 'e.g. rewrite: { uri: / }');
    return undefined;
  }
  return out;
}

/* ------------------------------------------------------- tls/tcp routes -- */

/** port, sourceLabels and sourceNamespace: the match fields HTTP, TLS and TCP routes share. */
/** The match fields HTTP, TLS and TCP matches share: port, sourceLabels, sourceNamespace, gateways. */
function readSourceMatch(r: Reader, m: Obj, path: Path, out: { port?: number; sourceLabels?: Labels; sourceNamespace?: string; gateways?: string[] }): void {
  const port = r.int(m, 'port', path);
  if (port !== undefined && port !== 0) {
    if (port < 1 || port > 65535) r.error([...path, 'port'], 'vs-bad-port', `port number ${port} must be in the range 1..65535`, 'use a port in 1-65535');
    out.port = port;
  }
  const sl = r.labels(m, 'sourceLabels', path);
  if (sl && Object.keys(sl).length > 0) out.sourceLabels = sl;
  const sns = r.str(m, 'sourceNamespace', path);
  if (sns !== undefined && sns !== '') {
    if (!isDns1123Label(sns)) r.error([...path, 'sourceNamespace'], 'vs-bad-source-namespace', `sourceNamespace match ${sns} is invalid`, 'name a namespace (a DNS label)');
    out.sourceNamespace = sns;
  }
  const gws = r.strList(m, 'gateways', path);
  if (gws && gws.length > 0) {
    gws.forEach((g, i) => checkGatewayName(r, g, [...path, 'gateways', i]));
    out.gateways = gws;
  }
}

function readL4Match(r: Reader, m: Obj, path: Path): L4Match {
  const out: L4Match = {};
  readSourceMatch(r, m, path, out);
  const subnets = r.strList(m, 'destinationSubnets', path);
  if (subnets && subnets.length > 0) {
    subnets.forEach((s, i) => {
      if (!parseCidr(s) && !parseIp(s)) r.error([...path, 'destinationSubnets', i], 'vs-bad-subnet', `${s} is not a valid CIDR block or IP`, 'write an address or CIDR, e.g. 10.0.0.0/16');
    });
    out.destinationSubnets = subnets;
  }
  return out;
}

function readTlsRoute(r: Reader, t: Obj, path: Path, ctx: VsContext): TlsRoute {
  rejectUnknownFields(r, t, L4_ROUTE_FIELDS, path);
  const out: TlsRoute = { match: [], route: [] };
  const matches = r.arr(t, 'match', path) ?? [];
  if (matches.length === 0) {
    r.error(path, 'vs-tls-no-match', 'TLS route must have at least one match condition', 'add match: [{ sniHosts: [<host>] }]');
  }
  matches.forEach((m, j) => {
    const mpath = [...path, 'match', j];
    if (!isObj(m)) { r.error(mpath, 'field-type', 'TLS match may not be null and must be a mapping', 'write the match as { sniHosts: [<host>] }'); return; }
    rejectUnknownFields(r, m, TLS_MATCH_FIELDS, mpath);
    const sniHosts = r.strList(m, 'sniHosts', mpath) ?? [];
    if (sniHosts.length === 0) {
      r.error(mpath, 'vs-tls-no-sni', 'TLS match must have at least one SNI host', 'add sniHosts: [<host>]');
    }
    sniHosts.forEach((sni, k) => {
      const p = wildcardDomainProblem(sni);
      if (p) {
        if (parseIp(sni)) r.warn([...mpath, 'sniHosts', k], 'vs-sni-ip', `using an IP address ("${sni}") goes against SNI spec and most clients do not support this`, 'match on a DNS name');
        else r.error([...mpath, 'sniHosts', k], 'vs-bad-host', `SNI host "${sni}": ${p}`, 'write a DNS name or a *.wildcard');
        return;
      }
      if (!ctx.hosts.some((h) => hostSubsetOf(sni, h))) {
        r.error([...mpath, 'sniHosts', k], 'vs-sni-not-in-hosts', `SNI host "${sni}" is not a compatible subset of any of the virtual service hosts: [${ctx.hosts.join(', ')}]`,
          'add the SNI host to spec.hosts, or fix the SNI host');
      }
    });
    out.match.push({ ...readL4Match(r, m, mpath), sniHosts } satisfies TlsMatch);
  });
  out.route = readL4Destinations(r, t, path, 'TLS');
  return out;
}

function readTcpRoute(r: Reader, t: Obj, path: Path, ctx: VsContext): TcpRoute {
  void ctx;
  rejectUnknownFields(r, t, L4_ROUTE_FIELDS, path);
  const out: TcpRoute = { match: [], route: [] };
  (r.arr(t, 'match', path) ?? []).forEach((m, j) => {
    const mpath = [...path, 'match', j];
    if (!isObj(m)) { r.error(mpath, 'field-type', 'tcp match may not be nil and must be a mapping', 'write the match as a mapping, e.g. { port: 5432 }'); return; }
    rejectUnknownFields(r, m, TCP_MATCH_FIELDS, mpath);
    out.match.push(readL4Match(r, m, mpath));
  });
  out.route = readL4Destinations(r, t, path, 'TCP');
  return out;
}

function readL4Destinations(r: Reader, t: Obj, path: Path, what: string): RouteDestination[] {
  const list = r.arr(t, 'route', path) ?? [];
  if (list.length === 0) {
    r.error(path, 'vs-route-without-destination', `${what} route is required`, 'add route: [{ destination: { host: <service>, port: { number: <port> } } }]');
  }
  return readDestinations(r, t, path, { namespace: '', appliesToGateway: false, hosts: [] }, true);
}

/* ------------------------------------------------------------- analyzer -- */

/**
 * istioctl analyze findings across objects, as warnings (the cluster accepts
 * these objects; istioctl reports IST0101 as an error, IST0132 as a warning):
 *  - IST0101 a VirtualService names a gateway that does not exist;
 *  - IST0101 a Gateway's selector matches no pod;
 *  - IST0132 a VirtualService host is not among the hosts of a gateway it is bound to.
 */
export function analyzeRouting(gateways: readonly Gateway[], vss: readonly VirtualService[], workloads: readonly Workload[], issues: IssueList): void {
  const byName = new Map<string, Gateway>();
  for (const g of gateways) byName.set(`${g.meta.namespace}/${g.meta.name}`, g);
  for (const g of gateways) {
    if (!workloads.some((w) => selectorMatches(g.selector, w.labels))) {
      const sel = Object.entries(g.selector).map(([k, v]) => `${k}=${v}`).join(',');
      issues.warn('IST0101', `Gateway ${g.meta.namespace}/${g.meta.name}: Referenced selector not found: "${sel}"`, g.meta.loc,
        'no pod carries these labels, so no gateway proxy serves this Gateway; fix spec.selector or deploy the gateway');
    }
  }
  for (const vs of vss) {
    vs.gateways.forEach((raw, i) => {
      const name = resolveGatewayName(raw, vs.meta.namespace);
      if (name === 'mesh') return;
      const loc: Location = vs.gatewayLocs[i] ?? vs.meta.loc;
      const gw = byName.get(name);
      if (!gw) {
        issues.warn('IST0101', `VirtualService ${vs.meta.namespace}/${vs.meta.name}: Referenced gateway not found: "${name}"`, loc,
          'create the Gateway, or name an existing one as <namespace>/<name>');
        return;
      }
      const missing = vs.hosts.filter((h) => !gw.servers.some((s) => s.hosts.some((sh) => {
        const slash = sh.indexOf('/');
        const ns = slash < 0 ? '*' : sh.slice(0, slash);
        const host = slash < 0 ? sh : sh.slice(slash + 1);
        const nsOk = ns === '*' || ns === vs.meta.namespace || (ns === '.' && gw.meta.namespace === vs.meta.namespace);
        return nsOk && (hostSubsetOf(h, host) || hostSubsetOf(host, h));
      })));
      if (missing.length > 0) {
        issues.warn('IST0132', `VirtualService ${vs.meta.namespace}/${vs.meta.name}: one or more host [${missing.join(', ')}] defined in VirtualService ${vs.meta.namespace}/${vs.meta.name} not found in Gateway ${name}`,
          loc, 'add the host to a server of the Gateway, or remove it from the VirtualService');
      }
    });
  }
}
