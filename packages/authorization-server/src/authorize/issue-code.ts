// The successful authorization response: a grant for the user and client, an authorization code
// (stored hashed, short-lived, bound to the PKCE challenge and to dpop_jkt) and the redirect.
import type { Runtime } from '../server/runtime.js';
import { randomToken, sha256 } from '../tokens/hash.js';
import type { AuthorizationRequest } from './authorization-request.js';

export async function issueCode(
  rt: Runtime,
  request: AuthorizationRequest,
  user: { sub: string; authTime?: number | undefined },
  now: number,
): Promise<string> {
  const t = Math.floor(now);
  const grantId = randomToken(16);
  await rt.storage.insertGrant({
    id: grantId,
    clientId: request.clientId,
    sub: user.sub,
    createdAt: t,
    expiresAt: t + rt.config.tokens.refreshTokenAbsoluteTtl,
  });
  const code = randomToken(32);
  await rt.storage.insertCode({
    codeHash: sha256(code),
    grantId,
    clientId: request.clientId,
    sub: user.sub,
    redirectUri: request.redirectUriGiven ? request.redirectUri : undefined,
    scope: request.scope,
    resource: request.resource,
    codeChallenge: request.codeChallenge,
    dpopJkt: request.dpopJkt,
    authTime: user.authTime ?? t,
    expiresAt: t + rt.config.tokens.authorizationCodeTtl,
  });
  const url = new URL(request.redirectUri);
  url.searchParams.append('code', code);
  if (request.state !== undefined) url.searchParams.append('state', request.state);
  url.searchParams.append('iss', rt.urls().issuer);
  return url.toString();
}
