import {
  discover,
  generateDpopKey,
  isKeyboundError,
  type KeyboundError,
  OAuthClient,
  parseTokenResponse,
} from '@keybound/client';
import { afterEach, describe, expect, it } from 'vitest';
import { type Handler, listen } from './helpers/http-test-server.js';
import { type RawResponse, startTestAuthorizationServer } from './helpers/test-oauth-servers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

const TOKEN = 'at_secret_value_that_must_never_appear_in_errors';

/** A token endpoint that answers every request with `raw`, and the error the client throws for it. */
async function tokenErrorFor(raw: RawResponse, options: { dpop?: boolean; maxResponseBytes?: number } = {}) {
  const as = await startTestAuthorizationServer({
    clients: { c: { auth: 'client_secret_post', secret: 's' } },
    requireNonce: false,
    override: () => raw,
  });
  closers.push(() => as.close());
  const c = await OAuthClient.discover(as.issuer, {
    clientId: 'c',
    clientAuth: { method: 'client_secret_post', clientSecret: 's' },
    ...(options.dpop === false ? {} : { dpopKey: await generateDpopKey() }),
    ...(options.maxResponseBytes !== undefined ? { maxResponseBytes: options.maxResponseBytes } : {}),
  });
  const error = await c.clientCredentials().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isKeyboundError(error)).toBe(true);
  const e = error as KeyboundError;
  // diagnostics never carry the token the server sent
  expect(`${e.message} ${JSON.stringify(e.toJSON())}`).not.toContain(TOKEN);
  return { error: e, as };
}

const json = (body: unknown, status = 200): RawResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('hostile token endpoint responses give typed errors', () => {
  it.each([
    ['truncated JSON', json(`{"access_token":"${TOKEN}","token_type":`)],
    ['a JSON array', json([TOKEN])],
    ['JSON null', json('null')],
    ['a JSON string', json(`"${TOKEN}"`)],
    ['an empty body', json('')],
    [
      'bytes that are not UTF-8',
      {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      },
    ],
  ])('refuses %s as response_malformed', async (_name, raw) => {
    const { error } = await tokenErrorFor(raw);
    expect(error.code).toBe('response_malformed');
  });

  it.each([
    ['no access_token', { token_type: 'DPoP', expires_in: 60 }, 'access_token'],
    ['an empty access_token', { access_token: '', token_type: 'DPoP' }, 'access_token'],
    ['a numeric access_token', { access_token: 42, token_type: 'DPoP' }, 'access_token'],
    [
      'an access_token a header cannot carry',
      { access_token: `${TOKEN}\r\nX-Injected: 1`, token_type: 'DPoP' },
      'access_token',
    ],
    ['no token_type', { access_token: TOKEN }, 'token_type'],
    ['a negative expires_in', { access_token: TOKEN, token_type: 'DPoP', expires_in: -5 }, 'expires_in'],
    ['a string expires_in', { access_token: TOKEN, token_type: 'DPoP', expires_in: '3600' }, 'expires_in'],
    ['an absurd expires_in', { access_token: TOKEN, token_type: 'DPoP', expires_in: 1e12 }, 'expires_in'],
    [
      'a numeric refresh_token',
      { access_token: TOKEN, token_type: 'DPoP', refresh_token: 7 },
      'refresh_token',
    ],
    ['an object scope', { access_token: TOKEN, token_type: 'DPoP', scope: { a: 1 } }, 'scope'],
  ])('refuses a token response with %s, naming the member', async (_name, body, member) => {
    const { error } = await tokenErrorFor(json(body));
    expect(error.code).toBe('response_malformed');
    expect(error.detail.member).toBe(member);
  });

  it('refuses a Bearer token where a DPoP-bound one was requested (RFC 9449 §5 downgrade)', async () => {
    const { error } = await tokenErrorFor(
      json({ access_token: TOKEN, token_type: 'Bearer', expires_in: 60 }),
    );
    expect(error.code).toBe('token_type_mismatch');
    expect(error.detail).toMatchObject({ expected: 'DPoP', received: 'Bearer' });
  });

  it('refuses a DPoP token type where a Bearer (certificate-bound) token was requested', async () => {
    const { error } = await tokenErrorFor(json({ access_token: TOKEN, token_type: 'DPoP' }), { dpop: false });
    expect(error.code).toBe('token_type_mismatch');
  });

  it('stops reading a streamed body past the limit (response_too_large)', async () => {
    let sent = 0;
    const { error } = await tokenErrorFor(
      {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: async function* () {
          yield Buffer.from(`{"access_token":"${TOKEN}","pad":"`);
          for (let i = 0; i < 4096; i++) {
            sent += 16 * 1024;
            yield Buffer.alloc(16 * 1024, 0x61);
          }
        },
      },
      { maxResponseBytes: 64 * 1024 },
    );
    expect(error.code).toBe('response_too_large');
    expect(sent).toBeLessThan(4096 * 16 * 1024);
  });

  it('refuses a declared Content-Length over the limit without reading the body', async () => {
    const { error } = await tokenErrorFor({
      status: 200,
      headers: { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) },
      body: async function* () {
        for (let i = 0; i < 640; i++) yield Buffer.alloc(16 * 1024, 0x61);
      },
    });
    expect(error.code).toBe('response_too_large');
    expect(error.detail.received).toBe(10 * 1024 * 1024);
  });

  it('reports an HTML error page as response_malformed with the status', async () => {
    const { error } = await tokenErrorFor({
      status: 502,
      headers: { 'content-type': 'text/html' },
      body: '<h1>Bad gateway</h1>',
    });
    expect(error.code).toBe('response_malformed');
    expect(error.detail.status).toBe(502);
  });

  it('reports an OAuth error with its code, and clips a long description with control characters', async () => {
    const { error } = await tokenErrorFor(
      json({ error: 'invalid_scope', error_description: `bad\u0000\r\n${'y'.repeat(10_000)}` }, 400),
    );
    expect(error.code).toBe('token_request_failed');
    expect(error.detail.error).toBe('invalid_scope');
    const description = String(error.detail.errorDescription);
    expect(description.length).toBeLessThanOrEqual(201);
    // printable ASCII, and the ellipsis that marks the cut
    expect(description).toMatch(/^[\x20-\x7e]+…$/);
  });

  it('reports a connection the server drops as server_unreachable', async () => {
    const server = await listen((req) => req.socket.destroy());
    closers.push(() => server.close());
    const c = new OAuthClient({
      metadata: { issuer: server.origin, token_endpoint: `${server.origin}/token` },
      clientId: 'c',
      dpopKey: await generateDpopKey(),
    });
    await expect(c.clientCredentials()).rejects.toMatchObject({ code: 'server_unreachable' });
  });

  it('gives up after one nonce retry at a token endpoint that keeps asking', async () => {
    let count = 0;
    const server = await listen((_req, res) => {
      count++;
      res.writeHead(400, { 'content-type': 'application/json', 'dpop-nonce': `n${count}` });
      res.end('{"error":"use_dpop_nonce"}');
    });
    closers.push(() => server.close());
    const c = new OAuthClient({
      metadata: { issuer: server.origin, token_endpoint: `${server.origin}/token` },
      clientId: 'c',
      dpopKey: await generateDpopKey(),
    });
    const error = (await c.clientCredentials().catch((e: unknown) => e)) as KeyboundError;
    expect(error.code).toBe('token_request_failed');
    expect(error.detail.error).toBe('use_dpop_nonce');
    expect(count).toBe(2);
  });

  it('accepts the RFC 9449 example access token value (token68 with ~ and .)', () => {
    const tokens = parseTokenResponse(
      { access_token: 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU', token_type: 'DPoP', expires_in: 2677 },
      { tokenType: 'DPoP', receivedAt: 1_000 },
    );
    expect(tokens).toEqual({
      accessToken: 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU',
      tokenType: 'DPoP',
      expiresAt: 2_678_000,
    });
  });

  it('refuses a PAR response without request_uri', async () => {
    const server = await listen((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"expires_in":60}');
    });
    closers.push(() => server.close());
    const c = new OAuthClient({
      metadata: {
        issuer: server.origin,
        token_endpoint: `${server.origin}/token`,
        authorization_endpoint: `${server.origin}/authorize`,
        pushed_authorization_request_endpoint: `${server.origin}/par`,
      },
      clientId: 'c',
    });
    await expect(c.authorizationUrl({ redirectUri: 'http://127.0.0.1/cb', par: true })).rejects.toMatchObject(
      {
        code: 'response_malformed',
      },
    );
  });
});

/** A server that answers metadata requests through `handler`. */
async function metadataServer(handler: (origin: string, path: string) => { status: number; body: string }) {
  let origin = '';
  const requests: string[] = [];
  const h: Handler = (req, res) => {
    requests.push(req.url ?? '');
    const { status, body } = handler(origin, req.url ?? '');
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };
  const server = await listen(h);
  origin = server.origin;
  closers.push(() => server.close());
  return { origin, requests };
}

describe('discovery (RFC 8414)', () => {
  it('inserts the well-known path between host and issuer path', async () => {
    const { origin, requests } = await metadataServer((o, path) =>
      path === '/.well-known/oauth-authorization-server/tenant/a'
        ? {
            status: 200,
            body: JSON.stringify({ issuer: `${o}/tenant/a`, token_endpoint: `${o}/tenant/a/token` }),
          }
        : { status: 404, body: '{}' },
    );
    const metadata = await discover(`${origin}/tenant/a`);
    expect(metadata.token_endpoint).toBe(`${origin}/tenant/a/token`);
    expect(requests).toEqual(['/.well-known/oauth-authorization-server/tenant/a']);
  });

  it('falls back to openid-configuration when the RFC 8414 document is not there', async () => {
    const { origin, requests } = await metadataServer((o, path) =>
      path === '/.well-known/openid-configuration'
        ? { status: 200, body: JSON.stringify({ issuer: o, token_endpoint: `${o}/token` }) }
        : { status: 404, body: '{}' },
    );
    expect((await discover(origin)).issuer).toBe(origin);
    expect(requests).toEqual([
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
    ]);
  });

  it.each([
    ['another issuer', (o: string) => ({ issuer: 'https://evil.example', token_endpoint: `${o}/token` })],
    ['no token endpoint', (o: string) => ({ issuer: o })],
    [
      'a plain-http token endpoint on a public host',
      (o: string) => ({ issuer: o, token_endpoint: 'http://evil.example/token' }),
    ],
    [
      'a token endpoint with credentials in it',
      (o: string) => ({ issuer: o, token_endpoint: 'https://u:p@evil.example/token' }),
    ],
    [
      'a javascript: authorization endpoint',
      (o: string) => ({ issuer: o, token_endpoint: `${o}/t`, authorization_endpoint: 'javascript:alert(1)' }),
    ],
    [
      'mtls aliases that are not an object',
      (o: string) => ({ issuer: o, token_endpoint: `${o}/t`, mtls_endpoint_aliases: 'x' }),
    ],
    [
      'an mtls alias on plain http',
      (o: string) => ({
        issuer: o,
        token_endpoint: `${o}/t`,
        mtls_endpoint_aliases: { token_endpoint: 'http://evil.example/t' },
      }),
    ],
    [
      'DPoP algorithms that are not a list of strings',
      (o: string) => ({ issuer: o, token_endpoint: `${o}/t`, dpop_signing_alg_values_supported: 'ES256' }),
    ],
    [
      'a non-boolean iss-parameter flag',
      (o: string) => ({
        issuer: o,
        token_endpoint: `${o}/t`,
        authorization_response_iss_parameter_supported: 'yes',
      }),
    ],
  ])('refuses metadata with %s (metadata_invalid)', async (_name, make) => {
    const { origin } = await metadataServer((o) => ({ status: 200, body: JSON.stringify(make(o)) }));
    await expect(discover(origin)).rejects.toMatchObject({ code: 'metadata_invalid' });
  });

  it('refuses a metadata document that is not JSON, too large, or an error page', async () => {
    const notJson = await metadataServer(() => ({ status: 200, body: '<html>' }));
    await expect(discover(notJson.origin)).rejects.toMatchObject({ code: 'response_malformed' });
    const huge = await metadataServer((o) => ({
      status: 200,
      body: JSON.stringify({ issuer: o, token_endpoint: `${o}/t`, pad: 'x'.repeat(300_000) }),
    }));
    await expect(discover(huge.origin)).rejects.toMatchObject({ code: 'response_too_large' });
    const failing = await metadataServer(() => ({ status: 500, body: '{}' }));
    await expect(discover(failing.origin)).rejects.toMatchObject({
      code: 'metadata_invalid',
      detail: { received: 500 },
    });
    const missing = await metadataServer(() => ({ status: 404, body: '{}' }));
    await expect(discover(missing.origin)).rejects.toMatchObject({
      code: 'metadata_invalid',
      detail: { received: 404 },
    });
  });

  it('refuses an issuer that is not an https URL (http only on loopback)', async () => {
    await expect(discover('http://example.com')).rejects.toMatchObject({ code: 'metadata_invalid' });
    await expect(discover('not a url')).rejects.toMatchObject({ code: 'metadata_invalid' });
    await expect(discover('https://example.com/?tenant=1')).rejects.toMatchObject({
      code: 'metadata_invalid',
    });
  });

  it('reports an unreachable issuer as server_unreachable', async () => {
    const { origin } = await metadataServer(() => ({ status: 200, body: '{}' }));
    await Promise.all(closers.splice(0).map((c) => c()));
    await expect(discover(origin)).rejects.toMatchObject({ code: 'server_unreachable' });
  });
});
