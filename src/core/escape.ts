/**
 * The one escaping module (issue 9 item 7): text that came from a stranger —
 * names, paths, headers, descriptions, file names — is escaped for where it is
 * shown, so it can neither drive a terminal (ANSI/OSC sequences, a carriage
 * return that rewrites the line, bidi overrides that reorder it) nor fake or
 * hide part of a report (a Markdown comment, a table row, an XML tag).
 *
 * Escapes are written as JSON writes them (`\n`, `\r`, `\t`, `\u001b`), so a
 * filtered JSON document stays valid JSON meaning the same thing.
 * In core because core/issues.ts formats messages with it; report/ and cli/
 * use it from here.
 */

/**
 * Characters that are never shown raw: C0 controls (newline included), DEL,
 * C1 controls, zero-width and bidi formatting marks, line/paragraph
 * separators, the BOM, interlinear annotation marks, the non-characters
 * U+FFFE/U+FFFF, and lone surrogates. One character at a time: linear.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function visible(ch: string): string {
  return SHORT[ch] ?? `\\u${(ch.charCodeAt(0)).toString(16).padStart(4, '0')}`;
}

/**
 * The unsafe characters JSON.stringify writes raw (it escapes C0 controls and lone surrogates itself): DEL, C1
 * controls, zero-width and bidi marks, line/paragraph separators, the BOM, annotation marks, U+FFFE/U+FFFF. None is
 * ASCII punctuation or white space, so each stands inside a string literal and its `\uXXXX` escape means the same.
 */
const JSON_RAW_UNSAFE = /[\u007f-\u009f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\ufffe\uffff]/g;

/**
 * JSON text safe to open in a terminal, an editor or a CI log: the same document (it parses to the same value), with
 * every character a terminal or a bidi-aware viewer would act on written as its `\uXXXX` escape.
 */
export function jsonSafe(jsonText: string): string {
  return jsonText.replace(JSON_RAW_UNSAFE, visible);
}

/** A JSON document as meshrange writes every one: two-space indent, a final newline, unsafe characters escaped (jsonSafe). */
export function jsonDocument(value: unknown): string {
  return `${jsonSafe(JSON.stringify(value, null, 2))}\n`;
}

/** One line of plain text: every unsafe character, newline included, written as an escape. */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, visible);
}

/** Whole output for a terminal (stdout or stderr): like escapeControls, but our own newlines stay. */
export function terminalSafe(s: string): string {
  return s.replace(UNSAFE, (ch) => (ch === '\n' ? ch : visible(ch)));
}

/** Free prose (a description) on one line: runs of white space become one space, the rest is escaped. */
export function oneLine(s: string): string {
  return escapeControls(s.trim().replace(/[ \t\r\n]+/g, ' '));
}

/**
 * Text inside Markdown (a paragraph or a table cell): on one line, and every
 * ASCII punctuation character that can open Markdown or HTML syntax is
 * backslash-escaped (CommonMark §2.4), so `<!--`, `|`, `` ` ``, `[x](y)`,
 * `#` and `---` are shown, never interpreted.
 */
export function markdownText(s: string): string {
  return oneLine(s).replace(/[\\`*_{}[\]()#+\-.!|<>&~]/g, (ch) => `\\${ch}`);
}

/**
 * A SARIF message's plain text (SARIF 2.1.0 §3.11.6): unsafe characters escaped, and no embedded link can form —
 * a link is `[text](target)`, so each `](` is written `\](` (a backslash right before it doubled). Other brackets
 * stay as they are: viewers that do not unescape would show every `\[` of an ordinary text.
 */
export function sarifText(s: string): string {
  return escapeControls(s).replace(/\\(?=\]\()|\](?=\()/g, (ch) => `\\${ch}`);
}

/**
 * Text for an XML 1.0 attribute value or element content: unsafe characters
 * (which include every character XML 1.0 forbids) are written as visible
 * escapes, then the five markup characters as entities. Always well-formed.
 */
export function xmlText(s: string): string {
  return escapeControls(s).replace(/[&<>"']/g, (ch) => XML_ENTITIES[ch] ?? ch);
}

const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&apos;' };

/**
 * A file path as a URI reference (RFC 3986), for SARIF's artifactLocation.uri:
 * each segment percent-encoded; an absolute path becomes a file:// URI.
 */
export function pathUri(p: string): string {
  // encodeURIComponent refuses a lone surrogate: it becomes U+FFFD first.
  const wellFormed = p.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  const segments = wellFormed.split('/').map((seg) => encodeURIComponent(seg));
  return p.startsWith('/') ? `file://${segments.join('/')}` : segments.join('/');
}

const HTML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' };

/**
 * Text for HTML element content or a quoted attribute value (the HTML report):
 * unsafe characters as visible escapes (so a bidi override cannot reorder the
 * page and a newline stays on its line), then the five characters that can
 * open markup or close an attribute as character references. Never markup.
 */
export function htmlText(s: string): string {
  return escapeControls(s).replace(/[&<>"']/g, (ch) => HTML_ENTITIES[ch] ?? ch);
}

/**
 * Text inside a Graphviz DOT double-quoted string (an ID or a label):
 * unsafe characters as visible escapes (a newline cannot end the statement),
 * then the two characters that can close or escape the string, `"` and `\`,
 * backslash-escaped. Always one quoted string; the caller adds the quotes.
 */
export function dotText(s: string): string {
  return escapeControls(s).replace(/[\\"]/g, (ch) => `\\${ch}`);
}

/**
 * Text inside a Mermaid node label written as `id["…"]`: unsafe characters as
 * visible escapes (a newline cannot start a new statement), then every
 * character that can close the label, open markup or start an entity — `"`,
 * `#`, `<`, `>`, `&`, `` ` ``, brackets, braces, parentheses, `|`, `;` — as
 * Mermaid's `#code;` entity codes, so a label never becomes syntax.
 */
export function mermaidText(s: string): string {
  return escapeControls(s).replace(/["#<>&`[\](){}|;\\]/g, (ch) => `#${ch.charCodeAt(0)};`);
}

/**
 * A Mermaid node id from any text: letters, digits and `_` kept, every other
 * character written as `_` + its code point in hex + `_`, so two different
 * texts never share an id and an id is never syntax.
 */
export function mermaidId(s: string): string {
  let out = 'n_';
  for (const ch of s) out += /[A-Za-z0-9]/.test(ch) ? ch : `_${(ch.codePointAt(0) ?? 0).toString(16)}_`;
  return out;
}
