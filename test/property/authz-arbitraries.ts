/**
 * fast-check arbitraries for AuthorizationPolicy properties. Everything is drawn
 * from a small alphabet (two namespaces, a handful of principals, paths,
 * methods, ports…) so that generated rules actually match generated requests.
 */
import fc from 'fast-check';
import type { AuthorizationPolicy, AuthzAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, Labels, MeshConfig, TargetRef } from '../../src/model/types.js';
import type { AuthzAttributes } from '../../src/policy/authorization-policy.js';
import { policy } from './authz-mesh.js';

// ------------------------------------------------------------------ alphabets

export const TRUST: fc.Arbitrary<Pick<MeshConfig, 'trustDomain' | 'trustDomainAliases'>> = fc.constantFrom(
  { trustDomain: 'cluster.local', trustDomainAliases: [] },
  { trustDomain: 'td1', trustDomainAliases: ['td2'] },
  { trustDomain: 'td1', trustDomainAliases: [] },
  { trustDomain: 'cluster.local', trustDomainAliases: ['td2'] },
);

export const PEERS = [
  'cluster.local/ns/a/sa/x', 'cluster.local/ns/b/sa/y', 'cluster.local/ns/b/sa/x',
  'td1/ns/a/sa/y', 'td2/ns/b/sa/x', 'other.td/ns/a/sa/x',
];

const PRINCIPAL_VALUES = [
  '*', 'cluster.local/ns/b/sa/x', 'td1/ns/a/sa/y', 'td2/ns/b/sa/x', 'other.td/ns/a/sa/x',
  '*/ns/a/sa/x', 'cluster.local/ns/b/sa/*', '*/sa/y',
];
/** `*a` is the Istio regex `.*\/ns/.*a/.*`, which also matches through the `sa` segment (§6.5). */
const NAMESPACE_VALUES = ['a', 'b', '*', 'b*', '*a'];
const SA_VALUES = ['x', 'y', 'b/x', 'a/y', 'a/x', 'b/.'];
const TD_VALUES = ['cluster.local', 'td1', 'td2', 'other.td', '*', 'td*', '*.td'];
/** tokens' (iss, sub): the principal is `iss/sub`; one subject holds a `/`, one issuer none */
const JWT_TOKENS: readonly (readonly [unknown, unknown])[] = [
  ['https://a.com', 'alice'], ['https://a.com', 'bob'], ['https://a.com/x', 'alice'], ['https://b.org', 'alice'], ['https://a.com', 'team/alice'], ['issuer-a', 'alice'],
  // a token without sub, one with a number for iss, one with an empty sub
  ['https://a.com', undefined], [7, 'alice'], ['https://a.com', ''],
];
const REQUEST_PRINCIPAL_VALUES = ['*', 'https://a.com/alice', 'https://a.com/*', '*/alice', 'https://a.com/x/*', '*.com/*', '*.com/alice', '*/ali*', 'https://a.com/ali*', '*ice', 'issuer*', 'https://a.com/team/alice', '/', '*/', 'https://a.com/', '**', 'https://a.com'];
const IPS = ['10.0.0.1', '10.0.1.5', '192.168.1.9'];
const IP_VALUES = ['10.0.0.0/24', '10.0.0.1', '192.168.0.0/16', '10.0.1.0/24'];
const HOSTS = ['web.a.svc.cluster.local', 'WEB.a.svc.cluster.local:8080', 'web', 'api.example.com'];
const HOST_VALUES = ['web.a.svc.cluster.local', 'WEB.A.svc.cluster.local', 'web*', '*:8080', '*', 'web.a.svc.cluster.local:*'];
const PORT_VALUES = ['8080', '9000'];
const METHODS = ['GET', 'POST', 'DELETE'];
const PATHS = ['/', '/public/a', '/admin', '/api/v1/items', '/api/v1/x/items', '/private'];
const PATH_VALUES = ['/public*', '/admin', '/api/{*}/items', '/api/{**}', '*/items', '/'];
const SNI = 'outbound_.8080_._.web.a.svc.cluster.local';

const WHEN_VALUES: Record<string, readonly string[]> = {
  'request.headers[X-User]': ['admin', 'ad*', '*'],
  'request.experimental.inline.headers[X-User]': ['admin', 'ad*', '*', '*in', 'bob,admin', ' bob', 'b*'],
  'source.ip': IP_VALUES,
  'remote.ip': IP_VALUES,
  'destination.ip': ['10.0.9.9', '10.0.9.0/24'],
  'destination.port': PORT_VALUES,
  'source.namespace': NAMESPACE_VALUES,
  'source.principal': PRINCIPAL_VALUES,
  'source.serviceAccount': SA_VALUES,
  'source.trustDomain': TD_VALUES,
  'connection.sni': [SNI, 'outbound_*', '*'],
  'request.auth.principal': REQUEST_PRINCIPAL_VALUES,
  'request.auth.audiences': ['web', 'api*'],
  'request.auth.presenter': ['app1'],
  'request.auth.claims[groups]': ['admin', 'dev'],
  'request.auth.claims[scope]': ['read', 'write'],
  'request.auth.claims[nested][role]': ['owner'],
  'request.auth.claims[nested][scope]': ['read', 'read write'],
  'request.auth.claims[verified]': ['true'],
};

// ------------------------------------------------------------------ policies

const values = (xs: readonly string[]) => fc.uniqueArray(fc.constantFrom(...xs), { minLength: 1, maxLength: 2 });

/** Between 1 and `max` of the given fields, each with one or two values. */
function someFields<K extends string>(spec: Record<K, readonly string[]>, max: number): fc.Arbitrary<Partial<Record<K, string[]>>> {
  const keys = Object.keys(spec) as K[];
  return fc.subarray(keys, { minLength: 1, maxLength: max }).chain((ks) => {
    const model = {} as Record<K, fc.Arbitrary<string[]>>;
    for (const k of ks) model[k] = values(spec[k]);
    return fc.record(model) as fc.Arbitrary<Partial<Record<K, string[]>>>;
  });
}

const SOURCE_SPEC: Record<keyof AuthzSource, readonly string[]> = {
  principals: PRINCIPAL_VALUES, notPrincipals: PRINCIPAL_VALUES,
  namespaces: NAMESPACE_VALUES, notNamespaces: NAMESPACE_VALUES,
  serviceAccounts: SA_VALUES, notServiceAccounts: SA_VALUES,
  trustDomains: TD_VALUES, notTrustDomains: TD_VALUES,
  requestPrincipals: REQUEST_PRINCIPAL_VALUES, notRequestPrincipals: REQUEST_PRINCIPAL_VALUES,
  ipBlocks: IP_VALUES, notIpBlocks: IP_VALUES,
  remoteIpBlocks: IP_VALUES, notRemoteIpBlocks: IP_VALUES,
};

const OPERATION_SPEC: Record<keyof AuthzOperation, readonly string[]> = {
  hosts: HOST_VALUES, notHosts: HOST_VALUES, ports: PORT_VALUES, notPorts: PORT_VALUES,
  methods: METHODS, notMethods: METHODS, paths: PATH_VALUES, notPaths: PATH_VALUES,
};

/** Validation (§6.3) rejects serviceAccounts together with principals or namespaces. */
function validSource(s: AuthzSource): boolean {
  const sa = s.serviceAccounts !== undefined || s.notServiceAccounts !== undefined;
  const other = [s.principals, s.notPrincipals, s.namespaces, s.notNamespaces].some((x) => x !== undefined);
  return !(sa && other);
}

export const sourceArb: fc.Arbitrary<AuthzSource> = someFields(SOURCE_SPEC, 2).filter(validSource);
export const operationArb: fc.Arbitrary<AuthzOperation> = someFields(OPERATION_SPEC, 2);

export const conditionArb: fc.Arbitrary<AuthzCondition> = fc.constantFrom(...Object.keys(WHEN_VALUES)).chain((key) => {
  const vs = WHEN_VALUES[key] ?? [];
  return fc.oneof(
    values(vs).map((v): AuthzCondition => ({ key, values: v })),
    values(vs).map((v): AuthzCondition => ({ key, notValues: v })),
    fc.tuple(values(vs), values(vs)).map(([v, n]): AuthzCondition => ({ key, values: v, notValues: n })),
  );
});

export const ruleArb: fc.Arbitrary<AuthzRule> = fc.record({
  from: fc.array(sourceArb, { minLength: 1, maxLength: 2 }).map((xs) => xs.map((source) => ({ source }))),
  to: fc.array(operationArb, { minLength: 1, maxLength: 2 }).map((xs) => xs.map((operation) => ({ operation }))),
  when: fc.array(conditionArb, { minLength: 1, maxLength: 2 }),
}, { requiredKeys: [] });

export const rulesArb: fc.Arbitrary<AuthzRule[]> = fc.array(ruleArb, { minLength: 1, maxLength: 2 });

export interface PolicyShape {
  action: AuthzAction;
  namespace: string;
  selector: Labels | null;
  targetRefs: TargetRef[];
  dryRun: boolean;
  rules: AuthzRule[] | undefined;
}

const GATEWAY_REF: TargetRef = { kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' };

/** Mostly policies that select `a/web` (labels app=web); some that do not. */
export function policyArb(actions: readonly AuthzAction[] = ['ALLOW', 'ALLOW', 'DENY', 'AUDIT'], dryRunWeight = 1): fc.Arbitrary<AuthorizationPolicy> {
  return fc.record({
    action: fc.constantFrom(...actions),
    namespace: fc.constantFrom('a', 'a', 'a', 'istio-system', 'b'),
    selector: fc.constantFrom<Labels | null>(null, null, { app: 'web' }, { app: 'db' }),
    targetRefs: fc.oneof({ weight: 12, arbitrary: fc.constant<TargetRef[]>([]) }, { weight: 1, arbitrary: fc.constant<TargetRef[]>([GATEWAY_REF]) }),
    dryRun: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: dryRunWeight, arbitrary: fc.constant(true) }),
    rules: fc.oneof(
      { weight: 8, arbitrary: rulesArb },
      { weight: 1, arbitrary: fc.constant<AuthzRule[]>([{}]) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
  }).map((s: PolicyShape) => {
    // DENY/AUDIT/CUSTOM without rules is rejected by validation (§6.2): give them an empty-rule list instead
    const rules = s.rules === undefined && s.action !== 'ALLOW' ? [{}] : s.rules;
    return policy({ ...s, rules });
  });
}

/** 0..4 policies with distinct names (names are what rule references print). */
export function policiesArb(actions?: readonly AuthzAction[], maxLength = 4): fc.Arbitrary<AuthorizationPolicy[]> {
  return fc.array(policyArb(actions), { maxLength }).map(renumber);
}

export function renumber(ps: AuthorizationPolicy[]): AuthorizationPolicy[] {
  return ps.map((p, i) => ({ ...p, meta: { ...p.meta, name: `p${i}`, order: i } }));
}

// ------------------------------------------------------------------ requests

const authArb: fc.Arbitrary<NonNullable<AuthzAttributes['auth']>> = fc.record({
  token: fc.constantFrom(...JWT_TOKENS),
  audiences: fc.constantFrom(['web'], ['api1', 'other'], []),
  // the token's azp: usually a string, rarely a list (matched by any element, as Istio's claim matcher does)
  presenter: fc.option(fc.constantFrom<string | string[]>('app1', 'app2', ['app2', 'app1']), { nil: undefined }),
  claims: fc.record({
    groups: fc.constantFrom<unknown>(['admin', 'dev'], 'admin', ['ops'], [true, 'admin'], 7),
    scope: fc.constantFrom('read write', 'write', ''),
    nested: fc.constantFrom<unknown>({ role: 'owner' }, { role: 'guest' }, 'owner', { role: 'owner', scope: 'read write' }),
    verified: fc.constantFrom<unknown>(true, 'true', false),
  }, { requiredKeys: [] }),
}).map(({ token: [iss, sub], audiences, presenter, claims }) => {
  const both = typeof iss === 'string' && iss !== '' && typeof sub === 'string' && sub !== '';
  const auth: NonNullable<AuthzAttributes['auth']> = { principal: both ? `${iss as string}/${sub as string}` : '', audiences: [...audiences],
    claims: { ...claims, ...(iss === undefined ? {} : { iss }), ...(sub === undefined ? {} : { sub }),
      ...(audiences.length === 0 ? {} : { aud: audiences.length === 1 ? audiences[0] : [...audiences] }), ...(presenter === undefined ? {} : { azp: presenter }) } };
  if (typeof presenter === 'string') auth.presenter = presenter;
  return auth;
});

export const requestArb: fc.Arbitrary<AuthzAttributes> = fc.record({
  protocol: fc.constantFrom<'http' | 'tcp'>('http', 'http', 'tcp'),
  peerPrincipal: fc.constantFrom<string | null>(null, ...PEERS),
  sourceIp: fc.constantFrom(...IPS),
  remoteIp: fc.constantFrom(...IPS),
  destinationIp: fc.constantFrom('10.0.9.9', '10.0.8.1'),
  destinationPort: fc.constantFrom(8080, 9000),
  sni: fc.constantFrom<string | null>(null, SNI),
  host: fc.constantFrom(...HOSTS),
  method: fc.constantFrom(...METHODS),
  path: fc.constantFrom(...PATHS),
  headers: fc.constantFrom<Record<string, string>>({}, { 'x-user': 'admin' }, { 'x-user': 'bob' }, { 'x-user': 'bob,admin' }, { 'x-user': 'admin, bob' }, { 'x-user': 'bob,admin,ann' }),
  auth: fc.option(authArb, { nil: undefined }),
}).map((r): AuthzAttributes => {
  const a: AuthzAttributes = {
    protocol: r.protocol, peerPrincipal: r.peerPrincipal, sourceIp: r.sourceIp, remoteIp: r.remoteIp,
    destinationIp: r.destinationIp, destinationPort: r.destinationPort, sni: r.sni,
  };
  if (r.protocol === 'http') {
    a.http = { host: r.host, method: r.method, path: r.path, headers: r.headers };
    if (r.auth !== undefined) a.auth = r.auth;
  }
  return a;
});

