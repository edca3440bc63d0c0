/**
 * The attacker's own TLS client meets the same capture rules as any bypass
 * (product.md §2 "Going around the sidecar", policy/capture.ts): without a
 * capability, its sidecar takes the connection and the stolen certificate
 * never reaches the server. And a port its destination's sidecar does not
 * capture has no mTLS to terminate: the attacker's TLS reaches a plaintext app.
 */
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { FsSource, Sandbox } from '../../src/cli/fs.js';
import { prepareScenario } from '../../src/api/prepare.js';
import { bindScenario, runScenario } from '../../src/scenario/runner.js';
import type { RunResult } from '../../src/scenario/types.js';

async function run(file: string): Promise<RunResult> {
  const issues = new IssueList();
  const p = prepareScenario(file, new FsSource(Sandbox.forCwd([])), issues);
  if (!p || !bindScenario(p.scenario, p.mesh, issues, p.jwks)) throw new Error(issues.items.map((i) => i.message).join('\n'));
  return runScenario(p.scenario, p.mesh, { jwks: p.jwks });
}

describe('impersonation and capture', () => {
  it('without a capability a captured foothold\'s stolen certificate never reaches the server: reviews sees ratings and refuses it (403), as a captured bypass is', async () => {
    const r = await run('test/fixtures/scenarios/imp-captured.yaml');
    const bypass = r.steps.find((s) => s.id === 'bypass-request');
    const stolen = r.steps.find((s) => s.id === 'stolen');
    expect(bypass).toMatchObject({ outcome: 'blocked', code: 403 });
    expect(stolen).toMatchObject({ outcome: 'blocked', code: 403, presented: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings' });
    expect(stolen?.evidence.events.map((e) => e.what).join('\n')).toContain('never reaches the server');
  });

  it('a stolen or forged certificate sent to a port its sidecar does not capture meets the plaintext app (code 0, Routing), not a DestinationRule', async () => {
    const r = await run('test/fixtures/scenarios/imp-uncaptured.yaml');
    for (const id of ['stolen-to-admin', 'forged-to-admin']) {
      const s = r.steps.find((x) => x.id === id);
      expect(s, id).toMatchObject({ outcome: 'blocked', code: 0, stoppedBy: [{ control: 'Routing', name: 'shop/orders' }] });
    }
    expect(r.controls.some((c) => c.control === 'DestinationRule')).toBe(false);
    expect(r.steps.find((x) => x.id === 'plain-to-admin')?.outcome).toBe('allowed');
  });
});
