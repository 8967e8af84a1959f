// htu normalisation: the comparison policy for RFC 9449 §4.3 check 9.
//
// The htu claim of a proof and the URL the server rebuilt for the request have one normal form,
// and are equal when their normal forms are equal. Neither is repaired the way a WHATWG URL parser
// repairs input (backslash to slash, tab/CR/LF deleted, spaces trimmed, "https:host" read as
// "https://host", userinfo dropped): that would let a proof made for one URL verify at another.
//   - the claim (normalizeHtuClaim, tryNormalizeHtu) must be a strict RFC 3986 absolute http(s)
//     URI: "//" and a non-empty host, no userinfo (RFC 9110 §4.2.4), RFC 3986 characters only
//   - the request URL (normalizeHtu) may carry, in its path, characters a raw request target
//     brought along: they are percent-encoded (UTF-8) first, never stripped or converted, so
//     "/a\b" is "/a%5Cb"; its scheme and authority are held to RFC 3986 like the claim's
//     (an internationalised host name aside, which becomes punycode)
// Then, for both:
//   - only http and https URLs; query and fragment are dropped
//   - scheme and host lower-cased, default port (80/443) dropped
//   - percent-encoding normalised (RFC 3986 §6.2.2.1-2): hex digits upper-cased, encoded
//     unreserved characters (ALPHA DIGIT - . _ ~) decoded
//   - dot-segments removed (RFC 3986 §5.2.4), including encoded ones (%2E)
//   - an empty path becomes "/"
//   - path case, trailing slashes, empty segments and encoded reserved characters (%2F) are significant
import { KeyboundError } from './errors.js';

const PCT = /%([0-9A-Fa-f]{2})/g;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
/** The first character RFC 3986 allows nowhere in a URI, if any. */
const NOT_URI_CHAR = /[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/u;
/** A "%" that does not start a percent-encoded octet. */
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
/** path-abempty (RFC 3986 §3.3): pchar and "/". */
const PATH = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
/** query and fragment (RFC 3986 §3.4, §3.5): pchar, "/" and "?". */
const QUERY_OR_FRAGMENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;
/** reg-name or IPv4address (RFC 3986 §3.2.2). */
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
/** A reg-name that may also hold non-ASCII characters: an internationalised host name. */
const INTERNATIONAL_REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=\u0080-\uffff]|%[0-9A-Fa-f]{2})+$/;
/** IP-literal: an IPv6 address (IPvFuture and zone identifiers are not http hosts). */
const IP_LITERAL = /^\[[0-9A-Fa-f:.]+\]$/;
const PORT = /^[0-9]*$/;
/** What a host in a normal form may look like: RFC 3986 characters only (pct-encoding decoded). */
const NORMAL_HOST = /^(?:[a-z0-9\-._~!$&'()*+,;=]+|\[[0-9a-f:.]+\])(?::[0-9]+)?$/;
/** Characters a path may hold literally: unreserved, sub-delims, ":", "@", "/" (and "%" for pct-encoded). */
const PATH_ASCII = (() => {
  const ok = new Uint8Array(128);
  for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/") {
    ok[c.charCodeAt(0)] = 1;
  }
  return ok;
})();
const HEX = '0123456789ABCDEF';

function normalisePercent(_m: string, hex: string): string {
  const code = Number.parseInt(hex, 16);
  const isUnreserved =
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d ||
    code === 0x2e ||
    code === 0x5f ||
    code === 0x7e;
  return isUnreserved ? String.fromCharCode(code) : `%${hex.toUpperCase()}`;
}

const fail = (value: string, message: string): never => {
  throw new KeyboundError('htu_mismatch', message, { received: clip(value) });
};

function clip(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}

function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

interface Parts {
  scheme: string;
  authority: string;
  /** path-abempty, then query and fragment, as given. */
  rest: string;
}

/** Where the path of `value` ends: at the first "?" or "#" from `from`, else at the end. */
function pathEnd(value: string, from = 0): number {
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x3f || c === 0x23) return i;
  }
  return value.length;
}

/** Scheme, "//" and authority, held to RFC 3986 (an internationalised host name aside when allowed). */
function splitUri(value: string, international: boolean): Parts {
  const scheme = SCHEME.exec(value);
  if (scheme === null) return fail(value, 'htu is not an absolute URL');
  const name = scheme[1]!.toLowerCase();
  if (name !== 'https' && name !== 'http') {
    throw new KeyboundError('htu_mismatch', 'htu must be an http or https URL', { received: `${name}:` });
  }
  const start = scheme[0].length;
  if (!value.startsWith('//', start)) {
    return fail(value, `htu has no authority: "//" must follow "${name}:" (RFC 3986 §3)`);
  }
  let end = start + 2;
  while (end < value.length) {
    const c = value.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break; // / ? #
    end++;
  }
  const authority = value.slice(start + 2, end);
  if (authority.includes('@')) {
    return fail(value, 'htu must not contain userinfo (RFC 9110 §4.2.4)');
  }
  let host = authority;
  let port = '';
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    host = close < 0 ? authority : authority.slice(0, close + 1);
    const after = authority.slice(host.length);
    if (after !== '' && !after.startsWith(':')) return fail(value, 'htu has a malformed IP literal host');
    port = after.slice(1);
    if (!IP_LITERAL.test(host)) return fail(value, 'htu has a malformed IP literal host');
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) {
      host = authority.slice(0, colon);
      port = authority.slice(colon + 1);
    }
    if (host === '') return fail(value, 'htu has an empty host');
    if (!(international ? INTERNATIONAL_REG_NAME : REG_NAME).test(host)) {
      return fail(value, 'htu has a host with characters RFC 3986 does not allow (RFC 3986 §3.2.2)');
    }
  }
  if (!PORT.test(port)) return fail(value, 'htu has a port that is not a number');
  return { scheme: name, authority, rest: value.slice(end) };
}

/** Percent-encodes (UTF-8) what RFC 3986 does not allow in a path; a stray "%" becomes %25. */
function encodePath(value: string, path: string): string {
  if (PATH.test(path)) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x80) {
      if (PATH_ASCII[c] === 1 || (c === 0x25 && /^[0-9A-Fa-f]{2}/.test(path.slice(i + 1, i + 3)))) {
        out += path[i];
      } else {
        out += `%${HEX[c >> 4]}${HEX[c & 15]}`;
      }
      continue;
    }
    const cp = path.codePointAt(i)!;
    if (cp >= 0xd800 && cp <= 0xdfff) return fail(value, 'htu is not well-formed Unicode (a lone surrogate)');
    const char = String.fromCodePoint(cp);
    out += encodeURIComponent(char);
    i += char.length - 1;
  }
  return out;
}

/** The normal form of a URL whose authority and path hold RFC 3986 characters only. */
function finish(value: string, scheme: string, authority: string, path: string): string {
  let url: URL;
  try {
    url = new URL(`${scheme}://${authority}${path}`);
  } catch {
    return fail(value, 'htu has an authority that is not a valid host name or IP address and port');
  }
  if (!NORMAL_HOST.test(url.host)) {
    return fail(value, 'htu has a host with characters RFC 3986 does not allow (RFC 3986 §3.2.2)');
  }
  let normalPath = url.pathname;
  if (normalPath.includes('%')) {
    normalPath = normalPath.replace(PCT, normalisePercent);
    // decoding %2E can expose dot-segments the URL parser did not see as such: resolve them again
    if (normalPath.includes('/.')) normalPath = new URL(`http://h${normalPath}`).pathname;
  }
  return `${url.protocol}//${url.host}${normalPath}`;
}

/**
 * The htu claim to put in a proof for a request URL: query and fragment removed, and what RFC 3986
 * does not allow in a path percent-encoded as normalizeHtu encodes it, so that the claim is the
 * strict URI a server asks for and names the same path as the request's target.
 */
export function htuClaimFor(url: string): string {
  const withoutQuery = url.slice(0, pathEnd(url));
  const scheme = SCHEME.exec(withoutQuery);
  if (scheme === null || !withoutQuery.startsWith('//', scheme[0].length)) return withoutQuery;
  const slash = withoutQuery.indexOf('/', scheme[0].length + 2);
  if (slash < 0) return withoutQuery;
  return `${withoutQuery.slice(0, slash)}${encodePath(url, withoutQuery.slice(slash))}`;
}

/**
 * The normal form of the URL the server rebuilt for a request (or of a configured URL).
 * Characters RFC 3986 does not allow in a path (a raw request target may carry `\`, controls,
 * spaces, non-ASCII) are percent-encoded first, never stripped or converted: `/a\b` is `/a%5Cb`.
 * Throws `htu_mismatch` when it is not an absolute http(s) URL with an RFC 3986 authority.
 */
export function normalizeHtu(value: string): string {
  if (typeof value !== 'string') throw new KeyboundError('htu_mismatch', 'htu is not a string');
  const { scheme, authority, rest } = splitUri(value, true);
  return finish(value, scheme, authority, encodePath(value, rest.slice(0, pathEnd(rest))));
}

/**
 * The normal form of the htu claim of a proof, which must be a strict RFC 3986 absolute http(s)
 * URI: "//" and a host, no userinfo, nothing outside the RFC 3986 character set (a `\`, space,
 * control or non-ASCII character must arrive percent-encoded). Nothing is repaired: anything else
 * throws `htu_mismatch` saying what is wrong.
 */
export function normalizeHtuClaim(value: string): string {
  if (typeof value !== 'string') throw new KeyboundError('htu_mismatch', 'htu is not a string');
  const bad = NOT_URI_CHAR.exec(value);
  if (bad !== null) {
    return fail(
      value,
      `htu contains ${codePoint(bad[0])}, which is not allowed in a URI (RFC 3986 §2): it must be percent-encoded`,
    );
  }
  if (BAD_PERCENT.test(value)) {
    return fail(value, 'htu contains a "%" that does not start a percent-encoded octet (RFC 3986 §2.1)');
  }
  const { scheme, authority, rest } = splitUri(value, false);
  const end = pathEnd(rest);
  const path = rest.slice(0, end);
  if (!PATH.test(path)) return fail(value, 'htu has a path with characters RFC 3986 does not allow there');
  // the query runs to the first "#" after the path, the fragment from there on
  const h = rest.indexOf('#', end);
  const query = rest[end] === '?' ? rest.slice(end + 1, h < 0 ? rest.length : h) : '';
  if (h >= 0) {
    if (!QUERY_OR_FRAGMENT.test(query) || !QUERY_OR_FRAGMENT.test(rest.slice(h + 1))) {
      return fail(value, 'htu has a query or fragment with characters RFC 3986 does not allow there');
    }
  } else if (!QUERY_OR_FRAGMENT.test(query)) {
    return fail(value, 'htu has a query with characters RFC 3986 does not allow there');
  }
  return finish(value, scheme, authority, path);
}

/**
 * The normal form of an htu claim, or undefined when it is not a strict RFC 3986 absolute http(s)
 * URI (see normalizeHtuClaim). Use normalizeHtu for the URL the server rebuilt for the request.
 */
export function tryNormalizeHtu(value: string): string | undefined {
  try {
    return normalizeHtuClaim(value);
  } catch {
    return undefined;
  }
}
