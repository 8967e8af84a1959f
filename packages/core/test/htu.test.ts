import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyboundError, normalizeHtu, normalizeHtuClaim, tryNormalizeHtu } from './helpers.js';

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

  it('rejects userinfo instead of dropping it (RFC 9110 §4.2.4)', () => {
    for (const url of ['https://user:pw@a.example/x', 'https://evil@a.example/x', 'https://@a.example/x']) {
      expect(() => normalizeHtu(url)).toThrow(/userinfo/);
      expect(() => normalizeHtuClaim(url)).toThrow(/userinfo/);
    }
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

// Characters RFC 3986 allows nowhere in a URI, with their percent-encoding.
const OUTSIDE_RFC3986: ReadonlyArray<readonly [char: string, encoded: string]> = [
  ['\\', '%5C'],
  [' ', '%20'],
  ['\t', '%09'],
  ['\n', '%0A'],
  ['\r', '%0D'],
  ['\0', '%00'],
  ['\x1f', '%1F'],
  ['\x7f', '%7F'],
  ['"', '%22'],
  ['<', '%3C'],
  ['>', '%3E'],
  ['^', '%5E'],
  ['`', '%60'],
  ['{', '%7B'],
  ['|', '%7C'],
  ['}', '%7D'],
  ['é', '%C3%A9'],
  ['\u00a0', '%C2%A0'],
  ['\u3002', '%E3%80%82'],
  ['😀', '%F0%9F%98%80'],
];
const outsideChar = fc.constantFrom(...OUTSIDE_RFC3986);
const expectRejected = (url: string, reason?: RegExp) => {
  let error: unknown;
  try {
    normalizeHtuClaim(url);
  } catch (e) {
    error = e;
  }
  expect(error, `${JSON.stringify(url)} must be rejected`).toBeInstanceOf(KeyboundError);
  expect((error as KeyboundError).code).toBe('htu_mismatch');
  if (reason !== undefined) expect((error as KeyboundError).message).toMatch(reason);
  expect(tryNormalizeHtu(url)).toBeUndefined();
};

describe('htu claims are strict RFC 3986 absolute http(s) URIs: nothing is repaired', () => {
  it('rejects a backslash instead of turning it into a slash', () => {
    expectRejected('https://api.example/a\\b', /U\+005C/);
    expectRejected('https:\\\\api.example\\r');
    expectRejected('https://api.example\\r');
  });

  it('rejects tab, CR, LF and other controls instead of deleting them', () => {
    for (const c of ['\t', '\n', '\r', '\0', '\x1f', '\x7f']) {
      expectRejected(`https://api.example/ad${c}min`, /not allowed/);
      expectRejected(`https://api.ex${c}ample/admin`);
      expectRejected(`ht${c}tps://api.example/admin`);
    }
  });

  it('rejects surrounding spaces and controls instead of trimming them', () => {
    for (const url of [
      ' https://api.example/admin',
      'https://api.example/admin ',
      '\x00https://api.example/',
      'https://api.example/\x1f',
      '\thttps://api.example/',
    ]) {
      expectRejected(url);
    }
  });

  it('rejects a space and every other character RFC 3986 does not allow', () => {
    for (const [c] of OUTSIDE_RFC3986) {
      expectRejected(`https://api.example/a${c}b`);
      expectRejected(`https://api.example/a?q=${c}`);
      expectRejected(`https://api.example/a#${c}`);
    }
  });

  it('rejects non-ASCII characters and host names, and accepts their encoded forms', () => {
    expectRejected('https://api.example/é', /U\+00E9/);
    expectRejected('https://bücher.example/x');
    expectRejected('https://api\u3002example/r');
    expectRejected('https://\uff21\uff30\uff29.example/r');
    expect(normalizeHtuClaim('https://api.example/%c3%a9')).toBe('https://api.example/%C3%A9');
    expect(normalizeHtuClaim('https://xn--bcher-kva.example/x')).toBe('https://xn--bcher-kva.example/x');
  });

  it('rejects a scheme that is not followed by "//" and an empty host', () => {
    expectRejected('https:api.example/r', /\/\//);
    expectRejected('https:/api.example/r', /\/\//);
    expectRejected('http:api.example/r', /\/\//);
    expectRejected('https:///api.example/r', /host/);
    expectRejected('https://:443/r', /host/);
    expectRejected('https://', /host/);
  });

  it('rejects userinfo (RFC 9110 §4.2.4)', () => {
    expectRejected('https://user:pw@api.example/r', /userinfo/);
    expectRejected('https://evil@api.example/r', /userinfo/);
    expectRejected('https://api.example@evil.example/r', /userinfo/);
  });

  it('rejects a "%" that does not start a percent-encoded octet', () => {
    for (const url of [
      'https://api.example/a%zz',
      'https://api.example/a%2',
      'https://api.example/a%',
      'https://api.example/?%',
    ]) {
      expectRejected(url, /%/);
    }
  });

  it('rejects "[" and "]" outside an IP literal, a port that is not a number, and a scheme that is not http(s)', () => {
    expectRejected('https://api.example/a[0]');
    expectRejected('https://api[1].example/');
    expectRejected('https://api.example:44x3/');
    expectRejected('https://[::1/');
    expectRejected('ftp://api.example/r', /http/);
    expect(normalizeHtuClaim('https://[0:0:0:0:0:0:0:1]:443/x')).toBe('https://[::1]/x');
    expect(normalizeHtuClaim('https://api.example:/x')).toBe('https://api.example/x');
  });

  it('keeps every rule of the policy for a valid claim', () => {
    expect(normalizeHtuClaim('HTTPS://API.Example:443/A/./b/../%7e%2f%41?q=1#f')).toBe(
      'https://api.example/A/~%2FA',
    );
    expect(normalizeHtuClaim("https://api.example/!$&'()*+,;=:@-._~/")).toBe(
      "https://api.example/!$&'()*+,;=:@-._~/",
    );
    expect(normalizeHtuClaim('https://api.ex%61mple/r')).toBe('https://api.example/r');
    expect(normalizeHtuClaim('http://api.example:80')).toBe('http://api.example/');
  });

  it('says what is wrong in the error, with the received value', () => {
    try {
      normalizeHtuClaim('https://api.example/a\\b');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(KeyboundError);
      expect((e as KeyboundError).message).toMatch(/RFC 3986/);
      expect((e as KeyboundError).detail.received).toBe('https://api.example/a\\b');
    }
  });

  it('rejects any URL with a character outside RFC 3986 anywhere in it (property)', () => {
    fc.assert(
      fc.property(
        fc.webUrl({ withQueryParameters: true, withFragments: true }),
        outsideChar,
        fc.nat(),
        (url, [c], at) => {
          const i = at % (url.length + 1);
          expectRejected(`${url.slice(0, i)}${c}${url.slice(i)}`);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('agrees with the request-side normaliser on every RFC 3986 URL (property)', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => {
        expect(tryNormalizeHtu(url)).toBe(requestSide(url));
      }),
      { numRuns: 500 },
    );
  });
});

const requestSide = (url: string): string | undefined => {
  try {
    return normalizeHtu(url);
  } catch (e) {
    expect(e).toBeInstanceOf(KeyboundError);
    return undefined;
  }
};

describe('request URLs: characters RFC 3986 does not allow are percent-encoded, never stripped or converted', () => {
  it('encodes a backslash as %5C: /a\\b is /a%5Cb, not /a/b', () => {
    expect(normalizeHtu('https://api.example/a\\b')).toBe('https://api.example/a%5Cb');
    expect(normalizeHtu('https://api.example/a\\b')).toBe(normalizeHtu('https://api.example/a%5cb'));
    expect(normalizeHtu('https://api.example/a\\b')).not.toBe(normalizeHtu('https://api.example/a/b'));
    expect(normalizeHtu('https://api.example/a\\..\\b')).toBe('https://api.example/a%5C..%5Cb');
  });

  it('encodes tab, CR, LF, space and other controls instead of deleting them', () => {
    expect(normalizeHtu('https://api.example/ad\tmin')).toBe('https://api.example/ad%09min');
    expect(normalizeHtu('https://api.example/ad\r\nmin')).toBe('https://api.example/ad%0D%0Amin');
    expect(normalizeHtu('https://api.example/a b\x00\x7f')).toBe('https://api.example/a%20b%00%7F');
    expect(normalizeHtu('https://api.example/ad\tmin')).not.toBe(normalizeHtu('https://api.example/admin'));
  });

  it('encodes non-ASCII characters as UTF-8', () => {
    expect(normalizeHtu('https://api.example/é')).toBe('https://api.example/%C3%A9');
    expect(normalizeHtu('https://api.example/😀')).toBe('https://api.example/%F0%9F%98%80');
    expect(() => normalizeHtu('https://api.example/\ud800')).toThrow(KeyboundError);
  });

  it('encodes every other character RFC 3986 does not allow in a path', () => {
    for (const [c, encoded] of OUTSIDE_RFC3986) {
      expect(normalizeHtu(`https://api.example/a${c}b`)).toBe(`https://api.example/a${encoded}b`);
    }
    expect(normalizeHtu('https://api.example/a[0]')).toBe('https://api.example/a%5B0%5D');
  });

  it('encodes a "%" that does not start a percent-encoded octet as %25', () => {
    expect(normalizeHtu('https://api.example/a%zz%2')).toBe('https://api.example/a%25zz%252');
    expect(normalizeHtu('https://api.example/100%')).toBe('https://api.example/100%25');
  });

  it('does not trim surrounding spaces', () => {
    expect(() => normalizeHtu(' https://api.example/admin')).toThrow(KeyboundError);
    expect(normalizeHtu('https://api.example/admin ')).toBe('https://api.example/admin%20');
  });

  it('rejects a missing "//" and characters outside RFC 3986 in the host', () => {
    for (const url of [
      'https:api.example/r',
      'https:/api.example/r',
      'https:\\\\api.example\\r',
      'https://api.example\\r',
      'https://api.ex\tample/r',
      'https://api.ex ample/r',
      'https://a{b/',
      'https://a%7Bb/',
    ]) {
      expect(() => normalizeHtu(url), JSON.stringify(url)).toThrow(KeyboundError);
    }
  });

  it('matches exactly the claim that percent-encodes the same character (property)', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,8}$/);
    fc.assert(
      fc.property(segment, outsideChar, segment, (a, [c, encoded], b) => {
        const request = normalizeHtu(`https://api.example/${a}${c}${b}`);
        expect(request).toBe(normalizeHtuClaim(`https://api.example/${a}${encoded}${b}`));
        expect(request).not.toBe(normalizeHtu(`https://api.example/${a}${b}`));
        expect(request).not.toBe(normalizeHtu(`https://api.example/${a}/${b}`));
      }),
      { numRuns: 500 },
    );
  });

  it('produces normal forms that are themselves strict RFC 3986 claims (property)', () => {
    fc.assert(
      fc.property(fc.webUrl(), fc.string({ unit: 'binary', maxLength: 30 }), (url, tail) => {
        const n = requestSide(`${url}${url.endsWith('/') ? '' : '/'}${tail}`);
        if (n !== undefined) expect(normalizeHtuClaim(n)).toBe(n);
      }),
      { numRuns: 500 },
    );
  });
});
