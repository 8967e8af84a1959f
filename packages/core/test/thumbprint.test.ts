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
