/**
 * `kubectl apply -n <namespace>` for manifests written without
 * metadata.namespace (scenario `manifests: [{path, namespace}]`, `-n` on the
 * mesh commands): an object that names no namespace takes the file's; one
 * that names another is refused, as kubectl refuses it ("the namespace from
 * the provided object does not match the namespace sent on the request");
 * cluster-scoped kinds keep none.
 */
import type { Reader } from './reader.js';

/** Kinds that live outside any namespace: `-n` does not apply to them. */
const CLUSTER_KINDS: readonly string[] = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration', 'PersistentVolume', 'StorageClass', 'PriorityClass', 'IngressClass', 'Node'];

/**
 * The namespace an object lands in: its own, else the file's `-n`, else
 * `default`; null (with an error) when its own contradicts the file's.
 */
export function appliedNamespace(r: Reader, kind: string, name: string, given: string | undefined, fileNamespace: string | undefined): string | null {
  if (fileNamespace !== undefined && given !== undefined && given !== fileNamespace && !CLUSTER_KINDS.includes(kind)) {
    r.error(['metadata', 'namespace'], 'namespace-mismatch',
      `${name} says metadata.namespace: ${given}, but its file is applied with namespace ${fileNamespace} (kubectl apply -n ${fileNamespace} refuses it too)`,
      `remove metadata.namespace from the object, or apply the file with namespace: ${given}`);
    return null;
  }
  return given ?? fileNamespace ?? 'default';
}
