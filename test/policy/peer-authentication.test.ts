/** istio-semantics §4: PeerAuthentication scoping, precedence and port-level modes. */
import { describe, expect, it } from 'vitest';
import { effectiveMtls, namespaceMode } from '../../src/policy/peer-authentication.js';
import { app, meshFrom, ns, pa, wl } from '../helpers.js';

const base = [ns('istio-system', false), ns('b', true), app('b', 'server')];
const sel = '  selector: { matchLabels: { app: server } }\n';

describe('§4 PeerAuthentication', () => {
  it('§4 nothing applies → PERMISSIVE (mesh default)', () => {
    const m = meshFrom(...base);
    expect(effectiveMtls(m, wl(m, 'b/server'), 8080)).toMatchObject({ mode: 'PERMISSIVE', level: 'default', policy: null });
  });

  it('§4 a selector-less policy in the root namespace is mesh-level', () => {
    const m = meshFrom(...base, pa('istio-system', 'mesh', 'STRICT'));
    expect(effectiveMtls(m, wl(m, 'b/server'), 8080)).toMatchObject({ mode: 'STRICT', level: 'mesh' });
  });

  it('§4 namespace-level beats mesh-level', () => {
    const m = meshFrom(...base, pa('istio-system', 'mesh', 'STRICT'), pa('b', 'ns', 'PERMISSIVE'));
    expect(effectiveMtls(m, wl(m, 'b/server'), 8080)).toMatchObject({ mode: 'PERMISSIVE', level: 'namespace' });
  });

  it('§4 workload-level beats namespace-level', () => {
    const m = meshFrom(...base, pa('b', 'ns', 'STRICT'), pa('b', 'wl', 'PERMISSIVE', sel));
    expect(effectiveMtls(m, wl(m, 'b/server'), 8080)).toMatchObject({ mode: 'PERMISSIVE', level: 'workload' });
  });

  it('§4 UNSET inherits from the parent level', () => {
    const m = meshFrom(...base, pa('istio-system', 'mesh', 'STRICT'), pa('b', 'ns', 'UNSET'), pa('b', 'wl', 'UNSET', sel));
    expect(effectiveMtls(m, wl(m, 'b/server'), 8080)).toMatchObject({ mode: 'STRICT', level: 'mesh' });
  });

  it('§4 mesh level UNSET = PERMISSIVE', () => {
    const m = meshFrom(...base, pa('istio-system', 'mesh', 'UNSET'));
    expect(effectiveMtls(m, wl(m, 'b/server'), 8080).mode).toBe('PERMISSIVE');
  });

  it('§4 a selector policy in the root namespace is ignored', () => {
    const m = meshFrom(...base, pa('istio-system', 'rootsel', 'STRICT', sel));
    expect(effectiveMtls(m, wl(m, 'b/server'), 8080).mode).toBe('PERMISSIVE');
  });

  it('§4 a workload-level policy whose selector does not match does not apply', () => {
    const m = meshFrom(...base, pa('b', 'other', 'STRICT', '  selector: { matchLabels: { app: other } }\n'));
    expect(effectiveMtls(m, wl(m, 'b/server'), 8080).mode).toBe('PERMISSIVE');
  });

  it('§4 two namespace-level policies: the oldest (creationTimestamp) wins, the newer is ignored', () => {
    const older = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: zz-old, namespace: b, creationTimestamp: "2024-01-01T00:00:00Z" }
spec: { mtls: { mode: STRICT } }`;
    const newer = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: aa-new, namespace: b, creationTimestamp: "2025-01-01T00:00:00Z" }
spec: { mtls: { mode: DISABLE } }`;
    const m = meshFrom(...base, newer, older);
    const r = effectiveMtls(m, wl(m, 'b/server'), 8080);
    expect(r.mode).toBe('STRICT');
    expect(r.policy?.meta.name).toBe('zz-old');
    expect(r.ignored.map((p) => p.meta.name)).toEqual(['aa-new']);
  });

  it('§4 without timestamps, apply order stands for age: the first one loaded wins', () => {
    const m = meshFrom(...base, pa('b', 'second', 'DISABLE').replace('second', 'zfirst'), pa('b', 'asecond', 'STRICT'));
    expect(namespaceMode(m, 'b')).toMatchObject({ mode: 'DISABLE' });
  });

  it('§4 mixed timestamps: a policy without one is newer than every policy with one, whatever the load order', () => {
    const mk = (name: string, mode: string, ts?: string): string => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: ${name}, namespace: b${ts ? `, creationTimestamp: "${ts}"` : ''} }
spec: { mtls: { mode: ${mode} } }`;
    // loaded first and without a timestamp; the two stamped ones are older, the 2024 one oldest
    const m = meshFrom(...base, mk('applied-now', 'DISABLE'), mk('b2025', 'PERMISSIVE', '2025-01-01T00:00:00Z'), mk('a2024', 'STRICT', '2024-01-01T00:00:00Z'));
    const r = effectiveMtls(m, wl(m, 'b/server'), 8080);
    expect(r.policy?.meta.name).toBe('a2024');
    expect(r.ignored.map((p) => p.meta.name)).toEqual(['b2025', 'applied-now']);
  });

  it('§4 equal timestamps: ordered by name', () => {
    const mk = (name: string, mode: string): string => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: ${name}, namespace: b, creationTimestamp: "2024-01-01T00:00:00Z" }
spec: { mtls: { mode: ${mode} } }`;
    const m = meshFrom(...base, mk('bbb', 'DISABLE'), mk('aaa', 'STRICT'));
    expect(namespaceMode(m, 'b').mode).toBe('STRICT');
  });

  it('§4 portLevelMtls is keyed by the container port and overrides the workload mode there only', () => {
    const m = meshFrom(...base, pa('b', 'ns', 'STRICT'), pa('b', 'wl', 'UNSET', `${sel}  portLevelMtls:\n    8080: { mode: PERMISSIVE }\n`));
    const w = wl(m, 'b/server');
    expect(effectiveMtls(m, w, 8080)).toMatchObject({ mode: 'PERMISSIVE', level: 'port' });
    expect(effectiveMtls(m, w, 9090)).toMatchObject({ mode: 'STRICT', level: 'namespace' });
  });

  it('§4 a port entry with UNSET inherits the resolved workload mode', () => {
    const m = meshFrom(...base, pa('b', 'wl', 'STRICT', `${sel}  portLevelMtls:\n    8080: { mode: UNSET }\n`));
    expect(effectiveMtls(m, wl(m, 'b/server'), 8080)).toMatchObject({ mode: 'STRICT', level: 'workload' });
  });

  it('§4 portLevelMtls keyed by the Service port does not apply to the container port', () => {
    const m = meshFrom(...base, pa('b', 'ns', 'STRICT'), pa('b', 'wl', 'UNSET', `${sel}  portLevelMtls:\n    80: { mode: PERMISSIVE }\n`));
    expect(effectiveMtls(m, wl(m, 'b/server'), 8080).mode).toBe('STRICT');
  });

  it('§4 a mesh root namespace set in mesh config moves mesh-level policies', () => {
    const cm = `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    rootNamespace: istio-config
`;
    const m = meshFrom(...base, cm, pa('istio-config', 'mesh', 'STRICT'), pa('istio-system', 'old', 'DISABLE'));
    expect(m.config.rootNamespace).toBe('istio-config');
    expect(effectiveMtls(m, wl(m, 'b/server'), 8080)).toMatchObject({ mode: 'STRICT', level: 'mesh' });
  });
});
