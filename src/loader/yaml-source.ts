/**
 * YAML text → documents that remember where every node came from, so that
 * any problem found later can be reported as file:line:col. Pure: takes text
 * and a file name, never touches the file system.
 */
import { LineCounter, parseAllDocuments, isNode, isPair, isCollection, type Document } from 'yaml';
import type { IssueList, Location } from '../core/issues.js';

export type Path = readonly (string | number)[];

export interface SourceDoc {
  file: string;
  /** index of the document in its file */
  index: number;
  value: unknown;
  locate(path: Path): Location;
}

/** Most aliases a file may expand; more is treated as an alias bomb. */
export const MAX_ALIAS_COUNT = 100;

export function parseYaml(file: string, text: string, issues: IssueList): SourceDoc[] {
  if (text.includes('\u0000')) {
    issues.error('binary-file', 'file is binary (contains NUL bytes), not YAML', { file, line: 1, col: 1 },
      'point meshrange at Kubernetes/Istio YAML files only');
    return [];
  }
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  const out: SourceDoc[] = [];
  const posOf = (offset: number): Location => {
    const p = lc.linePos(offset);
    return { file, line: p.line, col: p.col };
  };
  const list = Array.isArray(docs) ? docs : [docs];
  let index = 0;
  for (const doc of list as Document.Parsed[]) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const lp = e.linePos?.[0];
        issues.error('yaml-syntax', firstLine(e.message),
          lp ? { file, line: lp.line, col: lp.col } : posOf(e.pos[0]),
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
      issues.error('yaml-alias', `cannot expand YAML aliases: ${firstLine(msg)}`,
        posOf(doc.contents?.range?.[0] ?? 0),
        `use at most ${MAX_ALIAS_COUNT} alias expansions per document (is this an alias bomb?)`);
      continue;
    }
    const locate = (path: Path): Location => {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) {
          // For a collection reached by key, point at the key, which reads better.
          if (n > 0 && isCollection(node)) {
            const parent = doc.getIn(path.slice(0, n - 1), true);
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
    out.push({ file, index, value, locate });
    index++;
  }
  return out;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
