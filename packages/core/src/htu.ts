// htu normalisation: the comparison policy for RFC 9449 §4.3 check 9.
//
// Both the htu in a proof and the URL the server rebuilt for the request go through the same
// function, and are equal when their normal forms are equal:
//   - only http and https URLs; userinfo, query and fragment are dropped
//   - scheme and host lower-cased (IDNs to punycode), default port (80/443) dropped
//   - percent-encoding normalised (RFC 3986 §6.2.2.1-2): hex digits upper-cased, encoded
//     unreserved characters (ALPHA DIGIT - . _ ~) decoded
//   - dot-segments removed (RFC 3986 §5.2.4), including encoded ones (%2E)
//   - an empty path becomes "/"
//   - path case, trailing slashes, empty segments and encoded reserved characters (%2F) are significant
import { KeyboundError } from './errors.js';

const PCT = /%([0-9A-Fa-f]{2})/g;

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

/** Returns the normal form of an htu, or throws `htu_mismatch` when it is not an http(s) URL. */
export function normalizeHtu(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new KeyboundError('htu_mismatch', 'htu is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KeyboundError('htu_mismatch', 'htu must be an http or https URL', { received: url.protocol });
  }
  let path = url.pathname;
  if (path.includes('%')) {
    path = path.replace(PCT, normalisePercent);
    // decoding %2E can expose dot-segments the URL parser did not see as such: resolve them again
    if (path.includes('/.')) path = new URL(`http://h${path}`).pathname;
  }
  return `${url.protocol}//${url.host}${path}`;
}

/**
 * Normalises without throwing: undefined for anything that is not an http(s) URL.
 * Use this for the htu claim received in a proof; use normalizeHtu for configured URLs.
 */
export function tryNormalizeHtu(value: string): string | undefined {
  try {
    return normalizeHtu(value);
  } catch {
    return undefined;
  }
}
