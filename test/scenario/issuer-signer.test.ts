/**
 * Who signs a trusted token (`signer: trusted`, the default): the key set a
 * jwtRule of the scenario's OWN mesh names for the issuer (tokens.ts
 * signingRulesOf). When the scenario runs on another mesh (an exercise check
 * on the trainee's manifests, assess's after side), the keys still come from
 * its own mesh's rules: deleting or repointing a RequestAuthentication changes
 * what checks the tokens clients send, not the tokens (istio-semantics §7:
 * with no RequestAuthentication a token is not read; a JWKS that cannot be
 * fetched fails closed). In the scenario's own mesh, an issuer no rule names is
 * an authoring error (a misspelt iss), with the mesh's issuers in the message.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh } from '../../src/model/types.js';
import { deriveSigningKey } from '../../src/policy/jwt-crypto.js';
import { renderJson } from '../../src/report/json.js';
import { parseScenario } from '../../src/scenario/load.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
import { signingRulesOf } from '../../src/scenario/tokens.js';
import type { RunResult } from '../../src/scenario/types.js';
import { app, ns } from '../helpers.js';

const URI = 'https://idp.example/jwks.json';
const ISS = 'https://idp.example';

const REQUIRE_PRINCIPAL = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: require-jwt, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  action: ALLOW
  rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }]
`;
const ra = (uri = URI, iss = ISS): string => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: server-jwt, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  jwtRules: [{ issuer: "${iss}", jwksUri: "${uri}" }]
`;

function scenario(iss: string): string {
  return `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
  attacker: { foothold: a/client }
  steps:
    - id: with-token
      action: request
      to: "server.b:80"
      jwt: { iss: "${iss}", sub: alice }
`;
}

const meshOf = (extra: readonly string[]): Mesh =>
  loadMesh([ns('a', true), ns('b', true), app('a', 'client'), app('b', 'server'), ...extra].map((t, i) => ({ path: `m${i}.yaml`, text: t }))).mesh;

/** The stand-in holds the issuer's private key, as shipped scenarios' keys/ files do. */
async function standIns(): Promise<Record<string, string>> {
  const key = await deriveSigningKey('issuer-signer-test');
  return { [URI]: JSON.stringify({ keys: [key.privateJwk] }) };
}

/** Binds and runs the scenario on `mesh`, signing with `own`'s rules when given (the scenario's own mesh). */
async function run(mesh: Mesh, iss: string, own?: Mesh): Promise<{ result: RunResult | null; issues: IssueList }> {
  const issues = new IssueList();
  const s = parseScenario('t.yaml', scenario(iss), issues);
  if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
  const jwks = await standIns();
  const signers = own ? signingRulesOf(own) : undefined;
  if (!bindScenario(s, mesh, issues, jwks, signers)) return { result: null, issues };
  return { result: await runScenario(s, mesh, { jwks, ...(signers ? { signers } : {}) }), issues };
}

describe('the scenario\'s own mesh names the issuer\'s keys', () => {
  it('a token of an issuer the mesh names is signed with the stand-in key and accepted', async () => {
    const { result, issues } = await run(meshOf([ra(), REQUIRE_PRINCIPAL]), ISS);
    expect(issues.items).toEqual([]);
    expect(result?.steps[0]).toMatchObject({ outcome: 'allowed', code: 200 });
  });

  it('a misspelt iss is no-signing-key at the token, naming the issuers the mesh has, with a fix line', async () => {
    const { result, issues } = await run(meshOf([ra(), REQUIRE_PRINCIPAL]), 'https://idp.exmaple');
    expect(result).toBeNull();
    expect(issues.errors).toEqual([expect.objectContaining({ code: 'no-signing-key', loc: { file: 't.yaml', line: 11, col: 7 } })]);
    expect(issues.errors[0]?.message).toBe(`cannot sign a trusted token: no RequestAuthentication has a jwtRule for issuer https://idp.exmaple (the mesh's issuers: ${ISS})`);
    expect(issues.errors[0]?.hint).toContain('write iss as a jwtRule of the mesh names it');
  });

  it('no RequestAuthentication at all: no-signing-key, and the fix says what to add or send instead', async () => {
    const { issues } = await run(meshOf([REQUIRE_PRINCIPAL]), ISS);
    expect(issues.errors[0]?.message).toBe(`cannot sign a trusted token: no RequestAuthentication has a jwtRule for issuer ${ISS}`);
    expect(issues.errors[0]?.hint).toContain('signer: untrusted');
  });

  it('a jwksUri with no stand-in says so, not that the JWKS holds only public keys', async () => {
    const { issues } = await run(meshOf([ra('https://idp.example/elsewhere'), REQUIRE_PRINCIPAL]), ISS);
    expect(issues.errors[0]?.message).toBe(`cannot sign a trusted token: no JWKS for issuer ${ISS}: its jwksUri https://idp.example/elsewhere has no stand-in file in spec.mesh.jwks`);
  });
});

describe('run on another mesh than its own (exercise check, assess after side): signed as its own mesh says', () => {
  it('the RequestAuthentication deleted: the token is still sent, no longer read, and the ALLOW on requestPrincipals refuses it (403)', async () => {
    const { result, issues } = await run(meshOf([REQUIRE_PRINCIPAL]), ISS, meshOf([ra(), REQUIRE_PRINCIPAL]));
    expect(issues.errors).toEqual([]);
    expect(result?.steps[0]).toMatchObject({ outcome: 'blocked', code: 403 });
  });

  it('the RequestAuthentication repointed at a JWKS with no stand-in: the token is refused, the JWKS failing closed (401)', async () => {
    const { result, issues } = await run(meshOf([ra('https://idp.example/elsewhere'), REQUIRE_PRINCIPAL]), ISS, meshOf([ra(), REQUIRE_PRINCIPAL]));
    expect(issues.errors).toEqual([]);
    expect(result?.steps[0]).toMatchObject({ outcome: 'blocked', code: 401 });
  });

  it('the same run twice gives the same report, byte for byte', async () => {
    const own = meshOf([ra(), REQUIRE_PRINCIPAL]);
    const a = await run(meshOf([REQUIRE_PRINCIPAL]), ISS, own);
    const b = await run(meshOf([REQUIRE_PRINCIPAL]), ISS, own);
    expect(renderJson([b.result as RunResult])).toBe(renderJson([a.result as RunResult]));
  });
});
