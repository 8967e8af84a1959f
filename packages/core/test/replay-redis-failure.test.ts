// The Redis replay store fails closed: nothing listening, a server that never answers, Redis paused,
// out of memory, stopped, or answering with something that is not a SET reply all reject with
// replay_store_unavailable (within timeoutMs), and verifyProof then refuses the proof with that code.
// The tests that need their own Redis start redis-server in a temporary directory on a free port.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedisServer } from '../../../test/support/redis-server.js';
import { toolsAvailable } from '../../../test/support/tools.js';
import {
  createProof,
  type DpopKey,
  generateDpopKey,
  type KeyboundError,
  RedisReplayStore,
  replayKey,
  verifyProof,
} from './helpers.js';
import { expectCode } from './keybound-error-code.js';

const HTU = 'https://rs.example.com/resource';
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const TIMEOUT_MS = 200;

const tools = toolsAvailable('redis-server');

const ioClients: Redis[] = [];
const nodeClients: { readonly isOpen: boolean; destroy(): void }[] = [];

function ioredisOn(port: number, options: RedisOptions = {}): Redis {
  const client = new Redis({ host: '127.0.0.1', port, enableAutoPipelining: true, ...options });
  client.on('error', () => {});
  ioClients.push(client);
  return client;
}

/** A node-redis client that is connecting (or reconnecting) in the background. */
function nodeRedisOn(port: number) {
  const client = createClient({ socket: { host: '127.0.0.1', port, connectTimeout: 1000 } });
  client.on('error', () => {});
  client.connect().catch(() => {});
  nodeClients.push(client);
  return client;
}

async function closeClients(): Promise<void> {
  for (const c of ioClients.splice(0)) c.disconnect();
  for (const c of nodeClients.splice(0)) if (c.isOpen) c.destroy();
}

let dpopKey: DpopKey;
beforeAll(async () => {
  dpopKey = await generateDpopKey('ES256');
});
afterAll(closeClients);

async function expectProofRefused(store: RedisReplayStore): Promise<KeyboundError> {
  const proof = await createProof(dpopKey, { htm: 'GET', htu: HTU });
  const e = await expectCode(
    verifyProof(proof, { htm: 'GET', htu: HTU, replayStore: store }),
    'replay_store_unavailable',
  );
  expect(e.status).toBe(503);
  expect(e.error).toBe('temporarily_unavailable');
  expect(e.message).not.toContain(proof);
  return e;
}

describe('when nothing listens on the Redis port', () => {
  let port: number;
  beforeAll(async () => {
    port = await freePort();
  });

  it('refuses within timeoutMs with ioredis, which queues commands while it reconnects', async () => {
    const store = new RedisReplayStore({ client: ioredisOn(port), timeoutMs: TIMEOUT_MS });
    const e = await expectCode(
      store.setIfAbsent(replayKey(JKT, 'closed-io'), 60_000),
      'replay_store_unavailable',
    );
    expect(e.message).toBe(`the replay store (Redis) did not answer within ${TIMEOUT_MS} ms`);
    expect(e.cause).toBeInstanceOf(Error);
    await expectProofRefused(store);
  });

  it('refuses at once, carrying the cause, with ioredis without an offline queue', async () => {
    const client = ioredisOn(port, { enableOfflineQueue: false });
    const store = new RedisReplayStore({ client, timeoutMs: 60_000 });
    const e = await expectCode(
      store.setIfAbsent(replayKey(JKT, 'closed-io-noq'), 60_000),
      'replay_store_unavailable',
    );
    expect(e.message).toMatch(/^the replay store \(Redis\) failed: .*enableOfflineQueue/);
    expect((e.cause as Error).message).toContain('enableOfflineQueue');
    await expectProofRefused(store);
  });

  it('refuses within timeoutMs with node-redis while it keeps reconnecting', async () => {
    const store = new RedisReplayStore({ client: nodeRedisOn(port), timeoutMs: TIMEOUT_MS });
    await expectCode(store.setIfAbsent(replayKey(JKT, 'closed-nr'), 60_000), 'replay_store_unavailable');
    await expectProofRefused(store);
  });

  it('refuses with a node-redis client that was never connected', async () => {
    const client = createClient({ socket: { host: '127.0.0.1', port } });
    const store = new RedisReplayStore({ client, timeoutMs: 60_000 });
    const e = await expectCode(
      store.setIfAbsent(replayKey(JKT, 'never-connected'), 60_000),
      'replay_store_unavailable',
    );
    expect(e.message).toContain('closed');
    await expectProofRefused(store);
  });
});

describe('when the server accepts connections but never answers', () => {
  let blackhole: Server;
  const sockets = new Set<Socket>();
  let port: number;

  beforeAll(async () => {
    blackhole = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    port = (blackhole.address() as { port: number }).port;
  });

  afterAll(async () => {
    await closeClients();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => blackhole.close(resolve));
  });

  it('refuses within timeoutMs with ioredis', async () => {
    const store = new RedisReplayStore({ client: ioredisOn(port), timeoutMs: TIMEOUT_MS });
    await expectCode(store.setIfAbsent(replayKey(JKT, 'blackhole-io'), 60_000), 'replay_store_unavailable');
    await expectProofRefused(store);
    expect(sockets.size).toBeGreaterThan(0);
  });

  it('refuses within timeoutMs with node-redis', async () => {
    const store = new RedisReplayStore({ client: nodeRedisOn(port), timeoutMs: TIMEOUT_MS });
    await expectCode(store.setIfAbsent(replayKey(JKT, 'blackhole-nr'), 60_000), 'replay_store_unavailable');
    await expectProofRefused(store);
  });

  it('refuses many pending calls at once and never resolves any of them', async () => {
    const store = new RedisReplayStore({ client: ioredisOn(port), timeoutMs: TIMEOUT_MS });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => store.setIfAbsent(replayKey(JKT, `pending-${i}`), 60_000)),
    );
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    for (const r of results)
      expect((r as PromiseRejectedResult).reason.code).toBe('replay_store_unavailable');
  });
});

describe.skipIf(tools === undefined)('with a dedicated redis-server', () => {
  let dir: string;
  let server: RedisServer | undefined;
  let odd: RedisServer | undefined;
  let admin: Redis;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keybound-replay-redis-'));
    server = await startRedisServer({ dir, port: await freePort(), program: tools!['redis-server'] });
    admin = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 1 });
    admin.on('error', () => {});
  });

  afterAll(async () => {
    admin?.disconnect();
    await closeClients();
    await server?.stop();
    await odd?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const stores = (port: number) => [
    new RedisReplayStore({ client: ioredisOn(port), timeoutMs: TIMEOUT_MS }),
    new RedisReplayStore({ client: nodeRedisOn(port), timeoutMs: TIMEOUT_MS }),
  ];

  it('refuses while Redis is out of memory (error reply), and accepts again once it has room', async () => {
    const [io, nr] = stores(server!.port);
    expect(await io!.setIfAbsent('oom-warm-up', 60_000)).toBe(true);
    expect(await nr!.setIfAbsent('oom-warm-up-2', 60_000)).toBe(true);
    await admin.config('SET', 'maxmemory', '1');
    try {
      for (const store of [io!, nr!]) {
        const e = await expectCode(
          store.setIfAbsent(replayKey(JKT, 'oom'), 60_000),
          'replay_store_unavailable',
        );
        expect(e.message).toContain('OOM');
        expect(e.cause).toBeInstanceOf(Error);
        await expectProofRefused(store);
      }
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect(await io!.setIfAbsent(replayKey(JKT, 'oom'), 60_000)).toBe(true);
    expect(await nr!.setIfAbsent(replayKey(JKT, 'oom'), 60_000)).toBe(false);
  });

  it('refuses within timeoutMs while Redis is paused; the write done after the pause counts as a use', async () => {
    const [io, nr] = stores(server!.port);
    expect(await io!.setIfAbsent('pause-warm-up', 60_000)).toBe(true);
    expect(await nr!.setIfAbsent('pause-warm-up-2', 60_000)).toBe(true);
    await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE');
    try {
      for (const [name, store] of [
        ['io', io!],
        ['nr', nr!],
      ] as const) {
        const e = await expectCode(
          store.setIfAbsent(replayKey(JKT, `paused-${name}`), 60_000),
          'replay_store_unavailable',
        );
        expect(e.message).toContain('did not answer');
      }
      await expectProofRefused(io!);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
    }
    // the SETs that timed out were queued by Redis and ran after the pause: the keys are used up
    expect(await io!.setIfAbsent(replayKey(JKT, 'paused-io'), 60_000)).toBe(false);
    expect(await nr!.setIfAbsent(replayKey(JKT, 'paused-nr'), 60_000)).toBe(false);
  });

  it('refuses an unexpected reply type instead of reading it as a first use', async () => {
    // a real Redis where the name SET runs EXISTS: `SET k 1 PX n NX` answers with an integer
    odd = await startRedisServer({
      dir,
      port: await freePort(),
      program: tools!['redis-server'],
      args: ['--rename-command', 'SET', 'KBREALSET', '--rename-command', 'EXISTS', 'SET'],
    });
    for (const store of stores(odd.port)) {
      const e = await expectCode(
        store.setIfAbsent(replayKey(JKT, 'odd'), 60_000),
        'replay_store_unavailable',
      );
      expect(e.message).toContain('unexpected reply');
      expect(e.detail).toEqual({ expected: "'OK' or null", received: 'number' });
      await expectProofRefused(store);
    }
  });

  it('refuses while Redis is stopped, and accepts again once it is back', async () => {
    const port = server!.port;
    const [io, nr] = stores(port);
    expect(await io!.setIfAbsent(replayKey(JKT, 'before-stop'), 60_000)).toBe(true);
    expect(await nr!.setIfAbsent(replayKey(JKT, 'before-stop'), 60_000)).toBe(false);
    await server!.stop();
    server = undefined;
    for (const store of [io!, nr!]) {
      await expectCode(
        store.setIfAbsent(replayKey(JKT, 'while-stopped'), 60_000),
        'replay_store_unavailable',
      );
      await expectProofRefused(store);
    }
    server = await startRedisServer({ dir, port, program: tools!['redis-server'] });
    // both clients reconnect by themselves; until then every call is refused, never accepted wrongly
    for (const [name, store] of [
      ['io', io!],
      ['nr', nr!],
    ] as const) {
      const deadline = Date.now() + 15_000;
      let answer: boolean | undefined;
      // a fresh key per attempt: a timed-out attempt may still be sent once the client reconnects
      for (let attempt = 0; answer === undefined; attempt++) {
        answer = await store
          .setIfAbsent(replayKey(JKT, `after-restart-${name}-${attempt}`), 60_000)
          .catch((e: unknown) => {
            expect((e as KeyboundError).code).toBe('replay_store_unavailable');
            if (Date.now() > deadline) throw new Error(`${name} did not reconnect`);
            return undefined;
          });
      }
      expect(answer).toBe(true);
    }
  });
});
