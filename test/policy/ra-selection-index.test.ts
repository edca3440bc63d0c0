/**
 * RequestAuthentication selection (§7, the same rule as §6.1) through the
 * selector index: requestAuthenticationsSelecting answers exactly what
 * requestAuthenticationsFor's check of every policy answers — the root
 * namespace's and the workload's own policies, with no selector or one its
 * labels match, targetRefs ones only for a gateway they name, in load order —
 * on random lists long enough to take every path (a short list scanned, a
 * short scope, an indexed scope), with look-alike and empty selectors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RequestAuthentication } from '../../src/model/request-authentication.js';
import type { Labels } from '../../src/model/types.js';
import { requestAuthenticationsFor, requestAuthenticationsSelecting } from '../../src/policy/request-authentication.js';
import { fullGc } from '../helpers.js';

const ROOT = 'istio-system';
const NAMESPACES = [ROOT, 'n1', 'n2', 'n3'] as const;
const LABELS = fc.record({
  app: fc.constantFrom('a', 'b', 'c'), tier: fc.constantFrom('x', 'y'), v: fc.constantFrom('1', '2'),
  'gateway.networking.k8s.io/gateway-name': fc.constantFrom('gw', 'other'),
}, { requiredKeys: [] });

const SPEC = fc.record({
  ns: fc.constantFrom(...NAMESPACES),
  // null: no selector; {} an empty one; else a look-alike of the pods' labels
  selector: fc.oneof(fc.constant(null), fc.constant({}), LABELS),
  // targetRefs on one policy in six (a Gateway by name, its namespace given or not)
  targetRef: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 5 },
    { arbitrary: fc.record({ name: fc.constantFrom('gw', 'other'), namespace: fc.option(fc.constantFrom(...NAMESPACES), { nil: undefined }) }), weight: 1 },
  ),
});

function ras(specs: readonly { ns: string; selector: Labels | null; targetRef?: { name: string; namespace?: string | undefined } | undefined }[]): RequestAuthentication[] {
  return specs.map((s, i) => ({
    meta: { name: `ra${i}`, namespace: s.ns, labels: {}, annotations: {}, order: i, loc: { file: 'x.yaml', line: i + 1, col: 1 } },
    selector: s.targetRef ? null : s.selector as Labels | null,
    targetRefs: s.targetRef ? [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: s.targetRef.name, ...(s.targetRef.namespace ? { namespace: s.targetRef.namespace } : {}) }] : [],
    jwtRules: [],
  }));
}

const WORKLOAD = fc.record({ namespace: fc.constantFrom(...NAMESPACES), labels: LABELS, gateway: fc.boolean() });

describe('RequestAuthentication selection through the selector index', () => {
  it('selects exactly the policies the plain check selects, in load order, for lists of 0 to 150 policies (scanned, short scopes, indexed scopes)', () => {
    fc.assert(fc.property(fc.array(SPEC, { maxLength: 150, size: 'max' }), fc.array(WORKLOAD, { minLength: 1, maxLength: 12 }), (specs, pods) => {
      const list = ras(specs);
      for (const w of pods) {
        const got = requestAuthenticationsSelecting(list, ROOT, w);
        const want = requestAuthenticationsFor(list, ROOT, w);
        expect(got.map((p) => p.meta.name)).toEqual(want.map((p) => p.meta.name));
        got.forEach((p, i) => expect(p).toBe(want[i]));
      }
    }), { numRuns: 300, seed: 13 });
  });

  it('a namespace of 10,000 selector policies: a pod gets the one naming it, and the mesh-wide one, in load order', () => {
    const specs: { ns: string; selector: Labels | null }[] = [];
    for (let i = 0; i < 10_000; i++) specs.push({ ns: 'n1', selector: { app: `p${i}` } });
    specs.splice(5000, 0, { ns: ROOT, selector: null });
    const list = ras(specs);
    const got = requestAuthenticationsSelecting(list, ROOT, { namespace: 'n1', labels: { app: 'p7000' } });
    expect(got.map((p) => p.meta.name)).toEqual(['ra5000', 'ra7001']);
    expect(requestAuthenticationsSelecting(list, ROOT, { namespace: 'n2', labels: { app: 'p7000' } }).map((p) => p.meta.name)).toEqual(['ra5000']);
  });

  it('the same list asked under two root namespaces answers for each (nothing kept from the other)', () => {
    fc.assert(fc.property(fc.array(SPEC, { minLength: 40, maxLength: 150, size: 'max' }), fc.array(WORKLOAD, { minLength: 1, maxLength: 8 }), (specs, pods) => {
      const list = ras(specs);
      for (const root of [ROOT, 'n3', ROOT, 'n1']) {
        for (const w of pods) expect(requestAuthenticationsSelecting(list, root, w)).toEqual(requestAuthenticationsFor(list, root, w));
      }
    }), { numRuns: 100, seed: 5 });
  });

  it('5,000 selector policies in the root namespace and 500 namespaces: indexed once, not once per namespace', () => {
    const specs: { ns: string; selector: Labels | null }[] = Array.from({ length: 5000 }, (_, i) => ({ ns: ROOT, selector: { app: `p${i}` } }));
    for (let n = 0; n < 500; n++) specs.push({ ns: `t${n}`, selector: { app: 'p1' } });
    const list = ras(specs);
    fullGc();
    const before = process.memoryUsage().heapUsed;
    for (let n = 0; n < 500; n++) {
      expect(requestAuthenticationsSelecting(list, ROOT, { namespace: `t${n}`, labels: { app: 'p1' } }).map((p) => p.meta.name)).toEqual(['ra1', `ra${5000 + n}`]);
    }
    fullGc();
    // one index of the root namespace's 5,000 (about 2 MB); an index per namespace was about 1 GB here
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 2 ** 20);
  });

  it('a root-namespace policy with a selector selects matching pods of every namespace', () => {
    const specs: { ns: string; selector: Labels | null }[] = Array.from({ length: 40 }, (_, i) => ({ ns: 'n2', selector: { app: `q${i}` } }));
    specs.push({ ns: ROOT, selector: { app: 'a' } });
    const list = ras(specs);
    expect(requestAuthenticationsSelecting(list, ROOT, { namespace: 'n3', labels: { app: 'a' } }).map((p) => p.meta.name)).toEqual(['ra40']);
    expect(requestAuthenticationsSelecting(list, ROOT, { namespace: 'n3', labels: { app: 'b' } })).toEqual([]);
  });
});
