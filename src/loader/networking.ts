/** networking.istio.io DestinationRule (istio-semantics §5.1, §5.2), as far as TLS and later controls need. */
import type { ClientTlsMode, ClientTlsSettings, DestinationRule, ObjectMeta, Subset, TrafficPolicy } from '../model/types.js';
import { PORT_SELECTOR_FIELDS } from './istio-messages.js';
import { isObj, Reader, rejectUnknownFields, strictEach, strictObj, type Obj } from './reader.js';
import type { Path } from './yaml-source.js';
import { checkExportTo } from './export-to.js';
import { readSelector } from './security.js';
import { readConnectionPool, readOutlierDetection } from './traffic-policy.js';

const TLS_MODES: readonly string[] = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'];
/** The fields of a TrafficPolicy and of one of its portLevelSettings entries (Istio's API): anything else is an unknown-field error. */
const TRAFFIC_POLICY_FIELDS: readonly string[] = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls', 'portLevelSettings', 'tunnel', 'proxyProtocol', 'retryBudget'];
const PORT_POLICY_FIELDS: readonly string[] = ['port', 'loadBalancer', 'connectionPool', 'outlierDetection', 'tls'];
/*
 * The fields of the other DestinationRule messages, under the JSON names the CRD's OpenAPI schema lists
 * (lowerCamelCase of istio/api destination_rule.proto, oneof members and deprecated fields included; checked
 * against the networking.istio.io v1 schema of Istio 1.29): any other key is refused as kubectl's strict
 * field validation does, never read as an absent field.
 */
/** DestinationRule. */
const DESTINATION_RULE_FIELDS: readonly string[] = ['host', 'trafficPolicy', 'subsets', 'exportTo', 'workloadSelector'];
/** WorkloadSelector (type/v1beta1/selector.proto). */
/** Subset. */
const SUBSET_FIELDS: readonly string[] = ['name', 'labels', 'trafficPolicy'];
/** ClientTLSSettings. */
const CLIENT_TLS_FIELDS: readonly string[] = [
  'mode', 'clientCertificate', 'privateKey', 'caCertificates', 'credentialName', 'subjectAltNames', 'sni', 'insecureSkipVerify', 'caCrl',
];
/** LoadBalancerSettings: `simple` and `consistentHash` are its oneof lb_policy. */
const LOAD_BALANCER_FIELDS: readonly string[] = ['simple', 'consistentHash', 'localityLbSetting', 'warmupDurationSecs', 'warmup'];
/** LoadBalancerSettings.ConsistentHashLB: the oneofs hash_key and hash_algorithm, and the deprecated minimumRingSize. */
const CONSISTENT_HASH_FIELDS: readonly string[] = [
  'httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName', 'ringHash', 'maglev', 'minimumRingSize',
];
/** ConsistentHashLB.HTTPCookie and its Attribute. */
const HTTP_COOKIE_FIELDS: readonly string[] = ['name', 'path', 'ttl', 'attributes'];
const COOKIE_ATTRIBUTE_FIELDS: readonly string[] = ['name', 'value'];
/** ConsistentHashLB.RingHash and .MagLev. */
const RING_HASH_FIELDS: readonly string[] = ['minimumRingSize'];
const MAGLEV_FIELDS: readonly string[] = ['tableSize'];
/** LocalityLoadBalancerSetting, and its Distribute and Failover entries. */
const LOCALITY_LB_FIELDS: readonly string[] = ['distribute', 'failover', 'failoverPriority', 'enabled'];
const LOCALITY_FROM_TO_FIELDS: readonly string[] = ['from', 'to'];
/** WarmupConfiguration. */
const WARMUP_FIELDS: readonly string[] = ['duration', 'minimumPercent', 'aggression'];
/** TrafficPolicy.TunnelSettings, TrafficPolicy.ProxyProtocol and TrafficPolicy.RetryBudget. */
const TUNNEL_FIELDS: readonly string[] = ['protocol', 'targetHost', 'targetPort'];
const PROXY_PROTOCOL_FIELDS: readonly string[] = ['version'];
const RETRY_BUDGET_FIELDS: readonly string[] = ['percent', 'minRetryConcurrency'];

/** A LoadBalancerSettings' fields, nested messages included (the simulation reads only `simple`). */
function strictLoadBalancer(r: Reader, parent: Obj, path: Path): void {
  const lb = strictObj(r, parent, 'loadBalancer', LOAD_BALANCER_FIELDS, path);
  if (!lb) return;
  const lpath = [...path, 'loadBalancer'];
  const ch = strictObj(r, lb, 'consistentHash', CONSISTENT_HASH_FIELDS, lpath);
  if (ch) {
    const cpath = [...lpath, 'consistentHash'];
    const cookie = strictObj(r, ch, 'httpCookie', HTTP_COOKIE_FIELDS, cpath);
    if (cookie) strictEach(r, cookie, 'attributes', COOKIE_ATTRIBUTE_FIELDS, [...cpath, 'httpCookie']);
    strictObj(r, ch, 'ringHash', RING_HASH_FIELDS, cpath);
    strictObj(r, ch, 'maglev', MAGLEV_FIELDS, cpath);
  }
  const loc = strictObj(r, lb, 'localityLbSetting', LOCALITY_LB_FIELDS, lpath);
  if (loc) {
    strictEach(r, loc, 'distribute', LOCALITY_FROM_TO_FIELDS, [...lpath, 'localityLbSetting']);
    strictEach(r, loc, 'failover', LOCALITY_FROM_TO_FIELDS, [...lpath, 'localityLbSetting']);
  }
  strictObj(r, lb, 'warmup', WARMUP_FIELDS, lpath);
}

export function qualifyHost(host: string, namespace: string): string {
  if (host === '*' || host.includes('.')) return host;
  return `${host}.${namespace}.svc.cluster.local`;
}

export function readDestinationRule(r: Reader, meta: ObjectMeta, obj: Obj): DestinationRule {
  const spec = r.obj(obj, 'spec', []) ?? {};
  rejectUnknownFields(r, spec, DESTINATION_RULE_FIELDS, ['spec']);
  const host = r.str(spec, 'host', ['spec']);
  if (!host) r.error(['spec'], 'dr-host-required', 'host is required', 'set spec.host to the service, e.g. reviews.bookinfo.svc.cluster.local');
  const exportTo = r.strList(spec, 'exportTo', ['spec']) ?? [];
  const dr: DestinationRule = {
    meta,
    host: host ?? '',
    fqdnHost: qualifyHost(host ?? '', meta.namespace),
    exportTo,
    subsets: [],
    workloadSelector: readSelector(r, spec, 'workloadSelector', ['spec']),
  };
  checkExportTo(r, exportTo, meta.namespace, 'DestinationRule', dr.workloadSelector !== null || isObj(spec['workloadSelector']));
  // An empty workloadSelector is still one (Istio warns, and applies the rule to every workload of its namespace only,
  // ahead of the rules without a selector): not the same as none.
  if (dr.workloadSelector === null && isObj(spec['workloadSelector'])) {
    dr.workloadSelector = {};
    r.warn(['spec', 'workloadSelector'], 'dr-empty-selector', 'workload selector specified without labels: the rule applies to every workload of its own namespace, ahead of the rules without a selector',
      'list the client pods\' labels in workloadSelector.matchLabels, or remove workloadSelector');
  }
  const tp = readTrafficPolicy(r, r.obj(spec, 'trafficPolicy', ['spec']), ['spec', 'trafficPolicy']);
  if (tp) dr.trafficPolicy = tp;
  (r.arr(spec, 'subsets', ['spec']) ?? []).forEach((s, i) => {
    const path = ['spec', 'subsets', i];
    if (!isObj(s)) { r.error(path, 'field-type', 'each subset must be a mapping'); return; }
    rejectUnknownFields(r, s, SUBSET_FIELDS, path);
    const name = r.str(s, 'name', path);
    if (!name) { r.error(path, 'dr-subset-name', 'subset needs a name'); return; }
    const subset: Subset = { name, labels: r.labels(s, 'labels', path) ?? {} };
    const stp = readTrafficPolicy(r, r.obj(s, 'trafficPolicy', path), [...path, 'trafficPolicy']);
    if (stp) subset.trafficPolicy = stp;
    if (stp?.connectionPool !== undefined || stp?.outlierDetection !== undefined) {
      r.warn([...path, 'trafficPolicy', stp.connectionPool !== undefined ? 'connectionPool' : 'outlierDetection'], 'dr-breaker-not-modeled',
        `subset ${name}'s connectionPool / outlierDetection are not simulated: meshrange applies the rule's top-level ones to every call to the host`,
        'to see this circuit breaker in a flood scenario, set it at the top level of the rule');
    }
    dr.subsets.push(subset);
  });
  return dr;
}


function readTrafficPolicy(r: Reader, tp: Obj | undefined, path: Path): TrafficPolicy | undefined {
  if (!tp) return undefined;
  rejectUnknownFields(r, tp, TRAFFIC_POLICY_FIELDS, path);
  strictLoadBalancer(r, tp, path);
  strictObj(r, tp, 'tunnel', TUNNEL_FIELDS, path);
  strictObj(r, tp, 'proxyProtocol', PROXY_PROTOCOL_FIELDS, path);
  strictObj(r, tp, 'retryBudget', RETRY_BUDGET_FIELDS, path);
  const out: TrafficPolicy = { raw: tp };
  if (tp['connectionPool'] !== undefined) out.connectionPool = readConnectionPool(r, tp['connectionPool'], [...path, 'connectionPool']);
  if (tp['outlierDetection'] !== undefined) {
    const od = readOutlierDetection(r, tp['outlierDetection'], [...path, 'outlierDetection']);
    if (od) out.outlierDetection = od;
  }
  const tls = readTls(r, r.obj(tp, 'tls', path), [...path, 'tls']);
  if (tls) out.tls = tls;
  const pls = r.arr(tp, 'portLevelSettings', path);
  if (pls) {
    out.portLevelSettings = [];
    pls.forEach((p, i) => {
      const ppath = [...path, 'portLevelSettings', i];
      if (!isObj(p)) { r.error(ppath, 'field-type', 'each port level setting must be a mapping'); return; }
      if (isObj(p['port'])) rejectUnknownFields(r, p['port'], PORT_SELECTOR_FIELDS, [...ppath, 'port']);
      const port = isObj(p['port']) ? r.int(p['port'], 'number', [...ppath, 'port']) : undefined;
      if (port === undefined) { r.error(ppath, 'dr-port-required', 'port level setting needs port.number'); return; }
      // validatePortSelector: ValidatePort, 1..65535 (the proto's uint32 holds 0 and 70000; Istio's webhook refuses them)
      if (port < 1 || port > 65535) {
        const npath: Path = [...ppath, 'port', 'number'];
        r.error(npath, 'bad-port', `portLevelSettings port number ${r.written(npath, port)} must be in the range 1..65535`,
          'use the Service port the setting is for, from 1 to 65535');
        return;
      }
      rejectUnknownFields(r, p, PORT_POLICY_FIELDS, ppath);
      strictLoadBalancer(r, p, ppath);
      const entry: { port: number; tls?: ClientTlsSettings; lbSimple?: string } = { port };
      const ptls = readTls(r, r.obj(p, 'tls', ppath), [...ppath, 'tls']);
      if (ptls) entry.tls = ptls;
      const lb = p['loadBalancer'];
      if (isObj(lb) && typeof lb['simple'] === 'string') entry.lbSimple = lb['simple'];
      // Validated as at the top level; the simulation's circuit breakers read the top level only (a warning says so).
      if (p['connectionPool'] !== undefined) readConnectionPool(r, p['connectionPool'], [...ppath, 'connectionPool']);
      if (p['outlierDetection'] !== undefined) readOutlierDetection(r, p['outlierDetection'], [...ppath, 'outlierDetection']);
      if (p['connectionPool'] !== undefined || p['outlierDetection'] !== undefined) {
        r.warn([...ppath, p['connectionPool'] !== undefined ? 'connectionPool' : 'outlierDetection'], 'dr-breaker-not-modeled',
          `port ${port}'s connectionPool / outlierDetection are not simulated: meshrange applies the rule's top-level ones to every port`,
          'to see this circuit breaker in a flood scenario, set it at the top level of the rule');
      } else if (out.connectionPool !== undefined || out.outlierDetection !== undefined) {
        // a port-level entry replaces the whole policy for its port (GetPortLevelTrafficPolicy): no breaker there in Istio
        r.warn(ppath, 'dr-breaker-not-modeled',
          `port ${port}'s entry replaces the whole traffic policy for that port, so Istio applies none of the top-level connectionPool / outlierDetection there; meshrange still applies them to every port`,
          'repeat the circuit breaker in this port\'s entry if it should hold there too');
      }
      out.portLevelSettings?.push(entry);
    });
  }
  return out;
}

function readTls(r: Reader, tls: Obj | undefined, path: Path): ClientTlsSettings | undefined {
  if (!tls) return undefined;
  rejectUnknownFields(r, tls, CLIENT_TLS_FIELDS, path);
  const mode = r.str(tls, 'mode', path) ?? 'DISABLE';
  if (!TLS_MODES.includes(mode)) {
    r.error([...path, 'mode'], 'bad-enum', `tls mode "${mode}" is not one of ${TLS_MODES.join(', ')}`);
    return undefined;
  }
  const out: ClientTlsSettings = { mode: mode as ClientTlsMode };
  const sans = r.strList(tls, 'subjectAltNames', path);
  if (sans) out.subjectAltNames = sans;
  const sni = r.str(tls, 'sni', path);
  if (sni !== undefined) out.sni = sni;
  const ca = r.str(tls, 'caCertificates', path);
  if (ca !== undefined) out.caCertificates = ca;
  const cred = r.str(tls, 'credentialName', path);
  if (cred !== undefined) out.credentialName = cred;
  return out;
}
