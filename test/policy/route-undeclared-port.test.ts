/**
 * §8 A route's destination port that the Service does not declare names a cluster Istio never builds
 * (outbound|<port>||<host>): the proxy answers 503 with NC (no cluster), not UF.
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, ns, send } from '../helpers.js';

const toPort = (port: number): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: a }
spec:
  hosts: [api]
  http: [{ route: [{ destination: { host: api, port: { number: ${port} } } }] }]
`;

describe('§8 a route to a port the Service does not declare', () => {
  const base = [ns('a', true), app('a', 'web'), app('a', 'api')];

  it('a client sidecar\'s VirtualService route to an undeclared port: 503 NC', () => {
    const d = send(meshFrom(...base, toPort(81)), { from: 'a/web', to: 'api:80' });
    expect(d).toMatchObject({ outcome: 'blocked', code: 503, flags: 'NC', stoppedBy: [{ control: 'Routing', name: 'a/api' }] });
    expect(d.stoppedBy[0]?.reason).toContain('outbound|81||api.a.svc.cluster.local');
  });

  it('the declared port routes as before', () => {
    expect(send(meshFrom(...base, toPort(80)), { from: 'a/web', to: 'api:80' })).toMatchObject({ outcome: 'allowed', code: 200 });
  });
});
