/**
 * §8 A ServiceEntry cluster load-balances over all of its endpoints, by weight (unset = 1): the inline endpoints, or
 * the pods and then the WorkloadEntries its workloadSelector selects. A request goes to the one the load balancer
 * picks (the runner's seeded pick; the first with the default), and the trace says it was one of several. The
 * address NetworkPolicy judges is the picked endpoint's.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/policy/decide.js';
import { app, meshFrom, np, ns, registryOnlyMeshConfig, request } from '../helpers.js';

const entry = (endpoints: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext, namespace: a }
spec:
  hosts: [ext.example.com]
  ports: [{ number: 8080, name: http, protocol: HTTP }]
  resolution: STATIC
  location: MESH_EXTERNAL
  endpoints:
${endpoints}`;
const mesh = (...docs: string[]) => meshFrom(ns('istio-system', false), ns('a', true), app('a', 'client'), registryOnlyMeshConfig, ...docs);
const at = (m: ReturnType<typeof mesh>, x: number) => decide(m, request(m, { from: 'a/client', to: 'ext.example.com:8080' }), { pick: () => x });
const answered = (d: ReturnType<typeof at>): string | undefined => d.events.find((e) => e.what.includes('outside the mesh answers'))?.what;

describe('§8 ServiceEntry endpoints are load-balanced', () => {
  it('a request goes to the endpoint the seeded pick lands on, by weight; the default pick is the first', () => {
    const m = mesh(entry('    - { address: 192.0.2.10 }\n    - { address: 192.0.2.11, weight: 3 }\n'));
    expect(answered(at(m, 0))).toContain('(192.0.2.10)');
    expect(answered(at(m, 0.2))).toContain('(192.0.2.10)');
    // weights 1 and 3: a pick past the first quarter lands on the second
    expect(answered(at(m, 0.3))).toContain('(192.0.2.11)');
    expect(answered(at(m, 0.99))).toContain('(192.0.2.11)');
    expect(at(m, 0.3).events.map((e) => e.what).join('\n')).toContain('one of its 2 endpoints');
    const one = mesh(entry('    - { address: 192.0.2.10 }\n'));
    expect(at(one, 0.9).events.map((e) => e.what).join('\n')).not.toContain('one of its');
  });

  it('the endpoint pick reads its own stream (pickEntryEndpoint) when given: the route-weight stream is not consumed', () => {
    const m = mesh(entry('    - { address: 192.0.2.10 }\n    - { address: 192.0.2.11 }\n'));
    let routeDraws = 0;
    const d = decide(m, request(m, { from: 'a/client', to: 'ext.example.com:8080' }), { pick: () => { routeDraws++; return 0; }, pickEntryEndpoint: () => 0.9 });
    expect(answered(d)).toContain('(192.0.2.11)');
    expect(routeDraws).toBe(0);
  });

  it('NetworkPolicy judges the address of the endpoint picked', () => {
    const onlySecond = np('a', 'only-second', `  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: kube-system } } }]
      ports: [{ protocol: UDP, port: 53 }, { protocol: TCP, port: 53 }]
    - to: [{ ipBlock: { cidr: 192.0.2.11/32 } }]
`);
    const m = mesh(entry('    - { address: 192.0.2.10 }\n    - { address: 192.0.2.11 }\n'), onlySecond);
    expect(at(m, 0).outcome).toBe('blocked');
    expect(at(m, 0).stoppedBy[0]).toMatchObject({ control: 'NetworkPolicy' });
    expect(at(m, 0.75).outcome).toBe('allowed');
  });

  it('a workloadSelector entry picks among the pods it selects, then its WorkloadEntries', () => {
    const selecting = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: a }
spec:
  hosts: [api.internal]
  ports: [{ number: 8080, name: http, protocol: HTTP }]
  resolution: STATIC
  location: MESH_INTERNAL
  workloadSelector: { labels: { role: api } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm, namespace: a }
spec: { address: 192.0.2.20, labels: { role: api }, ports: { http: 9090 } }
`;
    const m = mesh(app('a', 'api', { labels: { role: 'api' } }), selecting);
    const go = (x: number) => decide(m, request(m, { from: 'a/client', to: 'api.internal:8080' }), { pick: () => x });
    expect(go(0).destination?.workload).toBe('a/api');
    const vm = go(0.9);
    const trace = vm.events.map((e) => e.what).join('\n');
    expect(trace).toContain('its endpoint WorkloadEntry a/vm, 192.0.2.20 port 9090, outside the mesh — one of its 2 endpoints');
  });
});
