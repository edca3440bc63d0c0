/**
 * The receiving side of one hop: the destination's sidecar (§4 filter chain,
 * §6.6 HTTP validation, CUSTOM ext_authz, §7 jwt_authn, §6 RBAC, then the
 * app), a gateway (§9 server selection and TLS, the same filters, then its
 * VirtualService routes to the next hop), or a workload without a proxy —
 * or a port the destination's iptables rules leave to the app (capture.ts
 * rules I0–I2), where only the app is met.
 */
import { namedSome } from '../core/names.js';
import { meshIndex } from '../model/index.js';
import type { ForwardClientCertDetails, Mesh, Service, ServicePort, Workload } from '../model/types.js';
import { selectedWorkloadEntries, type ServiceEntry } from '../model/egress.js';
import { principalOf, selectorMatches, spiffeId } from '../model/types.js';
import { evaluateAuthz, type AuthzAttributes, type AuthzDecision } from './authorization-policy.js';
import type { ClientTls, Ctx } from './decide.js';
import { allowedSans, fail } from './decide.js';
import { normalizePath } from './matchers.js';
import { inboundCapture, type CaptureVerdict } from './capture.js';
import { effectiveMtls, type MtlsResolution } from './peer-authentication.js';
import { declaredProtocol, endpointsOf, hostOnly, isHttp, legAuthority, sortKeys, targetPortOf, workloadPrincipal, workloadSpiffeId, type Decision, type IdentityOverride, type Leg, type StoppedBy } from './pipeline.js';
import { parseIp } from '../core/ip.js';
import { ownValue } from '../core/record.js';
import { authenticate, defaultKeySetId, requestAuthenticationsSelecting, type JwtOutcome } from './request-authentication.js';
import { autoPassthroughServer, gatewaysFor, httpsRedirect, parseClusterSni, routeHttp, routeTcp, routeTlsChain, selectServer, selectTlsChain, serverMode, tlsChains, type ServerSelection, type TlsChain } from './routing.js';
import { endpointTlsMode, findDestinationRule, tlsSettingsFor } from './destination-rule.js';
import { exported, serviceExportTo } from './egress.js';
import type { SignatureTable } from './jwt-crypto.js';
import { hopProtection, recordHop } from './wire.js';
import { sanitizeRequestHeaders, type Sanitized } from './header-sanitize.js';

/** Address a LoadBalancer Service with externalTrafficPolicy Cluster rewrites the client source to. */
export const NODE_IP = '10.128.0.1';

export interface InboundRoute {
  service: Service | null;
  servicePort: ServicePort | null;
  endpoint: Workload;
  targetPort: number;
  passthrough: boolean;
}

export function paName(r: MtlsResolution): string | null {
  return r.policy ? `${r.policy.meta.namespace}/${r.policy.meta.name}` : null;
}

function describeMode(r: MtlsResolution): string {
  const by = r.policy ? ` by PeerAuthentication ${paName(r)} (${r.level}-level)` : ' (mesh default: no PeerAuthentication applies)';
  return `${r.mode}${by}`;
}

const NO_SIGS: SignatureTable = { check: () => 'bad-signature', has: () => false };

function drLabel(tls: ClientTls): string {
  return tls.dr ? `DestinationRule ${tls.dr.rule.meta.namespace}/${tls.dr.rule.meta.name}` : 'the client';
}

/**
 * Whether a sidecar's inbound filter chains for `targetPort` are HTTP ones: the protocol the first Service selecting
 * the pod declares for that port (load order). Istio builds the chains per port, whatever address the client dialled
 * — the Service's or the pod's (listener_inbound.go) — and a port no Service declares gets the passthrough chains.
 */
function inboundHttpPort(mesh: Mesh, ep: Workload, targetPort: number): boolean {
  for (const s of meshIndex(mesh).servicesSelecting(ep)) {
    for (const p of s.ports) if (targetPortOf(p, ep) === targetPort) return declaredProtocol(p) === 'http';
  }
  return false;
}

export function connectInbound(ctx: Ctx, route: InboundRoute, tls: ClientTls): Decision {
  const { run, leg } = ctx;
  const { mesh } = run;
  const ep = route.endpoint;
  const src = leg.client;
  const ev = (hop: Parameters<typeof run.events.push>[0]['hop'], what: string): void => { run.events.push({ hop, what }); };
  const drStop = (reason: string): StoppedBy => ({ control: 'DestinationRule', name: tls.dr ? `${tls.dr.rule.meta.namespace}/${tls.dr.rule.meta.name}` : null, reason });
  const tlsFail = 'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error';

  if (ep.gateway) return gatewayInbound(ctx, route, tls);
  if (run.explain) recordHop(run, leg, ep.id, route.targetPort, hopProtection(leg, tls));
  const captured = ep.sidecar ? inboundCapture(ep, route.targetPort) : null;
  if (captured && !captured.captured) return uncapturedInbound(ctx, route, tls, captured);

  const res = ep.sidecar ? effectiveMtls(mesh, ep, route.targetPort) : null;
  if (res && run.explain) ev('server-sidecar', `${ep.id} port ${route.targetPort} accepts ${res.mode === 'STRICT' ? 'mTLS only' : res.mode === 'DISABLE' ? 'plaintext only' : 'mTLS and plaintext'}: ${describeMode(res)}`);
  let mtls = false;
  let peerPrincipal: string | null = null;
  const own = leg.identity && leg.identity.kind !== 'none' ? leg.identity : null;
  if (tls.kind === 'istio' && own) {
    const accepted = ownCertificate(ctx, route, res, own);
    if ('outcome' in accepted) return accepted;
    mtls = true;
    peerPrincipal = accepted.peerPrincipal;
  } else if (tls.kind === 'istio' && src) {
    if (!ep.sidecar) {
      ev('network', `${ep.id} has no sidecar to terminate Istio mTLS: the TLS handshake fails`);
      return fail(ctx, 503, null, drStop(`Istio mTLS is sent to ${ep.id}, which has no sidecar (${ep.sidecarReason}); the handshake fails`), 'UF,URX', tlsFail);
    }
    if (res?.mode === 'DISABLE') {
      ev('server-sidecar', 'DISABLE: the sidecar does not terminate mTLS; the handshake fails');
      return fail(ctx, 503, null,
        { control: 'PeerAuthentication', name: paName(res), reason: `${ep.name} port ${route.targetPort} is DISABLE, so its sidecar rejects the Istio mTLS that ${drLabel(tls)} sends` },
        'UF,URX', tlsFail);
    }
    const certStop = certificates(ctx, [[src, 'client'], [ep, 'server']]);
    if (certStop) return certStop;
    const serverId = workloadSpiffeId(mesh.config.trustDomain, ep);
    const sans = allowedSans(mesh, route.service, ep, tls.sans);
    if (!sans.includes(serverId)) {
      ev(leg.viaGateway ? 'gateway' : 'client-sidecar', `secure naming: server certificate ${serverId} is not among ${sans.join(', ')}`);
      return fail(ctx, 503, null,
        { control: 'SecureNaming', name: tls.dr ? `${tls.dr.rule.meta.namespace}/${tls.dr.rule.meta.name}` : null,
          reason: `the server presents ${serverId}, which is not an allowed identity (${sans.join(', ')}); the client proxy aborts the handshake` },
        'UF,URX', `${tlsFail}: SAN mismatch`);
    }
    mtls = true;
    peerPrincipal = workloadPrincipal(mesh.config.trustDomain, src);
    if (run.explain) ev('network', `mTLS handshake: client ${spiffeId(peerPrincipal)} ↔ server ${serverId}`);
  } else if (tls.kind === 'tls' && res !== null && (res.mode === 'STRICT' || (res.mode === 'PERMISSIVE' && inboundHttpPort(mesh, ep, route.targetPort)))) {
    // the sidecar, not the app, ends it: STRICT's TLS chain asks for a mesh client certificate; on a port declared
    // HTTP, PERMISSIVE has chains for Istio mTLS and plaintext only (filterchain_options.go)
    const why = res.mode === 'STRICT'
      ? `its sidecar's STRICT chain asks for a client certificate of the mesh, and the ${tls.mode} TLS of ${drLabel(tls)} carries ${tls.mode === 'MUTUAL' ? 'its own client certificate, which the mesh CA did not sign' : 'none'}`
      : `the port is declared HTTP, and under PERMISSIVE its sidecar has filter chains for Istio mTLS and plaintext only`;
    ev('server-sidecar', `${res.mode}: ${why}; the handshake fails`);
    return fail(ctx, 503, null, { control: 'PeerAuthentication', name: paName(res), reason: `${ep.name} port ${route.targetPort}: ${why}` }, 'UF,URX', tlsFail);
  } else if (tls.kind === 'tls') {
    ev('network', 'TLS without Istio ALPN reaches a workload that expects plaintext from its sidecar');
    return fail(ctx, 503, false,
      drStop(`the client originates ${tls.mode} TLS, but ${ep.id}'s app speaks plaintext behind ${ep.sidecar ? 'its sidecar' : 'no sidecar'}; the connection fails`),
      'UC', 'upstream connect error or disconnect/reset before headers. reset reason: connection termination');
  } else if (leg.protocol === 'tls' && res !== null && res.mode !== 'STRICT' && inboundHttpPort(mesh, ep, route.targetPort)) {
    // the app's own TLS (not Istio's) to a port declared HTTP: PERMISSIVE builds only the Istio-mTLS and plaintext
    // chains there, DISABLE only the plaintext HTTP one (filterchain_options.go) — no chain takes it
    ev('server-sidecar', `${res.mode}: port ${route.targetPort} is declared HTTP, and no filter chain takes TLS that is not Istio's; the connection is reset`);
    return fail(ctx, 0, false, { control: 'PeerAuthentication', name: paName(res),
      reason: `${ep.name} port ${route.targetPort} is declared HTTP under ${res.mode}: its sidecar has filter chains for Istio mTLS and plaintext only, so the client's own TLS is reset` });
  } else if (res?.mode === 'STRICT') {
    ev('server-sidecar', 'STRICT: no filter chain accepts plaintext; the connection is closed before any HTTP is read');
    const who = leg.proxy ? `${src?.id ?? 'the client'}'s proxy sent plaintext (${tls.why})` : `${src ? src.id : 'the outside client'} sent plaintext`;
    const reason = `${ep.name} port ${route.targetPort} requires mTLS (STRICT by ${paName(res) ?? 'mesh default'}) and ${who}`;
    if (leg.proxy) {
      return fail(ctx, 503, false, { control: 'PeerAuthentication', name: paName(res), reason }, 'UC',
        'upstream connect error or disconnect/reset before headers. reset reason: connection termination');
    }
    return fail(ctx, 0, false, { control: 'PeerAuthentication', name: paName(res), reason });
  } else if (run.explain) {
    ev('network', ep.sidecar ? `plaintext accepted (${res?.mode})` : `plaintext to ${ep.id}, which has no sidecar: nothing checks it`);
  }

  const dest = { workload: ep.id, port: route.servicePort?.port ?? route.targetPort, targetPort: route.targetPort, protocol: ctx.l7 };
  const destination: Decision['destination'] = route.service ? { service: `${route.service.namespace}/${route.service.name}`, ...dest } : dest;
  // d is the filters' own fresh refusal: set the field on it (the key lands last, as a spread copy would put it)
  const withDest = (d: Decision): Decision => { d.destination = destination; return d; };

  if (!ep.sidecar) return deliver(ctx, ep, { mtls, peerPrincipal, destination, headers: { ...leg.headers }, path: leg.path, proxied: false });
  run.proxies.push(`${ep.id} (sidecar)`);

  const serverId = workloadSpiffeId(mesh.config.trustDomain, ep);
  const headers = xfccAfter(ctx, 'server-sidecar', 'APPEND_FORWARD', mtls && peerPrincipal !== null ? { by: serverId, uri: peerPrincipal, cert: false } : null);
  if (ctx.l7 === 'http' && isHttp(leg.protocol)) {
    // use_remote_address false and no internal_address_config: Envoy counts the request as external (not an edge one)
    // and removes the x-envoy-* controls a client may not set before any filter runs; the edge-only ones stay
    const s = sanitizeRequestHeaders(headers, 'sidecar', leg.protocol === 'http');
    const line = sanitizedLine(s, 'the request is external to the sidecar (use_remote_address false, no internal_address_config), though not an edge request');
    if (line !== null) ev('server-sidecar', line);
  }
  const filters = proxyFilters(ctx, ep, 'server-sidecar', {
    peerPrincipal, mtls, sourceIp: leg.clientIp,
    // §6.5 remote.ip at a sidecar: its inbound HTTP connection manager has use_remote_address false and
    // no trusted hops, so Envoy takes the last X-Forwarded-For entry as the client (whoever wrote it),
    // and the peer address when there is none or it is not an address.
    remoteIp: xffAddress(leg.headers['x-forwarded-for'], 0) ?? leg.clientIp,
    headers,
    destinationPort: route.targetPort,
    sni: mtls ? `outbound_.${dest.port}_._.${route.service?.fqdn ?? ep.ip}` : null,
  });
  if ('outcome' in filters) return withDest(filters);
  const d = deliver(ctx, ep, { mtls, peerPrincipal, destination, headers: filters.headers, path: filters.path, proxied: true, authz: filters.authz, requestPrincipal: filters.requestPrincipal });
  if (res) d.mtlsResolution = { mode: res.mode, level: res.level, policy: paName(res) };
  return d;
}

/**
 * A port the destination's sidecar does not capture (capture.ts I0–I2): the
 * app itself takes the connection. Plaintext gets straight in — no
 * PeerAuthentication, JWT or AuthorizationPolicy runs; Istio mTLS (auto mTLS
 * still chooses it: the endpoint has a sidecar) meets an app that cannot
 * answer the handshake.
 */
function uncapturedInbound(ctx: Ctx, route: InboundRoute, tls: ClientTls, cap: CaptureVerdict): Decision {
  const { run, leg } = ctx;
  const ep = route.endpoint;
  run.events.push({ hop: 'network', what: `${ep.id}'s iptables rules do not hand port ${route.targetPort} to its sidecar (${cap.why}): the app takes the connection itself — no PeerAuthentication, no JWT, no AuthorizationPolicy` });
  const dest = { workload: ep.id, port: route.servicePort?.port ?? route.targetPort, targetPort: route.targetPort, protocol: ctx.l7 };
  const destination: Decision['destination'] = route.service ? { service: `${route.service.namespace}/${route.service.name}`, ...dest } : dest;
  if (leg.identity && leg.identity.kind !== 'none') {
    // The attacker's own TLS client (not auto mTLS, not a DestinationRule): the plaintext app closes the connection, and
    // nothing enforces policy on this port — as at a workload with no sidecar (ownCertificate).
    const cert = leg.identity.kind === 'forged-cert' ? `the forged certificate for ${leg.identity.spiffe}` : `the stolen certificate of ${leg.identity.spiffe}`;
    run.events.push({ hop: 'network', what: `the attacker's TLS client hello reaches ${ep.id}'s app on port ${route.targetPort}, which speaks plaintext and closes the connection` });
    const d = fail(ctx, 0, null, { control: 'Routing', name: ep.id,
      reason: `${ep.id} port ${route.targetPort} is not captured by its sidecar (${cap.why}), so nothing terminates Istio mTLS and ${cert} is never checked: the plaintext app closes the connection. Nothing enforces any policy on that port either: plain requests get in` });
    d.inboundUncaptured = true;
    return { ...d, destination };
  }
  if (tls.kind === 'istio' || tls.kind === 'tls') {
    const by = tls.kind === 'istio' ? (ctx.leg.intent === 'mtls' && !tls.dr ? 'the step forces Istio mTLS and the client sidecar sends it' : `${tls.dr ? drLabel(tls) : 'auto mTLS'} sends Istio mTLS`) : `${drLabel(tls)} originates ${tls.mode} TLS`;
    run.events.push({ hop: 'network', what: `${by} to port ${route.targetPort}; the app speaks plaintext and cannot answer the handshake` });
    const d = fail(ctx, 503, null, {
      control: 'DestinationRule', name: tls.dr ? `${tls.dr.rule.meta.namespace}/${tls.dr.rule.meta.name}` : null,
      reason: `${by} to ${ep.id} port ${route.targetPort}, which its sidecar does not capture (${cap.why}); the app cannot answer the TLS handshake${tls.kind === 'istio' ? ' (a DestinationRule with tls.mode DISABLE for that port sends plaintext)' : ''}`,
    }, 'UF,URX', 'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error');
    d.inboundUncaptured = true;
    return { ...d, destination };
  }
  const d = deliver(ctx, ep, { mtls: false, peerPrincipal: null, destination, headers: { ...leg.headers }, path: leg.path, proxied: false });
  d.inboundUncaptured = true;
  return d;
}

/**
 * A client's own certificate at a sidecar (§1, §4; the impersonate action).
 * The client hello carries Istio's ALPN, so in STRICT and in PERMISSIVE it
 * takes the mTLS filter chain, which requires a client certificate that
 * chains to the mesh root: a forged one fails the handshake. A stolen,
 * mesh-signed one passes until its notAfter (rotation issues the victim a
 * new certificate but does not revoke the old), and the peer principal is
 * then the stolen identity. DISABLE has no chain that terminates Istio mTLS,
 * and a workload without a sidecar has none at all: the TLS bytes reach a
 * plaintext app and the connection closes. The attacker's TLS client checks
 * no server SAN (secure naming is the client sidecar's job).
 */
function ownCertificate(ctx: Ctx, route: InboundRoute, res: MtlsResolution | null, own: Extract<IdentityOverride, { spiffe: string }>): Decision | { peerPrincipal: string } {
  const ep = route.endpoint;
  const port = route.targetPort;
  const ev = (hop: 'network' | 'server-sidecar', what: string): void => { ctx.run.events.push({ hop, what }); };
  const cert = own.kind === 'forged-cert' ? `the forged certificate for ${own.spiffe}` : `the stolen certificate of ${own.spiffe}`;
  if (!ep.sidecar || res === null) {
    ev('network', `${ep.id} has no sidecar: its app reads the TLS client hello as plaintext and closes the connection`);
    return fail(ctx, 0, null, { control: 'Routing', name: ep.id,
      reason: `${ep.id} has no sidecar (${ep.sidecarReason}), so nothing terminates Istio mTLS and ${cert} is never checked: the plaintext app closes the connection. Nothing enforces any policy there either (§2): plain requests get in` });
  }
  if (res.mode === 'DISABLE') {
    ev('server-sidecar', `DISABLE: no filter chain terminates Istio mTLS; the TLS bytes reach the plaintext app, which closes the connection`);
    return fail(ctx, 0, null, { control: 'PeerAuthentication', name: paName(res),
      reason: `${ep.name} port ${port} is ${describeMode(res)}: its sidecar terminates no Istio mTLS, so ${cert} is never accepted and the connection closes` });
  }
  if (own.kind === 'forged-cert') {
    ev('server-sidecar', `ALPN istio selects the mTLS filter chain (${res.mode}); the client certificate for ${own.spiffe} does not chain to the mesh root: handshake alert "unknown ca", connection closed`);
    return fail(ctx, 0, null, { control: 'PeerAuthentication', name: paName(res),
      reason: `${ep.name} port ${port} is ${describeMode(res)}; a client hello with Istio's ALPN takes its mTLS filter chain${res.mode === 'PERMISSIVE' ? ' (PERMISSIVE too)' : ''}, which accepts only client certificates signed by the mesh CA, so the forged certificate for ${own.spiffe} fails the handshake. Only a mesh-signed certificate (a stolen one) would pass: keep workload keys out of reach` });
  }
  if (own.problem !== null) return stolenExpired(ctx, own, 'server-sidecar');
  const serverStop = certificates(ctx, [[ep, 'server']]);
  if (serverStop) return serverStop;
  ev('network', `mTLS handshake (${res.mode}): the sidecar of ${ep.id} accepts the mesh-signed certificate ${own.spiffe} (taken from ${own.from}); nothing tells it who holds the key`);
  return { peerPrincipal: own.spiffe.slice('spiffe://'.length) };
}

/** A stolen certificate past its notAfter (§1): every mTLS server refuses it, whatever the victim's rotation did. */
function stolenExpired(ctx: Ctx, own: Extract<IdentityOverride, { kind: 'stolen-cert' }>, hop: 'server-sidecar' | 'gateway'): Decision {
  ctx.run.events.push({ hop, what: `the stolen certificate of ${own.spiffe} is ${own.problem ?? ''}: handshake alert "certificate expired", connection closed` });
  return fail(ctx, 0, null, { control: 'CertificateValidity', name: own.from,
    reason: `the certificate of ${own.spiffe} stolen from ${own.from} is ${own.problem ?? ''}; the receiving proxy's mTLS chain refuses it, so the handshake fails. Until then it worked from anywhere: rotation does not revoke an issued certificate, so the workload TTL bounds how long a theft pays` });
}

/** §1: both ends of Istio mTLS need a certificate valid now; an expired one fails the handshake. */
function certificates(ctx: Ctx, ends: readonly (readonly [Workload, 'client' | 'server'])[]): Decision | null {
  const check = ctx.run.opts.certProblem;
  if (!check) return null;
  for (const [w, side] of ends) {
    const problem = check(w.id);
    if (problem) {
      ctx.run.events.push({ hop: 'network', what: `mTLS handshake fails: the ${side} ${w.id} has ${problem}` });
      return fail(ctx, 503, null, { control: 'CertificateValidity', name: w.id,
        reason: `the ${side} ${w.id} presents ${problem}, so the mTLS handshake fails` }, 'UF,URX',
      'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error: certificate expired');
    }
  }
  return null;
}

/**
 * The client address Envoy reads from X-Forwarded-For (§6.5, §9): the entry
 * `skip` places from the right end; null when there are not that many
 * entries or the entry is not an IP address (Envoy then uses the peer).
 */
export function xffAddress(xff: string | undefined, skip: number): string | null {
  if (xff === undefined) return null;
  const parts = xff.split(',');
  if (parts.length <= skip) return null;
  const entry = (parts[parts.length - 1 - skip] as string).trim();
  return parseIp(entry) ? entry : null;
}

/** The client certificate a mutual-TLS downstream connection presented, as the proxy's XFCC element names it. */
interface PeerCert {
  /** the receiving proxy's own URI SAN (XFCC `By`); null when its certificate has none meshrange knows of */
  by: string | null;
  /** the peer's URI SAN; null: a certificate meshrange knows nothing of but that it verified (a MUTUAL server's client) */
  uri: string | null;
  /** whether the element carries the certificate itself (Istio asks a gateway for Cert, a sidecar not) */
  cert: boolean;
}

/**
 * X-Forwarded-Client-Cert as the receiving proxy's connection manager leaves
 * it, before any filter runs (so RBAC `request.headers[x-forwarded-client-cert]`
 * and the app both see this value), by Envoy's forward_client_cert_details:
 * ALWAYS_FORWARD_ONLY keeps whatever the client sent; otherwise SANITIZE, or a
 * connection that is not mutual TLS, drops it; FORWARD_ONLY keeps it as sent;
 * APPEND_FORWARD (a sidecar's) keeps it and appends the proxy's own element;
 * SANITIZE_SET (a gateway's default) replaces it with that element. The
 * element names the proxy (`By`), the certificate (`Hash`, and `Cert` at a
 * gateway) and the verified peer (`Subject`, `URI`).
 */
function xfccAfter(ctx: Ctx, hop: 'server-sidecar' | 'gateway', mode: ForwardClientCertDetails, peer: PeerCert | null): Record<string, string> {
  const headers = { ...ctx.leg.headers };
  const sent = headers['x-forwarded-client-cert'];
  const ev = (what: string): void => { ctx.run.events.push({ hop, what }); };
  if (mode === 'ALWAYS_FORWARD_ONLY') {
    if (sent !== undefined) ev(`keeps the X-Forwarded-Client-Cert the client sent as it is (forwardClientCertDetails ALWAYS_FORWARD_ONLY), ${peer === null ? 'though no client certificate backs it' : 'whatever the client certificate says'}`);
    return headers;
  }
  if (peer === null || mode === 'SANITIZE') {
    if (sent !== undefined) {
      delete headers['x-forwarded-client-cert'];
      ev(peer === null ? 'drops the X-Forwarded-Client-Cert header the client sent: the connection is not mutual TLS, so no peer certificate backs it'
        : 'drops the X-Forwarded-Client-Cert header the client sent (forwardClientCertDetails SANITIZE)');
    }
    return headers;
  }
  if (mode === 'FORWARD_ONLY') {
    if (sent !== undefined) ev('keeps the X-Forwarded-Client-Cert the mutual-TLS client sent as it is, adding nothing (forwardClientCertDetails FORWARD_ONLY)');
    return headers;
  }
  const who = peer.uri !== null ? spiffeId(peer.uri) : 'the client certificate';
  const own = [
    ...(peer.by !== null ? [`By=${peer.by}`] : []),
    'Hash=<sha256 of the client certificate>',
    ...(peer.cert ? ['Cert="<the client certificate, URL-encoded PEM>"'] : []),
    peer.uri !== null ? `Subject="";URI=${spiffeId(peer.uri)}` : 'Subject="<subject of the client certificate>"',
  ].join(';');
  if (sent !== undefined && mode === 'APPEND_FORWARD') {
    headers['x-forwarded-client-cert'] = `${sent},${own}`;
    ev(`keeps the X-Forwarded-Client-Cert the mutual-TLS client sent and appends its own element for ${who} (APPEND_FORWARD): only the last element is the verified peer`);
  } else {
    if (sent !== undefined) ev(`replaces the X-Forwarded-Client-Cert the client sent with its own element for ${who} (${mode})`);
    else if (peer.uri === null) ev(`sets X-Forwarded-Client-Cert to its own element for the verified client certificate (${mode}); meshrange does not know that certificate's subject or SANs`);
    headers['x-forwarded-client-cert'] = own;
  }
  return headers;
}

interface FilterInput {
  peerPrincipal: string | null;
  mtls: boolean;
  sourceIp: string;
  remoteIp: string;
  /** request headers after the connection manager (XFCC handled) */
  headers: Record<string, string>;
  destinationPort: number;
  sni: string | null;
}

interface Passed {
  headers: Record<string, string>;
  path: string;
  authz: AuthzDecision;
  requestPrincipal: string | null;
}

/**
 * The filters a receiving proxy runs, in Envoy's order (§3): HTTP validation,
 * CUSTOM ext_authz, jwt_authn, RBAC AUDIT/DENY/ALLOW. TCP chains run the network RBAC only.
 */
function proxyFilters(ctx: Ctx, w: Workload, hop: 'server-sidecar' | 'gateway', f: FilterInput): Passed | Decision {
  const { run, leg } = ctx;
  const { mesh } = run;
  const ev = (what: string): void => { run.events.push({ hop, what }); };
  let path = leg.path;
  let headers = f.headers;
  if (run.explain) (run.addresses ??= []).push({ proxy: `${w.id} (${hop === 'gateway' ? 'gateway' : 'sidecar'})`, sourceIp: f.sourceIp, remoteIp: f.remoteIp });
  const http = ctx.l7 === 'http' && isHttp(leg.protocol);
  if (http) {
    if (!/^[A-Z]+$/.test(leg.method)) {
      ev(`method "${leg.method}" is not upper case: Envoy answers 400`);
      return fail(ctx, 400, f.mtls, { control: 'HttpValidation', name: null, reason: `HTTP method "${leg.method}" is not an upper-case token; Envoy rejects it before authorization` });
    }
    const n = normalizePath(leg.path, mesh.config.pathNormalization);
    if (!n.ok) {
      ev(`path rejected: ${n.reason}`);
      return fail(ctx, 400, f.mtls, { control: 'HttpValidation', name: null, reason: `the path is rejected during normalization (${n.reason})` });
    }
    if (n.path !== leg.path.split('?')[0]) ev(`path normalized (${mesh.config.pathNormalization}${leg.path.includes('#') ? ', #fragment dropped' : ''}): ${leg.path} → ${n.path}`);
    path = n.query ? `${n.path}?${n.query}` : n.path;
  }
  const attrs: AuthzAttributes = {
    protocol: http ? 'http' : 'tcp',
    peerPrincipal: f.peerPrincipal,
    sourceIp: f.sourceIp,
    remoteIp: f.remoteIp,
    destinationIp: w.ip,
    destinationPort: f.destinationPort,
    sni: f.sni,
  };
  if (http) {
    const bare = path.split('?')[0] as string;
    attrs.http = { host: legAuthority(leg), method: leg.method, path: bare, headers };
    if (bare !== path) attrs.http.pathWithQuery = path;
  }
  const deny = (a: AuthzDecision): Decision => denied(ctx, hop, a, f.mtls, f.peerPrincipal);

  // CUSTOM (ext_authz) sits before jwt_authn.
  const custom = evaluateAuthz(mesh, w, attrs, run.opts.extAuthz, http ? 'custom' : 'all', run.explain);
  if (run.explain) for (const t of custom.trace) ev(t);
  if (!custom.allowed) return deny(custom);
  if (!http) {
    if (run.explain) reportAuthz(ev, custom);
    return { headers, path, authz: custom, requestPrincipal: null };
  }

  // jwt_authn (§7).
  const ras = requestAuthenticationsOf(mesh, w);
  let requestPrincipal: string | null = null;
  if (ras.length > 0) {
    const jwt: JwtOutcome = authenticate(ras, { headers, path, method: leg.method }, run.opts.jwt?.nowSeconds ?? 0, run.opts.jwt?.sigs ?? NO_SIGS, defaultKeySetId);
    for (const t of jwt.trace) ev(t);
    if (jwt.result === 'invalid') {
      const status = jwt.status ?? 401;
      ev(`responds ${status} "${jwt.body ?? ''}" (${jwt.details ?? 'jwt_authn'})`);
      const d = fail(ctx, status, f.mtls, { control: 'RequestAuthentication', name: jwt.decidedBy?.policy ?? null,
        ...(jwt.decidedBy ? { rule: `jwtRules[${jwt.decidedBy.rule}]` } : {}),
        reason: `${jwt.body ?? 'invalid token'}${status === 401 ? ': the token is rejected before authorization runs' : ''}` });
      if (d.response) d.response = { status, headers: jwt.responseHeaders ?? {}, body: jwt.body ?? '' };
      d.peerPrincipal = f.peerPrincipal;
      return d;
    }
    headers = jwt.headersAfter;
    if (jwt.pathAfter !== path) {
      // forwardOriginalToken false: the query parameter that carried the token is gone for RBAC, routing and the app
      path = jwt.pathAfter;
      if (attrs.http) {
        const bare = path.split('?')[0] as string;
        attrs.http = { ...attrs.http, path: bare };
        if (bare !== path) attrs.http.pathWithQuery = path; else delete attrs.http.pathWithQuery;
      }
    }
    if (jwt.result === 'valid' && jwt.auth) {
      attrs.auth = jwt.auth;
      requestPrincipal = jwt.auth.principal;
      ev(`JWT accepted: request principal ${jwt.auth.principal}`);
    }
    if (attrs.http) attrs.http = { ...attrs.http, headers };
  }

  // RBAC.
  const rbac = evaluateAuthz(mesh, w, attrs, run.opts.extAuthz, 'rbac', run.explain);
  if (run.explain) for (const t of rbac.trace) ev(t);
  if (!rbac.allowed) {
    const d = deny(rbac);
    const stop = d.stoppedBy[0];
    if (stop && ras.length > 0 && requestPrincipal === null) {
      // §7: a missing token passes jwt_authn; requiring one is the AuthorizationPolicy's job.
      stop.reason += `; no valid JWT was presented, and RequestAuthentication ${namedSome(ras, (r) => `${r.meta.namespace}/${r.meta.name}`, ', ')} lets a token-less request through with no request principal`;
    }
    d.requestPrincipal = requestPrincipal;
    return d;
  }
  if (run.explain) reportAuthz(ev, rbac);
  return { headers, path, authz: rbac, requestPrincipal };
}

function reportAuthz(ev: (s: string) => void, a: AuthzDecision): void {
  for (const dr of a.dropped) ev(`${dr.rule} uses HTTP-only ${dr.fields.join(', ')} on a TCP port: ${dr.effect}`);
  for (const s of a.shadow) ev(`dry-run ${s.policy}: ${s.effect}${s.rule ? ` (${s.rule.rule})` : ''} — not enforced`);
}

function denied(ctx: Ctx, hop: 'server-sidecar' | 'gateway', authz: AuthzDecision, mtls: boolean, peerPrincipal: string | null): Decision {
  const { run, leg } = ctx;
  if (run.explain) reportAuthz((what) => run.events.push({ hop, what }), authz);
  const stop: StoppedBy = {
    control: 'AuthorizationPolicy',
    name: authz.decidedBy ? `${authz.decidedBy.namespace}/${authz.decidedBy.policy}` : authz.consulted[0] ? `${authz.consulted[0].namespace}/${authz.consulted[0].name}` : null,
    reason: authz.custom ? `ext-authz provider ${authz.custom.provider} denied the request: ${authz.reason}` : authz.reason,
  };
  if (authz.decidedBy) stop.rule = authz.decidedBy.rule;
  const d: Decision = { outcome: 'blocked', code: null, mtls, stoppedBy: [stop], events: run.events, peerPrincipal, authz };
  if (ctx.l7 === 'tcp' || !isHttp(leg.protocol)) {
    d.code = isHttp(leg.protocol) ? 0 : null;
    if (run.explain) run.events.push({ hop, what: 'TCP: the connection is closed right after accept; no bytes reach the app' });
  } else {
    const status = authz.custom?.verdict.status ?? 403;
    const body = authz.custom?.verdict.body ?? 'RBAC: access denied';
    d.response = { status, headers: { 'content-type': 'text/plain', ...(authz.custom?.verdict.headers ?? {}) }, body };
    if (leg.protocol === 'grpc') { d.code = 200; d.grpcStatus = 7; } else d.code = status;
    if (authz.custom) d.flags = 'UAEX';
    if (run.explain) run.events.push({ hop, what: `responds ${status} "${body}" (${authz.details})` });
  }
  return d;
}

interface Delivery {
  mtls: boolean;
  peerPrincipal: string | null;
  destination: Decision['destination'];
  headers: Record<string, string>;
  path: string;
  proxied: boolean;
  authz?: AuthzDecision;
  requestPrincipal?: string | null;
}

function deliver(ctx: Ctx, ep: Workload, x: Delivery): Decision {
  const { run, leg } = ctx;
  const d: Decision = {
    outcome: 'allowed',
    code: isHttp(leg.protocol) ? 200 : null,
    mtls: x.mtls, stoppedBy: [], events: run.events, peerPrincipal: x.peerPrincipal,
  };
  if (x.destination) d.destination = x.destination;
  if (leg.protocol === 'grpc') d.grpcStatus = 0;
  if (x.authz) d.authz = x.authz;
  if (x.requestPrincipal !== undefined) d.requestPrincipal = x.requestPrincipal;
  if (!run.explain) return d;
  // XFCC was already handled by the sidecar's connection manager (xfccAfter).
  const received: Record<string, string> = { ...x.headers };
  if (x.proxied) received['x-forwarded-proto'] = received['x-forwarded-proto'] ?? 'http';
  const http = ctx.l7 === 'http' && isHttp(leg.protocol);
  if (isHttp(leg.protocol)) received['host'] = received['host'] ?? legAuthority(leg);
  run.events.push({ hop: 'app', what: `${ep.id} receives the ${http || isHttp(leg.protocol) ? `request ${leg.method} ${x.path}` : 'connection'} and answers` });
  if (isHttp(leg.protocol)) d.received = { method: leg.method, path: x.path, headers: sortKeys(received) };
  return d;
}

/** §9: a gateway pod receives the connection on a Gateway server, runs its filters and routes it on. */
function gatewayInbound(ctx: Ctx, route: InboundRoute, tls: ClientTls): Decision {
  const { run, leg } = ctx;
  const { mesh } = run;
  const gw = route.endpoint;
  const ev = (what: string): void => { run.events.push({ hop: 'gateway', what }); };
  const gws = gatewaysFor(mesh.gateways, gw);
  const servicePort = route.servicePort?.port ?? route.targetPort;
  const authorityHost = hostOnly(legAuthority(leg));
  const clientTlsToGw = leg.protocol === 'tls' || (leg.proxy ? tls.kind === 'istio' : leg.intent !== 'plaintext');
  // The SNI the client sends: a client sidecar's Istio mTLS names the DestinationRule's `sni`, else the cluster it
  // dialled (outbound_.<port>_.<subset>_.<host>: Istio's default SNI for ISTIO_MUTUAL and auto mTLS), not the Host
  const sidecarMtls = leg.proxy && tls.kind === 'istio';
  const drSni = sidecarMtls && tls.dr ? tlsSettingsFor(tls.dr.rule, servicePort, leg.subset)?.tls?.sni : undefined;
  const clientSni: string | null = !sidecarMtls ? leg.sni
    : drSni ?? (route.service ? `outbound_.${servicePort}_.${leg.subset ?? ''}_.${route.service.fqdn}` : null);
  const sniOrHost = clientSni ?? authorityHost;
  const onPort = gws.flatMap((g) => g.servers.filter((s) => s.port.number === servicePort || s.port.number === route.targetPort).map((s) => ({ g, s })));
  run.proxies.push(`${gw.id} (gateway)`);
  /**
   * The gateway's filter chain (CUSTOM, JWT, RBAC… proxyFilters) with the source address it sees. It runs before the
   * router, so before the router's own answers: an httpsRedirect 301 and the 404 NR of a host no server serves.
   */
  const xff = leg.headers['x-forwarded-for'];
  /** the client's address as the gateway sees it, and the remote address its filters use (set by gatewayFilters) */
  let sourceIp = leg.clientIp;
  let remoteIp = leg.clientIp;
  /** X-Forwarded-Proto as the gateway's connection manager leaves it (set by gatewayFilters): what the router and the backend see */
  let forwardedProto = 'http';
  /** a MUTUAL or OPTIONAL_MUTUAL server verified a client certificate meshrange knows nothing more of (set below) */
  let clientCert = false;
  const gatewayFilters = (mtls: boolean, peerPrincipal: string | null, httpsSni: string | null, tlsDownstream: boolean): ReturnType<typeof proxyFilters> => {
    // Source address as the gateway sees it (§9): SNAT to a node IP unless externalTrafficPolicy: Local.
    if (!leg.client && route.service && route.service.externalTrafficPolicy !== 'Local') {
      sourceIp = NODE_IP;
      ev(`externalTrafficPolicy ${route.service.externalTrafficPolicy}: the client address is rewritten to the node address ${NODE_IP}`);
    }
    // §9, §6.5: a gateway's connection manager has use_remote_address true and numTrustedProxies
    // (gatewayTopology) trusted hops: with N > 0 the client is the N-th X-Forwarded-For entry from the
    // right, and the peer when there are fewer entries or that one is not an address; with 0, the peer.
    // the gateway pod's own proxy.istio.io/config annotation before the mesh config's defaultConfig
    const n = gw.numTrustedProxies ?? mesh.config.numTrustedProxies;
    remoteIp = sourceIp;
    if (n > 0 && xff !== undefined) {
      const trusted = xffAddress(xff, n - 1);
      if (trusted !== null) remoteIp = trusted;
      else ev(`numTrustedProxies ${n}: X-Forwarded-For "${xff}" has no address ${n} ${n === 1 ? 'entry' : 'entries'} from the right; the remote address is the peer ${sourceIp}`);
    } else if (xff) {
      ev(`numTrustedProxies 0: X-Forwarded-For "${xff}" is not trusted; the remote address is ${sourceIp}`);
    }

    const gwId = spiffeId(principalOf(mesh.config.trustDomain, gw.namespace, gw.serviceAccount));
    // Istio: SANITIZE_SET unless gatewayTopology.forwardClientCertDetails (the pod's annotation, then the mesh config) says otherwise
    const fccd = gw.forwardClientCertDetails ?? mesh.config.forwardClientCertDetails ?? 'SANITIZE_SET';
    const peer: PeerCert | null = mtls && peerPrincipal !== null ? { by: gwId, uri: peerPrincipal, cert: true }
      : clientCert ? { by: null, uri: null, cert: true } : null;
    const headers = xfccAfter(ctx, 'gateway', fccd, peer);
    // Envoy's connection manager with use_remote_address (every gateway): with no trusted hop, or no header, it writes
    // the scheme of the connection itself; with numTrustedProxies > 0 it keeps the X-Forwarded-Proto the client sent.
    const sentProto = headers['x-forwarded-proto'];
    const ownProto = tlsDownstream ? 'https' : 'http';
    if (n > 0 && sentProto !== undefined) {
      if (sentProto !== ownProto) ev(`numTrustedProxies ${n}: keeps the X-Forwarded-Proto ${JSON.stringify(clip(sentProto))} the client sent, though the connection is ${ownProto}`);
    } else {
      if (sentProto !== undefined && sentProto !== ownProto) ev(`numTrustedProxies 0: replaces the X-Forwarded-Proto ${JSON.stringify(clip(sentProto))} the client sent with ${ownProto}, the connection's own scheme`);
      headers['x-forwarded-proto'] = ownProto;
    }
    forwardedProto = headers['x-forwarded-proto'] as string;
    if (ctx.l7 === 'http') {
      // use_remote_address (every gateway): the connection manager appends the peer address to X-Forwarded-For before
      // any HTTP filter runs, so CUSTOM, JWT, RBAC and the backend all see the appended value. Envoy joins the entries
      // with a bare ",". It reads the trusted client address (remoteIp, above) from the header as the client sent it.
      // Every request is external to it (Envoy no longer counts RFC 1918 peers as internal unless
      // internal_address_config says so, and Istio leaves that unset), so it also sets x-envoy-external-address to that
      // client address, replacing any the client sent.
      const appended = xff ? `${xff},${sourceIp}` : sourceIp;
      headers['x-forwarded-for'] = appended;
      const sentExternal = headers['x-envoy-external-address'];
      headers['x-envoy-external-address'] = remoteIp;
      const did = xff ? `appends the peer ${sourceIp} to the client's X-Forwarded-For (now ${JSON.stringify(clip(appended))})` : `writes X-Forwarded-For ${sourceIp}, the peer (the client sent none),`;
      ev(`use_remote_address: before the filters run, ${did} and sets x-envoy-external-address ${remoteIp}${sentExternal !== undefined && sentExternal !== remoteIp ? ` in place of the ${JSON.stringify(clip(sentExternal))} the client sent` : ''}`);
      // the same pass removes what no outside client may set: an edge request (use_remote_address, nothing internal)
      // loses the x-envoy-* controls, edge-only ones included, before CUSTOM, JWT, RBAC, the router and the backend
      const s = sanitizeRequestHeaders(headers, 'gateway', leg.protocol === 'http');
      const line = sanitizedLine(s, 'every request is external to a gateway (use_remote_address, no internal_address_config)');
      if (line !== null) ev(line);
    }
    return proxyFilters(ctx, gw, 'gateway', {
      peerPrincipal, mtls, sourceIp, remoteIp, headers,
      destinationPort: route.targetPort, sni: clientSni ?? httpsSni,
    });
  };
  if (onPort.length === 0) {
    ev(`no Gateway server of ${gw.id} listens on port ${servicePort}`);
    return fail(ctx, 0, null, { control: 'Gateway', name: null, reason: `no Gateway selecting ${gw.name} has a server on port ${servicePort}: connection refused` });
  }
  // A plain HTTP server is chosen by port; TLS servers by SNI.
  const plainHttp = onPort.some(({ s }) => serverMode(s) === 'http');
  // AUTO_PASSTHROUGH (§9): a chain per cluster, matched by its exact name as SNI and Istio's mTLS ALPNs, which beats
  // every wildcard chain of the port. A client's own TLS client with a certificate offers ALPN istio (as at a
  // sidecar); a client sidecar's Istio mTLS names the cluster it dialled, the gateway's own Service.
  const istioAlpn = (leg.identity !== undefined && leg.identity.kind !== 'none') || (leg.proxy && tls.kind === 'istio');
  const autoSni = clientSni;
  // Envoy commits to the most specific server name first and never falls back from it: an SNI that is the name of an
  // AUTO_PASSTHROUGH chain takes that chain or nothing (without Istio's ALPN, nothing); other SNIs never reach one.
  const autoWhy = autoPassthroughMiss(mesh, gw, autoSni, true);
  if (!plainHttp && typeof autoWhy !== 'string') {
    const auto = autoPassthroughServer(gws, { servicePort, targetPort: route.targetPort }, autoWhy.host);
    if (auto && istioAlpn) return autoPassthrough(ctx, route, tls, auto, autoWhy, autoSni as string);
    if (auto) {
      const autoName = `${auto.gateway.meta.namespace}/${auto.gateway.meta.name}`;
      recordHop(run, leg, gw.id, route.targetPort, hopProtection(leg, tls));
      ev(`SNI ${autoSni ?? ''} is the name of a filter chain of AUTO_PASSTHROUGH server ${auto.index}, which takes only Istio's mTLS ALPNs: the client hello offers none, and Envoy does not fall back to a less specific chain; the connection is reset`);
      return fail(ctx, 0, null, { control: 'Gateway', name: autoName, reason: `server ${auto.index} on port ${auto.server.port.number} is AUTO_PASSTHROUGH: its chain for ${autoSni ?? ''} takes only Istio mTLS, and ${autoPassthroughMiss(mesh, gw, autoSni, false) as string}` });
    }
  }
  // A TLS port: the filter chain of the most specific SNI — a terminating server's host, a PASSTHROUGH tls route's
  // sniHost (not narrowed to its server's hosts), a chain without names last; none: Envoy resets the connection.
  const chain: TlsChain | null = plainHttp ? null : selectTlsChain(tlsChains(gws, mesh.virtualServices, { servicePort, targetPort: route.targetPort }, gw.namespace), sniOrHost);
  const sel: ServerSelection | null = plainHttp ? selectServer(gws, { servicePort, targetPort: route.targetPort }, authorityHost)
    : chain !== null ? { ...chain.server, routeServers: chain.routeServers } : null;
  // for the message only: an AUTO_PASSTHROUGH server whose hosts the name falls under (its hosts make no chain of their own)
  const autoByHosts = sel === null && !plainHttp ? selectServer(gws, { servicePort, targetPort: route.targetPort }, sniOrHost) : null;
  const byHosts = autoByHosts !== null && serverMode(autoByHosts.server) === 'auto-passthrough' ? autoByHosts : null;
  if (!sel) {
    const gwName = onPort[0] ? `${onPort[0].g.meta.namespace}/${onPort[0].g.meta.name}` : null;
    if (plainHttp && isHttp(leg.protocol)) {
      recordHop(run, leg, gw.id, route.targetPort, hopProtection(leg, tls));
      // The router answers 404 for a host no virtual host serves; the filters before it run first.
      ctx.l7 = 'http';
      const f = gatewayFilters(false, null, null, false);
      if ('outcome' in f) return f;
      ev(`no server host matches ${authorityHost}: 404 NR`);
      return fail(ctx, 404, false, { control: 'Gateway', name: gwName, reason: `no Gateway server on port ${servicePort} serves host ${authorityHost}` }, 'NR');
    }
    if (byHosts !== null) {
      // the SNI falls under an AUTO_PASSTHROUGH server's hosts, whose chains are per cluster only
      const why = typeof autoWhy === 'string' ? autoWhy : `no AUTO_PASSTHROUGH server covers ${autoWhy.host}`;
      const autoName = `${byHosts.gateway.meta.namespace}/${byHosts.gateway.meta.name}`;
      ev(`server ${byHosts.index} is AUTO_PASSTHROUGH: its hosts make no filter chain of their own, and none of its per-cluster chains matches (${why}); the connection is reset`);
      return fail(ctx, 0, null, { control: 'Gateway', name: autoName, reason: `server ${byHosts.index} on port ${byHosts.server.port.number} is AUTO_PASSTHROUGH, whose filter chains take only Istio mTLS whose SNI names a cluster of the gateway (outbound_.<port>_.<subset>_.<host>): ${why}` });
    }
    ev(`no filter chain matches SNI ${JSON.stringify(clip(sniOrHost))}: the connection is reset`);
    return fail(ctx, 0, null, { control: 'Gateway', name: gwName, reason: `no Gateway server on port ${servicePort} serves ${clip(sniOrHost)}` });
  }
  const gwName = `${sel.gateway.meta.namespace}/${sel.gateway.meta.name}`;
  const mode = serverMode(sel.server);
  const tlsMode = sel.server.tls?.mode;

  // On the wire (wire.ts): a client outside the mesh doing TLS to a server that terminates it is protected by the Gateway.
  const terminates = (mode === 'https' || mode === 'tls-terminate') && !leg.proxy && clientTlsToGw && leg.protocol !== 'tls';
  recordHop(run, leg, gw.id, route.targetPort, terminates
    ? { control: 'Gateway', name: gwName, reason: `server ${sel.index} terminates the client's TLS (${tlsMode ?? 'SIMPLE'})` }
    : hopProtection(leg, tls));
  ev(`Gateway ${gwName} server ${sel.index} (port ${sel.server.port.number} ${sel.server.port.protocol}${mode === 'http' ? (sel.server.tls?.httpsRedirect ? ', tls.httpsRedirect' : '') : tlsMode ? `, tls ${tlsMode}` : ''}) takes the connection`);

  // TLS at the gateway (§9).
  let mtls = false;
  let peerPrincipal: string | null = null;
  if (mode === 'http') {
    if (clientTlsToGw && leg.protocol === 'tls') {
      return fail(ctx, 0, null, { control: 'Gateway', name: gwName, reason: `server ${sel.index} speaks plain HTTP; a TLS client gets a protocol error` });
    }
  } else {
    if (!clientTlsToGw) {
      ev('the client speaks plaintext to a TLS server: the handshake fails');
      return fail(ctx, 0, null, { control: 'Gateway', name: gwName, reason: `server ${sel.index} on port ${sel.server.port.number} requires TLS (${tlsMode ?? 'PASSTHROUGH'}) and the client sent plaintext` });
    }
    if (tlsMode === 'MUTUAL' && leg.intent !== 'mtls') {
      ev('MUTUAL: the client presents no certificate: handshake alert "certificate required"');
      return fail(ctx, 0, null, { control: 'Gateway', name: gwName, reason: `server ${sel.index} is MUTUAL TLS and the client presented no certificate` });
    }
    const own = leg.identity && leg.identity.kind !== 'none' ? leg.identity : null;
    if (own && (tlsMode === 'MUTUAL' || tlsMode === 'OPTIONAL_MUTUAL')) {
      // [inf] a MUTUAL server trusts the CA of its credentialName, which is not the mesh CA (nor the forger's).
      // OPTIONAL_MUTUAL asks for a certificate too and validates one that is presented: only its absence is allowed.
      ev(`${tlsMode}: the server asks for a client certificate; the ${own.kind === 'forged-cert' ? 'forged' : 'stolen'} certificate for ${own.spiffe} is presented and is not issued by the CA of the server's credentialName: handshake alert "unknown ca"`);
      return fail(ctx, 0, null, { control: 'Gateway', name: gwName, reason: `server ${sel.index} is ${tlsMode === 'MUTUAL' ? 'MUTUAL' : 'OPTIONAL_MUTUAL'} TLS and verifies ${tlsMode === 'MUTUAL' ? '' : 'a presented '}client certificate${tlsMode === 'MUTUAL' ? 's' : ''} against the CA of its credentialName; the ${own.kind === 'forged-cert' ? 'forged' : 'stolen mesh'} certificate for ${own.spiffe} does not chain to it` });
    }
    if (own && tlsMode === 'ISTIO_MUTUAL') {
      if (own.kind === 'forged-cert') {
        ev(`ISTIO_MUTUAL: the certificate for ${own.spiffe} does not chain to the mesh root: handshake alert "unknown ca"`);
        return fail(ctx, 0, null, { control: 'Gateway', name: gwName, reason: `server ${sel.index} is ISTIO_MUTUAL and accepts only certificates signed by the mesh CA; the certificate for ${own.spiffe} comes from a CA the mesh does not trust, so the handshake fails` });
      }
      if (own.problem !== null) return stolenExpired(ctx, own, 'gateway');
      const certStop = certificates(ctx, [[gw, 'server']]);
      if (certStop) return certStop;
      mtls = true;
      peerPrincipal = own.spiffe.slice('spiffe://'.length);
      run.ownCertAccepted = { by: gw.id, principal: peerPrincipal };
      ev(`ISTIO_MUTUAL: accepts the mesh-signed certificate ${own.spiffe} (taken from ${own.from}); nothing tells it who holds the key`);
    } else if (own && mode === 'https') {
      ev(`server ${sel.index} is ${tlsMode ?? 'SIMPLE'} TLS: it asks for no client certificate, so the ${own.kind === 'forged-cert' ? 'forged' : 'stolen'} certificate is never presented and the request carries no peer identity`);
    } else if (tlsMode === 'ISTIO_MUTUAL') {
      if (!(leg.proxy && tls.kind === 'istio' && leg.client)) {
        return fail(ctx, leg.proxy ? 503 : 0, null, { control: 'Gateway', name: gwName, reason: `server ${sel.index} is ISTIO_MUTUAL and the client did not originate Istio mTLS${tls.why ? ` (${tls.why})` : ''}` }, leg.proxy ? 'UF,URX' : undefined);
      }
      const certStop = certificates(ctx, [[leg.client, 'client'], [gw, 'server']]);
      if (certStop) return certStop;
      mtls = true;
      peerPrincipal = principalOf(mesh.config.trustDomain, leg.client.namespace, leg.client.serviceAccount);
      ev(`ISTIO_MUTUAL: client ${spiffeId(peerPrincipal)} authenticated`);
    } else if ((tlsMode === 'MUTUAL' || tlsMode === 'OPTIONAL_MUTUAL') && leg.intent === 'mtls' && !leg.proxy) {
      // the client's own certificate, issued by the CA the server's credentialName trusts: the connection is mutual
      // TLS for the connection manager (XFCC), though no SPIFFE identity comes of it for AuthorizationPolicy
      clientCert = true;
      ev(`${tlsMode}: the client presents a certificate issued by the CA of the server's credentialName, and the handshake completes`);
    }
  }

  const httpMode = mode === 'http' || mode === 'https';
  ctx.l7 = httpMode && isHttp(leg.protocol) ? 'http' : 'tcp';
  const filters = gatewayFilters(mtls, peerPrincipal, mode === 'https' ? authorityHost : null, mode === 'https');
  if ('outcome' in filters) return filters;
  // httpsRedirect is the virtual host's require_tls (Istio sets ALL): the router answers it, after the filters (JWT,
  // RBAC) ran, unless X-Forwarded-Proto is exactly https, which it can only be here when numTrustedProxies kept the client's.
  const redirect = mode === 'http' && isHttp(leg.protocol) ? httpsRedirect(mesh.virtualServices, sel.routeServers, gw.namespace, authorityHost, filters.path) : null;
  if (redirect && forwardedProto === 'https') {
    ev(`httpsRedirect: the virtual host requires TLS (require_tls ALL), but X-Forwarded-Proto is https (the client's, kept because numTrustedProxies trusts it): no 301, the request is routed`);
  } else if (redirect) {
    ev(`httpsRedirect: answers 301 Location ${redirect.location}`);
    const d = fail(ctx, 301, false, { control: 'Gateway', name: gwName, reason: `server ${sel.index} has tls.httpsRedirect: plain HTTP gets a 301 to ${redirect.location}` });
    d.response = { status: 301, headers: { location: redirect.location }, body: '' };
    return d;
  }

  const pick = run.opts.pick ?? (() => 0);
  const base = { gateway: gwName, gatewayNamespace: gw.namespace, port: sel.server.port.number, sourceLabels: gw.labels, servers: sel.routeServers };
  let next: { host: string; port: number | undefined; subset?: string } | null = null;
  const nextLeg: Leg = {
    client: gw, clientIp: gw.ip, proxy: true, viaGateway: true,
    target: { kind: 'host', host: '', port: 0 }, protocol: leg.protocol, method: leg.method, path: filters.path,
    headers: { ...filters.headers }, sni: leg.sni, intent: 'auto', depth: leg.depth + 1,
  };
  if (ctx.l7 === 'http') {
    const r = routeHttp(mesh.virtualServices, { ...base, host: authorityHost, authority: legAuthority(leg), path: filters.path, method: leg.method, headers: filters.headers, tls: mode === 'https' }, pick);
    if (r.kind === 'no-route' || r.kind === 'default') {
      const reason = r.reason;
      ev(`${reason}: 404 NR`);
      return fail(ctx, 404, mtls, { control: 'VirtualService', name: null, reason: `no VirtualService bound to ${gwName} routes ${authorityHost}${filters.path.split('?')[0]}: ${reason}` }, 'NR');
    }
    if (r.kind === 'redirect' || r.kind === 'direct') {
      ev(`VirtualService ${r.vs}${r.via ? ` (${r.via})` : ''} answers ${r.status}`);
      const d: Decision = { outcome: r.status < 400 ? 'allowed' : 'blocked', code: r.status, mtls, stoppedBy: r.status < 400 ? [] : [{ control: 'VirtualService', name: r.vs, reason: `route ${r.route}${r.via ? ` (${r.via})` : ''} answers ${r.status}` }], events: run.events };
      d.response = { status: r.status, headers: r.kind === 'redirect' ? { location: r.location } : {}, body: r.kind === 'direct' ? r.body : '' };
      return d;
    }
    ev(`VirtualService ${r.vs} route ${r.route}${r.via ? ` (${r.via})` : ''} → ${r.destination.host}${r.destination.port ? `:${r.destination.port}` : ''}${r.destination.subset ? ` subset ${r.destination.subset}` : ''}`);
    if (r.timeoutMs !== undefined || r.retries !== undefined) {
      // not silently: the simulation applies a route's timeout and retries at a client sidecar only (sim/mesh/world.ts)
      ev(`route ${r.route} sets ${[r.timeoutMs !== undefined ? `a ${r.timeoutMs} ms timeout` : '', r.retries !== undefined ? 'retries' : ''].filter(Boolean).join(' and ')}: the gateway applies them, but meshrange does not simulate a gateway's timeouts and retries over time`);
    }
    next = { host: r.destination.host, port: r.destination.port, ...(r.destination.subset ? { subset: r.destination.subset } : {}) };
    if (r.rewrite?.uri !== undefined) nextLeg.path = r.rewrite.uri;
    if (r.rewrite?.authority !== undefined) nextLeg.headers['host'] = r.rewrite.authority;
    // X-Forwarded-For, x-envoy-external-address and X-Forwarded-Proto are already as the connection manager left them
    // (gatewayFilters): the backend sees what the gateway's filters saw.
  } else {
    // a PASSTHROUGH server's chains are its tls routes' (tlsChains): the chain taken names the route
    const r = mode === 'tls-passthrough'
      ? (chain?.vs !== undefined && chain.route !== undefined ? routeTlsChain({ ...chain, vs: chain.vs, route: chain.route }, pick)
        : { kind: 'no-route' as const, reason: `no tls route of a VirtualService bound to ${gwName} matches SNI ${clip(sniOrHost)}` })
      : routeTcp(mesh.virtualServices, base, pick);
    if (r.kind !== 'route') {
      ev(`${r.reason}: the connection is closed`);
      return fail(ctx, 0, mtls, { control: 'VirtualService', name: null, reason: `no ${mode === 'tls-passthrough' ? 'tls' : 'tcp'} route of a VirtualService bound to ${gwName} matches: ${r.reason}` });
    }
    ev(`VirtualService ${r.vs} ${mode === 'tls-passthrough' ? 'tls' : 'tcp'} route ${r.route} → ${r.destination.host}${r.destination.port ? `:${r.destination.port}` : ''}`);
    next = { host: r.destination.host, port: r.destination.port, ...(r.destination.subset ? { subset: r.destination.subset } : {}) };
    if (mode === 'tls-passthrough' && leg.protocol !== 'tls') { nextLeg.protocol = 'tls'; nextLeg.sni = leg.sni ?? authorityHost; }
  }
  const svc = meshIndex(mesh).services(next.host)[0];
  const port = next.port ?? (svc && svc.ports.length === 1 ? svc.ports[0]?.port : undefined) ?? sel.server.port.number;
  nextLeg.target = { kind: 'host', host: next.host, port };
  if (next.subset) nextLeg.subset = next.subset;
  const after = run.send(nextLeg);
  // An HTTP gateway answers for a failed upstream with 503; TCP/TLS passthrough just closes.
  if (after.outcome === 'blocked' && ctx.l7 === 'http' && isHttp(leg.protocol) && (after.code === 0 || after.code === null)) {
    after.code = 503;
    after.flags = after.flags ?? 'UF';
    after.response = { status: 503, headers: {}, body: 'upstream connect error or disconnect/reset before headers' };
  }
  return after;
}

/** The trace line for what the connection manager removed before the filters (null: nothing); client values quoted and cut. */
function sanitizedLine(s: Sanitized, why: string): string | null {
  const parts: string[] = [];
  if (s.dropped.length > 0) {
    const shown = s.dropped.slice(0, 8).map((d) => `${d.name} ${quoted(d.value)}`).join(', ');
    const more = s.dropped.length > 8 ? ` and ${s.dropped.length - 8} more` : '';
    parts.push(`before the filters run, the connection manager removes the client's ${shown}${more}`);
  }
  if (s.te !== null) parts.push(`${parts.length > 0 ? 'and ' : 'before the filters run, the connection manager '}rewrites TE ${quoted(s.te)} to "trailers"`);
  if (parts.length === 0) return null;
  const kept = s.keptEdgeOnly.length > 0 ? `; it keeps ${s.keptEdgeOnly.join(', ')}, which only an edge proxy removes` : '';
  return `${parts.join(' ')} (${why})${kept}`;
}

/** A client-given name cut for a message. */
const clip = (s: string): string => (s.length > 120 ? `${s.slice(0, 120)}…` : s);
/** A user-given string quoted and cut for a message. */
const quoted = (s: string): string => JSON.stringify(clip(s));

/** The cluster an AUTO_PASSTHROUGH SNI names, when the gateway has it (a Service's or a MESH_INTERNAL ServiceEntry's); else why no chain can match. */
type AutoCluster = { host: string; port: number; subset: string } & ({ kind: 'service'; service: Service } | { kind: 'entry'; entry: ServiceEntry });

function autoPassthroughMiss(mesh: Mesh, gw: Workload, sni: string | null, istioAlpn: boolean): AutoCluster | string {
  if (!istioAlpn) return 'the client hello offers no Istio mTLS ALPN (meshrange\'s attacker offers it with a certificate: impersonate using stolen-cert or forged-cert; a client sidecar with its Istio mTLS)';
  if (sni === null) return 'the client hello carries no SNI';
  const c = parseClusterSni(sni);
  if (c === null) return `the SNI ${JSON.stringify(clip(sni))} is not the name of a cluster (outbound_.<port>_.<subset>_.<host>)`;
  const service = meshIndex(mesh).services(c.host).find((s) => {
    const e = serviceExportTo(s);
    return e.length === 0 || e.some((x) => x === '*' || x === gw.namespace || (x === '.' && s.namespace === gw.namespace));
  });
  // builtAutoPassthroughFilterChains walks every service of the gateway's scope, Kubernetes Services and ServiceEntry
  // hosts alike, and skips only MESH_EXTERNAL ones; a chain (and cluster) per exact hostname and port that is not UDP
  let found: { kind: 'service'; service: Service; namespace: string; ports: { port: number; udp: boolean }[] }
    | { kind: 'entry'; entry: ServiceEntry; namespace: string; ports: { port: number; udp: boolean }[] } | null = null;
  if (service) found = { kind: 'service', service, namespace: service.namespace, ports: service.ports.map((p) => ({ port: p.port, udp: p.protocol.toUpperCase() === 'UDP' })) };
  else {
    const entries = mesh.serviceEntries.filter((se) => se.hosts.includes(c.host) && exported(se.exportTo, se.meta.namespace, gw.namespace));
    const internal = entries.find((se) => se.location === 'MESH_INTERNAL');
    const ext = entries[0];
    if (internal === undefined && ext !== undefined) {
      return `${c.host} is a host of ServiceEntry ${ext.meta.namespace}/${ext.meta.name}, which is MESH_EXTERNAL: Istio builds AUTO_PASSTHROUGH chains only for services inside the mesh (Services and MESH_INTERNAL entries)`;
    }
    if (internal !== undefined) found = { kind: 'entry', entry: internal, namespace: internal.meta.namespace, ports: internal.ports.map((p) => ({ port: p.number, udp: p.protocol === 'UDP' })) };
  }
  if (found === null) return `${c.host} is neither a Service nor a MESH_INTERNAL ServiceEntry host visible to ${gw.namespace}`;
  const what = found.kind === 'service' ? `Service ${found.service.fqdn}` : `ServiceEntry ${found.entry.meta.namespace}/${found.entry.meta.name}`;
  if (!found.ports.some((p) => p.port === c.port && !p.udp)) return `${what} has no TCP port ${c.port}`;
  if (c.subset !== '') {
    const dr = findDestinationRule(mesh, gw.namespace, gw.labels, c.host, found.namespace);
    if (!dr?.rule.subsets.some((x) => x.name === c.subset)) return `no DestinationRule the gateway reads for ${c.host} defines subset ${c.subset}`;
  }
  return found.kind === 'service' ? { kind: 'service', service: found.service, host: found.service.fqdn, port: c.port, subset: c.subset }
    : { kind: 'entry', entry: found.entry, host: c.host, port: c.port, subset: c.subset };
}

/** One endpoint of a ServiceEntry's cluster as EDS lists it: a pod meshrange knows, or an address (a VM, a Service's address or name). */
type EntryEndpoint = { labels: Readonly<Record<string, string>>; port: number; istio: boolean; why: string }
  & ({ kind: 'pod'; workload: Workload } | { kind: 'address'; address: string });

/**
 * The endpoints of a MESH_INTERNAL ServiceEntry's AUTO_PASSTHROUGH cluster that EDS keeps (endpoint_builder: the
 * SNI-DNAT cluster lists only endpoints it marks with Istio's tlsMode, mtls_checker). An endpoint's own tlsMode is its
 * `security.istio.io/tlsMode` label, else `istio` when it names a serviceAccount (getTLSModeFromWorkloadEntry); a pod a
 * workloadSelector picks carries the label with its sidecar. A DestinationRule mode for the port decides for all;
 * else the endpoint's own mode, and for a pod a PeerAuthentication that is not DISABLE on its port.
 */
function entryEndpoints(mesh: Mesh, gw: Workload, c: AutoCluster & { kind: 'entry' }): { kept: EntryEndpoint[]; left: EntryEndpoint[]; drWhy: string | null } {
  const se = c.entry;
  const sePort = se.ports.find((p) => p.number === c.port);
  const all: EntryEndpoint[] = [];
  if (se.workloadSelector !== null) {
    const sel = se.workloadSelector;
    for (const w of mesh.workloads) {
      if (w.namespace !== se.meta.namespace || !selectorMatches(sel, w.labels)) continue;
      all.push({ kind: 'pod', workload: w, labels: w.labels, port: sePort?.targetPort ?? c.port, istio: w.sidecar, why: w.sidecar ? 'its sidecar' : 'no sidecar' });
    }
  }
  {
    const index = meshIndex(mesh);
    // a workloadSelector's endpoints are its pods and the WorkloadEntries it selects; else the inline endpoints
    for (const ep of se.workloadSelector !== null ? selectedWorkloadEntries(mesh, se) : se.endpoints) {
      if (ep.address.startsWith('unix://')) continue;
      const label = ep.labels !== undefined ? ownValue(ep.labels, 'security.istio.io/tlsMode') : undefined;
      const istio = label !== undefined ? label === 'istio' : ep.serviceAccount !== undefined;
      const why = label !== undefined ? `label security.istio.io/tlsMode ${quoted(label)}` : ep.serviceAccount !== undefined ? `serviceAccount ${quoted(ep.serviceAccount)}` : 'no tlsMode label and no serviceAccount';
      const port = (sePort && ep.ports !== undefined ? ownValue(ep.ports, sePort.name) : undefined) ?? sePort?.targetPort ?? c.port;
      const ip = parseIp(ep.address) !== null;
      // EDS (STATIC, NONE at a gateway) drops an endpoint whose address is not an IP
      if (!ip && se.resolution !== 'DNS' && se.resolution !== 'DNS_ROUND_ROBIN') continue;
      const pod = ip ? index.workloadAt(ep.address) : undefined;
      all.push(pod ? { kind: 'pod', workload: pod, labels: ep.labels ?? {}, port, istio, why } : { kind: 'address', address: ep.address, labels: ep.labels ?? {}, port, istio, why });
    }
  }
  let eps = all;
  const dr = findDestinationRule(mesh, gw.namespace, gw.labels, c.host, se.meta.namespace);
  if (c.subset !== '') {
    const subset = dr?.rule.subsets.find((s) => s.name === c.subset);
    if (subset) eps = eps.filter((e) => Object.entries(subset.labels).every(([k, v]) => ownValue(e.labels, k) === v));
  }
  const epDr = dr ? endpointTlsMode(dr.rule, c.port, c.subset || undefined) : null;
  const keeps = (e: EntryEndpoint): boolean => {
    if (epDr !== null) return epDr.mode === 'ISTIO_MUTUAL';
    if (!e.istio) return false;
    return e.kind !== 'pod' || effectiveMtls(mesh, e.workload, e.port).mode !== 'DISABLE';
  };
  const drWhy = epDr !== null && dr ? `DestinationRule ${dr.rule.meta.namespace}/${dr.rule.meta.name} (${epDr.from} tls.mode ${epDr.mode}) ${epDr.mode === 'ISTIO_MUTUAL' ? 'keeps' : 'strips'} Istio's tlsMode on every endpoint` : null;
  return { kept: eps.filter(keeps), left: eps.filter((e) => !keeps(e)), drWhy };
}

const endpointName = (e: EntryEndpoint): string => (e.kind === 'pod' ? `pod ${e.workload.id}` : quoted(e.address));

/**
 * §9 AUTO_PASSTHROUGH (builtAutoPassthroughFilterChains): no VirtualService, no TLS termination, and no
 * authorization filters (Istio builds these chains without them). The chain of the cluster the SNI names forwards the
 * bytes to that cluster's endpoints — those EDS keeps with Istio's tlsMode (decide.ts meshEndpointsOnly for a
 * Service, entryEndpoints for a MESH_INTERNAL ServiceEntry). The client's own TLS goes through untouched, so the
 * destination's sidecar terminates it and sees the client's certificate: a stolen one works from wherever the
 * gateway's port is reachable, and NetworkPolicy sees the gateway pod as the source. Istio builds the clusters
 * whenever a gateway has an AUTO_PASSTHROUGH server (no router mode needed).
 */
function autoPassthrough(ctx: Ctx, route: InboundRoute, tls: ClientTls, sel: ServerSelection, c: AutoCluster, sni: string): Decision {
  const { run, leg } = ctx;
  const gw = route.endpoint;
  const gwName = `${sel.gateway.meta.namespace}/${sel.gateway.meta.name}`;
  const ev = (what: string): void => { run.events.push({ hop: 'gateway', what }); };
  recordHop(run, leg, gw.id, route.targetPort, hopProtection(leg, tls));
  const what = c.kind === 'service' ? c.service.fqdn : `${c.host} (ServiceEntry ${c.entry.meta.namespace}/${c.entry.meta.name}, MESH_INTERNAL)`;
  ev(`Gateway ${gwName} server ${sel.index} (port ${sel.server.port.number} ${sel.server.port.protocol}, tls AUTO_PASSTHROUGH) takes the connection: SNI ${sni} names the cluster of ${what} port ${c.port}${c.subset ? ` subset ${c.subset}` : ''}; no VirtualService is read and TLS is not terminated`);
  // no authorization filters on these chains: Istio builds them with a listener builder that has none (gateway.go)
  ctx.l7 = 'tcp';
  ev(`no AuthorizationPolicy runs here: Istio builds AUTO_PASSTHROUGH chains without authorization filters, and the gateway sees no certificate`);
  const base = {
    client: gw, clientIp: gw.ip, proxy: false, viaGateway: true, protocol: leg.protocol, method: leg.method, path: leg.path,
    headers: { ...leg.headers }, sni, intent: 'auto' as const, depth: leg.depth + 1,
  };
  if (c.kind === 'service') {
    const nextLeg: Leg = { ...base, target: { kind: 'host', host: c.service.fqdn, port: c.port }, meshEndpointsOnly: true };
    if (leg.identity) nextLeg.identity = leg.identity;
    if (c.subset) nextLeg.subset = c.subset;
    return run.send(nextLeg);
  }
  const seName = `${c.entry.meta.namespace}/${c.entry.meta.name}`;
  const { kept, left, drWhy } = entryEndpoints(run.mesh, gw, c);
  if (left.length > 0 && run.explain) {
    ev(`EDS keeps only the endpoints marked with Istio's tlsMode in an AUTO_PASSTHROUGH cluster (${drWhy ?? 'an endpoint\'s own tlsMode: its security.istio.io/tlsMode label, else istio with a serviceAccount; a pod also needs a PeerAuthentication that is not DISABLE on its port'}): ${left.map((e) => `${endpointName(e)} (${e.why})`).join(', ')} left out`);
  }
  const first = kept[0];
  if (first === undefined) {
    const why = drWhy ?? (left.length === 0 ? `it has no endpoint${c.subset ? ` in subset ${c.subset}` : ''} (no workloadSelector pod, no endpoint with an IP address${c.entry.resolution === 'DNS' || c.entry.resolution === 'DNS_ROUND_ROBIN' ? ' or a name' : ''})` : 'none carries Istio\'s tlsMode');
    ev(`ServiceEntry ${seName}'s cluster lists no endpoint: ${why}; the gateway closes the connection`);
    return fail(ctx, 0, null, { control: 'Routing', name: seName,
      reason: `no endpoint of ServiceEntry ${c.entry.meta.namespace}/${c.entry.meta.name}${c.subset ? ` in subset ${c.subset}` : ''} carries Istio's tlsMode (${why}), and an AUTO_PASSTHROUGH gateway's cluster lists only those that do: no healthy upstream` }, 'UH');
  }
  if (first.kind === 'pod') {
    ev(`ServiceEntry ${seName} sends it to its endpoint, pod ${first.workload.id} port ${first.port} (${first.why})`);
    const nextLeg: Leg = { ...base, target: { kind: 'pod', workload: first.workload, port: first.port } };
    if (leg.identity) nextLeg.identity = leg.identity;
    return run.send(nextLeg);
  }
  // an address meshrange has no pod for: a VM (WorkloadEntry-like) endpoint, or a Service's address or name
  const unmodelled = parseIp(first.address) !== null && !meshIndex(run.mesh).serviceAt(first.address);
  ev(`ServiceEntry ${seName} sends it to its endpoint ${quoted(first.address)} port ${first.port} (${first.why}); the client's mTLS goes through untouched${unmodelled ? ' to a workload meshrange does not model (a VM\'s sidecar)' : ''}`);
  const own = leg.identity !== undefined && leg.identity.kind !== 'none' ? leg.identity : null;
  if (unmodelled && own !== null) {
    // the endpoint carries Istio's tlsMode: a sidecar there takes ALPN istio on its mTLS chain, which accepts only
    // certificates the mesh CA signed (its PeerAuthentication and AuthorizationPolicy are not in the model)
    if (own.kind === 'forged-cert') {
      ev(`the endpoint's sidecar takes ALPN istio on its mTLS chain; the client certificate for ${own.spiffe} does not chain to the mesh root: handshake alert "unknown ca", connection closed`);
      return fail(ctx, 0, null, { control: 'PeerAuthentication', name: null,
        reason: `endpoint ${quoted(first.address)} of ServiceEntry ${seName} carries Istio's tlsMode, so its sidecar terminates the mTLS and accepts only client certificates signed by the mesh CA: the forged certificate for ${own.spiffe} fails the handshake` });
    }
    if (own.problem !== null) return stolenExpired(ctx, own, 'server-sidecar');
  }
  const nextLeg: Leg = { ...base, target: { kind: 'host', host: first.address, port: first.port } };
  if (leg.identity) nextLeg.identity = leg.identity;
  const d = run.send(nextLeg);
  if (unmodelled && d.outcome === 'allowed') {
    // what answers is the endpoint's sidecar, over the client's own Istio mTLS (EDS kept it for its tlsMode)
    d.mtls = true;
    if (own !== null && own.kind === 'stolen-cert') {
      // before the answer: the handshake comes first
      const at = run.events.findLastIndex((e) => e.hop === 'external');
      run.events.splice(at < 0 ? run.events.length : at, 0, { hop: 'external', what: `mTLS handshake: the endpoint's sidecar accepts the mesh-signed certificate ${own.spiffe} (taken from ${own.from}) and sees that identity; meshrange does not model that workload's own PeerAuthentication or AuthorizationPolicy` });
      d.peerPrincipal = own.spiffe.slice('spiffe://'.length);
    }
  }
  return d;
}

/**
 * The RequestAuthentications applying to a workload (requestAuthenticationsSelecting): once per (policy list, root
 * namespace, workload), not a selector check of every one at every request. Keyed by the list itself, so a mesh
 * given a new list gets new answers.
 */
const rasByList = new WeakMap<Mesh['requestAuthentications'], Map<string, WeakMap<Workload, ReturnType<typeof requestAuthenticationsSelecting>>>>();

function requestAuthenticationsOf(mesh: Mesh, w: Workload): ReturnType<typeof requestAuthenticationsSelecting> {
  const list = mesh.requestAuthentications;
  if (list.length === 0) return [];
  let byRoot = rasByList.get(list);
  if (byRoot === undefined) { byRoot = new Map(); rasByList.set(list, byRoot); }
  const root = mesh.config.rootNamespace;
  let byW = byRoot.get(root);
  if (byW === undefined) { byW = new WeakMap(); byRoot.set(root, byW); }
  let out = byW.get(w);
  if (out === undefined) { out = requestAuthenticationsSelecting(list, root, w); byW.set(w, out); }
  return out;
}
