/**
 * What the schemas written with zod/mini share (scenario/schema.ts,
 * scenario/expect.ts, exercise/schema.ts, and the report schemas of a
 * baseline and a merge, built on first use): zod's English messages, and the
 * wrappers nearly every field takes. Nothing the CLI bundles imports classic
 * zod (`import type` only), so the bundle holds none of it.
 *
 * Why mini: a CLI start builds every schema at import, and zod's classic API
 * (a method-rich object per schema, a clone per `.describe()`) cost ~3x what
 * mini's functions do (benchmarks.md B4, T4.1).
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
// globalConfig from core itself: `z.core` read as a value pulls all of core's namespace, every locale with it (~300 kB
// of the CLI bundle, a tenth of its start: benchmarks.md B4, T4.1)
import { globalConfig } from 'zod/v4/core';

// Classic zod sets its English locale when it builds its first schema, unless one is set; mini sets none, and its
// issues would read "Invalid input". The same rule here: a locale a library user chose stays.
if (!globalConfig.localeError) z.config(en());

/** `schema` with a description (for `meshrange schema`): a copy, as classic's `.describe()` makes. */
export function described<T extends z.ZodMiniType>(schema: T, text: string): T {
  return schema.check(z.describe(text));
}

/** `schema` described, then optional: classic's `.describe(text).optional()`. */
export function optional<T extends z.ZodMiniType>(schema: T, text: string): z.ZodMiniOptional<T> {
  return z.optional(described(schema, text));
}

/** An integer in [min, max], the bounds' own messages if given: classic's `z.number().int().min(min).max(max)`. */
export function intIn(min: number, max: number, messages: { min?: string; max?: string } = {}): z.ZodMiniNumber<number> {
  return z.number().check(z.int(), z.gte(min, messages.min === undefined ? undefined : { message: messages.min }),
    z.lte(max, messages.max === undefined ? undefined : { message: messages.max }));
}

/** A string of min to max characters: classic's `z.string().min(min).max(max)`. */
export function stringOfLength(min: number, max: number): z.ZodMiniString<string> {
  return z.string().check(z.minLength(min), z.maxLength(max));
}
