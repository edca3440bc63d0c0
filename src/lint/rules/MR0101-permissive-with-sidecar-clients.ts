/**
 * MR0101 permissive-with-sidecar-clients — PERMISSIVE left where STRICT would break nothing.
 *
 * Semantics (istio-semantics.md):
 * - §4: the effective mode of a workload port is port-level, else workload,
 *   else namespace, else mesh level, else PERMISSIVE (policy/peer-authentication.ts
 *   effectiveMtls decides it here). PERMISSIVE accepts plaintext, so any pod
 *   that can reach the port may call it with no identity.
 * - §2, §5.2: a client with a sidecar sends Istio mTLS by auto mTLS; only a
 *   client without a sidecar (or outside the cluster) sends plaintext.
 * Rule: a sidecar workload port whose effective mode is PERMISSIVE, when no
 * sidecar-less workload of the mesh can get a request through to that port
 * today (each such client's plaintext TCP connection and HTTP GET are decided
 * by policy/decide.ts; a refusal by authorization that another request could
 * avoid counts as passable) and no Service exposes the workload outside the cluster
 * (NodePort/LoadBalancer), so switching to STRICT rejects no caller that works
 * now. One finding per deciding PeerAuthentication (warning), or per namespace
 * where Istio's default PERMISSIVE holds (info, on the Namespace).
 * Past MAX_PROBES decisions per mesh the rule stops judging, and says so in
 * one info finding naming the workloads it could not judge.
 */
import type { Mesh, PeerAuthentication, Workload } from '../../model/types.js';
import { policiesFor, type RuleRef } from '../../policy/authorization-policy.js';
import { decide } from '../../policy/decide.js';
import { hasProxy } from '../../policy/pipeline.js';
import { inboundPorts, listed, mtlsOf, servicesOf, subjectOf, workloadSubject } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';
import { identityFields } from './MR0103-identity-rule-on-plaintext-port.js';

/** Probes per mesh before the rule stops judging (the workloads it could not judge are then named in one info finding). */
const MAX_PROBES = 20_000;

/** Source fields whose DENY match a plaintext client cannot change: peer-identity negations (§6.5) and its own pod IP. */
const FIXED_SOURCE = new Set(['notPrincipals', 'notNamespaces', 'notServiceAccounts', 'notTrustDomains', 'ipBlocks', 'notIpBlocks']);

/** The DENY rule that refused the probe refuses every request of that client: no `to`, no `when`, only fixed source fields. */
function denialIsFinal(mesh: Mesh, ref: RuleRef | null): boolean {
  if (!ref) return false;
  const p = mesh.authorizationPolicies.find((x) => x.meta.namespace === ref.namespace && x.meta.name === ref.policy);
  const m = /rule\[(\d{1,6})\]$/.exec(ref.rule);
  const rule = p && m ? p.rules?.[Number(m[1])] : undefined;
  if (!rule || (rule.to ?? []).length > 0 || (rule.when ?? []).length > 0) return false;
  return (rule.from ?? []).every((f) => Object.keys(f.source).every((k) => FIXED_SOURCE.has(k)));
}

/**
 * Could `client` (no sidecar: plaintext, no identity) get a request through to
 * `w` on `port` today? A TCP connection and an HTTP GET are decided by
 * policy/decide.ts. When authorization refused them, another request of that
 * client may still pass: an ALLOW rule that needs no peer identity (a header,
 * a path, a JWT, an IP), a DENY rule on request fields, an ext-authz check;
 * the answer is then yes. Only a refusal that no request can avoid (network
 * policy, a DENY on identity negations or the client's IP) counts as no.
 */
function reachedInPlaintext(mesh: Mesh, client: Workload, w: Workload, port: number): boolean {
  for (const protocol of ['tcp', 'http'] as const) {
    const d = decide(mesh, {
      from: { kind: 'workload', workload: client },
      to: { kind: 'workload', workload: w, port },
      protocol, method: 'GET', path: '/', headers: {}, tls: 'auto',
    });
    if (d.outcome === 'allowed') return true;
    const a = d.authz;
    if (!a || a.allowed) continue;
    if (a.stage === 'custom') return true;
    if (a.stage === 'deny' && !denialIsFinal(mesh, a.decidedBy)) return true;
    if (a.stage === 'no-allow-match'
      && policiesFor(mesh, w).some((p) => p.action === 'ALLOW' && !p.dryRun && (p.rules ?? []).some((r) => identityFields(r).length === 0))) return true;
  }
  return false;
}

interface Group {
  policy: PeerAuthentication | null;
  namespace: string;
  level: string;
  items: { w: Workload; ports: number[] }[];
}

export const rule: LintRule = {
  code: 'MR0101',
  name: 'permissive-with-sidecar-clients',
  severity: 'warning',
  title: 'PERMISSIVE mTLS left on workloads whose every client has a sidecar',
  help: 'PERMISSIVE accepts plaintext: any pod without a sidecar, or any process that goes around its own sidecar, calls the workload with no identity and no encryption. '
    + 'No workload without a sidecar can get a request through to these ports today and no Service exposes them outside the cluster, so STRICT would reject no working caller. '
    + 'Fix: set the PeerAuthentication (or add one at namespace or mesh level) to mode STRICT.',
  check(mesh) {
    const plaintextClients = mesh.workloads.filter((c) => !hasProxy(c));
    let budget = MAX_PROBES;
    const groups = new Map<string, Group>();
    const unjudged: Workload[] = [];
    for (const w of mesh.workloads) {
      if (!w.sidecar || w.gateway) continue;
      if (servicesOf(mesh, w).some((s) => s.type === 'NodePort' || s.type === 'LoadBalancer')) continue;
      const permissive = inboundPorts(mesh, w).map((port) => ({ port, m: mtlsOf(mesh, w, port) })).filter((x) => x.m.mode === 'PERMISSIVE');
      const first = permissive[0];
      if (!first) continue;
      let reachable = false;
      for (const { port } of permissive) {
        for (const c of plaintextClients) {
          budget -= 2;
          if (budget < 0) { unjudged.push(w); reachable = true; break; }
          if (reachedInPlaintext(mesh, c, w, port)) { reachable = true; break; }
        }
        if (reachable) break;
      }
      if (reachable) continue;
      // one finding per deciding PeerAuthentication, or per namespace where the default holds
      const policy = first.m.policy;
      const key = policy ? `pa/${policy.meta.namespace}/${policy.meta.name}` : `ns/${w.namespace}`;
      const g = groups.get(key) ?? { policy, namespace: w.namespace, level: first.m.level, items: [] };
      g.items.push({ w, ports: permissive.map((x) => x.port) });
      groups.set(key, g);
    }
    const clients = plaintextClients.length === 0
      ? 'every workload of the mesh has a sidecar'
      : `the workloads without a sidecar (${listed(plaintextClients.map((c) => c.id))}) cannot get a request through anyway`;
    const out: RawFinding[] = [];
    for (const g of groups.values()) {
      const what = listed(g.items.map((x) => `${x.w.id}:${x.ports.join(',')}`));
      if (g.policy) {
        out.push({
          subject: subjectOf('PeerAuthentication', g.policy.meta),
          message: `PeerAuthentication ${g.policy.meta.namespace}/${g.policy.meta.name} leaves ${what} PERMISSIVE (${g.level} level), yet ${clients}: plaintext is accepted for no caller that needs it`,
          hint: `set mode: STRICT${g.level === 'port' ? ' for these ports in portLevelMtls' : ''}; STRICT breaks no caller that works today`,
        });
      } else {
        const ns = mesh.namespaces.get(g.namespace);
        const first = g.items[0] as { w: Workload };
        out.push({
          severity: 'info',
          subject: ns?.loc
            ? { kind: 'Namespace', namespace: ns.name, name: ns.name, annotations: ns.annotations ?? {}, loc: ns.loc }
            : workloadSubject(first.w),
          message: `namespace ${g.namespace} accepts plaintext on ${what}: no PeerAuthentication applies, so Istio's default PERMISSIVE holds, yet ${clients}`,
          hint: `add a PeerAuthentication with mode: STRICT in ${mesh.config.rootNamespace} (mesh-wide) or in namespace ${g.namespace}`,
        });
      }
    }
    const firstUnjudged = unjudged[0];
    if (firstUnjudged) {
      out.push({
        severity: 'info',
        subject: workloadSubject(firstUnjudged),
        message: `MR0101 stopped after ${MAX_PROBES} plaintext probes: ${listed(unjudged.map((w) => w.id))} (${unjudged.length} PERMISSIVE workload${unjudged.length === 1 ? '' : 's'}) were not judged`,
        hint: 'lint a smaller part of the mesh (fewer --mesh folders) to judge them',
      });
    }
    return out;
  },
};
