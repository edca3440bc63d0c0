/**
 * Runs a validated scenario against a loaded mesh: binds references
 * (foothold, `from`, `to`) with located errors, then plays the steps in
 * simulated time and judges each against its expectation. Pure and
 * deterministic: randomness comes only from streams seeded by the scenario seed.
 */
import seedrandom from 'seedrandom';
import { parseDuration } from '../core/duration.js';
import { fnv1a64, stableStringify } from '../core/hash.js';
import { IssueList } from '../core/issues.js';
import type { Mesh, Workload } from '../model/types.js';
import { decide, type DecideOptions, type MeshRequest, type Protocol, type RequestSource, type RequestTarget } from '../policy/decide.js';
import type { ExtAuthz } from '../policy/authorization-policy.js';
import { signaturesFor, TokenMinter, trustedKeyFor } from './tokens.js';
import type { LoadedScenario } from './load.js';
import type { StepDoc } from './schema.js';
import type { Outcome, RunResult, StepResult } from './types.js';

export const DEFAULT_OUTSIDE_IP = '203.0.113.10';

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
  const ids = new Set(mesh.workloads.map((w) => w.id));
  const check = (ref: string | undefined, path: (string | number)[], what: string): void => {
    if (ref === undefined || ref === 'outside' || ids.has(ref)) return;
    const [ns, name] = ref.split('/');
    const near = mesh.workloads.filter((w) => w.namespace === ns || w.name === name).map((w) => w.id).slice(0, 5);
    issues.error('unknown-workload', `${what} "${ref}" is not a workload of the mesh`, s.src.locate(path),
      near.length > 0 ? `did you mean ${near.join(', ')}?` : 'name a Deployment, StatefulSet, DaemonSet or Pod as namespace/name');
  };
  check(s.doc.spec.attacker.foothold, ['spec', 'attacker', 'foothold'], 'foothold');
  for (const id of Object.keys(s.doc.spec.workloads ?? {})) check(id, ['spec', 'workloads', id], 'workload');
  s.doc.spec.steps.forEach((step, i) => {
    check(step.from, ['spec', 'steps', i, 'from'], 'from');
    if (step.to?.startsWith('workload/')) {
      const ref = step.to.slice('workload/'.length).replace(/:\d+$/, '');
      check(ref, ['spec', 'steps', i, 'to'], 'to');
    }
  });
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

function parseTarget(mesh: Mesh, to: string): RequestTarget {
  const colon = to.lastIndexOf(':');
  const host = to.slice(0, colon);
  const port = Number(to.slice(colon + 1));
  if (host.startsWith('workload/')) {
    const w = mesh.workloads.find((x) => x.id === host.slice('workload/'.length)) as Workload;
    return { kind: 'workload', workload: w, port };
  }
  return { kind: 'host', host, port };
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

export const DEFAULT_START_TIME = '2026-01-01T00:00:00Z';

export async function runScenario(s: LoadedScenario, mesh: Mesh, opts: RunOptions = {}): Promise<RunResult> {
  const spec = s.doc.spec;
  const seed = opts.seed ?? spec.seed ?? 1;
  const lb = seedrandom(`${seed}/load-balancer`);
  const weights = seedrandom(`${seed}/route-weights`);
  const epoch = Date.parse(spec.startTime ?? DEFAULT_START_TIME) / 1000;
  const standIns = opts.jwks ?? {};
  const minter = new TokenMinter(mesh, standIns, seed, epoch);
  const named = new Map<string, string>();
  for (const [name, c] of Object.entries(spec.tokens ?? {})) named.set(name, await minter.mint(c, 0));
  const extAuthz = extAuthzFrom(s);
  const foothold = spec.attacker.foothold;
  const steps: StepResult[] = [];
  let now = 0;
  for (const step of spec.steps) {
    const at = step.at !== undefined ? (parseDuration(step.at) as number) : now;
    now = Math.max(now, at);
    const from = step.from ?? foothold;
    const attack = from === foothold;
    const headers: Record<string, string> = { ...(step.headers ?? {}) };
    const token = step.token ?? (typeof step.jwt === 'string' ? named.get(step.jwt) : step.jwt ? await minter.mint(step.jwt, now) : undefined);
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    const sigs = step.action === 'wait' ? undefined : await signaturesFor(mesh, standIns, { headers, path: step.path ?? '/', method: step.method ?? 'GET' });
    const result = runStep(step, mesh, { from, attack, now, lb, weights, extAuthz, headers, jwt: sigs ? { nowSeconds: epoch + now / 1000, sigs } : undefined });
    if (step.action === 'wait') now += parseDuration(step.for ?? '0s') as number;
    steps.push(result);
  }
  let passed = 0;
  let failed = 0;
  for (const r of steps) {
    if (r.expectationMet === true) passed++;
    else if (r.expectationMet === false) failed++;
  }
  const breached = steps.some((r) => r.attack && r.action !== 'wait' && (r.outcome === 'allowed' || r.outcome === 'partial'));
  const out: RunResult = {
    scenario: s.doc.metadata.name,
    file: s.file,
    seed,
    verdict: breached ? 'breached' : 'contained',
    expectations: { passed, failed },
    steps,
    traffic: [],
    warnings: opts.warnings ?? [],
    fingerprint: '',
  };
  if (s.doc.metadata.description !== undefined) out.description = s.doc.metadata.description;
  out.fingerprint = fnv1a64(stableStringify(steps.map((x) => [x.id, x.outcome, x.code, x.mtls, x.evidence.events])));
  return out;
}

interface StepCtx {
  from: string;
  attack: boolean;
  now: number;
  lb: () => number;
  weights: () => number;
  extAuthz: ExtAuthz | undefined;
  headers: Record<string, string>;
  jwt: DecideOptions['jwt'] | undefined;
}

function runStep(step: StepDoc, mesh: Mesh, c: StepCtx): StepResult {
  const expected: Outcome | null = step.expect ?? null;
  const base = { id: step.id, action: step.action, expected, attack: c.attack, from: c.from, t: c.now };
  if (step.action === 'wait') {
    return { ...base, outcome: 'allowed', code: null, mtls: null, stoppedBy: [], expectationMet: expected === null ? null : expected === 'allowed',
      evidence: { events: [{ t: c.now, hop: 'scenario', what: `simulated time advances by ${step.for}` }] } };
  }
  const to = step.to as string;
  const source: RequestSource = c.from === 'outside'
    ? { kind: 'outside', ip: step.sourceIp ?? DEFAULT_OUTSIDE_IP }
    : { kind: 'workload', workload: mesh.workloads.find((w) => w.id === c.from) as Workload };
  const protocol: Protocol = (step.protocol ?? 'http') as Protocol;
  const req: MeshRequest = {
    from: source,
    to: parseTarget(mesh, to),
    protocol,
    method: step.method ?? (protocol === 'grpc' ? 'POST' : 'GET'),
    path: step.path ?? '/',
    headers: c.headers,
    tls: step.tls ?? 'auto',
  };
  if (step.sni !== undefined) req.sni = step.sni;
  const opts: DecideOptions = { pickEndpoint: (eps) => eps[Math.floor(c.lb() * eps.length)] as Workload, pick: c.weights };
  if (c.extAuthz) opts.extAuthz = c.extAuthz;
  if (c.jwt) opts.jwt = c.jwt;
  const d = decide(mesh, req, opts);
  const sent: NonNullable<StepResult['evidence']['sent']> = { from: c.from, to, protocol, tls: req.tls };
  if (protocol !== 'tcp' && protocol !== 'tls') { sent.method = req.method; sent.path = req.path; sent.headers = { ...req.headers }; }
  if (req.sni !== undefined) sent.sni = req.sni;
  const evidence: StepResult['evidence'] = { events: d.events.map((e) => ({ t: c.now, ...e })), sent };
  if (d.destination) evidence.destination = d.destination;
  if (d.received) evidence.received = d.received;
  if (d.response) evidence.response = d.response;
  if (d.flags) evidence.flags = d.flags;
  if (d.peerPrincipal !== undefined) evidence.peerPrincipal = d.peerPrincipal;
  if (d.requestPrincipal !== undefined) evidence.requestPrincipal = d.requestPrincipal;
  if (d.path) evidence.proxies = d.path;
  if (d.authz) {
    evidence.authorization = {
      stage: d.authz.stage,
      rule: d.authz.decidedBy?.rule ?? null,
      details: d.authz.details,
      audited: d.authz.audited.map((a) => a.rule),
      shadow: d.authz.shadow.map((s) => ({ policy: s.policy, rule: s.rule?.rule ?? null, effect: s.effect })),
    };
  }
  const res: StepResult = {
    ...base, to, outcome: d.outcome, code: d.code, mtls: d.mtls, stoppedBy: d.stoppedBy,
    expectationMet: expected === null ? null : expected === d.outcome, evidence,
  };
  if (d.grpcStatus !== undefined) res.grpcStatus = d.grpcStatus;
  return res;
}
