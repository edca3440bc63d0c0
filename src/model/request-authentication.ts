/**
 * RequestAuthentication (security.istio.io v1 / v1beta1) as immutable data
 * (istio-semantics §7). The loader fills it (src/loader/request-authentication.ts),
 * judgement lives in src/policy/request-authentication.ts.
 */
import type { Labels, ObjectMeta, TargetRef } from './types.js';

/** A header a token may be read from; `prefix` (e.g. `Bearer `) is looked for in the value. */
export interface JwtHeaderLocation {
  name: string;
  prefix?: string;
}

export interface ClaimToHeader {
  header: string;
  /** claim name; nested claims as `a.b.c` */
  claim: string;
}

export interface JwtRule {
  /** token `iss` must equal it; absent = any issuer (only valid with jwksUri) */
  issuer?: string;
  /** token `aud` must contain one of these; empty = not checked */
  audiences: string[];
  jwksUri?: string;
  /** inline JWKS (JSON text) */
  jwks?: string;
  /** where the token is read; all three empty = `Authorization: Bearer` then `?access_token=` */
  fromHeaders: JwtHeaderLocation[];
  fromParams: string[];
  fromCookies: string[];
  /** default false: the header carrying the token is removed before the app */
  forwardOriginalToken: boolean;
  /** header that receives the base64url payload of a valid token */
  outputPayloadToHeader?: string;
  outputClaimToHeaders: ClaimToHeader[];
  /** claims split on spaces for request.auth.claims, in addition to `scope` and `permission` */
  spaceDelimitedClaims: string[];
  /** JWKS fetch timeout, as written (e.g. `5s`) */
  timeout?: string;
}

export interface RequestAuthentication {
  meta: ObjectMeta;
  /** null = no selector (namespace-wide, or mesh-wide in the root namespace) */
  selector: Labels | null;
  targetRefs: TargetRef[];
  jwtRules: JwtRule[];
}
