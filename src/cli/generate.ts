/**
 * `meshrange generate --workloads N [--namespaces M] [--seed S] [--profile open|strict|segmented] --out DIR [--force]`
 * (issue 13 item 2): writes a seeded mesh (src/generate) to DIR. The files are
 * first written to a fresh temporary folder beside DIR, then renamed into
 * place in one step: a failure leaves DIR as it was. A DIR that exists and is
 * not empty is refused unless --force (which replaces it whole). Ctrl-C (or
 * SIGTERM) while the files are written stops between two files, removes what
 * was written and exits 130 (143): DIR is as it was, no staging folder is left.
 */
import type { Command } from 'commander';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { IssueList } from '../core/issues.js';
import { renderTopology } from '../generate/manifests.js';
import { generateTopology, MAX_WORKLOADS, MIN_WORKLOADS, optionsProblem, PROFILES, type GenerateOptions, type Profile } from '../generate/topology.js';
import { EXIT_BAD_INPUT, EXIT_OK, printIssues, type Io } from './main.js';
import { displayPath, fsErrorText, kindOf } from './fs.js';

export interface GenerateCliOpts {
  workloads?: string;
  namespaces?: string;
  seed?: string;
  profile?: string;
  out?: string;
  force?: boolean;
}

/** What generate writes at the top of --out; --force replaces a folder only when it holds this and nothing else of the user's. */
const MANIFEST_FILE = 'meshrange-generate.json';
const GENERATED_TOP = new Set([MANIFEST_FILE, 'README.md', 'callgraph.json', 'manifests']);

/** A file generate writes under manifests/: the mesh-wide one, and one per team namespace (renderTopology). */
const GENERATED_MANIFEST = /^(?:00-mesh|team-\d{1,6})\.yaml$/;

/**
 * The folder holds what generate wrote and nothing else: its top-level names, and under manifests/ only regular files
 * named as generate names them — a policy, an overlay folder or a kustomization a user added there is theirs, and
 * --force must not delete it with the rest.
 */
/** Where `p` leads when it is a symbolic link (to something missing: the caller has seen stat fail), else null. */
function danglingLink(p: string): string | null {
  try { return lstatSync(p).isSymbolicLink() ? readlinkSync(p) : null; } catch { return null; }
}

function isGenerateOutput(dir: string): boolean {
  const names = readdirSync(dir);
  if (!names.includes(MANIFEST_FILE) || !names.every((n) => GENERATED_TOP.has(n))) return false;
  if (!names.includes('manifests')) return true;
  const m = path.join(dir, 'manifests');
  const st = lstatSync(m);
  if (!st.isDirectory()) return false;
  return readdirSync(m).every((n) => GENERATED_MANIFEST.test(n) && lstatSync(path.join(m, n)).isFile());
}

export function registerGenerate(program: Command, io: Io, done: (code: number) => void): void {
  program.command('generate')
    .description(`write a seeded mesh of ${MIN_WORKLOADS}..${MAX_WORKLOADS} workloads (manifests, call graph, planted misconfigurations) to a folder`)
    .requiredOption('--workloads <n>', `how many workloads (${MIN_WORKLOADS}..${MAX_WORKLOADS})`)
    .option('--namespaces <m>', 'how many team namespaces (default: workloads / 20)')
    .option('--seed <s>', 'seed: the same seed writes the same bytes', '1')
    .option('--profile <profile>', `${PROFILES.join(' | ')}`, 'strict')
    .requiredOption('--out <dir>', 'the folder to write (created; must be empty unless --force)')
    .option('--force', 'replace an earlier generate output (a folder holding only what generate wrote); never any other folder')
    .action(async (opts: GenerateCliOpts) => {
      // Ctrl-C or SIGTERM while the files are written: generateCommand stops between two files and cleans up.
      const ac = new AbortController();
      let signal: NodeJS.Signals | null = null;
      const stop = (s: NodeJS.Signals): void => { signal ??= s; ac.abort(); };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        const code = await generateCommand(opts, io, ac.signal);
        done(code === EXIT_INTERRUPTED && signal === 'SIGTERM' ? 128 + 15 : code);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}

function whole(name: string, v: string | undefined, issues: IssueList): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,10}$/.test(v)) { issues.error('bad-usage', `--${name} ${v}: expected a whole number`, undefined, '`meshrange generate --help` gives each option\'s range'); return undefined; }
  return Number(v);
}

/** The exit code of a generate stopped by Ctrl-C (128 + SIGINT, as a shell reports it); SIGTERM gives 143. */
export const EXIT_INTERRUPTED = 130;
/** Files written between two looks at the abort signal. */
const WRITE_BATCH = 32;

class Interrupted extends Error {}

/**
 * `meshrange generate`. `signal` (the command's Ctrl-C / SIGTERM) is looked at between files: once aborted, what was
 * written is removed and EXIT_INTERRUPTED is returned, with DIR as it was.
 */
export async function generateCommand(opts: GenerateCliOpts, io: Io, signal?: AbortSignal): Promise<number> {
  const issues = new IssueList();
  const workloads = whole('workloads', opts.workloads, issues);
  const namespaces = whole('namespaces', opts.namespaces, issues);
  const seed = whole('seed', opts.seed, issues);
  const profile = opts.profile ?? 'strict';
  if (!PROFILES.includes(profile as Profile)) issues.error('bad-usage', `--profile ${profile}: expected one of ${PROFILES.join(', ')}`, undefined, `e.g. --profile ${PROFILES[0] ?? 'strict'}`);
  if (!opts.out) issues.error('bad-usage', '--out is required', undefined, 'name the folder to write, e.g. --out meshes/generated');
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  const go: GenerateOptions = { workloads: workloads as number, profile: profile as Profile };
  if (namespaces !== undefined) go.namespaces = namespaces;
  if (seed !== undefined) go.seed = seed;
  const problem = optionsProblem(go);
  if (problem) { issues.error('bad-usage', problem, undefined, '`meshrange generate --help` gives each option\'s range'); printIssues(io, issues.errors); return EXIT_BAD_INPUT; }

  // a link to a folder is the folder it leads to (written into when empty; replaced, with --force, as that folder)
  let out = path.resolve(opts.out as string);
  try { if (lstatSync(out).isSymbolicLink() && statSync(out).isDirectory()) out = realpathSync(out); } catch { /* missing, or a dangling link: said below */ }
  let existing = false;
  let emptyFolder = false;
  try {
    const st = statSync(out);
    if (!st.isDirectory()) issues.error('not-a-folder', `--out ${displayPath(out)} is ${kindOf(st)}, not a folder`, undefined, 'name a new or empty folder');
    else if (readdirSync(out).length === 0) emptyFolder = true;
    else {
      if (!opts.force) issues.error('out-not-empty', `--out ${displayPath(out)} is not empty`, undefined, 'name a new or empty folder, or pass --force to replace an earlier meshrange generate output');
      else if (!isGenerateOutput(out)) {
        // --force replaces only what generate wrote: never the working folder, a checkout or a home folder by a slip.
        issues.error('out-not-generated', `--out ${displayPath(out)} is not a folder meshrange generate wrote (no ${MANIFEST_FILE}, or other files beside its own), so --force will not replace it`,
          undefined, 'name a new or empty folder; --force only replaces an earlier generate output');
      }
      existing = true;
    }
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    // --out is where generate writes: say what stands in the way of writing there, not that it "cannot be read"
    if (code === 'ENOTDIR') issues.error('not-a-folder', `--out ${displayPath(out)}: a part of that path is a file, not a folder`, undefined, 'name a folder whose parents are folders (or do not exist yet)');
    else if (code !== 'ENOENT') issues.error('file-unreadable', `--out ${displayPath(out)} cannot be looked at: ${fsErrorText(e)}`, undefined, 'name a new or empty folder you can write to');
    else if (danglingLink(out) !== null) {
      // a link to nothing: writing would replace the link, or fail on it; neither is what was asked
      issues.error('not-a-folder', `--out ${displayPath(out)} is a symbolic link to ${displayPath(danglingLink(out) as string)}, which does not exist`, undefined,
        'create the folder it points to, remove the link, or name a new folder');
    }
  }
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }

  const topo = generateTopology(go);
  const files = renderTopology(topo);
  if (emptyFolder) {
    // An existing empty folder (a mount point, one with its own owner and mode, the target of a link) is written into,
    // not replaced; on a failure what was written is removed, leaving it empty as it was.
    try {
      await writeFiles(out, files, signal);
    } catch (e) {
      for (const n of readdirSync(out)) rmSync(path.join(out, n), { recursive: true, force: true });
      if (e instanceof Interrupted) return interrupted(io, out);
      issues.error('write-failed', `cannot write ${displayPath(out)}: ${fsErrorText(e)}`, undefined, 'check the folder is writable and the disk has room; nothing was changed');
      printIssues(io, issues.errors);
      return EXIT_BAD_INPUT;
    }
    return wrote(io, opts.out as string, topo, files.length);
  }
  const parent = path.dirname(out);
  let tmp: string | null = null;
  let old: string | null = null;
  try {
    mkdirSync(parent, { recursive: true });
    tmp = mkdtempSync(path.join(parent, `.${path.basename(out)}.generate-`));
    chmodSync(tmp, 0o755); // mkdtemp makes it private; the result is an ordinary folder
    await writeFiles(tmp, files, signal);
    if (existing) {
      old = `${tmp}.old`;
      renameSync(out, old);
    }
    renameSync(tmp, out);
    tmp = null;
    if (old) { rmSync(old, { recursive: true, force: true }); old = null; }
  } catch (e) {
    if (old) { try { renameSync(old, out); } catch { /* keep the old copy where it is, named below */ } }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (e instanceof Interrupted) return interrupted(io, out);
    issues.error('write-failed', `cannot write ${displayPath(out)}: ${fsErrorText(e)}`, undefined, 'check the folder is writable and the disk has room; nothing was changed');
    printIssues(io, issues.errors);
    return EXIT_BAD_INPUT;
  }
  return wrote(io, opts.out as string, topo, files.length);
}

/** Writes the files under dir; between batches, gives signal handlers their turn and throws Interrupted once `signal` is aborted. */
async function writeFiles(dir: string, files: readonly { path: string; text: string }[], signal: AbortSignal | undefined): Promise<void> {
  for (let i = 0; i < files.length; i++) {
    if (signal !== undefined && i % WRITE_BATCH === 0) {
      if (i > 0) await new Promise<void>((resolve) => { setImmediate(resolve); });
      if (signal.aborted) throw new Interrupted();
    }
    const f = files[i] as { path: string; text: string };
    const p = path.join(dir, ...f.path.split('/'));
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, f.text);
  }
  // a Ctrl-C during the last batch is seen before the files are put in place
  if (signal !== undefined) {
    await new Promise<void>((resolve) => { setImmediate(resolve); });
    if (signal.aborted) throw new Interrupted();
  }
}

function interrupted(io: Io, out: string): number {
  io.err(`meshrange generate: interrupted; nothing was written, ${displayPath(out)} is as it was\n`);
  return EXIT_INTERRUPTED;
}

/** The summary line, naming --out as the user wrote it (a link, not the folder it leads to). */
function wrote(io: Io, out: string, topo: ReturnType<typeof generateTopology>, count: number): number {
  const edges = topo.callees.reduce((s, c) => s + c.length, 0);
  io.out(`wrote ${displayPath(path.resolve(out))}: ${topo.n} workloads in ${topo.namespaces.length} namespaces, ${edges} calls, profile ${topo.profile}, seed ${topo.seed}; `
    + `${count} files; planted: ${topo.planted.map((p) => p.kind).join(', ')} (see README.md)\n`);
  return EXIT_OK;
}
