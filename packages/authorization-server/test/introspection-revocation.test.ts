import { describe, expect, it } from 'vitest';
import { codeFlowConfig, spaCode } from './browser.js';
import { basic, newKey, post, proofFor, SECRET, start } from './helpers.js';

function config() {
  const c = codeFlowConfig();
  return {
    ...c,
    resources: [
      { identifier: 'https://api.example.com' },
      { identifier: 'https://opaque.example.com', access_token_format: 'opaque' },
    ],
    clients: [
      ...(c.clients as unknown[]),
      { client_id: 'rs', client_secret: SECRET, grant_types: ['client_credentials'] },
      {
        client_id: 'svc',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        resources: ['https://api.example.com', 'https://opaque.example.com'],
      },
    ],
  };
}

const rs = { authorization: basic('rs', SECRET) };

async function codeTokens(urls: Parameters<typeof spaCode>[0], key: Awaited<ReturnType<typeof newKey>>) {
  const { code, verifier } = await spaCode(urls, { scope: 'read' });
  const res = await post(
    urls.token,
    {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: 'http://127.0.0.1/cb',
      client_id: 'spa',
    },
    { dpop: await proofFor(key, urls.token) },
  );
  return res.json as { access_token: string; refresh_token: string };
}

describe('introspection (RFC 7662)', () => {
  it('describes an active DPoP-bound token with token_type DPoP and cnf.jkt', async () => {
    const { urls } = await start(config());
    const key = await newKey();
    const issued = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET), dpop: await proofFor(key, urls.token) },
    );
    const res = await post(urls.introspection, { token: issued.json.access_token as string }, rs);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json).toMatchObject({
      active: true,
      token_type: 'DPoP',
      cnf: { jkt: key.jkt },
      client_id: 'svc',
      sub: 'svc',
      aud: 'https://api.example.com',
      iss: urls.issuer,
    });
  });

  it('describes an opaque token from its stored claims', async () => {
    const { urls } = await start(config());
    const key = await newKey();
    const issued = await post(
      urls.token,
      { grant_type: 'client_credentials', resource: 'https://opaque.example.com' },
      { authorization: basic('svc', SECRET), dpop: await proofFor(key, urls.token) },
    );
    const res = await post(urls.introspection, { token: issued.json.access_token as string }, rs);
    expect(res.json).toMatchObject({
      active: true,
      token_type: 'DPoP',
      cnf: { jkt: key.jkt },
      aud: 'https://opaque.example.com',
    });
  });

  it('answers active:false for unknown, forged and expired tokens', async () => {
    let clock = Date.now();
    const { urls } = await start(config(), { now: () => clock });
    const issued = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET) },
    );
    const token = issued.json.access_token as string;
    const [h, p] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), scope: 'admin' })).toString('base64url')}.${token.split('.')[2]}`;
    for (const t of ['nope', forged, 'a.b.c']) {
      expect((await post(urls.introspection, { token: t }, rs)).json).toEqual({ active: false });
    }
    clock += 301_000;
    expect((await post(urls.introspection, { token }, rs)).json).toEqual({ active: false });
  });

  it('refuses public clients and unauthenticated callers', async () => {
    const { urls } = await start(config());
    expect((await post(urls.introspection, { token: 'x', client_id: 'spa' })).status).toBe(401);
    expect((await post(urls.introspection, { token: 'x' })).status).toBe(401);
  });

  it('describes a refresh token only to the client it was issued to', async () => {
    const { urls } = await start(config());
    const key = await newKey();
    const { refresh_token } = await codeTokens(urls, key);
    expect(
      (await post(urls.introspection, { token: refresh_token, token_type_hint: 'refresh_token' }, rs)).json,
    ).toEqual({ active: false });
  });

  it('requires the token parameter', async () => {
    const { urls } = await start(config());
    expect((await post(urls.introspection, {}, rs)).json.error).toBe('invalid_request');
  });
});

describe('revocation (RFC 7009)', () => {
  it('revokes a refresh token, its family and the access tokens issued from the grant', async () => {
    const { urls } = await start(config());
    const key = await newKey();
    const { access_token, refresh_token } = await codeTokens(urls, key);
    expect((await post(urls.introspection, { token: access_token }, rs)).json.active).toBe(true);
    const res = await post(urls.revocation, {
      token: refresh_token,
      token_type_hint: 'refresh_token',
      client_id: 'spa',
    });
    expect(res.status).toBe(200);
    expect((await post(urls.introspection, { token: access_token }, rs)).json.active).toBe(false);
    const refresh = await post(
      urls.token,
      { grant_type: 'refresh_token', refresh_token, client_id: 'spa' },
      { dpop: await proofFor(key, urls.token) },
    );
    expect(refresh.json.error).toBe('invalid_grant');
  });

  it('revokes a JWT access token so introspection reports it inactive', async () => {
    const { urls } = await start(config());
    const issued = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET) },
    );
    const token = issued.json.access_token as string;
    expect((await post(urls.revocation, { token }, { authorization: basic('svc', SECRET) })).status).toBe(
      200,
    );
    expect((await post(urls.introspection, { token }, rs)).json).toEqual({ active: false });
  });

  it('ignores a token of another client and an unknown token, answering 200', async () => {
    const { urls } = await start(config());
    const issued = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET) },
    );
    const token = issued.json.access_token as string;
    expect((await post(urls.revocation, { token }, rs)).status).toBe(200);
    expect((await post(urls.introspection, { token }, rs)).json.active).toBe(true);
    expect((await post(urls.revocation, { token: 'unknown' }, rs)).status).toBe(200);
  });

  it('requires client authentication', async () => {
    const { urls } = await start(config());
    expect((await post(urls.revocation, { token: 'x' })).status).toBe(401);
  });
});
