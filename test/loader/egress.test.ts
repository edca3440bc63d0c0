/**
 * istio-semantics §8/§14: ServiceEntry and Sidecar are read and validated as
 * Istio's webhook (pkg/config/validation/validation.go) would: rejected
 * objects are located errors, accepted-with-warning objects are warnings.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { readServiceEntry, readSidecar } from '../../src/loader/egress.js';
import { Reader, type Obj } from '../../src/loader/reader.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import type { ServiceEntry, Sidecar } from '../../src/model/egress.js';
import type { ObjectMeta } from '../../src/model/types.js';

interface Read<T> { value: T; issues: IssueList }

function read<T>(kind: 'ServiceEntry' | 'Sidecar', text: string, fn: (r: Reader, meta: ObjectMeta, obj: Obj) => T): Read<T> {
  const issues = new IssueList();
  const [doc] = parseYaml('e.yaml', text, issues);
  if (!doc) throw new Error(`no document: ${issues.items.map((i) => i.message).join('; ')}`);
  const obj = doc.value as Obj;
  const md = obj['metadata'] as { name: string; namespace?: string };
  const namespace = md.namespace ?? 'default';
  const meta: ObjectMeta = { name: md.name, namespace, labels: {}, annotations: {}, order: 0, loc: doc.locate([]) };
  const value = fn(new Reader(doc, issues, `${kind} ${namespace}/${md.name}`), meta, obj);
  return { value, issues };
}

const se = (spec: string): Read<ServiceEntry> =>
  read('ServiceEntry', `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext, namespace: a }
spec:
${spec}`, readServiceEntry);

const sc = (spec: string): Read<Sidecar> =>
  read('Sidecar', `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: a }
spec:
${spec}`, readSidecar);

/** `severity:code@line` of every issue */
function found(r: Read<unknown>): string[] {
  return r.issues.items.map((i) => `${i.severity}:${i.code}@${i.loc?.line ?? '?'}`);
}

describe('§8 ServiceEntry reading', () => {
  it('§8 a plain external ServiceEntry reads with its defaults (NONE resolution, MESH_EXTERNAL)', () => {
    const r = se(`  hosts: [api.example.com]
  ports:
    - { number: 443, name: tls, protocol: tls }
`);
    expect(found(r)).toEqual([]);
    expect(r.value).toMatchObject({ hosts: ['api.example.com'], resolution: 'NONE', location: 'MESH_EXTERNAL', exportTo: [], endpoints: [], workloadSelector: null,
      ports: [{ number: 443, name: 'tls', protocol: 'TLS' }] });
  });

  it('§8 endpoints, addresses, labels and a MESH_INTERNAL location are kept', () => {
    const r = se(`  hosts: [db.internal.example]
  addresses: [192.0.2.10]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP, targetPort: 6432 }]
  endpoints:
    - address: 192.0.2.11
      ports: { tcp-pg: 6433 }
      labels: { zone: a }
`);
    expect(found(r)).toEqual([]);
    expect(r.value).toMatchObject({ location: 'MESH_INTERNAL', resolution: 'STATIC', addresses: ['192.0.2.10'],
      ports: [{ number: 5432, targetPort: 6432 }], endpoints: [{ address: '192.0.2.11', ports: { 'tcp-pg': 6433 }, labels: { zone: 'a' } }] });
  });

  it('§14 hosts are required', () => {
    expect(found(se('  ports: [{ number: 80, name: http, protocol: HTTP }]\n'))).toEqual(['error:se-hosts-required@4']);
    expect(found(se('  hosts: []\n  ports: [{ number: 80, name: http, protocol: HTTP }]\n'))).toEqual(['error:se-hosts-required@4']);
  });

  it('§14 a lone * host is rejected, and so are IPs and upper case as hosts', () => {
    const r = se(`  hosts:
    - "*"
    - 192.0.2.1
    - Api.Example.com
  ports: [{ number: 80, name: http, protocol: HTTP }]
`);
    expect(found(r)).toEqual(['error:se-bad-host@6', 'error:se-bad-host@7', 'error:se-bad-host@8']);
  });

  it('§14 a partial wildcard host is only a warning', () => {
    expect(found(se('  hosts: ["*foo.example.com"]\n  ports: [{ number: 80, name: http, protocol: HTTP }]\n'))).toEqual(['warning:se-partial-wildcard@5']);
  });

  it('§14 no ports is accepted by Istio, so only a warning: the hosts are known on no port', () => {
    expect(found(se('  hosts: [api.example.com]\n'))).toEqual(['warning:se-no-ports@4']);
  });

  it('§14 a port needs a number', () => {
    expect(found(se(`  hosts: [api.example.com]
  ports:
    - { name: http, protocol: HTTP }
`))).toEqual(['error:se-port-required@7']);
  });

  it('§14 port numbers are 1-65535', () => {
    expect(found(se(`  hosts: [api.example.com]
  ports:
    - name: http
      number: 70000
      protocol: HTTP
`))).toEqual(['error:se-bad-port@8']);
  });

  it('§14 port numbers and names are unique', () => {
    expect(found(se(`  hosts: [api.example.com]
  ports:
    - { number: 80, name: http, protocol: HTTP }
    - { number: 80, name: http, protocol: HTTP }
`))).toEqual(['error:se-duplicate-port-name@8', 'error:se-duplicate-port@8']);
  });

  it('§14 a port needs a DNS-1123 name', () => {
    expect(found(se(`  hosts: [api.example.com]
  ports:
    - { number: 80, protocol: HTTP }
    - { number: 81, name: Web_Port, protocol: HTTP }
`))).toEqual(['error:se-port-name@7', 'error:se-port-name@8']);
  });

  it('§14 the protocol must be one Istio knows (any case; empty = sniffed)', () => {
    const r = se(`  hosts: [api.example.com]
  ports:
    - { number: 80, name: a, protocol: http }
    - { number: 81, name: b }
    - { number: 82, name: c, protocol: QUIC }
`);
    expect(found(r)).toEqual(['error:se-bad-protocol@9', 'warning:se-tcp-without-addresses@8']);
    expect(r.value.ports.map((p) => p.protocol)).toEqual(['HTTP', '', 'QUIC']);
  });

  it('§14 resolution DNS with a wildcard host and no endpoints is rejected', () => {
    expect(found(se(`  hosts:
    - api.example.com
    - "*.example.com"
  resolution: DNS
  ports: [{ number: 443, name: tls, protocol: TLS }]
`))).toEqual(['error:se-dns-wildcard@7']);
  });

  it('§14 resolution NONE with a wildcard host is fine', () => {
    expect(found(se(`  hosts: ["*.example.com"]
  resolution: NONE
  ports: [{ number: 443, name: tls, protocol: TLS }]
`))).toEqual([]);
  });

  it('§14 resolution STATIC without endpoints or workloadSelector is accepted by current Istio: a warning', () => {
    expect(found(se(`  hosts: [db.example.com]
  resolution: STATIC
  ports: [{ number: 443, name: tls, protocol: TLS }]
`))).toEqual(['warning:se-static-without-endpoints@4']);
    expect(found(se(`  hosts: [db.example.com]
  resolution: STATIC
  workloadSelector: { labels: { app: db } }
  ports: [{ number: 443, name: tls, protocol: TLS }]
`))).toEqual([]);
  });

  it('§14 STATIC endpoints must be IPs, and their port names must be declared', () => {
    expect(found(se(`  hosts: [db.example.com]
  resolution: STATIC
  ports: [{ number: 443, name: tls, protocol: TLS }]
  endpoints:
    - address: db1.example.com
    - address: 192.0.2.1
      ports: { https: 8443 }
`))).toEqual(['error:se-bad-endpoint@9', 'error:se-endpoint-port@11']);
  });

  it('§14 NONE with endpoints is rejected', () => {
    expect(found(se(`  hosts: [db.example.com]
  ports: [{ number: 443, name: tls, protocol: TLS }]
  endpoints: [{ address: 192.0.2.1 }]
`))).toEqual(['error:se-none-with-endpoints@7']);
  });

  it('§14 workloadSelector and endpoints together are rejected', () => {
    expect(found(se(`  hosts: [db.example.com]
  resolution: STATIC
  workloadSelector: { labels: { app: db } }
  ports: [{ number: 443, name: tls, protocol: TLS }]
  endpoints: [{ address: 192.0.2.1 }]
`))).toEqual(['error:se-selector-and-endpoints@9']);
  });

  it('§14 a CIDR address needs resolution NONE or STATIC; bad addresses are rejected', () => {
    expect(found(se(`  hosts: [db.example.com]
  resolution: DNS
  addresses: [192.0.2.0/24, not-an-ip]
  ports: [{ number: 443, name: tls, protocol: TLS }]
`))).toEqual(['error:se-cidr-resolution@7', 'error:se-bad-address@7']);
  });

  it('§14 several hosts with a plain TCP port need resolution NONE', () => {
    expect(found(se(`  hosts: [a.example.com, b.example.com]
  resolution: DNS
  ports: [{ number: 5432, name: pg, protocol: TCP }]
`))).toEqual(['warning:se-tcp-without-addresses@7', 'error:se-multi-host-tcp@5']);
  });

  it('§14 a TCP or sniffed port without addresses is warned about (Istio webhook / IST0134): it listens on 0.0.0.0', () => {
    const ports = '  ports:\n    - { number: 5432, name: pg, protocol: TCP }\n    - { number: 6379, name: redis }\n    - { number: 443, name: tls, protocol: TLS }\n    - { number: 80, name: http, protocol: HTTP }\n';
    const r = se(`  hosts: [db.example.com]\n${ports}`);
    expect(found(r)).toEqual(['warning:se-tcp-without-addresses@7', 'warning:se-tcp-without-addresses@8']);
    expect(r.issues.items.map((i) => i.message).join('\n')).toContain('0.0.0.0:5432');
    expect(found(se(`  hosts: [db.example.com]\n  addresses: [192.0.2.10]\n${ports}`))).toEqual([]);
  });

  it('§14 exportTo: "*" only alone, no duplicates ("." = own namespace)', () => {
    expect(found(se(`  hosts: [api.example.com]
  ports: [{ number: 443, name: tls, protocol: TLS }]
  exportTo: [".", a, "*"]
`))).toEqual(['error:se-bad-export-to@7', 'error:se-bad-export-to@7']);
  });

  it('§14 an unknown resolution or location is a bad-enum error', () => {
    expect(found(se(`  hosts: [api.example.com]
  resolution: MAGIC
  location: OUTSIDE
  ports: [{ number: 443, name: tls, protocol: TLS }]
`))).toEqual(['error:bad-enum@6', 'error:bad-enum@7']);
  });

  it('§14 a ServiceEntry workloadSelector takes labels, not matchLabels', () => {
    const r = se(`  hosts: [db.example.com]
  resolution: STATIC
  workloadSelector:
    matchLabels: { app: db }
  ports: [{ number: 443, name: tls, protocol: TLS }]
`);
    expect(found(r)).toEqual(['error:unknown-field@8', 'warning:se-static-without-endpoints@4']);
  });

  it('§14 unknown fields of a ServiceEntry, its ports and its endpoints are refused at their key, as kubectl strict validation refuses them', () => {
    const r = se(`  hosts: [api.example.com]
  resolution: STATIC
  endpoint: []
  ports: [{ number: 443, name: tls, protocol: TLS, target_port: 8443 }]
  endpoints:
    - { address: 192.0.2.10, wieght: 2 }
`);
    expect(found(r)).toEqual(['error:unknown-field@7', 'error:unknown-field@8', 'error:unknown-field@10']);
    expect(r.issues.errors.map((e) => e.message)).toEqual([
      'ServiceEntry a/ext: unknown field "endpoint" in spec',
      'ServiceEntry a/ext: unknown field "target_port" in spec.ports[0]',
      'ServiceEntry a/ext: unknown field "wieght" in spec.endpoints[0]',
    ]);
    expect(r.issues.errors[0]?.hint).toBe('did you mean endpoints?');
    // every field of the API is accepted
    const ok = se(`  hosts: [api.example.com]
  addresses: [192.0.2.1]
  ports: [{ number: 443, name: tls, protocol: TLS, targetPort: 8443 }]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{ address: 192.0.2.10, ports: { tls: 9443 }, labels: { a: b }, network: n1, locality: us/east, weight: 3, serviceAccount: sa }]
  exportTo: ["*"]
  subjectAltNames: [spiffe://example.com/api]
`);
    expect(found(ok)).toEqual(['warning:endpoint-network-not-modeled@10']);
    expect(ok.value.endpoints[0]).toMatchObject({ network: 'n1', locality: 'us/east', weight: 3, serviceAccount: 'sa' });
  });

  it('§14 an endpoint weight is a uint32 (0 = unset)', () => {
    const r = se('  hosts: [api.example.com]\n  resolution: STATIC\n  ports: [{ number: 80, name: http, protocol: HTTP }]\n  endpoints: [{ address: 192.0.2.10, weight: -1 }, { address: 192.0.2.11, weight: 0 }]\n');
    expect(found(r)).toEqual(['error:se-bad-weight@8']);
    expect(r.value.endpoints[1]?.weight).toBeUndefined();
  });

  it('§14 every error carries a hint', () => {
    const r = se('  hosts: ["*"]\n  ports: [{ number: 0, name: x, protocol: FOO }]\n');
    expect(r.issues.errors.length).toBeGreaterThan(0);
    for (const e of r.issues.errors) expect(e.hint, e.code).toBeTruthy();
  });
});

describe('§8 Sidecar reading', () => {
  it('§8 egress hosts, a port listener and outboundTrafficPolicy are read', () => {
    const r = sc(`  workloadSelector: { labels: { app: client } }
  egress:
    - port: { number: 9080, protocol: http, name: web }
      hosts: ["prod/*"]
    - hosts: ["./*", "istio-system/*", "*/api.example.com", "~/*"]
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
`);
    expect(found(r)).toEqual([]);
    expect(r.value).toMatchObject({
      workloadSelector: { app: 'client' },
      egress: [{ port: { number: 9080, protocol: 'HTTP', name: 'web' }, hosts: ['prod/*'] }, { hosts: ['./*', 'istio-system/*', '*/api.example.com', '~/*'] }],
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    });
  });

  it('§8 a Sidecar with only outboundTrafficPolicy is valid (egress defaults to */*)', () => {
    const r = sc('  outboundTrafficPolicy: { mode: ALLOW_ANY }\n');
    expect(found(r)).toEqual([]);
    expect(r.value.egress).toEqual([]);
  });

  it('§14 an empty Sidecar is rejected', () => {
    expect(found(sc('  workloadSelector: { labels: { app: x } }\n'))).toEqual(['error:sidecar-empty@4']);
  });

  it('§14 an egress listener needs hosts', () => {
    expect(found(sc(`  egress:
    - port: { number: 80, protocol: HTTP, name: http }
`))).toEqual(['error:sidecar-no-egress-hosts@6']);
    expect(found(sc(`  egress:
    - hosts: []
`))).toEqual(['error:sidecar-no-egress-hosts@6']);
  });

  it('§14 egress hosts must be namespace/dnsName (./, */, ~/ forms allowed; no short names)', () => {
    const r = sc(`  egress:
    - hosts:
        - reviews.bookinfo.svc.cluster.local
        - ./reviews
        - "~prod/*"
        - "*/*foo.example.com"
        - "Prod/*"
        - "./*"
        - "~/*"
`);
    expect(found(r)).toEqual(['error:sidecar-bad-host@7', 'error:sidecar-bad-host@8', 'error:sidecar-bad-host@9', 'error:sidecar-bad-host@10', 'error:sidecar-bad-host@11']);
    expect(r.value.egress[0]?.hosts).toEqual(['./*', '~/*']);
  });

  it('§14 only one catch-all egress listener, and it comes last', () => {
    expect(found(sc(`  egress:
    - hosts: ["./*"]
    - port: { number: 80, protocol: HTTP, name: http }
      hosts: ["./*"]
`))).toEqual(['error:sidecar-catch-all@6']);
  });

  it('§14 egress listener ports are unique and valid', () => {
    expect(found(sc(`  egress:
    - port: { number: 80, protocol: HTTP, name: http }
      hosts: ["./*"]
    - port: { number: 80, protocol: SPDY, name: http2 }
      hosts: ["./*"]
`))).toEqual(['error:sidecar-duplicate-port@8', 'error:sidecar-bad-protocol@8']);
  });

  it('§14 duplicated egress hosts and */* next to others are warnings', () => {
    expect(found(sc(`  egress:
    - hosts: ["*/*", "./*", "./*"]
`))).toEqual(['warning:sidecar-duplicate-host@6', 'warning:sidecar-duplicate-host@6']);
  });

  it('§8 outboundTrafficPolicy without mode is the proto default REGISTRY_ONLY (warned)', () => {
    const r = sc('  outboundTrafficPolicy: {}\n');
    expect(found(r)).toEqual(['warning:sidecar-mode-default@5']);
    expect(r.value.outboundTrafficPolicy).toEqual({ mode: 'REGISTRY_ONLY' });
  });

  it('§14 ingress listeners and inboundConnectionPool are said not to be simulated (located warnings), not dropped silently', () => {
    expect(found(sc(`  ingress:
    - port: { number: 9080, protocol: HTTP, name: http }
      defaultEndpoint: 127.0.0.1:8080
  inboundConnectionPool: { tcp: { maxConnections: 1 } }
`))).toEqual(['warning:sidecar-ingress-not-modeled@5', 'warning:sidecar-ingress-not-modeled@8']);
  });

  it('§14 an egress listener bound to an address, or with its own captureMode, is said not to be simulated', () => {
    expect(found(sc(`  egress:
    - port: { number: 9080, protocol: HTTP, name: http }
      bind: 127.0.0.1
      hosts: ["./*"]
    - port: { number: 9090, protocol: HTTP, name: h2 }
      captureMode: NONE
      hosts: ["./*"]
    - port: { number: 9091, protocol: HTTP, name: h3 }
      bind: 0.0.0.0
      hosts: ["./*"]
`))).toEqual(['warning:sidecar-bind-not-modeled@7', 'warning:sidecar-bind-not-modeled@10']);
  });

  it('§14 a bad outboundTrafficPolicy mode is a bad-enum error', () => {
    expect(found(sc('  outboundTrafficPolicy: { mode: DENY_ALL }\n'))).toEqual(['error:bad-enum@5']);
  });

  it('§14 egressProxy needs ALLOW_ANY', () => {
    const r = sc(`  outboundTrafficPolicy:
    mode: REGISTRY_ONLY
    egressProxy: { host: proxy.example.com, port: { number: 3128 } }
`);
    expect(found(r)).toEqual(['error:sidecar-egress-proxy@7']);
    const ok = sc(`  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy: { host: proxy.example.com, port: { number: 3128 } }
`);
    expect(found(ok)).toEqual([]);
    expect(ok.value.outboundTrafficPolicy).toEqual({ mode: 'ALLOW_ANY', egressProxy: { host: 'proxy.example.com', port: 3128 } });
  });

  it('§14 an empty workloadSelector is a warning and a selector every pod of the namespace matches (Istio: WorkloadSelector != nil), not no selector', () => {
    const r = sc('  workloadSelector: { labels: {} }\n  egress: [{ hosts: ["./*"] }]\n');
    expect(found(r)).toEqual(['warning:sidecar-empty-selector@5']);
    expect(r.value.workloadSelector).toEqual({});
  });

  it('§14 unknown fields of a Sidecar, its egress listeners, ports and outboundTrafficPolicy are refused at their key', () => {
    const r = sc(`  egres: [{ hosts: ["./*"] }]
  egress:
    - { hosts: ["./*"], port: { number: 80, nmae: http }, bnd: 1.2.3.4 }
  outboundTrafficPolicy: { mode: ALLOW_ANY, egressProxy: { host: proxy.example.com, port: { number: 3128, name: x } }, mod: x }
`);
    expect(r.issues.errors.map((e) => e.message)).toEqual([
      'Sidecar a/default: unknown field "egres" in spec',
      'Sidecar a/default: unknown field "bnd" in spec.egress[0]',
      'Sidecar a/default: unknown field "nmae" in spec.egress[0].port',
      'Sidecar a/default: unknown field "mod" in spec.outboundTrafficPolicy',
      'Sidecar a/default: unknown field "name" in spec.outboundTrafficPolicy.egressProxy.port',
    ]);
    expect(r.issues.errors[0]?.hint).toBe('did you mean egress?');
    const ok = sc(`  workloadSelector: { labels: { app: a } }
  egress: [{ port: { number: 80, protocol: HTTP, name: http, targetPort: 8080 }, bind: 0.0.0.0, captureMode: DEFAULT, hosts: ["./*"] }]
  outboundTrafficPolicy: { mode: ALLOW_ANY, egressProxy: { host: proxy.example.com, subset: v1, port: { number: 3128 } } }
`);
    expect(ok.issues.errors).toEqual([]);
  });

  it('§14 every Sidecar error carries a hint', () => {
    const r = sc('  egress:\n    - hosts: [nope]\n    - hosts: []\n');
    expect(r.issues.errors.length).toBeGreaterThan(0);
    for (const e of r.issues.errors) expect(e.hint, e.code).toBeTruthy();
  });
});
