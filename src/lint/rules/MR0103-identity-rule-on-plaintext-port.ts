/**
 * MR0103 identity-rule-on-plaintext-port — a rule on peer identity where the port accepts plaintext.
 *
 * Semantics (istio-semantics.md):
 * - §6.5: `principals`, `namespaces`, `serviceAccounts`, `trustDomains` (and
 *   the `when` keys source.principal / source.namespace / source.serviceAccount /
 *   source.trustDomain, §6.7) match the peer certificate, so they never match
 *   a plaintext connection. "In PERMISSIVE mode an ALLOW-by-principal policy
 *   denies plaintext callers, and a DENY-by-principal/namespace policy is
 *   bypassed by them."
 * - §4: DISABLE makes the sidecar not terminate mTLS: no connection to the
 *   port carries a peer identity, so an identity rule can never match.
 * - §6.6 `ports` is the workload (container) port; the mode is per port (§4 portLevelMtls).
 * Rule: an ALLOW or DENY rule whose `from`/`when` names a peer identity,
 * selecting a sidecar workload, on a port (its `to.ports`, or every inbound
 * port) whose effective mode is PERMISSIVE or DISABLE.
 * Severity: error under DISABLE (an ALLOW rule never matches: it silently
 * denies; a DENY rule never fires), warning under PERMISSIVE (mTLS is not
 * required, so identity is optional: plaintext callers get around a DENY, and
 * an ALLOW denies them with no hint why).
 */
import type { AuthorizationPolicy, AuthzRule } from '../../model/types.js';
import { apSelected, inboundPorts, listed, mtlsOf, ruleLoc, subjectOf } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

const ID_FIELDS = ['principals', 'namespaces', 'serviceAccounts', 'trustDomains'] as const;
const ID_WHEN = ['source.principal', 'source.namespace', 'source.serviceAccount', 'source.trustDomain'];

/** The identity fields a rule matches on (positive forms: a negative form matches plaintext, §6.5). */
export function identityFields(rule: AuthzRule): string[] {
  const out = new Set<string>();
  for (const f of rule.from ?? []) for (const k of ID_FIELDS) if ((f.source[k]?.length ?? 0) > 0) out.add(k);
  for (const c of rule.when ?? []) if (ID_WHEN.includes(c.key) && (c.values?.length ?? 0) > 0) out.add(`when ${c.key}`);
  return [...out];
}

/** The ports a rule restricts itself to (every `to` must list ports), or null = every port. */
function rulePorts(rule: AuthzRule): number[] | null {
  const tos = rule.to ?? [];
  if (tos.length === 0) return null;
  const ports: number[] = [];
  for (const t of tos) {
    const ps = t.operation.ports;
    if (!ps || ps.length === 0) return null;
    for (const p of ps) if (/^\d{1,5}$/.test(p)) ports.push(Number(p));
  }
  return ports;
}

export const rule: LintRule = {
  code: 'MR0103',
  name: 'identity-rule-on-plaintext-port',
  severity: 'warning',
  title: 'An ALLOW or DENY rule on peer identity applies to a port that accepts plaintext',
  help: 'principals, namespaces, serviceAccounts and trustDomains come from the client certificate, which only mutual TLS carries. '
    + 'On a PERMISSIVE port plaintext callers have no identity: they get around a DENY rule on identity, and are denied by an ALLOW rule with no hint why; '
    + 'on a DISABLE port no caller has one, so the rule never matches. Fix: make the port STRICT (PeerAuthentication), or match on something plaintext carries.',
  check(mesh) {
    const out: RawFinding[] = [];
    const judge = (p: AuthorizationPolicy): void => {
      if (p.action !== 'ALLOW' && p.action !== 'DENY') return;
      const targets = apSelected(mesh, p).filter((w) => w.sidecar && !w.gateway);
      (p.rules ?? []).forEach((r, i) => {
        const fields = identityFields(r);
        if (fields.length === 0) return;
        const only = rulePorts(r);
        const weak: { id: string; port: number; mode: string }[] = [];
        for (const w of targets) {
          const ports = only ?? inboundPorts(mesh, w);
          for (const port of ports) {
            const m = mtlsOf(mesh, w, port);
            if (m.mode === 'PERMISSIVE' || m.mode === 'DISABLE') weak.push({ id: w.id, port, mode: m.mode });
          }
        }
        if (weak.length === 0) return;
        const disabled = weak.some((x) => x.mode === 'DISABLE');
        const where = listed(weak.map((x) => `${x.id}:${x.port} (${x.mode})`));
        const effect = disabled
          ? (p.action === 'ALLOW' ? 'no connection there carries a peer identity, so the rule never matches and silently denies' : 'no connection there carries a peer identity, so the rule never fires')
          : (p.action === 'ALLOW' ? 'plaintext callers have no identity: mTLS is not required, and they are denied with no hint why' : 'plaintext callers have no identity and get around this DENY');
        out.push({
          ...(disabled ? { severity: 'error' as const } : {}),
          subject: subjectOf('AuthorizationPolicy', p.meta),
          ...ruleLoc(p, i),
          message: `AuthorizationPolicy ${p.meta.namespace}/${p.meta.name} rule ${i} (${p.action}) matches on ${fields.join(', ')}, but ${where} accept${weak.length === 1 ? 's' : ''} plaintext: ${effect}`,
          hint: 'make these ports STRICT with a PeerAuthentication, so every caller presents its identity',
        });
      });
    };
    for (const p of mesh.authorizationPolicies) if (!p.dryRun) judge(p);
    return out;
  },
};
