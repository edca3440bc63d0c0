/**
 * readSource (src/cli/fs.ts) reads every file into one reused buffer and
 * decodes it before the next read: each text is its own file's bytes, whatever
 * was read before it, and the byte limit still holds. The bytes are UTF-8,
 * read without a leading byte-order mark; others are a located error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { firstInvalidUtf8, readSource } from '../../src/cli/fs.js';
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

describe('readSource reads UTF-8 only, without a byte-order mark', () => {
  const bytes = (name: string, b: number[] | Buffer): string => {
    const p = path.join(dir, name);
    writeFileSync(p, Buffer.from(b));
    return p;
  };

  it('a byte-order mark before YAML or JSON is left out of the text (an editor wrote it; JSON.parse would stop at it)', () => {
    const issues = new IssueList();
    const json = readSource(bytes('bom.json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"keys":[]}')])), issues)?.text;
    expect(json).toBe('{"keys":[]}');
    expect(JSON.parse(json as string)).toEqual({ keys: [] });
    expect(readSource(bytes('bom.yaml', Buffer.from('\ufeffkind: x\n', 'utf8')), issues)?.text).toBe('kind: x\n');
    expect(issues.errors).toEqual([]);
  });

  it('a byte-order mark inside the text is kept: only the first three bytes are one', () => {
    expect(readSource(bytes('mid-bom.yaml', Buffer.from('a: "x\ufeff"\n', 'utf8')), new IssueList())?.text).toBe('a: "x\ufeff"\n');
  });

  it('a Latin-1 byte is not-utf8 at its line and column, not a U+FFFD in a label', () => {
    const issues = new IssueList();
    // line 3: "  team: caf" then 0xE9 (é in Latin-1)
    const p = bytes('latin1.yaml', [...Buffer.from('kind: x\nlabels:\n  team: caf'), 0xe9, 0x0a]);
    expect(readSource(p, issues)).toBeNull();
    expect(issues.errors).toEqual([expect.objectContaining({ code: 'not-utf8', loc: { file: p, line: 3, col: 12 } })]);
    expect(issues.errors[0]?.message).toContain('byte 0xE9 at line 3, column 12');
    expect(issues.errors[0]?.hint).toContain('UTF-8');
  });

  it('the column counts characters, not bytes, and a byte-order mark is not one', () => {
    const issues = new IssueList();
    const p = bytes('cols.yaml', [0xef, 0xbb, 0xbf, ...Buffer.from('a: ééé'), 0xff]);
    expect(readSource(p, issues)).toBeNull();
    expect(issues.errors[0]?.loc).toEqual({ file: p, line: 1, col: 7 });
  });

  it('a UTF-16 file (as PowerShell writes) is not-utf8 naming UTF-16, not binary for its NUL bytes', () => {
    for (const [name, bytes16] of [['le.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('kind: x\n', 'utf16le')])],
      ['be.yaml', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('kind: x\n', 'utf16le').swap16()])]] as const) {
      const issues = new IssueList();
      const p = bytes(name, bytes16);
      expect(readSource(p, issues)).toBeNull();
      expect(issues.errors).toEqual([expect.objectContaining({ code: 'not-utf8', loc: { file: p, line: 1, col: 1 } })]);
      expect(issues.errors[0]?.message).toContain('is UTF-16');
    }
  });

  it('a bad first byte is line 1, column 1', () => {
    const issues = new IssueList();
    const p = bytes('first.yaml', [0x80, 0x41, 0x0a, 0x42]);
    expect(readSource(p, issues)).toBeNull();
    expect(issues.errors[0]?.loc).toEqual({ file: p, line: 1, col: 1 });
  });

  it('overlong forms, surrogates and code points past U+10FFFF are refused; four-byte characters are read', () => {
    for (const bad of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xe2, 0x82]]) {
      const issues = new IssueList();
      expect(readSource(bytes('bad.yaml', [0x61, ...bad]), issues), bad.join(',')).toBeNull();
      expect(issues.errors[0]?.loc?.col).toBe(2);
    }
    expect(readSource(bytes('emoji.yaml', Buffer.from('a: 🙂\n', 'utf8')), new IssueList())?.text).toBe('a: 🙂\n');
  });
});

describe('firstInvalidUtf8 agrees with a strict decoder', () => {
  it('on random byte strings: -1 exactly when TextDecoder (fatal) accepts, else the end of the longest valid prefix', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), fc.integer({ min: 0, max: 3 }), (raw, bias) => {
      // bias towards UTF-8 lead and continuation bytes, where the edge cases are
      const b = Uint8Array.from(raw, (x) => (bias === 0 ? x : bias === 1 ? 0x80 | (x & 0x3f) : bias === 2 ? 0xc0 | (x & 0x3f) : x & 0xf7));
      const strict = new TextDecoder('utf-8', { fatal: true });
      const at = firstInvalidUtf8(b);
      let whole = true;
      try { strict.decode(b); } catch { whole = false; }
      expect(at === -1).toBe(whole);
      if (at >= 0) {
        // the prefix before it decodes; the prefix through the sequence starting there does not extend it validly
        expect(() => strict.decode(b.subarray(0, at))).not.toThrow();
        let longer = false;
        for (let e = at + 1; e <= Math.min(b.length, at + 4); e++) {
          try { strict.decode(b.subarray(0, e)); longer = true; } catch { /* not valid */ }
        }
        expect(longer).toBe(false);
      }
    }), { numRuns: 3000 });
  });
});
