/**
 * What a scenario points at is checked when it is bound to its mesh (issue 9
 * item 6): a bad address, port or empty flood is a located error, and a
 * destination that resolves to nothing the mesh knows is a located warning —
 * never a quiet verdict.
 */
import { describe, expect, it } from 'vitest';
import { IssueList, type Issue } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { parseScenario } from '../../src/scenario/load.js';
import { bindScenario } from '../../src/scenario/runner.js';
import { app, ns } from '../helpers.js';

const SERVICE_ENTRY = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: stripe, namespace: a }
spec:
  hosts: [api.stripe.example, "*.payments.example"]
  addresses: [192.0.2.0/24]
  ports: [{ number: 443, name: tls, protocol: TLS }]
  location: MESH_EXTERNAL
  resolution: NONE
`;
const manifests = [ns('a', true), ns('b', true), app('a', 'client'), app('b', 'server'), SERVICE_ENTRY];

/** Issues of binding a scenario with these steps (and spec-level `extra` lines), foothold a/client. */
function bind(steps: string, extra = ''): Issue[] {
  const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
${extra}  attacker: { foothold: a/client }
  steps:
${steps}`;
  const issues = new IssueList();
  const s = parseScenario('t.yaml', text, issues);
  if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
  const { mesh } = loadMesh(manifests.map((t, i) => ({ path: `m${i}.yaml`, text: t })));
  bindScenario(s, mesh, issues);
  return issues.items;
}

const summary = (issues: Issue[]): string[] => issues.map((i) => `${i.severity} ${i.code} @ ${i.loc?.line}`);

describe('bad addresses, ports and empty floods are located errors', () => {
  it('a sourceIp that is not an IP address is an error at the field', () => {
    const issues = bind('    - id: s\n      action: request\n      from: outside\n      to: "server.b:80"\n      sourceIp: 10.0.0.300\n');
    expect(summary(issues)).toContain('error bad-source-ip @ 12');
  });

  it('a sourceIp on a step sent by a pod is an error: a pod sends from its own IP, the field would be ignored', () => {
    const issues = bind('    - { id: s, action: request, to: "server.b:80", sourceIp: 198.51.100.7 }\n');
    expect(summary(issues)).toEqual(['error source-ip-unused @ 8']);
    expect(issues[0]?.message).toContain('a/client sends from its pod IP');
  });

  it('port 0 and port 65536 in to: are errors, in steps and in traffic flows', () => {
    const issues = bind('    - { id: zero, action: request, to: "server.b:0" }\n    - { id: big, action: request, to: "server.b:65536" }\n',
      '  traffic: [{ from: a/client, to: "server.b:99999", rate: 1/s }]\n');
    expect(summary(issues)).toEqual(['error bad-port @ 9', 'error bad-port @ 10', 'error bad-port @ 6']);
    expect(issues.map((i) => i.message).join('\n')).toContain('port 65536 in "server.b:65536" is not a port (1-65535)');
  });

  it('a flood for 0s is an error: it sends nothing, and its outcome would say nothing', () => {
    // The schema refuses a zero span for every duration (issue 9 item 2), so it never reaches the bind-time check.
    const issues = new IssueList();
    const text = 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: t }\nspec:\n  mesh: { manifests: [x] }\n  attacker: { foothold: a/client }\n  steps:\n    - { id: f, action: flood, to: "server.b:80", rate: 100/s, for: 0s }\n';
    expect(parseScenario('t.yaml', text, issues)).toBeNull();
    expect(summary(issues.items)).toEqual(['error scenario-invalid @ 8']);
  });
});

describe('a destination the mesh does not know is a located warning', () => {
  it('a short name that is no Service warns that the request fails at DNS', () => {
    const issues = bind('    - { id: typo, action: request, to: "sever.b:80" }\n    - { id: short, action: request, to: "nothing:80" }\n');
    expect(summary(issues)).toEqual(['warning unknown-host @ 8', 'warning unknown-host @ 9']);
    expect(issues[1]?.message).toContain('nothing resolves to no Service of the mesh (nothing.a.svc.cluster.local): the request fails at DNS');
  });

  it('a name with a mistyped namespace warns that it leaves as an external name', () => {
    const issues = bind('    - { id: s, action: request, to: "server.bb:80" }\n');
    expect(summary(issues)).toEqual(['warning unknown-host @ 8']);
    expect(issues[0]?.message).toContain('sent to it as an external name outside the mesh');
  });

  it('an exfiltrate step to a host or address outside the mesh raises nothing (that is its point); a short name that resolves to nothing still warns', () => {
    const issues = bind('    - { id: x, action: exfiltrate, to: "drop.attacker.example:443", bytes: 1024 }\n    - { id: y, action: exfiltrate, to: "198.51.100.7:443", bytes: 1024 }\n    - { id: z, action: exfiltrate, to: "nothing:80", bytes: 1024 }\n');
    expect(summary(issues)).toEqual(['warning unknown-host @ 10']);
    expect(issues[0]?.message).toContain('the request fails at DNS');
  });

  it('an address that is no pod, Service or ServiceEntry address warns', () => {
    const issues = bind('    - { id: s, action: request, to: "100.64.7.1:443" }\n');
    expect(summary(issues)).toEqual(['warning unknown-host @ 8']);
  });

  it('a name or address reserved for examples (RFC 2606/6761 names, RFC 5737 ranges) is outside on purpose: no warning; a real outside name still warns', () => {
    const hosts = ['evil.example', 'drop.attacker.example', 'api.example.com', 'example.org', 'c2.test', 'x.invalid', '198.51.100.7', '203.0.113.66', '192.0.2.1'];
    const issues = bind(hosts.map((h, i) => `    - { id: s${i}, action: request, to: "${h}:443" }\n`).join(''));
    expect(summary(issues)).toEqual([]);
    const real = bind('    - { id: s, action: request, to: "api.stripe.com:443" }\n');
    expect(summary(real)).toEqual(['warning unknown-host @ 8']);
  });

  it('Services in every spelling, ServiceEntry hosts (wildcards too) and addresses raise nothing', () => {
    const issues = bind(['server.b', 'server.b.svc', 'server.b.svc.cluster.local', 'client', 'api.stripe.example', 'x.payments.example', '192.0.2.9']
      .map((h, i) => `    - { id: s${i}, action: request, to: "${h}:${h.includes('example') || h.startsWith('192') ? 443 : 80}" }\n`).join(''));
    expect(issues).toEqual([]);
  });
});
