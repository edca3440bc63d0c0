/**
 * Naming some of a long list in a reason or a trace line: a person reads eight names, not two hundred, and a
 * stranger's manifest may hold 5,000 mesh-wide policies that every request of every workload would otherwise name.
 */

/** Names written before the rest are counted. */
export const NAMED = 8;

/** The first NAMED of a list as text (`text` is given each one and its position), then how many more ("a, b, …, and 4,992 more"). */
export function namedSome<T>(list: readonly T[], text: (x: T, i: number) => string, sep: string): string {
  const named = list.slice(0, NAMED).map(text).join(sep);
  return list.length > NAMED ? `${named}${sep}and ${list.length - NAMED} more` : named;
}

/**
 * A destination as a scenario's `to:` and `request --to` take it: `host:port`, the host a DNS name or an IPv4
 * address (letters, digits, -, _ and ., at most 253 characters), or `workload/<namespace>/<name>:<port>`. Group 1
 * is the host part, group 2 the port. Bounded quantifiers only: linear on any input.
 */
export const DESTINATION_RE = /^(workload\/[a-z0-9][-a-z0-9.]{0,252}\/[a-z0-9][-a-z0-9.]{0,252}|[A-Za-z0-9_][-A-Za-z0-9_.]{0,252}):(\d{1,5})$/;

/** The annotation that silences lint findings on its resource or namespace (lint/index.ts, loader/load.ts). */
export const IGNORE_ANNOTATION = 'meshrange.io/ignore';

/** The tokens of an ignore annotation's value: codes separated by commas or spaces (upper-cased). */
export function ignoreTokens(value: string): string[] {
  return value.split(/[\s,]+/).map((x) => x.trim().toUpperCase()).filter((x) => x !== '');
}
