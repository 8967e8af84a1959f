// What differs between the frameworks and each adapter must get right: mount paths and prefixes
// (the public URL includes them), a Web runtime that joins repeated headers, the typed decoration.
import { createServer } from 'node:http';
import { connect, createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createProof, type DpopKey, generateDpopKey, NonceManager } from '@keybound/core';
import { createResourceServer, type ResourceServer } from '@keybound/resource-server';
import { keyboundExpress } from '@keybound/resource-server/express';
import { keyboundFastify } from '@keybound/resource-server/fastify';
import { type KeyboundHonoEnv, keyboundHono } from '@keybound/resource-server/hono';
import { keyboundNode } from '@keybound/resource-server/node';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki } from './support/certs.js';
import { send } from './support/http.js';
import { TestIssuer } from './support/issuer.js';

const ORIGIN = 'https://api.example.com';
let issuer: TestIssuer;
let key: DpopKey;
let rs: ResourceServer;

beforeAll(async () => {
  issuer = await TestIssuer.start();
  key = await generateDpopKey('ES256');
  rs = createResourceServer({
    policy: {
      resource: ORIGIN,
      publicOrigins: [ORIGIN],
      issuers: [{ issuer: issuer.issuer, jwksUri: issuer.jwksUri }],
      defaults: { require: 'dpop' },
    },
  });
});
afterAll(() => issuer.close());

async function headersFor(publicPath: string): Promise<Record<string, string>> {
  const token = await issuer.mint({ aud: ORIGIN, client_id: 'app', cnf: { jkt: key.jkt } });
  return {
    host: 'api.example.com',
    authorization: `DPoP ${token}`,
    dpop: await createProof(key, { htm: 'GET', htu: `${ORIGIN}${publicPath}`, accessToken: token }),
  };
}

describe('adapters', () => {
  it('Express: uses the full path of a router mounted under a prefix', async () => {
    const app = express();
    const api = express.Router();
    api.use(keyboundExpress(rs));
    api.get('/items', (req, res) => {
      res.json({ client: req.keybound?.clientId });
    });
    app.use('/api', api);
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await send(url, '/api/items', { headers: await headersFor('/api/items') })).body).toEqual({
        client: 'app',
      });
      expect((await send(url, '/api/items', { headers: await headersFor('/items') })).status).toBe(401);
    } finally {
      server.close();
    }
  });

  it('Fastify: protects the routes of the context it is registered in, with its prefix', async () => {
    const app = Fastify();
    await app.register(
      async (api) => {
        await api.register(keyboundFastify, { resourceServer: rs });
        api.get('/items', async (request) => ({ client: request.keybound?.clientId }));
      },
      { prefix: '/v1' },
    );
    app.get('/health', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      expect((await send(url, '/v1/items', { headers: await headersFor('/v1/items') })).body).toEqual({
        client: 'app',
      });
      expect((await send(url, '/v1/items')).status).toBe(401);
      // a route outside the context stays public
      expect((await send(url, '/health')).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('Hono on a Web runtime: refuses an Authorization header that the runtime joined from two', async () => {
    const app = new Hono<KeyboundHonoEnv>();
    app.use(keyboundHono(rs));
    app.get('/items', (c) => c.json({ client: c.get('keybound').clientId }));
    const h = await headersFor('/items');
    const ok = await app.fetch(new Request(`${ORIGIN}/items`, { headers: h }));
    expect(await ok.json()).toEqual({ client: 'app' });
    const joined = new Headers(h);
    joined.append('authorization', h.authorization!);
    const refused = await app.fetch(new Request(`${ORIGIN}/items`, { headers: joined }));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_request' });
    const twoProofs = new Headers(await headersFor('/items'));
    twoProofs.append('dpop', twoProofs.get('dpop')!);
    expect((await app.fetch(new Request(`${ORIGIN}/items`, { headers: twoProofs }))).status).toBe(401);
  });

  it('Hono: adds the nonce and CORS exposure to a Response with immutable headers, keeping what the app exposes', async () => {
    const nonces = new NonceManager({ secrets: ['0123456789abcdef0123456789abcdef'] });
    const withNonce = createResourceServer({
      policy: {
        resource: ORIGIN,
        publicOrigins: [ORIGIN],
        issuers: [{ issuer: issuer.issuer, jwksUri: issuer.jwksUri }],
        defaults: { require: 'none', nonce: true },
      },
      nonces,
    });
    const app = new Hono<KeyboundHonoEnv>();
    app.use(keyboundHono(withNonce));
    app.get('/redirect', () => Response.redirect(`${ORIGIN}/elsewhere`, 302));
    app.get(
      '/exposes',
      () => new Response('ok', { headers: { 'access-control-expose-headers': 'X-Request-Id' } }),
    );
    app.get('/text', (c) => c.text('ok'));
    const t = await issuer.mint({ aud: ORIGIN, client_id: 'app' });
    const get = (path: string) =>
      app.fetch(
        new Request(`${ORIGIN}${path}`, {
          headers: { authorization: `Bearer ${t}`, origin: 'https://app.example' },
        }),
      );
    const redirect = await get('/redirect');
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe(`${ORIGIN}/elsewhere`);
    expect(await nonces.check(redirect.headers.get('dpop-nonce')!)).toBe('valid');
    expect(redirect.headers.get('access-control-expose-headers')).toBe('DPoP-Nonce, WWW-Authenticate');
    expect((await get('/exposes')).headers.get('access-control-expose-headers')).toBe(
      'X-Request-Id, DPoP-Nonce, WWW-Authenticate',
    );
    expect((await get('/text')).headers.get('access-control-expose-headers')).toBe(
      'DPoP-Nonce, WWW-Authenticate',
    );
  });

  it('Hono: takes the peer address and TLS facts from the peer option', async () => {
    const trusting = createResourceServer({
      policy: {
        resource: ORIGIN,
        trustedProxies: ['10.0.0.1'],
        issuers: [{ issuer: issuer.issuer, jwksUri: issuer.jwksUri }],
        defaults: { require: 'dpop' },
      },
    });
    const app = new Hono<KeyboundHonoEnv>();
    app.use(keyboundHono(trusting, { peer: () => ({ address: '10.0.0.1', tls: { encrypted: false } }) }));
    app.get('/items', (c) => c.json({ jkt: c.get('keybound').jkt }));
    const h = await headersFor('/items');
    const res = await app.fetch(
      new Request('http://10.0.0.9:8080/items', {
        headers: { ...h, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' },
      }),
    );
    expect(await res.json()).toEqual({ jkt: key.jkt });
  });

  it('node: works on HTTP/2 (compat API) with :authority and a TLS client certificate', async () => {
    const pki = makePki();
    const listener = keyboundNode(rs);
    const server = createSecureServer(
      { key: pki.server.key, cert: pki.server.pem, requestCert: true, rejectUnauthorized: false },
      async (req, res) => {
        const auth = await listener(req, res);
        if (auth !== undefined) res.end(JSON.stringify({ binding: auth.binding }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const session = connect(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      rejectUnauthorized: false,
      cert: pki.alice.pem,
      key: pki.alice.key,
    });
    const get = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({ ':path': '/items', ':authority': 'api.example.com', ...headers });
        let status = 0;
        let body = '';
        stream.on('response', (h) => {
          status = Number(h[':status']);
        });
        stream.on('data', (c: Buffer) => {
          body += c.toString();
        });
        stream.on('end', () => resolve({ status, body }));
        stream.on('error', reject);
      });
    try {
      const { host: _host, ...h } = await headersFor('/items');
      expect(await get(h)).toEqual({ status: 200, body: '{"binding":"dpop"}' });
      expect((await get({})).status).toBe(401);
    } finally {
      session.close();
      server.close();
    }
  });

  it('node: the guard answers refusals itself and hands allowed requests on', async () => {
    const guard = keyboundNode(rs);
    const server = createServer(async (req, res) => {
      const auth = await guard(req, res);
      if (auth === undefined) return;
      res.end(JSON.stringify({ binding: auth.binding }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await send(url, '/items', { headers: await headersFor('/items') })).body).toEqual({
        binding: 'dpop',
      });
      const refused = await send(url, '/items');
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('DPoP algs="ES256 ES384 EdDSA Ed25519 PS256 RS256"');
      const meta = await send(url, '/.well-known/oauth-protected-resource', { method: 'POST' });
      expect(meta.status).toBe(405);
    } finally {
      server.close();
    }
  });
});
