/**
 * Where the application layer reads scenario and manifest text from. The CLI
 * passes the file system (cli/fs.ts, behind the path sandbox); tests may pass
 * files in memory; `assess` will pass a git ref. Nothing in src/api touches
 * the file system itself.
 */
import type { IssueList, Location } from '../core/issues.js';
import type { SourceFile } from '../loader/load.js';

export interface SourceReader {
  /** One file's text, or null with a located issue (missing, outside the sandbox, too large, binary). */
  read(path: string, issues: IssueList, at?: Location): SourceFile | null;
  /** The manifest files a path names: the file itself, or every *.yaml / *.yml below a folder, sorted. */
  manifests(path: string, issues: IssueList, at?: Location): SourceFile[];
  /** The reader a scenario file's own references go through (the sandbox widens to its folder when it lies outside). */
  forScenario(file: string): SourceReader;
  /** `rel` against the folder of `file` */
  resolve(file: string, rel: string): string;
}
