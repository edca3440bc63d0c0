/**
 * A topology (topology.ts) as Kubernetes + Istio YAML a user can load into
 * meshrange and apply to a real cluster (`kubectl apply -R -f DIR/manifests`):
 * namespaces labelled `istio-injection: enabled`, one ServiceAccount,
 * Deployment and Service per workload, the AuthorizationPolicies derived from
 * the call graph, PeerAuthentication and (segmented) NetworkPolicy.
 *
 * Files (each under the loader's 8 MB limit at 100,000 workloads):
 *   manifests/00-mesh.yaml         istio-system, the mesh-wide PeerAuthentication, every team Namespace
 *   manifests/<team>.yaml          everything living in that team's namespace
 *   callgraph.json                 the call graph: [caller id, callee id] pairs
 *   meshrange-generate.json        the options, counts and the planted misconfigurations
 *   README.md                      the same, for a reader
 * Pure: the caller (src/cli/generate.ts) writes them. Same topology → same bytes.
 */
import { jsonDocument } from '../core/escape.js';
import {
  HTTP_PORT, HTTP_SERVICE_PORT, INGRESS_PRINCIPAL, isTcp, principalOf, TCP_PORT, TIERS, workloadId, workloadName, workloadNamespace,
  type Topology,
} from './topology.js';

export interface GeneratedFile {
  /** relative, '/'-separated */
  path: string;
  text: string;
}

/**
 * Block YAML for the generator's own documents (maps, lists, strings, numbers;
 * nothing from a stranger): ~20x faster than the yaml package's stringify at
 * 100,000 workloads, and test/generate checks it parses back to the same value.
 * A string is written plain only when YAML cannot read it as anything else.
 */
function scalar(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  return /^[A-Za-z_/][A-Za-z0-9._/-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|y|n|~)$/i.test(s) ? s : JSON.stringify(s);
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

function block(v: unknown, pad: string, out: string[], first = ''): void {
  // `first` is a line prefix ("- ") taken by the first entry of a map inside a list.
  if (Array.isArray(v)) {
    for (const x of v) {
      if (isScalar(x)) out.push(`${pad}- ${scalar(x)}`);
      else if (Array.isArray(x) || Object.keys(x as object).length === 0) out.push(`${pad}- ${Array.isArray(x) ? '[]' : '{}'}`);
      else block(x, `${pad}  `, out, `${pad}- `);
    }
    return;
  }
  let lead = first;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const p = lead === '' ? pad : lead;
    lead = '';
    if (isScalar(x)) out.push(`${p}${k}: ${scalar(x)}`);
    else if (Array.isArray(x) && x.length === 0) out.push(`${p}${k}: []`);
    else if (!Array.isArray(x) && Object.keys(x as object).length === 0) out.push(`${p}${k}: {}`);
    else { out.push(`${p}${k}:`); block(x, Array.isArray(x) ? pad : `${pad}  `, out); }
  }
}

export function toYaml(docs: readonly unknown[]): string {
  return docs.map((d) => { const out: string[] = []; block(d, '', out); return `${out.join('\n')}\n`; }).join('---\n');
}

const yaml = toYaml;

function workloadDocs(t: Topology, i: number): unknown[] {
  const name = workloadName(t, i);
  const namespace = workloadNamespace(t, i);
  const tcp = isTcp(t, i);
  const port = tcp ? TCP_PORT : HTTP_PORT;
  const labels = { app: name, tier: TIERS[t.tier[i] as number] as string };
  const docs: unknown[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            containers: [{ name: 'app', image: tcp ? 'postgres:16' : 'nginxinc/nginx-unprivileged:1.27', ports: [{ name: tcp ? 'tcp-db' : 'http', containerPort: port }] }],
          },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, labels },
      spec: { selector: { app: name }, ports: [tcp ? { name: 'tcp-db', port: TCP_PORT, targetPort: TCP_PORT } : { name: 'http', port: HTTP_SERVICE_PORT, targetPort: HTTP_PORT }] },
    },
  ];
  const callers = t.callers[i] as Int32Array;
  const principals = t.tier[i] === 0 ? [INGRESS_PRINCIPAL] : [...callers].map((c) => principalOf(t, c));
  const rules: unknown[] = [];
  if (principals.length > 0) rules.push({ from: [{ source: { principals } }], to: [{ operation: { ports: [String(port)] } }] });
  // Planted: a rule with no `from` admits every client, plaintext included.
  if (i === t.overBroad) rules.push({ to: [{ operation: { ports: [String(port)] } }] });
  docs.push({
    apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: `${name}-allow`, namespace },
    // No rules: ALLOW nothing (an uncalled workload stays closed).
    spec: { selector: { matchLabels: { app: name } }, action: 'ALLOW', ...(rules.length > 0 ? { rules } : {}) },
  });
  return docs;
}

/** Every manifest and note of a topology, in a fixed order. */
export function renderTopology(t: Topology): GeneratedFile[] {
  const M = t.namespaces.length;
  const mesh: unknown[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } },
    { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'istio-system' },
      spec: { mtls: { mode: t.profile === 'open' ? 'PERMISSIVE' : 'STRICT' } } },
  ];
  for (const name of t.namespaces) mesh.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'istio-injection': 'enabled' } } });
  const files: GeneratedFile[] = [{ path: 'manifests/00-mesh.yaml', text: yaml(mesh) }];

  const byNs: number[][] = Array.from({ length: M }, () => []);
  for (let i = 0; i < t.n; i++) (byNs[t.ns[i] as number] as number[]).push(i);
  for (let k = 0; k < M; k++) {
    const name = t.namespaces[k] as string;
    const docs: unknown[] = [];
    const meshStrict = t.profile !== 'open';
    if ((t.strictNs[k] === 1) !== meshStrict) {
      docs.push({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: name },
        spec: { mtls: { mode: t.strictNs[k] === 1 ? 'STRICT' : 'PERMISSIVE' } } });
    }
    if (t.profile === 'segmented') {
      const peers = [...(t.admitNs[k] as Int32Array)].map((x) => t.namespaces[x] as string);
      docs.push({
        apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'segment', namespace: name },
        spec: {
          podSelector: {}, policyTypes: ['Ingress'],
          ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['istio-system', ...peers] }] } }] }],
        },
      });
    }
    if (k === t.strayPolicyNs) {
      docs.push({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'deny-legacy-batch', namespace: name },
        spec: { selector: { matchLabels: { app: 'legacy-batch' } }, action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] } });
    }
    for (const i of byNs[k] as number[]) docs.push(...workloadDocs(t, i));
    files.push({ path: `manifests/${name}.yaml`, text: yaml(docs) });
  }

  let edges = 0;
  const pairs: string[] = [];
  for (let i = 0; i < t.n; i++) {
    for (const c of t.callees[i] as Int32Array) { pairs.push(JSON.stringify([workloadId(t, i), workloadId(t, c)])); edges++; }
  }
  files.push({ path: 'callgraph.json', text: `[\n${pairs.join(',\n')}\n]\n` });
  const summary = {
    generator: 'meshrange generate',
    options: { workloads: t.n, namespaces: M, seed: t.seed, profile: t.profile },
    counts: {
      workloads: t.n, namespaces: M, edges,
      tiers: { front: t.tier.filter((x) => x === 0).length, mid: t.tier.filter((x) => x === 1).length, data: t.tier.filter((x) => x === 2).length },
      strictNamespaces: t.strictNs.filter((x) => x === 1).length,
    },
    planted: t.planted,
  };
  files.push({ path: 'meshrange-generate.json', text: jsonDocument(summary) });
  files.push({ path: 'README.md', text: readme(t, summary.counts) });
  return files;
}

function readme(t: Topology, counts: { edges: number; strictNamespaces: number }): string {
  const lines = [
    `# Generated mesh: ${t.n} workloads in ${t.namespaces.length} namespaces (profile ${t.profile}, seed ${t.seed})`,
    '',
    `Written by \`meshrange generate --workloads ${t.n} --namespaces ${t.namespaces.length} --seed ${t.seed} --profile ${t.profile}\`;`,
    'the same command writes the same bytes.',
    '',
    '- `manifests/`: Kubernetes + Istio YAML (`meshrange blast-radius --mesh manifests`, or `kubectl apply -R -f manifests` on a cluster with Istio).',
    `- \`callgraph.json\`: the ${counts.edges} calls the ALLOW policies were derived from, as [caller, callee] pairs.`,
    '- `meshrange-generate.json`: the options, counts and the planted misconfigurations, for tools.',
    '',
    'Tiers: `front-*` (HTTP, called by the ingress gateway), `mid-*` (HTTP), `data-*` (TCP 5432).',
    `Each workload has its own ServiceAccount; its ALLOW policy admits its callers' principals on its port. ${counts.strictNamespaces} of ${t.namespaces.length} namespaces are STRICT.`,
    '',
    '## Planted misconfigurations',
    '',
    ...t.planted.map((p) => `- **${p.kind}** (\`${p.resource}\`): ${p.detail}.`),
    '',
  ];
  return lines.join('\n');
}
