/** Reading a saved JSON report (run --baseline, merge): bounded, a regular file, located errors. */
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { IssueList } from '../core/issues.js';
import { MAX_REPORT_BYTES } from '../assess/baseline.js';
import { displayPath, fsErrorText, kindOf } from './fs.js';

/** The text of a report file, or null with an issue (missing, not a file, too large, binary, unreadable). */
export function readReportFile(p: string, issues: IssueList, what: string): { path: string; text: string } | null {
  const fix = `name ${what}`;
  let fd: number | undefined;
  try {
    const st = statSync(p);
    if (!st.isFile()) { issues.error('not-a-file', `${displayPath(p)} is ${kindOf(st)}, not a report file`, undefined, fix); return null; }
    if (st.size > MAX_REPORT_BYTES) {
      issues.error('report-too-large', `${displayPath(p)} is ${st.size} bytes; a report may be at most ${MAX_REPORT_BYTES}`, undefined, fix);
      return null;
    }
    fd = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) { issues.error('not-a-file', `${displayPath(p)} is not a regular file`, undefined, fix); return null; }
    // One byte more than the size seen: a file that grows meanwhile is noticed, never read without bound.
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n === buf.length) { issues.error('file-changed', `${displayPath(p)} grew while it was read`, undefined, 'read a report that is not being written'); return null; }
    }
    const data = buf.subarray(0, n);
    if (data.includes(0)) { issues.error('binary-file', `${displayPath(p)} is binary (contains NUL bytes), not a JSON report`, { file: displayPath(p), line: 1, col: 1 }, fix); return null; }
    return { path: displayPath(p), text: data.toString('utf8') };
  } catch (e) {
    const missing = (e as { code?: unknown }).code === 'ENOENT';
    issues.error(missing ? 'path-missing' : 'file-unreadable', missing ? `${displayPath(p)} does not exist` : `${displayPath(p)} cannot be read: ${fsErrorText(e)}`, undefined, fix);
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
