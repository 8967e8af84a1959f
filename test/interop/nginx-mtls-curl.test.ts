// curl with a client certificate → nginx (the Debian package) terminating TLS, verifying the
// certificate against an openssl-made CA and forwarding it as $ssl_client_escaped_cert → keybound
// resource server trusting only nginx (127.0.0.1/32) for that header. The certificate-bound token is
// issued by the keybound authorization server over its own mTLS listener (tls_client_auth), also
// fetched with curl. Every process here is a real binary or a real server; nothing is mocked.

import { generateKeyPair, generateProof, type KeyPair } from 'dpop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolsAvailable } from '../support/tools.js';
import { type CurlRequest, type CurlResponse, curl } from './support/curl.js';
import {
  API,
  type RunningAs,
  type RunningRs,
  SECRET,
  startKeyboundAs,
  startKeyboundRs,
} from './support/keybound.js';
import { type RunningNginx, startNginx } from './support/nginx.js';
import { ALICE_DN, type CertFiles, generateInteropPki, type InteropPki } from './support/pki.js';

const tools = toolsAvailable('nginx', 'curl', 'openssl');

describe.skipIf(tools === undefined)('curl with a client certificate → nginx → keybound RS', () => {
  let pki: InteropPki;
  let as: RunningAs;
  let rs: RunningRs;
  let nginx: RunningNginx;
  let tokenResponse: CurlResponse;
  let aliceToken: string;

  const run = (request: CurlRequest) => curl(tools!.curl, request);
  /** nginx's $ssl_client_escaped_cert of a certificate: what a spoofer would put in the header. */
  const escaped = (c: CertFiles) => encodeURIComponent(c.cert);
  const throughNginx = (cert: CertFiles | undefined, headers: Record<string, string> = {}) =>
    run({
      url: `${nginx.origin}/orders`,
      cacert: pki.ca.certPath,
      headers: { authorization: `Bearer ${aliceToken}`, ...headers },
      ...(cert !== undefined ? { cert } : {}),
    });

  beforeAll(async () => {
    pki = generateInteropPki(tools!.openssl);
    as = await startKeyboundAs({
      listeners: {
        http: { host: '127.0.0.1', port: 0 },
        mtls: {
          host: '127.0.0.1',
          port: 0,
          tls: { key: pki.server.key, cert: pki.server.cert, ca: [pki.ca.cert] },
        },
      },
      resources: [{ identifier: API, access_token_format: 'jwt' }],
      clients: [
        {
          client_id: 'alice-service',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_subject_dn: ALICE_DN,
          grant_types: ['client_credentials'],
          tls_client_certificate_bound_access_tokens: true,
        },
        {
          client_id: 'service',
          client_secret: SECRET,
          grant_types: ['client_credentials'],
          dpop_bound_access_tokens: true,
        },
      ],
    });
    rs = await startKeyboundRs({
      issuers: [{ issuer: as.urls.issuer, jwksUri: as.urls.jwks }],
      publicOrigins: () => [], // the public URL is what nginx forwards (X-Forwarded-Proto/-Host)
      policy: {
        trustedProxies: ['127.0.0.1/32'],
        clientCertificateHeader: 'nginx',
        defaults: { mode: 'enforce', require: 'mtls' },
        routes: [{ path: '/dpop', require: 'dpop', nonce: true }],
      },
    });
    nginx = await startNginx({
      nginx: tools!.nginx,
      baseDir: pki.dir,
      serverCert: pki.server.certPath,
      serverKey: pki.server.keyPath,
      clientCa: pki.ca.certPath,
      upstream: rs.origin,
    });
    tokenResponse = await run({
      url: as.urls.mtls!.token,
      cert: pki.alice,
      cacert: pki.ca.certPath,
      form: { grant_type: 'client_credentials', client_id: 'alice-service', resource: API },
    });
    aliceToken = tokenResponse.json<{ access_token: string }>().access_token;
  });

  afterAll(() => {
    // nginx logged nothing worse than the client-certificate refusals the tests provoke
    const problems = (nginx?.log() ?? '').split('\n').filter((l) => /\[(emerg|alert|crit)\]/.test(l));
    expect(problems).toEqual([]);
  });

  it('issues a certificate-bound token over the AS mTLS listener to curl (tls_client_auth)', () => {
    expect(tokenResponse.status).toBe(200);
    const body = tokenResponse.json<{ token_type: string; access_token: string }>();
    expect(body.token_type).toBe('Bearer');
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({
      client_id: 'alice-service',
      aud: API,
      cnf: { 'x5t#S256': pki.alice.thumbprint },
    });
  });

  it('accepts the certificate-bound token with the same client certificate through nginx', async () => {
    const res = await throughNginx(pki.alice);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      clientId: 'alice-service',
      binding: 'mtls',
      x5t: pki.alice.thumbprint,
    });
    expect(rs.lastEvent()).toMatchObject({ outcome: 'allow', binding: 'mtls', x5t: pki.alice.thumbprint });
    expect(rs.lastEvent().spoofedHeaders).toBeUndefined();
  });

  it('refuses the same token from another client certificate the CA issued (x5t_mismatch)', async () => {
    const res = await throughNginx(pki.bob);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
    expect(rs.lastEvent()).toMatchObject({ outcome: 'deny', code: 'x5t_mismatch' });
  });

  it('overwrites a certificate header the client sends through nginx with the verified certificate', async () => {
    const before = rs.events.length;
    const spoofed = await throughNginx(pki.bob, { 'X-SSL-Client-Cert': escaped(pki.alice) });
    expect(spoofed.status).toBe(401);
    expect(rs.lastEvent().code).toBe('x5t_mismatch');
    // and the other way round: alice's real certificate wins over a header naming bob's
    const genuine = await throughNginx(pki.alice, { 'x-ssl-client-cert': escaped(pki.bob) });
    expect(genuine.status).toBe(200);
    expect(genuine.json()).toMatchObject({ x5t: pki.alice.thumbprint });
    expect(rs.events.length).toBe(before + 2);
  });

  it('ignores a certificate header sent straight to the RS from an untrusted peer, and counts the spoof', async () => {
    const spoofsBefore = rs.rs.stats().spoofAttempts;
    const res = await run({
      url: rs.url('/orders'),
      from: '127.0.0.2',
      headers: { authorization: `Bearer ${aliceToken}`, 'X-SSL-Client-Cert': escaped(pki.alice) },
    });
    expect(res.status).toBe(401);
    expect(rs.lastEvent()).toMatchObject({ outcome: 'deny', code: 'certificate_missing' });
    expect(rs.lastEvent().spoofedHeaders).toEqual(['x-ssl-client-cert']);
    expect(rs.rs.stats().spoofAttempts).toBe(spoofsBefore + 1);
  });

  it('has nginx refuse a certificate the CA did not issue and a request without one, before the RS sees them', async () => {
    const before = rs.events.length;
    const stranger = await throughNginx(pki.stranger);
    expect(stranger.status).toBe(400);
    expect(stranger.body).toMatch(/SSL certificate error/);
    const anonymous = await throughNginx(undefined);
    expect(anonymous.status).toBe(400);
    expect(anonymous.body).toMatch(/No required SSL certificate was sent/);
    expect(rs.events.length).toBe(before);
  });

  async function dpopToken(keyPair: KeyPair): Promise<string> {
    const token = await fetch(as.urls.token, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`service:${SECRET}`).toString('base64')}`,
        dpop: await generateProof(keyPair, as.urls.token, 'POST'),
      },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    }).then((r) => r.json() as Promise<{ access_token: string; token_type: string }>);
    expect(token.token_type).toBe('DPoP');
    return token.access_token;
  }

  /** A DPoP request through nginx (with bob's certificate, which nginx requires) to `url`. */
  const dpopThroughNginx = async (
    url: string,
    keyPair: KeyPair,
    token: string,
    htu: string,
    nonce?: string,
  ) =>
    run({
      url,
      cert: pki.bob,
      cacert: pki.ca.certPath,
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await generateProof(keyPair, htu, 'GET', nonce, token),
      },
    });

  it('accepts a DPoP proof naming the nginx URL: the RS rebuilds htu from what nginx forwards, nonce included', async () => {
    const keyPair = await generateKeyPair('ES256');
    const token = await dpopToken(keyPair);
    const publicUrl = `${nginx.origin}/dpop/orders`;
    const call = (htu: string, nonce?: string) => dpopThroughNginx(publicUrl, keyPair, token, htu, nonce);

    const first = await call(publicUrl);
    expect(first.status).toBe(401);
    expect(first.headers.get('www-authenticate')).toMatch(/error="use_dpop_nonce"/);
    const nonce = first.headers.get('dpop-nonce');
    expect(nonce).toBeTruthy();
    const second = await call(publicUrl, nonce!);
    expect(second.status).toBe(200);
    expect(second.json()).toMatchObject({ clientId: 'service', binding: 'dpop' });

    const upstreamUrl = await call(rs.url('/dpop/orders'), nonce!);
    expect(upstreamUrl.status).toBe(401);
    expect(rs.lastEvent().code).toBe('htu_mismatch');
  });

  it('accepts a DPoP proof naming the URL under the prefix nginx strips (X-Forwarded-Prefix)', async () => {
    const keyPair = await generateKeyPair('ES256');
    const token = await dpopToken(keyPair);
    const publicUrl = `${nginx.origin}/api/dpop/orders`;
    const first = await dpopThroughNginx(publicUrl, keyPair, token, publicUrl);
    expect(first.status).toBe(401);
    const nonce = first.headers.get('dpop-nonce')!;
    const ok = await dpopThroughNginx(publicUrl, keyPair, token, publicUrl, nonce);
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({ path: '/dpop/orders', binding: 'dpop' });

    const withoutPrefix = await dpopThroughNginx(
      publicUrl,
      keyPair,
      token,
      `${nginx.origin}/dpop/orders`,
      nonce,
    );
    expect(withoutPrefix.status).toBe(401);
    expect(rs.lastEvent().code).toBe('htu_mismatch');
  });
});
