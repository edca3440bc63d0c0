/**
 * meshrange's B2 decision loop alone, for profiling (`node --cpu-prof --import tsx bench/authz-micro.ts`):
 * the 100-rule set of authz-gen, evaluateAuthz over the 4,096 requests for ~2 s, µs per decision.
 * Not part of `npm run bench` (no peer, so no ratio).
 */
import { loadMesh } from '../src/loader/load.js';
import { evaluateAuthz } from '../src/policy/authorization-policy.js';
import { generate, toAuthzAttributes, toIstioYaml } from './authz-gen.js';

const R = Number(process.argv[2] ?? 100);
const set = generate(R, 1);
const { mesh } = loadMesh([{ path: 'm.yaml', text: toIstioYaml(set) }]);
const byId = new Map(mesh.workloads.map((w) => [w.id, w]));
const ws = set.requests.map((q) => byId.get(set.workloads[q.target]!.id)!);
const attrs = toAuthzAttributes(set);
let n = 0;
let allowed = 0;
const t0 = performance.now();
while (performance.now() - t0 < 2000) {
  for (let i = 0; i < attrs.length; i++) if (evaluateAuthz(mesh, ws[i]!, attrs[i]!).allowed) allowed++;
  n += attrs.length;
}
const us = ((performance.now() - t0) * 1000) / n;
console.log(`${R} rules: ${us.toFixed(2)} µs/decision over ${n} decisions (${((allowed / n) * 100).toFixed(1)} % allowed)`);
