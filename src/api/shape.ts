/**
 * The shape of a run result and a decision, checked where the library takes
 * them back (renderers, stepRecords, decisionJson): a JavaScript caller may
 * hand in an edited, hand-made or JSON-round-tripped result, and the
 * renderers read deep into it. Every field a renderer reads is checked for
 * its type (an enum for the values a renderer looks up by), so that a bad one
 * is a MeshrangeError naming its path — `results[0].steps[2].stoppedBy:
 * expected a list, got a string` — not a TypeError inside a renderer.
 *
 * One walk over the value, no copy; fields no renderer reads and extra fields
 * are left alone. A list's holes read as `undefined` and fail as such.
 */
import { quotedName } from '../loader/names.js';
import { CONTROL_KINDS } from '../scenario/expect.js';
import { MeshrangeError } from './library.js';

/** A check of the value at path `at`: returns when it fits, else throws ShapeError. */
type Check = (v: unknown, at: string) => void;

class ShapeError extends Error {
  constructor(readonly at: string, readonly expected: string, readonly got: string) { super(`${at}: expected ${expected}, got ${got}`); }
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return quotedName(v);
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

const fail = (at: string, expected: string, v: unknown): never => { throw new ShapeError(at, expected, kindOf(v)); };

const str: Check = (v, at) => { if (typeof v !== 'string') fail(at, 'a string', v); };
const num: Check = (v, at) => { if (typeof v !== 'number' || Number.isNaN(v)) fail(at, 'a number', v); };
const bool: Check = (v, at) => { if (typeof v !== 'boolean') fail(at, 'true or false', v); };
const any: Check = () => undefined;

function oneOf(values: readonly string[], what = `one of ${values.join(', ')}`): Check {
  const set = new Set(values);
  return (v, at) => { if (typeof v !== 'string' || !set.has(v)) fail(at, what, v); };
}
function nullable(c: Check): Check { return (v, at) => { if (v !== null) c(v, at); }; }
function opt(c: Check): Check { return (v, at) => { if (v !== undefined) c(v, at); }; }

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(fields: Readonly<Record<string, Check>>): Check {
  const entries = Object.entries(fields);
  return (v, at) => {
    if (!isObject(v)) return fail(at, 'an object', v);
    for (const [k, c] of entries) c(v[k], `${at}.${k}`);
  };
}

function list(c: Check): Check {
  return (v, at) => {
    if (!Array.isArray(v)) return fail(at, 'a list', v);
    // by index: a hole is undefined, refused by c, where forEach would skip it
    for (let i = 0; i < v.length; i++) c(v[i], `${at}[${i}]`);
  };
}

/** An object of `key → value` (statuses by code, headers): every value checked; the keys are data. */
function record(c: Check): Check {
  return (v, at) => {
    if (!isObject(v)) return fail(at, 'an object', v);
    for (const [k, x] of Object.entries(v)) c(x, `${at}[${JSON.stringify(k)}]`);
  };
}

const strings = list(str);
const OUTCOMES = ['allowed', 'blocked', 'partial'];
const control = oneOf(CONTROL_KINDS, 'a control kind (AuthorizationPolicy, PeerAuthentication, … as docs/report-format.md lists them)');
const stoppedBy = obj({ control, name: nullable(str), rule: opt(str), reason: str });
const defence = obj({ control, name: nullable(str), reason: str, sole: bool, removable: opt(bool) });
const controlSummary = obj({ control, name: nullable(str), stops: num, soleStops: num });

const evidence = obj({
  events: list(obj({ t: num, hop: str, what: str })),
  sent: opt(obj({ from: str, to: str, protocol: str, method: opt(str), path: opt(str), headers: opt(record(str)), tls: str, bypass: opt(bool), sni: opt(str) })),
  latencyMs: opt(num),
  retries: opt(num),
  flood: opt(obj({ sent: num, ok: num, statuses: record(num), p50ms: num, p99ms: num, windowMs: num, retries: opt(num),
    saturated: opt(obj({ n: num, by: strings, reason: str })) })),
  exfil: opt(obj({ chunks: num, chunkBytes: num, accepted: num, statuses: record(num) })),
  collateral: opt(list(obj({ flow: str, sent: num, ok: num, errorRate: num, p99ms: num, degraded: bool,
    baseline: nullable(obj({ errorRate: num, p99ms: num })), statement: str }))),
  stolen: opt(list(obj({ kind: str, subject: str, notAfter: nullable(num), validUntil: str, validForMs: nullable(num), note: str }))),
  replayed: opt(obj({ held: bool, subject: nullable(str), issuer: nullable(str), source: nullable(str), takenBy: nullable(str), validUntil: nullable(str), note: str })),
  impersonation: opt(obj({
    credential: str,
    certificate: opt(obj({ from: str, takenBy: str, notAfter: num, validUntil: str })),
    identityHeaders: opt(list(obj({ name: str, sent: str, received: nullable(str) }))),
    decidingRule: opt(nullable(obj({ rule: str, action: str, readsHeaders: strings }))),
    addresses: opt(obj({ claimed: str, seen: list(obj({ proxy: str, sourceIp: str, remoteIp: str })) })),
    statement: str,
  })),
  proxies: opt(strings),
  requestPrincipal: opt(nullable(str)),
  destination: opt(obj({ service: opt(str), workload: str, port: num, targetPort: num, protocol: str })),
  received: opt(obj({ method: str, path: str, headers: record(str) })),
  response: opt(obj({ status: num, headers: record(str), body: str })),
  flags: opt(str),
  cutOff: opt(obj({ atMs: num, reason: str })),
  peerPrincipal: opt(nullable(str)),
  authorization: opt(obj({ stage: str, rule: nullable(str), details: str, audited: strings,
    shadow: list(obj({ policy: str, rule: nullable(str), effect: str })) })),
});

const step = obj({
  id: str, action: str, outcome: oneOf(OUTCOMES), expected: nullable(oneOf(OUTCOMES)), expectedStoppedBy: opt(str), expectationNote: opt(str),
  loc: opt(obj({ line: num, col: num })), durationMs: opt(num), code: nullable(num), grpcStatus: opt(num), mtls: nullable(bool),
  stoppedBy: list(stoppedBy), defences: opt(list(defence)), attack: bool, expectationMet: nullable(bool), from: str, to: opt(str),
  as: opt(str), presented: opt(nullable(str)), using: opt(str), t: num,
  observed: opt(list(obj({ from: str, to: str, port: num, protocol: str, encrypted: bool, protectedBy: nullable(stoppedBy),
    exposed: obj({ paths: strings, headers: strings, tokens: strings, sensitive: strings }), requests: num, hop: obj({ from: str, to: str }), source: str }))),
  captured: opt(list(obj({ kind: str, validUntil: str, subject: nullable(str), token: str, on: str }))),
  destination: opt(str), via: opt(str), bytesAttempted: opt(num), bytesOut: opt(num),
  reached: opt(strings), compromised: opt(strings), hops: opt(num),
  graph: opt(obj({
    nodes: list(obj({ id: str, hop: nullable(num), compromised: bool })),
    edges: list(obj({ from: str, to: str, port: num, protocol: str, path: nullable(str), outcome: oneOf(['allowed', 'blocked']), stoppedBy: list(stoppedBy),
      hop: num, dial: str, deliveredTo: opt(nullable(str)), as: opt(str), bypass: opt(bool) })),
    unlisted: opt(obj({ allowed: num, blocked: num })),
  })),
  evidence,
});

const traffic = obj({ from: str, to: str, sent: num, ok: num, p99ms: num, p50ms: opt(num), p95ms: opt(num), errorRate: opt(num),
  statuses: opt(record(num)), stoppedBy: opt(record(num)), retries: opt(num),
  baseline: opt(obj({ sent: num, ok: num, p99ms: num, errorRate: num })), degraded: opt(bool) });

const trafficFlow = obj({ scenario: str, from: str, to: str, sent: num, ok: num });
const baselineStep = obj({ scenario: str, step: str, action: str, attack: bool, outcome: oneOf(OUTCOMES), stoppedBy: strings });
const baselineChange = obj({ scenario: str, step: str, action: str, attack: bool, before: oneOf(OUTCOMES), after: oneOf(OUTCOMES),
  kind: oneOf(['regression', 'improvement', 'broken', 'changed']), stoppedByBefore: strings, stoppedByAfter: strings });

const runResult = obj({
  scenario: str, description: opt(str), file: str, seed: num, verdict: oneOf(['breached', 'contained']),
  expectations: obj({ passed: num, failed: num }),
  steps: list(step), traffic: list(traffic), controls: list(controlSummary), warnings: strings,
  timeline: opt(obj({ bucketMs: num, series: list(obj({ key: str, ok: list(num), throttled: list(num), unavailable: list(num), other: list(num) })) })),
  shard: opt(obj({ index: num, count: num, position: num, total: num, runSeed: opt(nullable(num)) })),
  baseline: opt(obj({ file: str, regressions: list(baselineChange), improvements: list(baselineChange), changed: list(baselineChange),
    added: list(baselineStep), removed: list(baselineStep),
    traffic: list(obj({ scenario: str, from: str, to: str, before: num, after: num, kind: oneOf(['worse', 'better']) })),
    trafficAdded: list(trafficFlow), trafficRemoved: list(trafficFlow) })),
  fingerprint: str,
  mesh: opt(obj({ workloads: list(obj({ id: str, namespace: str, name: str, sidecar: bool, gateway: bool, mtls: str })) })),
});

const decision = obj({
  outcome: oneOf(['allowed', 'blocked']), code: nullable(num), grpcStatus: opt(num), mtls: nullable(bool),
  stoppedBy: list(stoppedBy), events: list(isObjectCheck()),
  flags: opt(str),
  authz: opt(obj({ stage: str, decidedBy: opt(nullable(obj({ rule: str }))), details: str, audited: list(obj({ rule: str })), shadow: list(any), dropped: any })),
});

function isObjectCheck(): Check { return (v, at) => { if (!isObject(v)) fail(at, 'an object', v); }; }

function checked(v: unknown, c: Check, at: string, hint: string): void {
  try {
    c(v, at);
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    throw new MeshrangeError([{ severity: 'error', code: 'bad-argument', message: e.message, hint }]);
  }
}

/** Throws MeshrangeError bad-argument at the first field of `v` that is not as a RunResult has it. */
export function checkRunResult(v: unknown, at: string): void {
  checked(v, runResult, at, 'pass the results runScenario or runScenarios returned, unchanged (or with fields of the same types)');
}

/** Throws MeshrangeError bad-argument at the first field of `v` that is not as a Decision has it. */
export function checkDecision(v: unknown, at: string): void {
  checked(v, decision, at, 'pass the decision decide returned');
}
