/** Reading a saved JSON report (run --baseline, merge): fs.ts readSource with the report limit and wording. */
import type { IssueList } from '../core/issues.js';
import { MAX_REPORT_BYTES } from '../assess/baseline.js';
import { readSource } from './fs.js';

/** The text of a report file, or null with an issue (missing, not a file, too large, binary, unreadable). */
export function readReportFile(p: string, issues: IssueList, what: string): { path: string; text: string } | null {
  return readSource(p, issues, undefined, { limit: MAX_REPORT_BYTES, kind: 'a JSON report', fix: `name ${what}` });
}
