/**
 * Typed, located access to a parsed manifest. Each accessor checks one field's
 * type and records a located issue when it is wrong, returning undefined so
 * the loader can keep going and report every problem at once.
 */
import type { IssueList, Location } from '../core/issues.js';
import { exactSize } from '../core/arrays.js';
import { setOwn } from '../core/record.js';
import { labelKeyProblem, labelValueProblem, MAX_ANNOTATION_BYTES } from './labels.js';
import type { Path, SourceDoc } from './yaml-source.js';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What to do about an error raised without its own fix, for codes whose message says it: every error says what to do. */
function defaultFix(code: string, message: string): string | undefined {
  if (code === 'bad-enum') {
    const i = message.lastIndexOf(' is not one of ');
    return i >= 0 ? `use one of ${message.slice(i + ' is not one of '.length)}` : undefined;
  }
  if (code === 'bad-port') return 'use a port from 1 to 65535';
  return undefined;
}

export class Reader {
  constructor(
    readonly src: SourceDoc,
    readonly issues: IssueList,
    /** e.g. `AuthorizationPolicy bookinfo/deny-all` for messages */
    readonly what: string,
  ) {}

  at(path: Path): Location {
    return this.src.locate(path);
  }

  error(path: Path, code: string, message: string, hint?: string): void {
    this.issues.error(code, `${this.what}: ${message}`, this.at(path), hint ?? defaultFix(code, message));
  }

  /**
   * A number as the manifest writes it (99999999999999999999999, not the 1e+23 JavaScript prints), for messages;
   * a plain integer when the text cannot be found.
   */
  written(path: Path, v: number): string {
    const loc = this.at(path);
    const m = /^[-+]?[0-9][0-9A-Za-z_.+-]*/.exec(this.src.lineText(loc.line).slice(Math.max(0, loc.col - 1)));
    if (m && m[0].length <= 400 && Number(m[0].replace(/_/g, '')) === v) return m[0];
    return Number.isInteger(v) ? BigInt(v).toString() : String(v);
  }

  warn(path: Path, code: string, message: string, hint?: string): void {
    this.issues.warn(code, `${this.what}: ${message}`, this.at(path), hint);
  }

  private typeError(path: Path, expected: string, got: unknown): void {
    this.error(path, 'field-type', `field ${fieldName(path)} must be ${expected}, got ${describe(got)}`,
      `write ${fieldName(path)} as ${expected}`);
  }

  obj(parent: Obj, key: string, path: Path): Obj | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) { this.typeError([...path, key], 'a mapping', v); return undefined; }
    return v;
  }

  str(parent: Obj, key: string, path: Path): string | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') { this.typeError([...path, key], 'a string', v); return undefined; }
    return v;
  }

  int(parent: Obj, key: string, path: Path): number | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) { this.typeError([...path, key], 'an integer', v); return undefined; }
    return v;
  }

  /**
   * Kubernetes' IntOrString as it decodes: a number stays a number, a string stays a string, even a quoted
   * "80" (the API server then holds it to a port name, which it is not). Range and name checks are the caller's.
   */
  intOrString(parent: Obj, key: string, path: Path): number | string | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string') return v;
    this.typeError([...path, key], 'an integer or a port name', v);
    return undefined;
  }

  bool(parent: Obj, key: string, path: Path): boolean | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') { this.typeError([...path, key], 'true or false', v); return undefined; }
    return v;
  }

  arr(parent: Obj, key: string, path: Path): unknown[] | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) { this.typeError([...path, key], 'a list', v); return undefined; }
    return v;
  }

  /** A list of strings. Numbers are accepted and turned into strings (ports). */
  strList(parent: Obj, key: string, path: Path): string[] | undefined {
    const v = this.arr(parent, key, path);
    if (!v) return undefined;
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item === 'string') out.push(item);
      else if (typeof item === 'number') out.push(String(item));
      else this.typeError([...path, key, i], 'a string', item);
    });
    return exactSize(out);
  }

  annotationsOf(md: Obj): Record<string, string> | undefined {
    return this.annotations(md, 'annotations', ['spec', 'template', 'metadata']);
  }

  /**
   * A label map (metadata labels, a selector's matchLabels, subset labels):
   * string values, keys that are qualified names and values that are label
   * values as Kubernetes requires (loader/labels.ts), each problem located.
   * `codePrefix` keeps a kind's own codes (NetworkPolicy: `np-`).
   */
  labels(parent: Obj, key: string, path: Path, codePrefix = ''): Record<string, string> | undefined {
    return this.stringMap(parent, key, path, (k, val) => {
      const kp = labelKeyProblem(k);
      if (kp) this.error([...path, key, k], `${codePrefix}bad-label-key`, `label key "${k}" ${kp}`, 'use a key like app or example.com/tier');
      const vp = labelValueProblem(val);
      if (vp) this.error([...path, key, k], `${codePrefix}bad-label-value`, `label value "${val}" for ${k} ${vp}`, 'use at most 63 characters: letters, digits, - _ . , starting and ending with a letter or digit');
      return kp === undefined && vp === undefined;
    });
  }

  /** An annotation map: string values, keys that are qualified names, at most 256 KiB of values (ValidateAnnotations). */
  annotations(parent: Obj, key: string, path: Path): Record<string, string> | undefined {
    let bytes = 0;
    return this.stringMap(parent, key, path, (k, val) => {
      const kp = labelKeyProblem(k.toLowerCase());
      if (kp) this.error([...path, key, k], 'bad-annotation-key', `annotation key "${k}" ${kp}`, 'use a key like example.com/name');
      bytes += k.length + val.length;
      if (bytes > MAX_ANNOTATION_BYTES) {
        this.error([...path, key, k], 'annotations-too-large', `annotations total more than ${MAX_ANNOTATION_BYTES / 1024} KiB`, 'keep annotations small, as the API server requires');
        return false;
      }
      return kp === undefined;
    });
  }

  /** A mapping of strings; `accept` checks each entry (and reports); entries are own properties, whatever their key. */
  private stringMap(parent: Obj, key: string, path: Path, accept: (k: string, v: string) => boolean): Record<string, string> | undefined {
    const v = this.obj(parent, key, path);
    if (!v) return undefined;
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) {
      if (typeof val === 'string') {
        if (accept(k, val)) setOwn(out, k, val);
      } else if (typeof val === 'number' || typeof val === 'boolean') {
        this.error([...path, key, k], 'field-type', `label/annotation ${k} must be a string, got ${describe(val)}`,
          `quote the value: ${k}: "${String(val)}"`);
      } else this.typeError([...path, key, k], 'a string', val);
    }
    return out;
  }
}

/**
 * kubectl's strict field validation, one copy for every kind: a field the API
 * does not have is an error at its key, never silently dropped. The hint is
 * `special(key)` when given, else the field it most likely meant, else the
 * valid fields.
 */
export function rejectUnknownFields(r: Reader, obj: Obj, allowed: readonly string[], path: Path, special?: (key: string) => string | undefined): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const close = allowed.find((f) => loose(f) === loose(key) || `${f}s` === key || f === `${key}s`) ?? nearest(key, allowed);
    const hint = special?.(key) ?? (close ? `did you mean ${close}?` : `valid fields here: ${allowed.join(', ')}`);
    r.issues.error('unknown-field', `${r.what}: unknown field "${key}" in ${path.length > 0 ? fieldName(path) : 'the object'}`, r.src.locateKey([...path, key]), hint);
  }
}

/** When parent[key] is a mapping, refuses its unknown fields and returns it (type errors stay with the reader of the field). */
export function strictObj(r: Reader, parent: Obj, key: string, allowed: readonly string[], path: Path): Obj | undefined {
  const v = parent[key];
  if (!isObj(v)) return undefined;
  rejectUnknownFields(r, v, allowed, [...path, key]);
  return v;
}

/** Each mapping of the list parent[key]: its unknown fields refused, then `each` on it. */
export function strictEach(r: Reader, parent: Obj, key: string, allowed: readonly string[], path: Path, each?: (o: Obj, p: Path) => void): void {
  const list = parent[key];
  if (!Array.isArray(list)) return;
  list.forEach((item, i) => {
    if (!isObj(item)) return;
    const p = [...path, key, i];
    rejectUnknownFields(r, item, allowed, p);
    each?.(item, p);
  });
}

/** A field name without case, `_` or `-`: how a snake_case or mis-cased key is matched to the field it meant. */
function loose(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

/**
 * The allowed field a misspelt key most likely meant: the one fewest edits away (a letter added, dropped,
 * changed, or two neighbours swapped), if that is one edit for a short name, two for a longer one.
 */
export function nearest(key: string, allowed: readonly string[]): string | undefined {
  const k = loose(key);
  let best: string | undefined;
  let bestD = k.length <= 4 ? 1 : 2;
  for (const f of allowed) {
    const d = editDistance(k, loose(f), bestD);
    if (d < bestD || (d === bestD && best === undefined)) { best = f; bestD = d; }
  }
  return best;
}

/** Edits (insert, delete, substitute, swap two neighbours) from a to b; anything above `max` is returned as max + 1. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) { row.push(j); continue; }
      const prev = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return Math.min(rows[a.length]?.[b.length] ?? max + 1, max + 1);
}

export function fieldName(path: Path): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}
