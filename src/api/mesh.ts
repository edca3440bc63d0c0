/** Manifests (files, folders) → the mesh model, through an injected SourceReader: what `request`, the library's loadMesh and the mesh commands share. */
import { IssueList } from '../core/issues.js';
import { loadMesh as load, type MeshOverrides } from '../loader/load.js';
import type { Mesh } from '../model/types.js';
import { DNS1123_LABEL_FORM, isDns1123Label, quotedName } from '../loader/names.js';
import { readManifests, type ManifestPath } from './prepare.js';
import { ByteBudget, MAX_MESH_BYTES, MAX_MESH_BYTES_CEILING, type SourceReader } from './source.js';

export interface MeshInput {
  /** files or folders of Kubernetes + Istio YAML (folders: every *.yaml / *.yml below, sorted) */
  manifests: readonly (string | ManifestPath)[];
  /** the namespace of objects without metadata.namespace, for every path that names none (as `kubectl apply -n`) */
  namespace?: string;
  /** add Istio's default ingress gateway, as `istioctl install` does */
  ingressGateway?: boolean;
  /** the most bytes of manifests to read, all paths together: a whole number from 1 to MAX_MESH_BYTES_CEILING (default MAX_MESH_BYTES, 32 MiB) */
  maxBytes?: number;
}

export interface MeshLoad {
  /** null when an error was found (see issues) */
  mesh: Mesh | null;
  /** every error and warning, located */
  issues: IssueList;
}

/** `raise`: how the caller may allow more manifests than input.maxBytes (the too-large error's hint) */
export function loadMeshInput(input: MeshInput, reader: SourceReader, raise = `pass a larger maxBytes (at most ${MAX_MESH_BYTES_CEILING} bytes)`): MeshLoad {
  const issues = new IssueList();
  const paths: ManifestPath[] = input.manifests.map((m) => {
    const p: ManifestPath = typeof m === 'string' ? { path: m } : { ...m };
    if (p.namespace === undefined && input.namespace !== undefined) p.namespace = input.namespace;
    return p;
  });
  // the namespace objects without one take (as `kubectl apply -n`): a DNS label, as the API server requires; the
  // mesh commands check -n before this, a library caller's is checked here
  for (const p of paths) {
    if (p.namespace !== undefined && !isDns1123Label(p.namespace)) {
      issues.error('bad-name', `namespace ${quotedName(p.namespace)} of ${quotedName(p.path)} ${DNS1123_LABEL_FORM}`,
        undefined, 'name an existing namespace');
      return { mesh: null, issues };
    }
  }
  const limit = input.maxBytes ?? MAX_MESH_BYTES;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_MESH_BYTES_CEILING) {
    issues.error('bad-usage', `maxBytes ${String(limit)}: expected a whole number of bytes from 1 to ${MAX_MESH_BYTES_CEILING}`, undefined,
      `leave it out for ${MAX_MESH_BYTES / 1048576} MiB`);
    return { mesh: null, issues };
  }
  const files = readManifests(paths, reader, issues, new ByteBudget(limit, raise));
  if (issues.hasErrors()) return { mesh: null, issues };
  const overrides: MeshOverrides = input.ingressGateway ? { ingressGateway: {} } : {};
  const { mesh, issues: loadIssues } = load(files, overrides);
  issues.merge(loadIssues);
  return { mesh: issues.hasErrors() ? null : mesh, issues };
}
