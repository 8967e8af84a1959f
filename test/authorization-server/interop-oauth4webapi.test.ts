// A second real third-party client (oauth4webapi from npm), handling DPoP nonces itself.
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { PASSWORD, SECRET, startServer } from './support.js';

function config() {
  return {
    listeners: { http: { host: '127.0.0.1', port: 0 } },
    storage: { type: 'sqlite', path: ':memory:' },
    resources: [{ identifier: 'https://api.example.com' }],
    users: [{ username: 'alice', password: PASSWORD }],
    dpop: { nonce: { required: true } },
    clients: [
      {
        client_id: 'service',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        dpop_bound_access_tokens: true,
      },
    ],
  };
}

async function authorizationServer(issuer: string) {
  const url = new URL(issuer);
  const res = await oauth.discoveryRequest(url, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true });
  return oauth.processDiscoveryResponse(url, res);
}

describe('oauth4webapi against keybound', () => {
  it('discovers the DPoP metadata and completes client_credentials with DPoP through a server nonce', async () => {
    const { urls } = await startServer(config());
    const as = await authorizationServer(urls.issuer);
    expect(as.dpop_signing_alg_values_supported).toContain('ES256');
    const c: oauth.Client = { client_id: 'service' };
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(c, keyPair);
    const request = () =>
      oauth.clientCredentialsGrantRequest(
        as,
        c,
        oauth.ClientSecretBasic(SECRET),
        {},
        { DPoP, [oauth.allowInsecureRequests]: true },
      );
    let result: oauth.TokenEndpointResponse;
    let retried = false;
    try {
      result = await oauth.processClientCredentialsResponse(as, c, await request());
    } catch (e) {
      expect(oauth.isDPoPNonceError(e)).toBe(true);
      retried = true;
      result = await oauth.processClientCredentialsResponse(as, c, await request());
    }
    expect(retried).toBe(true);
    expect(result.token_type).toBe('dpop');
    const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
    expect(decodeJwt(result.access_token).cnf).toEqual({ jkt });
  });

  it('answers a wrong secret with 401 and a Basic challenge that oauth4webapi surfaces', async () => {
    const { urls } = await startServer(config());
    const as = await authorizationServer(urls.issuer);
    const c: oauth.Client = { client_id: 'service' };
    const res = await oauth.clientCredentialsGrantRequest(
      as,
      c,
      oauth.ClientSecretBasic('wrong'),
      {},
      {
        [oauth.allowInsecureRequests]: true,
      },
    );
    const error = await oauth.processClientCredentialsResponse(as, c, res).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    const challenge = error as oauth.WWWAuthenticateChallengeError;
    expect(challenge.status).toBe(401);
    expect(challenge.cause[0]?.scheme).toBe('basic');
  });
});
