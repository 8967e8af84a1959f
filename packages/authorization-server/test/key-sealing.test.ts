// Managed signing keys sealed at rest (storage.encryption_secrets): AES-256-GCM, the kid as
// associated data, the first secret seals and every secret opens.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  type AuthorizationServer,
  ConfigError,
  createAuthorizationServer,
  parseServerConfig,
} from '../src/index.js';
import { KeySealer, SealingError } from '../src/storage/key-sealing.js';
import { baseConfig, basic, localUrls, SECRET, start } from './helpers.js';

const S1 = 'first-sealing-secret-0123456789abcdef';
const S2 = 'second-sealing-secret-0123456789abcdef';
const JWK = '{"kty":"EC","crv":"P-256","x":"x","y":"y","d":"private-part"}';

describe('KeySealer', () => {
  it('seals a key so that the stored form shows none of it, and opens it again', () => {
    const sealer = new KeySealer([S1]);
    const sealed = sealer.seal(JWK, 'kid-1');
    expect(sealed).toMatch(/^kbseal1\.[\w-]{11}\.[\w-]{16}\.[\w-]+$/);
    expect(sealed).not.toContain('private-part');
    expect(Buffer.from(sealed.split('.')[3]!, 'base64url').toString('latin1')).not.toContain('private');
    expect(sealer.open(sealed, 'kid-1')).toBe(JWK);
    // a fresh IV every time
    expect(sealer.seal(JWK, 'kid-1')).not.toBe(sealed);
  });

  it('does not open a sealed key under another kid (a row swapped in the database)', () => {
    const sealer = new KeySealer([S1]);
    expect(() => sealer.open(sealer.seal(JWK, 'kid-1'), 'kid-2')).toThrow(SealingError);
  });

  it('refuses altered ciphertext, IV or tag', () => {
    const sealer = new KeySealer([S1]);
    const parts = sealer.seal(JWK, 'k').split('.');
    const flip = (text: string, at: number) => {
      const b = Buffer.from(text, 'base64url');
      b[at] = (b[at] ?? 0) ^ 1;
      return b.toString('base64url');
    };
    const body = parts[3]!;
    const bodyLength = Buffer.from(body, 'base64url').length;
    for (const altered of [
      [parts[0], parts[1], flip(parts[2]!, 0), body],
      [parts[0], parts[1], parts[2], flip(body, 0)],
      [parts[0], parts[1], parts[2], flip(body, bodyLength - 1)],
    ]) {
      expect(() => sealer.open(altered.join('.'), 'k')).toThrow(/does not open/);
    }
  });

  it.each([
    ['too few parts', 'kbseal1.abc.def'],
    ['too many parts', 'kbseal1.a.b.c.d'],
    [
      'a short IV',
      `kbseal1.ID.${Buffer.alloc(4).toString('base64url')}.${Buffer.alloc(40).toString('base64url')}`,
    ],
    [
      'a body no longer than the tag',
      `kbseal1.ID.${Buffer.alloc(12).toString('base64url')}.${Buffer.alloc(16).toString('base64url')}`,
    ],
    ['neither JSON nor sealed', 'garbage'],
    ['empty', ''],
  ])('refuses a stored key with %s, with a clear error', (_label, stored) => {
    const sealer = new KeySealer([S1]);
    const id = sealer.seal(JWK, 'k').split('.')[1]!;
    expect(() => sealer.open(stored.replace('ID', id), 'k')).toThrow(SealingError);
  });

  it('opens with any listed secret and seals with the first: rotation', () => {
    const old = new KeySealer([S1]).seal(JWK, 'k');
    const rotated = new KeySealer([S2, S1]);
    expect(rotated.open(old, 'k')).toBe(JWK);
    expect(rotated.needsResealing(old)).toBe(true);
    const resealed = rotated.seal(JWK, 'k');
    expect(rotated.needsResealing(resealed)).toBe(false);
    expect(new KeySealer([S2]).open(resealed, 'k')).toBe(JWK);
    expect(() => new KeySealer([S2]).open(old, 'k')).toThrow(/not in storage.encryption_secrets/);
  });

  it('refuses a plain JWK while sealing is on, unless told to seal plain keys', () => {
    expect(() => new KeySealer([S1]).open(JWK, 'k')).toThrow(SealingError);
    expect(() => new KeySealer([S1]).open(JWK, 'k')).toThrow(/seal_plain_keys/);
    expect(new KeySealer([S1], { sealPlainKeys: true }).open(JWK, 'k')).toBe(JWK);
  });

  it('refuses a sealed key when no secret is configured, and passes plain JWK JSON through', () => {
    const none = new KeySealer([]);
    expect(() => none.open(new KeySealer([S1]).seal(JWK, 'k'), 'k')).toThrow(
      /encryption_secrets is not configured/,
    );
    expect(none.open(JWK, 'k')).toBe(JWK);
    expect(none.seal(JWK, 'k')).toBe(JWK);
    expect(none.needsResealing(JWK)).toBe(false);
    expect(new KeySealer([S1]).needsResealing(JWK)).toBe(true);
  });
});

describe('storage.encryption_secrets in the configuration', () => {
  it('refuses secrets shorter than 32 bytes, naming the field', () => {
    try {
      parseServerConfig(
        baseConfig({ storage: { type: 'sqlite', path: ':memory:', encryption_secrets: [S1, 'short'] } }),
      );
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).issues).toEqual([
        expect.objectContaining({
          path: 'storage.encryption_secrets[1]',
          message: 'must be at least 32 bytes',
        }),
      ]);
    }
  });

  it('reads seal_plain_keys as a boolean, false by default', () => {
    const storage = { type: 'sqlite', path: ':memory:', encryption_secrets: [S1] };
    expect(parseServerConfig(baseConfig({ storage })).storage.sealPlainKeys).toBe(false);
    expect(
      parseServerConfig(baseConfig({ storage: { ...storage, seal_plain_keys: true } })).storage.sealPlainKeys,
    ).toBe(true);
    expect(() => parseServerConfig(baseConfig({ storage: { ...storage, seal_plain_keys: 'yes' } }))).toThrow(
      /storage\.seal_plain_keys/,
    );
  });

  it('resolves env: references without showing the secret in errors', () => {
    const parsed = parseServerConfig(
      baseConfig({ storage: { type: 'sqlite', path: ':memory:', encryption_secrets: ['env:KB_SEAL'] } }),
      { resolveSecret: (ref) => (ref === 'env:KB_SEAL' ? S1 : undefined) },
    );
    expect(parsed.storage.encryptionSecrets).toEqual([S1]);
  });
});

const dir = mkdtempSync(join(tmpdir(), 'kb-sealing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The private_jwk column of every managed key in the SQLite file. */
function storedKeys(path: string): { kid: string; private_jwk: string }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT kid, private_jwk FROM kb_signing_keys ORDER BY created_at, kid').all() as {
      kid: string;
      private_jwk: string;
    }[];
  } finally {
    db.close();
  }
}

function sealedConfig(path: string, secrets: string[] | undefined, extra: Record<string, unknown> = {}) {
  return baseConfig({
    issuer: 'https://as.sealing.example',
    storage: { type: 'sqlite', path, ...(secrets ? { encryption_secrets: secrets } : {}), ...extra },
  });
}

/** Starts, issues one client_credentials token and checks it against the server's own JWKS. */
async function issueAndVerify(
  path: string,
  secrets: string[] | undefined,
  extra: Record<string, unknown> = {},
  onError: (e: unknown) => void = () => {},
): Promise<string> {
  const { server, urls } = await start(sealedConfig(path, secrets, extra), { onError });
  const local = localUrls(urls, server.listening.http!);
  const res = await fetch(local.token, {
    method: 'POST',
    headers: { authorization: basic('svc', SECRET), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  expect(res.status).toBe(200);
  const token = ((await res.json()) as { access_token: string }).access_token;
  const jwks = (await (await fetch(local.jwks)).json()) as Parameters<typeof createLocalJWKSet>[0];
  const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: urls.issuer });
  await server.close();
  return protectedHeader.kid!;
}

describe('managed signing keys sealed at rest (SQLite file, over HTTP)', () => {
  it('stores the generated key sealed and signs with it across a restart', async () => {
    const path = join(dir, 'sealed.db');
    const kid = await issueAndVerify(path, [S1]);
    const [row] = storedKeys(path);
    expect(row?.kid).toBe(kid);
    expect(row?.private_jwk).toMatch(/^kbseal1\./);
    expect(row?.private_jwk).not.toContain('"d"');
    expect(await issueAndVerify(path, [S1])).toBe(kid);
  });

  it('refuses to start when the key does not open: no secret, or the wrong one (fail closed)', async () => {
    const path = join(dir, 'fail-closed.db');
    await issueAndVerify(path, [S1]);
    const before = storedKeys(path);
    for (const secrets of [undefined, [S2]]) {
      const server = (await import('../src/index.js')).createAuthorizationServer(
        parseServerConfig(sealedConfig(path, secrets)),
        { onError: () => {} },
      );
      await expect(server.listen()).rejects.toThrow(/sealed/);
      await server.close();
    }
    // nothing was replaced or added: the right secret still opens the same key
    expect(storedKeys(path)).toEqual(before);
  });

  it('seals a key stored in plain before sealing was configured, in place, keeping its kid', async () => {
    const path = join(dir, 'migrate.db');
    const kid = await issueAndVerify(path, undefined);
    expect(storedKeys(path)[0]?.private_jwk).toMatch(/^\{/);
    const reported: unknown[] = [];
    expect(await issueAndVerify(path, [S1], { seal_plain_keys: true }, (e) => reported.push(e))).toBe(kid);
    expect(storedKeys(path)[0]?.private_jwk).toMatch(/^kbseal1\./);
    expect(reported).toEqual([
      expect.objectContaining({ message: expect.stringContaining(`${kid} was stored unsealed`) }),
    ]);
    // sealed now: the switch can go
    expect(await issueAndVerify(path, [S1])).toBe(kid);
  });

  it('refuses to start on a key stored in plain while sealing is on, without seal_plain_keys', async () => {
    const path = join(dir, 'plain-refused.db');
    await issueAndVerify(path, undefined);
    const before = storedKeys(path);
    const server = createAuthorizationServer(parseServerConfig(sealedConfig(path, [S1])), {
      onError: () => {},
    });
    await expect(server.listen()).rejects.toThrow(SealingError);
    await server.close();
    expect(storedKeys(path)).toEqual(before);
  });

  it('rotates the secret: the new one first seals again what the old one sealed, then the old can go', async () => {
    const path = join(dir, 'rotate.db');
    const kid = await issueAndVerify(path, [S1]);
    const sealedUnderS1 = storedKeys(path)[0]!.private_jwk;
    expect(await issueAndVerify(path, [S2, S1])).toBe(kid);
    expect(storedKeys(path)[0]!.private_jwk).not.toBe(sealedUnderS1);
    expect(await issueAndVerify(path, [S2])).toBe(kid);
  });
});

/** Two instances on one SQLite file, each with its own secret list and a shared fake clock. */
describe('instances whose encryption_secrets differ (a rolling secret rotation done wrong)', () => {
  let t = Date.UTC(2026, 10, 26, 12, 0, 0);
  const clock = () => t;
  const servers: AuthorizationServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  async function instance(path: string, secrets: string[], onError: (e: unknown) => void = () => {}) {
    const server = createAuthorizationServer(parseServerConfig(sealedConfig(path, secrets)), {
      now: clock,
      onError,
    });
    servers.push(server);
    const urls = await server.listen();
    return { server, local: localUrls(urls, server.listening.http!) };
  }

  const form = (url: string, body: Record<string, string>, client = 'svc') =>
    fetch(url, {
      method: 'POST',
      headers: { authorization: basic(client, SECRET), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
  const kidOf = (token: string) =>
    (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

  it('stops issuing tokens (503) and reports the SealingError when another instance reseals under a secret it lacks', async () => {
    const path = join(dir, 'two-instances.db');
    const errorsB: unknown[] = [];
    const a1 = await instance(path, [S1]);
    const b = await instance(path, [S1], (e) => errorsB.push(e));
    const first = await form(b.local.token, { grant_type: 'client_credentials' });
    expect(first.status).toBe(200);
    await a1.server.close();

    // the new secret is put first on A only: A reseals the key under S2, which B does not know
    const a = await instance(path, [S2, S1]);
    expect(storedKeys(path).every((r) => r.private_jwk.startsWith('kbseal1.'))).toBe(true);
    t += 31_000;
    await form(b.local.token, { grant_type: 'client_credentials' });
    await vi.waitFor(() => expect(errorsB.some((e) => e instanceof SealingError)).toBe(true));

    const refused = await form(b.local.token, { grant_type: 'client_credentials' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(((await refused.json()) as { error: string }).error).toBe('temporarily_unavailable');
    // nor does B publish a key set it knows may be stale
    expect((await fetch(b.local.jwks)).status).toBe(503);

    // A rotates: B cannot say whether A's new tokens are valid
    const { kid: rotated } = await a.server.rotateSigningKey();
    const issuedByA = (await (await form(a.local.token, { grant_type: 'client_credentials' })).json()) as {
      access_token: string;
    };
    expect(kidOf(issuedByA.access_token)).toBe(rotated);
    const inspected = await form(b.local.introspection, { token: issuedByA.access_token });
    expect(inspected.status).toBe(503);
    expect(errorsB.every((e) => e instanceof SealingError)).toBe(true);

    // B restarted with the right list works again, with A's current key
    await b.server.close();
    const fixed = await instance(path, [S2, S1]);
    const again = await form(fixed.local.token, { grant_type: 'client_credentials' });
    expect(again.status).toBe(200);
    expect(kidOf(((await again.json()) as { access_token: string }).access_token)).toBe(rotated);
    const active = await form(fixed.local.introspection, { token: issuedByA.access_token });
    expect(((await active.json()) as { active: boolean }).active).toBe(true);
  });

  it('refuses a plain current key planted in the table (no secret needed to write it): 503, never signs with it', async () => {
    const path = join(dir, 'planted.db');
    const errors: unknown[] = [];
    const a = await instance(path, [S1], (e) => errors.push(e));
    const before = await form(a.local.token, { grant_type: 'client_credentials' });
    const kid = kidOf(((await before.json()) as { access_token: string }).access_token);
    const planted = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    await a.server.storage.insertSigningKey({
      kid: 'planted',
      alg: 'ES256',
      privateJwk: JSON.stringify(planted.export({ format: 'jwk' })),
      createdAt: Math.floor(t / 1000) + 1,
    });
    t += 31_000;
    await form(a.local.token, { grant_type: 'client_credentials' });
    await vi.waitFor(() => expect(errors.some((e) => e instanceof SealingError)).toBe(true));
    expect(String(errors.find((e) => e instanceof SealingError))).toMatch(/planted is stored unsealed/);
    const refused = await form(a.local.token, { grant_type: 'client_credentials' });
    expect(refused.status).toBe(503);
    // left as planted (not sealed, so not adopted) for the operator to find
    expect(storedKeys(path).find((r) => r.kid === 'planted')?.private_jwk).toMatch(/^\{/);
    expect(storedKeys(path).find((r) => r.kid === kid)?.private_jwk).toMatch(/^kbseal1\./);
    // a restart refuses it too
    await a.server.close();
    const again = createAuthorizationServer(parseServerConfig(sealedConfig(path, [S1])), {
      onError: () => {},
    });
    servers.push(again);
    await expect(again.listen()).rejects.toThrow(SealingError);
  });

  it('keeps signing with the loaded keys when storage is unreachable, and reports it', async () => {
    const path = join(dir, 'unreachable.db');
    const errors: unknown[] = [];
    const a = await instance(path, [S1], (e) => errors.push(e));
    const failure = new Error('storage unreachable');
    const list = vi.spyOn(a.server.storage, 'listSigningKeys').mockRejectedValue(failure);
    t += 31_000;
    await form(a.local.token, { grant_type: 'client_credentials' });
    await vi.waitFor(() => expect(errors).toContain(failure));
    const res = await form(a.local.token, { grant_type: 'client_credentials' });
    expect(res.status).toBe(200);
    list.mockRestore();
  });
});
