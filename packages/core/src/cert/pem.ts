// PEM (RFC 7468 §5) for certificates: "-----BEGIN CERTIFICATE-----", standard base64, END line.
// Whitespace (SP, HTAB, CR, LF) may appear anywhere between the lines and inside the base64 body
// (the RFC 7468 lax form, which is what proxies and files carry); anything else outside the
// blocks, another label, RFC 1421 headers, or base64 that is not canonical is rejected.
import { KeyboundError, type KeyboundErrorCode } from '../errors.js';
import { b64Decode, b64Encode } from '../lib/base64.js';
import { assertCertificateDer, MAX_CERTIFICATE_BYTES } from './der.js';

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';
const BEGIN_ANY = '-----BEGIN ';
const END_ANY = '-----END ';
/** Longest base64 body (whitespace removed) that can hold MAX_CERTIFICATE_BYTES. */
const MAX_BODY_CHARS = Math.ceil(MAX_CERTIFICATE_BYTES / 3) * 4;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function skipWhitespace(text: string, pos: number): number {
  while (pos < text.length && isWhitespace(text.charCodeAt(pos))) pos++;
  return pos;
}

/** Options of the internal multi-block reader. */
export interface PemReadOptions {
  /** Code to raise for text-level problems (cert_malformed for callers, cert_header_malformed for headers). */
  code: KeyboundErrorCode;
  /** Name of the input in messages ("PEM", "the nginx certificate header", …). */
  what: string;
  /** Most blocks accepted. */
  maxBlocks: number;
  /** Code to raise for more blocks than maxBlocks (cert_header_list where one certificate belongs). */
  tooManyCode: KeyboundErrorCode;
}

/**
 * Reads one or more CERTIFICATE blocks separated only by whitespace, returning the DER of each
 * (each checked with assertCertificateDer).
 */
export function readPemCertificates(text: string, options: PemReadOptions): Uint8Array[] {
  const { code, what } = options;
  const fail: (message: string) => never = (message) => {
    throw new KeyboundError(code, `${what}: ${message}`);
  };
  const blocks: Uint8Array[] = [];
  let pos = skipWhitespace(text, 0);
  if (pos === text.length) fail('no PEM block (empty or whitespace only)');
  while (pos < text.length) {
    if (!text.startsWith(BEGIN_ANY, pos)) {
      fail(`text outside a PEM block at character ${pos}`);
    }
    if (!text.startsWith(BEGIN, pos)) fail(`PEM block ${blocks.length + 1} is ${describeLabel(text, pos)}`);
    if (blocks.length === options.maxBlocks) {
      const max = options.maxBlocks;
      throw new KeyboundError(
        options.tooManyCode,
        `${what}: holds more than ${max} certificate${max === 1 ? '' : 's'}`,
        {
          expected: max,
        },
      );
    }
    const bodyStart = pos + BEGIN.length;
    const endAt = text.indexOf(END_ANY, bodyStart);
    if (endAt === -1) fail(`PEM block ${blocks.length + 1} has no END line`);
    if (!text.startsWith(END, endAt)) fail(`PEM block ${blocks.length + 1} ends with a different label`);
    const body = compactBody(text, bodyStart, endAt);
    if (body === undefined) fail(`PEM block ${blocks.length + 1} has characters outside base64 in its body`);
    if (body.length > MAX_BODY_CHARS) {
      throw new KeyboundError(code, `${what}: certificate too large`, {
        expected: `at most ${MAX_CERTIFICATE_BYTES} bytes of DER`,
        received: `${body.length} base64 characters`,
      });
    }
    const der = b64Decode(body);
    if (der === undefined) fail(`PEM block ${blocks.length + 1} is not canonical padded base64`);
    try {
      assertCertificateDer(der);
    } catch (e) {
      if (!(e instanceof KeyboundError)) throw e;
      throw new KeyboundError(e.code, `${what}: PEM block ${blocks.length + 1}: ${e.message}`, e.detail);
    }
    blocks.push(der);
    pos = skipWhitespace(text, endAt + END.length);
  }
  return blocks;
}

/** The base64 body with whitespace removed, or undefined when it holds anything else. */
function compactBody(text: string, start: number, end: number): string | undefined {
  let out = '';
  let runStart = start;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (isWhitespace(c)) {
      if (runStart < i) out += text.slice(runStart, i);
      runStart = i + 1;
      continue;
    }
    const alnum = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (!alnum && c !== 0x2b && c !== 0x2f && c !== 0x3d) return undefined;
  }
  if (runStart < end) out += text.slice(runStart, end);
  return out;
}

/** Names the label of a non-certificate block without echoing arbitrary input. */
function describeLabel(text: string, pos: number): string {
  const start = pos + BEGIN_ANY.length;
  const close = text.indexOf('-----', start);
  const label = close === -1 ? '' : text.slice(start, close);
  return /^[A-Z0-9 ]{1,40}$/.test(label) ? `labelled "${label}", not CERTIFICATE` : 'not a CERTIFICATE block';
}

/** Decodes a PEM string holding exactly one certificate to its DER bytes (cert_malformed otherwise). */
export function pemToDer(pem: string): Uint8Array {
  if (typeof pem !== 'string') throw new KeyboundError('cert_malformed', 'PEM: expected a string');
  const [der] = readPemCertificates(pem, {
    code: 'cert_malformed',
    what: 'PEM',
    maxBlocks: 1,
    tooManyCode: 'cert_malformed',
  });
  return der!;
}

/** Encodes a DER certificate as PEM (64-character lines, trailing newline); checks the DER first. */
export function derToPem(der: Uint8Array): string {
  assertCertificateDer(der);
  const b64 = b64Encode(der);
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `${BEGIN}\n${body}${END}\n`;
}
