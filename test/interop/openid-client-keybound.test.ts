// openid-client 6 (npm) as the client → keybound authorization server (SQLite file, DPoP nonces
// required) + keybound resource server (node:http adapter, DPoP enforced, JWKS from the AS).

import type { ServerUrls } from '@keybound/authorization-server';
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  API,
  REDIRECT,
  type RunningRs,
  SECRET,
  signInOnLoginPage,
  startKeyboundStack,
} from './support/keybound.js';

let urls: ServerUrls;
let rs: RunningRs;
beforeAll(async () => {
  const stack = await startKeyboundStack();
  urls = stack.as.urls;
  rs = stack.rs;
});

async function discover(clientId: string, auth: client.ClientAuth): Promise<client.Configuration> {
  return client.discovery(new URL(urls.issuer), clientId, {}, auth, {
    execute: [client.allowInsecureRequests],
    algorithm: 'oauth2',
  });
}

async function thumbprint(keyPair: CryptoKeyPair): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
}

/** The challenges of a refusal openid-client surfaced as WWWAuthenticateChallengeError. */
async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => {
      throw new Error('expected the resource server to refuse');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(client.WWWAuthenticateChallengeError);
  const challenge = error as client.WWWAuthenticateChallengeError;
  return { status: challenge.response.status, challenges: challenge.cause };
}

async function loginWithCode(cfg: client.Configuration, dpop: client.DPoPHandle, keyPair: CryptoKeyPair) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const authUrl = client.buildAuthorizationUrl(cfg, {
    redirect_uri: REDIRECT,
    scope: 'read',
    state,
    resource: API,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    dpop_jkt: await thumbprint(keyPair),
  });
  const callback = await signInOnLoginPage(authUrl, urls.login);
  return client.authorizationCodeGrant(
    cfg,
    callback,
    { pkceCodeVerifier: verifier, expectedState: state },
    undefined,
    { DPoP: dpop },
  );
}

describe('openid-client 6 → keybound AS + RS', () => {
  it('gets a DPoP-bound token with client_credentials through the AS nonce and the RS accepts it', async () => {
    const cfg = await discover('service', client.ClientSecretBasic(SECRET));
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const dpop = client.getDPoPHandle(cfg, keyPair);
    const tokens = await client.clientCredentialsGrant(cfg, { scope: 'read', resource: API }, { DPoP: dpop });
    expect(tokens.token_type).toBe('dpop');
    const jkt = await thumbprint(keyPair);
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: API, client_id: 'service', cnf: { jkt } });

    const res = await client.fetchProtectedResource(
      cfg,
      tokens.access_token,
      new URL(rs.url('/orders')),
      'GET',
      null,
      undefined,
      {
        DPoP: dpop,
      },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ clientId: 'service', binding: 'dpop', jkt, scopes: ['read'] });
  });

  it('retries an RS call once on use_dpop_nonce and succeeds with the nonce the RS sent', async () => {
    const cfg = await discover('service', client.ClientSecretBasic(SECRET));
    const dpop = client.getDPoPHandle(cfg, await client.randomDPoPKeyPair('ES256'));
    const tokens = await client.clientCredentialsGrant(cfg, { scope: 'read' }, { DPoP: dpop });
    const before = rs.events.length;
    const res = await client.fetchProtectedResource(
      cfg,
      tokens.access_token,
      new URL(rs.url('/nonce/orders')),
      'GET',
      null,
      undefined,
      {
        DPoP: dpop,
      },
    );
    expect(res.status).toBe(200);
    expect(rs.events.slice(before).map((e) => [e.status, e.code])).toEqual([
      [401, 'nonce_required'],
      [200, undefined],
    ]);
    // the handle kept the nonce: the next call is accepted at once
    const again = await client.fetchProtectedResource(
      cfg,
      tokens.access_token,
      new URL(rs.url('/nonce/orders')),
      'GET',
      null,
      undefined,
      {
        DPoP: dpop,
      },
    );
    expect(again.status).toBe(200);
    expect(rs.events.length).toBe(before + 3);
  });

  it('completes code + PKCE + DPoP on the built-in login page and the RS accepts the user token', async () => {
    const cfg = await discover('app', client.None());
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const dpop = client.getDPoPHandle(cfg, keyPair);
    const tokens = await loginWithCode(cfg, dpop, keyPair);
    expect(tokens.token_type).toBe('dpop');
    expect(tokens.refresh_token).toBeTruthy();
    const res = await client.fetchProtectedResource(
      cfg,
      tokens.access_token,
      new URL(rs.url('/nonce/me')),
      'GET',
      null,
      undefined,
      {
        DPoP: dpop,
      },
    );
    expect(await res.json()).toMatchObject({
      sub: 'user-alice',
      clientId: 'app',
      jkt: await thumbprint(keyPair),
    });
  });

  it('refreshes with the bound key, the RS accepts the new token, and another key can neither refresh nor use it', async () => {
    const cfg = await discover('app', client.None());
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const dpop = client.getDPoPHandle(cfg, keyPair);
    const tokens = await loginWithCode(cfg, dpop, keyPair);
    const refreshed = await client.refreshTokenGrant(cfg, tokens.refresh_token!, undefined, { DPoP: dpop });
    expect(refreshed.token_type).toBe('dpop');
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt: await thumbprint(keyPair) });
    const ok = await client.fetchProtectedResource(
      cfg,
      refreshed.access_token,
      new URL(rs.url('/me')),
      'GET',
      null,
      undefined,
      {
        DPoP: dpop,
      },
    );
    expect(ok.status).toBe(200);

    const thief = client.getDPoPHandle(cfg, await client.randomDPoPKeyPair('ES256'));
    await expect(
      client.refreshTokenGrant(cfg, refreshed.refresh_token!, undefined, { DPoP: thief }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    const refused = await refusal(
      client.fetchProtectedResource(
        cfg,
        refreshed.access_token,
        new URL(rs.url('/me')),
        'GET',
        null,
        undefined,
        {
          DPoP: thief,
        },
      ),
    );
    expect(refused.status).toBe(401);
    expect(refused.challenges).toContainEqual(
      expect.objectContaining({
        scheme: 'dpop',
        parameters: expect.objectContaining({ error: 'invalid_token' }),
      }),
    );
    expect(rs.lastEvent().code).toBe('jkt_mismatch');
  });

  it('has the RS refuse the DPoP-bound token presented as a Bearer token', async () => {
    const cfg = await discover('service', client.ClientSecretBasic(SECRET));
    const dpop = client.getDPoPHandle(cfg, await client.randomDPoPKeyPair('ES256'));
    const tokens = await client.clientCredentialsGrant(cfg, {}, { DPoP: dpop });
    const refused = await refusal(
      client.fetchProtectedResource(cfg, tokens.access_token, new URL(rs.url('/orders')), 'GET', null),
    );
    expect(refused.status).toBe(401);
    expect(rs.lastEvent()).toMatchObject({
      scheme: 'bearer',
      outcome: 'deny',
      code: 'bound_token_as_bearer',
    });
  });
});
