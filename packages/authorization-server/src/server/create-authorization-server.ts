// createAuthorizationServer: wires configuration, storage, replay store, keys and endpoints into
// node:http request handlers, and (optionally) listens. Reading files, argv and the environment is
// the caller's job (the `keybound serve` command); everything environmental is passed in.
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  MemoryReplayStore,
  NonceManager,
  type RedisClientLike,
  RedisReplayStore,
  type ReplayStore,
} from '@keybound/core';
import { ClientRegistry } from '../clients/client-registry.js';
import { isParsedConfig, parseServerConfig } from '../config/parse-server-config.js';
import type { ServerConfig } from '../config/server-config.js';
import { authorizationEndpoint } from '../endpoints/authorization.js';
import { introspectionEndpoint } from '../endpoints/introspection.js';
import { loginEndpoint } from '../endpoints/login.js';
import { buildMetadata, jwksEndpoint, metadataEndpoint } from '../endpoints/metadata.js';
import { parEndpoint } from '../endpoints/par.js';
import { registrationEndpoint } from '../endpoints/registration.js';
import { revocationEndpoint } from '../endpoints/revocation.js';
import { tokenEndpoint } from '../endpoints/token.js';
import { CertificateSource, hasTlsTrustAnchors } from '../mtls/peer-certificate.js';
import { KeySealer } from '../storage/key-sealing.js';
import { createPostgresStorage } from '../storage/postgres-storage.js';
import { createSqliteStorage } from '../storage/sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { randomToken, sha256 } from '../tokens/hash.js';
import { type JwtSigner, signJwt } from '../tokens/sign-jwt.js';
import { SigningKeys } from '../tokens/signing-keys.js';
import type { Endpoint } from './request-context.js';
import { buildRoutes, handleRequest, type RouteTable } from './router.js';
import {
  type EndpointUrls,
  PATHS,
  type Runtime,
  type ServerUrls,
  type UserAuthenticator,
} from './runtime.js';

export interface AuthorizationServerDeps {
  /** The clock, in epoch milliseconds (default Date.now). */
  now?: () => number;
  /** Storage to use instead of the one the configuration names (then close() leaves it open). */
  storage?: Storage;
  /** Replay store for DPoP proofs and client assertion jtis (default: per config). */
  replayStore?: ReplayStore;
  /** A connected Redis client (ioredis or node-redis) for `replay.type: redis`. */
  redis?: RedisClientLike;
  /** Pluggable user authentication at the authorization endpoint. */
  authenticateUser?: UserAuthenticator;
  /** Signs access tokens (default: compact JWS over node:crypto; e.g. a KMS-backed signer). */
  signJwt?: JwtSigner;
  /** Unexpected errors (500s, background cleanup failures). Default: console.error. */
  onError?: (error: unknown) => void;
}

export interface AuthorizationServer {
  /** Handles requests to the main listener (needs a configured issuer unless listen() was called). */
  readonly handler: RequestListener;
  /**
   * Handles requests to the mTLS listener (its TLS socket must request client certificates; it may
   * leave them unverified: tls_client_auth chains are checked against the configured CAs here).
   */
  readonly mtlsHandler: RequestListener;
  /** Migrates storage and loads keys; listen() calls it. */
  ready(): Promise<void>;
  /** Starts the configured listeners; resolves with the public URLs. */
  listen(): Promise<ServerUrls>;
  close(): Promise<void>;
  /** The public URLs (the issuer must be known: configured, or after listen()). */
  readonly urls: ServerUrls;
  /** Where the listeners are bound (after listen()): e.g. http://127.0.0.1:8080, which may differ from the public URLs. */
  readonly listening: { http?: string | undefined; mtls?: string | undefined };
  readonly storage: Storage;
  readonly config: ServerConfig;
  metadata(): Record<string, unknown>;
  /** Managed keys: a new key signs from now on; the previous stays published until its tokens expire. */
  rotateSigningKey(): Promise<{ kid: string }>;
  /** A new initial access token for dynamic registration (stored hashed; returned once). */
  createInitialAccessToken(options?: { ttlSeconds?: number; uses?: number }): Promise<string>;
  /** Deletes expired codes, tokens, requests and interactions; returns how many. */
  deleteExpired(): Promise<number>;
}

function derivedUrl(scheme: 'http' | 'https', host: string, port: number): string {
  const h =
    host === '0.0.0.0' || host === '::' || host === ''
      ? '127.0.0.1'
      : host.includes(':')
        ? `[${host}]`
        : host;
  return `${scheme}://${h}:${port}`;
}

function endpointUrls(base: string, registration: boolean): EndpointUrls {
  return {
    token: `${base}${PATHS.token}`,
    pushedAuthorizationRequest: `${base}${PATHS.par}`,
    introspection: `${base}${PATHS.introspection}`,
    revocation: `${base}${PATHS.revocation}`,
    registration: registration ? `${base}${PATHS.registration}` : undefined,
  };
}

export function createAuthorizationServer(
  configInput: ServerConfig | Record<string, unknown>,
  deps: AuthorizationServerDeps = {},
): AuthorizationServer {
  const config = isParsedConfig(configInput) ? configInput : parseServerConfig(configInput);
  const clock = deps.now ?? Date.now;
  const now = () => clock() / 1000;
  const onError = deps.onError ?? ((e: unknown) => console.error('keybound authorization server:', e));

  let replay: ReplayStore;
  if (deps.replayStore) replay = deps.replayStore;
  else if (config.replay.type === 'redis') {
    if (!deps.redis) {
      throw new TypeError(
        'replay.type is redis: pass a connected client as deps.redis (or a store as deps.replayStore)',
      );
    }
    replay = new RedisReplayStore({ client: deps.redis, prefix: config.replay.prefix });
  } else replay = new MemoryReplayStore();

  const ownsStorage = deps.storage === undefined;
  const storage =
    deps.storage ??
    (config.storage.type === 'postgres'
      ? createPostgresStorage({ connectionString: config.storage.url, max: config.storage.poolSize })
      : createSqliteStorage({ path: config.storage.path }));

  // Nonces are always verifiable; they are required per server or client configuration. Without
  // configured secrets the secret is per process (several instances must configure shared ones).
  const nonces = new NonceManager({
    secrets: config.dpop.nonce.secrets.length > 0 ? config.dpop.nonce.secrets : [randomBytes(32)],
    stepSeconds: config.dpop.nonce.stepSeconds,
    context: 'as',
  });

  const maxTokenTtl = Math.max(
    config.tokens.accessTokenTtl,
    ...config.resources.map((r) => r.accessTokenTtl ?? 0),
  );
  const keys = new SigningKeys({
    storage,
    configured: config.signingKeys,
    alg: config.signingAlg,
    maxTokenTtl,
    sealer: new KeySealer(config.storage.encryptionSecrets, {
      sealPlainKeys: config.storage.sealPlainKeys,
    }),
    onError,
  });
  const mtlsAvailable = config.listeners.mtls !== undefined || config.mtls.forwarded !== undefined;
  const clients = new ClientRegistry(config.clients, storage, {
    scopes: config.scopes,
    resources: config.resources.map((r) => r.identifier),
    mtlsAvailable,
    tlsTrustAnchors: hasTlsTrustAnchors(config),
  });

  let issuer = config.issuer ?? config.listeners.http.publicUrl;
  let mtlsBase = config.listeners.mtls?.publicUrl;
  let urls: ServerUrls | undefined;
  const computeUrls = (): ServerUrls => {
    if (urls) return urls;
    if (issuer === undefined)
      throw new Error('the issuer is not known yet: configure issuer, or call listen() first');
    const registration = config.registration.enabled;
    urls = {
      issuer,
      metadata: `${new URL(issuer).origin}${PATHS.metadata}${new URL(issuer).pathname.replace(/\/$/, '')}`,
      jwks: `${issuer}${PATHS.jwks}`,
      authorization: `${issuer}${PATHS.authorization}`,
      login: `${issuer}${PATHS.login}`,
      ...endpointUrls(issuer, registration),
      mtls: mtlsBase === undefined ? undefined : { base: mtlsBase, ...endpointUrls(mtlsBase, registration) },
    };
    return urls;
  };

  const rt: Runtime = {
    config,
    storage,
    replay,
    nonces,
    keys,
    signJwt: deps.signJwt ?? signJwt,
    clients,
    certificates: new CertificateSource(config),
    users: new Map(config.users.map((u) => [u.username, u])),
    resources: new Map(config.resources.map((r) => [r.identifier, r])),
    now,
    urls: computeUrls,
    authenticateUser: deps.authenticateUser,
    onError,
  };

  const endpoints: Record<keyof typeof PATHS, Endpoint | undefined> = {
    metadata: metadataEndpoint,
    jwks: jwksEndpoint,
    token: tokenEndpoint,
    authorization: authorizationEndpoint,
    par: parEndpoint,
    introspection: introspectionEndpoint,
    revocation: revocationEndpoint,
    registration: config.registration.enabled ? registrationEndpoint : undefined,
    login: config.login.enabled ? loginEndpoint : undefined,
  };

  let mainRoutes: RouteTable | undefined;
  let mtlsRoutes: RouteTable | undefined;
  const routesFor = (kind: 'main' | 'mtls'): RouteTable => {
    const u = computeUrls();
    if (kind === 'main') {
      mainRoutes ??= buildRoutes('main', u.issuer, u.issuer, endpoints, u);
      return mainRoutes;
    }
    if (!u.mtls) throw new Error('no mTLS listener is configured');
    mtlsRoutes ??= buildRoutes('mtls', u.mtls.base, u.issuer, endpoints, u.mtls);
    return mtlsRoutes;
  };

  let readyPromise: Promise<void> | undefined;
  let isReady = false;
  const ready = () => {
    readyPromise ??= (async () => {
      await storage.migrate();
      const t = Math.floor(now());
      await keys.load(t);
      for (const token of config.registration.initialAccessTokens) {
        await storage.insertInitialAccessToken({ tokenHash: sha256(token), createdAt: t });
      }
      isReady = true;
    })();
    return readyPromise;
  };

  const makeHandler =
    (kind: 'main' | 'mtls'): RequestListener =>
    (req, res) => {
      const run = async () => {
        if (!isReady) await ready();
        await handleRequest(rt, kind, routesFor(kind), req, res);
      };
      run().catch((e) => {
        onError(e);
        if (!res.headersSent) {
          res.writeHead(503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
          res.end(
            JSON.stringify({
              error: 'temporarily_unavailable',
              error_description: 'the server is not ready',
            }),
          );
        } else res.destroy();
      });
    };
  const handler = makeHandler('main');
  const mtlsHandler = makeHandler('mtls');

  const servers: Server[] = [];
  const listening: { http?: string | undefined; mtls?: string | undefined } = {};
  let cleanupTimer: NodeJS.Timeout | undefined;

  const listenOne = (server: Server, host: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });

  const deleteExpired = () => storage.deleteExpired(Math.floor(now()) - 60);

  return {
    handler,
    mtlsHandler,
    ready,
    get urls() {
      return computeUrls();
    },
    listening,
    storage,
    config,
    metadata: () => buildMetadata(rt),
    async listen() {
      await ready();
      const http = config.listeners.http;
      const main = http.tls
        ? createHttpsServer({ key: http.tls.key, cert: http.tls.cert }, handler)
        : createHttpServer(handler);
      servers.push(main);
      const port = await listenOne(main, http.host, http.port);
      listening.http = derivedUrl(http.tls ? 'https' : 'http', http.host, port);
      issuer ??= listening.http;
      const m = config.listeners.mtls;
      if (m) {
        // requests a certificate and rejects none: `ca` is only the list of acceptable CAs the
        // listener advertises; trust for tls_client_auth is decided by CertificateSource against
        // mtls.ca and listeners.mtls.tls.ca, never by Node's default store (socket.authorized)
        const server = createHttpsServer(
          { key: m.tls.key, cert: m.tls.cert, ca: m.tls.ca, requestCert: true, rejectUnauthorized: false },
          mtlsHandler,
        );
        servers.push(server);
        const mport = await listenOne(server, m.host, m.port);
        listening.mtls = derivedUrl('https', m.host, mport);
        mtlsBase ??= listening.mtls;
      }
      urls = undefined;
      mainRoutes = undefined;
      mtlsRoutes = undefined;
      cleanupTimer = setInterval(() => deleteExpired().catch(onError), 600_000);
      cleanupTimer.unref();
      return computeUrls();
    },
    async close() {
      if (cleanupTimer) clearInterval(cleanupTimer);
      await Promise.all(
        servers.splice(0).map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      if (readyPromise) await readyPromise.catch(() => {});
      if (ownsStorage) await storage.close();
    },
    async rotateSigningKey() {
      await ready();
      const key = await keys.rotate(Math.floor(now()));
      return { kid: key.kid };
    },
    async createInitialAccessToken(options = {}) {
      await ready();
      const token = randomToken(32);
      const t = Math.floor(now());
      await storage.insertInitialAccessToken({
        tokenHash: sha256(token),
        expiresAt: options.ttlSeconds === undefined ? undefined : t + options.ttlSeconds,
        usesRemaining: options.uses,
        createdAt: t,
      });
      return token;
    },
    deleteExpired: async () => {
      await ready();
      return deleteExpired();
    },
  };
}
