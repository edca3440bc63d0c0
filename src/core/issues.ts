/**
 * Issues are values, not exceptions (architecture.md habit 5): every problem
 * found in user input is collected with a code, a location and a hint, and the
 * CLI turns them into messages and exit code 2.
 */
import { escapeControls } from './escape.js';
export type Severity = 'error' | 'warning' | 'info';

export interface Location {
  file: string;
  line: number;
  col: number;
}

export interface Issue {
  severity: Severity;
  /** stable machine code, e.g. `yaml-syntax`, `ap-empty-from`, `IST0127` */
  code: string;
  message: string;
  /** what the user should do about it */
  hint?: string;
  loc?: Location;
}

export class IssueList {
  readonly items: Issue[] = [];

  add(issue: Issue): void {
    this.items.push(issue);
  }

  error(code: string, message: string, loc?: Location, hint?: string): void {
    this.items.push(clean({ severity: 'error', code, message, loc, hint }));
  }

  warn(code: string, message: string, loc?: Location, hint?: string): void {
    this.items.push(clean({ severity: 'warning', code, message, loc, hint }));
  }

  info(code: string, message: string, loc?: Location, hint?: string): void {
    this.items.push(clean({ severity: 'info', code, message, loc, hint }));
  }

  get errors(): Issue[] {
    return this.items.filter((i) => i.severity === 'error');
  }

  get warnings(): Issue[] {
    return this.items.filter((i) => i.severity !== 'error');
  }

  hasErrors(): boolean {
    return this.items.some((i) => i.severity === 'error');
  }

  merge(other: IssueList): void {
    this.items.push(...other.items);
  }
}

function clean(i: {
  severity: Severity;
  code: string;
  message: string;
  loc: Location | undefined;
  hint: string | undefined;
}): Issue {
  const out: Issue = { severity: i.severity, code: i.code, message: i.message };
  if (i.loc) out.loc = i.loc;
  if (i.hint) out.hint = i.hint;
  return out;
}

export function formatLocation(loc: Location | undefined): string {
  if (!loc) return '';
  return `${escapeControls(loc.file)}:${loc.line}:${loc.col}`;
}

/**
 * `file:line:col: error [code] message` + an indented hint line. File names,
 * messages and hints quote input, so each is escaped (core/escape.ts): one
 * issue is always these lines, and cannot drive a terminal.
 */
export function formatIssue(i: Issue): string {
  const where = i.loc ? `${formatLocation(i.loc)}: ` : '';
  const head = `${where}${i.severity} [${escapeControls(i.code)}] ${escapeControls(i.message)}`;
  return i.hint ? `${head}\n    fix: ${escapeControls(i.hint)}` : head;
}

/** Thrown only by code paths that have already recorded issues and must stop. */
export class InputError extends Error {
  constructor(readonly issues: Issue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'InputError';
  }
}
