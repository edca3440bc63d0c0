import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ReachabilityExplorer } from '../../src/analysis/reachability.js';
import { EXIT_INTERRUPTED, generateCommand } from '../../src/cli/generate.js';
import { renderTopology, toYaml } from '../../src/generate/manifests.js';
import { generateTopology, optionsProblem, plainAllows, workloadId, type Profile } from '../../src/generate/topology.js';
import { lint } from '../../src/lint/index.js';
import { loadMesh } from '../../src/loader/load.js';
import { cli } from '../cli/harness.js';

const load = (files: { path: string; text: string }[]) => loadMesh(files.filter((f) => f.path.endsWith('.yaml')));

describe('meshrange generate: the topology', () => {
  it('the same options give byte-identical files; another seed gives other files', () => {
    const a = renderTopology(generateTopology({ workloads: 300, seed: 7, profile: 'segmented' }));
    const b = renderTopology(generateTopology({ workloads: 300, seed: 7, profile: 'segmented' }));
    const c = renderTopology(generateTopology({ workloads: 300, seed: 8, profile: 'segmented' }));
    expect(b).toEqual(a);
    expect(c.map((f) => f.text).join('')).not.toEqual(a.map((f) => f.text).join(''));
  });

  it('sizes are bounded: 100..100,000 workloads, 1..min(N, 10,000) namespaces, a 31-bit seed', () => {
    expect(optionsProblem({ workloads: 99 })).toMatch(/100 to 100000/);
    expect(optionsProblem({ workloads: 100_001 })).toMatch(/100 to 100000/);
    expect(optionsProblem({ workloads: 100.5 })).not.toBeNull();
    expect(optionsProblem({ workloads: 100, namespaces: 0 })).toMatch(/namespaces/);
    expect(optionsProblem({ workloads: 100, namespaces: 101 })).toMatch(/namespaces/);
    expect(optionsProblem({ workloads: 100, seed: 2 ** 31 })).toMatch(/seed/);
    expect(optionsProblem({ workloads: 100_000, namespaces: 10_000, seed: 0 })).toBeNull();
    expect(() => generateTopology({ workloads: 50 })).toThrow(RangeError);
  });

  it('N workloads in N/20 team namespaces by default, front/mid/data tiers, every call from front or mid, no self-call', () => {
    const t = generateTopology({ workloads: 1000, seed: 3 });
    expect(t.n).toBe(1000);
    expect(t.namespaces).toHaveLength(50);
    expect([...t.tier].filter((x) => x === 0)).toHaveLength(100);
    for (let i = 0; i < t.n; i++) {
      for (const c of t.callees[i] as Int32Array) {
        expect(c).not.toBe(i);
        expect(t.tier[i]).not.toBe(2);
        expect(t.tier[c]).toBeGreaterThan(0);
      }
    }
    // power-law-ish in-degree: the most called workload has many times the mean number of callers
    const inDeg = t.callers.map((c) => c.length);
    const mean = inDeg.reduce((a, b) => a + b, 0) / t.n;
    expect(Math.max(...inDeg)).toBeGreaterThan(5 * mean);
  });

  it.each(['open', 'strict', 'segmented'] as Profile[])('the %s mesh loads with no error; the only warning is the planted policy that selects nothing', (profile) => {
    const { mesh, issues } = load(renderTopology(generateTopology({ workloads: 200, seed: 2, profile })));
    expect(issues.errors).toEqual([]);
    expect(mesh.workloads).toHaveLength(200);
    expect(issues.warnings.map((w) => w.code)).toEqual(['IST0127']);
    expect(issues.warnings[0]?.message).toContain('deny-legacy-batch');
  });

  it('the planted misconfigurations are in the manifests and listed in meshrange-generate.json and the README', () => {
    const t = generateTopology({ workloads: 200, seed: 5, profile: 'strict' });
    const files = renderTopology(t);
    const { mesh } = load(files);
    const summary = JSON.parse(files.find((f) => f.path === 'meshrange-generate.json')?.text ?? '') as { planted: { kind: string; namespace: string }[] };
    expect(summary.planted.map((p) => p.kind)).toEqual(['permissive-namespace', 'over-broad-allow', 'policy-selects-nothing']);
    const permissive = t.namespaces[t.permissiveNs] as string;
    expect(mesh.peerAuthentications.some((p) => p.meta.namespace === permissive && p.mode === "PERMISSIVE")).toBe(true);
    const over = mesh.authorizationPolicies.find((p) => p.meta.name === `${workloadId(t, t.overBroad).split('/')[1]}-allow`);
    expect(over?.rules?.some((r) => !r.from || r.from.length === 0)).toBe(true);
    expect(mesh.authorizationPolicies.some((p) => p.meta.name === "deny-legacy-batch")).toBe(true);
    const readme = files.find((f) => f.path === 'README.md')?.text ?? '';
    for (const p of t.planted) expect(readme).toContain(p.kind);
    // lint finds each planted problem under its code, on the planted resource
    const found = lint(mesh).findings;
    const codeOf = new Map([['permissive-namespace', 'MR0101'], ['over-broad-allow', 'MR0119'], ['policy-selects-nothing', 'MR0102']]);
    for (const p of t.planted) expect(found.some((f) => f.code === codeOf.get(p.kind) && f.resource.includes(p.namespace)), `${p.kind} (${p.resource})`).toBe(true);
    expect(found.filter((f) => f.code === 'MR0119').map((f) => f.resource)).toEqual([t.planted.find((p) => p.kind === 'over-broad-allow')?.resource]);
  });

  it.each(['open', 'strict', 'segmented'] as Profile[])('%s: from sampled sources, the policy engine allows exactly the call-graph edges (and the over-broad workload)', (profile) => {
    const t = generateTopology({ workloads: 200, namespaces: 8, seed: 11, profile });
    const { mesh } = load(renderTopology(t));
    const ex = new ReachabilityExplorer(mesh, { edges: 'allowed' });
    const idx = new Map(Array.from({ length: t.n }, (_, i) => [workloadId(t, i), i]));
    let edgesSeen = 0;
    for (const s of [0, 1, 2, 5, 10, 21, 33, 47, 150, 199]) {
      const got = new Set(ex.hopFrom(workloadId(t, s)).map((e) => idx.get(e.deliveredTo ?? e.to) as number));
      const want = new Set(Array.from({ length: t.n }, (_, d) => d).filter((d) => plainAllows(t, s, d)));
      expect([...got].sort((a, b) => a - b)).toEqual([...want].sort((a, b) => a - b));
      for (const c of t.callees[s] as Int32Array) { expect(got.has(c)).toBe(true); edgesSeen++; }
    }
    expect(edgesSeen).toBeGreaterThan(5);
  }, 60_000);

  it('the YAML writer gives the documents the yaml package reads back', () => {
    const docs = [{ a: 'x', b: [1, 'two words', { c: 'yes', d: [] }, []], e: {}, f: { g: ['8080'], h: 'cluster.local/ns/a/sa/b' } }, { k: 'null', l: true }];
    expect(parseAllDocuments(toYaml(docs)).map((d) => d.toJSON())).toEqual(docs);
    const file = renderTopology(generateTopology({ workloads: 100 })).find((f) => f.path === 'manifests/team-0.yaml')?.text ?? '';
    expect(parseAllDocuments(file).every((d) => d.errors.length === 0)).toBe(true);
  });
});

describe('meshrange generate: the command', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mr-generate-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes the folder, and the same command writes the same bytes', async () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    const r = await cli('generate', '--workloads', '120', '--seed', '4', '--profile', 'open', '--out', a);
    expect(r.code).toBe(0);
    expect(r.out).toContain('120 workloads');
    expect((await cli('generate', '--workloads', '120', '--seed', '4', '--profile', 'open', '--out', b)).code).toBe(0);
    const list = (d: string): string[] => readdirSync(d, { recursive: true }).map(String).sort();
    expect(list(a)).toEqual(list(b));
    expect(list(a)).toContain(path.join('manifests', '00-mesh.yaml'));
    for (const f of list(a).filter((x) => x.includes('.'))) expect(readFileSync(path.join(b, f), 'utf8')).toBe(readFileSync(path.join(a, f), 'utf8'));
  });

  it('refuses a folder that is not empty (exit 2, untouched); --force replaces an earlier generate output whole', async () => {
    const d = path.join(tmp, 'full');
    expect((await cli('generate', '--workloads', '100', '--out', d)).code).toBe(0);
    const r = await cli('generate', '--workloads', '100', '--seed', '2', '--out', d);
    expect(r.code).toBe(2);
    expect(r.err).toContain('not empty');
    expect((await cli('generate', '--workloads', '100', '--seed', '2', '--out', d, '--force')).code).toBe(0);
    expect(readFileSync(path.join(d, 'meshrange-generate.json'), 'utf8')).toContain('"seed": 2');
    expect(readdirSync(tmp).filter((x) => x.startsWith('.'))).toEqual([]);
  });

  it('--force never replaces a folder generate did not write (a checkout, the working folder): exit 2, untouched', async () => {
    const d = path.join(tmp, 'mine');
    mkdirSync(d);
    writeFileSync(path.join(d, 'keep.txt'), 'mine');
    const r = await cli('generate', '--workloads', '100', '--out', d, '--force');
    expect(r.code).toBe(2);
    expect(r.err).toContain('not a folder meshrange generate wrote');
    expect(readdirSync(d)).toEqual(['keep.txt']);
    // an earlier output with a file of the user's added beside it is not replaced either
    const g = path.join(tmp, 'grown');
    expect((await cli('generate', '--workloads', '100', '--out', g)).code).toBe(0);
    writeFileSync(path.join(g, 'notes.txt'), 'mine');
    expect((await cli('generate', '--workloads', '100', '--out', g, '--force')).code).toBe(2);
    expect(readFileSync(path.join(g, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('--force never replaces an output the user added to inside manifests/ (a policy of theirs, an overlay folder): exit 2, untouched', async () => {
    for (const [name, add] of [['own-policy', 'manifests/zz-my-policy.yaml'], ['overlay', 'manifests/overlays/kustomization.yaml']] as const) {
      const g = path.join(tmp, name);
      expect((await cli('generate', '--workloads', '100', '--out', g)).code).toBe(0);
      mkdirSync(path.dirname(path.join(g, add)), { recursive: true });
      writeFileSync(path.join(g, add), 'mine');
      const r = await cli('generate', '--workloads', '100', '--out', g, '--force');
      expect(r.code, name).toBe(2);
      expect(r.err).toContain('not a folder meshrange generate wrote');
      expect(readFileSync(path.join(g, add), 'utf8')).toBe('mine');
    }
  });

  it('--out under a file is not-a-folder (a part of the path is a file), not "cannot be read"; nothing written', async () => {
    const f = path.join(tmp, 'plain.txt');
    writeFileSync(f, 'x');
    const r = await cli('generate', '--workloads', '100', '--out', path.join(f, 'sub'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('[not-a-folder]');
    expect(r.err).toContain('a part of that path is a file, not a folder');
    expect(readFileSync(f, 'utf8')).toBe('x');
  });

  it('--out naming a link to an empty folder writes into that folder; the link stays a link', async () => {
    const target = path.join(tmp, 'link-target');
    mkdirSync(target);
    const link = path.join(tmp, 'link');
    symlinkSync(target, link);
    const before = statSync(target).ino;
    const r = await cli('generate', '--workloads', '100', '--out', link);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^wrote .*link: /);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readdirSync(target)).toContain('meshrange-generate.json');
    // written into, not replaced: the same folder (its owner, mode, a mount point stay)
    expect(statSync(target).ino).toBe(before);
  });

  it('interrupted while writing (Ctrl-C): what was written is removed, no staging folder is left, exit 130', async () => {
    const io = { out: (): void => {}, err: (s: string): void => { err += s; } };
    let err = '';
    // a new folder: nothing is left beside it
    const fresh = path.join(tmp, 'stopped');
    let ac = new AbortController();
    let run = generateCommand({ workloads: '2000', out: fresh }, io, ac.signal);
    ac.abort(); // generateCommand runs up to its first look at the signal, after the first files were written
    expect(await run).toBe(EXIT_INTERRUPTED);
    expect(err).toContain('interrupted; nothing was written');
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(tmp).filter((x) => x.startsWith('.stopped'))).toEqual([]);
    // an earlier output replaced with --force: kept as it was
    const kept = path.join(tmp, 'kept');
    expect((await cli('generate', '--workloads', '100', '--out', kept)).code).toBe(0);
    const before = readFileSync(path.join(kept, 'meshrange-generate.json'), 'utf8');
    ac = new AbortController();
    run = generateCommand({ workloads: '2000', seed: '9', out: kept, force: true }, io, ac.signal);
    ac.abort();
    expect(await run).toBe(EXIT_INTERRUPTED);
    expect(readFileSync(path.join(kept, 'meshrange-generate.json'), 'utf8')).toBe(before);
    expect(readdirSync(tmp).filter((x) => x.startsWith('.kept'))).toEqual([]);
    // a Ctrl-C during the last batch (a mesh of fewer files than one batch): still nothing is put in place
    const small = path.join(tmp, 'small-stopped');
    ac = new AbortController();
    run = generateCommand({ workloads: '100', out: small }, io, ac.signal);
    ac.abort(); // after every file was written (fewer than one batch), before they are put in place
    expect(await run).toBe(EXIT_INTERRUPTED);
    expect(existsSync(small)).toBe(false);
    // an existing empty folder: left empty
    const empty = path.join(tmp, 'empty-stopped');
    mkdirSync(empty);
    ac = new AbortController();
    run = generateCommand({ workloads: '2000', out: empty }, io, ac.signal);
    ac.abort();
    expect(await run).toBe(EXIT_INTERRUPTED);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('the command stops on a real SIGINT while it writes: exit 130, no staging folder, --out not created', async () => {
    const out = path.join(tmp, 'signalled');
    const child = spawn(process.execPath, [path.join(process.cwd(), 'bin', 'meshrange.js'), 'generate', '--workloads', '40000', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code); }); });
    // the staging folder appears once the files are being written (the handler is in place by then)
    const started = Date.now();
    while (!readdirSync(tmp).some((x) => x.startsWith('.signalled.generate-')) && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(err).toContain('interrupted; nothing was written');
    expect(readdirSync(tmp).filter((x) => x.startsWith('.signalled'))).toEqual([]);
    expect(existsSync(out)).toBe(false);
  }, 90_000);

  it('--out naming a link to nothing says so (exit 2): the link stays, nothing is written where it points', async () => {
    const link = path.join(tmp, 'dangling');
    const target = path.join(tmp, 'nowhere', 'dir');
    symlinkSync(target, link);
    const r = await cli('generate', '--workloads', '100', '--out', link);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[not-a-folder] --out ${link} is a symbolic link to ${target}, which does not exist`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(existsSync(path.join(tmp, 'nowhere'))).toBe(false);
    expect(readdirSync(tmp).filter((n) => n.startsWith('.dangling.generate-'))).toEqual([]);
  });

  it('--out naming a regular file says so (exit 2, the file untouched)', async () => {
    const f = path.join(tmp, 'afile');
    writeFileSync(f, 'mine');
    const r = await cli('generate', '--workloads', '100', '--out', f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--out ${f} is a regular file, not a folder`);
    expect(readFileSync(f, 'utf8')).toBe('mine');
  });

  it.each([['--workloads', '99'], ['--workloads', '100001'], ['--workloads', '1e3'], ['--workloads', '100', '--profile', 'wide'], ['--workloads', '100', '--namespaces', '0']])(
    'bad options %s %s exit 2 and write nothing', async (...args) => {
      const d = path.join(tmp, `bad-${args.join('')}`);
      const r = await cli('generate', ...args, '--out', d);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^meshrange: --/);
      expect(() => readdirSync(d)).toThrow();
    });
});
