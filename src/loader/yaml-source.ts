/**
 * YAML text → documents that remember where every node came from, so that
 * any problem found later can be reported as file:line:col. Pure: takes text
 * and a file name, never touches the file system.
 */
import { LineCounter, parseAllDocuments, isNode, isPair, isCollection, isMap, isScalar, isSeq, type Document } from 'yaml';
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
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
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
      issues.error('yaml-alias', `cannot expand YAML aliases: ${firstLine(msg)}`,
        posOf(doc.contents?.range?.[0] ?? 0),
        `use at most ${MAX_ALIAS_COUNT} alias expansions per document (is this an alias bomb?)`);
      continue;
    }
    // Paths use string keys; YAML keys may be numbers or booleans (`8080: {mode: STRICT}`),
    // which doc.getIn only finds by their typed value.
    const typed = (path: Path): unknown[] => {
      const out: unknown[] = [];
      let node: unknown = doc.contents;
      for (const seg of path) {
        let key: unknown = seg;
        if (isMap(node)) {
          const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
          if (pair && isScalar(pair.key)) key = pair.key.value;
          node = pair?.value;
        } else if (isSeq(node)) {
          node = node.items[Number(seg)];
        } else node = undefined;
        out.push(key);
      }
      return out;
    };
    const locate = (path: Path): Location => {
      const tpath = typed(path);
      for (let n = tpath.length; n >= 0; n--) {
        const node = doc.getIn(tpath.slice(0, n), true);
        if (isNode(node) && node.range) {
          // For a collection reached by key, point at the key, which reads better.
          if (n > 0 && isCollection(node)) {
            const parent = doc.getIn(tpath.slice(0, n - 1), true);
            if (isCollection(parent)) {
              const pair = parent.items.find((it) => isPair(it) && isNode(it.key) && String((it.key as { value?: unknown }).value) === String(path[n - 1]));
              if (pair && isPair(pair) && isNode(pair.key) && pair.key.range) return posOf(pair.key.range[0]);
            }
          }
          return posOf(node.range[0]);
        }
      }
      return posOf(doc.range[0]);
    };
    if (value === null || value === undefined) { index++; continue; } // an empty document, as kubectl skips it
    const locateKey = (path: Path): Location => {
      if (path.length === 0) return locate(path);
      const parent = doc.getIn(typed(path.slice(0, -1)), true);
      if (isMap(parent)) {
        const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === String(path[path.length - 1]));
        if (pair && isScalar(pair.key) && pair.key.range) return posOf(pair.key.range[0]);
      }
      return locate(path);
    };
    out.push({ file, index, value, locate, locateKey, lineText });
    index++;
  }
  return out;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
