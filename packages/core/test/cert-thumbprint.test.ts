import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type TestPki } from './cert-fixtures.js';
import {
  certificateThumbprint,
  isKeyboundError,
  nodeCryptoForTests,
  pemToDer,
  webCrypto,
} from './helpers.js';
import { vectors } from './vectors.js';

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());

describe('RFC 8705 §3.1 certificate thumbprint (x5t#S256)', () => {
  for (const provider of [nodeCryptoForTests, webCrypto]) {
    it(`computes the thumbprint of the RFC 9440 example leaf (${provider.name})`, async () => {
      expect(await certificateThumbprint(vectors.rfc9440.leaf_pem, provider)).toBe(
        vectors.rfc9440.leaf_x5t_s256,
      );
    });

    it(`matches openssl x509 -outform der | openssl dgst -sha256 for RSA and EC certificates (${provider.name})`, async () => {
      for (const c of [pki.rsaLeaf, pki.ecLeaf, pki.intermediate]) {
        expect(await certificateThumbprint(c.der, provider), `${c.name} DER`).toBe(c.opensslThumbprint);
        expect(await certificateThumbprint(c.pem, provider), `${c.name} PEM`).toBe(c.opensslThumbprint);
      }
    });
  }

  it('uses the default crypto provider when none is given', async () => {
    expect(await certificateThumbprint(pki.ecLeaf.der)).toBe(pki.ecLeaf.opensslThumbprint);
  });

  it('is 43 base64url characters with no padding', async () => {
    expect(await certificateThumbprint(pki.rsaLeaf.pem)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('gives different certificates different thumbprints', async () => {
    expect(await certificateThumbprint(pki.rsaLeaf.der)).not.toBe(
      await certificateThumbprint(pki.ecLeaf.der),
    );
  });

  it('hashes exactly the DER bytes: a copy in a larger buffer gives the same thumbprint', async () => {
    const backing = new Uint8Array(pki.ecLeaf.der.length + 10);
    backing.set(pki.ecLeaf.der, 5);
    const view = backing.subarray(5, 5 + pki.ecLeaf.der.length);
    expect(await certificateThumbprint(view)).toBe(pki.ecLeaf.opensslThumbprint);
  });

  it('agrees with pemToDer: PEM in, same thumbprint as its DER', async () => {
    const pem = vectors.rfc9440.intermediate_pem;
    expect(await certificateThumbprint(pem)).toBe(await certificateThumbprint(pemToDer(pem)));
  });

  const bad: [string, unknown][] = [
    ['DER bytes that are not a certificate', new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])],
    ['a PEM string holding two certificates', `${vectors.rfc9440.leaf_pem}\n${vectors.rfc9440.root_pem}`],
    ['a string that is not PEM', 'MIIBqDCCAU6gAwIBAgIBBzAKBggqhkjOPQQDAjA6'],
    ['a number', 42],
    ['null', null],
    ['an ArrayBuffer instead of a Uint8Array', new ArrayBuffer(8)],
  ];
  for (const [name, input] of bad) {
    it(`rejects ${name} with cert_malformed`, async () => {
      const error = await certificateThumbprint(input as string).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isKeyboundError(error, 'cert_malformed')).toBe(true);
    });
  }
});
