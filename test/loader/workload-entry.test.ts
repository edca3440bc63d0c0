/**
 * networking.istio.io WorkloadEntry is read and checked as Istio's webhook checks it (validateWorkloadEntry):
 * address required unless network is set, an IP or an FQDN (or a unix:// path, which takes no ports), ports a map of
 * DNS-1123 names to 1-65535, Kubernetes labels, a uint32 weight; each problem an error located at its field.
 */
import { describe, expect, it } from 'vitest';
import { loadMesh, type LoadResult } from '../../src/loader/load.js';

const load = (spec: string, ...more: string[]): LoadResult => loadMesh([{ path: 'we.yaml', text: `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm1, namespace: a }
spec:
${spec}${more.map((m) => `---\n${m}`).join('')}` }]);
const codes = (r: LoadResult): string[] => r.issues.items.map((i) => `${i.severity}:${i.code}`);
const selecting = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: vms, namespace: a }
spec:
  hosts: [vm.internal]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  workloadSelector: { labels: { app: vm } }
`;

describe('WorkloadEntry loading', () => {
  it('a WorkloadEntry is read with its address, ports, labels, serviceAccount, network, locality and weight', () => {
    const r = load('  address: 10.9.0.5\n  ports: { http: 8080 }\n  labels: { app: vm }\n  serviceAccount: vm-sa\n  network: net1\n  locality: us-east/a\n  weight: 3\n', selecting);
    // the network is read, and said not to be modeled (one network)
    expect(codes(r)).toEqual(['warning:endpoint-network-not-modeled']);
    expect(r.mesh.workloadEntries).toMatchObject([{ meta: { name: 'vm1', namespace: 'a' }, address: '10.9.0.5', ports: { http: 8080 }, labels: { app: 'vm' }, serviceAccount: 'vm-sa', network: 'net1', locality: 'us-east/a', weight: 3 }]);
  });

  it('WorkloadEntry is no longer reported as a kind not modeled', () => {
    const r = load('  address: 10.9.0.5\n  labels: { app: vm }\n', selecting);
    expect(codes(r)).not.toContain('warning:not-modeled');
  });

  it('address is required unless network is set; with a network and no address it is a warning, and no endpoint', () => {
    const none = load('  labels: { app: vm }\n', selecting);
    expect(none.issues.errors[0]).toMatchObject({ code: 'we-address-required', loc: { file: 'we.yaml', line: 4 } });
    const net = load('  network: net2\n  labels: { app: vm }\n', selecting);
    expect(codes(net)).toEqual(['warning:we-no-address']);
    expect(net.issues.warnings[0]?.message).toContain('"net2"');
  });

  it('an address that is neither an IP nor an FQDN is an error located at spec.address, the value quoted', () => {
    const r = load('  address: "not a host!"\n');
    expect(r.issues.errors[0]).toMatchObject({ code: 'we-bad-address', loc: { file: 'we.yaml', line: 5 } });
    expect(r.issues.errors[0]?.message).toContain('"not a host!"');
    expect(codes(load('  address: vm1.example.com\n  labels: { app: vm }\n', selecting))).toEqual([]);
  });

  it('ports: a name that is not a DNS-1123 label or a number out of 1..65535 is an error at that port', () => {
    const r = load('  address: 10.9.0.5\n  ports:\n    http: 8080\n    Bad_Name: 80\n    big: 70000\n    text: "80"\n');
    expect(codes(r).filter((c) => c.startsWith('error'))).toEqual(['error:we-bad-port-name', 'error:we-bad-port', 'error:we-bad-port']);
    expect(r.issues.errors.map((e) => e.loc?.line)).toEqual([8, 9, 10]);
  });

  it('a unix:// address takes no ports', () => {
    expect(load('  address: unix:///var/run/vm.sock\n  ports: { http: 80 }\n').issues.errors[0]).toMatchObject({ code: 'we-unix-ports', loc: { line: 6 } });
  });

  it('bad labels, a weight out of uint32 range and an unknown field are located errors', () => {
    const r = load('  address: 10.9.0.5\n  labels: { "bad key!": x }\n  weight: 4294967296\n  adress: 10.0.0.1\n');
    expect(codes(r).filter((c) => c.startsWith('error')).sort()).toEqual(['error:bad-label-key', 'error:unknown-field', 'error:we-bad-weight']);
    expect(r.issues.errors.find((e) => e.code === 'we-bad-weight')?.loc?.line).toBe(7);
  });

  it('a WorkloadEntry that no ServiceEntry workloadSelector of its namespace selects is warned about, not skipped silently', () => {
    const r = load('  address: 10.9.0.5\n  labels: { app: other }\n', selecting);
    expect(codes(r)).toEqual(['warning:we-unselected']);
    expect(r.issues.warnings[0]?.loc).toMatchObject({ file: 'we.yaml', line: 1 });
  });

  it('a Kubernetes Service selecting a WorkloadEntry is warned about as not modeled', () => {
    const svc = 'apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n---\napiVersion: v1\nkind: Service\nmetadata: { name: vm, namespace: a }\nspec: { selector: { app: vm }, ports: [{ port: 80 }] }\n';
    const r = load('  address: 10.9.0.5\n  labels: { app: vm }\n', svc);
    expect(codes(r)).toEqual(['warning:not-modeled']);
    expect(r.issues.warnings[0]?.message).toContain('Service "a/vm" selects it');
  });
});
