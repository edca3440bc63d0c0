/**
 * MR0111–MR0118: the loader's analyzer findings (src/loader/analyze.ts,
 * istio-semantics.md §13, §14) as lint rules.
 *
 * The loader keeps reporting them as load warnings with their IST/SIM codes
 * (a contract test/loader pins, and `run` prints them): the loader sits below
 * lint in the layers (core ← model ← {loader, policy} ← … lint), so it cannot
 * call into src/lint, and lint wraps it instead of copying its checks. Each
 * analyzer code maps to one MR code; IST0127 and SIM005 (selects nothing) are
 * MR0102's, which checks the same thing and more, so they are not repeated.
 */
import { IssueList, type Issue } from '../../core/issues.js';
import { analyzeMesh } from '../../loader/analyze.js';
import type { Mesh } from '../../model/types.js';
import type { LintRule, RawFinding, LintSeverity } from '../types.js';

interface Mapping {
  analyzer: string;
  code: string;
  name: string;
  severity: LintSeverity;
  title: string;
  help: string;
  hint: string;
  /** a severity other than the default for this finding (e.g. advice where the object is used as intended) */
  severityOf?: (mesh: Mesh, subject: RawFinding['subject']) => LintSeverity;
}

/**
 * SIM001: targetRefs to a Kubernetes Gateway or GatewayClass are how Istio
 * attaches a policy to a Gateway API gateway (§6.1): only advice (info) that
 * sidecars are not covered. A Service or ServiceEntry targetRef means a
 * waypoint: for sidecar workloads the policy does nothing (warning).
 */
const policiesByName = new WeakMap<Mesh, Map<string, Mesh['authorizationPolicies'][number]>>();

function targetRefsSeverity(mesh: Mesh, subject: RawFinding['subject']): LintSeverity {
  let byName = policiesByName.get(mesh);
  if (!byName) {
    byName = new Map();
    // the first policy of that namespace and name, as a find over the list would answer
    for (const x of mesh.authorizationPolicies) { const k = `${x.meta.namespace}/${x.meta.name}`; if (!byName.has(k)) byName.set(k, x); }
    policiesByName.set(mesh, byName);
  }
  const p = byName.get(`${subject.namespace}/${subject.name}`);
  return p && p.targetRefs.length > 0 && p.targetRefs.every((r) => r.kind === 'Gateway' || r.kind === 'GatewayClass') ? 'info' : 'warning';
}

const MAPPINGS: readonly Mapping[] = [
  { analyzer: 'SIM001', code: 'MR0111', name: 'targetrefs-on-sidecars', severity: 'warning',
    title: 'An AuthorizationPolicy uses targetRefs, which sidecars ignore (§6.1)',
    help: 'targetRefs apply to waypoints and Kubernetes Gateways, never to sidecar workloads: a policy written for sidecars with targetRefs protects none of them. Fix: use spec.selector for sidecar workloads.',
    hint: 'use spec.selector.matchLabels to select sidecar workloads', severityOf: targetRefsSeverity },
  { analyzer: 'SIM002', code: 'MR0112', name: 'policy-on-sidecarless-workloads', severity: 'warning',
    title: 'An AuthorizationPolicy selects only workloads without a sidecar (§2)',
    help: 'Policies are enforced by the receiving sidecar; a workload without one enforces nothing, so the policy is decoration. Fix: inject a sidecar into the workloads.',
    hint: 'inject a sidecar into these workloads, or the policy is decoration' },
  { analyzer: 'SIM003', code: 'MR0113', name: 'unknown-ext-authz-provider', severity: 'warning',
    title: 'A CUSTOM AuthorizationPolicy names an extension provider the mesh does not define (§6.9)',
    help: 'A CUSTOM policy whose provider is not in meshConfig.extensionProviders compiles to deny: every request it matches is refused. Fix: define the provider or correct its name.',
    hint: 'add the provider to meshConfig.extensionProviders, or correct spec.provider.name' },
  { analyzer: 'SIM004', code: 'MR0114', name: 'root-namespace-selector-peer-authentication', severity: 'warning',
    title: 'A PeerAuthentication with a selector in the root namespace, which Istio ignores (§4)',
    help: 'The PeerAuthentication composer ignores selector-bearing policies in the root namespace: the mode it sets applies nowhere. Fix: move it to the workload\'s namespace, or drop the selector.',
    hint: 'move it to the workload\'s namespace, or drop the selector to make it mesh-wide' },
  { analyzer: 'SIM006', code: 'MR0115', name: 'conflicting-peer-authentications', severity: 'warning',
    title: 'Several mesh- or namespace-level PeerAuthentications in one namespace: only the oldest applies (§4)',
    help: 'Only the oldest mesh-level (or namespace-level) PeerAuthentication of a namespace counts; the newer ones are ignored. Fix: keep one.',
    hint: 'keep one selector-less PeerAuthentication per namespace' },
  { analyzer: 'SIM007', code: 'MR0116', name: 'istio-mutual-to-sidecarless', severity: 'warning',
    title: 'A DestinationRule sends ISTIO_MUTUAL to pods without a sidecar (§2, §5)',
    help: 'A pod without a sidecar cannot terminate Istio mTLS: every call through this DestinationRule fails with 503. Fix: inject the pods, or set tls.mode DISABLE for that host.',
    hint: 'inject a sidecar into the destination pods, or drop ISTIO_MUTUAL for this host' },
  { analyzer: 'IST0174', code: 'MR0117', name: 'unknown-destination-rule-host', severity: 'warning',
    title: 'A DestinationRule host matches no service (IST0174, §13)',
    help: 'A DestinationRule whose host matches no Service or ServiceEntry configures nothing; usually a typo or a short name in the wrong namespace. Fix: name the service\'s FQDN.',
    hint: 'write the host as <service>.<namespace>.svc.cluster.local' },
  { analyzer: 'IST0123', code: 'MR0118', name: 'multiple-injection-labels', severity: 'warning',
    title: 'A namespace has both istio-injection and istio.io/rev labels (IST0123, §2)',
    help: 'With both labels, istio-injection wins and the revision label is ignored, which is rarely what a revision upgrade meant. Fix: keep one label.',
    hint: 'keep either istio-injection or istio.io/rev on the namespace' },
];

/** The analyzer's issues for one mesh, computed once for all eight rules. */
const memo = new WeakMap<Mesh, Issue[]>();

function analyzerIssues(mesh: Mesh): Issue[] {
  let got = memo.get(mesh);
  if (!got) {
    const issues = new IssueList();
    analyzeMesh(mesh, issues);
    got = issues.items;
    memo.set(mesh, got);
  }
  return got;
}

type Subject = RawFinding['subject'];

/** Where each object the analyzer reports on was read, first one wins (policies, then peer authentications, destination rules, namespaces), built once per mesh. */
const subjects = new WeakMap<Mesh, Map<string, Subject>>();
const locKey = (l: { file: string; line: number; col: number }): string => `${l.line}:${l.col}:${l.file}`;

function subjectsOf(mesh: Mesh): Map<string, Subject> {
  let got = subjects.get(mesh);
  if (!got) {
    got = new Map();
    const lists: [string, readonly { meta: { namespace: string; name: string; annotations: Readonly<Record<string, string>>; loc: { file: string; line: number; col: number } } }[]][] = [
      ['AuthorizationPolicy', mesh.authorizationPolicies], ['PeerAuthentication', mesh.peerAuthentications], ['DestinationRule', mesh.destinationRules],
    ];
    for (const [kind, list] of lists) {
      for (const x of list) {
        const k = locKey(x.meta.loc);
        if (!got.has(k)) got.set(k, { kind, namespace: x.meta.namespace, name: x.meta.name, annotations: x.meta.annotations, loc: x.meta.loc });
      }
    }
    for (const ns of mesh.namespaces.values()) {
      if (ns.loc === undefined) continue;
      const k = locKey(ns.loc);
      if (!got.has(k)) got.set(k, { kind: 'Namespace', namespace: ns.name, name: ns.name, annotations: ns.annotations ?? {}, loc: ns.loc });
    }
    subjects.set(mesh, got);
  }
  return got;
}

/** The resource an analyzer message is about: the object at its location (analyzer messages name it, e.g. `AuthorizationPolicy ns/name`). */
function subjectAt(mesh: Mesh, issue: Issue): Subject {
  const loc = issue.loc;
  const hit = loc === undefined ? undefined : subjectsOf(mesh).get(locKey(loc));
  if (hit) return hit;
  return { kind: 'Mesh', namespace: '', name: '', annotations: {}, ...(loc ? { loc } : {}) };
}

export const analyzerRules: readonly LintRule[] = MAPPINGS.map((m): LintRule => ({
  code: m.code, name: m.name, severity: m.severity, title: m.title, help: m.help,
  check(mesh) {
    return analyzerIssues(mesh).filter((i) => i.code === m.analyzer).map((i) => {
      const subject = subjectAt(mesh, i);
      const severity = m.severityOf?.(mesh, subject);
      return { message: `${i.message} (${m.analyzer})`, hint: i.hint ?? m.hint, subject, ...(severity !== undefined ? { severity } : {}) };
    });
  },
}));
