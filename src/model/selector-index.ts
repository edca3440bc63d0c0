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
 * Used for long lists (a short one is cheaper to scan) by AuthorizationPolicy
 * selection (policy/authorization-policy.ts), RequestAuthentication selection
 * (policy/request-authentication.ts), the PeerAuthentication workload level
 * (policy/peer-authentication.ts) and the NetworkPolicies selecting a pod
 * (policy/network-policy.ts, by matchLabels).
 */
import type { Labels } from './types.js';

/** Lists shorter than this are scanned whole by the callers: an index costs more than it saves. */
export const SELECTOR_INDEX_MIN = 32;

/** The items filed under one pair (or every workload's), ascending positions and the items at them. */
interface Bucket<T> {
  at: number[];
  items: T[];
}

export class SelectorBuckets<T> {
  /** buckets by their items' selector's first key, then its value */
  private readonly byPair = new Map<string, Map<string, Bucket<T>>>();
  /** the items every workload must check (no selector, or one without keys) */
  private readonly always: Bucket<T> = { at: [], items: [] };

  /** `selectorOf` returns null for an item every workload must check */
  constructor(private readonly list: readonly T[], selectorOf: (x: T) => Readonly<Labels> | null) {
    for (let i = 0; i < list.length; i++) {
      const item = list[i] as T;
      const sel = selectorOf(item);
      let first: string | undefined;
      if (sel !== null) for (const k in sel) { if (Object.hasOwn(sel, k)) { first = k; break; } }
      let b: Bucket<T> = this.always;
      if (sel !== null && first !== undefined) {
        let byValue = this.byPair.get(first);
        if (byValue === undefined) { byValue = new Map(); this.byPair.set(first, byValue); }
        const v = sel[first] as string;
        const known = byValue.get(v);
        if (known === undefined) { b = { at: [], items: [] }; byValue.set(v, b); } else b = known;
      }
      b.at.push(i);
      b.items.push(item);
    }
  }

  /**
   * The items a workload with these labels may be selected by: those filed under one of its own pairs and those
   * every workload checks, in the list's order (a superset of what selects it; never an item twice). The list may be
   * shared with other calls: callers must not change it.
   */
  candidates(labels: Readonly<Labels>): readonly T[] {
    let one: Bucket<T> | null = null;
    let more: Bucket<T>[] | null = null;
    // own keys only (Object.entries): an inherited key is no label
    for (const [k, v] of Object.entries(labels)) {
      const b = this.byPair.get(k)?.get(v);
      if (b === undefined) continue;
      if (one === null) one = b; else (more ??= [one]).push(b);
    }
    if (one === null) return this.always.items;
    if (more === null && this.always.at.length === 0) return one.items;
    more ??= [one];
    more.push(this.always);
    // each item is filed once, so the positions are distinct; the list's order is position order
    const at: number[] = [];
    for (const b of more) for (const i of b.at) at.push(i);
    return at.sort((a, b) => a - b).map((i) => this.list[i] as T);
  }
}
