/** Reading manifests and scenarios from disk into the pure loaders. */
import path from 'node:path';
import { IssueList, type Location } from '../core/issues.js';
import { loadMesh, type MeshOverrides, type SourceFile } from '../loader/load.js';
import { Reader } from '../loader/reader.js';
import type { Mesh } from '../model/types.js';
import { parseScenario, type LoadedScenario } from '../scenario/load.js';
import { displayPath, listYamlFiles, readSource, type Sandbox } from './fs.js';

export function readManifests(paths: readonly { path: string; at?: Location }[], sandbox: Sandbox, issues: IssueList): SourceFile[] {
  const files: SourceFile[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const real = sandbox.check(p.path, issues, p.at);
    if (!real) continue;
    const list = listYamlFiles(p.path);
    if (list.length === 0) issues.error('no-manifests', `${displayPath(p.path)} holds no *.yaml or *.yml files`, p.at, 'point at a folder of Kubernetes/Istio manifests');
    for (const f of list) {
      const key = path.resolve(f);
      if (seen.has(key)) continue;
      seen.add(key);
      const src = readSource(f, issues, p.at);
      if (src) files.push(src);
    }
  }
  return files;
}

export interface PreparedScenario {
  scenario: LoadedScenario;
  mesh: Mesh;
  warnings: string[];
  /** spec.mesh.jwks stand-ins: JWKS text by jwksUri */
  jwks: Record<string, string>;
}

/** Scenario file → validated scenario + its mesh, or null with issues recorded. */
export function prepareScenario(file: string, sandbox: Sandbox, issues: IssueList): PreparedScenario | null {
  const src = readSource(file, issues);
  if (!src) return null;
  const local = new IssueList();
  const scenario = parseScenario(src.path, src.text, local);
  issues.merge(local);
  if (!scenario) return null;
  const box = sandbox.forScenario(file);
  const dir = path.dirname(file);
  const manifests = scenario.doc.spec.mesh.manifests.map((m, i) => ({ path: path.resolve(dir, m), at: scenario.src.locate(['spec', 'mesh', 'manifests', i]) }));
  const meshIssues = new IssueList();
  const files = readManifests(manifests, box, meshIssues);
  const jwks: Record<string, string> = {};
  for (const [uri, rel] of Object.entries(scenario.doc.spec.mesh.jwks ?? {})) {
    const at = scenario.src.locate(['spec', 'mesh', 'jwks', uri]);
    const p = path.resolve(dir, rel);
    if (!box.check(p, meshIssues, at)) continue;
    const f = readSource(p, meshIssues, at);
    if (!f) continue;
    try {
      const doc = JSON.parse(f.text) as { keys?: unknown };
      if (!Array.isArray(doc.keys)) throw new Error('no "keys" list');
      jwks[uri] = f.text;
    } catch (e) {
      meshIssues.error('bad-jwks', `${f.path} is not a JSON Web Key Set: ${e instanceof Error ? e.message : String(e)}`, at, 'give a file like {"keys": [{"kty": ...}]}');
    }
  }
  if (meshIssues.hasErrors()) { issues.merge(meshIssues); return null; }
  const overrides: MeshOverrides = {};
  const mc = scenario.doc.spec.mesh.meshConfig;
  if (mc) overrides.meshConfig = { value: mc, reader: new Reader(scenario.src, meshIssues, `scenario ${scenario.doc.metadata.name} meshConfig`), path: ['spec', 'mesh', 'meshConfig'] };
  const ips: Record<string, string> = {};
  for (const [id, facts] of Object.entries(scenario.doc.spec.workloads ?? {})) if (facts.ip) ips[id] = facts.ip;
  overrides.ips = ips;
  const { mesh, issues: loadIssues } = loadMesh(files, overrides);
  meshIssues.merge(loadIssues);
  issues.merge(meshIssues);
  if (meshIssues.hasErrors()) return null;
  return { scenario, mesh, jwks, warnings: meshIssues.warnings.map((w) => `${w.loc ? `${w.loc.file}:${w.loc.line}:${w.loc.col}: ` : ''}${w.message}`) };
}
