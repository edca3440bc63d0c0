/**
 * §8 TLS to a ServiceEntry host: a TLS ServiceEntry port without addresses is an outbound listener on 0.0.0.0 whose
 * filter chains are picked by SNI (server_names), not by the name the app dialled. An SNI naming an entry's host takes
 * that entry's chain wherever the connection was dialled: with resolution NONE it goes on to the address dialled — the
 * SNI-spoofing way past REGISTRY_ONLY —, with DNS to the entry's own host. An SNI naming no entry matches no chain.
 * HTTP ports work the same way by the Host header. With DNS capture on, Istio allocates an address to a DNS or STATIC
 * entry's host and binds its TCP listeners there, so its SNI no longer takes a connection dialled elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/policy/decide.js';
import type { Mesh } from '../../src/model/types.js';
import { app, meshFrom, ns, request } from '../helpers.js';

const registryOnly = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: istio, namespace: istio-system }\ndata:\n  mesh: |-\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n';
const entry = (resolution: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: a }
spec:
  hosts: [api.example.com]
  ports: [{ number: 443, name: tls, protocol: TLS }]
  resolution: ${resolution}
`;
const mesh = (resolution: string): Mesh => meshFrom(ns('istio-system', false), ns('a', true), app('a', 'client'), registryOnly, entry(resolution));
const tls = (m: Mesh, to: string, sni: string) => decide(m, { ...request(m, { from: 'a/client', to, protocol: 'tls' }), sni });
const said = (d: ReturnType<typeof decide>): string => d.events.map((e) => e.what).join('\n');

describe('§8 a sidecar matches TLS to ServiceEntries by SNI', () => {
  it('dialling an unknown host with the SNI of an allowed NONE entry gets out under REGISTRY_ONLY, to the address dialled', () => {
    const d = tls(mesh('NONE'), 'evil.example.org:443', 'api.example.com');
    expect(d.outcome).toBe('allowed');
    expect(said(d)).toContain('goes on to the address dialled, evil.example.org');
    // without the spoofed SNI the same connection is blocked
    expect(tls(mesh('NONE'), 'evil.example.org:443', 'evil.example.org').outcome).toBe('blocked');
  });

  it('with resolution DNS the entry\'s chain connects to its own host, not to the address dialled', () => {
    const d = tls(mesh('DNS'), 'evil.example.org:443', 'api.example.com');
    expect(d.outcome).toBe('allowed');
    expect(said(d)).toContain('the connection goes to api.example.com, not to evil.example.org');
  });

  it('with DNS capture on, a DNS entry\'s TLS listener is bound to the address Istio allocates to its host: its SNI sent to another address reaches no chain; a NONE entry gets no address and still does', () => {
    const capturing = (resolution: string): Mesh => meshFrom(ns('istio-system', false), ns('a', true), app('a', 'client'), entry(resolution),
      registryOnly.replace('    outboundTrafficPolicy:', '    defaultConfig: { proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" } }\n    outboundTrafficPolicy:'));
    const d = tls(capturing('DNS'), 'evil.example.org:443', 'api.example.com');
    expect(d.outcome).toBe('blocked');
    expect(said(d)).toContain('bound to the address Istio allocated to api.example.com');
    expect(tls(capturing('DNS'), 'api.example.com:443', 'api.example.com').outcome).toBe('allowed');
    expect(tls(capturing('NONE'), 'evil.example.org:443', 'api.example.com').outcome).toBe('allowed');
  });

  it('dialling the allowed host with another SNI matches no chain: blocked under REGISTRY_ONLY', () => {
    expect(tls(mesh('NONE'), 'api.example.com:443', 'evil.example.org').outcome).toBe('blocked');
    expect(tls(mesh('NONE'), 'api.example.com:443', 'api.example.com').outcome).toBe('allowed');
  });

  it('HTTP is matched by Host the same way: an allowed NONE entry\'s Host sent to any address gets out; to the allowed name with another Host, no virtual host (502)', () => {
    const httpEntry = entry('NONE').replace('[{ number: 443, name: tls, protocol: TLS }]', '[{ number: 80, name: http, protocol: HTTP }]');
    const m = meshFrom(ns('istio-system', false), ns('a', true), app('a', 'client'), registryOnly, httpEntry);
    const spoof = decide(m, request(m, { from: 'a/client', to: 'evil.example.org:80', headers: { host: 'api.example.com' } }));
    expect(spoof.outcome).toBe('allowed');
    expect(said(spoof)).toContain('matches Host api.example.com');
    expect(decide(m, request(m, { from: 'a/client', to: 'evil.example.org:80' })).outcome).toBe('blocked');
    expect(decide(m, request(m, { from: 'a/client', to: 'api.example.com:80', headers: { host: 'evil.example.org' } })).code).toBe(502);
    expect(decide(m, request(m, { from: 'a/client', to: 'api.example.com:80', headers: { host: 'api.example.com:80' } })).outcome).toBe('allowed');
  });
});
