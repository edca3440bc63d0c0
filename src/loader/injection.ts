/**
 * Sidecar injection, as the default-revision webhook decides it
 * (istio-semantics §2):
 * - hostNetwork pods are never injected;
 * - namespace `istio-injection=enabled`: injected unless the pod label
 *   `sidecar.istio.io/inject` is "false" (the label wins over the legacy
 *   annotation; the annotation is read only once the webhook fired);
 * - namespace `istio-injection=disabled`: never;
 * - namespace `istio.io/rev=<rev>` (and no `istio-injection`): unless the pod label is "false";
 * - unlabeled namespace: only a pod label `sidecar.istio.io/inject: "true"` or a pod label
 *   `istio.io/rev` injects; an annotation alone does not.
 * Gateways (istio `ingressgateway`/`egressgateway` label, the `gateway` injection
 * template, or selected by a Gateway) are Envoys themselves: no sidecar, but a proxy.
 */
import { parseCidr } from '../core/ip.js';
import { ownValue } from '../core/record.js';
import type { CaptureRange, Labels, SidecarCapture } from '../model/types.js';

export interface InjectionDecision {
  sidecar: boolean;
  reason: string;
}

/** Namespaces the injector never touches. */
const IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage'];

/** inject.go reads the label/annotation case-insensitively: y, yes, true, on inject; any other value opts out. */
function injectValue(v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  return ['y', 'yes', 'true', 'on'].includes(v.toLowerCase());
}

export function decideInjection(nsName: string, nsLabels: Labels, podLabels: Labels, podAnnotations: Labels,
  hostNetwork: boolean): InjectionDecision {
  const podLabel = podLabels['sidecar.istio.io/inject'];
  const podAnno = podAnnotations['sidecar.istio.io/inject'];
  if (hostNetwork) return { sidecar: false, reason: 'hostNetwork pods are never injected' };
  if (IGNORED_NAMESPACES.includes(nsName)) return { sidecar: false, reason: `pods in ${nsName} are never injected` };
  const nsInjection = nsLabels['istio-injection'];
  const nsRev = nsLabels['istio.io/rev'];
  const webhookFired = (why: string): InjectionDecision => {
    const label = injectValue(podLabel);
    if (label === false) return { sidecar: false, reason: `${why}, but the pod label sidecar.istio.io/inject is "${podLabel}"` };
    if (label === undefined && injectValue(podAnno) === false) {
      return { sidecar: false, reason: `${why}, but the pod annotation sidecar.istio.io/inject is "${podAnno}"` };
    }
    return { sidecar: true, reason: why };
  };
  if (nsInjection === 'enabled') return webhookFired(`namespace ${nsName} has istio-injection=enabled`);
  if (nsInjection !== undefined) {
    return { sidecar: false, reason: `namespace ${nsName} has istio-injection=${nsInjection} (no webhook rule matches)` };
  }
  if (nsRev !== undefined) return webhookFired(`namespace ${nsName} has istio.io/rev=${nsRev}`);
  if (podLabel === 'true') return { sidecar: true, reason: 'the pod label sidecar.istio.io/inject is "true"' };
  if (podLabels['istio.io/rev'] !== undefined) {
    return { sidecar: true, reason: `the pod label istio.io/rev=${podLabels['istio.io/rev']} selects a revision` };
  }
  const extra = podAnno === 'true' ? ' (the annotation sidecar.istio.io/inject alone does not trigger the webhook)' : '';
  return { sidecar: false, reason: `namespace ${nsName} has no injection label and the pod does not opt in${extra}` };
}

export function isGatewayPod(podLabels: Labels, podAnnotations: Labels, gatewaySelectors: readonly Labels[]): boolean {
  const istio = podLabels['istio'];
  if (istio === 'ingressgateway' || istio === 'egressgateway') return true;
  if (podAnnotations['inject.istio.io/templates'] === 'gateway') return true;
  return gatewaySelectors.some((sel) => Object.keys(sel).length > 0
    && Object.entries(sel).every(([k, v]) => ownValue(podLabels, k) === v));
}

/*
 * Capture annotations (pod template), validated as the injector validates them
 * (Istio pkg/kube/inject/validate.go; an invalid value makes the webhook
 * refuse the pod, so Kubernetes never creates it — an error here):
 * - port lists (includeInboundPorts, excludeInboundPorts, excludeOutboundPorts):
 *   the whole value and each comma-separated item are trimmed; each item is a
 *   decimal integer 0-65535 (an empty item is invalid); an empty value means
 *   no ports. `*` is accepted only by includeInboundPorts (all ports).
 * - CIDR lists (includeOutboundIPRanges, excludeOutboundIPRanges): split on
 *   commas and NOT trimmed (`10.0.0.0/8, 10.1.0.0/16` is refused for its
 *   space); each item is an address/bits prefix (Go netip.ParsePrefix: a bare
 *   address, leading zeros and zones are refused). `*` is accepted only by
 *   includeOutboundIPRanges (all addresses).
 * - includeOutboundPorts is not checked by the injector, but istio-init hands
 *   each item to iptables, which refuses a bad port: the pod never starts — an
 *   error too.
 * - sidecar.istio.io/interceptionMode: REDIRECT, TPROXY (same capture) or NONE
 *   (no redirect at all).
 * Port 0 is accepted by the injector but matches no connection: a warning.
 * On a pod without a sidecar (or a gateway, whose template runs no istio-init)
 * the annotations change nothing: a warning. Other traffic.sidecar.istio.io/*
 * keys are not modeled: a warning.
 */

export const CAPTURE_PREFIX = 'traffic.sidecar.istio.io/';
const INTERCEPTION_MODE = 'sidecar.istio.io/interceptionMode';

/** Whether readCapture reads (and may report on) the annotation `key`. */
export const isCaptureAnnotation = (key: string): boolean => key.startsWith(CAPTURE_PREFIX) || key === INTERCEPTION_MODE;
const PORT_KEYS = ['includeInboundPorts', 'excludeInboundPorts', 'includeOutboundPorts', 'excludeOutboundPorts'] as const;
const RANGE_KEYS = ['includeOutboundIPRanges', 'excludeOutboundIPRanges'] as const;
const CAPTURE_KEYS: readonly string[] = [...PORT_KEYS, ...RANGE_KEYS].map((k) => `${CAPTURE_PREFIX}${k}`);

export interface CaptureProblem {
  /** the annotation key the problem is about */
  key: string;
  severity: 'error' | 'warning';
  code: string;
  message: string;
  hint: string;
}

const MAX_ITEM = 64;

function readPorts(key: string, value: string, wildcard: boolean, problems: CaptureProblem[], refusedBy: string): '*' | number[] | null {
  const v = value.trim();
  if (v === '*' && wildcard) return '*';
  if (v === '') return [];
  const out = new Set<number>();
  for (const raw of v.split(',')) {
    const item = raw.trim();
    if (item.length > MAX_ITEM || !/^\d+$/.test(item) || Number(item) > 65535) {
      problems.push({ key, severity: 'error', code: 'capture-annotation',
        message: `${refusedBy}: invalid value '${value.slice(0, 200)}' for annotation '${key}': '${item.slice(0, MAX_ITEM)}' is not a port 0-65535`,
        hint: `write a comma-separated list of ports${wildcard ? ', or *' : ''}, e.g. "5432,6379"` });
      return null;
    }
    const port = Number(item);
    if (port === 0) {
      problems.push({ key, severity: 'warning', code: 'capture-port-zero', message: `annotation '${key}' lists port 0, which no connection uses`,
        hint: 'remove 0 from the list' });
    }
    out.add(port);
  }
  return [...out];
}

/** Go netip.ParsePrefix, strictly: `addr/bits`, no leading zeros, no zone. */
function parsePrefix(text: string): CaptureRange | null {
  if (text.length > MAX_ITEM) return null;
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const addr = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(bits)) return null;
  if (!addr.includes(':') && !addr.split('.').every((o) => /^(0|[1-9]\d{0,2})$/.test(o))) return null;
  const cidr = parseCidr(text);
  return cidr ? { text, cidr } : null;
}

function readRanges(key: string, value: string, wildcard: boolean, problems: CaptureProblem[]): '*' | CaptureRange[] | null {
  if (value === '*' && wildcard) return '*';
  if (value === '') return [];
  const out: CaptureRange[] = [];
  for (const item of value.split(',')) {
    const r = parsePrefix(item);
    if (!r) {
      const spaced = item !== item.trim();
      problems.push({ key, severity: 'error', code: 'capture-annotation',
        message: `the sidecar injector refuses the pod: invalid value '${value.slice(0, 200)}' for annotation '${key}': '${item.slice(0, MAX_ITEM)}' is not a CIDR${spaced ? ' (the injector does not trim spaces)' : ''}`,
        hint: spaced ? 'remove the spaces around the commas' : `write comma-separated CIDRs such as "10.0.0.0/8,192.168.0.0/16"${wildcard ? ', or *' : ''} (a single address is 10.1.2.3/32)` });
      return null;
    }
    out.push(r);
  }
  return out;
}

/**
 * The pod's capture from its annotations, and what is wrong with them.
 * `sidecar`: the pod gets a sidecar (the only case where istio-init runs).
 * Returns `capture: undefined` when no annotation changes the defaults.
 */
export function readCapture(annotations: Labels, sidecar: boolean): { capture: SidecarCapture | undefined; problems: CaptureProblem[] } {
  const problems: CaptureProblem[] = [];
  const present = Object.keys(annotations).filter(isCaptureAnnotation).sort();
  if (present.length === 0) return { capture: undefined, problems };
  if (!sidecar) {
    for (const key of present) {
      problems.push({ key, severity: 'warning', code: 'capture-without-sidecar',
        message: `annotation '${key}' has no effect: the pod has no sidecar, so istio-init installs no capture rules`,
        hint: 'remove the annotation, or inject a sidecar' });
    }
    return { capture: undefined, problems };
  }
  const capture: SidecarCapture = {
    interceptionNone: false, includeInboundPorts: '*', excludeInboundPorts: [], includeOutboundPorts: [], excludeOutboundPorts: [],
    includeOutboundIPRanges: '*', excludeOutboundIPRanges: [],
  };
  for (const key of present) {
    const value = annotations[key] as string;
    const name = key.slice(CAPTURE_PREFIX.length);
    if (key === INTERCEPTION_MODE) {
      if (value === 'NONE') capture.interceptionNone = true;
      else if (value !== 'REDIRECT' && value !== 'TPROXY') {
        problems.push({ key, severity: 'error', code: 'capture-annotation',
          message: `the sidecar injector refuses the pod: invalid value '${value.slice(0, 200)}' for annotation '${key}': interceptionMode must be REDIRECT, TPROXY or NONE`,
          hint: 'write REDIRECT (the default), TPROXY or NONE' });
      }
    } else if (name === 'includeInboundPorts' || name === 'excludeInboundPorts' || name === 'excludeOutboundPorts' || name === 'includeOutboundPorts') {
      const refusedBy = name === 'includeOutboundPorts' ? 'istio-init fails to install the rule and the pod never starts' : 'the sidecar injector refuses the pod';
      const ports = readPorts(key, value, name === 'includeInboundPorts', problems, refusedBy);
      if (ports === null) continue;
      if (name === 'includeInboundPorts') capture.includeInboundPorts = ports;
      else if (ports !== '*') capture[name] = ports;
    } else if (name === 'includeOutboundIPRanges' || name === 'excludeOutboundIPRanges') {
      const ranges = readRanges(key, value, name === 'includeOutboundIPRanges', problems);
      if (ranges === null) continue;
      if (name === 'includeOutboundIPRanges') capture.includeOutboundIPRanges = ranges;
      else if (ranges !== '*') capture.excludeOutboundIPRanges = ranges;
    } else if (!CAPTURE_KEYS.includes(key)) {
      problems.push({ key, severity: 'warning', code: 'not-modeled',
        message: `annotation '${key}' is not modeled; its effect on capture is ignored`,
        hint: `meshrange models ${[...CAPTURE_KEYS, INTERCEPTION_MODE].join(', ')}` });
    }
  }
  return { capture, problems };
}
