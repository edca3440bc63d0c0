/**
 * security.istio.io kinds, read and validated as Istio's admission webhook
 * would (istio-semantics §4, §6.3, §14): a resource Istio would reject is an
 * error here, never silently applied with partial semantics.
 */
import { exactSize } from '../core/arrays.js';
import { parseCidr } from '../core/ip.js';
import type { Location } from '../core/issues.js';
import type { AuthorizationPolicy, AuthzAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, MtlsMode, ObjectMeta, PeerAuthentication, TargetRef } from '../model/types.js';
import { isObj, Reader, rejectUnknownFields, type Obj } from './reader.js';
import type { Path } from './yaml-source.js';
import { quotedName } from './names.js';

/** Istio's WorkloadSelector message (type/v1beta1/selector.proto). */
const WORKLOAD_SELECTOR_FIELDS: readonly string[] = ['matchLabels'];

const MTLS_MODES: readonly string[] = ['UNSET', 'PERMISSIVE', 'STRICT', 'DISABLE'];

const ACTIONS: readonly string[] = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];

/**
 * An Istio WorkloadSelector (`matchLabels` only): its labels, or null for none (the policy is namespace- or mesh-wide).
 * Any other field is refused: a `matchExpressions` or `matchLabel` the API server rejects would otherwise leave the
 * selector empty and widen a one-workload policy to the whole namespace.
 */
export function readSelector(r: Reader, spec: Obj, key: string, path: Path): Record<string, string> | null {
  const sel = r.obj(spec, key, path);
  if (!sel) return null;
  rejectUnknownFields(r, sel, WORKLOAD_SELECTOR_FIELDS, [...path, key],
    (k) => (k === 'matchExpressions' ? 'an Istio workload selector takes matchLabels only (no matchExpressions): list the labels to match' : undefined));
  const ml = r.labels(sel, 'matchLabels', [...path, key]);
  if (!ml || Object.keys(ml).length === 0) return null;
  return ml;
}

export function readPeerAuthentication(r: Reader, meta: ObjectMeta, obj: Obj): PeerAuthentication {
  const spec = r.obj(obj, 'spec', []) ?? {};
  rejectUnknownFields(r, spec, ['selector', 'mtls', 'portLevelMtls'], ['spec']);
  const selector = readSelector(r, spec, 'selector', ['spec']);
  const mode = readMode(r, r.obj(spec, 'mtls', ['spec']), ['spec', 'mtls']);
  const portLevel = new Map<number, MtlsMode>();
  const plm = r.obj(spec, 'portLevelMtls', ['spec']);
  if (spec['portLevelMtls'] !== undefined && spec['portLevelMtls'] !== null) {
    if (selector === null) {
      r.error(['spec', 'portLevelMtls'], 'pa-port-level-needs-selector',
        'mesh/namespace peer authentication cannot have port level mTLS (portLevelMtls requires selector)',
        'add spec.selector.matchLabels for the workloads, or move the port setting to a workload-level policy');
    }
    if (plm && Object.keys(plm).length === 0) {
      r.error(['spec', 'portLevelMtls'], 'pa-port-level-empty', 'portLevelMtls must not be empty', 'list at least one port, or remove portLevelMtls');
    }
    for (const [k, v] of Object.entries(plm ?? {})) {
      const port = Number(k);
      if (!/^\d+$/.test(k) || port < 1 || port > 65535) {
        r.error(['spec', 'portLevelMtls', k], 'bad-port', `portLevelMtls key ${k} is not a port in 1-65535`);
        continue;
      }
      portLevel.set(port, readMode(r, isObj(v) ? v : undefined, ['spec', 'portLevelMtls', k]));
    }
  }
  return { meta, selector, mode, portLevelMtls: portLevel };
}

function readMode(r: Reader, mtls: Obj | undefined, path: Path): MtlsMode {
  if (!mtls) return 'UNSET';
  const mode = r.str(mtls, 'mode', path);
  if (mode === undefined) return 'UNSET';
  if (!MTLS_MODES.includes(mode)) {
    r.error([...path, 'mode'], 'bad-enum', `mTLS mode "${mode}" is not one of ${MTLS_MODES.join(', ')}`);
    return 'UNSET';
  }
  return mode as MtlsMode;
}

const SOURCE_FIELDS = ['principals', 'requestPrincipals', 'namespaces', 'serviceAccounts', 'trustDomains', 'ipBlocks', 'remoteIpBlocks'] as const;
const OPERATION_FIELDS = ['hosts', 'ports', 'methods', 'paths'] as const;

/** `when` keys Istio accepts (istio-semantics §6.7); anything else is rejected. */
export function isValidWhenKey(key: string): boolean {
  return /^(source\.ip|remote\.ip|source\.namespace|source\.principal|source\.serviceAccount|source\.trustDomain|request\.auth\.principal|request\.auth\.audiences|request\.auth\.presenter|destination\.ip|destination\.port|connection\.sni)$/.test(key)
    || (key.startsWith('request.headers[') && mapKey(key))
    || (key.startsWith('request.experimental.inline.headers[') && mapKey(key))
    || /^request\.auth\.claims(\[[^\]]+\])+$/.test(key)
    || (key.startsWith('experimental.envoy.filters.') && mapKey(key));
}

/**
 * Istio's validateMapKey: a `[` after the start, a `]` at the end and something between them. A header name or a filter
 * name with characters no real header or filter has (`request.headers[a][b]`, `experimental.envoy.filters.x-y[k]`) is
 * admitted as Istio admits it, and matches what Envoy would match: nothing.
 */
function mapKey(key: string): boolean {
  const open = key.indexOf('[');
  return key.endsWith(']') && open > 0 && open < key.length - 2;
}

export function readAuthorizationPolicy(r: Reader, meta: ObjectMeta, obj: Obj): AuthorizationPolicy {
  const spec = r.obj(obj, 'spec', []) ?? {};
  rejectUnknownFields(r, spec, ['selector', 'targetRef', 'targetRefs', 'action', 'provider', 'rules'], ['spec']);
  const selector = readSelector(r, spec, 'selector', ['spec']);
  const targetRefs = readTargetRefs(r, spec);
  if (spec['selector'] !== undefined && targetRefs.length > 0) {
    r.error(['spec', 'targetRefs'], 'ap-selector-and-targetref', 'only one of targetRefs or workload selector can be set',
      'keep either spec.selector or spec.targetRef(s)');
  }
  let action: AuthzAction = 'ALLOW';
  const a = r.str(spec, 'action', ['spec']);
  if (a !== undefined) {
    if (ACTIONS.includes(a)) action = a as AuthzAction;
    else r.error(['spec', 'action'], 'bad-enum', `action "${a}" is not one of ${ACTIONS.join(', ')}`);
  }
  const provider = readProvider(r, spec);
  if (action === 'CUSTOM' && provider === undefined) {
    r.error(['spec', 'action'], 'ap-custom-without-provider', 'CUSTOM action without provider', 'add spec.provider.name naming an extension provider of the mesh config');
  }
  if (action !== 'CUSTOM' && provider !== undefined) {
    r.error(['spec', 'provider'], 'ap-provider-without-custom', 'provider must only be used with the CUSTOM action', 'remove spec.provider or set action: CUSTOM');
  }
  let rules: AuthzRule[] | undefined;
  const ruleLocs: Location[] = [];
  const rawRules = r.arr(spec, 'rules', ['spec']);
  if (rawRules !== undefined) {
    rules = [];
    rawRules.forEach((raw, i) => {
      const rule = readRule(r, raw, ['spec', 'rules', i], action);
      if (rule) { rules?.push(rule); ruleLocs.push(r.at(['spec', 'rules', i])); }
    });
  }
  if ((action === 'DENY' || action === 'CUSTOM') && (rules === undefined || rawRules?.length === 0)) {
    r.error(['spec'], 'ap-rules-required', `a ${action} policy must have rules`,
      action === 'DENY' ? 'add rules (`rules: [{}]` denies everything)' : 'add the rules that send requests to the provider');
  }
  if (action === 'CUSTOM') {
    rawRules?.forEach((raw, i) => {
      if (!isObj(raw)) return;
      const bad: string[] = [];
      for (const f of readArr(raw['from'])) {
        const s = isObj(f) && isObj(f['source']) ? f['source'] : {};
        for (const k of ['principals', 'notPrincipals', 'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'requestPrincipals', 'notRequestPrincipals']) {
          if (readList(s[k]).length > 0) bad.push(k);
        }
      }
      for (const c of readArr(raw['when'])) {
        const key = isObj(c) ? c['key'] : undefined;
        if (typeof key === 'string' && (key === 'source.namespace' || key === 'source.serviceAccount' || key === 'source.principal' || key.startsWith('request.auth.'))) bad.push(`when ${key}`);
      }
      if (bad.length > 0) {
        r.error(['spec', 'rules', i], 'ap-custom-unsupported-field', `${[...new Set(bad)].join(', ')} cannot be used with the CUSTOM action`,
          'match on these in the external authorizer, or move them to an ALLOW/DENY policy');
      }
    });
  }
  const policy: AuthorizationPolicy = { meta, selector, targetRefs, action, rules: rules && exactSize(rules), dryRun: readDryRun(r, meta) };
  if (provider !== undefined) policy.provider = provider;
  if (ruleLocs.length > 0) policy.ruleLocs = exactSize(ruleLocs);
  return policy;
}

/**
 * The `istio.io/dry-run` annotation as Istio's authz builder reads it (isDryRun: Go's strconv.ParseBool), so "1", "t",
 * "T", "TRUE" and "True" make a dry-run policy as "true" does. A value ParseBool refuses is logged by istiod and the
 * policy is enforced.
 */
const DRY_RUN_TRUE: readonly string[] = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const DRY_RUN_FALSE: readonly string[] = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

function readDryRun(r: Reader, meta: ObjectMeta): boolean {
  const v = meta.annotations['istio.io/dry-run'];
  if (v === undefined) return false;
  if (DRY_RUN_TRUE.includes(v)) return true;
  if (!DRY_RUN_FALSE.includes(v)) {
    r.warn(['metadata', 'annotations', 'istio.io/dry-run'], 'ap-dry-run-unparsed', `istio.io/dry-run ${quotedName(v)} is not a boolean Go's ParseBool reads; istiod logs an error and enforces the policy`,
      'write "true" to evaluate the policy without enforcing it, or remove the annotation');
  }
  return false;
}

function readProvider(r: Reader, spec: Obj): string | undefined {
  const p = r.obj(spec, 'provider', ['spec']);
  if (!p) return undefined;
  const name = r.str(p, 'name', ['spec', 'provider']) ?? '';
  if (name === '') r.error(['spec', 'provider'], 'ap-provider-name-empty', '`provider.name` must not be empty', 'name an extension provider of the mesh config');
  return name;
}

function readArr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The kinds a policy's targetRef may name, by canonical group (`core` for ""), as Istio's validation allows them. */
const TARGET_REF_KINDS: readonly { kind: string; group: string }[] = [
  { kind: 'Service', group: 'core' }, { kind: 'ServiceEntry', group: 'networking.istio.io' },
  { kind: 'Gateway', group: 'gateway.networking.k8s.io' }, { kind: 'GatewayClass', group: 'gateway.networking.k8s.io' },
];

/** `targetRef` / `targetRefs` (at most 16), shared by the policy kinds that take them. */
export function readTargetRefs(r: Reader, spec: Obj, tooManyCode = 'ap-too-many-targetrefs'): TargetRef[] {
  const out: TargetRef[] = [];
  const one = r.obj(spec, 'targetRef', ['spec']);
  const list = r.arr(spec, 'targetRefs', ['spec']) ?? [];
  const read = (v: unknown, path: Path): void => {
    if (!isObj(v)) { r.error(path, 'field-type', 'targetRef must be a mapping'); return; }
    const kind = r.str(v, 'kind', path);
    const name = r.str(v, 'name', path);
    if (!kind || !name) { r.error(path, 'missing-field', 'targetRef needs kind and name', 'give the targetRef a kind (e.g. Gateway) and a name'); return; }
    const ref: TargetRef = { kind, name };
    const group = r.str(v, 'group', path);
    if (group !== undefined) ref.group = group;
    const ns = r.str(v, 'namespace', path);
    if (ns !== undefined && ns !== '') {
      // Istio's validatePolicyTargetReference
      r.error([...path, 'namespace'], 'targetref-namespace', 'targetRef namespace must not be set; cross namespace referencing is not supported',
        'remove namespace: the target is in the policy\'s own namespace');
      return;
    }
    const canonical = group === undefined || group === '' ? 'core' : group;
    if (!TARGET_REF_KINDS.some((k) => k.kind === kind && k.group === canonical)) {
      r.error(path, 'targetref-kind', `targetRef must be to a Service, ServiceEntry, Gateway or GatewayClass, but was ${group ?? ''}/${kind}`,
        'use kind Gateway or GatewayClass with group gateway.networking.k8s.io, kind ServiceEntry with group networking.istio.io, or kind Service with group ""');
      return;
    }
    out.push(ref);
  };
  if (one) read(one, ['spec', 'targetRef']);
  list.forEach((v, i) => read(v, ['spec', 'targetRefs', i]));
  if (out.length > 16) r.error(['spec', 'targetRefs'], tooManyCode, 'at most 16 targetRefs are allowed', 'split the policy');
  return out;
}

function readRule(r: Reader, raw: unknown, path: Path, action: AuthzAction): AuthzRule | undefined {
  if (raw === null || raw === undefined) {
    r.error(path, 'ap-null-rule', 'rule must not be null', 'write `{}` for a rule that matches every request, or remove the empty list item');
    return undefined;
  }
  if (!isObj(raw)) { r.error(path, 'field-type', 'each rule must be a mapping'); return undefined; }
  rejectUnknownFields(r, raw, ['from', 'to', 'when'], path);
  const rule: AuthzRule = {};
  const from = r.arr(raw, 'from', path);
  if (from !== undefined) {
    if (from.length === 0) r.error([...path, 'from'], 'ap-empty-from', '`from` must not be empty', 'remove `from` to match any source, or list at least one source');
    rule.from = [];
    from.forEach((f, i) => {
      const fpath = [...path, 'from', i];
      const src = isObj(f) ? r.obj(f, 'source', fpath) : undefined;
      if (!src || Object.keys(src).length === 0) {
        r.error(fpath, 'ap-empty-source', '`from.source` must not be empty', 'give the source at least one field, or remove this entry');
        return;
      }
      const errorsBefore = r.issues.errors.length;
      const source = readFields(r, src, [...fpath, 'source'], SOURCE_FIELDS) as AuthzSource;
      // (a field already refused, unknown or of the wrong type, says enough)
      if (Object.keys(source).length === 0 && r.issues.errors.length === errorsBefore) {
        r.error(fpath, 'ap-empty-source', '`from.source` must not be empty: every list in it is empty', 'give the source at least one value, or remove this entry');
        return;
      }
      if (Object.keys(source).length > 0) rule.from?.push({ source });
      const s = src;
      // Istio: any of principals, notPrincipals, namespaces, notNamespaces beside any of serviceAccounts, notServiceAccounts
      const count = (k: string): number => readList(s[k]).length;
      if (count('principals') + count('notPrincipals') + count('namespaces') + count('notNamespaces') > 0
        && count('serviceAccounts') + count('notServiceAccounts') > 0) {
        r.error([...fpath, 'source', count('serviceAccounts') > 0 ? 'serviceAccounts' : 'notServiceAccounts'], 'ap-service-accounts-conflict',
          'serviceAccounts cannot be set together with principals or namespaces', 'use either serviceAccounts or principals/namespaces');
      }
      for (const key of ['serviceAccounts', 'notServiceAccounts']) checkServiceAccounts(r, [...fpath, 'source', key], key, readList(s[key]));
      for (const key of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']) {
        readList(s[key]).forEach((ip, j) => {
          if (!istioIp(ip)) r.error([...fpath, 'source', key, j], 'ap-bad-ip', `"${ip}" is not a valid IP address or CIDR block`);
        });
      }
    });
  }
  const to = r.arr(raw, 'to', path);
  if (to !== undefined) {
    if (to.length === 0) r.error([...path, 'to'], 'ap-empty-to', '`to` must not be empty', 'remove `to` to match any operation, or list at least one operation');
    rule.to = [];
    to.forEach((t, i) => {
      const tpath = [...path, 'to', i];
      const op = isObj(t) ? r.obj(t, 'operation', tpath) : undefined;
      if (!op || Object.keys(op).length === 0) {
        r.error(tpath, 'ap-empty-operation', '`to.operation` must not be empty', 'give the operation at least one field, or remove this entry');
        return;
      }
      const errorsBefore = r.issues.errors.length;
      const operation = readFields(r, op, [...tpath, 'operation'], OPERATION_FIELDS) as AuthzOperation;
      if (Object.keys(operation).length === 0 && r.issues.errors.length === errorsBefore) {
        r.error(tpath, 'ap-empty-operation', '`to.operation` must not be empty: every list in it is empty', 'give the operation at least one value, or remove this entry');
        return;
      }
      for (const key of ['ports', 'notPorts'] as const) {
        (operation[key] ?? []).forEach((p, j) => {
          if (!/^\d+$/.test(p) || Number(p) > 65535) r.error([...tpath, 'operation', key, j], 'ap-bad-port', `"${p}" is not a valid port (0-65535, exact)`);
        });
      }
      for (const key of ['paths', 'notPaths'] as const) {
        (operation[key] ?? []).forEach((p, j) => {
          const problem = pathTemplateProblem(p);
          if (problem) r.error([...tpath, 'operation', key, j], 'ap-bad-path-template', `path "${p}": ${problem}`);
        });
      }
      if (Object.keys(operation).length > 0) rule.to?.push({ operation });
    });
  }
  const when = r.arr(raw, 'when', path);
  if (when !== undefined) {
    rule.when = [];
    when.forEach((c, i) => {
      const cpath = [...path, 'when', i];
      if (!isObj(c)) { r.error(cpath, 'field-type', 'each condition must be a mapping'); return; }
      const key = r.str(c, 'key', cpath);
      if (!key) { r.error(cpath, 'ap-when-key-missing', 'condition has no key'); return; }
      if (!isValidWhenKey(key)) {
        r.error([...cpath, 'key'], 'ap-unknown-when-key', `unknown attribute "${key}" in condition`,
          'use a key of istio-semantics §6.7, e.g. request.headers[x], source.ip, request.auth.claims[groups]');
      }
      rejectUnknownFields(r, c, ['key', 'values', 'notValues'], cpath);
      const cond: AuthzCondition = { key };
      const values = r.strList(c, 'values', cpath);
      const notValues = r.strList(c, 'notValues', cpath);
      if (!values?.length && !notValues?.length) {
        r.error(cpath, 'ap-when-no-values', `condition ${key} must have values or notValues`);
      }
      if (values && values.length > 0) cond.values = values;
      if (notValues && notValues.length > 0) cond.notValues = notValues;
      [...(values ?? []), ...(notValues ?? [])].forEach((v) => {
        if (v === '') r.error(cpath, 'ap-empty-value', `condition ${key} has an empty value`);
        if ((key === 'source.ip' || key === 'remote.ip' || key === 'destination.ip') && !istioIp(v)) {
          r.error(cpath, 'ap-bad-ip', `condition ${key}: "${v}" is not a valid IP address or CIDR block`);
        }
        if (key === 'destination.port' && (!/^\d+$/.test(v) || Number(v) > 65535)) {
          r.error(cpath, 'ap-bad-port', `condition destination.port: "${v}" is not a valid port`);
        }
      });
      if (key === 'source.serviceAccount') {
        if (values) checkServiceAccounts(r, cpath, 'condition source.serviceAccount values', values);
        if (notValues) checkServiceAccounts(r, cpath, 'condition source.serviceAccount notValues', notValues);
      }
      rule.when?.push(cond);
    });
  }
  void action;
  if (rule.from) rule.from = exactSize(rule.from);
  if (rule.to) rule.to = exactSize(rule.to);
  if (rule.when) rule.when = exactSize(rule.when);
  return rule;
}

/**
 * One list of service accounts as Istio's CheckServiceAccount takes it (the `serviceAccounts` and `notServiceAccounts`
 * fields, and the values or notValues of a `source.serviceAccount` condition, each list on its own): at most 16 values,
 * each `<name>` or `<namespace>/<name>` with neither part empty, no wildcard, at most 320 characters. (An empty value
 * is refused as ap-empty-value where the list is read.)
 */
function checkServiceAccounts(r: Reader, path: Path, what: string, values: readonly string[]): void {
  if (values.length > 16) r.error(path, 'ap-too-many-service-accounts', `${what}: at most 16 service accounts are allowed in one list`);
  for (const v of values) {
    if (v === '') continue;
    if (v.includes('*')) { r.error(path, 'ap-service-account-wildcard', `${what}: "${v}" must not contain wildcards`); continue; }
    const slash = v.indexOf('/');
    if (v.length > 320 || (slash >= 0 && (slash === 0 || slash === v.length - 1 || v.includes('/', slash + 1)))) {
      r.error(path, 'ap-bad-service-account', `${what}: "${v}" must be <namespace>/<name> or <name> (at most 320 characters)`);
    }
  }
}

/**
 * An IP address or CIDR block as Istio's ValidateIPs takes it (Go's netip.ParseAddr / ParsePrefix), which is stricter
 * than parseCidr: an IPv4 part with a leading zero (`010.0.0.1`, which other parsers read as octal or as decimal) and a
 * prefix length with a leading zero (`10.0.0.0/08`) are refused.
 */
function istioIp(v: string): boolean {
  if (parseCidr(v) === null) return false;
  const [addr = '', bits] = v.split('/');
  if (bits !== undefined && !/^(0|[1-9]\d*)$/.test(bits)) return false;
  const v4 = addr.includes('.') ? addr.slice(addr.lastIndexOf(':') + 1) : '';
  return v4 === '' || v4.split('.').every((o) => /^(0|[1-9]\d*)$/.test(o));
}

function readList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function readFields(r: Reader, obj: Obj, path: Path, fields: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const allowed = fields.flatMap((f) => [f, `not${f[0]?.toUpperCase()}${f.slice(1)}`]);
  rejectUnknownFields(r, obj, allowed, path);
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) continue;
    const list = r.strList(obj, key, path);
    // an empty list is no list at all (Istio's generator skips a key whose values and notValues are both empty)
    if (!list || list.length === 0) continue;
    list.forEach((v, i) => {
      if (v === '') r.error([...path, key, i], 'ap-empty-value', `${key} has an empty string`, 'remove the empty value');
    });
    out[key] = list;
  }
  return out;
}

/** Path templates `{*}` / `{**}` (istio-semantics §6.6); null when fine. */
export function pathTemplateProblem(p: string): string | null {
  if (!p.includes('{')) return null;
  const segs = p.split('/');
  let sawGlob = false;
  for (const s of segs) {
    if (s === '{*}' || s === '{**}') {
      if (sawGlob) return '{**} must be the last operator in the template';
      if (s === '{**}') sawGlob = true;
      continue;
    }
    if (/[{}*]/.test(s)) return `segment "${s}" mixes * or braces with text; only whole-segment {*} or {**} are allowed in a template`;
    if (!/^[A-Za-z0-9\-._~%!$&'()+,;:@=]*$/.test(s)) return `segment "${s}" is not a valid path literal in a template`;
  }
  return null;
}
