/**
 * Istio's DNS proxying ("DNS capture", ISTIO_META_DNS_CAPTURE): whether a
 * pod's istio-agent answers the app's DNS queries itself.
 *
 * Rules (istio-agent, istio-iptables --redirect-dns, pkg/dns):
 *  1. On for a pod when the first layer that sets ISTIO_META_DNS_CAPTURE
 *     says so (loader/proxy-config.ts rule 2): the oldest ProxyConfig of its
 *     namespace whose selector picks it, its `proxy.istio.io/config`
 *     annotation, the oldest ProxyConfig of its namespace without selector,
 *     the oldest of the root namespace without selector, MeshConfig
 *     defaultConfig.proxyMetadata. Off by default. Only a pod with a sidecar
 *     has an agent to answer.
 *  2. With it on, iptables sends the app's queries (UDP/TCP 53) to the agent.
 *     The agent answers the names of its name table itself, and forwards
 *     every other query to kube-dns from the proxy's own user, through the
 *     pod's network: NetworkPolicy still meets those (decide.ts).
 */
import { parseCidr } from '../core/ip.js';
import { ownValue } from '../core/record.js';
import type { ServiceEntry } from '../model/egress.js';
import type { Mesh, ProxyConfigResource, Workload } from '../model/types.js';
import { selectorMatches } from '../model/types.js';
import { meshIndex } from '../model/index.js';
import { olderFirst } from './peer-authentication.js';

export interface DnsCapture {
  on: boolean;
  /** where the setting comes from, for explanations */
  from: string;
}

const nameOf = (p: ProxyConfigResource): string => `ProxyConfig ${p.meta.namespace}/${p.meta.name}`;

/** Whether `w`'s agent captures its DNS queries, and which layer says so (rule 1). */
export function dnsCaptureOf(mesh: Mesh, w: Workload): DnsCapture {
  if (!w.sidecar) return { on: false, from: 'no sidecar, so no agent to answer' };
  // it depends on the mesh alone: once per workload
  return meshIndex(mesh).memoFor('dns-capture', w, () => captureOf(mesh, w));
}

function captureOf(mesh: Mesh, w: Workload): DnsCapture {
  const pcs = (mesh.proxyConfigs ?? []).filter((p) => p.selectsNothing !== true);
  // of each kind only the oldest counts (GetProxyConfigs sorts by creation time; the first match is returned)
  const oldest = (list: readonly ProxyConfigResource[]): ProxyConfigResource | undefined => [...list].sort(olderFirst)[0];
  const own = pcs.filter((p) => p.meta.namespace === w.namespace);
  const selecting = oldest(own.filter((p) => p.selector !== null && selectorMatches(p.selector, w.labels)));
  if (selecting?.dnsCapture !== undefined) return { on: selecting.dnsCapture, from: `${nameOf(selecting)} (selecting the pod)` };
  if (w.dnsCaptureAnnotation !== undefined) return { on: w.dnsCaptureAnnotation, from: 'the pod\'s proxy.istio.io/config annotation' };
  const nsWide = oldest(own.filter((p) => p.selector === null));
  if (nsWide?.dnsCapture !== undefined) return { on: nsWide.dnsCapture, from: `${nameOf(nsWide)} (namespace-wide)` };
  const root = mesh.config.rootNamespace;
  const meshWide = w.namespace === root ? undefined : oldest(pcs.filter((p) => p.meta.namespace === root && p.selector === null));
  if (meshWide?.dnsCapture !== undefined) return { on: meshWide.dnsCapture, from: `${nameOf(meshWide)} (root namespace, mesh-wide)` };
  if (mesh.config.dnsCapture !== undefined) return { on: mesh.config.dnsCapture, from: 'the mesh config\'s defaultConfig.proxyMetadata' };
  return { on: false, from: 'the default (ISTIO_META_DNS_CAPTURE unset)' };
}

/** The label that keeps Istio from allocating an address to a ServiceEntry (ipallocate). */
export const AUTOALLOCATE_LABEL = 'networking.istio.io/enable-autoallocate-ip';

/**
 * How a proxy that captures DNS knows a ServiceEntry host by address (pkg/dns/server/name_table.go with the entry's
 * service addresses, pilot/pkg/controllers/ipallocate):
 *  - `addresses`: an IP, or a single-address CIDR (/32, /128), which Istio reads as a plain IP; a wider CIDR gives the
 *    host no name-table entry at all;
 *  - `allocated`: no addresses, resolution DNS, DNS_ROUND_ROBIN or STATIC and the exact host (DYNAMIC_DNS: wildcards
 *    too), unless the entry's label `networking.istio.io/enable-autoallocate-ip` is "false"
 *    (PILOT_ENABLE_IP_AUTOALLOCATE, on by default since Istio 1.25: the proxy's listeners bind to that address too);
 *  - `endpoints`: resolution NONE without addresses, by its endpoints' addresses or selected pods (the caller looks);
 *  - null: none.
 */
export function entryAddressKind(se: ServiceEntry, host: string): 'addresses' | 'allocated' | 'endpoints' | null {
  if (se.addresses.length > 0) {
    return se.addresses.some((a) => { const c = parseCidr(a); return c !== null && c.bits === (c.v6 ? 128 : 32); }) ? 'addresses' : null;
  }
  if (se.resolution === 'NONE') return 'endpoints';
  if (ownValue(se.meta.labels, AUTOALLOCATE_LABEL) === 'false') return null;
  return se.resolution === 'DYNAMIC_DNS' || se.hosts.includes(host) ? 'allocated' : null;
}
