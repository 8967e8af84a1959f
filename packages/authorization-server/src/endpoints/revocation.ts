// Token revocation (RFC 7009). A refresh token revokes its whole grant (every refresh token of the
// family and the access tokens issued from it); an access token is recorded as revoked, so that
// introspection answers active:false. Only the client a token was issued to can revoke it; any
// other token (unknown, expired, another client's) gets the same 200, as RFC 7009 §2.2 advises.
import { authenticateClient, recordAssertion } from '../clients/authenticate-client.js';
import { parseFormBody } from '../http/form-body.js';
import { OAuthError } from '../http/oauth-error.js';
import { sendEmpty } from '../http/respond.js';
import type { Endpoint, RequestContext } from '../server/request-context.js';
import { inspectToken } from '../tokens/inspect-token.js';

async function revoke(ctx: RequestContext): Promise<void> {
  const params = ctx.params!;
  const token = params.get('token');
  if (token === undefined) throw new OAuthError('invalid_request', 'token is required');
  const clientId = ctx.client!.clientId;
  const found = await inspectToken(ctx, token, params.get('token_type_hint'));
  const now = Math.floor(ctx.now);
  if (found?.kind === 'refresh' && found.record.clientId === clientId) {
    await ctx.rt.storage.revokeGrant(found.record.grantId, now);
  } else if (found?.kind === 'access' && found.claims.client_id === clientId) {
    await ctx.rt.storage.revokeAccessToken(
      found.record ?? { jti: found.claims.jti as string, clientId, expiresAt: found.claims.exp as number },
      now,
    );
  }
  sendEmpty(ctx.res, 200, ctx.headers);
}

export const revocationEndpoint: Endpoint = {
  name: 'revocation',
  methods: ['POST'],
  cors: true,
  steps: [
    ['parse form', parseFormBody],
    ['authenticate client', (ctx) => authenticateClient(ctx, { allowPublic: true }).then(() => {})],
    ['client assertion replay', recordAssertion],
    ['revoke', revoke],
  ],
};
