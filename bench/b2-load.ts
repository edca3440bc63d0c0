/**
 * B2-load: what a 10,000-policy mesh costs before the first decision
 * (docs/benchmarks.md T2.3, T2.4; issue 13 items 1 and 6).
 *
 *  1. Load (T2.4): meshrange's loadMesh (YAML text → validated Mesh, every
 *     problem located) against a bare parse of the same text with the `yaml`
 *     package (`parseAllDocuments(text).map((d) => d.toJS())`, what any
 *     JavaScript tool that reads multi-document YAML does), interleaved
 *     (yaml-parse, meshrange, yaml-parse, ...), 5 rounds, medians. Two
 *     renderings of authz-gen's manifests: `json` (one JSON document per
 *     `---`, what authz-gen writes for B2) and `block` (block-style YAML, as
 *     people write it). Target: meshrange ≤ 1.5x the bare parse, in both.
 *     Rider: the loader keeps every policy and workload, reports no error, and
 *     the bare parse yields as many documents.
 *  2. Prepare (T2.3): prepareAuthz on a fresh copy of the loaded policies
 *     (select every workload's policies, compile every rule), 5 runs, median
 *     ≤ 100 ms. Rider: after it, evaluateAuthz agrees with the reference
 *     evaluator (test/property/reference-authz.ts) on 512 of authz-gen's
 *     requests.
 *  3. Memory (issue 13 item 6): peak RSS of a process that reads the YAML
 *     file and loads it, nothing else (a child process per run, so the
 *     generator and the other sections do not count), beside a child that
 *     does the bare parse. Target: the 10,000-policy load within 300 MB.
 *
 * A warm-up of 10 % of the work (the 1,000-rule set through both, and through prepareAuthz) runs first.
 *
 *   node bench/.cache/js/bench/b2-load.js [--rules 10000] [--seed 1] [--rounds 5]
 *   (child mode, used by 3: --child meshrange|yaml-parse --file F)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resourceUsage } from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { loadMesh } from '../src/loader/load.js';
import type { Mesh } from '../src/model/types.js';
import { evaluateAuthz, prepareAuthz } from '../src/policy/authorization-policy.js';
import { referenceAuthz, refSelects, type RefMesh } from '../test/property/reference-authz.js';
import { generate, toAuthzAttributes, toIstioYaml, toIstioYamlBlock, type PolicySet } from './authz-gen.js';
import { argNumber, cacheDir, emit, median, settle } from './lib.js';

const childIdx = process.argv.indexOf('--child');
if (childIdx >= 0) {
  // Child mode: read the file, do the one thing, report the peak resident set; nothing else lives in this process.
  const impl = process.argv[childIdx + 1];
  const file = process.argv[process.argv.indexOf('--file') + 1] as string;
  const text = readFileSync(file, 'utf8');
  let ok: boolean;
  if (impl === 'meshrange') {
    const { mesh, issues } = loadMesh([{ path: file, text }]);
    ok = !issues.hasErrors() && mesh.authorizationPolicies.length > 0;
  } else {
    ok = parseAllDocuments(text).map((d) => d.toJS()).length > 0;
  }
  process.stdout.write(`${JSON.stringify({ ok, rss_mb: resourceUsage().maxRSS / 1024 })}\n`);
  process.exit(0);
}

const R = argNumber('rules', 10000);
const seed = argNumber('seed', 1);
const rounds = argNumber('rounds', 5);
const FORMATS = ['json', 'block'] as const;
type Format = (typeof FORMATS)[number];
const render = (set: PolicySet, f: Format): string => (f === 'json' ? toIstioYaml(set) : toIstioYamlBlock(set));

function bare(text: string): number {
  return parseAllDocuments(text).map((d) => d.toJS()).length;
}

function loadChecked(set: PolicySet, text: string, file: string): { mesh: Mesh; ok: boolean } {
  const { mesh, issues } = loadMesh([{ path: file, text }]);
  const ok = !issues.hasErrors() && mesh.authorizationPolicies.length === set.rules.length && mesh.workloads.length === set.workloads.length;
  return { mesh, ok };
}

// ------------------------------------------------------------------ warm-up (10 %)
{
  const small = generate(Math.max(10, Math.round(R / 10)), seed);
  for (const f of FORMATS) {
    const t = render(small, f);
    bare(t);
    const { mesh } = loadChecked(small, t, `warm.${f}.yaml`);
    // the prepare step's code warms too (prepareAuthz on the small set): without it the first timed prepare paid
    // for V8 compiling prepareAuthz, ~110 ms against ~55 ms for the later rounds, and T2.3 read that noise
    if (f === 'json') prepareAuthz({ ...mesh, authorizationPolicies: structuredClone(mesh.authorizationPolicies) });
  }
}

// ------------------------------------------------------------------ 1. load vs bare parse
const set = generate(R, seed);
const texts = new Map<Format, string>(FORMATS.map((f) => [f, render(set, f)]));
let meshForPrepare: Mesh | null = null;
for (const f of FORMATS) {
  const text = texts.get(f) as string;
  const docs = bare(text);
  const params = { rules: R, format: f, documents: docs, bytes: text.length };
  const file = `b2-load-${R}.${f}.yaml`;
  for (let r = 0; r < rounds; r++) {
    settle();
    let t0 = performance.now();
    const n = bare(text);
    let wall = (performance.now() - t0) / 1000;
    emit({ bench: 'B2-load', impl: 'yaml-parse', params, seed, wall_s: wall, rate: n / wall, rss_mb: null, check: n === docs, info: { unit: 'documents/s', round: r } });
    settle();
    t0 = performance.now();
    const { mesh, ok } = loadChecked(set, text, file);
    wall = (performance.now() - t0) / 1000;
    emit({ bench: 'B2-load', impl: 'meshrange', params, seed, wall_s: wall, rate: docs / wall, rss_mb: null, check: ok, info: { unit: 'documents/s', round: r } });
    if (f === 'json') meshForPrepare = mesh;
  }
  process.stderr.write(`B2-load ${f}: ${docs} documents, ${(text.length / 2 ** 20).toFixed(1)} MiB\n`);
}

// ------------------------------------------------------------------ 2. prepare (T2.3)
{
  const mesh = meshForPrepare as Mesh;
  const byId = new Map(mesh.workloads.map((w) => [w.id, w]));
  const attrs = toAuthzAttributes(set);
  const ref: RefMesh = { trustDomain: mesh.config.trustDomain, aliases: mesh.config.trustDomainAliases, rootNamespace: mesh.config.rootNamespace };
  const sample = set.requests.map((_, i) => i).filter((i) => i % Math.max(1, Math.floor(set.requests.length / 512)) === 0).slice(0, 512);
  const expected = sample.map((i) => {
    const w = byId.get(set.workloads[set.requests[i]!.target]!.id)!;
    return referenceAuthz(mesh.authorizationPolicies.filter((p) => refSelects(p, w, ref)), attrs[i]!, ref) === 'allow';
  });
  const params = { rules: R, workloads: set.workloads.length, namespaces: set.namespaces.length };
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // a fresh copy of the policies each run, so no run reuses another's selections or compiled rules
    const m: Mesh = { ...mesh, authorizationPolicies: structuredClone(mesh.authorizationPolicies) };
    settle();
    const t0 = performance.now();
    prepareAuthz(m);
    const wall = (performance.now() - t0) / 1000;
    times.push(wall * 1000);
    const ok = sample.every((i, k) => evaluateAuthz(m, byId.get(set.workloads[set.requests[i]!.target]!.id)!, attrs[i]!).allowed === expected[k]);
    emit({ bench: 'B2-prepare', impl: 'meshrange', params, seed, wall_s: wall, rate: R / wall, rss_mb: null, check: ok, info: { unit: 'rules/s', setup_ms: Number((wall * 1000).toFixed(2)), checked: sample.length } });
  }
  process.stderr.write(`B2-prepare: median ${median(times).toFixed(1)} ms\n`);
}

// ------------------------------------------------------------------ 3. peak RSS, each load in its own process
{
  const dir = path.join(cacheDir, 'b2-load');
  mkdirSync(dir, { recursive: true });
  const self = fileURLToPath(import.meta.url);
  for (const f of FORMATS) {
    const file = path.join(dir, `policies-${R}-${seed}.${f}.yaml`);
    writeFileSync(file, texts.get(f) as string);
    for (const impl of ['yaml-parse', 'meshrange']) {
      const args = self.endsWith('.ts') ? ['--import', 'tsx', self] : [self];
      const t0 = performance.now();
      const c = spawnSync(process.execPath, [...args, '--child', impl, '--file', file], { encoding: 'utf8', maxBuffer: 1 << 20 });
      const wall = (performance.now() - t0) / 1000;
      const line = c.stdout.split('\n').find((l) => l.startsWith('{'));
      const res = line ? JSON.parse(line) as { ok: boolean; rss_mb: number } : null;
      if (!res) process.stderr.write(`B2-load-rss ${impl} ${f}: child failed (exit ${c.status}): ${c.stderr.trim().split('\n').slice(-3).join(' ')}\n`);
      emit({ bench: 'B2-load-rss', impl, params: { rules: R, format: f, bytes: (texts.get(f) as string).length }, seed, wall_s: wall, rate: null,
        rss_mb: res?.rss_mb ?? null, check: res?.ok ?? false, info: { what: 'peak RSS of a process that reads the file and loads it (child process; Node itself included)' } });
    }
  }
}
