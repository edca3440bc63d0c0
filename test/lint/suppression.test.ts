/** `meshrange.io/ignore: MR0101,…` on a resource or its namespace silences those codes there; silenced findings are counted, never lost. */
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/lint/index.js';
import { app, meshFrom, ns } from '../helpers.js';

const denyAdmin = (annotations: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-admin
  namespace: a
  annotations: { ${annotations} }
spec:
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin"] } }] }]
`;
const opted = app('a', 'cron', { labels: { 'sidecar.istio.io/inject': 'false' } });

describe('suppression by meshrange.io/ignore', () => {
  it('the annotation on the resource suppresses its code there, and the finding is kept as suppressed', () => {
    const r = lint(meshFrom(ns('a', true), app('a', 'web'), denyAdmin('meshrange.io/ignore: MR0106')), { only: ['MR0106'] });
    expect(r.findings).toEqual([]);
    expect(r.suppressed.map((f) => [f.code, f.suppressedBy])).toEqual([['MR0106', 'AuthorizationPolicy a/deny-admin']]);
  });
  it('a comma list suppresses each code it names, and only those', () => {
    const r = lint(meshFrom(ns('a', true), app('a', 'web'), denyAdmin('meshrange.io/ignore: "MR0104, mr0106"')), { only: ['MR0106'] });
    expect(r.suppressed).toHaveLength(1);
    const other = lint(meshFrom(ns('a', true), app('a', 'web'), denyAdmin('meshrange.io/ignore: "MR0104,MR0105"')), { only: ['MR0106'] });
    expect(other.findings).toHaveLength(1);
    expect(other.suppressed).toEqual([]);
  });
  it('the annotation on the namespace suppresses the code for every resource in it', () => {
    const nsDoc = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels: { istio-injection: enabled }\n  annotations: { meshrange.io/ignore: MR0107 }\n';
    const r = lint(meshFrom(nsDoc, opted), { only: ['MR0107'] });
    expect(r.findings).toEqual([]);
    expect(r.suppressed.map((f) => f.suppressedBy)).toEqual(['Namespace a']);
  });
  it('on a workload, the Deployment\'s own annotation suppresses as the pod template\'s does', () => {
    const onDeployment = opted.replace('metadata: { name: cron, namespace: a }', 'metadata: { name: cron, namespace: a, annotations: { meshrange.io/ignore: MR0107 } }');
    expect(lint(meshFrom(ns('a', true), onDeployment), { only: ['MR0107'] }).suppressed).toHaveLength(1);
  });
  it('an annotation in another namespace suppresses nothing here', () => {
    const other = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n  annotations: { meshrange.io/ignore: MR0107 }\n';
    expect(lint(meshFrom(ns('a', true), other, opted), { only: ['MR0107'] }).findings).toHaveLength(1);
  });
  it('suppressed findings do not count toward the severity counts', () => {
    const r = lint(meshFrom(ns('a', true), app('a', 'web'), denyAdmin('meshrange.io/ignore: MR0106')), { only: ['MR0106'] });
    expect(r.counts).toEqual({ error: 0, warning: 0, info: 0 });
  });
});
