/**
 * MR0119 allow-any-caller — an ALLOW rule that admits every caller.
 *
 * Semantics (istio-semantics.md):
 * - §6.3 a rule matches when all its fields match; a rule without `from`
 *   places no condition on the source: any client that reaches the port —
 *   any namespace, any service account, and (under PERMISSIVE) a plaintext
 *   client without a sidecar — meets it, so the ALLOW admits it.
 * - §6.1 a policy without a selector applies to every workload of its
 *   namespace, and in the root namespace to every workload of the mesh.
 * - Validation rejects an empty `from` list (§6 "Validation"), so a rule has
 *   either no `from` or at least one source.
 * Rule: an enforced (not dry-run) ALLOW AuthorizationPolicy applied to sidecars
 * (no targetRefs) with a rule that has no `from`, no identity condition in
 * `when` (source.principal, source.namespace, request.auth.*, source.ip …)
 * and so admits every caller of what its `to` names. A rule that reads a
 * request header is MR0104's (the header is a spoofable identity); a policy
 * on workloads without a proxy is MR0112's (nothing enforces it); a rule
 * with HTTP-only fields on workloads whose every port is declared TCP is
 * dropped (§6.8) and admits no one. A rule whose every `to` names paths is
 * only noted (info): often a health check, public on purpose. Not reported when every
 * workload the policy selects is an ingress gateway: a public entry point
 * admits everyone on purpose (an egress gateway open to all is reported). This is what `meshrange generate` plants as its
 * "over-broad-allow" misconfiguration.
 */
import { ownValue } from '../../core/record.js';
import { meshIndex } from '../../model/index.js';
import type { AuthzRule, Mesh, Workload } from '../../model/types.js';
import { httpOnlyFields, whenHeaderName } from '../../policy/authorization-policy.js';
import { declaredProtocol, targetPortOf } from '../../policy/pipeline.js';
import { apSelected, ruleLoc, subjectOf } from '../context.js';
import { identityFields } from './MR0103-identity-rule-on-plaintext-port.js';
import type { LintRule, RawFinding } from '../types.js';

/** An ingress gateway: a gateway proxy that is not an egress gateway (an open egress gateway is a way out, not in). */
function ingressGateway(w: Workload): boolean {
  return w.gateway && ownValue(w.labels, 'istio') !== 'egressgateway' && !w.name.includes('egressgateway');
}

/** Every port of the workload is declared TCP (by a Service port aimed at it, or by its own name): no HTTP reaches it. */
function tcpOnly(mesh: Mesh, w: Workload): boolean {
  const svcPorts = meshIndex(mesh).servicesSelecting(w).flatMap((s) => s.ports);
  return w.ports.length > 0 && w.ports.every((cp) => {
    const sp = svcPorts.find((p) => targetPortOf(p, w) === cp.containerPort);
    const declared = (sp && declaredProtocol(sp)) ?? (cp.name ? declaredProtocol({ port: cp.containerPort, targetPort: cp.containerPort, protocol: 'TCP', name: cp.name }, false) : null);
    return declared === 'tcp';
  });
}

/**
 * A `when` condition on the caller: its peer identity or address (source.*, remote.ip), its JWT (request.auth.*) —
 * or a request header, which MR0104 reports as a spoofable identity (one finding for one mistake).
 */
function narrowsCaller(r: AuthzRule): boolean {
  if (identityFields(r).length > 0) return true;
  return (r.when ?? []).some((c) => c.key.startsWith('source.') || c.key.startsWith('request.auth.') || c.key === 'remote.ip' || whenHeaderName(c.key) !== null);
}

/** What the rule's `to` lets through, in words: its ports, or every port. */
function what(r: AuthzRule): string {
  const ports = (r.to ?? []).flatMap((t) => t.operation.ports ?? []);
  if ((r.to ?? []).length === 0) return 'every request';
  return ports.length > 0 && (r.to ?? []).every((t) => (t.operation.ports ?? []).length > 0) ? `requests to port${ports.length > 1 ? 's' : ''} ${ports.join(', ')}` : 'the requests its `to` matches';
}

export const rule: LintRule = {
  code: 'MR0119',
  name: 'allow-any-caller',
  severity: 'warning',
  title: 'An ALLOW rule admits every caller (no `from`, no identity condition)',
  help: 'A rule without `from` places no condition on who calls: any workload of any namespace that reaches the port gets through, '
    + 'and under PERMISSIVE so does a plaintext client without a sidecar. '
    + 'Fix: add `from` with source.principals (or namespaces) naming the callers that need it. An endpoint public on purpose '
    + '(health checks, a front end behind the ingress) can keep the rule and carry `meshrange.io/ignore: MR0119`.',
  check(mesh) {
    const out: RawFinding[] = [];
    const root = mesh.config.rootNamespace;
    for (const p of mesh.authorizationPolicies) {
      if (p.action !== 'ALLOW' || p.dryRun || p.targetRefs.length > 0) continue;
      const broad = (p.rules ?? []).flatMap((r, i) => (r.from === undefined && !narrowsCaller(r) ? [i] : []));
      if (broad.length === 0) continue;
      // what enforces it: the selected workloads with a proxy (one without is MR0112's: nothing enforces the policy)
      const selected = apSelected(mesh, p).filter((w) => w.sidecar || w.gateway);
      // an ingress gateway's own policy admitting everyone is how a public entry point works
      if (selected.length === 0 || selected.every(ingressGateway)) continue;
      const scope = p.selector !== null ? `the ${selected.length} workload${selected.length === 1 ? '' : 's'} it selects`
        : p.meta.namespace === root ? 'every workload of the mesh' : `every workload of namespace ${p.meta.namespace}`;
      for (const i of broad) {
        const r = (p.rules ?? [])[i] as AuthzRule;
        // §6.8: on a TCP port an ALLOW rule with HTTP-only fields is dropped and admits no one
        if (httpOnlyFields(r).length > 0 && selected.every((w) => tcpOnly(mesh, w))) continue;
        // paths only (every `to` names paths): often public on purpose (a health check), so only noted
        const pathsOnly = (r.to ?? []).length > 0 && (r.to ?? []).every((t) => (t.operation.paths ?? []).length > 0);
        out.push({
          ...(pathsOnly ? { severity: 'info' as const } : {}),
          subject: subjectOf('AuthorizationPolicy', p.meta),
          ...ruleLoc(p, i),
          message: `AuthorizationPolicy ${p.meta.namespace}/${p.meta.name} rule ${i} (ALLOW) admits every caller for ${what(r)} of ${scope}: it has no \`from\` and no identity condition`,
          hint: 'add `from: [{ source: { principals: [...] } }]` naming the callers that need it (or namespaces); if the endpoint is public on purpose, annotate the policy with meshrange.io/ignore: MR0119',
        });
      }
    }
    return out;
  },
};
