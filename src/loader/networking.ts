/** networking.istio.io DestinationRule (istio-semantics §5.1, §5.2), as far as TLS and later controls need. */
import type { ClientTlsMode, ClientTlsSettings, DestinationRule, ObjectMeta, Subset, TrafficPolicy } from '../model/types.js';
import { isObj, Reader, rejectUnknownFields, type Obj } from './reader.js';
import type { Path } from './yaml-source.js';
import { checkExportTo } from './export-to.js';
import { readSelector } from './security.js';
import { readConnectionPool, readOutlierDetection } from './traffic-policy.js';

const TLS_MODES: readonly string[] = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'];
/** The fields of a TrafficPolicy and of one of its portLevelSettings entries (Istio's API): anything else is an unknown-field error. */
const TRAFFIC_POLICY_FIELDS: readonly string[] = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls', 'portLevelSettings', 'tunnel', 'proxyProtocol', 'retryBudget'];
const PORT_POLICY_FIELDS: readonly string[] = ['port', 'loadBalancer', 'connectionPool', 'outlierDetection', 'tls'];

export function qualifyHost(host: string, namespace: string): string {
  if (host === '*' || host.includes('.')) return host;
  return `${host}.${namespace}.svc.cluster.local`;
}

export function readDestinationRule(r: Reader, meta: ObjectMeta, obj: Obj): DestinationRule {
  const spec = r.obj(obj, 'spec', []) ?? {};
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
      const port = isObj(p['port']) ? r.int(p['port'], 'number', [...ppath, 'port']) : undefined;
      if (port === undefined) { r.error(ppath, 'dr-port-required', 'port level setting needs port.number'); return; }
      rejectUnknownFields(r, p, PORT_POLICY_FIELDS, ppath);
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
