/**
 * PeerAuthentication at the workload level (§4) through the selector index:
 * from 32 selector policies in a namespace on, a pod's candidates come from
 * model/selector-index.ts, not from checking every one. The rule stays the
 * same: the policies of the pod's own namespace whose selector its labels
 * match, the oldest (creationTimestamp, then load order, then name) decides
 * the workload level — its port-level setting first — and the others are
 * listed as ignored. Checked against that rule written out here, on random
 * namespaces of 0 to 90 selector policies with look-alike selectors (an
 * empty one is a namespace-level policy), mixed modes and creation times.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Mesh, PeerAuthentication, Workload } from '../../src/model/types.js';
import { selectorMatches } from '../../src/model/types.js';
import { effectiveMtls, IGNORED_LISTED, namespaceMode, olderFirst } from '../../src/policy/peer-authentication.js';
import { meshFrom, ns } from '../helpers.js';

const LABELS = fc.record({ app: fc.constantFrom('a', 'b', 'c'), tier: fc.constantFrom('x', 'y'), v: fc.constantFrom('1', '2') }, { requiredKeys: [] });
const MODE = fc.constantFrom('STRICT', 'PERMISSIVE', 'DISABLE', 'UNSET');

const SPEC = fc.record({
  selector: LABELS,
  mode: MODE,
  // a creation time on some, so the oldest is not always the first loaded
  created: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  port: fc.option(MODE, { nil: undefined }),
});

type Spec = { selector: Record<string, string>; mode: string; created: number | undefined; port: string | undefined };

function build(pods: Record<string, string>[], specs: Spec[], nsMode: string): Mesh {
  const docs = [ns('istio-system', false), ns('n1', true)];
  docs.push(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: n1 }
spec: { mtls: { mode: ${nsMode} } }
`);
  pods.forEach((l, i) => docs.push(`apiVersion: v1
kind: Pod
metadata: { name: p${i}, namespace: n1, labels: ${JSON.stringify(l)} }
spec: { containers: [{ name: c, image: x, ports: [{ containerPort: 8080 }] }] }
`));
  specs.forEach((s, i) => docs.push(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: pa${i}, namespace: n1${s.created === undefined ? '' : `, creationTimestamp: "2026-01-0${s.created + 1}T00:00:00Z"`} }
spec:
  selector: { matchLabels: ${JSON.stringify(s.selector)} }
  mtls: { mode: ${s.mode} }
${s.port === undefined || Object.keys(s.selector).length === 0 ? '' : `  portLevelMtls: { 8080: { mode: ${s.port} } }\n`}`));
  return meshFrom(...docs);
}

/** §4 written out: the pod's own namespace's selector policies it matches, oldest first; the oldest decides. */
function expected(mesh: Mesh, w: Workload): { mode: string; level: string; policy: string | null; ignored: string[]; ignoredCount: number } {
  const parent = namespaceMode(mesh, w.namespace);
  const matching: PeerAuthentication[] = mesh.peerAuthentications
    .filter((p) => p.meta.namespace === w.namespace && p.selector !== null && selectorMatches(p.selector, w.labels)).sort(olderFirst);
  const names = (l: readonly PeerAuthentication[]): string[] => l.map((p) => p.meta.name);
  const top = matching[0];
  if (top === undefined) return { mode: parent.mode, level: parent.level, policy: parent.policy?.meta.name ?? null, ignored: names(parent.ignored), ignoredCount: parent.ignoredCount };
  // the losers listed: the namespace's, then the workload level's, at most IGNORED_LISTED; counted in full
  const ignored = [...names(parent.ignored), ...names(matching.slice(1))].slice(0, IGNORED_LISTED);
  const ignoredCount = parent.ignoredCount + matching.length - 1;
  const port = top.portLevelMtls.get(8080);
  if (port !== undefined && port !== 'UNSET') return { mode: port, level: 'port', policy: top.meta.name, ignored, ignoredCount };
  if (top.mode !== 'UNSET') return { mode: top.mode, level: 'workload', policy: top.meta.name, ignored, ignoredCount };
  return { mode: parent.mode, level: parent.level, policy: parent.policy?.meta.name ?? null, ignored, ignoredCount };
}

describe('PeerAuthentication workload level through the selector index', () => {
  it('the oldest matching selector policy of the pod\'s namespace decides, the rest are ignored, with 0 to 90 of them', () => {
    fc.assert(fc.property(fc.array(LABELS, { minLength: 1, maxLength: 5 }), fc.array(SPEC, { maxLength: 90, size: 'max' }), MODE, (pods, specs, nsMode) => {
      const mesh = build(pods, specs, nsMode);
      for (const w of mesh.workloads) {
        const got = effectiveMtls(mesh, w, 8080);
        expect({ mode: got.mode, level: got.level, policy: got.policy?.meta.name ?? null, ignored: got.ignored.map((p) => p.meta.name), ignoredCount: got.ignoredCount }).toEqual(expected(mesh, w));
      }
    }), { numRuns: 60, seed: 4 });
  });

  it(`thousands of mesh-wide policies: the oldest decides, ${IGNORED_LISTED} losers are listed and all are counted, in every namespace alike`, () => {
    const docs = [ns('istio-system', false), ns('n1', true), ns('n2', true)];
    for (let i = 0; i < 2000; i++) docs.push(`apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: m${i}, namespace: istio-system }\nspec: { mtls: { mode: ${i === 0 ? 'STRICT' : 'PERMISSIVE'} } }\n`);
    for (const n of ['n1', 'n2']) docs.push(`apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: ${n}, labels: { app: a } }\nspec: { containers: [{ name: c, image: x, ports: [{ containerPort: 8080 }] }] }\n`);
    for (const [i, mode] of ['DISABLE', 'STRICT'].entries()) docs.push(`apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: w${i}, namespace: n2 }\nspec: { selector: { matchLabels: { app: a } }, mtls: { mode: ${mode} } }\n`);
    const mesh = meshFrom(...docs);
    const [a, b] = mesh.workloads as [Workload, Workload];
    const one = effectiveMtls(mesh, a, 8080);
    expect(one).toMatchObject({ mode: 'STRICT', level: 'mesh', ignoredCount: 1999 });
    expect(one.policy?.meta.name).toBe('m0');
    expect(one.ignored.map((p) => p.meta.name)).toEqual(Array.from({ length: IGNORED_LISTED }, (_, i) => `m${i + 1}`));
    // every namespace lists the same mesh-level losers, at most IGNORED_LISTED of them (not all 1,999 per namespace)
    expect(namespaceMode(mesh, 'n2').ignored).toEqual(namespaceMode(mesh, 'n1').ignored);
    const two = effectiveMtls(mesh, b, 8080);
    expect(two).toMatchObject({ mode: 'DISABLE', level: 'workload', ignoredCount: 2000 });
    expect(two.ignored).toHaveLength(IGNORED_LISTED);
  });
});
