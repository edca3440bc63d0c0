/**
 * JWTs for scenarios (product.md §2): `token:` is a real compact JWT; `jwt:`
 * is a claim set meshrange signs itself — `signer: trusted` with a private key
 * found in the JWKS the validating RequestAuthentication uses (a stand-in file
 * may hold private JWKs; only their public half is ever served), `untrusted`
 * with a key derived from the seed that no JWKS knows.
 */
import { appendValue, ownValue } from '../core/record.js';
import type { Mesh } from '../model/types.js';
import type { JwtRule } from '../model/request-authentication.js';
import { deriveSigningKey, signToken, verifySignatures, type JWK, type SignatureTable } from '../policy/jwt-crypto.js';
import { candidateTokens, JWT_CLOCK_SKEW_SECONDS, keySetsFor } from '../policy/request-authentication.js';
import { looksLikeJwt } from './actions/exposure.js';
import { bearerOf, peekJwt } from './actions/steal-credentials.js';
import { parseDuration } from '../core/duration.js';
import { byCodeUnit } from '../core/text.js';

export interface ClaimSet {
  iss?: string | undefined;
  sub?: string | undefined;
  aud?: string | string[] | undefined;
  claims?: Record<string, unknown> | undefined;
  expiresIn?: string | undefined;
  issuedAt?: string | undefined;
  signer?: 'trusted' | 'untrusted' | undefined;
}

/** The JWKS text a rule validates with: inline, or the scenario's stand-in for its jwksUri. */
export function jwksTextOf(rule: JwtRule, standIns: Readonly<Record<string, string>>): string | undefined {
  return rule.jwks ?? (rule.jwksUri !== undefined ? ownValue(standIns, rule.jwksUri) : undefined);
}

/**
 * The jwtRules that say which key set signs an issuer's tokens: by default the mesh's own. The issuer's keys belong
 * to the issuer, not to the mesh that checks its tokens: when a scenario runs on another mesh than its own (an
 * exercise check on the trainee's manifests, assess's after side), the keys are found with the rules of the
 * scenario's own mesh, so that a RequestAuthentication deleted or repointed there changes what is checked, not
 * what clients send.
 */
export function signingRulesOf(mesh: Mesh): JwtRule[] {
  return mesh.requestAuthentications.flatMap((ra) => ra.jwtRules);
}

/** Whether the scenario has meshrange sign a token with an issuer's key (a claim set with signer trusted, the default). */
export function signsTrusted(spec: { tokens?: Readonly<Record<string, { signer?: string | undefined }>> | undefined; steps: readonly { jwt?: string | { signer?: string | undefined } | undefined }[] }): boolean {
  const trusted = (c: { signer?: string | undefined }): boolean => (c.signer ?? 'trusted') === 'trusted';
  return Object.values(spec.tokens ?? {}).some(trusted) || spec.steps.some((st) => st.jwt !== undefined && typeof st.jwt !== 'string' && trusted(st.jwt));
}

/** A private JWK (one with `d`) in the JWKS a rule for `iss` names (the first rule of `rules` with one), or why there is none and what to do. */
export function trustedKeyFor(rules: readonly JwtRule[], iss: string | undefined, standIns: Readonly<Record<string, string>>): { key: JWK } | { problem: string; fix: string } {
  const mine = rules.filter((r) => iss === undefined || r.issuer === iss);
  if (mine.length === 0) {
    const issuers = [...new Set(rules.map((r) => r.issuer).filter((x): x is string => x !== undefined))].sort(byCodeUnit);
    return {
      problem: `no RequestAuthentication has a jwtRule for issuer ${iss ?? '(none)'}${issuers.length > 0 ? ` (the mesh's issuers: ${issuers.slice(0, 4).join(', ')}${issuers.length > 4 ? ', …' : ''})` : ''}`,
      fix: issuers.length > 0 ? 'write iss as a jwtRule of the mesh names it, add a RequestAuthentication for the issuer, send a real token with `token:`, or use signer: untrusted'
        : 'add a RequestAuthentication with a jwtRule for the issuer, send a real token with `token:`, or use signer: untrusted (a key no JWKS knows)',
    };
  }
  let found = false;
  for (const rule of mine) {
    const text = jwksTextOf(rule, standIns);
    if (text === undefined) continue;
    found = true;
    try {
      const doc: unknown = JSON.parse(text);
      const keys = typeof doc === 'object' && doc !== null ? (doc as { keys?: unknown }).keys : undefined;
      const key = Array.isArray(keys) ? (keys as unknown[]).find((k): k is JWK => typeof k === 'object' && k !== null && typeof (k as JWK).d === 'string') : undefined;
      if (key) return { key };
    } catch {
      // an unreadable JWKS is reported by the loader
    }
  }
  if (!found) {
    const uris = mine.map((r) => r.jwksUri).filter((u): u is string => u !== undefined);
    return { problem: `no JWKS for issuer ${iss ?? '(any)'}: ${uris.length > 0 ? `its jwksUri ${uris[0] as string} has no stand-in file in spec.mesh.jwks` : 'its jwtRule has neither jwks nor jwksUri'}`,
      fix: 'name a stand-in file with the issuer\'s private key in spec.mesh.jwks for that jwksUri, or send a real token with `token:`' };
  }
  return { problem: `the JWKS for issuer ${iss ?? '(any)'} holds only public keys, so meshrange cannot sign a trusted token`,
    fix: 'put a private JWK in the stand-in file of spec.mesh.jwks, or send a real token with `token:`' };
}

export class TokenMinter {
  private untrusted: Promise<Awaited<ReturnType<typeof deriveSigningKey>>> | undefined;

  constructor(
    /** the jwtRules whose key sets sign trusted tokens (signingRulesOf) */
    private readonly rules: readonly JwtRule[],
    private readonly standIns: Readonly<Record<string, string>>,
    private readonly seed: number,
    /** simulated t=0 as seconds since the epoch */
    private readonly epoch: number,
  ) {}

  /** Signs `c` as issued at simulated time `atMs` (or its own issuedAt). */
  async mint(c: ClaimSet, atMs: number): Promise<string> {
    const iat = Math.floor(this.epoch + (c.issuedAt !== undefined ? (parseDuration(c.issuedAt) as number) : atMs) / 1000);
    const exp = iat + Math.floor((parseDuration(c.expiresIn ?? '1h') as number) / 1000);
    const claims: Record<string, unknown> = {};
    if (c.iss !== undefined) claims['iss'] = c.iss;
    if (c.sub !== undefined) claims['sub'] = c.sub;
    if (c.aud !== undefined) claims['aud'] = c.aud;
    claims['iat'] = iat;
    claims['exp'] = exp;
    Object.assign(claims, c.claims ?? {});
    if ((c.signer ?? 'trusted') === 'untrusted') {
      this.untrusted ??= deriveSigningKey(`meshrange/untrusted-signer/${this.seed}`);
      const k = await this.untrusted;
      return signToken(claims, k);
    }
    const found = trustedKeyFor(this.rules, c.iss, this.standIns);
    if ('problem' in found) throw new Error(found.problem);
    return signToken(claims, { privateJwk: found.key, kid: typeof found.key.kid === 'string' ? found.key.kid : '' });
  }
}

export interface TokenRequest {
  headers: Readonly<Record<string, string>>;
  path: string;
  method: string;
}

/**
 * The async half of JWT checks: every token this request carries (and any
 * `extra` ones it may carry when it runs) against every key set of the mesh.
 */
export async function signaturesFor(mesh: Mesh, standIns: Readonly<Record<string, string>>, req: TokenRequest, extra: readonly string[] = []): Promise<SignatureTable> {
  const ras = mesh.requestAuthentications;
  const tokens = candidateTokens(ras, { headers: lowerCased(req.headers), path: req.path, method: req.method });
  return verifySignatures([...tokens, ...extra], keySetsFor(ras, (uri) => ownValue(standIns, uri)));
}

function lowerCased(h: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) appendValue(out, k.toLowerCase(), v);
  return out;
}

/** The compact JWT in a header value (`Bearer <jwt>` or the bare token), or null — the same test sniff reads the wire with. */
export function jwtIn(value: string): string | null {
  const v = bearerOf(value) ?? value.trim();
  return looksLikeJwt(v) ? v : null;
}

/**
 * Every token an attacker can come to hold during a run: those the
 * legitimate flows carry, wherever they carry them (steal-credentials takes
 * the foothold's; a sniff reads them off the wire). A `jwt: stolen` step
 * replays one of them, so its signatures are checked ahead with the others.
 */
export function stealableTokens(mesh: Mesh, flows: readonly TokenRequest[]): string[] {
  const out = new Set<string>();
  for (const f of flows) {
    for (const t of candidateTokens(mesh.requestAuthentications, { headers: lowerCased(f.headers), path: f.path, method: f.method })) out.add(t);
    for (const v of Object.values(f.headers)) {
      const t = jwtIn(v);
      if (t !== null) out.add(t);
    }
  }
  return [...out];
}

/** When each token a request carries becomes valid and stops being valid (seconds since the epoch; null: no such claim). */
export function tokenTimes(mesh: Mesh, req: TokenRequest): { nbf: number | null; exp: number | null }[] {
  const out: { nbf: number | null; exp: number | null }[] = [];
  for (const t of stealableTokens(mesh, [req])) {
    const c = peekJwt(t);
    if (c && (c.exp !== null || c.nbf !== null)) out.push({ nbf: c.nbf, exp: c.exp });
  }
  return out;
}

/**
 * Which side of its time bounds each token is on at `nowSeconds`, with the
 * RequestAuthentication's 60 s clock skew (§7): e (not yet valid), v, x (expired).
 * Within one phase a JWT check decides the same, so decisions can be cached per phase.
 */
export function validityPhase(times: readonly { nbf: number | null; exp: number | null }[], nowSeconds: number): string {
  const now = Math.floor(nowSeconds); // as jwt_authn compares: whole seconds
  return times.map((t) => (t.nbf !== null && now + JWT_CLOCK_SKEW_SECONDS < t.nbf ? 'e'
    : t.exp !== null && now > t.exp + JWT_CLOCK_SKEW_SECONDS ? 'x' : 'v')).join('');
}
