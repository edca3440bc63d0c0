/**
 * AuthorizationPolicy details checked against Istio's own source (pilot/pkg/security/authz/builder/builder.go,
 * pkg/config/validation/validation.go, pkg/config/security/security.go): each case is one where meshrange decided
 * or validated otherwise before.
 */
import { describe, expect, it } from 'vitest';
import { loadMesh } from '../../src/loader/load.js';
import { app, meshFrom, ns, send } from '../helpers.js';

const denyAll = (dryRun: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-all, namespace: web, annotations: { istio.io/dry-run: "${dryRun}" } }
spec:
  action: DENY
  rules: [{}]
`;

describe('istio.io/dry-run is read as Go\'s strconv.ParseBool reads it (builder.go isDryRun)', () => {
  for (const v of ['true', 'True', 'TRUE', 't', 'T', '1']) {
    it(`"${v}" makes the DENY policy dry-run: the request is allowed`, () => {
      const mesh = meshFrom(ns('web', true), app('web', 'api'), app('web', 'client'), denyAll(v));
      const d = send(mesh, { from: 'web/client', to: 'api.web.svc.cluster.local:80' });
      expect(d.outcome).toBe('allowed');
    });
  }
  for (const v of ['false', 'False', '0', 'f']) {
    it(`"${v}" leaves the DENY policy enforced`, () => {
      const mesh = meshFrom(ns('web', true), app('web', 'api'), app('web', 'client'), denyAll(v));
      expect(send(mesh, { from: 'web/client', to: 'api.web.svc.cluster.local:80' }).outcome).toBe('blocked');
    });
  }
  it('a value ParseBool refuses is enforced, with a warning', () => {
    const { mesh, issues } = loadMesh([{ path: 'a.yaml', text: [ns('web', true), app('web', 'api'), app('web', 'client'), denyAll('yes')].join('\n---\n') }]);
    expect(issues.hasErrors()).toBe(false);
    expect(issues.items.map((i) => i.code)).toContain('ap-dry-run-unparsed');
    expect(send(mesh, { from: 'web/client', to: 'api.web.svc.cluster.local:80' }).outcome).toBe('blocked');
  });
});

const errorCodes = (spec: string): string[] => loadMesh([{ path: 'p.yaml', text: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: p, namespace: web }
spec:
${spec}` }]).issues.errors.map((e) => e.code);

const sas = (n: number, prefix: string): string => JSON.stringify(Array.from({ length: n }, (_, i) => `${prefix}${i}`));

describe('service accounts are validated as Istio\'s CheckServiceAccount and ValidateAuthorizationPolicy do', () => {
  it('serviceAccounts beside notNamespaces or notPrincipals conflict, and notServiceAccounts beside principals or namespaces', () => {
    expect(errorCodes('  rules:\n    - from: [{ source: { serviceAccounts: ["a/x"], notNamespaces: ["b"] } }]\n')).toEqual(['ap-service-accounts-conflict']);
    expect(errorCodes('  rules:\n    - from: [{ source: { serviceAccounts: ["a/x"], notPrincipals: ["b"] } }]\n')).toEqual(['ap-service-accounts-conflict']);
    expect(errorCodes('  rules:\n    - from: [{ source: { notServiceAccounts: ["a/x"], principals: ["b"] } }]\n')).toEqual(['ap-service-accounts-conflict']);
    expect(errorCodes('  rules:\n    - from: [{ source: { notServiceAccounts: ["a/x"], namespaces: ["b"] } }]\n')).toEqual(['ap-service-accounts-conflict']);
  });

  it('the limit of 16 is per list: 10 serviceAccounts and 10 notServiceAccounts are valid, 17 in one list are not', () => {
    expect(errorCodes(`  rules:\n    - from: [{ source: { serviceAccounts: ${sas(10, 'a/x')}, notServiceAccounts: ${sas(10, 'b/y')} } }]\n`)).toEqual([]);
    expect(errorCodes(`  rules:\n    - from: [{ source: { serviceAccounts: ${sas(17, 'a/x')} } }]\n`)).toEqual(['ap-too-many-service-accounts']);
  });

  it('a value with more than one slash, an empty namespace or name, or over 320 characters is refused', () => {
    for (const v of ['a/b/c', '/x', 'x/', `a/${'x'.repeat(320)}`]) {
      expect(errorCodes(`  rules:\n    - from: [{ source: { serviceAccounts: ["${v}"] } }]\n`), v).toEqual(['ap-bad-service-account']);
    }
  });

  it('a source.serviceAccount condition takes no wildcard and at most 16 values, as the source field', () => {
    expect(errorCodes('  rules:\n    - when: [{ key: source.serviceAccount, values: ["web/*"] }]\n')).toEqual(['ap-service-account-wildcard']);
    expect(errorCodes('  rules:\n    - when: [{ key: source.serviceAccount, notValues: ["*"] }]\n')).toEqual(['ap-service-account-wildcard']);
    expect(errorCodes(`  rules:\n    - when: [{ key: source.serviceAccount, values: ${sas(17, 'a/x')} }]\n`)).toEqual(['ap-too-many-service-accounts']);
    expect(errorCodes('  rules:\n    - when: [{ key: source.serviceAccount, values: ["web/api", "api"] }]\n')).toEqual([]);
  });

  it('CUSTOM rules refuse serviceAccounts, notServiceAccounts and source.serviceAccount conditions', () => {
    const custom = '  action: CUSTOM\n  provider: { name: ext }\n  rules:\n';
    expect(errorCodes(`${custom}    - from: [{ source: { serviceAccounts: ["a/x"] } }]\n`)).toEqual(['ap-custom-unsupported-field']);
    expect(errorCodes(`${custom}    - from: [{ source: { notServiceAccounts: ["a/x"] } }]\n`)).toEqual(['ap-custom-unsupported-field']);
    expect(errorCodes(`${custom}    - when: [{ key: source.serviceAccount, values: ["a/x"] }]\n`)).toEqual(['ap-custom-unsupported-field']);
    expect(errorCodes(`${custom}    - from: [{ source: { ipBlocks: ["10.0.0.0/8"] } }]\n`)).toEqual([]);
  });
});

describe('IP literals are validated as Go\'s netip parses them (security.ValidateIPs)', () => {
  it('an IPv4 part or a prefix length with a leading zero is refused in every IP field and condition', () => {
    for (const v of ['010.0.0.1', '10.0.0.0/08', '::ffff:010.0.0.1']) {
      for (const field of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']) {
        expect(errorCodes(`  rules:\n    - from: [{ source: { ${field}: ["${v}"] } }]\n`), `${field} ${v}`).toEqual(['ap-bad-ip']);
      }
      for (const key of ['source.ip', 'remote.ip', 'destination.ip']) {
        expect(errorCodes(`  rules:\n    - when: [{ key: ${key}, values: ["${v}"] }]\n`), `${key} ${v}`).toEqual(['ap-bad-ip']);
      }
    }
  });
  it('zeros that are no leading zeros stay valid', () => {
    for (const v of ['0.0.0.0/0', '10.0.0.0/8', '10.0.100.0/24', '2001:0db8::/32', '::ffff:10.0.0.1', '::/0']) {
      expect(errorCodes(`  rules:\n    - from: [{ source: { ipBlocks: ["${v}"] } }]\n`), v).toEqual([]);
    }
  });
});

describe('header and experimental condition keys are admitted as Istio\'s validateMapKey admits them', () => {
  it('a header name or an Envoy filter name with unusual characters is valid, and the condition matches no request', () => {
    for (const key of ['request.headers[a][b]', 'experimental.envoy.filters.http.ext-authz[k]', 'experimental.envoy.filters.[k]']) {
      expect(errorCodes(`  rules:\n    - when: [{ key: "${key}", values: ["x"] }]\n`), key).toEqual([]);
    }
    const allow = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: only-odd-header, namespace: web }
spec:
  rules: [{ when: [{ key: "request.headers[a][b]", values: ["*"] }] }]
`;
    const mesh = meshFrom(ns('web', true), app('web', 'api'), app('web', 'client'), allow);
    expect(send(mesh, { from: 'web/client', to: 'api.web.svc.cluster.local:80', headers: { a: 'x', b: 'y' } }).outcome).toBe('blocked');
  });
  it('keys without a name between the brackets stay refused', () => {
    for (const key of ['request.headers[]', 'experimental.envoy.filters.a.b', 'experimental.envoy.filters.a[]']) {
      expect(errorCodes(`  rules:\n    - when: [{ key: "${key}", values: ["x"] }]\n`), key).toEqual(['ap-unknown-when-key']);
    }
  });
});
