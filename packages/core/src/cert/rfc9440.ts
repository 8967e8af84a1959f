// RFC 9440 Client-Cert and Client-Cert-Chain. Client-Cert is an RFC 8941 Item whose value is a
// Byte Sequence (":" standard base64 of the DER leaf ":"); Client-Cert-Chain is an RFC 8941 List
// of Byte Sequences (the certificates that issued the leaf, nearest first), and may be split over
// several field lines, which join into one list (RFC 8941 §4.2, RFC 9110 §5.3).
//
// Parameters: RFC 9440 defines none. RFC 8941 parsing still reads any parameters strictly (bad
// syntax fails); well-formed ones are ignored, as RFC 8941's extension model intends, because they
// cannot change the certificate bytes that are hashed and bound.
//
// Syntax goes through `structured-headers` (an RFC 8941 / RFC 9651 parser); failures become
// cert_header_malformed (syntax), cert_header_list (a list where one Item belongs) or
// cert_malformed (bytes that are not one DER certificate).
import { type BareItem, parseItem, parseList } from 'structured-headers';
import { KeyboundError } from '../errors.js';
import { assertCertificateDer } from './der.js';

function assertFieldCharacters(value: string, what: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) {
      throw new KeyboundError(
        'cert_header_malformed',
        `${what}: character U+${c.toString(16).toUpperCase().padStart(4, '0')} at ${i} is not allowed in a structured field`,
      );
    }
  }
}

function syntaxError(what: string, e: unknown, expected: string): KeyboundError {
  const reason = e instanceof Error ? e.message : 'parse error';
  return new KeyboundError('cert_header_malformed', `${what}: not an RFC 8941 ${expected} (${reason})`);
}

function certificateBytes(value: BareItem | unknown, what: string): Uint8Array {
  if (!(value instanceof ArrayBuffer)) {
    throw new KeyboundError(
      'cert_header_malformed',
      `${what}: expected a Byte Sequence (:base64:), received ${describe(value)}`,
    );
  }
  const der = new Uint8Array(value);
  try {
    assertCertificateDer(der);
  } catch (e) {
    if (e instanceof KeyboundError) throw new KeyboundError(e.code, `${what}: ${e.message}`, e.detail);
    throw e;
  }
  return der;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an Inner List';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'string') return 'a String';
  if (typeof value === 'boolean') return 'a Boolean';
  if (value instanceof Date) return 'a Date';
  return 'a Token or other bare item';
}

/** The DER leaf from the single Client-Cert field value. */
export function parseClientCert(value: string, what: string): Uint8Array {
  assertFieldCharacters(value, what);
  // Read as a List first so that a comma-joined pair of certificates is named for what it is.
  let members: ReturnType<typeof parseList>;
  try {
    members = parseList(value);
  } catch (e) {
    throw syntaxError(what, e, 'Byte Sequence item');
  }
  if (members.length > 1) {
    throw new KeyboundError(
      'cert_header_list',
      `${what}: holds a list of ${members.length} members, expected one`,
      {
        expected: 1,
        received: members.length,
      },
    );
  }
  let item: ReturnType<typeof parseItem>;
  try {
    item = parseItem(value);
  } catch (e) {
    throw syntaxError(what, e, 'Byte Sequence item');
  }
  return certificateBytes(item[0], what);
}

/** The DER certificates of Client-Cert-Chain, from every field line in order. */
export function parseClientCertChain(
  values: readonly string[],
  what: string,
  maxLength: number,
): Uint8Array[] {
  for (const value of values) assertFieldCharacters(value, what);
  // An empty field line adds no member (RFC 9110 §5.6.1); joining it would make an empty one.
  const lines = values.filter((value) => value.trim() !== '');
  let members: ReturnType<typeof parseList>;
  try {
    members = parseList(lines.join(', '));
  } catch (e) {
    throw syntaxError(what, e, 'List of Byte Sequences');
  }
  if (members.length > maxLength) {
    throw new KeyboundError('cert_header_malformed', `${what}: the chain is longer than allowed`, {
      expected: `at most ${maxLength} certificates`,
      received: members.length,
    });
  }
  return members.map((member, index) => certificateBytes(member[0], `${what} member ${index + 1}`));
}
