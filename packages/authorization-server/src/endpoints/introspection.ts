// Token introspection (RFC 7662) for authenticated confidential clients (resource servers). An
// active access token's answer carries its claims, token_type (DPoP or Bearer) and cnf (RFC 9449
// §6.2, RFC 8705 §3.2); a refresh token is described only to the client it was issued to.
import { authenticateClient, recordAssertion } from '../clients/authenticate-client.js';
import { parseFormBody } from '../http/form-body.js';
import { OAuthError } from '../http/oauth-error.js';
import { sendJson } from '../http/respond.js';
import type { Endpoint, RequestContext } from '../server/request-context.js';
import { inspectToken } from '../tokens/inspect-token.js';
import { cnfOf } from '../tokens/issue-tokens.js';

const ACCESS_CLAIMS = [
  'iss',
  'sub',
  'aud',
  'client_id',
  'scope',
  'exp',
  'iat',
  'nbf',
  'jti',
  'auth_time',
  'cnf',
];

async function introspect(ctx: RequestContext): Promise<void> {
  const params = ctx.params!;
  const token = params.get('token');
  if (token === undefined) throw new OAuthError('invalid_request', 'token is required');
  const found = await inspectToken(ctx, token, params.get('token_type_hint'));
  let body: Record<string, unknown> = { active: false };
  if (found?.kind === 'access' && found.active) {
    body = { active: true };
    for (const name of ACCESS_CLAIMS) if (found.claims[name] !== undefined) body[name] = found.claims[name];
    const cnf = found.claims.cnf as { jkt?: string } | undefined;
    body.token_type = cnf?.jkt !== undefined ? 'DPoP' : 'Bearer';
  } else if (found?.kind === 'refresh' && found.active && found.record.clientId === ctx.client!.clientId) {
    const r = found.record;
    body = {
      active: true,
      client_id: r.clientId,
      sub: r.sub,
      aud: r.resource,
      exp: r.expiresAt,
      iat: r.createdAt,
      iss: ctx.rt.urls().issuer,
    };
    if (r.scope !== '') body.scope = r.scope;
    const cnf = cnfOf({ jkt: r.jkt, x5t: r.x5t });
    if (cnf) body.cnf = cnf;
  }
  sendJson(ctx.res, 200, body, ctx.headers);
}

export const introspectionEndpoint: Endpoint = {
  name: 'introspection',
  methods: ['POST'],
  steps: [
    ['parse form', parseFormBody],
    ['authenticate client', (ctx) => authenticateClient(ctx, { allowPublic: false }).then(() => {})],
    ['client assertion replay', recordAssertion],
    ['introspect', introspect],
  ],
};
