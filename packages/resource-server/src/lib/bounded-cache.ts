// A bounded map for hot lookups: a hit only sets a flag (no re-insertion, which costs about as
// much as the lookup itself), and a full cache evicts in insertion order, giving entries used
// since they were inserted a second chance (the CLOCK approximation of least-recently-used).

interface Entry<V> {
  value: V;
  used: boolean;
}

export class BoundedCache<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, Entry<V>>();

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
    this.#map.delete(key);
    while (this.#map.size >= this.#max) {
      const [oldestKey, oldest] = this.#map.entries().next().value as [K, Entry<V>];
      this.#map.delete(oldestKey);
      if (oldest.used && this.#map.size > 0) {
        oldest.used = false;
        this.#map.set(oldestKey, oldest);
        // a full pass of used entries ends: the second time round their flags are clear
      }
    }
    this.#map.set(key, { value, used: false });
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }
}
