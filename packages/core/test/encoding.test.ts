import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonObject } from '../src/lib/json.js';
import { b64uDecode, b64uDecodeText, b64uEncode } from './helpers.js';

describe('base64url', () => {
  it('round-trips arbitrary bytes and matches Node’s encoder (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const enc = b64uEncode(bytes);
        expect(enc).toBe(Buffer.from(bytes).toString('base64url'));
        expect(b64uDecode(enc)).toEqual(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects padding, foreign characters, impossible lengths and non-canonical trailing bits', () => {
    for (const bad of ['QQ==', 'QQ=', 'a', 'ab+c', 'ab/c', 'ab c', 'QR', 'QUJ', 'é', '\u0000AAA']) {
      expect(b64uDecode(bad), bad).toBeUndefined();
    }
    expect(b64uDecode('')).toEqual(new Uint8Array());
  });

  it('rejects text that is not UTF-8', () => {
    expect(b64uDecodeText(b64uEncode(new Uint8Array([0xff, 0xfe])))).toBeUndefined();
    expect(b64uDecodeText(b64uEncode('héllo'))).toBe('héllo');
  });

  it('never throws on arbitrary strings (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => void b64uDecode(s)),
      { numRuns: 1000 },
    );
  });
});

describe('JSON objects with duplicate member detection', () => {
  it('accepts objects and rejects every other JSON value', () => {
    expect(parseJsonObject('{"a":1}')).toEqual({ a: 1 });
    for (const bad of ['[]', '1', '"x"', 'null', 'true', '{', '{"a":1}x', ''])
      expect(parseJsonObject(bad)).toBe('invalid');
  });

  it('finds repeated names at any depth, also when written with escapes', () => {
    expect(parseJsonObject('{"a":1,"a":2}')).toBe('duplicate');
    expect(parseJsonObject('{"x":{"b":1,"b":1}}')).toBe('duplicate');
    expect(parseJsonObject('{"x":[{"b":1,"b":1}]}')).toBe('duplicate');
    expect(parseJsonObject('{"htu":1,"ht\\u0075":2}')).toBe('duplicate');
    expect(parseJsonObject('{"a":"\\"a\\":","b":{"a":1}}')).toEqual({ a: '"a":', b: { a: 1 } });
    expect(parseJsonObject('{"a":["a","a"],"b":{"a":{"a":1}}}')).not.toBe('duplicate');
  });

  it('reports a duplicate exactly when a generated object repeats a name (property)', () => {
    const name = fc.constantFrom('a', 'b', 'c', '\\u0061', 'a b');
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.jsonValue({ maxDepth: 2 })), { maxLength: 5 }), (pairs) => {
        const text = `{${pairs.map(([k, v]) => `"${k}":${JSON.stringify(v)}`).join(',')}}`;
        const names = pairs.map(([k]) => JSON.parse(`"${k}"`));
        const expected = new Set(names).size !== names.length;
        expect(parseJsonObject(text) === 'duplicate').toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
