/** The JSON report (product.md §3 — a contract): one object per scenario, an array when several run. */
import type { RunResult, StepResult } from '../scenario/types.js';

export function stepJson(s: StepResult): Record<string, unknown> {
  const o: Record<string, unknown> = {
    id: s.id,
    action: s.action,
    outcome: s.outcome,
    expected: s.expected,
    code: s.code,
  };
  if (s.grpcStatus !== undefined) o['grpcStatus'] = s.grpcStatus;
  o['mtls'] = s.mtls;
  o['stoppedBy'] = s.stoppedBy.map((b) => {
    const x: Record<string, unknown> = { control: b.control, name: b.name };
    if (b.rule !== undefined) x['rule'] = b.rule;
    x['reason'] = b.reason;
    return x;
  });
  o['defences'] = (s.defences ?? []).map((d) => {
    const x: Record<string, unknown> = { control: d.control, name: d.name, reason: d.reason, sole: d.sole };
    if (d.removable === false) x['removable'] = false;
    return x;
  });
  o['from'] = s.from;
  if (s.to !== undefined) o['to'] = s.to;
  o['t'] = s.t;
  o['attack'] = s.attack;
  o['expectationMet'] = s.expectationMet;
  o['evidence'] = s.evidence;
  return o;
}

export function resultJson(r: RunResult): Record<string, unknown> {
  const o: Record<string, unknown> = { scenario: r.scenario };
  if (r.description !== undefined) o['description'] = r.description;
  o['file'] = r.file;
  o['seed'] = r.seed;
  o['verdict'] = r.verdict;
  o['expectations'] = r.expectations;
  o['fingerprint'] = r.fingerprint;
  o['steps'] = r.steps.map(stepJson);
  o['traffic'] = r.traffic;
  o['controls'] = r.controls.map((c) => ({ control: c.control, name: c.name, stops: c.stops, soleStops: c.soleStops }));
  o['warnings'] = r.warnings;
  return o;
}

export function renderJson(results: readonly RunResult[]): string {
  const body = results.length === 1 ? resultJson(results[0] as RunResult) : results.map(resultJson);
  return `${JSON.stringify(body, null, 2)}\n`;
}
