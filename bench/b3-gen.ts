/**
 * B3's seeded mesh generator (docs/benchmarks.md), written once and read two
 * ways: as Kubernetes + Istio YAML that meshrange loads through its own loader,
 * and as a plain model the bitset baseline evaluates directly.
 *
 * Shape: N workloads `w<i>` in max(1, N/20) injected namespaces `ns<k>`
 * (i mod namespaces), each with its own ServiceAccount, one container port
 * and a Service in front of it: 9 in 10 speak HTTP (Service 80 → 8080,
 * port name `http`), 1 in 10 opaque TCP (Service 5432 → 5432, `tcp-db`).
 * Every workload has one ALLOW policy with 1–3 rules, each from one source:
 * another workload's principal (4 in 5) or a namespace (1 in 5), half of
 * them from the workload's own namespace (services call their neighbours),
 * the rest from anywhere; on HTTP workloads a rule may also require
 * `methods: [GET]`.
 * One workload in 10 also has a DENY policy for one random source namespace.
 *
 * Profiles:
 *  - open: no PeerAuthentication (PERMISSIVE), no NetworkPolicy;
 *  - strict: a mesh-wide STRICT PeerAuthentication;
 *  - segmented: strict, plus one NetworkPolicy per namespace admitting
 *    ingress only from its own namespace and from the next one (k+1 mod M).
 *
 * The plain model answers "may s reach d through its Service?" with the
 * same rules written out by hand (istio-semantics §6.2, §6.5, §11): a
 * direct pod-IP dial from a sidecar goes through the PassthroughCluster in
 * plaintext, so every principal/namespace rule misses and it never counts.
 */
import seedrandom from 'seedrandom';
import { stringify } from 'yaml';

export type Profile = 'open' | 'strict' | 'segmented';

export interface GenRule {
  kind: 'principal' | 'namespace';
  /** a workload index (principal) or a namespace index */
  source: number;
  /** the rule also lists `methods: [GET]` (dropped on a TCP port: it can never allow TCP, §6.8) */
  getOnly: boolean;
}

export interface PlainMesh {
  n: number;
  namespaces: number;
  profile: Profile;
  /** namespace index of each workload */
  ns: Int32Array;
  tcp: Uint8Array;
  allow: GenRule[][];
  /** namespace index a DENY policy refuses, or -1 */
  denyNs: Int32Array;
}

export interface Generated {
  plain: PlainMesh;
  /** one multi-document YAML text */
  yaml: string;
}

export function nsOf(i: number, namespaces: number): number {
  return i % namespaces;
}

export function generateB3(n: number, profile: Profile, seed: number): Generated {
  const rng = seedrandom(`b3/${n}/${seed}`);
  const int = (k: number): number => Math.floor(rng() * k);
  const M = Math.max(1, Math.floor(n / 20));
  const plain: PlainMesh = { n, namespaces: M, profile, ns: new Int32Array(n), tcp: new Uint8Array(n), allow: [], denyNs: new Int32Array(n).fill(-1) };
  const docs: unknown[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'trustDomain: cluster.local\nrootNamespace: istio-system\n' } },
  ];
  for (let k = 0; k < M; k++) docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns${k}`, labels: { 'istio-injection': 'enabled' } } });
  for (let i = 0; i < n; i++) {
    const k = nsOf(i, M);
    plain.ns[i] = k;
    const tcp = i % 10 === 9;
    plain.tcp[i] = tcp ? 1 : 0;
    const ns = `ns${k}`;
    const name = `w${i}`;
    const port = tcp ? 5432 : 8080;
    docs.push({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns },
      spec: {
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { serviceAccountName: name, containers: [{ name: 'app', image: 'example/app:1', ports: [{ containerPort: port }] }] } },
      },
    });
    docs.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns },
      spec: { selector: { app: name }, ports: [tcp ? { name: 'tcp-db', port: 5432, targetPort: 5432 } : { name: 'http', port: 80, targetPort: 8080 }] } });
    const rules: GenRule[] = [];
    const count = 1 + int(3);
    for (let r = 0; r < count; r++) {
      const principal = rng() < 0.8;
      // Half the callers live in the workload's own namespace (services call their neighbours), the rest anywhere.
      const local = rng() < 0.5;
      let source = principal ? (local ? k + M * int(Math.ceil((n - k) / M)) : int(n)) : (local ? k : int(M));
      if (principal && (source === i || source >= n)) source = (i + M) % n;
      rules.push({ kind: principal ? 'principal' : 'namespace', source, getOnly: !tcp && rng() < 0.3 });
    }
    plain.allow.push(rules);
    docs.push({
      apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: `${name}-allow`, namespace: ns },
      spec: {
        selector: { matchLabels: { app: name } }, action: 'ALLOW',
        rules: rules.map((r) => ({
          from: [{ source: r.kind === 'principal' ? { principals: [`cluster.local/ns/ns${nsOf(r.source, M)}/sa/w${r.source}`] } : { namespaces: [`ns${r.source}`] } }],
          ...(r.getOnly ? { to: [{ operation: { methods: ['GET'] } }] } : {}),
        })),
      },
    });
    if (rng() < 0.1) {
      const deny = int(M);
      plain.denyNs[i] = deny;
      docs.push({
        apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: `${name}-deny`, namespace: ns },
        spec: { selector: { matchLabels: { app: name } }, action: 'DENY', rules: [{ from: [{ source: { namespaces: [`ns${deny}`] } }] }] },
      });
    }
  }
  if (profile !== 'open') {
    docs.push({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'istio-system' }, spec: { mtls: { mode: 'STRICT' } } });
  }
  if (profile === 'segmented') {
    for (let k = 0; k < M; k++) {
      docs.push({
        apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'segment', namespace: `ns${k}` },
        spec: {
          podSelector: {}, policyTypes: ['Ingress'],
          ingress: [{ from: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': `ns${k}` } } },
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': `ns${(k + 1) % M}` } } },
          ] }],
        },
      });
    }
  }
  return { plain, yaml: docs.map((d) => stringify(d)).join('---\n') };
}

/** The plain model: may workload s reach workload d (s ≠ d) through d's Service, with a GET / on HTTP? */
export function plainAllows(m: PlainMesh, s: number, d: number): boolean {
  const sNs = m.ns[s] as number;
  const dNs = m.ns[d] as number;
  if (m.profile === 'segmented' && sNs !== dNs && sNs !== (dNs + 1) % m.namespaces) return false;
  if (m.denyNs[d] === sNs) return false;
  const tcp = m.tcp[d] === 1;
  for (const r of m.allow[d] as GenRule[]) {
    if (r.getOnly && tcp) continue;
    if (r.kind === 'principal' ? r.source === s : r.source === sNs) return true;
  }
  return false;
}
