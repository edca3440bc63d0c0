/** `meshrange request`: one request, its verdict and the whole explanation trace. */
import path from 'node:path';
import { escapeControls } from '../core/escape.js';
import { IssueList } from '../core/issues.js';
import { loadMesh } from '../loader/load.js';
import { principalOf, spiffeId, type Workload } from '../model/types.js';
import { decide, type Capability, type Decision, type MeshRequest, type Protocol, type TlsIntent } from '../policy/decide.js';
import { readSource, Sandbox } from './fs.js';
import { signaturesFor } from '../scenario/tokens.js';
import { EXIT_BAD_INPUT, EXIT_OK, printIssues, type Io } from './main.js';
import { readManifests } from './mesh-input.js';
import { appendValue, setOwn } from '../core/record.js';

export interface RequestOpts {
  mesh: string[];
  from: string;
  to: string;
  method: string;
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

export async function requestCommand(opts: RequestOpts, io: Io): Promise<number> {
  const issues = new IssueList();
  const sandbox = new Sandbox(opts.mesh.map((m) => path.resolve(m)).concat(path.resolve('.')));
  const files = readManifests(opts.mesh.map((m) => ({ path: m })), sandbox, issues);
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  const { mesh, issues: loadIssues } = loadMesh(files);
  if (loadIssues.hasErrors()) { printIssues(io, loadIssues.errors); return EXIT_BAD_INPUT; }
  const headers: Record<string, string> = {};
  for (const h of opts.header) {
    const i = h.indexOf(':');
    if (i <= 0) { issues.error('bad-usage', `--header ${h}: expected name:value`); continue; }
    appendValue(headers, h.slice(0, i).trim(), h.slice(i + 1).trim());
  }
  const find = (id: string): Workload | undefined => mesh.workloads.find((w) => w.id === id);
  let src: Workload | undefined;
  if (opts.from !== 'outside') {
    src = find(opts.from);
    if (!src) issues.error('unknown-workload', `--from ${opts.from} is not a workload of the mesh`, undefined, `known workloads: ${mesh.workloads.map((w) => w.id).join(', ')}`);
  }
  const m = /^(.+):(\d{1,5})$/.exec(opts.to);
  let target: MeshRequest['to'] | undefined;
  if (!m) issues.error('bad-usage', `--to ${opts.to}: expected host:port or workload/<ns>/<name>:<port>`);
  else {
    const host = m[1] as string;
    const port = Number(m[2]);
    if (host.startsWith('workload/')) {
      const w = find(host.slice('workload/'.length));
      if (!w) issues.error('unknown-workload', `--to ${opts.to}: ${host.slice(9)} is not a workload of the mesh`);
      else target = { kind: 'workload', workload: w, port };
    } else target = { kind: 'host', host, port };
  }
  if (issues.hasErrors() || !target) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  const req: MeshRequest = {
    from: src ? { kind: 'workload', workload: src } : { kind: 'outside', ip: opts.sourceIp },
    to: target,
    protocol: opts.protocol as Protocol,
    method: opts.method,
    path: opts.path,
    headers,
    tls: opts.tls as TlsIntent,
  };
  if (opts.token) req.headers = { ...req.headers, authorization: `Bearer ${opts.token}` };
  if (opts.sni) req.sni = opts.sni;
  if (opts.bypass) req.bypass = true;
  if (opts.capability && opts.capability.length > 0) req.capabilities = opts.capability as Capability[];
  const standIns: Record<string, string> = {};
  for (const j of opts.jwks) {
    const eq = j.indexOf('=');
    const src = eq > 0 ? readSource(j.slice(eq + 1), issues) : null;
    if (eq <= 0) issues.error('bad-usage', `--jwks ${j}: expected URI=FILE`);
    else if (src) setOwn(standIns, j.slice(0, eq), src.text);
  }
  const nowMs = opts.time !== undefined ? Date.parse(opts.time) : Date.now();
  if (Number.isNaN(nowMs)) issues.error('bad-usage', `--time ${opts.time ?? ''}: expected an ISO 8601 instant`);
  if (issues.hasErrors()) { printIssues(io, issues.errors); return EXIT_BAD_INPUT; }
  const sigs = await signaturesFor(mesh, standIns, { headers: req.headers, path: req.path, method: req.method });
  const d = decide(mesh, req, { jwt: { nowSeconds: nowMs / 1000, sigs } });
  for (const w of loadIssues.warnings) io.err(`warning: ${w.loc ? `${w.loc.file}:${w.loc.line}:${w.loc.col}: ` : ''}${w.message}\n`);
  if (opts.format === 'json') {
    io.out(`${JSON.stringify({ request: { from: opts.from, to: opts.to, protocol: opts.protocol, method: opts.method, path: opts.path, headers, tls: opts.tls, ...(opts.bypass ? { bypass: true } : {}), ...(opts.capability ? { capabilities: opts.capability } : {}) }, ...decisionJson(d) }, null, 2)}\n`);
  } else {
    io.out(renderDecision(opts, src ? spiffeId(principalOf(mesh.config.trustDomain, src.namespace, src.serviceAccount)) : null, d));
  }
  return EXIT_OK;
}

function decisionJson(d: Decision): Record<string, unknown> {
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

export function renderDecision(opts: RequestOpts, identity: string | null, d: Decision): string {
  const lines: string[] = [];
  const what = opts.protocol === 'tcp' ? `TCP connection to ${opts.to}` : `${opts.method} ${opts.path} → ${opts.to} (${opts.protocol})`;
  lines.push(`${what}`);
  lines.push(`from ${opts.from}${identity ? ` (${identity})` : ''}`);
  const code = d.code === null ? '' : ` ${d.code === 0 ? '000 (connection failed)' : d.code}`;
  lines.push(`verdict: ${d.outcome.toUpperCase()}${code}${d.mtls === null ? '' : d.mtls ? ', mutual TLS' : ', no mutual TLS'}${d.flags ? `, flags ${d.flags}` : ''}`);
  for (const b of d.stoppedBy) {
    lines.push(`stopped by: ${b.control}${b.name ? ` ${b.name}` : ''}${b.rule ? ` (${b.rule})` : ''}`);
    lines.push(`  why: ${b.reason}`);
  }
  if (d.authz?.decidedBy && d.outcome === 'allowed') lines.push(`allowed by: AuthorizationPolicy ${d.authz.decidedBy.namespace}/${d.authz.decidedBy.policy} (${d.authz.decidedBy.rule})`);
  if (d.authz) lines.push(`authorization: ${d.authz.details || d.authz.reason}`);
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
