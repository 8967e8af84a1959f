// A running keybound authorization server (SQLite in a temp file, DPoP nonces required) and a
// keybound resource server (node:http adapter, DPoP enforced, JWKS fetched from the issuer), both on
// 127.0.0.1 port 0, closed after the test file.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuthorizationServer,
  type AuthorizationServerDeps,
  createAuthorizationServer,
  parseServerConfig,
  type ServerUrls,
} from '@keybound/authorization-server';
import { NonceManager } from '@keybound/core';
import { createResourceServer, type DecisionEvent, type ResourceServer } from '@keybound/resource-server';
import { keyboundHandler } from '@keybound/resource-server/node';
import { afterAll } from 'vitest';

/** The resource (RFC 8707) the AS issues tokens for and the RS accepts them for. */
export const API = 'https://api.interop.test';
export const SECRET = 'interop-client-secret-0123456789abcdef';
export const USERNAME = 'alice';
export const PASSWORD = 'correct horse battery staple';
/** A loopback redirect URI: never requested, the tests read the code from the AS's redirect. */
export const REDIRECT = 'http://127.0.0.1/callback';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Registers work to run after the test file (last registered, first run). */
export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

export interface LoopbackServer {
  server: Server;
  port: number;
  /** http://127.0.0.1:port */
  origin: string;
  /** Sets what answers requests (until then, empty 200s): set it once the server's URL is known. */
  handle(handler: (req: IncomingMessage, res: ServerResponse) => void): void;
}

/** A node:http server on 127.0.0.1 port 0, closed with its open connections after the test file. */
export async function listenOnLoopback(): Promise<LoopbackServer> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    handle: (next) => {
      handler = next;
    },
  };
}

/** The clients every row uses: a DPoP-bound service and a DPoP-bound public app (code + PKCE). */
export function asConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    listeners: { http: { host: '127.0.0.1', port: 0 } },
    scopes: ['read', 'write'],
    resources: [{ identifier: API, access_token_format: 'jwt', access_token_ttl: 300 }],
    users: [{ username: USERNAME, password: PASSWORD, sub: 'user-alice' }],
    dpop: { nonce: { required: true } },
    clients: [
      {
        client_id: 'service',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        scope: 'read write',
        dpop_bound_access_tokens: true,
      },
      {
        client_id: 'app',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [REDIRECT],
        scope: 'read write',
        dpop_bound_access_tokens: true,
      },
    ],
    ...over,
  };
}

export interface RunningAs {
  server: AuthorizationServer;
  urls: ServerUrls;
}

/** Starts the keybound AS with its storage in a fresh SQLite file (deleted after the file's tests). */
export async function startKeyboundAs(
  config: Record<string, unknown> = asConfig(),
  deps: AuthorizationServerDeps = {},
): Promise<RunningAs> {
  const dir = mkdtempSync(join(tmpdir(), 'kb-interop-as-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const server = createAuthorizationServer(
    parseServerConfig({ storage: { type: 'sqlite', path: join(dir, 'as.db') }, ...config }),
    { onError: (e) => console.error('authorization server error', e), ...deps },
  );
  onCleanup(() => server.close());
  const urls = await server.listen();
  return { server, urls };
}

export interface RunningRs {
  rs: ResourceServer;
  /** http://127.0.0.1:port */
  origin: string;
  port: number;
  url(path: string): string;
  /** Every decision event, in order. */
  events: DecisionEvent[];
  /** The last decision event (the one for the last request). */
  lastEvent(): DecisionEvent;
  server: Server;
}

export interface RsOptions {
  /** As in the policy: { issuer, jwksUri } or { issuer, introspection: { endpoint, clientId, clientSecret } }. */
  issuers: Record<string, unknown>[];
  /** Merged over the default policy (enforce DPoP everywhere, nonces on /nonce). */
  policy?: Record<string, unknown>;
  /**
   * Origins the RS is reached at, when not (only) its own listener; none: only what its trusted
   * proxies forward (policy.trustedProxies) names the public URL.
   */
  publicOrigins?: (origin: string) => string[];
}

/**
 * Starts a keybound RS on 127.0.0.1:0. Allowed requests answer 200 with what the RS verified:
 * { path, sub, clientId, binding, jkt, x5t, scopes }.
 */
export async function startKeyboundRs(options: RsOptions): Promise<RunningRs> {
  const { server, port, origin, handle } = await listenOnLoopback();
  const events: DecisionEvent[] = [];
  const publicOrigins = options.publicOrigins?.(origin) ?? [origin];
  const rs = createResourceServer({
    policy: {
      resource: API,
      ...(publicOrigins.length > 0 ? { publicOrigins } : {}),
      issuers: options.issuers,
      defaults: { mode: 'enforce', require: 'dpop' },
      routes: [{ path: '/nonce', nonce: true }],
      ...options.policy,
    },
    nonces: new NonceManager({ secrets: [randomBytes(32)] }),
    onDecision: (event) => events.push(event),
  });
  handle(
    keyboundHandler(rs, (req, res, auth) => {
      const body = JSON.stringify({
        path: req.url,
        sub: auth.claims.sub,
        clientId: auth.clientId,
        binding: auth.binding,
        jkt: auth.jkt,
        x5t: auth.x5t,
        scopes: auth.scopes,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }),
  );
  return {
    rs,
    origin,
    port,
    url: (path) => `${origin}${path}`,
    events,
    lastEvent: () => {
      const event = events.at(-1);
      if (event === undefined) throw new Error('the resource server has decided nothing yet');
      return event;
    },
    server,
  };
}

/** The keybound AS and an RS trusting its JWKS. */
export async function startKeyboundStack(
  config: Record<string, unknown> = asConfig(),
  deps: AuthorizationServerDeps = {},
): Promise<{ as: RunningAs; rs: RunningRs }> {
  const as = await startKeyboundAs(config, deps);
  const rs = await startKeyboundRs({ issuers: [{ issuer: as.urls.issuer, jwksUri: as.urls.jwks }] });
  return { as, rs };
}

/** Signs in as alice on the AS's built-in login page (over HTTP) and returns the redirect back. */
export async function signInOnLoginPage(authorizationUrl: URL | string, loginUrl: string): Promise<URL> {
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  const html = await page.text();
  if (page.status !== 200)
    throw new Error(
      `authorization endpoint answered ${page.status}: ${page.headers.get('location') ?? html}`,
    );
  const cookie = page.headers.get('set-cookie')?.split(';')[0];
  if (cookie === undefined) throw new Error('the login page set no cookie');
  const field = (name: string) => {
    const value = new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1];
    if (value === undefined) throw new Error(`the login page has no ${name} field`);
    return value;
  };
  const res = await fetch(loginUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie,
      origin: new URL(loginUrl).origin,
    },
    body: new URLSearchParams({
      interaction: field('interaction'),
      csrf: field('csrf'),
      username: USERNAME,
      password: PASSWORD,
    }),
  });
  const location = res.headers.get('location');
  if (res.status !== 303 || location === null) throw new Error(`login answered ${res.status}`);
  return new URL(location);
}
