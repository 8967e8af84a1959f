// The validated configuration of an authorization server: what parseServerConfig returns and
// createAuthorizationServer takes. The file format (YAML/JSON, snake_case) is documented in the
// package README; this is its normalised form.
import type { JwsAlgorithm } from '@keybound/core';
import type { ClientConfig } from '../clients/client.js';

export const PARSED = Symbol.for('keybound.authorization-server.config');

export interface TlsConfig {
  /** PEM private key. */
  key: string;
  /** PEM certificate (chain). */
  cert: string;
  /** PEM CA certificates trusted for client certificates (tls_client_auth chains). */
  ca?: string[] | undefined;
}

export interface ListenerConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The URL clients use to reach this listener, when it differs from the bound address. */
  publicUrl?: string | undefined;
  tls?: TlsConfig | undefined;
}

export interface MtlsListenerConfig extends ListenerConfig {
  tls: TlsConfig;
}

export interface UserConfig {
  username: string;
  /** scrypt hash (see hashPassword). */
  passwordHash: string;
  sub: string;
}

export interface SigningKeyConfig {
  /** PEM (PKCS#8) or JWK JSON of the private key. */
  privateKey: string;
  alg: JwsAlgorithm;
  kid?: string | undefined;
  /** A previous key: still published, no longer signing. */
  retiredAt?: number | undefined;
}

export interface ResourceConfig {
  identifier: string;
  accessTokenFormat: 'jwt' | 'opaque';
  accessTokenTtl?: number | undefined;
}

export type BindingRequirement = 'none' | 'dpop' | 'mtls' | 'any';

export type ForwardedCertificateFormat = 'rfc9440' | 'envoy-xfcc' | 'nginx' | 'aws-alb';

export interface ServerConfig {
  readonly [PARSED]: true;
  /** The issuer identifier; when absent it is the http listener's URL once it listens. */
  issuer?: string | undefined;
  listeners: { http: ListenerConfig; mtls?: MtlsListenerConfig | undefined };
  clients: ClientConfig[];
  users: UserConfig[];
  /** Static keys; empty: keys generated and kept in storage (rotate with rotateSigningKey()). */
  signingKeys: SigningKeyConfig[];
  /** Algorithm of generated keys. */
  signingAlg: JwsAlgorithm;
  tokens: {
    accessTokenTtl: number;
    refreshTokenTtl: number;
    /** No refresh token of a grant outlives this, counted from the grant. */
    refreshTokenAbsoluteTtl: number;
    authorizationCodeTtl: number;
    pushedRequestTtl: number;
    loginTtl: number;
  };
  /** Scopes clients may request; empty: any scope token. */
  scopes: string[];
  resources: ResourceConfig[];
  /** The audience of tokens requested without a resource parameter. */
  defaultResource: string | undefined;
  binding: {
    /** Which tokens must be sender-constrained: none (clients decide), dpop, mtls or any. */
    required: BindingRequirement;
    /** Clients the requirement does not apply to yet (incremental rollout). */
    exemptClients: string[];
  };
  dpop: {
    algorithms: JwsAlgorithm[];
    maxAgeSeconds: number;
    clockSkewSeconds: number;
    nonce: {
      /** Every client must use server nonces (clients may also opt in with require_dpop_nonce). */
      required: boolean;
      /** Shared by every instance; generated per process when empty (one instance only). */
      secrets: string[];
      stepSeconds: number;
    };
  };
  mtls: {
    /** Client certificates forwarded by a TLS-terminating proxy. */
    forwarded?:
      | {
          format: ForwardedCertificateFormat;
          header?: string | undefined;
          /** Peers (IP or CIDR) whose forwarded certificate header is believed. */
          trustedProxies: string[];
          /** The proxy verified the chain against the CAs for tls_client_auth (otherwise keybound does, with mtls.ca). */
          verifiedByProxy: boolean;
        }
      | undefined;
    /** PEM CA certificates for tls_client_auth chains (beside listeners.mtls.tls.ca). */
    ca: string[];
  };
  registration: {
    enabled: boolean;
    /** Registration without an initial access token. */
    open: boolean;
    initialAccessTokens: string[];
  };
  par: { required: boolean };
  login: { enabled: boolean };
  storage: ({ type: 'sqlite'; path: string } | { type: 'postgres'; url: string; poolSize: number }) & {
    /**
     * Secrets that seal managed signing keys at rest (AES-256-GCM): the first seals, all open.
     * Empty: keys are stored as plain JWK JSON.
     */
    encryptionSecrets: string[];
    /**
     * A one-time migration switch (storage.seal_plain_keys, default false): with encryptionSecrets
     * set, a key found stored unsealed is sealed in place (and reported) instead of refused.
     */
    sealPlainKeys: boolean;
  };
  replay: { type: 'memory' } | { type: 'redis'; url: string; prefix: string };
  limits: { maxFormBytes: number; maxJsonBytes: number; maxQueryBytes: number };
}
