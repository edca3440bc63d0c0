/**
 * Istio DNS proxying (ISTIO_META_DNS_CAPTURE): with it on, a pod's istio-agent answers the names of its name table
 * itself, so an egress NetworkPolicy that drops the pod's queries to kube-dns no longer stops those names; the agent
 * forwards any other name to kube-dns, where the policy still drops it. Where the setting comes from: MeshConfig
 * defaultConfig.proxyMetadata, the pod's proxy.istio.io/config annotation, ProxyConfig resources (first layer that
 * sets the key wins: selecting ProxyConfig, annotation, namespace ProxyConfig, root-namespace ProxyConfig, mesh).
 */
import { describe, expect, it } from 'vitest';
import { loadMesh } from '../../src/loader/load.js';
import { parseGoBool } from '../../src/loader/proxy-config.js';
import { dnsCaptureOf } from '../../src/policy/dns-capture.js';
import { app, egressOnlyTo, meshConfig, meshFrom, ns, send } from '../helpers.js';

/** the client's egress: namespace b only — no rule for DNS */
const onlyB = egressOnlyTo('a', 'b');
const base = [ns('istio-system', false), ns('a', true), ns('b', true), ns('c', true), app('b', 'server'), app('c', 'other')];
const client = (annotation?: string): string => {
  const a = app('a', 'client');
  return annotation === undefined ? a : a.replace('    metadata:\n      labels:', `    metadata:\n      annotations:\n        proxy.istio.io/config: '${annotation}'\n      labels:`);
};
const captureOn = meshConfig('defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: "true"\n');
const proxyConfig = (namespace: string, name: string, value: string, selector = ''): string => `apiVersion: networking.istio.io/v1beta1
kind: ProxyConfig
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${selector}  environmentVariables: { ISTIO_META_DNS_CAPTURE: "${value}" }
`;
const SERVER = 'server.b.svc.cluster.local:80';

describe('§11 DNS capture: the istio-agent answers the names it knows', () => {
  it('off by default: an egress policy without a DNS rule leaves the name unresolved', () => {
    const d = send(meshFrom(...base, client(), onlyB), { from: 'a/client', to: SERVER });
    expect(d).toMatchObject({ outcome: 'blocked', code: 0, stoppedBy: [{ control: 'NetworkPolicy', name: 'a/only-b' }] });
  });

  it('on in the mesh config: the agent answers a Service of its Sidecar scope itself, so the same policy no longer stops the request', () => {
    const m = meshFrom(...base, client(), onlyB, captureOn);
    expect(dnsCaptureOf(m, m.workloads.find((w) => w.id === 'a/client')!)).toMatchObject({ on: true, from: 'the mesh config\'s defaultConfig.proxyMetadata' });
    const d = send(m, { from: 'a/client', to: SERVER });
    expect(d.outcome).toBe('allowed');
    expect(d.events.map((e) => e.what).join('\n')).toContain('its istio-agent answers server.b.svc.cluster.local itself (Service b/server is in its Sidecar scope');
    // short names the resolver expands are the agent's too
    expect(send(m, { from: 'a/client', to: 'server.b:80' }).outcome).toBe('allowed');
    // an ExternalName Service has no address to give: its name goes on to kube-dns
    const external = 'apiVersion: v1\nkind: Service\nmetadata: { name: ext, namespace: b }\nspec: { type: ExternalName, externalName: api.example.com, ports: [{ name: https, port: 443 }] }\n';
    expect(send(meshFrom(...base, client(), onlyB, captureOn, external), { from: 'a/client', to: 'ext.b.svc.cluster.local:443', protocol: 'tcp' }).stoppedBy[0]?.reason)
      .toContain('cannot resolve ext.b.svc.cluster.local');
  });

  it('a name the agent does not know goes on to kube-dns, where the policy still drops it: a Service outside the Sidecar scope, an external name without a ServiceEntry', () => {
    const sidecar = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: a }
spec: { egress: [{ hosts: ["./*", "c/*"] }] }
`;
    const hidden = send(meshFrom(...base, client(), onlyB, captureOn, sidecar), { from: 'a/client', to: SERVER });
    expect(hidden).toMatchObject({ outcome: 'blocked', code: 0, stoppedBy: [{ control: 'NetworkPolicy' }] });
    expect(hidden.stoppedBy[0]?.reason).toContain('DNS capture is on, but its istio-agent does not know server.b.svc.cluster.local');
    const external = send(meshFrom(...base, client(), onlyB, captureOn), { from: 'a/client', to: 'api.example.com:443', protocol: 'tcp' });
    expect(external).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'NetworkPolicy' }] });
    expect(external.stoppedBy[0]?.reason).toContain('cannot resolve api.example.com');
  });

  it('ServiceEntry hosts: one with an address, or an exact DNS host Istio allocates an address to, is answered; a wildcard without address or endpoints is not', () => {
    const entry = (name: string, host: string, extra: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: a }
spec:
  hosts: ["${host}"]
  ports: [{ number: 443, name: tls, protocol: TLS }]
${extra}`;
    const allocated = meshFrom(...base, client(), onlyB, captureOn, entry('api', 'api.example.com', '  resolution: DNS\n'));
    expect(send(allocated, { from: 'a/client', to: 'api.example.com:443', protocol: 'tcp' }).stoppedBy.filter((s) => s.control === 'NetworkPolicy')
      .some((s) => s.reason.includes('cannot resolve'))).toBe(false);
    const addressed = meshFrom(...base, client(), onlyB, captureOn, entry('wild', '*.example.com', '  resolution: NONE\n  addresses: [192.0.2.10]\n'));
    expect(send(addressed, { from: 'a/client', to: 'api.example.com:443', protocol: 'tcp' }).stoppedBy.some((s) => s.reason.includes('cannot resolve'))).toBe(false);
    const wild = meshFrom(...base, client(), onlyB, captureOn, entry('wild', '*.example.com', '  resolution: NONE\n'));
    expect(send(wild, { from: 'a/client', to: 'api.example.com:443', protocol: 'tcp' }).stoppedBy[0]?.reason).toContain('cannot resolve api.example.com');
    const resolves = (e: string): boolean => !send(meshFrom(...base, client(), onlyB, captureOn, e), { from: 'a/client', to: 'api.example.com:443', protocol: 'tcp' })
      .stoppedBy.some((x) => x.reason.includes('cannot resolve'));
    // a single-address CIDR is an address; a wider one gives the host no entry at all, endpoints or not
    expect(resolves(entry('api', 'api.example.com', '  resolution: STATIC\n  addresses: [192.0.2.10/32]\n  endpoints: [{ address: 192.0.2.10 }]\n'))).toBe(true);
    expect(resolves(entry('api', 'api.example.com', '  resolution: STATIC\n  addresses: [192.0.2.0/24]\n  endpoints: [{ address: 192.0.2.10 }]\n'))).toBe(false);
    // the opt-out label: no address is allocated
    expect(resolves(entry('api', 'api.example.com', '  resolution: DNS\n').replace('namespace: a }', 'namespace: a, labels: { networking.istio.io/enable-autoallocate-ip: "false" } }'))).toBe(false);
  });

  it('the first layer that sets the key wins: selecting ProxyConfig, then the pod annotation, then the namespace\'s ProxyConfig, the root namespace\'s, the mesh config', () => {
    const on = (...docs: string[]): boolean => { const m = meshFrom(...base, onlyB, ...docs); return dnsCaptureOf(m, m.workloads.find((w) => w.id === 'a/client')!).on; };
    const annotated = (v: string): string => client(`{"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "${v}"}}`);
    expect(on(annotated('false'), captureOn)).toBe(false);
    expect(on(annotated('true'))).toBe(true);
    expect(on(client(), proxyConfig('a', 'ns-wide', 'true'))).toBe(true);
    expect(on(annotated('false'), proxyConfig('a', 'ns-wide', 'true'))).toBe(false);
    expect(on(annotated('false'), proxyConfig('a', 'picked', 'true', '  selector: { matchLabels: { app: client } }\n'))).toBe(true);
    expect(on(client(), proxyConfig('istio-system', 'mesh-wide', 'true'))).toBe(true);
    expect(on(client(), proxyConfig('istio-system', 'mesh-wide', 'true'), proxyConfig('a', 'ns-wide', 'false'))).toBe(false);
    expect(on(client(), proxyConfig('a', 'other-pods', 'true', '  selector: { matchLabels: { app: someone-else } }\n'))).toBe(false);
    // of each kind only the oldest is read, even for a key it leaves unset (Istio returns the first match)
    const stamped = (doc: string, at: string): string => doc.replace(/namespace: (\S+) \}/, `namespace: $1, creationTimestamp: "${at}" }`);
    const silent = `apiVersion: networking.istio.io/v1beta1\nkind: ProxyConfig\nmetadata: { name: concurrency-only, namespace: a }\nspec: { concurrency: 2 }\n`;
    expect(on(client(), stamped(silent, '2024-01-01T00:00:00Z'), stamped(proxyConfig('a', 'newer', 'true'), '2024-06-01T00:00:00Z'))).toBe(false);
    expect(on(client(), stamped(proxyConfig('a', 'older', 'true'), '2024-01-01T00:00:00Z'), stamped(silent, '2024-06-01T00:00:00Z'))).toBe(true);
    // a selector without labels applies to no pod (warned): neither namespace-wide nor per workload
    const empty = proxyConfig('a', 'empty-selector', 'true', '  selector: {}\n');
    expect(on(client(), empty)).toBe(false);
    expect(loadMesh([{ path: 'm.yaml', text: [...base, empty].join('---\n') }]).issues.warnings.map((w) => w.code)).toContain('proxy-config-empty-selector');
    // a pod without a sidecar has no agent
    const bare = meshFrom(ns('istio-system', false), ns('n', false), app('n', 'x'), captureOn);
    expect(dnsCaptureOf(bare, bare.workloads[0]!).on).toBe(false);
  });

  it('the value is read as Go\'s ParseBool reads it; another value is off, with a warning; an annotation that is not a ProxyConfig mapping is an error at the annotation', () => {
    expect(['1', 't', 'T', 'TRUE', 'true', 'True'].map(parseGoBool)).toEqual([true, true, true, true, true, true]);
    expect(['0', 'f', 'F', 'FALSE', 'false', 'False'].map(parseGoBool)).toEqual([false, false, false, false, false, false]);
    expect(['yes', 'on', ' true', ''].map(parseGoBool)).toEqual([null, null, null, null]);
    const load = (...docs: string[]) => loadMesh([{ path: 'm.yaml', text: [...base, ...docs].join('---\n') }]);
    const yes = load(client('{"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "yes"}}'));
    expect(yes.issues.warnings.map((w) => w.code)).toContain('bad-proxy-metadata');
    expect(yes.mesh.workloads.find((w) => w.id === 'a/client')?.dnsCaptureAnnotation).toBe(false);
    const list = load(client('[1, 2]'));
    const err = list.issues.errors.find((e) => e.code === 'proxy-config-annotation');
    expect(err?.message).toContain('Deployment a/client: annotation proxy.istio.io/config must hold one ProxyConfig mapping');
    expect(err?.loc?.line).toBeGreaterThan(1);
    // YAML in the annotation works as JSON does
    expect(load(client('proxyMetadata: {ISTIO_META_DNS_CAPTURE: "True"}')).mesh.workloads.find((w) => w.id === 'a/client')?.dnsCaptureAnnotation).toBe(true);
    // proxyMetadata maps names to strings: a bare boolean is refused, as Istio refuses it
    expect(load(client('{"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": true}}')).issues.errors.map((e) => e.code)).toContain('field-type');
    // a pod that gets no proxy: nothing reads its annotation, so a bad one is only a warning
    const unInjected = loadMesh([{ path: 'm.yaml', text: [ns('istio-system', false), ns('plain', false), app('plain', 'x').replace('    metadata:\n      labels:', "    metadata:\n      annotations:\n        proxy.istio.io/config: '[1, 2]'\n      labels:")].join('---\n') }]);
    expect(unInjected.issues.errors).toEqual([]);
    expect(unInjected.issues.warnings.find((w) => w.code === 'proxy-config-annotation')?.message).toContain('the pod gets no proxy');
    // a ProxyConfig with a field the API does not have is refused
    expect(load(proxyConfig('a', 'typo', 'true').replace('environmentVariables', 'enviromentVariables')).issues.errors.map((e) => e.code)).toContain('unknown-field');
  });
});
