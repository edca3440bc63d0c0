/**
 * Ordering and numbers in text without ICU.
 *
 * `localeCompare` and `toLocaleString` ask ICU, which Node initialises on
 * their first call: ~7 ms for a collator and ~7-12 ms for a number format, of
 * a ~180 ms `meshrange run` (benchmarks.md B4, T4.1). And a collator orders by
 * the machine's locale (LANG), which a report must not depend on: same
 * scenario and seed, same report, on every machine. meshrange orders names
 * by UTF-16 code units, as its other sorts do; for Kubernetes names (lower
 * case letters, digits, `-`, `.`, `/`) that is the order ICU's root collation
 * gave.
 */

/** a before b by UTF-16 code units: -1, 0 or 1 (a comparator for sort). */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A number with its thousands grouped by commas, as `n.toLocaleString('en-US')` writes it: 1234567 → "1,234,567",
 * -1500.25 → "-1,500.25" (at most three decimals, as en-US keeps). Not finite: String(n).
 */
export function grouped(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const negative = n < 0;
  const abs = Math.abs(n);
  let whole: string;
  let fraction = '';
  if (Number.isInteger(abs)) {
    whole = abs <= Number.MAX_SAFE_INTEGER ? String(abs) : BigInt(abs).toString();
  } else {
    const fixed = abs.toFixed(3);
    const dot = fixed.indexOf('.');
    whole = fixed.slice(0, dot);
    fraction = fixed.slice(dot).replace(/0+$/, '');
    if (fraction === '.') fraction = '';
  }
  let out = '';
  for (let i = whole.length; i > 0; i -= 3) out = (i > 3 ? ',' : '') + whole.slice(Math.max(0, i - 3), i) + out;
  const text = out + fraction;
  return negative && text !== '0' ? `-${text}` : text;
}
