// Proofs built by hand with `dpop` (panva's proof-generation library, npm) and plain fetch → keybound
// authorization server (DPoP nonces required) + keybound resource server. No OAuth client library:
// every nonce round-trip, ath and htu below is this file's doing, so the servers see proofs made by
// an implementation that shares no code with keybound.

import type { ServerUrls } from '@keybound/authorization-server';
import { calculateThumbprint, generateKeyPair, generateProof, type KeyPair } from 'dpop';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  API,
  asConfig,
  REDIRECT,
  type RunningRs,
  SECRET,
  signInOnLoginPage,
  startKeyboundAs,
  startKeyboundRs,
  startKeyboundStack,
} from './support/keybound.js';

let urls: ServerUrls;
let rs: RunningRs;
beforeAll(async () => {
  const stack = await startKeyboundStack();
  urls = stack.as.urls;
  rs = stack.rs;
});
const BASIC = `Basic ${Buffer.from(`service:${SECRET}`).toString('base64')}`;

interface Exchange {
  status: number;
  body: Record<string, unknown>;
  nonce: string | null;
  wwwAuthenticate: string | null;
}

async function exchange(res: Response): Promise<Exchange> {
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    nonce: res.headers.get('dpop-nonce'),
    wwwAuthenticate: res.headers.get('www-authenticate'),
  };
}

/** POSTs to the token endpoint with a proof; on use_dpop_nonce resends once with the new nonce. */
async function tokenRequest(
  keyPair: KeyPair,
  params: Record<string, string>,
  headers: Record<string, string> = {},
  tokenUrl?: string,
): Promise<{ first: Exchange; final: Exchange }> {
  const url = tokenUrl ?? urls.token;
  const send = async (nonce?: string) =>
    exchange(
      await fetch(url, {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/x-www-form-urlencoded',
          dpop: await generateProof(keyPair, url, 'POST', nonce),
        },
        body: new URLSearchParams(params),
      }),
    );
  const first = await send();
  if (first.status === 400 && first.body.error === 'use_dpop_nonce' && first.nonce !== null)
    return { first, final: await send(first.nonce) };
  return { first, final: first };
}

function callRs(url: string, accessToken: string, proof: string): Promise<Exchange> {
  return fetch(url, { headers: { authorization: `DPoP ${accessToken}`, dpop: proof } }).then(exchange);
}

async function serviceToken(keyPair: KeyPair): Promise<string> {
  const { final } = await tokenRequest(
    keyPair,
    { grant_type: 'client_credentials' },
    { authorization: BASIC },
  );
  expect(final.status).toBe(200);
  return final.body.access_token as string;
}

describe('dpop (npm) proofs by hand → keybound AS + RS', () => {
  it('gets a DPoP-bound token with client_credentials: use_dpop_nonce first, then the token for the proof key', async () => {
    const keyPair = await generateKeyPair('ES256');
    const { first, final } = await tokenRequest(
      keyPair,
      { grant_type: 'client_credentials', scope: 'read', resource: API },
      { authorization: BASIC },
    );
    expect(first).toMatchObject({ status: 400, body: { error: 'use_dpop_nonce' } });
    expect(first.nonce).toBeTruthy();
    expect(final.status).toBe(200);
    expect(final.body).toMatchObject({ token_type: 'DPoP', scope: 'read' });
    expect(decodeJwt(final.body.access_token as string)).toMatchObject({
      aud: API,
      cnf: { jkt: await calculateThumbprint(keyPair.publicKey) },
    });
  });

  it('calls the RS: 401 use_dpop_nonce with a DPoP-Nonce, then 200 with a proof carrying that nonce and ath', async () => {
    const keyPair = await generateKeyPair('ES256');
    const token = await serviceToken(keyPair);
    const url = rs.url('/nonce/orders');
    const first = await callRs(url, token, await generateProof(keyPair, url, 'GET', undefined, token));
    expect(first.status).toBe(401);
    expect(first.wwwAuthenticate).toMatch(/^DPoP .*error="use_dpop_nonce"/);
    expect(first.nonce).toBeTruthy();
    const second = await callRs(url, token, await generateProof(keyPair, url, 'GET', first.nonce!, token));
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      clientId: 'service',
      binding: 'dpop',
      jkt: await calculateThumbprint(keyPair.publicKey),
    });
  });

  it('completes code + PKCE + DPoP with dpop_jkt, then refreshes with the bound key and uses both tokens at the RS', async () => {
    const keyPair = await generateKeyPair('ES256');
    const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
    const challenge = Buffer.from(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)),
    ).toString('base64url');
    const authUrl = new URL(urls.authorization);
    authUrl.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'app',
      redirect_uri: REDIRECT,
      scope: 'read',
      state: 'state-1',
      resource: API,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      dpop_jkt: await calculateThumbprint(keyPair.publicKey),
    }).toString();
    const callback = await signInOnLoginPage(authUrl, urls.login);
    expect(callback.searchParams.get('state')).toBe('state-1');
    expect(callback.searchParams.get('iss')).toBe(urls.issuer);

    const code = await tokenRequest(keyPair, {
      grant_type: 'authorization_code',
      client_id: 'app',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    expect(code.final.status).toBe(200);
    const access = code.final.body.access_token as string;
    const url = rs.url('/me');
    const me = await callRs(url, access, await generateProof(keyPair, url, 'GET', undefined, access));
    expect(me).toMatchObject({ status: 200, body: { sub: 'user-alice', clientId: 'app' } });

    const refreshed = await tokenRequest(keyPair, {
      grant_type: 'refresh_token',
      client_id: 'app',
      refresh_token: code.final.body.refresh_token as string,
    });
    expect(refreshed.final.status).toBe(200);
    const renewed = refreshed.final.body.access_token as string;
    expect(decodeJwt(renewed).cnf).toEqual({ jkt: await calculateThumbprint(keyPair.publicKey) });
    const again = await callRs(url, renewed, await generateProof(keyPair, url, 'GET', undefined, renewed));
    expect(again.status).toBe(200);
  });

  it('refuses a code redeemed with a key other than the dpop_jkt it was issued for, without consuming it', async () => {
    const keyPair = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    const verifier = 'a-code-verifier-of-sufficient-length-0123456789';
    const challenge = Buffer.from(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)),
    ).toString('base64url');
    const authUrl = new URL(urls.authorization);
    authUrl.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'app',
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      dpop_jkt: await calculateThumbprint(keyPair.publicKey),
    }).toString();
    const callback = await signInOnLoginPage(authUrl, urls.login);
    const params = {
      grant_type: 'authorization_code',
      client_id: 'app',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    };
    const stolen = await tokenRequest(other, params);
    expect(stolen.final).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const rightful = await tokenRequest(keyPair, params);
    expect(rightful.final.status).toBe(200);
  });

  it('has the RS refuse hand-made proofs that do not fit the request: htu, htm, missing ath, replay', async () => {
    const keyPair = await generateKeyPair('ES256');
    const token = await serviceToken(keyPair);
    const url = rs.url('/orders');

    const wrongUrl = await callRs(
      url,
      token,
      await generateProof(keyPair, rs.url('/other'), 'GET', undefined, token),
    );
    expect(wrongUrl.status).toBe(401);
    expect(wrongUrl.wwwAuthenticate).toMatch(/error="invalid_dpop_proof"/);
    expect(rs.lastEvent().code).toBe('htu_mismatch');

    const wrongMethod = await callRs(url, token, await generateProof(keyPair, url, 'POST', undefined, token));
    expect(wrongMethod.status).toBe(401);
    expect(rs.lastEvent().code).toBe('htm_mismatch');

    const noAth = await callRs(url, token, await generateProof(keyPair, url, 'GET'));
    expect(noAth.status).toBe(401);
    expect(rs.lastEvent().code).toBe('ath_missing');

    const proof = await generateProof(keyPair, url, 'GET', undefined, token);
    expect((await callRs(url, token, proof)).status).toBe(200);
    const replayed = await callRs(url, token, proof);
    expect(replayed.status).toBe(401);
    expect(rs.lastEvent().code).toBe('replay');
  });

  it('accepts Ed25519 proofs (alg "Ed25519", RFC 9864) under the default algorithm lists of AS and RS', async () => {
    const as = await startKeyboundAs({ ...asConfig(), dpop: { nonce: { required: true } } });
    const edRs = await startKeyboundRs({
      issuers: [{ issuer: as.urls.issuer, jwksUri: as.urls.jwks }],
      policy: { defaults: { mode: 'enforce', require: 'dpop' } },
    });
    const keyPair = await generateKeyPair('Ed25519');
    const { final } = await tokenRequest(
      keyPair,
      { grant_type: 'client_credentials' },
      { authorization: BASIC },
      as.urls.token,
    );
    expect(final.status).toBe(200);
    const token = final.body.access_token as string;
    const url = edRs.url('/orders');
    const res = await callRs(url, token, await generateProof(keyPair, url, 'GET', undefined, token));
    expect(res.status).toBe(200);
    expect(res.body.jkt).toBe(await calculateThumbprint(keyPair.publicKey));
  });
});
