/**
 * The defender exercises plant real posture problems: lint names each one in
 * the starting mesh, and the solution clears it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/lint/index.js';
import { loadMesh } from '../../src/loader/load.js';

function codes(dir: string): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ path: path.join(dir, f), text: readFileSync(path.join(dir, f), 'utf8') }));
  const { mesh, issues } = loadMesh(files);
  expect(issues.errors).toEqual([]);
  return lint(mesh).findings.map((f) => f.code);
}

describe.each([
  ['close-bypass-port', 'MR0108'],
  ['deny-path-normalisation', 'MR0106'],
  ['jwt-mandatory', 'MR0105'],
])('exercise %s', (name, code) => {
  it(`the starting mesh has ${code} and the solution does not`, () => {
    expect(codes(`exercises/${name}/mesh`)).toContain(code);
    expect(codes(`exercises/${name}/solution`)).not.toContain(code);
  });
});

describe('MR0105 on the jwt-mandatory mesh with policies that mention a request principal but do not require one', () => {
  const dir = 'exercises/jwt-mandatory/mesh';
  function lintWith(extra: string): { codes: string[]; messages: string[] } {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ path: path.join(dir, f), text: readFileSync(path.join(dir, f), 'utf8') }));
    const { mesh, issues } = loadMesh([...files, { path: 'extra.yaml', text: extra }]);
    expect(issues.errors).toEqual([]);
    const findings = lint(mesh, { only: ['MR0105'] }).findings;
    return { codes: findings.map((f) => f.code), messages: findings.map((f) => f.message) };
  }
  it('a DENY on one specific request principal still leaves token-less requests in: MR0105 is reported', () => {
    const r = lintWith(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-revoked, namespace: backend }
spec:
  selector: { matchLabels: { app: api } }
  action: DENY
  rules:
    - from: [{ source: { requestPrincipals: ["https://auth.shop.example/revoked-user"] } }]
`);
    expect(r.codes).toEqual(['MR0105']);
    expect(r.messages[0]).toMatch(/e\.g\. GET \/ from .+ to .+, no token, is allowed/);
  });
  it('an ALLOW whose second rule needs only a namespace lets frontend in without a token: MR0105 is reported with that probe', () => {
    const r = lintWith(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: api-allow, namespace: backend }
spec:
  selector: { matchLabels: { app: api } }
  action: ALLOW
  rules:
    - from: [{ source: { requestPrincipals: ["*"] } }]
      to: [{ operation: { paths: ["/admin/*"] } }]
    - from: [{ source: { namespaces: [frontend] } }]
`);
    expect(r.codes).toEqual(['MR0105']);
    expect(r.messages[0]).toContain('GET / from frontend/web to api.backend:80');
  });
  it('a DENY notRequestPrincipals: ["*"] makes the token mandatory: not reported', () => {
    expect(lintWith(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: need-jwt, namespace: backend }
spec:
  selector: { matchLabels: { app: api } }
  action: DENY
  rules:
    - from: [{ source: { notRequestPrincipals: ["*"] } }]
`).codes).toEqual([]);
  });
});

