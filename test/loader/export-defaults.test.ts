/**
 * The mesh config's exportTo defaults (Istio initDefaultExportMaps): defaultServiceExportTo,
 * defaultVirtualServiceExportTo and defaultDestinationRuleExportTo say what an empty exportTo means; Istio honours `.`
 * (private) and `*` (public). Under `.`, a resource without exportTo is seen from its own namespace only.
 */
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/lint/index.js';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh } from '../../src/model/types.js';
import { findDestinationRule } from '../../src/policy/destination-rule.js';
import { lookupDestination } from '../../src/policy/egress.js';
import { routeHttp } from '../../src/policy/routing.js';
import { app, dr, meshFrom, ns, wl } from '../helpers.js';

const meshConfig = (body: string): string => `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |-
${body.split('\n').map((l) => `    ${l}`).join('\n')}
`;
const base = [ns('istio-system', false), ns('shop', true), ns('backend', true), app('shop', 'web'), app('backend', 'reviews')];
const host = 'reviews.backend.svc.cluster.local';
const vs = (namespace: string, exportTo = ''): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r, namespace: ${namespace} }
spec:
  hosts: [${host}]
${exportTo}  http: [{ route: [{ destination: { host: ${host}, port: { number: 80 } } }] }]
`;
const route = (m: Mesh, clientNs: string): string => {
  const r = routeHttp(m.virtualServices, { gateway: 'mesh', gatewayNamespace: clientNs, host, port: 80, path: '/', method: 'GET', headers: {} }, () => 0);
  return r.kind === 'route' ? r.vs : r.kind;
};

describe('mesh config exportTo defaults', () => {
  it('defaultVirtualServiceExportTo ["."]: a VirtualService without exportTo routes its own namespace\'s clients only; one with exportTo keeps it', () => {
    const m = meshFrom(...base, meshConfig('defaultVirtualServiceExportTo: ["."]'), vs('backend'));
    expect(route(m, 'backend')).toBe('backend/r');
    expect(route(m, 'shop')).toBe('default');
    const listed = meshFrom(...base, meshConfig('defaultVirtualServiceExportTo: ["."]'), vs('backend', '  exportTo: ["*"]\n'));
    expect(route(listed, 'shop')).toBe('backend/r');
    expect(route(meshFrom(...base, vs('backend')), 'shop')).toBe('backend/r');
  });

  it('defaultDestinationRuleExportTo ["."]: a DestinationRule without exportTo is private to its namespace', () => {
    const m = meshFrom(...base, meshConfig('defaultDestinationRuleExportTo: ["."]'), dr('backend', 'd', host, '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'shop', {}, host, 'backend')).toBeNull();
    expect(findDestinationRule(m, 'backend', {}, host, 'backend')?.rule.meta.name).toBe('d');
  });

  it('defaultDestinationRuleExportTo ["."] does not change the set consolidation reads: a rule without exportTo is not merged into a selector rule (no MR0120)', () => {
    const sel = dr('backend', 'sel', host, '{ mode: ISTIO_MUTUAL }', '  workloadSelector: { matchLabels: { app: reviews } }\n');
    const m = meshFrom(...base, meshConfig('defaultDestinationRuleExportTo: ["."]'), sel, dr('backend', 'plain', host, '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'backend', { app: 'other' }, host, 'backend')?.merged.map((d) => d.meta.name)).toEqual(['plain']);
    expect(lint(m, { only: ['MR0120'] }).findings).toEqual([]);
  });

  it('defaultServiceExportTo ["."]: a Service without the exportTo annotation, and a ServiceEntry without exportTo, are unknown to other namespaces', () => {
    const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext, namespace: backend }
spec:
  hosts: [api.example.com]
  ports: [{ number: 443, name: tls, protocol: TLS }]
  resolution: NONE
`;
    const m = meshFrom(...base, meshConfig('defaultServiceExportTo: ["."]\noutboundTrafficPolicy: { mode: REGISTRY_ONLY }'), se);
    const input = { services: m.services, serviceEntries: m.serviceEntries, sidecars: [], rootNamespace: 'istio-system', meshMode: m.config.outboundTrafficPolicy };
    expect(lookupDestination(input, wl(m, 'shop/web'), host, 80)).toMatchObject({ kind: 'unknown' });
    expect(lookupDestination(input, wl(m, 'shop/web'), 'api.example.com', 443)).toMatchObject({ kind: 'unknown' });
    expect(lookupDestination(input, wl(m, 'backend/reviews'), host, 80)).toMatchObject({ kind: 'service' });
    expect(lookupDestination(input, wl(m, 'backend/reviews'), 'api.example.com', 443)).toMatchObject({ kind: 'service-entry' });
  });

  it('a VirtualService default that holds neither "." nor "*" shows one without exportTo to no namespace, as Istio does (warned: mesh-export-to-none); a DestinationRule one leaves it public (mesh-export-to-ignored); an empty list is unset', () => {
    const { mesh, issues } = loadMesh([...base, meshConfig('defaultVirtualServiceExportTo: [shop]\ndefaultDestinationRuleExportTo: [shop]'), vs('backend'), dr('backend', 'd', host, '{ mode: DISABLE }')].map((text, i) => ({ path: `m${i}.yaml`, text })));
    expect(issues.warnings.map((w) => w.code)).toEqual(expect.arrayContaining(['mesh-export-to-none', 'mesh-export-to-ignored']));
    expect(route(mesh, 'shop')).toBe('default');
    expect(route(mesh, 'backend')).toBe('default');
    expect(findDestinationRule(mesh, 'shop', {}, host, 'backend')?.rule.meta.name).toBe('d');
    const empty = loadMesh([...base, meshConfig('defaultVirtualServiceExportTo: []'), vs('backend')].map((text, i) => ({ path: `m${i}.yaml`, text })));
    expect(empty.issues.warnings.map((w) => w.code)).not.toContain('mesh-export-to-none');
    expect(route(empty.mesh, 'shop')).toBe('backend/r');
  });
});
