/**
 * RequestAuthentication loading and admission validation (istio-semantics §7,
 * §14): every object Istio would reject is a located error with a hint.
 */
import { describe, expect, it } from 'vitest';
import { IssueList, type Issue } from '../../src/core/issues.js';
import { jwksProblem, jwksUriProblem, MAX_JWKS_KEYS, readRequestAuthentication } from '../../src/loader/request-authentication.js';
import { isObj, Reader } from '../../src/loader/reader.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import type { RequestAuthentication } from '../../src/model/request-authentication.js';

function load(yaml: string): { ra: RequestAuthentication; issues: Issue[] } {
  const issues = new IssueList();
  const [doc] = parseYaml('ra.yaml', yaml, issues);
  if (!doc || !isObj(doc.value)) throw new Error('bad test YAML');
  const r = new Reader(doc, issues, 'RequestAuthentication ns/name');
  const ra = readRequestAuthentication(r, { name: 'name', namespace: 'ns', labels: {}, annotations: {}, order: 0, loc: doc.locate([]) }, doc.value);
  return { ra, issues: issues.items };
}

/** code@line of every issue. */
function at(issues: Issue[]): string[] {
  return issues.map((i) => `${i.code}@${i.loc?.line ?? '?'}`);
}

const HEAD = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: name, namespace: ns }
spec:
`;

describe('§7 reading RequestAuthentication', () => {
  it('§7 reads every jwtRule field (security.istio.io/v1)', () => {
    const { ra, issues } = load(`${HEAD}  selector:
    matchLabels: { app: orders }
  jwtRules:
    - issuer: https://auth.example.com
      audiences: [orders, billing]
      jwksUri: https://auth.example.com/.well-known/jwks.json
      fromHeaders:
        - name: x-jwt
          prefix: "Bearer "
        - name: x-raw
      fromParams: [token]
      fromCookies: [session]
      forwardOriginalToken: true
      outputPayloadToHeader: x-jwt-payload
      outputClaimToHeaders:
        - { header: x-sub, claim: sub }
      spaceDelimitedClaims: [roles]
      timeout: 10s
`);
    expect(issues).toEqual([]);
    expect(ra.selector).toEqual({ app: 'orders' });
    expect(ra.targetRefs).toEqual([]);
    expect(ra.jwtRules).toEqual([{
      issuer: 'https://auth.example.com',
      audiences: ['orders', 'billing'],
      jwksUri: 'https://auth.example.com/.well-known/jwks.json',
      fromHeaders: [{ name: 'x-jwt', prefix: 'Bearer ' }, { name: 'x-raw' }],
      fromParams: ['token'],
      fromCookies: ['session'],
      forwardOriginalToken: true,
      outputPayloadToHeader: 'x-jwt-payload',
      outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }],
      spaceDelimitedClaims: ['roles'],
      timeout: '10s',
    }]);
  });

  it('§7 accepts security.istio.io/v1beta1 and defaults every optional field', () => {
    const { ra, issues } = load(`apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: { name: name, namespace: ns }
spec:
  jwtRules:
    - issuer: testing@secure.istio.io
`);
    expect(issues).toEqual([]);
    expect(ra.selector).toBeNull();
    expect(ra.jwtRules).toEqual([{
      issuer: 'testing@secure.istio.io', audiences: [], fromHeaders: [], fromParams: [], fromCookies: [],
      forwardOriginalToken: false, outputClaimToHeaders: [], spaceDelimitedClaims: [],
    }]);
  });

  it('§7 a policy without jwtRules (or without spec) is valid and has no rules', () => {
    expect(load(`${HEAD}  selector: { matchLabels: { app: a } }\n`).ra.jwtRules).toEqual([]);
    expect(load('apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: { name: name }\n').issues).toEqual([]);
  });

  it('§7 inline jwks is kept as text', () => {
    const jwks = '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}';
    const { ra, issues } = load(`${HEAD}  jwtRules:\n    - issuer: https://a\n      jwks: '${jwks}'\n`);
    expect(issues).toEqual([]);
    expect(ra.jwtRules[0]?.jwks).toBe(jwks);
  });
});

describe('§14 RequestAuthentication validation', () => {
  it('§14 a rule needs issuer or jwksUri (ra-issuer-or-jwksuri-required); jwksUri alone is fine', () => {
    const { issues } = load(`${HEAD}  jwtRules:
    - audiences: [a]
    - jwksUri: https://auth.example.com/jwks
`);
    expect(at(issues)).toEqual(['ra-issuer-or-jwksuri-required@6']);
    expect(issues[0]?.hint).toBeTruthy();
    expect(issues[0]?.message).toBe('RequestAuthentication ns/name: issuer or jwksUri must be non-empty string');
  });

  it('§14 jwks and jwksUri together are accepted with a warning (ra-jwks-and-jwksuri): Istio validates it and uses jwks', () => {
    const { ra, issues } = load(`${HEAD}  jwtRules:
    - issuer: https://a
      jwksUri: https://a/jwks
      jwks: '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}'
`);
    expect(at(issues)).toEqual(['ra-jwks-and-jwksuri@8']);
    expect(issues[0]?.severity).toBe('warning');
    expect(ra.jwtRules[0]?.jwks).toContain('keys');
  });

  it('§14 an empty audience is rejected (ra-empty-audience) at the value', () => {
    const { issues } = load(`${HEAD}  jwtRules:
    - issuer: https://a
      audiences:
        - ok
        - ""
`);
    expect(at(issues)).toEqual(['ra-empty-audience@9']);
  });

  it('§14 jwksUri must be http or https (ra-bad-jwksuri)', () => {
    const { issues } = load(`${HEAD}  jwtRules:
    - issuer: https://a
      jwksUri: file:///etc/jwks.json
    - issuer: https://b
      jwksUri: https://b:port/jwks
    - issuer: https://c
      jwksUri: HTTP://c.example.com:8080/jwks
`);
    expect(at(issues)).toEqual(['ra-bad-jwksuri@7', 'ra-bad-jwksuri@9']);
    expect(issues[0]?.message).toMatch(/URI scheme "file" is not supported/);
    expect(jwksUriProblem('https://auth.example.com/.well-known/jwks.json')).toBeNull();
    expect(jwksUriProblem('https://[::1]:8443/jwks')).toBeNull();
    expect(jwksUriProblem('auth.example.com/jwks')).toMatch(/scheme/);
  });

  it('§14 inline jwks must be a JWK Set or a JWK (ra-bad-jwks)', () => {
    const { issues } = load(`${HEAD}  jwtRules:
    - issuer: https://a
      jwks: "not json"
    - issuer: https://b
      jwks: '{"keys": [{"kty": "RSA", "e": "AQAB"}]}'
`);
    expect(at(issues)).toEqual(['ra-bad-jwks@7', 'ra-bad-jwks@9']);
    expect(issues[1]?.message).toMatch(/RSA key without "n"/);
    expect(jwksProblem('{"kty":"oct","k":"c2VjcmV0"}')).toBeNull();
    expect(jwksProblem('{"keys": "x"}')).toMatch(/not a list/);
    expect(jwksProblem('{"foo": 1}')).toMatch(/neither/);
  });

  it('§5 a JWK Set of more than MAX_JWKS_KEYS keys is refused (every token is checked against each key that fits: 1,300 RSA-4096 keys cost 0.85 s a token)', () => {
    const key = { kty: 'oct', kid: 'k', k: 'c2VjcmV0' };
    const set = (n: number): string => JSON.stringify({ keys: Array.from({ length: n }, () => key) });
    expect(jwksProblem(set(MAX_JWKS_KEYS))).toBeNull();
    expect(jwksProblem(set(MAX_JWKS_KEYS + 1))).toBe(`${MAX_JWKS_KEYS + 1} keys; meshrange reads at most ${MAX_JWKS_KEYS} in a set`);
  });

  it('§14 a JWK whose kty is a JavaScript Object property (constructor) is an unsupported key type, not a crash', () => {
    expect(jwksProblem('{"keys": [{"kty": "constructor"}]}')).toMatch(/unsupported key type "constructor"/);
    expect(jwksProblem('{"keys": [{"kty": "toString"}]}')).toMatch(/unsupported key type "toString"/);
  });

  it('§14 selector and targetRefs together are rejected (ra-selector-and-targetref)', () => {
    const { issues, ra } = load(`${HEAD}  selector:
    matchLabels: { app: a }
  targetRefs:
    - kind: Gateway
      group: gateway.networking.k8s.io
      name: public
  jwtRules: [{ issuer: https://a }]
`);
    expect(at(issues)).toEqual(['ra-selector-and-targetref@7']);
    expect(ra.targetRefs).toEqual([{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'public' }]);
  });

  it('§14 empty token locations are rejected (ra-empty-header-name, ra-empty-param, ra-empty-cookie)', () => {
    const { issues, ra } = load(`${HEAD}  jwtRules:
    - issuer: https://a
      fromHeaders:
        - prefix: "Bearer "
      fromParams: [""]
      fromCookies: [""]
`);
    expect(at(issues)).toEqual(['ra-empty-header-name@8', 'ra-empty-param@9', 'ra-empty-cookie@10']);
    expect(ra.jwtRules[0]?.fromHeaders).toEqual([]);
  });

  it('§14 outputClaimToHeaders needs header and claim, and a strict header name', () => {
    const { issues } = load(`${HEAD}  jwtRules:
    - issuer: https://a
      outputClaimToHeaders:
        - header: x-sub
        - header: "x_group"
          claim: group
`);
    expect(at(issues)).toEqual(['ra-claim-to-header-empty@8', 'ra-bad-header-name@9']);
  });

  it('§14 timeout must be a duration of at least 1ms (ra-bad-timeout)', () => {
    const { issues } = load(`${HEAD}  jwtRules:
    - issuer: https://a
      timeout: soon
`);
    expect(at(issues)).toEqual(['ra-bad-timeout@7']);
  });

  it('§14 an apiVersion that does not serve RequestAuthentication is rejected (ra-bad-api-version)', () => {
    const { issues } = load(`apiVersion: security.istio.io/v1alpha1
kind: RequestAuthentication
metadata: { name: name, namespace: ns }
spec:
  jwtRules: [{ issuer: https://a }]
`);
    expect(at(issues)).toEqual(['ra-bad-api-version@1']);
  });

  it('§14 unknown rule fields and wrong types are located errors', () => {
    const { issues } = load(`${HEAD}  jwtRules:
    - issuer: https://a
      jwks_uri: https://a/jwks
      forwardOriginalToken: "yes"
      audiences: orders
    - just-a-string
`);
    expect(at(issues)).toEqual(['unknown-field@7', 'field-type@9', 'field-type@8', 'field-type@10']);
  });
});
