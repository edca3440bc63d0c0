/** The JSON report (product.md §3 — a contract): one object per scenario, an array when several run. */
import type { ObservedFlow, RunResult, StepResult, StoppedBy } from '../scenario/types.js';
import { jsonDocument } from '../core/escape.js';

function stoppedJson(b: StoppedBy): Record<string, unknown> {
  const x: Record<string, unknown> = { control: b.control, name: b.name };
  if (b.rule !== undefined) x['rule'] = b.rule;
  x['reason'] = b.reason;
  return x;
}

/** A sniff's observed flow (product.md §3.1), keys in a fixed order. */
function observedJson(f: ObservedFlow): Record<string, unknown> {
  return {
    from: f.from, to: f.to, port: f.port, protocol: f.protocol, encrypted: f.encrypted, protectedBy: f.protectedBy ? stoppedJson(f.protectedBy) : null,
    exposed: { paths: f.exposed.paths, headers: f.exposed.headers, tokens: f.exposed.tokens, sensitive: f.exposed.sensitive },
    requests: f.requests, hop: { from: f.hop.from, to: f.hop.to }, source: f.source,
  };
}

export function stepJson(s: StepResult): Record<string, unknown> {
  const o: Record<string, unknown> = {
    id: s.id,
    action: s.action,
    outcome: s.outcome,
    expected: s.expected,
  };
  if (s.expectedStoppedBy !== undefined) o['expectedStoppedBy'] = s.expectedStoppedBy;
  o['code'] = s.code;
  if (s.grpcStatus !== undefined) o['grpcStatus'] = s.grpcStatus;
  o['mtls'] = s.mtls;
  o['stoppedBy'] = s.stoppedBy.map(stoppedJson);
  o['defences'] = (s.defences ?? []).map((d) => {
    const x: Record<string, unknown> = { control: d.control, name: d.name, reason: d.reason, sole: d.sole };
    if (d.removable === false) x['removable'] = false;
    return x;
  });
  o['from'] = s.from;
  if (s.to !== undefined) o['to'] = s.to;
  if (s.as !== undefined) o['as'] = s.as;
  if (s.presented !== undefined) o['presented'] = s.presented;
  if (s.using !== undefined) o['using'] = s.using;
  if (s.reached !== undefined) o['reached'] = s.reached;
  if (s.compromised !== undefined) o['compromised'] = s.compromised;
  if (s.hops !== undefined) o['hops'] = s.hops;
  if (s.graph !== undefined) {
    o['graph'] = {
      nodes: s.graph.nodes.map((n) => ({ id: n.id, hop: n.hop, compromised: n.compromised })),
      edges: s.graph.edges.map((e) => {
        const x: Record<string, unknown> = { from: e.from, to: e.to, port: e.port, protocol: e.protocol, path: e.path, outcome: e.outcome,
          stoppedBy: e.stoppedBy.map(stoppedJson), dial: e.dial, hop: e.hop };
        if (e.deliveredTo !== undefined) x['deliveredTo'] = e.deliveredTo;
        if (e.as !== undefined) x['as'] = e.as;
        if (e.bypass === true) x['bypass'] = true;
        return x;
      }),
    };
    if (s.graph.unlisted) (o['graph'] as Record<string, unknown>)['unlisted'] = s.graph.unlisted;
  }
  if (s.observed !== undefined) o['observed'] = s.observed.map(observedJson);
  if (s.captured !== undefined) o['captured'] = s.captured.map((c) => ({ kind: c.kind, validUntil: c.validUntil, subject: c.subject, token: c.token, on: c.on }));
  if (s.destination !== undefined) o['destination'] = s.destination;
  if (s.via !== undefined) o['via'] = s.via;
  if (s.bytesAttempted !== undefined) o['bytesAttempted'] = s.bytesAttempted;
  if (s.bytesOut !== undefined) o['bytesOut'] = s.bytesOut;
  o['t'] = s.t;
  if (s.durationMs !== undefined) o['durationMs'] = s.durationMs;
  if (s.loc !== undefined) o['loc'] = { line: s.loc.line, col: s.loc.col };
  o['attack'] = s.attack;
  o['expectationMet'] = s.expectationMet;
  if (s.expectationNote !== undefined) o['expectationNote'] = s.expectationNote;
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
  if (r.shard !== undefined) {
    o['shard'] = { index: r.shard.index, count: r.shard.count, position: r.shard.position, total: r.shard.total, ...(r.shard.runSeed !== undefined ? { runSeed: r.shard.runSeed } : {}) };
  }
  if (r.baseline !== undefined) o['baseline'] = r.baseline;
  return o;
}

export function renderJson(results: readonly RunResult[]): string {
  const body = results.length === 1 ? resultJson(results[0] as RunResult) : results.map(resultJson);
  return jsonDocument(body);
}
