/**
 * The asynchronous half of JWT handling (istio-semantics §7): key derivation,
 * signing, and signature checks with `jose`. The request pipeline is
 * synchronous and pure, so signatures are checked ahead of time for every
 * (token, key set) pair a request may need (`verifySignatures`), and
 * src/policy/request-authentication.ts looks the answers up synchronously.
 * Claims (iss, exp/nbf, aud) are never judged here.
 *
 * Key selection follows Envoy's jwt_verify_lib (verify.cc), not jose's
 * createLocalJWKSet: a key is skipped when both it and the token carry a
 * `kid` and they differ, or when the key has an `alg` other than the token's;
 * every remaining key is tried. None left → 'no-matching-key' ("Jwks doesn't
 * have key to match kid or alg from Jwt"); some tried, none verified →
 * 'bad-signature' ("Jwt verification fails"). Keys the verifier cannot use
 * are skipped when the set is read; a set that is not JSON, has no `keys`
 * list or no usable key is 'bad-jwks'. A key set given as null (the JWKS
 * could not be fetched) answers 'jwks-fetch-failed' for every token.
 */
import { createHash, createPrivateKey, createPublicKey, verify as nodeVerify, constants as cryptoConstants, type JsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';
import { ownValue } from '../core/record.js';

/** jose is loaded on first use, keeping it out of the CLI's start-up for meshes without JWTs. */
const jose = (): Promise<typeof import('jose')> => import('jose');

export type { JWK } from 'jose';

export type SignatureResult = 'ok' | 'malformed' | 'no-matching-key' | 'bad-signature' | 'jwks-fetch-failed' | 'bad-jwks';

/** Answers of `verifySignatures`, looked up synchronously. */
export interface SignatureTable {
  /** Throws when the pair was not given to verifySignatures (a programming error). */
  check(token: string, keySetId: string): SignatureResult;
  has(token: string, keySetId: string): boolean;
}

/** A key set by id; `jwks` is the JWKS JSON text, null = it could not be fetched. */
export interface KeySet {
  id: string;
  jwks: string | null;
}

export interface SigningKey {
  privateJwk: JWK;
  publicJwk: JWK;
  kid: string;
}

/** Algorithms jwt_verify_lib implements; anything else is "Jwt header [alg] is not supported". */
export const JWT_ALGORITHMS: readonly string[] = [
  'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA',
];

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * A deterministic Ed25519 key (alg EdDSA): the private scalar is sha256(seed),
 * the kid the RFC 7638 thumbprint of the public key. Same seed → same key, and
 * since EdDSA signatures are deterministic, same claims → same token.
 */
export async function deriveSigningKey(seed: string): Promise<SigningKey> {
  const d = createHash('sha256').update(seed, 'utf8').digest().subarray(0, 32);
  const priv = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, d]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(priv);
  const publicBase = pub.export({ format: 'jwk' }) as JWK;
  const kid = await (await jose()).calculateJwkThumbprint(publicBase);
  const privateJwk: JWK = { ...(priv.export({ format: 'jwk' }) as JWK), kid, alg: 'EdDSA', use: 'sig' };
  const publicJwk: JWK = { ...publicBase, kid, alg: 'EdDSA', use: 'sig' };
  return { privateJwk, publicJwk, kid };
}

/** The JWKS JSON text for these public keys (private members are dropped). */
export function jwksOf(keys: readonly JWK[]): string {
  return JSON.stringify({ keys: keys.map(publicPart) });
}

/**
 * `jwks` with one more key (e.g. meshrange's trusted signer added to a
 * stand-in). null stays null: a set that could not be fetched stays unfetched.
 * Text that is not a JWK Set is returned unchanged.
 */
export function addKeyToJwks(jwks: string | null, key: JWK): string | null {
  if (jwks === null) return null;
  try {
    const doc: unknown = JSON.parse(jwks);
    if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) return jwks;
    const keys = (doc as { keys: unknown[] }).keys;
    return JSON.stringify({ ...doc, keys: [...keys, publicPart(key)] });
  } catch {
    return jwks;
  }
}

function defaultAlg(jwk: JWK): string {
  if (typeof jwk.alg === 'string') return jwk.alg;
  switch (jwk.kty) {
    case 'OKP': return 'EdDSA';
    case 'RSA': return 'RS256';
    case 'EC': return jwk.crv === 'P-384' ? 'ES384' : jwk.crv === 'P-521' ? 'ES512' : 'ES256';
    case 'oct': return 'HS256';
    default: throw new Error(`signToken: cannot sign with a key of type ${String(jwk.kty)}`);
  }
}

/**
 * A compact JWS over `JSON.stringify(claims)` (claims are not validated: an
 * attack may need a malformed `exp`). Header `{alg, kid, typ: "JWT"}`; `kid`
 * is left out when empty. alg: `key.alg`, else the JWK's, else by key type
 * (OKP → EdDSA, RSA → RS256, EC → ES256/384/512 by curve, oct → HS256).
 */
export async function signToken(claims: Record<string, unknown>, key: { privateJwk: JWK; kid: string; alg?: string }): Promise<string> {
  const alg = key.alg ?? defaultAlg(key.privateJwk);
  const { importJWK, CompactSign } = await jose();
  const k = await importJWK(key.privateJwk, alg);
  const header: { alg: string; kid?: string; typ: string } = key.kid ? { alg, kid: key.kid, typ: 'JWT' } : { alg, typ: 'JWT' };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(header).sign(k);
}

/** Checks the signature of every token against every key set. */
export async function verifySignatures(tokens: readonly string[], keySets: readonly KeySet[]): Promise<SignatureTable> {
  const results = new Map<string, SignatureResult>();
  const unique = [...new Set(tokens)];
  for (const ks of keySets) {
    const parsed = readKeySet(ks.jwks);
    for (const token of unique) {
      results.set(pairKey(token, ks.id), await verifyOne(token, parsed));
    }
  }
  return {
    check(token: string, keySetId: string): SignatureResult {
      const r = results.get(pairKey(token, keySetId));
      if (r === undefined) throw new Error(`verifySignatures was not asked about this token with key set ${keySetId}`);
      return r;
    },
    has(token: string, keySetId: string): boolean {
      return results.has(pairKey(token, keySetId));
    },
  };
}

function pairKey(token: string, keySetId: string): string {
  return `${keySetId}\u0000${token}`;
}

// ---------------------------------------------------------------------------

interface UsableKey {
  jwk: JWK;
  kty: string;
  /** '' when absent */
  kid: string;
  /** '' when absent */
  alg: string;
}

type ParsedKeySet = { kind: 'unfetched' } | { kind: 'bad' } | { kind: 'ok'; keys: UsableKey[] };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function b64urlValid(s: string): boolean {
  return B64URL.test(s) && s.replace(/=+$/, '').length % 4 !== 1;
}

/** jwt_verify_lib Jwks::createFromJwksCore: unusable keys are skipped, none left = invalid set. */
function readKeySet(text: string | null): ParsedKeySet {
  if (text === null) return { kind: 'unfetched' };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { kind: 'bad' };
  }
  if (!isRecord(doc) || !Array.isArray(doc['keys'])) return { kind: 'bad' };
  const keys: UsableKey[] = [];
  for (const k of doc['keys'] as unknown[]) {
    if (!isRecord(k)) continue;
    const usable = usableKey(k);
    if (usable) keys.push(usable);
  }
  return keys.length === 0 ? { kind: 'bad' } : { kind: 'ok', keys };
}

function usableKey(k: Record<string, unknown>): UsableKey | null {
  const kty = k['kty'];
  const alg = k['alg'] ?? '';
  const kid = k['kid'] ?? '';
  if (typeof kty !== 'string' || typeof alg !== 'string' || typeof kid !== 'string') return null;
  const str = (m: string): boolean => typeof k[m] === 'string' && b64urlValid(k[m] as string);
  switch (kty) {
    case 'RSA':
      if (alg !== '' && !alg.startsWith('RS') && !alg.startsWith('PS')) return null;
      if (!str('n') || !str('e')) return null;
      break;
    case 'EC': {
      if (alg !== '' && !alg.startsWith('ES')) return null;
      const crv = k['crv'] ?? '';
      if (typeof crv !== 'string') return null;
      const byAlg: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };
      if (alg !== '' && crv !== '' && ownValue(byAlg, alg) !== crv) return null;
      if (crv !== '' && !['P-256', 'P-384', 'P-521'].includes(crv)) return null;
      if (crv === '' && alg !== '' && ownValue(byAlg, alg) === undefined) return null;
      if (!str('x') || !str('y')) return null;
      break;
    }
    case 'oct':
      if (alg !== '' && !alg.startsWith('HS')) return null;
      if (!str('k')) return null;
      break;
    case 'OKP':
      if (alg !== '' && alg !== 'EdDSA') return null;
      if (k['crv'] !== 'Ed25519' || !str('x')) return null;
      break;
    default:
      return null;
  }
  return { jwk: k as JWK, kty, kid, alg };
}

/** The key type an alg needs (jwt_verify_lib only tries a key whose kty fits). */
function ktyFor(alg: string): string {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return 'RSA';
  if (alg.startsWith('ES')) return 'EC';
  if (alg.startsWith('HS')) return 'oct';
  return 'OKP';
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

function publicPart(jwk: JWK): JWK {
  const out: Record<string, unknown> = { ...jwk };
  if (jwk.kty !== 'oct') for (const m of PRIVATE_MEMBERS) delete out[m];
  return out as JWK;
}

/** What the verifier imports: public members only, no use/key_ops/ext restrictions. */
function importable(jwk: JWK): JWK {
  const out: Record<string, unknown> = { ...publicPart(jwk) };
  delete out['use'];
  delete out['key_ops'];
  delete out['ext'];
  delete out['alg'];
  return out as JWK;
}

interface CompactParts {
  header: Record<string, unknown>;
  alg: string;
  kid: string;
  /** the token rebuilt from its three non-empty sections */
  compact: string;
}

function parseCompact(token: string): CompactParts | null {
  const parts = token.split('.').filter((s) => s !== '');
  if (parts.length !== 3) return null;
  const [h, p, s] = parts as [string, string, string];
  if (!b64urlValid(h) || !b64urlValid(p) || !b64urlValid(s)) return null;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!isRecord(header)) return null;
  const alg = header['alg'];
  const kid = header['kid'] ?? '';
  if (typeof alg !== 'string' || !JWT_ALGORITHMS.includes(alg) || typeof kid !== 'string') return null;
  return { header, alg, kid, compact: `${h}.${p}.${s}` };
}

async function verifyOne(token: string, ks: ParsedKeySet): Promise<SignatureResult> {
  const t = parseCompact(token);
  if (!t) return 'malformed';
  if (ks.kind === 'unfetched') return 'jwks-fetch-failed';
  if (ks.kind === 'bad') return 'bad-jwks';
  let matched = false;
  for (const key of ks.keys) {
    if (t.kid !== '' && key.kid !== '' && key.kid !== t.kid) continue;
    if (key.alg !== '' && key.alg !== t.alg) continue;
    matched = true;
    if (key.kty !== ktyFor(t.alg)) continue;
    if (await signatureHolds(t, key)) return 'ok';
  }
  return matched ? 'bad-signature' : 'no-matching-key';
}

async function signatureHolds(t: CompactParts, key: UsableKey): Promise<boolean> {
  try {
    const { importJWK, compactVerify } = await jose();
    const k = await importJWK(importable(key.jwk), t.alg);
    await compactVerify(t.compact, k, { algorithms: [t.alg] });
    return true;
  } catch {
    // jose refuses RSA keys under 2048 bits, which Envoy accepts: check those with node:crypto.
    if (key.kty === 'RSA') return rsaFallback(t, key);
    return false;
  }
}

function rsaFallback(t: CompactParts, key: UsableKey): boolean {
  try {
    const pub = createPublicKey({ key: importable(key.jwk) as JsonWebKey, format: 'jwk' });
    const bits = pub.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits >= 2048) return false; // jose already judged it
    const [h, p, s] = t.compact.split('.') as [string, string, string];
    const hash = `sha${t.alg.slice(2)}`;
    const data = Buffer.from(`${h}.${p}`);
    const sig = Buffer.from(s, 'base64url');
    if (t.alg.startsWith('PS')) {
      return nodeVerify(hash, data, { key: pub, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: Number(t.alg.slice(2)) / 8 }, sig);
    }
    return nodeVerify(hash, data, pub, sig);
  } catch {
    return false;
  }
}
