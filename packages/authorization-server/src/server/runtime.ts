// What every endpoint needs about the server it runs in: the configuration, storage, replay store,
// nonces, keys, clients, the public URLs, and the environment facts injected as functions.
import type { IncomingMessage } from 'node:http';
import type { NonceManager, ReplayStore } from '@keybound/core';
import type { ClientRegistry } from '../clients/client-registry.js';
import type { ResourceConfig, ServerConfig, UserConfig } from '../config/server-config.js';
import type { CertificateSource } from '../mtls/peer-certificate.js';
import type { Storage } from '../storage/storage.js';
import type { JwtSigner } from '../tokens/sign-jwt.js';
import type { SigningKeys } from '../tokens/signing-keys.js';

/** The endpoints of one listener (the main one, or the mTLS aliases). */
export interface EndpointUrls {
  token: string;
  pushedAuthorizationRequest: string;
  introspection: string;
  revocation: string;
  registration?: string | undefined;
}

export interface ServerUrls extends EndpointUrls {
  issuer: string;
  metadata: string;
  jwks: string;
  authorization: string;
  login: string;
  /** RFC 8705 §5 aliases on the mTLS listener, when there is one. */
  mtls?: (EndpointUrls & { base: string }) | undefined;
}

/** A user the host application authenticated. */
export interface AuthenticatedUser {
  sub: string;
  /** When the user authenticated (epoch seconds; default now). */
  authTime?: number;
}

export interface UserAuthenticationRequest {
  /** The browser's request to the authorization endpoint (cookies, headers). */
  request: IncomingMessage;
  clientId: string;
  scope: string;
  resource: string;
}

/**
 * Pluggable user authentication: return the signed-in user, or null/undefined when there is none
 * (then the built-in login page is shown when it is enabled, else the client gets access_denied).
 */
export type UserAuthenticator = (
  input: UserAuthenticationRequest,
) => Promise<AuthenticatedUser | null | undefined> | AuthenticatedUser | null | undefined;

export interface Runtime {
  config: ServerConfig;
  storage: Storage;
  replay: ReplayStore;
  nonces: NonceManager | undefined;
  keys: SigningKeys;
  signJwt: JwtSigner;
  clients: ClientRegistry;
  certificates: CertificateSource;
  users: Map<string, UserConfig>;
  resources: Map<string, ResourceConfig>;
  /** Current time in epoch seconds (fractional). */
  now(): number;
  urls(): ServerUrls;
  authenticateUser: UserAuthenticator | undefined;
  /** Called with unexpected errors (500s) and background failures. */
  onError(error: unknown): void;
}

export const PATHS = {
  metadata: '/.well-known/oauth-authorization-server',
  jwks: '/jwks',
  token: '/token',
  authorization: '/authorize',
  par: '/par',
  introspection: '/introspect',
  revocation: '/revoke',
  registration: '/register',
  login: '/login',
} as const;
