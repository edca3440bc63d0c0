/**
 * SARIF 2.1.0 for code-scanning dashboards: one result per attack step that
 * got through (a finding) and per failed expectation, pointing at the scenario file
 * (its path percent-encoded as a URI reference, core/escape.ts pathUri).
 */
import { pathUri } from '../core/escape.js';
import type { RunResult } from '../scenario/types.js';

export function renderSarif(results: readonly RunResult[]): string {
  const sarifResults: unknown[] = [];
  for (const r of results) {
    for (const s of r.steps) {
      const breach = s.attack && s.action !== 'wait' && (s.outcome === 'allowed' || s.outcome === 'partial');
      if (!breach && s.expectationMet !== false) continue;
      const ruleId = s.expectationMet === false ? 'meshrange/expectation-failed' : 'meshrange/attack-step-succeeded';
      const text = s.expectationMet === false
        ? `${r.scenario}/${s.id}: expected ${s.expected}, got ${s.outcome}${s.stoppedBy.length ? ` (stopped by ${s.stoppedBy.map((b) => `${b.control} ${b.name ?? ''}`.trim()).join(', ')})` : ''}`
        : `${r.scenario}/${s.id}: ${s.action} from ${s.from}${s.to ? ` to ${s.to}` : ''} was ${s.outcome}; no control stopped it`;
      sarifResults.push({
        ruleId,
        level: s.expectationMet === false ? 'error' : 'warning',
        message: { text },
        locations: [{ physicalLocation: { artifactLocation: { uri: pathUri(r.file) } } }],
        partialFingerprints: { 'meshrange/step': `${r.scenario}/${s.id}` },
      });
    }
  }
  const doc = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: {
        name: 'meshrange',
        informationUri: 'https://meshrange.io',
        rules: [
          { id: 'meshrange/attack-step-succeeded', shortDescription: { text: 'An attack step got through the mesh controls' } },
          { id: 'meshrange/expectation-failed', shortDescription: { text: 'A scenario step did not meet its expectation' } },
        ],
      } },
      results: sarifResults,
    }],
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
