/**
 * `flood`: Poisson arrivals at `rate` for `for` from the acting workload.
 * Does flooding hurt the target, and do rate limits and circuit breakers
 * hold? The legitimate flows are measured during the flood's window, and the
 * scenario is replayed without its load steps to compare (simulate.ts).
 */
import { parseDuration, parseRate } from '../../core/duration.js';
import type { StoppedBy } from '../../policy/decide.js';
import { FlowStats } from '../../sim/mesh/stats.js';
import type { Outcome, StepResult } from '../types.js';
import { replayEvidence } from './request.js';
import { REQUEST_FIELDS, type ActionModule, type PlannedStep } from './types.js';
import { byCodeUnit } from '../../core/text.js';

/**
 * A load step's outcome from how many of its units got through out of how many were sent. A flood counts a request
 * the overwhelmed app refused itself (Saturation) as through: it passed every control, and the app's refusal is what
 * the flood wanted — a DoS that fills the queue is `allowed`, never `blocked` (floodResult).
 */
export function outcomeOf(ok: number, sent: number): Outcome {
  if (sent > 0 && ok === sent) return 'allowed';
  return ok === 0 ? 'blocked' : 'partial';
}

export const floodAction: ActionModule = {
  action: 'flood',
  fields: [...REQUEST_FIELDS, 'rate', 'for'],
  required: [
    { field: 'to', hint: 'add to: <host>:<port>' },
    { field: 'rate', hint: 'add rate: 200/s' },
    { field: 'for', hint: 'add for: 10s' },
  ],
  requestLike: true,
  load: true,
  lasts: (step) => parseDuration(step.for ?? '0s') ?? 0,
  run(c, p) {
    const { k, world } = c;
    const step = p.step;
    const rate = parseRate(step.rate as string) as number;
    const rs = c.requestSpec(p, `flood/${step.id}/lb`);
    rs.cacheKey = `flood/${step.id}`;
    const replayed = rs.replay ? replayEvidence(c, rs.replay.token, k.now) : undefined;
    const st = new FlowStats();
    const stops = new Map<string, { stop: StoppedBy; n: number }>();
    const sat: Saturation = { n: 0, by: [] };
    let outstanding = 0;
    let generating = true;
    let done = false;
    const finish = (): void => {
      if (generating || outstanding > 0 || done) return;
      done = true;
      const r = floodResult(c.base(p), p, st, stops, rate, sat);
      if (replayed) {
        r.evidence.events.unshift({ t: p.at, hop: 'scenario', what: replayed.note });
        r.evidence.replayed = replayed;
      }
      c.finish(p, r);
    };
    c.onCutOff(p, () => {
      done = true;
      const r = floodResult(c.base(p), p, st, stops, rate, sat);
      // requests still unanswered got nothing through
      r.outcome = outcomeOf(st.ok + sat.n, st.sent + outstanding);
      r.evidence.cutOff = { atMs: k.now, reason: `the run ended with ${outstanding} of the flood's requests still unanswered (slow app, deep queue or retries): cut off` };
      return r;
    });
    const arrive = (): void => {
      if (k.now >= p.end) { generating = false; finish(); return; }
      outstanding++;
      const sentAt = k.now;
      world.send(rs, (o) => {
        outstanding--;
        const status = o.status === null && o.decision.outcome === 'allowed' && !o.dynamic ? 200 : o.status;
        const grpc = o.dynamic ? undefined : o.decision.grpcStatus;
        st.record(status, o.latencyMs, undefined, o.retries, grpc);
        c.timeline.record(`step ${step.id}`, sentAt, status, grpc);
        const blocked = status === null || status >= 400 || o.decision.outcome === 'blocked';
        if (blocked && o.dynamic?.control === 'App') {
          // the app itself, overwhelmed: what the flood achieved, not a control that stopped it
          sat.n++;
          const who = o.dynamic.name ?? 'the app';
          if (!sat.by.includes(who)) sat.by.push(who);
          sat.reason ??= o.dynamic.reason;
        } else if (blocked) {
          const stop: StoppedBy = o.dynamic && o.dynamic.control !== 'App' ? { control: o.dynamic.control, name: o.dynamic.name, reason: o.dynamic.reason } : (o.decision.stoppedBy[0] ?? { control: 'Routing', name: null, reason: 'refused' });
          const key = `${stop.control}|${stop.name ?? ''}`;
          const e = stops.get(key);
          if (e) e.n++; else stops.set(key, { stop, n: 1 });
        }
        finish();
      });
      k.schedule(k.exponential(`flood/${step.id}/arrivals`, 1000 / rate), arrive);
    };
    arrive();
  },
};

/** Requests the destination app refused itself (its concurrency and queue full), by app, with the first reason. */
interface Saturation { n: number; by: string[]; reason?: string }

function floodResult(base: Pick<StepResult, 'id' | 'action' | 'expected' | 'attack' | 'from' | 't'>, p: PlannedStep, st: FlowStats, stops: Map<string, { stop: StoppedBy; n: number }>, rate: number, sat: Saturation): StepResult {
  const stoppedBy: StoppedBy[] = [...stops.values()]
    .sort((a, b) => b.n - a.n || byCodeUnit(a.stop.control, b.stop.control))
    .map(({ stop, n }) => ({ ...stop, reason: `${n} of ${st.sent} requests: ${stop.reason}` }));
  const t = p.at;
  const hist = st.histogram();
  const saturated = sat.n > 0 ? { n: sat.n, by: [...sat.by].sort(byCodeUnit), reason: sat.reason ?? 'saturated' } : undefined;
  const r: StepResult = {
    ...base, to: p.step.to as string, outcome: outcomeOf(st.ok + sat.n, st.sent), code: null, mtls: null, stoppedBy, expectationMet: null,
    evidence: {
      events: [
        { t, hop: 'scenario', what: `flood of ${p.step.rate} (${rate.toFixed(1)}/s, Poisson) from ${p.from} to ${p.step.to} for ${p.step.for}` },
        { t: p.end, hop: 'scenario', what: `${st.sent} sent, ${st.ok} answered 2xx/3xx; statuses ${Object.entries(hist).map(([k2, v]) => `${k2}×${v}`).join(', ')}` },
      ],
      flood: { sent: st.sent, ok: st.ok, statuses: hist, p50ms: st.percentile(50), p99ms: st.percentile(99), windowMs: p.end - p.at, ...(st.retries > 0 ? { retries: st.retries } : {}),
        ...(saturated ? { saturated } : {}) },
    },
  };
  if (saturated) {
    r.evidence.events.push({ t: p.end, hop: 'app', what: `${saturated.n} of ${st.sent} requests refused by ${saturated.by.join(', ')} itself, overwhelmed (${saturated.reason}): what the flood achieved, not a control that stopped it` });
  }
  return r;
}
