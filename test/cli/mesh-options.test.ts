/**
 * blast-radius and lint load their mesh with the options `request` has (src/cli/mesh-input.ts):
 * -n applies manifests written for `kubectl apply -n`, --ingress-gateway adds istioctl's gateway.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, writeScratch } from './harness.js';

const tmp = mkdtempSync(path.join(process.cwd(), '.tmp-mesh-options-'));
const rel = path.relative(process.cwd(), tmp);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Written for `kubectl apply -n shop`: no metadata.namespace anywhere.
const APP = `apiVersion: apps/v1
kind: Deployment
metadata: { name: client }
spec:
  template:
    metadata: { labels: { app: client } }
    spec: { serviceAccountName: client, containers: [{ name: c }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api }
spec:
  template:
    metadata: { labels: { app: api } }
    spec: { serviceAccountName: api, containers: [{ name: api, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: api }
spec: { selector: { app: api }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
`;
const app = writeScratch(tmp, rel, 'app.yaml', APP);
const ghost = writeScratch(tmp, rel, 'ghost.yaml', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ghost }
spec: { selector: { matchLabels: { app: ghost } }, rules: [{}] }
`);

describe('mesh options shared by the mesh commands', () => {
  it('blast-radius -n shop puts namespace-less manifests in shop, so --from shop/client is found', async () => {
    const r = await cli('blast-radius', '--mesh', app, '-n', 'shop', '--from', 'shop/client', '--format', 'json');
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { footholds: { from: string; reached: { id: string }[] }[] };
    expect(out.footholds[0]?.from).toBe('shop/client');
    expect(out.footholds[0]?.reached.map((x) => x.id)).toContain('shop/api');
  });

  it('blast-radius without -n finds the same workloads in default, and names the nearest on a miss (exit 2)', async () => {
    const r = await cli('blast-radius', '--mesh', app, '--from', 'shop/client');
    expect(r.code).toBe(2);
    expect(r.err).toContain('default/client');
  });

  it('blast-radius --ingress-gateway adds istio-system/istio-ingressgateway as a foothold', async () => {
    const r = await cli('blast-radius', '--mesh', app, '-n', 'shop', '--ingress-gateway', '--from', 'istio-system/istio-ingressgateway', '--format', 'json');
    expect(r.code, r.err).toBe(0);
  });

  it('lint -n shop lints the namespace-less manifests as shop\'s, and refuses a bad namespace name with exit 2', async () => {
    const ok = await cli('lint', '--mesh', app, '--mesh', ghost, '-n', 'shop', '--format', 'json', '--fail-on', 'never');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain('shop/ghost'); // the policy that selects nothing, in the namespace -n gave it
    const bad = await cli('lint', '--mesh', app, '-n', 'Not_A_Namespace');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('not a namespace name');
  });

  it.each([['lint'], ['blast-radius'], ['request', '--from', 'a/b', '--to', 'c:80']])('%s without --mesh is bad usage (exit 2), not an empty mesh that passes', async (...args) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no --mesh given');
  });
});

describe('--max-mesh-mib: the manifest budget of a mesh command', () => {
  it.each([['0'], ['257'], ['1.5'], ['1e2'], ['-4'], ['lots'], ['00000001']])('--max-mesh-mib %s is bad usage (exit 2) for lint, blast-radius and request, naming the range', async (v) => {
    for (const args of [['lint'], ['blast-radius'], ['request', '--from', 'shop/client', '--to', 'api.shop:80']]) {
      const r = await cli(...args, '--mesh', app, '-n', 'shop', '--max-mesh-mib', v);
      expect(r.code, `${args[0] as string} ${v}`).toBe(2);
      expect(r.err).toContain(`--max-mesh-mib ${v}: expected a whole number of MiB from 1 to 256`);
      expect(r.out).toBe('');
    }
  });

  it('a mesh folder over 32 MiB is refused before reading, with a hint naming --max-mesh-mib; with --max-mesh-mib 40 blast-radius and lint load it', async () => {
    // app.yaml plus five ~7 MiB files of comments around an inert ConfigMap: 35 MiB, each file under the per-file limit.
    writeScratch(tmp, rel, 'big/app.yaml', APP);
    const pad = `${'# padding to make the folder large\n'.repeat(Math.floor((7 * 1048576) / 35))}`;
    for (let i = 0; i < 5; i++) writeScratch(tmp, rel, `big/pad-${i}.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: pad-${i} }\n${pad}`);
    const big = path.join(rel, 'big');
    const refused = await cli('blast-radius', '--mesh', big, '-n', 'shop', '--from', 'shop/client');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('that is more than the 32.0 MiB of manifests meshrange reads at once');
    expect(refused.err).toContain('or allow more with --max-mesh-mib (at most 256)');
    const small = await cli('blast-radius', '--mesh', big, '-n', 'shop', '--from', 'shop/client', '--max-mesh-mib', '34');
    expect(small.code).toBe(2);
    const br = await cli('blast-radius', '--mesh', big, '-n', 'shop', '--from', 'shop/client', '--max-mesh-mib', '40', '--format', 'json');
    expect(br.code, br.err).toBe(0);
    expect((JSON.parse(br.out) as { footholds: { reached: { id: string }[] }[] }).footholds[0]?.reached.map((x) => x.id)).toContain('shop/api');
    const lint = await cli('lint', '--mesh', big, '-n', 'shop', '--max-mesh-mib', '40', '--fail-on', 'never');
    expect(lint.code, lint.err).toBe(0);
  }, 60_000);
});

describe('run --seed is bounded as spec.seed is', () => {
  it.each([['4294967296'], ['99999999999999999999999'], ['1e3'], ['-1']])('--seed %s is refused with exit 2 and the range', async (seed) => {
    const r = await cli('run', 'scenarios/bookinfo-deny-all.yaml', '--seed', seed);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
  });

  it('--seed 2147483647 runs and the report prints it as given', async () => {
    const r = await cli('run', 'scenarios/bookinfo-deny-all.yaml', '--seed', '2147483647', '--format', 'json');
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { seed: number }).seed).toBe(2147483647);
  });
});
