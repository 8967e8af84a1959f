// What the client learns about each server it talks to: the last DPoP-Nonce it handed out and how
// far its clock is from ours. Keyed by origin, bounded (least recently used origins are dropped).
import { LruCache } from '@keybound/core';

/** RFC 9449 §8.1: nonce = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E. Longer than 1 KiB is refused. */
const NONCE_SHAPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,1024}$/;

/** Offsets smaller than this are noise: a Date header has one-second resolution. */
const MIN_OFFSET_SECONDS = 2;

interface ServerState {
  nonce?: string;
  offsetSeconds: number;
}

export const DEFAULT_MAX_ORIGINS = 100;

export class ServerStateCache {
  readonly #states: LruCache<string, ServerState>;

  constructor(maxOrigins: number = DEFAULT_MAX_ORIGINS) {
    this.#states = new LruCache(maxOrigins);
  }

  get size(): number {
    return this.#states.size;
  }

  #state(origin: string): ServerState {
    let s = this.#states.get(origin);
    if (s === undefined) {
      s = { offsetSeconds: 0 };
      this.#states.set(origin, s);
    }
    return s;
  }

  nonce(origin: string): string | undefined {
    return this.#states.get(origin)?.nonce;
  }

  /** Seconds to add to the local clock to get the server's (0 until learned). */
  offsetSeconds(origin: string): number {
    return this.#states.get(origin)?.offsetSeconds ?? 0;
  }

  /** Remembers a DPoP-Nonce value; malformed or oversized values are ignored (returns false). */
  learnNonce(origin: string, value: string | null): boolean {
    if (value === null || !NONCE_SHAPE.test(value)) return false;
    this.#state(origin).nonce = value;
    return true;
  }

  /**
   * Learns the clock offset from a response's Date header, taking the middle of the exchange as the
   * local moment it describes. Returns the offset now in use.
   */
  learnClock(origin: string, dateHeader: string | null, sentAtMs: number, receivedAtMs: number): number {
    if (dateHeader === null || dateHeader.length > 64) return this.offsetSeconds(origin);
    const serverMs = Date.parse(dateHeader);
    if (!Number.isFinite(serverMs)) return this.offsetSeconds(origin);
    // the header truncates to the second: the server's time was somewhere in [serverMs, serverMs + 1000)
    const offset = (serverMs + 500 - (sentAtMs + receivedAtMs) / 2) / 1000;
    const s = this.#state(origin);
    s.offsetSeconds = Math.abs(offset) < MIN_OFFSET_SECONDS ? 0 : Math.round(offset);
    return s.offsetSeconds;
  }

  clear(): void {
    this.#states.clear();
  }
}
