// Strict percent-decoding (RFC 3986 §2.1) of the URL-encoded PEM that nginx, Envoy and AWS ALB
// put in headers. Only "%XX" is decoded: "+" stays "+" (it is a base64 character, and AWS ALB
// leaves "+", "=" and "/" unencoded), so form-decoding would corrupt certificates. The result
// must be ASCII text: a PEM certificate never holds other bytes.
import { KeyboundError } from '../errors.js';

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function allowedDecoded(c: number): boolean {
  return (c >= 0x20 && c <= 0x7e) || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Decodes %XX escapes; raises cert_header_malformed for a bad escape or a byte PEM cannot hold. */
export function percentDecodeAscii(value: string, what: string): string {
  let out = '';
  let runStart = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25) {
      const complete = i + 2 < value.length;
      const hi = complete ? hexValue(value.charCodeAt(i + 1)) : -1;
      const lo = complete ? hexValue(value.charCodeAt(i + 2)) : -1;
      if (hi < 0 || lo < 0) {
        throw new KeyboundError(
          'cert_header_malformed',
          `${what}: "%" not followed by two hex digits at character ${i}`,
        );
      }
      const byte = (hi << 4) | lo;
      if (!allowedDecoded(byte)) {
        throw new KeyboundError(
          'cert_header_malformed',
          `${what}: percent-encoded byte 0x${byte.toString(16).padStart(2, '0')} at character ${i} cannot appear in PEM`,
        );
      }
      out += value.slice(runStart, i) + String.fromCharCode(byte);
      i += 2;
      runStart = i + 1;
    } else if ((c < 0x20 && c !== 0x09) || c > 0x7e) {
      throw new KeyboundError(
        'cert_header_malformed',
        `${what}: character U+${c.toString(16).toUpperCase().padStart(4, '0')} at ${i} is not allowed in a URL-encoded value`,
      );
    }
  }
  return out + value.slice(runStart);
}
