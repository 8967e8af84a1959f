// grant_type=client_credentials (RFC 6749 §4.4): a token for the client itself; no refresh token.
import type { RequestContext } from '../server/request-context.js';
import { issueAccessToken } from '../tokens/issue-tokens.js';
import { resolveBinding } from './binding.js';
import { resolveResource, resolveScope } from './scope-and-resource.js';
import type { TokenResponse } from './token-response.js';

export async function clientCredentialsGrant(ctx: RequestContext): Promise<TokenResponse> {
  const client = ctx.client!;
  const params = ctx.params!;
  const scope = resolveScope(ctx.rt, client, params.get('scope'));
  const resource = resolveResource(ctx.rt, client, params.get('resource'));
  const binding = await resolveBinding(ctx, client);
  const at = await issueAccessToken(ctx, { client, sub: client.clientId, scope, resource, binding });
  const response: TokenResponse = {
    access_token: at.accessToken,
    token_type: at.tokenType,
    expires_in: at.expiresIn,
  };
  if (scope !== '') response.scope = scope;
  return response;
}
