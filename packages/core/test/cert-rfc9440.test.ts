import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, headers, makePki, type TestPki } from './cert-fixtures.js';
import {
  certificateThumbprint,
  FORWARDED_CERT_HEADERS,
  type ForwardedCertOptions,
  isKeyboundError,
  parseForwardedClientCert,
  pemToDer,
} from './helpers.js';
import { codeOf } from './keybound-error-code.js';
import { vectors } from './vectors.js';

const v = vectors.rfc9440;

function parse(entries: Record<string, string | string[]>, options?: ForwardedCertOptions) {
  return parseForwardedClientCert('rfc9440', headers(entries), options);
}

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());

describe('RFC 9440 Client-Cert and Client-Cert-Chain', () => {
  it('reads the leaf of the RFC 9440 §A example Client-Cert and its x5t#S256', async () => {
    const result = parse({ 'client-cert': v.client_cert_header });
    expect(result?.der).toEqual(pemToDer(v.leaf_pem));
    expect(result?.chain).toEqual([]);
    expect(result?.format).toBe('rfc9440');
    expect(await certificateThumbprint(result!.der)).toBe(v.leaf_x5t_s256);
  });

  it('reads the RFC 9440 §A example Client-Cert-Chain as intermediate then root', () => {
    const result = parse({
      'client-cert': v.client_cert_header,
      'client-cert-chain': v.client_cert_chain_header,
    });
    expect(result?.chain).toEqual([pemToDer(v.intermediate_pem), pemToDer(v.root_pem)]);
  });

  it('joins a Client-Cert-Chain split over several field lines into one list', () => {
    const [first, second] = v.client_cert_chain_header.split(', ');
    const result = parse({ 'client-cert': v.client_cert_header, 'client-cert-chain': [first, second] });
    expect(result?.chain).toEqual([pemToDer(v.intermediate_pem), pemToDer(v.root_pem)]);
  });

  it('reads RSA and EC certificates that openssl generated', async () => {
    for (const leaf of [pki.rsaLeaf, pki.ecLeaf]) {
      const result = parse({
        'client-cert': `:${b64(leaf.der)}:`,
        'client-cert-chain': `:${b64(pki.intermediate.der)}:`,
      });
      expect(result?.der).toEqual(leaf.der);
      expect(result?.chain).toEqual([pki.intermediate.der]);
      expect(await certificateThumbprint(result!.der)).toBe(leaf.opensslThumbprint);
    }
  });

  it('returns undefined when neither header is present', () => {
    expect(parse({ authorization: 'DPoP abc' })).toBeUndefined();
    expect(parseForwardedClientCert('rfc9440', () => [])).toBeUndefined();
  });

  it('treats an empty Client-Cert-Chain as no chain (an empty RFC 8941 List)', () => {
    expect(parse({ 'client-cert': v.client_cert_header, 'client-cert-chain': '' })?.chain).toEqual([]);
  });

  it('accepts a Byte Sequence without "=" padding (RFC 8941 §4.2.7 SHOULD NOT fail)', () => {
    const unpadded = v.client_cert_header.replace(/=+:$/, ':');
    expect(unpadded).not.toBe(v.client_cert_header);
    expect(parse({ 'client-cert': unpadded })?.der).toEqual(pemToDer(v.leaf_pem));
  });

  it('ignores well-formed parameters on the Byte Sequence (RFC 9440 defines none)', () => {
    const result = parse({
      'client-cert': `${v.client_cert_header};future=?1;n=5`,
      'client-cert-chain': `:${b64(pki.intermediate.der)}:;a="b"`,
    });
    expect(result?.der).toEqual(pemToDer(v.leaf_pem));
    expect(result?.chain).toEqual([pki.intermediate.der]);
  });

  it('reads other header names when told to', () => {
    const options = { headers: { cert: 'X-Client-Cert', chain: 'x-client-chain' } };
    const result = parse(
      { 'x-client-cert': v.client_cert_header, 'x-client-chain': `:${b64(pki.root.der)}:` },
      options,
    );
    expect(result?.chain).toEqual([pki.root.der]);
    expect(parse({ 'client-cert': v.client_cert_header }, options)).toBeUndefined();
  });

  it('names client-cert and client-cert-chain as its default headers', () => {
    expect(FORWARDED_CERT_HEADERS.rfc9440).toEqual({ cert: 'client-cert', chain: 'client-cert-chain' });
  });

  const failures: [string, string, () => Record<string, string | string[]>][] = [
    [
      'rejects a Client-Cert sent twice',
      'cert_header_repeated',
      () => ({ 'client-cert': [v.client_cert_header, v.client_cert_header] }),
    ],
    [
      'rejects a Client-Cert holding a list of two certificates',
      'cert_header_list',
      () => ({ 'client-cert': `${v.client_cert_header}, :${b64(pki.ecLeaf.der)}:` }),
    ],
    [
      'rejects a Client-Cert-Chain without Client-Cert (RFC 9440 §2.3)',
      'cert_header_malformed',
      () => ({ 'client-cert-chain': v.client_cert_chain_header }),
    ],
    ['rejects an empty Client-Cert', 'cert_header_malformed', () => ({ 'client-cert': '' })],
    [
      'rejects a Client-Cert without colons (bare base64)',
      'cert_header_malformed',
      () => ({ 'client-cert': v.client_cert_header.slice(1, -1) }),
    ],
    [
      'rejects a Byte Sequence without its closing colon',
      'cert_header_malformed',
      () => ({ 'client-cert': v.client_cert_header.slice(0, -1) }),
    ],
    [
      'rejects base64url inside a Byte Sequence',
      'cert_header_malformed',
      () => ({ 'client-cert': `:${Buffer.from(pki.ecLeaf.der).toString('base64url')}_-:` }),
    ],
    [
      'rejects a space inside a Byte Sequence',
      'cert_header_malformed',
      () => ({ 'client-cert': `:${b64(pki.ecLeaf.der).replace('A', 'A ')}:` }),
    ],
    [
      'rejects a String where a Byte Sequence belongs',
      'cert_header_malformed',
      () => ({ 'client-cert': '"MIIB"' }),
    ],
    [
      'rejects a Token where a Byte Sequence belongs',
      'cert_header_malformed',
      () => ({ 'client-cert': 'MIIBqDCCAU6g' }),
    ],
    [
      'rejects an Inner List where a Byte Sequence belongs',
      'cert_header_malformed',
      () => ({ 'client-cert': `(${v.client_cert_header})` }),
    ],
    [
      'rejects malformed parameters',
      'cert_header_malformed',
      () => ({ 'client-cert': `${v.client_cert_header};UPPER=1` }),
    ],
    [
      'rejects a trailing comma',
      'cert_header_malformed',
      () => ({ 'client-cert': `${v.client_cert_header},` }),
    ],
    [
      'rejects a Byte Sequence that is not a certificate',
      'cert_malformed',
      () => ({ 'client-cert': ':AAEC:' }),
    ],
    [
      'rejects a certificate with a byte appended',
      'cert_malformed',
      () => ({ 'client-cert': `:${b64(new Uint8Array([...pki.ecLeaf.der, 0]))}:` }),
    ],
    [
      'rejects a chain member that is not a certificate',
      'cert_malformed',
      () => ({ 'client-cert': v.client_cert_header, 'client-cert-chain': `:${b64(pki.root.der)}:, :AAAA:` }),
    ],
    [
      'rejects a chain member that is a Token',
      'cert_header_malformed',
      () => ({ 'client-cert': v.client_cert_header, 'client-cert-chain': `:${b64(pki.root.der)}:, abc` }),
    ],
    [
      'rejects a chain with an empty member between commas',
      'cert_header_malformed',
      () => ({
        'client-cert': v.client_cert_header,
        'client-cert-chain': `:${b64(pki.root.der)}:,, :${b64(pki.root.der)}:`,
      }),
    ],
    [
      'rejects a NUL character',
      'cert_header_malformed',
      () => ({ 'client-cert': `${v.client_cert_header}\u0000` }),
    ],
    [
      'rejects a CR LF inside the value',
      'cert_header_malformed',
      () => ({ 'client-cert': `:MIIB\r\nqDCC:` }),
    ],
    ['rejects a non-ASCII character', 'cert_header_malformed', () => ({ 'client-cert': `:MIIB\u00e9:` })],
  ];
  for (const [name, code, entries] of failures) {
    it(`${name} (${code})`, () => {
      expect(codeOf(() => parse(entries()))).toBe(code);
    });
  }

  it('rejects a chain longer than maxChainLength', () => {
    const member = `:${b64(pki.root.der)}:`;
    const entries = { 'client-cert': v.client_cert_header, 'client-cert-chain': [member, member, member] };
    expect(parse(entries, { maxChainLength: 3 })?.chain).toHaveLength(3);
    expect(codeOf(() => parse(entries, { maxChainLength: 2 }))).toBe('cert_header_malformed');
  });

  it('rejects headers longer than maxHeaderBytes, counting every field line', () => {
    const member = `:${b64(pki.root.der)}:`;
    const entries = { 'client-cert': v.client_cert_header, 'client-cert-chain': [member, member] };
    const total = v.client_cert_header.length + 2 * member.length;
    expect(parse(entries, { maxHeaderBytes: total })).toBeDefined();
    try {
      parse(entries, { maxHeaderBytes: total - 1 });
      expect.unreachable();
    } catch (e) {
      expect(isKeyboundError(e, 'cert_header_malformed')).toBe(true);
      expect((e as { detail: unknown }).detail).toEqual({
        expected: `at most ${total - 1} characters`,
        received: total,
      });
    }
  });

  it('never puts the header value in the error message', () => {
    const value = `${v.client_cert_header}, ${v.client_cert_header}`;
    for (const entries of [{ 'client-cert': value }, { 'client-cert': `${v.client_cert_header}x` }]) {
      try {
        parse(entries);
        expect.unreachable();
      } catch (e) {
        expect(String((e as Error).message)).not.toContain('MIIBqDCC');
        expect(JSON.stringify(e)).not.toContain('MIIBqDCC');
      }
    }
  });
});
