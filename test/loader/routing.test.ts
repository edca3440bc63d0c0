/**
 * Gateway and VirtualService loading: Istio's webhook validation as located
 * errors (istio-semantics §14), warnings for what it only warns about or
 * meshrange does not simulate, and the istioctl analyze cross-object checks
 * (§13: IST0101 for gateway references and selectors).
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { Reader, type Obj } from '../../src/loader/reader.js';
import { analyzeRouting, readGateway, readVirtualService } from '../../src/loader/routing.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import type { Gateway, VirtualService } from '../../src/model/routing.js';
import { compileRe2 } from '../../src/core/re2.js';
import type { ObjectMeta, Workload } from '../../src/model/types.js';

function read<T>(text: string, fn: (r: Reader, meta: ObjectMeta, obj: Obj) => T): { value: T; issues: IssueList } {
  const issues = new IssueList();
  const [doc] = parseYaml('routing.yaml', text, issues);
  if (!doc) throw new Error('no document');
  const obj = doc.value as Obj;
  const md = obj['metadata'] as Obj;
  const meta: ObjectMeta = {
    name: String(md['name']), namespace: String(md['namespace'] ?? 'default'),
    labels: {}, annotations: {}, order: 0, loc: doc.locate([]),
  };
  const r = new Reader(doc, issues, `${String(obj['kind'])} ${meta.namespace}/${meta.name}`);
  return { value: fn(r, meta, obj), issues };
}

const gw = (text: string): { value: Gateway | undefined; issues: IssueList } => read(text, readGateway);
const vs = (text: string): { value: VirtualService | undefined; issues: IssueList } => read(text, readVirtualService);

/** 1-based line of the first line containing `needle` (the location an issue must point at). */
function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`"${needle}" not in text`);
  return i + 1;
}

/** `severity:code@line` of every issue. */
function found(issues: IssueList): string[] {
  return issues.items.map((i) => `${i.severity}:${i.code}@${i.loc?.line ?? '?'}`);
}

function expectIssue(issues: IssueList, severity: 'error' | 'warning', code: string, line: number): void {
  expect(found(issues)).toContain(`${severity}:${code}@${line}`);
  const issue = issues.items.find((i) => i.code === code && i.loc?.line === line);
  expect(issue?.hint, `${code} has a hint`).toBeTruthy();
}

const gateway = (servers: string, name = 'gw', apiVersion = 'networking.istio.io/v1'): string => `apiVersion: ${apiVersion}
kind: Gateway
metadata:
  name: ${name}
  namespace: istio-system
spec:
  selector:
    istio: ingressgateway
  servers:
${servers}`;

const virtualService = (spec: string, apiVersion = 'networking.istio.io/v1'): string => `apiVersion: ${apiVersion}
kind: VirtualService
metadata:
  name: reviews
  namespace: bookinfo
spec:
${spec}`;

describe('Gateway: reading', () => {
  it('a valid Gateway reads into the model without issues (v1, v1beta1, v1alpha3)', () => {
    for (const v of ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']) {
      const { value, issues } = gw(gateway(`    - port: { number: 80, name: http, protocol: HTTP }
      hosts: ["bookinfo/*.example.com"]
      tls: { httpsRedirect: true }
    - port: { number: 443, name: https, protocol: https }
      hosts: ["*"]
      tls: { mode: SIMPLE, credentialName: bookinfo-cert, minProtocolVersion: TLSV1_2 }`, 'gw', v));
      expect(issues.items).toEqual([]);
      expect(value).toMatchObject({
        selector: { istio: 'ingressgateway' },
        servers: [
          { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['bookinfo/*.example.com'], tls: { mode: 'PASSTHROUGH', httpsRedirect: true } },
          { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'SIMPLE', credentialName: 'bookinfo-cert', minProtocolVersion: 'TLSV1_2' } },
        ],
      });
    }
  });

  it('a Kubernetes Gateway API Gateway is not read as an Istio Gateway (warning, no object)', () => {
    const { value, issues } = gw(gateway('    - {}', 'gw', 'gateway.networking.k8s.io/v1'));
    expect(value).toBeUndefined();
    expect(found(issues)).toEqual(['warning:not-modeled@1']);
  });

  it('an unknown networking.istio.io version is an error', () => {
    const { value, issues } = gw(gateway('    - {}', 'gw', 'networking.istio.io/v2'));
    expect(value).toBeUndefined();
    expect(found(issues)).toEqual(['error:bad-api-version@1']);
  });
});

describe('Gateway: webhook validation', () => {
  it('gw-no-servers: a Gateway must have at least one server', () => {
    const text = gateway('    []');
    expectIssue(gw(text).issues, 'error', 'gw-no-servers', lineOf(text, 'servers:'));
  });

  it('gw-bad-name: a Gateway name is a DNS label (no dots)', () => {
    const text = gateway('    - port: { number: 80, name: http, protocol: HTTP }\n      hosts: ["*"]', 'my.gateway');
    expectIssue(gw(text).issues, 'error', 'gw-bad-name', lineOf(text, 'name: my.gateway'));
  });

  it('gw-bad-port: port required, number in 1..65535, no targetPort', () => {
    const missing = gateway('    - hosts: ["*"]');
    expectIssue(gw(missing).issues, 'error', 'gw-bad-port', lineOf(missing, 'hosts:'));
    const zero = gateway('    - port: { number: 0, name: http, protocol: HTTP }\n      hosts: ["*"]');
    expectIssue(gw(zero).issues, 'error', 'gw-bad-port', lineOf(zero, 'number: 0'));
    const big = gateway('    - hosts: ["*"]\n      port:\n        number: 70000\n        name: http\n        protocol: HTTP');
    expectIssue(gw(big).issues, 'error', 'gw-bad-port', lineOf(big, 'number: 70000'));
    const target = gateway('    - hosts: ["*"]\n      port:\n        number: 80\n        targetPort: 8080\n        name: http\n        protocol: HTTP');
    expectIssue(gw(target).issues, 'error', 'gw-bad-port', lineOf(target, 'targetPort'));
  });

  it('gw-port-name / gw-bad-protocol / gw-duplicate-port-name', () => {
    const text = gateway(`    - port: { number: 80, protocol: HTTP }
      hosts: ["*"]
    - port: { number: 81, name: web, protocol: QUIC }
      hosts: ["*"]
    - port: { number: 82, name: web, protocol: HTTP }
      hosts: ["*"]`);
    const { issues } = gw(text);
    expectIssue(issues, 'error', 'gw-port-name', lineOf(text, 'number: 80'));
    expectIssue(issues, 'error', 'gw-bad-protocol', lineOf(text, 'QUIC'));
    expectIssue(issues, 'error', 'gw-duplicate-port-name', lineOf(text, 'number: 82'));
  });

  it('gw-no-hosts: a server must list at least one host', () => {
    const text = gateway('    - port: { number: 80, name: http, protocol: HTTP }\n      hosts: []');
    expectIssue(gw(text).issues, 'error', 'gw-no-hosts', lineOf(text, 'hosts: []'));
  });

  it('gw-bad-host: short names, partial wildcards, bad namespaces and upper case are rejected; ns/, ./, */ and IPs accepted', () => {
    const text = gateway(`    - port: { number: 80, name: http, protocol: HTTP }
      hosts:
        - productpage
        - "foo*.example.com"
        - "Bad_NS/a.example.com"
        - "Shop.Example.com"
        - "./a.example.com"
        - "*/b.example.com"
        - "bookinfo/*"
        - "10.0.0.1"`);
    const { issues } = gw(text);
    for (const bad of ['productpage', 'foo*', 'Bad_NS', 'Shop.Example']) expectIssue(issues, 'error', 'gw-bad-host', lineOf(text, bad));
    expect(issues.items.filter((i) => i.code === 'gw-bad-host')).toHaveLength(4);
  });

  it('gw-tls-mode: tls.mode must be one of Istio\'s server modes', () => {
    const text = gateway('    - port: { number: 443, name: https, protocol: HTTPS }\n      hosts: ["*"]\n      tls:\n        mode: STRICT');
    expectIssue(gw(text).issues, 'error', 'gw-tls-mode', lineOf(text, 'mode: STRICT'));
  });

  it('gw-simple-needs-credential: SIMPLE/MUTUAL need credentialName or serverCertificate and privateKey', () => {
    const text = gateway('    - port: { number: 443, name: https, protocol: HTTPS }\n      hosts: ["*"]\n      tls:\n        mode: SIMPLE');
    expectIssue(gw(text).issues, 'error', 'gw-simple-needs-credential', lineOf(text, 'tls:'));
    const keyOnly = gateway('    - port: { number: 443, name: https, protocol: HTTPS }\n      hosts: ["*"]\n      tls:\n        mode: MUTUAL\n        privateKey: /etc/key.pem\n        caCertificates: /etc/ca.pem');
    expectIssue(gw(keyOnly).issues, 'error', 'gw-simple-needs-credential', lineOf(keyOnly, 'tls:'));
    const files = gateway('    - port: { number: 443, name: https, protocol: HTTPS }\n      hosts: ["*"]\n      tls: { mode: SIMPLE, serverCertificate: /c.pem, privateKey: /k.pem }');
    expect(gw(files).issues.items).toEqual([]);
  });

  it('gw-mutual-needs-ca: MUTUAL without credentialName needs caCertificates', () => {
    const text = gateway('    - port: { number: 443, name: https, protocol: HTTPS }\n      hosts: ["*"]\n      tls:\n        mode: MUTUAL\n        serverCertificate: /c.pem\n        privateKey: /k.pem');
    expectIssue(gw(text).issues, 'error', 'gw-mutual-needs-ca', lineOf(text, 'tls:'));
    const cred = gateway('    - port: { number: 443, name: https, protocol: HTTPS }\n      hosts: ["*"]\n      tls: { mode: MUTUAL, credentialName: c }');
    expect(gw(cred).issues.items).toEqual([]);
  });

  it('gw-tls-required / gw-tls-on-plaintext: HTTPS and TLS servers need tls; HTTP servers allow only httpsRedirect', () => {
    const noTls = gateway('    - port: { number: 443, name: https, protocol: HTTPS }\n      hosts: ["*"]');
    expectIssue(gw(noTls).issues, 'error', 'gw-tls-required', lineOf(noTls, 'number: 443'));
    const httpTls = gateway('    - port: { number: 80, name: http, protocol: HTTP }\n      hosts: ["*"]\n      tls: { mode: SIMPLE, credentialName: c }');
    expectIssue(gw(httpTls).issues, 'error', 'gw-tls-on-plaintext', lineOf(httpTls, 'tls:'));
    const tcpTls = gateway('    - port: { number: 5432, name: pg, protocol: TCP }\n      hosts: ["*"]\n      tls: { mode: PASSTHROUGH }');
    expectIssue(gw(tcpTls).issues, 'error', 'gw-tls-on-plaintext', lineOf(tcpTls, 'tls:'));
  });

  it('gw-istio-mutual-certs: ISTIO_MUTUAL uses the workload certificate, no credential fields', () => {
    const text = gateway('    - port: { number: 15443, name: tls, protocol: TLS }\n      hosts: ["*"]\n      tls:\n        mode: ISTIO_MUTUAL\n        credentialName: c');
    expectIssue(gw(text).issues, 'error', 'gw-istio-mutual-certs', lineOf(text, 'credentialName'));
  });

  it('warnings: httpsRedirect on a non-HTTP server, certificates on PASSTHROUGH', () => {
    const text = gateway(`    - port: { number: 443, name: tls, protocol: TLS }
      hosts: ["*"]
      tls:
        mode: PASSTHROUGH
        httpsRedirect: true
        credentialName: c`);
    const { issues } = gw(text);
    expect(issues.hasErrors()).toBe(false);
    expectIssue(issues, 'warning', 'gw-https-redirect-non-http', lineOf(text, 'httpsRedirect'));
    expectIssue(issues, 'warning', 'gw-passthrough-certs', lineOf(text, 'tls:'));
  });
});

describe('VirtualService: reading', () => {
  it('a valid VirtualService reads into the model: gateways default to mesh, routes, matches (header names as written), weights, rewrite', () => {
    const { value, issues } = vs(virtualService(`  hosts: [reviews]
  http:
    - name: jason
      match:
        - headers: { End-User: { exact: jason } }
          uri: { prefix: /api }
          ignoreUriCase: true
        - queryParams: { debug: {} }
      rewrite: { uri: /v2 }
      route:
        - { destination: { host: reviews, subset: v2, port: { number: 9080 } }, weight: 75 }
        - { destination: { host: reviews, subset: v3 }, weight: 25 }
    - directResponse: { status: 503, body: { bytes: "ZG93bg==" } }`));
    expect(issues.items).toEqual([]);
    expect(value).toMatchObject({
      hosts: ['reviews'], gateways: ['mesh'], exportTo: [], tls: [], tcp: [],
      http: [
        {
          name: 'jason',
          match: [{ headers: { 'End-User': { exact: 'jason' } }, uri: { prefix: '/api' }, ignoreUriCase: true }, { queryParams: { debug: { present: true } } }],
          rewrite: { uri: '/v2' },
          route: [
            { destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } }, weight: 75 },
            { destination: { host: 'reviews', subset: 'v3' }, weight: 25 },
          ],
        },
        { directResponse: { status: 503, body: 'down' } },
      ],
    });
    expect(value?.gatewayLocs).toHaveLength(1);
  });

  it('the gateways list and its locations are kept as written', () => {
    const text = virtualService('  hosts: ["*"]\n  gateways:\n    - istio-system/gw\n    - gw2\n  http: [{ route: [{ destination: { host: a } }] }]');
    const { value, issues } = vs(text);
    expect(issues.items).toEqual([]);
    expect(value?.gateways).toEqual(['istio-system/gw', 'gw2']);
    expect(value?.gatewayLocs.map((l) => l.line)).toEqual([lineOf(text, 'istio-system/gw'), lineOf(text, '- gw2')]);
  });
});

describe('VirtualService: webhook validation', () => {
  it('vs-no-hosts: a host-less VirtualService is a delegate: an error with gateways/tls/tcp, else valid (delegation is merged after loading)', () => {
    const withGw = virtualService('  gateways: [istio-system/gw]\n  http: [{ route: [{ destination: { host: a } }] }]');
    expectIssue(vs(withGw).issues, 'error', 'vs-no-hosts', lineOf(withGw, 'gateways:'));
    const delegate = virtualService('  http: [{ route: [{ destination: { host: a } }] }]');
    const read = vs(delegate);
    expect(read.issues.items).toEqual([]);
    // each route of a delegate keeps where it is written: the merge locates a route it drops
    expect(read.value?.http[0]?.loc?.line).toBe(lineOf(delegate, 'http:'));
  });

  it('vs-delegate-in-delegate: a delegate\'s route cannot delegate again (one level, as the webhook says)', () => {
    const text = virtualService('  http:\n    - delegate: { name: grandchild }');
    expectIssue(vs(text).issues, 'error', 'vs-delegate-in-delegate', lineOf(text, 'delegate:'));
  });

  it('vs-no-routes: http, tcp or tls must be provided', () => {
    const text = virtualService('  hosts: [reviews]');
    expectIssue(vs(text).issues, 'error', 'vs-no-routes', lineOf(text, 'spec:'));
  });

  it('vs-route-without-destination: an http route needs route, redirect or directResponse; a route entry needs a destination', () => {
    const text = virtualService('  hosts: [reviews]\n  http:\n    - match: [{ uri: { prefix: / } }]');
    expectIssue(vs(text).issues, 'error', 'vs-route-without-destination', lineOf(text, '- match'));
    const noDest = virtualService('  hosts: [reviews]\n  http:\n    - route:\n        - weight: 100');
    expectIssue(vs(noDest).issues, 'error', 'vs-route-without-destination', lineOf(noDest, 'weight: 100'));
    const tcp = virtualService('  hosts: [db]\n  tcp:\n    - match: [{ port: 5432 }]');
    expectIssue(vs(tcp).issues, 'error', 'vs-route-without-destination', lineOf(tcp, '- match'));
  });

  it('vs-weights-zero is an error; vs-weights-not-100 only a warning (current Istio splits in proportion)', () => {
    const zero = virtualService('  hosts: [reviews]\n  http:\n    - route:\n        - destination: { host: a }\n        - destination: { host: b }');
    expectIssue(vs(zero).issues, 'error', 'vs-weights-zero', lineOf(zero, 'route:'));
    const odd = virtualService('  hosts: [reviews]\n  http:\n    - route:\n        - { destination: { host: a }, weight: 60 }\n        - { destination: { host: b }, weight: 60 }');
    const { issues } = vs(odd);
    expect(issues.hasErrors()).toBe(false);
    expectIssue(issues, 'warning', 'vs-weights-not-100', lineOf(odd, 'route:'));
    const negative = virtualService('  hosts: [reviews]\n  http:\n    - route:\n        - destination: { host: a }\n          weight: -1');
    expectIssue(vs(negative).issues, 'error', 'vs-bad-weight', lineOf(negative, 'weight: -1'));
  });

  it('vs-bad-regex: regexes must be RE2 (no lookaround, no backreferences, must compile)', () => {
    for (const re of ['"/api/(unclosed"', '"(?!admin).*"', '"(a)\\\\1"']) {
      const text = virtualService(`  hosts: [reviews]\n  http:\n    - match:\n        - uri:\n            regex: ${re}\n      route: [{ destination: { host: a } }]`);
      expectIssue(vs(text).issues, 'error', 'vs-bad-regex', lineOf(text, 'regex:'));
    }
    const ok = virtualService('  hosts: [reviews]\n  http:\n    - match: [{ uri: { regex: "(?i)/API/v[0-9]+/.*" } }]\n      route: [{ destination: { host: a } }]');
    expect(vs(ok).issues.items).toEqual([]);
  });

  it('vs-redirect-and-route: redirect or directResponse cannot be combined with route (or rewrite, or each other)', () => {
    const text = virtualService('  hosts: [reviews]\n  http:\n    - redirect: { uri: /new }\n      route: [{ destination: { host: a } }]');
    expectIssue(vs(text).issues, 'error', 'vs-redirect-and-route', lineOf(text, 'redirect:'));
    const direct = virtualService('  hosts: [reviews]\n  http:\n    - route: [{ destination: { host: a } }]\n      directResponse: { status: 403 }');
    expectIssue(vs(direct).issues, 'error', 'vs-redirect-and-route', lineOf(direct, 'directResponse'));
  });

  it('vs-bad-redirect / vs-bad-rewrite / vs-bad-direct-response', () => {
    const text = virtualService(`  hosts: [reviews]
  http:
    - redirect: { uri: /x, redirectCode: 200 }
    - redirect: {}
    - rewrite: {}
      route: [{ destination: { host: a } }]
    - directResponse: { status: 99 }`);
    const { issues } = vs(text);
    expectIssue(issues, 'error', 'vs-bad-redirect', lineOf(text, 'redirectCode: 200'));
    expectIssue(issues, 'error', 'vs-bad-redirect', lineOf(text, 'redirect: {}'));
    expectIssue(issues, 'error', 'vs-bad-rewrite', lineOf(text, 'rewrite: {}'));
    expectIssue(issues, 'error', 'vs-bad-direct-response', lineOf(text, 'status: 99'));
  });

  it('vs-bad-host / vs-duplicate-host: `*` is not allowed on the mesh; hosts must not overlap', () => {
    const text = virtualService('  hosts: ["*"]\n  http: [{ route: [{ destination: { host: a } }] }]');
    expectIssue(vs(text).issues, 'error', 'vs-bad-host', lineOf(text, 'hosts:'));
    const atGw = virtualService('  hosts: ["*"]\n  gateways: [istio-system/gw]\n  http: [{ route: [{ destination: { host: a } }] }]');
    expect(vs(atGw).issues.items).toEqual([]);
    const dup = virtualService('  hosts:\n    - "*.example.com"\n    - shop.example.com\n  gateways: [gw]\n  http: [{ route: [{ destination: { host: a } }] }]');
    expectIssue(vs(dup).issues, 'error', 'vs-duplicate-host', lineOf(dup, 'shop.example.com'));
  });

  it('vs-bad-gateway / vs-legacy-gateway-name: gateway references are ns/name (legacy FQDN warned)', () => {
    const text = virtualService('  hosts: [a.example.com]\n  gateways:\n    - Istio_System/gw\n    - gw.istio-system.svc.cluster.local\n  http: [{ route: [{ destination: { host: a } }] }]');
    const { issues } = vs(text);
    expectIssue(issues, 'error', 'vs-bad-gateway', lineOf(text, 'Istio_System'));
    expectIssue(issues, 'warning', 'vs-legacy-gateway-name', lineOf(text, 'gw.istio-system'));
  });

  it('vs-jwt-claim-mesh: JWT claim routing is only for gateways', () => {
    const text = virtualService('  hosts: [reviews]\n  http:\n    - match:\n        - headers:\n            "@request.auth.claims.groups": { exact: admin }\n      route: [{ destination: { host: a } }]');
    expectIssue(vs(text).issues, 'error', 'vs-jwt-claim-mesh', lineOf(text, '@request.auth.claims'));
  });

  it('vs-empty-prefix: only uri may use an empty prefix', () => {
    const text = virtualService('  hosts: [reviews]\n  http:\n    - match:\n        - method: { prefix: "" }\n          uri: { prefix: "" }\n      route: [{ destination: { host: a } }]');
    const { issues } = vs(text);
    expectIssue(issues, 'error', 'vs-empty-prefix', lineOf(text, 'method:'));
    expect(issues.items.filter((i) => i.code === 'vs-empty-prefix')).toHaveLength(1);
  });

  it('vs-tls-no-sni / vs-sni-not-in-hosts: tls routes match SNI hosts within the VS hosts', () => {
    const text = virtualService(`  hosts: [shop.example.com]
  gateways: [istio-system/pass]
  tls:
    - match:
        - port: 443
        - sniHosts: [evil.example.org]
      route: [{ destination: { host: shop } }]`);
    const { issues } = vs(text);
    expectIssue(issues, 'error', 'vs-tls-no-sni', lineOf(text, 'port: 443'));
    expectIssue(issues, 'error', 'vs-sni-not-in-hosts', lineOf(text, 'evil.example.org'));
  });

  it('vs-bad-export-to: duplicates and `*` mixed with names are rejected', () => {
    const text = virtualService('  hosts: [reviews]\n  exportTo: [".", bookinfo]\n  http: [{ route: [{ destination: { host: a } }] }]');
    expectIssue(vs(text).issues, 'error', 'vs-bad-export-to', lineOf(text, 'exportTo'));
  });

  it('warnings: unreachable rules, and fields meshrange does not simulate (fault, mirror, delegate, header rewrites)', () => {
    const text = virtualService(`  hosts: [reviews]
  http:
    - route: [{ destination: { host: a } }]
      fault: { abort: { httpStatus: 403, percentage: { value: 100 } } }
      mirror: { host: b }
    - match: [{ uri: { prefix: /never } }]
      headers: { request: { set: { x-user: admin } } }
      route: [{ destination: { host: c } }]`);
    const { issues } = vs(text);
    expect(issues.hasErrors()).toBe(false);
    expectIssue(issues, 'warning', 'not-modeled', lineOf(text, 'fault:'));
    expectIssue(issues, 'warning', 'not-modeled', lineOf(text, 'mirror:'));
    expectIssue(issues, 'warning', 'not-modeled', lineOf(text, 'request:'));
    expectIssue(issues, 'warning', 'vs-unreachable-route', lineOf(text, '- match'));
  });

  it('warnings name what the simulation does instead: a destination\'s own header operations, a JWT claim match at a gateway (never matches); a delegate is followed, not warned', () => {
    const text = virtualService(`  hosts: [reviews]
  gateways: [gw]
  http:
    - match: [{ headers: { "@request.auth.claims.group": { exact: admin } } }]
      route: [{ destination: { host: a }, headers: { request: { set: { host: admin.internal } } } }]
    - delegate: { name: child }`);
    const { issues } = vs(text);
    expect(issues.hasErrors()).toBe(false);
    expectIssue(issues, 'warning', 'not-modeled', lineOf(text, 'headers: { request'));
    const messages = issues.warnings.filter((w) => w.code === 'not-modeled').map((w) => w.message).join('\n');
    expect(messages).toContain('meshrange never matches it');
    expect(messages).not.toContain('delegate');
    expect(vs(text).value?.http[1]?.delegate?.loc?.line).toBe(lineOf(text, '- delegate'));
    expect(messages).toContain('request header manipulation on a destination');
  });
});

describe('RE2 regexes', () => {
  it('RE2 regexes match the whole value; (?i), (?P<name>) and [[:digit:]] are RE2 syntax', () => {
    const full = compileRe2('/api/.*');
    expect(typeof full !== 'string' && full.matches('/api/x')).toBe(true);
    expect(typeof full !== 'string' && full.matches('/x/api/x')).toBe(false);
    const flags = compileRe2('(?i)/(?P<v>v[[:digit:]]+)');
    expect(typeof flags !== 'string' && flags.matches('/V12')).toBe(true);
    expect(compileRe2('(?<=a)b')).toMatch(/not a valid RE2 regular expression/);
  });

  it('a VirtualService regex with a backreference or a lookahead is refused at its location, as Istio validation does', () => {
    for (const bad of ['(a)\\1', '/(?=x)y']) {
      const text = virtualService(`  hosts: [a]\n  http:\n    - match:\n        - uri: { regex: '${bad}' }\n      route: [{ destination: { host: a } }]`);
      expect(found(vs(text).issues)).toEqual([`error:vs-bad-regex@${lineOf(text, 'regex')}`]);
    }
  });
});

describe('istioctl analyze (§13)', () => {
  const pod = (labels: Record<string, string>): Workload => ({
    kind: 'Deployment', id: 'istio-system/ingress', namespace: 'istio-system', name: 'ingress', labels, annotations: {}, serviceAccount: 'ingress',
    ports: [], sidecar: false, sidecarReason: '', gateway: true, hostNetwork: false, ip: '10.0.0.2', loc: { file: 'x.yaml', line: 1, col: 1 }, sim: {},
  });
  const gwText = gateway('    - port: { number: 80, name: http, protocol: HTTP }\n      hosts: ["shop.example.com"]');

  it('IST0101: a VirtualService naming a gateway that does not exist, at the gateways entry', () => {
    const vsText = virtualService('  hosts: [shop.example.com]\n  gateways:\n    - istio-system/gw\n    - istio-system/missing\n  http: [{ route: [{ destination: { host: a } }] }]');
    const g = gw(gwText).value;
    const v = vs(vsText).value;
    if (!g || !v) throw new Error('unreadable');
    const issues = new IssueList();
    analyzeRouting([g], [v], [pod({ istio: 'ingressgateway' })], issues);
    expect(found(issues)).toEqual([`warning:IST0101@${lineOf(vsText, 'missing')}`]);
    expect(issues.items[0]?.message).toContain('Referenced gateway not found: "istio-system/missing"');
  });

  it('IST0101: a Gateway whose selector matches no pod; IST0132: a VS host the bound Gateway does not serve', () => {
    const vsText = virtualService('  hosts: [blog.example.com]\n  gateways: [istio-system/gw]\n  http: [{ route: [{ destination: { host: a } }] }]');
    const g = gw(gwText).value;
    const v = vs(vsText).value;
    if (!g || !v) throw new Error('unreadable');
    const issues = new IssueList();
    analyzeRouting([g], [v], [pod({ istio: 'egressgateway' })], issues);
    expect(issues.items.map((i) => i.code)).toEqual(['IST0101', 'IST0132']);
    expect(issues.items[0]?.message).toContain('Referenced selector not found: "istio=ingressgateway"');
  });
});

describe('VirtualService: retries and timeout (§3 step 7, §14)', () => {
  const route = (extra: string): string => virtualService(`  hosts: [reviews]\n  http:\n    - route: [{ destination: { host: reviews } }]\n${extra}`);

  it('§3 retries merge over Istio\'s default as ConvertPolicy does: attempts replace 2, retryOn codes become retriable status codes', () => {
    const { value, issues } = vs(route('      retries: { attempts: 3, retryOn: "5xx,429", perTryTimeout: 2s }\n      timeout: 10s'));
    expect(issues.items).toEqual([]);
    expect(value?.http[0]?.retries).toEqual({ attempts: 3, retryOn: ['5xx', 'retriable-status-codes'], retriableStatusCodes: [429], perTryTimeoutMs: 2000, backoffMs: 25 });
    expect(value?.http[0]?.timeoutMs).toBe(10_000);
  });

  it('§3 retries without retryOn keep the default conditions and 503; backoff sets the back-off base', () => {
    const { value } = vs(route('      retries: { attempts: 1, backoff: 100ms }'));
    expect(value?.http[0]?.retries).toEqual({ attempts: 1, retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'], retriableStatusCodes: [503], backoffMs: 100 });
    expect(value?.http[0]?.timeoutMs).toBeUndefined();
  });

  it('§14 vs-bad-retry: negative attempts, a policy with attempts 0, an unknown or spaced retryOn value', () => {
    const neg = route('      retries: { attempts: -1 }');
    expectIssue(vs(neg).issues, 'error', 'vs-bad-retry', lineOf(neg, 'retries:'));
    const zero = route('      retries:\n        attempts: 0\n        retryOn: 5xx');
    expectIssue(vs(zero).issues, 'error', 'vs-bad-retry', lineOf(zero, 'retries:'));
    const unknown = route('      retries:\n        attempts: 2\n        retryOn: "5xx,teapot"');
    expectIssue(vs(unknown).issues, 'error', 'vs-bad-retry', lineOf(unknown, 'retryOn:'));
    const spaced = route('      retries:\n        attempts: 2\n        retryOn: "5xx, reset"');
    expectIssue(vs(spaced).issues, 'error', 'vs-bad-retry', lineOf(spaced, 'retryOn:'));
    expect(vs(route('      retries: { attempts: 0 }')).issues.items).toEqual([]);
  });

  it('§14 vs-bad-duration: a timeout or perTryTimeout below 1 ms, not whole ms, or not a duration', () => {
    for (const bad of ['0s', '500us', '1.5ms', 'soon']) {
      const text = route(`      timeout: ${bad}`);
      expectIssue(vs(text).issues, 'error', 'vs-bad-duration', lineOf(text, 'timeout:'));
    }
    const perTry = route('      retries:\n        attempts: 1\n        perTryTimeout: 0s');
    expectIssue(vs(perTry).issues, 'error', 'vs-bad-duration', lineOf(perTry, 'perTryTimeout:'));
  });
});
