/**
 * Leaf matchers of AuthorizationPolicy (istio-semantics §6.4, §6.6).
 *
 * - `abc` exact, `abc*` prefix, `*abc` suffix, `*` = a non-empty value is present.
 *   Only one leading or trailing `*` is special.
 * - `hosts` compare case-insensitively, everything else case-sensitively.
 * - Paths: templates `{*}` (one segment) and `{**}` (the rest, last only).
 * - No matcher here builds a regex from a policy value: a value comes from a
 *   stranger's manifest and a backtracking RegExp can take hours (issue 9).
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

/**
 * A `request.experimental.inline.headers[<name>]` value (§6.7) as Istio builds it: `*` alone is Envoy's present_match
 * (an empty header too); any other value becomes an RE2 full match that takes the header value as a list of elements
 * split at `,` (nothing trimmed, so `a, b` holds the element ` b`) and wants one element to be the value, or, for a
 * leading `*`, to end with the rest, or, for a trailing `*`, to start with the rest; a `*` anywhere else is literal.
 * The value itself may hold a `,`; the scans below match exactly the strings that regex
 * (`^V$|^V,.*|.*,V,.*|.*,V$`) matches, without a regex: a header value holds no line break, which `.` would not
 * cross (Envoy's codec refuses one before any filter).
 */
export function inlineHeaderMatcher(pattern: string): (value: string | null | undefined) => boolean {
  if (pattern === '*') return (v) => v !== null && v !== undefined;
  if (pattern.startsWith('*')) {
    const suffix = pattern.slice(1);
    const inner = `${suffix},`;
    return (v) => v !== null && v !== undefined && (v.endsWith(suffix) || v.includes(inner));
  }
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    const inner = `,${prefix}`;
    return (v) => v !== null && v !== undefined && (v.startsWith(prefix) || v.includes(inner));
  }
  const first = `${pattern},`;
  const middle = `,${pattern},`;
  const last = `,${pattern}`;
  return (v) => v !== null && v !== undefined
    && (v === pattern || v.startsWith(first) || v.endsWith(last) || v.includes(middle));
}

/** The characters Envoy's URI template lets `{*}` and `{**}` match (uri_template_internal.cc kLiteral: unreserved, `%`, and the sub-delims but `*` and `=`, `:`, `@`). */
const TEMPLATE_LITERAL = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()+,;:@") TEMPLATE_LITERAL[c.charCodeAt(0)] = 1;
const templateLiteral = (code: number): boolean => code < 128 && TEMPLATE_LITERAL[code] === 1;

/**
 * A path template (§6.6) as a matcher, without a regex, as Envoy compiles one: `{*}` is one segment of one or more
 * template characters (`[lit]+`), `{**}` any run, the empty one too, of template characters and `/` (`[lit/]*`)
 * that only literal segments may follow (the loader refuses any other template, as Istio does). `=` and `*` are no
 * template characters. Each character is looked at once, so a template decides in time linear in the path.
 */
function templateMatcher(pattern: string): (path: string) => boolean {
  const segs = pattern.split('/');
  const glob = segs.indexOf('{**}');
  const head = glob < 0 ? segs : segs.slice(0, glob);
  const tail = glob < 0 ? '' : segs.slice(glob + 1).map((x) => `/${x}`).join('');
  return (path) => {
    let pos = 0;
    for (let i = 0; i < head.length; i++) {
      if (i > 0) { if (path[pos] !== '/') return false; pos++; }
      const seg = head[i] as string;
      if (seg === '{*}') {
        const start = pos;
        while (pos < path.length && path.charCodeAt(pos) !== 47) {
          if (!templateLiteral(path.charCodeAt(pos))) return false;
          pos++;
        }
        if (pos === start) return false;
      } else {
        if (!path.startsWith(seg, pos)) return false;
        pos += seg.length;
      }
    }
    if (glob < 0) return pos === path.length;
    if (glob > 0) { if (path[pos] !== '/') return false; pos++; }
    const end = path.length - tail.length;
    if (end < pos || !path.endsWith(tail)) return false;
    for (let k = pos; k < end; k++) {
      const code = path.charCodeAt(k);
      if (code !== 47 && !templateLiteral(code)) return false;
    }
    return true;
  };
}

/** `pathMatch` with the pattern compiled once. */
export function pathMatcher(pattern: string): (path: string) => boolean {
  if (!pattern.includes('{')) return stringMatcher(pattern);
  return templateMatcher(pattern);
}

/** A `paths` value: a template when it has `{*}`/`{**}`, else a string pattern. */
export function pathMatch(pattern: string, path: string): boolean {
  return pathMatcher(pattern)(path);
}

/**
 * A glob where every `*` stands for any run of characters (the empty run too)
 * and everything else is literal: §6.5 `namespaces`, whose `*` Istio turns
 * into `.*` of a regex. Matched without backtracking: the pieces between the
 * stars must appear in order, and placing each at its leftmost occurrence is
 * exact for such globs, so `*a*a*a*a*a*a*a*a*a*a*b` against a long name takes
 * microseconds where the regex takes hours.
 */
export function globMatcher(pattern: string): (value: string) => boolean {
  const pieces = pattern.split('*');
  if (pieces.length === 1) return (v) => v === pattern;
  const first = pieces[0] as string;
  const last = pieces[pieces.length - 1] as string;
  const middle = pieces.slice(1, -1).filter((x) => x !== '');
  return (v) => {
    if (v.length < first.length + last.length || !v.startsWith(first) || !v.endsWith(last)) return false;
    const end = v.length - last.length;
    let pos = first.length;
    for (const piece of middle) {
      const at = v.indexOf(piece, pos);
      if (at < 0 || at + piece.length > end) return false;
      pos = at + piece.length;
    }
    return true;
  };
}

export type NormalizedPath =
  | { ok: true; path: string; query: string }
  | { ok: false; status: 400; reason: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;

export function normalizePath(raw: string, mode: PathNormalization): NormalizedPath {
  // Istio runs Envoy with http_reject_path_with_fragment off: the connection manager drops a `#fragment` from the
  // path before any filter (RBAC included) or the app sees it
  const h = raw.indexOf('#');
  const noFragment = h >= 0 ? raw.slice(0, h) : raw;
  const q = noFragment.indexOf('?');
  let path = q >= 0 ? noFragment.slice(0, q) : noFragment;
  const query = q >= 0 ? noFragment.slice(q + 1) : '';
  if (untouched(path)) return { ok: true, path, query };
  return normalizeSteps(path, query, mode);
}

/** normalizePath's steps, each taken (normalizePath skips them for a path none of them changes; tests compare the two) */
export function normalizeSteps(rawPath: string, query: string, mode: PathNormalization): NormalizedPath {
  let path = rawPath;
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

/**
 * A path no normalization changes: it starts with `/` and holds only letters, digits, `-`, `_`, `~` and single
 * slashes (no `%` to decode, no backslash, no `//` to merge, no dot segment).
 */
function untouched(path: string): boolean {
  if (path.length === 0 || path.charCodeAt(0) !== 47) return false;
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 47) { if (path.charCodeAt(i - 1) === 47) return false; continue; }
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95 || c === 126;
    if (!ok) return false;
  }
  return true;
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
