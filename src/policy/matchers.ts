/**
 * Leaf matchers of AuthorizationPolicy (istio-semantics §6.4, §6.6).
 *
 * - `abc` exact, `abc*` prefix, `*abc` suffix, `*` = a non-empty value is present.
 *   Only one leading or trailing `*` is special.
 * - `hosts` compare case-insensitively, everything else case-sensitively.
 * - Paths: templates `{*}` (one segment) and `{**}` (the rest, last only).
 * - Path normalization (§6.6, meshConfig pathNormalization, default BASE):
 *   single %HH decoding of unreserved characters, `\` → `/`, RFC 3986
 *   dot-segment removal; `%2F`/`%5C` decoded only with DECODE_AND_MERGE_SLASHES;
 *   `//` merged only with MERGE_SLASHES and above; `%00` → 400.
 */
import type { PathNormalization } from '../model/types.js';

export function stringMatch(pattern: string, value: string | null | undefined, caseInsensitive = false): boolean {
  if (value === null || value === undefined) return false;
  let p = pattern;
  let v = value;
  if (caseInsensitive) { p = p.toLowerCase(); v = v.toLowerCase(); }
  if (p === '*') return v !== '';
  if (p.startsWith('*')) return v.endsWith(p.slice(1));
  if (p.endsWith('*')) return v.startsWith(p.slice(0, -1));
  return v === p;
}

/**
 * `stringMatch` with the pattern taken apart once: the matcher the compiled
 * AuthorizationPolicy evaluator keeps per value. Same semantics, pinned by a
 * property test against stringMatch.
 */
export function stringMatcher(pattern: string, caseInsensitive = false): (value: string | null | undefined) => boolean {
  const p = caseInsensitive ? pattern.toLowerCase() : pattern;
  const norm = caseInsensitive ? (v: string): string => v.toLowerCase() : (v: string): string => v;
  if (p === '*') return (v) => v !== null && v !== undefined && v !== '';
  if (p.startsWith('*')) {
    const suffix = p.slice(1);
    return (v) => v !== null && v !== undefined && norm(v).endsWith(suffix);
  }
  if (p.endsWith('*')) {
    const prefix = p.slice(0, -1);
    return (v) => v !== null && v !== undefined && norm(v).startsWith(prefix);
  }
  return (v) => v !== null && v !== undefined && norm(v) === p;
}

const templateCache = new Map<string, RegExp>();

/** The regex of a path template: `{*}` one segment, `{**}` the rest. */
function templateRe(pattern: string): RegExp {
  let re = templateCache.get(pattern);
  if (!re) {
    const body = pattern.split('/').map((seg) => {
      if (seg === '{*}') return '[^/]+';
      if (seg === '{**}') return '.+';
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }).join('/');
    re = new RegExp(`^${body}$`);
    templateCache.set(pattern, re);
  }
  return re;
}

/** `pathMatch` with the pattern compiled once. */
export function pathMatcher(pattern: string): (path: string) => boolean {
  if (!pattern.includes('{')) return stringMatcher(pattern);
  const re = templateRe(pattern);
  return (path) => re.test(path);
}

/** A `paths` value: a template when it has `{*}`/`{**}`, else a string pattern. */
export function pathMatch(pattern: string, path: string): boolean {
  if (!pattern.includes('{')) return stringMatch(pattern, path);
  return templateRe(pattern).test(path);
}

export type NormalizedPath =
  | { ok: true; path: string; query: string }
  | { ok: false; status: 400; reason: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;

export function normalizePath(raw: string, mode: PathNormalization): NormalizedPath {
  const q = raw.indexOf('?');
  let path = q >= 0 ? raw.slice(0, q) : raw;
  const query = q >= 0 ? raw.slice(q + 1) : '';
  if (/%00/.test(path)) return { ok: false, status: 400, reason: 'path contains %00' };
  if (mode === 'NONE') return { ok: true, path, query };
  path = path.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    if (UNRESERVED.test(ch)) return ch;
    if (mode === 'DECODE_AND_MERGE_SLASHES' && (ch === '/' || ch === '\\')) return '/';
    return m.toUpperCase();
  });
  path = path.replace(/\\/g, '/');
  if (mode === 'MERGE_SLASHES' || mode === 'DECODE_AND_MERGE_SLASHES') path = path.replace(/\/{2,}/g, '/');
  path = removeDotSegments(path);
  if (!path.startsWith('/')) path = `/${path}`;
  return { ok: true, path, query };
}

/** RFC 3986 §5.2.4. */
export function removeDotSegments(input: string): string {
  const out: string[] = [];
  const segs = input.split('/');
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] as string;
    const last = i === segs.length - 1;
    if (s === '.') { if (last) out.push(''); continue; }
    if (s === '..') {
      if (out.length > 1) out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  const joined = out.join('/');
  return joined === '' ? '/' : joined;
}
