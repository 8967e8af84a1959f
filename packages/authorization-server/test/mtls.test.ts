import { createPublicKey, X509Certificate } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeAndLogin, PASSWORD, pkce } from './browser.js';
import {
  CLIENT_SUBJECT,
  derBase64,
  generatePki,
  type Pem,
  type TestPki,
  thumbprint,
} from './certificates.js';
import { claimsOf, newKey, post, proofFor, readResponse, SECRET, start } from './helpers.js';

let pki: TestPki;
beforeAll(() => {
  pki = generatePki();
});
afterAll(() => pki.cleanup());

function config(over: Record<string, unknown> = {}) {
  const selfJwk = {
    ...createPublicKey(pki.selfSigned.cert).export({ format: 'jwk' }),
    x5c: [derBase64(pki.selfSigned.cert)],
  };
  return {
    listeners: {
      http: { host: '127.0.0.1', port: 0 },
      mtls: {
        host: '127.0.0.1',
        port: 0,
        tls: { key: pki.server.key, cert: pki.server.cert, ca: [pki.ca.cert] },
      },
    },
    storage: { type: 'sqlite', path: ':memory:' },
    resources: [{ identifier: 'https://api.example.com' }],
    users: [{ username: 'alice', password: PASSWORD }],
    clients: [
      {
        client_id: 'mtls-dn',
        token_endpoint_auth_method: 'tls_client_auth',
        // RFC 4514 order (reversed) and different spacing from the certificate
        tls_client_auth_subject_dn: 'CN=client-one, OU=Payments, O=Acme Corp, C=US',
        grant_types: ['client_credentials'],
        tls_client_certificate_bound_access_tokens: true,
      },
      {
        client_id: 'mtls-san-dns',
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_san_dns: 'CLIENT.example',
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'mtls-san-uri',
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_san_uri: 'spiffe://example.org/client-one',
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'mtls-san-ip',
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_san_ip: '10.1.2.3',
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'mtls-san-email',
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_san_email: 'ops@example.com',
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'mtls-wrong-dn',
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_subject_dn: 'CN=client-two,O=Acme Corp,C=US',
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'mtls-ca-subject',
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_subject_dn: 'CN=keybound test CA',
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'mtls-server-subject',
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_subject_dn: 'CN=127.0.0.1',
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'self-signed',
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks: { keys: [selfJwk] },
        grant_types: ['client_credentials'],
        tls_client_certificate_bound_access_tokens: true,
      },
      {
        client_id: 'public-mtls',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: ['https://app.example/cb'],
        tls_client_certificate_bound_access_tokens: true,
      },
      {
        client_id: 'secret-bound',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        tls_client_certificate_bound_access_tokens: true,
      },
    ],
    ...over,
  };
}

const agents: Agent[] = [];
afterAll(async () => {
  for (const a of agents) await a.close();
});

async function mtlsPost(
  url: string,
  body: Record<string, string>,
  client: Pem | undefined,
  headers: Record<string, string> = {},
) {
  const agent = new Agent({
    connect: { ca: pki.ca.cert, ...(client ? { key: client.key, cert: client.cert } : {}) },
  });
  agents.push(agent);
  const res = await undiciFetch(url, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });
  return readResponse(res);
}

describe('mutual TLS (RFC 8705) over a real TLS listener', () => {
  it('publishes mtls_endpoint_aliases on the separate https listener', async () => {
    const { urls } = await start(config());
    const m = await (await fetch(`${urls.issuer}/.well-known/oauth-authorization-server`)).json();
    expect(m.tls_client_certificate_bound_access_tokens).toBe(true);
    expect(m.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['tls_client_auth', 'self_signed_tls_client_auth']),
    );
    expect(m.mtls_endpoint_aliases.token_endpoint).toBe(urls.mtls!.token);
    expect(new URL(urls.mtls!.token).protocol).toBe('https:');
    expect(new URL(urls.mtls!.token).port).not.toBe(new URL(urls.token).port);
    // the mTLS listener answers only the aliased endpoints
    const agent = new Agent({ connect: { ca: pki.ca.cert } });
    agents.push(agent);
    expect((await undiciFetch(`${urls.mtls!.base}/authorize`, { dispatcher: agent })).status).toBe(404);
  });

  it('authenticates tls_client_auth by subject DN, ignoring RDN order, and binds the token to the certificate', async () => {
    const { urls } = await start(config());
    const res = await mtlsPost(
      urls.mtls!.token,
      { grant_type: 'client_credentials', client_id: 'mtls-dn' },
      pki.client,
    );
    expect(res.status).toBe(200);
    expect(res.json.token_type).toBe('Bearer');
    expect(claimsOf(res.json.access_token as string).cnf).toEqual({
      'x5t#S256': thumbprint(pki.client.cert),
    });
  });

  it('authenticates tls_client_auth by each SAN type', async () => {
    const { urls } = await start(config());
    for (const id of ['mtls-san-dns', 'mtls-san-uri', 'mtls-san-ip', 'mtls-san-email']) {
      const res = await mtlsPost(
        urls.mtls!.token,
        { grant_type: 'client_credentials', client_id: id },
        pki.client,
      );
      expect(res.status, id).toBe(200);
    }
  });

  it('refuses tls_client_auth with a certificate for another subject', async () => {
    const { urls } = await start(config());
    const res = await mtlsPost(
      urls.mtls!.token,
      { grant_type: 'client_credentials', client_id: 'mtls-wrong-dn' },
      pki.client,
    );
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it('refuses tls_client_auth with a certificate from an untrusted CA even when the subject matches', async () => {
    const { urls } = await start(config());
    const res = await mtlsPost(
      urls.mtls!.token,
      { grant_type: 'client_credentials', client_id: 'mtls-dn' },
      pki.rogue,
    );
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it('refuses tls_client_auth without a certificate, and on the plain listener', async () => {
    const { urls } = await start(config());
    expect(
      (
        await mtlsPost(
          urls.mtls!.token,
          { grant_type: 'client_credentials', client_id: 'mtls-dn' },
          undefined,
        )
      ).status,
    ).toBe(401);
    expect((await post(urls.token, { grant_type: 'client_credentials', client_id: 'mtls-dn' })).status).toBe(
      401,
    );
  });

  it('authenticates self_signed_tls_client_auth with the certificate in the registered JWKS only', async () => {
    const { urls } = await start(config());
    const ok = await mtlsPost(
      urls.mtls!.token,
      { grant_type: 'client_credentials', client_id: 'self-signed' },
      pki.selfSigned,
    );
    expect(ok.status).toBe(200);
    expect(claimsOf(ok.json.access_token as string).cnf).toEqual({
      'x5t#S256': thumbprint(pki.selfSigned.cert),
    });
    const other = await mtlsPost(
      urls.mtls!.token,
      { grant_type: 'client_credentials', client_id: 'self-signed' },
      pki.otherSelfSigned,
    );
    expect(other.status).toBe(401);
  });

  it('binds a DPoP proof made for the mTLS alias URL and the certificate into one token', async () => {
    const { urls } = await start(config());
    const key = await newKey();
    const wrongHtu = await mtlsPost(
      urls.mtls!.token,
      { grant_type: 'client_credentials', client_id: 'mtls-dn' },
      pki.client,
      {
        dpop: await proofFor(key, urls.token),
      },
    );
    expect(wrongHtu.json.error).toBe('invalid_dpop_proof');
    const res = await mtlsPost(
      urls.mtls!.token,
      { grant_type: 'client_credentials', client_id: 'mtls-dn' },
      pki.client,
      {
        dpop: await proofFor(key, urls.mtls!.token),
      },
    );
    expect(res.json.token_type).toBe('DPoP');
    expect(claimsOf(res.json.access_token as string).cnf).toEqual({
      jkt: key.jkt,
      'x5t#S256': thumbprint(pki.client.cert),
    });
  });

  it('binds a secret-authenticated client’s token to its certificate and refuses it without one', async () => {
    const { urls } = await start(config());
    const basicAuth = `Basic ${Buffer.from(`secret-bound:${SECRET}`).toString('base64')}`;
    const ok = await mtlsPost(urls.mtls!.token, { grant_type: 'client_credentials' }, pki.rogue, {
      authorization: basicAuth,
    });
    expect(claimsOf(ok.json.access_token as string).cnf).toEqual({ 'x5t#S256': thumbprint(pki.rogue.cert) });
    const none = await post(urls.token, { grant_type: 'client_credentials' }, { authorization: basicAuth });
    expect(none.status).toBe(400);
    expect(none.json.error_description).toMatch(/certificate/);
  });

  it('binds a public client’s refresh token to its certificate (RFC 8705 §4)', async () => {
    const { urls } = await start(config());
    const { verifier, challenge } = pkce();
    const p = await authorizeAndLogin(urls, {
      response_type: 'code',
      client_id: 'public-mtls',
      redirect_uri: 'https://app.example/cb',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const tokens = await mtlsPost(
      urls.mtls!.token,
      {
        grant_type: 'authorization_code',
        code: p.get('code')!,
        code_verifier: verifier,
        client_id: 'public-mtls',
        redirect_uri: 'https://app.example/cb',
      },
      pki.client,
    );
    expect(tokens.status).toBe(200);
    const refresh = tokens.json.refresh_token as string;
    const other = await mtlsPost(
      urls.mtls!.token,
      { grant_type: 'refresh_token', refresh_token: refresh, client_id: 'public-mtls' },
      pki.selfSigned,
    );
    expect(other.json.error).toBe('invalid_grant');
    const same = await mtlsPost(
      urls.mtls!.token,
      { grant_type: 'refresh_token', refresh_token: refresh, client_id: 'public-mtls' },
      pki.client,
    );
    expect(same.status).toBe(200);
    expect(claimsOf(same.json.access_token as string).cnf).toEqual({
      'x5t#S256': thumbprint(pki.client.cert),
    });
  });

  it('returns cnf x5t#S256 from introspection at the mTLS alias', async () => {
    const { urls } = await start(config());
    const issued = await mtlsPost(
      urls.mtls!.token,
      { grant_type: 'client_credentials', client_id: 'mtls-dn' },
      pki.client,
    );
    const res = await mtlsPost(
      urls.mtls!.introspection,
      { token: issued.json.access_token as string, client_id: 'mtls-san-dns' },
      pki.client,
    );
    expect(res.json).toMatchObject({
      active: true,
      token_type: 'Bearer',
      cnf: { 'x5t#S256': thumbprint(pki.client.cert) },
    });
  });
});

describe('tls_client_auth trusts only the configured CAs (RFC 8705 §2.1)', () => {
  // mtls.ca is the documented place for trust anchors; listeners.mtls.tls.ca is left out, so the
  // TLS layer would otherwise verify against Node's default store (public roots, NODE_EXTRA_CA_CERTS)
  const anchoredByMtlsCa = () => {
    const c = config({ mtls: { ca: [pki.ca.cert] } });
    c.listeners.mtls.tls = { key: pki.server.key, cert: pki.server.cert } as typeof c.listeners.mtls.tls;
    return c;
  };
  const body = (clientId: string) => ({ grant_type: 'client_credentials', client_id: clientId });

  it('authenticates a listener certificate issued by a CA named only in mtls.ca', async () => {
    const { urls } = await start(anchoredByMtlsCa());
    const res = await mtlsPost(urls.mtls!.token, body('mtls-dn'), pki.client);
    expect(res.status).toBe(200);
    expect(claimsOf(res.json.access_token as string).cnf).toEqual({
      'x5t#S256': thumbprint(pki.client.cert),
    });
  });

  it('refuses a same-subject certificate from a CA that is not configured, even when the client sends that CA along', async () => {
    const { urls } = await start(anchoredByMtlsCa());
    const alone = await mtlsPost(urls.mtls!.token, body('mtls-dn'), pki.rogue);
    expect(alone.status).toBe(401);
    expect(alone.json.error).toBe('invalid_client');
    const withRoot = await mtlsPost(urls.mtls!.token, body('mtls-dn'), {
      key: pki.rogue.key,
      cert: pki.rogue.cert + pki.rogueCa.cert,
    });
    expect(withRoot.status).toBe(401);
    expect(withRoot.json.error).toBe('invalid_client');
  });

  it('follows an intermediate the client sends in the TLS handshake up to a configured CA', async () => {
    const { urls } = await start(anchoredByMtlsCa());
    const alone = await mtlsPost(urls.mtls!.token, body('mtls-wrong-dn'), pki.chained);
    expect(alone.status).toBe(401);
    const withChain = await mtlsPost(urls.mtls!.token, body('mtls-wrong-dn'), {
      key: pki.chained.key,
      cert: pki.chained.cert + pki.intermediate.cert,
    });
    expect(withChain.status).toBe(200);
  });

  it('refuses a certificate whose extended key usage is serverAuth only (the server certificate kind)', async () => {
    const { urls } = await start(anchoredByMtlsCa());
    const res = await mtlsPost(urls.mtls!.token, body('mtls-dn'), pki.serverAuthOnly);
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    // the listener's own server certificate is refused alike (client matched by its subject)
    const serverCert = await mtlsPost(urls.mtls!.token, body('mtls-server-subject'), pki.server);
    expect(serverCert.status).toBe(401);
  });

  it('refuses the configured CA certificate itself presented as a client certificate', async () => {
    const { urls } = await start(anchoredByMtlsCa());
    const res = await mtlsPost(urls.mtls!.token, body('mtls-ca-subject'), pki.ca);
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it('enforces a pathlen:0 intermediate: its own client is accepted, one under a sub-CA it issued is not', async () => {
    const { urls } = await start(anchoredByMtlsCa());
    const within = await mtlsPost(urls.mtls!.token, body('mtls-dn'), {
      key: pki.underPathLenZero.key,
      cert: pki.underPathLenZero.cert + pki.pathLenZero.cert,
    });
    expect(within.status).toBe(200);
    const beyond = await mtlsPost(urls.mtls!.token, body('mtls-dn'), {
      key: pki.belowSubCa.key,
      cert: pki.belowSubCa.cert + pki.subCa.cert + pki.pathLenZero.cert,
    });
    expect(beyond.status).toBe(401);
    expect(beyond.json).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
  });

  it('still accepts self_signed_tls_client_auth certificates, which chain to no CA', async () => {
    const { urls } = await start(anchoredByMtlsCa());
    const res = await mtlsPost(urls.mtls!.token, body('self-signed'), pki.selfSigned);
    expect(res.status).toBe(200);
  });
});

describe('client certificates forwarded by a TLS-terminating proxy', () => {
  const forwarded = (trusted: string[]) =>
    config({
      listeners: { http: { host: '127.0.0.1', port: 0 } },
      mtls: { forwarded: { format: 'rfc9440', trusted_proxies: trusted }, ca: [pki.ca.cert] },
    });
  const header = (pem: string) => `:${new X509Certificate(pem).raw.toString('base64')}:`;

  it('binds to a certificate forwarded by a trusted proxy and verifies its chain for tls_client_auth', async () => {
    const { urls } = await start(forwarded(['127.0.0.1/32', '::1']));
    const ok = await post(
      urls.token,
      { grant_type: 'client_credentials', client_id: 'mtls-dn' },
      { 'client-cert': header(pki.client.cert) },
    );
    expect(ok.status).toBe(200);
    expect(claimsOf(ok.json.access_token as string).cnf).toEqual({ 'x5t#S256': thumbprint(pki.client.cert) });
    const rogue = await post(
      urls.token,
      { grant_type: 'client_credentials', client_id: 'mtls-dn' },
      { 'client-cert': header(pki.rogue.cert) },
    );
    expect(rogue.status).toBe(401);
  });

  it('follows a forwarded intermediate to the trusted CA (Client-Cert-Chain) and refuses the leaf without it', async () => {
    const { urls } = await start(forwarded(['127.0.0.1/32', '::1']));
    const body = { grant_type: 'client_credentials', client_id: 'mtls-wrong-dn' };
    const alone = await post(urls.token, body, { 'client-cert': header(pki.chained.cert) });
    expect(alone.status).toBe(401);
    const withChain = await post(urls.token, body, {
      'client-cert': header(pki.chained.cert),
      'client-cert-chain': header(pki.intermediate.cert),
    });
    expect(withChain.status).toBe(200);
  });

  it('applies the same chain checks to forwarded certificates: EKU, CA leaf, path length', async () => {
    const { urls } = await start(forwarded(['127.0.0.1/32', '::1']));
    const dn = { grant_type: 'client_credentials', client_id: 'mtls-dn' };
    expect((await post(urls.token, dn, { 'client-cert': header(pki.serverAuthOnly.cert) })).status).toBe(401);
    const asCa = { grant_type: 'client_credentials', client_id: 'mtls-ca-subject' };
    expect((await post(urls.token, asCa, { 'client-cert': header(pki.ca.cert) })).status).toBe(401);
    const beyond = await post(urls.token, dn, {
      'client-cert': header(pki.belowSubCa.cert),
      'client-cert-chain': `${header(pki.subCa.cert)}, ${header(pki.pathLenZero.cert)}`,
    });
    expect(beyond.status).toBe(401);
    const within = await post(urls.token, dn, {
      'client-cert': header(pki.underPathLenZero.cert),
      'client-cert-chain': header(pki.pathLenZero.cert),
    });
    expect(within.status).toBe(200);
  });

  it('refuses a certificate header from a peer that is not a trusted proxy', async () => {
    const { urls } = await start(forwarded(['10.0.0.0/8']));
    const res = await post(
      urls.token,
      { grant_type: 'client_credentials', client_id: 'mtls-dn' },
      { 'client-cert': header(pki.client.cert) },
    );
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
    expect(res.json.error_description).toMatch(/not a trusted proxy/);
  });

  it('refuses a malformed or repeated certificate header', async () => {
    const { urls } = await start(forwarded(['127.0.0.1/32', '::1']));
    expect(
      (
        await post(
          urls.token,
          { grant_type: 'client_credentials', client_id: 'mtls-dn' },
          { 'client-cert': ':bm90IGEgY2VydA==:' },
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await post(
          urls.token,
          { grant_type: 'client_credentials', client_id: 'mtls-dn' },
          { 'client-cert': 'garbage' },
        )
      ).status,
    ).toBe(400);
  });
});

describe('configuration checks for mTLS', () => {
  it('names the subject the test certificate carries', () => {
    expect(new X509Certificate(pki.client.cert).subject.split('\n')).toEqual(
      CLIENT_SUBJECT.slice(1).split('/'),
    );
  });
});
