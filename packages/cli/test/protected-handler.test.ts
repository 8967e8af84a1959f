// The demo's protected API on its own: every refusal carries the right status, challenge and code.
import { request } from 'node:http';
import {
  createProof,
  generateDpopKey,
  MemoryReplayStore,
  parseWwwAuthenticate,
  type ReplayStore,
} from '@keybound/core';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenLocal, type RunningServer } from '../src/demo/http.js';
import { type DemoIssuer, startDemoIssuer } from '../src/demo/issuer.js';
import { createProtectedHandler } from '../src/demo/protected-handler.js';

const AUDIENCE = 'test-api';
let issuer: DemoIssuer;
let api: RunningServer;
let failingApi: RunningServer;
const key = await generateDpopKey();

async function token(dpopKey = key): Promise<string> {
  const proof = await createProof(dpopKey, { htm: 'POST', htu: `${issuer.origin}/token` });
  const res = await fetch(`${issuer.origin}/token`, {
    method: 'POST',
    headers: { dpop: proof, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=t',
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const startApi = (replayStore: ReplayStore) =>
  listenLocal((origin) =>
    createProtectedHandler({
      issuer: issuer.origin,
      jwksUrl: issuer.jwksUrl,
      audience: AUDIENCE,
      publicOrigin: origin,
      replayStore,
    }),
  );

beforeAll(async () => {
  issuer = await startDemoIssuer(AUDIENCE);
  api = await startApi(new MemoryReplayStore());
  failingApi = await startApi({
    setIfAbsent: () => Promise.reject(new Error('connection refused')),
  });
});
afterAll(async () => {
  await Promise.all([issuer.close(), api.close(), failingApi.close()]);
});

interface Answer {
  status: number;
  code?: string;
  challenge: ReturnType<typeof parseWwwAuthenticate>;
}

/** Sends headers as given, repeated ones as separate header lines. */
function get(origin: string, path: string, headers: Record<string, string | string[]>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${origin}${path}`, { method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        const www = res.headers['www-authenticate'];
        JSON.parse(body); // every answer is JSON
        const code = res.headers['keybound-code'];
        resolve({
          status: res.statusCode ?? 0,
          code: typeof code === 'string' ? code : undefined,
          challenge: www === undefined ? [] : parseWwwAuthenticate(www),
        });
      });
    });
    for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
    req.on('error', reject);
    req.end();
  });
}

const proofFor = async (accessToken: string, path = '/r', dpopKey = key) =>
  createProof(dpopKey, { htm: 'GET', htu: `${api.origin}${path}`, accessToken });

describe('the demo protected handler', () => {
  it('accepts a DPoP-bound token with a fresh proof for the request', async () => {
    const t = await token();
    expect(
      (await get(api.origin, '/r?x=1', { authorization: `DPoP ${t}`, dpop: await proofFor(t) })).status,
    ).toBe(200);
  });

  it('answers a request without credentials with a bare DPoP challenge (RFC 6750 §3.1: no error)', async () => {
    const a = await get(api.origin, '/r', {});
    expect(a).toMatchObject({ status: 401, code: 'token_missing' });
    expect(a.challenge).toEqual([
      { scheme: 'DPoP', params: { algs: 'ES256 ES384 EdDSA Ed25519 PS256 RS256' } },
    ]);
  });

  it('refuses two Authorization headers (authorization_multiple, 400)', async () => {
    const t = await token();
    const a = await get(api.origin, '/r', {
      authorization: [`DPoP ${t}`, `DPoP ${t}`],
      dpop: await proofFor(t),
    });
    expect(a).toMatchObject({ status: 400, code: 'authorization_multiple' });
    expect(a.challenge[0]?.params.error).toBe('invalid_request');
  });

  it('refuses a malformed Authorization header and an unknown scheme', async () => {
    expect(await get(api.origin, '/r', { authorization: 'DPoP' })).toMatchObject({
      status: 400,
      code: 'authorization_malformed',
    });
    expect(await get(api.origin, '/r', { authorization: 'Basic dXNlcjpwYXNz' })).toMatchObject({
      status: 401,
      code: 'scheme_unsupported',
    });
  });

  it('refuses a DPoP token without a proof (proof_missing) and with two proofs (proof_multiple)', async () => {
    const t = await token();
    expect(await get(api.origin, '/r', { authorization: `DPoP ${t}` })).toMatchObject({
      status: 401,
      code: 'proof_missing',
    });
    const two = [await proofFor(t), await proofFor(t)];
    expect(await get(api.origin, '/r', { authorization: `DPoP ${t}`, dpop: two })).toMatchObject({
      status: 401,
      code: 'proof_multiple',
    });
  });

  it('refuses a proof made for another path (htu_mismatch)', async () => {
    const t = await token();
    const a = await get(api.origin, '/r', { authorization: `DPoP ${t}`, dpop: await proofFor(t, '/other') });
    expect(a).toMatchObject({ status: 401, code: 'htu_mismatch' });
    expect(a.challenge[0]?.params.error).toBe('invalid_dpop_proof');
  });

  it('refuses a token signed by a key that is not the issuer’s (token_invalid)', async () => {
    const forger = await generateKeyPair('ES256');
    const kid = (await exportJWK(forger.publicKey)).x;
    const forged = await new SignJWT({ cnf: { jkt: key.jkt } })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
      .setIssuer(issuer.origin)
      .setAudience(AUDIENCE)
      .setExpirationTime('1m')
      .sign(forger.privateKey);
    const a = await get(api.origin, '/r', { authorization: `DPoP ${forged}`, dpop: await proofFor(forged) });
    expect(a).toMatchObject({ status: 401, code: 'token_invalid' });
  });

  it('refuses a proof signed by another key than the token is bound to (jkt_mismatch)', async () => {
    const t = await token();
    const other = await generateDpopKey();
    const a = await get(api.origin, '/r', {
      authorization: `DPoP ${t}`,
      dpop: await proofFor(t, '/r', other),
    });
    expect(a).toMatchObject({ status: 401, code: 'jkt_mismatch' });
  });

  it('refuses the same proof twice (replay)', async () => {
    const t = await token();
    const headers = { authorization: `DPoP ${t}`, dpop: await proofFor(t) };
    expect((await get(api.origin, '/r', headers)).status).toBe(200);
    expect(await get(api.origin, '/r', headers)).toMatchObject({ status: 401, code: 'replay' });
  });

  it('refuses with 503 and no challenge when the replay store cannot be reached (fails closed)', async () => {
    const t = await token();
    const proof = await createProof(key, { htm: 'GET', htu: `${failingApi.origin}/r`, accessToken: t });
    const a = await get(failingApi.origin, '/r', { authorization: `DPoP ${t}`, dpop: proof });
    expect(a).toMatchObject({ status: 503, code: 'replay_store_unavailable', challenge: [] });
  });

  it('the demo issuer refuses a token request without a valid proof (400 invalid_dpop_proof)', async () => {
    const res = await fetch(`${issuer.origin}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_dpop_proof' });
  });
});
