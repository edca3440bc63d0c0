/**
 * AuthorizationPolicy, one test per rule of istio-semantics.md §1 and §6; each
 * test name states the rule and its section.
 */
import { describe, expect, it } from 'vitest';
import type { AuthorizationPolicy, AuthzRule, Mesh } from '../../src/model/types.js';
import type { AuthzAttributes, AuthzDecision, ExtAuthz } from '../../src/policy/authorization-policy.js';
import { evaluateAuthz, policiesFor } from '../../src/policy/authorization-policy.js';
import { normalizePath } from '../../src/policy/matchers.js';
import { http, mesh, policy, tcp, workload } from '../property/authz-mesh.js';

const WEB = workload('a', 'web', { app: 'web' });
const DB = workload('b', 'db', { app: 'db' });

function decide(ps: AuthorizationPolicy[], a: AuthzAttributes, config: Parameters<typeof mesh>[1] = {}, extAuthz?: ExtAuthz): AuthzDecision {
  return evaluateAuthz(mesh(ps, config, [WEB, DB]), WEB, a, extAuthz);
}

const allows = (ps: AuthorizationPolicy[], a: AuthzAttributes, config: Parameters<typeof mesh>[1] = {}) => decide(ps, a, config).allowed;
const allowOnly = (rules: AuthzRule[], name = 'allow') => [policy({ name, action: 'ALLOW', rules })];
const denyOnly = (rules: AuthzRule[], name = 'deny') => [policy({ name, action: 'DENY', rules })];

/** the path an HTTP request carries after §6.6 normalization (default BASE) */
function normalized(raw: string): string {
  const n = normalizePath(raw, 'BASE');
  if (!n.ok) throw new Error(`unexpected 400 for ${raw}`);
  return n.path;
}

describe('§6.1 targeting', () => {
  it('§6.1 a root-namespace policy without selector applies to every workload', () => {
    const p = policy({ name: 'mesh-wide', namespace: 'istio-system', action: 'ALLOW', rules: undefined });
    const m: Mesh = mesh([p], {}, [WEB, DB]);
    expect(policiesFor(m, WEB)).toEqual([p]);
    expect(policiesFor(m, DB)).toEqual([p]);
    expect(evaluateAuthz(m, DB, http()).allowed).toBe(false);
  });

  it('§6.1 a root-namespace policy with a selector applies to matching workloads in every namespace', () => {
    const p = policy({ namespace: 'istio-system', selector: { app: 'db' }, action: 'DENY', rules: [{}] });
    const m = mesh([p], {}, [WEB, DB]);
    expect(policiesFor(m, DB)).toEqual([p]);
    expect(policiesFor(m, WEB)).toEqual([]);
  });

  it('§6.1 a policy outside the root namespace only selects workloads of its own namespace', () => {
    const p = policy({ namespace: 'b', action: 'DENY', rules: [{}] });
    const q = policy({ namespace: 'a', selector: { app: 'other' }, action: 'DENY', rules: [{}] });
    const m = mesh([p, q], {}, [WEB, DB]);
    expect(policiesFor(m, WEB)).toEqual([]);
    expect(policiesFor(m, DB)).toEqual([p]);
  });

  it('§6.1 targetRefs policies are not applied to sidecars', () => {
    const p = policy({ action: 'DENY', rules: [{}], targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' }] });
    expect(policiesFor(mesh([p]), WEB)).toEqual([]);
    expect(allows([p], http())).toBe(true);
  });
});

describe('explanation', () => {
  it('the trace names the first 8 selecting policies in load order and counts the rest', () => {
    const ps = Array.from({ length: 11 }, (_, i) => policy({ name: `p${i}`, action: 'AUDIT', rules: [{}] }));
    const d = decide(ps, http());
    expect(d.trace[0]).toBe(`policies selecting a/web: ${ps.slice(0, 8).map((p) => `a/${p.meta.name} (AUDIT)`).join(', ')} and 3 more`);
    expect(decide(ps.slice(0, 2), http()).trace[0]).toBe('policies selecting a/web: a/p0 (AUDIT), a/p1 (AUDIT)');
  });
});

describe('§6.2 decision algorithm', () => {
  it('§6.2 a matching DENY wins over a matching ALLOW', () => {
    const d = decide([policy({ name: 'allow-all', action: 'ALLOW', rules: [{}] }), policy({ name: 'deny-get', action: 'DENY', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })], http());
    expect(d.allowed).toBe(false);
    expect(d.stage).toBe('deny');
    expect(d.decidedBy?.policy).toBe('deny-get');
  });

  it('§6.2 among several matching DENY rules the first in load order is reported, whatever their paths (the path index keeps order)', () => {
    const ps = [
      policy({ name: 'd-methods', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/b'] } }] }, { to: [{ operation: { methods: ['GET'] } }] }] }),
      policy({ name: 'd-prefix', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/api/*'] } }] }] }),
      policy({ name: 'd-template', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/api/{*}/items'] } }] }] }),
    ];
    const first = decide(ps, http({ path: '/api/v1/items' }));
    expect(first.decidedBy?.rule).toBe('ns[a]-policy[d-methods]-rule[1]');
    const post = decide(ps, http({ method: 'POST', path: '/api/v1/items' }));
    expect(post.decidedBy?.rule).toBe('ns[a]-policy[d-prefix]-rule[0]');
    const template = decide(ps.slice(2), http({ method: 'POST', path: '/api/v1/items' }));
    expect(template.decidedBy?.rule).toBe('ns[a]-policy[d-template]-rule[0]');
    expect(decide(ps.slice(2), http({ method: 'POST', path: '/api/v1/x/items' })).allowed).toBe(true);
    expect(decide(ps.slice(1), http({ method: 'POST', path: '/apx/v1/items' })).allowed).toBe(true);
  });

  it('§6.2 no ALLOW policy selecting the workload means allow', () => {
    const d = decide([policy({ action: 'DENY', rules: [{ to: [{ operation: { methods: ['POST'] } }] }] })], http());
    expect(d.allowed).toBe(true);
    expect(d.stage).toBe('no-allow-policy');
  });

  it('§6.2 ALLOW with no rules denies everything', () => {
    const ps = [policy({ name: 'allow-nothing', action: 'ALLOW', rules: undefined })];
    expect(allows(ps, http())).toBe(false);
    expect(allows(ps, tcp())).toBe(false);
    expect(allows(ps, http({ peer: null }))).toBe(false);
  });

  it('§6.2 rules: [{}] allows everything', () => {
    expect(allows(allowOnly([{}]), http())).toBe(true);
    expect(allows(allowOnly([{}]), tcp({ peer: null }))).toBe(true);
    // …and as DENY it denies everything
    expect(allows(denyOnly([{}]), http())).toBe(false);
    expect(allows(denyOnly([{}]), tcp({ peer: null }))).toBe(false);
  });

  it('§6.2 ALLOW policies present and none matching means deny', () => {
    const d = decide(allowOnly([{ to: [{ operation: { paths: ['/ok'] } }] }]), http({ path: '/other' }));
    expect(d.allowed).toBe(false);
    expect(d.stage).toBe('no-allow-match');
  });

  it('§6.2 dry-run DENY is reported as shadow denied and not enforced', () => {
    const dry = policy({ name: 'dry-deny', action: 'DENY', rules: [{}], dryRun: true });
    const d = decide([dry], http());
    expect(d.allowed).toBe(true);
    expect(d.shadow).toEqual([{ rule: { namespace: 'a', policy: 'dry-deny', rule: 'ns[a]-policy[dry-deny]-rule[0]', action: 'DENY' }, policy: 'a/dry-deny', effect: 'shadow denied' }]);
  });

  it('§6.2 a dry-run ALLOW does not turn on default-deny', () => {
    const dry = policy({ name: 'dry-allow', action: 'ALLOW', rules: [{ to: [{ operation: { paths: ['/x'] } }] }], dryRun: true });
    const d = decide([dry], http({ path: '/y' }));
    expect(d.allowed).toBe(true);
    expect(d.shadow.map((s) => s.effect)).toEqual(['shadow denied']);
  });

  it('§6.2 AUDIT never changes the decision', () => {
    const audit = policy({ name: 'audit-all', action: 'AUDIT', rules: [{}] });
    const allowed = decide([audit], http());
    expect(allowed.allowed).toBe(true);
    expect(allowed.audited.map((r) => r.rule)).toEqual(['ns[a]-policy[audit-all]-rule[0]']);
    const denied = decide([audit, policy({ action: 'ALLOW', rules: undefined })], http());
    expect(denied.allowed).toBe(false);
  });

  it('§6.2 a matching CUSTOM rule asks the provider first; its deny is final', () => {
    const custom = policy({ name: 'ext', action: 'CUSTOM', provider: 'opa', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }] });
    const allowAll = policy({ action: 'ALLOW', rules: [{}] });
    const config = { extensionProviders: [{ name: 'opa', kind: 'envoyExtAuthzHttp' }] };
    const no: ExtAuthz = () => ({ allowed: false, status: 403, reason: 'no' });
    const yes: ExtAuthz = () => ({ allowed: true, reason: 'yes' });
    expect(decide([custom, allowAll], http({ path: '/admin' }), config, no).stage).toBe('custom');
    expect(decide([custom, allowAll], http({ path: '/admin' }), config, yes).allowed).toBe(true);
    expect(decide([custom, allowAll], http({ path: '/public' }), config, no).allowed).toBe(true);
    // a provider the mesh config does not define compiles to deny (§6.9)
    expect(decide([custom, allowAll], http({ path: '/admin' }), {}, yes).allowed).toBe(false);
  });

  it('§6.2 on a TCP filter chain a CUSTOM policy with an HTTP ext-authz provider does not apply (Istio builds no ext_authz filter for it); a gRPC provider still decides', () => {
    const custom = policy({ name: 'ext', action: 'CUSTOM', provider: 'opa', rules: [{}] });
    const allowAll = policy({ action: 'ALLOW', rules: [{}] });
    const no: ExtAuthz = () => ({ allowed: false, status: 403, reason: 'no' });
    const httpProvider = { extensionProviders: [{ name: 'opa', kind: 'envoyExtAuthzHttp' }] };
    const grpcProvider = { extensionProviders: [{ name: 'opa', kind: 'envoyExtAuthzGrpc' }] };
    const onTcp = decide([custom, allowAll], tcp(), httpProvider, no);
    expect(onTcp.allowed).toBe(true);
    expect(onTcp.trace.join('\n')).toContain('does not apply on this TCP filter chain');
    expect(decide([custom, allowAll], http(), httpProvider, no).stage).toBe('custom');
    expect(decide([custom, allowAll], tcp(), grpcProvider, no).stage).toBe('custom');
    // the RBAC policies still apply on that chain
    expect(decide([custom], tcp(), httpProvider, no).allowed).toBe(true);
    expect(decide([custom, policy({ action: 'DENY', rules: [{}] })], tcp(), httpProvider, no).stage).toBe('deny');
  });

  it('§6.9 a CUSTOM policy naming a provider that is no ext-authz service (a tracer, say) compiles to a deny', () => {
    const custom = policy({ name: 'ext', action: 'CUSTOM', provider: 'zipkin', rules: [{}] });
    const yes: ExtAuthz = () => ({ allowed: true, reason: 'yes' });
    const d = decide([custom, policy({ action: 'ALLOW', rules: [{}] })], http(), { extensionProviders: [{ name: 'zipkin', kind: 'zipkin' }] }, yes);
    expect(d).toMatchObject({ allowed: false, stage: 'custom' });
    expect(d.reason).toContain('not an ext-authz one');
  });
});

describe('§6.9 a CUSTOM provider Istio cannot use leaves no ext_authz filter: its rules are RBAC DENY rules', () => {
  it('an undefined, a second, or a non-ext-authz provider denies as RBAC (rbac_access_denied_matched_policy, Istio\'s bad-CUSTOM suffix), never as ext_authz', () => {
    const custom = policy({ name: 'ext', action: 'CUSTOM', provider: 'nope', rules: [{ to: [{ operation: { paths: ['/cu'] } }] }] });
    const d = decide([custom], http({ path: '/cu' }));
    expect(d).toMatchObject({ allowed: false, stage: 'custom' });
    expect(d.custom).toBeUndefined();
    expect(d.details).toBe(`rbac_access_denied_matched_policy[istio-ext-authz-${d.decidedBy?.rule ?? ''}-deny-due-to-bad-CUSTOM-action]`);
    // a request its rules do not match is not denied (the deny rules are the CUSTOM rules, nothing more)
    expect(decide([custom], http({ path: '/cx' })).allowed).toBe(true);
    // a defined ext-authz provider still denies as ext_authz
    const real = policy({ name: 'ext', action: 'CUSTOM', provider: 'opa', rules: [{}] });
    const byProvider = decide([real], http(), { extensionProviders: [{ name: 'opa', kind: 'envoyExtAuthzHttp' }] });
    expect(byProvider.details).toBe('ext_authz_denied');
    expect(byProvider.custom?.provider).toBe('opa');
  });
});

describe('§6.3 rule structure', () => {
  it('§6.3 a rule needs one matching from AND one matching to AND every when', () => {
    const rule: AuthzRule = {
      from: [{ source: { namespaces: ['x'] } }, { source: { namespaces: ['b'] } }],
      to: [{ operation: { methods: ['POST'] } }, { operation: { methods: ['GET'], paths: ['/ok'] } }],
      when: [{ key: 'request.headers[x-a]', values: ['1'] }, { key: 'destination.port', values: ['8080'] }],
    };
    const ok = http({ path: '/ok', headers: { 'x-a': '1' } });
    expect(allows(allowOnly([rule]), ok)).toBe(true);
    expect(allows(allowOnly([rule]), { ...ok, peerPrincipal: 'cluster.local/ns/c/sa/client' })).toBe(false);
    expect(allows(allowOnly([rule]), http({ path: '/no', headers: { 'x-a': '1' } }))).toBe(false);
    expect(allows(allowOnly([rule]), http({ path: '/ok', headers: { 'x-a': '1' }, port: 9000 }))).toBe(false);
  });

  it('§6.3 a positive and a negative field on the same attribute are ANDed', () => {
    const ps = denyOnly([{ to: [{ operation: { paths: ['/deny*'], notPaths: ['/deny/allow'] } }] }]);
    expect(allows(ps, http({ path: '/deny/x' }))).toBe(false);
    expect(allows(ps, http({ path: '/deny/allow' }))).toBe(true);
    expect(allows(ps, http({ path: '/other' }))).toBe(true);
  });

  it('§6.3 a policy matches when any of its rules matches', () => {
    const ps = allowOnly([{ to: [{ operation: { paths: ['/a'] } }] }, { to: [{ operation: { paths: ['/b'] } }] }]);
    expect(allows(ps, http({ path: '/b' }))).toBe(true);
    expect(allows(ps, http({ path: '/c' }))).toBe(false);
  });
});

describe('§6.4 string matching', () => {
  it('§6.4 hosts match case-insensitively', () => {
    const ps = allowOnly([{ to: [{ operation: { hosts: ['Web.A.svc.cluster.local', 'web.a.svc.cluster.local:*'] } }] }]);
    expect(allows(ps, http({ host: 'WEB.a.svc.CLUSTER.local' }))).toBe(true);
    expect(allows(ps, http({ host: 'web.A.svc.cluster.local:8080' }))).toBe(true);
    expect(allows(ps, http({ host: 'api.example.com' }))).toBe(false);
  });

  it('§6.4 everything but hosts is case-sensitive', () => {
    expect(allows(allowOnly([{ to: [{ operation: { paths: ['/Admin'] } }] }]), http({ path: '/admin' }))).toBe(false);
    expect(allows(allowOnly([{ when: [{ key: 'request.headers[x-a]', values: ['Yes'] }] }]), http({ headers: { 'x-a': 'yes' } }))).toBe(false);
  });

  it('§6.4 * requires a non-empty value', () => {
    // string-matcher fields (claims, SNI, principals…); header/host `*` is Envoy present_match, see the report
    const claim = (v: unknown) => http({ auth: { principal: 'https://a.com/alice', audiences: [], claims: { team: v } } });
    const ps = allowOnly([{ when: [{ key: 'request.auth.claims[team]', values: ['*'] }] }]);
    expect(allows(ps, claim('blue'))).toBe(true);
    expect(allows(ps, claim(''))).toBe(false);
    expect(allows(ps, http())).toBe(false);
    const sni = allowOnly([{ when: [{ key: 'connection.sni', values: ['*'] }] }]);
    expect(allows(sni, { ...tcp(), sni: 'outbound_.9000_._.web.a.svc.cluster.local' })).toBe(true);
    expect(allows(sni, { ...tcp(), sni: '' })).toBe(false);
    expect(allows(sni, tcp())).toBe(false);
  });

  it('§6.4 abc* is a prefix, *abc a suffix, and a * in the middle is literal', () => {
    const ps = (v: string) => allowOnly([{ to: [{ operation: { paths: [v] } }] }]);
    expect(allows(ps('/api/*'), http({ path: '/api/v1' }))).toBe(true);
    expect(allows(ps('*/v1'), http({ path: '/api/v1' }))).toBe(true);
    expect(allows(ps('/api/*/v1'), http({ path: '/api/x/v1' }))).toBe(false);
    expect(allows(ps('/api/*/v1'), http({ path: '/api/*/v1' }))).toBe(true);
  });

  it('§6.4 ports are exact', () => {
    const ps = allowOnly([{ to: [{ operation: { ports: ['80'] } }] }]);
    expect(allows(ps, http({ port: 80 }))).toBe(true);
    expect(allows(ps, http({ port: 8080 }))).toBe(false);
  });
});

describe('§6.5 source fields', () => {
  it('§6.5 principals never match plaintext; an ALLOW by principal denies plaintext', () => {
    const ps = allowOnly([{ from: [{ source: { principals: ['*'] } }] }]);
    expect(allows(ps, http())).toBe(true);
    expect(allows(ps, http({ peer: null }))).toBe(false);
  });

  it('§6.5 notPrincipals: [\'*\'] matches plaintext', () => {
    const ps = denyOnly([{ from: [{ source: { notPrincipals: ['*'] } }] }]);
    expect(allows(ps, http({ peer: null }))).toBe(false);
    expect(allows(ps, tcp({ peer: null }))).toBe(false);
    expect(allows(ps, http())).toBe(true);
  });

  it('§6.5 a DENY by namespace is bypassed by plaintext callers, notNamespaces catches them', () => {
    expect(allows(denyOnly([{ from: [{ source: { namespaces: ['b'] } }] }]), http({ peer: null }))).toBe(true);
    expect(allows(denyOnly([{ from: [{ source: { notNamespaces: ['a'] } }] }]), http({ peer: null }))).toBe(false);
  });

  it('§6.5 namespaces match the namespace in the peer URI', () => {
    const ps = (ns: string) => allowOnly([{ from: [{ source: { namespaces: [ns] } }] }]);
    expect(allows(ps('b'), http({ peer: 'cluster.local/ns/b/sa/client' }))).toBe(true);
    expect(allows(ps('b'), http({ peer: 'cluster.local/ns/bb/sa/client' }))).toBe(false);
    expect(allows(ps('b'), http({ peer: 'cluster.local/ns/a/sa/b' }))).toBe(false);
    expect(allows(ps('b'), http({ peer: 'other.td/ns/b/sa/client' }))).toBe(true);
    expect(allows(ps('prod-*'), http({ peer: 'cluster.local/ns/prod-eu/sa/client' }))).toBe(true);
    expect(allows(ps('*'), http({ peer: 'cluster.local/ns/b/sa/client' }))).toBe(true);
  });

  it('§6.5 namespaces are the regex .*/ns/<ns>/.* on the peer URI, so a leading * may run past the namespace segment', () => {
    // Istio: `*a` → `.*/ns/.*a/.*` on spiffe://cluster.local/ns/b/sa/client — `.*a` can span "b/sa"
    const ps = allowOnly([{ from: [{ source: { namespaces: ['*a'] } }] }]);
    expect(allows(ps, http({ peer: 'cluster.local/ns/b/sa/client' }))).toBe(true);
  });

  it('§6.5 serviceAccounts: a bare name means the policy namespace, ns/sa names another', () => {
    const bare = [policy({ namespace: 'a', action: 'ALLOW', rules: [{ from: [{ source: { serviceAccounts: ['client'] } }] }] })];
    expect(allows(bare, http({ peer: 'cluster.local/ns/a/sa/client' }))).toBe(true);
    expect(allows(bare, http({ peer: 'cluster.local/ns/b/sa/client' }))).toBe(false);
    const qualified = allowOnly([{ from: [{ source: { serviceAccounts: ['b/client'] } }] }]);
    expect(allows(qualified, http({ peer: 'cluster.local/ns/b/sa/client' }))).toBe(true);
    expect(allows(qualified, http({ peer: 'cluster.local/ns/b/sa/client2' }))).toBe(false);
  });

  it('§6.5 serviceAccounts match the namespace and service account whatever the trust domain', () => {
    // the table matches serviceAccounts against `ns/sa` only (Istio: regex spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?)
    const ps = allowOnly([{ from: [{ source: { serviceAccounts: ['b/client'] } }] }]);
    expect(allows(ps, http({ peer: 'other.td/ns/b/sa/client' }))).toBe(true);
  });

  // Istio generator.go serviceAccountRegex writes <ns> and <sa> into the regex spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)? unescaped
  it('§6.5 serviceAccounts: a . in the value matches any one character, as Istio\'s unescaped regex reads it', () => {
    const ps = allowOnly([{ from: [{ source: { serviceAccounts: ['b/web.v1'] } }] }]);
    expect(allows(ps, http({ peer: 'cluster.local/ns/b/sa/web.v1' }))).toBe(true);
    expect(allows(ps, http({ peer: 'cluster.local/ns/b/sa/web-v1' }))).toBe(true);
    expect(allows(ps, http({ peer: 'cluster.local/ns/b/sa/webv1' }))).toBe(false);
    expect(allows(ps, http({ peer: 'cluster.local/ns/b/sa/web.v10' }))).toBe(false);
    // the same in a source.serviceAccount condition and in a bare name (the policy's namespace), and a . in the namespace
    const cond = [policy({ namespace: 'a', action: 'ALLOW', rules: [{ when: [{ key: 'source.serviceAccount', values: ['api.x'] }] }] })];
    expect(allows(cond, http({ peer: 'cluster.local/ns/a/sa/api_x' }))).toBe(true);
    expect(allows(cond, http({ peer: 'cluster.local/ns/b/sa/api_x' }))).toBe(false);
    const ns = allowOnly([{ from: [{ source: { serviceAccounts: ['team.1/web'] } }] }]);
    expect(allows(ns, http({ peer: 'cluster.local/ns/team-1/sa/web' }))).toBe(true);
    // a DENY by notServiceAccounts spares what the dotted name matches
    const deny = denyOnly([{ from: [{ source: { notServiceAccounts: ['b/web.v1'] } }] }]);
    expect(allows(deny, http({ peer: 'cluster.local/ns/b/sa/web_v1' }))).toBe(true);
    expect(allows(deny, http({ peer: 'cluster.local/ns/b/sa/web' }))).toBe(false);
  });

  it('§6.5 trustDomains compare the peer trust domain; * means any authenticated peer', () => {
    const ps = (td: string) => allowOnly([{ from: [{ source: { trustDomains: [td] } }] }]);
    expect(allows(ps('cluster.local'), http())).toBe(true);
    expect(allows(ps('other.td'), http())).toBe(false);
    expect(allows(ps('cluster.*'), http())).toBe(true);
    expect(allows(ps('*'), http())).toBe(true);
    expect(allows(ps('*'), http({ peer: null }))).toBe(false);
  });

  /** a validated token's attributes, as request-authentication.ts makes them: the payload's iss and sub in its claims */
  const token = (iss: string, sub: string, claims: Record<string, unknown> = {}) => http({ auth: { principal: `${iss}/${sub}`, audiences: [], claims: { iss, sub, ...claims } } });

  it('§6.5 requestPrincipals: * needs a token; the value is split at the last / into the token\'s iss and sub', () => {
    const ps = (v: string) => allowOnly([{ from: [{ source: { requestPrincipals: [v] } }] }]);
    expect(allows(ps('*'), token('https://a.com', 'alice'))).toBe(true);
    expect(allows(ps('*'), http())).toBe(false);
    expect(allows(ps('https://a.com/alice'), token('https://a.com', 'alice'))).toBe(true);
    expect(allows(ps('*/alice'), token('https://b.org', 'alice'))).toBe(true);
    expect(allows(ps('https://a.com/*'), token('https://a.com', 'bob'))).toBe(true);
    // a subject with a `/` is matched whole: the token's own claims, not a split of the principal text
    expect(allows(ps('https://a.com/team/alice'), token('https://a.com', 'team/alice'))).toBe(false);
    expect(allows(ps('*/team/alice'), token('https://a.com', 'team/alice'))).toBe(false);
  });

  it('§6.5 requestPrincipals: a * is a wildcard only at the start or the end of the whole value (Istio requestPrincipalGenerator)', () => {
    const ps = (v: string) => allowOnly([{ from: [{ source: { requestPrincipals: [v] } }] }]);
    const t = token('https://auth.example.com', 'alice');
    // a leading *: the issuer by suffix, the subject EXACTLY — `*.com/*` wants the subject "*"
    expect(allows(ps('*.example.com/alice'), t)).toBe(true);
    expect(allows(ps('*.com/*'), t)).toBe(false);
    // a trailing *: the issuer EXACTLY, the subject by prefix — `https://auth*/alice` wants the issuer "https://auth*"
    expect(allows(ps('https://auth.example.com/ali*'), t)).toBe(true);
    expect(allows(ps('https://auth*/alice'), t)).toBe(false);
    // both ends are not a pattern in the middle: `*/ali*` wants the subject "ali*"
    expect(allows(ps('*/ali*'), t)).toBe(false);
    // no `/`: a leading * is any issuer and a subject suffix, a trailing * an issuer prefix and any subject
    expect(allows(ps('*ice'), t)).toBe(true);
    expect(allows(ps('issuer*'), token('issuer-a', 'alice'))).toBe(true);
    // (`https://auth*` has a `/`: it is split, and wants the issuer "https:" + "/" exactly)
    expect(allows(ps('https://auth*'), t)).toBe(false);
  });

  it('§6.5 requestPrincipals iss/*: the issuer part is exact once the value is split at the last /', () => {
    // `https://a.com/*` = iss exactly `https://a.com`, any sub; a token from issuer https://a.com/x does not match
    const ps = allowOnly([{ from: [{ source: { requestPrincipals: ['https://a.com/*'] } }] }]);
    expect(allows(ps, token('https://a.com/x', 'alice'))).toBe(false);
  });

  it('§6.5 notRequestPrincipals match a request without a token', () => {
    const ps = denyOnly([{ from: [{ source: { notRequestPrincipals: ['*'] } }] }]);
    expect(allows(ps, http())).toBe(false);
    expect(allows(ps, token('https://a.com', 'alice'))).toBe(true);
  });

  it('§6.5 ipBlocks match the direct peer IP, remoteIpBlocks the original client IP', () => {
    const a: AuthzAttributes = { ...http({ sourceIp: '10.0.0.7' }), remoteIp: '203.0.113.9' };
    expect(allows(allowOnly([{ from: [{ source: { ipBlocks: ['10.0.0.0/24'] } }] }]), a)).toBe(true);
    expect(allows(allowOnly([{ from: [{ source: { ipBlocks: ['203.0.113.9'] } }] }]), a)).toBe(false);
    expect(allows(allowOnly([{ from: [{ source: { remoteIpBlocks: ['203.0.113.0/24'] } }] }]), a)).toBe(true);
  });
});

describe('§1 trust-domain aliases', () => {
  const TD = { trustDomain: 'td1', trustDomainAliases: ['td2'] };

  it('§1 cluster.local in a policy means the local trust domain and its aliases', () => {
    const ps = allowOnly([{ from: [{ source: { principals: ['cluster.local/ns/b/sa/client'] } }] }]);
    expect(allows(ps, http({ peer: 'td1/ns/b/sa/client' }), TD)).toBe(true);
    expect(allows(ps, http({ peer: 'td2/ns/b/sa/client' }), TD)).toBe(true);
    expect(allows(ps, http({ peer: 'cluster.local/ns/b/sa/client' }), TD)).toBe(false);
    expect(allows(ps, http({ peer: 'td3/ns/b/sa/client' }), TD)).toBe(false);
  });

  it('§1 a principal in an alias trust domain matches every member of the bundle', () => {
    const ps = allowOnly([{ from: [{ source: { principals: ['td2/ns/b/sa/*'] } }] }]);
    expect(allows(ps, http({ peer: 'td1/ns/b/sa/client' }), TD)).toBe(true);
    expect(allows(ps, http({ peer: 'td1/ns/a/sa/client' }), TD)).toBe(false);
  });

  it('§1 a principal with another trust domain only matches that literal trust domain; */… ignores it', () => {
    const other = allowOnly([{ from: [{ source: { principals: ['td9/ns/b/sa/client'] } }] }]);
    expect(allows(other, http({ peer: 'td9/ns/b/sa/client' }), TD)).toBe(true);
    expect(allows(other, http({ peer: 'td1/ns/b/sa/client' }), TD)).toBe(false);
    const any = allowOnly([{ from: [{ source: { principals: ['*/ns/b/sa/client'] } }] }]);
    expect(allows(any, http({ peer: 'td9/ns/b/sa/client' }), TD)).toBe(true);
  });

  it('§1 trustDomains equal to a bundle member stand for the whole bundle', () => {
    const ps = allowOnly([{ from: [{ source: { trustDomains: ['td2'] } }] }]);
    expect(allows(ps, http({ peer: 'td1/ns/b/sa/client' }), TD)).toBe(true);
    expect(allows(ps, http({ peer: 'td9/ns/b/sa/client' }), TD)).toBe(false);
  });

  it('§1 the same policy objects under a changed trust-domain bundle are matched against the new bundle (compiled policies are not reused across bundles)', () => {
    const ps = allowOnly([{ from: [{ source: { principals: ['td2/ns/b/sa/client'] } }] }]);
    const peer = http({ peer: 'td1/ns/b/sa/client' });
    const aliased = mesh(ps, TD, [WEB, DB]);
    expect(evaluateAuthz(aliased, WEB, peer).allowed).toBe(true);
    // same policy array and workload, a mesh config without the alias: td2 is no longer part of the bundle
    const plain: Mesh = { ...aliased, config: { ...aliased.config, trustDomainAliases: [] } };
    expect(evaluateAuthz(plain, WEB, peer).allowed).toBe(false);
    expect(evaluateAuthz(aliased, WEB, peer).allowed).toBe(true);
  });

  it('§1 source.principal conditions are expanded like principals', () => {
    const ps = allowOnly([{ when: [{ key: 'source.principal', values: ['cluster.local/ns/b/sa/client'] }] }]);
    expect(allows(ps, http({ peer: 'td2/ns/b/sa/client' }), TD)).toBe(true);
  });
});

describe('§6.6 operation fields', () => {
  it('§6.6 paths ignore the query string', () => {
    const ps = allowOnly([{ to: [{ operation: { paths: ['/allow'] } }] }]);
    expect(allows(ps, http({ path: normalized('/allow?x=y') }))).toBe(true);
    expect(allows(ps, http({ path: normalized('/allowed?x=y') }))).toBe(false);
  });

  it('§6.6 path templates {*} and {**}', () => {
    const ps = (v: string) => allowOnly([{ to: [{ operation: { paths: [v] } }] }]);
    expect(allows(ps('/api/{*}/items'), http({ path: '/api/v1/items' }))).toBe(true);
    expect(allows(ps('/api/{*}/items'), http({ path: '/api/v1/x/items' }))).toBe(false);
    expect(allows(ps('/api/{*}/items'), http({ path: '/api//items' }))).toBe(false);
    expect(allows(ps('/api/{**}'), http({ path: '/api/v1/x/items' }))).toBe(true);
    expect(allows(ps('/api/{**}'), http({ path: '/other/v1' }))).toBe(false);
    expect(allows(ps('/{*}/{**}'), http({ path: '/a/b/c' }))).toBe(true);
  });

  it('§6.6 /public/../private does not match /public*', () => {
    const ps = allowOnly([{ to: [{ operation: { paths: ['/public*'] } }] }]);
    expect(allows(ps, http({ path: normalized('/public/../public') }))).toBe(true);
    for (const raw of ['/public/../private', '/public/%2E%2E/private', '/public/%2e/%2e%2e/private']) {
      expect(allows(ps, http({ path: normalized(raw) })), raw).toBe(false);
    }
  });

  it('§6.6 methods compare the exact :method', () => {
    const ps = allowOnly([{ to: [{ operation: { methods: ['GET'] } }] }]);
    expect(allows(ps, http({ method: 'GET' }))).toBe(true);
    expect(allows(ps, http({ method: 'POST' }))).toBe(false);
  });

  it('§6.6 ports are the destination workload port', () => {
    const ps = allowOnly([{ to: [{ operation: { ports: ['9000'] } }] }]);
    expect(allows(ps, tcp({ port: 9000 }))).toBe(true);
    expect(allows(ps, tcp({ port: 8080 }))).toBe(false);
  });
});

describe('§6.7 when conditions', () => {
  it('§6.7 a missing header never matches values but matches notValues', () => {
    expect(allows(allowOnly([{ when: [{ key: 'request.headers[x-user]', values: ['*'] }] }]), http())).toBe(false);
    expect(allows(allowOnly([{ when: [{ key: 'request.headers[x-user]', notValues: ['admin'] }] }]), http())).toBe(true);
    expect(allows(denyOnly([{ when: [{ key: 'request.headers[x-user]', notValues: ['admin'] }] }]), http())).toBe(false);
  });

  it('§6.7 a header key that names an Object property (constructor, __proto__) is an absent header, not a crash', () => {
    for (const name of ['constructor', '__proto__', 'toString']) {
      expect(allows(allowOnly([{ when: [{ key: `request.headers[${name}]`, values: ['*'] }] }]), http()), name).toBe(false);
      expect(allows(allowOnly([{ when: [{ key: `request.headers[${name}]`, values: ['x*'] }] }]), http()), name).toBe(false);
      expect(allows(allowOnly([{ when: [{ key: `request.auth.claims[${name}]`, values: ['x'] }] }]), http({ auth: { principal: 'i/s', audiences: [], claims: {} } })), name).toBe(false);
    }
  });

  it('§6.7 header names are case-insensitive', () => {
    const ps = allowOnly([{ when: [{ key: 'request.headers[X-User]', values: ['admin'] }] }]);
    expect(allows(ps, http({ headers: { 'x-user': 'admin' } }))).toBe(true);
  });

  it('§6.7 values and notValues of one condition must both hold', () => {
    const ps = allowOnly([{ when: [{ key: 'request.headers[x-user]', values: ['a*'], notValues: ['admin'] }] }]);
    expect(allows(ps, http({ headers: { 'x-user': 'alice' } }))).toBe(true);
    expect(allows(ps, http({ headers: { 'x-user': 'admin' } }))).toBe(false);
  });

  it('§6.7 request.auth.claims nested and list claims; scope split on spaces', () => {
    const auth = {
      principal: 'https://a.com/alice', audiences: ['web', 'api'], presenter: 'app1',
      claims: { iss: 'https://a.com', sub: 'alice', aud: ['web', 'api'], azp: 'app1', groups: ['dev', 'admin'], scope: 'read write', team: { lead: { name: 'bob' }, scope: 'x y' }, role: 'a b', verified: true, level: 3, ids: [1, 'two'] },
    };
    const a = http({ auth });
    const claim = (key: string, v: string) => allows(allowOnly([{ when: [{ key, values: [v] }] }]), a);
    expect(claim('request.auth.claims[groups]', 'admin')).toBe(true);
    expect(claim('request.auth.claims[groups]', 'ops')).toBe(false);
    expect(claim('request.auth.claims[team][lead][name]', 'bob')).toBe(true);
    expect(claim('request.auth.claims[team][lead]', 'bob')).toBe(false);
    expect(claim('request.auth.claims[scope]', 'write')).toBe(true);
    expect(claim('request.auth.claims[role]', 'b')).toBe(false); // not a space-delimited claim
    expect(claim('request.auth.claims[role]', 'a b')).toBe(true);
    expect(allows(allowOnly([{ when: [{ key: 'request.auth.claims[role]', values: ['b'] }] }]), http({ auth: { ...auth, spaceDelimitedClaims: ['role'] } }))).toBe(true);
    expect(claim('request.auth.audiences', 'api')).toBe(true);
    expect(claim('request.auth.presenter', 'app1')).toBe(true);
    expect(claim('request.auth.principal', 'https://a.com/alice')).toBe(true);
    // only top-level claims are split on spaces (Envoy setPayloadMetadata)
    expect(claim('request.auth.claims[team][scope]', 'y')).toBe(false);
    expect(claim('request.auth.claims[team][scope]', 'x y')).toBe(true);
    // a string matcher matches string values only: a boolean or number claim, or list element, matches nothing (istio#49913)
    expect(claim('request.auth.claims[verified]', 'true')).toBe(false);
    expect(claim('request.auth.claims[level]', '3')).toBe(false);
    expect(claim('request.auth.claims[ids]', '1')).toBe(false);
    expect(claim('request.auth.claims[ids]', 'two')).toBe(true);
    expect(allows(allowOnly([{ when: [{ key: 'request.auth.claims[groups]', values: ['admin'] }] }]), http())).toBe(false);
  });

  // Istio generator.go: request.auth.presenter and request.auth.audiences are the claim matcher of request.auth.claims[azp]
  // and request.auth.claims[aud] (MetadataListValueMatcherForJWTClaims), any-of over the claim's string values.
  it('§6.7 request.auth.presenter matches the azp claim and request.auth.audiences the aud claim, as request.auth.claims[azp] / [aud] do', () => {
    const token = (claims: Record<string, unknown>, spaceDelimitedClaims?: string[]) =>
      http({ auth: { principal: 'i/s', audiences: [], claims: { iss: 'i', sub: 's', ...claims }, ...(spaceDelimitedClaims ? { spaceDelimitedClaims } : {}) } });
    const cond = (key: string, values: string[], a: ReturnType<typeof http>, notValues?: string[]) =>
      allows(allowOnly([{ when: [{ key, ...(values.length > 0 ? { values } : {}), ...(notValues ? { notValues } : {}) }] }]), a);
    // a string aud, and any element of a list aud, with Istio's prefix/suffix/presence forms
    expect(cond('request.auth.audiences', ['api'], token({ aud: 'api' }))).toBe(true);
    expect(cond('request.auth.audiences', ['api'], token({ aud: ['web', 'api'] }))).toBe(true);
    expect(cond('request.auth.audiences', ['*.example.com'], token({ aud: ['web', 'pay.example.com'] }))).toBe(true);
    expect(cond('request.auth.audiences', ['api'], token({ aud: ['web'] }))).toBe(false);
    // azp read as a claim: a list azp matches by any string element (a string field could hold only one)
    expect(cond('request.auth.presenter', ['app1'], token({ azp: 'app1' }))).toBe(true);
    expect(cond('request.auth.presenter', ['app1'], token({ azp: ['app2', 'app1'] }))).toBe(true);
    expect(cond('request.auth.presenter', ['app*'], token({ azp: 'app9' }))).toBe(true);
    expect(cond('request.auth.presenter', ['app1'], token({ azp: 7 }))).toBe(false);
    // no claim, or no token: values never match, notValues do
    expect(cond('request.auth.presenter', ['*'], token({}))).toBe(false);
    expect(cond('request.auth.presenter', [], token({}), ['app1'])).toBe(true);
    expect(cond('request.auth.audiences', [], http(), ['api'])).toBe(true);
    // spaceDelimitedClaims splits azp / aud as it splits any top-level claim
    expect(cond('request.auth.presenter', ['b'], token({ azp: 'a b' }))).toBe(false);
    expect(cond('request.auth.presenter', ['b'], token({ azp: 'a b' }, ['azp']))).toBe(true);
    // the same answers as the claim keys
    for (const [claims, v] of [[{ azp: ['x', 'app1'] }, 'app1'], [{ azp: 'app1' }, 'app2'], [{ aud: 'a b' }, 'b']] as const) {
      expect(cond('request.auth.presenter', [v], token(claims))).toBe(cond('request.auth.claims[azp]', [v], token(claims)));
      expect(cond('request.auth.audiences', [v], token(claims))).toBe(cond('request.auth.claims[aud]', [v], token(claims)));
    }
  });

  it('§6.7 destination.port and connection.sni conditions work on TCP', () => {
    const ps = allowOnly([{ when: [{ key: 'destination.port', values: ['9000'] }, { key: 'connection.sni', values: ['outbound_.9000_*'] }] }]);
    expect(allows(ps, { ...tcp({ port: 9000 }), sni: 'outbound_.9000_._.db.b.svc.cluster.local' })).toBe(true);
    expect(allows(ps, { ...tcp({ port: 9000 }), sni: null })).toBe(false);
  });
});

describe('§6.8 HTTP-only fields on TCP', () => {
  it('§6.8 ALLOW methods:[GET] on a TCP port denies all TCP', () => {
    const ps = allowOnly([{ to: [{ operation: { methods: ['GET'] } }] }]);
    expect(allows(ps, http({ method: 'GET' }))).toBe(true);
    const d = decide(ps, tcp());
    expect(d.allowed).toBe(false);
    expect(d.stage).toBe('no-allow-match');
    expect(d.dropped).toEqual([{ rule: 'ns[a]-policy[allow]-rule[0]', fields: ['methods'], effect: 'rule dropped' }]);
  });

  it('§6.8 ALLOW: only the rules with HTTP-only fields are dropped', () => {
    const ps = allowOnly([{ to: [{ operation: { ports: ['9000'], paths: ['/x'] } }] }, { to: [{ operation: { ports: ['9000'] } }] }]);
    expect(allows(ps, tcp({ port: 9000 }))).toBe(true);
    expect(decide(ps, tcp({ port: 9000 })).decidedBy?.rule).toBe('ns[a]-policy[allow]-rule[1]');
  });

  it('§6.8 DENY methods:[GET] ports:[9000] denies TCP to 9000 only', () => {
    const ps = denyOnly([{ to: [{ operation: { methods: ['GET'], ports: ['9000'] } }] }]);
    expect(allows(ps, tcp({ port: 9000 }))).toBe(false);
    expect(allows(ps, tcp({ port: 8080 }))).toBe(true);
    // on HTTP the method still counts
    expect(allows(ps, http({ port: 9000, method: 'POST' }))).toBe(true);
    expect(allows(denyOnly([{ to: [{ operation: { methods: ['GET'] } }] }]), tcp({ port: 8080 }))).toBe(false);
  });

  it('§6.8 DENY notRequestPrincipals on TCP is dropped, not inverted', () => {
    // the field is dropped; the field-less remainder matches everything → all TCP is denied, mTLS or not
    const ps = denyOnly([{ from: [{ source: { notRequestPrincipals: ['*'] } }] }]);
    for (const a of [tcp(), tcp({ peer: null }), tcp({ port: 8080 })]) {
      const d = decide(ps, a);
      expect(d.allowed).toBe(false);
      expect(d.details).toBe('rbac_access_denied_matched_policy[ns[a]-policy[deny]-rule[0]]');
    }
    expect(decide(ps, tcp()).dropped).toEqual([{ rule: 'ns[a]-policy[deny]-rule[0]', fields: ['notRequestPrincipals'], effect: 'fields dropped' }]);
  });

  it('§6.8 DENY keeps the non-HTTP fields of the rule on TCP', () => {
    const ps = denyOnly([{ from: [{ source: { requestPrincipals: ['*'], namespaces: ['b'] } }], when: [{ key: 'request.headers[x-a]', values: ['1'] }] }]);
    expect(allows(ps, tcp({ peer: 'cluster.local/ns/b/sa/client' }))).toBe(false);
    expect(allows(ps, tcp({ peer: 'cluster.local/ns/c/sa/client' }))).toBe(true);
  });

  it('§6.8 AUDIT keeps the rule minus its HTTP-only fields on TCP', () => {
    const ps = [policy({ name: 'audit', action: 'AUDIT', rules: [{ to: [{ operation: { paths: ['/x'] } }] }] })];
    expect(decide(ps, tcp()).audited.map((r) => r.rule)).toEqual(['ns[a]-policy[audit]-rule[0]']);
  });
});

describe('§6.9 denial as seen by the client', () => {
  it('§6.9 a DENY match reports rbac_access_denied_matched_policy[ns[..]-policy[..]-rule[i]]', () => {
    const ps = [policy({ name: 'block', namespace: 'a', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/x'] } }] }, { to: [{ operation: { paths: ['/admin'] } }] }] })];
    const d = decide(ps, http({ path: '/admin' }));
    expect(d.allowed).toBe(false);
    expect(d.details).toBe('rbac_access_denied_matched_policy[ns[a]-policy[block]-rule[1]]');
    expect(d.decidedBy).toEqual({ namespace: 'a', policy: 'block', rule: 'ns[a]-policy[block]-rule[1]', action: 'DENY' });
  });

  it('§6.9 no ALLOW match reports rbac_access_denied_matched_policy[none]', () => {
    const d = decide(allowOnly([{ to: [{ operation: { paths: ['/ok'] } }] }]), http({ path: '/nope' }));
    expect(d.allowed).toBe(false);
    expect(d.details).toBe('rbac_access_denied_matched_policy[none]');
    expect(d.decidedBy).toBeNull();
    expect(d.consulted).toEqual([{ namespace: 'a', name: 'allow', action: 'ALLOW' }]);
  });
});

describe('§6.7 request.experimental.inline.headers', () => {
  const inline = (values: string[], notValues?: string[]) =>
    allowOnly([{ when: [{ key: 'request.experimental.inline.headers[X-Role]', values, ...(notValues ? { notValues } : {}) }] }]);
  const role = (v: string) => http({ headers: { 'x-role': v } });

  it('§6.7 "inline.headers matches one comma-separated element of the header, where request.headers matches the whole value"', () => {
    expect(allows(inline(['b']), role('a,b,c'))).toBe(true);
    expect(allows(inline(['a']), role('a,b'))).toBe(true);
    expect(allows(inline(['c']), role('a,b,c'))).toBe(true);
    expect(allows(inline(['a,b']), role('a,b,c'))).toBe(true);
    expect(allows(inline(['b']), role('a,bc'))).toBe(false);
    expect(allows(inline(['b']), role('ab'))).toBe(false);
    // nothing is trimmed: the element after ", " starts with a space
    expect(allows(inline(['b']), role('a, b'))).toBe(false);
    expect(allows(inline([' b']), role('a, b'))).toBe(true);
    expect(allows(allowOnly([{ when: [{ key: 'request.headers[x-role]', values: ['b'] }] }]), role('a,b,c'))).toBe(false);
  });

  it('§6.7 "inline.headers: a leading * matches an element by suffix, a trailing * by prefix, * alone a present header"', () => {
    expect(allows(inline(['ad*']), role('user,admin'))).toBe(true);
    expect(allows(inline(['ad*']), role('user,badmin'))).toBe(false);
    expect(allows(inline(['*min']), role('admin,user'))).toBe(true);
    expect(allows(inline(['*min']), role('admins,user'))).toBe(false);
    // a * in the middle is literal
    expect(allows(inline(['a*n']), role('admin'))).toBe(false);
    expect(allows(inline(['a*n']), role('x,a*n'))).toBe(true);
    expect(allows(inline(['*']), role(''))).toBe(true);
    expect(allows(inline(['*']), http())).toBe(false);
  });

  it('§6.7 "inline.headers: notValues holds for an absent header and fails when an element matches"', () => {
    expect(allows(inline([], ['b']), http())).toBe(true);
    expect(allows(inline([], ['b']), role('a,c'))).toBe(true);
    expect(allows(inline([], ['b']), role('a,b'))).toBe(false);
  });

  it('§6.8 "inline.headers is HTTP only: an ALLOW rule with it is dropped on TCP, a DENY rule loses the condition"', () => {
    const key = 'request.experimental.inline.headers[x-role]';
    // kept, either rule would let a request without the header through
    expect(allows(allowOnly([{ when: [{ key, notValues: ['a'] }] }]), tcp())).toBe(false);
    expect(allows(denyOnly([{ when: [{ key, values: ['a'] }] }]), tcp())).toBe(false);
    expect(allows(allowOnly([{ when: [{ key, notValues: ['a'] }] }]), http())).toBe(true);
  });
});
