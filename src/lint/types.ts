/**
 * Posture findings (product.md §4 `meshrange lint`, issue 11 item 5): what a
 * rule reports, and what `lint()` returns. Pure data, no rendering.
 */
import type { Location, Severity } from '../core/issues.js';
import type { Labels, Mesh } from '../model/types.js';

export type LintSeverity = Severity;

/** The resource a finding is about: where it is, and the annotations suppression reads. */
export interface Subject {
  kind: string;
  namespace: string;
  name: string;
  annotations: Labels;
  loc?: Location;
}

/** What a rule's check returns; `lint()` adds the code, the rule's name and the suppression. */
export interface RawFinding {
  /** default: the rule's severity */
  severity?: LintSeverity;
  message: string;
  hint: string;
  subject: Subject;
  /** a location more precise than the subject's (a field); default the subject's */
  loc?: Location;
}

export interface LintRule {
  /** stable code, `MR01nn` */
  code: string;
  /** stable kebab-case name */
  name: string;
  severity: LintSeverity;
  /** one line: what the rule finds */
  title: string;
  /** why it matters and how to fix it, for SARIF help and docs/lint-codes.md */
  help: string;
  check(mesh: Mesh): RawFinding[];
}

export interface Finding {
  code: string;
  rule: string;
  severity: LintSeverity;
  message: string;
  hint: string;
  /** `Kind namespace/name` (`Namespace name` for a namespace) */
  resource: string;
  file: string;
  line: number;
  col: number;
  /** present on suppressed findings: where the `meshrange.io/ignore` annotation that silenced it sits */
  suppressedBy?: string;
}

export interface LintResult {
  /** findings to act on, sorted by file, line, column, code, message */
  findings: Finding[];
  /** findings silenced by `meshrange.io/ignore`, same order */
  suppressed: Finding[];
  /** counts of `findings` by severity */
  counts: Record<LintSeverity, number>;
}

export interface LintOptions {
  /** run only these codes (default: every registered rule) */
  only?: readonly string[];
}
