/**
 * Reading manifests and scenarios from disk: the application layer (src/api)
 * through the sandboxed file system. `addMeshOptions`/`loadMeshOptions` are
 * the one spelling of `--mesh`, `-n/--namespace` and `--ingress-gateway` for
 * every command that loads a mesh without a scenario (request, blast-radius,
 * assess, lint).
 */
import { Option, type Command } from 'commander';
import path from 'node:path';
import type { IssueList, Location } from '../core/issues.js';
import type { SourceFile } from '../loader/load.js';
import type { Mesh } from '../model/types.js';
import { loadMeshInput } from '../api/mesh.js';
import { ByteBudget, MAX_MESH_BYTES, MAX_MESH_BYTES_CEILING } from '../api/source.js';
import { prepareScenario as prepare, readManifests as read, type ManifestPath, type PreparedScenario } from '../api/prepare.js';
import { FsSource, Sandbox } from './fs.js';

export type { PreparedScenario };

export function readManifests(paths: readonly { path: string; namespace?: string; at?: Location }[], sandbox: Sandbox, issues: IssueList): SourceFile[] {
  return read(paths as readonly ManifestPath[], new FsSource(sandbox), issues);
}

const MIB = 1048576;
/** how a mesh command allows more manifests (the too-large error's hint) */
const RAISE = `allow more with --max-mesh-mib (at most ${MAX_MESH_BYTES_CEILING / MIB})`;

/**
 * --max-mesh-mib as bytes (default MAX_MESH_BYTES), or null with a bad-usage
 * error: a whole number of MiB from 1 to MAX_MESH_BYTES_CEILING / 1 MiB.
 */
export function meshByteLimit(opts: MeshOptions, issues: IssueList): number | null {
  const v = opts.maxMeshMib;
  if (v === undefined) return MAX_MESH_BYTES;
  const n = /^[0-9]{1,4}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= MAX_MESH_BYTES_CEILING / MIB)) {
    issues.error('bad-usage', `--max-mesh-mib ${v}: expected a whole number of MiB from 1 to ${MAX_MESH_BYTES_CEILING / MIB}`, undefined,
      `leave it out for ${MAX_MESH_BYTES / MIB} MiB; a generated 100,000-workload mesh is ~110 MiB`);
    return null;
  }
  return n * MIB;
}

/** The byte budget of a mesh command's manifests (--max-mesh-mib), or null with a bad-usage error. */
export function meshBudget(opts: MeshOptions, issues: IssueList): ByteBudget | null {
  const limit = meshByteLimit(opts, issues);
  return limit === null ? null : new ByteBudget(limit, RAISE);
}

/** Scenario file → validated scenario + its mesh, or null with issues recorded. */
export function prepareScenario(file: string, sandbox: Sandbox, issues: IssueList): PreparedScenario | null {
  return prepare(file, new FsSource(sandbox), issues);
}

/** What addMeshOptions adds to a command's options. */
export interface MeshOptions {
  mesh: string[];
  namespace?: string;
  ingressGateway?: boolean;
  /** --max-mesh-mib, as typed */
  maxMeshMib?: string;
}

export const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** --mesh (repeatable, required), -n/--namespace, --ingress-gateway. */
export function addMeshOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--mesh <path>', 'manifest file or folder; repeatable', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .addOption(new Option('-n, --namespace <namespace>', 'namespace of objects without metadata.namespace, as kubectl apply -n (default: default)'))
    .option('--ingress-gateway', 'add Istio\'s default ingress gateway (istio-system/istio-ingressgateway), as istioctl install does')
    .option('--max-mesh-mib <n>', `the most MiB of manifests to read, all --mesh paths together, 1..${MAX_MESH_BYTES_CEILING / MIB} (default ${MAX_MESH_BYTES / MIB})`);
}

/** --mesh has a default of [] (it is repeatable), so commander's "required" never fires: an empty mesh is refused here. */
export function requireMesh(opts: MeshOptions, issues: IssueList): boolean {
  if (opts.mesh.length > 0) return true;
  issues.error('bad-usage', 'no --mesh given: there is nothing to look at', undefined, 'name the manifests: --mesh <file or folder> (repeatable)');
  return false;
}

/**
 * Reads and loads the mesh the options name. The files may lie under the
 * current folder or under a --mesh path (the user named it). Errors and
 * warnings go to `issues`; null when there was an error.
 */
export function loadMeshOptions(opts: MeshOptions, issues: IssueList): { mesh: Mesh } | null {
  if (!requireMesh(opts, issues)) return null;
  if (opts.namespace !== undefined && !NAMESPACE_NAME.test(opts.namespace)) {
    issues.error('bad-usage', `--namespace ${opts.namespace}: not a namespace name`, undefined, 'give a DNS-1123 label: lower case letters, digits and -, at most 63 characters');
    return null;
  }
  const maxBytes = meshByteLimit(opts, issues);
  if (maxBytes === null) return null;
  const sandbox = new Sandbox(opts.mesh.map((m) => path.resolve(m)).concat(path.resolve('.')));
  const { mesh, issues: found } = loadMeshInput({ maxBytes,
    manifests: opts.mesh, ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}), ...(opts.ingressGateway ? { ingressGateway: true } : {}),
  }, new FsSource(sandbox), RAISE);
  issues.merge(found);
  return mesh ? { mesh } : null;
}
