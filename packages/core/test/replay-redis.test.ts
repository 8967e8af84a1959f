// The Redis replay store against the real Redis at 127.0.0.1:6379, through both client libraries
// (ioredis and node-redis), alone and behind verifyProof.
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { createClient, RESP_TYPES } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, serviceAvailable, uniquePrefix } from '../../../test/support/services.js';
import {
  createProof,
  type DpopKey,
  generateDpopKey,
  KeyboundError,
  RedisReplayStore,
  type ReplayStore,
  replayKey,
  verifyProof,
} from './helpers.js';
import { expectCode } from './keybound-error-code.js';
import { vectors } from './vectors.js';

const available = await serviceAvailable('redis');

const PREFIX = uniquePrefix('replay-redis');
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const NOW = 1_700_000_000;
const HTU = 'https://rs.example.com/resource';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hashed = (key: string) => `~${createHash('sha256').update(key, 'utf8').digest('base64url')}`;

type NodeRedis = ReturnType<typeof createClient>;

describe.skipIf(!available)('RedisReplayStore against the real Redis', () => {
  /** Plain connection used to inspect what the stores wrote. */
  let admin: Redis;
  const ioClients: Redis[] = [];
  const nodeClients: NodeRedis[] = [];

  const newIoredis = (options: RedisOptions = {}) => {
    const c = new Redis(REDIS_URL, { enableAutoPipelining: true, ...options });
    ioClients.push(c);
    return c;
  };
  const newNodeRedis = async (options: Parameters<typeof createClient>[0] = {}) => {
    const c = createClient({ url: REDIS_URL, ...options });
    c.on('error', () => {});
    nodeClients.push(c);
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    admin = newIoredis({ enableAutoPipelining: false });
    await admin.ping();
  });

  afterAll(async () => {
    if (admin !== undefined) {
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await admin.del(...keys);
      } while (cursor !== '0');
      expect(await admin.keys(`${PREFIX}*`)).toEqual([]);
    }
    await Promise.all(ioClients.map((c) => c.quit().catch(() => c.disconnect())));
    await Promise.all(nodeClients.map((c) => c.close().catch(() => c.destroy())));
  });

  const libraries = [
    { name: 'ioredis', make: async () => newIoredis() },
    {
      name: 'ioredis without auto-pipelining',
      make: async () => newIoredis({ enableAutoPipelining: false }),
    },
    { name: 'node-redis', make: async () => newNodeRedis() },
    { name: 'node-redis (RESP3)', make: async () => newNodeRedis({ RESP: 3 }) },
  ] as const;

  describe.each(libraries)('with $name', ({ name, make }) => {
    let store: RedisReplayStore;
    const prefix = `${PREFIX}${name.replace(/\W+/g, '-')}:`;

    beforeAll(async () => {
      store = new RedisReplayStore({ client: await make(), prefix });
    });

    it('records a key on first use and reports its second use as a replay', async () => {
      const key = replayKey(JKT, 'first-then-second');
      expect(await store.setIfAbsent(key, 60_000)).toBe(true);
      expect(await store.setIfAbsent(key, 60_000)).toBe(false);
      expect(await store.setIfAbsent(key, 60_000)).toBe(false);
      expect(await store.setIfAbsent(replayKey(JKT, 'another-jti'), 60_000)).toBe(true);
    });

    it('stores the key as <prefix><key> with the requested TTL', async () => {
      const key = replayKey(JKT, 'ttl-is-set');
      expect(await store.setIfAbsent(key, 45_000)).toBe(true);
      expect(await admin.get(`${prefix}${key}`)).toBe('1');
      const pttl = await admin.pttl(`${prefix}${key}`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(45_000);
    });

    it('forgets a key when its TTL has passed, so it can be recorded again', async () => {
      const key = replayKey(JKT, 'expires');
      expect(await store.setIfAbsent(key, 150)).toBe(true);
      expect(await store.setIfAbsent(key, 150)).toBe(false);
      await sleep(400);
      expect(await admin.exists(`${prefix}${key}`)).toBe(0);
      expect(await store.setIfAbsent(key, 150)).toBe(true);
    });

    it('rounds a fractional TTL up to whole milliseconds and never sends a TTL below 1 ms', async () => {
      const key = replayKey(JKT, 'fractional-ttl');
      expect(await store.setIfAbsent(key, 30_000.2)).toBe(true);
      expect(await admin.pttl(`${prefix}${key}`)).toBeLessThanOrEqual(30_001);
      // 0 and negative TTLs become 1 ms (the memory store does the same): recorded, then gone
      const tiny = replayKey(JKT, 'zero-ttl');
      expect(await store.setIfAbsent(tiny, 0)).toBe(true);
      await sleep(50);
      expect(await store.setIfAbsent(tiny, -5)).toBe(true);
    });

    it('stores a key longer than 128 characters under a SHA-256 of the key', async () => {
      const key = replayKey(JKT, 'j'.repeat(256));
      expect(await store.setIfAbsent(key, 60_000)).toBe(true);
      expect(await admin.exists(`${prefix}${hashed(key)}`)).toBe(1);
      expect(await admin.exists(`${prefix}${key}`)).toBe(0);
      expect(await store.setIfAbsent(key, 60_000)).toBe(false);
    });

    it('keeps long keys apart that differ only after the 128th character', async () => {
      const a = replayKey(JKT, `${'x'.repeat(200)}a`);
      const b = replayKey(JKT, `${'x'.repeat(200)}b`);
      expect(await store.setIfAbsent(a, 60_000)).toBe(true);
      expect(await store.setIfAbsent(b, 60_000)).toBe(true);
      expect(await store.setIfAbsent(a, 60_000)).toBe(false);
    });

    it('hashes a key with a Cluster hash tag, so a jti cannot choose the slot', async () => {
      const key = replayKey(JKT, '{same-slot}-1');
      expect(await store.setIfAbsent(key, 60_000)).toBe(true);
      expect(await admin.exists(`${prefix}${hashed(key)}`)).toBe(1);
      expect(await store.setIfAbsent(key, 60_000)).toBe(false);
      expect(await store.setIfAbsent(replayKey(JKT, 'closing}-brace'), 60_000)).toBe(true);
      expect(await admin.exists(`${prefix}${hashed(replayKey(JKT, 'closing}-brace'))}`)).toBe(1);
    });

    it('hashes keys with spaces, control or non-ASCII characters and tells them apart', async () => {
      const keys = ['jti with space', 'jti-é', 'jti-\u00e9\u0301', 'jti\n', 'jti-🔑'].map((j) =>
        replayKey(JKT, j),
      );
      for (const key of keys) {
        expect(await store.setIfAbsent(key, 60_000)).toBe(true);
        expect(await admin.exists(`${prefix}${hashed(key)}`)).toBe(1);
      }
      for (const key of keys) expect(await store.setIfAbsent(key, 60_000)).toBe(false);
    });

    it('never confuses a raw key with a hashed one: a key starting with ~ is hashed too', async () => {
      const long = replayKey(JKT, 'z'.repeat(300));
      expect(await store.setIfAbsent(long, 60_000)).toBe(true);
      // a caller-chosen key that spells the stored name of the long key is a different entry
      const lookalike = hashed(long);
      expect(lookalike.startsWith('~')).toBe(true);
      expect(await store.setIfAbsent(lookalike, 60_000)).toBe(true);
      expect(await admin.exists(`${prefix}${hashed(lookalike)}`)).toBe(1);
    });

    it('keeps a 128-character key as it is and hashes a 129-character one', async () => {
      const at = `${JKT}:${'m'.repeat(128 - JKT.length - 1)}`;
      const over = `${at}m`;
      expect(at).toHaveLength(128);
      expect(await store.setIfAbsent(at, 60_000)).toBe(true);
      expect(await store.setIfAbsent(over, 60_000)).toBe(true);
      expect(await admin.exists(`${prefix}${at}`)).toBe(1);
      expect(await admin.exists(`${prefix}${hashed(over)}`)).toBe(1);
    });

    it('rejects a key that is not a string and a TTL that is not a finite number', async () => {
      await expect(store.setIfAbsent(42 as unknown as string, 1000)).rejects.toThrow(TypeError);
      await expect(store.setIfAbsent('k', Number.NaN)).rejects.toThrow(RangeError);
      await expect(store.setIfAbsent('k', Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
      await expect(store.setIfAbsent('k', '1000' as unknown as number)).rejects.toThrow(RangeError);
      expect(await admin.exists(`${prefix}k`)).toBe(0);
    });

    it('answers many concurrent calls for distinct keys with true and for one key with a single true', async () => {
      const distinct = await Promise.all(
        Array.from({ length: 500 }, (_, i) => store.setIfAbsent(replayKey(JKT, `distinct-${i}`), 60_000)),
      );
      expect(distinct.every((r) => r === true)).toBe(true);
      const same = await Promise.all(
        Array.from({ length: 100 }, () => store.setIfAbsent(replayKey(JKT, 'same-key'), 60_000)),
      );
      expect(same.filter((r) => r === true)).toHaveLength(1);
    });
  });

  describe('client recognition and options', () => {
    it('recognises an ioredis client and a node-redis client by their shape', async () => {
      expect(new RedisReplayStore({ client: newIoredis() }).clientKind).toBe('ioredis');
      expect(new RedisReplayStore({ client: await newNodeRedis() }).clientKind).toBe('node-redis');
    });

    it('refuses an object that is not a supported Redis client with a TypeError', () => {
      const bad = [
        null,
        undefined,
        42,
        {},
        { set: async () => 'OK' },
        { sendCommand: async () => 'OK' },
        { call: async () => 'OK' },
      ];
      for (const client of bad) {
        expect(() => new RedisReplayStore({ client: client as never })).toThrow(TypeError);
      }
    });

    it('refuses a timeout that is not a positive finite number and a prefix that is not a string', () => {
      const client = newIoredis({ lazyConnect: true });
      for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '500' as unknown as number]) {
        expect(() => new RedisReplayStore({ client, timeoutMs })).toThrow(RangeError);
      }
      expect(() => new RedisReplayStore({ client, prefix: 1 as unknown as string })).toThrow(TypeError);
    });

    it("uses 'keybound:replay:' as the default prefix", async () => {
      const store = new RedisReplayStore({ client: newIoredis() });
      const key = `${PREFIX}default-prefix`;
      expect(await store.setIfAbsent(key, 10_000)).toBe(true);
      expect(await admin.exists(`keybound:replay:${key}`)).toBe(1);
      await admin.del(`keybound:replay:${key}`);
    });

    it('sees entries written through the other client library (one shared keyspace)', async () => {
      const prefix = `${PREFIX}cross:`;
      const io = new RedisReplayStore({ client: newIoredis(), prefix });
      const nr = new RedisReplayStore({ client: await newNodeRedis(), prefix });
      const long = replayKey(JKT, 'l'.repeat(250));
      expect(await io.setIfAbsent(replayKey(JKT, 'cross-1'), 60_000)).toBe(true);
      expect(await nr.setIfAbsent(replayKey(JKT, 'cross-1'), 60_000)).toBe(false);
      expect(await nr.setIfAbsent(long, 60_000)).toBe(true);
      expect(await io.setIfAbsent(long, 60_000)).toBe(false);
    });

    it("applies each client's keyPrefix, so ioredis and node-redis with the same keyPrefix write the same key", async () => {
      const keyPrefix = `${PREFIX}kp:`;
      const io = new RedisReplayStore({ client: newIoredis({ keyPrefix }), prefix: 'r:' });
      const nr = new RedisReplayStore({ client: await newNodeRedis({ keyPrefix }), prefix: 'r:' });
      const key = replayKey(JKT, 'key-prefix');
      expect(await nr.setIfAbsent(key, 60_000)).toBe(true);
      expect(await admin.exists(`${keyPrefix}r:${key}`)).toBe(1);
      expect(await io.setIfAbsent(key, 60_000)).toBe(false);
    });

    it('understands OK when a node-redis type mapping turns simple strings into Buffers', async () => {
      const client = (await newNodeRedis({ RESP: 3 })).withTypeMapping({
        [RESP_TYPES.SIMPLE_STRING]: Buffer,
        [RESP_TYPES.BLOB_STRING]: Buffer,
      });
      const store = new RedisReplayStore({ client, prefix: `${PREFIX}buffers:` });
      expect(store.clientKind).toBe('node-redis');
      expect(await store.setIfAbsent('typed', 60_000)).toBe(true);
      expect(await store.setIfAbsent('typed', 60_000)).toBe(false);
    });

    it('leaves no timer behind when Redis answers', async () => {
      const store = new RedisReplayStore({
        client: newIoredis(),
        prefix: `${PREFIX}timers:`,
        timeoutMs: 60_000,
      });
      await store.setIfAbsent('warm-up', 60_000);
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const before = timers();
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.setIfAbsent(`t-${i}`, 60_000)));
      expect(timers()).toBeLessThanOrEqual(before);
    });
  });

  describe('behind verifyProof', () => {
    let keys: DpopKey[];
    const verifiers: ReplayStore[] = [];
    const prefix = `${PREFIX}verify:`;

    beforeAll(async () => {
      keys = await Promise.all([
        generateDpopKey('ES256'),
        generateDpopKey('EdDSA'),
        generateDpopKey('ES256'),
      ]);
      // four instances, each with its own connection: two on ioredis, two on node-redis
      verifiers.push(
        new RedisReplayStore({ client: newIoredis(), prefix }),
        new RedisReplayStore({ client: await newNodeRedis(), prefix }),
        new RedisReplayStore({ client: newIoredis(), prefix }),
        new RedisReplayStore({ client: await newNodeRedis({ RESP: 3 }), prefix }),
      );
    });

    it('rejects a proof replayed on a second instance (RFC 9449 §11.1, Figure 2 proof, fixed clock)', async () => {
      const f = vectors.rfc9449.proof_token_request_fig2;
      const options = { htm: f.htm, htu: f.htu, now: f.iat };
      const first = await verifyProof(f.proof, { ...options, replayStore: verifiers[0] });
      expect(first.claims.jti).toBe(f.jti);
      await expectCode(verifyProof(f.proof, { ...options, replayStore: verifiers[1] }), 'replay');
      await expectCode(verifyProof(f.proof, { ...options, replayStore: verifiers[0] }), 'replay');
      expect(await admin.exists(`${prefix}${replayKey(vectors.rfc9449.jkt, f.jti)}`)).toBe(1);
    });

    it('lets exactly one of 2 to 4 concurrent verifiers accept each of 200 proofs; the others get replay', async () => {
      const proofs = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          createProof(keys[i % keys.length]!, { htm: 'GET', htu: HTU, iat: NOW - (i % 30) }),
        ),
      );
      const races = proofs.map((proof, i) => {
        const count = 2 + (i % 3);
        const contenders = Array.from({ length: count }, (_, k) => verifiers[(i + k) % verifiers.length]!);
        return Promise.allSettled(
          contenders.map((replayStore) =>
            verifyProof(proof, { htm: 'GET', htu: HTU, now: NOW, replayStore }),
          ),
        );
      });
      const results = await Promise.all(races);
      let losers = 0;
      for (const settled of results) {
        expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of settled) {
          if (r.status === 'rejected') {
            losers++;
            expect(r.reason).toBeInstanceOf(KeyboundError);
            expect((r.reason as KeyboundError).code).toBe('replay');
          }
        }
      }
      // 2, 3, 4 contenders in turn: 67 + 67 + 66 races lose 1, 2, 3 each
      expect(losers).toBe(67 * 1 + 67 * 2 + 66 * 3);
    });

    it('gives the replay entry a TTL covering the rest of the iat window plus skew', async () => {
      const proof = await createProof(keys[0]!, { htm: 'GET', htu: HTU, iat: NOW - 20, jti: 'ttl-window' });
      const r = await verifyProof(proof, { htm: 'GET', htu: HTU, now: NOW, replayStore: verifiers[0] });
      const pttl = await admin.pttl(`${prefix}${replayKey(r.jkt, 'ttl-window')}`);
      // iat + 60 s max age + 5 s skew - now = 45 s
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(45_000);
    });

    it('writes no replay entry for a proof that fails an earlier check, so the proof is not used up', async () => {
      const proof = await createProof(keys[1]!, { htm: 'GET', htu: HTU, iat: NOW, jti: 'not-used-up' });
      await expectCode(
        verifyProof(proof, {
          htm: 'GET',
          htu: 'https://rs.example.com/other',
          now: NOW,
          replayStore: verifiers[1],
        }),
        'htu_mismatch',
      );
      await expectCode(
        verifyProof(proof, { htm: 'GET', htu: HTU, now: NOW + 600, replayStore: verifiers[1] }),
        'iat_too_old',
      );
      const ok = await verifyProof(proof, { htm: 'GET', htu: HTU, now: NOW, replayStore: verifiers[2] });
      expect(await admin.exists(`${prefix}${replayKey(ok.jkt, 'not-used-up')}`)).toBe(1);
      await expectCode(
        verifyProof(proof, { htm: 'GET', htu: HTU, now: NOW, replayStore: verifiers[3] }),
        'replay',
      );
    });

    it('stores a proof with a 256-character jti under a bounded key and still catches its replay', async () => {
      const jti = 'q'.repeat(256);
      const proof = await createProof(keys[2]!, { htm: 'GET', htu: HTU, iat: NOW, jti });
      const ok = await verifyProof(proof, { htm: 'GET', htu: HTU, now: NOW, replayStore: verifiers[0] });
      expect(await admin.exists(`${prefix}${hashed(replayKey(ok.jkt, jti))}`)).toBe(1);
      await expectCode(
        verifyProof(proof, { htm: 'GET', htu: HTU, now: NOW, replayStore: verifiers[1] }),
        'replay',
      );
    });
  });
});
