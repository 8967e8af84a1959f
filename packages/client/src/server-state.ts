// What the client learns about each server it talks to: the last DPoP-Nonce it handed out and how
// far its clock is from ours. Keyed by origin, bounded (least recently used origins are dropped).
// Nonces are kept apart per role: an authorization server and a resource server may share an origin
// and each hands out its own nonces (RFC 9449 §8, §9), which the other does not accept.
import { LruCache } from '@keybound/core';

/** RFC 9449 §8.1: nonce = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E. Longer than 1 KiB is refused. */
const NONCE_SHAPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,1024}$/;

/** Offsets smaller than this are noise: a Date header has one-second resolution. */
const MIN_OFFSET_SECONDS = 2;

/** Whose nonce: the authorization server's (token and PAR endpoints) or a resource server's. */
export type ServerRole = 'authorization' | 'resource';

interface ServerState {
  nonces: Partial<Record<ServerRole, string>>;
  offsetSeconds: number;
}

export const DEFAULT_MAX_ORIGINS = 100;

/**
 * A Date further than this from the local clock is not believed (a broken proxy, an error page, a
 * hostile server): following it would date every proof far ahead, making proofs that are valid
 * later if captured now (RFC 9449 §11.2), or far behind, making every proof fail.
 */
export const DEFAULT_MAX_CLOCK_OFFSET_SECONDS = 24 * 3600;

export class ServerStateCache {
  readonly #states: LruCache<string, ServerState>;
  readonly #maxOffset: number;

  constructor(
    maxOrigins: number = DEFAULT_MAX_ORIGINS,
    maxClockOffsetSeconds = DEFAULT_MAX_CLOCK_OFFSET_SECONDS,
  ) {
    if (!Number.isFinite(maxClockOffsetSeconds) || maxClockOffsetSeconds < 0) {
      throw new TypeError('maxClockOffsetSeconds must be a finite number of seconds, 0 or more');
    }
    this.#states = new LruCache(maxOrigins);
    this.#maxOffset = maxClockOffsetSeconds;
  }

  get size(): number {
    return this.#states.size;
  }

  #state(origin: string): ServerState {
    let s = this.#states.get(origin);
    if (s === undefined) {
      s = { nonces: {}, offsetSeconds: 0 };
      this.#states.set(origin, s);
    }
    return s;
  }

  nonce(origin: string, role: ServerRole = 'resource'): string | undefined {
    return this.#states.get(origin)?.nonces[role];
  }

  /** Seconds to add to the local clock to get the server's (0 until learned). */
  offsetSeconds(origin: string): number {
    return this.#states.get(origin)?.offsetSeconds ?? 0;
  }

  /** Remembers a DPoP-Nonce value; malformed or oversized values are ignored (returns false). */
  learnNonce(origin: string, value: string | null, role: ServerRole = 'resource'): boolean {
    if (value === null || !NONCE_SHAPE.test(value)) return false;
    this.#state(origin).nonces[role] = value;
    return true;
  }

  /**
   * Learns the clock offset from a response's Date header, taking the middle of the exchange as the
   * local moment it describes; an offset beyond maxClockOffsetSeconds is ignored. Returns the offset
   * now in use.
   */
  learnClock(origin: string, dateHeader: string | null, sentAtMs: number, receivedAtMs: number): number {
    if (dateHeader === null || dateHeader.length > 64) return this.offsetSeconds(origin);
    const serverMs = Date.parse(dateHeader);
    if (!Number.isFinite(serverMs)) return this.offsetSeconds(origin);
    // the header truncates to the second: the server's time was somewhere in [serverMs, serverMs + 1000)
    const offset = (serverMs + 500 - (sentAtMs + receivedAtMs) / 2) / 1000;
    if (Math.abs(offset) > this.#maxOffset) return this.offsetSeconds(origin);
    const s = this.#state(origin);
    s.offsetSeconds = Math.abs(offset) < MIN_OFFSET_SECONDS ? 0 : Math.round(offset);
    return s.offsetSeconds;
  }

  clear(): void {
    this.#states.clear();
  }
}
