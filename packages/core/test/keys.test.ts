import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  exportPrivateJwk,
  generateDpopKey,
  getDefaultCrypto,
  importDpopKey,
  jwkThumbprint,
  KeyboundError,
  webCrypto,
} from './helpers.js';

describe('DPoP keys', () => {
  it('uses node:crypto by default on Node', () => {
    expect(getDefaultCrypto().name).toBe('node');
  });

  for (const crypto of [undefined, webCrypto]) {
    const name = crypto?.name ?? 'node';
    it(`generates non-extractable keys unless asked otherwise (${name})`, async () => {
      const key = await generateDpopKey('ES256', { crypto });
      await expect(exportPrivateJwk(key, crypto)).rejects.toThrow(/non-extractable/);
      const extractable = await generateDpopKey('ES256', { crypto, extractable: true });
      const jwk = await exportPrivateJwk(extractable, crypto);
      expect(jwk.d).toBeTypeOf('string');
      expect(await jwkThumbprint(jwk)).toBe(extractable.jkt);
    });

    it(`imports a private JWK and derives the same thumbprint (${name})`, async () => {
      const original = await generateDpopKey('EdDSA', { crypto, extractable: true });
      const jwk = await exportPrivateJwk(original, crypto);
      const imported = await importDpopKey(jwk, undefined, { crypto });
      expect(imported.alg).toBe('EdDSA');
      expect(imported.jkt).toBe(original.jkt);
    });
  }

  it('refuses a public JWK, an unknown algorithm and a key that does not fit the algorithm', async () => {
    const key = await generateDpopKey('ES256', { extractable: true });
    const jwk = await exportPrivateJwk(key);
    await expect(importDpopKey(key.publicJwk as never)).rejects.toMatchObject({ code: 'jwk_invalid' });
    await expect(importDpopKey(jwk, 'HS256' as never)).rejects.toMatchObject({ code: 'alg_not_allowed' });
    await expect(importDpopKey(jwk, 'ES384')).rejects.toBeInstanceOf(KeyboundError);
  });
});

describe('portability of the core', () => {
  it('has no node: imports outside the node crypto provider', () => {
    const root = join(import.meta.dirname, '../src');
    const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    const allowed = new Set(['lib/crypto-node.ts', 'node.ts']);
    const offenders = files.filter(
      (f) =>
        !allowed.has(f.replaceAll('\\', '/')) &&
        /from ['"]node:|require\(['"]node:/.test(readFileSync(join(root, f), 'utf8')),
    );
    expect(offenders).toEqual([]);
    expect(files.length).toBeGreaterThan(10);
  });
});
