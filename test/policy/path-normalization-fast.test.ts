/**
 * §6.6 path normalization: normalizePath skips the normalization steps for a
 * path none of them changes. Rule: for any path and query, in every mode, it
 * answers what taking every step answers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PathNormalization } from '../../src/model/types.js';
import { normalizePath, normalizeSteps } from '../../src/policy/matchers.js';

const MODES: PathNormalization[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

/** pieces that each step reacts to, and plain ones */
const piece = fc.constantFrom('/', '//', '.', '..', '/./', '/../', 'a', 'Z9', '-', '_', '~', '%2F', '%2e', '%00', '%41', '\\', 'b.c', ' ', '?x=1');

describe('§6.6 normalizePath fast path', () => {
  it('§6.6 normalizePath answers what every normalization step answers, for any path in every mode (property)', () => {
    fc.assert(fc.property(fc.array(piece, { maxLength: 8 }), fc.constantFrom(...MODES), (parts, mode) => {
      const raw = parts.join('');
      const q = raw.indexOf('?');
      const steps = normalizeSteps(q >= 0 ? raw.slice(0, q) : raw, q >= 0 ? raw.slice(q + 1) : '', mode);
      expect(normalizePath(raw, mode)).toEqual(steps);
    }), { numRuns: 3000 });
  });

  it('§6.6 plain paths come back as they are, and dot segments and double slashes are still normalized', () => {
    expect(normalizePath('/api/v1/users', 'BASE')).toEqual({ ok: true, path: '/api/v1/users', query: '' });
    expect(normalizePath('/api/../admin', 'BASE')).toEqual({ ok: true, path: '/admin', query: '' });
    expect(normalizePath('/a//b', 'MERGE_SLASHES')).toEqual({ ok: true, path: '/a/b', query: '' });
    expect(normalizePath('/a//b', 'BASE')).toEqual({ ok: true, path: '/a//b', query: '' });
  });
});
