/**
 * `steal-credentials`: what does the attacker take from the foothold, valid
 * until when? `what: cert` takes the workload certificate the foothold's
 * proxy holds now (usable until its notAfter: rotation does not revoke it,
 * istio-semantics §1); `what: jwt` takes the bearer tokens the foothold
 * sends in its legitimate traffic. What is taken goes into the attacker's
 * state, for later steps (`impersonate using: stolen-cert`, `jwt: stolen`).
 * Nothing to take is `blocked` by the credential's validity: CertificateValidity
 * for a certificate, TokenValidity for a token (every token in use expired —
 * the reason says when — or none is in use).
 */
import { formatSimTime } from '../../sim/mesh/certificates.js';
import type { Outcome, StepResult } from '../types.js';
import type { ActionModule } from './types.js';

/** The claims of a compact JWT, without checking it; null when it is not one. */
export function peekJwt(token: string): { exp: number | null; nbf: number | null; sub: string | null; iss: string | null } | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    if (json === null || typeof json !== 'object' || Array.isArray(json)) return null;
    const o = json as { exp?: unknown; nbf?: unknown; sub?: unknown; iss?: unknown };
    return {
      exp: typeof o.exp === 'number' && Number.isFinite(o.exp) ? o.exp : null,
      nbf: typeof o.nbf === 'number' && Number.isFinite(o.nbf) ? o.nbf : null,
      sub: typeof o.sub === 'string' ? o.sub : null,
      iss: typeof o.iss === 'string' ? o.iss : null,
    };
  } catch {
    return null;
  }
}

/** An instant as ISO 8601, or in epoch milliseconds when it is beyond what a Date holds (a token's claims are anyone's). */
function isoOf(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms after the epoch` : d.toISOString();
}

/** At most this many expired tokens are named in a reason; the rest are counted. */
const MAX_NAMED_EXPIRED = 3;

function expiredReason(list: readonly string[]): string {
  const named = list.slice(0, MAX_NAMED_EXPIRED).join('; ');
  return list.length > MAX_NAMED_EXPIRED ? `${named}; and ${list.length - MAX_NAMED_EXPIRED} more expired` : named;
}

/** The bearer token in an Authorization header value, or null. */
export function bearerOf(value: string | undefined): string | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (v.length < 8 || v.slice(0, 7).toLowerCase() !== 'bearer ') return null;
  const token = v.slice(7).trim();
  return token.length > 0 ? token : null;
}

export const stealCredentialsAction: ActionModule = {
  action: 'steal-credentials',
  fields: ['what'],
  required: [{ field: 'what', hint: 'add what: cert (or jwt)' }],
  run(c, p) {
    const { k } = c;
    const t = k.now;
    const what = p.step.what as 'cert' | 'jwt';
    const w = c.workload(p.from);
    const held: NonNullable<StepResult['evidence']['stolen']> = [];
    if (what === 'cert' && w && c.hasCert.has(w.id)) {
      const state = c.fleet.stateAt(w.id);
      if (state.cert && state.status === 'valid') {
        held.push({ kind: 'certificate', subject: state.cert.subject, notAfter: state.cert.notAfter,
          validUntil: new Date(c.epochMs + state.cert.notAfter).toISOString(), validForMs: state.cert.notAfter - t,
          note: `usable for mTLS as ${state.cert.subject} until it expires at ${formatSimTime(state.cert.notAfter)}; rotation does not revoke it` });
        c.attacker.addCertificate({ spiffe: state.cert.subject, from: w.id, notBefore: state.cert.notBefore, notAfter: state.cert.notAfter, step: p.step.id });
      }
    }
    /** bearer tokens the foothold sends that had expired by now: what a JWT theft found but could not use */
    const expired: string[] = [];
    if (what === 'jwt') {
      for (const f of c.flows.filter((x) => x.from === p.from)) {
        const token = bearerOf(f.headers['authorization'] ?? f.headers['Authorization']);
        if (!token) continue;
        const claims = peekJwt(token);
        const exp = claims?.exp ?? null;
        const sub = claims?.sub ?? null;
        const nowS = (c.epochMs + t) / 1000;
        if (exp !== null && exp <= nowS) {
          expired.push(`the bearer token ${f.from} sends to ${f.to}${sub === null ? '' : ` (sub ${sub})`} expired at ${isoOf(exp * 1000)} (${formatSimTime(exp * 1000 - c.epochMs)})`);
          continue;
        }
        held.push({ kind: 'jwt', subject: sub ?? '(no sub)', notAfter: exp === null ? null : exp * 1000 - c.epochMs,
          validUntil: exp === null ? 'never (no exp claim)' : isoOf(exp * 1000), validForMs: exp === null ? null : exp * 1000 - (c.epochMs + t),
          note: `the bearer token ${f.from} sends to ${f.to}: anyone holding it passes as ${sub ?? 'its subject'}` });
        c.attacker.addToken({ token, subject: sub, issuer: claims?.iss ?? null, exp, source: `held by ${f.from} (sent to ${f.to})`, step: p.step.id });
      }
    }
    const outcome: Outcome = held.length > 0 ? 'allowed' : 'blocked';
    const reason = what === 'cert'
      ? (w && c.hasCert.has(w.id) ? `${w.id} holds no valid certificate now (${c.fleet.stateAt(w.id).reason})` : `${p.from} has no sidecar, so there is no workload certificate to take`)
      : expired.length > 0 ? expiredReason([...new Set(expired)]) : `no bearer token is in use at ${p.from}`;
    // What stops a theft is the credential's own validity: a certificate's for `what: cert`, a token's for `what: jwt`.
    const control = what === 'cert' ? 'CertificateValidity' : 'TokenValidity';
    c.finish(p, { ...c.base(p), outcome, code: null, mtls: null,
      stoppedBy: outcome === 'blocked' ? [{ control, name: p.from === 'outside' ? null : p.from, reason }] : [],
      expectationMet: null,
      evidence: { events: [{ t, hop: 'scenario', what: held.length > 0 ? `the attacker takes ${held.map((h) => `${h.kind} ${h.subject} (valid until ${h.validUntil})`).join('; ')}` : reason }], stolen: held } });
  },
};
