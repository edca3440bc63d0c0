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
import { ownValue } from '../core/record.js';
import type { Labels } from '../model/types.js';

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
