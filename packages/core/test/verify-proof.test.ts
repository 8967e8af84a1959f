import { beforeAll, describe, expect, it } from 'vitest';
import {
  accessTokenHash,
  createProof,
  type DpopKey,
  generateDpopKey,
  KeyboundError,
  MemoryReplayStore,
  NonceManager,
  PROOF_STEPS,
  type VerifyProofOptions,
  verifyProof,
  verifyProofPossession,
  webCrypto,
} from './helpers.js';
import { expectCode } from './keybound-error-code.js';
import { dpopHeader, signJws } from './sign.js';
import { vectors } from './vectors.js';

const V = vectors.rfc9449;
const NOW = 1_700_000_000;
const HTU = 'https://rs.example.com/resource';

describe('RFC 9449 published examples (fixed clock)', () => {
  it('accepts the Figure 2 token request proof at its iat', async () => {
    const f = V.proof_token_request_fig2;
    const r = await verifyProof(f.proof, { htm: f.htm, htu: f.htu, now: f.iat });
    expect(r.jkt).toBe(V.jkt);
    expect(r.claims.jti).toBe(f.jti);
    expect(r.alg).toBe('ES256');
  });

  it('accepts the Figure 7 refresh proof at its iat', async () => {
    const f = V.proof_refresh_fig7;
    const r = await verifyProof(f.proof, { htm: f.htm, htu: f.htu, now: f.iat });
    expect(r.jkt).toBe(V.jkt);
  });

  it('accepts the Figure 13 resource proof with the ath of the example access token', async () => {
    const f = V.proof_resource_fig13;
    expect(await accessTokenHash(V.access_token)).toBe(V.access_token_ath);
    const r = await verifyProof(f.proof, { htm: f.htm, htu: f.htu, now: f.iat, accessToken: V.access_token });
    expect(r.claims.ath).toBe(f.ath);
  });

  it('verifies the examples with the WebCrypto provider too', async () => {
    const f = V.proof_resource_fig13;
    const r = await verifyProof(f.proof, {
      htm: f.htm,
      htu: f.htu,
      now: f.iat,
      accessToken: V.access_token,
      crypto: webCrypto,
    });
    expect(r.jkt).toBe(V.jkt);
  });

  it('binds the Figure 8 access token to the example key: cnf.jkt equals the proof key thumbprint', async () => {
    const r = await verifyProof(V.proof_token_request_fig2.proof, {
      htm: 'POST',
      htu: V.proof_token_request_fig2.htu,
      now: V.proof_token_request_fig2.iat,
    });
    expect(V.jwt_access_token_fig8.claims.cnf.jkt).toBe(r.jkt);
  });

  it('rejects the Figure 13 proof when presented with a different access token', async () => {
    const f = V.proof_resource_fig13;
    await expectCode(
      verifyProof(f.proof, { htm: f.htm, htu: f.htu, now: f.iat, accessToken: 'other' }),
      'ath_mismatch',
    );
  });

  it('rejects the Figure 2 proof an hour later as too old, saying how old', async () => {
    const f = V.proof_token_request_fig2;
    const e = await expectCode(
      verifyProof(f.proof, { htm: f.htm, htu: f.htu, now: f.iat + 3600 }),
      'iat_too_old',
    );
    expect(e.detail.received).toBe(-3600);
  });

  it('rejects the Figure 2 proof at the resource URL, naming expected and received htu', async () => {
    const f = V.proof_token_request_fig2;
    const e = await expectCode(
      verifyProof(f.proof, { htm: 'POST', htu: 'https://server.example.com/other', now: f.iat }),
      'htu_mismatch',
    );
    expect(e.detail).toMatchObject({ expected: 'https://server.example.com/other', received: f.htu });
  });

  it('rejects the Figure 2 proof replayed against the same store', async () => {
    const f = V.proof_token_request_fig2;
    const store = new MemoryReplayStore();
    await verifyProof(f.proof, { htm: f.htm, htu: f.htu, now: f.iat, replayStore: store });
    await expectCode(
      verifyProof(f.proof, { htm: f.htm, htu: f.htu, now: f.iat, replayStore: store }),
      'replay',
    );
  });
});

describe('RFC 9449 §4.3 checks, each failing on its own bad input', () => {
  let key: DpopKey;
  let other: DpopKey;
  const claims = (extra: Record<string, unknown> = {}) => ({
    jti: 'j-1',
    htm: 'GET',
    htu: HTU,
    iat: NOW,
    ...extra,
  });
  const opts = (extra: Partial<VerifyProofOptions> = {}): VerifyProofOptions => ({
    htm: 'GET',
    htu: HTU,
    now: NOW,
    ...extra,
  });

  beforeAll(async () => {
    key = await generateDpopKey('ES256');
    other = await generateDpopKey('ES256');
  });

  it('accepts a well-formed proof (the baseline the negative cases vary)', async () => {
    const proof = await signJws(key, dpopHeader(key), claims());
    expect((await verifyProof(proof, opts())).jkt).toBe(key.jkt);
  });

  it('rejects a request without a proof', async () => {
    await expectCode(verifyProof(undefined, opts()), 'proof_missing');
    await expectCode(verifyProof('', opts()), 'proof_missing');
    await expectCode(verifyProof([], opts()), 'proof_missing');
  });

  it('rejects more than one DPoP header, and one header holding a list', async () => {
    const proof = await signJws(key, dpopHeader(key), claims());
    await expectCode(verifyProof([proof, proof], opts()), 'proof_multiple');
    await expectCode(verifyProof(`${proof}, ${proof}`, opts()), 'proof_multiple');
    expect((await verifyProof([proof], opts())).jkt).toBe(key.jkt);
  });

  it('rejects a proof longer than the configured limit', async () => {
    const proof = await signJws(key, dpopHeader(key), claims({ pad: 'x'.repeat(9000) }));
    await expectCode(verifyProof(proof, opts()), 'proof_too_large');
    expect((await verifyProof(proof, opts({ maxProofLength: 20_000 }))).jkt).toBe(key.jkt);
  });

  it('rejects input that is not a compact JWS', async () => {
    for (const bad of [
      'a',
      'a.b',
      'a.b.c.d',
      '..',
      'a..c',
      '.b.c',
      'a.b.',
      'e30.e30.!!!',
      'e30.e30.a',
      '%%%.e30.sig',
    ]) {
      await expectCode(verifyProof(bad, opts()), 'proof_malformed');
    }
  });

  it('rejects a header or payload that is not a JSON object', async () => {
    await expectCode(verifyProof(await signJws(key, '[1]', claims()), opts()), 'proof_malformed');
    await expectCode(verifyProof(await signJws(key, dpopHeader(key), '"str"'), opts()), 'proof_malformed');
    await expectCode(verifyProof(await signJws(key, dpopHeader(key), 'null'), opts()), 'proof_malformed');
    await expectCode(verifyProof(await signJws(key, '{"typ":', claims()), opts()), 'proof_malformed');
  });

  it('rejects a header or payload that repeats a member name', async () => {
    const h = JSON.stringify(dpopHeader(key));
    await expectCode(
      verifyProof(await signJws(key, `{"alg":"none",${h.slice(1)}`, claims()), opts()),
      'duplicate_member',
    );
    const p = JSON.stringify(claims());
    const dupHtu = `{"htu":"https://evil.example/",${p.slice(1)}`;
    await expectCode(verifyProof(await signJws(key, dpopHeader(key), dupHtu), opts()), 'duplicate_member');
    const escapedDup = `{"ht\\u0075":"https://evil.example/",${p.slice(1)}`;
    await expectCode(
      verifyProof(await signJws(key, dpopHeader(key), escapedDup), opts()),
      'duplicate_member',
    );
  });

  it('rejects a typ other than dpop+jwt', async () => {
    for (const typ of ['JWT', 'at+jwt', undefined, 1, 'dpop+jwt ']) {
      await expectCode(
        verifyProof(await signJws(key, dpopHeader(key, { typ }), claims()), opts()),
        'typ_invalid',
      );
    }
  });

  it('rejects alg none, symmetric algorithms and algorithms outside the allow-list', async () => {
    for (const alg of ['none', 'HS256', 'ES256K', undefined, 42]) {
      await expectCode(
        verifyProof(await signJws(key, dpopHeader(key, { alg }), claims()), opts()),
        'alg_not_allowed',
      );
    }
    const proof = await signJws(key, dpopHeader(key), claims());
    await expectCode(verifyProof(proof, opts({ algorithms: ['EdDSA'] })), 'alg_not_allowed');
  });

  it('rejects a header with crit', async () => {
    await expectCode(
      verifyProof(await signJws(key, dpopHeader(key, { crit: ['exp'] }), claims()), opts()),
      'crit_unsupported',
    );
  });

  it('rejects a proof without a jwk', async () => {
    const { jwk, ...header } = dpopHeader(key);
    await expectCode(
      verifyProof(await signJws(key, { ...header, kid: 'k1' }, claims()), opts()),
      'jwk_missing',
    );
  });

  it('rejects a jwk that carries private key material', async () => {
    const priv = await generateDpopKey('ES256', { extractable: true });
    const { exportPrivateJwk } = await import('./helpers.js');
    const jwk = await exportPrivateJwk(priv);
    await expectCode(
      verifyProof(await signJws(priv, dpopHeader(priv, { jwk }), claims()), opts()),
      'jwk_private',
    );
    // also on the cached path: the same public members were seen before
    await verifyProof(await signJws(priv, dpopHeader(priv), claims({ jti: 'warm' })), opts());
    await expectCode(
      verifyProof(await signJws(priv, dpopHeader(priv, { jwk }), claims()), opts()),
      'jwk_private',
    );
  });

  it('rejects a malformed jwk', async () => {
    const bad = [
      'str',
      [],
      { kty: 'oct', k: 'AAAA' },
      { kty: 'EC', crv: 'P-256', x: key.publicJwk.x },
      { ...key.publicJwk, x: `${key.publicJwk.x}AA` },
      { ...key.publicJwk, y: 'not base64url!' },
      { ...key.publicJwk, crv: 'secp256k1' },
      { ...key.publicJwk, use: 'enc' },
      { ...key.publicJwk, x: 'A'.repeat(43), y: 'A'.repeat(43) }, // not a point on the curve
    ];
    for (const jwk of bad) {
      const e = await verifyProof(await signJws(key, dpopHeader(key, { jwk }), claims()), opts()).catch(
        (x) => x,
      );
      expect(['jwk_invalid', 'jwk_private']).toContain(e.code);
    }
  });

  it('rejects a jwk whose type or curve does not fit alg', async () => {
    const ed = await generateDpopKey('EdDSA');
    await expectCode(
      verifyProof(await signJws(key, dpopHeader(key, { jwk: ed.publicJwk }), claims()), opts()),
      'jwk_alg_mismatch',
    );
    await expectCode(
      verifyProof(await signJws(key, dpopHeader(key, { alg: 'ES384' }), claims()), opts()),
      'jwk_alg_mismatch',
    );
  });

  it('rejects a proof signed by a key other than the embedded jwk', async () => {
    await expectCode(verifyProof(await signJws(other, dpopHeader(key), claims()), opts()), 'bad_signature');
  });

  it('rejects a proof whose payload was changed after signing', async () => {
    const proof = await signJws(key, dpopHeader(key), claims());
    const [h, , s] = proof.split('.');
    const tampered = Buffer.from(JSON.stringify(claims({ htu: 'https://rs.example.com/admin' }))).toString(
      'base64url',
    );
    await expectCode(verifyProof(`${h}.${tampered}.${s}`, opts()), 'bad_signature');
  });

  it('rejects a signature of the wrong length', async () => {
    const proof = await signJws(key, dpopHeader(key), claims());
    await expectCode(verifyProof(`${proof}AAAA`, opts()), 'bad_signature');
  });

  it('rejects an htm that differs from the request method (case-sensitive)', async () => {
    for (const htm of ['POST', 'get', undefined]) {
      await expectCode(
        verifyProof(await signJws(key, dpopHeader(key), claims({ htm })), opts()),
        'htm_mismatch',
      );
    }
  });

  it('rejects an htu for another URL, and one that is not an http(s) URL', async () => {
    for (const htu of [
      'https://rs.example.com/other',
      'https://evil.example/resource',
      'http://rs.example.com/resource',
      'ftp://rs.example.com/resource',
      'not a url',
      undefined,
      7,
    ]) {
      await expectCode(
        verifyProof(await signJws(key, dpopHeader(key), claims({ htu })), opts()),
        'htu_mismatch',
      );
    }
  });

  it('accepts an htu that differs only in ways the normalisation policy ignores', async () => {
    const variants = [
      'HTTPS://RS.example.COM:443/resource',
      'https://rs.example.com/resource?q=1#f',
      'https://rs.example.com/./resource',
      'https://rs.example.com/%72esource',
    ];
    for (const [i, htu] of variants.entries()) {
      const r = await verifyProof(await signJws(key, dpopHeader(key), claims({ htu, jti: `n${i}` })), opts());
      expect(r.jkt).toBe(key.jkt);
    }
  });

  it('refuses a proof for /a/b at a request for /a\\b, and accepts the proof for /a%5Cb there', async () => {
    const at = opts({ htu: 'https://rs.example.com/a\\b' });
    const slash = await signJws(key, dpopHeader(key), claims({ htu: 'https://rs.example.com/a/b' }));
    const e = await expectCode(verifyProof(slash, at), 'htu_mismatch');
    expect(e.detail).toMatchObject({
      expected: 'https://rs.example.com/a%5Cb',
      received: 'https://rs.example.com/a/b',
    });
    for (const [i, htu] of ['https://rs.example.com/a%5Cb', 'https://rs.example.com/a%5cb'].entries()) {
      const proof = await signJws(key, dpopHeader(key), claims({ htu, jti: `bs${i}` }));
      expect((await verifyProof(proof, at)).jkt).toBe(key.jkt);
    }
  });

  it('refuses a proof for /admin at a request for /ad<TAB>min', async () => {
    const proof = await signJws(key, dpopHeader(key), claims({ htu: 'https://rs.example.com/admin' }));
    for (const c of ['\t', '\r', '\n']) {
      await expectCode(verifyProof(proof, opts({ htu: `https://rs.example.com/ad${c}min` })), 'htu_mismatch');
    }
  });

  it('rejects an htu claim that is not a strict RFC 3986 http(s) URI, saying why', async () => {
    for (const [htu, reason] of [
      ['https:rs.example.com/resource', /\/\//],
      ['https:/rs.example.com/resource', /\/\//],
      ['https://user:pw@rs.example.com/resource', /userinfo/],
      ['https://evil@rs.example.com/resource', /userinfo/],
      ['https://rs.example.com\\resource', /U\+005C/],
      ['https:\\\\rs.example.com\\resource', /U\+005C/],
      ['https://rs.example.com/res\tource', /U\+0009/],
      [' https://rs.example.com/resource', /U\+0020/],
      ['https://rs.example.com/resource ', /U\+0020/],
      ['https://rs.example.com/r\u00e9source', /U\+00E9/],
    ] as const) {
      const proof = await signJws(key, dpopHeader(key), claims({ htu }));
      const e = await expectCode(verifyProof(proof, opts()), 'htu_mismatch');
      expect(e.message, htu).toMatch(reason);
      expect(e.message).toMatch(/RFC 3986|userinfo|\/\//);
      expect(e.detail).toMatchObject({ expected: HTU, received: htu });
    }
  });

  it('rejects a missing or non-numeric iat', async () => {
    for (const iat of [undefined, '1700000000', null, Number.NaN]) {
      await expectCode(
        verifyProof(await signJws(key, dpopHeader(key), claims({ iat })), opts()),
        'iat_invalid',
      );
    }
  });

  it('accepts iat at the edges of the window and rejects it just outside, in both directions', async () => {
    const at = async (iat: number) =>
      verifyProof(
        await signJws(key, dpopHeader(key), claims({ iat, jti: `w${iat}` })),
        opts({ maxAgeSeconds: 60, clockSkewSeconds: 5 }),
      );
    expect((await at(NOW + 5)).jkt).toBe(key.jkt);
    expect((await at(NOW - 65)).jkt).toBe(key.jkt);
    const future = await expectCode(at(NOW + 6), 'iat_in_future');
    expect(future.detail.received).toBe(6);
    await expectCode(at(NOW - 66), 'iat_too_old');
  });

  it('rejects a missing, empty or oversized jti', async () => {
    for (const jti of [undefined, '', 5]) {
      await expectCode(
        verifyProof(await signJws(key, dpopHeader(key), claims({ jti })), opts()),
        'jti_missing',
      );
    }
    await expectCode(
      verifyProof(await signJws(key, dpopHeader(key), claims({ jti: 'x'.repeat(257) })), opts()),
      'jti_too_long',
    );
    await expectCode(
      verifyProof(
        await signJws(key, dpopHeader(key), claims({ jti: 'x'.repeat(33) })),
        opts({ maxJtiLength: 32 }),
      ),
      'jti_too_long',
    );
  });

  it('requires ath when an access token is presented, and checks it', async () => {
    await expectCode(
      verifyProof(await signJws(key, dpopHeader(key), claims()), opts({ accessToken: 'tok' })),
      'ath_missing',
    );
    const wrong = await signJws(key, dpopHeader(key), claims({ ath: await accessTokenHash('other') }));
    await expectCode(verifyProof(wrong, opts({ accessToken: 'tok' })), 'ath_mismatch');
    const right = await signJws(key, dpopHeader(key), claims({ ath: await accessTokenHash('tok') }));
    expect((await verifyProof(right, opts({ accessToken: 'tok' }))).claims.ath).toBeDefined();
  });

  describe('server nonces', () => {
    const nonces = new NonceManager({ secrets: ['0123456789abcdef0123456789abcdef'], stepSeconds: 60 });

    it('rejects a proof without nonce when the server requires one', async () => {
      const proof = await signJws(key, dpopHeader(key), claims());
      await expectCode(
        verifyProof(proof, opts({ nonce: { verifier: nonces, required: true } })),
        'nonce_required',
      );
      expect((await verifyProof(proof, opts({ nonce: { verifier: nonces, required: false } }))).jkt).toBe(
        key.jkt,
      );
    });

    it('accepts a current nonce and rejects a stale one and a foreign one', async () => {
      const fresh = await nonces.issue(NOW);
      const ok = await signJws(key, dpopHeader(key), claims({ nonce: fresh }));
      expect(
        (await verifyProof(ok, opts({ nonce: { verifier: nonces, required: true } }))).claims.nonce,
      ).toBe(fresh);
      const old = await nonces.issue(NOW - 600);
      await expectCode(
        verifyProof(
          await signJws(key, dpopHeader(key), claims({ nonce: old })),
          opts({ nonce: { verifier: nonces, required: true } }),
        ),
        'nonce_stale',
      );
      const foreign = await new NonceManager({ secrets: ['another-secret-another-secret-xx'] }).issue(NOW);
      await expectCode(
        verifyProof(
          await signJws(key, dpopHeader(key), claims({ nonce: foreign })),
          opts({ nonce: { verifier: nonces, required: true } }),
        ),
        'nonce_invalid',
      );
      await expectCode(
        verifyProof(
          await signJws(key, dpopHeader(key), claims({ nonce: 12 })),
          opts({ nonce: { verifier: nonces, required: true } }),
        ),
        'nonce_invalid',
      );
    });
  });

  describe('replay, checked last', () => {
    it('rejects the second use of a proof', async () => {
      const store = new MemoryReplayStore();
      const proof = await signJws(key, dpopHeader(key), claims({ jti: 'once' }));
      await verifyProof(proof, opts({ replayStore: store }));
      await expectCode(verifyProof(proof, opts({ replayStore: store })), 'replay');
    });

    it('does not record a proof that failed an earlier check, so it does not burn the jti', async () => {
      const store = new MemoryReplayStore();
      const proof = await signJws(key, dpopHeader(key), claims({ jti: 'late' }));
      await expectCode(verifyProof(proof, opts({ replayStore: store, htm: 'POST' })), 'htm_mismatch');
      const nonces = new NonceManager({ secrets: ['0123456789abcdef0123456789abcdef'] });
      await expectCode(
        verifyProof(proof, opts({ replayStore: store, nonce: { verifier: nonces, required: true } })),
        'nonce_required',
      );
      expect(store.size).toBe(0);
      expect((await verifyProof(proof, opts({ replayStore: store }))).claims.jti).toBe('late');
    });

    it('keys replay entries per key thumbprint and jti: the same jti from another key is not a replay', async () => {
      const store = new MemoryReplayStore();
      await verifyProof(
        await signJws(key, dpopHeader(key), claims({ jti: 'shared' })),
        opts({ replayStore: store }),
      );
      const r = await verifyProof(
        await signJws(other, dpopHeader(other), claims({ jti: 'shared' })),
        opts({ replayStore: store }),
      );
      expect(r.jkt).toBe(other.jkt);
    });

    it('keeps the entry for as long as the proof could still pass the iat check', async () => {
      const seen: number[] = [];
      const store = {
        setIfAbsent: async (_k: string, ttl: number) => {
          seen.push(ttl);
          return true;
        },
      };
      await verifyProof(
        await signJws(key, dpopHeader(key), claims({ iat: NOW - 10 })),
        opts({ replayStore: store, maxAgeSeconds: 60, clockSkewSeconds: 5 }),
      );
      expect(seen).toEqual([55_000]);
    });

    it('fails closed when the replay store throws', async () => {
      const broken = {
        setIfAbsent: async () => {
          throw new Error('ECONNREFUSED');
        },
      };
      const e = await expectCode(
        verifyProof(await signJws(key, dpopHeader(key), claims()), opts({ replayStore: broken })),
        'replay_store_unavailable',
      );
      expect((e.cause as Error).message).toBe('ECONNREFUSED');
    });

    it('fails closed when the in-memory store is full of live entries', async () => {
      const store = new MemoryReplayStore({ maxEntries: 2 });
      for (const jti of ['a', 'b'])
        await verifyProof(await signJws(key, dpopHeader(key), claims({ jti })), opts({ replayStore: store }));
      await expectCode(
        verifyProof(await signJws(key, dpopHeader(key), claims({ jti: 'c' })), opts({ replayStore: store })),
        'replay_store_full',
      );
    });
  });

  it('runs the checks in the documented order', () => {
    expect(PROOF_STEPS.map(([name]) => name)).toEqual([
      'parse',
      'header',
      'signature',
      'claims',
      'iat',
      'jti',
      'nonce',
      'ath',
      'replay',
    ]);
  });

  it('answers for a proof failing two checks with the earlier in the order htm, htu, iat, jti, nonce, ath, replay', async () => {
    const nonces = new NonceManager({ secrets: ['0123456789abcdef0123456789abcdef'] });
    const nonce = { verifier: nonces, required: true };
    const wrongAth = await accessTokenHash('other');
    const cases: ReadonlyArray<
      readonly [string, Record<string, unknown>, Partial<VerifyProofOptions>, string]
    > = [
      ['nonce before ath', { ath: wrongAth }, { accessToken: 'tok', nonce }, 'nonce_required'],
      ['nonce before a missing ath', {}, { accessToken: 'tok', nonce }, 'nonce_required'],
      ['iat before ath', { ath: wrongAth, iat: NOW - 3600 }, { accessToken: 'tok' }, 'iat_too_old'],
      ['iat before jti', { jti: undefined, iat: NOW - 3600 }, {}, 'iat_too_old'],
      ['iat before a too long jti', { jti: 'x'.repeat(300), iat: NOW + 3600 }, {}, 'iat_in_future'],
      ['jti before nonce', { jti: undefined }, { nonce }, 'jti_missing'],
      ['htu before iat', { htu: 'https://evil.example/', iat: NOW - 3600 }, {}, 'htu_mismatch'],
      ['htm before htu', { htm: 'POST', htu: 'https://evil.example/' }, {}, 'htm_mismatch'],
    ];
    for (const [name, extra, options, code] of cases) {
      const proof = await signJws(key, dpopHeader(key), claims(extra));
      const e = await verifyProof(proof, opts(options)).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e, name).toBeInstanceOf(KeyboundError);
      expect((e as KeyboundError).code, name).toBe(code);
    }
    // the client learns it needs a nonce (use_dpop_nonce) even when its ath is wrong too
    const proof = await signJws(key, dpopHeader(key), claims({ ath: wrongAth }));
    const e = await expectCode(verifyProof(proof, opts({ accessToken: 'tok', nonce })), 'nonce_required');
    expect(e.error).toBe('use_dpop_nonce');
  });

  it('never puts the proof or the access token in an error', async () => {
    const proof = await signJws(key, dpopHeader(key), claims({ htu: 'https://evil.example/x' }));
    const e = await expectCode(
      verifyProof(proof, opts({ accessToken: 'secret-token-value' })),
      'htu_mismatch',
    );
    const text = JSON.stringify(e) + e.message + String(e.stack);
    expect(text).not.toContain(proof.split('.')[2]);
    expect(text).not.toContain('secret-token-value');
  });
});

describe('algorithms', () => {
  for (const alg of ['ES256', 'ES384', 'ES512', 'EdDSA', 'RS256', 'PS256', 'PS384'] as const) {
    it(`creates and verifies an ${alg} proof with node:crypto and with WebCrypto`, async () => {
      const key = await generateDpopKey(alg);
      const proof = await createProof(key, { htm: 'POST', htu: HTU, iat: NOW, accessToken: 't' });
      const o = { htm: 'POST', htu: HTU, now: NOW, accessToken: 't', algorithms: [alg] };
      expect((await verifyProof(proof, o)).jkt).toBe(key.jkt);
      expect((await verifyProof(proof, { ...o, crypto: webCrypto })).jkt).toBe(key.jkt);
    });
  }

  it('verifies proofs made with WebCrypto keys on the node:crypto path', async () => {
    const key = await generateDpopKey('ES256', { crypto: webCrypto });
    const proof = await createProof(key, { htm: 'GET', htu: HTU, iat: NOW, crypto: webCrypto });
    expect((await verifyProof(proof, { htm: 'GET', htu: HTU, now: NOW })).jkt).toBe(key.jkt);
  });

  it('creates a strict RFC 3986 htu for a URL with characters outside RFC 3986, verifying at that URL', async () => {
    const key = await generateDpopKey();
    const url = 'https://rs.example.com/a|b é\\c^[0]%zz?q= x#f g';
    const proof = await createProof(key, { htm: 'GET', htu: url, iat: NOW });
    const verified = await verifyProof(proof, { htm: 'GET', htu: url, now: NOW });
    expect(verified.claims.htu).toBe('https://rs.example.com/a%7Cb%20%C3%A9%5Cc%5E%5B0%5D%25zz');
    await expectCode(
      verifyProof(proof, { htm: 'GET', htu: 'https://rs.example.com/a|b é/c^[0]%zz', now: NOW }),
      'htu_mismatch',
    );
  });

  it('strips query and fragment from htu when creating a proof', async () => {
    const key = await generateDpopKey();
    const proof = await createProof(key, { htm: 'GET', htu: `${HTU}?a=1#frag`, iat: NOW });
    expect((await verifyProof(proof, { htm: 'GET', htu: HTU, now: NOW })).claims.htu).toBe(HTU);
  });
});

describe('numeric options (a programming error, not a proof failure)', () => {
  let key: DpopKey;
  const claims = (extra: Record<string, unknown> = {}) => ({
    jti: 'n-1',
    htm: 'GET',
    htu: HTU,
    iat: NOW,
    ...extra,
  });
  const opts = (extra: Partial<VerifyProofOptions> = {}): VerifyProofOptions => ({
    htm: 'GET',
    htu: HTU,
    now: NOW,
    ...extra,
  });
  const refused = async (p: Promise<unknown>, option: string) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e, `${option} must be refused`).toBeInstanceOf(TypeError);
    expect((e as Error).message).toContain(option);
  };

  beforeAll(async () => {
    key = await generateDpopKey('ES256');
  });

  it('refuses a non-finite or negative maxAgeSeconds, clockSkewSeconds, maxJtiLength or maxProofLength with a TypeError naming it', async () => {
    const proof = await signJws(key, dpopHeader(key), claims());
    for (const option of ['maxAgeSeconds', 'clockSkewSeconds', 'maxJtiLength', 'maxProofLength'] as const) {
      for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, '60']) {
        await refused(verifyProof(proof, opts({ [option]: value as number })), option);
        // before anything else: even a request without a proof shows the misconfiguration
        await refused(verifyProof(undefined, opts({ [option]: value as number })), option);
      }
      expect((await verifyProof(proof, opts({ [option]: 20_000, clockSkewSeconds: 0 }))).jkt).toBe(key.jkt);
    }
  });

  it('refuses a non-finite now with a TypeError', async () => {
    const proof = await signJws(key, dpopHeader(key), claims());
    for (const now of [Number.NaN, Number.POSITIVE_INFINITY, '1700000000']) {
      await refused(verifyProof(proof, opts({ now: now as number })), 'now');
    }
  });

  it('does not let a NaN clock skew accept a year-old proof or its replay', async () => {
    const store = new MemoryReplayStore();
    const old = await signJws(key, dpopHeader(key), claims({ iat: NOW - 365 * 86400 }));
    for (let i = 0; i < 2; i++) {
      await refused(
        verifyProof(old, opts({ clockSkewSeconds: Number.NaN, replayStore: store })),
        'clockSkewSeconds',
      );
    }
    expect(store.size).toBe(0);
  });
});

describe('verifyProofPossession: current possession of the key, whatever request the proof names', () => {
  it('accepts a proof for another method and URL, and without the nonce, but checks signature, iat, ath and replay', async () => {
    const key = await generateDpopKey('ES256');
    const other = await generateDpopKey('ES256');
    const token = 'possession-token';
    const store = new MemoryReplayStore();
    const options = { accessToken: token, now: NOW, replayStore: store };
    const elsewhere = await createProof(key, {
      htm: 'POST',
      htu: 'https://elsewhere.example/x',
      accessToken: token,
      iat: NOW,
    });
    expect((await verifyProofPossession(elsewhere, options)).jkt).toBe(key.jkt);
    await expectCode(verifyProofPossession(elsewhere, options), 'replay');
    // the same proof fails verifyProof on its URL: the two differ only there
    await expectCode(
      verifyProof(elsewhere, { ...options, htm: 'GET', htu: HTU, replayStore: undefined }),
      'htm_mismatch',
    );
    const old = await createProof(key, { htm: 'GET', htu: HTU, accessToken: token, iat: NOW - 600 });
    await expectCode(verifyProofPossession(old, options), 'iat_too_old');
    const forOther = await createProof(key, { htm: 'GET', htu: HTU, accessToken: 'another-token', iat: NOW });
    await expectCode(verifyProofPossession(forOther, options), 'ath_mismatch');
    const [h, p] = (await createProof(key, { htm: 'GET', htu: HTU, accessToken: token, iat: NOW })).split(
      '.',
    );
    const forged = `${h}.${p}.${(await createProof(other, { htm: 'GET', htu: HTU, iat: NOW })).split('.')[2]}`;
    await expectCode(verifyProofPossession(forged, options), 'bad_signature');
    await expectCode(verifyProofPossession(undefined, options), 'proof_missing');
    await expectCode(verifyProofPossession([elsewhere, elsewhere], options), 'proof_multiple');
  });
});
