/**
 * RequestAuthentication (security.istio.io v1 and v1beta1), read and validated
 * as Istio's admission webhook would (istio-semantics §7, §14;
 * pkg/config/validation validateJwtRule): a resource Istio would reject is a
 * located error here, never silently applied with partial semantics.
 *
 * Rejected (error codes):
 * - `ra-bad-api-version`           apiVersion other than security.istio.io/v1 or /v1beta1
 * - `ra-selector-and-targetref`    selector together with targetRef(s)
 * - `ra-issuer-or-jwksuri-required` a rule with neither issuer nor jwksUri
 * - `ra-jwks-and-jwksuri`          both jwks and jwksUri (a warning: Istio accepts it and uses jwks)
 * - `ra-empty-audience`            an empty string in audiences
 * - `ra-bad-jwksuri`               jwksUri not an http(s) URL (or a bad port)
 * - `ra-bad-jwks`                  inline jwks not JSON, or not a JWK / JWK Set
 * - `ra-empty-header-name`, `ra-empty-param`, `ra-empty-cookie`   empty token locations
 * - `ra-claim-to-header-empty`     outputClaimToHeaders entry without header or claim
 * - `ra-bad-header-name`           outputClaimToHeaders header not [-A-Za-z0-9]+
 * - `ra-bad-timeout`               timeout not a duration of at least 1ms
 * plus the generic `field-type`, `unknown-field`, `missing-field`.
 */
import { parseDuration } from '../core/duration.js';
import { ownValue } from '../core/record.js';
import type { ClaimToHeader, JwtHeaderLocation, JwtRule, RequestAuthentication } from '../model/request-authentication.js';
import type { ObjectMeta } from '../model/types.js';
import { isObj, Reader, rejectUnknownFields, type Obj } from './reader.js';
import { readSelector, readTargetRefs } from './security.js';
import type { Path } from './yaml-source.js';

export const REQUEST_AUTHENTICATION_API_VERSIONS: readonly string[] = ['security.istio.io/v1', 'security.istio.io/v1beta1'];

const RULE_FIELDS: readonly string[] = [
  'issuer', 'audiences', 'jwksUri', 'jwks', 'fromHeaders', 'fromParams', 'fromCookies', 'forwardOriginalToken',
  'outputPayloadToHeader', 'outputClaimToHeaders', 'spaceDelimitedClaims', 'timeout',
];

/** Istio's ValidateStrictHTTPHeaderName. */
const STRICT_HEADER_NAME = /^[-A-Za-z0-9]+$/;

export function readRequestAuthentication(r: Reader, meta: ObjectMeta, obj: Obj): RequestAuthentication {
  const apiVersion = obj['apiVersion'];
  if (typeof apiVersion === 'string' && !REQUEST_AUTHENTICATION_API_VERSIONS.includes(apiVersion)) {
    r.error(['apiVersion'], 'ra-bad-api-version', `apiVersion ${apiVersion} does not serve RequestAuthentication`,
      'use apiVersion: security.istio.io/v1 (or security.istio.io/v1beta1)');
  }
  const spec = r.obj(obj, 'spec', []) ?? {};
  const selector = readSelector(r, spec, 'selector', ['spec']);
  const targetRefs = readTargetRefs(r, spec, 'ra-too-many-targetrefs');
  if (spec['selector'] !== undefined && spec['selector'] !== null && targetRefs.length > 0) {
    r.error(['spec', 'targetRefs'], 'ra-selector-and-targetref', 'only one of targetRefs or workload selector can be set',
      'keep either spec.selector or spec.targetRef(s)');
  }
  const jwtRules: JwtRule[] = [];
  (r.arr(spec, 'jwtRules', ['spec']) ?? []).forEach((raw, i) => {
    const path: Path = ['spec', 'jwtRules', i];
    if (raw === null || raw === undefined) return; // Istio skips a nil rule
    if (!isObj(raw)) { r.error(path, 'field-type', 'each jwtRule must be a mapping', 'write the rule as a mapping with issuer, jwksUri…'); return; }
    jwtRules.push(readJwtRule(r, raw, path));
  });
  return { meta, selector, targetRefs, jwtRules };
}

function readJwtRule(r: Reader, raw: Obj, path: Path): JwtRule {
  rejectUnknownFields(r, raw, RULE_FIELDS, path);
  const rule: JwtRule = {
    audiences: [], fromHeaders: [], fromParams: [], fromCookies: [], forwardOriginalToken: false,
    outputClaimToHeaders: [], spaceDelimitedClaims: [],
  };
  const issuer = r.str(raw, 'issuer', path);
  const jwksUri = r.str(raw, 'jwksUri', path);
  const jwks = r.str(raw, 'jwks', path);
  if (issuer) rule.issuer = issuer;
  if (jwksUri) rule.jwksUri = jwksUri;
  if (jwks) rule.jwks = jwks;

  if (!issuer && !jwksUri) {
    r.error(path, 'ra-issuer-or-jwksuri-required', 'issuer or jwksUri must be non-empty string',
      'set issuer to the token issuer (iss), and jwksUri or jwks to its keys');
  }
  if (jwks && jwksUri) {
    // Istio's validation accepts both (the API only says one "should" be set); istiod uses the inline keys
    r.warn([...path, 'jwks'], 'ra-jwks-and-jwksuri', 'both jwks and jwksUri are set: Istio uses the inline jwks and never fetches jwksUri',
      'keep one: jwksUri (keys fetched by istiod) or jwks (keys inline)');
  }
  const audiences = r.strList(raw, 'audiences', path) ?? [];
  audiences.forEach((a, j) => {
    if (a === '') r.error([...path, 'audiences', j], 'ra-empty-audience', 'audience must be non-empty string', 'remove the empty audience');
  });
  rule.audiences = audiences;
  if (jwksUri) {
    const problem = jwksUriProblem(jwksUri);
    if (problem) r.error([...path, 'jwksUri'], 'ra-bad-jwksuri', `jwksUri "${jwksUri}": ${problem}`, 'use an http:// or https:// URL, e.g. https://auth.example.com/.well-known/jwks.json');
  }
  if (jwks) {
    const problem = jwksProblem(jwks);
    if (problem) r.error([...path, 'jwks'], 'ra-bad-jwks', `jwks parse error: ${problem}`, 'paste a JWK Set: {"keys": [{"kty": "RSA", "kid": "…", "n": "…", "e": "AQAB"}]}');
  }

  (r.arr(raw, 'fromHeaders', path) ?? []).forEach((h, j) => {
    const hpath: Path = [...path, 'fromHeaders', j];
    if (!isObj(h)) { r.error(hpath, 'field-type', 'each fromHeaders entry must be a mapping with name (and prefix)'); return; }
    const name = r.str(h, 'name', hpath);
    const prefix = r.str(h, 'prefix', hpath);
    rejectUnknownFields(r, h, ['name', 'prefix'], hpath);
    if (!name) {
      r.error(hpath, 'ra-empty-header-name', 'location header name must be non-empty string', 'give the header name, e.g. name: x-jwt-assertion');
      return;
    }
    const loc: JwtHeaderLocation = { name };
    if (prefix) loc.prefix = prefix;
    rule.fromHeaders.push(loc);
  });
  const params = r.strList(raw, 'fromParams', path) ?? [];
  params.forEach((p, j) => {
    if (p === '') r.error([...path, 'fromParams', j], 'ra-empty-param', 'location query must be non-empty string', 'remove the empty query parameter name');
  });
  rule.fromParams = params.filter((p) => p !== '');
  const cookies = r.strList(raw, 'fromCookies', path) ?? [];
  cookies.forEach((c, j) => {
    if (c === '') r.error([...path, 'fromCookies', j], 'ra-empty-cookie', 'cookie name must be non-empty string', 'remove the empty cookie name');
  });
  rule.fromCookies = cookies.filter((c) => c !== '');

  rule.forwardOriginalToken = r.bool(raw, 'forwardOriginalToken', path) ?? false;
  const payloadHeader = r.str(raw, 'outputPayloadToHeader', path);
  if (payloadHeader) rule.outputPayloadToHeader = payloadHeader;

  (r.arr(raw, 'outputClaimToHeaders', path) ?? []).forEach((c, j) => {
    const cpath: Path = [...path, 'outputClaimToHeaders', j];
    if (!isObj(c)) { r.error(cpath, 'field-type', 'each outputClaimToHeaders entry must be a mapping with header and claim'); return; }
    const header = r.str(c, 'header', cpath);
    const claim = r.str(c, 'claim', cpath);
    if (!header || !claim) {
      r.error(cpath, 'ra-claim-to-header-empty', 'outputClaimToHeaders header and claim value must be non-empty string',
        'give both, e.g. { header: x-jwt-sub, claim: sub }');
      return;
    }
    if (!STRICT_HEADER_NAME.test(header)) {
      r.error([...cpath, 'header'], 'ra-bad-header-name', `header name ${header} is not a valid header name`,
        'use letters, digits and dashes only, e.g. x-jwt-claim-group');
      return;
    }
    const entry: ClaimToHeader = { header, claim };
    rule.outputClaimToHeaders.push(entry);
  });
  rule.spaceDelimitedClaims = r.strList(raw, 'spaceDelimitedClaims', path) ?? [];

  const timeout = r.str(raw, 'timeout', path);
  if (timeout !== undefined) {
    const ms = parseDuration(timeout);
    if (ms === null || ms < 1) {
      r.error([...path, 'timeout'], 'ra-bad-timeout', `timeout "${timeout}" is not a duration of at least 1ms`, 'write it as e.g. 5s or 500ms');
    } else rule.timeout = timeout;
  }
  return rule;
}

/** Istio's ParseJwksURI (Go url.Parse): scheme http or https, numeric port if any. Null when fine. */
export function jwksUriProblem(uri: string): string | null {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):([\s\S]*)$/.exec(uri);
  const scheme = m ? (m[1] as string).toLowerCase() : '';
  if (scheme !== 'http' && scheme !== 'https') return `URI scheme "${scheme}" is not supported (must be http or https)`;
  const rest = m?.[2] ?? '';
  if (!rest.startsWith('//')) return null;
  const authority = rest.slice(2).split(/[/?#]/)[0] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const afterHost = hostPort.startsWith('[') ? hostPort.slice(hostPort.indexOf(']') + 1) : hostPort.slice(hostPort.includes(':') ? hostPort.indexOf(':') : hostPort.length);
  if (afterHost !== '' && !/^:\d*$/.test(afterHost)) return `invalid port "${afterHost}" after host`;
  return null;
}

/**
 * Inline `jwks`: Istio parses it with a JWK library (a JWK Set, or a single
 * JWK). Null when fine, else the problem.
 */
/**
 * Most keys a JWK Set may hold. A token is checked against every key whose kid and type fit (as jwt_verify_lib
 * does): 1,300 copies of an RSA-4096 key made each distinct token cost 0.85 s (50 tokens: 42 s). Real sets hold a
 * handful.
 */
export const MAX_JWKS_KEYS = 100;

export function jwksProblem(text: string): string | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `not valid JSON (${err instanceof Error ? err.message : String(err)})`;
  }
  if (!isObj(doc)) return 'not a JSON object';
  if (doc['keys'] === undefined) {
    if (doc['kty'] === undefined) return 'neither a JWK Set (no "keys") nor a single JWK (no "kty")';
    return jwkProblem(doc);
  }
  const keys = doc['keys'];
  if (!Array.isArray(keys)) return '"keys" is not a list';
  if (keys.length > MAX_JWKS_KEYS) return `${keys.length} keys; meshrange reads at most ${MAX_JWKS_KEYS} in a set`;
  for (let i = 0; i < keys.length; i++) {
    const k: unknown = keys[i];
    if (!isObj(k)) return `keys[${i}] is not an object`;
    const p = jwkProblem(k);
    if (p) return `keys[${i}]: ${p}`;
  }
  return null;
}

const JWK_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['n', 'e'],
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
  oct: ['k'],
};

function jwkProblem(k: Obj): string | null {
  const kty = k['kty'];
  if (typeof kty !== 'string') return 'missing "kty"';
  const members = ownValue(JWK_MEMBERS, kty);
  if (!members) return `unsupported key type "${kty}"`;
  for (const m of members) if (typeof k[m] !== 'string') return `${kty} key without "${m}"`;
  return null;
}

