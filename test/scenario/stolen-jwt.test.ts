/**
 * Credential replay (issue 8 item 2): `jwt: stolen` sends the most recent
 * token in the attacker's state; its signature is checked like any other
 * token's, and simulated time expires it (istio-semantics §7).
 */
import { describe, expect, it } from 'vitest';
import { IssueList, type Issue } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { deriveSigningKey, jwksOf, signToken, type SigningKey } from '../../src/policy/jwt-crypto.js';
import { parseScenario } from '../../src/scenario/load.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
import { jwtIn, stealableTokens, validityPhase } from '../../src/scenario/tokens.js';
import type { RunResult, StepResult } from '../../src/scenario/types.js';
import { app, ns } from '../helpers.js';

const URI = 'https://idp.example/jwks.json';
const ISS = 'https://idp.example';
/** 2026-01-01T00:00:00Z, the default start time */
const T0 = 1_767_225_600;

const MANIFESTS = [ns('a', true), ns('b', true), app('a', 'client'), app('b', 'server'), `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: server-jwt, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  jwtRules: [{ issuer: "${ISS}", jwksUri: "${URI}" }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: require-jwt, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  action: ALLOW
  rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }]
`];

let key: SigningKey | undefined;
async function signer(): Promise<SigningKey> {
  key ??= await deriveSigningKey('stolen-jwt-test');
  return key;
}

/** A token alice's client sends, valid for `minutes` from t=0. */
async function aliceToken(minutes: number): Promise<string> {
  const k = await signer();
  return signToken({ iss: ISS, sub: 'alice', iat: T0, exp: T0 + minutes * 60 }, { privateJwk: k.privateJwk, kid: k.kid });
}

function text(steps: string, extra = ''): string {
  return `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
${extra}  attacker: { foothold: a/client }
  steps:
${steps}`;
}

async function run(steps: string, extra = ''): Promise<RunResult> {
  const issues = new IssueList();
  const s = parseScenario('t.yaml', text(steps, extra), issues);
  if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
  const { mesh } = loadMesh(MANIFESTS.map((t, i) => ({ path: `m${i}.yaml`, text: t })));
  if (!bindScenario(s, mesh, issues)) throw new Error(issues.items.map((i) => i.message).join('\n'));
  return runScenario(s, mesh, { jwks: { [URI]: jwksOf([(await signer()).publicJwk]) } });
}

function parseIssues(steps: string, extra = ''): Issue[] {
  const issues = new IssueList();
  parseScenario('t.yaml', text(steps, extra), issues);
  return issues.errors;
}

async function traffic(minutes: number, rate = '6/m'): Promise<string> {
  return `  traffic:\n    - { from: a/client, to: "server.b:80", rate: ${rate}, headers: { authorization: "Bearer ${await aliceToken(minutes)}" } }\n`;
}

const REPLAY = (id: string, at: string): string => `    - { id: ${id}, action: request, to: "server.b:80", jwt: stolen, at: ${at} }\n`;
const STEAL = '    - { id: steal, action: steal-credentials, what: jwt, at: 1m }\n';

describe('jwt: stolen in the scenario file', () => {
  it('the loader accepts the reserved name stolen without spec.tokens', () => {
    expect(parseIssues(REPLAY('r', '0s'))).toEqual([]);
  });

  it('spec.tokens may not define a token named stolen', () => {
    const issues = parseIssues(REPLAY('r', '0s'), '  tokens:\n    stolen: { iss: x, sub: y }\n');
    expect(issues.map((i) => `${i.code}@${i.loc?.line}`)).toEqual(['token-name-reserved@7']);
  });

  it('a token name spec.tokens does not define is unknown, even one Object.prototype has (constructor)', () => {
    const issues = parseIssues('    - { id: r, action: request, to: "server.b:80", jwt: constructor }\n', '  tokens:\n    alice: { iss: x, sub: y }\n');
    expect(issues.map((i) => i.code)).toEqual(['unknown-token']);
  });
});

describe('jwt: stolen when the step runs (istio-semantics §7)', () => {
  it('with no token held, the request goes without one and the evidence says so', async () => {
    const r = await run(REPLAY('r', '0s'), await traffic(60));
    const s = r.steps[0] as StepResult;
    expect(s).toMatchObject({ outcome: 'blocked', code: 403 });
    expect(s.evidence.sent?.headers?.['authorization']).toBeUndefined();
    expect(s.evidence.replayed).toMatchObject({ held: false, subject: null });
    expect(s.evidence.events[0]?.what).toContain('holds no token');
  });

  it('a token taken from the foothold\'s legitimate traffic is replayed, its signature checked ahead like any token\'s', async () => {
    const r = await run(`${STEAL}${REPLAY('r', '2m')}`, await traffic(60));
    const s = r.steps[1] as StepResult;
    expect(s).toMatchObject({ outcome: 'allowed', code: 200 });
    expect(s.evidence.requestPrincipal).toBe(`${ISS}/alice`);
    expect(s.evidence.replayed).toMatchObject({ held: true, subject: 'alice', takenBy: 'steal', validUntil: '2026-01-01T01:00:00.000Z' });
  });

  it('a token whose signature does not verify is replayed and refused 401 by the RequestAuthentication', async () => {
    const other = await deriveSigningKey('not-the-idp');
    const forged = await signToken({ iss: ISS, sub: 'alice', exp: T0 + 3600 }, { privateJwk: other.privateJwk, kid: other.kid });
    const r = await run(`${STEAL}${REPLAY('r', '2m')}`, `  traffic:\n    - { from: a/client, to: "server.b:80", rate: 6/m, headers: { authorization: "Bearer ${forged}" } }\n`);
    expect(r.steps[1]).toMatchObject({ outcome: 'blocked', code: 401 });
    expect(r.steps[1]?.evidence.events.some((e) => e.what.includes('does not verify with the keys') || e.what.includes('no key of'))).toBe(true);
  });

  it('wait moves time: the replayed token passes until exp plus the 60 s clock skew, then gets 401', async () => {
    const r = await run(`${STEAL}${REPLAY('before', '630s')}    - { id: w, action: wait, for: 60s }\n${REPLAY('after', '690s')}`, await traffic(10));
    expect(r.steps.map((s) => [s.id, s.outcome, s.code])).toEqual([
      ['steal', 'allowed', null], ['before', 'allowed', 200], ['w', 'allowed', null], ['after', 'blocked', 401],
    ]);
    expect(r.steps[3]?.stoppedBy[0]).toMatchObject({ control: 'RequestAuthentication', name: 'b/server-jwt' });
    expect(r.steps[3]?.evidence.replayed?.note).toContain('expired');
  });

  it('a JWT theft that finds only expired tokens is stopped by TokenValidity, saying when the token expired', async () => {
    const r = await run('    - { id: steal, action: steal-credentials, what: jwt, at: 20m }\n', await traffic(10));
    const s = r.steps[0] as StepResult;
    expect(s.outcome).toBe('blocked');
    expect(s.stoppedBy).toHaveLength(1);
    expect(s.stoppedBy[0]).toMatchObject({ control: 'TokenValidity', name: 'a/client' });
    expect(s.stoppedBy[0]?.reason).toContain('expired at 2026-01-01T00:10:00.000Z (T+00:10:00.000)');
    expect(s.stoppedBy[0]?.reason).not.toContain('no bearer token is in use');
  });

  it('a JWT theft where no token is in use is stopped by TokenValidity, never CertificateValidity', async () => {
    const r = await run('    - { id: steal, action: steal-credentials, what: jwt }\n');
    expect(r.steps[0]?.stoppedBy).toEqual([{ control: 'TokenValidity', name: 'a/client', reason: 'no bearer token is in use at a/client' }]);
  });

  it('a token whose exp is beyond what a Date holds is stolen, not a crash', async () => {
    const k = await signer();
    const far = await signToken({ iss: ISS, sub: 'alice', exp: 1e300 }, { privateJwk: k.privateJwk, kid: k.kid });
    const r = await run(STEAL, `  traffic:\n    - { from: a/client, to: "server.b:80", rate: 6/m, headers: { authorization: "Bearer ${far}" } }\n`);
    expect(r.steps[0]?.outcome).toBe('allowed');
  });

  it('a flood replays the token held when it starts, and its evidence says which', async () => {
    const r = await run(`${STEAL}    - { id: f, action: flood, to: "server.b:80", jwt: stolen, rate: 5/s, for: 2s, at: 2m }\n`, await traffic(60));
    expect(r.steps[1]).toMatchObject({ outcome: 'allowed' });
    expect(r.steps[1]?.evidence.replayed).toMatchObject({ held: true, subject: 'alice' });
  });

  it('the legitimate flow\'s own token expires in simulated time too', async () => {
    const r = await run(`${STEAL}    - { id: w, action: wait, for: 20m }\n`, await traffic(10, '60/m'));
    const t = r.traffic[0];
    expect(t?.stoppedBy?.['RequestAuthentication b/server-jwt']).toBeGreaterThan(0);
    expect(t?.ok).toBeGreaterThan(0);
  });
});

describe('stealable tokens and validity phases', () => {
  it('a compact JWT is found in any header, with or without the Bearer prefix', () => {
    expect(jwtIn('Bearer aaa.bbb.ccc')).toBe('aaa.bbb.ccc');
    expect(jwtIn('aaa.bbb.ccc')).toBe('aaa.bbb.ccc');
    expect(jwtIn('Bearer deadbeef')).toBeNull();
    expect(jwtIn('a.b.c.d')).toBeNull();
  });

  it('every token the legitimate flows carry is stealable, wherever it sits', async () => {
    const { mesh } = loadMesh(MANIFESTS.map((t, i) => ({ path: `m${i}.yaml`, text: t })));
    const tokens = stealableTokens(mesh, [{ headers: { 'X-Session': 'aaa.bbb.ccc', authorization: 'Bearer ddd.eee.fff' }, path: '/', method: 'GET' }]);
    expect(tokens.sort()).toEqual(['aaa.bbb.ccc', 'ddd.eee.fff']);
  });

  it('a token is valid from nbf − 60 s to exp + 60 s, in whole seconds as jwt_authn compares', () => {
    const times = [{ nbf: 1000, exp: 2000 }];
    expect([939.9, 940, 2060, 2060.9, 2061].map((s) => validityPhase(times, s))).toEqual(['e', 'v', 'v', 'v', 'x']);
  });
});
