/**
 * MR0102 selects-nothing — a policy that applies to no workload protects nothing.
 *
 * Semantics (istio-semantics.md):
 * - §6.1 AuthorizationPolicy targeting: namespace + optional selector; root
 *   namespace = every namespace; `targetRefs` name a Gateway, GatewayClass,
 *   Service or ServiceEntry, and are never applied to sidecars.
 * - §7 RequestAuthentication: the same selection as §6.1.
 * - §4 PeerAuthentication: a workload-level policy selects pods of its own
 *   namespace; a selector policy in the root namespace is ignored.
 * - §13 IST0127 NoMatchingWorkloadsFound is istioctl's version of this for
 *   AuthorizationPolicy; this rule extends it to PeerAuthentication,
 *   RequestAuthentication and targetRefs (the loader's IST0127/SIM005 warnings
 *   stay as they are; lint reports them under this code).
 * Rule: a selector that matches no pod in the policy's scope; a namespace-wide
 * policy in a namespace with no workload; a targetRef whose target does not
 * exist in the mesh.
 */
import type { Mesh, ObjectMeta, TargetRef, Labels } from '../../model/types.js';
import { meshIndex } from '../../model/index.js';
import { apSelected, labelsText, raSelected, subjectOf } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

function targetExists(mesh: Mesh, ref: TargetRef, policyNs: string): boolean {
  const ns = ref.namespace ?? policyNs;
  switch (ref.kind) {
    case 'Service': return mesh.services.some((s) => s.namespace === ns && s.name === ref.name);
    case 'ServiceEntry': return mesh.serviceEntries.some((s) => s.meta.namespace === ns && s.meta.name === ref.name);
    case 'Gateway': return meshIndex(mesh).workloadsIn(ns).some((w) => w.labels['gateway.networking.k8s.io/gateway-name'] === ref.name)
      || (mesh.unmodeled ?? []).some((o) => o.kind === 'Gateway' && o.meta.namespace === ns && o.meta.name === ref.name);
    // a GatewayClass is cluster-scoped and usually installed with Istio, not in the manifests: not judged
    case 'GatewayClass': return true;
    default: return false;
  }
}

function noMatch(kind: string, meta: ObjectMeta, selector: Labels, where: string): RawFinding {
  return {
    subject: subjectOf(kind, meta),
    message: `${kind} ${meta.namespace}/${meta.name} selects no workload: no pod ${where} has the labels ${labelsText(selector)}`,
    hint: 'fix spec.selector.matchLabels to the labels of the pods it should protect (kubectl get pods --show-labels), or delete the policy',
  };
}

export const rule: LintRule = {
  code: 'MR0102',
  name: 'selects-nothing',
  severity: 'warning',
  title: 'A policy selects no workload, or its targetRef names nothing',
  help: 'A policy that selects nothing enforces nothing: the workloads it was written for run without it, usually because of a typo in a label, '
    + 'a namespace or a targetRef name. Fix the selector or targetRef to name the pods or resource it should protect, or delete the policy.',
  check(mesh) {
    const out: RawFinding[] = [];
    const root = mesh.config.rootNamespace;
    const where = (ns: string): string => (ns === root ? 'in any namespace' : `in namespace ${ns}`);
    const index = meshIndex(mesh);
    const nsEmpty = (ns: string): boolean => ns !== root && index.workloadsIn(ns).length === 0;
    const refs = (kind: string, meta: ObjectMeta, targetRefs: readonly TargetRef[]): void => {
      for (const ref of targetRefs) {
        if (targetExists(mesh, ref, meta.namespace)) continue;
        out.push({
          subject: subjectOf(kind, meta),
          message: `${kind} ${meta.namespace}/${meta.name} has targetRef ${ref.kind} ${ref.namespace ?? meta.namespace}/${ref.name}, which does not exist in the mesh: the policy applies to nothing through it`,
          hint: 'name an existing Gateway, Service or ServiceEntry in targetRefs (kind, name and namespace), or use a selector for sidecar workloads',
        });
      }
    };
    for (const p of mesh.authorizationPolicies) {
      if (p.targetRefs.length > 0) { refs('AuthorizationPolicy', p.meta, p.targetRefs); continue; }
      if (p.selector !== null && apSelected(mesh, p).length === 0) out.push(noMatch('AuthorizationPolicy', p.meta, p.selector, where(p.meta.namespace)));
      else if (p.selector === null && nsEmpty(p.meta.namespace)) {
        out.push({ subject: subjectOf('AuthorizationPolicy', p.meta), message: `AuthorizationPolicy ${p.meta.namespace}/${p.meta.name} applies to namespace ${p.meta.namespace}, which has no workload`,
          hint: 'check metadata.namespace: the policy belongs in the namespace of the workloads it protects' });
      }
    }
    for (const ra of mesh.requestAuthentications) {
      if (ra.targetRefs.length > 0) { refs('RequestAuthentication', ra.meta, ra.targetRefs); continue; }
      if (ra.selector !== null && raSelected(mesh, ra).length === 0) out.push(noMatch('RequestAuthentication', ra.meta, ra.selector, where(ra.meta.namespace)));
      else if (ra.selector === null && nsEmpty(ra.meta.namespace)) {
        out.push({ subject: subjectOf('RequestAuthentication', ra.meta), message: `RequestAuthentication ${ra.meta.namespace}/${ra.meta.name} applies to namespace ${ra.meta.namespace}, which has no workload`,
          hint: 'check metadata.namespace: the policy belongs in the namespace of the workloads it protects' });
      }
    }
    for (const pa of mesh.peerAuthentications) {
      const ns = pa.meta.namespace;
      if (pa.selector === null) {
        if (nsEmpty(ns)) {
          out.push({ subject: subjectOf('PeerAuthentication', pa.meta), message: `PeerAuthentication ${ns}/${pa.meta.name} applies to namespace ${ns}, which has no workload`,
            hint: 'check metadata.namespace: the policy belongs in the namespace of the workloads it protects' });
        }
        continue;
      }
      if (ns === root) {
        out.push({ subject: subjectOf('PeerAuthentication', pa.meta),
          message: `PeerAuthentication ${ns}/${pa.meta.name} has a selector in the root namespace: Istio ignores it, so it selects no workload`,
          hint: 'move it to the namespace of the workloads it should select, or drop the selector to make it mesh-wide' });
        continue;
      }
      const sel = pa.selector;
      if (index.workloadsMatching(sel, ns).length === 0) out.push(noMatch('PeerAuthentication', pa.meta, sel, where(ns)));
    }
    return out;
  },
};
