/**
 * Strict field validation for Gateway, VirtualService and DestinationRule
 * (istio-semantics §14): as kubectl's strict decoding refuses a key the CRD
 * schema does not have, a misspelt field is an `unknown-field` error at that
 * key, with a hint, never a field silently read as absent. The shipped corpus
 * loads without one.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareFile } from '../../src/api/run.js';
import { FsSource, listYamlFiles, Sandbox } from '../../src/cli/fs.js';
import type { Issue } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { looksLikeScenario } from '../../src/scenario/load.js';

const root = path.resolve(__dirname, '../..');

/** Every issue of loading `text` as one file. */
function load(text: string): Issue[] {
  return loadMesh([{ path: 'm.yaml', text }]).issues.items;
}

/** The unknown-field errors of loading `text`, as `line:message-tail | hint`. */
function unknown(text: string): { line: number | undefined; col: number | undefined; key: string; hint: string | undefined }[] {
  return load(text).filter((i) => i.code === 'unknown-field').map((i) => ({
    line: i.loc?.line, col: i.loc?.col, key: /unknown field "([^"]*)"/.exec(i.message)?.[1] ?? '', hint: i.hint,
  }));
}

/** 1-based line of the first line containing `needle`. */
function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`"${needle}" not in text`);
  return i + 1;
}

/** The one unknown-field error of `text` is for `key`, on the line holding `needle` (default `key:`), with `hint` in its hint. */
function expectOne(text: string, key: string, hint: string, needle = `${key}:`): void {
  const u = unknown(text);
  expect(u, JSON.stringify(load(text).map((i) => [i.code, i.message]))).toHaveLength(1);
  expect(u[0]?.key).toBe(key);
  expect(u[0]?.line).toBe(lineOf(text, needle));
  expect(u[0]?.hint).toContain(hint);
}

const gateway = (spec: string): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
${spec}`;

const SERVER = `  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ["*"]
`;

const vs = (http: string, extra = ''): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r, namespace: default }
spec:
  hosts: [reviews]
${extra}  http:
${http}`;

const dr = (spec: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: d, namespace: default }
spec:
  host: reviews
${spec}`;

describe('Gateway: unknown fields', () => {
  it('a Gateway with an unknown field `selectr` is refused at that key, with a did-you-mean hint (it would bind every gateway pod)', () => {
    const text = gateway(`  selectr: { istio: ingressgateway }\n${SERVER}`);
    expectOne(text, 'selectr', 'did you mean selector?');
    expect(unknown(text)[0]?.col).toBe(3);
  });

  it('a server with an unknown field is refused at its key; every Server field of the API (name, bind, defaultEndpoint) is taken', () => {
    expectOne(gateway(`  selector: { istio: ingressgateway }\n${SERVER}    host: ["a.example.com"]\n`), 'host', 'did you mean hosts?', '    host:');
    expect(unknown(gateway(`  selector: { istio: ingressgateway }\n${SERVER}    name: web\n    bind: 0.0.0.0\n    defaultEndpoint: 127.0.0.1:8080\n`))).toEqual([]);
  });

  it('a server port with an unknown field is refused; targetPort keeps its own gw-bad-port error and is not reported twice', () => {
    expectOne(gateway(`  selector: { istio: ingressgateway }\n  servers:\n  - port: { number: 80, name: http, protocl: HTTP }\n    hosts: ["*"]\n`), 'protocl', 'did you mean protocol?', 'protocl');
    const issues = load(gateway(`  selector: { istio: ingressgateway }\n  servers:\n  - port: { number: 80, name: http, protocol: HTTP, targetPort: 8080 }\n    hosts: ["*"]\n`));
    expect(issues.filter((i) => i.code === 'unknown-field')).toEqual([]);
    expect(issues.map((i) => i.code)).toContain('gw-bad-port');
  });

  it('server tls and its tlsCertificates entries refuse unknown fields; every ServerTLSSettings field is taken', () => {
    const tls = (body: string): string => gateway(`  selector: { istio: ingressgateway }\n  servers:\n  - port: { number: 443, name: https, protocol: HTTPS }\n    hosts: ["*"]\n    tls:\n${body}`);
    expectOne(tls('      mode: SIMPLE\n      credentialNme: cert\n'), 'credentialNme', 'did you mean credentialName?');
    expectOne(tls('      mode: SIMPLE\n      tlsCertificates:\n      - serverCertificate: /c.pem\n        privatekey: /k.pem\n'), 'privatekey', 'did you mean privateKey?');
    expectOne(tls('      mode: SIMPLE\n      credential_name: cert\n'), 'credential_name', 'did you mean credentialName?');
    expect(unknown(tls(`      mode: MUTUAL
      credentialName: cert
      caCertCredentialName: ca
      caCrl: /crl.pem
      subjectAltNames: [a]
      verifyCertificateSpki: [x]
      verifyCertificateHash: [y]
      minProtocolVersion: TLSV1_2
      maxProtocolVersion: TLSV1_3
      cipherSuites: [ECDHE-RSA-AES256-GCM-SHA384]
`))).toEqual([]);
  });
});

describe('VirtualService: unknown fields', () => {
  const route = '  - route:\n    - destination: { host: reviews }\n';
  /** The rest of an http route after its first line: a destination. */
  const tail = '    route:\n    - destination: { host: reviews }\n';

  it('a VirtualService with `gatways` is refused at that key (it would bind to the mesh only), with a did-you-mean hint', () => {
    expectOne(vs(route, '  gatways: [istio-system/gw]\n'), 'gatways', 'did you mean gateways?');
  });

  it('an http route with an unknown field is refused; snake_case names are refused with the camelCase one as hint', () => {
    expectOne(vs(`  - retires: { attempts: 3 }\n    route:\n    - destination: { host: reviews }\n`), 'retires', 'did you mean retries?');
    expectOne(vs(`  - mirror_percentage: { value: 5 }\n    route:\n    - destination: { host: reviews }\n`), 'mirror_percentage', 'did you mean mirrorPercentage?');
  });

  it('every HTTPRoute field of the API is taken, deprecated ones too (mirrorPercent, mirror_percent, allowOrigin)', () => {
    const text = vs(`  - name: all
    match:
    - name: m
      uri: { prefix: /a }
      scheme: { exact: https }
      method: { exact: GET }
      authority: { exact: a.example.com }
      headers: { x-a: { exact: "1" } }
      queryParams: { q: { regex: "v.*" } }
      withoutHeaders: { x-b: {} }
      ignoreUriCase: true
      sourceNamespace: default
      statPrefix: stats
    route:
    - destination: { host: reviews, subset: v1, port: { number: 9080 } }
      weight: 100
      headers:
        request: { set: { a: b }, add: { c: d }, remove: [e] }
        response: { set: { a: b } }
    timeout: 5s
    retries: { attempts: 2, perTryTimeout: 1s, retryOn: 5xx, retryRemoteLocalities: true, retryIgnorePreviousHosts: true, backoff: 25ms }
    fault:
      delay: { fixedDelay: 1s, percentage: { value: 10 } }
      abort: { httpStatus: 503, percentage: { value: 1 } }
    mirrors:
    - destination: { host: ratings, port: { number: 9080 } }
      percentage: { value: 5 }
    corsPolicy:
      allowOrigin: ["https://a.example.com"]
      allowOrigins: [{ exact: "https://a.example.com" }]
      allowMethods: [GET]
      allowHeaders: [x-a]
      exposeHeaders: [x-b]
      maxAge: 24h
      allowCredentials: true
      unmatchedPreflights: FORWARD
    headers:
      request: { set: { a: b } }
      response: { remove: [x] }
  - mirror: { host: ratings, subset: v1 }
    mirrorPercentage: { value: 50 }
    route:
    - destination: { host: reviews }
  - mirror: { host: ratings }
    mirrorPercent: 50
    route:
    - destination: { host: reviews }
  - mirror: { host: ratings }
    mirror_percent: 50
    route:
    - destination: { host: reviews }
`);
    expect(unknown(text)).toEqual([]);
  });

  it('an http match and a string match refuse unknown fields (a misspelt match would match everything)', () => {
    expectOne(vs(`  - match:\n    - ur: { prefix: /api }\n    route:\n    - destination: { host: reviews }\n`), 'ur', 'did you mean uri?');
    expectOne(vs(`  - match:\n    - uri: { prefx: /api }\n    route:\n    - destination: { host: reviews }\n`), 'prefx', 'did you mean prefix?');
    expectOne(vs(`  - match:\n    - headers: { x-a: { Exact: "1" } }\n    route:\n    - destination: { host: reviews }\n`), 'Exact', 'did you mean exact?');
  });

  it('a route destination, its destination, port selector and headers refuse unknown fields', () => {
    expectOne(vs(`  - route:\n    - destination: { host: reviews }\n      wieght: 100\n`), 'wieght', 'did you mean weight?');
    expectOne(vs(`  - route:\n    - destination: { host: reviews, subsets: v1 }\n`), 'subsets', 'did you mean subset?');
    expectOne(vs(`  - route:\n    - destination: { host: reviews, port: { numbr: 9080 } }\n`), 'numbr', 'did you mean number?');
    expectOne(vs(`  - route:\n    - destination: { host: reviews }\n      headers: { requests: { set: { a: b } } }\n`), 'requests', 'did you mean request?');
    expectOne(vs(`  - route:\n    - destination: { host: reviews }\n      headers: { response: { delete: [a] } }\n`), 'delete', 'valid fields here: set, add, remove');
  });

  it('redirect, rewrite (and its uriRegexRewrite), retries, delegate and directResponse (and its body) refuse unknown fields', () => {
    expectOne(vs(`  - redirect: { uri: /b, code: 301 }\n`), 'code', 'valid fields here:');
    expectOne(vs(`  - rewrite: { URI: /b }\n${tail}`), 'URI', 'did you mean uri?');
    expectOne(vs(`  - rewrite: { uriRegexRewrite: { match: "^/a", rewrte: /b } }\n${tail}`), 'rewrte', 'did you mean rewrite?');
    expectOne(vs(`  - retries: { attempts: 2, retry_on: 5xx }\n${tail}`), 'retry_on', 'did you mean retryOn?');
    expectOne(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: root, namespace: default }
spec:
  hosts: [reviews]
  http:
  - delegate: { name: child, namepsace: default }
`, 'namepsace', 'did you mean namespace?', 'namepsace');
    expectOne(vs(`  - directResponse: { status: 503, body: { text: down } }\n`), 'text', 'valid fields here: string, bytes');
    expectOne(vs(`  - directResponse: { code: 503 }\n`), 'code', 'valid fields here: status, body');
  });

  it('fault (delay, abort, their percentage), mirror(s) and corsPolicy refuse unknown fields though they are not simulated', () => {
    expectOne(vs(`  - fault: { delay: { fixedDelay: 1s, percentage: { val: 10 } } }\n${tail}`), 'val', 'valid fields here: value');
    expectOne(vs(`  - fault: { abort: { status: 503 } }\n${tail}`), 'status', 'valid fields here:');
    expectOne(vs(`  - fault: { delays: { fixedDelay: 1s } }\n${tail}`), 'delays', 'did you mean delay?');
    expectOne(vs(`  - mirror: { hostname: ratings }\n${tail}`), 'hostname', 'valid fields here: host, subset, port');
    expectOne(vs(`  - mirrors: [{ destination: { host: ratings }, percent: { value: 5 } }]\n${tail}`), 'percent', 'valid fields here: destination, percentage');
    expectOne(vs(`  - corsPolicy: { allowOrigins: [{ exact: a }], allowMethod: [GET] }\n${tail}`), 'allowMethod', 'did you mean allowMethods?');
    expectOne(vs(`  - corsPolicy: { allowOrigins: [{ suffix: a }] }\n${tail}`), 'suffix', 'valid fields here: exact, prefix, regex');
  });

  it('tls routes and their sniHosts matches, tcp routes and their L4 matches refuse unknown fields; each kind takes its own', () => {
    const l4 = (body: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r, namespace: default }
spec:
  hosts: [a.example.com]
${body}`;
    expectOne(l4('  tls:\n  - match: [{ sniHost: [a.example.com] }]\n    route: [{ destination: { host: a.example.com } }]\n'), 'sniHost', 'did you mean sniHosts?', 'sniHost');
    expectOne(l4('  tls:\n  - match: [{ sniHosts: [a.example.com] }]\n    routes: [{ destination: { host: a.example.com } }]\n'), 'routes', 'did you mean route?');
    expectOne(l4('  tcp:\n  - match: [{ port: 5432, sourceSubnets: [10.0.0.0/8] }]\n    route: [{ destination: { host: a.example.com } }]\n'), 'sourceSubnets', 'did you mean sourceSubnet?', 'sourceSubnets');
    // a TCP/TLS route destination is a RouteDestination: no headers
    expectOne(l4('  tcp:\n  - route:\n    - destination: { host: a.example.com }\n      headers: { request: { set: { a: b } } }\n'), 'headers', 'valid fields here: destination, weight');
    // sniHosts belongs to TLS matches only
    expectOne(l4('  tcp:\n  - match: [{ sniHosts: [a.example.com] }]\n    route: [{ destination: { host: a.example.com } }]\n'), 'sniHosts', 'valid fields here:', 'sniHosts');
    expect(unknown(l4(`  tls:
  - match: [{ sniHosts: [a.example.com], destinationSubnets: [10.0.0.0/8], port: 443, sourceLabels: { app: a }, sourceNamespace: default }]
    route: [{ destination: { host: a.example.com, port: { number: 443 } }, weight: 100 }]
  tcp:
  - match: [{ destinationSubnets: [10.0.0.0/8], port: 5432, sourceSubnet: 10.0.0.0/8, sourceLabels: { app: a }, sourceNamespace: default }]
    route: [{ destination: { host: a.example.com }, weight: 100 }]
`))).toEqual([]);
  });
});

describe('DestinationRule: unknown fields outside trafficPolicy', () => {
  it('a DestinationRule spec with an unknown field is refused at its key', () => {
    expectOne(dr('  subset:\n  - name: v1\n    labels: { version: v1 }\n'), 'subset', 'did you mean subsets?');
    expectOne(dr('  workloadSelector: { labels: { app: a } }\n'), 'labels', 'valid fields here: matchLabels');
  });

  it('a subset with `label:` is refused at that key (it would select every pod of the host), with a did-you-mean hint', () => {
    expectOne(dr('  subsets:\n  - name: v1\n    label: { version: v1 }\n'), 'label', 'did you mean labels?');
  });

  it('client tls refuses unknown fields at every level, snake_case included; every ClientTLSSettings field is taken', () => {
    expectOne(dr('  trafficPolicy:\n    tls: { mode: SIMPLE, sni_name: a }\n'), 'sni_name', 'valid fields here:');
    expectOne(dr('  trafficPolicy:\n    tls: { mode: MUTUAL, client_certificate: /c.pem }\n'), 'client_certificate', 'did you mean clientCertificate?');
    expectOne(dr('  subsets:\n  - name: v1\n    labels: { version: v1 }\n    trafficPolicy:\n      tls: { mode: SIMPLE, sans: [a] }\n'), 'sans', 'valid fields here:');
    expectOne(dr('  trafficPolicy:\n    portLevelSettings:\n    - port: { number: 80 }\n      tls: { mode: SIMPLE, caFile: x }\n'), 'caFile', 'valid fields here:');
    expect(unknown(dr(`  trafficPolicy:
    tls: { mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem, subjectAltNames: [a], sni: a, insecureSkipVerify: false, caCrl: /crl.pem }
`))).toEqual([]);
    expect(unknown(dr('  trafficPolicy:\n    tls: { mode: SIMPLE, credentialName: secret }\n'))).toEqual([]);
  });

  it('loadBalancer (consistentHash, httpCookie, localityLbSetting, warmup), tunnel, proxyProtocol, retryBudget and a port selector refuse unknown fields', () => {
    expectOne(dr('  trafficPolicy:\n    loadBalancer: { simple: ROUND_ROBIN, warmupDuration: 10s }\n'), 'warmupDuration', 'valid fields here:');
    expectOne(dr('  trafficPolicy:\n    loadBalancer: { consistentHash: { httpHeader: x-user } }\n'), 'httpHeader', 'valid fields here:');
    expectOne(dr('  trafficPolicy:\n    loadBalancer: { consistentHash: { httpCookie: { name: c, ttl: 0s, attributes: [{ name: a, val: b }] } } }\n'), 'val', 'valid fields here: name, value');
    expectOne(dr('  trafficPolicy:\n    loadBalancer: { localityLbSetting: { enabled: true, failover: [{ from: a, too: b }] } }\n'), 'too', 'did you mean to?');
    expectOne(dr('  trafficPolicy:\n    tunnel: { protocol: CONNECT, targetHost: a, port: 1 }\n'), 'port', 'valid fields here: protocol, targetHost, targetPort');
    expectOne(dr('  trafficPolicy:\n    proxyProtocol: { versions: V1 }\n'), 'versions', 'did you mean version?');
    expectOne(dr('  trafficPolicy:\n    retryBudget: { percentage: 20 }\n'), 'percentage', 'valid fields here: percent, minRetryConcurrency');
    expectOne(dr('  trafficPolicy:\n    portLevelSettings:\n    - port: { number: 80, name: http }\n      tls: { mode: DISABLE }\n'), 'name', 'valid fields here: number', 'port:');
    expect(unknown(dr(`  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpCookie: { name: c, path: /, ttl: 0s, attributes: [{ name: a, value: b }] }
        ringHash: { minimumRingSize: 1024 }
      localityLbSetting:
        enabled: true
        distribute: [{ from: a/*, to: { "a/*": 100 } }]
        failoverPriority: [topology.kubernetes.io/region]
      warmup: { duration: 10s, minimumPercent: 10, aggression: 1 }
    portLevelSettings:
    - port: { number: 80 }
      loadBalancer: { consistentHash: { maglev: { tableSize: 65537 }, useSourceIp: true } }
  subsets:
  - name: v1
    labels: { version: v1 }
    trafficPolicy:
      loadBalancer: { simple: LEAST_REQUEST, warmupDurationSecs: 10s }
`))).toEqual([]);
  });
});

describe('the shipped corpus has no unknown field', () => {
  const manifestDirs = ['scenarios', 'exercises', 'examples'].map((d) => path.join(root, d));
  const manifests = manifestDirs.flatMap((d) => listYamlFiles(d)).filter((f) => !looksLikeScenario(readFileSync(f, 'utf8')));
  const scenarios = listYamlFiles(path.join(root, 'scenarios')).filter((f) => looksLikeScenario(readFileSync(f, 'utf8')));

  it('every shipped manifest file (scenarios/meshes, exercises, examples) loads without an unknown-field error', () => {
    expect(manifests.filter((f) => f.includes(`${path.sep}meshes${path.sep}`)).length).toBeGreaterThan(10);
    const bad = manifests.flatMap((f) => loadMesh([{ path: path.relative(root, f), text: readFileSync(f, 'utf8') }]).issues.items
      .filter((i) => i.code === 'unknown-field').map((i) => `${path.relative(root, f)}:${i.loc?.line ?? '?'} ${i.message}`));
    expect(bad).toEqual([]);
  });

  it('every shipped scenario loads the manifests it names without an unknown-field error', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(50);
    const bad = scenarios.flatMap((f) => {
      const p = prepareFile(path.relative(process.cwd(), f), new FsSource(Sandbox.forCwd([])));
      return [...p.before, ...p.after].filter((i) => i.code === 'unknown-field').map((i) => `${path.relative(root, f)}: ${i.message}`);
    });
    expect(bad).toEqual([]);
  });
});

describe('the workload selector of AuthorizationPolicy, PeerAuthentication, RequestAuthentication and ProxyConfig takes matchLabels only', () => {
  const kinds: [string, string, string][] = [
    ['security.istio.io/v1', 'AuthorizationPolicy', '  action: ALLOW\n  rules: [{}]\n'],
    ['security.istio.io/v1', 'PeerAuthentication', '  mtls: { mode: STRICT }\n'],
    ['security.istio.io/v1', 'RequestAuthentication', ''],
    ['networking.istio.io/v1beta1', 'ProxyConfig', '  concurrency: 2\n'],
  ];
  for (const [apiVersion, kind, rest] of kinds) {
    it(`${kind}: a matchExpressions selector (which would leave it empty: namespace-wide) is an unknown-field error`, () => {
      const text = `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: { name: p, namespace: a }\nspec:\n  selector:\n    matchExpressions: [{ key: app, operator: In, values: [api] }]\n${rest}`;
      expectOne(text, 'matchExpressions', 'matchLabels only');
    });
    it(`${kind}: a misspelt matchLabel is an unknown-field error suggesting matchLabels`, () => {
      const text = `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: { name: p, namespace: a }\nspec:\n  selector:\n    matchLabel: { app: api }\n${rest}`;
      expectOne(text, 'matchLabel', 'did you mean matchLabels?');
    });
  }
});
