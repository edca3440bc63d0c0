/**
 * MR0109 wildcard-service-entry — a wildcard ServiceEntry host that undoes REGISTRY_ONLY.
 *
 * Semantics (istio-semantics.md §8):
 * - REGISTRY_ONLY blackholes traffic to hosts not in the proxy's registry;
 *   "adding [a ServiceEntry] makes the host known → passes under REGISTRY_ONLY".
 * - The effective outbound mode of a workload is its Sidecar's
 *   outboundTrafficPolicy, else the mesh config's (policy/egress.ts
 *   sidecarFor + outboundMode); what it sees is the registry after exportTo
 *   and the Sidecar's egress hosts (policy/egress.ts visibleRegistry).
 * - A wildcard host `*.example.com` makes every name under it known; `*.com`
 *   every name of a top-level domain: the allow-list becomes a deny-nothing
 *   list for those names and ports. (A bare `*` is refused by the loader.)
 * Rule: a ServiceEntry with a wildcard host visible (on one of its ports) to
 * a sidecar workload whose effective mode is REGISTRY_ONLY. Error for a
 * single-label suffix such as `*.com` (or `*`), warning for a narrower one.
 */
import { meshIndex } from '../../model/index.js';
import type { Workload } from '../../model/types.js';
import { outboundMode, sidecarFor, sidecarsNear, visibleRegistry, type EgressInput } from '../../policy/egress.js';
import { listed, subjectOf } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

export const rule: LintRule = {
  code: 'MR0109',
  name: 'wildcard-service-entry',
  severity: 'warning',
  title: 'A wildcard ServiceEntry host under REGISTRY_ONLY',
  help: 'Under outboundTrafficPolicy REGISTRY_ONLY only registered hosts are reachable; a ServiceEntry host such as "*" or "*.com" registers every name it covers, '
    + 'so a compromised workload can send data to any such host. Fix: list the exact external hosts the workloads need, '
    + 'or route them through an egress gateway with an AuthorizationPolicy on hosts.',
  check(mesh) {
    const out: RawFinding[] = [];
    const root = mesh.config.rootNamespace;
    const index = meshIndex(mesh);
    // Each workload's Sidecars are those of its namespace and the root's (sidecarsNear: the same pick, the same
    // conflicts), not every Sidecar of the mesh per workload; and none is looked at without a wildcard host.
    const inputs = new Map<Workload, EgressInput>();
    const inputFor = (w: Workload): EgressInput => {
      let input = inputs.get(w);
      if (input === undefined) {
        input = { services: mesh.services, serviceEntries: mesh.serviceEntries, sidecars: sidecarsNear((ns) => index.sidecars(ns), root, w),
          rootNamespace: root, meshMode: mesh.config.outboundTrafficPolicy };
        inputs.set(w, input);
      }
      return input;
    };
    let restricted: Workload[] | null = null;
    for (const se of mesh.serviceEntries) {
      const wild = se.hosts.filter((h) => h.startsWith('*'));
      if (wild.length === 0) continue;
      restricted ??= mesh.workloads.filter((w) => w.sidecar && !w.gateway
        && outboundMode(mesh.config.outboundTrafficPolicy, sidecarFor(inputFor(w).sidecars, root, w).sidecar).mode === 'REGISTRY_ONLY');
      const ports = se.ports.length > 0 ? se.ports.map((p) => p.number) : [0];
      const seeing = restricted.filter((w) => ports.some((port) => visibleRegistry(inputFor(w), w, port).serviceEntries.includes(se)));
      if (seeing.length === 0) continue;
      const broad = wild.some((h) => h === '*' || !h.slice(2).includes('.'));
      out.push({
        ...(broad ? { severity: 'error' as const } : {}),
        subject: subjectOf('ServiceEntry', se.meta),
        message: `ServiceEntry ${se.meta.namespace}/${se.meta.name} registers wildcard host${wild.length > 1 ? 's' : ''} ${wild.join(', ')}${se.ports.length > 0 ? ` on port${se.ports.length > 1 ? 's' : ''} ${se.ports.map((p) => p.number).join(', ')}` : ''}: REGISTRY_ONLY lets ${listed(seeing.map((w) => w.id))} reach any host ${wild.includes('*') ? 'at all' : `matching ${wild.join(', ')}`}`,
        hint: 'replace the wildcard with the exact hosts the workloads need, or send them through an egress gateway that filters hosts',
      });
    }
    return out;
  },
};
