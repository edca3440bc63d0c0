/**
 * NetworkPolicy read, defaulted and validated as the Kubernetes API server
 * would (istio-semantics §11, §14): every rejection is a located error with a
 * hint; accepted-but-suspicious shapes are warnings.
 */
import { describe, expect, it } from 'vitest';
import { IssueList, type Issue } from '../../src/core/issues.js';
import { readNetworkPolicy } from '../../src/loader/network-policy.js';
import { isObj, Reader } from '../../src/loader/reader.js';
import { parseYaml } from '../../src/loader/yaml-source.js';
import type { NetworkPolicy } from '../../src/model/network-policy.js';

interface Read {
  policy: NetworkPolicy;
  issues: Issue[];
  /** `severity:code@line` for each issue */
  found: string[];
}

/** Reads one NetworkPolicy document; line 1 is `apiVersion`, line 4 is `spec:`. */
function read(text: string): Read {
  const issues = new IssueList();
  const [doc] = parseYaml('np.yaml', text, issues);
  if (!doc || !isObj(doc.value)) throw new Error(`bad test YAML: ${issues.items.map((i) => i.message).join('; ')}`);
  const policy = readNetworkPolicy(new Reader(doc, issues, 'NetworkPolicy backend/db'),
    { name: 'db', namespace: 'backend', labels: {}, annotations: {}, order: 0, loc: doc.locate([]) }, doc.value);
  return { policy, issues: issues.items, found: issues.items.map((i) => `${i.severity}:${i.code}@${i.loc?.line ?? '?'}`) };
}

const HEAD = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: db, namespace: backend }\n';

function spec(body: string): string {
  return `${HEAD}spec:\n${body}`;
}

describe('NetworkPolicy loader: reading and defaulting (§11)', () => {
  it('a valid policy reads without issues, with the API server defaults filled in', () => {
    const r = read(spec(`  podSelector:
    matchLabels: { app: db }
    matchExpressions: [{ key: tier, operator: Exists }]
  ingress:
    - from:
        - namespaceSelector: { matchLabels: { team: front } }
          podSelector: { matchLabels: { app: web } }
        - ipBlock: { cidr: 203.0.113.0/24, except: [203.0.113.128/25] }
      ports:
        - port: 5432
        - { protocol: UDP, port: 8000, endPort: 8100 }
        - port: metrics
    - {}
  egress:
    - to: [{ podSelector: {} }]
`));
    expect(r.issues).toEqual([]);
    expect(r.policy).toMatchObject({
      podSelector: { matchLabels: { app: 'db' }, matchExpressions: [{ key: 'tier', operator: 'Exists', values: [] }] },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { team: 'front' }, matchExpressions: [] }, podSelector: { matchLabels: { app: 'web' }, matchExpressions: [] } },
            { ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } },
          ],
          ports: [{ protocol: 'TCP', port: 5432 }, { protocol: 'UDP', port: 8000, endPort: 8100 }, { protocol: 'TCP', port: 'metrics' }],
        },
        { from: [], ports: [] },
      ],
      egress: [{ to: [{ podSelector: { matchLabels: {}, matchExpressions: [] } }], ports: [] }],
    });
  });

  it('§11 policyTypes defaults to Ingress plus Egress when an egress section exists', () => {
    expect(read(spec('  podSelector: {}\n')).policy.policyTypes).toEqual(['Ingress']);
    expect(read(spec('  podSelector: {}\n  egress: [{}]\n')).policy.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(read(spec('  podSelector: {}\n  policyTypes: []\n  egress: [{}]\n')).policy.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(read(spec('  podSelector: {}\n  policyTypes: [Egress]\n')).policy.policyTypes).toEqual(['Egress']);
  });

  it('§11 `egress: []` without policyTypes stays Ingress-only, with a warning', () => {
    const r = read(spec('  podSelector: {}\n  egress: []\n'));
    expect(r.policy.policyTypes).toEqual(['Ingress']);
    expect(r.found).toEqual(['warning:np-empty-egress-not-isolating@6']);
  });

  it('rules for a direction policyTypes leaves out are ignored, with a warning', () => {
    const r = read(spec('  podSelector: {}\n  policyTypes: [Egress]\n  ingress:\n    - from: [{ podSelector: {} }]\n'));
    expect(r.found).toEqual(['warning:np-rules-ignored@7']);
  });

  it('no spec reads as deny-all ingress for the namespace, with a warning', () => {
    const r = read(HEAD);
    expect(r.policy.policyTypes).toEqual(['Ingress']);
    expect(r.policy.podSelector).toEqual({ matchLabels: {}, matchExpressions: [] });
    expect(r.found).toEqual(['warning:np-no-spec@1']);
  });

  it('an absent spec.podSelector selects every pod, with a warning', () => {
    const r = read(spec('  policyTypes: [Ingress]\n'));
    expect(r.policy.podSelector).toEqual({ matchLabels: {}, matchExpressions: [] });
    expect(r.found).toEqual(['warning:np-missing-pod-selector@4']);
  });

  it('a null rule is the zero rule (allow all), a null port is TCP on every port', () => {
    const r = read(spec('  podSelector: {}\n  ingress:\n    -\n    - ports:\n        -\n'));
    expect(r.issues).toEqual([]);
    expect(r.policy.ingress).toEqual([{ from: [], ports: [] }, { from: [], ports: [{ protocol: 'TCP' }] }]);
  });
});

describe('NetworkPolicy loader: validation as the API server does it', () => {
  const cases: { name: string; body: string; expect: string }[] = [
    { name: 'a bare IP is not a CIDR', expect: 'error:np-bad-cidr@9',
      body: '  podSelector: {}\n  ingress:\n    - from:\n        - ipBlock:\n            cidr: 203.0.113.5\n' },
    { name: 'an unparseable CIDR', expect: 'error:np-bad-cidr@7',
      body: '  podSelector: {}\n  egress:\n    - to: [{ ipBlock: { cidr: 300.0.0.0/8 } }]\n' },
    { name: 'ipBlock needs a cidr', expect: 'error:np-missing-cidr@7',
      body: '  podSelector: {}\n  egress:\n    - to: [{ ipBlock: { except: [10.0.0.0/8] } }]\n' },
    { name: 'except outside the cidr', expect: 'error:np-except-outside-cidr@11',
      body: '  podSelector: {}\n  ingress:\n    - from:\n        - ipBlock:\n            cidr: 10.0.0.0/16\n            except:\n              - 192.168.0.0/24\n' },
    { name: 'except equal to the cidr is not a strict subset', expect: 'error:np-except-outside-cidr@7',
      body: '  podSelector: {}\n  ingress:\n    - from: [{ ipBlock: { cidr: 10.0.0.0/16, except: [10.0.0.0/16] } }]\n' },
    { name: 'except of the other IP family', expect: 'error:np-except-outside-cidr@7',
      body: '  podSelector: {}\n  ingress:\n    - from: [{ ipBlock: { cidr: 0.0.0.0/0, except: ["::/64"] } }]\n' },
    { name: 'port 0', expect: 'error:np-bad-port@9',
      body: '  podSelector: {}\n  ingress:\n    - ports:\n        - protocol: TCP\n          port: 0\n' },
    { name: 'port above 65535', expect: 'error:np-bad-port@7',
      body: '  podSelector: {}\n  ingress:\n    - ports: [{ port: 70000 }]\n' },
    { name: 'a quoted number is a port name, and an invalid one', expect: 'error:np-bad-port@7',
      body: '  podSelector: {}\n  ingress:\n    - ports: [{ port: "5432" }]\n' },
    { name: 'an invalid port name', expect: 'error:np-bad-port@7',
      body: '  podSelector: {}\n  ingress:\n    - ports: [{ port: Http_Port }]\n' },
    { name: 'a port that is neither number nor name', expect: 'error:field-type@7',
      body: '  podSelector: {}\n  ingress:\n    - ports: [{ port: [80] }]\n' },
    { name: 'endPort without port', expect: 'error:np-endport-without-port@9',
      body: '  podSelector: {}\n  ingress:\n    - ports:\n        - protocol: TCP\n          endPort: 9000\n' },
    { name: 'endPort with a named port', expect: 'error:np-endport-with-named-port@7',
      body: '  podSelector: {}\n  ingress:\n    - ports: [{ port: http, endPort: 9000 }]\n' },
    { name: 'endPort below port', expect: 'error:np-endport-below-port@9',
      body: '  podSelector: {}\n  ingress:\n    - ports:\n        - port: 9000\n          endPort: 8000\n' },
    { name: 'endPort above 65535', expect: 'error:np-bad-port@7',
      body: '  podSelector: {}\n  ingress:\n    - ports: [{ port: 9000, endPort: 70000 }]\n' },
    { name: 'protocol is case-sensitive', expect: 'error:np-bad-protocol@7',
      body: '  podSelector: {}\n  ingress:\n    - ports: [{ protocol: tcp, port: 80 }]\n' },
    { name: 'ICMP is not a NetworkPolicy protocol', expect: 'error:np-bad-protocol@7',
      body: '  podSelector: {}\n  ingress:\n    - ports: [{ protocol: ICMP }]\n' },
    { name: 'an unknown policy type', expect: 'error:np-bad-policy-type@8',
      body: '  podSelector: {}\n  policyTypes:\n    - Ingress\n    - egress\n' },
    { name: 'more than two policy types', expect: 'error:np-too-many-policy-types@6',
      body: '  podSelector: {}\n  policyTypes: [Ingress, Egress, Ingress]\n' },
    { name: 'an unknown selector operator', expect: 'error:np-bad-operator@8',
      body: '  podSelector:\n    matchExpressions:\n      - key: app\n        operator: Equals\n        values: [db]\n' },
    { name: 'a match expression without operator', expect: 'error:np-bad-operator@7',
      body: '  podSelector:\n    matchExpressions:\n      - key: app\n' },
    { name: 'In without values', expect: 'error:np-selector-values@6',
      body: '  podSelector:\n    matchExpressions: [{ key: app, operator: In }]\n' },
    { name: 'Exists with values', expect: 'error:np-selector-values@9',
      body: '  podSelector:\n    matchExpressions:\n      - key: app\n        operator: Exists\n        values: [db]\n' },
    { name: 'an invalid label key', expect: 'error:np-bad-label-key@7',
      body: '  podSelector:\n    matchLabels:\n      "-app": db\n' },
    { name: 'an invalid label value in matchLabels', expect: 'error:np-bad-label-value@9',
      body: '  podSelector: {}\n  ingress:\n    - from:\n        - podSelector:\n            matchLabels: { app: "web server" }\n' },
    { name: 'an empty peer', expect: 'error:np-empty-peer@8',
      body: '  podSelector: {}\n  ingress:\n    - from:\n        - {}\n' },
    { name: 'a peer with only a null selector is empty', expect: 'error:np-empty-peer@8',
      body: '  podSelector: {}\n  ingress:\n    - from:\n        - podSelector:\n' },
    { name: 'ipBlock together with a selector', expect: 'error:np-ipblock-with-selector@9',
      body: '  podSelector: {}\n  egress:\n    - to:\n        - namespaceSelector: {}\n          ipBlock: { cidr: 10.0.0.0/8 }\n' },
    { name: 'ports inside a peer', expect: 'error:unknown-field@9',
      body: '  podSelector: {}\n  ingress:\n    - from:\n        - podSelector: {}\n          ports: [{ port: 80 }]\n' },
    { name: 'from in an egress rule', expect: 'error:unknown-field@7',
      body: '  podSelector: {}\n  egress:\n    - from: [{ podSelector: {} }]\n' },
    { name: 'a misspelt spec field', expect: 'error:unknown-field@6',
      body: '  podSelector: {}\n  policyType: [Ingress]\n' },
    { name: 'labels written directly under a selector', expect: 'error:unknown-field@6',
      body: '  podSelector:\n    app: db\n' },
    { name: 'a rule that is not a mapping', expect: 'error:field-type@7',
      body: '  podSelector: {}\n  ingress:\n    - allow-all\n' },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.expect}`, () => {
      const r = read(spec(c.body));
      expect(r.found).toEqual([c.expect]);
      const issue = r.issues[0];
      expect(issue?.hint, 'every issue carries a hint').toBeTruthy();
      expect(issue?.message).toMatch(/^NetworkPolicy backend\/db: /);
    });
  }

  it('hints say what to write', () => {
    const hint = (body: string): string | undefined => read(spec(body)).issues[0]?.hint;
    expect(hint('  podSelector: {}\n  ingress: [{ from: [{ ipBlock: { cidr: 203.0.113.5 } }] }]\n')).toBe('write the address as a block: 203.0.113.5/32');
    expect(hint('  podSelector: {}\n  ingress: [{ ports: [{ port: "5432" }] }]\n')).toBe('write the number without quotes: port: 5432');
    expect(hint('  podSelector: {}\n  ingress: [{ ports: [{ protocol: udp }] }]\n')).toBe('write UDP (the value is case-sensitive)');
    expect(hint('  podSelector: {}\n  policyTypes: [egress]\n')).toBe('write Egress (the value is case-sensitive)');
    expect(hint('  podSelector: {}\n  policyType: [Ingress]\n')).toBe('did you mean policyTypes?');
    expect(hint('  podSelector: {}\n  egress: [{ from: [{ podSelector: {} }] }]\n')).toBe('egress rules list their peers under `to`, not `from`');
    expect(hint('  podSelector: {}\n  ingress: [{ from: [{ podSelector: {}, ports: [] }] }]\n')).toBe('`ports` belongs to the rule, beside from/to, not inside a peer');
    expect(hint('  podSelector:\n    matchExpressions: [{ key: app, operator: notin, values: [a] }]\n')).toBe('write NotIn (operators are case-sensitive)');
  });

  it('every problem in one policy is reported at once', () => {
    const r = read(spec(`  podSelector: {}
  policyTypes: [Ingress, Sideways]
  ingress:
    - from:
        - ipBlock: { cidr: 10.0.0.0/8, except: [11.0.0.0/16] }
      ports:
        - { port: 0 }
        - { protocol: HTTP, port: 80 }
`));
    expect(r.found).toEqual([
      'error:np-except-outside-cidr@9',
      'error:np-bad-port@11',
      'error:np-bad-protocol@12',
      'error:np-bad-policy-type@6',
    ]);
  });

  it('a CIDR with host bits set is accepted with a warning naming the network address', () => {
    const r = read(spec('  podSelector: {}\n  egress: [{ to: [{ ipBlock: { cidr: 10.1.2.3/8 } }] }]\n'));
    expect(r.found).toEqual(['warning:np-cidr-not-canonical@6']);
    expect(r.issues[0]?.hint).toBe('write 10.0.0.0/8');
  });

  it('IPv6 blocks and excepts are read', () => {
    const r = read(spec('  podSelector: {}\n  egress: [{ to: [{ ipBlock: { cidr: "2001:db8::/32", except: ["2001:db8:1::/48"] } }] }]\n'));
    expect(r.issues).toEqual([]);
    expect(r.policy.egress[0]?.to[0]?.ipBlock).toEqual({ cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] });
  });

  it('an apiVersion other than networking.k8s.io/v1 is refused', () => {
    const r = read(`apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: { name: db, namespace: backend }\nspec:\n  podSelector: {}\n`);
    expect(r.found).toEqual(['error:np-bad-api-version@1']);
    expect(r.issues[0]?.message).toContain('removed in Kubernetes 1.16');
  });
});
