// Which crypto provider the core uses when the caller does not pass one: resolved through the
// package's "#crypto-default" import, which maps to node:crypto on Node and WebCrypto elsewhere.
import defaultProvider from '#crypto-default';
import type { CryptoProvider } from './crypto.js';

let current: CryptoProvider = defaultProvider;

export function getDefaultCrypto(): CryptoProvider {
  return current;
}

/** Replaces the process-wide default provider (tests, or runtimes the export map does not know). */
export function setDefaultCrypto(provider: CryptoProvider): void {
  current = provider;
}
