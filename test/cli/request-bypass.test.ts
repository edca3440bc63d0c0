/**
 * `meshrange request --bypass --capability` (product.md §2 "Going around the
 * sidecar", §4): the one-request command asks the same question a scenario
 * step does.
 */
import { describe, expect, it } from 'vitest';
import { cli } from './harness.js';

const mesh = ['--mesh', 'scenarios/meshes/capture'];
const args = [...mesh, '--from', 'shop/web', '--to', 'payments.shop:80', '--format', 'json'];

describe('meshrange request --bypass', () => {
  it('without a capability the request stays captured: mTLS, and the trace says the bypass failed', async () => {
    const r = await cli('request', ...args, '--bypass');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out) as { mtls: boolean; trace: { what: string }[]; request: Record<string, unknown> };
    expect(d.mtls).toBe(true);
    expect(d.request['bypass']).toBe(true);
    expect(d.trace[0]?.what).toContain('the bypass fails');
  });

  it('with --capability net-admin it escapes: plaintext into STRICT, reset', async () => {
    const r = await cli('request', ...args, '--bypass', '--capability', 'net-admin');
    const d = JSON.parse(r.out) as { code: number; mtls: boolean; stoppedBy: { control: string }[] };
    expect(d).toMatchObject({ code: 0, mtls: false, stoppedBy: [{ control: 'PeerAuthentication' }] });
  });

  it('an unknown capability is bad usage (exit 2)', async () => {
    expect((await cli('request', ...args, '--bypass', '--capability', 'cap-sys-admin')).code).toBe(2);
  });
});
