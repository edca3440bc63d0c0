/**
 * The only code that touches the file system. Reads inputs with limits
 * (size, binary, links resolved) and enforces the path sandbox of product.md
 * §5: a scenario reads files only under the working directory — or its own
 * folder when it lies outside — plus any `--allow-path`.
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, opendirSync, openSync, readdirSync, readSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { IssueList, Location } from '../core/issues.js';
import type { SourceFile } from '../loader/load.js';
import { registerReader, type ByteBudget, type PortableReader, type SourceReader } from '../api/source.js';

export const MAX_FILE_BYTES = 8 * 1024 * 1024;

export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return (rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p).split(path.sep).join('/');
}

/**
 * A path a scenario names, as it wrote it: relative to the scenario file's folder (`../missing-dir`, not the
 * `missing-dir` it is from the current folder), so the message quotes what the located line says.
 */
function asWrittenIn(at: Location, abs: string): string {
  const rel = path.relative(path.dirname(path.resolve(at.file)), abs);
  return rel === '' || path.isAbsolute(rel) ? displayPath(abs) : rel.split(path.sep).join('/');
}

/** The real path (links resolved) of an existing path; the absolute path when it cannot be resolved. */
export function realOrAbsolute(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * The real path of `p` even when its last parts do not exist (a file only a git ref has): the deepest existing
 * ancestor resolved through its links, with the rest appended. So a path given through a linked folder compares
 * equal to the real one (`/var` → `/private/var`, a CI workspace under a link).
 */
export function realDeepest(p: string): string {
  let head = path.resolve(p);
  const tail: string[] = [];
  for (let i = 0; i < 4096; i++) {
    try {
      return path.join(realpathSync(head), ...tail);
    } catch {
      const up = path.dirname(head);
      if (up === head) break;
      tail.unshift(path.basename(head));
      head = up;
    }
  }
  return path.resolve(p);
}

export function isWithin(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** What to do about a path outside a scenario's folders (the CLI's run, tui, assess). */
const OUTSIDE_FIX = 'move the file under the working directory, or pass --allow-path <dir> if you trust this scenario';

export class Sandbox {
  /** `outsideFix`: what to do about a path outside the roots, in the words of who made them (an exercise pack's are its own folder and the trainee's) */
  constructor(readonly roots: string[], readonly outsideFix: string = OUTSIDE_FIX) {}

  static forCwd(allow: readonly string[]): Sandbox {
    return new Sandbox([realpathSync(process.cwd()), ...allow.filter((a) => existsSync(a)).map((a) => realpathSync(a))]);
  }

  /** The roots a given scenario may read from. */
  forScenario(scenarioFile: string): Sandbox {
    const real = realOrAbsolute(scenarioFile); // a missing file is reported when read (path-missing), not thrown here
    if (this.roots.some((r) => isWithin(real, r))) return this;
    return new Sandbox([...this.roots, path.dirname(real)], this.outsideFix);
  }

  /** True when a real (links resolved) path lies under one of the roots. */
  contains(real: string): boolean {
    return this.roots.some((r) => isWithin(real, r));
  }

  check(p: string, issues: IssueList, at: Location | undefined): string | null {
    // Judge the place before the existence, so a stranger's scenario cannot probe which files exist outside.
    const abs = path.resolve(p);
    const outside = (): null => {
      issues.error('path-outside', `${displayPath(p)} is outside the allowed folders (${this.roots.map(displayPath).join(', ')})`, at, this.outsideFix);
      return null;
    };
    let real: string;
    try {
      real = realpathSync(p);
    } catch (e) {
      if (!this.contains(abs)) return outside();
      const code = codeOf(e);
      if (code === 'ELOOP') issues.error('path-loop', `${displayPath(p)} is a symbolic link loop`, at, 'point at the file itself');
      else if (code === 'ENOENT' || code === 'ENOTDIR') {
        // a path a scenario names is located in it; one given on the command line is not
        issues.error('path-missing', `${at ? asWrittenIn(at, abs) : displayPath(p)} does not exist`, at,
          at ? 'check the path (paths in a scenario are relative to the scenario file)' : 'check the path (a path on the command line is relative to the current folder)');
      }
      else issues.error('file-unreadable', `${displayPath(p)} cannot be read: ${fsErrorText(e)}`, at, 'check the permissions of the path');
      return null;
    }
    if (!this.contains(real)) return outside();
    return real;
  }
}

/** What a file system error means, in words (the code too, for a search engine). */
export function fsErrorText(e: unknown): string {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  const words: Record<string, string> = {
    EACCES: 'permission denied', EPERM: 'operation not permitted', ELOOP: 'a symbolic link loop', ENOENT: 'no such file or folder',
    ENOTDIR: 'a part of the path is not a folder', EISDIR: 'it is a folder', ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded', EROFS: 'read-only file system', EIO: 'input/output error', EMFILE: 'too many open files',
    ENAMETOOLONG: 'the name is too long', EBUSY: 'the file is busy', ENXIO: 'no such device',
  };
  const said = Object.hasOwn(words, code) ? words[code] : undefined;
  if (said) return `${said} (${code})`;
  return code || (e instanceof Error ? e.message : String(e));
}

/** What a path that is not a regular file is, for a message. */
export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return st.isFile() ? 'a regular file' : 'a special file';
}

/** A path a folder scan could not use: the caller turns it into a located error. */
export interface ScanProblem {
  path: string;
  code: string;
  message: string;
}

export interface FolderScan {
  /** `*.yaml` / `*.yml` regular files (links followed), in sorted (code point) order */
  files: string[];
  /** entries left out on purpose, each with why */
  ignored: { path: string; why: string }[];
  /** entries that cannot be read: FIFOs, devices, link loops and cycles, links leading outside the sandbox */
  problems: ScanProblem[];
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** A manifest by its name: `*.yaml` or `*.yml` (anchored, no backtracking). */
const YAML_NAME = /\.ya?ml$/i;

/**
 * `*.yaml` / `*.yml` files below `p` (or `p` itself). Symbolic links are
 * followed, judged by where they lead: inside the sandbox (when one is given),
 * never round a cycle, each real file once. The type of every entry is looked
 * at before anything is opened, so a FIFO never blocks the scan.
 */
export function scanYamlFolder(p: string, sandbox?: Sandbox): FolderScan {
  const scan: FolderScan = { files: [], ignored: [], problems: [] };
  const problem = (at: string, code: string, message: string): void => { scan.problems.push({ path: displayPath(at), code, message }); };
  let root: Stats;
  try {
    root = statSync(p);
  } catch (e) {
    problem(p, codeOf(e) === 'ENOENT' ? 'path-missing' : 'file-unreadable', `${displayPath(p)} cannot be read: ${fsErrorText(e)}`);
    return scan;
  }
  if (root.isFile()) { scan.files.push(p); return scan; }
  if (!root.isDirectory()) {
    problem(p, 'not-a-file', `${displayPath(p)} is ${kindOf(root)}, not a YAML file or a folder`);
    return scan;
  }
  const seenFiles = new Set<string>();
  const seenDirs = new Set<string>();
  const walk = (dir: string, real: string): void => {
    seenDirs.add(real);
    let names: string[];
    try {
      names = readdirSync(dir).sort(byName);
    } catch (e) {
      problem(dir, 'file-unreadable', `${displayPath(dir)}: the folder cannot be listed: ${fsErrorText(e)}`);
      return;
    }
    for (const name of names) {
      const full = path.join(dir, name);
      let lst: Stats;
      let target: string;
      let st: Stats;
      try {
        lst = lstatSync(full);
        target = lst.isSymbolicLink() ? realpathSync(full) : path.join(real, name);
        st = lst.isSymbolicLink() ? statSync(target) : lst;
      } catch (e) {
        const code = codeOf(e);
        // a dangling link that is not a manifest by its name (an old `notes.txt` link) or is Emacs's lock file of one
        // being edited (`.#x.yaml -> user@host.pid`) is nothing the scan would read: noted as ignored, not an error
        if ((code === 'ELOOP' || code === 'ENOENT') && (!YAML_NAME.test(name) || name.startsWith('.#'))) { scan.ignored.push({ path: displayPath(full), why: 'a symbolic link to nothing, not *.yaml or *.yml' }); continue; }
        if (code === 'ELOOP') problem(full, 'path-loop', `${displayPath(full)} is a symbolic link loop`);
        else if (code === 'ENOENT') problem(full, 'path-missing', `${displayPath(full)} is a symbolic link to nothing (its target does not exist)`);
        else problem(full, 'file-unreadable', `${displayPath(full)} cannot be read: ${fsErrorText(e)}`);
        continue;
      }
      if (!st.isDirectory() && !YAML_NAME.test(name)) { scan.ignored.push({ path: displayPath(full), why: 'not *.yaml or *.yml' }); continue; }
      if (lst.isSymbolicLink() && sandbox && !sandbox.contains(target)) {
        problem(full, 'path-outside', `${displayPath(full)} is a link to ${displayPath(target)}, outside the allowed folders (${sandbox.roots.map(displayPath).join(', ')})`);
        continue;
      }
      if (st.isDirectory()) {
        if (isWithin(real, target)) {
          problem(full, 'path-cycle', `${displayPath(full)} links back to ${displayPath(target)}, a folder it is inside of (a cycle)`);
        } else if (!seenDirs.has(target)) {
          walk(full, target);
        }
        continue;
      }
      if (!st.isFile()) { problem(full, 'not-a-file', `${displayPath(full)} is ${kindOf(st)}, not a YAML file`); continue; }
      if (seenFiles.has(target)) continue; // the same file through another link: read once
      seenFiles.add(target);
      scan.files.push(full);
    }
  };
  let real: string;
  try {
    real = realpathSync(p);
  } catch (e) {
    problem(p, 'file-unreadable', `${displayPath(p)} cannot be read: ${fsErrorText(e)}`);
    return scan;
  }
  walk(p, real);
  return scan;
}

/** `*.yaml` / `*.yml` files below `p` (or `p` itself), sorted for a stable load order. */
export function listYamlFiles(p: string): string[] {
  return scanYamlFolder(p).files;
}

function codeOf(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
}

/** readBounded's buffer, reused from file to file; never grown past SCRATCH_MAX. */
let scratch: Buffer | null = null;
const SCRATCH_MAX = 1 << 20;

/**
 * Reads at most `limit` + 1 bytes from an open file whose size was `size`
 * when it was looked at (it may since have grown or shrunk). The result is a
 * view of a buffer the next call reuses: decode it before reading another
 * file. One reused buffer, rather than fresh 64 KiB chunks joined per file,
 * keeps a folder of a thousand manifests from leaving a thousand buffers for
 * the garbage collector (a 10,000-workload mesh's 12 MB of files raised the
 * process's memory by 50 MB that way).
 */
function readBounded(fd: number, limit: number, size: number): Buffer {
  const want = Math.min(limit, size) + 1; // one byte more than expected: a file that grew shows it
  let buf = scratch !== null && scratch.length >= want ? scratch : Buffer.allocUnsafeSlow(Math.max(want, 64 * 1024));
  if (buf.length <= SCRATCH_MAX) scratch = buf;
  let total = 0;
  for (;;) {
    if (total === buf.length) {
      if (total > limit) break;
      const bigger = Buffer.allocUnsafeSlow(Math.min(limit + 1, buf.length * 2));
      buf.copy(bigger, 0, 0, total);
      buf = bigger;
    }
    const n = readSync(fd, buf, total, buf.length - total, null);
    if (n === 0) break;
    total += n;
    if (total > limit) break;
  }
  return buf.subarray(0, total);
}

function tooLarge(p: string, bytes: number, limit: number, issues: IssueList, fix: string): null {
  issues.error('file-too-large', `${displayPath(p)} is ${(bytes / 1048576).toFixed(1)} MiB; meshrange reads at most ${limit / 1048576} MiB per file`,
    { file: displayPath(p), line: 1, col: 1 }, fix);
  return null;
}

/** What readSource reads and says: the byte limit (MAX_FILE_BYTES unless given), what the file should be, what to do. */
export interface ReadOptions {
  limit?: number;
  /** what the file should hold, for "… is binary, not X" (default: YAML) */
  kind?: string;
  /** the fix of a file that is not a regular file, too large or binary */
  fix?: string;
}

/**
 * One input file's text. Its type is looked at before it is opened (a FIFO
 * would block the open, a device never ends), it is opened without blocking
 * and looked at again (it may have been swapped in between), and at most
 * `opts.limit` bytes (MAX_FILE_BYTES unless given) are read.
 */
/** What to do about a path that is not a regular file, when the caller does not say (the file may hold YAML or JSON). */
const NOT_A_FILE_FIX = 'name a regular file (manifests may also be a folder of YAML files)';

export function readSource(p: string, issues: IssueList, at?: Location, opts: ReadOptions = {}): SourceFile | null {
  const limit = opts.limit ?? MAX_FILE_BYTES;
  const kind = opts.kind ?? 'YAML';
  let st: Stats;
  try {
    st = statSync(p);
  } catch (e) {
    const code = codeOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') issues.error('path-missing', `${displayPath(p)} does not exist`, at, 'check the path');
    else if (code === 'ELOOP') issues.error('path-loop', `${displayPath(p)} is a symbolic link loop`, at, 'point at the file itself');
    else issues.error('file-unreadable', `${displayPath(p)} cannot be read: ${fsErrorText(e)}`, at, 'check the file\'s permissions');
    return null;
  }
  if (!st.isFile()) {
    issues.error('not-a-file', `${displayPath(p)} is ${kindOf(st)}, not a regular file`, at, opts.fix ?? NOT_A_FILE_FIX);
    return null;
  }
  if (st.size > limit) return tooLarge(p, st.size, limit, issues, opts.fix ?? 'split the file, or check that it is the manifest you meant');
  let buf: Buffer;
  try {
    const fd = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const again = fstatSync(fd);
      if (!again.isFile()) {
        issues.error('not-a-file', `${displayPath(p)} is ${kindOf(again)}, not a regular file`, at, opts.fix ?? NOT_A_FILE_FIX);
        return null;
      }
      buf = readBounded(fd, limit, again.size);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    issues.error('file-unreadable', `${displayPath(p)} cannot be read: ${fsErrorText(e)}`, at, 'check the file\'s permissions');
    return null;
  }
  if (buf.length > limit) return tooLarge(p, buf.length, limit, issues, opts.fix ?? 'split the file, or check that it is the manifest you meant');
  if (buf.includes(0) && !utf16(buf)) {
    issues.error('binary-file', `${displayPath(p)} is binary (contains NUL bytes), not ${kind}`, { file: displayPath(p), line: 1, col: 1 },
      opts.fix ?? 'point meshrange at Kubernetes/Istio YAML files only');
    return null;
  }
  const text = utf8Text(buf, displayPath(p), issues);
  return text === null ? null : { path: displayPath(p), text };
}

/**
 * The offset of the first byte of `buf` that does not belong to a well-formed
 * UTF-8 sequence (RFC 3629: no overlong form, no surrogate, nothing past
 * U+10FFFF), or -1. Only asked once isUtf8 has said no.
 */
export function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i] as number;
    if (b < 0x80) { i++; continue; }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) { need = 2; if (b === 0xe0) lo = 0xa0; else if (b === 0xed) hi = 0x9f; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; if (b === 0xf0) lo = 0x90; else if (b === 0xf4) hi = 0x8f; }
    else return i;
    for (let k = 1; k <= need; k++) {
      const c = i + k < n ? (buf[i + k] as number) : -1;
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * A file's bytes as text: UTF-8 (what Kubernetes, Istio and JSON read), its
 * byte-order mark left out (an editor may write one; YAML and JSON readers
 * skip it). Bytes that are not UTF-8 are an error at the first of them, not
 * text with U+FFFD in their place (a label or a principal silently changed).
 */
export function utf8Text(buf: Buffer, file: string, issues: IssueList): string | null {
  if (utf16(buf)) {
    issues.error('not-utf8', `${file} is UTF-16 (it starts with the byte-order mark ${buf[0] === 0xff ? 'FF FE' : 'FE FF'}), not UTF-8`, { file, line: 1, col: 1 },
      'save the file as UTF-8 (Kubernetes, Istio and meshrange read YAML and JSON as UTF-8 only)');
    return null;
  }
  if (!isUtf8(buf)) {
    const at = Math.max(0, firstInvalidUtf8(buf));
    const lineStart = at === 0 ? 0 : buf.lastIndexOf(0x0a, at - 1) + 1;
    let line = 1;
    for (let i = buf.indexOf(0x0a); i >= 0 && i < at; i = buf.indexOf(0x0a, i + 1)) line++;
    // in characters of the text as read (UTF-16 units, as every other column), the byte-order mark not counted
    const col = buf.subarray(lineStart === 0 && hasBom(buf) ? 3 : lineStart, at).toString('utf8').length + 1;
    const hex = (buf[at] as number).toString(16).toUpperCase().padStart(2, '0');
    issues.error('not-utf8', `${file} is not UTF-8: byte 0x${hex} at line ${line}, column ${col} does not belong to a UTF-8 character`,
      { file, line, col }, 'save the file as UTF-8 (Kubernetes, Istio and meshrange read YAML and JSON as UTF-8 only)');
    return null;
  }
  return buf.toString('utf8', hasBom(buf) ? 3 : 0);
}

/** The file starts with a UTF-16 byte-order mark (its ASCII characters hold NUL bytes: not binary, but not UTF-8 either). */
export const utf16 = (buf: Uint8Array): boolean => buf.length >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff));

const hasBom = (buf: Uint8Array): boolean => buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;

/**
 * Checks a report path before anything runs: a folder or a path under
 * /proc, /sys or /dev (other than a writable device such as /dev/stdout) is refused.
 */
export function reportPathProblem(p: string): string | null {
  // `-` reads as standard output to a shell user; a file named `-` in the working directory is never what was meant
  if (p === '-') return '- would be a file named "-", not standard output: a --report is always a file (standard output carries --format)';
  // `reports/` names a folder even when it does not exist yet (path.resolve would drop the slash and write a file
  // `reports`), as do `x/.` and `x/..`; either separator, as Windows reads both
  const last = p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);
  if (last === '' || last === '.' || last === '..') return `${p} names a folder; give a file name`;
  const abs = path.resolve(p);
  if (existsSync(abs)) {
    const st = statSync(abs);
    if (st.isDirectory()) return `${p} is a folder; give a file name`;
    if (!st.isFile() && !st.isCharacterDevice() && !st.isFIFO()) return `${p} is not a regular file`;
    return null;
  }
  if (/^\/(proc|sys|dev)(\/|$)/.test(abs)) return `${p} is under a system folder`;
  let dir = path.dirname(abs);
  while (!existsSync(dir)) dir = path.dirname(dir);
  if (!statSync(dir).isDirectory()) return `${path.dirname(p)} is not a folder`;
  return null;
}

/** A report to write: its format (for messages), path and text. */
export interface ReportFile {
  format: string;
  path: string;
  text: string;
}

/**
 * Writes every report or none (product.md §5, issue 9 item 8): each regular
 * file is first written to a temporary file beside it; a device or pipe
 * (e.g. /dev/stdout) is written to directly once those all succeeded; only
 * then are the temporary files renamed over their targets. A failure is a
 * located issue naming the report, and every temporary file is removed.
 */
export function writeReports(reports: readonly ReportFile[], issues: IssueList): boolean {
  const staged: { tmp: string; abs: string; report: ReportFile }[] = [];
  const direct: ReportFile[] = [];
  const failed = (r: ReportFile, e: unknown): false => {
    issues.error('report-write-failed', `cannot write the ${r.format} report to ${r.path}: ${fsErrorText(e)}`, undefined,
      'free some space, or choose a folder you can write to (--report FORMAT=PATH)');
    for (const x of staged) rmSync(x.tmp, { force: true });
    return false;
  };
  for (const [i, r] of reports.entries()) {
    const abs = path.resolve(r.path);
    if (existsSync(abs) && !statSync(abs).isFile()) { direct.push(r); continue; }
    const tmp = `${abs}.tmp-${process.pid}-${i}`;
    try {
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(tmp, r.text, { flag: 'wx' });
      staged.push({ tmp, abs, report: r });
    } catch (e) {
      rmSync(tmp, { force: true });
      return failed(r, e);
    }
  }
  for (const r of direct) {
    try {
      writeFileSync(path.resolve(r.path), r.text);
    } catch (e) {
      return failed(r, e);
    }
  }
  for (const x of staged) {
    try {
      renameSync(x.tmp, x.abs);
    } catch (e) {
      return failed(x.report, e);
    }
  }
  return true;
}

/** The file system behind the path sandbox, as the application layer's SourceReader. */
export class FsSource implements SourceReader {
  /**
   * `inputs`: the real path of every file read, shared by the readers of
   * every scenario of a run, so that no report overwrites one.
   */
  constructor(readonly sandbox: Sandbox, readonly inputs: Set<string> = new Set()) {}

  read(p: string, issues: IssueList, at?: Location): SourceFile | null {
    const real = this.sandbox.check(p, issues, at);
    if (!real) return null;
    this.inputs.add(real);
    return readSource(p, issues, at);
  }

  manifests(p: string, issues: IssueList, at?: Location, budget?: ByteBudget): SourceFile[] {
    if (!this.sandbox.check(p, issues, at)) return [];
    const scan = scanYamlFolder(p, this.sandbox);
    for (const x of scan.problems) issues.error(x.code, x.message, at, 'manifest folders hold *.yaml / *.yml files (links are followed inside the allowed folders)');
    const list = scan.files;
    if (list.length === 0 && scan.problems.length === 0) issues.error('no-manifests', `${displayPath(p)} holds no *.yaml or *.yml files`, at, 'point at a folder of Kubernetes/Istio manifests');
    if (budget) {
      // The total is judged from the sizes before any file is read (issue 9.2).
      let total = 0;
      for (const f of list) { try { total += statSync(f).size; } catch { /* readSource reports it */ } }
      if (!budget.take(total)) {
        const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
        issues.error('manifests-too-large', `${displayPath(p)} holds ${mib(total)} of manifests in ${list.length} file${list.length === 1 ? '' : 's'}; with the ${mib(budget.used)} already read, that is more than the ${mib(budget.limit)} of manifests meshrange reads at once`,
          at, budget.hint());
        return [];
      }
    }
    const out: SourceFile[] = [];
    for (const f of list) {
      this.inputs.add(realOrAbsolute(f));
      const src = readSource(f, issues, at);
      if (src) out.push(src);
    }
    return out;
  }

  forScenario(file: string): SourceReader {
    return new FsSource(this.sandbox.forScenario(file), this.inputs);
  }

  resolve(file: string, rel: string): string {
    return path.resolve(path.dirname(file), rel);
  }

  /** A worker makes its own FsSource on the same roots (same process, same working directory): see SourceReader.portable. */
  portable(): PortableReader {
    const url = (import.meta as { url?: string }).url;
    return { kind: FS_READER, ...(typeof url === 'string' && url.startsWith('file:') ? { module: url } : {}), data: { roots: [...this.sandbox.roots], outsideFix: this.sandbox.outsideFix } };
  }

  /** The real paths read since the last call (a worker's reader hands them to the caller's, which keeps the run's record). */
  recorded(): string[] {
    const out = [...this.inputs];
    this.inputs.clear();
    return out;
  }

  absorb(recorded: unknown): void {
    if (Array.isArray(recorded)) for (const p of recorded) if (typeof p === 'string') this.inputs.add(p);
  }
}

const FS_READER = 'meshrange-fs';
registerReader(FS_READER, (data) => { const d = data as { roots: string[]; outsideFix?: string }; return new FsSource(new Sandbox([...d.roots], d.outsideFix)); });

/**
 * The names in a folder, at most `max` of them (sorted), and whether there were more: a folder of a million
 * entries costs no more than `max` to list (opendir, read no further). Throws as readdirSync does.
 */
export function readdirUpTo(dir: string, max: number): { names: string[]; more: boolean } {
  const d = opendirSync(dir);
  try {
    const names: string[] = [];
    for (let e = d.readSync(); e !== null; e = d.readSync()) {
      if (names.length >= max) return { names: names.sort(), more: true };
      names.push(e.name);
    }
    return { names: names.sort(), more: false };
  } finally {
    d.closeSync();
  }
}
