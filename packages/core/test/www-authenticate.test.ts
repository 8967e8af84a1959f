import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatWwwAuthenticate, parseWwwAuthenticate } from './helpers.js';
import { vectors } from './vectors.js';

const [ex1, ex2, ex3, ex4, ex5] = vectors.rfc9449.www_authenticate_examples as [
  string,
  string,
  string,
  string,
  string,
];

describe('WWW-Authenticate challenges (RFC 9449 §7.1, RFC 6750 §3)', () => {
  it('writes the RFC 9449 examples exactly', () => {
    expect(formatWwwAuthenticate([{ scheme: 'DPoP', algs: ['ES256', 'PS256'] }])).toBe(ex1);
    expect(
      formatWwwAuthenticate([
        {
          scheme: 'DPoP',
          error: 'invalid_token',
          errorDescription: 'Invalid DPoP key binding',
          algs: ['ES256'],
        },
      ]),
    ).toBe(ex2);
    expect(formatWwwAuthenticate([{ scheme: 'Bearer' }, { scheme: 'DPoP', algs: ['ES256', 'PS256'] }])).toBe(
      ex3,
    );
    expect(
      formatWwwAuthenticate([
        { scheme: 'Bearer', error: 'invalid_token', errorDescription: 'Invalid token' },
        { scheme: 'DPoP', algs: ['ES256', 'PS256'] },
      ]),
    ).toBe(ex4);
    expect(
      formatWwwAuthenticate([
        {
          scheme: 'DPoP',
          error: 'use_dpop_nonce',
          errorDescription: 'Resource server requires nonce in DPoP proof',
        },
      ]),
    ).toBe(ex5);
  });

  it('drops characters RFC 6750 forbids in error_description rather than breaking the header', () => {
    const h = formatWwwAuthenticate([
      { scheme: 'DPoP', errorDescription: 'a "quoted" \\ value\r\nInjected: x' },
    ]);
    expect(h).toBe('DPoP error_description="a quoted  valueInjected: x"');
  });

  it('parses the RFC 9449 examples back into schemes and parameters', () => {
    expect(parseWwwAuthenticate(ex4)).toEqual([
      { scheme: 'Bearer', params: { error: 'invalid_token', error_description: 'Invalid token' } },
      { scheme: 'DPoP', params: { algs: 'ES256 PS256' } },
    ]);
    expect(parseWwwAuthenticate(ex3)).toEqual([
      { scheme: 'Bearer', params: {} },
      { scheme: 'DPoP', params: { algs: 'ES256 PS256' } },
    ]);
    expect(parseWwwAuthenticate(ex5)[0]!.params.error).toBe('use_dpop_nonce');
  });

  it('parses token68 challenges, unquoted values, escapes and several header lines', () => {
    expect(parseWwwAuthenticate(['Negotiate abc123==', 'DPoP ERROR=use_dpop_nonce, realm="a\\"b"'])).toEqual([
      { scheme: 'Negotiate', params: { '': 'abc123==' } },
      { scheme: 'DPoP', params: { error: 'use_dpop_nonce', realm: 'a"b' } },
    ]);
  });

  it('round-trips generated challenges (property)', () => {
    const safe = fc
      .string({ minLength: 1, maxLength: 30 })
      .map((s) => s.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, 'x'));
    fc.assert(
      fc.property(
        fc.constantFrom('Bearer', 'DPoP'),
        fc.option(safe, { nil: undefined }),
        fc.option(safe, { nil: undefined }),
        (scheme, error, desc) => {
          const header = formatWwwAuthenticate([
            { scheme, error, errorDescription: desc },
            { scheme: 'DPoP', algs: ['ES256'] },
          ]);
          const parsed = parseWwwAuthenticate(header);
          expect(parsed[0]!.scheme).toBe(scheme);
          if (error !== undefined) expect(parsed[0]!.params.error).toBe(error);
          if (desc !== undefined) expect(parsed[0]!.params.error_description).toBe(desc);
          expect(parsed.at(-1)).toEqual({ scheme: 'DPoP', params: { algs: 'ES256' } });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on hostile input (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => void parseWwwAuthenticate(s)),
      { numRuns: 1000 },
    );
    expect(parseWwwAuthenticate(`DPoP error="${'x'.repeat(100_000)}`).length).toBeLessThanOrEqual(1);
  });
});
