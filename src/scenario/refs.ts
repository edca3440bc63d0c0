/** References from a scenario to the mesh, checked with a located error and a suggestion. */
import type { IssueList } from '../core/issues.js';
import type { SourceDoc } from '../loader/yaml-source.js';
import { meshIndex } from '../model/index.js';
import type { Mesh } from '../model/types.js';

/** Errors `unknown-workload` at `path` when `ref` (a `namespace/name`, or `outside` when allowed) names no workload. */
export function checkWorkloadRef(mesh: Mesh, src: SourceDoc, issues: IssueList, ref: string | undefined, path: (string | number)[], what: string, outsideOk = true): void {
  if (ref === undefined || (outsideOk && ref === 'outside') || meshIndex(mesh).workload(ref)) return;
  const [ns, name] = ref.split('/');
  const near = mesh.workloads.filter((w) => w.namespace === ns || w.name === name).map((w) => w.id).slice(0, 5);
  issues.error('unknown-workload', `${what} "${ref}" is not a workload of the mesh`, src.locate(path),
    near.length > 0 ? `did you mean ${near.join(', ')}?` : 'name a Deployment, StatefulSet, DaemonSet or Pod as namespace/name');
}
