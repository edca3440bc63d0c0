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
import { candidateTokens, keySetsFor } from '../policy/request-authentication.js';
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

/** A private JWK (one with `d`) in the JWKS that validates tokens of `iss`, or a sentence saying why there is none. */
export function trustedKeyFor(mesh: Mesh, iss: string | undefined, standIns: Readonly<Record<string, string>>): { key: JWK } | { problem: string } {
  const rules = mesh.requestAuthentications.flatMap((ra) => ra.jwtRules).filter((r) => iss === undefined || r.issuer === iss);
  if (rules.length === 0) return { problem: `no RequestAuthentication has a jwtRule for issuer ${iss ?? '(none)'}` };
  for (const rule of rules) {
    const text = jwksTextOf(rule, standIns);
    if (text === undefined) continue;
    try {
      const doc = JSON.parse(text) as { keys?: JWK[] };
      const key = (doc.keys ?? []).find((k) => typeof k.d === 'string');
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
    return signToken(claims, { privateJwk: found.key, kid: typeof found.key.kid === 'string' ? found.key.kid : '' });
  }
}

/** The async half of JWT checks: every token this request carries against every key set of the mesh. */
export async function signaturesFor(mesh: Mesh, standIns: Readonly<Record<string, string>>, req: { headers: Readonly<Record<string, string>>; path: string; method: string }): Promise<SignatureTable> {
  const ras = mesh.requestAuthentications;
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) appendValue(lower, k.toLowerCase(), v);
  const tokens = candidateTokens(ras, { headers: lower, path: req.path, method: req.method });
  return verifySignatures(tokens, keySetsFor(ras, (uri) => ownValue(standIns, uri)));
}
