// The normal form of a request path for route matching: the path of core's normalizeHtu, so that
// the route a request selects and the htu it is checked against name the same path.
import { normalizeHtu } from '@keybound/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalPath } from '../src/routes.js';

/** Characters a raw request path may carry: allowed in a path, not allowed, and the ones with a meaning. */
const CHARS = [
  ...'aZ09-._~',
  ...`!$&'()*+,;=:@`,
  ...' |{}"<>\\^`[]',
  '\t',
  '\x7f',
  '%',
  '/',
  '.',
  'é',
  '€',
  '😀',
];
const rawPath = fc.array(fc.constantFrom(...CHARS), { maxLength: 24 }).map((chars) => `/${chars.join('')}`);

/** The path of core's normal form of a request URL. */
const corePath = (path: string) => normalizeHtu(`http://h${path}`).slice('http://h'.length);

/** Characters whose percent-encoding (either hex case) names the same path as the character. */
const ENCODABLE = [...'aZ09-._~', ...' |{}"<>\\^`[]', 'é', '😀'];
const encode = (c: string, lower: boolean): string => {
  const hex = [...new TextEncoder().encode(c)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return lower ? hex : hex.toUpperCase();
};

describe('normalPath', () => {
  it("is the path of core's htu normal form for every path", () => {
    fc.assert(
      fc.property(rawPath, (path) => {
        expect(normalPath(path)).toBe(corePath(path));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives a character, its upper-case and its lower-case percent-encoding one normal form', () => {
    const spelled = fc.array(
      fc.tuple(
        fc.constantFrom(...ENCODABLE, '/', '!', ';', ':', '%2F'),
        fc.constantFrom('raw', 'upper', 'lower'),
      ),
      { maxLength: 16 },
    );
    fc.assert(
      fc.property(spelled, (parts) => {
        const plain = `/${parts.map(([c]) => c).join('')}`;
        const spelling = `/${parts
          .map(([c, how]) => (how === 'raw' || !ENCODABLE.includes(c) ? c : encode(c, how === 'lower')))
          .join('')}`;
        expect(normalPath(spelling), spelling).toBe(normalPath(plain));
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes what RFC 3986 does not allow in a path as core does, a backslash included', () => {
    for (const [path, normal] of [
      ['/a|b', '/a%7Cb'],
      ['/a%7cb', '/a%7Cb'],
      ['/a b', '/a%20b'],
      ['/a{b}', '/a%7Bb%7D'],
      ['/a\\b', '/a%5Cb'],
      ['/a%5cb', '/a%5Cb'],
      ['/%61dmin/./x/../y', '/admin/y'],
      ['/admin', '/admin'],
      ["/A-z_0.9~!$&'()*+,;=:@//x", "/A-z_0.9~!$&'()*+,;=:@//x"],
    ]) {
      expect(normalPath(path!), path).toBe(normal);
    }
  });
});
