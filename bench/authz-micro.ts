/**
 * meshrange's B2 decision loop alone, for profiling (`node --cpu-prof --import tsx bench/authz-micro.ts`):
 * the 100-rule set of authz-gen, evaluateAuthz over the 4,096 requests for ~2 s, µs per decision.
 * Not part of `npm run bench` (no peer, so no ratio).
 */
import { loadMesh } from '../src/loader/load.js';
import { evaluateAuthz, type AuthzAttributes } from '../src/policy/authorization-policy.js';
import { generate, toIstioYaml } from './authz-gen.js';

const R = Number(process.argv[2] ?? 100);
const set = generate(R, 1);
const { mesh } = loadMesh([{ path: 'm.yaml', text: toIstioYaml(set) }]);
const byId = new Map(mesh.workloads.map((w) => [w.id, w]));
const ws = set.requests.map((q) => byId.get(set.workloads[q.target]!.id)!);
const attrs = set.requests.map((q): AuthzAttributes => {
  const src = set.workloads[q.source]!;
  const dst = set.workloads[q.target]!;
  return {
    protocol: 'http', peerPrincipal: src.principal, sourceIp: '10.1.0.1', remoteIp: '10.1.0.1', destinationIp: '10.2.0.1',
    destinationPort: q.port, sni: null,
    http: { host: `${dst.name}.${dst.namespace}.svc.cluster.local`, method: q.method, path: q.path, headers: {} },
  };
});
let n = 0;
let allowed = 0;
const t0 = performance.now();
while (performance.now() - t0 < 2000) {
  for (let i = 0; i < attrs.length; i++) if (evaluateAuthz(mesh, ws[i]!, attrs[i]!).allowed) allowed++;
  n += attrs.length;
}
const us = ((performance.now() - t0) * 1000) / n;
console.log(`${R} rules: ${us.toFixed(2)} µs/decision over ${n} decisions (${((allowed / n) * 100).toFixed(1)} % allowed)`);
