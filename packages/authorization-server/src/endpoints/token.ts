// The token endpoint (RFC 6749 §3.2) as named steps. The order matters: the client authenticates,
// then the DPoP proof is verified (use_dpop_nonce and every proof failure happen here, before the
// grant is touched), then the private_key_jwt jti is spent, and only then does the grant consume
// a code or rotate a refresh token.
import { authenticateClient, recordAssertion } from '../clients/authenticate-client.js';
import type { GrantType } from '../clients/client.js';
import { checkEndpointProof } from '../dpop/check-endpoint-proof.js';
import { authorizationCodeGrant } from '../grants/authorization-code.js';
import { dpopRequired } from '../grants/binding.js';
import { clientCredentialsGrant } from '../grants/client-credentials.js';
import { refreshTokenGrant } from '../grants/refresh-token.js';
import type { TokenResponse } from '../grants/token-response.js';
import { parseFormBody } from '../http/form-body.js';
import { OAuthError } from '../http/oauth-error.js';
import { sendJson } from '../http/respond.js';
import type { Endpoint, RequestContext } from '../server/request-context.js';

const GRANTS: Record<GrantType, (ctx: RequestContext) => Promise<TokenResponse>> = {
  client_credentials: clientCredentialsGrant,
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
};

function grantType(ctx: RequestContext): GrantType {
  const value = ctx.params!.get('grant_type');
  if (value === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
  if (!Object.hasOwn(GRANTS, value))
    throw new OAuthError('unsupported_grant_type', 'this grant_type is not supported');
  return value as GrantType;
}

export const tokenEndpoint: Endpoint = {
  name: 'token',
  methods: ['POST'],
  cors: true,
  steps: [
    ['parse form', parseFormBody],
    ['check grant_type', (ctx) => void grantType(ctx)],
    ['authenticate client', (ctx) => authenticateClient(ctx, { allowPublic: true }).then(() => {})],
    [
      'grant_type allowed for client',
      (ctx) => {
        if (!ctx.client!.grantTypes.includes(grantType(ctx))) {
          throw new OAuthError('unauthorized_client', 'this client may not use this grant_type');
        }
      },
    ],
    [
      'dpop proof',
      async (ctx) => {
        const client = ctx.client!;
        await checkEndpointProof(ctx, ctx.endpoints.token, {
          required: dpopRequired(ctx, client),
          requiredReason: 'this client must send a DPoP proof (dpop_bound_access_tokens)',
        });
      },
    ],
    ['client assertion replay', recordAssertion],
    [
      'grant',
      async (ctx) => {
        const response = await GRANTS[grantType(ctx)](ctx);
        sendJson(ctx.res, 200, response, ctx.headers);
      },
    ],
  ],
};
