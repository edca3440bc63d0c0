/** A shipped scenario run through the application layer, as `meshrange tui` gets it. */
import { IssueList } from '../../src/core/issues.js';
import { prepareAll, runPrepared } from '../../src/api/run.js';
import { FsSource, Sandbox } from '../../src/cli/fs.js';
import type { TuiRun } from '../../src/tui/app.js';

export async function shippedRun(name: string): Promise<TuiRun> {
  const issues = new IssueList();
  const [prepared] = prepareAll([`scenarios/${name}.yaml`], new FsSource(Sandbox.forCwd([])), issues);
  if (!prepared || issues.hasErrors()) throw new Error(issues.errors.map((e) => e.message).join('\n'));
  return { result: await runPrepared(prepared), mesh: prepared.mesh };
}
