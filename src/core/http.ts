/**
 * What an HTTP request can carry (RFC 9110 §5.1, §5.5, §9.1): a method or
 * header name is a token; a header value holds no control character but HTAB;
 * a path (request target) holds no space or control character. Envoy's codecs
 * answer 400 to anything else, and an HTTP client cannot send it. One copy,
 * for the scenario schema and for `request` / the library's decide. Checked a
 * character at a time: linear.
 */

const TCHAR_PUNCT = "!#$%&'*+-.^_`|~";

/** A method or header name: one or more tchar (letters, digits and !#$%&'*+-.^_`|~). */
export function isHttpToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || TCHAR_PUNCT.includes(s[i] as string);
    if (!ok) return false;
  }
  return true;
}

/**
 * A request header name as a scenario or `request` writes it: a token, or `:authority` (HTTP/2's Host, which the
 * engine reads as `host`: policy/pipeline.ts lowerHeaders).
 */
export function isHeaderName(s: string): boolean {
  return s.toLowerCase() === ':authority' || isHttpToken(s);
}

function noControls(s: string, allowTab: boolean, allowSpace: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x7f || (c < 0x20 && !(allowTab && c === 0x09)) || (c === 0x20 && !allowSpace)) return false;
  }
  return true;
}

/** A header value: no control character but a tab (no CR, LF or NUL). */
export function isHeaderValue(s: string): boolean {
  return noControls(s, true, true);
}

/** A request path: no space and no control character (they are percent-encoded). */
export function isRequestPath(s: string): boolean {
  return noControls(s, false, false);
}

export const TOKEN_FORM = "an HTTP token (letters, digits and !#$%&'*+-.^_`|~)";
export const HEADER_NAME_FORM = `${TOKEN_FORM} or :authority`;
export const HEADER_VALUE_FORM = 'must not hold CR, LF, NUL or another control character: no header can carry one (Envoy answers 400)';
export const PATH_FORM = 'must not hold a space or a control character: percent-encode it (%20); no request line can carry one (Envoy answers 400)';

/** The method of a request that names none: GET, or POST for gRPC (a gRPC call always is a POST, istio-semantics §6.6). */
export function defaultMethod(protocol: string | undefined): string {
  return protocol === 'grpc' ? 'POST' : 'GET';
}

/** The longest SNI a TLS client sends: a DNS name (RFC 1035, 253 characters). One limit for scenarios and `meshrange request`. */
export const MAX_SNI_LENGTH = 253;
