/**
 * networking.istio.io ServiceEntry and Sidecar (istio-semantics §8, §14), read
 * and validated as Istio's admission webhook would: what Istio rejects is an
 * error here; what it accepts with a warning is a warning.
 *
 * Rules and where they come from (pkg/config/validation/validation.go,
 * ValidateServiceEntry / ValidateSidecar, and validation/agent for host names;
 * read in the istio/istio sources):
 *
 * ServiceEntry
 * - hosts: at least one (error); `*` alone is invalid; each must be a domain
 *   whose first label may be a wildcard (`*.example.com`), labels DNS-1123
 *   (lower case), top-level label not all digits (so an IP is not a host).
 *   A partial wildcard (`*foo.example.com`) is only a warning.
 * - addresses: IPs or CIDR blocks; a CIDR needs resolution NONE or STATIC.
 * - ports: each needs a number in 1-65535, a DNS-1123 name; names and numbers
 *   unique; protocol empty (sniffed) or one Istio parses (HTTP, HTTPS, HTTP2,
 *   HTTP_PROXY, GRPC, GRPC-WEB, TCP, TLS, UDP, MONGO, MYSQL, REDIS; any case);
 *   targetPort, when set, in 1-65535.
 *   No `ports` at all is accepted by Istio (the API docs say "required", the
 *   webhook does not check): meshrange warns, since such an entry makes its
 *   hosts known on no port at all.
 * - workloadSelector and endpoints are mutually exclusive.
 * - NONE: no endpoints (error); a workloadSelector is only warned about.
 * - STATIC: endpoint addresses are IPs (or unix://); endpoint port names must
 *   be declared ports. Istio ≤1.5 rejected STATIC without endpoints; current
 *   Istio accepts it (a workloadSelector may supply them, or nothing does and
 *   calls get 503 "no healthy upstream"): meshrange warns.
 * - DNS / DNS_ROUND_ROBIN: without endpoints every host must be an FQDN — a
 *   wildcard host is rejected; DNS_ROUND_ROBIN takes at most one endpoint;
 *   endpoint addresses are IPs or FQDNs.
 * - DYNAMIC_DNS: accepted without further checks here [? newest resolution
 *   mode; its webhook rules were not read].
 * - More than one host with resolution other than NONE needs every port to be
 *   HTTP-ish or TLS-ish (plain TCP cannot tell the hosts apart).
 * - exportTo: `.`, `*`, `~` or namespace names; no duplicates (`.` counts as
 *   the own namespace); `*` or `~` only alone.
 *
 * Sidecar
 * - Entirely empty (no egress, ingress, outboundTrafficPolicy or
 *   inboundConnectionPool) is rejected. Egress may be omitted: Istio then uses
 *   one catch-all listener with hosts `*\/*`.
 * - Each egress listener needs at least one host; at most one listener has no
 *   port and it must be the last; listener port numbers are unique, 1-65535,
 *   protocol as above, name DNS-1123.
 * - Each host is `namespace/dnsName`: namespace `*`, `.`, `~` (no namespace)
 *   or a DNS-1123 name; dnsName `*` or a name with a dot (short names are
 *   rejected), wildcard only as the whole first label. Duplicates and `*\/*`
 *   next to other hosts are warnings.
 * - outboundTrafficPolicy.mode: REGISTRY_ONLY or ALLOW_ANY; omitted = the proto
 *   default REGISTRY_ONLY (enum value 0); egressProxy only with ALLOW_ANY, with
 *   an FQDN host and a port.
 * - workloadSelector `{ labels: … }` (not matchLabels); empty labels is a
 *   warning ("will be applied to all services in namespace").
 */
import { parseCidr, parseIp } from '../core/ip.js';
import { setOwn } from '../core/record.js';
import type {
  ServiceEntry, ServiceEntryEndpoint, ServiceEntryLocation, ServiceEntryPort, ServiceEntryResolution,
  Sidecar, SidecarEgressListener, SidecarOutboundMode, WorkloadEntry,
} from '../model/egress.js';
import type { ObjectMeta } from '../model/types.js';
import { DESTINATION_FIELDS, PORT_FIELDS, PORT_SELECTOR_FIELDS } from './istio-messages.js';
import { isObj, Reader, rejectUnknownFields, type Obj } from './reader.js';
import type { Path } from './yaml-source.js';
import { checkExportTo } from './export-to.js';
import { fqdnProblem, isDns1123Label, quotedName, wildcardDomainProblem } from './names.js';

const LOCATIONS: readonly string[] = ['MESH_EXTERNAL', 'MESH_INTERNAL'];
const RESOLUTIONS: readonly string[] = ['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS'];
const SIDECAR_MODES: readonly string[] = ['REGISTRY_ONLY', 'ALLOW_ANY'];
/** protocol.Parse in istio/istio pkg/config/protocol (case-insensitive). */
export const ISTIO_PROTOCOLS: readonly string[] = ['HTTP', 'HTTPS', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-WEB', 'TCP', 'TLS', 'UDP', 'MONGO', 'MYSQL', 'REDIS'];
const HTTP_PROTOCOLS: readonly string[] = ['HTTP', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-WEB'];
const TLS_PROTOCOLS: readonly string[] = ['HTTPS', 'TLS'];

function isPartialWildcard(host: string): boolean {
  return host.includes('*') && host.length !== 1 && !host.startsWith('*.');
}

export function protocolIsHttp(p: string): boolean {
  return HTTP_PROTOCOLS.includes(p.toUpperCase());
}

export function protocolIsTls(p: string): boolean {
  return TLS_PROTOCOLS.includes(p.toUpperCase());
}

function protocolKnown(p: string): boolean {
  return p === '' || ISTIO_PROTOCOLS.includes(p.toUpperCase());
}

/**
 * networking WorkloadSelector `{ labels: {…} }`; absent = null. Empty labels are still a selector, one every pod of
 * the namespace matches (Istio: WorkloadSelector != nil): a Sidecar with it is picked ahead of the namespace's
 * Sidecar without one, and in the root namespace it is not the mesh default.
 */
function readWorkloadSelector(r: Reader, spec: Obj, kind: string): Record<string, string> | null {
  const sel = r.obj(spec, 'workloadSelector', ['spec']);
  if (!sel) return null;
  const before = r.issues.errors.length;
  rejectUnknownFields(r, sel, ['labels'], ['spec', 'workloadSelector'],
    (k) => (k === 'matchLabels' ? `a ${kind} workloadSelector takes labels, not matchLabels: write workloadSelector: { labels: { app: … } }` : undefined));
  if (r.issues.errors.length > before) return null;
  const labels = r.labels(sel, 'labels', ['spec', 'workloadSelector']);
  if (!labels || Object.keys(labels).length === 0) {
    r.warn(['spec', 'workloadSelector'], `${kind === 'Sidecar' ? 'sidecar' : 'se'}-empty-selector`,
      kind === 'Sidecar'
        ? 'workloadSelector has no labels; it will be applied to all workloads in the namespace, ahead of a Sidecar without workloadSelector (and in the root namespace it is not the mesh default)'
        : 'workloadSelector has no labels; it will be applied to all workloads in the namespace',
      'list the pod labels to select, or remove workloadSelector');
    return {};
  }
  for (const [k, v] of Object.entries(labels)) {
    if (k === '' || k.includes('*') || v.includes('*')) {
      r.error(['spec', 'workloadSelector', 'labels', k], 'bad-selector', `selector label "${k}=${v}" is invalid (empty key or wildcard)`,
        'use exact label keys and values');
    }
  }
  return labels;
}

function enumField(r: Reader, spec: Obj, key: string, allowed: readonly string[], dflt: string): string {
  const v = r.str(spec, key, ['spec']);
  if (v === undefined) return dflt;
  if (!allowed.includes(v)) {
    r.error(['spec', key], 'bad-enum', `${key} "${v}" is not one of ${allowed.join(', ')}`, `set ${key} to one of ${allowed.join(', ')}`);
    return dflt;
  }
  return v;
}


/** The fields of the ServiceEntry message in istio/api (its ports: istio-messages.ts PORT_FIELDS; its endpoints: WorkloadEntry messages). */
const SERVICE_ENTRY_FIELDS: readonly string[] = ['hosts', 'addresses', 'ports', 'location', 'resolution', 'endpoints', 'workloadSelector', 'exportTo', 'subjectAltNames'];

export function readServiceEntry(r: Reader, meta: ObjectMeta, obj: Obj): ServiceEntry {
  const spec = r.obj(obj, 'spec', []) ?? {};
  rejectUnknownFields(r, spec, SERVICE_ENTRY_FIELDS, ['spec']);
  const rawHosts = r.strList(spec, 'hosts', ['spec']);
  const hosts: string[] = [];
  const hostIndex: number[] = [];
  if (!rawHosts || rawHosts.length === 0) {
    r.error(['spec'], 'se-hosts-required', 'service entry must have at least one host',
      'set spec.hosts, e.g. [api.example.com] or [*.example.com] with resolution NONE');
  }
  (rawHosts ?? []).forEach((h, i) => {
    const path = ['spec', 'hosts', i];
    if (h === '*') {
      r.error(path, 'se-bad-host', 'invalid host *: a ServiceEntry cannot claim every host', 'name the hosts, or a wildcard domain such as *.example.com');
      return;
    }
    const problem = wildcardDomainProblem(h);
    if (problem) {
      r.error(path, 'se-bad-host', `host "${h}" is invalid: ${problem}`, 'use a lower-case DNS name, optionally starting with *. (IPs go in spec.addresses)');
      return;
    }
    if (isPartialWildcard(h)) r.warn(path, 'se-partial-wildcard', `partial wildcard "${h}" not allowed`, 'use a whole-label wildcard such as *.example.com');
    hosts.push(h.toLowerCase());
    hostIndex.push(i);
  });

  const resolution = enumField(r, spec, 'resolution', RESOLUTIONS, 'NONE') as ServiceEntryResolution;
  const location = enumField(r, spec, 'location', LOCATIONS, 'MESH_EXTERNAL') as ServiceEntryLocation;

  const addresses = r.strList(spec, 'addresses', ['spec']) ?? [];
  addresses.forEach((a, i) => {
    if (!parseCidr(a)) {
      r.error(['spec', 'addresses', i], 'se-bad-address', `"${a}" is not a valid IP address or CIDR block`, 'write an IP such as 192.0.2.10 or a block such as 192.0.2.0/24');
    } else if (a.includes('/') && resolution !== 'NONE' && resolution !== 'STATIC') {
      r.error(['spec', 'addresses', i], 'se-cidr-resolution', 'CIDR addresses are allowed only for NONE/STATIC resolution types',
        'use single IPs, or resolution NONE/STATIC');
    }
  });

  const ports: ServiceEntryPort[] = [];
  const portNames = new Set<string>();
  const portNumbers = new Set<number>();
  const rawPorts = r.arr(spec, 'ports', ['spec']);
  if (rawPorts === undefined || rawPorts.length === 0) {
    r.warn(['spec'], 'se-no-ports', 'ServiceEntry declares no ports: its hosts are known on no port, so every call still goes to the PassthroughCluster (ALLOW_ANY) or the BlackHoleCluster (REGISTRY_ONLY)',
      'add spec.ports, e.g. [{ number: 443, name: tls, protocol: TLS }]');
  }
  (rawPorts ?? []).forEach((p, i) => {
    const path: Path = ['spec', 'ports', i];
    if (!isObj(p)) { r.error(path, 'field-type', 'each port must be a mapping'); return; }
    rejectUnknownFields(r, p, PORT_FIELDS, path);
    const number = r.int(p, 'number', path);
    const name = r.str(p, 'name', path) ?? '';
    const protocol = (r.str(p, 'protocol', path) ?? '').toUpperCase();
    const targetPort = r.int(p, 'targetPort', path);
    if (number === undefined) {
      if (p['number'] === undefined || p['number'] === null) {
        r.error(path, 'se-port-required', 'port needs a number', 'set number, e.g. number: 443');
      }
      return;
    }
    if (number < 1 || number > 65535) {
      r.error([...path, 'number'], 'se-bad-port', `port number ${r.written([...path, 'number'], number)} must be in the range 1..65535`, 'use a port in 1-65535');
    }
    if (!isDns1123Label(name)) {
      r.error(name === '' ? path : [...path, 'name'], 'se-port-name', name === '' ? 'port needs a name' : `invalid port name: ${name}`,
        'give the port a lower-case DNS-1123 name such as http or tls-443');
    } else if (portNames.has(name)) {
      r.error([...path, 'name'], 'se-duplicate-port-name', `service entry port name "${name}" already defined`, 'give each port its own name');
    }
    portNames.add(name);
    if (portNumbers.has(number)) {
      r.error([...path, 'number'], 'se-duplicate-port', `service entry port ${number} already defined`, 'declare each port number once');
    }
    portNumbers.add(number);
    if (!protocolKnown(protocol)) {
      r.error([...path, 'protocol'], 'se-bad-protocol', `unsupported protocol: ${protocol}`, `use one of ${ISTIO_PROTOCOLS.join(', ')}`);
    }
    if (targetPort !== undefined && (targetPort < 1 || targetPort > 65535)) {
      r.error([...path, 'targetPort'], 'se-bad-port', `targetPort ${r.written([...path, 'targetPort'], targetPort)} must be in the range 1..65535`, 'use a port in 1-65535');
    }
    const port: ServiceEntryPort = { number, name, protocol };
    if (targetPort !== undefined) port.targetPort = targetPort;
    ports.push(port);
  });

  if (addresses.length === 0) {
    // Istio's webhook warns "addresses are required for ports serving TCP (or unset) protocol" (analyzer IST0134):
    // with no address to bind to, such a port is a listener on 0.0.0.0:port that takes TCP to every IP on it.
    ports.forEach((p, i) => {
      if (p.protocol !== '' && p.protocol !== 'TCP') return;
      r.warn(['spec', 'ports', i], 'se-tcp-without-addresses', `addresses are required for ports serving TCP (or unset) protocol: port ${p.number} has no address to bind to, so its listener is 0.0.0.0:${p.number} and takes TCP to any IP on that port${resolution === 'NONE' ? ' (on to the address dialled, even under REGISTRY_ONLY)' : ` (to ${hosts[0] ?? 'the entry\'s host'} — unless DNS capture allocates it an address)`}`,
        'set spec.addresses to the service\'s IPs or CIDR, or declare the port TLS/HTTPS (matched by SNI) or HTTP (matched by Host)');
    });
  }
  const workloadSelector = readWorkloadSelector(r, spec, 'ServiceEntry');
  const rawEndpoints = r.arr(spec, 'endpoints', ['spec']);
  if (rawEndpoints !== undefined && spec['workloadSelector'] !== undefined && spec['workloadSelector'] !== null) {
    r.error(['spec', 'endpoints'], 'se-selector-and-endpoints', 'only one of WorkloadSelector or Endpoints is allowed in Service Entry',
      'keep either spec.workloadSelector or spec.endpoints');
  }
  const endpoints: ServiceEntryEndpoint[] = [];
  (rawEndpoints ?? []).forEach((e, i) => {
    const path: Path = ['spec', 'endpoints', i];
    if (!isObj(e)) { r.error(path, 'field-type', 'each endpoint must be a mapping'); return; }
    rejectUnknownFields(r, e, WORKLOAD_ENTRY_FIELDS, path);
    const address = r.str(e, 'address', path) ?? '';
    const ep: ServiceEntryEndpoint = { address };
    const network = r.str(e, 'network', path);
    if (network !== undefined && network !== '') { ep.network = network; warnNetwork(r, [...path, 'network'], network); }
    readEndpointPlacement(r, e, path, ep, 'se-bad-weight');
    const epPorts = r.obj(e, 'ports', path);
    if (epPorts) {
      ep.ports = {};
      for (const [k, v] of Object.entries(epPorts)) {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
          r.error([...path, 'ports', k], 'se-bad-port', `endpoint port ${k}: ${typeof v === 'number' ? r.written([...path, 'ports', k], v) : describeValue(v)} is not a port in 1..65535`, 'map the port name to a number in 1-65535');
          continue;
        }
        if (!portNames.has(k)) {
          r.error([...path, 'ports', k], 'se-endpoint-port', `endpoint port ${v} (${k}) is not defined by the service entry`, `use one of the declared port names: ${[...portNames].join(', ') || 'none'}`);
        }
        setOwn(ep.ports, k, v);
      }
    }
    const labels = r.labels(e, 'labels', path);
    if (labels) ep.labels = labels;
    const serviceAccount = r.str(e, 'serviceAccount', path);
    if (serviceAccount !== undefined && serviceAccount !== '') ep.serviceAccount = serviceAccount;
    if (resolution === 'STATIC' && !address.startsWith('unix://') && !parseIp(address)) {
      r.error([...path, 'address'], 'se-bad-endpoint', `endpoint address "${address}" is not an IP address (resolution STATIC)`,
        'use an IP, or resolution DNS for host names');
    }
    if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && !parseIp(address) && fqdnProblem(address)) {
      r.error([...path, 'address'], 'se-bad-endpoint', `endpoint address "${address}" is not a valid FQDN or an IP address`, 'use an IP or a DNS name');
    }
    endpoints.push(ep);
  });

  if (resolution === 'NONE' && endpoints.length > 0) {
    r.error(['spec', 'endpoints'], 'se-none-with-endpoints', 'no endpoints should be provided for resolution type none',
      'remove the endpoints, or use resolution STATIC (IPs) or DNS (names)');
  }
  if (resolution === 'NONE' && workloadSelector) {
    r.warn(['spec', 'workloadSelector'], 'se-none-with-selector', 'workloadSelector should not be set when resolution mode is NONE', 'use resolution STATIC with a workloadSelector');
  }
  if (resolution === 'STATIC' && endpoints.length === 0 && !workloadSelector) {
    r.warn(['spec'], 'se-static-without-endpoints', 'resolution STATIC without endpoints or workloadSelector: the hosts are known but have no endpoint (503 no healthy upstream)',
      'add spec.endpoints with IP addresses, a workloadSelector, or use resolution DNS');
  }
  if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && endpoints.length === 0) {
    hosts.forEach((h, k) => {
      if (fqdnProblem(h)) {
        r.error(['spec', 'hosts', hostIndex[k] ?? 0], 'se-dns-wildcard', `hosts must be FQDN if no endpoints are provided for resolution mode ${resolution}: "${h}"`,
          'a wildcard host cannot be resolved by DNS; use resolution NONE (or DYNAMIC_DNS) for wildcard hosts, or list endpoints');
      }
    });
  }
  if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
    r.error(['spec', 'endpoints'], 'se-dns-rr-endpoints', 'there must only be 0 or 1 endpoint for resolution mode DNS_ROUND_ROBIN', 'keep one endpoint, or use resolution DNS');
  }
  if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && workloadSelector) {
    r.warn(['spec', 'workloadSelector'], 'se-dns-with-selector', `workloadSelector should not be set when resolution mode is ${resolution}`, 'use resolution STATIC with a workloadSelector');
  }
  if (resolution !== 'NONE' && hosts.length > 1 && ports.some((p) => !protocolIsHttp(p.protocol) && !protocolIsTls(p.protocol))) {
    r.error(['spec', 'hosts'], 'se-multi-host-tcp', 'multiple hosts provided with non-HTTP, non-TLS ports',
      'plain TCP cannot tell the hosts apart: split into one ServiceEntry per host, or use resolution NONE');
  }

  const exportTo = r.strList(spec, 'exportTo', ['spec']) ?? [];
  checkExportTo(r, exportTo, meta.namespace, 'ServiceEntry');

  return { meta, hosts, addresses, ports, location, resolution, exportTo, endpoints, workloadSelector };
}

/** What is wrong with one Sidecar egress host, or null (agent.ValidateNamespaceSlashWildcardHostname). */
export function sidecarHostProblem(host: string): string | null {
  const slash = host.indexOf('/');
  if (slash < 0) return 'host must be of form namespace/dnsName';
  const ns = host.slice(0, slash);
  const dns = host.slice(slash + 1);
  if (ns === '' || dns === '') return 'config namespace and dnsName in host entry cannot be empty';
  if (ns !== '*' && ns !== '.' && ns !== '~' && !isDns1123Label(ns)) return `invalid namespace value "${ns}" in sidecar (use *, ., ~ or a namespace name)`;
  if (dns !== '*' && !dns.includes('.')) return `short names (non FQDN) are not allowed: "${dns}"`;
  const problem = wildcardDomainProblem(dns);
  if (problem) return problem;
  if (isPartialWildcard(dns)) return `partial wildcard "${dns}" not allowed`;
  return null;
}

/**
 * The fields of the Sidecar message and of its egress listener, port and outbound traffic policy in istio/api
 * (inboundConnectionPool since Istio 1.21). The ingress listeners and connection pools are reported as not simulated
 * as a whole, so what is inside them is not checked field by field.
 */
const SIDECAR_FIELDS: readonly string[] = ['workloadSelector', 'ingress', 'egress', 'inboundConnectionPool', 'outboundTrafficPolicy'];
const SIDECAR_EGRESS_FIELDS: readonly string[] = ['port', 'bind', 'captureMode', 'hosts'];
const SIDECAR_OUTBOUND_FIELDS: readonly string[] = ['mode', 'egressProxy'];

export function readSidecar(r: Reader, meta: ObjectMeta, obj: Obj): Sidecar {
  const spec = r.obj(obj, 'spec', []) ?? {};
  rejectUnknownFields(r, spec, SIDECAR_FIELDS, ['spec']);
  const workloadSelector = readWorkloadSelector(r, spec, 'Sidecar');
  const has = (k: string): boolean => spec[k] !== undefined && spec[k] !== null && !(Array.isArray(spec[k]) && spec[k].length === 0);
  if (!has('egress') && !has('ingress') && !has('outboundTrafficPolicy') && !has('inboundConnectionPool')) {
    r.error(['spec'], 'sidecar-empty', 'sidecar: empty configuration provided',
      'add spec.egress (e.g. hosts: ["./*", "istio-system/*"]) and/or spec.outboundTrafficPolicy');
  }

  const egress: SidecarEgressListener[] = [];
  const rawEgress = r.arr(spec, 'egress', ['spec']) ?? [];
  const portNumbers = new Set<number>();
  let catchAll = false;
  rawEgress.forEach((e, i) => {
    const path: Path = ['spec', 'egress', i];
    if (!isObj(e)) { r.error(path, 'field-type', 'each egress listener must be a mapping'); return; }
    rejectUnknownFields(r, e, SIDECAR_EGRESS_FIELDS, path);
    const listener: SidecarEgressListener = { hosts: [] };
    const port = r.obj(e, 'port', path);
    if (port) rejectUnknownFields(r, port, PORT_FIELDS, [...path, 'port']);
    if (!port) {
      if (catchAll) {
        r.error(path, 'sidecar-catch-all', 'sidecar: egress can have only one listener with empty port', 'give this listener a port, or merge its hosts into the other catch-all listener');
        return;
      }
      if (i !== rawEgress.length - 1) {
        r.error(path, 'sidecar-catch-all', 'sidecar: the egress listener with empty port should be the last listener in the list', 'move the listener without port to the end');
      }
      catchAll = true;
    } else {
      const ppath: Path = [...path, 'port'];
      const number = r.int(port, 'number', ppath) ?? 0;
      const protocol = r.str(port, 'protocol', ppath);
      const name = r.str(port, 'name', ppath);
      const bind = r.str(e, 'bind', path) ?? '';
      if (number === 0 && !bind.startsWith('unix://')) {
        r.error(ppath, 'sidecar-bad-port', 'sidecar: ports with 0 value must have a unix domain socket bind address', 'set port.number in 1-65535');
      } else if (number < 0 || number > 65535) {
        r.error([...ppath, 'number'], 'sidecar-bad-port', `port number ${r.written([...ppath, 'number'], number)} must be in the range 1..65535`, 'use a port in 1-65535');
      }
      if (number !== 0) {
        if (portNumbers.has(number)) r.error([...ppath, 'number'], 'sidecar-duplicate-port', 'sidecar: ports on IP bound listeners must be unique', 'declare each egress port once');
        portNumbers.add(number);
      }
      if (protocol !== undefined && !protocolKnown(protocol)) {
        r.error([...ppath, 'protocol'], 'sidecar-bad-protocol', `unsupported protocol: ${protocol}`, `use one of ${ISTIO_PROTOCOLS.join(', ')}`);
      }
      if (name !== undefined && name !== '' && !isDns1123Label(name)) {
        r.error([...ppath, 'name'], 'sidecar-bad-port', `invalid port name: ${name}`, 'use a lower-case DNS-1123 name');
      }
      listener.port = { number };
      if (protocol !== undefined) listener.port.protocol = protocol.toUpperCase();
      if (name !== undefined) listener.port.name = name;
    }
    // Not silently: a listener bound to an address (or with its own captureMode) is not where traffic to a Service's
    // address lands in Istio, but meshrange routes by port alone.
    const bindTo = r.str(e, 'bind', path);
    if ((bindTo !== undefined && bindTo !== '' && bindTo !== '0.0.0.0' && bindTo !== '::') || (e['captureMode'] !== undefined && e['captureMode'] !== null)) {
      r.warn([...path, bindTo !== undefined && bindTo !== '' ? 'bind' : 'captureMode'], 'sidecar-bind-not-modeled',
        'egress listener bind / captureMode is not simulated: meshrange treats this listener as the one for its port on every address, while Istio builds it on the bind address only (traffic to a Service address then takes the catch-all listener, or none)',
        'check on a cluster which listener traffic to the Service address takes (istioctl proxy-config listeners)');
    }
    const hosts = r.strList(e, 'hosts', path);
    if (!hosts || hosts.length === 0) {
      r.error(path, 'sidecar-no-egress-hosts', 'sidecar: egress listener must contain at least one host',
        'list hosts as namespace/dnsName, e.g. "./*", "istio-system/*", "*/api.example.com"');
    }
    const seen = new Map<string, Set<string>>();
    (hosts ?? []).forEach((h, j) => {
      const problem = sidecarHostProblem(h);
      if (problem) {
        r.error([...path, 'hosts', j], 'sidecar-bad-host', `egress host "${h}": ${problem}`,
          'write namespace/dnsName: "./*" (own namespace), "*/api.example.com" (any namespace), "prod/*" (all of prod), "~/*" (nothing)');
        return;
      }
      const slash = h.indexOf('/');
      const ns = h.slice(0, slash) === '.' ? meta.namespace : h.slice(0, slash);
      const dns = h.slice(slash + 1);
      const inNs = seen.get(ns) ?? new Set<string>();
      if (inNs.has(dns) || inNs.has('*') || (dns === '*' && inNs.size > 0)) {
        r.warn([...path, 'hosts', j], 'sidecar-duplicate-host', `duplicated egress host: ${h}`, 'remove the duplicate');
      }
      inNs.add(dns);
      seen.set(ns, inNs);
      listener.hosts.push(`${h.slice(0, slash)}/${dns.toLowerCase()}`);
    });
    if (seen.get('*')?.has('*') && seen.size !== 1) {
      r.warn([...path, 'hosts'], 'sidecar-duplicate-host', '`*/*` host selects all resources, no other hosts can be added', 'keep "*/*" alone, or drop it');
    }
    egress.push(listener);
  });

  const sidecar: Sidecar = { meta, workloadSelector, egress };
  // Not silently: what the simulation does not read of a Sidecar.
  if (has('ingress')) {
    r.warn(['spec', 'ingress'], 'sidecar-ingress-not-modeled',
      'ingress listeners are not simulated: meshrange builds the inbound side as Istio does without them (the pod\'s ports, TLS from PeerAuthentication), so their ports, defaultEndpoint and tls are not applied',
      'check the inbound behaviour these listeners change on a cluster');
  }
  if (has('inboundConnectionPool')) {
    r.warn(['spec', 'inboundConnectionPool'], 'sidecar-ingress-not-modeled', 'inboundConnectionPool is not simulated: the inbound side has no connection limits in meshrange',
      'check the limits on a cluster');
  }
  const otp = r.obj(spec, 'outboundTrafficPolicy', ['spec']);
  if (otp) {
    const path: Path = ['spec', 'outboundTrafficPolicy'];
    rejectUnknownFields(r, otp, SIDECAR_OUTBOUND_FIELDS, path);
    const rawMode = r.str(otp, 'mode', path);
    let mode: SidecarOutboundMode = 'REGISTRY_ONLY';
    if (rawMode === undefined) {
      r.warn(path, 'sidecar-mode-default', 'outboundTrafficPolicy without mode: the proto default REGISTRY_ONLY applies',
        'write mode: REGISTRY_ONLY or mode: ALLOW_ANY explicitly');
    } else if (!SIDECAR_MODES.includes(rawMode)) {
      r.error([...path, 'mode'], 'bad-enum', `outboundTrafficPolicy mode "${rawMode}" is not one of ${SIDECAR_MODES.join(', ')}`);
    } else {
      mode = rawMode as SidecarOutboundMode;
    }
    sidecar.outboundTrafficPolicy = { mode };
    const ep = r.obj(otp, 'egressProxy', path);
    if (ep) {
      const epath: Path = [...path, 'egressProxy'];
      rejectUnknownFields(r, ep, DESTINATION_FIELDS, epath);
      const host = r.str(ep, 'host', epath) ?? '';
      const epPort = r.obj(ep, 'port', epath);
      if (epPort) rejectUnknownFields(r, epPort, PORT_SELECTOR_FIELDS, [...epath, 'port']);
      const number = epPort ? r.int(epPort, 'number', [...epath, 'port']) : undefined;
      if (mode !== 'ALLOW_ANY') {
        r.error(epath, 'sidecar-egress-proxy', 'sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode', 'set mode: ALLOW_ANY, or remove egressProxy');
      } else {
        const problem = fqdnProblem(host);
        if (problem) r.error([...epath, 'host'], 'sidecar-egress-proxy', `egressProxy host "${host}": ${problem}`, 'use the FQDN of the proxy service');
        if (!epPort) r.error(epath, 'sidecar-egress-proxy', 'sidecar: egress_proxy port must be non-nil', 'set egressProxy.port.number');
        else if (number === undefined || number < 1 || number > 65535) r.error([...epath, 'port'], 'sidecar-egress-proxy', 'egressProxy port number must be in the range 1..65535');
      }
      const proxy: { host: string; port?: number } = { host };
      if (number !== undefined) proxy.port = number;
      sidecar.outboundTrafficPolicy.egressProxy = proxy;
    }
  }
  return sidecar;
}

const WORKLOAD_ENTRY_FIELDS: readonly string[] = ['address', 'ports', 'labels', 'network', 'locality', 'weight', 'serviceAccount'];
const MAX_WEIGHT = 4294967295;

/**
 * networking.istio.io WorkloadEntry, checked as Istio's webhook checks it (validateWorkloadEntry with FQDN addresses
 * allowed, since the entries that select it may be STATIC or DNS):
 * - address: required unless network is set (then a warning: the workload is reached through that network's
 *   gateway); a unix:// path takes no ports; otherwise an IP or an FQDN.
 * - ports: each name a DNS-1123 label, each number in 1-65535.
 * - labels: Kubernetes label keys and values.
 * - weight is a uint32; unknown fields are refused (strict field validation).
 */
export function readWorkloadEntry(r: Reader, meta: ObjectMeta, obj: Obj): WorkloadEntry {
  const spec = r.obj(obj, 'spec', []) ?? {};
  rejectUnknownFields(r, spec, WORKLOAD_ENTRY_FIELDS, ['spec']);
  const address = r.str(spec, 'address', ['spec']) ?? '';
  const network = r.str(spec, 'network', ['spec']) ?? '';
  const we: WorkloadEntry = { meta, address, labels: r.labels(spec, 'labels', ['spec']) ?? {} };
  if (address === '') {
    if (network === '') {
      r.error(['spec'], 'we-address-required', 'address is required', 'set spec.address to the workload\'s IP or DNS name (or spec.network, for a workload behind that network\'s gateway)');
    } else {
      r.warn(['spec', 'network'], 'we-no-address', `address is unset with network ${quotedName(network)}: the workload is reached through that network's gateway, which meshrange does not model; it is no endpoint here`,
        'set spec.address if the workload is reachable from this network');
    }
  } else if (address.startsWith('unix://')) {
    if (spec['ports'] !== undefined && spec['ports'] !== null) {
      r.error(['spec', 'ports'], 'we-unix-ports', `unix endpoint ${quotedName(address)} must not include ports`, 'remove spec.ports');
    }
  } else if (!parseIp(address) && fqdnProblem(address)) {
    r.error(['spec', 'address'], 'we-bad-address', `endpoint address ${quotedName(address)} is not a valid FQDN or an IP address`, 'use an IP or a DNS name');
  }
  const ports = r.obj(spec, 'ports', ['spec']);
  if (ports) {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(ports)) {
      const path: Path = ['spec', 'ports', k];
      if (!isDns1123Label(k)) {
        r.error(path, 'we-bad-port-name', `invalid port name: ${quotedName(k)}`, 'use a DNS-1123 label: lower-case letters, digits and -, at most 63 characters');
        continue;
      }
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
        r.error(path, 'we-bad-port', `port ${quotedName(k)}: ${typeof v === 'number' ? r.written(path, v) : describeValue(v)} is not a port in 1..65535`, 'map the port name to a number in 1-65535');
        continue;
      }
      setOwn(out, k, v);
    }
    we.ports = out;
  }
  const serviceAccount = r.str(spec, 'serviceAccount', ['spec']);
  if (serviceAccount !== undefined && serviceAccount !== '') we.serviceAccount = serviceAccount;
  if (network !== '') we.network = network;
  if (network !== '' && address !== '') warnNetwork(r, ['spec', 'network'], network);
  readEndpointPlacement(r, spec, ['spec'], we, 'we-bad-weight');
  return we;
}

/** Not silently: an endpoint's network is read, but meshrange models one network. */
function warnNetwork(r: Reader, path: Path, network: string): void {
  r.warn(path, 'endpoint-network-not-modeled', `network ${quotedName(network)} is not modeled: meshrange reaches this endpoint directly, where Istio goes through that network's east-west gateway for a client on another network`,
    'check cross-network reachability on a cluster');
}

/** An endpoint's locality and load-balancing weight (a uint32; 0 = unset), for a WorkloadEntry and an inline ServiceEntry endpoint alike. */
function readEndpointPlacement(r: Reader, o: Obj, path: Path, ep: ServiceEntryEndpoint, weightCode: string): void {
  const locality = r.str(o, 'locality', path);
  if (locality !== undefined && locality !== '') ep.locality = locality;
  const weight = r.int(o, 'weight', path);
  if (weight !== undefined) {
    if (weight < 0 || weight > MAX_WEIGHT) r.error([...path, 'weight'], weightCode, `weight ${weight} is not in 0..${MAX_WEIGHT}`, 'use a non-negative 32-bit weight');
    else if (weight > 0) ep.weight = weight;
  }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string' ? `the string ${quotedName(v)}` : `a ${typeof v}`;
}
