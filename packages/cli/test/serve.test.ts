// keybound serve in-process: one listener for the authorization server, the DPoP-enforcing demo
// API and the /demo page, on the embedded defaults (SQLite in a temporary data directory, memory
// replay store). Real HTTP on 127.0.0.1, real clients (@keybound/client), real proofs.
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyFromFile, OAuthClient } from '@keybound/client/node';
import { createProof, generateDpopKey, importDpopKey, type PrivateJwk } from '@keybound/core';
import { afterEach, describe, expect, it } from 'vitest';
import { runServe } from '../src/commands/serve.js';
import {
  DEMO_FILES,
  KEYBOUND_BIN,
  keyboundCommand,
  loadServeConfig,
  type RunningServe,
  startServe,
} from '../src/serve/index.js';
import { captureIo, cli, tempDir } from './helpers.js';

const NO_ASSETS = '/nonexistent/keybound-demo-assets';
const open: Array<{ close(): Promise<void> }> = [];
const dirs: Array<{ cleanup(): void }> = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

function newDir() {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}

interface Started {
  serve: RunningServe;
  log: string[];
}

async function start(
  dir: string,
  options: { config?: string; env?: Record<string, string>; assets?: string } = {},
): Promise<Started> {
  const values: Record<string, string> = { port: '0' };
  if (options.config !== undefined) values.config = options.config;
  const io = { ...captureIo(dir), env: options.env ?? {} };
  const config = await loadServeConfig(values, io);
  const log: string[] = [];
  const serve = await startServe(config, {
    log: (l) => log.push(l),
    demoAssetsDir: options.assets ?? NO_ASSETS,
  });
  open.push(serve);
  return { serve, log };
}

/** The demo service client as a program would use it: client_secret_basic and the demo DPoP key. */
async function serviceClient(serve: RunningServe) {
  const demo = serve.demo!;
  return OAuthClient.discover(serve.urls.issuer, {
    clientId: demo.serviceClientId,
    clientAuth: { method: 'client_secret_basic', clientSecret: demo.serviceClientSecret },
    dpopKey: await keyFromFile(demo.keyFile),
    protectedOrigins: [new URL(serve.urls.api).origin],
  });
}

describe('keybound serve (in-process)', () => {
  it('prints the URLs and the try-it lines, and exits 0 when stopped', async () => {
    const dir = newDir();
    const io = captureIo(dir.dir);
    const stop = new AbortController();
    let urls: RunningServe['urls'] | undefined;
    const exit = runServe({ port: '0' }, io, {
      signal: stop.signal,
      demoAssetsDir: NO_ASSETS,
      log: () => {},
      onListening: (running) => {
        urls = running.urls;
        stop.abort();
      },
    });
    expect(await exit).toBe(0);
    const out = io.out.join('');
    const origin = new URL(urls!.issuer).origin;
    expect(out).toContain(`  issuer    ${origin}\n`);
    expect(out).toContain(`  metadata  ${origin}/.well-known/oauth-authorization-server\n`);
    expect(out).toContain(`  JWKS      ${origin}/jwks\n`);
    expect(out).toContain(
      `  API       ${origin}/api/hello  (DPoP-bound tokens only; RFC 9728 metadata ${origin}/.well-known/oauth-protected-resource/api)`,
    );
    expect(out).toMatch(
      new RegExp(
        `  demo      ${origin}/demo/  \\(not built: run npm run build; sign in as demo, password [\\w-]{16}\\)`,
      ),
    );
    expect(out).toContain(`  storage   SQLite ${join(dir.dir, '.keybound', 'keybound.db')}\n`);
    expect(out).toContain('  replay    memory\n');
    expect(out).toContain(`--htu ${origin}/token`);
    expect(out).toMatch(
      /keybound serve: stop requested: closing the listener and the storage\nkeybound serve: stopped\n$/,
    );
    expect(io.err).toEqual([]);
    // and the port is closed
    await expect(fetch(urls!.jwks)).rejects.toThrow();
  });

  it('issues a DPoP-bound token to the demo service client; the API accepts it with the key only', async () => {
    const { serve } = await start(newDir().dir);
    const client = await serviceClient(serve);
    const tokens = await client.clientCredentials();
    expect(tokens.tokenType).toBe('DPoP');
    const answer = await client.fetch(serve.urls.api);
    expect(answer.status).toBe(200);
    const key = await keyFromFile(serve.demo!.keyFile);
    expect(await answer.json()).toMatchObject({
      message: 'hello keybound-demo-service',
      client_id: 'keybound-demo-service',
      binding: 'dpop',
      jkt: key.jkt,
      mode: 'enforce',
    });
    const asBearer = await fetch(serve.urls.api, {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers.get('keybound-code')).toBe('bound_token_as_bearer');
    const proof = await createProof(key, {
      htm: 'GET',
      htu: serve.urls.api,
      accessToken: tokens.accessToken,
    });
    const request = { headers: { authorization: `DPoP ${tokens.accessToken}`, dpop: proof } };
    expect((await fetch(serve.urls.api, request)).status).toBe(200);
    const replayed = await fetch(serve.urls.api, request);
    expect(replayed.status).toBe(401);
    expect(replayed.headers.get('keybound-code')).toBe('replay');
  });

  it('publishes the authorization server and protected resource metadata on the same origin', async () => {
    const { serve } = await start(newDir().dir);
    const as = (await (await fetch(serve.urls.metadata)).json()) as Record<string, unknown>;
    expect(as).toMatchObject({
      issuer: serve.urls.issuer,
      jwks_uri: serve.urls.jwks,
      token_endpoint: serve.urls.token,
      code_challenge_methods_supported: ['S256'],
    });
    expect(as.dpop_signing_alg_values_supported).toContain('ES256');
    const rs = (await (await fetch(serve.urls.apiMetadata)).json()) as Record<string, unknown>;
    expect(rs).toMatchObject({
      resource: `${serve.urls.issuer}/api`,
      authorization_servers: [serve.urls.issuer],
      dpop_bound_access_tokens_required: true,
    });
    const jwks = (await (await fetch(serve.urls.jwks)).json()) as { keys: unknown[] };
    expect(jwks.keys).toHaveLength(1);
  });

  it('refuses the demo service client a token without a DPoP proof (it is registered dpop_bound_access_tokens)', async () => {
    const { serve } = await start(newDir().dir);
    const demo = serve.demo!;
    const res = await fetch(serve.urls.token, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${demo.serviceClientId}:${demo.serviceClientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/^invalid_(dpop_proof|request)$/);
  });

  it('keeps registered clients, the signing key, tokens and the demo credentials across a restart (SQLite)', async () => {
    const dir = newDir();
    // a fixed port, so that the issuer (and the tokens' iss) is the same after the restart
    const probe = await start(dir.dir);
    const port = new URL(probe.serve.urls.issuer).port;
    await probe.serve.close();
    open.splice(open.indexOf(probe.serve), 1);
    const iat = 'initial-access-token-0123456789';
    dir.write(
      'keybound.config.yaml',
      `server: { port: ${port} }\nauthorization_server:\n  registration: { enabled: true, initial_access_tokens: [env:KB_IAT] }\n`,
    );
    const restartable = async () => {
      const io = { ...captureIo(dir.dir), env: { KB_IAT: iat } };
      const serve = await startServe(await loadServeConfig({}, io), { demoAssetsDir: NO_ASSETS });
      open.push(serve);
      return serve;
    };
    const first = await restartable();
    const registered = await fetch(`${first.urls.issuer}/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${iat}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'client_secret_basic',
        dpop_bound_access_tokens: true,
        client_name: 'registered before the restart',
      }),
    });
    expect(registered.status).toBe(201);
    const { client_id, client_secret } = (await registered.json()) as {
      client_id: string;
      client_secret: string;
    };
    const key = await generateDpopKey('ES256');
    const registeredClient = (serve: RunningServe) =>
      OAuthClient.discover(serve.urls.issuer, {
        clientId: client_id,
        clientAuth: { method: 'client_secret_basic', clientSecret: client_secret },
        dpopKey: key,
        protectedOrigins: [new URL(serve.urls.api).origin],
      });
    const before = await (await registeredClient(first)).clientCredentials({
      resource: `${first.urls.issuer}/api`,
    });
    const demoToken = (await (await serviceClient(first)).clientCredentials()).accessToken;
    const kidBefore = ((await (await fetch(first.urls.jwks)).json()) as { keys: { kid: string }[] }).keys[0]!
      .kid;
    const demoBefore = first.demo!;
    await first.close();
    open.splice(open.indexOf(first), 1);

    const second = await restartable();
    expect(second.urls.issuer).toBe(first.urls.issuer);
    expect(second.demo).toMatchObject({
      password: demoBefore.password,
      serviceClientSecret: demoBefore.serviceClientSecret,
      keyFile: demoBefore.keyFile,
    });
    const kidAfter = ((await (await fetch(second.urls.jwks)).json()) as { keys: { kid: string }[] }).keys[0]!
      .kid;
    expect(kidAfter).toBe(kidBefore);
    // tokens issued before the restart are still accepted: the signing key was kept in storage
    for (const [token, dpopKey] of [
      [before.accessToken, key],
      [demoToken, await keyFromFile(second.demo!.keyFile)],
    ] as const) {
      const proof = await createProof(dpopKey, { htm: 'GET', htu: second.urls.api, accessToken: token });
      const res = await fetch(second.urls.api, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
      expect(res.status).toBe(200);
    }
    // the client registered before the restart still authenticates and gets tokens
    const client = await registeredClient(second);
    const after = await client.clientCredentials({ resource: `${second.urls.issuer}/api` });
    expect(after.tokenType).toBe('DPoP');
    expect((await client.fetch(second.urls.api)).status).toBe(200);
  });

  it('asks for a server nonce on an API route configured with nonce: true, and accepts the retry', async () => {
    const dir = newDir();
    dir.write(
      'keybound.config.yaml',
      [
        'api:',
        '  nonce_secrets: [env:API_NONCE]',
        '  policy:',
        '    routes: [{ path: /api/hello, nonce: true }]',
      ].join('\n'),
    );
    const { serve } = await start(dir.dir, { env: { API_NONCE: 'an-api-nonce-secret-of-32-bytes-or-more' } });
    const client = await serviceClient(serve);
    const { accessToken } = await client.clientCredentials();
    const key = await keyFromFile(serve.demo!.keyFile);
    const proof = await createProof(key, { htm: 'GET', htu: serve.urls.api, accessToken });
    const first = await fetch(serve.urls.api, {
      headers: { authorization: `DPoP ${accessToken}`, dpop: proof },
    });
    expect(first.status).toBe(401);
    expect(first.headers.get('keybound-code')).toBe('nonce_required');
    expect(first.headers.get('www-authenticate')).toContain('error="use_dpop_nonce"');
    expect(first.headers.get('dpop-nonce')).toMatch(/^[0-9a-z]+\.[\w-]{22}$/);
    // the client retries once with the nonce
    expect((await client.fetch(serve.urls.api)).status).toBe(200);
  });

  it('keeps the nonces of the authorization server and of the API apart on their shared origin (no refusal per switch)', async () => {
    const dir = newDir();
    dir.write(
      'keybound.config.yaml',
      [
        'authorization_server:',
        '  dpop: { nonce: { required: true, secrets: [env:AS_NONCE] } }',
        'api:',
        '  nonce_secrets: [env:API_NONCE]',
        '  policy:',
        '    routes: [{ path: /api/hello, nonce: true }]',
      ].join('\n'),
    );
    const env = {
      AS_NONCE: 'an-as-nonce-secret-of-32-bytes-or-more',
      API_NONCE: 'an-api-nonce-secret-of-32-bytes-or-more',
    };
    const { serve } = await start(dir.dir, { env });
    const demo = serve.demo!;
    const refusals: string[] = [];
    const counting = async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await fetch(input, init);
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (response.status === 400 || response.status === 401)
        refusals.push(`${url.pathname} ${response.status}`);
      return response;
    };
    const client = await OAuthClient.discover(serve.urls.issuer, {
      clientId: demo.serviceClientId,
      clientAuth: { method: 'client_secret_basic', clientSecret: demo.serviceClientSecret },
      dpopKey: await keyFromFile(demo.keyFile),
      protectedOrigins: [new URL(serve.urls.api).origin],
      fetch: counting,
    });
    expect(new URL(serve.urls.token).origin).toBe(new URL(serve.urls.api).origin);
    for (let i = 0; i < 3; i++) {
      await client.clientCredentials();
      expect((await client.fetch(serve.urls.api)).status).toBe(200);
    }
    // one use_dpop_nonce from each server, the first time only
    expect(refusals).toEqual([`${new URL(serve.urls.token).pathname} 400`, '/api/hello 401']);
  });

  it('serves /demo with its CSP, config.json, and a 503 saying how to build it when it is not built', async () => {
    const { serve } = await start(newDir().dir);
    const page = await fetch(serve.urls.demo);
    expect(page.status).toBe(503);
    expect(await page.text()).toMatch(/npm run build/);
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self'/);
    const config = (await (await fetch(`${serve.urls.demo}config.json`)).json()) as Record<string, unknown>;
    expect(config).toEqual({
      issuer: serve.urls.issuer,
      clientId: 'keybound-demo-spa',
      redirectUri: serve.urls.demo,
      api: serve.urls.api,
      username: 'demo',
    });
    expect((await fetch(serve.urls.demo, { method: 'POST' })).status).toBe(405);
    const root = await fetch(serve.urls.issuer, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/demo/');
    const bare = await fetch(`${serve.urls.issuer}/demo`, { redirect: 'manual' });
    expect(bare.headers.get('location')).toBe('/demo/');
  });

  it('serves the built page and its assets, and nothing else under /demo', async () => {
    const { bundleDemo } = await import('../scripts/bundle-demo.mjs');
    const dir = newDir();
    const assets = join(dir.dir, 'assets');
    const bundle = await bundleDemo(assets);
    expect([...bundle.files].sort()).toEqual([...DEMO_FILES].sort());
    writeFileSync(join(assets, 'extra.js'), 'not part of the page');
    const { serve } = await start(dir.dir, { assets });
    const page = await fetch(`${serve.urls.demo}?code=x&state=y`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).toContain('<script type="module" src="app.js"></script>');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const script = await fetch(`${serve.urls.demo}app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).not.toMatch(/\bnode:[a-z]/);
    for (const path of [
      '../package.json',
      '%2e%2e/package.json',
      'app.ts',
      '.keybound/demo-credentials.json',
    ]) {
      expect((await fetch(`${serve.urls.demo}${path}`)).status).not.toBe(200);
    }
  });

  it('runs without the demo: no demo clients, user, page or credential files', async () => {
    const dir = newDir();
    dir.write('keybound.config.yaml', 'demo: { enabled: false }\n');
    const io = captureIo(dir.dir);
    const stop = new AbortController();
    let running: RunningServe | undefined;
    const exit = runServe({ port: '0' }, io, {
      signal: stop.signal,
      log: () => {},
      onListening: (r) => {
        running = r;
      },
    });
    await expect.poll(() => running).toBeDefined();
    expect(running!.demo).toBeUndefined();
    expect((await fetch(running!.urls.demo)).status).toBe(404);
    expect(existsSync(join(dir.dir, '.keybound', 'demo-credentials.json'))).toBe(false);
    stop.abort();
    expect(await exit).toBe(0);
    expect(io.out.join('')).toContain(`try it:\n  curl -s ${running!.urls.metadata}\n`);
  });

  it('keeps the data directory private: 0700, secret files 0600', async () => {
    const dir = newDir();
    await start(dir.dir);
    const data = join(dir.dir, '.keybound');
    expect(statSync(data).mode & 0o777).toBe(0o700);
    for (const name of ['demo-credentials.json', 'demo-client-key.json']) {
      expect(statSync(join(data, name)).mode & 0o777).toBe(0o600);
    }
    const jwk = JSON.parse(readFileSync(join(data, 'demo-client-key.json'), 'utf8')) as PrivateJwk;
    expect((await importDpopKey(jwk)).alg).toBe('ES256');
    expect((await keyFromFile(join(data, 'demo-client-key.json'))).alg).toBe('ES256');
  });

  it('logs one line per API decision with the path only: never the query, a token or a proof', async () => {
    const { serve, log } = await start(newDir().dir);
    const client = await serviceClient(serve);
    const { accessToken } = await client.clientCredentials();
    await client.fetch(`${serve.urls.api}?secret=query-value`);
    await fetch(`${serve.urls.api}?access_token=${accessToken}`);
    const lines = log.filter((l) => l.includes(' api '));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d api GET \/api\/hello → 200 allow \(dpop client=keybound-demo-service\)$/,
    );
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d api GET \/api\/hello → 401 deny token_missing \(none\)$/);
    expect(log.join('\n')).not.toContain(accessToken);
    expect(log.join('\n')).not.toContain('query-value');
  });

  it('exits 1 naming the server (not the password) when PostgreSQL or Redis cannot be reached', async () => {
    const dir = newDir();
    const pg = await cli(
      ['serve', '--port', '0', '--database', 'postgres://kb:hunter2@127.0.0.1:1/keybound'],
      dir.dir,
    );
    expect(pg.code).toBe(1);
    expect(pg.stderr).toMatch(
      /^keybound serve: the authorization server's storage \(PostgreSQL 127\.0\.0\.1:1\/keybound\) is not usable: /,
    );
    expect(pg.stderr).not.toContain('hunter2');
    const redis = await cli(['serve', '--port', '0', '--redis', 'redis://:hunter2@127.0.0.1:1'], dir.dir);
    expect(redis.code).toBe(1);
    expect(redis.stderr).toMatch(/^keybound serve: cannot connect to Redis at 127\.0\.0\.1:1: /);
    expect(redis.stderr).not.toContain('hunter2');
  });

  it('prints `keybound` in the curl lines only when that name on PATH is this executable outside node_modules/.bin', () => {
    const dir = newDir();
    const bin = join(dir.dir, 'bin');
    const npmBin = join(dir.dir, 'node_modules', '.bin');
    mkdirSync(bin);
    mkdirSync(npmBin, { recursive: true });
    symlinkSync(KEYBOUND_BIN, join(bin, 'keybound'));
    symlinkSync(KEYBOUND_BIN, join(npmBin, 'keybound'));
    expect(keyboundCommand({ PATH: `/nonexistent:${bin}` })).toBe('keybound');
    expect(keyboundCommand({ PATH: npmBin })).toBe(`node ${KEYBOUND_BIN}`);
    expect(keyboundCommand({})).toBe(`node ${KEYBOUND_BIN}`);
    symlinkSync('/bin/true', join(dir.dir, 'keybound'));
    expect(keyboundCommand({ PATH: dir.dir })).toBe(`node ${KEYBOUND_BIN}`);
  });
});
