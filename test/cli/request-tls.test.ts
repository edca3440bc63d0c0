/**
 * `meshrange request --protocol tls`: the app's own TLS carries no HTTP
 * request, so the first line names a TLS connection (and its SNI), not a
 * method; and --sni has the scenario's limit, one rule for both.
 */
import { describe, expect, it } from 'vitest';
import { MAX_SNI_LENGTH } from '../../src/core/http.js';
import { cli } from './harness.js';

const args = ['request', '--mesh', 'scenarios/meshes/three-ns', '--from', 'frontend/web', '--to', 'api.backend:80', '--protocol', 'tls'];

describe('meshrange request --protocol tls', () => {
  it('the first line is a TLS connection with its SNI, never an HTTP method', async () => {
    const r = await cli(...args, '--sni', 'api.backend');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('TLS connection to api.backend:80 (SNI api.backend)');
    expect(r.out).not.toMatch(/^GET /m);
  });

  it('--sni is limited to a DNS name\'s 253 characters, as a scenario\'s sni: 253 passes, 254 is bad input (exit 2)', async () => {
    expect(MAX_SNI_LENGTH).toBe(253);
    expect((await cli(...args, '--sni', 'a'.repeat(253))).code).toBe(0);
    const long = await cli(...args, '--sni', 'a'.repeat(254));
    expect(long.code).toBe(2);
    expect(long.err).toContain(`a server name is at most ${MAX_SNI_LENGTH} characters`);
  });
});
