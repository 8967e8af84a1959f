// keybound serve as users run it: the built executable in its own process. Exit codes, the printed
// try-it lines executed for real with sh and curl, SIGTERM/SIGINT shutting down cleanly, the built
// /demo page, --database against the real PostgreSQL, and --redis shared by two serve processes
// (a proof used at one is refused at the other).
import { execFile, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createProof, importDpopKey, type PrivateJwk } from '@keybound/core';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase } from '../../../test/support/postgres.js';
import {
  REDIS_URL,
  serviceAvailable,
  uniqueDatabaseName,
  uniquePrefix,
} from '../../../test/support/services.js';
import { bundleDemo } from '../scripts/bundle-demo.mjs';
import { tempDir } from './helpers.js';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const dirs: Array<{ cleanup(): void }> = [];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface ServeProcess {
  /** Resolves with stdout once the banner is printed (rejects if the process ends first). */
  ready: Promise<string>;
  exited: Promise<Exit>;
  stdout(): string;
  kill(signal: NodeJS.Signals): void;
}

const children: ServeProcess[] = [];

function keybound(args: string[], cwd: string, env: Record<string, string> = {}): ServeProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let onBanner: (out: string) => void = () => {};
  let onEarlyExit: (e: Error) => void = () => {};
  const ready = new Promise<string>((resolve, reject) => {
    onBanner = resolve;
    onEarlyExit = reject;
  });
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    if (stdout.includes('Ctrl-C stops the server.\n')) onBanner(stdout);
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      onEarlyExit(new Error(`keybound exited (${code ?? signal}) before listening: ${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });
  ready.catch(() => {});
  const proc: ServeProcess = { ready, exited, stdout: () => stdout, kill: (s) => child.kill(s) };
  children.push(proc);
  return proc;
}

function newDir() {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}

/** The banner's value for a row name (issuer, API, listening, …). */
function row(banner: string, name: string): string {
  const m = new RegExp(`^  ${name} +(\\S+)`, 'm').exec(banner);
  if (m === null) throw new Error(`no ${name} row in:\n${banner}`);
  return m[1]!;
}

/** The shell lines under "try it", without their indentation. */
function tryIt(banner: string): string {
  const lines = banner.split('\n');
  const start = lines.findIndex((l) => l.startsWith('try it'));
  const end = lines.findIndex((l, i) => i > start && l === '');
  return lines
    .slice(start + 1, end)
    .map((l) => l.slice(2))
    .join('\n');
}

async function runTryIt(banner: string, cwd: string): Promise<string> {
  const script = join(cwd, 'try-it.sh');
  writeFileSync(script, `set -e\n${tryIt(banner)}\n`);
  const { stdout } = await exec('sh', [script], { cwd, env: { PATH: process.env.PATH ?? '' } });
  return stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  await exec('flock', ['/tmp/keybound-tsc.lock', 'npx', 'tsc', '-b', 'packages/cli'], { cwd: root });
  await bundleDemo(); // dist/demo-page, as npm run build makes it
}, 180_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  for (const d of dirs) d.cleanup();
});

describe('the keybound serve executable', () => {
  it('exits 2 naming the bad field of the configuration, and never listens', async () => {
    const dir = newDir();
    dir.write(
      'keybound.config.yaml',
      'authorization_server:\n  clients:\n    - { client_id: a, client_secret: s, grant_types: [client_credentials] }\n    - { client_id: b, token_endpoint_auth_method: basic }\n',
    );
    const r = await keybound(['serve', '--port', '0'], dir.dir).exited;
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^keybound serve: invalid configuration in 'keybound\.config\.yaml': authorization_server\.clients\[1\]\.token_endpoint_auth_method: expected one of .*got "basic"/,
    );
  });

  it('exits 2 for an unknown option and 1 for a port in use', async () => {
    const dir = newDir();
    expect((await keybound(['serve', '--bogus'], dir.dir).exited).code).toBe(2);
    const first = keybound(['serve', '--port', '0'], dir.dir);
    const port = new URL(row(await first.ready, 'issuer')).port;
    const second = await keybound(['serve', '--port', port], newDir().dir).exited;
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
    first.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
  });

  it('prints curl lines that work as printed: a DPoP-bound token, then 200 from the API; SIGTERM stops it cleanly', async () => {
    const dir = newDir();
    const serve = keybound(['serve', '--port', '0'], dir.dir);
    const banner = await serve.ready;
    const output = await runTryIt(banner, dir.dir);
    expect(output).toMatch(/^HTTP\/1\.1 200 OK\r?$/m);
    expect(output).toContain('"message":"hello keybound-demo-service"');
    expect(output).toContain('"binding":"dpop"');
    // the same lines run again get a new token and proofs: still 200
    expect(await runTryIt(banner, dir.dir)).toMatch(/^HTTP\/1\.1 200 OK\r?$/m);
    serve.kill('SIGTERM');
    const exit = await serve.exited;
    expect(exit).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(exit.stdout).toMatch(
      /keybound serve: SIGTERM: closing the listener and the storage\nkeybound serve: stopped\n$/,
    );
    await expect(fetch(row(banner, 'JWKS'))).rejects.toThrow();
  });

  it('serves the built /demo page, and stops on SIGINT with exit 0; a restart keeps the demo credentials', async () => {
    const dir = newDir();
    const serve = keybound(['serve', '--port', '0'], dir.dir);
    const banner = await serve.ready;
    expect(banner).toMatch(
      / {2}demo {6}http:\/\/127\.0\.0\.1:\d+\/demo\/ {2}\(sign in as demo, password [\w-]{16}\)/,
    );
    const page = await fetch(row(banner, 'demo'));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
    serve.kill('SIGINT');
    expect((await serve.exited).code).toBe(0);
    const again = keybound(['serve', '--port', '0'], dir.dir);
    const second = await again.ready;
    const password = (b: string) => /password ([\w-]{16})/.exec(b)?.[1];
    expect(password(second)).toBe(password(banner));
    // the printed lines of the restarted server work with the same key file
    expect(await runTryIt(second, dir.dir)).toMatch(/^HTTP\/1\.1 200 OK\r?$/m);
    again.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });
});

const postgres = await serviceAvailable('postgres');

describe.skipIf(!postgres)('keybound serve --database (the real PostgreSQL)', () => {
  const database = uniqueDatabaseName('cli_serve');
  let databaseUrl = '';

  beforeAll(async () => {
    databaseUrl = await createDatabase(database);
  });

  afterAll(async () => {
    await dropDatabase(database);
  });

  it('keeps its state in PostgreSQL: the printed lines work, and a second process finds the same signing key', async () => {
    const dir = newDir();
    const serve = keybound(['serve', '--port', '0', '--database', databaseUrl], dir.dir);
    const banner = await serve.ready;
    expect(row(banner, 'storage')).toBe('PostgreSQL');
    expect(banner).toContain(`storage   PostgreSQL 127.0.0.1:5432/${database}\n`);
    expect(await runTryIt(banner, dir.dir)).toMatch(/^HTTP\/1\.1 200 OK\r?$/m);
    const jwks = await (await fetch(row(banner, 'JWKS'))).json();
    serve.kill('SIGTERM');
    const exit = await serve.exited;
    expect(exit.code).toBe(0);
    expect(exit.stderr).toBe('');
    // nothing went to SQLite; the tables and the generated key are in the database
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const tables = await client.query(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'",
    );
    await client.end();
    expect(tables.rows[0].n).toBeGreaterThan(3);
    // another process, another working directory, the same database: the same key
    const other = keybound(['serve', '--port', '0', '--database', databaseUrl], newDir().dir);
    const otherBanner = await other.ready;
    expect(await (await fetch(row(otherBanner, 'JWKS'))).json()).toEqual(jwks);
    other.kill('SIGTERM');
    expect((await other.exited).code).toBe(0);
  });
});

const redisUp = await serviceAvailable('redis');

describe.skipIf(!redisUp)('keybound serve --redis: two processes share the replay store', () => {
  const prefix = uniquePrefix('cli-serve');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  afterAll(async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('refuses at one process a proof already used at the other, at the API and at the token endpoint', async () => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    // two instances behind one public URL: same issuer, same signing key, same Redis
    const config = [
      `server: { public_url: "${publicUrl}" }`,
      'authorization_server:',
      '  signing_keys: [{ private_key: env:KB_SIGNING_KEY }]',
      '  clients:',
      '    - { client_id: shared, client_secret: env:KB_SHARED_SECRET, grant_types: [client_credentials], dpop_bound_access_tokens: true }',
      `  replay: { type: redis, url: env:KB_REDIS, prefix: "${prefix}as:" }`,
      `api: { replay_prefix: "${prefix}api:" }`,
    ].join('\n');
    const env = {
      KB_SIGNING_KEY: signingKey,
      KB_REDIS: REDIS_URL,
      KB_SHARED_SECRET: 'a-client-secret-both-instances-know-0123',
    };
    const dirA = newDir();
    const dirB = newDir();
    dirA.write('keybound.config.yaml', config);
    dirB.write('keybound.config.yaml', config);
    const a = keybound(['serve', '--port', String(port), '--redis', REDIS_URL], dirA.dir, env);
    const b = keybound(['serve', '--port', '0', '--redis', REDIS_URL], dirB.dir, env);
    const [bannerA, bannerB] = await Promise.all([a.ready, b.ready]);
    expect(row(bannerA, 'replay')).toBe('Redis');
    const localB = row(bannerB, 'listening');
    expect(row(bannerB, 'issuer')).toBe(publicUrl);

    // a DPoP-bound token from A for the client both instances know (its secret from the environment)
    const keyFile = join(dirA.dir, '.keybound', 'demo-client-key.json');
    const key = await importDpopKey(JSON.parse(readFileSync(keyFile, 'utf8')) as PrivateJwk);
    const tokenRequest = {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`shared:${env.KB_SHARED_SECRET}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        dpop: await createProof(key, { htm: 'POST', htu: `${publicUrl}/token` }),
      },
      body: 'grant_type=client_credentials',
    };
    const issued = await fetch(`${publicUrl}/token`, tokenRequest);
    expect(issued.status).toBe(200);
    const { access_token: token } = (await issued.json()) as { access_token: string };
    // the token request's proof, replayed at B's token endpoint: refused there
    const replayedAtB = await fetch(`${localB}/token`, tokenRequest);
    expect(replayedAtB.status).toBe(400);
    expect(((await replayedAtB.json()) as { error: string }).error).toBe('invalid_dpop_proof');

    // an API request accepted at A, the same request (proof and all) replayed at B: refused
    const api = `${publicUrl}/api/hello`;
    const request = {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await createProof(key, { htm: 'GET', htu: api, accessToken: token }),
      },
    };
    expect((await fetch(api, request)).status).toBe(200);
    const atB = await fetch(`${localB}/api/hello`, request);
    expect(atB.status).toBe(401);
    expect(atB.headers.get('keybound-code')).toBe('replay');
    // B accepts A's token with a fresh proof: the instances behave as one server
    const fresh = {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await createProof(key, { htm: 'GET', htu: api, accessToken: token }),
      },
    };
    expect((await fetch(`${localB}/api/hello`, fresh)).status).toBe(200);
    // and the other way round: used at B first, refused at A
    expect((await fetch(api, fresh)).headers.get('keybound-code')).toBe('replay');

    a.kill('SIGTERM');
    b.kill('SIGTERM');
    const [exitA, exitB] = await Promise.all([a.exited, b.exited]);
    expect(exitA).toMatchObject({ code: 0, stderr: '' });
    expect(exitB).toMatchObject({ code: 0, stderr: '' });
    expect(exitA.stdout).toMatch(/closing the listener, the storage and Redis\nkeybound serve: stopped\n$/);
  });
});
