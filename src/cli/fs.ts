/**
 * The only code that touches the file system. Reads inputs with limits
 * (size, binary, links resolved) and enforces the path sandbox of product.md
 * §5: a scenario reads files only under the working directory — or its own
 * folder when it lies outside — plus any `--allow-path`.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { IssueList, Location } from '../core/issues.js';
import type { SourceFile } from '../loader/load.js';
import type { ByteBudget, SourceReader } from '../api/source.js';

export const MAX_FILE_BYTES = 8 * 1024 * 1024;

export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return (rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p).split(path.sep).join('/');
}

export function isWithin(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export class Sandbox {
  constructor(readonly roots: string[]) {}

  static forCwd(allow: readonly string[]): Sandbox {
    return new Sandbox([realpathSync(process.cwd()), ...allow.filter((a) => existsSync(a)).map((a) => realpathSync(a))]);
  }

  /** The roots a given scenario may read from. */
  forScenario(scenarioFile: string): Sandbox {
    const real = realpathSync(scenarioFile);
    if (this.roots.some((r) => isWithin(real, r))) return this;
    return new Sandbox([...this.roots, path.dirname(real)]);
  }

  check(p: string, issues: IssueList, at: Location | undefined): string | null {
    // Judge the place before the existence, so a stranger's scenario cannot probe which files exist outside.
    const abs = path.resolve(p);
    if (!existsSync(p)) {
      if (!this.roots.some((r) => isWithin(abs, r))) {
        issues.error('path-outside', `${displayPath(p)} is outside the allowed folders (${this.roots.map(displayPath).join(', ')})`, at,
          'move the file under the working directory, or pass --allow-path <dir> if you trust this scenario');
        return null;
      }
      issues.error('path-missing', `${displayPath(p)} does not exist`, at, 'check the path (paths in a scenario are relative to the scenario file)');
      return null;
    }
    const real = realpathSync(p);
    if (!this.roots.some((r) => isWithin(real, r))) {
      issues.error('path-outside', `${displayPath(p)} is outside the allowed folders (${this.roots.map(displayPath).join(', ')})`, at,
        'move the file under the working directory, or pass --allow-path <dir> if you trust this scenario');
      return null;
    }
    return real;
  }
}

/** `*.yaml` / `*.yml` files below `p` (or `p` itself), sorted for a stable load order. */
export function listYamlFiles(p: string): string[] {
  const st = statSync(p);
  if (st.isFile()) return [p];
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile() && /\.ya?ml$/i.test(e.name)) out.push(full);
    }
  };
  walk(p);
  return out;
}

export function readSource(p: string, issues: IssueList, at?: Location): SourceFile | null {
  let st;
  try {
    st = statSync(p);
  } catch {
    issues.error('path-missing', `${displayPath(p)} does not exist`, at, 'check the path');
    return null;
  }
  if (!st.isFile()) {
    issues.error('not-a-file', `${displayPath(p)} is not a regular file`, at);
    return null;
  }
  if (st.size > MAX_FILE_BYTES) {
    issues.error('file-too-large', `${displayPath(p)} is ${(st.size / 1048576).toFixed(1)} MiB; meshrange reads at most ${MAX_FILE_BYTES / 1048576} MiB per file`,
      { file: displayPath(p), line: 1, col: 1 }, 'split the file, or check that it is the manifest you meant');
    return null;
  }
  const buf = readFileSync(p);
  if (buf.includes(0)) {
    issues.error('binary-file', `${displayPath(p)} is binary (contains NUL bytes), not YAML`, { file: displayPath(p), line: 1, col: 1 },
      'point meshrange at Kubernetes/Istio YAML files only');
    return null;
  }
  return { path: displayPath(p), text: buf.toString('utf8') };
}

/**
 * Checks a report path before anything runs: a folder or a path under
 * /proc, /sys or /dev (other than a writable device such as /dev/stdout) is refused.
 */
export function reportPathProblem(p: string): string | null {
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

/**
 * Writes via a temporary file and rename, so a report is never half-written.
 * A device or pipe (e.g. /dev/stdout) is written to directly, never replaced.
 */
export function writeAtomic(p: string, text: string): void {
  const abs = path.resolve(p);
  if (existsSync(abs) && !statSync(abs).isFile()) {
    writeFileSync(abs, text);
    return;
  }
  mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, abs);
}

/** The file system behind the path sandbox, as the application layer's SourceReader. */
export class FsSource implements SourceReader {
  constructor(readonly sandbox: Sandbox) {}

  read(p: string, issues: IssueList, at?: Location): SourceFile | null {
    if (!this.sandbox.check(p, issues, at)) return null;
    return readSource(p, issues, at);
  }

  manifests(p: string, issues: IssueList, at?: Location, budget?: ByteBudget): SourceFile[] {
    if (!this.sandbox.check(p, issues, at)) return [];
    const list = listYamlFiles(p);
    if (list.length === 0) issues.error('no-manifests', `${displayPath(p)} holds no *.yaml or *.yml files`, at, 'point at a folder of Kubernetes/Istio manifests');
    if (budget) {
      // The total is judged from the sizes before any file is read (issue 9.2).
      let total = 0;
      for (const f of list) { try { total += statSync(f).size; } catch { /* readSource reports it */ } }
      if (!budget.take(total)) {
        const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
        issues.error('manifests-too-large', `${displayPath(p)} holds ${mib(total)} of manifests in ${list.length} file${list.length === 1 ? '' : 's'}; with the ${mib(budget.used)} already read, that is more than the ${mib(budget.limit)} one scenario may read`,
          at, 'point the scenario at the manifests it needs, not a larger folder');
        return [];
      }
    }
    const out: SourceFile[] = [];
    for (const f of list) {
      const src = readSource(f, issues, at);
      if (src) out.push(src);
    }
    return out;
  }

  forScenario(file: string): SourceReader {
    return new FsSource(this.sandbox.forScenario(file));
  }

  resolve(file: string, rel: string): string {
    return path.resolve(path.dirname(file), rel);
  }
}
