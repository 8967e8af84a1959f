// The one test suite every Storage implementation passes (SQLite and PostgreSQL, real databases).
import { expect, it } from 'vitest';
import type { RefreshTokenRecord, Storage } from '../../src/storage/storage.js';

let seq = 0;
const id = (p: string) => `${p}-${++seq}-${Math.random().toString(36).slice(2)}`;

function refresh(grantId: string, over: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    tokenHash: id('rt'),
    grantId,
    clientId: 'c1',
    sub: 'alice',
    scope: 'read',
    resource: 'https://api.example',
    jkt: 'jkt-1',
    createdAt: 1000,
    expiresAt: 5000,
    ...over,
  };
}

/** Registers the contract tests; `open` returns a fresh, migrated storage on its own database. */
export function storageContract(open: () => Promise<Storage>, openSecond: () => Promise<Storage>): void {
  it('applies migrations idempotently', async () => {
    const s = await open();
    await s.migrate();
    await s.migrate();
  });

  it('stores and finds a registered client with its secret hash', async () => {
    const s = await open();
    await s.insertClient({
      clientId: 'reg-1',
      metadata: { redirect_uris: ['https://a/cb'] },
      secretHash: 'h',
      createdAt: 5,
    });
    expect(await s.findClient('reg-1')).toEqual({
      clientId: 'reg-1',
      metadata: { redirect_uris: ['https://a/cb'] },
      secretHash: 'h',
      createdAt: 5,
    });
    expect(await s.findClient('nobody')).toBeUndefined();
  });

  it('refuses a second client with the same id', async () => {
    const s = await open();
    await s.insertClient({ clientId: 'dup', metadata: {}, createdAt: 1 });
    await expect(s.insertClient({ clientId: 'dup', metadata: {}, createdAt: 1 })).rejects.toThrow();
  });

  it('consumes a code exactly once', async () => {
    const s = await open();
    const codeHash = id('code');
    await s.insertCode({
      codeHash,
      grantId: 'g',
      clientId: 'c1',
      sub: 'alice',
      scope: 'read',
      resource: 'https://api.example',
      codeChallenge: 'x'.repeat(43),
      dpopJkt: 'jkt',
      authTime: 10,
      expiresAt: 100,
    });
    const found = await s.findCode(codeHash);
    expect(found?.dpopJkt).toBe('jkt');
    expect(found?.redirectUri).toBeUndefined();
    expect(found?.consumedAt).toBeUndefined();
    const results = await Promise.all([s.consumeCode(codeHash, 20), s.consumeCode(codeHash, 21)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await s.findCode(codeHash))?.consumedAt).toBeTypeOf('number');
  });

  it('rotates a refresh token once and reports every other attempt as reuse', async () => {
    const s = await open();
    const first = refresh('g1');
    await s.insertRefreshToken(first);
    const attempts = await Promise.all(
      Array.from({ length: 5 }, () => s.rotateRefreshToken(first.tokenHash, refresh('g1'), 2000)),
    );
    expect(attempts.filter((a) => a === 'rotated')).toHaveLength(1);
    expect(attempts.filter((a) => a === 'reused')).toHaveLength(4);
    expect((await s.findRefreshToken(first.tokenHash))?.consumedAt).toBe(2000);
  });

  it('decides a refresh race between two instances on the same database: exactly one wins', async () => {
    const a = await open();
    const b = await openSecond();
    const first = refresh('g2');
    await a.insertRefreshToken(first);
    const nextA = refresh('g2');
    const nextB = refresh('g2');
    const [ra, rb] = await Promise.all([
      a.rotateRefreshToken(first.tokenHash, nextA, 3000),
      b.rotateRefreshToken(first.tokenHash, nextB, 3000),
    ]);
    expect([ra, rb].sort()).toEqual(['reused', 'rotated']);
    const stored = [await a.findRefreshToken(nextA.tokenHash), await a.findRefreshToken(nextB.tokenHash)];
    expect(stored.filter(Boolean)).toHaveLength(1);
  });

  it('revokes a grant once and keeps the first revocation time', async () => {
    const s = await open();
    const gid = id('grant');
    await s.insertGrant({ id: gid, clientId: 'c1', sub: 'alice', createdAt: 1, expiresAt: 99 });
    expect((await s.findGrant(gid))?.revokedAt).toBeUndefined();
    await s.revokeGrant(gid, 50);
    await s.revokeGrant(gid, 60);
    expect((await s.findGrant(gid))?.revokedAt).toBe(50);
  });

  it('records opaque access tokens by hash and revocations by jti', async () => {
    const s = await open();
    const jti = id('jti');
    await s.insertAccessToken({
      jti,
      clientId: 'c1',
      tokenHash: `h-${jti}`,
      claims: { scope: 'a b' },
      expiresAt: 500,
    });
    expect((await s.findAccessTokenByHash(`h-${jti}`))?.claims).toEqual({ scope: 'a b' });
    await s.revokeAccessToken({ jti, clientId: 'c1', expiresAt: 500 }, 70);
    expect((await s.findAccessTokenByJti(jti))?.revokedAt).toBe(70);
    // a JWT that was never recorded gets a revocation record
    const other = id('jti');
    await s.revokeAccessToken({ jti: other, clientId: 'c1', expiresAt: 500 }, 71);
    expect(await s.findAccessTokenByJti(other)).toMatchObject({
      jti: other,
      revokedAt: 71,
      tokenHash: undefined,
    });
  });

  it('hands out a pushed request once', async () => {
    const s = await open();
    const h = id('par');
    await s.insertPushedRequest({
      requestUriHash: h,
      clientId: 'c1',
      request: { scope: 'read' },
      expiresAt: 10,
    });
    const [x, y] = await Promise.all([
      s.takePushedRequestForClient(h, 'c1'),
      s.takePushedRequestForClient(h, 'c1'),
    ]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
    expect((x ?? y)?.request).toEqual({ scope: 'read' });
  });

  it('hands a pushed request only to the client that pushed it, leaving it for that client', async () => {
    const s = await open();
    const h = id('par');
    await s.insertPushedRequest({
      requestUriHash: h,
      clientId: 'c1',
      request: { scope: 'read' },
      expiresAt: 10,
    });
    expect(await s.takePushedRequestForClient(h, 'c2')).toBeUndefined();
    expect((await s.takePushedRequestForClient(h, 'c1'))?.clientId).toBe('c1');
    expect(await s.takePushedRequestForClient(h, 'c1')).toBeUndefined();
  });

  it('counts login attempts and finishes an interaction once', async () => {
    const s = await open();
    const h = id('ix');
    await s.insertInteraction({
      idHash: h,
      browserHash: 'b',
      csrfToken: 'c',
      clientId: 'c1',
      request: { a: 1 },
      attempts: 0,
      expiresAt: 10,
    });
    expect(await s.countLoginAttempt(h)).toBe(1);
    expect(await s.countLoginAttempt(h)).toBe(2);
    expect((await s.findInteraction(h))?.attempts).toBe(2);
    expect(await s.finishInteraction(h)).toBe(true);
    expect(await s.finishInteraction(h)).toBe(false);
    expect(await s.countLoginAttempt(h)).toBe(0);
  });

  it('spends initial access tokens within their uses and lifetime', async () => {
    const s = await open();
    const limited = id('iat');
    const unlimited = id('iat');
    const expired = id('iat');
    await s.insertInitialAccessToken({ tokenHash: limited, usesRemaining: 2, createdAt: 1 });
    await s.insertInitialAccessToken({ tokenHash: unlimited, createdAt: 1 });
    await s.insertInitialAccessToken({ tokenHash: expired, expiresAt: 50, createdAt: 1 });
    expect(await s.useInitialAccessToken(limited, 10)).toBe(true);
    expect(await s.useInitialAccessToken(limited, 10)).toBe(true);
    expect(await s.useInitialAccessToken(limited, 10)).toBe(false);
    for (let i = 0; i < 3; i++) expect(await s.useInitialAccessToken(unlimited, 10)).toBe(true);
    expect(await s.useInitialAccessToken(expired, 49)).toBe(true);
    expect(await s.useInitialAccessToken(expired, 50)).toBe(false);
    expect(await s.useInitialAccessToken('unknown', 1)).toBe(false);
  });

  it('tells whether an initial access token is live without spending it', async () => {
    const s = await open();
    const once = id('iat');
    const expired = id('iat');
    await s.insertInitialAccessToken({ tokenHash: once, usesRemaining: 1, createdAt: 1 });
    await s.insertInitialAccessToken({ tokenHash: expired, expiresAt: 50, createdAt: 1 });
    expect(await s.initialAccessTokenIsLive(once, 10)).toBe(true);
    expect(await s.initialAccessTokenIsLive(once, 10)).toBe(true);
    expect(await s.useInitialAccessToken(once, 10)).toBe(true);
    expect(await s.initialAccessTokenIsLive(once, 10)).toBe(false);
    expect(await s.initialAccessTokenIsLive(expired, 49)).toBe(true);
    expect(await s.initialAccessTokenIsLive(expired, 50)).toBe(false);
    expect(await s.initialAccessTokenIsLive('unknown', 1)).toBe(false);
  });

  it('keeps signing keys and retires all but the current one', async () => {
    const s = await open();
    await s.insertSigningKey({ kid: 'k1', alg: 'ES256', privateJwk: '{"a":1}', createdAt: 1 });
    await s.insertSigningKey({ kid: 'k1', alg: 'ES256', privateJwk: '{"other":1}', createdAt: 1 });
    await s.insertSigningKey({ kid: 'k2', alg: 'ES256', privateJwk: '{"b":2}', createdAt: 2 });
    await s.retireSigningKeys('k2', 30);
    const keys = await s.listSigningKeys();
    expect(keys.map((k) => [k.kid, k.privateJwk, k.retiredAt])).toEqual([
      ['k1', '{"a":1}', 30],
      ['k2', '{"b":2}', undefined],
    ]);
    await s.deleteSigningKey('k1');
    expect((await s.listSigningKeys()).map((k) => k.kid)).toEqual(['k2']);
  });

  it('inserts a first signing key for exactly one of several instances starting together', async () => {
    const s1 = await open();
    const s2 = await openSecond();
    const mine = (kid: string) => ({ kid, alg: 'ES256', privateJwk: '{}', createdAt: 1 });
    // a database of its own state: clear current keys left by other tests of this file
    for (const k of await s1.listSigningKeys())
      if (k.retiredAt === undefined) await s1.deleteSigningKey(k.kid);
    const results = await Promise.all([
      s1.insertFirstSigningKey(mine('first-a')),
      s2.insertFirstSigningKey(mine('first-b')),
      s1.insertFirstSigningKey(mine('first-c')),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const live = (await s2.listSigningKeys()).filter((k) => k.retiredAt === undefined);
    expect(live).toHaveLength(1);
    expect(await s1.insertFirstSigningKey(mine('first-d'))).toBe(false);
  });

  it('replaces the stored material of one signing key only, and says when the key is absent', async () => {
    const s = await open();
    await s.insertSigningKey({ kid: 'm1', alg: 'ES256', privateJwk: '{"a":1}', createdAt: 1 });
    await s.insertSigningKey({ kid: 'm2', alg: 'ES256', privateJwk: '{"b":2}', createdAt: 2, retiredAt: 5 });
    expect(await s.updateSigningKeyMaterial('m1', 'kbseal1.x.y.z')).toBe(true);
    expect(await s.updateSigningKeyMaterial('absent', 'kbseal1.x.y.z')).toBe(false);
    const mine = (await s.listSigningKeys()).filter((k) => k.kid === 'm1' || k.kid === 'm2');
    expect(mine.map((k) => [k.kid, k.privateJwk, k.createdAt, k.retiredAt])).toEqual([
      ['m1', 'kbseal1.x.y.z', 1, undefined],
      ['m2', '{"b":2}', 2, 5],
    ]);
  });

  it('deletes what expired and keeps the rest', async () => {
    const s = await open();
    const live = refresh('g3', { expiresAt: 10_000 });
    const dead = refresh('g3', { expiresAt: 10 });
    await s.insertRefreshToken(live);
    await s.insertRefreshToken(dead);
    expect(await s.deleteExpired(100)).toBeGreaterThanOrEqual(1);
    expect(await s.findRefreshToken(dead.tokenHash)).toBeUndefined();
    expect(await s.findRefreshToken(live.tokenHash)).toBeDefined();
  });

  it('treats hostile strings as data, not SQL', async () => {
    const s = await open();
    const evil = "x'); DROP TABLE kb_clients; --";
    const before = id('client');
    await s.insertClient({ clientId: before, metadata: {}, createdAt: 1 });
    await s.insertClient({ clientId: evil, metadata: { note: evil }, createdAt: 1 });
    expect((await s.findClient(evil))?.metadata).toEqual({ note: evil });
    expect(await s.findClient(before)).toBeDefined();
    expect(await s.findClient("' OR '1'='1")).toBeUndefined();
  });
}
