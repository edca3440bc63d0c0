/**
 * The analyzer as it was before its workload lookups were indexed (a scan of
 * every workload per policy): the reference test/loader/scale-index.test.ts
 * holds src/loader/analyze.ts to, message for message, in order.
 *
 * Findings about what Istio accepts but ignores or does not do as the author
 * probably meant (istio-semantics §13, §14): warnings, never errors. IST codes
 * are istioctl analyze's; SIM codes are meshrange's own (§13 says to keep
 * simulator-only findings out of the IST namespace).
 */
import type { IssueList } from '../../../src/core/issues.js';
import { selectorMatches, type Labels, type Mesh } from '../../../src/model/types.js';

export function referenceAnalyzeMesh(mesh: Mesh, issues: IssueList): void {
  const root = mesh.config.rootNamespace;
  const nsHasPods = (ns: string): boolean => mesh.workloads.some((w) => w.namespace === ns);

  for (const p of mesh.authorizationPolicies) {
    const ns = p.meta.namespace;
    const name = `AuthorizationPolicy ${ns}/${p.meta.name}`;
    if (p.targetRefs.length > 0) {
      issues.warn('SIM001', `${name} uses targetRefs, which apply to waypoints and Kubernetes Gateways, not to sidecars; it has no effect on sidecar workloads`, p.meta.loc);
      continue;
    }
    const selected = mesh.workloads.filter((w) => (ns === root || w.namespace === ns) && (p.selector === null || selectorMatches(p.selector, w.labels)));
    if (p.selector !== null && selected.length === 0) {
      issues.warn('IST0127', `${name}: No matching workloads for this resource with the following labels: ${Object.entries(p.selector).map(([k, v]) => `${k}=${v}`).join(',')}`, p.meta.loc,
        'the policy selects nothing, so it protects nothing; check spec.selector');
    } else if (p.selector === null && ns !== root && !nsHasPods(ns)) {
      issues.warn('IST0127', `${name}: namespace ${ns} has no workloads, so this policy applies to nothing`, p.meta.loc);
    } else if (selected.length > 0 && selected.every((w) => !w.sidecar && !w.gateway)) {
      issues.warn('SIM002', `${name} selects only workloads without a sidecar (${selected.map((w) => w.id).join(', ')}): nothing enforces it`, p.meta.loc,
        'inject a sidecar into these workloads, or the policy is decoration');
    }
    if (p.action === 'CUSTOM' && p.provider !== undefined && p.provider !== '' && !mesh.config.extensionProviders.some((e) => e.name === p.provider)) {
      issues.warn('SIM003', `${name} names extension provider "${p.provider}", which the mesh config does not define: its rules compile to deny`, p.meta.loc,
        'add the provider to meshConfig.extensionProviders');
    }
  }

  for (const p of mesh.peerAuthentications) {
    if (p.meta.namespace === root && p.selector !== null) {
      issues.warn('SIM004', `PeerAuthentication ${root}/${p.meta.name} has a selector in the root namespace: Istio ignores it`, p.meta.loc,
        'move it to the workload\'s namespace, or drop the selector to make it mesh-wide');
    } else if (p.selector !== null && !mesh.workloads.some((w) => w.namespace === p.meta.namespace && selectorMatches(p.selector ?? {}, w.labels))) {
      issues.warn('SIM005', `PeerAuthentication ${p.meta.namespace}/${p.meta.name} selects no workload`, p.meta.loc);
    }
  }
  const levels = new Map<string, string[]>();
  for (const p of mesh.peerAuthentications) {
    if (p.selector !== null) continue;
    const key = p.meta.namespace;
    levels.set(key, [...(levels.get(key) ?? []), p.meta.name]);
  }
  for (const [ns, names] of levels) {
    if (names.length > 1) {
      const first = mesh.peerAuthentications.find((p) => p.meta.namespace === ns && p.selector === null);
      issues.warn('SIM006', `namespace ${ns} has ${names.length} ${ns === root ? 'mesh' : 'namespace'}-level PeerAuthentications (${names.join(', ')}): only the oldest applies`, first?.meta.loc);
    }
  }

  for (const dr of mesh.destinationRules) {
    const tls = dr.trafficPolicy?.tls;
    if (tls?.mode === 'ISTIO_MUTUAL') {
      const svc = mesh.services.find((s) => s.fqdn === dr.fqdnHost);
      const eps = svc && svc.selector ? mesh.workloads.filter((w) => w.namespace === svc.namespace && selectorMatches(svc.selector ?? {}, w.labels)) : [];
      if (eps.length > 0 && eps.every((w) => !w.sidecar && !w.gateway)) {
        issues.warn('SIM007', `DestinationRule ${dr.meta.namespace}/${dr.meta.name} sends ISTIO_MUTUAL to ${dr.host}, whose pods have no sidecar: every call fails with 503`, dr.meta.loc);
      }
    }
    if (!dr.host.includes('*') && !mesh.services.some((s) => s.fqdn === dr.fqdnHost) && !mesh.serviceEntries.some((se) => se.hosts.includes(dr.fqdnHost) || se.hosts.includes(dr.host))) {
      issues.warn('IST0174', `DestinationRule ${dr.meta.namespace}/${dr.meta.name}: host ${dr.host} matches no service`, dr.meta.loc);
    }
  }

  // the plain scan of analyze.ts's ServiceEntry check (endpoints that are mesh pods)
  for (const se of mesh.serviceEntries) {
    const selected = se.workloadSelector ? mesh.workloads.filter((w) => w.namespace === se.meta.namespace && selectorMatches(se.workloadSelector as Labels, w.labels)) : [];
    const atPods = se.endpoints.filter((e) => mesh.workloads.some((w) => w.ip === e.address)).length;
    if (selected.length === 0 && atPods === 0) continue;
    const which = selected.length > 0 ? `selects ${selected.length} pod${selected.length === 1 ? '' : 's'} (${selected.slice(0, 3).map((w) => w.id).join(', ')}${selected.length > 3 ? ', …' : ''})` : `lists ${atPods} endpoint${atPods === 1 ? '' : 's'} at pod addresses`;
    issues.warn('se-mesh-endpoints-not-modeled', `ServiceEntry ${se.meta.namespace}/${se.meta.name} ${which}: meshrange does not send its hosts' calls to those pods, it simulates them as leaving the mesh, without the pods' sidecar, PeerAuthentication or AuthorizationPolicy`,
      se.meta.loc, 'to check what those pods admit, call them through a Service that selects them');
  }

  for (const ns of mesh.namespaces.values()) {
    if (ns.labels['istio-injection'] !== undefined && ns.labels['istio.io/rev'] !== undefined) {
      issues.warn('IST0123', `namespace ${ns.name} has both istio-injection and istio.io/rev labels; istio-injection wins`, ns.loc);
    }
  }
}
