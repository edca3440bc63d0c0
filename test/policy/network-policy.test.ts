/** istio-semantics §11: Kubernetes NetworkPolicy, evaluated as the CNI would. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { readNetworkPolicy } from '../../src/loader/network-policy.js';
import { isObj, Reader } from '../../src/loader/reader.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import { labelSelectorMatches, type LabelSelector, type NetworkPolicy } from '../../src/model/network-policy.js';
import type { ContainerPort } from '../../src/model/types.js';
import { evaluateNetworkPolicies, networkPoliciesAllow, type NpEndpoint } from '../../src/policy/network-policy.js';

/** A NetworkPolicy from its spec YAML (indented by two spaces), read by the real loader. */
function np(namespace: string, name: string, spec: string): NetworkPolicy {
  const text = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ${name}, namespace: ${namespace} }\nspec:\n${spec}`;
  const issues = new IssueList();
  const [doc] = parseYaml(`${namespace}-${name}.yaml`, text, issues);
  if (!doc || !isObj(doc.value)) throw new Error(`bad test YAML: ${issues.items.map((i) => i.message).join('; ')}`);
  const policy = readNetworkPolicy(new Reader(doc, issues, `NetworkPolicy ${namespace}/${name}`),
    { name, namespace, labels: {}, annotations: {}, order: 0, loc: doc.locate([]) }, doc.value);
  expect(issues.errors).toEqual([]);
  return policy;
}

interface PodOpts { labels?: Record<string, string>; nsLabels?: Record<string, string>; ports?: ContainerPort[] }

function pod(id: string, ip: string, opts: PodOpts = {}): NpEndpoint {
  const [namespace = '', name = ''] = id.split('/');
  return { kind: 'pod', namespace, name, ip, labels: opts.labels ?? { app: name }, namespaceLabels: opts.nsLabels ?? {}, ports: opts.ports ?? [] };
}

const ext = (ip: string): NpEndpoint => ({ kind: 'external', ip });

const web = pod('frontend/web', '10.244.0.2', { nsLabels: { team: 'front' } });
const db = pod('backend/db', '10.244.0.3', { ports: [{ name: 'postgres', containerPort: 5432, protocol: 'TCP' }] });
const api = pod('backend/api', '10.244.0.4', { ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] });

const denyAllIngress = (ns: string): NetworkPolicy => np(ns, 'deny-all', '  podSelector: {}\n  policyTypes: [Ingress]\n');
const denyAllEgress = (ns: string): NetworkPolicy => np(ns, 'deny-egress', '  podSelector: {}\n  policyTypes: [Egress]\n');

describe('§11 isolation', () => {
  it('§11 a pod selected by no policy accepts everything', () => {
    const other = np('backend', 'only-api', '  podSelector: { matchLabels: { app: api } }\n');
    const d = evaluateNetworkPolicies([other], web, db, 5432);
    expect(d).toEqual({
      allowed: true,
      egress: { isolated: false, selecting: [], allowedBy: [] },
      ingress: { isolated: false, selecting: [], allowedBy: [] },
    });
  });

  it('§11 a policy selects pods of its own namespace only', () => {
    const d = evaluateNetworkPolicies([denyAllIngress('frontend')], web, db, 5432);
    expect(d.allowed).toBe(true);
    expect(d.ingress.isolated).toBe(false);
  });

  it('§11 a pod selected with no rules for the direction accepts nothing (deny all)', () => {
    const d = evaluateNetworkPolicies([denyAllIngress('backend')], web, db, 5432);
    expect(d.allowed).toBe(false);
    expect(d.ingress).toEqual({ isolated: true, selecting: ['backend/deny-all'], allowedBy: [] });
    expect(d.droppedBy).toEqual({
      direction: 'ingress',
      policies: ['backend/deny-all'],
      reason: 'backend/deny-all selects backend/db for Ingress and no rule allows TCP 5432 from frontend/web (it has no ingress rules: all ingress is denied)',
    });
  });

  it('§11 `ingress: [{}]` allows everything', () => {
    const allowAll = np('backend', 'allow-all', '  podSelector: {}\n  ingress: [{}]\n');
    const d = evaluateNetworkPolicies([denyAllIngress('backend'), allowAll], ext('198.51.100.7'), db, 9999, 'UDP');
    expect(d.allowed).toBe(true);
    expect(d.ingress).toEqual({ isolated: true, selecting: ['backend/allow-all', 'backend/deny-all'], allowedBy: ['backend/allow-all'] });
  });

  it('§11 policies are additive: one allowing rule in any selecting policy is enough, order does not matter', () => {
    const fromWeb = np('backend', 'db-from-web', `  podSelector: { matchLabels: { app: db } }
  ingress:
    - from: [{ namespaceSelector: { matchLabels: { team: front } } }]
      ports: [{ port: 5432 }]
`);
    const fromApi = np('backend', 'db-from-api', `  podSelector: { matchLabels: { app: db } }
  ingress:
    - from: [{ podSelector: { matchLabels: { app: api } } }]
`);
    for (const list of [[fromWeb, fromApi], [fromApi, fromWeb]]) {
      expect(evaluateNetworkPolicies(list, web, db, 5432).ingress.allowedBy).toEqual(['backend/db-from-web']);
      expect(evaluateNetworkPolicies(list, api, db, 5432).ingress.allowedBy).toEqual(['backend/db-from-api']);
      expect(evaluateNetworkPolicies(list, web, db, 22).allowed).toBe(false);
    }
  });

  it('§11 policy order never changes a decision (property)', () => {
    const policies = [
      denyAllIngress('backend'), denyAllEgress('frontend'),
      np('backend', 'a', '  podSelector: {}\n  ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 5432 }] }]\n'),
      np('frontend', 'b', '  podSelector: { matchLabels: { app: web } }\n  egress: [{ to: [{ ipBlock: { cidr: 10.244.0.0/16 } }] }]\n'),
    ];
    const endpoints = [web, db, api, ext('203.0.113.9')];
    fc.assert(fc.property(
      fc.shuffledSubarray(policies), fc.constantFrom(...endpoints), fc.constantFrom(...endpoints), fc.constantFrom(22, 5432, 8080),
      (subset, src, dst, port) => {
        const a = evaluateNetworkPolicies(subset, src, dst, port);
        const b = evaluateNetworkPolicies([...subset].reverse(), src, dst, port);
        expect(b).toEqual(a);
      }));
  });
});

describe('§11 the analysis path\'s allow check', () => {
  it('networkPoliciesAllow answers what evaluateNetworkPolicies(...).allowed answers, for any policy subset, endpoints, port and protocol (property)', () => {
    const policies = [
      denyAllIngress('backend'), denyAllEgress('frontend'), denyAllIngress('frontend'),
      np('backend', 'a', '  podSelector: {}\n  ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 5432 }] }]\n'),
      np('backend', 'named', '  podSelector: { matchLabels: { app: db } }\n  ingress: [{ from: [{ podSelector: { matchLabels: { app: api } } }], ports: [{ port: postgres }] }]\n'),
      np('backend', 'team', '  podSelector: {}\n  ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: team, operator: In, values: [front] }] }, podSelector: { matchLabels: { app: web } } }], ports: [{ port: 8000, endPort: 8100 }] }]\n'),
      np('frontend', 'b', '  podSelector: { matchLabels: { app: web } }\n  egress: [{ to: [{ ipBlock: { cidr: 10.244.0.0/16, except: [10.244.0.3/32] } }] }]\n'),
      np('frontend', 'c', '  podSelector: {}\n  egress: [{ to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: backend } } }], ports: [{ protocol: UDP, port: 53 }] }]\n'),
      np('frontend', 'all-in', '  podSelector: {}\n  ingress: [{}]\n'),
    ];
    const endpoints = [web, db, api, ext('203.0.113.9'), ext('10.244.0.3'), pod('frontend/web', '10.244.0.2', { labels: { app: 'other' } })];
    fc.assert(fc.property(
      fc.subarray(policies), fc.constantFrom(...endpoints), fc.constantFrom(...endpoints), fc.constantFrom(22, 53, 5432, 8080, 8050),
      fc.constantFrom<'TCP' | 'UDP'>('TCP', 'UDP'),
      (subset, src, dst, port, protocol) => {
        expect(networkPoliciesAllow(subset, src, dst, port, protocol)).toBe(evaluateNetworkPolicies(subset, src, dst, port, protocol).allowed);
      }), { numRuns: 2000 });
  });
});

describe('§11 both sides', () => {
  const dbFromWeb = np('backend', 'db-ingress', `  podSelector: { matchLabels: { app: db } }
  ingress:
    - from:
        - namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: frontend } }
          podSelector: { matchLabels: { app: web } }
      ports: [{ protocol: TCP, port: 5432 }]
`);

  it('§11 a connection needs the source egress and the destination ingress', () => {
    const webEgress = np('frontend', 'web-egress', `  podSelector: { matchLabels: { app: web } }
  egress: [{ to: [{ namespaceSelector: {} }] }]
`);
    const d = evaluateNetworkPolicies([dbFromWeb, webEgress], web, db, 5432);
    expect(d.allowed).toBe(true);
    expect(d.egress).toEqual({ isolated: true, selecting: ['frontend/web-egress'], allowedBy: ['frontend/web-egress'] });
    expect(d.ingress).toEqual({ isolated: true, selecting: ['backend/db-ingress'], allowedBy: ['backend/db-ingress'] });
    expect(d.droppedBy).toBeUndefined();
  });

  it('§11 egress isolation blocks a connection even when the destination allows it', () => {
    const d = evaluateNetworkPolicies([dbFromWeb, denyAllEgress('frontend')], web, db, 5432);
    expect(d.allowed).toBe(false);
    expect(d.ingress.allowedBy).toEqual(['backend/db-ingress']);
    expect(d.droppedBy?.direction).toBe('egress');
    expect(d.droppedBy?.reason).toBe('frontend/deny-egress selects frontend/web for Egress and no rule allows TCP 5432 to backend/db (it has no egress rules: all egress is denied)');
  });

  it('§11 ingress isolation blocks a connection the source may send', () => {
    const d = evaluateNetworkPolicies([dbFromWeb], web, db, 6379);
    expect(d.egress.isolated).toBe(false);
    expect(d.droppedBy).toEqual({
      direction: 'ingress',
      policies: ['backend/db-ingress'],
      reason: 'backend/db-ingress selects backend/db for Ingress and no rule allows TCP 6379 from frontend/web; rules admitting frontend/web allow only TCP 5432',
    });
  });

  it('§11 when both sides refuse, the egress side dropped it (the packet never left)', () => {
    const d = evaluateNetworkPolicies([denyAllIngress('backend'), denyAllEgress('frontend')], web, db, 5432);
    expect(d.droppedBy?.direction).toBe('egress');
    expect(d.ingress).toEqual({ isolated: true, selecting: ['backend/deny-all'], allowedBy: [] });
  });

  it('§11 external endpoints are never selected: only the pod side is judged', () => {
    const everything = [np('x', 'deny', '  podSelector: {}\n  policyTypes: [Ingress, Egress]\n')];
    const d = evaluateNetworkPolicies(everything, ext('203.0.113.1'), ext('198.51.100.1'), 443);
    expect(d).toMatchObject({ allowed: true, egress: { isolated: false }, ingress: { isolated: false } });
    const fromOutside = evaluateNetworkPolicies([denyAllEgress('backend')], ext('203.0.113.1'), db, 5432);
    expect(fromOutside.allowed).toBe(true);
  });

  it('§11 a pod cannot block itself', () => {
    const d = evaluateNetworkPolicies([denyAllIngress('backend'), denyAllEgress('backend')], db, db, 5432);
    expect(d.allowed).toBe(true);
    expect(d.ingress.isolated).toBe(true);
    expect(d.droppedBy).toBeUndefined();
  });
});

describe('§11 peers', () => {
  it('§11 podSelector peers are in the policy\'s namespace', () => {
    const p = np('backend', 'from-web-label', '  podSelector: {}\n  ingress: [{ from: [{ podSelector: { matchLabels: { app: web } } }] }]\n');
    const localWeb = pod('backend/web', '10.244.0.9');
    expect(evaluateNetworkPolicies([p], localWeb, db, 5432).allowed).toBe(true);
    expect(evaluateNetworkPolicies([p], web, db, 5432).allowed).toBe(false);
  });

  it('§11 `podSelector: {}` is every pod of the policy\'s namespace', () => {
    const p = np('backend', 'same-ns', '  podSelector: {}\n  ingress: [{ from: [{ podSelector: {} }] }]\n');
    expect(evaluateNetworkPolicies([p], api, db, 5432).allowed).toBe(true);
    expect(evaluateNetworkPolicies([p], web, db, 5432).allowed).toBe(false);
    expect(evaluateNetworkPolicies([p], ext('10.0.0.1'), db, 5432).allowed).toBe(false);
  });

  it('§11 namespaceSelector selects namespaces by label, including kubernetes.io/metadata.name', () => {
    const byTeam = np('backend', 'by-team', '  podSelector: {}\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: front } } }] }]\n');
    const byName = np('backend', 'by-name', '  podSelector: {}\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: frontend } } }] }]\n');
    const anyNs = np('backend', 'any-ns', '  podSelector: {}\n  ingress: [{ from: [{ namespaceSelector: {} }] }]\n');
    expect(evaluateNetworkPolicies([byTeam], web, db, 5432).allowed).toBe(true);
    expect(evaluateNetworkPolicies([byName], web, db, 5432).allowed).toBe(true);
    expect(evaluateNetworkPolicies([byTeam], pod('other/web', '10.244.1.1'), db, 5432).allowed).toBe(false);
    expect(evaluateNetworkPolicies([anyNs], pod('other/web', '10.244.1.1'), db, 5432).allowed).toBe(true);
    // a user label cannot impersonate another namespace's name
    const liar = pod('evil/web', '10.244.1.2', { nsLabels: { 'kubernetes.io/metadata.name': 'frontend' } });
    expect(evaluateNetworkPolicies([byName], liar, db, 5432).allowed).toBe(false);
    // selectors never match an external address
    expect(evaluateNetworkPolicies([anyNs], ext('10.244.0.2'), db, 5432).allowed).toBe(false);
  });

  it('§11 podSelector and namespaceSelector in one peer are ANDed, in two peers ORed', () => {
    const and = np('backend', 'and', `  podSelector: {}
  ingress:
    - from:
        - namespaceSelector: { matchLabels: { team: front } }
          podSelector: { matchLabels: { app: web } }
`);
    const or = np('backend', 'or', `  podSelector: {}
  ingress:
    - from:
        - namespaceSelector: { matchLabels: { team: front } }
        - podSelector: { matchLabels: { app: web } }
`);
    const frontWeb = web;
    const frontOther = pod('frontend/batch', '10.244.0.5', { nsLabels: { team: 'front' } });
    const backendWeb = pod('backend/web', '10.244.0.6');
    expect([frontWeb, frontOther, backendWeb].map((s) => evaluateNetworkPolicies([and], s, db, 5432).allowed)).toEqual([true, false, false]);
    // ORed: the podSelector peer is in the policy's namespace (backend), the namespaceSelector peer is any pod of team=front
    expect([frontWeb, frontOther, backendWeb].map((s) => evaluateNetworkPolicies([or], s, db, 5432).allowed)).toEqual([true, true, true]);
  });

  it('§11 matchExpressions: In, NotIn, Exists, DoesNotExist, ANDed with matchLabels; empty selects everything', () => {
    const sel = (m: Record<string, string>, e: LabelSelector['matchExpressions']): LabelSelector => ({ matchLabels: m, matchExpressions: e });
    const labels = { app: 'web', tier: 'front' };
    expect(labelSelectorMatches(sel({}, []), labels)).toBe(true);
    expect(labelSelectorMatches(sel({}, []), {})).toBe(true);
    expect(labelSelectorMatches(sel({}, [{ key: 'tier', operator: 'In', values: ['front', 'edge'] }]), labels)).toBe(true);
    expect(labelSelectorMatches(sel({}, [{ key: 'tier', operator: 'In', values: ['back'] }]), labels)).toBe(false);
    expect(labelSelectorMatches(sel({}, [{ key: 'zone', operator: 'In', values: ['a'] }]), labels)).toBe(false);
    expect(labelSelectorMatches(sel({}, [{ key: 'tier', operator: 'NotIn', values: ['back'] }]), labels)).toBe(true);
    expect(labelSelectorMatches(sel({}, [{ key: 'zone', operator: 'NotIn', values: ['a'] }]), labels)).toBe(true);
    expect(labelSelectorMatches(sel({}, [{ key: 'tier', operator: 'NotIn', values: ['front'] }]), labels)).toBe(false);
    expect(labelSelectorMatches(sel({}, [{ key: 'app', operator: 'Exists', values: [] }]), labels)).toBe(true);
    expect(labelSelectorMatches(sel({}, [{ key: 'zone', operator: 'Exists', values: [] }]), labels)).toBe(false);
    expect(labelSelectorMatches(sel({}, [{ key: 'zone', operator: 'DoesNotExist', values: [] }]), labels)).toBe(true);
    expect(labelSelectorMatches(sel({}, [{ key: 'app', operator: 'DoesNotExist', values: [] }]), labels)).toBe(false);
    expect(labelSelectorMatches(sel({ app: 'web' }, [{ key: 'tier', operator: 'In', values: ['back'] }]), labels)).toBe(false);
    // through the loader and the evaluator
    const p = np('backend', 'expr', `  podSelector: { matchExpressions: [{ key: app, operator: In, values: [db, cache] }] }
  ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: app, operator: NotIn, values: [api] }] } }] }]
`);
    expect(evaluateNetworkPolicies([p], api, db, 5432).allowed).toBe(false);
    expect(evaluateNetworkPolicies([p], pod('backend/cron', '10.244.0.8'), db, 5432).allowed).toBe(true);
    expect(evaluateNetworkPolicies([p], db, api, 8080).ingress.isolated).toBe(false);
  });

  it('§11 ipBlock matches an external address', () => {
    const p = np('backend', 'office', '  podSelector: {}\n  ingress: [{ from: [{ ipBlock: { cidr: 203.0.113.0/24 } }] }]\n');
    expect(evaluateNetworkPolicies([p], ext('203.0.113.77'), db, 5432).allowed).toBe(true);
    expect(evaluateNetworkPolicies([p], ext('203.0.114.1'), db, 5432).allowed).toBe(false);
    expect(evaluateNetworkPolicies([p], ext('2001:db8::1'), db, 5432).allowed).toBe(false);
  });

  it('§11 ipBlock except carves out addresses', () => {
    const p = np('frontend', 'internet', `  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{ ipBlock: { cidr: 0.0.0.0/0, except: [10.0.0.0/8, 169.254.169.254/32] } }]
`);
    expect(evaluateNetworkPolicies([p], web, ext('93.184.216.34'), 443).allowed).toBe(true);
    expect(evaluateNetworkPolicies([p], web, ext('169.254.169.254'), 80).allowed).toBe(false);
    const d = evaluateNetworkPolicies([p], web, ext('10.1.2.3'), 443);
    expect(d.allowed).toBe(false);
    expect(d.droppedBy?.reason).toBe('frontend/internet selects frontend/web for Egress and no rule allows TCP 443 to 10.1.2.3');
  });

  it('§11 ipBlock also matches a pod IP, as CNIs do', () => {
    const p = np('backend', 'pod-cidr', '  podSelector: {}\n  ingress: [{ from: [{ ipBlock: { cidr: 10.244.0.0/24, except: [10.244.0.2/32] } }] }]\n');
    expect(evaluateNetworkPolicies([p], api, db, 5432).allowed).toBe(true);
    const d = evaluateNetworkPolicies([p], web, db, 5432);
    expect(d.allowed).toBe(false);
    expect(d.droppedBy?.reason).toContain('from frontend/web (10.244.0.2)');
  });
});

describe('§11 ports', () => {
  it('§11 no ports = all ports and protocols', () => {
    const p = np('backend', 'from-web', '  podSelector: {}\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: front } } }] }]\n');
    for (const [port, proto] of [[1, 'TCP'], [65535, 'UDP'], [9000, 'SCTP']] as const) {
      expect(evaluateNetworkPolicies([p], web, db, port, proto).allowed).toBe(true);
    }
  });

  it('§11 the protocol must match and defaults to TCP', () => {
    const p = np('frontend', 'dns', '  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{ ports: [{ protocol: UDP, port: 53 }, { port: 5432 }] }]\n');
    expect(evaluateNetworkPolicies([p], web, ext('10.96.0.10'), 53, 'UDP').allowed).toBe(true);
    expect(evaluateNetworkPolicies([p], web, ext('10.96.0.10'), 53, 'TCP').allowed).toBe(false);
    expect(evaluateNetworkPolicies([p], web, db, 5432).allowed).toBe(true);
    expect(evaluateNetworkPolicies([p], web, db, 5432, 'UDP').allowed).toBe(false);
  });

  it('§11 endPort ranges are inclusive', () => {
    const p = np('backend', 'range', '  podSelector: {}\n  ingress: [{ ports: [{ port: 32000, endPort: 32768 }] }]\n');
    expect([31999, 32000, 32500, 32768, 32769].map((port) => evaluateNetworkPolicies([p], web, db, port).allowed))
      .toEqual([false, true, true, true, false]);
  });

  it('§11 named ports resolve against the destination\'s container ports', () => {
    const ingress = np('backend', 'by-name', '  podSelector: {}\n  ingress: [{ ports: [{ port: postgres }, { port: http }] }]\n');
    expect(evaluateNetworkPolicies([ingress], web, db, 5432).allowed).toBe(true);
    expect(evaluateNetworkPolicies([ingress], web, api, 8080).allowed).toBe(true);
    // db has no container port named http; 8080 on db is not "http"
    const d = evaluateNetworkPolicies([ingress], web, db, 8080);
    expect(d.allowed).toBe(false);
    expect(d.droppedBy?.reason).toBe('backend/by-name selects backend/db for Ingress and no rule allows TCP 8080 from frontend/web; rules admitting frontend/web allow only TCP postgres (=5432), TCP http (no such named port on backend/db)');
    // the name must be declared with the connection's protocol
    expect(evaluateNetworkPolicies([ingress], web, db, 5432, 'UDP').allowed).toBe(false);
    // egress: the name resolves on the destination pod; an external destination has no named ports
    const egress = np('frontend', 'to-postgres', '  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{ ports: [{ port: postgres }] }]\n');
    expect(evaluateNetworkPolicies([egress], web, db, 5432).allowed).toBe(true);
    expect(evaluateNetworkPolicies([egress], web, api, 5432).allowed).toBe(false);
    expect(evaluateNetworkPolicies([egress], web, ext('192.0.2.10'), 5432).allowed).toBe(false);
  });
});

describe('§11 policyTypes', () => {
  it('§11 policyTypes defaults to Ingress plus Egress when an egress section exists', () => {
    const withEgress = np('frontend', 'egress-only-rules', '  podSelector: { matchLabels: { app: web } }\n  egress: [{ to: [{ namespaceSelector: {} }] }]\n');
    expect(withEgress.policyTypes).toEqual(['Ingress', 'Egress']);
    // so the pod is also isolated for ingress, with no ingress rules: nothing may connect to it
    const d = evaluateNetworkPolicies([withEgress], api, web, 8080);
    expect(d.allowed).toBe(false);
    expect(d.droppedBy?.direction).toBe('ingress');
    expect(np('frontend', 'no-egress', '  podSelector: {}\n  ingress: [{}]\n').policyTypes).toEqual(['Ingress']);
    // `egress: []` is no egress section for the defaulting: the policy stays Ingress-only
    expect(np('frontend', 'empty-egress', '  podSelector: {}\n  egress: []\n').policyTypes).toEqual(['Ingress']);
  });

  it('§11 policyTypes [Egress] isolates egress only; ingress stays open', () => {
    const p = denyAllEgress('backend');
    expect(evaluateNetworkPolicies([p], web, db, 5432).allowed).toBe(true);
    expect(evaluateNetworkPolicies([p], db, web, 8080).allowed).toBe(false);
  });

  it('§11 droppedBy names every selecting policy, sorted, as namespace/name', () => {
    const b = np('backend', 'b-web', '  podSelector: {}\n  ingress: [{ from: [{ podSelector: { matchLabels: { app: web } } }] }]\n');
    const a = np('backend', 'a-api', '  podSelector: {}\n  ingress: [{ from: [{ podSelector: { matchLabels: { app: api } } }], ports: [{ port: 9090 }] }]\n');
    const c = denyAllIngress('backend');
    const d = evaluateNetworkPolicies([b, c, a], web, db, 5432);
    expect(d.droppedBy?.policies).toEqual(['backend/a-api', 'backend/b-web', 'backend/deny-all']);
    expect(d.droppedBy?.reason).toBe('backend/a-api, backend/b-web and backend/deny-all select backend/db for Ingress and no rule allows TCP 5432 from frontend/web');
  });
});
