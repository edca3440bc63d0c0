/**
 * `sniff`: what does a passive observer read in clear text? For `window`, the
 * attacker watches one observation point (`on`):
 *   - `any`                      every hop in the mesh;
 *   - `node:<ns>/<name>`         every hop to or from that workload's pod (a tap
 *                                on its node's network, not inside the pod);
 *   - `link:<ns>/<a>,<ns>/<b>`   the hops between two workloads, either way
 *                                (`outside` may be one end: the edge link).
 * It reads the legitimate `traffic:` flows (with their headers) and the
 * requests of steps acting from other workloads than the foothold — not the
 * attacker's own. Each request is decided by the engine that decides every
 * request (policy/decide.ts); its decision lists each hop it put on the
 * network and what encrypted that hop (policy/wire.ts): a sidecar-to-sidecar
 * flow is Istio mTLS on the wire though both apps speak plaintext; a client
 * without a sidecar sends plaintext even into a STRICT server, which refuses
 * it only after the bytes crossed (istio-semantics §4); a flow through a
 * gateway has two hops. A request refused by its own client sidecar's
 * circuit breaker never left the pod and is not counted.
 * Outcome: `allowed` if any flow crossed in clear, else `blocked`, stopped by
 * the controls that encrypted what was seen. Bearer JWTs read off the wire
 * become attacker state (`captured`), valid until their exp.
 */
import { parseDuration } from '../../core/duration.js';
import type { StoppedBy } from '../../policy/decide.js';
import type { WireHop } from '../../policy/pipeline.js';
import type { Outcome as WorldOutcome } from '../../sim/mesh/world.js';
import type { CapturedCredential, Exposure, ObservedFlow, StepResult } from '../types.js';
import { readRequest, redact } from './exposure.js';
import { peekJwt } from './steal-credentials.js';
import type { ActionModule, RequestOrigin, SentRequest, StepContext } from './types.js';
import { byCodeUnit } from '../../core/text.js';

/** Longest window one sniff may watch. */
export const MAX_SNIFF_WINDOW_MS = 24 * 3_600_000;
/** How long after its window a sniff waits for requests sent inside it to finish. */
export const SNIFF_DRAIN_MS = 30_000;

export type ObservationPoint =
  | { kind: 'any' }
  | { kind: 'node'; workload: string }
  | { kind: 'link'; a: string; b: string };

export const ON_SYNTAX = '`any`, `node:<namespace>/<workload>`, or `link:<namespace>/<a>,<namespace>/<b>` (one end may be `outside`)';

function nameOk(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46)) return false;
  }
  return true;
}

function workloadRef(s: string, outsideOk: boolean): string | null {
  const t = s.trim();
  if (outsideOk && t === 'outside') return t;
  const parts = t.split('/');
  return parts.length === 2 && nameOk(parts[0] as string) && nameOk(parts[1] as string) ? t : null;
}

/** Parses `on` (no regular expression); a string is the problem. */
export function parseObservationPoint(text: string): ObservationPoint | string {
  const t = text.trim();
  if (t === 'any') return { kind: 'any' };
  if (t.startsWith('node:')) {
    const w = workloadRef(t.slice(5), false);
    return w ? { kind: 'node', workload: w } : `"${text}": node: takes one workload, namespace/name`;
  }
  if (t.startsWith('link:')) {
    const ends = t.slice(5).split(',');
    if (ends.length !== 2) return `"${text}": link: takes two workloads separated by a comma`;
    const a = workloadRef(ends[0] as string, true);
    const b = workloadRef(ends[1] as string, true);
    if (!a || !b) return `"${text}": each end of a link is namespace/name or outside`;
    if (a === b) return `"${text}": a link joins two different workloads`;
    return { kind: 'link', a, b };
  }
  return `"${text}" is not an observation point`;
}

export function workloadsOf(p: ObservationPoint): string[] {
  return p.kind === 'node' ? [p.workload] : p.kind === 'link' ? [p.a, p.b].filter((w) => w !== 'outside') : [];
}

export function crosses(p: ObservationPoint, hop: Pick<WireHop, 'from' | 'to'>): boolean {
  if (p.kind === 'any') return true;
  if (p.kind === 'node') return hop.from === p.workload || hop.to === p.workload;
  return (hop.from === p.a && hop.to === p.b) || (hop.from === p.b && hop.to === p.a);
}

function describe(p: ObservationPoint): string {
  return p.kind === 'any' ? 'every hop of the mesh' : p.kind === 'node' ? `the node of ${p.workload}` : `the link ${p.a} ↔ ${p.b}`;
}

function sourceOf(o: RequestOrigin): string {
  return o.kind === 'flow' ? `traffic[${o.index}]` : `step ${o.id}`;
}

interface Entry {
  rank: [number, string, number];
  flow: ObservedFlow;
}

function protectionKey(b: StoppedBy | null): string {
  return b ? `${b.control}|${b.name ?? ''}` : 'clear';
}

export const sniffAction: ActionModule = {
  action: 'sniff',
  fields: ['on', 'window'],
  required: [
    { field: 'on', hint: `add on: with ${ON_SYNTAX}` },
    { field: 'window', hint: 'add window: <duration>, e.g. 30s (how long the observer watches)' },
  ],
  lasts: (step) => Math.max(0, parseDuration(step.window ?? '0s') ?? 0),
  check({ step, path, src, issues }) {
    if (step.on !== undefined) {
      const p = parseObservationPoint(step.on);
      if (typeof p === 'string') issues.error('sniff-bad-on', `step "${step.id}": on ${p}`, src.locate([...path, 'on']), `write ${ON_SYNTAX}`);
    }
    if (step.window !== undefined) {
      const ms = parseDuration(step.window);
      if (ms !== null && (ms <= 0 || ms > MAX_SNIFF_WINDOW_MS)) {
        issues.error('sniff-bad-window', `step "${step.id}": window ${step.window} must be more than 0 and at most 24h`, src.locate([...path, 'window']), 'give how long the observer watches, e.g. 30s');
      }
    }
  },
  bind({ step, path, src, issues, mesh }) {
    if (step.on === undefined) return;
    const p = parseObservationPoint(step.on);
    if (typeof p === 'string') return;
    for (const w of workloadsOf(p)) {
      if (mesh.workloads.some((x) => x.id === w)) continue;
      const ns = w.split('/')[0];
      const near = mesh.workloads.filter((x) => x.namespace === ns).map((x) => x.id).slice(0, 5);
      issues.error('unknown-workload', `step "${step.id}": on names "${w}", which is not a workload of the mesh`, src.locate([...path, 'on']),
        near.length > 0 ? `did you mean ${near.join(', ')}?` : 'name a Deployment, StatefulSet, DaemonSet or Pod as namespace/name');
    }
  },
  run(c, p) {
    const point = parseObservationPoint(p.step.on as string) as ObservationPoint;
    const sensitive = new Set(Object.entries(c.scenario.doc.spec.workloads ?? {}).filter(([, f]) => f.sensitive === true).map(([id]) => id));
    const entries = new Map<string, Entry>();
    const exposure = new Map<string, { paths: Set<string>; headers: Set<string>; tokens: Set<string>; sensitive: Set<string> }>();
    const captured: CapturedCredential[] = [];
    const seen = new Set<string>();
    let pending = 0;
    let closed = false;
    let done = false;

    const capture = (token: string, hop: WireHop): void => {
      if (seen.has(token)) return;
      seen.add(token);
      const claims = peekJwt(token);
      if (!claims) return; // not a JWT: listed as exposed, not usable as a credential here
      const nowS = (c.epochMs + c.k.now) / 1000;
      if (claims.exp !== null && claims.exp <= nowS) return;
      const on = `${hop.from} → ${hop.to}`;
      captured.push({ kind: 'jwt', validUntil: claims.exp === null ? 'never (no exp claim)' : new Date(claims.exp * 1000).toISOString(), subject: claims.sub, token: redact(token), on });
      c.attacker.addToken({ token, subject: claims.sub, issuer: claims.iss, exp: claims.exp, source: `sniffed on ${on}`, step: p.step.id });
    };

    const observe = (r: SentRequest, o: WorldOutcome): void => {
      // Answered by the client's own sidecar (circuit breaker, outlier ejection, outbound rate limit): it never left the pod.
      if (o.local === true) return;
      (o.decision.wire ?? []).forEach((hop, i) => {
        if (!crosses(point, hop)) return;
        const key = `${sourceOf(r.origin)}|${i}|${hop.from}|${hop.to}|${hop.port}|${protectionKey(hop.protectedBy)}`;
        let e = entries.get(key);
        let x = exposure.get(key);
        if (!e || !x) {
          x = { paths: new Set(), headers: new Set(), tokens: new Set(), sensitive: new Set() };
          const flow: ObservedFlow = { from: r.origin.from, to: r.origin.to, port: hop.port, protocol: hop.protocol, encrypted: hop.protectedBy !== null, protectedBy: hop.protectedBy,
            exposed: { paths: [], headers: [], tokens: [], sensitive: [] }, requests: 0, hop: { from: hop.from, to: hop.to }, source: sourceOf(r.origin) };
          e = { rank: [r.origin.kind === 'flow' ? r.origin.index : Number.MAX_SAFE_INTEGER, r.origin.kind === 'step' ? r.origin.id : '', i], flow };
          entries.set(key, e);
          exposure.set(key, x);
        }
        e.flow.requests++;
        if (hop.protectedBy !== null) return;
        for (const w of [hop.from, hop.to]) if (sensitive.has(w)) x.sensitive.add(w);
        if (!hop.request) return;
        const read = readRequest(hop.request);
        x.paths.add(read.path);
        for (const h of read.headers) x.headers.add(h);
        for (const t of read.tokens) { x.tokens.add(redact(t)); capture(t, hop); }
      });
    };

    const finish = (): void => {
      if (done) return;
      done = true;
      const observed = [...entries.entries()]
        .sort(([ka, a], [kb, b]) => a.rank[0] - b.rank[0] || byCodeUnit(a.rank[1], b.rank[1]) || a.rank[2] - b.rank[2] || byCodeUnit(ka, kb))
        .map(([key, e]) => {
          const x = exposure.get(key);
          const exposed: Exposure = { paths: [...(x?.paths ?? [])].sort(), headers: [...(x?.headers ?? [])].sort(), tokens: [...(x?.tokens ?? [])].sort(), sensitive: [...(x?.sensitive ?? [])].sort() };
          return { ...e.flow, exposed };
        });
      c.finish(p, sniffResult(c.base(p), p.step.on as string, point, observed, captured, pending, p.at, c.k.now));
    };

    const stop = c.tap((r) => {
      if (r.origin.kind === 'step' && r.origin.attack) return undefined;
      pending++;
      return (o) => {
        if (done) return;
        pending--;
        observe(r, o);
        if (closed && pending === 0) finish();
      };
    });
    c.k.at(p.end, () => {
      closed = true;
      stop();
      if (pending === 0) finish();
      else c.k.schedule(SNIFF_DRAIN_MS, finish);
    });
  },
};

function sniffResult(base: ReturnType<StepContext['base']>, on: string, point: ObservationPoint, observed: ObservedFlow[],
  captured: CapturedCredential[], unfinished: number, at: number, t: number): StepResult {
  const clear = observed.filter((f) => !f.encrypted);
  const outcome = clear.length > 0 ? 'allowed' : 'blocked';
  const stoppedBy: StoppedBy[] = [];
  if (outcome === 'blocked') {
    const by = new Map<string, { b: StoppedBy; n: number }>();
    for (const f of observed) {
      if (!f.protectedBy) continue;
      const k = protectionKey(f.protectedBy);
      const e = by.get(k);
      if (e) e.n++; else by.set(k, { b: f.protectedBy, n: 1 });
    }
    for (const { b, n } of [...by.values()].sort((x, y) => y.n - x.n || byCodeUnit(x.b.control, y.b.control) || byCodeUnit(x.b.name ?? '', y.b.name ?? ''))) {
      stoppedBy.push({ ...b, reason: `${n} of ${observed.length} observed flow${observed.length === 1 ? '' : 's'} encrypted: ${b.reason}` });
    }
  }
  const requests = observed.reduce((n, f) => n + f.requests, 0);
  const events: StepResult['evidence']['events'] = [
    { t: at, hop: 'scenario', what: `a passive observer watches ${describe(point)} (on: ${on})` },
    { t, hop: 'scenario', what: observed.length === 0
      ? 'no request crossed the observation point during the window: nothing to read'
      : `${observed.length} flow${observed.length === 1 ? '' : 's'} crossed (${requests} requests): ${clear.length} in clear, ${observed.length - clear.length} encrypted` },
  ];
  for (const f of clear) {
    const what = [f.exposed.paths.length > 0 ? `paths ${f.exposed.paths.join(', ')}` : '', f.exposed.headers.length > 0 ? `headers ${f.exposed.headers.join(', ')}` : '', f.exposed.tokens.length > 0 ? `bearer tokens ${f.exposed.tokens.join(', ')}` : '',
      f.exposed.sensitive.length > 0 ? `traffic of ${f.exposed.sensitive.join(', ')} (marked sensitive)` : ''].filter((s) => s !== '').join('; ');
    events.push({ t, hop: 'scenario', what: `${f.hop.from} → ${f.hop.to} port ${f.port} crosses in clear (${f.source}, ${f.requests} requests)${what ? `: ${what}` : ''}` });
  }
  for (const cr of captured) events.push({ t, hop: 'scenario', what: `the attacker reads a JWT (${cr.token}, sub ${cr.subject ?? '-'}) on ${cr.on}, valid until ${cr.validUntil}` });
  if (unfinished > 0) events.push({ t, hop: 'scenario', what: `${unfinished} requests sent in the window had no answer ${SNIFF_DRAIN_MS / 1000}s after it and are not counted` });
  return { ...base, outcome, code: null, mtls: null, stoppedBy, expectationMet: null, observed, captured, evidence: { events } };
}
