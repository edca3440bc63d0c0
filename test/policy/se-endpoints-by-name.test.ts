/**
 * §8 A ServiceEntry host dialled by its own name goes where the entry's cluster goes (conversion.go builds its
 * endpoints from the entry): a STATIC entry to its endpoints or the pods its workloadSelector selects in its own
 * namespace (mTLS when MESH_INTERNAL and the pod has a sidecar) — and nowhere when there are none (503 no healthy
 * upstream) — not to whatever address a resolver would give the name.
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, ns, registryOnlyMeshConfig, send } from '../helpers.js';

const entry = (host: string, extra: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: int, namespace: a }
spec:
  hosts: [${host}]
  ports: [{ number: 8080, name: http, protocol: HTTP }]
  resolution: STATIC
${extra}`;
const mesh = (...docs: string[]) => meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('a', 'local'), app('b', 'server'), registryOnlyMeshConfig, ...docs);

describe('§8 a STATIC ServiceEntry dialled by its host', () => {
  it('a MESH_INTERNAL entry selecting a pod of its namespace reaches that pod over mTLS', () => {
    const d = send(mesh(entry('local.internal', '  location: MESH_INTERNAL\n  workloadSelector: { labels: { app: local } }\n')), { from: 'a/client', to: 'local.internal:8080' });
    expect(d.outcome).toBe('allowed');
    expect(d.mtls).toBe(true);
    expect(d.events.map((e) => e.what).join('\n')).toContain('a/local');
  });

  it('a selector that selects no pod of the entry\'s namespace (the pods are elsewhere) leaves no endpoint: 503', () => {
    const d = send(mesh(entry('server.internal', '  location: MESH_INTERNAL\n  workloadSelector: { labels: { app: server } }\n')), { from: 'a/client', to: 'server.internal:8080' });
    expect(d.code).toBe(503);
  });

  it('no endpoints and no selector: 503 no healthy upstream, nothing leaves', () => {
    const d = send(mesh(entry('y.internal', '')), { from: 'a/client', to: 'y.internal:8080' });
    expect(d.code).toBe(503);
    expect(d.outcome).toBe('blocked');
  });

  it('an external endpoint IP is still reached outside the mesh', () => {
    const d = send(mesh(entry('x.internal', '  endpoints: [{ address: 192.0.2.44 }]\n')), { from: 'a/client', to: 'x.internal:8080' });
    expect(d.outcome).toBe('allowed');
    expect(d.events.map((e) => e.what).join('\n')).toContain('192.0.2.44');
  });
});
