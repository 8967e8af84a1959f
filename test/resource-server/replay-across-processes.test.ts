// Two resource-server processes sharing the real Redis: a proof accepted by one is refused by the
// other, a proof raced to both is accepted exactly once, and a nonce issued by one is accepted by
// the other (stateless nonces with a shared secret).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createProof, type DpopKey, generateDpopKey } from '@keybound/core';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../../packages/resource-server/test/support/http.js';
import { TestIssuer } from '../../packages/resource-server/test/support/issuer.js';
import { REDIS_URL, serviceAvailable, uniquePrefix } from '../support/services.js';

const available = await serviceAvailable('redis');
const ORIGIN = 'https://api.example.test';

describe.skipIf(!available)('two resource-server processes sharing Redis', () => {
  const prefix = uniquePrefix('rs-replay');
  const dir = mkdtempSync(join(tmpdir(), 'keybound-rs-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  let issuer: TestIssuer;
  let key: DpopKey;

  async function startProcess(bundle: string): Promise<number> {
    const child = spawn(process.execPath, [bundle], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        KEYBOUND_TEST_RS: JSON.stringify({
          policy: {
            resource: ORIGIN,
            publicOrigins: [ORIGIN],
            issuers: [{ issuer: issuer.issuer, jwksUri: issuer.jwksUri }],
            defaults: { require: 'dpop' },
            routes: [{ path: '/nonce', nonce: true }],
          },
          redisUrl: REDIS_URL,
          prefix,
          nonceSecret: 'a shared nonce secret of at least 32 bytes',
        }),
      },
    });
    children.push(child);
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`resource server exited with ${code}`)));
    });
    return (JSON.parse(line) as { port: number }).port;
  }

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    key = await generateDpopKey('ES256');
    const bundle = join(dir, 'rs-process.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('./support/rs-process.ts', import.meta.url))],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['source'],
      logLevel: 'silent',
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    ports.push(await startProcess(bundle), await startProcess(bundle));
  });

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await issuer?.close();
  });

  const url = (i: number) => `http://127.0.0.1:${ports[i]}`;

  async function request(path: string, nonce?: string): Promise<Record<string, string>> {
    const token = await issuer.mint({ aud: ORIGIN, client_id: 'app', cnf: { jkt: key.jkt } });
    return {
      host: 'api.example.test',
      authorization: `DPoP ${token}`,
      dpop: await createProof(key, {
        htm: 'GET',
        htu: `${ORIGIN}${path}`,
        accessToken: token,
        ...(nonce ? { nonce } : {}),
      }),
    };
  }

  it('rejects a proof replayed on a second instance', async () => {
    const headers = await request('/items');
    const first = await send(url(0), '/items', { headers });
    expect(first.status).toBe(200);
    const replayed = await send(url(1), '/items', { headers });
    expect(replayed.status).toBe(401);
    expect(replayed.body).toEqual({
      error: 'invalid_dpop_proof',
      error_description: 'This proof (key and jti) was already used',
    });
  });

  it('accepts a proof raced to both instances exactly once', async () => {
    for (let round = 0; round < 10; round++) {
      const headers = await request('/items');
      const answers = await Promise.all([
        send(url(0), '/items', { headers }),
        send(url(1), '/items', { headers }),
      ]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 401]);
      const winner = answers.find((a) => a.status === 200)!;
      expect(winner.body).toMatchObject({ binding: 'dpop', jkt: key.jkt });
    }
  });

  it('accepts on one instance a nonce issued by the other', async () => {
    const challenge = await send(url(0), '/nonce', { headers: await request('/nonce') });
    expect(challenge.status).toBe(401);
    const nonce = String(challenge.headers['dpop-nonce']);
    const answer = await send(url(1), '/nonce', { headers: await request('/nonce', nonce) });
    expect(answer.status).toBe(200);
  });

  it('keeps the replay entries under its prefix in Redis with a TTL', async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    const ttl = await redis.pttl(keys[0]!);
    redis.disconnect();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(66_000);
  });
});
