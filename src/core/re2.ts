/**
 * RE2 regular expressions, as Envoy's `safe_regex` and Istio's validation
 * (Go's regexp, the same RE2 syntax) read them. JavaScript's RegExp
 * backtracks: `(a+)+$` against forty `a`s and a `!` takes minutes. The regexes
 * of a manifest come from strangers, so they run on re2js, a pure JavaScript
 * port of RE2 whose matching time is linear in the subject, never on RegExp.
 *
 * - Syntax is RE2's: `(?i)` and the other flags, `(?P<name>…)`, `\A`, `\z`,
 *   `[[:alpha:]]`, `\pL`; lookaround and backreferences are not RE2 and are
 *   refused with the parser's reason, as Istio's validation refuses them.
 * - A match is a full match of the value (Envoy's `safe_regex` matcher).
 * - `replaceAll` is RE2::GlobalReplace, which Envoy's `regex_rewrite` calls:
 *   `\0`–`\9` in the rewrite insert a group, `\\` a backslash; an empty match
 *   right after the previous match is skipped (unlike String.replace).
 */
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

/**
 * re2js (260 KB) is loaded on first use: most meshes hold no regex, and every
 * CLI start would pay for it (benchmarks.md T4.1). scripts/bundle.mjs turns
 * this call into a plain require, which esbuild bundles as a lazy module.
 */
let engine: typeof import('re2js') | undefined;
function re2js(): typeof import('re2js') {
  engine ??= createRequire(import.meta.url)('re2js') as typeof import('re2js');
  return engine;
}

/** Istio's validation refuses a regex longer than this (validation.go validateStringMatchRegexp). */
export const MAX_REGEX_LENGTH = 1024;

/** RE2's EmptyOp flag for `^` / `\A` at the start of the text. */
const EMPTY_BEGIN_TEXT = 4;

export interface Re2 {
  readonly source: string;
  /** true when the regex matches the whole value */
  matches(value: string): boolean;
  /** every non-overlapping match replaced by `rewrite` (RE2::GlobalReplace); null when the result would be longer than `maxOut` */
  replaceAll(input: string, rewrite: string, maxOut?: number): string | null;
  /** RE2's program size: the number of instructions the regex compiles to (what a match costs per character) */
  readonly programSize: number;
  /** every match must start at the beginning of the text (RE2's start condition holds kEmptyBeginText): a search is one scan */
  readonly anchoredStart: boolean;
}

const cache = new Map<string, Re2 | string>();

/** The compiled regex, or the reason it is not valid RE2. Compiled once per pattern. */
export function compileRe2(pattern: string): Re2 | string {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  const out = compile(pattern);
  if (cache.size > 10_000) cache.clear(); // patterns come from manifests: keep the cache bounded
  cache.set(pattern, out);
  return out;
}

function compile(pattern: string): Re2 | string {
  if (pattern === '') return 'regex string match should not be empty';
  if (pattern.length > MAX_REGEX_LENGTH) return `regex is too large, max length allowed is ${MAX_REGEX_LENGTH}`;
  let re: RE2JS;
  try {
    re = re2js().RE2JS.compile(pattern);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return `not a valid RE2 regular expression: ${msg.replace(/^error parsing regexp: /, '')}`;
  }
  return {
    source: pattern,
    matches: (value: string) => re.testExact(value),
    replaceAll: (input: string, rewrite: string, maxOut = Infinity) => globalReplace(re, input, rewrite, maxOut),
    programSize: re.programSize(),
    // re2js keeps RE2's start condition on its compiled RE2 (`re2Input.cond`); without it, the pessimistic answer
    anchoredStart: (startCond(re) & EMPTY_BEGIN_TEXT) !== 0,
  };
}

/** RE2's start condition of a compiled re2js regex (0 when re2js does not expose it: not anchored). */
function startCond(re: RE2JS): number {
  const cond = (re as unknown as { re2Input?: { cond?: unknown } }).re2Input?.cond;
  return typeof cond === 'number' ? cond : 0;
}

function globalReplace(re: RE2JS, input: string, rewrite: string, maxOut: number): string | null {
  const m = re.matcher(input);
  const n = input.length;
  let out = '';
  let p = 0;
  let lastEnd = -1;
  while (p <= n && m.find(p)) {
    const s = m.start();
    const e = m.end();
    out += input.slice(p, s);
    if (s === e && s === lastEnd) {
      // an empty match where the previous one ended: copy one character and move on
      if (p < n) out += input[p] as string;
      p++;
      continue;
    }
    out += expand(rewrite, (g) => (g <= m.groupCount() ? m.group(g) ?? '' : ''));
    if (out.length > maxOut) return null;
    p = e;
    lastEnd = e;
  }
  return p < n ? out + input.slice(p) : out;
}

/** RE2::Rewrite: `\N` is group N, `\\` a backslash, anything else is copied as written. */
function expand(rewrite: string, group: (n: number) => string): string {
  let out = '';
  for (let i = 0; i < rewrite.length; i++) {
    const ch = rewrite[i] as string;
    const next = rewrite[i + 1];
    if (ch === '\\' && next !== undefined && next >= '0' && next <= '9') { out += group(Number(next)); i++; continue; }
    if (ch === '\\' && next === '\\') { out += '\\'; i++; continue; }
    out += ch;
  }
  return out;
}
