/**
 * Runs a validated scenario against a loaded mesh: binds references
 * (foothold, `from`, `to`) with located errors, then plays the steps and the
 * legitimate traffic in simulated time (simulate.ts) and judges each step
 * against its expectation. Deterministic: randomness comes only from streams
 * seeded by the scenario seed.
 */
import { MAX_DURATION_MS, parseDuration, parseRate } from '../core/duration.js';
import { IssueList } from '../core/issues.js';
import { ownValue } from '../core/record.js';
import type { Mesh } from '../model/types.js';
import type { ExtAuthz } from '../policy/authorization-policy.js';
import { EXFIL_CHUNK_BYTES } from './actions/exfiltrate.js';
import { actionModule } from './actions/index.js';
import { checkWorkloadRef } from './refs.js';
import { signingRulesOf, trustedKeyFor } from './tokens.js';
import type { JwtRule } from '../model/request-authentication.js';
import type { LoadedScenario } from './load.js';
import { scenarioSpan, simulateScenario, type ProgressHook } from './simulate.js';
import type { RunResult } from './types.js';
import { DEFAULT_WORKLOAD_TTL_MS } from '../sim/mesh/ca.js';
import { DEFAULT_CSR_BACKOFF, GRACE_PERIOD_RATIO, GRACE_PERIOD_RATIO_JITTER } from '../sim/mesh/certificates.js';
import { checkReferences } from './references.js';
import { grouped } from '../core/text.js';
import { DEFAULT_RETRY } from '../model/routing.js';
import type { Location } from '../core/issues.js';

/**
 * Most simulated requests one scenario may ask for. Measured on these 2-core machines: 15–25 µs a request for flows
 * that get through, up to ~85 µs for a flood that overloads its target (503s, retries, ejections), so at most about
 * 2 to 7 minutes of work. 20 M was up to half an hour: a stranger's `rate: 100000/s` flood ran for minutes.
 * (B1c's 10 M-event flood asks for about 2.4 M.)
 */
export const MAX_SIMULATED_REQUESTS = 5_000_000;

/** The longest simulated run: 366 days (core/duration.ts MAX_DURATION_MS). */
export const MAX_SIMULATED_MS = MAX_DURATION_MS;

/**
 * Requests the traffic flows and floods of a scenario will send, roughly
 * (rate × time). Every term is non-negative: the schema refuses negative and
 * zero spans and rates, and nothing here could cancel another step's load.
 */
export function estimateRequests(s: LoadedScenario): number {
  const spec = s.doc.spec;
  const span = scenarioSpan(s);
  let floods = 0;
  let uploads = 0;
  spec.steps.forEach((step, i) => {
    const t = span.steps[i];
    if (step.action === 'flood' && t) floods += (Math.max(0, parseRate(step.rate ?? '0/s') ?? 0) * (t.end - t.at)) / 1000;
    if (step.action === 'exfiltrate') uploads += Math.ceil(Math.max(0, step.bytes ?? 0) / EXFIL_CHUNK_BYTES);
  });
  const perSecond = (spec.traffic ?? []).reduce((n, f) => n + Math.max(0, parseRate(f.rate) ?? 0), 0);
  // With traffic and a flood, the run is replayed without the attack: flows count twice.
  return floods + uploads + (perSecond * span.duration / 1000) * (floods > 0 ? 2 : 1);
}

/** The mesh's HTTP route with the most retry attempts, when it has more than Istio's default. */
function mostRetries(mesh: Mesh): { vs: string; attempts: number; loc: Location | undefined } | null {
  let best: { vs: string; attempts: number; loc: Location | undefined } | null = null;
  for (const vs of mesh.virtualServices) {
    for (const r of vs.http) {
      const a = r.retries?.attempts;
      if (a !== undefined && a > DEFAULT_RETRY.attempts && (best === null || a > best.attempts)) best = { vs: `${vs.meta.namespace}/${vs.meta.name}`, attempts: a, loc: vs.meta.loc };
    }
  }
  return best;
}

/**
 * Most certificate requests (signed or refused, retries included) one run may ask of the mesh CA. Each is a few
 * kernel events and a state-machine step: ~20 µs, so this is ~40 s of work at most. `workloadCertTtl: 1ms` over
 * 366 days asked for 6.5e10 per workload, and ten year-long CA outages for ~530,000 retries per workload: the run
 * worked until the kernel's 250 M-event budget (minutes, gigabytes) instead of being refused.
 */
export const MAX_CERT_REQUESTS = 2_000_000;

/**
 * An upper bound on the certificate requests of one run: every workload with a proxy asks once, then renews at
 * notAfter − lifetime × (0.5 ± 0.01), at least 0.49 × TTL apart, and while the CA is out retries after 1 s,
 * doubling up to 60 s (certificates.ts), counted for every outage as if each started the backoff afresh.
 */
export function estimateCertRequests(s: LoadedScenario, mesh: Mesh): number {
  const proxies = mesh.workloads.reduce((n, w) => n + (w.sidecar || w.gateway ? 1 : 0), 0);
  if (proxies === 0) return 0;
  const ca = s.doc.spec.ca;
  const span = scenarioSpan(s);
  const end = Math.max(span.duration, span.stepsEnd);
  const ttl = (ca?.workloadCertTtl !== undefined ? parseDuration(ca.workloadCertTtl) : null) ?? DEFAULT_WORKLOAD_TTL_MS;
  const apart = Math.max(ttl, 0.001) * (GRACE_PERIOD_RATIO - GRACE_PERIOD_RATIO_JITTER);
  let perProxy = 1 + end / apart;
  const { initialMs, maxMs } = DEFAULT_CSR_BACKOFF;
  const doublings = Math.ceil(Math.log2(maxMs / initialMs)) + 1;
  for (const o of [...(ca?.outages ?? []), ...(ca?.outage ? [ca.outage] : [])]) perProxy += doublings + Math.max(0, parseDuration(o.for) ?? 0) / maxMs;
  return proxies * perProxy;
}

export interface RunOptions {
  /** overrides spec.seed */
  seed?: number;
  /** texts of the spec.mesh.jwks stand-ins, by jwksUri */
  jwks?: Readonly<Record<string, string>>;
  /** the jwtRules whose key sets sign trusted tokens, when they are not the mesh's own (tokens.ts signingRulesOf) */
  signers?: readonly JwtRule[];
  /** loader warnings to carry into the report */
  warnings?: string[];
  /** the kernel's event budget (simulate.ts MAX_KERNEL_EVENTS by default) */
  maxEvents?: number;
  /** most requests the apps may hold at once (world.ts MAX_LIVE_REQUESTS by default) */
  maxLiveRequests?: number;
  /** decide() calls the pivot steps of one run may make in all (pivot.ts MAX_PIVOT_RUN_DECISIONS by default) */
  maxPivotDecisions?: number;
  /** told how far the simulation has got (simulate.ts SimProgress) */
  progress?: ProgressHook;
}

/** Checks that every workload and destination the scenario names exists in the mesh. */
export function bindScenario(s: LoadedScenario, mesh: Mesh, issues: IssueList, standIns: Readonly<Record<string, string>> = {},
  signers: readonly JwtRule[] = signingRulesOf(mesh)): boolean {
  const before = issues.errors.length;
  const check = (ref: string | undefined, path: (string | number)[], what: string): void => checkWorkloadRef(mesh, s.src, issues, ref, path, what);
  check(s.doc.spec.attacker.foothold, ['spec', 'attacker', 'foothold'], 'foothold');
  for (const id of Object.keys(s.doc.spec.workloads ?? {})) check(id, ['spec', 'workloads', id], 'workload');
  (s.doc.spec.traffic ?? []).forEach((f, i) => {
    check(f.from, ['spec', 'traffic', i, 'from'], 'from');
    if (f.to.startsWith('workload/')) check(f.to.slice('workload/'.length).replace(/:\d+$/, ''), ['spec', 'traffic', i, 'to'], 'to');
  });
  s.doc.spec.steps.forEach((step, i) => {
    check(step.from, ['spec', 'steps', i, 'from'], 'from');
    if (step.to?.startsWith('workload/')) {
      const ref = step.to.slice('workload/'.length).replace(/:\d+$/, '');
      check(ref, ['spec', 'steps', i, 'to'], 'to');
    }
    actionModule(step.action)?.bind?.({ step, path: ['spec', 'steps', i], doc: s.doc, src: s.src, issues, mesh });
  });
  checkReferences(s, mesh, issues);
  // Scenarios may come from strangers: refuse one that would simulate an unreasonable time or volume (never a hang).
  const span = scenarioSpan(s);
  // Steps are listed in time order: an `at` may fall while the step before still runs, never before that step starts.
  s.doc.spec.steps.forEach((step, i) => {
    const prev = i > 0 ? span.steps[i - 1] : undefined;
    const at = step.at !== undefined ? parseDuration(step.at) : null;
    if (prev === undefined || at === null || at >= prev.at) return;
    const prevStep = s.doc.spec.steps[i - 1];
    const starts = prev.at % 1000 === 0 ? `${prev.at / 1000}s` : `${prev.at}ms`;
    issues.error('step-out-of-order', `step "${step.id}" is at ${step.at}, before step "${prevStep?.id ?? ''}" above it starts (at ${starts}): steps are listed in the order they start`,
      s.src.locate(['spec', 'steps', i, 'at']), `give it an at of ${starts} or later, or move it above "${prevStep?.id ?? ''}" (when that step is yours to move)`);
  });
  if (Math.max(span.duration, span.stepsEnd) > MAX_SIMULATED_MS) {
    const last = span.steps.findIndex((t) => t.end > MAX_SIMULATED_MS);
    const days = (ms: number): string => `${Math.round(ms / 86_400_000 * 10) / 10}d`;
    const where = last >= 0 ? s.src.locate(['spec', 'steps', last]) : s.src.locate(['spec', 'duration']);
    issues.error('scenario-too-long', `the scenario runs for ${days(Math.max(span.duration, span.stepsEnd))} of simulated time${last >= 0 ? ` (step ${last + 1} ends at ${days(span.steps[last]?.end ?? 0)})` : ''}; the limit is ${days(MAX_SIMULATED_MS)}`,
      where, 'shorten the steps\' at/for or spec.duration');
  }
  const work = estimateRequests(s);
  if (work > MAX_SIMULATED_REQUESTS) {
    issues.error('scenario-too-large', `the scenario asks for about ${grouped(Math.round(work))} simulated requests (traffic rate × duration, plus floods); the limit is ${grouped(MAX_SIMULATED_REQUESTS)}`,
      s.src.locate(s.doc.spec.duration !== undefined ? ['spec', 'duration'] : ['spec']), 'shorten spec.duration or a flood step\'s for:, or lower the rates of traffic flows and floods');
  }
  // Requests the client sidecars retry cost again: the budget holds Istio's default 2 retries; a route with more (up
  // to 2^31) multiplies the work by its attempts (a 20,000-request flood against a route with attempts: 2e9 and
  // retryOn 403 ran until the kernel's event budget, 9 minutes and 2.6 GB).
  const retrying = work > 0 && work <= MAX_SIMULATED_REQUESTS ? mostRetries(mesh) : null;
  if (retrying !== null) {
    const withRetries = work * (1 + retrying.attempts) / (1 + DEFAULT_RETRY.attempts);
    if (withRetries > MAX_SIMULATED_REQUESTS) {
      issues.error('scenario-too-large', `with VirtualService ${retrying.vs}'s ${grouped(retrying.attempts)} retry attempts, the scenario may ask for about ${grouped(Math.round(withRetries))} simulated requests; the limit is ${grouped(MAX_SIMULATED_REQUESTS)}`,
        retrying.loc ?? s.src.locate(['spec']), 'lower the route\'s retries.attempts (Istio\'s default is 2), or the scenario\'s rates and durations');
    }
  }
  const certs = estimateCertRequests(s, mesh);
  if (certs > MAX_CERT_REQUESTS) {
    issues.error('scenario-too-large', `the mesh CA would handle about ${grouped(Math.round(certs))} certificate requests (every sidecar renews at half its certificate's lifetime, and retries while the CA is out); the limit is ${grouped(MAX_CERT_REQUESTS)}`,
      s.src.locate(s.doc.spec.ca !== undefined ? ['spec', 'ca'] : ['spec']), 'raise ca.workloadCertTtl, shorten spec.duration, or shorten or merge the CA outages');
  }
  // A trusted signer needs a private key in the JWKS that validates the issuer.
  const checkSigner = (c: { iss?: string | undefined; signer?: string | undefined }, path: (string | number)[]): void => {
    if ((c.signer ?? 'trusted') !== 'trusted') return;
    const found = trustedKeyFor(signers, c.iss, standIns);
    if ('problem' in found) issues.error('no-signing-key', `cannot sign a trusted token: ${found.problem}`, s.src.locate(path), found.fix);
  };
  for (const [name, c] of Object.entries(s.doc.spec.tokens ?? {})) checkSigner(c, ['spec', 'tokens', name]);
  s.doc.spec.steps.forEach((step, i) => {
    if (step.jwt !== undefined && typeof step.jwt !== 'string') checkSigner(step.jwt, ['spec', 'steps', i, 'jwt']);
  });
  return issues.errors.length === before;
}

export function extAuthzFrom(s: LoadedScenario): ExtAuthz | undefined {
  const cfg = s.doc.spec.extAuthz;
  if (!cfg) return undefined;
  return (provider, attrs) => {
    // A provider name is user input: `constructor` must not find Object's (that answered "allowed").
    const c = ownValue(cfg, provider);
    if (!c) return undefined;
    if (!c.allowIf) return { allowed: true, reason: `stand-in for ${provider} allows every request` };
    const value = ownValue(attrs.http?.headers, c.allowIf.header.toLowerCase());
    if (value === c.allowIf.equals) return { allowed: true, reason: `${provider}: header ${c.allowIf.header} is "${c.allowIf.equals}"` };
    return { allowed: false, status: c.deniedStatus ?? 403,
      body: `denied by ext_authz for not found header \`${c.allowIf.header}: ${c.allowIf.equals}\` in the request`,
      reason: `${provider} denied: header ${c.allowIf.header} is not "${c.allowIf.equals}"` };
  };
}

export async function runScenario(s: LoadedScenario, mesh: Mesh, opts: RunOptions = {}): Promise<RunResult> {
  return simulateScenario(s, mesh, { ...opts, extAuthz: extAuthzFrom(s) });
}
