// Two authorization server instances on one PostgreSQL database and one Redis behave as one server.
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase } from '../../../test/support/postgres.js';
import {
  REDIS_URL,
  serviceAvailable,
  uniqueDatabaseName,
  uniquePrefix,
} from '../../../test/support/services.js';
import type { AuthorizationServer, ServerUrls } from '../src/index.js';
import { codeFlowConfig, openAuthorize, pkce, spaCode, submitLogin } from './browser.js';
import { basic, localUrls, newKey, post, proofFor, SECRET, start } from './helpers.js';

const available = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));
const database = uniqueDatabaseName('as_shared');
const prefix = uniquePrefix('as-shared');
const ISSUER = 'https://as.shared.example';
const redisClients: Redis[] = [];
let databaseUrl = '';
let clientKey: CryptoKey;
let clientJwk: Record<string, unknown>;
const serverOf = new Map<ServerUrls, AuthorizationServer>();

async function instance(): Promise<ServerUrls> {
  const redis = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
  redisClients.push(redis);
  const base = codeFlowConfig();
  const config = {
    ...base,
    issuer: ISSUER,
    storage: { type: 'postgres', url: databaseUrl, pool_size: 4 },
    replay: { type: 'redis', url: REDIS_URL, prefix },
    dpop: { nonce: { secrets: ['shared-nonce-secret-for-both-instances-0123'] } },
    registration: { enabled: true, open: true },
    clients: [
      ...(base.clients as unknown[]),
      { client_id: 'rs', client_secret: SECRET, grant_types: ['client_credentials'] },
      {
        client_id: 'pk',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [clientJwk] },
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'noncey',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        require_dpop_nonce: true,
      },
    ],
  };
  const { server, urls } = await start(config, { redis }, 'file');
  const local = localUrls(urls, server.listening.http!);
  serverOf.set(local, server);
  return local;
}

describe.skipIf(!available)('two instances on one PostgreSQL and one Redis', () => {
  let a: ServerUrls;
  let b: ServerUrls;

  beforeAll(async () => {
    databaseUrl = await createDatabase(database);
    const pair = await generateKeyPair('ES256');
    clientKey = pair.privateKey;
    clientJwk = { ...(await exportJWK(pair.publicKey)), kid: 'pk1' };
    // both start at once: migrations and the first signing key must not race
    [a, b] = await Promise.all([instance(), instance()]);
  });

  afterAll(async () => {
    if (redisClients[0]) {
      const keys = await redisClients[0].keys(`${prefix}*`);
      if (keys.length > 0) await redisClients[0].del(...keys);
    }
    for (const r of redisClients) r.disconnect();
    await dropDatabase(database);
  });

  it('start together, migrate once and agree on one signing key', async () => {
    const [ja, jb] = await Promise.all([
      fetch(a.jwks).then((r) => r.json()),
      fetch(b.jwks).then((r) => r.json()),
    ]);
    expect(ja).toEqual(jb);
    const issued = await post(
      a.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('rs', SECRET) },
    );
    expect(
      (
        await post(
          b.introspection,
          { token: issued.json.access_token as string },
          { authorization: basic('rs', SECRET) },
        )
      ).json.active,
    ).toBe(true);
  });

  it('verifies on one instance a token signed with a key the other rotated in a moment ago', async () => {
    const before = (await fetch(b.jwks).then((r) => r.json())).keys.map((k: { kid: string }) => k.kid);
    const { kid } = await serverOf.get(a)!.rotateSigningKey();
    const issued = await post(
      a.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('rs', SECRET) },
    );
    const header = JSON.parse(
      Buffer.from((issued.json.access_token as string).split('.')[0]!, 'base64url').toString(),
    );
    expect(header.kid).toBe(kid);
    const introspected = await post(
      b.introspection,
      { token: issued.json.access_token as string },
      { authorization: basic('rs', SECRET) },
    );
    expect(introspected.json.active).toBe(true);
    // b reloaded its keys on the unknown kid: it publishes the new key and still the previous ones
    const after = (await fetch(b.jwks).then((r) => r.json())).keys.map((k: { kid: string }) => k.kid);
    expect(after).toEqual(expect.arrayContaining([...before, kid]));
  });

  it('rejects a proof replayed on a second instance', async () => {
    const key = await newKey();
    const proof = await proofFor(key, `${ISSUER}/token`);
    const first = await post(
      a.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('rs', SECRET), dpop: proof },
    );
    expect(first.status).toBe(200);
    const replayed = await post(
      b.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('rs', SECRET), dpop: proof },
    );
    expect(replayed.status).toBe(400);
    expect(replayed.json.error).toBe('invalid_dpop_proof');
  });

  it('rejects a client assertion replayed on a second instance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'pk1' })
      .setIssuer('pk')
      .setSubject('pk')
      .setAudience(ISSUER)
      .setExpirationTime(now + 60)
      .sign(clientKey);
    const form = {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    };
    expect((await post(a.token, form)).status).toBe(200);
    expect((await post(b.token, form)).status).toBe(401);
  });

  it('accepts on one instance a nonce issued by the other', async () => {
    const key = await newKey();
    const first = await post(
      a.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('noncey', SECRET), dpop: await proofFor(key, `${ISSUER}/token`) },
    );
    expect(first.json.error).toBe('use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce')!;
    const second = await post(
      b.token,
      { grant_type: 'client_credentials' },
      {
        authorization: basic('noncey', SECRET),
        dpop: await proofFor(key, `${ISSUER}/token`, { nonce }),
      },
    );
    expect(second.status).toBe(200);
  });

  it('detects on one instance the reuse of a refresh token rotated on the other, and revokes the family', async () => {
    const key = await newKey();
    const { code, verifier } = await spaCode(a);
    const tokens = await post(
      a.token,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: 'http://127.0.0.1/cb',
        client_id: 'spa',
      },
      { dpop: await proofFor(key, `${ISSUER}/token`) },
    );
    const refresh = (via: ServerUrls, rt: string) =>
      proofFor(key, `${ISSUER}/token`).then((dpop) =>
        post(via.token, { grant_type: 'refresh_token', refresh_token: rt, client_id: 'spa' }, { dpop }),
      );
    const rotated = await refresh(a, tokens.json.refresh_token as string);
    expect(rotated.status).toBe(200);
    const reuse = await refresh(b, tokens.json.refresh_token as string);
    expect(reuse.json.error).toBe('invalid_grant');
    expect((await refresh(a, rotated.json.refresh_token as string)).json.error).toBe('invalid_grant');
    expect(
      (
        await post(
          b.introspection,
          { token: rotated.json.access_token as string },
          { authorization: basic('rs', SECRET) },
        )
      ).json.active,
    ).toBe(false);
  });

  it('lets exactly one of two instances racing the same refresh token win', async () => {
    const key = await newKey();
    const { code, verifier } = await spaCode(a);
    const tokens = await post(
      b.token,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: 'http://127.0.0.1/cb',
        client_id: 'spa',
      },
      { dpop: await proofFor(key, `${ISSUER}/token`) },
    );
    const body = {
      grant_type: 'refresh_token',
      refresh_token: tokens.json.refresh_token as string,
      client_id: 'spa',
    };
    const results = await Promise.all(
      [a, b, a, b].map(async (via) =>
        post(via.token, body, { dpop: await proofFor(key, `${ISSUER}/token`) }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.json.error === 'invalid_grant')).toHaveLength(3);
  });

  it('refuses on one instance a code already redeemed on the other', async () => {
    const key = await newKey();
    const { code, verifier } = await spaCode(a);
    const body = {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: 'http://127.0.0.1/cb',
      client_id: 'spa',
    };
    expect((await post(a.token, body, { dpop: await proofFor(key, `${ISSUER}/token`) })).status).toBe(200);
    expect((await post(b.token, body, { dpop: await proofFor(key, `${ISSUER}/token`) })).json.error).toBe(
      'invalid_grant',
    );
  });

  it('finishes on one instance a login started on the other, and uses a client registered on the other', async () => {
    const page = await openAuthorize(a, {
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: 'http://127.0.0.1/cb',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    expect((await submitLogin(b, page)).status).toBe(303);
    const reg = await (
      await fetch(a.registration!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_types: ['client_credentials'] }),
      })
    ).json();
    expect(
      (
        await post(
          b.token,
          { grant_type: 'client_credentials' },
          { authorization: basic(reg.client_id, reg.client_secret) },
        )
      ).status,
    ).toBe(200);
  });
});
