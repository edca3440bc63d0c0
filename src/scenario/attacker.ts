/**
 * What the attacker holds as a scenario runs: the workloads it controls
 * (the foothold, and any a pivot took over, with their identities), the
 * certificates it stole (each usable until its notAfter — rotation does not
 * revoke a certificate already issued, istio-semantics §1), and bearer
 * tokens it took from a foothold or read off the wire. Steps read and fill
 * it in simulated-time order; nothing else is shared between steps.
 */

import type { Capability } from '../policy/pipeline.js';
import { formatSimTime } from '../sim/mesh/certificates.js';

/** `jwt: stolen` on a request-like step: replay the most recent token the attacker holds (a reserved token name). */
export const STOLEN_TOKEN = 'stolen';

export interface StolenCertificate {
  /** SPIFFE id in the certificate's URI SAN */
  spiffe: string;
  /** the workload it was taken from (`ns/name`) */
  from: string;
  /** ms since t=0 */
  notBefore: number;
  notAfter: number;
  /** the step that took it */
  step: string;
}

/** Why a stolen certificate fails a handshake at simulated time `t` (ms since t=0; `epochMs` is t=0's wall time), null: valid. */
export function stolenCertificateProblem(c: StolenCertificate, t: number, epochMs: number): string | null {
  if (t < c.notBefore) return `not valid before ${formatSimTime(c.notBefore)}`;
  if (t >= c.notAfter) return `expired since ${formatSimTime(c.notAfter)} (${new Date(epochMs + c.notAfter).toISOString()})`;
  return null;
}

export interface StolenToken {
  /** the compact JWT */
  token: string;
  subject: string | null;
  issuer: string | null;
  /** seconds since the epoch, null when the token has no exp */
  exp: number | null;
  /** where it came from, e.g. "held by ns/wl" or "sniffed on a → b" */
  source: string;
  step: string;
}

export class AttackerState {
  /** ids of workloads the attacker controls, in the order they were taken */
  private readonly owned: string[] = [];
  private readonly ownedSet = new Set<string>();
  readonly certificates: StolenCertificate[] = [];
  readonly tokens: StolenToken[] = [];

  constructor(readonly foothold: string, readonly capabilities: readonly Capability[] = []) {
    this.compromise(foothold);
  }

  compromise(id: string): void {
    if (this.ownedSet.has(id)) return;
    this.ownedSet.add(id);
    this.owned.push(id);
  }

  controls(id: string): boolean {
    return this.ownedSet.has(id);
  }

  get compromised(): readonly string[] {
    return this.owned;
  }

  hasCapability(c: Capability): boolean {
    return this.capabilities.includes(c);
  }

  addCertificate(c: StolenCertificate): void {
    if (!this.certificates.some((x) => x.spiffe === c.spiffe && x.notAfter === c.notAfter)) this.certificates.push(c);
  }

  addToken(t: StolenToken): void {
    if (!this.tokens.some((x) => x.token === t.token)) this.tokens.push(t);
  }

  /** The stolen certificate for a SPIFFE id (or any, when none is named) with the latest notAfter. */
  certificateFor(spiffe?: string): StolenCertificate | null {
    let best: StolenCertificate | null = null;
    for (const c of this.certificates) {
      if (spiffe !== undefined && c.spiffe !== spiffe) continue;
      if (!best || c.notAfter > best.notAfter) best = c;
    }
    return best;
  }

  /** The most recently taken token, or null. */
  latestToken(): StolenToken | null {
    return this.tokens[this.tokens.length - 1] ?? null;
  }
}
