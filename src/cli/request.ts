/** `meshrange request`: one request, its verdict and the whole explanation trace. */
import { escapeControls, jsonDocument } from '../core/escape.js';
import { IssueList } from '../core/issues.js';
import { defaultMethod } from '../core/http.js';
import { principalOf, spiffeId } from '../model/types.js';
import type { Capability, Decision, Protocol, TlsIntent } from '../policy/decide.js';
import { destinationWarning } from '../scenario/references.js';
import { buildRequest, decideEveryEndpoint, decisionJson, MAX_SWEPT_DECISIONS, MAX_SWEPT_ENDPOINTS, type EndpointVerdict, type RequestSpec } from '../api/request.js';
import { readSource } from './fs.js';
import { EXIT_BAD_INPUT, EXIT_OK, printIssues, type Io } from './main.js';
import { loadMeshOptions, type MeshOptions } from './mesh-input.js';
import { appendValue, setOwn } from '../core/record.js';

export interface RequestOpts extends MeshOptions {
  from: string;
  to: string;
  /** absent: GET, or POST for grpc (a gRPC call is always a POST) */
  method?: string;
  path: string;
  header: string[];
  protocol: string;
  tls: string;
  bypass?: boolean;
  capability?: string[];
  sourceIp: string;
  format: string;
  token?: string;
  jwks: string[];
  sni?: string;
  time?: string;
}

/** --method, or its default: GET, POST for grpc (a gRPC call is always a POST). */
function methodOf(opts: RequestOpts): string {
  return opts.method ?? defaultMethod(opts.protocol);
}

export async function requestCommand(opts: RequestOpts, io: Io): Promise<number> {
  const issues = new IssueList();
  const loaded = loadMeshOptions(opts, issues);
  if (!loaded) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  const { mesh } = loaded;
  const loadIssues = issues;
  const headers: Record<string, string> = {};
  for (const h of opts.header) {
    const i = h.indexOf(':');
    if (i <= 0) { issues.error('bad-usage', `--header ${h}: expected name:value`, undefined, 'write the header as name:value, e.g. --header x-user:alice'); continue; }
    appendValue(headers, h.slice(0, i).trim(), h.slice(i + 1).trim());
  }
  const spec: RequestSpec = {
    from: opts.from, to: opts.to, method: methodOf(opts), path: opts.path, headers, protocol: opts.protocol as Protocol, tls: opts.tls as TlsIntent, sourceIp: opts.sourceIp,
    ...(opts.token !== undefined ? { token: opts.token } : {}), ...(opts.sni !== undefined ? { sni: opts.sni } : {}), ...(opts.bypass ? { bypass: true } : {}),
    ...(opts.capability && opts.capability.length > 0 ? { capabilities: opts.capability as Capability[] } : {}),
  };
  const req = issues.hasErrors() ? null : buildRequest(mesh, spec, issues);
  if (issues.hasErrors() || !req) { printIssues(io, issues.errors.map((e) => ({ ...e, message: e.message.replace(/^(from|to) /, '--$1 ') }))); return EXIT_BAD_INPUT; }
  const src = req.from.kind === 'workload' ? req.from.workload : undefined;
  const standIns: Record<string, string> = {};
  for (const j of opts.jwks) {
    const eq = j.indexOf('=');
    const src = eq > 0 ? readSource(j.slice(eq + 1), issues, undefined, { kind: 'a JSON Web Key Set', fix: `name the JSON Web Key Set's file: --jwks ${j.slice(0, eq)}=keys/jwks.json` }) : null;
    if (eq <= 0) issues.error('bad-usage', `--jwks ${j}: expected URI=FILE`, undefined, 'name the jwksUri and the file that stands in for it, e.g. --jwks https://idp.example/jwks.json=keys/jwks.json');
    else if (src) setOwn(standIns, j.slice(0, eq), src.text);
  }
  const nowMs = opts.time !== undefined ? Date.parse(opts.time) : Date.now();
  if (Number.isNaN(nowMs)) issues.error('bad-usage', `--time ${opts.time ?? ''}: expected an ISO 8601 instant`, undefined, 'e.g. --time 2026-01-01T00:30:00Z, or leave it out for now');
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  const { decision: d, endpoints, more } = await decideEveryEndpoint(mesh, req, { now: nowMs, jwks: standIns });
  for (const w of loadIssues.warnings) io.err(`warning: ${escapeControls(`${w.loc ? `${w.loc.file}:${w.loc.line}:${w.loc.col}: ` : ''}${w.message}`)}\n`);
  // a destination the mesh does not know (a typo, most often): the decision says DNS failed; this says why, once
  if (req.to.kind === 'host') {
    const w = destinationWarning(mesh, req.to.host, opts.from);
    if (w) io.err(`warning [unknown-host] ${escapeControls(`--to ${opts.to}: ${w.message}`)}\n    fix: ${escapeControls(w.hint)}\n`);
  }
  if (opts.format === 'json') {
    io.out(jsonDocument({ request: { from: opts.from, to: opts.to, protocol: opts.protocol, method: methodOf(opts), path: opts.path, headers, tls: opts.tls, ...(opts.bypass ? { bypass: true } : {}), ...(opts.capability ? { capabilities: opts.capability } : {}) }, ...decisionJson(d),
      ...(endpoints ? { endpoints } : {}), ...(more > 0 ? { endpointsNotDecided: more } : {}) }));
  } else {
    // A workload's SPIFFE id is a mesh identity only when an Envoy (its sidecar, or the gateway itself) presents it.
    const identity = !src ? null : src.sidecar || src.gateway ? spiffeId(principalOf(mesh.config.trustDomain, src.namespace, src.serviceAccount)) : NO_MESH_IDENTITY;
    io.out(renderDecision(opts, identity, d, endpoints, more));
  }
  return EXIT_OK;
}

/** What `request` prints for a client without a sidecar: it presents no certificate, so the mesh sees no identity. */
export const NO_MESH_IDENTITY = 'no sidecar: no mesh identity';

export function renderDecision(opts: RequestOpts, identity: string | null, d: Decision, endpoints: readonly EndpointVerdict[] | null = null, more = 0): string {
  const lines: string[] = [];
  // tcp and tls carry no HTTP request: no method nor path to show (the app's own TLS names its server by SNI).
  const what = opts.protocol === 'tcp' ? `TCP connection to ${opts.to}`
    : opts.protocol === 'tls' ? `TLS connection to ${opts.to}${opts.sni !== undefined ? ` (SNI ${opts.sni})` : ''}`
      : `${methodOf(opts)} ${opts.path} → ${opts.to} (${opts.protocol})`;
  lines.push(`${what}`);
  lines.push(`from ${opts.from}${identity ? ` (${identity})` : ''}`);
  const code = d.code === null ? '' : ` ${d.code === 0 ? '000 (connection failed)' : d.code}`;
  // Through a gateway, the TLS and authorization lines are the last hop's (into the workload that answered): say so.
  const gateways = (d.path ?? []).filter((p) => p.endsWith(' (gateway)')).map((p) => p.slice(0, -' (gateway)'.length));
  const lastHop = gateways.length > 0 && d.destination?.workload ? ` (the last hop: ${gateways[gateways.length - 1] as string} → ${d.destination.workload})` : '';
  lines.push(`verdict: ${d.outcome.toUpperCase()}${code}${d.mtls === null ? '' : d.mtls ? `, mutual TLS${lastHop}` : `, no mutual TLS${lastHop}`}${d.flags ? `, flags ${d.flags}` : ''}`);
  for (const b of d.stoppedBy) {
    lines.push(`stopped by: ${b.control}${b.name ? ` ${b.name}` : ''}${b.rule ? ` (${b.rule})` : ''}`);
    lines.push(`  why: ${b.reason}`);
  }
  if (endpoints) {
    // the load balancer spreads requests over endpoints that decide differently: this verdict is one of several
    const label = (v: EndpointVerdict): string => `${v.workload}${v.via ? ` (via ${v.via.join(', ')})` : ''} ${v.outcome.toUpperCase()}${v.code === null ? '' : ` ${v.code === 0 ? '000' : v.code}`}${v.stoppedBy[0] ? ` by ${v.stoppedBy[0].control}${v.stoppedBy[0].name ? ` ${v.stoppedBy[0].name}` : ''}` : ''}`;
    const through = endpoints.filter((v) => v.outcome === 'allowed').length;
    // a workload reached with two verdicts (through two gateway replicas) is listed twice but is one place requests go
    const places = new Set(endpoints.map((v) => v.workload)).size + more;
    lines.push(`endpoints disagree: requests are spread over ${places} (load-balanced endpoints, gateway replicas, weighted routes), and ${through} of the ${endpoints.length} verdicts decided let this request through — some requests get through, others do not`);
    for (const v of endpoints) lines.push(`  ${label(v)}`);
    if (more > 0) lines.push(`  … and ${more} more not decided`);
  } else if (more > 0) {
    lines.push(`endpoints: every path decided agrees with this verdict; ${more} more endpoints or destinations were not decided (at most ${MAX_SWEPT_ENDPOINTS} of one choice, ${MAX_SWEPT_DECISIONS} decisions in all) and may not`);
  }
  if (d.authz?.decidedBy && d.outcome === 'allowed') lines.push(`allowed by: AuthorizationPolicy ${d.authz.decidedBy.namespace}/${d.authz.decidedBy.policy} (${d.authz.decidedBy.rule})`);
  if (d.authz) lines.push(`authorization${lastHop ? ` at ${d.destination?.workload ?? ''}` : ''}: ${d.authz.details || d.authz.reason}`);
  lines.push('trace:');
  for (const e of d.events) lines.push(`  ${e.hop.padEnd(14)} ${e.what}`);
  if (d.response) lines.push(`response: ${d.response.status} ${JSON.stringify(d.response.body)}`);
  if (d.received) {
    lines.push(`the app received: ${d.received.method} ${d.received.path}`);
    for (const [k, v] of Object.entries(d.received.headers)) lines.push(`  ${k}: ${v}`);
  }
  // Every line holds names, paths and headers a stranger wrote: each is kept to one line (a newline cannot forge a verdict).
  return `${lines.map((l) => escapeControls(l)).join('\n')}\n`;
}
