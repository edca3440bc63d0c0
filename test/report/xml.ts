/**
 * A small XML 1.0 reader for tests (no dependency): the prolog, elements,
 * attributes in double or single quotes, the five entities and character
 * references, text. Throws on anything not well-formed: unbalanced or
 * unclosed tags, a bare `&` or `<`, an unquoted attribute, a duplicate
 * attribute, characters XML 1.0 forbids. One pass, no backtracking.
 */
export interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /[A-Za-z_:][-\w.:]*/y;
const ENTITIES = new Map([['amp', '&'], ['lt', '<'], ['gt', '>'], ['quot', '"'], ['apos', '\'']]);

export function parseXml(doc: string): XmlElement {
  // eslint-disable-next-line no-control-regex
  if (/[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\ud800-\udfff]/.test(doc)) throw new Error('a character XML 1.0 forbids');
  let i = 0;
  const fail = (what: string): never => { throw new Error(`${what} at offset ${i}`); };
  const ws = (): void => { while (i < doc.length && ' \t\r\n'.includes(doc[i] as string)) i++; };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(doc);
    if (!m) return fail('expected a name');
    i += m[0].length;
    return m[0];
  };
  const decode = (s: string): string => {
    let out = '';
    for (let j = 0; j < s.length; j++) {
      const c = s[j] as string;
      if (c === '<') fail('a bare < in text');
      if (c !== '&') { out += c; continue; }
      const end = s.indexOf(';', j);
      if (end < 0) fail('a bare &');
      const ref = s.slice(j + 1, end);
      if (ENTITIES.has(ref)) out += ENTITIES.get(ref);
      else if (/^#\d+$/.test(ref)) out += String.fromCodePoint(Number(ref.slice(1)));
      else if (/^#x[0-9a-fA-F]+$/.test(ref)) out += String.fromCodePoint(parseInt(ref.slice(2), 16));
      else fail(`unknown entity &${ref};`);
      j = end;
    }
    return out;
  };
  if (doc.startsWith('<?xml')) { const end = doc.indexOf('?>'); if (end < 0) fail('unclosed prolog'); i = end + 2; }
  ws();
  const element = (): XmlElement => {
    if (doc[i] !== '<') fail('expected <');
    i++;
    const el: XmlElement = { name: name(), attrs: new Map(), children: [], text: '' };
    for (;;) {
      ws();
      if (doc.startsWith('/>', i)) { i += 2; return el; }
      if (doc[i] === '>') { i++; break; }
      const a = name();
      ws();
      if (doc[i] !== '=') fail('expected =');
      i++;
      ws();
      const q = doc[i];
      if (q !== '"' && q !== '\'') fail('an unquoted attribute');
      const end = doc.indexOf(q as string, i + 1);
      if (end < 0) fail('an unclosed attribute');
      if (el.attrs.has(a)) fail(`attribute ${a} twice`);
      el.attrs.set(a, decode(doc.slice(i + 1, end)));
      i = end + 1;
    }
    for (;;) {
      const lt = doc.indexOf('<', i);
      if (lt < 0) fail(`unclosed <${el.name}>`);
      el.text += decode(doc.slice(i, lt));
      i = lt;
      if (doc.startsWith('</', i)) {
        i += 2;
        const n = name();
        if (n !== el.name) fail(`</${n}> closes <${el.name}>`);
        ws();
        if (doc[i] !== '>') fail('expected >');
        i++;
        return el;
      }
      el.children.push(element());
    }
  };
  const root = element();
  ws();
  if (i !== doc.length) fail('content after the root element');
  return root;
}
