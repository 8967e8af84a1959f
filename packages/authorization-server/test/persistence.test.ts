import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeFlowConfig, openAuthorize, pkce, spaCode, submitLogin } from './browser.js';
import { basic, headerOf, localUrls, newKey, post, proofFor, SECRET, start } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kb-persist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('persistence across a restart (SQLite file)', () => {
  it('loses nothing: keys, registered clients, refresh tokens, revocations, reuse state, pending logins', async () => {
    const config = codeFlowConfig({
      issuer: 'https://as.persist.example',
      storage: { type: 'sqlite', path: join(dir, 'as.db') },
      registration: { enabled: true, open: true },
      clients: [
        ...(codeFlowConfig().clients as unknown[]),
        { client_id: 'rs', client_secret: SECRET, grant_types: ['client_credentials'] },
      ],
    });
    const started = await start(config);
    const first = { server: started.server, urls: localUrls(started.urls, started.server.listening.http!) };
    const key = await newKey();
    // a dynamically registered client
    const reg = await (
      await fetch(first.urls.registration!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_types: ['client_credentials'] }),
      })
    ).json();
    // a code-flow grant with a refresh token, rotated once (the old one is now "used")
    const { code, verifier } = await spaCode(first.urls);
    const tokens = await post(
      first.urls.token,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: 'http://127.0.0.1/cb',
        client_id: 'spa',
      },
      { dpop: await proofFor(key, started.urls.token) },
    );
    const rotated = await post(
      first.urls.token,
      { grant_type: 'refresh_token', refresh_token: tokens.json.refresh_token as string, client_id: 'spa' },
      { dpop: await proofFor(key, started.urls.token) },
    );
    expect(rotated.status).toBe(200);
    // a revoked client_credentials token
    const cc = await post(
      first.urls.token,
      { grant_type: 'client_credentials' },
      { authorization: basic('rs', SECRET) },
    );
    await post(
      first.urls.revocation,
      { token: cc.json.access_token as string },
      { authorization: basic('rs', SECRET) },
    );
    // a login started but not finished
    const pending = await openAuthorize(first.urls, {
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: 'http://127.0.0.1/cb',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    const kid = headerOf(rotated.json.access_token as string).kid;
    await first.server.close();

    const second = await start(config);
    const u = localUrls(second.urls, second.server.listening.http!);
    // same signing key
    expect((await (await fetch(u.jwks)).json()).keys.map((k: { kid: string }) => k.kid)).toEqual([kid]);
    expect(
      (
        await post(
          u.introspection,
          { token: rotated.json.access_token as string },
          { authorization: basic('rs', SECRET) },
        )
      ).json.active,
    ).toBe(true);
    // the registered client still authenticates
    expect(
      (
        await post(
          u.token,
          { grant_type: 'client_credentials' },
          { authorization: basic(reg.client_id, reg.client_secret) },
        )
      ).status,
    ).toBe(200);
    // the revocation survived
    expect(
      (
        await post(
          u.introspection,
          { token: cc.json.access_token as string },
          { authorization: basic('rs', SECRET) },
        )
      ).json.active,
    ).toBe(false);
    // the pending login finishes on the new process
    expect((await submitLogin(u, pending)).status).toBe(303);
    // the current refresh token works, and reuse of the old one is still detected
    const again = await post(
      u.token,
      { grant_type: 'refresh_token', refresh_token: rotated.json.refresh_token as string, client_id: 'spa' },
      { dpop: await proofFor(key, second.urls.token) },
    );
    expect(again.status).toBe(200);
    const reuse = await post(
      u.token,
      { grant_type: 'refresh_token', refresh_token: tokens.json.refresh_token as string, client_id: 'spa' },
      { dpop: await proofFor(key, second.urls.token) },
    );
    expect(reuse.json.error_description).toMatch(/already used/);
  });
});
