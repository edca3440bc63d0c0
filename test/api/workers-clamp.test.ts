/**
 * The library's `workers` option is bounded as `run --workers` is: at most
 * WORKERS_PER_CORE threads per core of this machine. A library caller asking
 * for more gets that many (clamped, not refused: a count written for a big
 * machine still runs on a 2-core CI runner), never one thread per file.
 */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { maxWorkers, poolThreads, WORKERS_PER_CORE } from '../../src/api/workers.js';

describe('the worker pool\'s thread count (poolThreads, which runFilesInWorkers takes its threads from) is clamped to WORKERS_PER_CORE per core (the CLI\'s --workers bound)', () => {
  it('1000 workers asked for 53 files on 2 cores is 8 threads, not 53', () => {
    expect(WORKERS_PER_CORE).toBe(4);
    expect(poolThreads(1000, 53, true, 2)).toBe(8);
    expect(poolThreads(1000, 53, false, 2)).toBe(8);
    expect(poolThreads(1_000_000, 10_000, true, 1)).toBe(4);
    // under the bound: what was asked, or one thread per file when there are fewer files
    expect(poolThreads(3, 53, true, 2)).toBe(3);
    expect(poolThreads(1000, 5, true, 2)).toBe(5);
    expect(poolThreads(1000, 5, false, 2)).toBe(6);
  });

  it('on this machine the bound is maxWorkers(), cores × WORKERS_PER_CORE', () => {
    expect(maxWorkers()).toBe(availableParallelism() * WORKERS_PER_CORE);
    expect(poolThreads(1000, 10_000, true)).toBe(maxWorkers());
  });
});
