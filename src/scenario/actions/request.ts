/**
 * `request`: does one request get through? It is sent at the step's time
 * through the mesh in time (sim/mesh/world.ts): the static pipeline of
 * policy/decide.ts, then rate limits, circuit breakers, the app's queue,
 * retries and timeouts.
 */
import type { Outcome as WorldOutcome } from '../../sim/mesh/world.js';
import type { StolenToken } from '../attacker.js';
import type { Outcome, StepResult } from '../types.js';
import { REQUEST_FIELDS, type ActionModule, type PlannedStep, type StepContext, type StepRequest } from './types.js';

/** A step result from one request's outcome: code, mTLS, controls, and the evidence of every hop. */
export function requestResult(c: StepContext, p: PlannedStep, rs: StepRequest, o: WorldOutcome, t: number): StepResult {
  const d = o.decision;
  const protocol = rs.req.protocol;
  const events: StepResult['evidence']['events'] = d.events.map((e) => ({ t, ...e }));
  const replayed = rs.replay ? replayEvidence(c, rs.replay.token, t) : undefined;
  if (replayed) events.unshift({ t, hop: 'scenario', what: replayed.note });
  const sent: NonNullable<StepResult['evidence']['sent']> = { from: p.from, to: p.step.to as string, protocol, tls: rs.req.tls };
  if (rs.req.bypass !== undefined) sent.bypass = rs.req.bypass;
  if (protocol !== 'tcp' && protocol !== 'tls') { sent.method = rs.req.method; sent.path = rs.req.path; sent.headers = { ...rs.req.headers }; }
  if (rs.req.sni !== undefined) sent.sni = rs.req.sni;
  const evidence: StepResult['evidence'] = { events, sent, latencyMs: Math.round(o.latencyMs * 1000) / 1000 };
  if (replayed) evidence.replayed = replayed;
  if (o.retries !== undefined) evidence.retries = o.retries;
  let outcome: Outcome = d.outcome;
  let stoppedBy = d.stoppedBy;
  let code = protocol === 'tcp' || protocol === 'tls' ? null : o.status;
  if (o.dynamic) {
    outcome = 'blocked';
    stoppedBy = [{ control: o.dynamic.control, name: o.dynamic.name, reason: o.dynamic.reason }];
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

/** `jwt: stolen` (product.md §2, issue 8): which token went, from where, valid until when — or that none did. */
export function replayEvidence(c: StepContext, held: StolenToken | null, t: number): NonNullable<StepResult['evidence']['replayed']> {
  if (held === null) {
    return { held: false, subject: null, issuer: null, source: null, takenBy: null, validUntil: null,
      note: 'jwt: stolen — the attacker holds no token yet (steal-credentials what: jwt, or a sniff, fills it), so the request goes without one' };
  }
  const validUntil = held.exp === null ? null : new Date(held.exp * 1000).toISOString();
  const nowS = (c.epochMs + t) / 1000;
  const state = held.exp === null ? 'it has no exp claim' : held.exp >= nowS ? `it expires at ${validUntil ?? ''}` : `it expired at ${validUntil ?? ''} (a RequestAuthentication allows 60 s of clock skew)`;
  return { held: true, subject: held.subject, issuer: held.issuer, source: held.source, takenBy: held.step, validUntil,
    note: `jwt: stolen — replays the token of ${held.subject ?? '(no sub)'} ${held.source}, taken by step ${held.step}; ${state}` };
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
