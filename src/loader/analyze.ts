/**
 * Findings about what Istio accepts but ignores or does not do as the author
 * probably meant (istio-semantics §13, §14): warnings, never errors. IST codes
 * are istioctl analyze's; SIM codes are meshrange's own (§13 says to keep
 * simulator-only findings out of the IST namespace).
 */
import type { IssueList } from '../core/issues.js';
import type { Mesh } from '../model/types.js';
import { labelIndex } from '../model/index.js';

export function analyzeMesh(mesh: Mesh, issues: IssueList): void {
  const root = mesh.config.rootNamespace;
  // one index of the workloads by namespace and label: every check below is a lookup, not a scan of
  // every workload per policy (10,000 policies × 10,000 workloads was most of a large mesh's load)
  const pods = labelIndex(mesh.workloads);
  const nsHasPods = (ns: string): boolean => pods.inNamespace(ns).length > 0;

  for (const p of mesh.authorizationPolicies) {
    const ns = p.meta.namespace;
    const name = `AuthorizationPolicy ${ns}/${p.meta.name}`;
    if (p.targetRefs.length > 0) {
      issues.warn('SIM001', `${name} uses targetRefs, which apply to waypoints and Kubernetes Gateways, not to sidecars; it has no effect on sidecar workloads`, p.meta.loc);
      continue;
    }
    const selected = pods.matching(p.selector ?? {}, ns === root ? undefined : ns);
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
    } else if (p.selector !== null && pods.matching(p.selector, p.meta.namespace).length === 0) {
      issues.warn('SIM005', `PeerAuthentication ${p.meta.namespace}/${p.meta.name} selects no workload`, p.meta.loc);
    }
  }
  const levels = new Map<string, { names: string[]; first: Mesh['peerAuthentications'][number] }>();
  for (const p of mesh.peerAuthentications) {
    if (p.selector !== null) continue;
    const key = p.meta.namespace;
    const level = levels.get(key);
    if (level) level.names.push(p.meta.name); else levels.set(key, { names: [p.meta.name], first: p });
  }
  for (const [ns, { names, first }] of levels) {
    if (names.length > 1) {
      issues.warn('SIM006', `namespace ${ns} has ${names.length} ${ns === root ? 'mesh' : 'namespace'}-level PeerAuthentications (${names.join(', ')}): only the oldest applies`, first?.meta.loc);
    }
  }

  const serviceByFqdn = new Map<string, Mesh['services'][number]>();
  for (const s of mesh.services) if (!serviceByFqdn.has(s.fqdn)) serviceByFqdn.set(s.fqdn, s);
  const entryHosts = new Set<string>();
  for (const se of mesh.serviceEntries) for (const h of se.hosts) entryHosts.add(h);
  for (const dr of mesh.destinationRules) {
    const tls = dr.trafficPolicy?.tls;
    if (tls?.mode === 'ISTIO_MUTUAL') {
      const svc = serviceByFqdn.get(dr.fqdnHost);
      const eps = svc && svc.selector ? pods.matching(svc.selector, svc.namespace) : [];
      if (eps.length > 0 && eps.every((w) => !w.sidecar && !w.gateway)) {
        issues.warn('SIM007', `DestinationRule ${dr.meta.namespace}/${dr.meta.name} sends ISTIO_MUTUAL to ${dr.host}, whose pods have no sidecar: every call fails with 503`, dr.meta.loc);
      }
    }
    if (!dr.host.includes('*') && !serviceByFqdn.has(dr.fqdnHost) && !entryHosts.has(dr.fqdnHost) && !entryHosts.has(dr.host)) {
      issues.warn('IST0174', `DestinationRule ${dr.meta.namespace}/${dr.meta.name}: host ${dr.host} matches no service`, dr.meta.loc);
    }
  }

  // A ServiceEntry whose endpoints are pods of the mesh (a workloadSelector, or STATIC addresses that are pod IPs):
  // Istio sends its hosts' calls to those pods and their sidecars; meshrange simulates them as leaving the mesh.
  const podIps = new Set(mesh.workloads.map((w) => w.ip));
  for (const se of mesh.serviceEntries) {
    const selected = se.workloadSelector ? pods.matching(se.workloadSelector, se.meta.namespace) : [];
    const atPods = se.endpoints.filter((e) => podIps.has(e.address)).length;
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
