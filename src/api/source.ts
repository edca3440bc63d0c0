/**
 * Where the application layer reads scenario and manifest text from. The CLI
 * passes the file system (cli/fs.ts, behind the path sandbox); tests may pass
 * files in memory; `assess` will pass a git ref. Nothing in src/api touches
 * the file system itself.
 */
import type { IssueList, Location } from '../core/issues.js';
import type { SourceFile } from '../loader/load.js';

/**
 * Bytes one scenario's manifests may total, across all its files (each file is
 * also bounded on its own, cli/fs.ts MAX_FILE_BYTES). YAML takes ~50 times its
 * text in memory while it loads (63 MB of Services peaked at 3.4 GB): a 236 MB
 * folder aborted V8 instead of being refused.
 */
export const MAX_MESH_BYTES = 32 * 1024 * 1024;

/**
 * The most a user may raise that budget to for a mesh command (`--max-mesh-mib`):
 * a generated 100,000-workload mesh is ~110 MiB and loads in ~1.1 GB
 * (README "Large meshes"), for manifests in the plain YAML subset the line
 * reader takes; each document outside it costs the `yaml` package's node tree.
 */
export const MAX_MESH_BYTES_CEILING = 256 * 1024 * 1024;

/** What is left of a scenario's manifest byte budget; readers check a folder's total before reading any of it. */
export class ByteBudget {
  used = 0;
  /** `raise`: how the caller may allow more (said in the too-large error's hint), when it can */
  constructor(readonly limit: number = MAX_MESH_BYTES, readonly raise?: string) {}

  /** The too-large error's hint: read less, or (when the caller can) allow more. */
  hint(): string {
    return `point at the manifests you need, not a larger folder${this.raise !== undefined ? `, or ${this.raise}` : ''}`;
  }

  /** a take did not fit: the reader said so once; nothing more is read against this budget (readManifests) */
  exceeded = false;

  /** Takes `n` bytes; false (nothing taken) when they do not fit. */
  take(n: number): boolean {
    if (this.used + n > this.limit) { this.exceeded = true; return false; }
    this.used += n;
    return true;
  }
}

export interface SourceReader {
  /** One file's text, or null with a located issue (missing, outside the sandbox, too large, binary). */
  read(path: string, issues: IssueList, at?: Location): SourceFile | null;
  /**
   * The manifest files a path names: the file itself, or every *.yaml / *.yml
   * below a folder, sorted. With a budget, their sizes are taken from it
   * before anything is read; when they do not fit, a located error and none.
   */
  manifests(path: string, issues: IssueList, at?: Location, budget?: ByteBudget): SourceFile[];
  /** The reader a scenario file's own references go through (the sandbox widens to its folder when it lies outside). */
  forScenario(file: string): SourceReader;
  /** `rel` against the folder of `file` */
  resolve(file: string, rel: string): string;
  /**
   * Optional: how a worker thread (workers.ts) makes an equivalent reader of its own, so that it reads its
   * scenarios' files itself instead of asking this thread for each one (and waiting until this thread is
   * between two scenarios). Absent or null: workers read through this reader.
   */
  portable?(): PortableReader | null;
  /** Optional, on a worker's reader: what it recorded since the last call, handed to the caller's reader's absorb(). */
  recorded?(): unknown;
  /** Optional, on the caller's reader: takes what a worker's equivalent reader recorded (its recorded()). */
  absorb?(recorded: unknown): void;
}

/**
 * A reader a worker can make itself: `kind` names a maker registered with registerReader, `module` (a file URL,
 * when the code runs as ES modules) is imported first so that the maker is registered in the worker too, and
 * `data` is what the maker needs (structured-clonable).
 */
export interface PortableReader {
  kind: string;
  module?: string;
  data: unknown;
}

const makers = new Map<string, (data: unknown) => SourceReader>();

/** Registers how to make a portable reader of `kind` (on the module's load, in every thread that loads it). */
export function registerReader(kind: string, make: (data: unknown) => SourceReader): void {
  makers.set(kind, make);
}

/** The reader a PortableReader describes, or null when no maker of its kind is registered in this thread. */
export function makeReader(p: PortableReader): SourceReader | null {
  const make = makers.get(p.kind);
  return make ? make(p.data) : null;
}
