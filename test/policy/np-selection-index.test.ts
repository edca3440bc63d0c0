/**
 * The NetworkPolicies selecting a pod through the selector index: a shared
 * list (`indexable`, as MeshIndex.networkPolicies gives) of 32 or more is
 * indexed by one matchLabels pair of each podSelector
 * (model/selector-index.ts), and the answer must stay the
 * Kubernetes rule — the pod's own namespace's policies of the direction's
 * type whose podSelector (matchLabels and matchExpressions; empty: every
 * pod) matches its labels, in list order. Checked against that rule on
 * random lists of 0 to 120 policies with look-alike, empty and
 * expression-only selectors, asked as a shared list (indexed, then from the
 * index) and as a list made for the call (scanned).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labelSelectorMatches, type LabelSelectorRequirement, type NetworkPolicy } from '../../src/model/network-policy.js';
import type { Labels } from '../../src/model/types.js';
import { selectingPolicies, type NpEndpoint } from '../../src/policy/network-policy.js';

const LABELS = fc.record({ app: fc.constantFrom('a', 'b', 'c'), tier: fc.constantFrom('x', 'y'), v: fc.constantFrom('1', '2') }, { requiredKeys: [] });
const EXPR: fc.Arbitrary<LabelSelectorRequirement> = fc.oneof(
  fc.record({ key: fc.constantFrom('app', 'tier'), operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.array(fc.constantFrom('a', 'b', 'x'), { minLength: 1, maxLength: 2 }) }),
  fc.record({ key: fc.constantFrom('app', 'v'), operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const), values: fc.constant([]) }),
);
const SPEC = fc.record({
  ns: fc.constantFrom('n1', 'n2'),
  matchLabels: LABELS,
  matchExpressions: fc.array(EXPR, { maxLength: 2 }),
  types: fc.constantFrom(['Ingress'] as const, ['Egress'] as const, ['Ingress', 'Egress'] as const),
});

function policies(specs: { ns: string; matchLabels: Labels; matchExpressions: LabelSelectorRequirement[]; types: readonly ('Ingress' | 'Egress')[] }[]): NetworkPolicy[] {
  return specs.map((s, i) => ({
    meta: { name: `np${i}`, namespace: s.ns, labels: {}, annotations: {}, order: i, loc: { file: 'x.yaml', line: i + 1, col: 1 } },
    podSelector: { matchLabels: s.matchLabels, matchExpressions: s.matchExpressions },
    policyTypes: s.types, ingress: [], egress: [],
  }));
}

const pod = (namespace: string, labels: Labels): NpEndpoint => ({ kind: 'pod', namespace, name: 'p', labels, namespaceLabels: {}, ip: '10.0.0.1', ports: [] });

describe('NetworkPolicies selecting a pod, through the selector index', () => {
  it('selects exactly the Kubernetes rule\'s policies, in list order, from a shared list (indexed) and from a list made per call (scanned)', () => {
    fc.assert(fc.property(fc.array(SPEC, { maxLength: 120, size: 'max' }), fc.array(fc.tuple(fc.constantFrom('n1', 'n2'), LABELS), { minLength: 1, maxLength: 8 }), (specs, pods) => {
      const list = policies(specs);
      for (const [ns, labels] of pods) {
        for (const direction of ['ingress', 'egress'] as const) {
          const type = direction === 'ingress' ? 'Ingress' : 'Egress';
          const want = list.filter((p) => p.meta.namespace === ns && p.policyTypes.includes(type) && labelSelectorMatches(p.podSelector, labels)).map((p) => p.meta.name);
          // a shared list: indexed on the first ask, answered from the index after; a list made for the call: scanned
          expect(selectingPolicies(list, pod(ns, labels), direction, true).map((p) => p.meta.name)).toEqual(want);
          expect(selectingPolicies(list, pod(ns, labels), direction, true).map((p) => p.meta.name)).toEqual(want);
          expect(selectingPolicies([...list], pod(ns, labels), direction).map((p) => p.meta.name)).toEqual(want);
        }
      }
    }), { numRuns: 300, seed: 8 });
  });
});
