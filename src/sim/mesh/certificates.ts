/**
 * Workload certificate lifecycle: one istio-agent SDS secret cache per
 * sidecar, as an xstate v5 machine run on simulated time (architecture habit
 * 7: a certificate's life really is a state machine; habit 6: its timers run
 * on the kernel through `simClock`).
 *
 *   idle ──START──▶ requesting ──signed──▶ valid ◀──────signed──────┐
 *                     ↺ rejected:              │ renewal time        │
 *                       retry after backoff    ▼                     │
 *                                           renewing ↺ rejected ─────┤
 *                                              │ notAfter passes     │
 *                                              ▼                     │
 *                                           expired ↺ rejected ──────┘
 *
 * Rules (istio-semantics §1):
 *  - §1 a workload asks istiod for a certificate when it starts (CSR flow:
 *    agent → istiod CA → SDS); the CA issues it for the workload TTL (24 h).
 *  - §1 renewal is scheduled at `notAfter − ratio × lifetime`, ratio =
 *    `SECRET_GRACE_PERIOD_RATIO` 0.5 with a uniform jitter of ±0.01
 *    (≈ 12 h ± 14.4 min after issuance for a 24 h cert). The jitter is drawn,
 *    when the certificate arrives, from the workload's own stream
 *    `k.rng('cert/' + workloadId)`, so adding a workload never shifts another
 *    workload's renewal times.
 *  - while renewal is failing the current certificate stays in use until its
 *    notAfter; a certificate is valid on [notBefore, notAfter) — the expiry
 *    timer fires at notAfter, and from that instant the workload is `expired`
 *    (Go's x509 treats notAfter itself as still valid; one simulated ms of
 *    difference, chosen so state and certificate never disagree).
 *  - an expired workload keeps retrying; a later successful CSR makes it
 *    `valid` again.
 *  - CSR failure backoff (a modelling choice, configurable): exponential,
 *    first retry 1 s after a failure, doubling, capped at 60 s, no jitter,
 *    reset by a success. istio-agent's gRPC CA client retries a CSR 5 times
 *    from 100 ms to 1.6 s (`CARetryOptions`) and, when that fails, Envoy's
 *    SDS request fails and is retried later; we collapse the inner retries
 *    into one attempt and model the outer loop with this backoff. The cap
 *    bounds how long a workload keeps its expired state after istiod is back
 *    (≤ 60 s); no jitter because the simulated CA has no thundering herd and a
 *    fixed schedule keeps logs easy to read.
 *  - every transition is recorded with `k.record('cert', …)`, so it enters the
 *    run fingerprint. A retry (waiting → sending) is not recorded on its own:
 *    its time is the `retryAt` of the rejection before it, and its outcome is
 *    recorded.
 *  - an exception inside a machine (a broken invariant) is handed to the
 *    kernel as an event that rethrows, so `k.run()` raises it as a
 *    SimulationError instead of xstate throwing it on a real timer.
 */
import { assign, createActor, setup, type Actor } from 'xstate';
import { simClock, type Kernel } from '../kernel/index.js';
import type { Certificate, MeshCa, SignResult } from './ca.js';

/** `SECRET_GRACE_PERIOD_RATIO`. */
export const GRACE_PERIOD_RATIO = 0.5;
/** Jitter on the grace-period ratio, ± this much, uniform. */
export const GRACE_PERIOD_RATIO_JITTER = 0.01;

export interface CsrBackoff {
  /** Delay after the first failed CSR. */
  initialMs: number;
  /** Upper bound of the delay. */
  maxMs: number;
}
export const DEFAULT_CSR_BACKOFF: CsrBackoff = { initialMs: 1_000, maxMs: 60_000 };

/** Renewal time of `cert` for a uniform draw `u` in [0, 1): notAfter − lifetime × (0.5 ± 0.01). */
export function renewalTime(cert: Certificate, u: number): number {
  const lifetime = cert.notAfter - cert.notBefore;
  const ratio = GRACE_PERIOD_RATIO + GRACE_PERIOD_RATIO_JITTER * (2 * u - 1);
  return cert.notAfter - Math.round(lifetime * ratio);
}

/** Delay before the next CSR after `failures` consecutive failures (≥ 1). */
export function csrBackoffDelay(failures: number, backoff: CsrBackoff = DEFAULT_CSR_BACKOFF): number {
  const exp = Math.min(Math.max(failures - 1, 0), 52);
  return Math.min(backoff.initialMs * 2 ** exp, backoff.maxMs);
}

/** Simulated time as an offset from the start of the run: `T+12:00:00.000`, `T+1d00:00:00.000`. */
export function formatSimTime(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  let rest = Math.abs(Math.round(ms));
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const msPart = rest - s * 1000;
  const two = (n: number) => String(n).padStart(2, '0');
  return `T${sign}${days > 0 ? `${days}d` : ''}${two(h)}:${two(m)}:${two(s)}.${String(msPart).padStart(3, '0')}`;
}

/** Why `cert` cannot be presented at `nowMs`, or null when it is valid then. */
export function certificateProblem(cert: Certificate | null, nowMs: number): string | null {
  if (cert === null) return 'no certificate (never issued)';
  if (nowMs < cert.notBefore) return `certificate of ${cert.subject} not yet valid until ${formatSimTime(cert.notBefore)}`;
  if (nowMs >= cert.notAfter) return `certificate of ${cert.subject} expired at ${formatSimTime(cert.notAfter)}`;
  return null;
}

// ---------------------------------------------------------------------------
// The machine

export type CertPhase = 'idle' | 'requesting' | 'valid' | 'renewing' | 'expired';
export type CertEventName = 'requesting' | 'issued' | 'renewal-due' | 'renewed' | 'csr-rejected' | 'expired';

export interface CertAgentContext {
  /** The certificate the sidecar presents (the latest one issued), or null. */
  cert: Certificate | null;
  renewAt: number | null;
  /** Consecutive CSR failures since the last success. */
  failures: number;
  nextAttemptAt: number | null;
  lastError: string | null;
}

export type CertAgentEvent =
  | { type: 'START' }
  | { type: 'CSR_SIGNED'; cert: Certificate; renewAt: number }
  | { type: 'CSR_REJECTED'; reason: string };

/** A transition, as reported to the environment (history + kernel log). */
export interface CertTransition {
  event: CertEventName;
  to: CertPhase;
  context: CertAgentContext;
}

/** Everything the machine needs from the world; all time and randomness come from here. */
export interface CertAgentEnv {
  now(): number;
  /** Send a CSR to istiod; synchronous in the simulator. */
  sign(): SignResult;
  /** One uniform draw in [0, 1) from the workload's stream. */
  uniform(): number;
  backoff: CsrBackoff;
  note(t: CertTransition): void;
}

/** The istio-agent secret cache for one workload. */
export function createCertificateMachine(env: CertAgentEnv) {
  const signed = (event: CertEventName) =>
    ({
      target: '#cert.valid',
      actions: ['storeCert', { type: 'note', params: { event, to: 'valid' as const } }],
    }) as const;
  const rejected = (to: CertPhase) =>
    ({
      target: 'waiting',
      actions: ['countFailure', { type: 'note', params: { event: 'csr-rejected' as const, to } }],
    }) as const;

  return setup({
    types: {
      context: {} as CertAgentContext,
      events: {} as CertAgentEvent,
    },
    actions: {
      sendCsr: ({ self }) => {
        const result = env.sign();
        if (result.ok) self.send({ type: 'CSR_SIGNED', cert: result.cert, renewAt: renewalTime(result.cert, env.uniform()) });
        else self.send({ type: 'CSR_REJECTED', reason: result.reason });
      },
      storeCert: assign(({ context, event }) =>
        event.type === 'CSR_SIGNED'
          ? { cert: event.cert, renewAt: event.renewAt, failures: 0, nextAttemptAt: null, lastError: null }
          : context,
      ),
      countFailure: assign(({ context, event }) => {
        if (event.type !== 'CSR_REJECTED') return context;
        const failures = context.failures + 1;
        return { failures, lastError: event.reason, nextAttemptAt: env.now() + csrBackoffDelay(failures, env.backoff) };
      }),
      note: ({ context }, params: { event: CertEventName; to: CertPhase }) => env.note({ ...params, context }),
    },
    guards: {
      retryPending: ({ context }) => context.nextAttemptAt !== null && context.nextAttemptAt > env.now(),
    },
    delays: {
      untilRenewal: ({ context }) => Math.max(0, (context.renewAt ?? env.now()) - env.now()),
      untilExpiry: ({ context }) => Math.max(0, (context.cert?.notAfter ?? env.now()) - env.now()),
      untilRetry: ({ context }) => Math.max(0, (context.nextAttemptAt ?? env.now()) - env.now()),
    },
  }).createMachine({
    id: 'cert',
    initial: 'idle',
    context: { cert: null, renewAt: null, failures: 0, nextAttemptAt: null, lastError: null },
    states: {
      idle: {
        on: { START: { target: 'requesting', actions: { type: 'note', params: { event: 'requesting', to: 'requesting' } } } },
      },
      requesting: {
        initial: 'sending',
        on: { CSR_SIGNED: signed('issued') },
        states: {
          sending: { entry: 'sendCsr', on: { CSR_REJECTED: rejected('requesting') } },
          waiting: { after: { untilRetry: 'sending' } },
        },
      },
      valid: {
        after: {
          untilRenewal: { target: 'renewing', actions: { type: 'note', params: { event: 'renewal-due', to: 'renewing' } } },
        },
      },
      renewing: {
        initial: 'sending',
        on: { CSR_SIGNED: signed('renewed') },
        after: { untilExpiry: { target: 'expired', actions: { type: 'note', params: { event: 'expired', to: 'expired' } } } },
        states: {
          sending: { entry: 'sendCsr', on: { CSR_REJECTED: rejected('renewing') } },
          waiting: { after: { untilRetry: 'sending' } },
        },
      },
      expired: {
        // Keep the retry schedule that was running while renewing.
        initial: 'resume',
        on: { CSR_SIGNED: signed('renewed') },
        states: {
          resume: { always: [{ guard: 'retryPending', target: 'waiting' }, { target: 'sending' }] },
          sending: { entry: 'sendCsr', on: { CSR_REJECTED: rejected('expired') } },
          waiting: { after: { untilRetry: 'sending' } },
        },
      },
    },
  });
}

export type CertificateMachine = ReturnType<typeof createCertificateMachine>;

// ---------------------------------------------------------------------------
// The fleet: one agent per workload with a sidecar

export interface FleetWorkload {
  id: string;
  /** `spiffe://<td>/ns/<ns>/sa/<sa>`: the identity its service-account token proves. */
  spiffe: string;
  /** Simulated ms at which the pod (and its istio-agent) starts; default: when `start()` is called. */
  startAtMs?: number;
}

export interface CertificateFleetOptions {
  backoff?: Partial<CsrBackoff>;
}

export type CertStatus = 'none' | 'valid' | 'expired';

export interface CertState {
  status: CertStatus;
  cert: Certificate | null;
  reason: string;
}

export interface CertHistoryEntry {
  at: number;
  event: CertEventName;
  cert?: Certificate;
}

interface Agent {
  readonly workload: FleetWorkload;
  readonly actor: Actor<CertificateMachine>;
  readonly history: CertHistoryEntry[];
}

export class CertificateFleet {
  private readonly agents = new Map<string, Agent>();
  private readonly backoff: CsrBackoff;
  private started = false;

  constructor(
    private readonly k: Kernel,
    private readonly ca: MeshCa,
    workloads: readonly FleetWorkload[],
    opts: CertificateFleetOptions = {},
  ) {
    this.backoff = { ...DEFAULT_CSR_BACKOFF, ...opts.backoff };
    if (!(this.backoff.initialMs > 0) || !(this.backoff.maxMs >= this.backoff.initialMs)) {
      throw new RangeError(`CSR backoff needs 0 < initialMs <= maxMs, got ${JSON.stringify(this.backoff)}`);
    }
    for (const w of workloads) {
      if (this.agents.has(w.id)) throw new Error(`workload ${w.id} registered twice in the certificate fleet`);
      this.agents.set(w.id, this.createAgent({ ...w }));
    }
  }

  /** Start every agent; each sends its first CSR at its `startAtMs` (or now). Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const agent of this.agents.values()) {
      agent.actor.start();
      const at = Math.max(agent.workload.startAtMs ?? this.k.now, this.k.now);
      this.k.schedule(at - this.k.now, () => agent.actor.send({ type: 'START' }));
    }
  }

  /** What the workload's sidecar can present at `k.now`. */
  /** The certificate the workload's sidecar holds now (null: none, or not registered); cheap, for hot paths. */
  certOf(id: string): Certificate | null {
    return this.agents.get(id)?.actor.getSnapshot().context.cert ?? null;
  }

  stateAt(id: string): CertState {
    const agent = this.agents.get(id);
    if (agent === undefined) {
      return { status: 'none', cert: null, reason: `no certificate (never issued): ${id} has no istio-agent (no sidecar)` };
    }
    const snapshot = agent.actor.getSnapshot();
    const ctx = snapshot.context;
    const now = this.k.now;
    const problem = certificateProblem(ctx.cert, now);
    const failing =
      ctx.lastError === null
        ? ''
        : `; CSR failing: ${ctx.lastError} (${ctx.failures} attempt${ctx.failures === 1 ? '' : 's'}` +
          `${ctx.nextAttemptAt === null ? '' : `, next at ${formatSimTime(ctx.nextAttemptAt)}`})`;
    if (ctx.cert === null) {
      const pending = snapshot.matches('idle') ? `; istio-agent starts at ${formatSimTime(agent.workload.startAtMs ?? now)}` : '';
      return { status: 'none', cert: null, reason: `${problem ?? ''}${pending}${failing}` };
    }
    if (problem === null) {
      return {
        status: 'valid',
        cert: ctx.cert,
        reason: `certificate #${ctx.cert.serial} of ${ctx.cert.subject} valid until ${formatSimTime(ctx.cert.notAfter)}${failing}`,
      };
    }
    return { status: 'expired', cert: ctx.cert, reason: `${problem}${failing}` };
  }

  /** The agent's lifecycle phase (top-level machine state), or null for an unknown workload. */
  phase(id: string): CertPhase | null {
    const agent = this.agents.get(id);
    if (agent === undefined) return null;
    const value = agent.actor.getSnapshot().value;
    return (typeof value === 'string' ? value : Object.keys(value)[0]) as CertPhase;
  }

  /** Every transition of the workload's agent so far, oldest first. */
  history(id: string): CertHistoryEntry[] {
    return [...(this.agents.get(id)?.history ?? [])];
  }

  private createAgent(workload: FleetWorkload): Agent {
    const { k, ca } = this;
    const rng = k.rng(`cert/${workload.id}`);
    const history: CertHistoryEntry[] = [];
    const machine = createCertificateMachine({
      now: () => k.now,
      sign: () => ca.sign(workload.spiffe, k.now),
      uniform: rng,
      backoff: this.backoff,
      note: ({ event, to, context }) => {
        const withCert = event === 'issued' || event === 'renewed' || event === 'expired';
        history.push(withCert && context.cert !== null ? { at: k.now, event, cert: context.cert } : { at: k.now, event });
        k.record('cert', {
          workload: workload.id,
          event,
          to,
          ...(withCert && context.cert !== null
            ? { serial: context.cert.serial, notBefore: context.cert.notBefore, notAfter: context.cert.notAfter }
            : {}),
          ...(event === 'issued' || event === 'renewed' ? { renewAt: context.renewAt } : {}),
          ...(event === 'csr-rejected'
            ? { reason: context.lastError, attempt: context.failures, retryAt: context.nextAttemptAt }
            : {}),
        });
      },
    });
    const actor = createActor(machine, { clock: simClock(k) });
    // A failure inside the machine is a broken invariant: hand it to the
    // kernel so run() re-raises it instead of xstate throwing it on a real timer.
    actor.subscribe({
      error: (err) => {
        k.schedule(0, () => {
          throw err instanceof Error ? err : new Error(String(err));
        });
      },
    });
    return { workload, actor, history };
  }
}
