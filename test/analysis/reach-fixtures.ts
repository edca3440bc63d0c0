/**
 * Meshes and a brute-force explorer for the reachability tests. The brute
 * force is the explorer's definition written as plainly as possible: the same
 * hops, one decide() call per (source, workload, dial, path), no memo, no
 * index, attempts enumerated by scanning the model.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh, Service, Workload } from '../../src/model/types.js';
import { selectorMatches } from '../../src/model/types.js';
import { clientProxied, declaredProtocol, decide, DEFAULT_OUTSIDE_IP, targetPortOf, type DecideOptions, type MeshRequest } from '../../src/policy/decide.js';
import type { ExploreRequest, HeldCertificate, Reachability, ReachEdge, ReachNode } from '../../src/analysis/reachability.js';

/** The YAML files of a folder (recursively), or the file itself, as a scenario's `manifests` entry reads it. */
function yamlFiles(dir: string): string[] {
  if (!statSync(dir).isDirectory()) return [dir];
  return readdirSync(dir).sort().flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

/** A mesh from folders (or files) under scenarios/meshes, plus inline documents. */
export function shipped(dirs: string[], ...inline: string[]): Mesh {
  const files = dirs.flatMap((d) => yamlFiles(path.join('scenarios', 'meshes', d))).map((p) => ({ path: p, text: readFileSync(p, 'utf8') }));
  inline.forEach((text, i) => files.push({ path: `inline-${i}.yaml`, text }));
  const { mesh, issues } = loadMesh(files);
  if (issues.hasErrors()) throw new Error(issues.errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
  return mesh;
}

interface BruteAttempt { target: Workload; service: Service | null; dialPort: number; port: number; protocol: 'http' | 'tcp'; path: string | null; dial: string }

function bruteAttempts(mesh: Mesh, ports: readonly number[] | undefined, paths: readonly string[]): BruteAttempt[] {
  const out: BruteAttempt[] = [];
  const want = (a: number, b: number): boolean => ports === undefined || ports.includes(a) || ports.includes(b);
  for (const w of mesh.workloads) {
    const selecting = mesh.services.filter((s) => s.namespace === w.namespace && s.selector !== null
      && Object.keys(s.selector).length > 0 && selectorMatches(s.selector, w.labels));
    for (const s of selecting) {
      for (const sp of s.ports) {
        if (sp.protocol.toUpperCase() !== 'TCP') continue;
        const port = s.headless ? sp.port : targetPortOf(sp, w) ?? sp.port;
        if (!want(sp.port, port)) continue;
        const protocol = declaredProtocol(sp) === 'tcp' ? 'tcp' : 'http';
        for (const p of protocol === 'http' ? paths : [null]) out.push({ target: w, service: s, dialPort: sp.port, port, protocol, path: p, dial: `${s.fqdn}:${sp.port}` });
      }
    }
    const done: number[] = [];
    for (const cp of w.ports) {
      if ((cp.protocol || 'TCP').toUpperCase() !== 'TCP' || done.includes(cp.containerPort)) continue;
      done.push(cp.containerPort);
      if (!want(cp.containerPort, cp.containerPort)) continue;
      const sp = selecting.flatMap((s) => s.ports).find((p) => targetPortOf(p, w) === cp.containerPort);
      const declared = (sp && declaredProtocol(sp)) ?? (cp.name ? declaredProtocol({ port: cp.containerPort, targetPort: cp.containerPort, protocol: 'TCP', name: cp.name }, false) : null);
      const protocol = declared === 'tcp' ? 'tcp' : 'http';
      for (const p of protocol === 'http' ? paths : [null]) out.push({ target: w, service: null, dialPort: cp.containerPort, port: cp.containerPort, protocol, path: p, dial: `workload/${w.id}:${cp.containerPort}` });
    }
  }
  return out;
}

export interface BruteOptions {
  ports?: readonly number[];
  paths?: readonly string[];
  decide?: Omit<DecideOptions, 'pickEndpoint'>;
}

export function bruteForce(mesh: Mesh, req: ExploreRequest, o: BruteOptions = {}): Omit<Reachability, 'decisions' | 'memoHits'> {
  const attempts = bruteAttempts(mesh, o.ports, o.paths && o.paths.length > 0 ? o.paths : ['/']);
  const canTake = (id: string): boolean => req.exploit === 'all' ? true : typeof req.exploit === 'function' ? req.exploit(id) : req.exploit.includes(id);
  const nodes: ReachNode[] = [];
  const node = (id: string): ReachNode | undefined => nodes.find((n) => n.id === id);
  const owned: string[] = [];
  const reached: string[] = [];
  const edges: ReachEdge[] = [];
  const starts = [...new Set(req.from)].sort();
  const certs: HeldCertificate[] = [];
  for (const c of req.certificates ?? []) if (!certs.some((x) => x.spiffe === c.spiffe)) certs.push(c);
  certs.sort((a, b) => (a.spiffe < b.spiffe ? -1 : a.spiffe > b.spiffe ? 1 : 0));
  const caps = [...new Set(req.capabilities ?? [])].sort();
  for (const f of starts) { nodes.push({ id: f, hop: 0, compromised: true }); owned.push(f); }
  let frontier = starts;
  let hops = 0;
  for (let hop = 1; hop <= req.depth && frontier.length > 0; hop++) {
    const before = [...owned];
    const fresh: string[] = [];
    for (const src of frontier) {
      const from: MeshRequest['from'] = src === 'outside' ? { kind: 'outside', ip: DEFAULT_OUTSIDE_IP } : { kind: 'workload', workload: mesh.workloads.find((w) => w.id === src) as Workload };
      // Its own connection first, then the attacker's own process — plaintext around the proxy (with capabilities, or
      // from a gateway pod), then each stolen certificate — on what its own connection did not get to the workload dialled.
      const ownAllowed = new Set<number>();
      type Who = 'own' | 'plain' | HeldCertificate;
      const tries: { a: (typeof attempts)[number]; i: number; who: Who }[] = attempts.map((a, i) => ({ a, i, who: 'own' }));
      const w = from.kind === 'workload' ? from.workload : null;
      const plainToo = w !== null && (w.sidecar || w.gateway) && (caps.length > 0 || (w.gateway && req.gatewayProcess === true));
      const whos: Who[] = [...(plainToo ? ['plain' as const] : []), ...certs];
      for (const who of whos) for (let i = 0; i < attempts.length; i++) tries.push({ a: attempts[i] as (typeof attempts)[number], i, who });
      for (const { a, i, who } of tries) {
        const cert = typeof who === 'object' ? who : null;
        if (a.target.id === src || before.includes(a.target.id)) continue;
        if (who !== 'own' && ownAllowed.has(i)) continue;
        const request: MeshRequest = {
          from, to: a.service ? { kind: 'host', host: a.service.fqdn, port: a.dialPort } : { kind: 'workload', workload: a.target, port: a.dialPort },
          protocol: a.protocol, method: 'GET', path: a.path ?? '/', headers: {}, tls: 'auto',
        };
        if (who !== 'own') {
          request.identity = cert !== null ? { kind: 'stolen-cert', spiffe: cert.spiffe, from: cert.from, problem: cert.problem } : { kind: 'none' };
          if (caps.length > 0) request.capabilities = caps;
        }
        const d = decide(mesh, request, { pick: () => 0, ...(o.decide ?? {}), pickEndpoint: (eps) => (eps.includes(a.target) ? a.target : eps[0] as Workload) });
        if (who !== 'own') {
          // Dropped where the source's proxy takes the attacker's connection (it re-sends it as the source's own, tried
          // already), and plaintext where the source's own connection left unproxied anyway. clientProxied answers
          // without deciding; decide()'s own trace, where it gets that far, must say the same.
          const { identity: _i, capabilities: _c, ...plainReq } = request;
          const proxied = clientProxied(mesh, request);
          const ownProxied = clientProxied(mesh, plainReq);
          const said = d.events.map((x) => x.what).join('\n');
          if ((said.includes("captures the attacker's own connection") && !proxied) || (said.includes('plaintext, no identity') && proxied)
            || (said.includes('is excluded from capture') && ownProxied)) {
            throw new Error(`clientProxied disagrees with decide() on ${src} → ${a.dial}: ${said}`);
          }
          if (proxied || (who === 'plain' && !ownProxied)) continue;
        }
        if (who === 'own' && d.outcome === 'allowed' && d.destination?.workload === a.target.id) ownAllowed.add(i);
        const e: ReachEdge = { from: src, to: a.target.id, port: a.port, protocol: a.protocol, path: a.path, outcome: d.outcome, stoppedBy: d.outcome === 'allowed' ? [] : d.stoppedBy, hop, dial: a.dial };
        if (cert !== null) e.as = cert.spiffe;
        if (who === 'plain') e.bypass = true;
        const at = d.outcome === 'allowed' ? d.destination?.workload ?? null : undefined;
        if (d.outcome === 'allowed' && at !== a.target.id) e.deliveredTo = at ?? null;
        edges.push(e);
        if (!node(a.target.id)) nodes.push({ id: a.target.id, hop: null, compromised: false });
        if (at === undefined || at === null) continue;
        if (!reached.includes(at)) reached.push(at);
        const n = node(at) as ReachNode;
        if (n.hop !== null) continue;
        n.hop = hop;
        fresh.push(at);
        hops = hop;
      }
    }
    const next: string[] = [];
    for (const id of fresh.sort()) {
      if (owned.includes(id) || !canTake(id)) continue;
      (node(id) as ReachNode).compromised = true;
      owned.push(id);
      next.push(id);
    }
    frontier = next;
  }
  nodes.sort((a, b) => (a.hop ?? Infinity) - (b.hop ?? Infinity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { nodes, edges, reached: reached.sort(), compromised: owned.sort(), hops, unlisted: { allowed: 0, blocked: 0 } };
}

/**
 * Workloads that share identities: reviews-like twins worker-v1 and -v2 (same
 * service account, labels that differ only in `version`, which no selector
 * reads), worker-v3 whose `role: ops` label NetworkPolicies read (it alone may
 * open the DB, and may only send inside shop), and a sidecar-less cron.
 */
export const TWINS = `apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { istio-injection: enabled } }
---
apiVersion: v1
kind: Namespace
metadata: { name: data, labels: { istio-injection: enabled } }
---
apiVersion: v1
kind: Namespace
metadata: { name: legacy }
${['v1', 'v2', 'v3'].map((v) => `---
apiVersion: apps/v1
kind: Deployment
metadata: { name: worker-${v}, namespace: shop }
spec:
  selector: { matchLabels: { app: worker, version: ${v} } }
  template:
    metadata: { labels: { app: worker, version: ${v}${v === 'v3' ? ', role: ops' : ''} } }
    spec:
      serviceAccountName: worker
      containers: [{ name: main, image: example/worker, ports: [{ containerPort: 8080, name: http }] }]`).join('\n')}
---
apiVersion: v1
kind: Service
metadata: { name: worker, namespace: shop }
spec:
  selector: { app: worker }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: front, namespace: shop }
spec:
  selector: { matchLabels: { app: front } }
  template:
    metadata: { labels: { app: front } }
    spec:
      serviceAccountName: front
      containers: [{ name: main, image: example/front, ports: [{ containerPort: 8080 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: front, namespace: shop }
spec:
  selector: { app: front }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: db, namespace: data }
spec:
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec:
      serviceAccountName: db
      containers: [{ name: main, image: example/db, ports: [{ containerPort: 5432, name: tcp-pg }] }]
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: data }
spec:
  selector: { app: db }
  ports: [{ name: tcp-postgres, port: 5432, targetPort: 5432 }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: cron, namespace: legacy }
spec:
  selector: { matchLabels: { app: cron } }
  template:
    metadata: { labels: { app: cron } }
    spec:
      serviceAccountName: cron
      containers: [{ name: main, image: example/cron, ports: [{ containerPort: 8080 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: cron, namespace: legacy }
spec:
  selector: { app: cron }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: db-from-ops, namespace: data }
spec:
  podSelector: { matchLabels: { app: db } }
  policyTypes: [Ingress]
  ingress:
    - from:
        - namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: shop } }
          podSelector: { matchLabels: { role: ops } }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ops-egress, namespace: shop }
spec:
  podSelector: { matchLabels: { role: ops } }
  policyTypes: [Egress]
  egress:
    - to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: shop } } }]
`;

/** An AuthorizationPolicy that reads source addresses (so the pod IP becomes part of the source identity): DENY from one address. */
export function denyFromIp(ip: string): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: front-by-ip, namespace: shop }
spec:
  selector: { matchLabels: { app: front } }
  action: DENY
  rules: [{ from: [{ source: { ipBlocks: ["${ip}/32"] } }] }]
`;
}
