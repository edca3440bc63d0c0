/**
 * MR0105 jwt-not-required — a RequestAuthentication that no rule turns into a requirement.
 *
 * Semantics (istio-semantics.md §7):
 * - "no token in any configured location → passes, no request principal";
 *   only an invalid token is refused (401).
 * - "Requiring a JWT needs AuthorizationPolicy: ALLOW requestPrincipals: ["*"]
 *   (or specific iss/sub), or DENY notRequestPrincipals: ["*"]".
 * - §6.1/§7 selection decides which AuthorizationPolicies and
 *   RequestAuthentications apply to a workload (policy code's own selection).
 * Rule: a workload with a proxy selected by a RequestAuthentication, where no
 * AuthorizationPolicy selecting it has a rule on a request principal
 * (requestPrincipals, notRequestPrincipals, or a `when` on request.auth.*):
 * a request without a token reaches it.
 */
import type { AuthzRule } from '../../model/types.js';
import { policiesFor } from '../../policy/authorization-policy.js';
import { hasProxy } from '../../policy/pipeline.js';
import { listed, raSelected, subjectOf } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

function readsRequestPrincipal(rule: AuthzRule): boolean {
  const fromPart = (rule.from ?? []).some((f) => (f.source.requestPrincipals?.length ?? 0) > 0 || (f.source.notRequestPrincipals?.length ?? 0) > 0);
  return fromPart || (rule.when ?? []).some((c) => c.key.startsWith('request.auth.'));
}

export const rule: LintRule = {
  code: 'MR0105',
  name: 'jwt-not-required',
  severity: 'warning',
  title: 'RequestAuthentication without an AuthorizationPolicy that requires a request principal',
  help: 'A RequestAuthentication only rejects invalid tokens: a request with no token at all passes with no request principal. '
    + 'Fix: add an AuthorizationPolicy on the same workloads, ALLOW with from.source.requestPrincipals: ["*"] (or the issuer/subject you expect), '
    + 'or DENY with notRequestPrincipals: ["*"].',
  check(mesh) {
    const out: RawFinding[] = [];
    for (const ra of mesh.requestAuthentications) {
      const open = raSelected(mesh, ra).filter((w) => hasProxy(w)
        && !policiesFor(mesh, w).some((p) => !p.dryRun && (p.action === 'ALLOW' || p.action === 'DENY') && (p.rules ?? []).some(readsRequestPrincipal)));
      if (open.length === 0) continue;
      out.push({
        subject: subjectOf('RequestAuthentication', ra.meta),
        message: `RequestAuthentication ${ra.meta.namespace}/${ra.meta.name} checks tokens on ${listed(open.map((w) => w.id))}, but no AuthorizationPolicy there requires a request principal: a request without a token passes`,
        hint: 'add an AuthorizationPolicy selecting these workloads: ALLOW with from.source.requestPrincipals: ["*"], or DENY with notRequestPrincipals: ["*"]',
      });
    }
    return out;
  },
};
