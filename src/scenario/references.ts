/**
 * Bind-time checks of what a scenario's steps and flows point at (issue 9
 * item 6: nothing gives a quiet verdict). Errors: a `to:` port outside
 * 1-65535, a `sourceIp` that is not an IP address or that nothing would use
 * (only a client `from: outside` sends from it; a pod sends from its own IP),
 * a flood that sends nothing (`for: 0s`, `rate: 0/s`). Warnings: a
 * destination that resolves to nothing the mesh knows — a name that is no
 * Service and no ServiceEntry host (the request either fails at DNS or leaves
 * as an external name, product.md §2 "a destination `to:`"), or an address
 * that is no pod, Service or ServiceEntry address — except a name or address
 * reserved for examples (evil.example, 203.0.113.66: outside on purpose).
 */
import { parseDuration, parseRate } from '../core/duration.js';
import { cidrContains, parseCidr, parseIp } from '../core/ip.js';
import type { IssueList } from '../core/issues.js';
import type { Mesh } from '../model/types.js';
import { resolveHost } from '../policy/decide.js';
import { hostMatches } from '../policy/destination-rule.js';
import type { LoadedScenario } from './load.js';
import { nearest } from '../loader/reader.js';

type DocPath = (string | number)[];

export function checkReferences(s: LoadedScenario, mesh: Mesh, issues: IssueList): void {
  const spec = s.doc.spec;
  const foothold = spec.attacker.foothold;
  spec.steps.forEach((step, i) => {
    const path: DocPath = ['spec', 'steps', i];
    const from = step.from ?? foothold;
    const what = `step "${step.id}"`;
    // an exfiltration goes outside the mesh by design: no warning that its host is outside
    if (step.to !== undefined) checkDestination(s, mesh, issues, step.to, from, [...path, 'to'], what, step.action === 'exfiltrate');
    if (step.sourceIp !== undefined) {
      if (!parseIp(step.sourceIp)) {
        issues.error('bad-source-ip', `${what}: sourceIp "${step.sourceIp}" is not an IP address`, s.src.locate([...path, 'sourceIp']),
          'write an IPv4 or IPv6 address, e.g. sourceIp: 198.51.100.23');
      } else if (from !== 'outside') {
        issues.error('source-ip-unused', `${what}: sourceIp only applies to a client outside the cluster; ${from} sends from its pod IP`,
          s.src.locate([...path, 'sourceIp']), 'remove sourceIp, or send the step from: outside');
      }
    }
    if (step.action === 'flood') {
      const lasts = step.for !== undefined ? parseDuration(step.for) : null;
      const rate = step.rate !== undefined ? parseRate(step.rate) : null;
      if (lasts === 0) {
        issues.error('flood-sends-nothing', `${what}: a flood for ${step.for} sends no request, so its outcome would say nothing`, s.src.locate([...path, 'for']),
          'give the flood a duration, e.g. for: 10s');
      } else if (rate === 0) {
        issues.error('flood-sends-nothing', `${what}: a flood at ${step.rate} sends no request, so its outcome would say nothing`, s.src.locate([...path, 'rate']),
          'give the flood a rate, e.g. rate: 200/s');
      }
    }
  });
  (spec.traffic ?? []).forEach((f, i) => {
    checkDestination(s, mesh, issues, f.to, f.from, ['spec', 'traffic', i, 'to'], `traffic flow ${i + 1} (${f.from} → ${f.to})`);
  });
}

function checkDestination(s: LoadedScenario, mesh: Mesh, issues: IssueList, to: string, from: string, path: DocPath, what: string, outsideMeant = false): void {
  const colon = to.lastIndexOf(':');
  const host = to.slice(0, colon);
  const port = Number(to.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    issues.error('bad-port', `${what}: port ${to.slice(colon + 1)} in "${to}" is not a port (1-65535)`, s.src.locate(path), 'dial a port from 1 to 65535, e.g. details:9080');
    return;
  }
  if (host.startsWith('workload/')) return; // checked against the workloads by bindScenario
  const w = destinationWarning(mesh, host, from);
  if (w && !(outsideMeant && w.outside)) issues.warn('unknown-host', `${what}: ${w.message}`, s.src.locate(path), w.hint);
}

/**
 * The warning for a destination host that resolves to nothing the mesh knows, seen from `from` (a workload id or
 * `outside`), with a hint naming the Service it most likely meant (a letter or two off); null when it names a
 * Service, ServiceEntry or pod. Shared by scenarios (unknown-host) and `meshrange request`.
 */
export function destinationWarning(mesh: Mesh, host: string, from: string): { message: string; hint: string; outside: boolean } | null {
  const unknown = destinationProblem(mesh, host, from);
  if (unknown === null) return null;
  const outside = unknown.includes('outside the mesh');
  // a name or address reserved for examples (evil.example, 203.0.113.66) is outside on purpose: no typo lands there
  if (outside && reservedForExamples(host)) return null;
  const meant = parseIp(host) ? undefined : nearestService(mesh, host, from === 'outside' ? 'default' : from.slice(0, from.indexOf('/')));
  const hint = meant !== undefined ? `did you mean ${meant}? (check the name against the Services of the mesh: svc, svc.ns or svc.ns.svc.cluster.local)`
    : outside ? 'nothing to do if it is meant to be outside the mesh; otherwise check it against the Services and ServiceEntries'
      : 'check the name against the Services of the mesh (svc, svc.ns or svc.ns.svc.cluster.local)';
  return { message: unknown, hint, outside };
}

/** The Service a misspelt host most likely meant, written as the host was (svc, or svc.ns): by its first labels. */
function nearestService(mesh: Mesh, host: string, fromNs: string): string | undefined {
  const labels = host.toLowerCase().split('.');
  const [name, ns] = [labels[0] ?? '', labels[1]];
  const inNs = ns === undefined || ns === 'svc' ? fromNs : ns;
  // the same namespace first: `detials` from bookinfo means bookinfo's details
  const local = nearest(name, mesh.services.filter((sv) => sv.namespace === inNs).map((sv) => sv.name));
  if (local !== undefined) return ns === undefined ? local : `${local}.${inNs}`;
  const all = mesh.services.map((sv) => `${sv.name}.${sv.namespace}`);
  return nearest(ns === undefined ? name : `${name}.${ns}`, all);
}

/** Why `host` resolves to nothing the mesh knows, seen from `from`; null when it names a Service, ServiceEntry or pod. */
function destinationProblem(mesh: Mesh, host: string, from: string): string | null {
  if (parseIp(host)) {
    if (mesh.workloads.some((w) => w.ip === host) || mesh.services.some((sv) => sv.clusterIP === host)) return null;
    if (mesh.serviceEntries.some((se) => se.addresses.some((a) => { const c = parseCidr(a); return c !== null && cidrContains(c, host); }))) return null;
    return `${host} is no pod, Service or ServiceEntry address of the mesh: the request is sent to an address outside the mesh`;
  }
  const fromNs = from === 'outside' ? 'default' : from.slice(0, from.indexOf('/'));
  const r = resolveHost(mesh, host, fromNs);
  if (r.service) return null;
  if (mesh.serviceEntries.some((se) => se.hosts.some((h) => hostMatches(h.toLowerCase(), r.fqdn) > 0))) return null;
  if (r.inCluster || !host.includes('.')) return `${host} resolves to no Service of the mesh (${r.fqdn}): the request fails at DNS`;
  return `${host} is no Service or ServiceEntry host of the mesh: the request is sent to it as an external name outside the mesh`;
}

/** RFC 5737's documentation ranges (a destination is a name or an IPv4 address). */
const DOCUMENTATION_RANGES = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'].map((c) => parseCidr(c) as NonNullable<ReturnType<typeof parseCidr>>);

/**
 * A host reserved for examples and tests, which no real Service is named or addressed by: the names of RFC 2606 and
 * RFC 6761 (`.example`, `.test`, `.invalid`, `.localhost`; example.com, .net, .org and their subdomains) and the
 * documentation address ranges. Scenarios use them for "somewhere outside" on purpose.
 */
function reservedForExamples(host: string): boolean {
  if (parseIp(host)) return DOCUMENTATION_RANGES.some((c) => cidrContains(c, host));
  const h = host.toLowerCase().replace(/\.$/, '');
  const last = h.slice(h.lastIndexOf('.') + 1);
  if (last === 'example' || last === 'test' || last === 'invalid' || last === 'localhost') return true;
  return ['example.com', 'example.net', 'example.org'].some((d) => h === d || h.endsWith(`.${d}`));
}
