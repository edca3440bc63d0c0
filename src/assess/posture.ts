/**
 * Posture in `assess`: the lint findings (src/lint, the findings `meshrange lint` prints) a change adds and removes.
 *
 * Why: reach (assess/reach.ts) tries only the clients a mesh has — each workload from its own sidecar, and
 * `outside`. A change that weakens a control no current client exercises (a mesh-wide PeerAuthentication turned
 * STRICT → PERMISSIVE while every pod has a sidecar) changes no path, yet every plaintext client of tomorrow — a pod
 * without a sidecar, a process beside one — gets in. lint sees that (MR0101, MR0103), so assess asks lint.
 *
 * Rules:
 *  - each side's mesh is linted as `meshrange lint` lints it; findings suppressed with `meshrange.io/ignore` are
 *    the team's decision and are left out on both sides;
 *  - a finding is identified by (code, resource, message): not by file or line, which differ between the sides
 *    (another folder, lines moved by the change). After only: `added`; before only: `removed`;
 *  - a finding **weakens** the posture when it is added at `warning` or `error` and the before side had no finding
 *    of that code on that resource at that severity or above (so a finding that only changed its wording — MR0101
 *    listing one port more or less — is listed, not weighed); **strengthens** it, the reverse. `info` findings
 *    (advice, as `lint --fail-on warning` treats them) are listed and not weighed — except a plaintext-accepted
 *    finding (MR0101) where the other side has none: deleting a STRICT PeerAuthentication weakens as much as
 *    editing it to PERMISSIVE.
 * Deterministic: each list in lint's order (file, line, column, code, message).
 */
import type { Location } from '../core/issues.js';
import type { Mesh } from '../model/types.js';
import { lint, severityRank, type Finding } from '../lint/index.js';
import type { AssessFinding } from './types.js';

export interface PostureDiff {
  /** after only; `weighed` on the warnings and errors new on their resource (they weaken: risk up) */
  added: AssessFinding[];
  /** before only; `weighed` on the warnings and errors gone from their resource (they strengthen: risk down) */
  removed: AssessFinding[];
}

const SEP = '\u0000';
const identity = (f: Finding): string => [f.code, f.resource, f.message].join(SEP);
const onResource = (f: { code: string; resource: string }): string => f.code + SEP + f.resource;

function toAssess(f: Finding, weighed: boolean): AssessFinding {
  const x: AssessFinding = { code: f.code, rule: f.rule, severity: f.severity, resource: f.resource, message: f.message, hint: f.hint, weighed };
  if (f.file !== '') {
    const loc: Location = { file: f.file, line: f.line, col: f.col };
    x.loc = loc;
  }
  return x;
}

/** The worst severity rank of each (code, resource) among findings. */
function worst(findings: readonly Finding[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of findings) {
    const k = onResource(f);
    m.set(k, Math.max(m.get(k) ?? 0, severityRank(f.severity)));
  }
  return m;
}

/** The findings of `a` that `b` does not have (by identity), each once per occurrence. */
function only(a: readonly Finding[], b: readonly Finding[]): Finding[] {
  const count = new Map<string, number>();
  for (const f of b) count.set(identity(f), (count.get(identity(f)) ?? 0) + 1);
  const out: Finding[] = [];
  for (const f of a) {
    const k = identity(f);
    const n = count.get(k) ?? 0;
    if (n > 0) count.set(k, n - 1);
    else out.push(f);
  }
  return out;
}

const WEIGHED = severityRank('warning');

/**
 * Findings that say plaintext is accepted where it could be refused (MR0101). Lint gives the mesh-default case —
 * no PeerAuthentication at all, Istio's PERMISSIVE — only as `info` advice, but for a change the direction is what
 * counts: deleting a STRICT PeerAuthentication opens the same door as editing it to PERMISSIVE. Such a finding is
 * weighed at any severity when the other side has none of its code at all.
 */
const PLAINTEXT_ACCEPTED: ReadonlySet<string> = new Set(['MR0101']);

/** Weighed: a warning or error whose (code, resource) the other side has at no severity as high; a plaintext finding new to the mesh at any severity. */
function weighed(f: Finding, other: Map<string, number>, otherCodes: ReadonlySet<string>): boolean {
  if (PLAINTEXT_ACCEPTED.has(f.code) && !otherCodes.has(f.code)) return true;
  return severityRank(f.severity) >= WEIGHED && (other.get(onResource(f)) ?? 0) < severityRank(f.severity);
}

export function postureDiff(before: Mesh, after: Mesh): PostureDiff {
  const b = lint(before).findings;
  const a = lint(after).findings;
  const wb = worst(b);
  const wa = worst(a);
  const cb = new Set(b.map((f) => f.code));
  const ca = new Set(a.map((f) => f.code));
  return {
    added: only(a, b).map((f) => toAssess(f, weighed(f, wb, cb))),
    removed: only(b, a).map((f) => toAssess(f, weighed(f, wa, ca))),
  };
}

/** `MR0101 ×1, MR0103 ×2`: the codes of findings, counted, in code order. */
export function codeCounts(findings: readonly { code: string }[]): string {
  const m = new Map<string, number>();
  for (const f of findings) m.set(f.code, (m.get(f.code) ?? 0) + 1);
  return [...m].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([c, n]) => `${c} ×${n}`).join(', ');
}
