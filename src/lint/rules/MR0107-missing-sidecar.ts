/**
 * MR0107 missing-sidecar — a workload without a sidecar in a namespace that is injected.
 *
 * Semantics (istio-semantics.md):
 * - §2 injection table: a namespace labelled istio-injection=enabled (or
 *   istio.io/rev without istio-injection) gets a sidecar in every pod, unless
 *   the pod opts out (label sidecar.istio.io/inject: "false") or uses the host
 *   network; loader/injection.ts decides it and records why.
 * - §2: a workload without a sidecar sends plaintext with no identity, and
 *   nothing enforces the PeerAuthentication, AuthorizationPolicy or
 *   RequestAuthentication that select it.
 * - §13 IST0103 PodMissingProxy is istioctl's version of this rule.
 * Rule: a non-gateway workload without a sidecar in an injected namespace.
 */
import { namespaceInjected, workloadSubject } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

export const rule: LintRule = {
  code: 'MR0107',
  name: 'missing-sidecar',
  severity: 'warning',
  title: 'A workload runs without a sidecar in a namespace where injection is on',
  help: 'A workload without a sidecar has no mesh identity, sends plaintext, and no PeerAuthentication, AuthorizationPolicy or RequestAuthentication '
    + 'is enforced on traffic to it. In an injected namespace this is usually an opt-out left behind. '
    + 'Fix: remove the sidecar.istio.io/inject: "false" label (or hostNetwork), and restart the pods so they are injected.',
  check(mesh) {
    const out: RawFinding[] = [];
    for (const w of mesh.workloads) {
      if (w.sidecar || w.gateway) continue;
      const ns = mesh.namespaces.get(w.namespace);
      if (!ns || !namespaceInjected(ns.labels)) continue;
      out.push({
        subject: workloadSubject(w),
        message: `${w.kind} ${w.id} has no sidecar although namespace ${w.namespace} is injected (${w.sidecarReason}): it has no mesh identity and no policy is enforced on traffic to it`,
        hint: w.hostNetwork ? 'run the pod without hostNetwork so it can be injected' : 'remove the sidecar.istio.io/inject: "false" label from the pod template and restart the pods',
      });
    }
    return out;
  },
};
