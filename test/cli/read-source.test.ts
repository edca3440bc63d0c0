/**
 * readSource (src/cli/fs.ts) reads every file into one reused buffer and
 * decodes it before the next read: each text is its own file's bytes, whatever
 * was read before it, and the byte limit still holds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSource } from '../../src/cli/fs.js';
import { IssueList } from '../../src/core/issues.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mr-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('readSource with a reused buffer', () => {
  it('a short file read after a long one is its own text, with nothing of the long one', () => {
    const long = `# ${'a'.repeat(200_000)}\n`;
    const issues = new IssueList();
    const texts = [file('long.yaml', long), file('short.yaml', 'kind: x\n'), file('mid.yaml', `# ${'b'.repeat(5000)}\n`), file('short2.yaml', 'a: é\n')]
      .map((p) => readSource(p, issues)?.text);
    expect(issues.errors).toEqual([]);
    expect(texts).toEqual([long, 'kind: x\n', `# ${'b'.repeat(5000)}\n`, 'a: é\n']);
  });

  it('a file over the limit is refused as too large, and the next file still reads whole', () => {
    const issues = new IssueList();
    expect(readSource(file('big.yaml', 'x'.repeat(3000)), issues, undefined, { limit: 2048 })).toBeNull();
    expect(issues.errors[0]?.code).toBe('file-too-large');
    const after = new IssueList();
    expect(readSource(file('after.yaml', 'y'.repeat(2048)), after, undefined, { limit: 2048 })?.text).toBe('y'.repeat(2048));
    expect(after.errors).toEqual([]);
  });

  it('an empty file reads as the empty text', () => {
    expect(readSource(file('empty.yaml', ''), new IssueList())?.text).toBe('');
  });
});
