import { describe, expect, it } from 'vitest';
import { exactSize } from '../../src/core/arrays.js';

describe('exactSize', () => {
  it('gives a new list with the same entries in the same order, and leaves the built one as it was', () => {
    const built: number[] = [];
    for (let i = 0; i < 5; i++) built.push(i);
    const kept = exactSize(built);
    expect(kept).toEqual([0, 1, 2, 3, 4]);
    expect(kept).not.toBe(built);
    kept.push(9);
    expect(built).toEqual([0, 1, 2, 3, 4]);
  });

  it('gives an empty list for an empty one', () => {
    expect(exactSize([])).toEqual([]);
  });
});
