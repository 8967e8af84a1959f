// oauth4webapi (npm) as the client → keybound authorization server (SQLite file, DPoP nonces
// required, users signed in by a pluggable authenticateUser) + keybound resource server. oauth4webapi
// leaves nonce retries to the caller: each retry below is the one the RFC 9449 §8/§9 flow asks for.
import type { IncomingMessage } from 'node:http';
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { beforeAll, describe, expect, it } from 'vitest';
import { API, asConfig, REDIRECT, type RunningRs, SECRET, startKeyboundStack } from './support/keybound.js';

/** The host application's session check: a cookie the test presents, like a signed-in browser. */
const SESSION = 'session=bob-signed-in';
function authenticateUser({ request }: { request: IncomingMessage }) {
  return Promise.resolve(request.headers.cookie === SESSION ? { sub: 'user-bob' } : null);
}

const insecure = { [oauth.allowInsecureRequests]: true } as const;
let rs: RunningRs;
let as: oauth.AuthorizationServer;
beforeAll(async () => {
  const stack = await startKeyboundStack(asConfig(), { authenticateUser });
  rs = stack.rs;
  const issuer = new URL(stack.as.urls.issuer);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
});

/** Runs a request; on use_dpop_nonce (the handle has learned the nonce) runs it exactly once more. */
async function retryingOnNonce<T>(attempt: () => Promise<T>): Promise<{ result: T; retried: boolean }> {
  try {
    return { result: await attempt(), retried: false };
  } catch (e) {
    if (!oauth.isDPoPNonceError(e)) throw e;
    return { result: await attempt(), retried: true };
  }
}

async function thumbprint(keyPair: CryptoKeyPair): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
}

function callRs(accessToken: string, path: string, DPoP?: oauth.DPoPHandle) {
  return oauth.protectedResourceRequest(accessToken, 'GET', new URL(rs.url(path)), new Headers(), null, {
    ...insecure,
    ...(DPoP !== undefined ? { DPoP } : {}),
  });
}

async function codeFlow(c: oauth.Client, DPoP: oauth.DPoPHandle, keyPair: CryptoKeyPair) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const authUrl = new URL(as.authorization_endpoint!);
  authUrl.search = new URLSearchParams({
    response_type: 'code',
    client_id: c.client_id,
    redirect_uri: REDIRECT,
    scope: 'read write',
    state,
    resource: API,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    dpop_jkt: await thumbprint(keyPair),
  }).toString();
  const redirect = await fetch(authUrl, { redirect: 'manual', headers: { cookie: SESSION } });
  expect([302, 303]).toContain(redirect.status);
  const params = oauth.validateAuthResponse(as, c, new URL(redirect.headers.get('location')!), state);
  const { result, retried } = await retryingOnNonce(async () =>
    oauth.processAuthorizationCodeResponse(
      as,
      c,
      await oauth.authorizationCodeGrantRequest(as, c, oauth.None(), params, REDIRECT, verifier, {
        DPoP,
        ...insecure,
      }),
    ),
  );
  return { tokens: result, retried };
}

describe('oauth4webapi → keybound AS + RS', () => {
  it('gets a DPoP-bound token with client_credentials after one use_dpop_nonce from the AS', async () => {
    const c: oauth.Client = { client_id: 'service' };
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(c, keyPair);
    const { result, retried } = await retryingOnNonce(async () =>
      oauth.processClientCredentialsResponse(
        as,
        c,
        await oauth.clientCredentialsGrantRequest(
          as,
          c,
          oauth.ClientSecretBasic(SECRET),
          { scope: 'write' },
          {
            DPoP,
            ...insecure,
          },
        ),
      ),
    );
    expect(retried).toBe(true);
    expect(result.token_type).toBe('dpop');
    expect(decodeJwt(result.access_token).cnf).toEqual({ jkt: await thumbprint(keyPair) });

    const res = await callRs(result.access_token, '/orders', DPoP);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ clientId: 'service', binding: 'dpop', scopes: ['write'] });
  });

  it('gets use_dpop_nonce from the RS with a DPoP-Nonce, and the retry with that nonce succeeds', async () => {
    const c: oauth.Client = { client_id: 'service' };
    const DPoP = oauth.DPoP(c, await oauth.generateKeyPair('ES256'));
    const { result } = await retryingOnNonce(async () =>
      oauth.processClientCredentialsResponse(
        as,
        c,
        await oauth.clientCredentialsGrantRequest(
          as,
          c,
          oauth.ClientSecretBasic(SECRET),
          {},
          { DPoP, ...insecure },
        ),
      ),
    );
    const first = await callRs(result.access_token, '/nonce/orders', DPoP).catch((e: unknown) => e);
    expect(oauth.isDPoPNonceError(first)).toBe(true);
    const challenge = first as oauth.WWWAuthenticateChallengeError;
    expect(challenge.response.status).toBe(401);
    expect(challenge.response.headers.get('dpop-nonce')).toMatch(/^[\w.~-]+$/);
    expect(rs.lastEvent().code).toBe('nonce_required');

    const second = await callRs(result.access_token, '/nonce/orders', DPoP);
    expect(second.status).toBe(200);
    expect(rs.lastEvent()).toMatchObject({ outcome: 'allow', binding: 'dpop' });
  });

  it('completes code + PKCE + DPoP with a user from authenticateUser and the RS accepts the token', async () => {
    const c: oauth.Client = { client_id: 'app', token_endpoint_auth_method: 'none' };
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(c, keyPair);
    const { tokens, retried } = await codeFlow(c, DPoP, keyPair);
    expect(retried).toBe(true);
    expect(tokens.token_type).toBe('dpop');
    expect(tokens.refresh_token).toBeTruthy();
    const res = await callRs(tokens.access_token, '/me', DPoP);
    expect(await res.json()).toMatchObject({
      sub: 'user-bob',
      clientId: 'app',
      jkt: await thumbprint(keyPair),
    });
  });

  it('refreshes with the bound key; a refresh with another key is invalid_grant and that key is refused by the RS', async () => {
    const c: oauth.Client = { client_id: 'app', token_endpoint_auth_method: 'none' };
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(c, keyPair);
    const { tokens } = await codeFlow(c, DPoP, keyPair);

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      c,
      await oauth.refreshTokenGrantRequest(as, c, oauth.None(), tokens.refresh_token!, { DPoP, ...insecure }),
    );
    expect(refreshed.token_type).toBe('dpop');
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt: await thumbprint(keyPair) });
    expect((await callRs(refreshed.access_token, '/me', DPoP)).status).toBe(200);

    const thief = oauth.DPoP(c, await oauth.generateKeyPair('ES256'));
    const stolenRefresh = await retryingOnNonce(async () =>
      oauth.processRefreshTokenResponse(
        as,
        c,
        await oauth.refreshTokenGrantRequest(as, c, oauth.None(), refreshed.refresh_token!, {
          DPoP: thief,
          ...insecure,
        }),
      ),
    ).catch((e: unknown) => e);
    expect(stolenRefresh).toBeInstanceOf(oauth.ResponseBodyError);
    expect((stolenRefresh as oauth.ResponseBodyError).error).toBe('invalid_grant');

    const stolenUse = await callRs(refreshed.access_token, '/me', thief).catch((e: unknown) => e);
    expect(stolenUse).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect((stolenUse as oauth.WWWAuthenticateChallengeError).cause[0]).toMatchObject({
      scheme: 'dpop',
      parameters: { error: 'invalid_token' },
    });
    expect(rs.lastEvent().code).toBe('jkt_mismatch');
  });
});
