/**
 * `request`: does one request get through? It is sent at the step's time
 * through the mesh in time (sim/mesh/world.ts): the static pipeline of
 * policy/decide.ts, then rate limits, circuit breakers, the app's queue,
 * retries and timeouts.
 */
import type { Outcome as WorldOutcome, RequestSpec } from '../../sim/mesh/world.js';
import type { Outcome, StepResult } from '../types.js';
import { REQUEST_FIELDS, type ActionModule, type PlannedStep, type StepContext } from './types.js';

/** A step result from one request's outcome: code, mTLS, controls, and the evidence of every hop. */
export function requestResult(c: StepContext, p: PlannedStep, rs: RequestSpec, o: WorldOutcome, t: number): StepResult {
  const d = o.decision;
  const protocol = rs.req.protocol;
  const events = d.events.map((e) => ({ t, ...e }));
  const sent: NonNullable<StepResult['evidence']['sent']> = { from: p.from, to: p.step.to as string, protocol, tls: rs.req.tls };
  if (rs.req.bypass !== undefined) sent.bypass = rs.req.bypass;
  if (protocol !== 'tcp' && protocol !== 'tls') { sent.method = rs.req.method; sent.path = rs.req.path; sent.headers = { ...rs.req.headers }; }
  if (rs.req.sni !== undefined) sent.sni = rs.req.sni;
  const evidence: StepResult['evidence'] = { events, sent, latencyMs: Math.round(o.latencyMs * 1000) / 1000 };
  if (o.retries !== undefined) evidence.retries = o.retries;
  let outcome: Outcome = d.outcome;
  let stoppedBy = d.stoppedBy;
  let code = protocol === 'tcp' || protocol === 'tls' ? null : o.status;
  if (o.dynamic) {
    outcome = 'blocked';
    stoppedBy = [{ control: o.dynamic.control === 'App' ? 'Routing' : o.dynamic.control, name: o.dynamic.name, reason: o.dynamic.reason }];
    events.push({ t: t + o.latencyMs, hop: o.dynamic.control === 'CircuitBreaker' || o.dynamic.control === 'VirtualService' ? 'client-sidecar' : o.dynamic.control === 'App' ? 'app' : 'server-sidecar', what: `${o.dynamic.reason}${o.dynamic.flags ? ` (flag ${o.dynamic.flags})` : ''}` });
    if (o.dynamic.flags) evidence.flags = o.dynamic.flags;
    if (code === null && protocol !== 'tcp' && protocol !== 'tls') code = 0;
  } else {
    code = protocol === 'tcp' || protocol === 'tls' ? null : d.code;
    if (d.received) evidence.received = d.received;
    if (d.response) evidence.response = d.response;
    if (d.flags) evidence.flags = d.flags;
  }
  if (d.destination) evidence.destination = d.destination;
  if (d.peerPrincipal !== undefined) evidence.peerPrincipal = d.peerPrincipal;
  if (d.requestPrincipal !== undefined) evidence.requestPrincipal = d.requestPrincipal;
  if (d.path) evidence.proxies = d.path;
  if (d.authz) {
    evidence.authorization = {
      stage: d.authz.stage, rule: d.authz.decidedBy?.rule ?? null, details: d.authz.details, audited: d.authz.audited.map((a) => a.rule),
      shadow: d.authz.shadow.map((x) => ({ policy: x.policy, rule: x.rule?.rule ?? null, effect: x.effect })),
    };
  }
  const r: StepResult = { ...c.base(p), to: p.step.to as string, outcome, code, mtls: d.mtls, stoppedBy, expectationMet: null, evidence };
  if (d.grpcStatus !== undefined && !o.dynamic) r.grpcStatus = d.grpcStatus;
  return r;
}

export const requestAction: ActionModule = {
  action: 'request',
  fields: REQUEST_FIELDS,
  required: [{ field: 'to', hint: 'add to: <host>:<port>' }],
  requestLike: true,
  run(c, p) {
    const t = c.k.now;
    const rs = c.requestSpec(p, `step/${p.step.id}/lb`);
    c.world.send(rs, (o) => c.finish(p, requestResult(c, p, rs, o, t)));
  },
};
