/**
 * MR0105 jwt-not-required — a RequestAuthentication that no rule turns into a requirement.
 *
 * Semantics (istio-semantics.md §7):
 * - "no token in any configured location → passes, no request principal";
 *   only an invalid token is refused (401).
 * - "Requiring a JWT needs AuthorizationPolicy: ALLOW requestPrincipals: ["*"]
 *   (or specific iss/sub), or DENY notRequestPrincipals: ["*"]".
 * - §6.3: ALLOW policies let a request through when ANY rule of ANY of them
 *   matches, so one ALLOW rule that needs no request principal (a namespace,
 *   a path) lets a token-less request in; a DENY rule refuses the token-less
 *   request only if it matches every such request (a DENY on one specific
 *   principal does not). CUSTOM and AUDIT do not decide it.
 * - §6.1/§7 selection decides which AuthorizationPolicies and
 *   RequestAuthentications apply to a workload (policy code's own selection).
 * Rule: a workload with a proxy selected by a RequestAuthentication where the
 * policies do not refuse every token-less request (context.ts
 * tokenRequiredByPolicies, sharing requiresRequestPrincipal with MR0104), or
 * where the engine (policy/decide.ts) lets a token-less HTTP GET from another
 * workload of the mesh through to one of its ports anyway. The probe found is
 * quoted as an example. Past MAX_PROBES decisions per mesh the rule stops
 * probing (the policies' text still judges) and says so in one info finding.
 */
import type { Mesh, Workload } from '../../model/types.js';
import { policiesFor } from '../../policy/authorization-policy.js';
import { decide } from '../../policy/decide.js';
import { hasProxy, type RequestTarget } from '../../policy/pipeline.js';
import { inboundPorts, listed, raSelected, servicesOf, subjectOf, tokenRequiredByPolicies, workloadSubject } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

/** decide() calls per mesh before the rule stops probing. */
const MAX_PROBES = 20_000;

interface Budget { left: number; unprobed: Workload[] }

/**
 * The first token-less HTTP GET / from another workload to `w` that the
 * engine allows, as text; null when none passes. Probed through each Service
 * port that selects `w` (the way clients call it; the answer must come from
 * `w` itself) and straight to each of its inbound ports.
 */
function tokenlessWayIn(mesh: Mesh, w: Workload, budget: Budget): string | null {
  const targets: { to: RequestTarget; text: string }[] = [];
  for (const s of servicesOf(mesh, w)) {
    for (const sp of s.ports) if (sp.protocol.toUpperCase() === 'TCP') targets.push({ to: { kind: 'host', host: s.fqdn, port: sp.port }, text: `${s.name}.${s.namespace}:${sp.port}` });
  }
  for (const port of inboundPorts(mesh, w)) targets.push({ to: { kind: 'workload', workload: w, port }, text: `${w.id}:${port}` });
  for (const t of targets) {
    for (const client of mesh.workloads) {
      if (client === w) continue;
      if (--budget.left < 0) { budget.unprobed.push(w); return null; }
      const d = decide(mesh, { from: { kind: 'workload', workload: client }, to: t.to, protocol: 'http', method: 'GET', path: '/', headers: {}, tls: 'auto' });
      if (d.outcome === 'allowed' && d.destination?.workload === w.id) return `GET / from ${client.id} to ${t.text}`;
    }
  }
  return null;
}

export const rule: LintRule = {
  code: 'MR0105',
  name: 'jwt-not-required',
  severity: 'warning',
  title: 'RequestAuthentication without an AuthorizationPolicy that requires a request principal',
  help: 'A RequestAuthentication only rejects invalid tokens: a request with no token at all passes with no request principal. '
    + 'A token is required only when a DENY rule refuses every request without one (notRequestPrincipals: ["*"]) or when every rule of every ALLOW policy on the workload needs a request principal; '
    + 'a single ALLOW rule without one (a namespace, a path) lets token-less requests in. '
    + 'Fix: add an AuthorizationPolicy on the same workloads, DENY with notRequestPrincipals: ["*"], '
    + 'or make every ALLOW rule require from.source.requestPrincipals (["*"] or the issuer/subject you expect).',
  check(mesh) {
    const out: RawFinding[] = [];
    const budget: Budget = { left: MAX_PROBES, unprobed: [] };
    for (const ra of mesh.requestAuthentications) {
      const open: { w: Workload; example: string | null }[] = [];
      for (const w of raSelected(mesh, ra)) {
        if (!hasProxy(w)) continue;
        const byText = tokenRequiredByPolicies(policiesFor(mesh, w));
        // the engine has the last word: a token-less request it lets through is a finding whatever the text says
        const example = budget.unprobed.includes(w) ? null : tokenlessWayIn(mesh, w, budget);
        if (!byText || example !== null) open.push({ w, example });
      }
      if (open.length === 0) continue;
      const ex = open.find((o) => o.example !== null)?.example;
      out.push({
        subject: subjectOf('RequestAuthentication', ra.meta),
        message: `RequestAuthentication ${ra.meta.namespace}/${ra.meta.name} checks tokens on ${listed(open.map((o) => o.w.id))}, but no AuthorizationPolicy there requires a request principal of every request: a request without a token passes`
          + (ex ? ` (e.g. ${ex}, no token, is allowed)` : ''),
        hint: 'add an AuthorizationPolicy selecting these workloads: DENY with notRequestPrincipals: ["*"], or make every ALLOW rule require from.source.requestPrincipals',
      });
    }
    const first = budget.unprobed[0];
    if (first) {
      out.push({
        severity: 'info',
        subject: workloadSubject(first),
        message: `MR0105 stopped after ${MAX_PROBES} token-less probes: ${listed(budget.unprobed.map((w) => w.id))} were judged by their policies' text only`,
        hint: 'lint a smaller part of the mesh (fewer --mesh folders) to probe them',
      });
    }
    return out;
  },
};
