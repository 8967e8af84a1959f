import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { codeFlowConfig, spaCode } from './browser.js';
import { generatePki } from './certificates.js';
import { baseConfig, basic, newKey, post, proofFor, SECRET, start } from './helpers.js';
import { startJwksHost, trustInFetch } from './jwks-host.js';

const dir = mkdtempSync(join(tmpdir(), 'kb-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fail closed', () => {
  it('refuses a DPoP token request with 503 when the Redis replay store cannot be reached', async () => {
    // a real client pointed at a port where nothing listens
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise((done) => probe.close(done));
    const redis = new Redis({
      host: '127.0.0.1',
      port: deadPort,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    const { urls } = await start(
      baseConfig({ replay: { type: 'redis', url: `redis://127.0.0.1:${deadPort}` } }),
      { redis },
    );
    const key = await newKey();
    const res = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('svc', SECRET), dpop: await proofFor(key, urls.token) },
    );
    expect(res.status).toBe(503);
    expect(res.json.error).toBe('temporarily_unavailable');
    // without a proof nothing needs the replay store
    expect(
      (await post(urls.token, { grant_type: 'client_credentials' }, { authorization: basic('svc', SECRET) }))
        .status,
    ).toBe(200);
    redis.disconnect();
  });

  it('refuses to start with replay.type redis and no client', async () => {
    await expect(
      start(baseConfig({ replay: { type: 'redis', url: 'redis://127.0.0.1:1' } })),
    ).rejects.toThrow(/deps.redis/);
  });
});

describe('private_key_jwt with a jwks_uri', () => {
  it('fetches the client keys from its https jwks_uri', async () => {
    const pki = generatePki();
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'remote-1' }] };
    const host = await startJwksHost(pki.server, () => jwks);
    trustInFetch(pki.ca.cert);
    try {
      const { urls } = await start(
        baseConfig({
          clients: [
            {
              client_id: 'remote',
              token_endpoint_auth_method: 'private_key_jwt',
              jwks_uri: `${host.base}/jwks`,
              grant_types: ['client_credentials'],
            },
          ],
        }),
      );
      const assertion = await new SignJWT({ jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'remote-1' })
        .setIssuer('remote')
        .setSubject('remote')
        .setAudience(urls.issuer)
        .setExpirationTime('1m')
        .sign(pair.privateKey);
      const res = await post(urls.token, {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      });
      expect(res.status).toBe(200);
      expect(host.hits.get('/jwks')).toBe(1);
    } finally {
      await host.close();
      pki.cleanup();
    }
  });
});

describe('secrets at rest', () => {
  it('stores codes, refresh tokens, client secrets, opaque tokens and initial access tokens only hashed', async () => {
    const path = join(dir, 'secrets.db');
    const config = codeFlowConfig({
      storage: { type: 'sqlite', path },
      registration: { enabled: true, initial_access_tokens: ['config-initial-access-token-123'] },
      resources: [{ identifier: 'https://opaque.example.com', access_token_format: 'opaque' }],
    });
    const { server, urls } = await start(config);
    const iat = await server.createInitialAccessToken();
    const reg = await (
      await fetch(urls.registration!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${iat}` },
        body: JSON.stringify({ grant_types: ['client_credentials'] }),
      })
    ).json();
    const { code, verifier } = await spaCode(urls);
    const key = await newKey();
    const tokens = await post(
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
    expect(tokens.status).toBe(200);
    const secrets = [
      code,
      tokens.json.refresh_token as string,
      tokens.json.access_token as string,
      reg.client_secret as string,
      iat,
      'config-initial-access-token-123',
    ];
    const db = new Database(path, { readonly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
        name: string;
      }[];
      const dump = tables
        .map((t) => JSON.stringify(db.prepare(`SELECT * FROM "${t.name}"`).all()))
        .join('\n');
      // the dump holds the data (the registered client's id is not a secret)
      expect(dump).toContain(reg.client_id);
      expect((tokens.json.access_token as string).split('.')).toHaveLength(1);
      for (const s of secrets)
        expect(dump.includes(s), `a secret of ${s.length} characters is stored in clear`).toBe(false);
    } finally {
      db.close();
    }
  });
});
