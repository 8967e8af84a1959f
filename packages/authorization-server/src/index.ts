// @keybound/authorization-server: an OAuth 2.0 authorization server that issues DPoP-bound
// (RFC 9449) and certificate-bound (RFC 8705) tokens.
export {
  AUTH_METHODS,
  type ClientConfig,
  GRANT_TYPES,
  type GrantType,
  type TokenEndpointAuthMethod,
} from './clients/client.js';
export { ConfigError, type ConfigIssue, type SecretResolver } from './config/config-reader.js';
export {
  isParsedConfig,
  type ParseServerConfigOptions,
  parseServerConfig,
} from './config/parse-server-config.js';
export type {
  BindingRequirement,
  ListenerConfig,
  MtlsListenerConfig,
  ResourceConfig,
  ServerConfig,
  SigningKeyConfig,
  TlsConfig,
  UserConfig,
} from './config/server-config.js';
export { OAuthError, type OAuthErrorCode } from './http/oauth-error.js';
export { parseDistinguishedName, sameDistinguishedName } from './mtls/distinguished-name.js';
export {
  type AuthorizationServer,
  type AuthorizationServerDeps,
  createAuthorizationServer,
} from './server/create-authorization-server.js';
export type {
  AuthenticatedUser,
  EndpointUrls,
  ServerUrls,
  UserAuthenticationRequest,
  UserAuthenticator,
} from './server/runtime.js';
export { createPostgresStorage, type PostgresStorageOptions } from './storage/postgres-storage.js';
export { SqlStorage } from './storage/sql-storage.js';
export { createSqliteStorage, type SqliteStorageOptions } from './storage/sqlite-storage.js';
export type * from './storage/storage.js';
export type { JwtSigner, JwtSigningKey } from './tokens/sign-jwt.js';
export { hashPassword } from './users/password.js';
