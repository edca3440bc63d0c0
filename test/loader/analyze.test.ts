/** istio-semantics §13/§14: what Istio accepts but ignores is a warning, never an error. */
import { describe, expect, it } from 'vitest';
import { loadMesh } from '../../src/loader/load.js';
import { app, dr, ns, pa } from '../helpers.js';

function warnings(...docs: string[]): string[] {
  const { issues } = loadMesh(docs.map((text, i) => ({ path: `w${i}.yaml`, text })));
  expect(issues.errors).toEqual([]);
  return issues.warnings.map((w) => w.code);
}

const ap = (namespace: string, sel: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: p, namespace: ${namespace} }
spec:
${sel}  action: ALLOW
  rules: [{}]
`;

describe('§13 analyzer warnings', () => {
  it('§8 a ServiceEntry whose endpoints are pods of the mesh says those calls are simulated as leaving the mesh (not silently)', () => {
    const se = (spec: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api-se, namespace: a }
spec:
  hosts: [api.internal]
  location: MESH_INTERNAL
  ports: [{ number: 80, name: http, protocol: HTTP, targetPort: 8080 }]
  resolution: STATIC
${spec}`;
    expect(warnings(ns('a', true), app('a', 'web'), se('  workloadSelector: { labels: { app: web } }\n'))).toContain('se-mesh-endpoints-not-modeled');
    const { mesh } = loadMesh([{ path: 'a.yaml', text: `${ns('a', true)}\n---\n${app('a', 'web')}` }]);
    const ip = mesh.workloads[0]?.ip ?? '';
    expect(warnings(ns('a', true), app('a', 'web'), se(`  endpoints: [{ address: ${ip} }]\n`))).toContain('se-mesh-endpoints-not-modeled');
    // an outside address, or a selector that matches no pod: nothing to say
    expect(warnings(ns('a', true), app('a', 'web'), se('  endpoints: [{ address: 192.0.2.10 }]\n'))).not.toContain('se-mesh-endpoints-not-modeled');
    expect(warnings(ns('a', true), app('a', 'web'), se('  workloadSelector: { labels: { app: nope } }\n'))).not.toContain('se-mesh-endpoints-not-modeled');
  });

  it('§13 IST0127 an AuthorizationPolicy whose selector matches no pod is a warning', () => {
    expect(warnings(ns('a', true), app('a', 'web'), ap('a', '  selector: { matchLabels: { app: nope } }\n'))).toContain('IST0127');
  });

  it('§2 a policy that selects only sidecar-less workloads is flagged: nothing enforces it', () => {
    expect(warnings(ns('legacy', false), app('legacy', 'old'), ap('legacy', ''))).toContain('SIM002');
  });

  it('§4 a selector PeerAuthentication in the root namespace is flagged as ignored', () => {
    expect(warnings(ns('istio-system', false), app('istio-system', 'x'), pa('istio-system', 'p', 'STRICT', '  selector: { matchLabels: { app: x } }\n'))).toContain('SIM004');
  });

  it('§4 two namespace-level PeerAuthentications: only the oldest applies (warning)', () => {
    expect(warnings(ns('b', true), app('b', 's'), pa('b', 'one', 'STRICT'), pa('b', 'two', 'PERMISSIVE'))).toContain('SIM006');
  });

  it('§2 a DestinationRule forcing ISTIO_MUTUAL to sidecar-less pods is flagged', () => {
    expect(warnings(ns('legacy', false), app('legacy', 'old'), dr('legacy', 'm', 'old', '{ mode: ISTIO_MUTUAL }'))).toContain('SIM007');
  });

  it('§13 IST0174 a DestinationRule host that matches no service', () => {
    expect(warnings(ns('a', true), app('a', 'web'), dr('a', 'x', 'ghost', '{ mode: DISABLE }'))).toContain('IST0174');
  });

  it('a clean mesh gives no analyzer warning', () => {
    expect(warnings(ns('a', true), app('a', 'web'), ap('a', '  selector: { matchLabels: { app: web } }\n'))).toEqual([]);
  });
});
