/**
 * A SourceReader over files held in memory (path → text): for library users
 * whose manifests do not live on a disk (a git blob, an editor buffer, a
 * test). Paths are POSIX-style; a folder is every `*.yaml` / `*.yml` path
 * below it, sorted. Nothing outside the given files can be read.
 */
import path from 'node:path';
import type { IssueList, Location } from '../core/issues.js';
import type { SourceFile } from '../loader/load.js';
import { ByteBudget, type SourceReader } from './source.js';

const MAX_FILE_CHARS = 8 * 1024 * 1024;

export class MemorySource implements SourceReader {
  private readonly files = new Map<string, string>();

  constructor(files: ReadonlyMap<string, string> | Readonly<Record<string, string>>) {
    const entries = files instanceof Map ? [...files.entries()] : Object.entries(files);
    for (const [p, text] of entries) this.files.set(path.posix.normalize(p), text);
  }

  read(p: string, issues: IssueList, at?: Location): SourceFile | null {
    const key = path.posix.normalize(p);
    const text = this.files.get(key);
    if (text === undefined) {
      issues.error('path-missing', `${key} does not exist (not among the files given)`, at, 'pass the file in the map of files');
      return null;
    }
    if (text.length > MAX_FILE_CHARS) {
      issues.error('file-too-large', `${key} is larger than ${MAX_FILE_CHARS} characters`, at, 'split it or pass a smaller file');
      return null;
    }
    return { path: key, text };
  }

  manifests(p: string, issues: IssueList, at?: Location, budget?: ByteBudget): SourceFile[] {
    const key = path.posix.normalize(p);
    if (this.files.has(key)) {
      const f = this.read(key, issues, at);
      if (f && budget && !budget.take(f.text.length)) { tooLarge(key, budget, issues, at); return []; }
      return f ? [f] : [];
    }
    const prefix = key === '.' ? '' : `${key.replace(/\/$/, '')}/`;
    const list = [...this.files.keys()].filter((k) => k.startsWith(prefix) && /\.ya?ml$/i.test(k)).sort();
    if (list.length === 0) {
      issues.error('no-manifests', `${key} holds no *.yaml or *.yml files`, at, 'point at a folder of Kubernetes/Istio manifests');
      return [];
    }
    const total = list.reduce((n, k) => n + (this.files.get(k)?.length ?? 0), 0);
    if (budget && !budget.take(total)) { tooLarge(key, budget, issues, at); return []; }
    const out: SourceFile[] = [];
    for (const k of list) { const f = this.read(k, issues, at); if (f) out.push(f); }
    return out;
  }

  forScenario(): SourceReader {
    return this;
  }

  resolve(file: string, rel: string): string {
    return path.posix.normalize(path.posix.join(path.posix.dirname(file), rel));
  }
}

function tooLarge(p: string, budget: ByteBudget, issues: IssueList, at: Location | undefined): void {
  issues.error('manifests-too-large', `${p}: more than the ${budget.limit} bytes of manifests meshrange reads at once`, at, budget.hint());
}
