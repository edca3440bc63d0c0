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
 *   sorted by path, documents in order) stands for age — earlier is older; a
 *   policy without a timestamp is newer than every one with (olderFirst).
 * - portLevelMtls is keyed by the workload (container) port; an UNSET port
 *   entry inherits the resolved workload mode.
 */
import { meshIndex } from '../model/index.js';
import { SELECTOR_INDEX_MIN, SelectorBuckets } from '../model/selector-index.js';
import type { Mesh, MtlsMode, ObjectMeta, PeerAuthentication, Workload } from '../model/types.js';
import { selectorMatches } from '../model/types.js';
import { byCodeUnit } from '../core/text.js';

export type ResolvedMode = Exclude<MtlsMode, 'UNSET'>;

export interface MtlsResolution {
  mode: ResolvedMode;
  level: 'port' | 'workload' | 'namespace' | 'mesh' | 'default';
  /** the policy that set the mode (null for the PERMISSIVE default) */
  policy: PeerAuthentication | null;
  /**
   * policies that applied at some level but lost to an older one: the first IGNORED_LISTED of them (mesh level, then
   * namespace level, then workload level, each oldest first); `ignoredCount` counts them all
   */
  ignored: PeerAuthentication[];
  ignoredCount: number;
}

/**
 * Losers a resolution lists. Thousands of mesh-wide PeerAuthentications (a stranger's manifest) all lose to the
 * oldest: listing every one in every namespace's and every workload's resolution was (policies × namespaces) entries
 * and a copy of them at every request to a workload with its own policy.
 */
export const IGNORED_LISTED = 32;

/** The losers of some levels (each list oldest first, its first entry the level's winner): the first IGNORED_LISTED, and how many in all. */
function losers(levels: readonly (readonly PeerAuthentication[])[], before: { ignored: readonly PeerAuthentication[]; ignoredCount: number } = { ignored: [], ignoredCount: 0 }): { ignored: PeerAuthentication[]; ignoredCount: number } {
  const ignored = [...before.ignored];
  let ignoredCount = before.ignoredCount;
  for (const l of levels) {
    if (l.length <= 1) continue;
    ignoredCount += l.length - 1;
    for (let i = 1; i < l.length && ignored.length < IGNORED_LISTED; i++) ignored.push(l[i] as PeerAuthentication);
  }
  return { ignored, ignoredCount };
}

/**
 * Oldest first: creationTimestamp, ties by name then namespace (Istio); without timestamps, apply order. An object
 * without a timestamp is newer than every object with one (the cluster would stamp it when it is applied): a total
 * order, so which of three policies wins cannot depend on the order they are compared in (comparing timestamps only
 * when both had one was no order with some missing).
 */
export function olderFirst(a: { readonly meta: ObjectMeta }, b: { readonly meta: ObjectMeta }): number {
  const ta = a.meta.creationTimestamp;
  const tb = b.meta.creationTimestamp;
  if (ta !== undefined && tb !== undefined) {
    if (ta !== tb) return ta < tb ? -1 : 1;
  } else if (ta !== undefined) {
    return -1;
  } else if (tb !== undefined) {
    return 1;
  } else if (a.meta.order !== b.meta.order) {
    return a.meta.order - b.meta.order;
  }
  return byCodeUnit(a.meta.name, b.meta.name) || byCodeUnit(a.meta.namespace, b.meta.namespace);
}

interface Levels {
  mesh: PeerAuthentication[];
  namespace: PeerAuthentication[];
  /** the namespace's policies with a selector, load order (the workload level is those matching the pod, oldest first) */
  selected: PeerAuthentication[];
  /** `selected` by one pair of each selector, for a long list (made on first use; model/selector-index.ts) */
  buckets?: SelectorBuckets<PeerAuthentication>;
}

/**
 * The candidates of a namespace at the mesh and namespace levels (oldest
 * first) and its selector policies: only the root namespace's and this
 * namespace's policies can be candidates, so those are read (index, load
 * order), once per namespace (index memo; never handed out, never mutated).
 */
function candidates(mesh: Mesh, namespace: string): Levels {
  const index = meshIndex(mesh);
  return index.memo('pa-candidates', namespace, () => {
    const root = mesh.config.rootNamespace;
    // the mesh level is the root namespace's, the same list for every namespace: made once (a copy per namespace was
    // mesh-wide policies × namespaces)
    const out: Levels = { mesh: meshLevel(mesh), namespace: [], selected: [] };
    if (namespace !== root) {
      for (const pa of index.peerAuthentications(namespace)) {
        if (pa.selector === null) out.namespace.push(pa);
        else out.selected.push(pa);
      }
    }
    out.namespace.sort(olderFirst);
    return out;
  });
}

/** The root namespace's policies without a selector, oldest first: once per mesh index (shared; never mutated). */
function meshLevel(mesh: Mesh): PeerAuthentication[] {
  const index = meshIndex(mesh);
  const root = mesh.config.rootNamespace;
  return index.memo('pa-mesh-level', root, () => index.peerAuthentications(root).filter((pa) => pa.selector === null).sort(olderFirst));
}

/** Workload-level candidates by mesh index and workload (plain WeakMaps: no closure per request). */
const workloadLevels = new WeakMap<ReturnType<typeof meshIndex>, WeakMap<Workload, PeerAuthentication[]>>();

function workloadLevel(mesh: Mesh, w: Workload, levels: Levels): PeerAuthentication[] {
  const index = meshIndex(mesh);
  let byW = workloadLevels.get(index);
  if (byW === undefined) { byW = new WeakMap(); workloadLevels.set(index, byW); }
  let out = byW.get(w);
  if (out === undefined) {
    // a long list: only the policies filed under one of the pod's own pairs can match (10,000 in a namespace of 2,000
    // pods was 20 M selector checks)
    let from: readonly PeerAuthentication[] = levels.selected;
    if (from.length >= SELECTOR_INDEX_MIN) from = (levels.buckets ??= new SelectorBuckets(levels.selected, (pa) => pa.selector)).candidates(w.labels);
    out = from.filter((pa) => pa.selector !== null && selectorMatches(pa.selector, w.labels)).sort(olderFirst);
    byW.set(w, out);
  }
  return out;
}

/** Namespace/mesh-level mode of a namespace (what client auto-mTLS consults, §5.2). */
export function namespaceMode(mesh: Mesh, namespace: string): MtlsResolution {
  // It depends on the mesh's PeerAuthentications alone: worked out once per namespace (index memo), frozen as it is shared.
  return meshIndex(mesh).memo('pa-namespace-mode', namespace, () => {
    const r = resolveNamespaceMode(mesh, namespace);
    Object.freeze(r.ignored);
    return Object.freeze(r);
  });
}

function resolveNamespaceMode(mesh: Mesh, namespace: string): MtlsResolution {
  const c = candidates(mesh, namespace);
  const { ignored, ignoredCount } = losers([c.mesh, c.namespace]);
  const ns = c.namespace[0];
  if (ns && ns.mode !== 'UNSET') return { mode: ns.mode, level: 'namespace', policy: ns, ignored, ignoredCount };
  const m = c.mesh[0];
  if (m && m.mode !== 'UNSET') return { mode: m.mode, level: 'mesh', policy: m, ignored, ignoredCount };
  return { mode: 'PERMISSIVE', level: 'default', policy: null, ignored, ignoredCount };
}

/** The mode the workload's sidecar enforces on `port` (a container port). */
export function effectiveMtls(mesh: Mesh, w: Workload, port: number): MtlsResolution {
  const levels = candidates(mesh, w.namespace);
  // the workload-level candidates, oldest first: once per workload (index memo; never handed out, never mutated),
  // not a selector check of every policy of the namespace at every request
  const workload = levels.selected.length === 0 ? levels.selected : workloadLevel(mesh, w, levels);
  const parent = namespaceMode(mesh, w.namespace);
  // No workload-level policy: the namespace's resolution as it is (shared, frozen).
  if (workload.length === 0) return parent;
  // one workload-level policy (the usual case): nothing more lost, the namespace's list as it is (shared, frozen)
  const { ignored, ignoredCount } = workload.length <= 1 ? parent : losers([workload], parent);
  const wl = workload[0];
  let resolved: MtlsResolution = { ...parent, ignored, ignoredCount };
  if (wl && wl.mode !== 'UNSET') resolved = { mode: wl.mode, level: 'workload', policy: wl, ignored, ignoredCount };
  const portMode = wl?.portLevelMtls.get(port);
  if (wl && portMode !== undefined && portMode !== 'UNSET') {
    return { mode: portMode, level: 'port', policy: wl, ignored, ignoredCount };
  }
  return resolved;
}
