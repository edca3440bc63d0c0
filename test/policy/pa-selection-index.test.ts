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
import { effectiveMtls, namespaceMode, olderFirst } from '../../src/policy/peer-authentication.js';
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
function expected(mesh: Mesh, w: Workload): { mode: string; level: string; policy: string | null; ignored: string[] } {
  const parent = namespaceMode(mesh, w.namespace);
  const matching: PeerAuthentication[] = mesh.peerAuthentications
    .filter((p) => p.meta.namespace === w.namespace && p.selector !== null && selectorMatches(p.selector, w.labels)).sort(olderFirst);
  const names = (l: readonly PeerAuthentication[]): string[] => l.map((p) => p.meta.name);
  const top = matching[0];
  if (top === undefined) return { mode: parent.mode, level: parent.level, policy: parent.policy?.meta.name ?? null, ignored: names(parent.ignored) };
  const ignored = [...names(parent.ignored), ...names(matching.slice(1))];
  const port = top.portLevelMtls.get(8080);
  if (port !== undefined && port !== 'UNSET') return { mode: port, level: 'port', policy: top.meta.name, ignored };
  if (top.mode !== 'UNSET') return { mode: top.mode, level: 'workload', policy: top.meta.name, ignored };
  return { mode: parent.mode, level: parent.level, policy: parent.policy?.meta.name ?? null, ignored };
}

describe('PeerAuthentication workload level through the selector index', () => {
  it('the oldest matching selector policy of the pod\'s namespace decides, the rest are ignored, with 0 to 90 of them', () => {
    fc.assert(fc.property(fc.array(LABELS, { minLength: 1, maxLength: 5 }), fc.array(SPEC, { maxLength: 90, size: 'max' }), MODE, (pods, specs, nsMode) => {
      const mesh = build(pods, specs, nsMode);
      for (const w of mesh.workloads) {
        const got = effectiveMtls(mesh, w, 8080);
        expect({ mode: got.mode, level: got.level, policy: got.policy?.meta.name ?? null, ignored: got.ignored.map((p) => p.meta.name) }).toEqual(expected(mesh, w));
      }
    }), { numRuns: 60, seed: 4 });
  });
});
