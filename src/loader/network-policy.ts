/**
 * Kubernetes NetworkPolicy (networking.k8s.io/v1), read, defaulted and
 * validated as the API server would (istio-semantics §11, §14: a rejected
 * object never reaches the CNI, so it is an error here, never applied in part).
 *
 * Validation mirrors kubernetes pkg/apis/networking/validation:
 * - label selectors: keys are qualified names, matchLabels values label values;
 *   operators In/NotIn/Exists/DoesNotExist; In/NotIn need values, Exists and
 *   DoesNotExist must have none;
 * - a peer sets podSelector and/or namespaceSelector, or ipBlock alone;
 * - ipBlock.cidr is a CIDR (a slash is required); each `except` is a strict
 *   subset of it (same family, longer prefix, inside);
 * - ports: protocol TCP/UDP/SCTP; a numeric port in 1-65535 or a port name
 *   (IANA_SVC_NAME: ≤15 chars, a-z0-9 and '-', a letter, no '--', no '-' at
 *   either end; a quoted number is a name and fails); endPort needs a numeric
 *   port, is ≥ port and a valid port;
 * - policyTypes: at most two, each Ingress or Egress;
 * - unknown fields are rejected (kubectl's default strict field validation).
 *
 * Defaulting mirrors SetDefaults_NetworkPolicy: protocol TCP; an empty or
 * absent policyTypes becomes [Ingress], plus Egress when `egress` has at least
 * one rule (`egress: []` does not count).
 *
 * Warnings (accepted by Kubernetes, almost always a mistake): no spec (deny all
 * ingress to the namespace), no spec.podSelector (every pod, as `{}`), rules
 * for a direction policyTypes leaves out (ignored), `egress: []` without
 * policyTypes (does not isolate egress), a CIDR with host bits set (read as its
 * network address).
 */
import { parseCidr, type Cidr } from '../core/ip.js';
import type { IpBlock, LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NpProtocol, PolicyType } from '../model/network-policy.js';
import { EVERYTHING } from '../model/network-policy.js';
import type { ObjectMeta } from '../model/types.js';
import { labelKeyProblem, labelValueProblem } from './labels.js';
import { portNameProblem } from './names.js';
import { describe, fieldName, isObj, Reader, rejectUnknownFields, type Obj } from './reader.js';
import type { Path } from './yaml-source.js';

export const NETWORK_POLICY_API_VERSION = 'networking.k8s.io/v1';

const PROTOCOLS: readonly string[] = ['TCP', 'UDP', 'SCTP'];
const POLICY_TYPES: readonly string[] = ['Ingress', 'Egress'];
const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

const SPEC_FIELDS = ['podSelector', 'policyTypes', 'ingress', 'egress'];
const SELECTOR_FIELDS = ['matchLabels', 'matchExpressions'];
const REQUIREMENT_FIELDS = ['key', 'operator', 'values'];
const PEER_FIELDS = ['podSelector', 'namespaceSelector', 'ipBlock'];
const IPBLOCK_FIELDS = ['cidr', 'except'];
const PORT_FIELDS = ['protocol', 'port', 'endPort'];

export function readNetworkPolicy(r: Reader, meta: ObjectMeta, obj: Obj): NetworkPolicy {
  const apiVersion = obj['apiVersion'];
  if (typeof apiVersion === 'string' && apiVersion !== NETWORK_POLICY_API_VERSION) {
    r.error(['apiVersion'], 'np-bad-api-version',
      apiVersion === 'extensions/v1beta1'
        ? 'NetworkPolicy extensions/v1beta1 was removed in Kubernetes 1.16; the API server has no such kind'
        : `apiVersion ${apiVersion} is not ${NETWORK_POLICY_API_VERSION}, so this is not a Kubernetes NetworkPolicy`,
      `use apiVersion: ${NETWORK_POLICY_API_VERSION}; CNI-specific policies (Calico, Cilium) have other semantics and are not modelled`);
  }
  const hasSpec = obj['spec'] !== undefined && obj['spec'] !== null;
  if (!hasSpec) {
    r.warn([], 'np-no-spec', `has no spec: Kubernetes reads it as podSelector {} with policyTypes [Ingress], which denies all ingress to every pod in namespace ${meta.namespace}`,
      'write the spec you mean; for a deliberate default-deny write `spec: { podSelector: {}, policyTypes: [Ingress] }`');
  }
  const spec = r.obj(obj, 'spec', []) ?? {};
  rejectUnknownFields(r, spec, SPEC_FIELDS, ['spec']);

  const podSelector = readLabelSelector(r, spec, 'podSelector', ['spec']) ?? EVERYTHING;
  if (hasSpec && (spec['podSelector'] === undefined || spec['podSelector'] === null)) {
    r.warn(['spec'], 'np-missing-pod-selector', `spec.podSelector is absent, which selects every pod in namespace ${meta.namespace} (as podSelector: {} does)`,
      'write `podSelector: {}` to mean every pod, or `podSelector: { matchLabels: {...} }` for some');
  }
  const ingress = readRules(r, spec, 'ingress');
  const egress = readRules(r, spec, 'egress');

  const { types: declared, clean } = readPolicyTypes(r, spec);
  let policyTypes: PolicyType[];
  if (declared.length > 0) {
    policyTypes = declared;
  } else {
    policyTypes = egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
    const rawEgress = spec['egress'];
    if (Array.isArray(rawEgress) && rawEgress.length === 0) {
      r.warn(['spec', 'egress'], 'np-empty-egress-not-isolating',
        '`egress: []` without policyTypes does not make this an Egress policy: policyTypes defaults to [Ingress], so egress stays open',
        'add `policyTypes: [Ingress, Egress]` to deny all egress of the selected pods');
    }
  }
  if (clean && declared.length > 0 && !declared.includes('Ingress') && ingress.length > 0) {
    r.warn(['spec', 'ingress'], 'np-rules-ignored', 'has ingress rules but policyTypes does not list Ingress; the ingress rules are ignored',
      'add Ingress to spec.policyTypes, or remove spec.ingress');
  }
  if (clean && declared.length > 0 && !declared.includes('Egress') && egress.length > 0) {
    r.warn(['spec', 'egress'], 'np-rules-ignored', 'has egress rules but policyTypes does not list Egress; the egress rules are ignored',
      'add Egress to spec.policyTypes, or remove spec.egress');
  }

  return {
    meta,
    podSelector,
    policyTypes,
    ingress: ingress.map((x): NetworkPolicyIngressRule => ({ from: x.peers, ports: x.ports })),
    egress: egress.map((x): NetworkPolicyEgressRule => ({ to: x.peers, ports: x.ports })),
  };
}

/** The declared policyTypes, deduplicated; `clean` is false when some entry was rejected. */
function readPolicyTypes(r: Reader, spec: Obj): { types: PolicyType[]; clean: boolean } {
  const list = r.strList(spec, 'policyTypes', ['spec']);
  if (!list) return { types: [], clean: spec['policyTypes'] === undefined || spec['policyTypes'] === null };
  if (list.length > 2) {
    r.error(['spec', 'policyTypes'], 'np-too-many-policy-types', `policyTypes lists ${list.length} entries; at most two are allowed`,
      'write policyTypes: [Ingress], [Egress] or [Ingress, Egress]');
    return { types: [], clean: false };
  }
  const out: PolicyType[] = [];
  let clean = true;
  list.forEach((t, i) => {
    if (POLICY_TYPES.includes(t)) {
      if (!out.includes(t as PolicyType)) out.push(t as PolicyType);
      return;
    }
    clean = false;
    const fixed = POLICY_TYPES.find((p) => p.toLowerCase() === t.toLowerCase());
    r.error(['spec', 'policyTypes', i], 'np-bad-policy-type', `policyType "${t}" is not Ingress or Egress`,
      fixed ? `write ${fixed} (the value is case-sensitive)` : 'use Ingress and/or Egress');
  });
  return { types: out, clean };
}

interface RawRule {
  peers: NetworkPolicyPeer[];
  ports: NetworkPolicyPort[];
}

function readRules(r: Reader, spec: Obj, direction: 'ingress' | 'egress'): RawRule[] {
  const list = r.arr(spec, direction, ['spec']);
  if (!list) return [];
  const peerKey = direction === 'ingress' ? 'from' : 'to';
  const out: RawRule[] = [];
  list.forEach((raw, i) => {
    const path: Path = ['spec', direction, i];
    // A null list element decodes to the zero rule, which allows everything (like `{}`).
    if (raw === null || raw === undefined) { out.push({ peers: [], ports: [] }); return; }
    if (!isObj(raw)) {
      r.error(path, 'field-type', `${fieldName(path)} must be a mapping with ${peerKey} and/or ports, got ${describe(raw)}`,
        `write each ${direction} rule as a mapping, e.g. - ${peerKey}: [...]; \`- {}\` allows everything`);
      return;
    }
    rejectUnknownFields(r, raw, [peerKey, 'ports'], path, (k) => {
      if ((k === 'from' || k === 'to') && k !== peerKey) {
        return `${direction} rules list their peers under \`${peerKey}\`, not \`${k}\``;
      }
      return undefined;
    });
    const peers: NetworkPolicyPeer[] = [];
    (r.arr(raw, peerKey, path) ?? []).forEach((p, j) => {
      const peer = readPeer(r, p, [...path, peerKey, j]);
      if (peer) peers.push(peer);
    });
    const ports: NetworkPolicyPort[] = [];
    (r.arr(raw, 'ports', path) ?? []).forEach((p, j) => {
      const port = readPort(r, p, [...path, 'ports', j]);
      if (port) ports.push(port);
    });
    out.push({ peers, ports });
  });
  return out;
}

function readPeer(r: Reader, raw: unknown, path: Path): NetworkPolicyPeer | undefined {
  if (!isObj(raw)) {
    if (raw === null || raw === undefined) {
      r.error(path, 'np-empty-peer', 'a peer must specify podSelector, namespaceSelector or ipBlock',
        'write `podSelector: {}` for every pod of the namespace, or remove this entry (no peers at all = everyone)');
    } else {
      r.error(path, 'field-type', `${fieldName(path)} must be a mapping, got ${describe(raw)}`,
        'write the peer as a mapping with podSelector, namespaceSelector or ipBlock');
    }
    return undefined;
  }
  rejectUnknownFields(r, raw, PEER_FIELDS, path, (k) =>
    k === 'ports' ? '`ports` belongs to the rule, beside from/to, not inside a peer' : undefined);
  const peer: NetworkPolicyPeer = {};
  const podSelector = readLabelSelector(r, raw, 'podSelector', path);
  const namespaceSelector = readLabelSelector(r, raw, 'namespaceSelector', path);
  const ipBlock = readIpBlock(r, raw, path);
  if (podSelector) peer.podSelector = podSelector;
  if (namespaceSelector) peer.namespaceSelector = namespaceSelector;
  if (ipBlock) peer.ipBlock = ipBlock;
  const present = PEER_FIELDS.filter((k) => raw[k] !== undefined && raw[k] !== null);
  if (present.length === 0) {
    r.error(path, 'np-empty-peer', 'a peer must specify podSelector, namespaceSelector or ipBlock',
      'write `podSelector: {}` for every pod of the namespace, `namespaceSelector: {}` for every pod of the cluster, or remove the entry');
    return undefined;
  }
  if (present.includes('ipBlock') && present.length > 1) {
    r.error([...path, 'ipBlock'], 'np-ipblock-with-selector', 'a peer may not specify both ipBlock and another peer',
      'put ipBlock in its own list element (`- ipBlock: ...`); separate elements are ORed');
    return undefined;
  }
  return peer;
}

function readIpBlock(r: Reader, parent: Obj, path: Path): IpBlock | undefined {
  const raw = r.obj(parent, 'ipBlock', path);
  if (!raw) return undefined;
  const bpath: Path = [...path, 'ipBlock'];
  rejectUnknownFields(r, raw, IPBLOCK_FIELDS, bpath);
  const cidrText = r.str(raw, 'cidr', bpath);
  if (cidrText === undefined || cidrText === '') {
    if (raw['cidr'] === undefined || raw['cidr'] === null || raw['cidr'] === '') {
      r.error(bpath, 'np-missing-cidr', 'ipBlock.cidr is required', 'add cidr, e.g. `cidr: 203.0.113.0/24`');
    }
    return undefined;
  }
  const cidr = readCidr(r, cidrText, [...bpath, 'cidr'], 'cidr');
  const except: string[] = [];
  (r.strList(raw, 'except', bpath) ?? []).forEach((e, i) => {
    const epath: Path = [...bpath, 'except', i];
    const ex = readCidr(r, e, epath, 'except');
    if (!ex || !cidr) return;
    if (!strictSubset(ex, cidr)) {
      r.error(epath, 'np-except-outside-cidr', `except ${e} must be a strict subset of cidr ${cidrText}`,
        `list only blocks inside ${cidrText} with a longer prefix; to exclude all of it, drop this peer instead`);
      return;
    }
    except.push(e);
  });
  return cidr ? { cidr: cidrText, except } : undefined;
}

function readCidr(r: Reader, text: string, path: Path, what: string): Cidr | undefined {
  const cidr = text.includes('/') ? parseCidr(text) : null;
  if (!cidr) {
    const bare = parseCidr(text);
    r.error(path, 'np-bad-cidr', `${what} "${text}" is not a valid CIDR`,
      bare ? `write the address as a block: ${text}/${bare.v6 ? 128 : 32}` : 'write a block such as 10.0.0.0/8 or 2001:db8::/64');
    return undefined;
  }
  const canonical = canonicalV4(cidr);
  const addr = text.split('/')[0] ?? '';
  const host = parseCidr(addr);
  if (host && host.base !== cidr.base) {
    r.warn(path, 'np-cidr-not-canonical', `${what} "${text}" has host bits set; Kubernetes reads it as ${canonical ?? 'its network address'}`,
      canonical ? `write ${canonical}` : 'write the network address of the block');
  }
  return cidr;
}

function canonicalV4(c: Cidr): string | undefined {
  if (c.v6) return undefined;
  const octets = [24n, 16n, 8n, 0n].map((s) => String((c.base >> s) & 255n));
  return `${octets.join('.')}/${c.bits}`;
}

function strictSubset(inner: Cidr, outer: Cidr): boolean {
  if (inner.v6 !== outer.v6 || inner.bits <= outer.bits) return false;
  const shift = BigInt((outer.v6 ? 128 : 32) - outer.bits);
  return (inner.base >> shift) << shift === outer.base;
}

function readPort(r: Reader, raw: unknown, path: Path): NetworkPolicyPort | undefined {
  // A null element decodes to the zero port: TCP, every port.
  if (raw === null || raw === undefined) return { protocol: 'TCP' };
  if (!isObj(raw)) {
    r.error(path, 'field-type', `${fieldName(path)} must be a mapping with protocol, port and endPort, got ${describe(raw)}`,
      'write e.g. `- { protocol: TCP, port: 8080 }`');
    return undefined;
  }
  rejectUnknownFields(r, raw, PORT_FIELDS, path);
  let ok = true;
  let protocol: NpProtocol = 'TCP';
  const proto = r.str(raw, 'protocol', path);
  if (proto !== undefined) {
    if (PROTOCOLS.includes(proto)) protocol = proto as NpProtocol;
    else {
      ok = false;
      const fixed = PROTOCOLS.find((p) => p === proto.toUpperCase());
      r.error([...path, 'protocol'], 'np-bad-protocol', `protocol "${proto}" is not TCP, UDP or SCTP`,
        fixed ? `write ${fixed} (the value is case-sensitive)` : 'use TCP, UDP or SCTP; ICMP cannot be filtered by a NetworkPolicy');
    }
  }
  const out: NetworkPolicyPort = { protocol };
  const rawPort = raw['port'];
  const endPort = r.int(raw, 'endPort', path);
  if (raw['endPort'] !== undefined && raw['endPort'] !== null && endPort === undefined) ok = false;
  if (rawPort === undefined || rawPort === null) {
    if (endPort !== undefined) {
      r.error([...path, 'endPort'], 'np-endport-without-port', 'endPort may not be specified when port is not specified',
        'add `port:` with the first port of the range, or remove endPort');
      ok = false;
    }
  } else if (typeof rawPort === 'number' && Number.isInteger(rawPort)) {
    if (rawPort < 1 || rawPort > 65535) {
      r.error([...path, 'port'], 'np-bad-port', `port ${rawPort} is outside 1-65535`, 'use a port between 1 and 65535, or a container port name');
      ok = false;
    }
    out.port = rawPort;
    if (endPort !== undefined) {
      if (endPort < 1 || endPort > 65535) {
        r.error([...path, 'endPort'], 'np-bad-port', `endPort ${endPort} is outside 1-65535`, 'use a port between 1 and 65535');
        ok = false;
      } else if (endPort < rawPort) {
        r.error([...path, 'endPort'], 'np-endport-below-port', `endPort ${endPort} must be greater than or equal to port ${rawPort}`,
          `swap them (port: ${endPort}, endPort: ${rawPort}) if that is the range you mean`);
        ok = false;
      }
      out.endPort = endPort;
    }
  } else if (typeof rawPort === 'string') {
    const problem = portNameProblem(rawPort);
    if (problem) {
      r.error([...path, 'port'], 'np-bad-port', `port "${rawPort}" is not a valid port name: ${problem}`,
        /^\d+$/.test(rawPort) ? `write the number without quotes: port: ${rawPort}` : 'use a port number, or the name of a container port (e.g. http)');
      ok = false;
    }
    if (endPort !== undefined) {
      r.error([...path, 'endPort'], 'np-endport-with-named-port', `endPort may not be specified when port is the name "${rawPort}"`,
        'use a numeric port with endPort for a range, or drop endPort');
      ok = false;
    }
    out.port = rawPort;
  } else {
    r.error([...path, 'port'], 'field-type', `field ${fieldName([...path, 'port'])} must be an integer or a port name, got ${describe(rawPort)}`,
      'write the port as a number (8080) or a container port name (http)');
    ok = false;
  }
  return ok ? out : undefined;
}

/** A metav1.LabelSelector; undefined when absent or null, EVERYTHING-like when `{}`. */
export function readLabelSelector(r: Reader, parent: Obj, key: string, path: Path): LabelSelector | undefined {
  const raw = r.obj(parent, key, path);
  if (!raw) return undefined;
  const spath: Path = [...path, key];
  rejectUnknownFields(r, raw, SELECTOR_FIELDS, spath, (k) =>
    k.toLowerCase().startsWith('match') ? undefined : `labels go under matchLabels: \`${key}: { matchLabels: { ${k}: ... } }\``);
  const matchLabels = r.labels(raw, 'matchLabels', spath, 'np-') ?? {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  (r.arr(raw, 'matchExpressions', spath) ?? []).forEach((e, i) => {
    const req = readRequirement(r, e, [...spath, 'matchExpressions', i]);
    if (req) matchExpressions.push(req);
  });
  return { matchLabels, matchExpressions };
}

function readRequirement(r: Reader, raw: unknown, path: Path): LabelSelectorRequirement | undefined {
  if (!isObj(raw)) {
    r.error(path, 'field-type', `${fieldName(path)} must be a mapping with key, operator and values, got ${describe(raw)}`,
      'write e.g. `- { key: app, operator: In, values: [web] }`');
    return undefined;
  }
  rejectUnknownFields(r, raw, REQUIREMENT_FIELDS, path);
  const key = r.str(raw, 'key', path);
  const operator = r.str(raw, 'operator', path);
  const values = r.strList(raw, 'values', path) ?? [];
  let ok = true;
  if (key === undefined) {
    if (raw['key'] === undefined || raw['key'] === null) r.error(path, 'np-bad-label-key', 'a match expression needs a key', 'add `key: <label>`');
    ok = false;
  } else {
    const kp = labelKeyProblem(key);
    if (kp) { r.error([...path, 'key'], 'np-bad-label-key', `label key "${key}" ${kp}`, 'use a key like app or example.com/tier'); ok = false; }
  }
  if (operator === undefined) {
    if (raw['operator'] === undefined || raw['operator'] === null) {
      r.error(path, 'np-bad-operator', 'a match expression needs an operator', 'add `operator:` In, NotIn, Exists or DoesNotExist');
    }
    return undefined;
  }
  if (!OPERATORS.includes(operator)) {
    const fixed = OPERATORS.find((o) => o.toLowerCase() === operator.toLowerCase());
    r.error([...path, 'operator'], 'np-bad-operator', `operator "${operator}" is not In, NotIn, Exists or DoesNotExist`,
      fixed ? `write ${fixed} (operators are case-sensitive)` : 'use In, NotIn, Exists or DoesNotExist');
    return undefined;
  }
  if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
    r.error([...path, raw['values'] === undefined ? 'operator' : 'values'], 'np-selector-values',
      `values must be given when operator is ${operator}`, `list the label values, e.g. values: [a, b]; or use Exists/DoesNotExist`);
    ok = false;
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) {
    r.error([...path, 'values'], 'np-selector-values', `values may not be given when operator is ${operator}`,
      'remove values, or use In/NotIn to compare the value');
    ok = false;
  }
  values.forEach((v, i) => {
    const vp = labelValueProblem(v);
    if (vp) { r.error([...path, 'values', i], 'np-bad-label-value', `label value "${v}" ${vp}`, 'use at most 63 characters: letters, digits, - _ . , starting and ending with a letter or digit'); ok = false; }
  });
  return ok && key !== undefined ? { key, operator: operator as LabelSelectorOperator, values } : undefined;
}

