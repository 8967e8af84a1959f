// @keybound/client/node: everything in @keybound/client, plus keys from files, JWKs and KeyObjects,
// and mTLS through an undici Agent.
export * from './index.js';
export {
  generateKeyFile,
  type KeyFileOptions,
  keyFromFile,
  keyFromJwk,
  keyFromKeyObject,
} from './node/keys.js';
export {
  createMtlsFetch,
  createMtlsFetchFromFiles,
  type MtlsFetch,
  type MtlsFileOptions,
  type MtlsOptions,
} from './node/mtls.js';
