/**
 * A scenario in simulated time: the CA and every proxy's certificate, the
 * legitimate `traffic:` as open-loop Poisson flows, and the steps at their
 * times, all on one discrete-event kernel (src/sim). When the scenario has
 * traffic and attack steps, it is played twice with the same seed — once
 * without the attack steps — so the report can say which legitimate flows
 * the attack (or a control) broke.
 */
import { parseDuration, parseRate } from '../core/duration.js';
import { fnv1a64, stableStringify } from '../core/hash.js';
import type { Mesh, Workload } from '../model/types.js';
import { principalOf, spiffeId } from '../model/types.js';
import type { ExtAuthz } from '../policy/authorization-policy.js';
import { DEFAULT_OUTSIDE_IP, type MeshRequest, type Protocol, type StoppedBy } from '../policy/decide.js';
import { Kernel } from '../sim/kernel/index.js';
import { MeshCa } from '../sim/mesh/ca.js';
import { certificateProblem, CertificateFleet, formatSimTime } from '../sim/mesh/certificates.js';
import { MeshControls } from '../sim/mesh/controls.js';
import { DEFAULT_FACTS, type ServerFacts } from '../sim/mesh/server.js';
import { FlowStats } from '../sim/mesh/stats.js';
import { World, type Outcome, type RequestSpec } from '../sim/mesh/world.js';
import type { LoadedScenario } from './load.js';
import type { StepDoc } from './schema.js';
import { signaturesFor, TokenMinter } from './tokens.js';
import type { Outcome as StepOutcome, RunResult, StepResult, TrafficResult } from './types.js';

export const DEFAULT_START_TIME = '2026-01-01T00:00:00Z';
/** ms one proxy adds each way: ~2.5 ms per request across client and server sidecars (the seeds' figure) */
export const DEFAULT_PROXY_OVERHEAD_MS = 0.625;

export interface SimulateOptions {
  seed?: number;
  jwks?: Readonly<Record<string, string>>;
  warnings?: string[];
  extAuthz?: ExtAuthz | undefined;
}

interface PlannedStep {
  step: StepDoc;
  index: number;
  at: number;
  end: number;
  from: string;
  attack: boolean;
  headers: Record<string, string>;
  jwt?: RequestSpec['jwt'];
}

interface PlannedFlow {
  index: number;
  from: string;
  to: string;
  rate: number;
  protocol: Protocol;
  method: string;
  path: string;
  headers: Record<string, string>;
  jwt?: RequestSpec['jwt'];
}

function target(mesh: Mesh, to: string): MeshRequest['to'] {
  const colon = to.lastIndexOf(':');
  const host = to.slice(0, colon);
  const port = Number(to.slice(colon + 1));
  if (host.startsWith('workload/')) {
    const w = mesh.workloads.find((x) => x.id === host.slice('workload/'.length)) as Workload;
    return { kind: 'workload', workload: w, port };
  }
  return { kind: 'host', host, port };
}

function source(mesh: Mesh, from: string, ip?: string): MeshRequest['from'] {
  return from === 'outside' ? { kind: 'outside', ip: ip ?? DEFAULT_OUTSIDE_IP } : { kind: 'workload', workload: mesh.workloads.find((w) => w.id === from) as Workload };
}

function factsOf(s: LoadedScenario): (w: Workload) => ServerFacts {
  const spec = s.doc.spec.workloads ?? {};
  return (w) => {
    const f = spec[w.id];
    const anno = (k: string): string | undefined => w.sim[k];
    const num = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
    return {
      serviceTimeMs: (f?.serviceTime ? parseDuration(f.serviceTime) : anno('service-time') ? parseDuration(anno('service-time') as string) : null) ?? DEFAULT_FACTS.serviceTimeMs,
      concurrency: f?.concurrency ?? num(anno('concurrency')) ?? DEFAULT_FACTS.concurrency,
      queue: f?.queue ?? num(anno('queue')) ?? DEFAULT_FACTS.queue,
    };
  };
}

function outcomeOf(ok: number, sent: number): StepOutcome {
  if (sent > 0 && ok === sent) return 'allowed';
  return ok === 0 ? 'blocked' : 'partial';
}

interface SimRun {
  fingerprint: string;
  flows: FlowStats[];
  /** per flood step id, per flow: the flow's stats while the flood ran */
  windows: Map<string, FlowStats[]>;
  steps: Map<string, StepResult>;
  decisions: number;
  events: number;
}

export async function simulateScenario(s: LoadedScenario, mesh: Mesh, opts: SimulateOptions): Promise<RunResult> {
  const spec = s.doc.spec;
  const seed = opts.seed ?? spec.seed ?? 1;
  const epochMs = Date.parse(spec.startTime ?? DEFAULT_START_TIME);
  const standIns = opts.jwks ?? {};
  const minter = new TokenMinter(mesh, standIns, seed, epochMs / 1000);
  const named = new Map<string, string>();
  for (const [name, c] of Object.entries(spec.tokens ?? {})) named.set(name, await minter.mint(c, 0));
  const foothold = spec.attacker.foothold;

  // Plan: when each step runs. `at` sets the time; a flood or a wait lasts `for`.
  const planned: PlannedStep[] = [];
  let now = 0;
  for (const [index, step] of spec.steps.entries()) {
    const at = Math.max(now, step.at !== undefined ? (parseDuration(step.at) as number) : now);
    const lasts = step.action === 'flood' || step.action === 'wait' ? (parseDuration(step.for ?? '0s') as number) : 0;
    const from = step.from ?? foothold;
    const headers: Record<string, string> = { ...(step.headers ?? {}) };
    const token = step.token ?? (typeof step.jwt === 'string' ? named.get(step.jwt) : step.jwt ? await minter.mint(step.jwt, at) : undefined);
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    const p: PlannedStep = { step, index, at, end: at + lasts, from, attack: from === foothold, headers };
    if (step.action === 'request' || step.action === 'flood') {
      p.jwt = { nowSeconds: (epochMs + at) / 1000, sigs: await signaturesFor(mesh, standIns, { headers, path: step.path ?? '/', method: step.method ?? 'GET' }) };
    }
    planned.push(p);
    now = p.end;
  }
  const flows: PlannedFlow[] = [];
  for (const [index, f] of (spec.traffic ?? []).entries()) {
    const headers = { ...(f.headers ?? {}) };
    const flow: PlannedFlow = { index, from: f.from, to: f.to, rate: parseRate(f.rate) as number, protocol: (f.protocol ?? 'http') as Protocol, method: f.method ?? 'GET', path: f.path ?? '/', headers };
    flow.jwt = { nowSeconds: epochMs / 1000, sigs: await signaturesFor(mesh, standIns, { headers, path: flow.path, method: flow.method }) };
    flows.push(flow);
  }
  const stepsEnd = planned.reduce((m, p) => Math.max(m, p.end), 0);
  const duration = spec.duration !== undefined ? (parseDuration(spec.duration) as number)
    : flows.length > 0 ? Math.max(30_000, stepsEnd + 10_000) : stepsEnd;

  const ctx = { s, mesh, seed, epochMs, planned, flows, duration, facts: factsOf(s), extAuthz: opts.extAuthz };
  const run = simulate(ctx, true);
  const hasAttackTraffic = planned.some((p) => p.step.action === 'flood');
  const baseline = flows.length > 0 && hasAttackTraffic ? simulate(ctx, false) : null;

  const steps = planned.map((p) => run.steps.get(p.step.id) as StepResult);
  for (const p of planned) {
    const r = run.steps.get(p.step.id);
    if (r && p.step.action === 'flood' && flows.length > 0) {
      const during = run.windows.get(p.step.id) ?? [];
      const before = baseline?.windows.get(p.step.id) ?? [];
      r.evidence.collateral = flows.map((f, i) => collateral(f, during[i], before[i])).filter((x): x is NonNullable<typeof x> => x !== null);
    }
  }
  let passed = 0;
  let failed = 0;
  for (const r of steps) {
    if (r.expectationMet === true) passed++;
    else if (r.expectationMet === false) failed++;
  }
  const breached = steps.some((r) => r.attack && r.action !== 'wait' && (r.outcome === 'allowed' || r.outcome === 'partial'));
  const traffic: TrafficResult[] = flows.map((f, i) => trafficResult(f, run.flows[i] as FlowStats, baseline?.flows[i]));
  const out: RunResult = {
    scenario: s.doc.metadata.name,
    file: s.file,
    seed,
    verdict: breached ? 'breached' : 'contained',
    expectations: { passed, failed },
    steps,
    traffic,
    warnings: opts.warnings ?? [],
    fingerprint: '',
  };
  if (s.doc.metadata.description !== undefined) out.description = s.doc.metadata.description;
  out.fingerprint = fnv1a64(`${run.fingerprint}/${stableStringify(steps.map((x) => [x.id, x.outcome, x.code, x.mtls, x.evidence.events]))}`);
  return out;
}

function trafficResult(f: PlannedFlow, st: FlowStats, base: FlowStats | undefined): TrafficResult {
  const r: TrafficResult = {
    from: f.from, to: f.to, sent: st.sent, ok: st.ok, p99ms: st.percentile(99),
    p50ms: st.percentile(50), p95ms: st.percentile(95), errorRate: st.errorRate(), statuses: st.histogram(),
  };
  const stopped = st.stoppedBy();
  if (Object.keys(stopped).length > 0) r.stoppedBy = stopped;
  if (st.retries > 0) r.retries = st.retries;
  if (base) {
    r.baseline = { sent: base.sent, ok: base.ok, p99ms: base.percentile(99), errorRate: base.errorRate() };
    r.degraded = degraded(st, base);
  }
  return r;
}

function degraded(st: FlowStats, base: FlowStats): boolean {
  return st.errorRate() > base.errorRate() + 0.01 || st.percentile(99) > base.percentile(99) * 1.5 + 1;
}

function collateral(f: PlannedFlow, during: FlowStats | undefined, before: FlowStats | undefined): NonNullable<StepResult['evidence']['collateral']>[number] | null {
  if (!during || during.sent === 0) return null;
  const c = { flow: `${f.from} → ${f.to}`, sent: during.sent, ok: during.ok, errorRate: during.errorRate(), p99ms: during.percentile(99), degraded: false,
    baseline: before ? { errorRate: before.errorRate(), p99ms: before.percentile(99) } : null, statement: '' };
  c.degraded = before ? degraded(during, before) : during.errorRate() > 0.01;
  const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;
  c.statement = before
    ? `${c.flow}: error rate ${pct(before.errorRate())} → ${pct(c.errorRate)}, p99 ${before.percentile(99)} → ${c.p99ms} ms${c.degraded ? ' (degraded)' : ''}`
    : `${c.flow}: error rate ${pct(c.errorRate)}, p99 ${c.p99ms} ms`;
  return c;
}

interface Ctx {
  s: LoadedScenario;
  mesh: Mesh;
  seed: number;
  epochMs: number;
  planned: PlannedStep[];
  flows: PlannedFlow[];
  duration: number;
  facts: (w: Workload) => ServerFacts;
  extAuthz: ExtAuthz | undefined;
}

function simulate(c: Ctx, withSteps: boolean): SimRun {
  const { mesh, s } = c;
  const spec = s.doc.spec;
  const k = new Kernel({ seed: c.seed });
  const outages = [...(spec.ca?.outages ?? []), ...(spec.ca?.outage ? [spec.ca.outage] : [])]
    .map((o) => ({ atMs: parseDuration(o.at) as number, forMs: parseDuration(o.for) as number }));
  const ttl = spec.ca?.workloadCertTtl ? parseDuration(spec.ca.workloadCertTtl) : null;
  const ca = new MeshCa(k, ttl ? { outages, workloadTtlMs: ttl } : { outages });
  const proxies = mesh.workloads.filter((w) => w.sidecar || w.gateway);
  const fleet = new CertificateFleet(k, ca, proxies.map((w) => ({ id: w.id, spiffe: spiffeId(principalOf(mesh.config.trustDomain, w.namespace, w.serviceAccount)) })));
  fleet.start();
  const hasCert = new Set(proxies.map((w) => w.id));
  const certProblem = (id: string): string | null => {
    if (!hasCert.has(id)) return null;
    const cert = fleet.certOf(id);
    return cert !== null && k.now >= cert.notBefore && k.now < cert.notAfter ? null : certificateProblem(cert, k.now);
  };
  const controls = new MeshControls(mesh, k.rng('rate-limit'));
  const base = c.extAuthz ? { extAuthz: c.extAuthz, pick: k.rng('route-weights') } : { pick: k.rng('route-weights') };
  const world = new World(k, mesh, { facts: c.facts, proxyOverheadMs: spec.proxyOverhead ? (parseDuration(spec.proxyOverhead) as number) : DEFAULT_PROXY_OVERHEAD_MS, base, certProblem, controls });

  const flowStats = c.flows.map(() => new FlowStats());
  // Every run (the baseline too) measures the flows during each flood's window, so "during" and "before" cover the same span.
  const windowSpans = c.planned.filter((p) => p.step.action === 'flood').map((p) => ({ id: p.step.id, at: p.at, end: p.end }));
  const windows = new Map<string, FlowStats[]>(windowSpans.map((w) => [w.id, c.flows.map(() => new FlowStats())]));

  // Legitimate traffic: open-loop Poisson arrivals until `duration`.
  for (const f of c.flows) {
    const st = flowStats[f.index] as FlowStats;
    const req: MeshRequest = { from: source(mesh, f.from), to: target(mesh, f.to), protocol: f.protocol, method: f.method, path: f.path, headers: f.headers, tls: 'auto' };
    const rs: RequestSpec = { req, cacheKey: `flow/${f.index}`, pick: k.rng(`flow/${f.index}/lb`) };
    if (f.jwt) rs.jwt = f.jwt;
    const mean = 1000 / f.rate;
    const arrive = (): void => {
      if (k.now >= c.duration) return;
      const t0 = k.now;
      world.send(rs, (o) => {
        const stop = o.dynamic ? `${o.dynamic.control}${o.dynamic.name ? ` ${o.dynamic.name}` : ''}` : o.decision.stoppedBy[0] ? `${o.decision.stoppedBy[0].control}${o.decision.stoppedBy[0].name ? ` ${o.decision.stoppedBy[0].name}` : ''}` : undefined;
        const status = o.status === null && o.decision.outcome === 'allowed' && !o.dynamic ? 200 : o.status;
        st.record(status, o.latencyMs, stop, o.retries);
        for (const w of windowSpans) if (t0 >= w.at && t0 < w.end) windows.get(w.id)?.[f.index]?.record(status, o.latencyMs, stop, o.retries);
      });
      k.schedule(k.exponential(`flow/${f.index}/arrivals`, mean), arrive);
    };
    k.schedule(k.exponential(`flow/${f.index}/arrivals`, mean), arrive);
  }

  const results = new Map<string, StepResult>();
  if (withSteps) for (const p of c.planned) k.at(p.at, () => runStep(p));
  k.run(Math.max(c.duration, c.planned.reduce((m, p) => Math.max(m, p.end), 0)) + 60_000);
  return { fingerprint: k.fingerprint(), flows: flowStats, windows, steps: results, decisions: world.decisions, events: k.processed };

  function base0(p: PlannedStep): Pick<StepResult, 'id' | 'action' | 'expected' | 'attack' | 'from' | 't'> {
    return { id: p.step.id, action: p.step.action, expected: p.step.expect ?? null, attack: p.attack, from: p.from, t: p.at };
  }

  function judge(r: StepResult): StepResult {
    r.expectationMet = r.expected === null ? null : r.expected === r.outcome;
    return r;
  }

  function requestSpec(p: PlannedStep, stream: string): RequestSpec {
    const step = p.step;
    const protocol = (step.protocol ?? 'http') as Protocol;
    const req: MeshRequest = {
      from: source(mesh, p.from, step.sourceIp), to: target(mesh, step.to as string), protocol,
      method: step.method ?? (protocol === 'grpc' ? 'POST' : 'GET'), path: step.path ?? '/', headers: p.headers, tls: step.tls ?? 'auto',
    };
    if (step.sni !== undefined) req.sni = step.sni;
    const rs: RequestSpec = { req, pick: k.rng(stream) };
    if (p.jwt) rs.jwt = p.jwt;
    return rs;
  }

  function runStep(p: PlannedStep): void {
    const step = p.step;
    const t = k.now;
    k.record('step', { id: step.id, action: step.action });
    if (step.action === 'wait') {
      results.set(step.id, judge({ ...base0(p), outcome: 'allowed', code: null, mtls: null, stoppedBy: [], expectationMet: null,
        evidence: { events: [{ t, hop: 'scenario', what: `simulated time advances by ${step.for}` }] } }));
      return;
    }
    if (step.action === 'steal-credentials') {
      results.set(step.id, judge(steal(p)));
      return;
    }
    if (step.action === 'request') {
      const rs = requestSpec(p, `step/${step.id}/lb`);
      world.send(rs, (o) => results.set(step.id, judge(requestResult(p, rs, o, t))));
      return;
    }
    // flood: Poisson arrivals at `rate` for `for`.
    const rate = parseRate(step.rate as string) as number;
    const rs = requestSpec(p, `flood/${step.id}/lb`);
    rs.cacheKey = `flood/${step.id}`;
    const st = new FlowStats();
    const stops = new Map<string, { stop: StoppedBy; n: number }>();
    let outstanding = 0;
    let generating = true;
    const finish = (): void => {
      if (generating || outstanding > 0 || results.has(step.id)) return;
      results.set(step.id, judge(floodResult(p, st, stops, rate)));
    };
    const arrive = (): void => {
      if (k.now >= p.end) { generating = false; finish(); return; }
      outstanding++;
      world.send(rs, (o) => {
        outstanding--;
        const status = o.status === null && o.decision.outcome === 'allowed' && !o.dynamic ? 200 : o.status;
        st.record(status, o.latencyMs, undefined, o.retries);
        const blocked = status === null || status >= 400 || o.decision.outcome === 'blocked';
        if (blocked) {
          const stop: StoppedBy = o.dynamic ? { control: o.dynamic.control === 'App' ? 'Routing' : o.dynamic.control, name: o.dynamic.name, reason: o.dynamic.reason } : (o.decision.stoppedBy[0] ?? { control: 'Routing', name: null, reason: 'refused' });
          const key = `${stop.control}|${stop.name ?? ''}`;
          const e = stops.get(key);
          if (e) e.n++; else stops.set(key, { stop, n: 1 });
        }
        finish();
      });
      k.schedule(k.exponential(`flood/${step.id}/arrivals`, 1000 / rate), arrive);
    };
    arrive();
  }

  function requestResult(p: PlannedStep, rs: RequestSpec, o: Outcome, t: number): StepResult {
    const d = o.decision;
    const protocol = rs.req.protocol;
    const events = d.events.map((e) => ({ t, ...e }));
    const sent: NonNullable<StepResult['evidence']['sent']> = { from: p.from, to: p.step.to as string, protocol, tls: rs.req.tls };
    if (protocol !== 'tcp' && protocol !== 'tls') { sent.method = rs.req.method; sent.path = rs.req.path; sent.headers = { ...rs.req.headers }; }
    if (rs.req.sni !== undefined) sent.sni = rs.req.sni;
    const evidence: StepResult['evidence'] = { events, sent, latencyMs: Math.round(o.latencyMs * 1000) / 1000 };
    if (o.retries !== undefined) evidence.retries = o.retries;
    let outcome: StepOutcome = d.outcome;
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
    const r: StepResult = { ...base0(p), to: p.step.to as string, outcome, code, mtls: d.mtls, stoppedBy, expectationMet: null, evidence };
    if (d.grpcStatus !== undefined && !o.dynamic) r.grpcStatus = d.grpcStatus;
    return r;
  }

  function floodResult(p: PlannedStep, st: FlowStats, stops: Map<string, { stop: StoppedBy; n: number }>, rate: number): StepResult {
    const stoppedBy: StoppedBy[] = [...stops.values()]
      .sort((a, b) => b.n - a.n || a.stop.control.localeCompare(b.stop.control))
      .map(({ stop, n }) => ({ ...stop, reason: `${n} of ${st.sent} requests: ${stop.reason}` }));
    const t = p.at;
    const hist = st.histogram();
    return {
      ...base0(p), to: p.step.to as string, outcome: outcomeOf(st.ok, st.sent), code: null, mtls: null, stoppedBy, expectationMet: null,
      evidence: {
        events: [
          { t, hop: 'scenario', what: `flood of ${p.step.rate} (${rate.toFixed(1)}/s, Poisson) from ${p.from} to ${p.step.to} for ${p.step.for}` },
          { t: p.end, hop: 'scenario', what: `${st.sent} sent, ${st.ok} answered 2xx/3xx; statuses ${Object.entries(hist).map(([k2, v]) => `${k2}×${v}`).join(', ')}` },
        ],
        flood: { sent: st.sent, ok: st.ok, statuses: hist, p50ms: st.percentile(50), p99ms: st.percentile(99), windowMs: p.end - p.at, ...(st.retries > 0 ? { retries: st.retries } : {}) },
      },
    };
  }

  function steal(p: PlannedStep): StepResult {
    const t = k.now;
    const what = p.step.what as 'cert' | 'jwt';
    const w = mesh.workloads.find((x) => x.id === p.from);
    const held: NonNullable<StepResult['evidence']['stolen']> = [];
    if (what === 'cert' && w && hasCert.has(w.id)) {
      const state = fleet.stateAt(w.id);
      if (state.cert && state.status === 'valid') {
        held.push({ kind: 'certificate', subject: state.cert.subject, notAfter: state.cert.notAfter,
          validUntil: new Date(c.epochMs + state.cert.notAfter).toISOString(), validForMs: state.cert.notAfter - t,
          note: `usable for mTLS as ${state.cert.subject} until it expires at ${formatSimTime(state.cert.notAfter)}; rotation does not revoke it` });
      }
    }
    if (what === 'jwt') {
      for (const f of c.flows.filter((x) => x.from === p.from)) {
        const token = /^Bearer (.+)$/i.exec(f.headers['authorization'] ?? '')?.[1];
        if (!token) continue;
        const payload = token.split('.')[1];
        let exp: number | null = null;
        let sub: string | null = null;
        try {
          const json = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as { exp?: number; sub?: string };
          exp = typeof json.exp === 'number' ? json.exp : null;
          sub = json.sub ?? null;
        } catch { /* not a JWT payload */ }
        const nowS = (c.epochMs + t) / 1000;
        if (exp === null || exp > nowS) {
          held.push({ kind: 'jwt', subject: sub ?? '(no sub)', notAfter: exp === null ? null : exp * 1000 - c.epochMs,
            validUntil: exp === null ? 'never (no exp claim)' : new Date(exp * 1000).toISOString(), validForMs: exp === null ? null : exp * 1000 - (c.epochMs + t),
            note: `the bearer token ${f.from} sends to ${f.to}: anyone holding it passes as ${sub ?? 'its subject'}` });
        }
      }
    }
    const outcome: StepOutcome = held.length > 0 ? 'allowed' : 'blocked';
    const reason = what === 'cert'
      ? (w && hasCert.has(w.id) ? `${w.id} holds no valid certificate now (${fleet.stateAt(w.id).reason})` : `${p.from} has no sidecar, so there is no workload certificate to take`)
      : `no bearer token is in use at ${p.from}`;
    return { ...base0(p), outcome, code: null, mtls: null,
      stoppedBy: outcome === 'blocked' ? [{ control: 'CertificateValidity', name: p.from === 'outside' ? null : p.from, reason }] : [],
      expectationMet: null,
      evidence: { events: [{ t, hop: 'scenario', what: held.length > 0 ? `the attacker takes ${held.map((h) => `${h.kind} ${h.subject} (valid until ${h.validUntil})`).join('; ')}` : reason }], stolen: held } };
  }
}
