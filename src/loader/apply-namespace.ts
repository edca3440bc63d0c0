/**
 * `kubectl apply -n <namespace>` for manifests written without
 * metadata.namespace (scenario `manifests: [{path, namespace}]`, `-n` on the
 * mesh commands): an object that names no namespace takes the file's; one
 * that names another is refused, as kubectl refuses it ("the namespace from
 * the provided object does not match the namespace sent on the request");
 * cluster-scoped kinds ignore `-n` (kubectl does): they load exactly as
 * without it, whatever the file's namespace.
 */
import type { Reader } from './reader.js';

/** Kinds that live outside any namespace: `-n` does not apply to them. */
const CLUSTER_KINDS: readonly string[] = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration', 'PersistentVolume', 'StorageClass', 'PriorityClass', 'IngressClass', 'Node',
  // legacy Istio kinds (MR0110) that were cluster-scoped
  'ClusterRbacConfig', 'MeshPolicy'];

/**
 * The namespace an object lands in: its own, else the file's `-n`, else
 * `default`; null (with an error) when its own contradicts the file's. A
 * cluster-scoped kind takes nothing from `-n` (its own, else `default`, as
 * without `-n`), so the same file applied with two namespaces does not give
 * it two different names.
 */
/** Whether Kubernetes keeps this kind outside any namespace. */
export function isClusterScoped(kind: string): boolean {
  return CLUSTER_KINDS.includes(kind);
}

export function appliedNamespace(r: Reader, kind: string, name: string, given: string | undefined, fileNamespace: string | undefined): string | null {
  if (CLUSTER_KINDS.includes(kind)) return given ?? 'default';
  if (fileNamespace !== undefined && given !== undefined && given !== fileNamespace) {
    r.error(['metadata', 'namespace'], 'namespace-mismatch',
      `${name} says metadata.namespace: ${given}, but its file is applied with namespace ${fileNamespace} (kubectl apply -n ${fileNamespace} refuses it too)`,
      `remove metadata.namespace from the object, or apply the file with namespace: ${given}`);
    return null;
  }
  return given ?? fileNamespace ?? 'default';
}
