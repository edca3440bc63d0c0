/**
 * One describe per lint rule (src/lint/rules): each test states the rule it
 * pins, with a mesh that has the problem and one that does not.
 */
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/lint/index.js';
import { loadMesh } from '../../src/loader/load.js';
import { respellings } from '../../src/lint/rules/MR0106-deny-path-bypass.js';
import { app, gatewayPod as ingressPod, meshFrom, ns, pa } from '../helpers.js';

function codes(code: string, ...docs: string[]): string[] {
  return lint(meshFrom(...docs), { only: [code] }).findings.map((f) => f.message);
}

const ap = (namespace: string, name: string, body: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${body}`;

/** A gateway proxy Deployment (proxyv2, `router`) labelled `istio: <label>`. */
const gatewayPod = (namespace: string, name: string, label: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  selector: { matchLabels: { istio: ${label} } }
  template:
    metadata: { labels: { istio: ${label} } }
    spec: { containers: [{ name: istio-proxy, image: docker.io/istio/proxyv2:1.24.0, args: [proxy, router] }] }
`;

const legacyClient = `apiVersion: apps/v1
kind: Deployment
metadata: { name: batch, namespace: legacy }
spec:
  selector: { matchLabels: { app: batch } }
  template:
    metadata: { labels: { app: batch } }
    spec: { serviceAccountName: batch, containers: [{ name: batch, image: b }] }
`;

describe('MR0101 permissive-with-sidecar-clients (§4, §2)', () => {
  it('a PERMISSIVE PeerAuthentication where every workload has a sidecar is a warning on that policy', () => {
    const r = lint(meshFrom(ns('a', true), app('a', 'web'), pa('a', 'default', 'PERMISSIVE')), { only: ['MR0101'] });
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ severity: 'warning', resource: 'PeerAuthentication a/default' });
    expect(r.findings[0]?.message).toContain('a/web:8080');
  });
  it('the PERMISSIVE default (no PeerAuthentication) is an info finding on the namespace', () => {
    const r = lint(meshFrom(ns('a', true), app('a', 'web')), { only: ['MR0101'] });
    expect(r.findings.map((f) => [f.severity, f.resource])).toEqual([['info', 'Namespace a']]);
  });
  it('a sidecar-less workload that reaches the port in plaintext keeps PERMISSIVE unreported (STRICT would break it)', () => {
    expect(codes('MR0101', ns('a', true), ns('legacy', false), app('a', 'web'), legacyClient, pa('a', 'default', 'PERMISSIVE'))).toEqual([]);
  });
  it('a plaintext client already refused by a DENY on notPrincipals does not count: PERMISSIVE is reported', () => {
    const deny = ap('a', 'deny-plaintext', '  action: DENY\n  rules: [{ from: [{ source: { notPrincipals: ["*"] } }] }]\n');
    expect(codes('MR0101', ns('a', true), ns('legacy', false), app('a', 'web'), legacyClient, pa('a', 'default', 'PERMISSIVE'), deny)).toHaveLength(1);
  });
  it('an ALLOW rule a plaintext client can meet (a header) counts as a way in: not reported', () => {
    const allow = ap('a', 'by-header', '  action: ALLOW\n  rules: [{ when: [{ key: "request.headers[x-k]", values: ["v"] }] }]\n');
    expect(codes('MR0101', ns('a', true), ns('legacy', false), app('a', 'web'), legacyClient, pa('a', 'default', 'PERMISSIVE'), allow)).toEqual([]);
  });
  it('a DENY on a request field (a method) does not stop every plaintext request: not reported', () => {
    const deny = ap('a', 'deny-get', '  action: DENY\n  rules: [{ to: [{ operation: { methods: ["GET"] } }] }]\n');
    expect(codes('MR0101', ns('a', true), ns('legacy', false), app('a', 'web'), legacyClient, pa('a', 'default', 'PERMISSIVE'), deny)).toEqual([]);
  });
  it('STRICT is not reported', () => {
    expect(codes('MR0101', ns('a', true), app('a', 'web'), pa('a', 'default', 'STRICT'))).toEqual([]);
  });
});

describe('MR0102 selects-nothing (§6.1, §4, §7)', () => {
  it('an AuthorizationPolicy selector matching no pod is reported', () => {
    expect(codes('MR0102', ns('a', true), app('a', 'web'), ap('a', 'p', '  selector: { matchLabels: { app: wbe } }\n  action: ALLOW\n  rules: [{}]\n'))).toHaveLength(1);
  });
  it('a PeerAuthentication and a RequestAuthentication selecting no pod are reported', () => {
    const ra = 'apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: { name: r, namespace: a }\nspec:\n  selector: { matchLabels: { app: nope } }\n  jwtRules: [{ issuer: "https://i", jwksUri: "https://i/jwks" }]\n';
    const msgs = codes('MR0102', ns('a', true), app('a', 'web'), pa('a', 'p', 'STRICT', '  selector: { matchLabels: { app: nope } }\n'), ra);
    expect(msgs.map((m) => m.split(' ')[0])).toEqual(['PeerAuthentication', 'RequestAuthentication']);
  });
  it('a targetRef to a Service that does not exist is reported', () => {
    expect(codes('MR0102', ns('a', true), app('a', 'web'), ap('a', 'p', '  targetRefs: [{ kind: Service, group: "", name: nope }]\n  action: ALLOW\n  rules: [{}]\n'))[0]).toContain('targetRef Service a/nope');
  });
  it('a root-namespace policy whose selector matches a pod in any namespace is not reported', () => {
    expect(codes('MR0102', ns('a', true), ns('istio-system', false), app('a', 'web'), ap('istio-system', 'p', '  selector: { matchLabels: { app: web } }\n  action: ALLOW\n  rules: [{}]\n'))).toEqual([]);
  });
});

describe('MR0103 identity-rule-on-plaintext-port (§6.5, §4)', () => {
  const byPrincipal = (action: string): string => ap('a', 'p', `  selector: { matchLabels: { app: web } }\n  action: ${action}\n  rules: [{ from: [{ source: { principals: ["cluster.local/ns/a/sa/x"] } }] }]\n`);
  it('an ALLOW by principal on a PERMISSIVE port is a warning', () => {
    const r = lint(meshFrom(ns('a', true), app('a', 'web'), byPrincipal('ALLOW')), { only: ['MR0103'] });
    expect(r.findings.map((f) => f.severity)).toEqual(['warning']);
  });
  it('an ALLOW by principal on a DISABLE port is an error: it never matches', () => {
    const r = lint(meshFrom(ns('a', true), app('a', 'web'), pa('a', 'd', 'DISABLE'), byPrincipal('ALLOW')), { only: ['MR0103'] });
    expect(r.findings.map((f) => f.severity)).toEqual(['error']);
    expect(r.findings[0]?.message).toContain('never matches');
  });
  it('a DENY by principal on a PERMISSIVE port is reported: plaintext gets around it', () => {
    expect(codes('MR0103', ns('a', true), app('a', 'web'), byPrincipal('DENY'))[0]).toContain('get around this DENY');
  });
  it('the same rule on a STRICT port is not reported', () => {
    expect(codes('MR0103', ns('a', true), app('a', 'web'), pa('a', 'd', 'STRICT'), byPrincipal('ALLOW'))).toEqual([]);
  });
  it('a negative identity field (notPrincipals) is not an identity requirement', () => {
    expect(codes('MR0103', ns('a', true), app('a', 'web'), ap('a', 'p', '  action: DENY\n  rules: [{ from: [{ source: { notPrincipals: ["*"] } }] }]\n'))).toEqual([]);
  });
});

describe('MR0104 header-identity (§6.7)', () => {
  it('an ALLOW on request.headers[...] values is reported as spoofable', () => {
    expect(codes('MR0104', ns('a', true), app('a', 'web'), ap('a', 'p', '  action: ALLOW\n  rules: [{ when: [{ key: "request.headers[x-user]", values: ["admin"] }] }]\n'))[0]).toContain('header x-user');
  });
  it('"an ALLOW on request.experimental.inline.headers[...] values is reported as spoofable too", and MR0119 leaves it to MR0104', () => {
    const inline = ap('a', 'p', '  selector: { matchLabels: { app: web } }\n  action: ALLOW\n  rules: [{ when: [{ key: "request.experimental.inline.headers[x-user]", values: ["admin"] }] }]\n');
    expect(codes('MR0104', ns('a', true), app('a', 'web'), inline)[0]).toContain('header x-user');
    expect(codes('MR0119', ns('a', true), app('a', 'web'), inline)).toEqual([]);
  });
  it('X-Forwarded-Client-Cert, which the sidecar writes itself, is not reported', () => {
    expect(codes('MR0104', ns('a', true), app('a', 'web'), ap('a', 'p', '  action: ALLOW\n  rules: [{ when: [{ key: "request.headers[X-Forwarded-Client-Cert]", values: ["*"] }] }]\n'))).toEqual([]);
  });
  it('x-envoy-external-address on a gateway that trusts no proxy in front is the peer Envoy saw: not reported; on a workload, or with numTrustedProxies > 0, it is', () => {
    const rule = (sel: string): string => ap('istio-system', 'by-address', `  selector: { matchLabels: { ${sel} } }\n  action: ALLOW\n  rules: [{ when: [{ key: "request.headers[x-envoy-external-address]", values: ["203.0.113.10"] }] }]\n`);
    const gw = gatewayPod('istio-system', 'ingress', 'ingressgateway');
    expect(codes('MR0104', ns('istio-system', false), gw, rule('istio: ingressgateway'))).toEqual([]);
    expect(codes('MR0104', ns('a', true), app('a', 'web'), ap('a', 'p', '  action: ALLOW\n  rules: [{ when: [{ key: "request.headers[x-envoy-external-address]", values: ["203.0.113.10"] }] }]\n'))).toHaveLength(1);
    const trusting = `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    defaultConfig:
      gatewayTopology: { numTrustedProxies: 1 }
`;
    expect(codes('MR0104', ns('istio-system', false), trusting, gw, rule('istio: ingressgateway'))).toHaveLength(1);
  });
  it('a header condition in a rule that also requires a peer principal only narrows that identity: not reported', () => {
    expect(codes('MR0104', ns('a', true), app('a', 'web'),
      ap('a', 'p', '  action: ALLOW\n  rules: [{ from: [{ source: { principals: ["cluster.local/ns/a/sa/x"] } }], when: [{ key: "request.headers[x-user]", values: ["admin"] }] }]\n'))).toEqual([]);
  });
  it('a header every selected proxy strips before its filters (x-envoy-retry-on) is not spoofable but never met: reported as an error, identity or not', () => {
    const f = lint(meshFrom(ns('a', true), app('a', 'web'), ap('a', 'p', '  action: ALLOW\n  rules: [{ when: [{ key: "request.headers[X-Envoy-Retry-On]", values: ["5xx"] }] }]\n')), { only: ['MR0104'] }).findings;
    expect(f).toHaveLength(1);
    expect(f[0]?.severity).toBe('error');
    expect(f[0]?.message).toBe('AuthorizationPolicy a/p rule 0 (ALLOW) never matches: a sidecar\'s connection manager removes the client\'s x-envoy-retry-on before the filters run, so the header is always absent there');
    // a peer identity beside it does not make the rule matchable
    expect(codes('MR0104', ns('a', true), app('a', 'web'),
      ap('a', 'p', '  action: ALLOW\n  rules: [{ from: [{ source: { principals: ["cluster.local/ns/a/sa/x"] } }], when: [{ key: "request.headers[x-envoy-internal]", values: ["true"] }] }]\n'))[0]).toContain('never matches');
    // a DENY exemption on it never holds
    expect(codes('MR0104', ns('a', true), app('a', 'web'), ap('a', 'p', '  action: DENY\n  rules: [{ when: [{ key: "request.headers[x-envoy-force-trace]", notValues: ["1"] }] }]\n'))[0]).toContain('never exempts anyone');
  });
  it('the edge-only x-envoy-downstream-service-cluster is stripped by a gateway only: never met there, spoofable at a sidecar', () => {
    const rule = (sel: string): string => ap('istio-system', 'svc', `  selector: { matchLabels: { ${sel} } }\n  action: ALLOW\n  rules: [{ when: [{ key: "request.headers[x-envoy-downstream-service-cluster]", values: ["admin"] }] }]\n`);
    const gw = gatewayPod('istio-system', 'ingress', 'ingressgateway');
    expect(codes('MR0104', ns('istio-system', false), gw, rule('istio: ingressgateway'))[0]).toContain('never matches: a gateway\'s connection manager removes');
    expect(codes('MR0104', ns('a', true), app('a', 'web'), ap('a', 'p', '  action: ALLOW\n  rules: [{ when: [{ key: "request.headers[x-envoy-downstream-service-cluster]", values: ["admin"] }] }]\n'))[0]).toContain('any client can send that header');
  });
  it('a header condition in a rule that also requires a request principal is not reported', () => {
    expect(codes('MR0104', ns('a', true), app('a', 'web'),
      ap('a', 'p', '  action: ALLOW\n  rules: [{ from: [{ source: { requestPrincipals: ["*"] } }], when: [{ key: "request.headers[x-user]", values: ["admin"] }] }]\n'))).toEqual([]);
  });
});

describe('MR0119 allow-any-caller (§6.3, §6.1)', () => {
  const open = (extra = ''): string => ap('a', 'p', `  selector: { matchLabels: { app: web } }\n  action: ALLOW\n  rules: [{ to: [{ operation: { ports: ["8080"] } }]${extra} }]\n`);
  it('an ALLOW rule without `from` or a condition on the caller is reported, naming its ports and what it selects', () => {
    expect(codes('MR0119', ns('a', true), app('a', 'web'), open())).toEqual([
      'AuthorizationPolicy a/p rule 0 (ALLOW) admits every caller for requests to port 8080 of the 1 workload it selects: it has no `from` and no identity condition']);
  });
  it('a namespace-wide one (no selector) is reported for every workload of the namespace, and an empty rule for every request', () => {
    expect(codes('MR0119', ns('a', true), app('a', 'web'), ap('a', 'all', '  action: ALLOW\n  rules: [{}]\n'))[0]).toContain('for every request of every workload of namespace a');
  });
  it('a rule with `from` (principals, namespaces, ipBlocks) or a caller condition in `when` is not reported', () => {
    expect(codes('MR0119', ns('a', true), app('a', 'web'), ap('a', 'p', '  action: ALLOW\n  rules: [{ from: [{ source: { namespaces: ["b"] } }] }]\n'))).toEqual([]);
    expect(codes('MR0119', ns('a', true), app('a', 'web'), ap('a', 'p', '  action: ALLOW\n  rules: [{ from: [{ source: { ipBlocks: ["10.0.0.0/8"] } }] }]\n'))).toEqual([]);
    expect(codes('MR0119', ns('a', true), app('a', 'web'), open(', when: [{ key: "source.namespace", values: ["b"] }]'))).toEqual([]);
    expect(codes('MR0119', ns('a', true), app('a', 'web'), open(', when: [{ key: "request.auth.claims[group]", values: ["ops"] }]'))).toEqual([]);
  });
  it('a header condition is MR0104\'s finding, not this one; DENY, dry-run and targetRefs policies are not reported', () => {
    expect(codes('MR0119', ns('a', true), app('a', 'web'), open(', when: [{ key: "request.headers[x-user]", values: ["admin"] }]'))).toEqual([]);
    expect(codes('MR0119', ns('a', true), app('a', 'web'), ap('a', 'p', '  action: DENY\n  rules: [{ to: [{ operation: { ports: ["8080"] } }] }]\n'))).toEqual([]);
    const dry = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: p, namespace: a, annotations: { istio.io/dry-run: "true" } }
spec:
  action: ALLOW
  rules: [{}]
`;
    expect(codes('MR0119', ns('a', true), app('a', 'web'), dry)).toEqual([]);
  });
  it('a policy selecting only gateways is not reported: a public entry point admits everyone on purpose', () => {
    const gw = gatewayPod('a', 'ingress', 'ingressgateway');
    expect(codes('MR0119', ns('a', true), app('a', 'web'), gw, ap('a', 'p', '  selector: { matchLabels: { istio: ingressgateway } }\n  action: ALLOW\n  rules: [{}]\n'))).toEqual([]);
  });
  it('an egress gateway open to every caller is reported (a way out, not a public entry point)', () => {
    const egw = gatewayPod('a', 'istio-egressgateway', 'egressgateway');
    expect(codes('MR0119', ns('a', true), app('a', 'web'), egw, ap('a', 'p', '  selector: { matchLabels: { istio: egressgateway } }\n  action: ALLOW\n  rules: [{}]\n'))).toHaveLength(1);
  });
  it('a policy on workloads without a sidecar is left to MR0112 (nothing enforces it)', () => {
    expect(codes('MR0119', ns('a', false), app('a', 'web'), open())).toEqual([]);
  });
  it('a rule with HTTP-only fields on a workload whose every port is declared TCP is dropped (§6.8): not reported; a path-only rule elsewhere is info', () => {
    const db = app('a', 'db', { port: 5432, portName: 'tcp-postgres' });
    const paths = (sel: string): string => ap('a', 'p', `  selector: { matchLabels: { app: ${sel} } }\n  action: ALLOW\n  rules: [{ to: [{ operation: { paths: ["/healthz"] } }] }]\n`);
    expect(codes('MR0119', ns('a', true), db, paths('db'))).toEqual([]);
    const r = lint(meshFrom(ns('a', true), app('a', 'web'), paths('web')), { only: ['MR0119'] });
    expect(r.findings.map((f) => f.severity)).toEqual(['info']);
  });
  it('the annotation meshrange.io/ignore: MR0119 suppresses it', () => {
    const quiet = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: health, namespace: a, annotations: { meshrange.io/ignore: MR0119 } }
spec:
  selector: { matchLabels: { app: web } }
  action: ALLOW
  rules: [{ to: [{ operation: { paths: ["/healthz"] } }] }]
`;
    expect(codes('MR0119', ns('a', true), app('a', 'web'), quiet)).toEqual([]);
  });
  it('a meshrange.io/ignore value that is no rule code (MR0102;MR0119, *) silences nothing and is warned at the annotation; codes by comma or space are not', () => {
    const annotated = (v: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: health, namespace: a, annotations: { meshrange.io/ignore: "${v}" } }
spec:
  selector: { matchLabels: { app: web } }
  action: ALLOW
  rules: [{ to: [{ operation: { paths: ["/healthz"] } }] }]
`;
    const warned = (v: string) => loadMesh([{ path: 'p.yaml', text: annotated(v) }]).issues.warnings.filter((w) => w.code === 'ignore-not-a-code');
    expect(warned('MR0102;MR0119').map((w) => [w.message, w.loc?.line])).toEqual([['AuthorizationPolicy a/health: meshrange.io/ignore: "MR0102;MR0119" is not a lint rule code (MRnnnn): it silences nothing', 3]]);
    expect(warned('*')).toHaveLength(1);
    expect(codes('MR0119', ns('a', true), app('a', 'web'), annotated('MR0102;MR0119'))).toHaveLength(1);
    expect(warned('MR0102, MR0119')).toEqual([]);
    expect(warned('mr0119 MR0102')).toEqual([]);
  });
});

describe('MR0105 jwt-not-required (§7)', () => {
  const ra = 'apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: { name: r, namespace: a }\nspec:\n  selector: { matchLabels: { app: web } }\n  jwtRules: [{ issuer: "https://i", jwksUri: "https://i/jwks" }]\n';
  it('a RequestAuthentication with no rule on a request principal is reported: no token passes', () => {
    expect(codes('MR0105', ns('a', true), app('a', 'web'), ra)[0]).toContain('a request without a token passes');
  });
  it('an ALLOW requestPrincipals: ["*"] on the workload satisfies it', () => {
    expect(codes('MR0105', ns('a', true), app('a', 'web'), ra, ap('a', 'req', '  selector: { matchLabels: { app: web } }\n  action: ALLOW\n  rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }]\n'))).toEqual([]);
  });
  it('a DENY notRequestPrincipals: ["*"] on the workload satisfies it', () => {
    expect(codes('MR0105', ns('a', true), app('a', 'web'), ra, ap('a', 'req', '  action: DENY\n  rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }] }]\n'))).toEqual([]);
  });
});

describe('requiresRequestPrincipal, shared by MR0104 and MR0105 (§6.5, §6.7, §7)', () => {
  const ra = 'apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: { name: r, namespace: a }\nspec:\n  selector: { matchLabels: { app: web } }\n  jwtRules: [{ issuer: "https://i", jwksUri: "https://i/jwks" }]\n';
  it('an ALLOW notRequestPrincipals is met by a request without a token: MR0105 reports it and MR0104 still sees the header as the identity', () => {
    const allow = ap('a', 'p', '  action: ALLOW\n  rules: [{ from: [{ source: { notRequestPrincipals: ["https://i/bad"] } }], when: [{ key: "request.headers[x-user]", values: ["admin"] }] }]\n');
    expect(codes('MR0105', ns('a', true), app('a', 'web'), ra, allow)).toHaveLength(1);
    expect(codes('MR0104', ns('a', true), app('a', 'web'), ra, allow)).toHaveLength(1);
  });
  it('a request.auth.claims condition with values requires a token for both rules', () => {
    const allow = ap('a', 'p', '  action: ALLOW\n  rules: [{ when: [{ key: "request.auth.claims[role]", values: ["admin"] }, { key: "request.headers[x-user]", values: ["admin"] }] }]\n');
    expect(codes('MR0105', ns('a', true), app('a', 'web'), ra, allow)).toEqual([]);
    expect(codes('MR0104', ns('a', true), app('a', 'web'), ra, allow)).toEqual([]);
  });
  it('MR0105: two ALLOW rules that both need a request principal make the token mandatory', () => {
    const allow = ap('a', 'p', '  action: ALLOW\n  rules:\n  - { from: [{ source: { requestPrincipals: ["*"] } }], to: [{ operation: { paths: ["/admin/*"] } }] }\n  - { from: [{ source: { requestPrincipals: ["https://i/svc"], namespaces: [a] } }] }\n');
    expect(codes('MR0105', ns('a', true), app('a', 'web'), ra, allow)).toEqual([]);
  });
  it('MR0105: a CUSTOM or AUDIT policy on request principals does not make the token mandatory', () => {
    const audit = ap('a', 'p', '  action: AUDIT\n  rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }] }]\n');
    expect(codes('MR0105', ns('a', true), app('a', 'web'), ra, audit)).toHaveLength(1);
  });
  it('MR0105: a DENY notRequestPrincipals limited to one path leaves other paths open: reported', () => {
    const deny = ap('a', 'p', '  action: DENY\n  rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }], to: [{ operation: { paths: ["/admin/*"] } }] }]\n');
    expect(codes('MR0105', ns('a', true), app('a', 'web'), ra, deny)).toHaveLength(1);
  });
});

describe('MR0106 deny-path-bypass (§6.6)', () => {
  const deny = (paths: string): string => ap('a', 'p', `  action: DENY\n  rules: [{ to: [{ operation: { paths: ${paths} } }] }]\n`);
  const cfg = (mode: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: istio, namespace: istio-system }\ndata:\n  mesh: |-\n    pathNormalization:\n      normalization: ${mode}\n`;
  it('DENY "/admin" under BASE: //admin, /ADMIN and /admin/ get past it', () => {
    const m = codes('MR0106', ns('a', true), app('a', 'web'), deny('["/admin"]'))[0] ?? '';
    expect(m).toContain('"//admin"');
    expect(m).toContain('"/ADMIN"');
    expect(m).toContain('"/admin/"');
  });
  it('DENY "/admin/*" under BASE: an encoded slash "/admin%2Fx" gets past it', () => {
    expect(codes('MR0106', ns('a', true), app('a', 'web'), deny('["/admin/*"]'))[0]).toContain('"/admin%2Fx"');
  });
  it('under DECODE_AND_MERGE_SLASHES the slash spellings are caught; only case and trailing slash remain', () => {
    const m = codes('MR0106', ns('a', true), ns('istio-system', false), app('a', 'web'), cfg('DECODE_AND_MERGE_SLASHES'), deny('["/admin/*"]'))[0] ?? '';
    expect(m).not.toContain('%2F');
    expect(m).not.toContain('doubled');
    expect(m).toContain('upper case');
  });
  it('under DECODE_AND_MERGE_SLASHES a DENY that also lists the upper-case, trailing-slash and path-parameter spellings is not reported', () => {
    const all = '["/admin", "/admin/*", "/admin;*", "/ADMIN", "/ADMIN/*", "/ADMIN;*"]';
    expect(codes('MR0106', ns('a', true), ns('istio-system', false), app('a', 'web'), cfg('DECODE_AND_MERGE_SLASHES'), deny(all))).toEqual([]);
  });
  it('DENY "/admin" under BASE: the earlier spellings keep their order and wording, and the path parameter comes last', () => {
    expect(codes('MR0106', ns('a', true), app('a', 'web'), deny('["/admin"]'))).toEqual([
      'AuthorizationPolicy a/p denies paths "/admin", but under pathNormalization BASE doubled slash "//admin", upper case "/ADMIN", '
        + 'trailing slash "/admin/", path parameter ;a=b "/admin;a=b" are not denied',
    ]);
  });
  it('an exact DENY "/admin" does not match "/admin;a=b" under any pathNormalization: reported, with a hint that no mode removes it', () => {
    for (const mode of ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']) {
      const r = lint(meshFrom(ns('a', true), ns('istio-system', false), app('a', 'web'), cfg(mode), deny('["/admin", "/ADMIN"]')), { only: ['MR0106'] });
      const f = r.findings.find((x) => x.message.includes('paths "/admin"'));
      expect(f?.message, mode).toContain(`under pathNormalization ${mode} `);
      expect(f?.message, mode).toContain('path parameter ;a=b "/admin;a=b"');
      expect(f?.hint, mode).toContain('no pathNormalization removes a path parameter: deny "/admin;*" too');
    }
  });
  it('a DENY "/api/{**}" template does not match "/api/x/y;a=b" (= is no Envoy uri_template character): reported', () => {
    const m = codes('MR0106', ns('a', true), ns('istio-system', false), app('a', 'web'), cfg('DECODE_AND_MERGE_SLASHES'), deny('["/api/{**}", "/API/{**}"]'));
    expect(m).toEqual([
      'AuthorizationPolicy a/p denies paths "/API/{**}", but under pathNormalization DECODE_AND_MERGE_SLASHES path parameter ;a=b "/API/x/y;a=b" is not denied',
      'AuthorizationPolicy a/p denies paths "/api/{**}", but under pathNormalization DECODE_AND_MERGE_SLASHES path parameter ;a=b "/api/x/y;a=b" is not denied',
    ]);
  });
  it('a prefix DENY "/admin/*" matches its path-parameter spelling "/admin/x;a=b": that spelling is tried and not reported', () => {
    expect(respellings('/admin/x')).toContainEqual({ how: 'path parameter ;a=b', path: '/admin/x;a=b' });
    const m = codes('MR0106', ns('a', true), app('a', 'web'), deny('["/admin/*"]'))[0] ?? '';
    expect(m).toContain('upper case "/ADMIN/X"');
    expect(m).not.toContain(';a=b');
  });
});

describe('MR0107 missing-sidecar (§2)', () => {
  it('a pod that opts out of injection in an injected namespace is reported', () => {
    expect(codes('MR0107', ns('a', true), app('a', 'web', { labels: { 'sidecar.istio.io/inject': 'false' } }))[0]).toContain('has no sidecar');
  });
  it('a workload in a namespace without injection is not reported', () => {
    expect(codes('MR0107', ns('a', false), app('a', 'web'))).toEqual([]);
  });
});

describe('MR0108 capture-excludes-strict-port (§3, §4, policy/capture.ts)', () => {
  const excluded = app('a', 'web').replace('      labels:\n', '      annotations: { traffic.sidecar.istio.io/excludeInboundPorts: "8080" }\n      labels:\n');
  it('a STRICT port listed in excludeInboundPorts is an error', () => {
    const r = lint(meshFrom(ns('a', true), excluded, pa('a', 'default', 'STRICT')), { only: ['MR0108'] });
    expect(r.findings.map((f) => [f.severity, f.resource])).toEqual([['error', 'Deployment a/web']]);
  });
  it('an includeInboundPorts list that leaves out a STRICT port is reported too', () => {
    const included = app('a', 'web', { port: 8080 }).replace('      labels:\n', '      annotations: { traffic.sidecar.istio.io/includeInboundPorts: "9090" }\n      labels:\n');
    expect(codes('MR0108', ns('a', true), included, pa('a', 'default', 'STRICT'))[0]).toContain('includeInboundPorts');
  });
  it('the same exclusion on a PERMISSIVE port is not this rule', () => {
    expect(codes('MR0108', ns('a', true), excluded)).toEqual([]);
  });
});

describe('MR0109 wildcard-service-entry (§8)', () => {
  const registryOnly = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: istio, namespace: istio-system }\ndata:\n  mesh: |-\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n';
  const se = (host: string): string => `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: e, namespace: a }\nspec:\n  hosts: ["${host}"]\n  ports: [{ number: 443, name: tls, protocol: TLS }]\n  resolution: NONE\n`;
  it('a "*.com" host (a whole top-level domain) under REGISTRY_ONLY is an error', () => {
    const r = lint(meshFrom(ns('a', true), ns('istio-system', false), app('a', 'web'), registryOnly, se('*.com')), { only: ['MR0109'] });
    expect(r.findings.map((f) => f.severity)).toEqual(['error']);
  });
  it('a "*.example.com" host under REGISTRY_ONLY is a warning', () => {
    const r = lint(meshFrom(ns('a', true), ns('istio-system', false), app('a', 'web'), registryOnly, se('*.example.com')), { only: ['MR0109'] });
    expect(r.findings.map((f) => f.severity)).toEqual(['warning']);
  });
  it('under ALLOW_ANY a wildcard host opens nothing new and is not reported', () => {
    expect(codes('MR0109', ns('a', true), app('a', 'web'), se('*.com'))).toEqual([]);
  });
});

describe('MR0110 legacy-rbac-kind', () => {
  it('ServiceRole, ServiceRoleBinding, ClusterRbacConfig, MeshPolicy and Policy are each reported', () => {
    const kinds = [['rbac.istio.io/v1alpha1', 'ServiceRole'], ['rbac.istio.io/v1alpha1', 'ServiceRoleBinding'], ['rbac.istio.io/v1alpha1', 'ClusterRbacConfig'],
      ['authentication.istio.io/v1alpha1', 'MeshPolicy'], ['authentication.istio.io/v1alpha1', 'Policy']];
    const docs = kinds.map(([v, k]) => `apiVersion: ${v}\nkind: ${k}\nmetadata: { name: x, namespace: a }\nspec: {}\n`);
    expect(codes('MR0110', ns('a', true), ...docs).map((m) => m.split(' ')[0]).sort()).toEqual(['ClusterRbacConfig', 'MeshPolicy', 'Policy', 'ServiceRole', 'ServiceRoleBinding']);
  });
  it('a kind named Policy from another API group is not reported', () => {
    expect(codes('MR0110', ns('a', true), 'apiVersion: example.com/v1\nkind: Policy\nmetadata: { name: x, namespace: a }\nspec: {}\n')).toEqual([]);
  });
});

describe('MR0111–MR0118: the loader analyzer, wrapped', () => {
  it('MR0111 targetRefs to a Service (a waypoint) is a warning; to a Kubernetes Gateway only advice (info)', () => {
    const gw = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: gw, namespace: a }\nspec:\n  template:\n    metadata: { labels: { gateway.networking.k8s.io/gateway-name: gw } }\n    spec: { containers: [{ name: c, image: c }] }\n';
    const refs = (kind: string, name: string): string => ap('a', `to-${name}`, `  targetRefs: [{ kind: ${kind}, group: "${kind === 'Service' ? '' : 'gateway.networking.k8s.io'}", name: ${name} }]\n  action: ALLOW\n  rules: [{}]\n`);
    const r = lint(meshFrom(ns('a', true), app('a', 'web'), gw, refs('Service', 'web'), refs('Gateway', 'gw')), { only: ['MR0111'] });
    expect(r.findings.map((f) => [f.resource, f.severity])).toEqual([['AuthorizationPolicy a/to-web', 'warning'], ['AuthorizationPolicy a/to-gw', 'info']]);
  });
  it('each analyzer warning of the loader is a lint finding with its MR code and its IST/SIM code in the message', () => {
    const twoNsLevel = [pa('b', 'one', 'STRICT'), pa('b', 'two', 'PERMISSIVE')];
    const r = lint(meshFrom(ns('b', true), app('b', 's'), ...twoNsLevel), { only: ['MR0115'] });
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]?.message).toContain('(SIM006)');
  });
});

describe('MR0120 dr-merged-into-selector (§5.1, istio/istio#58322)', () => {
  const rule = (name: string, extra: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name}, namespace: a }
spec:
  host: api.a.svc.cluster.local
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
${extra}`;
  const selector = rule('web-only', '  workloadSelector: { matchLabels: { app: web } }\n');
  it('a rule exported to ["."] beside a selector rule for the same host is reported, naming the workloads that do not get it', () => {
    const found = codes('MR0120', ns('a', true), app('a', 'web'), app('a', 'api'), selector, rule('base', '  exportTo: ["."]\n'));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('DestinationRule a/base (host api.a.svc.cluster.local) is merged into a/web-only');
    expect(found[0]).toContain('a/api does not get it');
  });
  it('the same rule exported to the namespace by name, or without exportTo, stands on its own: not reported', () => {
    expect(codes('MR0120', ns('a', true), app('a', 'web'), app('a', 'api'), selector, rule('base', '  exportTo: [a]\n'))).toEqual([]);
    expect(codes('MR0120', ns('a', true), app('a', 'web'), app('a', 'api'), selector, rule('base', ''))).toEqual([]);
  });
});

describe('MR0120 in the root namespace', () => {
  it('a private root rule folded into a selector rule is reported even when a public rule keeps it apart in the namespace\'s own index: a root client reads the private rules first', () => {
    const rule = (name: string, at: string, extra: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name}, namespace: istio-system, creationTimestamp: "${at}" }
spec:
  host: api.a.svc.cluster.local
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
${extra}`;
    const found = codes('MR0120', ns('istio-system', true), ns('a', true), app('istio-system', 'tool'), app('a', 'api'),
      rule('s', '2020-01-01T00:00:00Z', '  workloadSelector: { matchLabels: { app: other } }\n'),
      rule('q-public', '2021-01-01T00:00:00Z', ''),
      rule('p-private', '2022-01-01T00:00:00Z', '  exportTo: ["."]\n'));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('DestinationRule istio-system/p-private');
  });
});

describe('MR0121 service-host-shadowed (§8, one namespace per hostname)', () => {
  const entry = (namespace: string, host: string, extra = ''): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: mirror, namespace: ${namespace} }
spec:
  hosts: [${host}]
  ports: [{ number: 80, name: http, protocol: HTTP }]
${extra}`;
  const PAY = 'payments.pay.svc.cluster.local';
  const mesh = [ns('shop', true), ns('pay', true), app('shop', 'web'), app('pay', 'payments')];
  it('an entry naming a Service of another namespace is reported with the workloads whose requests it takes, and where they go', () => {
    const withEndpoint = codes('MR0121', ...mesh, entry('shop', PAY, '  resolution: STATIC\n  endpoints: [{ address: 203.0.113.9 }]\n'));
    expect(withEndpoint).toHaveLength(1);
    expect(withEndpoint[0]).toContain('ServiceEntry shop/mirror declares host payments.pay.svc.cluster.local, the FQDN of Service pay/payments');
    expect(withEndpoint[0]).toContain('shop/web sends its requests for it to the entry\'s endpoint 203.0.113.9');
    expect(codes('MR0121', ...mesh, entry('shop', PAY))[0]).toContain('on to the Service in plaintext, without mTLS');
  });
  it('clients of other namespaces the Service is not exported to are named too: the entry is all they see of the name', () => {
    const privatePay = `apiVersion: v1
kind: Service
metadata: { name: payments, namespace: pay, annotations: { networking.istio.io/exportTo: "." } }
spec:
  selector: { app: payments }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`;
    const found = codes('MR0121', ns('shop', true), ns('pay', true), ns('other', true), app('shop', 'web'), app('other', 'batch'), privatePay, entry('shop', PAY));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('other/batch, shop/web send their requests');
  });
  it('an entry in the Service\'s own namespace, one naming no Service, or one its namespace\'s sidecars do not import is not reported', () => {
    expect(codes('MR0121', ...mesh, entry('pay', PAY))).toEqual([]);
    expect(codes('MR0121', ...mesh, entry('shop', 'api.example.com'))).toEqual([]);
    const sidecar = 'apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: { name: default, namespace: shop }\nspec:\n  egress: [{ hosts: ["pay/*"] }]\n';
    expect(codes('MR0121', ...mesh, sidecar, entry('shop', PAY))).toEqual([]);
  });
});

describe('MR0122 auto-passthrough-exposed (§9, AUTO_PASSTHROUGH chains carry no authorization)', () => {
  const gateway = (mode: string, extra = ''): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: cross-network, namespace: istio-system }
spec:
  selector: { istio: eastwestgateway }
  servers:
    - port: { number: 15443, name: tls, protocol: TLS }
      tls: { mode: ${mode} }
      hosts: ["*.local"]
${extra}`;
  const service = (name: string, spec: string, annotations = '{}'): string => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: istio-system, annotations: ${annotations} }
spec:
  selector: { istio: eastwestgateway }
${spec}`;
  const lb = (extra = '', annotations = '{}', name = 'eastwest'): string =>
    service(name, `  type: LoadBalancer\n  ports: [{ name: tls, port: 15443, targetPort: 15443 }]\n${extra}`, annotations);
  const mesh = [ns('istio-system', false), ns('shop', true), app('shop', 'api'), gatewayPod('istio-system', 'eastwest', 'eastwestgateway')];

  it('a LoadBalancer Service exposing an AUTO_PASSTHROUGH server\'s port is reported at the server, with what a stolen certificate reaches', () => {
    const r = lint(meshFrom(...mesh, gateway('AUTO_PASSTHROUGH'), lb()), { only: ['MR0122'] });
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ severity: 'warning', resource: 'Gateway istio-system/cross-network', rule: 'auto-passthrough-exposed' });
    // the server's own line (the Gateway document's line 7, `- port:`), not the Gateway's
    expect(f?.line).toBe(7);
    expect(f?.message).toContain('Gateway istio-system/cross-network server 0 (AUTO_PASSTHROUGH on port 15443, hosts *.local)');
    expect(f?.message).toContain('LoadBalancer Service istio-system/eastwest port 15443');
    expect(f?.message).toContain('gateway pod istio-system/eastwest');
    expect(f?.message).toContain('with a stolen mesh certificate can call any of the 2 Services under those hosts (istio-system/eastwest, shop/api)');
    expect(f?.message).toContain('no AuthorizationPolicy on the gateway stops it');
    expect(f?.hint).toContain('internal load balancer');
  });
  it('MR0122 counts MESH_INTERNAL ServiceEntry hosts under the server\'s hosts, not MESH_EXTERNAL ones or those not exported to the gateway', () => {
    const se = (name: string, host: string, location: string, exportTo = '["*"]'): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: shop }
spec:
  hosts: [${host}]
  location: ${location}
  exportTo: ${exportTo}
  resolution: STATIC
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
  endpoints: [{ address: 10.200.0.5, labels: { security.istio.io/tlsMode: istio } }]
`;
    const r = lint(meshFrom(...mesh, gateway('AUTO_PASSTHROUGH'), lb(), se('db', 'db.vm.local', 'MESH_INTERNAL'), se('ext', 'api.partner.local', 'MESH_EXTERNAL'),
      se('own', 'own.vm.local', 'MESH_INTERNAL', '["."]'), se('far', 'db.vm.internal', 'MESH_INTERNAL')), { only: ['MR0122'] });
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]?.message).toContain('any of the 2 Services under those hosts (istio-system/eastwest, shop/api) and the endpoints with Istio\'s tlsMode of the MESH_INTERNAL ServiceEntry host under them (db.vm.local (ServiceEntry shop/db))');
    expect(r.findings[0]?.message).not.toContain('partner');
    expect(r.findings[0]?.message).not.toContain('own.vm.local');
  });
  it('a Service port whose target port is the server\'s port exposes it too (443 → 15443)', () => {
    const svc = service('eastwest', '  type: LoadBalancer\n  ports: [{ name: tls, port: 443, targetPort: 15443 }]\n');
    expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), svc)).toEqual([expect.stringContaining('LoadBalancer Service istio-system/eastwest port 443 ')]);
  });
  it('a NodePort Service is reported: nodes are often reachable from outside the cluster', () => {
    const np = service('eastwest', '  type: NodePort\n  ports: [{ name: tls, port: 15443, targetPort: 15443 }]\n');
    const found = codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), np);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('NodePort Service istio-system/eastwest port 15443 on every node\'s address (nodes are often reachable from outside the cluster)');
  });
  // each "not reported" below sits beside the same mesh with a public LoadBalancer, which is
  it('a ClusterIP Service is not reported: only the cluster reaches it', () => {
    const cip = service('eastwest', '  ports: [{ name: tls, port: 15443, targetPort: 15443 }]\n');
    expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), lb())).toHaveLength(1);
    expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), cip)).toEqual([]);
  });
  it('a LoadBalancer made internal by the GKE (either annotation), AWS or Azure annotation is not reported, whatever the value\'s case', () => {
    for (const a of ['{ networking.gke.io/load-balancer-type: internal }', '{ service.beta.kubernetes.io/aws-load-balancer-internal: "TRUE" }',
      '{ service.beta.kubernetes.io/aws-load-balancer-scheme: Internal }', '{ service.beta.kubernetes.io/azure-load-balancer-internal: "true" }',
      '{ cloud.google.com/load-balancer-type: Internal }']) {
      expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), lb('', a)), a).toEqual([]);
    }
    // an annotation saying external, or an unrelated one, leaves it reported
    expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), lb('', '{ service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing }'))).toHaveLength(1);
  });
  it('a LoadBalancer limited by the source-ranges annotation, which Kubernetes reads when the field is empty, is not reported', () => {
    expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), lb('', '{ service.beta.kubernetes.io/load-balancer-source-ranges: "10.0.0.0/8" }'))).toEqual([]);
    expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), lb('', '{ service.beta.kubernetes.io/load-balancer-source-ranges: " " }'))).toHaveLength(1);
  });
  it('a LoadBalancer limited by loadBalancerSourceRanges is not reported (the ranges are taken as written)', () => {
    expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), lb('  loadBalancerSourceRanges: []\n'))).toHaveLength(1);
    expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), lb('  loadBalancerSourceRanges: [198.51.100.0/24]\n'))).toEqual([]);
  });
  it('a PASSTHROUGH server is not reported: its routes are VirtualServices\', not a chain per Service', () => {
    expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), lb())).toHaveLength(1);
    expect(codes('MR0122', ...mesh, gateway('PASSTHROUGH'), lb())).toEqual([]);
    // beside an AUTO_PASSTHROUGH server on a port the Service does not expose
    const unexposed = '    - port: { number: 15444, name: tls-b, protocol: TLS }\n      tls: { mode: AUTO_PASSTHROUGH }\n      hosts: ["*.local"]\n';
    expect(codes('MR0122', ...mesh, gateway('PASSTHROUGH', unexposed), lb())).toEqual([]);
  });
  it('a Gateway that does not select the pod, or a server on another port, is not reported', () => {
    const other = gateway('AUTO_PASSTHROUGH').replace('istio: eastwestgateway', 'istio: ingressgateway');
    expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH'), lb())).toHaveLength(1);
    expect(codes('MR0122', ...mesh, other, lb())).toEqual([]);
    expect(codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH').replace('number: 15443', 'number: 15444'), lb())).toEqual([]);
  });
  it('one finding per (server, Service): two Service ports and two pods give one, a second Service and a second server one each', () => {
    const two = service('eastwest', '  type: LoadBalancer\n  ports: [{ name: tls, port: 15443, targetPort: 15443 }, { name: tls-alt, port: 443, targetPort: 15443 }]\n');
    const second = gatewayPod('istio-system', 'eastwest-b', 'eastwestgateway');
    const one = codes('MR0122', ...mesh, second, gateway('AUTO_PASSTHROUGH'), two);
    expect(one).toHaveLength(1);
    expect(one[0]).toContain('port 443, 15443');
    expect(one[0]).toContain('gateway pods istio-system/eastwest, istio-system/eastwest-b');
    const server2 = '    - port: { number: 15444, name: tls-b, protocol: TLS }\n      tls: { mode: AUTO_PASSTHROUGH }\n      hosts: ["*.shop.svc.cluster.local"]\n';
    const withPorts = service('eastwest', '  type: LoadBalancer\n  ports: [{ name: tls, port: 15443 }, { name: tls-b, port: 15444 }]\n');
    const found = codes('MR0122', ...mesh, gateway('AUTO_PASSTHROUGH', server2), withPorts, service('eastwest-np', '  type: NodePort\n  ports: [{ name: tls, port: 15443 }]\n'));
    expect(found.map((m) => m.slice(0, m.indexOf(' port ', m.indexOf('Service '))))).toEqual([
      'Gateway istio-system/cross-network server 0 (AUTO_PASSTHROUGH on port 15443, hosts *.local) is exposed by LoadBalancer Service istio-system/eastwest',
      'Gateway istio-system/cross-network server 0 (AUTO_PASSTHROUGH on port 15443, hosts *.local) is exposed by NodePort Service istio-system/eastwest-np',
      'Gateway istio-system/cross-network server 1 (AUTO_PASSTHROUGH on port 15444, hosts *.shop.svc.cluster.local) is exposed by LoadBalancer Service istio-system/eastwest',
    ]);
    expect(found[2]).toContain('any of the 1 Service under those hosts (shop/api)');
  });
  it('meshrange.io/ignore: MR0122 on the Gateway suppresses it, kept apart', () => {
    const ignored = gateway('AUTO_PASSTHROUGH').replace('namespace: istio-system }', 'namespace: istio-system, annotations: { meshrange.io/ignore: MR0122 } }');
    const r = lint(meshFrom(...mesh, ignored, lb()), { only: ['MR0122'] });
    expect(r.findings).toEqual([]);
    expect(r.suppressed.map((f) => f.suppressedBy)).toEqual(['Gateway istio-system/cross-network']);
  });
});

describe('MR0123 gateway-rewrite-skips-path-rule (§9, §3: the gateway\'s RBAC reads the path before the router rewrites it)', () => {
  const gateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: shop-gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: [shop.example.com] }]
`;
  /** /legacy/orders goes to shop/api, its path rewritten by `rewrite` (none: kept); /api to shop/api; the rest to shop/web. */
  const routes = (rewrite: string | null): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop, namespace: shop }
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/shop-gw]
  http:
    - name: api
      match: [{ uri: { prefix: /api } }]
      route: [{ destination: { host: api } }]
    - name: legacy-orders
      match: [{ uri: { prefix: /legacy/orders } }]
${rewrite === null ? '' : `      rewrite: ${rewrite}\n`}      route: [{ destination: { host: api } }]
    - route: [{ destination: { host: web } }]
`;
  /** At the gateway: a request principal on `paths`, every other path public. */
  const requireJwt = (paths: string): string => ap('istio-system', 'require-jwt', `  selector: { matchLabels: { istio: ingressgateway } }
  action: ALLOW
  rules:
    - from: [{ source: { requestPrincipals: ["*"] } }]
      to: [{ operation: { paths: ${paths} } }]
    - to: [{ operation: { notPaths: ${paths} } }]
`);
  const base = [ns('istio-system', false), ns('shop', true), ingressPod('ingress', 'ingressgateway', { port: 80, targetPort: 8080, name: 'http' }),
    app('shop', 'api'), app('shop', 'web'), gateway];

  it('a prefix rewrite of a public path onto the JWT-guarded /api* is found, naming the route, both paths and the ALLOW policy that refuses the target', () => {
    const found = codes('MR0123', ...base, routes('{ uri: /api/orders }'), requireJwt('["/api*"]'));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('VirtualService shop/shop http route 1 (legacy-orders)');
    expect(found[0]).toContain('rewrites /legacy/orders to /api/orders');
    expect(found[0]).toContain('AuthorizationPolicy istio-system/require-jwt refuses GET /api/orders');
  });

  it('a regex rewrite (uriRegexRewrite) onto a path a DENY at the gateway refuses is found, the target computed by the same RE2 rewrite', () => {
    const deny = ap('istio-system', 'no-admin', `  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }]
`);
    const found = codes('MR0123', ...base, routes(`{ uriRegexRewrite: { match: "^/legacy/(.*)$", rewrite: '/admin/\\1' } }`), deny);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('rewrites /legacy/orders to /admin/orders');
    expect(found[0]).toContain('AuthorizationPolicy istio-system/no-admin refuses');
  });

  it('a rewrite onto a path the gateway does not guard is not reported', () => {
    expect(codes('MR0123', ...base, routes('{ uri: /api/orders }'), requireJwt('["/api*"]'))).toHaveLength(1); // the same mesh, target guarded
    expect(codes('MR0123', ...base, routes('{ uri: /orders }'), requireJwt('["/api*"]'))).toEqual([]);
  });

  it('when the gateway\'s path rule also covers the matched path, the rewrite bypasses nothing and is not reported', () => {
    expect(codes('MR0123', ...base, routes('{ uri: /api/orders }'), requireJwt('["/api*"]'))).toHaveLength(1); // /legacy* left public
    expect(codes('MR0123', ...base, routes('{ uri: /api/orders }'), requireJwt('["/api*", "/legacy*"]'))).toEqual([]);
  });

  it('a route without a rewrite is not reported (the path the gateway judged is the one the backend gets)', () => {
    expect(codes('MR0123', ...base, routes('{ uri: /api/orders }'), requireJwt('["/api*"]'))).toHaveLength(1); // with the rewrite
    expect(codes('MR0123', ...base, routes(null), requireJwt('["/api*"]'))).toEqual([]);
  });

  it('a requirement on the backend workload instead of the gateway is not reported (the backend judges the rewritten path)', () => {
    const atBackend = ap('shop', 'api-require-jwt', `  selector: { matchLabels: { app: api } }
  action: ALLOW
  rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }]
`);
    expect(codes('MR0123', ...base, routes('{ uri: /api/orders }'), requireJwt('["/api*"]'))).toHaveLength(1); // the same requirement at the gateway
    expect(codes('MR0123', ...base, routes('{ uri: /api/orders }'), atBackend)).toEqual([]);
  });
});
