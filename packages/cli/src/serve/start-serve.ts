// Starts what `keybound serve` runs, on one listener: the authorization server (every path it
// knows), the demo protected API under /api (with its RFC 9728 metadata), and the /demo page.
// The configuration is validated completely before the port is bound; the public URL is known
// only once listening when the port is 0, so the final configuration is built after that.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import {
  type AuthorizationServer,
  createAuthorizationServer,
  hashPassword,
  type ServerConfig,
} from '@keybound/authorization-server';
import { MemoryReplayStore, NonceManager, RedisReplayStore } from '@keybound/core';
import { createResourceServer, type DecisionEvent } from '@keybound/resource-server';
import type { Redis } from 'ioredis';
import { CommandError } from '../args.js';
import { responseBeingDecided, setReasonCodeHeader } from '../reason-code-header.js';
import { buildApiPolicy } from './api-policy.js';
import { API_PATH, buildAuthorizationServerConfig, DEMO_PATH } from './authorization-server-config.js';
import { createDemoApi, HELLO_PATH } from './demo-api.js';
import {
  DEMO_SERVICE_CLIENT_ID,
  DEMO_SPA_CLIENT_ID,
  type DemoCredentials,
  loadOrCreateDemoCredentials,
} from './demo-credentials.js';
import { createDemoPage, DEFAULT_DEMO_ASSETS_DIR, loadDemoAssets } from './demo-page.js';
import { connectRedis, redactUrl } from './redis.js';
import { type ConfigIssue, type ServeConfig, ServeConfigError } from './serve-config.js';

export interface StartServeOptions {
  /** One line of the request log or a warning (default: nothing). */
  log?: (line: string) => void;
  /** Where the bundled demo page is (default: the package's dist/demo-page). */
  demoAssetsDir?: string;
}

export interface ServeUrls {
  issuer: string;
  metadata: string;
  jwks: string;
  token: string;
  authorization: string;
  api: string;
  apiMetadata: string;
  demo: string;
}

export interface RunningServe {
  /** Where the listener is bound, e.g. http://127.0.0.1:4000. */
  listening: string;
  urls: ServeUrls;
  /** The demo user and clients, when the demo is on. */
  demo:
    | (DemoCredentials & {
        username: string;
        spaClientId: string;
        serviceClientId: string;
        pageBuilt: boolean;
      })
    | undefined;
  /** e.g. "SQLite /path/.keybound/keybound.db" or "PostgreSQL 127.0.0.1:5432/keybound". */
  storage: string;
  /** "memory" or "Redis 127.0.0.1:6379". */
  replay: string;
  authorizationServer: AuthorizationServer;
  close(): Promise<void>;
}

const urlHost = (host: string): string =>
  host === '0.0.0.0' || host === ''
    ? '127.0.0.1'
    : host === '::'
      ? '[::1]'
      : host.includes(':')
        ? `[${host}]`
        : host;

function buildAll(
  config: ServeConfig,
  publicUrl: string,
  jwksUri: string,
  demo: DemoCredentials | undefined,
): { as?: ServerConfig; policy?: Record<string, unknown>; issues: ConfigIssue[] } {
  const as = buildAuthorizationServerConfig(config, publicUrl, demo);
  const api = buildApiPolicy(config, publicUrl, jwksUri);
  return { as: as.config, policy: api.policy, issues: [...as.issues, ...api.issues] };
}

let placeholderHash: string | undefined;

/** Validates everything the configuration says, before anything is bound or written. */
export function checkServeConfig(config: ServeConfig, issues: ConfigIssue[] = []): void {
  const provisional =
    config.publicUrl ?? `http://${urlHost(config.host)}:${config.port === 0 ? 1 : config.port}`;
  placeholderHash ??= hashPassword(randomBytes(16).toString('hex'));
  const demo: DemoCredentials | undefined = config.demo.enabled
    ? {
        password: '',
        passwordHash: placeholderHash,
        serviceClientSecret: 'x'.repeat(43),
        keyFile: '',
      }
    : undefined;
  const all = [...issues, ...buildAll(config, provisional, `${provisional}/jwks`, demo).issues];
  if (all.length > 0) throw new ServeConfigError(all, config.file);
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(
          new CommandError(
            `port ${port} on ${host} is in use: choose another with --port (0 picks a free one)`,
          ),
        );
      } else if (e.code === 'EACCES') {
        reject(
          new CommandError(`not allowed to listen on ${host}:${port} (EACCES): choose a port above 1023`),
        );
      } else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') {
        reject(new CommandError(`cannot listen on ${host}: no such local address (${e.code})`));
      } else reject(e);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function storageLabel(as: ServerConfig): string {
  return as.storage.type === 'postgres'
    ? `PostgreSQL ${redactUrl(as.storage.url)}`
    : `SQLite ${as.storage.path}`;
}

/** Starts everything; on any failure closes what was started and rethrows. */
export async function startServe(
  config: ServeConfig,
  options: StartServeOptions = {},
): Promise<RunningServe> {
  const log = options.log ?? (() => {});
  checkServeConfig(config);

  let route: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (route !== undefined) return route(req, res);
    res.writeHead(503, {
      'content-type': 'application/json',
      'retry-after': '1',
      'cache-control': 'no-store',
    });
    res.end('{"error":"temporarily_unavailable","error_description":"starting"}');
  });
  const closers: Array<() => Promise<void>> = [() => closeServer(server)];
  const closeAll = async () => {
    for (const close of closers.splice(0)) await close().catch(() => {});
  };

  try {
    const port = await listen(server, config.host, config.port);
    const listening = `http://${urlHost(config.host)}:${port}`;
    const publicUrl = config.publicUrl ?? listening;
    const demo = config.demo.enabled ? await loadOrCreateDemoCredentials(config.dataDir) : undefined;
    const built = buildAll(config, publicUrl, `${listening}/jwks`, demo);
    if (built.as === undefined || built.policy === undefined)
      throw new ServeConfigError(built.issues, config.file);

    if (built.as.storage.type === 'sqlite') {
      await mkdir(dirname(built.as.storage.path), { recursive: true, mode: 0o700 });
    }

    let redis: Redis | undefined;
    if (built.as.replay.type === 'redis') {
      redis = await connectRedis(built.as.replay.url, log);
      const client = redis;
      closers.unshift(async () => {
        await client.quit().catch(() => client.disconnect());
      });
    }

    const as = createAuthorizationServer(built.as, {
      ...(redis === undefined ? {} : { redis }),
      onError: (e) => log(`authorization server error: ${e instanceof Error ? e.message : String(e)}`),
    });
    closers.unshift(() => as.close());
    try {
      await as.ready();
    } catch (e) {
      throw new CommandError(
        `the authorization server's storage (${storageLabel(built.as)}) is not usable: ${(e as Error).message}`,
      );
    }

    // expired codes, tokens and login interactions go every 10 minutes (listen() would do it; serve owns the listener)
    const cleanup = setInterval(() => {
      as.deleteExpired().catch((e) => log(`cleanup of expired entries failed: ${(e as Error).message}`));
    }, 600_000);
    cleanup.unref();
    closers.unshift(async () => clearInterval(cleanup));

    const rs = createResourceServer({
      policy: built.policy,
      replayStore:
        redis === undefined
          ? new MemoryReplayStore()
          : new RedisReplayStore({ client: redis, prefix: config.api.replayPrefix }),
      nonces: new NonceManager({
        secrets: config.api.nonceSecrets.length > 0 ? config.api.nonceSecrets : [randomBytes(32)],
        context: 'api',
      }),
      onDecision: (event) => {
        setReasonCodeHeader(event);
        log(decisionLine(event, responseBeingDecided()));
      },
    });
    const api = createDemoApi(rs);

    const assets =
      demo === undefined ? undefined : await loadDemoAssets(options.demoAssetsDir ?? DEFAULT_DEMO_ASSETS_DIR);
    const page = createDemoPage(assets, {
      issuer: publicUrl,
      clientId: DEMO_SPA_CLIENT_ID,
      redirectUri: `${publicUrl}${DEMO_PATH}`,
      api: `${publicUrl}${HELLO_PATH}`,
      username: config.demo.username,
    });

    route = (req, res) => {
      const target = req.url ?? '/';
      const q = target.indexOf('?');
      const path = q < 0 ? target : target.slice(0, q);
      if (path === API_PATH || path.startsWith(`${API_PATH}/`) || path === rs.metadataPath) {
        api(req, res).catch(() => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":"server_error"}');
        });
      } else if (demo !== undefined && (path === '/demo' || path.startsWith('/demo/'))) page(req, res);
      else if (demo !== undefined && path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
        res.writeHead(302, { location: DEMO_PATH, 'content-length': 0 });
        res.end();
      } else {
        as.handler(req, res);
      }
    };

    const asUrls = as.urls;
    return {
      listening,
      urls: {
        issuer: asUrls.issuer,
        metadata: asUrls.metadata,
        jwks: asUrls.jwks,
        token: asUrls.token,
        authorization: asUrls.authorization,
        api: `${publicUrl}${HELLO_PATH}`,
        apiMetadata: `${new URL(publicUrl).origin}${rs.metadataPath}`,
        demo: `${publicUrl}${DEMO_PATH}`,
      },
      demo:
        demo === undefined
          ? undefined
          : {
              ...demo,
              username: config.demo.username,
              spaClientId: DEMO_SPA_CLIENT_ID,
              serviceClientId: DEMO_SERVICE_CLIENT_ID,
              pageBuilt: assets !== undefined,
            },
      storage: storageLabel(built.as),
      replay:
        redis === undefined
          ? 'memory'
          : `Redis ${redactUrl(built.as.replay.type === 'redis' ? built.as.replay.url : '')}`,
      authorizationServer: as,
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** One log line per API decision: method, path (never the query), status, reason code, client. */
function decisionLine(event: DecisionEvent, res: ServerResponse | undefined): string {
  const target = res?.req?.url ?? '';
  const q = target.indexOf('?');
  const path = (q < 0 ? target : target.slice(0, q)).slice(0, 200);
  const time = event.time.slice(11, 19);
  const code = event.code === undefined ? '' : ` ${event.code}`;
  const client = event.clientId === undefined ? '' : ` client=${event.clientId}`;
  return `${time} api ${event.method} ${path} → ${event.status} ${event.outcome}${code} (${event.scheme}${client})`;
}
