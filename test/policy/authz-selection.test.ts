/**
 * §6.1 selection as prepareAuthz makes it (once per namespace for the policies
 * without a selector, merged with each workload's selector matches): a
 * workload's policies stay in load order whichever way they reach it, and a
 * prepared policy set decides exactly as one compiled lazily.
 */
import { describe, expect, it } from 'vitest';
import type { Mesh } from '../../src/model/types.js';
import { evaluateAuthz, policiesFor, prepareAuthz, type AuthzAttributes } from '../../src/policy/authorization-policy.js';
import { app, meshFrom, ns, wl } from '../helpers.js';

const deny = (namespace: string, name: string, path: string, selector?: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${selector ? `  selector: { matchLabels: { app: ${selector} } }\n` : ''}  action: DENY
  rules: [{ to: [{ operation: { paths: ["${path}"] } }] }]
`;

/** Root-namespace, namespace-wide and selector DENY policies interleaved in load order; each matches /x. */
function interleaved(): Mesh {
  return meshFrom(ns('istio-system', false), ns('web', true), app('web', 'api'), app('web', 'other'),
    deny('web', 'a-sel', '/x*', 'api'), deny('istio-system', 'b-root', '/x*'), deny('web', 'c-ns', '/x*'),
    deny('istio-system', 'd-root', '/y*'), deny('web', 'e-sel', '/y*', 'api'), deny('web', 'f-other', '/x*', 'other'));
}

const get = (path: string): AuthzAttributes => ({
  protocol: 'http', peerPrincipal: 'cluster.local/ns/web/sa/other', sourceIp: '10.0.0.1', remoteIp: '10.0.0.1', destinationIp: '10.0.0.2',
  destinationPort: 8080, sni: null, http: { host: 'api.web.svc.cluster.local', method: 'GET', path, headers: {} },
});

describe('§6.1 selection shared per namespace', () => {
  it('a workload\'s policies are in load order whether they come from the root namespace, its namespace without a selector, or a selector', () => {
    const mesh = interleaved();
    prepareAuthz(mesh);
    expect(policiesFor(mesh, wl(mesh, 'web/api')).map((p) => p.meta.name)).toEqual(['a-sel', 'b-root', 'c-ns', 'd-root', 'e-sel']);
    expect(policiesFor(mesh, wl(mesh, 'web/other')).map((p) => p.meta.name)).toEqual(['b-root', 'c-ns', 'd-root', 'f-other']);
  });

  it('the first matching DENY in load order decides, after prepareAuthz as without it', () => {
    for (const prepared of [true, false]) {
      const mesh = interleaved();
      if (prepared) prepareAuthz(mesh);
      const api = wl(mesh, 'web/api');
      const other = wl(mesh, 'web/other');
      expect(evaluateAuthz(mesh, api, get('/x1')).decidedBy?.policy, `prepared ${prepared}`).toBe('a-sel');
      expect(evaluateAuthz(mesh, other, get('/x1')).decidedBy?.policy, `prepared ${prepared}`).toBe('b-root');
      expect(evaluateAuthz(mesh, api, get('/y1')).decidedBy?.policy, `prepared ${prepared}`).toBe('d-root');
      expect(evaluateAuthz(mesh, other, get('/z')).allowed, `prepared ${prepared}`).toBe(true);
    }
  });

  it('two workloads of a namespace with no selector match share nothing they should not: each trace names its own workload', () => {
    const mesh = meshFrom(ns('istio-system', false), ns('web', true), app('web', 'api'), app('web', 'other'), deny('istio-system', 'root', '/x*'));
    prepareAuthz(mesh);
    expect(evaluateAuthz(mesh, wl(mesh, 'web/api'), get('/a')).trace[0]).toContain('web/api');
    expect(evaluateAuthz(mesh, wl(mesh, 'web/other'), get('/a')).trace[0]).toContain('web/other');
  });
});
