/**
 * One request through the mesh, in the order a packet meets each control
 * (istio-semantics §3), hop by hop:
 *
 *  client side (the client's sidecar, or a gateway forwarding a routed request)
 *   0. capture (capture.ts): the pod's iptables rules hand the connection to
 *      its sidecar or not; `bypass` (or `tls: plaintext` from a captured
 *      client) tries to leave around it — when it does, the client side has
 *      no proxy at all
 *   1. name resolution: in-cluster DNS, ServiceEntry hosts, external names (§8, dns.ts)
 *   2. VirtualServices bound to `mesh` (sidecars only) may reroute, e.g. to an egress gateway (§8)
 *   3. outbound traffic policy: registry visibility through Sidecar/exportTo,
 *      ALLOW_ANY → PassthroughCluster, REGISTRY_ONLY → BlackHoleCluster (§8)
 *   4. endpoint pick; TLS decision: DestinationRule or auto mTLS; secure naming (§5, §1)
 *  network
 *   5. Kubernetes NetworkPolicy, egress of the source pod and ingress of the destination pod (§11)
 *  receiving proxy (inbound.ts)
 *   6. a sidecar: PeerAuthentication filter chain (§4), HTTP validation (§6.6),
 *      CUSTOM ext_authz, jwt_authn (§7), RBAC (§6) — or a gateway: server
 *      selection and TLS (§9), the same filters, then its routes to the next hop.
 *
 * Pure: the decision is the explanation — verdict, the controls that stopped
 * it, and a trace of every hop.
 */
import { parseIp } from '../core/ip.js';
import { ownValue } from '../core/record.js';
import { meshIndex, type MeshIndex } from '../model/index.js';
import type { ContainerPort, Labels, Mesh, Service, ServicePort, Workload } from '../model/types.js';
import { principalOf, selectorMatches, spiffeId } from '../model/types.js';
import { selectedWorkloadEntries, type ServiceEntry, type ServiceEntryEndpoint, type ServiceEntryPort, type Sidecar, type SidecarEgressListener, type WorkloadEntry } from '../model/egress.js';
import type { VirtualService } from '../model/routing.js';
import type { NetworkPolicy } from '../model/network-policy.js';
import { clusterLbPassthrough, endpointTlsMode, findDestinationRule, tlsSettingsFor, topLevelLbPassthrough, type DrChoice } from './destination-rule.js';
import { decideEgress, egressListenerFor, entryHostsInPushOrder, httpListenerOnPortIndexed, importsVirtualServiceHost, lookupDestination, normalizeHost, outboundMode, sidecarFor, sidecarOfInput, sidecarsNear, type EgressInput, type EgressLookup, type RegistryByPort } from './egress.js';
import { bypassAttempt, customCapture, outboundCapture } from './capture.js';
import { searchPath, upstreamResolves } from './dns.js';
import { connectInbound, NODE_IP, paName } from './inbound.js';
import { evaluateNetworkPolicies, namespaceLabelsOf, networkPoliciesAllow, selectingPolicies, type NpEndpoint, type SelectingOf } from './network-policy.js';
import { effectiveMtls, namespaceMode } from './peer-authentication.js';
import { dnsCaptureOf, entryAddressKind } from './dns-capture.js';
import {
  declaredProtocol, endpointsOf, externalIpOf, hasProxy, isHttp, legAuthority, lowerHeaders, targetPortOf,
  type Decision, type DecideOptions, type HttpRouteRef, type IdentityOverride, type Leg, type MeshRequest, type Run, type StoppedBy,
} from './pipeline.js';
import { domainScore, drawnIndex, qualify, routeHttp, routeTcp, routeTls, type Draw } from './routing.js';
import { hopProtection, recordHop } from './wire.js';

export * from './pipeline.js';

const MAX_HOPS = 6;

/** Resolves `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local` from a namespace. */
export function resolveHost(mesh: Mesh, host: string, fromNs: string): { service: Service | null; fqdn: string; inCluster: boolean } {
  const h = normalizeHost(host);
  const parts = h.split('.');
  let fqdn: string;
  if (parts.length === 1) fqdn = `${h}.${fromNs}.svc.cluster.local`;
  else if (parts.length === 2 && mesh.namespaces.has(parts[1] as string)) fqdn = `${h}.svc.cluster.local`;
  else if (parts.length === 3 && parts[2] === 'svc') fqdn = `${h}.cluster.local`;
  else fqdn = h;
  const service = meshIndex(mesh).services(fqdn)[0] ?? null;
  const inCluster = fqdn.endsWith('.svc.cluster.local');
  return { service, fqdn, inCluster };
}

/** Allowed SANs for secure naming (§1): DR subjectAltNames, else the service's identities. */
export function allowedSans(mesh: Mesh, s: Service | null, endpoint: Workload, drSans: string[] | undefined): readonly string[] {
  const td = mesh.config.trustDomain;
  if (drSans && drSans.length > 0) return drSans.map((x) => (x.startsWith('spiffe://') ? x : spiffeId(x)));
  if (!s) return [spiffeId(principalOf(td, endpoint.namespace, endpoint.serviceAccount))];
  // A Service's identities depend on the mesh alone: worked out once per Service (index memo).
  return meshIndex(mesh).memoFor('service-sans', s, () => serviceSans(mesh, s));
}

function serviceSans(mesh: Mesh, s: Service): string[] {
  const td = mesh.config.trustDomain;
  const ids = new Set<string>();
  for (const ep of endpointsOf(mesh, s)) ids.add(spiffeId(principalOf(td, ep.namespace, ep.serviceAccount)));
  for (const key of ['alpha.istio.io/canonical-serviceaccounts', 'alpha.istio.io/kubernetes-serviceaccounts']) {
    const v = s.annotations[key];
    if (v) for (const sa of v.split(',')) ids.add(spiffeId(sa.includes('/') ? sa.trim() : principalOf(td, s.namespace, sa.trim())));
  }
  return [...ids];
}

export function decide(mesh: Mesh, req: MeshRequest, opts: DecideOptions = {}): Decision {
  const explain = opts.explain !== false;
  const run: Run = { mesh, opts, explain, events: [], proxies: [], wire: [], send: (leg) => sendLeg(run, leg), req };
  const src = req.from.kind === 'workload' ? req.from.workload : null;
  // An identity override is the attacker's own process connecting with its own credential; whether it gets past its
  // sidecar is the capture step's call (clientCapture: the same rules as `bypass`, product.md §2).
  const own = req.identity;
  if (!explain) {
    // analysis only: no trace text
  } else if (own) {
    run.events.push({ hop: 'client', what: `${src ? src.id : 'a client outside the cluster'}: the attacker's own process connects ${ownCredential(own)}` });
  } else if (src && !hasProxy(src)) {
    run.events.push({ hop: 'client', what: `${src.id} has no sidecar (${src.sidecarReason}): it sends plaintext and has no identity` });
  } else if (!src) {
    run.events.push({ hop: 'client', what: `a client outside the cluster (${req.from.kind === 'outside' ? req.from.ip : ''})` });
  }
  const leg: Leg = {
    client: src,
    clientIp: src ? src.ip : req.from.kind === 'outside' ? req.from.ip : '',
    proxy: src !== null && hasProxy(src),
    viaGateway: false,
    target: req.to.kind === 'host' ? { kind: 'host', host: req.to.host, port: req.to.port } : { kind: 'pod', workload: req.to.workload, port: req.to.port },
    protocol: req.protocol,
    method: req.method,
    path: req.path,
    headers: lowerHeaders(req.headers),
    sni: req.sni ?? null,
    intent: own ? (own.kind === 'none' ? 'plaintext' : 'mtls') : req.tls,
    depth: 0,
  };
  if (own) leg.identity = own;
  const d = sendLeg(run, leg);
  d.events = run.events;
  if (run.proxies.length > 0) d.path = run.proxies;
  if (run.httpRoute) d.httpRoute = run.httpRoute;
  if (run.wire.length > 0) d.wire = run.wire;
  if (run.clientListener) d.clientListener = run.clientListener;
  if (run.addresses) d.addresses = run.addresses;
  if (run.ownCertAccepted) d.ownCertAccepted = run.ownCertAccepted;
  return d;
}

function ownCredential(own: IdentityOverride): string {
  switch (own.kind) {
    case 'none': return 'in plaintext with no certificate';
    case 'forged-cert': return `offering Istio's ALPN and a certificate for ${own.spiffe} signed by a CA the mesh does not trust`;
    case 'stolen-cert': return `offering Istio's ALPN and the mesh-signed certificate of ${own.spiffe} taken from ${own.from}`;
  }
}

/** Going around the sidecar was asked for: `bypass`, or `tls: plaintext` (product.md §2). */
export function bypassRequested(req: MeshRequest): boolean {
  return req.bypass ?? req.tls === 'plaintext';
}

/** The address the app dials for a destination (what iptables sees, capture.ts). */
function dialledAddress(mesh: Mesh, dest: Dest): string {
  if (dest.kind === 'pod') return dest.workload.ip;
  if (dest.kind === 'external') return dest.ip;
  if (dest.service.headless) return endpointsOf(mesh, dest.service)[0]?.ip ?? dest.service.clusterIP;
  return dest.service.clusterIP;
}

/**
 * Step 0 for the sending workload: does its own proxy handle the connection?
 * Sets `leg.proxy` (and drops a plaintext wish the sidecar will not honour).
 */
function clientCapture(ctx: Ctx, client: Workload, dest: Dest, port: number): void {
  const { run, leg } = ctx;
  const ev = (what: string): void => { run.events.push({ hop: 'client', what }); };
  // The attacker's own TLS client (an identity override) must get past the sidecar like any bypass to present its credential.
  const own = leg.identity;
  const asked = bypassRequested(run.req) || own !== undefined;
  const explicit = run.req.bypass === true;
  if (!hasProxy(client)) {
    if (explicit) ev(`bypass: ${client.id} has no sidecar to go around`);
    return;
  }
  if (client.gateway) {
    if (!asked) return;
    leg.proxy = false;
    ev(`bypass: the attacker's process in the gateway pod ${client.id} is not its Envoy, and a gateway pod has no capture rules: it connects directly — plaintext, no identity`);
    return;
  }
  const address = dialledAddress(run.mesh, dest);
  const name = dest.kind === 'service' ? dest.service.fqdn : dest.kind === 'external' ? dest.name : dest.workload.id;
  const target = name === address ? `${address}:${port}` : `${name}:${port} (${address})`;
  const cap = outboundCapture(client, address, port);
  if (asked) {
    const v = bypassAttempt(client, cap, run.req.capabilities ?? []);
    leg.proxy = !v.escapes;
    const plain = !v.escapes && leg.intent === 'plaintext' ? ' (tls: plaintext is not something an app can ask its sidecar for: the sidecar chooses TLS itself)' : '';
    ev(`bypass to ${target}: ${v.why}${plain}`);
    if (!v.escapes && leg.intent === 'plaintext') leg.intent = 'auto';
    if (!v.escapes && own) {
      // Captured: the sidecar takes the connection and re-originates it with the foothold's own identity (auto mTLS);
      // the attacker's certificate ends at its own sidecar and never reaches the server.
      delete leg.identity;
      leg.intent = 'auto';
      ev(`${client.id}'s sidecar captures the attacker's own connection: ${own.kind === 'none' ? 'the plaintext it sends' : `the ${own.kind === 'forged-cert' ? 'forged' : 'stolen'} certificate for ${own.spiffe}`} never reaches the server; the sidecar sends it on with ${client.id}'s own identity`);
    }
    return;
  }
  if (!cap.captured) {
    leg.proxy = false;
    ev(`${client.id}'s iptables rules do not hand ${target} to its sidecar (${cap.why}): the app's connection leaves as it is — plaintext, no identity, no egress policy, no DestinationRule TLS`);
  } else if (run.explain && customCapture(client)) {
    ev(`${client.id}'s sidecar captures ${target} (${cap.why})`);
  }
}

/**
 * Whether the sending side of `req` runs through a proxy of its own (its
 * sidecar capturing the connection, or a gateway's Envoy) — the same answer
 * decide() reaches, without deciding the rest.
 */
export function clientProxied(mesh: Mesh, req: MeshRequest): boolean {
  const src = req.from.kind === 'workload' ? req.from.workload : null;
  if (!src || !hasProxy(src)) return false;
  // The attacker's own process presenting its own credential is a bypass attempt too.
  const asked = bypassRequested(req) || req.identity !== undefined;
  if (src.gateway) return !asked;
  let dest: Dest;
  if (req.to.kind === 'workload') dest = { kind: 'pod', workload: req.to.workload };
  else {
    const r = resolveDest(mesh, req.to.host, src.namespace);
    if (r.kind === 'nxdomain') return true;
    dest = r;
  }
  const cap = outboundCapture(src, dialledAddress(mesh, dest), req.to.port);
  return asked ? !bypassAttempt(src, cap, req.capabilities ?? []).escapes : cap.captured;
}

/** The virtual host an HTTP listener picks by the request's Host (see sendLeg). */
type VirtualHostPick =
  | { kind: 'same' }
  | { kind: 'service'; name: string; service: Service; lookup: EgressLookup }
  | { kind: 'entry'; name: string; lookup: Extract<EgressLookup, { kind: 'service-entry' }> }
  /** no Service or ServiceEntry: a VirtualService host may still make a virtual host of it (meshRoute decides) */
  | { kind: 'vs'; name: string }
  | { kind: 'none'; name: string };

/**
 * Which virtual host of the client's HTTP listener on `port` the request's Host header names. Istio's route table
 * for a port (one listener on 0.0.0.0:port) has a virtual host per service visible to the proxy with that port —
 * domains its FQDN, the short names its namespace's clients resolve, its address — one per ServiceEntry host, one per
 * VirtualService host (a host that is no service: on port 80 only, or beside a host of the same VirtualService that
 * is a service of that port), and a catch-all (allow_any / block_all). Sidecar route tables ignore the port in the
 * Host (IgnorePortInHostMatching). The table is read only on that shared listener: a Service port whose protocol is
 * sniffed (neither declared HTTP nor TCP) gets a listener on the Service's own address whose one virtual host takes
 * every Host. No Host header, or one naming what was dialled: the same.
 */
function virtualHostByHost(run: Run, client: Workload, dest: Dest, port: number, headers: Readonly<Record<string, string>>,
  input: EgressInput, lookupOf: (d: Dest, p: number) => EgressLookup): VirtualHostPick {
  const raw = ownValue(headers, 'host');
  if (raw === undefined) return { kind: 'same' };
  if (dest.kind === 'service' && !dest.service.headless) {
    const sp = dest.service.ports.find((x) => x.port === port);
    if (sp && declaredProtocol(sp) !== 'http') return { kind: 'same' };
  }
  const { mesh } = run;
  const name = hostWithoutPort(raw);
  if (name.length === 0) return { kind: 'none', name: raw };
  const dialledName = dest.kind === 'service' ? dest.service.fqdn : dest.kind === 'pod' ? dest.workload.ip : normalizeHost(dest.name);
  if (name === dialledName) return { kind: 'same' };
  const index = meshIndex(mesh);
  const dot = name.indexOf('.');
  const service = parseIp(name) ? index.serviceAt(name) : resolveHost(mesh, name, client.namespace).service
    // a headless Service's virtual host also has the domain `*.<fqdn>` (its pods' own names)
    ?? (dot > 0 ? index.services(name.slice(dot + 1)).find((x) => x.headless) ?? null : null);
  if (dest.kind === 'service' && service === dest.service) return { kind: 'same' };
  if (service) {
    const sp = service.ports.find((x) => x.port === port);
    const lookup = lookupOf({ kind: 'service', service }, port);
    if (sp && declaredProtocol(sp) !== 'tcp' && lookup.kind === 'service' && lookup.service === service) return { kind: 'service', name, service, lookup };
    if (lookup.kind === 'service-entry') return { kind: 'entry', name, lookup };
  }
  // a ServiceEntry host, or one of its addresses (also domains of its virtual host)
  const l = lookupDestination({ ...input, services: index.services(name) }, client, name, port);
  if (l.kind === 'service-entry') return { kind: 'entry', name, lookup: l };
  if (mesh.virtualServices.length === 0) return { kind: 'none', name };
  if (port === 80) return { kind: 'vs', name };
  // on another port, a VirtualService makes a virtual host of a name that is no service only beside one of its hosts
  // that is a service of that port
  const onPort = (h: string): boolean => index.services(h).some((x) => x.ports.some((q) => q.port === port));
  const claims = importedVirtualServices(mesh, sidecarOfInput(input, client), client.namespace, port).some((vs) => {
    const hosts = vs.hosts.map((h) => qualify(h, vs.meta.namespace));
    return hosts.some((h) => domainScore(h, name) > 0) && hosts.some(onPort);
  });
  return claims ? { kind: 'vs', name } : { kind: 'none', name };
}

/** A Host header's name, lower case, without a trailing dot or a numeric `:port` (sidecar routes ignore the port). */
function hostWithoutPort(raw: string): string {
  const colon = raw.lastIndexOf(':');
  // one colon (not an IPv6 literal), or `]:port` after a bracketed one
  if (colon > 0 && (raw.indexOf(':') === colon || raw.charAt(colon - 1) === ']')) {
    const p = raw.slice(colon + 1);
    if (p.length > 0 && p.length <= 5 && [...p].every((c) => c >= '0' && c <= '9')) {
      const h = raw.slice(0, colon);
      return normalizeHost(h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h);
    }
  }
  return normalizeHost(raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw);
}

/**
 * Where a ServiceEntry's cluster takes a request for one of its hosts `name` that the client could otherwise reach
 * in the mesh (a Service's FQDN it shadows, or a Host the HTTP listener picked), and with what TLS (Istio builds the
 * cluster's endpoints from the entry: conversion.go; auto mTLS only to endpoints labelled with Istio's tlsMode):
 *  - a workloadSelector: the selected pods, which carry the label — mTLS from a MESH_INTERNAL entry; with resolution
 *    NONE, the address dialled, with the cluster's TLS settings (auto mTLS);
 *  - resolution NONE: the address dialled (ORIGINAL_DST), no endpoint to label: plaintext;
 *  - endpoints: the first one — a pod's address, a Service's address or name (the request lands in the mesh), else
 *    outside; auto mTLS only for an endpoint of a MESH_INTERNAL entry labelled `security.istio.io/tlsMode: istio`
 *    (without that label: one that names a serviceAccount);
 *  - DNS without endpoints: `name` itself, looked up (a Service's FQDN: that Service, plaintext);
 *  - STATIC without endpoints: no endpoint at all (503, no healthy upstream).
 */
export type EntryTarget = (
  /** `to`: the endpoint's address or name (or `name`, looked up); `ports`: the endpoint's own, by entry port name */
  | { kind: 'external'; name: string; ip: string; to: string; ports?: Readonly<Record<string, number>>; from?: string }
  | { kind: 'pod'; workload: Workload; mtls: boolean; ports?: Readonly<Record<string, number>>; from?: string }
  | { kind: 'service'; service: Service | null; auto: boolean; from?: string }
  | { kind: 'empty' }
) & {
  /** how many endpoints the load balancer chose this one among (absent: one) */
  among?: number;
};

/**
 * The index of the endpoint the cluster's load balancer picks among `n`: `pick` (a seeded number in [0, 1)) over
 * the endpoints' weights (unset = 1), in their order — the pods a workloadSelector selects (load order), then the
 * WorkloadEntries it selects, or the inline endpoints. With the default pick, the first.
 */
function pickIndex(n: number, weightAt: (i: number) => number, pick: Draw): number {
  if (n === 1) return 0;
  if (pick.among) return drawnIndex(pick.among, Array.from({ length: n }, (_, i) => weightAt(i)));
  let total = 0;
  for (let i = 0; i < n; i++) total += weightAt(i);
  let r = pick() * total;
  for (let i = 0; i < n; i++) {
    r -= weightAt(i);
    if (r < 0) return i;
  }
  return n - 1;
}

/**
 * The port of a ServiceEntry endpoint (conversion.go convertEndpoint): its own for the entry port's name, else the
 * entry port's targetPort, else the port; `by` says which.
 */
function endpointPort(sePort: ServiceEntryPort | undefined, ports: Readonly<Record<string, number>> | undefined, port: number): { port: number; by: 'endpoint' | 'targetPort' | 'port' } {
  const own = sePort && ports !== undefined ? ownValue(ports, sePort.name) : undefined;
  if (own !== undefined && own > 0) return { port: own, by: 'endpoint' };
  if (sePort?.targetPort !== undefined && sePort.targetPort > 0) return { port: sePort.targetPort, by: 'targetPort' };
  return { port, by: 'port' };
}

export function entryTarget(mesh: Mesh, se: ServiceEntry, name: string, clientNs: string, pick: Draw = () => 0): EntryTarget {
  const internal = se.location === 'MESH_INTERNAL';
  if (se.workloadSelector !== null) {
    // a MESH_EXTERNAL entry never gets auto mTLS (buildUpstreamTLSSettings), whatever its endpoints
    if (se.resolution === 'NONE') return { kind: 'service', service: null, auto: internal };
    // the pods it selects, then the WorkloadEntries it selects (each read like an inline endpoint)
    const pods = meshIndex(mesh).workloadsMatching(se.workloadSelector, se.meta.namespace);
    const wes = selectedWorkloadEntries(mesh, se);
    const among = pods.length + wes.length;
    if (among === 0) return { kind: 'empty' };
    // pods weigh 1, a WorkloadEntry its weight
    const i = pickIndex(among, (k) => (k < pods.length ? 1 : (wes[k - pods.length] as WorkloadEntry).weight ?? 1), pick);
    const pod = pods[i];
    const we = wes[i - pods.length] as WorkloadEntry;
    const t: EntryTarget = pod !== undefined ? { kind: 'pod', workload: pod, mtls: internal && pod.sidecar }
      : endpointTarget(mesh, se, we, name, `WorkloadEntry ${we.meta.namespace}/${we.meta.name}`);
    if (among > 1) t.among = among;
    return t;
  }
  if (se.resolution === 'NONE') return { kind: 'service', service: null, auto: false };
  if (se.endpoints.length === 0) {
    if (se.resolution === 'STATIC') return { kind: 'empty' };
    const svc = resolveHost(mesh, name, clientNs).service;
    return svc ? { kind: 'service', service: svc, auto: false } : { kind: 'external', name, ip: externalIpOf(name), to: name };
  }
  const eps = se.endpoints;
  const t = endpointTarget(mesh, se, eps[pickIndex(eps.length, (k) => (eps[k] as ServiceEntryEndpoint).weight ?? 1, pick)] as ServiceEntryEndpoint, name);
  if (se.endpoints.length > 1) t.among = se.endpoints.length;
  return t;
}

/** The trace's note on an endpoint the load balancer picked among several, else ''. */
function amongText(t: EntryTarget): string {
  return t.among !== undefined ? ` — one of its ${t.among} endpoints, as the load balancer picked it (by weight)` : '';
}

/** One endpoint of the entry (inline, or a WorkloadEntry it selects — `from` names that one). */
function endpointTarget(mesh: Mesh, se: ServiceEntry, ep: ServiceEntryEndpoint, name: string, from?: string): EntryTarget {
  const internal = se.location === 'MESH_INTERNAL';
  const extra = { ...(ep.ports !== undefined ? { ports: ep.ports } : {}), ...(from !== undefined ? { from } : {}) };
  // the endpoint's tlsMode: its label, else istio when it names a serviceAccount (getTLSModeFromWorkloadEntry)
  const label = ep.labels !== undefined ? ownValue(ep.labels, 'security.istio.io/tlsMode') : undefined;
  const auto = internal && (label !== undefined ? label === 'istio' : ep.serviceAccount !== undefined);
  const index = meshIndex(mesh);
  if (parseIp(ep.address)) {
    const pod = index.workloadAt(ep.address);
    if (pod) return { kind: 'pod', workload: pod, mtls: auto && pod.sidecar, ...extra };
    const svc = index.serviceAt(ep.address);
    if (svc) return { kind: 'service', service: svc, auto, ...(from !== undefined ? { from } : {}) };
    return { kind: 'external', name, ip: ep.address, to: ep.address, ...extra };
  }
  const svc = resolveHost(mesh, ep.address, se.meta.namespace).service;
  return svc ? { kind: 'service', service: svc, auto, ...(from !== undefined ? { from } : {}) } : { kind: 'external', name, ip: externalIpOf(ep.address), to: ep.address, ...extra };
}

type Resolved = Dest | { kind: 'nxdomain'; trace: string; reason: string };

/** Name resolution from a pod in `clientNs` (dns.ts): a Service, a pod IP, a ServiceEntry host, an Internet name — or nothing. */
function resolveDest(mesh: Mesh, host: string, clientNs: string): Resolved {
  const index = meshIndex(mesh);
  if (parseIp(host)) {
    const pod = index.workloadAt(host);
    if (pod) return { kind: 'pod', workload: pod };
    const svc = index.serviceAt(host);
    if (svc) return { kind: 'service', service: svc };
    return { kind: 'external', name: host, ip: host };
  }
  const r = resolveHost(mesh, host, clientNs);
  if (r.service) return { kind: 'service', service: r.service };
  const entry = index.serviceEntryFor(r.fqdn);
  if (r.inCluster || (!host.includes('.') && !entry)) {
    return { kind: 'nxdomain', trace: `DNS: ${host} does not resolve to a Service of the mesh (${r.fqdn})`, reason: `no Service named ${r.fqdn}; the name does not resolve` };
  }
  if (!entry && !upstreamResolves(r.fqdn)) {
    const tried = searchPath(host.toLowerCase(), clientNs);
    return { kind: 'nxdomain', trace: `DNS: ${host} does not resolve: the resolver tries ${tried.join(', ')} — no Service, no namespace ${r.fqdn.split('.')[1] ?? ''}, no ServiceEntry, and no Internet zone of that name`,
      reason: `${host} names no Service, no ServiceEntry host and no Internet domain; the name does not resolve (NXDOMAIN)` };
  }
  return { kind: 'external', name: r.fqdn, ip: externalIp(entry, r.fqdn) };
}

/** Where a leg goes once names are resolved. */
type Dest =
  | { kind: 'service'; service: Service }
  | { kind: 'pod'; workload: Workload }
  | { kind: 'external'; name: string; ip: string; entry?: ServiceEntry; entryPort?: { number: number; name: string; protocol: string } };

export interface Ctx {
  run: Run;
  leg: Leg;
  /** the protocol the destination port speaks: http (HTTP filters) or tcp (network filters) */
  l7: 'http' | 'tcp';
  /** the client's proxy has an HTTP listener for this destination (else it proxies TCP) */
  clientHttp: boolean;
}

/** A refusal seen by the client: TCP steps carry no status; an HTTP request through a TCP proxy sees a dropped connection. */
export function fail(ctx: Ctx, code: number | null, mtls: boolean | null, stopped: StoppedBy, flags?: string, body?: string): Decision {
  const fromClientSidecar = code === 503 || code === 502;
  const seen = !isHttp(ctx.leg.protocol) ? null : ctx.l7 === 'tcp' || (fromClientSidecar && !ctx.clientHttp) ? 0 : code;
  const d: Decision = { outcome: 'blocked', code: seen, mtls, stoppedBy: [stopped], events: ctx.run.events };
  if (flags) d.flags = flags;
  if (seen !== null && seen > 0) d.response = { status: seen, headers: {}, body: body ?? '' };
  return d;
}

function sendLeg(run: Run, leg: Leg): Decision {
  const { mesh } = run;
  const index = meshIndex(mesh);
  const ev = (hop: Parameters<Run['events']['push']>[0]['hop'], what: string): void => { run.events.push({ hop, what }); };
  const requestL7: 'http' | 'tcp' = isHttp(leg.protocol) ? 'http' : 'tcp';
  const ctx: Ctx = { run, leg, l7: requestL7, clientHttp: requestL7 === 'http' };
  const client = leg.client;
  const clientNs = client?.namespace ?? 'default';
  const sideHop = leg.viaGateway ? 'gateway' : 'client-sidecar';
  if (leg.depth > MAX_HOPS) return fail(ctx, 508, null, { control: 'Routing', name: null, reason: `the request loops through more than ${MAX_HOPS} proxies` });

  // 1. Name resolution.
  let dest: Dest;
  let port = leg.target.port;
  const resolve = (host: string): Dest | Decision => {
    const r = resolveDest(mesh, host, clientNs);
    if (r.kind !== 'nxdomain') return r;
    ev('client', r.trace);
    return fail(ctx, 0, null, { control: 'DNS', name: null, reason: r.reason });
  };
  if (leg.target.kind === 'pod') dest = { kind: 'pod', workload: leg.target.workload };
  else {
    // The app asks cluster DNS first: a pod whose egress NetworkPolicies drop its query to kube-dns resolves nothing.
    if (leg.depth === 0 && !leg.viaGateway && client !== null && !client.hostNetwork && mesh.networkPolicies.length > 0 && !parseIp(leg.target.host)) {
      const dns = dnsQueryDropped(mesh, client);
      if (run.explain && client.dns?.policy === 'Default') ev('client', `${client.id} has dnsPolicy Default: it resolves with its node's resolver, whose address meshrange does not know, so NetworkPolicy is not judged for its DNS query`);
      // With DNS capture on, the agent answers the names it knows itself; only the rest go on to kube-dns.
      const capture = dns === null ? null : dnsCaptureOf(mesh, client);
      const agent = capture?.on === true ? agentAnswers(mesh, client, leg.target.host) : null;
      if (dns !== null && agent !== null && agent.answers) {
        if (run.explain) ev('client', `its istio-agent answers ${leg.target.host} itself (${agent.what}; DNS capture on: ${capture?.from ?? ''}), so NetworkPolicy dropping its queries to kube-dns does not stop it`);
      } else if (dns !== null) {
        const agentNote = agent !== null ? ` (DNS capture is on, but its istio-agent does not know ${leg.target.host} — ${agent.what} — and forwards the query)` : '';
        ev('client', `NetworkPolicy drops ${client.id}'s DNS query to ${dns.kubeDns ? 'kube-dns (UDP 53)' : dns.to}${agentNote}: ${dns.reason} — ${leg.target.host} does not resolve, so nothing is sent`);
        const fix = !dns.kubeDns ? `allow ${client.namespace}'s egress to its nameservers (dnsConfig) on UDP and TCP port 53`
          : dns.side === 'egress' ? `allow ${client.namespace}'s egress to namespace kube-system on UDP and TCP port 53`
          : `let kube-system's ingress policy admit ${client.namespace} on UDP and TCP port 53`;
        return fail(ctx, 0, null, { control: 'NetworkPolicy', name: dns.policy,
          reason: `${client.id} cannot resolve ${leg.target.host}: its DNS query to ${dns.to} is dropped (${dns.reason})${agentNote}; ${fix}` });
      }
    }
    const r = resolve(leg.target.host);
    if ('outcome' in r) return r;
    dest = r;
  }

  // 0. Capture: does the client's own proxy see this connection at all?
  if (leg.depth === 0 && !leg.viaGateway && client) clientCapture(ctx, client, dest, port);
  if (leg.depth === 0 && !leg.viaGateway && leg.proxy && leg.headers['x-forwarded-client-cert'] !== undefined) {
    // The app → sidecar hop is not mutual TLS, so the client's own sidecar (once it captured the connection) drops an XFCC the app wrote (Envoy's XFCC rules, §1).
    delete leg.headers['x-forwarded-client-cert'];
    run.events.push({ hop: 'client-sidecar', what: 'drops the X-Forwarded-Client-Cert header the app wrote: Envoy keeps a client\'s XFCC only on a mutual-TLS downstream connection' });
  }
  const dialled = { host: dest.kind === 'service' ? dest.service.fqdn : dest.kind === 'external' ? dest.name : dest.workload.ip, port };

  // 2-3. The client's proxy: mesh VirtualServices, then the outbound traffic policy.
  let passthrough = false;
  /** a ServiceEntry's cluster carries the request to a Service or pod of the mesh (entryTarget): its host's DestinationRule, and auto mTLS only when its endpoints carry Istio's tlsMode */
  let viaEntry: EntryTls | null = null;
  if (leg.proxy && client) {
    // Only the client's namespace's and the root namespace's Sidecars can apply to it (sidecarFor): hand it those.
    const near = sidecarsOf(index, mesh.config.rootNamespace, client);
    const input = egressInputOf(mesh, near);
    const hostOf = (d: Dest): string => d.kind === 'service' ? d.service.fqdn : d.kind === 'external' ? d.name : d.workload.ip;
    // lookupDestination reads only the Services named like the host: hand it those (index), not all.
    const lookupOf = (d: Dest, p: number): EgressLookup => {
      if (d.kind !== 'pod') return lookupDestination({ ...input, services: index.services(normalizeHost(hostOf(d))) }, client, hostOf(d), p);
      // a pod of a headless Service, on one of its TCP ports, is that Service's endpoint listener (headlessTcpFor)
      const hs = headlessTcpFor(index, d.workload, p);
      if (hs) return lookupDestination({ ...input, services: index.services(hs.service.fqdn) }, client, hs.service.fqdn, p);
      return { kind: 'unknown', host: d.workload.ip, port: p, reason: 'a pod IP is not a host of the registry', fix: `call ${d.workload.name} through its Service` };
    };
    /** whether the client's outbound listener for this port is an HTTP one */
    const httpListener = (l: EgressLookup, p: number): boolean => (l.kind === 'service'
      ? (() => { const sp = l.service.ports.find((x) => x.port === p); return sp ? declaredProtocol(sp) !== 'tcp' : false; })()
      : l.kind === 'service-entry' ? /^(HTTP|HTTP2|GRPC|GRPC-WEB|)$/.test(l.port.protocol)
        : httpListenerMemo(mesh, input, client, p));
    // The listener is the dialled port's: it decides whether the VirtualService's http routes apply at all (a TCP
    // listener reads tcp routes only), and, after a route sent the request to another host or port, it is still
    // the HTTP listener that answers for a failure (503 UH / NC / UF), whatever the new port's name says.
    let lookup = lookupOf(dest, port);
    ctx.clientHttp = requestL7 === 'http' && httpListener(lookup, port);
    // the client sidecar's connection manager drops a #fragment too (Istio turns http_reject_path_with_fragment off)
    if (ctx.clientHttp && leg.path.includes('#')) leg.path = leg.path.slice(0, leg.path.indexOf('#'));
    // The app's own TLS to a port declared HTTP: the sidecar's listener there parses HTTP only, and the app's TLS
    // client gets its plaintext error back ("wrong version number") — Istio's "Sending HTTPS to an HTTP port".
    if (leg.protocol === 'tls' && leg.depth === 0 && !leg.viaGateway && !client.gateway) {
      const declaredHttp = lookup.kind === 'service'
        ? (() => { const sp = lookup.service.ports.find((x) => x.port === port); return sp !== undefined && declaredProtocol(sp) === 'http'; })()
        : lookup.kind === 'service-entry' && /^(HTTP|HTTP2|GRPC|GRPC-WEB)$/.test(lookup.port.protocol);
      if (declaredHttp) {
        const name = lookup.kind === 'service' ? `${lookup.service.namespace}/${lookup.service.name}` : lookup.kind === 'service-entry' ? `${lookup.entry.meta.namespace}/${lookup.entry.meta.name}` : '';
        const what = `${lookup.kind === 'service' ? 'Service' : 'ServiceEntry'} ${name}`;
        ev('client-sidecar', `port ${port} of ${what} is declared HTTP: the sidecar's listener parses the app's TLS as HTTP, fails, and answers in plaintext, which the app's TLS client cannot read ("wrong version number")`);
        return fail(ctx, 0, null, { control: 'Routing', name,
          reason: `${client.id} sends its own TLS to port ${port} of ${what}, which is declared HTTP: the client sidecar parses HTTP there and the TLS handshake fails; declare the port as https or tls (or send plaintext and let Istio encrypt it)` });
      }
    }
    // An HTTP listener picks the virtual host by the Host header, not by the address dialled (Envoy's route table of
    // the port): a Host naming another Service takes that Service's route; one naming nothing there takes vhost
    // allow_any (PassthroughCluster, to the address dialled) or block_all (REGISTRY_ONLY, 502).
    const noVirtualHost = (name: string, dialledSvc: Service): EgressLookup => {
      ev('client-sidecar', `the HTTP listener on port ${port} picks the virtual host by Host ${name}, which names no Service, ServiceEntry or VirtualService host on that port: not the Service dialled, ${dialledSvc.fqdn}`);
      return { kind: 'unknown', host: name, port, reason: `Host ${name} names no virtual host of the HTTP listener on port ${port} (no Service, ServiceEntry or VirtualService host there)`, fix: `send Host ${dialledSvc.fqdn}, the service dialled` };
    };
    /** the virtual host the Host header picked when it is not the dialled one's: routes are read there */
    let vhostName: string | null = null;
    /** the Host names only a VirtualService host: no route there is the catch-all */
    let vsOnly = false;
    /** the virtual host the client's listener used, as Istio names it */
    let vhostLabel = `${dialled.host}:${dialled.port}`;
    /** the ServiceEntry (and the host of it) whose cluster takes a request dialled to a Service or pod */
    let entryHost: { entry: ServiceEntry; name: string } | null = null;
    if (!leg.viaGateway && ctx.clientHttp) {
      const v = virtualHostByHost(run, client, dest, port, leg.headers, input, lookupOf);
      const dialledWhat = dest.kind === 'service' ? `the Service dialled, ${dest.service.fqdn}` : dest.kind === 'pod' ? `the pod dialled, ${dest.workload.id}` : `the host dialled, ${dest.name}`;
      if (v.kind === 'service') {
        ev('client-sidecar', `the HTTP listener on port ${port} picks the virtual host by Host ${v.name}: Service ${v.service.namespace}/${v.service.name}, not ${dialledWhat}`);
        dest = { kind: 'service', service: v.service };
        lookup = v.lookup;
        vhostLabel = `${v.service.fqdn}:${port}`;
      } else if (v.kind === 'entry' && dest.kind !== 'external') {
        ev('client-sidecar', `the HTTP listener on port ${port} picks the virtual host by Host ${v.name}, a host of ServiceEntry ${v.lookup.entry.meta.namespace}/${v.lookup.entry.meta.name} (resolution ${v.lookup.entry.resolution}), not ${dialledWhat}`);
        lookup = v.lookup;
        entryHost = { entry: v.lookup.entry, name: v.name };
        vhostName = v.name;
        vhostLabel = `${v.name}:${port}`;
      } else if (v.kind === 'entry') {
        // dialled to an external name, Host naming a ServiceEntry host: that host's virtual host holds the mesh
        // VirtualService routes bound to it (e.g. to an egress gateway) wherever the connection was dialled; with no
        // route, the entry's cluster takes it below (the Host / SNI check)
        vhostName = v.name;
        vhostLabel = `${v.name}:${port}`;
      } else if (v.kind === 'vs') {
        vhostName = v.name;
        vsOnly = true;
        vhostLabel = `${v.name}:${port}`;
      } else if (v.kind === 'none' && dest.kind !== 'external') {
        if (dest.kind === 'service') lookup = noVirtualHost(v.name, dest.service);
        vhostLabel = mesh.config.outboundTrafficPolicy === 'REGISTRY_ONLY' ? 'block_all' : 'allow_any';
      }
    }
    // A ServiceEntry port that is plain TCP (or sniffed, for traffic that is not HTTP) and has no address to bind to
    // is an outbound listener on 0.0.0.0:port (listener.go buildSidecarOutboundListeners: with resolution NONE and no
    // workloadSelector it falls back to the wildcard listener; DNS / STATIC entries without addresses bind there too
    // unless Istio allocated them an address): it takes every TCP connection to that port that nothing more specific
    // takes, whatever address was dialled. Its filter chain holds the mesh VirtualService tcp routes of the entry's
    // host (e.g. to an egress gateway); without one, it goes to the entry's cluster — with resolution NONE on to the
    // address dialled (ORIGINAL_DST), otherwise to the entry's own host. Under REGISTRY_ONLY that opens the port to
    // any IP.
    let wildcardTcp: { entry: ServiceEntry; host: string } | null = null;
    if (!leg.viaGateway && dest.kind === 'external' && !ctx.clientHttp && vhostName === null && (lookup.kind === 'unknown' || lookup.kind === 'hidden')) {
      const tcpLike = (p: string): boolean => p === '' || p === 'TCP' || p === 'MONGO' || p === 'MYSQL' || p === 'REDIS';
      const wildcardBound = (se: ServiceEntry): boolean => se.addresses.length === 0 && se.ports.some((p) => p.number === port && tcpLike(p.protocol))
        && (se.resolution === 'NONE' ? se.workloadSelector === null
          : !se.hosts.some((h) => entryAddressKind(se, h) === 'allocated' && dnsCaptureOf(mesh, client).on));
      // Several such hosts (of one entry or many) each build the same match-all chain on 0.0.0.0:port: Istio keeps
      // the first in the order it walks its services and drops the others' as conflicting (mergeTCPFilterChains,
      // TCPOverTCP) — the oldest, not the first applied or the first written.
      const takers = entryHostsInPushOrder(input, client, port, wildcardBound);
      const first = takers[0];
      if (first) {
        const taker = first.entry;
        wildcardTcp = { entry: taker, host: first.host };
        const others = takers.slice(1).map((t) => t.entry === taker ? t.host : `${t.host} (ServiceEntry ${t.entry.meta.namespace}/${t.entry.meta.name})`);
        const dropped = others.length === 0 ? ''
          : `; its chain, for ${first.host}, comes first in Istio's order (private, exported by name, public; then oldest, then hostname): the same match-all chain of ${others.length > 3 ? `${others.slice(0, 3).join(', ')} and ${others.length - 3} more` : others.join(', ')} conflicts with it and is dropped`;
        run.events.push({ hop: 'client-sidecar', what: `port ${port} of ServiceEntry ${taker.meta.namespace}/${taker.meta.name} (resolution ${taker.resolution}) is ${taker.ports.find((p) => p.number === port)?.protocol || 'sniffed'} and has no address: its listener is 0.0.0.0:${port}, which takes this TCP connection to ${dest.name}${dropped}` });
        vhostName = wildcardTcp.host;
      }
    }
    if (!leg.viaGateway && (dest.kind !== 'pod' || vhostName !== null)) {
      const host = vhostName ?? (dest.kind === 'service' ? dest.service.fqdn : dest.kind === 'external' ? dest.name : dest.workload.ip);
      const routed = meshRoute(ctx, host, port, dest);
      if (routed && 'outcome' in routed) return routed;
      if (!routed && vsOnly) {
        if (dest.kind === 'service') lookup = noVirtualHost(host, dest.service);
        vhostLabel = mesh.config.outboundTrafficPolicy === 'REGISTRY_ONLY' ? 'block_all' : 'allow_any';
      }
      if (routed) {
        const before = dest;
        port = routed.port;
        if (vsOnly && routed.host === host) {
          // a VirtualService host that is no service, routed to itself: the sidecar has no cluster of that name
          ev('client-sidecar', `the route sends it to ${host}, which is no service the sidecar knows: no cluster`);
          return fail(ctx, 503, null, { control: 'Routing', name: null, reason: `the route's destination ${host}:${port} is neither a Service nor a ServiceEntry` }, 'NC');
        }
        // The destinations of a VirtualService the Sidecar imports are imported with it (Istio
        // collectImportedServices): a service its egress hosts leave out is still known, if exported to the client.
        const imported = (l: EgressLookup, name: string, say: boolean): EgressLookup => {
          if (l.kind !== 'hidden') return l;
          const h = normalizeHost(name);
          const again = lookupDestination({ ...input, sidecars: [], picked: { client, sidecar: null }, services: index.services(h) }, client, name, port);
          // by exact hostname only (Istio's index by hostname): a wildcard ServiceEntry does not come in this way
          if (again.kind === 'service' || (again.kind === 'service-entry' && again.entry.hosts.some((x) => normalizeHost(x) === h))) {
            if (say) run.events.push({ hop: 'client-sidecar', what: `${name}:${port} is not among the Sidecar's egress hosts, but the VirtualService that routed here is, and brings its destinations with it` });
            return again;
          }
          return l;
        };
        if (routed.host !== host || vsOnly) {
          // A route names a cluster, outbound|port||host: a host the sidecar has no Service or ServiceEntry for has
          // none, whatever DNS or the outbound policy would make of the name (Envoy: 503 NC); a wildcard ServiceEntry
          // builds no cluster for a name it covers (clusters are per exact host)
          const rh = normalizeHost(routed.host);
          const known = imported(lookupDestination({ ...input, services: index.services(rh) }, client, routed.host, port), routed.host, false);
          if (known.kind === 'unknown' || known.kind === 'hidden' || (known.kind === 'service-entry' && !known.entry.hosts.some((x) => normalizeHost(x) === rh))) {
            ev('client-sidecar', `the route sends it to ${routed.host}:${port}, for which the sidecar has no cluster (no Service or ServiceEntry it knows by that name)`);
            return fail(ctx, 503, null, { control: 'Routing', name: null, reason: `the route's destination ${routed.host}:${port} is no Service or ServiceEntry the sidecar knows: there is no cluster outbound|${port}||${routed.host}` }, 'NC');
          }
          const r = resolve(routed.host);
          if ('outcome' in r) return r;
          dest = r;
          entryHost = null;
        }
        if (dest !== before || port !== dialled.port) lookup = lookupOf(dest, port);
        if (dest.kind !== 'pod') lookup = imported(lookup, hostOf(dest), true);
      }
    }
    // To a host outside the Services, a ServiceEntry port without addresses is a listener on 0.0.0.0 that picks by
    // the name the request carries, not the name dialled: TLS by SNI (filter chains by server_names), HTTP by Host
    // (virtual hosts). A name of an entry's host takes that entry's cluster whatever address was dialled — with
    // resolution NONE on to that address (the SNI / Host spoofing way out of REGISTRY_ONLY), otherwise to the entry's
    // own host; a name of no entry there matches nothing of it.
    const carried = dest.kind !== 'external' || leg.viaGateway ? null
      : leg.protocol === 'tls' ? (leg.sni ? { name: normalizeHost(leg.sni), what: 'SNI', listener: 'TLS listener' } : null)
        : isHttp(leg.protocol) && ctx.clientHttp && ownValue(leg.headers, 'host') !== undefined
          ? { name: hostWithoutPort(ownValue(leg.headers, 'host') as string), what: 'Host', listener: 'HTTP listener' } : null;
    if (carried && dest.kind === 'external' && carried.name !== normalizeHost(dest.name)) {
      const { name, what } = carried;
      const byName = lookupDestination({ ...input, services: index.services(name) }, client, name, port);
      // With DNS capture on, Istio allocates an address to a DNS or STATIC entry's host (PILOT_ENABLE_IP_AUTOALLOCATE,
      // on by default since 1.25) and binds its TCP listeners there: its TLS chain is no longer on 0.0.0.0.
      const onVip = (se: ServiceEntry, host: string): boolean => carried.what === 'SNI' && entryAddressKind(se, host) === 'allocated' && dnsCaptureOf(mesh, client).on;
      const claims = (l: EgressLookup, host: string): boolean => l.kind === 'service-entry' && l.entry.addresses.length === 0 && !onVip(l.entry, host);
      if (byName.kind === 'service-entry' && claims(byName, name)) {
        lookup = byName;
        const which = `ServiceEntry ${byName.entry.meta.namespace}/${byName.entry.meta.name} (resolution ${byName.entry.resolution})`;
        if (byName.entry.resolution === 'NONE') {
          run.events.push({ hop: 'client-sidecar', what: `the ${carried.listener} on port ${port} matches ${what} ${name}, a host of ${which}: the connection goes on to the address dialled, ${dest.name}` });
        } else {
          run.events.push({ hop: 'client-sidecar', what: `the ${carried.listener} on port ${port} matches ${what} ${name}, a host of ${which}: the connection goes to ${name}, not to ${dest.name}` });
          dest = { kind: 'external', name, ip: externalIp(byName.entry, name) };
        }
      } else if (byName.kind === 'service-entry' && byName.entry.addresses.length === 0 && onVip(byName.entry, name)) {
        run.events.push({ hop: 'client-sidecar', what: `SNI ${name} names a host of ServiceEntry ${byName.entry.meta.namespace}/${byName.entry.meta.name}, but with DNS capture on its TLS listener is bound to the address Istio allocated to ${name}, not to 0.0.0.0: a connection dialled to ${dest.name} does not reach it` });
      } else if (claims(lookup, normalizeHost(dest.name))) {
        lookup = byName.kind === 'unknown' || byName.kind === 'hidden' ? byName
          : { kind: 'unknown', host: name, port, reason: `${what} ${name} names no ServiceEntry host without addresses on port ${port}`, fix: `send the ${what} of the host dialled, ${dest.name}` };
        run.events.push({ hop: 'client-sidecar', what: `the ${carried.listener} on port ${port} picks by ${what}: ${name} is not ${dest.name}, and names no ServiceEntry host there` });
      }
    }
    if (wildcardTcp !== null && dest.kind === 'external' && (lookup.kind === 'unknown' || lookup.kind === 'hidden')) {
      const { entry: taker, host } = wildcardTcp;
      const d = dest;
      const sePort = taker.ports.find((p) => p.number === port) as ServiceEntry['ports'][number];
      lookup = { kind: 'service-entry', entry: taker, port: { number: sePort.number, name: sePort.name, protocol: sePort.protocol }, location: taker.location };
      if (taker.resolution === 'NONE') {
        run.events.push({ hop: 'client-sidecar', what: `no route of ${host} takes it elsewhere: the entry's cluster sends it on to the address dialled, ${d.name}` });
      } else {
        run.events.push({ hop: 'client-sidecar', what: `no route of ${host} takes it elsewhere: the entry's cluster sends it to ${host}, not to ${d.name}` });
        dest = { kind: 'external', name: host, ip: externalIp(taker, host) };
      }
    }
    // A Service's FQDN the proxy takes from a ServiceEntry (egress.ts hostNamespace: the client's own namespace's
    // entry before a Service elsewhere): the entry's cluster, not the Service's (entryTarget).
    if (entryHost === null && dest.kind === 'service' && lookup.kind === 'service-entry') {
      const se = lookup.entry;
      const svc = dest.service;
      ev(leg.viaGateway ? 'gateway' : 'client-sidecar', `${svc.fqdn} is also a host of ServiceEntry ${se.meta.namespace}/${se.meta.name}, and the proxy keeps one namespace per hostname — ${se.meta.namespace === clientNs ? `its own namespace's entry before the Service of namespace ${svc.namespace}` : `the Service is not visible to it`}: the request takes the entry's cluster (resolution ${se.resolution}), not Service ${svc.namespace}/${svc.name}'s`);
      entryHost = { entry: se, name: svc.fqdn };
    }
    // Dialled by one of its own hosts, an entry whose cluster's endpoints are not the name dialled: the endpoints
    // decide (conversion.go) — pods it selects or lists (mTLS from a MESH_INTERNAL entry), a Service it lists, or none
    // at all (STATIC without endpoints: 503 no healthy upstream) — not the address a resolver would give the name.
    // A gateway's cluster for the host has the same endpoints as a sidecar's (one EDS cluster per host and port).
    let entryByName = false;
    // the endpoint the cluster's load balancer picks, once per leg (run.opts.pick, seeded by the runner)
    let picked: EntryTarget | null = null;
    const entryHop = leg.viaGateway ? 'gateway' : 'client-sidecar';
    const pickNumber = run.opts.pickEntryEndpoint ?? run.opts.pick ?? (() => 0);
    if (entryHost === null && dest.kind === 'external' && lookup.kind === 'service-entry' && lookup.entry.resolution !== 'NONE') {
      const t = entryTarget(mesh, lookup.entry, normalizeHost(dest.name), clientNs, pickNumber);
      if (t.kind === 'empty' || t.kind === 'pod' || (t.kind === 'service' && t.service !== null) || (t.kind === 'external' && t.from !== undefined)) {
        entryHost = { entry: lookup.entry, name: normalizeHost(dest.name) };
        entryByName = true;
        picked = t;
      } else if (t.kind === 'external') {
        // an inline endpoint outside the mesh, or the host itself (DNS without endpoints): the address as before, the
        // port as any endpoint's (convertEndpoint): its own for the entry port's name, else the targetPort, else the port
        const se = lookup.entry;
        const sePort = se.ports.find((p) => p.number === port);
        const ep = endpointPort(sePort, t.ports, port);
        const among = amongText(t);
        if (ep.port !== port) {
          ev(entryHop, `ServiceEntry ${se.meta.namespace}/${se.meta.name} sends it to its endpoint ${t.to} port ${ep.port} (${ep.by === 'endpoint' ? `the endpoint's port for ${sePort?.name ?? ''}` : 'the entry port\'s targetPort'}), outside the mesh${among}`);
          port = ep.port;
        } else if (among !== '') {
          ev(entryHop, `ServiceEntry ${se.meta.namespace}/${se.meta.name} sends it to its endpoint ${t.to}, outside the mesh${among}`);
        }
        // the endpoint picked is where the connection goes (NetworkPolicy judges that address)
        if (t.ip !== dest.ip) dest = { ...dest, ip: t.ip };
      }
    }
    if (entryHost !== null && (dest.kind !== 'external' || entryByName)) {
      const { entry: se, name } = entryHost;
      const t = picked ?? entryTarget(mesh, se, name, clientNs, pickNumber);
      const among = amongText(t);
      const which = `ServiceEntry ${se.meta.namespace}/${se.meta.name}`;
      const sePort = se.ports.find((p) => p.number === port);
      if (t.kind === 'empty') {
        ev(entryHop, `${which} has no endpoints (resolution ${se.resolution}${se.workloadSelector ? ', a workloadSelector that selects no pod or WorkloadEntry of its namespace' : ''}): no healthy upstream`);
        return fail(ctx, 503, null, { control: 'Routing', name: `${se.meta.namespace}/${se.meta.name}`, reason: `${which} takes ${name} and has no endpoint to send it to` }, 'UH', 'no healthy upstream');
      }
      // the endpoint's port (convertEndpoint): its own for the entry port's name, else the entry port's targetPort, else the port
      const epPort = t.kind === 'external' || t.kind === 'pod' ? endpointPort(sePort, t.ports, port).port : port;
      const via = t.kind !== 'service' || t.from === undefined ? '' : ` (${t.from})`;
      if (t.kind === 'external' && t.from !== undefined) {
        // a WorkloadEntry outside the mesh (a VM): its own port for the entry port (an inline one's is mapped above)
        ev(entryHop, `${which} sends it to its endpoint ${t.from}, ${t.to}${t.to === t.ip ? '' : ` (${t.ip})`} port ${epPort}, outside the mesh${among}`);
        dest = { kind: 'external', name, ip: t.ip };
        port = epPort;
      } else if (t.kind === 'external') {
        ev(entryHop, `${which} sends it to ${t.to}${t.to === t.ip ? '' : ` (${t.ip})`}, outside the mesh${among}`);
        dest = { kind: 'external', name, ip: t.ip };
      } else if (t.kind === 'pod') {
        ev(entryHop, `${which} sends it to its endpoint, ${t.from !== undefined ? `${t.from}, ` : ''}pod ${t.workload.id} port ${epPort}${among}`);
        dest = { kind: 'pod', workload: t.workload };
        port = epPort;
        viaEntry = { entry: se, host: name, port: sePort?.number ?? port, auto: t.mtls };
      } else {
        if (t.service && (dest.kind === 'external' || (dest.kind === 'service' && t.service !== dest.service))) {
          ev(entryHop, `${which} sends it to its endpoint${via}, Service ${t.service.namespace}/${t.service.name}${among}`);
          dest = { kind: 'service', service: t.service };
        } else {
          ev(entryHop, `${which} sends it on to the address dialled, ${dest.kind === 'service' ? `Service ${dest.service.namespace}/${dest.service.name}'s` : dest.kind === 'pod' ? `pod ${dest.workload.id}'s` : dest.name}`);
        }
        viaEntry = { entry: se, host: name, port: sePort?.number ?? port, auto: t.auto };
      }
    }
    const hostName = hostOf(dest);
    if (leg.depth === 0 && client.sidecar && ctx.clientHttp && run.explain) {
      // Istio names the outbound virtual host <host>:<port>; a request no VirtualService routed takes its route `default`.
      run.clientListener = { port: dialled.port, vhost: vhostLabel, route: run.meshRouted ? null : 'default' };
    }
    if (leg.viaGateway) {
      if (lookup.kind === 'service-entry' && dest.kind === 'external') { dest.entry = lookup.entry; dest.entryPort = lookup.port; }
      else if (lookup.kind !== 'service' && viaEntry === null) {
        ev('gateway', `${hostName}:${port} is not a service the gateway knows: no cluster to send it to`);
        return fail(ctx, 503, null, { control: 'Routing', name: null, reason: `the route's destination ${hostName}:${port} is neither a Service nor a ServiceEntry visible to the gateway` }, 'NC');
      }
    } else {
      const sc = sidecarsOf(index, mesh.config.rootNamespace, client).pick;
      const mode = outboundMode(mesh.config.outboundTrafficPolicy, sc.sidecar);
      const eg = decideEgress(lookup, mode, leg.protocol === 'tls' ? 'tls' : requestL7, ctx.clientHttp, true);
      if (eg.verdict === 'blackhole') {
        ev('client-sidecar', eg.reason);
        const d = fail(ctx, eg.code === 502 ? 502 : 0, null, { control: 'EgressPolicy', name: eg.name ?? null, reason: eg.reason }, undefined, '');
        if (eg.code === 502 && isHttp(leg.protocol)) { d.code = 502; d.response = { status: 502, headers: {}, body: '' }; }
        return d;
      }
      if (eg.verdict === 'passthrough') {
        passthrough = true;
        ev('client-sidecar', eg.reason);
      } else if (lookup.kind === 'service-entry' && dest.kind === 'external') {
        dest.entry = lookup.entry;
        dest.entryPort = lookup.port;
        ev('client-sidecar', eg.reason);
      }
    }
  } else if (!client && dest.kind === 'pod') {
    return fail(ctx, 0, null, { control: 'Routing', name: dest.workload.id, reason: 'pod IPs are not routable from outside the cluster' });
  }

  // 4. Endpoint and port.
  if (dest.kind === 'external') return external(ctx, dest, port, passthrough);
  let service: Service | null = null;
  let servicePort: ServicePort | null = null;
  let endpoint: Workload;
  let targetPort: number;
  if (dest.kind === 'service') {
    service = dest.service;
    if (!client && service.type !== 'LoadBalancer' && service.type !== 'NodePort') {
      ev('network', `Service ${service.namespace}/${service.name} is ${service.type}: its address is not reachable from outside the cluster`);
      return fail(ctx, 0, null, { control: 'Routing', name: `${service.namespace}/${service.name}`,
        reason: `a client outside the cluster cannot reach the ${service.type} Service ${service.name}; it must come in through a LoadBalancer or NodePort Service such as the ingress gateway` });
    }
    servicePort = service.ports.find((p) => p.port === port) ?? null;
    if (!servicePort) {
      ev('client', `Service ${service.namespace}/${service.name} has no port ${port}`);
      // a route's destination port the Service does not declare names a cluster Istio never builds: no cluster (NC)
      const routed = leg.proxy && (leg.viaGateway || run.meshRouted === true);
      return fail(ctx, leg.proxy ? 503 : 0, null,
        { control: 'Routing', name: `${service.namespace}/${service.name}`, reason: `Service ${service.name} exposes ports ${service.ports.map((p) => p.port).join(', ') || 'none'}, not ${port}${routed ? `: the route names cluster outbound|${port}||${service.fqdn}, which Istio does not build` : ''}` },
        leg.proxy ? (routed ? 'NC' : 'UF') : undefined);
    }
    let eps = endpointsOf(mesh, service);
    if (leg.subset && client) {
      const dr = findDestinationRule(mesh, client.namespace, client.labels, service.fqdn, service.namespace);
      const subset = dr?.rule.subsets.find((s) => s.name === leg.subset);
      if (!subset) {
        ev(sideHop, `no DestinationRule defines subset ${leg.subset} for ${service.fqdn}`);
        return fail(ctx, 503, null, { control: 'Routing', name: `${service.namespace}/${service.name}`, reason: `the route names subset ${leg.subset}, which no DestinationRule for ${service.fqdn} defines: no healthy upstream` }, 'NC');
      }
      eps = eps.filter((w) => Object.entries(subset.labels).every(([k, v]) => ownValue(w.labels, k) === v));
    }
    if (leg.meshEndpointsOnly && client) {
      // EDS of an AUTO_PASSTHROUGH cluster keeps only the endpoints it marks with Istio's tlsMode (mtls_checker): a
      // DestinationRule mode for the port decides for all (ISTIO_MUTUAL keeps, any other strips); else the endpoint's
      // own label (meshrange: it has a sidecar) and a PeerAuthentication that is not DISABLE on its port
      const sp = servicePort;
      const dr = findDestinationRule(mesh, client.namespace, client.labels, service.fqdn, service.namespace);
      const epDr = dr ? endpointTlsMode(dr.rule, sp.port, leg.subset) : null;
      const kept = (w: Workload): boolean => {
        if (epDr !== null) return epDr.mode === 'ISTIO_MUTUAL';
        const tp = targetPortOf(sp, w);
        return w.sidecar && (tp === null || effectiveMtls(mesh, w, tp).mode !== 'DISABLE');
      };
      const left = eps.filter((w) => !kept(w));
      if (left.length > 0) {
        const why = epDr !== null ? `DestinationRule ${dr?.rule.meta.namespace ?? ''}/${dr?.rule.meta.name ?? ''} (${epDr.from} tls.mode ${epDr.mode}) strips Istio's tlsMode from every endpoint`
          : 'an endpoint keeps it only with a sidecar and a PeerAuthentication that is not DISABLE on its port';
        if (run.explain) ev(sideHop, `EDS keeps only the endpoints marked with Istio's tlsMode in an AUTO_PASSTHROUGH cluster (${why}): ${left.map((w) => w.id).join(', ')} left out`);
        eps = eps.filter(kept);
        if (eps.length === 0) {
          return fail(ctx, 0, null, { control: 'Routing', name: `${service.namespace}/${service.name}`,
            reason: `no endpoint of Service ${service.name}${leg.subset ? ` in subset ${leg.subset}` : ''} carries Istio's tlsMode (${why}), and an AUTO_PASSTHROUGH gateway's cluster lists only those that do: no healthy upstream, the gateway closes the connection` }, 'UH');
        }
      }
    }
    if (eps.length === 0) {
      ev(sideHop, `Service ${service.namespace}/${service.name} has no endpoints${leg.subset ? ` in subset ${leg.subset}` : ''}`);
      return fail(ctx, leg.proxy ? 503 : 0, null,
        { control: 'Routing', name: `${service.namespace}/${service.name}`, reason: `Service ${service.name} selects no workload${leg.subset ? ` in subset ${leg.subset}` : ''}: no healthy upstream` },
        leg.proxy ? 'UH' : undefined, 'no healthy upstream');
    }
    endpoint = eps.length === 1 ? (eps[0] as Workload) : (run.opts.pickEndpoint ?? ((e) => e[0] as Workload))(eps);
    // A headless Service has no kube-proxy translation: the client connects to the pod's address at the port it
    // dialled, and Istio's listeners use the service port too; its targetPort is ignored (Kubernetes does not stop it).
    const tp = service.headless ? port : targetPortOf(servicePort, endpoint);
    if (service.headless && run.explain && servicePort.targetPort !== port) {
      ev('client', `Service ${service.fqdn} is headless: DNS gives the pod's address and the connection goes to its port ${port}; the targetPort ${String(servicePort.targetPort)} is not used`);
    }
    if (tp === null) {
      return fail(ctx, leg.proxy ? 503 : 0, null,
        { control: 'Routing', name: `${service.namespace}/${service.name}`, reason: `targetPort "${String(servicePort.targetPort)}" names no container port of ${endpoint.id}` },
        leg.proxy ? 'UF' : undefined);
    }
    targetPort = tp;
    const declared = declaredProtocol(servicePort);
    ctx.l7 = leg.protocol === 'tls' ? 'tcp' : declared ?? requestL7;
    if (!leg.proxy) ctx.clientHttp = false;
    if (run.explain) ev('client', `${leg.target.kind === 'host' ? leg.target.host : ''}:${port} → Service ${service.fqdn} port ${port} → ${endpoint.id} (${endpoint.ip}) port ${targetPort}; protocol ${endpoint.gateway ? 'set by the Gateway server' : leg.protocol === 'tls' ? 'TLS (opaque)' : declared ? `declared ${declared}` : `sniffed ${requestL7}`}`);
    if (eps.length > 1 && run.explain) {
      ev(sideHop, `Service ${service.namespace}/${service.name} has ${eps.length} endpoints${leg.subset ? ` in subset ${leg.subset}` : ''}; the load balancer spreads requests over them, and this decision follows one: ${endpoint.id}`);
    }
  } else {
    endpoint = dest.workload;
    targetPort = port;
    const hs = leg.proxy && !passthrough ? headlessTcpFor(index, endpoint, port) : null;
    if (hs) {
      service = hs.service;
      servicePort = hs.port;
      if (run.explain) ev('client', `dials pod ${endpoint.id} at ${endpoint.ip}:${targetPort}: an endpoint of headless Service ${hs.service.fqdn}, whose TCP port ${port} has a listener per pod address, so the proxy sends it as that Service`);
    } else {
      passthrough = passthrough || leg.proxy;
      if (run.explain) ev('client', `dials pod ${endpoint.id} directly at ${endpoint.ip}:${targetPort}, bypassing any Service`);
    }
    if (run.explain && !endpoint.ports.some((p) => p.containerPort === targetPort)) {
      // containerPorts are informational in Kubernetes: a process listening on any port answers.
      ev('network', `${endpoint.id} declares no container port ${targetPort} (it lists ${endpoint.ports.map((p) => p.containerPort).join(', ') || 'none'}); the list is informational, so what listens there answers${endpoint.sidecar ? ' through the sidecar\'s inbound passthrough chain' : ''}`);
    }
    const named = endpoint.ports.find((p) => p.containerPort === targetPort)?.name;
    let svcPort: ServicePort | undefined;
    find: for (const s of index.servicesSelecting(endpoint)) for (const p of s.ports) if (targetPortOf(p, endpoint) === targetPort) { svcPort = p; break find; }
    const declared = (svcPort && declaredProtocol(svcPort)) ?? (named ? declaredProtocol({ port: targetPort, targetPort, protocol: 'TCP', name: named }, false) : null);
    ctx.l7 = leg.protocol === 'tls' ? 'tcp' : declared ?? requestL7;
  }

  // 4b. TLS decision on the client's proxy.
  let tls: ClientTls = { kind: 'plaintext', why: '' };
  if (leg.proxy && client) {
    // An explicit `tls: mtls` is honoured on every path, the PassthroughCluster and pod IPs included.
    tls = viaEntry !== null && leg.intent !== 'mtls' ? clientTls(ctx, client, service, servicePort, endpoint, targetPort, viaEntry)
      : passthrough && leg.intent !== 'mtls'
      ? { kind: 'plaintext', why: dest.kind === 'pod' ? 'a pod IP is not a service host: the proxy forwards it through the PassthroughCluster in plaintext' : 'PassthroughCluster: plaintext to the original destination' }
      : clientTls(ctx, client, service, servicePort, endpoint, targetPort);
    if (run.explain) ev(sideHop, tls.why);
  } else if (leg.identity && leg.identity.kind !== 'none') {
    tls = { kind: 'istio', why: `the attacker's TLS client offers ALPN istio with its ${leg.identity.kind === 'forged-cert' ? 'forged' : 'stolen'} certificate for ${leg.identity.spiffe}` };
  } else if (leg.intent === 'mtls' && client && !hasProxy(client)) {
    ev('client', `${client.id} has no sidecar and so no certificate: it cannot originate mTLS and sends plaintext`);
  } else if (leg.intent === 'mtls' && client) {
    ev('client', `the connection does not go through ${client.id}'s sidecar, so tls: mtls cannot be honoured: the app holds no mesh certificate and sends plaintext`);
  }

  // 5. NetworkPolicy (§11): the CNI sees pod IPs and the target port.
  // A hostNetwork pod is the node to the CNI: its own policies do not select it, selector peers do not match it
  // (Kubernetes leaves this undefined; the common implementation, per the NetworkPolicy docs, treats it as node traffic).
  if (run.explain && endpoint.hostNetwork && mesh.networkPolicies.length > 0) ev('network', `${endpoint.id} runs in the host network: NetworkPolicies see the node's address, not a pod — no policy selects it, and selector peers do not match it`);
  // A client outside the cluster through a LoadBalancer or NodePort Service: unless externalTrafficPolicy is Local,
  // kube-proxy rewrites its address to the node's before the packet reaches the pod, where the CNI enforces
  // NetworkPolicy — the address the gateway sees too (inbound.ts NODE_IP). Kubernetes leaves the order undefined;
  // the common implementations (kube-proxy, then policy at the pod's interface) see the node.
  const snat = client === null && service !== null && (service.type === 'LoadBalancer' || service.type === 'NodePort') && service.externalTrafficPolicy !== 'Local';
  if (snat && service !== null && run.explain && mesh.networkPolicies.length > 0) ev('network', `externalTrafficPolicy ${service.externalTrafficPolicy || 'Cluster'} on ${service.fqdn}: the node rewrites the client address ${leg.clientIp} to its own (${NODE_IP}) before the pod's NetworkPolicies see it`);
  const np = mesh.networkPolicies.length === 0 ? null
    : networkPolicy(ctx, endpoint.hostNetwork ? { kind: 'external', ip: endpoint.ip } : podEndpoint(mesh, endpoint), targetPort, onEveryNode(endpoint),
      endpoint.hostNetwork ? endpoint.id : undefined, snat ? NODE_IP : undefined);
  if (np) return np;

  // 6. The receiving side.
  return connectInbound(ctx, { service, servicePort, endpoint, targetPort, passthrough }, tls);
}

const isHttpServicePort = (p: ServicePort): boolean => declaredProtocol(p) !== 'tcp';

/**
 * Whether the client proxy's outbound listener on `port` is HTTP (egress.ts
 * httpListenerOnPort). Its answer depends only on what the client's scope
 * holds: whether it has a proxy, its namespace (exportTo), the Sidecar
 * resource that applies to it (egress imports) and the port — so it is
 * memoised per mesh on exactly that. Each miss looks only at the registry
 * entries with an HTTP port of that number (httpListenerOnPortIndexed, the
 * candidates filtered once per port and namespace), not at every Service of
 * the mesh once per namespace.
 */
const PROXY_NO_SIDECAR = {};
const NO_PROXY = {};

/**
 * A client's Sidecars (sidecarsNear: its namespace's and the root namespace's) and the one that applies with its
 * conflicts (sidecarFor over those), worked out once per workload and mesh index, not at every decision (a namespace
 * of 10,000 Sidecars was 10,000 selector checks and two sorts per request). Plain WeakMaps, no closure per lookup:
 * a request reads this once or twice.
 */
interface NearSidecars {
  sidecars: readonly Sidecar[];
  pick: { sidecar: Sidecar | null; conflicts: string[] };
  picked: { client: Workload; sidecar: Sidecar | null };
}

const nearSidecars = new WeakMap<MeshIndex, WeakMap<Workload, NearSidecars>>();

/** What the client's proxy looks a destination up in (egress.ts lookupDestination): the mesh's registry and its Sidecars. */
function egressInputOf(mesh: Mesh, near: NearSidecars): EgressInput {
  return { services: mesh.services, serviceEntries: mesh.serviceEntries, sidecars: near.sidecars, rootNamespace: mesh.config.rootNamespace, meshMode: mesh.config.outboundTrafficPolicy, picked: near.picked };
}

function sidecarsOf(index: MeshIndex, rootNamespace: string, client: Workload): NearSidecars {
  let byClient = nearSidecars.get(index);
  if (byClient === undefined) { byClient = new WeakMap(); nearSidecars.set(index, byClient); }
  let near = byClient.get(client);
  if (near === undefined) {
    const sidecars = sidecarsNear(index.sidecars, rootNamespace, client);
    const pick = sidecarFor(sidecars, rootNamespace, client);
    near = { sidecars, pick, picked: { client, sidecar: pick.sidecar } };
    byClient.set(client, near);
  }
  return near;
}

function httpListenerMemo(mesh: Mesh, input: EgressInput, client: Workload, port: number): boolean {
  const sc = hasProxy(client) ? sidecarOfInput(input, client) : null;
  const index = meshIndex(mesh);
  // By the Sidecar (or whether there is a proxy at all), then namespace, then port: no key text per lookup.
  const byNs = index.memoFor('http-listener', sc ?? (hasProxy(client) ? PROXY_NO_SIDECAR : NO_PROXY), () => new Map<string, Map<number, boolean>>());
  let byPort = byNs.get(client.namespace);
  if (byPort === undefined) { byPort = new Map(); byNs.set(client.namespace, byPort); }
  let v = byPort.get(port);
  if (v === undefined) { v = httpListenerOnPortIndexed(input, httpCandidates(index), client, port, isHttpServicePort); byPort.set(port, v); }
  return v;
}

/** The registry by port, kept to the entries with an HTTP port of that number (a superset of what can make the listener HTTP). */
function httpCandidates(index: MeshIndex): RegistryByPort {
  return index.memo('http-candidates', '', () => ({
    services: (port: number, ns?: string) => index.memo('http-candidates/services', ns === undefined ? String(port) : `${port}|${ns}`,
      () => index.servicesOnPort(port, ns).filter((s) => s.ports.some((p) => p.port === port && isHttpServicePort(p)))),
    serviceEntries: (port: number, ns?: string) => index.serviceEntriesOnPort(port, ns),
  }));
}

export type ClientTls =
  | { kind: 'plaintext'; why: string; dr?: DrChoice }
  | { kind: 'istio'; why: string; dr?: DrChoice; sans?: string[] }
  | { kind: 'tls'; why: string; dr: DrChoice; mode: 'SIMPLE' | 'MUTUAL' };

/** A ServiceEntry's cluster to a Service or pod of the mesh (entryTarget): the DestinationRule of its host, and auto mTLS only to endpoints carrying Istio's tlsMode (`auto`). */
interface EntryTls { entry: ServiceEntry; host: string; port: number; auto: boolean }

function clientTls(ctx: Ctx, src: Workload, service: Service | null, servicePort: ServicePort | null, endpoint: Workload, targetPort: number, entry: EntryTls | null = null): ClientTls {
  const { mesh } = ctx.run;
  if (ctx.leg.intent === 'mtls') return { kind: 'istio', why: 'the step forces Istio mTLS with the client\'s own certificate' };
  if (!service && !entry) return { kind: 'plaintext', why: 'a pod IP is not a service host: the sidecar forwards it through the PassthroughCluster in plaintext' };
  const dr = entry ? findDestinationRule(mesh, src.namespace, src.labels, entry.host, entry.entry.meta.namespace)
    : findDestinationRule(mesh, src.namespace, src.labels, (service as Service).fqdn, (service as Service).namespace);
  const tls = dr ? tlsSettingsFor(dr.rule, entry ? entry.port : servicePort?.port ?? targetPort, ctx.leg.subset) : null;
  const drName = dr ? `${dr.rule.meta.namespace}/${dr.rule.meta.name}` : '';
  if (dr && tls && tls.tls !== null) {
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
  // What EDS marks on the endpoint (mtlsChecker): the rule's mode for the port, read per endpoint.
  const epDr = dr ? endpointTlsMode(dr.rule, entry ? entry.port : servicePort?.port ?? targetPort, ctx.leg.subset) : null;
  const epDrWhy = epDr ? `DestinationRule ${drName} (${epDr.from} tls.mode ${epDr.mode} for the port, which EDS reads per endpoint)` : '';
  if (entry !== null || service === null) {
    const which = entry ? `ServiceEntry ${entry.entry.meta.namespace}/${entry.entry.meta.name}` : 'the cluster';
    if (entry?.auto) {
      // BestEffortInferServiceMTLSMode for the entry's service: its namespace's (or the mesh's) DISABLE turns auto
      // mTLS off for the whole cluster; resolution NONE (passthrough) gets it only when every endpoint has a sidecar.
      const seNs = namespaceMode(mesh, entry.entry.meta.namespace);
      if (seNs.mode === 'DISABLE') {
        return { kind: 'plaintext', why: `no DestinationRule sets TLS; ${which}: namespace ${entry.entry.meta.namespace} resolves to DISABLE (${paName(seNs) ?? 'mesh'}), so auto mTLS is off for its cluster → plaintext`, ...(dr ? { dr } : {}) };
      }
      const sel = entry.entry.workloadSelector;
      if (entry.entry.resolution === 'NONE' && sel !== null) {
        const pods = meshIndex(mesh).workloadsIn(entry.entry.meta.namespace).filter((w) => selectorMatches(sel, w.labels));
        const bare = pods.find((w) => !w.sidecar);
        if (pods.length === 0 || bare) {
          return { kind: 'plaintext', why: `no DestinationRule sets TLS; ${which} (resolution NONE) ${bare ? `selects ${bare.id}, which has no sidecar` : 'selects no pod'}, so Istio sends plaintext to every endpoint → plaintext`, ...(dr ? { dr } : {}) };
        }
      }
    }
    // A STATIC entry's endpoints come through EDS, which reads the rule's mode and the pod's PeerAuthentication per endpoint.
    if (entry?.auto && endpoint.sidecar && entry.entry.resolution === 'STATIC') {
      if (epDr !== null && epDr.mode !== 'ISTIO_MUTUAL') {
        return { kind: 'plaintext', why: `no DestinationRule sets the cluster's TLS; ${epDrWhy} strips endpoint ${endpoint.id}'s Istio tlsMode → plaintext`, ...(dr ? { dr } : {}) };
      }
      if (epDr?.mode !== 'ISTIO_MUTUAL' && effectiveMtls(mesh, endpoint, targetPort).mode === 'DISABLE') {
        return { kind: 'plaintext', why: `no DestinationRule sets TLS; ${which}: endpoint ${endpoint.id} port ${targetPort} is DISABLE by PeerAuthentication, so EDS strips its Istio tlsMode → plaintext`, ...(dr ? { dr } : {}) };
      }
    }
    const why = entry?.auto && endpoint.sidecar ? `${which}: its endpoint ${endpoint.id} carries Istio's tlsMode → Istio mTLS`
      : `${which}: its endpoint ${endpoint.id} carries no Istio tlsMode → plaintext`;
    return { kind: entry?.auto && endpoint.sidecar ? 'istio' : 'plaintext', why: `no DestinationRule sets TLS; ${why}`, ...(dr ? { dr } : {}) };
  }
  const nsMode = namespaceMode(mesh, service.namespace);
  const base = !dr ? 'auto mTLS'
    : tls !== null ? `DestinationRule ${drName} has port-level settings for port ${servicePort?.port ?? targetPort} without tls (they do not inherit the rule's), so auto mTLS decides`
      : `DestinationRule ${drName} sets no TLS, so auto mTLS decides`;
  if (nsMode.mode === 'DISABLE') {
    return { kind: 'plaintext', why: `${base}: namespace ${service.namespace} resolves to DISABLE (${paName(nsMode) ?? 'mesh'}) → plaintext` };
  }
  if (service.headless) {
    // A headless Service's cluster is ORIGINAL_DST: Istio decides its TLS once for the whole Service
    // (BestEffortInferServiceMTLSMode), not per endpoint — plaintext when any endpoint lacks a sidecar, else mTLS to
    // every endpoint, whatever a workload's own PeerAuthentication says.
    const bare = endpointsOf(mesh, service).find((w) => !w.sidecar);
    if (bare) return { kind: 'plaintext', why: `${base}: headless Service ${service.fqdn} has an endpoint without a sidecar (${bare.id}), so Istio sends plaintext to all of them → plaintext` };
    return { kind: 'istio', why: `${base}: headless Service ${service.fqdn}: every endpoint has a sidecar, so Istio sends mTLS to all of them (a workload's own PeerAuthentication is not read) → Istio mTLS` };
  }
  if (dr) {
    // loadBalancer PASSTHROUGH: the rule's top level makes BestEffortInferServiceMTLSMode treat the Service as a
    // headless one (an endpoint without a sidecar, or none, turns auto mTLS off for all), and the cluster's own
    // (merged) load balancer makes it ORIGINAL_DST, where auto mTLS is not decided per endpoint (no EDS metadata):
    // Istio mTLS to every endpoint.
    const lbWhere = `DestinationRule ${drName} (loadBalancer PASSTHROUGH)`;
    if (topLevelLbPassthrough(dr.rule)) {
      const all = endpointsOf(mesh, service);
      const bare = all.find((w) => !w.sidecar);
      if (bare || all.length === 0) {
        return { kind: 'plaintext', dr, why: `${base}: ${lbWhere} makes Istio infer the Service's mTLS as for a headless one, and ${bare ? `endpoint ${bare.id} has no sidecar` : 'it has no endpoint'}, so auto mTLS is off for every endpoint → plaintext` };
      }
    }
    if (clusterLbPassthrough(dr.rule, servicePort?.port ?? targetPort, ctx.leg.subset)) {
      return { kind: 'istio', dr, why: `${base}: ${lbWhere} makes the cluster ORIGINAL_DST, which carries no endpoint metadata, so auto mTLS goes to every endpoint (a sidecar or a PeerAuthentication of ${endpoint.id} is not read) → Istio mTLS` };
    }
  }
  if (epDr !== null && epDr.mode !== 'ISTIO_MUTUAL') {
    return { kind: 'plaintext', why: `${base}: ${epDrWhy} strips endpoint ${endpoint.id}'s Istio tlsMode → plaintext`, ...(dr ? { dr } : {}) };
  }
  if (!endpoint.sidecar) {
    return { kind: 'plaintext', why: `${base}: endpoint ${endpoint.id} has no sidecar (no security.istio.io/tlsMode=istio label) → plaintext` };
  }
  if (epDr?.mode === 'ISTIO_MUTUAL') {
    return { kind: 'istio', why: `${base}: ${epDrWhy} keeps endpoint ${endpoint.id}'s Istio tlsMode whatever its PeerAuthentication says → Istio mTLS`, ...(dr ? { dr } : {}) };
  }
  const epMode = effectiveMtls(mesh, endpoint, targetPort);
  if (epMode.mode === 'DISABLE') {
    return { kind: 'plaintext', why: `${base}: endpoint ${endpoint.id} port ${targetPort} is DISABLE → plaintext` };
  }
  return { kind: 'istio', why: `${base}: endpoint ${endpoint.id} has a sidecar → Istio mTLS` };
}

/**
 * The headless Service whose TCP port `port` a pod's address stands for: Istio builds a listener per endpoint address
 * of a headless Service's TCP ports (podIP:port, an ORIGINAL_DST cluster of the service), so a client dialling the
 * pod's IP there is routed as the Service, with its mTLS, not through the PassthroughCluster. HTTP and sniffed ports
 * share the port's wildcard listener, where the address names no virtual host: those stay a pod IP.
 */
function headlessTcpFor(index: MeshIndex, w: Workload, port: number): { service: Service; port: ServicePort } | null {
  for (const s of index.servicesSelecting(w)) {
    if (!s.headless) continue;
    const p = s.ports.find((x) => x.port === port);
    if (p && declaredProtocol(p) === 'tcp') return { service: s, port: p };
  }
  return null;
}

function podEndpoint(mesh: Mesh, w: Workload): Extract<NpEndpoint, { kind: 'pod' }> {
  return { kind: 'pod', namespace: w.namespace, name: w.name, labels: w.labels, namespaceLabels: namespaceLabelsOf(w.namespace, mesh.namespaces.get(w.namespace)?.labels), ip: w.ip, ports: w.ports };
}

/**
 * A hostNetwork DaemonSet: a copy runs in the network namespace of every node, so of any pod's node too. Traffic
 * between a pod and its own node is always allowed by NetworkPolicy (the Kubernetes NetworkPolicy docs: "traffic to
 * and from the node where a Pod is running is always allowed"), so such a workload reaches every pod, and every pod
 * reaches it (its copy on the pod's node), whatever the policies say. Another hostNetwork workload's node is unknown:
 * meshrange gives each its own node, never the peer's (loader/load.ts).
 */
export function onEveryNode(w: Workload): boolean {
  return w.hostNetwork && w.kind === 'DaemonSet';
}

/**
 * §11: a drop is silent; an HTTP client behind its own proxy sees that proxy's 503 after the connect timeout.
 * `dstOnEveryNode`: the destination is a hostNetwork DaemonSet (onEveryNode). `srcIp`: the address NetworkPolicy
 * sees for a client outside the cluster, when it is not the client's own (SNAT).
 */
function networkPolicy(ctx: Ctx, dst: NpEndpoint, port: number, dstOnEveryNode = false, dstHost?: string, srcIp?: string): Decision | null {
  const { mesh } = ctx.run;
  if (mesh.networkPolicies.length === 0) return null;
  const c = ctx.leg.client;
  // Node-local traffic is never subject to NetworkPolicy: a hostNetwork DaemonSet has a copy on the other end's node.
  if (c !== null && onEveryNode(c) && dst.kind === 'pod') {
    if (ctx.run.explain) ctx.run.events.push({ hop: 'network', what: `${c.id} is a hostNetwork DaemonSet: its copy on the destination's node sends as that node, and traffic from a pod's own node is always allowed — NetworkPolicy does not apply` });
    return null;
  }
  if (dstOnEveryNode && c !== null && !c.hostNetwork) {
    if (ctx.run.explain) ctx.run.events.push({ hop: 'network', what: `the destination is a hostNetwork DaemonSet: its copy on ${c.id}'s node is that node, and traffic to a pod's own node is always allowed — NetworkPolicy does not apply` });
    return null;
  }
  const src: NpEndpoint = c && !c.hostNetwork ? podEndpoint(mesh, c) : { kind: 'external', ip: c === null && srcIp !== undefined ? srcIp : ctx.leg.clientIp };
  // Every protocol meshrange sends rides on TCP.
  const near = networkPoliciesNear(mesh, src, dst);
  // The analysis path (no trace) needs the details only of a drop.
  const selecting = npSelectingOf(meshIndex(mesh));
  if (!ctx.run.explain && networkPoliciesAllow(near, src, dst, port, 'TCP', selecting)) return null;
  const d = evaluateNetworkPolicies(near, src, dst, port, 'TCP', selecting);
  if (d.allowed) {
    if (!ctx.run.explain) return null;
    const by = [...d.egress.allowedBy, ...d.ingress.allowedBy];
    if (by.length > 0) ctx.run.events.push({ hop: 'network', what: `NetworkPolicy allows it (${[...new Set(by)].join(', ')})` });
    return null;
  }
  const drop = d.droppedBy;
  ctx.run.events.push({ hop: 'network', what: `NetworkPolicy drops the packets: ${drop?.reason ?? ''}` });
  // The node is not modelled: a hostNetwork peer that is not a DaemonSet is assumed to run on another node.
  const hostPeer = c !== null && c.hostNetwork ? c.id : dst.kind === 'external' && dstHost !== undefined ? dstHost : null;
  if (hostPeer !== null) {
    ctx.run.events.push({ hop: 'network', what: `${hostPeer} runs in the host network, and meshrange assumes on another node than its peer: on the same node the traffic is node-local, which NetworkPolicy always allows` });
  }
  const viaProxy = ctx.leg.proxy && ctx.clientHttp;
  return fail(ctx, viaProxy ? 503 : 0, null,
    { control: 'NetworkPolicy', name: drop?.policies[0] ?? null, reason: drop?.reason ?? 'dropped by NetworkPolicy' },
    viaProxy ? 'UF,URX' : undefined, viaProxy ? 'upstream connect error or disconnect/reset before headers. reset reason: connection timeout' : undefined);
}

/**
 * The NetworkPolicies of a pod's namespace that select it for a direction (selectingPolicies over the namespace's,
 * which is what they are among networkPoliciesNear's), once per pod labels, namespace and direction, not a selector
 * check of every policy of the namespace at every request. One lookup function per mesh index (no closure per call).
 */
const npSelectingFns = new WeakMap<MeshIndex, SelectingOf>();

function npSelectingOf(index: MeshIndex): SelectingOf {
  let fn = npSelectingFns.get(index);
  if (fn === undefined) {
    const memo = { ingress: new WeakMap<Labels, Map<string, readonly NetworkPolicy[]>>(), egress: new WeakMap<Labels, Map<string, readonly NetworkPolicy[]>>() };
    fn = (ep, direction) => {
      const table = memo[direction];
      let byNs = table.get(ep.labels);
      if (byNs === undefined) { byNs = new Map(); table.set(ep.labels, byNs); }
      let list = byNs.get(ep.namespace);
      if (list === undefined) { list = selectingPolicies(index.networkPolicies(ep.namespace), ep, direction, true); byNs.set(ep.namespace, list); }
      return list;
    };
    npSelectingFns.set(index, fn);
  }
  return fn;
}

/**
 * The NetworkPolicies that can judge a connection: a policy selects pods of
 * its own namespace only (network-policy.ts selectingPolicies), so those of
 * the source pod's and the destination pod's namespaces, each in load order —
 * evaluateNetworkPolicies decides the same from them as from every policy.
 */
export function networkPoliciesNear(mesh: Mesh, src: NpEndpoint, dst: NpEndpoint): readonly NetworkPolicy[] {
  const index = meshIndex(mesh);
  const a = src.kind === 'pod' ? index.networkPolicies(src.namespace) : [];
  const b = dst.kind === 'pod' && !(src.kind === 'pod' && src.namespace === dst.namespace) ? index.networkPolicies(dst.namespace) : [];
  return a.length === 0 ? b : b.length === 0 ? a : [...a, ...b];
}

/**
 * Cluster DNS as NetworkPolicy sees it: the kube-dns Service's address is translated to a CoreDNS pod of namespace
 * kube-system (label k8s-app=kube-dns) on UDP port 53 — the mesh's own such pod when it has one (a hostNetwork one is
 * node traffic, which only an ipBlock admits), else a stand-in pod of that namespace at an address of the pod network
 * no workload holds. Istio does not capture DNS by default (ISTIO_META_DNS_CAPTURE off), so every query of the app
 * goes there; the CoreDNS pods themselves resolve with the node's resolver (dnsPolicy Default).
 */
export const KUBE_DNS_LABEL = 'k8s-app';
const KUBE_DNS_STAND_IN_IP = '10.244.255.254';
const KUBE_DNS_PORTS: ContainerPort[] = [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }];

const isCoreDns = (w: Workload): boolean => w.namespace === 'kube-system' && ownValue(w.labels, KUBE_DNS_LABEL) === 'kube-dns';

/** Where NetworkPolicy sees a pod's DNS query go (see above). */
export function kubeDnsEndpoint(mesh: Mesh): NpEndpoint {
  return meshIndex(mesh).memo('kube-dns-endpoint', '', () => {
    const coredns = meshIndex(mesh).workloadsIn('kube-system').find(isCoreDns);
    if (coredns) return coredns.hostNetwork ? { kind: 'external', ip: coredns.ip } : podEndpoint(mesh, coredns);
    return { kind: 'pod', namespace: 'kube-system', name: 'coredns', labels: { [KUBE_DNS_LABEL]: 'kube-dns' },
      namespaceLabels: namespaceLabelsOf('kube-system', mesh.namespaces.get('kube-system')?.labels), ip: KUBE_DNS_STAND_IN_IP, ports: KUBE_DNS_PORTS };
  });
}

/**
 * Where `client`'s resolver sends its queries, as NetworkPolicy sees them: kube-dns (kubeDnsEndpoint) for
 * ClusterFirst; for `dnsPolicy: None` each of `dnsConfig.nameservers` (the kube-dns Service's or a CoreDNS pod's
 * address is kube-dns; another workload's address is that workload; any other is outside the cluster); none for
 * `dnsPolicy: Default`, whose node resolver meshrange does not know (the query is not judged). `onNode`: the
 * nameserver is a hostNetwork DaemonSet, with a copy on the client's node (onEveryNode).
 */
interface DnsTarget { ep: NpEndpoint; what: string; onNode: boolean; kubeDns: boolean }

function dnsTargets(mesh: Mesh, client: Workload): DnsTarget[] {
  const index = meshIndex(mesh);
  const kubeDns = (): DnsTarget => ({ ep: kubeDnsEndpoint(mesh), what: 'kube-dns (kube-system, UDP 53)', kubeDns: true,
    // CoreDNS as a hostNetwork DaemonSet has a copy on the client's node: node-local traffic is always allowed
    onNode: index.workloadsIn('kube-system').some((w) => isCoreDns(w) && onEveryNode(w)) });
  if (client.dns === undefined) return [kubeDns()];
  if (client.dns.policy === 'Default') return [];
  const kubeDnsIp = mesh.services.find((x) => x.namespace === 'kube-system' && x.name === 'kube-dns')?.clusterIP;
  return client.dns.nameservers.map((ip) => {
    const w = index.workloadAt(ip);
    if (ip === kubeDnsIp || (w !== undefined && isCoreDns(w))) return kubeDns();
    if (w !== undefined) return { ep: w.hostNetwork ? { kind: 'external', ip } : podEndpoint(mesh, w), what: `nameserver ${ip} (${w.id}, UDP 53)`, onNode: onEveryNode(w), kubeDns: false };
    return { ep: { kind: 'external', ip }, what: `nameserver ${ip} (UDP 53)`, onNode: false, kubeDns: false };
  });
}

/**
 * Whether `client`'s DNS query is dropped by NetworkPolicy (by which, why, on which side, and to where) — to every
 * nameserver it has: the resolver tries each in turn, so one it reaches resolves the name; once per pod.
 */
function dnsQueryDropped(mesh: Mesh, client: Workload): { policy: string | null; reason: string; side: 'egress' | 'ingress'; to: string; kubeDns: boolean } | null {
  if (isCoreDns(client)) return null;
  return meshIndex(mesh).memoFor('dns-query-dropped', client, () => {
    const index = meshIndex(mesh);
    const src = podEndpoint(mesh, client);
    const selecting = npSelectingOf(index);
    let first: { policy: string | null; reason: string; side: 'egress' | 'ingress'; to: string; kubeDns: boolean } | null = null;
    for (const t of dnsTargets(mesh, client)) {
      if (t.onNode) return null;
      const near = networkPoliciesNear(mesh, src, t.ep);
      if (networkPoliciesAllow(near, src, t.ep, 53, 'UDP', selecting)) return null;
      const d = evaluateNetworkPolicies(near, src, t.ep, 53, 'UDP', selecting);
      if (d.allowed) return null;
      first ??= { policy: d.droppedBy?.policies[0] ?? null, reason: d.droppedBy?.reason ?? 'dropped by NetworkPolicy', side: d.droppedBy?.direction ?? 'egress',
        to: t.what, kubeDns: t.kubeDns };
    }
    return first;
  });
}

/**
 * Whether `client`'s istio-agent answers `host` from its name table (pkg/dns/server/name_table.go), which holds the
 * services of the client's Sidecar scope:
 *  - a Kubernetes Service (a headless one only while it has endpoints), by the names its resolver tries (`name` in
 *    its own namespace, `name.ns`, `name.ns.svc`, the FQDN);
 *  - a ServiceEntry host, by its own name: one with an IP in `addresses`; one Istio allocates an address to (DNS or
 *    STATIC resolution and not a wildcard, DYNAMIC_DNS even a wildcard: PILOT_ENABLE_IP_AUTOALLOCATE, on by
 *    default since Istio 1.25, serves the proxies that capture DNS); resolution NONE by its endpoints' addresses or
 *    the pods it selects.
 * Once per client and name. `what` says which.
 */
function agentAnswers(mesh: Mesh, client: Workload, host: string): { answers: boolean; what: string } {
  const index = meshIndex(mesh);
  return index.memo('dns-agent-answers', `${client.id}\u0000${host}`, () => {
    const input = egressInputOf(mesh, sidecarsOf(index, mesh.config.rootNamespace, client));
    const entryKnown = (se: ServiceEntry, h: string): string | null => {
      const name = `ServiceEntry ${se.meta.namespace}/${se.meta.name}`;
      switch (entryAddressKind(se, h)) {
        case 'addresses': return `${name} gives it an address`;
        case 'allocated': return `${name}, an address Istio allocates`;
        case 'endpoints': {
          const sel = se.workloadSelector;
          const has = se.endpoints.some((e) => parseIp(e.address)) || (sel !== null && index.workloadsIn(se.meta.namespace).some((w) => selectorMatches(sel, w.labels)))
            || selectedWorkloadEntries(mesh, se).some((we) => parseIp(we.address));
          return has ? `${name}'s endpoints` : null;
        }
        default: return null;
      }
    };
    const known = (name: string, ports: readonly number[]): string | null => {
      for (const p of ports) {
        const l = lookupDestination({ ...input, services: index.services(name) }, client, name, p);
        if (l.kind === 'service') {
          // an ExternalName Service has no address to give (no ClusterIP); a headless one only its endpoints'
          if (l.service.type === 'ExternalName' || (l.service.headless && endpointsOf(mesh, l.service).length === 0)) return null;
          return `Service ${l.service.namespace}/${l.service.name} is in its Sidecar scope`;
        }
        if (l.kind === 'service-entry') return entryKnown(l.entry, name);
      }
      return null;
    };
    const r = resolveHost(mesh, host, client.namespace);
    if (r.service) {
      const what = known(r.service.fqdn, r.service.ports.map((p) => p.port));
      return what ? { answers: true, what } : { answers: false, what: `Service ${r.service.namespace}/${r.service.name} is not in its name table (outside its Sidecar scope, or headless without endpoints)` };
    }
    const h = normalizeHost(host);
    const claims = (x: string): boolean => x === h || (x.startsWith('*.') && h.endsWith(x.slice(1)));
    const ports = [...new Set(mesh.serviceEntries.filter((se) => se.hosts.some(claims)).flatMap((se) => se.ports.map((p) => p.number)))];
    const what = ports.length > 0 ? known(h, ports) : null;
    return what ? { answers: true, what } : { answers: false, what: `no Service or ServiceEntry of its Sidecar scope gives ${h} an address` };
  });
}

function externalIp(entry: ServiceEntry | undefined, name: string): string {
  const addr = entry?.endpoints.find((e) => parseIp(e.address))?.address;
  return addr ?? externalIpOf(name);
}

/** An external host: reached directly, through a ServiceEntry, or via the PassthroughCluster. */
function external(ctx: Ctx, dest: Extract<Dest, { kind: 'external' }>, port: number, passthrough: boolean): Decision {
  const { leg, run } = ctx;
  const np = networkPolicy(ctx, { kind: 'external', ip: dest.ip }, port);
  if (np) return np;
  if (leg.proxy && leg.intent === 'mtls') {
    // `tls: mtls` is honoured here too: the client proxy originates Istio mTLS, and a host outside the mesh has no mesh identity to present.
    run.events.push({ hop: 'client-sidecar', what: `the step forces Istio mTLS to ${dest.name}:${port}, which is outside the mesh: its certificate carries no mesh identity, so secure naming fails` });
    return fail(ctx, 503, null, { control: 'SecureNaming', name: null,
      reason: `Istio mTLS is forced to ${dest.name}, a host outside the mesh whose certificate is not a mesh identity; the client proxy aborts the handshake` },
    'UF,URX', 'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error');
  }
  // A ServiceEntry host is reached in plaintext unless the app does TLS (DestinationRule TLS origination to it is not modeled).
  if (run.explain) recordHop(run, leg, dest.name, port, hopProtection(leg, { kind: 'plaintext', why: '' }));
  run.events.push({ hop: 'external', what: `${dest.name}:${port} (${dest.ip}) outside the mesh answers${passthrough ? ' (reached through the PassthroughCluster)' : dest.entry ? ` (ServiceEntry ${dest.entry.meta.namespace}/${dest.entry.meta.name})` : ''}` });
  const d: Decision = { outcome: 'allowed', code: isHttp(leg.protocol) ? 200 : null, mtls: false, stoppedBy: [], events: run.events };
  if (isHttp(leg.protocol)) d.received = { method: leg.method, path: leg.path, headers: { ...leg.headers } };
  return d;
}

/**
 * The VirtualServices a client's Sidecar imports on `port` (Istio SelectVirtualServices): those with a host, qualified
 * in their own namespace, matching (either way: importsVirtualServiceHost) an egress host of the port's egress
 * listener whose namespace part is the VirtualService's, `*`, or `.` for the client's own. No Sidecar: all of them.
 * Kept per listener (and client namespace when a `./` host makes it matter), equal selections sharing one array:
 * the routing tables are kept per list.
 */
const importedByListener = new WeakMap<readonly VirtualService[], WeakMap<SidecarEgressListener, Map<string, readonly VirtualService[]>>>();
/** the imported lists of one VirtualService list, by content: equal selections share one array (and so one set of routing tables) */
const importedByContent = new WeakMap<readonly VirtualService[], Map<string, readonly VirtualService[]>>();
const NO_VS: readonly VirtualService[] = [];

function importedVirtualServices(mesh: Mesh, sidecar: Sidecar | null, clientNs: string, port: number): readonly VirtualService[] {
  const all = mesh.virtualServices;
  if (sidecar === null) return all;
  const listener = egressListenerFor(sidecar, port);
  if (listener === null) return NO_VS;
  let byListener = importedByListener.get(all);
  if (byListener === undefined) { byListener = new WeakMap(); importedByListener.set(all, byListener); }
  let byNs = byListener.get(listener);
  if (byNs === undefined) { byNs = new Map(); byListener.set(listener, byNs); }
  // only a `./` host makes the answer depend on the client's namespace
  const key = listener.hosts.some((h) => h.startsWith('./')) ? clientNs : '';
  let out = byNs.get(key);
  if (out === undefined) {
    const at: number[] = [];
    all.forEach((vs, i) => { if (vs.hosts.some((h) => importsVirtualServiceHost(listener, vs.meta.namespace, clientNs, qualify(h, vs.meta.namespace)))) at.push(i); });
    if (at.length === all.length) out = all;
    else {
      let shared = importedByContent.get(all);
      if (shared === undefined) { shared = new Map(); importedByContent.set(all, shared); }
      const id = at.join(',');
      out = shared.get(id);
      if (out === undefined) { out = at.map((i) => all[i] as VirtualService); shared.set(id, out); }
    }
    byNs.set(key, out);
  }
  return out;
}

/** VirtualServices bound to `mesh` (§8 egress gateway pattern): a new destination, or an answer. */
function meshRoute(ctx: Ctx, host: string, port: number, dest: Dest): { host: string; port: number } | Decision | null {
  const { run, leg } = ctx;
  const { mesh } = run;
  const client = leg.client as Workload;
  if (mesh.virtualServices.length === 0) return null;
  const pick = run.opts.pick ?? (() => 0);
  const base = { gateway: 'mesh', gatewayNamespace: client.namespace, port, sourceLabels: client.labels };
  const vss = importedVirtualServices(mesh, sidecarsOf(meshIndex(mesh), mesh.config.rootNamespace, client).pick.sidecar, client.namespace, port);
  if (vss.length === 0) return null;
  const defaultPort = (h: string): number => {
    const s = meshIndex(mesh).services(h)[0];
    return s && s.ports.length === 1 ? (s.ports[0] as ServicePort).port : port;
  };
  // http routes apply on an HTTP listener only (ctx.clientHttp: the dialled port's); a TCP one reads tcp routes
  if (isHttp(leg.protocol) && ctx.clientHttp) {
    const r = routeHttp(vss, { ...base, host, authority: legAuthority(leg), path: leg.path, method: leg.method, headers: leg.headers }, pick);
    if (r.kind === 'default') return null;
    if (r.kind === 'no-route') {
      run.events.push({ hop: 'client-sidecar', what: r.reason });
      return fail(ctx, 404, null, { control: 'VirtualService', name: null, reason: r.reason }, 'NR');
    }
    if (r.kind === 'redirect' || r.kind === 'direct') {
      run.events.push({ hop: 'client-sidecar', what: `VirtualService ${r.vs}${r.via ? ` (${r.via})` : ''} answers ${r.status} itself` });
      const d: Decision = { outcome: r.status < 400 ? 'allowed' : 'blocked', code: r.status, mtls: null, stoppedBy: r.status < 400 ? [] : [{ control: 'VirtualService', name: r.vs, reason: `route ${r.route}${r.via ? ` (${r.via})` : ''} answers ${r.status}` }], events: run.events };
      d.response = { status: r.status, headers: r.kind === 'redirect' ? { location: r.location } : {}, body: r.kind === 'direct' ? r.body : '' };
      return d;
    }
    run.events.push({ hop: 'client-sidecar', what: `VirtualService ${r.vs} route ${r.route}${r.via ? ` (${r.via})` : ''} sends it to ${r.destination.host}${r.destination.subset ? ` subset ${r.destination.subset}` : ''}` });
    run.meshRouted = true;
    if (r.destination.subset) leg.subset = r.destination.subset;
    if (r.rewrite?.uri !== undefined) leg.path = r.rewrite.uri;
    if (r.rewrite?.authority !== undefined) leg.headers['host'] = r.rewrite.authority;
    if (r.retries !== undefined || r.timeoutMs !== undefined) {
      const ref: HttpRouteRef = { vs: r.vs, route: r.route };
      if (r.retries !== undefined) ref.retries = r.retries;
      if (r.timeoutMs !== undefined) ref.timeoutMs = r.timeoutMs;
      run.httpRoute = ref;
    }
    return { host: r.destination.host, port: r.destination.port ?? defaultPort(r.destination.host) };
  }
  const r = leg.protocol === 'tls'
    ? routeTls(vss, { ...base, sni: leg.sni ?? '' }, pick)
    : routeTcp(vss, { ...base, host, ...(dest.kind === 'external' ? { destinationIp: dest.ip } : {}) }, pick);
  if (r.kind !== 'route') return null;
  run.events.push({ hop: 'client-sidecar', what: `VirtualService ${r.vs} ${leg.protocol === 'tls' ? 'tls' : 'tcp'} route ${r.route} sends it to ${r.destination.host}:${r.destination.port ?? port}` });
  run.meshRouted = true;
  if (r.destination.subset) leg.subset = r.destination.subset;
  return { host: r.destination.host, port: r.destination.port ?? defaultPort(r.destination.host) };
}

