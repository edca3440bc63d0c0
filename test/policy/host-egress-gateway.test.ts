/**
 * §8 An HTTP request dialled to some external name but carrying the Host of a ServiceEntry host lands in that host's
 * virtual host of the port's route table (Envoy picks virtual hosts by Host, not by address): the mesh VirtualService
 * routes bound there — the egress-gateway pattern — apply, so the request goes to the egress gateway and its
 * AuthorizationPolicy, not straight out past it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh } from '../../src/model/types.js';
import { send } from '../helpers.js';
import { listYamlFiles } from '../../src/cli/fs.js';

const root = path.resolve(__dirname, '../..');
function meshAt(...dirs: string[]): Mesh {
  const files = dirs.flatMap((d) => listYamlFiles(path.join(root, d))).map((f) => ({ path: f, text: readFileSync(f, 'utf8') }));
  const { mesh, issues } = loadMesh(files);
  if (issues.hasErrors()) throw new Error(issues.errors.map((e) => e.message).join('\n'));
  return mesh;
}

describe('§8 Host of an egress-gateway-routed ServiceEntry host, dialled elsewhere', () => {
  const m = meshAt('scenarios/meshes/payments', 'scenarios/meshes/policies/payments-egress-partner-authz');

  it('is routed to the egress gateway by the mesh VirtualService and refused there like the direct call', () => {
    const direct = send(m, { from: 'shop/api', to: 'api.partner-sim.example:80', method: 'POST' });
    expect(direct.code).toBe(403);
    const spoof = send(m, { from: 'shop/api', to: 'evil.example:80', method: 'POST', headers: { host: 'api.partner-sim.example' } });
    expect(spoof.code).toBe(403);
    expect(spoof.events.map((e) => e.what).join('\n')).toContain('VirtualService istio-system/partner-via-egress-gateway');
  });

  it('the allowed caller still gets through the gateway that way', () => {
    const ok = send(m, { from: 'payments/payments', to: 'evil.example:80', method: 'POST', headers: { host: 'api.partner-sim.example' } });
    expect(ok.outcome).toBe('allowed');
  });
});
