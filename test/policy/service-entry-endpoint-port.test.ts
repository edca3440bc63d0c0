/**
 * §8 An inline ServiceEntry endpoint outside the mesh is read like any endpoint (conversion.go convertEndpoint): it
 * is reached on its own port for the entry port's name, else the entry port's targetPort, else the entry port's
 * number. A DNS entry without endpoints makes its hosts the endpoints, on the targetPort, else the port.
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, np, ns, registryOnlyMeshConfig, send } from '../helpers.js';

const entry = (resolution: string, endpoints: string, port = '{ number: 8080, name: http, protocol: HTTP }'): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext, namespace: a }
spec:
  hosts: [ext.example.com]
  ports: [${port}]
  resolution: ${resolution}
  location: MESH_EXTERNAL
${endpoints}`;
const dnsRule = np('a', 'dns', `  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: kube-system } } }]
      ports: [{ protocol: UDP, port: 53 }, { protocol: TCP, port: 53 }]
`);
const onlyTo = (port: number): string => np('a', 'ext-only', `  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{ ipBlock: { cidr: 192.0.2.10/32 } }]
      ports: [{ protocol: TCP, port: ${port} }]
`);
const mesh = (...docs: string[]) => meshFrom(ns('istio-system', false), ns('a', true), app('a', 'client'), registryOnlyMeshConfig, ...docs);
const trace = (d: ReturnType<typeof send>): string => d.events.map((e) => e.what).join('\n');
const to = { from: 'a/client', to: 'ext.example.com:8080' };

describe('§8 ServiceEntry inline endpoints outside the mesh', () => {
  it('an inline ServiceEntry endpoint outside the mesh is reached on its own port for the entry port\'s name, else the targetPort', () => {
    for (const resolution of ['STATIC', 'DNS']) {
      const named = send(mesh(entry(resolution, '  endpoints: [{ address: 192.0.2.10, ports: { http: 9090 } }]\n')), to);
      expect(named.outcome).toBe('allowed');
      expect(trace(named)).toContain('its endpoint 192.0.2.10 port 9090');
      expect(trace(named)).toContain('ext.example.com:9090 (192.0.2.10) outside the mesh answers');
      // without its own port for the name (validation refuses a port name the entry lacks): the targetPort, else the port
      const target = send(mesh(entry(resolution, '  endpoints: [{ address: 192.0.2.10 }]\n', '{ number: 8080, name: http, protocol: HTTP, targetPort: 7070 }')), to);
      expect(trace(target)).toContain('its endpoint 192.0.2.10 port 7070');
      expect(trace(target)).toContain('ext.example.com:7070 (192.0.2.10) outside the mesh answers');
      const plain = send(mesh(entry(resolution, '  endpoints: [{ address: 192.0.2.10 }]\n')), to);
      expect(trace(plain)).toContain('ext.example.com:8080 (192.0.2.10) outside the mesh answers');
      // the endpoint's own port wins over the targetPort
      const both = send(mesh(entry(resolution, '  endpoints: [{ address: 192.0.2.10, ports: { http: 9090 } }]\n', '{ number: 8080, name: http, protocol: HTTP, targetPort: 7070 }')), to);
      expect(trace(both)).toContain('ext.example.com:9090 (192.0.2.10) outside the mesh answers');
    }
  });

  it('a DNS entry without endpoints sends to its host on the targetPort', () => {
    const d = send(mesh(entry('DNS', '', '{ number: 8080, name: http, protocol: HTTP, targetPort: 7070 }')), to);
    expect(d.outcome).toBe('allowed');
    expect(trace(d)).toContain('its endpoint ext.example.com port 7070');
    expect(trace(d)).toContain('ext.example.com:7070');
  });

  it('NetworkPolicy egress is checked on the endpoint\'s port, not the port dialled', () => {
    const ep = entry('STATIC', '  endpoints: [{ address: 192.0.2.10, ports: { http: 9090 } }]\n');
    expect(send(mesh(ep, dnsRule, onlyTo(9090)), to).outcome).toBe('allowed');
    const d = send(mesh(ep, dnsRule, onlyTo(8080)), to);
    expect(d.outcome).toBe('blocked');
    expect(d.stoppedBy[0]).toMatchObject({ control: 'NetworkPolicy' });
  });
});
