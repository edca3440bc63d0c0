/**
 * The library's arguments checked at its door (src/index.ts): a JavaScript
 * caller is not held to the TypeScript types, so `loadMesh(null)`,
 * `decide({}, …)` or a billion-entry list would otherwise end in a TypeError
 * deep inside, a heap exhausted, or a seed no CLI run accepts. Each check
 * throws a MeshrangeError (code `bad-argument`) naming the argument, what it
 * must be and what to pass; sizes are bounded before anything is read.
 * Shallow by design: what the application layer validates itself (a manifest,
 * a request's fields, a scenario) is left to it. What the library takes back
 * and reads deep — run results, a decision — is checked whole (shape.ts).
 */
import { quotedName } from '../loader/names.js';
import { nearest } from '../loader/reader.js';
import { MAX_MANIFEST_ENTRIES } from '../scenario/schema.js';
import { MAX_KERNEL_EVENTS } from '../scenario/simulate.js';
import { MeshrangeError } from './library.js';
import { checkRunResult } from './shape.js';

/** The most scenario files one runScenarios call takes. */
export const MAX_SCENARIO_FILES = 10_000;
/** The most files a memoryReader holds. */
export const MAX_MEMORY_FILES = 100_000;
/** The most run results one render, stepRecords or trafficRecords call takes (ten full runScenarios calls). */
export const MAX_RESULTS = 100_000;
/** The most step or flow records one compareOutcomes side takes. */
export const MAX_RECORDS = 10_000_000;
/** The longest path the library takes. */
const MAX_PATH_CHARS = 4096;
const MAX_SEED = 2 ** 31 - 1;

function bad(message: string, hint: string): never {
  throw new MeshrangeError([{ severity: 'error', code: 'bad-argument', message, hint }]);
}

/** What a value is, in a message: `null`, `a list`, `a string`, ... */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function objectArg(v: unknown, name: string, hint: string): Record<string, unknown> {
  if (!isRecord(v)) bad(`${name}: expected an object, got ${kindOf(v)}`, hint);
  return v;
}

/**
 * Refuses a key of `o` that is not among `known`: a misspelt option (`{ sed: 5 }`) would otherwise be ignored
 * without a word, and the run would not be the one asked for. The hint names the option it most likely meant.
 */
export function knownKeys(o: Record<string, unknown>, name: string, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const close = nearest(k, known);
    bad(`${name}: unknown option ${quotedName(k)}`, close !== undefined ? `did you mean ${close}?` : `the options are ${known.join(', ')}`);
  }
}

/** An options argument: absent, or an object of the `known` options only. */
export function optionsArg(v: unknown, name: string, known: readonly string[]): Record<string, unknown> {
  if (v === undefined) return {};
  const o = objectArg(v, name, `leave ${name} out, or pass an object of options`);
  knownKeys(o, name, known);
  return o;
}

/** A string argument (a workload `ns/name`, a rule code). */
export function stringArg(v: unknown, name: string, hint: string): string {
  if (typeof v !== 'string') bad(`${name}: expected a string, got ${kindOf(v)}`, hint);
  return v;
}

export function pathArg(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) bad(`${name}: expected a file path, got ${typeof v === 'string' ? 'an empty string' : kindOf(v)}`, 'pass the path as a string');
  if (v.length > MAX_PATH_CHARS) bad(`${name}: a path of ${v.length} characters (at most ${MAX_PATH_CHARS})`, 'pass a shorter path');
  return v;
}

/** A list of at most `max` entries: its length is judged before any entry is looked at. */
export function listArg(v: unknown, name: string, min: number, max: number, what: string): readonly unknown[] {
  if (!Array.isArray(v)) bad(`${name}: expected a list of ${what}, got ${kindOf(v)}`, `pass an array of ${what}`);
  if (v.length < min || v.length > max) bad(`${name}: ${v.length} ${what} (expected ${min} to ${max})`, `pass at most ${max} ${what} at once`);
  // a hole (new Array(3), [a, , b]) is no entry: forEach would skip it and the call would quietly do less
  for (let i = 0; i < v.length; i++) if (!(i in v)) bad(`${name}[${i}]: an empty slot in the list (a sparse array)`, `pass a list with every entry set (Array.from or filter out the holes)`);
  return v;
}

export function wholeNumber(v: unknown, name: string, min: number, max: number, hint: string): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) bad(`${name}: ${typeof v === 'number' ? String(v) : kindOf(v)} is not a whole number from ${min} to ${max}`, hint);
}

/** A SourceReader given by the caller: an object with the four methods (`required`: it may not be left out). */
export function readerOption(v: unknown, name: string, required = false): void {
  if (v === undefined && !required) return;
  const r = objectArg(v, name, 'pass fileReader() or memoryReader(files)');
  for (const m of ['read', 'manifests', 'forScenario', 'resolve']) {
    if (typeof r[m] !== 'function') bad(`${name}: not a SourceReader (it has no ${m} method)`, 'pass fileReader() or memoryReader(files)');
  }
}

const RUN_OPTIONS = ['seed', 'maxEvents', 'reader', 'workers'];

/** runScenario / runScenarios options: seed, maxEvents and workers as the CLI bounds them. */
export function runOptions(v: unknown): void {
  const o = optionsArg(v, 'options', RUN_OPTIONS);
  wholeNumber(o['seed'], 'options.seed', 0, MAX_SEED, 'pass a seed as a scenario writes one, or leave it out for the scenario\'s own');
  wholeNumber(o['maxEvents'], 'options.maxEvents', 1, MAX_KERNEL_EVENTS, 'leave it out for the default budget');
  // workers: at least 1; more than this machine's maxWorkers() (WORKERS_PER_CORE per core, the CLI's bound) is
  // clamped to it by the pool (workers.ts poolThreads), not refused: a count written for a 16-core laptop still runs on a 2-core CI runner
  wholeNumber(o['workers'], 'options.workers', 1, 1_000_000, 'pass 1 (serial) or about the number of cores');
  readerOption(o['reader'], 'options.reader');
}

/** loadMesh's input: manifests (0 … MAX_MANIFEST_ENTRIES paths or {path, namespace}), namespace, ingressGateway. */
export function meshInputArg(v: unknown): void {
  const input = objectArg(v, 'input', 'pass { manifests: [\'path/to/manifests\'] }');
  knownKeys(input, 'input', ['manifests', 'namespace', 'ingressGateway', 'maxBytes']);
  const list = listArg(input['manifests'], 'input.manifests', 0, MAX_MANIFEST_ENTRIES, 'manifest paths');
  list.forEach((m, i) => {
    if (typeof m === 'string') { pathArg(m, `input.manifests[${i}]`); return; }
    const e = objectArg(m, `input.manifests[${i}]`, 'pass a path, or { path, namespace }');
    knownKeys(e, `input.manifests[${i}]`, ['path', 'namespace']);
    pathArg(e['path'], `input.manifests[${i}].path`);
    if (e['namespace'] !== undefined && typeof e['namespace'] !== 'string') bad(`input.manifests[${i}].namespace: expected a string, got ${kindOf(e['namespace'])}`, 'name the namespace, or leave it out');
  });
  if (input['namespace'] !== undefined && typeof input['namespace'] !== 'string') bad(`input.namespace: expected a string, got ${kindOf(input['namespace'])}`, 'name the namespace, or leave it out');
  if (input['ingressGateway'] !== undefined && typeof input['ingressGateway'] !== 'boolean') bad(`input.ingressGateway: expected true or false, got ${kindOf(input['ingressGateway'])}`, 'pass true to add Istio\'s default ingress gateway');
}

/** memoryReader's files: a Map or an object of at most MAX_MEMORY_FILES path → text strings. */
export function memoryFilesArg(v: unknown): void {
  if (!(v instanceof Map) && !isRecord(v)) bad(`files: expected a Map or an object of path → text, got ${kindOf(v)}`, 'pass new Map([[\'mesh/app.yaml\', text]]) or { \'mesh/app.yaml\': text }');
  const size = v instanceof Map ? v.size : Object.keys(v as object).length;
  if (size > MAX_MEMORY_FILES) bad(`files: ${size} files (at most ${MAX_MEMORY_FILES})`, 'pass the files the scenarios and meshes name');
  const each = (p: unknown, text: unknown): void => {
    if (typeof p !== 'string') bad(`files: a path is ${kindOf(p)}, not a string`, 'key every file by its path');
    if (typeof text !== 'string') bad(`files: ${quotedName(p)} holds ${kindOf(text)}, not text`, 'give each file its text as a string');
  };
  if (v instanceof Map) for (const [p, text] of v) each(p, text);
  else for (const [p, text] of Object.entries(v as object)) each(p, text);
}

const MESH_LISTS = ['workloads', 'services', 'authorizationPolicies', 'peerAuthentications', 'networkPolicies'];

/** A mesh loadMesh returned (checked by its shape: the lists every analysis reads). */
export function meshArg(v: unknown, name: string): void {
  const m = objectArg(v, name, 'pass the mesh loadMesh returned');
  for (const k of MESH_LISTS) {
    if (!Array.isArray(m[k])) bad(`${name}: not a mesh (it has no ${k} list)`, 'pass the mesh loadMesh returned');
  }
  if (!isRecord(m['config']) || !(m['namespaces'] instanceof Map)) bad(`${name}: not a mesh (no config or namespaces)`, 'pass the mesh loadMesh returned');
  // every analysis reads each entry's fields: an entry that is no object would be a TypeError inside
  for (const k of MESH_LISTS) {
    const list = m[k] as unknown[];
    for (let i = 0; i < list.length; i++) if (!isRecord(list[i])) bad(`${name}.${k}[${i}]: expected an object, got ${kindOf(list[i])}`, 'pass the mesh loadMesh returned');
  }
}

/** A request for decide: an object with `from` and `to` strings (decide checks the rest). */
export function requestArg(v: unknown): void {
  const r = objectArg(v, 'request', 'pass { from: \'ns/workload\', to: \'host:port\' }');
  // a misspelt field ({ metod: 'DELETE' }) would run as the default, without a word
  knownKeys(r, 'request', ['from', 'to', 'method', 'path', 'headers', 'protocol', 'tls', 'token', 'sni', 'bypass', 'capabilities', 'sourceIp']);
  for (const k of ['from', 'to']) if (typeof r[k] !== 'string') bad(`request.${k}: expected a string, got ${kindOf(r[k])}`, 'pass { from: \'ns/workload\', to: \'host:port\' }');
}

/**
 * Reports to render: a list of at most MAX_RESULTS RunResults, each checked by its shape — every field a renderer
 * reads (shape.ts) — so that an edited or hand-made result is refused at the path of its first bad field.
 */
export function resultsArg(v: unknown): void {
  const list = listArg(v, 'results', 0, MAX_RESULTS, 'run results');
  for (let i = 0; i < list.length; i++) {
    const o = objectArg(list[i], `results[${i}]`, 'pass the results runScenario or runScenarios returned');
    if (typeof o['scenario'] !== 'string' || !Array.isArray(o['steps'])) bad(`results[${i}]: not a run result (no scenario name or steps)`, 'pass the results runScenario or runScenarios returned');
    checkRunResult(o, `results[${i}]`);
  }
}
