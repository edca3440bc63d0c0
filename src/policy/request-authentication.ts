/**
 * RequestAuthentication: what the jwt_authn filter of the receiving proxy does
 * with the tokens of one request (istio-semantics §7). Synchronous and pure:
 * signatures were checked beforehand (src/policy/jwt-crypto.ts
 * verifySignatures) and are only looked up here. In the filter chain (§3)
 * jwt_authn runs after CUSTOM ext_authz and before RBAC, so a rejected token
 * is answered 401/403 even where an AuthorizationPolicy would deny.
 *
 * Selection (§7, as AuthorizationPolicy §6.1): a policy in the root namespace
 * without selector applies to every workload; with a selector, to matching
 * workloads in all namespaces; elsewhere to its own namespace (all workloads
 * or the selected ones). `targetRefs` policies are not applied to sidecars; on
 * a gateway, a `Gateway` targetRef applies to the pods labelled
 * `gateway.networking.k8s.io/gateway-name: <name>` in the policy's namespace.
 *
 * Merging (§7; Istio policy_applier.go): the jwtRules of all selected
 * policies become one provider list sorted by issuer (`origins-<i>`). One
 * provider: requires_any[P, allow_missing]. Several: requires_any[P1 … Pn,
 * requires_all[any(P1, allow_missing) … any(Pn, allow_missing)]], evaluated
 * in that order, stopping at the first success (Envoy verifier.cc):
 *  - a token valid for any rule whose location it sits in passes — a rule
 *    with the same issuer but other audiences does not reject it;
 *  - no token in any configured location → passes with no principal/claims;
 *  - otherwise the failure reported is the last one that is neither "missing"
 *    nor "issuer is not configured" (those only when nothing else failed).
 *
 * Per rule (Envoy extractor.cc, authenticator.cc, jwt_verify_lib):
 *  - token locations: `fromHeaders` (name + `prefix`, looked for anywhere in
 *    the value; the token is the rest of the value from the first base64url
 *    or dot character after it, so trailing text makes it malformed), `fromParams`
 *    (query of the raw path), `fromCookies`. When none is given, the defaults
 *    `Authorization: Bearer <t>` then the `access_token` query parameter. Set
 *    locations replace the defaults: a Bearer token elsewhere is ignored (=
 *    missing). Every token found must be valid.
 *  - checks, in order: form Header.Payload.Signature (and JSON, alg, field
 *    types); issuer — a token whose `iss` is not the rule's is 401 "Jwt issuer
 *    is not configured" (a rule without issuer accepts any); `nbf`/`exp` with
 *    60 s clock skew against the simulated `nowSeconds` (expired iff now > exp
 *    + 60, not yet valid iff now + 60 < nbf, no exp = never expires);
 *    audiences — when the rule lists any, the token's `aud` (string or list)
 *    must contain one (compared without http(s):// and a trailing /), else
 *    403 "Audiences in Jwt are not allowed"; an empty list is not checked;
 *    signature against the rule's JWKS.
 *  - a JWKS that could not be fetched: istiod inlines a fake public key
 *    (kid "abc"), so every presented token fails (401: "Jwks doesn't have key
 *    to match kid or alg from Jwt", or "Jwt verification fails" for a token
 *    without kid) and a request without token passes.
 *  - a valid token: `outputPayloadToHeader` receives its base64url payload;
 *    `outputClaimToHeaders` copies string/number/bool claims (nested `a.b.c`;
 *    objects and lists as base64 JSON; absent claim → no header); both kinds
 *    of header are first stripped from the request, so a client cannot spoof
 *    them. Unless `forwardOriginalToken`, the header that carried the token is
 *    removed, and so is a query parameter that carried it (Envoy 1.31+,
 *    envoyproxy/envoy#34418: the query is rebuilt as Envoy's QueryParamsMulti
 *    writes it, see withoutParam); a token in a cookie stays.
 * CORS preflight (OPTIONS with Origin and Access-Control-Request-Method)
 * skips JWT checks entirely.
 *
 * Rejection: 401 (403 for audiences), body = the verifier status string,
 * header `www-authenticate: Bearer realm="<scheme>://<host><path>",
 * error="invalid_token"`, details `jwt_authn_access_denied{<status_with_underscores>}`.
 *
 * Accepted: request.auth.principal = `<iss>/<sub>` (empty when either is
 * missing), audiences = `aud`, presenter = `azp`, claims = the payload (nested,
 * for request.auth.claims[a][b]), spaceDelimitedClaims of the rule (`scope`
 * and `permission` are always split by the authorization side). Every valid
 * token's payload is stored (Istio 1.21+ sets payload_in_metadata on every
 * provider, a rule without issuer included, all under the one key `payload`
 * that RBAC reads iss and sub from): with several valid tokens one payload
 * overwrites another, in an order meshrange does not model; it uses the
 * payload of the issuer that sorts first, and says so in the trace.
 */
import type { JwtRule, RequestAuthentication } from '../model/request-authentication.js';
import { mergeAscending } from '../core/arrays.js';
import { SELECTOR_INDEX_MIN, SelectorBuckets } from '../model/selector-index.js';
import { selectorMatches, type Labels } from '../model/types.js';
import type { AuthzAttributes } from './authorization-policy.js';
import type { KeySet, SignatureTable } from './jwt-crypto.js';
import { namedSome } from '../core/names.js';
import { appendValue, ownValue } from '../core/record.js';

export type JwtAuth = NonNullable<AuthzAttributes['auth']>;

export interface JwtOutcome {
  result: 'no-token' | 'valid' | 'invalid';
  /** the validated token, as AuthorizationPolicy sees it (result 'valid' and the rule has an issuer) */
  auth?: JwtAuth;
  status?: 401 | 403;
  /** verifier status string, e.g. "Jwt is expired" */
  body?: string;
  /** www-authenticate: Bearer realm="<url>", error="invalid_token" */
  responseHeaders?: Record<string, string>;
  /** Envoy response-code-details, e.g. jwt_authn_access_denied{Jwt_is_expired} */
  details?: string;
  /** the rule that rejected (invalid) or accepted (valid) the token */
  decidedBy?: { policy: string; rule: number };
  /**
   * headers the app receives after jwt_authn: token header removed unless
   * forwardOriginalToken; outputPayloadToHeader (base64url payload JSON);
   * outputClaimToHeaders (string/int/bool claims, nested a.b.c)
   */
  headersAfter: Record<string, string>;
  /** the path (with query) after jwt_authn: a query parameter that carried a valid token removed unless forwardOriginalToken */
  pathAfter: string;
  trace: string[];
}

export interface JwtRequest {
  /** lower-case names; repeated headers joined with "," */
  headers: Readonly<Record<string, string>>;
  /** raw, with query */
  path: string;
  method: string;
}

/** Verifier status strings (jwt_verify_lib status.cc). */
export const JWT_STATUS = {
  ok: 'OK',
  missing: 'Jwt is missing',
  notYetValid: 'Jwt not yet valid',
  expired: 'Jwt is expired',
  badFormat: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  headerBadBase64: 'Jwt header is an invalid Base64url encoded',
  headerBadJson: 'Jwt header is an invalid JSON',
  headerBadAlg: 'Jwt header [alg] field is required and must be a string',
  headerAlgNotImplemented: 'Jwt header [alg] is not supported',
  headerBadKid: 'Jwt header [kid] field is not a string',
  payloadBadBase64: 'Jwt payload is an invalid Base64url encoded',
  payloadBadJson: 'Jwt payload is an invalid JSON',
  issNotString: 'Jwt payload [iss] field is not a string',
  subNotString: 'Jwt payload [sub] field is not a string',
  iatNotInteger: 'Jwt payload [iat] field is not an integer',
  iatNotPositive: 'Jwt payload [iat] field is not a positive integer',
  nbfNotInteger: 'Jwt payload [nbf] field is not an integer',
  nbfNotPositive: 'Jwt payload [nbf] field is not a positive integer',
  expNotInteger: 'Jwt payload [exp] field is not an integer',
  expNotPositive: 'Jwt payload [exp] field is not a positive integer',
  jtiNotString: 'Jwt payload [jti] field is not a string',
  audNotString: 'Jwt payload [aud] field is not a string or string list',
  signatureBadBase64: 'Jwt signature is an invalid Base64url encoded',
  unknownIssuer: 'Jwt issuer is not configured',
  audienceNotAllowed: 'Audiences in Jwt are not allowed',
  verificationFails: 'Jwt verification fails',
  jwksNoValidKeys: "Jwks doesn't have any valid public key",
  jwksKidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
  jwksFetchFailed: 'Jwks remote fetch is failed',
} as const;

/** Envoy jwt_verify_lib kClockSkewInSecond. */
export const JWT_CLOCK_SKEW_SECONDS = 60;

const IMPLEMENTED_ALGS: readonly string[] = [
  'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA',
];

/** The kid of the key set istiod inlines when it cannot fetch a JWKS (model.CreateFakeJwks). */
const FAKE_JWKS_KID = 'abc';

/** Lines about single providers written in full per pass of a request's trace (the rest are counted). */
const TRACE_PROVIDER_LINES = 16;

// --- selection -------------------------------------------------------------

/** The RequestAuthentications that select this workload (§7 = §6.1), in the given (load) order. */
export function requestAuthenticationsFor(
  list: readonly RequestAuthentication[],
  rootNamespace: string,
  w: { namespace: string; labels: Labels; gateway?: boolean },
): RequestAuthentication[] {
  return list.filter((p) => selects(p, rootNamespace, w));
}

function selects(p: RequestAuthentication, rootNamespace: string, w: { namespace: string; labels: Labels; gateway?: boolean }): boolean {
  const ns = p.meta.namespace;
  if (p.targetRefs.length > 0) {
    if (!w.gateway) return false;
    return p.targetRefs.some((ref) => ref.kind === 'Gateway'
      && (ref.group === undefined || ref.group === 'gateway.networking.k8s.io')
      && (ref.namespace ?? ns) === w.namespace && ns === w.namespace
      && w.labels['gateway.networking.k8s.io/gateway-name'] === ref.name);
  }
  if (ns !== rootNamespace && ns !== w.namespace) return false;
  return p.selector === null || selectorMatches(p.selector, w.labels);
}

/** Per policy list: the answers of requestAuthenticationsSelecting so far, by a hash of their positions in it. */
const answersByList = new WeakMap<readonly RequestAuthentication[], Map<number, (readonly RequestAuthentication[])[]>>();

/**
 * The one answer kept for these positions of `list` (made the first time): workloads selected by the same policies
 * share one list, so that authenticate makes its providers once for them all (providerList). 5,000 mesh-wide
 * policies over 2,000 workloads are one list, not 2,000 lists of 5,000.
 */
function sharedAnswer(list: readonly RequestAuthentication[], at: readonly number[]): readonly RequestAuthentication[] {
  let byHash = answersByList.get(list);
  if (byHash === undefined) { byHash = new Map(); answersByList.set(list, byHash); }
  let h = at.length;
  for (const i of at) h = Math.imul(h ^ i, 0x9e3779b1) >>> 0;
  const same = byHash.get(h);
  if (same !== undefined) {
    for (const known of same) if (known.length === at.length && known.every((p, k) => p === list[at[k] as number])) return known;
  }
  const answer = at.map((i) => list[i] as RequestAuthentication);
  if (same === undefined) byHash.set(h, [answer]); else same.push(answer);
  return answer;
}

/** One namespace's policies of a list: their positions in it (ascending), indexed on first use when there are many. */
interface RaNamespace {
  at: number[];
  buckets?: SelectorBuckets<number>;
}

/** Per policy list: its policies by namespace. Made once per list, whatever the root namespace. */
const raByNs = new WeakMap<readonly RequestAuthentication[], Map<string, RaNamespace>>();

/** The positions of one namespace's policies a workload with these labels may be selected by, ascending. */
function namespaceCandidates(list: readonly RequestAuthentication[], scope: RaNamespace, labels: Labels): readonly number[] {
  if (scope.at.length < SELECTOR_INDEX_MIN) return scope.at;
  scope.buckets ??= new SelectorBuckets(scope.at, (i) => {
    const p = list[i] as RequestAuthentication;
    return p.targetRefs.length > 0 ? null : p.selector;
  });
  return scope.buckets.candidates(labels);
}

/**
 * requestAuthenticationsFor's answer, without checking every policy of the mesh: only the root namespace's and the
 * workload's own can select it (the rest fail its namespace test), and of a long list of either only those the
 * selector index (model/selector-index.ts) files under one of the workload's pairs, with those every workload checks
 * (no selector, an empty one, targetRefs). Each namespace is indexed once, on its own (not once per namespace merged
 * with the root namespace's: that was root policies × namespaces); the two candidate lists are merged by position
 * and go through requestAuthenticationsFor's test, so the order is the list's. A namespace of 10,000 policies over
 * 2,000 pods was 20 M checks. Equal answers are one shared array (sharedAnswer): do not change it.
 */
export function requestAuthenticationsSelecting(
  list: readonly RequestAuthentication[],
  rootNamespace: string,
  w: { namespace: string; labels: Labels; gateway?: boolean },
): readonly RequestAuthentication[] {
  if (list.length < SELECTOR_INDEX_MIN) {
    const at: number[] = [];
    for (let i = 0; i < list.length; i++) if (selects(list[i] as RequestAuthentication, rootNamespace, w)) at.push(i);
    return sharedAnswer(list, at);
  }
  let byNs = raByNs.get(list);
  if (byNs === undefined) {
    byNs = new Map();
    for (let i = 0; i < list.length; i++) {
      const ns = (list[i] as RequestAuthentication).meta.namespace;
      const scope = byNs.get(ns);
      if (scope === undefined) byNs.set(ns, { at: [i] }); else scope.at.push(i);
    }
    raByNs.set(list, byNs);
  }
  const root = byNs.get(rootNamespace);
  const own = w.namespace === rootNamespace ? undefined : byNs.get(w.namespace);
  const candidates = mergeAscending(root === undefined ? [] : namespaceCandidates(list, root, w.labels), own === undefined ? [] : namespaceCandidates(list, own, w.labels));
  return sharedAnswer(list, candidates.filter((i) => selects(list[i] as RequestAuthentication, rootNamespace, w)));
}

/**
 * Default key-set id of a rule, for verifySignatures and authenticate:
 * inline `jwks` → `<ns>/<name>#jwtRules[<i>]`; `jwksUri` → the URI; issuer
 * only (istiod would use OpenID discovery) → `oidc:<issuer>`.
 */
export function defaultKeySetId(rule: JwtRule, policy: RequestAuthentication): string {
  if (rule.jwks !== undefined) return `${policy.meta.namespace}/${policy.meta.name}#jwtRules[${policy.jwtRules.indexOf(rule)}]`;
  if (rule.jwksUri !== undefined) return rule.jwksUri;
  return `oidc:${rule.issuer ?? ''}`;
}

/**
 * The key sets these policies need, by `defaultKeySetId`: inline `jwks` as
 * written; a `jwksUri` through `standIn(uri)` (scenario `spec.mesh.jwks`);
 * an issuer-only rule through `standIn(issuer)`. No stand-in → null (cannot
 * be fetched: fail closed).
 */
export function keySetsFor(policies: readonly RequestAuthentication[], standIn: (uri: string) => string | undefined): KeySet[] {
  const out = new Map<string, KeySet>();
  for (const p of policies) {
    for (const rule of p.jwtRules) {
      const id = defaultKeySetId(rule, p);
      if (out.has(id)) continue;
      const jwks = rule.jwks ?? standIn(rule.jwksUri ?? rule.issuer ?? '') ?? null;
      out.set(id, { id, jwks });
    }
  }
  return [...out.values()];
}

// --- providers and token extraction -------------------------------------------

/**
 * One JWT rule as jwt_authn's provider: made once per rule and shared by every list it is in (its name, `origins-<i>`,
 * is its place in a list, given where it is written).
 */
interface Provider {
  policy: RequestAuthentication;
  ruleIndex: number;
  rule: JwtRule;
  /** '' = any issuer */
  issuer: string;
  headerLocs: { name: string; prefix: string }[];
  params: string[];
  cookies: string[];
  /** headers stripped before this provider verifies (outputs it may write) */
  sanitize: string[];
  /** the rule's audiences, sanitized (sanitizeAudience); null when it lists none */
  audiences: ReadonlySet<string> | null;
  /** where it looks for a token, for the trace ("header authorization (prefix …), query parameter access_token") */
  where: string;
  /** its token locations as one text: equal for rules that look in the same places */
  locKey: string;
}

type Location = { kind: 'header'; name: string; prefix: string } | { kind: 'param'; name: string } | { kind: 'cookie'; name: string };

interface FoundToken {
  value: string;
  loc: Location;
}

/** Per policy: the providers of its rules, in rule order, made once. */
const policyProviders = new WeakMap<RequestAuthentication, readonly Provider[]>();

function providersOfPolicy(policy: RequestAuthentication): readonly Provider[] {
  let out = policyProviders.get(policy);
  if (out === undefined) {
    out = policy.jwtRules.map((rule, ruleIndex) => providerOf(policy, rule, ruleIndex));
    policyProviders.set(policy, out);
  }
  return out;
}

function providerOf(policy: RequestAuthentication, rule: JwtRule, ruleIndex: number): Provider {
  const defaults = rule.fromHeaders.length === 0 && rule.fromParams.length === 0 && rule.fromCookies.length === 0;
  const headerLocs = defaults
    ? [{ name: 'authorization', prefix: 'Bearer ' }]
    : uniqueBy(rule.fromHeaders.map((h) => ({ name: h.name.toLowerCase(), prefix: h.prefix ?? '' })), (h) => h.name + h.prefix)
      .sort((a, b) => cmp(a.name + a.prefix, b.name + b.prefix));
  const params = defaults ? ['access_token'] : [...new Set(rule.fromParams)].sort(cmp);
  const cookies = defaults ? [] : [...new Set(rule.fromCookies)].sort(cmp);
  const sanitize = [
    ...(rule.outputPayloadToHeader ? [rule.outputPayloadToHeader.toLowerCase()] : []),
    ...rule.outputClaimToHeaders.map((c) => c.header.toLowerCase()),
  ];
  const where = headerLocs.map((l) => describeLoc({ kind: 'header', ...l }))
    .concat(params.map((n) => `query parameter ${n}`), cookies.map((n) => `cookie ${n}`)).join(', ');
  return {
    policy, ruleIndex, rule, issuer: rule.issuer ?? '', headerLocs, params, cookies, sanitize,
    audiences: rule.audiences.length > 0 ? new Set(rule.audiences.map(sanitizeAudience)) : null,
    where, locKey: JSON.stringify([headerLocs, params, cookies]),
  };
}

/**
 * The providers of a policy list, sorted by issuer (stable: equal issuers keep the list's order): one array of
 * shared providers per list (the lists of requestAuthenticationsSelecting are shared by the workloads they are equal
 * for, see there). A provider list rebuilt and sorted at each request was 5,000 mesh-wide policies × every request;
 * one of new providers per list was lists × rules (a namespace with its own policy has a list of its own).
 */
interface ProviderList {
  providers: readonly Provider[];
  /** per provider, a number for its token locations (locKey): equal numbers, same places */
  locs: Int32Array;
}

/**
 * The provider lists made last, most recent last (at most PROVIDER_LISTS): the requests of one workload come
 * together, and every workload of a mesh-wide policy set shares one list; a list kept for each of 2,000 namespaces
 * with a policy of their own was 2,000 × the mesh-wide rules.
 */
const providerLists = new Map<readonly RequestAuthentication[], ProviderList>();
const PROVIDER_LISTS = 64;

function providerList(policies: readonly RequestAuthentication[]): ProviderList {
  const known = providerLists.get(policies);
  if (known !== undefined) {
    providerLists.delete(policies);
    providerLists.set(policies, known);
    return known;
  }
  const providers: Provider[] = [];
  for (const policy of policies) for (const p of providersOfPolicy(policy)) providers.push(p);
  providers.sort((a, b) => cmp(a.issuer, b.issuer));
  const ids = new Map<string, number>();
  const locs = new Int32Array(providers.length);
  providers.forEach((p, i) => {
    let id = ids.get(p.locKey);
    if (id === undefined) { id = ids.size; ids.set(p.locKey, id); }
    locs[i] = id;
  });
  const out = { providers, locs };
  providerLists.set(policies, out);
  if (providerLists.size > PROVIDER_LISTS) providerLists.delete(providerLists.keys().next().value as readonly RequestAuthentication[]);
  return out;
}

function providersOf(policies: readonly RequestAuthentication[]): readonly Provider[] {
  return providerList(policies).providers;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function uniqueBy<T>(xs: T[], key: (x: T) => string): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = key(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const JWT_CHARS = /[A-Za-z0-9_.-]/;

/**
 * Envoy extractJWT: skip to the first base64url-or-dot char after `from` and take everything from there to the end
 * of the value (none found: the whole value). Since envoyproxy/envoy#28678 (issue #27877) the token is no longer cut
 * at the first other character: `Bearer <good> junk`, or two Authorization headers that Envoy joined with ",", are
 * one malformed token (401), not the good one.
 */
function extractJwt(value: string, from: number): string {
  let start = from;
  while (start < value.length && !JWT_CHARS.test(value[start] as string)) start++;
  if (start >= value.length) return value;
  return value.slice(start);
}

function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Query parameters of a raw path, decoded; the first occurrence of a name wins. */
function queryParams(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = path.indexOf('?');
  if (q < 0) return out;
  let query = path.slice(q + 1);
  const hash = query.indexOf('#');
  if (hash >= 0) query = query.slice(0, hash);
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(part.slice(eq + 1));
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

/** Cookies of the `cookie` header; surrounding double quotes stripped; first occurrence wins. */
function cookiesOf(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  for (const raw of header.split(/[;,]/)) {
    const part = raw.trim();
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

/** Envoy PercentEncoding::decode: every `%XX` with two hex digits becomes that byte, anything else stays. */
function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const cp = s.codePointAt(i) as number;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
      if (cp > 0xffff) i++;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * The path with every value of query parameter `name` removed, as Envoy's JwtParamLocation::removeJwt writes it
 * (Http::Utility QueryParamsMulti): the query is split at `&` (an empty piece between two is a parameter named ""),
 * names and values percent-decoded, and written back decoded, sorted by name (byte order; values of one name in
 * their order), each as `name=value`; no parameter left → no `?`. Linear in the path.
 */
export function withoutParam(path: string, name: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const hash = path.indexOf('#', q);
  const query = hash < 0 ? path.slice(q + 1) : path.slice(q + 1, hash);
  const params = new Map<string, string[]>();
  let start = 0;
  while (start < query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    const part = query.slice(start, end);
    const eq = part.indexOf('=');
    const key = percentDecode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : percentDecode(part.slice(eq + 1));
    const values = params.get(key);
    if (values === undefined) params.set(key, [value]); else values.push(value);
    start = end + 1;
  }
  params.delete(name);
  const bytewise = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  const out: string[] = [];
  for (const key of [...params.keys()].sort(bytewise)) for (const v of params.get(key) as string[]) out.push(`${key}=${v}`);
  const bare = path.slice(0, q);
  return out.length === 0 ? bare : `${bare}?${out.join('&')}`;
}

/**
 * What one request offers the extractors, parsed once per request and not once per provider: its query (the path
 * does not change) and its cookies (again when the `cookie` header is not the one parsed: sanitizing and outputs may
 * rewrite headers between providers).
 */
class RequestParts {
  private query: Map<string, string> | undefined;
  private cookieHeader: string | undefined;
  private cookies: Map<string, string> | undefined;
  constructor(public path: string) {}
  /** jwt_authn removed a token's query parameter: later providers read the new path */
  setPath(path: string): void {
    if (path === this.path) return;
    this.path = path;
    this.query = undefined;
  }
  param(name: string): string | undefined {
    this.query ??= queryParams(this.path);
    return this.query.get(name);
  }
  cookie(header: string | undefined, name: string): string | undefined {
    if (this.cookies === undefined || header !== this.cookieHeader) {
      this.cookies = cookiesOf(header);
      this.cookieHeader = header;
    }
    return this.cookies.get(name);
  }
}

function extractTokens(p: Provider, headers: Readonly<Record<string, string>>, req: RequestParts): FoundToken[] {
  const out: FoundToken[] = [];
  for (const loc of p.headerLocs) {
    const v = ownValue(headers, loc.name);
    if (v === undefined) continue;
    if (loc.prefix !== '') {
      const pos = v.indexOf(loc.prefix);
      if (pos < 0) continue;
      out.push({ value: extractJwt(v, pos + loc.prefix.length), loc: { kind: 'header', ...loc } });
    } else {
      out.push({ value: v, loc: { kind: 'header', ...loc } });
    }
  }
  for (const name of p.params) {
    const v = req.param(name);
    if (v !== undefined) out.push({ value: v, loc: { kind: 'param', name } });
  }
  if (p.cookies.length > 0) {
    const header = ownValue(headers, 'cookie');
    for (const name of p.cookies) {
      const v = req.cookie(header, name);
      if (v !== undefined) out.push({ value: v, loc: { kind: 'cookie', name } });
    }
  }
  return out;
}

function describeLoc(loc: Location): string {
  if (loc.kind === 'header') return loc.prefix ? `header ${loc.name} (prefix ${JSON.stringify(loc.prefix)})` : `header ${loc.name}`;
  return loc.kind === 'param' ? `query parameter ${loc.name}` : `cookie ${loc.name}`;
}

/**
 * Every token the rules of these policies would read from this request: what
 * verifySignatures must be given before `authenticate` runs.
 */
export function candidateTokens(policies: readonly RequestAuthentication[], req: JwtRequest): string[] {
  const headers = lowerCased(req.headers);
  const out = new Set<string>();
  const parts = new RequestParts(req.path);
  for (const p of providersOf(policies)) for (const t of extractTokens(p, headers, parts)) out.add(t.value);
  return [...out];
}

// --- parsing (jwt_verify_lib Jwt::parseFromString) -----------------------------

export interface ParsedJwt {
  alg: string;
  kid: string;
  iss: string;
  sub: string;
  audiences: string[];
  /** 0 = absent */
  nbf: number;
  /** 0 = absent */
  exp: number;
  payload: Record<string, unknown>;
  /** the payload section exactly as in the token */
  payloadB64: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function decodeB64url(s: string): string | null {
  if (!B64URL.test(s) || s.replace(/=+$/, '').length % 4 === 1) return null;
  return Buffer.from(s, 'base64url').toString('utf8');
}

function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return isRecord(v) ? v : null;
  } catch {
    return null;
  }
}

/** A token as Envoy parses it, or the status string of the first problem. */
export function parseJwt(token: string): { jwt: ParsedJwt } | { status: string } {
  const parts = token.split('.').filter((s) => s !== '');
  if (parts.length !== 3) return { status: JWT_STATUS.badFormat };
  const [h, p, s] = parts as [string, string, string];
  const headerText = decodeB64url(h);
  if (headerText === null) return { status: JWT_STATUS.headerBadBase64 };
  const header = parseJsonObject(headerText);
  if (!header) return { status: JWT_STATUS.headerBadJson };
  const alg = header['alg'];
  if (typeof alg !== 'string') return { status: JWT_STATUS.headerBadAlg };
  if (!IMPLEMENTED_ALGS.includes(alg)) return { status: JWT_STATUS.headerAlgNotImplemented };
  const kid = header['kid'];
  if (kid !== undefined && typeof kid !== 'string') return { status: JWT_STATUS.headerBadKid };
  const payloadText = decodeB64url(p);
  if (payloadText === null) return { status: JWT_STATUS.payloadBadBase64 };
  const payload = parseJsonObject(payloadText);
  if (!payload) return { status: JWT_STATUS.payloadBadJson };
  const str = (name: string, bad: string): string | { status: string } => {
    const v = payload[name];
    if (v === undefined) return '';
    return typeof v === 'string' ? v : { status: bad };
  };
  const uint = (name: string, notInt: string, notPositive: string): number | { status: string } => {
    const v = payload[name];
    if (v === undefined) return 0;
    if (typeof v !== 'number') return { status: notInt };
    if (v < 0 || v >= 2 ** 64) return { status: notPositive };
    return Math.trunc(v);
  };
  const iss = str('iss', JWT_STATUS.issNotString);
  if (typeof iss !== 'string') return iss;
  const sub = str('sub', JWT_STATUS.subNotString);
  if (typeof sub !== 'string') return sub;
  const iat = uint('iat', JWT_STATUS.iatNotInteger, JWT_STATUS.iatNotPositive);
  if (typeof iat !== 'number') return iat;
  const nbf = uint('nbf', JWT_STATUS.nbfNotInteger, JWT_STATUS.nbfNotPositive);
  if (typeof nbf !== 'number') return nbf;
  const exp = uint('exp', JWT_STATUS.expNotInteger, JWT_STATUS.expNotPositive);
  if (typeof exp !== 'number') return exp;
  const jti = str('jti', JWT_STATUS.jtiNotString);
  if (typeof jti !== 'string') return jti;
  const aud = payload['aud'];
  let audiences: string[] = [];
  if (typeof aud === 'string') audiences = [aud];
  else if (Array.isArray(aud)) {
    if (!aud.every((a): a is string => typeof a === 'string')) return { status: JWT_STATUS.audNotString };
    audiences = aud;
  } else if (aud !== undefined) return { status: JWT_STATUS.audNotString };
  if (decodeB64url(s) === null) return { status: JWT_STATUS.signatureBadBase64 };
  return { jwt: { alg, kid: kid ?? '', iss, sub, audiences, nbf, exp, payload, payloadB64: p } };
}

/** jwt_verify_lib CheckAudience: scheme prefix and trailing slash do not count. */
function sanitizeAudience(aud: string): string {
  let out = aud;
  if (out.startsWith('http://')) out = out.slice(7);
  else if (out.startsWith('https://')) out = out.slice(8);
  if (out.endsWith('/')) out = out.slice(0, -1);
  return out;
}

/** Value of claim `a.b.c` as Envoy's claim_to_headers writes it; '' = no header. */
function claimHeaderValue(payload: Record<string, unknown>, claim: string): string {
  let cur: unknown = payload;
  for (const part of claim.split('.')) {
    if (!isRecord(cur)) return '';
    cur = ownValue(cur, part);
  }
  if (typeof cur === 'string') return cur;
  if (typeof cur === 'boolean') return cur ? 'true' : 'false';
  if (typeof cur === 'number') return claimNumberText(cur);
  if (isRecord(cur) || Array.isArray(cur)) return Buffer.from(JSON.stringify(sortKeys(cur)), 'utf8').toString('base64');
  return '';
}

/**
 * A number claim as Envoy's claim_to_headers writes it (convertClaimDoubleToString): a whole number from 0 below
 * 2^64 as an integer, anything else as C's std::to_string(double) — printf `%f`: six decimals, rounded half to even
 * on the double's exact binary value, no exponent (1e21 is "1000000000000000000000.000000").
 */
export function claimNumberText(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v >= 0 && v < 18446744073709551616 && Number.isInteger(v)) return BigInt(v).toString();
  // the exact value: (-1)^sign · mantissa · 2^exp
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const negative = (hi >>> 31) === 1;
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp = biased - 1075;
  if (biased === 0) exp = -1074; else mantissa |= 1n << 52n;
  // round(|v| · 10^6), half to even
  let q: bigint;
  const scaled = mantissa * 1_000_000n;
  if (exp >= 0) q = scaled << BigInt(exp);
  else {
    const d = 1n << BigInt(-exp);
    q = scaled / d;
    const r2 = (scaled % d) * 2n;
    if (r2 > d || (r2 === d && q % 2n === 1n)) q += 1n;
  }
  const digits = q.toString().padStart(7, '0');
  const text = `${digits.slice(0, -6)}.${digits.slice(-6)}`;
  return negative ? `-${text}` : text;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isRecord(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

function lowerCased(h: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    const n = k.toLowerCase();
    appendValue(out, n, v);
  }
  return out;
}

// --- the filter ------------------------------------------------------------------

interface Verified {
  provider: Provider;
  jwt: ParsedJwt;
}

interface ProviderResult {
  status: string;
  provider: Provider;
}

/**
 * What jwt_authn does with this request at a proxy selected by `policies`
 * (use requestAuthenticationsFor). `nowSeconds` is the simulated wall clock.
 * `keySetIdOf` names the key set of a rule in `sigs` (defaultKeySetId fits
 * keySetsFor). The request's scheme for the www-authenticate realm is
 * `x-forwarded-proto` (default http), its host `:authority` or `host`.
 */
export function authenticate(
  policies: readonly RequestAuthentication[],
  req: JwtRequest,
  nowSeconds: number,
  sigs: SignatureTable,
  keySetIdOf: (rule: JwtRule, policy: RequestAuthentication) => string,
): JwtOutcome {
  const headers = lowerCased(req.headers);
  const trace: string[] = [];
  const { providers, locs } = providerList(policies);
  if (providers.length === 0) {
    trace.push('no RequestAuthentication selects this workload: no jwt_authn filter, tokens are not looked at');
    return { result: 'no-token', headersAfter: headers, pathAfter: req.path, trace };
  }
  const now = Math.floor(nowSeconds);
  const ref = (p: Provider): string => `${p.policy.meta.namespace}/${p.policy.meta.name} jwtRules[${p.ruleIndex}]`;
  trace.push(`jwt_authn providers (sorted by issuer): ${namedSome(providers, (p, i) => `origins-${i} = ${ref(p)} issuer ${p.issuer === '' ? '(any)' : JSON.stringify(p.issuer)}`, '; ')}`);
  const parts = new RequestParts(req.path);
  /** Tokens parsed once per request: every provider looking in the same place is given the same token. */
  const parsedTokens = new Map<string, ReturnType<typeof parseJwt>>();
  // Lines about single providers: the first TRACE_PROVIDER_LINES of each pass in full, the rest counted (flush).
  let shown = 0;
  let hidden = 0;
  const room = (): boolean => {
    if (shown < TRACE_PROVIDER_LINES) { shown++; return true; }
    hidden++;
    return false;
  };
  /** Bumped at each change of the headers: a provider's "no token" holds while it is unchanged. */
  let version = 0;
  /** Per set of token locations (ProviderList.locs): the headers' version it last found no token at. */
  const missingAt = new Map<number, number>();
  const flush = (): void => {
    if (hidden > 0) trace.push(`(${hidden} more lines about single providers not shown)`);
    shown = 0;
    hidden = 0;
  };

  if (req.method === 'OPTIONS' && (headers['origin'] ?? '') !== '' && (headers['access-control-request-method'] ?? '') !== '') {
    trace.push('CORS preflight (OPTIONS with Origin and Access-Control-Request-Method): JWT checks are bypassed');
    return { result: 'no-token', headersAfter: headers, pathAfter: req.path, trace };
  }

  /** Payload metadata by issuer (Envoy payload_in_metadata), last writer wins. */
  const metadata = new Map<string, Verified>();
  const addHeader = (name: string, value: string): void => {
    appendValue(headers, name, value);
    version++;
  };

  const verifyToken = (p: Provider, i: number, t: FoundToken): { status: string; jwt?: ParsedJwt } => {
    let parsed = parsedTokens.get(t.value);
    if (parsed === undefined) { parsed = parseJwt(t.value); parsedTokens.set(t.value, parsed); }
    if ('status' in parsed) return { status: parsed.status };
    const jwt = parsed.jwt;
    if (p.issuer !== '' && jwt.iss !== p.issuer) {
      if (room()) trace.push(`origins-${i}: token iss ${JSON.stringify(jwt.iss)} is not the rule's issuer ${JSON.stringify(p.issuer)}`);
      return { status: JWT_STATUS.unknownIssuer };
    }
    if (now + JWT_CLOCK_SKEW_SECONDS < jwt.nbf) {
      if (room()) trace.push(`origins-${i}: nbf ${jwt.nbf} is more than ${JWT_CLOCK_SKEW_SECONDS} s after now (${now})`);
      return { status: JWT_STATUS.notYetValid };
    }
    if (jwt.exp !== 0 && now > jwt.exp + JWT_CLOCK_SKEW_SECONDS) {
      if (room()) trace.push(`origins-${i}: exp ${jwt.exp} + ${JWT_CLOCK_SKEW_SECONDS} s clock skew is before now (${now})`);
      return { status: JWT_STATUS.expired };
    }
    const allowed = p.audiences;
    if (allowed !== null) {
      if (!jwt.audiences.some((a) => allowed.has(sanitizeAudience(a)))) {
        if (room()) trace.push(`origins-${i}: token aud ${JSON.stringify(jwt.audiences)} has none of ${JSON.stringify(p.rule.audiences)}`);
        return { status: JWT_STATUS.audienceNotAllowed };
      }
    }
    const keySetId = keySetIdOf(p.rule, p.policy);
    if (!sigs.has(t.value, keySetId)) {
      if (room()) trace.push(`origins-${i}: the signature of this token was not checked against key set ${keySetId} (not given to verifySignatures); treated as failing`);
      return { status: JWT_STATUS.verificationFails };
    }
    const sig = sigs.check(t.value, keySetId);
    switch (sig) {
      case 'ok': return { status: JWT_STATUS.ok, jwt };
      case 'no-matching-key':
        if (room()) trace.push(`origins-${i}: no key of ${keySetId} matches kid ${JSON.stringify(jwt.kid)} / alg ${jwt.alg}`);
        return { status: JWT_STATUS.jwksKidAlgMismatch };
      case 'bad-signature':
      case 'malformed':
        if (room()) trace.push(`origins-${i}: the signature does not verify with the keys of ${keySetId}`);
        return { status: JWT_STATUS.verificationFails };
      case 'bad-jwks':
        if (room()) trace.push(`origins-${i}: key set ${keySetId} is not a usable JWKS`);
        return { status: JWT_STATUS.jwksNoValidKeys };
      case 'jwks-fetch-failed': {
        if (room()) trace.push(`origins-${i}: JWKS ${keySetId} could not be fetched; istiod inlined a fake key (kid "${FAKE_JWKS_KID}"), so every token fails (fail closed)`);
        return { status: jwt.kid !== '' && jwt.kid !== FAKE_JWKS_KID ? JWT_STATUS.jwksKidAlgMismatch : JWT_STATUS.verificationFails };
      }
    }
  };

  const goodJwt = (p: Provider, t: FoundToken, jwt: ParsedJwt): void => {
    if (p.rule.outputPayloadToHeader) addHeader(p.rule.outputPayloadToHeader.toLowerCase(), jwt.payloadB64);
    for (const c of p.rule.outputClaimToHeaders) {
      const v = claimHeaderValue(jwt.payload, c.claim);
      if (v !== '') addHeader(c.header.toLowerCase(), v);
    }
    if (!p.rule.forwardOriginalToken && t.loc.kind === 'header') { delete headers[t.loc.name]; version++; }
    if (!p.rule.forwardOriginalToken && t.loc.kind === 'param') {
      const before = parts.path;
      parts.setPath(withoutParam(before, t.loc.name));
      if (parts.path !== before) {
        version++;
        if (room()) trace.push(`query parameter ${t.loc.name} removed from the path (forwardOriginalToken is false): ${parts.path}`);
      }
    }
    // Istio 1.21+ stores every provider's payload (PayloadInMetadata), a rule without `issuer` included: keyed by
    // the rule's issuer, else the token's own
    metadata.set(p.issuer !== '' ? p.issuer : jwt.iss, { provider: p, jwt });
  };

  /**
   * One provider verifier (Envoy ProviderVerifierImpl + Authenticator): every token found must be valid. A provider
   * looking in the same places as one that found no token, with the headers unchanged since (`version`), finds none
   * either: it is not looked again (5,000 mesh-wide rules × 2 passes at every request were 30 s on a 2,000-pod mesh).
   */
  const runProvider = (p: Provider, i: number): string => {
    if (p.sanitize.length > 0) {
      for (const h of p.sanitize) delete headers[h];
      version++;
    }
    const tokens = missingAt.get(locs[i] as number) === version ? [] : extractTokens(p, headers, parts);
    if (tokens.length === 0) {
      missingAt.set(locs[i] as number, version);
      if (room()) trace.push(`origins-${i}: no token in ${p.where}`);
      return JWT_STATUS.missing;
    }
    while (tokens.length > 0) {
      const t = tokens.pop() as FoundToken;
      const r = verifyToken(p, i, t);
      if (r.status !== JWT_STATUS.ok || !r.jwt) {
        if (room()) trace.push(`origins-${i}: token from ${describeLoc(t.loc)} rejected: ${r.status}`);
        return r.status;
      }
      if (room()) trace.push(`origins-${i}: token from ${describeLoc(t.loc)} is valid (${r.jwt.iss}/${r.jwt.sub})`);
      goodJwt(p, t, r.jwt);
    }
    return JWT_STATUS.ok;
  };

  let final: ProviderResult;
  const [only] = providers;
  if (providers.length === 1 && only) {
    const status = runProvider(only, 0);
    flush();
    final = { status: status === JWT_STATUS.missing ? JWT_STATUS.ok : status, provider: only };
  } else {
    // Envoy AnyVerifierImpl's error, folded as the results come: prefer errors other than "missing" and "unknown
    // issuer", the last such one of the first pass then the failing one of the second.
    let failed: ProviderResult | undefined;
    const fold = (status: string, provider: Provider): void => {
      if (failed === undefined || failed.status === JWT_STATUS.missing || (status !== JWT_STATUS.missing && status !== JWT_STATUS.unknownIssuer)) failed = { status, provider };
    };
    let passed: Provider | undefined;
    for (let i = 0; i < providers.length; i++) {
      const p = providers[i] as Provider;
      const status = runProvider(p, i);
      if (status === JWT_STATUS.ok) { passed = p; break; }
      fold(status, p);
    }
    flush();
    if (passed) final = { status: JWT_STATUS.ok, provider: passed };
    else {
      trace.push('no provider accepted a token on its own: every provider must now find no token or a valid one');
      let all: ProviderResult | undefined;
      for (let i = 0; i < providers.length; i++) {
        const p = providers[i] as Provider;
        const status = runProvider(p, i);
        if (status !== JWT_STATUS.ok && status !== JWT_STATUS.missing) { all = { status, provider: p }; break; }
      }
      flush();
      if (!all) final = { status: JWT_STATUS.ok, provider: providers[0] as Provider };
      else {
        fold(all.status, all.provider);
        final = failed as ProviderResult;
      }
    }
  }

  if (final.status !== JWT_STATUS.ok) {
    const status = final.status === JWT_STATUS.audienceNotAllowed ? 403 : 401;
    const scheme = headers['x-forwarded-proto'] ?? 'http';
    const host = headers[':authority'] ?? headers['host'] ?? '';
    trace.push(`jwt_authn rejects the request: ${status} ${final.status} (${ref(final.provider)})`);
    return {
      result: 'invalid',
      status,
      body: final.status,
      responseHeaders: { 'www-authenticate': `Bearer realm="${scheme}://${host}${req.path}", error="invalid_token"` },
      details: `jwt_authn_access_denied{${final.status.replace(/\s/g, '_')}}`,
      decidedBy: { policy: `${final.provider.policy.meta.namespace}/${final.provider.policy.meta.name}`, rule: final.provider.ruleIndex },
      headersAfter: headers,
      pathAfter: parts.path,
      trace,
    };
  }

  const issuers = [...metadata.keys()].sort(cmp);
  const first = issuers[0] !== undefined ? metadata.get(issuers[0]) : undefined;
  if (!first) {
    // every valid token stores its payload (goodJwt): none stored is none found
    trace.push('no token: the request passes without a request principal');
    return { result: 'no-token', headersAfter: headers, pathAfter: parts.path, trace };
  }
  if (issuers.length > 1) trace.push(`valid tokens of several issuers (${issuers.join(', ')}): each payload is written to the one metadata key RBAC reads, so which one counts depends on Envoy's order; meshrange uses ${first.jwt.iss}`);
  const auth: JwtAuth = {
    principal: first.jwt.iss !== '' && first.jwt.sub !== '' ? `${first.jwt.iss}/${first.jwt.sub}` : '',
    audiences: first.jwt.audiences,
    claims: first.jwt.payload,
  };
  const azp = first.jwt.payload['azp'];
  if (typeof azp === 'string') auth.presenter = azp;
  if (first.provider.rule.spaceDelimitedClaims.length > 0) auth.spaceDelimitedClaims = first.provider.rule.spaceDelimitedClaims;
  trace.push(`request principal ${auth.principal === '' ? '(none: iss or sub missing)' : auth.principal}`);
  return {
    result: 'valid',
    auth,
    decidedBy: { policy: `${first.provider.policy.meta.namespace}/${first.provider.policy.meta.name}`, rule: first.provider.ruleIndex },
    headersAfter: headers,
    pathAfter: parts.path,
    trace,
  };
}
