import { describe, expect, it } from 'vitest';
import { jwkThumbprint, nodeCryptoForTests, webCrypto } from './helpers.js';
import { vectors } from './vectors.js';

describe('RFC 7638 JWK thumbprint', () => {
  for (const provider of [nodeCryptoForTests, webCrypto]) {
    it(`computes the RFC 7638 §3.1 example thumbprint (${provider.name})`, async () => {
      expect(await jwkThumbprint(vectors.rfc7638.jwk, provider)).toBe(vectors.rfc7638.thumbprint);
    });
    it(`computes the RFC 9449 example key thumbprint (${provider.name})`, async () => {
      expect(await jwkThumbprint(vectors.rfc9449.jwk, provider)).toBe(vectors.rfc9449.jkt);
    });
  }
});

describe('thumbprints of every supported key type agree with jose', () => {
  for (const alg of ['ES256', 'ES384', 'ES512', 'EdDSA', 'RS256'] as const) {
    it(`matches jose calculateJwkThumbprint for a generated ${alg} key`, async () => {
      const { calculateJwkThumbprint } = await import('jose');
      const { generateDpopKey } = await import('./helpers.js');
      const key = await generateDpopKey(alg);
      expect(await jwkThumbprint(key.publicJwk)).toBe(await calculateJwkThumbprint(key.publicJwk));
      expect(key.jkt).toBe(await calculateJwkThumbprint(key.publicJwk));
    });
  }

  it('ignores private and optional members (RFC 7638 §3.2)', async () => {
    const withExtras = { ...vectors.rfc9449.jwk, kid: 'x', use: 'sig', alg: 'ES256' };
    expect(await jwkThumbprint(withExtras)).toBe(vectors.rfc9449.jkt);
  });
});
