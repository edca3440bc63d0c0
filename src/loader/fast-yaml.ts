/**
 * A fast reader for the plain subset of YAML that Kubernetes manifests are
 * mostly written in (and that `meshrange generate` writes): block mappings
 * and sequences, plain, single- and double-quoted one-line scalars, empty
 * `[]` / `{}`, whole-line comments and `---` separators. It gives exactly the
 * values the `yaml` package gives (core schema, the options of
 * yaml-source.ts) and the offset where each document's content starts, or
 * null for a whole file as soon as anything falls outside the subset — then
 * the caller parses the file with the `yaml` package as before, so every
 * error, warning and location of a file outside the subset is the package's.
 *
 * Why: at 100,000 generated workloads (118 MB of YAML) the `yaml` package's
 * lexer → CST → node tree → toJS took ~75 % of the load and most of its
 * garbage; this reads each line once and builds the plain values directly.
 * The node tree is never needed for a valid manifest (locations are asked for
 * only when something is wrong, and yaml-source.ts then re-parses the file
 * with the package, once).
 *
 * Refused (the file falls back to the package): tabs, CR, control and
 * line-break-like characters, a byte-order mark, `%` directives, `...`,
 * anchors, aliases, tags, merge keys, block scalars (`|`, `>`), flow
 * collections other than `[]` / `{}`, multi-line scalars, comments after
 * content, quoted or unusual keys, duplicate keys, `__proto__`, a top-level
 * value that is not a mapping or not at column 1, nesting deeper than
 * MAX_DEPTH, and anything whose indentation is not plainly consistent.
 * test/loader/fast-yaml.test.ts checks the values and offsets against the
 * package on the shipped manifests, generated meshes and random documents.
 */

/** One document of a file: its value, the offset of its content, and its place among the package's documents. */
export interface FastDoc {
  value: unknown;
  /** offset of the first character of the document's content (the package's contents.range[0]) */
  start: number;
  /** index of this document in the package's parseAllDocuments(text) (empty documents included) */
  position: number;
  /** the offsets of the document's segment (its first line's start, its last line's end), for fastShadow */
  lines: { from: number; to: number };
}

/**
 * The node starts of one document fastYaml read (same text, its `lines`),
 * for locating; null if the document cannot be read again (it always can).
 */
export function fastShadow(text: string, lines: { from: number; to: number }): Shadow | null {
  // only the document's own lines: a file of 10,000 documents is not walked from its start for each
  const triples: number[] = [];
  for (let s = lines.from; s <= lines.to;) {
    const nl = text.indexOf('\n', s);
    const e = nl < 0 || nl > lines.to ? lines.to : nl;
    let p = s;
    while (p < e && text.charCodeAt(p) === SP) p++;
    if (!(p === e || text.charCodeAt(p) === 0x23)) triples.push(p - s, p, e);
    if (nl < 0 || nl >= lines.to) break;
    s = nl + 1;
  }
  if (triples.length === 0) return null;
  try {
    const r = new BlockReader(text, Int32Array.from(triples), triples.length / 3, true);
    r.document();
    return r.shadow;
  } catch (err) {
    if (err === REFUSED) return null;
    throw err;
  }
}

/** Deepest block nesting read here; deeper files go to the package (which reports its own limits). */
export const MAX_DEPTH = 64;
/** Longest plain scalar starting like a number that is matched against the core schema here. */
const MAX_RESOLVED = 64;
/** Longest key read here. */
const MAX_KEY = 1000;

/**
 * Where each node of one document starts, for locating a path the way
 * yaml-source.ts does with the package's nodes: a collection's first entry (or
 * `[` / `{`), a scalar's first character (its quote), a key's first character.
 * EMPTY: a value left empty (`key:` or `-` alone), whose position the package
 * places by rules not copied here — the caller asks the package for those.
 */
export type Shadow = { kind: 'map'; start: number; keys: Map<string, { keyStart: number; node: Shadow }> }
  | { kind: 'seq'; start: number; items: Shadow[] }
  | { kind: 'flow'; start: number }
  | { kind: 'scalar'; start: number }
  | { kind: 'empty' };
const EMPTY: Shadow = { kind: 'empty' };

class Refused {
  // a marker thrown to leave the recursive reader; never escapes fastYaml
}
const REFUSED = new Refused();

const CORE_NULL = /^(?:~|[Nn]ull|NULL)?$/;
const CORE_BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const CORE_OCT = /^0o[0-7]+$/;
const CORE_INT = /^[-+]?[0-9]+$/;
const CORE_HEX = /^0x[0-9a-fA-F]+$/;
const CORE_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const CORE_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const CORE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/**
 * A plain scalar's value under the YAML 1.2 core schema, as the `yaml`
 * package resolves it (its tag order: null, bool, int (octal, decimal, hex),
 * float (nan/inf, exponent, decimal); otherwise the string itself).
 */
export function resolvePlain(s: string): unknown {
  if (CORE_NULL.test(s)) return null;
  const c = s.charCodeAt(0);
  // only null, bool and numbers resolve to something else, and they start with one of these
  if (!(c === 0x74 || c === 0x54 || c === 0x66 || c === 0x46 || c === 0x2e || c === 0x2b || c === 0x2d || (c >= 0x30 && c <= 0x39))) return s;
  if (CORE_BOOL.test(s)) return c === 0x74 || c === 0x54;
  if (CORE_OCT.test(s)) return parseInt(s.substring(2), 8);
  if (CORE_INT.test(s)) return parseInt(s, 10);
  if (CORE_HEX.test(s)) return parseInt(s.substring(2), 16);
  if (CORE_NAN.test(s)) return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (CORE_EXP.test(s) || CORE_FLOAT.test(s)) return parseFloat(s);
  return s;
}

const SP = 0x20;

/**
 * `text.slice(p, q)` as a string of its own. V8 answers a slice of 13 or more
 * characters with a view that keeps the whole file text alive: the mesh would
 * then hold every manifest's text for as long as it holds one name from it
 * (a 10,000-workload mesh held 21 MB of file texts that way). Short slices are
 * already copies; a long one is copied by flattening a concatenation.
 */
function cut(text: string, p: number, q: number): string {
  const s = text.slice(p, q);
  return q - p < 13 ? s : (' ' + s).slice(1);
}
const isKeyChar = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2f || c === 0x2d;
const isLetterKeyStart = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;

/*
 * The line tables of the file being read and the content lines of the document being read: typed arrays reused from
 * file to file (offsets fit: a string is shorter than 2^30), not lists pushed anew per file. Those lists lived as
 * long as their file's documents were read, long enough for the scavenger to promote them: 7.6 MB of the old
 * generation's garbage while a 10,000-workload mesh loads (sampled with objects collected by full GCs only). A table
 * grown past KEEP_LINES lines for a huge file is not kept.
 */
const KEEP_LINES = 1 << 16;
let lineStarts = new Int32Array(1024);
let lineEnds = new Int32Array(1024);
let contentLines = new Int32Array(3072);

function growLineTables(): void {
  const s = new Int32Array(lineStarts.length * 2);
  s.set(lineStarts);
  const e = new Int32Array(lineEnds.length * 2);
  e.set(lineEnds);
  lineStarts = s;
  lineEnds = e;
}

/**
 * The documents of `text`, or null when the file is outside the subset.
 * `onLine(offset)` is told the offset of every line start (0 first), as the
 * package's LineCounter is, when (and only when) the result is not null.
 */
export function fastYaml(text: string, onLine?: (offset: number) => void): FastDoc[] | null {
  // characters the subset never holds (and that the package may treat as breaks, or refuse)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < SP && c !== 0x0a) || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 || c === 0xfeff || (c >= 0xd800 && c <= 0xdfff)) return null;
  }
  // line starts and ends (without the '\n'), in the reused tables
  let nLines = 0;
  for (let s = 0; s <= text.length;) {
    const nl = text.indexOf('\n', s);
    const e = nl < 0 ? text.length : nl;
    if (!(nl < 0 && s === text.length && s > 0)) {
      if (nLines === lineStarts.length) growLineTables();
      lineStarts[nLines] = s;
      lineEnds[nLines] = e;
      nLines++;
    }
    if (nl < 0) break;
    s = nl + 1;
  }
  const starts = lineStarts;
  const ends = lineEnds;
  const docs: FastDoc[] = [];
  try {
    let position = 0;
    let seenSeparator = false;
    let first = 0;
    const flush = (from: number, to: number, afterSeparator: boolean): void => {
      // the content lines of one segment: [indent, contentStart, end], in the reused table (at most 3 per line)
      if (contentLines.length < 3 * (to - from)) contentLines = new Int32Array(Math.max(3 * (to - from), 2 * contentLines.length));
      const lines = contentLines;
      let k = 0;
      for (let l = from; l < to; l++) {
        const s = starts[l] as number;
        const e = ends[l] as number;
        let p = s;
        while (p < e && text.charCodeAt(p) === SP) p++;
        if (p === e || text.charCodeAt(p) === 0x23 /* # */) continue;
        lines[k] = p - s;
        lines[k + 1] = p;
        lines[k + 2] = e;
        k += 3;
      }
      if (k === 0) {
        // an empty segment after a separator is an (empty) document of its own; before the first, nothing
        if (afterSeparator) position++;
        return;
      }
      const r = new BlockReader(text, lines, k / 3, false);
      const value = r.document();
      docs.push({ value, start: lines[1] as number, position, lines: { from: starts[from] as number, to: ends[to - 1] as number } });
      position++;
    };
    for (let l = 0; l < nLines; l++) {
      const s = starts[l] as number;
      const e = ends[l] as number;
      const c = text.charCodeAt(s);
      if (c === 0x2d && e - s >= 3 && text.startsWith('---', s)) {
        if (e - s !== 3) throw REFUSED; // `--- x` or `----`: leave to the package
        flush(first, l, seenSeparator);
        seenSeparator = true;
        first = l + 1;
      } else if ((c === 0x2e && text.startsWith('...', s)) || c === 0x25 /* % */) {
        throw REFUSED;
      }
    }
    flush(first, nLines, seenSeparator);
  } catch (err) {
    if (err === REFUSED) return null;
    throw err;
  } finally {
    if (lineStarts.length > KEEP_LINES) { lineStarts = new Int32Array(1024); lineEnds = new Int32Array(1024); }
    if (contentLines.length > 3 * KEEP_LINES) contentLines = new Int32Array(3072);
  }
  if (onLine) {
    // the package's LineCounter: the start, then the offset after every '\n'
    onLine(0);
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', nl + 1)) onLine(nl + 1);
  }
  return docs;
}

/** Reads the block structure of one document's content lines (flat triples: indent, content start, line end). */
class BlockReader {
  private li = 0;
  private readonly n: number;
  /** the shadow of the value read last (tracking only) */
  shadow: Shadow = EMPTY;
  /** `lines`: the first `n` triples are the document's (the table may be longer) */
  constructor(private readonly text: string, private readonly lines: Int32Array, n: number, private readonly track: boolean) {
    this.n = n;
  }

  private indent(l: number): number { return this.lines[l * 3] as number; }
  private start(l: number): number { return this.lines[l * 3 + 1] as number; }
  private end(l: number): number { return this.lines[l * 3 + 2] as number; }

  document(): unknown {
    if (this.indent(0) !== 0) throw REFUSED;
    if (this.isSeqItem(this.start(0), this.end(0))) throw REFUSED; // a manifest is a mapping
    if (this.keyColon(this.start(0), this.end(0)) < 0) throw REFUSED;
    const v = this.map(0, this.start(0), 1);
    if (this.li !== this.n) throw REFUSED;
    return v;
  }

  private isSeqItem(p: number, e: number): boolean {
    return this.text.charCodeAt(p) === 0x2d && (p + 1 === e || this.text.charCodeAt(p + 1) === SP);
  }

  /** The offset of the ':' ending a plain key that starts at p (followed by a space or the line end), or -1. */
  private keyColon(p: number, e: number): number {
    const t = this.text;
    let q = p;
    while (q < e && isKeyChar(t.charCodeAt(q))) q++;
    if (q === p || q >= e || t.charCodeAt(q) !== 0x3a) return -1;
    if (q + 1 < e && t.charCodeAt(q + 1) !== SP) return -1;
    return q;
  }

  /** A block mapping whose keys sit at column `col`; its first key starts at `p` on the current line. */
  private map(col: number, p: number, depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw REFUSED;
    const t = this.text;
    const out: Record<string, unknown> = {};
    const sh: Shadow | null = this.track ? { kind: 'map', start: p, keys: new Map() } : null;
    const done = (): Record<string, unknown> => { if (sh) this.shadow = sh; return out; };
    for (;;) {
      const e = this.end(this.li);
      const colon = this.keyColon(p, e);
      if (colon < 0) throw REFUSED;
      const key = this.key(p, colon);
      if (Object.prototype.hasOwnProperty.call(out, key)) throw REFUSED; // the package reports duplicate keys
      let q = colon + 1;
      while (q < e && t.charCodeAt(q) === SP) q++;
      let value: unknown;
      if (q < e) {
        value = this.scalar(q, e);
        this.li++;
        if (this.li < this.n && this.indent(this.li) > col) throw REFUSED; // a continuation line or a nested block after a value
      } else {
        this.li++;
        value = this.nested(col, depth);
      }
      out[key] = value;
      if (sh && sh.kind === 'map') sh.keys.set(key, { keyStart: p, node: this.shadow });
      if (this.li >= this.n) return done();
      const ind = this.indent(this.li);
      if (ind < col) return done();
      if (ind > col) throw REFUSED;
      const s = this.start(this.li);
      if (this.isSeqItem(s, this.end(this.li))) {
        // a sequence item at the keys' column is not this mapping's: it ends here (the caller decides)
        return done();
      }
      p = s;
    }
  }

  /** The value of `key:` with nothing after it: a deeper block, a sequence at the key's column, or null. */
  private nested(col: number, depth: number): unknown {
    this.shadow = EMPTY;
    if (this.li >= this.n) return null;
    const ind = this.indent(this.li);
    const s = this.start(this.li);
    const e = this.end(this.li);
    if (ind > col) {
      if (this.isSeqItem(s, e)) return this.seq(ind, depth + 1);
      if (this.keyColon(s, e) < 0) throw REFUSED; // a scalar on its own line (multi-line plain), or else
      return this.map(ind, s, depth + 1);
    }
    if (ind === col && this.isSeqItem(s, e)) return this.seq(col, depth + 1);
    this.shadow = EMPTY;
    return null;
  }

  /** A block sequence whose `-` sit at column `col`; the current line is its first item. */
  private seq(col: number, depth: number): unknown[] {
    if (depth > MAX_DEPTH) throw REFUSED;
    const t = this.text;
    const out: unknown[] = [];
    const sh: Shadow | null = this.track ? { kind: 'seq', start: this.start(this.li), items: [] } : null;
    const done = (): unknown[] => { if (sh) this.shadow = sh; return out; };
    for (;;) {
      const s = this.start(this.li);
      const e = this.end(this.li);
      if (!this.isSeqItem(s, e)) throw REFUSED;
      let q = s + 1;
      while (q < e && t.charCodeAt(q) === SP) q++;
      if (q >= e) {
        this.li++;
        if (this.li < this.n && this.indent(this.li) > col) {
          const ind = this.indent(this.li);
          const s2 = this.start(this.li);
          const e2 = this.end(this.li);
          if (this.isSeqItem(s2, e2)) out.push(this.seq(ind, depth + 1));
          else if (this.keyColon(s2, e2) >= 0) out.push(this.map(ind, s2, depth + 1));
          else throw REFUSED;
        } else {
          out.push(null);
          this.shadow = EMPTY;
        }
      } else if (this.isSeqItem(q, e)) {
        throw REFUSED; // `- - x`
      } else if (this.keyColon(q, e) >= 0) {
        out.push(this.map(q - this.lineStartOf(this.li), q, depth + 1));
      } else {
        out.push(this.scalar(q, e));
        this.li++;
        if (this.li < this.n && this.indent(this.li) > col) throw REFUSED;
      }
      if (sh && sh.kind === 'seq') sh.items.push(this.shadow);
      if (this.li >= this.n) return done();
      const ind = this.indent(this.li);
      if (ind < col) return done();
      if (ind > col) throw REFUSED;
      if (!this.isSeqItem(this.start(this.li), this.end(this.li))) return done(); // the enclosing mapping's next key
    }
  }

  private lineStartOf(l: number): number {
    return this.start(l) - this.indent(l);
  }

  private key(p: number, colon: number): string {
    if (colon - p > MAX_KEY) throw REFUSED; // the package limits implicit keys to 1,024 characters
    const k = cut(this.text, p, colon);
    const c = k.charCodeAt(0);
    if (isLetterKeyStart(c)) {
      // plain keys that resolve to something else than their own text go to the package
      if (CORE_NULL.test(k) || CORE_BOOL.test(k) || CORE_NAN.test(k) || k === '__proto__') throw REFUSED;
      return k;
    }
    // a decimal key without sign or leading zero reads as that integer, whose property name is the same text
    if (c >= 0x31 && c <= 0x39 && k.length <= 9) {
      for (let i = 1; i < k.length; i++) { const d = k.charCodeAt(i); if (d < 0x30 || d > 0x39) throw REFUSED; }
      return k;
    }
    throw REFUSED;
  }

  /** A one-line scalar from p to the line end e. */
  private scalar(p: number, e: number): unknown {
    const t = this.text;
    if (this.track) this.shadow = { kind: t.charCodeAt(p) === 0x5b || t.charCodeAt(p) === 0x7b ? 'flow' : 'scalar', start: p };
    const c = t.charCodeAt(p);
    if (c === 0x22 /* " */) {
      let q = p + 1;
      for (; q < e; q++) {
        const d = t.charCodeAt(q);
        if (d === 0x22) break;
        if (d === 0x5c /* \ */) {
          const x = t.charCodeAt(q + 1);
          // JSON's escapes, which YAML's double quotes read the same way
          if (x === 0x75 /* u */) {
            for (let h = 2; h <= 5; h++) if (!isHex(t.charCodeAt(q + h))) throw REFUSED;
            q += 5;
          } else if (x === 0x22 || x === 0x5c || x === 0x2f || x === 0x62 || x === 0x66 || x === 0x6e || x === 0x72 || x === 0x74) {
            q += 1;
          } else {
            throw REFUSED;
          }
        }
      }
      if (q >= e) throw REFUSED; // unterminated on this line (a multi-line string)
      this.onlySpaces(q + 1, e);
      return JSON.parse(t.slice(p, q + 1)) as string;
    }
    if (c === 0x27 /* ' */) {
      let q = p + 1;
      for (; q < e; q++) {
        if (t.charCodeAt(q) === 0x27) {
          if (t.charCodeAt(q + 1) === 0x27 && q + 1 < e) { q++; continue; }
          break;
        }
      }
      if (q >= e) throw REFUSED;
      this.onlySpaces(q + 1, e);
      return cut(t, p + 1, q).replaceAll("''", "'");
    }
    if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (t.charCodeAt(p + 1) !== (c === 0x5b ? 0x5d : 0x7d)) throw REFUSED;
      this.onlySpaces(p + 2, e);
      return c === 0x5b ? [] : {};
    }
    // plain: a safe first character, then no comment, flow indicator or `: `, and no trailing `:`
    const next = t.charCodeAt(p + 1);
    const okStart = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2f
      || c === 0x7e || c === 0x2b || c === 0x24 || c === 0x28 || c === 0x3d || c >= 0xa0
      || (c === 0x2d && p + 1 < e && next !== SP);
    if (!okStart) throw REFUSED;
    let last = p;
    for (let q = p; q < e; q++) {
      const d = t.charCodeAt(q);
      if (d === 0x23 || d === 0x5b || d === 0x5d || d === 0x7b || d === 0x7d) throw REFUSED;
      if (d === 0x3a && (q + 1 === e || t.charCodeAt(q + 1) === SP)) throw REFUSED;
      if (d !== SP) last = q;
    }
    // the core-schema patterns run on short scalars only: a long one that may be a number goes to the package
    if (last + 1 - p > MAX_RESOLVED && (c === 0x2b || c === 0x2d || c === 0x2e || (c >= 0x30 && c <= 0x39))) throw REFUSED;
    return resolvePlain(cut(t, p, last + 1));
  }

  private onlySpaces(p: number, e: number): void {
    for (let q = p; q < e; q++) if (this.text.charCodeAt(q) !== SP) throw REFUSED;
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

interface ShadowReached { node: Shadow; keyStart: number | undefined }

function walkShadow(root: Shadow, path: readonly (string | number)[]): ShadowReached[] {
  const out: ShadowReached[] = [{ node: root, keyStart: undefined }];
  let node = root;
  for (const seg of path) {
    let next: ShadowReached | undefined;
    if (node.kind === 'map') {
      const e = node.keys.get(String(seg));
      if (e) next = { node: e.node, keyStart: e.keyStart };
    } else if (node.kind === 'seq') {
      const it = node.items[Number(seg)];
      if (it) next = { node: it, keyStart: undefined };
    }
    if (!next) break;
    out.push(next);
    node = next.node;
  }
  return out;
}

/**
 * The offset yaml-source.ts's locateIn finds for `path` with the package's
 * nodes (the deepest node reached; a collection reached by a key: the key),
 * or null when an empty value decides it (then ask the package).
 */
export function shadowLocate(root: Shadow, path: readonly (string | number)[]): number | null {
  const reached = walkShadow(root, path);
  const last = reached[reached.length - 1] as ShadowReached;
  const { node, keyStart } = last;
  if (node.kind === 'empty') return null;
  if (node.kind !== 'scalar' && keyStart !== undefined) return keyStart;
  return node.start;
}

/** The offset of locateKeyIn: the key of the last path element when it is reached by a key, else shadowLocate. */
export function shadowLocateKey(root: Shadow, path: readonly (string | number)[]): number | null {
  const reached = walkShadow(root, path);
  const last = reached.length === path.length + 1 ? reached[path.length] : undefined;
  if (path.length > 0 && last && last.keyStart !== undefined) return last.keyStart;
  return shadowLocate(root, path);
}
