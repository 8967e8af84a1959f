// Redirects of protected requests: a proof names one URL, and fetch would carry the DPoP header (a
// valid, unused proof) to wherever a redirect points. The wrapper follows redirects itself: a fresh
// proof per protected hop, nothing for hops that leave the protected origins, nothing learned from
// another origin's answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { createDpopFetch, DpopSession, generateDpopKey } from '@keybound/client';
import { accessTokenHash, verifyProof } from '@keybound/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type ListeningServer, listen, readBody } from './helpers/http-test-server.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A server that records what it receives and answers with `route(path)`. */
async function server(
  route: (req: IncomingMessage, res: ServerResponse, origin: string) => void | Promise<void>,
): Promise<ListeningServer & { seen: Seen[] }> {
  const seen: Seen[] = [];
  let origin = '';
  const s = await listen(async (req, res) => {
    const body = await readBody(req);
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
    await route(req, res, origin);
  });
  origin = s.origin;
  closers.push(() => s.close());
  return Object.assign(s, { seen });
}

const TOKEN = 'redirect-test-token';

async function setup() {
  const thirdParty = await server((_req, res) => {
    // what a hostile or careless third party would try to teach the client
    res.writeHead(401, {
      'dpop-nonce': 'nonce-chosen-by-third-party',
      date: 'Fri, 01 Jan 2100 00:00:00 GMT',
      'www-authenticate': 'DPoP error="use_dpop_nonce"',
    });
    res.end('third party');
  });
  const api = await server(async (req, res, origin) => {
    const path = req.url ?? '/';
    if (path === '/away') {
      res.writeHead(302, { location: `${thirdParty.origin}/collect` });
      return void res.end();
    }
    if (path === '/away-307') {
      res.writeHead(307, { location: `${thirdParty.origin}/collect` });
      return void res.end();
    }
    if (path.startsWith('/moved')) {
      const status = Number(new URL(path, origin).searchParams.get('status') ?? 307);
      res.writeHead(status, { location: '/new?from=moved' });
      return void res.end();
    }
    if (path === '/loop') {
      res.writeHead(302, { location: '/loop' });
      return void res.end();
    }
    if (path === '/scheme') {
      res.writeHead(302, { location: 'file:///etc/passwd' });
      return void res.end();
    }
    // every other path: the proof must be valid for exactly this URL and the token
    try {
      const verified = await verifyProof(req.headers.dpop, {
        htm: req.method ?? 'GET',
        htu: `${origin}${path}`,
        accessToken: req.headers.authorization?.replace(/^DPoP /, ''),
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ htu: verified.claims.htu, method: req.method }));
    } catch (e) {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end(String((e as { code?: string }).code ?? e));
    }
  });
  const key = await generateDpopKey();
  const session = new DpopSession({ key });
  const fetch = createDpopFetch({ session, origins: [api.origin], getAccessToken: () => TOKEN });
  return { api, thirdParty, session, fetch };
}

describe('redirects of protected requests', () => {
  it.each([302, 307])(
    'a %i to another origin gets neither the proof nor the token, and nothing is learned from it',
    async (status) => {
      const { api, thirdParty, session, fetch } = await setup();
      const response = await fetch(`${api.origin}/${status === 302 ? 'away' : 'away-307'}`);
      expect(response.status).toBe(401);
      expect(await response.text()).toBe('third party');
      expect(thirdParty.seen).toHaveLength(1);
      expect(thirdParty.seen[0]!.headers.dpop).toBeUndefined();
      expect(thirdParty.seen[0]!.headers.authorization).toBeUndefined();
      // the third party's nonce and clock were not taken for the API's, and it was not retried
      expect(session.servers.nonce(api.origin)).toBeUndefined();
      expect(session.servers.offsetSeconds(api.origin)).toBe(0);
      expect(session.servers.offsetSeconds(thirdParty.origin)).toBe(0);
    },
  );

  it.each([301, 302, 303, 307, 308])(
    'a %i within the protected origin is followed with a fresh proof for the new URL',
    async (status) => {
      const { api, fetch } = await setup();
      const response = await fetch(`${api.origin}/moved?status=${status}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ htu: `${api.origin}/new`, method: 'GET' });
      const [first, second] = api.seen;
      expect(first!.headers.dpop).not.toBe(second!.headers.dpop);
      expect(second!.headers.authorization).toBe(`DPoP ${TOKEN}`);
      const proof = JSON.parse(
        Buffer.from(String(second!.headers.dpop).split('.')[1]!, 'base64url').toString(),
      );
      expect(proof.ath).toBe(await accessTokenHash(TOKEN));
    },
  );

  it('turns a POST into a GET without body or content type on 303 (and 301/302), and keeps it on 307/308', async () => {
    const { api, fetch } = await setup();
    for (const status of [301, 302, 303]) {
      const r = await fetch(`${api.origin}/moved?status=${status}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      expect(await r.json()).toEqual({ htu: `${api.origin}/new`, method: 'GET' });
      const hop = api.seen.at(-1)!;
      expect([hop.method, hop.body, hop.headers['content-type']]).toEqual(['GET', '', undefined]);
    }
    for (const status of [307, 308]) {
      const r = await fetch(`${api.origin}/moved?status=${status}`, { method: 'POST', body: '{"a":1}' });
      expect(await r.json()).toEqual({ htu: `${api.origin}/new`, method: 'POST' });
      expect(api.seen.at(-1)!.body).toBe('{"a":1}');
    }
  });

  it('returns a 307 unfollowed when its body was a stream (it cannot be sent twice)', async () => {
    const { api, fetch } = await setup();
    const body = Readable.toWeb(Readable.from([Buffer.from('streamed')])) as ReadableStream;
    const response = await fetch(`${api.origin}/moved?status=307`, {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(307);
    expect(api.seen).toHaveLength(1);
  });

  it("keeps the caller's redirect: 'manual' (the 3xx is returned) and 'error' (fetch fails)", async () => {
    const { api, thirdParty, fetch } = await setup();
    const manual = await fetch(`${api.origin}/away`, { redirect: 'manual' });
    expect(manual.status).toBe(302);
    await expect(fetch(`${api.origin}/away`, { redirect: 'error' })).rejects.toThrow();
    expect(thirdParty.seen).toHaveLength(0);
  });

  it('follows a redirect of a Request object, with a fresh proof', async () => {
    const { api, fetch } = await setup();
    const response = await fetch(new Request(`${api.origin}/moved?status=302`));
    expect(await response.json()).toEqual({ htu: `${api.origin}/new`, method: 'GET' });
  });

  it('stops a redirect loop after 20 hops, and does not follow a redirect to a non-http scheme', async () => {
    const { api, fetch } = await setup();
    await expect(fetch(`${api.origin}/loop`)).rejects.toThrow(/more than 20 redirects/);
    expect(api.seen).toHaveLength(21);
    const scheme = await fetch(`${api.origin}/scheme`);
    expect(scheme.status).toBe(302);
  });

  it("drops the caller's own Authorization, DPoP, Cookie and Proxy-Authorization headers on a hop to another origin", async () => {
    const { thirdParty } = await setup();
    const key = await generateDpopKey();
    const bouncer = await server((_req, res) => {
      res.writeHead(302, { location: `${thirdParty.origin}/collect` });
      res.end();
    });
    // no token source: the caller sets headers itself
    const fetch = createDpopFetch({ session: new DpopSession({ key }), origins: [bouncer.origin] });
    await fetch(`${bouncer.origin}/x`, {
      headers: {
        authorization: 'Basic c2VjcmV0',
        cookie: 'session=SECRET',
        'proxy-authorization': 'Basic cHJveHk=',
        'x-kept': 'yes',
      },
    });
    const seen = thirdParty.seen[0]!.headers;
    expect([seen.authorization, seen.dpop, seen.cookie, seen['proxy-authorization']]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(seen['x-kept']).toBe('yes');
    // within the origin, the caller's cookie goes along as fetch would send it
    expect(bouncer.seen[0]!.headers.cookie).toBe('session=SECRET');
  });
});

describe('clock offsets learned from Date', () => {
  it('ignores a Date further than maxClockOffsetSeconds from the local clock', async () => {
    let date = 'Fri, 01 Jan 2100 00:00:00 GMT';
    const s = await server((_req, res) => {
      res.writeHead(401, {
        date,
        'content-type': 'application/json',
        'www-authenticate': 'DPoP error="invalid_dpop_proof"',
      });
      res.end();
    });
    const key = await generateDpopKey();
    const session = new DpopSession({ key });
    const fetch = createDpopFetch({ session, origins: [s.origin], getAccessToken: () => TOKEN });
    expect((await fetch(`${s.origin}/x`)).status).toBe(401);
    // not believed, so no retry on it either
    expect(s.seen).toHaveLength(1);
    expect(session.servers.offsetSeconds(s.origin)).toBe(0);
    // an hour ahead is within the default bound (24 h): learned, and the refused proof is retried
    date = new Date(Date.now() + 3600_000).toUTCString();
    await fetch(`${s.origin}/x`);
    expect(s.seen).toHaveLength(3);
    expect(session.servers.offsetSeconds(s.origin)).toBeGreaterThan(3590);
    // a tighter bound refuses it
    const strict = new DpopSession({ key, maxClockOffsetSeconds: 600 });
    const strictFetch = createDpopFetch({
      session: strict,
      origins: [s.origin],
      getAccessToken: () => TOKEN,
    });
    await strictFetch(`${s.origin}/x`);
    expect(strict.servers.offsetSeconds(s.origin)).toBe(0);
    expect(() => new DpopSession({ key, maxClockOffsetSeconds: Number.NaN })).toThrow(TypeError);
  });
});
