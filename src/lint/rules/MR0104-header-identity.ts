/**
 * MR0104 header-identity — a request header used as the caller's identity.
 *
 * Semantics (istio-semantics.md):
 * - §6.7 `when: request.headers[<name>]` (or
 *   `request.experimental.inline.headers[<name>]`) matches a header value the client
 *   sends; nothing in the mesh checks who wrote it. §6.3: a rule matches when
 *   all its `when` conditions hold, so any client that sets the header meets it.
 * - §1: the server sidecar writes X-Forwarded-Client-Cert itself (a client's
 *   own value is replaced), so that one header is not the client's word.
 * - §7: outputClaimToHeaders / outputPayloadToHeader headers are written by
 *   the JWT filter only for a valid token; a request with no token keeps the
 *   client's own header unless the rule also requires a request principal.
 * Rule: an ALLOW rule (or a DENY rule with
 * `notValues`, which a client meets by sending the expected value) whose
 * `when` matches `request.headers[...]`, other than X-Forwarded-Client-Cert,
 * unless the same rule also requires a validated request principal or a peer
 * identity (principals, namespaces… §6.5), which the header then only narrows.
 *
 * A header Envoy's connection manager always removes before the filters at every proxy the policy selects
 * (policy/header-sanitize.ts: x-envoy-internal and the x-envoy-* retry, timeout and tracing controls at gateways and
 * sidecars alike, the edge-only x-envoy-decorator-operation, -downstream-service-cluster/-node and -original-path at
 * gateways) is not the client's word either: the client cannot set it, so nobody can spoof it. Such a condition is
 * reported instead as one that is never met (an error, as MR0103's rule that never matches): the ALLOW rule admits
 * nobody, and a DENY's notValues exemption never holds — whether or not the rule also names an identity.
 */
import { whenHeaderName } from '../../policy/authorization-policy.js';
import { apSelected, requiresRequestPrincipal, ruleLoc, subjectOf } from '../context.js';
import { identityFields } from './MR0103-identity-rule-on-plaintext-port.js';
import type { LintRule, RawFinding } from '../types.js';
import { alwaysStripped, type ProxyKind } from '../../policy/header-sanitize.js';
import type { Workload } from '../../model/types.js';

const MESH_WRITTEN = ['x-forwarded-client-cert'];
/**
 * A gateway's connection manager (use_remote_address) sets x-envoy-external-address to the client address it trusts,
 * over whatever the client sent: with numTrustedProxies 0 that is the peer, which the client cannot choose (with more,
 * an entry of the X-Forwarded-For the client writes).
 */
const GATEWAY_WRITTEN = 'x-envoy-external-address';

export const rule: LintRule = {
  code: 'MR0104',
  name: 'header-identity',
  severity: 'warning',
  title: 'A rule trusts a request header the client writes (spoofable identity)',
  help: 'request.headers[...] is whatever the client sent: any caller that sets the header meets the condition. '
    + 'Identity belongs to mutual TLS (principals, namespaces) or to a validated JWT (requestPrincipals, request.auth.claims). '
    + 'Fix: replace the header condition with source.principals, or require a request principal from a RequestAuthentication.',
  check(mesh) {
    const out: RawFinding[] = [];
    for (const p of mesh.authorizationPolicies) {
      if (p.action !== 'ALLOW' && p.action !== 'DENY') continue;
      // only gateways that trust no proxy in front of them: x-envoy-external-address is their peer's address
      let gatewaysOnly: boolean | null = null;
      const peerWritten = (): boolean => (gatewaysOnly ??= ((ws) => ws.length > 0 && ws.every((w) => w.gateway && (w.numTrustedProxies ?? mesh.config.numTrustedProxies) === 0))(apSelected(mesh, p)));
      // the kinds of proxy that enforce the policy (a pod with neither enforces nothing: MR0112); null: none or targetRefs
      let kinds: ProxyKind[] | null | undefined;
      const enforcing = (): ProxyKind[] | null => {
        if (kinds !== undefined) return kinds;
        const ks = new Set<ProxyKind>();
        for (const w of apSelected(mesh, p)) if (w.gateway) ks.add('gateway'); else if (w.sidecar) ks.add('sidecar');
        return (kinds = ks.size > 0 ? [...ks] : null);
      };
      (p.rules ?? []).forEach((r, i) => {
        // the header is then an extra condition on a real identity, not the identity
        const narrowed = requiresRequestPrincipal(r) || identityFields(r).length > 0;
        for (const c of r.when ?? []) {
          const name = whenHeaderName(c.key);
          if (name === null || MESH_WRITTEN.includes(name.toLowerCase())) continue;
          const trustedValues = p.action === 'ALLOW' ? c.values : c.notValues;
          if (!trustedValues || trustedValues.length === 0) continue;
          const lower = name.toLowerCase();
          const ks = enforcing();
          if (ks !== null && ks.every((k) => alwaysStripped(k, lower))) {
            const where = ks.length === 1 ? `${ks[0] === 'gateway' ? 'a gateway' : 'a sidecar'}'s` : 'every selected proxy\'s';
            out.push({
              subject: subjectOf('AuthorizationPolicy', p.meta),
              ...ruleLoc(p, i),
              severity: 'error',
              message: `AuthorizationPolicy ${p.meta.namespace}/${p.meta.name} rule ${i} (${p.action}) ${p.action === 'ALLOW' ? 'never matches' : 'never exempts anyone'}: ${where} connection manager removes the client's ${lower} before the filters run, so the header is always absent there`,
              hint: p.action === 'ALLOW'
                ? `drop the ${lower} condition (no client can send it) and match the caller by source.principals or a validated JWT`
                : `drop the notValues ${lower} condition: as written the DENY applies to every request its other conditions match`,
            });
            continue;
          }
          if (narrowed) continue;
          if (name.toLowerCase() === GATEWAY_WRITTEN && peerWritten()) continue;
          const trusted = p.action === 'ALLOW' ? c.values : c.notValues;
          if (!trusted || trusted.length === 0) continue;
          out.push({
            subject: subjectOf('AuthorizationPolicy', p.meta),
            ...ruleLoc(p, i),
            message: `AuthorizationPolicy ${p.meta.namespace}/${p.meta.name} rule ${i} (${p.action}) ${p.action === 'ALLOW' ? 'allows' : 'exempts'} callers by header ${name} (${trusted.join(', ')}): any client can send that header`,
            hint: 'match the caller by source.principals (mutual TLS) or by a validated JWT (requestPrincipals, request.auth.claims) instead of a header',
          });
        }
      });
    }
    return out;
  },
};
