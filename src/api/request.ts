/**
 * One request against a loaded mesh: the request as a person writes it
 * (`from: ns/workload | outside`, `to: host:port | workload/<ns>/<name>:<port>`)
 * → the policy engine's MeshRequest → its Decision, and the decision as JSON.
 * Shared by `meshrange request` and the library's `decide`. The instant tokens
 * are checked at is the caller's: nothing here reads a clock.
 */
import type { IssueList } from '../core/issues.js';
import { defaultMethod, HEADER_NAME_FORM, HEADER_VALUE_FORM, isHeaderName, isHeaderValue, isHttpToken, isRequestPath, MAX_SNI_LENGTH, PATH_FORM, TOKEN_FORM } from '../core/http.js';
import { parseIp } from '../core/ip.js';
import { quotedName } from '../loader/names.js';
import { DESTINATION_RE } from '../core/names.js';
import { appendValue, setOwn } from '../core/record.js';
import type { Mesh, Workload } from '../model/types.js';
import { decide, type Capability, type Decision, type MeshRequest, type Protocol, type TlsIntent } from '../policy/decide.js';
import { DEFAULT_OUTSIDE_IP } from '../policy/pipeline.js';
import { signaturesFor } from '../scenario/tokens.js';

export interface RequestSpec {
  /** `namespace/workload`, or `outside` (a client outside the cluster) */
  from: string;
  /** `host:port` (resolved as in-cluster DNS from the client's namespace), or `workload/<ns>/<name>:<port>` (a pod directly) */
  to: string;
  /** default GET */
  method?: string;
  /** default / */
  path?: string;
  headers?: Readonly<Record<string, string>>;
  /** default http */
  protocol?: Protocol;
  /** default auto */
  tls?: TlsIntent;
  /** a compact JWT sent as `authorization: Bearer <token>` */
  token?: string;
  sni?: string;
  /** the client tries to leave around its own sidecar */
  bypass?: boolean;
  capabilities?: readonly Capability[];
  /** source address of an `outside` client (default 203.0.113.10) */
  sourceIp?: string;
}

export interface DecideInput {
  /** the instant tokens are checked at: a Date or milliseconds since the epoch (required: the library reads no clock) */
  now: Date | number;
  /** offline JWKS documents by jwksUri (as a scenario's spec.mesh.jwks), for RequestAuthentication */
  jwks?: Readonly<Record<string, string>>;
}

const PROTOCOLS: readonly string[] = ['http', 'http2', 'grpc', 'tcp', 'tls'];
const TLS: readonly string[] = ['auto', 'plaintext', 'mtls'];
const CAPABILITIES: readonly string[] = ['root', 'net-admin', 'proxy-uid'];
const MAX_HEADERS = 256;
const MAX_FIELD = 64 * 1024;

/** The spec as a MeshRequest, or null with every problem in `issues`. */
export function buildRequest(mesh: Mesh, spec: RequestSpec, issues: IssueList): MeshRequest | null {
  const before = issues.errors.length;
  const find = (id: string): Workload | undefined => mesh.workloads.find((w) => w.id === id);
  const known = (): string => {
    const ids = mesh.workloads.map((w) => w.id);
    if (ids.length === 0) return 'the manifests define no workload (Deployment, StatefulSet, DaemonSet, ReplicaSet or Pod): check --mesh, or send from outside';
    return `known workloads: ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? `, … (${ids.length} in all)` : ''}`;
  };
  let src: Workload | undefined;
  if (spec.from !== 'outside') {
    src = find(spec.from);
    if (!src) issues.error('unknown-workload', `from ${quotedName(spec.from)} is not a workload of the mesh`, undefined, known());
  }
  // as a scenario's to: a DNS name or address of at most 253 characters, or workload/<ns>/<name>
  const m = DESTINATION_RE.exec(spec.to);
  let to: MeshRequest['to'] | undefined;
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    issues.error('bad-request', `to ${quotedName(spec.to)}: expected host:port or workload/<ns>/<name>:<port> — a DNS name or IPv4 address (letters, digits, -, _ and ., at most 253 characters) and a port from 1 to 65535`,
      undefined, 'e.g. --to reviews.bookinfo:9080, or --to workload/bookinfo/reviews-v1:9080 to dial a pod');
  }
  else {
    const host = m[1] as string;
    const port = Number(m[2]);
    if (host.startsWith('workload/')) {
      const w = find(host.slice('workload/'.length));
      if (!w) issues.error('unknown-workload', `to ${quotedName(spec.to)}: ${host.slice('workload/'.length)} is not a workload of the mesh`, undefined, known());
      else to = { kind: 'workload', workload: w, port };
    } else to = { kind: 'host', host, port };
  }
  const protocol = spec.protocol ?? 'http';
  if (!PROTOCOLS.includes(protocol)) issues.error('bad-request', `protocol ${String(protocol)}: expected one of ${PROTOCOLS.join(', ')}`);
  const tls = spec.tls ?? 'auto';
  if (!TLS.includes(tls)) issues.error('bad-request', `tls ${String(tls)}: expected one of ${TLS.join(', ')}`);
  for (const c of spec.capabilities ?? []) if (!CAPABILITIES.includes(c)) issues.error('bad-request', `capability ${String(c)}: expected one of ${CAPABILITIES.join(', ')}`);
  const path = spec.path ?? '/';
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > 2048) issues.error('bad-request', `path ${String(path).slice(0, 80)}: must start with / and be at most 2048 characters`, undefined, `e.g. --path /${typeof path === 'string' ? path.replace(/^\/*/, '').slice(0, 60) : ''}`);
  else if (!isRequestPath(path)) issues.error('bad-request', `path ${quotedName(path)}: ${PATH_FORM}`);
  // a gRPC call is always a POST (istio-semantics §6.6): that is the default for grpc, as in a scenario step
  const method = spec.method ?? defaultMethod(protocol);
  if (typeof method !== 'string' || !isHttpToken(method) || method.length > MAX_FIELD) issues.error('bad-request', `method ${quotedName(String(method))}: must be ${TOKEN_FORM}`);
  const headers: Record<string, string> = {};
  const given = Object.entries(spec.headers ?? {});
  if (given.length > MAX_HEADERS) issues.error('bad-request', `${given.length} headers: at most ${MAX_HEADERS}`);
  for (const [k, v] of given.slice(0, MAX_HEADERS)) {
    if (typeof v !== 'string' || k.length > MAX_FIELD || v.length > MAX_FIELD) { issues.error('bad-request', `header ${k.slice(0, 80)}: expected a string value of at most ${MAX_FIELD} characters`); continue; }
    if (!isHeaderName(k)) { issues.error('bad-request', `header name ${quotedName(k)}: must be ${HEADER_NAME_FORM}`); continue; }
    if (!isHeaderValue(v)) { issues.error('bad-request', `header ${k.slice(0, 80)}: ${HEADER_VALUE_FORM}`); continue; }
    appendValue(headers, k, v);
  }
  if (spec.token !== undefined) setOwn(headers, 'authorization', `Bearer ${spec.token}`);
  if (spec.sni !== undefined && (typeof spec.sni !== 'string' || spec.sni.length > MAX_SNI_LENGTH)) {
    issues.error('bad-request', `sni ${String(spec.sni).slice(0, 80)}${String(spec.sni).length > 80 ? '…' : ''}: a server name is at most ${MAX_SNI_LENGTH} characters, as in a scenario`, undefined, 'give the server name the client sends, e.g. --sni api.stripe.com');
  }
  if (spec.sourceIp !== undefined && parseIp(spec.sourceIp) === null) issues.error('bad-request', `sourceIp ${spec.sourceIp.slice(0, 80)}: expected an IPv4 or IPv6 address, e.g. 203.0.113.10`);
  if (issues.errors.length > before || !to) return null;
  const req: MeshRequest = {
    from: src ? { kind: 'workload', workload: src } : { kind: 'outside', ip: spec.sourceIp ?? DEFAULT_OUTSIDE_IP },
    to, protocol, method, path, headers, tls,
  };
  if (spec.sni !== undefined) req.sni = spec.sni;
  if (spec.bypass) req.bypass = true;
  if (spec.capabilities && spec.capabilities.length > 0) req.capabilities = spec.capabilities;
  return req;
}

/** The request's decision; tokens are checked at `input.now` against the mesh's (or the stand-in) JWKS. */
export async function decideRequest(mesh: Mesh, req: MeshRequest, input: DecideInput): Promise<Decision> {
  return decide(mesh, req, { jwt: await jwtAt(mesh, req, input) });
}

/** The request's tokens checked at `input.now` against the mesh's key sets (and `input.jwks` stand-ins). */
async function jwtAt(mesh: Mesh, req: MeshRequest, input: DecideInput): Promise<{ nowSeconds: number; sigs: Awaited<ReturnType<typeof signaturesFor>> }> {
  const nowMs = input.now instanceof Date ? input.now.getTime() : input.now;
  return { nowSeconds: nowMs / 1000, sigs: await signaturesFor(mesh, input.jwks ?? {}, { headers: req.headers, path: req.path, method: req.method }) };
}

/** Most alternatives decideEveryEndpoint tries at one choice (a Service's endpoints, a route's weighted destinations). */
export const MAX_SWEPT_ENDPOINTS = 16;
/** Most whole decisions decideEveryEndpoint makes for one request (every path through the choices, the first included). */
export const MAX_SWEPT_DECISIONS = 256;

/** One endpoint's verdict for the same request (decideEveryEndpoint). */
export interface EndpointVerdict {
  workload: string;
  outcome: Decision['outcome'];
  code: number | null;
  stoppedBy: Decision['stoppedBy'];
  /** the endpoints picked on the way there (an ingress gateway's replicas), on any path that came to this verdict; absent when none was */
  via?: string[];
}

/**
 * decideRequest, and — when the request meets a choice on its way (a Service with several endpoints, a gateway with
 * several replicas and then the backend's endpoints, a route or a ServiceEntry that splits by weight) — the same
 * request decided along every path through those choices, listed by the workload that answers: a load balancer
 * spreads requests over all of them, and where their policies, sidecars or labels differ, some requests get through
 * and others do not, which one decision cannot say. Weighted choices are enumerated by index (routing.ts Draw), so a
 * destination holding 0.1 % of the weight is decided too; weight-0 ones get no traffic and are not.
 *
 * At most MAX_SWEPT_ENDPOINTS alternatives of one choice and MAX_SWEPT_DECISIONS decisions in all; `more` counts the
 * alternatives left undecided (past a choice's bound, or on paths past the budget). `endpoints` is null when every
 * path decided decides alike (or there is no choice).
 */
export async function decideEveryEndpoint(mesh: Mesh, req: MeshRequest, input: DecideInput): Promise<{ decision: Decision; endpoints: EndpointVerdict[] | null; more: number }> {
  const jwt = await jwtAt(mesh, req, input);
  const label = (d: Decision): string => d.destination?.workload ?? (d.outcome === 'allowed' ? 'outside the mesh' : '(not delivered)');
  const verdictKey = (v: { outcome: string; code: number | null; stoppedBy: Decision['stoppedBy'] }): string =>
    JSON.stringify([v.outcome, v.code, v.stoppedBy.map((s) => [s.control, s.name])]);
  const seen = new Map<string, EndpointVerdict>();
  // The choices as a tree walked depth first, like an odometer: each decision follows `prefix` (the alternative taken
  // at each choice met so far), then the first alternative of every choice past it; the next path turns the deepest
  // choice with an untried alternative one step on.
  let prefix: number[] = [];
  let more = 0;
  // endpoints past a choice's bound, by id: the same Service met on several paths (behind each gateway replica) leaves
  // the same ones undecided, counted once, and not at all when another path decided them
  const pastBound = new Set<string>();
  const decidedIds = new Set<string>();
  let decision: Decision | null = null;
  for (let runs = 0; ; runs++) {
    /** per choice met on this path: the alternatives (indices) it may take, and the index of the one taken */
    const options: number[][] = [];
    const taken: number[] = [];
    const picked: string[] = [];
    const choose = (alternatives: number[], untried: (past: number[]) => void): number => {
      const k = taken.length;
      const tried = alternatives.slice(0, MAX_SWEPT_ENDPOINTS);
      // a choice first met on this path (past the prefix) says its alternatives past the bound once
      if (k >= prefix.length && alternatives.length > tried.length) untried(alternatives.slice(tried.length));
      const at = k < prefix.length ? Math.min(prefix[k] as number, tried.length - 1) : 0;
      options.push(tried);
      taken.push(at);
      return tried[at] as number;
    };
    const among = (weights: readonly number[]): number => {
      const positive = weights.map((w, i) => (w > 0 ? i : -1)).filter((i) => i >= 0);
      // no positive weight: the cumulative draw lands on the last
      return choose(positive.length > 0 ? positive : [weights.length - 1], (past) => { more += past.length; });
    };
    const d = decide(mesh, req, {
      jwt, explain: runs === 0,
      pick: Object.assign(() => 0, { among }),
      pickEndpoint: (eps) => {
        const w = eps[choose(eps.map((_, i) => i), (past) => { for (const i of past) pastBound.add((eps[i] as Workload).id); })] as Workload;
        picked.push(w.id);
        decidedIds.add(w.id);
        return w;
      },
    });
    if (runs === 0) decision = d;
    const workload = label(d);
    const v: EndpointVerdict = { workload, outcome: d.outcome, code: d.code, stoppedBy: d.stoppedBy };
    const key = `${workload}\u0000${verdictKey(v)}`;
    const known = seen.get(key) ?? v;
    if (known === v) seen.set(key, v);
    // the endpoints picked before the one that answered (a gateway replica), on every path that came to this verdict
    for (const id of picked) if (id !== workload && !(known.via ??= []).includes(id)) known.via.push(id);
    if (known.via?.length === 0) delete known.via;
    let j = taken.length - 1;
    while (j >= 0 && (taken[j] as number) + 1 >= (options[j] as number[]).length) j--;
    if (j < 0) break;
    if (runs + 1 >= MAX_SWEPT_DECISIONS) {
      // the paths left: at least one per untried alternative of the last path's choices
      for (let i = 0; i <= j; i++) more += (options[i] as number[]).length - (taken[i] as number) - 1;
      break;
    }
    prefix = [...taken.slice(0, j), (taken[j] as number) + 1];
  }
  for (const id of pastBound) if (!decidedIds.has(id)) more++;
  const endpoints = [...seen.values()];
  const alike = endpoints.every((v) => verdictKey(v) === verdictKey(endpoints[0] as EndpointVerdict));
  // the endpoints past the bound are said, whether or not the decided ones agree: they may not
  return { decision: decision as Decision, endpoints: alike ? null : endpoints, more };
}

/** A decision as `meshrange request --format json` prints it (after its `request` field). */
export function decisionJson(d: Decision): Record<string, unknown> {
  const o: Record<string, unknown> = { outcome: d.outcome, code: d.code };
  if (d.grpcStatus !== undefined) o['grpcStatus'] = d.grpcStatus;
  o['mtls'] = d.mtls;
  o['stoppedBy'] = d.stoppedBy;
  o['trace'] = d.events;
  if (d.destination) o['destination'] = d.destination;
  if (d.received) o['received'] = d.received;
  if (d.response) o['response'] = d.response;
  if (d.flags) o['flags'] = d.flags;
  if (d.authz) {
    o['authorization'] = { stage: d.authz.stage, rule: d.authz.decidedBy?.rule ?? null, details: d.authz.details, audited: d.authz.audited.map((a) => a.rule),
      shadow: d.authz.shadow, dropped: d.authz.dropped };
  }
  return o;
}
