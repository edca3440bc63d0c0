/**
 * One request through the mesh, in the order a packet meets each control
 * (istio-semantics §3): resolve the destination, the client sidecar's TLS
 * decision (§5), the server sidecar's filter-chain selection by
 * PeerAuthentication (§4), then authorization (§6). Pure: the decision is the
 * explanation — verdict, the controls that stopped it, and a trace.
 */
import type { Mesh, Service, ServicePort, Workload } from '../model/types.js';
import { principalOf, selectorMatches, spiffeId } from '../model/types.js';
import { evaluateAuthz, type AuthzAttributes, type AuthzDecision, type ExtAuthz } from './authorization-policy.js';
import { findDestinationRule, tlsSettingsFor, type DrChoice } from './destination-rule.js';
import { normalizePath } from './matchers.js';
import { effectiveMtls, namespaceMode, type MtlsResolution } from './peer-authentication.js';

export type Protocol = 'http' | 'http2' | 'grpc' | 'tcp';
export type TlsIntent = 'auto' | 'plaintext' | 'mtls';

export type RequestSource =
  | { kind: 'workload'; workload: Workload }
  | { kind: 'outside'; ip: string };

export type RequestTarget =
  | { kind: 'host'; host: string; port: number }
  | { kind: 'workload'; workload: Workload; port: number };

export interface MeshRequest {
  from: RequestSource;
  to: RequestTarget;
  protocol: Protocol;
  method: string;
  path: string;
  /** as sent by the client; names in any case */
  headers: Readonly<Record<string, string>>;
  tls: TlsIntent;
}

export type ControlKind =
  | 'DNS' | 'Routing' | 'NetworkPolicy' | 'PeerAuthentication' | 'DestinationRule' | 'SecureNaming'
  | 'HttpValidation' | 'RequestAuthentication' | 'AuthorizationPolicy' | 'EgressPolicy'
  | 'RateLimit' | 'CircuitBreaker' | 'CertificateValidity';

export interface StoppedBy {
  control: ControlKind;
  /** `namespace/name` of the deciding resource; null for mesh defaults */
  name: string | null;
  rule?: string;
  reason: string;
}

export type Hop = 'client' | 'client-sidecar' | 'network' | 'server-sidecar' | 'app';

export interface TraceEvent {
  hop: Hop;
  what: string;
}

export interface Decision {
  outcome: 'allowed' | 'blocked';
  /** HTTP status the client sees, 0 for a failed connection, null for TCP */
  code: number | null;
  grpcStatus?: number;
  /** the hop into the destination was mutual TLS (null: no connection made) */
  mtls: boolean | null;
  stoppedBy: StoppedBy[];
  events: TraceEvent[];
  /** Envoy response flags (UF, UC, UH, URX…) when a proxy produced the answer */
  flags?: string;
  destination?: { service?: string; workload: string; port: number; targetPort: number; protocol: 'http' | 'tcp' };
  /** the request as the app received it */
  received?: { method: string; path: string; headers: Record<string, string> };
  /** what the client saw when refused */
  response?: { status: number; headers: Record<string, string>; body: string };
  peerPrincipal?: string | null;
  authz?: AuthzDecision;
  mtlsResolution?: { mode: string; level: string; policy: string | null };
}

export interface DecideOptions {
  /** choose one endpoint among several (seeded by the runner); default: the first */
  pickEndpoint?: (endpoints: readonly Workload[]) => Workload;
  extAuthz?: ExtAuthz;
}

const HTTP_PREFIXES = ['http', 'http2', 'grpc', 'grpc-web'];
const TCP_PREFIXES = ['tcp', 'tls', 'https', 'mongo', 'mysql', 'redis', 'udp'];

/** Protocol selection for a Service port (§6.8): appProtocol, then name prefix; null = sniffed. */
export function declaredProtocol(p: ServicePort): 'http' | 'tcp' | null {
  const label = (p.appProtocol ?? p.name ?? '').toLowerCase();
  const prefix = label.split('-')[0] ?? '';
  if (p.appProtocol !== undefined) {
    if (HTTP_PREFIXES.includes(label) || label === 'kubernetes.io/h2c') return 'http';
    return TCP_PREFIXES.includes(label) ? 'tcp' : null;
  }
  if (HTTP_PREFIXES.includes(prefix) || label.startsWith('grpc-web')) return 'http';
  if (TCP_PREFIXES.includes(prefix)) return 'tcp';
  return null;
}

export function hasProxy(w: Workload): boolean {
  return w.sidecar || w.gateway;
}

/** Resolves `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local` from a namespace. */
export function resolveHost(mesh: Mesh, host: string, fromNs: string): { service: Service | null; fqdn: string; inCluster: boolean } {
  const h = host.toLowerCase().replace(/\.$/, '');
  const parts = h.split('.');
  let fqdn: string;
  if (parts.length === 1) fqdn = `${h}.${fromNs}.svc.cluster.local`;
  else if (parts.length === 2 && mesh.namespaces.has(parts[1] as string)) fqdn = `${h}.svc.cluster.local`;
  else if (parts.length === 3 && parts[2] === 'svc') fqdn = `${h}.cluster.local`;
  else fqdn = h;
  const service = mesh.services.find((s) => s.fqdn === fqdn) ?? null;
  const inCluster = fqdn.endsWith('.svc.cluster.local');
  return { service, fqdn, inCluster };
}

export function endpointsOf(mesh: Mesh, s: Service): Workload[] {
  const sel = s.selector;
  if (sel === null || Object.keys(sel).length === 0) return [];
  return mesh.workloads.filter((w) => w.namespace === s.namespace && selectorMatches(sel, w.labels));
}

function targetPortOf(sp: ServicePort, w: Workload): number | null {
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  const named = w.ports.find((p) => p.name === sp.targetPort);
  return named ? named.containerPort : null;
}

/** Allowed SANs for secure naming (§1): DR subjectAltNames, else the service's identities. */
export function allowedSans(mesh: Mesh, s: Service | null, endpoint: Workload, drSans: string[] | undefined): string[] {
  const td = mesh.config.trustDomain;
  if (drSans && drSans.length > 0) return drSans.map((x) => (x.startsWith('spiffe://') ? x : spiffeId(x)));
  if (!s) return [spiffeId(principalOf(td, endpoint.namespace, endpoint.serviceAccount))];
  const ids = new Set<string>();
  for (const ep of endpointsOf(mesh, s)) ids.add(spiffeId(principalOf(td, ep.namespace, ep.serviceAccount)));
  for (const key of ['alpha.istio.io/canonical-serviceaccounts', 'alpha.istio.io/kubernetes-serviceaccounts']) {
    const v = s.annotations[key];
    if (v) for (const sa of v.split(',')) ids.add(spiffeId(sa.includes('@') || sa.includes('/') ? sa.trim() : principalOf(td, s.namespace, sa.trim())));
  }
  return [...ids];
}

interface Ctx {
  mesh: Mesh;
  req: MeshRequest;
  events: TraceEvent[];
  l7: 'http' | 'tcp';
  clientProxy: boolean;
  /** the client sidecar has an HTTP listener for this destination (else it proxies TCP) */
  clientHttp: boolean;
}

function failConnection(ctx: Ctx, code: number | null, mtls: boolean | null, stopped: StoppedBy, flags?: string, body?: string): Decision {
  // TCP steps carry no status; an HTTP request through an opaque TCP proxy sees only a dropped connection.
  // A client sidecar that proxies the connection as TCP cannot answer 503: the client sees an empty reply.
  const fromClientSidecar = code === 503 || code === 502;
  const seen = ctx.req.protocol === 'tcp' ? null : ctx.l7 === 'tcp' || (fromClientSidecar && !ctx.clientHttp) ? 0 : code;
  const d: Decision = { outcome: 'blocked', code: seen, mtls, stoppedBy: [stopped], events: ctx.events };
  if (flags) d.flags = flags;
  if (seen !== null && seen > 0) d.response = { status: seen, headers: {}, body: body ?? '' };
  return d;
}

function isGrpc(req: MeshRequest): boolean {
  return req.protocol === 'grpc';
}

export function authority(req: MeshRequest): string {
  const explicit = Object.entries(req.headers).find(([k]) => k.toLowerCase() === 'host' || k === ':authority');
  if (explicit) return explicit[1];
  const t = req.to;
  const host = t.kind === 'host' ? t.host : t.workload.ip;
  return t.port === 80 ? host : `${host}:${t.port}`;
}

export function decide(mesh: Mesh, req: MeshRequest, opts: DecideOptions = {}): Decision {
  const events: TraceEvent[] = [];
  const src = req.from.kind === 'workload' ? req.from.workload : null;
  const srcName = src ? src.id : 'outside';
  const srcNs = src ? src.namespace : '';
  const srcIp = src ? src.ip : req.from.kind === 'outside' ? req.from.ip : '';
  const requestL7: 'http' | 'tcp' = req.protocol === 'tcp' ? 'tcp' : 'http';
  const bypass = req.tls === 'plaintext';
  const clientProxy = src !== null && hasProxy(src) && !bypass;
  const ctx: Ctx = { mesh, req, events, l7: requestL7, clientProxy, clientHttp: requestL7 === 'http' };

  if (src && hasProxy(src) && bypass) {
    events.push({ hop: 'client', what: `${srcName} sends from a process that bypasses its own sidecar (excluded port or UID 1337): raw plaintext, no identity` });
  } else if (src && !hasProxy(src)) {
    events.push({ hop: 'client', what: `${srcName} has no sidecar (${src.sidecarReason}): it sends plaintext and has no identity` });
  } else if (!src) {
    events.push({ hop: 'client', what: `a client outside the cluster (${srcIp}) sends plaintext` });
  }

  // 1. Destination.
  let service: Service | null = null;
  let servicePort: ServicePort | null = null;
  let endpoint: Workload;
  let targetPort: number;
  let passthrough = false;
  if (req.to.kind === 'host') {
    const r = resolveHost(mesh, req.to.host, srcNs || 'default');
    if (!r.service) {
      events.push({ hop: 'client', what: `DNS: ${req.to.host} does not resolve to a Service of the mesh (${r.fqdn})` });
      if (r.inCluster || !req.to.host.includes('.')) {
        return failConnection(ctx, 0, null, { control: 'DNS', name: null, reason: `no Service named ${r.fqdn}; the name does not resolve` });
      }
      return externalHost(ctx, r.fqdn);
    }
    service = r.service;
    const port = req.to.port;
    if (!src && service.type !== 'LoadBalancer' && service.type !== 'NodePort') {
      events.push({ hop: 'network', what: `Service ${service.namespace}/${service.name} is ${service.type}: its address is not reachable from outside the cluster` });
      return failConnection(ctx, 0, null, { control: 'Routing', name: `${service.namespace}/${service.name}`,
        reason: `a client outside the cluster cannot reach the ${service.type} Service ${service.name}; it must come in through a LoadBalancer or NodePort Service such as the ingress gateway` });
    }
    servicePort = service.ports.find((p) => p.port === port) ?? null;
    if (!servicePort) {
      events.push({ hop: 'client', what: `Service ${service.namespace}/${service.name} has no port ${port}` });
      return failConnection(ctx, clientProxy ? 503 : 0, null,
        { control: 'Routing', name: `${service.namespace}/${service.name}`, reason: `Service ${service.name} exposes ports ${service.ports.map((p) => p.port).join(', ') || 'none'}, not ${port}` },
        clientProxy ? 'UF' : undefined);
    }
    const eps = endpointsOf(mesh, service);
    if (eps.length === 0) {
      events.push({ hop: 'client-sidecar', what: `Service ${service.namespace}/${service.name} has no endpoints (its selector matches no pod)` });
      return failConnection(ctx, clientProxy ? 503 : 0, null,
        { control: 'Routing', name: `${service.namespace}/${service.name}`, reason: `Service ${service.name} selects no workload: no healthy upstream` },
        clientProxy ? 'UH' : undefined, 'no healthy upstream');
    }
    endpoint = eps.length === 1 ? (eps[0] as Workload) : (opts.pickEndpoint ?? ((e) => e[0] as Workload))(eps);
    const tp = targetPortOf(servicePort, endpoint);
    if (tp === null) {
      return failConnection(ctx, clientProxy ? 503 : 0, null,
        { control: 'Routing', name: `${service.namespace}/${service.name}`, reason: `targetPort "${String(servicePort.targetPort)}" names no container port of ${endpoint.id}` },
        clientProxy ? 'UF' : undefined);
    }
    targetPort = tp;
    const declared = declaredProtocol(servicePort);
    ctx.l7 = declared ?? requestL7;
    ctx.clientHttp = ctx.l7 === 'http';
    events.push({ hop: 'client', what: `${req.to.host}:${port} → Service ${service.fqdn} port ${port} → ${endpoint.id} (${endpoint.ip}) port ${targetPort}; protocol ${declared ? `declared ${declared}` : `sniffed ${requestL7}`}` });
  } else {
    endpoint = req.to.workload;
    targetPort = req.to.port;
    passthrough = true;
    events.push({ hop: 'client', what: `dials pod ${endpoint.id} directly at ${endpoint.ip}:${targetPort}, bypassing any Service` });
    if (!endpoint.ports.some((p) => p.containerPort === targetPort)) {
      events.push({ hop: 'network', what: `${endpoint.id} declares no container port ${targetPort}: nothing listens` });
      return failConnection(ctx, clientProxy ? 503 : 0, null,
        { control: 'Routing', name: endpoint.id, reason: `${endpoint.id} exposes container ports ${endpoint.ports.map((p) => p.containerPort).join(', ') || 'none'}, not ${targetPort}: connection refused` },
        clientProxy ? 'UF' : undefined);
    }
    const named = endpoint.ports.find((p) => p.containerPort === targetPort)?.name;
    const svcPort = mesh.services.filter((s) => s.namespace === endpoint.namespace && endpointsOf(mesh, s).includes(endpoint))
      .flatMap((s) => s.ports).find((p) => targetPortOf(p, endpoint) === targetPort);
    const declared = (svcPort && declaredProtocol(svcPort)) ?? (named ? declaredProtocol({ port: targetPort, targetPort, protocol: 'TCP', name: named }) : null);
    ctx.l7 = declared ?? requestL7;
    // The client sidecar has an HTTP listener on 0.0.0.0:<port> only when some Service port of that number is HTTP (or sniffed).
    ctx.clientHttp = requestL7 === 'http' && mesh.services.some((s) => s.ports.some((p) => p.port === targetPort && declaredProtocol(p) !== 'tcp'));
  }

  const d = connect(ctx, { service, servicePort, endpoint, targetPort, passthrough, srcIp }, opts);
  return d;
}

interface Route {
  service: Service | null;
  servicePort: ServicePort | null;
  endpoint: Workload;
  targetPort: number;
  passthrough: boolean;
  srcIp: string;
}

function externalHost(ctx: Ctx, fqdn: string): Decision {
  const { mesh, req, events } = ctx;
  const mode = mesh.config.outboundTrafficPolicy;
  if (ctx.clientProxy && mode === 'REGISTRY_ONLY') {
    events.push({ hop: 'client-sidecar', what: `${fqdn} is not in the sidecar's registry; REGISTRY_ONLY sends it to the BlackHoleCluster` });
    return failConnection(ctx, ctx.l7 === 'http' ? 502 : 0, null,
      { control: 'EgressPolicy', name: null, reason: `outboundTrafficPolicy REGISTRY_ONLY and no ServiceEntry for ${fqdn}` }, undefined, '');
  }
  events.push({ hop: 'client-sidecar', what: ctx.clientProxy
    ? `${fqdn} is unknown to the mesh; ALLOW_ANY forwards it through the PassthroughCluster in plaintext`
    : `${fqdn} is outside the mesh; no sidecar on the way out` });
  const d: Decision = { outcome: 'allowed', code: ctx.l7 === 'http' ? 200 : null, mtls: false, stoppedBy: [], events };
  d.received = { method: req.method, path: req.path, headers: lowerHeaders(req.headers) };
  return d;
}

function lowerHeaders(h: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    const key = k.toLowerCase();
    out[key] = out[key] !== undefined ? `${out[key]},${v}` : v;
  }
  return out;
}

function paName(r: MtlsResolution): string | null {
  return r.policy ? `${r.policy.meta.namespace}/${r.policy.meta.name}` : null;
}

function describeMode(r: MtlsResolution): string {
  const by = r.policy ? ` by PeerAuthentication ${paName(r)} (${r.level}-level)` : ' (mesh default: no PeerAuthentication applies)';
  return `${r.mode}${by}`;
}

type ClientTls =
  | { kind: 'plaintext'; why: string; dr?: DrChoice }
  | { kind: 'istio'; why: string; dr?: DrChoice; sans?: string[] }
  | { kind: 'tls'; why: string; dr: DrChoice; mode: 'SIMPLE' | 'MUTUAL' };

function clientTls(ctx: Ctx, route: Route): ClientTls {
  const { mesh, req } = ctx;
  const src = (req.from as { workload: Workload }).workload;
  if (req.tls === 'mtls') return { kind: 'istio', why: 'the step forces Istio mTLS with the client\'s own certificate' };
  if (route.passthrough || !route.service) {
    return { kind: 'plaintext', why: 'a pod IP is not a service host: the sidecar forwards it through the PassthroughCluster in plaintext' };
  }
  const dr = findDestinationRule(mesh, src.namespace, src.labels, route.service.fqdn, route.service.namespace);
  const tls = dr ? tlsSettingsFor(dr.rule, route.servicePort?.port ?? route.targetPort) : null;
  const drName = dr ? `${dr.rule.meta.namespace}/${dr.rule.meta.name}` : '';
  if (dr && tls) {
    const m = tls.tls.mode;
    const where = `DestinationRule ${drName} (${tls.from === 'port' ? 'port-level ' : tls.from === 'subset' ? 'subset ' : ''}tls.mode ${m})`;
    if (m === 'DISABLE') return { kind: 'plaintext', why: `${where} sends plaintext`, dr };
    if (m === 'ISTIO_MUTUAL') {
      const out: ClientTls = { kind: 'istio', why: `${where} originates Istio mTLS to every endpoint`, dr };
      if (tls.tls.subjectAltNames) out.sans = tls.tls.subjectAltNames;
      return out;
    }
    return { kind: 'tls', why: `${where} originates ${m === 'SIMPLE' ? 'one-way' : 'non-Istio mutual'} TLS`, dr, mode: m };
  }
  if (!mesh.config.enableAutoMtls) return { kind: 'plaintext', why: 'auto mTLS is disabled in the mesh config and no DestinationRule sets TLS' };
  const nsMode = namespaceMode(mesh, route.service.namespace);
  const base = dr ? `DestinationRule ${drName} sets no TLS, so auto mTLS decides` : 'auto mTLS';
  if (nsMode.mode === 'DISABLE') {
    return { kind: 'plaintext', why: `${base}: namespace ${route.service.namespace} resolves to DISABLE (${paName(nsMode) ?? 'mesh'}) → plaintext` };
  }
  if (!route.endpoint.sidecar) {
    return { kind: 'plaintext', why: `${base}: endpoint ${route.endpoint.id} has no sidecar (no security.istio.io/tlsMode=istio label) → plaintext` };
  }
  const epMode = effectiveMtls(mesh, route.endpoint, route.targetPort);
  if (epMode.mode === 'DISABLE') {
    return { kind: 'plaintext', why: `${base}: endpoint ${route.endpoint.id} port ${route.targetPort} is DISABLE → plaintext` };
  }
  return { kind: 'istio', why: `${base}: endpoint ${route.endpoint.id} has a sidecar → Istio mTLS` };
}

function connect(ctx: Ctx, route: Route, opts: DecideOptions): Decision {
  const { mesh, req, events } = ctx;
  const src = req.from.kind === 'workload' ? req.from.workload : null;
  const ep = route.endpoint;
  const serverProxy = hasProxy(ep);
  let mtls = false;
  let peerPrincipal: string | null = null;

  // 2. Client side TLS decision (§5).
  let tlsKind: ClientTls['kind'] = 'plaintext';
  let tlsInfo: ClientTls | null = null;
  if (ctx.clientProxy && src) {
    tlsInfo = clientTls(ctx, route);
    tlsKind = tlsInfo.kind;
    events.push({ hop: 'client-sidecar', what: tlsInfo.why });
  } else if (req.tls === 'mtls' && src && !hasProxy(src)) {
    events.push({ hop: 'client', what: `${src.id} has no sidecar and so no certificate: it cannot originate mTLS and sends plaintext` });
  }

  const drStop = (reason: string): StoppedBy => {
    const dr = tlsInfo?.dr;
    return { control: 'DestinationRule', name: dr ? `${dr.rule.meta.namespace}/${dr.rule.meta.name}` : null, reason };
  };

  // 3. Handshake / server filter chain (§4, §5.3).
  const res = serverProxy ? effectiveMtls(mesh, ep, route.targetPort) : null;
  if (res) events.push({ hop: 'server-sidecar', what: `${ep.id} port ${route.targetPort} accepts ${res.mode === 'STRICT' ? 'mTLS only' : res.mode === 'DISABLE' ? 'plaintext only' : 'mTLS and plaintext'}: ${describeMode(res)}` });

  if (tlsKind === 'istio' && src) {
    if (!serverProxy) {
      events.push({ hop: 'network', what: `${ep.id} has no sidecar to terminate Istio mTLS: the TLS handshake fails` });
      return failConnection(ctx, 503, null,
        drStop(`Istio mTLS is sent to ${ep.id}, which has no sidecar (${ep.sidecarReason}); the handshake fails`), 'UF,URX',
        'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error');
    }
    if (res?.mode === 'DISABLE') {
      events.push({ hop: 'server-sidecar', what: 'DISABLE: the sidecar does not terminate mTLS; the handshake fails' });
      return failConnection(ctx, 503, null,
        { control: 'PeerAuthentication', name: paName(res), reason: `${ep.name} port ${route.targetPort} is DISABLE, so its sidecar rejects the Istio mTLS that ${tlsInfo?.dr ? `DestinationRule ${tlsInfo.dr.rule.meta.namespace}/${tlsInfo.dr.rule.meta.name}` : 'the client'} sends` },
        'UF,URX', 'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error');
    }
    // Secure naming (§1): the server certificate's URI SAN must be an allowed identity.
    const serverId = spiffeId(principalOf(mesh.config.trustDomain, ep.namespace, ep.serviceAccount));
    const sans = tlsInfo?.kind === 'istio' ? allowedSans(mesh, route.service, ep, tlsInfo.sans) : [serverId];
    if (!sans.includes(serverId)) {
      events.push({ hop: 'client-sidecar', what: `secure naming: server certificate ${serverId} is not among ${sans.join(', ')}` });
      return failConnection(ctx, 503, null,
        { control: 'SecureNaming', name: tlsInfo?.dr ? `${tlsInfo.dr.rule.meta.namespace}/${tlsInfo.dr.rule.meta.name}` : null,
          reason: `the server presents ${serverId}, which is not an allowed identity (${sans.join(', ')}); the client sidecar aborts the handshake` },
        'UF,URX', 'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error: SAN mismatch');
    }
    mtls = true;
    peerPrincipal = principalOf(mesh.config.trustDomain, src.namespace, src.serviceAccount);
    events.push({ hop: 'network', what: `mTLS handshake: client ${spiffeId(peerPrincipal)} ↔ server ${serverId}` });
  } else if (tlsKind === 'tls') {
    events.push({ hop: 'network', what: 'TLS without Istio ALPN reaches a workload that expects plaintext from its sidecar' });
    return failConnection(ctx, 503, false,
      drStop(`the client originates ${tlsInfo?.kind === 'tls' ? tlsInfo.mode : ''} TLS, but ${ep.id}'s app speaks plaintext behind ${serverProxy ? 'its sidecar' : 'no sidecar'}; the connection fails`),
      'UC', 'upstream connect error or disconnect/reset before headers. reset reason: connection termination');
  } else if (res?.mode === 'STRICT') {
    events.push({ hop: 'server-sidecar', what: 'STRICT: no filter chain accepts plaintext; the connection is closed before any HTTP is read' });
    const reason = `${ep.name} port ${route.targetPort} requires mTLS (STRICT by ${paName(res) ?? 'mesh default'}) and ${ctx.clientProxy ? `${src?.id}'s sidecar sent plaintext (${tlsInfo?.why ?? ''})` : `${src ? src.id : 'the outside client'} sent plaintext`}`;
    if (ctx.clientProxy) {
      return failConnection(ctx, 503, false, { control: 'PeerAuthentication', name: paName(res), reason }, 'UC',
        'upstream connect error or disconnect/reset before headers. reset reason: connection termination');
    }
    return failConnection(ctx, 0, false, { control: 'PeerAuthentication', name: paName(res), reason });
  } else {
    events.push({ hop: 'network', what: serverProxy ? `plaintext accepted (${res?.mode})` : `plaintext to ${ep.id}, which has no sidecar: nothing checks it` });
  }

  const dest = { workload: ep.id, port: route.servicePort?.port ?? route.targetPort, targetPort: route.targetPort, protocol: ctx.l7 };
  const destination: Decision['destination'] = route.service ? { service: `${route.service.namespace}/${route.service.name}`, ...dest } : dest;

  // 4. HTTP validation at the server proxy (§6.6) — also at a client sidecar for HTTP.
  const headers = lowerHeaders(req.headers);
  let path = req.path;
  let query = '';
  const anyProxy = serverProxy || ctx.clientProxy;
  if (ctx.l7 === 'http' && anyProxy) {
    if (!/^[A-Z]+$/.test(req.method)) {
      events.push({ hop: serverProxy ? 'server-sidecar' : 'client-sidecar', what: `method "${req.method}" is not upper case: Envoy answers 400` });
      return { ...failConnection(ctx, 400, mtls, { control: 'HttpValidation', name: null, reason: `HTTP method "${req.method}" is not an upper-case token; Envoy rejects it before authorization` }), destination };
    }
    const n = normalizePath(req.path, mesh.config.pathNormalization);
    if (!n.ok) {
      events.push({ hop: serverProxy ? 'server-sidecar' : 'client-sidecar', what: `path rejected: ${n.reason}` });
      return { ...failConnection(ctx, 400, mtls, { control: 'HttpValidation', name: null, reason: `the path is rejected during normalization (${n.reason})` }), destination };
    }
    path = n.path;
    query = n.query;
    if (path !== req.path.split('?')[0]) events.push({ hop: 'server-sidecar', what: `path normalized (${mesh.config.pathNormalization}): ${req.path} → ${path}` });
  }

  // 5. Authorization at the receiving proxy (§6).
  let authz: AuthzDecision | undefined;
  if (serverProxy) {
    const attrs: AuthzAttributes = {
      protocol: ctx.l7,
      peerPrincipal,
      sourceIp: route.srcIp,
      remoteIp: route.srcIp,
      destinationIp: ep.ip,
      destinationPort: route.targetPort,
      sni: mtls ? `outbound_.${dest.port}_._.${route.service?.fqdn ?? ep.ip}` : null,
    };
    if (ctx.l7 === 'http') attrs.http = { host: authority(req), method: req.method, path, headers };
    authz = evaluateAuthz(mesh, ep, attrs, opts.extAuthz);
    for (const t of authz.trace) events.push({ hop: 'server-sidecar', what: t });
    for (const dr of authz.dropped) events.push({ hop: 'server-sidecar', what: `${dr.rule} uses HTTP-only ${dr.fields.join(', ')} on a TCP port: ${dr.effect}` });
    for (const s of authz.shadow) events.push({ hop: 'server-sidecar', what: `dry-run ${s.policy}: ${s.effect}${s.rule ? ` (${s.rule.rule})` : ''} — not enforced` });
    if (!authz.allowed) {
      const stop: StoppedBy = {
        control: 'AuthorizationPolicy',
        name: authz.decidedBy ? `${authz.decidedBy.namespace}/${authz.decidedBy.policy}` : authz.consulted[0] ? `${authz.consulted[0].namespace}/${authz.consulted[0].name}` : null,
        reason: authz.reason,
      };
      if (authz.decidedBy) stop.rule = authz.decidedBy.rule;
      const d: Decision = { outcome: 'blocked', code: null, mtls, stoppedBy: [stop], events, destination, peerPrincipal, authz };
      if (ctx.l7 === 'tcp') {
        d.code = req.protocol === 'tcp' ? null : 0;
        events.push({ hop: 'server-sidecar', what: 'TCP: the connection is closed right after accept; no bytes reach the app' });
      } else {
        const status = authz.custom?.verdict.status ?? 403;
        const body = authz.custom?.verdict.body ?? 'RBAC: access denied';
        d.response = { status, headers: { 'content-type': 'text/plain', ...(authz.custom?.verdict.headers ?? {}) }, body };
        if (isGrpc(req)) { d.code = 200; d.grpcStatus = 7; } else d.code = status;
        events.push({ hop: 'server-sidecar', what: `responds ${status} "${body}" (${authz.details})` });
      }
      return d;
    }
  }

  // 6. Delivered to the app.
  const received: Record<string, string> = { ...headers };
  if (serverProxy) {
    delete received['x-forwarded-client-cert'];
    if (mtls && peerPrincipal) {
      const serverId = spiffeId(principalOf(mesh.config.trustDomain, ep.namespace, ep.serviceAccount));
      received['x-forwarded-client-cert'] = `By=${serverId};Hash=<sha256 of the client certificate>;Subject="";URI=${spiffeId(peerPrincipal)}`;
    }
    received['x-forwarded-proto'] = 'http';
  }
  if (ctx.l7 === 'http') received['host'] = received['host'] ?? authority(req);
  events.push({ hop: 'app', what: `${ep.id} receives the ${ctx.l7 === 'http' ? `request ${req.method} ${path}${query ? `?${query}` : ''}` : 'connection'} and answers` });
  const d: Decision = {
    outcome: 'allowed',
    code: ctx.l7 === 'tcp' ? (req.protocol === 'tcp' ? null : 200) : 200,
    mtls, stoppedBy: [], events, destination, peerPrincipal,
  };
  if (isGrpc(req)) d.grpcStatus = 0;
  if (authz) d.authz = authz;
  if (res) d.mtlsResolution = { mode: res.mode, level: res.level, policy: paName(res) };
  if (ctx.l7 === 'http' || req.protocol !== 'tcp') d.received = { method: req.method, path: query ? `${path}?${query}` : path, headers: sortKeys(received) };
  return d;
}

function sortKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(h).sort()) out[k] = h[k] as string;
  return out;
}
