/** Durations (`500ms`, `30s`, `5m`, `24h`) and rates (`20/s`, `600/m`) as in product.md §2. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, or null when the text is not a duration. Negative allowed (`-5s`). */
export function parseDuration(text: string): number | null {
  const m = /^(-?\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

/** Requests per second, or null. */
export function parseRate(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\/(s|m)$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  return m[2] === 's' ? n : n / 60;
}
