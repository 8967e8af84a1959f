// An in-memory replay store for one process: bounded, expiring, and closed when full (a store
// that dropped live entries to make room would let those proofs be replayed).
import { KeyboundError } from '../errors.js';
import type { ReplayStore } from './store.js';

export interface MemoryReplayStoreOptions {
  /** Most live entries kept (default 1,000,000: about 100 MB at worst). */
  maxEntries?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

export class MemoryReplayStore implements ReplayStore {
  readonly #entries = new Map<string, number>();
  readonly #max: number;
  readonly #now: () => number;
  #nextSweep = 0;
  #nextFullSweep = 0;

  constructor(options: MemoryReplayStoreOptions = {}) {
    this.#max = options.maxEntries ?? 1_000_000;
    if (!Number.isInteger(this.#max) || this.#max < 1) throw new RangeError('maxEntries must be >= 1');
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  async setIfAbsent(key: string, ttlMs: number): Promise<boolean> {
    // a NaN expiry would never compare as live: every replay would pass
    if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs)) {
      throw new TypeError(
        `MemoryReplayStore: ttlMs must be a finite number of milliseconds, not ${String(ttlMs)}`,
      );
    }
    const now = this.#now();
    const expires = this.#entries.get(key);
    if (expires !== undefined) {
      if (expires > now) return false;
      this.#entries.delete(key);
    }
    if (now >= this.#nextSweep) this.#sweep(now, 1000);
    if (this.#entries.size >= this.#max && now >= this.#nextFullSweep) {
      this.#nextFullSweep = now + 100;
      this.#sweep(now, Number.POSITIVE_INFINITY);
    }
    if (this.#entries.size >= this.#max) {
      throw new KeyboundError('replay_store_full', undefined, {
        expected: this.#max,
        received: this.#entries.size,
      });
    }
    this.#entries.set(key, now + Math.max(1, ttlMs));
    return true;
  }

  /**
   * Drops expired entries. Entries are roughly in expiry order (oldest first), so a routine sweep
   * stops after `liveLimit` live ones; a full sweep runs only when the store is full.
   */
  #sweep(now: number, liveLimit: number): void {
    this.#nextSweep = now + 1000;
    let live = 0;
    for (const [key, expires] of this.#entries) {
      if (expires <= now) this.#entries.delete(key);
      else if (++live > liveLimit) break;
    }
  }
}
