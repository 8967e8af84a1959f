// Portable standard base64 (RFC 4648 §4, alphabet with "+" and "/", "=" padding) without
// node:buffer or atob. Strict by default: characters outside the alphabet, "=" anywhere but the
// end, impossible lengths and non-zero pad bits are all rejected, so every byte string has
// exactly one accepted encoding. PEM bodies and forwarded certificates are decoded with it.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

export function b64Encode(bytes: Uint8Array): string {
  let out = '';
  const len = bytes.length;
  let i = 0;
  for (; i + 2 < len; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  if (i < len) {
    const two = i + 1 < len;
    const n = (bytes[i]! << 16) | ((two ? bytes[i + 1]! : 0) << 8);
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    out += two ? `${ALPHABET[(n >> 6) & 63]!}=` : '==';
  }
  return out;
}

/**
 * Decodes canonical standard base64 (padding required, pad bits zero); returns undefined for
 * anything else, including base64url characters and whitespace.
 */
export function b64Decode(input: string): Uint8Array | undefined {
  const len = input.length;
  if (len % 4 !== 0) return undefined;
  if (len === 0) return new Uint8Array(0);
  const pad = input.charCodeAt(len - 1) === 0x3d ? (input.charCodeAt(len - 2) === 0x3d ? 2 : 1) : 0;
  const out = new Uint8Array((len / 4) * 3 - pad);
  let o = 0;
  const full = pad === 0 ? len : len - 4;
  for (let i = 0; i < full; i += 4) {
    const a = sextet(input, i);
    const b = sextet(input, i + 1);
    const c = sextet(input, i + 2);
    const d = sextet(input, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (pad === 2) {
    const a = sextet(input, full);
    const b = sextet(input, full + 1);
    if ((a | b) < 0 || (b & 15) !== 0) return undefined;
    out[o++] = (a << 2) | (b >> 4);
  } else if (pad === 1) {
    const a = sextet(input, full);
    const b = sextet(input, full + 1);
    const c = sextet(input, full + 2);
    if ((a | b | c) < 0 || (c & 3) !== 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6);
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
  }
  return out;
}

function sextet(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? DECODE[c]! : -1;
}
