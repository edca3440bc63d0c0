import { describe, expect, it } from 'vitest';
import { explore, identityRule, ReachabilityExplorer, replaceToken, sourceIdentity, type ExploreRequest, type ExplorerOptions, type HeldCertificate } from '../../src/analysis/reachability.js';
import type { Mesh, Workload } from '../../src/model/types.js';
import { wl } from '../helpers.js';
import { bruteForce, denyFromIp, shipped, TWINS } from './reach-fixtures.js';

function same(mesh: Mesh, req: ExploreRequest, opts: ExplorerOptions = {}): ReturnType<typeof explore> {
  const got = explore(mesh, req, opts);
  const { decisions: _d, memoHits: _m, ...graph } = got;
  const brute = bruteForce(mesh, req, { ...(opts.ports ? { ports: opts.ports } : {}), ...(opts.paths ? { paths: opts.paths } : {}), ...(opts.decide ? { decide: opts.decide } : {}) });
  expect(graph).toEqual(brute);
  return got;
}

const twins = (): Mesh => shipped([], TWINS);

describe('the explorer agrees with a brute force over single decide() calls', () => {
  it('an open bookinfo mesh: a compromised productpage reaches every service in one hop, its graph equal to single requests', () => {
    const r = same(shipped(['bookinfo']), { from: ['bookinfo/productpage-v1'], exploit: 'all', depth: 3 });
    expect(r.reached).toContain('bookinfo/ratings-v1');
  });

  it('bookinfo with the namespace-wide allow-nothing policy: every attempt is refused by AuthorizationPolicy, as single requests are', () => {
    const r = same(shipped(['bookinfo', 'policies/bookinfo-deny-all']), { from: ['bookinfo/ratings-v1'], exploit: 'all', depth: 3 });
    expect(r.edges.filter((e) => e.to.startsWith('bookinfo/')).every((e) => e.outcome === 'blocked')).toBe(true);
  });

  it('three namespaces with STRICT backend: plaintext from the sidecar-less batch and pod-IP dials are stopped as single requests are', () => {
    const mesh = shipped(['three-ns', 'policies/backend-strict', 'policies/backend-db-allow-api']);
    same(mesh, { from: ['legacy/batch'], exploit: 'all', depth: 3 });
    same(mesh, { from: ['frontend/web'], exploit: 'all', depth: 3 });
  });

  it('the payments mesh (gateways, NetworkPolicy, egress, JWT): from outside and from inside, every edge equals its single request', () => {
    const mesh = shipped(['payments']);
    same(mesh, { from: ['outside'], exploit: 'all', depth: 4 });
    same(mesh, { from: ['shop/web'], exploit: 'all', depth: 4 });
  });

  it('ports and paths narrow the attempts exactly as single requests on those ports and paths', () => {
    same(shipped(['payments']), { from: ['shop/web'], exploit: 'all', depth: 2 }, { ports: [8080], paths: ['/', '/admin/users'] });
  });

  it('twins that share a source identity reuse each other\'s decisions, and the reused reasons name the right workload', () => {
    const r = same(twins(), { from: ['shop/front'], exploit: 'all', depth: 3 });
    expect(r.memoHits).toBeGreaterThan(0);
    const dbFromV2 = r.edges.find((e) => e.from === 'shop/worker-v2' && e.to === 'data/db' && e.dial.startsWith('db.'));
    expect(dbFromV2?.stoppedBy[0]?.control).toBe('NetworkPolicy');
    expect(dbFromV2?.stoppedBy[0]?.reason).toContain('shop/worker-v2');
    expect(dbFromV2?.stoppedBy[0]?.reason).not.toContain('shop/worker-v1');
  });

  it('a rule on source addresses splits twins by pod IP, and the graph still equals single requests', () => {
    const ip = wl(twins(), 'shop/worker-v1').ip;
    const r = same(shipped([], TWINS, denyFromIp(ip)), { from: ['shop/worker-v1', 'shop/worker-v2'], exploit: 'all', depth: 3 });
    const toFront = (from: string) => r.edges.find((e) => e.from === from && e.to === 'shop/front' && e.dial.startsWith('front.'))?.outcome;
    expect([toFront('shop/worker-v1'), toFront('shop/worker-v2')]).toEqual(['blocked', 'allowed']);
  });

  it('a certificate expired at the explored instant fails the mTLS handshakes it takes part in, as it fails single requests', () => {
    const certProblem = (id: string): string | null => (id === 'shop/worker-v2' ? 'a certificate that expired at t=0' : null);
    const r = same(twins(), { from: ['shop/front'], exploit: 'all', depth: 3 }, { decide: { certProblem } });
    const viaService = r.edges.find((e) => e.from === 'shop/front' && e.to === 'shop/worker-v2' && e.dial.startsWith('worker.'));
    expect(viaService?.stoppedBy[0]?.control).toBe('CertificateValidity');
  });

  it('with no memo budget for refused attempts, a reuse decides again and the graph is unchanged', () => {
    const r = same(twins(), { from: ['shop/front'], exploit: 'all', depth: 3 }, { memoStops: 0 });
    expect(r.memoHits).toBeGreaterThan(0);
  });

  it('maxEdges lists the first edges in exploration order and counts the others by outcome', () => {
    const req: ExploreRequest = { from: ['shop/front'], exploit: 'all', depth: 3 };
    const full = bruteForce(twins(), req);
    const r = explore(twins(), req, { maxEdges: 5 });
    expect(r.edges).toEqual(full.edges.slice(0, 5));
    const rest = full.edges.slice(5);
    expect(r.unlisted).toEqual({ allowed: rest.filter((e) => e.outcome === 'allowed').length, blocked: rest.filter((e) => e.outcome === 'blocked').length });
    expect(r.reached).toEqual(full.reached);
  });

  it('an exploit list takes over only the listed workloads, as the brute force does', () => {
    same(twins(), { from: ['shop/front'], exploit: ['shop/worker-v3'], depth: 3 });
  });
});

describe('stolen certificates: the attacker\'s own process presents them where no sidecar captures it', () => {
  const strict = (): Mesh => shipped(['three-ns', 'policies/backend-strict', 'policies/backend-db-allow-api']);
  const apiCert: HeldCertificate = { spiffe: 'spiffe://cluster.local/ns/backend/sa/api', from: 'backend/api', problem: null };

  it('from a sidecar-less pod, api\'s certificate passes STRICT and db\'s ALLOW by principal: edges marked as api, equal to single requests', () => {
    const own = same(strict(), { from: ['legacy/batch'], exploit: [], depth: 1 });
    expect(own.reached).not.toContain('backend/db');
    const r = same(strict(), { from: ['legacy/batch'], exploit: [], depth: 1, certificates: [apiCert] });
    expect(r.reached).toContain('backend/db');
    const toDb = r.edges.filter((e) => e.to === 'backend/db' && e.outcome === 'allowed');
    expect(toDb.length).toBeGreaterThan(0);
    expect(toDb.every((e) => e.as === apiCert.spiffe)).toBe(true);
  });

  it('a certificate is tried only on what the source\'s own identity did not get through', () => {
    const r = same(strict(), { from: ['legacy/batch'], exploit: [], depth: 1, certificates: [apiCert] });
    const own = new Set(r.edges.filter((e) => e.as === undefined && e.outcome === 'allowed').map((e) => `${e.dial} ${e.path ?? ''}`));
    expect(own.size).toBeGreaterThan(0);
    expect(r.edges.filter((e) => e.as !== undefined).some((e) => own.has(`${e.dial} ${e.path ?? ''}`))).toBe(false);
  });

  it('a source whose sidecar captures the connection lists no certificate attempts: the sidecar re-originates with its own identity', () => {
    const r = same(strict(), { from: ['frontend/web'], exploit: [], depth: 1, certificates: [apiCert] });
    expect(r.edges.some((e) => e.as !== undefined)).toBe(false);
  });

  it('with root in a sidecar pod the attacker\'s own client gets around the sidecar and presents the certificate, as single requests do', () => {
    const r = same(strict(), { from: ['frontend/web'], exploit: [], depth: 1, certificates: [apiCert], capabilities: ['root'] });
    expect(r.edges.some((e) => e.as === apiCert.spiffe && e.to === 'backend/db' && e.outcome === 'allowed')).toBe(true);
  });

  it('a certificate that is not valid now fails every handshake it takes part in (CertificateValidity)', () => {
    const r = same(strict(), { from: ['legacy/batch'], exploit: [], depth: 1, certificates: [{ ...apiCert, problem: 'expired at 1h' }] });
    const asApi = r.edges.filter((e) => e.as !== undefined);
    expect(asApi.length).toBeGreaterThan(0);
    expect(asApi.every((e) => e.outcome === 'blocked' && e.stoppedBy[0]?.control === 'CertificateValidity')).toBe(true);
  });

  it('over several hops, with takeovers and two certificates (one given twice), the graph equals single requests', () => {
    const webCert: HeldCertificate = { spiffe: 'spiffe://cluster.local/ns/frontend/sa/web', from: 'frontend/web', problem: null };
    same(strict(), { from: ['legacy/batch'], exploit: 'all', depth: 3, certificates: [webCert, apiCert, { ...apiCert, from: 'elsewhere' }] });
    same(twins(), { from: ['legacy/cron'], exploit: 'all', depth: 3, certificates: [{ spiffe: 'spiffe://cluster.local/ns/shop/sa/worker', from: 'shop/worker-v1', problem: null }] });
  });

  it('with root, the attacker\'s own process also goes around its sidecar in plaintext: a DestinationRule that makes the sidecar fail is no wall (edges bypass)', () => {
    const mesh = shipped(['three-ns', 'policies/legacy-dr-batch-istio-mutual']);
    const own = same(mesh, { from: ['frontend/web'], exploit: [], depth: 1 });
    expect(own.edges.find((e) => e.to === 'legacy/batch' && e.dial.startsWith('batch.'))?.stoppedBy[0]?.control).toBe('DestinationRule');
    expect(own.edges.some((e) => e.bypass === true)).toBe(false);
    const r = same(mesh, { from: ['frontend/web'], exploit: [], depth: 1, capabilities: ['root'] });
    const around = r.edges.filter((e) => e.bypass === true && e.to === 'legacy/batch');
    expect(around.map((e) => e.dial)).toEqual(['batch.legacy.svc.cluster.local:80']);
    expect(around.every((e) => e.outcome === 'allowed' && e.as === undefined)).toBe(true);
  });

  it('a sidecar-less source gets no plaintext bypass attempts: its own attempts already leave as they are', () => {
    const r = same(strict(), { from: ['legacy/batch'], exploit: [], depth: 1, capabilities: ['net-admin'] });
    expect(r.edges.some((e) => e.bypass === true)).toBe(false);
  });

  it('a gateway pod has no capture: the attacker\'s own process there goes out in plaintext without any capability (edges bypass), as single requests do', () => {
    const r = same(shipped(['payments']), { from: ['istio-system/istio-egressgateway'], exploit: [], depth: 1, gatewayProcess: true });
    expect(r.edges.some((e) => e.bypass === true && e.outcome === 'allowed')).toBe(true);
    // not asked (blast radius): the gateway's own connections only
    const plain = same(shipped(['payments']), { from: ['istio-system/istio-egressgateway'], exploit: [], depth: 1 });
    expect(plain.edges.some((e) => e.bypass === true)).toBe(false);
  });

  it('a refusal of a certificate that names where it was stolen from keeps that name when another source reuses the decision', () => {
    const cert: HeldCertificate = { spiffe: 'spiffe://cluster.local/ns/shop/sa/worker', from: 'shop/worker-v1', problem: 'expired at 1h' };
    const mesh = shipped(['three-ns', 'policies/backend-strict', 'policies/backend-db-allow-api'], TWINS);
    const r = same(mesh, { from: ['shop/worker-v1', 'shop/worker-v2'], exploit: [], depth: 1, certificates: [cert], capabilities: ['root'] });
    const fromV2 = r.edges.filter((e) => e.from === 'shop/worker-v2' && e.as !== undefined && e.stoppedBy[0]?.control === 'CertificateValidity');
    expect(fromV2.length).toBeGreaterThan(0);
    expect(fromV2.every((e) => e.stoppedBy[0]?.reason.includes('shop/worker-v1'))).toBe(true);
  });

  it('the certificates\' order does not change the result', () => {
    const webCert: HeldCertificate = { spiffe: 'spiffe://cluster.local/ns/frontend/sa/web', from: 'frontend/web', problem: null };
    const a = explore(strict(), { from: ['legacy/batch'], exploit: 'all', depth: 2, certificates: [webCert, apiCert] });
    const b = explore(strict(), { from: ['legacy/batch'], exploit: 'all', depth: 2, certificates: [apiCert, webCert] });
    expect(b).toEqual(a);
  });
});

describe('hops, depth and exploit', () => {
  const mesh = shipped(['payments']);
  it('a deeper pivot never reaches less', () => {
    let before: string[] = [];
    for (let depth = 1; depth <= 4; depth++) {
      const r = explore(mesh, { from: ['outside'], exploit: 'all', depth });
      expect(r.reached).toEqual(expect.arrayContaining(before));
      expect(r.hops).toBeLessThanOrEqual(depth);
      before = r.reached;
    }
  });

  it('depth 1 only tries from the footholds', () => {
    const r = explore(mesh, { from: ['shop/web'], exploit: 'all', depth: 1 });
    expect(new Set(r.edges.map((e) => e.from))).toEqual(new Set(['shop/web']));
    expect(r.edges.every((e) => e.hop === 1)).toBe(true);
  });

  it('an exploit list takes over no more than the list and reaches no more than exploit all', () => {
    const all = explore(twins(), { from: ['shop/front'], exploit: 'all', depth: 3 });
    const list = explore(twins(), { from: ['shop/front'], exploit: ['shop/worker-v1'], depth: 3 });
    expect(list.compromised.every((id) => id === 'shop/front' || id === 'shop/worker-v1')).toBe(true);
    expect(all.reached).toEqual(expect.arrayContaining(list.reached));
  });

  it('without any takeover the pivot stops after one hop: hops is 1 and the footholds are all it controls', () => {
    const r = explore(twins(), { from: ['shop/front'], exploit: [], depth: 3 });
    expect(r.compromised).toEqual(['shop/front']);
    expect(r.hops).toBe(1);
  });

  it('a second exploration with the same explorer answers from the memo without deciding again', () => {
    const ex = new ReachabilityExplorer(twins());
    const first = ex.explore({ from: ['shop/front'], exploit: 'all', depth: 3 });
    const again = ex.explore({ from: ['shop/front'], exploit: 'all', depth: 3 });
    expect(again.decisions).toBe(0);
    expect({ ...again, decisions: 0, memoHits: 0 }).toEqual({ ...first, decisions: 0, memoHits: 0 });
  });
});

describe('the source identity holds everything decide() reads about a source (the memo rule)', () => {
  const mesh = twins();
  const rule = identityRule(mesh);
  const id = (w: Workload, cert?: (x: string) => string | null): string => sourceIdentity(rule, w, cert);
  const v1 = wl(mesh, 'shop/worker-v1');

  it('labels no selector reads do not split an identity: worker-v1 and worker-v2 share one', () => {
    expect(id(v1)).toBe(id(wl(mesh, 'shop/worker-v2')));
  });

  it('a label a NetworkPolicy podSelector reads splits it: worker-v3 (role: ops) has its own', () => {
    expect(id(wl(mesh, 'shop/worker-v3'))).not.toBe(id(v1));
  });

  it('namespace, service account, sidecar, gateway and host network each change the identity', () => {
    for (const changed of [{ namespace: 'other' }, { serviceAccount: 'other' }, { sidecar: false }, { gateway: true }, { hostNetwork: true }]) {
      expect(id({ ...v1, ...changed })).not.toBe(id(v1));
    }
  });

  it('the pod IP is left out until some control can see a source address, then it counts', () => {
    expect(id({ ...v1, ip: '10.9.9.9' })).toBe(id(v1));
    const withIpRule = shipped([], TWINS, denyFromIp(v1.ip));
    const r2 = identityRule(withIpRule);
    expect(sourceIdentity(r2, { ...v1, ip: '10.9.9.9' })).not.toBe(sourceIdentity(r2, v1));
  });

  it('sidecar capture annotations and the certificate state count', () => {
    expect(id({ ...v1, annotations: { ...v1.annotations, 'traffic.sidecar.istio.io/excludeOutboundPorts': '5432' } })).not.toBe(id(v1));
    expect(id({ ...v1, annotations: { ...v1.annotations, 'example.com/owner': 'team-a' } })).toBe(id(v1));
    expect(id(v1, () => 'an expired certificate')).not.toBe(id(v1, () => null));
  });

  it('a selector label read by a Sidecar, DestinationRule or VirtualService sourceLabels becomes part of the identity', () => {
    const withVs = shipped([], TWINS, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: front, namespace: shop }
spec:
  hosts: [front]
  http:
    - match: [{ sourceLabels: { version: v1 } }]
      route: [{ destination: { host: front } }]
`);
    const r = identityRule(withVs);
    expect(r.labelKeys.has('version')).toBe(true);
    expect(sourceIdentity(r, wl(withVs, 'shop/worker-v1'))).not.toBe(sourceIdentity(r, wl(withVs, 'shop/worker-v2')));
  });
});

describe('replaceToken', () => {
  it('replaces a whole id and leaves an id that merely contains it alone', () => {
    expect(replaceToken('from shop/a to shop/ab (shop/a)', 'shop/a', 'shop/x')).toBe('from shop/x to shop/ab (shop/x)');
    expect(replaceToken('10.0.0.5 and 10.0.0.50', '10.0.0.5', '10.0.0.6')).toBe('10.0.0.6 and 10.0.0.50');
  });
});
