// openid-client 6 with tls_client_auth against the keybound mTLS listener: it reads
// mtls_endpoint_aliases from the metadata and presents its certificate through undici.
import { createHash, X509Certificate } from 'node:crypto';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePki, type TestPki } from '../../packages/authorization-server/test/certificates.js';
import { startServer } from './support.js';

let pki: TestPki;
const agents: Agent[] = [];
beforeAll(() => {
  pki = generatePki();
});
afterAll(async () => {
  for (const a of agents) await a.close();
  pki.cleanup();
});

describe('openid-client tls_client_auth over mutual TLS', () => {
  it('uses the mTLS endpoint alias, authenticates by subject DN and gets a certificate-bound DPoP token', async () => {
    const { urls } = await startServer({
      listeners: {
        http: { host: '127.0.0.1', port: 0 },
        mtls: {
          host: '127.0.0.1',
          port: 0,
          tls: { key: pki.server.key, cert: pki.server.cert, ca: [pki.ca.cert] },
        },
      },
      storage: { type: 'sqlite', path: ':memory:' },
      clients: [
        {
          client_id: 'payments',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_subject_dn: 'CN=client-one,OU=Payments,O=Acme Corp,C=US',
          grant_types: ['client_credentials'],
          tls_client_certificate_bound_access_tokens: true,
        },
      ],
    });
    const agent = new Agent({ connect: { ca: pki.ca.cert, key: pki.client.key, cert: pki.client.cert } });
    agents.push(agent);
    const cfg = await client.discovery(
      new URL(urls.issuer),
      'payments',
      { use_mtls_endpoint_aliases: true },
      client.TlsClientAuth(),
      {
        execute: [client.allowInsecureRequests],
        algorithm: 'oauth2',
      },
    );
    const seen: string[] = [];
    cfg[client.customFetch] = (url, options) => {
      seen.push(url);
      return undiciFetch(url, { ...options, dispatcher: agent } as Parameters<
        typeof undiciFetch
      >[1]) as unknown as Promise<Response>;
    };
    const tokens = await client.clientCredentialsGrant(
      cfg,
      {},
      { DPoP: client.getDPoPHandle(cfg, await client.randomDPoPKeyPair()) },
    );
    expect(seen).toEqual([urls.mtls!.token]);
    const x5t = createHash('sha256').update(new X509Certificate(pki.client.cert).raw).digest('base64url');
    expect(decodeJwt(tokens.access_token).cnf).toMatchObject({ 'x5t#S256': x5t });
    expect(tokens.token_type).toBe('dpop');
  });
});
