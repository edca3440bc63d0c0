/**
 * A workload's own DENY policies (its selector matches) are kept apart from
 * its namespace's shared DENY list (root-namespace mesh-wide ones included)
 * and scanned with it as if merged in load order (authorization-policy.ts
 * firstMatchInBoth). These pin that the split is invisible: on TCP, where
 * every DENY policy looked at records its §6.8 drops, the drops come in load
 * order and stop at the deciding policy, prepared or not.
 */
import { describe, expect, it } from 'vitest';
import type { Mesh } from '../../src/model/types.js';
import { evaluateAuthz, prepareAuthz, type AuthzAttributes } from '../../src/policy/authorization-policy.js';
import { app, meshFrom, ns, wl } from '../helpers.js';

/** DENY with an HTTP-only `paths` (dropped on TCP, §6.8) and a port, so on TCP the remainder matches port `port` */
const deny = (namespace: string, name: string, port: number, selector?: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${selector ? `  selector: { matchLabels: { app: ${selector} } }\n` : ''}  action: DENY
  rules: [{ to: [{ operation: { paths: ["/x*"], ports: ["${port}"] } }] }]
`;

function interleaved(): Mesh {
  return meshFrom(ns('istio-system', false), ns('web', true), app('web', 'api'), app('web', 'other'),
    deny('istio-system', 'a-root', 1), deny('web', 'b-sel', 2, 'api'), deny('istio-system', 'c-root', 3), deny('web', 'd-sel', 4, 'api'),
    deny('istio-system', 'e-root', 5));
}

const tcp = (port: number): AuthzAttributes => ({
  protocol: 'tcp', peerPrincipal: 'cluster.local/ns/web/sa/other', sourceIp: '10.0.0.1', remoteIp: '10.0.0.1', destinationIp: '10.0.0.2',
  destinationPort: port, sni: null,
});

describe('a workload\'s own DENY policies scanned beside its namespace\'s shared list', () => {
  it('on TCP the §6.8 drops of root-namespace and selector DENY policies come in load order up to the deciding policy, prepared or not', () => {
    for (const prepared of [false, true]) {
      const mesh = interleaved();
      if (prepared) prepareAuthz(mesh);
      const d = evaluateAuthz(mesh, wl(mesh, 'web/api'), tcp(4));
      expect(d.decidedBy?.policy, `prepared ${prepared}`).toBe('d-sel');
      expect(d.dropped.map((x) => x.rule), `prepared ${prepared}`).toEqual(['a-root', 'b-sel', 'c-root', 'd-sel'].map((p) => `ns[${p === 'b-sel' || p === 'd-sel' ? 'web' : 'istio-system'}]-policy[${p}]-rule[0]`));
      const none = evaluateAuthz(mesh, wl(mesh, 'web/api'), tcp(9));
      expect(none.allowed, `prepared ${prepared}`).toBe(true);
      expect(none.dropped.map((x) => x.rule.split('-policy[')[1]), `prepared ${prepared}`).toEqual(['a-root]-rule[0]', 'b-sel]-rule[0]', 'c-root]-rule[0]', 'd-sel]-rule[0]', 'e-root]-rule[0]']);
    }
  });

  it('a workload no selector matches sees only the shared list: its TCP drops name the root-namespace policies alone', () => {
    const mesh = interleaved();
    prepareAuthz(mesh);
    const d = evaluateAuthz(mesh, wl(mesh, 'web/other'), tcp(9));
    expect(d.dropped.map((x) => x.rule.split('-policy[')[1])).toEqual(['a-root]-rule[0]', 'c-root]-rule[0]', 'e-root]-rule[0]']);
  });
});
