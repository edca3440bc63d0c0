/**
 * The two fixture meshes of issue 11 item 5: test/fixtures/lint/posture has
 * each listed posture problem, and lint finds each one where it is;
 * test/fixtures/lint/hardened is the same mesh with every problem fixed, and
 * lint finds nothing. Also: lint over the shipped meshes says only what is true.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/lint/index.js';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh } from '../../src/model/types.js';

function loadDir(dir: string): Mesh {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ path: path.join(dir, f), text: readFileSync(path.join(dir, f), 'utf8') }));
  const { mesh, issues } = loadMesh(files);
  expect(issues.errors).toEqual([]);
  return mesh;
}

const POSTURE = 'test/fixtures/lint/posture';

describe('lint over the posture fixture', () => {
  const found = lint(loadDir(POSTURE)).findings;
  const at = (code: string): string[] => found.filter((f) => f.code === code).map((f) => `${path.basename(f.file)}:${f.line} ${f.resource}`);

  it('PERMISSIVE left where every client has a sidecar (MR0101) is found on the PeerAuthentication', () => {
    expect(at('MR0101')).toEqual(['02-mtls.yaml:3 PeerAuthentication ledger/permissive']);
  });
  it('a policy that selects nothing (MR0102) is found', () => {
    expect(at('MR0102')).toEqual(['03-authorization.yaml:2 AuthorizationPolicy shop/orders-allow']);
  });
  it('an ALLOW rule on principals for a port that accepts plaintext (MR0103) is found', () => {
    expect(at('MR0103')).toEqual(['03-authorization.yaml:19 AuthorizationPolicy shop/api-from-web']);
  });
  it("a header-based identity rule (MR0104) is found, located at the rule", () => {
    expect(at('MR0104')).toEqual(['03-authorization.yaml:29 AuthorizationPolicy shop/api-admin-header']);
  });
  it('a RequestAuthentication with no rule requiring a request principal (MR0105) is found', () => {
    expect(at('MR0105')).toEqual(['04-jwt.yaml:2 RequestAuthentication shop/web-jwt']);
  });
  it('a DENY path that normalisation lets through (MR0106) is found', () => {
    expect(at('MR0106')).toEqual(['03-authorization.yaml:39 AuthorizationPolicy shop/web-deny-admin']);
  });
  it('a workload without a sidecar in an injected namespace (MR0107) is found', () => {
    expect(at('MR0107')).toEqual(['01-workloads.yaml:62 Deployment shop/cron']);
  });
  it('a capture exclusion on a STRICT port (MR0108) is found', () => {
    expect(at('MR0108')).toEqual(['01-workloads.yaml:40 Deployment shop/db']);
  });
  it('a wildcard ServiceEntry host under REGISTRY_ONLY (MR0109) is found', () => {
    expect(at('MR0109')).toEqual(['05-egress.yaml:2 ServiceEntry shop/any-com']);
  });
  it('an ALLOW rule without `from` (MR0119) is found, located at the rule', () => {
    expect(at('MR0119')).toEqual(['03-authorization.yaml:49 AuthorizationPolicy shop/db-open']);
  });
  it('a DestinationRule Istio merges into a selector rule and keeps nowhere else (MR0120) is found', () => {
    expect(at('MR0120')).toEqual(['02-mtls.yaml:35 DestinationRule shop/api-defaults']);
  });
  it('a ServiceEntry naming a Service of another namespace (MR0121) is found', () => {
    expect(at('MR0121')).toEqual(['05-egress.yaml:13 ServiceEntry shop/books-mirror']);
  });
  it('an AUTO_PASSTHROUGH gateway server behind a public LoadBalancer (MR0122) is found, located at the server', () => {
    expect(at('MR0122')).toEqual(['07-eastwest.yaml:26 Gateway istio-system/cross-network']);
  });
  it('an ingress route rewriting a public path onto the gateway\'s JWT-guarded /api* (MR0123) is found, on the VirtualService', () => {
    expect(at('MR0123')).toEqual(['08-ingress-rewrite.yaml:39 VirtualService shop/shop-edge']);
  });
  it('legacy RBAC kinds (MR0110) are each found', () => {
    expect(at('MR0110')).toEqual(['06-legacy.yaml:2 ServiceRole ledger/books-reader', '06-legacy.yaml:8 ServiceRoleBinding ledger/books-reader-binding', '06-legacy.yaml:15 MeshPolicy default/default']);
  });
  it('nothing else is found: every finding is one of the planted problems', () => {
    expect(found).toHaveLength(17);
  });
  it('findings come sorted by file, line, column and code, and the same mesh gives the same findings', () => {
    const keys = found.map((f) => [f.file, f.line, f.col, f.code]);
    const sorted = [...keys].sort((a, b) => String(a[0]).localeCompare(String(b[0])) || Number(a[1]) - Number(b[1]) || Number(a[2]) - Number(b[2]) || String(a[3]).localeCompare(String(b[3])));
    expect(keys).toEqual(sorted);
    expect(JSON.stringify(lint(loadDir(POSTURE)))).toBe(JSON.stringify(lint(loadDir(POSTURE))));
  });
});

describe('lint over the hardened fixture', () => {
  it('the hardened mesh has no finding, suppressed or not', () => {
    const r = lint(loadDir('test/fixtures/lint/hardened'));
    expect(r.findings).toEqual([]);
    expect(r.suppressed).toEqual([]);
  });
});

describe('lint over the shipped meshes', () => {
  const codes = (dir: string): string[] => lint(loadDir(dir)).findings.map((f) => `${f.code} ${f.resource}`);
  it('bookinfo: only the PERMISSIVE default, as info (every pod has a sidecar; no PeerAuthentication)', () => {
    expect(codes('scenarios/meshes/bookinfo')).toEqual(['MR0101 Namespace bookinfo']);
    expect(lint(loadDir('scenarios/meshes/bookinfo')).findings[0]?.severity).toBe('info');
  });
  it('capture: orders port 9090 is STRICT but excluded from capture (what capture-excluded-inbound-port.yaml attacks)', () => {
    expect(codes('scenarios/meshes/capture')).toEqual(['MR0108 Deployment shop/orders']);
  });
  it('three-ns: nothing, since legacy/batch (no sidecar) reaches backend and frontend in plaintext today', () => {
    expect(codes('scenarios/meshes/three-ns')).toEqual([]);
  });
  it('eastwest with bookinfo: its AUTO_PASSTHROUGH server behind a public LoadBalancer (MR0122), once, at the server (what impersonate-eastwest-auto-passthrough.yaml attacks)', () => {
    const dirs = ['scenarios/meshes/bookinfo', 'scenarios/meshes/eastwest'];
    const files = dirs.flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ path: path.join(dir, f), text: readFileSync(path.join(dir, f), 'utf8') })));
    const { mesh, issues } = loadMesh(files);
    expect(issues.errors).toEqual([]);
    const found = lint(mesh, { only: ['MR0122'] }).findings;
    expect(found.map((f) => `${path.basename(f.file)}:${f.line} ${f.code} ${f.resource}`)).toEqual(['eastwestgateway.yaml:84 MR0122 Gateway istio-system/cross-network-gateway']);
    expect(found[0]?.message).toContain('LoadBalancer Service istio-system/istio-eastwestgateway port 15443');
  });
  it('payments with the shop delegation overlay: the delegate\'s /legacy/orders → /api/orders rewrite past the edge\'s JWT rule on /api* (MR0123), once, at the delegate\'s route (what payments-delegated-route-skips-edge-jwt.yaml attacks)', () => {
    // the scenario's manifests: meshes/payments without shop-routing.yaml, plus the delegation overlay
    const files = readdirSync('scenarios/meshes/payments').filter((f) => f.endsWith('.yaml') && f !== 'shop-routing.yaml').sort().map((f) => path.join('scenarios/meshes/payments', f))
      .concat(['scenarios/meshes/policies/payments-shop-delegation/delegation.yaml'])
      .map((p) => ({ path: p, text: readFileSync(p, 'utf8') }));
    const { mesh, issues } = loadMesh(files);
    expect(issues.errors).toEqual([]);
    const found = lint(mesh, { only: ['MR0123'] }).findings;
    expect(found.map((f) => `${path.basename(f.file)}:${f.line} ${f.code} ${f.resource}`)).toEqual(['delegation.yaml:84 MR0123 VirtualService shop/shop']);
    expect(found[0]?.message).toContain('route 1 of delegate VirtualService shop/storefront');
    expect(found[0]?.message).toContain('rewrites /legacy/orders to /api/orders');
    expect(found[0]?.message).toContain('AuthorizationPolicy istio-system/shop-require-jwt refuses');
  });
});
