/**
 * `exfiltrate`: can data leave the mesh, and how much? The attacker uploads
 * `bytes` for the external `to` from the acting workload, in requests of at
 * most 64 KiB sent one after another at `rate` (default 10/s) in simulated
 * time; a chunk the mesh refuses is lost (the upload does not resend it), so
 * a rate limit that answers 429 cuts what leaves. Every chunk is decided by
 * the engine that decides every request (policy/decide.ts through the mesh in
 * time, sim/mesh/world.ts): egress policy, Sidecar egress hosts, VirtualService
 * routes to an egress gateway, the gateway's Gateway servers and
 * AuthorizationPolicies, NetworkPolicy, rate limits.
 *
 * `via` says which way the data goes (istio-semantics §8):
 *   - `direct` (default): to `to` through the attacker's own sidecar, as the
 *     app would call it — REGISTRY_ONLY sends an unknown host to the
 *     BlackHoleCluster, ALLOW_ANY passes it through, and a mesh VirtualService
 *     may route it to an egress gateway;
 *   - `egress-gateway` (or `egress-gateway:<port>`): the attacker dials the
 *     egress gateway's Service itself (on `to`'s port unless given), naming
 *     `to`'s host in the Host header (SNI for `tls`), and
 *     the gateway decides with its servers, routes and policies;
 *   - `<host>` or `<host>:<port>`: an allowed host used as a channel out — a
 *     ServiceEntry host (a SaaS API the mesh lets everyone reach) or an
 *     in-mesh Service that relays what it receives. The data goes to that host
 *     (port: `to`'s unless given); the attacker reads it back from there, so
 *     what the channel accepts is what left.
 * `bytesOut` is what the chunks the destination (or channel) accepted carried.
 */
import { parseRate } from '../../core/duration.js';
import type { Mesh, Service } from '../../model/types.js';
import { hostMatches } from '../../policy/destination-rule.js';
import { endpointsOf, resolveHost, type StoppedBy } from '../../policy/decide.js';
import { outcomeOf } from './flood.js';
import type { Outcome, StepResult } from '../types.js';
import { REQUEST_FIELDS, type ActionModule, type PlannedStep, type StepContext } from './types.js';
import { byCodeUnit } from '../../core/text.js';

/** Bytes one upload request carries at most. */
export const EXFIL_CHUNK_BYTES = 65_536;
/** Largest upload one step may attempt (16,384 chunks). */
export const MAX_EXFIL_BYTES = 2 ** 30;
/** Default pace of the chunks. */
export const DEFAULT_EXFIL_RATE = 10;
/** Fastest pace a step may ask for, and the longest an upload may take. */
export const MAX_EXFIL_RATE = 10_000;
export const MAX_EXFIL_MS = 24 * 3_600_000;

export type Via = { kind: 'direct' } | { kind: 'egress-gateway'; port: number | null } | { kind: 'host'; host: string; port: number | null };

export const VIA_SYNTAX = '`direct`, `egress-gateway` (or `egress-gateway:<port>`), or an allowed host used as a channel out (`<host>` or `<host>:<port>`)';

function dnsName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  for (const label of s.split('.')) {
    if (label.length === 0 || label.length > 63 || label.startsWith('-') || label.endsWith('-')) return false;
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45)) return false;
    }
  }
  return true;
}

function port(text: string): number | null {
  if (text.length === 0 || text.length > 5) return null;
  for (let i = 0; i < text.length; i++) { const c = text.charCodeAt(i); if (c < 48 || c > 57) return null; }
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

/** Parses `via` (no regular expression); a string is the problem. */
export function parseVia(text: string | undefined): Via | string {
  if (text === undefined || text === 'direct') return { kind: 'direct' };
  const colon = text.lastIndexOf(':');
  const host = (colon < 0 ? text : text.slice(0, colon)).toLowerCase();
  const p = colon < 0 ? null : port(text.slice(colon + 1));
  if (colon >= 0 && p === null) return `"${text}": the port must be 1-65535`;
  if (host === 'egress-gateway') return { kind: 'egress-gateway', port: p };
  if (!dnsName(host)) return `"${text}" is neither direct, egress-gateway nor a host name`;
  return { kind: 'host', host, port: p };
}

function splitTo(to: string): { host: string; port: number } {
  const colon = to.lastIndexOf(':');
  return { host: to.slice(0, colon), port: Number(to.slice(colon + 1)) };
}

function rateOf(step: PlannedStep['step']): number {
  return step.rate !== undefined ? (parseRate(step.rate) ?? DEFAULT_EXFIL_RATE) : DEFAULT_EXFIL_RATE;
}

function chunksOf(bytes: number): number {
  return Math.ceil(bytes / EXFIL_CHUNK_BYTES);
}

/** The egress gateway's Service: a gateway proxy labelled `istio: egressgateway` (or named so), and a Service selecting it. */
export function egressGatewayService(mesh: Mesh): Service | null {
  const gws = mesh.workloads.filter((w) => w.gateway && (w.labels['istio'] === 'egressgateway' || w.name.includes('egressgateway')))
    .sort((a, b) => byCodeUnit(a.id, b.id));
  for (const gw of gws) {
    const svc = mesh.services.filter((s) => s.namespace === gw.namespace && endpointsOf(mesh, s).includes(gw)).sort((a, b) => byCodeUnit(a.fqdn, b.fqdn))[0];
    if (svc) return svc;
  }
  return null;
}

function serviceEntryHas(mesh: Mesh, host: string): boolean {
  return mesh.serviceEntries.some((se) => se.hosts.some((h) => hostMatches(h.toLowerCase(), host) > 0));
}

export const exfiltrateAction: ActionModule = {
  action: 'exfiltrate',
  fields: [...REQUEST_FIELDS, 'bytes', 'via', 'rate'],
  required: [
    { field: 'to', hint: 'add to: <external host>:<port>, e.g. drop.attacker.example:443' },
    { field: 'bytes', hint: 'add bytes: <how much data>, e.g. 1048576' },
  ],
  requestLike: true,
  lasts: (step) => (step.bytes !== undefined && step.bytes > 0 ? (chunksOf(step.bytes) * 1000) / Math.max(rateOf(step), 1e-9) : 0),
  check({ step, path, src, issues }) {
    if (step.to?.startsWith('workload/')) {
      issues.error('exfil-bad-to', `step "${step.id}": exfiltrate sends to a host outside the mesh, not to a pod`, src.locate([...path, 'to']), 'give the external host:port the data is for');
    }
    if (step.via !== undefined) {
      const v = parseVia(step.via);
      if (typeof v === 'string') issues.error('exfil-bad-via', `step "${step.id}": via ${v}`, src.locate([...path, 'via']), `write ${VIA_SYNTAX}`);
    }
    if (step.rate !== undefined) {
      const r = parseRate(step.rate);
      if (r !== null && (r <= 0 || r > MAX_EXFIL_RATE)) {
        issues.error('exfil-bad-rate', `step "${step.id}": rate ${step.rate} must be more than 0 and at most ${MAX_EXFIL_RATE}/s`, src.locate([...path, 'rate']), 'give how many chunks per second the upload sends, e.g. 10/s');
      } else if (r !== null && step.bytes !== undefined && (chunksOf(step.bytes) * 1000) / r > MAX_EXFIL_MS) {
        issues.error('exfil-too-long', `step "${step.id}": ${chunksOf(step.bytes)} chunks at ${step.rate} would take more than 24h of simulated time`, src.locate([...path, 'rate']), 'raise the rate or lower bytes');
      }
    }
  },
  bind({ step, path, src, issues, mesh, doc }) {
    if (step.to === undefined || step.to.startsWith('workload/')) return;
    const from = step.from ?? doc.spec.attacker.foothold;
    const ns = from === 'outside' ? 'default' : (from.split('/')[0] as string);
    const to = splitTo(step.to);
    const r = resolveHost(mesh, to.host, ns);
    if (r.service) {
      issues.error('exfil-to-in-mesh', `step "${step.id}": ${step.to} is the in-mesh Service ${r.service.namespace}/${r.service.name}, not a host outside the mesh`, src.locate([...path, 'to']),
        `to names where the data ends up outside; to send it through ${r.service.name}, write via: ${to.host}`);
    }
    const via = parseVia(step.via);
    if (typeof via === 'string') return;
    if (via.kind === 'egress-gateway') {
      const svc = egressGatewayService(mesh);
      if (!svc) {
        issues.error('exfil-no-egress-gateway', `step "${step.id}": via egress-gateway, but no gateway proxy labelled istio: egressgateway with a Service is in the mesh`, src.locate([...path, 'via']), 'use via: direct, or add the egress gateway to the manifests');
      } else if (!svc.ports.some((sp) => sp.port === (via.port ?? to.port))) {
        issues.error('exfil-no-egress-gateway', `step "${step.id}": the egress gateway Service ${svc.namespace}/${svc.name} has no port ${via.port ?? to.port} (ports ${svc.ports.map((sp) => sp.port).join(', ')})`,
          src.locate([...path, 'via']), 'name the gateway port to dial: via: egress-gateway:<port>');
      }
    } else if (via.kind === 'host') {
      const h = resolveHost(mesh, via.host, ns);
      const channelPort = via.port ?? to.port;
      if (h.service && !h.service.ports.some((sp) => sp.port === channelPort)) {
        issues.error('exfil-bad-via', `step "${step.id}": via ${step.via}: Service ${h.service.namespace}/${h.service.name} has no port ${channelPort} (ports ${h.service.ports.map((sp) => sp.port).join(', ')})`,
          src.locate([...path, 'via']), `write via: ${via.host}:<port> with one of its ports`);
      }
      if (!h.service && !serviceEntryHas(mesh, h.fqdn)) {
        issues.error('exfil-bad-via', `step "${step.id}": via ${step.via} is neither a Service of the mesh nor a ServiceEntry host`, src.locate([...path, 'via']),
          'name an allowed host used as a channel out, or use via: direct to send straight to the destination');
      }
    }
  },
  run(c, p) {
    const step = p.step;
    const bytes = step.bytes as number;
    const to = step.to as string;
    const via = parseVia(step.via) as Exclude<ReturnType<typeof parseVia>, string>;
    const dest = splitTo(to);
    const protocol = step.protocol ?? 'http';
    const headers: Record<string, string> = { ...p.headers };
    let target = to;
    let viaLabel = 'direct';
    let sniHost = dest.host;
    if (via.kind === 'egress-gateway') {
      const svc = egressGatewayService(c.mesh) as Service;
      target = `${svc.fqdn}:${via.port ?? dest.port}`;
      viaLabel = via.port === null ? 'egress-gateway' : `egress-gateway:${via.port}`;
      if (protocol !== 'tcp' && protocol !== 'tls') headers['host'] = dest.host;
    } else if (via.kind === 'host') {
      target = `${via.host}:${via.port ?? dest.port}`;
      viaLabel = target;
      sniHost = via.host;
    }
    const n = chunksOf(bytes);
    headers['content-length'] = String(Math.min(bytes, EXFIL_CHUNK_BYTES));
    const sendStep = { ...step, to: target, method: step.method ?? 'POST', path: step.path ?? '/upload', ...(protocol === 'tls' ? { sni: step.sni ?? sniHost } : {}) };
    const rs = c.requestSpec({ ...p, step: sendStep, headers }, `exfil/${step.id}/lb`);
    rs.cacheKey = `exfil/${step.id}`;
    const interval = 1000 / rateOf(step);
    const stops = new Map<string, { stop: StoppedBy; n: number }>();
    const statuses = new Map<string, number>();
    let answered = 0;
    let delivered = 0;
    let bytesOut = 0;
    let firstEvents: StepResult['evidence']['events'] | null = null;
    const sendChunk = (i: number): void => {
      const size = i === n - 1 ? bytes - (n - 1) * EXFIL_CHUNK_BYTES : EXFIL_CHUNK_BYTES;
      const t = c.k.now;
      c.world.send(rs, (o) => {
        answered++;
        if (firstEvents === null) firstEvents = o.decision.events.map((e) => ({ t, ...e }));
        const status = o.status === null && o.decision.outcome === 'allowed' && !o.dynamic ? 200 : o.status;
        const key = status === null ? 'closed' : String(status);
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (status !== null && status >= 200 && status < 400 && o.decision.outcome === 'allowed') {
          delivered++;
          bytesOut += size;
        } else {
          const stop: StoppedBy = o.dynamic ? { control: o.dynamic.control, name: o.dynamic.name, reason: o.dynamic.reason }
            : (o.decision.stoppedBy[0] ?? { control: 'Routing', name: null, reason: `answered ${key}` });
          const k = `${stop.control}|${stop.name ?? ''}`;
          const e = stops.get(k);
          if (e) e.n++; else stops.set(k, { stop, n: 1 });
        }
        if (answered === n) c.finish(p, exfilResult(c, p, { viaLabel, target, n, delivered, bytesOut, stops, statuses, events: firstEvents ?? [] }));
      });
      if (i + 1 < n) c.k.schedule(interval, () => sendChunk(i + 1));
    };
    // Cut off (issue 9.3): the chunks already answered count; those still unanswered (and never sent) did not leave.
    c.onCutOff(p, () => {
      const r = exfilResult(c, p, { viaLabel, target, n, delivered, bytesOut, stops, statuses, events: firstEvents ?? [] });
      r.evidence.cutOff = { atMs: c.k.now, reason: `the run ended with ${n - answered} of the upload's ${n} chunks unanswered (slow app, deep queue or retries): cut off; ${bytesOut} bytes had left` };
      return r;
    });
    sendChunk(0);
  },
};

interface Tally {
  viaLabel: string;
  target: string;
  n: number;
  delivered: number;
  bytesOut: number;
  stops: Map<string, { stop: StoppedBy; n: number }>;
  statuses: Map<string, number>;
  events: StepResult['evidence']['events'];
}

function exfilResult(c: StepContext, p: PlannedStep, x: Tally): StepResult {
  const step = p.step;
  const bytes = step.bytes as number;
  const outcome: Outcome = outcomeOf(x.delivered, x.n);
  const stoppedBy: StoppedBy[] = [...x.stops.values()]
    .sort((a, b) => b.n - a.n || byCodeUnit(a.stop.control, b.stop.control))
    .map(({ stop, n }) => ({ ...stop, reason: `${n} of ${x.n} chunks: ${stop.reason}` }));
  const statuses = Object.fromEntries([...x.statuses.entries()].sort(([a], [b]) => byCodeUnit(a, b)));
  const events: StepResult['evidence']['events'] = [
    { t: p.at, hop: 'scenario', what: `upload of ${bytes} bytes for ${step.to} from ${p.from} via ${x.viaLabel}: ${x.n} chunks of at most ${EXFIL_CHUNK_BYTES} bytes to ${x.target}, ${rateOf(step)}/s; the first chunk:` },
    ...x.events,
    { t: c.k.now, hop: 'scenario', what: `${x.delivered} of ${x.n} chunks accepted: ${x.bytesOut} of ${bytes} bytes left; statuses ${Object.entries(statuses).map(([k, v]) => `${k}×${v}`).join(', ')}` },
  ];
  return {
    ...c.base(p), to: step.to as string, outcome, code: null, mtls: null, stoppedBy, expectationMet: null,
    destination: step.to as string, via: x.viaLabel, bytesAttempted: bytes, bytesOut: x.bytesOut,
    evidence: { events, exfil: { chunks: x.n, chunkBytes: EXFIL_CHUNK_BYTES, accepted: x.delivered, statuses } },
  };
}
