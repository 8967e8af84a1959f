// A replay store in Redis, shared by every instance: one atomic `SET <key> 1 PX <ttl> NX` per
// proof, one key per command (so Redis Cluster routes it). The caller passes the client: an ioredis
// `Redis` or `Cluster`, or a node-redis client (`createClient`) or cluster (`createCluster`). Neither
// library is imported here; the kind of client is recognised by its shape.
//
// Fail closed: an error, an unexpected reply, or no reply within `timeoutMs` rejects with
// KeyboundError 'replay_store_unavailable'; it never resolves true on a failure. The call is never
// retried here. A call that timed out may still reach Redis later (clients queue commands while
// paused or reconnecting): its key then counts as used, so the same proof is refused as a replay.
// Likewise a client that resends an unanswered command after a reconnect can turn a first use into
// `false`. Both err towards refusing; a client recovers by sending a new proof.
//
// Keys: `<prefix><key>` when the key is at most 128 printable ASCII characters without `{`, `}`
// and not starting with `~` (the usual `<jkt>:<jti>`: 43 + 1 + a UUID or 22-43 random characters).
// Any other key is stored as `<prefix>~<base64url(SHA-256(key))>` (44 characters): long jtis do not
// make long keys, and a jti cannot pick the Cluster slot with a `{hash tag}`. The two forms cannot
// collide: only hashed keys start with `~`.
import { KeyboundError } from '../errors.js';
import { b64uEncode, utf8 } from '../lib/base64url.js';
import { getDefaultCrypto } from '../lib/default-crypto.js';
import type { ReplayStore } from './store.js';

/** An ioredis `Redis` or `Cluster` (only what is used here). */
export interface IoRedisLikeClient {
  call(command: string, ...args: never[]): unknown;
  set(key: string, value: string, px: 'PX', milliseconds: number, nx: 'NX'): Promise<unknown>;
}

/** A node-redis client from `createClient` (only what is used here). */
export interface NodeRedisLikeClient {
  readonly isOpen: boolean;
  sendCommand(args: string[]): Promise<unknown>;
}

/** A node-redis cluster from `createCluster` (only what is used here). */
export interface NodeRedisLikeCluster {
  readonly isOpen: boolean;
  getSlotMaster(slot: number): unknown;
  sendCommand(firstKey: string, isReadonly: boolean, args: string[]): Promise<unknown>;
}

export type RedisClientLike = IoRedisLikeClient | NodeRedisLikeClient | NodeRedisLikeCluster;

export interface RedisReplayStoreOptions {
  /** A connected client: ioredis `Redis` or `Cluster`, node-redis `createClient()` or `createCluster()`. */
  client: RedisClientLike;
  /** Prepended to every key (default 'keybound:replay:'). A client-side `keyPrefix` applies too. */
  prefix?: string;
  /** How long to wait for Redis before refusing, in milliseconds (default 500). */
  timeoutMs?: number;
}

/** Keys up to this length (and of safe characters) are stored as they are; others are hashed. */
export const REDIS_REPLAY_MAX_RAW_KEY_LENGTH = 128;
const RAW_KEY = /^[!-z|][!-z|~]{0,127}$/;

type Send = (redisKey: string, ttlMs: number) => Promise<unknown>;

export class RedisReplayStore implements ReplayStore {
  readonly #send: Send;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  /** Which kind of client was recognised: 'ioredis', 'node-redis' or 'node-redis-cluster'. */
  readonly clientKind: 'ioredis' | 'node-redis' | 'node-redis-cluster';

  constructor({ client, prefix = 'keybound:replay:', timeoutMs = 500 }: RedisReplayStoreOptions) {
    if (typeof prefix !== 'string') throw new TypeError('RedisReplayStore: prefix must be a string');
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      throw new RangeError('RedisReplayStore: timeoutMs must be a positive number of milliseconds');
    }
    const [kind, send] = sender(client);
    this.clientKind = kind;
    this.#send = send;
    this.#prefix = prefix;
    this.#timeoutMs = timeoutMs;
  }

  setIfAbsent(key: string, ttlMs: number): Promise<boolean> {
    if (typeof key !== 'string') return Promise.reject(new TypeError('replay key must be a string'));
    if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs)) {
      return Promise.reject(new RangeError('ttlMs must be a finite number of milliseconds'));
    }
    const ttl = Math.max(1, Math.ceil(ttlMs));
    if (RAW_KEY.test(key)) return this.#set(this.#prefix + key, ttl);
    return getDefaultCrypto()
      .sha256(utf8(key))
      .then((digest) => this.#set(`${this.#prefix}~${b64uEncode(digest)}`, ttl));
  }

  #set(redisKey: string, ttl: number): Promise<boolean> {
    const timeoutMs = this.#timeoutMs;
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          unavailable(
            `the replay store (Redis) did not answer within ${timeoutMs} ms`,
            new Error(`no reply within ${timeoutMs} ms`),
          ),
        );
      }, timeoutMs);
      let pending: Promise<unknown>;
      try {
        pending = this.#send(redisKey, ttl);
        if (typeof pending?.then !== 'function') throw new TypeError('the client did not return a promise');
      } catch (cause) {
        clearTimeout(timer);
        reject(failed(cause));
        return;
      }
      pending.then(
        (reply) => {
          clearTimeout(timer);
          if (reply === null) resolve(false);
          else if (isOk(reply)) resolve(true);
          else {
            reject(
              new KeyboundError(
                'replay_store_unavailable',
                'the replay store (Redis) answered SET NX with an unexpected reply',
                { expected: "'OK' or null", received: describe(reply) },
              ),
            );
          }
        },
        (cause: unknown) => {
          clearTimeout(timer);
          reject(failed(cause));
        },
      );
    });
  }
}

function sender(client: RedisClientLike): [RedisReplayStore['clientKind'], Send] {
  const c = client as unknown as Record<string, unknown> | null;
  if (typeof c !== 'object' || c === null) throw new TypeError(UNKNOWN_CLIENT);
  // ioredis (Redis and Cluster): `call` exists only there; `set` sends its arguments verbatim and
  // honours the client's keyPrefix and auto-pipelining.
  if (typeof c.call === 'function' && typeof c.set === 'function') {
    const io = client as IoRedisLikeClient;
    return ['ioredis', (key, ttl) => io.set(key, '1', 'PX', ttl, 'NX')];
  }
  // node-redis (v4 to v6): the raw `sendCommand` sends exactly these arguments in every version
  // (the `set` options object changed shape between versions). A v6 `keyPrefix` is not applied
  // to raw commands, so it is added here: both libraries then write the same key.
  if (typeof c.sendCommand === 'function' && 'isOpen' in c) {
    const keyPrefix = clientKeyPrefix(c._keyPrefix);
    if (typeof c.getSlotMaster === 'function') {
      const cluster = client as NodeRedisLikeCluster;
      return [
        'node-redis-cluster',
        (key, ttl) => {
          const full = keyPrefix + key;
          return cluster.sendCommand(full, false, ['SET', full, '1', 'PX', String(ttl), 'NX']);
        },
      ];
    }
    const single = client as NodeRedisLikeClient;
    return [
      'node-redis',
      (key, ttl) => single.sendCommand(['SET', keyPrefix + key, '1', 'PX', String(ttl), 'NX']),
    ];
  }
  throw new TypeError(UNKNOWN_CLIENT);
}

const UNKNOWN_CLIENT =
  'RedisReplayStore: client must be an ioredis Redis or Cluster, or a node-redis client (createClient) or cluster (createCluster)';

function clientKeyPrefix(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder('utf-8', { fatal: true }).decode(value);
  throw new TypeError('RedisReplayStore: the client keyPrefix must be a string');
}

const OK = 'OK';
function isOk(reply: unknown): boolean {
  if (reply === OK) return true;
  // a node-redis typeMapping may turn simple strings into Buffers
  return reply instanceof Uint8Array && reply.length === 2 && reply[0] === 0x4f && reply[1] === 0x4b;
}

function describe(reply: unknown): string {
  if (typeof reply === 'string')
    return reply.length <= 20 ? `'${reply}'` : `a string of length ${reply.length}`;
  if (reply instanceof Uint8Array) return `${reply.length} bytes`;
  if (Array.isArray(reply)) return `array of ${reply.length}`;
  return typeof reply;
}

function unavailable(message: string, cause: unknown): KeyboundError {
  return new KeyboundError('replay_store_unavailable', message, {}, { cause });
}

function failed(cause: unknown): KeyboundError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const clipped = reason.length > 200 ? `${reason.slice(0, 200)}…` : reason;
  return unavailable(`the replay store (Redis) failed: ${clipped}`, cause);
}
