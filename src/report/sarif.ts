/**
 * SARIF 2.1.0 for code-scanning dashboards (issue 11 item 6). Results only for
 * what a reviewer acts on:
 *  - `meshrange/attack-step-succeeded`: an attack step got through (allowed or
 *    partial) and the scenario did not say it would (no `expect`); a step that
 *    is expected to get through — a scenario that demonstrates a weakness — is
 *    not news;
 *  - `meshrange/expectation-failed`: a step did not meet its `expect` (outcome
 *    or control);
 *  - `meshrange/baseline-regression`: with `run --baseline`, an attack step
 *    that was blocked in the saved report and now gets through.
 * Allowed legitimate steps and met expectations give no result.
 *
 * Each result points at the step in the scenario file (region: its line and
 * column, from the YAML parse), the path percent-encoded as a URI reference
 * (core/escape.ts pathUri). `partialFingerprints` key a result by scenario and
 * step, so a dashboard follows it across commits. Deterministic: no time, no
 * absolute path beyond what the run was given. Warnings (a kind the loader
 * does not model, ...) are tool execution notifications (sarifInvocations).
 */
import { jsonDocument, pathUri, sarifText } from '../core/escape.js';
import { MESHRANGE_INFO_URI, MESHRANGE_VERSION } from '../core/version.js';
import type { RunResult, StepResult } from '../scenario/types.js';

export const SARIF_RULES = [
  {
    id: 'meshrange/attack-step-succeeded',
    name: 'AttackStepSucceeded',
    shortDescription: { text: 'An attack step got through the mesh controls' },
    fullDescription: { text: 'An attack step (run from the attacker\'s foothold) ended allowed or partial and the scenario does not expect it to: no control stopped it. Add or fix the control, or state the expectation.' },
    defaultConfiguration: { level: 'warning' },
  },
  {
    id: 'meshrange/expectation-failed',
    name: 'ExpectationFailed',
    shortDescription: { text: 'A scenario step did not meet its expectation' },
    fullDescription: { text: 'A step\'s outcome, or the control that stopped it, differs from its `expect`. Either the mesh changed what it enforces or the scenario is out of date.' },
    defaultConfiguration: { level: 'error' },
  },
  {
    id: 'meshrange/baseline-regression',
    name: 'BaselineRegression',
    shortDescription: { text: 'An attack step that the baseline report blocked now gets through' },
    fullDescription: { text: 'Compared with the saved report given to `run --baseline`, this attack step went from blocked to allowed or partial.' },
    defaultConfiguration: { level: 'error' },
  },
] as const;

type RuleId = (typeof SARIF_RULES)[number]['id'];
const RULE_INDEX = new Map<string, number>(SARIF_RULES.map((r, i) => [r.id, i]));

function controls(s: StepResult): string {
  return s.stoppedBy.map((b) => `${b.control}${b.name ? ` ${b.name}` : ''}`).join(', ');
}

function result(r: RunResult, s: StepResult | undefined, stepId: string, ruleId: RuleId, level: 'warning' | 'error', text: string): unknown {
  const physicalLocation: Record<string, unknown> = { artifactLocation: { uri: pathUri(r.file) } };
  if (s?.loc) physicalLocation['region'] = { startLine: s.loc.line, startColumn: s.loc.col };
  return {
    ruleId,
    ruleIndex: RULE_INDEX.get(ruleId),
    level,
    message: { text: sarifText(text) },
    locations: [{ physicalLocation }],
    partialFingerprints: { 'meshrange/step': `${r.scenario}/${stepId}`, 'meshrange/rule': ruleId },
  };
}

/** Whether a step got through, as the verdict counts it (product.md §3). */
export function gotThrough(s: StepResult): boolean {
  return s.attack && s.action !== 'wait' && (s.outcome === 'allowed' || s.outcome === 'partial');
}

/** Warnings listed as tool notifications in one SARIF document; beyond, one notification counts the rest. */
export const SARIF_MAX_NOTIFICATIONS = 1_000;

/**
 * The run's `invocations`: one, successful, with each warning (a kind the loader does not model, a side with no
 * workload) as a tool execution notification, where SARIF puts what the tool wants a reader to know about the run
 * itself rather than about the code. No warnings: no invocation (the document stays as it was).
 */
export function sarifInvocations(warnings: readonly string[]): { invocations?: unknown[] } {
  if (warnings.length === 0) return {};
  const notes: unknown[] = warnings.slice(0, SARIF_MAX_NOTIFICATIONS).map((text) => ({ level: 'warning', message: { text: sarifText(text) } }));
  if (warnings.length > SARIF_MAX_NOTIFICATIONS) {
    notes.push({ level: 'note', message: { text: `${warnings.length - SARIF_MAX_NOTIFICATIONS} more warnings are not listed here (at most ${SARIF_MAX_NOTIFICATIONS} are); the JSON report lists them all` } });
  }
  return { invocations: [{ executionSuccessful: true, toolExecutionNotifications: notes }] };
}

export function renderSarif(results: readonly RunResult[]): string {
  const out: unknown[] = [];
  for (const r of results) {
    const byId = new Map(r.steps.map((s) => [s.id, s]));
    for (const s of r.steps) {
      if (s.expectationMet === false) {
        const why = s.expectationNote ?? `expected ${s.expected ?? '?'}, got ${s.outcome}${s.stoppedBy.length > 0 ? ` (stopped by ${controls(s)})` : ''}`;
        out.push(result(r, s, s.id, 'meshrange/expectation-failed', 'error', `${r.scenario}/${s.id}: ${why}`));
      } else if (gotThrough(s) && s.expected === null) {
        out.push(result(r, s, s.id, 'meshrange/attack-step-succeeded', 'warning',
          `${r.scenario}/${s.id}: ${s.action} from ${s.from}${s.to ? ` to ${s.to}` : ''} was ${s.outcome}; no control stopped it`));
      }
    }
    for (const c of r.baseline?.regressions ?? []) {
      const s = byId.get(c.step);
      out.push(result(r, s, c.step, 'meshrange/baseline-regression', 'error',
        `${r.scenario}/${c.step}: ${c.action} was ${c.before} in ${r.baseline?.file ?? 'the baseline'}, now ${c.after}${c.stoppedByBefore.length > 0 ? ` (was stopped by ${c.stoppedByBefore.join(', ')})` : ''}`));
    }
  }
  const doc = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'meshrange', version: MESHRANGE_VERSION, semanticVersion: MESHRANGE_VERSION, informationUri: MESHRANGE_INFO_URI, rules: SARIF_RULES } },
      columnKind: 'utf16CodeUnits',
      // each scenario's warnings, named by scenario (several scenarios may share a mesh and its warnings)
      ...sarifInvocations(results.flatMap((r) => r.warnings.map((w) => `${r.scenario}: ${w}`))),
      results: out,
    }],
  };
  return jsonDocument(doc);
}
