/**
 * `run --shard i/n` (issue 13 item 5): a stable partition of a suite by
 * scenario name, so a CI matrix or a Kubernetes Indexed Job can split it.
 *
 * Rules:
 * 1. A scenario belongs to shard `(FNV-1a-32(UTF-8 bytes of metadata.name) mod n) + 1`.
 *    It depends on the name and n only: adding, removing or reordering
 *    scenarios never moves another one to a different shard.
 * 2. `i/n` is 1-based: 1 ≤ i ≤ n ≤ MAX_SHARDS, whole numbers written in
 *    decimal without sign or leading zeros; anything else is bad usage.
 * 3. Every scenario of the run keeps its position in the whole suite
 *    (`position` of `total`), so `meshrange merge` restores the order of a
 *    single run and sees which scenarios are missing.
 */

export const MAX_SHARDS = 1024;

export interface ShardSpec {
  index: number;
  count: number;
}

/** FNV-1a, 32 bits, over the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The 1-based shard of `n` a scenario name belongs to. */
export function shardOf(name: string, count: number): number {
  return (fnv1a32(name) % count) + 1;
}

/** `i/n` → the shard, or what is wrong with it. */
export function parseShard(text: string): ShardSpec | { problem: string } {
  const m = /^([1-9]\d{0,5})\/([1-9]\d{0,5})$/.exec(text.trim());
  if (!m) return { problem: `--shard ${text}: expected i/n, two whole numbers from 1, e.g. --shard 2/4` };
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count > MAX_SHARDS) return { problem: `--shard ${text}: at most ${MAX_SHARDS} shards` };
  if (index > count) return { problem: `--shard ${text}: shard ${index} of ${count} does not exist; i runs from 1 to ${count}` };
  return { index, count };
}
