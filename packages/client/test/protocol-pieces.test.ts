import { readFileSync } from 'node:fs';
import {
  createPkce,
  DpopSession,
  generateDpopKey,
  isReplayableBody,
  metadataUrls,
  pkceChallenge,
} from '@keybound/client';
import { describe, expect, it } from 'vitest';
import { dpopErrorOf } from '../src/dpop-error.js';
import { normalizeMethod } from '../src/http-method.js';
import { ServerStateCache } from '../src/server-state.js';

const vectors = JSON.parse(
  readFileSync(new URL('../../../test/vectors/rfc-vectors.json', import.meta.url), 'utf8'),
);

describe('PKCE (RFC 7636)', () => {
  it('computes the S256 challenge of the RFC 7636 Appendix B verifier', async () => {
    expect(await pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('makes a 43-character verifier with 256 random bits and a matching challenge', async () => {
    const a = await createPkce();
    const b = await createPkce();
    expect(a.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.codeVerifier).not.toBe(b.codeVerifier);
    expect(a.codeChallenge).toBe(await pkceChallenge(a.codeVerifier));
  });
});

describe('recognising DPoP errors (RFC 9449 §7.1, §8)', () => {
  const challenge = (header: string) =>
    new Response(null, { status: 401, headers: { 'www-authenticate': header } });

  it('reads use_dpop_nonce from the RFC 9449 resource-server example and the other errors from theirs', async () => {
    const examples: string[] = vectors.rfc9449.www_authenticate_examples;
    const found = await Promise.all(examples.map((h) => dpopErrorOf(challenge(h))));
    expect(found).toEqual([undefined, 'invalid_token', undefined, undefined, 'use_dpop_nonce']);
  });

  it('reads use_dpop_nonce from a 400 JSON token-endpoint answer without consuming the body', async () => {
    const response = new Response('{"error":"use_dpop_nonce","error_description":"x"}', {
      status: 400,
      headers: { 'content-type': 'application/json' },
    });
    expect(await dpopErrorOf(response)).toBe('use_dpop_nonce');
    expect(await response.json()).toMatchObject({ error: 'use_dpop_nonce' });
  });

  it('ignores a Bearer challenge error and other statuses', async () => {
    expect(await dpopErrorOf(challenge('Bearer error="use_dpop_nonce"'))).toBeUndefined();
    expect(await dpopErrorOf(new Response('{"error":"use_dpop_nonce"}', { status: 500 }))).toBeUndefined();
    expect(
      await dpopErrorOf(
        new Response('not json', { status: 400, headers: { 'content-type': 'application/json' } }),
      ),
    ).toBeUndefined();
  });
});

describe('what the client remembers per server', () => {
  it('forgets the least recently used origin when the nonce cache is full', () => {
    const cache = new ServerStateCache(2);
    cache.learnNonce('https://a', 'na');
    cache.learnNonce('https://b', 'nb');
    cache.nonce('https://a');
    cache.learnNonce('https://c', 'nc');
    expect([cache.nonce('https://a'), cache.nonce('https://b'), cache.nonce('https://c')]).toEqual([
      'na',
      undefined,
      'nc',
    ]);
    expect(cache.size).toBe(2);
  });

  it('takes the middle of the exchange as the moment a Date header describes, and ignores small offsets', () => {
    const cache = new ServerStateCache();
    const sent = Date.parse('2025-01-01T00:00:00Z');
    expect(cache.learnClock('https://a', 'Wed, 01 Jan 2025 00:05:00 GMT', sent, sent + 1000)).toBe(300);
    expect(cache.learnClock('https://b', 'Wed, 01 Jan 2025 00:00:01 GMT', sent, sent + 1000)).toBe(0);
    expect(cache.learnClock('https://c', 'yesterday-ish', sent, sent)).toBe(0);
    expect(cache.learnClock('https://a', null, sent, sent)).toBe(300);
  });

  it('sends a nonce only to the origin that issued it', async () => {
    const session = new DpopSession({ key: await generateDpopKey() });
    session.servers.learnNonce('https://a.example', 'nonce-a');
    const claims = (proof: string) => JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString());
    expect(claims(await session.proof('GET', 'https://a.example/x')).nonce).toBe('nonce-a');
    expect(claims(await session.proof('GET', 'https://b.example/x')).nonce).toBeUndefined();
  });
});

describe('request details', () => {
  it('knows which bodies can be sent twice', () => {
    const stream = new ReadableStream();
    expect(
      [
        undefined,
        null,
        's',
        new Uint8Array(1),
        new ArrayBuffer(1),
        new URLSearchParams(),
        new Blob([]),
        new FormData(),
      ].map(isReplayableBody),
    ).toEqual([true, true, true, true, true, true, true, true]);
    expect(isReplayableBody(stream)).toBe(false);
    expect(isReplayableBody((async function* () {})())).toBe(false);
  });

  it('normalises the method as fetch does', () => {
    expect(['get', 'post', 'Delete', 'patch', 'PATCH', undefined].map((m) => normalizeMethod(m))).toEqual([
      'GET',
      'POST',
      'DELETE',
      'patch',
      'PATCH',
      'GET',
    ]);
  });

  it('builds the RFC 8414 and OpenID metadata URLs for issuers with and without a path', () => {
    expect(metadataUrls('https://as.example')).toEqual([
      'https://as.example/.well-known/oauth-authorization-server',
      'https://as.example/.well-known/openid-configuration',
    ]);
    expect(metadataUrls('https://as.example/t/1')).toEqual([
      'https://as.example/.well-known/oauth-authorization-server/t/1',
      'https://as.example/t/1/.well-known/openid-configuration',
    ]);
  });
});
