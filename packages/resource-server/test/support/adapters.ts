// The four adapters, each behind a real server on 127.0.0.1 (plain or TLS with requestCert), with
// the same application: protected routes answer 200 with what the decision said.
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { AllowDecision, ResourceServer } from '@keybound/resource-server';
import { keyboundExpress } from '@keybound/resource-server/express';
import { keyboundFastify } from '@keybound/resource-server/fastify';
import { type KeyboundHonoEnv, keyboundHono } from '@keybound/resource-server/hono';
import { keyboundHandler } from '@keybound/resource-server/node';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';

export type AdapterName = 'node' | 'express' | 'fastify' | 'hono';
export const ADAPTERS: readonly AdapterName[] = ['node', 'express', 'fastify', 'hono'];

export interface TlsOptions {
  key: string;
  cert: string;
}

export interface Running {
  url: string;
  close(): Promise<void>;
}

/** What every protected route answers. */
function echo(auth: AllowDecision | null | undefined): Record<string, unknown> {
  return {
    ok: true,
    clientId: auth?.clientId ?? null,
    binding: auth?.binding ?? null,
    jkt: auth?.jkt ?? null,
    x5t: auth?.x5t ?? null,
    route: auth?.route ?? null,
    mode: auth?.mode ?? null,
    wouldDeny: auth?.wouldDeny?.code ?? null,
    sub: auth?.claims.sub ?? null,
  };
}

/**
 * A route whose handler writes the response itself, past the framework's response helpers (Hono:
 * a Response returned directly; Fastify: the hijacked Node response; Express, node: writeHead):
 * the headers of an allow decision must reach the client there too.
 */
export const RAW_PATH = '/nonce/raw';
const RAW_BODY = 'raw';
const RAW_HEADERS = { 'content-type': 'text/plain' };

const tlsServerOptions = (tls: TlsOptions) => ({
  key: tls.key,
  cert: tls.cert,
  requestCert: true,
  rejectUnauthorized: false, // self-signed client certificates are bound by thumbprint (RFC 8705 §2.2)
});

function listen(server: Server, scheme: string): Promise<Running> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `${scheme}://127.0.0.1:${port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

export async function startAdapter(
  name: AdapterName,
  rs: ResourceServer,
  tls?: TlsOptions,
): Promise<Running> {
  const scheme = tls === undefined ? 'http' : 'https';
  switch (name) {
    case 'node': {
      const listener = keyboundHandler(rs, (req, res, auth) => {
        if (req.url === RAW_PATH) {
          res.writeHead(200, RAW_HEADERS).end(RAW_BODY);
          return;
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(echo(auth)));
      });
      const server =
        tls === undefined ? createHttpServer(listener) : createHttpsServer(tlsServerOptions(tls), listener);
      return listen(server, scheme);
    }
    case 'express': {
      const app = express();
      app.use(keyboundExpress(rs));
      app.all(RAW_PATH, (_req, res) => {
        res.writeHead(200, RAW_HEADERS).end(RAW_BODY);
      });
      app.all('/{*rest}', (req, res) => {
        res.json(echo(req.keybound));
      });
      const server =
        tls === undefined ? createHttpServer(app) : createHttpsServer(tlsServerOptions(tls), app);
      return listen(server, scheme);
    }
    case 'fastify': {
      const app =
        tls === undefined
          ? Fastify()
          : Fastify({ https: tlsServerOptions(tls) } as unknown as Record<string, never>);
      await app.register(keyboundFastify, { resourceServer: rs });
      app.all(RAW_PATH, (_request, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, RAW_HEADERS).end(RAW_BODY);
      });
      app.all('/*', async (request) => echo(request.keybound));
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      return { url: `${scheme}://127.0.0.1:${port}`, close: () => app.close() };
    }
    case 'hono': {
      const app = new Hono<KeyboundHonoEnv>();
      app.use(keyboundHono(rs));
      app.all(RAW_PATH, () => new Response(RAW_BODY, { headers: RAW_HEADERS }));
      app.all('*', (c) => c.json(echo(c.get('keybound'))));
      return new Promise((resolve) => {
        const server = serve(
          {
            fetch: app.fetch,
            port: 0,
            hostname: '127.0.0.1',
            ...(tls === undefined
              ? {}
              : { createServer: createHttpsServer, serverOptions: tlsServerOptions(tls) }),
          },
          (info) => {
            resolve({
              url: `${scheme}://127.0.0.1:${info.port}`,
              close: () =>
                new Promise((done) => {
                  (server as Server).closeAllConnections();
                  server.close(() => done());
                }),
            });
          },
        );
      });
    }
  }
}
