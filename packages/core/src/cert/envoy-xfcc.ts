// Envoy's x-forwarded-client-cert (XFCC) header, as the Envoy docs define it:
//   - the value is a comma-separated list of elements, one element per proxy hop;
//   - an element is a semicolon-separated list of key=value pairs; keys are case-insensitive;
//   - a value holding "," ";" or "=" is double-quoted, and a double quote inside it is \";
//   - Cert is the client certificate as URL-encoded PEM, Chain the whole chain (leaf first) as
//     URL-encoded PEM; other keys (By, Hash, Subject, URI, DNS) are read over and ignored.
// Envoy writes Cert and Chain quoted; this parser accepts them quoted or bare.
import { KeyboundError } from '../errors.js';

/** One XFCC element: lower-cased key → every value it was given (DNS may legally repeat). */
export type XfccElement = Map<string, string[]>;

const WHAT = 'x-forwarded-client-cert';

function fail(message: string): never {
  throw new KeyboundError('cert_header_malformed', `${WHAT}: ${message}`);
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isKeyChar(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x5f
  );
}

/** Parses the whole header value into its elements; raises cert_header_malformed on bad syntax. */
export function parseXfcc(value: string): XfccElement[] {
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) {
      fail(`character U+${c.toString(16).toUpperCase().padStart(4, '0')} at ${i} is not allowed`);
    }
  }
  const elements: XfccElement[] = [];
  let element: XfccElement = new Map();
  let pos = 0;
  const skipOws = () => {
    while (pos < n && isOws(value.charCodeAt(pos))) pos++;
  };
  skipOws();
  if (pos === n) fail('empty value');
  for (;;) {
    skipOws();
    const keyStart = pos;
    while (pos < n && isKeyChar(value.charCodeAt(pos))) pos++;
    if (pos === keyStart) fail(`expected a key at character ${pos}`);
    const key = value.slice(keyStart, pos).toLowerCase();
    if (pos === n || value.charCodeAt(pos) !== 0x3d)
      fail(`key at character ${keyStart} is not followed by "="`);
    pos++;
    let item: string;
    if (pos < n && value.charCodeAt(pos) === 0x22) {
      pos++;
      item = '';
      let runStart = pos;
      for (;;) {
        if (pos >= n) fail(`unterminated quoted value starting at character ${runStart - 1}`);
        const c = value.charCodeAt(pos);
        if (c === 0x5c) {
          if (pos + 1 >= n) fail(`unterminated quoted value starting at character ${runStart - 1}`);
          item += value.slice(runStart, pos) + value[pos + 1];
          pos += 2;
          runStart = pos;
        } else if (c === 0x22) {
          item += value.slice(runStart, pos);
          pos++;
          break;
        } else {
          pos++;
        }
      }
      skipOws();
    } else {
      const start = pos;
      while (pos < n) {
        const c = value.charCodeAt(pos);
        if (c === 0x3b || c === 0x2c) break;
        if (c === 0x22) fail(`double quote inside an unquoted value at character ${pos}`);
        pos++;
      }
      let end = pos;
      while (end > start && isOws(value.charCodeAt(end - 1))) end--;
      item = value.slice(start, end);
    }
    const existing = element.get(key);
    if (existing === undefined) element.set(key, [item]);
    else existing.push(item);

    if (pos === n) {
      elements.push(element);
      return elements;
    }
    const sep = value.charCodeAt(pos);
    if (sep === 0x3b) {
      pos++;
    } else if (sep === 0x2c) {
      elements.push(element);
      element = new Map();
      pos++;
    } else {
      fail(`expected ";" or "," at character ${pos}`);
    }
    skipOws();
    if (pos === n) fail('ends with a separator');
  }
}
