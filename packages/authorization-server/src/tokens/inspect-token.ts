// What a token presented to introspection or revocation is: one of this server's JWT access
// tokens (signature, issuer, type and lifetime checked; revocation and grant state looked up), an
// opaque access token, or a refresh token (looked up by hash).
import { getDefaultCrypto, type JwsAlgorithm } from '@keybound/core';
import type { RequestContext } from '../server/request-context.js';
import type { AccessTokenRecord, RefreshTokenRecord } from '../storage/storage.js';
import { sha256 } from './hash.js';

export type Inspected =
  | {
      kind: 'access';
      claims: Record<string, unknown>;
      record: AccessTokenRecord | undefined;
      active: boolean;
    }
  | { kind: 'refresh'; record: RefreshTokenRecord; active: boolean };

const MAX_TOKEN = 8192;

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies one of our JWT access tokens; undefined when it is not one (whatever the reason). */
async function verifyOurJwt(
  ctx: RequestContext,
  token: string,
): Promise<Record<string, unknown> | undefined> {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const header = decodeJson(parts[0]!);
  if (header?.typ !== 'at+jwt' || typeof header.kid !== 'string' || typeof header.alg !== 'string')
    return undefined;
  const key = await ctx.rt.keys.findOrReload(header.kid, ctx.now);
  if (key === undefined || key.alg !== header.alg) return undefined;
  const ok = await getDefaultCrypto().verify(
    header.alg as JwsAlgorithm,
    key.publicKey,
    Buffer.from(`${parts[0]}.${parts[1]}`),
    Buffer.from(parts[2]!, 'base64url'),
  );
  if (!ok) return undefined;
  const claims = decodeJson(parts[1]!);
  if (
    !claims ||
    claims.iss !== ctx.rt.urls().issuer ||
    typeof claims.jti !== 'string' ||
    typeof claims.exp !== 'number'
  )
    return undefined;
  return claims;
}

async function grantRevoked(ctx: RequestContext, grantId: string | undefined): Promise<boolean> {
  if (grantId === undefined) return false;
  const grant = await ctx.rt.storage.findGrant(grantId);
  return grant === undefined || grant.revokedAt !== undefined;
}

async function inspectAccess(ctx: RequestContext, token: string): Promise<Inspected | undefined> {
  const { storage } = ctx.rt;
  const claims = await verifyOurJwt(ctx, token);
  if (claims !== undefined) {
    const record = await storage.findAccessTokenByJti(claims.jti as string);
    const active =
      (claims.exp as number) > ctx.now &&
      record?.revokedAt === undefined &&
      !(await grantRevoked(ctx, record?.grantId));
    return { kind: 'access', claims, record, active };
  }
  const record = await storage.findAccessTokenByHash(sha256(token));
  if (record?.claims === undefined) return undefined;
  const active =
    record.expiresAt > ctx.now &&
    record.revokedAt === undefined &&
    !(await grantRevoked(ctx, record.grantId));
  return { kind: 'access', claims: record.claims, record, active };
}

async function inspectRefresh(ctx: RequestContext, token: string): Promise<Inspected | undefined> {
  const record = await ctx.rt.storage.findRefreshToken(sha256(token));
  if (record === undefined) return undefined;
  const active =
    record.consumedAt === undefined &&
    record.expiresAt > ctx.now &&
    !(await grantRevoked(ctx, record.grantId));
  return { kind: 'refresh', record, active };
}

export async function inspectToken(
  ctx: RequestContext,
  token: string,
  hint: string | undefined,
): Promise<Inspected | undefined> {
  if (token.length > MAX_TOKEN) return undefined;
  ctx.rt.keys.maybeReload(ctx.now);
  if (hint === 'refresh_token')
    return (await inspectRefresh(ctx, token)) ?? (await inspectAccess(ctx, token));
  return (await inspectAccess(ctx, token)) ?? (await inspectRefresh(ctx, token));
}
