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
 * sidecar workload resolves to that entry (those of the entry's namespace; elsewhere, those the Service is not
 * exported to). Where their requests go is policy/decide.ts entryTarget's answer. meshrange simulates it; this says
 * why. */
import { meshIndex } from '../../model/index.js';
import type { Service, Workload } from '../../model/types.js';
import { byCodeUnit } from '../../core/text.js';
import type { Sidecar } from '../../model/egress.js';
import { lookupDestination, normalizeHost, sidecarFor, sidecarsNear, type EgressInput, type EgressLookup } from '../../policy/egress.js';
import { listed, subjectOf } from '../context.js';
import { entryTarget, type EntryTarget } from '../../policy/decide.js';
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
    const shadowing = mesh.serviceEntries.map((se) => ({ se, pairs: se.hosts.map(normalizeHost)
      .flatMap((h) => index.services(h).filter((s) => s.namespace !== se.meta.namespace).map((s) => ({ h, s }))) }))
      .filter((x) => x.pairs.length > 0);
    if (shadowing.length === 0) return out;
    // What a client's proxy takes a hostname from depends only on its namespace and the Sidecar that applies to it:
    // one lookup per (namespace, Sidecar, host, port), not per workload (crafted meshes stay linear).
    const clients = mesh.workloads.filter((w) => w.sidecar && !w.gateway);
    const groups = new Map<string, { rep: Workload; input: EgressInput; members: Workload[]; memo: Map<string, EgressLookup> }>();
    const sidecarIds = new Map<Sidecar, number>();
    for (const w of clients) {
      const sidecars = sidecarsNear((n) => index.sidecars(n), root, w);
      const picked = sidecarFor(sidecars, root, w).sidecar;
      let id = 0;
      if (picked) { id = sidecarIds.get(picked) ?? sidecarIds.size + 1; sidecarIds.set(picked, id); }
      const key = `${id}|${w.namespace}`;
      const g = groups.get(key);
      if (g) g.members.push(w);
      else groups.set(key, { rep: w, members: [w], memo: new Map(), input: { services: mesh.services, serviceEntries: mesh.serviceEntries, sidecars,
        rootNamespace: root, meshMode: mesh.config.outboundTrafficPolicy, picked: { client: w, sidecar: picked } } });
    }
    for (const { se, pairs } of shadowing) {
      for (const { h, s } of pairs) {
        const taken: Workload[] = [];
        for (const g of groups.values()) {
          const takes = se.ports.some((p) => {
            const k = `${h}|${p.number}`;
            let l = g.memo.get(k);
            if (l === undefined) { l = lookupDestination({ ...g.input, services: index.services(h) }, g.rep, h, p.number); g.memo.set(k, l); }
            return l.kind === 'service-entry' && l.entry === se;
          });
          if (takes) taken.push(...g.members);
        }
        if (taken.length === 0) continue;
        taken.sort((x, y) => byCodeUnit(x.id, y.id));
        out.push({
          subject: subjectOf('ServiceEntry', se.meta),
          message: `ServiceEntry ${se.meta.namespace}/${se.meta.name} declares host ${h}, the FQDN of Service ${s.namespace}/${s.name}: ${listed(taken.map((w) => w.id))} `
            + `send${taken.length > 1 ? '' : 's'} ${taken.length > 1 ? 'their' : 'its'} requests for it ${where(entryTarget(mesh, se, h, se.meta.namespace), s)}`,
          hint: `remove ${h} from the hosts of ServiceEntry ${se.meta.namespace}/${se.meta.name} (the Service is known without it), or give the entry a hostname of its own`,
        });
      }
    }
    return out;
  },
};

/** where the entry's cluster takes the Service's requests (policy/decide.ts entryTarget), in words */
function where(t: EntryTarget, s: Service): string {
  switch (t.kind) {
    case 'external': return `to the entry's endpoint ${t.to}, not to the Service`;
    case 'pod': return `to the entry's endpoint, pod ${t.workload.id}${t.mtls ? '' : ', in plaintext'}, not to the Service`;
    case 'empty': return 'nowhere: the entry has no endpoint (503)';
    case 'service': return t.service && t.service !== s ? `to Service ${t.service.namespace}/${t.service.name}${t.auto ? '' : ', in plaintext'}, not to ${s.namespace}/${s.name}`
      : t.auto ? 'on to the Service, through the entry\'s cluster' : 'on to the Service in plaintext, without mTLS';
  }
}
