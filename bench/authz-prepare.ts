/**
 * prepareAuthz alone on the 10,000-rule set of authz-gen (B2 / T2.3), for
 * profiling: `node --cpu-prof bench/.cache/js/bench/authz-prepare.js`. Not part of `npm run bench`.
 */
import { loadMesh } from '../src/loader/load.js';
import { prepareAuthz } from '../src/policy/authorization-policy.js';
import { generate, toIstioYaml } from './authz-gen.js';

const R = Number(process.argv[2] ?? 10000);
const { mesh } = loadMesh([{ path: 'm.yaml', text: toIstioYaml(generate(R, 1)) }]);
for (let i = 0; i < 5; i++) {
  const m = { ...mesh, authorizationPolicies: structuredClone(mesh.authorizationPolicies) };
  const t0 = performance.now();
  prepareAuthz(m);
  console.log(`${R} rules: prepareAuthz ${(performance.now() - t0).toFixed(1)} ms`);
}
