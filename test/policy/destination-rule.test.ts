/** istio-semantics §5.1/§5.2: which DestinationRule a client uses, and its TLS block. */
import { describe, expect, it } from 'vitest';
import { endpointTlsMode, findDestinationRule, tlsSettingsFor } from '../../src/policy/destination-rule.js';
import { app, dr, meshFrom, ns, pa, send } from '../helpers.js';

const base = [ns('istio-system', false), ns('a', true), ns('b', true), ns('c', true), app('a', 'client'), app('b', 'server'), app('c', 'other')];
const host = 'server.b.svc.cluster.local';

describe('§5.1 DestinationRule lookup', () => {
  it('§5.1 a DR in the client namespace beats one in the service namespace', () => {
    const m = meshFrom(...base, dr('b', 'svc-ns', host, '{ mode: ISTIO_MUTUAL }'), dr('a', 'client-ns', host, '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')).toMatchObject({ rule: { meta: { name: 'client-ns' } }, step: 'client-namespace' });
  });

  it('§5.1 else the service namespace DR exported to the client', () => {
    const m = meshFrom(...base, dr('b', 'svc-ns', host, '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')?.step).toBe('service-namespace');
  });

  it('§5.1 exportTo "." hides a service-namespace DR from other namespaces', () => {
    const m = meshFrom(...base, dr('b', 'svc-ns', host, '{ mode: DISABLE }', '  exportTo: ["."]\n'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')).toBeNull();
    expect(findDestinationRule(m, 'b', {}, host, 'b')).not.toBeNull();
  });

  it('§5.1 exportTo a namespace list exports to those namespaces only', () => {
    const m = meshFrom(...base, dr('b', 'svc-ns', host, '{ mode: DISABLE }', '  exportTo: ["c"]\n'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')).toBeNull();
    expect(findDestinationRule(m, 'c', {}, host, 'b')).not.toBeNull();
  });

  it('§5.1 else a root-namespace DR', () => {
    const m = meshFrom(...base, dr('istio-system', 'root', '*.b.svc.cluster.local', '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')?.step).toBe('root-namespace');
  });

  it('§5.1 an exact host beats a wildcard host in the same namespace', () => {
    const m = meshFrom(...base, dr('a', 'wild', '*.b.svc.cluster.local', '{ mode: ISTIO_MUTUAL }'), dr('a', 'exact', host, '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')?.rule.meta.name).toBe('exact');
  });

  it('§5.1 a short host is qualified with the DR\'s own namespace, not the service\'s', () => {
    const m = meshFrom(...base, dr('a', 'short', 'server', '{ mode: DISABLE }'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')).toBeNull();
    expect(findDestinationRule(m, 'a', {}, 'server.a.svc.cluster.local', 'a')).not.toBeNull();
  });

  it('§5.1 several DRs for one host in one namespace: the oldest trafficPolicy wins, subsets are unioned', () => {
    const m = meshFrom(...base,
      dr('a', 'first', host, '{ mode: DISABLE }', '  subsets: [{ name: v1, labels: { version: v1 } }]\n'),
      dr('a', 'second', host, '{ mode: ISTIO_MUTUAL }', '  subsets: [{ name: v2, labels: { version: v2 } }]\n'));
    const c = findDestinationRule(m, 'a', {}, host, 'b');
    expect(c?.rule.trafficPolicy?.tls?.mode).toBe('DISABLE');
    expect(c?.rule.subsets.map((s) => s.name)).toEqual(['v1', 'v2']);
  });

  it('§5.1 several DRs for one host: the oldest by creationTimestamp wins, whatever the order they are listed in', () => {
    const stamped = (name: string, at: string, tls: string, subset: string): string => dr('a', name, host, tls, `  subsets: [{ name: ${subset}, labels: { version: ${subset} } }]\n`)
      .replace(`metadata: { name: ${name}, namespace: a }`, `metadata: { name: ${name}, namespace: a, creationTimestamp: "${at}" }`);
    const m = meshFrom(...base, stamped('a-newer', '2022-01-01T00:00:00Z', '{ mode: DISABLE }', 'v2'), stamped('b-older', '2020-01-01T00:00:00Z', '{ mode: ISTIO_MUTUAL }', 'v1'));
    const c = findDestinationRule(m, 'a', {}, host, 'b');
    expect(c?.rule.meta.name).toBe('b-older');
    expect(c?.rule.trafficPolicy?.tls?.mode).toBe('ISTIO_MUTUAL');
    expect(c?.rule.subsets.map((s) => s.name)).toEqual(['v1', 'v2']);
    expect(send(meshFrom(...base, pa('b', 'default', 'STRICT'), stamped('a-newer', '2022-01-01T00:00:00Z', '{ mode: DISABLE }', 'v2'),
      stamped('b-older', '2020-01-01T00:00:00Z', '{ mode: ISTIO_MUTUAL }', 'v1')), { from: 'a/client', to: 'server.b:80' })).toMatchObject({ outcome: 'allowed', mtls: true });
  });

  it('§5.1 a DR with a workloadSelector selecting the client comes first, whatever its age; a rule with another exportTo set is not merged into it (Istio sortConfigBySelectorAndCreationTime, enhanced merge)', () => {
    const stamped = (name: string, at: string, tls: string, extra = ''): string => dr('a', name, host, tls, extra)
      .replace(`metadata: { name: ${name}, namespace: a }`, `metadata: { name: ${name}, namespace: a, creationTimestamp: "${at}" }`);
    const m = meshFrom(...base,
      stamped('base', '2020-01-01T00:00:00Z', '{ mode: DISABLE }', '  subsets: [{ name: v1, labels: { version: v1 } }]\n'),
      stamped('client-only', '2022-01-01T00:00:00Z', '{ mode: ISTIO_MUTUAL }', '  workloadSelector: { matchLabels: { app: client } }\n'));
    const mine = findDestinationRule(m, 'a', { app: 'client' }, host, 'b');
    expect(mine?.rule.meta.name).toBe('client-only');
    expect(mine?.rule.trafficPolicy?.tls?.mode).toBe('ISTIO_MUTUAL');
    // a selector rule is exported to `.`; base to everyone (no exportTo): two consolidated rules, nothing merged
    expect(mine?.merged.map((d) => d.meta.name)).toEqual(['client-only']);
    expect(mine?.rule.subsets).toEqual([]);
    // a client it does not select gets the rule without a selector
    const other = findDestinationRule(m, 'a', { app: 'web' }, host, 'b');
    expect(other?.merged.map((d) => d.meta.name)).toEqual(['base']);
  });

  it('§5.1 a rule without a selector exported to ["."] beside a selector rule is merged into it and nothing else: the workloads the selector does not pick get no rule (istio/istio#58322); exported to the namespace by name it stands alone', () => {
    const m = meshFrom(...base,
      dr('a', 'client-only', host, '{ mode: ISTIO_MUTUAL }', '  workloadSelector: { matchLabels: { app: client } }\n'),
      dr('a', 'base', host, '{ mode: DISABLE }', '  exportTo: ["."]\n  subsets: [{ name: v1, labels: { version: v1 } }]\n'));
    const mine = findDestinationRule(m, 'a', { app: 'client' }, host, 'b');
    expect(mine?.merged.map((d) => d.meta.name)).toEqual(['client-only', 'base']);
    expect(mine?.rule.trafficPolicy?.tls?.mode).toBe('ISTIO_MUTUAL');
    expect(mine?.rule.subsets.map((s) => s.name)).toEqual(['v1']);
    expect(findDestinationRule(m, 'a', { app: 'web' }, host, 'b')).toBeNull();
    const named = meshFrom(...base,
      dr('a', 'client-only', host, '{ mode: ISTIO_MUTUAL }', '  workloadSelector: { matchLabels: { app: client } }\n'),
      dr('a', 'base', host, '{ mode: DISABLE }', '  exportTo: [a]\n'));
    expect(findDestinationRule(named, 'a', { app: 'web' }, host, 'b')?.merged.map((d) => d.meta.name)).toEqual(['base']);
  });

  it('§5.1 rules of one host with different exportTo sets are not merged: each namespace gets the last consolidated rule exported to it (ENABLE_ENHANCED_DESTINATIONRULE_MERGE)', () => {
    const stamped = (name: string, at: string, tls: string, extra = ''): string => dr('b', name, host, tls, extra)
      .replace(`metadata: { name: ${name}, namespace: b }`, `metadata: { name: ${name}, namespace: b, creationTimestamp: "${at}" }`);
    const m = meshFrom(...base,
      stamped('for-a', '2020-01-01T00:00:00Z', '{ mode: DISABLE }', '  exportTo: [a]\n'),
      stamped('for-all', '2021-01-01T00:00:00Z', '{ mode: SIMPLE }'));
    // a sees both consolidated rules (for-a's set names it, for-all's is empty): the last, for-all, alone
    expect(findDestinationRule(m, 'a', {}, host, 'b')?.merged.map((d) => d.meta.name)).toEqual(['for-all']);
    expect(findDestinationRule(m, 'c', {}, host, 'b')?.merged.map((d) => d.meta.name)).toEqual(['for-all']);
    // a wider set is merged into an older narrower one (and, both without selector, not kept apart): c sees nothing of it
    const wider = meshFrom(...base,
      stamped('for-a', '2020-01-01T00:00:00Z', '{ mode: DISABLE }', '  exportTo: [a]\n'),
      stamped('for-a-and-c', '2021-01-01T00:00:00Z', '{ mode: SIMPLE }', '  exportTo: [a, c]\n  subsets: [{ name: v2, labels: { version: v2 } }]\n'));
    const a = findDestinationRule(wider, 'a', {}, host, 'b');
    expect(a?.merged.map((d) => d.meta.name)).toEqual(['for-a', 'for-a-and-c']);
    expect(a?.rule.trafficPolicy?.tls?.mode).toBe('DISABLE');
    expect(a?.rule.subsets.map((s) => s.name)).toEqual(['v2']);
    expect(findDestinationRule(wider, 'c', {}, host, 'b')).toBeNull();
  });

  it('§5.1 a host whose most specific rules in the client\'s namespace all select other workloads gives the client no rule: no fallback to the service namespace', () => {
    const forWeb = dr('a', 'for-web', host, '{ mode: ISTIO_MUTUAL }', '  workloadSelector: { matchLabels: { app: web } }\n');
    const m = meshFrom(...base, pa('b', 'default', 'STRICT'), dr('b', 'svc-plain', host, '{ mode: DISABLE }'), forWeb);
    expect(findDestinationRule(m, 'a', { app: 'client' }, host, 'b')).toBeNull();
    expect(send(m, { from: 'a/client', to: 'server.b:80' })).toMatchObject({ outcome: 'allowed', mtls: true });
    // a client it selects uses it
    expect(findDestinationRule(m, 'a', { app: 'web' }, host, 'b')?.rule.meta.name).toBe('for-web');
  });

  it('§5.1 an empty workloadSelector is a selector matching every workload of its namespace (warned), not no selector', () => {
    const stamped = (name: string, at: string, tls: string, extra = ''): string => dr('a', name, host, tls, extra)
      .replace(`metadata: { name: ${name}, namespace: a }`, `metadata: { name: ${name}, namespace: a, creationTimestamp: "${at}" }`);
    const text = [stamped('old-plain', '2020-01-01T00:00:00Z', '{ mode: DISABLE }'), stamped('empty-sel', '2022-01-01T00:00:00Z', '{ mode: ISTIO_MUTUAL }', '  workloadSelector: {}\n')];
    const m = meshFrom(...base, ...text);
    expect(findDestinationRule(m, 'a', { app: 'client' }, host, 'b')?.rule.meta.name).toBe('empty-sel');
    // it does not reach clients of other namespaces
    expect(findDestinationRule(m, 'c', { app: 'other' }, host, 'b')).toBeNull();
  });

  it('§5.1 a rule in the client\'s namespace exported only elsewhere is not the client\'s (Istio\'s namespace-local index)', () => {
    const m = meshFrom(...base, dr('a', 'only-c', host, '{ mode: DISABLE }', '  exportTo: ["c"]\n'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')).toBeNull();
    expect(findDestinationRule(m, 'c', {}, host, 'b')).toBeNull(); // exported to c, but c looks in c, then b, then the root
  });

  it('§5.1 a client in the root namespace reads the root\'s private rules first, then the service\'s namespace, then the root\'s public ones', () => {
    const m = meshFrom(...base, dr('istio-system', 'root-public', '*.b.svc.cluster.local', '{ mode: DISABLE }'), dr('b', 'svc', host, '{ mode: ISTIO_MUTUAL }'));
    expect(findDestinationRule(m, 'istio-system', {}, host, 'b')).toMatchObject({ rule: { meta: { name: 'svc' } }, step: 'service-namespace' });
    const priv = meshFrom(...base, dr('istio-system', 'root-private', '*.b.svc.cluster.local', '{ mode: DISABLE }', '  exportTo: ["."]\n'), dr('b', 'svc', host, '{ mode: ISTIO_MUTUAL }'));
    expect(findDestinationRule(priv, 'istio-system', {}, host, 'b')).toMatchObject({ rule: { meta: { name: 'root-private' } }, step: 'client-namespace' });
  });

  it('§5.1 in another namespace the most specific exported host is chosen before the client\'s visibility is checked: a host exported elsewhere hides a wider one exported to all (Istio getExportedDestinationRuleFromNamespace)', () => {
    const m = meshFrom(...base,
      dr('b', 'exact-for-c', host, '{ mode: DISABLE }', '  exportTo: ["c"]\n'),
      dr('b', 'wild-for-all', '*.b.svc.cluster.local', '{ mode: SIMPLE }'),
      dr('istio-system', 'root', host, '{ mode: ISTIO_MUTUAL }'));
    expect(findDestinationRule(m, 'a', {}, host, 'b')).toMatchObject({ rule: { meta: { name: 'root' } }, step: 'root-namespace' });
    expect(findDestinationRule(m, 'c', {}, host, 'b')).toMatchObject({ rule: { meta: { name: 'exact-for-c' } }, step: 'service-namespace' });
    // a private rule is not in the exported index at all: it hides nothing from other namespaces
    const priv = meshFrom(...base, dr('b', 'exact-private', host, '{ mode: DISABLE }', '  exportTo: ["."]\n'), dr('b', 'wild-for-all', '*.b.svc.cluster.local', '{ mode: SIMPLE }'));
    expect(findDestinationRule(priv, 'a', {}, host, 'b')).toMatchObject({ rule: { meta: { name: 'wild-for-all' } }, step: 'service-namespace' });
  });

  it('§5.1 a root-namespace client reads first only the root\'s rules private by Istio\'s test (one exportTo entry, `.` or the root\'s name; or a selector): `[".", "c"]` is exported, not private', () => {
    const listed = meshFrom(...base, dr('istio-system', 'r', host, '{ mode: DISABLE }', '  exportTo: [".", "c"]\n'), dr('b', 'svc', host, '{ mode: ISTIO_MUTUAL }'));
    expect(findDestinationRule(listed, 'istio-system', {}, host, 'b')).toMatchObject({ rule: { meta: { name: 'svc' } }, step: 'service-namespace' });
    const named = meshFrom(...base, dr('istio-system', 'r', host, '{ mode: DISABLE }', '  exportTo: [istio-system]\n'), dr('b', 'svc', host, '{ mode: ISTIO_MUTUAL }'));
    expect(findDestinationRule(named, 'istio-system', {}, host, 'b')).toMatchObject({ rule: { meta: { name: 'r' } }, step: 'client-namespace' });
  });

  it('§5.1 exportTo is validated as Istio does: `~`, duplicates, `*` among names, and a selector rule exported beyond its namespace are errors', () => {
    for (const [exportTo, selector] of [['["~"]', ''], ['[".", b]', ''], ['["*", c]', ''], ['[c]', '  workloadSelector: { matchLabels: { app: x } }\n'], ['[".", c]', '  workloadSelector: { matchLabels: { app: x } }\n']] as const) {
      expect(() => meshFrom(...base, dr('b', 'r', host, '{ mode: DISABLE }', `  exportTo: ${exportTo}\n${selector}`)), exportTo).toThrow(/dr-bad-export-to/);
    }
    expect(() => meshFrom(...base, dr('b', 'r', host, '{ mode: DISABLE }', '  exportTo: [b]\n  workloadSelector: { matchLabels: { app: x } }\n'))).not.toThrow();
  });

  it('§5.2 port-level TLS beats the top-level TLS for that service port only', () => {
    const m = meshFrom(...base, dr('a', 'pl', host, '{ mode: ISTIO_MUTUAL }', '    portLevelSettings: [{ port: { number: 80 }, tls: { mode: DISABLE } }]\n'));
    const c = findDestinationRule(m, 'a', {}, host, 'b');
    expect(c && tlsSettingsFor(c.rule, 80)?.tls?.mode).toBe('DISABLE');
    expect(c && tlsSettingsFor(c.rule, 81)?.tls?.mode).toBe('ISTIO_MUTUAL');
  });

  it('§5.2 a port-level entry without tls leaves its port\'s cluster to auto mTLS, but EDS still reads the rule\'s DISABLE per endpoint: plaintext, which STRICT refuses', () => {
    const rule = dr('a', 'pl', host, '{ mode: DISABLE }', '    portLevelSettings: [{ port: { number: 80 }, connectionPool: { tcp: { maxConnections: 100 } } }]\n');
    const m = meshFrom(...base, pa('b', 'default', 'STRICT'), rule);
    const c = findDestinationRule(m, 'a', {}, host, 'b');
    // the cluster: port-level settings replace the policy wholesale (MergeTrafficPolicy), so no TLS block
    expect(c && tlsSettingsFor(c.rule, 80)).toEqual({ tls: null, from: 'port' });
    expect(c && tlsSettingsFor(c.rule, 81)?.tls?.mode).toBe('DISABLE');
    // the endpoint: mtlsChecker reads the rule's own mode (a port-level entry counts only when it sets tls)
    expect(c && endpointTlsMode(c.rule, 80)).toEqual({ mode: 'DISABLE', from: 'the rule\'s own' });
    const d = send(m, { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'blocked', mtls: false, stoppedBy: [{ control: 'PeerAuthentication' }] });
    expect(d.events.map((e) => e.what).join('\n')).toContain('strips endpoint b/server\'s Istio tlsMode');
    // without the rule's DISABLE the same entry leaves it all to auto mTLS
    const auto = meshFrom(...base, pa('b', 'default', 'STRICT'), rule.replace('tls: { mode: DISABLE }', 'loadBalancer: { simple: ROUND_ROBIN }'));
    expect(send(auto, { from: 'a/client', to: 'server.b:80' })).toMatchObject({ outcome: 'allowed', mtls: true });
  });

  it('§5.2 under auto mTLS, a rule\'s ISTIO_MUTUAL read per endpoint sends mTLS to a sidecar whose own PeerAuthentication is DISABLE (EDS does not read it then), which rejects it', () => {
    const disable = pa('b', 'server-off', 'DISABLE', '  selector: { matchLabels: { app: server } }\n');
    const rule = dr('a', 'pl', host, '{ mode: ISTIO_MUTUAL }', '    portLevelSettings: [{ port: { number: 80 }, connectionPool: { tcp: { maxConnections: 100 } } }]\n');
    const m = meshFrom(...base, disable, rule);
    const d = send(m, { from: 'a/client', to: 'server.b:80' });
    // Istio mTLS reaches a port whose sidecar does not terminate it
    expect(d).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'PeerAuthentication', name: 'b/server-off' }] });
    expect(d.events.map((e) => e.what).join('\n')).toContain('keeps endpoint b/server\'s Istio tlsMode whatever its PeerAuthentication says → Istio mTLS');
    // no DestinationRule: auto mTLS reads the workload's DISABLE and sends plaintext
    expect(send(meshFrom(...base, disable), { from: 'a/client', to: 'server.b:80' })).toMatchObject({ outcome: 'allowed', mtls: false });
  });

  it('§5.2 under auto mTLS, EDS reads the mode of the cluster\'s own subset only: not the subsets an endpoint of the cluster of no subset belongs to, and no fallback to the top level for a subset\'s cluster', () => {
    const v1 = app('b', 'server', { labels: { version: 'v1' } });
    const rule = (top: string, v1Policy: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: subsets, namespace: b }
spec:
  host: server
${top}  subsets:
    - { name: v1, labels: { version: v1 }${v1Policy} }
`;
    const others = base.filter((x) => !x.includes('name: server,'));
    // the cluster of no subset reads the top level (none here): subset v1's DISABLE does not strip the endpoint
    const m = meshFrom(...others, v1, pa('b', 'default', 'STRICT'), rule('', ', trafficPolicy: { tls: { mode: DISABLE } }'));
    const c = findDestinationRule(m, 'a', {}, host, 'b');
    expect(c && endpointTlsMode(c.rule, 80)).toBeNull();
    expect(c && endpointTlsMode(c.rule, 80, 'v1')).toEqual({ mode: 'DISABLE', from: 'subset v1' });
    expect(send(m, { from: 'a/client', to: 'server.b:80' })).toMatchObject({ outcome: 'allowed', mtls: true });
    // the subset's cluster reads the subset alone: top ISTIO_MUTUAL, its port 80 left to auto mTLS by a port-level
    // entry, and a subset without policy: the pod's own DISABLE decides (plaintext), where the top level would keep mTLS
    const top = '  trafficPolicy:\n    tls: { mode: ISTIO_MUTUAL }\n    portLevelSettings: [{ port: { number: 80 }, connectionPool: { tcp: { maxConnections: 100 } } }]\n';
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: to-v1, namespace: b }
spec: { hosts: [server], http: [{ route: [{ destination: { host: server, subset: v1 } }] }] }
`;
    const off = pa('b', 'server-off', 'DISABLE', '  selector: { matchLabels: { app: server } }\n');
    expect(send(meshFrom(...others, v1, off, rule(top, ''), vs), { from: 'a/client', to: 'server.b:80' })).toMatchObject({ outcome: 'allowed', mtls: false });
    // without the VirtualService the cluster of no subset reads the top level's ISTIO_MUTUAL: mTLS, which the DISABLE pod rejects
    expect(send(meshFrom(...others, v1, off, rule(top, '')), { from: 'a/client', to: 'server.b:80' })).toMatchObject({ outcome: 'blocked', stoppedBy: [{ control: 'PeerAuthentication' }] });
  });

  it('§5.2 under auto mTLS, any mode but ISTIO_MUTUAL read for the endpoints strips them: SIMPLE at the top level with a port-level entry without tls sends plaintext there', () => {
    const rule = dr('a', 'pl', host, '{ mode: SIMPLE }', '    portLevelSettings: [{ port: { number: 80 }, connectionPool: { tcp: { maxConnections: 100 } } }]\n');
    const d = send(meshFrom(...base, rule), { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: false });
    expect(d.events.map((e) => e.what).join('\n')).toContain('tls.mode SIMPLE for the port, which EDS reads per endpoint) strips endpoint b/server');
  });

  it('§5.2 with a subset: subset port-level entry, else subset tls, else top-level port-level entry, else top-level tls (Istio MergeSubsetTrafficPolicy)', () => {
    const subsets = (subsetPolicy: string): string => `  subsets:\n  - name: v1\n    labels: { version: v1 }\n${subsetPolicy}`;
    const topPort = '    portLevelSettings: [{ port: { number: 80 }, tls: { mode: SIMPLE } }]\n';
    // the subset's tls beats the top level's port-level entry
    let m = meshFrom(...base, dr('a', 'd', host, '{ mode: DISABLE }', topPort + subsets('    trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }\n')));
    let c = findDestinationRule(m, 'a', {}, host, 'b');
    expect(c && tlsSettingsFor(c.rule, 80, 'v1')).toEqual({ tls: { mode: 'ISTIO_MUTUAL' }, from: 'subset' });
    // without a subset route, the top level's port-level entry
    expect(c && tlsSettingsFor(c.rule, 80)).toEqual({ tls: { mode: 'SIMPLE' }, from: 'port' });
    // the subset's own port-level entry beats its tls; one without tls means no TLS block
    m = meshFrom(...base, dr('a', 'd', host, '{ mode: DISABLE }', topPort
      + subsets('    trafficPolicy:\n      tls: { mode: ISTIO_MUTUAL }\n      portLevelSettings: [{ port: { number: 80 } }]\n')));
    c = findDestinationRule(m, 'a', {}, host, 'b');
    expect(c && tlsSettingsFor(c.rule, 80, 'v1')).toEqual({ tls: null, from: 'port' });
    expect(c && tlsSettingsFor(c.rule, 81, 'v1')).toEqual({ tls: { mode: 'ISTIO_MUTUAL' }, from: 'subset' });
    // a subset policy without tls keeps the top level's: port-level entry first
    m = meshFrom(...base, dr('a', 'd', host, '{ mode: DISABLE }', topPort + subsets('    trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }\n')));
    c = findDestinationRule(m, 'a', {}, host, 'b');
    expect(c && tlsSettingsFor(c.rule, 80, 'v1')).toEqual({ tls: { mode: 'SIMPLE' }, from: 'port' });
    expect(c && tlsSettingsFor(c.rule, 81, 'v1')).toEqual({ tls: { mode: 'DISABLE' }, from: 'top' });
  });

  it('§5.1 a DR that sets no TLS (only load balancing) leaves auto mTLS on', () => {
    const lbOnly = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: lb, namespace: a }
spec:
  host: ${host}
  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }`;
    const d = send(meshFrom(...base, lbOnly), { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: true });
  });

  it('§5.2 auto mTLS disabled in mesh config and no DR → plaintext', () => {
    const cm = `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    enableAutoMtls: false
`;
    const d = send(meshFrom(...base, cm), { from: 'a/client', to: 'server.b:80' });
    expect(d).toMatchObject({ outcome: 'allowed', mtls: false });
  });
});
