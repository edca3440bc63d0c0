/**
 * MR0121 service-host-shadowed — a ServiceEntry naming a Kubernetes Service of another namespace takes that Service's
 * traffic from its own namespace's sidecars.
 *
 * Semantics (istio-semantics.md §8; Istio 1.24+ unified Sidecar scoping, selectServices; policy/egress.ts
 * hostNamespace, policy/decide.ts):
 * - a proxy keeps one namespace per hostname it imports: the client's own namespace first, then a Kubernetes
 *   Service's, then the first ServiceEntry exported to it; the port plays no part in the choice;
 * - so a ServiceEntry whose host is the FQDN of a Service in another namespace is, for the sidecars of the entry's
 *   namespace, what that FQDN means: their requests take the entry's cluster — to its endpoints, or, with none
 *   (resolution NONE, or DNS of the name itself), on to the Service's address with no auto mTLS, which a STRICT
 *   server refuses and which carries no identity for its AuthorizationPolicies. A port the entry does not declare is
 *   unknown to them (PassthroughCluster or REGISTRY_ONLY's black hole).
 * Rule: a ServiceEntry host equal to the FQDN of a Service of another namespace, that the lookup of at least one
 * sidecar workload of the entry's namespace resolves to that entry. meshrange simulates it; this says why.
 */
import { meshIndex } from '../../model/index.js';
import type { ServiceEntry } from '../../model/egress.js';
import type { Workload } from '../../model/types.js';
import { entryEndpointAddress, lookupDestination, normalizeHost, sidecarsNear, type EgressInput } from '../../policy/egress.js';
import { listed, subjectOf } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

export const rule: LintRule = {
  code: 'MR0121',
  name: 'service-host-shadowed',
  severity: 'warning',
  title: 'A ServiceEntry names a Service of another namespace and takes its traffic from its own namespace',
  help: 'Istio keeps one namespace per hostname, the client\'s own first: a ServiceEntry whose host is the FQDN of a Kubernetes Service in another namespace '
    + 'is what that name means to the sidecars of the entry\'s namespace. Their requests go to the entry\'s endpoints, or, without endpoints, on to the Service in plaintext '
    + '(no auto mTLS, so STRICT refuses them and identity-based policies see no principal). Fix: remove the host from the ServiceEntry (a Service needs none to be known), '
    + 'or give the entry a name of its own.',
  check(mesh) {
    const out: RawFinding[] = [];
    const index = meshIndex(mesh);
    const root = mesh.config.rootNamespace;
    for (const se of mesh.serviceEntries) {
      const ns = se.meta.namespace;
      const shadowed = se.hosts.map(normalizeHost).flatMap((h) => index.services(h).filter((s) => s.namespace !== ns).map((s) => ({ h, s })));
      if (shadowed.length === 0) continue;
      const clients = mesh.workloads.filter((w) => w.namespace === ns && w.sidecar && !w.gateway);
      for (const { h, s } of shadowed) {
        const taken = clients.filter((w) => takes(inputFor(mesh, index, root, w), w, h, se));
        if (taken.length === 0) continue;
        const at = entryEndpointAddress(se);
        out.push({
          subject: subjectOf('ServiceEntry', se.meta),
          message: `ServiceEntry ${ns}/${se.meta.name} declares host ${h}, the FQDN of Service ${s.namespace}/${s.name}: ${listed(taken.map((w) => w.id))} `
            + `send${taken.length > 1 ? '' : 's'} ${taken.length > 1 ? 'their' : 'its'} requests for it ${at ? `to the entry's endpoint ${at}, not to the Service` : 'on to the Service in plaintext, without mTLS'}`,
          hint: `remove ${h} from the hosts of ServiceEntry ${ns}/${se.meta.name} (the Service is known without it), or give the entry a hostname of its own`,
        });
      }
    }
    return out;
  },
};

function inputFor(mesh: Parameters<LintRule['check']>[0], index: ReturnType<typeof meshIndex>, root: string, w: Workload): EgressInput {
  return { services: mesh.services, serviceEntries: mesh.serviceEntries, sidecars: sidecarsNear((n) => index.sidecars(n), root, w),
    rootNamespace: root, meshMode: mesh.config.outboundTrafficPolicy };
}

/** whether w's proxy takes h from `se` on one of the entry's ports */
function takes(input: EgressInput, w: Workload, h: string, se: ServiceEntry): boolean {
  return se.ports.some((p) => { const l = lookupDestination(input, w, h, p.number); return l.kind === 'service-entry' && l.entry === se; });
}
