import { MemoryReplayStore } from '@keybound/core';
import { describe, expect, it } from 'vitest';
import { vectors } from '../../core/test/vectors.js';
import { parseServerConfig } from '../src/index.js';
import { authorizeAndLogin, codeFlowConfig, openAuthorize, PASSWORD, pkce, submitLogin } from './browser.js';
import { basic, claimsOf, localUrls, newKey, post, proofFor, SECRET, start } from './helpers.js';

const SPA = { client_id: 'spa', redirect_uri: 'http://127.0.0.1/cb' };

async function spaCode(urls: Parameters<typeof authorizeAndLogin>[0], extra: Record<string, string> = {}) {
  const { verifier, challenge } = pkce();
  const params = await authorizeAndLogin(urls, {
    response_type: 'code',
    ...SPA,
    scope: 'read',
    state: 'st-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  return { code: params.get('code')!, verifier, params };
}

describe('authorization code flow with PKCE and DPoP', () => {
  it('completes code + PKCE + DPoP for a public client and binds access and refresh tokens to the key', async () => {
    const { urls } = await start(codeFlowConfig());
    const key = await newKey();
    const { code, verifier, params } = await spaCode(urls, { dpop_jkt: key.jkt });
    expect(params.get('state')).toBe('st-1');
    expect(params.get('iss')).toBe(urls.issuer);
    const res = await post(
      urls.token,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: SPA.redirect_uri,
        client_id: 'spa',
      },
      { dpop: await proofFor(key, urls.token) },
    );
    expect(res.status).toBe(200);
    expect(res.json.token_type).toBe('DPoP');
    expect(claimsOf(res.json.access_token as string)).toMatchObject({
      sub: 'user-alice',
      client_id: 'spa',
      scope: 'read',
      cnf: { jkt: key.jkt },
    });
    expect(typeof res.json.refresh_token).toBe('string');

    // the public client's refresh token is bound to the DPoP key (RFC 9449 §5)
    const other = await newKey();
    const stolen = await post(
      urls.token,
      { grant_type: 'refresh_token', refresh_token: res.json.refresh_token as string, client_id: 'spa' },
      { dpop: await proofFor(other, urls.token) },
    );
    expect(stolen.json.error).toBe('invalid_grant');
    const withoutProof = await post(urls.token, {
      grant_type: 'refresh_token',
      refresh_token: res.json.refresh_token as string,
      client_id: 'spa',
    });
    expect(withoutProof.json.error).toBe('invalid_dpop_proof');
    const refreshed = await post(
      urls.token,
      { grant_type: 'refresh_token', refresh_token: res.json.refresh_token as string, client_id: 'spa' },
      { dpop: await proofFor(key, urls.token) },
    );
    expect(refreshed.status).toBe(200);
    expect(claimsOf(refreshed.json.access_token as string).cnf).toEqual({ jkt: key.jkt });
    expect(refreshed.json.refresh_token).not.toBe(res.json.refresh_token);
  });

  it('redeems a code issued with dpop_jkt only with that key, and a failed attempt does not consume it', async () => {
    const { urls } = await start(codeFlowConfig());
    const key = await newKey();
    const other = await newKey();
    const { code, verifier } = await spaCode(urls, { dpop_jkt: key.jkt });
    const body = {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: SPA.redirect_uri,
      client_id: 'spa',
    };
    const wrong = await post(urls.token, body, { dpop: await proofFor(other, urls.token) });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toBe('invalid_grant');
    const right = await post(urls.token, body, { dpop: await proofFor(key, urls.token) });
    expect(right.status).toBe(200);
  });

  it('never consumes the code on use_dpop_nonce', async () => {
    const { urls } = await start(codeFlowConfig({ dpop: { nonce: { required: true } } }));
    const key = await newKey();
    const { code, verifier } = await spaCode(urls);
    const body = {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: SPA.redirect_uri,
      client_id: 'spa',
    };
    const first = await post(urls.token, body, { dpop: await proofFor(key, urls.token) });
    expect(first.status).toBe(400);
    expect(first.json.error).toBe('use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce')!;
    const second = await post(urls.token, body, { dpop: await proofFor(key, urls.token, { nonce }) });
    expect(second.status).toBe(200);
  });

  it('never consumes the code on an invalid proof', async () => {
    const { urls } = await start(codeFlowConfig());
    const key = await newKey();
    const { code, verifier } = await spaCode(urls);
    const body = {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: SPA.redirect_uri,
      client_id: 'spa',
    };
    const bad = await post(urls.token, body, { dpop: await proofFor(key, urls.token, { htm: 'GET' }) });
    expect(bad.json.error).toBe('invalid_dpop_proof');
    expect((await post(urls.token, body, { dpop: await proofFor(key, urls.token) })).status).toBe(200);
  });

  it('refuses a wrong code_verifier with invalid_grant and leaves the code usable', async () => {
    const { urls } = await start(codeFlowConfig());
    const key = await newKey();
    const { code, verifier } = await spaCode(urls);
    const wrong = await post(
      urls.token,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: pkce().verifier,
        redirect_uri: SPA.redirect_uri,
        client_id: 'spa',
      },
      { dpop: await proofFor(key, urls.token) },
    );
    expect(wrong.json.error).toBe('invalid_grant');
    const right = await post(
      urls.token,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: SPA.redirect_uri,
        client_id: 'spa',
      },
      { dpop: await proofFor(key, urls.token) },
    );
    expect(right.status).toBe(200);
  });

  it('requires the code_verifier', async () => {
    const { urls } = await start(codeFlowConfig());
    const key = await newKey();
    const { code } = await spaCode(urls);
    const res = await post(
      urls.token,
      { grant_type: 'authorization_code', code, client_id: 'spa' },
      { dpop: await proofFor(key, urls.token) },
    );
    expect(res.json).toMatchObject({ error: 'invalid_request' });
  });

  it('revokes the tokens issued with a code that is presented again', async () => {
    const { urls } = await start(codeFlowConfig());
    const key = await newKey();
    const { code, verifier } = await spaCode(urls);
    const body = {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: SPA.redirect_uri,
      client_id: 'spa',
    };
    const first = await post(urls.token, body, { dpop: await proofFor(key, urls.token) });
    expect(first.status).toBe(200);
    const again = await post(urls.token, body, { dpop: await proofFor(key, urls.token) });
    expect(again.json.error).toBe('invalid_grant');
    const refresh = await post(
      urls.token,
      { grant_type: 'refresh_token', refresh_token: first.json.refresh_token as string, client_id: 'spa' },
      { dpop: await proofFor(key, urls.token) },
    );
    expect(refresh.json.error).toBe('invalid_grant');
  });

  it('refuses a token request whose redirect_uri differs from the authorization request', async () => {
    const { urls } = await start(codeFlowConfig());
    const { verifier, challenge } = pkce();
    const params = await authorizeAndLogin(urls, {
      response_type: 'code',
      client_id: 'web',
      redirect_uri: 'https://app.example/cb',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const res = await post(
      urls.token,
      {
        grant_type: 'authorization_code',
        code: params.get('code')!,
        code_verifier: verifier,
        redirect_uri: 'https://app.example/other',
      },
      { authorization: basic('web', SECRET) },
    );
    expect(res.json.error).toBe('invalid_grant');
  });

  it('does not bind a confidential client’s refresh token: a refresh with a new key gets a token bound to the new key', async () => {
    const { urls } = await start(codeFlowConfig());
    const first = await newKey();
    const second = await newKey();
    const { verifier, challenge } = pkce();
    const params = await authorizeAndLogin(urls, {
      response_type: 'code',
      client_id: 'web',
      redirect_uri: 'https://app.example/cb',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const tokens = await post(
      urls.token,
      {
        grant_type: 'authorization_code',
        code: params.get('code')!,
        code_verifier: verifier,
        redirect_uri: 'https://app.example/cb',
      },
      { authorization: basic('web', SECRET), dpop: await proofFor(first, urls.token) },
    );
    expect(claimsOf(tokens.json.access_token as string).cnf).toEqual({ jkt: first.jkt });
    const refreshed = await post(
      urls.token,
      { grant_type: 'refresh_token', refresh_token: tokens.json.refresh_token as string },
      { authorization: basic('web', SECRET), dpop: await proofFor(second, urls.token) },
    );
    expect(refreshed.status).toBe(200);
    expect(claimsOf(refreshed.json.access_token as string).cnf).toEqual({ jkt: second.jkt });
  });

  it('revokes the whole family when a rotated refresh token is reused', async () => {
    const { urls } = await start(codeFlowConfig());
    const key = await newKey();
    const { code, verifier } = await spaCode(urls);
    const tokens = await post(
      urls.token,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: SPA.redirect_uri,
        client_id: 'spa',
      },
      { dpop: await proofFor(key, urls.token) },
    );
    const refresh = (rt: string) =>
      proofFor(key, urls.token).then((dpop) =>
        post(urls.token, { grant_type: 'refresh_token', refresh_token: rt, client_id: 'spa' }, { dpop }),
      );
    const r1 = await refresh(tokens.json.refresh_token as string);
    expect(r1.status).toBe(200);
    const reuse = await refresh(tokens.json.refresh_token as string);
    expect(reuse.json.error).toBe('invalid_grant');
    expect(reuse.json.error_description).toMatch(/already used/);
    const afterRevocation = await refresh(r1.json.refresh_token as string);
    expect(afterRevocation.json.error).toBe('invalid_grant');
  });

  it('lets exactly one of two concurrent refreshes with the same token win', async () => {
    const { urls } = await start(codeFlowConfig());
    const key = await newKey();
    const { code, verifier } = await spaCode(urls);
    const tokens = await post(
      urls.token,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: SPA.redirect_uri,
        client_id: 'spa',
      },
      { dpop: await proofFor(key, urls.token) },
    );
    const body = {
      grant_type: 'refresh_token',
      refresh_token: tokens.json.refresh_token as string,
      client_id: 'spa',
    };
    const results = await Promise.all(
      [0, 1, 2, 3].map(async () => post(urls.token, body, { dpop: await proofFor(key, urls.token) })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.json.error === 'invalid_grant')).toHaveLength(3);
  });

  it('narrows scope on refresh and refuses a wider one', async () => {
    const { urls } = await start(codeFlowConfig());
    const { verifier, challenge } = pkce();
    const params = await authorizeAndLogin(urls, {
      response_type: 'code',
      client_id: 'web',
      redirect_uri: 'https://app.example/cb',
      scope: 'read write',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const tokens = await post(
      urls.token,
      {
        grant_type: 'authorization_code',
        code: params.get('code')!,
        code_verifier: verifier,
        redirect_uri: 'https://app.example/cb',
      },
      { authorization: basic('web', SECRET) },
    );
    expect(tokens.json.scope).toBe('read write');
    const narrow = await post(
      urls.token,
      { grant_type: 'refresh_token', refresh_token: tokens.json.refresh_token as string, scope: 'read' },
      {
        authorization: basic('web', SECRET),
      },
    );
    expect(narrow.json.scope).toBe('read');
    const wide = await post(
      urls.token,
      {
        grant_type: 'refresh_token',
        refresh_token: narrow.json.refresh_token as string,
        scope: 'read admin',
      },
      {
        authorization: basic('web', SECRET),
      },
    );
    expect(wide.json.error).toBe('invalid_scope');
  });
});

describe('authorization endpoint', () => {
  it('refuses PKCE plain with invalid_request at the redirect URI', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, {
      response_type: 'code',
      ...SPA,
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'plain',
      state: 's',
    });
    expect(page.status).toBe(303);
    const loc = new URL(page.location!);
    expect(loc.origin + loc.pathname).toBe(SPA.redirect_uri);
    expect(loc.searchParams.get('error')).toBe('invalid_request');
    expect(loc.searchParams.get('state')).toBe('s');
    expect(loc.searchParams.get('iss')).toBe(urls.issuer);
  });

  it('requires a code_challenge', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, { response_type: 'code', ...SPA });
    expect(new URL(page.location!).searchParams.get('error_description')).toMatch(/code_challenge/);
  });

  it('never redirects to an unregistered redirect_uri', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, {
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: 'https://evil.example/cb',
    });
    expect(page.status).toBe(400);
    expect(page.location).toBeNull();
    expect(page.html).toMatch(/redirect_uri is not registered/);
  });

  it('shows an error page for an unknown client', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, { response_type: 'code', client_id: '<script>alert(1)</script>' });
    expect(page.status).toBe(400);
    expect(page.html).not.toContain('<script>alert');
  });

  it('redirects invalid_request for a repeated parameter when client and redirect URI are unambiguous', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(
      urls,
      'response_type=code&client_id=spa&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&scope=read&scope=write&state=z',
    );
    expect(page.status).toBe(303);
    const loc = new URL(page.location!);
    expect(loc.searchParams.get('error')).toBe('invalid_request');
    expect(loc.searchParams.get('error_description')).toMatch(/scope/);
    expect(loc.searchParams.get('state')).toBe('z');
  });

  it('shows an error page when client_id itself is repeated', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, 'response_type=code&client_id=spa&client_id=web');
    expect(page.status).toBe(400);
    expect(page.location).toBeNull();
  });

  it('accepts a loopback redirect URI on another port (RFC 8252 §7.3)', async () => {
    const { urls } = await start(codeFlowConfig());
    const { challenge } = pkce();
    const page = await openAuthorize(urls, {
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: 'http://127.0.0.1:53123/cb',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    expect(page.status).toBe(200);
  });

  it('refuses a redirect URI with a fragment (RFC 6749 §3.1.2), loopback ports included, without redirecting', async () => {
    const { urls } = await start(codeFlowConfig());
    const { challenge } = pkce();
    for (const [clientId, redirectUri] of [
      ['spa', 'http://127.0.0.1:53123/cb#frag'],
      ['spa', 'http://127.0.0.1/cb#'],
      ['spa', 'http://127.0.0.1:53123/cb#'],
      ['web', 'https://app.example/cb#x'],
    ] as const) {
      const page = await openAuthorize(urls, {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirectUri,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      expect(page.status, redirectUri).toBe(400);
      expect(page.location, redirectUri).toBeNull();
    }
    const pushed = await post(
      urls.pushedAuthorizationRequest,
      {
        response_type: 'code',
        client_id: 'spa',
        redirect_uri: 'http://127.0.0.1:53123/cb#frag',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      {},
    );
    expect(pushed.status).toBe(400);
    expect(pushed.json.error).toBe('invalid_request');
  });

  it('refuses userinfo in redirect URIs: registered, configured, or added to a loopback URI in a request', async () => {
    const config = (redirectUri: string) =>
      codeFlowConfig({
        clients: [{ client_id: 'ui', token_endpoint_auth_method: 'none', redirect_uris: [redirectUri] }],
      });
    for (const uri of [
      'https://user@app.example/cb',
      'http://evil.example@127.0.0.1/cb',
      'https://a:b@app.example/cb',
    ]) {
      expect(() => parseServerConfig(config(uri)), uri).toThrow(
        /redirect_uris\[0\]: must not contain userinfo/,
      );
    }
    const { urls } = await start(codeFlowConfig());
    const { challenge } = pkce();
    // spa is registered with http://127.0.0.1/cb: any port matches, userinfo must not
    for (const redirect of ['http://evil.example@127.0.0.1/cb', 'http://evil.example@127.0.0.1:4444/cb']) {
      const res = await openAuthorize(urls, {
        client_id: 'spa',
        redirect_uri: redirect,
        response_type: 'code',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      expect(res.status, redirect).toBe(400);
      expect(res.location, redirect).toBeNull();
    }
  });

  it('refuses a client registered with a redirect URI that has a fragment', async () => {
    const client = (redirectUri: string) =>
      codeFlowConfig({
        clients: [
          {
            client_id: 'frag',
            token_endpoint_auth_method: 'none',
            redirect_uris: ['https://app.example/cb', redirectUri],
          },
        ],
      });
    for (const uri of ['https://app.example/cb#x', 'https://app.example/cb#', 'http://127.0.0.1/cb#x']) {
      expect(() => parseServerConfig(client(uri)), uri).toThrow(
        /redirect_uris\[1\]: must not contain a fragment/,
      );
    }
    const { urls } = await start(codeFlowConfig({ registration: { enabled: true, open: true } }));
    for (const uri of ['https://rp.example/cb#x', 'https://rp.example/cb#', 'http://127.0.0.1/cb#x']) {
      const res = await fetch(urls.registration!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [uri] }),
      });
      expect(res.status, uri).toBe(400);
      expect(await res.json(), uri).toEqual({
        error: 'invalid_redirect_uri',
        error_description: 'redirect_uris[0]: must not contain a fragment',
      });
    }
  });

  it('refuses a request without PAR from a client that requires PAR', async () => {
    const { urls } = await start(codeFlowConfig());
    const { challenge } = pkce();
    const page = await openAuthorize(urls, {
      response_type: 'code',
      client_id: 'par-only',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    expect(new URL(page.location!).searchParams.get('error_description')).toMatch(/push/);
  });

  it('uses the host application’s user authentication when it returns a user', async () => {
    const seen: string[] = [];
    const { urls } = await start(codeFlowConfig(), {
      authenticateUser: ({ request, clientId }) => {
        seen.push(clientId);
        return request.headers.cookie === 'session=ok' ? { sub: 'host-user', authTime: 1000 } : null;
      },
    });
    const key = await newKey();
    const { verifier, challenge } = pkce();
    const query = { response_type: 'code', ...SPA, code_challenge: challenge, code_challenge_method: 'S256' };
    const signedIn = await openAuthorize(urls, query, 'session=ok');
    expect(signedIn.status).toBe(303);
    const code = new URL(signedIn.location!).searchParams.get('code')!;
    const tokens = await post(
      urls.token,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: SPA.redirect_uri,
        client_id: 'spa',
      },
      { dpop: await proofFor(key, urls.token) },
    );
    expect(claimsOf(tokens.json.access_token as string)).toMatchObject({ sub: 'host-user', auth_time: 1000 });
    // not signed in at the host: the built-in login page is the fallback
    const fallback = await openAuthorize(urls, query);
    expect(fallback.status).toBe(200);
    expect(fallback.html).toContain('Sign in');
    expect(seen).toEqual(['spa', 'spa']);
  });

  it('answers access_denied when nobody is signed in and there is no login page', async () => {
    const { urls } = await start(codeFlowConfig({ users: [] }), { authenticateUser: () => null });
    const { challenge } = pkce();
    const page = await openAuthorize(urls, {
      response_type: 'code',
      ...SPA,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    expect(new URL(page.location!).searchParams.get('error')).toBe('access_denied');
  });
});

describe('built-in login page', () => {
  const query = () => ({
    response_type: 'code',
    ...SPA,
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
  });

  it('escapes the client name and sets an HttpOnly SameSite=Strict browser cookie', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, query());
    expect(page.html).toContain('Single &#60;Page&#62; App');
    expect(page.setCookie).toMatch(/HttpOnly/);
    expect(page.setCookie).toMatch(/SameSite=Strict/);
  });

  it('sends a referrer policy under which browsers still name this origin on the form post', async () => {
    // with no-referrer a browser posts the form with "Origin: null", which the origin check refuses
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, query());
    expect(page.referrerPolicy).toBe('same-origin');
  });

  it('answers an unknown user and a wrong password identically', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, query());
    const unknown = await submitLogin(urls, page, { username: 'mallory', password: PASSWORD });
    const wrong = await submitLogin(urls, page, { username: 'alice', password: 'guess' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    const message = (html: string) => /role="alert">([^<]+)</.exec(html)?.[1];
    expect(message(unknown.html)).toBe('Invalid username or password.');
    expect(message(wrong.html)).toBe(message(unknown.html));
  });

  it('ends the interaction with access_denied after five failed attempts', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, query());
    let last: Awaited<ReturnType<typeof submitLogin>> | undefined;
    for (let i = 0; i < 5; i++)
      last = await submitLogin(urls, page, { username: 'alice', password: `nope-${i}` });
    expect(last!.status).toBe(303);
    expect(new URL(last!.location!).searchParams.get('error')).toBe('access_denied');
    const after = await submitLogin(urls, page);
    expect(after.status).toBe(400);
  });

  it('refuses a login form submitted without the browser cookie (login CSRF)', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, query());
    const res = await submitLogin(urls, { ...page, cookie: undefined });
    expect(res.status).toBe(403);
  });

  it('refuses a login form with a wrong CSRF token or from another origin', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, query());
    expect((await submitLogin(urls, { ...page, csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await submitLogin(urls, page, undefined, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await submitLogin(urls, page)).status).toBe(303);
  });

  it('issues one code per interaction', async () => {
    const { urls } = await start(codeFlowConfig());
    const page = await openAuthorize(urls, query());
    expect((await submitLogin(urls, page)).status).toBe(303);
    expect((await submitLogin(urls, page)).status).toBe(400);
  });
});

describe('pushed authorization requests (RFC 9126)', () => {
  it('binds the code to the key of the DPoP proof sent with the push', async () => {
    const { urls } = await start(codeFlowConfig());
    const key = await newKey();
    const other = await newKey();
    const { verifier, challenge } = pkce();
    const pushed = await post(
      urls.pushedAuthorizationRequest,
      {
        response_type: 'code',
        ...SPA,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        scope: 'read',
      },
      { dpop: await proofFor(key, urls.pushedAuthorizationRequest) },
    );
    expect(pushed.status).toBe(201);
    expect(pushed.json.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(pushed.json.expires_in).toBe(60);
    const params = await authorizeAndLogin(urls, {
      client_id: 'spa',
      request_uri: pushed.json.request_uri as string,
    });
    const body = {
      grant_type: 'authorization_code',
      code: params.get('code')!,
      code_verifier: verifier,
      redirect_uri: SPA.redirect_uri,
      client_id: 'spa',
    };
    expect((await post(urls.token, body, { dpop: await proofFor(other, urls.token) })).json.error).toBe(
      'invalid_grant',
    );
    const ok = await post(urls.token, body, { dpop: await proofFor(key, urls.token) });
    expect(claimsOf(ok.json.access_token as string).cnf).toEqual({ jkt: key.jkt });
  });

  it('refuses a push whose dpop_jkt differs from the proof key', async () => {
    const { urls } = await start(codeFlowConfig());
    const key = await newKey();
    const other = await newKey();
    const res = await post(
      urls.pushedAuthorizationRequest,
      {
        response_type: 'code',
        ...SPA,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        dpop_jkt: other.jkt,
      },
      { dpop: await proofFor(key, urls.pushedAuthorizationRequest) },
    );
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
  });

  it('uses a request_uri once', async () => {
    const { urls } = await start(codeFlowConfig());
    const pushed = await post(
      urls.pushedAuthorizationRequest,
      {
        response_type: 'code',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        redirect_uri: 'https://par.example/cb',
      },
      { authorization: basic('par-only', SECRET) },
    );
    expect(pushed.status).toBe(201);
    const first = await openAuthorize(urls, {
      client_id: 'par-only',
      request_uri: pushed.json.request_uri as string,
    });
    expect(first.status).toBe(200);
    const second = await openAuthorize(urls, {
      client_id: 'par-only',
      request_uri: pushed.json.request_uri as string,
    });
    expect(second.status).toBe(400);
  });

  it('refuses a request_uri of another client', async () => {
    const { urls } = await start(codeFlowConfig());
    const pushed = await post(
      urls.pushedAuthorizationRequest,
      {
        response_type: 'code',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      },
      { authorization: basic('par-only', SECRET) },
    );
    const res = await openAuthorize(urls, {
      client_id: 'spa',
      request_uri: pushed.json.request_uri as string,
    });
    expect(res.status).toBe(400);
  });

  it('keeps a request_uri presented with another client_id usable by the client that pushed it', async () => {
    const { urls } = await start(codeFlowConfig());
    const pushed = await post(
      urls.pushedAuthorizationRequest,
      { response_type: 'code', code_challenge: pkce().challenge, code_challenge_method: 'S256' },
      { authorization: basic('par-only', SECRET) },
    );
    const requestUri = pushed.json.request_uri as string;
    for (const clientId of ['spa', 'web', 'nobody']) {
      const other = await openAuthorize(urls, { client_id: clientId, request_uri: requestUri });
      expect(other.status, clientId).toBe(400);
      expect(other.location, clientId).toBeNull();
    }
    const rightful = await openAuthorize(urls, { client_id: 'par-only', request_uri: requestUri });
    expect(rightful.status).toBe(200);
    expect(rightful.interaction).not.toBe('');
  });

  it('requires client authentication from a confidential client and refuses request_uri inside a push', async () => {
    const { urls } = await start(codeFlowConfig());
    const anonymous = await post(urls.pushedAuthorizationRequest, {
      response_type: 'code',
      client_id: 'par-only',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    expect(anonymous.status).toBe(401);
    const nested = await post(
      urls.pushedAuthorizationRequest,
      {
        response_type: 'code',
        request_uri: 'urn:x',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      },
      { authorization: basic('par-only', SECRET) },
    );
    expect(nested.json.error).toBe('invalid_request');
  });
});

describe('RFC 9449 examples at a fixed clock', () => {
  const v = vectors.rfc9449;
  const issuer = 'https://server.example.com';

  async function codeForRfcKey(clock: () => number) {
    const { server, urls } = await start(codeFlowConfig({ issuer }), {
      now: clock,
      replayStore: new MemoryReplayStore({ now: clock }),
    });
    const local = localUrls(urls, server.listening.http!);
    const { verifier, challenge } = pkce();
    const params = await authorizeAndLogin(local, {
      response_type: 'code',
      ...SPA,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      dpop_jkt: v.jkt,
    });
    return {
      local,
      body: {
        grant_type: 'authorization_code',
        code: params.get('code')!,
        code_verifier: verifier,
        redirect_uri: SPA.redirect_uri,
        client_id: 'spa',
      },
    };
  }

  it('accepts the Figure 2 token request proof and the Figure 7 refresh proof, binding to the RFC key', async () => {
    let clock = v.proof_token_request_fig2.iat * 1000;
    const { local, body } = await codeForRfcKey(() => clock);
    const res = await post(local.token, body, { dpop: v.proof_token_request_fig2.proof });
    expect(res.status).toBe(200);
    expect(res.json.token_type).toBe('DPoP');
    expect(claimsOf(res.json.access_token as string)).toMatchObject({
      iss: issuer,
      cnf: { jkt: v.jkt },
      iat: v.proof_token_request_fig2.iat,
    });
    clock = v.proof_refresh_fig7.iat * 1000;
    const refreshed = await post(
      local.token,
      { grant_type: 'refresh_token', refresh_token: res.json.refresh_token as string, client_id: 'spa' },
      { dpop: v.proof_refresh_fig7.proof },
    );
    expect(refreshed.status).toBe(200);
    expect(claimsOf(refreshed.json.access_token as string).cnf).toEqual({ jkt: v.jkt });
  });

  it('rejects the Figure 2 proof once it is older than the accepted window (60 s + 5 s skew)', async () => {
    let clock = v.proof_token_request_fig2.iat * 1000;
    const { local, body } = await codeForRfcKey(() => clock);
    clock = (v.proof_token_request_fig2.iat + 66) * 1000;
    const res = await post(local.token, body, { dpop: v.proof_token_request_fig2.proof });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_dpop_proof');
    expect(res.json.error_description).toMatch(/old/);
  });
});
