// @keybound/core: the validation core shared by every keybound part. Web APIs only.
export { accessTokenHash } from './ath.js';
export { assertCertificateDer, MAX_CERTIFICATE_BYTES } from './cert/der.js';
export {
  DEFAULT_MAX_FORWARDED_CERT_HEADER_BYTES,
  DEFAULT_MAX_FORWARDED_CHAIN_LENGTH,
  FORWARDED_CERT_HEADERS,
  type ForwardedCertFormat,
  type ForwardedCertHeaderNames,
  type ForwardedCertOptions,
  type ForwardedClientCert,
  type HeaderLookup,
  parseForwardedClientCert,
} from './cert/forwarded-client-cert.js';
export { derToPem, pemToDer } from './cert/pem.js';
export { certificateThumbprint } from './cert/thumbprint.js';
export { type CreateProofOptions, createProof, randomJti } from './create-proof.js';
export {
  ERROR_CODES,
  type ErrorDetail,
  isKeyboundError,
  KeyboundError,
  type KeyboundErrorCode,
  type OAuthErrorName,
} from './errors.js';
export { normalizeHtu, normalizeHtuClaim, tryNormalizeHtu } from './htu.js';
export { assertJwkFitsAlgorithm, canonicalJwk, parsePublicJwk } from './jwk.js';
export { defaultKeyCache, KeyCache, type ResolvedKey, type ValidatedHeader } from './key-cache.js';
export {
  type DpopKey,
  dpopKeyFromHandle,
  exportPrivateJwk,
  generateDpopKey,
  importDpopKey,
  type KeyOptions,
} from './keys.js';
export { b64Decode, b64Encode } from './lib/base64.js';
export { b64uDecode, b64uDecodeText, b64uEncode } from './lib/base64url.js';
export {
  ALGORITHMS,
  type CryptoProvider,
  type GeneratedKeyPair,
  isSupportedAlgorithm,
  type JwsAlgorithm,
  type KeyHandle,
  type PrivateJwk,
  type PublicJwk,
  SUPPORTED_ALGORITHMS,
} from './lib/crypto.js';
export { webCrypto } from './lib/crypto-web.js';
export { getDefaultCrypto, setDefaultCrypto } from './lib/default-crypto.js';
export { hasDuplicateNames, type JsonObject, parseJsonObject } from './lib/json.js';
export { LruCache } from './lib/lru.js';
export {
  MIN_NONCE_SECRET_BYTES,
  type NonceCheck,
  NonceManager,
  type NonceOptions,
  type NonceVerifier,
} from './nonce.js';
export { MemoryReplayStore, type MemoryReplayStoreOptions } from './replay/memory.js';
export {
  type IoRedisLikeClient,
  type NodeRedisLikeClient,
  type NodeRedisLikeCluster,
  REDIS_REPLAY_MAX_RAW_KEY_LENGTH,
  type RedisClientLike,
  RedisReplayStore,
  type RedisReplayStoreOptions,
} from './replay/redis.js';
export { type ReplayStore, replayKey } from './replay/store.js';
export { jwkThumbprint, thumbprintOfCanonical } from './thumbprint.js';
export {
  DEFAULT_CLOCK_SKEW_SECONDS,
  DEFAULT_DPOP_ALGORITHMS,
  DEFAULT_MAX_AGE_SECONDS,
  DEFAULT_MAX_JTI_LENGTH,
  DEFAULT_MAX_PROOF_LENGTH,
  type DpopProofClaims,
  PROOF_STEPS,
  type VerifiedProof,
  type VerifyProofOptions,
  verifyProof,
  verifyProofPossession,
} from './verify-proof.js';
export {
  type Challenge,
  formatChallenge,
  formatWwwAuthenticate,
  type ParsedChallenge,
  parseWwwAuthenticate,
} from './www-authenticate.js';
