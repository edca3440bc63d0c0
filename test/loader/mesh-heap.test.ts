/**
 * What a loaded mesh costs in heap, per workload (issue 13 items 3 and 6: the
 * blast radius at 10,000 workloads within 150 MB, at 100,000 within 2 GB).
 * A list built by push keeps the 17 slots V8 grows it to on the first push;
 * the model keeps tens of thousands of one- and two-entry lists (ports,
 * rules, sources, principals, each workload's selected policies), so each
 * kept list is cut to its size (src/core/arrays.ts exactSize). Measured in a
 * child process with --expose-gc on a generated 2,000-workload mesh.
 *
 * Figures on Node 20 (KB per workload, loaded / policies selected): before
 * exactSize 2.7 / 3.7; with it 2.0 / 2.6 (under 1 % apart from run to run).
 * The bounds sit between the two. They follow V8's object layout: on another
 * Node major (the project's is 20, package.json engines) measure both again.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');

describe('heap held by a loaded mesh', () => {
  it('a generated 2,000-workload mesh holds at most 2.4 KB of heap per workload loaded, 3.2 KB with every policy selected', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/loader/support/mesh-heap-child.ts', '2000', 'open'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { workloads: number; errors: number; loaded: number; selected: number };
    expect(out.errors).toBe(0);
    expect(out.workloads).toBe(2000);
    expect(out.loaded / out.workloads).toBeLessThan(2.4 * 1024);
    expect(out.selected / out.workloads).toBeLessThan(3.2 * 1024);
  }, 60_000);
});
