/**
 * Judging an exercise's objectives against one run (issue 12 items 1, 4).
 *
 * Rules (exercises/README.md):
 * - a step objective is met when its step ends with `outcome` — and, with
 *   `stoppedBy`, when that control is among the step's stoppedBy;
 * - a traffic objective is met when the flow answered at least `minSuccess`
 *   (default 0.99) of what it sent, and sent something;
 * - a reach objective is met when an attack step of the trainee's attack.yaml
 *   reaches the workload: a request-like step `allowed` whose destination is
 *   it, or a pivot whose `reached` holds it; with `using`, that step must have
 *   used a credential the attacker took (a replayed stolen/captured JWT, a
 *   stolen certificate);
 * - a step, flow or reach that is missing is unmet, and says so.
 *
 * `why` (unmet only) speaks to the trainee: the control that let the step
 * through or refused the flow, and where to look (kind, resource, mesh/) —
 * never what to write.
 */
import type { RunResult, StepResult, StoppedBy } from '../scenario/types.js';
import type { ObjectiveDoc } from './schema.js';

export const DEFAULT_MIN_SUCCESS = 0.99;

export interface Judgement {
  met: boolean;
  why: string | null;
}

const REQUEST_LIKE = new Set(['request', 'impersonate', 'flood', 'exfiltrate']);
/** Control kinds a trainee can find as resources in the manifests, and the words a decision uses for them. */
const CONTROL_WORDS: readonly [RegExp, string][] = [
  [/PeerAuthentication|PERMISSIVE|plaintext accepted/, 'PeerAuthentication'],
  [/AuthorizationPolicy|ALLOW polic|DENY polic/, 'AuthorizationPolicy'],
  [/RequestAuthentication|[Jj]wt/, 'RequestAuthentication'],
  [/NetworkPolicy/, 'NetworkPolicy'],
  [/DestinationRule/, 'DestinationRule'],
  [/ServiceEntry|REGISTRY_ONLY|ALLOW_ANY/, 'ServiceEntry / outboundTrafficPolicy'],
  [/excludeInboundPorts|excludeOutbound|sidecar\.istio\.io|no sidecar|injection/, 'sidecar injection (labels and annotations of the pod template)'],
];

function controlName(s: StoppedBy): string {
  return s.name ? `${s.control} ${s.name}` : `${s.control} (mesh default)`;
}

/** Does one stoppedBy entry match `Kind`, `ns/name` or `Kind ns/name`? */
export function stoppedByMatches(s: StoppedBy, want: string): boolean {
  const w = want.trim();
  const sp = w.indexOf(' ');
  if (sp > 0) return s.control === w.slice(0, sp) && s.name === w.slice(sp + 1).trim();
  return w.includes('/') ? s.name === w : s.control === w;
}

function destinationOf(r: StepResult): string {
  return r.evidence.destination?.workload ?? r.to ?? 'its destination';
}

/** The hops that decided to let a step through, in the words of the decision. */
function letThrough(r: StepResult): string[] {
  return r.evidence.events.filter((e) => e.hop !== 'client' && e.hop !== 'app' && e.hop !== 'scenario').map((e) => e.what).slice(0, 4);
}

/** Controls whose resource is not a kind of their own name: where a trainee finds them in manifests. */
const RESOURCE_OF: ReadonlyMap<string, string> = new Map([
  ['CircuitBreaker', 'CircuitBreaker (a DestinationRule\'s traffic policy)'],
  ['RateLimit', 'RateLimit (an EnvoyFilter\'s local rate limit)'],
  ['EgressPolicy', 'EgressPolicy (ServiceEntry, outboundTrafficPolicy, egress gateway)'],
  ['AutoMtls', 'AutoMtls (PeerAuthentication, DestinationRule tls)'],
  ['SecureNaming', 'SecureNaming (the server\'s identity: ServiceAccount, DestinationRule subjectAltNames)'],
  ['Routing', 'Routing (VirtualService, Gateway)'],
  ['App', 'App (the destination app itself, overwhelmed: its capacity in spec.workloads, or what keeps load off it)'],
]);
const KINDS = ['NetworkPolicy', 'PeerAuthentication', 'DestinationRule', 'SecureNaming', 'RequestAuthentication', 'AuthorizationPolicy', 'EgressPolicy',
  'Gateway', 'VirtualService', 'RateLimit', 'CircuitBreaker', 'Routing'];

function kindLabel(k: string): string {
  return RESOURCE_OF.get(k) ?? k;
}

function whereToLook(texts: readonly string[], wanted: string | undefined, dest: string): string {
  const kinds = new Set<string>();
  if (wanted) {
    const sp = wanted.indexOf(' ');
    kinds.add(sp > 0 ? `${kindLabel(wanted.slice(0, sp))} ${wanted.slice(sp + 1)}` : wanted.includes('/') ? `the resource ${wanted}` : kindLabel(wanted));
  }
  for (const t of texts) {
    // A control named first in a "Kind ns/name" entry, then the words decisions use.
    const first = t.split(' ')[0] ?? '';
    if (KINDS.includes(first)) kinds.add(kindLabel(first));
    for (const [re, kind] of CONTROL_WORDS) if (re.test(t)) kinds.add(kind);
  }
  const list = kinds.size > 0 ? [...kinds].join(', ') : 'the policies';
  return `Look at ${list} that apply to ${dest} (the manifests in mesh/).`;
}

function how(r: StepResult): string {
  const parts: string[] = [r.outcome];
  if (r.code !== null) parts.push(`code ${r.code}`);
  if (r.mtls !== null) parts.push(r.mtls ? 'over mTLS' : 'in plaintext');
  return parts.join(', ');
}

function judgeStep(o: ObjectiveDoc, steps: readonly StepResult[]): Judgement {
  const r = steps.find((s) => s.id === o.step);
  if (!r) return { met: false, why: `The scenario has no step "${o.step}" any more, so this objective cannot be judged.` };
  const want = o.outcome ?? 'blocked';
  const byWanted = o.stoppedBy === undefined || r.stoppedBy.some((s) => stoppedByMatches(s, o.stoppedBy as string));
  if (r.outcome === want && byWanted) return { met: true, why: null };
  const dest = destinationOf(r);
  const what = `Step "${r.id}" (${r.from} → ${r.to ?? dest})`;
  if (r.outcome === want) {
    // Right outcome, wrong control.
    const by = r.stoppedBy.map(controlName).join(', ') || 'nothing named';
    return { met: false, why: `${what} ends ${r.outcome}, stopped by ${by}; this objective counts only ${o.stoppedBy}. ${whereToLook([], o.stoppedBy, dest)}` };
  }
  if (r.outcome === 'allowed' || r.outcome === 'partial') {
    const through = letThrough(r);
    const reached = r.reached && r.reached.length > 0 ? ` It reached ${r.reached.join(', ')}.` : '';
    const plain = r.observed ? ` ${r.observed.filter((f) => !f.encrypted).length} flow(s) crossed in clear.` : '';
    const said = through.length > 0 ? ` What let it through: ${through.join('; ')}.` : '';
    return { met: false, why: `${what} still gets through (${how(r)}).${reached}${plain}${said} ${whereToLook(through, o.stoppedBy, dest)}` };
  }
  // Blocked, and it was meant to get through (a legitimate step).
  const stops = r.stoppedBy.map((s) => `${controlName(s)}: ${s.reason}`);
  return { met: false, why: `${what} is refused (${how(r)}). Stopped by ${stops.join('; ') || 'an unnamed control'}. ${whereToLook(stops, undefined, dest)}` };
}

function judgeTraffic(o: ObjectiveDoc, run: RunResult): Judgement {
  const t = o.traffic as { from: string; to: string };
  const flow = run.traffic.find((f) => f.from === t.from && f.to === t.to);
  if (!flow) return { met: false, why: `The scenario has no traffic flow ${t.from} → ${t.to}, so this objective cannot be judged.` };
  const min = o.minSuccess ?? DEFAULT_MIN_SUCCESS;
  const rate = flow.sent > 0 ? flow.ok / flow.sent : 0;
  if (flow.sent > 0 && rate >= min) return { met: true, why: null };
  if (flow.sent === 0) return { met: false, why: `${t.from} → ${t.to} sent no request in the run.` };
  const refused = Object.entries(flow.stoppedBy ?? {}).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([c, n]) => `${c} (${n})`);
  const statuses = Object.entries(flow.statuses ?? {}).filter(([s]) => !/^2/.test(s)).map(([s, n]) => `${s} ×${n}`);
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  return {
    met: false,
    why: `${t.from} → ${t.to} is broken: ${flow.ok} of ${flow.sent} requests answered (${pct(rate)}, needs ${pct(min)}).`
      + (refused.length > 0 ? ` Refused by ${refused.join(', ')}.` : '')
      + (statuses.length > 0 ? ` Answers: ${statuses.join(', ')}.` : '')
      + ` ${whereToLook(refused, undefined, t.to)}`,
  };
}

function usedStolen(r: StepResult, using: ObjectiveDoc['using'], target: string): boolean {
  const jwt = r.evidence.replayed?.held === true;
  // impersonate with a stolen certificate; a pivot that got to the target presenting one (edges `as`)
  const cert = (r.using === 'stolen-cert' && r.evidence.impersonation?.certificate !== undefined)
    || (r.action === 'pivot' && (r.graph?.edges ?? []).some((e) => e.as !== undefined && e.outcome === 'allowed' && (e.deliveredTo === undefined ? e.to : e.deliveredTo) === target));
  if (using === 'stolen-jwt') return jwt;
  if (using === 'stolen-cert') return cert;
  return jwt || cert;
}

function reaches(r: StepResult, target: string): boolean {
  if (r.action === 'pivot') return (r.reached ?? []).includes(target);
  return REQUEST_LIKE.has(r.action) && r.outcome === 'allowed' && r.evidence.destination?.workload === target;
}

function aims(r: StepResult, target: string): boolean {
  if (r.action === 'pivot') return (r.graph?.nodes ?? []).some((n) => n.id === target);
  return REQUEST_LIKE.has(r.action) && r.evidence.destination?.workload === target;
}

function judgeReach(o: ObjectiveDoc, steps: readonly StepResult[], attackIds: ReadonlySet<string>): Judgement {
  const target = o.reach as string;
  const mine = steps.filter((s) => attackIds.has(s.id) && s.attack);
  if (mine.length === 0) {
    const others = steps.filter((s) => attackIds.has(s.id)).length;
    return { met: false, why: others === 0
      ? `attack.yaml has no step yet. Nothing has tried to reach ${target}.`
      : `None of the ${others} step(s) of attack.yaml is an attack step: a step \`from:\` a workload the attacker does not control is legitimate traffic and reaches nothing for you. Act from the foothold, or from a workload you took over.` };
  }
  const reaching = mine.filter((s) => reaches(s, target));
  if (reaching.some((s) => o.using === undefined || usedStolen(s, o.using, target))) return { met: true, why: null };
  if (reaching.length > 0) {
    const r = reaching[0] as StepResult;
    const note = r.evidence.replayed && !r.evidence.replayed.held ? ` (${r.evidence.replayed.note})` : '';
    return { met: false, why: `Step "${r.id}" reaches ${target}, but not with a credential the attacker took${note}: this objective counts only ${o.using === 'stolen-cert' ? 'a stolen certificate' : o.using === 'stolen-jwt' ? 'a stolen or captured token' : 'a stolen credential'}. Look at what the foothold holds or sees, and when it expires.` };
  }
  const tried = mine.filter((s) => aims(s, target));
  if (tried.length > 0) {
    const r = tried[tried.length - 1] as StepResult;
    const stops = r.action === 'pivot'
      ? [...new Set((r.graph?.edges ?? []).filter((e) => e.to === target).flatMap((e) => e.stoppedBy.map(controlName)))].slice(0, 3)
      : r.stoppedBy.map((s) => `${controlName(s)}: ${s.reason}`);
    const replay = r.evidence.replayed && !r.evidence.replayed.held ? ` (${r.evidence.replayed.note})` : '';
    return { met: false, why: `Step "${r.id}" tried ${target} and was stopped${stops.length > 0 ? ` by ${stops.join('; ')}` : ''}${replay}. Look at what ${target} accepts — which workloads, identities or credentials — and what your steps present to it, and when.` };
  }
  const elsewhere = [...new Set(mine.flatMap((s) => (s.action === 'pivot' ? s.reached ?? [] : reaches(s, destinationOf(s)) ? [destinationOf(s)] : [])))].sort();
  return { met: false, why: `No step of attack.yaml reaches ${target} yet${elsewhere.length > 0 ? `; they reach ${elsewhere.join(', ')}` : ''}. Look at which workloads and identities ${target}'s policies accept.` };
}

export function judgeObjective(o: ObjectiveDoc, run: RunResult, attackIds: ReadonlySet<string>): Judgement {
  if (o.reach !== undefined) return judgeReach(o, run.steps, attackIds);
  if (o.traffic !== undefined) return judgeTraffic(o, run);
  return judgeStep(o, run.steps);
}
