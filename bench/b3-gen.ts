/**
 * B3's meshes (docs/benchmarks.md) come from the one generator of
 * `meshrange generate` (src/generate): the bench and the command share it.
 * This adapter gives the bench the plain model (the topology, whose
 * `plainAllows` is the same rules written out by hand, istio-semantics §6.2,
 * §6.5, §8, §11) and the YAML meshrange loads through its own loader.
 */
import { renderTopology } from '../src/generate/manifests.js';
import { generateTopology, plainAllows as topologyAllows, workloadId, type Profile, type Topology } from '../src/generate/topology.js';

export type { Profile };
export type PlainMesh = Topology;

export interface Generated {
  plain: PlainMesh;
  /** the manifests, one file per namespace (each under the loader's size limit) */
  files: { path: string; text: string }[];
}

/** A B3 mesh of n workloads (n >= 100), N/20 team namespaces. */
export function generateB3(n: number, profile: Profile, seed: number): Generated {
  const plain = generateTopology({ workloads: n, profile, seed });
  return { plain, files: renderTopology(plain).filter((f) => f.path.endsWith('.yaml')) };
}

export function plainAllows(m: PlainMesh, s: number, d: number): boolean {
  return topologyAllows(m, s, d);
}

export { workloadId };
