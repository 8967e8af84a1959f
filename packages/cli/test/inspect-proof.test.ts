import { createProof, type DpopKey, generateDpopKey, getDefaultCrypto } from '@keybound/core';
import { describe, expect, it } from 'vitest';
import { cli, json, partOf, vectors, withPart } from './helpers.js';

const rfc = vectors.rfc9449;
const fig2 = rfc.proof_token_request_fig2;
const fig7 = rfc.proof_refresh_fig7;
const fig13 = rfc.proof_resource_fig13;

/** `keybound inspect` on an RFC 9449 example with the request it was made for, at its iat. */
const inspectVector = (v: { proof: string; htm: string; htu: string; iat: number }, ...extra: string[]) =>
  cli(['inspect', v.proof, '--htm', v.htm, '--htu', v.htu, '--now', String(v.iat), ...extra]);

/** Signs a JWS with header and payload exactly as given (to build proofs createProof would not). */
async function signJws(key: DpopKey, header: unknown, payload: unknown): Promise<string> {
  const enc = (v: unknown) =>
    Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const input = `${enc(header)}.${enc(payload)}`;
  const sig = await getDefaultCrypto().sign(key.alg, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

const expectInvalid = async (argv: string[], code: string) => {
  const r = await cli(['inspect', ...argv]);
  const out = json(r);
  expect(out).toMatchObject({ valid: false, code });
  expect(r.code).toBe(1);
  return out;
};

describe('keybound inspect: DPoP proofs', () => {
  it('verifies the RFC 9449 figure 2 token request proof at its iat', async () => {
    const r = await inspectVector(fig2);
    expect(r.code).toBe(0);
    const out = json(r);
    expect(out).toMatchObject({ kind: 'dpop_proof', valid: true, jkt: rfc.jkt });
    expect(out.header).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: rfc.jwk });
    expect(out.claims).toEqual({ jti: fig2.jti, htm: 'POST', htu: fig2.htu, iat: fig2.iat });
    expect(out.checked).toEqual(['typ', 'alg', 'jwk', 'signature', 'htm', 'htu', 'jti', 'iat']);
    expect(Object.keys(out.unchecked as object)).toEqual(['replay']);
  });

  it('verifies the RFC 9449 figure 7 refresh request proof at its iat', async () => {
    const r = await inspectVector(fig7);
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({
      kind: 'dpop_proof',
      valid: true,
      jkt: rfc.jkt,
      claims: { iat: fig7.iat },
    });
  });

  it('verifies the RFC 9449 figure 13 resource request proof with its access token (ath)', async () => {
    const r = await inspectVector(fig13, '--access-token', rfc.access_token);
    expect(r.code).toBe(0);
    const out = json(r);
    expect(out).toMatchObject({ valid: true, jkt: rfc.jkt, claims: { ath: rfc.access_token_ath } });
    expect(out.checked).toContain('ath');
  });

  it('never prints the proof or the access token it was given', async () => {
    const r = await inspectVector(fig13, '--access-token', rfc.access_token);
    expect(r.stdout).not.toContain(fig13.proof);
    expect(r.stdout).not.toContain(fig13.proof.split('.')[2]);
    expect(r.stdout).not.toContain(rfc.access_token);
  });

  it('accepts an htu that differs only in case of scheme and host and the default port', async () => {
    const r = await inspectVector({ ...fig2, htu: 'HTTPS://Server.Example.COM:443/token' });
    expect(r.code).toBe(0);
  });

  it('accepts a proof up to the end of the window (60 s + 5 s skew) and rejects it after with iat_too_old', async () => {
    expect((await inspectVector({ ...fig2, iat: fig2.iat + 65 })).code).toBe(0);
    const out = await expectInvalid(
      [fig2.proof, '--htm', 'POST', '--htu', fig2.htu, '--now', String(fig2.iat + 66)],
      'iat_too_old',
    );
    expect(out).toMatchObject({ error: 'invalid_dpop_proof', expected: '<= 65 s old', received: -66 });
  });

  it('rejects a proof whose iat is beyond the clock skew ahead with iat_in_future', async () => {
    expect((await inspectVector({ ...fig2, iat: fig2.iat - 5 })).code).toBe(0);
    await expectInvalid(
      [fig2.proof, '--htm', 'POST', '--htu', fig2.htu, '--now', String(fig2.iat - 6)],
      'iat_in_future',
    );
  });

  it('checks iat against the window the server uses, given with --max-age and --skew', async () => {
    const at = (offset: number, ...window: string[]) =>
      cli([
        'inspect',
        fig2.proof,
        '--htm',
        'POST',
        '--htu',
        fig2.htu,
        '--now',
        String(fig2.iat + offset),
        ...window,
      ]);
    // 300 s + 0 s skew: 300 s old passes, 301 s fails; 1 s ahead fails
    expect((await at(300, '--max-age', '300', '--skew', '0')).code).toBe(0);
    const old = await at(301, '--max-age', '300', '--skew', '0');
    expect(json(old)).toMatchObject({ code: 'iat_too_old', expected: '<= 300 s old' });
    expect(json(await at(-1, '--max-age', '300', '--skew', '0'))).toMatchObject({ code: 'iat_in_future' });
    // a tighter window than the default refuses what the default accepts
    expect((await at(30)).code).toBe(0);
    expect(json(await at(30, '--max-age', '10', '--skew', '2'))).toMatchObject({ code: 'iat_too_old' });
  });

  it.each([['-1'], ['1.5'], ['ten'], ['1234567'], ['']])(
    'refuses --max-age %j as a usage error',
    async (value) => {
      const r = await cli(['inspect', fig2.proof, `--max-age=${value}`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--max-age must be whole seconds/);
    },
  );

  it('rejects the RFC proof on the system clock (years old) with iat_too_old', async () => {
    await expectInvalid([fig2.proof, '--htm', 'POST', '--htu', fig2.htu], 'iat_too_old');
  });

  it('rejects a proof made for another method with htm_mismatch, saying expected and received', async () => {
    const out = await expectInvalid(
      [fig2.proof, '--htm', 'GET', '--htu', fig2.htu, '--now', String(fig2.iat)],
      'htm_mismatch',
    );
    expect(out).toMatchObject({ expected: 'GET', received: 'POST' });
  });

  it('rejects a proof made for another URL with htu_mismatch', async () => {
    const out = await expectInvalid(
      [fig2.proof, '--htm', 'POST', '--htu', 'https://server.example.com/token/', '--now', String(fig2.iat)],
      'htu_mismatch',
    );
    expect(out).toMatchObject({ expected: 'https://server.example.com/token/', received: fig2.htu });
  });

  it('rejects the figure 13 proof with another access token (ath_mismatch)', async () => {
    await expectInvalid(
      [
        fig13.proof,
        '--htm',
        'GET',
        '--htu',
        fig13.htu,
        '--now',
        String(fig13.iat),
        '--access-token',
        'other',
      ],
      'ath_mismatch',
    );
  });

  it('rejects the figure 2 proof (no ath) when an access token is presented (ath_missing)', async () => {
    await expectInvalid(
      [
        fig2.proof,
        '--htm',
        'POST',
        '--htu',
        fig2.htu,
        '--now',
        String(fig2.iat),
        '--access-token',
        rfc.access_token,
      ],
      'ath_missing',
    );
  });

  it('rejects a proof with a tampered signature (bad_signature)', async () => {
    const parts = fig2.proof.split('.');
    const sig = parts[2];
    parts[2] = `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    await expectInvalid([parts.join('.'), '--now', String(fig2.iat)], 'bad_signature');
  });

  it('rejects a proof whose claims were changed after signing (bad_signature)', async () => {
    const tampered = withPart(fig2.proof, 1, { ...partOf(fig2.proof, 1), htu: 'https://evil.example/token' });
    await expectInvalid(
      [tampered, '--htm', 'POST', '--htu', 'https://evil.example/token', '--now', String(fig2.iat)],
      'bad_signature',
    );
  });

  it('reports a proof whose typ was changed as a proof with typ_invalid', async () => {
    const tampered = withPart(fig2.proof, 0, { ...partOf(fig2.proof, 0), typ: 'JWT' });
    const out = await expectInvalid([tampered, '--now', String(fig2.iat)], 'typ_invalid');
    expect(out).toMatchObject({ kind: 'dpop_proof', expected: 'dpop+jwt', received: 'JWT' });
  });

  it('rejects a symmetric or none alg (alg_not_allowed)', async () => {
    for (const alg of ['HS256', 'none']) {
      const tampered = withPart(fig2.proof, 0, { ...partOf(fig2.proof, 0), alg });
      await expectInvalid([tampered, '--now', String(fig2.iat)], 'alg_not_allowed');
    }
  });

  it('rejects an ES256 proof when --algs allows only other algorithms', async () => {
    const out = await expectInvalid(
      [fig2.proof, '--now', String(fig2.iat), '--algs', 'EdDSA,ES384'],
      'alg_not_allowed',
    );
    expect(out).toMatchObject({ expected: 'EdDSA ES384', received: 'ES256' });
  });

  it('rejects a header jwk that carries a private key (jwk_private)', async () => {
    const header = partOf(fig2.proof, 0) as { jwk: object };
    const tampered = withPart(fig2.proof, 0, { ...header, jwk: { ...header.jwk, d: 'AAAA' } });
    await expectInvalid([tampered, '--now', String(fig2.iat)], 'jwk_private');
  });

  it('rejects a header that repeats a member (duplicate_member)', async () => {
    const text = JSON.stringify(partOf(fig2.proof, 0)).replace('{', '{"alg":"none",');
    await expectInvalid([withPart(fig2.proof, 0, text), '--now', String(fig2.iat)], 'duplicate_member');
  });

  it('checks everything else of a proof given without --htm/--htu and lists what it could not check', async () => {
    const r = await cli(['inspect', fig13.proof, '--now', String(fig13.iat)]);
    expect(r.code).toBe(0);
    const out = json(r);
    expect(out).toMatchObject({ kind: 'dpop_proof', valid: true, jkt: rfc.jkt });
    expect(out.checked).toEqual(['typ', 'alg', 'jwk', 'signature', 'jti', 'iat']);
    expect(Object.keys(out.unchecked as object).sort()).toEqual(['ath', 'htm', 'htu', 'replay']);
  });

  it('says a proof has no htm or htu claim when there is none to fall back on', async () => {
    const key = await generateDpopKey();
    const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk };
    const now = 1_700_000_000;
    const noHtm = await signJws(key, header, { jti: 'a', htu: 'https://a.example/', iat: now });
    let out = await expectInvalid([noHtm, '--now', String(now)], 'htm_mismatch');
    expect(out.detail).toBe('the proof has no htm claim');
    const noHtu = await signJws(key, header, { jti: 'a', htm: 'GET', iat: now });
    out = await expectInvalid([noHtu, '--now', String(now)], 'htu_mismatch');
    expect(out.detail).toBe('the proof has no htu claim');
    // with --htm given, a missing claim is an ordinary mismatch
    out = await expectInvalid([noHtm, '--htm', 'GET', '--now', String(now)], 'htm_mismatch');
    expect(out).toMatchObject({ expected: 'GET' });
  });

  it('lists a nonce in the proof as unchecked (only its issuer can check it)', async () => {
    const key = await generateDpopKey();
    const proof = await createProof(key, { htm: 'GET', htu: 'https://a.example/x', nonce: 'n-1' });
    const out = json(await cli(['inspect', proof, '--htm', 'GET', '--htu', 'https://a.example/x']));
    expect(out.valid).toBe(true);
    expect(out.unchecked).toHaveProperty('nonce');
  });

  it('rejects a proof longer than the core limit (proof_too_large)', async () => {
    const key = await generateDpopKey();
    const proof = await createProof(key, {
      htm: 'GET',
      htu: 'https://a.example/x',
      claims: { pad: 'x'.repeat(9000) },
    });
    await expectInvalid([proof], 'proof_too_large');
  });

  it('rejects a missing jti and an over-long jti', async () => {
    const key = await generateDpopKey();
    const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk };
    const now = 1_700_000_000;
    const claims = { htm: 'GET', htu: 'https://a.example/', iat: now };
    await expectInvalid([await signJws(key, header, claims), '--now', String(now)], 'jti_missing');
    await expectInvalid(
      [await signJws(key, header, { ...claims, jti: 'j'.repeat(257) }), '--now', String(now)],
      'jti_too_long',
    );
  });
});

describe('keybound inspect: input that is not a JWT', () => {
  for (const [what, input] of [
    ['a word', 'hello'],
    ['an empty argument', ''],
    ['three parts that are not base64url JSON', 'a.b.c'],
    [
      'a JSON array payload',
      `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from('[1]').toString('base64url')}.c2ln`,
    ],
    ['four parts', 'eyJ9.eyJ9.eyJ9.eyJ9'],
  ] as const) {
    it(`reports ${what} as kind unknown, token_malformed, exit 1`, async () => {
      const r = await cli(['inspect', input]);
      expect(r.code).toBe(1);
      expect(json(r)).toMatchObject({
        kind: 'unknown',
        valid: false,
        code: 'token_malformed',
        error: 'invalid_token',
      });
    });
  }

  it('refuses to decode an argument longer than 64 KiB', async () => {
    const r = await cli(['inspect', `${'a'.repeat(70_000)}.b.c`]);
    expect(json(r)).toMatchObject({
      code: 'token_malformed',
      detail: expect.stringContaining('longer than'),
    });
  });
});

describe('keybound inspect: usage errors (exit 2)', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['no JWT', ['inspect'], /missing JWT argument/],
    ['two JWTs', ['inspect', 'a.b.c', 'd.e.f'], /expected one JWT argument/],
    [
      'an --now that is not a number',
      ['inspect', 'a.b.c', '--now', 'yesterday'],
      /--now must be epoch seconds/,
    ],
    ['a negative --now', ['inspect', 'a.b.c', '--now', '-5'], /--now needs a value/],
    ['a relative --htu', ['inspect', 'a.b.c', '--htu', '/token'], /absolute http\(s\) URL/],
    ['an --htm with spaces', ['inspect', 'a.b.c', '--htm', 'G T'], /HTTP method/],
    [
      'an unknown algorithm in --algs',
      ['inspect', 'a.b.c', '--algs', 'ES256,HS256'],
      /unsupported algorithm 'HS256'/,
    ],
    ['an empty --algs', ['inspect', 'a.b.c', '--algs', ' , '], /at least one algorithm/],
    ['an empty --access-token', ['inspect', 'a.b.c', '--access-token', ''], /must not be empty/],
  ];
  for (const [what, argv, message] of cases) {
    it(`refuses ${what}`, async () => {
      const r = await cli(argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
    });
  }
});
