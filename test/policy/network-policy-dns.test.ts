/**
 * §11 cluster DNS and NetworkPolicy: an app resolves a name through kube-dns first (the Service's address is
 * translated to a CoreDNS pod of kube-system, UDP 53; Istio does not capture DNS by default). A pod whose egress
 * policies do not admit that query resolves nothing, however open the way to the service is — the classic break of a
 * default-deny egress policy without a DNS rule (the upstream e2e tests add one for that reason).
 */
import { describe, expect, it } from 'vitest';
import { loadMesh } from '../../src/loader/load.js';
import { app, egressOnlyTo, meshFrom, np, ns, send } from '../helpers.js';

const onlyB = egressOnlyTo('a', 'b');
const dnsRule = np('a', 'dns', `  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: kube-system } } }]
      ports: [{ protocol: UDP, port: 53 }, { protocol: TCP, port: 53 }]
`);
const base = [ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('b', 'server')];

describe('§11 an egress-isolated pod needs a rule for its DNS queries', () => {
  it('without one, a name does not resolve: the request is never sent, and the fix is named', () => {
    const m = meshFrom(...base, onlyB);
    const d = send(m, { from: 'a/client', to: 'server.b.svc.cluster.local:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0 });
    expect(d.stoppedBy[0]).toMatchObject({ control: 'NetworkPolicy', name: 'a/only-b' });
    expect(d.stoppedBy[0]?.reason).toContain('UDP 53');
    // dialled by address, the same service is reached: the policy admits namespace b
    const ip = m.services.find((s) => s.name === 'server')?.clusterIP ?? '';
    expect(send(m, { from: 'a/client', to: `${ip}:80` }).outcome).toBe('allowed');
  });

  it('with a rule admitting kube-system on port 53, the name resolves; a pod with no egress policy needs none', () => {
    expect(send(meshFrom(...base, onlyB, dnsRule), { from: 'a/client', to: 'server.b.svc.cluster.local:80' }).outcome).toBe('allowed');
    expect(send(meshFrom(...base, onlyB), { from: 'b/server', to: 'client.a.svc.cluster.local:80' }).outcome).toBe('allowed');
  });

  it('the mesh\'s own CoreDNS pods and kube-system\'s ingress policies count: a namespace they do not admit resolves nothing', () => {
    const coredns = `apiVersion: apps/v1
kind: Deployment
metadata: { name: coredns, namespace: kube-system }
spec:
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata: { labels: { k8s-app: kube-dns } }
    spec: { containers: [{ name: coredns, image: coredns, ports: [{ name: dns, containerPort: 53, protocol: UDP }] }] }
`;
    const onlyLabelled = np('kube-system', 'dns-clients', `  podSelector: { matchLabels: { k8s-app: kube-dns } }
  policyTypes: [Ingress]
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { dns: ok } } }] }]
`);
    const labelledB = `apiVersion: v1
kind: Namespace
metadata: { name: b, labels: { istio-injection: enabled, dns: ok } }
`;
    const m = meshFrom(ns('istio-system', false), ns('kube-system', false), ns('a', true), labelledB, app('a', 'client'), app('b', 'server'), coredns, onlyLabelled);
    const d = send(m, { from: 'a/client', to: 'server.b.svc.cluster.local:80' });
    expect(d.stoppedBy[0]).toMatchObject({ control: 'NetworkPolicy', name: 'kube-system/dns-clients' });
    expect(send(m, { from: 'b/server', to: 'client.a.svc.cluster.local:80' }).outcome).toBe('allowed');
  });

  it('kube-system\'s own policy dropping the query names kube-system as the place to fix it; the CoreDNS pods themselves need no DNS rule', () => {
    const coredns = (hostNetwork: boolean): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: coredns, namespace: kube-system }
spec:
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata: { labels: { k8s-app: kube-dns } }
    spec: { ${hostNetwork ? 'hostNetwork: true, ' : ''}containers: [{ name: coredns, image: coredns, ports: [{ name: dns, containerPort: 53, protocol: UDP }] }] }
`;
    const denyAll = np('kube-system', 'deny-all', '  podSelector: {}\n  policyTypes: [Ingress]\n');
    const m = meshFrom(...base, ns('kube-system', false), coredns(false), denyAll);
    const d = send(m, { from: 'a/client', to: 'server.b.svc.cluster.local:80' });
    expect(d.stoppedBy[0]).toMatchObject({ control: 'NetworkPolicy', name: 'kube-system/deny-all' });
    expect(d.stoppedBy[0]?.reason).toContain("let kube-system's ingress policy admit a");
    expect(send(m, { from: 'kube-system/coredns', to: 'server.b.svc.cluster.local:80' }).outcome).toBe('allowed');
    // a CoreDNS in the host network is node traffic: a namespaceSelector for kube-system does not admit the query
    const kubeSystemOnly = np('a', 'dns', `  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: kube-system } } }]
      ports: [{ protocol: UDP, port: 53 }]
    - to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: b } } }]
`);
    expect(send(meshFrom(...base, ns('kube-system', false), coredns(false), kubeSystemOnly), { from: 'a/client', to: 'server.b.svc.cluster.local:80' }).outcome).toBe('allowed');
    const host = send(meshFrom(...base, ns('kube-system', false), coredns(true), kubeSystemOnly), { from: 'a/client', to: 'server.b.svc.cluster.local:80' });
    expect(host.outcome).toBe('blocked');
    expect(host.stoppedBy[0]?.reason).toContain('UDP 53');
  });
});

describe('§11 the DNS query goes where the pod\'s dnsPolicy sends it', () => {
  /** app('a', 'client') with a pod-spec snippet added (dnsPolicy, dnsConfig) */
  const clientWith = (podSpec: string): string => app('a', 'client').replace('      serviceAccountName: client\n', `      serviceAccountName: client\n${podSpec}`);
  const toResolver = (cidr: string): string => np('a', 'resolver', `  podSelector: {}
  policyTypes: [Egress]
  egress: [{ to: [{ ipBlock: { cidr: ${cidr} } }], ports: [{ protocol: UDP, port: 53 }] }]
`);
  const none = clientWith('      dnsPolicy: None\n      dnsConfig: { nameservers: [192.0.2.53] }\n');
  const base2 = [ns('istio-system', false), ns('a', true), ns('b', true), app('b', 'server')];

  it('dnsPolicy None: the query goes to dnsConfig.nameservers, so a rule admitting that address resolves the name, and one for kube-system does not', () => {
    expect(send(meshFrom(...base2, none, onlyB, toResolver('192.0.2.0/24')), { from: 'a/client', to: 'server.b.svc.cluster.local:80' }).outcome).toBe('allowed');
    const d = send(meshFrom(...base2, none, onlyB, dnsRule), { from: 'a/client', to: 'server.b.svc.cluster.local:80' });
    expect(d.outcome).toBe('blocked');
    expect(d.stoppedBy[0]?.reason).toContain('192.0.2.53');
    expect(d.stoppedBy[0]?.reason).not.toContain('kube-system');
  });

  it('dnsPolicy None: the resolver tries every nameserver, so one admitted is enough', () => {
    const two = clientWith('      dnsPolicy: None\n      dnsConfig: { nameservers: [192.0.2.53, 198.51.100.53] }\n');
    expect(send(meshFrom(...base2, two, onlyB, toResolver('198.51.100.0/24')), { from: 'a/client', to: 'server.b.svc.cluster.local:80' }).outcome).toBe('allowed');
    expect(send(meshFrom(...base2, two, onlyB), { from: 'a/client', to: 'server.b.svc.cluster.local:80' }).stoppedBy[0]?.control).toBe('NetworkPolicy');
  });

  it('dnsPolicy Default: the node\'s resolver, whose address is unknown: the query is not judged, and the trace says so', () => {
    const d = send(meshFrom(...base2, clientWith('      dnsPolicy: Default\n'), onlyB), { from: 'a/client', to: 'server.b.svc.cluster.local:80' });
    expect(d.outcome).toBe('allowed');
    expect(d.events.map((e) => e.what).join('\n')).toContain('dnsPolicy Default');
  });

  it('the API server\'s checks: a known dnsPolicy, None with nameservers, at most three, each an address', () => {
    const errors = (podSpec: string): string[] => {
      const { issues } = loadMesh([{ path: 'x.yaml', text: [...base2, clientWith(podSpec)].join('---\n') }]);
      return issues.errors.map((e) => e.code);
    };
    expect(errors('      dnsPolicy: clusterfirst\n')).toContain('bad-dns-policy');
    expect(errors('      dnsPolicy: None\n')).toContain('bad-dns-config');
    expect(errors('      dnsPolicy: None\n      dnsConfig: { nameservers: [1.1.1.1, 1.0.0.1, 8.8.8.8, 8.8.4.4] }\n')).toContain('bad-dns-config');
    expect(errors('      dnsPolicy: None\n      dnsConfig: { nameservers: [dns.example.com] }\n')).toContain('bad-dns-config');
    expect(errors('      dnsPolicy: ClusterFirstWithHostNet\n')).toEqual([]);
  });
});
