/**
 * The impersonate action (product.md §2, §3.1; issue 8 item 1): each `using`
 * decided by the same engine as every request (istio-semantics §1, §4, §6.5).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { IssueList, type Issue } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { renderJson } from '../../src/report/json.js';
import { parseIdentity } from '../../src/scenario/actions/impersonate.js';
import { parseScenario } from '../../src/scenario/load.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
import type { RunResult, StepResult } from '../../src/scenario/types.js';
import { app, gatewayPod, ns, pa } from '../helpers.js';

const BASE = [ns('a', true), ns('b', true), ns('legacy', false), app('a', 'client'), app('a', 'other'), app('b', 'server'), app('legacy', 'old')];

function policy(name: string, spec: string, namespace = 'b'): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  selector: { matchLabels: { app: server } }
${spec}`;
}

const ALLOW_OTHER = policy('allow-other', `  action: ALLOW
  rules:
    - from: [{ source: { principals: ["cluster.local/ns/a/sa/other"] } }]
`);

function text(steps: string, extra = '', foothold = 'legacy/old'): string {
  return `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
${extra}  attacker: { foothold: ${foothold}, capabilities: [root] }
  steps:
${steps}`;
}

async function run(manifests: string[], steps: string, extra = '', foothold = 'legacy/old'): Promise<RunResult> {
  const issues = new IssueList();
  const s = parseScenario('t.yaml', text(steps, extra, foothold), issues);
  if (!s) throw new Error(issues.items.map((i) => i.message).join('\n'));
  const { mesh, issues: meshIssues } = loadMesh(manifests.map((t, i) => ({ path: `m${i}.yaml`, text: t })));
  if (meshIssues.hasErrors()) throw new Error(meshIssues.errors.map((e) => e.message).join('\n'));
  if (!bindScenario(s, mesh, issues)) throw new Error(issues.items.map((i) => i.message).join('\n'));
  return runScenario(s, mesh);
}

async function step(manifests: string[], line: string, extra = ''): Promise<StepResult> {
  const r = await run(manifests, `    - ${line}\n`, extra);
  return r.steps[0] as StepResult;
}

/** Issues of a scenario that does not load or bind. */
function problems(steps: string, manifests: string[] = BASE): Issue[] {
  const issues = new IssueList();
  const s = parseScenario('t.yaml', text(steps), issues);
  if (s) {
    const { mesh } = loadMesh(manifests.map((t, i) => ({ path: `m${i}.yaml`, text: t })));
    bindScenario(s, mesh, issues);
  }
  return issues.errors;
}

describe('impersonate using forged-cert (istio-semantics §1, §4)', () => {
  it('STRICT refuses a forged certificate at the handshake with code 0 and names the PeerAuthentication', async () => {
    const r = await step([...BASE, pa('b', 'default', 'STRICT')], '{ id: s, action: impersonate, to: "server.b:80", as: a/client, using: forged-cert }');
    expect(r).toMatchObject({ outcome: 'blocked', code: 0, mtls: null, presented: null, using: 'forged-cert', as: 'spiffe://cluster.local/ns/a/sa/client' });
    expect(r.stoppedBy).toEqual([expect.objectContaining({ control: 'PeerAuthentication', name: 'b/default' })]);
    expect(r.stoppedBy[0]?.reason).toContain('signed by the mesh CA');
  });

  it('PERMISSIVE refuses it too: ALPN istio takes the mTLS filter chain; the mesh default is named null', async () => {
    const r = await step(BASE, '{ id: s, action: impersonate, to: "server.b:80", as: a/client, using: forged-cert }');
    expect(r).toMatchObject({ outcome: 'blocked', code: 0, presented: null });
    expect(r.stoppedBy).toEqual([expect.objectContaining({ control: 'PeerAuthentication', name: null })]);
    expect(r.stoppedBy[0]?.reason).toContain('PERMISSIVE');
  });

  it('DISABLE terminates no Istio mTLS, so the forged certificate is refused and the PeerAuthentication named', async () => {
    const r = await step([...BASE, pa('b', 'default', 'DISABLE')], '{ id: s, action: impersonate, to: "server.b:80", as: a/client, using: forged-cert }');
    expect(r).toMatchObject({ outcome: 'blocked', code: 0 });
    expect(r.stoppedBy[0]).toMatchObject({ control: 'PeerAuthentication', name: 'b/default' });
  });

  it('a destination without a sidecar closes the connection: nothing terminates mTLS, the certificate is never checked', async () => {
    const r = await step(BASE, '{ id: s, action: impersonate, from: a/client, to: "old.legacy:80", as: b/server, using: forged-cert }');
    expect(r).toMatchObject({ outcome: 'blocked', code: 0, presented: null });
    expect(r.stoppedBy[0]).toMatchObject({ control: 'Routing', name: 'legacy/old' });
  });

  it('the same engine decides: a NetworkPolicy drop comes before the handshake', async () => {
    const np = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny-all, namespace: b }
spec:
  podSelector: {}
  policyTypes: [Ingress]
`;
    const r = await step([...BASE, np], '{ id: s, action: impersonate, to: "server.b:80", as: a/client, using: forged-cert }');
    expect(r.stoppedBy[0]).toMatchObject({ control: 'NetworkPolicy', name: 'b/deny-all' });
  });
});

describe('impersonate using stolen-cert (istio-semantics §1, §6.5)', () => {
  const steal = '    - { id: steal, action: steal-credentials, from: a/other, what: cert, at: 5m }\n';
  const ttl = '  ca: { workloadCertTtl: 1h }\n';

  it('a stolen certificate passes as its identity from another workload, and the ALLOW by that principal lets it in', async () => {
    const r = await run([...BASE, pa('b', 'default', 'STRICT'), ALLOW_OTHER],
      `${steal}    - { id: s, action: impersonate, to: "server.b:80", as: a/other, using: stolen-cert, at: 10m }\n`, ttl);
    const s = r.steps[1] as StepResult;
    expect(s).toMatchObject({ outcome: 'allowed', code: 200, mtls: true, presented: 'spiffe://cluster.local/ns/a/sa/other', from: 'legacy/old' });
    expect(s.evidence.received?.headers['x-forwarded-client-cert']).toContain('URI=spiffe://cluster.local/ns/a/sa/other');
    expect(s.evidence.impersonation?.certificate).toMatchObject({ from: 'a/other', takenBy: 'steal', notAfter: 3_600_000 });
  });

  it('through an ISTIO_MUTUAL gateway the identity is the one the gateway accepted, though the gateway calls on with its own to an injected backend', async () => {
    const gw = `${gatewayPod('ingress', 'ingressgateway', { port: 443, targetPort: 8443, name: 'https' })}---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 443, name: https, protocol: HTTPS }, tls: { mode: ISTIO_MUTUAL }, hosts: ["server.example"] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: server, namespace: b }
spec:
  hosts: [server.example]
  gateways: [istio-system/gw]
  http: [{ route: [{ destination: { host: server.b.svc.cluster.local } }] }]
`;
    const r = await run([...BASE, ns('istio-system', false), gw],
      `${steal}    - { id: s, action: impersonate, to: "ingress.istio-system:443", sni: server.example, headers: { host: server.example }, as: a/other, using: stolen-cert, at: 10m }\n`, ttl);
    expect(r.steps[1]).toMatchObject({ outcome: 'allowed', presented: 'spiffe://cluster.local/ns/a/sa/other' });
  });

  it('rotation does not revoke a stolen certificate: after the victim renewed (~30 min of a 1 h TTL) it still works until notAfter', async () => {
    const r = await run([...BASE, ALLOW_OTHER],
      `${steal}    - { id: s, action: impersonate, to: "server.b:80", as: spiffe://cluster.local/ns/a/sa/other, using: stolen-cert, at: 59m }\n`, ttl);
    expect(r.steps[1]).toMatchObject({ outcome: 'allowed', presented: 'spiffe://cluster.local/ns/a/sa/other' });
  });

  it('after its notAfter the handshake fails with code 0 and CertificateValidity is named', async () => {
    const r = await run([...BASE, ALLOW_OTHER],
      `${steal}    - { id: s, action: impersonate, to: "server.b:80", as: a/other, using: stolen-cert, at: 61m }\n`, ttl);
    const s = r.steps[1] as StepResult;
    expect(s).toMatchObject({ outcome: 'blocked', code: 0, presented: null });
    expect(s.stoppedBy).toEqual([expect.objectContaining({ control: 'CertificateValidity', name: 'a/other' })]);
    expect(s.stoppedBy[0]?.reason).toContain('expired');
  });

  it('without a certificate for `as` the step is blocked with a reason and nothing is sent', async () => {
    const r = await run([...BASE, ALLOW_OTHER], `${steal}    - { id: s, action: impersonate, to: "server.b:80", as: a/client, using: stolen-cert, at: 10m }\n`);
    const s = r.steps[1] as StepResult;
    expect(s).toMatchObject({ outcome: 'blocked', code: null, mtls: null, presented: null });
    expect(s.stoppedBy[0]).toMatchObject({ control: 'CertificateValidity', name: null });
    expect(s.stoppedBy[0]?.reason).toContain('holds no certificate for spiffe://cluster.local/ns/a/sa/client');
    expect(s.evidence.sent).toBeUndefined();
  });

  it('a stolen certificate still meets the AuthorizationPolicy: a principal it does not hold is denied 403', async () => {
    const r = await run([...BASE, ALLOW_OTHER], `    - { id: steal, action: steal-credentials, from: a/client, what: cert }\n    - { id: s, action: impersonate, to: "server.b:80", as: a/client, using: stolen-cert }\n`);
    expect(r.steps[1]).toMatchObject({ outcome: 'blocked', code: 403, presented: 'spiffe://cluster.local/ns/a/sa/client' });
    expect(r.steps[1]?.stoppedBy[0]?.control).toBe('AuthorizationPolicy');
  });
});

describe('impersonate using spoofed-header (istio-semantics §6.4, §6.5, §6.7)', () => {
  const headerRule = policy('allow-by-header', `  action: ALLOW
  rules:
    - when: [{ key: "request.headers[x-spiffe-id]", values: ["spiffe://cluster.local/ns/a/sa/other"] }]
`);

  it('identity headers never set the principal: the sidecar drops the XFCC of a client that is not mutual TLS', async () => {
    const r = await step([...BASE, ALLOW_OTHER], '{ id: s, action: impersonate, to: "server.b:80", as: a/other, using: spoofed-header }');
    expect(r).toMatchObject({ outcome: 'blocked', code: 403, presented: null });
    expect(r.evidence.events.some((e) => e.what.startsWith('drops the X-Forwarded-Client-Cert header the client sent'))).toBe(true);
  });

  it('a request.headers rule matches the identity header as the client wrote it', async () => {
    const r = await step([...BASE, headerRule], '{ id: s, action: impersonate, to: "server.b:80", as: a/other, using: spoofed-header }');
    expect(r).toMatchObject({ outcome: 'allowed', code: 200, presented: null });
    expect(r.evidence.impersonation?.decidingRule).toEqual({ rule: 'ns[b]-policy[allow-by-header]-rule[0]', action: 'ALLOW', readsHeaders: ['x-spiffe-id'] });
    expect(r.evidence.impersonation?.identityHeaders).toEqual([
      { name: 'x-forwarded-client-cert', sent: 'URI=spiffe://cluster.local/ns/a/sa/other', received: null },
      { name: 'x-spiffe-id', sent: 'spiffe://cluster.local/ns/a/sa/other', received: 'spiffe://cluster.local/ns/a/sa/other' },
    ]);
  });

  it('a rule on X-Forwarded-Client-Cert reads the header after the sidecar rewrote it, not as the client wrote it', async () => {
    const xfccRule = policy('allow-by-xfcc', `  action: ALLOW
  rules:
    - when: [{ key: "request.headers[x-forwarded-client-cert]", values: ["URI=spiffe://cluster.local/ns/a/sa/other"] }]
`);
    const r = await step([...BASE, xfccRule], '{ id: s, action: impersonate, to: "server.b:80", as: a/other, using: spoofed-header }');
    expect(r).toMatchObject({ outcome: 'blocked', code: 403 });
  });

  it('through the client\'s own sidecar, the app receives the server sidecar\'s XFCC naming the real client', async () => {
    const r = await run(BASE, '    - { id: s, action: impersonate, to: "server.b:80", as: a/other, using: spoofed-header }\n', '', 'a/client');
    const s = r.steps[0] as StepResult;
    expect(s).toMatchObject({ outcome: 'allowed', mtls: true, presented: 'spiffe://cluster.local/ns/a/sa/client' });
    expect(s.evidence.received?.headers['x-forwarded-client-cert']).toBe('By=spiffe://cluster.local/ns/b/sa/server;Hash=<sha256 of the client certificate>;Subject="";URI=spiffe://cluster.local/ns/a/sa/client');
    expect(s.evidence.received?.headers['x-spiffe-id']).toBe('spiffe://cluster.local/ns/a/sa/other');
  });
});

describe('impersonate using spoofed-ip (istio-semantics §6.5, §9)', () => {
  const denyRemote = (cidr: string): string => policy('deny-remote', `  action: DENY
  rules:
    - from: [{ source: { remoteIpBlocks: ["${cidr}"] } }]
`);
  const allowRemote = (cidr: string): string => policy('allow-remote', `  action: ALLOW
  rules:
    - from: [{ source: { remoteIpBlocks: ["${cidr}"] } }]
`);

  it('a sidecar takes the last X-Forwarded-For entry as remote.ip: a remoteIpBlocks ALLOW is passed by claiming an address', async () => {
    const r = await step([...BASE, allowRemote('10.9.9.9/32')], '{ id: s, action: impersonate, to: "server.b:80", as: 10.9.9.9, using: spoofed-ip }');
    expect(r).toMatchObject({ outcome: 'allowed', as: '10.9.9.9' });
    const seen = r.evidence.impersonation?.addresses?.seen[0];
    expect(seen).toMatchObject({ proxy: 'b/server (sidecar)', remoteIp: '10.9.9.9' });
    expect(seen?.sourceIp).not.toBe('10.9.9.9');
  });

  it('ipBlocks see the peer address whatever X-Forwarded-For says', async () => {
    const denyPeer = policy('deny-peer', `  action: DENY
  rules:
    - from: [{ source: { ipBlocks: ["10.0.0.0/8"] } }]
`);
    const r = await step([...BASE, denyPeer], '{ id: s, action: impersonate, to: "server.b:80", as: 203.0.113.9, using: spoofed-ip }');
    expect(r).toMatchObject({ outcome: 'blocked', code: 403 });
    expect(r.evidence.impersonation?.addresses?.seen[0]?.remoteIp).toBe('203.0.113.9');
  });

  it('`as` naming an identity claims the pod address of a workload running as it', async () => {
    const r = await run([...BASE, denyRemote('0.0.0.0/0')], '    - { id: s, action: impersonate, to: "server.b:80", as: a/other, using: spoofed-ip }\n');
    const s = r.steps[0] as StepResult;
    const otherIp = s.evidence.impersonation?.addresses?.claimed;
    expect(otherIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(s.evidence.sent?.headers?.['x-forwarded-for']).toBe(otherIp);
    expect(s).toMatchObject({ outcome: 'blocked', code: 403, as: 'spiffe://cluster.local/ns/a/sa/other' });
  });
});

describe('impersonate using plaintext (istio-semantics §4, §5.3, §6.5)', () => {
  it('PERMISSIVE lets plaintext in with no identity, and a principal rule cannot match it', async () => {
    const open = await step(BASE, '{ id: s, action: impersonate, from: a/client, to: "server.b:80", as: a/client, using: plaintext }');
    expect(open).toMatchObject({ outcome: 'allowed', code: 200, mtls: false, presented: null });
    const ruled = await step([...BASE, ALLOW_OTHER], '{ id: s, action: impersonate, to: "server.b:80", as: a/other, using: plaintext }');
    expect(ruled).toMatchObject({ outcome: 'blocked', code: 403, presented: null });
  });

  it('STRICT refuses plaintext at connection level with code 0', async () => {
    const r = await step([...BASE, pa('b', 'default', 'STRICT')], '{ id: s, action: impersonate, from: a/client, to: "server.b:80", as: a/client, using: plaintext }');
    expect(r).toMatchObject({ outcome: 'blocked', code: 0, presented: null });
    expect(r.stoppedBy[0]).toMatchObject({ control: 'PeerAuthentication', name: 'b/default' });
  });
});

describe('impersonate in the report (product.md §3.1)', () => {
  it('the JSON report carries as, presented and using after to', async () => {
    const r = await run(BASE, '    - { id: s, action: impersonate, to: "server.b:80", as: a/client, using: forged-cert }\n');
    const json = JSON.parse(renderJson([r])) as { steps: Record<string, unknown>[] };
    const keys = Object.keys(json.steps[0] ?? {});
    expect(keys.slice(keys.indexOf('to'), keys.indexOf('to') + 4)).toEqual(['to', 'as', 'presented', 'using']);
    expect(json.steps[0]).toMatchObject({ as: 'spiffe://cluster.local/ns/a/sa/client', presented: null, using: 'forged-cert' });
  });
});

describe('impersonate: bad input is refused with its location (product.md §5)', () => {
  const at = (i: Issue): string => `${i.code}@${i.loc?.line}:${i.loc?.col}`;

  it('an unknown `using` is refused at its line and column', () => {
    const [i] = problems('    - id: s\n      action: impersonate\n      to: "server.b:80"\n      as: a/client\n      using: magic-cert\n');
    expect(i && at(i)).toBe('scenario-invalid@12:14');
    expect(i?.message).toContain('using');
  });

  it('the command line exits 2 on an unknown `using`, naming file, line and column', async () => {
    const dir = mkdtempSync(path.join(process.cwd(), 'test', '.tmp-impersonate-'));
    try {
      const file = path.join(path.relative(process.cwd(), dir), 's.yaml');
      writeFileSync(file, text('    - { id: s, action: impersonate, to: "details:9080", as: a/b, using: magic-cert }\n').replace('manifests: [x]', 'manifests: [../../scenarios/meshes/bookinfo]').replace('legacy/old', 'bookinfo/ratings-v1'));
      let err = '';
      const code = await main(['run', file], { out: () => undefined, err: (x) => { err += x; } });
      expect(code).toBe(2);
      expect(err).toContain(`${file}:8:`);
      expect(err).toContain('using');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing `as` is refused, located at the step', () => {
    const issues = problems('    - { id: s, action: impersonate, to: "server.b:80", using: forged-cert }\n');
    expect(issues.map(at)).toEqual(['step-missing-field@8:7']);
    expect(issues[0]?.message).toContain('`as`');
  });

  it('an `as` that is neither a SPIFFE id nor ns/sa is refused at `as`', () => {
    for (const bad of ['web', 'a/b/c', 'spiffe://cluster.local/ns/a/sa', 'spiffe://td/ns/A_B/sa/x', 'spiffe://td/sa/x/ns/a']) {
      const issues = problems(`    - { id: s, action: impersonate, to: "server.b:80", as: "${bad}", using: forged-cert }\n`);
      expect(issues.map((i) => i.code), bad).toEqual(['impersonate-as-invalid']);
      expect(issues[0]?.loc?.line).toBe(8);
    }
  });

  it('an address in `as` is only a claim for spoofed-ip', () => {
    const issues = problems('    - { id: s, action: impersonate, to: "server.b:80", as: 10.0.0.1, using: stolen-cert }\n');
    expect(issues.map((i) => i.code)).toEqual(['impersonate-as-invalid']);
  });

  it('`tls` on an attempt from the attacker\'s own process is refused, not ignored', () => {
    const issues = problems('    - { id: s, action: impersonate, to: "server.b:80", as: a/client, using: forged-cert, tls: mtls }\n');
    expect(issues.map((i) => i.code)).toEqual(['step-conflict']);
  });

  it('spoofed headers on a TCP connection are refused: it carries no headers', () => {
    const issues = problems('    - { id: s, action: impersonate, to: "server.b:80", as: a/client, using: spoofed-ip, protocol: tcp }\n');
    expect(issues.map((i) => i.code)).toEqual(['step-conflict']);
  });

  it('spoofed-header refuses an identity header given in `headers`, located at the header', () => {
    const issues = problems('    - id: s\n      action: impersonate\n      to: "server.b:80"\n      as: a/client\n      using: spoofed-header\n      headers: { X-Spiffe-Id: x }\n');
    expect(issues.map(at)).toEqual(['step-conflict@13:18']);
  });

  it('spoofed-ip naming an identity no workload runs as is refused when the scenario is bound to the mesh', () => {
    const issues = problems('    - { id: s, action: impersonate, to: "server.b:80", as: a/nobody, using: spoofed-ip }\n');
    expect(issues.map((i) => i.code)).toEqual(['impersonate-no-address']);
    expect(issues[0]?.loc?.line).toBe(8);
  });
});

describe('parseIdentity', () => {
  it('reads a SPIFFE id with its trust domain, and ns/sa with none', () => {
    expect(parseIdentity('spiffe://example.org/ns/shop/sa/api')).toEqual({ trustDomain: 'example.org', namespace: 'shop', serviceAccount: 'api' });
    expect(parseIdentity('shop/api')).toEqual({ trustDomain: null, namespace: 'shop', serviceAccount: 'api' });
  });

  it('refuses a long hostile string quickly and without a match', () => {
    expect(parseIdentity(`spiffe://${'a'.repeat(100_000)}/ns/x/sa/y`)).toBeNull();
    expect(parseIdentity(`${'a-'.repeat(30)}!/x`)).toBeNull();
  });
});
