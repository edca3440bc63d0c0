/**
 * §11 hostNetwork pods and NetworkPolicy: Kubernetes leaves it undefined; the common implementation (the NetworkPolicy
 * docs, "NetworkPolicy and hostNetwork pods") ignores hostNetwork pods when matching podSelector and
 * namespaceSelector — the policies of their namespace do not isolate them, and peers naming them do not admit them:
 * their traffic is node traffic.
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, np, ns, send } from '../helpers.js';

const nodeExporter = `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: nodeexp, namespace: mon }
spec:
  selector: { matchLabels: { app: nodeexp } }
  template:
    metadata: { labels: { app: nodeexp } }
    spec:
      hostNetwork: true
      containers: [{ name: exporter, image: prom/node-exporter, ports: [{ containerPort: 9100 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: nodeexp, namespace: mon }
spec:
  selector: { app: nodeexp }
  ports: [{ name: http-metrics, port: 9100, targetPort: 9100 }]
`;
const base = [ns('istio-system', false), ns('a', false), ns('mon', false), app('a', 'scraper'), nodeExporter];

describe('§11 a hostNetwork destination is node traffic to NetworkPolicy', () => {
  it('a deny-all ingress policy of its namespace does not isolate it', () => {
    const d = send(meshFrom(...base, np('mon', 'deny', '  podSelector: {}\n  policyTypes: [Ingress]\n')), { from: 'a/scraper', to: 'nodeexp.mon.svc.cluster.local:9100' });
    expect(d.outcome).toBe('allowed');
    expect(d.events.map((e) => e.what).join('\n')).toContain('host network');
  });

  it('an egress rule admitting its namespace by selector does not admit it', () => {
    const egress = np('a', 'only-mon', `  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: mon } } }]
    - to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: kube-system } } }]
      ports: [{ protocol: UDP, port: 53 }]
`);
    const d = send(meshFrom(...base, egress), { from: 'a/scraper', to: 'nodeexp.mon.svc.cluster.local:9100' });
    expect(d.outcome).toBe('blocked');
    expect(d.stoppedBy[0]?.control).toBe('NetworkPolicy');
    expect(d.stoppedBy[0]?.reason).not.toContain('UDP 53');
    expect(d.stoppedBy[0]?.reason).toContain('9100');
  });

  it('a hostNetwork pod has its node\'s address, outside the pod network: an ipBlock for the pod network does not admit it', () => {
    const podsOnly = np('a', 'pods-only', `  podSelector: {}
  policyTypes: [Ingress]
  ingress: [{ from: [{ ipBlock: { cidr: 10.244.0.0/16 } }] }]
`);
    const m = meshFrom(...base, ns('b', false), app('b', 'pod'), podsOnly);
    expect(m.workloads.find((w) => w.id === 'mon/nodeexp')?.ip.startsWith('172.18.')).toBe(true);
    expect(send(m, { from: 'mon/nodeexp', to: 'scraper.a.svc.cluster.local:80' }).stoppedBy[0]?.control).toBe('NetworkPolicy');
    expect(send(m, { from: 'b/pod', to: 'scraper.a.svc.cluster.local:80' }).outcome).toBe('allowed');
  });
});
