import { describe, expect, it } from 'vitest';
import { createProof, generateDpopKey, KeyCache, LruCache, verifyProof, webCrypto } from './helpers.js';

const HTU = 'https://rs.example.com/r';
const NOW = 1_700_000_000;

describe('bounded cache with second-chance eviction', () => {
  it('never holds more than its bound', () => {
    const c = new LruCache<number, number>(3);
    for (let i = 0; i < 100; i++) c.set(i, i);
    expect(c.size).toBe(3);
    expect(c.get(99)).toBe(99);
    expect(c.get(0)).toBeUndefined();
  });

  it('keeps an entry that was used since it was inserted and drops one that was not', () => {
    const c = new LruCache<string, number>(2);
    c.set('hot', 1);
    c.set('cold', 2);
    expect(c.get('hot')).toBe(1);
    c.set('new', 3);
    expect(c.get('hot')).toBe(1);
    expect(c.get('cold')).toBeUndefined();
    expect(c.get('new')).toBe(3);
  });

  it('updates the value of an existing key in place', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('a', 2);
    expect(c.size).toBe(1);
    expect(c.get('a')).toBe(2);
  });
});

describe('validated header cache', () => {
  it('still applies the per-call algorithm allow-list to a header it has seen', async () => {
    const cache = new KeyCache();
    const key = await generateDpopKey('ES256');
    const p1 = await createProof(key, { htm: 'GET', htu: HTU, iat: NOW });
    const p2 = await createProof(key, { htm: 'GET', htu: HTU, iat: NOW });
    await verifyProof(p1, { htm: 'GET', htu: HTU, now: NOW, keyCache: cache });
    await expect(
      verifyProof(p2, { htm: 'GET', htu: HTU, now: NOW, keyCache: cache, algorithms: ['EdDSA'] }),
    ).rejects.toMatchObject({ code: 'alg_not_allowed' });
  });

  it('still verifies the signature of every proof that reuses a cached header', async () => {
    const cache = new KeyCache();
    const key = await generateDpopKey('ES256');
    const good = await createProof(key, { htm: 'GET', htu: HTU, iat: NOW });
    await verifyProof(good, { htm: 'GET', htu: HTU, now: NOW, keyCache: cache });
    const forged = await createProof(key, { htm: 'POST', htu: HTU, iat: NOW });
    const [h, p] = forged.split('.');
    const [, , s] = good.split('.');
    await expect(
      verifyProof(`${h}.${p}.${s}`, { htm: 'POST', htu: HTU, now: NOW, keyCache: cache }),
    ).rejects.toMatchObject({
      code: 'bad_signature',
    });
  });

  it('keeps keys imported by different crypto providers apart', async () => {
    const cache = new KeyCache();
    const key = await generateDpopKey('ES256');
    for (const crypto of [undefined, webCrypto, undefined]) {
      const proof = await createProof(key, { htm: 'GET', htu: HTU, iat: NOW });
      const r = await verifyProof(proof, { htm: 'GET', htu: HTU, now: NOW, keyCache: cache, crypto });
      expect(r.jkt).toBe(key.jkt);
    }
  });

  it('returns a frozen header so one caller cannot change what the next one sees', async () => {
    const key = await generateDpopKey('ES256');
    const cache = new KeyCache();
    const r1 = await verifyProof(await createProof(key, { htm: 'GET', htu: HTU, iat: NOW }), {
      htm: 'GET',
      htu: HTU,
      now: NOW,
      keyCache: cache,
    });
    expect(Object.isFrozen(r1.header)).toBe(true);
    expect(() => {
      (r1.header as Record<string, unknown>).alg = 'none';
    }).toThrow(TypeError);
  });
});
