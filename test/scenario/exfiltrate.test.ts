/**
 * exfiltrate (product.md §3.1): can data leave the mesh, and how much? Every
 * chunk is decided by the engine; egress controls decide whether it leaves,
 * rate limits how much (istio-semantics §8, §10, §11).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listYamlFiles } from '../../src/cli/fs.js';
import { IssueList } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import { EXFIL_CHUNK_BYTES, parseVia } from '../../src/scenario/actions/exfiltrate.js';
import { parseScenario } from '../../src/scenario/load.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
import type { StepResult } from '../../src/scenario/types.js';

const root = path.resolve(__dirname, '../..');

/** Runs one exfiltrate step (the YAML lines of the step after `action`) on shipped meshes. */
async function exfil(manifests: string[], foothold: string, step: string, extra: string[] = []): Promise<StepResult> {
  const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
  attacker: { foothold: ${foothold} }
  steps:
    - id: x
      action: exfiltrate
${step}`;
  const issues = new IssueList();
  const s = parseScenario('t.yaml', text, issues);
  const files = manifests.flatMap((d) => listYamlFiles(path.join(root, 'scenarios/meshes', d))).map((f) => ({ path: f, text: readFileSync(f, 'utf8') }))
    .concat(extra.map((text, i) => ({ path: `extra-${i}.yaml`, text })));
  const { mesh } = loadMesh(files);
  if (!s || !bindScenario(s, mesh, issues)) throw new Error(issues.items.map((i) => i.message).join('\n'));
  const r = await runScenario(s, mesh);
  return r.steps[0] as StepResult;
}

describe('exfiltrate: egress decisions', () => {
  it('§8 ALLOW_ANY passes an unknown host through: every byte leaves (allowed)', async () => {
    const r = await exfil(['three-ns'], 'backend/api', '      to: drop.attacker.example:443\n      protocol: tls\n      bytes: 300000\n');
    expect(r).toMatchObject({ outcome: 'allowed', destination: 'drop.attacker.example:443', via: 'direct', bytesAttempted: 300000, bytesOut: 300000, stoppedBy: [] });
    expect(r.evidence.exfil).toEqual({ chunks: 5, chunkBytes: EXFIL_CHUNK_BYTES, accepted: 5, statuses: { '200': 5 } });
  });

  it('the last chunk carries the remainder: bytesOut counts bytes, not chunks', async () => {
    const r = await exfil(['three-ns'], 'backend/api', '      to: drop.attacker.example:80\n      bytes: 65537\n');
    expect(r).toMatchObject({ outcome: 'allowed', bytesOut: 65537, evidence: { exfil: { chunks: 2 } } });
  });

  it('§8 REGISTRY_ONLY sends an unregistered host to the BlackHoleCluster: nothing leaves (blocked by EgressPolicy)', async () => {
    const r = await exfil(['payments'], 'shop/api', '      to: drop.attacker.example:80\n      bytes: 200000\n');
    expect(r).toMatchObject({ outcome: 'blocked', bytesOut: 0, stoppedBy: [{ control: 'EgressPolicy' }] });
    expect(r.evidence.exfil?.statuses).toEqual({ '502': 4 });
  });

  it('§8 a ServiceEntry host is a channel out under REGISTRY_ONLY', async () => {
    const r = await exfil(['payments', 'policies/payments-forgotten-paste-serviceentry'], 'shop/api',
      '      to: drop.attacker.example:443\n      via: api.paste-sim.example\n      protocol: tls\n      bytes: 100000\n');
    expect(r).toMatchObject({ outcome: 'allowed', via: 'api.paste-sim.example:443', bytesOut: 100000 });
  });

  it('§11 an egress NetworkPolicy drops the same channel for a pod it selects', async () => {
    const r = await exfil(['payments', 'policies/payments-forgotten-paste-serviceentry'], 'payments/payments',
      '      to: drop.attacker.example:443\n      via: api.paste-sim.example\n      protocol: tls\n      bytes: 100000\n');
    expect(r).toMatchObject({ outcome: 'blocked', bytesOut: 0, stoppedBy: [{ control: 'NetworkPolicy' }] });
  });

  it('§8 a Sidecar with outboundTrafficPolicy REGISTRY_ONLY contains its namespace under a mesh that allows any', async () => {
    const sidecar = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: backend }
spec:
  egress: [{ hosts: ["./*", "istio-system/*"] }]
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
`;
    const r = await exfil(['three-ns'], 'backend/api', '      to: drop.attacker.example:443\n      protocol: tls\n      bytes: 100000\n', [sidecar]);
    expect(r).toMatchObject({ outcome: 'blocked', bytesOut: 0, stoppedBy: [{ control: 'EgressPolicy', name: 'backend/default' }] });
    const other = await exfil(['three-ns'], 'frontend/web', '      to: drop.attacker.example:443\n      protocol: tls\n      bytes: 100000\n', [sidecar]);
    expect(other.outcome).toBe('allowed');
  });

  it('§6.2 the egress gateway\'s AuthorizationPolicy refuses an identity it does not allow (403)', async () => {
    const r = await exfil(['payments', 'policies/payments-egress-partner-authz'], 'shop/api', '      to: api.partner-sim.example:80\n      bytes: 100000\n');
    expect(r).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'AuthorizationPolicy', name: 'istio-system/egress-allow-listed' }] });
    expect(r.evidence.exfil?.statuses).toEqual({ '403': 2 });
  });

  it('§8 the allowed identity leaves through the same egress gateway', async () => {
    const r = await exfil(['payments', 'policies/payments-egress-partner-authz'], 'payments/payments', '      to: api.partner-sim.example:80\n      bytes: 100000\n');
    expect(r).toMatchObject({ outcome: 'allowed', bytesOut: 100000 });
  });

  it('§9 dialling the egress gateway for a host none of its Gateway servers serves is refused by the Gateway', async () => {
    const r = await exfil(['payments'], 'shop/api', '      to: drop.attacker.example:443\n      via: egress-gateway\n      protocol: tls\n      bytes: 100000\n');
    expect(r).toMatchObject({ outcome: 'blocked', via: 'egress-gateway', stoppedBy: [{ control: 'Gateway', name: 'istio-system/egress' }] });
  });
});

describe('exfiltrate: bytes over time', () => {
  it('§10 a rate limit on the channel cuts what leaves: partial, stopped by RateLimit (429)', async () => {
    const r = await exfil(['bookinfo', 'policies/bookinfo-reviews-rate-limit'], 'bookinfo/productpage-v1',
      '      to: drop.attacker.example:80\n      via: reviews:9080\n      rate: 200/s\n      bytes: 26214400\n');
    expect(r.outcome).toBe('partial');
    expect(r.bytesOut).toBeGreaterThan(0);
    expect(r.bytesOut).toBeLessThan(26214400);
    expect(r.bytesOut).toBe((r.evidence.exfil?.accepted ?? 0) * EXFIL_CHUNK_BYTES);
    expect(r.stoppedBy[0]).toMatchObject({ control: 'RateLimit', name: 'bookinfo/reviews-local-ratelimit' });
    expect(r.evidence.exfil?.statuses['429']).toBe(400 - (r.evidence.exfil?.accepted ?? 0));
  });

  it('§10 the same upload paced under the bucket\'s refill gets every byte out', async () => {
    const r = await exfil(['bookinfo', 'policies/bookinfo-reviews-rate-limit'], 'bookinfo/productpage-v1',
      '      to: drop.attacker.example:80\n      via: reviews:9080\n      rate: 40/s\n      bytes: 2621440\n');
    expect(r).toMatchObject({ outcome: 'allowed', bytesOut: 2621440 });
  });
});

describe('exfiltrate: via', () => {
  it('via is direct, egress-gateway[:port] or a host[:port]; anything else is refused, never guessed', () => {
    expect(parseVia(undefined)).toEqual({ kind: 'direct' });
    expect(parseVia('egress-gateway')).toEqual({ kind: 'egress-gateway', port: null });
    expect(parseVia('egress-gateway:443')).toEqual({ kind: 'egress-gateway', port: 443 });
    expect(parseVia('API.Paste-sim.example')).toEqual({ kind: 'host', host: 'api.paste-sim.example', port: null });
    expect(parseVia('reviews:9080')).toEqual({ kind: 'host', host: 'reviews', port: 9080 });
    for (const bad of ['', 'a..b', '-a.b', 'a b', 'host:0', 'host:65536', 'host:', 'http://x', `${'a'.repeat(64)}.b`]) expect(typeof parseVia(bad), bad).toBe('string');
  });
});

describe('bad input to sniff and exfiltrate is located (product.md §3: exit 2, file:line:col)', () => {
  const parse = (step: string): IssueList => {
    const issues = new IssueList();
    parseScenario('s.yaml', `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
  attacker: { foothold: a/b }
  steps:
    - id: x
${step}`, issues);
    return issues;
  };
  const only = (step: string): { code: string; line: number | undefined; col: number | undefined } => {
    const e = parse(step).errors;
    expect(e, JSON.stringify(e)).toHaveLength(1);
    return { code: e[0]?.code ?? '', line: e[0]?.loc?.line, col: e[0]?.loc?.col };
  };

  it('a sniff window of zero, below zero or over a day is refused at window', () => {
    // Zero and negative spans are refused by the schema for every duration (issue 9 item 2); the sniff's own cap is a day.
    for (const w of ['0s', '-5s']) expect(only(`      action: sniff\n      on: any\n      window: ${w}\n`), w).toEqual({ code: 'scenario-invalid', line: 11, col: 15 });
    expect(only('      action: sniff\n      on: any\n      window: 25h\n')).toEqual({ code: 'sniff-bad-window', line: 11, col: 15 });
  });

  it('a sniff needs both on and window', () => {
    expect(parse('      action: sniff\n      on: any\n').errors.map((e) => e.code)).toEqual(['step-missing-field']);
    expect(parse('      action: sniff\n      window: 5s\n').errors.map((e) => e.code)).toEqual(['step-missing-field']);
  });

  it('an exfiltrate rate of zero, or one that would take over a day, is refused at rate', () => {
    // A zero rate is refused by the schema for every rate (issue 9 item 2), at the same place.
    expect(only('      action: exfiltrate\n      to: x.example:443\n      bytes: 10\n      rate: 0/s\n')).toEqual({ code: 'scenario-invalid', line: 12, col: 13 });
    expect(only('      action: exfiltrate\n      to: x.example:443\n      bytes: 1073741824\n      rate: 1/m\n')).toEqual({ code: 'exfil-too-long', line: 12, col: 13 });
  });

  it('exfiltrate bytes must be a whole number from 1 to 1 GiB', () => {
    for (const b of ['0', '-1', '1.5', '1073741825']) expect(only(`      action: exfiltrate\n      to: x.example:443\n      bytes: ${b}\n`), b).toMatchObject({ code: 'scenario-invalid', line: 11, col: 14 });
  });

  it('exfiltrate sends to a host, not to a pod; a bad via names the accepted forms', () => {
    expect(only('      action: exfiltrate\n      to: workload/a/b:80\n      bytes: 10\n')).toEqual({ code: 'exfil-bad-to', line: 10, col: 11 });
    const e = parse('      action: exfiltrate\n      to: x.example:443\n      bytes: 10\n      via: "egress-gateway:0"\n').errors;
    expect(e.map((i) => [i.code, i.loc?.line])).toEqual([['exfil-bad-via', 12]]);
    expect(e[0]?.hint).toContain('egress-gateway');
  });
});
