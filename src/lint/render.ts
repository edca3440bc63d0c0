/**
 * Lint results as text (for a terminal), JSON (sorted, stable) and SARIF
 * 2.1.0. Pure: LintResult → string. Everything a finding carries came from a
 * stranger's manifest (names, paths, header values), so the text form is
 * escaped for a terminal (core/escape.ts) and the SARIF URIs are percent-encoded.
 */
import { escapeControls, jsonDocument, pathUri, sarifText } from '../core/escape.js';
import { MESHRANGE_INFO_URI, MESHRANGE_VERSION } from '../core/version.js';
import { RULES } from './registry.js';
import type { Finding, LintResult } from './types.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function where(f: Finding): string {
  return f.file === '' ? '' : `${escapeControls(f.file)}:${f.line}:${f.col}: `;
}

export function renderLintText(r: LintResult): string {
  const lines: string[] = [];
  for (const f of r.findings) {
    lines.push(`${where(f)}${f.severity} ${f.code} ${f.rule}: ${escapeControls(f.message)}`);
    lines.push(`    fix: ${escapeControls(f.hint)}`);
  }
  const total = r.findings.length;
  const summary = total === 0
    ? 'no findings'
    : `${plural(total, 'finding')} (${plural(r.counts.error, 'error')}, ${plural(r.counts.warning, 'warning')}, ${r.counts.info} info)`;
  lines.push(`${summary}; ${r.suppressed.length} suppressed by ${'meshrange.io/ignore'}`);
  for (const f of r.suppressed) lines.push(`  suppressed: ${where(f)}${f.code} ${f.rule} on ${escapeControls(f.suppressedBy ?? f.resource)}`);
  return `${lines.join('\n')}\n`;
}

export function lintJson(r: LintResult): object {
  return {
    tool: 'meshrange',
    version: MESHRANGE_VERSION,
    summary: { findings: r.findings.length, error: r.counts.error, warning: r.counts.warning, info: r.counts.info, suppressed: r.suppressed.length },
    findings: r.findings.map(findingJson),
    suppressed: r.suppressed.map(findingJson),
  };
}

/** Fixed key order, so the JSON is the same bytes for the same mesh. */
function findingJson(f: Finding): object {
  return {
    code: f.code, rule: f.rule, severity: f.severity, resource: f.resource,
    file: f.file, line: f.line, col: f.col, message: f.message, hint: f.hint,
    ...(f.suppressedBy !== undefined ? { suppressedBy: f.suppressedBy } : {}),
  };
}

export function renderLintJson(r: LintResult): string {
  return jsonDocument(lintJson(r));
}

const LEVEL = { error: 'error', warning: 'warning', info: 'note' } as const;

export function renderLintSarif(r: LintResult): string {
  const index = new Map(RULES.map((x, i) => [x.code, i]));
  const result = (f: Finding): object => ({
    ruleId: f.code,
    ruleIndex: index.get(f.code) ?? -1,
    level: LEVEL[f.severity],
    message: { text: sarifText(`${f.message}. Fix: ${f.hint}`) },
    locations: [{
      physicalLocation: {
        artifactLocation: { uri: pathUri(f.file) },
        ...(f.line > 0 ? { region: { startLine: f.line, startColumn: Math.max(1, f.col) } } : {}),
      },
      logicalLocations: [{ fullyQualifiedName: f.resource, kind: 'resource' }],
    }],
    partialFingerprints: { 'meshrange/finding': `${f.code}|${f.resource}|${f.message}` },
    ...(f.suppressedBy !== undefined ? { suppressions: [{ kind: 'inSource', justification: `meshrange.io/ignore on ${f.suppressedBy}` }] } : {}),
  });
  const doc = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: {
        driver: {
          name: 'meshrange',
          version: MESHRANGE_VERSION,
          semanticVersion: MESHRANGE_VERSION,
          informationUri: MESHRANGE_INFO_URI,
          rules: RULES.map((x) => ({
            id: x.code,
            name: x.name,
            shortDescription: { text: x.title },
            fullDescription: { text: x.help },
            help: { text: x.help, markdown: `**${x.code} ${x.name}**: ${x.help}` },
            helpUri: `${MESHRANGE_INFO_URI}/blob/main/docs/lint-codes.md#${x.code.toLowerCase()}`,
            defaultConfiguration: { level: LEVEL[x.severity] },
          })),
        },
      },
      results: [...r.findings, ...r.suppressed].map(result),
    }],
  };
  return jsonDocument(doc);
}
