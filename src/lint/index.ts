/**
 * `lint(mesh, opts)`: security posture findings over a loaded mesh (product.md
 * §4, issue 11 item 5). Pure: the mesh in, sorted findings out. Each rule is
 * one file under rules/ (registry.ts lists them) citing the
 * istio-semantics.md sections it applies.
 *
 * Suppression: the annotation `meshrange.io/ignore: MR0101,MR0104` on the
 * resource a finding is about (for a workload: the pod template or the
 * Deployment/StatefulSet… object itself), or on its Namespace, silences those
 * codes there. Suppressed findings are returned apart and counted, never dropped.
 */
import { IGNORE_ANNOTATION, ignoreTokens } from '../core/names.js';
import type { Labels, Mesh } from '../model/types.js';
import { ownValue } from '../core/record.js';
import { RULES } from './registry.js';
import type { Finding, LintOptions, LintResult, LintRule, LintSeverity, RawFinding } from './types.js';

export type { Finding, LintOptions, LintResult, LintRule, LintSeverity, RawFinding, Subject } from './types.js';
export { RULES, ruleByCode } from './registry.js';

export { IGNORE_ANNOTATION };

/** The codes an ignore annotation lists (comma- or space-separated, case-insensitive). */
export function ignoredCodes(annotations: Labels | undefined): Set<string> {
  const v = ownValue(annotations, IGNORE_ANNOTATION);
  if (v === undefined) return new Set();
  return new Set(ignoreTokens(v));
}

const SEVERITY_RANK: Readonly<Record<LintSeverity, number>> = { error: 3, warning: 2, info: 1 };

export function severityRank(s: LintSeverity): number {
  return SEVERITY_RANK[s];
}

export function compareFindings(a: Finding, b: Finding): number {
  return cmp(a.file, b.file) || a.line - b.line || a.col - b.col || cmp(a.code, b.code) || cmp(a.message, b.message);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function finish(rule: LintRule, raw: RawFinding): Finding {
  const s = raw.subject;
  const loc = raw.loc ?? s.loc;
  return {
    code: rule.code,
    rule: rule.name,
    severity: raw.severity ?? rule.severity,
    message: raw.message,
    hint: raw.hint,
    resource: s.kind === 'Namespace' ? `Namespace ${s.name}` : s.kind === 'Mesh' ? 'mesh' : `${s.kind} ${s.namespace}/${s.name}`,
    file: loc?.file ?? '',
    line: loc?.line ?? 0,
    col: loc?.col ?? 0,
  };
}

export function lint(mesh: Mesh, opts: LintOptions = {}): LintResult {
  const only = opts.only ? new Set(opts.only.map((c) => c.toUpperCase())) : null;
  const findings: Finding[] = [];
  const suppressed: Finding[] = [];
  const seen = new Set<string>();
  for (const rule of RULES) {
    if (only && !only.has(rule.code)) continue;
    for (const raw of rule.check(mesh)) {
      const f = finish(rule, raw);
      const key = JSON.stringify([f.code, f.file, f.line, f.col, f.message]);
      if (seen.has(key)) continue;
      seen.add(key);
      const s = raw.subject;
      if (ignoredCodes(s.annotations).has(rule.code)) {
        suppressed.push({ ...f, suppressedBy: f.resource });
      } else if (s.namespace !== '' && ignoredCodes(mesh.namespaces.get(s.namespace)?.annotations).has(rule.code)) {
        suppressed.push({ ...f, suppressedBy: `Namespace ${s.namespace}` });
      } else {
        findings.push(f);
      }
    }
  }
  findings.sort(compareFindings);
  suppressed.sort(compareFindings);
  const counts: Record<LintSeverity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return { findings, suppressed, counts };
}

/** `--fail-on`: the lowest severity that fails the run, or never. */
export type FailOn = LintSeverity | 'never';

export function failsOn(result: LintResult, failOn: FailOn): boolean {
  if (failOn === 'never') return false;
  return result.findings.some((f) => severityRank(f.severity) >= severityRank(failOn));
}
