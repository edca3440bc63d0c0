/**
 * Traffic capture: which connections the pod's iptables rules hand to its
 * sidecar (istio-semantics §2, §3 client step 1; Istio
 * tools/istio-iptables/pkg/capture/run.go, set up by istio-init from the
 * `traffic.sidecar.istio.io/*` pod annotations, read in loader/injection.ts).
 * A connection the rules do not redirect never meets the sidecar.
 *
 * Rules, outbound (nat OUTPUT → ISTIO_OUTPUT, first match wins), for a
 * TCP connection the app opens to address A, port P (A is what the app
 * dialled: a Service's ClusterIP — a headless Service's pod IP —, a pod IP,
 * or an external address; P the port it dialled):
 *  O0. interceptionMode NONE: nothing is redirected.
 *  O1. P in excludeOutboundPorts → not redirected (before every other rule).
 *  O2. the process runs as the proxy's UID 1337 (or GID) → not redirected:
 *      the rule that keeps Envoy's own traffic from looping back to Envoy.
 *  O3. A in excludeOutboundIPRanges → not redirected.
 *  O4. P in includeOutboundPorts → redirected.
 *  O5. includeOutboundIPRanges `*` (the default) → redirected; A in a listed
 *      range → redirected; otherwise (also an empty list) → not redirected.
 * Rules, inbound (nat PREROUTING → ISTIO_INBOUND), for a connection to the
 * pod's port P (the container port the packets carry):
 *  I0. interceptionMode NONE: nothing is redirected.
 *  I1. includeInboundPorts `*` (the default) → redirected unless P is in
 *      excludeInboundPorts.
 *  I2. includeInboundPorts a list → redirected only if P is listed
 *      (excludeInboundPorts is not consulted); an empty value redirects nothing.
 * Consequences meshrange applies to every request, legitimate ones included:
 *  - outbound not redirected: no client sidecar — the app's bytes leave as
 *    they are (plaintext, no identity), with no egress policy, no
 *    VirtualService, no DestinationRule TLS; only NetworkPolicy remains;
 *  - inbound not redirected: the app receives the connection itself — no
 *    PeerAuthentication, no JWT, no AuthorizationPolicy, no rate limit. Auto
 *    mTLS does not know the port is excluded (Istio FAQ "Does Auto mTLS work
 *    for port exclusion?": no), so a sidecar client still sends Istio mTLS
 *    there and the app cannot answer the handshake, unless a DestinationRule
 *    sets tls.mode DISABLE.
 * Going around one's own sidecar (product.md §2, `bypass: true`): it works
 * when the client has no sidecar, when O0/O1/O3/O5 leave the destination
 * out, when the attacker runs as UID 1337 (`proxy-uid`, rule O2), as root
 * (who may take UID 1337, or rewrite the rules), or with NET_ADMIN (who
 * rewrites the pod's iptables rules). Otherwise the
 * connection is captured like any other. A client cannot go around another
 * pod's sidecar (the Security Best Practices boundary): the destination's
 * inbound rules always apply.
 */
import { cidrContains } from '../core/ip.js';
import type { SidecarCapture, Workload } from '../model/types.js';
import type { Capability } from './pipeline.js';

const DEFAULT_CAPTURE: SidecarCapture = {
  interceptionNone: false, includeInboundPorts: '*', excludeInboundPorts: [], includeOutboundPorts: [], excludeOutboundPorts: [],
  includeOutboundIPRanges: '*', excludeOutboundIPRanges: [],
};

const ANNOTATION = 'traffic.sidecar.istio.io/';

export interface CaptureVerdict {
  captured: boolean;
  /** the rule that decided, in words (annotation and value) */
  why: string;
}

export function captureOf(w: Workload): SidecarCapture {
  return w.capture ?? DEFAULT_CAPTURE;
}

/** Rules O0–O5 for the app's own processes (not UID 1337). */
export function outboundCapture(w: Workload, address: string, port: number): CaptureVerdict {
  const c = captureOf(w);
  if (c.interceptionNone) return { captured: false, why: 'sidecar.istio.io/interceptionMode is NONE: istio-init installs no redirect' };
  if (c.excludeOutboundPorts.includes(port)) return { captured: false, why: `${ANNOTATION}excludeOutboundPorts lists port ${port}` };
  const excluded = c.excludeOutboundIPRanges.find((r) => cidrContains(r.cidr, address));
  if (excluded) return { captured: false, why: `${ANNOTATION}excludeOutboundIPRanges ${excluded.text} holds ${address}` };
  if (c.includeOutboundPorts.includes(port)) return { captured: true, why: `${ANNOTATION}includeOutboundPorts lists port ${port}` };
  if (c.includeOutboundIPRanges === '*') return { captured: true, why: `${ANNOTATION}includeOutboundIPRanges is * (every address)` };
  const included = c.includeOutboundIPRanges.find((r) => cidrContains(r.cidr, address));
  if (included) return { captured: true, why: `${ANNOTATION}includeOutboundIPRanges ${included.text} holds ${address}` };
  const listed = c.includeOutboundIPRanges.map((r) => r.text).join(',');
  return { captured: false, why: `${ANNOTATION}includeOutboundIPRanges ${listed === '' ? 'is empty' : `(${listed}) does not hold ${address}`}` };
}

/** Rules I0–I2 for a connection arriving at the pod's port. */
export function inboundCapture(w: Workload, port: number): CaptureVerdict {
  const c = captureOf(w);
  if (c.interceptionNone) return { captured: false, why: 'sidecar.istio.io/interceptionMode is NONE: istio-init installs no redirect' };
  if (c.includeInboundPorts === '*') {
    if (c.excludeInboundPorts.includes(port)) return { captured: false, why: `${ANNOTATION}excludeInboundPorts lists port ${port}` };
    return { captured: true, why: `${ANNOTATION}includeInboundPorts is * (every port)` };
  }
  if (c.includeInboundPorts.includes(port)) return { captured: true, why: `${ANNOTATION}includeInboundPorts lists port ${port}` };
  const listed = c.includeInboundPorts.join(',');
  return { captured: false, why: `${ANNOTATION}includeInboundPorts ${listed === '' ? 'is empty' : `(${listed}) does not list port ${port}`}` };
}

/** True when the pod's capture differs from the injector's defaults (explanations mention capture only then). */
export function customCapture(w: Workload): boolean {
  return w.capture !== undefined;
}

export interface BypassVerdict {
  escapes: boolean;
  why: string;
}

const ESCAPES = 'plaintext, no identity, no egress policy, no DestinationRule TLS';

/**
 * `bypass: true` from a workload with a sidecar: does the attacker's
 * connection leave around it? `capture` is rule O0–O5's verdict for the
 * destination.
 */
export function bypassAttempt(w: Workload, capture: CaptureVerdict, capabilities: readonly Capability[]): BypassVerdict {
  if (!capture.captured) return { escapes: true, why: `the destination is excluded from capture (${capture.why}): the attacker's connection leaves around ${w.id}'s sidecar — ${ESCAPES}` };
  if (capabilities.includes('proxy-uid')) {
    return { escapes: true, why: `the attacker runs as UID 1337, the proxy's own user, which ${w.id}'s ISTIO_OUTPUT chain returns before any redirect: ${ESCAPES}` };
  }
  if (capabilities.includes('root')) {
    return { escapes: true, why: `as root the attacker can take UID 1337, the proxy's own user, which ${w.id}'s ISTIO_OUTPUT chain returns before any redirect (or rewrite the rules): ${ESCAPES}` };
  }
  if (capabilities.includes('net-admin')) {
    return { escapes: true, why: `with NET_ADMIN the attacker rewrites ${w.id}'s iptables rules and connects directly: ${ESCAPES}` };
  }
  return { escapes: false, why: `the bypass fails: ${w.id}'s iptables rules redirect this connection to its sidecar (${capture.why}) and the attacker has none of proxy-uid, root, net-admin; the request is captured as usual` };
}
