import { join } from 'node:path';
import { createDpopFetch, generateDpopKey, isKeyboundError, OAuthClient } from '@keybound/client';
import { createMtlsFetch, createMtlsFetchFromFiles, type MtlsFetch } from '@keybound/client/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, type TestPki } from './helpers/certificates.js';
import {
  startTestAuthorizationServer,
  startTestResourceServer,
  type TestAuthorizationServer,
  type TestResourceServer,
  x5tOfPem,
} from './helpers/test-oauth-servers.js';

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki(['mtls-client', 'other-client']);
});
afterAll(() => pki.cleanup());

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function servers(): Promise<{ as: TestAuthorizationServer; rs: TestResourceServer }> {
  const serverTls = { key: pki.server.key, cert: pki.server.cert };
  const as = await startTestAuthorizationServer({
    clients: { 'mtls-client': { auth: 'tls_client_auth' }, 'other-client': { auth: 'tls_client_auth' } },
    // the main endpoints do not ask for certificates; the aliases do (RFC 8705 §5)
    tls: serverTls,
    mtlsAlias: { ...serverTls, ca: pki.ca.cert },
  });
  closers.push(() => as.close());
  const rs = await startTestResourceServer({ tokens: as.tokens, tls: { ...serverTls, ca: pki.ca.cert } });
  closers.push(() => rs.close());
  return { as, rs };
}

function mtlsFetch(client: string): MtlsFetch {
  const m = createMtlsFetch({
    cert: pki.clients[client]!.cert,
    key: pki.clients[client]!.key,
    ca: pki.ca.cert,
  });
  closers.push(() => m.close());
  return m;
}

describe('mTLS through an undici Agent', () => {
  it('gets a certificate-bound token from the mtls_endpoint_aliases token endpoint and uses it at the API', async () => {
    const { as, rs } = await servers();
    const { fetch } = mtlsFetch('mtls-client');
    const c = await OAuthClient.discover(as.issuer, {
      clientId: 'mtls-client',
      clientAuth: { method: 'tls_client_auth' },
      fetch,
      protectedOrigins: [rs.origin],
    });
    const tokens = await c.clientCredentials();
    expect(tokens.tokenType).toBe('Bearer');
    expect(as.requests.map((r) => [r.server, r.status])).toEqual([['mtls', 200]]);
    expect(as.tokens.get(tokens.accessToken)!.x5t).toBe(x5tOfPem(pki.clients['mtls-client']!.cert));
    const response = await c.fetch(`${rs.origin}/api/orders`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ clientId: 'mtls-client' });
  });

  it('refuses the same token presented over a connection with another certificate', async () => {
    const { as, rs } = await servers();
    const c = await OAuthClient.discover(as.issuer, {
      clientId: 'mtls-client',
      clientAuth: { method: 'tls_client_auth' },
      fetch: mtlsFetch('mtls-client').fetch,
    });
    const { accessToken } = await c.clientCredentials();
    const stolen = createDpopFetch({
      origins: [rs.origin],
      getAccessToken: () => accessToken,
      fetch: mtlsFetch('other-client').fetch,
    });
    const response = await stolen(`${rs.origin}/api/orders`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('uses the ordinary endpoint when told not to use the aliases, where no certificate is asked for', async () => {
    const { as } = await servers();
    const c = await OAuthClient.discover(as.issuer, {
      clientId: 'mtls-client',
      clientAuth: { method: 'tls_client_auth' },
      fetch: mtlsFetch('mtls-client').fetch,
      mtls: false,
    });
    const error = await c.clientCredentials().catch((e: unknown) => e);
    expect(isKeyboundError(error, 'token_request_failed')).toBe(true);
    expect(as.requests.map((r) => [r.server, r.error])).toEqual([['main', 'invalid_client']]);
  });

  it('authenticates with the certificate and binds the token to a DPoP key at the same time', async () => {
    const { as, rs } = await servers();
    const key = await generateDpopKey();
    const c = await OAuthClient.discover(as.issuer, {
      clientId: 'mtls-client',
      clientAuth: { method: 'tls_client_auth' },
      dpopKey: key,
      fetch: mtlsFetch('mtls-client').fetch,
      protectedOrigins: [rs.origin],
    });
    const tokens = await c.clientCredentials();
    expect(tokens.tokenType).toBe('DPoP');
    expect(as.requests.at(-1)).toMatchObject({ server: 'mtls', status: 200, jkt: key.jkt });
    expect(await (await c.fetch(`${rs.origin}/api/x`)).json()).toMatchObject({ jkt: key.jkt });
  });

  it("sends Node's own Request objects and FormData bodies through the mTLS fetch (undici from npm has its own classes)", async () => {
    const { as, rs } = await servers();
    const c = await OAuthClient.discover(as.issuer, {
      clientId: 'mtls-client',
      clientAuth: { method: 'tls_client_auth' },
      dpopKey: await generateDpopKey(),
      fetch: mtlsFetch('mtls-client').fetch,
      protectedOrigins: [rs.origin],
    });
    await c.clientCredentials();
    expect((await c.fetch(new Request(`${rs.origin}/api/request`))).status).toBe(200);
    const form = new FormData();
    form.append('field', 'value');
    form.append('file', new Blob(['file content'], { type: 'text/plain' }), 'a.txt');
    expect((await c.fetch(`${rs.origin}/api/form`, { method: 'POST', body: form })).status).toBe(200);
    const sent = rs.requests.at(-1)!.body!;
    expect(sent).toContain('name="field"');
    expect(sent).toContain('filename="a.txt"');
    expect(sent).toContain('file content');
    expect(sent).not.toContain('[object FormData]');
    // a Request with a body (a stream): sent once, with the nonce learned above
    const posted = await c.fetch(new Request(`${rs.origin}/api/body`, { method: 'POST', body: 'hello' }));
    expect(posted.status).toBe(200);
    expect(rs.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/body', body: 'hello' });
  });

  it('reads the certificate, key and CA from PEM files', async () => {
    const { as } = await servers();
    const m = await createMtlsFetchFromFiles({
      certFile: join(pki.dir, 'client-mtls-client.crt'),
      keyFile: join(pki.dir, 'client-mtls-client.key'),
      caFile: join(pki.dir, 'ca.crt'),
    });
    closers.push(() => m.close());
    const c = await OAuthClient.discover(as.issuer, {
      clientId: 'mtls-client',
      clientAuth: { method: 'tls_client_auth' },
      fetch: m.fetch,
    });
    await c.clientCredentials();
    expect(as.requests.at(-1)!.status).toBe(200);
  });

  it('fails with server_unreachable when the server certificate is not trusted', async () => {
    const { as } = await servers();
    const m = createMtlsFetch({
      cert: pki.clients['mtls-client']!.cert,
      key: pki.clients['mtls-client']!.key,
    });
    closers.push(() => m.close());
    const error = await OAuthClient.discover(as.issuer, { clientId: 'mtls-client', fetch: m.fetch }).catch(
      (e: unknown) => e,
    );
    expect(isKeyboundError(error, 'server_unreachable')).toBe(true);
  });
});
