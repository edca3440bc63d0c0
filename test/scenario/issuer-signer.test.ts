/**
 * A trusted token (`signer: trusted`, the default) of an issuer no jwtRule of
 * the mesh names: nothing in the mesh validates its signature, so meshrange
 * signs it with a key of its own for that issuer and says so (a warning at
 * the token), rather than refusing to run. This is what a defender meets who
 * deletes the RequestAuthentication: clients still send their tokens, and the
 * run shows what the mesh now does with them (istio-semantics §7: with no
 * RequestAuthentication a token is not read; with one that does not name the
 * issuer it is refused, 401).
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { deriveSigningKey } from '../../src/policy/jwt-crypto.js';
import { renderJson } from '../../src/report/json.js';
import { parseScenario } from '../../src/scenario/load.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
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
const RA = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: server-jwt, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  jwtRules: [{ issuer: "${ISS}", jwksUri: "${URI}" }]
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

async function run(extra: readonly string[], iss: string): Promise<{ result: RunResult; warnings: string[] }> {
  const issues = new IssueList();
  const s = parseScenario('t.yaml', scenario(iss), issues);
  if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
  const { mesh } = loadMesh([ns('a', true), ns('b', true), app('a', 'client'), app('b', 'server'), ...extra].map((t, i) => ({ path: `m${i}.yaml`, text: t })));
  const key = await deriveSigningKey('issuer-signer-test');
  // the stand-in holds the private key (as shipped scenarios' keys/ files do), so meshrange can sign the issuer's tokens
  const jwks = { [URI]: JSON.stringify({ keys: [key.privateJwk] }) };
  const bound = bindScenario(s, mesh, issues, jwks);
  expect(issues.errors).toEqual([]);
  expect(bound).toBe(true);
  const warnings = issues.warnings.filter((w) => w.code === 'token-issuer-unvalidated').map((w) => `${w.loc?.line}: ${w.message}`);
  return { result: await runScenario(s, mesh, { jwks }), warnings };
}

describe('a trusted token of an issuer no jwtRule names', () => {
  it('with no RequestAuthentication at all: a warning at the token, and the run goes on; the token is not read, so an ALLOW on requestPrincipals refuses (403)', async () => {
    const { result, warnings } = await run([REQUIRE_PRINCIPAL], ISS);
    expect(warnings).toEqual([`11: no RequestAuthentication of the mesh has a jwtRule for issuer ${ISS}, so nothing in the mesh validates its tokens; meshrange signs this one with a key of its own for that issuer`]);
    expect(result.steps[0]).toMatchObject({ outcome: 'blocked', code: 403 });
  });

  it('with a RequestAuthentication for another issuer on the target: the token is refused as an unknown issuer (401)', async () => {
    const { result, warnings } = await run([RA, REQUIRE_PRINCIPAL], 'https://other.example');
    expect(warnings).toHaveLength(1);
    expect(result.steps[0]).toMatchObject({ outcome: 'blocked', code: 401 });
  });

  it('a token of an issuer the mesh names is still signed with the stand-in key and accepted, with no warning', async () => {
    const { result, warnings } = await run([RA, REQUIRE_PRINCIPAL], ISS);
    expect(warnings).toEqual([]);
    expect(result.steps[0]).toMatchObject({ outcome: 'allowed', code: 200 });
  });

  it('the key of its own is one per seed and issuer: the same scenario gives the same report, byte for byte', async () => {
    const a = await run([REQUIRE_PRINCIPAL], ISS);
    const b = await run([REQUIRE_PRINCIPAL], ISS);
    expect(renderJson([b.result])).toBe(renderJson([a.result]));
  });
});
