/**
 * What a passive observer on the network sees of each hop of a request: the
 * record `sniff` reads (decide.ts and inbound.ts call `recordHop` when a
 * connection reaches the receiving side).
 *
 * Rules, each from istio-semantics.md:
 * - A proxied client's sidecar (or a gateway forwarding a request) encrypts
 *   the hop when its TLS decision (§5.2) is Istio mTLS — by auto mTLS, or by
 *   a DestinationRule `ISTIO_MUTUAL` — or TLS originated by a DestinationRule
 *   `SIMPLE`/`MUTUAL`. The app in between speaks plaintext to its own sidecar
 *   over the pod's loopback, which no observer outside the pod sees (§3: the
 *   redirect happens inside the pod's network namespace).
 * - A client without a sidecar, or one that goes around it, sends what the
 *   app sends: plaintext (§2, §5.3 row 1), unless the app speaks TLS itself
 *   (`protocol: tls`, which the proxies pass through untouched, §6.8).
 * - A client outside the mesh that does TLS to a Gateway server terminating
 *   TLS (`SIMPLE`/`MUTUAL`, §9) is protected by that Gateway; plain HTTP to a
 *   gateway's HTTP server crosses in clear (even when it only gets a 301).
 * - A hop is on the wire once the connection reaches the receiving side: a
 *   NetworkPolicy drop (§11) or a client-side refusal (REGISTRY_ONLY
 *   BlackHoleCluster, §8) puts no request bytes on the network, while a
 *   server that refuses plaintext (STRICT, §4) does so after the client's
 *   request already crossed.
 */
import type { ClientTls } from './decide.js';
import { isHttp, type Leg, type Run, type StoppedBy, type WireHop } from './pipeline.js';

/** The control that encrypts a hop the client (or its proxy) sends, or null for plaintext. */
export function hopProtection(leg: Leg, tls: ClientTls): StoppedBy | null {
  if (leg.protocol === 'tls') {
    return { control: 'AppTls', name: null, reason: `the app speaks TLS itself${leg.sni ? ` (SNI ${leg.sni})` : ''}; the proxies pass the encrypted stream through` };
  }
  if (!leg.proxy) {
    // the client's own TLS client with a certificate (an identity override): mTLS from the client's process, end to end
    if (leg.identity && leg.identity.kind !== 'none') return { control: 'AppTls', name: null, reason: `the client's own TLS client speaks mutual TLS with the certificate for ${leg.identity.spiffe}; the bytes are encrypted end to end` };
    return null;
  }
  const drName = tls.dr ? `${tls.dr.rule.meta.namespace}/${tls.dr.rule.meta.name}` : null;
  if (tls.kind === 'istio') {
    if (tls.dr && drName) return { control: 'DestinationRule', name: drName, reason: `tls.mode ISTIO_MUTUAL: the client's proxy originates Istio mTLS` };
    if (leg.intent === 'mtls') return { control: 'AutoMtls', name: null, reason: 'the client forces Istio mTLS with its own certificate' };
    return { control: 'AutoMtls', name: null, reason: 'auto mTLS: the client\'s proxy originates Istio mTLS to an endpoint with a sidecar (§5.2)' };
  }
  if (tls.kind === 'tls') return { control: 'DestinationRule', name: drName, reason: `tls.mode ${tls.mode}: the client's proxy originates TLS` };
  return null;
}

/** Records one hop that reached the receiving side. */
export function recordHop(run: Run, leg: Leg, to: string, port: number, protectedBy: StoppedBy | null): void {
  const hop: WireHop = { from: leg.client?.id ?? 'outside', to, port, protocol: leg.protocol, protectedBy };
  if (isHttp(leg.protocol)) hop.request = { method: leg.method, path: leg.path, headers: { ...leg.headers } };
  run.wire.push(hop);
}
