// Access tokens through protect(): JWTs against a real JWKS endpoint (rotation, cool-down, outage),
// opaque tokens against a real RFC 7662 endpoint (client authentication, caching, failures).
import {
  createResourceServer,
  type Decision,
  type Policy,
  type ResourceServer,
} from '@keybound/resource-server';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestIssuer } from './support/issuer.js';

const RESOURCE = 'https://api.example.com';
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await TestIssuer.start();
});
afterAll(() => issuer.close());
beforeEach(() => {
  issuer.mode = 'ok';
});

function server(overrides: Partial<Policy['issuers'][number]> = {}, now?: () => number): ResourceServer {
  return createResourceServer({
    policy: {
      resource: RESOURCE,
      publicOrigins: [RESOURCE],
      issuers: [
        {
          issuer: issuer.issuer,
          jwksUri: issuer.jwksUri,
          introspection: {
            endpoint: issuer.introspectionEndpoint,
            clientId: issuer.clientId,
            clientSecret: issuer.clientSecret,
          },
          timeoutMs: 1000,
          ...overrides,
        },
      ],
      defaults: { require: 'none' },
    },
    ...(now === undefined ? {} : { now }),
  });
}

const bearer = (rs: ResourceServer, token: string): Promise<Decision> =>
  rs.protect({
    method: 'GET',
    target: '/x',
    headers: ['Host', 'api.example.com', 'Authorization', `Bearer ${token}`],
  });

const codeOf = (d: Decision) => (d.allow ? 'allow' : d.code);
const mint = (claims: Record<string, unknown> = {}, options?: Parameters<TestIssuer['mint']>[1]) =>
  issuer.mint({ aud: RESOURCE, client_id: 'app', ...claims }, options);

describe('JWT access tokens', () => {
  it('accepts a token signed by a key added in a rotation, refetching the JWKS for the unknown kid', async () => {
    const rs = server({ jwksCooldownSeconds: 0 });
    expect(codeOf(await bearer(rs, await mint()))).toBe('allow');
    const fetches = issuer.hits.jwks;
    await issuer.rotate();
    expect(codeOf(await bearer(rs, await mint()))).toBe('allow');
    expect(issuer.hits.jwks).toBe(fetches + 1);
  });

  it('does not refetch the JWKS for unknown kids during the cool-down', async () => {
    const rs = server({ jwksCooldownSeconds: 60 });
    expect(codeOf(await bearer(rs, await mint()))).toBe('allow');
    const fetches = issuer.hits.jwks;
    const d = await bearer(rs, await mint({}, { kid: 'no-such-kid' }));
    expect(codeOf(d)).toBe('token_invalid');
    expect(issuer.hits.jwks).toBe(fetches);
  });

  it('refuses a token whose key was rotated out once the JWKS is refreshed', async () => {
    const old = issuer.keys[0]!;
    await issuer.rotate('ES256', 0);
    const rs = server({ jwksMaxAgeSeconds: 0 });
    expect(codeOf(await bearer(rs, await mint({}, { key: old })))).toBe('token_invalid');
    expect(codeOf(await bearer(rs, await mint()))).toBe('allow');
  });

  it('refuses with jwks_unavailable (never allows) when the JWKS answers 500, hangs up or sends garbage', async () => {
    for (const mode of ['error', 'hangup', 'garbage'] as const) {
      issuer.mode = mode;
      const d = await bearer(server(), await mint());
      expect(d.allow).toBe(false);
      if (!d.allow) {
        expect(d.code).toBe('jwks_unavailable');
        expect(d.status).toBe(503);
        expect(d.headers['Retry-After']).toBe('5');
      }
    }
  });

  it('recovers after an outage: the failure is not cached', async () => {
    const rs = server({ jwksCooldownSeconds: 0 });
    issuer.mode = 'error';
    expect(codeOf(await bearer(rs, await mint()))).toBe('jwks_unavailable');
    issuer.mode = 'ok';
    expect(codeOf(await bearer(rs, await mint()))).toBe('allow');
  });

  it('verifies a repeated token once and refuses it from the cache after it expires', async () => {
    let now = Math.floor(Date.now() / 1000);
    const rs = server({}, () => now);
    const token = await mint({ exp: now + 30 });
    expect(codeOf(await bearer(rs, token))).toBe('allow');
    issuer.mode = 'error'; // a second verification would fail: the cache answers
    expect(codeOf(await bearer(rs, token))).toBe('allow');
    now += 40;
    expect(codeOf(await bearer(rs, token))).toBe('token_expired');
  });

  it.each([
    ['a DPoP proof presented as an access token (typ dpop+jwt)', { typ: 'dpop+jwt' }, {}, 'token_invalid'],
    ['a token without exp', {}, { exp: undefined }, 'token_invalid'],
    ['a token for another audience', {}, { aud: 'https://other.example' }, 'audience_mismatch'],
    ['a token before its nbf', {}, { nbf: Math.floor(Date.now() / 1000) + 600 }, 'token_not_yet_valid'],
  ] as const)('refuses %s', async (_label, header, claims, code) => {
    const t = await mint(claims, header);
    expect(codeOf(await bearer(server(), t))).toBe(code);
  });

  it('refuses a token signed with an algorithm the issuer entry does not accept', async () => {
    const rs = server({ algorithms: ['RS256'] });
    expect(codeOf(await bearer(rs, await mint()))).toBe('token_invalid');
  });

  it('refuses an unsigned token (alg none)', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const t = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ iss: issuer.issuer, aud: RESOURCE, exp: now + 60 })}.`;
    expect(codeOf(await bearer(server(), t))).toBe('token_invalid');
  });

  it('refuses an HS256 token whose secret is the public JWKS (algorithm confusion)', async () => {
    const jwk = JSON.stringify(issuer.keys[0]!.publicJwk);
    const t = await new SignJWT({
      iss: issuer.issuer,
      aud: RESOURCE,
      exp: Math.floor(Date.now() / 1000) + 60,
    })
      .setProtectedHeader({ alg: 'HS256', kid: issuer.keys[0]!.kid })
      .sign(new TextEncoder().encode(jwk));
    expect(codeOf(await bearer(server(), t))).toBe('token_invalid');
  });

  it('refuses a token from an issuer that is configured but signs with a key of another issuer', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const t = await mint({}, { key: { ...issuer.keys[0]!, privateKey } });
    expect(codeOf(await bearer(server(), t))).toBe('token_invalid');
  });
});

describe('opaque tokens through RFC 7662 introspection', () => {
  const opaque = () => `op-${crypto.randomUUID()}`;

  it('authenticates with client_secret_basic, form-encoding the id and secret (RFC 6749 §2.3.1)', async () => {
    const t = opaque();
    issuer.introspection.set(t, { active: true, aud: RESOURCE, exp: Math.floor(Date.now() / 1000) + 60 });
    expect(codeOf(await bearer(server(), t))).toBe('allow');
    const decoded = Buffer.from(
      issuer.lastIntrospectionAuthorization!.slice('Basic '.length),
      'base64',
    ).toString();
    expect(decoded).toBe(`rs-client:${encodeURIComponent(issuer.clientSecret).replace(/%20/g, '+')}`);
  });

  it('reads scopes, client_id and cnf from the response', async () => {
    const t = opaque();
    issuer.introspection.set(t, {
      active: true,
      aud: RESOURCE,
      exp: Math.floor(Date.now() / 1000) + 60,
      scope: 'a b',
      client_id: 'cid',
      cnf: { 'x5t#S256': 'abc' },
    });
    const d = await bearer(server(), t);
    expect(codeOf(d)).toBe('certificate_missing');
  });

  it('asks once for concurrent first uses of the same token and caches until exp', async () => {
    const t = opaque();
    issuer.introspection.set(t, {
      active: true,
      aud: RESOURCE,
      exp: Math.floor(Date.now() / 1000) + 60,
      scope: 'a',
    });
    const rs = server();
    const before = issuer.hits.introspection;
    const decisions = await Promise.all(Array.from({ length: 10 }, () => bearer(rs, t)));
    expect(decisions.map(codeOf)).toEqual(Array(10).fill('allow'));
    expect(await bearer(rs, t)).toMatchObject({ allow: true, scopes: ['a'] });
    expect(issuer.hits.introspection).toBe(before + 1);
  });

  it('does not cache past introspection.cacheMaxSeconds', async () => {
    let now = Math.floor(Date.now() / 1000);
    const t = opaque();
    issuer.introspection.set(t, { active: true, aud: [RESOURCE], exp: now + 3600 });
    const rs = createResourceServer({
      policy: {
        resource: RESOURCE,
        publicOrigins: [RESOURCE],
        issuers: [
          {
            issuer: issuer.issuer,
            introspection: {
              endpoint: issuer.introspectionEndpoint,
              clientId: issuer.clientId,
              cacheMaxSeconds: 10,
            },
          },
        ],
        defaults: { require: 'none' },
      },
      introspectionSecret: () => issuer.clientSecret,
      now: () => now,
    });
    const before = issuer.hits.introspection;
    await bearer(rs, t);
    await bearer(rs, t);
    now += 11;
    issuer.introspection.set(t, { active: false });
    expect(codeOf(await bearer(rs, t))).toBe('token_inactive');
    expect(issuer.hits.introspection).toBe(before + 2);
  });

  it.each([
    ['inactive', { active: false }, 'token_inactive'],
    ['active as a string', { active: 'true' }, 'token_inactive'],
    ['expired', { active: true, aud: RESOURCE, exp: 1000 }, 'token_expired'],
    ['from another issuer', { active: true, iss: 'https://other.example' }, 'issuer_unknown'],
    ['for another audience', { active: true, aud: ['https://other.example'] }, 'audience_mismatch'],
    ['without aud (requireAudience is on by default)', { active: true }, 'audience_mismatch'],
    ['with an aud that is not a string', { active: true, aud: [42] }, 'audience_mismatch'],
    ['with cnf that is not an object', { active: true, aud: RESOURCE, cnf: 'jkt' }, 'token_invalid'],
    ['with an empty cnf.jkt', { active: true, aud: RESOURCE, cnf: { jkt: '' } }, 'token_invalid'],
  ])('refuses a token introspected as %s', async (_label, response, code) => {
    const t = opaque();
    issuer.introspection.set(t, response);
    expect(codeOf(await bearer(server(), t))).toBe(code);
  });

  it('accepts a response without aud only when the issuer is configured with requireAudience: false', async () => {
    const t = opaque();
    issuer.introspection.set(t, { active: true, exp: Math.floor(Date.now() / 1000) + 60 });
    const rs = server({
      introspection: {
        endpoint: issuer.introspectionEndpoint,
        clientId: issuer.clientId,
        clientSecret: issuer.clientSecret,
        requireAudience: false,
      },
    });
    expect(codeOf(await bearer(rs, t))).toBe('allow');
    // an aud that names another resource is still refused
    const other = opaque();
    issuer.introspection.set(other, { active: true, aud: 'https://other.example' });
    expect(codeOf(await bearer(rs, other))).toBe('audience_mismatch');
  });

  it('refuses with introspection_unavailable when the endpoint fails, hangs up, sends garbage or refuses our credentials', async () => {
    const t = opaque();
    issuer.introspection.set(t, { active: true, aud: RESOURCE });
    for (const mode of ['error', 'hangup', 'garbage'] as const) {
      issuer.mode = mode;
      const d = await bearer(server(), t);
      expect(d).toMatchObject({ allow: false, code: 'introspection_unavailable', status: 503 });
    }
    issuer.mode = 'ok';
    const wrongSecret = createResourceServer({
      policy: {
        resource: RESOURCE,
        publicOrigins: [RESOURCE],
        issuers: [
          {
            issuer: issuer.issuer,
            introspection: {
              endpoint: issuer.introspectionEndpoint,
              clientId: issuer.clientId,
              clientSecret: 'wrong',
            },
          },
        ],
        defaults: { require: 'none' },
      },
    });
    const d = await bearer(wrongSecret, t);
    expect(d).toMatchObject({ allow: false, code: 'introspection_unavailable' });
    if (!d.allow) expect(d.body.error_description).not.toContain('wrong');
  });
});
