// The Redis replay store on a real Redis Cluster: three masters started here with redis-server
// (free ports on 127.0.0.1, no persistence, a temporary directory) and joined with
// `redis-cli --cluster create`, used through an ioredis Cluster and a node-redis createCluster.
// The servers are stopped and the directory removed after the tests, whatever happened.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, type RedisServer, startRedisServer } from '../../../test/support/redis-server.js';
import { uniquePrefix } from '../../../test/support/services.js';
import { toolsAvailable } from '../../../test/support/tools.js';
import {
  createProof,
  generateDpopKey,
  type KeyboundError,
  RedisReplayStore,
  replayKey,
  verifyProof,
} from './helpers.js';
import { expectCode } from './keybound-error-code.js';

const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const HTU = 'https://rs.example.com/resource';
const NOW = 1_700_000_000;

const tools = toolsAvailable('redis-server', 'redis-cli');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One cluster-enabled redis-server (see startRedisServer). */
function startClusterNode(dir: string, port: number, busPort: number): Promise<RedisServer> {
  return startRedisServer({
    dir,
    port,
    program: tools!['redis-server'],
    args: [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-port',
      String(busPort),
      '--cluster-node-timeout',
      '2000',
    ],
  });
}

describe.skipIf(tools === undefined)('RedisReplayStore on a real 3-master Redis Cluster', () => {
  let dir: string | undefined;
  const nodes: { port: number; server: RedisServer; admin: Redis }[] = [];
  let ioCluster: Cluster;
  let nrCluster: ReturnType<typeof createCluster>;
  const prefix = uniquePrefix('replay-cluster');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keybound-redis-cluster-'));
    const ports = await freePorts(6);
    for (let i = 0; i < 3; i++) {
      const port = ports[i]!;
      const server = await startClusterNode(dir, port, ports[i + 3]!);
      const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: true });
      admin.on('error', () => {});
      nodes.push({ port, server, admin });
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await promisify(execFile)(
      tools!['redis-cli'],
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    ).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `redis-cli --cluster create failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
      );
    });
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      while (!((await node.admin.cluster('INFO')) as string).includes('cluster_state:ok')) {
        if (Date.now() > deadline)
          throw new Error(`cluster node ${node.port} did not reach cluster_state:ok`);
        await sleep(100);
      }
    }

    ioCluster = new Cluster([{ host: '127.0.0.1', port: nodes[0]!.port }], { enableAutoPipelining: true });
    ioCluster.on('error', () => {});
    ioCluster.on('node error', () => {});
    await ioCluster.ping();
    nrCluster = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${nodes[1]!.port}` }] });
    nrCluster.on('error', () => {});
    await nrCluster.connect();
  });

  afterAll(async () => {
    try {
      ioCluster?.disconnect();
      if (nrCluster?.isOpen) nrCluster.destroy();
      for (const node of nodes) node.admin.disconnect();
      await Promise.all(nodes.map((n) => n.server.stop()));
    } finally {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  });

  /** How many keys under `keyPrefix` each master holds. */
  async function keysPerMaster(keyPrefix: string): Promise<number[]> {
    return Promise.all(
      nodes.map(async ({ admin }) => {
        let cursor = '0';
        let count = 0;
        do {
          const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
          cursor = next;
          count += keys.length;
        } while (cursor !== '0');
        return count;
      }),
    );
  }

  const keySet = (tag: string) => [
    ...Array.from({ length: 60 }, (_, i) => replayKey(JKT, `${tag}-${i}`)),
    // long jtis are hashed; a {hash tag} in a jti is hashed away, so these spread over the slots too
    ...Array.from({ length: 20 }, (_, i) => replayKey(JKT, `${tag}-${'x'.repeat(200)}-${i}`)),
    ...Array.from({ length: 20 }, (_, i) => replayKey(JKT, `{${tag}}-${i}`)),
  ];

  for (const kind of ['ioredis Cluster', 'node-redis cluster'] as const) {
    it(`records first uses and refuses replays through an ${kind}, with keys on every master`, async () => {
      const sub = `${prefix}${kind === 'ioredis Cluster' ? 'io' : 'nr'}:`;
      const client = kind === 'ioredis Cluster' ? ioCluster : nrCluster;
      const store = new RedisReplayStore({ client, prefix: sub });
      expect(store.clientKind).toBe(kind === 'ioredis Cluster' ? 'ioredis' : 'node-redis-cluster');
      const keys = keySet('spread');
      expect(await Promise.all(keys.map((k) => store.setIfAbsent(k, 60_000)))).toEqual(keys.map(() => true));
      expect(await Promise.all(keys.map((k) => store.setIfAbsent(k, 60_000)))).toEqual(keys.map(() => false));
      const perMaster = await keysPerMaster(sub);
      expect(perMaster.reduce((a, b) => a + b, 0)).toBe(keys.length);
      for (const count of perMaster) expect(count).toBeGreaterThan(0);
      const tagged = await keysPerMaster(`${sub}~`);
      expect(tagged.filter((count) => count > 0).length).toBeGreaterThan(1);
    });
  }

  it('sees entries written through the other client library', async () => {
    const sub = `${prefix}cross:`;
    const io = new RedisReplayStore({ client: ioCluster, prefix: sub });
    const nr = new RedisReplayStore({ client: nrCluster, prefix: sub });
    const keys = keySet('cross');
    for (const [i, key] of keys.entries()) {
      const [first, second] = i % 2 === 0 ? [io, nr] : [nr, io];
      expect(await first.setIfAbsent(key, 60_000)).toBe(true);
      expect(await second.setIfAbsent(key, 60_000)).toBe(false);
    }
  });

  it('lets exactly one of two verifiers on different client libraries accept each of 100 proofs', async () => {
    const sub = `${prefix}race:`;
    const stores = [
      new RedisReplayStore({ client: ioCluster, prefix: sub }),
      new RedisReplayStore({ client: nrCluster, prefix: sub }),
    ];
    const key = await generateDpopKey('ES256');
    const proofs = await Promise.all(
      Array.from({ length: 100 }, () => createProof(key, { htm: 'POST', htu: HTU, iat: NOW })),
    );
    const results = await Promise.all(
      proofs.map((proof) =>
        Promise.allSettled(
          stores.map((replayStore) => verifyProof(proof, { htm: 'POST', htu: HTU, now: NOW, replayStore })),
        ),
      ),
    );
    for (const settled of results) {
      expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = settled.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((lost.reason as KeyboundError).code).toBe('replay');
    }
    for (const count of await keysPerMaster(sub)) expect(count).toBeGreaterThan(0);
  });

  // last: it stops a master
  it("refuses with replay_store_unavailable when the master owning the key's slot is down", async () => {
    const sub = `${prefix}down:`;
    const admin = nodes[0]!.admin;
    const ranges = (await admin.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
    const ownerOf = async (redisKey: string) => {
      const slot = (await admin.cluster('KEYSLOT', redisKey)) as number;
      return ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
    };
    const key = replayKey(JKT, 'owner-down');
    const ownerPort = await ownerOf(`${sub}${key}`);
    // a proof whose replay key lands on the same master
    const dpopKey = await generateDpopKey('ES256');
    const { jkt } = await verifyProof(await createProof(dpopKey, { htm: 'GET', htu: HTU, iat: NOW }), {
      htm: 'GET',
      htu: HTU,
      now: NOW,
    });
    let jti = '';
    for (let i = 0; jti === ''; i++) {
      if ((await ownerOf(`${sub}${replayKey(jkt, `down-${i}`)}`)) === ownerPort) jti = `down-${i}`;
    }
    const proof = await createProof(dpopKey, { htm: 'GET', htu: HTU, iat: NOW, jti });

    await nodes.find((n) => n.port === ownerPort)!.server.stop();
    for (const client of [ioCluster, nrCluster]) {
      const store = new RedisReplayStore({ client, prefix: sub, timeoutMs: 300 });
      await expectCode(store.setIfAbsent(key, 60_000), 'replay_store_unavailable');
      const e = await expectCode(
        verifyProof(proof, { htm: 'GET', htu: HTU, now: NOW, replayStore: store }),
        'replay_store_unavailable',
      );
      expect(e.status).toBe(503);
    }
  });
});
