/**
 * AuthorizationPolicy (istio-semantics §6).
 *
 * Targeting (§6.1): a policy in the root namespace without selector applies to
 * every workload of the mesh; with a selector, to matching workloads in all
 * namespaces. Elsewhere: its own namespace, all workloads or the selected ones.
 * `targetRefs` policies are not applied to sidecars. Enforcement happens only
 * at the receiving proxy.
 *
 * Decision (§6.2): CUSTOM first (a matching rule asks the ext-authz provider;
 * its deny is final), then DENY (any matching rule denies), then ALLOW: no
 * ALLOW policy selects the workload → allow; some ALLOW rule matches → allow;
 * otherwise deny. AUDIT only marks. Dry-run policies (`istio.io/dry-run`) go
 * to a shadow evaluation that is reported, never enforced.
 *
 * Rules (§6.3): a policy matches if any rule matches; a rule matches if any
 * `from` (or none) AND any `to` (or none) AND all `when`. Inside a source or
 * operation every set field must hold; inside a field any value may match.
 * `notX` holds when the attribute matches none of the values.
 * An ALLOW policy with no `rules` matches nothing; `rules: [{}]` matches all.
 *
 * Peer identity (§6.5): principals, namespaces, serviceAccounts, trustDomains
 * never match a plaintext connection, so their `not` forms do. Trust-domain
 * aliases (§1): a principal whose trust domain is the local one, an alias or
 * the literal `cluster.local` stands for every member of the bundle.
 *
 * HTTP-only fields on TCP (§6.8): for ALLOW the whole rule is dropped; for
 * DENY/AUDIT/CUSTOM only the field is dropped (a remainder with nothing left
 * matches everything).
 *
 * Every rule has the stable name `ns[<ns>]-policy[<name>]-rule[<i>]`.
 */
import { NAMED, namedSome } from '../core/names.js';
import { exactSize } from '../core/arrays.js';
import { cidrContains, parseCidr } from '../core/ip.js';
import { ownValue } from '../core/record.js';
import type { AuthorizationPolicy, AuthzAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, Labels, Mesh, Workload } from '../model/types.js';
import { SELECTOR_INDEX_MIN, SelectorBuckets } from '../model/selector-index.js';
import { selectorMatches } from '../model/types.js';
import { globMatcher, inlineHeaderMatcher, pathMatcher, stringMatch, stringMatcher } from './matchers.js';

export interface AuthzAttributes {
  protocol: 'http' | 'tcp';
  /** mTLS peer principal `<td>/ns/<ns>/sa/<sa>`, null when the connection is plaintext */
  peerPrincipal: string | null;
  sourceIp: string;
  /** original client IP (X-Forwarded-For / PROXY); equals sourceIp inside the mesh */
  remoteIp: string;
  destinationIp: string;
  /** workload (container / target) port */
  destinationPort: number;
  sni: string | null;
  http?: {
    host: string;
    method: string;
    /** normalized, query stripped */
    path: string;
    /** the normalized path with its query, as the `:path` pseudo-header carries it; absent = `path` */
    pathWithQuery?: string;
    /** lower-case names; repeated headers joined with "," */
    headers: Readonly<Record<string, string>>;
  };
  /** validated JWT, when RequestAuthentication accepted one */
  auth?: {
    principal: string;
    /** the token's `aud`, as a list (informational: `request.auth.audiences` matches the `aud` claim of `claims`, as Istio does) */
    audiences: string[];
    /** the token's `azp` when a string (informational: `request.auth.presenter` matches the `azp` claim of `claims`) */
    presenter?: string;
    claims: Readonly<Record<string, unknown>>;
    spaceDelimitedClaims?: readonly string[];
  };
}

export interface RuleRef {
  namespace: string;
  policy: string;
  /** `ns[x]-policy[y]-rule[i]` */
  rule: string;
  action: AuthzAction;
}

export type AuthzStage = 'custom' | 'deny' | 'allow' | 'no-allow-policy' | 'no-allow-match';

export interface CustomVerdict {
  allowed: boolean;
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  reason: string;
}

/** Asks the stand-in for a CUSTOM provider; undefined = no stand-in (fails closed). */
export type ExtAuthz = (provider: string, attrs: AuthzAttributes) => CustomVerdict | undefined;

export interface AuthzDecision {
  allowed: boolean;
  stage: AuthzStage;
  /** the rule that decided (DENY/CUSTOM/ALLOW match), null for defaults */
  decidedBy: RuleRef | null;
  /** the policies involved when the default decided (ALLOW policies that did not match) */
  consulted: { namespace: string; name: string; action: AuthzAction }[];
  reason: string;
  /** Envoy response-code-details, e.g. rbac_access_denied_matched_policy[none] */
  details: string;
  custom?: { provider: string; verdict: CustomVerdict };
  audited: RuleRef[];
  shadow: { rule: RuleRef | null; policy: string; effect: 'shadow denied' | 'shadow allowed' }[];
  /** rules (or parts) ignored because they use HTTP-only fields on TCP */
  dropped: { rule: string; fields: string[]; effect: 'rule dropped' | 'fields dropped' }[];
  trace: string[];
}

export function ruleName(p: AuthorizationPolicy, i: number): string {
  return `ns[${p.meta.namespace}]-policy[${p.meta.name}]-rule[${i}]`;
}

/**
 * The policies that select this workload (§6.1), in load order. Kept with the workload's selection when short; a
 * long list (hundreds of mesh-wide policies) is made again at each call rather than kept once per workload, which
 * was (root policies × workloads) entries. Callers must not change the list.
 */
export function policiesFor(mesh: Mesh, w: Workload): readonly AuthorizationPolicy[] {
  const sel = selection(mesh, w);
  if (sel.all !== undefined) return sel.all;
  const all = candidates(mesh.authorizationPolicies, sel.rootNamespace, w.namespace, sel.bundle, bundleFor(mesh.config).key)
    .map((e) => e.policy).filter((p) => targets(p, w));
  if (all.length <= KEPT_POLICIES_MAX) sel.all = exactSize(all);
  return all;
}

/** policiesFor keeps a workload's list up to this length (see there). */
const KEPT_POLICIES_MAX = 64;

/** The policies selecting a workload, split by action and compiled: made once per (policy set, mesh config, workload). */
interface Selection {
  config: Mesh['config'];
  rootNamespace: string;
  trustDomain: string;
  aliases: readonly string[];
  bundle: string[];
  /** every selecting policy in load order, dry-run ones included; made on first use (policiesFor, the trace) */
  all?: AuthorizationPolicy[];
  /**
   * The policies applying to the workload, split by dry-run and action, in up to three parts, each load-ordered and
   * shared as widely as it can be: the root namespace's without a selector (every workload of the mesh), its own
   * namespace's without a selector (every workload of the namespace), the ones its own selector matches. Parts with
   * nothing are left out. They are read as one list in load order (inOrder, firstMatchInParts): no merged copy of
   * the mesh-wide lists per namespace or per workload, which was (root policies × namespaces or workloads) entries.
   */
  parts: Lists[];
  /** the trace's first line; made on the workload's first decision, not at selection */
  summary?: string;
  /** the ALLOW policies as the no-match denial names and describes them (the first SUMMARY_NAMES, then a count), made on first use */
  allowLabels?: string;
  allowWhy?: string;
}

/**
 * Selections by policy set, then by workload. The inner table is a Map, not a WeakMap: it lives exactly as long as
 * the policy set (the mesh holds both), and a WeakMap entry per workload costs the scavenger ephemeron work.
 */
const selections = new WeakMap<readonly AuthorizationPolicy[], Map<Workload, Selection>>();

/**
 * The policies by namespace, each list in load order, as compiled policies (their rules' predicates are made later,
 * on first use or by prepareAuthz): made once per (policy set, trust-domain bundle), so a policy has one compiled
 * form per bundle and every workload it selects shares it.
 */
const byNamespace = new WeakMap<readonly AuthorizationPolicy[], Map<string, Map<string, CompiledPolicy[]>>>();

/** The policies of the root namespace and of `ns` (§6.1 scope), in load order, without scanning the whole set. */
function candidates(policies: readonly AuthorizationPolicy[], root: string, ns: string, bundle: readonly string[], bundleKey: string): readonly CompiledPolicy[] {
  const index = namespaceIndex(policies, bundle, bundleKey);
  const a = index.get(root) ?? [];
  return ns === root ? a : mergeByOrder(a, index.get(ns) ?? []);
}

function namespaceIndex(policies: readonly AuthorizationPolicy[], bundle: readonly string[], bundleKey: string): Map<string, CompiledPolicy[]> {
  let byBundle = byNamespace.get(policies);
  if (!byBundle) { byBundle = new Map(); byNamespace.set(policies, byBundle); }
  let index = byBundle.get(bundleKey);
  if (!index) {
    const made = new Map<string, CompiledPolicy[]>();
    for (let i = 0; i < policies.length; i++) {
      const policy = policies[i] as AuthorizationPolicy;
      const cp = new CompiledPolicy(policy, i, bundle, bundleKey);
      const list = made.get(policy.meta.namespace);
      if (list) list.push(cp); else made.set(policy.meta.namespace, [cp]);
    }
    byBundle.set(bundleKey, made);
    index = made;
  }
  return index;
}

/**
 * Selects every workload's policies and compiles every rule's predicates now,
 * rather than on each workload's first request and each rule's first
 * evaluation: the whole setup a policy engine pays before it answers at full
 * speed (benchmarks.md B2, T2.3). Decisions do not need it.
 */
export function prepareAuthz(mesh: Mesh): void {
  for (const w of mesh.workloads) selection(mesh, w);
  // compile each policy some workload selected once (a policy no workload selects is never evaluated)
  const index = byNamespace.get(mesh.authorizationPolicies)?.get(bundleFor(mesh.config).key);
  if (!index) return;
  for (const list of index.values()) {
    for (const cp of list) {
      if (!cp.selected || cp.prepared) continue;
      cp.prepared = true;
      for (const r of cp.rules) r.compile();
    }
  }
}

/** §6.1 within the candidates (root and own namespace): no targetRefs, and no selector or one matching the workload's labels. */
function targets(p: AuthorizationPolicy, w: Workload): boolean {
  return p.targetRefs.length === 0 && (p.selector === null || selectorMatches(p.selector, w.labels));
}

function selection(mesh: Mesh, w: Workload): Selection {
  let byWorkload = selections.get(mesh.authorizationPolicies);
  if (!byWorkload) { byWorkload = new Map(); selections.set(mesh.authorizationPolicies, byWorkload); }
  const config = mesh.config;
  let sel = byWorkload.get(w);
  if (sel && sel.config === config && sel.rootNamespace === config.rootNamespace
    && sel.trustDomain === config.trustDomain && sel.aliases === config.trustDomainAliases) return sel;
  const root = config.rootNamespace;
  const { bundle, key: bundleKey } = bundleFor(config);
  const base = namespaceBase(mesh.authorizationPolicies, root, w.namespace, bundle, bundleKey);
  // §6.1 targeting: the namespace-wide policies apply as they are; of the selecting ones (the root namespace's and
  // the workload's own namespace's, each list asked on its own), those whose selector matches, in load order
  let matched = matchingSelectors(base, w.labels);
  if (base.root !== null) {
    const fromRoot = matchingSelectors(base.root, w.labels);
    if (fromRoot !== null) matched = matched === null ? fromRoot : mergeByOrder(fromRoot, matched);
  }
  const parts: Lists[] = [];
  if (base.root !== null && !emptyLists(base.root.lists)) parts.push(base.root.lists);
  if (!emptyLists(base.lists)) parts.push(base.lists);
  if (matched !== null) parts.push(split(matched));
  sel = { config, rootNamespace: root, trustDomain: config.trustDomain, aliases: config.trustDomainAliases, bundle, parts: exactSize(parts) };
  byWorkload.set(w, sel);
  return sel;
}

const NONE: CompiledPolicy[] = [];
const NO_RULES: CompiledRule[] = [];

function emptyLists(l: Lists): boolean {
  return l.shadow.length === 0 && l.audit.length === 0 && l.custom.length === 0 && l.deny.length === 0 && l.allow.length === 0;
}

type PolicyKind = 'shadow' | 'audit' | 'custom' | 'deny' | 'allow';

/** One kind of policy of the parts as one load-ordered list: the part's own list when only one has any (shared), else merged. */
function inOrder(parts: readonly Lists[], kind: PolicyKind): readonly CompiledPolicy[] {
  let out: readonly CompiledPolicy[] = NONE;
  for (const l of parts) {
    const x = l[kind];
    if (x.length > 0) out = out.length === 0 ? x : mergeByOrder(out, x);
  }
  return out;
}

/** The selected policies of a workload split by dry-run and action, each list in load order, and the rules of deny and allow flattened. */
interface Lists {
  shadow: CompiledPolicy[];
  audit: CompiledPolicy[];
  custom: CompiledPolicy[];
  deny: CompiledPolicy[];
  allow: CompiledPolicy[];
  denyRules: CompiledRule[];
  allowRules: CompiledRule[];
}

function split(cps: readonly CompiledPolicy[]): Lists {
  const l: Lists = { shadow: [], audit: [], custom: [], deny: [], allow: [], denyRules: [], allowRules: [] };
  for (const cp of cps) {
    const p = cp.policy;
    if (p.dryRun) { l.shadow.push(cp); continue; }
    switch (p.action) {
      case 'AUDIT': l.audit.push(cp); break;
      case 'CUSTOM': l.custom.push(cp); break;
      case 'DENY': l.deny.push(cp); for (const r of cp.rules) l.denyRules.push(r); break;
      case 'ALLOW': l.allow.push(cp); for (const r of cp.rules) l.allowRules.push(r); break;
    }
  }
  // kept by the namespace's base or the workload's selection: no spare room (core/arrays.ts), and an empty list is
  // the shared one (nothing adds to these lists once made)
  const policies = (x: CompiledPolicy[]): CompiledPolicy[] => (x.length === 0 ? NONE : exactSize(x));
  const rules = (x: CompiledRule[]): CompiledRule[] => (x.length === 0 ? NO_RULES : exactSize(x));
  return {
    shadow: policies(l.shadow), audit: policies(l.audit), custom: policies(l.custom), deny: policies(l.deny), allow: policies(l.allow),
    denyRules: rules(l.denyRules), allowRules: rules(l.allowRules),
  };
}

/**
 * Two load-ordered lists (of index entries or compiled policies) merged into one, in load order. When either is
 * empty the other is returned as it is (shared, not copied); otherwise the result is a new array of exactly a + b.
 */
function mergeByOrder<T extends { readonly order: number }>(a: readonly T[], b: readonly T[]): T[] {
  if (b.length === 0) return a as T[];
  if (a.length === 0) return b as T[];
  const out = new Array<T>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as T;
    const y = b[j] as T;
    if (x.order < y.order) { out[k++] = x; i++; } else { out[k++] = y; j++; }
  }
  while (i < a.length) out[k++] = a[i++] as T;
  while (j < b.length) out[k++] = b[j++] as T;
  return out;
}

/**
 * What every workload of a namespace shares of its own policies (§6.1 scope: the root namespace's and its own; the
 * root namespace's are the root's base, read beside it): those without a selector, already split into lists, and
 * the candidates with one, which each workload checks against its labels. Made once per (policy set, root
 * namespace, namespace, trust-domain bundle), so the mesh-wide policies are selected once, not once per workload.
 */
interface NamespaceBase {
  /** the namespace's OWN policies without a selector, split (the root namespace's are its base's, `root`) */
  lists: Lists;
  /**
   * the namespace's OWN policies with a selector, in load order; the root namespace's are its base's (`root`), asked
   * on their own: one copy of them per namespace was (root policies × namespaces) entries, an index over each copy too
   */
  selecting: CompiledPolicy[];
  /** the root namespace's base, for another namespace; null for the root namespace itself */
  root: NamespaceBase | null;
  /** `selecting` by one `key=value` pair of each selector (made on first use, for a long list; see selectingCandidates) */
  byPair?: SelectorBuckets<CompiledPolicy>;
}

/**
 * The selecting policies of one base a workload's labels may match, in load order: every one for a short list; for a
 * long one, those the selector index (model/selector-index.ts) files under one of the workload's own `key=value`
 * pairs and those with an empty selector. The caller still checks each selector in full.
 */
function selectingCandidates(base: NamespaceBase, labels: Labels): readonly CompiledPolicy[] {
  if (base.selecting.length < SELECTOR_INDEX_MIN) return base.selecting;
  base.byPair ??= new SelectorBuckets(base.selecting, (cp) => cp.policy.selector);
  return base.byPair.candidates(labels);
}

/** The policies of one base's `selecting` whose selector the labels match (marked selected), in load order; null: none. */
function matchingSelectors(base: NamespaceBase, labels: Labels): CompiledPolicy[] | null {
  let matched: CompiledPolicy[] | null = null;
  for (const cp of selectingCandidates(base, labels)) {
    if (selectorMatches(cp.policy.selector as Labels, labels)) { cp.selected = true; (matched ??= []).push(cp); }
  }
  return matched;
}

const namespaceBases = new WeakMap<readonly AuthorizationPolicy[], Map<string, NamespaceBase>>();

function namespaceBase(policies: readonly AuthorizationPolicy[], root: string, ns: string, bundle: readonly string[], bundleKey: string): NamespaceBase {
  let bases = namespaceBases.get(policies);
  if (!bases) { bases = new Map(); namespaceBases.set(policies, bases); }
  const key = `${root}\u0000${ns}\u0000${bundleKey}`;
  let base = bases.get(key);
  if (base === undefined) {
    // the namespace's own policies; the root namespace's are its own base's, made once and read by every namespace
    const wide: CompiledPolicy[] = [];
    const selecting: CompiledPolicy[] = [];
    for (const cp of namespaceIndex(policies, bundle, bundleKey).get(ns) ?? []) {
      const p = cp.policy;
      if (p.targetRefs.length > 0) continue; // targetRefs policies never apply to sidecars (§6.1)
      if (p.selector === null) { cp.selected = true; wide.push(cp); } else selecting.push(cp);
    }
    base = { lists: split(wide), selecting: exactSize(selecting), root: ns === root ? null : namespaceBase(policies, root, root, bundle, bundleKey) };
    bases.set(key, base);
  }
  return base;
}

const HTTP_SOURCE_FIELDS = ['requestPrincipals', 'notRequestPrincipals'] as const;
const HTTP_OPERATION_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

/** The `when` key that reads a request header as a comma-separated list (§6.7), before the header name and `]`. */
export const INLINE_HEADERS_KEY = 'request.experimental.inline.headers[';

/**
 * The header a `when` key reads, as written in the key: `request.headers[<name>]` or
 * `request.experimental.inline.headers[<name>]` (both whatever the client sent, §6.7); null for any other key.
 */
export function whenHeaderName(key: string): string | null {
  const prefix = key.startsWith('request.headers[') ? 'request.headers['.length : key.startsWith(INLINE_HEADERS_KEY) ? INLINE_HEADERS_KEY.length : -1;
  return prefix > 0 && key.endsWith(']') && key.length > prefix + 1 ? key.slice(prefix, -1) : null;
}

export function isHttpOnlyWhenKey(key: string): boolean {
  return key.startsWith('request.headers[') || key.startsWith(INLINE_HEADERS_KEY) || key.startsWith('request.auth.');
}

/** Whether a rule uses any HTTP-only field (§6.8): httpOnlyFields(rule).length > 0, without building the list. */
const nonEmpty = (l: readonly string[] | undefined): boolean => l !== undefined && l.length > 0;

function hasHttpOnlyFields(rule: AuthzRule): boolean {
  for (const f of rule.from ?? []) for (const k of HTTP_SOURCE_FIELDS) if (nonEmpty(f.source[k])) return true;
  for (const t of rule.to ?? []) for (const k of HTTP_OPERATION_FIELDS) if (nonEmpty(t.operation[k])) return true;
  for (const c of rule.when ?? []) if (isHttpOnlyWhenKey(c.key)) return true;
  return false;
}

/** HTTP-only field names a rule uses (§6.8). */
export function httpOnlyFields(rule: AuthzRule): string[] {
  const out = new Set<string>();
  for (const f of rule.from ?? []) for (const k of HTTP_SOURCE_FIELDS) if (nonEmpty(f.source[k])) out.add(k);
  for (const t of rule.to ?? []) for (const k of HTTP_OPERATION_FIELDS) if (nonEmpty(t.operation[k])) out.add(k);
  for (const c of rule.when ?? []) if (isHttpOnlyWhenKey(c.key)) out.add(`when ${c.key}`);
  return [...out].sort();
}

/** The rule as compiled for a TCP filter chain, or null when it is dropped. */
export function ruleForTcp(rule: AuthzRule, action: AuthzAction): AuthzRule | null {
  if (httpOnlyFields(rule).length === 0) return rule;
  if (action === 'ALLOW') return null;
  const out: AuthzRule = {};
  if (rule.from) {
    out.from = rule.from.map((f) => {
      const s: AuthzSource = { ...f.source };
      for (const k of HTTP_SOURCE_FIELDS) delete s[k];
      return { source: s };
    });
  }
  if (rule.to) {
    out.to = rule.to.map((t) => {
      const o: AuthzOperation = { ...t.operation };
      for (const k of HTTP_OPERATION_FIELDS) delete o[k];
      return { operation: o };
    });
  }
  if (rule.when) out.when = rule.when.filter((c) => !isHttpOnlyWhenKey(c.key));
  return out;
}

/** One line naming what a rule asks for, e.g. `from principals [a] to methods [GET] paths [/x*]`. */
export function describeRule(rule: AuthzRule | undefined): string {
  if (!rule) return 'no rule';
  const fields = (o: object): string => Object.entries(o)
    .filter(([, v]) => Array.isArray(v))
    .map(([k, v]) => `${k} [${(v as string[]).join(', ')}]`).join(' ') || 'anything';
  const parts: string[] = [];
  if (rule.from) parts.push(`from ${rule.from.map((f) => fields(f.source)).join(' | ')}`);
  if (rule.to) parts.push(`to ${rule.to.map((t) => fields(t.operation)).join(' | ')}`);
  if (rule.when) parts.push(`when ${rule.when.map((c) => `${c.key}${c.values ? ` in [${c.values.join(', ')}]` : ''}${c.notValues ? ` not in [${c.notValues.join(', ')}]` : ''}`).join(' and ')}`);
  return parts.length === 0 ? 'any request' : parts.join(' ');
}

function describePolicy(p: AuthorizationPolicy): string {
  if (!p.rules || p.rules.length === 0) return `${p.meta.namespace}/${p.meta.name} has no rules (allows nothing)`;
  const shown = p.rules.slice(0, 3).map((r) => describeRule(r)).join('; ');
  return `${p.meta.namespace}/${p.meta.name} allows ${shown}${p.rules.length > 3 ? `; … (${p.rules.length} rules)` : ''}`;
}

/**
 * Expand a principal pattern over the trust-domain bundle (§1). As Istio's
 * trust-domain bundle does: only a full `<td>/ns/<ns>/sa/<sa>` value (five
 * parts) is rewritten; a `*` trust domain is not enforced; a trust domain that
 * is `cluster.local` or matches a bundle member stands for every member, except
 * that a wildcard trust domain is kept as written for the members it matches.
 */
export function expandPrincipal(value: string, bundle: readonly string[]): string[] {
  // the common case, one trust domain and a principal written in it: the value is its own expansion
  // (its trust domain is the bundle's one member, which every branch below maps to itself)
  if (bundle.length === 1 && value.indexOf('/') === (bundle[0] as string).length && value.startsWith(bundle[0] as string) && fiveParts(value)) return [value];
  const parts = value.split('/');
  if (parts.length !== 5) return [value];
  const td = parts[0] as string;
  if (td === '*') return [value];
  if (td !== 'cluster.local' && !bundle.some((b) => stringMatch(td, b))) return [value];
  const rest = parts.slice(1).join('/');
  const out: string[] = [];
  for (const b of bundle) {
    const p = td.includes('*') && stringMatch(td, b) ? value : `${b}/${rest}`;
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** value.split('/').length === 5, without the split */
function fiveParts(value: string): boolean {
  let n = 0;
  for (let i = value.indexOf('/'); i >= 0; i = value.indexOf('/', i + 1)) if (++n > 4) return false;
  return n === 4;
}

/**
 * Compiled matching. Each rule is compiled once per (policy set, workload)
 * into a predicate over a per-decision context, for HTTP and for TCP (§6.8),
 * so a decision does no parsing, no regex building and no string formatting:
 * principal patterns are expanded over the trust-domain bundle, regexes and
 * CIDRs are built, and the explanation strings of each rule are made on first
 * use and kept.
 */
interface Ctx {
  a: AuthzAttributes;
  peer: string | null;
  /** `spiffe://<peer>`, the string Istio's namespace / service-account regexes run on */
  spiffe: string;
  /** the peer's trust domain */
  td: string;
}

type Pred = (c: Ctx) => boolean;

function context(a: AuthzAttributes): Ctx {
  const peer = a.peerPrincipal;
  if (peer === null) return { a, peer, spiffe: '', td: '' };
  const slash = peer.indexOf('/');
  return { a, peer, spiffe: `spiffe://${peer}`, td: slash < 0 ? peer : peer.slice(0, slash) };
}

/*
 * some / every: two or three predicates are held in the closure itself, more in an exact-size copy, so a
 * compiled rule keeps no half-empty array (a list built by push holds 17 slots for 2 entries) and a decision
 * walks no array for the common short rule. Same order, same short-circuit as a loop.
 */
function some(preds: readonly Pred[]): Pred {
  switch (preds.length) {
    case 0: return never;
    case 1: return preds[0] as Pred;
    case 2: { const p = preds[0] as Pred; const q = preds[1] as Pred; return (c) => p(c) || q(c); }
    case 3: { const p = preds[0] as Pred; const q = preds[1] as Pred; const r = preds[2] as Pred; return (c) => p(c) || q(c) || r(c); }
    default: {
      const ps = preds.slice();
      return (c) => {
        for (const p of ps) if (p(c)) return true;
        return false;
      };
    }
  }
}

function every(preds: readonly Pred[]): Pred {
  switch (preds.length) {
    case 0: return always;
    case 1: return preds[0] as Pred;
    case 2: { const p = preds[0] as Pred; const q = preds[1] as Pred; return (c) => p(c) && q(c); }
    case 3: { const p = preds[0] as Pred; const q = preds[1] as Pred; const r = preds[2] as Pred; return (c) => p(c) && q(c) && r(c); }
    default: {
      const ps = preds.slice();
      return (c) => {
        for (const p of ps) if (!p(c)) return false;
        return true;
      };
    }
  }
}

/*
 * Leaf matchers of the common fields as one closure each (matchers.ts stringMatcher semantics: `*` = present and
 * non-empty, one leading `*` = suffix, one trailing `*` = prefix, else exact; an absent value never matches),
 * instead of a stringMatcher closure wrapped in a field reader: half the closures per rule at setup, one call
 * fewer per field at decision time. Pinned by the property tests against the reference evaluator.
 */
const enum Pat { Present, Suffix, Prefix, Exact }

/** matchers.ts stringMatcher's reading of a pattern, and the literal part the test compares with */
function patternKind(p: string): Pat {
  return p === '*' ? Pat.Present : p.startsWith('*') ? Pat.Suffix : p.endsWith('*') ? Pat.Prefix : Pat.Exact;
}

function patternLiteral(p: string, k: Pat): string {
  return k === Pat.Suffix ? p.slice(1) : k === Pat.Prefix ? p.slice(0, -1) : p;
}

/*
 * Leaves are pure functions of their pattern, so one closure serves every rule that names the same pattern
 * (in a generated or real policy set, the same methods, ports, path prefixes and principals recur across
 * thousands of rules): made once, kept in a bounded table per kind. Sharing changes nothing a rule decides,
 * only how many closures setup allocates and the scavenger then copies (T2.3).
 */
const LEAF_MEMO_MAX = 65_536;

function leafMemo(table: Map<string, Pred>, key: string, make: (key: string) => Pred): Pred {
  let p = table.get(key);
  if (p === undefined) {
    if (table.size >= LEAF_MEMO_MAX) table.clear(); // bounded: a hostile policy set cannot grow it without limit
    p = make(key);
    table.set(key, p);
  }
  return p;
}

const peerLeaves = new Map<string, Pred>();
const methodLeaves = new Map<string, Pred>();
const pathLeaves = new Map<string, Pred>();
const portLeaves = new Map<string, Pred>();
const namespaceLeaves = new Map<string, Pred>();

// Each closure captures the one string it compares with, so a leaf costs one closure and one context.
function peerPattern(p: string): Pred {
  return leafMemo(peerLeaves, p, makePeerPattern);
}

function makePeerPattern(p: string): Pred {
  const k = patternKind(p);
  const s = patternLiteral(p, k);
  switch (k) {
    case Pat.Present: return (c) => c.peer !== null && c.peer !== '';
    case Pat.Suffix: return (c) => c.peer !== null && c.peer.endsWith(s);
    case Pat.Prefix: return (c) => c.peer !== null && c.peer.startsWith(s);
    case Pat.Exact: return (c) => c.peer === s;
  }
}

function methodPattern(p: string): Pred {
  return leafMemo(methodLeaves, p, makeMethodPattern);
}

function makeMethodPattern(p: string): Pred {
  const k = patternKind(p);
  const s = patternLiteral(p, k);
  switch (k) {
    case Pat.Present: return (c) => c.a.http !== undefined && c.a.http.method !== '';
    case Pat.Suffix: return (c) => c.a.http !== undefined && c.a.http.method.endsWith(s);
    case Pat.Prefix: return (c) => c.a.http !== undefined && c.a.http.method.startsWith(s);
    case Pat.Exact: return (c) => c.a.http !== undefined && c.a.http.method === s;
  }
}

/** A `paths` value: a template (`{*}`, `{**}`) through matchers.ts pathMatcher, else a string pattern on the path. */
function pathPattern(p: string): Pred {
  return leafMemo(pathLeaves, p, makePathPattern);
}

function makePathPattern(p: string): Pred {
  if (p.includes('{')) return pathTemplate(pathMatcher(p));
  const k = patternKind(p);
  const s = patternLiteral(p, k);
  switch (k) {
    case Pat.Present: return (c) => c.a.http !== undefined && c.a.http.path !== '';
    case Pat.Suffix: return (c) => c.a.http !== undefined && c.a.http.path.endsWith(s);
    case Pat.Prefix: return (c) => c.a.http !== undefined && c.a.http.path.startsWith(s);
    case Pat.Exact: return (c) => c.a.http !== undefined && c.a.http.path === s;
  }
}

function pathTemplate(m: (path: string) => boolean): Pred {
  return (c) => c.a.http !== undefined && m(c.a.http.path);
}

const never: Pred = () => false;
const always: Pred = () => true;

/** some(values.map(value)) without the intermediate array for the common single value. */
function anyOf(values: readonly string[], value: (v: string) => Pred): Pred {
  return values.length === 1 ? value(values[0] as string) : some(values.map(value));
}

/** A positive and negative field pair: `pos` (if set) must match one value, `neg` (if set) none. */
/** A values / notValues pair; an empty list is no list (Istio's generator skips a key whose lists are both empty). */
function field(pos: readonly string[] | undefined, neg: readonly string[] | undefined, value: (v: string) => Pred, out: Pred[]): void {
  if (pos !== undefined && pos.length > 0) out.push(anyOf(pos, value));
  if (neg !== undefined && neg.length > 0) {
    const n = anyOf(neg, value);
    out.push((c) => !n(c));
  }
}

/** §6.5 principals: the pattern expanded over the trust-domain bundle; never a plaintext peer. */
function principalValue(pattern: string, bundle: readonly string[]): Pred {
  const xs = expandPrincipal(pattern, bundle);
  return xs.length === 1 ? peerPattern(xs[0] as string) : some(xs.map(peerPattern));
}

/**
 * §6.5: Istio matches the regex `.*\/ns/<ns>/.*` on the peer URI, each `*` of
 * the value becoming `.*`: the glob `*\/ns/<value>/*` over the whole URI
 * (SPIFFE ids hold no line breaks, so `.` and `*` agree). Matched as a glob,
 * never as a backtracking regex (matchers.ts globMatcher).
 */
function namespaceValue(pattern: string): Pred {
  return leafMemo(namespaceLeaves, pattern, makeNamespaceValue);
}

function makeNamespaceValue(pattern: string): Pred {
  if (pattern === '*') return (c) => c.peer !== null && c.peer !== '';
  if (!pattern.includes('*')) {
    // `*\/ns/<ns>/*` without another star: the URI contains `/ns/<ns>/`
    const needle = `/ns/${pattern}/`;
    return (c) => c.peer !== null && c.spiffe.includes(needle);
  }
  const m = globMatcher(`*/ns/${pattern}/*`);
  return (c) => c.peer !== null && m(c.spiffe);
}

/**
 * §6.5: `ns/sa` (or bare `sa` = the policy's namespace), whatever the trust
 * domain: the URI `spiffe://<td>/ns/<ns>/[<anything>/]sa/<sa>[/<more>]`, as
 * the regex `spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?` reads it, found by
 * scanning for the two parts instead of backtracking. Istio puts `<ns>` and
 * `<sa>` into that regex as they are written, so a `.` in them (a service
 * account name may hold dots) matches any one character: `web.v1` also
 * matches `web-v1`. (Other regex characters cannot occur in a Kubernetes
 * name and are compared as written.)
 */
function serviceAccountValue(value: string, policyNamespace: string): Pred {
  const full = value.includes('/') ? value : `${policyNamespace}/${value}`;
  const [ns, sa] = full.split('/');
  const nsPart = `/ns/${ns ?? ''}/`;
  const saPart = `sa/${sa ?? ''}`;
  const scheme = 'spiffe://';
  const find = nsPart.includes('.') || saPart.includes('.') ? indexOfDotted : (u: string, part: string, from: number) => u.indexOf(part, from);
  const matches = (u: string): boolean => {
    if (!u.startsWith(scheme)) return false;
    for (let i = find(u, nsPart, scheme.length + 1); i >= 0; i = find(u, nsPart, i + 1)) {
      const k = i + nsPart.length;
      for (let j = find(u, saPart, k); j >= 0; j = find(u, saPart, j + 1)) {
        if (j !== k && !(j >= k + 2 && u[j - 1] === '/')) continue;
        const e = j + saPart.length;
        if (e === u.length || (u[e] === '/' && e + 1 < u.length)) return true;
      }
    }
    return false;
  };
  return (c) => c.peer !== null && matches(c.spiffe);
}

/**
 * The first index at or after `from` where `part` occurs in `u`, a `.` of `part` standing for any one character but a
 * line break (RE2's `.`); -1 when none. Linear in `u` times `part`, no backtracking.
 */
function indexOfDotted(u: string, part: string, from: number): number {
  for (let i = Math.max(from, 0); i + part.length <= u.length; i++) {
    let j = 0;
    for (; j < part.length; j++) {
      const p = part[j];
      const ch = u[i + j];
      if (p === '.' ? ch === '\n' : p !== ch) break;
    }
    if (j === part.length) return i;
  }
  return -1;
}

/** §6.5 trustDomains: a bundle member stands for the whole bundle (§1). */
function trustDomainValue(pattern: string, bundle: readonly string[]): Pred {
  const ms = (bundle.includes(pattern) ? bundle : [pattern]).map((x) => stringMatcher(x));
  return (c) => c.peer !== null && ms.some((m) => m(c.td));
}

function ipValue(block: string, ip: (a: AuthzAttributes) => string): Pred {
  const cidr = parseCidr(block);
  return cidr === null ? never : (c) => cidrContains(cidr, ip(c.a));
}

/**
 * §6.5 `requestPrincipals`, as Istio's requestPrincipalGenerator builds it: the value split at its last `/` into
 * issuer and subject, each matched against the token's own `iss` and `sub` claims (string metadata; a missing or
 * non-string claim matches nothing). A `*` is a wildcard only at the start or the end of the whole value:
 *  - `*`: any non-empty issuer and subject;
 *  - a leading `*`: with a `/`, the issuer by suffix (`*` alone: any) and the subject exactly; without, any issuer
 *    and the subject by suffix;
 *  - a trailing `*`: with a `/`, the issuer exactly and the subject by prefix (`*` alone: any); without, the issuer
 *    by prefix and any subject;
 *  - otherwise both exactly (no `/`: the value is the issuer, and the subject must be empty).
 */
export function requestPrincipalMatches(pattern: string, auth: { claims: Readonly<Record<string, unknown>> } | null | undefined): boolean {
  if (auth === null || auth === undefined) return false;
  const issClaim = ownValue(auth.claims, 'iss');
  const subClaim = ownValue(auth.claims, 'sub');
  if (typeof issClaim !== 'string' || typeof subClaim !== 'string') return false;
  const idx = pattern.lastIndexOf('/');
  const found = idx >= 0;
  const iss = found ? pattern.slice(0, idx) : pattern;
  const sub = found ? pattern.slice(idx + 1) : '';
  const any = (v: string): boolean => v.length > 0;
  if (pattern === '*') return any(issClaim) && any(subClaim);
  if (pattern.startsWith('*')) {
    if (found) return (iss === '*' ? any(issClaim) : issClaim.endsWith(iss.slice(1))) && subClaim === sub;
    return any(issClaim) && subClaim.endsWith(pattern.slice(1));
  }
  if (pattern.endsWith('*')) {
    if (found) return issClaim === iss && (sub === '*' ? any(subClaim) : subClaim.startsWith(sub.slice(0, -1)));
    return issClaim.startsWith(pattern.slice(0, -1)) && any(subClaim);
  }
  return issClaim === iss && subClaim === sub;
}

/*
 * The compilers below gather a rule's parts in one scratch list each (every() keeps at most three parts in its
 * closure and copies a longer list, so the scratch is free again when it returns): a list built by push holds 17
 * slots, and one per source, operation and condition of 10,000 rules was a fifth of what setup allocated. None of
 * them calls itself, so a list is never in use twice. A field's value compiler is made only when the field is set.
 */
const sourceParts: Pred[] = [];
const operationParts: Pred[] = [];
const conditionParts: Pred[] = [];
const ruleParts: Pred[] = [];

/** every(parts), leaving the scratch list empty */
function allOf(parts: Pred[]): Pred {
  const p = every(parts);
  parts.length = 0;
  return p;
}

function set(pos: readonly string[] | undefined, neg: readonly string[] | undefined): boolean {
  return pos !== undefined || neg !== undefined;
}

function compileSource(s: AuthzSource, bundle: readonly string[], policyNamespace: string): Pred {
  const out = sourceParts;
  out.length = 0;
  if (set(s.principals, s.notPrincipals)) field(s.principals, s.notPrincipals, (v) => principalValue(v, bundle), out);
  field(s.namespaces, s.notNamespaces, namespaceValue, out);
  if (set(s.serviceAccounts, s.notServiceAccounts)) field(s.serviceAccounts, s.notServiceAccounts, (v) => serviceAccountValue(v, policyNamespace), out);
  if (set(s.trustDomains, s.notTrustDomains)) field(s.trustDomains, s.notTrustDomains, (v) => trustDomainValue(v, bundle), out);
  field(s.requestPrincipals, s.notRequestPrincipals, requestPrincipalValue, out);
  field(s.ipBlocks, s.notIpBlocks, sourceIpValue, out);
  field(s.remoteIpBlocks, s.notRemoteIpBlocks, remoteIpValue, out);
  return allOf(out);
}

function requestPrincipalValue(v: string): Pred {
  return (c) => requestPrincipalMatches(v, c.a.auth);
}

function sourceIpValue(v: string): Pred {
  return ipValue(v, (a) => a.sourceIp);
}

function remoteIpValue(v: string): Pred {
  return ipValue(v, (a) => a.remoteIp);
}

function hostValue(v: string): Pred {
  const m = stringMatcher(v, true);
  return (c) => m(c.a.http?.host);
}

/** A `ports` / `destination.port` value: the port number it names (a value that is not a number matches no port). */
function portValue(v: string): Pred {
  return leafMemo(portLeaves, v, makePortValue);
}

function makePortValue(v: string): Pred {
  const n = Number(v);
  return (c) => n === c.a.destinationPort;
}

function compileOperation(o: AuthzOperation): Pred {
  const out = operationParts;
  out.length = 0;
  field(o.hosts, o.notHosts, hostValue, out);
  field(o.ports, o.notPorts, portValue, out);
  field(o.methods, o.notMethods, methodPattern, out);
  field(o.paths, o.notPaths, pathPattern, out);
  return allOf(out);
}

/** The claims `request.auth.presenter` and `request.auth.audiences` read. */
const PRESENTER = ['azp'] as const;
const AUDIENCES = ['aud'] as const;

/** Values of a `request.auth.claims[a][b]` attribute; an empty list means it is absent. */
function claimValues(a: AuthzAttributes, names: readonly string[]): string[] {
  let cur: unknown = a.auth?.claims;
  for (const n of names) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return [];
    cur = ownValue(cur as Record<string, unknown>, n);
  }
  // Envoy splits space-delimited claims of the payload's top level only (scope, permission, spaceDelimitedClaims)
  const last = names.length === 1 ? names[0] as string : '';
  const spaced = last === 'scope' || last === 'permission' || (last !== '' && (a.auth?.spaceDelimitedClaims ?? []).includes(last));
  // Istio's claim matcher is a string match or a list "one of" string match (MetadataListValueMatcher): a string
  // matcher matches string values only, so a number or boolean claim (or list element) matches nothing (istio#49913).
  if (typeof cur === 'string') return spaced ? cur.split(' ').filter((x) => x !== '') : [cur];
  if (Array.isArray(cur)) return cur.flatMap((x) => (typeof x === 'string' ? [x] : []));
  return [];
}

/**
 * The value a header matcher reads for a header name: Envoy's header matcher reads the whole header map, pseudo-headers
 * too: :authority, :method, :path (with its query). Repeated headers are already joined with `,`, as Envoy joins them.
 */
function headerReader(headerName: string): (a: AuthzAttributes) => string | undefined {
  const name = headerName.toLowerCase();
  return name === ':authority' ? (a) => a.http?.host
    : name === ':method' ? (a) => a.http?.method
      : name === ':path' ? (a) => a.http ? a.http.pathWithQuery ?? a.http.path : undefined
        : (a) => ownValue(a.http?.headers, name);
}

/** One value of a `when` key (§6.7), as a predicate. */
function conditionValue(key: string, bundle: readonly string[], policyNamespace: string): (v: string) => Pred {
  const header = /^request\.headers\[(.+)\]$/.exec(key);
  if (header) {
    const get = headerReader(header[1] as string);
    // `*` on a header is Envoy's present_match: a header that is present matches, even when empty.
    return (v) => {
      if (v === '*') return (c) => get(c.a) !== undefined;
      const m = stringMatcher(v);
      return (c) => m(get(c.a));
    };
  }
  // Istio's requestInlineHeaderGenerator: the same header, matched as a list of comma-separated elements (the loader
  // admits only keys ending in `]` with a name between the brackets).
  if (key.startsWith(INLINE_HEADERS_KEY) && key.endsWith(']') && key.length > INLINE_HEADERS_KEY.length + 1) {
    const get = headerReader(key.slice(INLINE_HEADERS_KEY.length, -1));
    return (v) => { const m = inlineHeaderMatcher(v); return (c) => m(get(c.a)); };
  }
  if (key.startsWith('request.auth.claims')) {
    const names = [...key.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1] as string);
    return (v) => { const m = stringMatcher(v); return (c) => claimValues(c.a, names).some(m); };
  }
  const str = (get: (a: AuthzAttributes) => string | null | undefined) => (v: string): Pred => {
    const m = stringMatcher(v);
    return (c) => m(get(c.a));
  };
  switch (key) {
    case 'source.ip': return (v) => ipValue(v, (a) => a.sourceIp);
    case 'remote.ip': return (v) => ipValue(v, (a) => a.remoteIp);
    case 'destination.ip': return (v) => ipValue(v, (a) => a.destinationIp);
    case 'destination.port': return portValue;
    case 'source.namespace': return namespaceValue;
    case 'source.principal': return (v) => principalValue(v, bundle);
    case 'source.serviceAccount': return (v) => serviceAccountValue(v, policyNamespace);
    case 'source.trustDomain': return (v) => trustDomainValue(v, bundle);
    case 'connection.sni': return str((a) => a.sni);
    case 'request.auth.principal': return (v) => (c) => requestPrincipalMatches(v, c.a.auth);
    // Istio builds both as the claim matcher of request.auth.claims[azp] / [aud] (generator.go, MetadataListValueMatcherForJWTClaims):
    // a list `azp` matches by any string element, and a claim named in spaceDelimitedClaims is split, as for any claim.
    case 'request.auth.presenter': return (v) => { const m = stringMatcher(v); return (c) => claimValues(c.a, PRESENTER).some(m); };
    case 'request.auth.audiences': return (v) => { const m = stringMatcher(v); return (c) => claimValues(c.a, AUDIENCES).some(m); };
    default: return () => never; // dynamic metadata is not modeled: the attribute is absent
  }
}

function compileCondition(c: AuthzCondition, bundle: readonly string[], policyNamespace: string): Pred {
  const out = conditionParts;
  out.length = 0;
  field(c.values, c.notValues, conditionValue(c.key, bundle, policyNamespace), out);
  return allOf(out);
}

/** §6.3: any `from` (or none) AND any `to` (or none) AND all `when`. */
function compileRule(rule: AuthzRule, bundle: readonly string[], policyNamespace: string): Pred {
  // The parts are pure and all must hold, so they run cheapest first: operations compare
  // strings and numbers, sources may run a regex on the peer URI.
  // Each part is compiled before it joins the scratch list (the compilers of its pieces use lists of their own).
  const to = rule.to ? (rule.to.length === 0 ? never : rule.to.length === 1 ? compileOperation((rule.to[0] as { operation: AuthzOperation }).operation) : some(rule.to.map((t) => compileOperation(t.operation)))) : null;
  const from = rule.from ? (rule.from.length === 0 ? never : rule.from.length === 1 ? compileSource((rule.from[0] as { source: AuthzSource }).source, bundle, policyNamespace) : some(rule.from.map((f) => compileSource(f.source, bundle, policyNamespace)))) : null;
  const when = rule.when ? every(rule.when.map((c) => compileCondition(c, bundle, policyNamespace))) : null;
  const parts = ruleParts;
  parts.length = 0;
  if (to !== null) parts.push(to);
  if (from !== null) parts.push(from);
  if (when !== null) parts.push(when);
  return allOf(parts);
}

/**
 * One rule of one policy. Its predicates are compiled on the rule's first
 * evaluation for each protocol (or all at once by prepareAuthz), and its
 * explanations on first use; only the path index is made up front, so rules
 * that no request reaches are never compiled.
 */
class CompiledRule {
  private refMemo: RuleRef | undefined;
  /**
   * An index on HTTP requests: when every `to` of the rule names `paths`, the
   * literal prefixes of those paths (up to the first `*` or `{`); a request
   * whose path starts with none of them cannot match the rule, which is then
   * skipped without running its predicate. null: no such necessary condition.
   */
  readonly pathPrefixes: readonly string[] | null;
  private http: Pred | undefined;
  /** null: the rule is dropped on TCP (§6.8) */
  private tcp: Pred | null | undefined;
  private drop: AuthzDecision['dropped'][number] | null | undefined;
  private why: Partial<Record<'http' | 'tcp', string>> | undefined;

  /** `order`: the policy's place in the policy set (load order); `index`: the rule's place in the policy */
  constructor(readonly policy: AuthorizationPolicy, readonly order: number, readonly index: number, readonly rule: AuthzRule, private readonly bundle: readonly string[]) {
    this.pathPrefixes = pathPrefixesOf(rule);
  }

  /** The rule's stable name and policy; made on first use (most rules of a large set never decide anything). */
  get ref(): RuleRef {
    return (this.refMemo ??= ref(this.policy, this.index));
  }

  matchesHttp(c: Ctx): boolean {
    return (this.http ??= compileRule(this.rule, this.bundle, this.policy.meta.namespace))(c);
  }

  matchesTcp(c: Ctx): boolean {
    const tcp = this.tcp === undefined ? this.compileTcp() : this.tcp;
    return tcp !== null && tcp(c);
  }

  /** Compiles both predicates now (prepareAuthz). */
  compile(): void {
    this.http ??= compileRule(this.rule, this.bundle, this.policy.meta.namespace);
    if (this.tcp === undefined) this.compileTcp();
  }

  private compileTcp(): Pred | null {
    if (!hasHttpOnlyFields(this.rule)) {
      // no HTTP-only fields: the TCP rule is the rule itself
      this.tcp = this.http ??= compileRule(this.rule, this.bundle, this.policy.meta.namespace);
    } else if (this.policy.action === 'ALLOW') {
      this.tcp = null; // §6.8: an ALLOW rule with HTTP-only fields is dropped on TCP
    } else {
      const tcp = ruleForTcp(this.rule, this.policy.action);
      this.tcp = tcp === null ? null : compileRule(tcp, this.bundle, this.policy.meta.namespace);
    }
    return this.tcp;
  }

  /** What §6.8 does to this rule on a TCP port, when it uses HTTP-only fields; null when it uses none. */
  get tcpDrop(): AuthzDecision['dropped'][number] | null {
    if (this.drop === undefined) {
      const http = httpOnlyFields(this.rule);
      this.drop = http.length === 0 ? null
        : { rule: this.ref.rule, fields: http, effect: ruleForTcp(this.rule, this.policy.action) === null ? 'rule dropped' : 'fields dropped' };
    }
    return this.drop;
  }

  /** What the rule asks for on this protocol, and why the rest matched on TCP. */
  describe(protocol: 'http' | 'tcp'): string {
    let s = this.why?.[protocol];
    if (s === undefined) {
      const r = protocol === 'http' ? this.rule : ruleForTcp(this.rule, this.policy.action) ?? undefined;
      const http = protocol === 'tcp' ? httpOnlyFields(this.rule) : [];
      const note = http.length > 0 ? ` (its HTTP-only ${http.join(', ')} ${http.length > 1 ? 'are' : 'is'} dropped on this TCP port, so the rest matches)` : '';
      s = `${describeRule(r)}${note}`;
      (this.why ??= {})[protocol] = s;
    }
    return s;
  }
}

/** CompiledRule.pathPrefixes: null unless every operation has positive `paths` whose patterns each have a literal head. */
function pathPrefixesOf(rule: AuthzRule): string[] | null {
  if (!rule.to || rule.to.length === 0) return null;
  let n = 0;
  for (const t of rule.to) {
    const paths = t.operation.paths;
    if (paths === undefined) return null;
    n += paths.length;
  }
  const out = new Array<string>(n); // exact size: the list is kept for the rule's life
  let k = 0;
  for (const t of rule.to) {
    for (const p of t.operation.paths as string[]) {
      let cut = 0;
      while (cut < p.length && p.charCodeAt(cut) !== 42 /* * */ && p.charCodeAt(cut) !== 123 /* { */) cut++;
      if (cut === 0) return null;
      out[k++] = cut === p.length ? p : p.slice(0, cut);
    }
  }
  return out;
}

function startsWithAny(path: string, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (path.startsWith(p)) return true;
  return false;
}

/** One policy compiled for one trust-domain bundle: its rules, made once and shared by every workload it selects. */
class CompiledPolicy {
  readonly rules: CompiledRule[];
  /** §6.8 records for every rule of the policy, pushed whenever the policy is evaluated on TCP; made on first TCP use */
  tcpDrops: AuthzDecision['dropped'] | undefined = undefined;
  /** every rule compiled by prepareAuthz */
  prepared = false;
  /** some workload's selection holds this policy (prepareAuthz compiles only those) */
  selected = false;
  private labelMemo: string | undefined = undefined;

  /** `order`: the policy's place in the policy set (load order); `bundleKey`: the trust-domain bundle compiled for */
  constructor(readonly policy: AuthorizationPolicy, readonly order: number, bundle: readonly string[], readonly bundleKey: string) {
    const rules = policy.rules ?? [];
    this.rules = new Array<CompiledRule>(rules.length);
    for (let i = 0; i < rules.length; i++) this.rules[i] = new CompiledRule(policy, order, i, rules[i] as AuthzRule, bundle);
  }

  /** `ns/name`, made on first use (the trace and the no-match denial name policies; most never do) */
  get label(): string {
    return (this.labelMemo ??= `${this.policy.meta.namespace}/${this.policy.meta.name}`);
  }
}

function tcpDropsOf(cp: CompiledPolicy): AuthzDecision['dropped'] {
  if (cp.tcpDrops === undefined) {
    const out: AuthzDecision['dropped'] = [];
    for (const r of cp.rules) if (r.tcpDrop !== null) out.push(r.tcpDrop);
    cp.tcpDrops = out;
  }
  return cp.tcpDrops;
}

/** The first rule of `cp` that matches, after TCP compilation (§6.8); records dropped rules/fields. */
function firstMatch(cp: CompiledPolicy, c: Ctx, dropped: AuthzDecision['dropped'] | null): CompiledRule | undefined {
  const tcp = c.a.protocol === 'tcp';
  if (tcp && dropped !== null) for (const d of tcpDropsOf(cp)) dropped.push({ ...d, fields: [...d.fields] });
  const path = c.a.http?.path;
  for (const r of cp.rules) {
    if (tcp) {
      if (r.matchesTcp(c)) return r;
    } else if (r.pathPrefixes === null || (path !== undefined && startsWithAny(path, r.pathPrefixes))) {
      if (r.matchesHttp(c)) return r;
    }
  }
  return undefined;
}

/**
 * The first matching rule of the first policy that has one. HTTP requests scan
 * the flattened rules (same order); TCP goes policy by policy, since every
 * policy looked at records its §6.8 drops.
 */
function firstMatchIn(policies: readonly CompiledPolicy[], rules: readonly CompiledRule[], c: Ctx, dropped: AuthzDecision['dropped']): CompiledRule | undefined {
  if (c.a.protocol === 'tcp') {
    for (const cp of policies) {
      const m = firstMatch(cp, c, dropped);
      if (m) return m;
    }
    return undefined;
  }
  const path = c.a.http?.path;
  for (const r of rules) {
    if (r.pathPrefixes !== null && (path === undefined || !startsWithAny(path, r.pathPrefixes))) continue;
    if (r.matchesHttp(c)) return r;
  }
  return undefined;
}

/**
 * firstMatchIn over two load-ordered lists as if they were one merged list (a policy is in only one of them, and
 * its rules are consecutive in its list): the same rules looked at in the same order, the same drops recorded.
 */
function firstMatchInBoth(ap: readonly CompiledPolicy[], ar: readonly CompiledRule[], bp: readonly CompiledPolicy[], br: readonly CompiledRule[],
  c: Ctx, dropped: AuthzDecision['dropped']): CompiledRule | undefined {
  let i = 0;
  let j = 0;
  if (c.a.protocol === 'tcp') {
    while (i < ap.length || j < bp.length) {
      const x = ap[i];
      const y = bp[j];
      let cp: CompiledPolicy;
      if (y === undefined || (x !== undefined && x.order < y.order)) { cp = x as CompiledPolicy; i++; } else { cp = y; j++; }
      const m = firstMatch(cp, c, dropped);
      if (m) return m;
    }
    return undefined;
  }
  const path = c.a.http?.path;
  while (i < ar.length || j < br.length) {
    const x = ar[i];
    const y = br[j];
    let r: CompiledRule;
    if (y === undefined || (x !== undefined && x.order < y.order)) { r = x as CompiledRule; i++; } else { r = y; j++; }
    if (r.pathPrefixes !== null && (path === undefined || !startsWithAny(path, r.pathPrefixes))) continue;
    if (r.matchesHttp(c)) return r;
  }
  return undefined;
}

/**
 * The first matching DENY (or ALLOW) rule of the parts read as one load-ordered list: firstMatchIn for one part with
 * any, firstMatchInBoth for two, firstMatchInMany for three.
 */
function firstMatchInParts(parts: readonly Lists[], kind: 'deny' | 'allow', c: Ctx, dropped: AuthzDecision['dropped']): CompiledRule | undefined {
  let a: Lists | null = null;
  let b: Lists | null = null;
  let more = false;
  for (const l of parts) {
    if (l[kind].length === 0) continue;
    if (a === null) a = l; else if (b === null) b = l; else more = true;
  }
  const rules = kind === 'deny' ? 'denyRules' : 'allowRules';
  if (a === null) return undefined;
  if (b === null) return firstMatchIn(a[kind], a[rules], c, dropped);
  if (!more) return firstMatchInBoth(a[kind], a[rules], b[kind], b[rules], c, dropped);
  const with_ = parts.filter((l) => l[kind].length > 0);
  return firstMatchInMany(with_.map((l) => l[kind]), with_.map((l) => l[rules]), c, dropped);
}

/** Which of the lists holds the lowest `order` at its position `at[k]` (or -1: every list is done). */
function lowest(lists: readonly (readonly { readonly order: number }[])[], at: readonly number[]): number {
  let best = -1;
  let order = 0;
  for (let k = 0; k < lists.length; k++) {
    const x = (lists[k] as readonly { readonly order: number }[])[at[k] as number];
    if (x !== undefined && (best < 0 || x.order < order)) { best = k; order = x.order; }
  }
  return best;
}

/** firstMatchIn over any number of disjoint load-ordered lists as if merged: at each step the lowest `order` next. */
function firstMatchInMany(ps: readonly (readonly CompiledPolicy[])[], rs: readonly (readonly CompiledRule[])[], c: Ctx, dropped: AuthzDecision['dropped']): CompiledRule | undefined {
  if (c.a.protocol === 'tcp') {
    const at = ps.map(() => 0);
    for (let k = lowest(ps, at); k >= 0; k = lowest(ps, at)) {
      const cp = (ps[k] as readonly CompiledPolicy[])[at[k] as number] as CompiledPolicy;
      at[k] = (at[k] as number) + 1;
      const m = firstMatch(cp, c, dropped);
      if (m) return m;
    }
    return undefined;
  }
  const path = c.a.http?.path;
  const at = rs.map(() => 0);
  for (let k = lowest(rs, at); k >= 0; k = lowest(rs, at)) {
    const r = (rs[k] as readonly CompiledRule[])[at[k] as number] as CompiledRule;
    at[k] = (at[k] as number) + 1;
    if (r.pathPrefixes !== null && (path === undefined || !startsWithAny(path, r.pathPrefixes))) continue;
    if (r.matchesHttp(c)) return r;
  }
  return undefined;
}

function ref(p: AuthorizationPolicy, i: number): RuleRef {
  return { namespace: p.meta.namespace, policy: p.meta.name, rule: ruleName(p, i), action: p.action };
}

/** The trust-domain bundle of a mesh config and its key, made once per config (selection asks for it once per workload). */
const bundles = new WeakMap<Mesh['config'], { trustDomain: string; aliases: readonly string[]; bundle: string[]; key: string }>();

function bundleFor(config: Mesh['config']): { bundle: string[]; key: string } {
  let b = bundles.get(config);
  if (b === undefined || b.trustDomain !== config.trustDomain || b.aliases !== config.trustDomainAliases) {
    const bundle = [config.trustDomain, ...config.trustDomainAliases.filter((t) => t !== config.trustDomain)];
    b = { trustDomain: config.trustDomain, aliases: config.trustDomainAliases, bundle, key: bundle.join(',') };
    bundles.set(config, b);
  }
  return b;
}

export function bundleOf(mesh: Mesh): string[] {
  return [mesh.config.trustDomain, ...mesh.config.trustDomainAliases.filter((t) => t !== mesh.config.trustDomain)];
}

/** Policies named in the trace's first line; the rest are counted (a person reads eight names, not two hundred). */
const SUMMARY_NAMES = NAMED;

function summaryOf(all: readonly AuthorizationPolicy[], w: Workload): string {
  if (all.length === 0) return `no AuthorizationPolicy selects ${w.id}`;
  const named = all.slice(0, SUMMARY_NAMES).map((p) => `${p.meta.namespace}/${p.meta.name} (${p.action}${p.dryRun ? ', dry-run' : ''})`).join(', ');
  return `policies selecting ${w.id}: ${named}${all.length > SUMMARY_NAMES ? ` and ${all.length - SUMMARY_NAMES} more` : ''}`;
}

/**
 * `phase` splits the filter chain (§3): `custom` runs only the CUSTOM
 * (ext_authz) filter, which sits before jwt_authn; `rbac` runs AUDIT, DENY
 * and ALLOW, after jwt_authn; `all` runs both (TCP chains have no jwt_authn).
 */
export function evaluateAuthz(mesh: Mesh, w: Workload, a: AuthzAttributes, extAuthz?: ExtAuthz, phase: 'custom' | 'rbac' | 'all' = 'all', explain = true): AuthzDecision {
  const sel = selection(mesh, w);
  const c = context(a);
  const dropped: AuthzDecision['dropped'] = [];
  const trace: string[] = [];
  const audited: RuleRef[] = [];
  const shadow: AuthzDecision['shadow'] = [];
  /** Every decision has the same shape, built field by field (a spread of a base object is ~5x slower in V8). */
  // explain false (DecideOptions.explain): no trace lines; every other field is the same.
  const done = (allowed: boolean, stage: AuthzStage, decidedBy: RuleRef | null, consulted: AuthzDecision['consulted'], reason: string, details: string): AuthzDecision =>
    ({ allowed, stage, decidedBy, consulted, reason, details, audited, shadow, dropped, trace });

  if (phase !== 'custom' && explain) {
    sel.summary ??= summaryOf(policiesFor(mesh, w), w);
    trace.push(sel.summary);
  }

  const runCustom = phase !== 'rbac';
  const runRbac = phase !== 'custom';
  if (runRbac) {
    for (const cp of inOrder(sel.parts, 'shadow')) {
      const action = cp.policy.action;
      if (action !== 'DENY' && action !== 'ALLOW') continue;
      const m = firstMatch(cp, c, null);
      if (action === 'DENY' && m) shadow.push({ rule: m.ref, policy: cp.label, effect: 'shadow denied' });
      if (action === 'ALLOW') shadow.push({ rule: m ? m.ref : null, policy: cp.label, effect: m ? 'shadow allowed' : 'shadow denied' });
    }
    for (const cp of inOrder(sel.parts, 'audit')) {
      const tcp = a.protocol === 'tcp';
      if (tcp) for (const d of tcpDropsOf(cp)) dropped.push({ ...d, fields: [...d.fields] });
      for (const r of cp.rules) if (tcp ? r.matchesTcp(c) : r.matchesHttp(c)) audited.push(r.ref);
    }
  }

  // CUSTOM
  const custom = runCustom ? inOrder(sel.parts, 'custom') : NONE;
  const providers = custom.length === 0 ? 0 : new Set(custom.map((cp) => cp.policy.provider ?? '')).size;
  for (const cp of custom) {
    const provider = cp.policy.provider ?? '';
    const ep = mesh.config.extensionProviders.find((e) => e.name === provider);
    // An HTTP ext-authz service has no TCP form: Istio builds no ext_authz filter for it on a TCP filter chain, so the
    // CUSTOM policy does not apply there at all (authz builder buildTCP: "ignored CUSTOM action with HTTP provider").
    if (ep !== undefined && providers === 1 && a.protocol === 'tcp' && ep.kind === 'envoyExtAuthzHttp') {
      if (explain) trace.push(`CUSTOM ${cp.label} does not apply on this TCP filter chain: provider ${provider} is an HTTP ext-authz service (envoyExtAuthzHttp), for which Istio adds no ext_authz filter to TCP chains`);
      continue;
    }
    const m = firstMatch(cp, c, dropped);
    if (!m) continue;
    let verdict: CustomVerdict;
    // a provider Istio cannot use (undefined, several, not ext-authz): no ext_authz filter at all — the CUSTOM rules
    // become plain RBAC DENY rules (authz builder getBadCustomDenyRules), whose refusal is RBAC's, not ext_authz's
    let bad = true;
    if (ep === undefined) {
      verdict = { allowed: false, status: 403, body: 'RBAC: access denied', reason: `extension provider "${provider}" is not defined in the mesh config, so the CUSTOM rule compiles to a deny` };
    } else if (providers > 1) {
      verdict = { allowed: false, status: 403, body: 'RBAC: access denied', reason: 'more than one CUSTOM provider selects this workload; without PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS the CUSTOM rules become deny rules' };
    } else if (ep.kind !== 'envoyExtAuthzHttp' && ep.kind !== 'envoyExtAuthzGrpc') {
      verdict = { allowed: false, status: 403, body: 'RBAC: access denied', reason: `extension provider "${provider}" is a ${ep.kind} provider, not an ext-authz one (envoyExtAuthzHttp or envoyExtAuthzGrpc), so the CUSTOM rule compiles to a deny` };
    } else {
      bad = false;
      verdict = extAuthz?.(provider, a) ?? { allowed: false, status: 403, body: 'denied by ext_authz', reason: `no stand-in for ext-authz provider "${provider}" in the scenario; meshrange fails closed` };
    }
    if (explain) trace.push(`CUSTOM ${m.ref.rule} matched → provider ${provider}: ${verdict.allowed ? 'allow' : 'deny'} (${verdict.reason})`);
    if (!verdict.allowed) {
      // the bad-provider deny rules are named as the ext-authz rules were, with Istio's suffix for them
      if (bad) return done(false, 'custom', m.ref, [], verdict.reason, `rbac_access_denied_matched_policy[istio-ext-authz-${m.ref.rule}-deny-due-to-bad-CUSTOM-action]`);
      const d = done(false, 'custom', m.ref, [], verdict.reason, 'ext_authz_denied');
      d.custom = { provider, verdict };
      return d;
    }
  }

  if (!runRbac) {
    return done(true, 'no-allow-policy', null, [], 'no CUSTOM rule denied', '');
  }

  // DENY
  const denied = firstMatchInParts(sel.parts, 'deny', c, dropped);
  if (denied) {
    const m = denied;
    if (explain) trace.push(`DENY ${m.ref.rule} matched`);
    return done(false, 'deny', m.ref, [], `the request matches DENY rule[${m.index}] of ${m.ref.namespace}/${m.ref.policy}: ${m.describe(a.protocol)}`,
      `rbac_access_denied_matched_policy[${m.ref.rule}]`);
  }

  // ALLOW (the namespace's and the workload's own, as one list in load order)
  if (sel.parts.every((l) => l.allow.length === 0)) {
    if (explain) trace.push('no ALLOW policy selects the workload → allowed');
    return done(true, 'no-allow-policy', null, [], 'no ALLOW policy selects the workload', '');
  }
  const m = firstMatchInParts(sel.parts, 'allow', c, dropped);
  if (m) {
    if (explain) trace.push(`ALLOW ${m.ref.rule} matched → allowed`);
    return done(true, 'allow', m.ref, [], `ALLOW rule ${m.ref.rule} matched`, '');
  }
  const allows = inOrder(sel.parts, 'allow');
  if (explain) {
    sel.allowLabels ??= namedSome(allows, (cp) => cp.label, ', ');
    trace.push(`ALLOW policies ${sel.allowLabels} select ${w.id} and none matched → denied`);
  }
  const droppedNote = a.protocol === 'tcp' && dropped.some((d) => d.effect === 'rule dropped')
    ? '; on this TCP port ALLOW rules that use HTTP-only fields are dropped' : '';
  sel.allowWhy ??= namedSome(allows, (cp) => describePolicy(cp.policy), '; ');
  return done(false, 'no-allow-match', null,
    allows.map((cp) => ({ namespace: cp.policy.meta.namespace, name: cp.policy.meta.name, action: cp.policy.action })),
    `ALLOW policies select ${w.name} and none matched${droppedNote} (${sel.allowWhy})`,
    'rbac_access_denied_matched_policy[none]');
}
