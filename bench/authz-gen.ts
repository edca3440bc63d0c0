/**
 * B2's seeded policy-set generator (docs/benchmarks.md), written once and
 * rendered three ways so every engine gets the same rules:
 *
 *  - Istio YAML (namespaces, Deployments, one AuthorizationPolicy per rule),
 *    which meshrange loads through its own loader;
 *  - Cedar policy text (one permit/forbid per rule);
 *  - Casbin CSV lines for a deny-override model (a rule with two methods
 *    becomes two lines).
 *
 * Shape: R rules; workloads = max(2, R/5); namespaces = max(1, workloads/4).
 * ~90 % ALLOW rules bound to one workload (selector app=<name>), each with a
 * source (a principal, or a source namespace), a path prefix `/api/<k>/*`,
 * and, each with probability 0.8, methods (1 or 2) and a port.
 * ~10 % DENY rules on sensitive paths (`/admin/*`, `/internal/*`), half of
 * them from one source namespace; a fifth of the DENY rules are mesh-wide
 * (root namespace, no selector). Istio's "no ALLOW policy selects the
 * workload → allow" has no counterpart in Cedar or Casbin, so workloads that
 * no ALLOW rule selects get an explicit allow-all in those two (counted
 * separately: `fillers`).
 *
 * 4,096 distinct requests: about half built to satisfy a random ALLOW rule,
 * the rest drawn at random (a fifth of those on sensitive paths).
 */
import seedrandom from 'seedrandom';
import { stringify } from 'yaml';
import type { AuthzAttributes } from '../src/policy/authorization-policy.js';

export const TRUST_DOMAIN = 'cluster.local';
export const ROOT_NS = 'istio-system';
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
const PORTS = [8080, 9090] as const;
const SENSITIVE = ['/admin/', '/internal/'] as const;
const API_PREFIXES = 8;

export interface GenWorkload {
  namespace: string;
  name: string;
  /** `<ns>/<name>` */
  id: string;
  principal: string;
}

export interface GenRule {
  name: string;
  action: 'ALLOW' | 'DENY';
  /** null = mesh-wide (root namespace, no selector) */
  target: number | null;
  from: { principal: string } | { namespace: string } | null;
  methods: string[] | null;
  /** a prefix ending in '/', matched as `<prefix>*` */
  pathPrefix: string;
  port: number | null;
}

export interface GenRequest {
  source: number;
  target: number;
  method: string;
  path: string;
  port: number;
}

export interface PolicySet {
  rules: GenRule[];
  workloads: GenWorkload[];
  namespaces: string[];
  requests: GenRequest[];
}

/** The requests as meshrange's evaluateAuthz sees them: mTLS HTTP from the source's principal to the target's port. */
export function toAuthzAttributes(set: PolicySet): AuthzAttributes[] {
  return set.requests.map((q): AuthzAttributes => {
    const src = set.workloads[q.source]!;
    const dst = set.workloads[q.target]!;
    return {
      protocol: 'http', peerPrincipal: src.principal, sourceIp: '10.1.0.1', remoteIp: '10.1.0.1', destinationIp: '10.2.0.1',
      destinationPort: q.port, sni: null,
      http: { host: `${dst.name}.${dst.namespace}.svc.cluster.local`, method: q.method, path: q.path, headers: {} },
    };
  });
}

export function generate(R: number, seed: number, requestCount = 4096): PolicySet {
  const rnd = seedrandom(`${seed}/b2/${R}`);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const W = Math.max(2, Math.floor(R / 5));
  const N = Math.max(1, Math.floor(W / 4));
  const namespaces = Array.from({ length: N }, (_, i) => `ns${i}`);
  const workloads: GenWorkload[] = Array.from({ length: W }, (_, i) => {
    const namespace = `ns${i % N}`;
    const name = `w${i}`;
    return { namespace, name, id: `${namespace}/${name}`, principal: `${TRUST_DOMAIN}/ns/${namespace}/sa/${name}` };
  });
  const rules: GenRule[] = [];
  for (let j = 0; j < R; j++) {
    if (rnd() < 0.9) {
      const src = pick(workloads);
      const methods = rnd() < 0.8 ? (rnd() < 0.5 ? [pick(METHODS)] : pickTwo(METHODS, rnd)) : null;
      rules.push({
        name: `r${j}`, action: 'ALLOW', target: Math.floor(rnd() * W),
        from: rnd() < 0.5 ? { principal: src.principal } : { namespace: src.namespace },
        methods, pathPrefix: `/api/${Math.floor(rnd() * API_PREFIXES)}/`, port: rnd() < 0.8 ? pick(PORTS) : null,
      });
    } else {
      rules.push({
        name: `r${j}`, action: 'DENY', target: rnd() < 0.2 ? null : Math.floor(rnd() * W),
        from: rnd() < 0.5 ? { namespace: pick(namespaces) } : null,
        methods: null, pathPrefix: pick(SENSITIVE), port: null,
      });
    }
  }

  const allowRules = rules.filter((r) => r.action === 'ALLOW');
  const requests: GenRequest[] = [];
  const seen = new Set<string>();
  let attempts = 0;
  while (requests.length < requestCount && attempts++ < requestCount * 50) {
    let q: GenRequest;
    if (rnd() < 0.5 && allowRules.length > 0) {
      const r = pick(allowRules);
      const source = 'principal' in (r.from ?? {})
        ? workloads.findIndex((w) => w.principal === (r.from as { principal: string }).principal)
        : pickIndexIn(workloads, (w) => w.namespace === (r.from as { namespace: string }).namespace, rnd);
      q = { source, target: r.target as number, method: r.methods ? pick(r.methods) : pick(METHODS),
        path: `${r.pathPrefix}item${Math.floor(rnd() * 1000)}`, port: r.port ?? pick(PORTS) };
    } else {
      const sensitive = rnd() < 0.2;
      q = { source: Math.floor(rnd() * W), target: Math.floor(rnd() * W), method: pick(METHODS),
        path: sensitive ? `${pick(SENSITIVE)}item${Math.floor(rnd() * 1000)}` : `/api/${Math.floor(rnd() * API_PREFIXES)}/item${Math.floor(rnd() * 1000)}`,
        port: pick(PORTS) };
    }
    const key = `${q.source}|${q.target}|${q.method}|${q.path}|${q.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    requests.push(q);
  }
  return { rules, workloads, namespaces, requests };
}

function pickTwo<T>(xs: readonly T[], rnd: () => number): T[] {
  const a = Math.floor(rnd() * xs.length);
  const b = (a + 1 + Math.floor(rnd() * (xs.length - 1))) % xs.length;
  return [xs[a] as T, xs[b] as T];
}

function pickIndexIn<T>(xs: readonly T[], ok: (x: T) => boolean, rnd: () => number): number {
  const idx: number[] = [];
  xs.forEach((x, i) => { if (ok(x)) idx.push(i); });
  return idx[Math.floor(rnd() * idx.length)] as number;
}

/** Workload indexes that no ALLOW rule selects (Istio allows everything there). */
export function unguarded(set: PolicySet): number[] {
  const guarded = new Set(set.rules.filter((r) => r.action === 'ALLOW').map((r) => r.target));
  return set.workloads.map((_, i) => i).filter((i) => !guarded.has(i));
}

// ------------------------------------------------------------------ Istio YAML

/** Manifests as YAML text (each document written as JSON, which is YAML). */
export function toIstioYaml(set: PolicySet): string {
  return istioDocs(set).map((d) => JSON.stringify(d)).join('\n---\n');
}

/** The same manifests in block style, as people write them (`yaml`'s stringify, one document after each `---`). */
export function toIstioYamlBlock(set: PolicySet): string {
  return istioDocs(set).map((d) => `---\n${stringify(d)}`).join('');
}

/** The manifests as plain objects: namespaces, then Deployments, then one AuthorizationPolicy per rule. */
export function istioDocs(set: PolicySet): unknown[] {
  const docs: unknown[] = [];
  docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ROOT_NS } });
  for (const ns of set.namespaces) docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'istio-injection': 'enabled' } } });
  for (const w of set.workloads) {
    docs.push({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: w.name, namespace: w.namespace },
      spec: {
        selector: { matchLabels: { app: w.name } },
        template: {
          metadata: { labels: { app: w.name } },
          spec: { serviceAccountName: w.name, containers: [{ name: 'app', image: 'example/app:1', ports: [{ containerPort: 8080 }, { containerPort: 9090 }] }] },
        },
      },
    });
  }
  for (const r of set.rules) {
    const target = r.target === null ? null : (set.workloads[r.target] as GenWorkload);
    const rule: Record<string, unknown> = {};
    if (r.from) rule['from'] = [{ source: 'principal' in r.from ? { principals: [r.from.principal] } : { namespaces: [r.from.namespace] } }];
    const op: Record<string, unknown> = { paths: [`${r.pathPrefix}*`] };
    if (r.methods) op['methods'] = r.methods;
    if (r.port !== null) op['ports'] = [String(r.port)];
    rule['to'] = [{ operation: op }];
    const spec: Record<string, unknown> = { action: r.action, rules: [rule] };
    if (target) spec['selector'] = { matchLabels: { app: target.name } };
    docs.push({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: r.name, namespace: target?.namespace ?? ROOT_NS }, spec });
  }
  return docs;
}

// ------------------------------------------------------------------ Cedar

const cedarStr = (s: string): string => JSON.stringify(s);

export function toCedar(set: PolicySet): { text: string; fillers: number } {
  const out: string[] = [];
  for (const r of set.rules) {
    const target = r.target === null ? null : (set.workloads[r.target] as GenWorkload);
    const principal = r.from && 'principal' in r.from ? `principal == Workload::${cedarStr(r.from.principal)}` : 'principal';
    const action = r.methods ? `action in [${r.methods.map((m) => `Action::${cedarStr(m)}`).join(', ')}]` : 'action';
    const resource = target ? `resource == Workload::${cedarStr(target.id)}` : 'resource';
    const conds = [`context.path like ${cedarStr(`${r.pathPrefix}*`)}`];
    if (r.from && 'namespace' in r.from) conds.unshift(`context.namespace == ${cedarStr(r.from.namespace)}`);
    if (r.port !== null) conds.push(`context.port == ${r.port}`);
    out.push(`@id(${cedarStr(r.name)})\n${r.action === 'ALLOW' ? 'permit' : 'forbid'}(${principal}, ${action}, ${resource}) when { ${conds.join(' && ')} };`);
  }
  const open = unguarded(set);
  for (const i of open) out.push(`@id("open-${i}")\npermit(principal, action, resource == Workload::${cedarStr((set.workloads[i] as GenWorkload).id)});`);
  return { text: out.join('\n'), fillers: open.length };
}

// ------------------------------------------------------------------ Casbin

/** Request: sub (principal), ns (source namespace), obj (workload id), act, path, port. */
export const CASBIN_MODEL = `
[request_definition]
r = sub, ns, obj, act, path, port

[policy_definition]
p = sub, ns, obj, act, path, port, eft

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = (p.sub == "*" || p.sub == r.sub) && (p.ns == "*" || p.ns == r.ns) && (p.obj == "*" || p.obj == r.obj) && (p.act == "*" || p.act == r.act) && keyMatch(r.path, p.path) && (p.port == "*" || p.port == r.port)
`;

export function toCasbin(set: PolicySet): { lines: string[][]; fillers: number } {
  const lines: string[][] = [];
  for (const r of set.rules) {
    const target = r.target === null ? null : (set.workloads[r.target] as GenWorkload);
    const sub = r.from && 'principal' in r.from ? r.from.principal : '*';
    const ns = r.from && 'namespace' in r.from ? r.from.namespace : '*';
    for (const act of r.methods ?? ['*']) {
      lines.push([sub, ns, target?.id ?? '*', act, `${r.pathPrefix}*`, r.port === null ? '*' : String(r.port), r.action === 'ALLOW' ? 'allow' : 'deny']);
    }
  }
  const open = unguarded(set);
  for (const i of open) lines.push(['*', '*', (set.workloads[i] as GenWorkload).id, '*', '*', '*', 'allow']);
  return { lines, fillers: open.length };
}
