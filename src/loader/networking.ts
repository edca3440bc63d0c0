/** networking.istio.io DestinationRule (istio-semantics §5.1, §5.2), as far as TLS and later controls need. */
import type { ClientTlsMode, ClientTlsSettings, DestinationRule, ObjectMeta, Subset, TrafficPolicy } from '../model/types.js';
import { isObj, Reader, type Obj } from './reader.js';
import type { Path } from './yaml-source.js';
import { readSelector } from './security.js';
import { readConnectionPool, readOutlierDetection } from './traffic-policy.js';

const TLS_MODES: readonly string[] = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'];

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
    dr.subsets.push(subset);
  });
  return dr;
}

function readTrafficPolicy(r: Reader, tp: Obj | undefined, path: Path): TrafficPolicy | undefined {
  if (!tp) return undefined;
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
      const entry: { port: number; tls?: ClientTlsSettings } = { port };
      const ptls = readTls(r, r.obj(p, 'tls', ppath), [...ppath, 'tls']);
      if (ptls) entry.tls = ptls;
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
