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
 * A private JWK (one with `d`) in the JWKS that validates tokens of `iss`, or a sentence saying why there is none.
 * `unvalidated`: no jwtRule of the mesh names the issuer, so nothing in the mesh checks such a token's signature
 * (a RequestAuthentication applying to a workload refuses it as an unknown issuer, whatever signed it; with none, it
 * is not read at all). The issuer still signs its tokens: meshrange signs with a key of its own for that issuer
 * (TokenMinter), and the sentence says so. A defender who deletes the RequestAuthentication meets this: the run
 * goes on and shows what the mesh then does with the tokens clients still send.
 */
export function trustedKeyFor(mesh: Mesh, iss: string | undefined, standIns: Readonly<Record<string, string>>): { key: JWK } | { problem: string } | { unvalidated: string } {
  const rules = mesh.requestAuthentications.flatMap((ra) => ra.jwtRules).filter((r) => iss === undefined || r.issuer === iss);
  if (rules.length === 0) {
    return { unvalidated: `no RequestAuthentication of the mesh has a jwtRule for issuer ${iss ?? '(none: the token has no iss)'}, so nothing in the mesh validates its tokens; meshrange signs this one with a key of its own for that issuer` };
  }
  for (const rule of rules) {
    const text = jwksTextOf(rule, standIns);
    if (text === undefined) continue;
    try {
      const doc: unknown = JSON.parse(text);
      const keys = typeof doc === 'object' && doc !== null ? (doc as { keys?: unknown }).keys : undefined;
      const key = Array.isArray(keys) ? (keys as unknown[]).find((k): k is JWK => typeof k === 'object' && k !== null && typeof (k as JWK).d === 'string') : undefined;
      if (key) return { key };
    } catch {
      // an unreadable JWKS is reported by the loader
    }
  }
  return { problem: `the JWKS for issuer ${iss ?? '(any)'} holds only public keys, so meshrange cannot sign a trusted token; put a private JWK in the stand-in file of spec.mesh.jwks, or send a real token with \`token:\`` };
}

export class TokenMinter {
  private untrusted: Promise<Awaited<ReturnType<typeof deriveSigningKey>>> | undefined;

  constructor(
    private readonly mesh: Mesh,
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
    const found = trustedKeyFor(this.mesh, c.iss, this.standIns);
    if ('problem' in found) throw new Error(found.problem);
    if ('unvalidated' in found) {
      // the issuer's own key, as far as meshrange can know it: one per (seed, issuer), never the untrusted signer's
      return signToken(claims, await deriveSigningKey(`meshrange/issuer-signer/${this.seed}/${c.iss ?? ''}`));
    }
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
