import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { buildOneHopGraphByClass } from '../../src/analysis/reach-classes.js';
import { buildOneHopGraph, type OneHopGraph } from '../../src/analysis/reach-graph.js';
import { attemptOptions, attemptRequest, ReachabilityExplorer } from '../../src/analysis/reachability.js';
import { renderTopology } from '../../src/generate/manifests.js';
import { generateTopology, HTTP_PORT, HTTP_SERVICE_PORT, TCP_PORT, type Profile } from '../../src/generate/topology.js';
import { loadMesh, type MeshOverrides } from '../../src/loader/load.js';
import type { Mesh } from '../../src/model/types.js';
import { decide } from '../../src/policy/decide.js';
import { shipped } from './reach-fixtures.js';

function generated(seed: number, profile: Profile, namespaces: number, workloads = 100): Mesh {
  const files = renderTopology(generateTopology({ workloads, namespaces, seed, profile })).filter((f) => f.path.endsWith('.yaml'));
  const { mesh, issues } = loadMesh(files);
  if (issues.hasErrors()) throw new Error('generated mesh does not load');
  return mesh;
}

/** A generated mesh with every document passed through `edit` (return null to drop it). */
function generatedEdited(seed: number, profile: Profile, namespaces: number, workloads: number, edit: (doc: Record<string, unknown>) => Record<string, unknown> | null, extra: () => string,
  overrides: MeshOverrides = {}): Mesh {
  const files = renderTopology(generateTopology({ workloads, namespaces, seed, profile })).filter((f) => f.path.endsWith('.yaml')).map((f) => {
    const docs = parseAllDocuments(f.text).map((d) => edit(d.toJS() as Record<string, unknown>)).filter((d) => d !== null);
    return { ...f, text: docs.map((d) => stringify(d)).join('---\n') };
  });
  files.push({ path: 'manifests/zz-extra.yaml', text: extra() });
  const { mesh, issues } = loadMesh(files, overrides);
  if (issues.hasErrors()) throw new Error(`edited mesh does not load: ${issues.errors.map((i) => i.message).join('; ')}`);
  return mesh;
}

/** The plain per-pair graph: one decide() per (source, attempt), no memo, no classes. */
function plainGraph(mesh: Mesh): { edges: Set<string>; misdelivered: number } {
  const ex = new ReachabilityExplorer(mesh, { edges: 'allowed' });
  const edges = new Set<string>();
  let misdelivered = 0;
  for (const w of mesh.workloads) {
    for (const a of ex.attempts) {
      if (a.target.id === w.id) continue;
      const d = decide(mesh, attemptRequest({ kind: 'workload', workload: w }, a), attemptOptions(a));
      if (d.outcome !== 'allowed') continue;
      const at = d.destination?.workload ?? null;
      if (at === null) continue;
      if (at !== a.target.id) misdelivered++;
      if (at !== w.id) edges.add(`${w.id} -> ${at}`);
    }
  }
  return { edges, misdelivered };
}

function edgesOf(g: OneHopGraph): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < g.ids.length; i++) {
    for (let k = g.offsets[i] as number; k < (g.offsets[i + 1] as number); k++) out.add(`${g.ids[i] as string} -> ${g.ids[g.targets[k] as number] as string}`);
  }
  return out;
}

function sameGraph(a: OneHopGraph, b: OneHopGraph): void {
  expect(a.ids).toEqual(b.ids);
  expect([...a.offsets]).toEqual([...b.offsets]);
  expect([...a.targets]).toEqual([...b.targets]);
  expect(a.misdelivered).toBe(b.misdelivered);
}

function samePlain(mesh: Mesh, g: OneHopGraph): void {
  const p = plainGraph(mesh);
  expect([...edgesOf(g)].sort()).toEqual([...p.edges].sort());
  expect(g.misdelivered).toBe(p.misdelivered);
}

const INLINE = {
  /** ipBlocks / remoteIpBlocks, a namespace rule, wildcard principals, a header condition, a CUSTOM rule, serviceAccounts */
  authz: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-ip, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: DENY
  rules:
  - from: [{source: {ipBlocks: ["10.0.0.0/8"], notPrincipals: ["cluster.local/ns/default/sa/bookinfo-productpage"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings-wild, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  action: ALLOW
  rules:
  - from: [{source: {principals: ["*bookinfo-reviews"]}}]
  - from: [{source: {namespaces: ["istio-system"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: details-sa, namespace: default}
spec:
  selector: {matchLabels: {app: details}}
  action: ALLOW
  rules:
  - from: [{source: {serviceAccounts: ["bookinfo-productpage"]}}]
  - when: [{key: 'request.headers[x-forwarded-client-cert]', values: ["*bookinfo-ratings*"]}]
`,
  /** NetworkPolicy (namespace and pod peers), PERMISSIVE, a VirtualService that sends reviews' traffic elsewhere */
  network: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ratings-in, namespace: default}
spec:
  podSelector: {matchLabels: {app: ratings}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: reviews}}}, {namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': istio-system}}}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: PERMISSIVE}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-to-details, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  http:
  - match: [{sourceLabels: {app: productpage}}]
    route: [{destination: {host: details.default.svc.cluster.local}}]
  - route: [{destination: {host: reviews.default.svc.cluster.local}}]
`,
  /** namespaceSelectors of every shape the class split reads: an index-served matchLabels and `In` (duplicates, an unknown value), scanned NotIn / Exists, and `{}` (matches every namespace: splits nothing) */
  selectors: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: backend-in, namespace: backend}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {istio-injection: enabled}}}]
    ports: [{port: 8080}]
  - from: [{namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [batch-jobs]}]}}]
    ports: [{port: 5432}]
  - from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [legacy, legacy, nowhere]}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: frontend-in, namespace: frontend}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {}}, {namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}}]
`,
};

describe('reach-classes: the class-based one-hop graph equals the plain per-pair graph', () => {
  it('on random generated meshes of every profile (planted PERMISSIVE namespace, over-broad ALLOW, stray policy, NetworkPolicy segments), edge for edge, and with far fewer decisions', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 1000 }), fc.constantFrom<Profile>('open', 'strict', 'segmented'), fc.integer({ min: 1, max: 12 }),
      (seed, profile, namespaces) => {
        const mesh = generated(seed, profile, namespaces);
        const g = buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' }));
        samePlain(mesh, g);
        const pairs = mesh.workloads.length * (mesh.workloads.length - 1);
        if (profile !== 'segmented' && namespaces < 5) expect(g.stats.decisions).toBeLessThan(pairs / 4);
      }), { numRuns: 5, seed: 31 });
  }, 180_000);

  it('on generated meshes, it equals reach-graph buildOneHopGraph (the explorer\'s memo) array for array', () => {
    for (const [seed, profile, ns] of [[7, 'strict', 5], [8, 'segmented', 5]] as const) {
      const mesh = generated(seed, profile, ns);
      sameGraph(buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' })), buildOneHopGraph(new ReachabilityExplorer(mesh, { edges: 'allowed' })));
    }
  }, 120_000);

  it('splits other namespaces by which namespaceSelectors match them, of every shape (index-served matchLabels and In, scanned NotIn/Exists, `{}` matching all), exactly as the plain graph does', () => {
    const TEAMS = ['red', 'blue', 'green'];
    const SHAPES = [
      { matchLabels: { team: 'red' } },
      { matchExpressions: [{ key: 'team', operator: 'In', values: ['blue', 'blue', 'nowhere'] }] },
      { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['green'] }] },
      { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      {},
      { matchLabels: { team: 'green' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] },
    ];
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 4, max: 9 }), fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom(0, HTTP_PORT, TCP_PORT)), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), fc.boolean(),
      (seed, namespaces, picks, authz) => {
        let n = 0;
        const segments: string[] = [];
        // With the generated AuthorizationPolicies (callers keyed by principal: exceptions, whose namespaces the selectors
        // must still tell apart) or none (every request passes authz: the NetworkPolicies decide); namespaces labelled by team
        // and every other one by tier, and one NetworkPolicy per namespace with a pick of selector shapes, each rule on
        // every port or one (so a namespace matching one rule's selector is not one matching another's).
        const mesh = generatedEdited(seed, 'open', namespaces, 100, (doc) => {
          if (doc.kind === 'AuthorizationPolicy' && !authz) return null;
          if (doc.kind === 'Namespace') {
            const meta = doc.metadata as { name: string; labels?: Record<string, string> };
            if (meta.name !== 'istio-system') {
              const i = n++;
              meta.labels = { ...meta.labels, team: TEAMS[i % 3] as string, ...(i % 2 === 0 ? { tier: 'gold' } : {}) };
              const pick = picks[i % picks.length] as [number, number][];
              segments.push(stringify({
                apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'shapes', namespace: meta.name },
                spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: pick.map(([shape, port]) => ({ from: [{ namespaceSelector: SHAPES[shape] }], ...(port === 0 ? {} : { ports: [{ port }] }) })) },
              }));
            }
          }
          return doc;
        }, () => segments.join('---\n'));
        const g = buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' }));
        samePlain(mesh, g);
        const pairs = mesh.workloads.length * (mesh.workloads.length - 1);
        expect(g.stats.decisions).toBeLessThan(pairs / 2);
      }), { numRuns: 8, seed: 47 });
  }, 180_000);

  it('a NetworkPolicy pod peer tells the target namespace\'s own sources apart, and so does a source with the target\'s address (a pod reaching itself)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 3, max: 6 }), fc.boolean(), (seed, namespaces, closedPeer) => {
      const names = generateTopology({ workloads: 100, namespaces, seed, profile: 'open' }).namespaces;
      const [peered, closed] = [names[0] as string, names[1] as string];
      // No AuthorizationPolicies: the NetworkPolicies decide. In one namespace the fronts of that namespace may call
      // every pod (a pod peer: front workloads elsewhere, with the same labels, may not); in another nothing may.
      const np = (ns: string, ingress: unknown[]): string => stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'pods', namespace: ns },
        spec: { podSelector: {}, policyTypes: ['Ingress'], ingress } });
      // The closed namespace admits nothing, or (closedPeer) only its own mid-tier pods: then its own sources are keyed
      // by name anyway, and the twin must still be told apart from its namespace-mates.
      const extra = (): string => [np(peered, [{ from: [{ podSelector: { matchLabels: { tier: 'front' } } }] }]),
        np(closed, closedPeer ? [{ from: [{ podSelector: { matchLabels: { tier: 'mid' } } }] }] : [])].join('---\n');
      const noAuthz = (doc: Record<string, unknown>): Record<string, unknown> | null => (doc.kind === 'AuthorizationPolicy' ? null : doc);
      const first = generatedEdited(seed, 'open', namespaces, 100, noAuthz, extra);
      // Two workloads of the closed namespace share an address: each reaches the other as a pod reaching itself.
      const twins = first.workloads.filter((w) => w.namespace === closed).slice(0, 2).map((w) => w.id);
      const mesh = twins.length < 2 ? first : generatedEdited(seed, 'open', namespaces, 100, noAuthz, extra, { ips: { [twins[0] as string]: '10.99.0.7', [twins[1] as string]: '10.99.0.7' } });
      samePlain(mesh, buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' })));
    }), { numRuns: 8, seed: 5 });
  }, 180_000);

  it('an ingress-isolated target is skipped for the other namespaces only when no rule admits them: an empty `from`, an ipBlock peer or a rerouting VirtualService keep them decided', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 3, max: 6 }), fc.constantFrom('empty-from', 'ip-block', 'reroute'), (seed, namespaces, variant) => {
      const names = generateTopology({ workloads: 100, namespaces, seed, profile: 'open' }).namespaces;
      const [peer, closed, free] = [names[0] as string, names[1] as string, names[2] as string];
      // The closed namespace's policy names a namespaceSelector (so the other namespaces are split by it) on a port
      // nobody serves, plus the variant's way in.
      const rules: unknown[] = [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': peer } } }], ports: [{ port: 1 }] }];
      if (variant === 'empty-from') rules.push({ ports: [{ port: HTTP_PORT }] });
      if (variant === 'ip-block') rules.push({ from: [{ ipBlock: { cidr: '10.244.0.0/16' } }] });
      const noAuthz = (doc: Record<string, unknown>): Record<string, unknown> | null => (doc.kind === 'AuthorizationPolicy' ? null : doc);
      const np = stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'closed', namespace: closed },
        spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: rules } });
      let extra = np;
      if (variant === 'reroute') {
        // Requests for an HTTP Service of the closed namespace are sent to one of a namespace without policies.
        const probe = generatedEdited(seed, 'open', namespaces, 100, noAuthz, () => np);
        const http = (ns: string): string | undefined => probe.services.find((x) => x.namespace === ns && x.ports.some((p) => p.port === HTTP_SERVICE_PORT))?.fqdn;
        const from = http(closed);
        const to = http(free);
        if (from !== undefined && to !== undefined) {
          extra += `---\n${stringify({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'away', namespace: closed },
            spec: { hosts: [from], http: [{ route: [{ destination: { host: to } }] }] } })}`;
        }
      }
      const mesh = generatedEdited(seed, 'open', namespaces, 100, noAuthz, () => extra);
      samePlain(mesh, buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' })));
    }), { numRuns: 9, seed: 21 });
  }, 180_000);

  /** Small manifests for the inline meshes below (YAML documents, joined with `---`). */
  const doc = {
    ns: (name: string, labels: Record<string, string> = {}): string => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${name}, labels: ${JSON.stringify(labels)} }\n`,
    strict: (ns: string): string => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: strict, namespace: ${ns} }\nspec: { mtls: { mode: STRICT } }\n`,
    /** a Deployment of one container, labels as given, and its port (if any) */
    deploy: (ns: string, name: string, labels: Record<string, string>, opts: { port?: string; hostNetwork?: boolean } = {}): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { matchLabels: ${JSON.stringify(labels)} }
  template: { metadata: { labels: ${JSON.stringify(labels)} }, spec: { ${opts.hostNetwork ? 'hostNetwork: true, ' : ''}containers: [{ name: c, image: c${opts.port ? `, ports: [${opts.port}]` : ''} }] } }
`,
    /** an HTTP Service for app=name on `port` → 8080 (or `target`) */
    service: (ns: string, name: string, port = 80, target = 8080): string => `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: ${ns} }\nspec: { selector: { app: ${name} }, ports: [{ name: http, port: ${port}, targetPort: ${target} }] }\n`,
    coredns: (): string => doc.deploy('kube-system', 'coredns', { 'k8s-app': 'kube-dns' }, { port: '{ name: dns, containerPort: 53, protocol: UDP }' }),
    np: (ns: string, name: string, spec: string): string => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${spec}`,
  };
  const loadDocs = (docs: string[]): Mesh => {
    const { mesh, issues } = loadMesh([{ path: 'inline.yaml', text: docs.join('---\n') }]);
    expect(issues.errors).toEqual([]);
    return mesh;
  };

  it('a hostNetwork target in an ingress-isolated namespace stays decided for the other namespaces: no policy isolates it', () => {
    const mesh = loadDocs([doc.ns('mon'), doc.ns('peer'), doc.ns('other'),
      doc.deploy('mon', 'nodeexp', { app: 'nodeexp' }, { port: '{ containerPort: 9100 }', hostNetwork: true }), doc.service('mon', 'nodeexp', 9100, 9100),
      doc.deploy('peer', 'a', { app: 'a' }), doc.deploy('other', 'b', { app: 'b' }),
      doc.np('mon', 'closed', '  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: peer } } }] }]\n')]);
    const g = buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' }));
    samePlain(mesh, g);
    expect(edgesOf(g).has('other/b -> mon/nodeexp')).toBe(true);
  });

  it('a hostNetwork DaemonSet source of another namespace reaches an ingress-isolated target (its copy on the target\'s node): the target stays decided for the other namespaces', () => {
    const mesh = loadDocs([doc.ns('mon'), doc.ns('peer'), doc.ns('app'),
      doc.deploy('mon', 'agent', { app: 'agent' }, { hostNetwork: true }).replace('kind: Deployment', 'kind: DaemonSet'),
      doc.deploy('peer', 'a', { app: 'a' }), doc.deploy('app', 'web', { app: 'web' }, { port: '{ containerPort: 8080 }' }), doc.service('app', 'web'),
      doc.np('app', 'closed', '  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: peer } } }] }]\n')]);
    const g = buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' }));
    samePlain(mesh, g);
    expect(edgesOf(g).has('mon/agent -> app/web')).toBe(true);
  });

  it('a pod whose dnsConfig sends its queries elsewhere is told apart from its namespace-mates, whose query to kube-dns their egress policy drops', () => {
    const mesh = loadDocs([doc.ns('a'), doc.ns('b'), doc.coredns(),
      doc.deploy('a', 'plain', { role: 'c' }),
      doc.deploy('a', 'own', { role: 'c' }).replace('spec: { containers', 'spec: { dnsPolicy: None, dnsConfig: { nameservers: [192.0.2.53] }, containers'),
      doc.deploy('b', 'web', { app: 'web' }, { port: '{ containerPort: 8080 }' }), doc.service('b', 'web'),
      doc.np('a', 'egress', '  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n    - to: [{ namespaceSelector: {} }]\n      ports: [{ port: 8080 }]\n    - to: [{ ipBlock: { cidr: 192.0.2.0/24 } }]\n')]);
    expect(mesh.workloads.find((w) => w.id === 'a/own')?.dns).toEqual({ policy: 'None', nameservers: ['192.0.2.53'] });
    const g = buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' }));
    samePlain(mesh, g);
  });

  it('kube-system\'s ingress NetworkPolicies, which every DNS query meets, tell source namespaces apart by their labels', () => {
    const injected = { 'istio-injection': 'enabled' };
    const mesh = loadDocs([doc.ns('kube-system'), doc.ns('plain', injected), doc.ns('labelled', { dns: 'ok', ...injected }), doc.ns('target', injected),
      doc.strict('target'), doc.coredns(),
      doc.np('kube-system', 'dns-clients', `  podSelector: { matchLabels: { k8s-app: kube-dns } }
  policyTypes: [Ingress]
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { dns: ok } } }, { namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: kube-system } } }] }]
`),
      ...['plain', 'labelled', 'target'].flatMap((n) => [doc.deploy(n, 'w', { app: 'w' }, { port: '{ containerPort: 8080 }' }), doc.service(n, 'w')])]);
    const g = buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' }));
    samePlain(mesh, g);
    // STRICT refuses the plaintext of a pod dialled by address: only the Service's name gets through, and only a
    // namespace kube-system's policy admits can resolve it
    expect(edgesOf(g).has('labelled/w -> target/w')).toBe(true);
    expect(edgesOf(g).has('plain/w -> target/w')).toBe(false);
  });

  it('DNS capture set by a ProxyConfig for some pods of a namespace tells them apart: their agent answers the names their egress policy keeps from kube-dns', () => {
    const injected = { 'istio-injection': 'enabled' };
    const capture = (ns: string, name: string, selector: string): string => `apiVersion: networking.istio.io/v1beta1
kind: ProxyConfig
metadata: { name: ${name}, namespace: ${ns} }
spec: { ${selector}environmentVariables: { ISTIO_META_DNS_CAPTURE: "true" } }
`;
    const mesh = loadDocs([doc.ns('kube-system'), doc.ns('src', injected), doc.ns('dst', injected), doc.ns('other', injected), doc.strict('dst'), doc.coredns(),
      doc.np('src', 'only-dst', '  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{ to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: dst } } }] }]\n'),
      capture('src', 'agent-dns', 'selector: { matchLabels: { dns: agent } }, '),
      doc.deploy('src', 'plain', { app: 'plain' }), doc.deploy('src', 'captured', { app: 'captured', dns: 'agent' }),
      doc.deploy('other', 'o', { app: 'o' }),
      doc.deploy('dst', 'w', { app: 'w' }, { port: '{ containerPort: 8080 }' }), doc.service('dst', 'w')]);
    const g = buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' }));
    samePlain(mesh, g);
    expect(edgesOf(g).has('src/captured -> dst/w')).toBe(true);
    expect(edgesOf(g).has('src/plain -> dst/w')).toBe(false);
    // set for a whole other namespace, where no policy isolates egress: nothing changes there
    const wide = loadDocs([doc.ns('kube-system'), doc.ns('src', injected), doc.ns('dst', injected), doc.strict('dst'), doc.coredns(), capture('dst', 'ns-wide', ''),
      doc.np('src', 'only-dst', '  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{ to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: dst } } }] }]\n'),
      doc.deploy('src', 'plain', { app: 'plain' }), doc.deploy('dst', 'w', { app: 'w' }, { port: '{ containerPort: 8080 }' }), doc.service('dst', 'w')]);
    samePlain(wide, buildOneHopGraphByClass(new ReachabilityExplorer(wide, { edges: 'allowed' })));
  });

  it('the CoreDNS pods resolve without kube-dns: told apart from their namespace-mates, in the explorer\'s memo and in the class graph', () => {
    const mesh = loadDocs([doc.ns('kube-system'), doc.ns('target', { 'istio-injection': 'enabled' }), doc.strict('target'),
      doc.np('kube-system', 'deny-all', '  podSelector: {}\n  policyTypes: [Ingress]\n'),
      doc.coredns(), doc.deploy('kube-system', 'helper', { app: 'helper' }),
      doc.deploy('target', 'w', { app: 'w' }, { port: '{ containerPort: 8080 }' }), doc.service('target', 'w')]);
    samePlain(mesh, buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' })));
    // the explorer's memo shares a decision between sources of one identity: the CoreDNS pod's name lookup works,
    // its namespace-mate's is dropped — each attempt as decide() answers it
    const explorer = new ReachabilityExplorer(mesh, { edges: 'all' });
    const byName = (id: string): string | undefined => explorer.explore({ from: [id], exploit: () => false, depth: 1 }).edges
      .find((e) => e.to === 'target/w' && e.dial.startsWith('w.target'))?.stoppedBy[0]?.control;
    expect(byName('kube-system/coredns')).toBe('PeerAuthentication');
    expect(byName('kube-system/helper')).toBe('NetworkPolicy');
  });

  it('a target whose ALLOW rules admit listed principals only is left undecided for the other sources only while its sidecar enforces them: a dry-run policy, a rule without `from`, a source without principals, an uncaptured port, a target without sidecar, a shared address or a rerouting VirtualService keep them decided', () => {
    type Variant = 'dry-run' | 'no-from' | 'no-principals' | 'uncaptured' | 'no-sidecar' | 'shared-ip' | 'reroute';
    const variants: Variant[] = ['dry-run', 'no-from', 'no-principals', 'uncaptured', 'no-sidecar', 'shared-ip', 'reroute'];
    fc.assert(fc.property(fc.integer({ min: 0, max: 1000 }), fc.constantFrom<Profile>('open', 'strict'), fc.constantFrom(...variants), (seed, profile, variant) => {
      // The variant is applied to every third workload (by name) of a generated mesh whose ALLOW policies list callers' principals.
      const picked = (name: unknown): boolean => typeof name === 'string' && [...name].reduce((h, c) => h + c.charCodeAt(0), 0) % 3 === 0;
      const edit = (doc: Record<string, unknown>): Record<string, unknown> | null => {
        const meta = doc.metadata as Record<string, unknown>;
        if (doc.kind === 'AuthorizationPolicy' && picked(String(meta.name).replace(/-allow$/, ''))) {
          const spec = doc.spec as { rules?: Record<string, unknown>[] };
          if (variant === 'dry-run') meta.annotations = { 'istio.io/dry-run': 'true' };
          if (variant === 'no-from') spec.rules = [...(spec.rules ?? []), { to: [{ operation: { methods: ['GET'] } }] }];
          if (variant === 'no-principals') spec.rules = [...(spec.rules ?? []), { from: [{ source: { principals: ['nobody/ns/x/sa/y'] } }, { source: { ipBlocks: ['0.0.0.0/0'] } }] }];
        }
        if (doc.kind === 'Deployment' && picked(meta.name)) {
          const tmeta = ((doc.spec as Record<string, unknown>).template as Record<string, unknown>).metadata as Record<string, unknown>;
          if (variant === 'uncaptured') tmeta.annotations = { 'traffic.sidecar.istio.io/excludeInboundPorts': `${HTTP_PORT},${TCP_PORT}` };
          if (variant === 'no-sidecar') tmeta.labels = { ...(tmeta.labels as Record<string, string>), 'sidecar.istio.io/inject': 'false' };
        }
        return doc;
      };
      const base = generatedEdited(seed, profile, 4, 100, edit, () => '');
      let mesh = base;
      if (variant === 'shared-ip') {
        // a picked workload shares its address with a workload of another namespace
        const a = base.workloads.find((w) => picked(w.name));
        const b = base.workloads.find((w) => a !== undefined && w.namespace !== a.namespace);
        if (a && b) mesh = generatedEdited(seed, profile, 4, 100, edit, () => '', { ips: { [a.id]: '10.99.0.9', [b.id]: '10.99.0.9' } });
      }
      if (variant === 'reroute') {
        // Requests for one HTTP Service are sent to another namespace's, whose policy admits other callers.
        const http = base.services.filter((x) => x.ports.some((p) => p.port === HTTP_SERVICE_PORT));
        const from = http[0];
        const to = http.find((x) => from !== undefined && x.namespace !== from.namespace);
        if (from && to) {
          mesh = generatedEdited(seed, profile, 4, 100, edit, () => stringify({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'away', namespace: from.namespace },
            spec: { hosts: [from.fqdn], http: [{ route: [{ destination: { host: to.fqdn } }] }] } }));
        }
      }
      samePlain(mesh, buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' })));
    }), { numRuns: 14, seed: 33 });
  }, 240_000);

  it('on every shipped mesh under scenarios/meshes, alone and with the policy variants, it equals the plain per-pair graph', () => {
    const meshes: string[][] = [['bookinfo'], ['capture'], ['payments'], ['three-ns'], ['bookinfo', 'three-ns']];
    for (const v of readdirSync('scenarios/meshes/policies').sort()) {
      const base = v.startsWith('bookinfo') ? 'bookinfo' : v.startsWith('payments') ? 'payments' : 'three-ns';
      meshes.push([base, `policies/${v}`]);
    }
    for (const dirs of meshes) {
      const mesh = shipped(dirs);
      samePlain(mesh, buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' })));
    }
  }, 180_000);

  it('with ipBlocks, wildcard principals, namespace and serviceAccount rules, header conditions, NetworkPolicy peers, namespaceSelectors of every shape, PERMISSIVE and a rerouting VirtualService, it equals the plain per-pair graph', () => {
    for (const inline of [[INLINE.authz], [INLINE.network], [INLINE.authz, INLINE.network], [INLINE.selectors], [INLINE.authz, INLINE.selectors]]) {
      const mesh = shipped(['bookinfo', 'three-ns'], ...inline);
      samePlain(mesh, buildOneHopGraphByClass(new ReachabilityExplorer(mesh, { edges: 'allowed' })));
    }
  }, 120_000);
});
