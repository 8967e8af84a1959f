import type { IncomingMessage } from 'node:http';
import { createDpopFetch, type DpopKey, DpopSession, generateDpopKey } from '@keybound/client';
import { accessTokenHash } from '@keybound/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type ListeningServer, listen } from './helpers/http-test-server.js';
import {
  startTestResourceServer,
  type TestResourceServer,
  type TokenRegistry,
} from './helpers/test-oauth-servers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function api(options: Partial<Parameters<typeof startTestResourceServer>[0]> = {}) {
  const tokens: TokenRegistry = new Map();
  const rs = await startTestResourceServer({ tokens, ...options });
  closers.push(() => rs.close());
  return { rs, tokens };
}

function bind(
  tokens: TokenRegistry,
  key: DpopKey,
  token = `at_${Math.random().toString(36).slice(2)}`,
): string {
  tokens.set(token, { clientId: 'c1', jkt: key.jkt, expiresAt: Date.now() / 1000 + 3600 });
  return token;
}

function dpopFetch(rs: TestResourceServer, key: DpopKey, token: string, session = new DpopSession({ key })) {
  return { session, fetch: createDpopFetch({ session, origins: [rs.origin], getAccessToken: () => token }) };
}

describe('DPoP fetch wrapper against a resource server that verifies proofs', () => {
  it.each(['ES256', 'EdDSA'] as const)(
    'adds a %s proof with htm, htu without query or fragment, ath and the nonce after one use_dpop_nonce retry',
    async (alg) => {
      const { rs, tokens } = await api();
      const key = await generateDpopKey(alg);
      const token = bind(tokens, key);
      const { fetch } = dpopFetch(rs, key, token);
      const response = await fetch(`${rs.origin}/api/items?page=2#top`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ ok: true, jkt: key.jkt, query: '?page=2' });
      expect(rs.requests.map((r) => [r.status, r.error])).toEqual([
        [401, 'use_dpop_nonce'],
        [200, undefined],
      ]);
      const proof = rs.requests[1]!.proof!;
      expect(proof.htm).toBe('GET');
      expect(proof.htu).toBe(`${rs.origin}/api/items`);
      expect(proof.ath).toBe(await accessTokenHash(token));
      expect(typeof proof.nonce).toBe('string');
    },
  );

  it('sends the learned nonce on the next request without a retry', async () => {
    const { rs, tokens } = await api();
    const key = await generateDpopKey();
    const { fetch } = dpopFetch(rs, key, bind(tokens, key));
    expect((await fetch(`${rs.origin}/api/a`)).status).toBe(200);
    expect((await fetch(`${rs.origin}/api/b`)).status).toBe(200);
    expect(rs.requests.map((r) => r.status)).toEqual([401, 200, 200]);
  });

  it('learns a nonce sent with a successful answer and uses it next', async () => {
    const { rs, tokens } = await api({ rotateNonceOnSuccess: true });
    const key = await generateDpopKey();
    const { fetch, session } = dpopFetch(rs, key, bind(tokens, key));
    await fetch(`${rs.origin}/api/a`);
    const before = session.servers.nonce(rs.origin);
    await fetch(`${rs.origin}/api/b`);
    expect(rs.requests[2]!.proof!.nonce).toBe(before);
  });

  it.each([
    ['a string', () => 'hello=world'],
    ['URLSearchParams', () => new URLSearchParams({ hello: 'world' })],
    ['an ArrayBuffer', () => new TextEncoder().encode('hello=world').buffer],
    ['a Uint8Array', () => new TextEncoder().encode('hello=world')],
    ['a Blob', () => new Blob(['hello=world'])],
  ])(
    'retries a POST whose body is %s once, and the server receives the whole body again',
    async (_name, body) => {
      const { rs, tokens } = await api();
      const key = await generateDpopKey();
      const { fetch } = dpopFetch(rs, key, bind(tokens, key));
      const response = await fetch(`${rs.origin}/api/things`, { method: 'POST', body: body() as BodyInit });
      expect(response.status).toBe(200);
      expect(rs.requests.map((r) => [r.status, r.body])).toEqual([
        [401, 'hello=world'],
        [200, 'hello=world'],
      ]);
      expect(rs.requests[1]!.proof!.htm).toBe('POST');
    },
  );

  it('does not retry a ReadableStream body: the use_dpop_nonce refusal is returned and the nonce kept', async () => {
    const { rs, tokens } = await api();
    const key = await generateDpopKey();
    const { fetch } = dpopFetch(rs, key, bind(tokens, key));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    const response = await fetch(`${rs.origin}/api/upload`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="use_dpop_nonce"');
    expect(rs.requests).toHaveLength(1);
    // the nonce was learned: the caller's next attempt goes through at once
    const again = await fetch(`${rs.origin}/api/upload`, { method: 'POST', body: 'second' });
    expect(again.status).toBe(200);
    expect(rs.requests).toHaveLength(2);
  });

  it('does not retry a Request object that carries a body, and retries one that does not', async () => {
    const { rs, tokens } = await api();
    const key = await generateDpopKey();
    const { fetch } = dpopFetch(rs, key, bind(tokens, key));
    const withBody = await fetch(new Request(`${rs.origin}/api/x`, { method: 'POST', body: 'once' }));
    expect(withBody.status).toBe(401);
    expect(rs.requests).toHaveLength(1);

    const other = await api();
    const otherFetch = dpopFetch(other.rs, key, bind(other.tokens, key)).fetch;
    const bodyless = await otherFetch(
      new Request(`${other.rs.origin}/api/y`, { headers: { 'x-trace': 'kept' } }),
    );
    expect(bodyless.status).toBe(200);
    expect(other.rs.requests.map((r) => r.status)).toEqual([401, 200]);
  });

  it('never loops when the server keeps asking for a new nonce: two attempts, then the refusal', async () => {
    const { rs, tokens } = await api({ alwaysDemandNonce: true });
    const key = await generateDpopKey();
    const { fetch } = dpopFetch(rs, key, bind(tokens, key));
    const response = await fetch(`${rs.origin}/api/spin`);
    expect(response.status).toBe(401);
    expect(rs.requests).toHaveLength(2);
  });

  it('signs the method as fetch sends it (put becomes PUT)', async () => {
    const { rs, tokens } = await api();
    const key = await generateDpopKey();
    const { fetch } = dpopFetch(rs, key, bind(tokens, key));
    const response = await fetch(`${rs.origin}/api/put`, { method: 'put', body: 'x' });
    expect(response.status).toBe(200);
    expect(rs.requests[1]!.proof!.htm).toBe('PUT');
  });

  it('learns the server clock offset from Date and corrects iat (server clock 5 minutes ahead)', async () => {
    const { rs, tokens } = await api({ skewSeconds: 300 });
    const key = await generateDpopKey();
    const { fetch, session } = dpopFetch(rs, key, bind(tokens, key));
    expect((await fetch(`${rs.origin}/api/a`)).status).toBe(200);
    expect(session.servers.offsetSeconds(rs.origin)).toBeGreaterThanOrEqual(298);
    expect(session.servers.offsetSeconds(rs.origin)).toBeLessThanOrEqual(302);
    // the refused first proof was made on the local clock, the accepted one on the server's
    const [first, second] = rs.requests;
    expect(first!.error).toBe('invalid_dpop_proof');
    expect(Math.abs(second!.proof!.iat - (Date.now() / 1000 + 300))).toBeLessThan(5);
    expect((await fetch(`${rs.origin}/api/b`)).status).toBe(200);
    expect(rs.requests).toHaveLength(3);
  });

  it('stops after one retry when a skewed server hands out its nonce only with use_dpop_nonce, then succeeds next time', async () => {
    const { rs, tokens } = await api({ skewSeconds: 300, nonceOnlyWithUseDpopNonce: true });
    const key = await generateDpopKey();
    const { fetch } = dpopFetch(rs, key, bind(tokens, key));
    // iat refused (clock learned) → retry refused for the missing nonce (nonce learned) → returned
    expect((await fetch(`${rs.origin}/api/a`)).status).toBe(401);
    expect(rs.requests.map((r) => r.error)).toEqual(['invalid_dpop_proof', 'use_dpop_nonce']);
    expect((await fetch(`${rs.origin}/api/b`)).status).toBe(200);
    expect(rs.requests).toHaveLength(3);
  });

  it('retries once when the proof is refused for its iat and the Date header shows the clock is off', async () => {
    const { rs, tokens } = await api({ skewSeconds: -600, requireNonce: false });
    const key = await generateDpopKey();
    const { fetch } = dpopFetch(rs, key, bind(tokens, key));
    const response = await fetch(`${rs.origin}/api/a`);
    expect(response.status).toBe(200);
    expect(rs.requests.map((r) => r.error)).toEqual(['invalid_dpop_proof', undefined]);
  });

  it('does not retry an invalid_dpop_proof refusal when the clock was not the problem', async () => {
    const { rs, tokens } = await api({ requireNonce: false });
    const key = await generateDpopKey();
    const other = await generateDpopKey();
    // the token is bound to another key: the RS refuses with invalid_token, nothing to fix by retrying
    const { fetch } = dpopFetch(rs, key, bind(tokens, other));
    const response = await fetch(`${rs.origin}/api/a`);
    expect(response.status).toBe(401);
    expect(rs.requests).toHaveLength(1);
  });

  it('leaves requests to origins that are not protected untouched', async () => {
    const seen: IncomingMessage['headers'][] = [];
    const plain: ListeningServer = await listen((req, res) => {
      seen.push(req.headers);
      res.end('ok');
    });
    closers.push(() => plain.close());
    const { rs, tokens } = await api();
    const key = await generateDpopKey();
    const { fetch } = dpopFetch(rs, key, bind(tokens, key));
    expect(await (await fetch(`${plain.origin}/public`)).text()).toBe('ok');
    expect(seen[0]!.authorization).toBeUndefined();
    expect(seen[0]!.dpop).toBeUndefined();
  });

  it('ignores a malformed or oversized DPoP-Nonce and does not retry with it', async () => {
    const bad = ['has space', 'quote"d', 'x'.repeat(2000)];
    for (const nonce of bad) {
      let count = 0;
      const server = await listen((_req, res) => {
        count++;
        res.writeHead(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': nonce });
        res.end();
      });
      closers.push(() => server.close());
      const key = await generateDpopKey();
      const session = new DpopSession({ key });
      const fetch = createDpopFetch({ session, origins: [server.origin], getAccessToken: () => 'tok' });
      expect((await fetch(`${server.origin}/x`)).status).toBe(401);
      expect(count).toBe(1);
      expect(session.servers.nonce(server.origin)).toBeUndefined();
    }
  });

  it('adds only a proof (no Authorization) when no token is supplied', async () => {
    const seen: IncomingMessage['headers'][] = [];
    const server = await listen((req, res) => {
      seen.push(req.headers);
      res.end('ok');
    });
    closers.push(() => server.close());
    const key = await generateDpopKey();
    const fetch = createDpopFetch({ session: new DpopSession({ key }), origins: [server.origin] });
    await fetch(`${server.origin}/x`);
    expect(seen[0]!.authorization).toBeUndefined();
    expect(seen[0]!.dpop).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('refuses a protected origin that is not an http(s) URL', () => {
    expect(() => createDpopFetch({ origins: ['ftp://example.com'] })).toThrow(TypeError);
    expect(() => createDpopFetch({ origins: ['not a url'] })).toThrow(TypeError);
  });
});
