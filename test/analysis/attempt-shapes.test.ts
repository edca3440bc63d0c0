/**
 * Every attempt attemptsOf makes has the same hidden class (V8's map), whatever
 * its kind (via a Service or a pod port, HTTP with a path or TCP without). The
 * one-hop graph reads an attempt's fields in its innermost loops: attempts of
 * 20,000 shapes (a copy by spread each) made those reads megamorphic, cost
 * 6 MB of hidden classes at 10,000 workloads and ~25 % of the graph's time.
 * Checked with V8's own %HaveSameMap in a child process.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');

describe('attempt objects', () => {
  it('every attempt of a 200-workload mesh (service and pod, HTTP and TCP) shares one hidden class', () => {
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', 'test/analysis/support/attempt-shapes-child.ts'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { attempts: number; odd: number; kinds: string[]; errors: number };
    expect(out.errors).toBe(0);
    expect(out.attempts).toBeGreaterThan(400);
    expect(out.kinds.length).toBeGreaterThan(1);
    expect(out.odd).toBe(0);
  }, 60_000);
});
