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
