/**
 * A step's expectation (product.md §2, issue 11 item 4): the outcome, and
 * optionally the control that must be the one that stopped it.
 *
 *   expect: blocked                                            # the outcome only
 *   expect: { outcome: blocked, stoppedBy: PeerAuthentication }   # a control kind
 *   expect: { outcome: blocked, stoppedBy: backend/deny-admin }   # a resource, ns/name
 *   expect: { outcome: blocked, stoppedBy: AuthorizationPolicy backend/deny-admin }
 *
 * Rules:
 * 1. Without `stoppedBy` the expectation is met when the outcome is the one
 *    expected (as before).
 * 2. With `stoppedBy` it is met only when the outcome is the one expected AND
 *    one of the step's `stoppedBy` entries matches: a step blocked by
 *    something else (a typo'd host failing DNS) does not meet it. The
 *    `defences` further along do not count: only what did stop the step.
 * 3. `stoppedBy` has a meaning only for `blocked` and `partial`: a step that
 *    got through was stopped by nothing. `outcome: allowed` with `stoppedBy`
 *    is refused when the scenario is loaded.
 * 4. A kind is one of CONTROL_KINDS, spelled as in the report; an unknown kind
 *    (also in `Kind ns/name`) is refused with the list of kinds.
 */
import * as z from 'zod/mini';
import { described as d, optional as o } from '../core/zod.js';
import type { ControlKind, StoppedBy } from '../policy/pipeline.js';

export const OUTCOMES = ['allowed', 'blocked', 'partial'] as const;
export type ExpectedOutcome = (typeof OUTCOMES)[number];

/** Every control kind a report names; the record keeps the list complete when ControlKind grows. */
const KIND_SET: Record<ControlKind, true> = {
  NetworkPolicy: true, PeerAuthentication: true, DestinationRule: true, SecureNaming: true, HttpValidation: true,
  RequestAuthentication: true, AuthorizationPolicy: true, EgressPolicy: true, RateLimit: true, CircuitBreaker: true,
  CertificateValidity: true, TokenValidity: true, DNS: true, Routing: true, Gateway: true, VirtualService: true, AutoMtls: true, AppTls: true,
  App: true,
};
export const CONTROL_KINDS: readonly ControlKind[] = Object.keys(KIND_SET) as ControlKind[];
const KINDS = new Set<string>(CONTROL_KINDS);

/** The longest `stoppedBy` text: a kind, a space and a `namespace/name` of two DNS-1123 names. */
export const MAX_STOPPED_BY_LENGTH = 400;

export const expectSchema = d(z.union([
  z.enum(OUTCOMES),
  z.strictObject({
    outcome: d(z.enum(OUTCOMES), 'the outcome the step must have: allowed, blocked or partial'),
    stoppedBy: o(z.string().check(z.minLength(1), z.maxLength(MAX_STOPPED_BY_LENGTH)),
      `the control that must have stopped the step: a kind (${CONTROL_KINDS.join(', ')}), a resource \`namespace/name\`, or \`Kind namespace/name\`; a step stopped by anything else does not meet the expectation`),
  }),
]), 'the outcome the step must have (allowed, blocked, partial), or {outcome, stoppedBy} to pin the control that stops it too');
export type ExpectDoc = z.infer<typeof expectSchema>;

/** What a `stoppedBy` names: a kind, a resource, or both. */
export interface ControlSpec {
  kind?: ControlKind;
  name?: string;
}

const NAME = /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;

/** `stoppedBy` text → what it names, or a problem to report (with the hint). */
export function parseControlSpec(text: string): ControlSpec | { problem: string; hint: string } {
  const t = text.trim();
  const space = t.indexOf(' ');
  const kindsHint = `name a control kind (${CONTROL_KINDS.join(', ')}), a resource \`namespace/name\`, or both: \`AuthorizationPolicy backend/deny-admin\``;
  if (space < 0) {
    if (t.includes('/')) {
      return NAME.test(t) ? { name: t } : { problem: `"${t}" is not a resource name \`namespace/name\``, hint: kindsHint };
    }
    return KINDS.has(t) ? { kind: t as ControlKind } : { problem: `"${t}" is not a control kind`, hint: kindsHint };
  }
  const kind = t.slice(0, space);
  const name = t.slice(space + 1).trim();
  if (!KINDS.has(kind)) return { problem: `"${kind}" is not a control kind`, hint: kindsHint };
  if (!NAME.test(name)) return { problem: `"${name}" is not a resource name \`namespace/name\``, hint: kindsHint };
  return { kind: kind as ControlKind, name };
}

/** The outcome and the (normalized) control text of an expectation; null when there is none. */
export function expectationOf(e: ExpectDoc | undefined): { outcome: ExpectedOutcome; stoppedBy?: string } | null {
  if (e === undefined) return null;
  if (typeof e === 'string') return { outcome: e };
  return e.stoppedBy === undefined ? { outcome: e.outcome } : { outcome: e.outcome, stoppedBy: e.stoppedBy.trim() };
}

export function controlMatches(spec: ControlSpec, b: Pick<StoppedBy, 'control' | 'name'>): boolean {
  return (spec.kind === undefined || spec.kind === b.control) && (spec.name === undefined || spec.name === b.name);
}

const label = (b: Pick<StoppedBy, 'control' | 'name'>): string => (b.name === null ? `${b.control} (mesh default)` : `${b.control} ${b.name}`);

/**
 * Judges a step against its expectation: met or not, and when not, why in one
 * line (what stopped it instead). Null when the step has no expectation.
 */
export function judge(expected: { outcome: ExpectedOutcome; stoppedBy?: string } | null, outcome: ExpectedOutcome,
  stoppedBy: readonly Pick<StoppedBy, 'control' | 'name'>[]): { met: boolean; why?: string } | null {
  if (expected === null) return null;
  if (expected.outcome !== outcome) {
    const by = stoppedBy.length > 0 ? `; stopped by ${stoppedBy.map(label).join(', ')}` : '';
    return { met: false, why: `expected ${expected.outcome}${expected.stoppedBy ? ` by ${expected.stoppedBy}` : ''}, got ${outcome}${by}` };
  }
  if (expected.stoppedBy === undefined) return { met: true };
  const spec = parseControlSpec(expected.stoppedBy);
  // The loader refused a spec that does not parse; reaching here with one is a broken invariant.
  if ('problem' in spec) throw new Error(`unchecked stoppedBy: ${spec.problem}`);
  if (stoppedBy.some((b) => controlMatches(spec, b))) return { met: true };
  const instead = stoppedBy.length > 0 ? stoppedBy.map(label).join(', ') : 'nothing named';
  return { met: false, why: `${outcome} as expected, but by ${instead}, not by ${expected.stoppedBy}` };
}
