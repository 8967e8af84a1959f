import { describe, expect, it } from 'vitest';
import { baseConfig, basic, claimsOf, newKey, post, proofFor, readResponse, start } from './helpers.js';

const IAT = 'initial-access-token-0123456789';

function config(registration: Record<string, unknown> = { enabled: true, initial_access_tokens: [IAT] }) {
  return baseConfig({ registration });
}

async function register(
  url: string,
  body: unknown,
  token: string | null = IAT,
  contentType = 'application/json',
) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return readResponse(res);
}

describe('dynamic client registration (RFC 7591)', () => {
  it('registers a DPoP-bound client that then gets DPoP tokens and is refused without a proof', async () => {
    const { urls } = await start(config());
    const reg = await register(urls.registration!, {
      grant_types: ['client_credentials'],
      dpop_bound_access_tokens: true,
      client_name: 'robot',
      scope: 'read',
      something_unknown: 'ignored',
    });
    expect(reg.status).toBe(201);
    expect(reg.json).toMatchObject({
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      dpop_bound_access_tokens: true,
      client_secret_expires_at: 0,
    });
    expect(reg.json.something_unknown).toBeUndefined();
    const id = reg.json.client_id as string;
    const secret = reg.json.client_secret as string;
    const refused = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic(id, secret) },
    );
    expect(refused.json.error).toBe('invalid_dpop_proof');
    const key = await newKey();
    const ok = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic(id, secret), dpop: await proofFor(key, urls.token) },
    );
    expect(ok.status).toBe(200);
    expect(claimsOf(ok.json.access_token as string)).toMatchObject({
      client_id: id,
      scope: 'read',
      cnf: { jkt: key.jkt },
    });
  });

  it('requires an initial access token', async () => {
    const { urls } = await start(config());
    const none = await register(urls.registration!, { grant_types: ['client_credentials'] }, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await register(
      urls.registration!,
      { grant_types: ['client_credentials'] },
      'not-the-token',
    );
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe('invalid_token');
  });

  it('honours the uses of an initial access token created at runtime', async () => {
    const { server, urls } = await start(config());
    const token = await server.createInitialAccessToken({ uses: 1 });
    expect((await register(urls.registration!, { grant_types: ['client_credentials'] }, token)).status).toBe(
      201,
    );
    expect((await register(urls.registration!, { grant_types: ['client_credentials'] }, token)).status).toBe(
      401,
    );
  });

  it('spends a one-use initial access token only on a registration it accepts', async () => {
    const { server, urls } = await start(config());
    const token = await server.createInitialAccessToken({ uses: 1 });
    const badMetadata = await register(
      urls.registration!,
      { redirect_uris: ['http://evil.example/cb'], grant_types: ['authorization_code'] },
      token,
    );
    expect(badMetadata.status).toBe(400);
    expect(badMetadata.json.error).toBe('invalid_redirect_uri');
    expect((await register(urls.registration!, '{"grant_types":', token)).status).toBe(400);
    expect(
      (await register(urls.registration!, 'grant_types=x', token, 'application/x-www-form-urlencoded'))
        .status,
    ).toBe(400);
    const corrected = await register(
      urls.registration!,
      { redirect_uris: ['https://rp.example/cb'], grant_types: ['authorization_code'] },
      token,
    );
    expect(corrected.status).toBe(201);
    const spent = await register(urls.registration!, { grant_types: ['client_credentials'] }, token);
    expect(spent.status).toBe(401);
    expect(spent.json.error).toBe('invalid_token');
  });

  it('answers an unknown initial access token with 401 before looking at the metadata', async () => {
    const { urls } = await start(config());
    const res = await register(
      urls.registration!,
      { redirect_uris: ['http://evil.example/cb'] },
      'not-the-token',
    );
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_token');
  });

  it('registers without a token when configured open', async () => {
    const { urls } = await start(config({ enabled: true, open: true }));
    expect((await register(urls.registration!, { grant_types: ['client_credentials'] }, null)).status).toBe(
      201,
    );
  });

  it('is absent unless enabled', async () => {
    const { urls } = await start(baseConfig());
    expect(urls.registration).toBeUndefined();
    expect((await fetch(`${urls.issuer}/register`, { method: 'POST' })).status).toBe(404);
  });

  it('answers invalid_redirect_uri and invalid_client_metadata naming the bad field', async () => {
    const { urls } = await start(config());
    const badUri = await register(urls.registration!, { redirect_uris: ['http://evil.example/cb'] });
    expect(badUri.json.error).toBe('invalid_redirect_uri');
    expect(badUri.json.error_description).toMatch(/redirect_uris\[0\]/);
    const badMethod = await register(urls.registration!, {
      token_endpoint_auth_method: 'magic',
      grant_types: ['client_credentials'],
    });
    expect(badMethod.json.error).toBe('invalid_client_metadata');
    expect(badMethod.json.error_description).toMatch(/token_endpoint_auth_method: expected one of/);
    const both = await register(urls.registration!, {
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['client_credentials'],
      jwks: { keys: [] },
    });
    expect(both.json.error).toBe('invalid_client_metadata');
    const chosenId = await register(urls.registration!, {
      client_id: 'mine',
      grant_types: ['client_credentials'],
    });
    expect(chosenId.json.error_description).toMatch(/client_id/);
  });

  it('refuses a tls_client_auth client when the server has no CA to verify its certificates', async () => {
    const { urls } = await start(
      baseConfig({
        registration: { enabled: true, initial_access_tokens: [IAT] },
        mtls: { forwarded: { format: 'rfc9440', trusted_proxies: ['10.0.0.1'] } },
      }),
    );
    const res = await register(urls.registration!, {
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: 'CN=robot,O=Example',
      grant_types: ['client_credentials'],
    });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_client_metadata');
    expect(res.json.error_description).toMatch(/^token_endpoint_auth_method: .*mtls\.ca/);
  });

  it('requires https for jwks_uri, also for loopback addresses', async () => {
    const { urls } = await start(config());
    for (const jwksUri of ['http://127.0.0.1:6379/', 'http://localhost/jwks', 'http://[::1]/jwks']) {
      const res = await register(urls.registration!, {
        token_endpoint_auth_method: 'private_key_jwt',
        grant_types: ['client_credentials'],
        jwks_uri: jwksUri,
      });
      expect(res.status, jwksUri).toBe(400);
      expect(res.json).toEqual({
        error: 'invalid_client_metadata',
        error_description: 'jwks_uri: must be an https URL',
      });
    }
    const ok = await register(urls.registration!, {
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['client_credentials'],
      jwks_uri: 'https://rp.example/jwks',
    });
    expect(ok.status).toBe(201);
  });

  it('refuses private keys in a registered JWKS', async () => {
    const { urls } = await start(config());
    const res = await register(urls.registration!, {
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['client_credentials'],
      jwks: {
        keys: [
          {
            kty: 'EC',
            crv: 'P-256',
            x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs',
            y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
            d: 'x',
          },
        ],
      },
    });
    expect(res.json.error).toBe('invalid_client_metadata');
    expect(res.json.error_description).toMatch(/private/);
  });

  it('refuses malformed, duplicated, non-JSON and oversized bodies', async () => {
    const { urls } = await start(config());
    expect((await register(urls.registration!, '{"grant_types":')).json.error).toBe(
      'invalid_client_metadata',
    );
    expect((await register(urls.registration!, '[1,2]')).json.error).toBe('invalid_client_metadata');
    const dup = await register(
      urls.registration!,
      '{"grant_types":["client_credentials"],"grant_types":["authorization_code"]}',
    );
    expect(dup.json.error_description).toMatch(/repeats/);
    expect(
      (await register(urls.registration!, 'grant_types=x', IAT, 'application/x-www-form-urlencoded')).json
        .error,
    ).toBe('invalid_request');
    expect(
      (await register(urls.registration!, JSON.stringify({ client_name: 'x'.repeat(70_000) }))).status,
    ).toBe(413);
  });
});
