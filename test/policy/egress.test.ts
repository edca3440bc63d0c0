/**
 * istio-semantics §8 (egress), §3 step 2 (destination lookup), §5.2, §13:
 * what a client sidecar knows, which Sidecar applies, and what happens to
 * traffic for hosts it does not know.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { readServiceEntry, readSidecar } from '../../src/loader/egress.js';
import { Reader, type Obj } from '../../src/loader/reader.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import type { ServiceEntry, Sidecar } from '../../src/model/egress.js';
import type { Mesh, OutboundMode, ObjectMeta, ServicePort } from '../../src/model/types.js';
import {
  blackholeResult, decideEgress, egressListenerFor, httpListenerOnPort, lookupDestination, outboundMode, sidecarFor,
  visibleRegistry, type EgressInput,
} from '../../src/policy/egress.js';
import { app, meshFrom, ns, wl } from '../helpers.js';

/** ServiceEntries and Sidecars from YAML, read by the egress loader; apply order = document order. */
function egressObjects(...docs: string[]): { serviceEntries: ServiceEntry[]; sidecars: Sidecar[] } {
  const issues = new IssueList();
  const out = { serviceEntries: [] as ServiceEntry[], sidecars: [] as Sidecar[] };
  let order = 1000;
  for (const text of docs) {
    for (const doc of parseYaml('egress.yaml', text, issues)) {
      const obj = doc.value as Obj;
      const md = obj['metadata'] as { name: string; namespace?: string; creationTimestamp?: string };
      const namespace = md.namespace ?? 'default';
      const meta: ObjectMeta = { name: md.name, namespace, labels: {}, annotations: {}, order: order++, loc: doc.locate([]) };
      if (md.creationTimestamp) meta.creationTimestamp = md.creationTimestamp;
      const r = new Reader(doc, issues, `${String(obj['kind'])} ${namespace}/${md.name}`);
      if (obj['kind'] === 'ServiceEntry') out.serviceEntries.push(readServiceEntry(r, meta, obj));
      else out.sidecars.push(readSidecar(r, meta, obj));
    }
  }
  if (issues.hasErrors()) throw new Error(issues.errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
  return out;
}

function serviceEntry(namespace: string, name: string, hosts: string[], ports: string, extra = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  hosts: [${hosts.map((h) => `"${h}"`).join(', ')}]
  ports: ${ports}
${extra}`;
}

function sidecarYaml(namespace: string, name: string, spec: string): string {
  return `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${spec}`;
}

const HTTPS = '[{ number: 443, name: tls, protocol: TLS }]';
const HTTP80 = '[{ number: 80, name: http, protocol: HTTP }]';

const base = (): Mesh => meshFrom(
  ns('istio-system', false), ns('a', true), ns('b', true), ns('legacy', false),
  app('a', 'client'), app('a', 'other', { labels: { role: 'batch' } }), app('b', 'server'), app('legacy', 'old'),
);

function input(mesh: Mesh, mode: OutboundMode, ...docs: string[]): EgressInput {
  const { serviceEntries, sidecars } = egressObjects(...docs);
  return { services: mesh.services, serviceEntries, sidecars, rootNamespace: 'istio-system', meshMode: mode };
}

/** lookup + mode + decision, as the request pipeline will chain them */
function egress(inp: EgressInput, mesh: Mesh, from: string, host: string, port: number, protocol: 'http' | 'tcp' | 'tls', httpListener = true) {
  const client = wl(mesh, from);
  const lookup = lookupDestination(inp, client, host, port);
  const mode = outboundMode(inp.meshMode, sidecarFor(inp.sidecars, inp.rootNamespace, client).sidecar);
  return { lookup, mode, decision: decideEgress(lookup, mode, protocol, httpListener) };
}

const SERVER = 'server.b.svc.cluster.local';

describe('§8 outbound traffic policy for unknown hosts', () => {
  it('§8 REGISTRY_ONLY sends HTTP to an unregistered host to the black hole: 502', () => {
    const m = base();
    const { lookup, decision } = egress(input(m, 'REGISTRY_ONLY'), m, 'a/client', 'httpbin.org', 80, 'http');
    expect(lookup).toMatchObject({ kind: 'unknown', host: 'httpbin.org', port: 80 });
    expect(decision).toMatchObject({ verdict: 'blackhole', code: 502, control: 'EgressPolicy', name: null });
    expect(decision.reason).toContain('REGISTRY_ONLY');
    expect(decision.reason).toContain('mesh config');
    expect(decision.reason).toContain('add a ServiceEntry with hosts [httpbin.org] and port 80');
  });

  it('§8 TLS to an unregistered host under REGISTRY_ONLY is a closed connection', () => {
    const m = base();
    const { decision } = egress(input(m, 'REGISTRY_ONLY'), m, 'a/client', 'www.google.com', 443, 'tls');
    expect(decision).toMatchObject({ verdict: 'blackhole', code: 0 });
    expect(decision.reason).toContain('exit code 35');
  });

  it('§8 raw TCP, or HTTP on a port without an outbound HTTP listener, is closed too (no 502)', () => {
    expect(blackholeResult('tcp', true)).toMatchObject({ code: null });
    expect(blackholeResult('http', false)).toMatchObject({ code: 0 });
    expect(blackholeResult('http', true)).toMatchObject({ code: 502 });
    expect(blackholeResult('http', true).how).toContain('block_all');
  });

  it('§8 ALLOW_ANY forwards an unregistered host through the PassthroughCluster, in plaintext', () => {
    const m = base();
    const { decision } = egress(input(m, 'ALLOW_ANY'), m, 'a/client', 'httpbin.org', 80, 'http');
    expect(decision.verdict).toBe('passthrough');
    expect(decision.code).toBeUndefined();
    expect(decision.reason).toContain('PassthroughCluster');
    expect(decision.reason).toContain('in plaintext, never with Istio mTLS');
  });

  it('§8 ALLOW_ANY passes the app\'s own TLS through untouched: the trace says so, not "plaintext"', () => {
    const m = base();
    const { decision } = egress(input(m, 'ALLOW_ANY'), m, 'a/client', 'httpbin.org', 443, 'tls');
    expect(decision.verdict).toBe('passthrough');
    expect(decision.reason).toContain('inside the app\'s own TLS, never with Istio mTLS');
    expect(decision.reason).not.toContain('plaintext');
  });

  it('§8 ALLOW_ANY_DYNAMIC_DNS also lets unknown hosts through', () => {
    const m = base();
    expect(egress(input(m, 'ALLOW_ANY_DYNAMIC_DNS'), m, 'a/client', 'httpbin.org', 80, 'http').decision.verdict).toBe('passthrough');
  });

  it('§8 a client without a sidecar is never blocked by the egress policy', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY');
    const lookup = lookupDestination(inp, wl(m, 'legacy/old'), 'httpbin.org', 80);
    expect(lookup.kind).toBe('unknown');
    const d = decideEgress(lookup, inp.meshMode, 'http', true, false);
    expect(d.verdict).toBe('passthrough');
    expect(d.reason).toContain('no sidecar');
  });

  it('§8 a Kubernetes Service is known: route', () => {
    const m = base();
    const { lookup, decision } = egress(input(m, 'REGISTRY_ONLY'), m, 'a/client', SERVER, 80, 'http');
    expect(lookup).toMatchObject({ kind: 'service', service: { name: 'server', namespace: 'b' } });
    expect(decision.verdict).toBe('route');
  });
});

describe('§8 ServiceEntry', () => {
  it('§8 a ServiceEntry makes the host known, so it passes under REGISTRY_ONLY', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY', serviceEntry('a', 'google', ['www.google.com'], HTTPS));
    const { lookup, decision } = egress(inp, m, 'a/client', 'www.google.com', 443, 'tls');
    expect(lookup).toMatchObject({ kind: 'service-entry', entry: { meta: { name: 'google' } }, port: { number: 443, name: 'tls', protocol: 'TLS' }, location: 'MESH_EXTERNAL' });
    expect(decision.verdict).toBe('route');
  });

  it('§5.2 a MESH_EXTERNAL ServiceEntry is never auto-mTLS', () => {
    const m = base();
    const { decision } = egress(input(m, 'ALLOW_ANY', serviceEntry('a', 'google', ['www.google.com'], HTTPS)), m, 'a/client', 'www.google.com', 443, 'tls');
    expect(decision.reason).toContain('never auto-mTLS');
  });

  it('§8 a ServiceEntry only covers the ports it declares', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY', serviceEntry('a', 'google', ['www.google.com'], HTTPS));
    const { lookup, decision } = egress(inp, m, 'a/client', 'www.google.com', 80, 'http');
    expect(lookup).toMatchObject({ kind: 'unknown', fix: 'declare port 80 in ServiceEntry a/google' });
    expect(lookup.kind === 'unknown' && lookup.reason).toContain('only on port 443');
    expect(decision).toMatchObject({ verdict: 'blackhole', code: 502 });
  });

  it('§8 ServiceEntry exportTo "." hides it from other namespaces', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY', serviceEntry('b', 'google', ['www.google.com'], HTTPS, '  exportTo: ["."]\n'));
    expect(lookupDestination(inp, wl(m, 'b/server'), 'www.google.com', 443).kind).toBe('service-entry');
    const { lookup, decision } = egress(inp, m, 'a/client', 'www.google.com', 443, 'tls');
    expect(lookup).toMatchObject({ kind: 'unknown' });
    expect(lookup.kind === 'unknown' && lookup.reason).toContain('not exported to namespace a');
    expect(decision).toMatchObject({ verdict: 'blackhole', code: 0 });
  });

  it('§8 ServiceEntry exportTo a namespace list, and "~" (no one)', () => {
    const m = base();
    const listed = input(m, 'REGISTRY_ONLY', serviceEntry('b', 'google', ['www.google.com'], HTTPS, '  exportTo: [a]\n'));
    expect(lookupDestination(listed, wl(m, 'a/client'), 'www.google.com', 443).kind).toBe('service-entry');
    const none = input(m, 'REGISTRY_ONLY', serviceEntry('b', 'google', ['www.google.com'], HTTPS, '  exportTo: ["~"]\n'));
    expect(lookupDestination(none, wl(m, 'b/server'), 'www.google.com', 443).kind).toBe('unknown');
  });

  it('§8 a Service exported with networking.istio.io/exportTo "." is unknown to other namespaces', () => {
    const m = base();
    const svc = m.services.find((s) => s.name === 'server');
    if (!svc) throw new Error('no server');
    const inp: EgressInput = { ...input(m, 'REGISTRY_ONLY'), services: [{ ...svc, annotations: { 'networking.istio.io/exportTo': '.' } }] };
    expect(lookupDestination(inp, wl(m, 'a/client'), SERVER, 80)).toMatchObject({ kind: 'unknown' });
  });

  it('§8 wildcard ServiceEntry hosts', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY',
      serviceEntry('a', 'wild', ['*.example.com'], HTTPS),
      serviceEntry('a', 'exact', ['api.example.com'], HTTPS));
    const c = wl(m, 'a/client');
    expect(lookupDestination(inp, c, 'www.example.com', 443)).toMatchObject({ kind: 'service-entry', entry: { meta: { name: 'wild' } } });
    expect(lookupDestination(inp, c, 'a.b.example.com', 443)).toMatchObject({ kind: 'service-entry', entry: { meta: { name: 'wild' } } });
    // exact beats wildcard
    expect(lookupDestination(inp, c, 'API.example.com.', 443)).toMatchObject({ kind: 'service-entry', entry: { meta: { name: 'exact' } } });
    // the wildcard does not cover the bare domain
    expect(lookupDestination(inp, c, 'example.com', 443).kind).toBe('unknown');
  });

  it('§8 a ServiceEntry in the client namespace beats one elsewhere; otherwise the oldest wins', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY',
      serviceEntry('b', 'older-b', ['api.example.com'], HTTPS),
      serviceEntry('a', 'newer-a', ['api.example.com'], HTTPS),
      serviceEntry('b', 'newest-b', ['api.example.com'], HTTPS));
    expect(lookupDestination(inp, wl(m, 'a/client'), 'api.example.com', 443)).toMatchObject({ entry: { meta: { name: 'newer-a' } } });
    expect(lookupDestination(inp, wl(m, 'b/server'), 'api.example.com', 443)).toMatchObject({ entry: { meta: { name: 'older-b' } } });
  });

  it('§8 entries of one hostname created in the same second: the namespace that sorts first wins (SortServicesByCreationTime: the service\'s name is the hostname), not the resource name', () => {
    const m = meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), ns('c', true), app('c', 'third'));
    const at = (s: string): string => s.replace(/namespace: (\w+) \}/, 'namespace: $1, creationTimestamp: "2024-05-01T10:00:00Z" }');
    const inp = input(m, 'REGISTRY_ONLY',
      at(serviceEntry('b', 'aaa-first-by-name', ['api.example.com'], HTTPS)),
      at(serviceEntry('a', 'zzz-last-by-name', ['api.example.com'], HTTPS)));
    expect(lookupDestination(inp, wl(m, 'c/third'), 'api.example.com', 443)).toMatchObject({ entry: { meta: { namespace: 'a', name: 'zzz-last-by-name' } } });
    // an older entry still wins whatever its namespace
    const older = input(m, 'REGISTRY_ONLY',
      serviceEntry('b', 'older', ['api.example.com'], HTTPS).replace('namespace: b }', 'namespace: b, creationTimestamp: "2024-04-01T10:00:00Z" }'),
      at(serviceEntry('a', 'newer', ['api.example.com'], HTTPS)));
    expect(lookupDestination(older, wl(m, 'c/third'), 'api.example.com', 443)).toMatchObject({ entry: { meta: { namespace: 'b' } } });
  });

  it('§8 one namespace per hostname: a ServiceEntry naming a Service\'s FQDN takes it for its own namespace\'s clients only; elsewhere the Kubernetes Service wins', () => {
    const m = meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), ns('c', true), app('a', 'client'), app('b', 'server'), app('c', 'third'));
    const inp = input(m, 'REGISTRY_ONLY', serviceEntry('a', 'squat', [SERVER], HTTP80), serviceEntry('c', 'squat', [SERVER], HTTP80).replace('namespace: c', 'namespace: c, creationTimestamp: "2020-01-01T00:00:00Z"'));
    expect(lookupDestination(inp, wl(m, 'a/client'), SERVER, 80)).toMatchObject({ kind: 'service-entry', entry: { meta: { namespace: 'a' } } });
    expect(lookupDestination(inp, wl(m, 'b/server'), SERVER, 80).kind).toBe('service');
    // a third namespace: the Service beats both entries, the older one included ("domain squatting")
    const third = meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), ns('d', true), app('b', 'server'), app('d', 'fourth'));
    expect(lookupDestination(input(third, 'REGISTRY_ONLY', serviceEntry('a', 'squat', [SERVER], HTTP80)), wl(third, 'd/fourth'), SERVER, 80).kind).toBe('service');
  });

  it('§8 an entry of the client\'s namespace naming a Service\'s FQDN without the port dialled leaves that port unknown, and says why', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY', serviceEntry('a', 'squat-443', [SERVER], HTTPS));
    const l = lookupDestination(inp, wl(m, 'a/client'), SERVER, 80);
    expect(l.kind).toBe('unknown');
    expect(l.kind === 'unknown' ? l.reason : '').toContain('Service b/server has it, but Istio keeps one namespace per hostname, the client\'s own first');
    // with a Sidecar importing everything: the same (the Service is imported; the entry is what the name means)
    const all = input(m, 'REGISTRY_ONLY', sidecarYaml('a', 'default', '  egress:\n    - hosts: ["*/*"]\n'), serviceEntry('a', 'squat-443', [SERVER], HTTPS));
    expect(lookupDestination(all, wl(m, 'a/client'), SERVER, 80).kind).toBe('unknown');
  });

  it('§8 the port plays no part in the namespace kept for a hostname: an entry of the client\'s namespace without the port leaves that host without it', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY',
      serviceEntry('b', 'has-80', ['api.example.com'], HTTP80),
      serviceEntry('a', 'only-443', ['api.example.com'], HTTPS));
    const l = lookupDestination(inp, wl(m, 'a/client'), 'api.example.com', 80);
    expect(l.kind).toBe('unknown');
    expect(l.kind === 'unknown' ? l.reason : '').toContain('one namespace per hostname');
    expect(l.kind === 'unknown' ? l.fix : '').toContain('a/only-443');
    // from b, its own entry
    expect(lookupDestination(inp, wl(m, 'b/server'), 'api.example.com', 80)).toMatchObject({ entry: { meta: { name: 'has-80' } } });
    // a wildcard of another namespace that has the port still serves the name: a less specific hostname
    const wild = input(m, 'REGISTRY_ONLY', serviceEntry('a', 'only-443', ['api.example.com'], HTTPS), serviceEntry('b', 'wild-80', ['*.example.com'], HTTP80));
    expect(lookupDestination(wild, wl(m, 'a/client'), 'api.example.com', 80)).toMatchObject({ entry: { meta: { name: 'wild-80' } } });
  });

  it('§8 a Sidecar egress listener bound to a port imports only entries with that port, before the namespace is chosen', () => {
    const m = base();
    const listener443 = sidecarYaml('a', 'default', '  egress:\n    - port: { number: 443, protocol: TLS, name: tls }\n      hosts: ["*/*"]\n');
    const inp = input(m, 'REGISTRY_ONLY', listener443,
      serviceEntry('a', 'own-80', ['api.example.com'], HTTP80),
      serviceEntry('b', 'other-443', ['api.example.com'], HTTPS));
    expect(lookupDestination(inp, wl(m, 'a/client'), 'api.example.com', 443)).toMatchObject({ kind: 'service-entry', entry: { meta: { name: 'other-443' } } });
    // without the port-bound listener the client's own namespace is kept, and it has no 443
    expect(lookupDestination(input(m, 'REGISTRY_ONLY', serviceEntry('a', 'own-80', ['api.example.com'], HTTP80), serviceEntry('b', 'other-443', ['api.example.com'], HTTPS)),
      wl(m, 'a/client'), 'api.example.com', 443).kind).toBe('unknown');
  });

  it('§8 among other namespaces, an entry exported to the client by name comes before a public one, however old the public one is', () => {
    const m = meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), ns('c', true), app('a', 'client'), app('b', 'server'), app('c', 'third'));
    const inp = input(m, 'REGISTRY_ONLY',
      serviceEntry('b', 'public-old', ['api.example.com'], HTTPS),
      serviceEntry('c', 'named-new', ['api.example.com'], HTTPS, '  exportTo: [a, "."]\n'));
    expect(lookupDestination(inp, wl(m, 'a/client'), 'api.example.com', 443)).toMatchObject({ entry: { meta: { name: 'named-new' } } });
  });

  it('§8 entries of one namespace for one host pool their ports when Istio can merge them (same resolution and exportTo), else the oldest alone counts', () => {
    const m = base();
    const merged = input(m, 'REGISTRY_ONLY', serviceEntry('b', 'tls', ['api.example.com'], HTTPS), serviceEntry('b', 'plain', ['api.example.com'], HTTP80));
    expect(lookupDestination(merged, wl(m, 'a/client'), 'api.example.com', 80)).toMatchObject({ entry: { meta: { name: 'plain' } } });
    const apart = input(m, 'REGISTRY_ONLY', serviceEntry('b', 'tls', ['api.example.com'], HTTPS), serviceEntry('b', 'plain', ['api.example.com'], HTTP80, '  resolution: DNS\n'));
    expect(lookupDestination(apart, wl(m, 'a/client'), 'api.example.com', 80).kind).toBe('unknown');
  });

  it('§8 a ServiceEntry address makes TCP to that IP known', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY', serviceEntry('a', 'db', ['db.example.com'], '[{ number: 5432, name: pg, protocol: TCP }]', '  addresses: [192.0.2.0/24]\n'));
    expect(lookupDestination(inp, wl(m, 'a/client'), '192.0.2.7', 5432).kind).toBe('service-entry');
    expect(lookupDestination(inp, wl(m, 'a/client'), '198.51.100.7', 5432).kind).toBe('unknown');
  });
});

describe('§8 Sidecar egress hosts and outboundTrafficPolicy', () => {
  const onlyOwnNs = sidecarYaml('a', 'default', '  egress:\n    - hosts: ["./*", "istio-system/*"]\n');

  it('§8 a Sidecar egress host list hides other services; under ALLOW_ANY they still go through the PassthroughCluster', () => {
    const m = base();
    const { lookup, decision } = egress(input(m, 'ALLOW_ANY', onlyOwnNs), m, 'a/client', SERVER, 80, 'http');
    expect(lookup).toMatchObject({ kind: 'hidden', by: 'a/default', host: SERVER, port: 80 });
    expect(decision.verdict).toBe('passthrough');
    expect(decision.reason).toContain('PassthroughCluster');
    expect(decision.reason).toContain('STRICT');
    // own namespace still visible
    expect(lookupDestination(input(m, 'ALLOW_ANY', onlyOwnNs), wl(m, 'a/client'), 'other.a.svc.cluster.local', 80).kind).toBe('service');
  });

  it('§8 a service hidden by a Sidecar is blackholed under REGISTRY_ONLY, and the fix names the Sidecar', () => {
    const m = base();
    const { decision } = egress(input(m, 'REGISTRY_ONLY', onlyOwnNs), m, 'a/client', SERVER, 80, 'http');
    expect(decision).toMatchObject({ verdict: 'blackhole', code: 502, control: 'EgressPolicy' });
    expect(decision.reason).toContain(`add "b/${SERVER}" (or "b/*") to the egress hosts of Sidecar a/default`);
  });

  it('§8 a Sidecar hides ServiceEntries too, and imports them by namespace and host', () => {
    const m = base();
    const se = serviceEntry('b', 'google', ['www.google.com'], HTTPS);
    const hidden = input(m, 'REGISTRY_ONLY', se, onlyOwnNs);
    expect(lookupDestination(hidden, wl(m, 'a/client'), 'www.google.com', 443)).toMatchObject({ kind: 'hidden', by: 'a/default' });
    const byHost = input(m, 'REGISTRY_ONLY', se, sidecarYaml('a', 'default', '  egress:\n    - hosts: ["*/www.google.com"]\n'));
    expect(lookupDestination(byHost, wl(m, 'a/client'), 'www.google.com', 443).kind).toBe('service-entry');
    const byWildcard = input(m, 'REGISTRY_ONLY', se, sidecarYaml('a', 'default', '  egress:\n    - hosts: ["b/*.google.com"]\n'));
    expect(lookupDestination(byWildcard, wl(m, 'a/client'), 'www.google.com', 443).kind).toBe('service-entry');
    const wrongNs = input(m, 'REGISTRY_ONLY', se, sidecarYaml('a', 'default', '  egress:\n    - hosts: ["c/*"]\n'));
    expect(lookupDestination(wrongNs, wl(m, 'a/client'), 'www.google.com', 443).kind).toBe('hidden');
  });

  it('§8 "~/*" imports nothing', () => {
    const m = base();
    const inp = input(m, 'ALLOW_ANY', sidecarYaml('a', 'default', '  egress:\n    - hosts: ["~/*"]\n'));
    expect(lookupDestination(inp, wl(m, 'a/client'), 'other.a.svc.cluster.local', 80).kind).toBe('hidden');
  });

  it('§8 a port-specific egress listener decides that port; the catch-all the rest', () => {
    const m = base();
    const sc = sidecarYaml('a', 'default', `  egress:
    - port: { number: 80, protocol: HTTP, name: http }
      hosts: ["b/*"]
    - hosts: ["./*"]
`);
    const inp = input(m, 'REGISTRY_ONLY', sc);
    const c = wl(m, 'a/client');
    expect(lookupDestination(inp, c, SERVER, 80).kind).toBe('service');
    expect(lookupDestination(inp, c, 'other.a.svc.cluster.local', 80).kind).toBe('hidden');
    expect(lookupDestination(inp, c, 'other.a.svc.cluster.local', 8080).kind).toBe('service');
    const noCatchAll = input(m, 'REGISTRY_ONLY', sidecarYaml('a', 'default', '  egress:\n    - port: { number: 80, protocol: HTTP, name: http }\n      hosts: ["*/*"]\n'));
    const l = lookupDestination(noCatchAll, c, SERVER, 9090);
    expect(l).toMatchObject({ kind: 'hidden' });
    expect(l.kind === 'hidden' && l.reason).toContain('no egress listener for port 9090');
  });

  it('§8 a Sidecar without egress imports everything (implicit */*)', () => {
    const m = base();
    const sc = egressObjects(sidecarYaml('a', 'default', '  outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n')).sidecars[0];
    if (!sc) throw new Error('no sidecar');
    expect(egressListenerFor(sc, 80)).toEqual({ hosts: ['*/*'] });
    expect(lookupDestination(input(m, 'ALLOW_ANY', sidecarYaml('a', 'default', '  outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n')), wl(m, 'a/client'), SERVER, 80).kind).toBe('service');
  });

  it("§8 a Sidecar's outboundTrafficPolicy overrides the mesh", () => {
    const m = base();
    const strict = input(m, 'ALLOW_ANY', sidecarYaml('a', 'lockdown', '  outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n'));
    const r1 = egress(strict, m, 'a/client', 'httpbin.org', 80, 'http');
    expect(r1.mode).toEqual({ mode: 'REGISTRY_ONLY', from: 'sidecar', name: 'a/lockdown' });
    expect(r1.decision).toMatchObject({ verdict: 'blackhole', code: 502, name: 'a/lockdown' });
    expect(r1.decision.reason).toContain('Sidecar a/lockdown outboundTrafficPolicy');
    // other namespaces keep the mesh mode
    expect(egress(strict, m, 'b/server', 'httpbin.org', 80, 'http').decision.verdict).toBe('passthrough');

    const open = input(m, 'REGISTRY_ONLY', sidecarYaml('a', 'open', '  outboundTrafficPolicy: { mode: ALLOW_ANY }\n'));
    expect(egress(open, m, 'a/client', 'httpbin.org', 80, 'http').decision.verdict).toBe('passthrough');
    expect(outboundMode('REGISTRY_ONLY', null)).toEqual({ mode: 'REGISTRY_ONLY', from: 'mesh', name: null });
  });

  it('§8 a Sidecar egressProxy receives the unknown traffic under ALLOW_ANY', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY', sidecarYaml('a', 'proxy', `  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy: { host: squid.infra.svc.cluster.local, port: { number: 3128 } }
`));
    const { decision } = egress(inp, m, 'a/client', 'httpbin.org', 80, 'http');
    expect(decision.verdict).toBe('passthrough');
    expect(decision.reason).toContain('egressProxy squid.infra.svc.cluster.local:3128');
  });
});

describe('§8 which Sidecar applies', () => {
  it('§8 a workload-selector Sidecar beats the namespace default', () => {
    const m = base();
    const { sidecars } = egressObjects(
      sidecarYaml('a', 'default', '  egress: [{ hosts: ["./*"] }]\n'),
      sidecarYaml('a', 'batch', '  workloadSelector: { labels: { role: batch } }\n  egress: [{ hosts: ["*/*"] }]\n'));
    expect(sidecarFor(sidecars, 'istio-system', wl(m, 'a/other')).sidecar?.meta.name).toBe('batch');
    expect(sidecarFor(sidecars, 'istio-system', wl(m, 'a/client')).sidecar?.meta.name).toBe('default');
    const inp = input(m, 'REGISTRY_ONLY',
      sidecarYaml('a', 'default', '  egress: [{ hosts: ["./*"] }]\n'),
      sidecarYaml('a', 'batch', '  workloadSelector: { labels: { role: batch } }\n  egress: [{ hosts: ["*/*"] }]\n'));
    expect(lookupDestination(inp, wl(m, 'a/other'), SERVER, 80).kind).toBe('service');
    expect(lookupDestination(inp, wl(m, 'a/client'), SERVER, 80).kind).toBe('hidden');
  });

  it('§8 a Sidecar with an empty workloadSelector is a selector Sidecar: it beats an older one without, and in the root namespace it is not the mesh default', () => {
    const m = base();
    const stamped = (ns: string, name: string, at: string, body: string): string => sidecarYaml(ns, name, body).replace(`name: ${name}, namespace: ${ns}`, `name: ${name}, namespace: ${ns}, creationTimestamp: "${at}"`);
    const { sidecars } = egressObjects(
      stamped('a', 'plain', '2020-01-01T00:00:00Z', '  egress: [{ hosts: ["./*"] }]\n'),
      stamped('a', 'empty-selector', '2021-01-01T00:00:00Z', '  workloadSelector: { labels: {} }\n  egress: [{ hosts: ["*/*"] }]\n'));
    expect(sidecarFor(sidecars, 'istio-system', wl(m, 'a/client')).sidecar?.meta.name).toBe('empty-selector');
    const root = egressObjects(sidecarYaml('istio-system', 'all', '  workloadSelector: { labels: {} }\n  egress: [{ hosts: ["./*"] }]\n')).sidecars;
    expect(sidecarFor(root, 'istio-system', wl(m, 'a/client')).sidecar).toBeNull();
  });

  it('§8 a Sidecar imports a ServiceEntry\'s host, not the name dialled: an egress host api.example.com does not import the entry *.example.com; *.example.com or * does (Istio hostClassification SubsetOf)', () => {
    const m = base();
    const wild = serviceEntry('ext', 'wild', ['*.example.com'], HTTPS, '  resolution: NONE\n');
    const only = (hosts: string): EgressInput => input(m, 'REGISTRY_ONLY', wild, sidecarYaml('a', 'default', `  egress: [{ hosts: [${hosts}] }]\n`));
    expect(lookupDestination(only('"*/api.example.com"'), wl(m, 'a/client'), 'api.example.com', 443).kind).toBe('hidden');
    expect(lookupDestination(only('"*/*.example.com"'), wl(m, 'a/client'), 'api.example.com', 443)).toMatchObject({ kind: 'service-entry', entry: { meta: { name: 'wild' } } });
    expect(lookupDestination(only('"ext/*"'), wl(m, 'a/client'), 'api.example.com', 443).kind).toBe('service-entry');
    // an entry of the exact host is imported by the exact egress host
    const exact = input(m, 'REGISTRY_ONLY', serviceEntry('ext', 'api', ['api.example.com'], HTTPS, '  resolution: DNS\n'), sidecarYaml('a', 'default', '  egress: [{ hosts: ["*/api.example.com"] }]\n'));
    expect(lookupDestination(exact, wl(m, 'a/client'), 'api.example.com', 443).kind).toBe('service-entry');
  });

  it('§8 a root-namespace Sidecar is the mesh default', () => {
    const m = base();
    const root = sidecarYaml('istio-system', 'default', '  egress: [{ hosts: ["./*", "istio-system/*"] }]\n');
    const { sidecars } = egressObjects(root, sidecarYaml('b', 'default', '  egress: [{ hosts: ["*/*"] }]\n'));
    expect(sidecarFor(sidecars, 'istio-system', wl(m, 'a/client')).sidecar?.meta).toMatchObject({ namespace: 'istio-system', name: 'default' });
    // a namespace's own Sidecar wins over the mesh default
    expect(sidecarFor(sidecars, 'istio-system', wl(m, 'b/server')).sidecar?.meta.namespace).toBe('b');
    // "./*" in the mesh default means the pod's own namespace
    const inp = input(m, 'REGISTRY_ONLY', root);
    expect(lookupDestination(inp, wl(m, 'a/client'), 'other.a.svc.cluster.local', 80).kind).toBe('service');
    expect(lookupDestination(inp, wl(m, 'a/client'), SERVER, 80)).toMatchObject({ kind: 'hidden', by: 'istio-system/default' });
  });

  it('§8 a selector Sidecar in the root namespace is not a mesh default', () => {
    const m = base();
    const { sidecars } = egressObjects(sidecarYaml('istio-system', 'sel', '  workloadSelector: { labels: { app: client } }\n  egress: [{ hosts: ["./*"] }]\n'));
    expect(sidecarFor(sidecars, 'istio-system', wl(m, 'a/client')).sidecar).toBeNull();
  });

  it('§8 gateways and pods without a sidecar get no Sidecar', () => {
    const m = base();
    const { sidecars } = egressObjects(sidecarYaml('legacy', 'default', '  egress: [{ hosts: ["./*"] }]\n'));
    expect(sidecarFor(sidecars, 'istio-system', wl(m, 'legacy/old'))).toEqual({ sidecar: null, conflicts: [] });
    const gw = { ...wl(m, 'a/client'), gateway: true, sidecar: false };
    expect(sidecarFor(egressObjects(sidecarYaml('a', 'default', '  egress: [{ hosts: ["./*"] }]\n')).sidecars, 'istio-system', gw).sidecar).toBeNull();
  });

  it('§13 two selector-less Sidecars in a namespace: the oldest wins, IST0111', () => {
    const m = base();
    const { sidecars } = egressObjects(
      sidecarYaml('a', 'first', '  egress: [{ hosts: ["./*"] }]\n'),
      sidecarYaml('a', 'second', '  egress: [{ hosts: ["*/*"] }]\n'));
    const r = sidecarFor(sidecars, 'istio-system', wl(m, 'a/client'));
    expect(r.sidecar?.meta.name).toBe('first');
    expect(r.conflicts).toHaveLength(1);
    expect(r.conflicts[0]).toMatch(/^IST0111 .*a\/first, a\/second.*the oldest, a\/first/);
  });

  it('§13 two Sidecars selecting one pod: the oldest (creationTimestamp) wins, IST0110', () => {
    const m = base();
    const { sidecars } = egressObjects(
      sidecarYaml('a', 'newer', '  workloadSelector: { labels: { app: client } }\n  egress: [{ hosts: ["*/*"] }]\n').replace('namespace: a }', 'namespace: a, creationTimestamp: "2024-05-01T00:00:00Z" }'),
      sidecarYaml('a', 'older', '  workloadSelector: { labels: { app: client } }\n  egress: [{ hosts: ["./*"] }]\n').replace('namespace: a }', 'namespace: a, creationTimestamp: "2023-01-01T00:00:00Z" }'));
    const r = sidecarFor(sidecars, 'istio-system', wl(m, 'a/client'));
    expect(r.sidecar?.meta.name).toBe('older');
    expect(r.conflicts[0]).toMatch(/^IST0110 .*select a\/client; the oldest, a\/older/);
  });
});

describe('§8 outbound HTTP listeners', () => {
  const isHttp = (p: ServicePort): boolean => !/^(tcp|tls|https|mongo|mysql|redis)/.test(p.name ?? '');

  it('§8 a port has an HTTP listener when a visible Service or ServiceEntry port of that number is HTTP or sniffed', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY', serviceEntry('a', 'db', ['db.example.com'], '[{ number: 5432, name: pg, protocol: TCP }]'),
      serviceEntry('a', 'web', ['web.example.com'], '[{ number: 8000, name: web }]'));
    const c = wl(m, 'a/client');
    expect(httpListenerOnPort(inp, c, 80, isHttp)).toBe(true);
    expect(httpListenerOnPort(inp, c, 5432, isHttp)).toBe(false);
    expect(httpListenerOnPort(inp, c, 8000, isHttp)).toBe(true);
    expect(httpListenerOnPort(inp, c, 9999, isHttp)).toBe(false);
  });

  it('§8 a Sidecar that hides every port-80 service removes the HTTP listener (closed connection, not 502)', () => {
    const m = base();
    const inp = input(m, 'REGISTRY_ONLY', sidecarYaml('a', 'default', '  egress: [{ hosts: ["~/*"] }]\n'));
    const c = wl(m, 'a/client');
    expect(visibleRegistry(inp, c, 80)).toEqual({ services: [], serviceEntries: [] });
    const listener = httpListenerOnPort(inp, c, 80, isHttp);
    expect(listener).toBe(false);
    expect(decideEgress(lookupDestination(inp, c, 'httpbin.org', 80), inp.meshMode, 'http', listener)).toMatchObject({ verdict: 'blackhole', code: 0 });
  });
});
