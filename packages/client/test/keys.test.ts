import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateDpopKey,
  generateKeyFile,
  isKeyboundError,
  keyFromFile,
  keyFromJwk,
  keyFromKeyObject,
  loadOrCreateBrowserKey,
  memoryKeyStore,
  openIndexedDbKeyStore,
} from '@keybound/client/node';
import { createProof, exportPrivateJwk, verifyProof } from '@keybound/core';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'keybound-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: string): string {
  const path = join(dir, `k${n++}`);
  writeFileSync(path, content);
  return path;
}

async function proofVerifies(key: Awaited<ReturnType<typeof generateDpopKey>>): Promise<string> {
  const proof = await createProof(key, { htm: 'GET', htu: 'https://api.example/x' });
  return (await verifyProof(proof, { htm: 'GET', htu: 'https://api.example/x' })).jkt;
}

describe('keys on Node', () => {
  it('generates ES256 by default and EdDSA on request, non-extractable', async () => {
    const es = await generateDpopKey();
    const ed = await generateDpopKey('EdDSA');
    expect([es.alg, es.publicJwk.crv, ed.alg, ed.publicJwk.crv]).toEqual([
      'ES256',
      'P-256',
      'EdDSA',
      'Ed25519',
    ]);
    await expect(exportPrivateJwk(es)).rejects.toThrow(/non-extractable/);
    expect(await proofVerifies(ed)).toBe(ed.jkt);
  });

  it.each([
    [
      'PKCS#8 P-256',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({
          type: 'pkcs8',
          format: 'pem',
        }),
      'ES256',
    ],
    [
      'SEC1 P-384',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({
          type: 'sec1',
          format: 'pem',
        }),
      'ES384',
    ],
    [
      'PKCS#8 Ed25519',
      () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }),
      'EdDSA',
    ],
    [
      'PKCS#1 RSA',
      () =>
        generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
          type: 'pkcs1',
          format: 'pem',
        }),
      'PS256',
    ],
  ])('reads a %s PEM file and signs proofs that verify', async (_name, pem, alg) => {
    const key = await keyFromFile(file(String(pem())));
    expect(key.alg).toBe(alg);
    expect(await proofVerifies(key)).toBe(key.jkt);
  });

  it('reads an openssl-generated SEC1 EC key', async () => {
    const path = join(dir, 'openssl.pem');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path]);
    expect((await keyFromFile(path)).alg).toBe('ES256');
  });

  it('reads a JSON JWK file and a JWK object with the same thumbprint', async () => {
    const source = await generateDpopKey('ES256', { extractable: true });
    const jwk = await exportPrivateJwk(source);
    expect((await keyFromFile(file(JSON.stringify(jwk)))).jkt).toBe(source.jkt);
    expect((await keyFromJwk(jwk)).jkt).toBe(source.jkt);
  });

  it('reads the file `keybound keys generate` writes ({ privateJwk, publicJwk, jkt })', async () => {
    const source = await generateDpopKey('ES256', { extractable: true });
    const privateJwk = await exportPrivateJwk(source);
    const text = JSON.stringify({ privateJwk, publicJwk: source.publicJwk, jkt: source.jkt });
    expect((await keyFromFile(file(text))).jkt).toBe(source.jkt);
  });

  it('reads an encrypted PKCS#8 PEM with its passphrase and refuses a wrong one', async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'correct horse',
    });
    const path = file(String(pem));
    expect((await keyFromFile(path, { passphrase: 'correct horse' })).alg).toBe('ES256');
    await expect(keyFromFile(path, { passphrase: 'wrong' })).rejects.toMatchObject({ code: 'jwk_invalid' });
  });

  it.each([
    ['garbage', 'not a key at all'],
    [
      'a public key',
      String(
        generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
          type: 'spki',
          format: 'pem',
        }),
      ),
    ],
    ['broken JSON', '{"kty":"EC",'],
    [
      'a public JWK',
      JSON.stringify({
        kty: 'EC',
        crv: 'P-256',
        x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs',
        y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
      }),
    ],
  ])('refuses a key file holding %s with a typed error', async (_name, content) => {
    const error = await keyFromFile(file(content)).catch((e: unknown) => e);
    expect(isKeyboundError(error)).toBe(true);
  });

  it('refuses a key type that cannot sign DPoP proofs (X25519, secp256k1)', async () => {
    await expect(keyFromKeyObject(generateKeyPairSync('x25519').privateKey)).rejects.toMatchObject({
      code: 'jwk_invalid',
    });
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
    const error = await keyFromKeyObject(k1).catch((e: unknown) => e);
    expect(isKeyboundError(error)).toBe(true);
  });

  it('builds a key from a KeyObject and refuses a public KeyObject or a mismatched alg', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    expect((await keyFromKeyObject(privateKey)).alg).toBe('EdDSA');
    await expect(keyFromKeyObject(publicKey)).rejects.toMatchObject({ code: 'jwk_invalid' });
    await expect(keyFromKeyObject(privateKey, 'ES256')).rejects.toSatisfy(isKeyboundError);
  });

  it('writes a new key file readable only by its owner, and never overwrites one', async () => {
    const path = join(dir, 'new-key.pem');
    const key = await generateKeyFile(path, 'EdDSA');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await keyFromFile(path)).jkt).toBe(key.jkt);
    await expect(generateKeyFile(path)).rejects.toMatchObject({ code: 'EEXIST' });
  });
});

describe('key storage outside a browser', () => {
  it('reports the lack of IndexedDB as key_storage_unavailable', async () => {
    expect((globalThis as { indexedDB?: unknown }).indexedDB).toBeUndefined();
    await expect(openIndexedDbKeyStore()).rejects.toMatchObject({ code: 'key_storage_unavailable' });
    await expect(loadOrCreateBrowserKey()).rejects.toMatchObject({ code: 'key_storage_unavailable' });
  });

  it('uses an in-memory, non-extractable key only when that fallback is chosen', async () => {
    const result = await loadOrCreateBrowserKey({ fallback: 'memory', alg: 'EdDSA' });
    expect(result).toMatchObject({ persisted: false, created: true });
    expect(result.storageError?.code).toBe('key_storage_unavailable');
    expect(result.key.alg).toBe('EdDSA');
    await expect(exportPrivateJwk(result.key)).rejects.toThrow(/non-extractable/);
  });

  it('keeps keys by id in the memory store', async () => {
    const store = memoryKeyStore();
    const a = await generateDpopKey();
    await store.save(a, 'a');
    expect((await store.load('a'))?.jkt).toBe(a.jkt);
    expect(await store.load('b')).toBeUndefined();
    await store.delete('a');
    expect(await store.load('a')).toBeUndefined();
  });
});
