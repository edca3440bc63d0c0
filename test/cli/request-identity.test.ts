/**
 * `meshrange request` names the client's mesh identity only when it has one:
 * a workload without a sidecar presents no certificate, so printing its
 * service account's SPIFFE id would contradict the trace.
 */
import { describe, expect, it } from 'vitest';
import { cli } from './harness.js';

const mesh = ['--mesh', 'scenarios/meshes/three-ns'];

describe('meshrange request: the client line', () => {
  it('a client without a sidecar shows no mesh identity, not its service account\'s SPIFFE id', async () => {
    const r = await cli('request', ...mesh, '--from', 'legacy/batch', '--to', 'api.backend:80');
    expect(r.code).toBe(0);
    const from = r.out.split('\n').find((l) => l.startsWith('from '));
    expect(from).toBe('from legacy/batch (no sidecar: no mesh identity)');
    expect(r.out).not.toContain('spiffe://cluster.local/ns/legacy');
  });

  it('a client with a sidecar shows its SPIFFE id', async () => {
    const r = await cli('request', ...mesh, '--from', 'frontend/web', '--to', 'api.backend:80');
    expect(r.out.split('\n').find((l) => l.startsWith('from '))).toMatch(/^from frontend\/web \(spiffe:\/\/cluster\.local\/ns\/frontend\/sa\/[a-z0-9-]+\)$/);
  });
});
