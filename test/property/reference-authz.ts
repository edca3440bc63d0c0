/**
 * A deliberately small reference evaluator for AuthorizationPolicy, written
 * from istio-semantics.md (§1, §6.1–§6.8) and not from src/policy. It is slow
 * and plain on purpose: the property tests check the fast evaluator against it.
 *
 * Scope: ALLOW, DENY, AUDIT and dry-run. A matching CUSTOM rule is treated as
 * "no ext-authz stand-in → deny" (fail closed), nothing more.
 */
import type { AuthorizationPolicy, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, Workload } from '../../src/model/types.js';
import type { AuthzAttributes } from '../../src/policy/authorization-policy.js';

export interface RefMesh {
  trustDomain: string;
  aliases: readonly string[];
  rootNamespace: string;
}

// ---------------------------------------------------------------- §6.1 targeting

export function refSelects(p: AuthorizationPolicy, w: Workload, mesh: RefMesh): boolean {
  if (p.targetRefs.length > 0) return false; // targetRefs never reach a sidecar
  const inScope = p.meta.namespace === mesh.rootNamespace || p.meta.namespace === w.namespace;
  if (!inScope) return false;
  if (p.selector === null) return true;
  return Object.keys(p.selector).every((k) => w.labels[k] === p.selector?.[k]);
}

// ---------------------------------------------------------------- §6.4 strings

/** `abc` exact, `abc*` prefix, `*abc` suffix, `*` = non-empty value present; absent never matches. */
function glob(pattern: string, value: string | null | undefined): boolean {
  if (value === null || value === undefined) return false;
  if (pattern === '*') return value.length > 0;
  if (pattern.startsWith('*')) return value.endsWith(pattern.substring(1));
  if (pattern.endsWith('*')) return value.startsWith(pattern.substring(0, pattern.length - 1));
  return pattern === value;
}

function escapeRegex(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, (c) => `\\${c}`);
}

// ---------------------------------------------------------------- §6.5 peer identity

interface Peer { td: string; ns: string; sa: string; full: string }

function peerOf(principal: string | null): Peer | null {
  if (principal === null) return null; // plaintext: no identity at all
  const parts = principal.split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa') return null;
  return { td: parts[0] ?? '', ns: parts[2] ?? '', sa: parts[4] ?? '', full: principal };
}

function bundle(mesh: RefMesh): string[] {
  return [mesh.trustDomain, ...mesh.aliases];
}

/** §1: a policy principal naming the local TD, an alias or `cluster.local` stands for any bundle member. */
function principalMatches(value: string, peer: Peer | null, mesh: RefMesh): boolean {
  if (peer === null) return false;
  const firstSlash = value.indexOf('/');
  const td = firstSlash < 0 ? null : value.substring(0, firstSlash);
  const tdIsBundle = td !== null && td !== '*' && (td === 'cluster.local' || bundle(mesh).includes(td));
  if (tdIsBundle) {
    if (!bundle(mesh).includes(peer.td)) return false;
    return glob(peer.td + value.substring(firstSlash), peer.full);
  }
  return glob(value, peer.full);
}

/** §6.5: regex `.*\/ns/<ns>/.*` on the peer URI, `*` inside the value becoming `.*`. */
function namespaceMatches(value: string, peer: Peer | null): boolean {
  if (peer === null) return false;
  const ns = value.split('*').map(escapeRegex).join('.*');
  return new RegExp(`^.*/ns/${ns}/.*$`).test(`spiffe://${peer.full}`);
}

/** §6.5: `ns/sa`, or a bare `sa` in the policy's namespace; exact; the trust domain is not part of it. */
function serviceAccountMatches(value: string, peer: Peer | null, policyNamespace: string): boolean {
  if (peer === null) return false;
  const [ns = '', sa = ''] = value.includes('/') ? value.split('/') : [policyNamespace, value];
  // Istio writes ns and sa into a regex unescaped: a `.` stands for any one character
  const dotEq = (pattern: string, s: string): boolean => pattern.length === s.length && [...pattern].every((ch, i) => ch === '.' || ch === s[i]);
  return dotEq(ns, peer.ns) && dotEq(sa, peer.sa);
}

/** §6.5/§1: a value equal to a bundle member stands for every member; otherwise a string pattern on the TD. */
function trustDomainMatches(value: string, peer: Peer | null, mesh: RefMesh): boolean {
  if (peer === null) return false;
  if (bundle(mesh).includes(value)) return bundle(mesh).includes(peer.td);
  return glob(value, peer.td);
}

/**
 * §6.5: the value split at its last `/` into an issuer and a subject pattern, tested on the token's `iss` and `sub`
 * claims (strings only). As Istio's generator reads a value: `*` both present; a value starting with `*` — with a
 * `/`, issuer ends with the rest (or is present, for `*`), subject equal; without, subject ends with the rest — a value
 * ending with `*` — with a `/`, issuer equal, subject starts with the rest (or is present); without, issuer starts
 * with the rest — anything else: both equal (no `/`: an empty subject).
 */
function requestPrincipalMatches(value: string, claims: Readonly<Record<string, unknown>> | undefined): boolean {
  if (claims === undefined) return false;
  const iss = Object.prototype.hasOwnProperty.call(claims, 'iss') ? claims['iss'] : undefined;
  const sub = Object.prototype.hasOwnProperty.call(claims, 'sub') ? claims['sub'] : undefined;
  if (typeof iss !== 'string' || typeof sub !== 'string') return false;
  const cut = value.lastIndexOf('/');
  const vIss = cut < 0 ? value : value.substring(0, cut);
  const vSub = cut < 0 ? '' : value.substring(cut + 1);
  if (value === '*') return iss.length > 0 && sub.length > 0;
  if (value[0] === '*') {
    if (cut < 0) return iss.length > 0 && sub.endsWith(value.substring(1));
    return (vIss === '*' ? iss.length > 0 : iss.endsWith(vIss.substring(1))) && sub === vSub;
  }
  if (value[value.length - 1] === '*') {
    if (cut < 0) return iss.startsWith(value.substring(0, value.length - 1)) && sub.length > 0;
    return iss === vIss && (vSub === '*' ? sub.length > 0 : sub.startsWith(vSub.substring(0, vSub.length - 1)));
  }
  return iss === vIss && sub === vSub;
}

function ipv4(text: string): number | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!m) return null;
  return m.slice(1).reduce((acc, x) => acc * 256 + Number(x), 0);
}

/** IPv4 address or CIDR (the tests use IPv4 only). */
function ipMatches(block: string, ip: string): boolean {
  const [base, len] = block.split('/');
  const b = ipv4(base ?? '');
  const a = ipv4(ip);
  if (b === null || a === null) return false;
  const size = 2 ** (32 - (len === undefined ? 32 : Number(len)));
  return Math.floor(a / size) === Math.floor(b / size);
}

// ---------------------------------------------------------------- §6.3 structure

/** A positive list needs one match, a negative list needs none; absent or empty lists hold. */
function pair(values: readonly string[] | undefined, notValues: readonly string[] | undefined, test: (v: string) => boolean): boolean {
  const posOk = values === undefined || values.length === 0 || values.some(test);
  const negOk = notValues === undefined || !notValues.some(test);
  return posOk && negOk;
}

function sourceHolds(s: AuthzSource, a: AuthzAttributes, mesh: RefMesh, policyNs: string): boolean {
  const peer = peerOf(a.peerPrincipal);
  return pair(s.principals, s.notPrincipals, (v) => principalMatches(v, peer, mesh))
    && pair(s.namespaces, s.notNamespaces, (v) => namespaceMatches(v, peer))
    && pair(s.serviceAccounts, s.notServiceAccounts, (v) => serviceAccountMatches(v, peer, policyNs))
    && pair(s.trustDomains, s.notTrustDomains, (v) => trustDomainMatches(v, peer, mesh))
    && pair(s.requestPrincipals, s.notRequestPrincipals, (v) => requestPrincipalMatches(v, a.auth?.claims))
    && pair(s.ipBlocks, s.notIpBlocks, (v) => ipMatches(v, a.sourceIp))
    && pair(s.remoteIpBlocks, s.notRemoteIpBlocks, (v) => ipMatches(v, a.remoteIp));
}

/** §6.6 templates as Envoy compiles them: `{*}` = [lit]+, `{**}` = [lit/]* (the empty run too), lit = unreserved, `%` and sub-delims but `*` `=`, plus `:` `@`. */
function pathHolds(pattern: string, path: string): boolean {
  if (!pattern.includes('{')) return glob(pattern, path);
  const lit = "[A-Za-z0-9\\-._~%!$&'()+,;:@]";
  const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = pattern.split('/').map((s) => (s === '{*}' ? `${lit}+` : s === '{**}' ? `(?:${lit}|/)*` : esc(s))).join('/');
  return new RegExp(`^${re}$`).test(path);
}

function operationHolds(o: AuthzOperation, a: AuthzAttributes): boolean {
  const h = a.http;
  return pair(o.hosts, o.notHosts, (v) => h !== undefined && glob(v.toLowerCase(), h.host.toLowerCase()))
    && pair(o.ports, o.notPorts, (v) => v === String(a.destinationPort))
    && pair(o.methods, o.notMethods, (v) => glob(v, h?.method))
    && pair(o.paths, o.notPaths, (v) => h !== undefined && pathHolds(v, h.path));
}

const SPACE_SPLIT = ['scope', 'permission'];

/** §6.7: the values a claim path yields; none when absent. */
function claim(a: AuthzAttributes, names: string[]): string[] {
  let v: unknown = a.auth?.claims;
  for (const n of names) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return [];
    v = (v as Record<string, unknown>)[n];
  }
  // only a top-level claim is split on spaces
  const last = names.length === 1 ? names[0] ?? '' : '';
  const split = last !== '' && (SPACE_SPLIT.includes(last) || (a.auth?.spaceDelimitedClaims ?? []).includes(last));
  if (typeof v === 'string') return split ? v.split(' ').filter((s) => s !== '') : [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

const INLINE = 'request.experimental.inline.headers[';

/**
 * §6.7 `request.experimental.inline.headers[h]`, as Istio's InlineHeaderMatcher writes it: `*` alone is present_match;
 * otherwise the RE2 full match `^R$|^R,.*|.*,R,.*|.*,R$`, R the value quoted, a leading `*` as `.*` before the rest,
 * a trailing one as `.*` after it.
 */
export function inlineHeaderMatches(v: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (v === '*') return true;
  const quote = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\${c}`);
  const r = v.startsWith('*') ? `.*${quote(v.substring(1))}` : v.endsWith('*') ? `${quote(v.substring(0, v.length - 1))}.*` : quote(v);
  return new RegExp(`^(?:${r}|${r},.*|.*,${r},.*|.*,${r})$`).test(value);
}

function conditionHolds(c: AuthzCondition, a: AuthzAttributes, mesh: RefMesh, policyNs: string): boolean {
  const peer = peerOf(a.peerPrincipal);
  const k = c.key;
  let test: (v: string) => boolean;
  const header = /^request\.headers\[(.*)\]$/.exec(k);
  const claims = /^request\.auth\.claims((\[[^\]]+\])+)$/.exec(k);
  if (header) {
    const name = (header[1] ?? '').toLowerCase();
    const value = a.http === undefined ? undefined : a.http.headers[name];
    test = (v) => glob(v, value);
  } else if (k.startsWith(INLINE) && k.endsWith(']')) {
    const value = a.http === undefined ? undefined : a.http.headers[k.slice(INLINE.length, -1).toLowerCase()];
    test = (v) => inlineHeaderMatches(v, value);
  } else if (claims) {
    const names = (claims[1] ?? '').slice(1, -1).split('][');
    test = (v) => claim(a, names).some((x) => glob(v, x));
  } else if (k === 'source.ip') test = (v) => ipMatches(v, a.sourceIp);
  else if (k === 'remote.ip') test = (v) => ipMatches(v, a.remoteIp);
  else if (k === 'destination.ip') test = (v) => ipMatches(v, a.destinationIp);
  else if (k === 'destination.port') test = (v) => v === String(a.destinationPort);
  else if (k === 'source.namespace') test = (v) => namespaceMatches(v, peer);
  else if (k === 'source.principal') test = (v) => principalMatches(v, peer, mesh);
  else if (k === 'source.serviceAccount') test = (v) => serviceAccountMatches(v, peer, policyNs);
  else if (k === 'source.trustDomain') test = (v) => trustDomainMatches(v, peer, mesh);
  else if (k === 'connection.sni') test = (v) => glob(v, a.sni);
  else if (k === 'request.auth.principal') test = (v) => requestPrincipalMatches(v, a.auth?.claims);
  // Istio: the claim matcher of request.auth.claims[azp] / [aud]
  else if (k === 'request.auth.presenter') test = (v) => claim(a, ['azp']).some((x) => glob(v, x));
  else if (k === 'request.auth.audiences') test = (v) => claim(a, ['aud']).some((x) => glob(v, x));
  else throw new Error(`reference evaluator: unsupported when key ${k}`);
  return pair(c.values, c.notValues, test);
}

export function refRuleMatches(r: AuthzRule, a: AuthzAttributes, mesh: RefMesh, policyNs: string): boolean {
  const fromOk = r.from === undefined || r.from.some((f) => sourceHolds(f.source, a, mesh, policyNs));
  const toOk = r.to === undefined || r.to.some((t) => operationHolds(t.operation, a));
  const whenOk = (r.when ?? []).every((c) => conditionHolds(c, a, mesh, policyNs));
  return fromOk && toOk && whenOk;
}

// ---------------------------------------------------------------- §6.8 TCP

export function refIsHttpOnlyKey(key: string): boolean {
  return key.startsWith('request.headers[') || key.startsWith(INLINE) || key.startsWith('request.auth.');
}

function usesHttpOnly(r: AuthzRule): boolean {
  const src = (r.from ?? []).some(({ source: s }) => s.requestPrincipals !== undefined || s.notRequestPrincipals !== undefined);
  const op = (r.to ?? []).some(({ operation: o }) => [o.hosts, o.notHosts, o.methods, o.notMethods, o.paths, o.notPaths].some((x) => x !== undefined));
  const when = (r.when ?? []).some((c) => refIsHttpOnlyKey(c.key));
  return src || op || when;
}

/** The rule on a TCP chain: ALLOW drops it whole, DENY/AUDIT/CUSTOM keep it minus the HTTP-only fields. */
export function refTcpRule(r: AuthzRule, action: AuthorizationPolicy['action']): AuthzRule | null {
  if (!usesHttpOnly(r)) return r;
  if (action === 'ALLOW') return null;
  const out: AuthzRule = {};
  if (r.from) {
    out.from = r.from.map(({ source }) => {
      const { requestPrincipals: _a, notRequestPrincipals: _b, ...rest } = source;
      return { source: rest };
    });
  }
  if (r.to) {
    out.to = r.to.map(({ operation }) => {
      const { hosts: _a, notHosts: _b, methods: _c, notMethods: _d, paths: _e, notPaths: _f, ...rest } = operation;
      return { operation: rest };
    });
  }
  if (r.when) out.when = r.when.filter((c) => !refIsHttpOnlyKey(c.key));
  return out;
}

/** Does any rule of this policy match (after TCP compilation)? */
export function refPolicyMatches(p: AuthorizationPolicy, a: AuthzAttributes, mesh: RefMesh): boolean {
  return (p.rules ?? []).some((rule) => {
    const r = a.protocol === 'tcp' ? refTcpRule(rule, p.action) : rule;
    return r !== null && refRuleMatches(r, a, mesh, p.meta.namespace);
  });
}

// ---------------------------------------------------------------- §6.2 decision

export type RefVerdict = 'allow' | 'deny';

/** `policies` = the policies that select the workload (§6.1), any order. */
export function referenceAuthz(policies: readonly AuthorizationPolicy[], a: AuthzAttributes, mesh: RefMesh): RefVerdict {
  const enforced = policies.filter((p) => !p.dryRun);
  const withAction = (act: string) => enforced.filter((p) => p.action === act);
  if (withAction('CUSTOM').some((p) => refPolicyMatches(p, a, mesh))) return 'deny';
  if (withAction('DENY').some((p) => refPolicyMatches(p, a, mesh))) return 'deny';
  const allows = withAction('ALLOW');
  if (allows.length === 0) return 'allow';
  return allows.some((p) => refPolicyMatches(p, a, mesh)) ? 'allow' : 'deny';
}
