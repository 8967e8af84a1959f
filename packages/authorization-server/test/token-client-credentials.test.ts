import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { baseConfig, basic, claimsOf, headerOf, newKey, post, proofFor, SECRET, start } from './helpers.js';

describe('token endpoint: client_credentials', () => {
  it('issues a DPoP-bound RFC 9068 access token with cnf.jkt and token_type DPoP', async () => {
    const { urls } = await start();
    const key = await newKey();
    const res = await post(
      urls.token,
      { grant_type: 'client_credentials', scope: 'read' },
      {
        authorization: basic('svc', SECRET),
        dpop: await proofFor(key, urls.token),
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json.token_type).toBe('DPoP');
    expect(res.json.expires_in).toBe(300);
    expect(res.json.scope).toBe('read');
    expect(res.json.refresh_token).toBeUndefined();
    const token = res.json.access_token as string;
    expect(headerOf(token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const jwks = await (await fetch(urls.jwks)).json();
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: urls.issuer,
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({
      iss: urls.issuer,
      sub: 'svc',
      aud: 'https://api.example.com',
      client_id: 'svc',
      scope: 'read',
      cnf: { jkt: key.jkt },
    });
    expect(typeof payload.jti).toBe('string');
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
  });

  it('issues a Bearer token without cnf when no proof is sent and the client does not require DPoP', async () => {
    const { urls } = await start();
    const res = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET) },
    );
    expect(res.status).toBe(200);
    expect(res.json.token_type).toBe('Bearer');
    expect(claimsOf(res.json.access_token as string).cnf).toBeUndefined();
    expect(res.json.scope).toBe('read write');
  });

  it('authenticates with client_secret_post', async () => {
    const { urls } = await start();
    const res = await post(urls.token, {
      grant_type: 'client_credentials',
      client_id: 'svc-post',
      client_secret: SECRET,
    });
    expect(res.status).toBe(200);
  });

  it('refuses a token request without a proof from a client registered with dpop_bound_access_tokens', async () => {
    const { urls } = await start();
    const res = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('dpop-only', SECRET) },
    );
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_dpop_proof');
  });

  it('answers proof errors with 400 invalid_dpop_proof, never 401', async () => {
    const { urls } = await start();
    const key = await newKey();
    const wrongHtu = await proofFor(key, 'https://elsewhere.example/token');
    const res = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET), dpop: wrongHtu },
    );
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_dpop_proof');
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('rejects a proof replayed at the token endpoint', async () => {
    const { urls } = await start();
    const key = await newKey();
    const proof = await proofFor(key, urls.token);
    const first = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET), dpop: proof },
    );
    expect(first.status).toBe(200);
    const again = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET), dpop: proof },
    );
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({ error: 'invalid_dpop_proof' });
  });

  it('rejects two DPoP headers', async () => {
    const { urls } = await start();
    const key = await newKey();
    const res = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      {
        authorization: basic('svc', SECRET),
        dpop: `${await proofFor(key, urls.token)}, ${await proofFor(key, urls.token)}`,
      },
    );
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_dpop_proof');
  });

  it('asks a nonce-requiring client for a nonce with use_dpop_nonce and a DPoP-Nonce header, then accepts it', async () => {
    const { urls } = await start();
    const key = await newKey();
    const first = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      {
        authorization: basic('nonce-client', SECRET),
        dpop: await proofFor(key, urls.token),
      },
    );
    expect(first.status).toBe(400);
    expect(first.json.error).toBe('use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce');
    expect(nonce).toBeTruthy();
    const second = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      {
        authorization: basic('nonce-client', SECRET),
        dpop: await proofFor(key, urls.token, { nonce: nonce! }),
      },
    );
    expect(second.status).toBe(200);
    expect(second.json.token_type).toBe('DPoP');
    expect(second.headers.get('dpop-nonce')).toBeTruthy();
  });

  it('answers use_dpop_nonce for a nonce from another server', async () => {
    const a = await start();
    const b = await start();
    const key = await newKey();
    const first = await post(
      a.urls.token,
      { grant_type: 'client_credentials' },
      {
        authorization: basic('nonce-client', SECRET),
        dpop: await proofFor(key, a.urls.token),
      },
    );
    const nonceOfA = first.headers.get('dpop-nonce')!;
    const res = await post(
      b.urls.token,
      { grant_type: 'client_credentials' },
      {
        authorization: basic('nonce-client', SECRET),
        dpop: await proofFor(key, b.urls.token, { nonce: nonceOfA }),
      },
    );
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('use_dpop_nonce');
    expect(res.headers.get('dpop-nonce')).not.toBe(nonceOfA);
  });

  it('refuses a wrong client secret with 401 invalid_client and a Basic challenge', async () => {
    const { urls } = await start();
    const res = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', 'wrong') },
    );
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_client');
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('answers an unknown client exactly like a wrong secret', async () => {
    const { urls } = await start();
    const unknown = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('nobody', SECRET) },
    );
    const wrong = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', 'nope') },
    );
    expect(unknown.status).toBe(401);
    expect(unknown.json).toEqual(wrong.json);
  });

  it('answers every client authentication failure with the same invalid_client, whether the client exists or not', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const forger = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1' };
    const config = baseConfig();
    (config.clients as unknown[]).push(
      {
        client_id: 'pkjwt',
        token_endpoint_auth_method: 'private_key_jwt',
        grant_types: ['client_credentials'],
        jwks: { keys: [jwk] },
      },
      {
        client_id: 'public',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['https://app.example/cb'],
      },
    );
    const { urls } = await start(config);
    const sign = (key: CryptoKey, id: string, jti: string = crypto.randomUUID()) =>
      new SignJWT({ jti })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(id)
        .setSubject(id)
        .setAudience(urls.issuer)
        .setExpirationTime('1m')
        .sign(key);
    const jwtBearer = (
      assertion: string,
      type = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    ) => ({
      grant_type: 'client_credentials',
      client_assertion_type: type,
      client_assertion: assertion,
    });
    const cc = { grant_type: 'client_credentials' };
    const spent = await sign(privateKey, 'pkjwt', 'spent');
    expect((await post(urls.token, jwtBearer(spent))).status).toBe(200);
    const cases: [string, string, Record<string, string>, Record<string, string>][] = [
      ['unknown client_id only', urls.token, { ...cc, client_id: 'nobody' }, {}],
      ['confidential client_id only', urls.token, { ...cc, client_id: 'svc' }, {}],
      [
        'secret posted for a Basic client',
        urls.token,
        { ...cc, client_id: 'svc', client_secret: SECRET },
        {},
      ],
      [
        'unknown client, posted secret',
        urls.token,
        { ...cc, client_id: 'nobody', client_secret: SECRET },
        {},
      ],
      ['no credentials', urls.token, cc, {}],
      ['Basic for an unknown client', urls.token, cc, { authorization: basic('nobody', SECRET) }],
      ['Basic with a wrong secret', urls.token, cc, { authorization: basic('svc', 'wrong') }],
      ['Basic for a private_key_jwt client', urls.token, cc, { authorization: basic('pkjwt', SECRET) }],
      ['Basic for a public client', urls.token, cc, { authorization: basic('public', 'x') }],
      ['malformed Basic', urls.token, cc, { authorization: 'Basic !!!' }],
      ['other scheme', urls.token, cc, { authorization: 'Bearer x' }],
      ['assertion by an unregistered key', urls.token, jwtBearer(await sign(forger.privateKey, 'pkjwt')), {}],
      ['assertion for an unknown client', urls.token, jwtBearer(await sign(forger.privateKey, 'nobody')), {}],
      ['assertion for a secret client', urls.token, jwtBearer(await sign(forger.privateKey, 'svc')), {}],
      ['assertion replayed', urls.token, jwtBearer(spent), {}],
      ['other assertion type', urls.token, jwtBearer(await sign(privateKey, 'pkjwt'), 'urn:x'), {}],
      ['public client at introspection', urls.introspection, { token: 'x', client_id: 'public' }, {}],
    ];
    for (const [label, url, body, headers] of cases) {
      const res = await post(url, body, headers);
      expect(res.status, label).toBe(401);
      expect(res.json, label).toEqual({
        error: 'invalid_client',
        error_description: 'client authentication failed',
      });
      expect(res.headers.get('www-authenticate') !== null, label).toBe(headers.authorization !== undefined);
    }
  });

  it('refuses two client authentication methods in one request', async () => {
    const { urls } = await start();
    const res = await post(
      urls.token,
      { grant_type: 'client_credentials', client_secret: SECRET },
      { authorization: basic('svc', SECRET) },
    );
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
  });

  it('refuses a method other than the registered one', async () => {
    const { urls } = await start();
    const res = await post(urls.token, {
      grant_type: 'client_credentials',
      client_id: 'svc',
      client_secret: SECRET,
    });
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it('refuses a scope the client may not have with invalid_scope', async () => {
    const { urls } = await start();
    const res = await post(
      urls.token,
      { grant_type: 'client_credentials', scope: 'admin' },
      { authorization: basic('svc', SECRET) },
    );
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_scope');
  });

  it('issues a token for the requested resource and refuses an unknown one with invalid_target', async () => {
    const { urls } = await start();
    const ok = await post(
      urls.token,
      { grant_type: 'client_credentials', resource: 'https://opaque.example.com' },
      {
        authorization: basic('svc', SECRET),
      },
    );
    expect(ok.status).toBe(200);
    expect((ok.json.access_token as string).split('.')).toHaveLength(1);
    const bad = await post(
      urls.token,
      { grant_type: 'client_credentials', resource: 'https://unknown.example' },
      {
        authorization: basic('svc', SECRET),
      },
    );
    expect(bad.json.error).toBe('invalid_target');
  });

  it('refuses a grant type the client is not registered for with unauthorized_client', async () => {
    const { urls } = await start();
    const res = await post(
      urls.token,
      { grant_type: 'refresh_token', refresh_token: 'x' },
      { authorization: basic('svc', SECRET) },
    );
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('unauthorized_client');
  });

  it('answers unsupported_grant_type for an unknown grant type', async () => {
    const { urls } = await start();
    const res = await post(
      urls.token,
      { grant_type: 'password', username: 'a', password: 'b' },
      { authorization: basic('svc', SECRET) },
    );
    expect(res.json.error).toBe('unsupported_grant_type');
  });

  it('honours the server-wide binding requirement except for exempt clients', async () => {
    const { urls } = await start(baseConfig({ binding: { required: 'dpop', exempt_clients: ['svc-post'] } }));
    const bound = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET) },
    );
    expect(bound.json.error).toBe('invalid_dpop_proof');
    const exempt = await post(urls.token, {
      grant_type: 'client_credentials',
      client_id: 'svc-post',
      client_secret: SECRET,
    });
    expect(exempt.status).toBe(200);
    expect(exempt.json.token_type).toBe('Bearer');
  });
});

describe('metadata and JWKS', () => {
  it('publishes RFC 8414 metadata with the DPoP and PKCE members', async () => {
    const { urls } = await start();
    const res = await fetch(`${urls.issuer}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    const m = await res.json();
    expect(m).toMatchObject({
      issuer: urls.issuer,
      token_endpoint: urls.token,
      jwks_uri: urls.jwks,
      code_challenge_methods_supported: ['S256'],
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256']),
      tls_client_certificate_bound_access_tokens: false,
      authorization_response_iss_parameter_supported: true,
    });
    expect(m.mtls_endpoint_aliases).toBeUndefined();
    expect(m.token_endpoint_auth_methods_supported).not.toContain('tls_client_auth');
  });

  it('publishes the signing key in the JWKS without private members', async () => {
    const { urls } = await start();
    const jwks = await (await fetch(urls.jwks)).json();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0].d).toBeUndefined();
  });

  it('keeps publishing a rotated-out key until its tokens have expired', async () => {
    let clock = Date.now();
    const { server, urls } = await start(baseConfig(), { now: () => clock });
    const before = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET) },
    );
    const oldKid = headerOf(before.json.access_token as string).kid;
    const { kid: newKid } = await server.rotateSigningKey();
    expect(newKid).not.toBe(oldKid);
    const after = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET) },
    );
    expect(headerOf(after.json.access_token as string).kid).toBe(newKid);
    let kids = (await (await fetch(urls.jwks)).json()).keys.map((k: { kid: string }) => k.kid);
    expect(kids.sort()).toEqual([oldKid, newKid].sort());
    clock += 301_000;
    kids = (await (await fetch(urls.jwks)).json()).keys.map((k: { kid: string }) => k.kid);
    expect(kids).toEqual([newKid]);
  });
});
