/**
 * Egress resources as immutable data (istio-semantics §8): ServiceEntry adds
 * hosts to the mesh registry, Sidecar narrows what one proxy sees and may
 * override the mesh outboundTrafficPolicy. Read by `loader/egress.ts`, judged
 * by `policy/egress.ts`.
 */
import type { Labels, ObjectMeta } from './types.js';

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
