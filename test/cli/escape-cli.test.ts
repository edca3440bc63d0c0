/** Nothing a stranger names can forge a line of the CLI's own output (issue 9 item 7). */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './harness.js';

const tmp = mkdtempSync(path.join('test', '.tmp-escape-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('CLI output stays on its lines', () => {
  it('a manifest file name holding a newline cannot forge a line in the warnings of blast-radius, request and assess', async () => {
    const dir = path.join(tmp, 'nl-mesh');
    cpSync('scenarios/meshes/bookinfo', dir, { recursive: true });
    // a second definition of the Services: each is a duplicate-object warning naming this file
    writeFileSync(path.join(dir, 'dup.yaml\nrisk DOWN - fixed\nz.yaml'), readFileSync('scenarios/meshes/bookinfo/services.yaml'));
    for (const args of [['blast-radius', '--mesh', dir, '--from', 'bookinfo/ratings-v1'], ['request', '--mesh', dir, '--from', 'bookinfo/ratings-v1', '--to', 'details:9080'],
      ['assess', '--before', dir, '--after', dir]]) {
      const r = await cli(...args);
      expect(r.err, args[0]).toContain('dup.yaml\\nrisk DOWN');
      expect(`${r.out}${r.err}`.split('\n').some((l) => l.startsWith('risk DOWN')), args[0]).toBe(false);
    }
  });

  it('a file name holding a newline cannot forge a summary line in run <dir>\'s notes', async () => {
    const dir = path.join(tmp, 'suite');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'note.txt\n5 scenarios: 0 breached, 5 contained'), 'x');
    const r = await cli('run', dir);
    expect(r.err.split('\n').some((l) => l.startsWith('5 scenarios:'))).toBe(false);
    expect(r.err).toContain('note.txt\\n5 scenarios');
  });

  it('a request path holding a newline cannot forge the verdict line of meshrange request: it is refused, and the error shows it escaped', async () => {
    const r = await cli('request', '--mesh', 'scenarios/meshes/bookinfo', '--from', 'bookinfo/ratings-v1', '--to', 'details:9080',
      '--path', '/x\nverdict: ALLOWED 200, mutual TLS');
    expect(r.code).toBe(2);
    expect(`${r.out}${r.err}`.split('\n').filter((l) => l.startsWith('verdict:'))).toHaveLength(0);
    expect(r.err).toContain('path "/x\\nverdict: ALLOWED 200, mutual TLS": must not hold a space or a control character');
  });
});
