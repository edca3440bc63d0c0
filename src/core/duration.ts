/**
 * Durations (`500ms`, `30s`, `5m`, `24h`, `2d`) and rates (`20/s`, `600/m`) as
 * in product.md §2. Scenarios come from strangers, so both are bounded here,
 * before any arithmetic: a duration is finite and at most MAX_DURATION_MS
 * either way, a rate finite and non-negative. Whether zero or a negative value
 * means anything is the field's business (schema.ts): `expiresIn: -5s` does,
 * `for: -100s` does not.
 */
const UNITS: ReadonlyMap<string, number> = new Map([['ms', 1], ['s', 1000], ['m', 60_000], ['h', 3_600_000], ['d', 86_400_000]]);

/**
 * The longest duration read, and the longest simulated run: 366 days. Up to
 * it, a time in ms keeps a resolution of a few nanoseconds (2^-18 ms), far
 * below the shortest interval a bounded rate produces.
 */
export const MAX_DURATION_MS = 366 * 86_400_000;

/** Milliseconds, or null when the text is not a duration (or is longer than MAX_DURATION_MS). Negative allowed (`-5s`). */
export function parseDuration(text: string): number | null {
  const m = /^(-?\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * (UNITS.get(m[2] as string) as number);
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_DURATION_MS ? ms : null;
}

/** Requests per second, or null. */
export function parseRate(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\/(s|m)$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const perSecond = m[2] === 's' ? n : n / 60;
  return Number.isFinite(perSecond) ? perSecond : null;
}
