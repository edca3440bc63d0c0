/**
 * One copy of each input check (issue 9 item 9; architecture.md "keep one copy
 * of each helper"): the DNS name checks live in src/loader/names.ts and the
 * unknown-field check in src/loader/reader.ts, so the same mistake reads the
 * same whichever kind it is made in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Issue } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';

const root = path.resolve(__dirname, '../..');

function errors(text: string): Issue[] {
  return loadMesh([{ path: 'm.yaml', text }]).issues.errors;
}

/** The message without the `Kind ns/name: ` prefix every loader message starts with. */
const bare = (i: Issue | undefined): string => (i?.message ?? '').replace(/^[A-Za-z]+ [^:]+: /, '');

describe('one unknown-field check', () => {
  it('an unknown field reads "unknown field "x" in <path>", located at its key, in every kind', () => {
    const cases: [string, string, number][] = [
      ['AuthorizationPolicy', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: p, namespace: a }
spec:
  rules: [{ to: [{ operation: { pathz: ["/x"] } }] }]
`, 5],
      ['RequestAuthentication', `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: p, namespace: a }
spec:
  jwtRules: [{ issuer: "https://i", jwksUri: "https://i/jwks", pathz: 1 }]
`, 5],
      ['NetworkPolicy', `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: p, namespace: a }
spec:
  podSelector: {}
  pathz: 1
`, 6],
      ['ServiceEntry', `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: p, namespace: a }
spec:
  hosts: [api.example.com]
  ports: [{ number: 443, name: tls, protocol: TLS }]
  resolution: DNS
  workloadSelector: { matchLabels: { app: x } }
`, 8],
    ];
    for (const [kind, text, line] of cases) {
      const [e, ...rest] = errors(text);
      expect(rest, kind).toEqual([]);
      expect(e?.code, kind).toBe('unknown-field');
      expect(e?.loc?.line, kind).toBe(line);
      expect(text.split('\n')[line - 1]?.slice((e?.loc?.col ?? 1) - 1), kind).toMatch(/^(pathz|matchLabels):/);
      expect(bare(e), kind).toMatch(/^unknown field "(pathz|matchLabels)" in spec(\.[a-zA-Z]+|\[\d+\])*$/);
    }
  });

  it('src/loader writes the unknown-field error in one place', () => {
    const dir = path.join(root, 'src/loader');
    const writers = readdirSync(dir).filter((f) => readFileSync(path.join(dir, f), 'utf8').includes('\'unknown-field\''));
    expect(writers).toEqual(['reader.ts']);
  });
});

describe('one set of DNS name checks', () => {
  it('an invalid host reads the same in a ServiceEntry and in a VirtualService (Istio\'s wording)', () => {
    const se = errors(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: p, namespace: a }
spec:
  hosts: [Bad_Host.example.com]
  ports: [{ number: 443, name: tls, protocol: TLS }]
`);
    const vs = errors(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: p, namespace: a }
spec:
  hosts: [Bad_Host.example.com]
  http: [{ route: [{ destination: { host: web } }] }]
`);
    const problem = 'domain name "Bad_Host.example.com" invalid (label "Bad_Host" invalid)';
    expect(se.map((e) => e.message).join('\n')).toContain(problem);
    expect(vs.map((e) => e.message).join('\n')).toContain(problem);
  });

  it('the DNS-1123 label pattern is written once, in src/loader/names.ts', () => {
    const dir = path.join(root, 'src/loader');
    const holders = readdirSync(dir).filter((f) => readFileSync(path.join(dir, f), 'utf8').includes('[a-z0-9]([-a-z0-9]*[a-z0-9])?'));
    expect(holders).toEqual(['names.ts']);
  });
});
