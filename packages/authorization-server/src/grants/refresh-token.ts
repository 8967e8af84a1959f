// grant_type=refresh_token (RFC 6749 §6) with rotation and reuse detection: each refresh token is
// used once; presenting a used one revokes the whole grant (every refresh token of the family and
// the access tokens recorded for it). Rotation is one atomic storage operation, so when two
// instances race with the same token exactly one gets new tokens — and the other's attempt counts
// as reuse. A public client's refresh token is bound to its DPoP key or certificate (RFC 9449 §5,
// RFC 8705 §4) and is checked before anything is consumed.
import { KeyboundError } from '@keybound/core';
import { isPublicClient } from '../clients/client.js';
import { fromProofError, invalidGrant, OAuthError } from '../http/oauth-error.js';
import type { RequestContext } from '../server/request-context.js';
import { sha256 } from '../tokens/hash.js';
import { issueAccessToken, issueRefreshToken } from '../tokens/issue-tokens.js';
import { resolveBinding } from './binding.js';
import { narrowScope, resourceByIdentifier } from './scope-and-resource.js';
import type { TokenResponse } from './token-response.js';

export async function refreshTokenGrant(ctx: RequestContext): Promise<TokenResponse> {
  const { rt } = ctx;
  const client = ctx.client!;
  const params = ctx.params!;
  const token = params.get('refresh_token');
  if (token === undefined) throw new OAuthError('invalid_request', 'refresh_token is required');
  const hash = sha256(token);
  const record = token.length <= 256 ? await rt.storage.findRefreshToken(hash) : undefined;
  if (record === undefined) throw invalidGrant('the refresh token is invalid');
  if (record.clientId !== client.clientId)
    throw invalidGrant('the refresh token was issued to another client');
  const grant = await rt.storage.findGrant(record.grantId);
  if (grant === undefined || grant.revokedAt !== undefined)
    throw invalidGrant('the refresh token was revoked');
  const now = Math.floor(ctx.now);
  if (record.consumedAt !== undefined) {
    await rt.storage.revokeGrant(record.grantId, now);
    throw invalidGrant('the refresh token was already used; the grant is revoked');
  }
  if (record.expiresAt <= ctx.now) throw invalidGrant('the refresh token has expired');
  if (record.jkt !== undefined) {
    if (ctx.proof === undefined) {
      throw fromProofError(
        new KeyboundError('proof_missing', 'the refresh token is bound to a DPoP key: send a DPoP proof'),
        ctx.headers['DPoP-Nonce'],
      );
    }
    if (ctx.proof.jkt !== record.jkt)
      throw invalidGrant('the DPoP proof key is not the one the refresh token is bound to');
  }
  if (record.x5t !== undefined) {
    const cert = await rt.certificates.read(ctx);
    if (cert === undefined || cert.x5t !== record.x5t) {
      throw invalidGrant('the refresh token is bound to another client certificate');
    }
  }
  const scope = narrowScope(record.scope, params.get('scope'));
  const requestedResource = params.get('resource');
  if (requestedResource !== undefined && requestedResource !== record.resource) {
    throw new OAuthError('invalid_target', 'the resource differs from the one of the original grant');
  }
  const binding = await resolveBinding(ctx, client);
  // a public client keeps the binding of its refresh token; a DPoP client rebinds only to the same key
  const next = await issueRefreshToken(ctx, {
    client,
    grantId: record.grantId,
    grantExpiresAt: grant.expiresAt,
    sub: record.sub,
    scope: record.scope,
    resource: record.resource,
    binding: isPublicClient(client) ? { jkt: record.jkt ?? binding.jkt, x5t: record.x5t ?? binding.x5t } : {},
  });
  if ((await rt.storage.rotateRefreshToken(hash, next.record, now)) === 'reused') {
    await rt.storage.revokeGrant(record.grantId, now);
    throw invalidGrant('the refresh token was already used; the grant is revoked');
  }
  const at = await issueAccessToken(ctx, {
    client,
    sub: record.sub,
    scope,
    resource: resourceByIdentifier(rt, record.resource),
    binding,
    grantId: record.grantId,
  });
  const response: TokenResponse = {
    access_token: at.accessToken,
    token_type: at.tokenType,
    expires_in: at.expiresIn,
    refresh_token: next.token,
  };
  if (scope !== '') response.scope = scope;
  return response;
}
