// A key store in IndexedDB holding non-extractable CryptoKeys. A missing IndexedDB (Safari lockdown,
// some private modes, sandboxed frames) or one whose open() fails is reported as
// key_storage_unavailable; nothing falls back silently.
import {
  type DpopKey,
  dpopKeyFromHandle,
  isSupportedAlgorithm,
  KeyboundError,
  type PublicJwk,
} from '@keybound/core';
import { DEFAULT_KEY_ID, type KeyStore } from './key-store.js';

export interface IndexedDbKeyStoreOptions {
  /** Database name (default "keybound"). */
  dbName?: string;
  /** Object store name (default "dpop-keys"). */
  storeName?: string;
}

const DB_VERSION = 1;

interface StoredKey {
  alg: string;
  privateKey: CryptoKey;
  publicJwk: PublicJwk;
  createdAt: number;
}

function unavailable(message: string, cause?: unknown): KeyboundError {
  const name =
    cause instanceof Error || (typeof DOMException !== 'undefined' && cause instanceof DOMException)
      ? (cause as Error).name
      : undefined;
  return new KeyboundError('key_storage_unavailable', message, name === undefined ? {} : { received: name }, {
    cause,
  });
}

function promised<T>(request: IDBRequest<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(unavailable(`IndexedDB ${what} failed`, request.error));
  });
}

function isCryptoKey(value: unknown): value is CryptoKey {
  return typeof CryptoKey !== 'undefined' && value instanceof CryptoKey;
}

/** Opens (creating if needed) the key database; throws key_storage_unavailable when it cannot. */
export async function openIndexedDbKeyStore(options: IndexedDbKeyStoreOptions = {}): Promise<KeyStore> {
  const dbName = options.dbName ?? 'keybound';
  const storeName = options.storeName ?? 'dpop-keys';
  const idb: IDBFactory | undefined = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (idb === undefined || idb === null) throw unavailable('IndexedDB is not available in this context');
  let request: IDBOpenDBRequest;
  try {
    request = idb.open(dbName, DB_VERSION);
  } catch (cause) {
    throw unavailable('IndexedDB refused to open the key database', cause);
  }
  request.onupgradeneeded = () => {
    if (!request.result.objectStoreNames.contains(storeName)) request.result.createObjectStore(storeName);
  };
  const db = await promised(request, 'open');
  if (!db.objectStoreNames.contains(storeName)) {
    db.close();
    throw unavailable(`the key database has no object store ${storeName}`);
  }
  const run = <T>(
    mode: IDBTransactionMode,
    what: string,
    op: (s: IDBObjectStore) => IDBRequest<T>,
  ): Promise<T> => {
    let tx: IDBTransaction;
    try {
      tx = db.transaction(storeName, mode);
    } catch (cause) {
      return Promise.reject(unavailable(`IndexedDB ${what} failed`, cause));
    }
    let request: IDBRequest<T>;
    try {
      request = op(tx.objectStore(storeName));
    } catch (cause) {
      // get/put/delete throw synchronously too (DataCloneError, InvalidStateError, …)
      return Promise.reject(unavailable(`IndexedDB ${what} failed`, cause));
    }
    const result = promised(request, what);
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(unavailable(`IndexedDB ${what} failed`, tx.error));
      tx.onabort = () => reject(unavailable(`IndexedDB ${what} was aborted`, tx.error));
    });
    return Promise.all([result, done]).then(([r]) => r);
  };
  return {
    persistent: true,
    async load(id = DEFAULT_KEY_ID) {
      const record = (await run('readonly', 'read', (s) => s.get(id))) as Partial<StoredKey> | undefined;
      if (record === undefined) return undefined;
      // only what this store writes is accepted back: a non-extractable private CryptoKey. A record
      // that is there but unusable is reported, never treated as absent (it would be overwritten).
      const unusable = (why: string, cause?: unknown) =>
        new KeyboundError(
          'stored_key_mismatch',
          `the key stored as ${JSON.stringify(id)} cannot be used: ${why}`,
          { received: typeof record.alg === 'string' ? record.alg.slice(0, 20) : typeof record.alg },
          cause === undefined ? undefined : { cause },
        );
      if (
        !isCryptoKey(record.privateKey) ||
        record.privateKey.type !== 'private' ||
        record.privateKey.extractable
      ) {
        throw unusable('it is not a non-extractable private CryptoKey');
      }
      if (!isSupportedAlgorithm(record.alg)) throw unusable('its algorithm is not supported');
      if (typeof record.publicJwk !== 'object' || record.publicJwk === null)
        throw unusable('its public key is missing');
      try {
        return await dpopKeyFromHandle(record.privateKey, record.publicJwk, record.alg);
      } catch (cause) {
        throw unusable('its public key does not fit it', cause);
      }
    },
    async save(key: DpopKey, id = DEFAULT_KEY_ID) {
      if (!isCryptoKey(key.privateKey) || key.privateKey.type !== 'private') {
        throw new TypeError('only a private CryptoKey can be stored in IndexedDB');
      }
      if (key.privateKey.extractable) throw new TypeError('refusing to persist an extractable private key');
      const record: StoredKey = {
        alg: key.alg,
        privateKey: key.privateKey,
        publicJwk: key.publicJwk,
        createdAt: Date.now(),
      };
      try {
        await run('readwrite', 'write', (s) => s.put(record, id));
      } catch (e) {
        // a browser that cannot structured-clone CryptoKeys throws DataCloneError here
        throw e instanceof KeyboundError ? e : unavailable('IndexedDB cannot store the key', e);
      }
    },
    async delete(id = DEFAULT_KEY_ID) {
      await run('readwrite', 'delete', (s) => s.delete(id));
    },
    close() {
      db.close();
    },
  };
}
