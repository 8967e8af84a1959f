import {
  type AuthorizationRequest,
  generateDpopKey,
  isKeyboundError,
  KeyboundError,
  OAuthClient,
  type OAuthClientOptions,
  type TokenSet,
} from '@keybound/client';
import { importJWK, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startTestAuthorizationServer,
  startTestResourceServer,
  type TestAuthorizationServer,
  type TestAuthorizationServerOptions,
  type TestResourceServer,
} from './helpers/test-oauth-servers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

const REDIRECT = 'http://127.0.0.1:1/callback';

async function setup(options: Partial<TestAuthorizationServerOptions> = {}) {
  const clientKey = await generateDpopKey('ES256', { extractable: true });
  const as = await startTestAuthorizationServer({
    clients: {
      basic: { auth: 'client_secret_basic', secret: 'sécret with spaces', redirectUris: [REDIRECT] },
      post: { auth: 'client_secret_post', secret: 's3cret' },
      jwt: {
        auth: 'private_key_jwt',
        jwk: clientKey.publicJwk as unknown as Record<string, unknown>,
        alg: 'ES256',
      },
      spa: { auth: 'none', redirectUris: [REDIRECT] },
    },
    ...options,
  });
  closers.push(() => as.close());
  const rs = await startTestResourceServer({ tokens: as.tokens });
  closers.push(() => rs.close());
  return { as, rs, clientKey };
}

async function client(
  as: TestAuthorizationServer,
  rs: TestResourceServer,
  options: Omit<OAuthClientOptions, 'metadata'>,
): Promise<OAuthClient> {
  return OAuthClient.discover(as.issuer, { protectedOrigins: [rs.origin], ...options });
}

/** Plays the browser: follows the authorization URL to the redirect the AS answers with. */
async function authorize(request: AuthorizationRequest): Promise<string> {
  const response = await fetch(request.url, { redirect: 'manual' });
  expect(response.status).toBe(302);
  return response.headers.get('location')!;
}

async function login(c: OAuthClient, scope = 'read'): Promise<TokenSet> {
  const request = await c.authorizationUrl({ redirectUri: REDIRECT, scope });
  return c.handleRedirect(await authorize(request), request);
}

const grants = (as: TestAuthorizationServer, grant: string) => as.requests.filter((r) => r.grant === grant);

describe('client_credentials with DPoP', () => {
  it('discovers the metadata, gets a DPoP-bound token after one use_dpop_nonce retry, and calls the API', async () => {
    const { as, rs } = await setup();
    const key = await generateDpopKey();
    const c = await client(as, rs, {
      clientId: 'basic',
      clientAuth: { method: 'client_secret_basic', clientSecret: 'sécret with spaces' },
      dpopKey: key,
    });
    const tokens = await c.clientCredentials({ scope: 'read' });
    expect(tokens.tokenType).toBe('DPoP');
    expect(as.requests.map((r) => [r.status, r.error])).toEqual([
      [400, 'use_dpop_nonce'],
      [200, undefined],
    ]);
    expect(as.tokens.get(tokens.accessToken)!.jkt).toBe(key.jkt);
    const response = await c.fetch(`${rs.origin}/api/me`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ clientId: 'basic', jkt: key.jkt });
  });

  it('authenticates with client_secret_post', async () => {
    const { as, rs } = await setup();
    const c = await client(as, rs, {
      clientId: 'post',
      clientAuth: { method: 'client_secret_post', clientSecret: 's3cret' },
      dpopKey: await generateDpopKey(),
    });
    await c.clientCredentials();
    expect(as.requests.at(-1)!.status).toBe(200);
  });

  it('authenticates with private_key_jwt signed by a separate client key, with a new assertion for the nonce retry', async () => {
    const { as, rs, clientKey } = await setup();
    const dpopKey = await generateDpopKey();
    const c = await client(as, rs, {
      clientId: 'jwt',
      clientAuth: { method: 'private_key_jwt', key: clientKey },
      dpopKey,
    });
    await c.clientCredentials();
    const [first, second] = as.requests;
    expect(first!.status).toBe(400);
    expect(second!.status).toBe(200);
    expect(second!.clientAuthenticated).toBe('private_key_jwt');
    expect(first!.clientAssertionJti).toBeDefined();
    expect(second!.clientAssertionJti).not.toBe(first!.clientAssertionJti);
    // the proof key and the client key are different keys
    expect(second!.jkt).toBe(dpopKey.jkt);
    expect(second!.jkt).not.toBe(clientKey.jkt);
  });

  it('signs a client assertion that jose verifies with the registered audience choices', async () => {
    const { as, rs, clientKey } = await setup();
    for (const audience of ['issuer', 'token_endpoint'] as const) {
      const c = await client(as, rs, {
        clientId: 'jwt',
        clientAuth: { method: 'private_key_jwt', key: clientKey, kid: 'k1', audience },
        dpopKey: await generateDpopKey(),
      });
      await c.clientCredentials();
      expect(as.requests.at(-1)!.clientAuthenticated).toBe('private_key_jwt');
    }
    const { createClientAssertion } = await import('@keybound/client');
    const jwt = await createClientAssertion(clientKey, {
      clientId: 'jwt',
      audience: as.issuer,
      iat: 1_700_000_000,
      kid: 'k1',
    });
    const { payload, protectedHeader } = await jwtVerify(
      jwt,
      await importJWK({ ...clientKey.publicJwk }, 'ES256'),
      {
        currentDate: new Date(1_700_000_010_000),
        issuer: 'jwt',
        subject: 'jwt',
        audience: as.issuer,
      },
    );
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'JWT', kid: 'k1' });
    expect(payload.exp! - payload.iat!).toBe(60);
  });

  it('reports a client the server does not authenticate as token_request_failed with the OAuth error', async () => {
    const { as, rs } = await setup();
    const stranger = await generateDpopKey();
    const c = await client(as, rs, {
      clientId: 'jwt',
      clientAuth: { method: 'private_key_jwt', key: stranger },
      dpopKey: await generateDpopKey(),
    });
    const error = await c.clientCredentials().catch((e: unknown) => e);
    expect(isKeyboundError(error, 'token_request_failed')).toBe(true);
    expect((error as KeyboundError).detail).toMatchObject({ status: 401, error: 'invalid_client' });
  });

  it('requests a new client_credentials token when the current one is about to expire', async () => {
    const { as, rs } = await setup({ lifetime: (_grant, n) => (n === 1 ? 10 : 3600) });
    const c = await client(as, rs, {
      clientId: 'post',
      clientAuth: { method: 'client_secret_post', clientSecret: 's3cret' },
      dpopKey: await generateDpopKey(),
    });
    const first = await c.clientCredentials();
    const calls = await Promise.all(Array.from({ length: 5 }, () => c.fetch(`${rs.origin}/api/x`)));
    expect(calls.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(grants(as, 'client_credentials').filter((r) => r.status === 200)).toHaveLength(2);
    expect(c.tokens!.accessToken).not.toBe(first.accessToken);
  });

  it('refuses to build a client whose key algorithm the server does not accept for proofs', async () => {
    const { as, rs } = await setup();
    const error = await client(as, rs, { clientId: 'post', dpopKey: await generateDpopKey('ES384') }).catch(
      (e: unknown) => e,
    );
    expect(isKeyboundError(error, 'alg_not_allowed')).toBe(true);
  });
});

describe('authorization code with PKCE and dpop_jkt', () => {
  it('builds the authorization URL with S256, state and the key thumbprint, and exchanges the code with a proof', async () => {
    const { as, rs } = await setup();
    const key = await generateDpopKey('EdDSA');
    const c = await client(as, rs, { clientId: 'spa', dpopKey: key });
    const request = await c.authorizationUrl({ redirectUri: REDIRECT, scope: 'read write' });
    const url = new URL(request.url);
    expect(url.origin + url.pathname).toBe(`${as.issuer}/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: REDIRECT,
      scope: 'read write',
      code_challenge_method: 'S256',
      dpop_jkt: key.jkt,
      state: request.state,
    });
    expect(request.codeVerifier).toMatch(/^[\w-]{43}$/);
    const tokens = await c.handleRedirect(await authorize(request), request);
    expect(tokens).toMatchObject({ tokenType: 'DPoP', scope: 'read write' });
    expect(tokens.refreshToken).toBeDefined();
    expect(grants(as, 'authorization_code').at(-1)!.jkt).toBe(key.jkt);
    expect((await c.fetch(`${rs.origin}/api/profile`)).status).toBe(200);
  });

  it('sends every RFC 8707 resource indicator and keeps the query of the authorization endpoint', async () => {
    const { as, rs } = await setup();
    const c = await client(as, rs, { clientId: 'spa', dpopKey: await generateDpopKey() });
    const request = await c.authorizationUrl({
      redirectUri: REDIRECT,
      resource: ['https://api.example/a', 'https://api.example/b'],
      extraParams: { prompt: 'login' },
    });
    const params = new URL(request.url).searchParams;
    expect(params.getAll('resource')).toEqual(['https://api.example/a', 'https://api.example/b']);
    expect(params.get('prompt')).toBe('login');
    const custom = new OAuthClient({
      metadata: { ...c.metadata, authorization_endpoint: `${as.issuer}/authorize?tenant=7` },
      clientId: 'spa',
    });
    expect(
      new URL((await custom.authorizationUrl({ redirectUri: REDIRECT })).url).searchParams.get('tenant'),
    ).toBe('7');
  });

  it('pushes the authorization request (PAR) with a proof and sends only request_uri to the browser', async () => {
    const { as, rs } = await setup();
    const key = await generateDpopKey();
    const c = await client(as, rs, { clientId: 'spa', dpopKey: key });
    const request = await c.authorizationUrl({ redirectUri: REDIRECT, par: true });
    const url = new URL(request.url);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(grants(as, 'par').at(-1)).toMatchObject({ status: 201, jkt: key.jkt });
    await c.handleRedirect(await authorize(request), request);
    expect(c.tokens!.tokenType).toBe('DPoP');
  });

  it('cannot redeem the code with another key than the dpop_jkt it was issued for', async () => {
    const { as, rs } = await setup();
    const c = await client(as, rs, { clientId: 'spa', dpopKey: await generateDpopKey() });
    const request = await c.authorizationUrl({ redirectUri: REDIRECT });
    const thief = await client(as, rs, { clientId: 'spa', dpopKey: await generateDpopKey() });
    const error = await thief.handleRedirect(await authorize(request), request).catch((e: unknown) => e);
    expect(isKeyboundError(error, 'token_request_failed')).toBe(true);
    expect((error as KeyboundError).detail.error).toBe('invalid_grant');
  });

  it('refuses a redirect whose state is not the one sent, before any token request', async () => {
    const { as, rs } = await setup();
    const c = await client(as, rs, { clientId: 'spa', dpopKey: await generateDpopKey() });
    const request = await c.authorizationUrl({ redirectUri: REDIRECT });
    const location = new URL(await authorize(request));
    location.searchParams.set('state', 'forged');
    await expect(c.handleRedirect(location, request)).rejects.toMatchObject({ code: 'state_mismatch' });
    const noIss = new URL(await authorize(request));
    noIss.searchParams.delete('iss');
    // the AS announces authorization_response_iss_parameter_supported: a missing iss is refused (RFC 9207)
    await expect(c.handleRedirect(noIss, request)).rejects.toMatchObject({ code: 'state_mismatch' });
    const otherIss = new URL(await authorize(request));
    otherIss.searchParams.set('iss', 'https://evil.example');
    await expect(c.handleRedirect(otherIss, request)).rejects.toMatchObject({ code: 'state_mismatch' });
    expect(grants(as, 'authorization_code')).toHaveLength(0);
  });

  it('reports an error redirect as authorization_failed with the error, clipped and printable', async () => {
    const { as, rs } = await setup();
    const c = await client(as, rs, { clientId: 'spa', dpopKey: await generateDpopKey() });
    const request = await c.authorizationUrl({ redirectUri: REDIRECT });
    const back = new URL(REDIRECT);
    back.search = new URLSearchParams({
      error: 'access_denied',
      error_description: `no\r\nway ${'x'.repeat(500)}`,
      state: request.state,
      iss: as.issuer,
    }).toString();
    const error = (await c.handleRedirect(back, request).catch((e: unknown) => e)) as KeyboundError;
    expect(error.code).toBe('authorization_failed');
    expect(error.detail.error).toBe('access_denied');
    expect(String(error.detail.errorDescription)).not.toMatch(/[\r\n]/);
    expect(String(error.detail.errorDescription).length).toBeLessThanOrEqual(201);
  });

  it('refuses a redirect that repeats state or has no code', async () => {
    const { as, rs } = await setup();
    const c = await client(as, rs, { clientId: 'spa', dpopKey: await generateDpopKey() });
    const request = await c.authorizationUrl({ redirectUri: REDIRECT });
    const twice = `${REDIRECT}?state=${request.state}&state=${request.state}&code=a&iss=${encodeURIComponent(as.issuer)}`;
    await expect(c.handleRedirect(twice, request)).rejects.toMatchObject({ code: 'authorization_failed' });
    const noCode = `${REDIRECT}?state=${request.state}&iss=${encodeURIComponent(as.issuer)}`;
    await expect(c.handleRedirect(noCode, request)).rejects.toMatchObject({ code: 'authorization_failed' });
  });
});

describe('refresh', () => {
  it('refreshes before expiry with the same key, then calls the API with the new token', async () => {
    const { as, rs } = await setup({ lifetime: (grant) => (grant === 'authorization_code' ? 20 : 3600) });
    const key = await generateDpopKey();
    const c = await client(as, rs, { clientId: 'spa', dpopKey: key });
    const first = await login(c);
    expect((await c.fetch(`${rs.origin}/api/a`)).status).toBe(200);
    const refreshes = grants(as, 'refresh_token');
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]).toMatchObject({ status: 200, jkt: key.jkt });
    expect(c.tokens!.accessToken).not.toBe(first.accessToken);
    expect(c.tokens!.refreshToken).not.toBe(first.refreshToken);
    // a token far from expiry is not refreshed
    await c.fetch(`${rs.origin}/api/b`);
    expect(grants(as, 'refresh_token')).toHaveLength(1);
  });

  it('makes one refresh request for many concurrent calls (single-flight)', async () => {
    const { as, rs } = await setup({ lifetime: (grant) => (grant === 'authorization_code' ? 5 : 3600) });
    const c = await client(as, rs, { clientId: 'spa', dpopKey: await generateDpopKey() });
    await login(c);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => c.fetch(`${rs.origin}/api/item/${i}`)),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(grants(as, 'refresh_token')).toHaveLength(1);
    const explicit = await Promise.all([c.refresh(), c.refresh(), c.refresh()]);
    expect(new Set(explicit.map((t) => t.accessToken)).size).toBe(1);
    expect(grants(as, 'refresh_token')).toHaveLength(2);
  });

  it('drops a refresh token the server rejects and then asks for a login', async () => {
    const { as, rs } = await setup();
    const seen: Array<TokenSet | undefined> = [];
    const c = await client(as, rs, {
      clientId: 'spa',
      dpopKey: await generateDpopKey(),
      onTokens: (t) => seen.push(t),
    });
    await login(c);
    await c.refresh();
    // replay the first refresh token: the server rotated it
    const stale = { ...c.tokens!, refreshToken: 'rt_unknown', expiresAt: 0 };
    const c2 = await client(as, rs, { clientId: 'spa', dpopKey: c.dpopKey!, tokens: stale });
    await expect(c2.getAccessToken()).rejects.toMatchObject({ code: 'token_request_failed' });
    await expect(c2.getAccessToken()).rejects.toMatchObject({ code: 'login_required' });
    expect(seen.length).toBe(2);
  });

  it('asks for a login when there is neither a token nor a grant to renew it', async () => {
    const { as, rs } = await setup();
    const c = await client(as, rs, { clientId: 'spa', dpopKey: await generateDpopKey() });
    await expect(c.getAccessToken()).rejects.toMatchObject({ code: 'login_required' });
    await expect(c.refresh()).rejects.toMatchObject({ code: 'login_required' });
  });
});

describe('key rotation', () => {
  it('re-binds a confidential client refresh token to the new key', async () => {
    const { as, rs } = await setup();
    const oldKey = await generateDpopKey();
    const c = await client(as, rs, {
      clientId: 'basic',
      clientAuth: { method: 'client_secret_basic', clientSecret: 'sécret with spaces' },
      dpopKey: oldKey,
    });
    await login(c);
    const newKey = await generateDpopKey('EdDSA');
    const tokens = await c.rotateKey(newKey);
    expect(c.dpopKey!.jkt).toBe(newKey.jkt);
    expect(as.tokens.get(tokens!.accessToken)!.jkt).toBe(newKey.jkt);
    expect(grants(as, 'refresh_token').at(-1)!.jkt).toBe(newKey.jkt);
    const response = await c.fetch(`${rs.origin}/api/after-rotation`);
    expect(await response.json()).toMatchObject({ jkt: newKey.jkt });
    // and the next refresh uses the new key too
    await c.refresh();
    expect(grants(as, 'refresh_token').at(-1)!.jkt).toBe(newKey.jkt);
  });

  it('never pairs a token with the other key while requests run during a rotation', async () => {
    const { as, rs } = await setup();
    const c = await client(as, rs, {
      clientId: 'basic',
      clientAuth: { method: 'client_secret_basic', clientSecret: 'sécret with spaces' },
      dpopKey: await generateDpopKey(),
    });
    await login(c);
    const during = Array.from({ length: 10 }, (_, i) => c.fetch(`${rs.origin}/api/during/${i}`));
    const rotation = c.rotateKey(await generateDpopKey());
    const after = Array.from({ length: 10 }, (_, i) => c.fetch(`${rs.origin}/api/after/${i}`));
    const responses = await Promise.all([...during, ...after]);
    await rotation;
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
  });

  it('keeps the old key and tokens when the server holds a public client to RFC 9449 §5', async () => {
    const { as, rs } = await setup();
    const oldKey = await generateDpopKey();
    const c = await client(as, rs, { clientId: 'spa', dpopKey: oldKey });
    const before = await login(c);
    const error = await c.rotateKey(await generateDpopKey()).catch((e: unknown) => e);
    expect(isKeyboundError(error, 'key_rotation_refused')).toBe(true);
    expect((error as KeyboundError).detail.error).toBe('invalid_grant');
    expect(c.dpopKey!.jkt).toBe(oldKey.jkt);
    expect(c.tokens!.accessToken).toBe(before.accessToken);
    expect((await c.fetch(`${rs.origin}/api/still-works`)).status).toBe(200);
  });

  it('gets a new client_credentials token bound to the new key', async () => {
    const { as, rs } = await setup();
    const c = await client(as, rs, {
      clientId: 'post',
      clientAuth: { method: 'client_secret_post', clientSecret: 's3cret' },
      dpopKey: await generateDpopKey(),
    });
    await c.clientCredentials();
    const newKey = await generateDpopKey();
    const tokens = await c.rotateKey(newKey);
    expect(as.tokens.get(tokens!.accessToken)!.jkt).toBe(newKey.jkt);
    expect(await (await c.fetch(`${rs.origin}/api/x`)).json()).toMatchObject({ jkt: newKey.jkt });
  });

  it('refuses to rotate a client that has no DPoP key', async () => {
    const { as, rs } = await setup();
    const c = await client(as, rs, {
      clientId: 'post',
      clientAuth: { method: 'client_secret_post', clientSecret: 's3cret' },
    });
    await expect(c.rotateKey(await generateDpopKey())).rejects.toThrow(TypeError);
  });
});

describe('errors are typed', () => {
  it('KeyboundError carries a stable code for every client failure', () => {
    const e = new KeyboundError('login_required');
    expect(e.toJSON()).toMatchObject({ code: 'login_required', error: 'invalid_token' });
  });
});
