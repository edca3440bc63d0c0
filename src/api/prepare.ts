/** Scenario file → validated scenario + its mesh, through an injected SourceReader. */
import { IssueList, type Issue, type Location } from '../core/issues.js';
import { setOwn } from '../core/record.js';
import { loadMesh, type MeshOverrides, type SourceFile } from '../loader/load.js';
import { Reader } from '../loader/reader.js';
import { MAX_JWKS_KEYS } from '../loader/request-authentication.js';
import type { JwtRule } from '../model/request-authentication.js';
import type { Mesh } from '../model/types.js';
import { parseScenario, type LoadedScenario } from '../scenario/load.js';
import { ByteBudget, type SourceReader } from './source.js';

export interface PreparedScenario {
  scenario: LoadedScenario;
  mesh: Mesh;
  warnings: string[];
  /** spec.mesh.jwks stand-ins: JWKS text by jwksUri */
  jwks: Record<string, string>;
  /**
   * the jwtRules whose key sets sign the scenario's trusted tokens, when the mesh is not the scenario's own (an
   * exercise check, assess's after side): the scenario's own mesh's (scenario/tokens.ts signingRulesOf)
   */
  signers?: readonly JwtRule[];
}

/** A warning as a report lists it: `file:line:col: message` (the place when it has one). */
export function warningText(w: Issue): string {
  return `${w.loc ? `${w.loc.file}:${w.loc.line}:${w.loc.col}: ` : ''}${w.message}`;
}

/** A manifest file or folder to read; `namespace` as `kubectl apply -n` gives it to objects that name none. */
export interface ManifestPath {
  path: string;
  namespace?: string;
  at?: Location;
}

/** Reads every manifest the paths name, each file once (per namespace it is applied in). */
export function readManifests(paths: readonly ManifestPath[], reader: SourceReader, issues: IssueList,
  budget: ByteBudget = new ByteBudget()): SourceFile[] {
  const files: SourceFile[] = [];
  const seen = new Set<string>();
  const listed = new Set<string>();
  for (const p of paths) {
    // a path listed twice (with the same namespace) is read once, and once the budget is spent nothing more is read:
    // one manifests-too-large error, not one per remaining entry
    const entry = `${p.namespace ?? ''}\u0000${p.path}`;
    if (listed.has(entry)) continue;
    listed.add(entry);
    if (budget.exceeded) break;
    for (const f of reader.manifests(p.path, issues, p.at, budget)) {
      const key = `${p.namespace ?? ''}\u0000${f.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      files.push(p.namespace === undefined ? f : { ...f, namespace: p.namespace });
    }
  }
  return files;
}

export function prepareScenario(file: string, reader: SourceReader, issues: IssueList): PreparedScenario | null {
  // The scenario file was named by the user; its own folder is inside its sandbox (product.md §5).
  const box = reader.forScenario(file);
  const src = box.read(file, issues);
  if (!src) return null;
  const local = new IssueList();
  const scenario = parseScenario(src.path, src.text, local);
  issues.merge(local);
  if (!scenario) return null;
  return prepareLoaded(scenario, box, issues);
}

/**
 * Hook for a scenario already validated (an exercise composes one from two
 * files): reads its manifests through `box` — or, when `swapManifests` is
 * given, maps each resolved manifest path first (an exercise swaps the
 * shipped mesh/ for the trainee's) — and loads the mesh.
 */
/** The manifest paths a scenario names, resolved from its file (each mapped by `swapManifests` when given), each located at its entry. */
export function scenarioManifests(scenario: LoadedScenario, box: SourceReader, swapManifests?: (resolved: string) => readonly string[]): ManifestPath[] {
  return scenario.doc.spec.mesh.manifests.flatMap((m, i) => {
    const at = scenario.src.locate(['spec', 'mesh', 'manifests', i]);
    const resolved = box.resolve(scenario.file, typeof m === 'string' ? m : m.path);
    const namespace = typeof m === 'string' ? undefined : m.namespace;
    return (swapManifests ? swapManifests(resolved) : [resolved]).map((p): ManifestPath => (namespace === undefined ? { path: p, at } : { path: p, namespace, at }));
  });
}

export function prepareLoaded(scenario: LoadedScenario, box: SourceReader, issues: IssueList,
  swapManifests?: (resolved: string) => readonly string[]): PreparedScenario | null {
  const file = scenario.file;
  const manifests = scenarioManifests(scenario, box, swapManifests);
  const meshIssues = new IssueList();
  const files = readManifests(manifests, box, meshIssues);
  const jwks: Record<string, string> = {};
  for (const [uri, rel] of Object.entries(scenario.doc.spec.mesh.jwks ?? {})) {
    const at = scenario.src.locate(['spec', 'mesh', 'jwks', uri]);
    const f = box.read(box.resolve(file, rel), meshIssues, at);
    if (!f) continue;
    try {
      const doc: unknown = JSON.parse(f.text);
      // JSON.parse gives null, a number or a list as readily as an object: say what it is, not a TypeError's text
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`it holds ${doc === null ? 'null' : Array.isArray(doc) ? 'a list' : `a ${typeof doc}`}, not an object`);
      const keys = (doc as { keys?: unknown }).keys;
      if (!Array.isArray(keys)) throw new Error('no "keys" list');
      if (keys.length > MAX_JWKS_KEYS) {
        meshIssues.error('bad-jwks', `${f.path} holds ${keys.length} keys; meshrange reads at most ${MAX_JWKS_KEYS} in a JSON Web Key Set (each token is checked against every key that fits)`,
          at, 'keep the keys the issuer signs with');
        continue;
      }
      setOwn(jwks, uri, f.text);
    } catch (e) {
      meshIssues.error('bad-jwks', `${f.path} is not a JSON Web Key Set: ${e instanceof Error ? e.message : String(e)}`, at, 'give a file like {"keys": [{"kty": ...}]}');
    }
  }
  if (meshIssues.hasErrors()) { issues.merge(meshIssues); return null; }
  const overrides: MeshOverrides = {};
  const mc = scenario.doc.spec.mesh.meshConfig;
  if (mc) overrides.meshConfig = { value: mc, reader: new Reader(scenario.src, meshIssues, `scenario ${scenario.doc.metadata.name} meshConfig`), path: ['spec', 'mesh', 'meshConfig'] };
  const ips: Record<string, string> = {};
  for (const [id, facts] of Object.entries(scenario.doc.spec.workloads ?? {})) if (facts.ip) setOwn(ips, id, facts.ip);
  overrides.ips = ips;
  if (scenario.doc.spec.mesh.istio?.ingressGateway) overrides.ingressGateway = { at: scenario.src.locate(['spec', 'mesh', 'istio', 'ingressGateway']) };
  const { mesh, issues: loadIssues } = loadMesh(files, overrides);
  meshIssues.merge(loadIssues);
  issues.merge(meshIssues);
  if (meshIssues.hasErrors()) return null;
  return { scenario, mesh, jwks, warnings: meshIssues.warnings.map(warningText) };
}
