import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  envoyLegacyEncode,
  headers,
  makePki,
  percentEncode,
  sha256Hex,
  type TestPki,
  xfccElement,
} from './cert-fixtures.js';
import { certificateThumbprint, parseForwardedClientCert } from './helpers.js';
import { codeOf } from './keybound-error-code.js';
import { vectors } from './vectors.js';

function parse(value: string | string[]) {
  return parseForwardedClientCert('envoy-xfcc', headers({ 'x-forwarded-client-cert': value }));
}

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());

// Envoy has used two encodings for Cert and Chain: a fixed replacement of "\n", " ", "+", "/",
// "=" (older SslSocket code) and a general URL encoder (newer PercentEncoding::urlEncode).
const encoders = [
  ['legacy replacement encoding', envoyLegacyEncode],
  ['full URL encoding', (pem: string) => percentEncode(pem)],
] as const;

describe('Envoy x-forwarded-client-cert', () => {
  for (const [encoding, encode] of encoders) {
    it(`reads Cert from an element built as Envoy builds it, RSA and EC (${encoding})`, async () => {
      for (const leaf of [pki.rsaLeaf, pki.ecLeaf]) {
        const value = xfccElement({
          hash: sha256Hex(leaf.der),
          cert: encode(leaf.pem),
          subject: 'O=Example, Inc.; Dept=R&D,CN=rsa client "one"',
          uri: 'spiffe://cluster.local/ns/default/sa/client',
        });
        const result = parse(value);
        expect(result?.der).toEqual(leaf.der);
        expect(result?.chain).toEqual([]);
        expect(result?.format).toBe('envoy-xfcc');
        expect(await certificateThumbprint(result!.der)).toBe(leaf.opensslThumbprint);
      }
    });

    it(`reads Chain (leaf first) and returns the certificates after the leaf (${encoding})`, () => {
      const chain = encode(pki.rsaLeaf.pem + pki.intermediate.pem);
      const both = parse(xfccElement({ cert: encode(pki.rsaLeaf.pem), chain }));
      expect(both?.der).toEqual(pki.rsaLeaf.der);
      expect(both?.chain).toEqual([pki.intermediate.der]);
      const chainOnly = parse(xfccElement({ chain }));
      expect(chainOnly?.der).toEqual(pki.rsaLeaf.der);
      expect(chainOnly?.chain).toEqual([pki.intermediate.der]);
    });
  }

  it('reads keys case-insensitively and an unquoted Cert value', () => {
    const value = `hash=${sha256Hex(pki.ecLeaf.der)};CERT=${envoyLegacyEncode(pki.ecLeaf.pem)}`;
    expect(parse(value)?.der).toEqual(pki.ecLeaf.der);
  });

  it('reads quoted values holding ",", ";", "=" and escaped quotes before and after Cert', () => {
    const value = `Subject="a,b;c=d \\"e\\"";Cert="${envoyLegacyEncode(pki.ecLeaf.pem)}";URI="x,y";DNS=a.example;DNS=b.example`;
    expect(parse(value)?.der).toEqual(pki.ecLeaf.der);
  });

  it('tolerates optional whitespace around separators', () => {
    const value = ` By=spiffe://a ; Cert="${envoyLegacyEncode(pki.ecLeaf.pem)}" ;Hash=00 `;
    expect(parse(value)?.der).toEqual(pki.ecLeaf.der);
  });

  it('returns undefined when the header is absent', () => {
    expect(parseForwardedClientCert('envoy-xfcc', headers({}))).toBeUndefined();
  });

  const cert = () => envoyLegacyEncode(pki.ecLeaf.pem);
  const failures: [string, string, () => string | string[]][] = [
    [
      'rejects two elements (two proxy hops): which hop is the client is ambiguous',
      'cert_header_list',
      () => `${xfccElement({ cert: cert() })},${xfccElement({ cert: envoyLegacyEncode(pki.rsaLeaf.pem) })}`,
    ],
    [
      'rejects the header sent twice',
      'cert_header_repeated',
      () => [xfccElement({ cert: cert() }), xfccElement({ cert: cert() })],
    ],
    ['rejects an element with two Cert keys', 'cert_header_list', () => `Cert="${cert()}";cert="${cert()}"`],
    [
      'rejects an element with two Chain keys',
      'cert_header_list',
      () => `Chain="${cert()}";Chain="${cert()}"`,
    ],
    ['rejects a Cert value holding two certificates', 'cert_header_list', () => `Cert="${cert()}${cert()}"`],
    [
      'rejects an element with neither Cert nor Chain',
      'cert_header_malformed',
      () => 'By=spiffe://a;Hash=abcd;Subject="CN=x"',
    ],
    [
      'rejects a Cert that differs from the first certificate of Chain',
      'cert_header_malformed',
      () => xfccElement({ cert: cert(), chain: envoyLegacyEncode(pki.rsaLeaf.pem + pki.intermediate.pem) }),
    ],
    ['rejects an unterminated quoted value', 'cert_header_malformed', () => `Cert="${cert()}`],
    ['rejects a quoted value ending in a lone backslash', 'cert_header_malformed', () => 'Subject="abc\\'],
    ['rejects a double quote inside an unquoted value', 'cert_header_malformed', () => `Cert=ab"cd`],
    ['rejects text after a closing quote', 'cert_header_malformed', () => `Cert="${cert()}"junk`],
    ['rejects a key without "="', 'cert_header_malformed', () => `Cert;By=x`],
    ['rejects an empty key', 'cert_header_malformed', () => `=abc;Cert="${cert()}"`],
    ['rejects a trailing separator', 'cert_header_malformed', () => `Cert="${cert()}";`],
    ['rejects an empty element between commas', 'cert_header_malformed', () => `Cert="${cert()}",,By=x`],
    ['rejects an empty value', 'cert_header_malformed', () => '   '],
    [
      'rejects a truncated Cert without its END line',
      'cert_header_malformed',
      () => `Cert="-----BEGIN CERTIFICATE-----%0AMIIB"`,
    ],
    ['rejects a bad percent escape', 'cert_header_malformed', () => `Cert="${cert().replace('%0A', '%0G')}"`],
    [
      'rejects a percent-encoded NUL',
      'cert_header_malformed',
      () => `Cert="${cert().replace('%0A', '%00')}"`,
    ],
    ['rejects a percent escape cut short at the end', 'cert_header_malformed', () => `Cert="${cert()}%4"`],
    ['rejects a raw CR LF', 'cert_header_malformed', () => `Cert="${cert()}"\r\nX-Injected: 1`],
    [
      'rejects a Cert that decodes to a private key',
      'cert_header_malformed',
      () => `Cert="${envoyLegacyEncode('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')}"`,
    ],
    [
      'rejects a Cert whose PEM holds DER that is not a certificate',
      'cert_malformed',
      () => `Cert="${envoyLegacyEncode('-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n')}"`,
    ],
    [
      'rejects the RFC 9440 byte-sequence format sent to the Envoy parser',
      'cert_header_malformed',
      () => vectors.rfc9440.client_cert_header,
    ],
  ];
  for (const [name, code, value] of failures) {
    it(`${name} (${code})`, () => {
      expect(codeOf(() => parse(value()))).toBe(code);
    });
  }

  it('rejects a Chain longer than maxChainLength', () => {
    const chain = envoyLegacyEncode(pki.rsaLeaf.pem + pki.intermediate.pem + pki.root.pem);
    const lookup = headers({ 'x-forwarded-client-cert': xfccElement({ chain }) });
    expect(parseForwardedClientCert('envoy-xfcc', lookup, { maxChainLength: 2 })?.chain).toHaveLength(2);
    expect(codeOf(() => parseForwardedClientCert('envoy-xfcc', lookup, { maxChainLength: 1 }))).toBe(
      'cert_header_malformed',
    );
  });
});
