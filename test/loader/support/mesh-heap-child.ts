/**
 * Child process of test/loader/mesh-heap.test.ts (run with --expose-gc):
 * generates a mesh (src/generate, as `meshrange generate` writes it), loads
 * it, selects every workload's policies (what a decision or the blast radius
 * makes first), lets the texts go, and prints the heap the mesh holds per
 * workload.
 */
import { IssueList } from '../../../src/core/issues.js';
import { renderTopology } from '../../../src/generate/manifests.js';
import { generateTopology, type Profile } from '../../../src/generate/topology.js';
import { loadMesh, type SourceFile } from '../../../src/loader/load.js';
import { policiesFor, prepareAuthz } from '../../../src/policy/authorization-policy.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const workloads = Number(process.argv[2] ?? 2000);
const profile = (process.argv[3] ?? 'open') as Profile;
let files: SourceFile[] = renderTopology(generateTopology({ workloads, profile, seed: 1 })).filter((f) => f.path.endsWith('.yaml'));
// a first load, dropped, so that what the modules cache on first use is in `before`
loadMesh(files.slice(0, 1));
gc();
const before = process.memoryUsage().heapUsed;
const { mesh, issues } = loadMesh(files);
files = [];
gc();
const loaded = process.memoryUsage().heapUsed - before;
prepareAuthz(mesh);
for (const w of mesh.workloads) policiesFor(mesh, w);
gc();
const selected = process.memoryUsage().heapUsed - before;
process.stdout.write(`${JSON.stringify({ workloads: mesh.workloads.length, errors: (issues as IssueList).errors.length, loaded, selected })}\n`);
