// Issuing access tokens (RFC 9068 JWTs, or opaque tokens for resources configured so) and refresh
// tokens. A bound access token carries cnf.jkt (DPoP, RFC 9449 §6) and/or cnf["x5t#S256"]
// (RFC 8705 §3.1); its token_type is DPoP when it is DPoP-bound.
import type { ClientConfig } from '../clients/client.js';
import type { ResourceConfig } from '../config/server-config.js';
import type { Binding } from '../grants/binding.js';
import type { RequestContext } from '../server/request-context.js';
import { randomToken, sha256 } from './hash.js';

export interface AccessTokenInput {
  client: ClientConfig;
  sub: string;
  scope: string;
  resource: ResourceConfig;
  binding: Binding;
  grantId?: string | undefined;
  authTime?: number | undefined;
}

export interface IssuedAccessToken {
  accessToken: string;
  tokenType: 'DPoP' | 'Bearer';
  expiresIn: number;
  jti: string;
}

export function cnfOf(binding: Binding): Record<string, string> | undefined {
  if (binding.jkt === undefined && binding.x5t === undefined) return undefined;
  const cnf: Record<string, string> = {};
  if (binding.jkt !== undefined) cnf.jkt = binding.jkt;
  if (binding.x5t !== undefined) cnf['x5t#S256'] = binding.x5t;
  return cnf;
}

export async function issueAccessToken(
  ctx: RequestContext,
  input: AccessTokenInput,
): Promise<IssuedAccessToken> {
  const { rt } = ctx;
  const now = Math.floor(ctx.now);
  const expiresIn = input.resource.accessTokenTtl ?? rt.config.tokens.accessTokenTtl;
  const jti = randomToken(16);
  const claims: Record<string, unknown> = {
    iss: rt.urls().issuer,
    sub: input.sub,
    aud: input.resource.identifier,
    client_id: input.client.clientId,
    iat: now,
    exp: now + expiresIn,
    jti,
  };
  if (input.scope !== '') claims.scope = input.scope;
  if (input.authTime !== undefined) claims.auth_time = input.authTime;
  const cnf = cnfOf(input.binding);
  if (cnf) claims.cnf = cnf;
  const tokenType = input.binding.jkt !== undefined ? 'DPoP' : 'Bearer';

  let accessToken: string;
  if (input.resource.accessTokenFormat === 'opaque') {
    accessToken = randomToken(32);
    await rt.storage.insertAccessToken({
      jti,
      clientId: input.client.clientId,
      tokenHash: sha256(accessToken),
      claims: { ...claims, token_type: tokenType },
      grantId: input.grantId,
      expiresAt: now + expiresIn,
    });
  } else {
    rt.keys.maybeReload(now);
    accessToken = await rt.signJwt(rt.keys.current(), 'at+jwt', claims);
    // tokens of a grant are recorded so that revoking the grant (refresh reuse, code replay,
    // revocation) makes them inactive at introspection
    if (input.grantId !== undefined) {
      await rt.storage.insertAccessToken({
        jti,
        clientId: input.client.clientId,
        grantId: input.grantId,
        expiresAt: now + expiresIn,
      });
    }
  }
  return { accessToken, tokenType, expiresIn, jti };
}

export interface RefreshTokenInput {
  client: ClientConfig;
  grantId: string;
  grantExpiresAt: number;
  sub: string;
  scope: string;
  resource: string;
  /** Public clients: the key/certificate the refresh token is bound to. */
  binding: Binding;
}

export async function issueRefreshToken(ctx: RequestContext, input: RefreshTokenInput) {
  const now = Math.floor(ctx.now);
  const token = randomToken(32);
  const record = {
    tokenHash: sha256(token),
    grantId: input.grantId,
    clientId: input.client.clientId,
    sub: input.sub,
    scope: input.scope,
    resource: input.resource,
    jkt: input.binding.jkt,
    x5t: input.binding.x5t,
    createdAt: now,
    expiresAt: Math.min(now + ctx.rt.config.tokens.refreshTokenTtl, input.grantExpiresAt),
  };
  return { token, record };
}
