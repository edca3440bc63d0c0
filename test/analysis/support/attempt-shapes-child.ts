/**
 * Child process of test/analysis/attempt-shapes.test.ts (run with
 * --allow-natives-syntax): whether every attempt of a generated mesh shares
 * the first attempt's hidden class.
 */
import { renderTopology } from '../../../src/generate/manifests.js';
import { generateTopology } from '../../../src/generate/topology.js';
import { attemptsOf } from '../../../src/analysis/reachability.js';
import { loadMesh } from '../../../src/loader/load.js';

const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
const files = renderTopology(generateTopology({ workloads: 200, profile: 'segmented', seed: 3 })).filter((f) => f.path.endsWith('.yaml'));
const { mesh, issues } = loadMesh(files);
const attempts = attemptsOf(mesh, { paths: ['/', '/admin'] });
const first = attempts[0] as object;
const odd = attempts.filter((a) => !sameMap(first, a)).length;
const kinds = new Set(attempts.map((a) => `${a.via}/${a.protocol}`));
process.stdout.write(`${JSON.stringify({ attempts: attempts.length, odd, kinds: [...kinds].sort(), errors: issues.errors.length })}\n`);
