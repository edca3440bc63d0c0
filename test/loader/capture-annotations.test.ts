/**
 * The `traffic.sidecar.istio.io/*` capture annotations, read as Istio's
 * injector validates them (loader/injection.ts header): what is refused
 * (located errors: the webhook refuses the pod), what is only a warning, and
 * the capture each value gives the workload.
 */
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/loader/injection.js';
import { loadMesh } from '../../src/loader/load.js';

const P = 'traffic.sidecar.istio.io/';

function deployment(annotations: Record<string, string>, namespaceInjected = true): string {
  const lines = Object.entries(annotations).map(([k, v]) => `        ${k}: ${JSON.stringify(v)}`).join('\n');
  return `apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { istio-injection: ${namespaceInjected ? 'enabled' : 'disabled'} } }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: shop }
spec:
  template:
    metadata:
      labels: { app: api }
      annotations:
${lines}
    spec:
      containers: [{ name: main, ports: [{ containerPort: 8080 }] }]
`;
}

function load(text: string) {
  return loadMesh([{ path: 'api.yaml', text }]);
}

function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`no ${needle}`);
  return i + 1;
}

describe('capture annotations: valid values and the capture they give', () => {
  it('no annotation leaves the injector defaults (no capture field: everything is captured)', () => {
    const { mesh, issues } = load(deployment({ 'sidecar.istio.io/status': 'x' }));
    expect(issues.errors).toEqual([]);
    expect(mesh.workloads[0]?.capture).toBeUndefined();
  });

  it('port lists are trimmed item by item, as the injector parses them', () => {
    const { mesh, issues } = load(deployment({ [`${P}excludeInboundPorts`]: ' 8080, 9090 ', [`${P}excludeOutboundPorts`]: '5432' }));
    expect(issues.errors).toEqual([]);
    expect(mesh.workloads[0]?.capture).toMatchObject({ excludeInboundPorts: [8080, 9090], excludeOutboundPorts: [5432], includeInboundPorts: '*', includeOutboundIPRanges: '*' });
  });

  it('includeInboundPorts and includeOutboundIPRanges accept `*`; an empty value means nothing is captured', () => {
    expect(readCapture({ [`${P}includeInboundPorts`]: '*', [`${P}includeOutboundIPRanges`]: '*' }, true).capture)
      .toMatchObject({ includeInboundPorts: '*', includeOutboundIPRanges: '*' });
    expect(readCapture({ [`${P}includeInboundPorts`]: '', [`${P}includeOutboundIPRanges`]: '' }, true).capture)
      .toMatchObject({ includeInboundPorts: [], includeOutboundIPRanges: [] });
  });

  it('CIDR lists give parsed ranges, IPv6 included', () => {
    const c = readCapture({ [`${P}excludeOutboundIPRanges`]: '10.96.0.0/12,2001:db8::/32' }, true).capture;
    expect(c?.excludeOutboundIPRanges.map((r) => r.text)).toEqual(['10.96.0.0/12', '2001:db8::/32']);
  });

  it('interceptionMode NONE installs no redirect; REDIRECT and TPROXY capture alike', () => {
    expect(readCapture({ 'sidecar.istio.io/interceptionMode': 'NONE' }, true).capture?.interceptionNone).toBe(true);
    expect(readCapture({ 'sidecar.istio.io/interceptionMode': 'TPROXY' }, true).capture?.interceptionNone).toBe(false);
  });
});

describe('capture annotations: bad values are located errors (the injector refuses the pod)', () => {
  it('a port that is not a number 0-65535 is an error at the annotation', () => {
    for (const bad of ['80a', '70000', '8080,', '-1', '*']) {
      const text = deployment({ [`${P}excludeInboundPorts`]: bad });
      const { issues } = load(text);
      const e = issues.errors.find((x) => x.code === 'capture-annotation');
      expect(e, bad).toBeDefined();
      expect(e?.loc?.line).toBe(lineOf(text, 'excludeInboundPorts'));
      expect(e?.message).toContain('refuses the pod');
    }
  });

  it('`*` is refused by excludeOutboundPorts and excludeOutboundIPRanges: only the include lists take it', () => {
    expect(load(deployment({ [`${P}excludeOutboundPorts`]: '*' })).issues.errors.map((e) => e.code)).toEqual(['capture-annotation']);
    expect(load(deployment({ [`${P}excludeOutboundIPRanges`]: '*' })).issues.errors.map((e) => e.code)).toEqual(['capture-annotation']);
  });

  it('CIDRs are not trimmed: a space after a comma is refused, with a hint to remove it', () => {
    const { issues } = load(deployment({ [`${P}excludeOutboundIPRanges`]: '10.0.0.0/8, 192.168.0.0/16' }));
    const e = issues.errors[0];
    expect(e?.code).toBe('capture-annotation');
    expect(e?.message).toContain('does not trim spaces');
    expect(e?.hint).toContain('remove the spaces');
  });

  it('a bare address, leading zeros or a bad prefix length is not a CIDR', () => {
    for (const bad of ['10.1.2.3', '010.0.0.0/8', '10.0.0.0/33', '10.0.0.0/08', 'example.com/8']) {
      expect(readCapture({ [`${P}excludeOutboundIPRanges`]: bad }, true).problems.map((p) => p.code), bad).toEqual(['capture-annotation']);
    }
  });

  it('includeOutboundPorts is checked too: istio-init cannot install a bad port and the pod never starts', () => {
    const p = readCapture({ [`${P}includeOutboundPorts`]: 'https' }, true).problems[0];
    expect(p).toMatchObject({ severity: 'error', code: 'capture-annotation' });
    expect(p?.message).toContain('never starts');
  });

  it('an interceptionMode other than REDIRECT, TPROXY or NONE is refused', () => {
    expect(load(deployment({ 'sidecar.istio.io/interceptionMode': 'redirect' })).issues.errors.map((e) => e.code)).toEqual(['capture-annotation']);
  });
});

describe('capture annotations: warnings, never silence', () => {
  it('port 0 is accepted by the injector but matches nothing: a warning', () => {
    const { issues } = load(deployment({ [`${P}excludeInboundPorts`]: '0' }));
    expect(issues.errors).toEqual([]);
    expect(issues.warnings.map((w) => w.code)).toContain('capture-port-zero');
  });

  it('on a pod without a sidecar the annotations change nothing: a located warning, no error even for a bad value', () => {
    const text = deployment({ [`${P}excludeInboundPorts`]: 'bogus' }, false);
    const { mesh, issues } = load(text);
    expect(issues.errors).toEqual([]);
    const w = issues.warnings.find((x) => x.code === 'capture-without-sidecar');
    expect(w?.loc?.line).toBe(lineOf(text, 'excludeInboundPorts'));
    expect(mesh.workloads[0]?.capture).toBeUndefined();
  });

  it('another traffic.sidecar.istio.io annotation is reported as not modeled', () => {
    const { issues } = load(deployment({ [`${P}excludeInterfaces`]: 'eth1' }));
    expect(issues.warnings.map((w) => w.code)).toContain('not-modeled');
  });
});
