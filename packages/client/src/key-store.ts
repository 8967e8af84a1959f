// Where a DPoP key lives between runs. The IndexedDB store keeps the CryptoKey object itself
// (structured clone keeps it non-extractable); the memory store is the explicit fallback.
import type { DpopKey } from '@keybound/core';

export interface KeyStore {
  /** True when keys survive a reload (IndexedDB); false for the in-memory fallback. */
  readonly persistent: boolean;
  /** The key stored under `id`; undefined when none is; stored_key_mismatch when one is but cannot be used. */
  load(id?: string): Promise<DpopKey | undefined>;
  save(key: DpopKey, id?: string): Promise<void>;
  delete(id?: string): Promise<void>;
  close(): void;
}

export const DEFAULT_KEY_ID = 'default';

/** Keys held in this page/process only: lost on reload. Never persisted, never exported. */
export function memoryKeyStore(): KeyStore {
  const keys = new Map<string, DpopKey>();
  return {
    persistent: false,
    async load(id = DEFAULT_KEY_ID) {
      return keys.get(id);
    },
    async save(key, id = DEFAULT_KEY_ID) {
      keys.set(id, key);
    },
    async delete(id = DEFAULT_KEY_ID) {
      keys.delete(id);
    },
    close() {
      keys.clear();
    },
  };
}
