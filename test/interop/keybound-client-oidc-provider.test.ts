// The keybound client (@keybound/client: OAuthClient, createDpopFetch) → oidc-provider 9 (npm) as the
// authorization server, issuing DPoP-bound JWT access tokens for a resource indicator, with required
// DPoP nonces → keybound resource server trusting oidc-provider's JWKS. keybound shares no code with
// oidc-provider: what the RS accepts here is what another implementation issued.
import {
  createDpopFetch,
  DpopSession,
  generateDpopKey,
  isKeyboundError,
  OAuthClient,
} from '@keybound/client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { API, REDIRECT, type RunningRs, startKeyboundRs } from './support/keybound.js';
import {
  followAuthorization,
  OP_RS_CLIENT,
  OP_RS_SECRET,
  OP_SECRET,
  OP_USER,
  type RunningOidcProvider,
  startOidcProvider,
} from './support/oidc-provider.js';

const OTHER_API = 'https://other-api.interop.test';
/** A resource oidc-provider issues opaque tokens for: the RS asks oidc-provider's introspection. */
const OPAQUE_API = 'https://opaque-api.interop.test';
let op: RunningOidcProvider;
let rs: RunningRs;
beforeAll(async () => {
  op = await startOidcProvider({
    resources: [API, OTHER_API, OPAQUE_API],
    opaqueResources: [OPAQUE_API],
    redirectUri: REDIRECT,
  });
  rs = await startKeyboundRs({ issuers: [{ issuer: op.issuer, jwksUri: op.jwksUri }] });
});

/** Every response the client received: [path, status, OAuth error]. */
type Seen = [string, number, string | undefined][];

async function serviceClient(seen: Seen = []) {
  return OAuthClient.discover(op.issuer, {
    clientId: 'op-service',
    clientAuth: { method: 'client_secret_basic', clientSecret: OP_SECRET },
    dpopKey: await generateDpopKey('ES256'),
    protectedOrigins: [rs.origin],
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      const body = res.status === 400 ? ((await res.clone().json()) as { error?: string }) : {};
      seen.push([new URL(res.url).pathname, res.status, body.error]);
      return res;
    },
  });
}

/** Signs in through oidc-provider; with `par`, the request is pushed with a DPoP proof (RFC 9126, 9449 §10.1). */
async function signedInApp({ par = false } = {}) {
  const app = await OAuthClient.discover(op.issuer, {
    clientId: 'op-app',
    dpopKey: await generateDpopKey('ES256'),
    protectedOrigins: [rs.origin],
  });
  const request = await app.authorizationUrl({ redirectUri: REDIRECT, scope: 'read', resource: API, par });
  const query = new URL(request.url).searchParams;
  if (par) expect([...query.keys()].sort()).toEqual(['client_id', 'request_uri']);
  else expect(query.get('dpop_jkt')).toBe(app.dpopKey!.jkt);
  const callback = await followAuthorization(request.url, op.issuer);
  const tokens = await app.handleRedirect(callback, request);
  return { app, tokens };
}

/** A fetch that presents `accessToken` with proofs from a key that is not the one it is bound to. */
async function thiefFetch(accessToken: string) {
  const session = new DpopSession({ key: await generateDpopKey('ES256') });
  return createDpopFetch({ session, origins: [rs.origin], getAccessToken: () => accessToken });
}

describe('keybound client → oidc-provider 9 (AS) → keybound RS', () => {
  it('gets a DPoP-bound JWT access token with client_credentials through the oidc-provider nonce', async () => {
    const seen: Seen = [];
    const client = await serviceClient(seen);
    const tokens = await client.clientCredentials({ scope: 'read', resource: API });
    expect(seen.filter(([path]) => path === '/token')).toEqual([
      ['/token', 400, 'use_dpop_nonce'],
      ['/token', 200, undefined],
    ]);
    expect(tokens.tokenType).toBe('DPoP');
    expect(decodeProtectedHeader(tokens.accessToken)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    expect(decodeJwt(tokens.accessToken)).toMatchObject({
      iss: op.issuer,
      aud: API,
      client_id: 'op-service',
      scope: 'read',
      cnf: { jkt: client.dpopKey!.jkt },
    });
  });

  it('has the keybound RS accept the oidc-provider token with proofs from its key', async () => {
    const client = await serviceClient();
    await client.clientCredentials({ scope: 'read write', resource: API });
    const res = await client.fetch(rs.url('/orders'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      clientId: 'op-service',
      binding: 'dpop',
      jkt: client.dpopKey!.jkt,
      scopes: ['read', 'write'],
    });
    expect(rs.lastEvent()).toMatchObject({ issuer: op.issuer, outcome: 'allow' });
  });

  it('retries once on the RS use_dpop_nonce (createDpopFetch sharing the client session) and succeeds', async () => {
    const client = await serviceClient();
    await client.clientCredentials({ resource: API });
    const apiFetch = createDpopFetch({
      session: client.session!,
      origins: [rs.origin],
      getAccessToken: () => client.getAccessToken(),
    });
    const before = rs.events.length;
    const res = await apiFetch(rs.url('/nonce/orders'), { method: 'POST', body: '{"item":1}' });
    expect(res.status).toBe(200);
    expect(rs.events.slice(before).map((e) => [e.status, e.code])).toEqual([
      [401, 'nonce_required'],
      [200, undefined],
    ]);
  });

  it("honours the token's cnf.jkt: a proof from another key is refused with jkt_mismatch", async () => {
    const client = await serviceClient();
    const tokens = await client.clientCredentials({ resource: API });
    const stolen = await (await thiefFetch(tokens.accessToken))(rs.url('/orders'));
    expect(stolen.status).toBe(401);
    expect(stolen.headers.get('www-authenticate')).toMatch(/^DPoP .*error="invalid_token"/);
    expect(rs.lastEvent().code).toBe('jkt_mismatch');

    const bearer = await fetch(rs.url('/orders'), {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(bearer.status).toBe(401);
    expect(rs.lastEvent().code).toBe('bound_token_as_bearer');
  });

  it('refuses an oidc-provider token issued for another resource (audience_mismatch)', async () => {
    const client = await serviceClient();
    await client.clientCredentials({ resource: OTHER_API });
    const res = await client.fetch(rs.url('/orders'));
    expect(res.status).toBe(401);
    expect(rs.lastEvent().code).toBe('audience_mismatch');
  });

  it('completes code + PKCE + dpop_jkt at oidc-provider and the keybound RS accepts the user token', async () => {
    const { app, tokens } = await signedInApp();
    expect(tokens.tokenType).toBe('DPoP');
    expect(tokens.refreshToken).toBeTruthy();
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ sub: OP_USER, cnf: { jkt: app.dpopKey!.jkt } });
    const res = await app.fetch(rs.url('/nonce/me'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub: OP_USER, clientId: 'op-app' });
  });

  it('pushes the authorization request to oidc-provider with a proof (PAR) and redeems the code with that key', async () => {
    const { app, tokens } = await signedInApp({ par: true });
    expect(decodeJwt(tokens.accessToken).cnf).toEqual({ jkt: app.dpopKey!.jkt });
    expect((await app.fetch(rs.url('/me'))).status).toBe(200);
  });

  it("refreshes with the same key at oidc-provider, and the public client's refresh token will not re-bind to a new key", async () => {
    const { app, tokens } = await signedInApp();
    const refreshed = await app.refresh();
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(decodeJwt(refreshed.accessToken).cnf).toEqual({ jkt: app.dpopKey!.jkt });
    expect((await app.fetch(rs.url('/me'))).status).toBe(200);

    const oldKey = app.dpopKey!;
    const error = await app.rotateKey(await generateDpopKey('ES256')).catch((e: unknown) => e);
    expect(isKeyboundError(error, 'key_rotation_refused')).toBe(true);
    expect(app.dpopKey).toBe(oldKey);
    expect((await app.fetch(rs.url('/me'))).status).toBe(200);
  });

  it('introspects an opaque DPoP-bound token at oidc-provider (RFC 7662) and honours the cnf.jkt it reports', async () => {
    const opaqueRs = await startKeyboundRs({
      issuers: [
        {
          issuer: op.issuer,
          introspection: {
            endpoint: op.introspectionEndpoint,
            clientId: OP_RS_CLIENT,
            clientSecret: OP_RS_SECRET,
          },
        },
      ],
      policy: { resource: OPAQUE_API },
    });
    const client = await OAuthClient.discover(op.issuer, {
      clientId: 'op-service',
      clientAuth: { method: 'client_secret_basic', clientSecret: OP_SECRET },
      dpopKey: await generateDpopKey('ES256'),
      protectedOrigins: [opaqueRs.origin],
    });
    const tokens = await client.clientCredentials({ scope: 'read', resource: OPAQUE_API });
    expect(tokens.accessToken.split('.')).toHaveLength(1); // not a JWT

    const res = await client.fetch(opaqueRs.url('/orders'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      clientId: 'op-service',
      binding: 'dpop',
      jkt: client.dpopKey!.jkt,
    });

    const thief = createDpopFetch({
      session: new DpopSession({ key: await generateDpopKey('ES256') }),
      origins: [opaqueRs.origin],
      getAccessToken: () => tokens.accessToken,
    });
    expect((await thief(opaqueRs.url('/orders'))).status).toBe(401);
    expect(opaqueRs.lastEvent().code).toBe('jkt_mismatch');
  });
});
