import { describe, expect, it } from 'vitest';
import { KeyboundError, MemoryReplayStore, replayKey } from './helpers.js';

describe('in-memory replay store', () => {
  it('records a key once and reports the second use', async () => {
    const s = new MemoryReplayStore();
    expect(await s.setIfAbsent('k', 1000)).toBe(true);
    expect(await s.setIfAbsent('k', 1000)).toBe(false);
  });

  it('forgets a key after its TTL', async () => {
    let now = 0;
    const s = new MemoryReplayStore({ now: () => now });
    await s.setIfAbsent('k', 1000);
    now = 999;
    expect(await s.setIfAbsent('k', 1000)).toBe(false);
    now = 1000;
    expect(await s.setIfAbsent('k', 1000)).toBe(true);
  });

  it('makes room by dropping expired entries, and refuses (fails closed) when every entry is live', async () => {
    let now = 0;
    const s = new MemoryReplayStore({ maxEntries: 3, now: () => now });
    for (const k of ['a', 'b', 'c']) await s.setIfAbsent(k, 1000);
    await expect(s.setIfAbsent('d', 1000)).rejects.toMatchObject({ code: 'replay_store_full' });
    now = 2000;
    expect(await s.setIfAbsent('d', 1000)).toBe(true);
    expect(s.size).toBe(1);
    // a refused key was not recorded, and live keys were not dropped to make room
    now = 2500;
    for (const k of ['e', 'f']) await s.setIfAbsent(k, 1000);
    await expect(s.setIfAbsent('g', 1000)).rejects.toBeInstanceOf(KeyboundError);
    expect(await s.setIfAbsent('d', 1000)).toBe(false);
  });

  it('refuses a non-finite TTL with a TypeError and records nothing (a NaN expiry would let every replay pass)', async () => {
    const s = new MemoryReplayStore();
    for (const ttl of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '1000']) {
      await expect(s.setIfAbsent('k', ttl as number)).rejects.toThrow(TypeError);
      await expect(s.setIfAbsent('k', ttl as number)).rejects.toThrow(/ttl/i);
    }
    expect(s.size).toBe(0);
    expect(await s.setIfAbsent('k', 1000)).toBe(true);
    expect(await s.setIfAbsent('k', 1000)).toBe(false);
  });

  it('keys entries by thumbprint and jti', () => {
    expect(replayKey('jkt', 'jti')).not.toBe(replayKey('jk', 'tjti'));
  });
});
