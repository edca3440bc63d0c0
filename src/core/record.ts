/**
 * Header and claim maps are plain objects keyed by names that come from the
 * user (request headers, fromHeaders, `when` keys, claim paths). A name such
 * as `constructor`, `toString` or `__proto__` must read as absent when it is
 * not set and be stored as an ordinary key when it is: these two helpers never
 * look through the prototype chain.
 */

/** The value stored under `key` itself, never an inherited property. */
export function ownValue<T>(rec: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return rec !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;
}

/** Adds `value` under `key`, joining a repeated header with `,` as HTTP does; `__proto__` is an ordinary key. */
export function appendValue(rec: Record<string, string>, key: string, value: string): void {
  const cur = ownValue(rec, key);
  Object.defineProperty(rec, key, { value: cur === undefined ? value : `${cur},${value}`, writable: true, enumerable: true, configurable: true });
}

/** Stores `value` under `key` as an own property (replacing any), so that `__proto__` is an ordinary key, never the prototype. */
export function setOwn<T>(rec: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(rec, key, { value, writable: true, enumerable: true, configurable: true });
}
