import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, json, partOf, tempDir, vectors, withPart } from './helpers.js';

const fig8 = vectors.rfc9449.jwt_access_token_fig8;
const tmp = tempDir();

const NOW = 1_700_000_000;
let token: string;
let otherToken: string;
let jwksFile: string;
let jwksUrl: string;
let server: Server;
let closedUrl: string;

beforeAll(async () => {
  const issuer = await generateKeyPair('ES256');
  const other = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(issuer.publicKey)), kid: 'k1', alg: 'ES256' };
  const sign = (key: CryptoKey) =>
    new SignJWT({ cnf: { jkt: vectors.rfc9449.jkt }, client_id: 'c' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
      .setIssuer('https://as.example')
      .setSubject('alice')
      .setIssuedAt(NOW)
      .setNotBefore(NOW)
      .setExpirationTime(NOW + 300)
      .sign(key);
  token = await sign(issuer.privateKey);
  otherToken = await sign(other.privateKey);
  const jwks = JSON.stringify({ keys: [jwk] });
  jwksFile = tmp.write('jwks.json', jwks);
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  // a port that was just free: nothing listens there
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/jwks`;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  tmp.cleanup();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('keybound inspect: access tokens', () => {
  it('decodes the RFC 9449 figure 8 token, reports its cnf.jkt binding and its lifetime at --now', async () => {
    const r = await cli(['inspect', fig8.token, '--now', String(fig8.claims.nbf + 5)]);
    expect(r.code).toBe(0);
    const out = json(r);
    expect(out).toMatchObject({
      kind: 'access_token',
      valid: true,
      jkt: fig8.claims.cnf.jkt,
      claims: fig8.claims,
      binding: { method: 'dpop', jkt: fig8.claims.cnf.jkt },
      lifetime: {
        status: 'active',
        exp: fig8.claims.exp,
        nbf: fig8.claims.nbf,
        expires_in: fig8.claims.exp - fig8.claims.nbf - 5,
      },
    });
    expect(out.unchecked).toHaveProperty('signature');
    expect(r.stdout).not.toContain(fig8.token);
  });

  it('reports the figure 8 token as expired at its exp (token_expired)', async () => {
    const r = await cli(['inspect', fig8.token, '--now', String(fig8.claims.exp)]);
    expect(r.code).toBe(1);
    expect(json(r)).toMatchObject({
      kind: 'access_token',
      valid: false,
      code: 'token_expired',
      error: 'invalid_token',
    });
  });

  it('reports the figure 8 token as not yet valid before its nbf (token_not_yet_valid)', async () => {
    const r = await cli(['inspect', fig8.token, '--now', String(fig8.claims.nbf - 1)]);
    expect(json(r)).toMatchObject({ valid: false, code: 'token_not_yet_valid' });
  });

  it('reports an RFC 8705 certificate-bound token (cnf.x5t#S256)', async () => {
    const claims = vectors.rfc8705.access_token_claims;
    const jwt = withPart(withPart(fig8.token, 0, { alg: 'ES256' }), 1, claims);
    const out = json(await cli(['inspect', jwt, '--now', String(claims.nbf)]));
    expect(out).toMatchObject({
      valid: true,
      binding: { method: 'mtls', 'x5t#S256': claims.cnf['x5t#S256'] },
    });
    expect(out).not.toHaveProperty('jkt');
  });

  it('reports a token without cnf as a bearer token (binding none)', async () => {
    const jwt = withPart(fig8.token, 1, { sub: 's', exp: NOW + 10 });
    expect(json(await cli(['inspect', jwt, '--now', String(NOW)]))).toMatchObject({
      valid: true,
      binding: { method: 'none' },
    });
  });

  it('lists exp as unchecked for a token that has none', async () => {
    const out = json(await cli(['inspect', withPart(fig8.token, 1, { sub: 's' }), '--now', String(NOW)]));
    expect(out.unchecked).toHaveProperty('exp');
  });

  for (const [what, claims] of [
    ['a cnf that is not an object', { cnf: 'x' }],
    ['a cnf with both jkt and x5t#S256', { cnf: { jkt: 'a', 'x5t#S256': 'b' } }],
    ['an empty cnf.jkt', { cnf: { jkt: '' } }],
    ['an exp that is not a number', { exp: '1700000000' }],
    ['an nbf that is not a number', { nbf: null }],
  ] as const) {
    it(`rejects ${what} (token_invalid)`, async () => {
      const r = await cli(['inspect', withPart(fig8.token, 1, claims), '--now', String(NOW)]);
      expect(r.code).toBe(1);
      expect(json(r)).toMatchObject({ valid: false, code: 'token_invalid' });
    });
  }

  it('rejects an unsigned token (alg none)', async () => {
    const r = await cli(['inspect', withPart(fig8.token, 0, { alg: 'none' }), '--now', String(NOW)]);
    expect(json(r)).toMatchObject({ valid: false, code: 'token_invalid' });
  });

  it("verifies the signature with the issuer's JWKS from a file", async () => {
    const r = await cli(['inspect', token, '--jwks', jwksFile, '--now', String(NOW + 1)]);
    expect(r.code).toBe(0);
    const out = json(r);
    expect(out.checked).toEqual(['signature', 'cnf', 'exp', 'nbf']);
    expect(out.unchecked).not.toHaveProperty('signature');
  });

  it("verifies the signature with the issuer's JWKS fetched from a URL", async () => {
    const r = await cli(['inspect', token, '--jwks', jwksUrl, '--now', String(NOW + 1)]);
    expect(r.code).toBe(0);
    expect(json(r).checked).toContain('signature');
  });

  it('rejects a token signed by a key the JWKS does not hold (token_invalid)', async () => {
    const r = await cli(['inspect', otherToken, '--jwks', jwksFile, '--now', String(NOW + 1)]);
    expect(r.code).toBe(1);
    expect(json(r)).toMatchObject({
      valid: false,
      code: 'token_invalid',
      detail: expect.stringContaining('signature'),
    });
  });

  it('rejects a token whose claims were changed after signing (token_invalid)', async () => {
    const tampered = withPart(token, 1, { ...partOf(token, 1), sub: 'mallory' });
    expect(
      json(await cli(['inspect', tampered, '--jwks', jwksFile, '--now', String(NOW + 1)])),
    ).toMatchObject({
      code: 'token_invalid',
    });
  });

  it('rejects a token whose kid is not in the JWKS (token_invalid)', async () => {
    const noKey = withPart(token, 0, { ...partOf(token, 0), kid: 'unknown' });
    const out = json(await cli(['inspect', noKey, '--jwks', jwksFile, '--now', String(NOW + 1)]));
    expect(out).toMatchObject({
      code: 'token_invalid',
      detail: expect.stringContaining('no key in the JWKS'),
    });
  });

  it('reports an expired token as token_expired when its signature is checked too', async () => {
    const r = await cli(['inspect', token, '--jwks', jwksFile, '--now', String(NOW + 300)]);
    expect(json(r)).toMatchObject({ valid: false, code: 'token_expired' });
  });

  it('reports a JWKS URL that cannot be reached as jwks_unavailable (exit 1)', async () => {
    const r = await cli(['inspect', token, '--jwks', closedUrl, '--now', String(NOW + 1)]);
    expect(r.code).toBe(1);
    expect(json(r)).toMatchObject({
      valid: false,
      code: 'jwks_unavailable',
      error: 'temporarily_unavailable',
    });
  });

  it('uses the output of keys generate as a JWKS file: its public key verifies what its private key signed', async () => {
    const generated = await cli(['keys', 'generate']);
    const file = tmp.write('generated.json', generated.stdout);
    const { privateJwk } = json(generated) as { privateJwk: JWK };
    const signed = await new SignJWT({ sub: 's' })
      .setProtectedHeader({ alg: 'ES256' })
      .setExpirationTime(NOW + 60)
      .sign(await importJWK(privateJwk, 'ES256'));
    expect(json(await cli(['inspect', signed, '--jwks', file, '--now', String(NOW)]))).toMatchObject({
      valid: true,
    });
    expect(json(await cli(['inspect', token, '--jwks', file, '--now', String(NOW + 1)]))).toMatchObject({
      valid: false,
      code: 'token_invalid',
    });
  });

  const secret = 'PRIVATE-d-VALUE';
  for (const [what, content, message] of [
    ['a missing file', undefined, /no such file/],
    ['a file that is not JSON', '{"keys":', /is not JSON/],
    ['JSON that is not a JWKS', '{"issuer":"x"}', /holds no JWKS/],
    ['an empty JWKS', '{"keys":[]}', /holds no keys/],
    ['a JWKS entry that is not a JWK', '{"keys":[42]}', /not a JWK/],
    [
      'a private key',
      JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: secret }),
      /private or secret key material/,
    ],
    ['a secret key', JSON.stringify({ keys: [{ kty: 'oct', k: secret }] }), /private or secret key material/],
  ] as const) {
    it(`refuses a --jwks file holding ${what} (exit 2, content never shown)`, async () => {
      const file =
        content === undefined
          ? `${tmp.dir}/missing.json`
          : tmp.write(`${what.replace(/\W/g, '_')}.json`, content);
      const r = await cli(['inspect', token, '--jwks', file]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain(secret);
    });
  }
});
