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
import { cidrContains, parseCidr } from '../core/ip.js';
import type { AuthorizationPolicy, AuthzAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, Mesh, Workload } from '../model/types.js';
import { selectorMatches } from '../model/types.js';
import { pathMatch, stringMatch } from './matchers.js';

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
    /** lower-case names; repeated headers joined with "," */
    headers: Readonly<Record<string, string>>;
  };
  /** validated JWT, when RequestAuthentication accepted one */
  auth?: {
    principal: string;
    audiences: string[];
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

/** The policies that select this workload (§6.1), in load order. */
export function policiesFor(mesh: Mesh, w: Workload): AuthorizationPolicy[] {
  return selection(mesh, w).all;
}

/** The policies selecting a workload, split by action: computed once per (policy set, workload). */
interface Selection {
  rootNamespace: string;
  all: AuthorizationPolicy[];
  shadow: AuthorizationPolicy[];
  audit: AuthorizationPolicy[];
  custom: AuthorizationPolicy[];
  deny: AuthorizationPolicy[];
  allow: AuthorizationPolicy[];
  summary: string;
}

const selections = new WeakMap<readonly AuthorizationPolicy[], WeakMap<Workload, Selection>>();

function selection(mesh: Mesh, w: Workload): Selection {
  let byWorkload = selections.get(mesh.authorizationPolicies);
  if (!byWorkload) { byWorkload = new WeakMap(); selections.set(mesh.authorizationPolicies, byWorkload); }
  let sel = byWorkload.get(w);
  if (sel && sel.rootNamespace === mesh.config.rootNamespace) return sel;
  const root = mesh.config.rootNamespace;
  const all = mesh.authorizationPolicies.filter((p) => {
    if (p.targetRefs.length > 0) return false;
    const ns = p.meta.namespace;
    if (ns !== root && ns !== w.namespace) return false;
    return p.selector === null || selectorMatches(p.selector, w.labels);
  });
  const enforced = all.filter((p) => !p.dryRun);
  sel = {
    all,
    rootNamespace: root,
    shadow: all.filter((p) => p.dryRun),
    audit: enforced.filter((p) => p.action === 'AUDIT'),
    custom: enforced.filter((p) => p.action === 'CUSTOM'),
    deny: enforced.filter((p) => p.action === 'DENY'),
    allow: enforced.filter((p) => p.action === 'ALLOW'),
    summary: all.length === 0
      ? `no AuthorizationPolicy selects ${w.id}`
      : `policies selecting ${w.id}: ${all.map((p) => `${p.meta.namespace}/${p.meta.name} (${p.action}${p.dryRun ? ', dry-run' : ''})`).join(', ')}`,
  };
  byWorkload.set(w, sel);
  return sel;
}

const HTTP_SOURCE_FIELDS = ['requestPrincipals', 'notRequestPrincipals'] as const;
const HTTP_OPERATION_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

export function isHttpOnlyWhenKey(key: string): boolean {
  return key.startsWith('request.headers[') || key.startsWith('request.auth.');
}

/** HTTP-only field names a rule uses (§6.8). */
export function httpOnlyFields(rule: AuthzRule): string[] {
  const out = new Set<string>();
  for (const f of rule.from ?? []) for (const k of HTTP_SOURCE_FIELDS) if (f.source[k] !== undefined) out.add(k);
  for (const t of rule.to ?? []) for (const k of HTTP_OPERATION_FIELDS) if (t.operation[k] !== undefined) out.add(k);
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

export interface MatchEnv {
  trustDomains: readonly string[];
  policyNamespace: string;
}

/**
 * Expand a principal pattern over the trust-domain bundle (§1). As Istio's
 * trust-domain bundle does: only a full `<td>/ns/<ns>/sa/<sa>` value (five
 * parts) is rewritten; a `*` trust domain is not enforced; a trust domain that
 * is `cluster.local` or matches a bundle member stands for every member, except
 * that a wildcard trust domain is kept as written for the members it matches.
 */
export function expandPrincipal(value: string, bundle: readonly string[]): string[] {
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

function anyOf(values: readonly string[], test: (v: string) => boolean): boolean {
  for (const v of values) if (test(v)) return true;
  return false;
}

const expanded = new Map<string, string[]>();

function principalMatches(pattern: string, principal: string | null, env: MatchEnv): boolean {
  if (principal === null) return false;
  const key = `${env.trustDomains.join(',')}|${pattern}`;
  let list = expanded.get(key);
  if (!list) { list = expandPrincipal(pattern, env.trustDomains); expanded.set(key, list); }
  return anyOf(list, (p) => stringMatch(p, principal));
}

const regexCache = new Map<string, RegExp>();

function escapeRe(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

function cachedRe(src: string): RegExp {
  let re = regexCache.get(src);
  if (!re) { re = new RegExp(src); regexCache.set(src, re); }
  return re;
}

/** §6.5: the regex `.*\/ns\/<ns>\/.*` on the peer URI, with `*` in the value meaning `.*`. */
function namespaceMatches(pattern: string, principal: string | null): boolean {
  if (principal === null) return false;
  if (pattern === '*') return principal !== '';
  const ns = pattern.split('*').map(escapeRe).join('.*');
  return cachedRe(`^.*/ns/${ns}/.*$`).test(`spiffe://${principal}`);
}

/** §6.5: `requestPrincipals` split at the last `/` into issuer and subject, each matched on its own. */
export function requestPrincipalMatches(pattern: string, principal: string | null | undefined): boolean {
  if (principal === null || principal === undefined) return false;
  const pi = principal.lastIndexOf('/');
  const iss = pi < 0 ? principal : principal.slice(0, pi);
  const sub = pi < 0 ? '' : principal.slice(pi + 1);
  if (pattern === '*') return iss !== '' && sub !== '';
  const vi = pattern.lastIndexOf('/');
  if (vi < 0) return stringMatch(pattern, principal);
  return stringMatch(pattern.slice(0, vi), iss) && stringMatch(pattern.slice(vi + 1), sub);
}

/** §6.5: `ns/sa` (or bare `sa` = the policy's namespace), whatever the trust domain. */
function serviceAccountMatches(value: string, principal: string | null, env: MatchEnv): boolean {
  if (principal === null) return false;
  const full = value.includes('/') ? value : `${env.policyNamespace}/${value}`;
  const [ns, sa] = full.split('/');
  return cachedRe(`^spiffe://.+/ns/${escapeRe(ns ?? '')}/(.+/|)sa/${escapeRe(sa ?? '')}(/.+)?$`).test(`spiffe://${principal}`);
}

function trustDomainMatches(pattern: string, principal: string | null, env: MatchEnv): boolean {
  if (principal === null) return false;
  const td = principal.split('/')[0] ?? '';
  const patterns = env.trustDomains.includes(pattern) ? env.trustDomains : [pattern];
  return anyOf(patterns, (p) => stringMatch(p, td));
}

function ipMatches(block: string, ip: string): boolean {
  const c = parseCidr(block);
  return c !== null && cidrContains(c, ip);
}

/** positive AND negative field pair: `pos` (if set) must match, `neg` (if set) must not. */
function field(pos: readonly string[] | undefined, neg: readonly string[] | undefined, test: (v: string) => boolean): boolean {
  if (pos !== undefined && !anyOf(pos, test)) return false;
  if (neg !== undefined && anyOf(neg, test)) return false;
  return true;
}

export function sourceMatches(s: AuthzSource, a: AuthzAttributes, env: MatchEnv): boolean {
  const peer = a.peerPrincipal;
  return field(s.principals, s.notPrincipals, (v) => principalMatches(v, peer, env))
    && field(s.namespaces, s.notNamespaces, (v) => namespaceMatches(v, peer))
    && field(s.serviceAccounts, s.notServiceAccounts, (v) => serviceAccountMatches(v, peer, env))
    && field(s.trustDomains, s.notTrustDomains, (v) => trustDomainMatches(v, peer, env))
    && field(s.requestPrincipals, s.notRequestPrincipals, (v) => requestPrincipalMatches(v, a.auth?.principal))
    && field(s.ipBlocks, s.notIpBlocks, (v) => ipMatches(v, a.sourceIp))
    && field(s.remoteIpBlocks, s.notRemoteIpBlocks, (v) => ipMatches(v, a.remoteIp));
}

export function operationMatches(o: AuthzOperation, a: AuthzAttributes): boolean {
  const h = a.http;
  return field(o.hosts, o.notHosts, (v) => stringMatch(v, h?.host, true))
    && field(o.ports, o.notPorts, (v) => Number(v) === a.destinationPort)
    && field(o.methods, o.notMethods, (v) => stringMatch(v, h?.method))
    && field(o.paths, o.notPaths, (v) => h !== undefined && pathMatch(v, h.path));
}

/** Values of a `when` attribute; an empty list means the attribute is absent. */
function claimValues(a: AuthzAttributes, key: string): string[] {
  const names = [...key.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1] as string);
  let cur: unknown = a.auth?.claims;
  for (const n of names) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return [];
    cur = (cur as Record<string, unknown>)[n];
  }
  const last = names[names.length - 1] ?? '';
  const spaced = ['scope', 'permission', ...(a.auth?.spaceDelimitedClaims ?? [])].includes(last);
  const flat = (v: unknown): string[] => {
    if (typeof v === 'string') return spaced ? v.split(' ').filter((x) => x !== '') : [v];
    if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
    if (Array.isArray(v)) return v.flatMap((x) => (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' ? [String(x)] : []));
    return [];
  };
  return flat(cur);
}

export function conditionMatches(c: AuthzCondition, a: AuthzAttributes, env: MatchEnv): boolean {
  const test = conditionTest(c.key, a, env);
  return field(c.values, c.notValues, test);
}

function conditionTest(key: string, a: AuthzAttributes, env: MatchEnv): (v: string) => boolean {
  const peer = a.peerPrincipal;
  const header = /^request\.headers\[(.+)\]$/.exec(key);
  if (header) {
    const value = a.http?.headers[(header[1] as string).toLowerCase()];
    // `*` on a header is Envoy's present_match: a header that is present matches, even when empty.
    return (v) => (v === '*' ? value !== undefined : stringMatch(v, value));
  }
  if (key.startsWith('request.auth.claims')) {
    const vals = claimValues(a, key);
    return (v) => anyOf(vals, (x) => stringMatch(v, x));
  }
  switch (key) {
    case 'source.ip': return (v) => ipMatches(v, a.sourceIp);
    case 'remote.ip': return (v) => ipMatches(v, a.remoteIp);
    case 'destination.ip': return (v) => ipMatches(v, a.destinationIp);
    case 'destination.port': return (v) => Number(v) === a.destinationPort;
    case 'source.namespace': return (v) => namespaceMatches(v, peer);
    case 'source.principal': return (v) => principalMatches(v, peer, env);
    case 'source.serviceAccount': return (v) => serviceAccountMatches(v, peer, env);
    case 'source.trustDomain': return (v) => trustDomainMatches(v, peer, env);
    case 'connection.sni': return (v) => stringMatch(v, a.sni);
    case 'request.auth.principal': return (v) => requestPrincipalMatches(v, a.auth?.principal);
    case 'request.auth.presenter': return (v) => stringMatch(v, a.auth?.presenter);
    case 'request.auth.audiences': return (v) => anyOf(a.auth?.audiences ?? [], (x) => stringMatch(v, x));
    default: return () => false; // dynamic metadata is not modeled: the attribute is absent
  }
}

export function ruleMatches(rule: AuthzRule, a: AuthzAttributes, env: MatchEnv): boolean {
  if (rule.from && !rule.from.some((f) => sourceMatches(f.source, a, env))) return false;
  if (rule.to && !rule.to.some((t) => operationMatches(t.operation, a))) return false;
  if (rule.when && !rule.when.every((c) => conditionMatches(c, a, env))) return false;
  return true;
}

interface Match {
  policy: AuthorizationPolicy;
  ref: RuleRef;
}

function ref(p: AuthorizationPolicy, i: number): RuleRef {
  return { namespace: p.meta.namespace, policy: p.meta.name, rule: ruleName(p, i), action: p.action };
}

/** Rules of `p` that match, after TCP compilation. Records dropped rules/fields. */
function matchingRules(p: AuthorizationPolicy, a: AuthzAttributes, env: MatchEnv, dropped: AuthzDecision['dropped']): Match[] {
  const out: Match[] = [];
  (p.rules ?? []).forEach((rule, i) => {
    let r: AuthzRule | null = rule;
    if (a.protocol === 'tcp') {
      const http = httpOnlyFields(rule);
      r = ruleForTcp(rule, p.action);
      if (http.length > 0) dropped.push({ rule: ruleName(p, i), fields: http, effect: r === null ? 'rule dropped' : 'fields dropped' });
    }
    if (r && ruleMatches(r, a, { ...env, policyNamespace: p.meta.namespace })) out.push({ policy: p, ref: ref(p, i) });
  });
  return out;
}

function tcpNote(p: AuthorizationPolicy, r: RuleRef, protocol: 'http' | 'tcp'): string {
  if (protocol !== 'tcp') return '';
  const i = Number(/-rule\[(\d+)\]$/.exec(r.rule)?.[1] ?? -1);
  const rule = p.rules?.[i];
  const http = rule ? httpOnlyFields(rule) : [];
  return http.length > 0 ? ` (its HTTP-only ${http.join(', ')} ${http.length > 1 ? 'are' : 'is'} dropped on this TCP port, so the rest matches)` : '';
}

function ruleForAction(p: AuthorizationPolicy, r: RuleRef, protocol: 'http' | 'tcp'): AuthzRule | undefined {
  const i = Number(/-rule\[(\d+)\]$/.exec(r.rule)?.[1] ?? -1);
  const rule = p.rules?.[i];
  if (!rule || protocol === 'http') return rule;
  return ruleForTcp(rule, p.action) ?? undefined;
}

export function bundleOf(mesh: Mesh): string[] {
  return [mesh.config.trustDomain, ...mesh.config.trustDomainAliases.filter((t) => t !== mesh.config.trustDomain)];
}

/**
 * `phase` splits the filter chain (§3): `custom` runs only the CUSTOM
 * (ext_authz) filter, which sits before jwt_authn; `rbac` runs AUDIT, DENY
 * and ALLOW, after jwt_authn; `all` runs both (TCP chains have no jwt_authn).
 */
export function evaluateAuthz(mesh: Mesh, w: Workload, a: AuthzAttributes, extAuthz?: ExtAuthz, phase: 'custom' | 'rbac' | 'all' = 'all'): AuthzDecision {
  const sel = selection(mesh, w);
  const env: MatchEnv = { trustDomains: bundleOf(mesh), policyNamespace: w.namespace };
  const dropped: AuthzDecision['dropped'] = [];
  const trace: string[] = [];
  const shadowPolicies = sel.shadow;
  const audited: RuleRef[] = [];
  const shadow: AuthzDecision['shadow'] = [];
  const base = { audited, shadow, dropped, trace };

  if (phase !== 'custom') trace.push(sel.summary);

  const runCustom = phase !== 'rbac';
  const runRbac = phase !== 'custom';
  for (const p of runRbac ? shadowPolicies : []) {
    const m = matchingRules(p, a, env, []);
    if (p.action === 'DENY' && m[0]) shadow.push({ rule: m[0].ref, policy: `${p.meta.namespace}/${p.meta.name}`, effect: 'shadow denied' });
    if (p.action === 'ALLOW') {
      shadow.push(m[0]
        ? { rule: m[0].ref, policy: `${p.meta.namespace}/${p.meta.name}`, effect: 'shadow allowed' }
        : { rule: null, policy: `${p.meta.namespace}/${p.meta.name}`, effect: 'shadow denied' });
    }
  }

  for (const p of runRbac ? sel.audit : []) {
    for (const m of matchingRules(p, a, env, dropped)) audited.push(m.ref);
  }

  // CUSTOM
  const custom = runCustom ? sel.custom : [];
  const providers = new Set(custom.map((p) => p.provider ?? ''));
  for (const p of custom) {
    const m = matchingRules(p, a, env, dropped)[0];
    if (!m) continue;
    const provider = p.provider ?? '';
    const known = mesh.config.extensionProviders.some((e) => e.name === provider);
    let verdict: CustomVerdict;
    if (!known) {
      verdict = { allowed: false, status: 403, body: 'RBAC: access denied', reason: `extension provider "${provider}" is not defined in the mesh config, so the CUSTOM rule compiles to a deny` };
    } else if (providers.size > 1) {
      verdict = { allowed: false, status: 403, body: 'RBAC: access denied', reason: 'more than one CUSTOM provider selects this workload; without PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS the CUSTOM rules become deny rules' };
    } else {
      verdict = extAuthz?.(provider, a) ?? { allowed: false, status: 403, body: 'denied by ext_authz', reason: `no stand-in for ext-authz provider "${provider}" in the scenario; meshrange fails closed` };
    }
    trace.push(`CUSTOM ${m.ref.rule} matched → provider ${provider}: ${verdict.allowed ? 'allow' : 'deny'} (${verdict.reason})`);
    if (!verdict.allowed) {
      return { ...base, allowed: false, stage: 'custom', decidedBy: m.ref, consulted: [], reason: verdict.reason,
        details: 'ext_authz_denied', custom: { provider, verdict } };
    }
  }

  if (!runRbac) {
    return { ...base, allowed: true, stage: 'no-allow-policy', decidedBy: null, consulted: [], reason: 'no CUSTOM rule denied', details: '' };
  }

  // DENY
  for (const p of sel.deny) {
    const m = matchingRules(p, a, env, dropped)[0];
    if (m) {
      trace.push(`DENY ${m.ref.rule} matched`);
      return { ...base, allowed: false, stage: 'deny', decidedBy: m.ref, consulted: [],
        reason: `the request matches DENY ${m.ref.rule.replace(/.*-rule/, 'rule')} of ${p.meta.namespace}/${p.meta.name}: ${describeRule(ruleForAction(p, m.ref, a.protocol))}${tcpNote(p, m.ref, a.protocol)}`,
        details: `rbac_access_denied_matched_policy[${m.ref.rule}]` };
    }
  }

  // ALLOW
  const allows = sel.allow;
  if (allows.length === 0) {
    trace.push('no ALLOW policy selects the workload → allowed');
    return { ...base, allowed: true, stage: 'no-allow-policy', decidedBy: null, consulted: [], reason: 'no ALLOW policy selects the workload', details: '' };
  }
  for (const p of allows) {
    const m = matchingRules(p, a, env, dropped)[0];
    if (m) {
      trace.push(`ALLOW ${m.ref.rule} matched → allowed`);
      return { ...base, allowed: true, stage: 'allow', decidedBy: m.ref, consulted: [], reason: `ALLOW rule ${m.ref.rule} matched`, details: '' };
    }
  }
  const names = allows.map((p) => `${p.meta.namespace}/${p.meta.name}`);
  trace.push(`ALLOW policies ${names.join(', ')} select ${w.id} and none matched → denied`);
  const droppedNote = a.protocol === 'tcp' && dropped.some((d) => d.effect === 'rule dropped')
    ? '; on this TCP port ALLOW rules that use HTTP-only fields are dropped' : '';
  return { ...base, allowed: false, stage: 'no-allow-match', decidedBy: null,
    consulted: allows.map((p) => ({ namespace: p.meta.namespace, name: p.meta.name, action: p.action })),
    reason: `ALLOW policies select ${w.name} and none matched${droppedNote} (${allows.map(describePolicy).join('; ')})`,
    details: 'rbac_access_denied_matched_policy[none]' };
}
