/**
 * YAML text → documents that remember where every node came from, so that
 * any problem found later can be reported as file:line:col. Pure: takes text
 * and a file name, never touches the file system.
 */
import { LineCounter, parseAllDocuments, isAlias, isNode, isCollection, isMap, isScalar, isSeq, visit, type Document, type YAMLMap } from 'yaml';
import type { IssueList, Location } from '../core/issues.js';

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
  if (text.includes('\u0000')) {
    issues.error('binary-file', 'file is binary (contains NUL bytes), not YAML', { file, line: 1, col: 1 },
      'point meshrange at Kubernetes/Istio YAML files only');
    return [];
  }
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true, merge: true });
  const out: SourceDoc[] = [];
  const at = (line: number, col: number): Location => (shift ? shift({ file, line, col }) : { file, line, col });
  const posOf = (offset: number): Location => {
    const p = lc.linePos(offset);
    return at(p.line, p.col);
  };
  const lines = text.split('\n');
  const lineText = (line: number): string => lines[line - 1] ?? '';
  const list = Array.isArray(docs) ? docs : [docs];
  let index = 0;
  for (const doc of list as Document.Parsed[]) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const lp = e.linePos?.[0];
        if (/call stack/i.test(e.message)) {
          issues.error('yaml-too-deep', 'the document nests too deeply to be a Kubernetes manifest', lp ? at(lp.line, lp.col) : posOf(e.pos[0]),
            'check the file: manifests nest a few dozen levels at most');
          break;
        }
        // The yaml library appends " at line L, column C:" (and a code excerpt); the location says that already.
        issues.error('yaml-syntax', firstLine(e.message).replace(/ at line \d+, column \d+:?$/, ''),
          lp ? at(lp.line, lp.col) : posOf(e.pos[0]),
          'fix the YAML syntax at this position');
      }
      continue;
    }
    if (doc.contents === null) { index++; continue; }
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
    // Paths use string keys; YAML keys may be numbers or booleans (`8080: {mode: STRICT}`), so keys
    // compare by their text. A key that came in through a merge (`<<: *base`) is found in the mapping it
    // was merged from, so a problem in it points at where it is written.
    const walk = (path: Path): Reached[] => {
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
    };
    const locate = (path: Path): Location => {
      const reached = walk(path);
      for (let n = reached.length - 1; n >= 0; n--) {
        const { node, key } = reached[n] as Reached;
        if (!isNode(node) || !node.range) continue;
        // For a collection reached by key, point at the key, which reads better.
        if (isCollection(node) && isNode(key) && key.range) return posOf(key.range[0]);
        return posOf(node.range[0]);
      }
      return posOf(doc.range[0]);
    };
    if (value === null || value === undefined) { index++; continue; } // an empty document, as kubectl skips it
    const locateKey = (path: Path): Location => {
      const reached = walk(path);
      const last = reached.length === path.length + 1 ? reached[path.length] : undefined;
      if (path.length > 0 && last && isNode(last.key) && last.key.range) return posOf(last.key.range[0]);
      return locate(path);
    };
    out.push({ file, index, value, locate, locateKey, lineText });
    index++;
  }
  return out;
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

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
