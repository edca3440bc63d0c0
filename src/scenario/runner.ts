/**
 * Runs a validated scenario against a loaded mesh: binds references
 * (foothold, `from`, `to`) with located errors, then plays the steps and the
 * legitimate traffic in simulated time (simulate.ts) and judges each step
 * against its expectation. Deterministic: randomness comes only from streams
 * seeded by the scenario seed.
 */
import { parseDuration, parseRate } from '../core/duration.js';
import { IssueList } from '../core/issues.js';
import type { Mesh } from '../model/types.js';
import type { ExtAuthz } from '../policy/authorization-policy.js';
import { actionModule } from './actions/index.js';
import { checkWorkloadRef } from './refs.js';
import { trustedKeyFor } from './tokens.js';
import type { LoadedScenario } from './load.js';
import { simulateScenario } from './simulate.js';
import type { RunResult } from './types.js';

/** Most simulated requests one scenario may ask for (about a minute of work on these machines). */
export const MAX_SIMULATED_REQUESTS = 20_000_000;

/** Requests the traffic flows and floods of a scenario will send, roughly (rate × time). */
export function estimateRequests(s: LoadedScenario): number {
  const spec = s.doc.spec;
  let end = 0;
  let floods = 0;
  for (const step of spec.steps) {
    const at = Math.max(end, step.at !== undefined ? (parseDuration(step.at) ?? 0) : end);
    const lasts = step.action === 'flood' || step.action === 'wait' ? (parseDuration(step.for ?? '0s') ?? 0) : 0;
    if (step.action === 'flood') floods += ((parseRate(step.rate ?? '0/s') ?? 0) * lasts) / 1000;
    end = at + lasts;
  }
  const flows = spec.traffic ?? [];
  const duration = spec.duration !== undefined ? (parseDuration(spec.duration) ?? 0) : flows.length > 0 ? Math.max(30_000, end + 10_000) : end;
  const perSecond = flows.reduce((n, f) => n + (parseRate(f.rate) ?? 0), 0);
  // With traffic and a flood, the run is replayed without the attack: flows count twice.
  return floods + (perSecond * duration / 1000) * (floods > 0 ? 2 : 1);
}

export interface RunOptions {
  /** overrides spec.seed */
  seed?: number;
  /** texts of the spec.mesh.jwks stand-ins, by jwksUri */
  jwks?: Readonly<Record<string, string>>;
  /** loader warnings to carry into the report */
  warnings?: string[];
}

/** Checks that every workload and destination the scenario names exists in the mesh. */
export function bindScenario(s: LoadedScenario, mesh: Mesh, issues: IssueList, standIns: Readonly<Record<string, string>> = {}): boolean {
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
  // Scenarios may come from strangers: refuse one that would simulate an unreasonable volume (never a hang).
  const work = estimateRequests(s);
  if (work > MAX_SIMULATED_REQUESTS) {
    issues.error('scenario-too-large', `the scenario asks for about ${Math.round(work).toLocaleString('en-US')} simulated requests (traffic rate × duration, plus floods); the limit is ${MAX_SIMULATED_REQUESTS.toLocaleString('en-US')}`,
      s.src.locate(s.doc.spec.duration !== undefined ? ['spec', 'duration'] : ['spec']), 'shorten spec.duration or lower the rates of traffic flows and floods');
  }
  // A trusted signer needs a private key in the JWKS that validates the issuer.
  const checkSigner = (c: { iss?: string | undefined; signer?: string | undefined }, path: (string | number)[]): void => {
    if ((c.signer ?? 'trusted') !== 'trusted') return;
    const found = trustedKeyFor(mesh, c.iss, standIns);
    if ('problem' in found) issues.error('no-signing-key', `cannot sign a trusted token: ${found.problem}`, s.src.locate(path));
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
    const c = cfg[provider];
    if (!c) return undefined;
    if (!c.allowIf) return { allowed: true, reason: `stand-in for ${provider} allows every request` };
    const value = attrs.http?.headers[c.allowIf.header.toLowerCase()];
    if (value === c.allowIf.equals) return { allowed: true, reason: `${provider}: header ${c.allowIf.header} is "${c.allowIf.equals}"` };
    return { allowed: false, status: c.deniedStatus ?? 403,
      body: `denied by ext_authz for not found header \`${c.allowIf.header}: ${c.allowIf.equals}\` in the request`,
      reason: `${provider} denied: header ${c.allowIf.header} is not "${c.allowIf.equals}"` };
  };
}

export async function runScenario(s: LoadedScenario, mesh: Mesh, opts: RunOptions = {}): Promise<RunResult> {
  return simulateScenario(s, mesh, { ...opts, extAuthz: extAuthzFrom(s) });
}
