/**
 * A list built by push keeps the room V8 grew it to: the first push gives 17
 * slots (152 bytes) whatever follows, so a list of one or two entries costs six
 * times what it holds. The model keeps tens of thousands of such lists (ports,
 * rules, sources, principals, each workload's selected policies): 11 MB of a
 * 10,000-workload mesh's 83 MB heap were empty slots. `exactSize` hands back a
 * copy of exactly the entries (a slice allocates no spare room) for a list that
 * is kept; the built one is left to the scavenger, young.
 */
export function exactSize<T>(list: T[]): T[] {
  return list.length === 0 ? [] : list.slice();
}

/** Two ascending lists of distinct numbers merged into one ascending list (a new array). */
export function mergeAscending(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = (a[i] as number) < (b[j] as number) ? a[i++] as number : b[j++] as number;
  while (i < a.length) out[k++] = a[i++] as number;
  while (j < b.length) out[k++] = b[j++] as number;
  return out;
}
