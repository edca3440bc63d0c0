/**
 * §8 WorkloadEntry: an endpoint of every ServiceEntry of its namespace whose workloadSelector its labels match
 * (serviceentry controller, getWorkloadServiceEntries), beside the pods it selects, read like an inline endpoint
 * (conversion.go convertEndpoint): its own port for the entry port's name, else the entry port's targetPort, else the
 * entry port's number; its tlsMode label, else Istio mTLS when it names a serviceAccount (getTLSModeFromWorkloadEntry).
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, ns, registryOnlyMeshConfig, send } from '../helpers.js';

const entry = (extra = '', port = '{ number: 8080, name: http, protocol: HTTP }'): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: vms, namespace: a }
spec:
  hosts: [vm.internal]
  ports: [${port}]
  resolution: STATIC
  location: MESH_INTERNAL
  workloadSelector: { labels: { app: vm } }
${extra}`;
const we = (name: string, namespace: string, spec: string): string => `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${spec}`;
const mesh = (...docs: string[]) => meshFrom(ns('istio-system', false), ns('a', true), ns('b', true), app('a', 'client'), app('b', 'server'), registryOnlyMeshConfig, ...docs);
const trace = (d: ReturnType<typeof send>): string => d.events.map((e) => e.what).join('\n');

describe('§8 WorkloadEntry as a ServiceEntry endpoint', () => {
  it('a ServiceEntry with workloadSelector lists the WorkloadEntries whose labels match, in its namespace', () => {
    const d = send(mesh(entry(), we('vm1', 'a', '  address: 192.0.2.10\n  labels: { app: vm }\n')), { from: 'a/client', to: 'vm.internal:8080' });
    expect(d.outcome).toBe('allowed');
    expect(trace(d)).toContain('WorkloadEntry a/vm1, 192.0.2.10');
    // the same entry in another namespace, or labels that do not match: no endpoint, 503 no healthy upstream
    for (const other of [we('vm1', 'b', '  address: 192.0.2.10\n  labels: { app: vm }\n'), we('vm1', 'a', '  address: 192.0.2.10\n  labels: { app: db }\n')]) {
      const none = send(mesh(entry(), other), { from: 'a/client', to: 'vm.internal:8080' });
      expect(none.code).toBe(503);
      expect(trace(none)).toContain('selects no pod or WorkloadEntry of its namespace');
    }
  });

  it('a WorkloadEntry port named like the ServiceEntry port maps the target port; else the targetPort, else the port', () => {
    const named = send(mesh(entry(), we('vm1', 'a', '  address: 192.0.2.10\n  labels: { app: vm }\n  ports: { http: 9090 }\n')), { from: 'a/client', to: 'vm.internal:8080' });
    expect(trace(named)).toContain('192.0.2.10 port 9090');
    const otherName = send(mesh(entry(), we('vm1', 'a', '  address: 192.0.2.10\n  labels: { app: vm }\n  ports: { grpc: 9090 }\n')), { from: 'a/client', to: 'vm.internal:8080' });
    expect(trace(otherName)).toContain('192.0.2.10 port 8080');
    const target = send(mesh(entry('', '{ number: 8080, name: http, protocol: HTTP, targetPort: 7070 }'), we('vm1', 'a', '  address: 192.0.2.10\n  labels: { app: vm }\n')), { from: 'a/client', to: 'vm.internal:8080' });
    expect(trace(target)).toContain('192.0.2.10 port 7070');
  });

  it('a WorkloadEntry at a pod\'s address gets auto mTLS from its serviceAccount; its tlsMode label wins over it', () => {
    const ip = mesh().workloads.find((w) => w.id === 'b/server')?.ip ?? '';
    const withSa = send(mesh(entry(), we('vm1', 'a', `  address: ${ip}\n  labels: { app: vm }\n  serviceAccount: server\n  ports: { http: 80 }\n`)), { from: 'a/client', to: 'vm.internal:8080' });
    expect(withSa).toMatchObject({ outcome: 'allowed', mtls: true, destination: { workload: 'b/server' } });
    expect(trace(withSa)).toContain('WorkloadEntry a/vm1, pod b/server port 80');
    const disabled = send(mesh(entry(), we('vm1', 'a', `  address: ${ip}\n  labels: { app: vm, security.istio.io/tlsMode: disabled }\n  serviceAccount: server\n`)), { from: 'a/client', to: 'vm.internal:8080' });
    expect(disabled).toMatchObject({ outcome: 'allowed', mtls: false });
    const bare = send(mesh(entry(), we('vm1', 'a', `  address: ${ip}\n  labels: { app: vm }\n`)), { from: 'a/client', to: 'vm.internal:8080' });
    expect(bare).toMatchObject({ outcome: 'allowed', mtls: false });
  });

  it('a WorkloadEntry with only a network (no address) is no endpoint meshrange can send to', () => {
    const d = send(mesh(entry(), we('vm1', 'a', '  network: net2\n  labels: { app: vm }\n')), { from: 'a/client', to: 'vm.internal:8080' });
    expect(d.code).toBe(503);
  });
});
