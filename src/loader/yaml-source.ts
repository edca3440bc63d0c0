/**
 * YAML text → documents that remember where every node came from, so that
 * any problem found later can be reported as file:line:col. Pure: takes text
 * and a file name, never touches the file system.
 */
import { Composer, CST, Lexer, LineCounter, Parser, parseAllDocuments, isAlias, isNode, isCollection, isMap, isPair, isScalar, isSeq, visit, type Document, type YAMLMap } from 'yaml';
import type { IssueList, Location } from '../core/issues.js';
import { grouped } from '../core/text.js';
import { fastShadow, fastYaml, shadowLocate, shadowLocateKey, type Shadow } from './fast-yaml.js';

export type Path = readonly (string | number)[];

export interface SourceDoc {
  file: string;
  /** index of the document in its file */
  index: number;
  value: unknown;
  locate(path: Path): Location;
  /** where the key of the last path element is written (falls back to locate) */
  locateKey(path: Path): Location;
  /** the text of a 1-based line of the file */
  lineText(line: number): string;
}

/** Most aliases a file may expand; more is treated as an alias bomb. */
export const MAX_ALIAS_COUNT = 100;

/**
 * `shift` maps positions of an embedded document (e.g. the `mesh` key of the
 * istio ConfigMap) back into the file that holds it.
 */
export function parseYaml(file: string, text: string, issues: IssueList, shift?: (l: Location) => Location): SourceDoc[] {
  return [...streamYaml(file, text, issues, { shift, keepNodes: true })];
}

export interface StreamOptions {
  shift?: ((l: Location) => Location) | undefined;
  /**
   * true: every SourceDoc keeps its parsed Document (node tree with source
   * ranges) for as long as it lives. false: a SourceDoc keeps it only until
   * the consumer asks for the next one; after that, a location inside it
   * (any path but the document itself) re-parses the file once, on the first
   * such request, and reads it from there. The locations are the same either
   * way; false keeps one document's nodes in memory instead of the file's.
   */
  keepNodes: boolean;
}

/**
 * The documents of a file, one at a time, as the yaml parser composes them:
 * what parseYaml returns, without holding every document's node tree at once
 * (loader/load.ts reads each manifest while its nodes are at hand, then lets
 * them go). Issues found while parsing are reported as each document is
 * reached, in the same order as parseYaml reports them.
 */
export function* streamYaml(file: string, text: string, issues: IssueList, opts: StreamOptions): Generator<SourceDoc, void, undefined> {
  const { shift } = opts;
  if (text.includes('\u0000')) {
    issues.error('binary-file', 'file is binary (contains NUL bytes), not YAML', { file, line: 1, col: 1 },
      'point meshrange at Kubernetes/Istio YAML files only');
    return;
  }
  const lc = new LineCounter();
  const at = (line: number, col: number): Location => (shift ? shift({ file, line, col }) : { file, line, col });
  const posOf = (offset: number): Location => {
    const p = lc.linePos(offset);
    return at(p.line, p.col);
  };
  let lines: string[] | undefined;
  const lineText = (line: number): string => (lines ??= text.split('\n'))[line - 1] ?? '';
  // The whole file parsed again with the same options, for locations asked after a document was let go;
  // the same parser over the same text composes the same documents, at the same positions of the stream.
  let reparsed: Document.Parsed[] | undefined;
  const reparse = (): Document.Parsed[] => {
    if (reparsed === undefined) {
      const all = parseAllDocuments(text, PARSE_OPTIONS);
      reparsed = Array.isArray(all) ? all as Document.Parsed[] : [];
    }
    return reparsed;
  };
  // The plain subset most manifests are written in: read directly, without the package's node trees
  // (fast-yaml.ts: same values, same content offsets; null, and the package below, for anything else).
  // Only when the nodes are not kept: every location but a document's own is then found by re-parsing.
  const fast = !opts.keepNodes && shift === undefined ? fastYaml(text, lc.addNewLine) : null;
  if (fast !== null) {
    for (const d of fast) {
      // no document of the subset has an error, so its index among the file's documents is its position
      const pos = d.position;
      const whole = posOf(d.start);
      // the closures below outlive the document (a workload keeps one to locate its annotations): they hold its line range, not its value
      const segment = d.lines;
      const nodes = (): Document.Parsed => reparse()[pos] as Document.Parsed;
      // node starts from reading this one document again (cheap), the package's nodes where an empty value decides
      let shadow: Shadow | null | undefined;
      const sh = (): Shadow | null => (shadow === undefined ? (shadow = fastShadow(text, segment)) : shadow);
      const fastAt = (path: Path, key: boolean): Location => {
        const root = sh();
        const off = root === null ? null : key ? shadowLocateKey(root, path) : shadowLocate(root, path);
        if (off !== null) return posOf(off);
        return key ? locateKeyIn(nodes(), path, posOf) : locateIn(nodes(), path, posOf);
      };
      yield {
        file, index: pos, value: d.value, lineText,
        locate: (path) => (path.length === 0 ? whole : fastAt(path, false)),
        locateKey: (path) => fastAt(path, true),
      };
    }
    return;
  }
  const heavy = heavyDocument(text, MAX_PACKAGE_NODES);
  if (heavy !== null) {
    // the line counter has seen no line yet (the parser feeds it): the line and column from the text
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf('\n'); i >= 0 && i < heavy; i = text.indexOf('\n', i + 1)) { line++; lineStart = i + 1; }
    issues.error('yaml-too-large', `this document holds more than ${grouped(MAX_PACKAGE_NODES)} YAML nodes, and it is not in the plain block style meshrange reads directly`, at(line, heavy - lineStart + 1),
      'split the document, or write it in plain block style (no flow collections, tags, anchors or trailing comments)');
    return;
  }
  const composer = new Composer(PARSE_OPTIONS);
  let index = 0;
  let position = -1;
  let syntaxErrors = 0;
  for (const doc of composer.compose(new Parser(lc.addNewLine).parse(text))) {
    position++;
    const dupes = duplicateKeys(doc);
    const errors = dupes.length === 0 ? doc.errors : withKeyProblems(doc.errors, dupes);
    if (errors.length > 0) {
      for (const e of errors) {
        // A file that is not YAML at all (a README, a binary that passed the sniff) gives an error per line: say the first few.
        if (++syntaxErrors > MAX_SYNTAX_ERRORS) {
          if (syntaxErrors === MAX_SYNTAX_ERRORS + 1) {
            issues.error('yaml-syntax', `more YAML errors follow the first ${MAX_SYNTAX_ERRORS}; the rest of the file is not read`, posOf(e.pos[0]),
              'is this file YAML at all? fix the first errors, or leave the file out');
          }
          continue;
        }
        // parseAllDocuments' prettyErrors sets linePos[0] = linePos(pos[0]) (or none when pos[0] is -1); the same position either way.
        if (/call stack/i.test(e.message)) {
          // where the parser's stack ran out depends on the JIT's frame sizes: say where the nesting gets too deep
          // instead, the same on every run (deepFlowAt), else where the document starts
          issues.error('yaml-too-deep', 'the document nests too deeply to be a Kubernetes manifest', posOf(deepFlowAt(text, doc.range?.[0] ?? 0, e.pos[0]) ?? doc.range?.[0] ?? 0),
            'check the file: manifests nest a few dozen levels at most');
          break;
        }
        // Without prettyErrors the message has no " at line L, column C" suffix; stripped all the same, as before.
        issues.error('yaml-syntax', firstLine(e.message).replace(/ at line \d+, column \d+:?$/, ''), posOf(e.pos[0]), 'fix the YAML syntax at this position');
      }
      continue;
    }
    if (syntaxErrors > MAX_SYNTAX_ERRORS) break;
    if (doc.contents === null) { index++; continue; }
    let aliases: ReturnType<typeof aliasProblem>;
    try {
      aliases = aliasProblem(doc);
    } catch (err) {
      // the package's visit recurses as its composer does, which gave up on deeper documents above: insurance only
      if (!(err instanceof RangeError)) throw err;
      issues.error('yaml-too-deep', 'the document nests too deeply to be a Kubernetes manifest', posOf(doc.contents?.range?.[0] ?? 0),
        'check the file: manifests nest a few dozen levels at most');
      continue;
    }
    if (aliases !== null) {
      issues.error('yaml-alias', aliases.message, posOf(aliases.at ?? doc.contents?.range?.[0] ?? 0), aliases.fix);
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (err instanceof RangeError && /call stack/i.test(msg)) {
        issues.error('yaml-too-deep', 'the document nests too deeply to be a Kubernetes manifest', posOf(doc.contents?.range?.[0] ?? 0),
          'check the file: manifests nest a few dozen levels at most');
        continue;
      }
      if (/merge/i.test(msg)) {
        const problem = mergeProblem(doc);
        issues.error('yaml-merge', `cannot apply a YAML merge key (<<): ${problem?.why ?? firstLine(msg)}`, posOf(problem?.at ?? doc.contents?.range?.[0] ?? 0),
          'a merge key takes a mapping, an alias of one, or a list of them: <<: *defaults');
        continue;
      }
      issues.error('yaml-alias', `cannot expand YAML aliases: ${firstLine(msg)}`,
        posOf(doc.contents?.range?.[0] ?? 0),
        `use at most ${MAX_ALIAS_COUNT} alias expansions per document (is this an alias bomb?)`);
      continue;
    }
    if (value === null || value === undefined) { index++; continue; } // an empty document, as kubectl skips it
    const odd = oddValue(value);
    if (odd !== null) {
      issues.error('yaml-tag', `the YAML tag here makes ${odd.what}, not a mapping, list or scalar; meshrange reads plain YAML`,
        locateIn(doc, odd.path, posOf), 'remove the !!set / !!omap / !!pairs / !!binary tag and write a plain mapping, list or string');
      continue;
    }
    let live: Document.Parsed | null = doc;
    const pos = position;
    const nodes = (): Document.Parsed => live ?? (reparse()[pos] as Document.Parsed);
    // locate([]) is asked for every object (its metadata location): known now, kept without the nodes.
    const whole = locateIn(doc, [], posOf);
    const src: SourceDoc = {
      file, index, value, lineText,
      locate: (path) => (path.length === 0 ? whole : locateIn(nodes(), path, posOf)),
      locateKey: (path) => locateKeyIn(nodes(), path, posOf),
    };
    yield src;
    if (!opts.keepNodes) live = null;
    index++;
  }
}

/**
 * The first value of a document that the package's YAML 1.1 tags turned into something other than what JSON holds
 * (and dates, which creationTimestamp takes), with its path; or null. `!!set {app, ratings}` becomes a Set and
 * `!!omap` a Map: objects with no own keys, which every reader would take for an EMPTY mapping (a DENY policy's
 * `matchLabels: !!set {...}` selected the whole namespace). Walked with a stack of its own.
 */
function oddValue(root: unknown): { what: string; path: (string | number)[] } | null {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: root, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop() as { v: unknown; path: (string | number)[] };
    if (typeof v !== 'object' || v === null || v instanceof Date) continue;
    if (Array.isArray(v)) { for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i] }); continue; }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const what = v instanceof Set ? 'a set (!!set)' : v instanceof Map ? 'an ordered map (!!omap or !!pairs)' : ArrayBuffer.isView(v) ? 'binary data (!!binary)' : 'an object of its own kind';
      return { what, path };
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) { const k = keys[i] as string; stack.push({ v: (v as Record<string, unknown>)[k], path: [...path, k] }); }
  }
  return null;
}

/**
 * Most nodes (scalars, collections, list items, pairs, aliases) one document may hold when the `yaml` package reads
 * it, i.e. when the file is outside fast-yaml.ts's plain subset. The package's tokens and nodes cost ~1 KB a node:
 * one document of nested flow lists, 1 MB, took 3 s and 700 MB; 7 MB ran the heap out (a crash, not an error). Real
 * manifests hold hundreds of nodes a document, a large CRD tens of thousands.
 */
export const MAX_PACKAGE_NODES = 150_000;

/**
 * The offset where the first document with more than `max` nodes starts, or null: counted on the package's lexer
 * tokens, which cost nothing to keep, before its parser builds a token tree for a document. A counted token takes
 * more than one character with what must follow it (`a,`, `a:` and a separator, `-` and a line break; nesting
 * `[[[`, one each, is bounded by yaml-too-deep), so only a document of `max` characters or more is lexed: a file
 * of many small documents costs one scan for `---` lines (a document ends at a line starting with `---` or `...`,
 * whatever it is inside of).
 */
export function heavyDocument(text: string, max: number): number | null {
  let start = 0;
  for (;;) {
    let end = start;
    // the next line (after the first) that starts a new document or ends this one
    for (;;) {
      const nl = text.indexOf('\n', end);
      if (nl < 0) { end = text.length; break; }
      end = nl + 1;
      if (end + 3 <= text.length && (text.startsWith('---', end) || text.startsWith('...', end))) {
        const c = text.charCodeAt(end + 3);
        if (end + 3 === text.length || c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) break;
      }
    }
    if (end - start >= max && countsPast(text, start, end, max)) return start;
    if (end >= text.length) return null;
    start = end;
  }
}

/** Whether text[start, end) holds more than `max` nodes, counted on the package's lexer tokens. */
function countsPast(text: string, start: number, end: number, max: number): boolean {
  let count = 0;
  for (const tok of new Lexer().lex(text.slice(start, end))) {
    switch (CST.tokenType(tok)) {
      case 'doc-mode': case 'doc-start': case 'doc-end':
        count = 0;
        break;
      case 'scalar': case 'single-quoted-scalar': case 'double-quoted-scalar': case 'flow-seq-start': case 'flow-map-start':
      case 'seq-item-ind': case 'map-value-ind': case 'explicit-key-ind': case 'alias':
        if (++count > max) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

/** Most anchors and aliases one document may hold (see aliasProblem). */
export const MAX_ANCHORS_AND_ALIASES = 1000;

/**
 * What makes a document's aliases unreadable, before the package's toJS expands them, or null:
 *  - more than MAX_ANCHORS_AND_ALIASES anchors and aliases: the package resolves each alias by scanning the
 *    document's anchors and aliases up to it, so n of them cost n² (20,000 anchored pairs, 0.5 MB: 6.7 s; a
 *    32 MiB file of them, hours). Manifests hold a handful;
 *  - an alias inside the node it names (`a: &x [*x]`): toJS makes the value circular, and every reader after it
 *    (the scenario's key checks, zod, the manifest readers) would walk it until the stack ran out. An alias names
 *    the last anchor of its name written before it; one that is not an ancestor ends before the alias starts, so
 *    following aliases and children only ever reaches nodes that end earlier: a cycle needs an alias to an ancestor.
 * One walk of the node tree in document order (aliases not followed), the ancestors at hand.
 */
function aliasProblem(doc: Document.Parsed): { message: string; at: number | undefined; fix: string } | null {
  const anchors = new Map<string, unknown>();
  let count = 0;
  let problem: { message: string; at: number | undefined; fix: string } | null = null;
  visit(doc, {
    Node(_key, node, path) {
      if (!isAlias(node) && node.anchor === undefined) return undefined;
      if (++count > MAX_ANCHORS_AND_ALIASES) {
        problem = { message: `the document holds more than ${MAX_ANCHORS_AND_ALIASES} YAML anchors and aliases`, at: node.range?.[0],
          fix: `write the values out: meshrange reads at most ${MAX_ANCHORS_AND_ALIASES} anchors and aliases per document` };
        return visit.BREAK;
      }
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target !== undefined && path.includes(target as never)) {
          problem = { message: `YAML alias *${node.source} is inside the node it names (&${node.source}): its value would contain itself without end`,
            at: node.range?.[0], fix: 'write the value out instead of aliasing a node from inside itself' };
          return visit.BREAK;
        }
      } else {
        anchors.set(node.anchor as string, node);
      }
      return undefined;
    },
  });
  return problem;
}

/*
 * Duplicate keys are an error, as with the package's `uniqueKeys: true`; but that check compares each key with every
 * key before it in its mapping (quadratic: 40,000 keys in one mapping took 18 s to load, a 32 MiB file of them would
 * take hours), so the package is asked not to check and duplicateKeys finds the same keys in one pass per mapping.
 */
const PARSE_OPTIONS = { prettyErrors: true, uniqueKeys: false, merge: true } as const;

/** A duplicate key as the package's uniqueKeys check reports it: at the key's start, "Map keys must be unique". */
interface KeyProblem {
  pos: [number, number];
  message: string;
  /** where the package's composer stands when it reports it (see duplicateKeys) */
  order: number;
}

/**
 * The package's rule (compose/util-map-includes.js): a key repeats an earlier key of its mapping when both are
 * scalars with strictly equal values (so `1` and `"1"` differ, and NaN never repeats) or are the same node. Every
 * mapping of the document, keys' own included, walked with a stack of its own (no recursion on hostile nesting).
 * In the package's order: a block mapping checks a key once the key is read, before its value; a flow mapping once
 * the whole pair is read (a duplicate inside the value is reported first).
 */
function duplicateKeys(doc: Document.Parsed): KeyProblem[] {
  const out: KeyProblem[] = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const n = stack.pop();
    if (isMap(n)) {
      const seen = new Set<unknown>();
      const nodes = new Set<unknown>();
      for (const pair of n.items) {
        const k: unknown = pair.key;
        const v: unknown = pair.value;
        if (nodes.has(k) || (isScalar(k) && !Number.isNaN(k.value) && seen.has(k.value))) {
          const kr = isNode(k) ? k.range : undefined;
          const at = kr ? kr[0] : n.range?.[0] ?? 0;
          const vr = isNode(v) ? v.range : undefined;
          const order = n.flow ? (vr ? vr[1] : kr ? kr[1] : at) : kr ? kr[1] : at;
          out.push({ pos: [at, at + 1], message: 'Map keys must be unique', order });
        }
        nodes.add(k);
        if (isScalar(k) && !Number.isNaN(k.value)) seen.add(k.value);
        if (k !== null && k !== undefined) stack.push(k);
        if (v !== null && v !== undefined) stack.push(v);
      }
    } else if (isSeq(n)) {
      for (const x of n.items) stack.push(x);
    } else if (isPair(n)) {
      stack.push(n.key, n.value);
    }
  }
  return out.sort((a, b) => a.order - b.order);
}

/** The package's errors with the duplicate keys put in where its composer would have reported them (by `order`). */
function withKeyProblems(errors: readonly { pos: [number, number]; message: string }[], dupes: readonly KeyProblem[]): { pos: [number, number]; message: string }[] {
  const out: { pos: [number, number]; message: string }[] = [];
  let j = 0;
  for (const e of errors) {
    while (j < dupes.length && (dupes[j] as KeyProblem).order < e.pos[0]) out.push(dupes[j++] as KeyProblem);
    out.push(e);
  }
  while (j < dupes.length) out.push(dupes[j++] as KeyProblem);
  return out;
}

// Paths use string keys; YAML keys may be numbers or booleans (`8080: {mode: STRICT}`), so keys
// compare by their text. A key that came in through a merge (`<<: *base`) is found in the mapping it
// was merged from, so a problem in it points at where it is written.
function walk(doc: Document.Parsed, path: Path): Reached[] {
  const out: Reached[] = [{ node: doc.contents, key: undefined }];
  let node: unknown = doc.contents;
  for (const seg of path) {
    let next: Reached | undefined;
    if (isMap(node)) next = findKey(doc, node, String(seg), 0);
    else if (isSeq(node)) next = { node: node.items[Number(seg)], key: undefined };
    if (!next || next.node === undefined) break;
    out.push(next);
    node = next.node;
  }
  return out;
}

function locateIn(doc: Document.Parsed, path: Path, posOf: (offset: number) => Location): Location {
  const reached = walk(doc, path);
  for (let n = reached.length - 1; n >= 0; n--) {
    const { node, key } = reached[n] as Reached;
    if (!isNode(node) || !node.range) continue;
    // For a collection reached by key, point at the key, which reads better.
    if (isCollection(node) && isNode(key) && key.range) return posOf(key.range[0]);
    return posOf(node.range[0]);
  }
  return posOf(doc.range[0]);
}

function locateKeyIn(doc: Document.Parsed, path: Path, posOf: (offset: number) => Location): Location {
  const reached = walk(doc, path);
  const last = reached.length === path.length + 1 ? reached[path.length] : undefined;
  if (path.length > 0 && last && isNode(last.key) && last.key.range) return posOf(last.key.range[0]);
  return locateIn(doc, path, posOf);
}

interface Reached {
  node: unknown;
  /** the key node the value was reached by (none for list items and the root) */
  key: unknown;
}

/** Most merge levels followed when locating a merged key (merges of merges). */
const MAX_MERGE_DEPTH = 16;

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === 'symbol' && key.value.description === '<<';
}

/** The mappings a merge value names, in the order they take precedence. */
function mergeSources(doc: Document.Parsed, v: unknown): unknown[] {
  const src = isAlias(v) ? v.resolve(doc) : v;
  if (isSeq(src)) return src.items.map((it) => (isAlias(it) ? it.resolve(doc) : it));
  return [src];
}

/** The entry `key` of a mapping: written in it, or else taken from its merge sources (YAML 1.1 precedence). */
function findKey(doc: Document.Parsed, map: YAMLMap, key: string, depth: number): Reached | undefined {
  for (const it of map.items) {
    if (!isMergeKey(it.key) && isScalar(it.key) && String(it.key.value) === key) return { node: it.value, key: it.key };
  }
  if (depth >= MAX_MERGE_DEPTH) return undefined;
  for (const it of map.items) {
    if (!isMergeKey(it.key)) continue;
    for (const src of mergeSources(doc, it.value)) {
      if (!isMap(src)) continue;
      const found = findKey(doc, src, key, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

/** The first merge key whose source is not a mapping: where, and why. */
function mergeProblem(doc: Document.Parsed): { at: number; why: string } | undefined {
  let found: { at: number; why: string } | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (!isMergeKey(pair.key) || !isNode(pair.value)) return undefined;
      const items = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const it of items) {
        const src = isAlias(it) ? it.resolve(doc) : it;
        if (isMap(src)) continue;
        const at = (isNode(it) ? it.range?.[0] : undefined) ?? pair.value.range?.[0] ?? 0;
        found = isAlias(it) && src === undefined
          ? { at, why: `alias *${it.source} names no anchor of this document (anchors do not cross ---)` }
          : { at, why: 'a merge source must be a mapping or an alias of one' };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** The first line of a parser message, at most 200 characters: the yaml package may quote the rest of the file. */
function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  const line = nl < 0 ? s : s.slice(0, nl);
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE)}…` : line;
}

/** YAML syntax errors reported per file; a file that is not YAML at all gives one per line. */
const MAX_SYNTAX_ERRORS = 20;
const MAX_MESSAGE = 200;

/** Flow collections nested this deep are past any manifest: where yaml-too-deep points. */
const DEEP_FLOW = 64;

/**
 * The offset of the first flow opener (`[` or `{`, outside quotes and comments) nested DEEP_FLOW deep in
 * text[from, to), or null: a linear scan, the same answer on every run (the parser's own overflow point is not).
 */
function deepFlowAt(text: string, from: number, to: number): number | null {
  let depth = 0;
  let quote = 0;
  for (let i = Math.max(0, from); i < to && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote !== 0) { if (c === quote) quote = 0; else if (c === 10) quote = 0; continue; }
    if (c === 34 || c === 39) quote = c;
    else if (c === 35 && (i === 0 || text.charCodeAt(i - 1) === 32 || text.charCodeAt(i - 1) === 10)) { const nl = text.indexOf('\n', i); if (nl < 0) break; i = nl; }
    else if (c === 91 || c === 123) { if (++depth >= DEEP_FLOW) return i; }
    else if ((c === 93 || c === 125) && depth > 0) depth--;
  }
  return null;
}

