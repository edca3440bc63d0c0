/**
 * A neutral view of a run: what a screen shows of a step's decision and of the
 * mesh, as plain data with no terminal or HTML in it (architecture.md: "decision
 * rendering in report/ from a neutral view object"). The TUI draws these; any
 * other front end may. Every string that came from the scenario or the mesh is
 * escaped here (core/escape.ts), so no view can be driven by it.
 */
import { escapeControls as e } from '../core/escape.js';
import type { Mesh } from '../model/types.js';
import type { ControlKind, Hop } from '../policy/pipeline.js';
import { effectiveMtls, namespaceMode } from '../policy/peer-authentication.js';
import type { Outcome, RunResult, StepResult } from '../scenario/types.js';
import { byCodeUnit } from '../core/text.js';

/** The hops of a decision in the order a packet crosses them (istio-semantics §3: client sidecar → network → server sidecar → app). */
export const HOP_ORDER: readonly Hop[] = ['client', 'client-sidecar', 'network', 'gateway', 'server-sidecar', 'app', 'external'];

const HOP_TITLE: Record<Hop, string> = {
  client: 'client', 'client-sidecar': 'client sidecar', network: 'network', gateway: 'gateway',
  'server-sidecar': 'server sidecar', app: 'app', external: 'external',
};

export interface HeaderView {
  scenario: string;
  seed: number;
  verdict: RunResult['verdict'];
  /** "3/4" */
  expectations: string;
  allMet: boolean;
  /** simulated time the run covers, ms: the last step's start */
  endMs: number;
}

export interface StepRowView {
  id: string;
  /** ✓ expectation met, ✗ missed, · none */
  mark: '✓' | '✗' | '·';
  outcome: Outcome;
  action: string;
  t: number;
}

export interface HopView {
  hop: Hop;
  title: string;
  lines: string[];
  /** the control that refused the request acted at this hop */
  stopped: boolean;
}

export interface DefenceView {
  label: string;
  sole: boolean;
  stopped: boolean;
}

export interface StepView {
  id: string;
  action: string;
  outcome: Outcome;
  mark: StepRowView['mark'];
  /** "from → to" */
  route: string;
  t: number;
  /** "403 mTLS" and the like; '' when the step has no single answer */
  answer: string;
  hops: HopView[];
  /** "Control ns/name: reason" for each control that stopped it */
  stoppedBy: string[];
  defences: DefenceView[];
  /** the request as the app saw it (or as sent when it never arrived) */
  request: string[];
  /** the response the client saw */
  response: string[];
  /** one line each: flood counts, pivot summary, impersonation, exfiltration… */
  notes: string[];
  /** pivot: the attack graph hop by hop */
  graph: { hop: number; from: string; lines: string[] }[];
  /** sniff: the observed flows */
  flows: { link: string; port: number; protocol: string; encrypted: boolean; read: string }[];
}

export interface MeshWorkloadView {
  id: string;
  name: string;
  sidecar: boolean;
  gateway: boolean;
  /** the workload's mTLS mode (PeerAuthentication, istio-semantics §4), '' without a sidecar */
  mtls: string;
  /** on the selected step's path: its outcome there; null when not on it */
  onPath: Outcome | null;
  /** the attacker's start of the selected step */
  source: boolean;
}

export interface MeshNamespaceView {
  name: string;
  /** the namespace-wide mTLS mode */
  mtls: string;
  workloads: MeshWorkloadView[];
}

export function headerView(r: RunResult): HeaderView {
  const total = r.expectations.passed + r.expectations.failed;
  return {
    scenario: e(r.scenario), seed: r.seed, verdict: r.verdict,
    expectations: `${r.expectations.passed}/${total}`, allMet: r.expectations.failed === 0,
    endMs: r.steps.reduce((m, s) => Math.max(m, s.t), 0),
  };
}

function markOf(s: StepResult): StepRowView['mark'] {
  return s.expectationMet === true ? '✓' : s.expectationMet === false ? '✗' : '·';
}

export function stepRows(r: RunResult): StepRowView[] {
  return r.steps.map((s) => ({ id: e(s.id), mark: markOf(s), outcome: s.outcome, action: e(s.action), t: s.t }));
}

const label = (c: { control: string; name: string | null }): string => `${e(c.control)}${c.name ? ` ${e(c.name)}` : ''}`;

/**
 * The hop each control acts at (istio-semantics: the client sidecar resolves, routes,
 * picks TLS and verifies the server's name; the network carries NetworkPolicy; the
 * server sidecar authenticates, authorizes and rate-limits; gateways are their own hop).
 */
const CONTROL_HOP: Record<ControlKind, Hop> = {
  DNS: 'client-sidecar', Routing: 'client-sidecar', DestinationRule: 'client-sidecar', SecureNaming: 'client-sidecar',
  EgressPolicy: 'client-sidecar', VirtualService: 'client-sidecar', CircuitBreaker: 'client-sidecar', AutoMtls: 'client-sidecar',
  NetworkPolicy: 'network', Gateway: 'gateway',
  PeerAuthentication: 'server-sidecar', HttpValidation: 'server-sidecar', RequestAuthentication: 'server-sidecar',
  AuthorizationPolicy: 'server-sidecar', RateLimit: 'server-sidecar', CertificateValidity: 'server-sidecar',
  AppTls: 'app',
  // a token's expiry is checked where it is presented: the receiving proxy's jwt_authn
  TokenValidity: 'server-sidecar',
  App: 'app',
};

function headerLines(h: Record<string, string> | undefined): string[] {
  return Object.entries(h ?? {}).map(([k, v]) => `  ${e(k)}: ${e(v)}`);
}

function statuses(st: Record<string, number>): string {
  return Object.entries(st).map(([k, v]) => `${e(k)}×${v}`).join(', ');
}

export function stepView(s: StepResult): StepView {
  const ev = s.evidence;
  const byHop = new Map<Hop, string[]>();
  for (const x of ev.events) {
    if (x.hop === 'scenario') continue;
    byHop.set(x.hop, [...(byHop.get(x.hop) ?? []), e(x.what)]);
  }
  // Where the trace ended stands in for a control whose own hop logged nothing (a gateway on the way, say).
  const lastHop = [...ev.events].reverse().find((x) => x.hop !== 'scenario')?.hop;
  const stoppedAt = new Set(s.stoppedBy.map((b) => (byHop.has(CONTROL_HOP[b.control]) ? CONTROL_HOP[b.control] : lastHop)));
  const hops: HopView[] = HOP_ORDER.filter((h) => byHop.has(h) || h === 'client-sidecar' || h === 'network' || h === 'server-sidecar' || h === 'app')
    .map((h) => ({ hop: h, title: HOP_TITLE[h], lines: byHop.get(h) ?? [], stopped: s.outcome !== 'allowed' && stoppedAt.has(h) && byHop.has(h) }));
  // A hop the request never reached shows as such, rather than as an empty box.
  for (const h of hops) if (h.lines.length === 0) h.lines.push(h.hop === 'app' && ev.received === undefined ? 'not reached' : '—');
  const stopped = new Set(s.stoppedBy.map(label));
  const request: string[] = [];
  if (ev.received) {
    request.push(`${e(ev.received.method)} ${e(ev.received.path)}  (as the app saw it)`, ...headerLines(ev.received.headers));
  } else if (ev.sent) {
    request.push(`${e(ev.sent.method ?? ev.sent.protocol)} ${e(ev.sent.path ?? ev.sent.to)}  (as sent; the app never saw it)`, ...headerLines(ev.sent.headers));
  }
  const response: string[] = [];
  if (ev.response) response.push(`${ev.response.status}${ev.response.body ? ` ${e(ev.response.body)}` : ''}`, ...headerLines(ev.response.headers));
  else if (s.code !== null) response.push(`${s.code}`);
  const notes: string[] = [];
  if (ev.flood) notes.push(`flood: ${ev.flood.sent} sent, ${ev.flood.ok} answered; ${statuses(ev.flood.statuses)}; p99 ${ev.flood.p99ms} ms${ev.flood.saturated ? `; ${ev.flood.saturated.n} refused by ${ev.flood.saturated.by.join(', ')} itself, overwhelmed (not a defence)` : ''}`);
  for (const c of ev.collateral ?? []) notes.push(`legitimate ${e(c.statement)}`);
  for (const st of ev.stolen ?? []) notes.push(`holds ${e(st.kind)} ${e(st.subject)}, valid until ${e(st.validUntil)}`);
  if (ev.impersonation) notes.push(e(ev.impersonation.statement));
  if (ev.replayed) notes.push(e(ev.replayed.note));
  if (s.bytesAttempted !== undefined) notes.push(`${s.bytesOut ?? 0} of ${s.bytesAttempted} bytes left for ${e(s.destination ?? '?')} via ${e(s.via ?? 'direct')}`);
  for (const cr of s.captured ?? []) notes.push(`captured ${e(cr.kind)} ${e(cr.token)} on ${e(cr.on)}`);
  if (ev.cutOff) notes.push(e(ev.cutOff.reason));
  if (s.reached && s.compromised) notes.push(`reached ${s.reached.length > 0 ? s.reached.map(e).join(', ') : 'nothing'} in ${s.hops ?? 0} hop${s.hops === 1 ? '' : 's'}`);
  const graph: StepView['graph'] = [];
  if (s.graph) {
    // By hop, then by the workload the attempts left from; an attempt dialled twice (Service and pod port) shows once.
    const groups = new Map<string, { hop: number; from: string; lines: Set<string> }>();
    for (const x of s.graph.edges) {
      const why = x.outcome === 'allowed' ? 'allowed' : `blocked by ${x.stoppedBy.map(label).join(', ') || 'the mesh'}`;
      const key = `${x.hop} ${x.from}`;
      const g = groups.get(key) ?? { hop: x.hop, from: e(x.from), lines: new Set<string>() };
      g.lines.add(`→ ${e(x.to)}:${x.port}${x.as !== undefined ? ` as ${e(x.as)}` : ''}${x.bypass === true ? ' around its proxy' : ''} ${why}`);
      groups.set(key, g);
    }
    for (const g of [...groups.values()].sort((a, b) => a.hop - b.hop || byCodeUnit(a.from, b.from))) graph.push({ hop: g.hop, from: g.from, lines: [...g.lines] });
  }
  const flows = (s.observed ?? []).map((f) => {
    const x = f.exposed;
    const read = f.protectedBy ? `encrypted by ${label(f.protectedBy)}`
      : [x.paths.length > 0 ? `paths ${x.paths.join(', ')}` : '', x.headers.length > 0 ? `headers ${x.headers.join(', ')}` : '',
        x.tokens.length > 0 ? `tokens ${x.tokens.join(', ')}` : ''].filter((t) => t !== '').join('; ');
    return { link: `${e(f.hop.from)} → ${e(f.hop.to)}`, port: f.port, protocol: e(f.protocol), encrypted: f.encrypted, read: e(read) };
  });
  const code = s.code === null ? '' : `${s.code}`;
  const mtls = s.mtls === null ? '' : s.mtls ? 'mTLS' : 'no mTLS';
  return {
    id: e(s.id), action: e(s.action), outcome: s.outcome, mark: markOf(s),
    route: s.to ? `${e(s.from)} → ${e(s.to)}` : e(s.from), t: s.t,
    answer: [code, mtls].filter((x) => x !== '').join(' '),
    hops,
    stoppedBy: s.stoppedBy.map((b) => `${label(b)}${b.rule ? ` ${e(b.rule)}` : ''}: ${e(b.reason)}`),
    defences: (s.defences ?? []).map((d) => ({ label: label(d), sole: d.sole, stopped: stopped.has(label(d)) })),
    request, response, notes, graph, flows,
  };
}

/** Workloads on a step's path, with the outcome they saw. */
function pathOf(s: StepResult | undefined): Map<string, Outcome> {
  const out = new Map<string, Outcome>();
  if (!s) return out;
  if (s.graph) {
    for (const x of s.graph.edges) {
      if (x.outcome === 'allowed' || !out.has(x.to)) out.set(x.to, x.outcome);
    }
    return out;
  }
  const to = s.evidence.destination?.workload;
  if (to) out.set(to, s.outcome);
  return out;
}

/** The mesh by namespace, with sidecar and mTLS badges and the selected step's path marked. */
export function meshView(mesh: Mesh, step: StepResult | undefined): MeshNamespaceView[] {
  const path = pathOf(step);
  const byNs = new Map<string, MeshWorkloadView[]>();
  for (const w of mesh.workloads) {
    const port = w.ports[0]?.containerPort ?? 0;
    const view: MeshWorkloadView = {
      id: e(w.id), name: e(w.name), sidecar: w.sidecar, gateway: w.gateway,
      mtls: w.sidecar ? effectiveMtls(mesh, w, port).mode : '',
      onPath: path.get(w.id) ?? null, source: step?.from === w.id,
    };
    byNs.set(w.namespace, [...(byNs.get(w.namespace) ?? []), view]);
  }
  return [...byNs].sort((a, b) => byCodeUnit(a[0], b[0])).map(([ns, ws]) => ({
    name: e(ns), mtls: namespaceMode(mesh, ns).mode, workloads: ws.sort((a, b) => byCodeUnit(a.id, b.id)),
  }));
}

const BARS = '▁▂▃▄▅▆▇█';

/** A sparkline of counts: one bar per bucket scaled to the largest, a space for an empty bucket. */
export function sparkline(values: readonly number[]): string {
  const max = values.reduce((m, v) => Math.max(m, v), 0);
  if (max === 0) return ' '.repeat(values.length);
  return values.map((v) => (v === 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1)))])).join('');
}

export interface SparkView {
  /** `ok`, `429`, `503` or `other` */
  label: string;
  line: string;
  total: number;
}

/**
 * The sparklines of one timeline series (`traffic[i]` or `step <id>`), one per outcome that occurred, in a fixed
 * order; empty when the run recorded nothing under that key.
 */
export function sparkViews(r: RunResult, key: string): SparkView[] {
  const s = r.timeline?.series.find((x) => x.key === key);
  if (!s) return [];
  const rows: [string, number[]][] = [['ok', s.ok], ['429', s.throttled], ['503', s.unavailable], ['other', s.other]];
  return rows.map(([label, v]) => ({ label, line: sparkline(v), total: v.reduce((a, b) => a + b, 0) })).filter((x) => x.total > 0);
}
