/**
 * Ordering and numbers in text without ICU.
 *
 * `localeCompare` and `toLocaleString` ask ICU, which Node initialises on
 * their first call: ~7 ms for a collator and ~7-12 ms for a number format, of
 * a ~180 ms `meshrange run` (benchmarks.md B4, T4.1). And `localeCompare`
 * without a locale orders by the machine's (LANG): under da_DK `aa` sorts
 * after `z`, so the same scenario and seed could give another report on
 * another machine. meshrange orders names by UTF-16 code units, as its other
 * sorts do. For Kubernetes names (lower-case letters, digits, `-`, `.`, `/`)
 * that is the order an en-US machine gave; it differs where case or `_`
 * differ (step ids `Zeta` before `alpha`; the kind `DNS` before
 * `DestinationRule`).
 */

/** a before b by UTF-16 code units: -1, 0 or 1 (a comparator for sort). */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A number as `n.toLocaleString('en-US')` writes it, without ICU: thousands grouped by commas (1234567 →
 * "1,234,567"), at most three decimals rounded half away from zero on the number's shortest decimal form (as ICU
 * rounds: 1.2345 → "1.235", 1.0005 → "1.001"), a negative sign kept on what rounds to zero ("-0"), and digits in
 * full beyond 2^53 and 1e21 (the shortest form padded with zeros, as ICU pads it). Not finite: String(n) (ICU writes
 * "∞", which the ASCII bundle does not hold). The callers pass counts and limits; test/core/text.test.ts holds it to
 * toLocaleString over integers and decimals alike.
 */
export function grouped(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const negative = n < 0 || Object.is(n, -0);
  let [whole, fraction] = decimalDigits(Math.abs(n));
  if (fraction.length > 3) {
    const up = (fraction.charCodeAt(3) as number) >= 0x35; // '5'
    fraction = fraction.slice(0, 3);
    if (up) [whole, fraction] = roundUp(whole, fraction);
  }
  fraction = fraction.replace(/0+$/, '');
  let out = '';
  for (let i = whole.length; i > 0; i -= 3) out = (i > 3 ? ',' : '') + whole.slice(Math.max(0, i - 3), i) + out;
  return `${negative ? '-' : ''}${out}${fraction === '' ? '' : `.${fraction}`}`;
}

/** The shortest decimal form of a finite abs ≥ 0 as whole and fraction digits, the exponent written out. */
function decimalDigits(abs: number): [string, string] {
  const s = String(abs);
  const e = s.indexOf('e');
  if (e < 0) {
    const dot = s.indexOf('.');
    return dot < 0 ? [s, ''] : [s.slice(0, dot), s.slice(dot + 1)];
  }
  const mantissa = s.slice(0, e).replace('.', '');
  const exp = Number(s.slice(e + 1));
  // d.ddd × 10^exp: the point moves exp places right of the first digit
  if (exp >= 0) return exp + 1 >= mantissa.length ? [mantissa + '0'.repeat(exp + 1 - mantissa.length), ''] : [mantissa.slice(0, exp + 1), mantissa.slice(exp + 1)];
  return ['0', '0'.repeat(-exp - 1) + mantissa];
}

/** whole.fraction plus one unit in the fraction's last place (its digits kept, a carry into whole). */
function roundUp(whole: string, fraction: string): [string, string] {
  const digits = (whole + fraction).split('');
  let i = digits.length - 1;
  while (i >= 0 && digits[i] === '9') { digits[i] = '0'; i--; }
  if (i < 0) digits.unshift('1'); else digits[i] = String(Number(digits[i]) + 1);
  const cut = digits.length - fraction.length;
  return [digits.slice(0, cut).join(''), digits.slice(cut).join('')];
}
