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
/** the same agent as a Deployment: one pod on some node meshrange does not know, never assumed to be its peer's */
const hostDeployment = nodeExporter.replace('kind: DaemonSet', 'kind: Deployment');
const base = [ns('istio-system', false), ns('a', false), ns('mon', false), app('a', 'scraper'), hostDeployment];

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

describe('§11 a hostNetwork DaemonSet has a copy on every node, and traffic between a pod and its own node is always allowed', () => {
  // kubernetes.io/docs/concepts/services-networking/network-policies: "traffic to and from the node where a Pod is
  // running is always allowed, regardless of the IP address of the Pod or the node"
  const daemonSet = [ns('istio-system', false), ns('a', false), ns('mon', false), app('a', 'scraper'), nodeExporter];
  const denyAll = np('a', 'deny-all', '  podSelector: {}\n  policyTypes: [Ingress, Egress]\n');

  it('it reaches a pod whose policies admit nothing: its copy on that pod\'s node is the node', () => {
    const d = send(meshFrom(...daemonSet, denyAll), { from: 'mon/nodeexp', to: 'scraper.a.svc.cluster.local:80' });
    expect(d.outcome).toBe('allowed');
    expect(d.stoppedBy).toEqual([]);
    expect(d.events.map((e) => e.what).join('\n')).toContain('always allowed');
  });

  it('a pod whose egress policies admit nothing reaches it: its copy on the pod\'s own node', () => {
    const d = send(meshFrom(...daemonSet, denyAll), { from: 'a/scraper', to: 'workload/mon/nodeexp:9100' });
    const viaService = send(meshFrom(...daemonSet, denyAll, np('a', 'dns', `  podSelector: {}
  policyTypes: [Egress]
  egress: [{ to: [{ namespaceSelector: {} }], ports: [{ protocol: UDP, port: 53 }] }]
`)), { from: 'a/scraper', to: 'nodeexp.mon.svc.cluster.local:9100' });
    expect(viaService.outcome).toBe('allowed');
    expect(d.stoppedBy.map((s) => s.control)).not.toContain('NetworkPolicy');
  });

  it('a hostNetwork Deployment is not assumed to share the pod\'s node: the policies still decide, and the trace names the assumption', () => {
    const d = send(meshFrom(...base, denyAll), { from: 'mon/nodeexp', to: 'scraper.a.svc.cluster.local:80' });
    expect(d.stoppedBy[0]?.control).toBe('NetworkPolicy');
    expect(d.events.map((e) => e.what).join('\n')).toContain('mon/nodeexp runs in the host network, and meshrange assumes on another node');
    const back = send(meshFrom(...base, denyAll), { from: 'a/scraper', to: 'workload/mon/nodeexp:9100' });
    expect(back.stoppedBy[0]?.control).toBe('NetworkPolicy');
    expect(back.events.map((e) => e.what).join('\n')).toContain('mon/nodeexp runs in the host network, and meshrange assumes on another node');
  });
});
