import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError, hashPassword, parseServerConfig } from '../src/index.js';

function issuesOf(value: unknown, options?: Parameters<typeof parseServerConfig>[1]): string[] {
  try {
    parseServerConfig(value, options);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('parseServerConfig', () => {
  it('accepts an empty object with safe defaults', () => {
    const c = parseServerConfig({});
    expect(c.listeners.http).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(c.storage).toEqual({
      type: 'sqlite',
      path: 'keybound.db',
      encryptionSecrets: [],
      sealPlainKeys: false,
    });
    expect(c.replay).toEqual({ type: 'memory' });
    expect(c.tokens.accessTokenTtl).toBe(300);
    expect(c.binding.required).toBe('none');
    expect(c.registration.enabled).toBe(false);
    expect(c.login.enabled).toBe(false);
  });

  it('names the bad field of a client: clients[1].token_endpoint_auth_method', () => {
    const issues = issuesOf({
      clients: [
        { client_id: 'a', client_secret: 'x', grant_types: ['client_credentials'] },
        {
          client_id: 'b',
          token_endpoint_auth_method: 'client_secret_jwt',
          grant_types: ['client_credentials'],
        },
      ],
    });
    expect(issues).toContain(
      'clients[1].token_endpoint_auth_method: expected one of client_secret_basic, client_secret_post, private_key_jwt, tls_client_auth, self_signed_tls_client_auth, none, got "client_secret_jwt"',
    );
  });

  it('reports every problem at once, including unknown fields', () => {
    const issues = issuesOf({
      isuer: 'https://typo.example',
      tokens: { access_token_ttl: -5 },
      clients: [{ client_id: 'a', grant_types: ['implicit'] }],
      storage: { type: 'mysql' },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        'isuer: unknown field',
        'tokens.access_token_ttl: expected an integer from 10 to 86400, got number -5',
        expect.stringMatching(/^clients\[0\]\.grant_types\[0\]: expected one of/),
        'clients[0].client_secret: is required for token_endpoint_auth_method client_secret_basic',
        expect.stringMatching(/^storage\.type: expected one of sqlite, postgres/),
      ]),
    );
  });

  it('resolves env: references through the caller’s resolver and says which variable is unset', () => {
    const env: Record<string, string> = { SVC_SECRET: 's3cret-value', DB: 'postgres://u@db/kb' };
    const resolveSecret = (ref: string) => (ref.startsWith('env:') ? env[ref.slice(4)] : undefined);
    const c = parseServerConfig(
      {
        clients: [{ client_id: 'svc', client_secret: 'env:SVC_SECRET', grant_types: ['client_credentials'] }],
        storage: { type: 'postgres', url: 'env:DB' },
      },
      { resolveSecret },
    );
    expect(c.storage).toMatchObject({ type: 'postgres', url: 'postgres://u@db/kb' });
    expect(c.clients[0]!.secretHash).toBeDefined();
    expect(JSON.stringify(c)).not.toContain('s3cret-value');
    expect(
      issuesOf(
        { clients: [{ client_id: 'x', client_secret: 'env:MISSING', grant_types: ['client_credentials'] }] },
        { resolveSecret },
      ),
    ).toContain('clients[0].client_secret: environment variable MISSING is not set');
    expect(issuesOf({ storage: { type: 'postgres', url: 'env:DB' } })[0]).toMatch(/need a resolver/);
  });

  it('refuses duplicate client ids and usernames', () => {
    const issues = issuesOf({
      clients: [
        { client_id: 'a', client_secret: 'x', grant_types: ['client_credentials'] },
        { client_id: 'a', client_secret: 'y', grant_types: ['client_credentials'] },
      ],
      users: [
        { username: 'u', password: 'p' },
        { username: 'u', password: 'q' },
      ],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        'clients[1].client_id: duplicates client_id a',
        'users[1].username: duplicates username u',
      ]),
    );
  });

  it('refuses certificate binding and tls client authentication without an mTLS listener or proxy', () => {
    const issues = issuesOf({
      clients: [
        {
          client_id: 'm',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_subject_dn: 'CN=m',
          grant_types: ['client_credentials'],
        },
      ],
    });
    expect(issues[0]).toMatch(/^clients\[0\]: mutual TLS is not available/);
  });

  it('refuses to start with tls_client_auth clients when no CA is configured to verify them', () => {
    const client = {
      client_id: 'm',
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: 'CN=m',
      grant_types: ['client_credentials'],
    };
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const tls = { key: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n', cert: pem };
    const listeners = { mtls: { port: 0, tls } };
    const forwarded = { format: 'rfc9440', trusted_proxies: ['10.0.0.1'] };
    const noAnchor =
      'clients[0].token_endpoint_auth_method: tls_client_auth needs trust anchors: configure mtls.ca (or listeners.mtls.tls.ca) with the CAs that issue client certificates';
    expect(issuesOf({ listeners, clients: [client] })).toEqual([noAnchor]);
    expect(issuesOf({ mtls: { forwarded }, clients: [client] })).toEqual([noAnchor]);
    expect(issuesOf({ listeners, mtls: { ca: [pem] }, clients: [client] })).toEqual([]);
    expect(
      issuesOf({ listeners: { mtls: { port: 0, tls: { ...tls, ca: [pem] } } }, clients: [client] }),
    ).toEqual([]);
    // the proxy verifies the chain against its own CAs
    expect(
      issuesOf({ mtls: { forwarded: { ...forwarded, verified_by_proxy: true } }, clients: [client] }),
    ).toEqual([]);
    // self-signed certificates need no CA
    expect(
      issuesOf({
        listeners,
        clients: [
          {
            client_id: 's',
            token_endpoint_auth_method: 'self_signed_tls_client_auth',
            jwks_uri: 'https://s.example/jwks',
            grant_types: ['client_credentials'],
          },
        ],
      }),
    ).toEqual([]);
  });

  it('requires https for a configured client’s jwks_uri, also for loopback addresses', () => {
    const client = (jwksUri: string) => ({
      clients: [
        {
          client_id: 'k',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks_uri: jwksUri,
          grant_types: ['client_credentials'],
        },
      ],
    });
    expect(issuesOf(client('http://127.0.0.1:8081/jwks'))).toEqual([
      'clients[0].jwks_uri: must be an https URL',
    ]);
    expect(issuesOf(client('http://localhost/jwks'))).toEqual(['clients[0].jwks_uri: must be an https URL']);
    expect(issuesOf(client('https://k.example/jwks'))).toEqual([]);
  });

  it('checks tls_client_auth subjects and SAN fields', () => {
    const mtls = { forwarded: { format: 'rfc9440', trusted_proxies: ['10.0.0.1'], verified_by_proxy: true } };
    expect(
      issuesOf({
        mtls,
        clients: [
          {
            client_id: 'm',
            token_endpoint_auth_method: 'tls_client_auth',
            tls_client_auth_subject_dn: 'not a dn',
            grant_types: ['client_credentials'],
          },
        ],
      }),
    ).toEqual([
      expect.stringMatching(/^clients\[0\]\.tls_client_auth_subject_dn: is not a distinguished name/),
    ]);
    expect(
      issuesOf({
        mtls,
        clients: [
          {
            client_id: 'm',
            token_endpoint_auth_method: 'tls_client_auth',
            tls_client_auth_san_ip: '999.1.1.1',
            grant_types: ['client_credentials'],
          },
        ],
      }),
    ).toEqual(['clients[0].tls_client_auth_san_ip: is not an IP address']);
    expect(
      issuesOf({
        mtls,
        clients: [
          {
            client_id: 'm',
            token_endpoint_auth_method: 'tls_client_auth',
            grant_types: ['client_credentials'],
          },
        ],
      })[0],
    ).toMatch(/needs tls_client_auth_subject_dn or one tls_client_auth_san_\* field/);
    expect(
      issuesOf({ mtls: { forwarded: { format: 'rfc9440', trusted_proxies: ['10.0.0.0/33', 'nope'] } } }),
    ).toEqual([
      'mtls.forwarded.trusted_proxies[0]: expected an IP address or CIDR, got "10.0.0.0/33"',
      'mtls.forwarded.trusted_proxies[1]: expected an IP address or CIDR, got "nope"',
    ]);
  });

  it('reads signing keys from PEM or JWK, infers alg, and requires exactly one current key', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const jwk = JSON.stringify(privateKey.export({ format: 'jwk' }));
    const c = parseServerConfig({
      signing_keys: [
        { private_key: pem },
        { private_key: jwk, status: 'previous', retired_at: '2026-01-01T00:00:00Z' },
      ],
    });
    expect(c.signingKeys.map((k) => k.alg)).toEqual(['ES384', 'ES384']);
    expect(c.signingKeys[1]!.retiredAt).toBe(Date.parse('2026-01-01T00:00:00Z') / 1000);
    expect(issuesOf({ signing_keys: [{ private_key: pem, alg: 'ES256' }] })).toEqual([
      'signing_keys[0].alg: ES256 does not fit the key (a secp384r1 key signs ES384)',
    ]);
    expect(issuesOf({ signing_keys: [{ private_key: pem }, { private_key: pem }] })).toEqual([
      'signing_keys: exactly one key must be current (not previous), found 2',
    ]);
    expect(issuesOf({ signing_keys: [{ private_key: 'not a key' }] })[0]).toMatch(
      /^signing_keys\[0\]\.private_key: expected a PEM/,
    );
  });

  it('hashes plain passwords and accepts only well-formed scrypt hashes', () => {
    const c = parseServerConfig({
      users: [
        { username: 'alice', password: 'pw' },
        { username: 'bob', password_hash: hashPassword('x'), sub: 'b-1' },
      ],
    });
    expect(c.users[0]!.passwordHash).toMatch(/^scrypt\$/);
    expect(c.users[1]!.sub).toBe('b-1');
    expect(c.login.enabled).toBe(true);
    expect(issuesOf({ users: [{ username: 'c', password_hash: 'md5$abc' }] })[0]).toMatch(
      /^users\[0\]\.password_hash: expected an scrypt hash/,
    );
    expect(issuesOf({ users: [{ username: 'd' }] })).toEqual([
      'users[0].password: password or password_hash is required',
    ]);
  });

  it('refuses a default_resource that is not configured and a scope the server does not offer', () => {
    const issues = issuesOf({
      scopes: ['read'],
      resources: [{ identifier: 'https://api.example' }],
      default_resource: 'https://other.example',
      clients: [
        { client_id: 'a', client_secret: 'x', grant_types: ['client_credentials'], scope: 'read write' },
      ],
    });
    expect(issues).toEqual([
      'default_resource: is not one of the configured resources: https://other.example',
      'clients[0].scope: names scopes the server does not offer: write',
    ]);
  });

  it('refuses non-object input at the root and in sections', () => {
    expect(issuesOf('a string')).toEqual(['(root): expected an object, got "a string"']);
    expect(issuesOf({ clients: {} })).toEqual(['clients: expected a list, got an object']);
    expect(issuesOf({ dpop: [] })).toEqual(['dpop: expected an object, got an array']);
  });

  it('reads a YAML configuration file as the serve command would', () => {
    const text = `
issuer: https://as.example.com
listeners:
  http: { host: 0.0.0.0, port: 9000 }
scopes: [read, write]
resources:
  - identifier: https://api.example.com
clients:
  - client_id: billing
    client_secret: env:BILLING_SECRET
    grant_types: [client_credentials]
    dpop_bound_access_tokens: true
users:
  - username: alice
    password: env:ALICE_PASSWORD
dpop:
  nonce: { required: true, secrets: [env:NONCE_SECRET] }
binding: { required: dpop, exempt_clients: [legacy] }
storage: { type: sqlite, path: ./data/keybound.db }
replay: { type: redis, url: redis://127.0.0.1:6379 }
`;
    const env: Record<string, string> = {
      BILLING_SECRET: 'b'.repeat(32),
      ALICE_PASSWORD: 'pw',
      NONCE_SECRET: 'n'.repeat(32),
    };
    const c = parseServerConfig(parseYaml(text), { resolveSecret: (ref) => env[ref.slice(4)] });
    expect(c.issuer).toBe('https://as.example.com');
    expect(c.listeners.http.port).toBe(9000);
    expect(c.clients[0]!.dpopBound).toBe(true);
    expect(c.dpop.nonce).toMatchObject({ required: true, secrets: ['n'.repeat(32)] });
    expect(c.replay).toEqual({ type: 'redis', url: 'redis://127.0.0.1:6379', prefix: 'keybound:as:' });
  });
});
