import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { albEncode, headers, makePki, percentEncode, type TestPki } from './cert-fixtures.js';
import {
  certificateThumbprint,
  FORWARDED_CERT_HEADERS,
  type ForwardedCertOptions,
  parseForwardedClientCert,
} from './helpers.js';
import { codeOf } from './keybound-error-code.js';

const CERT = 'x-amzn-mtls-clientcert';
const LEAF = 'x-amzn-mtls-clientcert-leaf';

function parse(entries: Record<string, string | string[]>, options?: ForwardedCertOptions) {
  return parseForwardedClientCert('aws-alb', headers(entries), options);
}

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());

describe('AWS ALB X-Amzn-Mtls-Clientcert', () => {
  it('names the passthrough and verify-mode headers as its defaults', () => {
    expect(FORWARDED_CERT_HEADERS['aws-alb']).toEqual({ cert: CERT, leaf: LEAF });
  });

  it('reads the chain of passthrough mode: leaf first, then the rest, RSA and EC', async () => {
    for (const leaf of [pki.rsaLeaf, pki.ecLeaf]) {
      const result = parse({ [CERT]: albEncode(leaf.pem + pki.intermediate.pem) });
      expect(result?.der).toEqual(leaf.der);
      expect(result?.chain).toEqual([pki.intermediate.der]);
      expect(result?.format).toBe('aws-alb');
      expect(await certificateThumbprint(result!.der)).toBe(leaf.opensslThumbprint);
    }
  });

  it('keeps "+", "=" and "/" that ALB leaves unencoded', () => {
    const value = albEncode(pki.rsaLeaf.pem);
    expect(value).toMatch(/[+/]/);
    expect(value).not.toMatch(/%2B|%2F/);
    expect(parse({ [CERT]: value })?.der).toEqual(pki.rsaLeaf.der);
  });

  it('also reads "=" encoded as %3D, as in the example of the AWS documentation', () => {
    const value = albEncode(pki.rsaLeaf.pem).replace(/=/g, '%3D');
    expect(parse({ [CERT]: value })?.der).toEqual(pki.rsaLeaf.der);
  });

  it('reads the leaf header of verify mode', () => {
    const result = parse({ [LEAF]: albEncode(pki.ecLeaf.pem) });
    expect(result?.der).toEqual(pki.ecLeaf.der);
    expect(result?.chain).toEqual([]);
  });

  it('accepts both headers when they name the same leaf', () => {
    const result = parse({
      [CERT]: albEncode(pki.ecLeaf.pem + pki.intermediate.pem),
      [LEAF]: albEncode(pki.ecLeaf.pem),
    });
    expect(result?.der).toEqual(pki.ecLeaf.der);
    expect(result?.chain).toEqual([pki.intermediate.der]);
  });

  it('returns undefined when neither header is present', () => {
    expect(parse({ 'x-amzn-mtls-clientcert-subject': 'CN=x' })).toBeUndefined();
  });

  it('reads renamed headers (ALB header modification)', () => {
    const options = { headers: { cert: 'x-client-chain', leaf: 'x-client-leaf' } };
    expect(parse({ 'x-client-leaf': albEncode(pki.ecLeaf.pem) }, options)?.der).toEqual(pki.ecLeaf.der);
    expect(parse({ [LEAF]: albEncode(pki.ecLeaf.pem) }, options)).toBeUndefined();
  });

  const chain = () => albEncode(pki.ecLeaf.pem + pki.intermediate.pem);
  const failures: [string, string, () => Record<string, string | string[]>][] = [
    ['rejects the chain header sent twice', 'cert_header_repeated', () => ({ [CERT]: [chain(), chain()] })],
    [
      'rejects the leaf header sent twice',
      'cert_header_repeated',
      () => ({ [LEAF]: [albEncode(pki.ecLeaf.pem), albEncode(pki.ecLeaf.pem)] }),
    ],
    ['rejects a leaf header holding two certificates', 'cert_header_list', () => ({ [LEAF]: chain() })],
    [
      'rejects a leaf header that names another certificate than the chain (one was not set by ALB)',
      'cert_header_malformed',
      () => ({ [CERT]: chain(), [LEAF]: albEncode(pki.rsaLeaf.pem) }),
    ],
    ['rejects an empty value', 'cert_header_malformed', () => ({ [CERT]: '' })],
    [
      'rejects a value with text between certificates',
      'cert_header_malformed',
      () => ({ [CERT]: albEncode(`${pki.ecLeaf.pem}junk\n${pki.intermediate.pem}`) }),
    ],
    [
      'rejects a percent-encoded NUL',
      'cert_header_malformed',
      () => ({ [CERT]: chain().replace('%0A', '%00') }),
    ],
    ['rejects a raw CR LF', 'cert_header_malformed', () => ({ [CERT]: chain().replace('%0A', '\r\n') })],
    [
      'rejects a bad percent escape',
      'cert_header_malformed',
      () => ({ [CERT]: chain().replace('%20', '%ZZ') }),
    ],
    [
      'rejects a certificate with trailing DER bytes',
      'cert_malformed',
      () => ({ [CERT]: albEncode(pemOf(new Uint8Array([...pki.ecLeaf.der, 0, 0]))) }),
    ],
  ];
  for (const [name, code, entries] of failures) {
    it(`${name} (${code})`, () => {
      expect(codeOf(() => parse(entries()))).toBe(code);
    });
  }

  it('rejects a value whose "+" characters became spaces (form encoding on the way)', () => {
    const value = albEncode(pki.rsaLeaf.pem).replace(/\+/g, '%20');
    expect(value).not.toBe(albEncode(pki.rsaLeaf.pem));
    // Spaces are PEM whitespace, so what is left is either not base64 or not a certificate.
    expect(['cert_header_malformed', 'cert_malformed']).toContain(codeOf(() => parse({ [CERT]: value })));
  });

  it('rejects a chain longer than maxChainLength', () => {
    const long = { [CERT]: albEncode(pki.ecLeaf.pem + pki.intermediate.pem + pki.root.pem) };
    expect(parse(long, { maxChainLength: 2 })?.chain).toEqual([pki.intermediate.der, pki.root.der]);
    expect(codeOf(() => parse(long, { maxChainLength: 1 }))).toBe('cert_header_malformed');
  });

  it('reads a fully percent-encoded value (nothing left as is)', () => {
    expect(parse({ [CERT]: percentEncode(pki.rsaLeaf.pem) })?.der).toEqual(pki.rsaLeaf.der);
  });
});

function pemOf(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
