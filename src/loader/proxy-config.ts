/**
 * Proxy configuration that changes what a sidecar does with traffic: today one
 * setting, DNS capture (`ISTIO_META_DNS_CAPTURE`), from the three places Istio
 * reads it.
 *
 * Rules (Istio's injector, EffectiveProxyConfig; the agent's options):
 *  1. The setting is a proxy environment variable. It is set by
 *     `proxyMetadata` in MeshConfig `defaultConfig`, by `proxyMetadata` in the
 *     pod annotation `proxy.istio.io/config` (a ProxyConfig written as YAML or
 *     JSON), and by `environmentVariables` of a ProxyConfig resource
 *     (networking.istio.io/v1beta1).
 *  2. The layers merge key by key; the first that sets the key wins, in this
 *     order: the oldest ProxyConfig of the pod's namespace whose selector picks
 *     it, the pod annotation, the oldest ProxyConfig of its namespace without
 *     selector, the oldest of the root namespace without selector, the mesh
 *     default (policy/dns-capture.ts; Istio EffectiveProxyConfig). A later
 *     ProxyConfig of the same kind is not read at all, even for a key the
 *     oldest leaves unset. A selector without labels applies to no pod.
 *  3. The value is read as Go's strconv.ParseBool reads it: 1, t, T, TRUE,
 *     true, True are on; 0, f, F, FALSE, false, False are off. Any other value
 *     is off, with a warning here (the agent logs one and keeps the default).
 */
import { IssueList, type Location } from '../core/issues.js';
import { FORWARD_CLIENT_CERT_DETAILS, type ForwardClientCertDetails, type ObjectMeta, type ProxyConfigResource } from '../model/types.js';
import { isObj, Reader, rejectUnknownFields, type Obj } from './reader.js';
import { quotedName } from './names.js';
import { readSelector } from './security.js';
import { parseYaml, type Path } from './yaml-source.js';

export const DNS_CAPTURE_KEY = 'ISTIO_META_DNS_CAPTURE';
export const PROXY_CONFIG_ANNOTATION = 'proxy.istio.io/config';

const TRUE: readonly string[] = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE: readonly string[] = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/** Go's strconv.ParseBool: the boolean, or null when the text is none of its twelve spellings. */
export function parseGoBool(v: string): boolean | null {
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  return null;
}

/**
 * The DNS capture value of a map of proxy environment variables (`proxyMetadata`, `environmentVariables`) at
 * `path`: true/false when the map sets it, undefined when it does not. A value ParseBool refuses is off, warned.
 */
export function readDnsCapture(r: Reader, parent: Obj, key: string, path: Path): boolean | undefined {
  const m = r.obj(parent, key, path);
  if (!m || !Object.hasOwn(m, DNS_CAPTURE_KEY)) return undefined;
  const v = m[DNS_CAPTURE_KEY];
  const at: Path = [...path, key, DNS_CAPTURE_KEY];
  if (typeof v !== 'string') {
    // proxyMetadata is a map of strings: Istio refuses a bare true as it refuses a number
    r.error(at, 'field-type', `${DNS_CAPTURE_KEY} must be a string (proxyMetadata maps names to strings), got ${v === null ? 'null' : typeof v}`, `write it quoted: ${DNS_CAPTURE_KEY}: "true"`);
    return undefined;
  }
  const b = parseGoBool(v);
  if (b === null) {
    r.warn(at, 'bad-proxy-metadata', `${DNS_CAPTURE_KEY} ${JSON.stringify(v.slice(0, 40))} is not a boolean Go's ParseBool reads: the proxy keeps DNS capture off`,
      `write "true" or "false"`);
    return false;
  }
  return b;
}

/**
 * gatewayTopology.forwardClientCertDetails: one of Istio's enum names; UNDEFINED (the proto zero) is as if unset, and
 * anything else is refused as istiod's proto parsing refuses it.
 */
export function readForwardClientCertDetails(r: Reader, topo: Obj, path: Path): ForwardClientCertDetails | undefined {
  const v = r.str(topo, 'forwardClientCertDetails', path);
  if (v === undefined || v === 'UNDEFINED') return undefined;
  const mode = FORWARD_CLIENT_CERT_DETAILS.find((m) => m === v);
  if (mode === undefined) {
    r.error([...path, 'forwardClientCertDetails'], 'bad-enum', `forwardClientCertDetails ${quotedName(v)} is not one of UNDEFINED, ${FORWARD_CLIENT_CERT_DETAILS.join(', ')}`);
  }
  return mode;
}

/** What a pod's `proxy.istio.io/config` annotation sets that meshrange reads. */
export interface AnnotatedProxyConfig {
  /** proxyMetadata.ISTIO_META_DNS_CAPTURE */
  dnsCapture?: boolean;
  /** gatewayTopology.numTrustedProxies when above 0 (the proto merge skips a zero: the mesh config's value stays) */
  numTrustedProxies?: number;
  /** gatewayTopology.forwardClientCertDetails unless UNDEFINED (the proto merge skips the zero) */
  forwardClientCertDetails?: ForwardClientCertDetails;
}

/**
 * What a pod's `proxy.istio.io/config` annotation (YAML or JSON text) sets. Problems are reported at the annotation
 * (`at`): a text that is not a mapping is an error, as the injector refuses the pod.
 */
export function readProxyConfigAnnotation(text: string, at: Location, what: string, issues: IssueList): AnnotatedProxyConfig {
  const inner = new IssueList();
  const docs = parseYaml(at.file, text, inner, () => at);
  for (const i of inner.items) issues.error(i.code, `${what}: annotation ${PROXY_CONFIG_ANNOTATION}: ${i.message}`, at, i.hint);
  if (inner.hasErrors()) return {};
  const doc = docs[0];
  if (!doc || doc.value === null || doc.value === undefined) return {};
  if (docs.length > 1 || !isObj(doc.value)) {
    issues.error('proxy-config-annotation', `${what}: annotation ${PROXY_CONFIG_ANNOTATION} must hold one ProxyConfig mapping (YAML or JSON)`, at,
      'write e.g. proxy.istio.io/config: \'{"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}\'');
    return {};
  }
  const r = new Reader(doc, issues, `${what}: annotation ${PROXY_CONFIG_ANNOTATION}`);
  const out: AnnotatedProxyConfig = {};
  const dnsCapture = readDnsCapture(r, doc.value, 'proxyMetadata', []);
  if (dnsCapture !== undefined) out.dnsCapture = dnsCapture;
  const topo = r.obj(doc.value, 'gatewayTopology', []);
  const n = topo ? readNumTrustedProxies(r, topo, ['gatewayTopology']) : undefined;
  if (n !== undefined && n > 0) out.numTrustedProxies = n;
  const fccd = topo ? readForwardClientCertDetails(r, topo, ['gatewayTopology']) : undefined;
  if (fccd !== undefined) out.forwardClientCertDetails = fccd;
  return out;
}

/** numTrustedProxies is a uint32; more hops than any real chain of proxies is refused rather than carried around. */
const MAX_TRUSTED_PROXIES = 1000;

/**
 * gatewayTopology.numTrustedProxies, wherever a ProxyConfig sits (the mesh config's defaultConfig, a pod's annotation):
 * an integer from 0 to MAX_TRUSTED_PROXIES, else a located error and undefined (the field is then as if unset).
 */
export function readNumTrustedProxies(r: Reader, topo: Obj, path: Path): number | undefined {
  const n = r.int(topo, 'numTrustedProxies', path);
  if (n === undefined) return undefined;
  if (n < 0 || n > MAX_TRUSTED_PROXIES) {
    r.error([...path, 'numTrustedProxies'], 'bad-value', `numTrustedProxies ${n} is out of range (0 to ${MAX_TRUSTED_PROXIES})`,
      'count the proxies in front of the gateway that each append to X-Forwarded-For (0: trust none)');
    return undefined;
  }
  return n;
}

/** A ProxyConfig resource: its selector and the DNS capture its environmentVariables set (undefined: none). */
export function readProxyConfig(r: Reader, meta: ObjectMeta, obj: Obj): ProxyConfigResource {
  const spec = r.obj(obj, 'spec', []) ?? {};
  rejectUnknownFields(r, spec, ['selector', 'concurrency', 'environmentVariables', 'image'], ['spec']);
  const selector = readSelector(r, spec, 'selector', ['spec']);
  // a selector without labels is neither namespace-wide (Istio wants no selector) nor per workload (it skips empty ones)
  const selectsNothing = selector === null && spec['selector'] !== undefined && spec['selector'] !== null;
  if (selectsNothing) {
    r.warn(['spec', 'selector'], 'proxy-config-empty-selector', 'a ProxyConfig whose selector has no matchLabels applies to no pod: Istio reads it neither as namespace-wide nor per workload',
      'drop the selector to apply it to the whole namespace, or give it matchLabels');
  }
  const env = r.obj(spec, 'environmentVariables', ['spec']);
  if (env) {
    for (const [k, v] of Object.entries(env)) {
      if (typeof v !== 'string') r.error(['spec', 'environmentVariables', k], 'field-type', `environment variable ${k} must be a string`, `quote it: ${k}: "${String(v)}"`);
    }
  }
  const dnsCapture = readDnsCapture(r, spec, 'environmentVariables', ['spec']);
  return { meta, selector, ...(selectsNothing ? { selectsNothing } : {}), ...(dnsCapture === undefined ? {} : { dnsCapture }) };
}
