import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyboundError, normalizeHtu, tryNormalizeHtu } from './helpers.js';

describe('htu normalisation policy', () => {
  const same = (a: string, b: string) => expect(normalizeHtu(a)).toBe(normalizeHtu(b));
  const differ = (a: string, b: string) => expect(normalizeHtu(a)).not.toBe(normalizeHtu(b));

  it('lower-cases scheme and host', () => {
    expect(normalizeHtu('HTTPS://Server.EXAMPLE.com/Token')).toBe('https://server.example.com/Token');
  });

  it('drops the default port of the scheme and keeps any other port', () => {
    same('https://a.example:443/x', 'https://a.example/x');
    same('http://a.example:80/x', 'http://a.example/x');
    expect(normalizeHtu('https://a.example:8443/x')).toBe('https://a.example:8443/x');
    differ('https://a.example:80/x', 'https://a.example/x');
  });

  it('removes query and fragment', () => {
    expect(normalizeHtu('https://a.example/x?y=1&z#frag')).toBe('https://a.example/x');
    expect(normalizeHtu('https://a.example/x#f?g')).toBe('https://a.example/x');
  });

  it('upper-cases percent-encoding hex digits', () => {
    expect(normalizeHtu('https://a.example/a%2fb%c3%a9')).toBe('https://a.example/a%2Fb%C3%A9');
  });

  it('decodes percent-encoded unreserved characters and only those', () => {
    expect(normalizeHtu('https://a.example/%41%7a%30%2D%2E%5F%7E')).toBe('https://a.example/Az0-._~');
    expect(normalizeHtu('https://a.example/a%2Fb%3F%23%20')).toBe('https://a.example/a%2Fb%3F%23%20');
  });

  it('removes dot-segments, encoded ones included', () => {
    expect(normalizeHtu('https://a.example/a/b/../c/./d')).toBe('https://a.example/a/c/d');
    expect(normalizeHtu('https://a.example/a/%2e%2E/c')).toBe('https://a.example/c');
    expect(normalizeHtu('https://a.example/../../x')).toBe('https://a.example/x');
  });

  it('keeps path case, trailing slashes and empty segments significant', () => {
    differ('https://a.example/Path', 'https://a.example/path');
    differ('https://a.example/path/', 'https://a.example/path');
    differ('https://a.example/a//b', 'https://a.example/a/b');
    differ('https://a.example/a%2Fb', 'https://a.example/a/b');
  });

  it('turns an empty path into "/"', () => {
    expect(normalizeHtu('https://a.example')).toBe('https://a.example/');
    same('https://a.example?x', 'https://a.example/');
  });

  it('drops userinfo', () => {
    expect(normalizeHtu('https://user:pw@a.example/x')).toBe('https://a.example/x');
  });

  it('converts internationalised host names to their ASCII form', () => {
    same('https://bücher.example/x', 'https://xn--bcher-kva.example/x');
  });

  it('normalises IPv6 literals', () => {
    same('https://[0:0:0:0:0:0:0:1]:443/x', 'https://[::1]/x');
  });

  it('rejects anything that is not an absolute http(s) URL', () => {
    for (const bad of [
      '',
      '/relative',
      'ftp://a.example/x',
      'javascript:alert(1)',
      'https://',
      'http://exa mple.com/',
    ]) {
      expect(() => normalizeHtu(bad)).toThrow(KeyboundError);
      expect(tryNormalizeHtu(bad)).toBeUndefined();
    }
  });

  it('is idempotent (property)', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => {
        const n = tryNormalizeHtu(url);
        if (n !== undefined) expect(normalizeHtu(n)).toBe(n);
      }),
      { numRuns: 500 },
    );
  });

  it('ignores query and fragment (property)', () => {
    fc.assert(
      fc.property(fc.webUrl(), fc.webQueryParameters(), fc.webFragments(), (url, q, f) => {
        const base = tryNormalizeHtu(url);
        if (base !== undefined && !url.includes('?') && !url.includes('#')) {
          expect(normalizeHtu(`${url}?${q}#${f}`)).toBe(base);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('treats percent-encoded and literal unreserved characters alike (property)', () => {
    const unreserved = fc.constantFrom(...'ABCXYZabcxyz0189-._~'.split(''));
    fc.assert(
      fc.property(fc.array(unreserved, { minLength: 1, maxLength: 12 }), (chars) => {
        const literal = chars.join('');
        const encoded = chars.map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
        expect(normalizeHtu(`https://h.example/p/${encoded}`)).toBe(
          normalizeHtu(`https://h.example/p/${literal}`),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but a KeyboundError on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          normalizeHtu(s);
        } catch (e) {
          expect(e).toBeInstanceOf(KeyboundError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
