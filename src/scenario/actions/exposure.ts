/**
 * What a reader of one plaintext HTTP request learns (sniff): its path, its
 * header names, and the bearer tokens it carries — in `authorization`, in any
 * other header whose value is a compact JWT, or in a query parameter (the
 * `access_token` location RequestAuthentication also reads, istio-semantics §7).
 * Pure string work, no regular expression on the input.
 */
import { bearerOf } from './steal-credentials.js';

/**
 * What is shown of a secret in a report: its first 8 characters (every JWT
 * starts `eyJhbGci`, so a long one also shows its last 4, enough to tell two
 * apart and far too little to replay).
 */
export function redact(secret: string): string {
  if (secret.length >= 32) return `${secret.slice(0, 8)}…${secret.slice(-4)}`;
  return `${secret.slice(0, Math.min(8, Math.floor(secret.length / 2)))}…`;
}

function base64url(part: string): boolean {
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;
    if (!ok) return false;
  }
  return true;
}

/** A compact JWS: three base64url parts (the signature may be empty), header and payload non-empty. */
export function looksLikeJwt(text: string): boolean {
  const parts = text.split('.');
  if (parts.length !== 3) return false;
  const [h, p, sig] = parts as [string, string, string];
  return h.length > 0 && p.length > 0 && base64url(h) && base64url(p) && base64url(sig);
}

export interface ReadRequest {
  path: string;
  headers: string[];
  /** every bearer token, in the order found, without duplicates */
  tokens: string[];
}

function queryValues(path: string): string[] {
  const q = path.indexOf('?');
  if (q < 0) return [];
  const out: string[] = [];
  for (const pair of path.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const raw = pair.slice(eq + 1);
    let value = raw;
    try { value = decodeURIComponent(raw); } catch { /* a malformed escape: keep it as sent */ }
    out.push(value);
  }
  return out;
}

/** Reads one HTTP request as it crossed the wire (header names lower case). */
export function readRequest(r: { path: string; headers: Readonly<Record<string, string>> }): ReadRequest {
  const tokens: string[] = [];
  const add = (t: string | null): void => { if (t !== null && t.length > 0 && !tokens.includes(t)) tokens.push(t); };
  // Own entries only, sorted by name (never a lookup by a stranger's key).
  const entries = Object.entries(r.headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, value] of entries) {
    if (name === 'authorization') { add(bearerOf(value)); continue; }
    const candidate = bearerOf(value) ?? value.trim();
    if (looksLikeJwt(candidate)) add(candidate);
  }
  for (const v of queryValues(r.path)) if (looksLikeJwt(v)) add(v);
  const q = r.path.indexOf('?');
  return { path: q < 0 ? r.path : r.path.slice(0, q), headers: entries.map(([name]) => name), tokens };
}
