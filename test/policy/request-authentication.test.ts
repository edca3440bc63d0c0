/**
 * RequestAuthentication / jwt_authn (istio-semantics §7): token locations,
 * issuer, exp/nbf with clock skew, audiences, signatures against real keys,
 * merged rules, headers the app receives, and the fail-closed unreachable
 * JWKS. Tokens are real compact JWTs signed with jose (src/policy/jwt-crypto.ts).
 */
import { readFileSync } from 'node:fs';
import { exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { readRequestAuthentication } from '../../src/loader/request-authentication.js';
import { isObj, Reader } from '../../src/loader/reader.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import type { RequestAuthentication } from '../../src/model/request-authentication.js';
import type { ObjectMeta } from '../../src/model/types.js';
import { decide } from '../../src/policy/decide.js';
import { addKeyToJwks, deriveSigningKey, jwksOf, signToken, verifySignatures, type SigningKey } from '../../src/policy/jwt-crypto.js';
import {
  authenticate, candidateTokens, defaultKeySetId, keySetsFor, parseJwt, requestAuthenticationsFor, requestAuthenticationsSelecting,
  type JwtOutcome, type JwtRequest,
} from '../../src/policy/request-authentication.js';
import { app, meshFrom, ns, request } from '../helpers.js';

/** 2026-01-01T00:00:00Z, the default scenario start. */
const T0 = 1_767_225_600;
const ISS = 'https://auth.example.com';
const JWKS_URI = 'https://auth.example.com/.well-known/jwks.json';

let trusted: SigningKey;
let other: SigningKey;
let order = 0;

beforeAll(async () => {
  trusted = await deriveSigningKey('trusted');
  other = await deriveSigningKey('other');
});

/** A RequestAuthentication from YAML, through the real loader (must load cleanly). */
function ra(yaml: string): RequestAuthentication {
  const issues = new IssueList();
  const [doc] = parseYaml('ra.yaml', yaml, issues);
  if (!doc || !isObj(doc.value)) throw new Error('bad test YAML');
  const md = isObj(doc.value['metadata']) ? doc.value['metadata'] : {};
  const name = String(md['name']);
  const namespace = String(md['namespace'] ?? 'default');
  const meta: ObjectMeta = { name, namespace, labels: {}, annotations: {}, order: order++, loc: doc.locate([]) };
  const p = readRequestAuthentication(new Reader(doc, issues, `RequestAuthentication ${namespace}/${name}`), meta, doc.value);
  expect(issues.items).toEqual([]);
  return p;
}

/** The usual policy: issuer ISS, keys at JWKS_URI, extra rule fields indented under the rule. */
function policy(extra = '', opts: { name?: string; ns?: string; issuer?: string } = {}): RequestAuthentication {
  return ra(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: ${opts.name ?? 'jwt'}, namespace: ${opts.ns ?? 'default'} }
spec:
  jwtRules:
    - issuer: ${opts.issuer ?? ISS}
      jwksUri: ${JWKS_URI}
${extra}`);
}

interface RunOpts {
  now?: number;
  /** stand-ins by jwksUri; default: JWKS_URI → the trusted key */
  standIns?: Record<string, string>;
}

async function run(policies: RequestAuthentication[], req: Partial<JwtRequest>, opts: RunOpts = {}): Promise<JwtOutcome> {
  const r: JwtRequest = { method: 'GET', path: '/', headers: {}, ...req };
  const standIns = opts.standIns ?? { [JWKS_URI]: jwksOf([trusted.publicJwk]) };
  const sigs = await verifySignatures(candidateTokens(policies, r), keySetsFor(policies, (uri) => standIns[uri]));
  return authenticate(policies, r, opts.now ?? T0, sigs, defaultKeySetId);
}

function token(claims: Record<string, unknown> = {}, key: { privateJwk: SigningKey['privateJwk']; kid: string } = trusted): Promise<string> {
  return signToken({ iss: ISS, sub: 'alice', iat: T0, exp: T0 + 3600, ...claims }, key);
}

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

describe('§7 tokens present, absent, valid', () => {
  it('§7 a request without a token passes with no principal', async () => {
    const out = await run([policy()], { headers: { 'x-other': '1' } });
    expect(out.result).toBe('no-token');
    expect(out.auth).toBeUndefined();
    expect(out.status).toBeUndefined();
    expect(out.headersAfter).toEqual({ 'x-other': '1' });
  });

  it('§7 a valid token passes: principal iss/sub, audiences, presenter and nested claims for request.auth.*', async () => {
    const t = await token({ aud: ['api', 'web'], azp: 'frontend', groups: ['admin'], org: { team: { name: 'blue' } }, scope: 'read write' });
    const out = await run([policy()], { headers: bearer(t) });
    expect(out.result).toBe('valid');
    expect(out.auth).toMatchObject({
      principal: `${ISS}/alice`,
      audiences: ['api', 'web'],
      presenter: 'frontend',
      claims: { groups: ['admin'], org: { team: { name: 'blue' } }, scope: 'read write' },
    });
    expect(out.decidedBy).toEqual({ policy: 'default/jwt', rule: 0 });
  });

  it('§7 aud given as a single string is one audience', async () => {
    const out = await run([policy()], { headers: bearer(await token({ aud: 'api' })) });
    expect(out.auth?.audiences).toEqual(['api']);
  });

  it('§7 spaceDelimitedClaims of the rule are exposed for request.auth.claims', async () => {
    const out = await run([policy('      spaceDelimitedClaims: [roles]')], { headers: bearer(await token({ roles: 'a b' })) });
    expect(out.auth?.spaceDelimitedClaims).toEqual(['roles']);
  });

  it("§7 Istio's demo token (RS256, kid) verifies against Istio's sample JWKS; groups-scope carries list claims", async () => {
    const fixture = (f: string): string => readFileSync(new URL(`../fixtures/jwt/${f}`, import.meta.url), 'utf8').trim();
    const p = ra(`apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: { name: demo, namespace: foo }
spec:
  jwtRules:
    - issuer: testing@secure.istio.io
      jwksUri: https://raw.githubusercontent.com/istio/istio/release-1.24/security/tools/jwt/samples/jwks.json
`);
    const standIns = { 'https://raw.githubusercontent.com/istio/istio/release-1.24/security/tools/jwt/samples/jwks.json': fixture('istio-jwks.json') };
    const demo = await run([p], { headers: bearer(fixture('istio-demo.jwt')) }, { standIns });
    expect(demo.result).toBe('valid');
    expect(demo.auth?.principal).toBe('testing@secure.istio.io/testing@secure.istio.io');
    expect(demo.auth?.claims['foo']).toBe('bar');
    const groups = await run([p], { headers: bearer(fixture('istio-groups-scope.jwt')) }, { standIns });
    expect(groups.auth?.claims['groups']).toEqual(['group1', 'group2']);
    // One flipped signature character: a real RSA check, not a lookup.
    const tampered = fixture('istio-demo.jwt').replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const bad = await run([p], { headers: bearer(tampered) }, { standIns });
    expect([bad.status, bad.body]).toEqual([401, 'Jwt verification fails']);
  });
});

describe('§7 invalid tokens', () => {
  it('§7 a token signed by a key not in the JWKS is rejected with 401 Jwt verification fails (it names the trusted kid, or none)', async () => {
    const forged = await token({}, { privateJwk: other.privateJwk, kid: trusted.kid });
    const out = await run([policy()], { headers: bearer(forged) });
    expect(out.result).toBe('invalid');
    expect([out.status, out.body]).toEqual([401, 'Jwt verification fails']);
    const noKid = await run([policy()], { headers: bearer(await token({}, { privateJwk: other.privateJwk, kid: '' })) });
    expect([noKid.status, noKid.body]).toEqual([401, 'Jwt verification fails']);
  });

  it("§7 a token signed by an unknown key under its own kid is 401 Jwks doesn't have key to match kid or alg from Jwt", async () => {
    const out = await run([policy()], { headers: bearer(await token({}, other)) });
    expect([out.status, out.body]).toEqual([401, "Jwks doesn't have key to match kid or alg from Jwt"]);
  });

  it('§7 an expired token is 401 Jwt is expired, but passes within the 60 s skew', async () => {
    const t = await token({ exp: T0 });
    expect((await run([policy()], { headers: bearer(t) }, { now: T0 + 60 })).result).toBe('valid');
    const out = await run([policy()], { headers: bearer(t) }, { now: T0 + 61 });
    expect([out.result, out.status, out.body]).toEqual(['invalid', 401, 'Jwt is expired']);
  });

  it('§7 nbf more than 60 s ahead is 401 Jwt not yet valid; within the skew it passes', async () => {
    const t = await token({ nbf: T0 + 100 });
    expect((await run([policy()], { headers: bearer(t) }, { now: T0 + 40 })).result).toBe('valid');
    const out = await run([policy()], { headers: bearer(t) }, { now: T0 + 39 });
    expect([out.status, out.body]).toEqual([401, 'Jwt not yet valid']);
  });

  it('§7 a token without exp never expires', async () => {
    const t = await signToken({ iss: ISS, sub: 'alice' }, trusted);
    expect((await run([policy()], { headers: bearer(t) }, { now: T0 + 10 * 365 * 86400 })).result).toBe('valid');
  });

  it('§7 time is checked before the signature: an expired token from an unknown key is "Jwt is expired"', async () => {
    const out = await run([policy()], { headers: bearer(await token({ exp: T0 - 3600 }, other)) });
    expect(out.body).toBe('Jwt is expired');
  });

  it('§7 audience mismatch is 403, not 401', async () => {
    const p = policy('      audiences: [orders]');
    const out = await run([p], { headers: bearer(await token({ aud: 'billing' })) });
    expect([out.result, out.status, out.body]).toEqual(['invalid', 403, 'Audiences in Jwt are not allowed']);
    expect((await run([p], { headers: bearer(await token({})) })).status).toBe(403); // no aud at all
    expect((await run([p], { headers: bearer(await token({ aud: ['billing', 'orders'] })) })).result).toBe('valid');
  });

  it('§7 audiences compare without http(s):// and a trailing slash', async () => {
    const p = policy('      audiences: ["https://orders.example.com/"]');
    expect((await run([p], { headers: bearer(await token({ aud: 'orders.example.com' })) })).result).toBe('valid');
  });

  it('§7 a rule without audiences does not check aud', async () => {
    expect((await run([policy()], { headers: bearer(await token({ aud: 'anything' })) })).result).toBe('valid');
  });

  it('§7 a token whose issuer matches no rule is 401 Jwt issuer is not configured', async () => {
    const out = await run([policy()], { headers: bearer(await token({ iss: 'https://evil.example.com' })) });
    expect([out.status, out.body]).toEqual([401, 'Jwt issuer is not configured']);
  });

  it('§7 a Bearer value that is no JWT is 401 "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"', async () => {
    const out = await run([policy()], { headers: { authorization: 'Bearer deadbeef' } });
    expect([out.status, out.body]).toEqual([401, 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections']);
  });

  it('§7 a rejection carries www-authenticate with the request URL and the jwt_authn_access_denied details', async () => {
    const out = await run([policy()], {
      path: '/orders?x=1',
      headers: { ...bearer(await token({ exp: T0 - 3600 })), host: 'orders.shop:8080' },
    });
    expect(out.responseHeaders).toEqual({ 'www-authenticate': 'Bearer realm="http://orders.shop:8080/orders?x=1", error="invalid_token"' });
    expect(out.details).toBe('jwt_authn_access_denied{Jwt_is_expired}');
    expect(out.decidedBy).toEqual({ policy: 'default/jwt', rule: 0 });
  });

  it('§7 every token found must be valid: a good Bearer token does not excuse a bad access_token', async () => {
    const out = await run([policy()], { path: '/?access_token=deadbeef', headers: bearer(await token()) });
    expect(out.result).toBe('invalid');
  });

  it('§7 the claim checks parse like Envoy: a string exp is 401 "Jwt payload [exp] field is not an integer"', async () => {
    const out = await run([policy()], { headers: bearer(await token({ exp: 'tomorrow' })) });
    expect(out.body).toBe('Jwt payload [exp] field is not an integer');
    expect('status' in parseJwt('a.b') && parseJwt('a.b')).toEqual({ status: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections' });
  });
});

describe('§7 token locations', () => {
  it('§7 default locations: Authorization Bearer, then the access_token query parameter', async () => {
    const t = await token();
    expect((await run([policy()], { path: `/x?a=1&access_token=${t}` })).result).toBe('valid');
    expect((await run([policy()], { headers: { authorization: `Basic ${t}` } })).result).toBe('no-token');
  });

  it('§7 fromHeaders replaces the default locations: a Bearer token elsewhere is ignored (= missing)', async () => {
    const p = policy(`      fromHeaders:
        - name: x-jwt-assertion`);
    const t = await token();
    const bearerOnly = await run([p], { headers: bearer(t) });
    expect(bearerOnly.result).toBe('no-token');
    expect(bearerOnly.headersAfter['authorization']).toBe(`Bearer ${t}`);
    expect((await run([p], { path: `/?access_token=${t}` })).result).toBe('no-token');
    expect((await run([p], { headers: { 'x-jwt-assertion': t } })).result).toBe('valid');
    // even an invalid token outside the configured locations is not looked at
    expect((await run([p], { headers: { authorization: 'Bearer deadbeef' } })).result).toBe('no-token');
  });

  it('§7 a fromHeaders name that is also an Object property (constructor) reads only a header of that name', async () => {
    const p = policy(`      fromHeaders: [{ name: constructor }, { name: toString, prefix: "T " }]`);
    expect((await run([p], {})).result).toBe('no-token');
    const r = await run([p], { headers: { constructor: await token() } });
    expect(r.result, r.trace.join('\n')).toBe('valid');
  });

  it('§7 fromHeaders prefix, fromParams and fromCookies read the token there', async () => {
    const t = await token();
    const p = policy(`      fromHeaders: [{ name: X-Auth, prefix: "Token " }]
      fromParams: [jwt]
      fromCookies: [session]`);
    expect((await run([p], { headers: { 'x-auth': `Token ${t}` } })).result).toBe('valid');
    expect((await run([p], { headers: { 'x-auth': t } })).result).toBe('no-token'); // prefix missing
    expect((await run([p], { path: `/?jwt=${t}` })).result).toBe('valid');
    expect((await run([p], { headers: { cookie: `theme=dark; session=${t}` } })).result).toBe('valid');
  });
});

describe('§7 token extraction after the prefix (Envoy extractJWT, envoyproxy/envoy#28678)', () => {
  it('§7 the token runs to the end of the header value: a valid token followed by other text is malformed and rejected (401)', async () => {
    const t = await token();
    const junk = await run([policy()], { headers: { authorization: `Bearer ${t} trailing` } });
    expect(junk.result).toBe('invalid');
    expect(junk.status).toBe(401);
    // two Authorization headers, joined with "," (as Envoy joins this inline header): one token "<good>,Bearer <bad>"
    const two = await run([policy()], { headers: { authorization: `Bearer ${t},Bearer ${await token({}, other)}` } });
    expect(two.result).toBe('invalid');
    // leading characters that cannot start a token are still skipped
    expect((await run([policy()], { headers: { authorization: `Bearer   ${t}` } })).result).toBe('valid');
  });
});

describe('§7 what the app receives', () => {
  it('§7 the token header is removed before the app unless forwardOriginalToken', async () => {
    const t = await token();
    const removed = await run([policy()], { headers: { ...bearer(t), 'x-keep': 'yes' } });
    expect(removed.headersAfter).toEqual({ 'x-keep': 'yes' });
    const kept = await run([policy('      forwardOriginalToken: true')], { headers: bearer(t) });
    expect(kept.headersAfter['authorization']).toBe(`Bearer ${t}`);
    // a token in the query string is valid there too (its removal from the path: the next test)
    expect((await run([policy()], { path: `/?access_token=${t}` })).result).toBe('valid');
  });

  it('§7 a query parameter that carried a valid token is removed from the path unless forwardOriginalToken (Envoy 1.31+, envoy#34418)', async () => {
    const t = await token();
    const out = await run([policy()], { path: `/x?b=2&access_token=${t}&a=%41` });
    expect(out.result).toBe('valid');
    // Envoy rebuilds the query: decoded, sorted by name
    expect(out.pathAfter).toBe('/x?a=A&b=2');
    expect((await run([policy()], { path: `/x?access_token=${t}` })).pathAfter).toBe('/x');
    const kept = await run([policy('      forwardOriginalToken: true')], { path: `/x?access_token=${t}&b=2` });
    expect(kept.pathAfter).toBe(`/x?access_token=${t}&b=2`);
    // a named fromParams location as well; a path without that token is left exactly as it was
    const named = policy('      fromParams: [jwt]');
    expect((await run([named], { path: `/y?jwt=${t}` })).pathAfter).toBe('/y');
    expect((await run([named], { path: '/y?z=%41' })).pathAfter).toBe('/y?z=%41');
  });

  it('§7 outputClaimToHeaders copies nested claims (string, number, bool); an absent claim sets no header; a spoofed header is stripped', async () => {
    const p = policy(`      outputClaimToHeaders:
        - { header: x-team, claim: org.team.name }
        - { header: x-level, claim: level }
        - { header: x-admin, claim: admin }
        - { header: x-missing, claim: nope }`);
    const t = await token({ org: { team: { name: 'blue' } }, level: 3, admin: true });
    const out = await run([p], { headers: { ...bearer(t), 'x-missing': 'spoofed', 'x-team': 'spoofed' } });
    expect(out.headersAfter).toEqual({ 'x-team': 'blue', 'x-level': '3', 'x-admin': 'true' });
  });

  it('§7 outputClaimToHeaders writes a number as Envoy does: a whole number from 0 as an integer, any other as C\'s %f (six decimals, half to even)', async () => {
    const p = policy(`      outputClaimToHeaders:
        - { header: x-a, claim: a }
        - { header: x-b, claim: b }
        - { header: x-c, claim: c }
        - { header: x-d, claim: d }`);
    const t = await token({ a: 1.5, b: -3, c: 1e21, d: 0.0078125 });
    const out = await run([p], { headers: bearer(t) });
    expect(out.headersAfter).toEqual({ 'x-a': '1.500000', 'x-b': '-3.000000', 'x-c': '1000000000000000000000.000000', 'x-d': '0.007812' });
  });

  it('§7 outputPayloadToHeader carries the base64url payload of the token', async () => {
    const t = await token({ role: 'admin' });
    const out = await run([policy('      outputPayloadToHeader: x-jwt-payload')], { headers: bearer(t) });
    const payload = out.headersAfter['x-jwt-payload'] ?? '';
    expect(payload).toBe(t.split('.')[1]);
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toMatchObject({ iss: ISS, sub: 'alice', role: 'admin' });
  });
});

describe('§7 JWKS that cannot be fetched', () => {
  it('§7 an unreachable JWKS rejects every presented token (401) but lets a token-less request pass', async () => {
    const noStandIn = { standIns: {} };
    const t = await token();
    const out = await run([policy()], { headers: bearer(t) }, noStandIn);
    expect([out.result, out.status]).toEqual(['invalid', 401]);
    // istiod's fake key set has kid "abc": a token with another kid finds no key
    expect(out.body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
    expect(out.trace.join('\n')).toMatch(/could not be fetched/);
    expect((await run([policy()], {}, noStandIn)).result).toBe('no-token');
    const noKid = await run([policy()], { headers: bearer(await token({}, { privateJwk: trusted.privateJwk, kid: '' })) }, noStandIn);
    expect([noKid.status, noKid.body]).toEqual([401, 'Jwt verification fails']);
  });

  it("§7 a stand-in that is not a JWKS rejects tokens with 401 Jwks doesn't have any valid public key", async () => {
    const out = await run([policy()], { headers: bearer(await token()) }, { standIns: { [JWKS_URI]: '{"keys": []}' } });
    expect([out.status, out.body]).toEqual([401, "Jwks doesn't have any valid public key"]);
  });

  it('§7 inline jwks in the rule is used without any fetch', async () => {
    const p = ra(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: inline, namespace: default }
spec:
  jwtRules:
    - issuer: ${ISS}
      jwks: '${jwksOf([trusted.publicJwk])}'
`);
    expect((await run([p], { headers: bearer(await token()) }, { standIns: {} })).result).toBe('valid');
  });
});

describe('§7 several rules and policies', () => {
  it('§7 a token valid for one rule passes although another rule with the same issuer lists other audiences', async () => {
    const a = policy('      audiences: [orders]', { name: 'a' });
    const b = policy('      audiences: [billing]', { name: 'b' });
    const out = await run([a, b], { headers: bearer(await token({ aud: 'billing' })) });
    expect(out.result).toBe('valid');
    expect(out.decidedBy).toEqual({ policy: 'default/b', rule: 0 });
    const neither = await run([a, b], { headers: bearer(await token({ aud: 'shipping' })) });
    expect([neither.status, neither.body]).toEqual([403, 'Audiences in Jwt are not allowed']);
  });

  it('§7 rules of other issuers: the token is judged by the rule of its issuer, "issuer is not configured" only when no rule knows it', async () => {
    const mine = policy('', { name: 'mine' });
    const theirs = policy('', { name: 'theirs', issuer: 'https://other.example.com' });
    expect((await run([mine, theirs], { headers: bearer(await token()) })).result).toBe('valid');
    const expired = await run([mine, theirs], { headers: bearer(await token({ exp: T0 - 3600 })) });
    expect(expired.body).toBe('Jwt is expired'); // not "issuer is not configured" from the other rule
    const stranger = await run([mine, theirs], { headers: bearer(await token({ iss: 'https://nobody.example.com' })) });
    expect([stranger.status, stranger.body]).toEqual([401, 'Jwt issuer is not configured']);
  });

  it('§7 a rule with its own header location: a token of the other issuer in the default location still fails', async () => {
    const custom = policy(`      fromHeaders: [{ name: x-token }]`, { name: 'custom', issuer: 'https://other.example.com' });
    const standard = policy('', { name: 'standard' });
    expect((await run([custom, standard], { headers: bearer(await token()) })).result).toBe('valid');
    const misplaced = await run([custom, standard], { headers: bearer(await token({ iss: 'https://other.example.com' })) });
    expect(misplaced.body).toBe('Jwt issuer is not configured');
  });

  it('§7 a rule without issuer (jwksUri only) accepts any issuer, and stores its payload (Istio 1.21+): principal and claims from the token', async () => {
    const p = ra(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: any-issuer, namespace: default }
spec:
  jwtRules:
    - jwksUri: ${JWKS_URI}
`);
    const out = await run([p], { headers: bearer(await token({ iss: 'https://whoever.example.com' })) });
    expect(out.result).toBe('valid');
    expect(out.auth?.principal).toMatch(/^https:\/\/whoever\.example\.com\//);
    expect(out.auth?.claims['iss']).toBe('https://whoever.example.com');
  });
});

describe('§7 CORS and selection', () => {
  it('§7 a CORS preflight skips JWT checks (even with a bad token) and keeps the headers', async () => {
    const headers = { origin: 'https://shop.example.com', 'access-control-request-method': 'POST', authorization: 'Bearer deadbeef' };
    const out = await run([policy()], { method: 'OPTIONS', headers });
    expect(out.result).toBe('no-token');
    expect(out.headersAfter).toEqual(headers);
    expect((await run([policy()], { method: 'OPTIONS', headers: { authorization: 'Bearer deadbeef' } })).result).toBe('invalid');
  });

  it('§7 selection as AuthorizationPolicy: root namespace is mesh-wide, selector narrows, targetRefs are not applied to sidecars', () => {
    const mesh = policy('', { name: 'mesh', ns: 'istio-system' });
    const ns = policy('', { name: 'ns', ns: 'shop' });
    const sel = ra(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: sel, namespace: shop }
spec:
  selector: { matchLabels: { app: orders } }
  jwtRules: [{ issuer: ${ISS} }]
`);
    const gw = ra(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: gw, namespace: shop }
spec:
  targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: public }]
  jwtRules: [{ issuer: ${ISS} }]
`);
    const names = (w: { namespace: string; labels: Record<string, string>; gateway?: boolean }): string[] =>
      requestAuthenticationsFor([mesh, ns, sel, gw], 'istio-system', w).map((p) => p.meta.name);
    expect(names({ namespace: 'shop', labels: { app: 'orders' } })).toEqual(['mesh', 'ns', 'sel']);
    expect(names({ namespace: 'shop', labels: { app: 'cart' } })).toEqual(['mesh', 'ns']);
    expect(names({ namespace: 'other', labels: { app: 'orders' } })).toEqual(['mesh']);
    expect(names({ namespace: 'shop', labels: { 'gateway.networking.k8s.io/gateway-name': 'public' }, gateway: true })).toEqual(['mesh', 'ns', 'gw']);
  });

  it('§7 no RequestAuthentication selecting the workload: tokens are not looked at', async () => {
    const out = await run([], { headers: { authorization: 'Bearer deadbeef' } });
    expect(out.result).toBe('no-token');
    expect(out.headersAfter).toEqual({ authorization: 'Bearer deadbeef' });
  });
});

describe('§7 many rules (a stranger\'s manifest may hold thousands of mesh-wide policies)', () => {
  const many = (n: number): RequestAuthentication[] =>
    Array.from({ length: n }, (_, i) => policy('', { name: `r${i}`, ns: 'istio-system', issuer: `https://iss${String(i).padStart(2, '0')}.example.com` }));

  it('§7 the trace names 8 providers and counts the rest, writes 16 lines about single providers per pass and counts the rest', async () => {
    const out = await run(many(40), {});
    expect(out.result).toBe('no-token');
    const [list] = out.trace;
    expect(list).toContain('origins-7 = istio-system/r7');
    expect(list).not.toContain('origins-8 =');
    expect(list).toMatch(/; and 32 more$/);
    expect(out.trace.filter((l) => l.includes(': no token in header authorization'))).toHaveLength(32);
    expect(out.trace.filter((l) => l === '(24 more lines about single providers not shown)')).toHaveLength(2);
    expect(out.trace.length).toBeLessThan(40);
  });

  it('§7 with 40 rules the token is still judged by the rule of its issuer, and one of an unknown issuer is still rejected', async () => {
    const rules = [...many(40), policy('', { name: 'real', ns: 'istio-system' })];
    const ok = await run(rules, { headers: bearer(await token()) });
    expect(ok.result, ok.trace.join('\n')).toBe('valid');
    expect(ok.auth?.principal).toBe(`${ISS}/alice`);
    const bad = await run(rules, { headers: bearer(await token({ iss: 'https://stranger.example.com' })) });
    expect(bad.result).toBe('invalid');
    expect(bad.body).toBe('Jwt issuer is not configured');
  });

  it('§7 a location found empty is looked at again once an earlier rule wrote a header there (outputClaimToHeaders)', async () => {
    // sorted by issuer: a (reads x-b), ISS (writes sub to x-b from its valid query token, then fails on a bad Bearer), zz (reads x-b)
    const a = policy('      fromHeaders: [{ name: x-b }]', { name: 'a', issuer: 'a' });
    const writer = policy(`      fromHeaders: [{ name: authorization, prefix: "Bearer " }]
      fromParams: [tok]
      outputClaimToHeaders: [{ header: x-b, claim: sub }]`, { name: 'writer' });
    const zz = policy('      fromHeaders: [{ name: x-b }]', { name: 'zz', issuer: 'zz' });
    const out = await run([a, writer, zz], { path: `/?tok=${await token({ sub: 'notajwt' })}`, headers: { authorization: 'Bearer garbage' } });
    expect(out.result).toBe('invalid');
    // the second pass finds "notajwt" in x-b for rule a: had its first "no token" been reused, the writer's error would be reported
    expect(out.decidedBy?.policy).toBe('default/a');
    expect(out.trace).toContain('origins-2: token from header x-b rejected: Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections');
  });

  it('§7 workloads selected by the same policies are given one shared list (their providers are made once)', () => {
    for (const n of [3, 40]) {
      const list = [...many(n), policy('', { name: 'own', ns: 'shop' })];
      const a = requestAuthenticationsSelecting(list, 'istio-system', { namespace: 'ns-a', labels: { app: 'a' } });
      const b = requestAuthenticationsSelecting(list, 'istio-system', { namespace: 'ns-b', labels: {} });
      const shop = requestAuthenticationsSelecting(list, 'istio-system', { namespace: 'shop', labels: {} });
      expect(a).toHaveLength(n);
      expect(b).toBe(a);
      expect(shop).toHaveLength(n + 1);
      expect(shop).not.toBe(a);
      expect(requestAuthenticationsSelecting(list, 'istio-system', { namespace: 'shop', labels: { x: 'y' } })).toBe(shop);
    }
  });
});

describe('jwt-crypto', () => {
  it('deriveSigningKey is deterministic, so same claims sign to the same token', async () => {
    const again = await deriveSigningKey('trusted');
    expect(again).toEqual(trusted);
    expect(other.kid).not.toBe(trusted.kid);
    const claims = { iss: ISS, sub: 'alice', exp: T0 + 60 };
    expect(await signToken(claims, again)).toBe(await signToken(claims, trusted));
    expect(trusted.publicJwk).not.toHaveProperty('d');
    expect(trusted.publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: trusted.kid });
  });

  it('verifySignatures: ok, malformed, no-matching-key, bad-signature, bad-jwks, jwks-fetch-failed', async () => {
    const good = await token();
    const forged = await token({}, { privateJwk: other.privateJwk, kid: trusted.kid });
    const sigs = await verifySignatures([good, forged, await token({}, other), 'deadbeef'], [
      { id: 'k', jwks: jwksOf([trusted.publicJwk]) },
      { id: 'bad', jwks: 'not json' },
      { id: 'down', jwks: null },
    ]);
    expect(sigs.check(good, 'k')).toBe('ok');
    expect(sigs.check(forged, 'k')).toBe('bad-signature');
    expect(sigs.check(await token({}, other), 'k')).toBe('no-matching-key');
    expect(sigs.check('deadbeef', 'k')).toBe('malformed');
    expect(sigs.check(good, 'bad')).toBe('bad-jwks');
    expect(sigs.check(good, 'down')).toBe('jwks-fetch-failed');
    expect(sigs.has(good, 'elsewhere')).toBe(false);
    expect(() => sigs.check(good, 'elsewhere')).toThrow(/not asked/);
  });

  it('signToken and verifySignatures handle ES256 and RS256 keys; a key with another alg does not match', async () => {
    for (const alg of ['ES256', 'RS256'] as const) {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const priv = await exportJWK(privateKey);
      const pub = { ...(await exportJWK(publicKey)), kid: 'k1', alg };
      const t = await signToken({ iss: ISS, sub: 'bob' }, { privateJwk: priv, kid: 'k1', alg });
      const sigs = await verifySignatures([t], [{ id: 'set', jwks: jwksOf([pub]) }, { id: 'other-alg', jwks: jwksOf([{ ...pub, alg: 'PS512' }]) }]);
      expect(sigs.check(t, 'set')).toBe('ok');
      expect(sigs.check(t, 'other-alg')).toBe(alg === 'RS256' ? 'no-matching-key' : 'bad-jwks');
    }
  });

  it('a stand-in JWKS that holds the private key (d) verifies with its public half; the same JWK signs', async () => {
    const withPrivate = JSON.stringify({ keys: [{ ...trusted.privateJwk, kid: 'shop-1' }] });
    const t = await signToken({ iss: ISS, sub: 'alice' }, { privateJwk: { ...trusted.privateJwk, kid: 'shop-1' }, kid: 'shop-1' });
    const sigs = await verifySignatures([t], [{ id: 'shop', jwks: withPrivate }]);
    expect(sigs.check(t, 'shop')).toBe('ok');
  });

  it('addKeyToJwks adds a public key to a set, keeps an unfetchable set unfetchable', () => {
    const text = addKeyToJwks('{"keys":[]}', trusted.privateJwk);
    expect(JSON.parse(text ?? '')).toEqual({ keys: [trusted.publicJwk] });
    expect(addKeyToJwks(null, trusted.publicJwk)).toBeNull();
  });
});

describe('§7 the path the app receives (through the sidecar)', () => {
  it('§7 with forwardOriginalToken false the app never sees the access_token query parameter that carried a valid token', async () => {
    const raYaml = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: b }
spec:
  jwtRules:
    - issuer: ${ISS}
      jwks: '${jwksOf([trusted.publicJwk])}'
`;
    const mesh = meshFrom(ns('a', true), ns('b', true), app('a', 'web'), app('b', 'api'), raYaml);
    const t = await token();
    const req = request(mesh, { from: 'a/web', to: 'api.b:80', path: `/r?access_token=${t}&q=1` });
    const sigs = await verifySignatures(candidateTokens(mesh.requestAuthentications, req), keySetsFor(mesh.requestAuthentications, () => undefined));
    const d = decide(mesh, req, { jwt: { nowSeconds: T0, sigs } });
    expect(d.outcome).toBe('allowed');
    expect(d.received?.path).toBe('/r?q=1');
  });
});
