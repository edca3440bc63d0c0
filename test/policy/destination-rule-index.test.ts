/**
 * findDestinationRule reads, per namespace, only the DestinationRules written
 * for the host itself and those with a wildcard host (destination-rule.ts
 * hostIndex, from 16 rules in a namespace on), not every rule of the mesh. It must choose what a scan of every
 * rule chooses (§ DestinationRule lookup: client namespace, then the
 * service's, then the root's; exportTo; workloadSelector in the client's own
 * namespace; the most specific host; ties: a rule whose selector selects the client first, then oldest first), pinned here
 * against that scan written out, on random rule sets.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consolidate, exportedTo, findDestinationRule, hostMatches } from '../../src/policy/destination-rule.js';
import { selectorMatches, type DestinationRule, type Labels, type Mesh } from '../../src/model/types.js';
import { meshFrom, ns } from '../helpers.js';

function scan(mesh: Mesh, clientNs: string, clientLabels: Labels, host: string, serviceNs: string | null): string[] | null {
  const root = mesh.config.rootNamespace;
  for (const [where, step] of [[clientNs, 0], [serviceNs, 1], [root, 2]] as const) {
    if (where === null) continue;
    // a root-namespace client first reads the root's private rules only
    const privateOnly = step === 0 && where === root;
    let best = 0;
    let found: DestinationRule[] = [];
    for (const dr of mesh.destinationRules) {
      if (dr.meta.namespace !== where) continue;
      // private: one exportTo entry, `.` or its own namespace, or a selector (Istio's namespace-private rules)
      const isPrivate = dr.workloadSelector !== null || (dr.exportTo.length === 1 && (dr.exportTo[0] === '.' || dr.exportTo[0] === dr.meta.namespace));
      // the client's namespace: what it can see; another namespace: the rules not private to it (scored first)
      if (step === 0 ? !exportedTo(dr, clientNs) : isPrivate) continue;
      if (privateOnly && !isPrivate) continue;
      // a selector rule counts only in the client's namespace, where it takes part in the most specific host
      if (dr.workloadSelector !== null && where !== clientNs) continue;
      const score = hostMatches(dr.fqdnHost, host);
      if (score === 0) continue;
      if (score > best) { best = score; found = [dr]; } else if (score === best) found.push(dr);
    }
    if (found.length === 0) continue;
    // Istio's consolidated rules of that index for the host (consolidate: pinned by destination-rule.test.ts), those of
    // another namespace kept when exported to the client; of them the first whose selector picks the client, else the
    // last without a selector
    let entries = consolidate(found);
    if (step !== 0) entries = entries.filter((c) => c.exportTo.size === 0 || c.exportTo.has('*') || c.exportTo.has(clientNs));
    if (entries.length === 0) continue;
    const picked = entries.find((c) => c.rules[0]?.workloadSelector != null && selectorMatches(c.rules[0].workloadSelector, clientLabels))
      ?? entries.filter((c) => c.rules[0]?.workloadSelector === null).at(-1);
    return picked ? picked.rules.map((d) => `${d.meta.namespace}/${d.meta.name}`) : null;
  }
  return null;
}

/** The namespaces istio-system, n1 and n2, and one DestinationRule per spec (dr<i>, in order). */
function meshOfRules(rules: readonly { ns: string; host: string; exportTo: readonly string[] | null; selector?: Labels | null }[]): Mesh {
  const docs = [ns('istio-system', false), ns('n1', true), ns('n2', true)];
  rules.forEach((r, i) => {
    // a rule with a selector is exported to its own namespace only (Istio's validation refuses the rest)
    // and lists each namespace once (`.` is its own)
    const once = r.exportTo?.filter((e, k, all) => all.findIndex((x) => (x === '.' ? r.ns : x) === (e === '.' ? r.ns : e)) === k) ?? null;
    const exportTo = r.selector && once && !(once.length === 1 && (once[0] === '.' || once[0] === r.ns)) ? ['.'] : once;
    docs.push(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: dr${i}, namespace: ${r.ns} }
spec:
  host: "${r.host}"
${exportTo ? `  exportTo: ${JSON.stringify(exportTo)}\n` : ''}${r.selector ? `  workloadSelector: { matchLabels: ${JSON.stringify(r.selector)} }\n` : ''}  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
`);
  });
  return meshFrom(...docs);
}

const HOSTS = ['a', 'a.n1.svc.cluster.local', 'b.n2.svc.cluster.local', '*.n1.svc.cluster.local', '*.svc.cluster.local', '*', '*.cluster.local', 'c.example.com', '*.example.com'];

describe('DestinationRule lookup through the per-namespace host index', () => {
  it('chooses what the scan of every rule chooses: namespace steps, exportTo, workloadSelector, most specific host, ties oldest first', () => {
    const rule = fc.record({
      ns: fc.constantFrom('n1', 'n1', 'n1', 'n2', 'istio-system'),
      host: fc.constantFrom(...HOSTS),
      exportTo: fc.constantFrom(null, ['.'], ['*'], ['n1'], ['n2'], ['istio-system'], ['.', 'n2'], ['n1', 'n2'], ['istio-system', 'n1']),
      selector: fc.constantFrom(null, { app: 'x' }, { app: 'y' }),
    });
    fc.assert(fc.property(fc.array(rule, { minLength: 24, maxLength: 50 }), (rules) => {
      const mesh = meshOfRules(rules);
      for (const clientNs of ['n1', 'n2', 'istio-system']) {
        for (const labels of [{ app: 'x' }, { app: 'z' }]) {
          for (const host of ['a.n1.svc.cluster.local', 'b.n2.svc.cluster.local', 'c.example.com', 'd.n1.svc.cluster.local']) {
            for (const serviceNs of [null, 'n1', 'n2']) {
              const got = findDestinationRule(mesh, clientNs, labels, host, serviceNs);
              expect(got ? got.merged.map((d) => `${d.meta.namespace}/${d.meta.name}`) : null).toEqual(scan(mesh, clientNs, labels, host, serviceNs));
            }
          }
        }
      }
    }), { numRuns: 150, seed: 11 });
  });

  it('the answers kept per (namespace, service namespace, host) when no rule of the client namespace has a selector are the scan\'s, asked twice, for wildcard hosts too', () => {
    const rule = fc.record({
      ns: fc.constantFrom('n1', 'n2', 'istio-system', 'istio-system'),
      host: fc.constantFrom(...HOSTS, '*.a.n1.svc.cluster.local', '*n1.svc.cluster.local'),
      exportTo: fc.constantFrom(null, ['.'], ['*'], ['n1'], ['n2'], ['istio-system'], ['.', 'n2'], ['n1', 'n2'], ['istio-system', 'n1']),
    });
    fc.assert(fc.property(fc.array(rule, { minLength: 40, maxLength: 80 }), (rules) => {
      const mesh = meshOfRules(rules);
      for (let round = 0; round < 2; round++) {
        for (const clientNs of ['n1', 'n2', 'istio-system']) {
          for (const host of ['a.n1.svc.cluster.local', 'x.a.n1.svc.cluster.local', 'b.n2.svc.cluster.local', 'c.example.com', '*.n1.svc.cluster.local', '*', 'cluster.local']) {
            for (const serviceNs of [null, 'n1', 'n2']) {
              const got = findDestinationRule(mesh, clientNs, { app: 'x' }, host, serviceNs);
              expect(got ? got.merged.map((d) => `${d.meta.namespace}/${d.meta.name}`) : null).toEqual(scan(mesh, clientNs, { app: 'x' }, host, serviceNs));
            }
          }
        }
      }
    }), { numRuns: 100, seed: 12 });
  });
});
