// Hostile forwarded-certificate headers, format by format: huge, repeated, list-valued, NUL,
// CR LF, nested quotes, many elements. Each is refused with a stable code and a message that
// does not repeat the header.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  albEncode,
  b64,
  envoyLegacyEncode,
  headers,
  makePki,
  nginxEncode,
  type TestPki,
} from './cert-fixtures.js';
import { type ForwardedCertFormat, isKeyboundError, parseForwardedClientCert } from './helpers.js';

const CERT_HEADER: Record<ForwardedCertFormat, string> = {
  rfc9440: 'client-cert',
  'envoy-xfcc': 'x-forwarded-client-cert',
  nginx: 'x-ssl-client-cert',
  'aws-alb': 'x-amzn-mtls-clientcert-leaf',
};

function outcome(format: ForwardedCertFormat, value: string | string[]): { code?: string; message?: string } {
  try {
    parseForwardedClientCert(format, headers({ [CERT_HEADER[format]]: value }));
    return {};
  } catch (e) {
    if (!isKeyboundError(e)) throw e;
    return { code: e.code, message: e.message };
  }
}

let pki: TestPki;
let valid: Record<ForwardedCertFormat, string>;
let second: Record<ForwardedCertFormat, string>;
beforeAll(() => {
  pki = makePki();
  const encode = (der: Uint8Array, pem: string): Record<ForwardedCertFormat, string> => ({
    rfc9440: `:${b64(der)}:`,
    'envoy-xfcc': `Hash=00;Cert="${envoyLegacyEncode(pem)}"`,
    nginx: nginxEncode(pem),
    'aws-alb': albEncode(pem),
  });
  valid = encode(pki.ecLeaf.der, pki.ecLeaf.pem);
  second = encode(pki.rsaLeaf.der, pki.rsaLeaf.pem);
});
afterAll(() => pki.cleanup());

const FORMATS: ForwardedCertFormat[] = ['rfc9440', 'envoy-xfcc', 'nginx', 'aws-alb'];

describe.each(FORMATS)('hostile %s headers', (format) => {
  it('accepts the well-formed value used below (control)', () => {
    expect(outcome(format, valid[format])).toEqual({});
  });

  it('refuses the header repeated with two certificates, whichever comes first', () => {
    expect(outcome(format, [valid[format], second[format]]).code).toBe('cert_header_repeated');
    expect(outcome(format, [second[format], valid[format]]).code).toBe('cert_header_repeated');
  });

  it('refuses the header repeated even with identical values', () => {
    expect(outcome(format, [valid[format], valid[format]]).code).toBe('cert_header_repeated');
  });

  it('refuses a value holding a list of two certificates', () => {
    const joined =
      format === 'rfc9440' || format === 'envoy-xfcc'
        ? `${valid[format]},${second[format]}`
        : valid[format] + second[format];
    expect(outcome(format, joined).code).toBe('cert_header_list');
  });

  it('refuses a value of 1 MiB before decoding it, saying how long it was', () => {
    const huge = valid[format] + 'A'.repeat(1024 * 1024);
    try {
      parseForwardedClientCert(format, headers({ [CERT_HEADER[format]]: huge }));
      expect.unreachable();
    } catch (e) {
      expect(isKeyboundError(e, 'cert_header_malformed')).toBe(true);
      expect((e as { detail: { received: number } }).detail.received).toBe(huge.length);
    }
  });

  it('refuses 64 KiB spread over many chain lines', () => {
    const lines = Array.from({ length: 40 }, () => 'A'.repeat(2048));
    const entries =
      format === 'rfc9440'
        ? { 'client-cert': valid[format], 'client-cert-chain': lines }
        : { [CERT_HEADER[format]]: valid[format] + lines.join('') };
    expect(() => parseForwardedClientCert(format, headers(entries))).toThrow(
      expect.objectContaining({ code: 'cert_header_malformed' }),
    );
  });

  it.each([
    ['a NUL character', '\u0000'],
    ['a percent-encoded NUL', '%00'],
    ['a CR LF with an injected header', '\r\nX-Admin: 1'],
    ['a lone LF', '\n'],
    ['a DEL character', '\u007f'],
    ['a lone surrogate', '\ud800'],
    ['a non-ASCII letter', 'é'],
  ])('refuses %s in the middle of the value', (_name, bad) => {
    const v = valid[format];
    const at = Math.floor(v.length / 2);
    const result = outcome(format, v.slice(0, at) + bad + v.slice(at));
    expect(['cert_header_malformed', 'cert_malformed']).toContain(result.code);
  });

  it('refuses a value of only whitespace', () => {
    expect(outcome(format, ' \t ').code).toBe('cert_header_malformed');
  });

  it('never repeats the header value in its message or detail', () => {
    const body = b64(pki.ecLeaf.der).slice(40, 80);
    const probes = [
      [valid[format], second[format]],
      `${valid[format]}\u0000`,
      `${valid[format]}${valid[format]}`,
      valid[format].replace(/[A-Za-z]/, '%'),
      valid[format] + 'A'.repeat(70_000),
    ];
    for (const probe of probes) {
      try {
        parseForwardedClientCert(format, headers({ [CERT_HEADER[format]]: probe }));
      } catch (e) {
        expect(isKeyboundError(e)).toBe(true);
        const text = `${(e as Error).message} ${JSON.stringify(e)}`;
        expect(text).not.toContain(body);
        expect(text).not.toContain(body.replace(/\//g, '%2F').replace(/\+/g, '%2B'));
        expect(text.length).toBeLessThan(400);
      }
    }
  });
});

describe('hostile x-forwarded-client-cert structure', () => {
  const parse = (value: string) =>
    parseForwardedClientCert('envoy-xfcc', headers({ 'x-forwarded-client-cert': value }));

  it('reads Cert after a Subject of ten thousand escaped quotes', () => {
    const value = `Subject="${'\\"'.repeat(10_000)}";Cert="${envoyLegacyEncode(pki.ecLeaf.pem)}"`;
    expect(parse(value)?.der).toEqual(pki.ecLeaf.der);
  });

  it('refuses a quoted value that swallows the rest of the header', () => {
    const value = `Subject="${'\\"'.repeat(1000)};Cert="${envoyLegacyEncode(pki.ecLeaf.pem)}"`;
    // The escaped quotes never close the Subject, so Cert is inside it and the quote is open.
    expect(() => parse(value)).toThrow(expect.objectContaining({ code: 'cert_header_malformed' }));
  });

  it('refuses ten thousand empty elements', () => {
    expect(() => parse(','.repeat(10_000))).toThrow(
      expect.objectContaining({ code: 'cert_header_malformed' }),
    );
  });

  it('refuses ten hops as a list, not by picking one', () => {
    const element = `By=spiffe://x;Cert="${envoyLegacyEncode(pki.ecLeaf.pem)}"`;
    const value = Array.from({ length: 10 }, () => element).join(',');
    expect(() => parse(value)).toThrow(expect.objectContaining({ code: 'cert_header_list' }));
  });

  it('refuses an element carrying a second Cert smuggled after a quoted comma', () => {
    const a = envoyLegacyEncode(pki.ecLeaf.pem);
    const b = envoyLegacyEncode(pki.rsaLeaf.pem);
    expect(() => parse(`Subject="x,Cert=${b}";Cert="${a}";Cert="${b}"`)).toThrow(
      expect.objectContaining({ code: 'cert_header_list' }),
    );
    // The quoted comma alone is harmless: the Cert inside the Subject is only text.
    expect(parse(`Subject="x,Cert=${b}";Cert="${a}"`)?.der).toEqual(pki.ecLeaf.der);
  });
});

describe('programming errors are not input errors', () => {
  it('throws TypeError when the lookup returns a joined string instead of every value', () => {
    const joined = ((name: string) => (name === 'x-ssl-client-cert' ? 'abc' : undefined)) as unknown as (
      name: string,
    ) => string[] | undefined;
    expect(() => parseForwardedClientCert('nginx', joined)).toThrow(TypeError);
  });

  it('throws TypeError for an unknown format', () => {
    expect(() => parseForwardedClientCert('haproxy' as ForwardedCertFormat, headers({}))).toThrow(TypeError);
  });

  it('throws TypeError for a header name that is not a token', () => {
    expect(() => parseForwardedClientCert('nginx', headers({}), { headers: { cert: 'bad name' } })).toThrow(
      TypeError,
    );
  });
});
