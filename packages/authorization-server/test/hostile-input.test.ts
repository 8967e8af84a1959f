import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeFlowConfig } from './browser.js';
import { basic, newKey, post, proofFor, readResponse, SECRET, start } from './helpers.js';

const auth = { authorization: basic('web', SECRET) };

async function raw(url: string, init: RequestInit) {
  return readResponse(await fetch(url, { redirect: 'manual', ...init }));
}

function formPost(body: BodyInit, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  };
}

describe('hostile input at the form endpoints (token, PAR, introspection, revocation, login)', () => {
  const endpoints = (urls: Awaited<ReturnType<typeof start>>['urls']) => [
    urls.token,
    urls.pushedAuthorizationRequest,
    urls.introspection,
    urls.revocation,
    urls.login,
  ];

  it('refuses a repeated parameter with invalid_request (RFC 6749 §3.1)', async () => {
    const { urls } = await start(codeFlowConfig());
    for (const url of endpoints(urls)) {
      const res = await raw(
        url,
        formPost('grant_type=client_credentials&token=a&token=b&grant_type=client_credentials', auth),
      );
      expect(res.status, url).toBe(400);
      expect(res.json.error, url).toBe('invalid_request');
      expect(res.json.error_description, url).toMatch(/more than once/);
    }
  });

  it('refuses a body over the size limit with 413, whatever Content-Length says', async () => {
    const { urls } = await start(codeFlowConfig());
    const big = `grant_type=client_credentials&x=${'a'.repeat(20_000)}`;
    for (const url of endpoints(urls)) {
      expect((await raw(url, formPost(big, auth))).status, url).toBe(413);
    }
    // a chunked body without Content-Length is cut off at the limit too
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 40; i++) controller.enqueue(new TextEncoder().encode('a'.repeat(1000)));
        controller.close();
      },
    });
    const chunked = await raw(urls.token, { ...formPost(stream, auth), duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it('refuses other content types, other charsets, compressed bodies and query parameters', async () => {
    const { urls } = await start(codeFlowConfig());
    const body = 'grant_type=client_credentials';
    expect(
      (
        await raw(urls.token, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth },
          body: '{}',
        })
      ).json.error,
    ).toBe('invalid_request');
    expect((await raw(urls.token, { method: 'POST', headers: auth, body })).status).toBe(400);
    expect(
      (
        await raw(
          urls.token,
          formPost(body, {
            ...auth,
            'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1',
          }),
        )
      ).status,
    ).toBe(400);
    expect((await raw(urls.token, formPost(body, { ...auth, 'content-encoding': 'gzip' }))).status).toBe(415);
    expect(
      (await raw(`${urls.token}?client_secret=${SECRET}`, formPost(body, auth))).json.error_description,
    ).toMatch(/query/);
  });

  it('refuses broken percent-encoding and invalid UTF-8', async () => {
    const { urls } = await start(codeFlowConfig());
    expect((await raw(urls.token, formPost('grant_type=%E0%A4%A', auth))).status).toBe(400);
    expect((await raw(urls.token, formPost('grant_type=%FF', auth))).status).toBe(400);
    expect((await raw(urls.token, formPost(new Uint8Array([0x61, 0x3d, 0xff, 0xfe]), auth))).status).toBe(
      400,
    );
    expect((await raw(urls.token, formPost('=value', auth))).status).toBe(400);
  });

  it('treats an empty value as absent and refuses too many parameters', async () => {
    const { urls } = await start(codeFlowConfig());
    expect((await raw(urls.token, formPost('grant_type=', auth))).json.error_description).toBe(
      'grant_type is required',
    );
    const many = Array.from({ length: 100 }, (_, i) => `p${i}=1`).join('&');
    expect((await raw(urls.token, formPost(many, auth))).json.error_description).toMatch(
      /more than 64 parameters/,
    );
  });

  it('answers other methods with 405 and an Allow header', async () => {
    const { urls } = await start(codeFlowConfig());
    for (const url of [urls.token, urls.introspection, urls.revocation, urls.pushedAuthorizationRequest]) {
      const res = await raw(url, { method: 'GET' });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
    expect((await raw(urls.jwks, { method: 'DELETE' })).status).toBe(405);
  });

  it('refuses an oversized or garbage DPoP header as invalid_dpop_proof', async () => {
    const { urls } = await start(
      codeFlowConfig({
        clients: [{ client_id: 'svc', client_secret: SECRET, grant_types: ['client_credentials'] }],
      }),
    );
    const a = { authorization: basic('svc', SECRET) };
    for (const dpop of ['x'.repeat(9000), 'a.b.c', 'eyJ0eXAiOiJkcG9wK2p3dCJ9..', '\u00e9']) {
      const res = await post(
        urls.token,
        { grant_type: 'client_credentials' },
        { ...a, dpop: encodeURI(dpop) },
      );
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('invalid_dpop_proof');
    }
  });

  it('refuses malformed Basic credentials', async () => {
    const { urls } = await start(codeFlowConfig());
    for (const header of [
      'Basic',
      'Basic !!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      'Bearer abc',
      `Basic ${Buffer.from('%zz:x').toString('base64')}`,
    ]) {
      const res = await raw(urls.token, formPost('grant_type=client_credentials', { authorization: header }));
      expect(res.status, header).toBe(401);
      expect(res.json.error).toBe('invalid_client');
    }
  });

  it('never answers 500 to arbitrary form bodies and headers (property)', async () => {
    const { urls } = await start(codeFlowConfig());
    const key = await newKey();
    const proof = await proofFor(key, urls.token);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 300 }),
        fc.constantFrom('web', 'spa', 'nobody', ''),
        fc.boolean(),
        async (body, client, withProof) => {
          const headers: Record<string, string> = client ? { authorization: basic(client, SECRET) } : {};
          if (withProof) headers.dpop = proof;
          const res = await raw(urls.token, formPost(body, headers));
          expect([400, 401, 413, 415]).toContain(res.status);
          expect(typeof res.json.error).toBe('string');
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('hostile input at the authorization endpoint and the router', () => {
  it('refuses an oversized query with 414 and broken encoding with an error page', async () => {
    const { urls } = await start(codeFlowConfig());
    expect((await raw(`${urls.authorization}?state=${'a'.repeat(9000)}`, {})).status).toBe(414);
    const broken = await raw(`${urls.authorization}?client_id=%ZZ`, {});
    expect(broken.status).toBe(400);
    expect(broken.headers.get('content-type')).toMatch(/text\/html/);
    expect(broken.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });

  it('answers unknown paths with 404 and an over-long request target with 414', async () => {
    const { urls } = await start(codeFlowConfig());
    expect((await raw(`${urls.issuer}/nope`, {})).status).toBe(404);
    expect((await raw(`${urls.issuer}/token/`, { method: 'POST' })).status).toBe(404);
    expect((await raw(`${urls.issuer}/${'x'.repeat(10_000)}`, {})).status).toBe(414);
  });

  it('answers CORS preflights on the token endpoint and exposes DPoP-Nonce', async () => {
    const { urls } = await start(codeFlowConfig());
    const pre = await raw(urls.token, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://spa.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'dpop',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/DPoP/);
    const res = await post(
      urls.token,
      { grant_type: 'client_credentials' },
      { origin: 'https://spa.example' },
    );
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/DPoP-Nonce/);
  });

  it('does not offer CORS on the authorization or login endpoints', async () => {
    const { urls } = await start(codeFlowConfig());
    expect(
      (await raw(urls.login, { method: 'OPTIONS', headers: { origin: 'https://x.example' } })).status,
    ).toBe(405);
  });
});
