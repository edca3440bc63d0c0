/**
 * PeerAuthentication: which connections a sidecar accepts (istio-semantics §4).
 *
 * - Mesh level: in the root namespace, no selector. Namespace level: another
 *   namespace, no selector. Workload level: non-root namespace with a selector
 *   matching the pod labels. A selector policy in the root namespace is ignored.
 * - Effective mode: workload-level unless UNSET, else namespace-level unless
 *   UNSET, else mesh-level unless UNSET, else PERMISSIVE.
 * - Several candidates at one level: the oldest wins (creationTimestamp, then
 *   name, then namespace). meshrange: without timestamps, apply order (files
 *   sorted by path, documents in order) stands for age — earlier is older.
 * - portLevelMtls is keyed by the workload (container) port; an UNSET port
 *   entry inherits the resolved workload mode.
 */
import { meshIndex } from '../model/index.js';
import type { Mesh, MtlsMode, PeerAuthentication, Workload } from '../model/types.js';
import { selectorMatches } from '../model/types.js';

export type ResolvedMode = Exclude<MtlsMode, 'UNSET'>;

export interface MtlsResolution {
  mode: ResolvedMode;
  level: 'port' | 'workload' | 'namespace' | 'mesh' | 'default';
  /** the policy that set the mode (null for the PERMISSIVE default) */
  policy: PeerAuthentication | null;
  /** policies that applied at some level but lost to an older one */
  ignored: PeerAuthentication[];
}

export function olderFirst(a: PeerAuthentication, b: PeerAuthentication): number {
  const ta = a.meta.creationTimestamp;
  const tb = b.meta.creationTimestamp;
  if (ta !== undefined && tb !== undefined && ta !== tb) return ta < tb ? -1 : 1;
  if (ta === undefined || tb === undefined) {
    if (a.meta.order !== b.meta.order) return a.meta.order - b.meta.order;
  }
  return a.meta.name.localeCompare(b.meta.name) || a.meta.namespace.localeCompare(b.meta.namespace);
}

interface Levels {
  mesh: PeerAuthentication[];
  namespace: PeerAuthentication[];
  workload: PeerAuthentication[];
}

function candidates(mesh: Mesh, namespace: string, labels: Readonly<Record<string, string>>): Levels {
  const root = mesh.config.rootNamespace;
  const out: Levels = { mesh: [], namespace: [], workload: [] };
  // Only the root namespace's and this namespace's policies can be candidates: read those (index, load order), not every policy.
  const index = meshIndex(mesh);
  const near = namespace === root ? index.peerAuthentications(root) : [...index.peerAuthentications(root), ...index.peerAuthentications(namespace)];
  for (const pa of near) {
    const ns = pa.meta.namespace;
    if (ns === root && pa.selector === null) out.mesh.push(pa);
    else if (ns === namespace && ns !== root && pa.selector === null) out.namespace.push(pa);
    else if (ns === namespace && ns !== root && pa.selector !== null && selectorMatches(pa.selector, labels)) out.workload.push(pa);
  }
  out.mesh.sort(olderFirst);
  out.namespace.sort(olderFirst);
  out.workload.sort(olderFirst);
  return out;
}

/** Namespace/mesh-level mode of a namespace (what client auto-mTLS consults, §5.2). */
export function namespaceMode(mesh: Mesh, namespace: string): MtlsResolution {
  const c = candidates(mesh, namespace, {});
  const ignored = [...c.mesh.slice(1), ...c.namespace.slice(1)];
  const ns = c.namespace[0];
  if (ns && ns.mode !== 'UNSET') return { mode: ns.mode, level: 'namespace', policy: ns, ignored };
  const m = c.mesh[0];
  if (m && m.mode !== 'UNSET') return { mode: m.mode, level: 'mesh', policy: m, ignored };
  return { mode: 'PERMISSIVE', level: 'default', policy: null, ignored };
}

/** The mode the workload's sidecar enforces on `port` (a container port). */
export function effectiveMtls(mesh: Mesh, w: Workload, port: number): MtlsResolution {
  const c = candidates(mesh, w.namespace, w.labels);
  const parent = namespaceMode(mesh, w.namespace);
  const ignored = [...parent.ignored, ...c.workload.slice(1)];
  const wl = c.workload[0];
  let resolved: MtlsResolution = { ...parent, ignored };
  if (wl && wl.mode !== 'UNSET') resolved = { mode: wl.mode, level: 'workload', policy: wl, ignored };
  const portMode = wl?.portLevelMtls.get(port);
  if (wl && portMode !== undefined && portMode !== 'UNSET') {
    return { mode: portMode, level: 'port', policy: wl, ignored };
  }
  return resolved;
}
