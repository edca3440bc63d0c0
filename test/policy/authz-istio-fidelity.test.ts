/**
 * AuthorizationPolicy details checked against Istio's own source (pilot/pkg/security/authz/builder/builder.go,
 * pkg/config/validation/validation.go, pkg/config/security/security.go): each case is one where meshrange decided
 * or validated otherwise before.
 */
import { describe, expect, it } from 'vitest';
import { loadMesh } from '../../src/loader/load.js';
import { app, meshFrom, ns, send } from '../helpers.js';

const denyAll = (dryRun: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-all, namespace: web, annotations: { istio.io/dry-run: "${dryRun}" } }
spec:
  action: DENY
  rules: [{}]
`;

describe('istio.io/dry-run is read as Go\'s strconv.ParseBool reads it (builder.go isDryRun)', () => {
  for (const v of ['true', 'True', 'TRUE', 't', 'T', '1']) {
    it(`"${v}" makes the DENY policy dry-run: the request is allowed`, () => {
      const mesh = meshFrom(ns('web', true), app('web', 'api'), app('web', 'client'), denyAll(v));
      const d = send(mesh, { from: 'web/client', to: 'api.web.svc.cluster.local:80' });
      expect(d.outcome).toBe('allowed');
    });
  }
  for (const v of ['false', 'False', '0', 'f']) {
    it(`"${v}" leaves the DENY policy enforced`, () => {
      const mesh = meshFrom(ns('web', true), app('web', 'api'), app('web', 'client'), denyAll(v));
      expect(send(mesh, { from: 'web/client', to: 'api.web.svc.cluster.local:80' }).outcome).toBe('blocked');
    });
  }
  it('a value ParseBool refuses is enforced, with a warning', () => {
    const { mesh, issues } = loadMesh([{ path: 'a.yaml', text: [ns('web', true), app('web', 'api'), app('web', 'client'), denyAll('yes')].join('\n---\n') }]);
    expect(issues.hasErrors()).toBe(false);
    expect(issues.items.map((i) => i.code)).toContain('ap-dry-run-unparsed');
    expect(send(mesh, { from: 'web/client', to: 'api.web.svc.cluster.local:80' }).outcome).toBe('blocked');
  });
});
