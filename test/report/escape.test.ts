/**
 * Output cannot be forged (issue 9 item 7): whatever a scenario or a mesh
 * holds — ANSI/OSC sequences, carriage returns, bidi overrides, newlines,
 * Markdown, XML — the text report stays one line per item and drives no
 * terminal, the Markdown cannot hide or fake the result, the JUnit file is
 * well-formed XML, SARIF URIs are URIs, and stderr is as safe as stdout.
 */
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { escapeControls, markdownText, pathUri, sarifText, terminalSafe, xmlText } from '../../src/core/escape.js';
import { formatIssue } from '../../src/core/issues.js';
import { renderBlastJson } from '../../src/report/blast-radius.js';
import { renderJson } from '../../src/report/json.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderSarif } from '../../src/report/sarif.js';
import { renderText } from '../../src/report/text.js';
import type { RunResult } from '../../src/scenario/types.js';
import type { BlastRadius } from '../../src/analysis/blast-radius.js';

const ESC = '\u001b';
/** Clears the screen, sets the window title, writes a fake "contained" over the line, reorders text. */
const HOSTILE = `${ESC}[2J${ESC}]0;owned\u0007evil\rCONTAINED\u202egnp.exe\u0000\u009b31m\ud800`;

/** A report whose every free string is `x`. */
function result(x: string): RunResult {
  return {
    scenario: x, description: x, file: x, seed: 1, verdict: 'breached', expectations: { passed: 0, failed: 1 }, fingerprint: 'f',
    steps: [{
      id: x, action: 'request', outcome: 'allowed', expected: 'blocked', code: 200, mtls: true, attack: true, expectationMet: false, from: x, to: x, t: 0,
      stoppedBy: [{ control: 'AuthorizationPolicy', name: x, reason: x }],
      evidence: { events: [], stolen: [{ kind: 'jwt', subject: x, notAfter: null, validUntil: x, validForMs: null, note: x }] },
    }],
    traffic: [{ from: x, to: x, sent: 1, ok: 1, p99ms: 1, stoppedBy: { [x]: 1 } }],
    controls: [{ control: 'AuthorizationPolicy', name: x, stops: 1, soleStops: 1 }],
    warnings: [x],
  };
}

/** Characters a terminal acts on (C0 but newline, DEL, C1) or that reorder text (bidi). */
const DRIVES_TERMINAL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * A small XML 1.0 well-formedness check: only XML Chars, every `&` starts an
 * entity, tags balance, attribute values are quoted and hold no `<`.
 */
function wellFormedXml(doc: string): string | null {
  const body = doc.replace(/^<\?xml[^?]*\?>\n/, '');
  // eslint-disable-next-line no-control-regex
  if (/[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\ud800-\udfff]/.test(body)) return 'a character XML 1.0 forbids';
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(body)) return 'a lone surrogate';
  if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(body)) return 'a bare &';
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z_][-\w.]*)((?: [A-Za-z_][-\w.]*="[^"<]*")*)(\/?)>/g;
  let at = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    if (body.slice(at, m.index).includes('<')) return `stray < before ${m[0]}`;
    at = m.index + m[0].length;
    if (m[4]) continue;
    if (m[1]) { if (stack.pop() !== m[2]) return `unbalanced </${m[2]}>`; } else stack.push(m[2] as string);
  }
  if (body.slice(at).includes('<')) return 'stray < at the end';
  return stack.length === 0 ? null : `unclosed <${stack.join('>, <')}>`;
}

describe('the escaping module', () => {
  it('escapeControls writes every control, newline and bidi mark as a JSON-style escape and leaves other text alone', () => {
    expect(escapeControls('a\nb\r\tc\u001b[0m\u202e ü 漢 🙂')).toBe('a\\nb\\r\\tc\\u001b[0m\\u202e ü 漢 🙂');
  });

  it('terminalSafe keeps newlines and valid JSON stays JSON meaning the same thing', () => {
    const json = JSON.stringify({ v: `x\u009b\u202ey\u2028` }, null, 2);
    expect(JSON.parse(terminalSafe(json))).toEqual(JSON.parse(json));
    expect(terminalSafe(json)).not.toMatch(DRIVES_TERMINAL);
  });

  it('markdownText shows `<!--`, `|`, backticks, links and headings as text', () => {
    expect(markdownText('<!-- | `x` [a](b) # h')).toBe('\\<\\!\\-\\- \\| \\`x\\` \\[a\\]\\(b\\) \\# h');
  });

  it('xmlText of any string is well-formed element content', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => wellFormedXml(`<a b="${xmlText(s)}">${xmlText(s)}</a>`) === null));
  });

  it('pathUri percent-encodes each segment; an absolute path becomes a file:// URI', () => {
    expect(pathUri('scenarios/a b#1?.yaml')).toBe('scenarios/a%20b%231%3F.yaml');
    expect(pathUri('/tmp/x%y/s.yaml')).toBe('file:///tmp/x%25y/s.yaml');
    expect(() => pathUri('bad\ud800.yaml')).not.toThrow();
  });
});

describe('reports of hostile text', () => {
  it('the text report drives no terminal and keeps one line per item, whatever the strings hold', () => {
    const benign = renderText([result('x')]).split('\n').length;
    const text = renderText([result(`${HOSTILE}\n  ✓ fake: request — blocked\n`)]);
    expect(text).not.toMatch(DRIVES_TERMINAL);
    expect(text.split('\n')).toHaveLength(benign);
    expect(text).toContain('\\u001b[2J');
  });

  it('property: for any string in every field, the text report has no terminal control and as many lines as a benign one', () => {
    const benign = renderText([result('x')]).split('\n').length;
    fc.assert(fc.property(fc.string({ unit: 'binary', minLength: 1 }), (s) => {
      const text = renderText([result(s)]);
      return !DRIVES_TERMINAL.test(text) && text.split('\n').length === benign;
    }));
  });

  it('a Markdown description with `<!--` cannot hide the result table, nor fake a row', () => {
    const md = renderMarkdown([result('<!-- hide\n\n| fake | x → y | blocked | blocked | 403 | yes | — |\n')]);
    expect(md).not.toContain('<!--');
    expect(md.split('\n').filter((l) => l.startsWith('|'))).toHaveLength(6); // steps: header, rule, the one real row; controls: header, rule, one row
    expect(md).toContain('| allowed ✗ |');
  });

  it('property: for any string in every field, the Markdown has exactly the real table rows and no raw `<`', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
      const md = renderMarkdown([result(s)]);
      const rows = md.split('\n').filter((l) => l.startsWith('|'));
      return rows.length === 6 && !/<(?!br>)/.test(md) && !DRIVES_TERMINAL.test(md);
    }));
  });

  it('property: for any string in every field, the JUnit report is well-formed XML 1.0', () => {
    expect(wellFormedXml(renderJunit([result(HOSTILE)]))).toBeNull();
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => wellFormedXml(renderJunit([result(s)])) === null));
  });

  it('SARIF locations are URI references even for a file name with spaces, # and %', () => {
    const sarif = JSON.parse(renderSarif([result('x')].map((r) => ({ ...r, file: 'my scenarios/#1 100%.yaml' })))) as
      { runs: { results: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] }[] };
    const uri = sarif.runs[0]?.results[0]?.locations[0]?.physicalLocation.artifactLocation.uri;
    expect(uri).toBe('my%20scenarios/%231%20100%25.yaml');
    expect(decodeURIComponent(uri ?? '')).toBe('my scenarios/#1 100%.yaml');
  });

  it('property: for any string in every field, no SARIF message text holds an unsafe character or a `](` that could open an embedded link (SARIF §3.11.6)', () => {
    const texts = (doc: string): string[] => {
      const j = JSON.parse(doc) as { runs: { results: { message: { text: string } }[]; invocations?: { toolExecutionNotifications: { message: { text: string } }[] }[] }[] };
      return j.runs.flatMap((r) => [...r.results.map((x) => x.message.text), ...(r.invocations ?? []).flatMap((i) => i.toolExecutionNotifications.map((n) => n.message.text))]);
    };
    // a `](` is escaped when an odd number of backslashes stands right before it
    const link = (t: string): boolean => /(^|[^\\])(\\\\)*\]\(/.test(t);
    const hostile = texts(renderSarif([result('[x](https://evil.example) \u202e\\](y)')]));
    expect(hostile.length).toBeGreaterThan(1);
    for (const t of hostile) {
      expect(link(t), t).toBe(false);
      expect(t).not.toMatch(DRIVES_TERMINAL);
    }
    expect(hostile[0]).toContain('[x\\](https://evil.example) \\u202e\\\\\\](y)');
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (x) => texts(renderSarif([result(x)])).every((t) => !link(t) && !DRIVES_TERMINAL.test(t)
      && !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(t))));
  });

  it('sarifText breaks every `](` and leaves other brackets and backslashes alone (viewers that do not unescape show them as written)', () => {
    expect(sarifText('a\\b [c] \\](d) e](f)')).toBe('a\\b [c] \\\\\\](d) e\\](f)');
  });

  it('the JSON report stays valid JSON with the strings exactly as given', () => {
    expect(JSON.parse(renderJson([result(HOSTILE)]))).toMatchObject({ scenario: HOSTILE, description: HOSTILE });
  });

  it('property: for any string in every field, the JSON and SARIF reports and the blast-radius JSON hold no character a terminal acts on or that reorders text, and parse to the strings as given', () => {
    const blast = (x: string): string => renderBlastJson({ depth: 1, exploit: [x], crown: [x], footholds: [{ from: x, reached: [{ id: x, hop: 1 }] }], edges: [], decisions: 0, memoHits: 0 } as unknown as BlastRadius);
    // JSON.stringify writes these raw; each is written as its escape
    const raw = '\u202e\u2028\u2029\u200f\u061c\ufeff\u007f\u009b';
    expect(renderJson([result(raw)])).toContain('"scenario": "\\u202e\\u2028\\u2029\\u200f\\u061c\\ufeff\\u007f\\u009b"');
    const unsafe = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom(HOSTILE, raw)), (x) => {
      const json = renderJson([result(x)]);
      const b = blast(x);
      return [json, renderSarif([result(x)]), b].every((t) => !unsafe.test(t))
        && (JSON.parse(json) as { scenario: string }).scenario === x
        && (JSON.parse(b) as { footholds: { from: string }[] }).footholds[0]?.from === x;
    }));
  });
});

describe('stderr: issues and the CLI', () => {
  it('formatIssue escapes the file name, message and hint: one issue is always its own lines', () => {
    const text = formatIssue({ severity: 'error', code: 'x', message: `unknown field "${HOSTILE}"`, hint: 'a\nb', loc: { file: `f${ESC}[2J.yaml`, line: 1, col: 2 } });
    expect(text).not.toMatch(DRIVES_TERMINAL);
    expect(text.split('\n')).toHaveLength(2);
  });

  const root = path.resolve(__dirname, '../..');
  let tmp = '';
  beforeAll(() => { tmp = mkdtempSync(path.join(root, 'test', '.tmp-escape-')); });
  afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  it('a scenario whose unknown field is an escape sequence is reported on stderr without the raw sequence', async () => {
    mkdirSync(tmp, { recursive: true });
    const f = path.join(tmp, 'esc.yaml');
    writeFileSync(f, `apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { name: esc }\nspec:\n  "\\e]0;owned\\a\\e[2J": 1\n`);
    let err = '';
    let out = '';
    const code = await main(['run', path.relative(root, f)], { out: (s) => { out += s; }, err: (s) => { err += s; } });
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain('[scenario-unknown-field]');
    expect(err).not.toMatch(DRIVES_TERMINAL);
    expect(err).toContain('\\u001b]0;owned\\u0007\\u001b[2J');
  });

  it('an option value echoed back by the command line parser is escaped too', async () => {
    let err = '';
    const code = await main(['run', 'x.yaml', `--format=${ESC}[2J`], { out: () => undefined, err: (s) => { err += s; } });
    expect(code).toBe(2);
    expect(err).not.toMatch(DRIVES_TERMINAL);
  });
});
