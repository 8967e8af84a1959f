// A real third-party client (openid-client 6 from npm) against the keybound authorization server.
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { PASSWORD, SECRET, signIn, startServer } from './support.js';

const REDIRECT = 'http://127.0.0.1/callback';
const pkjwt = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
  'sign',
  'verify',
])) as CryptoKeyPair;
const pkjwtJwk = { ...(await exportJWK(pkjwt.publicKey)), kid: 'pk-1', alg: 'ES256' };

function config(over: Record<string, unknown> = {}) {
  return {
    listeners: { http: { host: '127.0.0.1', port: 0 } },
    storage: { type: 'sqlite', path: ':memory:' },
    scopes: ['read', 'write'],
    resources: [{ identifier: 'https://api.example.com' }],
    users: [{ username: 'alice', password: PASSWORD }],
    registration: { enabled: true, initial_access_tokens: ['interop-initial-access-token'] },
    clients: [
      {
        client_id: 'service',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        dpop_bound_access_tokens: true,
      },
      {
        client_id: 'nonce-service',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        require_dpop_nonce: true,
      },
      {
        client_id: 'pkjwt-service',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pkjwtJwk] },
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'spa',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [REDIRECT],
        dpop_bound_access_tokens: true,
      },
      { client_id: 'rs', client_secret: SECRET, grant_types: ['client_credentials'] },
    ],
    ...over,
  };
}

async function discover(
  issuer: string,
  clientId: string,
  auth: client.ClientAuth,
  metadata: Partial<client.ClientMetadata> = {},
) {
  return client.discovery(new URL(issuer), clientId, metadata, auth, {
    execute: [client.allowInsecureRequests],
    algorithm: 'oauth2',
  });
}

describe('openid-client 6 against keybound', () => {
  it('completes client_credentials with DPoP (client_secret_basic) and gets a DPoP-bound token', async () => {
    const { urls } = await startServer(config());
    const cfg = await discover(urls.issuer, 'service', client.ClientSecretBasic(SECRET));
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const tokens = await client.clientCredentialsGrant(
      cfg,
      { scope: 'read' },
      { DPoP: client.getDPoPHandle(cfg, keyPair) },
    );
    expect(tokens.token_type).toBe('dpop');
    const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      client_id: 'service',
      scope: 'read',
      cnf: { jkt },
    });
  });

  it('retries on use_dpop_nonce with the nonce the server sent', async () => {
    const { urls } = await startServer(config());
    const cfg = await discover(urls.issuer, 'nonce-service', client.ClientSecretBasic(SECRET));
    const dpop = client.getDPoPHandle(cfg, await client.randomDPoPKeyPair('ES256'));
    const tokens = await client.clientCredentialsGrant(cfg, {}, { DPoP: dpop });
    expect(tokens.token_type).toBe('dpop');
    // the handle remembered the nonce: the next request succeeds at once
    expect((await client.clientCredentialsGrant(cfg, {}, { DPoP: dpop })).token_type).toBe('dpop');
  });

  it('authenticates with private_key_jwt', async () => {
    const { urls } = await startServer(config());
    const cfg = await discover(
      urls.issuer,
      'pkjwt-service',
      client.PrivateKeyJwt({ key: pkjwt.privateKey, kid: 'pk-1' }),
    );
    const tokens = await client.clientCredentialsGrant(
      cfg,
      {},
      { DPoP: client.getDPoPHandle(cfg, await client.randomDPoPKeyPair()) },
    );
    expect(decodeJwt(tokens.access_token).client_id).toBe('pkjwt-service');
  });

  it('completes code + PKCE + DPoP with dpop_jkt, then refreshes with the bound key and is refused with another', async () => {
    const { urls } = await startServer(config());
    const cfg = await discover(urls.issuer, 'spa', client.None());
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const dpop = client.getDPoPHandle(cfg, keyPair);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const authUrl = client.buildAuthorizationUrl(cfg, {
      redirect_uri: REDIRECT,
      scope: 'read',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      dpop_jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey)),
    });
    const callback = await signIn(authUrl, urls);
    const tokens = await client.authorizationCodeGrant(
      cfg,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state },
      undefined,
      {
        DPoP: dpop,
      },
    );
    expect(tokens.token_type).toBe('dpop');
    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await client.refreshTokenGrant(cfg, tokens.refresh_token!, undefined, { DPoP: dpop });
    expect(refreshed.token_type).toBe('dpop');
    const thief = client.getDPoPHandle(cfg, await client.randomDPoPKeyPair('ES256'));
    await expect(
      client.refreshTokenGrant(cfg, refreshed.refresh_token!, undefined, { DPoP: thief }),
    ).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('pushes the authorization request with a DPoP proof (PAR) and redeems the code with that key', async () => {
    const { urls } = await startServer(config());
    const cfg = await discover(urls.issuer, 'spa', client.None());
    const dpop = client.getDPoPHandle(cfg, await client.randomDPoPKeyPair('ES256'));
    const verifier = client.randomPKCECodeVerifier();
    const authUrl = await client.buildAuthorizationUrlWithPAR(
      cfg,
      {
        redirect_uri: REDIRECT,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      },
      { DPoP: dpop },
    );
    expect(authUrl.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const callback = await signIn(authUrl, urls);
    const other = client.getDPoPHandle(cfg, await client.randomDPoPKeyPair('ES256'));
    await expect(
      client.authorizationCodeGrant(
        cfg,
        callback,
        { pkceCodeVerifier: verifier, idTokenExpected: false },
        undefined,
        { DPoP: other },
      ),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    const tokens = await client.authorizationCodeGrant(
      cfg,
      callback,
      { pkceCodeVerifier: verifier },
      undefined,
      { DPoP: dpop },
    );
    expect(tokens.token_type).toBe('dpop');
  });

  it('introspects and revokes tokens', async () => {
    const { urls } = await startServer(config());
    const svc = await discover(urls.issuer, 'service', client.ClientSecretBasic(SECRET));
    const tokens = await client.clientCredentialsGrant(
      svc,
      {},
      { DPoP: client.getDPoPHandle(svc, await client.randomDPoPKeyPair()) },
    );
    const rs = await discover(urls.issuer, 'rs', client.ClientSecretBasic(SECRET));
    const active = await client.tokenIntrospection(rs, tokens.access_token);
    expect(active).toMatchObject({ active: true, token_type: 'DPoP', client_id: 'service' });
    expect(active.cnf).toHaveProperty('jkt');
    await client.tokenRevocation(svc, tokens.access_token);
    expect((await client.tokenIntrospection(rs, tokens.access_token)).active).toBe(false);
  });

  it('registers a DPoP-bound client dynamically with an initial access token', async () => {
    const { urls } = await startServer(config());
    // the registered method is client_secret_basic: ClientSecretBasic() reads the issued secret
    const cfg = await client.dynamicClientRegistration(
      new URL(urls.issuer),
      {
        grant_types: ['client_credentials'],
        dpop_bound_access_tokens: true,
        token_endpoint_auth_method: 'client_secret_basic',
      },
      client.ClientSecretBasic(),
      {
        initialAccessToken: 'interop-initial-access-token',
        execute: [client.allowInsecureRequests],
        algorithm: 'oauth2',
      },
    );
    expect(cfg.clientMetadata().dpop_bound_access_tokens).toBe(true);
    const tokens = await client.clientCredentialsGrant(
      cfg,
      {},
      { DPoP: client.getDPoPHandle(cfg, await client.randomDPoPKeyPair()) },
    );
    expect(tokens.token_type).toBe('dpop');
  });
});
