/** Reading manifests and scenarios from disk: the application layer (src/api) through the sandboxed file system. */
import type { IssueList, Location } from '../core/issues.js';
import type { SourceFile } from '../loader/load.js';
import { prepareScenario as prepare, readManifests as read, type PreparedScenario } from '../api/prepare.js';
import { FsSource, type Sandbox } from './fs.js';

export type { PreparedScenario };

export function readManifests(paths: readonly { path: string; at?: Location }[], sandbox: Sandbox, issues: IssueList): SourceFile[] {
  return read(paths, new FsSource(sandbox), issues);
}

/** Scenario file → validated scenario + its mesh, or null with issues recorded. */
export function prepareScenario(file: string, sandbox: Sandbox, issues: IssueList): PreparedScenario | null {
  return prepare(file, new FsSource(sandbox), issues);
}
