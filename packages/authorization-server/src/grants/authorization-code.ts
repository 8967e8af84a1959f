// grant_type=authorization_code (RFC 6749 §4.1.3) with PKCE S256 (RFC 7636) and dpop_jkt
// (RFC 9449 §10). Every check runs before the code is consumed, so a request that fails (a wrong
// verifier, a proof for another key, a nonce retry) leaves the code usable by its rightful
// client; a code presented again after it was used revokes what it issued (RFC 6749 §4.1.2).
import { createHash } from 'node:crypto';
import { KeyboundError } from '@keybound/core';
import { isPublicClient } from '../clients/client.js';
import { fromProofError, invalidGrant, OAuthError } from '../http/oauth-error.js';
import type { RequestContext } from '../server/request-context.js';
import { constantTimeEqual, sha256 } from '../tokens/hash.js';
import { issueAccessToken, issueRefreshToken } from '../tokens/issue-tokens.js';
import { resolveBinding } from './binding.js';
import { resourceByIdentifier } from './scope-and-resource.js';
import type { TokenResponse } from './token-response.js';

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export async function authorizationCodeGrant(ctx: RequestContext): Promise<TokenResponse> {
  const { rt } = ctx;
  const client = ctx.client!;
  const params = ctx.params!;
  const code = params.get('code');
  const verifier = params.get('code_verifier');
  const redirectUri = params.get('redirect_uri');
  if (code === undefined) throw new OAuthError('invalid_request', 'code is required');
  if (verifier === undefined)
    throw new OAuthError('invalid_request', 'code_verifier is required (PKCE, RFC 7636)');
  if (!VERIFIER.test(verifier)) {
    throw new OAuthError('invalid_request', 'code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]');
  }
  const codeHash = sha256(code);
  const record = code.length <= 256 ? await rt.storage.findCode(codeHash) : undefined;
  if (record === undefined) throw invalidGrant('the authorization code is invalid');
  if (record.consumedAt !== undefined) {
    await rt.storage.revokeGrant(record.grantId, Math.floor(ctx.now));
    throw invalidGrant('the authorization code was already used; the tokens issued with it are revoked');
  }
  if (record.clientId !== client.clientId)
    throw invalidGrant('the authorization code was issued to another client');
  if (record.expiresAt <= ctx.now) throw invalidGrant('the authorization code has expired');
  if (
    record.redirectUri !== undefined
      ? redirectUri !== record.redirectUri
      : redirectUri !== undefined && !client.redirectUris.includes(redirectUri)
  ) {
    throw invalidGrant('redirect_uri does not match the authorization request');
  }
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  if (!constantTimeEqual(challenge, record.codeChallenge))
    throw invalidGrant('code_verifier does not match the code_challenge');
  if (record.dpopJkt !== undefined) {
    if (ctx.proof === undefined) {
      throw fromProofError(
        new KeyboundError(
          'proof_missing',
          'the authorization code is bound to a DPoP key (dpop_jkt): send a DPoP proof',
        ),
        ctx.headers['DPoP-Nonce'],
      );
    }
    if (ctx.proof.jkt !== record.dpopJkt)
      throw invalidGrant('the DPoP proof key is not the one the authorization code is bound to (dpop_jkt)');
  }
  const binding = await resolveBinding(ctx, client);

  const now = Math.floor(ctx.now);
  if (!(await rt.storage.consumeCode(codeHash, now))) {
    await rt.storage.revokeGrant(record.grantId, now);
    throw invalidGrant('the authorization code was already used; the tokens issued with it are revoked');
  }
  const grant = await rt.storage.findGrant(record.grantId);
  if (grant === undefined || grant.revokedAt !== undefined) throw invalidGrant('the grant was revoked');

  const resource = resourceByIdentifier(rt, record.resource);
  const at = await issueAccessToken(ctx, {
    client,
    sub: record.sub,
    scope: record.scope,
    resource,
    binding,
    grantId: record.grantId,
    authTime: record.authTime,
  });
  const response: TokenResponse = {
    access_token: at.accessToken,
    token_type: at.tokenType,
    expires_in: at.expiresIn,
  };
  if (record.scope !== '') response.scope = record.scope;
  if (client.grantTypes.includes('refresh_token')) {
    const rt2 = await issueRefreshToken(ctx, {
      client,
      grantId: record.grantId,
      grantExpiresAt: grant.expiresAt,
      sub: record.sub,
      scope: record.scope,
      resource: record.resource,
      // RFC 9449 §5 / RFC 8705 §4: only public clients' refresh tokens are bound
      binding: isPublicClient(client) ? binding : {},
    });
    await rt.storage.insertRefreshToken(rt2.record);
    response.refresh_token = rt2.token;
  }
  return response;
}
