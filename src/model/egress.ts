/**
 * Egress resources as immutable data (istio-semantics §8): ServiceEntry adds
 * hosts to the mesh registry, Sidecar narrows what one proxy sees and may
 * override the mesh outboundTrafficPolicy. Read by `loader/egress.ts`, judged
 * by `policy/egress.ts`.
 */
import { meshIndex } from './index.js';
import { selectorMatches, type Labels, type Mesh, type ObjectMeta } from './types.js';

export type ServiceEntryLocation = 'MESH_EXTERNAL' | 'MESH_INTERNAL';
export type ServiceEntryResolution = 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN' | 'DYNAMIC_DNS';

export interface ServiceEntryPort {
  number: number;
  /** DNS-1123 label, unique in the entry (validation.go requires it) */
  name: string;
  /** as written, upper-cased (`HTTP`, `TLS`…); '' = unset (protocol sniffing) */
  protocol: string;
  targetPort?: number;
}

export interface ServiceEntryEndpoint {
  address: string;
  /** port name → endpoint port */
  ports?: Record<string, number>;
  labels?: Labels;
  /** the endpoint's service account: without a `security.istio.io/tlsMode` label it marks the endpoint Istio mTLS (getTLSModeFromWorkloadEntry) */
  serviceAccount?: string;
  network?: string;
  locality?: string;
  /** load-balancing weight, 0 = unset (1) */
  weight?: number;
}

/**
 * networking.istio.io WorkloadEntry: one non-Kubernetes workload (a VM). It is an endpoint of every ServiceEntry of
 * its namespace whose workloadSelector its labels match (serviceentry controller, getWorkloadServiceEntries), read
 * there like an inline endpoint: its port for the entry port's name, else the entry port's targetPort, else the
 * entry port's number; its tlsMode label, else Istio mTLS when it names a serviceAccount.
 */
export interface WorkloadEntry extends ServiceEntryEndpoint {
  meta: ObjectMeta;
  /** IP, FQDN or unix:// path; '' only with a network (reached through that network's gateway) */
  address: string;
  labels: Labels;
}

export interface ServiceEntry {
  meta: ObjectMeta;
  /** lower-cased as written; never qualified (Istio keeps ServiceEntry hosts verbatim) */
  hosts: string[];
  /** IPs or CIDR blocks */
  addresses: string[];
  ports: ServiceEntryPort[];
  /** default MESH_EXTERNAL (enum 0) */
  location: ServiceEntryLocation;
  /** default NONE (enum 0) */
  resolution: ServiceEntryResolution;
  /** same grammar as DestinationRule; `~` = exported to no namespace */
  exportTo: string[];
  endpoints: ServiceEntryEndpoint[];
  workloadSelector: Labels | null;
}

export type SidecarOutboundMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';

export interface SidecarEgressListener {
  /** absent = the catch-all listener (at most one, and it must be last) */
  port?: { number: number; protocol?: string; name?: string };
  /** `namespace/dnsName`: namespace `*`, `.`, `~` or a name; dnsName `*`, `*.suffix` or an FQDN */
  hosts: string[];
}

export interface Sidecar {
  meta: ObjectMeta;
  /** null = applies to the whole namespace (or, in the root namespace, the mesh default) */
  workloadSelector: Labels | null;
  /** empty = Istio's implicit catch-all listener with hosts `*\/*` */
  egress: SidecarEgressListener[];
  /** replaces the mesh policy as a whole when set; proto default mode is REGISTRY_ONLY (enum 0) */
  outboundTrafficPolicy?: { mode: SidecarOutboundMode; egressProxy?: { host: string; port?: number } };
}

/**
 * The WorkloadEntries a ServiceEntry's workloadSelector picks: those of its namespace whose labels the selector's
 * match (serviceentry controller, getWorkloadServiceEntries), in load order; one without an address (a network's
 * gateway reaches it) is no endpoint meshrange can send to.
 */
export function selectedWorkloadEntries(mesh: Mesh, se: ServiceEntry): readonly WorkloadEntry[] {
  const sel = se.workloadSelector;
  const all = mesh.workloadEntries;
  if (sel === null || all === undefined || all.length === 0) return [];
  // worked out once per entry (the mesh index's memo): decide() asks on every request to the entry
  return meshIndex(mesh).memoFor('se-workload-entries', se, () =>
    all.filter((we) => we.meta.namespace === se.meta.namespace && we.address !== '' && selectorMatches(sel, we.labels)));
}

