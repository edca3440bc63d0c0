/**
 * A git commit of the local repository as a SourceReader (api/source.ts), for
 * `assess --before <ref> --after <ref>`: the same paths, read at that commit.
 * No network: `git rev-parse`, `git ls-tree` and `git cat-file` on the local
 * object store only, through child_process without a shell (a partial clone,
 * whose git would fetch what it lacks, is refused; GIT_NO_LAZY_FETCH is set).
 *
 * Rules:
 *  - A ref is validated before git sees it: not empty, no leading `-` (it
 *    would be read as an option), no control characters, no `..`-range or
 *    `:path` syntax, at most 256 characters; then resolved with
 *    `git rev-parse --verify --end-of-options <ref>^{commit}` to one commit.
 *  - Paths are named as in the working tree (relative to the working
 *    directory, or absolute) and must lie inside the repository; each is read
 *    at the commit. The tree is listed once (`ls-tree -r -l -z`), so a missing
 *    path, a folder and a file's size are known before anything is read.
 *  - The limits of the file system reader hold: a file over MAX_FILE_BYTES, a
 *    binary file (NUL bytes), a folder over the manifest byte budget are
 *    refused with a located error; a symbolic link or a submodule in the tree
 *    is an error naming it (never followed).
 *  - Shown paths are the working-tree paths (relative to the working
 *    directory), so locations point at the files a reviewer opens.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { IssueList, Location } from '../core/issues.js';
import type { SourceFile } from '../loader/load.js';
import type { ByteBudget, SourceReader } from '../api/source.js';
import { displayPath, isWithin, MAX_FILE_BYTES, realDeepest, utf16, utf8Text } from './fs.js';
import { grouped } from '../core/text.js';

/** Entries of a commit's tree listed at most (a larger repository is refused). */
export const MAX_TREE_ENTRIES = 1_000_000;
const MAX_REF_LENGTH = 256;

export class GitError extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

interface TreeEntry {
  mode: string;
  type: string;
  sha: string;
  size: number;
}

/** Bytes of `ls-tree` output read at most: about MAX_TREE_ENTRIES entries of ~100 bytes, with room for long paths. */
const MAX_LISTING_BYTES = 256 * 1024 * 1024;

function git(repo: string, args: readonly string[], maxBuffer = 64 * 1024 * 1024): Buffer {
  // GIT_NO_LAZY_FETCH (git ≥ 2.44): a missing object is an error, never fetched from a promisor remote; older gits
  // ignore it, and a partial clone is refused before anything is read (GitSource.open)
  return execFileSync('git', ['-C', repo, ...args], { maxBuffer, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', GIT_NO_LAZY_FETCH: '1' } });
}

/** A setting of the repository (or, with options before it, every `key value` line they select), or '' when none is set. */
function gitConfig(repo: string, ...args: string[]): string {
  try {
    return git(repo, args.length === 1 ? ['config', '--get', args[0] as string] : ['config', ...args]).toString('utf8').trim();
  } catch {
    return '';
  }
}

function stderrOf(e: unknown): string {
  if ((e as { code?: unknown }).code === 'ENOBUFS') return 'its output is larger than meshrange reads';
  const s = (e as { stderr?: unknown }).stderr;
  const text = Buffer.isBuffer(s) ? s.toString('utf8') : typeof s === 'string' ? s : e instanceof Error ? e.message : String(e);
  return text.trim().split('\n')[0] ?? '';
}

/** Why a ref is refused before git sees it (null: it may be asked about). */
export function refProblem(ref: string): string | null {
  if (ref === '') return 'the ref is empty';
  if (ref.length > MAX_REF_LENGTH) return `the ref is longer than ${MAX_REF_LENGTH} characters`;
  if (ref.startsWith('-')) return 'a ref cannot start with "-" (git would read it as an option)';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\s]/.test(ref)) return 'a ref cannot hold spaces or control characters';
  if (ref.includes('..')) return 'a ref names one commit, not a range (..)';
  if (ref.includes(':')) return 'a ref names a commit, not a path in it (:)';
  return null;
}

/**
 * The top folder of the repository holding `dir`; null when `dir` is in no repository as far as anyone can tell (git
 * says "not a git repository", or there is no git at all). Throws GitError when git fails for another reason
 * (dubious ownership, a broken repository): then whether a name is a ref cannot be told.
 */
export function findRepository(dir: string): string | null {
  try {
    return git(dir, ['rev-parse', '--show-toplevel']).toString('utf8').trim();
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT' || /not a git repository/i.test(stderrOf(e))) return null;
    throw new GitError(`${displayPath(dir)} is a git repository git will not read (${stderrOf(e)})`,
      'fix the repository (git config --global --add safe.directory <dir> for dubious ownership), or give folders to --before / --after');
  }
}

/** The top folder of the repository holding `dir`. */
export function repoRoot(dir: string): string {
  try {
    return git(dir, ['rev-parse', '--show-toplevel']).toString('utf8').trim();
  } catch (e) {
    throw new GitError(`${displayPath(dir)} is not inside a git repository (${stderrOf(e)})`, 'run meshrange inside the repository, or pass --repo DIR; or give folders to --before / --after');
  }
}

/** The commit a validated ref names. */
export function resolveRef(repo: string, ref: string): string {
  const problem = refProblem(ref);
  if (problem) throw new GitError(`git ref ${JSON.stringify(ref)}: ${problem}`, 'give a branch, tag or commit (e.g. main, origin/main, HEAD~1, a1b2c3d), or an existing folder');
  try {
    const out = git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]).toString('utf8').trim();
    if (!/^[0-9a-f]{40,64}$/.test(out)) throw new Error(out);
    return out;
  } catch {
    throw new GitError(`${JSON.stringify(ref)} is neither a folder nor a commit of the repository at ${displayPath(repo)}`,
      'give an existing folder, or a branch, tag or commit of this repository (a remote branch must be fetched first: git fetch origin main)');
  }
}

export class GitSource implements SourceReader {
  private tree: Map<string, TreeEntry> | null = null;

  /** `repo`: the repository's top folder; `commit`: a resolved commit id; `ref`: as the user wrote it (for messages). */
  constructor(readonly repo: string, readonly commit: string, readonly ref: string) {}

  static open(repoDir: string, ref: string): GitSource {
    const root = repoRoot(repoDir);
    // A partial clone fetches the files it lacks from its remote on first read: network, and writes to the
    // repository. meshrange reads the local object store only. git records one as extensions.partialClone or as
    // remote.<name>.promisor = true (--type=bool: yes, on and 1 are true too).
    const promisor = gitConfig(root, 'extensions.partialClone')
      || gitConfig(root, '--type=bool', '--get-regexp', '^remote\\..*\\.promisor$').split('\n').find((l) => / true$/.test(l))?.split(' ')[0] || '';
    if (promisor !== '') {
      throw new GitError(`the repository at ${displayPath(root)} is a partial clone (${JSON.stringify(promisor.slice(0, 80))}): git would fetch the files it lacks from its remote, and meshrange reads the local object store only`,
        'run assess in a full clone (clone again without --filter; in GitHub Actions, checkout without filter: or sparse-checkout:), or give folders to --before / --after');
    }
    return new GitSource(root, resolveRef(root, ref), ref);
  }

  get label(): string {
    return `${this.ref} (${this.commit.slice(0, 12)})`;
  }

  private listing(): Map<string, TreeEntry> {
    if (this.tree) return this.tree;
    let out: string;
    try {
      out = git(this.repo, ['ls-tree', '-r', '-l', '-z', '--full-tree', this.commit], MAX_LISTING_BYTES).toString('utf8');
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOBUFS') {
        throw new GitError(`${this.label} has more files than meshrange lists (its tree listing is over ${MAX_LISTING_BYTES / 1048576} MiB; at most ${grouped(MAX_TREE_ENTRIES)} files)`, 'give folders to --before / --after instead');
      }
      throw new GitError(`the files of ${this.label} cannot be listed: ${stderrOf(e)}`, 'check the repository (git fsck), or give folders to --before / --after');
    }
    const tree = new Map<string, TreeEntry>();
    for (const rec of out.split('\0')) {
      if (rec === '') continue;
      const tab = rec.indexOf('\t');
      const [mode, type, sha, size] = rec.slice(0, tab).split(/ +/) as [string, string, string, string];
      tree.set(rec.slice(tab + 1), { mode, type, sha, size: size === '-' ? 0 : Number(size) });
      if (tree.size > MAX_TREE_ENTRIES) throw new GitError(`${this.label} has more than ${grouped(MAX_TREE_ENTRIES)} files`, 'give folders to --before / --after instead');
    }
    this.tree = tree;
    return tree;
  }

  /** The repository-relative path of a working-tree path, or null when it lies outside the repository. */
  private rel(p: string): string | null {
    const real = realDeepest(p);
    if (!isWithin(real, this.repo)) return null;
    return path.relative(this.repo, real).split(path.sep).join('/');
  }

  private where(p: string): string {
    return `${displayPath(p)} at ${this.label}`;
  }

  read(p: string, issues: IssueList, at?: Location): SourceFile | null {
    const rel = this.rel(p);
    if (rel === null) {
      issues.error('path-outside', `${displayPath(p)} is outside the repository ${displayPath(this.repo)}`, at, 'name files inside the repository');
      return null;
    }
    const e = this.listing().get(rel);
    if (!e) {
      const isDir = [...this.listing().keys()].some((k) => k.startsWith(`${rel}/`));
      issues.error(isDir ? 'not-a-file' : 'path-missing', isDir ? `${this.where(p)} is a folder, not a file` : `${this.where(p)} does not exist`, at,
        isDir ? 'name a file' : 'check the path, and that the commit has it');
      return null;
    }
    return this.blob(p, rel, e, issues, at);
  }

  private blob(p: string, rel: string, e: TreeEntry, issues: IssueList, at?: Location): SourceFile | null {
    if (e.mode === '120000') {
      issues.error('path-link', `${this.where(p)} is a symbolic link; meshrange does not follow links inside a commit`, at, 'name the file it points to');
      return null;
    }
    if (e.type !== 'blob') {
      issues.error('not-a-file', `${this.where(p)} is a ${e.type === 'commit' ? 'submodule' : e.type}, not a file`, at, 'name a YAML file or a folder of them');
      return null;
    }
    if (e.size > MAX_FILE_BYTES) {
      issues.error('file-too-large', `${this.where(p)} is ${(e.size / 1048576).toFixed(1)} MiB; meshrange reads at most ${MAX_FILE_BYTES / 1048576} MiB per file`,
        { file: displayPath(p), line: 1, col: 1 }, 'split the file, or check that it is the manifest you meant');
      return null;
    }
    let buf: Buffer;
    try {
      buf = git(this.repo, ['cat-file', 'blob', e.sha], MAX_FILE_BYTES + 1024);
    } catch (err) {
      issues.error('file-unreadable', `${this.where(p)} cannot be read: ${stderrOf(err)}`, at, 'check the repository (git fsck)');
      return null;
    }
    if (buf.includes(0) && !utf16(buf)) {
      issues.error('binary-file', `${this.where(p)} is binary (contains NUL bytes), not YAML`, { file: displayPath(p), line: 1, col: 1 }, 'point meshrange at Kubernetes/Istio YAML files only');
      return null;
    }
    void rel;
    const text = utf8Text(buf, displayPath(p), issues);
    return text === null ? null : { path: displayPath(p), text };
  }

  manifests(p: string, issues: IssueList, at?: Location, budget?: ByteBudget): SourceFile[] {
    const rel = this.rel(p);
    if (rel === null) {
      issues.error('path-outside', `${displayPath(p)} is outside the repository ${displayPath(this.repo)}`, at, 'name manifests inside the repository');
      return [];
    }
    const tree = this.listing();
    const own = tree.get(rel);
    let names: string[];
    if (own) names = [rel];
    else {
      const prefix = rel === '' ? '' : `${rel}/`;
      names = [...tree.keys()].filter((k) => k.startsWith(prefix) && /\.ya?ml$/i.test(k)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (names.length === 0) {
        const any = [...tree.keys()].some((k) => k.startsWith(prefix));
        issues.error(any ? 'no-manifests' : 'path-missing', any ? `${this.where(p)} holds no *.yaml or *.yml files` : `${this.where(p)} does not exist`, at,
          any ? 'point at a folder of Kubernetes/Istio manifests' : 'check the path, and that the commit has it');
        return [];
      }
    }
    if (budget) {
      const total = names.reduce((n, k) => n + (tree.get(k)?.size ?? 0), 0);
      if (!budget.take(total)) {
        const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
        issues.error('manifests-too-large', `${this.where(p)} holds ${mib(total)} of manifests in ${names.length} files; with the ${mib(budget.used)} already read, that is more than the ${mib(budget.limit)} of manifests meshrange reads at once`,
          at, budget.hint());
        return [];
      }
    }
    const out: SourceFile[] = [];
    for (const k of names) {
      const f = this.blob(path.join(this.repo, k), k, tree.get(k) as TreeEntry, issues, at);
      if (f) out.push(f);
    }
    return out;
  }

  forScenario(): SourceReader {
    return this;
  }

  resolve(file: string, rel: string): string {
    return path.resolve(path.dirname(file), rel);
  }
}
