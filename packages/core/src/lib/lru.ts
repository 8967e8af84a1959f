/**
 * A bounded map with second-chance ("clock") eviction: a hit only marks the entry as used, so the
 * hot path costs one property write instead of a delete and re-insert; when the map is full, the
 * oldest entry is dropped unless it was used since it was last passed over, in which case it moves
 * to the back with its mark cleared.
 */
export class LruCache<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, { value: V; used: boolean }>();

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be >= 1');
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  set(key: K, value: V): void {
    const entry = this.#map.get(key);
    if (entry !== undefined) {
      entry.value = value;
      entry.used = true;
      return;
    }
    this.#map.set(key, { value, used: false });
    while (this.#map.size > this.#max) {
      const [oldestKey, oldest] = this.#map.entries().next().value as [K, { value: V; used: boolean }];
      this.#map.delete(oldestKey);
      if (oldest.used && oldestKey !== key) {
        oldest.used = false;
        this.#map.set(oldestKey, oldest);
      }
    }
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }
}
