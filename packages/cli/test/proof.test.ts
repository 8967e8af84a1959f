import { accessTokenHash, verifyProof } from '@keybound/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_INPUT_FILE_BYTES } from '../src/files.js';
import { cli, json, partOf, tempDir } from './helpers.js';

const tmp = tempDir();
let keyFile: string;
let jwkFile: string;
let jkt: string;

beforeAll(async () => {
  const generated = await cli(['keys', 'generate']);
  keyFile = tmp.write('key.json', generated.stdout);
  const out = json(generated) as { privateJwk: unknown; jkt: string };
  jwkFile = tmp.write('private-jwk.json', JSON.stringify(out.privateJwk));
  jkt = out.jkt;
});
afterAll(() => tmp.cleanup());

const HTU = 'https://api.example/orders';
const base = () => ['proof', '--key', keyFile, '--htm', 'GET', '--htu', HTU];

describe('keybound proof', () => {
  it('prints only a proof that core verifies for the method and URL, bound to the key file', async () => {
    const r = await cli(base());
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const verified = await verifyProof(r.stdout.trim(), { htm: 'GET', htu: HTU });
    expect(verified.jkt).toBe(jkt);
    expect(verified.header.typ).toBe('dpop+jwt');
  });

  it('reads a bare private JWK file as well as the output of keys generate', async () => {
    const r = await cli(['proof', '--key', jwkFile, '--htm', 'POST', '--htu', HTU]);
    expect(r.code).toBe(0);
    expect((await verifyProof(r.stdout.trim(), { htm: 'POST', htu: HTU })).jkt).toBe(jkt);
  });

  it('resolves a relative key file against the working directory', async () => {
    const r = await cli(['proof', '--key', 'key.json', '--htm', 'GET', '--htu', HTU], tmp.dir);
    expect(r.code).toBe(0);
  });

  it('adds ath, the hash of --token, so the proof verifies with that access token only', async () => {
    const token = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
    const proof = (await cli([...base(), '--token', token])).stdout.trim();
    expect(partOf(proof, 1).ath).toBe(await accessTokenHash(token));
    await expect(verifyProof(proof, { htm: 'GET', htu: HTU, accessToken: token })).resolves.toBeTruthy();
    await expect(
      verifyProof(proof, { htm: 'GET', htu: HTU, accessToken: `${token}x` }),
    ).rejects.toMatchObject({
      code: 'ath_mismatch',
    });
  });

  it('puts --nonce, --iat and --jti in the claims as given', async () => {
    const proof = (
      await cli([...base(), '--nonce', 'eyJ7S_zG.eyJH0-Z.HX4w-7v', '--iat', '1562262616', '--jti', 'abc-1'])
    ).stdout;
    expect(partOf(proof, 1)).toEqual({
      jti: 'abc-1',
      htm: 'GET',
      htu: HTU,
      iat: 1562262616,
      nonce: 'eyJ7S_zG.eyJH0-Z.HX4w-7v',
    });
  });

  it('leaves the query and fragment out of htu (RFC 9449 §4.2)', async () => {
    const proof = (await cli(['proof', '--key', keyFile, '--htm', 'GET', '--htu', `${HTU}?page=2#top`]))
      .stdout;
    expect(partOf(proof, 1).htu).toBe(HTU);
  });

  it('gives every proof a fresh jti and the current iat', async () => {
    const a = partOf((await cli(base())).stdout, 1);
    const b = partOf((await cli(base())).stdout, 1);
    expect(a.jti).not.toBe(b.jti);
    expect(Math.abs((a.iat as number) - Date.now() / 1000)).toBeLessThan(60);
  });

  describe('usage errors (exit 2, one line, no proof)', () => {
    const cases: Array<[string, () => string[], RegExp]> = [
      ['a missing --key', () => ['proof', '--htm', 'GET', '--htu', HTU], /missing required option --key/],
      ['a missing --htm', () => ['proof', '--key', keyFile, '--htu', HTU], /missing required option --htm/],
      ['a missing --htu', () => ['proof', '--key', keyFile, '--htm', 'GET'], /missing required option --htu/],
      ['--htu given twice', () => [...base(), '--htu', HTU], /option --htu given more than once/],
      [
        'a relative --htu',
        () => ['proof', '--key', keyFile, '--htm', 'GET', '--htu', '/orders'],
        /absolute http\(s\) URL/,
      ],
      [
        'an ftp --htu',
        () => ['proof', '--key', keyFile, '--htm', 'GET', '--htu', 'ftp://x/y'],
        /http or https URL/,
      ],
      [
        'an --htm that is not a method',
        () => ['proof', '--key', keyFile, '--htm', 'GE T', '--htu', HTU],
        /HTTP method/,
      ],
      ['an empty --htm', () => ['proof', '--key', keyFile, '--htm', '', '--htu', HTU], /HTTP method/],
      ['an --iat that is not a number', () => [...base(), '--iat', 'soon'], /--iat must be a whole number/],
      ['a fractional --iat', () => [...base(), '--iat', '1.5'], /--iat must be a whole number/],
      ['an empty --jti', () => [...base(), '--jti', ''], /--jti must not be empty/],
      ['an over-long --jti', () => [...base(), '--jti', 'j'.repeat(257)], /--jti must be at most 256/],
      ['an empty --token', () => [...base(), '--token', ''], /--token must not be empty/],
      ['a positional argument', () => [...base(), 'extra'], /takes no positional arguments/],
    ];
    for (const [what, argv, message] of cases) {
      it(`refuses ${what}`, async () => {
        const r = await cli(argv());
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      });
    }
  });

  describe('key files that cannot be used (exit 2, the file named, its content never shown)', () => {
    const secret = 'SECRET-CONTENT-d-value';
    const cases: Array<[string, () => string, RegExp]> = [
      ['a missing file', () => `${tmp.dir}/nope.json`, /no such file/],
      ['a directory', () => tmp.dir, /is a directory/],
      ['a file that is not JSON', () => tmp.write('garbage.json', `{"d":"${secret}"`), /is not JSON/],
      ['a JSON array', () => tmp.write('array.json', `["${secret}"]`), /holds no JSON object/],
      [
        'a public JWK only',
        () => tmp.write('public.json', JSON.stringify({ kty: 'EC', crv: 'P-256', x: secret })),
        /holds no private key/,
      ],
      [
        'a private JWK with garbage members',
        () => tmp.write('bad.json', JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', d: secret })),
        /--key file '.*bad\.json':/,
      ],
      [
        'a symmetric key',
        () => tmp.write('oct.json', JSON.stringify({ kty: 'oct', k: secret, d: secret })),
        /--key file/,
      ],
      ['an oversized file', () => tmp.write('big.json', ' '.repeat(MAX_INPUT_FILE_BYTES + 1)), /larger than/],
    ];
    for (const [what, file, message] of cases) {
      it(`refuses ${what}`, async () => {
        const path = file();
        const r = await cli(['proof', '--key', path, '--htm', 'GET', '--htu', HTU]);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toContain(secret);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      });
    }
  });
});
