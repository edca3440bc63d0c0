/**
 * Kubernetes NetworkPolicy (networking.k8s.io/v1) as immutable data, after
 * the API server's defaulting (istio-semantics §11): `policyTypes` filled in,
 * port protocols defaulted to TCP, absent `from`/`to`/`ports` as empty lists
 * (which mean "everything"). Judgement lives in `policy/network-policy.ts`.
 */
import type { Labels, ObjectMeta } from './types.js';
import { ownValue } from '../core/record.js';

export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator;
  /** non-empty for In/NotIn, empty for Exists/DoesNotExist */
  values: readonly string[];
}

/** metav1.LabelSelector: matchLabels AND every matchExpression. Empty = everything. */
export interface LabelSelector {
  matchLabels: Labels;
  matchExpressions: readonly LabelSelectorRequirement[];
}

export const EVERYTHING: LabelSelector = { matchLabels: {}, matchExpressions: [] };

export type NpProtocol = 'TCP' | 'UDP' | 'SCTP';
export type PolicyType = 'Ingress' | 'Egress';

export interface IpBlock {
  /** always in CIDR form (`10.0.0.0/8`, `2001:db8::/64`) */
  cidr: string;
  /** strict subsets of `cidr` taken out of it */
  except: readonly string[];
}

/**
 * One `from`/`to` element. `podSelector` and `namespaceSelector` in one
 * element are ANDed; `ipBlock` stands alone (the API server rejects it with
 * another field). An absent selector is undefined; `{}` is EVERYTHING.
 */
export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IpBlock;
}

export interface NetworkPolicyPort {
  /** defaulted to TCP */
  protocol: NpProtocol;
  /** a number, a container port name, or undefined for every port of the protocol */
  port?: number | string;
  /** inclusive end of a range starting at the numeric `port` */
  endPort?: number;
}

export interface NetworkPolicyIngressRule {
  /** empty = every source */
  from: readonly NetworkPolicyPeer[];
  /** empty = every port */
  ports: readonly NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  /** empty = every destination */
  to: readonly NetworkPolicyPeer[];
  /** empty = every port */
  ports: readonly NetworkPolicyPort[];
}

export interface NetworkPolicy {
  meta: ObjectMeta;
  /** pods of `meta.namespace` the policy applies to; EVERYTHING = all of them */
  podSelector: LabelSelector;
  /** after defaulting: never empty */
  policyTypes: readonly PolicyType[];
  ingress: readonly NetworkPolicyIngressRule[];
  egress: readonly NetworkPolicyEgressRule[];
}

/** The label every namespace carries, set by the API server (immutable since 1.22). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Kubernetes label-selector semantics; an empty selector selects everything. */
export function labelSelectorMatches(sel: LabelSelector, labels: Labels): boolean {
  // a key loop, not Object.entries: NetworkPolicy judges this per connection
  const ml = sel.matchLabels;
  for (const k in ml) {
    if (!Object.hasOwn(ml, k)) continue;
    if (ownValue(labels, k) !== ml[k]) return false;
  }
  for (const req of sel.matchExpressions) {
    const value = ownValue(labels, req.key);
    const has = value !== undefined;
    switch (req.operator) {
      case 'In':
        if (!has || value === undefined || !req.values.includes(value)) return false;
        break;
      case 'NotIn':
        if (has && value !== undefined && req.values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

export function isEmptySelector(sel: LabelSelector): boolean {
  return Object.keys(sel.matchLabels).length === 0 && sel.matchExpressions.length === 0;
}

/** `app=web, tier in (a,b), !legacy` — the kubectl notation; `{}` for the empty selector. */
export function formatLabelSelector(sel: LabelSelector): string {
  const parts = Object.entries(sel.matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const req of sel.matchExpressions) {
    switch (req.operator) {
      case 'In': parts.push(`${req.key} in (${req.values.join(',')})`); break;
      case 'NotIn': parts.push(`${req.key} notin (${req.values.join(',')})`); break;
      case 'Exists': parts.push(req.key); break;
      case 'DoesNotExist': parts.push(`!${req.key}`); break;
    }
  }
  return parts.length === 0 ? '{}' : parts.join(', ');
}
