/**
 * MR0110 legacy-rbac-kind — a security object of a kind Istio no longer reads.
 *
 * Semantics (istio-semantics.md):
 * - §6, §4, §7: authorization is AuthorizationPolicy, peer authentication is
 *   PeerAuthentication, JWT is RequestAuthentication (security.istio.io).
 *   The rbac.istio.io kinds (ClusterRbacConfig, RbacConfig, ServiceRole,
 *   ServiceRoleBinding) were removed in Istio 1.6, and the
 *   authentication.istio.io/v1alpha1 kinds (MeshPolicy, Policy) in 1.6 too:
 *   a current istiod ignores them, so what they were meant to enforce is not
 *   enforced. The loader keeps them as unmodeled objects (Mesh.unmodeled).
 * Rule: any object of those kinds.
 */
import { subjectOf } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

const LEGACY: ReadonlyMap<string, string> = new Map([
  ['ClusterRbacConfig', 'AuthorizationPolicy (an ALLOW policy with no rules denies everything it selects)'],
  ['RbacConfig', 'AuthorizationPolicy (an ALLOW policy with no rules denies everything it selects)'],
  ['ServiceRole', 'AuthorizationPolicy rules (to.operation)'],
  ['ServiceRoleBinding', 'AuthorizationPolicy rules (from.source principals, namespaces)'],
  ['MeshPolicy', 'a PeerAuthentication in the root namespace'],
  ['Policy', 'PeerAuthentication (peers) and RequestAuthentication (origins)'],
]);
/** kinds with no namespace (the loader files them under `default`) */
const CLUSTER_SCOPED = ['ClusterRbacConfig', 'MeshPolicy'];
const GROUPS = ['rbac.istio.io/', 'authentication.istio.io/'];

export const rule: LintRule = {
  code: 'MR0110',
  name: 'legacy-rbac-kind',
  severity: 'error',
  title: 'A legacy Istio RBAC or authentication kind that Istio ignores',
  help: 'ClusterRbacConfig, RbacConfig, ServiceRole, ServiceRoleBinding (rbac.istio.io) and MeshPolicy, Policy (authentication.istio.io/v1alpha1) '
    + 'were removed in Istio 1.6: istiod ignores them, so the access control or mTLS they describe does not exist. '
    + 'Fix: rewrite them as AuthorizationPolicy, PeerAuthentication and RequestAuthentication (security.istio.io/v1).',
  check(mesh) {
    const out: RawFinding[] = [];
    for (const o of mesh.unmodeled ?? []) {
      const instead = LEGACY.get(o.kind);
      if (instead === undefined || !GROUPS.some((g) => o.apiVersion.startsWith(g))) continue;
      const name = CLUSTER_SCOPED.includes(o.kind) ? o.meta.name : `${o.meta.namespace}/${o.meta.name}`;
      out.push({
        subject: subjectOf(o.kind, o.meta),
        message: `${o.kind} ${name} (${o.apiVersion}) is a legacy kind that Istio ignores since 1.6: nothing it describes is enforced`,
        hint: `rewrite it as ${instead}`,
      });
    }
    return out;
  },
};
