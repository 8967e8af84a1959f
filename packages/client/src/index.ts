// @keybound/client: the DPoP client SDK, browser-safe (WebCrypto, IndexedDB and fetch only).
// Node extras (keys from files, mTLS through undici) are in @keybound/client/node.
export {
  type CryptoProvider,
  type DpopKey,
  generateDpopKey,
  importDpopKey,
  isKeyboundError,
  type JwsAlgorithm,
  jwkThumbprint,
  KeyboundError,
  type KeyboundErrorCode,
  type PrivateJwk,
  type PublicJwk,
} from '@keybound/core';
export { parseAuthorizationResponse } from './authorization-response.js';
export { type BrowserKey, type BrowserKeyOptions, loadOrCreateBrowserKey } from './browser-key.js';
export { finishLogin, type StartLoginOptions, startLogin } from './browser-login.js';
export { type ClientAssertionOptions, createClientAssertion } from './client-assertion.js';
export type { ClientAuth } from './client-auth.js';
export { type DiscoverOptions, discover, metadataUrls } from './discover.js';
export { type BoundToken, createDpopFetch, type DpopFetchOptions, type FetchLike } from './dpop-fetch.js';
export { type Dispatch, DpopSession, type DpopSessionOptions, type SendOptions } from './dpop-session.js';
export { type IndexedDbKeyStoreOptions, openIndexedDbKeyStore } from './indexeddb-key-store.js';
export { type KeyStore, memoryKeyStore } from './key-store.js';
export {
  type AuthorizationServerMetadata,
  endpointUrl,
  type MtlsEndpointAliases,
  validateMetadata,
} from './metadata.js';
export {
  type AuthorizationRequest,
  type AuthorizationUrlOptions,
  type GrantOptions,
  OAuthClient,
  type OAuthClientOptions,
} from './oauth-client.js';
export { createPkce, type Pkce, pkceChallenge } from './pkce.js';
export { isReplayableBody } from './replayable-body.js';
export { DEFAULT_MAX_CLOCK_OFFSET_SECONDS, type ServerRole, ServerStateCache } from './server-state.js';
export { parseTokenResponse, type TokenSet } from './token-response.js';
