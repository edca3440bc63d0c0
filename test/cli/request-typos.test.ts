/**
 * `meshrange request` with a destination the mesh does not know: the decision
 * is what a client would get (DNS fails, or the name leaves the mesh), and a
 * warning on stderr says so and names the Service a typo most likely meant —
 * as `run` warns unknown-host for a scenario's `to:`. A path without its
 * leading slash is refused with the path it meant.
 */
import { describe, expect, it } from 'vitest';
import { cli } from './harness.js';

const from = ['--mesh', 'scenarios/meshes/bookinfo', '--from', 'bookinfo/productpage-v1'];

describe('request to a host the mesh does not know', () => {
  it('a misspelt Service fails at DNS (exit 0: the verdict is real) and stderr names the Service it meant, as it was written', async () => {
    const r = await cli('request', ...from, '--to', 'detials:9080');
    expect(r.code).toBe(0);
    expect(r.out).toContain('stopped by: DNS');
    expect(r.err).toContain('warning [unknown-host] --to detials:9080: detials resolves to no Service of the mesh (detials.bookinfo.svc.cluster.local): the request fails at DNS');
    expect(r.err).toContain('fix: did you mean details?');
    const qualified = await cli('request', ...from, '--to', 'detials.bookinfo:9080');
    expect(qualified.err).toContain('fix: did you mean details.bookinfo?');
  });

  it('a name outside the mesh is said to leave it, without a guess; a known Service gets no warning', async () => {
    const out = await cli('request', ...from, '--to', 'api.stripe.com:443');
    expect(out.err).toContain('api.stripe.com is no Service or ServiceEntry host of the mesh: the request is sent to it as an external name outside the mesh');
    expect(out.err).not.toContain('did you mean');
    const known = await cli('request', ...from, '--to', 'details:9080');
    expect(known.err).not.toContain('unknown-host');
  });

  it('a path without its leading slash is refused (exit 2) with the path it meant', async () => {
    const r = await cli('request', ...from, '--to', 'details:9080', '--path', 'admin');
    expect(r.code).toBe(2);
    expect(r.err).toContain('path admin: must start with /');
    expect(r.err).toContain('fix: e.g. --path /admin');
  });
});
