/**
 * Every error says what to do: a bad option value refused by a command's own
 * checks (not commander's) is written as commander's errors are (README: one
 * line `meshrange: …` and a `hint:` line, exit 2).
 */
import { describe, expect, it } from 'vitest';
import { cli } from './harness.js';

const mesh = ['--mesh', 'scenarios/meshes/three-ns'];
const CASES: [string, string[]][] = [
  ['run --report xml=r.xml', ['run', 'scenarios/bookinfo-deny-over-allow.yaml', '--report', 'xml=r.xml']],
  ['run --seed abc', ['run', 'scenarios/bookinfo-deny-over-allow.yaml', '--seed', 'abc']],
  ['run --workers 0', ['run', 'scenarios/bookinfo-deny-over-allow.yaml', '--workers', '0']],
  ['blast-radius --depth 0', ['blast-radius', ...mesh, '--depth', '0']],
  ['blast-radius --exploit ,', ['blast-radius', ...mesh, '--exploit', ',']],
  ['request --header bad', ['request', ...mesh, '--from', 'frontend/web', '--to', 'api.backend:80', '--header', 'bad']],
  ['request --time soon', ['request', ...mesh, '--from', 'frontend/web', '--to', 'api.backend:80', '--time', 'soon']],
  ['request --jwks x', ['request', ...mesh, '--from', 'frontend/web', '--to', 'api.backend:80', '--jwks', 'x']],
  ['generate --workloads 50', ['generate', '--workloads', '50', '--out', 'never-written']],
  ['generate --workloads x', ['generate', '--workloads', 'x', '--out', 'never-written']],
  ['merge --report xml=m.xml', ['merge', 'a.json', '--report', 'xml=m.xml']],
];

describe('a bad option value is a meshrange: line with a hint line, as an unknown option is', () => {
  for (const [name, args] of CASES) {
    it(`${name}: exit 2, meshrange: … followed by hint:`, async () => {
      const r = await cli(...args);
      expect(r.code).toBe(2);
      const lines = r.err.split('\n');
      expect(lines[0]).toMatch(/^meshrange: \S/);
      expect(lines[1]).toMatch(/^ {2}hint: \S/);
      expect(r.err).not.toContain('[bad-usage]');
    });
  }
});
