import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePki, type TestPki } from './certificates.js';
import { baseConfig, newKey, post, proofFor, start } from './helpers.js';
import { startJwksHost, trustInFetch } from './jwks-host.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

async function clientKeys() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  return { privateKey, jwk };
}

function config(jwk: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return baseConfig({
    clients: [
      {
        client_id: 'pkjwt',
        token_endpoint_auth_method: 'private_key_jwt',
        grant_types: ['client_credentials'],
        jwks: { keys: [jwk] },
        ...extra,
      },
    ],
  });
}

async function assertion(
  privateKey: CryptoKey,
  aud: string | string[],
  over: { jti?: string; exp?: number; iss?: string; sub?: string } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: over.jti ?? crypto.randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(over.iss ?? 'pkjwt')
    .setSubject(over.sub ?? 'pkjwt')
    .setAudience(aud)
    .setIssuedAt(now)
    .setExpirationTime(over.exp ?? now + 60)
    .sign(privateKey);
}

const form = (a: string) => ({
  grant_type: 'client_credentials',
  client_assertion_type: JWT_BEARER,
  client_assertion: a,
});

describe('client authentication: private_key_jwt (RFC 7523)', () => {
  it('accepts an assertion with the issuer or the token endpoint as audience', async () => {
    const { privateKey, jwk } = await clientKeys();
    const { urls } = await start(config(jwk));
    expect((await post(urls.token, form(await assertion(privateKey, urls.issuer)))).status).toBe(200);
    expect((await post(urls.token, form(await assertion(privateKey, urls.token)))).status).toBe(200);
  });

  it('rejects an assertion replayed with the same jti', async () => {
    const { privateKey, jwk } = await clientKeys();
    const { urls } = await start(config(jwk));
    const a = await assertion(privateKey, urls.issuer, { jti: 'once' });
    expect((await post(urls.token, form(a))).status).toBe(200);
    const again = await post(urls.token, form(a));
    expect(again.status).toBe(401);
    expect(again.json.error_description).toBe('client authentication failed');
  });

  it('does not spend the assertion when the DPoP check asks for a nonce, so the retry may reuse it', async () => {
    const { privateKey, jwk } = await clientKeys();
    const { urls } = await start(config(jwk, { require_dpop_nonce: true }));
    const key = await newKey();
    const a = await assertion(privateKey, urls.issuer);
    const first = await post(urls.token, form(a), { dpop: await proofFor(key, urls.token) });
    expect(first.json.error).toBe('use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce')!;
    const second = await post(urls.token, form(a), { dpop: await proofFor(key, urls.token, { nonce }) });
    expect(second.status).toBe(200);
  });

  it('rejects an assertion for another audience', async () => {
    const { privateKey, jwk } = await clientKeys();
    const { urls } = await start(config(jwk));
    const res = await post(urls.token, form(await assertion(privateKey, 'https://other-as.example')));
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_client');
    expect(res.json.error_description).toBe('client authentication failed');
  });

  it('rejects an expired assertion and one that lives too long', async () => {
    const { privateKey, jwk } = await clientKeys();
    const { urls } = await start(config(jwk));
    const now = Math.floor(Date.now() / 1000);
    expect(
      (await post(urls.token, form(await assertion(privateKey, urls.issuer, { exp: now - 60 })))).status,
    ).toBe(401);
    const long = await post(urls.token, form(await assertion(privateKey, urls.issuer, { exp: now + 3600 })));
    expect(long.status).toBe(401);
    expect(long.json.error_description).toBe('client authentication failed');
  });

  it('rejects an assertion signed by an unregistered key', async () => {
    const { jwk } = await clientKeys();
    const other = await clientKeys();
    const { urls } = await start(config(jwk));
    expect((await post(urls.token, form(await assertion(other.privateKey, urls.issuer)))).status).toBe(401);
  });

  it('rejects an assertion whose iss differs from sub', async () => {
    const { privateKey, jwk } = await clientKeys();
    const { urls } = await start(config(jwk));
    const res = await post(
      urls.token,
      form(await assertion(privateKey, urls.issuer, { iss: 'someone-else' })),
    );
    expect(res.status).toBe(401);
  });

  it('refuses a client_assertion_type other than jwt-bearer, and an assertion without its type', async () => {
    const { privateKey, jwk } = await clientKeys();
    const { urls } = await start(config(jwk));
    const a = await assertion(privateKey, urls.issuer);
    expect(
      (
        await post(urls.token, {
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:x',
          client_assertion: a,
        })
      ).status,
    ).toBe(401);
    expect(
      (await post(urls.token, { grant_type: 'client_credentials', client_assertion: a })).json.error,
    ).toBe('invalid_request');
  });

  it('refuses a garbage assertion without crashing', async () => {
    const { jwk } = await clientKeys();
    const { urls } = await start(config(jwk));
    for (const a of [
      'x',
      'a.b.c',
      `${'e'.repeat(100)}.${'f'.repeat(100)}.g`,
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJwa2p3dCJ9.',
    ]) {
      const res = await post(urls.token, form(a));
      expect(res.status).toBe(401);
    }
  });
});

describe('private_key_jwt with a registered client’s jwks_uri', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = generatePki();
  });
  afterAll(() => pki.cleanup());

  it('fetches the jwks_uri of a registered client once for many token requests, forged or not', async () => {
    const { privateKey, jwk } = await clientKeys();
    const host = await startJwksHost(pki.server, () => ({ keys: [jwk] }));
    trustInFetch(pki.ca.cert);
    try {
      const iat = 'initial-access-token-0123456789';
      const { urls } = await start(
        baseConfig({ registration: { enabled: true, initial_access_tokens: [iat] } }),
      );
      const reg = await post(
        urls.registration!,
        JSON.stringify({
          token_endpoint_auth_method: 'private_key_jwt',
          grant_types: ['client_credentials'],
          jwks_uri: `${host.base}/registered`,
        }),
        { 'content-type': 'application/json', authorization: `Bearer ${iat}` },
      );
      expect(reg.status).toBe(201);
      const id = reg.json.client_id as string;
      for (let i = 0; i < 3; i++) {
        const ok = await post(
          urls.token,
          form(await assertion(privateKey, urls.issuer, { iss: id, sub: id })),
        );
        expect(ok.status).toBe(200);
      }
      // assertions anyone can make up (no credentials): a key the client never registered, same kid
      const forger = await generateKeyPair('ES256');
      for (let i = 0; i < 5; i++) {
        const forged = await post(
          urls.token,
          form(await assertion(forger.privateKey, urls.issuer, { iss: id, sub: id })),
        );
        expect(forged.status).toBe(401);
      }
      expect(host.hits.get('/registered')).toBe(1);
    } finally {
      await host.close();
    }
  });
});
