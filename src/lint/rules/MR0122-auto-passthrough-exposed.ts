/**
 * MR0122 auto-passthrough-exposed — an AUTO_PASSTHROUGH gateway port reachable from outside the cluster lets a
 * stolen mesh certificate into every Service under the server's hosts.
 *
 * Semantics (istio-semantics.md §9, §1; Istio builtAutoPassthroughFilterChains; policy/routing.ts
 * autoPassthroughServer, policy/inbound.ts autoPassthrough):
 * - a Gateway server with `tls.mode: AUTO_PASSTHROUGH` (an east-west gateway, Istio multi-network) builds one filter
 *   chain per Service of the mesh the gateway can see whose hostname falls under the server's hosts — and per host of a
 *   MESH_INTERNAL ServiceEntry (VMs, STATIC endpoints), only MESH_EXTERNAL ones are skipped; a client offering Istio
 *   mTLS with SNI `outbound_.<port>_.<subset>_.<host>` is forwarded to that service's mTLS endpoints untouched;
 * - Istio builds these chains with no authorization filters: no AuthorizationPolicy on the gateway applies, and the
 *   destination sidecar sees the client's own certificate. Whoever reaches the port holding any mesh-signed
 *   certificate (a stolen one) reaches every such Service with that identity;
 * - Istio's multi-network guide puts this gateway behind a LoadBalancer Service: how far that reaches is the exposure.
 * Rule: each (Gateway server whose mode is AUTO_PASSTHROUGH) × (Service reachable from outside the cluster that exposes
 * the server's port on a gateway pod the Gateway selects). Selects: policy/routing.ts gatewaysFor. Exposes: a Service
 * selecting the pod has a TCP port whose `port` or resolved target port is the server's port number (as the engine
 * matches a server to a Service port). Reachable from outside: type NodePort (always: nodes are often reachable), or
 * LoadBalancer unless a well-known annotation makes it internal (GKE, AWS, Azure; values compared case-insensitively)
 * or `loadBalancerSourceRanges` lists ranges (honoured as written, not checked to be private). meshrange simulates the
 * attack (impersonate through the gateway's port); this says where the port is open.
 */
import { ownValue } from '../../core/record.js';
import { byCodeUnit } from '../../core/text.js';
import { meshIndex } from '../../model/index.js';
import { hostSubsetOf, type Gateway, type GatewayServer } from '../../model/routing.js';
import type { Mesh, Service, Workload } from '../../model/types.js';
import { exported, serviceExportTo } from '../../policy/egress.js';
import { targetPortOf } from '../../policy/pipeline.js';
import { gatewaysFor, serverMode, stripNs } from '../../policy/routing.js';
import { listed, serverLoc, subjectOf } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

/** Annotations that make a cloud LoadBalancer internal (a private address), with the value that does it, lower case. */
const INTERNAL_LB: readonly (readonly [string, string])[] = [
  ['networking.gke.io/load-balancer-type', 'internal'],
  ['cloud.google.com/load-balancer-type', 'internal'], // GKE's older name for it
  ['service.beta.kubernetes.io/aws-load-balancer-internal', 'true'],
  ['service.beta.kubernetes.io/aws-load-balancer-scheme', 'internal'],
  ['service.beta.kubernetes.io/azure-load-balancer-internal', 'true'],
];

/** Kubernetes' annotation form of spec.loadBalancerSourceRanges (comma-separated), read when the field is empty. */
const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';

/** Reachable from outside the cluster: NodePort, or a LoadBalancer neither internal nor limited to source ranges. */
function external(s: Service): boolean {
  if (s.type === 'NodePort') return true;
  if (s.type !== 'LoadBalancer') return false;
  if (INTERNAL_LB.some(([k, v]) => ownValue(s.annotations, k)?.toLowerCase() === v)) return false;
  // the spec field, or the annotation Kubernetes reads when the field is empty
  return (s.loadBalancerSourceRanges ?? []).length === 0 && (ownValue(s.annotations, SOURCE_RANGES_ANNOTATION) ?? '').trim() === '';
}

/**
 * What an AUTO_PASSTHROUGH server makes a chain for (builtAutoPassthroughFilterChains: every service of the gateway's
 * scope but MESH_EXTERNAL ones): Services and MESH_INTERNAL ServiceEntry hosts visible to the gateway's namespace,
 * hostname under the server's hosts, with a port that is not UDP. As `ns/name`, and `host (ServiceEntry ns/name)`.
 */
function covered(mesh: Mesh, server: GatewayServer, gwNamespace: string): { services: string[]; entries: string[] } {
  const hosts = server.hosts.map(stripNs);
  const services = mesh.services.filter((s) => {
    const e = serviceExportTo(s);
    if (!(e.length === 0 || e.some((x) => x === '*' || x === gwNamespace || (x === '.' && s.namespace === gwNamespace)))) return false;
    return s.ports.some((p) => p.protocol.toUpperCase() !== 'UDP') && hosts.some((h) => hostSubsetOf(s.fqdn, h));
  }).map((s) => `${s.namespace}/${s.name}`);
  const entries: string[] = [];
  for (const se of mesh.serviceEntries) {
    if (se.location !== 'MESH_INTERNAL' || !exported(se.exportTo, se.meta.namespace, gwNamespace) || !se.ports.some((p) => p.protocol !== 'UDP')) continue;
    for (const host of se.hosts) if (hosts.some((h) => hostSubsetOf(host, h))) entries.push(`${host} (ServiceEntry ${se.meta.namespace}/${se.meta.name})`);
  }
  return { services: services.sort(byCodeUnit), entries: entries.sort(byCodeUnit) };
}

interface Exposure { gateway: Gateway; index: number; service: Service; pods: Workload[]; ports: Set<number> }

export const rule: LintRule = {
  code: 'MR0122',
  name: 'auto-passthrough-exposed',
  severity: 'warning',
  title: 'An AUTO_PASSTHROUGH gateway port is reachable from outside the cluster: a stolen mesh certificate opens every Service under its hosts',
  // backticks: SARIF shows the help as markdown, where `<port>` outside code would be read as an HTML tag
  help: 'A Gateway server with `tls.mode: AUTO_PASSTHROUGH` (an east-west gateway) forwards Istio mTLS whose SNI names a cluster (`outbound_.<port>_.<subset>_.<host>`) '
    + 'to that Service\'s sidecars untouched, for every Service under the server\'s hosts, and to the mTLS endpoints (VMs, pods) of every MESH_INTERNAL ServiceEntry host under them. Istio builds these filter chains without authorization filters, '
    + 'so no AuthorizationPolicy on the gateway applies, and the destination sees the client\'s own certificate: anyone who reaches the port with a '
    + 'stolen mesh certificate calls those Services as that workload. Reported when a NodePort Service (nodes are often reachable from outside) '
    + 'or a LoadBalancer Service exposes the port; not when the LoadBalancer is internal by a well-known annotation '
    + '(`networking.gke.io/load-balancer-type: Internal` or the older `cloud.google.com/load-balancer-type: Internal`, `service.beta.kubernetes.io/aws-load-balancer-internal: "true"`, '
    + '`service.beta.kubernetes.io/aws-load-balancer-scheme: internal`, `service.beta.kubernetes.io/azure-load-balancer-internal: "true"`) '
    + 'or lists `loadBalancerSourceRanges` (or the `service.beta.kubernetes.io/load-balancer-source-ranges` annotation), which are honoured as written (not checked to be private). '
    + 'Fix: make the load balancer internal, or limit `loadBalancerSourceRanges` to the peer networks; narrow the server\'s hosts to the Services '
    + 'other networks need. An AuthorizationPolicy on the gateway does not help here.',
  check(mesh) {
    const out: RawFinding[] = [];
    if (!mesh.gateways.some((g) => g.servers.some((s) => serverMode(s) === 'auto-passthrough'))) return out;
    const index = meshIndex(mesh);
    // one finding per (Gateway, server, Service): the pods and Service ports gathered over the gateway pods
    const found = new Map<Gateway, Map<number, Map<Service, Exposure>>>();
    for (const w of mesh.workloads) {
      if (!w.gateway) continue;
      const services = index.servicesSelecting(w).filter(external);
      if (services.length === 0) continue;
      for (const g of gatewaysFor(mesh.gateways, w)) {
        g.servers.forEach((server, i) => {
          if (serverMode(server) !== 'auto-passthrough') return;
          const n = server.port.number;
          for (const s of services) {
            const ports = s.ports.filter((p) => p.protocol.toUpperCase() === 'TCP' && (p.port === n || targetPortOf(p, w) === n));
            if (ports.length === 0) continue;
            let byServer = found.get(g);
            if (!byServer) { byServer = new Map(); found.set(g, byServer); }
            let byService = byServer.get(i);
            if (!byService) { byService = new Map(); byServer.set(i, byService); }
            let e = byService.get(s);
            if (!e) { e = { gateway: g, index: i, service: s, pods: [], ports: new Set() }; byService.set(s, e); }
            e.pods.push(w);
            for (const p of ports) e.ports.add(p.port);
          }
        });
      }
    }
    for (const byServer of found.values()) {
      for (const byService of byServer.values()) {
        // what the server's chains reach depends on the gateway pods' namespace (the Services exported to it)
        const reachIn = new Map<string, { services: string[]; entries: string[] }>();
        for (const e of byService.values()) {
          const server = e.gateway.servers[e.index] as GatewayServer;
          let reach = reachIn.get(e.service.namespace);
          if (!reach) { reach = covered(mesh, server, e.service.namespace); reachIn.set(e.service.namespace, reach); }
          out.push(finding(e, server, reach));
        }
      }
    }
    return out;
  },
};

function finding(e: Exposure, server: GatewayServer, reach: { services: readonly string[]; entries: readonly string[] }): RawFinding {
  const g = e.gateway.meta;
  const s = e.service;
  const svc = `${s.namespace}/${s.name}`;
  const ports = [...e.ports].sort((a, b) => a - b);
  const pods = e.pods.map((w) => w.id).sort(byCodeUnit);
  const where = s.type === 'NodePort' ? 'on every node\'s address (nodes are often reachable from outside the cluster)' : 'on an external load balancer address';
  const n = reach.services.length;
  const m = reach.entries.length;
  const what = n === 0 && m === 0 ? 'any Service later created under those hosts (none yet)'
    : m === 0 ? `any of the ${n} Service${n === 1 ? '' : 's'} under those hosts (${listed(reach.services)})`
      : `${n > 0 ? `any of the ${n} Service${n === 1 ? '' : 's'} under those hosts (${listed(reach.services)}) and ` : ''}the endpoints with Istio's tlsMode of ${m === 1 ? 'the MESH_INTERNAL ServiceEntry host' : `the ${m} MESH_INTERNAL ServiceEntry hosts`} under them (${listed(reach.entries)})`;
  return {
    subject: subjectOf('Gateway', g),
    ...serverLoc(e.gateway, e.index),
    message: `Gateway ${g.namespace}/${g.name} server ${e.index} (AUTO_PASSTHROUGH on port ${server.port.number}, hosts ${listed(server.hosts)}) is exposed by `
      + `${s.type} Service ${svc} port ${ports.join(', ')} ${where}, through gateway pod${pods.length === 1 ? '' : 's'} ${listed(pods)}: `
      + `anyone who reaches it with a stolen mesh certificate can call ${what} as that certificate's workload, `
      + 'and no AuthorizationPolicy on the gateway stops it',
    hint: s.type === 'NodePort'
      ? `make Service ${svc} type ClusterIP, or a LoadBalancer that is internal or limited by loadBalancerSourceRanges to the peer networks, and narrow the server's hosts to the Services other networks need; an AuthorizationPolicy on the gateway does not apply to these chains`
      : `make Service ${svc} an internal load balancer (e.g. networking.gke.io/load-balancer-type: Internal), or set loadBalancerSourceRanges to the peer networks' ranges, and narrow the server's hosts to the Services other networks need; an AuthorizationPolicy on the gateway does not apply to these chains`,
  };
}
