/**
 * istiod's built-in CA (istio-semantics §1), as the simulator sees it.
 *
 * Rules:
 *  - §1 a workload certificate is valid from the moment it is signed for the
 *    workload TTL, 24 h by default (`DEFAULT_WORKLOAD_CERT_TTL`).
 *  - §1 the self-signed root lives 10 years (`CITADEL_SELF_SIGNED_CA_CERT_TTL`);
 *    it is minted at simulated time 0. A leaf never outlives its root, so a
 *    leaf signed near the end of the root's life is cut short [inf]; once the
 *    root has expired the CA refuses to sign. (Root rotation, §15 item 7, is not
 *    modelled.)
 *  - §1 the identity in the certificate is the one the caller proves (its
 *    service-account token), never request content: `sign` is given the
 *    workload's SPIFFE id and puts it in the subject as is.
 *  - While istiod is down (a scheduled outage, `atMs <= now < atMs + forMs`)
 *    every CSR fails with "istiod CA unavailable".
 *  - Serial numbers are a counter from 1 in signing order, so a run is
 *    reproducible (habit 6); the CA draws no random numbers.
 */
import type { Kernel } from '../kernel/index.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** `CITADEL_SELF_SIGNED_CA_CERT_TTL` = 3650 days. */
export const DEFAULT_ROOT_LIFETIME_MS = 3650 * DAY_MS;
/** `DEFAULT_WORKLOAD_CERT_TTL` / agent `SECRET_TTL` = 24 h. */
export const DEFAULT_WORKLOAD_TTL_MS = DAY_MS;

/** A workload (leaf) certificate: the parts of an X.509 cert the simulator reasons about. */
export interface Certificate {
  readonly serial: number;
  /** URI SAN, `spiffe://<td>/ns/<ns>/sa/<sa>`. */
  readonly subject: string;
  /** Simulated ms. Valid on the half-open interval [notBefore, notAfter). */
  readonly notBefore: number;
  readonly notAfter: number;
  /** Simulated ms at which istiod signed it. */
  readonly issuedAt: number;
}

export type SignResult = { ok: true; cert: Certificate } | { ok: false; reason: string };

export interface CaOutage {
  atMs: number;
  forMs: number;
}

export interface MeshCaOptions {
  outages: CaOutage[];
  rootLifetimeMs?: number;
  workloadTtlMs?: number;
}

export const CA_UNAVAILABLE = 'istiod CA unavailable';
export const CA_ROOT_EXPIRED = 'istiod CA root certificate expired';

export class MeshCa {
  readonly rootNotBefore = 0;
  readonly rootNotAfter: number;
  readonly workloadTtlMs: number;
  private readonly outages: readonly CaOutage[];
  private nextSerial = 1;

  constructor(
    private readonly k: Kernel,
    opts: MeshCaOptions,
  ) {
    const rootLifetimeMs = opts.rootLifetimeMs ?? DEFAULT_ROOT_LIFETIME_MS;
    this.workloadTtlMs = opts.workloadTtlMs ?? DEFAULT_WORKLOAD_TTL_MS;
    if (!(rootLifetimeMs > 0)) throw new RangeError(`rootLifetimeMs must be > 0, got ${rootLifetimeMs}`);
    if (!(this.workloadTtlMs > 0)) throw new RangeError(`workloadTtlMs must be > 0, got ${this.workloadTtlMs}`);
    for (const o of opts.outages) {
      if (!Number.isFinite(o.atMs) || !(o.forMs >= 0)) {
        throw new RangeError(`CA outage needs a finite atMs and forMs >= 0, got ${JSON.stringify(o)}`);
      }
    }
    this.rootNotAfter = this.rootNotBefore + rootLifetimeMs;
    this.outages = opts.outages.map((o) => ({ atMs: o.atMs, forMs: o.forMs }));
  }

  /** Whether istiod answers CSRs at `nowMs` (default: the kernel's clock). */
  up(nowMs: number = this.k.now): boolean {
    return !this.outages.some((o) => o.atMs <= nowMs && nowMs < o.atMs + o.forMs);
  }

  /** The end of the outage covering `nowMs`, or null when the CA is up. */
  downUntil(nowMs: number = this.k.now): number | null {
    let until: number | null = null;
    for (const o of this.outages) {
      if (o.atMs <= nowMs && nowMs < o.atMs + o.forMs) until = Math.max(until ?? 0, o.atMs + o.forMs);
    }
    return until;
  }

  /**
   * Sign a CSR for `spiffeId`, the identity the caller's service-account
   * token proves; it becomes the certificate's subject verbatim, so callers
   * pass the workload's SPIFFE id, not its pod name.
   */
  sign(spiffeId: string, nowMs: number = this.k.now): SignResult {
    if (!this.up(nowMs)) return { ok: false, reason: CA_UNAVAILABLE };
    if (nowMs >= this.rootNotAfter) return { ok: false, reason: CA_ROOT_EXPIRED };
    const notAfter = Math.min(nowMs + this.workloadTtlMs, this.rootNotAfter);
    const cert: Certificate = { serial: this.nextSerial++, subject: spiffeId, notBefore: nowMs, notAfter, issuedAt: nowMs };
    return { ok: true, cert };
  }
}
