/**
 * Sidecar egress hosts (§3 step 2) through the per-listener index: a listener imports an entry of `entryNs` for a
 * host exactly when the plain check of each `ns/host` says so — namespace part `*`, the entry's namespace, or `.`
 * when the proxy is in the entry's namespace (`~` never), and host part equal, `*`, or `*.suffix` the host ends with —
 * on random listeners mixing all of these, with look-alike hosts and namespaces.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostMatches } from '../../src/policy/destination-rule.js';
import { imports } from '../../src/policy/egress.js';

const NS = fc.constantFrom('shop', 'web', 'istio-system');
const HOST = fc.constantFrom('reviews.shop.svc.cluster.local', 'api.example.com', 'example.com', '.example.com', 'a.b.example.com', 'www.other.org', '*.example.com');
const PATTERN = fc.constantFrom('*', '*.example.com', '*.com', '*.shop.svc.cluster.local', '*.cluster.local', 'api.example.com', 'example.com', 'reviews.shop.svc.cluster.local', '*.b.example.com', '*example.com', 'www.*');
const LISTENER_HOST = fc.tuple(fc.constantFrom('*', '.', '~', 'shop', 'web', 'istio-system'), PATTERN).map(([ns, h]) => `${ns}/${h}`);

function plainImports(hosts: readonly string[], entryNs: string, proxyNs: string, host: string): boolean {
  return hosts.some((h) => {
    const slash = h.indexOf('/');
    const ns = h.slice(0, slash);
    if (ns === '~') return false;
    const resolved = ns === '.' ? proxyNs : ns;
    return (resolved === '*' || resolved === entryNs) && hostMatches(h.slice(slash + 1), host) > 0;
  });
}

describe('Sidecar egress hosts through the listener index', () => {
  it('§3 a listener imports an entry for a host exactly when one of its ns/host entries does (plain check)', () => {
    fc.assert(fc.property(fc.array(LISTENER_HOST, { maxLength: 12 }), fc.array(fc.tuple(NS, NS, HOST), { minLength: 1, maxLength: 10 }), (hosts, asks) => {
      const listener = { hosts };
      for (const [entryNs, proxyNs, host] of asks) expect(imports(listener, entryNs, proxyNs, host)).toBe(plainImports(hosts, entryNs, proxyNs, host));
    }), { numRuns: 500, seed: 31 });
  });
});
