// A tiny DER reader: just enough to tell an X.509 certificate (RFC 5280 §4.1) from other bytes
// before its thumbprint is bound to a token. It checks the outer structure strictly (definite,
// minimal lengths that exactly cover their contents, no trailing bytes) and never allocates.
//
//   Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE, signature BIT STRING }
//   TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber INTEGER, signature, issuer,
//                                 validity, subjectPublicKeyInfo, ... }
import { KeyboundError } from '../errors.js';

/** Largest DER certificate accepted anywhere in keybound (real client certificates are 0.5–4 KiB). */
export const MAX_CERTIFICATE_BYTES = 16 * 1024;

const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OID = 0x06;
const TAG_SEQUENCE = 0x30;
const TAG_VERSION = 0xa0; // [0] EXPLICIT, constructed

interface Tlv {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the last content byte. */
  end: number;
}

function fail(message: string, at?: number): never {
  throw new KeyboundError(
    'cert_malformed',
    at === undefined ? `certificate DER: ${message}` : `certificate DER: ${message} at byte ${at}`,
  );
}

/** Reads one TLV at `pos` that must end at or before `limit`. */
export function readTlv(der: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) fail('truncated element', pos);
  const tag = der[pos]!;
  if ((tag & 0x1f) === 0x1f) fail('high tag numbers are not used in certificates', pos);
  const first = der[pos + 1]!;
  let start = pos + 2;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    fail('indefinite length (BER, not DER)', pos + 1);
  } else {
    const count = first & 0x7f;
    // Two length bytes cover 65535, far above MAX_CERTIFICATE_BYTES: more can only be too long.
    if (count > 2) fail(`length of ${count} bytes is too long`, pos + 1);
    if (start + count > limit) fail('truncated length', pos + 1);
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | der[start + i]!;
    if (der[start] === 0 || length < 0x80) fail('non-minimal length encoding', pos + 1);
    start += count;
  }
  const end = start + length;
  if (end > limit) fail(`element claims ${length} bytes but only ${limit - start} remain`, pos);
  return { tag, start, end };
}

function expectTag(tlv: Tlv, tag: number, what: string, at: number): void {
  if (tlv.tag !== tag) {
    fail(`expected ${what} (tag 0x${hex(tag)}), received tag 0x${hex(tlv.tag)}`, at);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * Throws cert_malformed unless `der` is exactly one DER-encoded certificate of at most
 * `maxBytes` bytes. It checks structure, not signatures or validity dates.
 */
export function assertCertificateDer(der: Uint8Array, maxBytes: number = MAX_CERTIFICATE_BYTES): void {
  if (!(der instanceof Uint8Array)) fail('expected a Uint8Array');
  if (der.length === 0) fail('empty input');
  if (der.length > maxBytes) {
    throw new KeyboundError('cert_malformed', `certificate DER is ${der.length} bytes, above the limit`, {
      expected: `at most ${maxBytes} bytes`,
      received: der.length,
    });
  }
  const outer = readTlv(der, 0, der.length);
  expectTag(outer, TAG_SEQUENCE, 'Certificate SEQUENCE', 0);
  if (outer.end !== der.length)
    fail(`${der.length - outer.end} trailing bytes after the certificate`, outer.end);

  const tbs = readTlv(der, outer.start, outer.end);
  expectTag(tbs, TAG_SEQUENCE, 'tbsCertificate SEQUENCE', outer.start);
  assertTbsCertificate(der, tbs);

  const sigAlg = readTlv(der, tbs.end, outer.end);
  expectTag(sigAlg, TAG_SEQUENCE, 'signatureAlgorithm SEQUENCE', tbs.end);
  const oid = readTlv(der, sigAlg.start, sigAlg.end);
  expectTag(oid, TAG_OID, 'algorithm OBJECT IDENTIFIER', sigAlg.start);
  if (oid.end === oid.start) fail('empty algorithm OBJECT IDENTIFIER', sigAlg.start);

  const signature = readTlv(der, sigAlg.end, outer.end);
  expectTag(signature, TAG_BIT_STRING, 'signature BIT STRING', sigAlg.end);
  if (signature.end - signature.start < 2) fail('empty signature BIT STRING', sigAlg.end);
  if (der[signature.start] !== 0) fail('signature BIT STRING has unused bits', signature.start);
  if (signature.end !== outer.end) {
    fail(`${outer.end - signature.end} unexpected bytes after the signature`, signature.end);
  }
}

function assertTbsCertificate(der: Uint8Array, tbs: Tlv): void {
  let pos = tbs.start;
  let index = 0;
  let first = 0;
  let second = 0;
  while (pos < tbs.end) {
    const child = readTlv(der, pos, tbs.end);
    if (index === 0) first = child.tag;
    if (index === 1) second = child.tag;
    index++;
    pos = child.end;
  }
  const hasVersion = first === TAG_VERSION;
  const serialTag = hasVersion ? second : first;
  if (serialTag !== TAG_INTEGER) {
    fail(`tbsCertificate does not start with [0] version or INTEGER serialNumber`, tbs.start);
  }
  // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo (+ version)
  const required = hasVersion ? 7 : 6;
  if (index < required) {
    fail(`tbsCertificate has ${index} fields, expected at least ${required}`, tbs.start);
  }
}
