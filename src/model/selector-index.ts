/**
 * Which of a list of selector-bearing resources a workload's labels may
 * match, without checking every selector: a namespace of 20,000 policies and
 * 4,000 pods is 80 M selector checks done the plain way. Each item is filed
 * under ONE `key=value` pair of its selector (the first own key): a workload
 * its selector matches must carry every pair, that one included. Items
 * without a selector, or with an empty one, are candidates for every
 * workload. The caller still checks each candidate in full (selectorMatches
 * and whatever else selects it): this only leaves out items that cannot
 * match.
 *
 * Used by AuthorizationPolicy selection (policy/authorization-policy.ts) and
 * RequestAuthentication selection (policy/request-authentication.ts) for long
 * lists; a short list is cheaper to scan.
 */
import type { Labels } from './types.js';

/** Lists shorter than this are scanned whole by the callers: an index costs more than it saves. */
export const SELECTOR_INDEX_MIN = 32;

export class SelectorBuckets<T> {
  /** item positions by their selector's first key, then its value */
  private readonly byPair = new Map<string, Map<string, number[]>>();
  /** positions of the items every workload must check (no selector, or one without keys) */
  private readonly always: number[] = [];

  /** `selectorOf` returns null for an item every workload must check */
  constructor(private readonly items: readonly T[], selectorOf: (x: T) => Readonly<Labels> | null) {
    for (let i = 0; i < items.length; i++) {
      const sel = selectorOf(items[i] as T);
      let first: string | undefined;
      if (sel !== null) for (const k in sel) { if (Object.hasOwn(sel, k)) { first = k; break; } }
      if (sel === null || first === undefined) { this.always.push(i); continue; }
      let byValue = this.byPair.get(first);
      if (byValue === undefined) { byValue = new Map(); this.byPair.set(first, byValue); }
      const v = sel[first] as string;
      const l = byValue.get(v);
      if (l === undefined) byValue.set(v, [i]); else l.push(i);
    }
  }

  /**
   * The items a workload with these labels may be selected by: those filed under one of its own pairs and those
   * every workload checks, in the list's order (a superset of what selects it; never an item twice).
   */
  candidates(labels: Readonly<Labels>): T[] {
    let at: number[] | null = null;
    for (const k in labels) {
      if (!Object.hasOwn(labels, k)) continue;
      const l = this.byPair.get(k)?.get(labels[k] as string);
      if (l === undefined) continue;
      at ??= [];
      for (const i of l) at.push(i);
    }
    if (at === null) return this.always.map((i) => this.items[i] as T);
    for (const i of this.always) at.push(i);
    // each item is filed once, so the positions are distinct; list order is position order
    return at.sort((a, b) => a - b).map((i) => this.items[i] as T);
  }
}
